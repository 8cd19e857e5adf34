#!/bin/bash
# The emulator validated against an encoder nobody here wrote: in-tree udl
# draws known patterns through its card (dumb buffer + DIRTYFB, full and
# partial damage) and the decoded frame must equal the expected RGB565.
#   udl-pixels.sh [break]   "break": dlpattern holds the first frame
#                           against the picture with one pixel changed
. tests/suites/lib.sh
BREAK=${1:-}
[ "$BREAK" = break ] || BREAK=
forbid_module dlkms
# udl sends transfers of whole packets: the emulator reads packet by packet
EMU_READ_LEN=512

run_monitor() {
	local mon=$1 size=$2 card
	start_emu "$mon"
	modprobe udl || fail "modprobe udl"
	wait_usb_bound udl 30 || fail "udl did not bind the emulated adapter"
	card=$(wait_card udl 30) || fail "no udl card"
	ok "udl bound, $card ($mon)"
	# fbcon lights the output first: the emulator must decode its mode
	wait_mode "$size" 60 || fail "emulator did not decode $size from udl"
	ok "emulator decoded udl's modeset as $size"
	echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null
	for fmt in xrgb8888 rgb565; do
		"$TOOLS/dlpattern" --driver udl --format "$fmt" --png "$OUT/udl-$mon-$fmt" ${BREAK:+--break} ||
			fail "dlpattern $fmt on $mon"
		ok "udl $fmt frames on $mon are pixel-exact"
	done
	emu frame-png "$OUT/udl-$mon.png" >/dev/null
	emu stats >"$OUT/udl-$mon.stats"
	rmmod udl || fail "rmmod udl"
	stop_emu	# fails the suite if the emulator saw a malformed command
}

run_monitor vga768 1024x768
run_monitor dvi1080 1920x1080
