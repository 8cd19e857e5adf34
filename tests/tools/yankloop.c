// SPDX-License-Identifier: GPL-2.0-only
/*
 * yankloop: plug the emulated adapter, start a random workload on it, yank
 * it at a random moment while the workload runs on, and judge what the
 * workload saw -- then again, for --cycles rounds. It is the random half of
 * the hot-unplug tests; yankcheck is the item-by-item half.
 *
 * Workloads (--only NAME runs just one):
 *   idle     master fd with a mode set, nothing else
 *   storm    non-blocking atomic page flips as fast as the device takes
 *            them (EBUSY waits for the pending one), TEST_ONLY between
 *   flip     legacy PAGE_FLIP with an event, one after the other
 *   modeset  atomic full modesets between two modes, disable/enable,
 *            legacy SETCRTC
 *   fbcon    no DRM fd: text written to tty1, which fbcon draws on us
 *   lease    a lessee flipping its leased CRTC; the master holds the lease
 *   mmap     a dumb buffer written and read back in a tight loop, through
 *            its first mapping and fresh ones
 *   dmabuf   a dumb buffer's dma-buf, imported into vgem (again and
 *            again) and written/read through its own mapping
 *   churn    dumb create / map / write / ADDFB / RMFB / destroy
 *   stall    legacy flips while the emulator has stopped draining the bulk
 *            endpoint, so URBs are outstanding at the yank
 *   probe    the yank comes during probe and the first frame: no fd
 *
 * After every yank: the card node goes; the master (where there is one)
 * sees the connector disconnected, CREATE_LEASE fails with ENODEV and a
 * TEST_ONLY commit of its state succeeds; the workload's own operations
 * keep succeeding, without SIGBUS, and an event workload gets at least 3
 * more events, never closer than half a frame apart on average (not a
 * busy loop), and every event it is owed. After the cycle closed
 * everything: every DRM device dlkms registered has logged its final
 * release, /sys/module/dlkms/refcnt is 0, and the kernel log since the
 * cycle began has no warning. A failing cycle prints the seed and the
 * cycle number, which --seed and --only reproduce.
 *
 *   yankloop [--cycles N] [--seed S] [--only NAME] [--socket PATH]
 *   yankloop --break   one cycle whose checks are all inverted (must fail)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "emuctl.h"
#include "kmsutil.h"

#define DRIVER		"dlkms"
#define RELEASED	"released: the last user of the device is gone"
#define REGISTERED	"Initialized " DRIVER " "
#define EVENT_WAIT	2.0	/* s: an owed event later than this is lost */
#define NAP_MS		5

enum wl { W_IDLE, W_STORM, W_FLIP, W_MODESET, W_FBCON, W_LEASE, W_MMAP, W_DMABUF,
	  W_CHURN, W_STALL, W_PROBE, W_NR };

static const char *const wl_name[W_NR] = {
	"idle", "storm", "flip", "modeset", "fbcon", "lease", "mmap", "dmabuf",
	"churn", "stall", "probe",
};

/* what a workload needs from the cycle */
static bool wl_has_fd(enum wl w) { return w != W_FBCON && w != W_PROBE; }
static bool wl_events(enum wl w)
{
	return w == W_STORM || w == W_FLIP || w == W_LEASE || w == W_STALL;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void nap_ms(int ms)
{
	struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&d, &d) && errno == EINTR)
		;
}

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
	/* xorshift64*: reproducible from --seed on every libc */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ULL) >> 32) % n;
}

static bool broken;

/* ---- one cycle's state -------------------------------------------------- */

struct flips {
	int fd, outstanding;
	unsigned int n, n_after;
	double first_after, last_after;
};

static struct cycle {
	enum wl w;
	int fd, lfd, vfd, bfd;		/* master, lessee, vgem, dma-buf */
	char path[64];
	dev_t rdev;
	uint32_t crtc, conn, plane, lessee;
	drmModeModeInfo mode, mode2;
	double period;			/* s per frame of mode */
	unsigned int fw, fh;		/* the framebuffers' size */
	struct kms_dumb a, b;
	uint32_t *amap, *bmap;
	struct {
		uint32_t conn_crtc, crtc_mode, crtc_active, fb, pcrtc;
		uint32_t sx, sy, sw, sh, cx, cy, cw, ch;
	} p;
	uint32_t blob, blob2;
	pthread_t th;
	atomic_bool stop, yanked;
	struct flips fl;
	atomic_uint ops, ops_after;
	pthread_mutex_t lock;
	int errors;
	char err[512];
} C = { .lock = PTHREAD_MUTEX_INITIALIZER };

static unsigned int nchecks;
static char why[2048];

/* a failed check of this cycle; the first few words go into its line */
static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bad(const char *fmt, ...)
{
	size_t n = strlen(why);
	va_list ap;

	if (n && n < sizeof(why) - 3) {
		strcpy(why + n, "; ");
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(why + n, sizeof(why) - n, fmt, ap);
	va_end(ap);
}

/* one check: @good must hold (inverted by --break) */
static bool check(bool good, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool check(bool good, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	nchecks++;
	if (broken)
		good = !good;
	if (good)
		return true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bad("%s%s", broken ? "[break] " : "", msg);
	return false;
}

/* a workload thread's failure: the first one is kept, the rest counted */
static void werr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void werr(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&C.lock);
	if (!C.errors++) {
		va_start(ap, fmt);
		vsnprintf(C.err, sizeof(C.err), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&C.lock);
}

static void counted(void)
{
	C.ops++;
	if (C.yanked)
		C.ops_after++;
}

static const char *when(void)
{
	return C.yanked ? "after the yank" : "before the yank";
}

/* ---- SIGBUS: a workload touching a mapping says where it is ------------- */

static __thread sigjmp_buf bus_jmp;
static __thread volatile sig_atomic_t bus_armed;
static atomic_uint sigbus_count;

static void on_sigbus(int sig)
{
	(void)sig;
	sigbus_count++;
	if (bus_armed)
		siglongjmp(bus_jmp, 1);
	_exit(3);
}

/* fill @len bytes of @m with a pattern of @seed and read it back; false on SIGBUS */
static bool touch(volatile uint32_t *m, size_t len, uint32_t seed, long *wrong)
{
	size_t i, n = len / 4;

	*wrong = 0;
	if (sigsetjmp(bus_jmp, 1)) {
		bus_armed = 0;
		return false;
	}
	bus_armed = 1;
	for (i = 0; i < n; i += 61)
		m[i] = seed ^ (uint32_t)i;
	for (i = 0; i < n; i += 61)
		*wrong += m[i] != (seed ^ (uint32_t)i);
	bus_armed = 0;
	return true;
}

/* ---- the kernel log: registrations, releases, warnings ------------------- */

static int kmsg = -1;
static unsigned int n_registered, n_released;

/* Read what the kernel logged since the last call; warnings fail the cycle. */
static void kmsg_scan(void)
{
	static const char *const alarm[] = {
		"WARNING:", "BUG:", "Oops", "general protection", "KASAN", "UBSAN",
		"possible recursive locking", "possible circular locking",
		"blocked for more than", "list_add corruption", "list_del corruption",
		"refcount_t:", "Call Trace", "kernel NULL pointer",
	};
	char rec[8192];
	ssize_t r;
	size_t i;

	for (;;) {
		r = read(kmsg, rec, sizeof(rec) - 1);
		if (r < 0 && errno == EPIPE)
			continue;	/* records overwritten before we read them */
		if (r <= 0)
			break;
		rec[r] = 0;
		if (strstr(rec, REGISTERED))
			n_registered++;
		if (strstr(rec, RELEASED))
			n_released++;
		for (i = 0; i < sizeof(alarm) / sizeof(alarm[0]); i++)
			if (strstr(rec, alarm[i])) {
				char *msg = strchr(rec, ';');

				msg = msg ? msg + 1 : rec;
				msg[strcspn(msg, "\n")] = 0;
				nchecks++;
				bad("kernel: %.200s", msg);
				break;
			}
	}
}

static int refcnt(void)
{
	FILE *f = fopen("/sys/module/" DRIVER "/refcnt", "r");
	int n = -1;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/* ---- the card ------------------------------------------------------------ */

/* a 17e9 USB device is on the bus: the hub driver has not seen the yank yet */
static bool usb_present(void)
{
	bool found = false;
	glob_t g;
	size_t i;

	if (glob("/sys/bus/usb/devices/*/idVendor", 0, NULL, &g))
		return false;
	for (i = 0; i < g.gl_pathc && !found; i++) {
		char v[8] = "";
		FILE *f = fopen(g.gl_pathv[i], "r");

		if (!f)
			continue;
		found = fgets(v, sizeof(v), f) && !strncmp(v, "17e9", 4);
		fclose(f);
	}
	globfree(&g);
	return found;
}

static bool node_gone(void)
{
	struct stat st;

	return stat(C.path, &st) || st.st_rdev != C.rdev;
}

/* path of the dlkms card in sysfs, if there is one now */
static bool card_present(char *path, size_t plen)
{
	int fd = kms_open_driver(DRIVER, path, plen);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * The card node appears (drm_minor_register) before its connectors are
 * registered and first probed: a client that opens it at once can get
 * ENOENT from GETCONNECTOR or an unprobed connector, with every driver.
 * Wait as a udev-driven client would, for the connector's sysfs node and
 * the status the first probe gave it.
 */
static bool connector_up(void)
{
	char pat[96], st[32];
	bool up = false;
	glob_t g;
	size_t i;
	FILE *f;

	snprintf(pat, sizeof(pat), "/sys/class/drm/%s-*/status", strrchr(C.path, '/') + 1);
	if (glob(pat, 0, NULL, &g))
		return false;
	for (i = 0; i < g.gl_pathc && !up; i++) {
		f = fopen(g.gl_pathv[i], "r");
		if (!f)
			continue;
		up = fgets(st, sizeof(st), f) && !strncmp(st, "connected", 9);
		fclose(f);
	}
	globfree(&g);
	return up;
}

static bool wait_card(double timeout)
{
	double end = now() + timeout;
	struct stat st;

	do {
		if (card_present(C.path, sizeof(C.path)) && !stat(C.path, &st) && connector_up()) {
			C.rdev = st.st_rdev;
			return true;
		}
		nap_ms(20);
	} while (now() < end);
	return false;
}

/* the emulator decodes a mode: fbcon (or someone) lit the adapter */
static bool wait_lit(double timeout)
{
	double end = now() + timeout;
	char body[512];

	do {
		if (!emu("mode", body, sizeof(body)) && !strstr(body, "none"))
			return true;
		nap_ms(50);
	} while (now() < end);
	return false;
}

/* the objects, modes and properties of the card; NULL or what is missing */
static const char *pick_ids(void)
{
	drmModeResPtr res = drmModeGetResources(C.fd);
	drmModePlaneResPtr pr;
	drmModeConnectorPtr c;
	const char *ret = "no CRTC or connector";
	int i;

	if (!res || !res->count_crtcs || !res->count_connectors)
		goto out;
	C.crtc = res->crtcs[0];
	C.conn = res->connectors[0];
	c = drmModeGetConnector(C.fd, C.conn);
	if (!c || !c->count_modes) {
		snprintf(C.err, sizeof(C.err), "GETCONNECTOR failed: %s", strerror(errno));
		ret = !c ? C.err : c->connection == DRM_MODE_CONNECTED ?
			"connected, no modes" : "connector not connected, no modes";
		drmModeFreeConnector(c);
		goto out;
	}
	C.mode = c->modes[0];
	for (i = 0; i < c->count_modes; i++)
		if (c->modes[i].type & DRM_MODE_TYPE_PREFERRED)
			C.mode = c->modes[i];
	/* a second mode of another size, for modesets that change it */
	C.mode2 = C.mode;
	for (i = 0; i < c->count_modes; i++)
		if (c->modes[i].hdisplay < C.mode.hdisplay) {
			C.mode2 = c->modes[i];
			break;
		}
	drmModeFreeConnector(c);
	drmSetClientCap(C.fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1);
	drmSetClientCap(C.fd, DRM_CLIENT_CAP_ATOMIC, 1);
	pr = drmModeGetPlaneResources(C.fd);
	for (i = 0; pr && i < (int)pr->count_planes && !C.plane; i++) {
		drmModePlanePtr pl = drmModeGetPlane(C.fd, pr->planes[i]);
		uint32_t type = kms_prop_id(C.fd, pr->planes[i], DRM_MODE_OBJECT_PLANE, "type");
		drmModeObjectPropertiesPtr op = drmModeObjectGetProperties(C.fd, pr->planes[i],
									    DRM_MODE_OBJECT_PLANE);
		uint32_t k;

		for (k = 0; op && k < op->count_props; k++)
			if (op->props[k] == type && op->prop_values[k] == DRM_PLANE_TYPE_PRIMARY)
				C.plane = pr->planes[i];
		drmModeFreeObjectProperties(op);
		drmModeFreePlane(pl);
	}
	drmModeFreePlaneResources(pr);
	C.p.conn_crtc = kms_prop_id(C.fd, C.conn, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID");
	C.p.crtc_mode = kms_prop_id(C.fd, C.crtc, DRM_MODE_OBJECT_CRTC, "MODE_ID");
	C.p.crtc_active = kms_prop_id(C.fd, C.crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE");
#define PP(f, n) (C.p.f = kms_prop_id(C.fd, C.plane, DRM_MODE_OBJECT_PLANE, n))
	PP(fb, "FB_ID"); PP(pcrtc, "CRTC_ID");
	PP(sx, "SRC_X"); PP(sy, "SRC_Y"); PP(sw, "SRC_W"); PP(sh, "SRC_H");
	PP(cx, "CRTC_X"); PP(cy, "CRTC_Y"); PP(cw, "CRTC_W"); PP(ch, "CRTC_H");
#undef PP
	C.period = (double)C.mode.htotal * C.mode.vtotal / (C.mode.clock * 1000.0);
	C.fw = C.mode.hdisplay;
	C.fh = C.mode.vdisplay;
	ret = "no primary plane or its properties";
	if (C.plane && C.p.fb && C.p.crtc_mode)
		ret = "CREATEPROPBLOB of the modes failed";
	if (C.plane && C.p.fb && C.p.crtc_mode &&
	    !drmModeCreatePropertyBlob(C.fd, &C.mode, sizeof(C.mode), &C.blob) &&
	    !drmModeCreatePropertyBlob(C.fd, &C.mode2, sizeof(C.mode2), &C.blob2))
		ret = NULL;
out:
	drmModeFreeResources(res);
	return ret;
}

/* A full state: the connector on the CRTC with @m (blob @blob), @fb on the plane; or off. */
static drmModeAtomicReqPtr full_state(const drmModeModeInfo *m, uint32_t blob,
				      uint32_t fb, bool on)
{
	drmModeAtomicReqPtr req = drmModeAtomicAlloc();
	uint64_t w = on ? m->hdisplay : 0, h = on ? m->vdisplay : 0;

	drmModeAtomicAddProperty(req, C.conn, C.p.conn_crtc, on ? C.crtc : 0);
	drmModeAtomicAddProperty(req, C.crtc, C.p.crtc_mode, on ? blob : 0);
	drmModeAtomicAddProperty(req, C.crtc, C.p.crtc_active, on);
	drmModeAtomicAddProperty(req, C.plane, C.p.fb, on ? fb : 0);
	drmModeAtomicAddProperty(req, C.plane, C.p.pcrtc, on ? C.crtc : 0);
	drmModeAtomicAddProperty(req, C.plane, C.p.sx, 0);
	drmModeAtomicAddProperty(req, C.plane, C.p.sy, 0);
	drmModeAtomicAddProperty(req, C.plane, C.p.sw, w << 16);
	drmModeAtomicAddProperty(req, C.plane, C.p.sh, h << 16);
	drmModeAtomicAddProperty(req, C.plane, C.p.cx, 0);
	drmModeAtomicAddProperty(req, C.plane, C.p.cy, 0);
	drmModeAtomicAddProperty(req, C.plane, C.p.cw, w);
	drmModeAtomicAddProperty(req, C.plane, C.p.ch, h);
	return req;
}

static int commit_full(int fd, const drmModeModeInfo *m, uint32_t blob, uint32_t fb, bool on,
		       uint32_t flags)
{
	drmModeAtomicReqPtr req = full_state(m, blob, fb, on);
	int r = drmModeAtomicCommit(fd, req, flags | DRM_MODE_ATOMIC_ALLOW_MODESET, NULL);

	r = r ? -errno : 0;
	drmModeAtomicFree(req);
	return r;
}

/* ---- events -------------------------------------------------------------- */

static void on_flip(int fd, unsigned int seq, unsigned int sec, unsigned int usec,
		    unsigned int crtc, void *data)
{
	struct flips *f = data;
	double t = now();

	(void)fd; (void)seq; (void)sec; (void)usec; (void)crtc;
	f->outstanding--;
	f->n++;
	if (C.yanked) {
		if (!f->n_after++)
			f->first_after = t;
		f->last_after = t;
	}
}

/* wait until @f has at most @upto events outstanding; false after @timeout */
static bool wait_flips(struct flips *f, int upto, double timeout)
{
	drmEventContext ev = { .version = 3, .page_flip_handler2 = on_flip };
	struct pollfd p = { .fd = f->fd, .events = POLLIN };
	double end = now() + timeout;

	while (f->outstanding > upto) {
		int ms = (int)((end - now()) * 1000);

		/* a timeout of 0 takes what has come without waiting */
		if (poll(&p, 1, ms > 0 ? ms : 0) <= 0)
			return false;
		drmHandleEvent(f->fd, &ev);
	}
	return true;
}

/* ---- workloads (each in its own thread, until C.stop) ------------------- */

static void *wl_idle(void *arg)
{
	(void)arg;
	while (!C.stop)
		nap_ms(NAP_MS);
	return NULL;
}

/* legacy flips on @f->fd between A and B, each waited for */
static void legacy_flips(struct flips *f, double wait)
{
	uint32_t fb[2] = { C.a.fb, C.b.fb };
	unsigned int i;

	for (i = 0; !C.stop; i++) {
		bool was = C.yanked;

		if (drmModePageFlip(f->fd, C.crtc, fb[i & 1], DRM_MODE_PAGE_FLIP_EVENT, f)) {
			werr("PAGE_FLIP %s: %s", when(), strerror(errno));
			return;
		}
		f->outstanding++;
		counted();
		/* a flip stuck at the yank waits for it, then must come */
		if (!wait_flips(f, 0, was ? EVENT_WAIT : wait)) {
			werr("a page flip %s never delivered its event (%.0f s)", was ? "after the yank" :
			     "before the yank", was ? EVENT_WAIT : wait);
			return;
		}
	}
}

/* flips on C.fl.fd: the master's, or with a lease the lessee's (setup) */
static void *wl_flip(void *arg)
{
	(void)arg;
	legacy_flips(&C.fl, EVENT_WAIT);
	return NULL;
}

static void *wl_stall(void *arg)
{
	(void)arg;
	/* before the yank, the stopped drain may hold a flip until it comes */
	legacy_flips(&C.fl, 30.0);
	return NULL;
}

static void *wl_storm(void *arg)
{
	const uint32_t flags = DRM_MODE_PAGE_FLIP_EVENT | DRM_MODE_ATOMIC_NONBLOCK;
	uint32_t fb[2] = { C.a.fb, C.b.fb };
	unsigned int i;

	(void)arg;
	for (i = 0; !C.stop; i++) {
		drmModeAtomicReqPtr req = drmModeAtomicAlloc();
		int r;

		drmModeAtomicAddProperty(req, C.plane, C.p.fb, fb[i & 1]);
		if (!(i % 4)) {
			r = drmModeAtomicCommit(C.fd, req, DRM_MODE_ATOMIC_TEST_ONLY, NULL);
			if (r)
				werr("TEST_ONLY flip %s: %s", when(), strerror(errno));
		}
		r = drmModeAtomicCommit(C.fd, req, flags, &C.fl);
		drmModeAtomicFree(req);
		if (!r) {
			C.fl.outstanding++;
			counted();
			/* take what has come, without waiting */
			wait_flips(&C.fl, C.fl.outstanding - 1, 0);
			continue;
		}
		if (errno != EBUSY) {
			werr("non-blocking atomic flip %s: %s", when(), strerror(errno));
			break;
		}
		/* one is pending: its event frees the CRTC */
		if (!wait_flips(&C.fl, 0, EVENT_WAIT)) {
			werr("a pending atomic flip %s never delivered its event", when());
			break;
		}
	}
	return NULL;
}

static void *wl_modeset(void *arg)
{
	unsigned int i;

	(void)arg;
	for (i = 0; !C.stop; i++) {
		const drmModeModeInfo *m = (i & 1) ? &C.mode2 : &C.mode;
		uint32_t blob = (i & 1) ? C.blob2 : C.blob, fb = (i & 2) ? C.b.fb : C.a.fb;
		drmModeModeInfo lm = *m;
		int r;

		switch (i % 5) {
		case 3:		/* off and on again */
			r = commit_full(C.fd, m, 0, 0, false, 0);
			if (r)
				werr("atomic disable %s: %s", when(), strerror(-r));
			break;
		case 4:		/* legacy */
			if (drmModeSetCrtc(C.fd, C.crtc, fb, 0, 0, &C.conn, 1, &lm))
				werr("SETCRTC %s: %s", when(), strerror(errno));
			break;
		default:
			r = commit_full(C.fd, m, blob, fb, true, DRM_MODE_ATOMIC_TEST_ONLY);
			if (r)
				werr("atomic TEST_ONLY modeset %s: %s", when(), strerror(-r));
			r = commit_full(C.fd, m, blob, fb, true, 0);
			if (r)
				werr("atomic modeset to %s %s: %s", m->name, when(), strerror(-r));
		}
		counted();
		if (C.errors)
			break;
	}
	return NULL;
}

static void *wl_fbcon(void *arg)
{
	char line[160];
	unsigned int i;
	int tty = open("/dev/tty1", O_WRONLY | O_NOCTTY | O_CLOEXEC);

	(void)arg;
	if (tty < 0) {
		werr("open /dev/tty1: %s", strerror(errno));
		return NULL;
	}
	for (i = 0; !C.stop; i++) {
		int n = snprintf(line, sizeof(line), "yankloop %u %s: %.*s\n", i, when(),
				 (int)(i % 97), "the quick brown fox jumps over the lazy dog, "
				 "pack my box with five dozen liquor jugs, sphinx of black quartz");

		if (write(tty, line, n) != n) {
			werr("write to tty1 %s: %s", when(), strerror(errno));
			break;
		}
		counted();
		if (!(i % 8))
			nap_ms(1);
	}
	close(tty);
	return NULL;
}

static void *wl_mmap(void *arg)
{
	unsigned int i;
	long wrong;

	(void)arg;
	for (i = 0; !C.stop; i++) {
		uint32_t *m = C.amap;

		/* every 8th round through a mapping made just now */
		if (!(i % 8)) {
			m = kms_dumb_map(C.fd, &C.a);
			if (!m) {
				werr("new mmap of a dumb buffer %s: %s", when(), strerror(errno));
				break;
			}
		}
		if (!touch(m, C.a.size, i, &wrong))
			werr("SIGBUS on a %s mapping %s", m == C.amap ? "first" : "new", when());
		else if (wrong)
			werr("%ld words read back wrong through a mapping %s", wrong, when());
		if (m != C.amap)
			munmap(m, C.a.size);
		counted();
		if (C.errors)
			break;
	}
	return NULL;
}

static void *wl_dmabuf(void *arg)
{
	unsigned int i;
	uint32_t vh;
	long wrong;

	(void)arg;
	for (i = 0; !C.stop; i++) {
		if (!(i % 4)) {
			struct drm_gem_close gc;

			/* the exported buffer goes into vgem, and out again */
			if (drmPrimeFDToHandle(C.vfd, C.bfd, &vh)) {
				werr("vgem import of the dma-buf %s: %s", when(), strerror(errno));
				break;
			}
			gc = (struct drm_gem_close){ .handle = vh };
			drmIoctl(C.vfd, DRM_IOCTL_GEM_CLOSE, &gc);
		}
		kms_dmabuf_sync(C.bfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
		if (!touch(C.bmap, C.b.size, i * 7, &wrong))
			werr("SIGBUS on the dma-buf mapping %s", when());
		else if (wrong)
			werr("%ld words read back wrong through the dma-buf %s", wrong, when());
		kms_dmabuf_sync(C.bfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
		counted();
		if (C.errors)
			break;
	}
	return NULL;
}

static void *wl_churn(void *arg)
{
	unsigned int i;
	long wrong;

	(void)arg;
	for (i = 0; !C.stop; i++) {
		struct kms_dumb d;
		uint32_t *m;
		int r;

		r = kms_dumb_new(C.fd, 64 + (i % 7) * 32, 64 + (i % 5) * 16, &d);
		if (r) {
			werr("CREATE_DUMB %s: %s", when(), strerror(-r));
			break;
		}
		m = kms_dumb_map(C.fd, &d);
		if (!m) {
			werr("mmap of a new dumb buffer %s: %s", when(), strerror(errno));
		} else {
			if (!touch(m, d.size, i, &wrong) || wrong)
				werr("a new dumb buffer's mapping %s: %s", when(),
				     wrong ? "read back wrong" : "SIGBUS");
			munmap(m, d.size);
		}
		r = kms_dumb_fb(C.fd, &d);
		if (r)
			werr("ADDFB2 %s: %s", when(), strerror(-r));
		r = kms_dumb_free(C.fd, &d);
		if (r)
			werr("RMFB/DESTROY_DUMB %s: %s", when(), strerror(-r));
		counted();
		if (C.errors)
			break;
	}
	return NULL;
}

static void *(*const wl_fn[W_NR])(void *) = {
	[W_IDLE] = wl_idle, [W_STORM] = wl_storm, [W_FLIP] = wl_flip,
	[W_MODESET] = wl_modeset, [W_FBCON] = wl_fbcon, [W_LEASE] = wl_flip,
	[W_MMAP] = wl_mmap, [W_DMABUF] = wl_dmabuf, [W_CHURN] = wl_churn,
	[W_STALL] = wl_stall,
};

/* ---- a cycle ------------------------------------------------------------- */

/* open the card, set the mode on A, and what the workload needs; false: bad() said why */
static bool setup(void)
{
	const char *what;
	int r;

	C.fd = open(C.path, O_RDWR | O_CLOEXEC);
	if (C.fd < 0) {
		bad("open %s: %s", C.path, strerror(errno));
		return false;
	}
	what = pick_ids();
	if (what) {
		bad("%s: %s", C.path, what);
		return false;
	}
	C.fw = C.mode.hdisplay > C.mode2.hdisplay ? C.mode.hdisplay : C.mode2.hdisplay;
	C.fh = C.mode.vdisplay > C.mode2.vdisplay ? C.mode.vdisplay : C.mode2.vdisplay;
	r = kms_dumb_new(C.fd, C.fw, C.fh, &C.a);
	r = r ?: kms_dumb_new(C.fd, C.fw, C.fh, &C.b);
	r = r ?: kms_dumb_fb(C.fd, &C.a);
	r = r ?: kms_dumb_fb(C.fd, &C.b);
	if (r) {
		bad("dumb buffers: %s", strerror(-r));
		return false;
	}
	C.amap = kms_dumb_map(C.fd, &C.a);
	if (!C.amap) {
		bad("mmap A: %s", strerror(errno));
		return false;
	}
	memset(C.amap, 0x40, C.a.size);
	r = commit_full(C.fd, &C.mode, C.blob, C.a.fb, true, 0);
	if (r) {
		bad("modeset to %s before the yank: %s", C.mode.name, strerror(-r));
		return false;
	}
	C.fl.fd = C.fd;
	if (C.w == W_LEASE) {
		uint32_t objs[3] = { C.conn, C.crtc, C.plane };

		C.lfd = drmModeCreateLease(C.fd, objs, 3, O_CLOEXEC, &C.lessee);
		if (C.lfd < 0) {
			bad("CREATE_LEASE before the yank: %s", strerror(errno));
			return false;
		}
		C.fl.fd = C.lfd;
	}
	if (C.w == W_DMABUF) {
		char vpath[64];

		C.vfd = kms_open_driver("vgem", vpath, sizeof(vpath));
		if (C.vfd < 0) {
			bad("no vgem card (modprobe vgem)");
			return false;
		}
		if (drmPrimeHandleToFD(C.fd, C.b.handle, DRM_CLOEXEC | DRM_RDWR, &C.bfd)) {
			bad("PRIME export of B: %s", strerror(errno));
			return false;
		}
		C.bmap = mmap(NULL, C.b.size, PROT_READ | PROT_WRITE, MAP_SHARED, C.bfd, 0);
		if (C.bmap == MAP_FAILED) {
			C.bmap = NULL;
			bad("mmap of B's dma-buf: %s", strerror(errno));
			return false;
		}
	}
	if (C.w == W_STALL && emu("drain stop", NULL, 0)) {
		bad("emulator: drain stop");
		return false;
	}
	return true;
}

static void teardown(void)
{
	if (C.amap)
		munmap(C.amap, C.a.size);
	if (C.bmap)
		munmap(C.bmap, C.b.size);
	if (C.bfd >= 0)
		close(C.bfd);
	if (C.vfd >= 0)
		close(C.vfd);
	if (C.lfd >= 0)
		close(C.lfd);
	if (C.fd >= 0)
		close(C.fd);
	C.amap = C.bmap = NULL;
	C.fd = C.lfd = C.vfd = C.bfd = -1;
}

/* what the master sees after the yank */
static void master_checks(void)
{
	uint32_t objs[3] = { C.conn, C.crtc, C.plane }, lid;
	drmModeConnectorPtr c;
	int lfd, r;

	c = drmModeGetConnector(C.fd, C.conn);
	check(c && c->connection == DRM_MODE_DISCONNECTED,
	      "GETCONNECTOR after the yank: %s", !c ? strerror(errno) :
	      c->connection == DRM_MODE_CONNECTED ? "connected" : "not disconnected");
	drmModeFreeConnector(c);
	lfd = drmModeCreateLease(C.fd, objs, 3, O_CLOEXEC, &lid);
	check(lfd < 0 && errno == ENODEV, "CREATE_LEASE after the yank: %s",
	      lfd >= 0 ? "succeeded" : strerror(errno));
	if (lfd >= 0)
		close(lfd);
	/* a full modeset routing the gone connector; TEST_ONLY never stalls */
	r = commit_full(C.fd, &C.mode, C.blob, C.a.fb, true, DRM_MODE_ATOMIC_TEST_ONLY);
	check(!r, "TEST_ONLY modeset after the yank: %s", r ? strerror(-r) : "0");
}

/* judge the workload's run */
static void workload_checks(void)
{
	double gap;

	check(!C.errors, "%s (%d errors)", C.err, C.errors);
	check(!sigbus_count, "%u SIGBUS", (unsigned int)sigbus_count);
	if (C.w == W_IDLE)
		return;
	check(C.ops_after > 0, "no %s operation completed after the yank (%u before)",
	      wl_name[C.w], (unsigned int)C.ops);
	if (!wl_events(C.w) || C.errors)
		return;
	/* events owed at the stop must all come */
	check(wait_flips(&C.fl, 0, EVENT_WAIT), "%d events owed at the end never came",
	      C.fl.outstanding);
	check(C.fl.n_after >= 3, "%u events after the yank, want 3 or more", C.fl.n_after);
	if (C.fl.n_after >= 3) {
		gap = (C.fl.last_after - C.fl.first_after) / (C.fl.n_after - 1);
		check(gap >= C.period / 2, "events after the yank %.2f ms apart, frame %.2f ms: "
		      "not paced", gap * 1e3, C.period * 1e3);
	}
}

/* everything closed: the devices go, and the module's references */
static void release_checks(unsigned int reg0, unsigned int rel0, bool probe)
{
	/*
	 * A probe the yank overtook goes on until it fails or binds, and an
	 * enumeration under way may still add the device; only then does the
	 * hub driver disconnect it. So the closed state must hold for a while
	 * (longer after a yank in probe) before it is judged.
	 */
	double end = now() + 10, settle = probe ? 1.5 : 0.2, since = 0;
	unsigned int reg, rel;
	char path[64];

	do {
		kmsg_scan();
		reg = n_registered - reg0;
		rel = n_released - rel0;
		/* a probe cut short may have made a device it never registered */
		if (!usb_present() && rel >= reg && refcnt() == 0 &&
		    !card_present(path, sizeof(path))) {
			if (!since)
				since = now();
			if (now() - since >= settle)
				break;
		} else {
			since = 0;
		}
		nap_ms(20);
	} while (now() < end);
	check(!usb_present(), "the adapter is still on the USB bus 10 s after the yank");
	check(rel == reg || (probe && rel == reg + 1),
	      "%u device(s) registered, %u released", reg, rel);
	check(refcnt() == 0, "module refcnt %d with everything closed", refcnt());
	check(!card_present(path, sizeof(path)), "%s (%s) is still there", path, DRIVER);
}

static int unplugged(void)
{
	char body[256];

	/* "yank" answers ERR when it is already out */
	return emu("yank", body, sizeof(body)) ? 0 : 1;
}

/* one cycle; its line goes to stdout; returns whether it passed */
static bool cycle(unsigned int k, enum wl w)
{
	unsigned int reg0 = n_registered, rel0 = n_released;
	double t0 = now(), t_yank, dly;
	char extra[160] = "";
	bool joined;

	memset(&C.fl, 0, sizeof(C.fl));
	C.w = w;
	C.stop = C.yanked = false;
	C.ops = C.ops_after = 0;
	C.errors = 0;
	C.err[0] = 0;
	C.blob = C.blob2 = 0;
	C.fd = C.lfd = C.vfd = C.bfd = -1;
	sigbus_count = 0;
	why[0] = 0;
	nchecks = 0;

	if (emu("replug", NULL, 0)) {
		bad("emulator: replug");
		goto done;
	}
	if (w == W_PROBE) {
		/* somewhere between enumeration and the first frames */
		char path[64];

		dly = rnd(600) / 1e3;
		nap_ms((int)(dly * 1e3));
		snprintf(extra, sizeof(extra), ", yank %.0f ms after the replug (card %s)",
			 dly * 1e3, card_present(path, sizeof(path)) ? "up" : "not up");
		check(unplugged(), "emulator: yank");
		release_checks(reg0, rel0, true);
		goto done;
	}
	if (!wait_card(15)) {
		bad("no %s card with a connected connector 15 s after the replug", DRIVER);
		goto done;
	}
	if (w == W_FBCON && !wait_lit(15)) {
		bad("fbcon did not light the adapter within 15 s");
		goto yank;
	}
	if (wl_has_fd(w) && !setup())
		goto yank;
	if (pthread_create(&C.th, NULL, wl_fn[w], NULL)) {
		bad("pthread_create");
		goto yank;
	}
	/* the yank falls anywhere in the first ~16 frames of the workload */
	dly = (20 + rnd(250)) / 1e3;
	nap_ms((int)(dly * 1e3));
	C.yanked = true;
	t_yank = now();
	check(unplugged(), "emulator: yank");
	while (!node_gone() && now() - t_yank < 10)
		nap_ms(10);
	check(node_gone(), "%s still there 10 s after the yank", C.path);
	if (wl_has_fd(w))
		master_checks();
	/* the workload goes on for at least 12 frames after the yank */
	nap_ms(200);
	C.stop = true;
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 15;
		joined = !pthread_timedjoin_np(C.th, NULL, &ts);
	}
	if (!joined) {
		printf("not ok - cycle %u %s: the workload is stuck 15 s after it was told to "
		       "stop (%u ops, %u after the yank)\n", k, wl_name[w], (unsigned int)C.ops,
		       (unsigned int)C.ops_after);
		fflush(stdout);
		exit(1);
	}
	workload_checks();
	snprintf(extra, sizeof(extra), ", yank at %.0f ms: %u ops (%u after)", dly * 1e3,
		 (unsigned int)C.ops, (unsigned int)C.ops_after);
	if (wl_events(w))
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
			 ", %u events (%u after)", C.fl.n, C.fl.n_after);
	teardown();
	if (w == W_STALL)
		emu("drain normal", NULL, 0);
	release_checks(reg0, rel0, false);
	goto done;
yank:
	C.stop = true;
	teardown();
	emu("drain normal", NULL, 0);
	unplugged();
	release_checks(reg0, rel0, true);
done:
	kmsg_scan();
	printf("%s - cycle %u %s%s, %d checks, %.1f s%s%s\n", why[0] ? "not ok" : "ok", k,
	       wl_name[w], extra, nchecks, now() - t0, why[0] ? ": " : "", why);
	fflush(stdout);
	return !why[0];
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cycles", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "only", required_argument, NULL, 'o' },
		{ "socket", required_argument, NULL, 'S' },
		{ "break", no_argument, NULL, 'b' },
		{ }
	};
	unsigned int cycles = 20, k, failed = 0, ran[W_NR] = { 0 }, bad_w[W_NR] = { 0 };
	int only = -1, c, i;
	uint64_t seed = (uint64_t)time(NULL) ^ getpid();
	struct sigaction sa = { .sa_handler = on_sigbus };
	double t0 = now();

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': cycles = strtoul(optarg, NULL, 0); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'S': emu_socket = optarg; break;
		case 'b': only = -2; cycles = 1; break;
		case 'o':
			for (i = 0; i < W_NR && strcmp(optarg, wl_name[i]); i++)
				;
			if (i == W_NR) {
				fprintf(stderr, "yankloop: no workload %s\n", optarg);
				return 2;
			}
			only = i;
			break;
		default:
			fprintf(stderr, "usage: yankloop [--cycles N] [--seed S] [--only NAME] "
				"[--socket PATH] [--break]\n");
			return 2;
		}
	}
	sigaction(SIGBUS, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg < 0 || lseek(kmsg, 0, SEEK_END) < 0) {
		perror("/dev/kmsg");
		return 2;
	}
	rng = seed ? seed : 1;
	printf("# yankloop: %u cycles, seed %llu%s\n", cycles, (unsigned long long)seed,
	       broken ? ", every check inverted" : "");
	/* start from an unplugged adapter; --break is for the cycles */
	broken = false;
	unplugged();
	release_checks(0, 0, true);
	broken = cycles == 1 && only == -2;
	if (why[0]) {
		printf("not ok - before the first cycle: %s\n", why);
		return 1;
	}
	for (k = 1; k <= cycles; k++) {
		enum wl w = only >= 0 ? (enum wl)only : broken ? W_FLIP : (enum wl)rnd(W_NR);

		ran[w]++;
		if (!cycle(k, w)) {
			bad_w[w]++;
			failed++;
		}
		/* a device that keeps failing only buries the first failure */
		if (failed >= 5 && !broken)
			break;
	}
	printf("# per workload: ");
	for (i = 0; i < W_NR; i++)
		printf("%s %u%s%s", wl_name[i], ran[i], bad_w[i] ? " (failed)" : "",
		       i < W_NR - 1 ? ", " : "\n");
	printf("# yankloop: %u of %u cycles passed, seed %llu, %.0f s\n", k - 1 - failed, k - 1,
	       (unsigned long long)seed, now() - t0);
	return failed ? 1 : 0;
}
