#!/usr/bin/env bash
# Prints the home of a JDK new enough for Elasticsearch 9 (21+), or explains what to install.
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
echo "Elasticsearch 9 and its plugin need one: install a JDK $min+ and set JAVA_HOME to it." >&2
exit 1
