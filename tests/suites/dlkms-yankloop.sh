#!/bin/bash
# Random yank/replug cycles (tests/tools/yankloop): each cycle plugs the
# emulated adapter, runs one random workload on dlkms (commit storms,
# flips, modesets, fbcon text, a lease, mmap and dma-buf loops, dumb churn,
# URBs stalled in the device, or a yank in the middle of probe), yanks it
# at a random moment and judges what the workload saw, the final release
# of the device and the kernel log. First one cycle with every check
# inverted must fail, to show the checks can.
#   dlkms-yankloop.sh [CYCLES [SEED]]   default 200 cycles, a random seed
#   dlkms-yankloop.sh break             only that inverted cycle, whose
#                                       failure is the suite's
# rig-timeout: 720
. tests/suites/lib.sh
BREAK=
[ "${1:-}" != break ] || { BREAK=1; shift; }
CYCLES=${1:-200}
SEED=${2:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
forbid_module udl
modprobe vgem || fail "modprobe vgem"
load_dlkms
start_emu vga600
wait_usb_bound dlkms 30 || fail "dlkms did not bind the emulated adapter"
wait_card dlkms 30 >/dev/null || fail "no dlkms card"
echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null

"$TOOLS/yankloop" --break --seed "$SEED" >/tmp/yankloop-break.log 2>&1
rc=$?
sed 's/^/# break run: /' /tmp/yankloop-break.log
[ -z "$BREAK" ] || fail "[break] yankloop --break exited $rc: $(grep -m1 '^not ok' /tmp/yankloop-break.log)"
[ "$rc" = 1 ] && grep -q '^not ok - cycle 1 ' /tmp/yankloop-break.log ||
	fail "yankloop --break (every check inverted) exited $rc without a failed cycle"
ok "yankloop --break fails its cycle, as it must"

"$TOOLS/yankloop" --cycles "$CYCLES" --seed "$SEED" | tee "$OUT/yankloop.log"
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] || fail "yankloop: exit $rc (reproduce: yankloop --seed $SEED)"
stop_emu
for i in $(seq 1 50); do [ "$(cat /sys/module/dlkms/refcnt)" = 0 ] && break; sleep 0.1; done
rmmod dlkms || fail "rmmod dlkms after $CYCLES cycles"
ok "$CYCLES yank/replug cycles with random workloads, seed $SEED"
