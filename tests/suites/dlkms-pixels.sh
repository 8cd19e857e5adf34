#!/bin/bash
# dlkms drives the emulated adapter: fbcon lights the preferred mode, and
# dumb-buffer frames in XRGB8888 and RGB565 (and XBGR8888 on vga768),
# flushed whole and by exact rectangles, arrive pixel-exact on both
# monitors, with partial damage costing only its own bytes; the cursor
# plane is composed exactly into what is sent; and the same holds in 24-bpp
# mode (module parameter bpp=24), where the frame must equal the source to
# the last bit. DPMS off and a CRTC disable blank the monitor, and the
# picture is back when they are undone (dlpattern --blank, on the 16-bpp
# XRGB8888 run on vga768: each check sends a whole frame, which at 1080p
# takes seconds under TCG). On the same run, frames that come faster than
# the wire (the emulator draining slowly): the newest is shown, and what
# was out of date when it came was not sent (dlpattern --newest).
#   dlkms-pixels.sh [break]   "break": dlpattern holds the first frame
#                             against the picture with one pixel changed
. tests/suites/lib.sh
BREAK=${1:-}
[ "$BREAK" = break ] || BREAK=
forbid_module udl

# run_monitor MONITOR WxH DEPTH
run_monitor() {
	local mon=$1 size=$2 depth=$3 card bpp blank
	start_emu "$mon"
	wait_usb_bound dlkms 30 || fail "dlkms did not bind the emulated adapter"
	card=$(wait_card dlkms 30) || fail "no dlkms card"
	ok "dlkms bound, $card ($mon, bpp=$depth)"
	wait_mode "$size" 60 || fail "emulator did not decode $size from dlkms"
	bpp=$(emu mode | grep -o 'bpp=[0-9]*')
	[ "$bpp" = "bpp=$depth" ] || fail "emulator decoded $bpp, dlkms was loaded with bpp=$depth"
	ok "fbcon lit $size at $bpp: $(emu mode | cut -d' ' -f1-3)"
	echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null
	# XBGR8888 differs from XRGB8888 only in the composing loop, not per
	# monitor: the small one is enough
	fmts="xrgb8888 rgb565"
	[ "$mon" != vga768 ] || fmts="xrgb8888 xbgr8888 rgb565"
	for fmt in $fmts; do
		blank=
		[ "$fmt$mon$depth" = xrgb8888vga76816 ] && blank="--blank --newest"
		"$TOOLS/dlpattern" --driver dlkms --format "$fmt" --depth "$depth" --cursor $blank \
			--png "$OUT/dlkms-$mon-$depth-$fmt" ${BREAK:+--break} ||
			fail "dlpattern $fmt${blank:+ $blank} on $mon at bpp=$depth"
		ok "dlkms $fmt frames and cursor${blank:+, blanking} on $mon at bpp=$depth are pixel-exact"
	done
	emu stats >"$OUT/dlkms-$mon-$depth.stats"
	stop_emu	# fails the suite if the emulator saw a malformed command
	for i in $(seq 1 50); do card_of dlkms >/dev/null || break; sleep 0.1; done
}

unload_dlkms() {
	for i in $(seq 1 50); do [ "$(cat /sys/module/dlkms/refcnt)" = 0 ] && break; sleep 0.1; done
	[ "$(cat /sys/module/dlkms/refcnt)" = 0 ] || fail "dlkms refcount $(cat /sys/module/dlkms/refcnt) after unplug"
	rmmod dlkms || fail "rmmod dlkms"
}

load_dlkms
run_monitor vga768 1024x768 16
run_monitor dvi1080 1920x1080 16
unload_dlkms
ok "rmmod dlkms after two unplugs"

load_dlkms bpp=24
[ "$(cat /sys/module/dlkms/parameters/bpp)" = 24 ] || fail "bpp parameter not taken"
run_monitor vga768 1024x768 24
unload_dlkms
ok "rmmod dlkms after the 24-bpp run"
