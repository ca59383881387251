#!/usr/bin/env bash
# bench/soak.sh: the whole pipeline (snitch run, with a configuration,
# database and run directory of its own) for SOAK_S seconds (default
# 1800) under a mixed load:
#   - SOAK_RATE new TCP connections a second on loopback (default 200,
#     build/tests/connburst: each one two sockets, so twice that in flows);
#   - a new process a second or so: trafficgen's TCP exchange, and one of
#     SOAK_EXES copies of it (default 20), so executables come and go;
#   - a DNS query a second from a network namespace of its own, to a test
#     server there (build/tests/dnsd, dnsq).
# Every 10 s (SOAK_EVERY_S) it samples each stage's (and the supervisor's)
# RSS, open descriptors and CPU into SOAK_OUT/soak.csv (default
# build/soak/), and where the supervisor's memory is (its status.json's
# memory) into SOAK_OUT/soak-memory.csv. After the warm-up (SOAK_WARMUP_S, default 600, or a fifth
# of a shorter run) it checks that no stage's RSS grew more than 10% past
# its value at the end of the warm-up (the median of the last three
# samples against the median of the first three after the warm-up: a
# backlog's peak given back is no growth), that no descriptor count grew
# (the fewest of the last three samples against the warm-up's), and
# that no stage was restarted; and plots RSS over time
# (SOAK_OUT/soak-rss.png, gnuplot). Exit 0 when all holds, 1 otherwise.
# SOAK_BIN: the tools to run (default bin/; build/san/bin for the
# sanitizer build). SOAK_RESOLVE_CACHE (default 512): snitch-resolve's
# --cache-size, small enough for its process cache to be full by the end
# of the warm-up (at a process a second and the machine's own, the default
# 16,384 fills in hours: its filling, bounded, looked like growth). Needs
# root (snitch run does).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
secs=${SOAK_S:-1800}
every=${SOAK_EVERY_S:-10}
rate=${SOAK_RATE:-200}
nexes=${SOAK_EXES:-20}
warm=${SOAK_WARMUP_S:-$(( secs >= 1500 ? 600 : secs / 5 ))}
out=${SOAK_OUT:-$top/build/soak}
bin=${SOAK_BIN:-$top/bin}
tbin=$top/build/tests
SNITCH=$bin/snitch

for f in "$SNITCH" "$tbin/connburst" "$tbin/trafficgen" "$tbin/dnsd" "$tbin/dnsq"; do
	[ -x "$f" ] || { echo "soak: $f is missing: make all build/tests/connburst build/tests/trafficgen build/tests/dnsd build/tests/dnsq" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "soak: needs root ('snitch run' does)" >&2; exit 1; }
command -v gnuplot > /dev/null || { echo "soak: gnuplot is missing: sudo make deps (gnuplot-nox)" >&2; exit 1; }
case $secs$every$rate$nexes$warm in *[!0-9]*) echo "soak: SOAK_S, SOAK_EVERY_S, SOAK_RATE, SOAK_EXES and SOAK_WARMUP_S are whole numbers" >&2; exit 2 ;; esac
[ "$warm" -lt "$secs" ] || { echo "soak: the warm-up ($warm s) must be shorter than the run ($secs s)" >&2; exit 2; }

work=$(mktemp -d /tmp/snitch-soak.XXXXXX)
chmod 755 "$work"	# the stages run as the user snitch (docs/security.md)
chmod 755 "$work"
ns=snitch-soak-$$
run_pid=
loads=()
cleanup() {
	local p
	for p in "${loads[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -n "$run_pid" ] && kill "$run_pid" 2>/dev/null; then
		timeout 60 tail --pid="$run_pid" -f /dev/null || kill -KILL "$run_pid" 2>/dev/null || true
	fi
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "/etc/netns/$ns" "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export SNITCH_CONF=$work/etc/snitch.conf SNITCH_RUN_DIR=$work/run \
	SNITCH_DB=$work/lib/snitch.db SNITCH_STATE=$work/lib/state.json \
	SNITCH_LOG_DIR=$work/log SNITCH_NO_DESKTOP=1 \
	SNITCH_RESOLVE_CACHE_SIZE=${SOAK_RESOLVE_CACHE:-512}
mkdir -p "$out"
rm -f "$out/soak.csv" "$out/soak-memory.csv" "$out/soak-rss.png" "$out/summary.txt"

"$SNITCH" run > "$work/run.out" 2> "$work/run.err" 3>&- &
run_pid=$!
for _ in $(seq 300); do
	if grep -q 'counting TCP' "$work/run.err" 2>/dev/null &&
	   [ "$(jq -r '[.stages[]?.pid // empty] | length' "$work/run/status.json" 2>/dev/null || echo 0)" -ge 5 ]; then
		break
	fi
	kill -0 "$run_pid" 2>/dev/null || { echo "soak: snitch run ended:" >&2; cat "$work/run.err" >&2; exit 1; }
	sleep 0.2
done

# the load; every loop ends with the run (and each wait in it is bounded)
end=$(( $(date +%s) + secs ))
"$tbin/connburst" "$rate" "$secs" > "$work/connburst.out" 2>&1 &
loads+=($!)
mkdir "$work/exes"
for i in $(seq "$nexes"); do cp "$tbin/trafficgen" "$work/exes/load-$i"; done
(
	i=0
	while [ "$(date +%s)" -lt "$end" ]; do
		timeout 10 "$tbin/trafficgen" tcp4 soak > /dev/null 2>&1 || true
		timeout 10 "$work/exes/load-$(( i % nexes + 1 ))" tcp4 soak > /dev/null 2>&1 || true
		i=$((i + 1))
		sleep 1
	done
) &
loads+=($!)
ip netns add "$ns"
ip -n "$ns" link set lo up
mkdir -p "/etc/netns/$ns"
echo "nameserver 127.0.0.1" > "/etc/netns/$ns/resolv.conf"
(
	# dnsd serves 60 s at most: started again while the run lasts
	while [ "$(date +%s)" -lt "$end" ]; do
		ip netns exec "$ns" timeout 70 "$tbin/dnsd" 127.0.0.1 53 a.soak=127.0.0.5 b.soak=127.0.0.6 > /dev/null 2>&1 || true
	done
) 2> /dev/null &
loads+=($!)
(
	i=0
	while [ "$(date +%s)" -lt "$end" ]; do
		ip netns exec "$ns" timeout 5 "$tbin/dnsq" "$([ $((i % 2)) -eq 0 ] && echo a.soak || echo b.soak)" send > /dev/null 2>&1 || true
		i=$((i + 1))
		sleep 1
	done
) &
loads+=($!)

# the samples: t_s,stage,pid,rss_kb,fds,cpu_pct (of one core, since the last)
hz=$(getconf CLK_TCK)
echo "t_s,stage,pid,rss_kb,fds,cpu_pct" > "$out/soak.csv"
echo "t_s,buffer_bytes,heap_bytes,heap_used_bytes,mapped_bytes,stage_buffer_bytes" > "$out/soak-memory.csv"
declare -A last_ticks last_pid
start=$(date +%s)
sample() {
	local t=$1 name pid rss fds ticks cpu
	{ echo "snitch $run_pid"; jq -r '.stages[] | "\(.name) \(.pid)"' "$work/run/status.json" 2>/dev/null; } |
	while read -r name pid; do
		[ -n "$pid" ] && [ "$pid" != null ] && [ -r "/proc/$pid/status" ] || continue
		rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
		fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
		# utime + stime, after the name (which may hold spaces)
		ticks=$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
		cpu=0
		if [ "${last_pid[$name]:-}" = "$pid" ]; then
			cpu=$(awk -v d=$((ticks - ${last_ticks[$name]})) -v hz="$hz" -v s="$every" 'BEGIN { printf "%.1f", 100 * d / hz / s }')
		fi
		echo "$t,$name,$pid,$rss,$fds,$cpu"
		echo "$name $pid $ticks" >> "$work/ticks"
	done >> "$out/soak.csv"
	# where the supervisor's memory is (docs/operations.md, status.json)
	jq -r --arg t "$t" 'select(.memory) | "\($t),\(.memory | "\(.buffer_bytes),\(.heap_bytes),\(.heap_used_bytes),\(.mapped_bytes)"),\([.stages[].buffer_bytes] | join(" "))"' \
		"$work/run/status.json" >> "$out/soak-memory.csv" 2>/dev/null || true
	if [ -f "$work/ticks" ]; then
		while read -r name pid ticks; do last_pid[$name]=$pid; last_ticks[$name]=$ticks; done < "$work/ticks"
		rm -f "$work/ticks"
	fi
}
echo "# soak: $secs s, $rate connections/s, warm-up $warm s, a sample every $every s into $out/soak.csv"
while :; do
	now=$(date +%s)
	sample $((now - start))
	[ "$now" -lt "$end" ] || break
	kill -0 "$run_pid" 2>/dev/null || { echo "soak: snitch run ended early:" >&2; tail -20 "$work/run.err" >&2; break; }
	sleep $(( every - ($(date +%s) - now) > 0 ? every - ($(date +%s) - now) : 0 ))
done

# what was logged, and lost, before stopping
sleep 2
rows=$(sqlite3 "$SNITCH_DB" 'SELECT COUNT(*) FROM connections' 2>/dev/null || echo '?')
lost=$(sqlite3 "$SNITCH_DB" "SELECT COALESCE(SUM(count), 0) FROM events WHERE type = 'lost'" 2>/dev/null || echo '?')
errors=$(sqlite3 "$SNITCH_DB" "SELECT COUNT(*) FROM events WHERE type = 'error'" 2>/dev/null || echo '?')
# which: stage, code, count, one message
sqlite3 -separator ' ' "$SNITCH_DB" "SELECT stage, code, COUNT(*), MIN(message) FROM events GROUP BY stage, code, type ORDER BY 3 DESC LIMIT 10" \
	> "$work/events" 2>/dev/null || true
conns=$(jq -r .connections "$work/connburst.out" 2>/dev/null || echo '?')
kill -TERM "$run_pid"
wait "$run_pid" && run_status=0 || run_status=$?
run_pid=

# the checks: per stage, from the first sample at or after the warm-up
awk -F, -v warm="$warm" '
NR == 1 { next }
{
	s = $2
	if (!(s in first_pid)) { first_pid[s] = $3; order[++n] = s }
	if ($3 != first_pid[s]) restarted[s] = 1
	cpu_sum[s] += $6; cpu_n[s]++
	if ($1 < warm) next
	if (!(s in base_rss)) { base_rss[s] = $4; base_fds[s] = $5 }
	if ($4 > max_rss[s]) max_rss[s] = $4
	rss[s, nr[s]++] = $4
	if ($5 > max_fds[s]) max_fds[s] = $5
	end_rss[s] = $4; end_fds[s] = $5
	# the last three samples: a descriptor open for a moment (a file
	# being hashed, a /proc file being read) is no growth
	last3[s, k[s]++ % 3] = $5
}
function med3(s, i,    a, b, c, t) {
	a = rss[s, i]; b = (s, i + 1) in rss ? rss[s, i + 1] : a; c = (s, i + 2) in rss ? rss[s, i + 2] : b
	if (a > b) { t = a; a = b; b = t }
	if (b > c) { t = b; b = c; c = t }
	if (a > b) { t = a; a = b; b = t }
	return b
}
END {
	fail = 0
	printf "%-15s %9s %9s %9s %7s %5s %5s %6s  %s\n", "stage", "rss_warm", "rss_max", "rss_end", "growth", "fds", "fds_max", "cpu%", "verdict"
	for (i = 1; i <= n; i++) {
		s = order[i]
		# growth: what the stage holds at the end against the end of the
		# warm-up, each the median of three samples; the peak of a backlog
		# that was given back (rss_max) is no growth
		base_rss[s] = med3(s, 0)
		end_rss[s] = med3(s, nr[s] >= 3 ? nr[s] - 3 : 0)
		g = base_rss[s] ? 100 * (end_rss[s] - base_rss[s]) / base_rss[s] : 0
		v = "ok"
		if (g > 10) v = "RSS grew"
		end_min = last3[s, 0]
		for (j = 1; j < 3 && j < k[s]; j++) if (last3[s, j] < end_min) end_min = last3[s, j]
		if (end_min > base_fds[s]) v = (v == "ok" ? "" : v ", ") "fds grew"
		if (restarted[s]) v = (v == "ok" ? "" : v ", ") "restarted"
		if (v != "ok") fail = 1
		printf "%-15s %6.1f MB %6.1f MB %6.1f MB %6.1f%% %5d %7d %6.1f  %s\n", s, base_rss[s] / 1024, max_rss[s] / 1024, end_rss[s] / 1024, g, base_fds[s], max_fds[s], cpu_sum[s] / cpu_n[s], v
	}
	exit fail
}' "$out/soak.csv" > "$out/summary.txt" && ok=1 || ok=0
{
	echo "# $(date -u +%FT%TZ) $(uname -sr), $(nproc) cpus; $secs s, warm-up $warm s; tools: $bin"
	echo "# load: $conns connections from connburst ($rate/s), a new process and a DNS query a second"
	echo "# logged: $rows connections rows; $lost records counted lost; $errors error events; snitch run exit $run_status"
	# the supervisor's RSS is mostly the stages' kept input (a ring that
	# follows the most kept in a minute): its size beside the verdict
	awk -F, -v warm="$warm" 'NR > 1 && $1 >= warm {
		if (!n++) w = $2
		if ($2 > m) m = $2
		e = $2
	} END {
		if (n) printf "# the supervisor'"'"'s kept input and buffers: %.1f MB after the warm-up, %.1f MB most, %.1f MB at the end\n", w / 1048576, m / 1048576, e / 1048576
	}' "$out/soak-memory.csv"
	sed 's/^/#   event: /' "$work/events"
} >> "$out/summary.txt"
cat "$out/summary.txt"

# RSS over time, one line per stage (a data file each)
stages=$(awk -F, 'NR > 1 && !seen[$2]++ { print $2 }' "$out/soak.csv")
for st in $stages; do
	awk -F, -v s="$st" '$2 == s { print $1, $4 / 1024 }' "$out/soak.csv" > "$work/rss-$st.dat"
done
{
	echo "set terminal png size 1000,600"
	echo "set output '$out/soak-rss.png'"
	echo "set title 'snitch soak: RSS of each stage ($secs s, $rate connections/s; warm-up to the dashed line)'"
	echo "set xlabel 'seconds'; set ylabel 'RSS (MB)'; set key outside right; set grid; set yrange [0:*]"
	echo "set arrow from $warm, graph 0 to $warm, graph 1 nohead dashtype 2"
	printf 'plot '
	sep=
	for st in $stages; do
		printf "%s'%s' using 1:2 with lines linewidth 2 title '%s'" "$sep" "$work/rss-$st.dat" "$st"
		sep=", "
	done
	echo
} > "$work/plot.gp"
gnuplot "$work/plot.gp"
echo "# plot: $out/soak-rss.png"
[ "$ok" -eq 1 ] && [ "$run_status" -eq 0 ] || { echo "soak: FAILED (see the verdicts above)"; exit 1; }
echo "soak: passed"
