// SPDX-License-Identifier: GPL-2.0-only
/* Host checks of the tools' pure helpers: EDID parsing and pixel expectations. */
#include <stdio.h>
#include <string.h>

#include "edidcheck.h"

static int fails;

#define CHECK(c) do { if (!(c)) { fails++; fprintf(stderr, "FAIL %s:%d %s\n", __FILE__, __LINE__, #c); } } while (0)

int main(void)
{
	uint8_t e[256] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
	struct edid_info i;
	unsigned int k, s = 0;

	/* a hand-made digital 1920x1080 block: DTD 148.5 MHz */
	e[20] = 0x80;
	e[54] = 0x02;
	e[55] = 0x3a;
	e[56] = 0x80;
	e[58] = 0x70;
	e[59] = 0x38;
	e[61] = 0x40;
	for (k = 0; k < 127; k++)
		s += e[k];
	e[127] = (256 - (s & 0xff)) & 0xff;
	edid_parse(e, 128, &i);
	CHECK(!i.none && i.header_ok && i.sums_ok[0] && i.digital);
	CHECK(i.pref_w == 1920 && i.pref_h == 1080 && i.pref_khz == 148500);
	CHECK(!edid_expect(&i, e, "dvi1080"));
	CHECK(edid_expect(&i, e, "vga768"));
	CHECK(edid_expect(&i, e, "corrupt"));
	e[100] ^= 1;
	edid_parse(e, 128, &i);
	CHECK(!i.sums_ok[0] && !edid_expect(&i, e, "corrupt") && edid_expect(&i, e, "dvi1080"));
	memset(e, 0, sizeof(e));
	edid_parse(e, 128, &i);
	CHECK(i.none && !edid_expect(&i, e, "none") && edid_expect(&i, e, "dvi1080"));

	CHECK(expect_from_xrgb(0xffffffff) == 0xf8fcf8);
	CHECK(expect_from_xrgb(0x00070307) == 0);
	CHECK(expect_from_xrgb(0xff123456) == 0x103450);
	CHECK(expect_from_565(0xffff) == 0xf8fcf8);
	CHECK(expect_from_565(0xf800) == 0xf80000);
	CHECK(expect_from_565(0x07e0) == 0x00fc00);
	CHECK(expect_from_565(0x001f) == 0x0000f8);
	printf("test_tools: %d failed\n", fails);
	return fails != 0;
}
