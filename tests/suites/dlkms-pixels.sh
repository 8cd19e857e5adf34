#!/bin/bash
# dlkms drives the emulated adapter: fbcon lights the preferred mode, and
# dumb-buffer frames in XRGB8888 and RGB565, flushed whole and by exact
# rectangles, arrive pixel-exact (RGB565 truncation) on both monitors.
. tests/suites/lib.sh
forbid_module udl
load_dlkms

run_monitor() {
	local mon=$1 size=$2 card
	start_emu "$mon"
	wait_usb_bound dlkms 30 || fail "dlkms did not bind the emulated adapter"
	card=$(wait_card dlkms 30) || fail "no dlkms card"
	ok "dlkms bound, $card ($mon)"
	wait_mode "$size" 60 || fail "emulator did not decode $size from dlkms"
	ok "fbcon lit $size: $(emu mode | cut -d' ' -f1-3)"
	echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null
	for fmt in xrgb8888 rgb565; do
		"$TOOLS/dlpattern" --driver dlkms --format "$fmt" --png "$OUT/dlkms-$mon-$fmt" ||
			fail "dlpattern $fmt on $mon"
		ok "dlkms $fmt frames on $mon are pixel-exact"
	done
	emu stats >"$OUT/dlkms-$mon.stats"
	local mal
	mal=$(awk '$1 == "malformed" { print $2 }' "$OUT/dlkms-$mon.stats")
	[ "${mal:-1}" = 0 ] || fail "emulator counted $mal malformed commands from dlkms"
	ok "no malformed input from dlkms"
	stop_emu
	for i in $(seq 1 50); do card_of dlkms >/dev/null || break; sleep 0.1; done
}

run_monitor vga768 1024x768
run_monitor dvi1080 1920x1080
for i in $(seq 1 50); do [ "$(cat /sys/module/dlkms/refcnt)" = 0 ] && break; sleep 0.1; done
[ "$(cat /sys/module/dlkms/refcnt)" = 0 ] || fail "dlkms refcount $(cat /sys/module/dlkms/refcnt) after unplug"
rmmod dlkms || fail "rmmod dlkms"
ok "rmmod dlkms after two unplugs"
