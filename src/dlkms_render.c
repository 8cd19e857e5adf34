// SPDX-License-Identifier: GPL-2.0-only
/*
 * What goes on the wire: the damaged rectangles of commits, composed from
 * the primary plane and the software cursor, converted to the device's
 * planes (RGB565, plus the low bits in 24-bpp mode) and encoded as RLX
 * commands into bulk URBs filled back to back.
 *
 * Commits only queue: the framebuffer they scan out (held and mapped
 * when the commit prepares its planes), the cursor and the damage. A
 * worker sends what is queued, the latest state for the union of the
 * damage. A full frame takes longer than a frame to compare and send,
 * more so on USB 2.0; commits complete at the next vblank, as on a
 * display with scanout, rather than after the transfer, and the cursor
 * moves without waiting for a page flip.
 *
 * Copyright (C) 2026 dlkms developers
 */

#include <linux/dma-direction.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include <drm/drm_atomic.h>
#include <drm/drm_damage_helper.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_framebuffer.h>
#include <drm/drm_gem_atomic_helper.h>
#include <drm/drm_gem_framebuffer_helper.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>

#include "dlkms_drv.h"
#include "dlkms_proto.h"
#include "dlkms_scroll.h"

/* A run of URBs being filled; one per render pass. */
struct dlkms_tx {
	struct dlkms_device *dl;
	struct urb *urb;
	size_t pos;
	int err;
	int y1, y2;			/* the lines sent, for the CRC source */
	/*
	 * The pictures queued when the pass took its damage in (@dl->pictures),
	 * when it may give up its remainder to a newer one (see
	 * dlkms_tx_superseded()); else -1.
	 */
	int seq;
	unsigned int lines;		/* lines sent so far */
	bool superseded;
};

/* The primary plane as a render pass scans it out. */
struct dlkms_scanout {
	const u8 *vaddr;		/* plane 0, NULL: nothing visible (black) */
	const struct drm_framebuffer *fb;
	int dx, dy;			/* fb coordinates minus CRTC coordinates */
	unsigned int width, height;	/* the mode */
};

static void dlkms_tx_flush(struct dlkms_tx *tx)
{
	if (!tx->urb)
		return;
	if (tx->pos) {
		if (dlkms_urb_submit(tx->dl, tx->urb, tx->pos))
			tx->err = -EIO;
	} else {
		dlkms_urb_put(tx->dl, tx->urb);
	}
	tx->urb = NULL;
}

/* Where the next bytes go, in the URB being filled or a new one; NULL: none. */
static u8 *dlkms_tx_buf(struct dlkms_tx *tx, size_t *len)
{
	if (!tx->urb) {
		tx->urb = dlkms_urb_get(tx->dl);
		if (!tx->urb) {
			tx->err = -ENODEV;
			return NULL;
		}
		tx->pos = 0;
	}
	*len = tx->dl->urb_size - tx->pos;
	return (u8 *)tx->urb->transfer_buffer + tx->pos;
}

/* Encodes @n pixels of one plane at device address @addr. */
static void dlkms_tx_span(struct dlkms_tx *tx, bool low8, u32 addr,
			  const void *px, unsigned int n)
{
	struct dlkms_device *dl = tx->dl;
	unsigned int sent = 0, done;
	u8 *buf;
	size_t len;

	while (sent < n && !tx->err) {
		buf = dlkms_tx_buf(tx, &len);
		if (!buf)
			return;
		if (low8)
			tx->pos += dl_enc_rlx8(buf, len, addr + sent,
					       (const u8 *)px + sent, n - sent, &done);
		else
			tx->pos += dl_enc_rlx16(buf, len, addr + 2 * sent,
						(const u16 *)px + sent, n - sent, &done);
		sent += done;
		/* full: it goes now, the rest continues in the next one */
		if (sent < n || dl->urb_size - tx->pos < DL_RLX_MIN_BYTES)
			dlkms_tx_flush(tx);
	}
}

/*
 * The copy commands of moves found by dl_scroll_find(), in URBs filled
 * back to back with the pixels; a move that does not fit goes on in the
 * next URB.
 */
static void dlkms_tx_moves(struct dlkms_tx *tx, struct dl_scroll_tx *t)
{
	struct dlkms_device *dl = tx->dl;
	bool fresh;
	size_t len, n;
	u8 *buf;

	while (!dl_scroll_tx_done(t) && !tx->err) {
		buf = dlkms_tx_buf(tx, &len);
		if (!buf)
			return;
		fresh = !tx->pos;
		n = dl_scroll_enc(buf, len, t);
		tx->pos += n;
		if (dl_scroll_tx_done(t))
			break;
		/* whole-line shifts always go: this would be an endless loop */
		if (fresh && !n) {
			tx->err = -EINVAL;
			return;
		}
		dlkms_tx_flush(tx);
	}
	if (tx->urb && dl->urb_size - tx->pos < DL_RLX_MIN_BYTES)
		dlkms_tx_flush(tx);
}

/*
 * Sends the @n pixels of one plane's line segment at pixel offset @off:
 * what differs from the shadow, or all of it while the shadow is not the
 * device's memory. Damage is compared even where a client declared it:
 * clips are coarse (fbdev's is the box around all that was drawn since
 * its last flush, a whole screen at a console redraw), the same pixels
 * can be damaged by several commits queued for one pass, and a pass may
 * have sent some of them already while the client was still drawing. A
 * pixel sent once is not sent again, and the comparison costs little
 * beside the encoding and the USB transfer it saves.
 */
static void dlkms_tx_line(struct dlkms_tx *tx, bool low8, u32 addr,
			  const void *px, void *shadow, unsigned int n)
{
	unsigned int cpp = low8 ? 1 : 2, pos = 0, a, b;

	if (!shadow || !tx->dl->shadow_valid) {
		dlkms_tx_span(tx, low8, addr, px, n);
		if (shadow)
			memcpy(shadow, px, n * cpp);
		return;
	}
	/* the diff brings the shadow up to date as it goes */
	if (low8) {
		while (dl_diff_next(px, shadow, shadow, 1, n, &pos, &a, &b))
			dlkms_tx_span(tx, true, addr + a, (const u8 *)px + a, b - a);
	} else {
		while (dl_diff_next(px, shadow, shadow, 2, n, &pos, &a, &b))
			dlkms_tx_span(tx, false, addr + 2 * a, (const u16 *)px + a, b - a);
	}
}

/* a * b / 255, rounded exactly as pixman (and so cairo and IGT) does it */
static inline u32 dlkms_mul_un8(u32 a, u32 b)
{
	u32 t = a * b + 0x80;

	return ((t >> 8) + t) >> 8;
}

/* premultiplied ARGB @src over opaque @dst */
static inline u32 dlkms_blend(u32 src, u32 dst)
{
	u32 ia = 255 - (src >> 24);
	u32 r = ((src >> 16) & 0xff) + dlkms_mul_un8((dst >> 16) & 0xff, ia);
	u32 g = ((src >> 8) & 0xff) + dlkms_mul_un8((dst >> 8) & 0xff, ia);
	u32 b = (src & 0xff) + dlkms_mul_un8(dst & 0xff, ia);

	return min(r, 255u) << 16 | min(g, 255u) << 8 | min(b, 255u);
}

static inline u32 dlkms_565_to_xrgb(u16 px)
{
	u32 r = px >> 11, g = (px >> 5) & 0x3f, b = px & 0x1f;

	/* bit replication: truncating back to RGB565 gives @px again */
	return (r << 3 | r >> 2) << 16 | (g << 2 | g >> 4) << 8 | (b << 3 | b >> 2);
}

/* XBGR8888 (and ABGR8888) to XRGB8888: red and blue trade places */
static inline u32 dlkms_xbgr_to_xrgb(u32 px)
{
	return (px & 0xff) << 16 | (px & 0xff00) | ((px >> 16) & 0xff);
}

static bool dlkms_format_is_bgr(const struct drm_framebuffer *fb)
{
	return fb->format->format == DRM_FORMAT_XBGR8888 ||
	       fb->format->format == DRM_FORMAT_ABGR8888;
}

/* CRTC pixels [x1, x2) of line @y, XRGB8888, into dl->line32 */
static void dlkms_compose_line(struct dlkms_device *dl, const struct dlkms_scanout *so,
			       int y, int x1, int x2)
{
	const struct dlkms_cursor *c = &dl->cursor;
	unsigned int n = x2 - x1, i;
	u32 *out = dl->line32;

	if (!so->vaddr) {
		memset(out, 0, n * sizeof(*out));
	} else {
		const u8 *src = so->vaddr + (y + so->dy) * so->fb->pitches[0];
		int fx = x1 + so->dx;

		if (so->fb->format->format == DRM_FORMAT_RGB565) {
			const u16 *s = (const u16 *)src + fx;

			for (i = 0; i < n; i++)
				out[i] = dlkms_565_to_xrgb(s[i]);
		} else {
			const u32 *s = (const u32 *)src + fx;

			/* the device has no alpha: ARGB scans out opaque */
			if (dlkms_format_is_bgr(so->fb)) {
				for (i = 0; i < n; i++)
					out[i] = dlkms_xbgr_to_xrgb(s[i]);
			} else {
				for (i = 0; i < n; i++)
					out[i] = s[i] & 0xffffff;
			}
		}
	}

	if (c->visible && y >= c->y && y < c->y + (int)c->height) {
		int cx1 = max(x1, c->x), cx2 = min(x2, c->x + (int)c->width);
		const u32 *cp = c->image + (y - c->y) * c->width;
		int x;

		for (x = cx1; x < cx2; x++)
			out[x - x1] = dlkms_blend(cp[x - c->x], out[x - x1]);
	}
}

/*
 * XRGB8888 to RGB565, four pixels in two 64-bit loads and one store: the
 * line is converted for every damaged line of every pass, and a load or
 * store a pixel cost more than the conversion (most of all under
 * emulation, where each is a lookup of its own).
 */
static void dlkms_xrgb_line_to_565(u16 *d, const u32 *s, unsigned int n)
{
	unsigned int i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	u64 a, b, w;

	for (; i + 4 <= n; i += 4) {
		__builtin_memcpy(&a, s + i, sizeof(a));
		__builtin_memcpy(&b, s + i + 2, sizeof(b));
		w = (u64)dl_xrgb_to_565(a) | (u64)dl_xrgb_to_565(a >> 32) << 16 |
		    (u64)dl_xrgb_to_565(b) << 32 | (u64)dl_xrgb_to_565(b >> 32) << 48;
		__builtin_memcpy(d + i, &w, sizeof(w));
	}
#endif
	for (; i < n; i++)
		d[i] = dl_xrgb_to_565(s[i]);
}

/*
 * The common case, a 16-bpp line the cursor does not touch, converted
 * straight from the framebuffer into dl->line16. False where the general
 * path is needed.
 */
static bool dlkms_fast_line(struct dlkms_device *dl, const struct dlkms_scanout *so,
			    int y, int x1, int x2)
{
	const struct dlkms_cursor *c = &dl->cursor;
	unsigned int n = x2 - x1, i;
	const u8 *src;

	if (dl->bpp != 16 || !so->vaddr)
		return false;
	if (c->visible && y >= c->y && y < c->y + (int)c->height &&
	    x1 < c->x + (int)c->width && c->x < x2)
		return false;
	src = so->vaddr + (y + so->dy) * so->fb->pitches[0];
	if (so->fb->format->format == DRM_FORMAT_RGB565) {
		memcpy(dl->line16, (const u16 *)src + x1 + so->dx, n * 2);
	} else if (dlkms_format_is_bgr(so->fb)) {
		const u32 *s = (const u32 *)src + x1 + so->dx;

		for (i = 0; i < n; i++)
			dl->line16[i] = dl_xrgb_to_565(dlkms_xbgr_to_xrgb(s[i]));
	} else {
		dlkms_xrgb_line_to_565(dl->line16, (const u32 *)src + x1 + so->dx, n);
	}
	return true;
}

/* Line @y's pixels [x1, x2) as the device's planes get them: dl->line16 (and line8) */
static void dlkms_make_line(struct dlkms_device *dl, const struct dlkms_scanout *so,
			    int y, int x1, int x2)
{
	unsigned int n = x2 - x1, i;

	if (!dlkms_fast_line(dl, so, y, x1, x2)) {
		dlkms_compose_line(dl, so, y, x1, x2);
		for (i = 0; i < n; i++)
			dl->line16[i] = dl_xrgb_to_565(dl->line32[i]);
	}
	/* 24 bpp never takes the fast path: line32 is this line */
	if (dl->bpp == 24)
		for (i = 0; i < n; i++)
			dl->line8[i] = dl_xrgb_to_low8(dl->line32[i]);
}

/* What dl_scroll_find() asks for: the new picture's lines. */
struct dlkms_line_ctx {
	struct dlkms_device *dl;
	const struct dlkms_scanout *so;
	struct drm_rect r;
};

static const u16 *dlkms_new_line(void *arg, unsigned int i, const u8 **px8)
{
	struct dlkms_line_ctx *c = arg;
	struct dlkms_device *dl = c->dl;

	dlkms_make_line(dl, c->so, c->r.y1 + i, c->r.x1, c->r.x2);
	if (dl->bpp == 24)
		*px8 = dl->line8;
	return dl->line16;
}

/*
 * Content of @r that moved up or down (scrolled text, a dragged window)
 * is moved in the device's memory with its copy commands, and in the
 * shadow alike: the diff that follows sends only what the moves did not
 * bring. Only while the shadow is the device's memory.
 */
static void dlkms_move_rect(struct dlkms_device *dl, struct dlkms_tx *tx,
			    const struct dlkms_scanout *so, const struct drm_rect *r)
{
	struct dlkms_line_ctx ctx = { .dl = dl, .so = so, .r = *r };
	u32 px = so->width * so->height, off = r->y1 * so->width + r->x1;
	struct dl_scroll s = {
		.old16 = dl->shadow16 + off,
		.old8 = dl->shadow8 ? dl->shadow8 + off : NULL,
		.stride = so->width,
		.width = drm_rect_width(r),
		.height = drm_rect_height(r),
		.new_line = dlkms_new_line,
		.ctx = &ctx,
		.hold = dl->scroll_hold,
		.hnew = dl->scroll_hnew,
		.pold = dl->scroll_pold,
		.take = dl->scroll_take,
	};
	struct dl_scroll_tx t;
	ktime_t start = ktime_get();
	bool found = dl_scroll_find(&s);

	atomic64_add(ktime_to_ns(ktime_sub(ktime_get(), start)), &dl->stats.search_ns);
	if (!found)
		return;
	/* the scratch for staged copies: past the planes (dlkms_crtc.c) */
	dl_scroll_tx_init(&t, &s, 2 * off, 2 * px + off, s.width == so->width,
			  dl->bpp == 24 ? 3 * px : 2 * px);
	dlkms_tx_moves(tx, &t);
	dl_scroll_shadow(&s);
	atomic64_add(s.lines, &dl->stats.moved_lines);
	atomic64_add(t.copies, &dl->stats.copies);
}

/* a pass sends at least this many lines before it gives way to a newer one */
#define DLKMS_PASS_MIN_LINES	32

/*
 * The newest picture wins: when a commit queued a newer one while this
 * pass is sending (frames come faster than the wire), the lines not sent
 * yet are left to the pass that follows, which sends them from the newer
 * picture, instead of sending what is already out of date. Only while
 * the shadow is the device's memory (a pass making it so sends it all),
 * and after some lines, so that every pass makes progress. A cursor that
 * moved makes no picture out of date: it does not cut a pass.
 */
static bool dlkms_tx_superseded(struct dlkms_tx *tx)
{
	if (tx->seq < 0 || tx->lines < DLKMS_PASS_MIN_LINES || tx->err)
		return false;
	if (atomic_read(&tx->dl->pictures) != tx->seq)
		tx->superseded = true;
	return tx->superseded;
}

static void dlkms_damage_add(struct dlkms_device *dl, struct drm_rect r);

/*
 * The damage a superseded pass did not send, for the pass that follows
 * (queued by the commit that superseded it).
 */
static void dlkms_requeue(struct dlkms_device *dl, const struct drm_rect *rects,
			  unsigned int n)
{
	unsigned int i;

	/* under render_lock: no mode set can come between */
	mutex_lock(&dl->queue_lock);
	for (i = 0; i < n; i++)
		dlkms_damage_add(dl, rects[i]);
	mutex_unlock(&dl->queue_lock);
}

/*
 * Composes, converts and encodes the CRTC rectangle *@rp. False when the
 * pass was superseded first (dlkms_tx_superseded()): *@rp is then the
 * part it did not send.
 */
static bool dlkms_render_rect(struct dlkms_device *dl, struct dlkms_tx *tx,
			      const struct dlkms_scanout *so, struct drm_rect *rp)
{
	struct drm_rect screen = DRM_RECT_INIT(0, 0, so->width, so->height);
	u32 base8 = 2 * so->width * so->height;
	struct drm_rect r = *rp;
	unsigned int n;
	int y;

	if (!drm_rect_intersect(&r, &screen))
		return true;
	/* a picture queued for another mode is cut to its framebuffer */
	if (so->fb) {
		struct drm_rect fb = DRM_RECT_INIT(-so->dx, -so->dy, so->fb->width, so->fb->height);

		if (!drm_rect_intersect(&r, &fb))
			return true;
	}
	if (dlkms_tx_superseded(tx))
		return false;
	if (tx->y1 >= tx->y2) {
		tx->y1 = r.y1;
		tx->y2 = r.y2;
	} else {
		tx->y1 = min(tx->y1, r.y1);
		tx->y2 = max(tx->y2, r.y2);
	}
	n = drm_rect_width(&r);
	if (dl->shadow16 && dl->shadow_valid && !tx->err)
		dlkms_move_rect(dl, tx, so, &r);
	for (y = r.y1; y < r.y2 && !tx->err; y++) {
		u32 off = y * so->width + r.x1;

		if (dlkms_tx_superseded(tx))
			break;
		dlkms_make_line(dl, so, y, r.x1, r.x2);
		dlkms_tx_line(tx, false, 2 * off, dl->line16,
			      dl->shadow16 ? dl->shadow16 + off : NULL, n);
		if (dl->bpp == 24)
			dlkms_tx_line(tx, true, base8 + off, dl->line8,
				      dl->shadow8 ? dl->shadow8 + off : NULL, n);
		tx->lines++;
	}
	atomic64_inc(&dl->stats.rects);
	atomic64_add((u64)n * (y - r.y1), &dl->stats.pixels);
	if (!tx->superseded)
		return true;
	*rp = DRM_RECT_INIT(r.x1, y, n, r.y2 - y);
	return false;
}

static struct drm_rect dlkms_cursor_rect(const struct dlkms_cursor *c)
{
	if (!c->visible)
		return (struct drm_rect){ };
	return DRM_RECT_INIT(c->x, c->y, c->width, c->height);
}

static void dlkms_rect_union(struct drm_rect *a, const struct drm_rect *b)
{
	a->x1 = min(a->x1, b->x1);
	a->y1 = min(a->y1, b->y1);
	a->x2 = max(a->x2, b->x2);
	a->y2 = max(a->y2, b->y2);
}

/*
 * The primary plane's framebuffer, referenced and mapped for as long as a
 * render pass may read it: past the commit that brought it, whose own
 * mapping ends when the next commit replaces its plane state.
 */
struct dlkms_src {
	struct kref ref;
	struct drm_framebuffer *fb;
	struct iosys_map map[DRM_FORMAT_MAX_PLANES];
	struct iosys_map data[DRM_FORMAT_MAX_PLANES];
	int dx, dy;			/* fb coordinates minus CRTC coordinates */
};

static void dlkms_src_release(struct kref *ref)
{
	struct dlkms_src *src = container_of(ref, struct dlkms_src, ref);

	drm_gem_fb_vunmap(src->fb, src->map);
	drm_framebuffer_put(src->fb);
	kfree(src);
}

void dlkms_src_put(struct dlkms_src *src)
{
	if (src)
		kref_put(&src->ref, dlkms_src_release);
}

/* fb coordinates minus CRTC coordinates of a visible plane */
static void dlkms_plane_offset(const struct drm_plane_state *state, int *dx, int *dy)
{
	*dx = (state->src.x1 >> 16) - state->dst.x1;
	*dy = (state->src.y1 >> 16) - state->dst.y1;
}

/*
 * The picture of the primary plane's @state, which the shadow-plane
 * helpers have mapped, for the render worker: with a reference to the
 * framebuffer and a mapping of its own, as it outlives the plane state.
 * Called when the commit prepares its planes, where it may allocate and
 * take the locks of mapping, and where its error fails the commit; the
 * commit tail may do neither. NULL: nothing visible, or not mappable by
 * the CPU, which shows black.
 */
struct dlkms_src *dlkms_src_new(struct drm_plane_state *state)
{
	struct drm_shadow_plane_state *shadow = to_drm_shadow_plane_state(state);
	struct dlkms_src *src;
	int ret;

	if (!state->visible || !state->fb || shadow->data[0].is_iomem)
		return NULL;
	src = kzalloc_obj(*src, GFP_KERNEL);
	if (!src)
		return ERR_PTR(-ENOMEM);
	/* the plane state is mapped already: this takes another reference */
	ret = drm_gem_fb_vmap(state->fb, src->map, src->data);
	if (ret) {
		kfree(src);
		return ERR_PTR(ret);
	}
	src->fb = state->fb;
	drm_framebuffer_get(src->fb);
	kref_init(&src->ref);
	dlkms_plane_offset(state, &src->dx, &src->dy);
	return src;
}

/* Adds CRTC rectangle @r to the queued damage; under queue_lock. */
static void dlkms_damage_add(struct dlkms_device *dl, struct drm_rect r)
{
	struct drm_rect screen = DRM_RECT_INIT(0, 0, dl->width, dl->height);
	unsigned int i;

	lockdep_assert_held(&dl->queue_lock);
	if (!drm_rect_intersect(&r, &screen))
		return;
	if (dl->n_damage < DLKMS_MAX_DAMAGE) {
		dl->damage[dl->n_damage++] = r;
		return;
	}
	/* more than the worker keeps: one rectangle around all */
	for (i = 1; i < dl->n_damage; i++)
		dlkms_rect_union(&dl->damage[0], &dl->damage[i]);
	dlkms_rect_union(&dl->damage[0], &r);
	dl->n_damage = 1;
}

/*
 * Takes the cursor of @state into the queue, with the damage of where it
 * was and where it is now (once if the two overlap). @mapped: its
 * framebuffer may be read by the CPU.
 */
static void dlkms_queue_cursor(struct dlkms_device *dl, struct drm_plane_state *state,
			       bool mapped)
{
	struct dlkms_cursor *c = &dl->cursor_q;
	struct drm_shadow_plane_state *shadow = to_drm_shadow_plane_state(state);
	const struct drm_framebuffer *fb = state->fb;
	struct drm_rect old = dlkms_cursor_rect(c), new;
	const u8 *src;
	unsigned int y;

	lockdep_assert_held(&dl->queue_lock);
	c->visible = mapped && state->visible && fb && !shadow->data[0].is_iomem;
	if (c->visible) {
		c->x = state->dst.x1;
		c->y = state->dst.y1;
		c->width = drm_rect_width(&state->dst);
		c->height = drm_rect_height(&state->dst);
		src = (const u8 *)shadow->data[0].vaddr +
		      (state->src.y1 >> 16) * fb->pitches[0] + (state->src.x1 >> 16) * 4;
		for (y = 0; y < c->height; y++)
			memcpy(c->image + y * c->width, src + y * fb->pitches[0],
			       c->width * 4);
	}
	new = dlkms_cursor_rect(c);
	if (drm_rect_visible(&old) && drm_rect_visible(&new) &&
	    old.x1 < new.x2 && new.x1 < old.x2 && old.y1 < new.y2 && new.y1 < old.y2) {
		dlkms_rect_union(&old, &new);
		new = (struct drm_rect){ };
	}
	if (drm_rect_visible(&old))
		dlkms_damage_add(dl, old);
	if (drm_rect_visible(&new))
		dlkms_damage_add(dl, new);
}

static bool dlkms_cursor_begin(struct drm_plane_state *state)
{
	return state->visible && state->fb &&
	       !drm_gem_fb_begin_cpu_access(state->fb, DMA_FROM_DEVICE);
}

/*
 * Queues what a commit changed. Called from the CRTC's atomic_flush, in
 * the commit tail, while the framebuffers of the planes in the commit are
 * mapped: nothing is allocated or mapped here, the primary plane's
 * picture was when the commit prepared its planes (dlkms_src_new()).
 */
void dlkms_render_queue(struct dlkms_device *dl, struct dlkms_atomic_state *state)
{
	struct drm_crtc_state *crtc_state = drm_atomic_get_new_crtc_state(state, &dl->crtc);
	struct drm_plane_state *primary, *old_primary, *cursor;
	struct drm_atomic_helper_damage_iter iter;
	struct dlkms_src *src = NULL, *old_src;
	struct drm_rect clip;
	bool cmapped = false;

	primary = drm_atomic_get_new_plane_state(state, &dl->primary);
	old_primary = drm_atomic_get_old_plane_state(state, &dl->primary);
	cursor = drm_atomic_get_new_plane_state(state, &dl->cursor_plane);
	if (!crtc_state || !crtc_state->active)
		return;

	if (!dlkms_hw_present(dl)) {
		/* nothing will be sent: let go of the framebuffer held for it */
		mutex_lock(&dl->queue_lock);
		old_src = dl->src;
		dl->src = NULL;
		mutex_unlock(&dl->queue_lock);
		dlkms_src_put(old_src);
		return;
	}

	if (primary) {
		src = to_dlkms_plane_state(primary)->src;
		if (src)
			kref_get(&src->ref);
	}
	if (cursor)
		cmapped = dlkms_cursor_begin(cursor);

	mutex_lock(&dl->queue_lock);
	old_src = NULL;
	if (primary) {
		old_src = dl->src;
		dl->src = src;
		atomic_inc(&dl->pictures);
		if (primary->visible) {
			int dx, dy;

			dlkms_plane_offset(primary, &dx, &dy);
			drm_atomic_helper_damage_iter_init(&iter, old_primary, primary);
			drm_atomic_for_each_plane_damage(&iter, &clip) {
				drm_rect_translate(&clip, -dx, -dy);
				dlkms_damage_add(dl, clip);
			}
		} else if (old_primary->visible) {
			/* the plane went away: black where it was */
			dlkms_damage_add(dl, DRM_RECT_INIT(0, 0, dl->width, dl->height));
		}
	}
	if (cursor)
		dlkms_queue_cursor(dl, cursor, cmapped);
	atomic_inc(&dl->queued);
	mutex_unlock(&dl->queue_lock);

	if (cmapped)
		drm_gem_fb_end_cpu_access(cursor->fb, DMA_FROM_DEVICE);
	dlkms_src_put(old_src);
	queue_work(dl->render_wq, &dl->render_work);
}

/*
 * An asynchronous cursor update (legacy cursor ioctls): @state is the
 * cursor plane's current state, already updated in place.
 */
void dlkms_render_queue_cursor(struct dlkms_device *dl, struct drm_plane_state *state)
{
	bool mapped = dlkms_cursor_begin(state);

	mutex_lock(&dl->queue_lock);
	dlkms_queue_cursor(dl, state, mapped);
	atomic_inc(&dl->queued);
	mutex_unlock(&dl->queue_lock);
	if (mapped)
		drm_gem_fb_end_cpu_access(state->fb, DMA_FROM_DEVICE);
	queue_work(dl->render_wq, &dl->render_work);
}

/* The queued cursor becomes the one composed: its pixels, not the buffer. */
static void dlkms_cursor_take(struct dlkms_cursor *to, const struct dlkms_cursor *from)
{
	u32 *image = to->image;

	*to = *from;
	to->image = image;
	if (from->visible)
		memcpy(to->image, from->image, (size_t)from->width * from->height * 4);
}

/*
 * Sends rectangles @rects of @src's picture; under render_lock. @seq: the
 * pictures queued when the pass took it in (@dl->pictures), or -1 when
 * nothing may supersede it.
 */
static void dlkms_render(struct dlkms_device *dl, struct dlkms_src *src,
			 struct drm_rect *rects, unsigned int n, int seq)
{
	struct dlkms_tx tx = { .dl = dl, .seq = seq };
	struct dlkms_scanout so = { .width = dl->width, .height = dl->height };
	bool access = false;
	unsigned int i;
	ktime_t start;

	start = ktime_get();
	if (src && !drm_gem_fb_begin_cpu_access(src->fb, DMA_FROM_DEVICE)) {
		access = true;
		so.fb = src->fb;
		so.vaddr = src->data[0].vaddr;
		so.dx = src->dx;
		so.dy = src->dy;
	}

	if (dl->shadow16 && !dl->shadow_valid) {
		/* the device's memory is unknown: all of it, once, whatever comes */
		struct drm_rect all = DRM_RECT_INIT(0, 0, so.width, so.height);

		tx.seq = -1;
		dlkms_render_rect(dl, &tx, &so, &all);
	} else {
		for (i = 0; i < n; i++) {
			if (!dlkms_render_rect(dl, &tx, &so, &rects[i])) {
				dlkms_requeue(dl, &rects[i], n - i);
				atomic64_inc(&dl->stats.superseded);
				break;
			}
		}
	}
	dlkms_tx_flush(&tx);
	/* what did not arrive must not be taken as the device's content */
	dl->shadow_valid = dl->shadow16 && !tx.err;

	if (access)
		drm_gem_fb_end_cpu_access(src->fb, DMA_FROM_DEVICE);
	atomic64_inc(&dl->stats.frames);
	atomic64_add(ktime_to_ns(ktime_sub(ktime_get(), start)), &dl->stats.render_ns);
	if (READ_ONCE(dl->crc_enabled) && tx.y1 < tx.y2)
		dlkms_crc_update(dl, tx.y1, tx.y2);
}

/* tries, RESYNC_RETRY_MS apart, before a resync waits for the next commit */
#define DLKMS_RESYNC_TRIES	10
#define DLKMS_RESYNC_RETRY_MS	200

/*
 * Gives the device what it lost (see enum dlkms_resync): the channel key,
 * the registers and -- by making the shadow untrue -- every pixel with the
 * pass that follows. Under render_lock, in a hardware section with the
 * device ready. False: it did not take them, and a retry is scheduled.
 * A resync that cannot complete is bounded: after the last try it waits
 * for the next commit, with the device's picture out of date.
 */
static bool dlkms_resync(struct dlkms_device *dl)
{
	int ret;

	/* the rest of a command cut at a sleep: the device reads it first */
	ret = dlkms_send_owed(dl);
	if (!ret && dl->resync == DLKMS_RESYNC_NONE)
		return true;
	if (!ret && dl->resync == DLKMS_RESYNC_CHANNEL) {
		ret = dlkms_usb_select_channel(dl);
		if (!ret)
			dl->resync = DLKMS_RESYNC_REGS;
	}
	if (!ret && dl->regs_len)
		ret = dlkms_send(dl, dl->regs, dl->regs_len);
	if (!ret) {
		dl->resync = DLKMS_RESYNC_NONE;
		dl->resync_tries = 0;
		dl->shadow_valid = false;
		return true;
	}
	/*
	 * Once the tries have run out (said once, when they did), each
	 * commit tries once more, with no retry and no line: an adapter that
	 * refuses its channel or stopped draining must not get a line for
	 * every commit. A resync that works, or one asked for afresh (a
	 * wake-up, the end of a stall), counts anew.
	 */
	if (dl->resync_tries >= DLKMS_RESYNC_TRIES)
		return false;
	if (++dl->resync_tries < DLKMS_RESYNC_TRIES)
		mod_delayed_work(dl->render_wq, &dl->resync_retry,
				 msecs_to_jiffies(DLKMS_RESYNC_RETRY_MS));
	else
		drm_err(&dl->drm, "the adapter did not take its state back (%d); it shows nothing new until the next commit\n",
			ret);
	return false;
}

static void dlkms_resync_retry(struct work_struct *work)
{
	struct dlkms_device *dl = container_of(to_delayed_work(work), struct dlkms_device,
					       resync_retry);

	queue_work(dl->render_wq, &dl->render_work);
}

/* One render pass: what is queued now, the latest state for all damage. */
static void dlkms_render_work(struct work_struct *work)
{
	struct dlkms_device *dl = container_of(work, struct dlkms_device, render_work);
	struct drm_rect rects[DLKMS_MAX_DAMAGE];
	struct dlkms_src *src;
	unsigned int n;
	int seq, pictures, idx;

	mutex_lock(&dl->render_lock);
	mutex_lock(&dl->queue_lock);
	n = dl->n_damage;
	memcpy(rects, dl->damage, n * sizeof(*rects));
	dl->n_damage = 0;
	src = dl->src;
	if (src)
		kref_get(&src->ref);
	if (n)
		dlkms_cursor_take(&dl->cursor, &dl->cursor_q);
	seq = atomic_read(&dl->queued);
	pictures = atomic_read(&dl->pictures);
	mutex_unlock(&dl->queue_lock);

	/* a resync leaves the shadow untrue: all of the picture goes */
	idx = dlkms_hw_enter(dl);
	if (dlkms_hw_ready(dl) && dlkms_resync(dl) && dl->active &&
	    (n || (dl->shadow16 && !dl->shadow_valid)))
		dlkms_render(dl, src, rects, n, pictures);
	dlkms_hw_exit(dl, idx);
	atomic_set(&dl->rendered, seq);
	mutex_unlock(&dl->render_lock);
	dlkms_src_put(src);
}

/*
 * Waits for a render pass in flight, drops what is queued and says what
 * the queue is for from now: @mode, or NULL when the CRTC goes off, which
 * also lets go of the framebuffer held (returned, to put after the
 * unlock). Returns with render_lock held; see dlkms_render_unlock_send().
 */
static struct dlkms_src *dlkms_render_lock_idle(struct dlkms_device *dl,
						const struct drm_display_mode *mode)
{
	struct dlkms_src *src = NULL;

	mutex_lock(&dl->render_lock);
	mutex_lock(&dl->queue_lock);
	dl->n_damage = 0;
	dl->active = !!mode;
	if (mode) {
		dl->width = mode->hdisplay;
		dl->height = mode->vdisplay;
	} else {
		src = dl->src;
		dl->src = NULL;
	}
	atomic_set(&dl->rendered, atomic_read(&dl->queued));
	mutex_unlock(&dl->queue_lock);
	return src;
}

/*
 * Makes @cmds the registers the device is to hold and sends them, after all
 * that was rendered, and with @clear a black frame after them; then lets
 * the worker go on. A device asleep gets them at wake-up.
 */
static void dlkms_render_unlock_send(struct dlkms_device *dl, const u8 *cmds, size_t len,
				     bool clear)
{
	int idx;

	memcpy(dl->regs, cmds, len);
	dl->regs_len = len;
	dl->resync = max(dl->resync, DLKMS_RESYNC_REGS);
	idx = dlkms_hw_enter(dl);
	if (dlkms_hw_ready(dl) && dlkms_resync(dl) && clear)
		dlkms_render(dl, NULL, NULL, 0, -1);
	dlkms_hw_exit(dl, idx);
	mutex_unlock(&dl->render_lock);
}

/*
 * A new mode: the device's memory holds nothing known. The @len bytes of
 * @cmds (the mode registers) go out before any pixel of it, then a black
 * frame (a few bytes a line), which makes the memory known before the
 * first picture: the monitor shows black rather than what the memory held
 * while that picture streams in, and every picture after the mode set
 * goes out as its difference from black, whatever part of it a client had
 * drawn when the first pass ran (fbcon draws while the fbdev client
 * commits), so the same picture always costs the same bytes.
 */
void dlkms_render_mode_set(struct dlkms_device *dl, const struct drm_display_mode *mode,
			   const u8 *cmds, size_t len)
{
	size_t px = (size_t)mode->hdisplay * mode->vdisplay;

	dlkms_render_lock_idle(dl, mode);
	dl->shadow_valid = false;
	/* sized at init for every mode the adapter takes (dlkms_shadow_alloc()) */
	dl->shadow16 = px * dl->bpp / 8 <= dl->shadow_size ? dl->shadow_mem : NULL;
	dl->shadow8 = dl->shadow16 && dl->bpp == 24 ? (u8 *)(dl->shadow16 + px) : NULL;
	dl->shadow_width = dl->shadow16 ? mode->hdisplay : 0;
	dl->shadow_height = dl->shadow16 ? mode->vdisplay : 0;
	dlkms_render_unlock_send(dl, cmds, len, true);
}

/* The CRTC goes off: nothing more is sent, @cmds (blanking) last. */
void dlkms_render_disable(struct dlkms_device *dl, const u8 *cmds, size_t len)
{
	struct dlkms_src *src = dlkms_render_lock_idle(dl, NULL);

	dlkms_render_unlock_send(dl, cmds, len, false);
	dlkms_src_put(src);
}

/*
 * The device may have lost @what (power management, dlkms_drv.c): the next
 * pass gives it back before anything else.
 */
void dlkms_render_invalidate(struct dlkms_device *dl, enum dlkms_resync what)
{
	mutex_lock(&dl->render_lock);
	dl->resync = max(dl->resync, what);
	dl->resync_tries = 0;
	mutex_unlock(&dl->render_lock);
}

/* A pass that sends the whole picture (after dlkms_render_invalidate()). */
void dlkms_render_refresh(struct dlkms_device *dl)
{
	mutex_lock(&dl->queue_lock);
	if (dl->active)
		dlkms_damage_add(dl, DRM_RECT_INIT(0, 0, dl->width, dl->height));
	atomic_inc(&dl->queued);
	mutex_unlock(&dl->queue_lock);
	queue_work(dl->render_wq, &dl->render_work);
}

/* True while queued changes are not sent yet: the CRC would be stale. */
bool dlkms_render_busy(struct dlkms_device *dl)
{
	return atomic_read(&dl->rendered) != atomic_read(&dl->queued);
}

/*
 * The shadow, for the largest mode the adapter takes (its vendor
 * descriptor's pixel area, within the modes dlkms_modeset.c accepts): a
 * mode set happens in the commit tail, which must not allocate. Without
 * it (no memory) every pass sends all of its damage, as udl does.
 */
static void dlkms_shadow_alloc(struct dlkms_device *dl)
{
	size_t px = min_t(size_t, dl->pixel_limit, DLKMS_MAX_WIDTH * DLKMS_MAX_HEIGHT);

	dl->shadow_mem = kvmalloc(px * dl->bpp / 8, GFP_KERNEL | __GFP_NOWARN);
	dl->shadow_size = dl->shadow_mem ? px * dl->bpp / 8 : 0;
	if (!dl->shadow_mem)
		drm_warn(&dl->drm, "no memory for the shadow of the device's memory; every update is sent whole\n");
}

static void dlkms_render_fini(struct drm_device *drm, void *unused)
{
	struct dlkms_device *dl = to_dlkms(drm);

	cancel_delayed_work_sync(&dl->resync_retry);
	cancel_work_sync(&dl->render_work);
	destroy_workqueue(dl->render_wq);
	dlkms_src_put(dl->src);
	kvfree(dl->shadow_mem);
	kvfree(dl->cursor.image);
	kvfree(dl->cursor_q.image);
}

int dlkms_render_init(struct dlkms_device *dl)
{
	struct drm_device *drm = &dl->drm;
	unsigned int w = DLKMS_MAX_WIDTH;
	int ret;

	ret = drmm_mutex_init(drm, &dl->render_lock);
	if (ret)
		return ret;
	ret = drmm_mutex_init(drm, &dl->queue_lock);
	if (ret)
		return ret;
	INIT_WORK(&dl->render_work, dlkms_render_work);
	INIT_DELAYED_WORK(&dl->resync_retry, dlkms_resync_retry);

	dl->line32 = drmm_kcalloc(drm, w, sizeof(*dl->line32), GFP_KERNEL);
	dl->line16 = drmm_kcalloc(drm, w, sizeof(*dl->line16), GFP_KERNEL);
	dl->line8 = drmm_kcalloc(drm, w, sizeof(*dl->line8), GFP_KERNEL);
	dl->crc_lines = drmm_kcalloc(drm, DLKMS_MAX_HEIGHT, sizeof(*dl->crc_lines), GFP_KERNEL);
	if (!dl->line32 || !dl->line16 || !dl->line8 || !dl->crc_lines)
		return -ENOMEM;
	/* a line each, for any mode: the search allocates nothing in a pass */
	dl->scroll_hold = drmm_kcalloc(drm, DLKMS_MAX_HEIGHT, sizeof(u64), GFP_KERNEL);
	dl->scroll_hnew = drmm_kcalloc(drm, DLKMS_MAX_HEIGHT, sizeof(u64), GFP_KERNEL);
	dl->scroll_pold = drmm_kcalloc(drm, DLKMS_MAX_HEIGHT, sizeof(u64), GFP_KERNEL);
	dl->scroll_take = drmm_kzalloc(drm, DLKMS_MAX_HEIGHT, GFP_KERNEL);
	if (!dl->scroll_hold || !dl->scroll_hnew || !dl->scroll_pold || !dl->scroll_take)
		return -ENOMEM;
	dlkms_shadow_alloc(dl);
	/* 256 KiB each: not necessarily contiguous */
	dl->cursor.image = kvmalloc_array(DLKMS_CURSOR_MAX * DLKMS_CURSOR_MAX,
					  sizeof(u32), GFP_KERNEL);
	dl->cursor_q.image = kvmalloc_array(DLKMS_CURSOR_MAX * DLKMS_CURSOR_MAX,
					    sizeof(u32), GFP_KERNEL);
	if (!dl->cursor.image || !dl->cursor_q.image)
		goto err_cursor;
	/*
	 * Unbound and ordered: a pass may compose for longer than a frame.
	 * Its release runs before that of the buffers above, which a pass
	 * still running would use.
	 */
	dl->render_wq = alloc_ordered_workqueue("dlkms-render", 0);
	if (!dl->render_wq)
		goto err_cursor;
	return drmm_add_action_or_reset(drm, dlkms_render_fini, NULL);

err_cursor:
	kvfree(dl->shadow_mem);
	kvfree(dl->cursor.image);
	kvfree(dl->cursor_q.image);
	return -ENOMEM;
}
