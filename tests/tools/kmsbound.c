// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmsbound: the blocking ioctls a client issues against a card, each timed
 * against a bound. GETCONNECTOR (as master: a forced probe, which talks to
 * the adapter), then with --commit a SETCRTC that lights the connector's
 * preferred mode (or 800x600 when it offers none) on a dumb buffer and one
 * that turns the CRTC off. With --loop SEC the round repeats for that long
 * (a yank, or a fault coming and going, lands in the middle of it).
 *
 *   kmsbound --driver NAME [--bound-ms MS] [--commit] [--loop SEC]
 *
 * Prints one line: the slowest of each ioctl and the connector as last
 * read (status, number of modes, the preferred one). Exit 0 when every ioctl succeeded within the bound (default
 * 5000 ms), 1 when one failed or took longer, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xf86drm.h>
#include <xf86drmMode.h>

#include "kmsutil.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 800x600@60 (VESA DMT), for a connector that offers no mode */
static const drmModeModeInfo mode_800 = {
	.clock = 40000,
	.hdisplay = 800, .hsync_start = 840, .hsync_end = 968, .htotal = 1056,
	.vdisplay = 600, .vsync_start = 601, .vsync_end = 605, .vtotal = 628,
	.vrefresh = 60,
	.flags = DRM_MODE_FLAG_PHSYNC | DRM_MODE_FLAG_PVSYNC,
	.name = "800x600",
};

struct worst {
	double getconn, setcrtc, off;
	int errors;
};

static void note(double *worst, double t0)
{
	double t = now_ms() - t0;

	if (t > *worst)
		*worst = t;
}

/* one round; the connector's state in @status, @modes */
static void round_once(int fd, uint32_t crtc, uint32_t conn_id, bool commit,
		       struct worst *w, char *status, size_t slen, int *modes,
		       char *pref, size_t plen)
{
	drmModeModeInfo mode = mode_800;
	drmModeConnectorPtr conn;
	struct kms_dumb d;
	double t0;
	int i, ret;

	t0 = now_ms();
	conn = drmModeGetConnector(fd, conn_id);
	note(&w->getconn, t0);
	if (!conn) {
		fprintf(stderr, "kmsbound: GETCONNECTOR: %s\n", strerror(errno));
		w->errors++;
		return;
	}
	snprintf(status, slen, "%s", conn->connection == DRM_MODE_CONNECTED ? "connected" :
		 conn->connection == DRM_MODE_DISCONNECTED ? "disconnected" : "unknown");
	*modes = conn->count_modes;
	snprintf(pref, plen, "none");
	for (i = 0; i < conn->count_modes; i++) {
		if (i && !(conn->modes[i].type & DRM_MODE_TYPE_PREFERRED))
			continue;
		mode = conn->modes[i];
		if (mode.type & DRM_MODE_TYPE_PREFERRED)
			snprintf(pref, plen, "%ux%u", mode.hdisplay, mode.vdisplay);
	}
	drmModeFreeConnector(conn);
	if (!commit)
		return;
	ret = kms_dumb_new(fd, mode.hdisplay, mode.vdisplay, &d);
	if (!ret)
		ret = kms_dumb_fb(fd, &d);
	if (ret) {
		fprintf(stderr, "kmsbound: a %ux%u framebuffer: %s\n", mode.hdisplay,
			mode.vdisplay, strerror(-ret));
		w->errors++;
		return;
	}
	t0 = now_ms();
	ret = drmModeSetCrtc(fd, crtc, d.fb, 0, 0, &conn_id, 1, &mode);
	note(&w->setcrtc, t0);
	if (ret) {
		fprintf(stderr, "kmsbound: SETCRTC %s: %s\n", mode.name, strerror(errno));
		w->errors++;
	}
	t0 = now_ms();
	ret = drmModeSetCrtc(fd, crtc, 0, 0, 0, NULL, 0, NULL);
	note(&w->off, t0);
	if (ret) {
		fprintf(stderr, "kmsbound: SETCRTC off: %s\n", strerror(errno));
		w->errors++;
	}
	kms_dumb_free(fd, &d);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ "bound-ms", required_argument, NULL, 'b' },
		{ "commit", no_argument, NULL, 'c' },
		{ "loop", required_argument, NULL, 'l' },
		{ }
	};
	const char *driver = NULL;
	double bound = 5000, loop = 0, end, max;
	struct worst w = { 0 };
	char path[64], status[16] = "none", pref[24] = "none";
	bool commit = false;
	drmModeResPtr res;
	int r, fd, modes = 0, rounds = 0;

	while ((r = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (r) {
		case 'd': driver = optarg; break;
		case 'b': bound = atof(optarg); break;
		case 'c': commit = true; break;
		case 'l': loop = atof(optarg); break;
		default: driver = NULL; optind = argc; break;
		}
	}
	if (!driver || bound <= 0 || loop < 0) {
		fprintf(stderr, "usage: kmsbound --driver NAME [--bound-ms MS] [--commit] [--loop SEC]\n");
		return 2;
	}
	fd = kms_open_driver(driver, path, sizeof(path));
	if (fd < 0) {
		fprintf(stderr, "kmsbound: no %s card\n", driver);
		return 1;
	}
	drmSetMaster(fd);	/* fbcon is not a master: a forced probe needs one */
	res = drmModeGetResources(fd);
	if (!res || !res->count_connectors || !res->count_crtcs) {
		fprintf(stderr, "kmsbound: GETRESOURCES: %s\n", res ? "no connector or CRTC" :
			strerror(errno));
		return 1;
	}
	end = now_ms() + loop * 1e3;
	do {
		round_once(fd, res->crtcs[0], res->connectors[0], commit, &w, status,
			   sizeof(status), &modes, pref, sizeof(pref));
		rounds++;
	} while (now_ms() < end && !w.errors);
	drmModeFreeResources(res);
	close(fd);
	max = w.getconn > w.setcrtc ? w.getconn : w.setcrtc;
	max = w.off > max ? w.off : max;
	printf("kmsbound: %s %d rounds: getconnector_ms=%.0f setcrtc_ms=%.0f off_ms=%.0f max_ms=%.0f "
	       "bound_ms=%.0f status=%s modes=%d preferred=%s errors=%d\n", path, rounds, w.getconn,
	       w.setcrtc, w.off, max, bound, status, modes, pref, w.errors);
	return w.errors || max > bound ? 1 : 0;
}
