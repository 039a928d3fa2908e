#!/usr/bin/env bash
# Installs those of the Debian packages named after the first argument (what needs them) that
# are not installed yet: apt-get as root, else through sudo. Idempotent; waits for another
# job's dpkg lock instead of failing.
#   scripts/apt-ensure.sh "the int8 CPU test" qemu-user
set -euo pipefail
purpose=$1
shift
missing=()
for package in "$@"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "apt-ensure: error: $purpose needs the Debian packages ${missing[*]}; install them and retry" >&2
  exit 1
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "apt-ensure: installing ${missing[*]} from Debian for $purpose" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
  -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
