// SPDX-License-Identifier: GPL-2.0-only
/*
 * The driver's parser of the 0x5F vendor descriptor (dl_parse_vendor_desc()
 * in src/dlkms_proto.c) against descriptors a hostile adapter returns:
 * named cases (a descriptor like a real adapter's, a reply cut short, a
 * bLength far beyond the reply, zero lengths, an entry running past the
 * end, an entry whose length swallows the next, every wrong header byte),
 * then seeded random mutations of lengths and bytes. Each reply is a heap
 * buffer of exactly the reply's size, under ASan: a read past it is a
 * report. Each result must equal that of a reference parser written here
 * from docs/protocol.md 1.4 alone.
 *
 *   vdesc_test [-n MUTATIONS] [-s SEED]
 *
 * The dlemu emulator cannot serve this descriptor through FunctionFS
 * (composite answers GET_DESCRIPTOR itself and stalls unknown types,
 * docs/protocol.md 7), so the guest suites never reach this parser with
 * hostile bytes; this does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlkms_proto.h"

static int failures, checks;

/* the reference: header, then entries walked by index; -1 bad, -2 truncated */
static int ref_parse(const uint8_t *d, size_t len, uint32_t *area, uint16_t *bad)
{
	size_t end, at;

	*area = 0;
	if (len < 5)
		return -1;
	end = d[0];
	if (end < 5 || end > len || d[1] != 0x5f || d[2] != 1 || d[3] != 0 ||
	    (unsigned int)d[4] + 2 != end)
		return -1;
	at = 5;
	while (end - at >= 3) {
		unsigned int key = d[at] + 256u * d[at + 1], n = d[at + 2];

		if (n > end - at - 3) {
			*bad = (uint16_t)key;
			return -2;
		}
		if (key == 0x200 && n == 4) {
			uint32_t v = d[at + 3] + 256u * d[at + 4] + 65536u * d[at + 5] +
				     16777216u * d[at + 6];

			if (v)
				*area = v;
		}
		at += 3 + n;
	}
	return 0;
}

static uint64_t state;

static uint32_t rnd(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return (uint32_t)(state >> 11);
}

static unsigned int seen[3];

/* One reply of @len bytes: the driver's parse against the reference's. */
static int one(const char *what, const uint8_t *bytes, size_t len, int want, uint32_t want_area)
{
	uint8_t *d = malloc(len ? len : 1);
	uint32_t area = 0xdeadbeef, rarea;
	uint16_t key = 0xdead, rkey = 0xbeef;
	int ret, ref;

	memcpy(d, bytes, len);
	ret = dl_parse_vendor_desc(d, len, &area, &key);
	ref = ref_parse(d, len, &rarea, &rkey);
	free(d);
	ret = ret == DL_VDESC_OK ? 0 : ret == DL_VDESC_BAD ? -1 : -2;
	checks++;
	seen[-ret]++;
	if (ret != ref || (ret != -1 && area != rarea) || (ret == -2 && key != rkey) ||
	    (want != 1 && (ret != want || (ret != -1 && area != want_area)))) {
		failures++;
		fprintf(stderr, "vdesc_test: FAIL %s (%zu bytes): parser %d area %u key 0x%04x, "
			"reference %d area %u key 0x%04x%s\n", what, len, ret, area, key, ref, rarea,
			rkey, want != 1 ? ", as named" : "");
		return 1;
	}
	return 0;
}

/* a descriptor as a real adapter's: three entries, max area 1,500,000 */
static size_t good(uint8_t *d)
{
	static const uint8_t g[] = {
		0x17, 0x5f, 0x01, 0x00, 0x15,
		0x00, 0x00, 0x02, 0x01, 0x00,			/* 0x0000: version */
		0x00, 0x02, 0x04, 0x60, 0xe3, 0x16, 0x00,	/* 0x0200: 1500000 */
		0x00, 0x04, 0x03, 0x12, 0x34, 0x56,		/* 0x0400: chip id */
	};

	memcpy(d, g, sizeof(g));
	return sizeof(g);
}

/*
 * The good descriptor with up to three bytes changed (index, value) and its
 * reply @len bytes long (0: as it is), and what the parse must give.
 */
struct named_case {
	const char *what;
	int len;
	int at[3], val[3];
	int want;
	uint32_t area;
};

static const struct named_case cases[] = {
	{ "a good descriptor", 0, { -1, -1, -1 }, { 0 }, 0, 1500000 },
	{ "the reply cut before bLength", 22, { -1, -1, -1 }, { 0 }, -1, 0 },
	{ "a reply of 4 bytes", 4, { -1, -1, -1 }, { 0 }, -1, 0 },
	{ "a reply of nothing", -1, { -1, -1, -1 }, { 0 }, -1, 0 },
	{ "bLength 255 in a reply of 23 bytes", 0, { 0, 4, -1 }, { 255, 253 }, -1, 0 },
	{ "bLength 0", 0, { 0, -1, -1 }, { 0 }, -1, 0 },
	{ "bLength 5: a header, no entry", 0, { 0, 4, -1 }, { 5, 3 }, 0, 0 },
	{ "type 0x5e", 0, { 1, -1, -1 }, { 0x5e }, -1, 0 },
	{ "version 2.0", 0, { 2, -1, -1 }, { 2 }, -1, 0 },
	{ "byte 4 not bLength - 2", 0, { 4, -1, -1 }, { 0x14 }, -1, 0 },
	{ "the last entry runs 197 bytes past the end", 0, { 19, -1, -1 }, { 200 }, -2, 1500000 },
	{ "the first entry runs past the end", 0, { 7, -1, -1 }, { 0xff }, -2, 0 },
	{ "the first entry swallows the max-area one", 0, { 7, -1, -1 }, { 9 }, 0, 0 },
	{ "the max-area entry 5 bytes long, into the next", 0, { 12, -1, -1 }, { 5 }, -2, 0 },
	{ "bLength one short of the last entry", 0, { 0, 4, -1 }, { 22, 20 }, -2, 1500000 },
	{ "a max area of 0", 0, { 13, 14, 15 }, { 0, 0, 0 }, 0, 0 },
};

static void named(void)
{
	uint8_t d[300];
	size_t n, i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = good(d);
		for (j = 0; j < 3; j++)
			if (cases[i].at[j] >= 0)
				d[cases[i].at[j]] = (uint8_t)cases[i].val[j];
		if (cases[i].len)
			n = cases[i].len < 0 ? 0 : (size_t)cases[i].len;
		one(cases[i].what, d, n, cases[i].want, cases[i].area);
	}
	/* a full 255-byte descriptor of 3-byte empty entries, one byte left over */
	memset(d, 0, sizeof(d));
	d[0] = 255;
	d[1] = 0x5f;
	d[2] = 1;
	d[4] = 253;
	for (n = 5; n + 3 <= 255; n += 3)
		d[n] = (uint8_t)n;
	one("255 bytes of empty entries, one byte left over", d, 255, 0, 0);
}

int main(int argc, char **argv)
{
	unsigned long n = 100000, i, j, k;
	uint8_t base[256], d[256];
	size_t len;
	int opt;

	state = 20261207;
	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		if (opt == 'n')
			n = strtoul(optarg, NULL, 0);
		else if (opt == 's')
			state = strtoull(optarg, NULL, 0) | 1;
		else
			return 2;
	}
	named();
	if (failures) {
		fprintf(stderr, "vdesc_test: %d of %d named cases failed\n", failures, checks);
		return 1;
	}
	for (i = 0; i < n; i++) {
		/* a good one, an entry list of random keys and lengths, or noise */
		memset(base, 0, sizeof(base));
		switch (rnd() % 3) {
		case 0:
			len = good(base);
			break;
		case 1:
			len = 5 + rnd() % 251;
			for (j = 5; j < len; j += 3 + k) {
				base[j] = rnd();
				if (j + 1 < len)
					base[j + 1] = rnd() % 3;
				k = rnd() % 8;
				if (j + 2 < len)
					base[j + 2] = (uint8_t)k;
			}
			for (j = 5; j < len; j++)
				if (!base[j] && rnd() % 4 == 0)
					base[j] = rnd();
			base[0] = (uint8_t)len;
			base[1] = 0x5f;
			base[2] = 1;
			base[4] = (uint8_t)(len - 2);
			break;
		default:
			len = rnd() % 257;
			for (j = 0; j < len; j++)
				base[j] = rnd();
			break;
		}
		memcpy(d, base, sizeof(d));
		/* then: bytes changed, the reply cut or run on, bLength changed */
		for (k = rnd() % 4; k; k--)
			if (len)
				d[rnd() % len] = rnd();
		if (rnd() % 4 == 0)
			len = rnd() % (len + 1);
		else if (rnd() % 8 == 0)
			len += rnd() % (257 - len);
		if (rnd() % 8 == 0)
			d[0] = rnd();
		if (one("a mutation", d, len, 1, 0)) {
			fprintf(stderr, "vdesc_test: mutation %lu of seed %llu\n", i,
				(unsigned long long)state);
			break;
		}
	}
	printf("vdesc_test: %d descriptors (%lu mutations): %u parsed, %u refused, %u truncated; %d failed\n",
	       checks, n, seen[0], seen[1], seen[2], failures);
	return failures || !seen[0] || !seen[1] || !seen[2] ? 1 : 0;
}
