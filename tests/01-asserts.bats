#!/usr/bin/env bats
# The suite's assertions can fail: bats runs a test under `set -e`, which
# does not stop at a failing test inside an && list (unless it is the
# last), nor at an inverted one (`! cmd`). tests/lint-asserts.py finds them.

load helper

@test "no assertion in the suite is one that cannot fail" {
	run python3 "$SNITCH_TOP/tests/lint-asserts.py" "$SNITCH_TOP"/tests/*.bats "$SNITCH_TOP"/tests/*.bash
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "the lint finds both kinds, and passes their right forms" {
	printf '%s\n' '@test "x" {' \
		'	[ 1 = 2 ] && [ 2 = 2 ]' \
		'	! grep -q a /dev/null' \
		'	! grep -q a /dev/null || false' \
		'	[[ a == a && b == b ]]' \
		'	for i in 1 2; do [ -f "$i" ] && break; done' \
		'	[ -n "$x" ] && y=1' \
		'	! grep -q b /dev/null' \
		'}' > "$BATS_TEST_TMPDIR/t.bats"
	run python3 "$SNITCH_TOP/tests/lint-asserts.py" "$BATS_TEST_TMPDIR/t.bats"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[0]}" = "$BATS_TEST_TMPDIR/t.bats:2: tests joined by && (a failing first one passes): one a line" ]
	[ "${lines[1]}" = "$BATS_TEST_TMPDIR/t.bats:3: \`! cmd\` never fails a test: add \`|| false\`" ]
}
