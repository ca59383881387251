#!/usr/bin/env bash
# Run the test suites: `scripts/test.sh all|unit|bats [BATS-FILE...]`.
# Prints the machine and tool versions first: a failure report without
# them is worth little. Under CI=true a skipped test is a failure.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)

what=${1:-all}
shift || true

export SNITCH_BIN=${SNITCH_BIN:-$top/bin}
export SNITCH_TEST_BIN=${SNITCH_TEST_BIN:-$top/build/tests}
export SNITCH_TOP=$top

versions() {
	echo "# kernel:  $(uname -srm)"
	echo "# distro:  $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
	echo "# user:    $(id -un) (uid $(id -u))  CI=${CI:-}"
	echo "# cc:      $(cc --version 2>/dev/null | head -1)"
	echo "# clang:   $(clang --version 2>/dev/null | head -1)"
	echo "# bpftool: $(bpftool version 2>/dev/null | head -1)"
	echo "# libbpf:  $(pkg-config --modversion libbpf 2>/dev/null)"
	echo "# openssl: $(openssl version 2>/dev/null)"
	echo "# bats:    $(bats --version 2>/dev/null)"
	echo "# jq:      $(jq --version 2>/dev/null)"
	echo "# snitch:  $("$SNITCH_BIN/snitch-hash" --version 2>/dev/null)"
}

run_unit() {
	local t fail=0
	echo "# unit tests (ASan + UBSan)"
	# build/san/unit/test_* test lib/; build/san/unit/<tool>/test_* a tool's code
	for t in build/san/unit/test_* build/san/unit/*/test_*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		echo "# $t"
		"$t" || fail=1
	done
	return $fail
}

run_fuzz() {
	local corpus
	echo "# fuzz: record library, ${FUZZ_SECONDS:-20} s of libFuzzer (ASan + UBSan)"
	corpus=$(mktemp -d)
	# seeds: the example lines of the record contract
	awk '/^```json$/ { on = 1; next } /^```$/ { on = 0 } on' docs/records.md |
		split -l 1 - "$corpus/seed-"
	build/fuzz/fuzz_record -max_total_time="${FUZZ_SECONDS:-20}" \
		-max_len=4096 -print_final_stats=1 "$corpus" 2>&1 |
		grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==|SUMMARY|.*ERROR)' 
	local rc=${PIPESTATUS[0]}
	rm -rf "$corpus"
	[ "$rc" -eq 0 ] && echo "# fuzz: no crash" || echo "# fuzz: FAILED (rc $rc)"
	return "$rc"
}

run_bats() {
	local out rc files=("$@")
	[ ${#files[@]} -gt 0 ] || files=(tests/*.bats)
	echo "# bats: ${files[*]}"
	out=$(mktemp)
	bats --tap "${files[@]}" | tee "$out"
	rc=${PIPESTATUS[0]}
	if grep -q '^ok .* # skip' "$out"; then
		if [ "${CI:-}" = true ]; then
			echo "# FAIL: tests were skipped under CI=true (a skip is a failure here):"
			grep '^ok .* # skip' "$out"
			rc=1
		else
			echo "# note: some tests were skipped (they fail under CI=true):"
			grep '^ok .* # skip' "$out"
		fi
	fi
	rm -f "$out"
	return "$rc"
}

versions
case $what in
unit) run_unit ;;
fuzz) run_fuzz ;;
bats) run_bats "$@" ;;
all)
	rc=0
	run_unit || rc=1
	run_fuzz || rc=1
	run_bats "$@" || rc=1
	if [ $rc -eq 0 ]; then echo "# all tests passed"; else echo "# SOME TESTS FAILED"; fi
	exit $rc
	;;
*) echo "usage: scripts/test.sh all|unit|bats [BATS-FILE...]" >&2; exit 2 ;;
esac
