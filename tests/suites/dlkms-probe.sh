#!/bin/bash
# The dkms-built module loads into the kernel it was built for, binds the
# emulated adapter by vendor and interface class (not product id), finds the
# bulk OUT endpoint from the descriptors, survives a yank and replug,
# refuses an interface with no endpoint cleanly, and unloads with no
# reference left.
#   dlkms-probe.sh [break]   "break" wants the stalling adapter's
#                            connector connected
. tests/suites/lib.sh
want_stalled=disconnected
[ "${1:-}" != break ] || want_stalled="connected [break]"
forbid_module udl

modinfo "$DLKMS_KO" | grep -q '^alias: *usb:v17E9p\*' || fail "module alias does not match vendor 0x17e9 for any product"
load_dlkms
ok "dlkms loaded ($(modinfo -F vermagic "$DLKMS_KO" | cut -d' ' -f1))"

start_emu dvi1080 --product 0x01d4
wait_usb_bound dlkms 30 || fail "dlkms did not bind the adapter"
ok "dlkms bound the adapter with product id 0x01d4"
dmesg | grep -E 'dlkms' | tail -n 5
ep=$(dmesg | grep -oE 'dlkms.*bulk OUT (endpoint|ep) *(0x)?[0-9a-f]+' | tail -n 1)
[ -n "$ep" ] || fail "dlkms did not log the bulk OUT endpoint it found"
ok "probe logged: $ep"

emu yank >/dev/null || fail "yank"
for i in $(seq 1 50); do usb_iface >/dev/null || break; sleep 0.1; done
usb_iface >/dev/null && fail "the adapter is still present after the yank"
ok "yank: the interface went away"
emu replug >/dev/null || fail "replug"
wait_usb_bound dlkms 30 || fail "dlkms did not bind the replugged adapter"
ok "replug: bound again"

# An adapter that stalls every vendor request (channel select, EDID):
# dlkms says so in one line, binds a degraded but safe device whose
# connector reads disconnected, and picks the monitor up by polling once
# the requests work again. The channel select stalled with the rest, so
# the adapter, as a real one would, drops what dlkms sends once fbcon
# lights the monitor found by the poll.
EMU_EXPECT_IGNORED="the channel select stalls (ctrl-fail) at the third plug"
emu yank >/dev/null || fail "yank"
for i in $(seq 1 50); do usb_iface >/dev/null || break; sleep 0.1; done
emu ctrl-fail on >/dev/null || fail "ctrl-fail on"
dmesg -C
emu replug >/dev/null || fail "replug"
wait_usb_bound dlkms 30 || fail "dlkms did not bind an adapter that stalls its vendor requests"
card=$(wait_card dlkms 30) || fail "no card for the stalling adapter"
dmesg | grep -q 'dlkms.*selecting the standard channel failed' ||
	fail "no log line about the failed channel select: $(dmesg | grep dlkms | tail -n 3)"
ok "stalling adapter: bound as $card, logged: $(dmesg | grep -o 'selecting the standard channel failed.*' | head -n 1)"
st=$(cat /sys/class/drm/"$(basename "$card")"-*/status)
[ "$st" = "$want_stalled" ] || fail "connector of the stalling adapter reads '$st', want $want_stalled"
ok "its connector reads disconnected"
emu ctrl-fail off >/dev/null || fail "ctrl-fail off"
for i in $(seq 1 300); do
	st=$(cat /sys/class/drm/"$(basename "$card")"-*/status)
	[ "$st" = connected ] && break
	sleep 0.1
done
[ "$st" = connected ] || fail "the poll did not find the monitor once the adapter answered again ($st)"
ok "the poll found the monitor once the vendor requests worked again"

stop_emu
for i in $(seq 1 50); do usb_iface >/dev/null || break; sleep 0.1; done

# Devices that lie: the adapter's interface class with no endpoint at
# all, or with an endpoint of the right direction and the wrong type
# (interrupt OUT). Probe must fail with one clear line and nothing else
# (an oops or a warning fails the run from the kernel log), bind nothing,
# make no card, and leave no reference on the module.
for lie in no int; do
	what="an interface with $([ "$lie" = no ] && echo "no endpoint" || echo "only an interrupt OUT endpoint")"
	lines0=$(dmesg | grep -c "no bulk OUT endpoint")
	start_emu vga768 --bulk "$lie"
	wait_for 30 eval '[ "$(dmesg | grep -c "no bulk OUT endpoint")" -gt "$lines0" ]' ||
		fail "dlkms did not refuse $what"
	iface=$(usb_iface) || fail "the adapter with $what did not enumerate"
	[ ! -e "$iface/driver" ] || fail "$what is bound to $(basename "$(readlink "$iface/driver")")"
	card_of dlkms >/dev/null && fail "a dlkms card exists for $what"
	[ "$(dmesg | grep -c "no bulk OUT endpoint")" = $((lines0 + 1)) ] ||
		fail "$what: $(($(dmesg | grep -c "no bulk OUT endpoint") - lines0)) lines, not one"
	ok "$what: refused ($(dmesg | grep -o 'no bulk OUT endpoint.*' | tail -n 1)), one line, nothing bound, no card"
	stop_emu
	for i in $(seq 1 50); do usb_iface >/dev/null || break; sleep 0.1; done
done
[ "$(cat /sys/module/dlkms/refcnt)" = 0 ] || fail "module refcount $(cat /sys/module/dlkms/refcnt) after the device went away"
rmmod dlkms || fail "rmmod dlkms"
[ ! -e /sys/module/dlkms ] || fail "dlkms still loaded"
ok "rmmod dlkms with refcount 0"
