// SPDX-License-Identifier: GPL-2.0-only
/*
 * The hostile adapter's replies (see hostile.h). A seed decides everything
 * of the random mode: the EDID it serves (extension count, bytes changed,
 * checksums right or not) and, request by request, whether the request is
 * answered, stalled or left to time out, and how the answer is spoiled
 * (short, a bad status byte, a byte that differs from the last read). The
 * same seed and the same requests give the same replies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile.h"

/* splitmix64: the draw for request @k of @seed, or for the seed's EDID */
static uint64_t mix(uint64_t seed, uint64_t k)
{
	uint64_t z = seed + (k + 1) * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* the EDID byte at @off as the request reaches it: the first 256, wrapped */
static uint8_t edid_at(const struct monitor *mon, unsigned int off)
{
	off &= 0xff;
	return off < mon->len ? mon->edid[off] : 0;
}

static void block_checksum(uint8_t *blk)
{
	unsigned int i, s = 0;

	for (i = 0; i < 127; i++)
		s += blk[i];
	blk[127] = (uint8_t)(256 - (s & 0xff));
}

/* the random mode's EDID: the monitor's, then what the seed does to it */
static void random_edid(struct hostile *h, const struct monitor *mon)
{
	uint64_t r = mix(h->seed, ~0ull);
	unsigned int i, n, ext, fix;

	for (i = 0; i < 256; i++)
		h->edid[i] = edid_at(mon, i);
	switch (r & 3) {
	case 0:
		ext = h->edid[126];	/* as it is */
		break;
	case 1:
		/* one CEA-861 extension of random data blocks */
		ext = 1;
		for (i = 128; i < 256; i++)
			h->edid[i] = (uint8_t)mix(h->seed, 1000 + i);
		h->edid[128] = 0x02;
		h->edid[129] = 0x03;
		h->edid[130] = (uint8_t)(4 + mix(h->seed, 999) % 124);
		break;
	case 2:
		ext = 255;
		break;
	default:
		ext = (r >> 8) & 0xff;
		break;
	}
	h->edid[126] = (uint8_t)ext;
	n = (r >> 16) % 9;
	for (i = 0; i < n; i++) {
		uint64_t b = mix(h->seed, 2000 + i);

		h->edid[b & 0xff] = (uint8_t)(b >> 8);
	}
	/* most seeds keep the checksums right, so the parser goes deeper */
	fix = (r >> 24) % 4 != 0;
	if (fix) {
		block_checksum(h->edid);
		block_checksum(h->edid + 128);
	}
	snprintf(h->edid_what, sizeof(h->edid_what), "extensions %u, %u bytes changed, checksums %s",
		 ext, n, fix ? "fixed" : "left");
}

int hostile_set(struct hostile *h, int argc, char **argv, const struct monitor *mon)
{
	static const struct { const char *name; enum hostile_kind kind; } named[] = {
		{ "off", HOSTILE_OFF },
		{ "edid-checksum", HOSTILE_EDID_CHECKSUM },
		{ "edid-ext255", HOSTILE_EDID_EXT255 },
		{ "edid-short", HOSTILE_EDID_SHORT },
		{ "edid-status", HOSTILE_EDID_STATUS },
		{ "edid-flip", HOSTILE_EDID_FLIP },
		{ "ctrl-silent", HOSTILE_CTRL_SILENT },
	};
	struct hostile n = { .kind = HOSTILE_OFF };
	unsigned long long v;
	char *end = NULL;
	size_t i;

	if (argc == 2) {
		for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
			if (!strcmp(argv[1], named[i].name))
				break;
		if (i == sizeof(named) / sizeof(named[0]))
			return -EINVAL;
		n.kind = named[i].kind;
	} else if (argc == 3 && (!strcmp(argv[1], "bulk-halt") || !strcmp(argv[1], "random"))) {
		if (argv[2][0] == '-')
			return -EINVAL;
		errno = 0;
		v = strtoull(argv[2], &end, 0);
		if (errno || !*argv[2] || *end)
			return -EINVAL;
		if (argv[1][0] == 'b') {
			if (!v)
				return -EINVAL;
			n.kind = HOSTILE_BULK_HALT;
			n.halt_after = v;
		} else {
			n.kind = HOSTILE_RANDOM;
			n.seed = v;
		}
	} else {
		return -EINVAL;
	}
	if (n.kind == HOSTILE_EDID_FLIP &&
	    monitor_build(mon->name && !strcmp(mon->name, "vga600") ? "dvi1080" : "vga600",
			  &n.other))
		return -EINVAL;
	n.silent_left = HOSTILE_SILENT_MAX;
	if (n.kind == HOSTILE_RANDOM)
		random_edid(&n, mon);
	*h = n;
	return 0;
}

void hostile_describe(const struct hostile *h, char *buf, size_t len)
{
	static const char *const names[] = {
		[HOSTILE_OFF] = "off", [HOSTILE_EDID_CHECKSUM] = "edid-checksum",
		[HOSTILE_EDID_EXT255] = "edid-ext255", [HOSTILE_EDID_SHORT] = "edid-short",
		[HOSTILE_EDID_STATUS] = "edid-status", [HOSTILE_EDID_FLIP] = "edid-flip",
		[HOSTILE_CTRL_SILENT] = "ctrl-silent", [HOSTILE_BULK_HALT] = "bulk-halt",
		[HOSTILE_RANDOM] = "random",
	};

	if (h->kind == HOSTILE_BULK_HALT)
		snprintf(buf, len, "%s %llu", names[h->kind], h->halt_after);
	else if (h->kind == HOSTILE_RANDOM)
		snprintf(buf, len, "%s %llu (%s)", names[h->kind], (unsigned long long)h->seed,
			 h->edid_what);
	else
		snprintf(buf, len, "%s", names[h->kind]);
}

enum hostile_act hostile_action(struct hostile *h)
{
	uint64_t r;

	h->cur = h->requests++;
	switch (h->kind) {
	case HOSTILE_CTRL_SILENT:
		return HACT_SILENT;
	case HOSTILE_RANDOM:
		r = mix(h->seed, h->cur) % 100;
		if (r < 3 && h->silent_left) {
			h->silent_left--;
			return HACT_SILENT;
		}
		return r < 8 ? HACT_STALL : HACT_ANSWER;
	default:
		return HACT_ANSWER;
	}
}

unsigned int hostile_edid_reply(struct hostile *h, const struct monitor *mon,
				unsigned int off, unsigned int len, uint8_t *buf)
{
	const struct monitor *src = mon;
	unsigned int i, o;
	uint64_t r;

	if (h->kind == HOSTILE_EDID_FLIP && (h->cur & 1))
		src = &h->other;
	buf[0] = 0;
	for (i = 1; i < len; i++) {
		o = (off + i - 1) & 0xff;
		buf[i] = h->kind == HOSTILE_RANDOM ? h->edid[o] : edid_at(src, o);
		if (h->kind == HOSTILE_EDID_CHECKSUM && (o & 127) == 127)
			buf[i] ^= 0xa5;
		/* 255 extensions, and the checksum byte that keeps the block valid */
		if (h->kind == HOSTILE_EDID_EXT255 && o == 126)
			buf[i] = 255;
		if (h->kind == HOSTILE_EDID_EXT255 && o == 127)
			buf[i] = (uint8_t)(edid_at(src, 127) + edid_at(src, 126) - 255);
	}
	switch (h->kind) {
	case HOSTILE_EDID_SHORT:
		return len / 2;
	case HOSTILE_EDID_STATUS:
		buf[0] = 0x01;
		return len;
	case HOSTILE_RANDOM:
		r = mix(h->seed, h->cur);
		switch ((r >> 8) % 100 / 8) {
		case 0:		/* short: 0 to len - 1 bytes */
			return (unsigned int)((r >> 16) % len);
		case 1:		/* a bad status byte */
			buf[0] = (uint8_t)(1 + (r >> 24) % 255);
			return len;
		case 2:		/* content that differs from the last read */
			if (len > 1)
				buf[1 + (r >> 32) % (len - 1)] ^= (uint8_t)(1u << ((r >> 40) & 7));
			return len;
		default:
			return len;
		}
	default:
		return len;
	}
}
