#!/bin/bash
# IGT's generic KMS tests against dlkms: every subtest in
# tests/igt/dlkms.testlist runs on a fresh plug (one process per IGT
# binary, the subtests given with --run-subtest), and each one's result
# must equal its line in tests/igt/dlkms.expected. A mismatch in either
# direction fails the suite: an expected pass that fails, and an expected
# skip/fail that now passes (then the list needs updating). Kernel warnings
# fail the run (the rig). An expected line may differ per kernel:
# "igt@b@s pass 6.1=fail  # why".
# "flaky" is only for subtests whose verdict hangs on guest timing under
# TCG ([rig: TCG]): such a subtest that fails is run again, alone, up to
# FLAKY_TRIES times in all, and one of the tries must pass; a crash, a
# timeout or notrun fails at once. Every try is kept ($OUT/igt*/flaky.txt:
# NAME TRIES PASSES), so the pass rate of each flaky line is on record.
# Then the replug: a process holds the first card open (and a mapping of
# a dumb buffer), the adapter is yanked and plugged back, and the subtests
# of tests/igt/replug.testlist run on the new card while the old one is
# held, against the same expected results. That list is every subtest
# about the device as a whole (properties, framebuffers, blobs, modes,
# vblank and flip basics, CRCs); the long timing loops of kms_flip,
# kms_vblank and kms_cursor_legacy, which exercise the same code on any
# device, run on the fresh plug only.
#   dlkms-igt.sh [break] [--udl] [TESTLIST [EXPECTED [REPLUGLIST|-]]]
#     break              one subtest that passes, expected to fail: the
#                        suite must go red
#     TESTLIST EXPECTED  other lists (the CRC suite's, an exploration's);
#                        REPLUGLIST "-" skips the replug
#     --udl              the same list against in-tree udl on the same
#                        emulator, for comparison (tests/igt/README.md):
#                        its results are counted, not held against EXPECTED
# rig-timeout: 600
. tests/suites/lib.sh
BREAK=
DRV=dlkms
[ "${1:-}" != break ] || { BREAK=1; shift; }
[ "${1:-}" != --udl ] || { DRV=udl; shift; }
TESTLIST=${1:-tests/igt/dlkms.testlist}
EXPECTED=${2:-tests/igt/dlkms.expected}
REPLUGLIST=${3:-tests/igt/replug.testlist}
[ "$DRV" = dlkms ] || REPLUGLIST=-
IGT=${IGT_DIR:-/usr/libexec/igt-gpu-tools}
# the emulated monitor; see tests/igt/README.md for why this one
MON=vga768
SIZE=1024x768
# per-binary wall-clock limit; a binary that overruns leaves its
# remaining subtests "notrun", which never matches an expected result
BIN_TIMEOUT=${IGT_BIN_TIMEOUT:-240}
FLAKY_TRIES=${IGT_FLAKY_TRIES:-3}
BADS=()
bad() { printf 'FAIL: %s\n' "$*"; NBAD=$((NBAD + 1)); BADS+=("$*"); }

[ -x "$IGT/kms_getfb" ] || fail "no IGT tests in $IGT (igt-gpu-tools-tests)"
[ -f "$TESTLIST" ] || fail "no testlist $TESTLIST"
[ -f "$EXPECTED" ] || fail "no expected results $EXPECTED"
[ "$REPLUGLIST" = - ] || [ -f "$REPLUGLIST" ] || fail "no replug testlist $REPLUGLIST"

# --- the lists: both must name the same subtests, reasons for non-passes ---
declare -A want why got secs
order=()
while read -r name _; do
	case "$name" in '' | '#'*) continue ;; esac
	[[ "$name" =~ ^igt@[a-z0-9_]+@[A-Za-z0-9_-]+$ ]] || fail "testlist: bad line '$name'"
	order+=("$name")
done <"$TESTLIST"
[ "${#order[@]}" -gt 0 ] || fail "testlist $TESTLIST is empty"
while IFS= read -r line; do
	case "$line" in '' | '#'*) continue ;; esac
	# RESULT may be followed by KERNEL=RESULT overrides, e.g. "pass 6.1=fail"
	read -r name res more <<<"${line%%#*}"
	for kv in $more; do
		[[ "$kv" =~ ^(6\.1|6\.12|7\.2)=(pass|skip|fail|flaky)$ ]] || fail "expected: bad '$kv' in '$line'"
		[ "${kv%%=*}" != "${DLKMS_KVER:-}" ] || res=${kv#*=}
	done
	case "$res" in pass | skip | fail | flaky) ;; *) fail "expected: bad result in '$line'" ;; esac
	[ "$res" != flaky ] || [[ "$line" == *'[rig: TCG]'* ]] ||
		fail "expected: $name is flaky but not classified [rig: TCG]"
	reason=
	[[ "$line" == *'#'* ]] && reason=${line#*#}
	reason=${reason# }
	if [ -z "$reason" ] && { [ "$res" != pass ] || [ -n "$more" ]; }; then
		fail "expected: $name is not a plain pass but has no reason"
	fi
	[ -z "${want[$name]:-}" ] || fail "expected: $name listed twice"
	want[$name]=$res
	why[$name]=$reason
done <"$EXPECTED"
for name in "${order[@]}"; do
	[ -n "${want[$name]:-}" ] || fail "$name is in the testlist but not in $EXPECTED"
done
declare -A inlist
for name in "${order[@]}"; do inlist[$name]=1; done
for name in "${!want[@]}"; do
	[ -n "${inlist[$name]:-}" ] || fail "$name is in $EXPECTED but not in the testlist"
done
ok "${#order[@]} subtests listed, each with an expected result"

# the replug list: a part of the testlist, in its order
replug_order=()
if [ "$REPLUGLIST" != - ]; then
	declare -A inreplug
	while read -r name _; do
		case "$name" in '' | '#'*) continue ;; esac
		[ -n "${inlist[$name]:-}" ] || fail "$REPLUGLIST: $name is not in $TESTLIST"
		inreplug[$name]=1
	done <"$REPLUGLIST"
	for name in "${order[@]}"; do
		[ -z "${inreplug[$name]:-}" ] || replug_order+=("$name")
	done
	[ "${#replug_order[@]}" -gt 0 ] || fail "replug testlist $REPLUGLIST is empty"
	ok "${#replug_order[@]} of them run again on the replugged adapter"
fi

# break: one subtest that passes, held against "fail"; the suite must go red
if [ -n "$BREAK" ]; then
	for name in "${order[@]}"; do
		[ "${want[$name]}" = pass ] || continue
		order=("$name")
		want[$name]=fail
		why[$name]="[break] really a pass"
		break
	done
	replug_order=()
	say "# break: only ${order[0]}, expected to fail"
fi

# --- the device ---
if [ "$DRV" = dlkms ]; then
	forbid_module udl
	load_dlkms
else
	modprobe udl || fail "modprobe udl"
	EMU_READ_LEN=512
fi
start_emu "$MON"
wait_usb_bound "$DRV" 30 || fail "$DRV did not bind the emulated adapter"
card=$(wait_card "$DRV" 30) || fail "no $DRV card"
wait_mode "$SIZE" 60 || fail "emulator did not decode $SIZE from $DRV"
# a blinking fbcon cursor would redraw into the tests' frames
echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null
ok "$DRV bound, $card, $MON at $SIZE"
say "$($IGT/kms_getfb --version 2>/dev/null | head -n 1)"

# igt_reasons BIN <LOG: "igt@BIN@SUB result  # why" for every subtest in an
# IGT log, why being IGT's own words: for a skip the last requirement it
# printed (a group fixture's applies to all subtests of the group), for a
# fail the first failed assertion and its message. The suite writes these
# to $RES/dlkms.actual, in the format of dlkms.expected.
igt_reasons() {
	awk -v bin="$1" '
	function keep(s) { return s !~ /^(Subtest|Dynamic subtest|Starting|Last errno|Test requirement|No dynamic|\*\*\*\*|Stack trace|  #|\[)/ }
	# the line after a requirement may say more about it
	pend { pend = 0; if (keep($0)) { req = req " (" $0 ")"; next } }
	# the CRITICAL line after a failed assertion says what was seen
	fpend && /CRITICAL: (Last errno|Test assertion)/ { next }
	fpend { fpend = 0; if ($0 ~ /CRITICAL: /) { m = $0; sub(/.*CRITICAL: /, "", m); fail = fail ": " m; next } }
	/^Starting subtest: / { req = ""; fail = ""; next }
	/^Test requirement: / { req = substr($0, 19); pend = 1; next }
	/^No dynamic tests executed/ { if (req == "") req = "no dynamic subtest ran"; next }
	/CRITICAL: Failed assertion: / && fail == "" {
		fail = $0; sub(/.*CRITICAL: Failed assertion: /, "", fail); fpend = 1; next
	}
	/^Subtest [^ ]*: [A-Z]+ \(/ {
		name = $2; sub(/:$/, "", name); res = tolower($3)
		if (res == "success") { print "igt@" bin "@" name " pass"; next }
		why = (res == "skip") ? req : fail
		gsub(/#/, "", why)
		printf "igt@%s@%s %s  # %s\n", bin, name, res, (why == "" ? "(IGT gave no message)" : why)
	}'
}

# run_igt BIN SUBTESTS LOG: one IGT process on $card, bounded
run_igt() {
	# Select the card by driver name and by node (never by card order): the
	# forced driver makes IGT skip any device whose DRM driver is not $DRV.
	IGT_FORCE_DRIVER=$DRV IGT_DEVICE=drm:$card timeout -k 10 "$BIN_TIMEOUT" \
		stdbuf -oL -eL "$IGT/$1" --run-subtest "$2" >"$3" 2>&1 </dev/null
}

# results_of BIN LOG: "SUBTEST RESULT SECONDS" lines of an IGT log
results_of() {
	sed -n 's/^Subtest \([^:]*\): \([A-Z]*\) (\([0-9.]*\)s)$/\1 \2 \3/p' "$2" |
		while read -r sub r t; do
			case "$r" in
			SUCCESS) r=pass ;;
			SKIP) r=skip ;;
			FAIL) r=fail ;;
			*) r=$(tr 'A-Z' 'a-z' <<<"$r") ;;	# crash, timeout, ...
			esac
			echo "igt@$1@$sub $r $t"
		done
}

# run_list RUN NAME...: run the named subtests on $card, one process per
# binary, into $OUT/RUN; then judge each against its expected line
run_list() {
	local run=$1 res bin log t0 t_all rc opened name r sub try tries passes
	shift
	res=$OUT/$run
	mkdir -p "$res"
	: >"$res/dlkms.actual"
	: >"$res/flaky.txt"
	local -a bins=()
	local -A subs=() got=() secs=() n_pass=() n_skip=() n_fail=() n_other=()
	for name in "$@"; do
		IFS=@ read -r _ bin sub <<<"$name"
		[ -n "${subs[$bin]:-}" ] || bins+=("$bin")
		subs[$bin]+="${subs[$bin]:+,}$sub"
	done
	t_all=$SECONDS
	for bin in "${bins[@]}"; do
		[ -x "$IGT/$bin" ] || fail "no IGT binary $IGT/$bin"
		log=$res/$bin.log
		t0=$SECONDS
		kmsg0=$(dmesg | wc -l)
		run_igt "$bin" "${subs[$bin]}" "$log"
		rc=$?
		# this binary's kernel log, for classifying its fails (the log is not
		# cleared: the rig scans all of it for warnings)
		dmesg | tail -n +"$((kmsg0 + 1))" >"$res/$bin.dmesg"
		[ "$rc" != 124 ] && [ "$rc" != 137 ] || say "# $bin timed out after ${BIN_TIMEOUT}s"
		# the run must have opened our card, not some other device
		opened=$(sed -n 's/^Opened device: //p' "$log" | head -n 1)
		[ "$opened" = "$card" ] || bad "$bin opened '${opened:-nothing}', not $card"
		igt_reasons "$bin" <"$log" >>"$res/dlkms.actual"
		while read -r name r t; do
			got[$name]=$r
			secs[$name]=$t
		done < <(results_of "$bin" "$log")
		say "# $bin${run#igt}: rc=$rc, $((SECONDS - t0)) s"
	done

	for name in "$@"; do
		IFS=@ read -r _ bin sub <<<"$name"
		r=${got[$name]:-notrun}
		# a flaky subtest that failed: again, alone, until a try passes
		if [ "$DRV" = dlkms ] && [ "${want[$name]}" = flaky ] && [ "$r" = fail ]; then
			tries=1 passes=0
			while [ "$tries" -lt "$FLAKY_TRIES" ] && [ "$passes" = 0 ]; do
				tries=$((tries + 1))
				log=$res/$bin@$sub.try$tries.log
				run_igt "$bin" "$sub" "$log"
				r=$(results_of "$bin" "$log" | awk -v n="$name" '$1 == n { print $2 }')
				r=${r:-notrun}
				[ "$r" != pass ] || passes=1
				[ "$r" = pass ] || [ "$r" = fail ] || break
			done
			echo "$name $tries $passes" >>"$res/flaky.txt"
			say "# $name: flaky, $tries tries, $passes passed (the last: $r)"
		elif [ "${want[$name]}" = flaky ]; then
			echo "$name 1 $([ "$r" = pass ] && echo 1 || echo 0)" >>"$res/flaky.txt"
		fi
		case "$r" in
		pass) n_pass[$bin]=$((${n_pass[$bin]:-0} + 1)) ;;
		skip) n_skip[$bin]=$((${n_skip[$bin]:-0} + 1)) ;;
		fail) n_fail[$bin]=$((${n_fail[$bin]:-0} + 1)) ;;
		*) n_other[$bin]=$((${n_other[$bin]:-0} + 1)) ;;
		esac
		if [ "$DRV" != dlkms ]; then
			say "# $name $r (${secs[$name]:-?} s)"
		elif [ "$r" = "${want[$name]}" ]; then
			ok "$name $r (${secs[$name]:-?} s)${why[$name]:+  # ${why[$name]}}"
		elif [ "${want[$name]}" = flaky ] && [ "$r" = pass ]; then
			ok "$name pass, flaky (${secs[$name]:-?} s)  # ${why[$name]}"
		elif [ "${want[$name]}" != pass ] && [ "${want[$name]}" != flaky ] && [ "$r" = pass ]; then
			bad "$name passes now, expected ${want[$name]} (${why[$name]}): update $EXPECTED"
		else
			bad "$name: expected ${want[$name]}, got $r (see $run/$bin.log)"
		fi
	done
	say "# per binary ($DRV, kernel $DLKMS_KVER, $MON, $run): pass / skip / fail / other"
	for bin in "${bins[@]}"; do
		printf '#   %-20s %3d %3d %3d %3d\n' "$bin" "${n_pass[$bin]:-0}" "${n_skip[$bin]:-0}" \
			"${n_fail[$bin]:-0}" "${n_other[$bin]:-0}"
	done
	say "# IGT wall time ($run) $((SECONDS - t_all)) s"
}

run_list igt "${order[@]}"

if [ "${#replug_order[@]}" -gt 0 ]; then
	# the old device's holder: an fd (not master) and a mapped dumb buffer
	hold_card "$card" map || fail "could not hold $card"
	old=$card
	emu yank >/dev/null || fail "yank"
	for i in $(seq 1 100); do [ -e "$old" ] || break; sleep 0.1; done
	[ ! -e "$old" ] || fail "$old still there 10 s after the yank"
	emu replug >/dev/null || fail "replug"
	wait_usb_bound dlkms 30 || fail "dlkms did not bind the replugged adapter"
	card=$(wait_card dlkms 30) || fail "no dlkms card after the replug"
	wait_mode "$SIZE" 60 || fail "emulator did not decode $SIZE after the replug"
	[ "$(stat -c %T "$card")" != "$(printf %x "$HELD_MINOR")" ] ||
		fail "the new card $card has the held card's minor"
	ok "yanked $old with process $HOLDER holding it (fd + mmap), replugged: IGT runs on $card"
	run_list igt-replug "${replug_order[@]}"
	let_go || bad "the old card's holder: its mapping or its close"
fi

stop_emu
for i in $(seq 1 50); do card_of "$DRV" >/dev/null || break; sleep 0.1; done
for i in $(seq 1 50); do [ "$(cat /sys/module/$DRV/refcnt)" = 0 ] && break; sleep 0.1; done
rmmod "$DRV" || bad "rmmod $DRV after the IGT run"
# the mismatches again, last, where a log tail shows them
for b in "${BADS[@]}"; do say "mismatch: $b"; done
[ "$NBAD" = 0 ] || { say "$NBAD checks failed (IGT results against $EXPECTED, or the suite's own)"; exit 1; }
if [ "$DRV" != dlkms ]; then
	ok "$DRV: ${#order[@]} subtests ran (results in $OUT/igt/dlkms.actual, not checked)"
else
	ok "all IGT results as expected (${#order[@]} fresh, ${#replug_order[@]} replugged)"
fi
