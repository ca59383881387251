#!/bin/sh
# make screenshots, the terminal half: docs/screenshots/top.png and
# tui.png, from tmux. snitch tui reads the fixture database of the web UI's
# screenshots (tests/web/fixture.py, through snitch-store); snitch top reads
# a stand-in of the live feed (tests/web/feed.py) that publishes the same
# day's flow records as if they happened now. Each pane is captured with its
# colours (tmux capture-pane -e), turned into HTML by aha, and drawn by
# headless chromium at the pane's size.
#   scripts/termshots.sh DB RECORDS   (the fixture database, and its records)
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
db=$1
records=$2
for c in tmux aha chromium python3; do
	command -v "$c" >/dev/null || { echo "termshots: $c is missing: run 'sudo make deps'" >&2; exit 1; }
done
cols=120
rows=32
tmp=$(mktemp -d)
sock=snitch-shots-$$
feed=
cleanup() {
	tmux -L "$sock" kill-server 2>/dev/null || true
	[ -z "$feed" ] || kill "$feed" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# shoot NAME: the pane as docs/screenshots/NAME.png
shoot() {
	tmux -L "$sock" capture-pane -e -p -t shots > "$tmp/$1.ansi"
	{
		echo '<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
		echo 'body { margin: 0; background: #000; }'
		echo 'pre { margin: 0; padding: 8px; font: 14px/17px "DejaVu Sans Mono", monospace; color: #ddd; }'
		echo '</style></head><body><pre>'
		aha --no-header --black < "$tmp/$1.ansi"
		echo '</pre></body></html>'
	} > "$tmp/$1.html"
	# 8.43 px a column and 17 px a row in DejaVu Sans Mono at 14 px, and the padding
	timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--window-size="$((cols * 843 / 100 + 16)),$((rows * 17 + 16))" \
		--screenshot="$top/docs/screenshots/$1.png" "file://$tmp/$1.html" > /dev/null 2>&1
	[ -s "$top/docs/screenshots/$1.png" ] || { echo "termshots: no $1.png" >&2; exit 1; }
}

# wait_for TEXT: until the pane shows it (10 s at most)
wait_for() {
	for _ in $(seq 100); do
		tmux -L "$sock" capture-pane -p -t shots | grep -qF "$1" && return 0
		sleep 0.1
	done
	echo "termshots: the pane never showed '$1':" >&2
	tmux -L "$sock" capture-pane -p -t shots >&2
	exit 1
}

mkdir -p docs/screenshots
export TERM=xterm-256color LANG=C.UTF-8

# snitch tui: the remote domains of the day, by total
tmux -L "$sock" new-session -d -s shots -x "$cols" -y "$rows" \
	"$top/bin/snitch-tui --db '$db' --range 1d"
wait_for TOTAL
# to the sidebar, down to Domain (the 18th grouping), back to the table
tmux -L "$sock" send-keys -t shots Left
for _ in $(seq 17); do
	tmux -L "$sock" send-keys -t shots Down
done
tmux -L "$sock" send-keys -t shots Right
wait_for "Domain  "
sleep 1
shoot tui
tmux -L "$sock" kill-server

# snitch top: the feed's stand-in publishes a few seconds of the day
python3 tests/web/feed.py "$tmp/events.sock" "$records" &
feed=$!
for _ in $(seq 50); do [ -S "$tmp/events.sock" ] && break; sleep 0.1; done
tmux -L "$sock" new-session -d -s shots -x "$cols" -y "$rows" \
	"$top/bin/snitch-top --events-sock '$tmp/events.sock'"
wait_for EXECUTABLE
sleep 4
shoot top
ls -l docs/screenshots/top.png docs/screenshots/tui.png
