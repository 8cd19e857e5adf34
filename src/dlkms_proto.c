// SPDX-License-Identifier: GPL-2.0-only
/*
 * DisplayLink DL-1x0/DL-1x5 bulk command encoder (see dlkms_proto.h).
 *
 * Copyright (C) 2026 dlkms developers
 */

#include "dlkms_proto.h"

/*
 * The timing registers are loaded into hardware counters that are LFSRs, so
 * a count n is programmed as the LFSR state after n steps from 0xffff.
 */
u16 dl_lfsr16(u16 count)
{
	u32 v = 0xffff;

	while (count--)
		v = ((v << 1) | (((v >> 15) ^ (v >> 4) ^ (v >> 2) ^ (v >> 1)) & 1)) & 0xffff;

	return v;
}

static void put_be24(u8 *p, u32 v)
{
	p[0] = v >> 16;
	p[1] = v >> 8;
	p[2] = v;
}

size_t dl_enc_reg(u8 *buf, u8 reg, u8 val)
{
	buf[0] = DL_CMD_START;
	buf[1] = DL_CMD_REG;
	buf[2] = reg;
	buf[3] = val;
	return 4;
}

/* a 16-bit register pair, most significant byte at the lower register */
static size_t enc_reg16_be(u8 *buf, u8 reg, u16 val)
{
	size_t n = dl_enc_reg(buf, reg, val >> 8);

	return n + dl_enc_reg(buf + n, reg + 1, val & 0xff);
}

static size_t enc_reg24_be(u8 *buf, u8 reg, u32 val)
{
	size_t n = dl_enc_reg(buf, reg, (val >> 16) & 0xff);

	n += dl_enc_reg(buf + n, reg + 1, (val >> 8) & 0xff);
	return n + dl_enc_reg(buf + n, reg + 2, val & 0xff);
}

static size_t enc_copy(u8 *buf, u8 op, u32 dst, u32 src, unsigned int npx)
{
	buf[0] = DL_CMD_START;
	buf[1] = op;
	put_be24(buf + 2, dst);
	buf[5] = npx & 0xff;	/* 256 is sent as 0 */
	put_be24(buf + 6, src);
	return DL_COPY_BYTES;
}

size_t dl_enc_copy16(u8 *buf, u32 dst, u32 src, unsigned int npx)
{
	return enc_copy(buf, DL_CMD_COPY16, dst, src, npx);
}

size_t dl_enc_copy8(u8 *buf, u32 dst, u32 src, unsigned int npx)
{
	return enc_copy(buf, DL_CMD_COPY8, dst, src, npx);
}

/*
 * A one-pixel copy onto itself. Register batches take effect on the device
 * only once a drawing command follows (udl and udlfb rely on the same).
 */
static size_t enc_kick(u8 *buf)
{
	return dl_enc_copy16(buf, 0, 0, 1);
}

/*
 * Program a mode. The sync pulses are placed as the in-tree driver places
 * them (horizontal sync from 1 to its width + 1, vertical from 0 to its
 * width, display start counted back from the total), which is known to
 * work on real adapters; polarity is not encoded.
 */
size_t dl_enc_modeset(u8 *buf, const struct dl_timings *t, bool bpp24,
		      u32 base16, u32 base8)
{
	u16 xds = t->htotal - t->hsync_start;
	u16 yds = t->vtotal - t->vsync_start;
	size_t n = 0;

	n += dl_enc_reg(buf + n, DL_REG_SYNC, 0x00);
	n += dl_enc_reg(buf + n, DL_REG_COLORDEPTH, bpp24 ? 1 : 0);
	n += enc_reg24_be(buf + n, DL_REG_BASE16, base16);
	n += enc_reg24_be(buf + n, DL_REG_BASE8, base8);
	n += enc_reg16_be(buf + n, DL_REG_XDISPLAYSTART, dl_lfsr16(xds));
	n += enc_reg16_be(buf + n, DL_REG_XDISPLAYEND, dl_lfsr16(xds + t->hdisplay));
	n += enc_reg16_be(buf + n, DL_REG_YDISPLAYSTART, dl_lfsr16(yds));
	n += enc_reg16_be(buf + n, DL_REG_YDISPLAYEND, dl_lfsr16(yds + t->vdisplay));
	n += enc_reg16_be(buf + n, DL_REG_XENDCOUNT, dl_lfsr16(t->htotal - 1));
	n += enc_reg16_be(buf + n, DL_REG_HSYNCSTART, dl_lfsr16(1));
	n += enc_reg16_be(buf + n, DL_REG_HSYNCEND,
			  dl_lfsr16(t->hsync_end - t->hsync_start + 1));
	n += enc_reg16_be(buf + n, DL_REG_HPIXELS, t->hdisplay);
	n += enc_reg16_be(buf + n, DL_REG_YENDCOUNT, dl_lfsr16(t->vtotal));
	n += enc_reg16_be(buf + n, DL_REG_VSYNCSTART, dl_lfsr16(0));
	n += enc_reg16_be(buf + n, DL_REG_VSYNCEND,
			  dl_lfsr16(t->vsync_end - t->vsync_start));
	n += enc_reg16_be(buf + n, DL_REG_VPIXELS, t->vdisplay);
	/* the pixel clock is little-endian, in units of 5 kHz */
	n += dl_enc_reg(buf + n, DL_REG_PIXELCLOCK5K, (t->clock_khz / 5) & 0xff);
	n += dl_enc_reg(buf + n, DL_REG_PIXELCLOCK5K + 1, ((t->clock_khz / 5) >> 8) & 0xff);
	n += dl_enc_reg(buf + n, DL_REG_BLANKMODE, DL_BLANK_ON);
	n += dl_enc_reg(buf + n, DL_REG_SYNC, 0xff);
	n += enc_kick(buf + n);
	return n;
}

size_t dl_enc_blank(u8 *buf, u8 blank_mode)
{
	size_t n = 0;

	n += dl_enc_reg(buf + n, DL_REG_SYNC, 0x00);
	n += dl_enc_reg(buf + n, DL_REG_BLANKMODE, blank_mode);
	n += dl_enc_reg(buf + n, DL_REG_SYNC, 0xff);
	n += enc_kick(buf + n);
	return n;
}

/*
 * RLX: a command covers up to 256 pixels as spans of raw pixels, each
 * followed by a count of further repeats of its last pixel. A raw span is
 * closed where a pixel equals the one before it. The pixel count in the
 * header and a span's raw count are written once known, so a command can be
 * cut short wherever the buffer ends and stays well-formed.
 */
static __always_inline u32 px_at(const void *px, unsigned int bpp, unsigned int i)
{
	return bpp == 2 ? ((const u16 *)px)[i] : ((const u8 *)px)[i];
}

/* big-endian on the wire, one store (not one a byte) */
static __always_inline void px_put(u8 *p, unsigned int bpp, u32 v)
{
	u16 be;

	if (bpp == 1) {
		*p = v;
		return;
	}
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	be = v;
#else
	be = __builtin_bswap16(v);
#endif
	__builtin_memcpy(p, &be, sizeof(be));
}

/* inlined into each caller, so the pixel size is a constant in the hot loop */
static __always_inline size_t enc_rlx(u8 *buf, size_t len, u8 op, unsigned int bpp,
				      u32 addr, const void *px, unsigned int npx,
				      unsigned int *done)
{
	unsigned int i = 0;
	size_t pos = 0;

	while (i < npx && len - pos >= DL_RLX_MIN_BYTES) {
		unsigned int start = i;
		unsigned int end = i + (npx - i < DL_MAX_CMD_PIXELS ?
					npx - i : DL_MAX_CMD_PIXELS);
		u8 *cmd = buf + pos;

		cmd[0] = DL_CMD_START;
		cmd[1] = op;
		put_be24(cmd + 2, addr + i * bpp);
		pos += 6;
		/*
		 * A span needs its raw count, one pixel and a repeat count.
		 * Each pixel is loaded once (@next): a reload after the stores
		 * into @buf, which may alias @px for the compiler, would be one
		 * more memory access a pixel.
		 */
		while (i < end && len - pos >= 2 + bpp) {
			u8 *raw_count = buf + pos++;
			/* room for a pixel and the repeat count while o <= room */
			u8 *o = buf + pos, *room = buf + len - (bpp + 1);
			unsigned int raw_from = i;
			u32 last, next = px_at(px, bpp, i);

			do {
				last = next;
				px_put(o, bpp, last);
				o += bpp;
				if (++i < end)
					next = px_at(px, bpp, i);
			} while (i < end && next != last && o <= room);
			pos = o - buf;
			*raw_count = (i - raw_from) & 0xff;	/* 256 is sent as 0 */

			if (i < end && next == last) {
				unsigned int rep = 0;

				while (i < end && rep < 255 && px_at(px, bpp, i) == last) {
					rep++;
					i++;
				}
				buf[pos++] = rep;
			} else if (i < end) {
				break;	/* out of room: the command ends here */
			}
		}
		cmd[5] = (i - start) & 0xff;
	}
	*done = i;
	return pos;
}

size_t dl_enc_rlx16(u8 *buf, size_t len, u32 addr, const u16 *px,
		    unsigned int npx, unsigned int *done)
{
	return enc_rlx(buf, len, DL_CMD_RLX16, 2, addr, px, npx, done);
}

size_t dl_enc_rlx8(u8 *buf, size_t len, u32 addr, const u8 *px,
		   unsigned int npx, unsigned int *done)
{
	return enc_rlx(buf, len, DL_CMD_RLX8, 1, addr, px, npx, done);
}

static unsigned int min_uint(unsigned int a, unsigned int b)
{
	return a < b ? a : b;
}

/* Do the byte ranges [a, a + an) and [b, b + bn) meet, going round at 16 MiB? */
static bool ranges_meet(u32 a, u32 an, u32 b, u32 bn)
{
	u32 up = (b - a) & (DL_MEM_SIZE - 1);	/* how far b lies above a */

	return up < an || DL_MEM_SIZE - up < bn;
}

/* The plan for the move (see dlkms_proto.h): how it is cut and ordered. */
struct move_plan {
	unsigned int step;	/* pixels a command (a piece, when staged) */
	bool fwd;		/* front to back */
	bool staged;		/* through the bounce */
};

static bool move_plan(const struct dl_move *m, unsigned int bpp, struct move_plan *pl)
{
	u32 bytes = m->npx * bpp;
	u32 up = (m->dst - m->src) & (DL_MEM_SIZE - 1);
	u32 shift = up <= DL_MEM_SIZE - up ? up : DL_MEM_SIZE - up;
	unsigned int piece = min_uint(DL_MAX_CMD_PIXELS, m->bounce_px);

	/* the destination below the source: each command reads ahead of the writes */
	pl->fwd = shift != up;
	pl->staged = false;
	if (shift >= bytes) {
		pl->step = DL_MAX_CMD_PIXELS;
		pl->fwd = true;
		return true;
	}
	pl->step = min_uint(DL_MAX_CMD_PIXELS, shift / bpp);
	if (piece && !ranges_meet(m->bounce, piece * bpp, m->src, bytes) &&
	    !ranges_meet(m->bounce, piece * bpp, m->dst, bytes) &&
	    (!pl->step || (m->npx + pl->step - 1) / pl->step >
			  2 * ((m->npx + piece - 1) / piece))) {
		pl->step = piece;
		pl->staged = true;
	}
	return pl->step > 0;
}

static size_t enc_move(u8 *buf, size_t len, u8 op, unsigned int bpp, struct dl_move *m)
{
	size_t pos = 0, need;
	struct move_plan pl;
	unsigned int left, k;
	u32 off;

	if (!((m->dst - m->src) & (DL_MEM_SIZE - 1))) {
		m->done = m->npx;	/* onto itself: nothing to send */
		return 0;
	}
	if (!move_plan(m, bpp, &pl))
		return 0;
	need = pl.staged ? 2 * DL_COPY_BYTES : DL_COPY_BYTES;
	while (m->done < m->npx && len - pos >= need) {
		/* what is left is the front of the run, or its back */
		left = m->npx - m->done;
		k = min_uint(left, pl.step);
		off = (pl.fwd ? m->done : left - k) * bpp;
		if (pl.staged) {
			pos += enc_copy(buf + pos, op, m->bounce, m->src + off, k);
			pos += enc_copy(buf + pos, op, m->dst + off, m->bounce, k);
		} else {
			pos += enc_copy(buf + pos, op, m->dst + off, m->src + off, k);
		}
		m->done += k;
	}
	return pos;
}

size_t dl_enc_move16(u8 *buf, size_t len, struct dl_move *m)
{
	return enc_move(buf, len, DL_CMD_COPY16, 2, m);
}

size_t dl_enc_move8(u8 *buf, size_t len, struct dl_move *m)
{
	return enc_move(buf, len, DL_CMD_COPY8, 1, m);
}

size_t dl_cmd_len(const u8 *p, size_t n)
{
	unsigned int bpp, left, raw, rep;
	size_t pos;

	if (!n || p[0] != DL_CMD_START)
		return 0;
	/* dlkms_urb_submit()'s pad, or udl-style padding */
	if (n == 1 || p[1] == DL_CMD_START)
		return 1;
	switch (p[1]) {
	case DL_CMD_REG:
		return n >= 4 ? 4 : 0;
	case DL_CMD_COPY8:
	case DL_CMD_COPY16:
		return n >= DL_COPY_BYTES ? DL_COPY_BYTES : 0;
	case DL_CMD_SYNC:
		return 2;
	case DL_CMD_RLX16:
		bpp = 2;
		break;
	case DL_CMD_RLX8:
		bpp = 1;
		break;
	default:
		return 0;
	}
	if (n < 6)
		return 0;
	left = p[5] ? p[5] : DL_MAX_CMD_PIXELS;
	pos = 6;
	/* spans of raw pixels, each followed by a repeat count while pixels are left */
	for (;;) {
		if (pos >= n)
			return 0;
		raw = p[pos] ? p[pos] : DL_MAX_CMD_PIXELS;
		pos++;
		if (raw > left)
			return 0;
		pos += raw * bpp;
		left -= raw;
		if (!left)
			break;
		if (pos >= n)
			return 0;
		/* ours never repeats 0 times: then a command is at most DL_MAX_CMD_BYTES */
		rep = p[pos++];
		if (!rep || rep > left)
			return 0;
		left -= rep;
		if (!left)
			break;
	}
	return pos <= n ? pos : 0;
}

size_t dl_cmd_owed(const u8 *buf, size_t len, size_t first, size_t sent)
{
	size_t pos = first, n;

	if (sent < first)
		return first - sent;
	while (pos < sent) {
		n = dl_cmd_len(buf + pos, len - pos);
		if (!n)
			return 0;	/* not ours: nothing known to complete */
		if (pos + n > sent)
			return pos + n - sent;
		pos += n;
	}
	return 0;
}

enum dl_vdesc dl_parse_vendor_desc(const u8 *desc, size_t len, u32 *max_area, u16 *bad_key)
{
	size_t total, pos;

	*max_area = 0;
	if (len < 5 || desc[0] < 5 || desc[0] > len || desc[1] != DL_DESC_VENDOR ||
	    desc[2] != 0x01 || desc[3] != 0x00 || desc[4] != desc[0] - 2)
		return DL_VDESC_BAD;
	total = desc[0];
	for (pos = 5; pos + 3 <= total;) {
		u16 key = desc[pos] | desc[pos + 1] << 8;
		u8 n = desc[pos + 2];

		pos += 3;
		if (pos + n > total) {
			*bad_key = key;
			return DL_VDESC_TRUNCATED;
		}
		if (key == DL_DESC_KEY_MAX_AREA && n == 4) {
			u32 v = desc[pos] | desc[pos + 1] << 8 | desc[pos + 2] << 16 |
				(u32)desc[pos + 3] << 24;

			/* a zero says nothing: an earlier entry stands */
			if (v)
				*max_area = v;
		}
		pos += n;
	}
	return DL_VDESC_OK;
}
