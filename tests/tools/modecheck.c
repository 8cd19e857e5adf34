// SPDX-License-Identifier: GPL-2.0-only
/*
 * modecheck: modes userspace makes up must be refused when the adapter
 * cannot scan them out as the driver would program them, and the
 * connector's own mode must still work.
 *
 * From the connected connector's preferred mode M (the same size, so only
 * the named property is wrong):
 *   - M interlaced: the core halves the vertical crtc_ timings;
 *   - M doublescanned: the core doubles them;
 *   - doublescanned with vtotal 33000: the doubled crtc_vtotal wraps 16 bits;
 *   - vtotal 0xffff: a count the 16-bit LFSR timing counters cannot hold;
 *   - M at a 1 MHz clock (under 1 Hz), and at 1 kHz with vtotal 65000 (a
 *     vblank about a day long).
 * Each must fail with EINVAL as an atomic TEST_ONLY commit, a real atomic
 * commit and a legacy SETCRTC. A mode TEST_ONLY accepts is not committed
 * for real (on a driver that takes it, a day-long vblank would stall the
 * rest of the run): that is reported as a failure of its own. Then M
 * itself must pass TEST_ONLY, a real atomic commit and SETCRTC.
 *
 *   modecheck [--driver NAME] [--break]
 *
 * --break expects the opposite of each check, to show that each can fail.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xf86drm.h>
#include <xf86drmMode.h>

#include "kmsutil.h"

static bool broken;
static int passed, failed;

static void result(bool good, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void result(bool good, const char *fmt, ...)
{
	va_list ap;

	if (broken)
		good = !good;
	printf(good ? "ok - " : "not ok - ");
	if (broken)
		printf("[break] ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (good)
		passed++;
	else
		failed++;
}

static void die(const char *msg)
{
	fprintf(stderr, "modecheck: %s: %s\n", msg, strerror(errno));
	exit(2);
}

struct kms {
	int fd;
	uint32_t conn, crtc, plane, fb;
	uint32_t p_mode_id, p_active, p_conn_crtc, p_fb, p_crtc, p_src_w, p_src_h,
		 p_crtc_w, p_crtc_h;
};

/* an atomic modeset of @m on the pipe: 0 or errno */
static int commit(struct kms *k, const drmModeModeInfo *m, bool test_only)
{
	drmModeAtomicReqPtr req = drmModeAtomicAlloc();
	uint32_t blob = 0;
	int r;

	if (drmModeCreatePropertyBlob(k->fd, m, sizeof(*m), &blob))
		die("CREATEPROPBLOB");
	drmModeAtomicAddProperty(req, k->crtc, k->p_mode_id, blob);
	drmModeAtomicAddProperty(req, k->crtc, k->p_active, 1);
	drmModeAtomicAddProperty(req, k->conn, k->p_conn_crtc, k->crtc);
	drmModeAtomicAddProperty(req, k->plane, k->p_fb, k->fb);
	drmModeAtomicAddProperty(req, k->plane, k->p_crtc, k->crtc);
	drmModeAtomicAddProperty(req, k->plane, k->p_src_w, (uint64_t)m->hdisplay << 16);
	drmModeAtomicAddProperty(req, k->plane, k->p_src_h, (uint64_t)m->vdisplay << 16);
	drmModeAtomicAddProperty(req, k->plane, k->p_crtc_w, m->hdisplay);
	drmModeAtomicAddProperty(req, k->plane, k->p_crtc_h, m->vdisplay);
	r = drmModeAtomicCommit(k->fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET |
				(test_only ? DRM_MODE_ATOMIC_TEST_ONLY : 0), NULL);
	r = r ? errno : 0;
	drmModeAtomicFree(req);
	drmModeDestroyPropertyBlob(k->fd, blob);
	return r;
}

static int setcrtc(struct kms *k, drmModeModeInfo *m)
{
	return drmModeSetCrtc(k->fd, k->crtc, k->fb, 0, 0, &k->conn, 1, m) ? errno : 0;
}

static const char *err(int e)
{
	return e ? strerror(e) : "success";
}

static void refused(struct kms *k, drmModeModeInfo *m, const char *what)
{
	int r;

	snprintf(m->name, sizeof(m->name), "%ux%u%s", m->hdisplay, m->vdisplay,
		 m->flags & DRM_MODE_FLAG_INTERLACE ? "i" : "");
	r = commit(k, m, true);
	result(r == EINVAL, "%s: atomic TEST_ONLY fails with EINVAL (got %s)", what, err(r));
	if (r != EINVAL) {
		result(false, "%s: real atomic commit and SETCRTC not tried: TEST_ONLY took the mode",
		       what);
		return;
	}
	r = commit(k, m, false);
	result(r == EINVAL, "%s: atomic commit fails with EINVAL (got %s)", what, err(r));
	r = setcrtc(k, m);
	result(r == EINVAL, "%s: SETCRTC fails with EINVAL (got %s)", what, err(r));
}

static uint32_t prop(struct kms *k, uint32_t obj, uint32_t type, const char *name)
{
	uint32_t id = kms_prop_id(k->fd, obj, type, name);

	if (!id) {
		fprintf(stderr, "modecheck: no property %s\n", name);
		exit(2);
	}
	return id;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ "break", no_argument, NULL, 'b' },
		{ }
	};
	const char *driver = "dlkms";
	drmModeModeInfo good, m;
	drmModeConnectorPtr c = NULL;
	drmModeResPtr res;
	drmModePlaneResPtr pres;
	struct kms_dumb d;
	struct kms k = { 0 };
	char path[64];
	unsigned int i;
	int r;

	while ((r = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (r == 'd') {
			driver = optarg;
		} else if (r == 'b') {
			broken = true;
		} else {
			fprintf(stderr, "usage: modecheck [--driver NAME] [--break]\n");
			return 2;
		}
	}
	k.fd = kms_open_driver(driver, path, sizeof(path));
	if (k.fd < 0) {
		fprintf(stderr, "modecheck: no %s card\n", driver);
		return 2;
	}
	if (drmSetClientCap(k.fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1) ||
	    drmSetClientCap(k.fd, DRM_CLIENT_CAP_ATOMIC, 1))
		die("client caps");
	res = drmModeGetResources(k.fd);
	if (!res || !res->count_crtcs)
		die("GETRESOURCES");
	k.crtc = res->crtcs[0];
	for (i = 0; i < (unsigned int)res->count_connectors && !k.conn; i++) {
		c = drmModeGetConnector(k.fd, res->connectors[i]);
		if (c && c->connection == DRM_MODE_CONNECTED && c->count_modes)
			k.conn = c->connector_id;
		else
			drmModeFreeConnector(c);
	}
	if (!k.conn)
		die("no connected connector with modes");
	good = c->modes[0];
	for (i = 0; i < (unsigned int)c->count_modes; i++)
		if (c->modes[i].type & DRM_MODE_TYPE_PREFERRED)
			good = c->modes[i];
	pres = drmModeGetPlaneResources(k.fd);
	for (i = 0; pres && i < pres->count_planes && !k.plane; i++) {
		drmModePlanePtr p = drmModeGetPlane(k.fd, pres->planes[i]);
		uint32_t type = kms_prop_id(k.fd, p->plane_id, DRM_MODE_OBJECT_PLANE, "type");
		drmModeObjectPropertiesPtr props =
			drmModeObjectGetProperties(k.fd, p->plane_id, DRM_MODE_OBJECT_PLANE);
		unsigned int j;

		for (j = 0; props && j < props->count_props; j++)
			if (props->props[j] == type &&
			    props->prop_values[j] == DRM_PLANE_TYPE_PRIMARY)
				k.plane = p->plane_id;
		drmModeFreeObjectProperties(props);
		drmModeFreePlane(p);
	}
	if (!k.plane)
		die("no primary plane");
	k.p_mode_id = prop(&k, k.crtc, DRM_MODE_OBJECT_CRTC, "MODE_ID");
	k.p_active = prop(&k, k.crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE");
	k.p_conn_crtc = prop(&k, k.conn, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID");
	k.p_fb = prop(&k, k.plane, DRM_MODE_OBJECT_PLANE, "FB_ID");
	k.p_crtc = prop(&k, k.plane, DRM_MODE_OBJECT_PLANE, "CRTC_ID");
	k.p_src_w = prop(&k, k.plane, DRM_MODE_OBJECT_PLANE, "SRC_W");
	k.p_src_h = prop(&k, k.plane, DRM_MODE_OBJECT_PLANE, "SRC_H");
	k.p_crtc_w = prop(&k, k.plane, DRM_MODE_OBJECT_PLANE, "CRTC_W");
	k.p_crtc_h = prop(&k, k.plane, DRM_MODE_OBJECT_PLANE, "CRTC_H");
	if (kms_dumb_new(k.fd, good.hdisplay, good.vdisplay, &d) || kms_dumb_fb(k.fd, &d))
		die("dumb buffer");
	k.fb = d.fb;
	printf("# %s: %s %ux%u clock %u htotal %u vtotal %u, connector %u, crtc %u, plane %u%s\n",
	       path, good.name, good.hdisplay, good.vdisplay, good.clock, good.htotal,
	       good.vtotal, k.conn, k.crtc, k.plane,
	       broken ? "; --break: every check expects the wrong thing" : "");

	m = good;
	m.flags |= DRM_MODE_FLAG_INTERLACE;
	refused(&k, &m, "interlaced");
	m = good;
	m.flags |= DRM_MODE_FLAG_DBLSCAN;
	refused(&k, &m, "doublescan");
	m = good;
	m.flags |= DRM_MODE_FLAG_DBLSCAN;
	m.vtotal = 33000;
	refused(&k, &m, "doublescan, crtc_vtotal 66000 (wraps 16 bits)");
	m = good;
	m.vtotal = 0xffff;
	refused(&k, &m, "vtotal 0xffff (the LFSR counter's 0)");
	m = good;
	m.clock = 1000;
	refused(&k, &m, "clock 1 MHz (under 1 Hz)");
	m = good;
	m.clock = 1;
	m.vtotal = 65000;
	refused(&k, &m, "clock 1 kHz, vtotal 65000 (a vblank a day long)");

	r = commit(&k, &good, true);
	result(!r, "%s: atomic TEST_ONLY succeeds (got %s)", good.name, err(r));
	r = commit(&k, &good, false);
	result(!r, "%s: atomic commit succeeds (got %s)", good.name, err(r));
	r = setcrtc(&k, &good);
	result(!r, "%s: SETCRTC succeeds (got %s)", good.name, err(r));

	kms_dumb_free(k.fd, &d);
	drmModeFreeConnector(c);
	drmModeFreeResources(res);
	close(k.fd);
	printf("# %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
