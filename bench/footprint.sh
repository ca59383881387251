#!/usr/bin/env bash
# bench/footprint.sh [SECONDS] [PER_SECOND]: the memory each stage holds
# under a steady small load (target: the five stages together <= 10 MB of
# PSS, docs/performance.md).
#
# Runs `snitch run` (every file in a temporary directory, no desktop)
# while a short-lived loopback program starts PER_SECOND times a second
# (default 4; each one a new process with a TCP or UDP exchange of known
# size: exec, flow and DNS-free records through every stage) for SECONDS
# (default 30). After the first two thirds, the warm-up, it reads each
# stage's Pss and Rss from /proc/PID/smaps_rollup five times, a second
# apart, and prints the median of each: PSS charges a page shared by N
# processes 1/N to each, so the total is what the pipeline costs the
# machine. Exits 1 when it could not measure. Needs root (BPF).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
secs=${1:-30}
rate=${2:-4}
SNITCH=$top/bin/snitch
GEN=$top/build/tests/trafficgen
[ -x "$SNITCH" ] && [ -x "$GEN" ] || { echo "footprint: build first: make all build/tests/trafficgen" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "footprint: needs root ('snitch run' does)" >&2; exit 1; }
[[ "$secs" =~ ^[0-9]+$ ]] && [ "$secs" -ge 10 ] && [ "$secs" -le 600 ] ||
	{ echo "footprint: SECONDS must be 10-600" >&2; exit 2; }
[[ "$rate" =~ ^[0-9]+$ ]] && [ "$rate" -ge 1 ] && [ "$rate" -le 50 ] ||
	{ echo "footprint: PER_SECOND must be 1-50" >&2; exit 2; }
work=$(mktemp -d /tmp/snitch-footprint.XXXXXX)
chmod 755 "$work"	# the stages run as the user snitch (docs/security.md)
chmod 755 "$work"
run_pid=
load_pid=
cleanup() {
	[ -z "$load_pid" ] || kill "$load_pid" 2>/dev/null || true
	if [ -n "$run_pid" ]; then
		kill -TERM "$run_pid" 2>/dev/null || true
		wait "$run_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

export SNITCH_CONF=/dev/null SNITCH_RUN_DIR=$work/run SNITCH_LOG_DIR=$work/log \
	SNITCH_DB=$work/lib/snitch.db SNITCH_STATE=$work/lib/state.json \
	SNITCH_NO_DESKTOP=1 SNITCH_STOP_TIMEOUT_S=20
"$SNITCH" run > /dev/null 2> "$work/run.err" &
run_pid=$!
for i in $(seq 1 150); do
	grep -q 'counting TCP' "$work/run.err" 2>/dev/null && "$SNITCH" status > /dev/null 2>&1 && break
	kill -0 "$run_pid" 2>/dev/null || break
	sleep 0.1
done
"$SNITCH" status > /dev/null 2>&1 || { echo "footprint: snitch run did not start:" >&2; cat "$work/run.err" >&2; exit 1; }

# the load: PER_SECOND new processes a second, alternately TCP and UDP
(
	end=$((SECONDS + secs))
	i=0
	while [ "$SECONDS" -lt "$end" ]; do
		if [ $((i % 2)) -eq 0 ]; then s=tcp4; else s=udp4; fi
		"$GEN" "$s" footprint > /dev/null 2>&1 &
		i=$((i + 1))
		sleep "$(awk -v r="$rate" 'BEGIN { printf "%.3f", 1 / r }')"
	done
	wait
) &
load_pid=$!

sleep $((secs * 2 / 3))
stages=$(jq -r '.stages[] | "\(.name) \(.pid)"' "$SNITCH_RUN_DIR/status.json")
[ "$(wc -l <<< "$stages")" -ge 5 ] || { echo "footprint: status.json lists fewer than five stages" >&2; exit 1; }
: > "$work/samples"
for i in 1 2 3 4 5; do
	while read -r name pid; do
		awk -v n="$name" -v p="$pid" '$1 == "Pss:" { pss = $2 } $1 == "Rss:" { rss = $2 }
			END { if (pss == "") exit 1; print n, p, pss, rss }' "/proc/$pid/smaps_rollup" >> "$work/samples" ||
			{ echo "footprint: cannot read /proc/$pid/smaps_rollup ($name)" >&2; exit 1; }
	done <<< "$stages"
	sleep 1
done
awk -v p="$run_pid" '$1 == "Pss:" { pss = $2 } $1 == "Rss:" { rss = $2 } END { print "snitch", p, pss, rss }' \
	"/proc/$run_pid/smaps_rollup" > "$work/super"
wait "$load_pid" || true
load_pid=
records=$(jq '[.stages[] | select(.name == "snitch-store") | .records] | add' "$SNITCH_RUN_DIR/status.json")
restarts=$(jq .restarts "$SNITCH_RUN_DIR/status.json")
[ "$restarts" -eq 0 ] || { echo "footprint: a stage was restarted during the run: $(cat "$SNITCH_LOG_DIR/error.log")" >&2; exit 1; }

echo "# $(date -u +%F) $(uname -sr), $(nproc) cpus; snitch run, $rate loopback programs a second for $secs s, $records records through snitch-store"
printf '%-16s %8s %10s %10s\n' stage pid 'PSS kB' 'RSS kB'
# median of the five samples of each stage, in pipeline order
while read -r name pid; do
	awk -v n="$name" '$1 == n { print $3, $4 }' "$work/samples" | sort -n -k1,1 | sed -n 3p |
		{ read -r pss rss; printf '%-16s %8s %10s %10s\n' "$name" "$pid" "$pss" "$rss"; echo "$pss" >> "$work/pss"; }
done <<< "$stages"
total=$(awk '{ t += $1 } END { print t }' "$work/pss")
printf '%-16s %8s %10s\n' 'five stages' '' "$total"
read -r _ spid spss srss < "$work/super"
printf '%-16s %8s %10s %10s   (the supervisor, not counted above)\n' snitch "$spid" "$spss" "$srss"
echo "footprint: five stages $(awk -v t="$total" 'BEGIN { printf "%.1f", t / 1024 }') MB of PSS; $(awk -v t="$total" 'BEGIN { printf "%.2f", t / 10240 }') of the 10 MB target"
