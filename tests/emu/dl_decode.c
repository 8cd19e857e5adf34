// SPDX-License-Identifier: GPL-2.0-only
/*
 * Device side of the DL-1x5 bulk stream (docs/protocol.md 3-5): commands
 * start with 0xAF, may span bulk transfers, and are applied to 16 MiB of
 * video memory and a register file latched by register 0xFF.
 *
 * Malformed input is counted and skipped up to the next 0xAF; nothing in
 * the stream can make the decoder read or write outside its buffers.
 */
#include <stdlib.h>
#include <string.h>

#include "dl_decode.h"

#define NEED_MORE	0
#define MALFORMED	(-1)

static uint16_t lfsr_tab[65536];
static bool lfsr_ready;

static void lfsr_init(void)
{
	uint32_t v = 0xffff, i;

	if (lfsr_ready)
		return;
	for (i = 0; i < 65536; i++)
		lfsr_tab[i] = 0xffff;	/* 0x0000 is never reached */
	for (i = 0; i < 65535; i++) {
		lfsr_tab[v] = i;
		v = ((v << 1) | (((v >> 15) ^ (v >> 4) ^ (v >> 2) ^ (v >> 1)) & 1)) & 0xffff;
	}
	lfsr_ready = true;
}

int dld_lfsr_steps(uint16_t v)
{
	lfsr_init();
	return lfsr_tab[v] == 0xffff ? -1 : lfsr_tab[v];
}

int dld_init(struct dld *d)
{
	memset(d, 0, sizeof(*d));
	lfsr_init();
	d->mem = malloc(DLD_MEM_SIZE);
	if (!d->mem)
		return -1;
	dld_reset(d);
	return 0;
}

void dld_fini(struct dld *d)
{
	free(d->mem);
	d->mem = NULL;
}

void dld_set_channel(struct dld *d, enum dld_channel chan)
{
	d->chan = chan;
}

void dld_stream_cut(struct dld *d)
{
	d->ncarry = 0;
	d->resync = false;
}

void dld_reset(struct dld *d)
{
	uint8_t *mem = d->mem;

	memset(d, 0, sizeof(*d));
	d->mem = mem;
	memset(d->mem, DLD_FILL, DLD_MEM_SIZE);
}

static inline uint32_t addr24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* A count byte of 0 means 256. */
static inline unsigned int count256(uint8_t c)
{
	return c ? c : 256;
}

static inline void put8(struct dld *d, uint32_t a, uint8_t v)
{
	d->mem[a & DLD_MEM_MASK] = v;
}

/* 16-bit pixels are stored as they come on the wire: big-endian. */
static inline void put16(struct dld *d, uint32_t a, const uint8_t *px)
{
	d->mem[a & DLD_MEM_MASK] = px[0];
	d->mem[(a + 1) & DLD_MEM_MASK] = px[1];
}

static void write_reg(struct dld *d, uint8_t reg, uint8_t val)
{
	unsigned int i;

	d->st.cmd_reg++;
	if (reg == 0xff) {
		if (!val) {
			d->hold = true;
			return;
		}
		for (i = 0; i < 256; i++) {
			if (d->held_mask[i])
				d->regs[i] = d->held[i];
			d->held_mask[i] = false;
		}
		d->hold = false;
		d->st.mode_sets++;
		return;
	}
	if (d->hold) {
		d->held[reg] = val;
		d->held_mask[reg] = true;
	} else {
		d->regs[reg] = val;
	}
}

/*
 * RLX (0x63 / 0x6B): N pixels as spans of R raw pixels, each followed, while
 * pixels are missing, by K repeats of the span's last pixel. Scans the
 * command's length; with @exec also applies it. @bpp is bytes per pixel.
 */
static int rlx(struct dld *d, const uint8_t *p, size_t n, unsigned int bpp,
	       bool exec)
{
	uint32_t a;
	unsigned int left, r, k, i;
	size_t pos = 6;
	const uint8_t *last;

	if (n < 6)
		return NEED_MORE;
	a = addr24(p + 2);
	left = count256(p[5]);
	for (;;) {
		if (n < pos + 1)
			return NEED_MORE;
		r = count256(p[pos++]);
		if (r > left)
			return MALFORMED;
		if (n < pos + (size_t)r * bpp)
			return NEED_MORE;
		for (i = 0; exec && i < r; i++, a += bpp) {
			if (bpp == 2)
				put16(d, a, p + pos + 2 * i);
			else
				put8(d, a, p[pos + i]);
		}
		pos += (size_t)r * bpp;
		last = p + pos - bpp;
		left -= r;
		if (!left)
			break;
		if (n < pos + 1)
			return NEED_MORE;
		k = p[pos++];
		if (k > left)
			return MALFORMED;
		for (i = 0; exec && i < k; i++, a += bpp) {
			if (bpp == 2)
				put16(d, a, last);
			else
				put8(d, a, *last);
		}
		left -= k;
		if (!left)
			break;
	}
	return pos;
}

/* RL fill (0x61 / 0x69): runs of (count, pixel) until the total is reached. */
static int rl(struct dld *d, const uint8_t *p, size_t n, unsigned int bpp,
	      bool exec)
{
	uint32_t a;
	unsigned int left, c, i;
	size_t pos = 6;

	if (n < 6)
		return NEED_MORE;
	a = addr24(p + 2);
	left = count256(p[5]);
	while (left) {
		if (n < pos + 1 + bpp)
			return NEED_MORE;
		c = count256(p[pos]);
		if (c > left)
			return MALFORMED;
		for (i = 0; exec && i < c; i++, a += bpp) {
			if (bpp == 2)
				put16(d, a, p + pos + 1);
			else
				put8(d, a, p[pos + 1]);
		}
		pos += 1 + bpp;
		left -= c;
	}
	return pos;
}

static int raw(struct dld *d, const uint8_t *p, size_t n, unsigned int bpp,
	       bool exec)
{
	uint32_t a;
	unsigned int cnt, i;

	if (n < 6)
		return NEED_MORE;
	cnt = count256(p[5]);
	if (n < 6 + (size_t)cnt * bpp)
		return NEED_MORE;
	a = addr24(p + 2);
	for (i = 0; exec && i < cnt; i++, a += bpp) {
		if (bpp == 2)
			put16(d, a, p + 6 + 2 * i);
		else
			put8(d, a, p[6 + i]);
	}
	return 6 + cnt * bpp;
}

/*
 * Copy (0x62 / 0x6A): destination first, then count, then source; both are
 * byte ranges of count * @bpp bytes that wrap at 16 MiB. Ranges that do not
 * overlap give the same result in any copy order. Overlapping ones are
 * undefined on hardware (docs/protocol.md 4.2): they are counted in
 * copy_overlap, which fails the suites, and their destination is filled
 * with DLD_POISON, the same whatever order a device might copy in, so a
 * round trip that relied on one also shows wrong pixels. The same range
 * (src == dst, the kick of section 3) copies nothing onto itself: a no-op.
 */
static int copy(struct dld *d, const uint8_t *p, size_t n, unsigned int bpp,
		bool exec)
{
	uint32_t dst, src, i, bytes, up;

	if (n < 9)
		return NEED_MORE;
	if (!exec)
		return 9;
	dst = addr24(p + 2);
	src = addr24(p + 6);
	bytes = count256(p[5]) * bpp;
	/* how far above the source the destination starts, going round */
	up = (dst - src) & DLD_MEM_MASK;
	if (!up)
		return 9;
	if (up < bytes || DLD_MEM_SIZE - up < bytes) {
		d->st.copy_overlap++;
		for (i = 0; i < bytes; i++)
			d->mem[(dst + i) & DLD_MEM_MASK] = DLD_POISON;
		return 9;
	}
	for (i = 0; i < bytes; i++)
		d->mem[(dst + i) & DLD_MEM_MASK] = d->mem[(src + i) & DLD_MEM_MASK];
	return 9;
}

/* Length of the command at @p (0: incomplete, <0: malformed); @exec applies it. */
static int command(struct dld *d, const uint8_t *p, size_t n, bool exec)
{
	switch (p[1]) {
	case 0x20:
		if (n < 4)
			return NEED_MORE;
		if (exec)
			write_reg(d, p[2], p[3]);
		return 4;
	case 0x60:
		return raw(d, p, n, 1, exec);
	case 0x61:
		return rl(d, p, n, 1, exec);
	case 0x62:
		return copy(d, p, n, 1, exec);
	case 0x63:
		return rlx(d, p, n, 1, exec);
	case 0x68:
		return raw(d, p, n, 2, exec);
	case 0x69:
		return rl(d, p, n, 2, exec);
	case 0x6a:
		return copy(d, p, n, 2, exec);
	case 0x6b:
		return rlx(d, p, n, 2, exec);
	case 0xa0:
		return 2;
	default:
		return MALFORMED;
	}
}

static void count(struct dld *d, uint8_t op)
{
	switch (op) {
	case 0x60: d->st.cmd_60++; break;
	case 0x61: d->st.cmd_61++; break;
	case 0x62: d->st.cmd_62++; break;
	case 0x63: d->st.cmd_63++; break;
	case 0x68: d->st.cmd_68++; break;
	case 0x69: d->st.cmd_69++; break;
	case 0x6a: d->st.cmd_6a++; break;
	case 0x6b: d->st.cmd_6b++; break;
	case 0xa0: d->st.cmd_a0++; break;
	}
}

/* Consume one unit at @p: a command, a pad byte or a skipped byte; 0 = need more. */
static size_t step(struct dld *d, const uint8_t *p, size_t n)
{
	int len;

	if (d->resync) {
		if (p[0] != 0xaf)
			return 1;
		d->resync = false;
	}
	if (p[0] != 0xaf) {
		d->st.malformed++;
		d->resync = true;
		return 1;
	}
	if (n < 2)
		return 0;
	if (p[1] == 0xaf) {
		/* padding: udl fills URB tails and ends clips with 0xAF */
		d->st.pad_af++;
		return 1;
	}
	len = command(d, p, n, false);
	if (len == NEED_MORE)
		return 0;
	if (len < 0 || len > DLD_MAX_CMD) {
		d->st.malformed++;
		d->resync = true;
		return 1;
	}
	if (d->chan != DLD_CHAN_NULL) {
		/* framed but not applied: see enum dld_channel */
		d->st.ignored_no_channel++;
		return len;
	}
	command(d, p, n, true);
	count(d, p[1]);
	return len;
}

void dld_feed(struct dld *d, const uint8_t *p, size_t n)
{
	size_t r, take, have;

	d->st.bytes += n;
	d->st.transfers++;
	while (n) {
		if (d->ncarry) {
			/* finish the command that straddled the last chunk */
			take = n < DLD_MAX_CMD - d->ncarry ? n : DLD_MAX_CMD - d->ncarry;
			memcpy(d->carry + d->ncarry, p, take);
			have = d->ncarry + take;
			r = step(d, d->carry, have);
			if (!r) {
				if (have == DLD_MAX_CMD) {
					/* cannot complete: unreachable for bounded commands */
					d->st.malformed++;
					d->resync = true;
					r = 1;
				} else {
					d->ncarry = have;
					return;
				}
			}
			if (r <= d->ncarry) {
				memmove(d->carry, d->carry + r, d->ncarry - r);
				d->ncarry -= r;
				continue;
			}
			p += r - d->ncarry;
			n -= r - d->ncarry;
			d->ncarry = 0;
			continue;
		}
		r = step(d, p, n);
		if (!r) {
			/* n < DLD_MAX_CMD here: longer input is complete or malformed */
			memcpy(d->carry, p, n);
			d->ncarry = n;
			return;
		}
		p += r;
		n -= r;
	}
}

static unsigned int reg16(const struct dld *d, unsigned int r)
{
	return (unsigned int)d->regs[r] << 8 | d->regs[r + 1];
}

static unsigned int lfsr_reg(const struct dld *d, unsigned int r)
{
	int s = dld_lfsr_steps(reg16(d, r));

	return s < 0 ? 0 : s;
}

static uint32_t reg24(const struct dld *d, unsigned int r)
{
	return addr24(d->regs + r);
}

static unsigned int absdiff(unsigned int a, unsigned int b)
{
	return a > b ? a - b : b - a;
}

void dld_get_mode(const struct dld *d, struct dld_mode *m)
{
	unsigned int xds, yds;
	uint64_t tot;

	memset(m, 0, sizeof(*m));
	m->hdisplay = reg16(d, 0x0f);
	m->vdisplay = reg16(d, 0x17);
	if (!m->hdisplay || !m->vdisplay)
		return;
	m->valid = true;
	xds = lfsr_reg(d, 0x01);
	yds = lfsr_reg(d, 0x05);
	m->htotal = lfsr_reg(d, 0x09) + 1;
	m->vtotal = lfsr_reg(d, 0x11);
	m->hsync_start = m->htotal - xds;
	m->hsync_end = m->hsync_start + absdiff(lfsr_reg(d, 0x0d), lfsr_reg(d, 0x0b));
	m->vsync_start = m->vtotal - yds;
	m->vsync_end = m->vsync_start + absdiff(lfsr_reg(d, 0x15), lfsr_reg(d, 0x13));
	m->clock_khz = (d->regs[0x1b] | (unsigned int)d->regs[0x1c] << 8) * 5;
	tot = (uint64_t)m->htotal * m->vtotal;
	m->refresh_mhz = tot ? (unsigned int)((uint64_t)m->clock_khz * 1000000 / tot) : 0;
	m->bpp = (d->regs[0x00] & 1) ? 24 : 16;
	m->blank = d->regs[0x1f];
	m->base16 = reg24(d, 0x20);
	m->base8 = reg24(d, 0x26);
	/* unwritten (zero) strides default to the line length, as udl assumes */
	m->stride16 = reg24(d, 0x23) ? reg24(d, 0x23) : m->hdisplay * 2;
	m->stride8 = reg24(d, 0x29) ? reg24(d, 0x29) : m->hdisplay;
}

void dld_render(const struct dld *d, const struct dld_mode *m, uint32_t *out)
{
	unsigned int x, y;
	uint32_t a16, a8, v, r, g, b, lo;

	for (y = 0; y < m->vdisplay; y++) {
		a16 = m->base16 + y * m->stride16;
		a8 = m->base8 + y * m->stride8;
		for (x = 0; x < m->hdisplay; x++, a16 += 2, a8++) {
			v = (uint32_t)d->mem[a16 & DLD_MEM_MASK] << 8 |
			    d->mem[(a16 + 1) & DLD_MEM_MASK];
			r = (v >> 11) << 3;
			g = ((v >> 5) & 0x3f) << 2;
			b = (v & 0x1f) << 3;
			if (m->bpp == 24) {
				lo = d->mem[a8 & DLD_MEM_MASK];
				r |= lo >> 5;
				g |= (lo >> 3) & 3;
				b |= lo & 7;
			}
			*out++ = r << 16 | g << 8 | b;
		}
	}
}
