#!/usr/bin/env bash
# The Debian packages `make run` and `make test` need, installed when missing (see README).
#   scripts/system-packages.sh run|test [--check]
# As root: apt-get update + apt-get install of the missing ones. Otherwise: one message naming the
# exact command, and exit 1. --check only reports what it would do (exit 0 when nothing is missing,
# 1 otherwise), so the logic can be tested without installing anything.
set -euo pipefail

# python3-venv: the venv · fonts-wqy-microhei, pango: Chinese certificates and invoices (WeasyPrint)
RUN_PACKAGES=(python3-venv fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0)
# chromium: browser tests (Playwright drives /usr/bin/chromium) · poppler-utils: pdftotext in PDF tests
TEST_PACKAGES=("${RUN_PACKAGES[@]}" chromium poppler-utils)

mode=${1:-}
check=0
[[ ${2:-} == --check ]] && check=1
case "$mode" in
  run) wanted=("${RUN_PACKAGES[@]}") ;;
  test) wanted=("${TEST_PACKAGES[@]}") ;;
  *) echo "usage: $0 run|test [--check]" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null; then
  echo "system-packages: not a Debian system (no dpkg-query); make sure these are installed: ${wanted[*]}" >&2
  exit 0
fi

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

command="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) != 0 ]]; then
  echo "make $mode needs these system packages: ${missing[*]}" >&2
  echo "install them with:  sudo sh -c '$command'" >&2
  exit 1
fi
if ((check)); then
  echo "would run: $command"
  exit 1
fi
echo "make $mode: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
