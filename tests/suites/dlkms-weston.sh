#!/bin/bash
# weston, the reference Wayland compositor, on dlkms as a desktop user runs
# it: DRM backend on dlkms's card (picked by name, never by card order),
# pixman renderer, seatd for the seat, a client animating in a window. Its
# desktop must show up on the emulated monitor (weston.png is left for the
# README). Then the adapter is yanked under it while it repaints: the card
# node goes, weston is never stuck in the kernel (no D state that lasts,
# SIGTERM ends it), and once it has exited the device is released and the
# module unloads. What weston itself does after the yank (keeps running,
# exits, what it logs) is recorded, not judged: that is weston's business.
# Finally the adapter comes back and a new weston lights the new card.
#
# With --sleep (in a boot that survives a suspend: run-guest --sleep),
# before the yank the machine suspends under weston (s2idle): weston keeps
# its card and its output, its desktop is on the monitor and it repaints
# the client's window after the wake-up.
#
#   dlkms-weston.sh [break] [--sleep]   "break" inverts every check (the run must fail)
# rig-timeout: 480
. tests/suites/lib.sh
BREAK=
[ "${1:-}" != break ] || { BREAK=break; shift; }
SLEEP=
[ "${1:-}" != --sleep ] || SLEEP=1
MON=vga768
SIZE=1024x768
W=/tmp/weston
SOCK=wayland-dlkms
# weston.ini's background, chosen to survive RGB565 (r, b: 5 bits, g: 6)
BG=3060a0

command -v weston >/dev/null || fail "weston is not installed in the guest"
command -v seatd >/dev/null || fail "seatd is not installed in the guest"
forbid_module udl
SEATD='' WESTON='' CLIENT=''
cleanup_weston() {
	local p
	for p in $CLIENT $WESTON $SEATD; do kill "$p" 2>/dev/null; done
	for p in $CLIENT $WESTON $SEATD; do wait "$p" 2>/dev/null; done
	cp "$W"/*.log "$OUT/" 2>/dev/null
	cleanup_suite
}
trap cleanup_weston EXIT

rm -rf "$W" && mkdir -p "$W/run" && chmod 0700 "$W/run"
export XDG_RUNTIME_DIR=$W/run
cat >"$W/weston.ini" <<EOF
[core]
idle-time=0
require-input=false

[shell]
background-color=0xff$BG
panel-position=top
animation=none
startup-animation=none
locking=false
EOF

# bg_pixels: how many pixels of the decoded frame are weston's background
bg_pixels() { frame_pixels "$BG"; }
frame_sum() { emu frame-raw "$W/sum.raw" >/dev/null && md5sum <"$W/sum.raw" | cut -c1-32; }
proc_state() { awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || echo gone; }

# start_weston CARD TAG: seatd (once) and weston on CARD; pid in WESTON
start_weston() {
	local card=$1 tag=$2
	if [ -z "$SEATD" ]; then
		seatd -g root -l info >"$W/seatd.log" 2>&1 &
		SEATD=$!
		wait_for 10 test -S /run/seatd.sock || { cat "$W/seatd.log"; fail "seatd did not start"; }
	fi
	LIBSEAT_BACKEND=seatd weston --backend=drm --renderer=pixman \
		--drm-device="${card##*/}" --continue-without-input --idle-time=0 \
		--config="$W/weston.ini" --socket="$SOCK" --log="$W/weston-$tag.log" \
		>"$W/weston-$tag.out" 2>&1 &
	WESTON=$!
}
desktop_shown() { [ "$(bg_pixels)" -gt $((1024 * 768 / 2)) ]; }
# weston_lights CARD TAG WHAT: start weston on CARD, check its desktop shows
weston_lights() {
	start_weston "$1" "$2"
	if wait_for 90 desktop_shown; then
		check true "$3: $(bg_pixels) of $((1024 * 768)) pixels are weston's background #$BG"
	else
		check false "$3: only $(bg_pixels) pixels of weston's background #$BG"
		tail -n 30 "$W/weston-$2.log" "$W/weston-$2.out" 2>/dev/null
	fi
}
weston_holds() {
	local f
	for f in /proc/"$WESTON"/fd/*; do [ "$(readlink "$f")" = "$1" ] && return 0; done
	return 1
}

[ -d /sys/kernel/debug/dri ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
load_dlkms
start_emu "$MON"
wait_usb_bound dlkms 30 || fail "dlkms did not bind the emulated adapter"
card=$(wait_card dlkms 30) || fail "no dlkms card"
wait_mode "$SIZE" 60 >/dev/null || fail "emulator did not decode $SIZE from dlkms"
echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null
ok "dlkms bound, $card, fbcon lit $SIZE; $(weston --version 2>&1 | head -n 1), seatd $(seatd -v 2>&1 | head -n 1)"
n0=$(released)

# --- weston's desktop on dlkms ---
weston_lights "$card" first "weston's desktop on the emulated monitor"
check "$(yes_if weston_holds "$card")" "weston (pid $WESTON) has $card open"
WAYLAND_DISPLAY=$SOCK weston-simple-shm >"$W/client.log" 2>&1 &
CLIENT=$!
sleep 3
emu frame-png "$OUT/weston.png" >/dev/null
# repaints WHAT: weston repaints the client's window, frames sent and the picture changing
repaints() {
	local f0 f1 s0 s1
	f0=$(drv_stat "$card" frames) s0=$(frame_sum)
	sleep 2
	f1=$(drv_stat "$card" frames) s1=$(frame_sum)
	check "$(is "$([ "${f1:-0}" -gt "${f0:-0}" ] && [ "$s0" != "$s1" ] && echo moving)" moving)" \
		"$1: $((${f1:-0} - ${f0:-0})) frames sent in 2 s, the picture changed"
}
repaints "weston repaints weston-simple-shm's window"

# --- a system suspend under weston ---
# The adapter loses its power meanwhile, as a bus-powered one does. weston
# repaints all the time, so a repaint is in flight at the suspend: the
# emulator decodes what it read of it before it models the power loss.
if [ -n "$SLEEP" ]; then
	emu sleep-loses on >/dev/null || fail "emulator: sleep-loses on"
	pm_cycle || fail "the system suspend failed: $?"
	emu sleep-loses off >/dev/null || fail "emulator: sleep-loses off"
	say "# suspend: $(dmesg | grep -E 'PM: suspend (entry|exit)' | tail -n 2 | tr '\n' ' ')"
	st=$(proc_state "$WESTON")
	check "$(is "$(case $st in gone | Z) echo gone ;; *) echo alive ;; esac)" alive)" \
		"after the suspend: weston (pid $WESTON) is still there (state $st)"
	check "$(yes_if weston_holds "$card")" "after the suspend: weston still has $card open"
	check "$(yes_if wait_for 60 desktop_shown)" "after the suspend: weston's desktop is back on the monitor ($(bg_pixels) pixels of #$BG)"
	repaints "after the suspend: weston repaints the window"
fi

# --- the yank, mid-repaint ---
echo "dlkms-weston: yank --" >/dev/kmsg
wl0=$(wc -c <"$W/weston-first.log")
u0=$(awk '{ print $14 + $15 }' "/proc/$WESTON/stat")
emu yank >/dev/null || fail "yank"
t0=$(date +%s%N)
node_gone() { [ ! -e "$card" ]; }
wait_for 10 node_gone
check "$(yes_if node_gone)" "$card is gone $((($(date +%s%N) - t0) / 1000000)) ms after the yank, weston holding it"
# 6 s of watching: a D state seen twice in a row (0.25 s apart) is a hang
states="" dd=0 dmax=0
for _ in $(seq 1 24); do
	st=$(proc_state "$WESTON")
	states+=$st
	if [ "$st" = D ]; then dd=$((dd + 1)); else dd=0; fi
	[ "$dd" -gt "$dmax" ] && dmax=$dd
	[ "$st" = gone ] && break
	sleep 0.25
done
check "$(is "$([ "$dmax" -lt 2 ] && echo free)" free)" \
	"weston not stuck in the kernel after the yank (states every 0.25 s: $states)"
if [ "$(proc_state "$WESTON")" != gone ]; then
	u1=$(awk '{ print $14 + $15 }' "/proc/$WESTON/stat")
	say "# weston after the yank: still running; $((u1 - u0)) ticks of CPU in the 6 s after it (USER_HZ $(getconf CLK_TCK))"
else
	wait "$WESTON"
	say "# weston after the yank: exited with status $?"
	WESTON=
fi
say "# the client after the yank: $( [ "$(proc_state "$CLIENT")" = gone ] && echo exited || echo running)"
say "# weston's log after the yank:"
tail -c +$((wl0 + 1)) "$W/weston-first.log" | head -n 25 | sed 's/^/#   /'

# --- weston goes when told, and the device with it ---
kill "$CLIENT" 2>/dev/null
wait "$CLIENT" 2>/dev/null
CLIENT=
if [ -n "$WESTON" ]; then
	kill -TERM "$WESTON"
	t0=$(date +%s%N)
	weston_ended() { [ "$(proc_state "$WESTON")" = gone ] || [ "$(proc_state "$WESTON")" = Z ]; }
	wait_for 30 weston_ended
	check "$(yes_if weston_ended)" \
		"SIGTERM ends weston in $((($(date +%s%N) - t0) / 1000000)) ms (state $(proc_state "$WESTON"))"
	weston_ended || cat "/proc/$WESTON/stack" 2>/dev/null
	kill -KILL "$WESTON" 2>/dev/null
	wait "$WESTON" 2>/dev/null
	WESTON=
fi
gone_all() { [ "$(($(released) - n0))" -ge 1 ] && [ "$(refcnt)" = 0 ]; }
wait_for 10 gone_all
check "$(is "$(($(released) - n0))/$(refcnt)" 1/0)" \
	"the yanked device released once after weston exited ($(($(released) - n0)) releases, module refcount $(refcnt))"

# --- the adapter back: a new card, and weston on it ---
emu replug >/dev/null || fail "replug"
wait_usb_bound dlkms 30 || fail "dlkms did not bind the replugged adapter"
card=$(wait_card dlkms 30) || fail "no dlkms card after the replug"
wait_mode "$SIZE" 60 >/dev/null || fail "emulator did not decode $SIZE after the replug"
weston_lights "$card" again "a new weston on the replugged $card"
kill -TERM "$WESTON"
wait "$WESTON"
say "# weston on the replugged card: exit status $? after SIGTERM"
WESTON=
kill "$SEATD"
wait "$SEATD" 2>/dev/null
SEATD=

stop_emu
refcnt_zero() { [ "$(refcnt)" = 0 ]; }
wait_for 10 refcnt_zero
rmmod dlkms || bad "rmmod dlkms (refcount $(refcnt))"
[ "$NBAD" = 0 ] || { say "$NBAD checks failed"; exit 1; }
ok "weston on dlkms across a yank"
