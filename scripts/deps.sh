#!/bin/sh
# Install the Debian packages snitch needs: `scripts/deps.sh [--list] run|test`.
#   run    what building and running need (make run, make install)
#   test   that and what the tests need (make test, make deps): database
#          servers, an X server and a notification daemon, traffic tools...
#   --list print the packages of that set, one a line, and install nothing
# Idempotent: when everything is present it only asks dpkg, and exits.
set -eu

# Build: compiler, BPF tool chain, libraries (found through pkg-config),
# help2man for the manual pages, Chart.js (compiled into snitch-web). (The
# country database is no Debian package: scripts/geoip.sh installs it,
# from npm.)
BUILD="make gcc libc6-dev pkg-config clang llvm bpftool libbpf-dev libelf-dev
zlib1g-dev libssl-dev libcurl4-openssl-dev libc-ares-dev libsqlite3-dev libpq-dev libmariadb-dev
liburing-dev musl-tools libsystemd-dev uthash-dev libmaxminddb-dev help2man libncurses-dev
libmicrohttpd-dev libjs-chart.js libseccomp-dev"
# Run: what the tools call at run time.
RUN="ca-certificates sqlite3"
# Test: test runner, JSON checks, users and namespaces, file systems,
# database servers, a desktop (X server, session bus, notification daemon),
# traffic generators, systemd-analyze for the unit, man to read the pages
# make install writes, the sanitizer runtime for clang's fuzzer,
# mmdblookup to check snitch's countries against, tmux to drive snitch top and tui,
# a real Prometheus (and promtool) and curl for snitch-metrics, podman and
# runc for a real container (crun refuses hybrid cgroups), mmdebstrap for
# make image, kubectl (kubernetes-client) and python3 to check the
# Kubernetes manifests, a headless browser for the web UI's tests, gnuplot for bench/soak.sh's
# plot of memory over time, capsh (libcap2-bin) to name capabilities, aha
# (terminal colours to HTML) for the screenshots of snitch top and tui,
# libfaketime (faketime) to step snitch-store's wall clock without the machine's.
# gdb: a debugger attached to a stage must not end it (tests/27-ctrl-c.bats).
TEST="bats jq libclang-rt-dev coreutils util-linux procps iproute2 btrfs-progs e2fsprogs
openssl iperf3 sockperf postgresql mariadb-server xvfb dbus-daemon dbus-bin dbus-x11 dunst
systemd man-db mmdb-bin tmux prometheus curl podman runc mmdebstrap kubernetes-client python3
time chromium gnuplot-nox libcap2-bin aha faketime gdb"

usage() {
	echo "usage: scripts/deps.sh [--list] run|test" >&2
	exit 2
}

list=false
if [ "${1:-}" = --list ]; then
	list=true
	shift
fi
case ${1:-} in
run) PKGS=$(printf '%s\n' $BUILD $RUN | sort -u) ;;
test) PKGS=$(printf '%s\n' $BUILD $RUN $TEST | sort -u) ;;
*) usage ;;
esac
[ $# -eq 1 ] || usage
if $list; then
	printf '%s\n' $PKGS
	exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps: this is not a Debian-based system; install the equivalents of:" >&2
	echo "  $(echo $PKGS)" >&2
	exit 1
fi

installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' $PKGS 2>/dev/null |
	awk '$2 == "installed" { print $1 }')
missing=$(printf '%s\n' $PKGS | grep -vxF -e "$installed" || true)
[ -n "$installed" ] || missing=$PKGS
# a kubectl from another package (Google's "kubectl") serves as well, and
# Debian's would collide with its /usr/bin/kubectl
if command -v kubectl > /dev/null 2>&1; then
	missing=$(printf '%s\n' $missing | grep -vx kubernetes-client || true)
fi
if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages: $(echo $missing)" >&2
	echo "deps: run 'sudo make $1' to install them" >&2
	exit 1
fi

echo "deps: installing $(echo $missing)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
