#!/bin/bash
# Autosuspend (runtime PM, issue 12 item 8): with power/control "auto" the
# adapter sleeps while its CRTC is off (here the console blanked, as a
# desktop's screen saver or DPMS off does) and wakes on the commit that
# lights it again; userspace sees no difference:
#   1. at the default power/control "on" a blanked adapter stays awake;
#   2. "auto" with the CRTC lit: awake (the CRTC holds it);
#   3. blanked: runtime-suspended within the delay, and the adapter saw a
#      USB suspend;
#   4. while it sleeps, GETCONNECTOR still reads the monitor and its modes,
#      and the output poll still finds another monitor plugged in (a
#      HOTPLUG=1 uevent) and the first one back;
#   5. unblanked: awake again, with a plain resume (no USB reset), and
#      the console's picture back pixel for pixel; then an autosuspend that
#      cuts a transfer the adapter stopped taking, and the plain resume
#      that must complete the command cut before anything else;
#   6. the yank while it sleeps: the card goes, the holder's mapping
#      survives, one release, module refcount 0.
#   dlkms-autosuspend.sh [break]   "break" turns every check against the truth
# rig-timeout: 150
. tests/suites/lib.sh
BREAK=${1:-}
[ "$BREAK" = break ] || BREAK=

forbid_module udl
load_dlkms
start_emu vga768
card=$(wait_card dlkms 30) || fail "no dlkms card"
cn=$(basename "$card")
wait_mode 1024x768 60 || fail "fbcon did not light 1024x768"
echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null
dev=$(usb_iface)/.. || fail "no 17e9 interface"
ok "dlkms bound, $card, fbcon at 1024x768"
hold_card "$card" map || fail "could not hold $card"

UEV=/tmp/autosuspend-uevents.log
udevadm monitor --kernel --subsystem-match=drm >"$UEV" 2>&1 &
UDEVMON=$!
trap 'kill "$UDEVMON" 2>/dev/null; cleanup_suite' EXIT
hotplugs() { grep -c "change .*/drm/$cn (drm)" "$UEV"; }

rs() { cat "$dev/power/runtime_status"; }
rs_is() { [ "$(rs)" = "$1" ]; }
# sleeps_within SEC: runtime-suspended at some moment within SEC seconds.
# Judged on what wait_for saw, not on a read after it: the output poll
# wakes the adapter every 10 s for its probe (section 4), and a read
# after could fall into that half second.
sleeps_within() { wait_for "$1" rs_is suspended; }
blank() { echo "$1" >/sys/class/graphics/fb0/blank; }
resets() { dmesg | grep -c 'reset high-speed USB device'; }
same_frame() { emu frame-raw /tmp/now.raw >/dev/null && cmp -s /tmp/ref.raw /tmp/now.raw; }

printf '\033[2J\033[Hdlkms autosuspend: the console before the adapter sleeps\n' >/dev/tty1
settle_frame /tmp/ref.raw || fail "the frame did not settle"

# 1. the USB core's default keeps the device awake, blanked or not
check "$(is "$(cat "$dev/power/control")" on)" "power/control starts at on (the USB core's default for non-hubs)"
blank 1
sleep 3
check "$(yes_if rs_is active)" "control on: the blanked adapter stays awake ($(rs))"
blank 0
wait_for 30 same_frame || fail "the console did not come back after the first unblank"

# 2. allowed to sleep, but lit
echo 500 >"$dev/power/autosuspend_delay_ms"
echo auto >"$dev/power/control"
sleep 3
check "$(yes_if rs_is active)" "control auto, CRTC lit: the adapter stays awake ($(rs))"

# 3. blanked: it sleeps
s0=$(emu_stat suspends) r0=$(emu_stat resumes) x0=$(resets)
t0=$(date +%s%N)
blank 1
check "$(yes_if sleeps_within 10)" \
	"blanked: runtime-suspended after $((($(date +%s%N) - t0) / 1000000)) ms (autosuspend delay 500 ms; status $(rs))"
check "$(yes_if test "$(emu_stat suspends)" -gt "$s0")" "blanked: the adapter saw a USB suspend"

# 4. asleep: the connector reads as before, and the poll finds a new monitor
conn=$(modetest -M dlkms -c 2>/dev/null | awk '$3 ~ /connected$/ { print $3; exit }')
modes=$(modetest -M dlkms -c 2>/dev/null | grep -c '1024x768')
check "$(yes_if test "$conn" = connected -a "$modes" -gt 0)" \
	"asleep: GETCONNECTOR reads connected with 1024x768 (status ${conn:-none}, $modes lines)"
check "$(yes_if sleeps_within 10)" "asleep: back to sleep after the probe ($(rs))"
n=$(hotplugs)
emu monitor dvi1080 >/dev/null || fail "emulator: monitor dvi1080"
wait_for 30 test "$(hotplugs)" -gt "$n"
check "$(yes_if test "$(hotplugs)" -gt "$n")" "asleep: the output poll found another monitor (HOTPLUG=1 uevent on $cn)"
n=$(hotplugs)
emu monitor vga768 >/dev/null || fail "emulator: monitor vga768"
wait_for 30 test "$(hotplugs)" -gt "$n"
check "$(yes_if test "$(hotplugs)" -gt "$n")" "asleep: and the first one back"
# the fbdev client may relight the console on the hotplug; blank again
blank 1
wait_for 10 rs_is suspended
say "# after the monitor swaps: $(rs); USB suspends $s0 -> $(emu_stat suspends), resumes $r0 -> $(emu_stat resumes)"

# 5. unblanked: it wakes, plainly, and shows the console again
x0=$(resets)
t0=$(date +%s%N)
blank 0
check "$(yes_if rs_is active)" "unblanked: awake when the commit returned ($(rs))"
check "$(yes_if wait_for 30 same_frame)" \
	"unblanked: the console's picture is back pixel for pixel ($((($(date +%s%N) - t0) / 1000000)) ms)"
check "$(is "$(resets)" "$x0")" "unblanked: a plain resume, no USB reset ($(($(resets) - x0)) resets)"
check "$(is "$(card_of dlkms)" "$card")" "unblanked: still $card"

# 5b. a transfer cut by the autosuspend, then a plain resume: the adapter
# stops taking data part-way into a console redraw (drain stop-after), the
# console is blanked, and the autosuspend kills the URB in progress after
# the part the adapter took. Its parser is still inside the command the
# cut fell in (no reset at a runtime resume): at the unblank the driver
# must send the rest of that command first (owed_sent), or the adapter
# reads what follows as the rest of it (the emulator counts malformed
# commands, and the suite's emulator verdict fails).
mal0=$(emu_stat malformed) owed0=$(drv_stat "$card" owed_sent)
emu drain stop-after 20000 >/dev/null || fail "emulator: drain stop-after"
for i in $(seq 1 40); do
	printf 'dlkms autosuspend: line %02d, the quick brown fox jumps over the lazy dog\n' "$i"
done >/dev/tty1
wait_for 30 grep -q 'drain stop-after: stopped' /tmp/dlemu.log ||
	fail "the console redraw did not reach 20000 bytes"
blank 1
check "$(yes_if sleeps_within 20)" "cut: autosuspended with a transfer the adapter stopped taking ($(rs))"
emu drain normal >/dev/null || fail "emulator: drain normal"
x0=$(resets)
blank 0
wait_for 30 settle_frame /tmp/cut.raw
say "# cut: $(grep 'drain stop-after: stopped' /tmp/dlemu.log | tail -n 1); owed_sent ${owed0:-?} -> $(drv_stat "$card" owed_sent)"
check "$(is "$(resets)" "$x0")" "cut: a plain resume, no USB reset"
check "$(yes_if test "$(drv_stat "$card" owed_sent)" -gt "${owed0:-0}")" \
	"cut: the autosuspend cut a command, and the wake-up sent the rest of it first"
check "$(is "$(emu_stat malformed)" "$mal0")" "cut: the adapter read no malformed command"

# 6. the yank while it sleeps
blank 1
wait_for 10 rs_is suspended || fail "did not autosuspend again ($(rs))"
rel0=$(released)
emu yank >/dev/null || fail "yank"
node_gone() { [ ! -e "$card" ]; }
wait_for 20 node_gone
check "$(yes_if node_gone)" "yanked asleep: $card is gone"
held=false
let_go && held=true
check "$held" "yanked asleep: the holder's mapping read back and it closed"
wait_for 10 test "$(released)" -gt "$rel0"
check "$(is "$(released)" "$((rel0 + 1))")" "yanked asleep: the device released once"
refcnt_zero() { [ "$(refcnt)" = 0 ]; }
wait_for 10 refcnt_zero
check "$(yes_if refcnt_zero)" "yanked asleep: module refcount 0 ($(refcnt))"
emu replug >/dev/null || fail "replug"
card=$(wait_card dlkms 30) || fail "no dlkms card after the replug"
wait_mode 1024x768 60 || fail "the replugged adapter was not lit"
ok "replugged: $card lit"
# The console was blanked before the yank, and fbcon keeps that across
# devices: the next suite of the boot would find text it prints unshown.
blank 0
stop_emu
wait_for 10 refcnt_zero
rmmod dlkms || fail "rmmod dlkms"

[ "$NBAD" = 0 ] || fail "$NBAD checks failed"
say "dlkms-autosuspend: ok"
