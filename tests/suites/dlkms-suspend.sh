#!/bin/bash
# A dock's sleep with the adapter attached: system suspend and resume
# (s2idle, pm_test=devices: every device's callbacks, no real sleep), a USB
# reset of the adapter (USBDEVFS_RESET, as usbreset does) and a suspend
# that the USB core resumes with a reset (the RESET_RESUME quirk: power was
# lost). After each, it must still be the same DRM device -- no unplug, no
# new probe, the same minor, a client's fd and mapping held across -- and
# the emulated adapter, which loses its memory, registers and channel at
# the suspend (sleep-loses on) or the reset, must show the picture from
# before again pixel for pixel. Then commits and their events still run at
# the refresh (flipcheck).
#   dlkms-suspend.sh [break]   "break" wants the picture not to come back
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

# A still picture to hold against: fbcon's text, no blinking cursor.
echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null
printf '\033[2J\033[Hdlkms suspend: this text must come back after every wake-up\n' >/dev/tty1
for i in $(seq 1 40); do printf 'line %02d %s\n' "$i" "$(seq -s ' ' "$i" 60 | cut -c 1-90)"; done >/dev/tty1

hold_card "$card" map || fail "could not hold $card"
ok "a client holds $card (minor $HELD_MINOR) with a mapped buffer"

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
[ "$(frame_pixels a8a8a8)" -gt 1000 ] || fail "no fbcon text in the frame to hold against"
ok "reference frame taken ($(frame_pixels a8a8a8) text pixels)"

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
		say "# $label: $(cmp /tmp/ref.raw /tmp/now.raw | head -n 1)"
	fi
}

pm_cycle() {
	echo devices >/sys/power/pm_test || fail "no pm_test (PM_DEBUG)"
	echo freeze >/sys/power/state
}

usb_reset() {
	local dev
	dev=$(dirname "$(usb_iface)")
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
let_go || bad "the client's mapping or fd did not survive"
echo "17e9:$(cat "$(dirname "$(usb_iface)")/idProduct"):b" >/sys/module/usbcore/parameters/quirks
emu yank >/dev/null && emu replug >/dev/null || fail "emulator: replug"
for i in $(seq 1 100); do c=$(card_of dlkms) && [ "$c" != "$card" ] && break; sleep 0.1; done
card=$(wait_card dlkms 30) || fail "no dlkms card after the replug"
wait_mode 1024x768 60 || fail "fbcon did not light the replugged adapter"
hold_card "$card" map || fail "could not hold $card"
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
out=/tmp/flipcheck.log
"$TOOLS/flipcheck" --driver dlkms --mode 1024x768 --count 30 >"$out" 2>&1
rc=$?
cp "$out" "$OUT/" 2>/dev/null
check "$(is "$rc" 0)" "after the wake-ups: flips, commits and vblank waits paced at the refresh ($(grep -c '^ok' "$out") ok, $(grep -c '^not ok' "$out") not ok)"

let_go || bad "the client's mapping or fd did not survive"
stop_emu
[ "$NBAD" = 0 ] || fail "$NBAD checks failed"
say "dlkms-suspend: ok"
