#!/bin/bash
# IGT's core_hotunplug, and the steps it would take, on dlkms. The binary
# itself skips everything on a KMS-only driver (its fixture requires a
# render node, "No known DRM render device found"); the suite runs it and
# requires exactly that skip, so a change shows. Then it takes the same
# steps itself on the adapter's USB interface (the DRM parent), with the
# same health check (card reopens, its sysfs and debugfs directories are
# there): unbind-rebind, hotunbind-rebind (fd open across the unbind, closed
# late), hotrebind (bind while the old fd is open: a new minor),
# hotrebind-lateclose. The -rescan/-replug subtests need a "remove" on the
# DRM parent, which a USB interface does not have; the emulator's yank and
# replug stand for them in the other suites. Last, yankcheck's hot-unplug
# contract with a sysfs unbind as the yank.
#   dlkms-rebind.sh [break]   "break" wants no release at the first
#                             unbind and runs yankcheck --break
. tests/suites/lib.sh
BREAK=${1:-}
[ "$BREAK" = break ] || BREAK=
want_rel=1
[ -z "$BREAK" ] || want_rel="0 [break]"
IGT=${IGT_DIR:-/usr/libexec/igt-gpu-tools}

forbid_module udl
modprobe vgem || fail "modprobe vgem"
load_dlkms
start_emu vga768
wait_usb_bound dlkms 30 || fail "dlkms did not bind the emulated adapter"
card=$(wait_card dlkms 30) || fail "no dlkms card"
wait_mode 1024x768 60 >/dev/null || fail "emulator did not decode 1024x768"
iface=$(basename "$(usb_iface)") || fail "no 17e9 interface"
DRV=/sys/bus/usb/drivers/dlkms
ok "dlkms bound to $iface, $card"

# --- the binary, for the record: its skip must be the render-node one ---
export IGT_FORCE_DRIVER=dlkms IGT_DEVICE=drm:$card
timeout -k 5 120 "$IGT/core_hotunplug" >/tmp/core_hotunplug.log 2>&1
rc=$?
cp /tmp/core_hotunplug.log "$OUT/"
n=$(grep -c '^Subtest .*: SKIP' /tmp/core_hotunplug.log)
why=$(sed -n 's/^Test requirement: //p; /No known DRM render device found/p' /tmp/core_hotunplug.log |
	sort -u | head -n 3 | paste -sd';')
say "# core_hotunplug: exit $rc, $n subtests skipped: $why"
grep -q 'No known DRM render device found' /tmp/core_hotunplug.log &&
	! grep -q '^Subtest .*: \(SUCCESS\|FAIL\)' /tmp/core_hotunplug.log &&
	ok "core_hotunplug skips as a KMS-only driver must (no render node)" ||
	bad "core_hotunplug did not skip for the render node: see core_hotunplug.log"

# health CARD: reopen, /sys/dev/char/226:N and debugfs dri/N/name exist
health() {
	local c=$1 min
	card_opens "$c" || return 1
	min=$((16#$(stat -c %T "$c")))
	[ -d "/sys/dev/char/226:$min" ] || { say "# no /sys/dev/char/226:$min"; return 1; }
	[ -e "/sys/kernel/debug/dri/$min/name" ] || { say "# no debugfs dri/$min/name"; return 1; }
	grep -q dlkms "/sys/kernel/debug/dri/$min/name" || { say "# dri/$min/name: $(cat "/sys/kernel/debug/dri/$min/name")"; return 1; }
}
unbind() { echo "$iface" >"$DRV/unbind"; }
bind() { echo "$iface" >"$DRV/bind"; }
gone() { local i; for i in $(seq 1 100); do [ -e "$1" ] || return 0; sleep 0.1; done; return 1; }
minor() { echo $((16#$(stat -c %T "$1"))); }

# unbind-rebind: no fd open
r0=$(released)
if unbind && gone "$card" && [ ! -e "$DRV/$iface" ] && bind && c=$(wait_card dlkms 30) && health "$c"; then
	ok "unbind-rebind: $card went, $c came back healthy"
else
	bad "unbind-rebind"
fi
card=$c
[ "$(($(released) - r0))" = "$want_rel" ] || bad "unbind-rebind: $(($(released) - r0)) releases, want $want_rel"

# hotunbind-rebind: fd open across the unbind, closed late, then bind
r0=$(released)
hold_card "$card" || fail "could not hold $card"
unbind
gone "$card" || bad "hotunbind-rebind: $card still there after the unbind"
[ "$(($(released) - r0))" = 0 ] || bad "hotunbind-rebind: released while the fd is open"
let_go || bad "hotunbind-rebind: the late close"
for i in $(seq 1 50); do [ "$(($(released) - r0))" = 1 ] && break; sleep 0.1; done
[ "$(($(released) - r0))" = 1 ] || bad "hotunbind-rebind: $(($(released) - r0)) releases after the late close, want 1"
if bind && c=$(wait_card dlkms 30) && health "$c"; then
	ok "hotunbind-rebind: fd held across the unbind, released at its late close, rebound healthy ($c)"
else
	bad "hotunbind-rebind: rebind"
fi
card=$c

# hotrebind and hotrebind-lateclose: bind while the old fd is open
for name in hotrebind hotrebind-lateclose; do
	r0=$(released)
	m0=$(minor "$card")
	hold_card "$card" || fail "could not hold $card"
	unbind
	gone "$card" || bad "$name: $card still there after the unbind"
	if bind && c=$(wait_card dlkms 30) && health "$c"; then
		m1=$(minor "$c")
		[ "$m1" != "$m0" ] && ok "$name: rebound with the old fd open: $c, minor $m1 (old $m0)" ||
			bad "$name: the new card has the old minor $m0"
	else
		bad "$name: rebind with the old fd open"
	fi
	[ "$(($(released) - r0))" = 0 ] || bad "$name: old device released while its fd is open"
	let_go || bad "$name: closing the old fd"
	for i in $(seq 1 50); do [ "$(($(released) - r0))" = 1 ] && break; sleep 0.1; done
	[ "$(($(released) - r0))" = 1 ] || bad "$name: $(($(released) - r0)) releases after the old fd closed, want 1"
	health "$c" || bad "$name: the new card after the old one's close"
	card=$c
done

# the contract with an unbind as the yank (the new device stays unbound
# until the bind below)
wait_mode 1024x768 60 >/dev/null || bad "emulator did not decode 1024x768 before yankcheck"
# This unbind kills the transfers in flight, one cut mid-command, and the
# adapter, still on the bus, sees no disconnect: the rebound driver's
# first command follows the cut one and is read as its rest.
EMU_EXPECT_MALFORMED="yankcheck's unbind cuts a command the rebound driver's stream then follows"
timeout 120 "$TOOLS/yankcheck" --driver dlkms ${BREAK:+--break} --yank-cmd "echo $iface >$DRV/unbind" >/tmp/yank-unbind.log 2>&1
rc=$?
sed 's/^\(not \)\{0,1\}ok - /&unbind run: /' /tmp/yank-unbind.log
cp /tmp/yank-unbind.log "$OUT/"
[ "$rc" = 0 ] || bad "yankcheck with a sysfs unbind as the yank: exit $rc"
bind || bad "bind after yankcheck"
c=$(wait_card dlkms 30) && health "$c" || bad "rebind after yankcheck"

stop_emu
for i in $(seq 1 50); do [ "$(cat /sys/module/dlkms/refcnt)" = 0 ] && break; sleep 0.1; done
rmmod dlkms || bad "rmmod dlkms at the end"
[ "$NBAD" = 0 ] || { say "$NBAD checks failed"; exit 1; }
ok "core_hotunplug's steps and the contract through a sysfs unbind"
