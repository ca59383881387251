#!/bin/sh
# make image: an OCI image of snitch built from Debian's packages only.
#   scripts/image.sh [TAG]        default TAG: localhost/snitch:$(VERSION)
# mmdebstrap makes a minimal Debian 12 root (the essential packages, the
# shared libraries the tools link, CA certificates; no documentation),
# `make install DESTDIR=root PREFIX=/usr` puts snitch in it, and podman
# imports the tree as an image. Nothing is pulled from an image registry:
# the only network source is the Debian mirror this machine's apt uses
# ($SNITCH_IMAGE_MIRROR overrides it). The root is kept in build/image/.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
version=$(sed -n 's/^VERSION := //p' Makefile)
tag=${1:-localhost/snitch:$version}
out=$top/build/image
for c in mmdebstrap podman; do
	command -v "$c" > /dev/null || { echo "image: $c is missing: run 'sudo make deps' (Debian package $c)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "image: run as root (mmdebstrap and podman import)" >&2; exit 1; }
mirror=${SNITCH_IMAGE_MIRROR:-$(awk '/^URIs:/ && !/security/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null)}
[ -n "$mirror" ] || mirror=$(awk '/^deb / && !/security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")

make -s all
# the Debian packages of the libraries the tools link (as built here)
pkgs=$(for b in bin/*; do ldd "$b"; done | awk '$3 ~ /^\// { print $3 }' | sort -u |
	while read -r lib; do dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null; done |
	cut -d: -f1 | sort -u | tr '\n' ',')
[ -n "$pkgs" ] || { echo "image: cannot tell which packages hold the tools' libraries (dpkg -S)" >&2; exit 1; }
mkdir -p "$out"
echo "image: a $suite root from $mirror with ${pkgs}ca-certificates"
mmdebstrap --quiet --variant=essential --include="${pkgs}ca-certificates" \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
	--dpkgopt='path-include=/usr/share/doc/snitch/*' \
	--customize-hook="make -s -C '$top' install DESTDIR=\"\$1\" PREFIX=/usr SYSCONFDIR=/etc" \
	--customize-hook='mkdir -p "$1/var/lib/snitch" "$1/var/log/snitch" "$1/var/cache/snitch" "$1/run/snitch"' \
	--customize-hook='rm -rf "$1/var/cache/apt" "$1/var/lib/apt/lists" "$1/usr/share/man"' \
	"$suite" "$out/root.tar" "$mirror"
podman import -q \
	--change 'ENTRYPOINT ["/usr/bin/snitch"]' --change 'CMD ["run"]' \
	--change "LABEL org.opencontainers.image.title=snitch org.opencontainers.image.version=$version" \
	"$out/root.tar" "$tag" > /dev/null
size=$(podman image inspect --format '{{.Size}}' "$tag")
echo "image: $tag, $(awk -v s="$size" 'BEGIN { printf "%.1f MB", s / 1e6 }') ($(du -m "$out/root.tar" | cut -f1) MB of root tar in $out)"
