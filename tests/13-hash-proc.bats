#!/usr/bin/env bats
# Hashing through /proc/PID/exe: deleted files, other mount namespaces,
# btrfs device numbers.

load helper

teardown() {
	stop_started ${BG:-}
	[ -n "${MNT:-}" ] && umount "$MNT" 2>/dev/null || true
	true
}

@test "a running executable deleted after start is still hashed via /proc/PID/exe" {
	cp /bin/sleep "$BATS_TEST_TMPDIR/sleeper"
	printf 'unique' >> "$BATS_TEST_TMPDIR/sleeper"	# not any other file's hash
	want=$(sha_of "$BATS_TEST_TMPDIR/sleeper")
	id=$(stat -c '"exe_dev":%d,"exe_ino":%i' "$BATS_TEST_TMPDIR/sleeper")
	"$BATS_TEST_TMPDIR/sleeper" 30 &
	BG=$!
	# deleted only once it runs: the background shell may not have exec'd yet
	for i in $(seq 1 100); do
		[ "$(readlink "/proc/$BG/exe")" = "$BATS_TEST_TMPDIR/sleeper" ] && break
		sleep 0.05
	done
	rm "$BATS_TEST_TMPDIR/sleeper"
	run --separate-stderr "$HASH" --stream <<< "{\"v\":1,\"type\":\"exec\",\"pid\":$BG,$id}"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .exe_sha256)" = "$want" ]
}

@test "a parent and grandparent are hashed through their pids" {
	cp /bin/sleep "$BATS_TEST_TMPDIR/p"
	"$BATS_TEST_TMPDIR/p" 30 &
	BG=$!
	rec=$(jq -cn --argjson pid "$BG" --argjson id "$(stat -c '[%d,%i]' "$BATS_TEST_TMPDIR/p")" \
		--argjson self "$$" --argjson sid "$(stat -L -c '[%d,%i]' /proc/$$/exe)" \
		'{v:1, type:"flow", parent_pid:$pid, parent_exe_dev:$id[0], parent_exe_ino:$id[1],
		  gparent_pid:$self, gparent_exe_dev:$sid[0], gparent_exe_ino:$sid[1]}')
	run --separate-stderr "$HASH" --stream <<< "$rec"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .parent_exe_sha256)" = "$(sha_of /bin/sleep)" ]
	[ "$(echo "$output" | jq -r .gparent_exe_sha256)" = "$(sha256sum /proc/$$/exe | cut -d' ' -f1)" ]
}

@test "an executable at a path that exists only in another mount namespace is hashed" {
	need_root
	need_cmd unshare
	ready=$BATS_TEST_TMPDIR/ready
	mkdir "$BATS_TEST_TMPDIR/private"
	# inside: a tmpfs over 'private' with a copy of sleep, seen only there
	unshare -m --propagation private sh -c "
		mount -t tmpfs none '$BATS_TEST_TMPDIR/private' &&
		cp /bin/sleep '$BATS_TEST_TMPDIR/private/inside' &&
		printf 'ns' >> '$BATS_TEST_TMPDIR/private/inside' &&
		stat -c '%d %i' '$BATS_TEST_TMPDIR/private/inside' > '$ready.tmp' &&
		sha256sum '$BATS_TEST_TMPDIR/private/inside' | cut -d' ' -f1 >> '$ready.tmp' &&
		mv '$ready.tmp' '$ready' &&
		exec '$BATS_TEST_TMPDIR/private/inside' 30" &
	BG=$!
	for i in $(seq 100); do [ -f "$ready" ] && break; sleep 0.1; done
	read -r dev ino < "$ready"
	want=$(sed -n 2p "$ready")
	[ ! -e "$BATS_TEST_TMPDIR/private/inside" ]	# not visible out here
	rec="{\"v\":1,\"type\":\"exec\",\"pid\":$BG,\"exe_dev\":$dev,\"exe_ino\":$ino,\"exe_path\":\"$BATS_TEST_TMPDIR/private/inside\"}"
	run --separate-stderr "$HASH" --stream <<< "$rec"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .exe_sha256)" = "$want" ]
}

@test "a process gone before its path was known: hashed at once by the path a later record gives" {
	cp /bin/sleep "$BATS_TEST_TMPDIR/brief"
	printf 'brief' >> "$BATS_TEST_TMPDIR/brief"
	want=$(sha_of "$BATS_TEST_TMPDIR/brief")
	id=$(stat -c '"exe_dev":%d,"exe_ino":%i' "$BATS_TEST_TMPDIR/brief")
	# the first record names only a pid that is gone (snitch-resolve
	# read it too late), the second the path: both in the same second
	run --separate-stderr "$HASH" --stream <<< "{\"v\":1,\"type\":\"flow\",\"pid\":999999999,$id,\"exe_path\":null}
{\"v\":1,\"type\":\"flow\",\"pid\":999999999,$id,\"exe_path\":\"$BATS_TEST_TMPDIR/brief\"}"
	[ "$status" -eq 0 ]
	# the first record may wait for the second's path, or go on without
	echo "$output" | jq -e -s --arg w "$want" 'map(select(.type == "flow")) | length == 2 and
		.[1].exe_sha256 == $w and (.[0].exe_sha256 == null or .[0].exe_sha256 == $w)'
}

@test "an executable that cannot be hashed is tried again while its records come, and said once" {
	id=$(stat -c '"exe_dev":%d,"exe_ino":%i' /bin/sleep)
	rec="{\"v\":1,\"type\":\"flow\",\"pid\":999999999,$id,\"exe_path\":null}"
	# three records over 2.5 s: tried again after a second, failing the same way
	run --separate-stderr bash -c "{ echo '$rec'; sleep 1.2; echo '$rec'; sleep 1.2; echo '$rec'; } | '$HASH' --stream"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -s 'map(select(.type == "flow")) | length')" -eq 3 ]
	[ "$(echo "$output" | jq -s 'map(select(.type == "error" and .code == "hash_failed")) | length')" -eq 1 ]
}

@test "a pid now running another executable is not trusted" {
	sleep 30 &
	BG=$!
	rec=$(stat -c "{\"v\":1,\"type\":\"flow\",\"pid\":$BG,\"exe_dev\":%d,\"exe_ino\":%i}" /bin/true)
	run --separate-stderr "$HASH" --stream <<< "$rec"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e -s 'map(select(.type == "flow"))[0].exe_sha256 == null'
	echo "$output" | jq -e -s 'map(select(.type == "error"))[0].errno == "ESTALE"'
}

@test "btrfs: the kernel's device number differs from stat's; the inode is compared, and said" {
	need_root
	need_cmd mkfs.btrfs btrfs
	img=$BATS_TEST_TMPDIR/btrfs.img
	MNT=$BATS_TEST_TMPDIR/mnt
	truncate -s 300M "$img"
	mkfs.btrfs -q -f "$img" > /dev/null 2>&1
	mkdir "$MNT"
	mount -o loop "$img" "$MNT" || cannot_run "cannot loop-mount a btrfs image here"
	btrfs subvolume create "$MNT/sub" > /dev/null
	cp /bin/true "$MNT/sub/tool"
	# the device the kernel reports (inode->i_sb->s_dev) is the one in mountinfo
	majmin=$(awk -v m="$MNT" '$5 == m { print $3 }' /proc/self/mountinfo)
	kdev=$(( (${majmin%:*} << 8) | ${majmin#*:} ))
	[ "$kdev" -ne "$(stat -c %d "$MNT/sub/tool")" ]
	rec="{\"v\":1,\"type\":\"flow\",\"exe_dev\":$kdev,\"exe_ino\":$(stat -c %i "$MNT/sub/tool"),\"exe_path\":\"$MNT/sub/tool\"}"
	run --separate-stderr "$HASH" --stream <<< "$rec"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .exe_sha256)" = "$(sha_of /bin/true)" ]
	[[ "$stderr" == *"btrfs: device numbers differ"* ]]
}
