// SPDX-License-Identifier: GPL-2.0-only
/*
 * What goes on the wire: the damaged rectangles of a commit, composed from
 * the primary plane and the software cursor, converted to the device's
 * planes (RGB565, plus the low bits in 24-bpp mode) and encoded as RLX
 * commands into bulk URBs filled back to back.
 *
 * Copyright (C) 2026 dlkms developers
 */

#include <linux/dma-direction.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/string.h>

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

/* A run of URBs being filled; one per commit. */
struct dlkms_tx {
	struct dlkms_device *dl;
	struct urb *urb;
	size_t pos;
	int err;
	int y1, y2;			/* the lines sent, for the CRC source */
};

/* The primary plane as this commit scans it out. */
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

/* Encodes @n pixels of one plane at device address @addr. */
static void dlkms_tx_span(struct dlkms_tx *tx, bool low8, u32 addr,
			  const void *px, unsigned int n)
{
	struct dlkms_device *dl = tx->dl;
	unsigned int sent = 0, done;
	u8 *buf;
	size_t len;

	while (sent < n && !tx->err) {
		if (!tx->urb) {
			tx->urb = dlkms_urb_get(dl);
			if (!tx->urb) {
				tx->err = -ENODEV;
				return;
			}
			tx->pos = 0;
		}
		buf = (u8 *)tx->urb->transfer_buffer + tx->pos;
		len = dl->urb_size - tx->pos;
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
 * Unchanged pixels inside a changed span cost about a byte each in RLX; a
 * new command costs 7. Gaps longer than this split the span.
 */
#define DLKMS_GAP	8

static __always_inline u32 dlkms_px(const void *p, unsigned int cpp, unsigned int i)
{
	return cpp == 2 ? ((const u16 *)p)[i] : ((const u8 *)p)[i];
}

/*
 * The next span [*a, *b) from *pos on where @cur differs from @old, with
 * no more than DLKMS_GAP equal pixels inside it. False when none is left.
 */
static __always_inline bool dlkms_next_change(const void *cur, const void *old,
					      unsigned int cpp, unsigned int n,
					      unsigned int *pos, unsigned int *a,
					      unsigned int *b)
{
	unsigned int i = *pos, same = 0;

	while (i < n && dlkms_px(cur, cpp, i) == dlkms_px(old, cpp, i))
		i++;
	if (i == n)
		return false;
	*a = i;
	*b = ++i;
	for (; i < n && same <= DLKMS_GAP; i++) {
		if (dlkms_px(cur, cpp, i) == dlkms_px(old, cpp, i)) {
			same++;
		} else {
			same = 0;
			*b = i + 1;
		}
	}
	*pos = *b;
	return true;
}

/*
 * Sends the @n pixels of one plane's line segment at pixel offset @off:
 * all of it, or with @trim only what differs from the shadow. Trimming
 * pays where damage is coarse (no damage clips: page flips, whole-frame
 * flushes); exact clips are sent as they are, which saves the comparison.
 */
static void dlkms_tx_line(struct dlkms_tx *tx, bool low8, bool trim, u32 addr,
			  const void *px, void *shadow, unsigned int n)
{
	unsigned int cpp = low8 ? 1 : 2, pos = 0, a, b;

	if (!shadow) {
		dlkms_tx_span(tx, low8, addr, px, n);
		return;
	}
	if (!trim || !tx->dl->shadow_valid) {
		dlkms_tx_span(tx, low8, addr, px, n);
	} else if (low8) {
		while (!tx->err && dlkms_next_change(px, shadow, 1, n, &pos, &a, &b))
			dlkms_tx_span(tx, true, addr + a, (const u8 *)px + a, b - a);
	} else {
		while (!tx->err && dlkms_next_change(px, shadow, 2, n, &pos, &a, &b))
			dlkms_tx_span(tx, false, addr + 2 * a, (const u16 *)px + a, b - a);
	}
	memcpy(shadow, px, n * cpp);
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
			for (i = 0; i < n; i++)
				out[i] = s[i] & 0xffffff;
		}
	}

	if (c->visible && y >= c->y && y < c->y + (int)c->height) {
		int cx1 = max(x1, c->x), cx2 = min(x2, c->x + (int)c->width);
		const u32 *cp = c->image + (y - c->y) * DLKMS_CURSOR_SIZE;
		int x;

		for (x = cx1; x < cx2; x++)
			out[x - x1] = dlkms_blend(cp[x - c->x], out[x - x1]);
	}
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
	} else {
		const u32 *s = (const u32 *)src + x1 + so->dx;

		for (i = 0; i < n; i++)
			dl->line16[i] = dl_xrgb_to_565(s[i]);
	}
	return true;
}

/* Composes, converts and encodes the CRTC rectangle @r. */
static void dlkms_render_rect(struct dlkms_device *dl, struct dlkms_tx *tx,
			      const struct dlkms_scanout *so, struct drm_rect r, bool trim)
{
	struct drm_rect screen = DRM_RECT_INIT(0, 0, so->width, so->height);
	u32 base8 = 2 * so->width * so->height;
	unsigned int n, i;
	int y;

	if (!drm_rect_intersect(&r, &screen))
		return;
	if (tx->y1 >= tx->y2) {
		tx->y1 = r.y1;
		tx->y2 = r.y2;
	} else {
		tx->y1 = min(tx->y1, r.y1);
		tx->y2 = max(tx->y2, r.y2);
	}
	n = drm_rect_width(&r);
	for (y = r.y1; y < r.y2 && !tx->err; y++) {
		u32 off = y * so->width + r.x1;

		if (!dlkms_fast_line(dl, so, y, r.x1, r.x2)) {
			dlkms_compose_line(dl, so, y, r.x1, r.x2);
			for (i = 0; i < n; i++)
				dl->line16[i] = dl_xrgb_to_565(dl->line32[i]);
		}
		dlkms_tx_line(tx, false, trim, 2 * off, dl->line16,
			      dl->shadow16 ? dl->shadow16 + off : NULL, n);
		if (dl->bpp == 24) {
			for (i = 0; i < n; i++)
				dl->line8[i] = dl_xrgb_to_low8(dl->line32[i]);
			dlkms_tx_line(tx, true, trim, base8 + off, dl->line8,
				      dl->shadow8 ? dl->shadow8 + off : NULL, n);
		}
	}
	atomic64_inc(&dl->stats.rects);
	atomic64_add((u64)n * drm_rect_height(&r), &dl->stats.pixels);
}

static struct drm_rect dlkms_cursor_rect(const struct dlkms_cursor *c)
{
	if (!c->visible)
		return (struct drm_rect){ };
	return DRM_RECT_INIT(c->x, c->y, c->width, c->height);
}

/* Takes the cursor of this commit into dl->cursor. */
static void dlkms_cursor_update(struct dlkms_device *dl, struct drm_plane_state *state)
{
	struct dlkms_cursor *c = &dl->cursor;
	struct drm_shadow_plane_state *shadow = to_drm_shadow_plane_state(state);
	const struct drm_framebuffer *fb = state->fb;
	const u8 *src;
	unsigned int y;

	c->visible = state->visible && fb && !shadow->data[0].is_iomem;
	if (!c->visible)
		return;
	c->x = state->dst.x1;
	c->y = state->dst.y1;
	c->width = drm_rect_width(&state->dst);
	c->height = drm_rect_height(&state->dst);
	src = (const u8 *)shadow->data[0].vaddr + fb->offsets[0] +
	      (state->src.y1 >> 16) * fb->pitches[0] + (state->src.x1 >> 16) * 4;
	for (y = 0; y < c->height; y++)
		memcpy(c->image + y * DLKMS_CURSOR_SIZE, src + y * fb->pitches[0],
		       c->width * 4);
}

static void dlkms_scanout_init(struct dlkms_scanout *so, struct drm_plane_state *state,
			       const struct drm_display_mode *mode)
{
	struct drm_shadow_plane_state *shadow = to_drm_shadow_plane_state(state);

	memset(so, 0, sizeof(*so));
	so->width = mode->hdisplay;
	so->height = mode->vdisplay;
	if (!state->visible || !state->fb || shadow->data[0].is_iomem)
		return;
	so->fb = state->fb;
	so->vaddr = (const u8 *)shadow->data[0].vaddr + state->fb->offsets[0];
	so->dx = (state->src.x1 >> 16) - state->dst.x1;
	so->dy = (state->src.y1 >> 16) - state->dst.y1;
}

/*
 * Sends what this commit changed. Called from the CRTC's atomic_flush,
 * while the framebuffers of the planes in the commit are mapped.
 */
void dlkms_render_commit(struct dlkms_device *dl, struct dlkms_atomic_state *state)
{
	struct drm_crtc_state *crtc_state = drm_atomic_get_new_crtc_state(state, &dl->crtc);
	struct drm_plane_state *primary, *old_primary, *cursor;
	struct drm_atomic_helper_damage_iter iter;
	struct drm_framebuffer *pfb = NULL, *cfb = NULL;
	struct dlkms_tx tx = { .dl = dl };
	struct drm_rect old_cursor, new_cursor, clip;
	struct dlkms_scanout so;
	ktime_t start;
	int idx;

	primary = drm_atomic_get_new_plane_state(state, &dl->primary);
	old_primary = drm_atomic_get_old_plane_state(state, &dl->primary);
	cursor = drm_atomic_get_new_plane_state(state, &dl->cursor_plane);
	if (!crtc_state || !crtc_state->active || !primary)
		return;

	mutex_lock(&dl->render_lock);
	idx = dlkms_hw_enter(dl);
	if (!dlkms_hw_present(dl))
		goto out;
	start = ktime_get();

	dlkms_scanout_init(&so, primary, &crtc_state->mode);
	if (so.fb && !drm_gem_fb_begin_cpu_access(primary->fb, DMA_FROM_DEVICE))
		pfb = primary->fb;
	else
		so.vaddr = NULL;

	old_cursor = dlkms_cursor_rect(&dl->cursor);
	if (cursor) {
		if (cursor->visible && cursor->fb &&
		    !drm_gem_fb_begin_cpu_access(cursor->fb, DMA_FROM_DEVICE))
			cfb = cursor->fb;
		dlkms_cursor_update(dl, cursor);
		if (!cfb)
			dl->cursor.visible = false;
	}
	new_cursor = dlkms_cursor_rect(&dl->cursor);

	if (dl->shadow16 && !dl->shadow_valid) {
		/* the device's memory is unknown: all of it, once */
		dlkms_render_rect(dl, &tx, &so, DRM_RECT_INIT(0, 0, so.width, so.height), false);
		cursor = NULL;
	} else if (!to_dlkms_crtc_state(crtc_state)->primary_unchanged) {
		/* no clips: the whole plane is damage, and worth comparing */
		bool trim = !drm_plane_get_damage_clips_count(primary);

		drm_atomic_helper_damage_iter_init(&iter, old_primary, primary);
		drm_atomic_for_each_plane_damage(&iter, &clip) {
			drm_rect_translate(&clip, -so.dx, -so.dy);
			dlkms_render_rect(dl, &tx, &so, clip, trim);
		}
	}
	if (cursor) {
		/* where the cursor was and where it is, once if they overlap */
		if (drm_rect_visible(&old_cursor) && drm_rect_visible(&new_cursor) &&
		    old_cursor.x1 < new_cursor.x2 && new_cursor.x1 < old_cursor.x2 &&
		    old_cursor.y1 < new_cursor.y2 && new_cursor.y1 < old_cursor.y2) {
			old_cursor.x1 = min(old_cursor.x1, new_cursor.x1);
			old_cursor.y1 = min(old_cursor.y1, new_cursor.y1);
			old_cursor.x2 = max(old_cursor.x2, new_cursor.x2);
			old_cursor.y2 = max(old_cursor.y2, new_cursor.y2);
			new_cursor = (struct drm_rect){ };
		}
		if (drm_rect_visible(&old_cursor))
			dlkms_render_rect(dl, &tx, &so, old_cursor, false);
		if (drm_rect_visible(&new_cursor))
			dlkms_render_rect(dl, &tx, &so, new_cursor, false);
	}
	dlkms_tx_flush(&tx);
	/* what did not arrive must not be taken as the device's content */
	dl->shadow_valid = dl->shadow16 && !tx.err;

	if (cfb)
		drm_gem_fb_end_cpu_access(cfb, DMA_FROM_DEVICE);
	if (pfb)
		drm_gem_fb_end_cpu_access(pfb, DMA_FROM_DEVICE);
	atomic64_inc(&dl->stats.frames);
	atomic64_add(ktime_to_ns(ktime_sub(ktime_get(), start)), &dl->stats.render_ns);
	if (READ_ONCE(dl->crc_enabled) && tx.y1 < tx.y2)
		dlkms_crc_update(dl, tx.y1, tx.y2);
out:
	dlkms_hw_exit(dl, idx);
	mutex_unlock(&dl->render_lock);
}

/*
 * A new mode: the device's memory holds nothing known. The shadow is
 * sized for it here, where a failed allocation only costs bandwidth.
 */
void dlkms_render_mode_set(struct dlkms_device *dl, const struct drm_display_mode *mode)
{
	size_t px = (size_t)mode->hdisplay * mode->vdisplay;
	size_t size = px * dl->bpp / 8;

	mutex_lock(&dl->render_lock);
	dl->shadow_valid = false;
	if (size != dl->shadow_size) {
		kvfree(dl->shadow16);
		/* on failure (kvmalloc warns), whole frames go out: see dlkms_tx_line() */
		dl->shadow16 = kvmalloc(size, GFP_KERNEL);
		dl->shadow_size = dl->shadow16 ? size : 0;
	}
	dl->shadow8 = dl->shadow16 && dl->bpp == 24 ? (u8 *)(dl->shadow16 + px) : NULL;
	dl->shadow_width = dl->shadow16 ? mode->hdisplay : 0;
	dl->shadow_height = dl->shadow16 ? mode->vdisplay : 0;
	mutex_unlock(&dl->render_lock);
}

static void dlkms_render_fini(struct drm_device *drm, void *unused)
{
	kvfree(to_dlkms(drm)->shadow16);
}

int dlkms_render_init(struct dlkms_device *dl)
{
	struct drm_device *drm = &dl->drm;
	unsigned int w = DLKMS_MAX_WIDTH;
	int ret;

	ret = drmm_mutex_init(drm, &dl->render_lock);
	if (ret)
		return ret;

	dl->line32 = drmm_kcalloc(drm, w, sizeof(*dl->line32), GFP_KERNEL);
	dl->line16 = drmm_kcalloc(drm, w, sizeof(*dl->line16), GFP_KERNEL);
	dl->line8 = drmm_kcalloc(drm, w, sizeof(*dl->line8), GFP_KERNEL);
	dl->crc_lines = drmm_kcalloc(drm, DLKMS_MAX_HEIGHT, sizeof(*dl->crc_lines), GFP_KERNEL);
	if (!dl->line32 || !dl->line16 || !dl->line8 || !dl->crc_lines)
		return -ENOMEM;
	return drmm_add_action_or_reset(drm, dlkms_render_fini, NULL);
}
