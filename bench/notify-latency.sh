#!/usr/bin/env bash
# bench/notify-latency.sh [N]: how long after snitch-trace sees a new
# executable's first connection its desktop notification goes out.
#
# Runs 'snitch run' (every stage, as installed: trace, resolve, hash,
# store --tee, notify) against a test desktop (Xvfb, a D-Bus session bus
# and dunst, as the user nobody), then starts N (default 20) copies of a
# test program, each under a new name and path, each making one loopback
# TCP connection, 0.5 s apart. For each: the time snitch-trace stamped on
# the connection (first_ns in the SQLite log, from the kernel's clock) and
# the time the Notify call "New executable: NAME" crossed the bus
# (dbus-monitor's timestamp). Reports median, 90th percentile and maximum
# (target: every one within 250 ms). Needs root (BPF).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
n=${1:-20}
GEN=$top/build/tests/trafficgen
BENCH=notify-latency
source bench/desktop-run.bash
desktop_run_setup build/tests/trafficgen
export SNITCH_NOTIFY_MAX_PER_MIN=1000

# every Notify call on the bus, with its time and arguments
desktop_watch "$work/monitor" --monitor || exit 1

desktop_run_start

mkdir "$work/bin"
for i in $(seq 1 "$n"); do
	cp "$GEN" "$work/bin/latency-$i"
	echo "latency-$i $(date +%s%N)" >> "$work/started"
	"$work/bin/latency-$i" tcp4 > /dev/null
	sleep 0.5
done
sleep 2
desktop_run_stop
desktop_unwatch

# "NAME TIME" for each first notification of a latency-* program
awk '/^method call time=/ { split($3, t, "="); time = t[2] }
	/^   string "New executable: latency-[0-9]+"$/ {
		name = $0; sub(/.*New executable: /, "", name); sub(/"$/, "", name)
		if (!(name in seen)) { seen[name] = 1; print name, time }
	}' "$work/monitor" > "$work/notified"

: > "$work/ms"
: > "$work/ms-start"
missing=0
for i in $(seq 1 "$n"); do
	first=$(sqlite3 "$SNITCH_DB" "SELECT min(c.first_ns) FROM connections c
		JOIN executables e ON e.id = c.exe_id WHERE e.path = '$work/bin/latency-$i'")
	shown=$(awk -v n="latency-$i" '$1 == n { print $2 }' "$work/notified")
	if [ -z "$first" ] || [ -z "$shown" ]; then
		echo "latency-$i: no ${first:+notification}${first:-connection in the log}" >&2
		missing=$((missing + 1))
		continue
	fi
	awk -v f="$first" -v s="$shown" 'BEGIN {
		split(s, p, "."); ns = p[1] * 1e9 + substr(p[2] "000000", 1, 6) * 1e3
		printf "%.1f\n", (ns - f) / 1e6 }' >> "$work/ms"
	# a cross-check on a clock snitch does not set: from just before exec
	awk -v n="latency-$i" -v s="$shown" '$1 == n { split(s, p, ".")
		ns = p[1] * 1e9 + substr(p[2] "000000", 1, 6) * 1e3
		printf "%.1f\n", (ns - $2) / 1e6 }' "$work/started" >> "$work/ms-start"
done

echo "# $(date -u +%F) $(uname -sr), $(nproc) cpus; $n new executables, one loopback TCP connection each"
sort -g "$work/ms-start" | awk '{ a[NR] = $1 } END { if (NR)
	printf "program start (before exec) to Notify: median %.1f ms, max %.1f ms (includes exec, start-up and the connection itself)\n",
		(NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2, a[NR] }'
sort -g "$work/ms" | awk -v missing="$missing" -v n="$n" '{ a[NR] = $1 }
	END {
		if (NR == 0) { print "no notification was measured"; exit 1 }
		p90 = a[int((NR * 9 + 9) / 10)]
		med = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		printf "trace to Notify: median %.1f ms, 90th percentile %.1f ms, max %.1f ms, min %.1f ms (target: max <= 250 ms)\n",
			med, p90, a[NR], a[1]
		printf "%d of %d notified%s\n", NR, n, missing ? "; the rest are missing" : ""
		exit (missing || a[NR] > 250) ? 1 : 0
	}'
