#!/bin/sh
# The user the stages run as and the group whose members may read snitch's
# log and live feed (docs/security.md, docs/operations.md), both 'snitch',
# made when missing: `scripts/group.sh [--skip]`. make install and make run
# call it; --skip (make install with DESTDIR, a staged install) only says
# what a package's post-install step must do.
set -eu
make_user="useradd --system --gid snitch --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --comment 'snitch network monitor' snitch"
if [ "${1:-}" = --skip ]; then
	echo "  USER     snitch: not made (DESTDIR); on the target run 'groupadd --system snitch' and '$make_user'"
	exit 0
fi
if getent group snitch > /dev/null 2>&1 && getent passwd snitch > /dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "group: no user or group 'snitch' and not root: the stages will run as root, each with only its capabilities" >&2
	exit 0
fi
if ! getent group snitch > /dev/null 2>&1; then
	echo "  GROUP    snitch (members read the log and the live feed: usermod -aG snitch USER)"
	groupadd --system snitch
fi
if ! getent passwd snitch > /dev/null 2>&1; then
	echo "  USER     snitch (the stages run as it, docs/security.md)"
	eval "$make_user"
fi
