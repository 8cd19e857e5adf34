#!/bin/bash
# Guest side of the benchmark: dlkms and in-tree udl on the same emulator in
# the same boot. dlkms first on vga768 (1024x768) and dvi1080 (1920x1080),
# then rmmod dlkms, modprobe udl and the same workloads; prints one
# side-by-side table and writes it to /mnt/out/table.txt.
#
#   bench.sh [--driver dlkms|udl] [DLBENCH ARGS...]
#
# e.g. --scale 50 for half the frames; --driver runs only one of the two
# (for debugging the bench; the table is meant to have both).
#
# Exit 1 if a run produced no figures or dlkms decoded wrong pixels. A wrong
# final frame from udl is printed as a udl finding under the table, with
# the evidence line, and does not fail the run: it is udl's behaviour.
. tests/suites/lib.sh

BENCH=/mnt/src/tests/bench/dlbench
RES=/tmp/bench.results
LOG=$OUT/bench.log
DRIVERS="dlkms udl"
if [ "${1:-}" = --driver ]; then
	DRIVERS=$2
	shift 2
fi
ARGS=("$@")
STATUS=0
: >"$RES"
: >"$LOG"

[ -x "$BENCH" ] || fail "no $BENCH (build it on the host: make -C tests/bench)"

# bench_on DRIVER MONITOR WxH [LABEL DLBENCH-ARGS...]: one emulator
# session, every workload; results are recorded under LABEL (the driver)
bench_on() {
	local drv=$1 mon=$2 size=$3 label=${4:-$1} card rc mal
	shift 3
	[ $# -gt 0 ] && shift
	local extra=("$@")
	start_emu "$mon"
	[ "$drv" = udl ] && { modprobe udl || fail "modprobe udl"; }
	wait_usb_bound "$drv" 30 || fail "$drv did not bind the emulated adapter"
	card=$(wait_card "$drv" 30) || fail "no $drv card"
	wait_mode "$size" 60 || fail "emulator did not decode $size from $drv"
	echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null
	say "# $drv on $mon ($card, $size)"
	"$BENCH" --driver "$drv" --mode "$size" --emu-pid "$EMU_PID" ${extra[@]+"${extra[@]}"} \
		${ARGS[@]+"${ARGS[@]}"} >/tmp/dlbench.out 2>&1
	rc=$?
	cat /tmp/dlbench.out
	cat /tmp/dlbench.out >>"$LOG"
	grep '^result ' /tmp/dlbench.out | sed "s/ driver=$drv / driver=$label /" >>"$RES"
	grep -q '^result ' /tmp/dlbench.out || fail "dlbench --driver $drv on $mon gave no figures (exit $rc)"
	grep '^not ok' /tmp/dlbench.out | sed "s/^/$drv: /" >>/tmp/bench.notok
	if [ "$rc" != 0 ] && [ "$drv" = dlkms ]; then
		say "FAIL: dlkms output differs from the expected frame on $mon"
		STATUS=1
	fi
	emu stats >"$OUT/$drv-$mon.stats"
	mal=$(awk '$1 == "malformed" { print $2 }' "$OUT/$drv-$mon.stats")
	if [ "${mal:-1}" != 0 ]; then
		say "FAIL: emulator counted ${mal:-?} malformed commands from $drv on $mon"
		STATUS=1
	fi
	[ "$drv" = udl ] && { rmmod udl || fail "rmmod udl"; }
	stop_emu
	for _ in $(seq 1 50); do card_of "$drv" >/dev/null || break; sleep 0.1; done
}

: >/tmp/bench.notok
forbid_module udl
if [[ " $DRIVERS " == *" dlkms "* ]]; then
	load_dlkms
	bench_on dlkms vga768 1024x768
	bench_on dlkms dvi1080 1920x1080
	for _ in $(seq 1 50); do [ "$(cat /sys/module/dlkms/refcnt)" = 0 ] && break; sleep 0.1; done
	rmmod dlkms || fail "rmmod dlkms"
	# the same at 24 bpp, to weigh the default depth by what it costs
	load_dlkms bpp=24
	bench_on dlkms vga768 1024x768 dlkms24 --depth 24
	bench_on dlkms dvi1080 1920x1080 dlkms24 --depth 24
	for _ in $(seq 1 50); do [ "$(cat /sys/module/dlkms/refcnt)" = 0 ] && break; sleep 0.1; done
	rmmod dlkms || fail "rmmod dlkms"
	say "# rmmod dlkms; modprobe udl"
fi
if [[ " $DRIVERS " == *" udl "* ]]; then
	sed -i '/^\(install\|blacklist\) udl /d' /etc/modprobe.d/dlkms-suite.conf
	udevadm control --reload 2>/dev/null || true
	forbid_module dlkms
	bench_on udl vga768 1024x768
	bench_on udl dvi1080 1920x1080
fi

# the value of key K in a "result k=v k=v ..." line, "-" where it is missing
KV_AWK='
function kv(line, k,   n, i, a, b) {
	n = split(line, a, " ")
	for (i = 1; i <= n; i++) {
		split(a[i], b, "=")
		if (b[1] == k)
			return b[2]
	}
	return "-"
}
'

# One row per workload and resolution, dlkms beside udl for every figure:
# the bytes first (with dlkms/udl ratios), then time and CPU.
awk -v kver="${DLKMS_KVER:-?}" -v krel="${DLKMS_KRELEASE:-?}" "$KV_AWK"'
{
	key = kv($0, "workload") " " kv($0, "mode")
	d = kv($0, "driver")
	if (!(key in seen)) {
		seen[key] = 1
		order[++nk] = key
	}
	bytes[key, d] = kv($0, "bytes_per_frame")
	wbytes[key, d] = kv($0, "bytes_per_frame_latency_pass")
	st[key, d] = kv($0, "path_cpu_us_per_frame") / 1000
	ic[key, d] = kv($0, "ioctl_cpu_us_per_frame") / 1000
	med[key, d] = kv($0, "lat_med_ms")
	p95[key, d] = kv($0, "lat_p95_ms")
	chk[key, d] = kv($0, "check")
	nod[key, d] = kv($0, "nodata_frames")
	pas[key, d] = kv($0, "passes")
	sup[key, d] = kv($0, "superseded")
	wk[key, d] = kv($0, "worker_us_per_frame") / 1000
	sr[key, d] = kv($0, "search_us_per_frame") / 1000
	pwall[key, d] = kv($0, "pass_wall_ms")
	fr[key] = kv($0, "frames")
}
function v(a, key, d, fmt) { return ((key, d) in a) ? sprintf(fmt, a[key, d]) : "-" }
function ratio(a, key) {
	if (!((key, "dlkms") in a) || !((key, "udl") in a) || a[key, "udl"] == 0)
		return "-"
	return sprintf("%.3f", a[key, "dlkms"] / a[key, "udl"])
}
END {
	printf "dlkms vs in-tree udl, kernel %s (%s), same emulator, same boot\n", kver, krel
	printf "%-8s %-9s %6s | %28s | %28s | %9s\n", "workload", "mode", "frames",
		"wire bytes/frame, back to back", "wire bytes/frame, each waited", "check"
	printf "%-8s %-9s %6s | %9s %9s %8s | %9s %9s %8s | %4s %4s\n",
		"", "", "", "dlkms", "udl", "ratio", "dlkms", "udl", "ratio", "dlkms", "udl"
	for (i = 1; i <= nk; i++) {
		k = order[i]
		split(k, kk, " ")
		printf "%-8s %-9s %6s | %9s %9s %8s | %9s %9s %8s | %4s %4s\n",
			kk[1], kk[2], fr[k],
			v(bytes, k, "dlkms", "%d"), v(bytes, k, "udl", "%d"), ratio(bytes, k),
			v(wbytes, k, "dlkms", "%d"), v(wbytes, k, "udl", "%d"), ratio(wbytes, k),
			v(chk, k, "dlkms", "%s"), v(chk, k, "udl", "%s")
		if (((k, "dlkms") in nod && nod[k, "dlkms"] != 0) || ((k, "udl") in nod && nod[k, "udl"] != 0))
			printf "%-8s %-9s frames that never reached the device: dlkms %s, udl %s\n",
				"", "", v(nod, k, "dlkms", "%s"), v(nod, k, "udl", "%s")
	}
	printf "\n%-8s %-9s | %15s | %15s | %15s | %15s\n", "workload", "mode",
		"path cpu ms/f", "ioctl cpu ms/f", "latency med ms", "latency p95 ms"
	printf "%-8s %-9s | %7s %7s | %7s %7s | %7s %7s | %7s %7s\n",
		"", "", "dlkms", "udl", "dlkms", "udl", "dlkms", "udl", "dlkms", "udl"
	for (i = 1; i <= nk; i++) {
		k = order[i]
		split(k, kk, " ")
		printf "%-8s %-9s | %7s %7s | %7s %7s | %7s %7s | %7s %7s\n",
			kk[1], kk[2],
			v(st, k, "dlkms", "%.2f"), v(st, k, "udl", "%.2f"),
			v(ic, k, "dlkms", "%.2f"), v(ic, k, "udl", "%.2f"),
			v(med, k, "dlkms", "%.1f"), v(med, k, "udl", "%.1f"),
			v(p95, k, "dlkms", "%.1f"), v(p95, k, "udl", "%.1f")
	}
	printf "\nframe pacing of dlkms, back to back (udl sends every frame inside its ioctl)\n"
	printf "%-8s %-9s | %6s %6s %9s %6s | %9s | %9s | %9s %9s\n", "workload", "mode",
		"frames", "sent", "coalesced", "cut", "sent/s", "last byte", "worker", "search"
	for (i = 1; i <= nk; i++) {
		k = order[i]
		split(k, kk, " ")
		if (!((k, "dlkms") in pas) || pas[k, "dlkms"] < 0 || pwall[k, "dlkms"] <= 0)
			continue
		printf "%-8s %-9s | %6d %6d %9d %6s | %9.1f | %6.0f ms | %6.2f ms %6.2f ms\n", kk[1], kk[2],
			fr[k], pas[k, "dlkms"], fr[k] - pas[k, "dlkms"], v(sup, k, "dlkms", "%d"),
			pas[k, "dlkms"] * 1000 / pwall[k, "dlkms"], pwall[k, "dlkms"],
			wk[k, "dlkms"], sr[k, "dlkms"]
	}
}' "$RES" >/tmp/table.txt
awk "$KV_AWK"'
{
	key = kv($0, "workload") " " kv($0, "mode")
	d = kv($0, "driver")
	if (d != "dlkms" && d != "dlkms24")
		next
	if (!(key in seen)) {
		seen[key] = 1
		order[++nk] = key
	}
	bytes[key, d] = kv($0, "bytes_per_frame")
	st[key, d] = kv($0, "path_cpu_us_per_frame") / 1000
}
END {
	if (!nk)
		exit
	printf "\ndlkms at 16 bpp (default) vs 24 bpp (bpp=24), same boot\n"
	printf "%-8s %-9s | %18s | %15s\n", "workload", "mode", "wire bytes/frame", "path cpu ms/f"
	printf "%-8s %-9s | %9s %8s | %7s %7s\n", "", "", "16", "24", "16", "24"
	for (i = 1; i <= nk; i++) {
		k = order[i]
		split(k, kk, " ")
		printf "%-8s %-9s | %9s %8s | %7.2f %7.2f\n", kk[1], kk[2],
			bytes[k, "dlkms"], bytes[k, "dlkms24"], st[k, "dlkms"], st[k, "dlkms24"]
	}
}' "$RES" >>/tmp/table.txt
cat >>/tmp/table.txt <<'EOF'

wire bytes/frame: the emulator's bulk byte counter / frames; exactly what
  a real adapter would get. Back to back: the frames issued as fast as the
  client draws them (dlkms coalesces what comes faster than the wire, and
  its worker may read a frame the client is still drawing). Each waited:
  every frame's bytes have arrived before the next is drawn. ratio is
  dlkms / udl.
path cpu ms/f: the guest's CPU over the back-to-back pass and the wait for
  its last byte (/proc/stat busy time of every CPU, less the emulator's
  process and the client's user time) / frames: commit ioctls, driver
  workers, USB core and host controller. udl converts and encodes in the
  DIRTYFB ioctl, dlkms in its render worker; this counts both. Tick-sampled
  (10 ms), so short passes are coarse.
ioctl cpu ms/f: CLOCK_THREAD_CPUTIME_ID across each DIRTYFB call / frames:
  what the client waits for in the ioctl (time asleep waiting for URBs
  excluded); all of udl's work, only the queueing of dlkms's.
latency: DIRTYFB issued -> the emulator received the last byte of that frame
  (its last_rx_ns once the byte counter has stopped), each frame waited for.
frame pacing: render passes of dlkms (its debugfs "frames") during the
  back-to-back pass: each sends the newest picture for the damage of every
  frame queued since the last one; "coalesced" frames were never sent on
  their own; "cut" passes gave up the rest of their damage when a newer
  frame was queued (the newest frame wins; the next pass sends that rest
  from the newer frame). sent/s: passes per second until the last byte.
  worker, search: a frame's share of the render worker's time less its
  waits for a free URB (its debugfs render_ns - urb_wait_ns), and of that
  the search for content that moved (search_ns); wall time of a CPU-bound
  worker, so about its CPU.
check: the final frame decoded by the emulator equals the expected
  RGB565-truncated image, after both passes.
The bus is dummy_hcd (no USB 2.0 timing at all) and the CPU is QEMU TCG:
wall-clock latencies and rates are NOT real-hardware figures. Bytes on the
wire are exact, and the CPU figures compare the two drivers on the same
(slow, emulated) CPU.
EOF
if [ -s /tmp/bench.notok ]; then
	{
		echo
		echo "final-frame mismatches (evidence):"
		cat /tmp/bench.notok
	} >>/tmp/table.txt
fi
cp /tmp/table.txt "$OUT/table.txt"
say ""
cat /tmp/table.txt
exit "$STATUS"
