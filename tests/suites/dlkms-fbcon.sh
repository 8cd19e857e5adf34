#!/bin/bash
# The fbdev console on dlkms: text written to the VT shows up in the frame
# the emulated monitor decodes (in fbcon's default light grey on black), and
# clearing the console removes it again; a console that scrolls is moved
# in the adapter's memory and shows what a full resend shows; text written while the adapter's
# bulk endpoint is halted is on the monitor once it takes data again; an
# adapter that stops draining holds no commit for longer than a bound.
# Leaves fbcon.png for the README.
#   dlkms-fbcon.sh [break]   "break" wants the text not to show
. tests/suites/lib.sh
BREAK=${1:-}
forbid_module udl
load_dlkms

start_emu vga768
card=$(wait_card dlkms 30) || fail "no dlkms card"
wait_mode 1024x768 60 || fail "fbcon did not light 1024x768"
ok "fbcon lit 1024x768 on $card"
[ -e /sys/class/graphics/fb0 ] || fail "no fbdev device fb0"
grep -q dlkms /sys/class/graphics/fb0/name 2>/dev/null ||
	fail "fb0 is not dlkms's emulated fbdev: $(cat /sys/class/graphics/fb0/name)"
echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null

# grey_pixels: how many pixels of the decoded frame are fbcon's foreground
# (0xaaaaaa, truncated to RGB565 by the wire: 0xa8a8a8)
grey_pixels() { frame_pixels a8a8a8; }

# wait_grey OP N: wait until the grey pixel count satisfies OP N
wait_grey() {
	local i n
	for i in $(seq 1 50); do
		n=$(grey_pixels)
		[ "$n" "$1" "$2" ] && { echo "$n"; return 0; }
		sleep 0.2
	done
	echo "$n"
	return 1
}

printf '\033[2J\033[H' >/dev/tty1
n=$(wait_grey -lt 50) || fail "console not clear: $n grey pixels"
ok "cleared console: $n foreground pixels"

for i in $(seq 1 20); do
	printf 'dlkms fbcon line %02d: The quick brown fox jumps over the lazy dog 0123456789\n' "$i"
done >/dev/tty1
# 20 lines of ~75 characters, 8x16 glyphs with ~20 lit pixels each
if [ "$BREAK" = break ]; then
	n=$(wait_grey -gt 20000)
	fail "[break] 20 lines of text must not show, but $n foreground pixels are there"
fi
n=$(wait_grey -gt 20000) || fail "text not visible: only $n foreground pixels"
ok "20 lines of text visible on the emulated monitor: $n foreground pixels"
emu frame-png "$OUT/fbcon.png" >/dev/null

printf '\033[2J\033[H' >/dev/tty1
n=$(wait_grey -lt 50) || fail "console not cleared again: $n grey pixels"
ok "cleared again: $n foreground pixels"

# The console scrolls: 120 numbered lines on a 48-row console. fbcon
# redraws the whole screen a row up each time; dlkms finds the content
# that moved and has the adapter copy it in its own memory (copy
# commands), sending only the new row. The frame must then be the one a
# full resend gives, and the driver must have moved lines to get there.
mv0=$(drv_stat "$card" moved_lines) cp0=$(drv_stat "$card" copies) b0=$(emu_stat bytes)
for i in $(seq 1 120); do
	printf 'scrolled line %03d: %s\n' "$i" "$(printf '%*s' $((i % 60)) '' | tr ' ' '#')"
done >/dev/tty1
settle_frame /tmp/scrolled.raw || fail "the frame did not settle after the scroll"
b1=$(emu_stat bytes) mv=$(drv_stat "$card" moved_lines) cp=$(drv_stat "$card" copies)
echo 1 >/sys/class/graphics/fb0/blank && sleep 1 && echo 0 >/sys/class/graphics/fb0/blank ||
	fail "could not blank and unblank fb0"
settle_frame /tmp/scrolled-resent.raw || fail "the frame did not settle after the unblank"
cmp -s /tmp/scrolled.raw /tmp/scrolled-resent.raw ||
	fail "after the scroll the monitor does not show what the console drew: $(cmp /tmp/scrolled.raw /tmp/scrolled-resent.raw | head -n 1)"
[ "$((mv - ${mv0:-0}))" -gt 0 ] ||
	fail "the console scrolled and no line was moved by the adapter (moved_lines ${mv0:-?} -> ${mv:-?})"
ok "the console scrolled 120 lines: the frame equals a full resend; $((mv - mv0)) lines moved by $((cp - cp0)) copy commands, $((b1 - b0)) bytes on the wire"
printf '\033[2J\033[H' >/dev/tty1
n=$(wait_grey -lt 50) || fail "console not cleared after the scroll: $n grey pixels"

# Transfer errors mid-picture: the adapter halts its bulk endpoint (emu
# stall on: every transfer fails with -EPIPE) while the console writes.
# Once it takes data again, the frame must be what the console shows --
# the same frame a full resend gives (blanking and unblanking fb0 sets the
# mode again, which sends every pixel). A driver that counts the failed
# transfers as shown never sends those lines again.
EMU_EXPECT_MALFORMED="a transfer cut short by the endpoint halt"
emu stall on >/dev/null || fail "emulator: stall on"
for i in $(seq 1 20); do
	printf 'halted line %02d: the adapter takes nothing while this is written\n' "$i"
done >/dev/tty1
sleep 3
emu stall off >/dev/null || fail "emulator: stall off"
settle_frame /tmp/after-halt.raw || fail "the frame did not settle after the halt"
n=$(grey_pixels)
echo 1 >/sys/class/graphics/fb0/blank && sleep 1 && echo 0 >/sys/class/graphics/fb0/blank ||
	fail "could not blank and unblank fb0"
settle_frame /tmp/resent.raw || fail "the frame did not settle after the unblank"
if [ "$BREAK" = break ]; then
	fail "[break] not reached: the text check above breaks first"
fi
cmp -s /tmp/after-halt.raw /tmp/resent.raw ||
	fail "after the halt the monitor does not show what the console drew ($n foreground pixels, $(frame_pixels a8a8a8) after a full resend): $(cmp /tmp/after-halt.raw /tmp/resent.raw | head -n 1)"
[ "$n" -gt 20000 ] || fail "the text written during the halt is not there ($n foreground pixels)"
ok "bulk transfers failed while the console wrote (endpoint halted); afterwards the frame equals a full resend ($n foreground pixels): $(dmesg | grep -o 'bulk transfer failed.*' | head -n 1)"

# An adapter that stops draining its endpoint (emu drain stop: nothing is
# taken, nothing fails) while the console is filled with noise, more than
# the URBs in flight hold: the render pass must give up within its bound
# (1 s, DLKMS_URB_TIMEOUT_MS) with one line, so that a blank and an
# unblank of fb0 -- commits that wait for the renderer -- each return
# within 5 s rather than when the device drains. Once it drains again,
# the frame must be the one a full resend gives.
w0=$(dmesg | grep -c 'took no data')
emu drain stop >/dev/null || fail "emulator: drain stop"
dd if=/dev/urandom of=/dev/fb0 bs=64k count=24 2>/dev/null
sleep 2
stuck=
for b in 1 0; do
	echo "$b" >/sys/class/graphics/fb0/blank &
	bp=$!
	for i in $(seq 1 50); do kill -0 "$bp" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$bp" 2>/dev/null; then
		stuck="blank=$b has not returned 5 s into the stall ($(ps -o stat=,wchan:32= -p "$bp"))"
		break
	fi
	wait "$bp" || { stuck="blank=$b failed"; break; }
done
emu drain normal >/dev/null || fail "emulator: drain normal"
if [ -n "$stuck" ]; then
	wait "$bp"
	fail "an adapter that stopped draining: $stuck"
fi
w=$(($(dmesg | grep -c 'took no data') - w0))
[ "$w" = 1 ] || fail "an adapter that stopped draining: $w 'took no data' lines, want 1"
settle_frame /tmp/after-drain.raw || fail "the frame did not settle once the adapter drained again"
echo 1 >/sys/class/graphics/fb0/blank && sleep 1 && echo 0 >/sys/class/graphics/fb0/blank ||
	fail "could not blank and unblank fb0"
settle_frame /tmp/resent2.raw || fail "the frame did not settle after the unblank"
cmp -s /tmp/after-drain.raw /tmp/resent2.raw ||
	fail "once the adapter drained again the monitor does not show the console's frame: $(cmp /tmp/after-drain.raw /tmp/resent2.raw | head -n 1)"
ok "an adapter that stopped draining: blank and unblank returned within 5 s, one line ($(dmesg | grep -o 'the adapter took no data.*' | tail -n 1)); drained again, the frame equals a full resend"

stop_emu
for i in $(seq 1 50); do [ "$(cat /sys/module/dlkms/refcnt)" = 0 ] && break; sleep 0.1; done
rmmod dlkms || fail "rmmod dlkms (refcount $(cat /sys/module/dlkms/refcnt))"
ok "rmmod dlkms"
