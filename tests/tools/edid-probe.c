// SPDX-License-Identifier: GPL-2.0-only
/*
 * edid-probe: the emulated adapter's device side checked with no kernel
 * driver: select the standard channel, read the EDID through the vendor
 * request with every transfer length udl, udlfb and the BSDs use, read the
 * status dword, and make sure an unknown request stalls without wedging ep0.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libusb-1.0/libusb.h>

#include "edidcheck.h"

#define TIMEOUT_MS	1000

static const uint8_t std_key[16] = {
	0x57, 0xcd, 0xdc, 0xa7, 0x1c, 0x88, 0x5e, 0x15,
	0x60, 0xfe, 0xc6, 0x97, 0x16, 0x3d, 0x47, 0xf2
};

static int die(const char *what, int err)
{
	fprintf(stderr, "edid-probe: %s%s%s\n", what, err ? ": " : "",
		err ? libusb_error_name(err) : "");
	exit(1);
}

/* EDID bytes [off, off + n) with one request of wLength n + 1 */
static void read_chunk(libusb_device_handle *h, unsigned int off, uint8_t *dst,
		       unsigned int n)
{
	uint8_t buf[64];
	int r;

	r = libusb_control_transfer(h, 0xc0, 0x02, off << 8, 0xa1, buf, n + 1, TIMEOUT_MS);
	if (r < 0)
		die("EDID read", r);
	if (r != (int)n + 1) {
		fprintf(stderr, "edid-probe: EDID read at %u: %d of %u bytes\n", off, r, n + 1);
		exit(1);
	}
	if (buf[0]) {
		fprintf(stderr, "edid-probe: EDID read at %u: status 0x%02x\n", off, buf[0]);
		exit(1);
	}
	memcpy(dst, buf + 1, n);
}

/* one 128-byte block: udl's 1-byte reads, then 63-byte and odd-sized reads */
static void read_block(libusb_device_handle *h, unsigned int base, uint8_t *dst)
{
	unsigned int off = 0, n;
	static const unsigned int sizes[] = { 63, 17, 1, 40 };
	int s = 0;

	for (; off < 8; off++)
		read_chunk(h, base + off, dst + off, 1);
	while (off < 128) {
		n = sizes[s++ % 4];
		if (n > 128 - off)
			n = 128 - off;
		read_chunk(h, base + off, dst + off, n);
		off += n;
	}
}

int main(int argc, char **argv)
{
	const char *expect = NULL, *why;
	libusb_device_handle *h = NULL;
	uint8_t edid[256] = { 0 }, st[4], junk[4], hdr[8];
	struct edid_info info;
	int r, i;

	static const struct option opts[] = {
		{ "expect", required_argument, NULL, 'e' },
		{ }
	};
	while ((r = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (r != 'e') {
			fprintf(stderr, "usage: edid-probe [--expect MONITOR]\n");
			return 2;
		}
		expect = optarg;
	}

	r = libusb_init(NULL);
	if (r)
		die("libusb_init", r);
	/* the gadget may still be enumerating */
	for (i = 0; i < 100 && !h; i++) {
		libusb_device **list;
		ssize_t n = libusb_get_device_list(NULL, &list), k;

		for (k = 0; k < n && !h; k++) {
			struct libusb_device_descriptor dd;

			if (!libusb_get_device_descriptor(list[k], &dd) &&
			    dd.idVendor == 0x17e9 && libusb_open(list[k], &h))
				h = NULL;
		}
		libusb_free_device_list(list, 1);
		if (!h)
			usleep(100000);
	}
	if (!h)
		die("no 17e9 device found", 0);
	/* the suite forbids kernel drivers; allow a moment for a release in flight */
	for (i = 0; i < 30 && libusb_kernel_driver_active(h, 0) == 1; i++)
		usleep(100000);
	if (libusb_kernel_driver_active(h, 0) == 1) {
		fprintf(stderr, "edid-probe: a kernel driver is bound to the adapter:\n");
		r = system("for d in /sys/bus/usb/devices/*:1.0; do echo \"  $d -> $(readlink $d/driver)\"; done >&2");
		exit(1);
	}
	r = libusb_claim_interface(h, 0);
	if (r)
		die("claim interface 0", r);

	r = libusb_control_transfer(h, 0x40, 0x12, 0, 0, (uint8_t *)std_key, 16, TIMEOUT_MS);
	if (r != 16)
		die("channel select", r < 0 ? r : 0);

	read_block(h, 0, edid);
	edid_parse(edid, 128, &info);
	if (!info.none && edid[126] >= 1)
		read_block(h, 128, edid + 128);
	edid_parse(edid, info.none || !edid[126] ? 128 : 256, &info);

	r = libusb_control_transfer(h, 0xc0, 0x06, 0, 0, st, 4, TIMEOUT_MS);
	if (r != 4)
		die("status request", r < 0 ? r : 0);

	r = libusb_control_transfer(h, 0xc0, 0x7e, 0, 0, junk, 4, TIMEOUT_MS);
	if (r != LIBUSB_ERROR_PIPE)
		die("an unknown vendor request did not stall", r < 0 ? r : 0);
	/* and ep0 still works after the stall */
	for (i = 0; i < 8; i++)
		read_chunk(h, i, hdr + i, 1);
	if (memcmp(hdr, edid, 8))
		die("EDID header differs after a stall", 0);

	if (info.none)
		printf("monitor: none\n");
	else
		printf("edid: %u bytes, %s, preferred %ux%u @ %u kHz, extensions %u, checksums %s%s\n",
		       edid[126] ? 256 : 128, info.digital ? "digital" : "analog",
		       info.pref_w, info.pref_h, info.pref_khz, info.extensions,
		       info.sums_ok[0] ? "ok" : "BAD",
		       edid[126] ? (info.sums_ok[1] ? "/ok" : "/BAD") : "");
	printf("status: %02x %02x %02x %02x\n", st[0], st[1], st[2], st[3]);

	libusb_release_interface(h, 0);
	libusb_close(h);
	libusb_exit(NULL);
	if (expect) {
		why = edid_expect(&info, edid, expect);
		if (why) {
			fprintf(stderr, "edid-probe: not the %s monitor: %s\n", expect, why);
			return 1;
		}
		printf("ok: %s\n", expect);
	} else if (!info.none && (!info.header_ok || !info.sums_ok[0])) {
		fprintf(stderr, "edid-probe: invalid EDID\n");
		return 1;
	}
	return 0;
}
