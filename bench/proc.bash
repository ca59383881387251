# Sourced by bench scripts that name living processes in records
# (bench/resolve.sh, bench/privs.sh).

now() { date +%s%N; }

# ident PID: pid, start time (as snitch-trace writes it: boot time plus the
# start in ticks), exe device and inode of a living process
ident() {
	local pid=$1 ticks hz up boot
	ticks=$(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $20 }')
	hz=$(getconf CLK_TCK)
	up=$(cut -d' ' -f1 /proc/uptime)
	boot=$(( $(now) - $(awk -v u="$up" 'BEGIN { printf "%.0f", u * 1e9 }') ))
	echo "$pid $(( boot + ticks * (1000000000 / hz) )) $(stat -L -c '%d %i' "/proc/$pid/exe")"
}

ppid_of() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $2 }'; }
