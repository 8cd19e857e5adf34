/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Stream decoder for the DL-1x0/DL-1x5 bulk command stream: the device
 * side of docs/protocol.md. Pure C, no I/O, so the unit tests and the fuzz
 * target run exactly the code dlemu runs.
 */
#ifndef DL_DECODE_H
#define DL_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DLD_MEM_SIZE	(16u << 20)
#define DLD_MEM_MASK	(DLD_MEM_SIZE - 1)
#define DLD_FILL	0x5a
/* what an overlapping copy leaves in its destination (see copy()) */
#define DLD_POISON	0xc5

/*
 * Longest well-formed command: RLX with 256 one-pixel spans and their repeat
 * counts is 6 + 256 * 4 bytes; anything that needs more than this without
 * completing is malformed.
 */
#define DLD_MAX_CMD	1100

struct dld_stats {
	uint64_t bytes, transfers;
	uint64_t cmd_reg, cmd_60, cmd_61, cmd_62, cmd_63;
	uint64_t cmd_68, cmd_69, cmd_6a, cmd_6b, cmd_a0;
	uint64_t pad_af, malformed, mode_sets;
	uint64_t ignored_no_channel;	/* commands dropped: see enum dld_channel */
	/*
	 * Copies (0x62 / 0x6A) whose source and destination byte ranges
	 * overlap, modulo 16 MiB, without being the same range: undefined on
	 * hardware, so an error here. Their destination gets DLD_POISON.
	 */
	uint64_t copy_overlap;
};

/*
 * The channel the adapter was told to use (protocol.md 2.4). The 16-byte
 * key of the channel-select request seeds a cipher every later bulk byte
 * goes through; the null keys leave the stream as it is sent. We do not
 * emulate the cipher: under any other key, or before any key, what the
 * adapter decodes is not what the driver meant, so no command of the
 * stream (pixels, copies or registers, which libdlo sends under mode keys
 * of their own) reaches memory or the register file. The stream is still
 * framed as plain text, to count what was dropped and what is malformed.
 * Zero is the null key, so that the decoder's own tests and the fuzz round
 * trip, which send no key, decode; dlemu starts each plug at DLD_CHAN_NONE.
 */
enum dld_channel {
	DLD_CHAN_NULL = 0,	/* a null key: the stream is plain */
	DLD_CHAN_NONE,		/* no key since power-on */
	DLD_CHAN_OTHER,		/* another key: the stream would be scrambled */
};


struct dld_mode {
	bool valid;
	unsigned int hdisplay, hsync_start, hsync_end, htotal;
	unsigned int vdisplay, vsync_start, vsync_end, vtotal;
	unsigned int clock_khz, refresh_mhz;
	unsigned int bpp;		/* 16 or 24 */
	unsigned int blank;		/* register 0x1f */
	uint32_t base16, stride16, base8, stride8;
};

struct dld {
	uint8_t *mem;			/* DLD_MEM_SIZE bytes of video memory */
	uint8_t regs[256];		/* applied register file */
	uint8_t held[256];		/* written while updates are held */
	bool held_mask[256];
	bool hold;			/* between FF=00 and FF=FF */
	bool written[256];		/* ever applied (stride defaults) */
	uint8_t carry[DLD_MAX_CMD];	/* incomplete command from the last feed */
	size_t ncarry;
	bool resync;			/* skipping garbage up to the next 0xAF */
	enum dld_channel chan;
	struct dld_stats st;
};

int dld_init(struct dld *d);
void dld_fini(struct dld *d);
/*
 * Memory filled with DLD_FILL, registers and stream state cleared, the
 * channel DLD_CHAN_NULL (see enum dld_channel).
 */
void dld_reset(struct dld *d);
/* A channel-select request was taken: commands from now on follow @chan. */
void dld_set_channel(struct dld *d, enum dld_channel chan);
/*
 * A new connection starts a new stream: a command the last one left
 * unfinished (the device went off the bus mid-transfer) is dropped, not
 * joined to this one's first bytes.
 */
void dld_stream_cut(struct dld *d);
/* Feed one chunk of the stream; commands may span chunks. */
void dld_feed(struct dld *d, const uint8_t *p, size_t n);
void dld_get_mode(const struct dld *d, struct dld_mode *m);
/*
 * The visible frame as XRGB8888, @m->hdisplay * @m->vdisplay pixels. In 16
 * bpp the low bits are zero-filled (R5<<3, G6<<2, B5<<3); in 24 bpp they come
 * from the 8-bit plane.
 */
void dld_render(const struct dld *d, const struct dld_mode *m, uint32_t *out);

/* Inverse of the LFSR16 register encoding; -1 for 0x0000, which never occurs. */
int dld_lfsr_steps(uint16_t v);

#endif
