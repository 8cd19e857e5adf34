// SPDX-License-Identifier: GPL-2.0-only
/*
 * dlbench: fixed, seeded damage workloads on the card of one DRM driver,
 * measured against the emulated adapter. For each workload it prints the
 * bytes on the wire per frame, the kernel CPU time of the blocking DIRTYFB
 * commit path per frame, the DIRTYFB -> last byte latency (median, p95),
 * and whether the final frame the emulator decoded equals the expected
 * RGB565-truncated image: figures of wrong pixels are worth nothing.
 *
 * Workloads: noise (every pixel changes), same (the same frame redrawn,
 * declared as full-screen damage), desktop (a window moved 3 px right and 2
 * down a frame), drag (the window dragged 8 px straight down or up a
 * frame), scroll (a terminal scrolled a 16-px text line a frame), cursor
 * (a 64x64 sprite), video (a 640x360 region changing whole).
 *
 * The CPU of the whole display path (commit ioctls, driver workers, USB
 * core, host controller; see path_ticks()) is measured over the
 * throughput pass too: dlkms converts and encodes in a worker, where the
 * ioctl's own CPU time does not see it.
 *
 * Every workload runs twice from the same start image:
 *  - the throughput pass issues the frames back to back (as a client that
 *    does not wait would) and measures bytes and CPU; nothing else runs in
 *    this process between the frames, so the rusage delta is the drawing
 *    (user) and the commit path (kernel);
 *  - the latency pass waits after every frame until the emulator's byte
 *    counter stops advancing and takes its last_rx_ns; polling the
 *    emulator costs syscalls, which is why CPU is not measured there.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "emuctl.h"

#define MAX_CLIPS	4
#define TEXT_LINE	16	/* text cell height; the scroll step */

static unsigned int W, H, pitch;	/* pitch in bytes */
static uint8_t *map;
static int card_fd;
static uint32_t fb_id;
static unsigned int quiet_ms = 50;
/* what the wire keeps of each pixel: RGB565 truncation, or all of it at 24 bpp */
static uint32_t keep_mask = 0xf8fcf8;

/* ---- emulator control (emu() is tests/tools/emuctl.c) ---- */

/* Reads the emulator's byte counter and the time of the last bulk data. */
static void emu_bytes(unsigned long long *bytes, unsigned long long *last_rx_ns)
{
	char body[2048], *p;

	if (emu("stats", body, sizeof(body))) {
		fprintf(stderr, "dlbench: emulator stats failed: %s", body);
		exit(1);
	}
	p = strstr(body, "\nlast_rx_ns ");
	if (strncmp(body, "bytes ", 6) || !p) {
		fprintf(stderr, "dlbench: emulator stats lack bytes/last_rx_ns "
			"(an old dlemu?):\n%s", body);
		exit(1);
	}
	*bytes = strtoull(body + 6, NULL, 10);
	*last_rx_ns = strtoull(p + 12, NULL, 10);
}

static unsigned long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ull + t.tv_nsec;
}

static unsigned long long thread_cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1000000000ull + t.tv_nsec;
}

static unsigned long long stime_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_stime.tv_sec * 1000000ull + ru.ru_stime.tv_usec;
}

/*
 * Guest CPU of the display path, in clock ticks (USER_HZ): the busy time
 * of every CPU (/proc/stat: user, nice, system, irq, softirq) less what
 * the emulator's process used (it stands for the adapter) and less this
 * process's user time (the client drawing its frames). What is left is the
 * commit ioctls, the driver's workers, the USB core and the host
 * controller: where udl converts and encodes in the DIRTYFB ioctl, dlkms
 * does it in its render worker, which the ioctl's own CPU time misses.
 */
static pid_t emu_pid;		/* --emu-pid: tests/suites/lib.sh's EMU_PID */

static unsigned long long proc_ticks(pid_t pid, bool user_only)
{
	unsigned long long ut = 0, st = 0;
	char path[64], buf[1024], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f)) {
		/* after the ")" that ends comm: state is field 3, utime 14, stime 15 */
		p = strrchr(buf, ')');
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				&ut, &st) != 2)
			ut = st = 0;
	}
	fclose(f);
	return user_only ? ut : ut + st;
}

static unsigned long long path_ticks(void)
{
	unsigned long long v[8] = { 0 }, busy;
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
		memset(v, 0, sizeof(v));
	fclose(f);
	busy = v[0] + v[1] + v[2] + v[5] + v[6];
	return busy - proc_ticks(emu_pid, false) - proc_ticks(getpid(), true);
}

/*
 * Waits until the emulator has taken more than @base bytes and then nothing
 * for quiet_ms. Returns the final counter; 0 in *@last_rx when nothing came
 * within @timeout_ms (the frame never reached the device).
 */
static unsigned long long wait_quiet(unsigned long long base, unsigned long long *last_rx,
				     unsigned int timeout_ms)
{
	unsigned long long b, rx, prev = base, t0 = now_ns(), changed = t0, t;

	for (;;) {
		emu_bytes(&b, &rx);
		t = now_ns();
		if (b != prev) {
			prev = b;
			changed = t;
		}
		if (b > base && t - changed >= quiet_ms * 1000000ull) {
			*last_rx = rx;
			return b;
		}
		if (b == base && t - t0 >= timeout_ms * 1000000ull) {
			*last_rx = 0;
			return b;
		}
		/*
		 * Seldom: the time is the emulator's (last_rx_ns), not when we
		 * look, and each look wakes the emulator on the guest's CPU,
		 * which a driver that sends from a worker shares while it sends
		 * (one whose ioctl sends has this process asleep in it).
		 */
		usleep(10000);
	}
}

/* ---- drawing ---- */

static uint32_t hash(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352d;
	x ^= x >> 15;
	x *= 0x846ca68b;
	x ^= x >> 16;
	return x;
}

static inline uint32_t *px(unsigned int x, unsigned int y)
{
	return (uint32_t *)(map + (size_t)y * pitch) + x;
}

static void fill_rect(unsigned int x0, unsigned int y0, unsigned int w, unsigned int h,
		      uint32_t c)
{
	for (unsigned int y = y0; y < y0 + h && y < H; y++)
		for (unsigned int x = x0; x < x0 + w && x < W; x++)
			*px(x, y) = c;
}

/*
 * A text-like glyph: 8x16 cell, strokes inside rows 3..13 and columns
 * 1..6, with vertical runs so it compresses like rendered text, not noise.
 */
static int glyph_on(uint32_t c, unsigned int gx, unsigned int gy)
{
	uint32_t h = hash(c * 977 + gx);

	if (gx < 1 || gx > 6 || gy < 3 || gy > 13)
		return 0;
	if (gy == 3 + (h & 7) || gy == 13 - ((h >> 3) & 3))
		return 1;	/* a horizontal bar */
	return (h >> (8 + gy % 4)) & 1 && (h >> 16) & 1;	/* a vertical stroke */
}

/*
 * One line of pseudo-text (words of 2-9 glyphs) of seed @line into the
 * TEXT_LINE rows from y0, columns x0..x0+w, fg on bg.
 */
static void text_line(unsigned int x0, unsigned int y0, unsigned int w, uint32_t line,
		      uint32_t fg, uint32_t bg)
{
	unsigned int cells = w / 8, cell = 0, word = 0, len = 0, end;

	end = cells - (hash(line * 31 + 7) % (cells / 3 + 1));	/* ragged right */
	for (cell = 0; cell < cells; cell++) {
		uint32_t c = 0;

		if (!len) {
			len = 2 + hash(line * 7919 + word++) % 8;
			c = 0;	/* space between words */
		} else {
			c = 1 + hash(line * 104729 + cell) % 94;
			len--;
		}
		if (cell >= end)
			c = 0;
		for (unsigned int gy = 0; gy < TEXT_LINE; gy++)
			for (unsigned int gx = 0; gx < 8; gx++)
				*px(x0 + cell * 8 + gx, y0 + gy) = c && glyph_on(c, gx, gy) ? fg : bg;
	}
	fill_rect(x0 + cells * 8, y0, w - cells * 8, TEXT_LINE, bg);
}

/* The still desktop: gradient sky, flat panels, icons, a text document. */
static void desktop_bg(uint32_t *bg)
{
	unsigned int x, y;

	for (y = 0; y < H; y++) {
		for (x = 0; x < W; x++) {
			uint32_t c;

			if (y >= H - 32)
				c = 0x202830;	/* task bar */
			else if (x < 72)
				c = 0x3a4a5a;	/* dock */
			else	/* diagonal two-axis gradient */
				c = (x * 255 / W) << 16 | ((x + y) * 255 / (W + H)) << 8 |
				    (255 - y * 255 / H);
			bg[(size_t)y * W + x] = c;
		}
	}
	for (y = 16; y + 48 < H - 32; y += 64)	/* dock icons */
		for (unsigned int j = 0; j < 40; j++)
			for (unsigned int i = 0; i < 40; i++)
				bg[(size_t)(y + j) * W + 16 + i] = hash(y) | 0x404040;
	/* a document: white page with text lines */
	{
		unsigned int dx = W / 2, dy = 40, dw = W / 2 - 40, dh = H - 140;

		for (y = 0; y < dh; y++)
			for (x = 0; x < dw; x++)
				bg[(size_t)(dy + y) * W + dx + x] = 0xf4f4f0;
		/* text drawn through the map, then copied into bg below */
		for (y = 0; y < H; y++)
			memcpy(px(0, y), bg + (size_t)y * W, W * 4);
		for (y = 8; y + TEXT_LINE + 8 < dh; y += TEXT_LINE + 2)
			text_line(dx + 16, dy + y, dw - 32, y, 0x101010, 0xf4f4f0);
		for (unsigned int i = 0; i < 10; i++)	/* status text in the task bar */
			text_line(80 + i * 120, H - 24, 96, 5000 + i, 0xe0e0e0, 0x202830);
		for (y = 0; y < H; y++)
			memcpy(bg + (size_t)y * W, px(0, y), W * 4);
	}
}

/* The moving window's own content (WIN_W x WIN_H). */
#define WIN_W 400
#define WIN_H 300
static void window_img(uint32_t *win)
{
	uint32_t *save = malloc((size_t)WIN_H * WIN_W * 4);
	unsigned int x, y;

	/* render through the top-left of the map (restored by the caller) */
	for (y = 0; y < WIN_H; y++)
		memcpy(save + y * WIN_W, px(0, y), WIN_W * 4);
	fill_rect(0, 0, WIN_W, 24, 0x2858a8);	/* title bar */
	text_line(8, 4, 160, 9999, 0xffffff, 0x2858a8);
	fill_rect(WIN_W - 22, 4, 16, 16, 0xc03030);	/* close button */
	fill_rect(0, 24, WIN_W, WIN_H - 24, 0xffffff);
	for (y = 32; y + TEXT_LINE < 180; y += TEXT_LINE + 2)
		text_line(8, y, WIN_W - 16, 7000 + y, 0x202020, 0xffffff);
	for (y = 190; y < WIN_H - 8; y++)	/* a picture in the window */
		for (x = 8; x < WIN_W - 8; x++)
			*px(x, y) = (x * 3) << 16 | (y * 2) << 8 | ((x ^ y) & 0xff);
	for (y = 0; y < WIN_H; y++) {
		*px(0, y) = *px(WIN_W - 1, y) = 0x000000;	/* border */
		memcpy(win + y * WIN_W, px(0, y), WIN_W * 4);
		memcpy(px(0, y), save + y * WIN_W, WIN_W * 4);
	}
	free(save);
}

/* ---- workloads ---- */

struct wl {
	const char *name;
	unsigned int frames;
	void (*init)(struct wl *w);
	int (*step)(struct wl *w, unsigned int f, drmModeClip *clips);
	uint32_t *bg, *win;
	int x, y, dx, dy;
	unsigned int top, bottom, line;
	/* how long the latency pass waits for a frame's first byte (default 5 s) */
	unsigned int first_byte_ms;
};

static void clip_set(drmModeClip *c, int x, int y, int w, int h)
{
	c->x1 = x;
	c->y1 = y;
	c->x2 = x + w;
	c->y2 = y + h;
}

static void noise_init(struct wl *w)
{
	(void)w;
	for (unsigned int y = 0; y < H; y++)
		for (unsigned int x = 0; x < W; x++)
			*px(x, y) = hash(0xbe7c4 ^ (y * 65537 + x)) & 0xffffff;
}

static int noise_step(struct wl *w, unsigned int f, drmModeClip *clips)
{
	uint32_t s = hash(f + 1);

	(void)w;
	/* bit 23 always flips: every pixel changes even after RGB565 truncation */
	for (unsigned int y = 0; y < H; y++) {
		uint32_t *row = px(0, y);

		for (unsigned int x = 0; x < W; x++)
			row[x] = (row[x] ^ (hash(s ^ (y * 65537 + x)) | 0x800000)) & 0xffffff;
	}
	clip_set(&clips[0], 0, 0, W, H);
	return 1;
}

static void desktop_init(struct wl *w)
{
	if (!w->bg) {
		w->bg = malloc((size_t)W * H * 4);
		w->win = malloc((size_t)WIN_W * WIN_H * 4);
		desktop_bg(w->bg);
		window_img(w->win);
	}
	for (unsigned int y = 0; y < H; y++)
		memcpy(px(0, y), w->bg + (size_t)y * W, W * 4);
	w->x = 100;
	w->y = 60;
	w->dx = 3;
	w->dy = 2;
	for (int y = 0; y < WIN_H; y++)
		memcpy(px(w->x, w->y + y), w->win + y * WIN_W, WIN_W * 4);
}

static int desktop_step(struct wl *w, unsigned int f, drmModeClip *clips)
{
	int y;

	(void)f;
	for (y = 0; y < WIN_H; y++)	/* uncover the old place */
		memcpy(px(w->x, w->y + y), w->bg + (size_t)(w->y + y) * W + w->x, WIN_W * 4);
	clip_set(&clips[0], w->x, w->y, WIN_W, WIN_H);
	if (w->x + w->dx < 0 || w->x + w->dx + WIN_W > (int)W)
		w->dx = -w->dx;
	if (w->y + w->dy < 0 || w->y + w->dy + WIN_H > (int)H - 32)
		w->dy = -w->dy;
	w->x += w->dx;
	w->y += w->dy;
	for (y = 0; y < WIN_H; y++)
		memcpy(px(w->x, w->y + y), w->win + y * WIN_W, WIN_W * 4);
	clip_set(&clips[1], w->x, w->y, WIN_W, WIN_H);
	return 2;
}

/* The desktop window dragged straight down and up, 8 px a frame. */
static void drag_init(struct wl *w)
{
	desktop_init(w);
	w->dx = 0;
	w->dy = 8;
}

/*
 * The same frame drawn again, declared as a full-screen damage clip, as
 * clients that do not track damage do every frame: nothing changed.
 */
static int same_step(struct wl *w, unsigned int f, drmModeClip *clips)
{
	(void)f;
	/* desktop_init()'s picture again: the background and the window on it */
	for (unsigned int y = 0; y < H; y++)
		memcpy(px(0, y), w->bg + (size_t)y * W, W * 4);
	for (int y = 0; y < WIN_H; y++)
		memcpy(px(w->x, w->y + y), w->win + y * WIN_W, WIN_W * 4);
	clip_set(&clips[0], 0, 0, W, H);
	return 1;
}

/* A 640x360 video in the middle of the desktop: every pixel of it changes. */
#define VID_W	640
#define VID_H	360

static int video_step(struct wl *w, unsigned int f, drmModeClip *clips)
{
	int x0 = ((int)W - VID_W) / 2, y0 = ((int)H - VID_H) / 2;
	uint32_t s = hash(f + 77);

	(void)w;
	/* smooth gradients moving each frame, a little grain: like video, not noise */
	for (int y = 0; y < VID_H; y++) {
		uint32_t *row = px(x0, y0 + y);

		for (int x = 0; x < VID_W; x++) {
			uint32_t r = (x + f * 5) & 0xff, g = (y * 2 + f * 3) & 0xff;
			uint32_t b = ((x + y) / 2 + f * 7) & 0xff;

			row[x] = (r << 16 | g << 8 | b) ^ (hash(s ^ (y * 65537 + x)) & 0x070707);
		}
	}
	clip_set(&clips[0], x0, y0, VID_W, VID_H);
	return 1;
}

/* A terminal: text area between a title row and a status row. */
static void scroll_init(struct wl *w)
{
	w->top = TEXT_LINE;
	w->bottom = (H - TEXT_LINE) / TEXT_LINE * TEXT_LINE;
	fill_rect(0, 0, W, w->top, 0x505050);
	text_line(8, 0, W / 3, 424242, 0xffffff, 0x505050);
	fill_rect(0, w->bottom, W, H - w->bottom, 0x305030);
	text_line(8, w->bottom, W / 2, 434343, 0xffffff, 0x305030);
	for (w->line = 0; w->top + w->line * TEXT_LINE < w->bottom; w->line++)
		text_line(0, w->top + w->line * TEXT_LINE, W, w->line, 0xc0c0c0, 0x101418);
}

static int scroll_step(struct wl *w, unsigned int f, drmModeClip *clips)
{
	(void)f;
	/* full-width rows are contiguous in the map when the pitch is W*4 */
	for (unsigned int y = w->top; y + TEXT_LINE < w->bottom; y++)
		memcpy(px(0, y), px(0, y + TEXT_LINE), W * 4);
	text_line(0, w->bottom - TEXT_LINE, W, w->line++, 0xc0c0c0, 0x101418);
	clip_set(&clips[0], 0, w->top, W, w->bottom - w->top);
	return 1;
}

static void cursor_init(struct wl *w)
{
	if (!w->bg) {
		w->bg = malloc((size_t)W * H * 4);
		desktop_bg(w->bg);
	}
	for (unsigned int y = 0; y < H; y++)
		memcpy(px(0, y), w->bg + (size_t)y * W, W * 4);
	w->x = 300;
	w->y = 200;
	w->dx = 11;
	w->dy = 7;
}

static int cursor_step(struct wl *w, unsigned int f, drmModeClip *clips)
{
	uint32_t tint = hash(f * 2654435761u) & 0x3f3f3f;

	if (w->x + w->dx < 0 || w->x + w->dx + 64 > (int)W)
		w->dx = -w->dx;
	if (w->y + w->dy < 0 || w->y + w->dy + 64 > (int)H)
		w->dy = -w->dy;
	w->x += w->dx;
	w->y += w->dy;
	/* an arrow sprite, colour and backdrop tint changing every frame */
	for (int j = 0; j < 64; j++) {
		for (int i = 0; i < 64; i++) {
			uint32_t c = w->bg[(size_t)(w->y + j) * W + w->x + i] ^ tint;

			if (i <= j / 2 && j < 48)
				c = (i == j / 2 || i == 0 || j == 47) ? 0x000000 :
				    (0xffffff ^ (tint << 1));
			*px(w->x + i, w->y + j) = c;
		}
	}
	clip_set(&clips[0], w->x, w->y, 64, 64);
	return 1;
}

/* ---- measuring ---- */

static int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/* nearest-rank percentile of a sorted array */
static unsigned long long pct(const unsigned long long *v, unsigned int n, unsigned int p)
{
	unsigned int r = (n * p + 99) / 100;

	return v[r ? r - 1 : 0];
}

static int dirty(drmModeClip *clips, int n)
{
	int r = drmModeDirtyFB(card_fd, fb_id, clips, n);

	if (r && r != -ENOSYS) {
		fprintf(stderr, "dlbench: DIRTYFB: %s\n", strerror(-r));
		exit(1);
	}
	return r;
}

/* dlkms's debugfs dlkms_stats counters the bench reads */
struct drv_stats {
	bool ok;			/* false: no such file (udl, no debugfs) */
	long long frames;		/* render passes */
	long long render_ns, urb_wait_ns, search_ns, superseded;
};

/* One read of dlkms_stats for our card. */
static void drv_stats_read(struct drv_stats *d)
{
	char path[96], k[64];
	struct stat st;
	long long v;
	FILE *f;

	memset(d, 0, sizeof(*d));
	if (fstat(card_fd, &st))
		return;
	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%u/dlkms_stats", minor(st.st_rdev));
	f = fopen(path, "r");
	if (!f)
		return;
	d->ok = true;
	while (fscanf(f, "%63s %lld", k, &v) == 2) {
		if (!strcmp(k, "frames"))
			d->frames = v;
		else if (!strcmp(k, "render_ns"))
			d->render_ns = v;
		else if (!strcmp(k, "urb_wait_ns"))
			d->urb_wait_ns = v;
		else if (!strcmp(k, "search_ns"))
			d->search_ns = v;
		else if (!strcmp(k, "superseded"))
			d->superseded = v;
	}
	fclose(f);
}

/*
 * Compares the emulator's decoded frame with the map truncated to RGB565;
 * @tries_max times a second apart, in case the last bytes are still on the
 * way. Prints the count and bounding box of wrong pixels as evidence.
 */
static int verify(const char *what, unsigned int tries_max)
{
	static uint32_t *frame;
	size_t n = (size_t)W * H;
	unsigned int bad = 0, x, y, bx0 = 0, by0 = 0, bx1 = 0, by1 = 0, tries;
	uint32_t got = 0, want = 0;
	char body[512];
	FILE *f;

	if (!frame)
		frame = malloc(n * 4);
	for (tries = 0; tries < tries_max; tries++) {
		if (tries)
			sleep(1);
		bad = n;
		if (emu("mode", body, sizeof(body)) || strtoul(body, NULL, 10) != W)
			continue;
		if (emu("frame-raw /tmp/dlbench.raw", NULL, 0) || !(f = fopen("/tmp/dlbench.raw", "rb")))
			continue;
		if (fread(frame, 4, n, f) != n) {
			fclose(f);
			continue;
		}
		fclose(f);
		bad = 0;
		bx0 = W;
		by0 = H;
		bx1 = by1 = 0;
		for (y = 0; y < H; y++) {
			const uint32_t *row = px(0, y);

			for (x = 0; x < W; x++) {
				uint32_t e = row[x] & keep_mask;

				if (frame[(size_t)y * W + x] == e)
					continue;
				if (!bad++) {
					got = frame[(size_t)y * W + x];
					want = e;
				}
				bx0 = x < bx0 ? x : bx0;
				by0 = y < by0 ? y : by0;
				bx1 = x > bx1 ? x : bx1;
				by1 = y > by1 ? y : by1;
			}
		}
		if (!bad)
			break;
	}
	if (!bad) {
		printf("ok - %s: final frame equals the expected RGB565 image\n", what);
		return 0;
	}
	if (bad == n && !got && !want)
		printf("not ok - %s: no %ux%u frame from the emulator (mode: %s)\n", what, W, H,
		       body);
	else
		printf("not ok - %s: %u pixels differ in (%u,%u)-(%u,%u), first got 0x%06x want 0x%06x\n",
		       what, bad, bx0, by0, bx1, by1, got, want);
	return -1;
}

/*
 * Draws the workload's start image and waits until the device shows it,
 * before the counters are reset: a quiet wire alone is not enough, as a
 * driver's worker may pause longer than quiet_ms between passes, and the
 * rest of the upload would be counted as the workload's.
 */
static int start(struct wl *w)
{
	drmModeClip full;
	unsigned long long b, rx;
	char what[96];
	int bad;

	w->init(w);
	clip_set(&full, 0, 0, W, H);
	emu_bytes(&b, &rx);
	dirty(&full, 1);
	wait_quiet(b, &rx, 10000);
	snprintf(what, sizeof(what), "%s %ux%u start image", w->name, W, H);
	bad = verify(what, 10);
	if (emu("reset-stats", NULL, 0)) {
		fprintf(stderr, "dlbench: reset-stats failed\n");
		exit(1);
	}
	return bad;
}

static int run(struct wl *w, const char *driver)
{
	unsigned long long *lat = calloc(w->frames, sizeof(*lat));
	unsigned long long bytes_a, bytes_b, rx, s0, s1, c0, c1, cpu = 0, t0, base;
	unsigned long long ioctl_ns = 0, settle, p0, p1, w0, w1;
	struct drv_stats d0, d1;
	unsigned int f, nlat = 0, nodata = 0;
	drmModeClip clips[MAX_CLIPS];
	char what[128];
	int n, bad;

	/* throughput pass: back to back, rusage over the whole loop */
	bad = start(w);
	/* read before the pass's CPU is counted, and after it is */
	drv_stats_read(&d0);
	s0 = stime_us();
	p0 = path_ticks();
	w0 = now_ns();
	for (f = 0; f < w->frames; f++) {
		n = w->step(w, f, clips);
		c0 = thread_cpu_ns();
		t0 = now_ns();
		dirty(clips, n);
		ioctl_ns += now_ns() - t0;
		c1 = thread_cpu_ns();
		cpu += c1 - c0;
	}
	s1 = stime_us();
	/* until the counter stops: the last frames may still be on the way */
	emu_bytes(&bytes_a, &rx);
	for (settle = now_ns(); now_ns() - settle < quiet_ms * 1000000ull; usleep(1000)) {
		emu_bytes(&base, &rx);
		if (base != bytes_a) {
			bytes_a = base;
			settle = now_ns();
		}
	}
	/* the pass's path CPU, the quiet wait's polling included (both drivers alike) */
	p1 = path_ticks();
	/* the wall time until the last byte came, not the quiet wait after it */
	w1 = rx > w0 ? rx : now_ns();
	drv_stats_read(&d1);
	snprintf(what, sizeof(what), "%s %s %ux%u (throughput pass)", driver, w->name, W, H);
	bad |= verify(what, 4);

	/* latency pass: same frames, each waited for */
	bad |= start(w);
	for (f = 0; f < w->frames; f++) {
		n = w->step(w, f, clips);
		emu_bytes(&base, &rx);
		t0 = now_ns();
		dirty(clips, n);
		wait_quiet(base, &rx, w->first_byte_ms ? w->first_byte_ms : 5000);
		if (!rx || rx < t0) {
			nodata++;	/* nothing reached the device for this frame */
			continue;
		}
		lat[nlat++] = rx - t0;
	}
	emu_bytes(&bytes_b, &rx);
	snprintf(what, sizeof(what), "%s %s %ux%u (latency pass)", driver, w->name, W, H);
	bad |= verify(what, 4);

	qsort(lat, nlat, sizeof(*lat), cmp_ull);
	printf("result driver=%s workload=%s mode=%ux%u frames=%u bytes_per_frame=%llu "
	       "stime_us_per_frame=%.0f ioctl_cpu_us_per_frame=%.0f ioctl_wall_us_per_frame=%.0f "
	       "path_cpu_us_per_frame=%.0f "
	       "lat_med_ms=%.2f lat_p95_ms=%.2f lat_frames=%u nodata_frames=%u "
	       "bytes_per_frame_latency_pass=%llu passes=%lld superseded=%lld pass_wall_ms=%.0f "
	       "worker_us_per_frame=%.0f search_us_per_frame=%.0f check=%s\n",
	       driver, w->name, W, H, w->frames, bytes_a / w->frames,
	       (double)(s1 - s0) / w->frames, cpu / 1e3 / w->frames, ioctl_ns / 1e3 / w->frames,
	       (double)(p1 - p0) * 1e6 / sysconf(_SC_CLK_TCK) / w->frames,
	       nlat ? pct(lat, nlat, 50) / 1e6 : -1.0, nlat ? pct(lat, nlat, 95) / 1e6 : -1.0,
	       nlat, nodata, bytes_b / w->frames,
	       d0.ok && d1.ok ? d1.frames - d0.frames : -1,
	       d0.ok && d1.ok ? d1.superseded - d0.superseded : -1, (w1 - w0) / 1e6,
	       d0.ok && d1.ok ? (double)(d1.render_ns - d1.urb_wait_ns - d0.render_ns +
					  d0.urb_wait_ns) / 1e3 / w->frames : -1.0,
	       d0.ok && d1.ok ? (double)(d1.search_ns - d0.search_ns) / 1e3 / w->frames : -1.0,
	       bad ? "FAIL" : "ok");
	fflush(stdout);
	free(lat);
	return bad;
}

/* ---- setup ---- */

int main(int argc, char **argv)
{
	const char *driver = NULL, *want_mode = NULL, *only = NULL;
	unsigned int scale = 100;
	drmModeConnectorPtr conn = NULL;
	drmModeModeInfoPtr mode = NULL;
	struct drm_mode_create_dumb cd = { 0 };
	struct drm_mode_map_dumb md = { 0 };
	uint32_t handles[4] = { 0 }, pitches[4] = { 0 }, offsets[4] = { 0 };
	drmModeResPtr res;
	int i, r, failed = 0;
	struct wl wls[] = {
		{ .name = "noise", .frames = 12, .init = noise_init, .step = noise_step },
		{ .name = "same", .frames = 30, .init = desktop_init, .step = same_step,
		  .first_byte_ms = 300 },	/* a driver that sends nothing is right */
		{ .name = "desktop", .frames = 60, .init = desktop_init, .step = desktop_step },
		{ .name = "drag", .frames = 40, .init = drag_init, .step = desktop_step },
		{ .name = "scroll", .frames = 40, .init = scroll_init, .step = scroll_step },
		{ .name = "cursor", .frames = 120, .init = cursor_init, .step = cursor_step },
		{ .name = "video", .frames = 30, .init = desktop_init, .step = video_step },
	};

	static const struct option opts[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "scale", required_argument, NULL, 'S' },
		{ "only", required_argument, NULL, 'o' },
		{ "quiet-ms", required_argument, NULL, 'q' },
		{ "depth", required_argument, NULL, 'b' },
		{ "emu-pid", required_argument, NULL, 'p' },
		{ }
	};
	while ((r = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (r) {
		case 'd': driver = optarg; break;
		case 's': emu_socket = optarg; break;
		case 'm': want_mode = optarg; break;
		case 'S': scale = strtoul(optarg, NULL, 10); break;
		case 'o': only = optarg; break;
		case 'q': quiet_ms = strtoul(optarg, NULL, 10); break;
		case 'b': keep_mask = atoi(optarg) == 24 ? 0xffffff : 0xf8fcf8; break;
		case 'p': emu_pid = atoi(optarg); break;
		default: driver = NULL; optind = argc; break;
		}
	}
	/* without the emulator's pid the path CPU would count the emulator */
	if (!driver || !want_mode || !scale || !quiet_ms || emu_pid <= 0) {
		fprintf(stderr, "usage: dlbench --driver NAME --mode WxH --emu-pid PID [--socket PATH] "
			"[--scale PERCENT] [--only WORKLOAD] [--quiet-ms MS] [--depth 16|24]\n");
		return 2;
	}

	card_fd = open_card(driver);
	drmSetMaster(card_fd);	/* fbcon is not a master; we are if we are first */
	res = drmModeGetResources(card_fd);
	if (!res) {
		perror("GETRESOURCES");
		return 1;
	}
	for (i = 0; i < res->count_connectors && !mode; i++) {
		conn = drmModeGetConnector(card_fd, res->connectors[i]);
		if (!conn || conn->connection != DRM_MODE_CONNECTED)
			continue;
		for (r = 0; r < conn->count_modes; r++) {
			char name[32];

			snprintf(name, sizeof(name), "%ux%u", conn->modes[r].hdisplay,
				 conn->modes[r].vdisplay);
			if (!strcmp(name, want_mode)) {
				mode = &conn->modes[r];
				break;
			}
		}
	}
	if (!mode) {
		fprintf(stderr, "dlbench: no connected connector with mode %s\n", want_mode);
		return 1;
	}
	W = mode->hdisplay;
	H = mode->vdisplay;
	printf("# connector %u, crtc %u, xrgb8888 %ux%u@%u, quiet window %u ms\n",
	       conn->connector_id, res->crtcs[0], W, H, mode->vrefresh, quiet_ms);

	cd.width = W;
	cd.height = H;
	cd.bpp = 32;
	if (drmIoctl(card_fd, DRM_IOCTL_MODE_CREATE_DUMB, &cd)) {
		perror("CREATE_DUMB");
		return 1;
	}
	pitch = cd.pitch;
	handles[0] = cd.handle;
	pitches[0] = cd.pitch;
	if (drmModeAddFB2(card_fd, W, H, DRM_FORMAT_XRGB8888, handles, pitches, offsets,
			  &fb_id, 0)) {
		perror("ADDFB2");
		return 1;
	}
	md.handle = cd.handle;
	if (drmIoctl(card_fd, DRM_IOCTL_MODE_MAP_DUMB, &md)) {
		perror("MAP_DUMB");
		return 1;
	}
	map = mmap(NULL, cd.size, PROT_READ | PROT_WRITE, MAP_SHARED, card_fd, md.offset);
	if (map == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(map, 0, cd.size);
	if (drmModeSetCrtc(card_fd, res->crtcs[0], fb_id, 0, 0, &conn->connector_id, 1, mode)) {
		perror("SETCRTC");
		return 1;
	}

	for (i = 0; i < (int)(sizeof(wls) / sizeof(wls[0])); i++) {
		if (only && strcmp(only, wls[i].name))
			continue;
		wls[i].frames = wls[i].frames * scale / 100 ? wls[i].frames * scale / 100 : 1;
		failed |= run(&wls[i], driver);
	}

	drmModeSetCrtc(card_fd, res->crtcs[0], 0, 0, 0, NULL, 0, NULL);
	drmModeRmFB(card_fd, fb_id);
	drmDropMaster(card_fd);
	close(card_fd);
	return failed ? 1 : 0;
}
