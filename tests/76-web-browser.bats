#!/usr/bin/env bats
# The web UI in a real browser: Debian's chromium, headless, driven over
# the DevTools protocol (tests/web/cdp.py). Each page renders, the numbers
# it shows equal SQL sums over the fixture, a filter changes them, the URL
# round-trips the state, and the console stays free of errors.
# Screenshots: test-artifacts/web/ (not committed).

load helper
load web

setup_file() {
	export FIXTURE_NOW=$NOW
	export FIXTURE=$BATS_FILE_TMPDIR/fixture/snitch.db
	web_fixture "$FIXTURE" "$FIXTURE_NOW"
}

setup() {
	need_cmd chromium python3 curl
	ARTIFACTS=$SNITCH_TOP/test-artifacts/web
	mkdir -p "$ARTIFACTS"
}

teardown() {
	stop_started ${WEB_PID:-}
}

browser() {
	run --separate-stderr timeout 120 python3 "$SNITCH_TOP/tests/web/browser.py" "$1" "$WEB_URL" "${2:-$FIXTURE}" "$ARTIFACTS"
	[ -z "$stderr" ] || echo "$stderr" >&2
	[ "$status" -eq 0 ]
}

@test "browser: the overview's cards, chart and table equal the SQL sums; metric and theme switch" {
	web_start --db "$FIXTURE"
	browser overview
	[ -s "$ARTIFACTS/overview-light.png" ]
	[ -s "$ARTIFACTS/overview-dark.png" ]
}

@test "browser: explore filters with a click, excludes with Alt-click, drills down; the sums follow" {
	web_start --db "$FIXTURE"
	browser explore
	[ -s "$ARTIFACTS/explore-drill.png" ]
}

@test "browser: executables lists every path with its sha256 values, the modified one marked" {
	web_start --db "$FIXTURE"
	browser executables
}

@test "browser: the URL holds the whole view state, and a link reproduces it" {
	web_start --db "$FIXTURE"
	browser roundtrip
}

@test "browser: a missing database shows a clear message on the page, and no script error" {
	web_start --db "$BATS_TEST_TMPDIR/none/snitch.db"
	browser errors "$FIXTURE"
}

@test "browser: with a token, the page is refused until the one-time URL signs the browser in" {
	token=0123456789abcdef0123456789abcdef
	root=
	[ "$(id -u)" -ne 0 ] || root=--allow-root
	WEB_ERR=$BATS_TEST_TMPDIR/err
	web_spawn "$WEB" $root --db "$FIXTURE" --listen 0.0.0.0:0 --token "$token"
	web_wait_port
	once=$(sed -n 's|.*/login?once=\([0-9a-f]*\) .*|\1|p' "$WEB_ERR")
	[ -n "$once" ]
	run --separate-stderr timeout 120 python3 "$SNITCH_TOP/tests/web/browser.py" signin \
		"$WEB_URL/login?once=$once" "$FIXTURE" "$ARTIFACTS"
	[ -z "$stderr" ] || echo "$stderr" >&2
	[ "$status" -eq 0 ]
}
