#!/bin/bash
# Two adapters at once (a dock with two DisplayLink outputs, or a dock and
# a travel adapter): two emulated adapters on two UDCs (dummy_hcd num=2),
# A on dummy_udc.0 and B on dummy_udc.1, and two independent DRM devices.
#   1. each shows its own client's picture pixel-exact, and a client on A
#      leaves B's picture alone;
#   2. A is yanked while B page-flips: B's flips and events stay on time
#      across the yank and after it, A's card goes, B's stays and is
#      pixel-exact after;
#   3. a system suspend and resume with both (each loses its power): both
#      are the same devices after, each with its picture from before;
#   4. both unplugged, then plugged back in the other order: two new cards,
#      each pixel-exact.
#   dlkms-two.sh [break]   "break" turns every check against the truth
# rig-sleeps: yes
# rig-timeout: 400
. tests/suites/lib.sh
BREAK=${1:-}
forbid_module udl

# A second UDC: dummy_hcd again with num=2 (a suite before this one in the
# boot may have loaded it with one; its gadgets are unbound by then).
rmmod dummy_hcd 2>/dev/null
modprobe dummy_hcd num=2 || fail "modprobe dummy_hcd num=2"
for i in $(seq 1 50); do [ -e /sys/class/udc/dummy_udc.1 ] && break; sleep 0.1; done
[ -e /sys/class/udc/dummy_udc.1 ] || fail "dummy_hcd made no second UDC"
load_dlkms

SOCK_B=/run/dlemu-b.sock EMU_B_PID=
emu_b() { EMU_SOCK=$SOCK_B emu "$@"; }
start_emu vga768
"$EMU" --socket "$SOCK_B" --read-len "$EMU_READ_LEN" --monitor vga768 --udc dummy_udc.1 --name dlemub >>/tmp/dlemu-b.log 2>&1 &
EMU_B_PID=$!
wait_for 20 emu_b ping >/dev/null 2>&1 || { cat /tmp/dlemu-b.log; fail "the second emulator did not start"; }
stop_emu_b() {
	local rc=0
	[ -n "$EMU_B_PID" ] || return 0
	EMU_SOCK=$SOCK_B emu_verdict || { rc=1; cp /tmp/dlemu-b.log "$OUT/" 2>/dev/null; }
	kill "$EMU_B_PID" 2>/dev/null
	wait "$EMU_B_PID" 2>/dev/null
	EMU_B_PID=
	return "$rc"
}
MT_PIDS=
stop_pictures() {
	[ -n "$MT_PIDS" ] || return 0
	kill $MT_PIDS 2>/dev/null
	wait $MT_PIDS 2>/dev/null
	MT_PIDS=
}
trap 'stop_pictures; stop_emu_b; cleanup_suite' EXIT

# card_on N: the dlkms card of the adapter on dummy_hcd.N
card_on() {
	local c
	for c in /sys/class/drm/card[0-9]*; do
		case "$c" in *-*) continue ;; esac
		[ "$(basename "$(readlink "$c/device/driver" 2>/dev/null)")" = dlkms ] || continue
		case "$(readlink -f "$c/device")" in
		*/dummy_hcd.$1/*) echo "/dev/dri/$(basename "$c")"; return 0 ;;
		esac
	done
	return 1
}
wait_card_on() {
	local i
	for i in $(seq 1 $((${2:-30} * 10))); do card_on "$1" && return 0; sleep 0.1; done
	return 1
}
# mode_is SOCK WxH: that emulator decodes that mode
mode_is() { EMU_SOCK=$1 emu mode 2>/dev/null | grep -q "^$2 "; }
# frame SOCK FILE: that emulator's decoded frame
frame() { EMU_SOCK=$1 emu frame-raw "$2" >/dev/null; }
# pattern CARD SOCK LABEL: dlpattern on CARD, checked by the emulator at SOCK
pattern() {
	DLKMS_CARD=$1 "$TOOLS/dlpattern" --driver dlkms --socket "$2" --format xrgb8888 \
		>"$OUT/dlpattern-$3.log" 2>&1
}

A=$(wait_card_on 0) || fail "no dlkms card for adapter A"
B=$(wait_card_on 1) || fail "no dlkms card for adapter B"
check "$(yes_if test "$A" != "$B")" "two adapters, two cards: A is $A, B is $B"
wait_for 60 mode_is "$EMU_SOCK" 1024x768 || fail "A: fbcon did not light 1024x768"
wait_for 60 mode_is "$SOCK_B" 1024x768 || fail "B: fbcon did not light 1024x768"

# 1. independent pictures
frame "$SOCK_B" /tmp/b0.raw || fail "B: no frame"
pattern "$A" "$EMU_SOCK" a
check "$(is $? 0)" "A: a client's frames on $A are pixel-exact (dlpattern)"
frame "$SOCK_B" /tmp/b1.raw || fail "B: no frame"
check "$(yes_if cmp -s /tmp/b0.raw /tmp/b1.raw)" "B: its picture did not change while a client drew on A"
pattern "$B" "$SOCK_B" b
check "$(is $? 0)" "B: a client's frames on $B are pixel-exact (dlpattern)"

# 2. A yanked while B flips. The yank comes in the middle of B's
# non-blocking flips (flipcheck --test across: a third of them before it,
# the rest while it runs and after); every event must arrive on B's frame
# grid. Then, A's card gone, B's whole pacing check. The times userspace
# receives the events are not held to the refresh during the yank: the
# guest is busy with A's teardown (uevents, udev, fbcon) and delivery lags
# while the vblank B reports stays exact.
for t in across all; do
	out=$OUT/flipcheck-b-$t.log
	if [ "$t" = across ]; then
		DLKMS_CARD=$B "$TOOLS/flipcheck" --driver dlkms --mode 1024x768 --count 60 \
			--test across --across "$EMU ctl --socket $EMU_SOCK yank >/dev/null" >"$out" 2>&1
	else
		DLKMS_CARD=$B "$TOOLS/flipcheck" --driver dlkms --mode 1024x768 --count 60 >"$out" 2>&1
	fi
	rc=$?
	grep '^# across:' "$out"
	check "$(is $rc 0)" "B: $([ "$t" = across ] && echo "non-blocking flips across A's yank" ||
		echo "flips, commits and vblank waits after A's yank"), paced at the refresh ($(grep -c '^ok' "$out") ok, $(grep -c '^not ok' "$out") not ok)"
	[ "$rc" = 0 ] || grep '^not ok' "$out" | head -n 5
	[ "$t" = all ] && continue
	check "$(yes_if wait_for 20 eval '! test -e "$A"')" "A: $A went with its adapter"
	udevadm settle -t 20 2>/dev/null
done
check "$(is "$(card_on 1)" "$B")" "B: still $B"
pattern "$B" "$SOCK_B" b-after-yank
check "$(is $? 0)" "B: pixel-exact after A's yank"

# 3. suspend and resume with both, each losing its power
emu replug >/dev/null || fail "A: replug"
A=$(wait_card_on 0) || fail "A: no card after the replug"
wait_for 60 mode_is "$EMU_SOCK" 1024x768 || fail "A: fbcon did not light the replugged adapter"
# pictures held by masters that stay (dlpattern --hold: its colour bars,
# checked, then kept up; fbcon's would be redrawn at the suspend's VT
# switch, see dlkms-suspend.sh)
for c in "a $A $EMU_SOCK" "b $B $SOCK_B"; do
	set -- $c
	DLKMS_CARD=$2 "$TOOLS/dlpattern" --driver dlkms --socket "$3" --format xrgb8888 --hold \
		>"$OUT/dlpattern-$1-hold.log" 2>&1 &
	MT_PIDS+=" $!"
done
wait_for 120 grep -q '^# holding' "$OUT/dlpattern-a-hold.log" || fail "A: dlpattern --hold did not get to its picture"
wait_for 120 grep -q '^# holding' "$OUT/dlpattern-b-hold.log" || fail "B: dlpattern --hold did not get to its picture"
settle_frame /tmp/ref-a.raw || fail "A: the frame did not settle"
EMU_SOCK=$SOCK_B settle_frame /tmp/ref-b.raw || fail "B: the frame did not settle"
unplugs=$(dmesg | grep -c 'adapter unplugged')
probes=$(dmesg | grep -c 'Initialized dlkms')
emu sleep-loses on >/dev/null && emu_b sleep-loses on >/dev/null || fail "emulator: sleep-loses"
pm_cycle || fail "the system suspend failed"
check "$(is "$(dmesg | grep -c 'adapter unplugged')" "$unplugs")" "suspend: no unplug of either adapter"
check "$(is "$(dmesg | grep -c 'Initialized dlkms')" "$probes")" "suspend: no new DRM device"
check "$(is "$(card_on 0) $(card_on 1)" "$A $B")" "suspend: still $A and $B"
same() { frame "$1" /tmp/now.raw && cmp -s "$2" /tmp/now.raw; }
check "$(yes_if wait_for 90 same "$EMU_SOCK" /tmp/ref-a.raw)" "suspend: A shows its picture from before again, pixel for pixel"
check "$(yes_if wait_for 90 same "$SOCK_B" /tmp/ref-b.raw)" "suspend: B shows its picture from before again, pixel for pixel"
stop_pictures
emu sleep-loses off >/dev/null && emu_b sleep-loses off >/dev/null || fail "emulator: sleep-loses"

# 4. both unplugged, then plugged back in the other order
emu yank >/dev/null && emu_b yank >/dev/null || fail "yank both"
wait_for 20 eval '! card_on 0 && ! card_on 1' || fail "the cards did not go"
emu_b replug >/dev/null || fail "B: replug"
B2=$(wait_card_on 1) || fail "B: no card after the replug"
emu replug >/dev/null || fail "A: replug"
A2=$(wait_card_on 0) || fail "A: no card after the replug"
check "$(yes_if test "$A2" != "$B2")" "replugged B first, then A: two cards, B is $B2, A is $A2"
wait_for 60 mode_is "$SOCK_B" 1024x768 || fail "B: fbcon did not light the replugged adapter"
wait_for 60 mode_is "$EMU_SOCK" 1024x768 || fail "A: fbcon did not light the replugged adapter"
pattern "$B2" "$SOCK_B" b-replugged
check "$(is $? 0)" "B: pixel-exact after the swapped replug"
pattern "$A2" "$EMU_SOCK" a-replugged
check "$(is $? 0)" "A: pixel-exact after the swapped replug"

stop_emu_b || bad "B: the emulator saw what a real adapter would not"
stop_emu
[ "$NBAD" = 0 ] || fail "$NBAD checks failed"
say "dlkms-two: ok"
