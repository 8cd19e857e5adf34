/* SPDX-License-Identifier: GPL-2.0-only */
/* EDID and pixel helpers of the guest tools, pure so the host can test them. */
#ifndef EDIDCHECK_H
#define EDIDCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct edid_info {
	bool none;		/* first 8 bytes zero: no monitor */
	bool header_ok;
	bool sums_ok[2];
	bool digital;
	unsigned int extensions;
	unsigned int pref_w, pref_h, pref_khz;
};

void edid_parse(const uint8_t *e, size_t len, struct edid_info *i);
/* 0 if @i matches the emulator's monitor @name, else a reason */
const char *edid_expect(const struct edid_info *i, const uint8_t *e, const char *name);

/* What the emulator's frame-raw shows for a source pixel. */
uint32_t expect_from_xrgb(uint32_t px);
uint32_t expect_from_565(uint16_t v);

#endif
