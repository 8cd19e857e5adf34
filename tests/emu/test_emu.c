// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the emulator's decoder and monitors against docs/protocol.md
 * alone: its hand-worked vectors (dl_vectors.h), a reference written here
 * from the document's formulas and checked against those vectors first,
 * streams from a small encoder of our own split at every boundary, and
 * malformed input; and the emulator's yank-at trigger and its control
 * command. Nothing of the driver is linked or included: the driver's
 * encoder is checked against the same vectors and against this decoder in
 * tests/fuzz.
 */
/*
 * The emulator itself, first (it wants _GNU_SOURCE before any header), with
 * its main() renamed: nothing of it runs but what the tests call.
 */
#define main dlemu_main
#include "dlemu.c"
#undef main

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl_decode.h"
#include "dl_vectors.h"
#include "edid.h"
#include "png.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

static int failures, checks;

#define CHECK(cond, ...) do { \
	checks++; \
	if (!(cond)) { \
		failures++; \
		fprintf(stderr, "%s:%d: FAIL %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
	} \
} while (0)

static uint32_t rng = 12345;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static uint16_t mem16(const struct dld *d, uint32_t a)
{
	return d->mem[a & DLD_MEM_MASK] << 8 | d->mem[(a + 1) & DLD_MEM_MASK];
}

/* ---- references written from docs/protocol.md ---- */

/* 5.3: n steps from 0xffff, each feeding b15 ^ b4 ^ b2 ^ b1 in at bit 0 */
static uint16_t ref_lfsr(unsigned int n)
{
	uint16_t v = 0xffff;
	unsigned int bit;

	while (n--) {
		bit = ((v >> 15) ^ (v >> 4) ^ (v >> 2) ^ (v >> 1)) & 1;
		v = (uint16_t)(v << 1 | bit);
	}
	return v;
}

/* 6.1 and 6.2: the high bits of each channel as RGB565, the rest as rrrggbbb */
static void ref_split(uint32_t xrgb, uint16_t *w565, uint8_t *low8)
{
	unsigned int r = (xrgb >> 16) & 0xff, g = (xrgb >> 8) & 0xff, b = xrgb & 0xff;

	*w565 = (r >> 3) << 11 | (g >> 2) << 5 | (b >> 3);
	*low8 = (r & 7) << 5 | (g & 3) << 3 | (b & 7);
}

/* The references must give the hand-worked values before anything leans on them. */
static void test_references(void)
{
	unsigned int i;
	uint16_t w;
	uint8_t lo;

	for (i = 0; i < ARRAY_LEN(dlv_lfsr); i++)
		CHECK(ref_lfsr(i) == dlv_lfsr[i], "9.1: L(%u) = 0x%04x, by hand 0x%04x", i,
		      ref_lfsr(i), dlv_lfsr[i]);
	for (i = 0; i < ARRAY_LEN(dlv_pixels); i++) {
		const struct dlv_pixel *p = &dlv_pixels[i];

		ref_split(p->xrgb, &w, &lo);
		CHECK(w == p->rgb565 && lo == p->low8,
		      "9.2 %s: 0x%08x splits to %04x/%02x, by hand %04x/%02x", p->name,
		      p->xrgb, w, lo, p->rgb565, p->low8);
	}
}

/* The decoder's inverse of the register encoding, against the reference. */
static void test_lfsr(void)
{
	unsigned int n;
	int bad = 0;

	for (n = 0; n < 65535; n += 7)
		if (dld_lfsr_steps(ref_lfsr(n)) != (int)n)
			bad++;
	CHECK(!bad, "%d LFSR values do not invert", bad);
	for (n = 0; n < ARRAY_LEN(dlv_lfsr); n++)
		CHECK(dld_lfsr_steps(dlv_lfsr[n]) == (int)n, "9.1: 0x%04x is not %u steps",
		      dlv_lfsr[n], n);
	CHECK(dld_lfsr_steps(0) == -1, "0x0000 is not an LFSR state");
}

/* ---- streams built here, per docs/protocol.md 4 and 5 ---- */

static size_t put_reg(uint8_t *b, uint8_t reg, uint8_t val)
{
	b[0] = 0xaf;
	b[1] = 0x20;
	b[2] = reg;
	b[3] = val;
	return 4;
}

static size_t put_hdr(uint8_t *b, uint8_t op, uint32_t addr, unsigned int n)
{
	b[0] = 0xaf;
	b[1] = op;
	b[2] = addr >> 16;
	b[3] = addr >> 8;
	b[4] = addr;
	b[5] = n & 0xff;	/* 256 is written 0 */
	return 6;
}

static size_t put_px(uint8_t *b, unsigned int bpp, uint16_t v)
{
	if (bpp == 2) {
		b[0] = v >> 8;
		b[1] = v;
		return 2;
	}
	b[0] = v;
	return 1;
}

/*
 * A frame size, depth and plane bases in one hold/apply bracket (5.1, 5.2);
 * the timing counters are left alone, the decoder needs only these.
 */
static size_t put_frame_regs(uint8_t *b, unsigned int w, unsigned int h, bool bpp24,
			     uint32_t base8)
{
	size_t o = 0;

	o += put_reg(b + o, 0xff, 0x00);
	o += put_reg(b + o, 0x00, bpp24);
	o += put_reg(b + o, 0x0f, w >> 8);
	o += put_reg(b + o, 0x10, w & 0xff);
	o += put_reg(b + o, 0x17, h >> 8);
	o += put_reg(b + o, 0x18, h & 0xff);
	o += put_reg(b + o, 0x20, 0);
	o += put_reg(b + o, 0x21, 0);
	o += put_reg(b + o, 0x22, 0);
	o += put_reg(b + o, 0x26, base8 >> 16);
	o += put_reg(b + o, 0x27, base8 >> 8);
	o += put_reg(b + o, 0x28, base8);
	o += put_reg(b + o, 0xff, 0xff);
	return o;
}

/* Raw writes (0x68 / 0x60) of @n pixels, 256 a command. */
static size_t put_raw(uint8_t *b, unsigned int bpp, uint32_t addr, const uint16_t *px,
		      unsigned int n)
{
	unsigned int i, c;
	size_t o = 0;

	for (; n; n -= c, addr += c * bpp) {
		c = n < 256 ? n : 256;
		o += put_hdr(b + o, bpp == 2 ? 0x68 : 0x60, addr, c);
		for (i = 0; i < c; i++)
			o += put_px(b + o, bpp, *px++);
	}
	return o;
}

/*
 * One command of @n (1..256) pixels as raw, run fill or RLX (4.2, 4.3),
 * its runs and spans cut at random: raw spans may hold repeated pixels,
 * repeat counts may stop short of the run or be 0 (which the driver never
 * sends), run fills may split a run.
 */
static size_t put_cmd(uint8_t *b, unsigned int bpp, uint32_t addr, const uint16_t *px,
		      unsigned int n, unsigned int kind)
{
	uint8_t op = bpp == 2 ? 0x68 : 0x60;
	unsigned int i = 0, r, k, lim;
	size_t o;

	if (kind == 0)
		return put_raw(b, bpp, addr, px, n);
	if (kind == 1) {
		o = put_hdr(b, op | 1, addr, n);
		while (i < n) {
			for (r = 1; i + r < n && px[i + r] == px[i]; r++)
				;
			if (rnd() % 3 == 0)
				r = 1 + rnd() % r;
			b[o++] = r & 0xff;
			o += put_px(b + o, bpp, px[i]);
			i += r;
		}
		return o;
	}
	o = put_hdr(b, op | 3, addr, n);
	while (i < n) {
		lim = 1 + rnd() % 64;
		r = 1 + rnd() % (lim < n - i ? lim : n - i);
		if (rnd() % 8 == 0)
			r = n - i;	/* up to 256 raw, written 0 */
		b[o++] = r & 0xff;
		for (; r; r--, i++)
			o += put_px(b + o, bpp, px[i]);
		if (i == n)
			break;
		for (k = 0; i + k < n && k < 255 && px[i + k] == px[i - 1]; k++)
			;
		if (rnd() % 3 == 0)
			k = rnd() % (k + 1);
		b[o++] = k;
		i += k;
	}
	return o;
}

/* ---- vectors ---- */

static void check_mode768(const struct dld *d, const char *what)
{
	struct dld_mode m;

	dld_get_mode(d, &m);
	CHECK(m.valid && m.hdisplay == 1024 && m.vdisplay == 768, "%s: %ux%u", what,
	      m.hdisplay, m.vdisplay);
	CHECK(m.htotal == 1344 && m.hsync_start == 1048 && m.hsync_end == 1184,
	      "%s: h %u %u %u", what, m.htotal, m.hsync_start, m.hsync_end);
	CHECK(m.vtotal == 806 && m.vsync_start == 771 && m.vsync_end == 777,
	      "%s: v %u %u %u", what, m.vtotal, m.vsync_start, m.vsync_end);
	CHECK(m.clock_khz == 65000 && m.refresh_mhz == 60003, "%s: clock %u refresh %u",
	      what, m.clock_khz, m.refresh_mhz);
	CHECK(m.bpp == 16 && m.blank == 0 && m.base16 == 0 && m.stride16 == 2048 &&
	      m.base8 == 2 * 1024 * 768, "%s: bpp %u blank %u base16 %u stride %u base8 %u",
	      what, m.bpp, m.blank, m.base16, m.stride16, m.base8);
}

static bool reg_unapplied(const struct dld *d)
{
	return !d->regs[0x0f] && !d->regs[0x10] && !d->regs[0x17];
}

static unsigned int reg16(const struct dld *d, unsigned int r)
{
	return d->regs[r] << 8 | d->regs[r + 1];
}

/* docs/protocol.md 9.5 and 9.6 */
static void test_modeset(struct dld *d)
{
	/* 5.4's formulas for 1024x768@60: h 1024/1048/1184/1344, v 768/771/777/806 */
	static const struct { uint8_t reg; unsigned int count; } lfsr_fields[] = {
		{ 0x01, 1344 - 1048 }, { 0x03, 1344 - 1048 + 1024 },
		{ 0x05, 806 - 771 }, { 0x07, 806 - 771 + 768 },
		{ 0x09, 1344 - 1 }, { 0x0b, 1 }, { 0x0d, 1184 - 1048 + 1 },
		{ 0x11, 806 }, { 0x13, 0 }, { 0x15, 777 - 771 },
	};
	uint8_t regs[256];
	unsigned int i;
	size_t k;

	dld_reset(d);
	dld_feed(d, dlv_modeset768, sizeof(dlv_modeset768));
	check_mode768(d, "9.5");
	CHECK(d->st.mode_sets == 1 && d->st.cmd_6a == 1 && d->st.malformed == 0 &&
	      d->st.cmd_reg == 36, "stats: sets %llu 6a %llu bad %llu reg %llu",
	      (unsigned long long)d->st.mode_sets, (unsigned long long)d->st.cmd_6a,
	      (unsigned long long)d->st.malformed, (unsigned long long)d->st.cmd_reg);
	/* the vector is a program's: its LFSR fields against 5.3's reference */
	for (i = 0; i < ARRAY_LEN(lfsr_fields); i++)
		CHECK(reg16(d, lfsr_fields[i].reg) == ref_lfsr(lfsr_fields[i].count),
		      "9.5: register 0x%02x is 0x%04x, L(%u) is 0x%04x", lfsr_fields[i].reg,
		      reg16(d, lfsr_fields[i].reg), lfsr_fields[i].count,
		      ref_lfsr(lfsr_fields[i].count));
	CHECK(reg16(d, 0x0f) == 1024 && reg16(d, 0x17) == 768 && d->regs[0x1b] == 0xc8 &&
	      d->regs[0x1c] == 0x32 && d->regs[0x26] == 0x18, "9.5: plain fields");

	/* 9.6: powering down changes 0x1f and nothing else, memory not at all */
	memcpy(regs, d->regs, sizeof(regs));
	dld_feed(d, dlv_blank_off, sizeof(dlv_blank_off));
	regs[0x1f] = 0x07;
	CHECK(!memcmp(regs, d->regs, sizeof(regs)) && d->st.mode_sets == 2 &&
	      d->st.cmd_6a == 2 && !d->hold, "9.6: register file after power-down");
	for (k = 0; k < 4096 && d->mem[k] == DLD_FILL; k++)
		;
	CHECK(k == 4096, "9.6: power-down wrote memory at 0x%zx", k);

	/* held registers do not apply before FF=FF, even split byte by byte */
	dld_reset(d);
	for (k = 0; k + 9 + 4 < sizeof(dlv_modeset768); k++)
		dld_feed(d, dlv_modeset768 + k, 1);
	CHECK(reg_unapplied(d), "registers applied before FF=FF");
	for (; k < sizeof(dlv_modeset768); k++)
		dld_feed(d, dlv_modeset768 + k, 1);
	check_mode768(d, "byte by byte");
}

/* @n bytes at @addr must be @want, and the bytes either side untouched. */
static void check_mem(const struct dld *d, const char *what, uint32_t addr,
		      const uint8_t *want, size_t n)
{
	size_t i, bad = 0;

	for (i = 0; i < n; i++)
		if (d->mem[addr + i] != want[i])
			bad++;
	CHECK(!bad, "%s: %zu of %zu bytes at 0x%06x wrong", what, bad, n, addr);
	CHECK(d->mem[addr - 1] == DLD_FILL && d->mem[addr + n] == DLD_FILL,
	      "%s: a byte next to 0x%06x..0x%06zx written", what, addr, addr + n);
	CHECK(d->st.malformed == 0, "%s: %llu malformed", what,
	      (unsigned long long)d->st.malformed);
}

static void feed_vector(struct dld *d, const uint8_t *s, size_t n)
{
	dld_reset(d);
	dld_feed(d, s, n);
}

/* docs/protocol.md 9.3, S1 to S9 */
static void test_stream_vectors(struct dld *d)
{
	static uint8_t s6_mem[2 * DLV_S6_PIXELS], s6b_mem[512];
	size_t i, cut;

	for (i = 0; i < sizeof(s6_mem); i += 2) {
		s6_mem[i] = DLV_S6_PIXEL >> 8;
		s6_mem[i + 1] = DLV_S6_PIXEL & 0xff;
	}
	for (i = 0; i < sizeof(s6b_mem); i += 2) {
		s6b_mem[i] = 0xab;
		s6b_mem[i + 1] = 0xcd;
	}

	feed_vector(d, dlv_s1, sizeof(dlv_s1));
	check_mem(d, "9.3 S1", 0x100, dlv_s1_mem, sizeof(dlv_s1_mem));
	CHECK(d->st.cmd_68 == 1, "9.3 S1: one raw command");

	feed_vector(d, dlv_s2, sizeof(dlv_s2));
	check_mem(d, "9.3 S2", 0x200, dlv_s23_mem, sizeof(dlv_s23_mem));
	feed_vector(d, dlv_s3, sizeof(dlv_s3));
	check_mem(d, "9.3 S3", 0x200, dlv_s23_mem, sizeof(dlv_s23_mem));
	feed_vector(d, dlv_s4, sizeof(dlv_s4));
	check_mem(d, "9.3 S4", 0x400, dlv_s4_mem, sizeof(dlv_s4_mem));
	feed_vector(d, dlv_s5, sizeof(dlv_s5));
	check_mem(d, "9.3 S5", 0x1000, dlv_s5_mem, sizeof(dlv_s5_mem));
	feed_vector(d, dlv_s6b, sizeof(dlv_s6b));
	check_mem(d, "9.3 S6b", 0x1000, s6b_mem, sizeof(s6b_mem));

	/* S6 starts at address 0: its lower neighbour is the top of memory */
	feed_vector(d, dlv_s6, sizeof(dlv_s6));
	CHECK(!memcmp(d->mem, s6_mem, sizeof(s6_mem)) &&
	      d->mem[sizeof(s6_mem)] == DLD_FILL && d->mem[DLD_MEM_SIZE - 1] == DLD_FILL &&
	      d->st.cmd_6b == 2 && d->st.malformed == 0, "9.3 S6: 257 pixels in two commands");

	dld_reset(d);
	dld_feed(d, dlv_s1, sizeof(dlv_s1));
	dld_feed(d, dlv_s7, sizeof(dlv_s7));
	check_mem(d, "9.3 S7", 0x300, dlv_s1_mem, 4);

	feed_vector(d, dlv_s8, sizeof(dlv_s8));
	check_mem(d, "9.3 S8", 0x500, (const uint8_t *)"\xab\xcd", 2);
	CHECK(d->st.pad_af == 2 && d->st.cmd_a0 == 1 && d->st.cmd_68 == 1,
	      "9.3 S8: pad %llu sync %llu raw %llu, want 2 1 1",
	      (unsigned long long)d->st.pad_af, (unsigned long long)d->st.cmd_a0,
	      (unsigned long long)d->st.cmd_68);

	/* S9: S4 cut between any two bytes, and fed a byte at a time */
	for (cut = 1; cut < sizeof(dlv_s4); cut++) {
		dld_reset(d);
		dld_feed(d, dlv_s4, cut);
		dld_feed(d, dlv_s4 + cut, sizeof(dlv_s4) - cut);
		check_mem(d, "9.3 S9 (cut)", 0x400, dlv_s4_mem, sizeof(dlv_s4_mem));
	}
	dld_reset(d);
	for (i = 0; i < sizeof(dlv_s4); i++)
		dld_feed(d, dlv_s4 + i, 1);
	check_mem(d, "9.3 S9 (bytes)", 0x400, dlv_s4_mem, sizeof(dlv_s4_mem));
}

static void render(const struct dld *d, unsigned int bpp, unsigned int w, unsigned int h,
		   uint32_t *out, const char *what)
{
	struct dld_mode m;

	dld_get_mode(d, &m);
	CHECK(m.valid && m.bpp == bpp && m.hdisplay == w && m.vdisplay == h,
	      "%s: mode %ux%u %u bpp", what, m.hdisplay, m.vdisplay, m.bpp);
	if (m.valid && m.hdisplay == w && m.vdisplay == h)
		dld_render(d, &m, out);
}

/* docs/protocol.md 9.4, then 9.2's pixels and random colours through 6.2 */
static void test_24bpp(struct dld *d)
{
	enum { W = 64, H = 64, N = ARRAY_LEN(dlv_pixels) };
	static uint8_t s[W * H * 4 + 4096], depth16[sizeof(dlv_frame24)];
	static uint16_t p16[W * H], p8[W * H];
	static uint32_t src[W * H], out[W * H];
	unsigned int i, bad16 = 0, bad24 = 0;
	size_t n;

	/* 9.4 as written, applied only at its FF=FF */
	dld_reset(d);
	dld_feed(d, dlv_frame24, DLV_FRAME24_APPLY);
	CHECK(d->hold && !d->regs[0x00] && !d->regs[0x10] && !d->regs[0x28],
	      "9.4: registers applied before FF=FF");
	dld_feed(d, dlv_frame24 + DLV_FRAME24_APPLY, sizeof(dlv_frame24) - DLV_FRAME24_APPLY);
	render(d, 24, 3, 1, out, "9.4");
	CHECK(!memcmp(out, dlv_frame24_shown24, sizeof(dlv_frame24_shown24)),
	      "9.4: 24 bpp shows %06x %06x %06x", out[0], out[1], out[2]);
	memcpy(depth16, dlv_frame24, sizeof(dlv_frame24));
	depth16[DLV_FRAME24_DEPTH] = 0;
	feed_vector(d, depth16, sizeof(depth16));
	render(d, 16, 3, 1, out, "9.4 in 16 bpp");
	CHECK(!memcmp(out, dlv_frame24_shown16, sizeof(dlv_frame24_shown16)),
	      "9.4: 16 bpp shows %06x %06x %06x", out[0], out[1], out[2]);

	/* 9.2's table: its bytes in both planes, seen in 24 and 16 bpp */
	for (i = 0; i < N; i++) {
		p16[i] = dlv_pixels[i].rgb565;
		p8[i] = dlv_pixels[i].low8;
	}
	n = put_frame_regs(s, N, 1, true, 0x100);
	n += put_raw(s + n, 2, 0, p16, N);
	n += put_raw(s + n, 1, 0x100, p8, N);
	feed_vector(d, s, n);
	render(d, 24, N, 1, out, "9.2 in 24 bpp");
	for (i = 0; i < N; i++)
		CHECK(out[i] == dlv_pixels[i].shown24, "9.2 %s: 24 bpp shows %06x, by hand %06x",
		      dlv_pixels[i].name, out[i], dlv_pixels[i].shown24);
	n = put_frame_regs(s, N, 1, false, 0x100);
	dld_feed(d, s, n);
	render(d, 16, N, 1, out, "9.2 in 16 bpp");
	for (i = 0; i < N; i++)
		CHECK(out[i] == dlv_pixels[i].shown16, "9.2 %s: 16 bpp shows %06x, by hand %06x",
		      dlv_pixels[i].name, out[i], dlv_pixels[i].shown16);

	/* random colours, split by the reference: 24 bpp exact, 16 bpp truncated */
	for (i = 0; i < W * H; i++) {
		uint8_t lo;

		src[i] = rnd();
		ref_split(src[i], &p16[i], &lo);
		p8[i] = lo;
	}
	n = put_frame_regs(s, W, H, true, 2 * W * H);
	n += put_raw(s + n, 2, 0, p16, W * H);
	n += put_raw(s + n, 1, 2 * W * H, p8, W * H);
	feed_vector(d, s, n);
	render(d, 24, W, H, out, "random colours in 24 bpp");
	for (i = 0; i < W * H; i++)
		if (out[i] != (src[i] & 0xffffff))
			bad24++;
	n = put_frame_regs(s, W, H, false, 2 * W * H);
	dld_feed(d, s, n);
	render(d, 16, W, H, out, "random colours in 16 bpp");
	for (i = 0; i < W * H; i++)
		if (out[i] != (src[i] & 0xf8fcf8))
			bad16++;
	CHECK(!bad24 && !bad16, "random colours: %u wrong in 24 bpp, %u in 16 bpp", bad24, bad16);
}

/*
 * Random scanlines with runs, encoded by put_cmd() in commands of random
 * kind and length (URB-tail 0xAF padding and syncs between them), fed to
 * the decoder in random chunks: the device memory must hold exactly the
 * pixels and nothing around them may change.
 */
static void test_roundtrip(struct dld *d, unsigned int bpp)
{
	enum { W = 1000, ROWS = 40 };
	static uint16_t px[W];
	static uint8_t stream[W * 16];
	uint32_t base = 0x123456 & ~1u, a;
	unsigned int row, i, x, c, bad = 0, cmds = 0;
	size_t sl, off, ch;

	dld_reset(d);
	for (row = 0; row < ROWS; row++) {
		for (i = 0; i < W; i++)
			px[i] = i && rnd() % 4 == 0 ? px[i - 1] : (rnd() & (bpp == 2 ? 0xffff : 0xff));
		a = base + row * W * bpp;
		sl = 0;
		for (x = 0; x < W; x += c, cmds++) {
			c = rnd() % 4 ? 1 + rnd() % 256 : 256;
			if (c > W - x)
				c = W - x;
			sl += put_cmd(stream + sl, bpp, a + x * bpp, px + x, c, rnd() % 3);
			if (rnd() % 3 == 0)
				stream[sl++] = 0xaf;
			if (rnd() % 5 == 0) {
				stream[sl++] = 0xaf;
				stream[sl++] = 0xa0;
			}
		}
		for (off = 0; off < sl; off += ch) {
			ch = 1 + rnd() % (rnd() % 2 ? 7 : 3000);
			if (ch > sl - off)
				ch = sl - off;
			dld_feed(d, stream + off, ch);
		}
		for (i = 0; i < W; i++)
			if ((bpp == 2 ? mem16(d, a + 2 * i) : d->mem[a + i]) != px[i])
				bad++;
	}
	CHECK(!bad, "%u-byte round trip: %u pixels wrong", bpp, bad);
	CHECK(d->mem[base - 1] == DLD_FILL && d->mem[base + ROWS * W * bpp] == DLD_FILL,
	      "%u-byte round trip wrote outside its rows", bpp);
	CHECK(d->st.malformed == 0, "round trip produced %llu malformed",
	      (unsigned long long)d->st.malformed);
	CHECK((bpp == 2 ? d->st.cmd_68 + d->st.cmd_69 + d->st.cmd_6b :
	       d->st.cmd_60 + d->st.cmd_61 + d->st.cmd_63) == cmds,
	      "%u-byte round trip: %u commands sent, decoder counted another number", bpp, cmds);
}

/* The commands udl never sends, by hand. */
static void test_other_commands(struct dld *d)
{
	static const uint8_t s[] = {
		0xaf, 0x68, 0x00, 0x00, 0x10, 0x02, 0x11, 0x22, 0x33, 0x44,	/* raw16 @0x10 */
		0xaf, 0x69, 0x00, 0x00, 0x20, 0x05, 0x02, 0xab, 0xcd, 0x03, 0x12, 0x34,
		0xaf, 0x6a, 0x00, 0x00, 0x40, 0x02, 0x00, 0x00, 0x10,	/* copy 2 px 0x10 -> 0x40 */
		0xaf, 0x60, 0x00, 0x01, 0x00, 0x03, 0x01, 0x02, 0x03,
		0xaf, 0x61, 0x00, 0x01, 0x10, 0x04, 0x04, 0x77,
		0xaf, 0x62, 0x00, 0x01, 0x20, 0x02, 0x00, 0x01, 0x00,
		0xaf, 0x63, 0x00, 0x01, 0x30, 0x05, 0x02, 0x08, 0x09, 0x03,
		0xaf, 0xa0, 0xaf, 0xaf, 0xaf,
	};

	dld_reset(d);
	dld_feed(d, s, sizeof(s));
	CHECK(mem16(d, 0x10) == 0x1122 && mem16(d, 0x12) == 0x3344, "raw16");
	CHECK(mem16(d, 0x20) == 0xabcd && mem16(d, 0x22) == 0xabcd &&
	      mem16(d, 0x24) == 0x1234 && mem16(d, 0x28) == 0x1234 &&
	      mem16(d, 0x2a) == 0x5a5a, "rl16");
	CHECK(mem16(d, 0x40) == 0x1122 && mem16(d, 0x42) == 0x3344, "copy16");
	CHECK(d->mem[0x100] == 1 && d->mem[0x102] == 3 && d->mem[0x103] == 0x5a, "raw8");
	CHECK(d->mem[0x110] == 0x77 && d->mem[0x113] == 0x77 && d->mem[0x114] == 0x5a, "rl8");
	CHECK(d->mem[0x120] == 1 && d->mem[0x121] == 2, "copy8");
	CHECK(d->mem[0x130] == 8 && d->mem[0x131] == 9 && d->mem[0x134] == 9 &&
	      d->mem[0x135] == 0x5a, "rlx8");
	CHECK(d->st.malformed == 0 && d->st.cmd_a0 == 1 && d->st.pad_af == 2 &&
	      d->st.cmd_68 == 1 && d->st.cmd_69 == 1 && d->st.cmd_60 == 1 &&
	      d->st.cmd_61 == 1 && d->st.cmd_62 == 1 && d->st.cmd_63 == 1,
	      "counters: malformed %llu a0 %llu pad %llu",
	      (unsigned long long)d->st.malformed, (unsigned long long)d->st.cmd_a0,
	      (unsigned long long)d->st.pad_af);
}

/* @n bytes at @addr (wrapping at 16 MiB) are @want */
static bool mem_is(const struct dld *d, uint32_t addr, const char *want, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (d->mem[(addr + i) & DLD_MEM_MASK] != (uint8_t)want[i])
			return false;
	return true;
}

/*
 * Copies (docs/protocol.md 4.2), worked by hand: byte ranges of n x pixel
 * size, destination first, 16 MiB wrap; overlapping ranges are counted in
 * copy_overlap and poison the destination, the same range is a no-op.
 */
static void test_copy(struct dld *d)
{
	static const uint8_t base[] = {
		0xaf, 0x68, 0x00, 0x01, 0x00, 0x03, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
		0xaf, 0x69, 0x00, 0x20, 0x00, 0x00, 0x00, 0xab, 0xcd,	/* 256 x abcd @0x2000 */
	};
	static const uint8_t apart[] = {
		/* above, touching: [0x100, 0x106) to [0x106, 0x10c) */
		0xaf, 0x6a, 0x00, 0x01, 0x06, 0x03, 0x00, 0x01, 0x00,
		/* below, touching: to [0x0fa, 0x100) */
		0xaf, 0x6a, 0x00, 0x00, 0xfa, 0x03, 0x00, 0x01, 0x00,
		/* n = 0: 256 pixels, 512 bytes, 0x2000 to 0x3000 */
		0xaf, 0x6a, 0x00, 0x30, 0x00, 0x00, 0x00, 0x20, 0x00,
		/* 8-bit, n = 0: 256 bytes, 0x2000 to 0x4000 */
		0xaf, 0x62, 0x00, 0x40, 0x00, 0x00, 0x00, 0x20, 0x00,
	};
	static const uint8_t wrap[] = {
		/* raw 8-bit 01 02 03 04 at 0xfffffe: wraps to 0x000000 */
		0xaf, 0x60, 0xff, 0xff, 0xfe, 0x04, 0x01, 0x02, 0x03, 0x04,
		/* source wraps: 2 px from 0xfffffe to 0x000100 */
		0xaf, 0x6a, 0x00, 0x01, 0x00, 0x02, 0xff, 0xff, 0xfe,
		/* destination wraps: 3 bytes from 0x000100 to 0xffffff */
		0xaf, 0x62, 0xff, 0xff, 0xff, 0x03, 0x00, 0x01, 0x00,
	};
	static const uint8_t self[] = {
		0xaf, 0x6a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,	/* the kick */
		0xaf, 0x6a, 0x00, 0x20, 0x00, 0x00, 0x00, 0x20, 0x00,	/* 256 px onto itself */
		0xaf, 0x62, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff,	/* 8-bit, round the top */
	};
	static const uint8_t overlap[] = {
		/* 2 px 0x100 to 0x102: [0x100, 0x104) and [0x102, 0x106) */
		0xaf, 0x6a, 0x00, 0x01, 0x02, 0x02, 0x00, 0x01, 0x00,
		/* only round the top: [0xfffffe, 0x000002) and [0, 4) */
		0xaf, 0x6a, 0x00, 0x00, 0x00, 0x02, 0xff, 0xff, 0xfe,
		/* 8-bit, destination one below: [0x2001, 0x2005) to [0x2000, 0x2004) */
		0xaf, 0x62, 0x00, 0x20, 0x00, 0x04, 0x00, 0x20, 0x01,
	};
	size_t i;

	dld_reset(d);
	dld_feed(d, base, sizeof(base));
	for (i = 0; i < sizeof(apart); i++)	/* commands split anywhere */
		dld_feed(d, apart + i, 1);
	CHECK(mem_is(d, 0x0f9, "\x5a\x11\x22\x33\x44\x55\x66\x11\x22\x33\x44\x55\x66"
		     "\x11\x22\x33\x44\x55\x66\x5a", 20),
	      "copies above and below, touching the source");
	CHECK(mem16(d, 0x3000) == 0xabcd && mem16(d, 0x31fe) == 0xabcd &&
	      mem16(d, 0x2ffe) == 0x5a5a && mem16(d, 0x3200) == 0x5a5a,
	      "16-bit copy with n = 0: not 256 pixels");
	CHECK(mem_is(d, 0x3fff, "\x5a\xab\xcd", 3) && mem_is(d, 0x40fe, "\xab\xcd\x5a", 3),
	      "8-bit copy with n = 0: not 256 bytes");
	CHECK(d->st.cmd_6a == 3 && d->st.cmd_62 == 1 && !d->st.copy_overlap &&
	      !d->st.malformed, "apart: %llu+%llu copies, %llu overlapping, %llu malformed",
	      (unsigned long long)d->st.cmd_6a, (unsigned long long)d->st.cmd_62,
	      (unsigned long long)d->st.copy_overlap, (unsigned long long)d->st.malformed);

	dld_reset(d);
	dld_feed(d, wrap, sizeof(wrap));
	CHECK(mem_is(d, 0x0ff, "\x5a\x01\x02\x03\x04\x5a", 6), "source round the top");
	/* 0xfffffe keeps the raw write's 01; 0xffffff, 0, 1 get 01 02 03 */
	CHECK(mem_is(d, 0xfffffe, "\x01\x01\x02\x03\x5a", 5),
	      "destination round the top: %02x %02x %02x %02x %02x", d->mem[0xfffffe],
	      d->mem[0xffffff], d->mem[0], d->mem[1], d->mem[2]);
	CHECK(!d->st.copy_overlap && !d->st.malformed, "wrap: %llu overlapping",
	      (unsigned long long)d->st.copy_overlap);

	dld_reset(d);
	dld_feed(d, base, sizeof(base));
	dld_feed(d, self, sizeof(self));
	CHECK(!d->st.copy_overlap && d->st.cmd_6a == 2 && d->st.cmd_62 == 1 &&
	      mem_is(d, 0x0ff, "\x5a\x11\x22\x33\x44\x55\x66\x5a", 8) &&
	      mem16(d, 0x2000) == 0xabcd && mem16(d, 0x21fe) == 0xabcd &&
	      d->mem[0] == DLD_FILL && d->mem[0xffffff] == DLD_FILL,
	      "copies onto themselves: %llu overlapping, or memory changed",
	      (unsigned long long)d->st.copy_overlap);

	for (i = 0; i < 3; i++) {
		dld_reset(d);
		dld_feed(d, base, sizeof(base));
		dld_feed(d, overlap + 9 * i, 9);
		CHECK(d->st.copy_overlap == 1 && d->st.cmd_6a + d->st.cmd_62 == 1 &&
		      !d->st.malformed, "overlapping copy %zu: counted %llu", i,
		      (unsigned long long)d->st.copy_overlap);
	}
	/* the destination is poisoned, the rest of the source left alone */
	dld_reset(d);
	dld_feed(d, base, sizeof(base));
	dld_feed(d, overlap, sizeof(overlap));
	CHECK(d->st.copy_overlap == 3, "%llu of 3 overlapping copies counted",
	      (unsigned long long)d->st.copy_overlap);
	CHECK(mem_is(d, 0x0ff, "\x5a\x11\x22\xc5\xc5\xc5\xc5\x5a", 8) &&
	      mem_is(d, 0xfffffd, "\x5a\x5a\x5a\xc5\xc5\xc5\xc5\x5a", 8) &&
	      mem_is(d, 0x1fff, "\x5a\xc5\xc5\xc5\xc5\xab\xcd", 7),
	      "overlapping copies: destination not poisoned, or more written");
}

/* Garbage never crashes the decoder, is counted, and valid input after it works. */
static void test_malformed(struct dld *d)
{
	static const uint8_t bad_rlx[] = {	/* raw span longer than the command */
		0xaf, 0x6b, 0, 0, 0, 0x02, 0x05, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
	};
	static const uint8_t good[] = { 0xaf, 0x68, 0x00, 0x20, 0x00, 0x01, 0xbe, 0xef };
	static uint8_t junk[1 << 16];
	unsigned int i, round;

	dld_reset(d);
	dld_feed(d, (const uint8_t *)"\x00\x01\x02", 3);
	dld_feed(d, bad_rlx, sizeof(bad_rlx));
	dld_feed(d, (const uint8_t *)"\xaf\x55", 2);	/* unknown opcode */
	dld_feed(d, good, sizeof(good));
	CHECK(d->st.malformed == 3, "malformed %llu, expected 3",
	      (unsigned long long)d->st.malformed);
	CHECK(mem16(d, 0x2000) == 0xbeef, "valid command after garbage not applied");

	for (round = 0; round < 300; round++) {
		for (i = 0; i < sizeof(junk); i++) {
			/* mostly command starts and small numbers: reach deep paths */
			uint32_t r = rnd();

			junk[i] = r % 5 == 0 ? 0xaf : r % 7 == 0 ? 0x6b :
				  r % 11 == 0 ? 0x20 : (uint8_t)(r >> 8);
		}
		for (i = 0; i < sizeof(junk); i += 1 + rnd() % 2000)
			dld_feed(d, junk + i, sizeof(junk) - i < 2000 ? sizeof(junk) - i : 1 + rnd() % 2000);
	}
	CHECK(d->st.malformed > 0, "random junk counted no malformed input");
	dld_feed(d, (const uint8_t *)"\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0"
		 "\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0"
		 "\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0"
		 "\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0"
		 "\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0"
		 "\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0"
		 "\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0"
		 "\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0"
		 "\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0"
		 "\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0"
		 "\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0"
		 "\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0"
		 "\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0"
		 "\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0\xaf\xa0", 1);
	/* whatever junk left half-parsed, 1100 bytes of syncs resynchronise */
	for (i = 0; i < 600; i++)
		dld_feed(d, (const uint8_t *)"\xaf\xa0", 2);
	dld_feed(d, good, sizeof(good));
	CHECK(mem16(d, 0x2000) == 0xbeef, "decoder did not resynchronise after junk");
}

static void test_monitors(void)
{
	struct monitor m;
	unsigned int b, i, s;
	const char *const *name;

	for (name = monitor_names; *name; name++) {
		CHECK(!monitor_build(*name, &m), "monitor %s", *name);
		for (b = 0; b * 128 < m.len; b++) {
			for (i = 0, s = 0; i < 128; i++)
				s += m.edid[b * 128 + i];
			if (strcmp(*name, "corrupt"))
				CHECK((s & 0xff) == 0, "%s block %u checksum", *name, b);
			else
				CHECK((s & 0xff) != 0, "corrupt monitor has a valid checksum");
		}
	}
	monitor_build("dvi1080", &m);
	CHECK((m.edid[20] & 0x80) && m.edid[56] == 0x80 && (m.edid[58] >> 4) == 7 &&
	      m.edid[54] + 256 * m.edid[55] == 14850, "dvi1080 preferred 1920x1080");
	monitor_build("vga768", &m);
	CHECK(!(m.edid[20] & 0x80) && m.edid[56] == 0 && (m.edid[58] >> 4) == 4,
	      "vga768 analog 1024 wide");
	monitor_build("cea", &m);
	CHECK(m.len == 256 && m.edid[126] == 1 && m.edid[128] == 2, "cea extension");
	monitor_build("cea3", &m);
	CHECK(m.len == 512 && m.edid[126] == 3 && m.edid[128] == 2 && m.edid[256] == 2 &&
	      m.edid[384] == 2, "cea3: three extensions");
	CHECK(monitor_build("nonsense", &m) == -1, "unknown monitor accepted");
}

static void test_png(void)
{
	uint32_t px[6] = { 0xff0000, 0x00ff00, 0x0000ff, 0xffffff, 0, 0x123456 };
	FILE *f;
	uint8_t sig[8];

	CHECK(!png_write("/tmp/dlemu-test.png", px, 3, 2), "png_write");
	f = fopen("/tmp/dlemu-test.png", "rb");
	CHECK(f && fread(sig, 8, 1, f) == 1 && sig[1] == 'P', "png signature");
	if (f)
		fclose(f);
}

/* one control request through the emulator's command(), as serve() runs it */
static int emu_command(const char *req)
{
	char line[128], *body = NULL;
	const char *why = "";
	size_t blen = 0;
	FILE *f;
	int ret;

	snprintf(line, sizeof(line), "%s", req);
	f = open_memstream(&body, &blen);
	if (!f)
		return -ENOMEM;
	ret = command(line, f, &why);
	fclose(f);
	free(body);
	return ret;
}

static void test_yank_at(void)
{
	static const char *const bad[] = {
		"yank-at", "yank-at ctrl", "yank-at ctrl 0", "yank-at ctrl -1",
		"yank-at bulk 12x", "yank-at bulk 18446744073709551616",
		"yank-at frob 3", "yank-at off 1", "yank-at ctrl 1 2",
	};
	struct yank_at y = { YANK_AT_CTRL, 3, 0 };
	int i, fired = 0, at = 0;
	size_t k;

	/* the Nth request fires, once */
	for (i = 1; i <= 6; i++)
		if (yank_at_count(&y, YANK_AT_CTRL, 1)) {
			fired++;
			at = i;
		}
	CHECK(fired == 1 && at == 3, "ctrl 3: fired %d times, at request %d", fired, at);
	CHECK(y.kind == YANK_AT_OFF, "ctrl 3: still armed after firing");

	/* bulk counts bytes, not reads; only its own kind counts */
	y = (struct yank_at){ YANK_AT_BULK, 4096, 0 };
	CHECK(!yank_at_count(&y, YANK_AT_CTRL, 1) && y.seen == 0,
	      "a vendor request counted for a bulk trigger");
	fired = at = 0;
	for (i = 1; i <= 20; i++)
		if (yank_at_count(&y, YANK_AT_BULK, 512)) {
			fired++;
			at = i;
		}
	CHECK(fired == 1 && at == 8, "bulk 4096 in 512-byte packets: fired %d times, at %d",
	      fired, at);
	/* the packet that crosses the mark fires */
	y = (struct yank_at){ YANK_AT_BULK, 1000, 0 };
	CHECK(!yank_at_count(&y, YANK_AT_BULK, 999), "bulk 1000 fired at 999 bytes");
	CHECK(yank_at_count(&y, YANK_AT_BULK, 512), "bulk 1000 did not fire at 1511 bytes");
	y = (struct yank_at){ YANK_AT_OFF, 1, 0 };
	CHECK(!yank_at_count(&y, YANK_AT_CTRL, 1) && !yank_at_count(&y, YANK_AT_BULK, 1) &&
	      !yank_at_count(&y, YANK_AT_OFF, 1), "a disarmed trigger fired");

	/* the command arms afresh, and bad arguments leave it as it was */
	CHECK(!emu_command("yank-at ctrl 2\n") && e.ya.kind == YANK_AT_CTRL && e.ya.at == 2,
	      "yank-at ctrl 2: kind %d at %llu", e.ya.kind, e.ya.at);
	yank_at_count(&e.ya, YANK_AT_CTRL, 1);
	CHECK(!emu_command("yank-at bulk 0x10000") && e.ya.kind == YANK_AT_BULK &&
	      e.ya.at == 65536 && e.ya.seen == 0, "yank-at bulk 0x10000: kind %d at %llu seen %llu",
	      e.ya.kind, e.ya.at, e.ya.seen);
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		CHECK(emu_command(bad[k]) == -EINVAL && e.ya.kind == YANK_AT_BULK &&
		      e.ya.at == 65536, "\"%s\" accepted or changed the trigger", bad[k]);
	CHECK(!emu_command("yank-at off") && e.ya.kind == YANK_AT_OFF, "yank-at off");
}

/* the commands the decoder applied, of every kind */
static uint64_t applied(const struct dld *d)
{
	const struct dld_stats *s = &d->st;

	return s->cmd_reg + s->cmd_60 + s->cmd_61 + s->cmd_62 + s->cmd_63 + s->cmd_68 +
	       s->cmd_69 + s->cmd_6a + s->cmd_6b + s->cmd_a0;
}

/*
 * Without a null channel (no key since power-on, or another key) nothing
 * of the stream applies, registers included (see enum dld_channel), and
 * what was dropped is counted; malformed input still is. A null key
 * brings the same bytes back.
 */
/* ---- the hostile adapter (hostile.c) ---- */

/* A block of 128 EDID bytes read as dlkms reads it: 63 + 63 + 2 (status + data) */
static unsigned int hostile_read_block(struct hostile *h, const struct monitor *m,
				       unsigned int off, uint8_t *blk, bool *ok)
{
	static const unsigned int part[] = { 63, 63, 2 };
	uint8_t buf[64];
	unsigned int i, n, got = 0, replies = 0;

	*ok = true;
	for (i = 0; i < 3; i++) {
		hostile_action(h);
		n = hostile_edid_reply(h, m, off + got, part[i] + 1, buf);
		replies++;
		if (n != part[i] + 1 || buf[0])
			*ok = false;
		memcpy(blk + got, buf + 1, part[i]);
		got += part[i];
	}
	return replies;
}

static unsigned int block_sum(const uint8_t *b)
{
	unsigned int i, s = 0;

	for (i = 0; i < 128; i++)
		s += b[i];
	return s & 0xff;
}

static int hostile_cmd(struct hostile *h, const char *line, const struct monitor *m)
{
	char buf[64], *argv[4] = { 0 }, *save = NULL;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *t = strtok_r(buf, " ", &save); t && argc < 4; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	return hostile_set(h, argc, argv, m);
}

static void test_hostile(void)
{
	static const char *const bad[] = {
		"hostile", "hostile frob", "hostile random", "hostile random -1",
		"hostile random 12x", "hostile bulk-halt 0", "hostile bulk-halt",
		"hostile off 1", "hostile edid-short 3", "hostile random 1 2",
	};
	struct monitor m, other;
	struct hostile h = { .kind = HOSTILE_OFF }, h2;
	uint8_t blk[128], buf[64], buf2[64];
	unsigned int i, k, n, n2, seed, diff;
	unsigned int seen_short = 0, seen_status = 0, seen_stall = 0, seen_silent = 0;
	unsigned int seen_ext255 = 0, seen_unfixed = 0, seen_cea = 0, seen_changed = 0;
	char what[160];
	bool ok;

	monitor_build("vga600", &m);
	monitor_build("dvi1080", &other);
	CHECK(!hostile_cmd(&h, "hostile edid-status", &m) && h.kind == HOSTILE_EDID_STATUS,
	      "edid-status not taken");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(hostile_cmd(&h, bad[i], &m) == -EINVAL && h.kind == HOSTILE_EDID_STATUS,
		      "\"%s\" accepted or changed the mode", bad[i]);

	/* off: the monitor's EDID, whole, status 0 */
	hostile_cmd(&h, "hostile off", &m);
	hostile_read_block(&h, &m, 0, blk, &ok);
	CHECK(ok && !memcmp(blk, m.edid, 128) && hostile_action(&h) == HACT_ANSWER,
	      "off: the EDID is not the monitor's");

	hostile_cmd(&h, "hostile edid-checksum", &m);
	hostile_read_block(&h, &m, 0, blk, &ok);
	CHECK(ok && block_sum(blk) != 0 && !memcmp(blk, m.edid, 127),
	      "edid-checksum: sum %u, the other bytes changed", block_sum(blk));

	hostile_cmd(&h, "hostile edid-ext255", &m);
	hostile_read_block(&h, &m, 0, blk, &ok);
	CHECK(ok && blk[126] == 255 && block_sum(blk) == 0 && !memcmp(blk, m.edid, 126),
	      "edid-ext255: extensions %u, sum %u", blk[126], block_sum(blk));

	hostile_cmd(&h, "hostile edid-short", &m);
	hostile_action(&h);
	n = hostile_edid_reply(&h, &m, 0, 64, buf);
	CHECK(n == 32 && !buf[0] && !memcmp(buf + 1, m.edid, 31), "edid-short: %u bytes", n);

	hostile_cmd(&h, "hostile edid-status", &m);
	hostile_action(&h);
	n = hostile_edid_reply(&h, &m, 0, 19, buf);
	CHECK(n == 19 && buf[0] && !memcmp(buf + 1, m.edid, 18), "edid-status: status %u", buf[0]);

	/* edid-flip: the other monitor on every other request */
	hostile_cmd(&h, "hostile edid-flip", &m);
	hostile_action(&h);
	hostile_edid_reply(&h, &m, 0, 19, buf);
	hostile_action(&h);
	hostile_edid_reply(&h, &m, 0, 19, buf2);
	CHECK(!memcmp(buf + 1, m.edid, 18) && !memcmp(buf2 + 1, other.edid, 18),
	      "edid-flip: not this monitor, then the other");

	hostile_cmd(&h, "hostile ctrl-silent", &m);
	for (i = 0, k = 0; i < 10; i++)
		k += hostile_action(&h) == HACT_SILENT;
	CHECK(k == 10, "ctrl-silent: %u of 10 requests unanswered", k);

	CHECK(!hostile_cmd(&h, "hostile bulk-halt 0x4000", &m) && h.kind == HOSTILE_BULK_HALT &&
	      h.halt_after == 16384, "bulk-halt 0x4000: %llu", h.halt_after);
	hostile_describe(&h, what, sizeof(what));
	CHECK(!strcmp(what, "bulk-halt 16384"), "described as \"%s\"", what);

	/* random: the same seed gives the same replies, request by request */
	for (seed = 0; seed < 200; seed++) {
		snprintf(what, sizeof(what), "hostile random %u", seed);
		hostile_cmd(&h, what, &m);
		h2 = h;
		CHECK(!memcmp(h.edid, h2.edid, 256), "seed %u: two EDIDs", seed);
		seen_ext255 += h.edid[126] == 255;
		seen_unfixed += block_sum(h.edid) != 0;
		seen_cea += h.edid[128] == 2 && h.edid[126] == 1;
		seen_changed += !!memcmp(h.edid, m.edid, 128);
		for (i = 0, diff = 0, k = 0; i < 60; i++) {
			enum hostile_act a = hostile_action(&h), a2 = hostile_action(&h2);

			memset(buf, 0xee, sizeof(buf));
			memset(buf2, 0x11, sizeof(buf2));
			n = hostile_edid_reply(&h, &m, i * 7, 64, buf);
			n2 = hostile_edid_reply(&h2, &m, i * 7, 64, buf2);
			diff += a != a2 || n != n2 || memcmp(buf, buf2, n);
			CHECK(n <= 64, "seed %u: a reply of %u bytes to 64 asked", seed, n);
			seen_short += n < 64;
			seen_status += n == 64 && buf[0];
			seen_stall += a == HACT_STALL;
			seen_silent += a == HACT_SILENT;
			k += a == HACT_SILENT;
		}
		CHECK(!diff, "seed %u: %u replies differ between two runs", seed, diff);
		CHECK(k <= HOSTILE_SILENT_MAX, "seed %u: %u of 60 requests unanswered", seed, k);
	}
	CHECK(seen_short && seen_status && seen_stall && seen_silent,
	      "200 seeds: short %u, status %u, stall %u, silent %u", seen_short, seen_status,
	      seen_stall, seen_silent);
	CHECK(seen_ext255 && seen_unfixed && seen_cea && seen_changed > 100,
	      "200 seeds: ext255 %u, checksum left %u, cea %u, changed %u", seen_ext255,
	      seen_unfixed, seen_cea, seen_changed);
	hostile_cmd(&h, "hostile random 1", &m);
	hostile_cmd(&h2, "hostile random 2", &m);
	for (i = 0, diff = 0; i < 60; i++)
		diff += hostile_action(&h) != hostile_action(&h2);
	CHECK(diff || memcmp(h.edid, h2.edid, 256), "seeds 1 and 2 are the same adapter");

	/* through the control command: set, described, and cleared */
	CHECK(!emu_command("hostile random 42") && e.host.kind == HOSTILE_RANDOM &&
	      e.host.seed == 42, "hostile random 42: kind %d", e.host.kind);
	CHECK(emu_command("hostile random x") == -EINVAL && e.host.seed == 42,
	      "a bad seed changed the mode");
	CHECK(!emu_command("hostile bulk-halt 1000") && e.halt_after == 1000,
	      "bulk-halt 1000: halt_after %llu", e.halt_after);
	CHECK(!emu_command("hostile off") && e.host.kind == HOSTILE_OFF && !e.halt_after,
	      "hostile off");
}

static void test_channel(struct dld *d)
{
	static const uint8_t gfx[] = {
		0xaf, 0x68, 0x00, 0x10, 0x00, 0x01, 0x12, 0x34,		/* raw */
		0xaf, 0x69, 0x00, 0x20, 0x00, 0x02, 0x02, 0x56, 0x78,	/* fill */
		0xaf, 0x6b, 0x00, 0x30, 0x00, 0x02, 0x02, 0x9a, 0xbc, 0xde, 0xf0, /* RLX */
		0xaf, 0x6a, 0x00, 0x40, 0x00, 0x01, 0x00, 0x10, 0x00,	/* copy */
		0xaf, 0xa0, 0xaf, 0xaf, 0xa0,				/* a pad between */
	};
	static const enum dld_channel off[] = { DLD_CHAN_NONE, DLD_CHAN_OTHER };
	struct dld_mode m;
	uint64_t dropped;
	size_t i, k;

	for (k = 0; k < 2; k++) {
		dld_reset(d);
		dld_set_channel(d, off[k]);
		dld_feed(d, dlv_modeset768, sizeof(dlv_modeset768));
		for (i = 0; i < sizeof(gfx); i++)	/* split anywhere: still framed */
			dld_feed(d, gfx + i, 1);
		dld_get_mode(d, &m);
		CHECK(!m.valid && reg_unapplied(d) && !d->st.mode_sets,
		      "channel %d: registers applied (%ux%u)", off[k], m.hdisplay, m.vdisplay);
		CHECK(mem16(d, 0x1000) == 0x5a5a && mem16(d, 0x2000) == 0x5a5a &&
		      mem16(d, 0x3000) == 0x5a5a && mem16(d, 0x4000) == 0x5a5a,
		      "channel %d: pixels reached memory", off[k]);
		CHECK(!applied(d) && !d->st.malformed && d->st.pad_af == 1,
		      "channel %d: %llu applied, %llu malformed, %llu pads", off[k],
		      (unsigned long long)applied(d), (unsigned long long)d->st.malformed,
		      (unsigned long long)d->st.pad_af);
		dropped = d->st.ignored_no_channel;
		dld_feed(d, (const uint8_t *)"\xaf\x55", 2);
		CHECK(d->st.malformed == 1 && d->st.ignored_no_channel == dropped,
		      "channel %d: an unknown opcode counted %llu malformed, %llu dropped",
		      off[k], (unsigned long long)d->st.malformed,
		      (unsigned long long)(d->st.ignored_no_channel - dropped));

		/* the null key: the same bytes apply, one for one with the drops */
		dld_set_channel(d, DLD_CHAN_NULL);
		dld_feed(d, dlv_modeset768, sizeof(dlv_modeset768));
		dld_feed(d, gfx, sizeof(gfx));
		check_mode768(d, "after the null key");
		CHECK(mem16(d, 0x1000) == 0x1234 && mem16(d, 0x2002) == 0x5678 &&
		      mem16(d, 0x3002) == 0xdef0 && mem16(d, 0x4000) == 0x1234,
		      "null key: pixels %04x %04x %04x %04x", mem16(d, 0x1000),
		      mem16(d, 0x2002), mem16(d, 0x3002), mem16(d, 0x4000));
		CHECK(applied(d) == dropped && d->st.ignored_no_channel == dropped,
		      "null key: %llu applied where %llu were dropped",
		      (unsigned long long)applied(d), (unsigned long long)dropped);
	}

	/* a command cut short by a disconnect is not joined to the next stream */
	dld_reset(d);
	dld_feed(d, gfx + 8, 5);
	dld_stream_cut(d);
	dld_feed(d, gfx, 8);
	CHECK(!d->st.malformed && d->st.cmd_68 == 1 && mem16(d, 0x1000) == 0x1234,
	      "after a cut: %llu malformed, %llu raw writes",
	      (unsigned long long)d->st.malformed, (unsigned long long)d->st.cmd_68);
}

/* dlemu's key check, its counters kept for the suites' end check, and replug */
static void test_key(void)
{
	uint8_t key[16];
	char *body = NULL;
	size_t blen = 0;
	FILE *f;

	CHECK(key_channel(std_key) == DLD_CHAN_NULL, "the standard key is not null");
	CHECK(key_channel(null_key2) == DLD_CHAN_NULL, "zerokvm's second null key is not null");
	memcpy(key, std_key, 16);
	key[15] ^= 1;
	CHECK(key_channel(key) == DLD_CHAN_OTHER, "a key one bit off the standard one is null");
	memset(key, 0, 16);
	CHECK(key_channel(key) == DLD_CHAN_OTHER, "an all-zero key is null");

	/* reset-stats zeroes the counters, not what the end check reads */
	memset(&e.dec.st, 0, sizeof(e.dec.st));
	memset(&e.before, 0, sizeof(e.before));
	e.dec.st.malformed = 2;
	e.dec.st.ignored_no_channel = 5;
	e.dec.st.copy_overlap = 4;
	e.cs.key_bad = 1;
	CHECK(!emu_command("reset-stats") && !e.dec.st.malformed && !e.cs.key_bad,
	      "reset-stats");
	e.dec.st.malformed = 1;
	f = open_memstream(&body, &blen);
	stats_print(f);
	fclose(f);
	CHECK(body && strstr(body, "\nmalformed 1\n") && strstr(body, "\ntotal_malformed 3\n") &&
	      strstr(body, "\ntotal_ignored_no_channel 5\n") &&
	      strstr(body, "\ntotal_ctrl_key_bad 1\n") && strstr(body, "\nignored_no_channel 0\n") &&
	      strstr(body, "\ncopy_overlap 0\n") && strstr(body, "\ntotal_copy_overlap 4\n"),
	      "stats after reset-stats:\n%s", body ? body : "");
	free(body);
}

int main(void)
{
	static struct dld d;

	if (dld_init(&d))
		return 1;
	test_references();
	test_lfsr();
	test_modeset(&d);
	test_stream_vectors(&d);
	test_other_commands(&d);
	test_copy(&d);
	test_roundtrip(&d, 2);
	test_roundtrip(&d, 1);
	test_24bpp(&d);
	test_malformed(&d);
	test_monitors();
	test_png();
	test_yank_at();
	test_hostile();
	test_channel(&d);
	test_key();
	dld_fini(&d);
	printf("test_emu: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
