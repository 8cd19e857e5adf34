/* SPDX-License-Identifier: GPL-2.0-only */
/* The monitors dlemu can present: EDIDs built from their timings. */
#ifndef DLEMU_EDID_H
#define DLEMU_EDID_H

#include <stddef.h>
#include <stdint.h>

/*
 * A monitor may have more blocks than the vendor request can address (256
 * bytes, the first E-DDC segment): reads wrap within those 256 bytes.
 */
#define EDID_MAX	512

struct monitor {
	const char *name;
	uint8_t edid[EDID_MAX];
	size_t len;		/* 0 for "none": reads return zeros */
};

/* Fills @m for @name; returns -1 for an unknown name. */
int monitor_build(const char *name, struct monitor *m);
extern const char *const monitor_names[];

#endif
