#!/bin/bash
# Event pacing of dlkms's software vblank on both monitors (see
# tests/tools/flipcheck.c): damage-carrying atomic flips and vblank waits
# arrive once per frame at the mode's refresh (clock / (htotal * vtotal)),
# full-frame legacy flips on the frame grid; a commit that only turns the
# disabled cursor off needs no modeset and waits for no pending flip; a
# cursor hidden and shown right after a flip does not wait for it; a
# second flip or non-blocking commit
# while one is pending fails with EBUSY; modes the adapter cannot scan out
# (interlace, doublescan, 16-bit overflows, a refresh under 20 Hz) are
# refused (modecheck); and modetest -v keeps flipping,
# never faster than the refresh. modetest's flips are full frames, which
# under TCG take longer than a frame to compose, so its rate is reported,
# not required to equal the refresh.
#   dlkms-vblank.sh [break]   "break" expects the wrong rates, to show the
#                             checks go red (the run must then fail)
. tests/suites/lib.sh
BREAK=${1:-}
forbid_module udl
load_dlkms

# refresh_of: the refresh the emulator decoded, in Hz, from its timings
refresh_of() {
	emu mode | awk '{
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "%.4f\n", v["clock"] * 1000 / (v["htotal"] * v["vtotal"])
	}'
}

run_monitor() {
	local mon=$1 size=$2 card out hz want conn keep mt n off
	start_emu "$mon"
	wait_usb_bound dlkms 30 || fail "dlkms did not bind the emulated adapter"
	card=$(wait_card dlkms 30) || fail "no dlkms card"
	ok "dlkms bound, $card ($mon)"
	wait_mode "$size" 60 || fail "emulator did not decode $size from dlkms"

	out=/tmp/flipcheck-$mon.log
	"$TOOLS/flipcheck" --driver dlkms --mode "$size" --count 120 ${BREAK:+--break} >"$out" 2>&1
	local rc=$?
	cat "$out"
	cp "$out" "$OUT/"
	if [ "$rc" = 0 ]; then
		ok "flips, atomic commits and vblank waits paced at the refresh on $mon"
	else
		bad "flipcheck on $mon ($(grep -c '^not ok' "$out") checks failed)"
	fi

	# Modes made up by userspace that the adapter cannot scan out as
	# programmed (interlace, doublescan, timings past the 16-bit counters,
	# a refresh under 20 Hz) are refused by SETCRTC and atomic commits,
	# TEST_ONLY or not; the monitor's own mode still works (modecheck).
	if [ "$mon" = vga768 ]; then
		"$TOOLS/modecheck" --driver dlkms ${BREAK:+--break} >/tmp/modecheck.log 2>&1
		rc=$?
		cat /tmp/modecheck.log
		cp /tmp/modecheck.log "$OUT/"
		if [ "$rc" = 0 ]; then
			ok "modecheck: impossible modes refused with EINVAL, the monitor's mode works"
		else
			bad "modecheck on $mon ($(grep -c '^not ok' /tmp/modecheck.log) checks failed)"
		fi
		wait_mode "$size" 30 || fail "no $size mode after modecheck"
	fi

	# modetest prints its rate only every 60 flips, and full 1080p frames
	# take too long under TCG for that within a test's time: modetest runs
	# on the smaller monitor only (flipcheck above covers 1080p).
	if [ "$mon" = dvi1080 ]; then
		say "# modetest -v: run on vga768 only"
		stop_emu
		for i in $(seq 1 50); do card_of dlkms >/dev/null || break; sleep 0.1; done
		return 0
	fi
	# modetest's own page-flip loop: it prints "freq: N Hz" every 60 flips.
	# It must keep flipping (at least one report) and never beat the
	# refresh; "break" demands twice the refresh instead.
	wait_mode "$size" 30 || fail "no $size mode after flipcheck"
	hz=$(refresh_of)
	conn=$(modetest -M dlkms -c 2>/dev/null | awk '$3 == "connected" { print $1; exit }')
	[ -n "$conn" ] || fail "modetest sees no connected connector"
	rm -f /tmp/mt.in
	mkfifo /tmp/mt.in
	sleep 1000 >/tmp/mt.in &
	keep=$!
	modetest -M dlkms -s "$conn:$size" -v </tmp/mt.in >"/tmp/mt-$mon.out" 2>&1 &
	mt=$!
	sleep 10
	kill "$mt" 2>/dev/null
	wait "$mt" 2>/dev/null
	kill "$keep" 2>/dev/null
	wait "$keep" 2>/dev/null
	cp "/tmp/mt-$mon.out" "$OUT/"
	n=$(grep -c 'freq:' "/tmp/mt-$mon.out")
	[ "$n" -ge 1 ] || { tail -n 5 "/tmp/mt-$mon.out"; bad "modetest printed no freq report in 10 s on $mon"; }
	off=$(grep -o 'freq: [0-9.]*' "/tmp/mt-$mon.out" | awk -v h="$hz" -v brk="$BREAK" '
		{ f = $2 + 0; if (brk ? f < 2 * h : f > 1.05 * h) printf "%s ", f }')
	local figs
	figs=$(grep -o 'freq: [0-9.]*' "/tmp/mt-$mon.out" | awk '
		{ f = $2 + 0; s += f; if (NR == 1 || f < mn) mn = f; if (f > mx) mx = f }
		END { if (NR) printf "mean %.2f Hz, min %.2f, max %.2f over %d reports", s / NR, mn, mx, NR }')
	if [ -n "$off" ]; then
		bad "modetest -v on $mon: freq $off against refresh $hz Hz ($figs)"
	elif [ "$n" -ge 1 ]; then
		ok "modetest -v on $mon keeps flipping, $figs, not above the refresh $hz Hz"
	fi

	stop_emu
	for i in $(seq 1 50); do card_of dlkms >/dev/null || break; sleep 0.1; done
}

run_monitor dvi1080 1920x1080
run_monitor vga768 1024x768
for i in $(seq 1 50); do [ "$(cat /sys/module/dlkms/refcnt)" = 0 ] && break; sleep 0.1; done
[ "$(cat /sys/module/dlkms/refcnt)" = 0 ] || fail "dlkms refcount $(cat /sys/module/dlkms/refcnt) after unplug"
rmmod dlkms || fail "rmmod dlkms"
ok "rmmod dlkms after two unplugs"
[ "$NBAD" = 0 ] || { say "$NBAD pacing checks failed"; exit 1; }
