#!/usr/bin/env bash
# Prints the home of a JDK of at least the given feature version (default 21: Elasticsearch 9), or
# explains what to install.
# Looks at ES_JAVA_HOME, JAVA_HOME, then every JDK under /usr/lib/jvm (newest first).
set -euo pipefail
min=${1:-21}

major_of() { # the feature version a JDK home declares in its `release` file
  sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null
}

for home in "${ES_JAVA_HOME:-}" "${JAVA_HOME:-}" $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
  home=${home%/}
  [ -n "$home" ] && [ -x "$home/bin/javac" ] || continue
  major=$(major_of "$home")
  if [ -n "$major" ] && [ "$major" -ge "$min" ]; then
    echo "$home"
    exit 0
  fi
done
echo "error: no JDK $min or newer found (looked at ES_JAVA_HOME, JAVA_HOME and /usr/lib/jvm)." >&2
echo "Install a JDK $min+ and set JAVA_HOME to it (Elasticsearch 9 and the plugin build need 21+, Elasticsearch 8 runs on 17+)." >&2
exit 1
