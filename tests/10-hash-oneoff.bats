#!/usr/bin/env bats
# snitch-hash FILE...: the same lines as sha256sum, and clear errors.

load helper

@test "matches sha256sum for empty, 1-byte and exactly 1 MiB files" {
	cd "$BATS_TEST_TMPDIR"
	: > empty
	printf 'x' > one
	head -c 1048576 /dev/urandom > mib
	run --separate-stderr "$HASH" empty one mib
	[ "$status" -eq 0 ]
	[ "$output" = "$(sha256sum empty one mib)" ]
	[ -z "$stderr" ]
}

@test "matches sha256sum on a sparse 5 GiB file" {
	cd "$BATS_TEST_TMPDIR"
	truncate -s 5G sparse
	printf 'end' >> sparse
	run --separate-stderr "$HASH" sparse
	[ "$status" -eq 0 ]
	[ "$output" = "$(sha256sum sparse)" ]
}

@test "names with spaces, a newline, a backslash and a CR are escaped as sha256sum does" {
	cd "$BATS_TEST_TMPDIR"
	printf 'a' > 'with space'
	printf 'b' > "$(printf 'new\nline')"
	printf 'c' > 'back\slash'
	printf 'd' > "$(printf 'car\rret')"
	files=('with space' "$(printf 'new\nline')" 'back\slash' "$(printf 'car\rret')")
	run --separate-stderr "$HASH" "${files[@]}"
	[ "$status" -eq 0 ]
	[ "$output" = "$(sha256sum "${files[@]}")" ]
	# and sha256sum -c reads every one of them back
	"$HASH" "${files[@]}" | sha256sum -c --status -
}

@test "'-' hashes standard input" {
	run --separate-stderr "$HASH" - < /bin/ls
	[ "$status" -eq 0 ]
	[ "$output" = "$(sha256sum - < /bin/ls)" ]
	run --separate-stderr bash -c "cat /bin/ls | '$HASH' -"
	[ "$output" = "$(sha256sum - < /bin/ls)" ]
}

@test "output is accepted by sha256sum -c" {
	"$HASH" /bin/ls /bin/cat | sha256sum -c -
}

@test "a nonexistent file is an error; the others are still hashed; exit 1" {
	run --separate-stderr "$HASH" /bin/ls /nonexistent/x /bin/cat
	[ "$status" -eq 1 ]
	[ "$stderr" = "snitch-hash: cannot open '/nonexistent/x': No such file or directory" ]
	[ "$output" = "$(sha256sum /bin/ls /bin/cat)" ]
}

@test "a directory is an error" {
	run --separate-stderr "$HASH" /tmp /bin/ls
	[ "$status" -eq 1 ]
	[ "$stderr" = "snitch-hash: cannot open '/tmp': Is a directory" ]
	[ "$output" = "$(sha256sum /bin/ls)" ]
}

@test "a FIFO is an error and does not hang" {
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	run --separate-stderr timeout 10 "$HASH" "$BATS_TEST_TMPDIR/fifo" /bin/ls
	[ "$status" -eq 1 ]
	[ "$stderr" = "snitch-hash: cannot open '$BATS_TEST_TMPDIR/fifo': not a regular file (a FIFO)" ]
	[ "$output" = "$(sha256sum /bin/ls)" ]
}

@test "a device is an error and is not read" {
	run --separate-stderr timeout 10 "$HASH" /dev/zero
	[ "$status" -eq 1 ]
	[ "$stderr" = "snitch-hash: cannot open '/dev/zero': not a regular file (a character device)" ]
	[ -z "$output" ]
}

@test "a file unreadable to the user running it is an error (as nobody)" {
	need_root
	d=$(open_tmpdir)
	nobody_bin "$d"
	printf 'secret' > "$d/secret"
	chmod 600 "$d/secret"
	printf 'public' > "$d/public"
	chmod 644 "$d/public"
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$NOBODY_BIN/snitch-hash" "$d/secret" "$d/public"
	expected=$(sha256sum "$d/public")
	rm -rf "$d"
	[ "$status" -eq 1 ]
	[ "$stderr" = "snitch-hash: cannot open '$d/secret': Permission denied" ]
	[ "$output" = "$expected" ]
}

@test "a name with a newline is quoted on one line in the error message" {
	run --separate-stderr "$HASH" "$(printf '/no/such\nfile')"
	[ "$status" -eq 1 ]
	[ "$stderr" = "snitch-hash: cannot open '/no/such\\nfile': No such file or directory" ]
}

@test "--json prints one hash record per file with path, dev, ino, size, sha256" {
	run --separate-stderr "$HASH" --json /bin/ls /bin/cat
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | wc -l)" -eq 2 ]
	line=$(echo "$output" | head -1)
	[ "$(echo "$line" | jq -r '[.v, .type, .path, .dev, .ino, .size, .sha256] | @tsv')" = \
	  "$(printf '1\thash\t/bin/ls\t%s\t%s\t%s\t%s' "$(stat -L -c %d /bin/ls)" "$(stat -L -c %i /bin/ls)" "$(stat -L -c %s /bin/ls)" "$(sha_of /bin/ls)")" ]
	echo "$line" | jq -e '.ts_ns > 1700000000000000000'
}

@test "--json reports a failure as an error record too" {
	run --separate-stderr "$HASH" --json /nonexistent /bin/ls
	[ "$status" -eq 1 ]
	echo "$output" | jq -e -s '.[0].type == "error" and .[0].code == "open_failed" and .[0].path == "/nonexistent" and .[0].errno == "ENOENT" and .[1].type == "hash"'
}

@test "--help shows usage, options with their variables, exit codes and examples" {
	run --separate-stderr "$HASH" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: snitch-hash [OPTION]... FILE..."* ]]
	[[ "$output" == *'[$SNITCH_HASH_JOBS]'* ]]
	[[ "$output" == *"Exit status:"* ]]
	[[ "$output" == *"Examples:"* ]]
	[ -z "$stderr" ]
}

@test "--version prints the name and version" {
	run --separate-stderr "$HASH" --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^snitch-hash\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "a bad option is one line naming it, then a pointer to --help; exit 2" {
	run --separate-stderr "$HASH" --frobnicate
	[ "$status" -eq 2 ]
	[ "$stderr" = "$(printf "snitch-hash: unknown option '--frobnicate'\nTry 'snitch-hash --help' for more information.")" ]
	[ -z "$output" ]
	run --separate-stderr "$HASH" --jobs 0 /bin/ls
	[ "$status" -eq 2 ]
	[[ "$stderr" == "snitch-hash: invalid value '0' for --jobs: must be from 1 to 64"* ]]
}

@test "a bad value in an environment variable names the variable" {
	SNITCH_HASH_JOBS=lots run --separate-stderr "$HASH" /bin/ls
	[ "$status" -eq 2 ]
	[[ "$stderr" == "snitch-hash: invalid value 'lots' for \$SNITCH_HASH_JOBS: not a whole number"* ]]
}

@test "--stream with FILEs, and --json without, are usage errors" {
	run --separate-stderr "$HASH" --stream /bin/ls
	[ "$status" -eq 2 ]
	run --separate-stderr "$HASH" --json < /dev/null
	[ "$status" -eq 2 ]
}

@test "a closed output ends it quietly with status 0" {
	run --separate-stderr bash -c "'$HASH' /bin/ls /bin/cat /bin/true /bin/sh | head -c 10; exit \${PIPESTATUS[0]}"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}
