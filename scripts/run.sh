#!/usr/bin/env bash
# `make run`: run the monitor with its defaults, in the foreground.
# The pipeline is snitch-trace | snitch-resolve | snitch-hash | snitch-store;
# stages that are not built yet are left out, and said so.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(pwd)/bin

stages=(snitch-trace snitch-resolve snitch-hash snitch-store)
have=()
for s in "${stages[@]}"; do
	if [ -x "$bin/$s" ]; then
		have+=("$s")
	else
		echo "run: $s is not built yet: the pipeline runs without it" >&2
	fi
done
[ ${#have[@]} -gt 0 ] || { echo "run: no stage is built: run 'make'" >&2; exit 1; }

if [ "${have[0]}" != snitch-trace ]; then
	# no tracer: the stages that exist read records from standard input
	if [ -t 0 ]; then
		echo "run: without snitch-trace there is no source of records; the stages that" >&2
		echo "run: exist read them on standard input, for example:" >&2
		echo "run:   stat -c '{\"v\":1,\"type\":\"exec\",\"exe_dev\":%d,\"exe_ino\":%i,\"exe_path\":\"%n\"}' /bin/ls | sudo make run" >&2
		exit 1
	fi
fi

cmd=""
for s in "${have[@]}"; do
	cmd+="${cmd:+ | }'$bin/$s'"
done
if [ "${have[-1]}" = snitch-store ]; then
	echo "run: logging to ${SNITCH_DB:-/var/lib/snitch/snitch.db}; look with:" >&2
	echo "run:   sqlite3 ${SNITCH_DB:-/var/lib/snitch/snitch.db} 'select * from connections limit 5'" >&2
fi
echo "run: ${cmd//$bin\//}" >&2
# Ctrl-C reaches every stage of the pipeline; each flushes and exits 0
eval "$cmd"
