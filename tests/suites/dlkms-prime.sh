#!/bin/bash
# PRIME between dlkms and vgem (see tests/tools/primecheck.c): a vgem
# buffer imported into dlkms scans out pixel-exact, in XRGB8888 and RGB565,
# and keeps following vgem's writes; a dlkms buffer exported to vgem reads
# back equal through the dma-buf. Both modules unload afterwards.
#   dlkms-prime.sh [break]   "break" compares against the wrong pattern
. tests/suites/lib.sh
BREAK=${1:-}
forbid_module udl
modprobe vgem || fail "modprobe vgem"
load_dlkms
start_emu dvi1080
wait_usb_bound dlkms 30 || fail "dlkms did not bind the emulated adapter"
card=$(wait_card dlkms 30) || fail "no dlkms card"
# vgem is a bare platform device (no driver link), so find it by its device
vcard=
for c in /sys/class/drm/card[0-9]*; do
	case "$c" in *-*) continue ;; esac
	[ "$(basename "$(readlink -f "$c/device")")" = vgem ] && vcard=/dev/dri/$(basename "$c")
done
[ -n "$vcard" ] || { ls -l /sys/class/drm/; fail "no vgem card"; }
ok "dlkms bound, $card; vgem is $vcard"
wait_mode 1920x1080 60 || fail "emulator did not decode 1920x1080 from dlkms"
echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null

dmesg -c >/dev/null
card_opens "$card"
"$TOOLS/primecheck" --driver dlkms ${BREAK:+--break} >/tmp/primecheck.log 2>&1
rc=$?
cat /tmp/primecheck.log
cp /tmp/primecheck.log "$OUT/"
if [ "$rc" != 0 ]; then
	say "kernel log during primecheck:"
	dmesg | sed 's/^/    /' | tail -n 20
	fail "primecheck: $(grep -c '^not ok' /tmp/primecheck.log) checks failed"
fi
ok "dma-buf import and export between dlkms and vgem"

stop_emu
for i in $(seq 1 50); do card_of dlkms >/dev/null || break; sleep 0.1; done
for i in $(seq 1 50); do [ "$(cat /sys/module/dlkms/refcnt)" = 0 ] && break; sleep 0.1; done
[ "$(cat /sys/module/dlkms/refcnt)" = 0 ] || fail "dlkms refcount $(cat /sys/module/dlkms/refcnt) after unplug"
rmmod dlkms || fail "rmmod dlkms"
ok "rmmod dlkms after the unplug"
rmmod vgem || fail "rmmod vgem (a dlkms dma-buf still held?)"
ok "rmmod vgem"
