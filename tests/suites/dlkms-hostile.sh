#!/bin/bash
# A hostile adapter (issue 13, item 2): the emulator lies in its control
# replies or breaks its bulk endpoint (tests/emu/hostile.c, `emu hostile`),
# and dlkms must survive each fault and recover from it.
#
# Named faults, each once: EDID blocks with a bad checksum, a base block
# that claims 255 extensions, EDID replies shorter than asked, with a bad
# status byte, an EDID that changes from one request to the next, vendor
# requests never answered (the driver's 1 s control timeout), every vendor
# request stalled, the bulk endpoint halted in the middle of a frame, the
# bulk endpoint not drained. For each:
#   1. the adapter is probed under the fault (a replug, or a sysfs
#      unbind/bind for the first): bind returns within BIND_S;
#   2. kmsbound: GETCONNECTOR (a forced probe) and SETCRTC on and off,
#      repeated for LOOP_S seconds, each ioctl within BOUND_MS;
#   3. the kernel log since the fault began: the fault's own line is there,
#      at most LOG_MAX lines of dlkms beyond a healthy probe's (one clear
#      line per fault, not one per poll or per ioctl), and at most LOG_MAX
#      plus 2 for each connector probe kmsbound made of the kernel's lines
#      of any origin (the DRM core's EDID notices, say; not USB
#      enumeration, not debug level);
#   4. the fault cleared: the connector reads the monitor again (connected,
#      its preferred 800x600) and dlpattern's frames are pixel-exact;
#   5. the fault again, kmsbound looping, and a yank in the middle of it:
#      kmsbound still within the bound, the card gone, the device released
#      once kmsbound has closed it.
# Then PROBES seeded random probes (`emu hostile random SEED`: the EDID and
# each reply drawn from the seed): an unbind/bind under the seed's faults,
# kmsbound, the log bound; the seed is printed with any failure, and the
# suite rerun with "1 SEED" repeats that probe. After them the adapter must
# work pixel-exact again; at the end refcnt 0 and rmmod.
#
# No hung task: the hung-task detector is set to 10 s for the suite (the
# rig's scan-log fails the run on its report), and every tool runs under a
# timeout. Splats: scan-log.
#   dlkms-hostile.sh [PROBES [SEED [FAULT...]]]   default 12 probes from
#                          seed 1000 after every named fault (or those)
#   dlkms-hostile.sh break             the first check inverted: must fail
# rig-timeout: 600
. tests/suites/lib.sh
BREAK=
[ "${1:-}" != break ] || { BREAK=1; shift; }
PROBES=${1:-12}
SEED=${2:-1000}
if [ $# -ge 2 ]; then shift 2; else set --; fi

# The bounds, documented in README.md's "When the adapter misbehaves":
# an ioctl waits for at most two control requests the adapter leaves
# unanswered (DLKMS_CTRL_TIMEOUT_MS, 1 s each) or one URB wait (1 s), and
# TCG makes that slower; a probe waits for four (channel, connector type,
# detect, EDID).
BOUND_MS=5000
BIND_S=15
LOOP_S=1
LOG_MAX=6
MODE=800x600
forbid_module udl
EMU_EXPECT_IGNORED="a channel select that fails (stalled or never answered) leaves the adapter dropping commands until one works"
EMU_EXPECT_MALFORMED="a bulk halt in the middle of a transfer cuts a command on the wire; the adapter reads the next as its rest"

old_hung=$(cat /proc/sys/kernel/hung_task_timeout_secs 2>/dev/null || echo 60)
echo 10 >/proc/sys/kernel/hung_task_timeout_secs 2>/dev/null
trap 'echo "$old_hung" >/proc/sys/kernel/hung_task_timeout_secs 2>/dev/null; cleanup_suite' EXIT

load_dlkms
start_emu vga600
wait_usb_bound dlkms 30 || fail "dlkms did not bind the emulated adapter"
wait_card dlkms 30 >/dev/null || fail "no dlkms card"
wait_mode "$MODE" 60 >/dev/null || fail "fbcon did not light $MODE"
echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null
DRV=/sys/bus/usb/drivers/dlkms
SLOWEST=0 SLOWEST_AT=

ms() { echo $(($(date +%s%N) / 1000000)); }

# mark WHAT: a line in the kernel log that log_lines starts after (numbered:
# no mark is the start of another)
MARK= NMARK=0
mark() {
	NMARK=$((NMARK + 1))
	MARK="dlkms-hostile: $NMARK: $*"
	echo "<6>$MARK" >/dev/kmsg
}

# kernel_lines: what the kernel printed since the mark above debug level,
# less USB enumeration and what any healthy probe, unbind and release of
# dlkms print; none at all, and a FAIL line, if the mark is gone from the
# ring buffer (a flood)
kernel_lines() {
	dmesg | grep -qF "$MARK" || { echo "FAIL: the kernel log lost the mark '$MARK': flooded"; return; }
	dmesg -r | awk -v m="$MARK" 'f; index($0, m) { f = 1 }' | grep -E '^<[0-6]>' |
		sed 's/^<[0-9]*>//' |
		grep -vE '\] usb [0-9.-]+: |dummy_hcd|dummy_udc|bulk OUT endpoint 0x|adapter scans out up to|no usable vendor descriptor|Initialized dlkms|fb[0-9]+: dlkms|fbcon: |Console: switching|adapter unplugged; its DRM device|released: the last user'
}
dmesg_has() { dmesg | grep -qF "$1"; }
# log_lines: those of them that are dlkms's (or the mark's FAIL)
log_lines() { kernel_lines | grep -E 'dlkms|FAIL: the kernel log'; }
# rounds: the connector probes of the last kmsbound
rounds() { grep -o '[0-9]* rounds' <<<"$KMS" | cut -d' ' -f1; }

# kms ARGS...: kmsbound under a timeout; its line in KMS, slowest ioctl noted
KMS=
kms() {
	local rc m
	KMS=$(timeout -k 2 $((BOUND_MS / 1000 * 4 + LOOP_S + 10)) "$TOOLS/kmsbound" --driver dlkms \
		--bound-ms "$BOUND_MS" "$@" 2>&1)
	rc=$?
	m=$(grep -o 'max_ms=[0-9]*' <<<"$KMS" | tail -n 1 | cut -d= -f2)
	if [ -n "$m" ] && [ "$m" -gt "$SLOWEST" ]; then
		SLOWEST=$m
		SLOWEST_AT=$FAULT
	fi
	return "$rc"
}

iface() { basename "$(usb_iface)"; }

# probe_under: a fresh probe of the adapter as it is now: a replug if it is
# unplugged, else a sysfs unbind and bind; the bind must return in BIND_S
BIND_MS=
probe_under() {
	local t0 i
	BIND_MS='?'
	t0=$(ms)
	if usb_iface >/dev/null; then
		i=$(iface)
		[ ! -e "$DRV/$i" ] || echo "$i" >"$DRV/unbind" || return 1
		timeout -k 2 "$BIND_S" sh -c "echo $i >$DRV/bind" || return 1
	else
		emu replug >/dev/null || return 1
		wait_usb_bound dlkms "$BIND_S" || return 1
	fi
	wait_card dlkms 10 >/dev/null || return 1
	BIND_MS=$(($(ms) - t0))
	[ "$BIND_MS" -le $((BIND_S * 1000)) ]
}

# recovered: the fault is gone: the monitor read again and frames pixel-exact
recovered() {
	local i
	for i in 1 2 3 4 5 6; do
		kms && grep -q "status=connected" <<<"$KMS" && grep -q "preferred=$MODE" <<<"$KMS" && break
		sleep 1
	done
	grep -q "status=connected" <<<"$KMS" && grep -q "preferred=$MODE" <<<"$KMS" ||
		{ say "# after the fault: $KMS"; return 1; }
	timeout -k 2 60 "$TOOLS/dlpattern" --driver dlkms --mode "$MODE" >/tmp/dlpattern.log 2>&1 ||
		{ sed 's/^/# dlpattern: /' /tmp/dlpattern.log | tail -n 8; return 1; }
}

# yank_during: the fault on, kmsbound looping, a yank in the middle of it
yank_during() {
	local r0 pid rc
	r0=$(released)
	"$TOOLS/kmsbound" --driver dlkms --bound-ms "$BOUND_MS" --commit --loop 2 >/tmp/kms-yank.log 2>&1 &
	pid=$!
	sleep 0.5
	emu yank >/dev/null || { kill "$pid"; return 1; }
	for i in $(seq 1 $((BOUND_MS / 100 + 50))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		say "# kmsbound still running after the yank: $(cat /proc/$pid/wchan 2>/dev/null)"
		kill -9 "$pid"
		return 1
	fi
	wait "$pid"
	rc=$?
	KMS=$(cat /tmp/kms-yank.log)
	[ "$rc" = 0 ] || { say "# $KMS"; return 1; }
	for i in $(seq 1 50); do card_of dlkms >/dev/null || break; sleep 0.1; done
	! card_of dlkms >/dev/null || { say "# the card is still there after the yank"; return 1; }
	for i in $(seq 1 50); do [ "$(($(released) - r0))" -ge 1 ] && break; sleep 0.1; done
	[ "$(($(released) - r0))" -ge 1 ] || { say "# no release after the yank"; return 1; }
}

# fault_on NAME / fault_off NAME: the emulator commands of each fault
fault_on() {
	case "$1" in
	ctrl-stall) emu ctrl-fail on ;;
	drain-stop) emu drain stop ;;
	bulk-halt) emu hostile bulk-halt 4096 ;;
	*) emu hostile "$1" ;;
	esac >/dev/null
}
fault_off() {
	emu ctrl-fail off >/dev/null && emu drain normal >/dev/null && emu hostile off >/dev/null
}

# traffic: something for the bulk faults to fire on (a frame through fbcon)
traffic() {
	printf '\033[2J\033[H' >/dev/tty1
	for i in $(seq 1 60); do printf 'hostile adapter %s line %d %s\n' "$FAULT" "$i" "$RANDOM$RANDOM" >/dev/tty1; done
}

# the fault's own line in the kernel log
declare -A WANT=(
	[edid-checksum]='EDID is not valid'
	[edid-ext255]='255 extension blocks'
	[edid-short]='EDID.*short reply'
	[edid-status]='EDID.*status'
	[edid-flip]='EDID'
	[ctrl-silent]='did not answer|-110'
	[ctrl-stall]='refused|-32'
	[bulk-halt]='bulk transfer failed \(-32\)'
	[drain-stop]='took no data'
)
FAULTS="edid-checksum edid-ext255 edid-short edid-status edid-flip ctrl-silent ctrl-stall bulk-halt drain-stop"
[ $# = 0 ] || FAULTS="$*"
NFAULTS=0 NLINES=

for FAULT in $FAULTS; do
	mark "fault $FAULT"
	emu reset-stats >/dev/null
	fault_on "$FAULT" || fail "emulator: fault $FAULT"
	probe_under
	check "$(is $? 0)" "$FAULT: probed under the fault in $BIND_MS ms (bound ${BIND_S} s)"
	case "$FAULT" in bulk-halt | drain-stop) traffic ;; esac
	kms --commit --loop "$LOOP_S"
	check "$(is $? 0)" "$FAULT: GETCONNECTOR, SETCRTC on and off within ${BOUND_MS} ms: ${KMS#kmsbound: }"
	case "$FAULT" in
	bulk-halt) n=$(emu_stat bulk_halts) ;;
	ctrl-silent) n=$(emu_stat ctrl_silent) ;;
	ctrl-stall) n=$(emu_stat ctrl_stalled) ;;
	drain-stop) n=$(drv_stat "$(card_of dlkms)" urb_waits) ;;
	*) n=$(emu_stat edid_spoiled) ;;
	esac
	check "$(yes_if test "${n:-0}" -gt 0)" "$FAULT: the fault fired ($n)"
	check "$(yes_if dmesg_has "$MARK")" "$FAULT: the kernel log still holds the fault's mark (no flood wrapped it)"
	lines=$(log_lines)
	n=$(grep -c . <<<"$lines")
	printf '%s\n' "$lines" | sed "s/^/# $FAULT log: /"
	check "$(yes_if grep -qE -- "${WANT[$FAULT]}" <<<"$lines")" "$FAULT: the kernel log says so (/${WANT[$FAULT]}/)"
	check "$(yes_if test "$n" -le "$LOG_MAX")" "$FAULT: $n lines of dlkms in the kernel log (at most $LOG_MAX)"
	all=$(kernel_lines | grep -c .)
	max=$((LOG_MAX + 2 * ($(rounds) + 1)))
	[ "$all" -le "$max" ] || kernel_lines | sed 's/^\[ *[0-9.]*\] //; s/[0-9][0-9]*/N/g' | sort | uniq -c |
		sort -rn | head -n 5 | sed "s/^/# $FAULT kernel log: /"
	check "$(yes_if test "$all" -le "$max")" "$FAULT: $all lines in the kernel log in all, $(rounds) connector probes (at most $max)"
	NLINES="$NLINES $FAULT=$n/$all"
	fault_off || fail "emulator: clearing $FAULT"
	recovered
	check "$(is $? 0)" "$FAULT: cleared, the monitor read again and dlpattern pixel-exact"
	fault_on "$FAULT" || fail "emulator: fault $FAULT again"
	[ "$FAULT" != bulk-halt ] || traffic
	yank_during
	check "$(is $? 0)" "$FAULT: yanked in the middle of kmsbound: ${KMS#kmsbound: }"
	fault_off || fail "emulator: clearing $FAULT"
	NFAULTS=$((NFAULTS + 1))
done
say "# kernel log lines per fault (dlkms/all):$NLINES"

# seeded random probes, the adapter plugged in again first
FAULT=replug
probe_under
check "$(is $? 0)" "plugged in again, healthy"
failed_seeds=
for p in $(seq 1 "$PROBES"); do
	s=$((SEED + p - 1))
	FAULT="random $s"
	mark "$FAULT"
	what=$(emu hostile random "$s") || fail "emulator: hostile random $s"
	ok=true
	probe_under || { say "# seed $s: the probe did not complete within ${BIND_S} s"; ok=false; }
	if $ok; then
		kms --commit || { say "# seed $s: $KMS"; ok=false; }
	fi
	n=$(log_lines | grep -c .)
	all=$(kernel_lines | grep -c .)
	if [ "$n" -gt "$LOG_MAX" ] || [ "$all" -gt $((LOG_MAX + 4)) ] || ! dmesg_has "$MARK"; then
		kernel_lines | sed "s/^/# seed $s log: /" | head -n 20
		ok=false
	fi
	say "# probe $p, seed $s ($what): bind $BIND_MS ms, ${KMS#kmsbound: }, $n lines of dlkms, $all in all"
	$ok || failed_seeds="$failed_seeds $s"
done
emu hostile off >/dev/null
check "$(is "$failed_seeds" '')" "$PROBES seeded random probes from seed $SEED within the bounds${failed_seeds:+; failed seeds:$failed_seeds (reproduce: dlkms-hostile.sh 1 SEED)}"
FAULT=random-cleared
recovered
check "$(is $? 0)" "after the random probes: the monitor read again and dlpattern pixel-exact"

stop_emu
for i in $(seq 1 50); do [ "$(refcnt)" = 0 ] && break; sleep 0.1; done
check "$(is "$(refcnt)" 0)" "module refcount $(refcnt) once the adapter is gone"
rmmod dlkms
check "$(is $? 0)" "rmmod dlkms"
say "# $NFAULTS named faults, $PROBES random probes; slowest ioctl ${SLOWEST} ms ($SLOWEST_AT), bound ${BOUND_MS} ms"
[ "$NBAD" = 0 ] || fail "$NBAD checks failed"
ok "a hostile adapter: $NFAULTS faults each with a yank, $PROBES seeded probes, every ioctl within ${BOUND_MS} ms"
