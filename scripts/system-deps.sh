#!/usr/bin/env bash
# Install the system packages the test suite drives for real: Debian's chromium (browser tests) with
# CJK fonts (chromium comes without them under --no-install-recommends, and Chinese pages would show
# boxes), and PostgreSQL 15 (the production store). As root with apt-get we install what is missing;
# elsewhere we say what is missing and the tests that need it skip (under CI=true they fail).
set -u
need=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-noto-cjk)
[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || echo "warning: could not install ${need[*]}; the tests that need them will skip (fail under CI=true)"
else
  echo "note: ${need[*]} not installed and cannot install here (not root or no apt-get);"
  echo "      the tests that need them will skip (fail under CI=true)."
fi
exit 0
