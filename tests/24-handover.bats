#!/usr/bin/env bats
# Bytes belong to the process that moved them (docs/records.md, "Who a
# socket belongs to"): a socket passed over a unix socket with
# SCM_RIGHTS, a socket kept across exec into another executable, and a
# connection accepted by a worker that runs another executable than the
# process that made the listening socket. Each executable is its own copy
# of python3 (its own inode); the tests compare the bytes per executable.

load helper

# a python3 of its own inode: an executable of its own
py_copy() {
	cp "$(readlink -f /usr/bin/python3)" "$1"
}

setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0	# the tests say why they cannot run
	local d=$BATS_FILE_TMPDIR
	for p in srv a b c; do py_copy "$d/py-$p"; done
	# a server that reads each connection to its end: its port in srv.port
	cat > "$d/srv.py" <<'EOF'
import socket, sys
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(8)
open(sys.argv[1], "w").write("%d\n" % l.getsockname()[1])
for _ in range(int(sys.argv[2])):
    c, _ = l.accept()
    while c.recv(65536):
        pass
    c.close()
EOF
	# SCM_RIGHTS: the sender moves 1000 bytes, passes the socket, closes it
	cat > "$d/pass.py" <<'EOF'
import json, os, socket, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"a" * 1000)
time.sleep(1.5)
u = socket.socket(socket.AF_UNIX)
u.connect(sys.argv[2])
socket.send_fds(u, [b"x"], [c.fileno()])
print(json.dumps({"pid": os.getpid(), "lport": c.getsockname()[1]}), flush=True)
c.close()
u.close()
EOF
	# ... and the receiver, another executable, sends 3000 once it holds it
	cat > "$d/recv.py" <<'EOF'
import json, os, socket, sys, time
u = socket.socket(socket.AF_UNIX)
u.bind(sys.argv[1])
u.listen(1)
open(sys.argv[1] + ".ready", "w").close()
a, _ = u.accept()
_, fds, _, _ = socket.recv_fds(a, 1, 1)
s = socket.socket(fileno=fds[0])
time.sleep(2.5)
s.sendall(b"b" * 3000)
print(json.dumps({"pid": os.getpid()}), flush=True)
s.close()
EOF
	# exec: 1000 bytes, then exec into another executable that keeps the
	# socket and sends 3000
	cat > "$d/exec1.py" <<'EOF'
import json, os, socket, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"a" * 1000)
print(json.dumps({"pid": os.getpid(), "lport": c.getsockname()[1]}), flush=True)
time.sleep(1.5)
os.set_inheritable(c.fileno(), True)
os.execv(sys.argv[2], [sys.argv[2], sys.argv[3], str(c.fileno())])
EOF
	cat > "$d/exec2.py" <<'EOF'
import socket, sys, time
s = socket.socket(fileno=int(sys.argv[1]))
time.sleep(2.5)
s.sendall(b"b" * 3000)
s.close()
EOF
	# shared: py-a keeps its connection and hands a copy to py-b, which
	# sends 300 bytes while both hold it
	cat > "$d/share.py" <<'EOF'
import json, os, socket, subprocess, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"a" * 100)
w = subprocess.Popen([sys.argv[2], sys.argv[3], str(c.fileno())], pass_fds=[c.fileno()])
print(json.dumps({"pid": os.getpid(), "child": w.pid, "lport": c.getsockname()[1]}), flush=True)
w.wait()
time.sleep(1.5)
c.close()
EOF
	cat > "$d/share2.py" <<'EOF'
import socket, sys, time
s = socket.socket(fileno=int(sys.argv[1]))
time.sleep(2.5)
s.sendall(b"b" * 300)
time.sleep(1.5)
EOF
	# accept by a worker: py-a makes the listening socket and keeps it;
	# its worker py-b accepts, reads 2000 bytes, answers 500, closes at
	# once (before any fd scan)
	cat > "$d/lsn.py" <<'EOF'
import socket, subprocess, sys
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(8)
open(sys.argv[1], "w").write("%d\n" % l.getsockname()[1])
w = subprocess.Popen([sys.argv[2], sys.argv[3], str(l.fileno())], pass_fds=[l.fileno()])
sys.exit(w.wait())
EOF
	cat > "$d/worker.py" <<'EOF'
import socket, sys
l = socket.socket(fileno=int(sys.argv[1]))
c, _ = l.accept()
n = 0
while n < 2000:
    n += len(c.recv(65536))
c.sendall(b"w" * 500)
c.close()
EOF
	cat > "$d/client.py" <<'EOF'
import json, os, socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"c" * 2000)
n = 0
while n < 500:
    b = c.recv(65536)
    if not b:
        break
    n += len(b)
print(json.dumps({"pid": os.getpid(), "lport": c.getsockname()[1], "got": n}), flush=True)
c.close()
EOF

	trace_start "$d/trace.out"
	"$d/py-srv" "$d/srv.py" "$d/srv.port" 3 3>&- &
	echo $! > "$d/srv.pid"
	for _ in $(seq 50); do [ -s "$d/srv.port" ] && break; sleep 0.1; done
	port=$(cat "$d/srv.port")

	# SCM_RIGHTS
	"$d/py-b" "$d/recv.py" "$d/u.sock" > "$d/recv.out" 2> "$d/recv.err" 3>&- &
	rpid=$!
	for _ in $(seq 50); do [ -e "$d/u.sock.ready" ] && break; sleep 0.1; done
	"$d/py-a" "$d/pass.py" "$port" "$d/u.sock" > "$d/pass.out" 2> "$d/pass.err" 3>&- || true
	wait "$rpid" || true

	# exec into another executable
	"$d/py-a" "$d/exec1.py" "$port" "$d/py-b" "$d/exec2.py" > "$d/exec.out" 2> "$d/exec.err" 3>&- || true
	# two executables holding one socket
	"$d/py-a" "$d/share.py" "$port" "$d/py-b" "$d/share2.py" > "$d/share.out" 2> "$d/share.err" 3>&- || true
	wait "$(cat "$d/srv.pid")" || true

	# accept by a worker
	"$d/py-a" "$d/lsn.py" "$d/lsn.port" "$d/py-c" "$d/worker.py" 2> "$d/lsn.err" 3>&- &
	lpid=$!
	for _ in $(seq 50); do [ -s "$d/lsn.port" ] && break; sleep 0.1; done
	"$d/py-srv" "$d/client.py" "$(cat "$d/lsn.port")" > "$d/client.out" 2> "$d/client.err" 3>&- || true
	wait "$lpid" || true
	sleep 0.5
	trace_stop
}

teardown_file() {
	stop_started
}

# sent and received on the connection with local port LPORT (either end)
# by the executable NAME (py-a, py-b, ...), as "SENT RECEIVED"
bytes_of() {
	local d=$BATS_FILE_TMPDIR
	jq -rs --argjson p "$1" --argjson ino "$(stat -c %i "$d/$2")" \
		'[.[] | select(.type == "flow" and .proto == "tcp" and (.lport == $p or .rport == $p) and .exe_ino == $ino)]
		 | "\(map(.send_bytes) | add // 0) \(map(.recv_bytes) | add // 0)"' "$d/trace.out"
}

@test "SCM_RIGHTS: the bytes before the handover are the sender's, those after the receiver's" {
	need_bpf
	local d=$BATS_FILE_TMPDIR lport
	cat "$d/pass.err" "$d/recv.err"
	lport=$(jq .lport "$d/pass.out")
	[ -n "$lport" ]
	echo "sender: $(bytes_of "$lport" py-a); receiver: $(bytes_of "$lport" py-b)"
	[ "$(bytes_of "$lport" py-a)" = "1000 0" ]
	[ "$(bytes_of "$lport" py-b)" = "3000 0" ]
	# and the server's end of it read all 4000
	[ "$(bytes_of "$lport" py-srv)" = "0 4000" ]
}

@test "exec into another executable: the socket it keeps is the new executable's from then on" {
	need_bpf
	local d=$BATS_FILE_TMPDIR lport pid
	cat "$d/exec.err"
	lport=$(jq .lport "$d/exec.out")
	pid=$(jq .pid "$d/exec.out")
	[ -n "$lport" ]
	echo "before exec: $(bytes_of "$lport" py-a); after: $(bytes_of "$lport" py-b)"
	[ "$(bytes_of "$lport" py-a)" = "1000 0" ]
	[ "$(bytes_of "$lport" py-b)" = "3000 0" ]
	# one process: the same pid under both executables
	jq -se --argjson p "$lport" --argjson pid "$pid" \
		'[.[] | select(.type == "flow" and .lport == $p) | .pid] | unique == [$pid]' "$d/trace.out"
}

@test "accept by a worker of another executable: the worker's, even when it closes before any fd scan" {
	need_bpf
	local d=$BATS_FILE_TMPDIR lport
	cat "$d/lsn.err" "$d/client.err"
	lport=$(jq .lport "$d/client.out")
	[ "$(jq .got "$d/client.out")" -eq 500 ]
	echo "worker: $(bytes_of "$lport" py-c); listener's maker: $(bytes_of "$lport" py-a)"
	[ "$(bytes_of "$lport" py-c)" = "500 2000" ]
	# the process that made the listening socket moved nothing on it: at
	# most the first sight (new) names it, before any process accepted it
	[ "$(bytes_of "$lport" py-a)" = "0 0" ]
	jq -se --argjson p "$lport" --argjson ino "$(stat -c %i "$d/py-a")" \
		'[.[] | select(.type == "flow" and .rport == $p and .exe_ino == $ino) | .phase] | all(. == "new")' "$d/trace.out"
	# its end is the worker's
	jq -se --argjson p "$lport" --argjson ino "$(stat -c %i "$d/py-c")" \
		'[.[] | select(.type == "flow" and .rport == $p and .phase == "end")] | length == 1 and .[0].exe_ino == $ino' "$d/trace.out"
	# its records say it was accepted
	jq -se --argjson p "$lport" '[.[] | select(.type == "flow" and .rport == $p)] | all(.outcome == "accepted")' "$d/trace.out"
}

@test "two executables holding one socket: its records list both, the owner first; its bytes stay the owner's" {
	need_bpf
	local d=$BATS_FILE_TMPDIR lport pid child
	cat "$d/share.err"
	lport=$(jq .lport "$d/share.out")
	pid=$(jq .pid "$d/share.out")
	child=$(jq .child "$d/share.out")
	# while both held it, its records said so
	jq -se --argjson p "$lport" --argjson a "$pid" --argjson b "$child" \
		'[.[] | select(.type == "flow" and .lport == $p and .holders != null)] |
		 length >= 1 and all(.holders == [$a, $b] and .pid == $a)' "$d/trace.out"
	# the owner moved them all, as far as the kernel can tell
	[ "$(bytes_of "$lport" py-a)" = "400 0" ]
	# the first sight, before the copy, lists none
	jq -se --argjson p "$lport" '[.[] | select(.type == "flow" and .lport == $p)][0] | .phase == "new" and .holders == null' "$d/trace.out"
}
