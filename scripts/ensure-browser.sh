#!/usr/bin/env bash
# Headless Chromium and its WebDriver from Debian, for the web page's browser tests and
# screenshots; installed with apt-get when missing (as root, as on CI). Idempotent.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "ensure-browser: error: the browser tests need Debian's chromium and chromium-driver;" \
    "install them (apt-get install chromium chromium-driver) and retry" >&2
  exit 1
fi
echo "ensure-browser: installing chromium and chromium-driver from Debian" >&2
# Other jobs on the machine may hold the dpkg lock for a while: wait for it instead of failing.
apt-get update -qq
apt-get install -y -qq -o DPkg::Lock::Timeout=600 chromium chromium-driver >/dev/null
