#!/usr/bin/env bats
# snitch-trace --syscalls: system calls counted per process in the kernel,
# written as syscalls records every interval; the counts are exact.

load helper

SYSCALLER=$SNITCH_TEST_BIN/syscaller

teardown() {
	stop_started
}

# the sums of every syscalls record of PID in FILE, as one object
sum_syscalls() {
	jq -c -s --argjson pid "$2" '[.[] | select(.type == "syscalls" and .pid == $pid) | .syscalls | to_entries[]]
		| group_by(.key) | map({(.[0].key): (map(.value) | add)}) | add // {}' "$1"
}

@test "counts equal the calls a program made, exactly, across intervals, and calls not listed are not counted" {
	need_bpf
	d=$BATS_TEST_TMPDIR
	cp "$SYSCALLER" "$d/caller"
	trace_start "$d/trace" --no-dns --no-exec --interval-ms 200 --syscalls connect,setuid,socket
	# three groups, 300 ms apart: more than one interval
	"$d/caller" --pause-ms 300 socket 7 connect 5 getppid 1000 setuid 3 > "$d/report"
	sleep 0.3
	trace_stop
	[ "$TRACE_STATUS" -eq 0 ]
	pid=$(jq .pid "$d/report")
	# what it made: 7 sockets, and one more for connect's; getppid not asked for
	[ "$(jq -c .made "$d/report")" = '{"socket":8,"connect":5,"setuid":3,"getppid":1000}' ]
	[ "$(sum_syscalls "$d/trace" "$pid")" = '{"connect":5,"setuid":3,"socket":8}' ]
	# in several records, each of its own interval, with the process's identity
	[ "$(jq -s --argjson pid "$pid" 'map(select(.type == "syscalls" and .pid == $pid)) | length' "$d/trace")" -ge 2 ]
	jq -e -s --argjson pid "$pid" --argjson ino "$(stat -c %i "$d/caller")" '
		map(select(.type == "syscalls" and .pid == $pid)) |
		all(.[]; .comm == "caller" and .exe_ino == $ino and .from_ns < .to_ns and .ts_ns == .to_ns
			and .uid == 0 and (.cgroup_id | type) == "number" and (.parent_pid | type) == "number"
			and (.syscalls | length) >= 1 and all(.syscalls[]; . > 0))' "$d/trace"
	grep -q 'counting system calls per process in the kernel' "$d/trace.err"
}

@test "without --syscalls nothing is counted, and no syscalls record is written" {
	need_bpf
	d=$BATS_TEST_TMPDIR
	trace_start "$d/trace" --no-dns --interval-ms 200
	"$SYSCALLER" socket 3 > "$d/report"
	sleep 0.3
	trace_stop
	[ "$(jq -s 'map(select(.type == "syscalls")) | length' "$d/trace")" -eq 0 ]
	! grep -q 'counting system calls' "$d/trace.err" || false
}

@test "the default list counts a shell's clone and execve; snitch-resolve names the process" {
	need_bpf
	d=$BATS_TEST_TMPDIR
	cp "$(readlink -f /bin/sh)" "$d/shell"
	mkfifo "$d/fifo"
	"$RESOLVE" < "$d/fifo" > "$d/out" 2> "$d/out.err" 3>&- &
	RESOLVE_PID=$!
	trace_start "$d/fifo" --no-dns --interval-ms 200 --syscalls default
	# the shell waits on its input (read, a builtin: no third child) until
	# the pipe closes 1.5 s later: on a loaded machine snitch-resolve may
	# read /proc only after a quicker shell had gone
	(sleep 1.5) | "$d/shell" -c '/bin/true; /bin/true; echo $$; read x || :' > "$d/pid"
	sleep 0.3
	trace_stop
	wait "$RESOLVE_PID"
	RESOLVE_PID=
	pid=$(cat "$d/pid")
	sum=$(sum_syscalls "$d/out" "$pid")
	echo "$sum"
	# two children: each a clone or vfork (dash vforks), and, in the child, an execve
	echo "$sum" | jq -e '(.clone // 0) + (.clone3 // 0) + (.fork // 0) + (.vfork // 0) == 2'
	# the same pid ran bash first, whose execve made it the shell: two identities
	jq -e -s --argjson pid "$pid" --arg p "$d/shell" '
		map(select(.type == "syscalls" and .pid == $pid and .comm == "shell"))[0] |
		.exe_path == $p and .name == "shell" and .cmdline[0] == $p and .container_runtime == ""' "$d/out"
	jq -e -s --argjson pid "$pid" 'map(select(.type == "syscalls" and .pid == $pid and .comm != "shell"))[0].syscalls == {"execve":1}' "$d/out"
	# the children's execve, counted in the shell's copy before the exec
	jq -e -s --arg p "$d/shell" 'map(select(.type == "syscalls" and .exe_path == $p and .syscalls.execve)) | map(.syscalls.execve) | add == 2' "$d/out"
}

@test "--syscalls: an unknown name, or more than 32, is one clear line and exit 2" {
	run --separate-stderr "$TRACE" --syscalls connect,nosuchcall
	[ "$status" -eq 2 ]
	[[ "$stderr" == "snitch-trace: --syscalls: unknown system call 'nosuchcall'"* ]]
	run --separate-stderr "$TRACE" --syscalls "$(echo read write open close stat fstat lstat poll lseek mmap mprotect munmap brk ioctl pread64 pwrite64 readv writev access pipe select sched_yield mremap msync mincore madvise shmget shmat shmctl dup dup2 pause nanosleep | tr ' ' ,)"
	[ "$status" -eq 2 ]
	[[ "$stderr" == "snitch-trace: --syscalls: more than 32 system calls"* ]]
	run --separate-stderr "$TRACE" --help
	[[ "$output" == *"--syscalls LIST"* ]]
	[[ "$output" == *SNITCH_TRACE_SYSCALLS* ]]
}

@test "the syscalls example of docs/records.md has the fields the pipeline writes" {
	need_bpf
	d=$BATS_TEST_TMPDIR
	awk '/^```json$/ { on = 1; next } /^```$/ { on = 0 } on' "$SNITCH_TOP/docs/records.md" |
		jq -c 'select(.type == "syscalls")' > "$d/example"
	[ "$(wc -l < "$d/example")" -eq 1 ]
	cp "$SYSCALLER" "$d/caller"
	mkfifo "$d/fifo"
	"$RESOLVE" < "$d/fifo" > "$d/out" 2> "$d/out.err" 3>&- &
	RESOLVE_PID=$!
	trace_start "$d/fifo" --no-dns --interval-ms 200 --syscalls default
	# it stays a while: read from /proc while it lives
	"$d/caller" --pause-ms 700 socket 1 connect 1 > "$d/report"
	sleep 0.3
	trace_stop
	wait "$RESOLVE_PID"
	RESOLVE_PID=
	"$HASH" < "$d/out" > "$d/h.out"
	# (the same pid was the shell first, whose execve is counted under its identity)
	rec=$(jq -c --argjson pid "$(jq .pid "$d/report")" 'select(.type == "syscalls" and .pid == $pid and .comm == "caller")' "$d/h.out" | head -1)
	[ -n "$rec" ]
	# the same keys, and the same types wherever neither is null (a field
	# documented "or null": the example's script_path is null, this
	# process's shell parent runs a script)
	keys() { jq -c 'keys'; }
	diff <(echo "$rec" | keys) <(keys < "$d/example")
	jq -e -n --argjson a "$rec" --slurpfile b "$d/example" \
		'all($a | keys[]; . as $k | ($a[$k] | type) == ($b[0][$k] | type) or $a[$k] == null or $b[0][$k] == null)' ||
		{ diff <(echo "$rec" | jq -c 'to_entries | map("\(.key):\(.value | type)") | sort' | tr , '\n') \
		       <(jq -c 'to_entries | map("\(.key):\(.value | type)") | sort' "$d/example" | tr , '\n'); false; }
	echo "$rec" | jq -e '.exe_sha256 != null and .name == "caller" and .syscalls.socket >= 1' ||
		{ echo "the record: $(echo "$rec" | jq -c "{name, exe_path, exe_sha256, cmdline, syscalls}")" >&2; false; }
}
