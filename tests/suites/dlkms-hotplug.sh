#!/bin/bash
# Monitor hotplug on dlkms's polled connector, with the card held open:
# switching the emulated monitor (vga768, none, dvi1080) raises a "change"
# uevent with HOTPLUG=1 on the card and GETCONNECTOR then shows the new
# monitor (status, preferred mode, EDID blob); a monitor with more EDID
# extensions than the adapter's DDC request reaches keeps the blocks it
# reaches (cea3: base and first extension); the connector type follows
# the monitor at plug (DVI-D / VGA); a corrupt EDID gives a connected
# connector with the fallback modes and no hotplug storm; EDID reads that
# fail (the adapter not answering) keep the monitor for up to 3 reads.
#   dlkms-hotplug.sh [break]   "break" switches to the wrong monitors and
#                              expects the wrong things, to show each check
#                              goes red (the run must then fail)
. tests/suites/lib.sh
BREAK=${1:-}
UEV=/tmp/uevents.log
POLL_WAIT=30	# drm's connector poll runs every 10 s
forbid_module udl
load_dlkms

# A kernel uevent listener: one line per drm uevent, with the monotonic time.
cat >/tmp/uevlisten.py <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 15)  # NETLINK_KOBJECT_UEVENT
s.bind((0, 1))
with open(sys.argv[1], "a", buffering=1) as f:
    f.write("ready\n")
    while True:
        kv = {}
        for p in s.recv(65536).split(b"\0")[1:]:
            if b"=" in p:
                k, v = p.split(b"=", 1)
                kv[k.decode()] = v.decode(errors="replace")
        if kv.get("SUBSYSTEM") != "drm":
            continue
        f.write("%.3f %s %s HOTPLUG=%s CONNECTOR=%s DEVNAME=%s\n" % (
            time.monotonic(), kv.get("ACTION", ""), kv.get("DEVPATH", ""),
            kv.get("HOTPLUG", ""), kv.get("CONNECTOR", ""), kv.get("DEVNAME", "")))
PY
: >"$UEV"
python3 /tmp/uevlisten.py "$UEV" &
LISTENER=$!
for i in $(seq 1 50); do grep -q ready "$UEV" && break; sleep 0.1; done
grep -q ready "$UEV" || fail "uevent listener did not start"
# the card is held by a client that is not DRM master (hold_card): GETCONNECTOR
# re-probes (fresh EDID, modes) only for the current master, so modetest,
# opening the card with no master about, becomes master and probes the way
# a compositor does, and fbcon does not defer its hotplug work.
release_card() { [ -z "$HOLDER" ] || let_go || bad "the card's holder"; }
cleanup_hotplug() { kill "$LISTENER" 2>/dev/null; release_card; stop_emu; }
trap cleanup_hotplug EXIT

# hotplugs CARDNAME: how many change uevents with HOTPLUG=1 the card raised
hotplugs() { grep -c " change .*/drm/$1 HOTPLUG=1 " "$UEV"; }

# wait_hotplug CARDNAME N: wait until more than N such uevents, print the latency
wait_hotplug() {
	local t0 i
	t0=$(date +%s%N)
	for i in $(seq 1 $((POLL_WAIT * 10))); do
		[ "$(hotplugs "$1")" -gt "$2" ] && { echo $((($(date +%s%N) - t0) / 1000000)); return 0; }
		sleep 0.1
	done
	return 1
}

# conn_state: "STATUS NAME PREFERRED NMODES EDID-HEX" of dlkms's connector,
# from modetest -c (GETCONNECTOR with a probe)
conn_state() {
	timeout 30 modetest -M dlkms -c 2>/dev/null | tee /tmp/modetest-c.out | awk '
		$1 ~ /^[0-9]+$/ && ($3 == "connected" || $3 == "disconnected" || $3 == "unknown") {
			st = $3; name = $4; nm = $6 }
		/^  #[0-9]+ / && /preferred/ && pref == "" { pref = $2 }
		/^\t[0-9]+ [A-Za-z_ ]+:$/ { inedid = ($2 == "EDID:") }
		inedid && /^\t\t\t[0-9a-f]+$/ { gsub(/\t/, ""); edid = edid $0 }
		END { printf "%s %s %s %s %s\n", st, name, pref == "" ? "-" : pref, nm,
		      edid == "" ? "-" : edid }'
}

# edid_sum HEX: "digital|analog WxH" from the blob (input byte 20, first DTD)
edid_sum() {
	local h=$1
	[ "$h" = - ] && { echo "none"; return; }
	[ "${h:0:16}" = 00ffffffffffff00 ] || { echo "badheader"; return; }
	local in=$((16#${h:40:2})) ha hv
	ha=$(((16#${h:116:2} >> 4) * 256 + 16#${h:112:2}))
	hv=$(((16#${h:122:2} >> 4) * 256 + 16#${h:118:2}))
	printf '%s %sx%s %s\n' "$([ $((in & 0x80)) != 0 ] && echo digital || echo analog)" \
		"$ha" "$hv" "$((${#h} / 2))"
}

# expect_conn WHAT STATUS TYPE PREF EDIDSUM: compare conn_state with the monitor
expect_conn() {
	local what=$1 st=$2 type=$3 pref=$4 esum=$5 s got_st got_name got_pref nm edid got_sum
	s=$(conn_state)
	read -r got_st got_name got_pref nm edid <<<"$s"
	got_sum=$(edid_sum "$edid")
	if [ "$got_st" = "$st" ] && [ "${got_name%-*}" = "$type" ] &&
	   [ "$got_pref" = "$pref" ] && [ "${got_sum% *}" = "$esum" ] &&
	   { [ "$st" = disconnected ] || [ "${nm:-0}" -gt 0 ]; }; then
		ok "$what: $got_st $got_name, preferred $got_pref, $nm modes, EDID ${got_sum}"
	else
		cp /tmp/modetest-c.out "$OUT/modetest-c-fail-$(date +%s%N).out"
		bad "$what: got $got_st $got_name preferred $got_pref ($nm modes) EDID '$got_sum';" \
			"want $st $type preferred $pref EDID '$esum'"
	fi
}

# expect_blocks WHAT EXT: the connector's EDID blob is 1 + EXT (hex) blocks,
# the extension count byte says EXT, every block sums to 0, the first
# extension is a CEA-861 one
expect_blocks() {
	local what=$1 ext=$2 edid sum b i j n
	read -r _ _ _ _ edid <<<"$(conn_state)"
	n=$((1 + 16#$ext))
	sum=ok
	for ((b = 0; b < ${#edid} / 256; b++)); do
		i=0
		for ((j = 0; j < 128; j++)); do i=$((i + 16#${edid:b * 256 + j * 2:2})); done
		[ $((i % 256)) = 0 ] || sum="block $b sums to $((i % 256))"
	done
	if [ "${#edid}" = $((n * 256)) ] && [ "${edid:252:2}" = "$ext" ] &&
	   [ "${edid:256:2}" = 02 ] && [ "$sum" = ok ]; then
		ok "$what: EDID of $n blocks, extension count $ext, checksums good, CEA-861 first"
	else
		bad "$what: EDID of $((${#edid} / 256)) blocks, extension count ${edid:252:2}," \
			"checksums: $sum, block 1 tag ${edid:256:2}; want $n blocks, count $ext, CEA-861"
	fi
}

# switch_to MONITOR: switch the emulated monitor and wait for the card's hotplug uevent
switch_to() {
	local mon=$1 cn=$2 n lat
	n=$(hotplugs "$cn")
	emu monitor "$mon" >/dev/null || fail "dlemu monitor $mon"
	if lat=$(wait_hotplug "$cn" "$n"); then
		ok "monitor ${3:-$mon}: HOTPLUG=1 change uevent on $cn after $lat ms"
	else
		bad "monitor ${3:-$mon}: no HOTPLUG=1 uevent on $cn within $POLL_WAIT s"
	fi
}

# Plug with the DVI monitor, hold the card open, switch monitors.
start_emu dvi1080
wait_usb_bound dlkms 30 || fail "dlkms did not bind the emulated adapter"
card=$(wait_card dlkms 30) || fail "no dlkms card"
cn=$(basename "$card")
wait_mode 1920x1080 60 || fail "emulator did not decode 1920x1080 from dlkms"
ok "dlkms bound, $card (dvi1080), fbcon lit 1920x1080"
card_opens "$card"
hold_card "$card" || fail "could not hold $card open as a non-master client"
if [ -z "$BREAK" ]; then
	expect_conn "plugged with dvi1080" connected DVI-D 1920x1080 "digital 1920x1080"
	switch_to vga768 "$cn"
	expect_conn "switched to vga768" connected DVI-D 1024x768 "analog 1024x768"
	switch_to none "$cn"
	expect_conn "switched to none" disconnected DVI-D - "none"
	switch_to dvi1080 "$cn"
	expect_conn "switched to dvi1080" connected DVI-D 1920x1080 "digital 1920x1080"
	# three extensions, two beyond the 256 bytes the DDC request reaches:
	# the base block and the first extension, the count made 1
	switch_to cea3 "$cn"
	expect_conn "switched to cea3" connected DVI-D 1280x720 "digital 1280x720"
	expect_blocks "cea3" 01
	switch_to dvi1080 "$cn"
	expect_conn "back to dvi1080" connected DVI-D 1920x1080 "digital 1920x1080"
else
	expect_conn "plugged with dvi1080 (break: want VGA)" connected VGA 1920x1080 "digital 1920x1080"
	switch_to dvi1080 "$cn" "vga768 (break: really dvi1080 again)"
	expect_conn "switched to vga768 (break)" connected DVI-D 1024x768 "analog 1024x768"
	switch_to none "$cn"
	expect_conn "switched to none (break: want connected)" connected DVI-D - "none"
	switch_to dvi1080 "$cn"
	expect_conn "switched to dvi1080 (break: want vga768)" connected DVI-D 1024x768 "analog 1024x768"
	switch_to cea3 "$cn"
	expect_blocks "cea3 (break: want the monitor's own count)" 03
fi

# The adapter stops answering (every control request stalls): a connected
# monitor stays connected, with its own modes and EDID, for the reads that
# fail in a row below the driver's bound (3), then goes disconnected; the
# connector poll (every 10 s) may take one of those reads between probes.
emu ctrl-fail on >/dev/null || fail "ctrl-fail on"
if [ -z "$BREAK" ]; then
	expect_conn "EDID reads fail, 1st probe" connected DVI-D 1920x1080 "digital 1920x1080"
else
	expect_conn "EDID reads fail, 1st probe (break: want disconnected)" disconnected DVI-D - "none"
fi
gone_at=
for i in 2 3 4; do
	read -r st _ pref _ edid <<<"$(conn_state)"
	if [ "$st" = disconnected ]; then
		gone_at=$i
		break
	fi
	esum=$(edid_sum "$edid")
	[ "$st $pref ${esum% *}" = "connected 1920x1080 digital 1920x1080" ] ||
		bad "EDID reads fail, probe $i: $st, preferred $pref, EDID '$esum'"
done
if [ -n "$gone_at" ]; then
	ok "EDID reads fail: disconnected at probe $gone_at"
else
	bad "EDID reads fail: still connected after 4 probes"
fi
emu ctrl-fail off >/dev/null || fail "ctrl-fail off"
expect_conn "adapter answers again" connected DVI-D 1920x1080 "digital 1920x1080"
release_card
stop_emu
for i in $(seq 1 50); do card_of dlkms >/dev/null || break; sleep 0.1; done

# Plug with the VGA monitor: the connector is VGA; then the corrupt EDID.
start_emu vga768
wait_usb_bound dlkms 30 || fail "dlkms did not bind the emulated adapter (vga768)"
card=$(wait_card dlkms 30) || fail "no dlkms card (vga768)"
cn=$(basename "$card")
wait_mode 1024x768 60 || fail "emulator did not decode 1024x768 from dlkms"
ok "dlkms bound, $card (vga768), fbcon lit 1024x768"
card_opens "$card"
hold_card "$card" || fail "could not hold $card open as a non-master client"
min_fallback=5	# the fallback is the noedid list (up to 1920x1200), not one lonely mode
if [ -z "$BREAK" ]; then
	expect_conn "plugged with vga768" connected VGA 1024x768 "analog 1024x768"
	switch_to corrupt "$cn"
	expect_conn "switched to corrupt" connected VGA 1024x768 "none"
else
	expect_conn "plugged with vga768 (break: want DVI-D)" connected DVI-D 1024x768 "analog 1024x768"
	switch_to corrupt "$cn"
	expect_conn "switched to corrupt (break: want the old EDID)" connected VGA 1024x768 \
		"analog 1024x768"
	min_fallback=1000
fi
nm=$(conn_state | awk '{ print $4 }')
if [ "${nm:-0}" -ge "$min_fallback" ]; then
	ok "corrupt EDID: $nm fallback modes"
else
	bad "corrupt EDID: only ${nm:-0} modes, want $min_fallback or more"
fi
n0=$(hotplugs "$cn")
stats0=$(emu stats | awk '$1 == "ctrl_edid" { print $2 }')
if [ -n "$BREAK" ]; then
	sleep 5
	emu monitor dvi1080 >/dev/null	# a real hotplug inside the window must be counted
	sleep 16
else
	sleep 21	# two connector polls
fi
n1=$(hotplugs "$cn")
stats1=$(emu stats | awk '$1 == "ctrl_edid" { print $2 }')
# "no uevent" means something only if the poll kept reading the EDID meanwhile
if [ "$((stats1 - stats0))" -lt 1 ]; then
	bad "corrupt EDID: no EDID read by the connector poll in 21 s (poll stopped?)"
elif [ "$n1" = "$n0" ]; then
	ok "corrupt EDID: no hotplug uevent in 21 s after the switch's one ($((stats1 - stats0)) EDID reads by the poll)"
else
	bad "corrupt EDID: $((n1 - n0)) more hotplug uevents in 21 s (a connect/disconnect loop?)"
	grep " change " "$UEV" | tail -n 5
fi
cp "$UEV" "$OUT/uevents.log"
release_card
stop_emu
for i in $(seq 1 50); do card_of dlkms >/dev/null || break; sleep 0.1; done
for i in $(seq 1 50); do [ "$(cat /sys/module/dlkms/refcnt)" = 0 ] && break; sleep 0.1; done
[ "$(cat /sys/module/dlkms/refcnt)" = 0 ] || fail "dlkms refcount $(cat /sys/module/dlkms/refcnt) after unplug"
rmmod dlkms || fail "rmmod dlkms"
ok "rmmod dlkms after two unplugs"
[ "$NBAD" = 0 ] || { say "$NBAD hotplug checks failed"; exit 1; }
