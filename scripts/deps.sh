#!/bin/sh
# Install the Debian packages listed in scripts/packages.txt that are missing.
# Idempotent and quiet when everything is present; needs root (or sudo) only
# when something has to be installed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
missing=""
for p in $(grep -v '^#' "$here/packages.txt" | tr -s ' \n' '\n'); do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case $st in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "deps: missing packages:$missing" >&2
		echo "deps: run 'make deps' as root, or: apt-get install$missing" >&2
		exit 1
	fi
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
# Debian's packages start their daemons on install where an init system runs;
# policy-rc.d keeps nsd/knot/unbound from grabbing port 53 on a host with one.
prc=/usr/sbin/policy-rc.d
made_prc=0
if [ ! -e $prc ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee $prc >/dev/null
	$SUDO chmod 755 $prc
	made_prc=1
fi
rc=0
$SUDO apt-get update -q >/dev/null || rc=$?
[ $rc -eq 0 ] && { $SUDO apt-get install -y -q --no-install-recommends $missing || rc=$?; }
[ $made_prc = 1 ] && $SUDO rm -f $prc
[ $rc -eq 0 ] || { echo "deps: apt-get failed ($rc)" >&2; exit 1; }
