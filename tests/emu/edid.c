// SPDX-License-Identifier: GPL-2.0-only
/*
 * EDID 1.3 blocks for the emulated monitors, generated from their timings
 * so the tests can check what a driver makes of them (connector type from
 * the input byte, preferred mode from the first detailed timing).
 */
#include <string.h>

#include "edid.h"

const char *const monitor_names[] = {
	"dvi1080", "vga768", "vga600", "cea", "cea3", "corrupt", "none", NULL
};

struct dtd {
	unsigned int clock_khz;
	unsigned int ha, hfp, hsw, hbp;
	unsigned int va, vfp, vsw, vbp;
	uint8_t flags;		/* byte 17: sync type and polarities */
};

/*
 * CEA-861 1920x1080@60, 1280x720@60; DMT 1024x768@60 (negative syncs) and
 * 800x600@60 (positive syncs)
 */
static const struct dtd t1080 = { 148500, 1920, 88, 44, 148, 1080, 4, 5, 36, 0x1e };
static const struct dtd t720 = { 74250, 1280, 110, 40, 220, 720, 5, 5, 20, 0x1e };
static const struct dtd t768 = { 65000, 1024, 24, 136, 160, 768, 3, 6, 29, 0x18 };
static const struct dtd t600 = { 40000, 800, 40, 128, 88, 600, 1, 4, 23, 0x1e };

static void put_dtd(uint8_t *p, const struct dtd *t, unsigned int wmm,
		    unsigned int hmm)
{
	unsigned int hb = t->hfp + t->hsw + t->hbp, vb = t->vfp + t->vsw + t->vbp;
	unsigned int clk = t->clock_khz / 10;

	p[0] = clk & 0xff;
	p[1] = clk >> 8;
	p[2] = t->ha & 0xff;
	p[3] = hb & 0xff;
	p[4] = (t->ha >> 8) << 4 | (hb >> 8);
	p[5] = t->va & 0xff;
	p[6] = vb & 0xff;
	p[7] = (t->va >> 8) << 4 | (vb >> 8);
	p[8] = t->hfp & 0xff;
	p[9] = t->hsw & 0xff;
	p[10] = (t->vfp & 0xf) << 4 | (t->vsw & 0xf);
	p[11] = (t->hfp >> 8) << 6 | (t->hsw >> 8) << 4 |
		(t->vfp >> 4) << 2 | (t->vsw >> 4);
	p[12] = wmm & 0xff;
	p[13] = hmm & 0xff;
	p[14] = (wmm >> 8) << 4 | (hmm >> 8);
	p[15] = 0;
	p[16] = 0;
	p[17] = t->flags;
}

static void put_text(uint8_t *p, uint8_t tag, const char *s)
{
	size_t i, n = strlen(s);

	memset(p, 0, 18);
	p[3] = tag;
	for (i = 0; i < 13; i++)
		p[5 + i] = i < n ? s[i] : (i == n ? 0x0a : 0x20);
}

static void put_range(uint8_t *p, unsigned int max_clock_mhz)
{
	memset(p, 0, 18);
	p[3] = 0xfd;
	p[5] = 50;	/* vertical 50-75 Hz */
	p[6] = 75;
	p[7] = 30;	/* horizontal 30-83 kHz */
	p[8] = 83;
	p[9] = (max_clock_mhz + 9) / 10;
	p[10] = 0x00;	/* default GTF */
	p[11] = 0x0a;
	memset(p + 12, 0x20, 6);
}

static void checksum(uint8_t *blk)
{
	unsigned int i, s = 0;

	for (i = 0; i < 127; i++)
		s += blk[i];
	blk[127] = (256 - (s & 0xff)) & 0xff;
}

static void base_block(uint8_t *b, const char *name, const struct dtd *pref,
		       int digital, unsigned int wcm, unsigned int hcm,
		       uint16_t product, unsigned int extensions)
{
	static const uint8_t header[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
	/* sRGB-ish chromaticity */
	static const uint8_t chroma[10] = {
		0xee, 0x91, 0xa3, 0x54, 0x4c, 0x99, 0x26, 0x0f, 0x50, 0x54
	};

	memset(b, 0, 128);
	memcpy(b, header, 8);
	/* manufacturer "DLE" packed as three 5-bit letters */
	b[8] = (('D' - '@') << 2) | (('L' - '@') >> 3);
	b[9] = ((('L' - '@') & 7) << 5) | ('E' - '@');
	b[10] = product & 0xff;
	b[11] = product >> 8;
	b[12] = 0x01;		/* serial */
	b[16] = 1;		/* week */
	b[17] = 2024 - 1990;
	b[18] = 1;		/* EDID 1.3 */
	b[19] = 3;
	b[20] = digital ? 0x80 : 0x08;	/* analog: 0.7 V, separate sync */
	b[21] = wcm;
	b[22] = hcm;
	b[23] = 120;		/* gamma 2.2 */
	b[24] = digital ? 0x0a : 0x0a;	/* RGB colour, preferred timing */
	memcpy(b + 25, chroma, 10);
	b[35] = 0x21;		/* 640x480@60, 800x600@60 */
	b[36] = 0x08;		/* 1024x768@60 */
	memset(b + 38, 0x01, 16);	/* no standard timings */
	put_dtd(b + 54, pref, wcm * 10, hcm * 10);
	put_range(b + 72, pref->clock_khz / 1000 + 20);
	put_text(b + 90, 0xfc, name);
	put_text(b + 108, 0xff, "DLEMU0001");
	b[126] = extensions;
	checksum(b);
}

/* a CEA-861 extension: a video data block of @nvic VICs, one DTD (1080p) */
static void cea_block(uint8_t *e, const uint8_t *vics, unsigned int nvic)
{
	uint8_t vdb[8];

	vdb[0] = 0x40 | nvic;	/* tag 2: video data block */
	memcpy(vdb + 1, vics, nvic);

	memset(e, 0, 128);
	e[0] = 0x02;		/* CEA-861 extension */
	e[1] = 0x03;
	e[3] = 0x01;		/* one native DTD, no audio/YCbCr */
	memcpy(e + 4, vdb, nvic + 1);
	e[2] = 4 + nvic + 1;	/* DTDs start after the data blocks */
	put_dtd(e + e[2], &t1080, 600, 340);
	checksum(e);
}

int monitor_build(const char *name, struct monitor *m)
{
	/* VIC 16 (1080p60, native), 4 (720p60), 2 (480p); 31 (1080p50), 19 (720p50) */
	static const uint8_t vics[] = { 0x90, 0x04, 0x02 };
	static const uint8_t vics2[] = { 31, 19 };

	memset(m, 0, sizeof(*m));
	m->name = name;
	if (!strcmp(name, "dvi1080")) {
		base_block(m->edid, "DLEMU DVI", &t1080, 1, 53, 30, 0x1080, 0);
		m->len = 128;
	} else if (!strcmp(name, "vga768")) {
		base_block(m->edid, "DLEMU VGA", &t768, 0, 30, 23, 0x0768, 0);
		m->len = 128;
	} else if (!strcmp(name, "vga600")) {
		/* small frames for the many-cycle tests: cheap to send under TCG */
		base_block(m->edid, "DLEMU VGA600", &t600, 0, 28, 21, 0x0600, 0);
		m->len = 128;
	} else if (!strcmp(name, "cea")) {
		base_block(m->edid, "DLEMU HDTV", &t720, 1, 60, 34, 0x0861, 1);
		cea_block(m->edid + 128, vics, sizeof(vics));
		m->len = 256;
	} else if (!strcmp(name, "cea3")) {
		/*
		 * Three extensions, as many HDMI monitors have: the last two
		 * lie beyond the 256 bytes the vendor request reaches.
		 */
		base_block(m->edid, "DLEMU HDTV3", &t720, 1, 60, 34, 0x0863, 3);
		cea_block(m->edid + 128, vics, sizeof(vics));
		cea_block(m->edid + 256, vics2, sizeof(vics2));
		cea_block(m->edid + 384, vics2, sizeof(vics2));
		m->len = 512;
	} else if (!strcmp(name, "corrupt")) {
		/* a valid header, then bytes that no longer match the checksum */
		base_block(m->edid, "DLEMU BAD", &t1080, 1, 53, 30, 0xbad0, 0);
		m->edid[60] ^= 0x5a;
		m->edid[100] ^= 0x33;
		m->len = 128;
	} else if (!strcmp(name, "none")) {
		m->len = 0;
	} else {
		return -1;
	}
	return 0;
}
