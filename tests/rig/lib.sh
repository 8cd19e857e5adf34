# shellcheck shell=bash
# Shared settings of the test rig. Sourced, never run.

RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$RIG_DIR/../.." && pwd)

# Heavy artifacts (release roots, kernels, the guest image) live outside the
# clone so every clone on this machine shares them; each is keyed by a hash of
# what it is made from, so a changed recipe or a new package version makes a
# new entry instead of silently reusing a stale one.
CACHE=${DLKMS_CACHE:-/var/cache/dlkms}

# The kernels we support and the Debian release whose compiler and headers
# build each one, exactly as a user of that release has them. KERNELS is
# what a run covers (narrowed with DLKMS_KERNELS); the guest image always
# carries all of them, so a narrowed run reuses the cached image.
ALL_KERNELS="6.1 6.12 7.2"
KERNELS=${DLKMS_KERNELS:-$ALL_KERNELS}

# The debug kernel (tests/rig/prepare debug-kernel): Debian's source of the
# stock series DEBUG_BASE, built by us with KASAN, lockdep, kmemleak and
# UBSAN. It is a series like the others for the rig (prepare kernel,
# build-module, run-guest, check --kernels) but not in ALL_KERNELS: the
# guest image does not carry its modules (run-guest shares them), and it
# runs only where asked for.
DEBUG_BASE=7.2
DEBUG_SERIES=$DEBUG_BASE-debug
is_debug_series() { [ "$1" = "$DEBUG_SERIES" ]; }
# how much longer a suite may take on it than on the stock kernels
# (tests/rig/check's time limits): under TCG, with the lead's two guests
# beside it, dlkms-probe took 245 s against 20 s on the stock 7.2, and
# dlkms-unplug more than 1260 s against 130 s (2026-12-07)
DEBUG_SLOWDOWN=10

release_of() {
	case "$1" in
	6.1) echo bookworm ;;
	6.12) echo trixie ;;
	7.2) echo sid ;;
	"$DEBUG_SERIES") release_of "$DEBUG_BASE" ;;
	*) echo "unknown kernel series $1" >&2; return 1 ;;
	esac
}

log() { printf '[rig] %s\n' "$*" >&2; }
die() { printf '[rig] error: %s\n' "$*" >&2; exit 1; }

# The Debian archive this machine already uses. We never name a host
# ourselves: the address comes from the machine's own apt sources.
debian_mirror() {
	local uri
	uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
	if [ -z "$uri" ]; then
		uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
			/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)
	fi
	[ -n "$uri" ] || die "no Debian archive found in the apt sources"
	echo "$uri"
}

# Options that make mmdebstrap and apt tolerate the archive snapshot's
# expired Release files.
APT_SNAPSHOT_OPTS=(--aptopt='Acquire::Check-Valid-Until "false"' --aptopt='Acquire::Check-Date "false"')

# hash of the given strings and files, for cache keys
content_key() {
	local item
	for item in "$@"; do
		if [ -f "$item" ]; then
			# the content only: a clone elsewhere is the same recipe
			sha256sum <"$item"
		else
			printf '%s\n' "$item"
		fi
	done | sha256sum | cut -c1-16
}
