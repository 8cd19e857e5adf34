#!/bin/bash
# Undocked while asleep: the laptop suspends with the adapter attached and
# a master holding everything the hot-unplug contract talks about
# (tests/tools/yankcheck: a mode set, a mapped dumb buffer, a dma-buf, a
# lease), and the adapter is gone when it wakes. The system resume must
# complete, promptly and without a failed device callback; then the yank
# path runs as for any yank, and yankcheck judges the whole contract after
# it. Everything closed, the device is released once and the module
# unloads; the adapter plugged in again later is a new card, lit as before.
#
# The emulator is frozen with the rest of userspace while the system
# sleeps, so it takes its unplug at the first thing it reads after the
# thaw: the USB suspend it saw (emulator command sleep-unplug). The host
# has resumed the adapter by then and finds it gone right after, the order
# of a dock that drops off the bus as the laptop wakes.
#   dlkms-undock.sh [break]   "break" turns every check against the truth
# rig-sleeps: yes
# rig-timeout: 300
. tests/suites/lib.sh
BREAK=${1:-}
NBAD=0
forbid_module udl
modprobe vgem || fail "modprobe vgem"
load_dlkms

start_emu vga768
wait_usb_bound dlkms 30 || fail "dlkms did not bind the emulated adapter"
card=$(wait_card dlkms 30) || fail "no dlkms card"
wait_mode 1024x768 60 >/dev/null || fail "fbcon did not light 1024x768"
ok "dlkms bound, $card, fbcon at 1024x768"
n0=$(released)
exits0=$(dmesg | grep -c 'PM: suspend exit')

# The yank yankcheck is handed: arm the emulator, then one pm_cycle. Its
# exit status is that of the write to /sys/power/state; the seconds it
# took go to a file.
cat >/tmp/undock.sh <<EOF
#!/bin/bash
"$EMU" ctl --socket "$EMU_SOCK" sleep-unplug on >/dev/null || exit 2
echo devices >/sys/power/pm_test || exit 3
[ ! -w /sys/module/suspend/parameters/pm_test_delay ] ||
	echo 1 >/sys/module/suspend/parameters/pm_test_delay
t0=\$(cut -d' ' -f1 /proc/uptime)
echo freeze >/sys/power/state
rc=\$?
awk -v t0="\$t0" '{ printf "%.1f\\n", \$1 - t0 }' /proc/uptime >/tmp/undock.seconds
exit \$rc
EOF
chmod +x /tmp/undock.sh

timeout 150 "$TOOLS/yankcheck" --driver dlkms ${BREAK:+--break} \
	--yank-cmd /tmp/undock.sh >/tmp/undock.log 2>&1
rc=$?
cat /tmp/undock.log
cp /tmp/undock.log "$OUT/"
[ "$rc" = 0 ] || bad "yankcheck with an undock while asleep as the yank: exit $rc," \
	"$(grep -c '^not ok' /tmp/undock.log) checks failed"

secs=$(cat /tmp/undock.seconds 2>/dev/null || echo none)
check "$(yes_if awk -v s="$secs" 'BEGIN { exit !(s != "none" && s < 30) }')" \
	"the system suspend and resume returned in $secs s (pm_test_delay 1 s; bound 30 s)"
check "$(is "$(($(dmesg | grep -c 'PM: suspend exit') - exits0))" 1)" \
	"the kernel logged one suspend exit"
failed=$(dmesg | grep -E 'PM: (Some devices failed|Device .* failed|dpm_run_callback|.*returns -)' | head -n 3)
check "$(is "$failed" "")" "no device failed its suspend or resume callback${failed:+: $failed}"
check "$(yes_if grep -q 'unplugged while suspended' /tmp/dlemu.log)" \
	"the emulator unplugged at the suspend it saw"
check "$(yes_if test ! -e "$card")" "$card is gone after the wake-up"

# the final release: once, and the module is free
for _ in $(seq 1 100); do
	[ "$(($(released) - n0))" -ge 1 ] && [ "$(refcnt)" = 0 ] && break
	sleep 0.1
done
sleep 0.3
check "$(is "$(($(released) - n0))" 1)" "yankcheck closed everything: \"released\" logged $(($(released) - n0)) time(s), want 1"
check "$(is "$(refcnt)" 0)" "yankcheck closed everything: /sys/module/dlkms/refcnt is $(refcnt)"

# docked again later: a new card, lit as before
emu replug >/dev/null || fail "emulator: replug"
wait_usb_bound dlkms 30 || fail "dlkms did not bind the adapter plugged in again"
card2=$(wait_card dlkms 30) || fail "no dlkms card after the replug"
check "$(yes_if wait_mode 1024x768 60)" "docked again: $card2, fbcon lit 1024x768 again"
stop_emu
for _ in $(seq 1 50); do [ "$(refcnt)" = 0 ] && break; sleep 0.1; done
if rmmod dlkms 2>/tmp/rmmod.err; then
	check true "rmmod dlkms succeeds at the end"
else
	check false "rmmod dlkms at the end: $(cat /tmp/rmmod.err)"
fi

[ "$NBAD" = 0 ] || fail "$NBAD checks failed"
say "dlkms-undock: ok"
