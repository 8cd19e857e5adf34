#!/bin/bash
# dlkms survives the adapter going away at every step of its probe and of
# its first frame. The emulator yanks itself (yank-at) when the Nth vendor
# request since arming arrives, before answering it, for every N a normal
# probe and first modeset make, then at points of the bulk stream of
# fbcon's first frame from its first byte to its last packet, then with
# the bulk endpoint halted and with URBs left outstanding. After each yank: no dlkms card and no bound interface
# within 10 s, nothing holds the module, the device is released once, and
# the kernel logged no warning. Afterwards a plain replug gives a card that
# is pixel-exact (dlpattern) and the module unloads.
#
# Counting the "released" lines: devm_drm_dev_alloc() is the first thing
# dlkms_usb_probe() does, and dlkms_srcu_fini() (which logs the line) is
# registered right after init_srcu_struct(), before any I/O; the next
# thing probe logs is "DisplayLink vvvv:pppp, bulk OUT endpoint 0xNN"
# (dlkms_usb_init(), before the first vendor request). So every probe that
# logged that line allocated a DRM device and must log "released" exactly
# once, whether it went on to register a card ("Initialized dlkms ...") or
# failed after the yank: when probe fails, devres drops the last reference.
# The DRM devices created are the probes entered, not only the cards that
# appeared; the cards are counted too, for information.
#
# The first frame is the same size on every plug (B, measured on a plain
# plug): the mode registers, the black frame dlkms sends at a mode set,
# then fbcon's screenful of text as its difference from black. fbcon draws
# while the fbdev client commits, so a render pass can catch the text half
# drawn; the rest follows in the next and nothing is sent twice, so only a
# line split between two passes changes the size, by a few bytes. (Before,
# the same picture took 406 to 994 KB: damage clips were sent whole, and
# fbdev's, the whole screen, came after a pass had sent the text; and text
# the first full frame caught cost other bytes than text sent after it.)
# Kernel messages go to tty2, so none adds a line to the screen. A second
# plain plug must send B within TAIL bytes, and every bulk point must fire.
#
#   dlkms-probe-yank.sh [break|beyond] [MAXN]
#     break   inverts every expectation to show each check can go red (the
#             run must then fail)
#     beyond  adds a bulk point past the end of the first frame, which
#             cannot fire: the run must then fail
#     MAXN    only yank at vendor requests 1..MAXN (quick runs)
# rig-timeout: 720
. tests/suites/lib.sh
BREAK=${1:-}
BEYOND=
[ "$BREAK" = beyond ] && BEYOND=1
[ "$BREAK" = break ] || BREAK=
MAXN=${2:-}
NBAD=0
MON=vga768
SIZE=1024x768
# how much one plug's first frame may differ from another's, in bytes
TAIL=512
PROBED="bulk OUT endpoint 0x"
CARDMADE="Initialized dlkms "
# tests/rig/scan-log's pattern: checked per step so that a failure names it
KBAD='WARNING:|(^|[^A-Za-z_])BUG([: ]|$)|Oops|Call Trace|general protection fault'
KBAD+='|possible circular locking|possible recursive locking|lockdep|inconsistent lock state'
KBAD+='|hung task|blocked for more than|KASAN|KFENCE|UBSAN|Kernel panic'
KBAD+='|Poison overwritten|Redzone|Object padding|soft lockup|rcu_sched self-detected|rcu: INFO'
KBAD+='|refcount_t:|list_add corruption|list_del corruption'
T0=$(date +%s)
forbid_module udl
trap 'cp /tmp/dlemu.log "$OUT/" 2>/dev/null; cleanup_suite' EXIT

count_log() { dmesg | grep -c -- "$1"; }
probes() { count_log "$PROBED"; }
cards_made() { count_log "$CARDMADE"; }
stat_of() { emu stats | awk -v k="$1" '$1 == k { print $2 }'; }
bulk_bytes() { emu stats | awk '$1 ~ /^ep_bytes_/ { n += $2 } END { print n + 0 }'; }

# DRM cards of dlkms or of the adapter's interface (bound or not)
dlkms_cards() {
	local c
	for c in /sys/class/drm/card[0-9]*; do
		case "$c" in *-*) continue ;; esac
		[ -e "$c" ] || continue
		if [ "$(basename "$(readlink "$c/device/driver" 2>/dev/null)")" = dlkms ] ||
			[ "$(cat "$c/device/../idVendor" 2>/dev/null)" = 17e9 ]; then
			basename "$c"
		fi
	done
}
# the adapter's interface is gone or has no driver
iface_free() {
	local d
	d=$(usb_iface) || return 0
	[ ! -e "$d/driver" ]
}
adapter_gone() { [ -z "$(dlkms_cards)" ] && iface_free; }

# kernel log lines since mark TAG (written by kmark) that scan-log would flag
kmark() { echo "dlkms-probe-yank: $1 --" >/dev/kmsg; }
kbad_since() {
	dmesg | sed -n "/dlkms-probe-yank: $1 --\$/,\$p" | grep -E "$KBAD"
}

fired() { [ "$(stat_of yank_at_fired)" -gt "$F0" ] && [ "$(stat_of disconnects)" -gt "$D0" ]; }
released_all() { [ "$(($(released) - R0))" -ge "$(($(probes) - P0))" ] && [ "$(refcnt)" = 0 ]; }

# after_yank WHAT: the checks after a yank; R0/P0/C0 from before the plug
after_yank() {
	local what=$1 t1 t2 cards np nr bad_lines
	t1=$(date +%s%N)
	wait_for 10 adapter_gone
	t2=$(date +%s%N)
	cards=$(dlkms_cards | tr '\n' ' ')
	check "$(yes_if adapter_gone)" \
		"$what: no dlkms card left (${cards:-none}) and the interface is free, $(((t2 - t1) / 1000000)) ms after the yank"
	wait_for 10 released_all
	T_REL=$((($(date +%s%N) - t2) / 1000000))
	check "$(is "$(refcnt)" 0)" "$what: /sys/module/dlkms/refcnt is $(refcnt)"
	sleep 0.2	# a second "released" line would be a bug: give it time to show
	np=$(($(probes) - P0))
	nr=$(($(released) - R0))
	check "$(is "$nr" "$np")" \
		"$what: \"released\" logged $nr time(s) for $np probe(s) ($(($(cards_made) - C0)) card(s) registered)"
	t2=$(date +%s%N)
	bad_lines=$(kbad_since "$what")
	T_LOG=$((($(date +%s%N) - t2) / 1000000))
	check "$(is "$bad_lines" "")" "$what: no kernel warning${bad_lines:+: $bad_lines}"
	if [ -n "$bad_lines" ]; then
		dmesg | sed -n "/dlkms-probe-yank: $what --\$/,\$p" | head -n 60 | sed 's/^/    /'
	fi
}

# yank_at_step WHAT ARG...: from unplugged, arm yank-at ARG..., replug, check
yank_at_step() {
	local what=$1 ts
	shift
	ts=$(date +%s%N)
	kmark "$what"
	D0=$(stat_of disconnects) F0=$(stat_of yank_at_fired)
	R0=$(released) P0=$(probes) C0=$(cards_made)
	emu yank-at "$@" >/dev/null || fail "yank-at $*"
	emu replug >/dev/null || fail "replug"
	# the yank point is reached when enumeration, probe and (for the bulk
	# points) fbcon's first frame have got that far: on a starved TCG guest
	# that took 11.5 s once, so the bound is the one plug_lit allows
	wait_for 60 fired
	T_FIRE=$((($(date +%s%N) - ts) / 1000000))
	if fired; then
		check true "$what: the emulator yanked itself (disconnects $D0 -> $(stat_of disconnects))"
	else
		check false "$what: yank-at $* did not fire within 60 s"
		emu yank-at off >/dev/null
		emu yank >/dev/null
	fi
	after_yank "$what"
	# where the emulator or the kernel hangs, after this step's log scan
	fired || echo w >/proc/sysrq-trigger
	say "# $what: $((($(date +%s%N) - ts) / 1000000)) ms (fired at $T_FIRE ms; released in $T_REL ms, log scan $T_LOG ms)"
}

# fill_vt: a screenful of text on tty1, which fbcon draws in the first
# frame of the next plug (a black console is only a few KiB on the wire)
# The rows are the printable ASCII characters, rotated by 7 from one row
# to the next: no pixel line of one row repeats in another, so dlkms
# finds no content to move with the adapter's copy command, whichever
# rows a render pass caught drawn. (With 47 rows alike but for their
# number, a pass that caught the screen half drawn moved some lines, and
# the first frame's size varied by 5.7 KB between plugs.)
fill_vt() {
	local i c line all=''
	for c in $(seq 33 126); do
		all+=$(printf "\\$(printf '%03o' "$c")")
	done
	printf '\033[2J\033[H' >/dev/tty1
	for i in $(seq 0 46); do
		line=${all:$((i * 7 % 94))}${all}${all}
		printf '%s\n' "${line:0:127}"
	done >/dev/tty1
}

# plug_lit: from unplugged, replug and wait for the card and fbcon's mode
plug_lit() {
	emu replug >/dev/null || fail "replug"
	wait_usb_bound dlkms 30 || fail "dlkms did not bind the replugged adapter"
	CARD=$(wait_card dlkms 30) || fail "no dlkms card after the replug"
	wait_mode "$SIZE" 60 >/dev/null || fail "emulator did not decode $SIZE"
}

# settle: wait until the bulk stream has been quiet for a second (10 s)
settle() {
	local i b0 b1
	b0=$(bulk_bytes)
	for i in $(seq 1 20); do
		sleep 0.5
		b1=$(bulk_bytes)
		[ "$b1" = "$b0" ] && [ "$i" -ge 2 ] && return 0
		b0=$b1
	done
}

load_dlkms
[ -d /sys/kernel/debug/dri ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
# Kernel messages, the suite's own marks (kmark) among them, go to tty2's
# buffer rather than onto tty1, the console fbcon draws: one that lands
# after fill_vt adds a line to the screen, and a first frame with it was
# 11 KB larger than one without (TIOCLINUX subcode 11,
# TIOCL_SETKMSGREDIRECT; the serial console still gets them all).
python3 -c '
import fcntl, os
fcntl.ioctl(os.open("/dev/tty2", os.O_RDWR), 0x541C, bytes([11, 2]))' ||
	fail "redirecting kernel messages to tty2"
R_START=$(released) P_START=$(probes) C_START=$(cards_made)
start_emu "$MON"
wait_usb_bound dlkms 30 || fail "dlkms did not bind the emulated adapter"
wait_card dlkms 30 >/dev/null || fail "no dlkms card"
wait_mode "$SIZE" 60 >/dev/null || fail "emulator did not decode $SIZE from dlkms"
# no blinking cursor: the first frame is all the bulk data a plug makes
echo 0 >/sys/class/graphics/fbcon/cursor_blink || fail "cursor_blink"
settle
ok "dlkms bound, fbcon lit $SIZE"

# K and the size of the first frame, around a plain replug
emu yank >/dev/null || fail "yank"
wait_for 10 adapter_gone || fail "adapter still there after a plain yank"
fill_vt
c0=$(stat_of ctrl_requests) b0=$(bulk_bytes)
t1=$(date +%s%N)
plug_lit
# the connector poll (every 10 s) adds requests later: count until lit
K=$(($(stat_of ctrl_requests) - c0))
t2=$(date +%s%N)
settle
B=$(($(bulk_bytes) - b0))
say "# a normal probe and first modeset: $K vendor requests in $(((t2 - t1) / 1000000)) ms, then $B bulk bytes in all"
check "$(yes_if [ "$K" -gt 0 ])" "a normal probe makes vendor requests ($K)"
emu yank >/dev/null || fail "yank"
wait_for 10 adapter_gone || fail "adapter still there after a plain yank"

[ -n "$MAXN" ] && [ "$MAXN" -lt "$K" ] && K=$MAXN
for n in $(seq 1 "$K"); do
	yank_at_step "ctrl $n" ctrl "$n"
done

# the bulk stream of the first frame, the same screenful of text each time:
# the first byte, the first page, the first URB (64 KiB), the middle, the
# whole URB pool (512 KiB) where the frame has it, the last page and the
# last packet (TAIL bytes from the end, the most a plug's size may differ:
# see the header). "beyond" adds a point a whole frame past the end, which
# no plug reaches.
points=""
for b in 1 4096 65536 $((B / 2)) 524288 $((B - 4096)) $((B - TAIL)); do
	[ "$b" -ge 1 ] && [ "$b" -le $((B - TAIL)) ] &&
		case " $points " in *" $b "*) ;; *) points+="$b " ;; esac
done
[ -n "$BEYOND" ] && points+="$((2 * B)) "
say "# bulk yank points of the $B-byte first frame: $points"
for b in $points; do
	fill_vt
	yank_at_step "bulk $b" bulk "$b"
done

# a plain replug after all that is a working card, whose first frame is
# the size of the first one measured
kmark "plain replug"
R0=$(released) P0=$(probes) C0=$(cards_made)
fill_vt
b0=$(bulk_bytes)
plug_lit
settle
B2=$(($(bulk_bytes) - b0))
d=$((B2 - B))
check "$(yes_if [ "${d#-}" -le "$TAIL" ])" \
	"plain replug: the first frame is $B2 bytes, $d from the first plain plug's (within $TAIL)"
if "$TOOLS/dlpattern" --driver dlkms >/tmp/dlpattern.log 2>&1; then
	check true "plain replug: dlpattern on $CARD is pixel-exact ($(grep -c '^ok' /tmp/dlpattern.log) steps)"
else
	cat /tmp/dlpattern.log
	check false "plain replug: dlpattern on $CARD"
fi
emu yank >/dev/null || fail "yank"
after_yank "plain replug"

# stuck_step WHAT CMD ON OFF: halted endpoints (URBs fail) or no draining (URBs stay outstanding) while
# fbcon draws, then the yank
fired_plain() { [ "$(stat_of disconnects)" -gt "$D0" ]; }
stuck_step() {
	local what=$1 cmd=$2 on=$3 off=$4 i x0 w0 b0 x1 w1 b1
	kmark "$what"
	R0=$(released) P0=$(probes) C0=$(cards_made)
	plug_lit
	settle
	emu "$cmd" "$on" >/dev/null || fail "$cmd $on"
	x0=$(drv_stat "$CARD" transfers) w0=$(drv_stat "$CARD" urb_waits) b0=$(bulk_bytes)
	for i in $(seq 1 40); do
		printf 'dlkms probe-yank %s: line %02d, the quick brown fox jumps over the lazy dog\n' \
			"$what" "$i"
	done >/dev/tty1
	sleep 1
	x1=$(drv_stat "$CARD" transfers) w1=$(drv_stat "$CARD" urb_waits) b1=$(bulk_bytes)
	check "$(yes_if [ "${x1:-0}" -gt "${x0:-0}" ])" \
		"$what: dlkms submitted URBs while the emulator does not take them (transfers ${x0:-?} -> ${x1:-?}, urb_waits ${w0:-?} -> ${w1:-?})"
	check "$(is "$b1" "$b0")" "$what: the emulator took no bulk data ($b0 -> $b1 bytes)"
	D0=$(stat_of disconnects)
	emu yank >/dev/null || fail "yank"
	wait_for 10 fired_plain
	check "$(yes_if fired_plain)" "$what: yanked with fbcon output pending (disconnects $D0 -> $(stat_of disconnects))"
	after_yank "$what"
	emu "$cmd" "$off" >/dev/null || fail "$cmd $off"
}
stuck_step "stall" stall on off
stuck_step "drain stop" drain stop normal

kmark "rmmod"
stop_emu
refcnt_zero() { [ "$(refcnt)" = 0 ]; }
wait_for 10 refcnt_zero
if rmmod dlkms 2>/tmp/rmmod.err; then
	check true "rmmod dlkms succeeds"
else
	check false "rmmod dlkms: $(cat /tmp/rmmod.err) (refcnt $(refcnt))"
fi
np=$(($(probes) - P_START))
nr=$(($(released) - R_START))
nc=$(($(cards_made) - C_START))
check "$(is "$nr" "$np")" \
	"whole run: \"released\" logged $nr times, once for each of the $np DRM devices probed ($nc cards registered)"
bad_lines=$(kbad_since rmmod)
check "$(is "$bad_lines" "")" "rmmod: no kernel warning${bad_lines:+: $bad_lines}"
say "# took $(($(date +%s) - T0)) s"

if [ "$NBAD" != 0 ]; then
	say "$NBAD checks failed"
	exit 1
fi
ok "probe-yank: all checks passed"
