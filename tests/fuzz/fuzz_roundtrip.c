// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target for the driver's bulk encoder (src/dlkms_proto.c) against the
 * emulator's independently written decoder (tests/emu/dl_decode.c).
 *
 * Round-trip mode: the input chooses a plane, a device address, a span
 * length and row count, a URB size (down to DL_RLX_MIN_BYTES) and how the
 * byte stream is cut into decoder feeds; the rest is pixel data. The pixels
 * are encoded with the real encoder in exactly the loop the driver runs
 * (dlkms_tx_span(): URBs filled back to back across rows and planes, a new
 * URB at addr + bpp * done whenever one fills) and decoded; then device
 * memory must hold exactly the pixels at exactly their addresses, nothing
 * else may have been written, the decoder must have seen only well-formed
 * RLX commands, and the encoder must have stayed inside its buffer (guard
 * bytes and an untouched tail).
 *
 * Modeset mode: timings, bases and a blank mode from the input go through
 * dl_enc_modeset() and dl_enc_blank(); the decoder must recover the same
 * mode, apply nothing before the final register unlock, and see exactly the
 * register writes and the one "kick" copy each batch is made of.
 *
 * Move mode: random device memory around a source, a destination and a
 * scratch; a move (any shift, overlapping or not, 1 pixel included) goes
 * through dl_enc_move16()/dl_enc_move8() in buffers of the chosen size and
 * the decoder; then memory must equal a memmove on a copy of it (the
 * scratch aside), no copy may overlap itself, and the stream must cost
 * what dlkms_proto.h says.
 *
 * Garbage mode: the payload goes straight into the decoder, once whole and
 * once in the chosen chunking. It must not crash or touch memory out of
 * bounds (ASan/UBSan), both decoders must end in the same state (a stream
 * decoder cannot depend on where transfers end; dlemu cannot see URB
 * boundaries), and a resynchronising run of no-ops must bring it back.
 *
 * Built with -DDLFUZZ_LIBFUZZER this is a libFuzzer target; without it the
 * same file has a main() that replays files (the checked-in corpus) and a
 * fixed-seed series of generated inputs, as a deterministic regression test.
 *
 * Input layout (missing header bytes read as 0):
 *   0      flags: bit 0 garbage mode, bit 1 8-bit plane (RLX8),
 *          bits 2-3 pixel source (raw, palette, run-length list, fixed
 *          runs), bit 4 fill each URB's tail with 0xAF as udl does,
 *          bit 5 modeset mode (layout: see modeset()), bit 6 24 bpp: each
 *          row as XRGB8888, sent as an RLX16 span, then an RLX8 span in
 *          the 8-bit plane after the rows, as src/dlkms_render.c does,
 *          bit 7 move mode (layout: see move())
 *   1-3    device start address, big-endian
 *   4-5    span length - 1, little-endian, modulo MAX_SPAN
 *   6      bits 0-1 rows - 1; bits 2-7 high bits of the run length
 *   7      gap in bytes between consecutive rows' spans
 *   8-9    URB size selector, little-endian (see urb_size())
 *   10     chunking: 0 per URB, 1 whole stream, 2 fixed size, 3 random sizes
 *   11     chunk parameter (fixed size - 1, or random seed)
 *   12     pixel source parameter (palette seed, run length low bits)
 *   13-    pixel data (round trip) or decoder input (garbage)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dl_decode.h"
#include "dl_vectors.h"
#include "dlkms_proto.h"
#include "dlkms_scroll.h"

#define HDR_LEN		13
#define MAX_SPAN	4096
#define MAX_ROWS	4
#define URB_MAX		65536		/* the driver's DLKMS_URB_SIZE */
#define GUARD		64
#define GUARD_BYTE	0xe7
#define TAIL_BYTE	0xcc		/* a fresh URB's content before encoding */
#define PAGE		4096u
/* the scroll round trip's largest mode */
#define DLKMS_TEST_MAX_W	1920
#define DLKMS_TEST_MAX_H	1080

#define F_GARBAGE	0x01
#define F_PLANE8	0x02
#define F_SRC_SHIFT	2
#define F_PAD		0x10
#define F_MODESET	0x20
#define F_BOTH		0x40
#define F_MOVE		0x80

enum { SRC_RAW, SRC_PALETTE, SRC_RLE, SRC_RUNS };
enum { CH_URB, CH_WHOLE, CH_FIXED, CH_RANDOM };

/* Deliberate faults that each must turn the run red (make selftest). */
enum { SAB_NONE, SAB_PIXEL, SAB_STRAY, SAB_FAR, SAB_GUARD, SAB_TAIL,
	SAB_MALFORMED, SAB_SPLIT, SAB_RESYNC, SAB_MODE, SAB_COLOUR, SAB_VECTOR,
	SAB_OWED, SAB_OVERLAP, SAB_ORDER, SAB_SCROLL, SAB_DIFF };
static const char *const sabotage_names[] = {
	"none", "pixel", "stray", "far", "guard", "tail", "malformed", "split",
	"resync", "mode", "colour", "vector", "owed", "overlap", "order", "scroll", "diff", NULL
};
static int sabotage;

/*
 * The round-trip decoder's memory is our own mapping, kept read-only except
 * for the pages the current input's spans cover: a decoder write anywhere
 * else faults at once, and only those few pages need a byte-exact scan.
 */
static struct dld rt, gw, gs, ct, mv;
static uint8_t *rt_mem, *mv_ref;
static struct sigaction old_segv;
static bool ready;

static const uint8_t *cur_in;
static size_t cur_len;
static const char *cur_label = "?";
static bool verbose;

static struct {
	unsigned long inputs, roundtrips, garbage, modesets, pixels, urbs, bytes, cuts;
	unsigned long moves, moved, move_overlap, move_bytes;
} tally;

static void dump_input(void)
{
#ifndef DLFUZZ_LIBFUZZER
	/* libFuzzer saves the crashing input itself; the replay does it here */
	FILE *f = fopen("fuzz-failure.bin", "wb");

	if (f && cur_in) {
		fwrite(cur_in, 1, cur_len, f);
		fclose(f);
		fprintf(stderr, "fuzz_roundtrip: failing input (%zu bytes) saved as "
			"fuzz-failure.bin; replay with ./fuzz_replay fuzz-failure.bin\n",
			cur_len);
	}
#endif
}

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_roundtrip: FAIL [%s]: ", cur_label);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	dump_input();
	abort();
}

static void segv_handler(int sig, siginfo_t *si, void *ctx)
{
	uint8_t *a = si->si_addr;

	if (rt_mem && a >= rt_mem && a < rt_mem + DLD_MEM_SIZE) {
		/* a write to a protected page: outside every span of this input */
		static const char hex[] = "0123456789abcdef";
		char msg[] = "fuzz_roundtrip: FAIL: decoder wrote device memory outside "
			     "the spans, at 0x......\n";
		uint32_t off = a - rt_mem;
		char *p = strchr(msg, '.');
		int i;

		for (i = 0; i < 6; i++)
			p[i] = hex[(off >> (20 - 4 * i)) & 0xf];
		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(3);
		dump_input();
		abort();
	}
	/* not ours: hand it to whoever was there (ASan, libFuzzer) */
	if (old_segv.sa_flags & SA_SIGINFO)
		old_segv.sa_sigaction(sig, si, ctx);
	else if (old_segv.sa_handler != SIG_IGN && old_segv.sa_handler != SIG_DFL)
		old_segv.sa_handler(sig);
	else
		signal(sig, SIG_DFL);	/* the fault repeats and kills us */
}

/* Garbage mode's memory: anonymous pages, so untouched ones cost nothing. */
static uint8_t *map_zero(void)
{
	void *m = mmap(NULL, DLD_MEM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return m;
}

static void setup(void)
{
	struct sigaction sa;
	const char *s = getenv("DLFUZZ_SABOTAGE");
	int i;

	if (ready)
		return;
	if (s && *s) {
		for (i = 0; sabotage_names[i] && strcmp(sabotage_names[i], s); i++)
			;
		if (!sabotage_names[i]) {
			fprintf(stderr, "fuzz_roundtrip: unknown DLFUZZ_SABOTAGE=%s\n", s);
			exit(2);
		}
		sabotage = i;
		fprintf(stderr, "fuzz_roundtrip: sabotage '%s' armed: this run must fail\n", s);
	}
	if (dld_init(&rt) || dld_init(&gw) || dld_init(&gs) || dld_init(&ct) ||
	    dld_init(&mv)) {
		fprintf(stderr, "fuzz_roundtrip: out of memory\n");
		exit(2);
	}
	rt_mem = mmap(NULL, DLD_MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rt_mem == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	memset(rt_mem, DLD_FILL, DLD_MEM_SIZE);
	if (mprotect(rt_mem, DLD_MEM_SIZE, PROT_READ)) {
		perror("mprotect");
		exit(2);
	}
	free(rt.mem);
	rt.mem = rt_mem;
	free(gw.mem);
	free(gs.mem);
	gw.mem = map_zero();
	gs.mem = map_zero();
	free(ct.mem);
	ct.mem = map_zero();
	free(mv.mem);
	mv.mem = map_zero();
	mv_ref = map_zero();

	/* installed last, so it sees faults before ASan's or libFuzzer's handler */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = segv_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
	ready = true;
}

/*
 * dld_reset() without refilling the 16 MiB: the round trip restores the
 * bytes it dirtied itself, and garbage mode zeroes its pages with madvise.
 */
static void state_reset(struct dld *d)
{
	uint8_t *mem = d->mem;

	memset(d, 0, sizeof(*d));
	d->mem = mem;
}

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static uint32_t mix(uint32_t v)
{
	v = (v + 0x7f4a7c15) * 0x9e3779b1;
	v ^= v >> 15;
	v *= 0x85ebca6b;
	return v ^ (v >> 13);
}

struct params {
	unsigned int flags, bpp, src, npx, rows, gap, chunk, chunk_param, param;
	unsigned int runlen;
	uint32_t addr;
	size_t urb;
	const uint8_t *data;
	size_t dlen;
};

/*
 * Small sizes are the interesting ones (a command cut after a few pixels);
 * the other half of the range reaches the driver's 64 KiB URB.
 */
static size_t urb_size(unsigned int v)
{
	size_t n;

	if (v & 0x8000)
		n = DL_RLX_MIN_BYTES + (size_t)(v & 0x7fff) * 2;
	else
		n = DL_RLX_MIN_BYTES + (v & 0x3ff);
	return n > URB_MAX ? URB_MAX : n;
}

static void parse(const uint8_t *in, size_t len, struct params *p)
{
	uint8_t h[HDR_LEN] = { 0 };

	memcpy(h, in, len < HDR_LEN ? len : HDR_LEN);
	p->flags = h[0];
	/* 24 bpp sends both planes; the 16-bit one comes first */
	p->bpp = (h[0] & F_PLANE8) && !(h[0] & F_BOTH) ? 1 : 2;
	p->src = (h[0] >> F_SRC_SHIFT) & 3;
	p->addr = (uint32_t)h[1] << 16 | h[2] << 8 | h[3];
	p->npx = 1 + (h[4] | h[5] << 8) % MAX_SPAN;
	p->rows = 1 + (h[6] & 3);
	p->runlen = 1 + h[12] + ((h[6] >> 2) << 8);
	p->gap = h[7];
	p->urb = urb_size(h[8] | h[9] << 8);
	p->chunk = h[10] & 3;
	p->chunk_param = h[11];
	p->param = h[12];
	p->data = len > HDR_LEN ? in + HDR_LEN : NULL;
	p->dlen = len > HDR_LEN ? len - HDR_LEN : 0;
}

/* Pixel source: turns the payload into as many pixels as the spans need. */
struct gen {
	const struct params *p;
	size_t pos;
	uint32_t mask, pal[4], val, run;
	unsigned int left;
};

static uint32_t take_byte(struct gen *g)
{
	if (!g->p->dlen)
		return 0;
	return g->p->data[g->pos++ % g->p->dlen];
}

static uint32_t take_px(struct gen *g)
{
	uint32_t v = take_byte(g);

	if (g->p->bpp == 2)
		v |= take_byte(g) << 8;
	if (g->p->flags & F_BOTH)
		v |= take_byte(g) << 16;	/* XRGB8888 */
	return v;
}

static uint32_t gen_next(struct gen *g)
{
	switch (g->p->src) {
	case SRC_RAW:
		return take_px(g);
	case SRC_PALETTE:
		return g->pal[take_byte(g) & 3];
	case SRC_RLE:
		/* (count - 1, pixel) pairs: two equal ones make runs over 256 */
		if (!g->left) {
			g->left = 1 + take_byte(g);
			g->val = take_px(g);
		}
		g->left--;
		return g->val;
	default:
		/* runs of exactly runlen pixels, each differing from the last */
		if (!g->left) {
			uint32_t v = (mix(g->run++ ^ (g->p->param << 24)) ^ take_px(g)) & g->mask;

			g->val = v == g->val ? v ^ 1 : v;
			g->left = g->p->runlen;
		}
		g->left--;
		return g->val;
	}
}

static void __attribute__((format(printf, 2, 3)))
check(bool ok, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	if (ok)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fail("%s", msg);
}

/* The byte stream as the device would see it, with the URB boundaries. */
struct stream {
	uint8_t *b;
	size_t len, cap;
	size_t *ends;
	size_t nends, capends;
	size_t pads;		/* 0xAF tail bytes appended */
	bool ends_in_pad;
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fprintf(stderr, "fuzz_roundtrip: out of memory\n");
		exit(2);
	}
	return p;
}

static void stream_append(struct stream *s, const uint8_t *b, size_t n, int fill)
{
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2;
		s->b = xrealloc(s->b, s->cap);
	}
	if (fill >= 0)
		memset(s->b + s->len, fill, n);
	else
		memcpy(s->b + s->len, b, n);
	s->len += n;
}

/* dlkms_urb_submit(): the URB's first @pos bytes go on the wire. */
static void submit(struct stream *s, const struct params *p, const uint8_t *buf, size_t pos)
{
	stream_append(s, buf, pos, -1);
	s->ends_in_pad = false;
	if ((p->flags & F_PAD) && pos < p->urb) {
		/* udl sends full URBs with the tail filled with 0xAF no-ops */
		stream_append(s, NULL, p->urb - pos, 0xaf);
		s->pads += p->urb - pos;
		s->ends_in_pad = true;
	}
	if (s->nends == s->capends) {
		s->capends = s->capends ? 2 * s->capends : 64;
		s->ends = xrealloc(s->ends, s->capends * sizeof(*s->ends));
	}
	s->ends[s->nends++] = s->len;
	tally.urbs++;
}

/* Feed @b to @d cut as the input asks; @ends are URB boundaries, if known. */
static void feed(struct dld *d, const uint8_t *b, size_t n, unsigned int mode,
		 unsigned int param, const size_t *ends, size_t nends)
{
	uint32_t seed = 0x2545f491u ^ (param * 0x01000193u);
	size_t off = 0, c, i;

	if (mode == CH_URB && !ends)
		mode = CH_RANDOM;
	if (mode == CH_URB) {
		for (i = 0; i < nends; off = ends[i++])
			dld_feed(d, b + off, ends[i] - off);
		return;
	}
	if (mode == CH_WHOLE) {
		dld_feed(d, b, n);
		return;
	}
	for (; off < n; off += c) {
		if (mode == CH_FIXED) {
			c = 1 + param;
		} else {
			uint32_t r = xorshift(&seed);

			/* mostly tiny pieces (commands split everywhere), some big */
			c = 1 + (r >> 8) % ((r & 3) ? 9 : 3000);
		}
		if (c > n - off)
			c = n - off;
		dld_feed(d, b + off, c);
	}
}

/* Set the page protection of the device bytes [a, a + n), wrapping at 16 MiB. */
static void protect(uint32_t a, size_t n, int prot)
{
	uint32_t lo, hi;

	a &= DLD_MEM_MASK;
	if (a + n > DLD_MEM_SIZE) {
		protect(0, a + n - DLD_MEM_SIZE, prot);
		n = DLD_MEM_SIZE - a;
	}
	lo = a & ~(PAGE - 1);
	hi = (a + n + PAGE - 1) & ~(PAGE - 1);
	if (mprotect(rt_mem + lo, hi - lo, prot)) {
		perror("mprotect");
		exit(2);
	}
}

/* First byte of the pages over [a, a + n) that is not the fill pattern. */
static long first_dirty(uint32_t a, size_t n)
{
	uint32_t lo, hi, i;
	long r;

	a &= DLD_MEM_MASK;
	if (a + n > DLD_MEM_SIZE) {
		r = first_dirty(0, a + n - DLD_MEM_SIZE);
		if (r >= 0)
			return r;
		n = DLD_MEM_SIZE - a;
	}
	lo = a & ~(PAGE - 1);
	hi = (a + n + PAGE - 1) & ~(PAGE - 1);
	for (i = lo; i < hi; i++)
		if (rt_mem[i] != DLD_FILL)
			return i;
	return -1;
}

/*
 * Each URB cut after a byte the input picks, as a kill at a sleep cuts one
 * (dlkms_urb_note_cut()): dl_cmd_len() walks the URB command by command to
 * its end, and the bytes dl_cmd_owed() counts complete the command the cut
 * fell in, so that what the driver sends next is read as a command.
 */
static void cut_check(const struct params *p, const struct stream *s)
{
	static const uint8_t next[] = { 0xaf, 0x20, 0x00, 0x00 };
	size_t i, off = 0, len, pos, n, cut, owed;

	for (i = 0; i < s->nends; off = s->ends[i++]) {
		len = s->ends[i] - off;
		for (pos = 0; pos < len; pos += n) {
			n = dl_cmd_len(s->b + off + pos, len - pos);
			check(n, "dl_cmd_len() does not know the command at byte %zu of URB %zu "
			      "(%02x %02x)", pos, i, s->b[off + pos],
			      pos + 1 < len ? s->b[off + pos + 1] : 0);
		}
		check(pos == len, "dl_cmd_len() walked URB %zu to byte %zu of %zu", i, pos, len);

		cut = mix(p->param ^ (uint32_t)(i * 0x9e3779b9u)) % (len + 1);
		owed = dl_cmd_owed(s->b + off, len, 0, cut);
		if (sabotage == SAB_OWED && owed)
			owed--;
		check(owed <= DL_MAX_CMD_BYTES && cut + owed <= len,
		      "URB %zu cut at %zu of %zu: %zu bytes owed", i, cut, len, owed);
		state_reset(&ct);
		dld_feed(&ct, s->b + off, cut + owed);
		dld_feed(&ct, next, sizeof(next));
		check(!ct.st.malformed && !ct.ncarry && ct.st.cmd_reg == 1,
		      "URB %zu cut at byte %zu of %zu, %zu bytes owed: then a register write "
		      "is not read as one (malformed %llu, %zu bytes pending)", i, cut, len,
		      owed, (unsigned long long)ct.st.malformed, ct.ncarry);
		tally.cuts++;
	}
}

/* One plane's part of one row: what dlkms_tx_span() is called with. */
struct span {
	unsigned int bpp;
	uint32_t addr;
	uint8_t *px;		/* exactly npx pixels, for ASan */
	uint8_t *expect;	/* the bytes device memory must hold */
};

static void roundtrip(const struct params *p)
{
	const unsigned int npx = p->npx, both = !!(p->flags & F_BOTH);
	const unsigned int nspans = p->rows * (1 + both);
	const uint32_t stride = npx * p->bpp + p->gap;
	/* 24 bpp: the 8-bit plane follows the 16-bit rows, as base8 does */
	const uint32_t base8 = p->addr + p->rows * stride;
	struct span sp[2 * MAX_ROWS];
	struct stream s = { 0 };
	struct gen g = { .p = p, .mask = both ? 0xffffff : p->bpp == 2 ? 0xffff : 0xff };
	unsigned long cmds[3] = { 0 };
	unsigned int j, r, i, sent, done;
	uint8_t *buf;
	size_t pos = 0, room, n, k, len;
	bool have = false;
	long dirty;

	for (i = 0; i < 4; i++)
		g.pal[i] = mix(p->param * 4 + i) & g.mask;
	for (r = 0, j = 0; r < p->rows; r++) {
		sp[j].bpp = p->bpp;
		sp[j++].addr = p->addr + r * stride;
		if (both) {
			sp[j].bpp = 1;
			sp[j++].addr = base8 + r * (npx + p->gap);
		}
	}
	for (j = 0; j < nspans; j++) {
		sp[j].px = malloc((size_t)npx * sp[j].bpp);
		sp[j].expect = malloc((size_t)npx * sp[j].bpp);
		if (!sp[j].px || !sp[j].expect)
			exit(2);
	}
	for (j = 0; j < nspans; j += 1 + both) {
		for (i = 0; i < npx; i++) {
			uint32_t v = gen_next(&g);
			struct span *t = &sp[j];

			if (both) {
				/* the driver's conversion of one XRGB8888 pixel */
				((uint8_t *)sp[j + 1].px)[i] = dl_xrgb_to_low8(v);
				sp[j + 1].expect[i] = dl_xrgb_to_low8(v);
				v = dl_xrgb_to_565(v);
			}
			if (t->bpp == 2) {
				((uint16_t *)t->px)[i] = v;
				t->expect[2 * i] = v >> 8;	/* big-endian in memory */
				t->expect[2 * i + 1] = v;
			} else {
				t->px[i] = v;
				t->expect[i] = v;
			}
		}
	}
	buf = malloc(p->urb + GUARD);
	if (!buf)
		exit(2);

	/* dlkms_tx_span() for each span in turn, URBs filled back to back */
	for (j = 0; j < nspans; j++) {
		const struct span *t = &sp[j];

		for (sent = 0; sent < npx; sent += done) {
			if (!have) {
				memset(buf, TAIL_BYTE, p->urb);
				memset(buf + p->urb, GUARD_BYTE, GUARD);
				pos = 0;
				have = true;
			}
			room = p->urb - pos;
			done = ~0u;
			if (t->bpp == 2)
				n = dl_enc_rlx16(buf + pos, room, t->addr + 2 * sent,
						 (const uint16_t *)t->px + sent, npx - sent, &done);
			else
				n = dl_enc_rlx8(buf + pos, room, t->addr + sent, t->px + sent,
						npx - sent, &done);
			if (sabotage == SAB_GUARD)
				buf[p->urb] ^= 0xff;
			if (sabotage == SAB_TAIL && pos + n < p->urb)
				buf[pos + n] ^= 0xff;
			for (k = GUARD; k && buf[p->urb + k - 1] == GUARD_BYTE; k--)
				;
			check(!k, "encoder wrote %zu bytes past its %zu-byte buffer "
			      "(span %u, pixel %u, %zu bytes of room)", k, p->urb, j, sent, room);
			check(n <= room, "encoder returned %zu bytes for %zu of room", n, room);
			for (k = pos + n; k < p->urb && buf[k] == TAIL_BYTE; k++)
				;
			check(k == p->urb, "encoder wrote byte %zu of the buffer but returned "
			      "only %zu (span %u, pixel %u)", k, pos + n, j, sent);
			check(done >= 1 && done <= npx - sent,
			      "encoder consumed %u of %u pixels in %zu bytes of room",
			      done, npx - sent, room);
			/* DL_RLX_MIN_BYTES is the room that always allows progress */
			check(done == npx - sent || room - n < DL_RLX_MIN_BYTES,
			      "encoder stopped after %u of %u pixels with %zu of %zu "
			      "bytes left", done, npx - sent, room - n, room);
			/* commands end only at 256-pixel marks or where room ran out */
			cmds[t->bpp] += (done + DL_MAX_CMD_PIXELS - 1) / DL_MAX_CMD_PIXELS;
			pos += n;
			if (sent + done < npx || p->urb - pos < DL_RLX_MIN_BYTES) {
				/* full: send it and continue in the next one */
				if (pos)
					submit(&s, p, buf, pos);
				have = false;
			}
		}
	}
	if (have)
		submit(&s, p, buf, pos);

	/* decode into memory that is writable only around the spans */
	for (j = 0; j < nspans; j++)
		protect(sp[j].addr, (size_t)npx * sp[j].bpp, PROT_READ | PROT_WRITE);
	state_reset(&rt);
	if (sabotage == SAB_MALFORMED)
		dld_feed(&rt, (const uint8_t *)"\x00", 1);
	feed(&rt, s.b, s.len, p->chunk, p->chunk_param, s.ends, s.nends);

	check(rt.st.malformed == 0, "decoder counted %llu malformed commands",
	      (unsigned long long)rt.st.malformed);
	check(rt.st.bytes == s.len + (sabotage == SAB_MALFORMED),
	      "decoder saw %llu bytes of %zu", (unsigned long long)rt.st.bytes, s.len);
	check(rt.st.cmd_6b == cmds[2] && rt.st.cmd_63 == cmds[1],
	      "decoder applied %llu RLX16 and %llu RLX8 commands, the encoder made "
	      "%lu and %lu", (unsigned long long)rt.st.cmd_6b,
	      (unsigned long long)rt.st.cmd_63, cmds[2], cmds[1]);
	check(!rt.st.cmd_reg && !rt.st.cmd_60 && !rt.st.cmd_61 && !rt.st.cmd_62 &&
	      !rt.st.cmd_68 && !rt.st.cmd_69 && !rt.st.cmd_6a && !rt.st.cmd_a0,
	      "decoder saw commands other than RLX");
	/* a final pad byte has no successor yet, so it is still pending */
	check(rt.st.pad_af == s.pads - s.ends_in_pad && rt.ncarry == s.ends_in_pad &&
	      (!rt.ncarry || rt.carry[0] == 0xaf),
	      "decoder: %llu pad bytes of %zu, %zu bytes left incomplete",
	      (unsigned long long)rt.st.pad_af, s.pads, rt.ncarry);

	cut_check(p, &s);

	if (sabotage == SAB_PIXEL)
		sp[0].expect[0] ^= 1;
	if (sabotage == SAB_STRAY) {
		/* inside a writable page, so only the byte scan can see it */
		uint32_t a = (sp[0].addr + npx * sp[0].bpp) & DLD_MEM_MASK;

		if (((a - 1) & ~(PAGE - 1)) == (a & ~(PAGE - 1)))
			rt_mem[a] ^= 0xff;
		else
			rt_mem[(sp[0].addr - 1) & DLD_MEM_MASK] ^= 0xff;
	}
	if (sabotage == SAB_FAR)	/* a protected page: must fault */
		rt_mem[(p->addr + DLD_MEM_SIZE / 2) & DLD_MEM_MASK] ^= 0xff;
	for (j = 0; j < nspans; j++) {
		len = (size_t)npx * sp[j].bpp;
		for (k = 0; k < len; k++) {
			uint8_t got = rt_mem[(sp[j].addr + k) & DLD_MEM_MASK];
			uint8_t want = sp[j].expect[k];

			if (got == want)
				continue;
			check(false, "span %u (RLX%u) pixel %zu (device address 0x%06x) "
			      "holds 0x%02x, expected 0x%02x (%u px, %u rows, urb %zu, "
			      "%zu bytes in %zu URBs)", j, sp[j].bpp * 8, k / sp[j].bpp,
			      (sp[j].addr + (uint32_t)k) & DLD_MEM_MASK, got, want, npx,
			      p->rows, p->urb, s.len, s.nends);
		}
	}
	/* put the fill back over the spans: then any other byte is a stray */
	for (j = 0; j < nspans; j++)
		for (k = 0; k < (size_t)npx * sp[j].bpp; k++)
			rt_mem[(sp[j].addr + k) & DLD_MEM_MASK] = DLD_FILL;
	for (j = 0; j < nspans; j++) {
		dirty = first_dirty(sp[j].addr, (size_t)npx * sp[j].bpp);
		check(dirty < 0, "decoder wrote 0x%06lx, outside the spans", dirty);
	}
	for (j = 0; j < nspans; j++)
		protect(sp[j].addr, (size_t)npx * sp[j].bpp, PROT_READ);

	if (verbose)
		printf("%s: %s %u px x %u rows at 0x%06x, URB %zu: %zu URBs, %zu bytes, "
		       "%lu+%lu commands, %zu pad bytes, chunking %u\n", cur_label,
		       both ? "24bpp RLX16+RLX8" : p->bpp == 2 ? "RLX16" : "RLX8",
		       npx, p->rows, p->addr, p->urb, s.nends, s.len, cmds[2], cmds[1],
		       s.pads, p->chunk);
	tally.roundtrips++;
	tally.pixels += (unsigned long)npx * p->rows;
	tally.bytes += s.len;
	for (j = 0; j < nspans; j++) {
		free(sp[j].px);
		free(sp[j].expect);
	}
	free(buf);
	free(s.b);
	free(s.ends);
}

static unsigned int reg16(const struct dld *d, unsigned int r)
{
	return d->regs[r] << 8 | d->regs[r + 1];
}

static uint32_t be24(const uint8_t *b)
{
	return (uint32_t)b[0] << 16 | b[1] << 8 | b[2];
}

/*
 * Modeset mode, after the flags byte: hdisplay - 1 (2, LE, mod 4096),
 * front porch (2, LE, 9 bits), sync width - 1, back porch, the same four
 * vertically, clock in kHz (3, BE), base16 (3, BE), base8 (3, BE), bit 0
 * 24 bpp, blank mode, chunking, chunk parameter. Porches and widths stay
 * small enough that every LFSR count is below the register's period.
 */
static void modeset(const uint8_t *in, size_t len)
{
	uint8_t h[32] = { 0 }, buf[DL_MODESET_MAX_BYTES + GUARD];
	struct dl_timings t;
	struct dld_mode m;
	uint32_t base16, base8, xds, yds;
	unsigned int i, blank, chunk, cparam;
	uint8_t regs[256];
	bool bpp24;
	size_t n, k;
	long dirty;

	memcpy(h, in, len < sizeof(h) ? len : sizeof(h));
	t.hdisplay = 1 + (h[1] | h[2] << 8) % 4096;
	t.hsync_start = t.hdisplay + (h[3] | (h[4] & 1) << 8);
	t.hsync_end = t.hsync_start + 1 + h[5];
	t.htotal = t.hsync_end + h[6];
	t.vdisplay = 1 + (h[7] | h[8] << 8) % 4096;
	t.vsync_start = t.vdisplay + (h[9] | (h[10] & 1) << 8);
	t.vsync_end = t.vsync_start + 1 + h[11];
	t.vtotal = t.vsync_end + h[12];
	/* what mode_valid lets through: the register counts 5 kHz in 16 bits */
	t.clock_khz = be24(h + 13) % (5 * 0xffff + 1);
	base16 = be24(h + 16);
	base8 = be24(h + 19);
	bpp24 = h[22] & 1;
	blank = h[23];
	chunk = h[24] & 3;
	cparam = h[25];

	memset(buf, GUARD_BYTE, sizeof(buf));
	n = dl_enc_modeset(buf, &t, bpp24, base16, base8);
	for (k = DL_MODESET_MAX_BYTES; k < sizeof(buf); k++)
		check(buf[k] == GUARD_BYTE, "dl_enc_modeset wrote past DL_MODESET_MAX_BYTES");
	check(n >= 13 && n <= DL_MODESET_MAX_BYTES, "dl_enc_modeset made %zu bytes", n);
	/* register batches take effect only with a drawing command after them */
	check(!memcmp(buf + n - 13, "\xaf\x20\xff\xff\xaf\x6a", 6),
	      "modeset does not end with the unlock and a kick");

	state_reset(&rt);
	protect(0, 2, PROT_READ | PROT_WRITE);	/* the kick copies pixel 0 onto itself */
	feed(&rt, buf, n - 13, chunk, cparam, NULL, 0);
	for (i = 0; i < 256 && !rt.regs[i]; i++)
		;
	check(i == 256 && rt.hold, "register 0x%02x applied before the unlock", i);
	feed(&rt, buf + n - 13, 13, chunk, cparam, NULL, 0);
	check(rt.st.malformed == 0 && rt.st.mode_sets == 1 && rt.st.cmd_6a == 1 &&
	      rt.st.cmd_reg * 4 + 9 == n && !rt.hold && !rt.ncarry,
	      "modeset stream: %llu malformed, %llu unlocks, %llu registers in %zu bytes",
	      (unsigned long long)rt.st.malformed, (unsigned long long)rt.st.mode_sets,
	      (unsigned long long)rt.st.cmd_reg, n);
	if (sabotage == SAB_MODE)
		t.htotal++;

	dld_get_mode(&rt, &m);
	check(m.valid && m.hdisplay == t.hdisplay && m.vdisplay == t.vdisplay &&
	      m.htotal == t.htotal && m.hsync_start == t.hsync_start &&
	      m.hsync_end == t.hsync_end && m.vtotal == t.vtotal &&
	      m.vsync_start == t.vsync_start && m.vsync_end == t.vsync_end,
	      "mode %u/%u/%u/%u x %u/%u/%u/%u decoded as %u/%u/%u/%u x %u/%u/%u/%u",
	      t.hdisplay, t.hsync_start, t.hsync_end, t.htotal, t.vdisplay,
	      t.vsync_start, t.vsync_end, t.vtotal, m.hdisplay, m.hsync_start,
	      m.hsync_end, m.htotal, m.vdisplay, m.vsync_start, m.vsync_end, m.vtotal);
	check(m.clock_khz == t.clock_khz - t.clock_khz % 5, "clock %u kHz decoded as %u",
	      t.clock_khz, m.clock_khz);
	check(m.bpp == (bpp24 ? 24u : 16u) && m.blank == DL_BLANK_ON &&
	      m.base16 == (base16 & 0xffffff) && m.base8 == (base8 & 0xffffff),
	      "bpp %u blank %u base16 0x%x base8 0x%x", m.bpp, m.blank, m.base16, m.base8);
	/* the display window the start/end counters open is hdisplay wide */
	xds = dld_lfsr_steps(reg16(&rt, DL_REG_XDISPLAYSTART));
	yds = dld_lfsr_steps(reg16(&rt, DL_REG_YDISPLAYSTART));
	check(dld_lfsr_steps(reg16(&rt, DL_REG_XDISPLAYEND)) == (int)(xds + t.hdisplay) &&
	      dld_lfsr_steps(reg16(&rt, DL_REG_YDISPLAYEND)) == (int)(yds + t.vdisplay),
	      "display window differs from %ux%u", t.hdisplay, t.vdisplay);

	/* blanking changes register 0x1F and nothing else */
	memcpy(regs, rt.regs, sizeof(regs));
	memset(buf, GUARD_BYTE, sizeof(buf));
	n = dl_enc_blank(buf, blank);
	for (k = DL_MODESET_MAX_BYTES; k < sizeof(buf); k++)
		check(buf[k] == GUARD_BYTE, "dl_enc_blank wrote past DL_MODESET_MAX_BYTES");
	feed(&rt, buf, n, chunk, cparam, NULL, 0);
	regs[DL_REG_BLANKMODE] = blank;
	check(!memcmp(regs, rt.regs, sizeof(regs)) && rt.st.mode_sets == 2 &&
	      rt.st.cmd_6a == 2 && rt.st.malformed == 0 && !rt.hold && !rt.ncarry,
	      "blank 0x%02x: register file or stream differs", blank);
	dirty = first_dirty(0, 2);
	check(dirty < 0, "modeset wrote device memory at 0x%06lx", dirty);
	protect(0, 2, PROT_READ);
	if (verbose)
		printf("%s: modeset %ux%u htotal %u vtotal %u %u kHz %s base 0x%06x/0x%06x, "
		       "blank 0x%02x\n", cur_label, t.hdisplay, t.vdisplay, t.htotal, t.vtotal,
		       t.clock_khz, bpp24 ? "24bpp" : "16bpp", base16, base8, blank);
	tally.modesets++;
}

static uint16_t mem16(const struct dld *d, uint32_t a)
{
	return d->mem[a & DLD_MEM_MASK] << 8 | d->mem[(a + 1) & DLD_MEM_MASK];
}

/*
 * Move mode, after the flags byte (bit 1: the 8-bit plane; bit 2: a 16-bit
 * move's destination one byte further): source address (3, BE), pixels - 1
 * (2, LE, mod MAX_SPAN), shift in pixels (2, LE, signed), scratch size
 * (1: 0 none, up to 200 that many pixels, then 256 + 64 a step), scratch
 * address (3, BE), buffer size (2, LE: see urb_size()), chunking, chunk
 * parameter, memory seed (4).
 */
#define MOVE_HDR	20
#define MOVE_MARGIN	32
#define F_ODD		0x04

/* A byte range going round at 16 MiB; does [a, a + an) meet [b, b + bn)? */
static bool meet(uint32_t a, uint32_t an, uint32_t b, uint32_t bn)
{
	uint32_t up = (b - a) & DLD_MEM_MASK;

	return up < an || DLD_MEM_SIZE - up < bn;
}

/* Random bytes over [a - MOVE_MARGIN, a + n + MOVE_MARGIN), in both memories. */
static void move_fill(uint32_t a, uint32_t n, uint32_t *seed)
{
	uint32_t i, x;
	uint8_t v;

	for (i = 0; i < n + 2 * MOVE_MARGIN; i++) {
		x = (a - MOVE_MARGIN + i) & DLD_MEM_MASK;
		v = xorshift(seed) >> 24;
		mv.mem[x] = v;
		mv_ref[x] = v;
	}
}

static unsigned long div_up(unsigned long a, unsigned long b)
{
	return (a + b - 1) / b;
}

static void move(const uint8_t *in, size_t len)
{
	static unsigned char in_d[DLD_MEM_SIZE / PAGE], in_r[DLD_MEM_SIZE / PAGE];
	uint8_t h[MOVE_HDR] = { 0 }, *buf, *tmp;
	const unsigned int bpp = in[0] & F_PLANE8 ? 1 : 2;
	const uint8_t op = bpp == 2 ? DL_CMD_COPY16 : DL_CMD_COPY8;
	struct dl_move m = { 0 };
	struct stream s = { 0 };
	unsigned int chunk, cparam, sel, piece;
	unsigned long want, direct, staged;
	uint32_t bytes, up, shift, seed, i, o, k, at;
	bool bounce_ok;
	size_t urb, n, pos, cmds = 0;
	int16_t px_shift;

	memcpy(h, in, len < sizeof(h) ? len : sizeof(h));
	m.src = be24(h + 1);
	m.npx = 1 + (h[4] | h[5] << 8) % MAX_SPAN;
	px_shift = (int16_t)(h[6] | h[7] << 8);
	m.dst = (m.src + (int32_t)px_shift * (int32_t)bpp +
		 (bpp == 2 && (h[0] & F_ODD))) & DLD_MEM_MASK;
	sel = h[8];
	m.bounce_px = sel <= 200 ? sel : 256 + (sel - 201) * 64;
	m.bounce = be24(h + 9);
	urb = urb_size(h[12] | h[13] << 8);
	if (urb < DL_MOVE_MIN_BYTES)
		urb = DL_MOVE_MIN_BYTES;
	chunk = h[14] & 3;
	cparam = h[15];
	seed = 1 | (uint32_t)h[16] << 24 | h[17] << 16 | h[18] << 8 | h[19];
	bytes = m.npx * bpp;
	piece = m.bounce_px < DL_MAX_CMD_PIXELS ? m.bounce_px : DL_MAX_CMD_PIXELS;
	bounce_ok = piece && !meet(m.bounce, piece * bpp, m.src, bytes) &&
		    !meet(m.bounce, piece * bpp, m.dst, bytes);

	state_reset(&mv);
	if (madvise(mv.mem, DLD_MEM_SIZE, MADV_DONTNEED) ||
	    madvise(mv_ref, DLD_MEM_SIZE, MADV_DONTNEED)) {
		perror("madvise");
		exit(2);
	}
	move_fill(m.src, bytes, &seed);
	move_fill(m.dst, bytes, &seed);
	if (piece)
		move_fill(m.bounce, piece * bpp, &seed);
	/* the reference: memmove, going round at 16 MiB */
	tmp = malloc(bytes);
	buf = malloc(urb + GUARD);
	if (!tmp || !buf)
		exit(2);
	for (i = 0; i < bytes; i++)
		tmp[i] = mv_ref[(m.src + i) & DLD_MEM_MASK];
	for (i = 0; i < bytes; i++)
		mv_ref[(m.dst + i) & DLD_MEM_MASK] = tmp[i];

	/* the cost dlkms_proto.h gives, from the shift and the scratch */
	up = (m.dst - m.src) & DLD_MEM_MASK;
	shift = up < DLD_MEM_SIZE - up ? up : DLD_MEM_SIZE - up;
	if (!shift) {
		want = 0;
	} else if (shift >= bytes) {
		want = div_up(m.npx, DL_MAX_CMD_PIXELS);
	} else {
		k = shift / bpp < DL_MAX_CMD_PIXELS ? shift / bpp : DL_MAX_CMD_PIXELS;
		direct = k ? div_up(m.npx, k) : ~0ul;
		staged = bounce_ok ? 2 * div_up(m.npx, piece) : ~0ul;
		want = direct < staged ? direct : staged;
	}

	while (m.done < m.npx) {
		memset(buf, TAIL_BYTE, urb);
		memset(buf + urb, GUARD_BYTE, GUARD);
		o = m.done;
		if (sabotage == SAB_OVERLAP || sabotage == SAB_ORDER) {
			/*
			 * What the helper must not do: 256-pixel copies in the
			 * right order, which may overlap themselves; or copies
			 * that do not, always front to back.
			 */
			for (n = 0; m.done < m.npx && urb - n >= DL_COPY_BYTES; m.done += k) {
				k = sabotage == SAB_OVERLAP || shift >= bytes ? DL_MAX_CMD_PIXELS :
				    shift / bpp ? shift / bpp : 1;
				k = k < m.npx - m.done ? k : m.npx - m.done;
				k = k < DL_MAX_CMD_PIXELS ? k : DL_MAX_CMD_PIXELS;
				at = (sabotage == SAB_ORDER || shift >= bytes || shift != up ?
				      m.done : m.npx - m.done - k) * bpp;
				n += (bpp == 2 ? dl_enc_copy16 : dl_enc_copy8)
				     (buf + n, m.dst + at, m.src + at, k);
			}
		} else {
			n = (bpp == 2 ? dl_enc_move16 : dl_enc_move8)(buf, urb, &m);
		}
		for (k = 0; k < GUARD && buf[urb + k] == GUARD_BYTE; k++)
			;
		check(k == GUARD && n <= urb, "move encoder wrote past its %zu-byte buffer", urb);
		for (k = n; k < urb && buf[k] == TAIL_BYTE; k++)
			;
		check(k == urb, "move encoder wrote byte %u but returned %zu", k, n);
		if (m.done == o) {
			/* only a 16-bit move by one byte, without a scratch, cannot go */
			check(!n && want == ~0ul, "move of %u px by %d px%s made no progress in "
			      "%zu bytes", m.npx, px_shift, h[0] & F_ODD ? " and a byte" : "",
			      urb);
			goto out;
		}
		check(m.done > o && m.done <= m.npx && (n || !shift), "move: done %u -> %u of %u, %zu bytes",
		      o, m.done, m.npx, n);
		for (pos = 0; pos < n; pos += DL_COPY_BYTES, cmds++)
			check(dl_cmd_len(buf + pos, n - pos) == DL_COPY_BYTES &&
			      buf[pos + 1] == op, "move: byte %zu is not a copy command", pos);
		check(pos == n, "move: %zu bytes are not whole commands", n);
		if (n)
			submit(&s, &(struct params){ .urb = urb }, buf, n);
	}

	feed(&mv, s.b, s.len, chunk, cparam, s.ends, s.nends);
	check(!mv.st.copy_overlap && !mv.st.malformed && !mv.ncarry &&
	      mv.st.cmd_62 + mv.st.cmd_6a == cmds,
	      "move of %u px from 0x%06x to 0x%06x: %llu overlapping copies, %llu "
	      "malformed, %llu of %zu copies", m.npx, m.src, m.dst,
	      (unsigned long long)mv.st.copy_overlap, (unsigned long long)mv.st.malformed,
	      (unsigned long long)(mv.st.cmd_62 + mv.st.cmd_6a), cmds);
	/* a scratch clear of both ranges may hold anything now */
	if (bounce_ok)
		for (i = 0; i < piece * bpp; i++)
			mv_ref[(m.bounce + i) & DLD_MEM_MASK] = mv.mem[(m.bounce + i) & DLD_MEM_MASK];
	if (mincore(mv.mem, DLD_MEM_SIZE, in_d) || mincore(mv_ref, DLD_MEM_SIZE, in_r)) {
		perror("mincore");
		exit(2);
	}
	for (i = 0; i < DLD_MEM_SIZE / PAGE; i++) {
		if (!((in_d[i] | in_r[i]) & 1) || !memcmp(mv.mem + i * PAGE, mv_ref + i * PAGE, PAGE))
			continue;
		for (k = i * PAGE; mv.mem[k] == mv_ref[k]; k++)
			;
		check(false, "move of %u px from 0x%06x to 0x%06x (scratch %u px at 0x%06x): "
		      "0x%06x holds 0x%02x, memmove gives 0x%02x", m.npx, m.src, m.dst,
		      m.bounce_px, m.bounce, k, mv.mem[k], mv_ref[k]);
	}
	/* the result first, then what it cost */
	if (sabotage != SAB_OVERLAP && sabotage != SAB_ORDER)
		check(cmds == want, "move of %u px from 0x%06x to 0x%06x (scratch %u px at "
		      "0x%06x): %zu commands, dlkms_proto.h says %lu", m.npx, m.src, m.dst,
		      m.bounce_px, m.bounce, cmds, want);
	if (verbose)
		printf("%s: move%u %u px 0x%06x -> 0x%06x, scratch %u px at 0x%06x: %zu copies\n",
		       cur_label, bpp * 8, m.npx, m.src, m.dst, m.bounce_px, m.bounce, cmds);
	tally.moves++;
	tally.moved += m.npx;
	tally.move_bytes += s.len;
	tally.move_overlap += shift && shift < bytes;
out:
	free(tmp);
	free(buf);
	free(s.b);
	free(s.ends);
}

#define SAME(f) check(gw.f == gs.f, "whole and chunked decoders differ in " #f)

static void garbage(const struct params *p)
{
	static const uint8_t nops[] = { 0xaf, 0xa0 };
	static unsigned char in_w[DLD_MEM_SIZE / PAGE], in_s[DLD_MEM_SIZE / PAGE];
	uint32_t a = p->addr & ~1u;
	uint8_t good[8] = { 0xaf, 0x68, a >> 16, a >> 8, a, 0x01 };
	uint16_t v;
	size_t len = p->dlen;
	unsigned int i;

	/*
	 * Back to all-zero memory, so that only the pages this input touches
	 * become resident; those are the only ones that can differ.
	 */
	state_reset(&gw);
	state_reset(&gs);
	if (madvise(gw.mem, DLD_MEM_SIZE, MADV_DONTNEED) ||
	    madvise(gs.mem, DLD_MEM_SIZE, MADV_DONTNEED)) {
		perror("madvise");
		exit(2);
	}
	if (len)
		dld_feed(&gw, p->data, len);
	if (sabotage == SAB_SPLIT && len)
		len--;
	feed(&gs, p->data, len, p->chunk, p->chunk_param, NULL, 0);

	check(gw.ncarry < DLD_MAX_CMD && gs.ncarry < DLD_MAX_CMD, "carry overflow");
	check(gw.st.bytes == p->dlen, "decoder counted %llu bytes of %zu",
	      (unsigned long long)gw.st.bytes, p->dlen);
	SAME(st.bytes);
	SAME(st.cmd_reg); SAME(st.cmd_60); SAME(st.cmd_61); SAME(st.cmd_62);
	SAME(st.cmd_63); SAME(st.cmd_68); SAME(st.cmd_69); SAME(st.cmd_6a);
	SAME(st.cmd_6b); SAME(st.cmd_a0); SAME(st.pad_af); SAME(st.malformed);
	SAME(st.mode_sets); SAME(hold); SAME(resync); SAME(ncarry);
	check(!memcmp(gw.regs, gs.regs, sizeof(gw.regs)) &&
	      !memcmp(gw.held, gs.held, sizeof(gw.held)) &&
	      !memcmp(gw.held_mask, gs.held_mask, sizeof(gw.held_mask)) &&
	      !memcmp(gw.written, gs.written, sizeof(gw.written)),
	      "whole and chunked decoders differ in the register file");
	check(!memcmp(gw.carry, gs.carry, gw.ncarry),
	      "whole and chunked decoders carry different bytes");
	/* both started all zero, so they must still agree */
	if (mincore(gw.mem, DLD_MEM_SIZE, in_w) || mincore(gs.mem, DLD_MEM_SIZE, in_s)) {
		perror("mincore");
		exit(2);
	}
	for (i = 0; i < DLD_MEM_SIZE / PAGE; i++)
		check(!((in_w[i] | in_s[i]) & 1) ||
		      !memcmp(gw.mem + i * PAGE, gs.mem + i * PAGE, PAGE),
		      "whole and chunked decoders wrote different device memory "
		      "in 0x%06x-0x%06x", i * PAGE, (i + 1) * PAGE - 1);

	if (verbose)
		printf("%s: garbage %zu bytes: %llu malformed, %llu commands, %zu pending\n",
		       cur_label, p->dlen, (unsigned long long)gw.st.malformed,
		       (unsigned long long)(gw.st.cmd_reg + gw.st.cmd_60 + gw.st.cmd_61 +
					    gw.st.cmd_62 + gw.st.cmd_63 + gw.st.cmd_68 +
					    gw.st.cmd_69 + gw.st.cmd_6a + gw.st.cmd_6b +
					    gw.st.cmd_a0), gw.ncarry);

	/*
	 * No pending command is longer than DLD_MAX_CMD, so that many bytes of
	 * no-ops must bring the parser back to command boundaries; a write
	 * after them must land. Its value differs from what is there, so
	 * stale memory cannot pass for it.
	 */
	v = mem16(&gw, a) ^ 0xa5c3;
	good[6] = v >> 8;
	good[7] = v;
	if (sabotage == SAB_RESYNC)
		good[1] = 0x55;
	for (i = 0; i < DLD_MAX_CMD / 2 + 50; i++) {
		dld_feed(&gw, nops, 2);
		dld_feed(&gs, nops, 1);
		dld_feed(&gs, nops + 1, 1);
	}
	dld_feed(&gw, good, sizeof(good));
	feed(&gs, good, sizeof(good), CH_FIXED, 0, NULL, 0);
	check(mem16(&gw, a) == v && mem16(&gs, a) == v,
	      "decoder did not resynchronise after garbage: 0x%06x holds %04x/%04x, "
	      "expected %04x", a, mem16(&gw, a), mem16(&gs, a), v);
	tally.garbage++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct params p;

	setup();
	cur_in = data;
	cur_len = size;
	parse(data, size, &p);
	tally.inputs++;
	if (p.flags & F_MOVE)
		move(data, size);
	else if (p.flags & F_GARBAGE)
		garbage(&p);
	else if (p.flags & F_MODESET)
		modeset(data, size);
	else
		roundtrip(&p);
	return 0;
}

#ifndef DLFUZZ_LIBFUZZER
/*
 * Deterministic replay: files and directories named on the command line,
 * then -n generated inputs from seed -s. The generator writes the same
 * input format, biased towards the edges (256/257 pixels, URBs just over
 * DL_RLX_MIN_BYTES, addresses near the 16 MiB wrap, long runs).
 */
static void run_buf(const uint8_t *b, size_t n, const char *label)
{
	cur_label = label;
	LLVMFuzzerTestOneInput(b, n);
}

static void run_file(const char *path)
{
	static uint8_t b[1 << 20];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	n = fread(b, 1, sizeof(b), f);
	fclose(f);
	run_buf(b, n, path);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static unsigned int run_path(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	char **names = NULL, full[4096];
	size_t n = 0, i;

	if (!dir) {
		run_file(path);
		return 1;
	}
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n] = strdup(de->d_name);
		if (!names[n++])
			exit(2);
	}
	closedir(dir);
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		snprintf(full, sizeof(full), "%s/%s", path, names[i]);
		run_file(full);
		free(names[i]);
	}
	free(names);
	return n;
}

/* One scanline the way dlkms_send_rect() sends it, in 64 KiB URBs. */
static void send_line(struct dld *d, uint8_t *urb, uint32_t addr, const void *px,
		      unsigned int npx, unsigned int bpp)
{
	unsigned int sent, done;
	size_t n;

	for (sent = 0; sent < npx; sent += done) {
		if (bpp == 2)
			n = dl_enc_rlx16(urb, URB_MAX, addr + 2 * sent,
					 (const uint16_t *)px + sent, npx - sent, &done);
		else
			n = dl_enc_rlx8(urb, URB_MAX, addr + sent,
					(const uint8_t *)px + sent, npx - sent, &done);
		check(done > 0, "no progress in a 64 KiB URB");
		dld_feed(d, urb, n);
	}
}

/*
 * Every one of the 2^24 colours through dl_xrgb_to_565()/dl_xrgb_to_low8(),
 * the encoder, the decoder and the emulator's renderer (written from
 * docs/protocol.md): 24 bpp must give each colour back exactly and 16 bpp its
 * truncation to RGB565. The X byte varies and must not matter.
 */
static void colour_exhaustive(void)
{
	enum { W = 4096, H = 1024 };
	static const struct dl_timings t = {
		W, W + 8, W + 16, W + 24, H, H + 1, H + 2, H + 3, 100000
	};
	static uint16_t l16[W];
	static uint8_t l8[W];
	uint8_t ms[DL_MODESET_MAX_BYTES], *urb = malloc(URB_MAX);
	uint32_t *out = malloc((size_t)W * H * 4), c, want;
	unsigned long bad = 0, first = 0;
	unsigned int batch, x, y, i, depth;
	struct dld_mode m;
	struct dld d;

	if (!urb || !out || dld_init(&d))
		exit(2);
	for (batch = 0; batch < 4; batch++) {
		/* 16-bit plane at 0 (8 MiB), 8-bit plane after it (4 MiB) */
		dld_feed(&d, ms, dl_enc_modeset(ms, &t, true, 0, 2 * W * H));
		for (y = 0; y < H; y++) {
			for (x = 0; x < W; x++) {
				c = batch << 22 | y << 12 | x;
				c |= (x * 0x9e3779b1u) & 0xff000000;
				l16[x] = dl_xrgb_to_565(c);
				l8[x] = dl_xrgb_to_low8(c);
			}
			send_line(&d, urb, y * W * 2, l16, W, 2);
			send_line(&d, urb, 2 * W * H + y * W, l8, W, 1);
		}
		for (depth = 24; depth >= 16; depth -= 8) {
			if (depth == 16)
				dld_feed(&d, ms, dl_enc_modeset(ms, &t, false, 0, 2 * W * H));
			dld_get_mode(&d, &m);
			check(m.valid && m.bpp == depth && m.hdisplay == W && m.vdisplay == H,
			      "colour test mode: %ux%u %u bpp", m.hdisplay, m.vdisplay, m.bpp);
			dld_render(&d, &m, out);
			for (i = 0; i < W * H; i++) {
				want = batch << 22 | i;
				if (depth == 16)
					want &= 0xf8fcf8;
				if (sabotage == SAB_COLOUR && i == 12345)
					want ^= 0x010000;
				if (out[i] != want && !bad++)
					first = want;
			}
		}
		check(d.st.malformed == 0, "colour test: %llu malformed",
		      (unsigned long long)d.st.malformed);
	}
	check(!bad, "%lu of 2^25 colour renderings wrong, first 0x%06lx", bad, first);
	printf("fuzz_replay: all 16777216 colours round-trip exactly in 24 bpp and "
	       "truncate to RGB565 in 16 bpp\n");
	dld_fini(&d);
	free(out);
	free(urb);
}

/* The encoder's @n bytes must be the vector's, byte for byte. */
static void same_bytes(const char *what, const uint8_t *got, size_t n,
		       const uint8_t *want, size_t wn)
{
	size_t i;

	for (i = 0; i < n && i < wn && got[i] == want[i]; i++)
		;
	check(n == wn && i == n, "%s: the encoder made %zu bytes, the vector has %zu; "
	      "first difference at byte %zu", what, n, wn, i);
}

/*
 * The driver's encoder and colour split against docs/protocol.md's
 * hand-worked vectors (tests/emu/dl_vectors.h), wherever a vector is in the
 * form the driver sends: without this the round trips would pass an
 * encoder and a decoder that agree on a layout the device does not use.
 */
static void vectors(void)
{
	static const struct dl_timings t768 = {
		1024, 1048, 1184, 1344, 768, 771, 777, 806, 65000
	};
	uint8_t buf[DL_MODESET_MAX_BYTES], flip = sabotage == SAB_VECTOR;
	uint16_t px[DLV_S6_PIXELS];
	unsigned int i, done;
	size_t n;

	cur_label = "docs/protocol.md vectors";
	cur_in = NULL;
	for (i = 0; i < sizeof(dlv_pixels) / sizeof(dlv_pixels[0]); i++) {
		const struct dlv_pixel *p = &dlv_pixels[i];

		check(dl_xrgb_to_565(p->xrgb) == p->rgb565 &&
		      dl_xrgb_to_low8(p->xrgb) == (uint8_t)(p->low8 ^ flip),
		      "9.2 %s: 0x%08x splits to %04x/%02x, by hand %04x/%02x", p->name, p->xrgb,
		      dl_xrgb_to_565(p->xrgb), dl_xrgb_to_low8(p->xrgb), p->rgb565, p->low8 ^ flip);
	}
	for (i = 0; i < sizeof(dlv_lfsr) / sizeof(dlv_lfsr[0]); i++)
		check(dl_lfsr16(i) == dlv_lfsr[i], "9.1: dl_lfsr16(%u) = 0x%04x, by hand 0x%04x",
		      i, dl_lfsr16(i), dlv_lfsr[i]);

	n = dl_enc_rlx16(buf, sizeof(buf), 0x200, dlv_s3_px, 5, &done);
	check(done == 5, "9.3 S3: %u of 5 pixels", done);
	same_bytes("9.3 S3", buf, n, dlv_s3, sizeof(dlv_s3));
	n = dl_enc_rlx16(buf, sizeof(buf), 0x400, dlv_s4_px, 5, &done);
	check(done == 5, "9.3 S4: %u of 5 pixels", done);
	same_bytes("9.3 S4", buf, n, dlv_s4, sizeof(dlv_s4));
	n = dl_enc_rlx8(buf, sizeof(buf), 0x1003, dlv_s5_rlx8_px, 3, &done);
	check(done == 3, "9.3 S5: %u of 3 pixels", done);
	same_bytes("9.3 S5 (RLX part)", buf, n, dlv_s5 + DLV_S5_RLX8_AT,
		   sizeof(dlv_s5) - DLV_S5_RLX8_AT);
	for (i = 0; i < DLV_S6_PIXELS; i++)
		px[i] = DLV_S6_PIXEL;
	n = dl_enc_rlx16(buf, sizeof(buf), 0, px, DLV_S6_PIXELS, &done);
	check(done == DLV_S6_PIXELS, "9.3 S6: %u of %u pixels", done, DLV_S6_PIXELS);
	same_bytes("9.3 S6", buf, n, dlv_s6, sizeof(dlv_s6));
	/* the driver's mode set: the 8-bit plane right after the 16-bit one */
	n = dl_enc_modeset(buf, &t768, false, 0, 2 * 1024 * 768);
	same_bytes("9.5", buf, n, dlv_modeset768, sizeof(dlv_modeset768));
	n = dl_enc_blank(buf, DL_BLANK_POWERDOWN);
	same_bytes("9.6", buf, n, dlv_blank_off, sizeof(dlv_blank_off));
	n = dl_enc_copy16(buf, 0x300, 0x100, 2);
	same_bytes("9.3 S7", buf, n, dlv_s7, sizeof(dlv_s7));
	/* the same layout with opcode 0x62, and 256 pixels sent as a count of 0 */
	n = dl_enc_copy8(buf, 0xfedcba, 0x123456, DL_MAX_CMD_PIXELS);
	same_bytes("copy8", buf, n, (const uint8_t *)"\xaf\x62\xfe\xdc\xba\x00\x12\x34\x56", 9);
	check(dl_cmd_len(buf, n) == 9 && !dl_cmd_len(buf, n - 1),
	      "dl_cmd_len() of a copy8: %zu", dl_cmd_len(buf, n));
	printf("fuzz_replay: the encoder and the colour split give docs/protocol.md's "
	       "hand-worked vectors\n");
}

/*
 * The shadow diff's rule written pixel by pixel: a span from a changed
 * pixel on, ended by more than DL_DIFF_GAP equal pixels.
 */
static bool diff_ref(const void *cur, const void *old, unsigned int cpp, unsigned int n,
		     unsigned int *pos, unsigned int *a, unsigned int *b)
{
	unsigned int i = *pos, same = 0;

	while (i < n && dl_px(cur, cpp, i) == dl_px(old, cpp, i))
		i++;
	if (i == n)
		return false;
	*a = i;
	*b = ++i;
	for (; i < n && same <= DL_DIFF_GAP; i++) {
		if (dl_px(cur, cpp, i) == dl_px(old, cpp, i)) {
			same++;
		} else {
			same = 0;
			*b = i + 1;
		}
	}
	*pos = *b;
	return true;
}

/*
 * dl_diff_next(), word by word, against diff_ref() on lines with changes
 * dense and sparse, runs of equal pixels around the gap's length, odd
 * lengths and offsets: the same spans, and with @sync the shadow equal to
 * the new line at the end, nothing written past it.
 */
static void diff_words(void)
{
	static uint8_t cur[2 * 700 + 8], old[sizeof(cur)], ref[sizeof(cur)];
	unsigned int t, cpp, n, off, i, k, pa, pb, aa, ab, ba, bb, spans = 0;
	uint32_t seed = 20261207;
	bool more_a, more_b;

	cur_label = "diff";
	cur_in = NULL;
	for (t = 0; t < 20000; t++) {
		cpp = t & 1 ? 2 : 1;
		n = xorshift(&seed) % 700;
		off = xorshift(&seed) % 8 / cpp * cpp;	/* pixels are aligned, words not */
		memset(cur, 0x5a, sizeof(cur));
		for (i = 0; i < n * cpp; i++)
			cur[off + i] = xorshift(&seed);
		memcpy(old, cur, sizeof(old));
		/* changed pixels: alone, or runs, at a density of 1/2 to 1/64 */
		k = 2 << (xorshift(&seed) % 6);
		for (i = 0; i < n; i++) {
			if (xorshift(&seed) % k)
				continue;
			unsigned int run = 1 + xorshift(&seed) % (2 * DL_DIFF_GAP + 4);

			for (; run && i < n; run--, i++)
				old[off + cpp * i + (xorshift(&seed) % cpp)] ^= 1 + xorshift(&seed) % 255;
		}
		memcpy(ref, old, sizeof(ref));
		pa = pb = 0;
		do {
			more_a = dl_diff_next(cur + off, old + off, old + off, cpp, n, &pa, &aa, &ab);
			more_b = diff_ref(cur + off, ref + off, cpp, n, &pb, &ba, &bb);
			if (sabotage == SAB_DIFF && more_a && ab - aa > DL_DIFF_GAP)
				ab--;
			check(more_a == more_b && (!more_a || (aa == ba && ab == bb)),
			      "%u px of %u bytes at +%u: word-wise span [%u, %u) (%s), pixel by pixel [%u, %u) (%s)",
			      n, cpp, off, aa, ab, more_a ? "more" : "none", ba, bb,
			      more_b ? "more" : "none");
			spans += more_a;
		} while (more_a);
		check(!memcmp(old + off, cur + off, n * cpp),
		      "%u px of %u bytes at +%u: the synced shadow differs from the line", n, cpp, off);
		check(!memcmp(old, cur, off) && !memcmp(old + off + n * cpp, cur + off + n * cpp,
						      sizeof(cur) - off - n * cpp),
		      "%u px of %u bytes at +%u: the diff wrote outside the line", n, cpp, off);
	}
	printf("fuzz_replay: the word-wise shadow diff finds the pixel-by-pixel spans (%u) and syncs the shadow\n",
	       spans);
}

static uint32_t rng;

static uint32_t rnd(void)
{
	return xorshift(&rng);
}

/* Move mode (see move()): shifts of a few pixels, around 256 and anywhere. */
static size_t gen_move(uint8_t *b)
{
	static const unsigned int edges[] = { 1, 2, 3, 255, 256, 257, 511, 512, 513, 1920 };
	unsigned int npx, i;
	uint32_t src = rnd() & 0xffffff, bounce;
	int shift;

	if (rnd() % 4 == 0)
		src = (0x1000000 - rnd() % 9000) & 0xffffff;	/* round the top */
	npx = rnd() % 2 ? edges[rnd() % (sizeof(edges) / sizeof(*edges))] : 1 + rnd() % 4096;
	switch (rnd() % 5) {
	case 0:
		shift = 1 + rnd() % 3;
		break;
	case 1:
		shift = 1 + rnd() % npx;
		break;
	case 2:
		shift = 250 + rnd() % 14;
		break;
	case 3:
		shift = rnd() % 16 ? (int)(rnd() % 8000) : 0;
		break;
	default:
		shift = (int16_t)rnd();
		break;
	}
	if (rnd() % 2)
		shift = -shift;
	b[0] = F_MOVE | (rnd() % 2 ? F_PLANE8 : 0) | (rnd() % 16 ? 0 : F_ODD);
	b[1] = src >> 16;
	b[2] = src >> 8;
	b[3] = src;
	b[4] = (npx - 1) & 0xff;
	b[5] = (npx - 1) >> 8;
	b[6] = shift & 0xff;
	b[7] = (shift >> 8) & 0xff;
	b[8] = rnd() % 3 == 0 ? 0 : rnd() % 2 ? 201 + rnd() % 4 : rnd();
	/* mostly off-screen, well clear; sometimes on the ranges, or anywhere */
	bounce = rnd() % 4 ? src + 0x800000 + rnd() % 0x10000 :
		 rnd() % 2 ? src - 1024 + rnd() % (4 * npx + 2048) : rnd();
	b[9] = bounce >> 16;
	b[10] = bounce >> 8;
	b[11] = bounce;
	i = rnd() % 3 ? rnd() % 40 : rnd();
	b[12] = i;
	b[13] = i >> 8;
	for (i = 14; i < MOVE_HDR; i++)
		b[i] = rnd();
	return MOVE_HDR;
}

static size_t gen_input(uint8_t *b, size_t cap)
{
	static const unsigned int edges[] = {
		1, 2, 3, 127, 128, 255, 256, 257, 258, 511, 512, 513, 767, 768, 769
	};
	static const unsigned int urbs[] = { 0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12 };
	unsigned int npx, u, flags, i, dlen;
	uint32_t addr;

	if (rnd() % 8 == 0)
		return gen_move(b);
	if (rnd() % 16 == 0) {
		b[0] = F_MODESET;
		for (i = 1; i < 32; i++)
			b[i] = rnd();
		return 32;
	}
	flags = rnd() & (F_PLANE8 | (3 << F_SRC_SHIFT) | F_PAD | F_BOTH);
	if (rnd() % 16 == 0)
		flags |= F_GARBAGE;
	addr = rnd() & 0xffffff;
	if (rnd() % 4 == 0)
		addr = (0x1000000 - rnd() % 600) & 0xffffff;	/* wraps in the span */
	else if (rnd() % 3 == 0)
		addr &= ~1u;	/* what the driver sends */
	npx = rnd() % 4 ? edges[rnd() % (sizeof(edges) / sizeof(*edges))] : 1 + rnd() % 1500;
	switch (rnd() % 4) {
	case 0:		/* tiny: a few pixels a URB */
		u = urbs[rnd() % (sizeof(urbs) / sizeof(*urbs))];
		break;
	case 1:		/* about one long command */
		u = 500 + rnd() % 540;
		break;
	case 2:		/* large, up to the driver's 64 KiB */
		u = 0x8000 | rnd() % 0x8000;
		break;
	default:
		u = rnd() & 0x3ff;
		break;
	}
	b[0] = flags;
	b[1] = addr >> 16;
	b[2] = addr >> 8;
	b[3] = addr;
	b[4] = (npx - 1) & 0xff;
	b[5] = (npx - 1) >> 8;
	b[6] = rnd() % 4 | (rnd() % 8 == 0 ? (rnd() & 3) << 2 : 0);
	b[7] = rnd() % 3 ? rnd() % 8 : rnd();
	b[8] = u;
	b[9] = u >> 8;
	b[10] = rnd();
	b[11] = rnd() % 2 ? rnd() % 4 : rnd();
	b[12] = rnd() % 2 ? 253 + rnd() % 3 : rnd();
	if (flags & F_GARBAGE) {
		/* mostly command starts and small counts, to reach deep paths */
		dlen = rnd() % 3000;
		for (i = 0; i < dlen && HDR_LEN + i < cap; i++) {
			uint32_t r = rnd();

			b[HDR_LEN + i] = r % 5 == 0 ? 0xaf : r % 7 == 0 ? 0x6b :
					 r % 11 == 0 ? 0x63 : r % 13 == 0 ? 0x20 :
					 r % 3 == 0 ? (uint8_t)(r >> 8) % 4 : (uint8_t)(r >> 8);
		}
	} else {
		/* runs of repeats between distinct pixels */
		dlen = rnd() % 2 ? 2 * npx * (1 + (b[6] & 3)) : rnd() % 64;
		for (i = 0; i < dlen && HDR_LEN + i < cap; i++)
			b[HDR_LEN + i] = i >= 2 && rnd() % 3 == 0 ? b[HDR_LEN + i - 2] : rnd();
	}
	return HDR_LEN + (dlen < cap - HDR_LEN ? dlen : cap - HDR_LEN);
}

/*
 * Scroll round trip: what src/dlkms_render.c does with a damaged
 * rectangle, on frames made by moving content up or down. Random old
 * frames (text-like lines, glyph rows between blank ones) are in the
 * decoder's memory and in the shadow; the new frame scrolls the screen
 * or moves a region by a random shift, with new lines where content came
 * in and a few lines changed anywhere. Each damaged rectangle goes through
 * dl_scroll_find(), the copies of dl_scroll_enc() and dl_scroll_shadow(),
 * then the shadow diff and RLX encoding, URBs filled back to back as
 * dlkms_tx_moves()/dlkms_tx_span() fill them. The decoded planes must be
 * the new frame exactly, with no overlapping copy; the bytes are compared
 * with the plain diff's.
 */
struct sc_frame {
	unsigned int w, h;
	bool b24, grey;
	uint32_t *px;			/* XRGB8888 */
};

struct sc_tx {
	struct stream s;
	uint8_t *buf;
	size_t urb, pos;
	bool count_only;		/* the plain diff: bytes, not a stream */
	size_t bytes;
};

struct sc_hash_ctx {
	const struct sc_frame *f;
	unsigned int x1, y1, n;
	uint16_t *l16;
	uint8_t *l8;
};

static struct dld sc;
static struct {
	unsigned long cases, moved_lines, copies, bytes, plain;
} sc_tally;

static void sc_flush(struct sc_tx *t)
{
	if (t->pos && !t->count_only)
		submit(&t->s, &(struct params){ .urb = t->urb }, t->buf, t->pos);
	t->bytes += t->pos;
	t->pos = 0;
}

static void sc_line(const struct sc_frame *f, unsigned int y, unsigned int x1,
		    unsigned int n, uint16_t *l16, uint8_t *l8)
{
	const uint32_t *p = f->px + (size_t)y * f->w + x1;
	unsigned int i;

	for (i = 0; i < n; i++) {
		l16[i] = dl_xrgb_to_565(p[i]);
		if (f->b24)
			l8[i] = dl_xrgb_to_low8(p[i]);
	}
}

static const uint16_t *sc_new_line(void *arg, unsigned int i, const uint8_t **px8)
{
	struct sc_hash_ctx *c = arg;

	sc_line(c->f, c->y1 + i, c->x1, c->n, c->l16, c->l8);
	if (c->f->b24)
		*px8 = c->l8;
	return c->l16;
}

/* dlkms_tx_span() */
static void sc_span(struct sc_tx *t, bool low8, uint32_t addr, const void *px, unsigned int n)
{
	unsigned int sent = 0, done;

	while (sent < n) {
		if (low8)
			t->pos += dl_enc_rlx8(t->buf + t->pos, t->urb - t->pos, addr + sent,
					      (const uint8_t *)px + sent, n - sent, &done);
		else
			t->pos += dl_enc_rlx16(t->buf + t->pos, t->urb - t->pos, addr + 2 * sent,
					       (const uint16_t *)px + sent, n - sent, &done);
		sent += done;
		if (sent < n || t->urb - t->pos < DL_RLX_MIN_BYTES)
			sc_flush(t);
	}
}

/* dlkms_tx_line() with a valid shadow */
static void sc_diff(struct sc_tx *t, bool low8, uint32_t addr, const void *px, void *shadow,
		    unsigned int n)
{
	unsigned int cpp = low8 ? 1 : 2, pos = 0, a, b;

	while (dl_diff_next(px, shadow, shadow, cpp, n, &pos, &a, &b))
		sc_span(t, low8, addr + cpp * a, (const uint8_t *)px + cpp * a, b - a);
}

/* dlkms_tx_moves() */
static void sc_moves(struct sc_tx *t, struct dl_scroll_tx *m)
{
	size_t n;
	bool fresh;

	while (!dl_scroll_tx_done(m)) {
		fresh = !t->pos;
		n = dl_scroll_enc(t->buf + t->pos, t->urb - t->pos, m);
		t->pos += n;
		if (dl_scroll_tx_done(m))
			break;
		check(!fresh || n, "scroll: no progress in a fresh %zu-byte URB", t->urb);
		sc_flush(t);
	}
	if (t->urb - t->pos < DL_RLX_MIN_BYTES)
		sc_flush(t);
}

/* dlkms_render_rect() for rectangle [x1, x2) x [y1, y2) of @f */
static void sc_rect(struct sc_tx *t, struct sc_frame *f, uint16_t *sh16, uint8_t *sh8,
		    unsigned int x1, unsigned int y1, unsigned int x2, unsigned int y2,
		    bool moves, unsigned int late, uint32_t *seed)
{
	static u64 hold[DLKMS_TEST_MAX_H], hnew[DLKMS_TEST_MAX_H], pold[DLKMS_TEST_MAX_H];
	static uint8_t take[DLKMS_TEST_MAX_H];
	static uint16_t l16[DLKMS_TEST_MAX_W];
	static uint8_t l8[DLKMS_TEST_MAX_W];
	uint32_t px = f->w * f->h, off = y1 * f->w + x1;
	struct sc_hash_ctx ctx = { .f = f, .x1 = x1, .y1 = y1, .n = x2 - x1, .l16 = l16, .l8 = l8 };
	struct dl_scroll s = {
		.old16 = sh16 + off, .old8 = f->b24 ? sh8 + off : NULL,
		.stride = f->w, .width = x2 - x1, .height = y2 - y1,
		.new_line = sc_new_line, .ctx = &ctx,
		.hold = hold, .hnew = hnew, .pold = pold, .take = take,
	};
	struct dl_scroll_tx m;
	unsigned int y;

	if (moves && dl_scroll_find(&s)) {
		struct sc_tx lost = { .urb = t->urb, .buf = t->buf, .count_only = true };

		dl_scroll_tx_init(&m, &s, 2 * off, 2 * px + off, s.width == f->w,
				  f->b24 ? 3 * px : 2 * px);
		/* the sabotage: copies that never reach the device */
		if (sabotage == SAB_SCROLL) {
			sc_flush(t);
			sc_moves(&lost, &m);
		} else {
			sc_moves(t, &m);
		}
		dl_scroll_shadow(&s);
		sc_tally.moved_lines += s.lines;
		sc_tally.copies += m.copies;
	}
	/*
	 * A client drawing between the search and the diff: lines taken
	 * for their hash are not the old ones any more, which must cost
	 * bytes, never pixels.
	 */
	for (y = 0; y < late; y++)
		f->px[(size_t)(y1 + xorshift(seed) % (y2 - y1)) * f->w + x1 +
		      xorshift(seed) % (x2 - x1)] ^= 0x404040;
	for (y = y1; y < y2; y++) {
		off = y * f->w + x1;
		sc_line(f, y, x1, x2 - x1, l16, l8);
		sc_diff(t, false, 2 * off, l16, sh16 + off, x2 - x1);
		if (f->b24)
			sc_diff(t, true, 2 * px + off, l8, sh8 + off, x2 - x1);
	}
}

/* text-like lines [y1, y2) of @f: 16-line rows of 8-pixel glyphs, blank between */
static void sc_text(struct sc_frame *f, unsigned int y1, unsigned int y2, uint32_t *seed)
{
	static const uint32_t ink[] = { 0xe0e0e0, 0x20ff40, 0xff5050, 0x4080ff };
	/* tests/bench's terminal: no low bits in 24 bpp, only the 16-bit plane moves */
	uint32_t bg = f->grey ? 0x101418 : 0x101010, fg, bits;
	unsigned int x, y, c;

	for (y = y1; y < y2; y++) {
		uint32_t *p = f->px + (size_t)y * f->w;

		if (y % 16 < 3 || y % 16 > 13) {
			for (x = 0; x < f->w; x++)
				p[x] = bg;
			continue;
		}
		for (c = 0; c * 8 < f->w; c++) {
			bits = xorshift(seed);
			/* short lines of text: blank after a random column */
			if ((bits & 0xff) < 20)
				bits = 0;
			fg = f->grey ? 0xc0c0c0 : ink[(bits >> 8) & 3];
			for (x = c * 8; x < c * 8 + 8 && x < f->w; x++)
				p[x] = (bits >> (16 + x % 8)) & 1 ? fg : bg;
		}
	}
}

/* the decoder's memory and the shadow hold @f */
static void sc_load(const struct sc_frame *f, uint16_t *sh16, uint8_t *sh8)
{
	uint32_t px = f->w * f->h, i;

	state_reset(&sc);
	for (i = 0; i < px; i++) {
		sh16[i] = dl_xrgb_to_565(f->px[i]);
		sc.mem[2 * i] = sh16[i] >> 8;
		sc.mem[2 * i + 1] = sh16[i];
		if (f->b24) {
			sh8[i] = dl_xrgb_to_low8(f->px[i]);
			sc.mem[2 * px + i] = sh8[i];
		}
	}
}

struct sc_case {
	unsigned int w, h;
	bool b24;
	int dy;				/* content moves down by dy (up if < 0) */
	unsigned int x1, y1, x2, y2;	/* in this region */
	unsigned int noise;		/* lines changed anywhere */
	unsigned int late;		/* pixels changed after the search */
	size_t urb;
	uint32_t seed;
	const char *name;		/* printed, if set */
	bool grey;			/* grey text, as tests/bench draws it */
};

/* the frame @c makes from @old */
static void sc_new(const struct sc_case *c, const struct sc_frame *old, struct sc_frame *nf,
		   uint32_t *seed)
{
	unsigned int y, k, n = c->x2 - c->x1;
	int from;

	memcpy(nf->px, old->px, (size_t)old->w * old->h * 4);
	for (y = c->y1; y < c->y2; y++) {
		from = (int)y - c->dy;
		if (from >= (int)c->y1 && from < (int)c->y2) {
			memcpy(nf->px + (size_t)y * nf->w + c->x1,
			       old->px + (size_t)from * old->w + c->x1, n * 4);
		} else {
			for (k = 0; k < n; k++)
				nf->px[(size_t)y * nf->w + c->x1 + k] = xorshift(seed) & 0xffffff;
		}
	}
	/* what came in at the edge: text */
	if (c->dy < 0 && c->x1 == 0 && c->x2 == nf->w)
		sc_text(nf, c->y2 + c->dy, c->y2, seed);
	for (k = 0; k < c->noise; k++) {
		y = xorshift(seed) % nf->h;
		nf->px[(size_t)y * nf->w + xorshift(seed) % nf->w] ^= 0x808080;
	}
}

static void sc_run(const struct sc_case *c)
{
	static struct sc_frame old, nf;
	static uint16_t sh16[DLKMS_TEST_MAX_W * DLKMS_TEST_MAX_H];
	static uint8_t sh8[DLKMS_TEST_MAX_W * DLKMS_TEST_MAX_H];
	struct sc_tx t = { .urb = c->urb }, plain = { .urb = c->urb, .count_only = true };
	uint32_t seed = c->seed, px = c->w * c->h, i;
	uint16_t v;

	old.w = nf.w = c->w;
	old.h = nf.h = c->h;
	old.b24 = nf.b24 = c->b24;
	old.grey = nf.grey = c->grey;
	if (!old.px) {
		old.px = xrealloc(NULL, DLKMS_TEST_MAX_W * DLKMS_TEST_MAX_H * 4);
		nf.px = xrealloc(NULL, DLKMS_TEST_MAX_W * DLKMS_TEST_MAX_H * 4);
	}
	t.buf = xrealloc(NULL, c->urb);
	plain.buf = xrealloc(NULL, c->urb);
	sc_text(&old, 0, c->h, &seed);
	sc_new(c, &old, &nf, &seed);

	/* the plain diff, for its bytes */
	sc_load(&old, sh16, sh8);
	sc_rect(&plain, &nf, sh16, sh8, c->x1, c->y1, c->x2, c->y2, false, 0, &seed);
	if (c->noise)
		sc_rect(&plain, &nf, sh16, sh8, 0, 0, c->w, c->h, false, 0, &seed);
	sc_flush(&plain);

	/* the driver's way: the moved region's damage, then the screen's if noisy */
	sc_load(&old, sh16, sh8);
	sc_rect(&t, &nf, sh16, sh8, c->x1, c->y1, c->x2, c->y2, true, c->late, &seed);
	if (c->noise)
		sc_rect(&t, &nf, sh16, sh8, 0, 0, c->w, c->h, true, 0, &seed);
	sc_flush(&t);
	feed(&sc, t.s.b, t.s.len, CH_URB, 0, t.s.ends, t.s.nends);

	check(!sc.st.copy_overlap && !sc.st.malformed && !sc.ncarry,
	      "scroll %ux%u%s by %d: %llu overlapping copies, %llu malformed",
	      c->w, c->h, c->b24 ? " 24 bpp" : "", c->dy,
	      (unsigned long long)sc.st.copy_overlap, (unsigned long long)sc.st.malformed);
	for (i = 0; i < px; i++) {
		v = dl_xrgb_to_565(nf.px[i]);
		if (sc.mem[2 * i] != v >> 8 || sc.mem[2 * i + 1] != (v & 0xff) || sh16[i] != v)
			fail("scroll %ux%u%s by %d in [%u,%u)x[%u,%u): pixel (%u,%u) is %02x%02x, "
			     "shadow %04x, want %04x", c->w, c->h, c->b24 ? " 24 bpp" : "", c->dy,
			     c->x1, c->x2, c->y1, c->y2, i % c->w, i / c->w,
			     sc.mem[2 * i], sc.mem[2 * i + 1], sh16[i], v);
		if (c->b24 && (sc.mem[2 * px + i] != dl_xrgb_to_low8(nf.px[i]) ||
			       sh8[i] != sc.mem[2 * px + i]))
			fail("scroll %ux%u 24 bpp by %d: low bits of (%u,%u) are %02x, want %02x",
			     c->w, c->h, c->dy, i % c->w, i / c->w, sc.mem[2 * px + i],
			     dl_xrgb_to_low8(nf.px[i]));
	}
	if (c->name)
		printf("fuzz_replay: %s: %zu bytes with moves (%llu copies), %zu without, %.3fx\n",
		       c->name, t.bytes, (unsigned long long)(sc.st.cmd_62 + sc.st.cmd_6a),
		       plain.bytes, (double)t.bytes / plain.bytes);
	sc_tally.cases++;
	sc_tally.bytes += t.bytes;
	sc_tally.plain += plain.bytes;
	free(t.buf);
	free(plain.buf);
	free(t.s.b);
	free(t.s.ends);
}

static void scroll_series(unsigned long n)
{
	static const struct sc_case named[] = {
		{ 1920, 1080, false, -16, 0, 0, 1920, 1080, 0, 0, URB_MAX, 1,
		  "text scrolled 16 px up, 1920x1080 16 bpp, full damage", false },
		{ 1920, 1080, true, -16, 0, 0, 1920, 1080, 0, 0, URB_MAX, 2,
		  "text scrolled 16 px up, 1920x1080 24 bpp, full damage", false },
		{ 1024, 768, false, 16, 0, 0, 1024, 768, 0, 0, URB_MAX, 3,
		  "text scrolled 16 px down, 1024x768 16 bpp, full damage", false },
		{ 1920, 1080, false, 8, 600, 200, 1400, 808, 0, 0, URB_MAX, 4,
		  "800x600 window moved 8 px down, 1920x1080 16 bpp", false },
		{ 1920, 1080, true, -8, 600, 200, 1400, 808, 0, 0, URB_MAX, 5,
		  "800x600 window moved 8 px up, 1920x1080 24 bpp", false },
		{ 1920, 1080, true, -16, 0, 16, 1920, 1056, 0, 0, URB_MAX, 6,
		  "grey text scrolled 16 px up, 1920x1080 24 bpp, no low bits", true },
	};
	static const unsigned int sizes[][2] = {
		{ 640, 480 }, { 800, 600 }, { 1024, 768 }, { 1280, 720 }, { 1366, 768 },
	};
	struct sc_case c;
	unsigned long i;

	cur_label = "scroll";
	cur_in = NULL;
	if (!sc.mem)
		sc.mem = map_zero();
	for (i = 0; i < sizeof(named) / sizeof(*named); i++)
		sc_run(&named[i]);
	for (i = 0; i < n; i++) {
		memset(&c, 0, sizeof(c));
		c.w = sizes[rnd() % 5][0];
		c.h = sizes[rnd() % 5][1];
		c.b24 = rnd() % 2;
		c.dy = (int)(rnd() % 129) - 64;
		if (rnd() % 3) {
			c.x1 = rnd() % (c.w / 2);
			c.x2 = c.x1 + 1 + rnd() % (c.w - c.x1);
			c.y1 = rnd() % (c.h / 2);
			c.y2 = c.y1 + 1 + rnd() % (c.h - c.y1);
		} else {
			c.x2 = c.w;
			c.y2 = c.h;
		}
		c.noise = rnd() % 2 ? rnd() % 40 : 0;
		c.late = rnd() % 3 ? 0 : rnd() % 200;
		c.urb = rnd() % 2 ? URB_MAX : DL_MOVE_MIN_BYTES + rnd() % 2000;
		c.seed = rnd() | 1;
		c.grey = rnd() % 4 == 0;
		sc_run(&c);
	}
	printf("fuzz_replay: %lu scroll round trips: %lu lines moved, %lu copies, "
	       "%lu bytes, %lu without moves\n", sc_tally.cases, sc_tally.moved_lines,
	       sc_tally.copies, sc_tally.bytes, sc_tally.plain);
}

int main(int argc, char **argv)
{
	static uint8_t b[HDR_LEN + 16384];
	unsigned long iters = 0, files = 0, scrolls = 0, i;
	bool colours = false;
	char label[64];
	int opt;

	rng = 20260101;
	while ((opt = getopt(argc, argv, "cn:r:s:v")) != -1) {
		switch (opt) {
		case 'r':
			scrolls = strtoul(optarg, NULL, 0);
			break;
		case 'c':
			colours = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'n':
			iters = strtoul(optarg, NULL, 0);
			break;
		case 's':
			rng = strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [-cv] [-n ITERATIONS] [-r SCROLLS] [-s SEED] [FILE|DIR]...\n",
				argv[0]);
			return 2;
		}
	}
	if (!rng)
		rng = 1;
	setup();
	vectors();
	diff_words();
	if (scrolls)
		scroll_series(scrolls - 1);
	for (; optind < argc; optind++)
		files += run_path(argv[optind]);
	for (i = 0; i < iters; i++) {
		snprintf(label, sizeof(label), "generated input %lu", i);
		run_buf(b, gen_input(b, sizeof(b)), label);
	}
	if (colours) {
		cur_label = "all colours";
		cur_in = NULL;
		colour_exhaustive();
	}
	printf("fuzz_replay: %lu files, %lu generated: %lu round trips (%lu pixels, "
	       "%lu URBs, %lu bytes, %lu cut), %lu modesets, %lu garbage streams, "
	       "%lu moves (%lu pixels, %lu overlapping, %lu bytes), 0 failures\n",
	       files, iters, tally.roundtrips, tally.pixels, tally.urbs, tally.bytes,
	       tally.cuts, tally.modesets, tally.garbage, tally.moves, tally.moved,
	       tally.move_overlap, tally.move_bytes);
	return 0;
}
#endif
