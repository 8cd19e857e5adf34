#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Mutation check of the replay test: plant one bug at a time in a temporary
# copy of the encoder (src/dlkms_proto.c, include/dlkms_proto.h), the moves
# of scrolled content (src/dlkms_scroll.c) or the decoder
# (tests/emu/dl_decode.c), build the replay against it and require
# the run to fail. The real sources are never touched.
# Run from tests/fuzz: ./mutants.sh (or make mutants).
set -u

CC=${CC:-gcc}
ITERS=${ITERS:-3000}
SCROLLS=${SCROLLS:-11}
tmp=$(mktemp -d /tmp/dlfuzz-mutants.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# file@sed expression@what the bug is
mutants=(
	'proto@s/while (i < npx \&\& len - pos >= DL_RLX_MIN_BYTES)/while (i < npx \&\& (len - pos >= 40 || !pos) \&\& len - pos >= DL_RLX_MIN_BYTES)/@gives up on a URB with room left'
	'proto@s/len - pos >= bpp + 1)/len - pos >= bpp)/@one byte too optimistic about room'
	'proto@s/buf\[pos++\] = rep;/buf[pos++] = rep + 1;/@repeat count one too high'
	'proto@s/put_be24(cmd + 2, addr + i \* bpp)/put_be24(cmd + 2, addr + i)/@command address ignores the pixel size'
	'proto@s/npx - i : DL_MAX_CMD_PIXELS)/npx - i : DL_MAX_CMD_PIXELS - 1)/@commands split at 255 pixels'
	'proto@s/(i - start) \& 0xff/(i - start + 1) \& 0xff/@pixel count one too high'
	'proto@s/len - pos >= 2 + bpp)/len - pos >= 12)/@no progress in a minimal URB'
	'proto@s/dl_lfsr16(t->vtotal)/dl_lfsr16(t->vtotal - 1)/@vertical total one short'
	'proto@s/n += enc_kick(buf + n);/;/@no drawing command after a register batch'
	'header@s/((px >> 5) \& 0x18)/((px >> 6) \& 0x18)/@24-bpp green low bits taken from the wrong place'
	'header@s/((px >> 3) \& 0x001f)/((px >> 2) \& 0x001f)/@RGB565 blue from the wrong bits'
	'proto@s/off = (pl.fwd ? m->done : left - k) \* bpp;/off = m->done * bpp;/@moves always copied front to back'
	'proto@s/pl->step = min_uint(DL_MAX_CMD_PIXELS, shift \/ bpp);/pl->step = DL_MAX_CMD_PIXELS;/@move commands as long as the run allows, overlapping themselves'
	'proto@s/return up < an || DL_MEM_SIZE - up < bn;/return false;/@a scratch on the source or the destination used for staging'
	'proto@s/2 \* ((m->npx + piece - 1) \/ piece))) {/((m->npx + piece - 1) \/ piece))) {/@staged moves costed at one command a piece'
	'scroll@s/bool bottom_up = s->dy > 0;/bool bottom_up = s->dy < 0;/@runs of moved lines sent in the wrong order'
	'scroll@s/\.npx = t->full ? (t->b - t->a) \* s->stride : s->width,/.npx = s->width,/@a run of whole lines moved as its first line only'
	'scroll@s/j = (int)i - s->dy;/j = (int)i - s->dy + (s->dy > 0 ? -1 : 1);/@the shadow moved one line further than the device'
	'decode@s/memmove(d->carry, d->carry + r, d->ncarry - r);/;/@carry not shifted'
	'decode@s/return c ? c : 256;/return c;/@count 0 read as 0, not 256'
	'decode@s/take = n < DLD_MAX_CMD - d->ncarry ? n : DLD_MAX_CMD - d->ncarry;/take = n < 8 ? n : 8;/@carry completes only short commands'
)

fail=0
for m in "${mutants[@]}"; do
	IFS='@' read -r which expr what <<<"$m"
	mkdir -p "$tmp/include"
	cp ../../src/dlkms_proto.c ../../src/dlkms_scroll.c ../emu/dl_decode.c "$tmp/"
	cp ../../include/dlkms_proto.h ../../include/dlkms_scroll.h "$tmp/include/"
	case $which in
	proto) f=$tmp/dlkms_proto.c; orig=../../src/dlkms_proto.c ;;
	scroll) f=$tmp/dlkms_scroll.c; orig=../../src/dlkms_scroll.c ;;
	header) f=$tmp/include/dlkms_proto.h; orig=../../include/dlkms_proto.h ;;
	*) f=$tmp/dl_decode.c; orig=../emu/dl_decode.c ;;
	esac
	sed -i "$expr" "$f"
	if cmp -s "$f" "$orig"; then
		echo "mutants: '$what': the edit did not apply ($expr)"
		fail=1
		continue
	fi
	if ! $CC -O1 -g -Wall -I"$tmp/include" -I../emu -fsanitize=address,undefined \
		-fno-sanitize-recover=all -o "$tmp/replay" fuzz_roundtrip.c \
		"$tmp/dlkms_proto.c" "$tmp/dlkms_scroll.c" "$tmp/dl_decode.c" 2>"$tmp/cc.log"; then
		echo "mutants: '$what': does not build"; cat "$tmp/cc.log"
		fail=1
		continue
	fi
	# the replay aborts on failure; keep bash's "Aborted" notice out of the way
	{ (cd "$tmp" && exec timeout 120 ./replay -n "$ITERS" -r "$SCROLLS" -c "$OLDPWD/corpus" >run.log 2>&1); } 2>/dev/null
	rc=$?
	msg=$(grep -m1 -E 'fuzz_roundtrip: FAIL|ERROR: AddressSanitizer|runtime error' "$tmp/run.log")
	if [ "$rc" -eq 0 ] || [ -z "$msg" ]; then
		echo "mutants: SURVIVED '$what' (exit $rc)"
		fail=1
	else
		echo "mutants: killed '$what': ${msg#*: }"
	fi
done
exit "$fail"
