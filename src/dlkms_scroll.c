// SPDX-License-Identifier: GPL-2.0-only
/*
 * Vertical moves of damaged content (see dlkms_scroll.h).
 *
 * Copyright (C) 2026 dlkms developers
 */

#ifdef __KERNEL__
#include <linux/string.h>
#else
#include <string.h>
#endif

#include "dlkms_scroll.h"

#define DL_HASH_MUL	0x100000001b3ULL

/*
 * One step per 64 bits of pixels: xor, an odd multiply and an xorshift
 * are each one-to-one, so two lines that differ in one word never hash
 * alike; about a cycle a pixel, well below what comparing and encoding
 * the line costs. A collision only costs bytes (see dlkms_scroll.h).
 */
static inline u64 hash_step(u64 h, u64 w)
{
	h = (h ^ w) * DL_HASH_MUL;
	return h ^ (h >> 29);
}

/*
 * Words are loaded whole (dl_word()), in the CPU's byte order: old and new
 * lines are hashed alike on one machine, which is all a match needs.
 */
u64 dl_line_hash(const u16 *px16, const u8 *px8, unsigned int n)
{
	u64 h = 0xcbf29ce484222325ULL;
	unsigned int i = 0;

	for (; i + 4 <= n; i += 4)
		h = hash_step(h, dl_word(px16, 2, i));
	for (; i < n; i++)
		h = hash_step(h, px16[i]);
	if (!px8)
		return h;
	for (i = 0; i + 8 <= n; i += 8)
		h = hash_step(h, dl_word(px8, 1, i));
	for (; i < n; i++)
		h = hash_step(h, px8[i]);
	return h;
}

static u16 *old_line16(const struct dl_scroll *s, unsigned int i)
{
	return s->old16 + (size_t)i * s->stride;
}

static u8 *old_line8(const struct dl_scroll *s, unsigned int i)
{
	return s->old8 ? s->old8 + (size_t)i * s->stride : NULL;
}

/* while searching, @take marks the lines whose new, or old, hash is known */
#define DL_KNOWN_NEW	0x02
#define DL_KNOWN_OLD	0x04

static u64 old_hash(struct dl_scroll *s, unsigned int i)
{
	if (!(s->take[i] & DL_KNOWN_OLD)) {
		s->hold[i] = dl_line_hash(old_line16(s, i), old_line8(s, i), s->width);
		s->take[i] |= DL_KNOWN_OLD;
	}
	return s->hold[i];
}

/*
 * Four pixels spread over a line's 16-bit plane: lines that differ there
 * cannot match, which rules out nearly all old lines without hashing
 * them when nothing moved (noise, video).
 */
static u64 line_probe(const u16 *px, unsigned int n)
{
	return (u64)px[n / 8] | (u64)px[3 * n / 8] << 16 |
	       (u64)px[5 * n / 8] << 32 | (u64)px[7 * n / 8] << 48;
}

static u64 new_hash(struct dl_scroll *s, unsigned int i, u64 *probe)
{
	const u16 *px16;
	const u8 *px8 = NULL;

	if (!(s->take[i] & DL_KNOWN_NEW)) {
		px16 = s->new_line(s->ctx, i, &px8);
		s->hnew[i] = dl_line_hash(px16, px8, s->width);
		s->take[i] |= DL_KNOWN_NEW;
		if (probe)
			*probe = line_probe(px16, s->width);
	}
	return s->hnew[i];
}

/* the sample lines, spread over the rectangle */
static unsigned int sample_line(const struct dl_scroll *s, unsigned int k)
{
	return (2 * k + 1) * s->height / (2 * DL_SCROLL_SAMPLES);
}

/*
 * Hashes the sample lines, old and new, and keeps the new ones' probes;
 * true if any of them changed.
 */
static bool hash_samples(struct dl_scroll *s, u64 *probe)
{
	bool changed = false;
	unsigned int k, i;

	memset(s->take, 0, s->height);
	for (k = 0; k < DL_SCROLL_SAMPLES; k++) {
		i = sample_line(s, k);
		if (s->take[i] & DL_KNOWN_NEW) {
			probe[k] = probe[k - 1];	/* fewer lines than samples */
			continue;
		}
		changed |= new_hash(s, i, &probe[k]) != old_hash(s, i);
	}
	return changed;
}

struct dl_cand {
	int dy[DL_SCROLL_CANDIDATES];
	unsigned int n;
};

/* one more shift to try, unless known or too many already */
static void cand_add(struct dl_cand *c, int dy)
{
	unsigned int k;

	for (k = 0; k < c->n; k++)
		if (c->dy[k] == dy)
			return;
	if (c->n < DL_SCROLL_CANDIDATES)
		c->dy[c->n++] = dy;
}

/* matches of a changed new line taken per sample, nearest first */
#define DL_SCROLL_MATCHES	2

/*
 * The shifts the samples suggest: for each changed sample line, the
 * nearest old lines with its hash. Repeated lines (blank ones, a text
 * line shown twice) suggest wrong shifts too; the full count decides.
 */
static void find_candidates(struct dl_scroll *s, const u64 *probe, struct dl_cand *c)
{
	unsigned int k, i, d, found;
	int j, side;

	/*
	 * Each old line's probe once, into one small array: the search
	 * below looks at every line for every sample, and four reads spread
	 * over each line of the shadow cost far more (most of all under
	 * emulation, where every page touched is a TLB refill).
	 */
	for (j = 0; j < (int)s->height; j++)
		s->pold[j] = line_probe(old_line16(s, j), s->width);
	c->n = 0;
	for (k = 0; k < DL_SCROLL_SAMPLES; k++) {
		i = sample_line(s, k);
		if (s->hnew[i] == s->hold[i])
			continue;
		found = 0;
		for (d = 1; d < s->height && found < DL_SCROLL_MATCHES; d++) {
			for (side = -1; side <= 1; side += 2) {
				j = (int)i + side * (int)d;
				if (j < 0 || j >= (int)s->height ||
				    s->pold[j] != probe[k] ||
				    old_hash(s, j) != s->hnew[i])
					continue;
				cand_add(c, -side * (int)d);
				found++;
			}
		}
	}
}

/* Would line @i be brought by a shift of @dy, and was it not there already? */
static bool line_moves(const struct dl_scroll *s, unsigned int i, int dy)
{
	int j = (int)i - dy;

	return j >= 0 && j < (int)s->height && s->hnew[i] == s->hold[j] &&
	       s->hnew[i] != s->hold[i];
}

static unsigned int count_moves(const struct dl_scroll *s, int dy)
{
	unsigned int i, n = 0;

	for (i = 0; i < s->height; i++)
		n += line_moves(s, i, dy);
	return n;
}

/*
 * Whether the diff would send more than @limit bytes to make old line @to
 * into @from, about: the spans dl_next_change() finds, each with a command
 * header, a pixel that differs from its left neighbour sent raw and the
 * others repeated. Looked at a command's worth of pixels at a time, so
 * that it stops near the limit: a line of new text passes it within its
 * first few glyphs, where one span can run the whole line.
 */
static bool diff_costs_more(const void *to, const void *from, unsigned int cpp,
			    unsigned int n, unsigned int limit)
{
	unsigned int c, m, pos, a, b, i, cost = 0;

	for (c = 0; c < n; c += DL_MAX_CMD_PIXELS) {
		m = n - c < DL_MAX_CMD_PIXELS ? n : c + DL_MAX_CMD_PIXELS;
		pos = c;
		while (dl_next_change(from, to, cpp, m, &pos, &a, &b)) {
			cost += 7;
			for (i = a; i < b; i++)
				if (i == a || dl_px(from, cpp, i) != dl_px(from, cpp, i - 1))
					cost += cpp;
		}
		if (cost > limit)
			return true;
	}
	return false;
}

/* what @take says once the search is done: move the line in this plane */
#define DL_TAKE16	0x01
#define DL_TAKE8	0x02

/*
 * Takes the lines worth moving by @dy, in each plane apart: where their
 * diff costs more than their copies. (In 24 bpp the low bits of a text
 * line are often the same everywhere, not worth a copy.)
 */
static unsigned int take_lines(struct dl_scroll *s, int dy)
{
	unsigned int copies = (s->width + DL_MAX_CMD_PIXELS - 1) / DL_MAX_CMD_PIXELS;
	unsigned int move = DL_COPY_BYTES * copies;
	unsigned int i, j, n = 0;

	for (i = 0; i < s->height; i++) {
		s->take[i] = 0;
		if (!line_moves(s, i, dy))
			continue;
		j = (int)i - dy;
		if (diff_costs_more(old_line16(s, i), old_line16(s, j), 2, s->width, move))
			s->take[i] |= DL_TAKE16;
		if (s->old8 && diff_costs_more(old_line8(s, i), old_line8(s, j), 1, s->width, move))
			s->take[i] |= DL_TAKE8;
		n += !!s->take[i];
	}
	return n;
}

bool dl_scroll_find(struct dl_scroll *s)
{
	u64 probe[DL_SCROLL_SAMPLES];
	struct dl_cand c;
	unsigned int i, k, best = 0, n;

	s->dy = 0;
	s->lines = 0;
	if (s->height < DL_SCROLL_MIN_LINES || !hash_samples(s, probe))
		return false;
	find_candidates(s, probe, &c);
	if (!c.n)
		return false;
	/* something may have moved: all lines' hashes, to count how much */
	for (i = 0; i < s->height; i++) {
		old_hash(s, i);
		new_hash(s, i, NULL);
	}
	for (k = 0; k < c.n; k++) {
		n = count_moves(s, c.dy[k]);
		if (n > best) {
			best = n;
			s->dy = c.dy[k];
		}
	}
	/* take_lines() rewrites @take, now as the lines to move */
	s->lines = best ? take_lines(s, s->dy) : 0;
	if (!s->lines) {
		memset(s->take, 0, s->height);
		s->dy = 0;
	}
	return s->lines;
}

/*
 * Lines taken are moved in an order in which none is read after it was
 * overwritten: content going down (@dy > 0) from the bottom up.
 */
void dl_scroll_shadow(const struct dl_scroll *s)
{
	unsigned int k, i, j;

	for (k = 0; k < s->height; k++) {
		i = s->dy > 0 ? s->height - 1 - k : k;
		if (!s->take[i])
			continue;
		j = (int)i - s->dy;
		if (s->take[i] & DL_TAKE16)
			memmove(old_line16(s, i), old_line16(s, j), 2 * s->width);
		if (s->take[i] & DL_TAKE8)
			memmove(old_line8(s, i), old_line8(s, j), s->width);
	}
}

void dl_scroll_tx_init(struct dl_scroll_tx *t, const struct dl_scroll *s,
		       u32 base16, u32 base8, bool full, u32 bounce)
{
	memset(t, 0, sizeof(*t));
	t->s = s;
	t->base16 = base16;
	t->base8 = base8;
	t->full = full;
	t->bounce = bounce;
}

bool dl_scroll_tx_done(const struct dl_scroll_tx *t)
{
	return !t->busy && t->next >= t->s->height && (t->low8 || !t->s->old8);
}

/*
 * The next run of lines taken, in sending order: [a, b), with @next the
 * lines looked at so far; the 16-bit plane's runs, then the 8-bit one's
 * (the planes do not meet). Whole-line rectangles join consecutive lines:
 * the move of a run has memmove()'s result, as the shadow's line by line.
 */
static bool next_run(struct dl_scroll_tx *t)
{
	const struct dl_scroll *s = t->s;
	bool bottom_up = s->dy > 0;
	u8 plane = t->low8 ? DL_TAKE8 : DL_TAKE16;
	unsigned int i = 0;

	for (;;) {
		for (; t->next < s->height; t->next++) {
			i = bottom_up ? s->height - 1 - t->next : t->next;
			if (s->take[i] & plane)
				break;
		}
		if (t->next < s->height)
			break;
		if (t->low8 || !s->old8)
			return false;
		t->low8 = true;
		t->next = 0;
		plane = DL_TAKE8;
	}
	t->a = i;
	t->b = i + 1;
	for (t->next++; t->full && t->next < s->height; t->next++) {
		i = bottom_up ? s->height - 1 - t->next : t->next;
		if (!(s->take[i] & plane))
			break;
		if (bottom_up)
			t->a = i;
		else
			t->b = i + 1;
	}
	return true;
}

/* The move of the run's lines in the plane of @low8. */
static void run_move(struct dl_scroll_tx *t)
{
	const struct dl_scroll *s = t->s;
	unsigned int cpp = t->low8 ? 1 : 2;
	u32 base = t->low8 ? t->base8 : t->base16;

	t->m = (struct dl_move){
		.dst = base + cpp * t->a * s->stride,
		.src = base + cpp * (u32)((int)t->a - s->dy) * s->stride,
		.npx = t->full ? (t->b - t->a) * s->stride : s->width,
		.bounce = t->bounce,
		.bounce_px = DL_MAX_CMD_PIXELS,
	};
}

size_t dl_scroll_enc(u8 *buf, size_t len, struct dl_scroll_tx *t)
{
	size_t pos = 0, n;

	for (;;) {
		if (!t->busy) {
			if (!next_run(t))
				break;
			run_move(t);
			t->busy = true;
		}
		if (len - pos < DL_MOVE_MIN_BYTES)
			break;
		if (t->low8)
			n = dl_enc_move8(buf + pos, len - pos, &t->m);
		else
			n = dl_enc_move16(buf + pos, len - pos, &t->m);
		pos += n;
		t->copies += n / DL_COPY_BYTES;
		if (t->m.done < t->m.npx)
			break;		/* the buffer is full */
		t->busy = false;
	}
	return pos;
}
