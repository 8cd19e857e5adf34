#!/bin/bash
# The emulated adapter's device side, checked without any DRM driver: a
# libusb program reads every monitor's EDID through the vendor request, and
# a live monitor switch is seen on the next read.
#   emu-edid.sh [break]   "break" expects each monitor's EDID after the
#                         switch to the next one, so the first read fails
. tests/suites/lib.sh
BREAK=${1:-}
forbid_module udl
forbid_module dlkms

check_monitor() {
	"$TOOLS/edid-probe" --expect "$1" || fail "edid-probe --expect $1"
	ok "edid-probe reads the $1 monitor"
}

start_emu dvi1080
prev=dvi1080
for m in dvi1080 vga768 cea cea3 corrupt none; do
	emu monitor "$m" >/dev/null || fail "emulator refused monitor $m"
	if [ "$BREAK" = break ] && [ "$m" != "$prev" ]; then check_monitor "$prev"; else check_monitor "$m"; fi
	prev=$m
done
# the channel key was checked by the emulator: every select was the standard key
stats=$(emu stats)
key=$(awk '$1 == "ctrl_key" { print $2 }' <<<"$stats")
bad=$(awk '$1 == "ctrl_key_bad" { print $2 }' <<<"$stats")
[ "${key:-0}" -ge 5 ] || fail "emulator saw ${key:-0} channel selects, expected >= 5"
[ "${bad:-1}" = 0 ] || fail "emulator saw $bad bad channel keys"
ok "emulator counted $key channel selects, none with a bad key"

# An unknown vendor request must stall, and the device must survive it.
"$TOOLS/edid-probe" --expect none || fail "device unusable after the probe sequence"
stop_emu
start_emu vga768
check_monitor vga768
