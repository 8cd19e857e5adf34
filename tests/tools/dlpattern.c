// SPDX-License-Identifier: GPL-2.0-only
/*
 * dlpattern: pixel-exact checks of a DRM driver against the emulated
 * adapter. Sets the connector's mode on a dumb buffer, draws known patterns,
 * flushes them with DIRTYFB (whole frame and exact rectangles) and after
 * each step requires the emulator's decoded frame to equal the expected
 * image pixel for pixel, on a monitor that is not blanked. With --blank,
 * DPMS off and a CRTC disable must blank the monitor, and DPMS on and the
 * CRTC set again must show the picture. With --hold, the colour bars are
 * drawn once more at the end and kept on the screen until SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "edidcheck.h"
#include "emuctl.h"
#include "kmsutil.h"

static const char *png_dir;
static unsigned int W, H, pitch, bpp, depth = 16;
static bool bgr;	/* XBGR8888: red and blue trade places in memory */
static uint8_t *map;
static int step_no, failed;
/*
 * --break: once the frame equals the picture, it is held against the
 * picture with one pixel's red MSB flipped (a bit the wire keeps at both
 * depths); that check must fail, and the tool stops after it.
 */
static bool broken;

/* The software cursor as the test expects it composed (premultiplied ARGB). */
#define CUR 64
static uint32_t cursor_img[CUR * CUR];
static int cur_x, cur_y;
static bool cur_on;

static uint32_t hash(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352d;
	x ^= x >> 15;
	x *= 0x846ca68b;
	x ^= x >> 16;
	return x;
}

/* v is XRGB8888 (or RGB565); stored in the buffer's own format */
static uint32_t swap_rb(uint32_t v)
{
	return (v & 0xff00ff00) | (v & 0xff) << 16 | ((v >> 16) & 0xff);
}

static void put(unsigned int x, unsigned int y, uint32_t v)
{
	uint8_t *p = map + (size_t)y * pitch + x * (bpp / 8);

	if (bgr)
		v = swap_rb(v);
	if (bpp == 32)
		memcpy(p, &v, 4);
	else
		memcpy(p, &(uint16_t){ v }, 2);
}

/* colour bars over a horizontal gradient */
static void bars(void)
{
	for (unsigned int y = 0; y < H; y++)
		for (unsigned int x = 0; x < W; x++)
			put(x, y, bpp == 32 ?
			    ((x * 8 / W) & 1 ? 0xff0000 : 0) | ((x * 8 / W) & 2 ? 0xff00 : 0) |
			    ((x * 8 / W) & 4 ? 0xff : 0) | ((x * 255 / W) ^ (y & 0xff)) * 0x010101 :
			    ((x * 8 / W) * 0x2104) ^ (y * 0x0841 & 0xffff));
}

/* the source pixel at (x, y) as 8-bit-per-channel RGB */
static uint32_t src_rgb(unsigned int x, unsigned int y)
{
	const uint8_t *p = map + (size_t)y * pitch + x * (bpp / 8);
	uint32_t v, r, g, b;
	uint16_t s;

	if (bpp == 32) {
		memcpy(&v, p, 4);
		return (bgr ? swap_rb(v) : v) & 0xffffff;
	}
	memcpy(&s, p, 2);
	r = s >> 11;
	g = (s >> 5) & 0x3f;
	b = s & 0x1f;
	/* an RGB565 pixel shown at 24 bpp is its bit-replicated expansion */
	return (r << 3 | r >> 2) << 16 | (g << 2 | g >> 4) << 8 | (b << 3 | b >> 2);
}

/* round(a * b / 255), written independently of the driver's formula */
static uint32_t mul255(uint32_t a, uint32_t b)
{
	return (a * b + 127) / 255;
}

static uint32_t get_expect(unsigned int x, unsigned int y)
{
	uint32_t v = src_rgb(x, y);
	int cx = (int)x - cur_x, cy = (int)y - cur_y;

	if (cur_on && cx >= 0 && cy >= 0 && cx < CUR && cy < CUR) {
		uint32_t c = cursor_img[cy * CUR + cx], ia = 255 - (c >> 24), o = 0;

		for (int sh = 0; sh <= 16; sh += 8) {
			uint32_t ch = ((c >> sh) & 0xff) + mul255((v >> sh) & 0xff, ia);

			o |= (ch > 255 ? 255 : ch) << sh;
		}
		v = o;
	}
	if (depth == 24)
		return v;
	if (bpp == 16 && !cur_on)
		return expect_from_565(*(const uint16_t *)(map + (size_t)y * pitch + x * 2));
	return expect_from_xrgb(v);
}

/* The blank register (0x1F) in a "mode" reply; -1 if the reply has none. */
static int blank_of(const char *body)
{
	const char *p = strstr(body, " blank=");

	return p ? (int)strtoul(p + 7, NULL, 0) : -1;
}

/* Poll the emulator until its frame equals the buffer, or time out. */
static void check(const char *what)
{
	static uint32_t *frame;
	char body[512], req[256];
	struct timespec t0, t;
	unsigned int x, y, bad, fx = 0, fy = 0, got = 0, want = 0;
	size_t n = (size_t)W * H;
	FILE *f;

	step_no++;
	if (!frame)
		frame = malloc(n * 4);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		bad = 0;
		/* a blanked monitor shows nothing, whatever its memory holds */
		if (emu("mode", body, sizeof(body)) || strtoul(body, NULL, 10) != W ||
		    strtoul(strchr(body, 'x') ? strchr(body, 'x') + 1 : "0", NULL, 10) != H ||
		    blank_of(body) != 0) {
			bad = n;
		} else if (emu("frame-raw /tmp/dlpattern.raw", NULL, 0) == 0 &&
			   (f = fopen("/tmp/dlpattern.raw", "rb"))) {
			if (fread(frame, 4, n, f) != n)
				bad = n;
			fclose(f);
			for (y = 0; y < H && bad < n; y++) {
				for (x = 0; x < W; x++) {
					if (frame[(size_t)y * W + x] == get_expect(x, y))
						continue;
					if (!bad++) {
						fx = x;
						fy = y;
						got = frame[(size_t)y * W + x];
						want = get_expect(x, y);
					}
				}
			}
		} else {
			bad = n;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		/* a whole 1080p frame took 13-19 s under TCG beside other guests */
		if (!bad || t.tv_sec - t0.tv_sec > 45)
			break;
		usleep(100000);
	}
	if (broken && !bad) {
		want = get_expect(W / 2, H / 2) ^ 0x800000;
		got = frame[(size_t)(H / 2) * W + W / 2];
		bad = got != want;
		fx = W / 2;
		fy = H / 2;
		what = "[break] the frame against the picture with one pixel changed";
	}
	if (png_dir) {
		snprintf(req, sizeof(req), "frame-png %s/step%d.png", png_dir, step_no);
		emu(req, NULL, 0);
	}
	if (!bad) {
		printf("ok - %s (%.1f s)\n", what, (t.tv_sec - t0.tv_sec) +
		       (t.tv_nsec - t0.tv_nsec) / 1e9);
		return;
	}
	failed++;
	if (bad == n && !got && !want)
		printf("not ok - %s: no unblanked %ux%u frame from the emulator (mode: %s)\n",
		       what, W, H, strtok(body, "\n"));
	else
		printf("not ok - %s: %u pixels differ, first at (%u,%u) got 0x%06x want 0x%06x\n",
		       what, bad, fx, fy, got, want);
	if (broken)
		exit(1);
}

/* Poll the emulator until it decodes a blanked monitor, or time out. */
static void check_blanked(const char *what)
{
	char body[512];
	struct timespec t0, t;
	int blank = -1;

	step_no++;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (!emu("mode", body, sizeof(body)))
			blank = blank_of(body);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (blank > 0 || t.tv_sec - t0.tv_sec > 20)
			break;
		usleep(100000);
	}
	if (blank > 0) {
		printf("ok - %s: blank=0x%02x (%.1f s)\n", what, blank, (t.tv_sec - t0.tv_sec) +
		       (t.tv_nsec - t0.tv_nsec) / 1e9);
		return;
	}
	failed++;
	printf("not ok - %s: the monitor is not blanked after 20 s (mode: %s)\n", what,
	       strtok(body, "\n"));
}

static unsigned long long emu_stat(const char *name)
{
	char body[4096], *p;
	size_t l = strlen(name);

	if (emu("stats", body, sizeof(body)))
		return 0;
	for (p = body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, name, l) && p[l] == ' ')
			return strtoull(p + l + 1, NULL, 10);
	return 0;
}

/*
 * Partial damage must send only the damaged pixels: at most 2 bytes a
 * pixel (3 at 24 bpp) plus the command overhead, far below a full frame.
 */
static void check_bytes(const char *what, unsigned long long before, unsigned long long px)
{
	unsigned long long sent = emu_stat("bytes") - before;
	unsigned long long limit = px * (depth / 8) * 105 / 100 + 256;

	step_no++;
	if (sent && sent <= limit) {
		printf("ok - %s: %llu bytes on the wire for %llu damaged pixels (limit %llu)\n",
		       what, sent, px, limit);
		return;
	}
	failed++;
	printf("not ok - %s: %llu bytes on the wire for %llu damaged pixels, want 1..%llu\n",
	       what, sent, px, limit);
}

static void fill(uint32_t seed)
{
	unsigned int x, y;

	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++)
			put(x, y, hash(seed ^ (y * 65537 + x)));
}

static void rect(unsigned int x0, unsigned int y0, unsigned int w, unsigned int h,
		 uint32_t seed, drmModeClip *clip)
{
	unsigned int x, y;

	for (y = y0; y < y0 + h; y++)
		for (x = x0; x < x0 + w; x++)
			put(x, y, hash(seed ^ (y * 65537 + x)));
	clip->x1 = x0;
	clip->y1 = y0;
	clip->x2 = x0 + w;
	clip->y2 = y0 + h;
}

/*
 * DPMS off and a CRTC disable each blank the monitor; DPMS on and the CRTC
 * set again each show the picture, one drawn while the monitor was dark,
 * with no damage of its own: the enable must send the whole frame.
 */
static int blank_steps(int fd, uint32_t crtc, uint32_t conn, uint32_t fb,
		       drmModeModeInfoPtr mode)
{
	uint32_t dpms = kms_prop_id(fd, conn, DRM_MODE_OBJECT_CONNECTOR, "DPMS");

	if (!dpms) {
		fprintf(stderr, "dlpattern: connector %u has no DPMS property\n", conn);
		return 1;
	}
	if (drmModeConnectorSetProperty(fd, conn, dpms, DRM_MODE_DPMS_OFF)) {
		perror("DPMS off");
		return 1;
	}
	check_blanked("DPMS off blanks the monitor");
	fill(21);
	drmModeDirtyFB(fd, fb, NULL, 0);
	if (drmModeConnectorSetProperty(fd, conn, dpms, DRM_MODE_DPMS_ON)) {
		perror("DPMS on");
		return 1;
	}
	check("DPMS on: the frame drawn while off is shown");

	if (drmModeSetCrtc(fd, crtc, 0, 0, 0, NULL, 0, NULL)) {
		perror("SETCRTC off");
		return 1;
	}
	check_blanked("CRTC disabled (SETCRTC with no framebuffer) blanks the monitor");
	fill(22);
	if (drmModeSetCrtc(fd, crtc, fb, 0, 0, &conn, 1, mode)) {
		perror("SETCRTC on");
		return 1;
	}
	check("CRTC set again: the frame drawn while off is shown");
	return 0;
}

/*
 * The cursor plane is composed in software into what is sent: opaque,
 * transparent and translucent (premultiplied) pixels over the primary,
 * moved so its old place must be repaired, partly off screen, under
 * primary damage, and hidden.
 */
static void flip_done(int fd, unsigned int seq, unsigned int sec, unsigned int usec,
		      void *data)
{
	(void)fd; (void)seq; (void)sec; (void)usec;
	*(bool *)data = true;
}

/* PAGE_FLIP to @fb with an event, and waits for it (up to 2 s); 0 or -1 */
static int flip_wait(int fd, uint32_t crtc, uint32_t fb)
{
	drmEventContext ev = { .version = 2, .page_flip_handler = flip_done };
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	bool done = false;

	if (drmModePageFlip(fd, crtc, fb, DRM_MODE_PAGE_FLIP_EVENT, &done))
		return -1;
	while (!done) {
		if (poll(&pfd, 1, 2000) != 1)
			return -1;
		drmHandleEvent(fd, &ev);
	}
	return 0;
}

/*
 * Frames faster than the wire: the newest wins. With the emulator taking
 * the stream slowly, three noise frames in three framebuffers are flipped
 * to, one after the other (flips complete at the vblank, not when the
 * pixels are out). A driver that sends each frame it was given before the
 * next puts at least two whole frames on the wire (the first, then the
 * last two coalesced); one that leaves what is out of date to the newer
 * frame sends the part of the first that went out before the next came,
 * and the last. Then the emulator drains at full speed, and the last
 * frame must be on the screen pixel-exact. (One framebuffer drawn three
 * times would not tell: a pass reading it while it is redrawn sends the
 * newer pixels anyway.)
 */
static int newest_steps(int fd, uint32_t crtc, uint32_t fb)
{
	unsigned long long b0, sent, frame = (unsigned long long)W * H * (depth / 8);
	struct kms_dumb older[2] = { 0 };
	uint8_t *main_map = map;
	char reply[256];
	int i, ret = 1;

	if (bpp != 32) {
		fprintf(stderr, "dlpattern: --newest needs an XRGB8888 framebuffer\n");
		return 1;
	}
	for (i = 0; i < 2; i++) {
		if (kms_dumb_new(fd, W, H, &older[i]) || older[i].pitch != pitch ||
		    kms_dumb_fb(fd, &older[i]) || !(map = (uint8_t *)kms_dumb_map(fd, &older[i]))) {
			fprintf(stderr, "dlpattern: a second framebuffer: %s\n", strerror(errno));
			goto out;
		}
		fill(31 + i);
		munmap(map, older[i].size);
	}
	map = main_map;
	fill(33);
	if (emu("drain slow 400000", reply, sizeof(reply))) {
		fprintf(stderr, "dlpattern: emulator refused 'drain slow': %s\n", reply);
		goto out;
	}
	b0 = emu_stat("bytes");
	if (flip_wait(fd, crtc, older[0].fb) || flip_wait(fd, crtc, older[1].fb) ||
	    flip_wait(fd, crtc, fb)) {
		fprintf(stderr, "dlpattern: PAGE_FLIP: %s\n", strerror(errno));
		emu("drain normal", reply, sizeof(reply));
		goto out;
	}
	if (emu("drain normal", reply, sizeof(reply))) {
		fprintf(stderr, "dlpattern: emulator refused 'drain normal': %s\n", reply);
		goto out;
	}
	check("three noise frames flipped to faster than the wire: the last is shown");
	sent = emu_stat("bytes") - b0;
	step_no++;
	if (sent < 2 * frame) {
		printf("ok - three frames faster than the wire: %llu bytes sent, less than two "
		       "frames (%llu): what was out of date was not sent\n", sent, 2 * frame);
	} else {
		failed++;
		printf("not ok - three frames faster than the wire: %llu bytes sent, want less "
		       "than two frames (%llu)\n", sent, 2 * frame);
	}
	ret = 0;
out:
	map = main_map;
	for (i = 0; i < 2; i++)
		if (older[i].handle)
			kms_dumb_free(fd, &older[i]);
	return ret;
}

static int cursor_steps(int fd, uint32_t crtc, uint32_t fb, drmModeClip *clips)
{
	struct drm_mode_create_dumb cd = { .width = CUR, .height = CUR, .bpp = 32 };
	struct drm_mode_map_dumb md = { 0 };
	unsigned long long b0;
	uint32_t *cmap;
	int x, y;

	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &cd)) {
		perror("CREATE_DUMB cursor");
		return 1;
	}
	md.handle = cd.handle;
	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &md)) {
		perror("MAP_DUMB cursor");
		return 1;
	}
	cmap = mmap(NULL, cd.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, md.offset);
	if (cmap == MAP_FAILED) {
		perror("mmap cursor");
		return 1;
	}
	for (y = 0; y < CUR; y++) {
		for (x = 0; x < CUR; x++) {
			uint32_t a = x < 16 ? 0xff : x < 32 ? 0 : x < 48 ? 0x80 : (y * 4) & 0xff;
			uint32_t rgb = hash(x * 131 + y) & 0xffffff, c = a << 24;

			/* premultiplied: no channel above alpha */
			for (int sh = 0; sh <= 16; sh += 8)
				c |= mul255((rgb >> sh) & 0xff, a) << sh;
			cursor_img[y * CUR + x] = c;
			memcpy((uint8_t *)cmap + y * cd.pitch + x * 4, &c, 4);
		}
	}

	cur_on = true;
	cur_x = 100;
	cur_y = 50;
	if (drmModeSetCursor(fd, crtc, cd.handle, CUR, CUR) ||
	    drmModeMoveCursor(fd, crtc, cur_x, cur_y)) {
		perror("SETCURSOR");
		return 1;
	}
	check("cursor shown at (100,50), composed over the primary plane");

	b0 = emu_stat("bytes");
	cur_x = 130;
	cur_y = 70;
	drmModeMoveCursor(fd, crtc, cur_x, cur_y);
	check("cursor moved by (30,20): old place repaired");
	check_bytes("cursor move", b0, (unsigned long long)(CUR + 30) * (CUR + 20));

	cur_x = W - 20;
	cur_y = H - 10;
	drmModeMoveCursor(fd, crtc, cur_x, cur_y);
	check("cursor partly off screen, bottom right");

	cur_x = -30;
	cur_y = -40;
	drmModeMoveCursor(fd, crtc, cur_x, cur_y);
	check("cursor partly off screen, top left");

	rect(0, 0, 50, 50, 12, &clips[0]);
	drmModeDirtyFB(fd, fb, clips, 1);
	check("primary damage under the cursor keeps the cursor on top");

	cur_on = false;
	drmModeSetCursor(fd, crtc, 0, 0, 0);
	check("cursor hidden: the primary plane alone");
	munmap(cmap, cd.size);
	return 0;
}

int main(int argc, char **argv)
{
	const char *driver = NULL, *format = "xrgb8888", *want_mode = NULL;
	drmModeConnectorPtr conn = NULL;
	drmModeModeInfoPtr mode = NULL;
	struct drm_mode_create_dumb cd = { 0 };
	struct drm_mode_map_dumb md = { 0 };
	struct drm_mode_destroy_dumb dd = { 0 };
	uint32_t fb, crtc = 0, handles[4] = { 0 }, pitches[4] = { 0 }, offsets[4] = { 0 };
	drmModeClip clips[4];
	drmModeResPtr res;
	unsigned long long b0;
	bool with_cursor = false, with_blank = false, hold = false, newest = false;
	int fd, i, r;

	static const struct option opts[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "mode", required_argument, NULL, 'm' },
		{ "png", required_argument, NULL, 'p' },
		{ "depth", required_argument, NULL, 'b' },
		{ "cursor", no_argument, NULL, 'c' },
		{ "blank", no_argument, NULL, 'k' },
		{ "break", no_argument, NULL, 'x' },
		{ "hold", no_argument, NULL, 'h' },
		{ "newest", no_argument, NULL, 'n' },
		{ }
	};
	while ((r = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (r) {
		case 'd': driver = optarg; break;
		case 's': emu_socket = optarg; break;
		case 'f': format = optarg; break;
		case 'm': want_mode = optarg; break;
		case 'p': png_dir = optarg; break;
		case 'b': depth = atoi(optarg); break;
		case 'c': with_cursor = true; break;
		case 'k': with_blank = true; break;
		case 'x': broken = true; break;
		case 'h': hold = true; break;
		case 'n': newest = true; break;
		default: driver = NULL; optind = argc; break;
		}
	}
	if (!driver || (strcmp(format, "xrgb8888") && strcmp(format, "rgb565") &&
			strcmp(format, "xbgr8888")) ||
	    (depth != 16 && depth != 24)) {
		fprintf(stderr, "usage: dlpattern --driver NAME [--socket PATH] "
			"[--format xrgb8888|xbgr8888|rgb565] [--mode WxH] [--png DIR] "
			"[--depth 16|24] [--cursor] [--blank] [--break] [--hold] [--newest]\n");
		return 2;
	}
	bpp = strcmp(format, "rgb565") ? 32 : 16;
	bgr = !strcmp(format, "xbgr8888");
	if (png_dir)
		mkdir(png_dir, 0755);

	fd = open_card(driver);
	drmSetMaster(fd);	/* fbcon is not a master; we are if we are first */
	res = drmModeGetResources(fd);
	if (!res) {
		perror("GETRESOURCES");
		return 1;
	}
	for (i = 0; i < res->count_connectors && !mode; i++) {
		conn = drmModeGetConnector(fd, res->connectors[i]);
		if (!conn || conn->connection != DRM_MODE_CONNECTED || !conn->count_modes)
			continue;
		for (r = 0; r < conn->count_modes; r++) {
			char name[32];

			snprintf(name, sizeof(name), "%ux%u", conn->modes[r].hdisplay,
				 conn->modes[r].vdisplay);
			if (want_mode ? !strcmp(name, want_mode) :
			    (conn->modes[r].type & DRM_MODE_TYPE_PREFERRED)) {
				mode = &conn->modes[r];
				break;
			}
		}
		if (!mode && !want_mode)
			mode = &conn->modes[0];
	}
	if (!mode) {
		fprintf(stderr, "dlpattern: no connected connector with mode %s\n",
			want_mode ? want_mode : "(any)");
		return 1;
	}
	crtc = res->crtcs[0];
	W = mode->hdisplay;
	H = mode->vdisplay;
	printf("# connector %u, crtc %u, %s %ux%u@%u\n", conn->connector_id, crtc,
	       format, W, H, mode->vrefresh);

	cd.width = W;
	cd.height = H;
	cd.bpp = bpp;
	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &cd)) {
		perror("CREATE_DUMB");
		return 1;
	}
	pitch = cd.pitch;
	handles[0] = cd.handle;
	pitches[0] = cd.pitch;
	if (drmModeAddFB2(fd, W, H, bpp == 16 ? DRM_FORMAT_RGB565 :
			  bgr ? DRM_FORMAT_XBGR8888 : DRM_FORMAT_XRGB8888,
			  handles, pitches, offsets, &fb, 0)) {
		perror("ADDFB2");
		return 1;
	}
	md.handle = cd.handle;
	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &md)) {
		perror("MAP_DUMB");
		return 1;
	}
	map = mmap(NULL, cd.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, md.offset);
	if (map == MAP_FAILED) {
		perror("mmap");
		return 1;
	}

	fill(1);
	if (drmModeSetCrtc(fd, crtc, fb, 0, 0, &conn->connector_id, 1, mode)) {
		perror("SETCRTC");
		return 1;
	}
	drmModeDirtyFB(fd, fb, NULL, 0);
	check("modeset with a noise frame");

	bars();
	drmModeDirtyFB(fd, fb, NULL, 0);
	check("full-frame DIRTYFB, colour bars");

	/* exact rectangles: both corners, an odd-sized box, one whole row */
	rect(0, 0, 1, 1, 7, &clips[0]);
	rect(W - 1, H - 1, 1, 1, 8, &clips[1]);
	rect(123, 45, 300, 17, 9, &clips[2]);
	rect(0, H / 2, W, 1, 10, &clips[3]);
	drmModeDirtyFB(fd, fb, clips, 4);
	check("partial DIRTYFB, four rectangles");

	b0 = emu_stat("bytes");
	rect(W / 3, H / 3, W / 4, H / 5, 11, &clips[0]);
	drmModeDirtyFB(fd, fb, clips, 1);
	check("partial DIRTYFB, one box");
	check_bytes("partial DIRTYFB, one box", b0, (unsigned long long)(W / 4) * (H / 5));

	if (with_cursor && cursor_steps(fd, crtc, fb, clips))
		return 1;
	if (with_blank && blank_steps(fd, crtc, conn->connector_id, fb, mode))
		return 1;
	if (newest && newest_steps(fd, crtc, fb))
		return 1;

	for (unsigned int y = 0; y < H; y++)
		for (unsigned int x = 0; x < W; x++)
			put(x, y, bpp == 32 ? 0x3366cc : 0x333f);
	drmModeDirtyFB(fd, fb, NULL, 0);
	check("full-frame DIRTYFB, solid colour");

	if (hold) {
		/* the colour bars again, kept up by this master until SIGTERM */
		sigset_t term;
		int sig;

		sigemptyset(&term);
		sigaddset(&term, SIGTERM);
		sigprocmask(SIG_BLOCK, &term, NULL);
		bars();
		drmModeDirtyFB(fd, fb, NULL, 0);
		check("full-frame DIRTYFB, colour bars held");
		printf("# holding\n");
		fflush(stdout);
		sigwait(&term, &sig);
	}

	drmModeSetCrtc(fd, crtc, 0, 0, 0, NULL, 0, NULL);
	drmModeRmFB(fd, fb);
	munmap(map, cd.size);
	dd.handle = cd.handle;
	drmIoctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, &dd);
	drmDropMaster(fd);
	close(fd);
	printf("# %d of %d steps failed\n", failed, step_no);
	return failed ? 1 : 0;
}
