#!/bin/sh
# make screenshots: docs/screenshots/*.png of the web UI (and of snitch top
# and snitch tui: scripts/termshots.sh), from a fixture database (a made-up desktop's day, tests/web/fixture.py, through
# snitch-store), in headless chromium (tests/web/browser.py screenshots).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
for c in chromium python3; do
	command -v "$c" >/dev/null || { echo "screenshots: $c is missing: run 'sudo make deps'" >&2; exit 1; }
done
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
	[ -z "$pid" ] || wait "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
now=$(date +%s)
python3 tests/web/fixture.py "$now" > "$tmp/records.ndjson"
bin/snitch-store --db "$tmp/snitch.db" < "$tmp/records.ndjson"
root=
[ "$(id -u)" -ne 0 ] || root=--allow-root
bin/snitch-web $root --db "$tmp/snitch.db" --listen 127.0.0.1:0 2> "$tmp/web.err" &
pid=$!
port=
for i in $(seq 100); do
	port=$(sed -n 's|.*serving .* on http://.*:\([0-9][0-9]*\)/$|\1|p' "$tmp/web.err" 2>/dev/null || true)
	[ -n "$port" ] && break
	sleep 0.05
done
[ -n "$port" ] || { echo "screenshots: snitch-web did not start:" >&2; cat "$tmp/web.err" >&2; exit 1; }
mkdir -p docs/screenshots
timeout 120 python3 tests/web/browser.py screenshots "http://127.0.0.1:$port" "$tmp/snitch.db" "$top/docs/screenshots"
# snitch top and snitch tui, from tmux, over the same day
scripts/termshots.sh "$tmp/snitch.db" "$tmp/records.ndjson"
ls -l docs/screenshots/*.png
