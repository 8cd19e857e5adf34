// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "edidcheck.h"

static bool block_sum_ok(const uint8_t *b)
{
	unsigned int s = 0, i;

	for (i = 0; i < 128; i++)
		s += b[i];
	return (s & 0xff) == 0;
}

void edid_parse(const uint8_t *e, size_t len, struct edid_info *i)
{
	static const uint8_t hdr[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
	const uint8_t *d = e + 54;

	memset(i, 0, sizeof(*i));
	i->none = len < 8 || !memcmp(e, "\0\0\0\0\0\0\0\0", 8);
	if (i->none || len < 128)
		return;
	i->header_ok = !memcmp(e, hdr, 8);
	i->sums_ok[0] = block_sum_ok(e);
	i->extensions = e[126];
	if (len >= 256)
		i->sums_ok[1] = block_sum_ok(e + 128);
	i->digital = e[20] & 0x80;
	i->pref_khz = (d[0] | d[1] << 8) * 10;
	i->pref_w = d[2] | (d[4] >> 4) << 8;
	i->pref_h = d[5] | (d[7] >> 4) << 8;
}

const char *edid_expect(const struct edid_info *i, const uint8_t *e, const char *name)
{
	bool valid = i->header_ok && i->sums_ok[0];

	if (!strcmp(name, "none"))
		return i->none ? NULL : "expected no monitor (zeros)";
	if (i->none)
		return "no monitor answered";
	if (!i->header_ok)
		return "bad EDID header";
	if (!strcmp(name, "corrupt"))
		return !i->sums_ok[0] ? NULL : "expected a bad checksum";
	if (!valid)
		return "block 0 checksum bad";
	if (!strcmp(name, "dvi1080"))
		return i->digital && i->pref_w == 1920 && i->pref_h == 1080 &&
		       !i->extensions ? NULL : "not a digital 1920x1080 monitor without extensions";
	if (!strcmp(name, "vga768"))
		return !i->digital && i->pref_w == 1024 && i->pref_h == 768 &&
		       !i->extensions ? NULL : "not an analog 1024x768 monitor";
	if (!strcmp(name, "cea3"))	/* blocks 2 and 3 are beyond the request's reach */
		return i->digital && i->extensions == 3 && e[128] == 0x02 &&
		       i->sums_ok[1] ? NULL : "not three extensions, the first CEA-861";
	if (!strcmp(name, "cea"))
		return i->digital && i->extensions == 1 && e[128] == 0x02 &&
		       i->sums_ok[1] ? NULL : "no valid CEA-861 extension block";
	return "unknown monitor name";
}

uint32_t expect_from_565(uint16_t v)
{
	return (uint32_t)(v >> 11) << 19 | (uint32_t)((v >> 5) & 0x3f) << 10 |
	       (uint32_t)(v & 0x1f) << 3;
}

uint32_t expect_from_xrgb(uint32_t px)
{
	/* truncation, as udl and dlkms do (docs/protocol.md 6.1): R[7:3] G[7:2] B[7:3] */
	return px & 0xf8fcf8;
}
