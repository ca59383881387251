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

# Each fuzz target runs FUZZ_SECONDS from its seeds, copied to a scratch
# corpus (libFuzzer adds the inputs it finds to the first directory).
fuzz_one() {
	local target=$1 what=$2 corpus rc
	echo "# fuzz: $what, ${FUZZ_SECONDS:-20} s of libFuzzer (ASan + UBSan)"
	corpus=$(mktemp -d)
	case $target in
	fuzz_record)
		# seeds: the example lines of the record contract
		awk '/^```json$/ { on = 1; next } /^```$/ { on = 0 } on' docs/records.md |
			split -l 1 - "$corpus/seed-" ;;
	fuzz_dns)
		# seeds: DNS responses (A, AAAA, a CNAME chain, a name error,
		# one cut at 512 bytes, compression pointers that loop)
		cp tests/fuzz/dns/*.bin "$corpus/" ;;
	fuzz_vt)
		# seeds: VirusTotal's answers (a file report, an analysis, an
		# upload, an upload URL, an error, a malformed report)
		cp tests/fuzz/vt/*.json "$corpus/" ;;
	fuzz_hello)
		# seeds: OpenSSL's ClientHello with and without SNI, HTTP/1
		# requests with and without Host, an SSH banner
		cp tests/fuzz/hello/*.bin "$corpus/" ;;
	fuzz_geoip)
		# seeds: an address of each kind, and near misses
		local i=0 a
		for a in 8.8.8.8 10.0.0.1 100.64.0.1 255.255.255.255 1.2.3 \
			::1 2001:db8::1 2a00:1450:4001:81c::200e fe80::1%eth0 \
			::ffff:192.0.2.1 64:ff9b::8.8.8.8 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255; do
			printf '%s' "$a" > "$corpus/seed-$i"
			i=$((i + 1))
		done ;;
	fuzz_termsafe)
		# seeds: terminal escapes a process name may carry
		printf '\033]0;title\007' > "$corpus/osc-title"
		printf '\033[2J\033[H\302\233' > "$corpus/csi"
		printf '\033]52;c;aGk=\033\\\\' > "$corpus/osc52"
		printf 'caf\303\251 \342\200\256 \377' > "$corpus/utf8" ;;
	fuzz_tui_show)
		# seeds: command lines with escapes, a uid, a name with a title change
		printf '\000["curl","\\u001b]0;x\\u0007","\\u009b2J"]' > "$corpus/cmdline"
		printf '\002%s' 1000 > "$corpus/user"
		printf '\003ev\033]52;c;aGk=\007il' > "$corpus/name" ;;
	fuzz_top_model)
		# seeds: the flow and lost examples of the record contract
		awk '/^```json$/ { on = 1; next } /^```$/ { on = 0 } on' docs/records.md |
			grep -E '"type":"(flow|lost)"' | split -l 1 - "$corpus/seed-" ;;
	fuzz_metrics)
		# seeds: records of every kind snitch-metrics counts
		cp tests/fuzz/metrics/*.jsonl "$corpus/" ;;
	fuzz_names)
		# seeds: Docker's, Podman's and containerd's files, and the
		# kubelet's names (tests/fixtures/containers)
		find tests/fixtures/containers -name '*.json' -exec cp --backup=numbered -t "$corpus/" {} +
		find tests/fixtures/containers/var/log -mindepth 2 -maxdepth 2 -printf '%f\n' |
			split -l 1 - "$corpus/name-" ;;
	fuzz_webparams)
		# seeds: query strings of the web UI's API calls
		cp tests/fuzz/webparams/*.txt "$corpus/" ;;
	fuzz_query)
		# seeds: times, durations and filters of each form
		local i=0 a
		# 9026-12-01: past 2262, overflowed the ns once (a regression input)
		for a in 2026-12-01 9026-12-01 2026-12-01T08:00Z 2026-12-01T08:00:00+01:00 1700000000.5 \
			1h 30d 1y all exe=/usr/bin/curl user=1000 rport=443 domain= country!=US; do
			printf '%s' "$a" > "$corpus/seed-$i"
			i=$((i + 1))
		done ;;
	*)
		# seeds: tests/fuzz/<name>/, with the regression inputs of
		# what fuzzing found (docs/reliability.md)
		cp "tests/fuzz/${target#fuzz_}"/* "$corpus/" ;;
	esac
	# FUZZ_RUNS: stop at that many executions too (the long runs of
	# docs/reliability.md: FUZZ_RUNS=10000000 and a generous FUZZ_SECONDS)
	"build/fuzz/$target" -max_total_time="${FUZZ_SECONDS:-20}" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} \
		-max_len=4096 -print_final_stats=1 "$corpus" 2>&1 |
		grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==|SUMMARY|.*ERROR)' 
	rc=${PIPESTATUS[0]}
	rm -rf "$corpus"
	[ "$rc" -eq 0 ] && echo "# fuzz: no crash" || echo "# fuzz: FAILED (rc $rc)"
	return "$rc"
}

run_fuzz() {
	local rc=0
	fuzz_one fuzz_record "record library" || rc=1
	fuzz_one fuzz_dns "DNS decoder of snitch-resolve" || rc=1
	fuzz_one fuzz_vt "VirusTotal answers of snitch-vt" || rc=1
	fuzz_one fuzz_geoip "address parser and lookup of lib/geoip" || rc=1
	fuzz_one fuzz_termsafe "terminal sanitiser (lib/termsafe.c)" || rc=1
	fuzz_one fuzz_top_model "snitch top's model of the live feed" || rc=1
	fuzz_one fuzz_metrics "records and label escaping of snitch-metrics" || rc=1
	fuzz_one fuzz_names "container name readers of snitch-resolve" || rc=1
	fuzz_one fuzz_webparams "query-string parser of snitch-web" || rc=1
	fuzz_one fuzz_tui_show "what snitch tui shows of the log's keys" || rc=1
	fuzz_one fuzz_query "time and filter parsers of the query core" || rc=1
	fuzz_one fuzz_config "configuration reader of snitch run (snitch.conf)" || rc=1
	fuzz_one fuzz_csv "rows and CSV log of snitch-store" || rc=1
	fuzz_one fuzz_spool "spool reader of snitch-remote" || rc=1
	fuzz_one fuzz_proc "command line and cgroup path snitch-resolve reads from /proc" || rc=1
	fuzz_one fuzz_hello "SNI and HTTP Host parser of snitch-resolve" || rc=1
	fuzz_one fuzz_quic "QUIC Initial reader of snitch-resolve" || rc=1
	return "$rc"
}

# Time limits: a test that runs past BATS_TEST_TIMEOUT fails (bats stops
# it); a suite that runs past SNITCH_TEST_TIMEOUT_S is stopped and fails
# loudly rather than hang. bats writes to a file that tail follows until
# bats ends: a process a test left behind may hold a pipe, not end the run.
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-300}
SUITE_TIMEOUT_S=${SNITCH_TEST_TIMEOUT_S:-1800}

run_bats() {
	local out rc pid tail final=0 files=("$@")
	[ ${#files[@]} -gt 0 ] || files=(tests/*.bats)
	echo "# bats: ${files[*]} (at most ${BATS_TEST_TIMEOUT} s a test, ${SUITE_TIMEOUT_S} s in all)"
	out=$(mktemp)
	timeout --kill-after=30 "$SUITE_TIMEOUT_S" bats --tap "${files[@]}" > "$out" 2>&1 &
	pid=$!
	tail -n +1 -f --pid="$pid" "$out" &
	tail=$!
	# timeout runs bats in a process group of its own, out of reach of ^C
	# (and a background command starts with SIGINT ignored): pass it on
	trap 'kill -TERM "$pid" 2>/dev/null' INT TERM
	while :; do
		rc=0
		wait "$pid" || rc=$?
		kill -0 "$pid" 2>/dev/null || break	# else a trap interrupted the wait
	done
	trap - INT TERM
	wait "$tail"
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "# FAIL: the tests did not end within $SUITE_TIMEOUT_S s (SNITCH_TEST_TIMEOUT_S) and were stopped:"
		echo "# a test hangs, or left a process running that holds bats's output (see stop_started in tests/helper.bash)"
		rc=1
		final=1		# not a test's failure: nothing to retry
	fi
	if grep -q '^ok .* # skip' "$out"; then
		if [ "${CI:-}" = true ]; then
			echo "# FAIL: tests were skipped under CI=true (a skip is a failure here):"
			grep '^ok .* # skip' "$out"
			rc=1
			final=1
		else
			echo "# note: some tests were skipped (they fail under CI=true):"
			grep '^ok .* # skip' "$out"
		fi
	fi
	# the closing count, in the plain form any reader of the log knows
	echo "bats: $(grep -c '^ok ' "$out") passed, $(grep -c '^not ok ' "$out") failed"
	if [ "$rc" -ne 0 ] && [ "${SNITCH_TEST_RETRY:-0}" = 1 ] && [ "$final" -eq 0 ]; then
		retry_failed "$out" && rc=0
	fi
	rm -f "$out"
	return "$rc"
}

# SNITCH_TEST_RETRY=1 (the sanitizers' pass in CI, where every tool runs
# two to five times slower): each test that failed is run once more,
# alone, and the run passes if every one of them then passes. The tests
# retried are named in the log. A sanitizer report or a seccomp refusal
# is never retried: those are checked over both runs (san_reports,
# seccomp_refusals), and a skipped test still fails under CI=true.
retry_failed() {
	local out=$1 file name re n=0 bad=0
	# TAP: "not ok N NAME", then "# (in test file FILE, line L)" (or
	# "# (from function ... in test file FILE, line L)") among its lines
	awk '
		/^not ok [0-9]+ / { sub(/^not ok [0-9]+ /, ""); name = $0; next }
		name != "" && match($0, /in test file [^,]+,/) {
			f = substr($0, RSTART + 13, RLENGTH - 14)
			print f "\t" name
			name = ""
		}
	' "$out" > "$out.failed"
	# every failed test must be named so, or none is retried
	if [ ! -s "$out.failed" ] || [ "$(wc -l < "$out.failed")" -ne "$(grep -c '^not ok ' "$out")" ]; then
		rm -f "$out.failed"
		return 1
	fi
	while IFS=$'\t' read -r file name; do
		n=$((n + 1))
		# the name as a regular expression that matches it alone
		re=$(printf '%s' "$name" | sed 's/[][\.*^$+?(){}|]/\\&/g')
		echo "# retry: $file: $name"
		if timeout --kill-after=30 "$(( BATS_TEST_TIMEOUT + 60 ))" bats --tap --filter "^$re\$" "$file" > "$out.retry" 2>&1 &&
		   grep -q '^ok ' "$out.retry" && ! grep -q '^not ok ' "$out.retry"; then
			echo "#   passed when run again alone"
		else
			sed 's/^/#   /' "$out.retry"
			bad=1
		fi
	done < "$out.failed"
	rm -f "$out.failed" "$out.retry"
	if [ "$bad" -eq 0 ]; then
		echo "# bats: the $n test(s) that failed passed when run again alone (SNITCH_TEST_RETRY=1)"
		return 0
	fi
	return 1
}

# Tools built with the sanitizers (make test SANITIZE=1): ASan's and
# LeakSanitizer's reports go to files, not to the stderr the tests read,
# and any report fails the run. (GCC's UBSan runtime writes to stderr
# whatever log_path says; it stops the tool at the first report, which
# fails the test where it happens.)
if [ -n "${SNITCH_SAN_REPORTS:-}" ]; then
	rm -rf "$SNITCH_SAN_REPORTS"
	mkdir -p "$SNITCH_SAN_REPORTS"
	chmod 1777 "$SNITCH_SAN_REPORTS"	# stages that run as another user
	export ASAN_OPTIONS="log_path=$SNITCH_SAN_REPORTS/asan:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
	export UBSAN_OPTIONS="log_path=$SNITCH_SAN_REPORTS/ubsan:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
	export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
fi

# Every stage's seccomp refusals (lib/privs.c) land in one file too: a
# system call a stage makes and its filter does not allow fails the run,
# whichever test's stderr it went to.
SECCOMP_DIR=$(mktemp -d)
trap 'rm -rf "$SECCOMP_DIR"' EXIT
export SNITCH_SECCOMP_LOG=$SECCOMP_DIR/refused.log

seccomp_refusals() {
	if [ -s "$SNITCH_SECCOMP_LOG" ]; then
		echo "# FAIL: the seccomp filters refused system calls (lib/privs.c; numbers: ausyscall or /usr/include/x86_64-linux-gnu/asm/unistd_64.h):"
		sort "$SNITCH_SECCOMP_LOG" | uniq -c | sed 's/^/#   /'
		return 1
	fi
	echo "# seccomp: no system call refused to any stage"
}

san_reports() {
	local f rc=0
	[ -n "${SNITCH_SAN_REPORTS:-}" ] || return 0
	for f in "$SNITCH_SAN_REPORTS"/*; do
		[ -s "$f" ] || continue
		echo "# FAIL: a sanitizer report ($f):"
		sed 's/^/#   /' "$f"
		rc=1
	done
	[ $rc -eq 0 ] && echo "# sanitizers: no report from the tools in $SNITCH_BIN"
	return $rc
}

versions
case $what in
unit) run_unit ;;
fuzz) run_fuzz ;;
bats)
	rc=0
	run_bats "$@" || rc=1
	seccomp_refusals || rc=1
	san_reports || rc=1
	exit $rc
	;;
all)
	rc=0
	run_unit || rc=1
	run_fuzz || rc=1
	run_bats "$@" || rc=1
	seccomp_refusals || rc=1
	san_reports || rc=1
	if [ $rc -eq 0 ]; then echo "# all tests passed"; else echo "# SOME TESTS FAILED"; fi
	exit $rc
	;;
*) echo "usage: scripts/test.sh all|unit|bats [BATS-FILE...]" >&2; exit 2 ;;
esac
