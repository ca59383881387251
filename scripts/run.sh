#!/usr/bin/env bash
# `make run`: the monitor in the foreground with its defaults, as
# `snitch run` (bin/snitch): snitch-trace | snitch-resolve | snitch-hash |
# snitch-store --tee | snitch-notify, supervised. Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "run: the tracer needs root: run 'sudo make run'" >&2
	exit 3
fi
db=${SNITCH_DB:-/var/lib/snitch/snitch.db}
logs=${SNITCH_LOG_DIR:-/var/log/snitch}
echo "run: logging to $db and $logs/{exe,error}.log; look with:" >&2
echo "run:   sqlite3 $db 'select * from connections order by last_ns desc limit 5'" >&2
echo "run:   bin/snitch status      (in another terminal)" >&2
exec bin/snitch run
