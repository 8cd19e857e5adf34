# shellcheck shell=bash
# Helpers for suites running inside the guest (sourced).

EMU=/mnt/src/tests/emu/dlemu
TOOLS=/mnt/src/tests/tools
EMU_SOCK=/run/dlemu.sock
OUT=${DLKMS_OUT:-/mnt/out}
EMU_PID=

say() { printf '%s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; exit 1; }
ok() { printf 'ok - %s\n' "$*"; }

emu() { "$EMU" ctl --socket "$EMU_SOCK" "$@"; }

# Keep a driver from binding the emulated adapter (udev autoloads by
# modalias). udevd's module loader caches the modprobe configuration, so
# tell it to read it again; "blacklist" covers alias loads, "install" the
# rest.
forbid_module() {
	printf 'blacklist %s\ninstall %s /bin/true\n' "$1" "$1" >>/etc/modprobe.d/dlkms-suite.conf
	udevadm control --reload 2>/dev/null || true
}

# pm_cycle: one system suspend and resume (s2idle) that stops once every
# device is suspended (pm_test=devices), one second asleep: the core's
# default of five is a busy wait (mdelay), and nothing here hangs on how
# long the sleep is
pm_cycle() {
	echo devices >/sys/power/pm_test || fail "no pm_test (PM_DEBUG)"
	[ ! -w /sys/module/suspend/parameters/pm_test_delay ] ||
		echo 1 >/sys/module/suspend/parameters/pm_test_delay
	echo freeze >/sys/power/state
}

# start_emu MONITOR [more dlemu args]: start the emulator, wait until it answers
#
# The emulator reads the bulk stream in requests of EMU_READ_LEN bytes:
# 16 KiB by default, 32 packets a kernel round trip, which dlkms's
# transfers allow (each ends with a short packet). A suite that runs
# in-tree udl sets 512, one packet: the end of udl's transfers of whole
# packets would wait in a half-full request (tests/emu/dlemu.c, read_len).
EMU_READ_LEN=${EMU_READ_LEN:-16384}
start_emu() {
	local i
	"$EMU" --socket "$EMU_SOCK" --read-len "$EMU_READ_LEN" --monitor "$@" >>/tmp/dlemu.log 2>&1 &
	EMU_PID=$!
	for i in $(seq 1 200); do
		emu ping >/dev/null 2>&1 && return 0
		kill -0 "$EMU_PID" 2>/dev/null || { cat /tmp/dlemu.log; fail "dlemu exited during start"; }
		sleep 0.1
	done
	cat /tmp/dlemu.log
	fail "dlemu did not become ready"
}

# What the emulator saw wrong decides the suite as much as its own checks:
# before the emulator stops, its counters since it started (kept across
# reset-stats and replug) must show no malformed command, no channel key
# other than a null one, no command dropped for want of a channel (a
# real adapter would have shown nothing) and no copy whose source and
# destination overlap (undefined on hardware). A suite that provokes one of
# them on purpose says why in the variable that lets it through:
#   EMU_EXPECT_MALFORMED  malformed commands
#   EMU_EXPECT_BAD_KEY    channel-select requests with another key
#   EMU_EXPECT_IGNORED    commands dropped with no null channel selected
#   EMU_EXPECT_COPY_OVERLAP  copies with overlapping ranges
# emu_verdict prints one line per counter and returns 1 on any FAIL.
emu_verdict() {
	local st rc=0 c n v
	st=$(emu stats 2>&1) || { say "FAIL: emulator: no stats before it stopped: $st"; return 1; }
	for c in malformed:MALFORMED ctrl_key_bad:BAD_KEY ignored_no_channel:IGNORED \
		 copy_overlap:COPY_OVERLAP; do
		n=$(awk -v k="total_${c%%:*}" '$1 == k { print $2 }' <<<"$st")
		v=EMU_EXPECT_${c#*:}
		if [ -z "$n" ]; then
			say "FAIL: emulator: no total_${c%%:*} in its stats"
			rc=1
		elif [ "$n" != 0 ] && [ -z "${!v:-}" ]; then
			say "FAIL: emulator: ${c%%:*} $n during the suite (EMU_EXPECT_${c#*:} not set)"
			rc=1
		elif [ "$n" != 0 ]; then
			ok "emulator: ${c%%:*} $n, as the suite expects: ${!v}"
		fi
	done
	[ "$rc" = 1 ] || ok "emulator: no malformed command, bad key, dropped command or overlapping copy beyond those expected"
	if [ "$rc" != 0 ]; then
		grep -E 'malformed|overlapping|yank|replug|configured|disabled|unbound' /tmp/dlemu.log |
			tail -n 20 | sed 's/^/# /'
		cp /tmp/dlemu.log "$OUT/dlemu.log" 2>/dev/null
	fi
	return "$rc"
}

# stop_emu: the verdict, then the emulator stops; a bad verdict ends the
# suite with status 1, also from the EXIT trap (exit there sets the status)
stop_emu() {
	local rc=0
	[ -n "$EMU_PID" ] || return 0
	emu_verdict || rc=1
	kill "$EMU_PID" 2>/dev/null
	wait "$EMU_PID" 2>/dev/null
	EMU_PID=
	[ "$rc" = 0 ] || exit 1
}

# usb_iface_of VENDOR: sysfs path of the first interface of a 17e9 device
usb_iface() {
	local d
	for d in /sys/bus/usb/devices/*:*; do
		[ -e "$d/../idVendor" ] || continue
		[ "$(cat "$d/../idVendor")" = 17e9 ] && { echo "$d"; return 0; }
	done
	return 1
}

# wait_usb_bound DRIVER [TIMEOUT]: wait until the adapter's interface is bound to DRIVER
wait_usb_bound() {
	local drv=$1 t=${2:-30} i d
	for i in $(seq 1 $((t * 10))); do
		d=$(usb_iface) && [ -e "$d/driver" ] &&
			[ "$(basename "$(readlink "$d/driver")")" = "$drv" ] && return 0
		sleep 0.1
	done
	return 1
}

# settle_frame FILE: the emulator's decoded frame into FILE, once two reads
# a second apart agree (at most a minute; EMU_SOCK picks the emulator)
settle_frame() {
	local i
	for i in $(seq 1 60); do
		emu frame-raw /tmp/settle-a.raw >/dev/null || return 1
		sleep 1
		emu frame-raw "$1" >/dev/null || return 1
		cmp -s /tmp/settle-a.raw "$1" && return 0
	done
	return 1
}

# card_of DRIVER: /dev/dri/cardN whose DRM driver is DRIVER
card_of() {
	local c
	for c in /sys/class/drm/card[0-9]*; do
		case "$c" in *-*) continue ;; esac
		[ -e "$c/device/driver" ] || continue
		if [ "$(basename "$(readlink "$c/device/driver")")" = "$1" ]; then
			echo "/dev/dri/$(basename "$c")"
			return 0
		fi
	done
	return 1
}

wait_card() {
	local t=${2:-30} i c
	for i in $(seq 1 $((t * 10))); do
		c=$(card_of "$1") && [ -c "$c" ] && { echo "$c"; return 0; }
		sleep 0.1
	done
	return 1
}

# wait_mode WxH [TIMEOUT]: wait until the emulator decodes that mode (by
# the clock: under load one emu call can take a second)
wait_mode() {
	local end=$(($(date +%s) + ${2:-30}))
	while [ "$(date +%s)" -lt "$end" ]; do
		emu mode 2>/dev/null | grep -q "^$1 " && return 0
		sleep 0.1
	done
	emu mode
	return 1
}

# load_dlkms [PARAM=VALUE...]: load the dkms-built module after its dependencies (usbcore,
# drm, ...). insmod after modprobe of the deps, because depmod -a over the
# guest's module tree costs ~18 s under TCG on every boot.
load_dlkms() {
	local deps
	[ -f "$DLKMS_KO" ] || fail "no dkms-built module at $DLKMS_KO"
	deps=$(modinfo -F depends "$DLKMS_KO" | tr ',' ' ')
	[ -z "$deps" ] || modprobe -a $deps || fail "modprobe $deps"
	insmod "$DLKMS_KO" "$@" || fail "insmod $DLKMS_KO $*"
}

# card_opens CARD: fail (without waiting for it) if open(CARD) does not return
# within 20 s -- a driver lock held forever leaves the opener in D state
card_opens() {
	local p i
	python3 -c "import os, sys; os.close(os.open(sys.argv[1], os.O_RDWR))" "$1" &
	p=$!
	for i in $(seq 1 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$p" 2>/dev/null; then
		dmesg | grep -A30 -E "BUG|Oops" | head -n 40
		fail "open($1) did not return within 20 s ($(cat /proc/$p/wchan 2>/dev/null))"
	fi
	wait "$p" || fail "open($1) failed"
}

# The line dlkms logs when the last user of a device is gone (its final
# release); released counts them, refcnt is the module's reference count.
RELEASED="released: the last user of the device is gone"
released() { dmesg | grep -c -- "$RELEASED"; }
refcnt() { cat /sys/module/dlkms/refcnt 2>/dev/null || echo none; }

# wait_for SECONDS CMD...: poll CMD every 0.1 s for that long (each emu
# call costs ~0.1 s under TCG, so by the clock, not by the count)
wait_for() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	while [ "$(date +%s%N)" -lt "$end" ]; do "$@" && return 0; sleep 0.1; done
	"$@"
}

# frame_pixels RRGGBB: how many pixels of the frame the emulator decoded
# have that colour (the raw frame is XRGB8888, little-endian; counted in C
# by Counter, not pixel by pixel in Python)
frame_pixels() {
	emu frame-raw /tmp/frame-pixels.raw >/dev/null || { echo 0; return; }
	python3 -c '
import collections, sys
px = collections.Counter(memoryview(open(sys.argv[1], "rb").read()).cast("I"))
want = int(sys.argv[2], 16)
print(sum(n for p, n in px.items() if p & 0xffffff == want))' /tmp/frame-pixels.raw "$1"
}

# emu_stat KEY: a counter of the emulator's stats (emu stats)
emu_stat() { emu stats | awk -v k="$1" '$1 == k { print $2 }'; }

# drv_stat CARD KEY: a counter of dlkms's debugfs dlkms_stats for CARD
drv_stat() {
	awk -v k="$2" '$1 == k { print $2 }' \
		"/sys/kernel/debug/dri/$((16#$(stat -c %T "$1")))/dlkms_stats" 2>/dev/null
}

# hold_card CARD [map]: a background process holds CARD open, its pid in
# HOLDER and the card's minor in HELD_MINOR. It drops DRM master (the first
# opener gets it; the suite's own tools, modetest and fbcon need to be
# master, and a master holder would make other clients' GETCONNECTOR read
# stale modes), and with "map" also maps a dumb buffer it wrote "held"
# into. Returns 1, after printing what the holder said, if it could not.
# let_go: SIGTERM the holder; true if its mapping still read "held", it
# closed the fd and exited 0. The EXIT trap lets go of a holder left over.
HOLDER='' HELD_MINOR='' HELD_OUT=/tmp/holder.out
hold_card() {
	local i
	rm -f "$HELD_OUT"
	python3 -c '
import fcntl, mmap, os, signal, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.ioctl(fd, 0x641f)  # DRM_IOCTL_DROP_MASTER
except OSError:
    pass  # another opener was first: not master anyway
m = None
if sys.argv[2] == "map":
    # CREATE_DUMB 64x64x32, MAP_DUMB, mmap
    cd = bytearray(struct.pack("IIIIIIQ", 64, 64, 32, 0, 0, 0, 0))
    fcntl.ioctl(fd, 0xc02064b2, cd)
    md = bytearray(struct.pack("IIQ", struct.unpack_from("I", cd, 16)[0], 0, 0))
    fcntl.ioctl(fd, 0xc01064b3, md)
    m = mmap.mmap(fd, 16384, offset=struct.unpack_from("Q", md, 8)[0])
    m[0:4] = b"held"
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
print("held %d" % os.minor(os.fstat(fd).st_rdev), flush=True)
signal.sigwait([signal.SIGTERM])
if m is not None:
    if m[0:4] != b"held":
        sys.exit("the mapping reads %r, not held" % bytes(m[0:4]))
    m.close()
os.close(fd)
print("closed", flush=True)' "$1" "${2:-}" >"$HELD_OUT" 2>&1 &
	HOLDER=$!
	for i in $(seq 1 100); do
		grep -q '^held' "$HELD_OUT" && break
		kill -0 "$HOLDER" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q '^held' "$HELD_OUT"; then
		cat "$HELD_OUT"
		kill "$HOLDER" 2>/dev/null
		HOLDER=
		return 1
	fi
	HELD_MINOR=$(awk '/^held/ { print $2 }' "$HELD_OUT")
}
let_go() {
	local rc=0
	[ -n "$HOLDER" ] || return 1
	kill -TERM "$HOLDER" 2>/dev/null
	wait "$HOLDER" || rc=$?
	HOLDER=
	[ "$rc" = 0 ] && grep -q '^closed' "$HELD_OUT" && return 0
	printf '# holder: exit %s: %s\n' "$rc" "$(tr '\n' ' ' <"$HELD_OUT")"
	return 1
}

cleanup_suite() {
	[ -z "$HOLDER" ] || let_go >/dev/null
	stop_emu
}
trap cleanup_suite EXIT

# For suites whose checks a "break" argument inverts (BREAK non-empty), to
# show each can go red: bad WHAT counts a failure in NBAD; check TRUE|FALSE
# WHAT is one assertion; is A B and yes_if CMD... print true or false.
# A break run stops at its first red check: make check runs every suite's
# break mode and needs it red, not the minutes an inverted wait for each
# check costs; BREAK_ALL=1 runs on and shows every check red.
NBAD=0
bad() {
	printf 'FAIL: %s\n' "$*"
	NBAD=$((NBAD + 1))
	if [ -n "${BREAK:-}" ] && [ -z "${BREAK_ALL:-}" ]; then
		say "# break run: stopped at its first red check (BREAK_ALL=1 runs on)"
		exit 1
	fi
}
check() {
	local good=$1
	shift
	if [ -n "${BREAK:-}" ]; then
		[ "$good" = true ] && good=false || good=true
		set -- "[break] $*"
	fi
	if [ "$good" = true ]; then ok "$*"; else bad "$*"; fi
}
is() { if [ "$1" = "$2" ]; then echo true; else echo false; fi; }
yes_if() { if "$@"; then echo true; else echo false; fi; }
