// SPDX-License-Identifier: GPL-2.0-only
/*
 * flipcheck: event pacing of a KMS driver. Sets the connector's mode, then
 * measures legacy page flips, non-blocking atomic commits and vblank waits:
 * every requested event must arrive, on the frame grid (whole frames of the
 * mode's frame time, from clock, htotal and vtotal, not the rounded
 * vrefresh), with the sequence advancing by exactly the frames elapsed and
 * no interval under half a frame (paced by the vblank, not returned at
 * once). Atomic flips that declare their damage (FB_DAMAGE_CLIPS, as
 * compositors do) and vblank waits must come every frame: median interval
 * one frame within 5%. Legacy flips carry no damage, so each composes a
 * whole frame, which under TCG costs more than one; their rate is reported.
 * Legacy cursor updates that hide and show the cursor right after a flip
 * must not wait for it: the flip's event is not there yet when they return
 * (in at least half of the rounds; a blocking one finds it there always).
 *
 * A flip while one is pending: a legacy PAGE_FLIP, then at once a second
 * one on the same CRTC, must fail with EBUSY while the first's event has
 * not arrived; the same for a non-blocking atomic commit on the CRTC (the
 * atomic helpers' stall check). A flip completes at the next vblank, so the
 * second ioctl normally comes while the first is pending; a starved guest
 * may be slower than a frame, so each round polls the fd (timeout 0) right
 * before and after the second ioctl. A second flip that succeeded while
 * the first's event had not arrived even after it returned is a failure;
 * one that succeeded with the event there by then is inconclusive (the
 * first may have completed before the second was checked); an EBUSY with
 * the first's event there before the second was issued is a failure (a
 * client that has its event may flip again). Of up to --busy-rounds
 * rounds, at least one must give a conclusive EBUSY. The reverse: a commit
 * that only turns the disabled cursor plane off (FB_ID=0) does not concern
 * the CRTC, so it succeeds without ALLOW_MODESET, TEST_ONLY, blocking, and
 * non-blocking while a flip is pending (idle-plane).
 *
 *   flipcheck --driver NAME [--mode WxH] [--count N] [--busy-rounds N]
 *             [--test flip|atomic|vblank|cursor|idle-plane|busy|all] [--break]
 *   flipcheck --driver NAME [--mode WxH] [--count N] --test across --across CMD [--lease]
 *
 * --test across: non-blocking atomic flips go on while CMD (sh -c) runs, a
 * system suspend or a USB reset: every flip's event arrives, sequence and
 * timestamps stay monotonic and on the frame grid, and the flips go on at
 * the refresh after it (see test_across). A dma-buf of one of the flipped
 * buffers, mapped before CMD, must read and take writes after it, and a
 * new mapping of it and the DRM mapping see the same. With --lease the
 * flips go through a lessee fd (CRTC, connector and primary plane leased
 * by the master), which must keep working across CMD as the master's fd.
 *
 * --break tightens every assertion into one that a correct driver fails
 * (expects 30 Hz, a minimum of 1.5 frames, one event more than was asked
 * for, a sequence step of 2, a second flip accepted while one is pending),
 * to show that each check can go red.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/dma-buf.h>

#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "emuctl.h"
#include "kmsutil.h"

static int fd, failed, broken;
static int master_fd = -1;	/* with --lease: the lessor; fd is then the lessee */
static uint32_t crtc_id, conn_id, plane_id;
static drmModeModeInfo mode;
static double period;		/* seconds per frame, from the mode timings */

struct buf {
	uint32_t handle, fb, size;
};

/* What one event told us, and when we got it. */
struct sample {
	double ts;		/* kernel timestamp of the vblank */
	double rx;		/* CLOCK_MONOTONIC when userspace received it */
	unsigned int seq;
};

static struct sample *smp;
static int nsmp;
static bool pending;
static double event_timeout = 1.0;	/* seconds wait_event() waits */

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void result(bool good, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void result(bool good, const char *fmt, ...)
{
	va_list ap;

	printf(good ? "ok - " : "not ok - ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!good)
		failed++;
}

static void on_flip(int fd_, unsigned int seq, unsigned int sec, unsigned int usec,
		    unsigned int crtc, void *data)
{
	(void)fd_;
	(void)crtc;
	(void)data;
	smp[nsmp].ts = sec + usec / 1e6;
	smp[nsmp].rx = now();
	smp[nsmp].seq = seq;
	nsmp++;
	pending = false;
}

/* Wait for the one outstanding event; false on timeout (event_timeout). */
static bool wait_event(void)
{
	drmEventContext ev = {
		.version = 3,
		.page_flip_handler2 = on_flip,
	};
	struct pollfd p = { .fd = fd, .events = POLLIN };
	double end = now() + event_timeout;

	while (pending) {
		int ms = (int)((end - now()) * 1000);

		if (ms <= 0 || poll(&p, 1, ms) <= 0)
			return false;
		drmHandleEvent(fd, &ev);
	}
	return true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* the median of the @n intervals between successive values of @v */
static double median_interval(const double *v, int n)
{
	double *d = calloc(n, sizeof(*d)), m;
	int i;

	for (i = 0; i < n; i++)
		d[i] = v[i + 1] - v[i];
	qsort(d, n, sizeof(*d), cmp_double);
	m = n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2;
	free(d);
	return m;
}

/*
 * Judge a run of samples: all @want events arrived; every interval between
 * their kernel timestamps is a whole number of frames (within 5%), at
 * least one, and the sequence advances by exactly that number; none is
 * under half a frame (paced by the vblank, not returned at once).
 * With @exact the commits are cheap enough for every frame: the median
 * interval, of the kernel timestamps and of the times userspace received
 * the events (a busy loop that stamps events with fake times still fails
 * on the wall clock), must be one frame within 5%. The median, not the
 * mean: a TCG guest starved of CPU now and then misses a frame, which the
 * grid check still holds to whole frames. Without @exact (full-frame
 * commits that take longer than a frame under TCG) the mean is reported.
 * Without @rx_exact only the kernel's timestamps are held to the median:
 * after a wake-up the guest is busy (resync, uevents, udev) and delivery
 * lags, while the vblank it reports stays exact.
 */
static void judge(const char *what, int want, bool exact, bool rx_exact)
{
	double exp_period = broken ? 2 * period : period;
	double min_ok = broken ? 1.5 * period : 0.5 * period;
	int want_n = broken ? want + 1 : want;
	double mean, rxmean, med, rxmed, mn = 1e9, mx = 0, ts[nsmp], rx[nsmp];
	int i, off_grid = 0, seq_bad = 0;
	bool seq_up = true;

	result(nsmp == want_n, "%s: %d of %d events arrived", what, nsmp, want_n);
	if (nsmp < 2)
		return;
	for (i = 0; i < nsmp; i++) {
		ts[i] = smp[i].ts;
		rx[i] = smp[i].rx;
	}
	for (i = 1; i < nsmp; i++) {
		double d = smp[i].ts - smp[i - 1].ts, k = d / exp_period;
		long frames = (long)(k + 0.5);

		mn = d < mn ? d : mn;
		mx = d > mx ? d : mx;
		if (smp[i].seq <= smp[i - 1].seq)
			seq_up = false;
		if (frames < 1 || k - frames > 0.05 || frames - k > 0.05)
			off_grid++;
		if (smp[i].seq - smp[i - 1].seq != (unsigned long)frames)
			seq_bad++;
	}
	mean = (smp[nsmp - 1].ts - smp[0].ts) / (nsmp - 1);
	rxmean = (smp[nsmp - 1].rx - smp[0].rx) / (nsmp - 1);
	med = median_interval(ts, nsmp - 1);
	rxmed = median_interval(rx, nsmp - 1);
	result(!off_grid, "%s: %d of %d intervals off the frame grid (frame %.3f ms); "
	       "mean %.3f ms (received %.3f ms, %.2f Hz), min %.3f ms, max %.3f ms", what,
	       off_grid, nsmp - 1, exp_period * 1e3, mean * 1e3, rxmean * 1e3, 1 / rxmean,
	       mn * 1e3, mx * 1e3);
	if (exact)
		result(med > 0.95 * exp_period && med < 1.05 * exp_period &&
		       (!rx_exact || (rxmed > 0.95 * exp_period && rxmed < 1.05 * exp_period)),
		       "%s: median interval %.3f ms (received %.3f ms), want %.3f ms +-5%% "
		       "(%.3f Hz)", what, med * 1e3, rxmed * 1e3, exp_period * 1e3,
		       1 / exp_period);
	result(mn >= min_ok, "%s: shortest interval %.3f ms, want >= %.3f ms", what,
	       mn * 1e3, min_ok * 1e3);
	result(seq_up && !seq_bad,
	       "%s: sequence %u..%u, %s, %d steps not equal to the frames elapsed",
	       what, smp[0].seq, smp[nsmp - 1].seq,
	       seq_up ? "strictly increasing" : "NOT increasing", seq_bad);
}

static void test_flip(struct buf *b, int n)
{
	int i;

	nsmp = 0;
	for (i = 0; i < n; i++) {
		int r = drmModePageFlip(fd, crtc_id, b[(i + 1) & 1].fb,
					DRM_MODE_PAGE_FLIP_EVENT, NULL);

		if (r) {
			printf("# PAGE_FLIP %d: %s\n", i, strerror(errno));
			break;
		}
		pending = true;
		if (!wait_event()) {
			printf("# PAGE_FLIP %d: no event within 1 s\n", i);
			break;
		}
	}
	/* a legacy flip carries no damage: the whole frame is composed */
	judge("legacy PAGE_FLIP (full frame)", n, false, false);
}

static uint32_t prop_id(uint32_t obj, uint32_t type, const char *name)
{
	uint32_t id = kms_prop_id(fd, obj, type, name);

	if (!id) {
		fprintf(stderr, "flipcheck: no property %s on object %u\n", name, obj);
		exit(1);
	}
	return id;
}

/* where the two buffers differ; their damage for each other */
#define BOX 64

/*
 * A non-blocking atomic flip to @fb with an event, as a compositor does
 * it: a new buffer, and what changed in it (the FB_DAMAGE_CLIPS @blob).
 */
static int damaged_flip(uint32_t fb_prop, uint32_t fb, uint32_t dmg_prop, uint32_t blob)
{
	drmModeAtomicReqPtr req = drmModeAtomicAlloc();
	int r;

	drmModeAtomicAddProperty(req, plane_id, fb_prop, fb);
	drmModeAtomicAddProperty(req, plane_id, dmg_prop, blob);
	r = drmModeAtomicCommit(fd, req, DRM_MODE_ATOMIC_NONBLOCK |
				DRM_MODE_PAGE_FLIP_EVENT, NULL);
	drmModeAtomicFree(req);
	return r;
}

static void test_atomic(struct buf *b, int n)
{
	uint32_t fb_prop = prop_id(plane_id, DRM_MODE_OBJECT_PLANE, "FB_ID");
	uint32_t dmg_prop = prop_id(plane_id, DRM_MODE_OBJECT_PLANE, "FB_DAMAGE_CLIPS");
	struct drm_mode_rect box = {
		.x1 = mode.hdisplay / 2, .y1 = mode.vdisplay / 2,
		.x2 = mode.hdisplay / 2 + BOX, .y2 = mode.vdisplay / 2 + BOX,
	};
	uint32_t blob;
	int i;

	if (drmModeCreatePropertyBlob(fd, &box, sizeof(box), &blob)) {
		result(false, "atomic: CREATEPROPBLOB for FB_DAMAGE_CLIPS: %s", strerror(errno));
		return;
	}
	nsmp = 0;
	for (i = 0; i < n; i++) {
		if (damaged_flip(fb_prop, b[(i + 1) & 1].fb, dmg_prop, blob)) {
			printf("# atomic commit %d: %s\n", i, strerror(errno));
			break;
		}
		pending = true;
		if (!wait_event()) {
			printf("# atomic commit %d: no event within 1 s\n", i);
			break;
		}
	}
	drmModeDestroyPropertyBlob(fd, blob);
	judge("nonblocking atomic commit with damage", n, true, true);
}

/*
 * Non-blocking atomic flips with damage, as in test_atomic, with @cmd run
 * (sh -c) from the n/3rd flip on while they go on: a system suspend, a USB
 * reset. A flip may be pending when it starts (a frozen client's flip
 * completes while it sleeps; a reset's client is not frozen and flips on).
 * Every flip must get its event, the sequence and the timestamps stay
 * monotonic and on the frame grid across the command, and the flips go on
 * for @n/3 more after it, at the refresh. The command must exit 0.
 */
/* The held dma-buf of test_across: its fd and mapping, and the word it holds. */
struct held {
	int fd;
	uint32_t *map;
	size_t size;
};

#define HELD_MAGIC	0x00c0ffee

/* Exports @b (from the master's fd: a lessee may not own the handle) and maps it. */
static bool held_take(struct held *h, const struct buf *b)
{
	int owner = master_fd >= 0 ? master_fd : fd;

	h->size = b->size;
	if (drmPrimeHandleToFD(owner, b->handle, DRM_CLOEXEC | DRM_RDWR, &h->fd)) {
		result(false, "across: PRIME_HANDLE_TO_FD: %s", strerror(errno));
		return false;
	}
	h->map = mmap(NULL, h->size, PROT_READ | PROT_WRITE, MAP_SHARED, h->fd, 0);
	if (h->map == MAP_FAILED) {
		result(false, "across: mmap of the dma-buf: %s", strerror(errno));
		close(h->fd);
		return false;
	}
	/* the last pixel: outside the damaged box, so the flips leave it */
	kms_dmabuf_sync(h->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	h->map[h->size / 4 - 1] = HELD_MAGIC;
	kms_dmabuf_sync(h->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	return true;
}

/* After the command: the old mapping, a new one and the DRM mapping agree. */
static void held_check(struct held *h, const struct buf *b)
{
	int owner = master_fd >= 0 ? master_fd : fd;
	struct drm_mode_map_dumb md = { .handle = b->handle };
	uint32_t old, fresh = 0, drm = 0, *p;

	kms_dmabuf_sync(h->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	old = h->map[h->size / 4 - 1];
	h->map[h->size / 4 - 1] = HELD_MAGIC + 1;
	kms_dmabuf_sync(h->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	p = mmap(NULL, h->size, PROT_READ, MAP_SHARED, h->fd, 0);
	if (p != MAP_FAILED) {
		kms_dmabuf_sync(h->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		fresh = p[h->size / 4 - 1];
		kms_dmabuf_sync(h->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		munmap(p, h->size);
	}
	if (!drmIoctl(owner, DRM_IOCTL_MODE_MAP_DUMB, &md)) {
		p = mmap(NULL, h->size, PROT_READ, MAP_SHARED, owner, md.offset);
		if (p != MAP_FAILED) {
			drm = p[h->size / 4 - 1];
			munmap(p, h->size);
		}
	}
	result((old == HELD_MAGIC && fresh == HELD_MAGIC + 1 && drm == HELD_MAGIC + 1) != broken,
	       "across: the dma-buf mapped before reads 0x%08x (want 0x%08x) and takes a write; "
	       "a new dma-buf mapping reads 0x%08x, the DRM mapping 0x%08x (want 0x%08x)%s",
	       old, HELD_MAGIC, fresh, drm, HELD_MAGIC + 1,
	       broken ? " (--break: wants a mismatch)" : "");
	munmap(h->map, h->size);
	close(h->fd);
}

static void test_across(struct buf *b, int n, const char *cmd)
{
	struct held held;
	uint32_t fb_prop = prop_id(plane_id, DRM_MODE_OBJECT_PLANE, "FB_ID");
	uint32_t dmg_prop = prop_id(plane_id, DRM_MODE_OBJECT_PLANE, "FB_DAMAGE_CLIPS");
	struct drm_mode_rect box = {
		.x1 = mode.hdisplay / 2, .y1 = mode.vdisplay / 2,
		.x2 = mode.hdisplay / 2 + BOX, .y2 = mode.vdisplay / 2 + BOX,
	};
	int i, issued = 0, during = 0, after = 0, status = -1;
	double t0 = 0, t1 = 0;
	pid_t child = 0;
	uint32_t blob;

	if (drmModeCreatePropertyBlob(fd, &box, sizeof(box), &blob)) {
		result(false, "across: CREATEPROPBLOB for FB_DAMAGE_CLIPS: %s", strerror(errno));
		return;
	}
	if (!held_take(&held, &b[1]))
		return;
	nsmp = 0;
	for (i = 0; after < n / 3 || child > 0; i++) {
		if (i == n / 3) {
			t0 = now();
			child = fork();
			if (child == 0) {
				execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
				_exit(127);
			}
			/* a system sleep can take a while; a lost event still fails */
			event_timeout = 60;
		}
		if (child > 0 && waitpid(child, &status, WNOHANG) == child) {
			child = 0;
			t1 = now();
			event_timeout = 1.0;
		}
		if (child > 0)
			during++;
		else if (t1 > 0)
			after++;
		if (issued >= n * 4) {
			printf("# across: %d flips issued and the command still runs\n", issued);
			break;
		}
		if (damaged_flip(fb_prop, b[(i + 1) & 1].fb, dmg_prop, blob)) {
			printf("# across: atomic commit %d: %s\n", i, strerror(errno));
			break;
		}
		issued++;
		pending = true;
		if (!wait_event()) {
			printf("# across: commit %d: no event within %.0f s\n", i, event_timeout);
			break;
		}
	}
	if (child > 0)
		waitpid(child, &status, 0);
	drmModeDestroyPropertyBlob(fd, blob);
	printf("# across: '%s' ran %.2f s; %d flips issued before it, %d while it ran, %d after\n",
	       cmd, t1 - t0, n / 3, during, after);
	result((WIFEXITED(status) && WEXITSTATUS(status) == 0) != broken,
	       "across: the command exited %d%s", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	       broken ? " (--break: wants a failure)" : "");
	judge("nonblocking atomic flips across the command", issued, true, false);
	held_check(&held, &b[1]);
}

/*
 * --lease: the master leases the CRTC, the connector and the primary plane
 * and the across test flips through the lessee, as a VR compositor or a
 * kiosk client of a display manager does.
 */
static bool use_lease(void)
{
	uint32_t objs[3] = { conn_id, crtc_id, plane_id }, lessee_id;
	int lessee;

	lessee = drmModeCreateLease(fd, objs, 3, O_CLOEXEC, &lessee_id);
	if (lessee < 0) {
		result(false, "across: CREATE_LEASE: %s", strerror(-lessee));
		return false;
	}
	if (drmSetClientCap(lessee, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1) ||
	    drmSetClientCap(lessee, DRM_CLIENT_CAP_ATOMIC, 1)) {
		result(false, "across: the lessee's client caps: %s", strerror(errno));
		close(lessee);
		return false;
	}
	printf("# across: flips through lessee %u (fd %d)\n", lessee_id, lessee);
	master_fd = fd;
	fd = lessee;
	return true;
}

static bool wait_vblank(unsigned int type, unsigned int seq)
{
	drmVBlank vb = { .request = { .type = type, .sequence = seq } };

	if (drmWaitVBlank(fd, &vb)) {
		printf("# WAIT_VBLANK: %s\n", strerror(errno));
		return false;
	}
	smp[nsmp].ts = vb.reply.tval_sec + vb.reply.tval_usec / 1e6;
	smp[nsmp].rx = now();
	smp[nsmp].seq = vb.reply.sequence;
	nsmp++;
	return true;
}

static void test_vblank(int n)
{
	unsigned int base;
	int i;

	/* relative: each wait returns at the next vblank */
	nsmp = 0;
	for (i = 0; i < n && wait_vblank(DRM_VBLANK_RELATIVE, 1); i++)
		;
	judge("WAIT_VBLANK relative 1", n, true, true);

	/* absolute: wait for base+1, base+2, ... */
	nsmp = 0;
	if (!wait_vblank(DRM_VBLANK_RELATIVE, 0))
		return;
	base = smp[0].seq;
	nsmp = 0;
	for (i = 1; i <= n; i++) {
		/*
		 * The next vblank after the last reply: a process delayed past
		 * base + i (a loaded TCG guest) would otherwise ask for one
		 * that has already been, which rightly returns at once.
		 */
		unsigned int target = base + i;

		if (nsmp && smp[nsmp - 1].seq >= target)
			target = smp[nsmp - 1].seq + 1;
		if (!wait_vblank(DRM_VBLANK_ABSOLUTE, target))
			break;
		if (smp[nsmp - 1].seq < target) {
			result(false, "WAIT_VBLANK absolute %u returned early at %u",
			       target, smp[nsmp - 1].seq);
			break;
		}
	}
	judge("WAIT_VBLANK absolute", n, true, true);
}

/*
 * A flip, then the cursor hidden and shown again before its vblank: with
 * the cursor composed in software neither has a reason to wait for the
 * flip, as a move does not. Each round starts just after a vblank, so
 * the flip's event is a frame away; a hide that waited for the flip finds
 * the event there when it returns.
 */
static void test_cursor(struct buf *b, int n)
{
	struct drm_mode_create_dumb cd = { .width = 64, .height = 64, .bpp = 32 };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int i, ready = 0, done = 0;
	double spent = 0, t;

	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &cd) ||
	    drmModeSetCursor(fd, crtc_id, cd.handle, 64, 64)) {
		result(false, "cursor: a 64x64 cursor: %s", strerror(errno));
		return;
	}
	nsmp = 0;
	for (i = 0; i < n; i++) {
		nsmp = 0;
		if (!wait_vblank(DRM_VBLANK_RELATIVE, 1))
			break;
		if (drmModePageFlip(fd, crtc_id, b[(i + 1) & 1].fb,
				    DRM_MODE_PAGE_FLIP_EVENT, NULL)) {
			printf("# PAGE_FLIP %d: %s\n", i, strerror(errno));
			break;
		}
		pending = true;
		t = now();
		if (drmModeSetCursor(fd, crtc_id, 0, 0, 0) ||
		    drmModeSetCursor(fd, crtc_id, cd.handle, 64, 64)) {
			printf("# cursor hide/show %d: %s\n", i, strerror(errno));
			break;
		}
		spent += now() - t;
		ready += poll(&p, 1, 0) == 1;
		done++;
		nsmp = 0;
		if (!wait_event()) {
			printf("# PAGE_FLIP %d: no event within 1 s\n", i);
			break;
		}
	}
	drmModeSetCursor(fd, crtc_id, 0, 0, 0);
	drmIoctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, &(struct drm_mode_destroy_dumb){ .handle = cd.handle });
	result(done == n && (broken ? ready * 2 > n : ready * 2 <= n),
	       "cursor hidden and shown after a flip, %d rounds: the flip's event already "
	       "there after %d (at most %d%s), %.2f ms for the two ioctls on average",
	       done, ready, n / 2, broken ? "; --break wants more" : "",
	       done ? spent / done * 1e3 : 0);
}

/*
 * A plane that is off and stays off is no reason to pull the CRTC into a
 * commit: setting FB_ID=0 on the disabled cursor, without ALLOW_MODESET,
 * must succeed, TEST_ONLY and real, and a non-blocking one must not wait
 * for (or fail with EBUSY behind) a flip pending on the CRTC. A driver
 * that adds the CRTC there also trips the core's "adding CRTC not allowed
 * without modesets" warning, which fails the run from the kernel log.
 */
/* FB_ID=0 and CRTC_ID=0 on @plane; 0 or -1 with errno */
static int idle_plane_commit(uint32_t plane, uint32_t fb_prop, uint32_t crtc_prop,
			     unsigned int flags)
{
	drmModeAtomicReqPtr req = drmModeAtomicAlloc();
	int r;

	drmModeAtomicAddProperty(req, plane, fb_prop, 0);
	drmModeAtomicAddProperty(req, plane, crtc_prop, 0);
	r = drmModeAtomicCommit(fd, req, flags, NULL);
	drmModeAtomicFree(req);
	return r;
}

static void test_idle_plane(struct buf *b, int rounds)
{
	drmModePlaneResPtr pres = drmModeGetPlaneResources(fd);
	uint32_t cursor = 0, fb_prop, crtc_prop;
	int i, r, bad = 0, done = 0;

	for (i = 0; pres && i < (int)pres->count_planes && !cursor; i++) {
		drmModeObjectPropertiesPtr props =
			drmModeObjectGetProperties(fd, pres->planes[i], DRM_MODE_OBJECT_PLANE);

		for (uint32_t k = 0; props && k < props->count_props; k++) {
			drmModePropertyPtr pr = drmModeGetProperty(fd, props->props[k]);

			if (pr && !strcmp(pr->name, "type") &&
			    props->prop_values[k] == DRM_PLANE_TYPE_CURSOR)
				cursor = pres->planes[i];
			drmModeFreeProperty(pr);
		}
		drmModeFreeObjectProperties(props);
	}
	drmModeFreePlaneResources(pres);
	if (!cursor) {
		result(false, "idle plane: no cursor plane");
		return;
	}
	fb_prop = prop_id(cursor, DRM_MODE_OBJECT_PLANE, "FB_ID");
	crtc_prop = prop_id(cursor, DRM_MODE_OBJECT_PLANE, "CRTC_ID");
	drmModeSetCursor(fd, crtc_id, 0, 0, 0);
	for (i = 0; i < rounds; i++) {
		unsigned int flags = i == 0 ? DRM_MODE_ATOMIC_TEST_ONLY :
				     i == 1 ? 0 : DRM_MODE_ATOMIC_NONBLOCK;

		nsmp = 0;
		/*
		 * The core answers a non-blocking commit with EBUSY while the
		 * plane's previous commit is not done, and one with no CRTC
		 * has no event to wait for: a blocking commit of the same
		 * before each waits it out, so that only a flip the commit
		 * should not have touched can make it busy.
		 */
		if (i >= 3 && idle_plane_commit(cursor, fb_prop, crtc_prop, 0))
			printf("# idle plane %d: the blocking commit before it: %s\n", i,
			       strerror(errno));
		/* from round 2 on, behind a flip still pending on the CRTC */
		if (i >= 2 && drmModePageFlip(fd, crtc_id, b[i & 1].fb,
					      DRM_MODE_PAGE_FLIP_EVENT, NULL)) {
			printf("# idle plane %d: PAGE_FLIP: %s\n", i, strerror(errno));
			break;
		}
		pending = i >= 2;
		r = idle_plane_commit(cursor, fb_prop, crtc_prop, flags);
		if (r) {
			printf("# idle plane %d (%s): %s\n", i,
			       i == 0 ? "TEST_ONLY" : i == 1 ? "blocking" : "non-blocking, flip pending",
			       strerror(errno));
			bad++;
		}
		done++;
		if (pending && !wait_event()) {
			printf("# idle plane %d: the flip's event did not come within 1 s\n", i);
			break;
		}
	}
	result(done == rounds && (broken ? bad > 0 : bad == 0),
	       "FB_ID=0 on the disabled cursor, no modeset: TEST_ONLY, blocking and %d non-blocking "
	       "behind a pending flip: %d of %d failed%s", rounds - 2, bad, done,
	       broken ? " (--break wants failures)" : "");
}

/* events of the busy test; their content does not matter */
static int busy_events;

static void on_busy_event(int fd_, unsigned int seq, unsigned int sec, unsigned int usec,
			  unsigned int crtc, void *data)
{
	(void)fd_;
	(void)seq;
	(void)sec;
	(void)usec;
	(void)crtc;
	(void)data;
	busy_events++;
}

/* Reads events until @want have come; false after a second without one. */
static bool busy_drain(int want)
{
	drmEventContext ev = {
		.version = 3,
		.page_flip_handler2 = on_busy_event,
	};
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (busy_events < want) {
		if (poll(&p, 1, 1000) <= 0)
			return false;
		drmHandleEvent(fd, &ev);
	}
	return true;
}

/* an event is there to read now */
static bool event_ready(void)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

/* a flip to @fb with an event, legacy or non-blocking atomic: 0 or errno */
static int busy_flip(bool atomic, uint32_t fb, uint32_t fb_prop)
{
	drmModeAtomicReqPtr req;
	int r;

	if (!atomic)
		return drmModePageFlip(fd, crtc_id, fb, DRM_MODE_PAGE_FLIP_EVENT, NULL) ? errno : 0;
	req = drmModeAtomicAlloc();
	/* the plane's FB_ID brings its CRTC into the commit */
	drmModeAtomicAddProperty(req, plane_id, fb_prop, fb);
	r = drmModeAtomicCommit(fd, req, DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT,
				NULL) ? errno : 0;
	drmModeAtomicFree(req);
	return r;
}

static void test_busy(struct buf *b, bool atomic, int rounds)
{
	const char *what = atomic ? "nonblocking atomic commit while one is pending" :
				    "PAGE_FLIP while one is pending";
	uint32_t fb_prop = atomic ? prop_id(plane_id, DRM_MODE_OBJECT_PLANE, "FB_ID") : 0;
	int i, r, busy = 0, unsure = 0, accepted = 0, late_busy = 0, other = 0, lost = 0;
	bool before, after;

	for (i = 0; i < rounds; i++) {
		int want;

		busy_events = 0;
		r = busy_flip(atomic, b[(i + 1) & 1].fb, fb_prop);
		if (r) {
			result(false, "%s: round %d: the first flip failed: %s", what, i,
			       strerror(r));
			return;
		}
		before = event_ready();
		r = busy_flip(atomic, b[i & 1].fb, fb_prop);
		after = event_ready();
		want = r ? 1 : 2;
		if (r == EBUSY && before)
			late_busy++;
		else if (r == EBUSY)
			busy++;
		else if (r)
			other++;
		else if (!after)
			accepted++;
		else
			unsure++;
		if (r && r != EBUSY)
			printf("# %s: round %d: the second flip failed: %s\n", what, i, strerror(r));
		if (!busy_drain(want))
			lost++;
	}
	printf("# %s: %d rounds: %d EBUSY with the first's event not there, %d inconclusive "
	       "(accepted, the event there when the second returned), %d accepted with the "
	       "event still not there, %d EBUSY with the event there before, %d other "
	       "errors, %d missing an event\n", what, rounds, busy, unsure, accepted,
	       late_busy, other, lost);
	if (broken) {
		result(!busy, "%s: %d of %d rounds refused the second flip with EBUSY, want "
		       "none", what, busy, rounds);
		return;
	}
	result(busy >= 1, "%s: EBUSY in %d of %d rounds, want at least one", what, busy, rounds);
	result(!accepted, "%s: %d second flips accepted while the first's event was still "
	       "pending", what, accepted);
	result(!late_busy && !other, "%s: %d EBUSY after the first's event had arrived, "
	       "%d other errors", what, late_busy, other);
	result(!lost, "%s: %d rounds missing an event", what, lost);
}

static void new_buf(struct buf *b, uint32_t colour, uint32_t box)
{
	struct drm_mode_create_dumb cd = { .width = mode.hdisplay, .height = mode.vdisplay,
					   .bpp = 32 };
	struct drm_mode_map_dumb md = { 0 };
	uint32_t handles[4] = { 0 }, pitches[4] = { 0 }, offsets[4] = { 0 };
	uint32_t *p;
	size_t i;

	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &cd)) {
		perror("CREATE_DUMB");
		exit(1);
	}
	handles[0] = cd.handle;
	pitches[0] = cd.pitch;
	if (drmModeAddFB2(fd, mode.hdisplay, mode.vdisplay, DRM_FORMAT_XRGB8888, handles,
			  pitches, offsets, &b->fb, 0)) {
		perror("ADDFB2");
		exit(1);
	}
	md.handle = cd.handle;
	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &md)) {
		perror("MAP_DUMB");
		exit(1);
	}
	p = mmap(NULL, cd.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, md.offset);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	/* the buffers differ only in a box, the damage the atomic test declares */
	for (i = 0; i < cd.size / 4; i++) {
		size_t x = i % (cd.pitch / 4), y = i / (cd.pitch / 4);
		bool in = x >= mode.hdisplay / 2u && x < mode.hdisplay / 2u + BOX &&
			  y >= mode.vdisplay / 2u && y < mode.vdisplay / 2u + BOX;

		p[i] = in ? box : colour;
	}
	munmap(p, cd.size);
	b->handle = cd.handle;
	b->size = cd.size;
}

int main(int argc, char **argv)
{
	const char *driver = NULL, *want_mode = NULL, *test = "all", *across = NULL;
	struct buf b[2];
	drmModeResPtr res;
	drmModePlaneResPtr pres;
	drmModeConnectorPtr conn = NULL;
	int i, r, count = 120, busy_rounds = 10;
	bool found = false, lease = false;

	static const struct option opts[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ "mode", required_argument, NULL, 'm' },
		{ "count", required_argument, NULL, 'n' },
		{ "test", required_argument, NULL, 't' },
		{ "busy-rounds", required_argument, NULL, 'r' },
		{ "across", required_argument, NULL, 'a' },
		{ "lease", no_argument, NULL, 'l' },
		{ "break", no_argument, NULL, 'b' },
		{ }
	};
	while ((r = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (r) {
		case 'd': driver = optarg; break;
		case 'm': want_mode = optarg; break;
		case 'n': count = atoi(optarg); break;
		case 't': test = optarg; break;
		case 'r': busy_rounds = atoi(optarg); break;
		case 'a': across = optarg; break;
		case 'l': lease = true; break;
		case 'b': broken = 1; break;
		default: driver = NULL; optind = argc; break;
		}
	}
	if (!driver || count < 2 || busy_rounds < 1 || !strcmp(test, "across") != !!across ||
	    (lease && !across)) {
		fprintf(stderr, "usage: flipcheck --driver NAME [--mode WxH] [--count N] "
			"[--busy-rounds N] [--test flip|atomic|vblank|cursor|idle-plane|busy|all] [--break]\n"
			"       flipcheck --driver NAME [--mode WxH] [--count N] --test across --across CMD [--lease] [--break]\n");
		return 2;
	}
	/* across: up to 4 * count flips while its command runs */
	smp = calloc(4 * count + 2, sizeof(*smp));
	fd = open_card(driver);
	if (drmSetMaster(fd))
		printf("# not master (%s); flips may fail\n", strerror(errno));
	res = drmModeGetResources(fd);
	if (!res || !res->count_crtcs) {
		perror("GETRESOURCES");
		return 1;
	}
	for (i = 0; i < res->count_connectors && !found; i++) {
		conn = drmModeGetConnector(fd, res->connectors[i]);
		if (!conn || conn->connection != DRM_MODE_CONNECTED)
			continue;
		for (r = 0; r < conn->count_modes && !found; r++) {
			char name[32];

			snprintf(name, sizeof(name), "%ux%u", conn->modes[r].hdisplay,
				 conn->modes[r].vdisplay);
			if (want_mode ? !strcmp(name, want_mode) :
			    !!(conn->modes[r].type & DRM_MODE_TYPE_PREFERRED)) {
				mode = conn->modes[r];
				found = true;
			}
		}
	}
	if (!found) {
		fprintf(stderr, "flipcheck: no connected connector with mode %s\n",
			want_mode ? want_mode : "(preferred)");
		return 1;
	}
	conn_id = conn->connector_id;
	crtc_id = res->crtcs[0];
	period = (double)mode.htotal * mode.vtotal / (mode.clock * 1000.0);
	printf("# connector %u crtc %u: %ux%u clock %u kHz htotal %u vtotal %u -> %.4f Hz"
	       " (%.3f ms)%s\n", conn_id, crtc_id, mode.hdisplay, mode.vdisplay, mode.clock,
	       mode.htotal, mode.vtotal, 1 / period, period * 1e3,
	       broken ? "; --break: every check expects the wrong thing" : "");

	drmSetClientCap(fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1);
	pres = drmModeGetPlaneResources(fd);
	for (i = 0; pres && i < (int)pres->count_planes && !plane_id; i++) {
		drmModePlanePtr p = drmModeGetPlane(fd, pres->planes[i]);

		if (p && (p->possible_crtcs & 1))
			plane_id = p->plane_id;
		drmModeFreePlane(p);
	}

	new_buf(&b[0], 0x203040, 0xc0a080);
	new_buf(&b[1], 0x203040, 0x80a0c0);
	if (drmModeSetCrtc(fd, crtc_id, b[0].fb, 0, 0, &conn_id, 1, &mode)) {
		perror("SETCRTC");
		return 1;
	}

	/*
	 * Not a check, a figure for the report: what one full-frame update
	 * costs. DIRTYFB's commit keeps the FB, so it does not wait for a
	 * vblank; flips cannot complete faster than this.
	 */
	{
		double t0 = now();

		for (i = 0; i < 10; i++)
			drmModeDirtyFB(fd, b[0].fb, NULL, 0);
		printf("# one full-frame DIRTYFB takes %.1f ms (mean of 10)\n",
		       (now() - t0) * 100);
	}

	if (!strcmp(test, "flip") || !strcmp(test, "all"))
		test_flip(b, count);
	if (!strcmp(test, "atomic") || !strcmp(test, "all")) {
		if (drmSetClientCap(fd, DRM_CLIENT_CAP_ATOMIC, 1) || !plane_id)
			result(false, "atomic: no atomic cap or no primary plane");
		else
			test_atomic(b, count);
	}
	if (!strcmp(test, "vblank") || !strcmp(test, "all"))
		test_vblank(count / 2);
	if (!strcmp(test, "cursor") || !strcmp(test, "all"))
		test_cursor(b, count / 2);
	if (!strcmp(test, "idle-plane") || !strcmp(test, "all")) {
		if (drmSetClientCap(fd, DRM_CLIENT_CAP_ATOMIC, 1))
			result(false, "idle plane: no atomic cap");
		else
			test_idle_plane(b, 12);
	}
	if (across) {
		if (drmSetClientCap(fd, DRM_CLIENT_CAP_ATOMIC, 1) || !plane_id)
			result(false, "across: no atomic cap or no primary plane");
		else if (!lease || use_lease())
			test_across(b, count, across);
		if (master_fd >= 0) {
			close(fd);
			fd = master_fd;
			master_fd = -1;
		}
	}
	if (!strcmp(test, "busy") || !strcmp(test, "all")) {
		test_busy(b, false, busy_rounds);
		if (drmSetClientCap(fd, DRM_CLIENT_CAP_ATOMIC, 1) || !plane_id)
			result(false, "busy: no atomic cap or no primary plane");
		else
			test_busy(b, true, busy_rounds);
	}

	drmModeSetCrtc(fd, crtc_id, 0, 0, 0, NULL, 0, NULL);
	for (i = 0; i < 2; i++) {
		struct drm_mode_destroy_dumb dd = { .handle = b[i].handle };

		drmModeRmFB(fd, b[i].fb);
		drmIoctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, &dd);
	}
	drmDropMaster(fd);
	close(fd);
	printf("# %d checks failed\n", failed);
	return failed ? 1 : 0;
}
