#!/bin/bash
# A dock's sleep with the adapter attached: system suspend and resume
# (s2idle, pm_test=devices: every device's callbacks, no real sleep), a USB
# reset of the adapter (USBDEVFS_RESET, as usbreset does) and a suspend
# that the USB core resumes with a reset (the RESET_RESUME quirk: power was
# lost). After each, it must still be the same DRM device -- no unplug, no
# new probe, the same minor, a client's fd and mapping held across -- and
# the emulated adapter, which loses its memory, registers and channel at
# the suspend (sleep-loses on) or the reset, must show the picture from
# before (modetest's, set before the cycle) again pixel for pixel. Then commits and their events still run at
# the refresh (flipcheck).
#   dlkms-suspend.sh [break]   "break" turns every check against the truth
# rig-sleeps: yes
# rig-timeout: 400
. tests/suites/lib.sh
BREAK=${1:-}
forbid_module udl
load_dlkms

start_emu vga768
card=$(wait_card dlkms 30) || fail "no dlkms card"
wait_mode 1024x768 60 || fail "fbcon did not light 1024x768"
ok "dlkms bound, $card, fbcon at 1024x768"

hold_card "$card" map || fail "could not hold $card"
ok "a client holds $card (minor $HELD_MINOR) with a mapped buffer"

# A still picture to hold against: modetest's pattern, set by a master that
# stays. Not fbcon's: the system suspend switches the console to another
# VT, whose redraw is then in flight -- the adapter would take it, but the
# emulator, frozen with the rest of userspace, reads a packet of it only
# after the power loss it models, and shows it over the picture resent.
MT=
start_picture() {
	local conn
	conn=$(modetest -M dlkms -c 2>/dev/null | awk '$3 == "connected" { print $1; exit }')
	[ -n "$conn" ] || fail "modetest sees no connected connector"
	rm -f /tmp/mt.in
	mkfifo /tmp/mt.in
	sleep 100000 >/tmp/mt.in &
	MT_KEEP=$!
	stdbuf -oL modetest -M dlkms -s "$conn:1024x768" </tmp/mt.in >/tmp/mt.out 2>&1 &
	MT=$!
	wait_for 30 grep -q '^setting mode' /tmp/mt.out || { cat /tmp/mt.out; fail "modetest set no mode"; }
}
stop_picture() {
	[ -n "$MT" ] || return 0
	kill "$MT" "$MT_KEEP" 2>/dev/null
	wait "$MT" "$MT_KEEP" 2>/dev/null
	MT=
}
start_picture
trap 'stop_picture; cleanup_suite' EXIT

# settle FILE: the decoded frame, once two reads a second apart agree
settle() {
	local i
	for i in $(seq 1 60); do
		emu frame-raw /tmp/settle-a.raw >/dev/null || return 1
		sleep 1
		emu frame-raw "$1" >/dev/null || return 1
		cmp -s /tmp/settle-a.raw "$1" && return 0
	done
	return 1
}
settle /tmp/ref.raw || fail "the frame did not settle before the first cycle"
black=$(frame_pixels 000000)
[ "$black" -lt 700000 ] || fail "no picture to hold against ($black of 786432 pixels black)"
ok "reference frame taken (modetest's pattern, $black pixels black)"

# same_frame: the decoded frame equals the reference
same_frame() { emu frame-raw /tmp/now.raw >/dev/null && cmp -s /tmp/ref.raw /tmp/now.raw; }

emu_stat() { emu stats | awk -v k="$1" '$1 == k { print $2 }'; }

# after_wake LABEL: the checks after every sleep or reset
after_wake() {
	local label=$1 unplugs=$2 probes=$3 c
	check "$(is "$(dmesg | grep -c 'adapter unplugged')" "$unplugs")" \
		"$label: no unplug of the adapter"
	check "$(is "$(dmesg | grep -c 'Initialized dlkms')" "$probes")" \
		"$label: no new DRM device"
	c=$(card_of dlkms)
	check "$(is "$c" "$card")" "$label: still $card (now ${c:-none})"
	check "$(yes_if kill -0 "$HOLDER")" "$label: the client holding minor $HELD_MINOR is still there"
	check "$(yes_if wait_for 90 same_frame)" \
		"$label: the adapter shows the picture from before again, pixel for pixel"
	if ! same_frame; then
		cp /tmp/now.raw "$OUT/$label-frame.raw" 2>/dev/null
		say "# $label: $(cmp /tmp/ref.raw /tmp/now.raw 2>&1 | head -n 1)"
		cp /tmp/dlemu.log "$OUT/dlemu-$label.log" 2>/dev/null
	fi
}

pm_cycle() {
	echo devices >/sys/power/pm_test || fail "no pm_test (PM_DEBUG)"
	echo freeze >/sys/power/state
}

usb_reset() {
	local dev
	dev=$(usb_iface)/..
	python3 -c '
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
fcntl.ioctl(fd, 0x5514)  # USBDEVFS_RESET
os.close(fd)' "/dev/bus/usb/$(printf %03d "$(cat "$dev/busnum")")/$(printf %03d "$(cat "$dev/devnum")")"
}

unplugs=$(dmesg | grep -c 'adapter unplugged')
probes=$(dmesg | grep -c 'Initialized dlkms')

# 1. system suspend and resume; the adapter loses its power meanwhile
emu sleep-loses on >/dev/null || fail "emulator: sleep-loses"
s0=$(emu_stat suspends)
pm_cycle || fail "the system suspend failed: $?"
say "# suspend: $(dmesg | grep -E 'PM: suspend (entry|exit)' | tail -n 2 | tr '\n' ' ')"
check "$(is "$(emu_stat suspends)" "$((s0 + 1))")" "suspend: the adapter saw a USB suspend"
after_wake suspend "$unplugs" "$probes"

# 2. a USB reset from userspace: pre_reset / post_reset
c0=$(emu_stat connects)
usb_reset || fail "USBDEVFS_RESET failed"
check "$(is "$(emu_stat connects)" "$((c0 + 1))")" "reset: the adapter was reset and configured again"
after_wake reset "$unplugs" "$probes"

# 3. a resume that resets the device (power lost, RESET_RESUME quirk):
# the quirk is read at enumeration, so the adapter is plugged in again
# under it; that is a yank (the holder's device) and a new device.
stop_picture
let_go || bad "the client's mapping or fd did not survive"
echo "17e9:$(cat "$(usb_iface)/../idProduct"):b" >/sys/module/usbcore/parameters/quirks
emu yank >/dev/null && emu replug >/dev/null || fail "emulator: replug"
for i in $(seq 1 100); do c=$(card_of dlkms) && [ "$c" != "$card" ] && break; sleep 0.1; done
card=$(wait_card dlkms 30) || fail "no dlkms card after the replug"
wait_mode 1024x768 60 || fail "fbcon did not light the replugged adapter"
hold_card "$card" map || fail "could not hold $card"
start_picture
settle /tmp/ref.raw || fail "the frame did not settle after the replug"
unplugs=$(dmesg | grep -c 'adapter unplugged')
probes=$(dmesg | grep -c 'Initialized dlkms')
resets=$(dmesg | grep -c 'reset high-speed USB device')
pm_cycle || fail "the system suspend failed: $?"
check "$(yes_if test "$(dmesg | grep -c 'reset high-speed USB device')" -gt "$resets")" \
	"reset-resume: the USB core reset the adapter at resume"
after_wake reset-resume "$unplugs" "$probes"
echo >/sys/module/usbcore/parameters/quirks

# 4. commits and events after all that, on the same device
stop_picture
out=/tmp/flipcheck.log
"$TOOLS/flipcheck" --driver dlkms --mode 1024x768 --count 30 >"$out" 2>&1
rc=$?
cp "$out" "$OUT/" 2>/dev/null
check "$(is "$rc" 0)" "after the wake-ups: flips, commits and vblank waits paced at the refresh ($(grep -c '^ok' "$out") ok, $(grep -c '^not ok' "$out") not ok)"

let_go || bad "the client's mapping or fd did not survive"
stop_emu
[ "$NBAD" = 0 ] || fail "$NBAD checks failed"
say "dlkms-suspend: ok"
