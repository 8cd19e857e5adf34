/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * DisplayLink DL-1x0/DL-1x5 bulk command encoder.
 *
 * Plain C with no kernel dependencies beyond fixed-size integer types, so
 * the same file builds into the module, the userspace unit tests, the
 * emulator's tests and the fuzz target: what the tests prove about the
 * encoder is what the driver sends. Userspace builds define
 * __always_inline (-D__always_inline=inline).
 */
#ifndef DLKMS_PROTO_H
#define DLKMS_PROTO_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
#endif

/* Every command starts with this byte; a lone one is a no-op. */
#define DL_CMD_START		0xaf
#define DL_CMD_REG		0x20
#define DL_CMD_RAW8		0x60
#define DL_CMD_COPY8		0x62
#define DL_CMD_RLX8		0x63
#define DL_CMD_RAW16		0x68
#define DL_CMD_COPY16		0x6a
#define DL_CMD_RLX16		0x6b
#define DL_CMD_SYNC		0xa0

/* Video registers (written with DL_CMD_REG). */
#define DL_REG_COLORDEPTH	0x00	/* 0 = 16 bpp, 1 = 24 bpp */
#define DL_REG_XDISPLAYSTART	0x01
#define DL_REG_XDISPLAYEND	0x03
#define DL_REG_YDISPLAYSTART	0x05
#define DL_REG_YDISPLAYEND	0x07
#define DL_REG_XENDCOUNT	0x09
#define DL_REG_HSYNCSTART	0x0b
#define DL_REG_HSYNCEND		0x0d
#define DL_REG_HPIXELS		0x0f
#define DL_REG_YENDCOUNT	0x11
#define DL_REG_VSYNCSTART	0x13
#define DL_REG_VSYNCEND		0x15
#define DL_REG_VPIXELS		0x17
#define DL_REG_PIXELCLOCK5K	0x1b
#define DL_REG_BLANKMODE	0x1f
#define DL_REG_BASE16		0x20
#define DL_REG_STRIDE16		0x23
#define DL_REG_BASE8		0x26
#define DL_REG_STRIDE8		0x29
#define DL_REG_SYNC		0xff	/* 0x00 holds updates, 0xff applies them */

#define DL_BLANK_ON		0x00
#define DL_BLANK_BLANKED	0x01
#define DL_BLANK_POWERDOWN	0x07

/* A command covers at most this many pixels (its count byte 0 means 256). */
#define DL_MAX_CMD_PIXELS	256

/* The device's video memory, byte addressed by 24-bit addresses. */
#define DL_MEM_SIZE		(16u << 20)

struct dl_timings {
	u16 hdisplay, hsync_start, hsync_end, htotal;
	u16 vdisplay, vsync_start, vsync_end, vtotal;
	u32 clock_khz;
};

/* Worst-case size of dl_enc_modeset()'s output. */
#define DL_MODESET_MAX_BYTES	256

u16 dl_lfsr16(u16 count);

size_t dl_enc_reg(u8 *buf, u8 reg, u8 val);
size_t dl_enc_modeset(u8 *buf, const struct dl_timings *t, bool bpp24,
		      u32 base16, u32 base8);
size_t dl_enc_blank(u8 *buf, u8 blank_mode);

/*
 * Encode up to @npx pixels of one scanline span starting at device byte
 * address @addr as RLX16 commands into @buf (at most @len bytes). Returns the
 * number of bytes written and stores the number of pixels consumed in
 * @done, which is less than @npx only when @buf ran out; the caller then
 * continues at @addr + 2 * @done in a new buffer.
 */
size_t dl_enc_rlx16(u8 *buf, size_t len, u32 addr, const u16 *px,
		    unsigned int npx, unsigned int *done);

/* The same for the 8-bit plane (24-bpp mode's low bits), one byte a pixel. */
size_t dl_enc_rlx8(u8 *buf, size_t len, u32 addr, const u8 *px,
		   unsigned int npx, unsigned int *done);

/* Smallest buffer dl_enc_rlx16()/dl_enc_rlx8() can always make progress in. */
#define DL_RLX_MIN_BYTES	11

/* A copy command: `af op dst(3) n src(3)`, destination first. */
#define DL_COPY_BYTES		9

/*
 * Copy @npx (1..256) pixels from device byte address @src to @dst within
 * the 16-bit plane (2 bytes a pixel) or the 8-bit plane (1 byte) as one
 * command of DL_COPY_BYTES bytes. What a device does when the two byte
 * ranges overlap is undefined (docs/protocol.md 4.2), except for the same
 * range (@src == @dst), which changes nothing; use dl_enc_move16() and
 * dl_enc_move8() to move anything that may overlap.
 */
size_t dl_enc_copy16(u8 *buf, u32 dst, u32 src, unsigned int npx);
size_t dl_enc_copy8(u8 *buf, u32 dst, u32 src, unsigned int npx);

/*
 * A move of @npx pixels from @src to @dst in one plane, with the result of
 * memmove(): byte addresses, ranges that wrap at 16 MiB like the device's
 * addresses, @npx * bytes a pixel at most 8 MiB.
 *
 * It is made of copy commands none of which has overlapping source and
 * destination ranges, in an order in which no command reads bytes of the
 * source that an earlier command of the move already overwrote. With
 * @shift the distance between the ranges in bytes (going round at 16 MiB,
 * the shorter way), the move is one of:
 *
 *  - apart (@shift >= the run's bytes): 256-pixel commands, front to back;
 *    9 bytes per 256 pixels.
 *  - direct: commands of min(256, @shift / bytes a pixel) pixels, front to
 *    back when @dst lies below @src and back to front when above, so each
 *    command reads only bytes no earlier one wrote;
 *    9 bytes per min(256, @shift / bytes a pixel) pixels.
 *  - staged: each piece of min(256, @bounce_px) pixels is copied to the
 *    scratch at @bounce and from there to its destination, pieces ordered
 *    as in the direct case; 18 bytes per piece. Taken when the bounce is
 *    given (@bounce_px > 0), overlaps neither range, and costs fewer
 *    commands than the direct way: for a one-pixel scroll of a 1920-pixel
 *    line, 8 x 18 = 144 bytes instead of 1920 x 9 = 17280. The scratch's
 *    content is lost.
 *
 * A 16-bit move by one byte has no direct way; without a usable bounce it
 * does nothing (@done stays 0).
 */
struct dl_move {
	u32 dst, src;		/* byte addresses of the first pixel */
	unsigned int npx;	/* pixels to move */
	u32 bounce;		/* off-screen scratch for staging, or ignored */
	unsigned int bounce_px;	/* its size in pixels; 0 = none */
	unsigned int done;	/* pixels moved so far: 0 before the first call */
};

/*
 * Encode the rest of move @m as copy commands into @buf (at most @len
 * bytes); return the bytes written and advance @m->done by the pixels
 * whose commands were written whole. The move is complete at
 * @m->done == @m->npx; until then the caller sends @buf and calls again
 * with a new buffer and the same @m (the part left is itself a move that
 * what was sent does not disturb). A buffer of DL_MOVE_MIN_BYTES or more
 * always makes progress, unless the move cannot be done (see above).
 */
size_t dl_enc_move16(u8 *buf, size_t len, struct dl_move *m);
size_t dl_enc_move8(u8 *buf, size_t len, struct dl_move *m);

/* Smallest buffer dl_enc_move16()/dl_enc_move8() can always make progress in. */
#define DL_MOVE_MIN_BYTES	(2 * DL_COPY_BYTES)

/* Longest command the encoders write: an RLX16 header, then 256 raw pixels. */
#define DL_MAX_CMD_BYTES	(6 + 1 + 2 * DL_MAX_CMD_PIXELS)

/*
 * The length of the command at @p, one of those this encoder writes (a
 * lone 0xAF counts as a one-byte command), read from the @n bytes there;
 * 0 if they do not hold all of it or it is not one of ours.
 */
size_t dl_cmd_len(const u8 *p, size_t n);

/*
 * A transfer of @len bytes from @buf, cut after its first @sent: how many
 * of the bytes from @buf + @sent on the device still expects to complete
 * the command the cut fell in (0 when it fell between commands). Commands
 * start at @first; the bytes before it are the rest of an earlier cut.
 */
size_t dl_cmd_owed(const u8 *buf, size_t len, size_t first, size_t sent);

/*
 * The 0x5F vendor descriptor (docs/protocol.md 1.4), the @len bytes the
 * device returned at @desc: bLength, 0x5F, version 01 00, bLength - 2,
 * then entries of key (u16 LE), length (u8) and value. Nothing past
 * bLength or @len is read. *@max_area is the last non-zero max-area
 * entry's value (key 0x0200, four bytes: the largest pixel area the chip
 * scans out), 0 when there is none. DL_VDESC_BAD: no such header (short, bLength beyond the
 * reply or under 5, another type, version or length byte), nothing read
 * past it; DL_VDESC_TRUNCATED: the entry with key *@bad_key runs past
 * bLength, *@max_area as far as the entries before it go.
 */
#define DL_DESC_VENDOR		0x5f
#define DL_DESC_KEY_MAX_AREA	0x0200

enum dl_vdesc { DL_VDESC_OK, DL_VDESC_BAD, DL_VDESC_TRUNCATED };

enum dl_vdesc dl_parse_vendor_desc(const u8 *desc, size_t len, u32 *max_area, u16 *bad_key);

/* XRGB8888 to the device's planes: RGB565 truncated, and 24-bpp's low bits. */
static inline u16 dl_xrgb_to_565(u32 px)
{
	return ((px >> 8) & 0xf800) | ((px >> 5) & 0x07e0) | ((px >> 3) & 0x001f);
}

static inline u8 dl_xrgb_to_low8(u32 px)
{
	/* R[2:0] G[1:0] B[2:0], the "323" leftovers of RGB565 */
	return ((px >> 11) & 0xe0) | ((px >> 5) & 0x18) | (px & 0x07);
}

#endif /* DLKMS_PROTO_H */
