# A test desktop: Xvfb, a D-Bus session bus and dunst, all as the user
# nobody. Sourced by tests/helper.bash and bench/notify-latency.sh.

# Run a command as the desktop user (nobody) on the test session bus.
as_desktop() {
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		env HOME="$DESKTOP_DIR" DBUS_SESSION_BUS_ADDRESS="$DESKTOP_BUS" "$@"
}

# desktop_start DIR: Xvfb, a D-Bus session bus (dbus-launch) and dunst,
# all as the user nobody, as on a desktop whose user is not root. Sets
# DESKTOP_DIR, DESKTOP_BUS and the pids desktop_stop ends.
desktop_start() {
	local dir=$1 disp i
	mkdir -p "$dir"
	chown 65534:65534 "$dir"
	chmod 755 "$dir"
	printf '[global]\nnotification_limit = 0\nhistory_length = 5000\nidle_threshold = 0\n' > "$dir/dunstrc"
	# Xvfb takes the first display it can listen on and writes its number
	# to fd 4 once it does: a display number chosen here from /tmp could
	# be taken by an X server of another root sharing the network
	# namespace (its abstract socket), as a run beside CI's once was
	: > "$dir/display"
	Xvfb -displayfd 4 -ac -nolisten tcp > "$dir/xvfb.log" 2>&1 3>&- 4> "$dir/display" &
	DESKTOP_XVFB_PID=$!
	for i in $(seq 1 100); do
		disp=$(head -n 1 "$dir/display")
		[ -n "$disp" ] && break
		sleep 0.1
	done
	if [ -z "$disp" ]; then
		echo "Xvfb did not start:" >&2
		cat "$dir/xvfb.log" >&2
		return 1
	fi
	DESKTOP_DIR=$dir
	DESKTOP_BUS=
	eval "$(as_desktop dbus-launch --sh-syntax 3>&-)"
	DESKTOP_BUS=$DBUS_SESSION_BUS_ADDRESS
	DESKTOP_BUS_PID=$DBUS_SESSION_BUS_PID
	unset DBUS_SESSION_BUS_ADDRESS DBUS_SESSION_BUS_PID
	DISPLAY=":$disp" as_desktop dunst -config "$dir/dunstrc" > "$dir/dunst.log" 2>&1 3>&- &
	DESKTOP_DUNST_PID=$!
	for i in $(seq 1 100); do
		as_desktop dunstctl count > /dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "the test desktop did not start:" >&2
	cat "$dir"/*.log >&2
	return 1
}

desktop_stop() {
	local pid
	for pid in ${DESKTOP_DUNST_PID:-} ${DESKTOP_BUS_PID:-} ${DESKTOP_XVFB_PID:-}; do
		kill "$pid" 2>/dev/null || true
	done
}

# desktop_watch FILE [FORMAT]: log every Notify call on the bus to FILE
# until desktop_unwatch. FORMAT is dbus-monitor's: --profile (the default:
# one line each, with a timestamp) or --monitor (with the arguments).
desktop_watch() {
	local i
	as_desktop dbus-monitor "${2:---profile}" \
		"type='method_call',interface='org.freedesktop.Notifications',member='Notify'" \
		> "$1" 2>&1 3>&- &
	DESKTOP_MON_PID=$!
	for i in $(seq 1 100); do
		grep -q NameLost "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "dbus-monitor did not start" >&2
	return 1
}

desktop_unwatch() {
	kill "$DESKTOP_MON_PID" 2>/dev/null || true
	wait "$DESKTOP_MON_PID" 2>/dev/null || true
	DESKTOP_MON_PID=
}

# The number of Notify calls in a desktop_watch file.
notify_calls() {
	grep -c $'\tNotify$' "$1" || true
}

# Every notification dunst has been given since it started, oldest first: "summary<TAB>body" with the body's
# newlines as spaces.
desktop_shown() {
	as_desktop dunstctl close-all
	sleep 0.2
	as_desktop dunstctl history |
		jq -r '.data[0] | reverse | .[] | "\(.summary.data)\t\(.body.data | gsub("\n"; " "))"'
}

# desktop_mark, then desktop_since_mark: what was shown in between.
desktop_mark() {
	DESKTOP_MARK=$(desktop_shown | wc -l)
}

desktop_since_mark() {
	desktop_shown | tail -n +$((DESKTOP_MARK + 1))
}
