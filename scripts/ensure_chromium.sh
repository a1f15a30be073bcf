#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (Playwright cannot download its own browsers here).
# Install it when it is missing and we may; otherwise say why, and the browser tests skip
# (or fail, under CI) with the same reason.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "ensure_chromium: $CHROMIUM is missing and cannot be installed here (needs root and apt-get);" \
        "install Debian's chromium package to run the browser tests" >&2
    exit 0
fi
echo "ensure_chromium: installing Debian's chromium for the browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
# Another apt run (a parallel job) holds the lock for a while: wait for it instead of failing.
apt-get -o DPkg::Lock::Timeout=300 update -qq
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends chromium >/dev/null
