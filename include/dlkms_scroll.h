/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Content that moved vertically (text scrolled, a window dragged up or
 * down), found by matching the new lines of a damaged rectangle against
 * the shadow (what the device's memory holds), and moved with the
 * adapter's own copy commands rather than sent again.
 *
 * Plain C like dlkms_proto.c: the same file builds into the module and
 * into the host round trip (tests/fuzz), so what the tests prove about
 * detection, move encoding and the shadow update is what the driver does.
 *
 * A match only chooses what to move. Whatever a move brings, the shadow
 * is moved alike and the ordinary diff then sends every pixel that still
 * differs from the new picture: a wrong match (a hash collision, a line
 * that changed between hashing and sending) costs bytes, never pixels.
 */
#ifndef DLKMS_SCROLL_H
#define DLKMS_SCROLL_H

#include "dlkms_proto.h"

#ifndef __KERNEL__
typedef __u64 u64;
#endif

/* Rectangles with fewer lines are not searched: nothing to gain. */
#define DL_SCROLL_MIN_LINES	4

/* New lines hashed first, to give up early when nothing moved. */
#define DL_SCROLL_SAMPLES	16

/* Shifts tried in full, out of those the samples suggest. */
#define DL_SCROLL_CANDIDATES	8

/*
 * Unchanged pixels inside a changed span cost about a byte each in RLX; a
 * new command costs 7. Gaps longer than this split a span of the diff.
 */
#define DL_DIFF_GAP		8
/* dl_diff_next() needs every equal run inside a 64-bit word to be shorter */
_Static_assert(DL_DIFF_GAP >= 8 - 2, "DL_DIFF_GAP below a word's inner run");

u64 dl_line_hash(const u16 *px16, const u8 *px8, unsigned int n);

/*
 * A rectangle of the shadow and the search for a shift of its lines.
 * Line i of the rectangle starts at @old16 + i * @stride (and @old8 + i *
 * @stride in 24 bpp, else @old8 is NULL).
 */
struct dl_scroll {
	u16 *old16;
	u8 *old8;
	unsigned int stride;		/* pixels from one line to the next */
	unsigned int width, height;	/* of the rectangle */
	/*
	 * The new picture's line i as the planes get it: its 16-bit pixels
	 * returned, its 8-bit ones in *@px8 in 24 bpp. Valid until the next
	 * call; each line is asked for once at most.
	 */
	const u16 *(*new_line)(void *ctx, unsigned int i, const u8 **px8);
	void *ctx;
	/*
	 * Scratch of @height entries each, allocated by the caller: line
	 * hashes old and new, the old lines' probes, what to take.
	 */
	u64 *hold, *hnew, *pold;
	u8 *take;
	/* result: line i gets old line i - @dy where @take[i], in its planes */
	int dy;
	unsigned int lines;		/* how many are taken */
};

/*
 * Finds the shift that saves the most bytes and the lines to move by it;
 * false when moving saves nothing (then @dy is 0 and no line is taken).
 */
bool dl_scroll_find(struct dl_scroll *s);

/* Applies the moves @s found to the shadow, as the device does them. */
void dl_scroll_shadow(const struct dl_scroll *s);

/*
 * The copy commands of the moves @s found, encoded into buffers one after
 * another. Device addresses: line i of the rectangle in the 16-bit plane
 * starts at @base16 + 2 * i * @s->stride, in the 8-bit plane at @base8 +
 * i * @s->stride. @full: the rectangle spans whole lines of the plane, so
 * consecutive lines are contiguous and a run of them moves as one.
 */
struct dl_scroll_tx {
	const struct dl_scroll *s;
	u32 base16, base8;
	bool full;
	u32 bounce;			/* off-screen scratch, DL_MAX_CMD_PIXELS * 2 bytes */
	/* progress */
	unsigned int next;		/* runs started so far, in sending order */
	bool busy, low8;		/* a run's move under way; the plane of the runs */
	unsigned int a, b;		/* the run: lines [a, b) */
	struct dl_move m;
	unsigned int copies;		/* copy commands written */
};

void dl_scroll_tx_init(struct dl_scroll_tx *t, const struct dl_scroll *s,
		       u32 base16, u32 base8, bool full, u32 bounce);

/*
 * Encodes what is left of the moves into @buf (at most @len bytes), whole
 * commands only; returns the bytes written. Done when dl_scroll_tx_done();
 * until then the caller sends @buf and goes on in a new one. A buffer of
 * DL_MOVE_MIN_BYTES or more always makes progress.
 */
size_t dl_scroll_enc(u8 *buf, size_t len, struct dl_scroll_tx *t);

bool dl_scroll_tx_done(const struct dl_scroll_tx *t);

static __always_inline u32 dl_px(const void *p, unsigned int cpp, unsigned int i)
{
	return cpp == 2 ? ((const u16 *)p)[i] : ((const u8 *)p)[i];
}

/* 64 bits of pixels from @p at pixel @i, in the CPU's byte order */
static __always_inline u64 dl_word(const void *p, unsigned int cpp, unsigned int i)
{
	u64 w;

	__builtin_memcpy(&w, (const u8 *)p + (size_t)i * cpp, sizeof(w));
	return w;
}

static __always_inline void dl_word_put(void *p, unsigned int cpp, unsigned int i, u64 w)
{
	__builtin_memcpy((u8 *)p + (size_t)i * cpp, &w, sizeof(w));
}

static __always_inline void dl_px_put(void *p, unsigned int cpp, unsigned int i, u32 v)
{
	if (cpp == 2)
		((u16 *)p)[i] = v;
	else
		((u8 *)p)[i] = v;
}

/*
 * Which pixels of a word loaded with dl_word() differ, given @x, the xor
 * of two such words (not 0): the first and the last, as pixel offsets
 * into the word.
 */
static __always_inline void dl_word_lanes(u64 x, unsigned int cpp, unsigned int *lo,
					  unsigned int *hi)
{
	unsigned int bits = 8 * cpp;

	/* a bit in each pixel's low byte where that pixel differs */
	if (cpp == 2)
		x = (x | x >> 8) & 0x00ff00ff00ff00ffULL;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	*lo = __builtin_clzll(x) / bits;
	*hi = (63 - __builtin_ctzll(x)) / bits;
#else
	*lo = __builtin_ctzll(x) / bits;
	*hi = (63 - __builtin_clzll(x)) / bits;
#endif
}

/*
 * The shadow diff: the next span [*a, *b) from *pos on where @cur differs
 * from @old, with no more than DL_DIFF_GAP equal pixels inside it. False
 * when none is left. Looked at a word at a time: equal pixels are most of
 * a line in all but noise and video, and where every pixel changed a word
 * costs two loads instead of eight.
 *
 * @sync is NULL or @old: then every word found to differ is written to it
 * on the way, and once this returns false @old equals @cur. That takes the
 * place of copying the whole line after the diff, which read and wrote
 * every pixel once more.
 */
static __always_inline bool dl_diff_next(const void *cur, const void *old, void *sync,
					 unsigned int cpp, unsigned int n,
					 unsigned int *pos, unsigned int *a,
					 unsigned int *b)
{
	unsigned int i = *pos, same = 0, wpx = 8 / cpp, lo, hi;
	u64 w, x;

	while (i + wpx <= n && dl_word(cur, cpp, i) == dl_word(old, cpp, i))
		i += wpx;
	while (i < n && dl_px(cur, cpp, i) == dl_px(old, cpp, i))
		i++;
	if (i == n)
		return false;
	*a = i;
	*b = i + 1;
	if (sync)
		dl_px_put(sync, cpp, i, dl_px(cur, cpp, i));
	/*
	 * Word by word: the equal pixels leading a word count towards the
	 * gap, those after its last change start the next count. Equal runs
	 * inside a word are shorter than the gap, so the span ends where
	 * the pixel-by-pixel rule would end it.
	 */
	for (i++; i + wpx <= n; i += wpx) {
		w = dl_word(cur, cpp, i);
		x = w ^ dl_word(old, cpp, i);
		if (!x) {
			same += wpx;
			if (same > DL_DIFF_GAP)
				goto out;
			continue;
		}
		dl_word_lanes(x, cpp, &lo, &hi);
		if (same + lo > DL_DIFF_GAP)
			goto out;
		if (sync)
			dl_word_put(sync, cpp, i, w);
		*b = i + hi + 1;
		same = wpx - 1 - hi;
	}
	for (; i < n && same <= DL_DIFF_GAP; i++) {
		if (dl_px(cur, cpp, i) == dl_px(old, cpp, i)) {
			same++;
		} else {
			if (sync)
				dl_px_put(sync, cpp, i, dl_px(cur, cpp, i));
			same = 0;
			*b = i + 1;
		}
	}
out:
	*pos = *b;
	return true;
}

/* dl_diff_next() that leaves @old as it is */
static __always_inline bool dl_next_change(const void *cur, const void *old,
					   unsigned int cpp, unsigned int n,
					   unsigned int *pos, unsigned int *a,
					   unsigned int *b)
{
	return dl_diff_next(cur, old, NULL, cpp, n, pos, a, b);
}

#endif /* DLKMS_SCROLL_H */
