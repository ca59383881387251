#!/usr/bin/env bats
# A cached executable that changes on disk: new hash, one `modified` record.

load helper

# whatever a test started stops, whatever happened
teardown() {
	stop_started
}

modify_test() {
	local mode=$1
	shift
	cp /bin/true "$BATS_TEST_TMPDIR/tool"
	old=$(sha_of "$BATS_TEST_TMPDIR/tool")
	stream_start "$HASH" --stream "$@"
	stream_send "$(record_for "$BATS_TEST_TMPDIR/tool" '+ {seq: 1}')"
	wait_lines "$STREAM_OUT" 1
	printf 'x' >> "$BATS_TEST_TMPDIR/tool"
	new=$(sha_of "$BATS_TEST_TMPDIR/tool")
	stream_send "$(record_for "$BATS_TEST_TMPDIR/tool" '+ {seq: 2}')"
	stream_stop
	[ "$STREAM_STATUS" -eq 0 ]
	[ "$old" != "$new" ]
	[ "$(jq -r 'select(.seq == 1) | .exe_sha256' "$STREAM_OUT")" = "$old" ]
	[ "$(jq -r 'select(.seq == 2) | .exe_sha256' "$STREAM_OUT")" = "$new" ]
	[ "$(jq -c 'select(.type == "modified")' "$STREAM_OUT" | wc -l)" -eq 1 ]
	jq -e -s --arg o "$old" --arg n "$new" --arg p "$BATS_TEST_TMPDIR/tool" \
		"map(select(.type == \"modified\"))[0] | .old_sha256 == \$o and .new_sha256 == \$n and .path == \$p and .detected_by == \"$mode\"" "$STREAM_OUT"
	# the modified record comes before the record with the new hash
	[ "$(jq -r 'select(.type == "modified" or .seq == 2) | .type' "$STREAM_OUT" | tr '\n' ' ')" = "modified flow " ]
}

@test "appending a byte gives a new hash and exactly one modified record (fanotify)" {
	need_root
	modify_test fanotify --watch fanotify
}

@test "appending a byte gives a new hash and exactly one modified record (stat checks)" {
	modify_test stat --watch stat
}

@test "a change is reported even when no record names the file again (fanotify)" {
	need_root
	cp /bin/true "$BATS_TEST_TMPDIR/tool"
	stream_start "$HASH" --stream --watch fanotify
	stream_send "$(record_for "$BATS_TEST_TMPDIR/tool")"
	wait_lines "$STREAM_OUT" 1
	cp /bin/ls "$BATS_TEST_TMPDIR/tool"	# rewrites the same inode
	wait_lines "$STREAM_OUT" 2
	stream_stop
	jq -e -s --arg n "$(sha_of /bin/ls)" 'map(select(.type == "modified"))[0].new_sha256 == $n' "$STREAM_OUT"
}

@test "touching a file without changing its content gives no modified record" {
	cp /bin/true "$BATS_TEST_TMPDIR/tool"
	stream_start "$HASH" --stream --watch stat
	stream_send "$(record_for "$BATS_TEST_TMPDIR/tool")"
	wait_lines "$STREAM_OUT" 1
	touch -d '2001-01-01' "$BATS_TEST_TMPDIR/tool"
	stream_send "$(record_for "$BATS_TEST_TMPDIR/tool")"
	stream_stop
	[ "$(jq -c 'select(.type == "modified")' "$STREAM_OUT" | wc -l)" -eq 0 ]
	[ "$(jq -r .exe_sha256 "$STREAM_OUT" | sort -u)" = "$(sha_of /bin/true)" ]
}

@test "a file replaced by rename is a new executable, not a modified one" {
	cp /bin/true "$BATS_TEST_TMPDIR/tool"
	stream_start "$HASH" --stream
	stream_send "$(record_for "$BATS_TEST_TMPDIR/tool")"
	wait_lines "$STREAM_OUT" 1
	cp /bin/ls "$BATS_TEST_TMPDIR/tool.new"
	mv "$BATS_TEST_TMPDIR/tool.new" "$BATS_TEST_TMPDIR/tool"
	stream_send "$(record_for "$BATS_TEST_TMPDIR/tool")"
	stream_stop
	[ "$(jq -c 'select(.type == "modified")' "$STREAM_OUT" | wc -l)" -eq 0 ]
	[ "$(jq -r .exe_sha256 "$STREAM_OUT" | tail -1)" = "$(sha_of /bin/ls)" ]
}

@test "--watch fanotify works without privileges (as nobody)" {
	need_root
	d=$(open_tmpdir)
	nobody_bin "$d"
	cp /bin/true "$d/tool"
	chown nobody "$d/tool"
	stream_start setpriv --reuid=nobody --regid=nogroup --clear-groups "$NOBODY_BIN/snitch-hash" --stream --watch fanotify
	stream_send "$(record_for "$d/tool")"
	wait_lines "$STREAM_OUT" 1
	printf 'x' >> "$d/tool"
	stream_send "$(record_for "$d/tool")"
	stream_stop
	new=$(sha_of "$d/tool")
	rm -rf "$d"
	[ "$STREAM_STATUS" -eq 0 ]
	jq -e -s --arg n "$new" 'map(select(.type == "modified"))[0] | .new_sha256 == $n and .detected_by == "fanotify"' "$STREAM_OUT"
}
