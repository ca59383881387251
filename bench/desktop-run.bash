# shellcheck shell=bash
# What the benchmarks that run the whole pipeline against a test desktop
# share (bench/notify-latency.sh, bench/exeburst.sh). Sourced from the
# top of the tree after BENCH (the script's name, for messages) is set:
#
#   desktop_run_setup TARGET...   builds the tools and TARGETs, checks root
#                                 and the commands, makes $work (removed at
#                                 exit unless BENCH_KEEP is set), starts the
#                                 desktop and exports the SNITCH_* settings
#   desktop_run_start             snitch run in the background ($run_pid),
#                                 back once snitch-trace traces and the
#                                 first wave of notifications has passed
#   desktop_run_stop              SIGTERM, and its exit status checked
SNITCH=$(pwd)/bin/snitch
run_pid=

desktop_run_cleanup() {
	[ -z "$run_pid" ] || { kill "$run_pid" 2>/dev/null; wait "$run_pid" 2>/dev/null; } || true
	desktop_unwatch 2>/dev/null || true
	desktop_stop
	if [ -n "${BENCH_KEEP:-}" ]; then echo "$BENCH: kept $work" >&2; else rm -rf "$work"; fi
}

desktop_run_setup() {
	local c
	# what it runs is built first (nothing to do when it is up to date)
	make -s --no-print-directory all "$@" >&2 || { echo "$BENCH: the build failed" >&2; exit 1; }
	[ "$(id -u)" -eq 0 ] || { echo "$BENCH: needs root (BPF)" >&2; exit 1; }
	for c in Xvfb dbus-launch dunst dbus-monitor sqlite3 jq; do
		command -v "$c" > /dev/null || { echo "$BENCH: $c is missing: sudo make deps" >&2; exit 1; }
	done
	# shellcheck source=tests/desktop.bash
	source tests/desktop.bash
	work=$(mktemp -d /tmp/snitch-bench.XXXXXX)
	chmod 755 "$work"	# the stages run as the user snitch (docs/security.md)
	trap desktop_run_cleanup EXIT
	desktop_start "$work/desktop" || { echo "$BENCH: the test desktop did not start" >&2; exit 1; }
	export SNITCH_CONF=$work/snitch.conf SNITCH_RUN_DIR=$work/run SNITCH_DB=$work/lib/snitch.db \
		SNITCH_STATE=$work/lib/state.json SNITCH_LOG_DIR=$work/log SNITCH_WRITE_LIMIT_S=1 \
		SNITCH_DESKTOP_USER=nobody SNITCH_DESKTOP_BUS=$DESKTOP_BUS
	: > "$SNITCH_CONF"
}

desktop_run_start() {
	"$SNITCH" run > /dev/null 2> "$work/run.err" &
	run_pid=$!
	for _ in $(seq 1 150); do
		grep -q 'counting TCP' "$work/run.err" && break
		sleep 0.1
	done
	grep -q 'counting TCP' "$work/run.err" || { cat "$work/run.err" >&2; exit 1; }
	sleep 3		# the first wave: everything already running is new too
}

desktop_run_stop() {
	kill -TERM "$run_pid"
	wait "$run_pid" || { echo "$BENCH: snitch run failed:" >&2; cat "$work/run.err" >&2; exit 1; }
	run_pid=
}
