#!/usr/bin/env bats
# snitch-resolve: who is talking -- executable, ancestry, user, container,
# domain -- for real processes, live, and for processes that have exited.

load helper

HEX=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
POD=3f2a1c4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b

teardown() {
	stop_started ${BG:-} ${F:-} ${LIVE:-} ${HOLDER:-}
	if [ -n "${CTR:-}" ]; then
		"${PODMAN[@]}" rm -f -t 0 "$CTR" > /dev/null 2>&1 || true
		"${PODMAN[@]}" rmi -f "$IMAGE" > /dev/null 2>&1 || true
	fi
	# cgroups this test made: move anything left to the root, remove them
	if [ -n "${CGS:-}" ]; then
		for cg in $CGS; do
			[ -d "$cg" ] || continue
			for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do
				echo "$p" > "$(cgroup_root)/cgroup.procs" 2>/dev/null || true
			done
		done
		for cg in $CGS; do rmdir "$cg" 2>/dev/null || true; done
		rmdir "$(cgroup_root)/snitch-test-$$.slice" 2>/dev/null || true
	fi
	# a tree of cgroups without processes: the deepest first
	[ -z "${CGBASE:-}" ] || find "$CGBASE" -depth -type d -exec rmdir {} + 2>/dev/null || true
	true
}

cgroup_root() {
	awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts
}

@test "live: path, command line with spaces, Unicode and non-UTF-8, user, parent and grandparent" {
	need_bpf
	d=$BATS_TEST_TMPDIR
	cp "$GEN" "$d/gen-argv"
	# bash runs the script, whose sh runs the program with its arguments:
	# a space, Unicode, and the bytes 0xff 0xfe
	cat > "$d/run.sh" <<'SCRIPT'
sh -c '"$@"; true' sh "$1/gen-argv" udp4 "two words" "Ünïcödé ✓" "$(printf 'raw\377\376')"
true
SCRIPT
	pipeline_start "$d/out"
	# alive a while after its traffic: on a loaded machine snitch-resolve
	# may read /proc only after it has gone, and the command line with it
	TRAFFICGEN_LINGER_MS=1500 bash "$d/run.sh" "$d" > "$d/report"
	sleep 0.3
	pipeline_stop
	[ "$RESOLVE_STATUS" -eq 0 ]
	pid=$(jq 'select(.role == "client") | .pid' "$d/report")
	line=$(grep -F "\"pid\":$pid," "$d/out" | grep -F '"type":"flow"' | head -1)
	[ -n "$line" ]
	echo "$line" | jq -e --arg p "$d/gen-argv" '.exe_path == $p and .name == "gen-argv" and .user == "root"'
	echo "$line" | jq -e --arg p "$d/gen-argv" '.cmdline[0:4] == [$p, "udp4", "two words", "Ünïcödé ✓"] and (.cmdline | length) == 5'
	# the non-UTF-8 bytes come as \udcXX escapes (and decode back exactly)
	[[ "$line" == *'"raw\udcff\udcfe"'* ]]
	echo "$line" | jq -e --arg sh "$(readlink -f /bin/sh)" \
		'.parent_name == "sh" and .parent_exe_path == $sh and .parent_cmdline[0:3] == ["sh", "-c", "\"$@\"; true"]'
	echo "$line" | jq -e --arg bash "$(readlink -f /bin/bash)" --arg s "$d/run.sh" \
		'.gparent_name == "bash" and .gparent_exe_path == $bash and .gparent_cmdline[0:2] == ["bash", $s]'
}

@test "a process that exits before its flow record arrives is resolved from its exec record" {
	need_bpf
	d=$BATS_TEST_TMPDIR
	cp /bin/dash "$d/gone-soon"
	trace_start "$d/trace" --no-dns
	"$d/gone-soon" -c 'sleep 30; true' "label with space" &
	BG=$!
	sleep 0.3
	trace_stop
	exec_rec=$(jq -c --argjson pid "$BG" 'select(.type == "exec" and .pid == $pid)' "$d/trace")
	[ -n "$exec_rec" ]
	stream_start "$RESOLVE"
	stream_send "$exec_rec"
	wait_lines "$STREAM_OUT" 1
	kill "$BG"
	wait "$BG" 2>/dev/null || true
	BG=
	[ ! -d "/proc/$(jq .pid <<< "$exec_rec")" ]
	# a flow of the process, now that it is gone
	stream_send "$(jq -c '.type = "flow" | .phase = "end" | .raddr = "127.0.0.1" | .send_bytes = 1' <<< "$exec_rec")"
	stream_stop
	flow=$(jq -c 'select(.type == "flow")' "$STREAM_OUT")
	echo "$flow" | jq -e --arg p "$d/gone-soon" '.exe_path == $p and .name == "gone-soon" and .cmdline == [$p, "-c", "sleep 30; true", "label with space"] and .user == "root"'
}

@test "the same pid with another start time gets a fresh identity, not the living process's" {
	sleep 30 &
	BG=$!
	start=$(( $(date +%s%N) - 3600000000000 ))	# an hour earlier: another process
	id=$(stat -L -c '"exe_dev":%d,"exe_ino":%i' /bin/sleep)
	# the living one first: its executable's path is remembered by inode
	in="{\"v\":1,\"type\":\"flow\",\"pid\":$BG,\"comm\":\"sleep\",$id,\"uid\":0,\"seq\":1}
{\"v\":1,\"type\":\"flow\",\"pid\":$BG,\"start_ns\":$start,\"comm\":\"other\",$id,\"uid\":0,\"seq\":2}"
	run --separate-stderr "$RESOLVE" <<< "$in"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e -s 'map(select(.seq == 1))[0] | .name == "sleep" and .cmdline == ["sleep", "30"]'
	echo "$output" | jq -e -s --arg p "$(readlink -f /bin/sleep)" 'map(select(.seq == 2))[0] | .name == "other" and .cmdline == null and .exe_path == $p'
	# the stats record counts it as unknown
	echo "$output" | jq -e -s 'map(select(.type == "stats"))[0].processes_unknown == 1'
}

@test "an executable replaced while it runs is named as the kernel names it, fileless, never the new file" {
	d=$BATS_TEST_TMPDIR
	cp /bin/sleep "$d/tool"
	id=$(stat -c '"exe_dev":%d,"exe_ino":%i' "$d/tool")
	"$d/tool" 30 &
	BG=$!
	sleep 0.2
	# an upgrade: a new file renamed over the old one
	cp /bin/sleep "$d/tool.new"
	mv "$d/tool.new" "$d/tool"
	run --separate-stderr "$RESOLVE" <<< "{\"v\":1,\"type\":\"flow\",\"pid\":$BG,\"comm\":\"tool\",$id,\"uid\":0}"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e -s --arg p "$d/tool (deleted)" 'map(select(.type == "flow"))[0] | .exe_path == $p and .exe_fileless == true and .name == "tool" and .cmdline[1] == "30"'
	echo "$output" | jq -e -s 'map(select(.type == "error")) == []'
}

@test "a record of an executable the process no longer runs, whose path names another file: null and an error" {
	d=$BATS_TEST_TMPDIR
	cp /bin/sleep "$d/tool"
	cp /bin/sleep "$d/old"
	# the record names an executable (old's) that the process does not run
	id=$(stat -c '"exe_dev":%d,"exe_ino":%i' "$d/old")
	"$d/tool" 30 &
	BG=$!
	sleep 0.2
	rm "$d/tool"
	cp /bin/sleep "$d/tool"
	run --separate-stderr "$RESOLVE" <<< "{\"v\":1,\"type\":\"flow\",\"pid\":$BG,\"comm\":\"tool\",$id,\"uid\":0}"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e -s 'map(select(.type == "flow"))[0] | .exe_path == null and .exe_fileless == null'
	echo "$output" | jq -e -s --arg p "$d/tool" 'map(select(.type == "error"))[0] | .code == "exe_path_mismatch" and .path == $p and .stage == "snitch-resolve"'
	[[ "$stderr" == *"not its executable"* ]]
}

@test "a process that has exec'd again since its record: no error, and the path if the executable was seen" {
	d=$BATS_TEST_TMPDIR
	for f in first second third; do cp /bin/sleep "$d/$f"; done
	"$d/first" 30 &
	F=$!
	"$d/second" 30 &
	BG=$!
	sleep 0.2
	id() { stat -c '"exe_dev":%d,"exe_ino":%i' "$d/$1"; }
	# F teaches the path of 'first'; BG is said to run 'first', then
	# 'third', as a "#!/usr/bin/env" script runs env, then its interpreter
	run --separate-stderr "$RESOLVE" --stats-s 3600 <<-EOF
	{"v":1,"type":"flow","seq":1,"pid":$F,"comm":"first",$(id first),"uid":0}
	{"v":1,"type":"exec","seq":2,"pid":$BG,"comm":"first",$(id first),"uid":0}
	{"v":1,"type":"exec","seq":3,"pid":$BG,"comm":"third",$(id third),"uid":0}
	EOF
	kill "$F" "$BG"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e -s --arg d "$d" '
		(map(select(.seq == 1))[0].exe_path == "\($d)/first") and
		(map(select(.seq == 2))[0].exe_path == "\($d)/first") and
		(map(select(.seq == 3))[0].exe_path == null) and
		(map(select(.type == "error")) == []) and
		(map(select(.type == "stats"))[0].paths_mismatched == 2)'
	[[ "$stderr" != *"not its executable"* ]]
}

@test "a process gone before it was read takes its exec record's filename, if that names its executable" {
	d=$BATS_TEST_TMPDIR
	cp /bin/true "$d/quick"
	printf '#!/bin/true\n' > "$d/script"
	chmod 755 "$d/script"
	mnt=$(stat -Lc %i /proc/self/ns/mnt)
	id() { stat -Lc '"exe_dev":%d,"exe_ino":%i' "$1"; }
	# pids that no process has: 4194304 is past pid_max's ceiling
	run --separate-stderr "$RESOLVE" <<-EOF
	{"v":1,"type":"exec","seq":1,"pid":4194304,"comm":"quick","mntns":$mnt,"filename":"$d/quick",$(id "$d/quick")}
	{"v":1,"type":"flow","seq":2,"pid":4194305,"comm":"quick",$(id "$d/quick")}
	{"v":1,"type":"exec","seq":3,"pid":4194306,"comm":"true","mntns":$mnt,"filename":"$d/script",$(id /bin/true)}
	{"v":1,"type":"exec","seq":4,"pid":4194307,"comm":"true","mntns":$mnt,"filename":"quick",$(id /bin/true)}
	{"v":1,"type":"exec","seq":5,"pid":4194308,"comm":"true","mntns":1,"filename":"$(readlink -f /bin/true)",$(id /bin/true)}
	EOF
	[ "$status" -eq 0 ]
	echo "$output" | jq -e -s --arg d "$d" '
		(map(select(.seq == 1))[0].exe_path == "\($d)/quick") and
		(map(select(.seq == 2))[0].exe_path == "\($d)/quick") and
		(map(select(.seq == 3))[0].exe_path == null) and
		(map(select(.seq == 4))[0].exe_path == null) and
		(map(select(.seq == 5))[0].exe_path == null) and
		(map(select(.type == "error")) == [])'
}

@test "a zombie (exited, not yet reaped) gets the path its executable was seen under, and its full name" {
	d=$BATS_TEST_TMPDIR
	cp "$(readlink -f /bin/sh)" "$d/long-program-name-x"
	"$d/long-program-name-x" -c 'sleep 30; true' &
	LIVE=$!
	# the child exits after its parent has become sleep, which never reaps it
	bash -c '"$1" -c "sleep 0.2" & exec sleep 30' _ "$d/long-program-name-x" &
	HOLDER=$!
	sleep 0.8
	Z=$(ps -o pid= --ppid "$HOLDER" | tr -d ' ')
	[ -n "$Z" ]
	[[ "$(ps -o stat= -p "$Z")" == Z* ]]
	[ -z "$(readlink "/proc/$Z/exe" 2>/dev/null)" ]
	id=$(stat -c '"exe_dev":%d,"exe_ino":%i' "$d/long-program-name-x")
	run --separate-stderr "$RESOLVE" <<-EOF
	{"v":1,"type":"flow","seq":1,"pid":$LIVE,"comm":"long-program-na",$id}
	{"v":1,"type":"flow","seq":2,"pid":$Z,"comm":"long-program-na",$id}
	EOF
	kill "$LIVE" "$HOLDER"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e -s --arg p "$d/long-program-name-x" '
		(map(select(.seq == 1))[0] | .exe_path == $p and .name == "long-program-name-x") and
		(map(select(.seq == 2))[0] | .exe_path == $p and .name == "long-program-name-x") and
		(map(select(.type == "error")) == [])'
}

container_run() {
	local cg=$1 exe_dir=$2 out=$3
	# into the cgroup first, then new mount and network namespaces; the
	# program sits on a tmpfs that only exists inside
	sh -c "echo \$\$ > '$cg/cgroup.procs' && exec unshare --mount --net --propagation private sh -c \"
		mount -t tmpfs none '$exe_dir' && cp '$GEN' '$exe_dir/inside' &&
		ip link set lo up && exec '$exe_dir/inside' udp4\"" > "$out"
}

@test "containers: docker and Kubernetes cgroups give runtime, id and pod UID; the path is the one inside" {
	need_bpf
	need_cmd unshare
	d=$BATS_TEST_TMPDIR
	root=$(cgroup_root)
	[ -n "$root" ] || cannot_run "no cgroup v2 mount"
	base=$root/snitch-test-$$.slice
	docker=$base/docker-$HEX.scope
	kube=$base/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD//-/_}.slice/cri-containerd-$HEX.scope
	mkdir -p "$docker" "$kube"
	CGS="$docker $kube $(dirname "$kube") $(dirname "$(dirname "$kube")") $base/kubepods.slice"
	mkdir -p "$d/inside-docker" "$d/inside-kube"
	pipeline_start "$d/out"
	container_run "$docker" "$d/inside-docker" "$d/r-docker"
	container_run "$kube" "$d/inside-kube" "$d/r-kube"
	sleep 0.3
	pipeline_stop
	[ ! -e "$d/inside-docker/inside" ]	# it was only ever inside
	pid=$(jq 'select(.role == "client") | .pid' "$d/r-docker")
	grep -F "\"pid\":$pid," "$d/out" | grep -F '"type":"flow"' | head -1 |
		jq -e --arg id "$HEX" --arg p "$d/inside-docker/inside" \
		'.container_runtime == "docker" and .container_id == $id and .pod_uid == "" and .exe_path == $p'
	pid=$(jq 'select(.role == "client") | .pid' "$d/r-kube")
	grep -F "\"pid\":$pid," "$d/out" | grep -F '"type":"flow"' | head -1 |
		jq -e --arg id "$HEX" --arg pod "$POD" \
		'.container_runtime == "containerd" and .container_id == $id and .pod_uid == $pod'
	# and a process of the host is in none
	jq -e -s 'map(select(.type == "flow" and .comm == "gen-host")) | length == 0' "$d/out"
	jq -e -s 'map(select(.type == "exec" and .comm == "ip")) | length >= 1 and all(.[]; .container_runtime != null)' "$d/out"
}

@test "a process chrooted in a mount namespace of its own: the path is the one inside its root, not ours" {
	need_root
	need_cmd unshare
	d=$BATS_TEST_TMPDIR
	mkdir -p "$d/r"
	# a root on a tmpfs that exists only in the process's namespace, with
	# sleep and the libraries it loads
	libs=$(ldd /bin/sleep | grep -o '/[^ ]*' | tr '\n' ' ')
	unshare --mount --propagation private sh -c "
		mount -t tmpfs none '$d/r' && mkdir -p '$d/r/bin' &&
		for f in $libs; do mkdir -p '$d/r'\$(dirname \$f) && cp \$f '$d/r'\$f; done &&
		cp /bin/sleep '$d/r/bin/sleep' && exec chroot '$d/r' /bin/sleep 30" &
	BG=$!
	for i in $(seq 1 50); do
		[ "$(cat "/proc/$BG/comm" 2>/dev/null)" = sleep ] && break
		sleep 0.1
	done
	[ "$(cat "/proc/$BG/comm")" = sleep ]
	[ ! -e "$d/r/bin/sleep" ]	# not in our namespace
	id=$(stat -L -c '"exe_dev":%d,"exe_ino":%i' "/proc/$BG/exe")
	run --separate-stderr "$RESOLVE" <<< "{\"v\":1,\"type\":\"flow\",\"pid\":$BG,\"comm\":\"sleep\",$id}"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e -s 'map(select(.type == "flow"))[0] | .exe_path == "/bin/sleep" and .cmdline == ["/bin/sleep", "30"]'
	echo "$output" | jq -e -s 'map(select(.type == "error")) == []'
}

@test "container names: Docker's and Podman's files (rootful and rootless), containerd's spec, the kubelet's /var/log/pods" {
	need_root
	root=$(cgroup_root)
	[ -n "$root" ] || cannot_run "no cgroup v2 mount"
	fix=$SNITCH_TOP/tests/fixtures/containers
	DOCKER=d548c5b83fa61d8e3bd86ad42a7ffea9b7c86e3f9d8095c1577d3e1270bb9420
	PODMAN=2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9
	ROOTLESS=12b961af5feb3e9d39f93b2cefb9a1a944f18d02cca0cac2f04f5a982240605f
	KUBELET=1ca4bc7eb9b3d6f1e205da9cfab437c89d3760d0765a29a6bcbccf4ad51a2cb1
	CONTAINERD=2397d068a8d1552a4c3f9147ba9c94e086bfd66fb2acb5bbaf47197105127d5f
	NOFILES=59ec96c1bb9e936ace983e093c166ef5a62fa1d7590d93b31937970944813f90
	CGBASE=$root/snitch-names-$$.slice
	kp=$CGBASE/kubepods.slice/kubepods-burstable.slice
	pod() { echo "$kp/kubepods-burstable-pod${1//-/_}.slice"; }
	declare -A cg=(
		[docker]=$CGBASE/system.slice/docker-$DOCKER.scope
		[podman]=$CGBASE/machine.slice/libpod-$PODMAN.scope
		[rootless]=$CGBASE/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-$ROOTLESS.scope
		[kubelet]=$(pod "$POD")/cri-containerd-$KUBELET.scope
		[containerd]=$(pod 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d)/cri-containerd-$CONTAINERD.scope
		[nofiles]=$CGBASE/system.slice/docker-$NOFILES.scope
		[nopod]=$(pod 99999999-4e5f-4a6b-8c7d-9e0f1a2b3c4d)/cri-containerd-$NOFILES.scope
		[host]=$CGBASE/user.slice/user-1000.slice/session-3.scope
	)
	in=
	for k in "${!cg[@]}"; do
		mkdir -p "${cg[$k]}"
		in+="{\"v\":1,\"type\":\"flow\",\"seq\":\"$k\",\"cgroup_id\":$(stat -c %i "${cg[$k]}")}"$'\n'
	done
	run --separate-stderr "$RESOLVE" --container-root "$fix" <<< "$in"
	[ "$status" -eq 0 ]
	names() { echo "$output" | jq -c --arg k "$1" 'select(.seq == $k) | [.container_runtime, .container_name, .container_image, .pod_namespace, .pod_name]'; }
	[ "$(names docker)" = '["docker","web-1","nginx:1.25","",""]' ]
	[ "$(names podman)" = '["podman","db","docker.io/library/postgres:16","",""]' ]
	[ "$(names rootless)" = '["podman","notes","localhost/notes:latest","",""]' ]
	# the pod from /var/log/pods, the container from /var/log/containers
	[ "$(names kubelet)" = '["containerd","server",null,"shop","cart-7d9f5c"]' ]
	[ "$(names containerd)" = '["containerd","coredns","registry.k8s.io/coredns/coredns:v1.11.1","kube-system","coredns-5d78c"]' ]
	# what no file says is null; outside a pod, the pod is ""; the host has none
	[ "$(names nofiles)" = '["docker",null,null,"",""]' ]
	# (the fixture's /var/log/containers names this id, but in another pod: not taken)
	[ "$(names nopod)" = '["containerd",null,null,null,null]' ]
	[ "$(names host)" = '["","","","",""]' ]
	# without --container-root nothing names them: the same container is null
	run --separate-stderr "$RESOLVE" <<< "{\"v\":1,\"type\":\"flow\",\"cgroup_id\":$(stat -c %i "${cg[docker]}")}"
	echo "$output" | jq -e -s 'map(select(.type == "flow"))[0] | .container_id == "'$DOCKER'" and .container_name == null'
}

@test "apps: a fake Flatpak and Snap cgroup layout names the app; the host and other scopes have none" {
	need_root
	root=$(cgroup_root)
	[ -n "$root" ] || cannot_run "no cgroup v2 mount"
	CGBASE=$root/snitch-apps-$$.slice
	u=$CGBASE/user.slice/user-1000.slice/user@1000.service/app.slice
	declare -A cg=(
		[flatpak]=$u/app-flatpak-org.example.Fake-4242.scope
		[snap]=$u/snap.fakesnap.fakesnap-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0.scope
		[service]=$CGBASE/system.slice/snap.fakesnap.daemon.service
		[other]=$u/app-gnome-org.example.Fake-4243.scope
		[host]=$CGBASE/user.slice/user-1000.slice/session-3.scope
	)
	in=
	for k in "${!cg[@]}"; do
		mkdir -p "${cg[$k]}"
		in+="{\"v\":1,\"type\":\"flow\",\"seq\":\"$k\",\"cgroup_id\":$(stat -c %i "${cg[$k]}")}"$'\n'
	done
	# a process in the Flatpak scope, resolved by its pid as well
	sh -c "echo \$\$ > '${cg[flatpak]}/cgroup.procs' && exec sleep 30" &
	BG=$!
	for _ in $(seq 50); do grep -q flatpak "/proc/$BG/cgroup" && break; sleep 0.1; done
	in+="{\"v\":1,\"type\":\"exec\",\"seq\":\"live\",\"pid\":$BG,$(stat -L -c '"exe_dev":%d,"exe_ino":%i' /proc/$BG/exe)}"$'\n'
	run --separate-stderr "$RESOLVE" <<< "$in"
	[ "$status" -eq 0 ]
	app() { echo "$output" | jq -c --arg k "$1" 'select(.seq == $k) | [.app_kind, .app]'; }
	[ "$(app flatpak)" = '["flatpak","org.example.Fake"]' ]
	[ "$(app snap)" = '["snap","fakesnap"]' ]
	[ "$(app service)" = '["snap","fakesnap"]' ]
	[ "$(app other)" = '["",""]' ]
	[ "$(app host)" = '["",""]' ]
	[ "$(app live)" = '["flatpak","org.example.Fake"]' ]
	# an app is no container
	echo "$output" | jq -e -s 'map(select(.seq == "flatpak"))[0] | .container_runtime == "" and .container_id == ""'
	kill "$BG"; wait "$BG" 2>/dev/null || true
	echo "$BG" > "$root/cgroup.procs" 2>/dev/null || true
	BG=
}

@test "apps: an AppImage's process is named by the AppImage its runtime mounted, checked against the mount's name" {
	d=$BATS_TEST_TMPDIR
	# the runtime's mount: ".mount_", the first six letters of the file's name, six random
	mkdir -p "$d/.mount_MyToolq1W2e3/usr/bin"
	cp /bin/sleep "$d/.mount_MyToolq1W2e3/usr/bin/mytool"
	: > "$d/MyTool-1.0-x86_64.AppImage"
	APPIMAGE=$d/MyTool-1.0-x86_64.AppImage "$d/.mount_MyToolq1W2e3/usr/bin/mytool" 30 &
	A=$!
	# no APPIMAGE, and one that names another file than the mount's
	env -u APPIMAGE "$d/.mount_MyToolq1W2e3/usr/bin/mytool" 30 &
	B=$!
	APPIMAGE=/usr/bin/other.AppImage "$d/.mount_MyToolq1W2e3/usr/bin/mytool" 30 &
	C=$!
	# an ordinary program with APPIMAGE set is no AppImage
	APPIMAGE=$d/MyTool-1.0-x86_64.AppImage sleep 30 &
	D=$!
	BG="$A $B $C $D"
	for p in $A $B $C $D; do
		for _ in $(seq 50); do [[ "$(readlink /proc/$p/exe)" == */mytool || "$(readlink /proc/$p/exe)" == */sleep ]] && break; sleep 0.05; done
	done
	in=
	for p in $A $B $C $D; do
		in+="{\"v\":1,\"type\":\"exec\",\"pid\":$p,$(stat -L -c '"exe_dev":%d,"exe_ino":%i' /proc/$p/exe)}"$'\n'
	done
	run --separate-stderr "$RESOLVE" <<< "$in"
	[ "$status" -eq 0 ]
	app() { echo "$output" | jq -c --argjson p "$1" 'select(.pid == $p) | [.app_kind, .app]'; }
	[ "$(app $A)" = "[\"appimage\",\"$d/MyTool-1.0-x86_64.AppImage\"]" ]
	[ "$(app $B)" = '["appimage","MyTool"]' ]
	[ "$(app $C)" = '["appimage","MyTool"]' ]
	[ "$(app $D)" = '["",""]' ]
}

@test "container names are read on first sight and cached; a container whose files come later is named later" {
	need_root
	root=$(cgroup_root)
	[ -n "$root" ] || cannot_run "no cgroup v2 mount"
	d=$BATS_TEST_TMPDIR
	ID=59ec96c1bb9e936ace983e093c166ef5a62fa1d7590d93b31937970944813f90
	CGBASE=$root/snitch-names-$$.slice
	mkdir -p "$CGBASE/docker-$ID.scope"
	cgid=$(stat -c %i "$CGBASE/docker-$ID.scope")
	mkdir -p "$d/root/var/lib/docker/containers/$ID"
	stream_start "$RESOLVE" --container-root "$d/root" --container-recheck-s 1
	stream_send "{\"v\":1,\"type\":\"flow\",\"seq\":1,\"cgroup_id\":$cgid}"
	wait_lines "$STREAM_OUT" 1
	echo '{"Name":"/late","Config":{"Image":"busybox"}}' > "$d/root/var/lib/docker/containers/$ID/config.v2.json"
	stream_send "{\"v\":1,\"type\":\"flow\",\"seq\":2,\"cgroup_id\":$cgid}"
	wait_lines "$STREAM_OUT" 2
	sleep 1.2	# past --container-recheck-s
	stream_send "{\"v\":1,\"type\":\"flow\",\"seq\":3,\"cgroup_id\":$cgid}"
	wait_lines "$STREAM_OUT" 3
	# named now: the name is kept even when its file goes
	rm "$d/root/var/lib/docker/containers/$ID/config.v2.json"
	sleep 1.2
	stream_send "{\"v\":1,\"type\":\"flow\",\"seq\":4,\"cgroup_id\":$cgid}"
	stream_stop
	[ "$(jq -c 'select(.type == "flow") | [.seq, .container_name, .container_image]' "$STREAM_OUT" | tr '\n' ' ')" = \
	  '[1,null,null] [2,null,null] [3,"late","busybox"] [4,"late","busybox"] ' ]
}

@test "a real podman container: its name, its image, and the path inside it" {
	need_root
	need_cmd podman runc
	IMAGE=localhost/snitch-test-$$:1
	CTR=snitch-test-$$
	podman_image "$IMAGE" /bin/sleep
	"${PODMAN[@]}" run -d --name "$CTR" --network none "${PODMAN_LIMITS[@]}" "$IMAGE" /bin/sleep 30
	pid=$("${PODMAN[@]}" inspect -f '{{.State.Pid}}' "$CTR")
	[ "$pid" -gt 0 ]
	id=$(stat -L -c '"exe_dev":%d,"exe_ino":%i' "/proc/$pid/exe")
	cg=$(stat -c %i "$(cgroup_root)$(sed -n 's/^0:://p' "/proc/$pid/cgroup")")
	run --separate-stderr "$RESOLVE" <<< "{\"v\":1,\"type\":\"flow\",\"pid\":$pid,\"comm\":\"sleep\",$id,\"cgroup_id\":$cg}"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e -s --arg n "$CTR" --arg i "$IMAGE" --arg id "$("${PODMAN[@]}" inspect -f '{{.Id}}' "$CTR")" '
		map(select(.type == "flow"))[0] | .container_runtime == "podman" and .container_id == $id and
		.container_name == $n and .container_image == $i and .pod_name == "" and
		.exe_path == "/bin/sleep" and .cmdline == ["/bin/sleep", "30"]'
}

@test "a program run from a memfd is named by its memfd and fileless, and that is no error" {
	need_cmd python3
	# runc runs itself so; here sleep, copied into a memfd and run from it
	python3 -c 'import os
fd = os.memfd_create("copy")
os.write(fd, open("/bin/sleep", "rb").read())
os.execve("/proc/self/fd/%d" % fd, ["sleep", "30"], {})' &
	BG=$!
	for _ in $(seq 50); do [[ "$(readlink "/proc/$BG/exe")" == /memfd:* ]] && break; sleep 0.1; done
	[[ "$(readlink "/proc/$BG/exe")" == "/memfd:copy (deleted)" ]]
	id=$(stat -L -c '"exe_dev":%d,"exe_ino":%i' "/proc/$BG/exe")
	run --separate-stderr "$RESOLVE" <<< "{\"v\":1,\"type\":\"flow\",\"pid\":$BG,\"comm\":\"sleep\",$id}"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e -s 'map(select(.type == "flow"))[0] | .exe_path == "/memfd:copy (deleted)" and .exe_fileless == true and .name == "sleep" and .cmdline == ["sleep", "30"]'
	echo "$output" | jq -e -s 'map(select(.type == "error")) == []'
	[ -z "$stderr" ]
}

@test "a process that calls itself after another program: name_exe names that program; its own links and scripts do not count" {
	need_cmd python3
	d=$BATS_TEST_TMPDIR
	cp /bin/sleep "$d/tool"
	# argv[0] "sshd"-like: the name of another executable of /usr/bin
	other=$(basename "$(readlink -f /usr/bin/env)")
	python3 -c 'import os, sys; os.execv(sys.argv[1], [sys.argv[2], "30"])' "$d/tool" "$other" &
	A=$!
	# comm set with prctl(PR_SET_NAME) by the program itself
	python3 -c 'import ctypes, time; ctypes.CDLL(None).prctl(15, b"ls", 0, 0, 0); time.sleep(30)' &
	B=$!
	# its own executable under the name of a link to it: no disguise
	sleep 30 &
	C=$!
	for _ in $(seq 50); do [ "$(cat /proc/$A/comm)" = tool ] && [ "$(cat /proc/$B/comm)" = ls ] && break; sleep 0.1; done
	in=
	for p in $A $B $C; do
		in+="{\"v\":1,\"type\":\"exec\",\"pid\":$p,$(stat -L -c '"exe_dev":%d,"exe_ino":%i' /proc/$p/exe)}"$'\n'
	done
	run --separate-stderr "$RESOLVE" <<< "$in"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e -s --argjson p "$A" --arg o "/usr/bin/$other" 'map(select(.pid == $p))[0] | .name == "tool" and .cmdline[0] == ($o | split("/") | last) and .name_exe == $o'
	echo "$output" | jq -e -s --argjson p "$B" 'map(select(.pid == $p))[0] | .name == "ls" and (.name_exe | test("/s?bin/ls$")) and (.exe_path | test("python"))'
	echo "$output" | jq -e -s --argjson p "$C" 'map(select(.pid == $p))[0] | .name == "sleep" and .name_exe == null'
}

@test "an interpreter's script: script_path, absolute or from its working directory; none for inline code" {
	need_cmd python3
	d=$BATS_TEST_TMPDIR
	printf 'import time\ntime.sleep(30)\n' > "$d/job.py"
	printf '#!/bin/sh\nsleep 30\n' > "$d/job.sh"
	chmod +x "$d/job.sh"
	python3 -u "$d/job.py" &
	A=$!
	(cd "$d" && exec python3 job.py) &
	B=$!
	"$d/job.sh" &
	C=$!
	python3 -c 'import time; time.sleep(30)' "$d/job.py" &
	D=$!
	sleep 0.5
	in=
	for p in $A $B $C $D; do
		in+="{\"v\":1,\"type\":\"exec\",\"pid\":$p,$(stat -L -c '"exe_dev":%d,"exe_ino":%i' /proc/$p/exe)}"$'\n'
	done
	run --separate-stderr "$RESOLVE" <<< "$in"
	[ "$status" -eq 0 ]
	for p in $A $B; do
		echo "$output" | jq -e -s --argjson p "$p" --arg s "$d/job.py" 'map(select(.pid == $p))[0] | .script_path == $s'
	done
	echo "$output" | jq -e -s --argjson p "$C" --arg s "$d/job.sh" 'map(select(.pid == $p))[0] | .script_path == $s and .name == "job.sh" and .name_exe == null'
	echo "$output" | jq -e -s --argjson p "$D" 'map(select(.pid == $p))[0] | .script_path == null'
	# not an interpreter: no script, whatever its arguments
	echo "$output" | jq -e -s 'map(select(.type == "exec")) | length == 4'
}

@test "a process of the host has empty container fields" {
	sleep 30 &
	BG=$!
	cg=$(stat -c %i "$(cgroup_root)$(sed -n 's/^0:://p' /proc/$BG/cgroup)")
	run --separate-stderr "$RESOLVE" <<< "{\"v\":1,\"type\":\"exec\",\"pid\":$BG,\"cgroup_id\":$cg}"
	echo "$output" | jq -e -s 'map(select(.type == "exec"))[0] | .container_runtime == "" and .container_id == "" and .pod_uid == ""'
	echo "$output" | jq -e -s 'map(select(.type == "exec"))[0] | .container_name == "" and .container_image == "" and .pod_namespace == "" and .pod_name == ""'
}

@test "domains: two processes that looked up different names for one address each get their own" {
	need_bpf
	need_cmd ip
	d=$BATS_TEST_TMPDIR
	dns_ns_start a.test=127.0.0.5 b.test=127.0.0.5
	pipeline_start "$d/out"
	a=$(ip netns exec "$DNS_NS" "$SNITCH_TEST_BIN/dnsq" a.test send)
	b=$(ip netns exec "$DNS_NS" "$SNITCH_TEST_BIN/dnsq-static" b.test send)
	sleep 0.3
	pipeline_stop
	[ "${a#* }" = 127.0.0.5 ]
	[ "${b#* }" = 127.0.0.5 ]
	jq -e -s --argjson pid "${a%% *}" 'map(select(.type == "flow" and .pid == $pid and .raddr == "127.0.0.5")) | length >= 1 and all(.[]; .domain == "a.test")' "$d/out"
	jq -e -s --argjson pid "${b%% *}" 'map(select(.type == "flow" and .pid == $pid and .raddr == "127.0.0.5")) | length >= 1 and all(.[]; .domain == "b.test")' "$d/out"
}

@test "domains: same process first, then the same network namespace, then anyone" {
	dns() { echo "{\"v\":1,\"type\":\"dns\",\"pid\":$1,\"netns\":$2,\"qname\":\"$3\",\"qtype\":\"A\",\"rcode\":0,\"answers\":[{\"addr\":\"192.0.2.9\",\"ttl_s\":60}]}"; }
	flow() { echo "{\"v\":1,\"type\":\"flow\",\"pid\":$1,\"netns\":$2,\"raddr\":\"$3\",\"seq\":$4}"; }
	in=$(dns 100 1 one.test; dns 200 2 two.test; dns 300 2 three.test
	     flow 100 1 192.0.2.9 1; flow 200 2 192.0.2.9 2; flow 999 1 192.0.2.9 3
	     flow 999 2 192.0.2.9 4; flow 999 7 192.0.2.9 5; flow 100 1 192.0.2.10 6)
	run --separate-stderr "$RESOLVE" <<< "$in"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r 'select(.type == "flow") | "\(.seq) \(.domain)"' | tr '\n' ',')" = \
	  "1 one.test,2 two.test,3 one.test,4 three.test,5 three.test,6 null," ]
	# dns records pass through unchanged
	[ "$(echo "$output" | jq -c 'select(.type == "dns")' | head -1)" = "$(dns 100 1 one.test)" ]
}

# a dns record as snitch-trace writes it, carrying the message in FILE
dns_payload() {
	local f=$SNITCH_TOP/tests/fuzz/dns/$1 cut=${2:-false}
	printf '{"v":1,"type":"dns","ts_ns":1,"sock_cookie":77,"pid":100,"netns":1,"server":"127.0.0.1","payload_b64":"%s","payload_bytes":%d,"payload_truncated":%s}\n' \
		"$(base64 -w0 "$f")" "$(stat -c %s "$f")" "$cut"
}

@test "dns: the captured message is decoded, a CNAME chain followed, and the flows that follow are named" {
	in=$(dns_payload cname-chain.bin
	     echo '{"v":1,"type":"flow","pid":100,"netns":1,"raddr":"192.0.2.2"}')
	run --separate-stderr "$RESOLVE" <<< "$in"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	echo "$output" | jq -e -s '[.[] | select(.type == "dns")] == [{"v":1,"type":"dns","ts_ns":1,"sock_cookie":77,"pid":100,"netns":1,"server":"127.0.0.1",
		"payload_b64":"'"$(base64 -w0 "$SNITCH_TOP/tests/fuzz/dns/cname-chain.bin")"'","payload_bytes":108,"payload_truncated":false,
		"qname":"www.example.org","qtype":"A","rcode":0,"answers":[{"addr":"192.0.2.1","ttl_s":200},{"addr":"192.0.2.2","ttl_s":200}]}]'
	echo "$output" | jq -e -s 'map(select(.type == "flow"))[0].domain == "www.example.org"'
	in=$(dns_payload aaaa.bin; dns_payload nxdomain.bin)
	run --separate-stderr "$RESOLVE" <<< "$in"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c 'select(.type == "dns") | [.qname, .qtype, .rcode, .answers]' | tr '\n' ' ')" = \
	  '["example.org","AAAA",0,[{"addr":"2001:db8::7","ttl_s":120},{"addr":"2001:db8::8","ttl_s":60}]] ["nothing.test","A",3,[]] ' ]
}

@test "dns: a message cut by the capture gives the answers that fit; one that cannot be read gives dns_malformed and passes on" {
	in=$(dns_payload truncated-512.bin true
	     dns_payload truncated-512.bin false
	     dns_payload pointer-loop-question.bin
	     echo '{"v":1,"type":"dns","sock_cookie":78,"payload_b64":"not base64"}'
	     echo '{"v":1,"type":"flow","pid":100,"netns":1,"raddr":"10.0.0.29","seq":1}')
	run --separate-stderr "$RESOLVE" <<< "$in"
	[ "$status" -eq 0 ]
	# cut at 512 bytes by the capture: 29 of its 40 answers, no error
	echo "$output" | jq -e -s '[.[] | select(.type == "dns")][0] | .qname == "many.example.org" and (.answers | length) == 29 and .answers[28] == {"addr":"10.0.0.29","ttl_s":300}'
	# the same bytes said to be whole: the answers read, and an error
	echo "$output" | jq -e -s '[.[] | select(.type == "dns")][1] | .qname == "many.example.org" and (.answers | length) == 29'
	echo "$output" | jq -e -s '[.[] | select(.type == "dns")][2:] | length == 2 and all(.[]; .qname == null and .qtype == null and .rcode == null and .answers == null)'
	[ "$(echo "$output" | jq -r 'select(.type == "error") | "\(.code) \(.stage) \(.sock_cookie) \(.message)"')" = "\
dns_malformed snitch-resolve 77 the dns answer on socket 77 cannot be decoded: its answer section cannot be read
dns_malformed snitch-resolve 77 the dns answer on socket 77 cannot be decoded: its question cannot be read
dns_malformed snitch-resolve 78 the dns answer on socket 78 cannot be decoded: its payload_b64 is not base64" ]
	[[ "$stderr" == *"snitch-resolve: the dns answer on socket 78 cannot be decoded: its payload_b64 is not base64"* ]]
	# every record passed on, and the flow was named from the cut answer
	[ "$(echo "$output" | jq -s 'map(select(.type == "dns")) | length')" -eq 4 ]
	echo "$output" | jq -e -s 'map(select(.type == "flow"))[0].domain == "many.example.org"'
}

@test "--reverse-dns names an address later, without holding up the stream" {
	need_root
	need_cmd ip
	dns_ns_start rev.test=127.0.0.7
	stream_start ip netns exec "$DNS_NS" "$RESOLVE" --reverse-dns
	stream_send '{"v":1,"type":"flow","pid":1,"raddr":"127.0.0.7","seq":1}'
	wait_lines "$STREAM_OUT" 1	# out at once, before the answer
	sleep 1
	stream_send '{"v":1,"type":"flow","pid":1,"raddr":"127.0.0.7","seq":2}'
	stream_stop
	[ "$(jq -r 'select(.type == "flow") | "\(.seq) \(.domain)"' "$STREAM_OUT" | tr '\n' ',')" = "1 null,2 rev.test," ]
	jq -e -s 'map(select(.type == "stats")) | (map(.domains_reverse) | add) == 1' "$STREAM_OUT"
}

# the last stats record of $STREAM_OUT has processes_cached $1 and addresses_cached $2
cached_is() {
	jq -e -s --argjson p "$1" --argjson a "$2" \
		'map(select(.type == "stats")) | last | .processes_cached == $p and .addresses_cached == $a' "$STREAM_OUT" > /dev/null
}

@test "an exited process unnamed for --forget-after-s is forgotten, a living one kept; an address once its names expire" {
	sleep 60 &
	LIVE=$!
	sleep 1 &
	BG=$!
	flow() { echo "{\"v\":1,\"type\":\"flow\",\"pid\":$1,\"comm\":\"sleep\",\"uid\":0,\"raddr\":\"192.0.2.9\",\"seq\":$2}"; }
	stream_start "$RESOLVE" --forget-after-s 2 --stats-s 1 --dns-keep-s 2
	stream_send '{"v":1,"type":"dns","pid":1,"netns":1,"qname":"gone.test","qtype":"A","rcode":0,"answers":[{"addr":"192.0.2.9","ttl_s":1}]}' \
		"$(flow "$LIVE" 1)" "$(flow "$BG" 2)"
	# a record a second, for a stats record a second
	for _ in $(seq 1 30); do
		stream_send '{"v":1,"type":"tick"}'
		cached_is 2 1 && break
		sleep 0.2
	done
	cached_is 2 1
	wait "$BG" 2> /dev/null || true
	BG=
	for _ in $(seq 1 100); do
		stream_send '{"v":1,"type":"tick"}'
		cached_is 1 0 && break
		sleep 0.2
	done
	cached_is 1 0
	# the living one is still known; the address is named no more
	stream_send "$(flow "$LIVE" 3)"
	stream_stop
	[ "$STREAM_STATUS" -eq 0 ]
	jq -e -s 'map(select(.seq == 3))[0] | .name == "sleep" and .cmdline == ["sleep", "60"] and .domain == null' "$STREAM_OUT"
	jq -e -s 'map(select(.seq == 1))[0] | .domain == "gone.test"' "$STREAM_OUT"
}

@test "records without a process, and unknown types and fields, pass through unchanged" {
	in='{"v":1,"type":"other","keep":[1,{"a":null}]}
{"v":1,"type":"lost","stage":"snitch-trace","reason":"x","count":1,"total":1,"message":"m"}'
	run --separate-stderr "$RESOLVE" <<< "$in"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -v '"type":"stats"')" = "$in" ]
}

@test "malformed input: an error record with the line number, and the stream goes on" {
	run --separate-stderr "$RESOLVE" <<< $'{"v":1,"type":"a"}\n{broken\n{"v":1,"type":"b"}'
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r 'select(.type != "stats") | .type' | tr '\n' ' ')" = "a error b " ]
	echo "$output" | jq -e -s 'map(select(.type == "error"))[0] | .code == "malformed_input" and .line == 2 and .stage == "snitch-resolve"'
}

@test "--help, a bad option, and a terminal on standard input" {
	run --separate-stderr "$RESOLVE" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: snitch-resolve [OPTION]... < RECORDS"* ]]
	[[ "$output" == *'[$SNITCH_RESOLVE_REVERSE_DNS]'* ]]
	run --separate-stderr "$RESOLVE" --cache-size 1
	[ "$status" -eq 2 ]
	[[ "$stderr" == "snitch-resolve: invalid value '1' for --cache-size: must be from 64 to 10000000"* ]]
}

@test "dns: a query seen on port 53 is no error: null fields, counted in stats" {
	# a query for a.test, type A: flags 0x0100 (QR clear), one question
	q=$(printf '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x04test\x00\x00\x01\x00\x01' | base64 -w0)
	run --separate-stderr "$RESOLVE" <<< "{\"v\":1,\"type\":\"dns\",\"sock_cookie\":5,\"payload_b64\":\"$q\",\"payload_bytes\":24,\"payload_truncated\":false}"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e -s 'map(select(.type == "dns"))[0] | .qname == null and .answers == null'
	echo "$output" | jq -e -s 'map(select(.type == "error")) == []'
	echo "$output" | jq -e -s 'map(select(.type == "stats"))[0] | .dns_not_answers == 1 and .dns_malformed == 0'
	[ -z "$stderr" ]
}

@test "dns: a query a process sent gives its name and type, rcode and answers null; a response sent is no query" {
	# a query for a.test, type AAAA: flags 0x0100 (QR clear), one question
	q=$(printf '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x04test\x00\x00\x1c\x00\x01' | base64 -w0)
	a=$(base64 -w0 "$SNITCH_TOP/tests/fuzz/dns/a.bin")
	run --separate-stderr "$RESOLVE" --stats-s 3600 <<-EOF
	{"v":1,"type":"dns","sock_cookie":5,"pid":7,"direction":"sent","payload_b64":"$q","payload_bytes":24,"payload_truncated":false}
	{"v":1,"type":"dns","sock_cookie":6,"pid":7,"direction":"sent","payload_b64":"$a","payload_bytes":45,"payload_truncated":false}
	EOF
	[ "$status" -eq 0 ]
	echo "$output" | jq -e -s '[.[] | select(.type == "dns") | [.qname, .qtype, .rcode, .answers]] == [["a.test", "AAAA", null, null], [null, null, null, null]]'
	echo "$output" | jq -e -s 'map(select(.type == "error")) == []'
	echo "$output" | jq -e -s 'map(select(.type == "stats"))[0] | .dns_not_answers == 1 and .dns_malformed == 0'
	[ -z "$stderr" ]
}

@test "dns: a flood of malformed answers gives at most 10 error records an interval, one saying so, and every one is counted" {
	in=$(for i in $(seq 1 30); do
		echo "{\"v\":1,\"type\":\"dns\",\"sock_cookie\":$i,\"payload_b64\":\"not base64\"}"
	     done)
	run --separate-stderr "$RESOLVE" <<< "$in"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -s 'map(select(.type == "dns")) | length')" -eq 30 ]
	[ "$(echo "$output" | jq -s 'map(select(.type == "error" and .sock_cookie != null)) | length')" -eq 10 ]
	echo "$output" | jq -e -s 'map(select(.type == "error" and .sock_cookie == null)) | length == 1 and (.[0].code == "dns_malformed") and (.[0].message | test("more than 10 dns answers"))'
	echo "$output" | jq -e -s 'map(select(.type == "stats"))[0].dns_malformed == 30'
}
