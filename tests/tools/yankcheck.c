// SPDX-License-Identifier: GPL-2.0-only
/*
 * yankcheck: what userspace sees when a KMS device is hot-unplugged under
 * it, judged against the "Device Hot-Unplug" section of the DRM uAPI doc.
 *
 * Before the yank it opens the card (by driver name), becomes master, sets
 * the connector's mode on dumb buffer A, makes dumb buffer B, maps A,
 * exports B as a dma-buf, leases CRTC + connector + primary plane and keeps
 * the lessee fd. Then it yanks the adapter itself through the emulator's
 * socket and waits until the card's node is gone. After that:
 *
 *  1. the kernel sent a change uevent with HOTPLUG=1 for the card and then
 *     the card's remove (read from NETLINK_KOBJECT_UEVENT, as udev does);
 *     GETRESOURCES works, GETCONNECTOR (master and lessee) says disconnected;
 *  2. atomic TEST_ONLY and real commits (full modeset, disable, re-enable),
 *     legacy SETCRTC, PAGE_FLIP and the cursor ioctls succeed;
 *  3. events: page flips, a non-blocking atomic commit with an out-fence,
 *     WAIT_VBLANK all complete, paced by the last mode's frame time (from
 *     clock/htotal/vtotal), never under half a frame (not a busy loop);
 *     with --mid-flip, what was pending when the yank came with the bulk
 *     endpoint not draining (the flip, or a commit turning the CRTC off
 *     behind the flip's stuck transfer) delivers its event;
 *  4. CREATE_LEASE fails with ENODEV (the objects are all leased already,
 *     so a driver without a gone check answers EBUSY), also encoded with
 *     another size (the core goes by the command's number); the lessee still
 *     works (resources, flips with events, a commit);
 *     a non-blocking flip with IN_FENCE_FD (an unsignalled vgem fence)
 *     gives no event until vgem signals the fence, and then gives it -- as
 *     it does before the yank;
 *  5. the old mmap of A and a new one read and write without SIGBUS, B's
 *     dma-buf maps and reads what the DRM map wrote, and imports into vgem;
 *     the driver's fbdev (/dev/fbN), opened and mapped before the yank,
 *     reads what was written before and takes writes through the old
 *     mapping, and a new mmap of it either reads the same or fails ENODEV;
 *  8. open() of the old node, recreated with mknod, fails (errno reported;
 *     the doc asks ENXIO).
 *
 *   yankcheck [--driver NAME] [--socket PATH] [--count N] [--mid-flip] [--break]
 *             [--yank-cmd CMD] [--linger SEC]
 *   yankcheck [--driver NAME] --hold mmap|dmabuf
 *
 * --break inverts every assertion, to show that each can go red.
 * --yank-cmd runs CMD with sh -c instead of the emulator's "yank" (say a hub
 * port power switch, tests/tools/hubport); it must exit 0, then the node
 * must go within 20 s as after the emulator's yank.
 * --linger probes the connector once more at the end and then holds
 * everything SEC seconds before letting go (the suite watches for connector
 * polls of the gone device meanwhile). Trace markers (tracefs) say when the
 * node went and when the lingering ended.
 * --hold keeps only a mapping of a dumb buffer (fds closed) or only its
 * dma-buf fd, prints "held", and lets go when a line (or EOF) arrives on
 * stdin, after checking the held thing still reads back without SIGBUS;
 * the suite uses it to show the device outlives the yank for its holder.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <linux/fb.h>
#include <linux/kd.h>
#include <linux/netlink.h>
#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "kmsutil.h"

static const char *sock_path = "/run/dlemu.sock";
static const char *driver = "dlkms";
static int failed, passed, broken, nflips = 60;
static bool mid_flip;
static const char *yank_cmd;	/* NULL: yank through the emulator */

static int fd, lfd = -1;	/* master fd, lessee fd */
static uint32_t crtc_id, conn_id, plane_id, lessee_id;
static drmModeModeInfo mode;
static double period;		/* seconds per frame, from the mode timings */
static unsigned int W, H;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* One assertion: an ok / not ok line; --break turns every verdict round. */
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

/*
 * A line in the kernel's trace buffer, for a suite that reads kprobe hits
 * around the yank; nothing if tracefs is not mounted.
 */
static void trace_mark(const char *what)
{
	int t = open("/sys/kernel/tracing/trace_marker", O_WRONLY | O_CLOEXEC);

	if (t < 0)
		return;
	if (write(t, what, strlen(what)) < 0)
		perror("trace_marker");
	close(t);
}

static int linger;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	printf("not ok - setup: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case ENODEV: return "ENODEV";
	case ENXIO: return "ENXIO";
	case EINVAL: return "EINVAL";
	case EBUSY: return "EBUSY";
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOSPC: return "ENOSPC";
	case ENOMEM: return "ENOMEM";
	default: return strerror(e);
	}
}

/* One request to the emulator; 0 when it answered OK. */
static int emu(const char *req)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char buf[4096];
	size_t n = 0;
	ssize_t r;
	int s;

	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a))) {
		perror(sock_path);
		if (s >= 0)
			close(s);
		return -1;
	}
	if (write(s, req, strlen(req)) < 0 || write(s, "\n", 1) < 0) {
		perror("emulator socket");
		close(s);
		return -1;
	}
	while (n < sizeof(buf) - 1 && (r = read(s, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += r;
	close(s);
	buf[n] = 0;
	if (!strstr(buf, "OK\n"))
		note("emulator: '%s' answered '%.200s'", req, buf);
	return strstr(buf, "OK\n") ? 0 : -1;
}

/*
 * SIGBUS is what the doc forbids for maps of a vanished device. Every
 * access to a map is made by fill_map() or cmp_map() with the handler
 * armed: a SIGBUS is counted and the access abandoned (siglongjmp), so the
 * test reports it instead of dying. What must survive the jump is volatile.
 */
static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_armed, sigbus_count;

static void on_sigbus(int sig)
{
	(void)sig;
	sigbus_count++;
	if (bus_armed)
		siglongjmp(bus_jmp, 1);
	_exit(3);
}

static uint32_t hash(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352d;
	x ^= x >> 15;
	x *= 0x846ca68b;
	x ^= x >> 16;
	return x;
}

static inline uint32_t pat(uint32_t seed, size_t i)
{
	return hash(seed * 0x9e3779b9u ^ (uint32_t)i);
}

/* Fill @len bytes of @map with pattern @seed; false on SIGBUS. */
static bool fill_map(volatile uint32_t *map, size_t len, uint32_t seed)
{
	size_t i;

	if (sigsetjmp(bus_jmp, 1)) {
		bus_armed = 0;
		return false;
	}
	bus_armed = 1;
	for (i = 0; i < len / 4; i++)
		map[i] = pat(seed, i);
	bus_armed = 0;
	return true;
}

/*
 * Count the words of @map that differ from pattern @seed; -1 on SIGBUS.
 * The first difference goes to @detail.
 */
static long cmp_map(const volatile uint32_t *map, size_t len, uint32_t seed,
		    char *detail, size_t dlen)
{
	static volatile long bad;
	static volatile size_t i;

	bad = 0;
	if (sigsetjmp(bus_jmp, 1)) {
		bus_armed = 0;
		snprintf(detail, dlen, "SIGBUS at byte %zu", i * 4);
		return -1;
	}
	bus_armed = 1;
	for (i = 0; i < len / 4; i++) {
		uint32_t v = map[i], w = pat(seed, i);

		if (v != w && !bad++)
			snprintf(detail, dlen, "first difference at byte %zu: 0x%08x, want 0x%08x",
				 i * 4, v, w);
	}
	bus_armed = 0;
	if (!bad)
		snprintf(detail, dlen, "%zu bytes equal", len);
	return bad;
}

/*
 * The SIGBUS detector must detect: a mapping of a memfd truncated under it
 * faults with SIGBUS, which fill_map() must report and count.
 */
static void sigbus_selftest(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	int m = memfd_create("yankcheck-sigbus", MFD_CLOEXEC);
	void *p;

	if (m < 0 || ftruncate(m, pg))
		die("memfd: %s", strerror(errno));
	p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	if (p == MAP_FAILED || ftruncate(m, 0))
		die("memfd map: %s", strerror(errno));
	if (fill_map(p, pg, 1) || sigbus_count != 1)
		die("the SIGBUS detector missed a SIGBUS (%d counted)", (int)sigbus_count);
	munmap(p, pg);
	close(m);
	sigbus_count = 0;
	note("SIGBUS detector works (a truncated memfd's map was caught)");
}

struct dumb {
	uint32_t handle, pitch, fb;
	uint64_t size;
	uint32_t *map;
};

static int dumb_new(int f, unsigned int w, unsigned int h, struct dumb *d)
{
	struct drm_mode_create_dumb cd = { .width = w, .height = h, .bpp = 32 };

	if (drmIoctl(f, DRM_IOCTL_MODE_CREATE_DUMB, &cd))
		return -errno;
	d->handle = cd.handle;
	d->pitch = cd.pitch;
	d->size = cd.size;
	d->fb = 0;
	d->map = NULL;
	return 0;
}

/* MAP_DUMB + mmap of @d on @f: a new mapping each call. */
static uint32_t *dumb_map(int f, struct dumb *d, int *err)
{
	struct drm_mode_map_dumb md = { .handle = d->handle };
	void *m;

	if (drmIoctl(f, DRM_IOCTL_MODE_MAP_DUMB, &md)) {
		*err = errno;
		return NULL;
	}
	m = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED, f, md.offset);
	if (m == MAP_FAILED) {
		*err = errno;
		return NULL;
	}
	return m;
}

static int dumb_fb(int f, struct dumb *d)
{
	uint32_t handles[4] = { d->handle }, pitches[4] = { d->pitch }, offsets[4] = { 0 };

	if (drmModeAddFB2(f, W, H, DRM_FORMAT_XRGB8888, handles, pitches, offsets, &d->fb, 0))
		return -errno;
	return 0;
}

/* ---- events ------------------------------------------------------------ */

struct sample {
	double ts;		/* kernel timestamp of the vblank */
	double rx;		/* when userspace got it */
	unsigned int seq;
};

static struct sample smp[1024];
static int nsmp, outstanding;

static void on_flip(int f, unsigned int seq, unsigned int sec, unsigned int usec,
		    unsigned int crtc, void *data)
{
	(void)f;
	(void)crtc;
	(void)data;
	if (nsmp < (int)(sizeof(smp) / sizeof(smp[0]))) {
		smp[nsmp].ts = sec + usec / 1e6;
		smp[nsmp].rx = now();
		smp[nsmp].seq = seq;
		nsmp++;
	}
	outstanding--;
}

static void on_vblank(int f, unsigned int seq, unsigned int sec, unsigned int usec, void *data)
{
	on_flip(f, seq, sec, usec, 0, data);
}

/* Wait until no event is outstanding on @f; false after @timeout s. */
static bool wait_events(int f, double timeout)
{
	drmEventContext ev = {
		.version = 3,
		.vblank_handler = on_vblank,
		.page_flip_handler2 = on_flip,
	};
	struct pollfd p = { .fd = f, .events = POLLIN };
	double end = now() + timeout;

	while (outstanding > 0) {
		int ms = (int)((end - now()) * 1000);

		if (ms <= 0 || poll(&p, 1, ms) <= 0)
			return false;
		drmHandleEvent(f, &ev);
	}
	return true;
}

/*
 * Pacing of samples [from, nsmp): mean interval of the kernel timestamps
 * and of the receive times within 5% of the frame time, and no interval of
 * the kernel timestamps under half a frame. Returns whether both hold.
 *
 * Under TCG a guest starved by the host (other guests on two cores) runs
 * its timers late, and the vblank skips the frames it missed: a window of
 * 60 events with one 400 ms stall is off by 40%. That is the host, not the
 * driver, and a probe thread shows it: it sleeps 2 ms at a time and
 * records how late it woke up. A window during which the probe woke more
 * than half a frame late was disturbed. A window that fails and was
 * disturbed is measured again, up to PACE_TRIES windows; a window that
 * passes, or fails undisturbed (a driver paced wrong), or the last one
 * gives the verdict. The notes of a disturbed try give its figures and the
 * probe's lateness. The judged window must also sit on
 * the vblank grid: every interval a whole number of frames (within 5%) and
 * the vblank counter advanced by just that number -- which a stall does
 * not break, but a clock at the wrong rate or made-up timestamps do.
 */
#define PACE_TRIES 10

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static double probe_late;	/* the worst oversleep since the last reset, s */

static void *probe_fn(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec d = { 0, 2000000 };
		double t0 = now(), late;

		nanosleep(&d, NULL);
		late = now() - t0 - 0.002;
		pthread_mutex_lock(&probe_lock);
		if (late > probe_late)
			probe_late = late;
		pthread_mutex_unlock(&probe_lock);
	}
	return NULL;
}

static double probe_take(void)
{
	double l;

	pthread_mutex_lock(&probe_lock);
	l = probe_late;
	probe_late = 0;
	pthread_mutex_unlock(&probe_lock);
	return l;
}

static bool judge_pacing(const char *what, int from, int try)
{
	int n = nsmp - from, i, imx = 0, off_grid = 0, seq_bad = 0;
	double mn = 1e9, mx = 0, mean, rxmean, late;
	bool good_mean, good_min;

	if (n < 3) {
		result(false, "%s: pacing needs 3 events, got %d", what, n);
		return false;
	}
	for (i = from + 1; i < nsmp; i++) {
		double d = smp[i].ts - smp[i - 1].ts, k = d / period;
		long frames = (long)(k + 0.5);

		if (frames < 1 || k - frames > 0.05 || frames - k > 0.05)
			off_grid++;
		if (smp[i].seq - smp[i - 1].seq != (unsigned long)frames)
			seq_bad++;
		mn = d < mn ? d : mn;
		if (d > mx) {
			mx = d;
			imx = i - from;
		}
	}
	mean = (smp[nsmp - 1].ts - smp[from].ts) / (n - 1);
	rxmean = (smp[nsmp - 1].rx - smp[from].rx) / (n - 1);
	good_mean = mean > 0.95 * period && mean < 1.05 * period &&
		    rxmean > 0.95 * period && rxmean < 1.05 * period;
	good_min = mn >= 0.5 * period;
	late = probe_take();
	if (!(good_mean && good_min) && late > 0.5 * period && try < PACE_TRIES) {
		note("%s: try %d of %d disturbed: the probe thread woke %.1f ms late (host "
		     "stall); this try: mean %.3f ms (received %.3f ms), shortest %.3f ms, "
		     "longest %.3f ms (before event %d), vblank counter +%u over %d events; "
		     "measuring again", what, try, PACE_TRIES, late * 1e3, mean * 1e3,
		     rxmean * 1e3, mn * 1e3, mx * 1e3, imx,
		     smp[nsmp - 1].seq - smp[from].seq, n);
		return false;
	}
	if (!(good_mean && good_min) && late > 0.5 * period)
		note("%s: every try disturbed by host stalls; judging the last (probe %.1f ms "
		     "late)", what, late * 1e3);
	result(good_mean,
	       "%s: mean interval %.3f ms (received %.3f ms), frame time %.3f ms, within 5%% "
	       "(try %d, vblank counter +%u over %d events, probe %.1f ms late)", what,
	       mean * 1e3, rxmean * 1e3, period * 1e3, try, smp[nsmp - 1].seq - smp[from].seq,
	       n, late * 1e3);
	result(good_min,
	       "%s: shortest interval %.3f ms (longest %.3f ms), at least half a frame (%.3f ms)",
	       what, mn * 1e3, mx * 1e3, period * 0.5e3);
	result(!off_grid && !seq_bad, "%s: on the vblank grid: %d of %d intervals not whole "
	       "frames, %d with the counter not advancing by the frames elapsed", what,
	       off_grid, n - 1, seq_bad);
	return true;
}

/* @count legacy flips on @f alternating @fb0/@fb1, each awaited. */
static void flips(int f, const char *who, int count, uint32_t fb0, uint32_t fb1, bool pace)
{
	int i, from, issued, ferr, try;
	char what[128];

	for (try = 1; try <= PACE_TRIES; try++) {
		from = nsmp = 0;
		issued = ferr = 0;
		probe_take();
		for (i = 0; i < count; i++) {
			outstanding++;
			if (drmModePageFlip(f, crtc_id, i & 1 ? fb0 : fb1,
					    DRM_MODE_PAGE_FLIP_EVENT, NULL)) {
				outstanding--;
				ferr = errno;
				break;
			}
			issued++;
			if (!wait_events(f, 1.0))
				break;
		}
		/* a lost event or a refused flip is no timing matter: no retry */
		if (issued != count || nsmp - from != issued || outstanding || !pace) {
			try = PACE_TRIES;
			break;
		}
		snprintf(what, sizeof(what), "%s: flip events", who);
		if (judge_pacing(what, from, try))
			break;
	}
	result(issued == count, "%s: %d of %d PAGE_FLIPs with event returned 0%s%s", who,
	       issued, count, ferr ? ", then errno " : "", ferr ? errname(ferr) : "");
	result(issued > 0 && nsmp - from == issued && outstanding == 0,
	       "%s: %d of %d flip events arrived", who, nsmp - from, issued);
	if (pace && (issued != count || nsmp - from != issued || outstanding))
		result(false, "%s: flip events: pacing not judged, events missing", who);
	outstanding = 0;
}

/* ---- atomic ------------------------------------------------------------ */

struct ids {
	uint32_t conn_crtc, crtc_active, crtc_mode, crtc_fence;
	uint32_t fb, in_fence, pcrtc, sx, sy, sw, sh, cx, cy, cw, ch;
};

/*
 * Property ids are looked up before the yank: afterwards a driver may
 * refuse GETPROPERTIES, and libdrm quietly drops a property of id 0 and
 * "commits" an empty request without calling the kernel.
 */
static struct ids ids;

static void get_ids(int f, struct ids *p)
{
	p->conn_crtc = kms_prop_id(f, conn_id, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID");
	p->crtc_active = kms_prop_id(f, crtc_id, DRM_MODE_OBJECT_CRTC, "ACTIVE");
	p->crtc_mode = kms_prop_id(f, crtc_id, DRM_MODE_OBJECT_CRTC, "MODE_ID");
	p->crtc_fence = kms_prop_id(f, crtc_id, DRM_MODE_OBJECT_CRTC, "OUT_FENCE_PTR");
	p->fb = kms_prop_id(f, plane_id, DRM_MODE_OBJECT_PLANE, "FB_ID");
	p->in_fence = kms_prop_id(f, plane_id, DRM_MODE_OBJECT_PLANE, "IN_FENCE_FD");
	p->pcrtc = kms_prop_id(f, plane_id, DRM_MODE_OBJECT_PLANE, "CRTC_ID");
	p->sx = kms_prop_id(f, plane_id, DRM_MODE_OBJECT_PLANE, "SRC_X");
	p->sy = kms_prop_id(f, plane_id, DRM_MODE_OBJECT_PLANE, "SRC_Y");
	p->sw = kms_prop_id(f, plane_id, DRM_MODE_OBJECT_PLANE, "SRC_W");
	p->sh = kms_prop_id(f, plane_id, DRM_MODE_OBJECT_PLANE, "SRC_H");
	p->cx = kms_prop_id(f, plane_id, DRM_MODE_OBJECT_PLANE, "CRTC_X");
	p->cy = kms_prop_id(f, plane_id, DRM_MODE_OBJECT_PLANE, "CRTC_Y");
	p->cw = kms_prop_id(f, plane_id, DRM_MODE_OBJECT_PLANE, "CRTC_W");
	p->ch = kms_prop_id(f, plane_id, DRM_MODE_OBJECT_PLANE, "CRTC_H");
}

/*
 * A full state: connector on the CRTC with the mode, @fb full screen; or
 * all off. NULL (errno set) when the mode blob cannot be made.
 */
static drmModeAtomicReqPtr full_state(int f, const struct ids *p, uint32_t fb, bool on,
				      uint32_t *blob)
{
	drmModeAtomicReqPtr req;

	*blob = 0;
	if (on && drmModeCreatePropertyBlob(f, &mode, sizeof(mode), blob))
		return NULL;
	req = drmModeAtomicAlloc();
	drmModeAtomicAddProperty(req, conn_id, p->conn_crtc, on ? crtc_id : 0);
	drmModeAtomicAddProperty(req, crtc_id, p->crtc_mode, on ? *blob : 0);
	drmModeAtomicAddProperty(req, crtc_id, p->crtc_active, on);
	drmModeAtomicAddProperty(req, plane_id, p->fb, on ? fb : 0);
	drmModeAtomicAddProperty(req, plane_id, p->pcrtc, on ? crtc_id : 0);
	drmModeAtomicAddProperty(req, plane_id, p->sx, 0);
	drmModeAtomicAddProperty(req, plane_id, p->sy, 0);
	drmModeAtomicAddProperty(req, plane_id, p->sw, on ? (uint64_t)W << 16 : 0);
	drmModeAtomicAddProperty(req, plane_id, p->sh, on ? (uint64_t)H << 16 : 0);
	drmModeAtomicAddProperty(req, plane_id, p->cx, 0);
	drmModeAtomicAddProperty(req, plane_id, p->cy, 0);
	drmModeAtomicAddProperty(req, plane_id, p->cw, on ? W : 0);
	drmModeAtomicAddProperty(req, plane_id, p->ch, on ? H : 0);
	return req;
}

/* TEST_ONLY then real commit of a full state; one line each. */
static void commit_full(int f, const char *who, const char *what, uint32_t fb, bool on)
{
	uint32_t blob;
	drmModeAtomicReqPtr req;
	int r, e;

	req = full_state(f, &ids, fb, on, &blob);
	if (!req) {
		e = errno;
		result(false, "%s: atomic TEST_ONLY %s: CREATEPROPBLOB of the mode failed (%s)",
		       who, what, errname(e));
		result(false, "%s: atomic commit %s: CREATEPROPBLOB of the mode failed (%s)",
		       who, what, errname(e));
		return;
	}
	r = drmModeAtomicCommit(f, req, DRM_MODE_ATOMIC_TEST_ONLY | DRM_MODE_ATOMIC_ALLOW_MODESET,
				NULL);
	e = r ? errno : 0;
	result(!r, "%s: atomic TEST_ONLY %s returns 0 (got %s)", who, what, errname(e));
	r = drmModeAtomicCommit(f, req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL);
	e = r ? errno : 0;
	{
		/* the commit took: GETCRTC shows the new state */
		drmModeCrtcPtr cs = r ? NULL : drmModeGetCrtc(f, crtc_id);
		bool took = cs && cs->mode_valid == on && (!on || cs->buffer_id == fb);

		result(!r && took, "%s: atomic commit %s returns 0 (got %s) and GETCRTC shows it "
		       "(mode %s, fb %u)", who, what, errname(e),
		       !cs ? "?" : cs->mode_valid ? cs->mode.name : "none", cs ? cs->buffer_id : 0);
		drmModeFreeCrtc(cs);
	}
	drmModeAtomicFree(req);
	if (blob)
		drmModeDestroyPropertyBlob(f, blob);
}

static int sync_file_wait(int f, int ms)
{
	struct pollfd p = { .fd = f, .events = POLLIN };

	return poll(&p, 1, ms);
}

/* Non-blocking atomic flip with an event and an out-fence: both must signal. */
static void commit_fence(int f, const char *who, uint32_t fb)
{
	int32_t fence = -1;
	drmModeAtomicReqPtr req;
	double t0;
	int r, e, from = nsmp;
	bool ev, fs = false;

	req = drmModeAtomicAlloc();
	drmModeAtomicAddProperty(req, plane_id, ids.fb, fb);
	drmModeAtomicAddProperty(req, crtc_id, ids.crtc_fence, (uint64_t)(uintptr_t)&fence);
	t0 = now();
	outstanding++;
	r = drmModeAtomicCommit(f, req, DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT, NULL);
	e = r ? errno : 0;
	drmModeAtomicFree(req);
	if (r)
		outstanding--;
	result(!r && fence >= 0, "%s: non-blocking atomic commit with event and OUT_FENCE_PTR "
	       "returns 0 with a fence fd (got %s, fence %d)", who, errname(e), fence);
	if (r) {
		result(false, "%s: the commit's event arrives (not committed)", who);
		result(false, "%s: the commit's out-fence signals (not committed)", who);
		return;
	}
	ev = wait_events(f, 2.0);
	outstanding = 0;
	result(ev && nsmp > from, "%s: the commit's event arrives after %.1f ms", who,
	       (now() - t0) * 1e3);
	if (fence >= 0) {
		fs = sync_file_wait(fence, 2000) == 1;
		close(fence);
	}
	result(fs, "%s: the commit's out-fence signals after %.1f ms", who, (now() - t0) * 1e3);
}

/* WAIT_VBLANK relative 1, @count times: each returns and they are paced. */
static void wait_vblanks(int f, const char *who, int count)
{
	int i, from, ok, e, try;
	char what[96];

	snprintf(what, sizeof(what), "%s: WAIT_VBLANK", who);
	for (try = 1; try <= PACE_TRIES; try++) {
		from = nsmp = 0;
		ok = e = 0;
		probe_take();
		for (i = 0; i < count; i++) {
			drmVBlank vbl = {
				.request = { .type = DRM_VBLANK_RELATIVE, .sequence = 1 },
			};

			if (drmWaitVBlank(f, &vbl)) {
				e = errno;
				break;
			}
			smp[nsmp].ts = vbl.reply.tval_sec + vbl.reply.tval_usec / 1e6;
			smp[nsmp].rx = now();
			smp[nsmp].seq = vbl.reply.sequence;
			nsmp++;
			ok++;
		}
		if (ok != count) {
			result(false, "%s: pacing not judged, a wait failed", what);
			break;
		}
		if (judge_pacing(what, from, try))
			break;
	}
	result(ok == count, "%s: %d of %d WAIT_VBLANK relative 1 returned (errno %s)", who, ok,
	       count, errname(e));
}

static void check_connector(int f, const char *who)
{
	drmModeConnectorPtr c = drmModeGetConnector(f, conn_id);
	int e = c ? 0 : errno;

	result(c && c->connection == DRM_MODE_DISCONNECTED,
	       "%s: GETCONNECTOR %u reports %s (%d modes)", who, conn_id,
	       !c ? errname(e) : c->connection == DRM_MODE_CONNECTED ? "connected" :
	       c->connection == DRM_MODE_DISCONNECTED ? "disconnected" : "unknown",
	       c ? c->count_modes : -1);
	drmModeFreeConnector(c);
}

static void check_resources(int f, const char *who)
{
	drmModeResPtr r = drmModeGetResources(f);
	int e = r ? 0 : errno, i;
	bool has_crtc = false, has_conn = false;

	for (i = 0; r && i < r->count_crtcs; i++)
		has_crtc |= r->crtcs[i] == crtc_id;
	for (i = 0; r && i < r->count_connectors; i++)
		has_conn |= r->connectors[i] == conn_id;
	result(r && has_crtc && has_conn,
	       "%s: GETRESOURCES works (%s: %d CRTCs, %d connectors, %d fbs, CRTC %u and "
	       "connector %u listed)", who, errname(e), r ? r->count_crtcs : -1,
	       r ? r->count_connectors : -1, r ? r->count_fbs : -1, crtc_id, conn_id);
	drmModeFreeResources(r);
}

/* ---- the node ------------------------------------------------------------ */

static bool node_gone(const char *path, dev_t rdev)
{
	char sys[64];
	struct stat st;

	snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u", major(rdev), minor(rdev));
	return stat(path, &st) && errno == ENOENT && access(sys, F_OK);
}

/* vgem's export of its handle @vh of B must be B's dma-buf and read the same */
static void vgem_reexport(int vfd, uint32_t vh, int bfd, size_t size)
{
	struct stat sb, sv;
	char detail[160];
	uint32_t *m;
	long bad;
	int xfd;

	if (drmPrimeHandleToFD(vfd, vh, DRM_CLOEXEC | DRM_RDWR, &xfd)) {
		result(false, "vgem re-exports the imported B: %s", errname(errno));
		return;
	}
	if (fstat(xfd, &sv) || fstat(bfd, &sb))
		memset(&sv, 0xff, sizeof(sv));
	result(sv.st_ino == sb.st_ino,
	       "vgem's export of the imported B is B's own dma-buf (inode %lu, B's %lu)",
	       (unsigned long)sv.st_ino, (unsigned long)sb.st_ino);
	m = mmap(NULL, size, PROT_READ, MAP_SHARED, xfd, 0);
	if (m == MAP_FAILED) {
		result(false, "mmap of vgem's export of B: %s", errname(errno));
	} else {
		kms_dmabuf_sync(xfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		bad = cmp_map(m, size, 21, detail, sizeof(detail));
		kms_dmabuf_sync(xfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		result(bad == 0, "vgem's export of the imported B reads the same bytes: %s",
		       detail);
		munmap(m, size);
	}
	close(xfd);
}

/* ---- uevents ----------------------------------------------------------- */

/*
 * The kernel's uevents, as udev gets them (group 1 of NETLINK_KOBJECT_UEVENT).
 * Opened just before the yank, so what comes is about the yank: the doc's
 * HOTPLUG=1 change for the card (the connector went), and then the card's
 * remove. Root only, as udev; -1 when it cannot be had.
 */
static int uevent_open(void)
{
	struct sockaddr_nl a = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int s, sz = 4 << 20;

	s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		   NETLINK_KOBJECT_UEVENT);
	if (s < 0)
		return -1;
	/* a yank sends dozens (interfaces, endpoints, connectors): none may be dropped */
	if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind(s, (struct sockaddr *)&a, sizeof(a))) {
		close(s);
		return -1;
	}
	return s;
}

/* the value of KEY= in a uevent of @len bytes ("ACTION@path\0KEY=value\0..."), or "" */
static const char *uevent_get(const char *msg, size_t len, const char *key)
{
	size_t kl = strlen(key), i;

	for (i = strlen(msg) + 1; i < len; i += strlen(msg + i) + 1)
		if (!strncmp(msg + i, key, kl) && msg[i + kl] == '=')
			return msg + i + kl + 1;
	return "";
}

/*
 * Reads uevents from @s for up to @timeout s, until the remove of
 * /dev/@path's card; judges that a change with HOTPLUG=1 for the card came
 * and then its remove, in that order.
 */
static void uevent_judge(int s, const char *path, double timeout)
{
	struct pollfd p = { .fd = s, .events = POLLIN };
	const char *devname = path + strlen("/dev/");
	double end = now() + timeout;
	int n = 0, change = 0, remove = 0, ms;
	char msg[8192];
	ssize_t len;

	if (s < 0) {
		result(false, "uevents: no NETLINK_KOBJECT_UEVENT socket (%s)", errname(errno));
		return;
	}
	while (!remove && (ms = (int)((end - now()) * 1000)) > 0) {
		if (poll(&p, 1, ms) <= 0)
			break;
		len = recv(s, msg, sizeof(msg) - 1, 0);
		if (len <= 0)
			continue;
		msg[len] = 0;
		n++;
		if (strcmp(uevent_get(msg, len, "DEVNAME"), devname))
			continue;
		if (!strcmp(uevent_get(msg, len, "ACTION"), "change") &&
		    !strcmp(uevent_get(msg, len, "HOTPLUG"), "1") && !change)
			change = n;
		if (!strcmp(uevent_get(msg, len, "ACTION"), "remove"))
			remove = n;
	}
	close(s);
	result(change, "uevents: a change with HOTPLUG=1 for DEVNAME=%s (uevent %d of %d since "
	       "the yank)", devname, change, n);
	result(remove && change && change < remove,
	       "uevents: then the remove of DEVNAME=%s (uevent %d; the change was %d)", devname,
	       remove, change);
}

/* ---- fbdev ------------------------------------------------------------- */

/*
 * The driver's fbdev emulation (its fix.id is "<driver>drmfb"), opened and
 * mapped before the yank: fbdev clients (a boot splash, an old X server)
 * hold /dev/fbN as DRM clients hold the card, and the doc's "mmaps never
 * SIGBUS" is theirs too. The VT goes to KD_GRAPHICS meanwhile, as such a
 * client puts it, so fbcon draws nothing into the memory being checked.
 */
static struct {
	int fd, tty;
	size_t len;
	uint32_t *map;
	char path[32];
} fbd = { .fd = -1, .tty = -1 };

static void fbdev_restore_tty(void)
{
	if (fbd.tty >= 0) {
		ioctl(fbd.tty, KDSETMODE, KD_TEXT);
		close(fbd.tty);
		fbd.tty = -1;
	}
}

static void fbdev_setup(void)
{
	char want[64], name[64], sys[96];
	struct fb_fix_screeninfo fix;
	long pg = sysconf(_SC_PAGESIZE);
	struct utsname u;
	int i;
	FILE *f;

	/*
	 * 6.12's fbdev-shmem with deferred I/O: once a mapping of /dev/fbN
	 * has faulted pages in, freeing the fbdev buffer (its last close
	 * after a yank, or an unbind) spins forever in the kernel, in
	 * shmem_evict_inode -> shmem_undo_range -> find_get_entries (seen on
	 * 6.12.117, the close never returns). A kernel bug, not the driver's
	 * code, and no driver-side fbdev is left to choose on 6.12; 6.1
	 * (fbdev-generic) and 7.2 (fbdev-shmem) do not have it.
	 */
	if (!uname(&u) && !strncmp(u.release, "6.12.", 5)) {
		note("fbdev: not mapped on %s (a mapped fbdev's buffer cannot be freed there: "
		     "the closing task spins in shmem_undo_range)", u.release);
		return;
	}
	snprintf(want, sizeof(want), "%sdrmfb\n", driver);
	for (i = 0; i < 32 && !fbd.path[0]; i++) {
		snprintf(sys, sizeof(sys), "/sys/class/graphics/fb%d/name", i);
		f = fopen(sys, "r");
		if (f && fgets(name, sizeof(name), f) && !strcmp(name, want))
			snprintf(fbd.path, sizeof(fbd.path), "/dev/fb%d", i);
		if (f)
			fclose(f);
	}
	if (!fbd.path[0]) {
		result(false, "fbdev: no /sys/class/graphics/fbN named %.*sdrmfb",
		       (int)strlen(driver), driver);
		return;
	}
	fbd.fd = open(fbd.path, O_RDWR | O_CLOEXEC);
	if (fbd.fd < 0 || ioctl(fbd.fd, FBIOGET_FSCREENINFO, &fix) || !fix.smem_len)
		die("fbdev: open / FBIOGET_FSCREENINFO of %s: %s", fbd.path, errname(errno));
	fbd.len = (fix.smem_len + pg - 1) / pg * pg;
	fbd.map = mmap(NULL, fbd.len, PROT_READ | PROT_WRITE, MAP_SHARED, fbd.fd, 0);
	if (fbd.map == MAP_FAILED)
		die("fbdev: mmap of %s: %s", fbd.path, errname(errno));
	fbd.tty = open("/dev/tty0", O_RDWR | O_CLOEXEC);
	if (fbd.tty >= 0 && ioctl(fbd.tty, KDSETMODE, KD_GRAPHICS)) {
		close(fbd.tty);
		fbd.tty = -1;
	}
	atexit(fbdev_restore_tty);
	if (!fill_map(fbd.map, fbd.len, 31))
		die("fbdev: SIGBUS writing the mapping of %s before the yank", fbd.path);
	note("fbdev: %s (%s) mapped, %zu bytes written%s", fbd.path, fix.id, fbd.len,
	     fbd.tty >= 0 ? ", VT in KD_GRAPHICS" : ", VT mode not set (no /dev/tty0)");
}

/*
 * After the yank: the old mapping reads what was written before and takes
 * new writes, without SIGBUS. A new mmap on the old fd is up to the fbdev
 * core, which answers ENODEV for an unregistered framebuffer (file_fb_info());
 * if it maps instead, it must read the same bytes.
 */
static void fbdev_after(void)
{
	char detail[200];
	uint32_t *m;
	long bad;

	if (!fbd.map)
		return;
	bad = cmp_map(fbd.map, fbd.len, 31, detail, sizeof(detail));
	result(bad == 0, "fbdev: the mapping of %s reads after the yank what was written before: "
	       "%s", fbd.path, detail);
	bad = fill_map(fbd.map, fbd.len, 32) ? cmp_map(fbd.map, fbd.len, 32, detail,
						       sizeof(detail)) : -1;
	if (bad < 0 && !strstr(detail, "SIGBUS"))
		snprintf(detail, sizeof(detail), "SIGBUS writing");
	result(bad == 0, "fbdev: the mapping of %s writes and reads back after the yank: %s",
	       fbd.path, detail);
	m = mmap(NULL, fbd.len, PROT_READ, MAP_SHARED, fbd.fd, 0);
	if (m == MAP_FAILED) {
		result(errno == ENODEV, "fbdev: a new mmap of the open %s after the yank fails "
		       "cleanly (%s; the fbdev core refuses an unregistered framebuffer)",
		       fbd.path, errname(errno));
	} else {
		bad = cmp_map(m, fbd.len, 32, detail, sizeof(detail));
		result(bad == 0, "fbdev: a new mmap of the open %s after the yank reads the same: %s",
		       fbd.path, detail);
		munmap(m, fbd.len);
	}
	munmap(fbd.map, fbd.len);
	close(fbd.fd);
	fbdev_restore_tty();
	fbd.map = NULL;
}

/* ---- in-fences ----------------------------------------------------------- */

/* vgem's uAPI (include/uapi/drm/vgem_drm.h), which libdrm does not ship */
struct yc_vgem_fence_attach {
	uint32_t handle, flags, out_fence, pad;
};

struct yc_vgem_fence_signal {
	uint32_t fence, flags;
};

#define YC_VGEM_FENCE_WRITE		0x1
#define YC_IOCTL_VGEM_FENCE_ATTACH	DRM_IOWR(DRM_COMMAND_BASE + 0x1, struct yc_vgem_fence_attach)
#define YC_IOCTL_VGEM_FENCE_SIGNAL	DRM_IOW(DRM_COMMAND_BASE + 0x2, struct yc_vgem_fence_signal)

/*
 * An unsignalled fence as a sync_file, from another driver as a GPU's
 * would come: a write fence vgem attaches to one of its buffers, exported
 * with DMA_BUF_IOCTL_EXPORT_SYNC_FILE (what a reader of it must wait for).
 * vgem signals it when told (or by itself after 10 s). Returns the sync_file
 * fd and the vgem fence id in @fence, or -1 after a failed check.
 */
static int vgem_in_fence(int vfd, const char *who, uint32_t *fence)
{
	struct drm_mode_create_dumb cd = { .width = 64, .height = 64, .bpp = 32 };
	struct dma_buf_export_sync_file es = { .flags = DMA_BUF_SYNC_READ, .fd = -1 };
	struct yc_vgem_fence_attach fa = { .flags = YC_VGEM_FENCE_WRITE };
	int dfd = -1, e = 0;

	if (drmIoctl(vfd, DRM_IOCTL_MODE_CREATE_DUMB, &cd))
		e = errno;
	fa.handle = cd.handle;
	if (!e && drmIoctl(vfd, YC_IOCTL_VGEM_FENCE_ATTACH, &fa))
		e = errno;
	if (!e && drmPrimeHandleToFD(vfd, cd.handle, DRM_CLOEXEC | DRM_RDWR, &dfd))
		e = errno;
	if (!e && ioctl(dfd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &es))
		e = errno;
	if (dfd >= 0)
		close(dfd);
	if (cd.handle)
		drmCloseBufferHandle(vfd, cd.handle);
	if (e || sync_file_wait(es.fd, 0) != 0) {
		result(false, "%s: an unsignalled vgem fence as a sync_file (%s)", who,
		       e ? errname(e) : "it is signalled already");
		if (es.fd >= 0)
			close(es.fd);
		return -1;
	}
	*fence = fa.out_fence;
	return es.fd;
}

/*
 * A non-blocking flip to @fb with IN_FENCE_FD: its event must not come
 * while the fence is unsignalled (half a second: a driver that ignores
 * the fence completes at the next vblank, and a host stall only makes
 * events later), and must come once vgem signals it.
 */
static void commit_in_fence(int f, const char *who, uint32_t fb)
{
	struct yc_vgem_fence_signal sig = { 0 };
	drmModeAtomicReqPtr req;
	char vpath[64];
	int vfd, sfd, r, e, from;
	bool early, late;
	double ts;

	vfd = kms_open_driver("vgem", vpath, sizeof(vpath));
	if (vfd < 0) {
		result(false, "%s: IN_FENCE_FD: no vgem card (modprobe vgem)", who);
		return;
	}
	sfd = vgem_in_fence(vfd, who, &sig.fence);
	if (sfd < 0) {
		close(vfd);
		return;
	}
	req = drmModeAtomicAlloc();
	drmModeAtomicAddProperty(req, plane_id, ids.fb, fb);
	drmModeAtomicAddProperty(req, plane_id, ids.in_fence, sfd);
	from = nsmp;
	outstanding = 1;
	r = drmModeAtomicCommit(f, req, DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT, NULL);
	e = r ? errno : 0;
	drmModeAtomicFree(req);
	close(sfd);	/* the commit holds the fence now */
	result(!r, "%s: non-blocking flip with IN_FENCE_FD (an unsignalled vgem fence) returns 0 "
	       "(got %s)", who, errname(e));
	if (r) {
		outstanding = 0;
		drmIoctl(vfd, YC_IOCTL_VGEM_FENCE_SIGNAL, &sig);
		close(vfd);
		return;
	}
	early = wait_events(f, 0.5);
	result(!early, "%s: no event while the in-fence is unsignalled (%s within 500 ms)", who,
	       early ? "the event came" : "none");
	ts = now();
	r = drmIoctl(vfd, YC_IOCTL_VGEM_FENCE_SIGNAL, &sig);
	e = r ? errno : 0;
	late = !early && !r && wait_events(f, 2.0);
	result(late && nsmp == from + 1 && smp[from].rx >= ts,
	       "%s: the event comes once vgem signals the fence (signal %s, event %s %.1f ms "
	       "after it)", who, errname(e), late ? "arrived" : early ? "came early," : "lost,",
	       nsmp > from ? (smp[from].rx - ts) * 1e3 : 0.0);
	outstanding = 0;
	close(vfd);
}

static int hold(const char *what)
{
	char path[64], line[16], detail[160];
	struct dumb d;
	uint32_t *m;
	int f, e = 0, bfd = -1;
	long bad;

	f = kms_open_driver(driver, path, sizeof(path));
	if (f < 0)
		die("no card with driver %s", driver);
	W = H = 256;
	if (dumb_new(f, W, H, &d))
		die("CREATE_DUMB: %s", strerror(errno));
	m = dumb_map(f, &d, &e);
	if (!m)
		die("map: %s", errname(e));
	if (!fill_map(m, d.size, 99))
		die("SIGBUS filling the map");
	if (!strcmp(what, "dmabuf")) {
		if (drmPrimeHandleToFD(f, d.handle, DRM_CLOEXEC | DRM_RDWR, &bfd))
			die("PRIME_HANDLE_TO_FD: %s", errname(errno));
		munmap(m, d.size);
		m = NULL;
	} else if (strcmp(what, "mmap")) {
		die("--hold mmap|dmabuf");
	}
	close(f);
	printf("held %s of a %ux%u dumb buffer of %s, DRM fd closed\n",
	       bfd >= 0 ? "the dma-buf fd" : "a mapping", W, H, path);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = 0;
	if (bfd >= 0) {
		m = mmap(NULL, d.size, PROT_READ | PROT_WRITE, MAP_SHARED, bfd, 0);
		if (m == MAP_FAILED) {
			result(false, "hold: mmap of the held dma-buf: %s", errname(errno));
			return 1;
		}
		kms_dmabuf_sync(bfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	}
	bad = cmp_map(m, d.size, 99, detail, sizeof(detail));
	if (bfd >= 0)
		kms_dmabuf_sync(bfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	result(bad == 0, "hold: the held %s reads back what was written before the yank: %s",
	       bfd >= 0 ? "dma-buf's new mmap" : "mapping", detail);
	munmap(m, d.size);
	if (bfd >= 0)
		close(bfd);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "mid-flip", no_argument, NULL, 'm' },
		{ "hold", required_argument, NULL, 'H' },
		{ "break", no_argument, NULL, 'b' },
		{ "yank-cmd", required_argument, NULL, 'y' },
		{ "linger", required_argument, NULL, 'l' },
		{ }
	};
	const char *hold_what = NULL;
	char path[64], vpath[64], detail[200], nodepath[] = "/tmp/yankcheck-oldnode";
	struct sigaction sa = { .sa_handler = on_sigbus };
	struct dumb A, B, cur;
	struct stat st;
	drmModeResPtr res;
	drmModeConnectorPtr conn = NULL;
	drmModePlaneResPtr pres;
	uint32_t objs[3], *mapA, *mapA2 = NULL, *dmap;
	double t0;
	int c, i, e, r, bfd, vfd, ufd, mid_pending = 0, mid_from = 0;
	const char *mid_what = "the flip";
	uint32_t blob;
	long bad;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': driver = optarg; break;
		case 's': sock_path = optarg; break;
		case 'n': nflips = atoi(optarg); break;
		case 'm': mid_flip = true; break;
		case 'H': hold_what = optarg; break;
		case 'b': broken = 1; break;
		case 'y': yank_cmd = optarg; break;
		case 'l': linger = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: yankcheck [--driver NAME] [--socket PATH] "
				"[--count N] [--mid-flip] [--break] [--yank-cmd CMD] [--linger SEC] | "
				"--hold mmap|dmabuf\n");
			return 2;
		}
	}
	if (nflips < 3 || nflips > 500)
		nflips = 60;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	sigbus_selftest();
	if (hold_what)
		return hold(hold_what);
	{
		pthread_t probe;

		if (pthread_create(&probe, NULL, probe_fn, NULL))
			die("probe thread");
	}

	/* ---- before the yank ---- */
	fd = kms_open_driver(driver, path, sizeof(path));
	if (fd < 0)
		die("no card with driver %s", driver);
	if (fstat(fd, &st))
		die("fstat %s", path);
	note("%s is %s, char %u:%u", path, driver, major(st.st_rdev), minor(st.st_rdev));
	if (drmSetMaster(fd))
		die("SET_MASTER on %s: %s", path, errname(errno));
	drmSetClientCap(fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1);
	if (drmSetClientCap(fd, DRM_CLIENT_CAP_ATOMIC, 1))
		die("no atomic: %s", errname(errno));
	res = drmModeGetResources(fd);
	if (!res || !res->count_crtcs)
		die("GETRESOURCES: %s", errname(errno));
	for (i = 0; i < res->count_connectors && !conn; i++) {
		conn = drmModeGetConnector(fd, res->connectors[i]);
		if (conn && (conn->connection != DRM_MODE_CONNECTED || !conn->count_modes)) {
			drmModeFreeConnector(conn);
			conn = NULL;
		}
	}
	if (!conn)
		die("no connected connector with modes");
	conn_id = conn->connector_id;
	crtc_id = res->crtcs[0];
	mode = conn->modes[0];
	for (i = 0; i < conn->count_modes; i++)
		if (conn->modes[i].type & DRM_MODE_TYPE_PREFERRED) {
			mode = conn->modes[i];
			break;
		}
	drmModeFreeConnector(conn);
	drmModeFreeResources(res);
	W = mode.hdisplay;
	H = mode.vdisplay;
	period = (double)mode.htotal * mode.vtotal / (mode.clock * 1000.0);
	pres = drmModeGetPlaneResources(fd);
	for (i = 0; pres && i < (int)pres->count_planes && !plane_id; i++) {
		drmModePlanePtr p = drmModeGetPlane(fd, pres->planes[i]);

		if (p && (p->possible_crtcs & 1)) {
			drmModeObjectPropertiesPtr pr =
				drmModeObjectGetProperties(fd, p->plane_id, DRM_MODE_OBJECT_PLANE);
			uint32_t tid = kms_prop_id(fd, p->plane_id, DRM_MODE_OBJECT_PLANE, "type");
			uint32_t k;

			for (k = 0; pr && k < pr->count_props; k++)
				if (pr->props[k] == tid &&
				    pr->prop_values[k] == DRM_PLANE_TYPE_PRIMARY)
					plane_id = p->plane_id;
			drmModeFreeObjectProperties(pr);
		}
		drmModeFreePlane(p);
	}
	drmModeFreePlaneResources(pres);
	if (!plane_id)
		die("no primary plane");
	get_ids(fd, &ids);
	for (i = 0; i < (int)(sizeof(ids) / sizeof(uint32_t)); i++)
		if (!((uint32_t *)&ids)[i])
			die("a connector/CRTC/plane property is missing (#%d of struct ids)", i);
	note("connector %u, CRTC %u, primary plane %u, mode %ux%u clock %u htotal %u vtotal %u: "
	     "frame time %.3f ms", conn_id, crtc_id, plane_id, W, H, mode.clock, mode.htotal,
	     mode.vtotal, period * 1e3);

	if (dumb_new(fd, W, H, &A) || dumb_fb(fd, &A) || dumb_new(fd, W, H, &B) || dumb_fb(fd, &B))
		die("dumb buffers / ADDFB2: %s", errname(errno));
	mapA = dumb_map(fd, &A, &e);
	if (!mapA)
		die("map A: %s", errname(e));
	B.map = dumb_map(fd, &B, &e);
	if (!B.map)
		die("map B: %s", errname(e));
	if (!fill_map(mapA, A.size, 1) || !fill_map(B.map, B.size, 2))
		die("SIGBUS before the yank");
	if (drmModeSetCrtc(fd, crtc_id, A.fb, 0, 0, &conn_id, 1, &mode))
		die("SETCRTC with A: %s", errname(errno));
	commit_in_fence(fd, "master before the yank", B.fb);
	if (drmModeSetCrtc(fd, crtc_id, A.fb, 0, 0, &conn_id, 1, &mode))
		die("SETCRTC with A again: %s", errname(errno));
	if (drmPrimeHandleToFD(fd, B.handle, DRM_CLOEXEC | DRM_RDWR, &bfd))
		die("export B: %s", errname(errno));
	objs[0] = conn_id;
	objs[1] = crtc_id;
	objs[2] = plane_id;
	{
		struct drm_mode_create_lease cl = {
			.object_ids = (uint64_t)(uintptr_t)objs,
			.object_count = 3,
			.flags = O_CLOEXEC,
		};

		if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_LEASE, &cl))
			die("CREATE_LEASE before the yank: %s", errname(errno));
		lfd = cl.fd;
		lessee_id = cl.lessee_id;
	}
	drmSetClientCap(lfd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1);
	drmSetClientCap(lfd, DRM_CLIENT_CAP_ATOMIC, 1);
	note("A %ux%u fb %u mapped, B fb %u exported as dma-buf fd %d, lessee %u on fd %d",
	     W, H, A.fb, B.fb, bfd, lessee_id, lfd);
	fbdev_setup();

	/* ---- the yank ---- */
	if (mid_flip) {
		/*
		 * The emulator stops taking bulk data, so the full-frame picture
		 * of a flip to B (B differs from A everywhere) stalls in the
		 * driver's transfer. A driver that sends before it completes a
		 * flip has the flip pending at the yank. One that completes it
		 * at the vblank and sends behind (dlkms) has its transfer stuck
		 * instead; a non-blocking commit turning the CRTC off waits for
		 * that transfer, and is what is pending at the yank.
		 */
		if (emu("drain stop"))
			die("emulator drain stop");
		mid_from = nsmp;
		outstanding = 1;
		if (drmModePageFlip(fd, crtc_id, B.fb, DRM_MODE_PAGE_FLIP_EVENT, NULL))
			die("PAGE_FLIP before the yank: %s", errname(errno));
		mid_pending = !wait_events(fd, 0.5);
		note("mid-flip: flip to B issued with the bulk endpoint not draining; %s",
		     mid_pending ? "no event within 500 ms: pending at the yank" :
		     "its event came at a vblank");
		if (!mid_pending) {
			drmModeAtomicReqPtr req = full_state(fd, &ids, 0, false, &blob);

			mid_what = "the commit turning the CRTC off";
			mid_from = nsmp;
			outstanding = 1;
			if (drmModeAtomicCommit(fd, req, DRM_MODE_ATOMIC_NONBLOCK |
						DRM_MODE_ATOMIC_ALLOW_MODESET |
						DRM_MODE_PAGE_FLIP_EVENT, NULL))
				die("non-blocking commit turning the CRTC off before the yank: %s",
				    errname(errno));
			drmModeAtomicFree(req);
			mid_pending = !wait_events(fd, 0.5);
			note("mid-flip: then a non-blocking commit turning the CRTC off; %s",
			     mid_pending ? "no event within 500 ms: pending at the yank" :
			     "its event already came (not pending)");
		}
		outstanding = mid_pending;
	}
	ufd = uevent_open();
	t0 = now();
	if (yank_cmd) {
		fflush(stdout);	/* the command's output goes after ours */
		r = system(yank_cmd);
		if (r == -1 || !WIFEXITED(r) || WEXITSTATUS(r))
			die("yank command '%s' failed (status 0x%x)", yank_cmd, r);
		note("yank command '%s' done after %.0f ms", yank_cmd, (now() - t0) * 1e3);
	} else if (emu("yank")) {
		die("emulator yank");
	}
	while (!node_gone(path, st.st_rdev) && now() - t0 < 20)
		usleep(20000);
	if (!node_gone(path, st.st_rdev))
		die("%s still there 20 s after the yank", path);
	note("yanked: %s and /sys/dev/char/%u:%u gone after %.0f ms", path, major(st.st_rdev),
	     minor(st.st_rdev), (now() - t0) * 1e3);
	trace_mark("yankcheck: the node is gone");
	if (mid_flip) {
		bool got;

		emu("drain normal");	/* for the next plug */
		got = mid_pending && wait_events(fd, 2.0);
		result(mid_pending && got && nsmp == mid_from + 1,
		       "mid-flip: %s, pending at the yank, delivered its event (%s, %.0f ms after "
		       "the yank)", mid_what, !mid_pending ? "was not pending" : got ? "arrived" : "lost",
		       (now() - t0) * 1e3);
		outstanding = 0;
	}

	/* 1. uevents, resources and connectors */
	uevent_judge(ufd, path, 5.0);
	check_resources(fd, "master");
	check_connector(fd, "master");
	check_connector(lfd, "lessee");

	/* 8. the old node, recreated */
	unlink(nodepath);
	if (mknod(nodepath, S_IFCHR | 0600, st.st_rdev)) {
		result(false, "open() of the old node: mknod %s: %s", nodepath, errname(errno));
	} else {
		int o = open(nodepath, O_RDWR | O_CLOEXEC);

		e = o < 0 ? errno : 0;
		result(o < 0, "open() of the old node (mknod c %u %u) fails: errno %s%s",
		       major(st.st_rdev), minor(st.st_rdev), o < 0 ? errname(e) : "none, it opened",
		       e == ENXIO ? " (as the doc asks)" :
		       e ? " (the doc asks ENXIO)" : "");
		if (o >= 0)
			close(o);
		unlink(nodepath);
	}

	/* 2. commits */
	commit_full(fd, "master", "full modeset routing the connector to the CRTC with the mode",
		    A.fb, true);
	commit_full(fd, "master", "disabling the CRTC", 0, false);
	commit_full(fd, "master", "re-enabling the CRTC", A.fb, true);
	r = drmModeSetCrtc(fd, crtc_id, B.fb, 0, 0, &conn_id, 1, &mode);
	e = r ? errno : 0;
	result(!r, "master: legacy SETCRTC returns 0 (got %s)", errname(e));
	outstanding = 1;
	r = drmModePageFlip(fd, crtc_id, A.fb, DRM_MODE_PAGE_FLIP_EVENT, NULL);
	e = r ? errno : 0;
	result(!r, "master: legacy PAGE_FLIP with event returns 0 (got %s)", errname(e));
	if (!r)
		wait_events(fd, 1.0);
	outstanding = 0;
	if (dumb_new(fd, 64, 64, &cur)) {
		result(false, "master: cursor buffer: %s", errname(errno));
	} else {
		r = drmModeSetCursor(fd, crtc_id, cur.handle, 64, 64);
		e = r ? errno : 0;
		result(!r, "master: SETCURSOR 64x64 returns 0 (got %s)", errname(e));
		r = drmModeMoveCursor(fd, crtc_id, 100, 50);
		e = r ? errno : 0;
		result(!r, "master: MOVECURSOR returns 0 (got %s)", errname(e));
		r = drmModeSetCursor(fd, crtc_id, 0, 0, 0);
		e = r ? errno : 0;
		result(!r, "master: SETCURSOR off returns 0 (got %s)", errname(e));
	}

	/* 3. events */
	flips(fd, "master", nflips, A.fb, B.fb, true);
	commit_fence(fd, "master", B.fb);
	commit_in_fence(fd, "master", A.fb);
	wait_vblanks(fd, "master", 30);

	/* 4. leases */
	{
		struct drm_mode_create_lease cl = {
			.object_ids = (uint64_t)(uintptr_t)objs,
			.object_count = 3,
			.flags = O_CLOEXEC,
		};

		r = drmIoctl(fd, DRM_IOCTL_MODE_CREATE_LEASE, &cl);
		e = r ? errno : 0;
		result(r && e == ENODEV, "master: CREATE_LEASE after the yank fails with ENODEV "
		       "(got %s)", r ? errname(e) : "success");
		if (!r)
			close(cl.fd);
	}
	{
		/*
		 * The same request encoded with a larger size: drm_ioctl()
		 * goes by the command's number and copies what the size says,
		 * so this is CREATE_LEASE as much as the one above.
		 */
		struct {
			struct drm_mode_create_lease cl;
			uint64_t more;
		} big = { .cl = {
			.object_ids = (uint64_t)(uintptr_t)objs,
			.object_count = 3,
			.flags = O_CLOEXEC,
		} };
		unsigned long cmd = _IOC(_IOC_READ | _IOC_WRITE, DRM_IOCTL_BASE,
					 _IOC_NR(DRM_IOCTL_MODE_CREATE_LEASE), sizeof(big));

		r = ioctl(fd, cmd, &big);
		e = r ? errno : 0;
		result(r && e == ENODEV, "master: CREATE_LEASE encoded with size %zu (0x%lx) after "
		       "the yank fails with ENODEV (got %s)", sizeof(big), cmd,
		       r ? errname(e) : "success");
		if (!r)
			close(big.cl.fd);
	}
	check_resources(lfd, "lessee");
	flips(lfd, "lessee", 10, A.fb, B.fb, false);
	commit_full(lfd, "lessee", "full modeset with B", B.fb, true);

	/* 5. memory */
	/* written before the yank, read back after it */
	bad = cmp_map(mapA, A.size, 1, detail, sizeof(detail));
	result(bad == 0, "old mmap of A reads after the yank: %s", detail);
	bad = fill_map(mapA, A.size, 11) ? cmp_map(mapA, A.size, 11, detail, sizeof(detail)) : -1;
	if (bad < 0 && !strstr(detail, "SIGBUS"))
		snprintf(detail, sizeof(detail), "SIGBUS writing");
	result(bad == 0, "old mmap of A writes and reads back after the yank: %s", detail);
	mapA2 = dumb_map(fd, &A, &e);
	if (!mapA2) {
		result(false, "new MAP_DUMB + mmap of A after the yank: %s", errname(e));
	} else {
		bad = cmp_map(mapA2, A.size, 11, detail, sizeof(detail));
		result(bad == 0, "new mmap of A after the yank reads what the old one wrote: %s",
		       detail);
		bad = fill_map(mapA2, A.size, 12) ? cmp_map(mapA, A.size, 12, detail,
							    sizeof(detail)) : -1;
		if (bad < 0 && !strstr(detail, "SIGBUS"))
			snprintf(detail, sizeof(detail), "SIGBUS writing");
		result(bad == 0, "new mmap of A writes, the old one sees it: %s", detail);
	}
	/* B: write through the DRM map after the yank, read through the dma-buf */
	if (!fill_map(B.map, B.size, 21))
		note("SIGBUS writing B's DRM map");
	dmap = mmap(NULL, B.size, PROT_READ | PROT_WRITE, MAP_SHARED, bfd, 0);
	if (dmap == MAP_FAILED) {
		result(false, "mmap of B's dma-buf fd after the yank: %s", errname(errno));
	} else {
		kms_dmabuf_sync(bfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		bad = cmp_map(dmap, B.size, 21, detail, sizeof(detail));
		kms_dmabuf_sync(bfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		result(bad == 0, "B's dma-buf mmap reads what B's DRM mmap wrote after the yank: %s",
		       detail);
		munmap(dmap, B.size);
	}
	vfd = kms_open_driver("vgem", vpath, sizeof(vpath));
	if (vfd < 0) {
		result(false, "vgem import of B: no vgem card (modprobe vgem)");
	} else {
		uint32_t vh;
		struct drm_mode_map_dumb md = { 0 };

		r = drmPrimeFDToHandle(vfd, bfd, &vh);
		e = r ? errno : 0;
		result(!r, "B's dma-buf imports into vgem (%s) after the yank (got %s)", vpath,
		       errname(e));
		if (!r) {
			md.handle = vh;
			r = drmIoctl(vfd, DRM_IOCTL_MODE_MAP_DUMB, &md);
			e = r ? errno : 0;
			dmap = r ? MAP_FAILED : mmap(NULL, B.size, PROT_READ, MAP_SHARED, vfd,
						     md.offset);
			if (!r && dmap == MAP_FAILED)
				e = errno;
			if (r && e == EINVAL) {
				/*
				 * drm_gem_dumb_map_offset() refuses imported
				 * objects (all three kernels), whoever exported
				 * them. Through vgem then means: vgem's export
				 * of its handle is B's dma-buf itself, and that
				 * maps to the same bytes.
				 */
				note("vgem MAP_DUMB of the imported B: EINVAL (the core refuses "
				     "MAP_DUMB of imported objects); reading through vgem's "
				     "re-export instead");
				vgem_reexport(vfd, vh, bfd, B.size);
			} else if (dmap == MAP_FAILED) {
				result(false, "vgem MAP_DUMB + mmap of the imported B: %s%s",
				       errname(e), r ? " at MAP_DUMB" : " at mmap");
			} else {
				bad = cmp_map(dmap, B.size, 21, detail, sizeof(detail));
				result(bad == 0, "vgem's mmap of the imported B reads the same bytes: "
				       "%s", detail);
				munmap(dmap, B.size);
			}
			drmCloseBufferHandle(vfd, vh);
		}
		close(vfd);
	}
	fbdev_after();
	result(sigbus_count == 0, "no SIGBUS from any map (%d)", (int)sigbus_count);

	if (linger) {
		/* a master's probe once more, then the suite's window for polls */
		check_connector(fd, "master, before lingering");
		note("lingering %d s with everything held", linger);
		fflush(stdout);
		sleep(linger);
		trace_mark("yankcheck: done lingering");
	}

	/* everything goes; the suite checks the device is released after this */
	if (mapA2)
		munmap(mapA2, A.size);
	munmap(mapA, A.size);
	munmap(B.map, B.size);
	close(bfd);
	close(lfd);
	close(fd);
	printf("# %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
