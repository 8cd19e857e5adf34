// SPDX-License-Identifier: GPL-2.0-only
/*
 * primecheck: dma-buf sharing between a KMS driver and vgem.
 *
 *  (a) import: a vgem dumb buffer with a known pattern is exported, imported
 *      into the driver (PRIME_FD_TO_HANDLE), wrapped in a framebuffer and
 *      scanned out; the emulator's frame must equal the pattern pixel for
 *      pixel (RGB565 truncation). Then the pattern is rewritten through
 *      vgem's map and flushed again: the scanout reads the shared pages,
 *      not a copy taken at import. Both XRGB8888 and RGB565.
 *  (b) export: a driver dumb buffer written through the driver's own map is
 *      exported and read back through an mmap of the dma-buf fd (bracketed
 *      by DMA_BUF_IOCTL_SYNC); imported into vgem, whose export of that
 *      handle must be the same dma-buf and read back equal, also after a
 *      redraw through the driver's map.
 *
 *   primecheck --driver NAME [--socket PATH] [--break]
 *
 * --break compares against a different pattern than was drawn, to show
 * that every comparison can go red.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "edidcheck.h"
#include "emuctl.h"

static int failed, broken;
static unsigned int W, H;

static void result(bool good, const char *what, const char *detail)
{
	printf("%s - %s%s%s\n", good ? "ok" : "not ok", what, detail ? ": " : "",
	       detail ? detail : "");
	fflush(stdout);
	if (!good)
		failed++;
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

static uint32_t pattern(uint32_t seed, unsigned int x, unsigned int y)
{
	return hash(seed ^ (y * 65537 + x));
}

static void fill(uint8_t *map, unsigned int pitch, unsigned int bpp, uint32_t seed)
{
	unsigned int x, y;

	for (y = 0; y < H; y++) {
		for (x = 0; x < W; x++) {
			uint32_t v = pattern(seed, x, y);
			uint8_t *p = map + (size_t)y * pitch + x * (bpp / 8);

			if (bpp == 32)
				memcpy(p, &v, 4);
			else
				memcpy(p, &(uint16_t){ v }, 2);
		}
	}
}

/* What the emulator must show for the pattern @seed drawn at @bpp. */
static uint32_t expect(unsigned int bpp, uint32_t seed, unsigned int x, unsigned int y)
{
	uint32_t v = pattern(broken ? seed + 1 : seed, x, y);

	return bpp == 32 ? expect_from_xrgb(v) : expect_from_565((uint16_t)v);
}

/* Poll the emulator until its frame equals the pattern, or time out. */
static void check_frame(const char *what, unsigned int bpp, uint32_t seed)
{
	static uint32_t *frame;
	unsigned int x, y, bad, fx = 0, fy = 0, got = 0, want = 0;
	size_t n = (size_t)W * H;
	char body[512], detail[256];
	struct timespec t0, t;
	FILE *f;

	if (!frame)
		frame = malloc(n * 4);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		bad = n;
		if (!emu("mode", body, sizeof(body)) && strtoul(body, NULL, 10) == W &&
		    strchr(body, 'x') && strtoul(strchr(body, 'x') + 1, NULL, 10) == H &&
		    !emu("frame-raw /tmp/primecheck.raw", NULL, 0) &&
		    (f = fopen("/tmp/primecheck.raw", "rb"))) {
			if (fread(frame, 4, n, f) == n) {
				bad = 0;
				for (y = 0; y < H; y++) {
					for (x = 0; x < W; x++) {
						uint32_t e = expect(bpp, seed, x, y);

						if (frame[(size_t)y * W + x] == e)
							continue;
						if (!bad++) {
							fx = x;
							fy = y;
							got = frame[(size_t)y * W + x];
							want = e;
						}
					}
				}
			}
			fclose(f);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (!bad || t.tv_sec - t0.tv_sec > 20)
			break;
		usleep(100000);
	}
	if (!bad)
		snprintf(detail, sizeof(detail), "%ux%u pixel-exact after %.1f s", W, H,
			 (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9);
	else if (bad == n && !got && !want)
		snprintf(detail, sizeof(detail), "no %ux%u frame (emulator mode: %.60s)",
			 W, H, body);
	else
		snprintf(detail, sizeof(detail),
			 "%u pixels differ, first at (%u,%u) got 0x%06x want 0x%06x",
			 bad, fx, fy, got, want);
	result(!bad, what, detail);
}

struct dumb {
	uint32_t handle, pitch;
	uint64_t size;
	uint8_t *map;
};

static int dumb_new(int fd, unsigned int bpp, struct dumb *d)
{
	struct drm_mode_create_dumb cd = { .width = W, .height = H, .bpp = bpp };
	struct drm_mode_map_dumb md = { 0 };

	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &cd))
		return -errno;
	md.handle = cd.handle;
	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &md))
		return -errno;
	d->map = mmap(NULL, cd.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, md.offset);
	if (d->map == MAP_FAILED)
		return -errno;
	d->handle = cd.handle;
	d->pitch = cd.pitch;
	d->size = cd.size;
	return 0;
}

static void dumb_free(int fd, struct dumb *d)
{
	struct drm_mode_destroy_dumb dd = { .handle = d->handle };

	munmap(d->map, d->size);
	drmIoctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, &dd);
}

/* Count the pixels of @map that differ from pattern @seed. */
static unsigned int compare_map(const uint8_t *map, unsigned int pitch, uint32_t seed,
				char *detail, size_t dlen)
{
	unsigned int x, y, bad = 0;

	for (y = 0; y < H; y++) {
		for (x = 0; x < W; x++) {
			uint32_t v, want = pattern(broken ? seed + 1 : seed, x, y);

			memcpy(&v, map + (size_t)y * pitch + x * 4, 4);
			if (v != want && !bad++)
				snprintf(detail, dlen, "first difference at (%u,%u): 0x%08x, "
					 "want 0x%08x", x, y, v, want);
		}
	}
	if (!bad)
		snprintf(detail, dlen, "%ux%u XRGB8888 equal", W, H);
	return bad;
}

/* (a) vgem buffer scanned out by the driver */
static void test_import(int dl, int vg, uint32_t crtc, uint32_t conn,
			drmModeModeInfoPtr mode, unsigned int bpp)
{
	uint32_t handles[4] = { 0 }, pitches[4] = { 0 }, offsets[4] = { 0 }, h, fb;
	const char *fmt = bpp == 32 ? "XRGB8888" : "RGB565";
	char what[128], detail[256];
	struct dumb v;
	int dfd, r;

	r = dumb_new(vg, bpp, &v);
	if (r) {
		snprintf(detail, sizeof(detail), "%s", strerror(-r));
		result(false, "vgem dumb buffer", detail);
		return;
	}
	fill(v.map, v.pitch, bpp, 21 + bpp);
	if (drmPrimeHandleToFD(vg, v.handle, DRM_CLOEXEC | DRM_RDWR, &dfd)) {
		snprintf(detail, sizeof(detail), "errno %d (%s)", errno, strerror(errno));
		result(false, "vgem PRIME_HANDLE_TO_FD", detail);
		dumb_free(vg, &v);
		return;
	}
	snprintf(what, sizeof(what), "import %s vgem buffer (PRIME_FD_TO_HANDLE)", fmt);
	if (drmPrimeFDToHandle(dl, dfd, &h)) {
		snprintf(detail, sizeof(detail), "errno %d (%s)", errno, strerror(errno));
		result(false, what, detail);
		close(dfd);
		dumb_free(vg, &v);
		return;
	}
	result(true, what, NULL);
	handles[0] = h;
	pitches[0] = v.pitch;
	snprintf(what, sizeof(what), "ADDFB2 %s on the imported handle", fmt);
	if (drmModeAddFB2(dl, W, H, bpp == 32 ? DRM_FORMAT_XRGB8888 : DRM_FORMAT_RGB565,
			  handles, pitches, offsets, &fb, 0)) {
		snprintf(detail, sizeof(detail), "errno %d (%s)", errno, strerror(errno));
		result(false, what, detail);
		goto out;
	}
	result(true, what, NULL);
	if (drmModeSetCrtc(dl, crtc, fb, 0, 0, &conn, 1, mode)) {
		snprintf(detail, sizeof(detail), "errno %d (%s)", errno, strerror(errno));
		result(false, "SETCRTC with the imported FB", detail);
		goto out_fb;
	}
	drmModeDirtyFB(dl, fb, NULL, 0);
	snprintf(what, sizeof(what), "scanout of the imported %s vgem buffer", fmt);
	check_frame(what, bpp, 21 + bpp);

	/* redraw through vgem: the driver must read the shared pages */
	fill(v.map, v.pitch, bpp, 77 + bpp);
	drmModeDirtyFB(dl, fb, NULL, 0);
	snprintf(what, sizeof(what), "%s pattern redrawn through vgem's map", fmt);
	check_frame(what, bpp, 77 + bpp);

	drmModeSetCrtc(dl, crtc, 0, 0, 0, NULL, 0, NULL);
out_fb:
	drmModeRmFB(dl, fb);
out:
	drmCloseBufferHandle(dl, h);
	close(dfd);
	dumb_free(vg, &v);
}

/*
 * Compare a CPU mapping of the dma-buf @fd with pattern @seed, bracketed by
 * DMA_BUF_IOCTL_SYNC as a CPU reader of a shared buffer must be.
 */
static void check_dmabuf_map(int fd, const struct dumb *d, uint32_t seed, const char *what)
{
	struct dma_buf_sync sync = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ };
	char detail[256];
	uint8_t *m;
	int r;

	m = mmap(NULL, d->size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		snprintf(detail, sizeof(detail), "mmap: errno %d (%s)", errno, strerror(errno));
		result(false, what, detail);
		return;
	}
	if (ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync)) {
		snprintf(detail, sizeof(detail), "SYNC_START: errno %d (%s)", errno,
			 strerror(errno));
		result(false, what, detail);
		munmap(m, d->size);
		return;
	}
	r = compare_map(m, d->pitch, seed, detail, sizeof(detail));
	sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ;
	if (ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync) && !r) {
		snprintf(detail, sizeof(detail), "SYNC_END: errno %d (%s)", errno,
			 strerror(errno));
		r = 1;
	}
	result(!r, what, detail);
	munmap(m, d->size);
}

/*
 * (b) driver buffer read back through vgem. vgem cannot MAP_DUMB a handle
 * it imported (drm_gem_dumb_map_offset refuses imported objects), so "through
 * vgem" is: vgem's handle exported again must be the very dma-buf the driver
 * exported (same file; the driver taking it back must return its own
 * handle), and that fd's mmap must show the driver's pixels, also after they
 * are redrawn through the driver's map (shared pages, not a copy).
 */
static void test_export(int dl, int vg)
{
	char detail[256];
	struct stat st_d, st_v;
	struct dumb d;
	uint32_t vh, back;
	int dfd, vfd, r;

	r = dumb_new(dl, 32, &d);
	if (r) {
		snprintf(detail, sizeof(detail), "%s", strerror(-r));
		result(false, "driver dumb buffer", detail);
		return;
	}
	fill(d.map, d.pitch, 32, 4242);
	if (drmPrimeHandleToFD(dl, d.handle, DRM_CLOEXEC | DRM_RDWR, &dfd)) {
		snprintf(detail, sizeof(detail), "errno %d (%s)", errno, strerror(errno));
		result(false, "export driver buffer (PRIME_HANDLE_TO_FD)", detail);
		dumb_free(dl, &d);
		return;
	}
	result(true, "export driver buffer (PRIME_HANDLE_TO_FD)", NULL);
	check_dmabuf_map(dfd, &d, 4242, "driver buffer read back through the dma-buf fd's mmap");

	if (drmPrimeFDToHandle(vg, dfd, &vh)) {
		snprintf(detail, sizeof(detail), "errno %d (%s)", errno, strerror(errno));
		result(false, "import into vgem", detail);
		goto out;
	}
	result(true, "import into vgem", NULL);
	if (drmPrimeHandleToFD(vg, vh, DRM_CLOEXEC | DRM_RDWR, &vfd)) {
		snprintf(detail, sizeof(detail), "errno %d (%s)", errno, strerror(errno));
		result(false, "export of the imported handle by vgem", detail);
		goto out_vh;
	}
	if (fstat(dfd, &st_d) || fstat(vfd, &st_v)) {
		snprintf(detail, sizeof(detail), "fstat: errno %d (%s)", errno, strerror(errno));
		result(false, "vgem's export is the driver's dma-buf", detail);
	} else {
		/* --break wants them different */
		r = (st_d.st_ino == st_v.st_ino) != broken;
		snprintf(detail, sizeof(detail), "inode %lu vs %lu%s",
			 (unsigned long)st_v.st_ino, (unsigned long)st_d.st_ino,
			 broken ? " (--break: want different)" : "");
		result(r, "vgem's export is the driver's dma-buf", detail);
	}
	if (drmPrimeFDToHandle(dl, vfd, &back)) {
		snprintf(detail, sizeof(detail), "errno %d (%s)", errno, strerror(errno));
		result(false, "driver import of vgem's export", detail);
	} else {
		uint32_t want = broken ? d.handle + 1 : d.handle;

		snprintf(detail, sizeof(detail), "handle %u, want %u", back, want);
		result(back == want, "driver import of vgem's export gives its own handle",
		       detail);
	}
	check_dmabuf_map(vfd, &d, 4242, "driver buffer read back through vgem's export");

	/* redraw through the driver: vgem's view must follow */
	fill(d.map, d.pitch, 32, 4343);
	check_dmabuf_map(vfd, &d, 4343, "redrawn driver buffer read back through vgem's export");
	close(vfd);
out_vh:
	drmCloseBufferHandle(vg, vh);
out:
	close(dfd);
	dumb_free(dl, &d);
}

int main(int argc, char **argv)
{
	const char *driver = NULL;
	drmModeConnectorPtr conn = NULL;
	drmModeModeInfoPtr mode = NULL;
	drmModeResPtr res;
	uint64_t cap = 0;
	int dl, vg, i, r;

	static const struct option opts[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "break", no_argument, NULL, 'b' },
		{ }
	};
	while ((r = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (r) {
		case 'd': driver = optarg; break;
		case 's': emu_socket = optarg; break;
		case 'b': broken = 1; break;
		default: driver = NULL; optind = argc; break;
		}
	}
	if (!driver) {
		fprintf(stderr, "usage: primecheck --driver NAME [--socket PATH] [--break]\n");
		return 2;
	}
	dl = open_card(driver);
	vg = open_card("vgem");
	drmGetCap(dl, DRM_CAP_PRIME, &cap);
	printf("# %s PRIME caps: %s%s\n", driver, cap & DRM_PRIME_CAP_IMPORT ? "import " : "",
	       cap & DRM_PRIME_CAP_EXPORT ? "export" : "");
	drmSetMaster(dl);
	res = drmModeGetResources(dl);
	if (!res || !res->count_crtcs) {
		perror("GETRESOURCES");
		return 1;
	}
	for (i = 0; i < res->count_connectors && !mode; i++) {
		conn = drmModeGetConnector(dl, res->connectors[i]);
		if (!conn || conn->connection != DRM_MODE_CONNECTED)
			continue;
		for (r = 0; r < conn->count_modes && !mode; r++)
			if (conn->modes[r].type & DRM_MODE_TYPE_PREFERRED)
				mode = &conn->modes[r];
	}
	if (!mode) {
		fprintf(stderr, "primecheck: no connected connector with a preferred mode\n");
		return 1;
	}
	W = mode->hdisplay;
	H = mode->vdisplay;
	printf("# connector %u crtc %u %ux%u%s\n", conn->connector_id, res->crtcs[0], W, H,
	       broken ? "; --break: every comparison expects another pattern" : "");

	test_import(dl, vg, res->crtcs[0], conn->connector_id, mode, 32);
	test_import(dl, vg, res->crtcs[0], conn->connector_id, mode, 16);
	test_export(dl, vg);

	drmDropMaster(dl);
	close(vg);
	close(dl);
	printf("# %d checks failed\n", failed);
	return failed ? 1 : 0;
}
