#!/bin/bash
# The DRM hot-unplug contract (uAPI doc, "Device Hot-Unplug") on dlkms:
# tests/tools/yankcheck yanks the adapter under a master with a mode set, a
# mapped dumb buffer, an exported dma-buf and a lease, and checks what the
# doc asks of connectors, commits, events, leases, maps and the old node.
# Around it, this suite checks the lifetime: the device is released (the
# "released" log line, once) and the module unloads only after the last fd,
# mmap or dma-buf is gone -- and not before, while only a mapping or only a
# dma-buf fd is still held; a replug with an old fd still open is a new card
# with another minor, pixel-exact. Kprobes on usbcore show the driver's URBs
# freed at the yank and the usb_device released by the final release. Then
# the same tool runs on in-tree udl, as information only. No connector poll
# touches the gone device (a kprobe on its detect), and an open CRC file
# holds the device until it is closed.
#   dlkms-unplug.sh [break]   "break" inverts every expectation, of the tool
#                             and of this suite, to show each check goes
#                             red (the run must then fail)
. tests/suites/lib.sh
BREAK=${1:-}
NBAD=0
MON=vga768
SIZE=1024x768
forbid_module udl

# wait_released N0 WANT: wait until the log has WANT more "released" lines than
# N0 and nothing holds the module (10 s), then print the count of new lines
wait_released() {
	local n0=$1 want=$2 i
	for i in $(seq 1 100); do
		[ "$(($(released) - n0))" -ge "$want" ] && [ "$(refcnt)" = 0 ] && break
		sleep 0.1
	done
	sleep 0.3	# a second release line would be a bug: give it time to show
	echo $(($(released) - n0))
}

# 6, seen from usbcore: no reference to the usb_device or to one of the
# driver's URBs outlives the device. sysfs cannot tell (the usb device's
# directory goes at device_del() whoever still holds it), so two kprobes
# record the frees themselves: usb_release_dev(), the release of a
# usb_device, run when its last reference goes (the name is read from the
# kobject, the first member of struct device), and usb_free_urb() entered
# with the URB's refcount at 1, the put that frees it (urb_destroy() is
# inlined there). The pipe sits at offset 80 of struct urb on all three
# kernels (x86_64); the driver's URBs are the bulk ones of the adapter's
# device number. A wrong offset or name matches nothing: the check fails.
TR=/sys/kernel/tracing
trace_usb() {
	[ -d "$TR/events" ] || mount -t tracefs nodev "$TR" || fail "mount tracefs"
	if [ ! -d "$TR/events/kprobes/dlkms_urb_free" ]; then
		echo 'p:dlkms_urb_free usb_free_urb ref=+0(%di):u32 pipe=+80(%di):u32' \
			>>"$TR/kprobe_events" || fail "kprobe on usb_free_urb"
		echo 'p:dlkms_udev_release usb_release_dev name=+0(+0(%di)):string' \
			>>"$TR/kprobe_events" || fail "kprobe on usb_release_dev"
	fi
	echo 'ref == 1' >"$TR/events/kprobes/dlkms_urb_free/filter" || fail "kprobe filter"
	echo 1 >"$TR/events/kprobes/enable" || fail "enable kprobes"
}
# urbs_freed DEVNUM: bulk URBs of that USB device number freed since the plug
urbs_freed() {
	sed -n 's/.* dlkms_urb_free: .* pipe=\([0-9]*\)$/\1/p' "$TR/trace" |
		awk -v d="$1" '$1 >= 3 * 2^30 && int($1 / 256) % 128 == d { n++ } END { print n + 0 }'
}
# udev_released NAME: usb_device releases of that name (1-1) since the plug
udev_released() { grep -c " dlkms_udev_release: .* name=\"$1\"" "$TR/trace"; }

# plug: (re)load dlkms, plug the adapter; CARD is its card once fbcon lit it,
# UDEV its usb device's name, DEVNUM its device number, URBS the driver's
# URB count. The trace starts afresh: names and numbers are used again.
CARD='' UDEV='' DEVNUM='' URBS=''
plug() {
	: >"$TR/trace"
	if [ ! -d /sys/module/dlkms ]; then load_dlkms; fi
	if [ -z "$EMU_PID" ]; then start_emu "$MON"; else emu replug >/dev/null || fail "replug"; fi
	wait_usb_bound dlkms 30 || fail "dlkms did not bind the emulated adapter"
	CARD=$(wait_card dlkms 30) || fail "no dlkms card"
	wait_mode "$SIZE" 60 >/dev/null || fail "emulator did not decode $SIZE from dlkms"
	UDEV=$(basename "$(readlink -f "$(usb_iface)/..")")
	DEVNUM=$(cat "$(usb_iface)/../devnum")
	URBS=$(drv_stat "$CARD" urbs)
}

# usb_released WHAT: the device's URBs were all freed, its usb_device released once
usb_released() {
	local n
	n=$(urbs_freed "$DEVNUM")
	check "$(is "$n" "$URBS")" "$1: $n of the driver's $URBS URBs freed (device $DEVNUM)"
	n=$(udev_released "$UDEV")
	check "$(is "$n" 1)" "$1: the usb_device $UDEV released $n time(s), want 1"
}

wait_gone() {
	local i
	for i in $(seq 1 100); do [ -e "$1" ] || return 0; sleep 0.1; done
	return 1
}

# unload_after WHAT N0 WANT: the device is released WANT times, refcnt 0, rmmod works
unload_after() {
	local what=$1 n0=$2 want=$3 n
	n=$(wait_released "$n0" "$want")
	check "$(is "$(refcnt)" 0)" "$what: /sys/module/dlkms/refcnt is $(refcnt)"
	if rmmod dlkms 2>/tmp/rmmod.err; then
		check true "$what: rmmod dlkms succeeds"
	else
		check false "$what: rmmod dlkms: $(cat /tmp/rmmod.err)"
		dmesg | tail -n 20 | sed 's/^/    /'
	fi
	n=$(($(released) - n0))
	check "$(is "$n" "$want")" "$what: \"released\" logged $n time(s), want $want"
}

modprobe vgem || fail "modprobe vgem"
modprobe usbcore || fail "modprobe usbcore"
trace_usb
echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null

# No connector poll of a gone device: a kprobe on the connector's detect
# tells the output poll worker's calls (a kworker) from those of a master's
# GETCONNECTOR (yankcheck), between yankcheck's trace markers for the
# node's removal and the end of its lingering with everything held (15 s,
# more than the poll's 10 s period, after a last GETCONNECTOR).
DETECT=dlkms_connector_helper_detect_ctx
detect_probe() {
	if [ "$1" = on ]; then
		echo "p:dlkms_detect dlkms:$DETECT" >>"$TR/kprobe_events" ||
			fail "kprobe on $DETECT"
		echo 1 >"$TR/events/kprobes/dlkms_detect/enable" || fail "enable the detect kprobe"
	else
		echo 0 >"$TR/events/kprobes/dlkms_detect/enable"
		echo "-:dlkms_detect" >>"$TR/kprobe_events"
	fi
}
# detects_after_yank COMM: detect calls by tasks named COMM* while yankcheck lingered
detects_after_yank() {
	awk -v c="$1" '/yankcheck: the node is gone/ { on = 1 } /yankcheck: done lingering/ { on = 0 }
		on && / dlkms_detect: / { sub(/^ +/, ""); if (index($1, c) == 1) n++ }
		END { print n + 0 }' "$TR/trace"
}

# 1-5, 8: the tool, from a master fd with everything the doc talks about
plug
card=$CARD
ok "dlkms bound, $card ($MON), fbcon lit $SIZE"
n0=$(released)
detect_probe on
timeout 150 "$TOOLS/yankcheck" --driver dlkms --linger 15 ${BREAK:+--break} >/tmp/yank1.log 2>&1
rc=$?
cat /tmp/yank1.log
cp /tmp/yank1.log "$OUT/"
[ "$rc" = 0 ] || bad "yankcheck: exit $rc, $(grep -c '^not ok' /tmp/yank1.log) checks failed"
wait_gone "$card" || bad "$card still there after yankcheck's yank"
cp "$TR/trace" "$OUT/trace-yank1.txt"
n=$(detects_after_yank yankcheck)
[ "$n" -ge 1 ] || bad "the detect kprobe saw no GETCONNECTOR of yankcheck's after the yank (no markers?)"
polls=$(detects_after_yank kworker)
check "$(is "$polls" 0)" "after the yank: $polls connector polls of the gone device in 15 s" \
	"($n detects by yankcheck's GETCONNECTORs)"
# 6: everything closed, the device goes (and the usb_device with it, before
# any rmmod) and so does the module
wait_released "$n0" 1 >/dev/null
usb_released "after yankcheck closed everything"
# after the URB count: removing a kprobe event empties the trace buffer
detect_probe off
unload_after "after yankcheck closed everything" "$n0" 1

# 6, converse: only a mapping (fds closed) or only the dma-buf fd is held
hold_phase() {
	local kind=$1 hp n0 card i rc
	plug
	card=$CARD
	n0=$(released)
	rm -f /tmp/hold.fifo
	mkfifo /tmp/hold.fifo
	"$TOOLS/yankcheck" --driver dlkms --hold "$kind" ${BREAK:+--break} \
		</tmp/hold.fifo >/tmp/hold-"$kind".log 2>&1 &
	hp=$!
	exec 7>/tmp/hold.fifo
	for i in $(seq 1 100); do grep -q '^held' /tmp/hold-"$kind".log && break; sleep 0.1; done
	grep -q '^held' /tmp/hold-"$kind".log || { cat /tmp/hold-"$kind".log; fail "hold $kind"; }
	say "# $(grep "^held" /tmp/hold-"$kind".log)"
	emu yank >/dev/null || fail "yank"
	wait_gone "$card" || bad "$card still there 10 s after the yank"
	sleep 1
	check "$(is "$([ "$(refcnt)" != none ] && [ "$(refcnt)" -gt 0 ] && echo held)" held)" \
		"holding only the $kind: refcnt is $(refcnt) after the yank"
	if rmmod dlkms 2>/tmp/rmmod.err; then
		check false "holding only the $kind: rmmod dlkms succeeded"
		load_dlkms
	else
		check true "holding only the $kind: rmmod dlkms refused ($(cat /tmp/rmmod.err))"
	fi
	check "$(is "$(($(released) - n0))" 0)" \
		"holding only the $kind: \"released\" not logged ($(($(released) - n0)) times)"
	i=$(urbs_freed "$DEVNUM")
	check "$(is "$i" "$URBS")" \
		"holding only the $kind: $i of the driver's $URBS URBs freed at the yank"
	say "# holding only the $kind: the usb_device $UDEV released" \
		"$(udev_released "$UDEV") time(s) so far (the DRM device's parent keeps it)"
	echo go >&7
	exec 7>&-
	wait "$hp"
	rc=$?
	sed -n '/^held/!p' /tmp/hold-"$kind".log
	[ "$rc" = 0 ] || bad "yankcheck --hold $kind: exit $rc"
	wait_released "$n0" 1 >/dev/null
	usb_released "after the $kind holder let go"
	unload_after "after the $kind holder let go" "$n0" 1
}
hold_phase mmap
hold_phase dmabuf

# 7: replug while an old fd is open (a non-master holder), the old device
# yanked by yankcheck --mid-flip with a flip pending
plug
card=$CARD
n0=$(released)
hold_card "$card" || fail "could not hold $card open"
min1=$HELD_MINOR
say "# background process $HOLDER holds $card (minor $min1) open"
timeout 120 "$TOOLS/yankcheck" --driver dlkms --mid-flip ${BREAK:+--break} >/tmp/yank2.log 2>&1
rc=$?
sed 's/^\(not \)\{0,1\}ok - /&mid-flip run: /' /tmp/yank2.log
cp /tmp/yank2.log "$OUT/"
[ "$rc" = 0 ] || bad "yankcheck --mid-flip: exit $rc, $(grep -c '^not ok' /tmp/yank2.log) checks failed"
wait_gone "$card" || bad "$card still there after yankcheck's yank"
emu replug >/dev/null || fail "replug"
wait_usb_bound dlkms 30 || fail "dlkms did not bind the replugged adapter"
card2=$(wait_card dlkms 30) || fail "no dlkms card after the replug"
min2=$((16#$(stat -c %T "$card2")))
check "$(is "$([ "$min2" != "$min1" ] && echo new)" new)" \
	"replug with the old fd open: new card $card2 has minor $min2, the old one had $min1"
wait_mode "$SIZE" 60 >/dev/null || bad "emulator did not decode $SIZE after the replug"
if "$TOOLS/dlpattern" --driver dlkms --png "$OUT/unplug-replug" >/tmp/dlpattern.log 2>&1; then
	check true "dlpattern on the replugged $card2 is pixel-exact ($(grep -c '^ok' /tmp/dlpattern.log) steps)"
else
	cat /tmp/dlpattern.log
	check false "dlpattern on the replugged $card2"
fi
check "$(is "$(($(released) - n0))" 0)" \
	"old device not released while the holder has its fd ($(($(released) - n0)) releases)"
# not in $(...): let_go waits for the holder, a child of this shell
if let_go; then held_ok=true; else held_ok=false; fi
check "$held_ok" "the holder of the old card closed it"
stop_emu
unload_after "after the holder closed and the new card was unplugged" "$n0" 2

# 9: the yank of a physical rig with per-port switching hubs: tests/tools/
# hubport switches the power of the adapter's hub port (USB 2.0 11.24.2
# PORT_POWER, here on dummy_hcd's root hub) and yankcheck runs that instead
# of the emulator's yank. dummy_hcd disconnects the gadget at power-off, but
# its root hub then reads wPortStatus 0 with no change bit, so the host side
# only learns of it at power-on: C_CONNECTION, the hub driver disconnects
# the old device (the yank yankcheck waits for) and enumerates the adapter
# anew while yankcheck still holds the old card -- so the new one must get
# another minor. Between off and on the adapter is dark for a second with
# the driver's URBs failing, as on a real rig before the hub reports.
stat_of() { sed -n 's/.*wPortStatus \(0x[0-9a-f]*\).*/\1/p' "$1"; }
plug
card=$CARD
min1=$((16#$(stat -c %T "$card")))
n0=$(released)
"$TOOLS/hubport" find 17e9 >/tmp/hub-find.log || fail "hubport find 17e9"
"$TOOLS/hubport" status 17e9 >/tmp/hub-before.log || fail "hubport status 17e9"
say "# hub port of the adapter: $(cat /tmp/hub-find.log); $(cat /tmp/hub-before.log)"
st=$(stat_of /tmp/hub-before.log)
check "$(is $((st & 0x0103)) $((0x0103)))" \
	"hub port before the power-off: power, connection and enable set (wPortStatus $st)"
disc0=$(emu_stat disconnects)
conn0=$(emu_stat connects)
cat >/tmp/hub-yank.sh <<EOS
"$TOOLS/hubport" off 17e9 >/tmp/hub-off.log 2>&1 || exit 1
sleep 1
"$TOOLS/hubport" status 17e9 >/tmp/hub-dark.log 2>&1
if [ -e "$card" ]; then echo present; else echo gone; fi >/tmp/hub-dark.card
"$EMU" ctl --socket "$EMU_SOCK" stats >/tmp/hub-dark.stats 2>&1
"$TOOLS/hubport" on 17e9 >/tmp/hub-on.log 2>&1
EOS
timeout 120 "$TOOLS/yankcheck" --driver dlkms --yank-cmd "sh /tmp/hub-yank.sh" \
	${BREAK:+--break} >/tmp/yank-hub.log 2>&1
rc=$?
sed 's/^\(not \)\{0,1\}ok - /&hub-port run: /' /tmp/yank-hub.log
cp /tmp/yank-hub.log /tmp/hub-*.log "$OUT/"
[ "$rc" = 0 ] || bad "yankcheck --yank-cmd (hub port): exit $rc, $(grep -c '^not ok' /tmp/yank-hub.log) checks failed"
say "# $(cat /tmp/hub-off.log)"
st=$(stat_of /tmp/hub-dark.log)
check "$(is "$([ -n "$st" ] && echo $((st & 0x0101)))" 0)" \
	"hub port dark: power and connection clear 1 s after the power-off (wPortStatus ${st:-unread})"
d=$(($(awk '$1 == "disconnects" { print $2 }' /tmp/hub-dark.stats) - disc0))
check "$(is "$d" 1)" "hub port dark: the emulator saw $d disconnect(s), want 1"
say "# hub port dark: the old card was $(cat /tmp/hub-dark.card) (dummy_hcd's root hub reports no change at power-off)"
say "# $(cat /tmp/hub-on.log)"
wait_gone "$card" || bad "$card still there after the hub port power cycle"
if wait_usb_bound dlkms 30 && card2=$(wait_card dlkms 30); then
	min2=$((16#$(stat -c %T "$card2")))
	check "$(is "$([ "$min2" != "$min1" ] && echo new)" new)" \
		"hub port power-on: new card $card2 has minor $min2, the old one had $min1"
else
	card2=none
	check false "hub port power-on: dlkms bound the adapter again with a card"
fi
"$TOOLS/hubport" status 17e9 >/tmp/hub-after.log 2>&1
st=$(stat_of /tmp/hub-after.log)
check "$(is "$([ -n "$st" ] && echo $((st & 0x0103)))" $((0x0103)))" \
	"hub port after the power-on: power, connection and enable set (wPortStatus ${st:-unread})"
c=$(($(emu_stat connects) - conn0))
check "$(is "$c" 1)" "hub port power-on: the emulator was configured $c time(s) again, want 1"
wait_mode "$SIZE" 60 >/dev/null || bad "emulator did not decode $SIZE after the hub port power-on"
if "$TOOLS/dlpattern" --driver dlkms --png "$OUT/unplug-hubport" >/tmp/dlpattern.log 2>&1; then
	check true "dlpattern on $card2 after the hub port power-on is pixel-exact ($(grep -c '^ok' /tmp/dlpattern.log) steps)"
else
	cat /tmp/dlpattern.log
	check false "dlpattern on $card2 after the hub port power-on"
fi
# the new card keeps the module busy, so not wait_released: only the log
for i in $(seq 1 50); do [ "$(($(released) - n0))" -ge 1 ] && break; sleep 0.1; done
sleep 0.3
n=$(($(released) - n0))
check "$(is "$n" 1)" "hub port: the old device released once yankcheck closed it ($n times), the new one lives"
stop_emu
unload_after "after the hub port yank and the new card was unplugged" "$n0" 2

# The CRC file (debugfs crtc-0/crc/data, the DRM core's) open across the
# yank: its release calls into the CRTC whenever it comes, also after the
# last DRM fd is closed, so the open file holds the device (and the module
# whose code the release runs). Nothing else is held here: the device goes
# only when the CRC file is closed, and then once. A release into freed
# memory would show as a slub poison report or an oops in the kernel log.
plug
card=$CARD
n0=$(released)
crc=/sys/kernel/debug/dri/$((16#$(stat -c %T "$card")))/crtc-0/crc/data
[ -e "$crc" ] || fail "no CRC file $crc"
exec 8<"$crc" || fail "open $crc"
emu yank >/dev/null || fail "yank"
wait_gone "$card" || bad "$card still there 10 s after the yank"
sleep 2
n=$(($(released) - n0))
check "$(is "$n" 0)" "CRC file open across the yank, nothing else held: device not released ($n releases)"
check "$(is "$([ "$(refcnt)" != 0 ] && echo held)" held)" \
	"CRC file open: the module is held (refcnt $(refcnt))"
exec 8<&-
stop_emu
unload_after "after the CRC file was closed" "$n0" 1

# udl, as information: it unplugs with drm_dev_unplug, so ENODEV everywhere
sed -i '/^install udl /d' /etc/modprobe.d/dlkms-suite.conf
modprobe udl || fail "modprobe udl"
EMU_READ_LEN=512
start_emu "$MON"
if wait_usb_bound udl 30 && ucard=$(wait_card udl 30) && wait_mode "$SIZE" 60 >/dev/null; then
	say "# udl: bound, $ucard"
	timeout 120 "$TOOLS/yankcheck" --driver udl >/tmp/yank-udl.log 2>&1
	say "# udl: yankcheck exit $? (information only)"
	sed 's/^/# udl: /' /tmp/yank-udl.log
	cp /tmp/yank-udl.log "$OUT/"
else
	say "# udl: did not bind / light $SIZE (information only)"
fi
stop_emu

if [ "$NBAD" != 0 ]; then
	say "$NBAD checks failed"
	exit 1
fi
ok "hot-unplug contract: all checks passed"
