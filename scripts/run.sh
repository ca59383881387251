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
scripts/group.sh
db=${SNITCH_DB:-/var/lib/snitch/snitch.db}
logs=${SNITCH_LOG_DIR:-/var/log/snitch}
echo "run: logging to $db and $logs/{exe,error}.log; look with:" >&2
echo "run:   sqlite3 $db 'SELECT e.path, sum(c.send_bytes), sum(c.recv_bytes) FROM connections c JOIN executables e ON e.id = c.exe_id GROUP BY e.path'" >&2
echo "run:   bin/snitch status      (in another terminal)" >&2
echo "run:   sudo bin/snitch top    (live; or bin/snitch tail, as a member of the group snitch)" >&2
exec bin/snitch run
