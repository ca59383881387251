#!/bin/sh
# The group whose members may read snitch's live feed (docs/operations.md),
# made when missing: `scripts/group.sh [--skip]`. make install and make run
# call it; --skip (make install with DESTDIR, a staged install) only says
# what a package's post-install step must do.
set -eu
if [ "${1:-}" = --skip ]; then
	echo "  GROUP    snitch: not made (DESTDIR); run 'groupadd --system snitch' on the target"
	exit 0
fi
if getent group snitch > /dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "group: no group 'snitch' and not root: the live feed will be root's alone" >&2
	exit 0
fi
echo "  GROUP    snitch (members read the live feed: usermod -aG snitch USER)"
groupadd --system snitch
