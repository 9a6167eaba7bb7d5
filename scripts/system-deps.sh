#!/usr/bin/env bash
# System libraries VStore needs beyond Python: WeasyPrint's Pango and HarfBuzz subsetter (without
# libharfbuzz-subset0 a CJK invoice takes ~10 s instead of ~0.2 s), CJK fonts, Debian's Chromium
# for the browser tests, gettext to compile the translations, and wrk to load the storefront
# bench, and Node.js with npm for bench/lighthouse.py (Lighthouse 12.2.3). Installs what is missing
# on Debian as root; elsewhere it says exactly what to install.
set -euo pipefail

packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-microhei fonts-noto-cjk chromium poppler-utils gettext wrk)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# Node by its commands, not by package name: a Node.js from NodeSource carries its own npm and
# conflicts with Debian's npm package.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null && [ "$(id -u)" -eq 0 ]; then
  echo "· installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v apt-get >/dev/null; then
  echo "Missing system packages. Run: sudo apt-get install ${missing[*]}" >&2
  exit 1
else
  echo "Missing system libraries for WeasyPrint and the browser tests: Pango, HarfBuzz (subset)," >&2
  echo "CJK fonts (WenQuanYi Micro Hei, Noto CJK), Chromium and poppler-utils. Install them with your system's package manager." >&2
  exit 1
fi
