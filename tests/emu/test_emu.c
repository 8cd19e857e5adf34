// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the emulator's decoder and monitors, and of the driver's
 * encoder through it: protocol.md's vectors, encode -> decode round trips
 * split at every boundary, 24-bpp reconstruction, and malformed input;
 * and the emulator's yank-at trigger and its control command.
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
#include "dlkms_proto.h"
#include "edid.h"
#include "png.h"

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

static void test_lfsr(void)
{
	unsigned int n;
	int bad = 0;

	for (n = 0; n < 65535; n += 7)
		if (dld_lfsr_steps(dl_lfsr16(n)) != (int)n)
			bad++;
	CHECK(!bad, "%d LFSR values do not invert", bad);
	CHECK(dld_lfsr_steps(0) == -1, "0x0000 is not an LFSR state");
}

/* protocol.md 4.3: udl's 1024x768@60 modeset URB */
static const uint8_t modeset768[] = {
	0xaf, 0x20, 0xff, 0x00, 0xaf, 0x20, 0x00, 0x00, 0xaf, 0x20, 0x20, 0x00,
	0xaf, 0x20, 0x21, 0x00, 0xaf, 0x20, 0x22, 0x00, 0xaf, 0x20, 0x26, 0x18,
	0xaf, 0x20, 0x27, 0x00, 0xaf, 0x20, 0x28, 0x00, 0xaf, 0x20, 0x01, 0x6c,
	0xaf, 0x20, 0x02, 0x31, 0xaf, 0x20, 0x03, 0xaa, 0xaf, 0x20, 0x04, 0x20,
	0xaf, 0x20, 0x05, 0x60, 0xaf, 0x20, 0x06, 0xa9, 0xaf, 0x20, 0x07, 0x7b,
	0xaf, 0x20, 0x08, 0x33, 0xaf, 0x20, 0x09, 0xa1, 0xaf, 0x20, 0x0a, 0x2b,
	0xaf, 0x20, 0x0b, 0xff, 0xaf, 0x20, 0x0c, 0xfe, 0xaf, 0x20, 0x0d, 0x4e,
	0xaf, 0x20, 0x0e, 0x64, 0xaf, 0x20, 0x0f, 0x04, 0xaf, 0x20, 0x10, 0x00,
	0xaf, 0x20, 0x11, 0xd9, 0xaf, 0x20, 0x12, 0x9a, 0xaf, 0x20, 0x13, 0xff,
	0xaf, 0x20, 0x14, 0xff, 0xaf, 0x20, 0x15, 0xff, 0xaf, 0x20, 0x16, 0xca,
	0xaf, 0x20, 0x17, 0x03, 0xaf, 0x20, 0x18, 0x00, 0xaf, 0x20, 0x1b, 0xc8,
	0xaf, 0x20, 0x1c, 0x32, 0xaf, 0x20, 0x1f, 0x00, 0xaf, 0x20, 0xff, 0xff,
	0xaf, 0x6a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
};

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

static void test_modeset(struct dld *d)
{
	static const struct dl_timings t = {
		1024, 1048, 1184, 1344, 768, 771, 777, 806, 65000
	};
	uint8_t buf[DL_MODESET_MAX_BYTES];
	size_t n, i;

	dld_reset(d);
	dld_feed(d, modeset768, sizeof(modeset768));
	check_mode768(d, "vector");
	CHECK(d->st.mode_sets == 1 && d->st.cmd_6a == 1 && d->st.malformed == 0 &&
	      d->st.cmd_reg == 36, "stats: sets %llu 6a %llu bad %llu reg %llu",
	      (unsigned long long)d->st.mode_sets, (unsigned long long)d->st.cmd_6a,
	      (unsigned long long)d->st.malformed, (unsigned long long)d->st.cmd_reg);

	/* the driver's encoder makes the same bytes (base8 as udl: 2*w*h) */
	n = dl_enc_modeset(buf, &t, false, 0, 2 * 1024 * 768);
	CHECK(n == sizeof(modeset768) && !memcmp(buf, modeset768, n),
	      "dl_enc_modeset differs from the udl vector (%zu bytes)", n);

	/* held registers do not apply before FF=FF, even split byte by byte */
	dld_reset(d);
	for (i = 0; i + 9 + 4 < sizeof(modeset768); i++)
		dld_feed(d, modeset768 + i, 1);
	CHECK(reg_unapplied(d), "registers applied before FF=FF");
	for (; i < sizeof(modeset768); i++)
		dld_feed(d, modeset768 + i, 1);
	check_mode768(d, "byte by byte");
}

/* protocol.md 3.3's RLX vectors */
static void test_rlx_vectors(struct dld *d)
{
	static const uint8_t v1[] = {
		0xaf, 0x6b, 0x00, 0x08, 0x04, 0x06, 0x02, 0x12, 0x34, 0xf8, 0x00,
		0x02, 0x02, 0x07, 0xe0, 0x00, 0x1f
	};
	static const uint16_t p1[] = { 0x1234, 0xf800, 0xf800, 0xf800, 0x07e0, 0x001f };
	static const uint8_t v2[] = { 0xaf, 0x6b, 0, 0, 0, 0x00, 0x01, 0xaa, 0xaa, 0xff };
	static const uint8_t v3[] = {
		0xaf, 0x6b, 0, 0, 0, 0x04, 0x01, 0x00, 0x01, 0x01, 0x02, 0x00, 0x02,
		0x00, 0x03
	};
	static const uint16_t p3[] = { 1, 1, 2, 3 };
	uint8_t buf[64];
	unsigned int i, done;
	int bad = 0;
	size_t n;

	dld_reset(d);
	dld_feed(d, v1, sizeof(v1));
	for (i = 0; i < 6; i++)
		if (mem16(d, 0x804 + 2 * i) != p1[i])
			bad++;
	CHECK(!bad && mem16(d, 0x804 + 12) == 0x5a5a && mem16(d, 0x802) == 0x5a5a,
	      "vector 1: %d pixels wrong or neighbours touched", bad);
	n = dl_enc_rlx16(buf, sizeof(buf), 0x804, p1, 6, &done);
	CHECK(n == sizeof(v1) && done == 6 && !memcmp(buf, v1, n), "encoder vs vector 1");

	dld_reset(d);
	dld_feed(d, v2, sizeof(v2));
	for (i = 0, bad = 0; i < 256; i++)
		if (mem16(d, 2 * i) != 0xaaaa)
			bad++;
	CHECK(!bad && mem16(d, 512) == 0x5a5a, "vector 2: %d wrong", bad);

	dld_reset(d);
	dld_feed(d, v3, sizeof(v3));
	for (i = 0, bad = 0; i < 4; i++)
		if (mem16(d, 2 * i) != p3[i])
			bad++;
	CHECK(!bad, "vector 3: %d wrong", bad);
	n = dl_enc_rlx16(buf, sizeof(buf), 0, p3, 4, &done);
	CHECK(n == sizeof(v3) && !memcmp(buf, v3, n), "encoder vs vector 3");
	CHECK(d->st.malformed == 0 && d->st.cmd_6b == 1, "vector stats");
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

/*
 * Random scanlines with runs, encoded by the driver's encoder into random
 * buffer sizes (URB tails padded with 0xAF as udl does), fed to the decoder
 * in random chunks: the device memory must hold exactly the pixels.
 */
static void test_roundtrip(struct dld *d, bool eight)
{
	enum { W = 1000, ROWS = 40, BUF = 70000 };
	static uint16_t px[W];
	static uint8_t px8[W], stream[BUF * 4];
	size_t sl = 0, room, n, off, c;
	unsigned int row, i, done, x, bad = 0;
	uint32_t base = 0x123456 & ~1u;

	dld_reset(d);
	for (row = 0; row < ROWS; row++) {
		for (i = 0; i < W; i++) {
			if (i && rnd() % 4 == 0) {
				px[i] = px[i - 1];
				px8[i] = px8[i - 1];
			} else {
				px[i] = rnd();
				px8[i] = rnd();
			}
		}
		sl = 0;
		for (x = 0; x < W; x += done) {
			room = DL_RLX_MIN_BYTES + rnd() % 900;
			if (eight)
				n = dl_enc_rlx8(stream + sl, room, base + row * W + x, px8 + x,
						W - x, &done);
			else
				n = dl_enc_rlx16(stream + sl, room, base + row * 2 * W + 2 * x,
						 px + x, W - x, &done);
			CHECK(done > 0 && n <= room, "no progress in %zu bytes", room);
			if (!done)
				return;
			sl += n;
			if (rnd() % 3 == 0)
				stream[sl++] = 0xaf;	/* clip-end / tail padding */
		}
		for (off = 0; off < sl; off += c) {
			c = 1 + rnd() % (rnd() % 2 ? 7 : 3000);
			if (c > sl - off)
				c = sl - off;
			dld_feed(d, stream + off, c);
		}
		for (i = 0; i < W; i++) {
			if (eight ? d->mem[(base + row * W + i) & DLD_MEM_MASK] != px8[i]
				  : mem16(d, base + row * 2 * W + 2 * i) != px[i])
				bad++;
		}
	}
	CHECK(!bad, "%s round trip: %u pixels wrong", eight ? "rlx8" : "rlx16", bad);
	CHECK(d->st.malformed == 0, "round trip produced %llu malformed",
	      (unsigned long long)d->st.malformed);
}

/* 24 bpp: the 16-bit plane's RGB565 plus the 8-bit plane's low bits. */
static void test_24bpp(struct dld *d)
{
	static const struct dl_timings t = { 4, 5, 6, 8, 2, 3, 4, 5, 25000 };
	uint32_t src[8], out[8];
	uint16_t p16[4];
	uint8_t p8[4], buf[512];
	struct dld_mode m;
	unsigned int i, row, done, bad = 0;
	size_t n;

	dld_reset(d);
	n = dl_enc_modeset(buf, &t, true, 0, 0x1000);
	dld_feed(d, buf, n);
	for (i = 0; i < 8; i++)
		src[i] = rnd() & 0xffffff;
	for (row = 0; row < 2; row++) {
		for (i = 0; i < 4; i++) {
			p16[i] = dl_xrgb_to_565(src[row * 4 + i]);
			p8[i] = dl_xrgb_to_low8(src[row * 4 + i]);
		}
		n = dl_enc_rlx16(buf, sizeof(buf), row * 8, p16, 4, &done);
		n += dl_enc_rlx8(buf + n, sizeof(buf) - n, 0x1000 + row * 4, p8, 4, &done);
		dld_feed(d, buf, n);
	}
	dld_get_mode(d, &m);
	CHECK(m.valid && m.bpp == 24 && m.hdisplay == 4 && m.vdisplay == 2 &&
	      m.base8 == 0x1000, "24 bpp mode: bpp %u %ux%u base8 %u", m.bpp,
	      m.hdisplay, m.vdisplay, m.base8);
	dld_render(d, &m, out);
	for (i = 0; i < 8; i++)
		if (out[i] != src[i])
			bad++;
	CHECK(!bad, "24 bpp: %u pixels not reconstructed exactly", bad);
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
		dld_feed(d, modeset768, sizeof(modeset768));
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
		dld_feed(d, modeset768, sizeof(modeset768));
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
	e.cs.key_bad = 1;
	CHECK(!emu_command("reset-stats") && !e.dec.st.malformed && !e.cs.key_bad,
	      "reset-stats");
	e.dec.st.malformed = 1;
	f = open_memstream(&body, &blen);
	stats_print(f);
	fclose(f);
	CHECK(body && strstr(body, "\nmalformed 1\n") && strstr(body, "\ntotal_malformed 3\n") &&
	      strstr(body, "\ntotal_ignored_no_channel 5\n") &&
	      strstr(body, "\ntotal_ctrl_key_bad 1\n") && strstr(body, "\nignored_no_channel 0\n"),
	      "stats after reset-stats:\n%s", body ? body : "");
	free(body);
}

int main(void)
{
	static struct dld d;

	if (dld_init(&d))
		return 1;
	test_lfsr();
	test_modeset(&d);
	test_rlx_vectors(&d);
	test_other_commands(&d);
	test_roundtrip(&d, false);
	test_roundtrip(&d, true);
	test_24bpp(&d);
	test_malformed(&d);
	test_monitors();
	test_png();
	test_yank_at();
	test_channel(&d);
	test_key();
	dld_fini(&d);
	printf("test_emu: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
