/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The hostile adapter: faults dlemu puts into its control replies (EDID
 * content, reply length, status byte, requests never answered) and the
 * bulk halt in the middle of a frame, named or generated from a seed. Pure
 * functions of their state, so the unit tests check them off the wire.
 */
#ifndef DLEMU_HOSTILE_H
#define DLEMU_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edid.h"

enum hostile_kind {
	HOSTILE_OFF,
	HOSTILE_EDID_CHECKSUM,	/* every EDID block's checksum byte wrong */
	HOSTILE_EDID_EXT255,	/* the base block claims 255 extensions (checksum kept right) */
	HOSTILE_EDID_SHORT,	/* EDID replies carry half the bytes asked for */
	HOSTILE_EDID_STATUS,	/* EDID replies with a non-zero status byte (an I2C NAK) */
	HOSTILE_EDID_FLIP,	/* the EDID changes from one request to the next */
	HOSTILE_CTRL_SILENT,	/* no vendor request is answered: the host times out */
	HOSTILE_BULK_HALT,	/* the bulk endpoint halts after so many more bytes */
	HOSTILE_RANDOM,		/* mutations drawn from a seed, request by request */
};

/* what to do with a vendor request */
enum hostile_act { HACT_ANSWER, HACT_STALL, HACT_SILENT };

/* unanswered requests a seed may draw: each costs the host its 1 s timeout */
#define HOSTILE_SILENT_MAX	2

struct hostile {
	enum hostile_kind kind;
	uint64_t seed;
	unsigned long long requests;	/* vendor requests since it was set */
	unsigned long long cur;		/* the number of the one being answered */
	unsigned int silent_left;
	unsigned long long halt_after;	/* bulk-halt: bytes */
	struct monitor other;		/* edid-flip: the other monitor */
	uint8_t edid[256];		/* random: the seed's EDID, as the request reaches it */
	char edid_what[96];		/* random: what was done to it */
};

/*
 * "hostile off | edid-checksum | edid-ext255 | edid-short | edid-status |
 * edid-flip | ctrl-silent | bulk-halt BYTES | random SEED" (argv[0] is
 * "hostile"): sets @h afresh, 0, or -EINVAL leaving @h as it was. @mon is
 * the monitor now, which random and edid-flip start from.
 */
int hostile_set(struct hostile *h, int argc, char **argv, const struct monitor *mon);

/* The name and argument of @h, as set ("random 42"). */
void hostile_describe(const struct hostile *h, char *buf, size_t len);

/* Counts a vendor request and says what to do with it. */
enum hostile_act hostile_action(struct hostile *h);

/*
 * The reply to the EDID request for offset @off, @len bytes asked
 * (a status byte, then @len - 1 EDID bytes from @mon, wrapping within the
 * first 256 as the adapter's offset does), put in @buf, as @h makes it:
 * returns how many bytes to send, at most @len.
 */
unsigned int hostile_edid_reply(struct hostile *h, const struct monitor *mon,
				unsigned int off, unsigned int len, uint8_t *buf);

#endif
