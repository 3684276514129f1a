#!/usr/bin/env bash
# Screenshot of a fleet report page for the docs: headless Chromium (Debian's `chromium` package) renders the HTML
# file and writes a PNG. Nothing is fetched from the network: the page is self-contained.
#
#   scripts/report-screenshot.sh [REPORT_HTML] [OUTPUT_PNG] [WIDTHxHEIGHT]
#
# Defaults: build/fleet-report/report.html (see `scripts/report-demo.sh`), docs/images/fleet-report.png, 1280x900.
set -euo pipefail
cd "$(dirname "$0")/.."
html=$(realpath "${1:-build/fleet-report/report.html}")
png=$(realpath -m "${2:-docs/images/fleet-report.png}")
size=${3:-1280x900}
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "report-screenshot: chromium is not installed (Debian: apt-get install -y chromium)" >&2
  exit 1
fi
[ -f "$html" ] || { echo "report-screenshot: no report at $html" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
mkdir -p "$(dirname "$png")"
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$profile" \
  --window-size="${size/x/,}" --screenshot="$png" "file://$html" >"$profile/chromium.log" 2>&1 \
  || { tail -n 20 "$profile/chromium.log" >&2; exit 1; }
[ -s "$png" ] || { echo "report-screenshot: chromium wrote no image" >&2; tail -n 20 "$profile/chromium.log" >&2; exit 1; }
echo "$png"
