#!/bin/bash
# A dock's sleep with the adapter attached, each cycle with its check:
#   1. system suspend and resume (s2idle, pm_test=devices: every device's
#      callbacks, no real sleep) while the adapter loses its power (the
#      emulator's sleep-loses: memory, registers and channel gone);
#   1b. a real suspend to RAM (ACPI S3), woken by the RTC (rtcwake);
#   1c. a suspend that finds a transfer the adapter stopped taking
#      part-way (it stopped draining);
#   2. hibernation's freeze and thaw (pm_test=devices: the image is not
#      written);
#   3. a USB reset of the adapter (USBDEVFS_RESET, as usbreset does):
#      pre_reset / post_reset;
#   4. a suspend that the USB core resumes with a reset (the RESET_RESUME
#      quirk, as for a device that lost its power);
#   5. re-docked to another monitor while asleep (the emulator swaps the
#      monitor at the USB suspend): a HOTPLUG=1 uevent at resume, the new
#      monitor's modes, and a client's new mode lit pixel-exact; and back;
#   6. then flips, commits and vblank waits paced at the refresh;
#   7. page flips going on across a system suspend and across a USB
#      reset: every event, monotonic and paced (flipcheck --across), a
#      dma-buf held across, and the flips through a lease's lessee.
# After each it must still be the same DRM device -- no unplug, no new
# probe, the same minor, a client's fd and mapping held across -- and the
# adapter must show the picture from before (modetest's, set before the
# cycle) again pixel for pixel. Last, in-tree udl goes through 1 and 3 on the
# same emulator, and what it kept is printed beside (not judged).
#   dlkms-suspend.sh [break]   "break" turns every check against the truth
# rig-sleeps: yes
# rig-timeout: 400
. tests/suites/lib.sh
BREAK=${1:-}
forbid_module udl
load_dlkms

start_emu vga768
card=$(wait_card dlkms 30) || fail "no dlkms card"
wait_mode 1024x768 60 || fail "fbcon did not light 1024x768"
ok "dlkms bound, $card, fbcon at 1024x768"

hold_card "$card" map || fail "could not hold $card"
ok "a client holds $card (minor $HELD_MINOR) with a mapped buffer"

# A still picture to hold against: modetest's pattern, set by a master that
# stays. Not fbcon's: the system suspend switches the console to another
# VT, whose redraw is then in flight -- the adapter would take it, but the
# emulator, frozen with the rest of userspace, reads a packet of it only
# after the power loss it models, and shows it over the picture resent.
MT= DRV=dlkms
start_picture() {
	local conn
	conn=$(modetest -M "$DRV" -c 2>/dev/null | awk '$3 == "connected" { print $1; exit }')
	[ -n "$conn" ] || fail "modetest sees no connected connector"
	rm -f /tmp/mt.in
	mkfifo /tmp/mt.in
	sleep 100000 >/tmp/mt.in &
	MT_KEEP=$!
	stdbuf -oL modetest -M "$DRV" -s "$conn:1024x768" </tmp/mt.in >/tmp/mt.out 2>&1 &
	MT=$!
	wait_for 30 grep -q '^setting mode' /tmp/mt.out || { cat /tmp/mt.out; fail "modetest set no mode"; }
}
stop_picture() {
	[ -n "$MT" ] || return 0
	kill "$MT" "$MT_KEEP" 2>/dev/null
	wait "$MT" "$MT_KEEP" 2>/dev/null
	MT=
}
start_picture
trap 'stop_picture; cleanup_suite' EXIT

settle_frame /tmp/ref.raw || fail "the frame did not settle before the first cycle"
black=$(frame_pixels 000000)
[ "$black" -lt 700000 ] || fail "no picture to hold against ($black of 786432 pixels black)"
ok "reference frame taken (modetest's pattern, $black pixels black)"

# same_frame: the decoded frame equals the reference
same_frame() { emu frame-raw /tmp/now.raw >/dev/null && cmp -s /tmp/ref.raw /tmp/now.raw; }


# after_wake_device LABEL UNPLUGS PROBES: still the same device and client
after_wake_device() {
	local label=$1 unplugs=$2 probes=$3 c
	check "$(is "$(dmesg | grep -c 'adapter unplugged')" "$unplugs")" \
		"$label: no unplug of the adapter"
	check "$(is "$(dmesg | grep -c 'Initialized dlkms')" "$probes")" \
		"$label: no new DRM device"
	c=$(card_of dlkms)
	check "$(is "$c" "$card")" "$label: still $card (now ${c:-none})"
	check "$(yes_if kill -0 "$HOLDER")" "$label: the client holding minor $HELD_MINOR is still there"
}

# after_wake LABEL UNPLUGS PROBES: that, and the picture from before is back
after_wake() {
	local label=$1
	after_wake_device "$@"
	check "$(yes_if wait_for 90 same_frame)" \
		"$label: the adapter shows the picture from before again, pixel for pixel"
	if ! same_frame; then
		cp /tmp/now.raw "$OUT/$label-frame.raw" 2>/dev/null
		say "# $label: $(cmp /tmp/ref.raw /tmp/now.raw 2>&1 | head -n 1)"
		cp /tmp/dlemu.log "$OUT/dlemu-$label.log" 2>/dev/null
	fi
}

usb_reset() {
	local dev
	dev=$(usb_iface)/..
	python3 -c '
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
fcntl.ioctl(fd, 0x5514)  # USBDEVFS_RESET
os.close(fd)' "/dev/bus/usb/$(printf %03d "$(cat "$dev/busnum")")/$(printf %03d "$(cat "$dev/devnum")")"
}

unplugs=$(dmesg | grep -c 'adapter unplugged')
probes=$(dmesg | grep -c 'Initialized dlkms')

# 1. system suspend and resume; the adapter loses its power meanwhile
emu sleep-loses on >/dev/null || fail "emulator: sleep-loses"
s0=$(emu_stat suspends)
pm_cycle || fail "the system suspend failed: $?"
say "# suspend: $(dmesg | grep -E 'PM: suspend (entry|exit)' | tail -n 2 | tr '\n' ' ')"
check "$(is "$(emu_stat suspends)" "$((s0 + 1))")" "suspend: the adapter saw a USB suspend"
after_wake suspend "$unplugs" "$probes"

# 1b. a real suspend to RAM: ACPI S3 (mem_sleep "deep"), the whole machine
# down, woken by the RTC 5 s later (rtcwake), no pm_test. QEMU's RTC
# alarm wakes S3 but not s2idle, so this cycle is deep; 1 covers s2idle.
grep -qw deep /sys/power/mem_sleep || fail "no deep sleep offered (mem_sleep: $(cat /sys/power/mem_sleep))"
echo none >/sys/power/pm_test
echo deep >/sys/power/mem_sleep
s0=$(emu_stat suspends)
rtcwake -m mem -s 5 >/tmp/rtcwake.log 2>&1 || fail "rtcwake -m mem -s 5 failed: $(cat /tmp/rtcwake.log)"
say "# S3: $(dmesg | grep -E 'PM: suspend (entry|exit)|Waking up from system sleep state' | tail -n 3 | tr '\n' ' ')"
check "$(yes_if grep -q 'ACPI: PM: Waking up from system sleep state S3' <(dmesg))" "S3: the machine went down to S3 and woke"
check "$(is "$(emu_stat suspends)" "$((s0 + 1))")" "S3: the adapter saw a USB suspend"
after_wake S3 "$unplugs" "$probes"

# 1c. an adapter that stopped taking data in the middle of a transfer when
# the suspend came: it stops (drain stop-after) part-way into the resend
# that follows a wake-up, so the next suspend finds URBs it will not
# complete. After the wake-up the adapter (drained again) must show the
# picture from before, with no malformed command.
# Under dummy_hcd every system resume is a reset-resume (the root hub's
# suspend drops the port's enable): the adapter's parser starts afresh,
# and the driver must not send it the rest of a command cut by a kill
# (dlkms_send_owed() is for a plain resume: dlkms-autosuspend has one).
# owed_sent is printed, not judged.
emu sleep-loses off >/dev/null || fail "emulator: sleep-loses off"
owed0=$(drv_stat "$card" owed_sent)
mal0=$(emu_stat malformed)
resets=$(dmesg | grep -c 'reset high-speed USB device')
emu drain stop-after 20000 >/dev/null || fail "emulator: drain stop-after"
pm_cycle || fail "the system suspend failed: $?"
wait_for 30 grep -q 'drain stop-after: stopped' /tmp/dlemu.log ||
	fail "the resend after the first wake-up did not reach 20000 bytes"
pm_cycle || fail "the system suspend failed: $?"
emu drain normal >/dev/null || fail "emulator: drain normal"
say "# stopped: $(grep 'drain stop-after: stopped' /tmp/dlemu.log | tail -n 1); resets at resume $(($(dmesg | grep -c 'reset high-speed USB device') - resets)) of 2; owed_sent ${owed0:-?} -> $(drv_stat "$card" owed_sent)"
after_wake stopped "$unplugs" "$probes"
check "$(is "$(emu_stat malformed)" "$mal0")" "stopped: the adapter read no malformed command"
emu sleep-loses on >/dev/null || fail "emulator: sleep-loses"

# 2. hibernation: freeze, then thaw (pm_test=devices stops before the
# image is written). The USB core calls the same suspend and resume
# callbacks; the host controller's freeze suspends its root hub, and with
# it the adapter's port, so the adapter sees a USB suspend (and, with
# sleep-loses still on, loses its power) as in 1.
grep -qw disk /sys/power/state || fail "this kernel offers no hibernation (/sys/power/state: $(cat /sys/power/state))"
s0=$(emu_stat suspends)
echo devices >/sys/power/pm_test && echo disk >/sys/power/state || fail "hibernation (pm_test=devices) failed: $?"
say "# hibernation: $(dmesg | grep -E 'hibernation (entry|exit)' | tail -n 2 | tr '\n' ' ')"
check "$(is "$(emu_stat suspends)" "$((s0 + 1))")" "hibernation: the adapter saw a USB suspend"
after_wake hibernation "$unplugs" "$probes"

# 3. a USB reset from userspace: pre_reset / post_reset
c0=$(emu_stat connects)
usb_reset || fail "USBDEVFS_RESET failed"
check "$(is "$(emu_stat connects)" "$((c0 + 1))")" "reset: the adapter was reset and configured again"
after_wake reset "$unplugs" "$probes"

# 4. a resume that resets the device (power lost, RESET_RESUME quirk):
# the quirk is read at enumeration, so the adapter is plugged in again
# under it; that is a yank (the holder's device) and a new device. Not
# with sleep-loses on: dummy_hcd reports the unplug to the adapter as a
# suspend first, and its power loss would come before packets already
# on their way.
stop_picture
let_go || bad "the client's mapping or fd did not survive"
echo "17e9:$(cat "$(usb_iface)/../idProduct"):b" >/sys/module/usbcore/parameters/quirks
emu sleep-loses off >/dev/null || fail "emulator: sleep-loses"
emu yank >/dev/null && emu replug >/dev/null || fail "emulator: replug"
for i in $(seq 1 100); do c=$(card_of dlkms) && [ "$c" != "$card" ] && break; sleep 0.1; done
card=$(wait_card dlkms 30) || fail "no dlkms card after the replug"
wait_mode 1024x768 60 || fail "fbcon did not light the replugged adapter"
hold_card "$card" map || fail "could not hold $card"
start_picture
settle_frame /tmp/ref.raw || fail "the frame did not settle after the replug"
emu sleep-loses on >/dev/null || fail "emulator: sleep-loses"
unplugs=$(dmesg | grep -c 'adapter unplugged')
probes=$(dmesg | grep -c 'Initialized dlkms')
resets=$(dmesg | grep -c 'reset high-speed USB device')
pm_cycle || fail "the system suspend failed: $?"
check "$(yes_if test "$(dmesg | grep -c 'reset high-speed USB device')" -gt "$resets")" \
	"reset-resume: the USB core reset the adapter at resume"
after_wake reset-resume "$unplugs" "$probes"
echo >/sys/module/usbcore/parameters/quirks

# 5. re-docked to another monitor while asleep, then back to the first:
# the wake-up reprobes the connector and sends a hotplug uevent, as the
# output poll would ten seconds later; a client then lights the new
# monitor's mode. (The picture from before is not checked here: the new
# monitor has another mode, which modetest does not change.)
cat >/tmp/uevlisten.py <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 15)
s.bind((0, 1))
f = open(sys.argv[1], "a", buffering=1)
f.write("ready\n")
while True:
    kv = dict(p.split(b"=", 1) for p in s.recv(65536).split(b"\0") if b"=" in p)
    if kv.get(b"SUBSYSTEM") == b"drm" and kv.get(b"HOTPLUG") == b"1":
        f.write("%.3f hotplug %s\n" % (time.monotonic(), kv.get(b"DEVNAME", b"").decode()))
PY
UEV=/tmp/uev.log
: >"$UEV"
python3 /tmp/uevlisten.py "$UEV" &
LISTENER=$!
trap 'kill "$LISTENER" 2>/dev/null; stop_picture; cleanup_suite' EXIT
wait_for 5 grep -q ready "$UEV" || fail "uevent listener did not start"
hotplugs() { grep -c " hotplug dri/${card##*/}\$" "$UEV"; }
# modes CONNECTOR: what GETCONNECTOR offers, as a master probes it
modes() { modetest -M dlkms -c 2>/dev/null | awk '/^  modes:/ { m = 1; next } m && $2 ~ /^[0-9]+x[0-9]+/ { print $2 } /^  props:/ { m = 0 }' | sort -u | tr '\n' ' '; }

redock() {
	local label=$1 mon=$2 size=$3 h0
	h0=$(hotplugs)
	emu sleep-monitor "$mon" >/dev/null || fail "emulator: sleep-monitor $mon"
	pm_cycle || fail "the system suspend failed: $?"
	after_wake_device "$label" "$unplugs" "$probes"
	check "$(yes_if wait_for 30 test "$(hotplugs)" -gt "$h0")" \
		"$label: a HOTPLUG=1 uevent on $card after the wake-up ($(($(hotplugs) - h0)))"
	stop_picture
	check "$(yes_if wait_for 30 eval '[[ " $(modes) " == *" $size "* ]]')" \
		"$label: the connector offers $mon's $size (modes: $(modes))"
	"$TOOLS/dlpattern" --driver dlkms --format xrgb8888 --mode "$size" >"$OUT/dlpattern-$label.log" 2>&1
	check "$(is $? 0)" "$label: a client lights $size on $mon, pixel-exact (dlpattern)"
}
redock redock dvi1080 1920x1080
redock redock-back vga768 1024x768
check "$(yes_if test "$(emu_stat suspends)" -ge 2)" "redock: the adapter saw the suspends"

# 6. commits and events after all that, on the same device
stop_picture
out=/tmp/flipcheck.log
"$TOOLS/flipcheck" --driver dlkms --mode 1024x768 --count 30 >"$out" 2>&1
rc=$?
cp "$out" "$OUT/" 2>/dev/null
check "$(is "$rc" 0)" "after the wake-ups: flips, commits and vblank waits paced at the refresh ($(grep -c '^ok' "$out") ok, $(grep -c '^not ok' "$out") not ok)"

# 7. flips going on across a system suspend, a real S3 (as 1b) and a USB
# reset: each flip's event comes, the vblank sequence and
# timestamps stay monotonic and on the frame grid, the flips go on at the
# refresh after. The suspend freezes the client, maybe with a flip
# pending; the reset does not, and its commits go on while the adapter is
# away. flipcheck runs the command itself (--across): these scripts.
dev=$(usb_iface)/..
cat >/tmp/across-suspend.sh <<EOF
#!/bin/bash
echo devices >/sys/power/pm_test || exit 3
[ ! -w /sys/module/suspend/parameters/pm_test_delay ] ||
	echo 1 >/sys/module/suspend/parameters/pm_test_delay
echo freeze >/sys/power/state
EOF
cat >/tmp/across-reset.sh <<EOF
#!/bin/bash
exec python3 -c 'import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_WRONLY); fcntl.ioctl(fd, 0x5514); os.close(fd)' \
	/dev/bus/usb/$(printf %03d "$(cat "$dev/busnum")")/$(printf %03d "$(cat "$dev/devnum")")
EOF
cat >/tmp/across-s3.sh <<EOF
#!/bin/bash
echo none >/sys/power/pm_test || exit 3
exec rtcwake -m mem -s 5
EOF
chmod +x /tmp/across-suspend.sh /tmp/across-s3.sh /tmp/across-reset.sh
# The adapter keeps its power here: a flip's transfer in flight at the
# suspend may sit in a read the frozen emulator completes only after it
# has modelled the power loss, and would be counted as graphics sent with
# no channel. 1 above shows what a power loss needs, with a still picture.
emu sleep-loses off >/dev/null || fail "emulator: sleep-loses off"
# Each holds a dma-buf of a flipped buffer across (mapped before, read and
# written after); the S3 and reset runs flip through a lease's lessee fd.
for what in suspend s3 reset; do
	out=/tmp/across-$what.log
	c0=$(emu_stat connects)
	lease=
	[ "$what" = suspend ] || lease=--lease
	"$TOOLS/flipcheck" --driver dlkms --mode 1024x768 --count 60 --test across \
		--across /tmp/across-$what.sh $lease ${BREAK:+--break} >"$out" 2>&1
	rc=$?
	cp "$out" "$OUT/" 2>/dev/null
	grep -E '^(ok|not ok|# across)' "$out" | sed "s/^#* */# $what: /"
	check "$(is "$rc" 0)" "flips across a $what${lease:+ through a lease}: every event, monotonic and paced, the dma-buf held intact" \
		"($(grep -c '^ok' "$out") ok, $(grep -c '^not ok' "$out") not ok${BREAK:+; flipcheck --break})"
	[ "$rc" = 0 ] || grep '^not ok' "$out" | head -n 5
	[ "$what" != reset ] ||
		check "$(is "$(emu_stat connects)" "$((c0 + 1))")" "$what: the adapter was reset and configured again under the flips"
done
after_wake_device "flips across" "$unplugs" "$probes"

let_go || bad "the client's mapping or fd did not survive"
stop_emu
kill "$LISTENER" 2>/dev/null

# 8. in-tree udl beside it: the suspend and the USB reset of 1 and 3 on the
# same emulator, measured and reported (README's udl column), not judged.
# udl's resume does not select the channel again, so after a power loss
# the adapter drops its commands: the emulator is told to expect that.
rmmod dlkms || fail "rmmod dlkms"
sed -i '/ udl\b/d' /etc/modprobe.d/dlkms-suite.conf
modprobe udl || fail "modprobe udl"
EMU_EXPECT_IGNORED="udl beside dlkms: its resume sends graphics with no channel selected after a power loss"
# udl has no pre_reset/post_reset: the USB reset unbinds it with a transfer
# in flight, and the adapter reads the rebound udl's first bytes as the
# rest of the command cut. Seen once in CI on 7.2, and not in which
# step: the count is printed after each step and at the end.
EMU_EXPECT_MALFORMED="udl beside dlkms: a USB reset unbinds udl in the middle of a command"
EMU_READ_LEN=512
start_emu vga768
card=$(wait_card udl 30) || fail "no udl card"
wait_mode 1024x768 60 || fail "fbcon did not light 1024x768 on udl"
hold_card "$card" map || fail "could not hold $card"
DRV=udl start_picture
settle_frame /tmp/ref.raw || fail "udl: the frame did not settle"
probes=$(dmesg | grep -c 'Initialized udl')
# udl_after LABEL: one line of what udl kept
udl_after() {
	local c pic=no
	c=$(card_of udl)
	wait_for 30 same_frame && pic=yes
	say "# udl, $1: card ${c:-none} (was $card), new probes $(($(dmesg | grep -c 'Initialized udl') - probes)), holder $(kill -0 "$HOLDER" 2>/dev/null && echo alive || echo gone), picture from before back: $pic, malformed commands so far: $(emu_stat total_malformed)"
}
emu sleep-loses on >/dev/null || fail "emulator: sleep-loses"
pm_cycle || say "# udl: the system suspend failed: $?"
udl_after "suspend with the power lost"
usb_reset || say "# udl: USBDEVFS_RESET failed"
udl_after "USB reset"
stop_picture
let_go || say "# udl: the holder's mapping or fd did not survive"
say "# udl, at the end: malformed commands $(emu_stat total_malformed)"
stop_emu

[ "$NBAD" = 0 ] || fail "$NBAD checks failed"
say "dlkms-suspend: ok"
