#!/usr/bin/env bash
# Renders an xseq report (or any HTML/SVG file) to a PNG with headless Chromium,
# so the report can be looked at without a browser. Installs Debian's chromium
# when missing (root or sudo).
#   bash scripts/screenshot_report.sh runs/dates-transformer/report.html [out.png] [width] [height]
set -euo pipefail
page="${1:?usage: screenshot_report.sh PAGE.html [OUT.png] [WIDTH] [HEIGHT]}"
out="${2:-${page%.*}.png}"
width="${3:-1400}"
height="${4:-2400}"
if ! command -v chromium > /dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
fi
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$width,$height" \
  --screenshot="$(realpath -m "$out")" "file://$(realpath "$page")" 2> /dev/null
echo "wrote $out"
