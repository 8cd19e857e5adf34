#!/bin/bash
# The main job, in the guest: plug the emulated adapter, light the output
# (console text, then a page-flipping test pattern), yank the adapter in the
# middle of the flipping, and write what the monitor showed plus a report.
#   demo.sh DRIVER
. tests/suites/lib.sh
drv=${1:-dlkms}
rep=$OUT/report.txt
: >"$rep"
note() { printf '%s\n' "$*" | tee -a "$rep"; }

case "$drv" in
dlkms) forbid_module udl; load_dlkms ;;
udl) forbid_module dlkms ;;
*) fail "unknown driver $drv" ;;
esac

note "dlkms demo: kernel $(uname -r), driver $drv"
start_emu dvi1080
modprobe "$drv" 2>/dev/null
wait_usb_bound "$drv" 30 || fail "$drv did not bind the emulated adapter"
card=$(wait_card "$drv" 30) || fail "$drv registered no card"
note "plugged: $drv bound the adapter, $card"
wait_mode 1920x1080 60 || fail "the monitor never got a mode"
note "monitor mode: $(emu mode)"

# Console text through the driver's fbdev emulation.
echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null
{
	printf '\033[2J\033[H'
	printf 'dlkms demo on %s\n\n' "$(uname -r)"
	printf 'driver %s, %s\n' "$drv" "$card"
	printf 'this text reached the emulated monitor through fbcon\n'
} >/dev/tty1
sleep 3
emu frame-png "$OUT/1-console.png" >/dev/null
note "console frame: 1-console.png"

conn=$(modetest -M "$drv" -c 2>/dev/null | awk '$3 == "connected" { print $1; exit }')
[ -n "$conn" ] || fail "modetest sees no connected connector"
bytes() { emu stats | awk '$1 == "bytes" { print $2 }'; }

# modetest's test pattern, still: it sets the mode and waits for input; the
# frame is taken once the wire has been quiet for a second (30 s at most).
mkfifo /tmp/still.in
sleep 1000 >/tmp/still.in &
keep_still=$!
modetest -M "$drv" -s "$conn:1920x1080" </tmp/still.in >/tmp/mt-still.out 2>&1 &
still=$!
sleep 2
b0=$(bytes)
for i in $(seq 1 30); do
	sleep 1
	b1=$(bytes)
	[ "$b1" = "$b0" ] && break
	b0=$b1
done
emu frame-png "$OUT/2-pattern.png" >/dev/null
note "modetest's still pattern on connector $conn: 2-pattern.png"
kill "$still" "$keep_still" 2>/dev/null
wait "$still" 2>/dev/null

# A page-flipping client (modetest -v) on the same connector.
mkfifo /tmp/mt.in
sleep 1000 >/tmp/mt.in &
keep=$!
modetest -M "$drv" -s "$conn:1920x1080" -v </tmp/mt.in >/tmp/mt.out 2>&1 &
mt=$!
sleep 2
b0=$(bytes)
sleep 5
b1=$(bytes)
emu frame-png "$OUT/3-flipping.png" >/dev/null
flips_before=$(grep -c 'freq' /tmp/mt.out)
note "modetest flipping on connector $conn: $(((b1 - b0) / 5)) bytes/s reached the monitor; $flips_before rate reports (one per 60 flips) before the yank"

# Yank in mid-flip.
emu stats >"$OUT/emu-stats-before-yank.txt"
t0=$(date +%s%N)
emu yank >/dev/null
gone=""
for i in $(seq 1 100); do
	[ -e "$card" ] || { gone=$((($(date +%s%N) - t0) / 1000000)); break; }
	sleep 0.05
done
if [ -n "$gone" ]; then
	note "yank: card node gone after $gone ms"
else
	note "yank: card node still present 5 s after the yank"
fi
sleep 5
flips_after=$(($(grep -c 'freq' /tmp/mt.out) - flips_before))
if kill -0 "$mt" 2>/dev/null; then
	state=$(awk '{ print $3 }' "/proc/$mt/stat")
	wchan=$(cat "/proc/$mt/wchan" 2>/dev/null)
	note "after the yank: modetest alive (state $state, waiting in ${wchan:-?}), $flips_after rate reports in 5 s"
else
	note "after the yank: modetest exited: $(tail -n 2 /tmp/mt.out | tr '\n' ' ')"
fi
kill "$keep" 2>/dev/null
kill "$mt" 2>/dev/null
for i in $(seq 1 50); do kill -0 "$mt" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$mt" 2>/dev/null; then
	note "modetest did not exit on SIGTERM; killed"
	kill -9 "$mt"
fi
wait "$mt" 2>/dev/null
note "kernel messages at the yank:"
dmesg | grep -iE 'usb 1-1|udl|dlkms|\[drm\]' | tail -n 8 | sed 's/^/    /' | tee -a "$rep"
note "module $drv refcount after the last close: $(cat /sys/module/$drv/refcnt)"
cp /tmp/mt.out "$OUT/modetest.log"
