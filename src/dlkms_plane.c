// SPDX-License-Identifier: GPL-2.0-only
/*
 * Planes of dlkms: a full-screen primary plane and a cursor plane. The
 * device has one framebuffer and no overlay, so both are shadow-buffered
 * shmem GEM read by the CPU and composed into what goes on the wire
 * (dlkms_render.c); the planes themselves validate, the primary plane's
 * state holds its picture for the render worker, and the cursor takes
 * legacy cursor updates asynchronously.
 *
 * Copyright (C) 2026 dlkms developers
 */

#include <drm/drm_atomic.h>
#include <drm/drm_atomic_helper.h>
#include <drm/drm_damage_helper.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_gem_atomic_helper.h>
#include <drm/drm_modeset_helper_vtables.h>

#include "dlkms_drv.h"

/* composed by the CPU: a byte order is one more case of a loop */
static const u32 dlkms_primary_formats[] = {
	DRM_FORMAT_XRGB8888,
	DRM_FORMAT_ARGB8888,	/* scanned out opaque, as the device has no alpha */
	DRM_FORMAT_XBGR8888,
	DRM_FORMAT_ABGR8888,
	DRM_FORMAT_RGB565,
};

static const u32 dlkms_cursor_formats[] = {
	DRM_FORMAT_ARGB8888,
};

static const u16 dlkms_cursor_sizes[] = { 64, 128, DLKMS_CURSOR_MAX };

static const u64 dlkms_plane_modifiers[] = {
	DRM_FORMAT_MOD_LINEAR,
	DRM_FORMAT_MOD_INVALID
};

static int dlkms_primary_plane_helper_atomic_check(struct drm_plane *plane,
						   struct dlkms_atomic_state *state)
{
	struct drm_plane_state *new_state = drm_atomic_get_new_plane_state(state, plane);
	struct drm_crtc_state *crtc_state = NULL;

	if (new_state->crtc)
		crtc_state = drm_atomic_get_new_crtc_state(state, new_state->crtc);

	/*
	 * The device scans out one full-screen plane: no scaling, no offset.
	 * A plane may keep its framebuffer while its CRTC is off.
	 */
	return drm_atomic_helper_check_plane_state(new_state, crtc_state,
						   DRM_PLANE_NO_SCALING,
						   DRM_PLANE_NO_SCALING,
						   false, true);
}

static int dlkms_cursor_plane_helper_atomic_check(struct drm_plane *plane,
						  struct dlkms_atomic_state *state)
{
	struct drm_plane_state *new_state = drm_atomic_get_new_plane_state(state, plane);
	struct drm_crtc_state *crtc_state = NULL;
	int ret;

	if (new_state->crtc)
		crtc_state = drm_atomic_get_new_crtc_state(state, new_state->crtc);

	ret = drm_atomic_helper_check_plane_state(new_state, crtc_state,
						  DRM_PLANE_NO_SCALING,
						  DRM_PLANE_NO_SCALING,
						  true, true);
	if (ret || !new_state->visible)
		return ret;
	/* composed from a copy of this size at most, see struct dlkms_cursor */
	if (drm_rect_width(&new_state->src) >> 16 > DLKMS_CURSOR_MAX ||
	    drm_rect_height(&new_state->src) >> 16 > DLKMS_CURSOR_MAX)
		return -EINVAL;
	return 0;
}

/*
 * Nothing to program per plane: the CRTC's flush queues both planes for
 * the one stream the device takes. The helpers require the hook.
 */
static void dlkms_plane_helper_atomic_update(struct drm_plane *plane,
					     struct dlkms_atomic_state *state)
{
}

/*
 * Legacy cursor ioctls move the cursor at once rather than after a page
 * flip in flight: its pixels are composed in software from a copy, so an
 * update only queues that copy and its damage. Not while the CRTC is off
 * or changes mode, which the synchronous path orders.
 */
static int dlkms_cursor_async_check(DLKMS_ASYNC_CHECK_PARAMS)
{
	struct drm_plane_state *new_state = drm_atomic_get_new_plane_state(state, plane);
	struct drm_crtc_state *crtc_state;

	if (!new_state->crtc)
		return -EINVAL;
	crtc_state = drm_atomic_get_new_crtc_state(state, new_state->crtc);
	if (!crtc_state || !crtc_state->active)
		return -EINVAL;
	return 0;
}

static void dlkms_cursor_async_update(struct drm_plane *plane,
				      struct dlkms_atomic_state *state)
{
	struct drm_plane_state *new_state = drm_atomic_get_new_plane_state(state, plane);
	struct drm_plane_state *cur = plane->state;
	struct drm_shadow_plane_state *cur_shadow = to_drm_shadow_plane_state(cur);
	struct drm_shadow_plane_state *new_shadow = to_drm_shadow_plane_state(new_state);
	struct dlkms_device *dl = to_dlkms(plane->dev);
	unsigned int i;

	/*
	 * In place, as the helpers want; the framebuffers swap with their
	 * mappings, so that cleaning up @new_state unmaps the old one.
	 */
	swap(cur->fb, new_state->fb);
	for (i = 0; i < ARRAY_SIZE(cur_shadow->map); i++) {
		swap(cur_shadow->map[i], new_shadow->map[i]);
		swap(cur_shadow->data[i], new_shadow->data[i]);
	}
	cur->crtc_x = new_state->crtc_x;
	cur->crtc_y = new_state->crtc_y;
	cur->crtc_w = new_state->crtc_w;
	cur->crtc_h = new_state->crtc_h;
	cur->src_x = new_state->src_x;
	cur->src_y = new_state->src_y;
	cur->src_w = new_state->src_w;
	cur->src_h = new_state->src_h;
	cur->src = new_state->src;
	cur->dst = new_state->dst;
	cur->visible = new_state->visible;
	if (cur->crtc != new_state->crtc) {
		/* shown or hidden (dlkms_cursor_async_toggle): the CRTC lists its planes */
		if (new_state->crtc)
			dl->crtc.state->plane_mask |= drm_plane_mask(plane);
		else
			dl->crtc.state->plane_mask &= ~drm_plane_mask(plane);
		cur->crtc = new_state->crtc;
	}

	dlkms_render_queue_cursor(dl, cur);
}

/*
 * The helpers take a legacy cursor update asynchronously only if the
 * plane stays on its CRTC, so showing or hiding the cursor would wait for
 * a page flip in flight (a blocking commit waits for the earlier one's
 * flip). Composed in software, showing and hiding cost what a move does:
 * they go the asynchronous way too, on the helpers' other conditions
 * (the cursor plane alone, no modeset, no fence, no commit of the plane
 * still being programmed) and while the CRTC is on.
 */
void dlkms_cursor_async_toggle(struct dlkms_device *dl, struct dlkms_atomic_state *state)
{
	struct drm_plane_state *old_state, *new_state;
	struct drm_crtc_state *crtc_state;
	struct drm_plane *plane;
	int i, n = 0;

	if (!state->legacy_cursor_update || state->async_update)
		return;
	for_each_new_plane_in_state(state, plane, new_state, i)
		n++;
	old_state = drm_atomic_get_old_plane_state(state, &dl->cursor_plane);
	new_state = drm_atomic_get_new_plane_state(state, &dl->cursor_plane);
	if (n != 1 || !new_state || new_state->fence || old_state->crtc == new_state->crtc)
		return;
	crtc_state = drm_atomic_get_new_crtc_state(state, &dl->crtc);
	if (!crtc_state || !crtc_state->active || drm_atomic_crtc_needs_modeset(crtc_state))
		return;
	if (old_state->commit && !try_wait_for_completion(&old_state->commit->hw_done))
		return;
	state->async_update = true;
}

/*
 * The render worker reads the primary plane's framebuffer after the commit,
 * for as long as its picture is queued: the plane state takes the worker's
 * hold on it here, once the helpers have mapped it. Not in the commit tail,
 * where mapping takes locks a path that signals fences must not take
 * (6.1's is even interruptible), and where a failure could only blank the
 * plane; here it fails the commit. Every commit with the plane prepares
 * it, whether its framebuffer changed or not.
 */
static int dlkms_primary_begin_fb_access(struct drm_plane *plane,
					 struct drm_plane_state *plane_state)
{
	struct dlkms_plane_state *state = to_dlkms_plane_state(plane_state);
	struct dlkms_src *src;
	int ret;

	ret = dlkms_shadow_begin_fb_access(plane, plane_state);
	if (ret)
		return ret;
	src = dlkms_src_new(plane_state);
	if (IS_ERR(src)) {
		/* the helpers undo the planes prepared before, not this one */
		dlkms_shadow_end_fb_access(plane, plane_state);
		return PTR_ERR(src);
	}
	state->src = src;
	return 0;
}

/*
 * The commit is done with the state, or failed: the worker holds its own
 * reference to the picture while it is queued.
 */
static void dlkms_primary_end_fb_access(struct drm_plane *plane,
					struct drm_plane_state *plane_state)
{
	struct dlkms_plane_state *state = to_dlkms_plane_state(plane_state);

	dlkms_src_put(state->src);
	state->src = NULL;
	dlkms_shadow_end_fb_access(plane, plane_state);
}

static const struct drm_plane_helper_funcs dlkms_primary_plane_helper_funcs = {
	DLKMS_FB_ACCESS_FUNCS(dlkms_primary_begin_fb_access, dlkms_primary_end_fb_access),
	.atomic_check = dlkms_primary_plane_helper_atomic_check,
	.atomic_update = dlkms_plane_helper_atomic_update,
};

static const struct drm_plane_helper_funcs dlkms_cursor_plane_helper_funcs = {
	DRM_GEM_SHADOW_PLANE_HELPER_FUNCS,
	.atomic_check = dlkms_cursor_plane_helper_atomic_check,
	.atomic_update = dlkms_plane_helper_atomic_update,
	.atomic_async_check = dlkms_cursor_async_check,
	.atomic_async_update = dlkms_cursor_async_update,
};

/* CPU-read shmem buffers: linear only */
static bool dlkms_plane_format_mod_supported(struct drm_plane *plane, u32 format,
					     u64 modifier)
{
	return modifier == DRM_FORMAT_MOD_LINEAR;
}

static void dlkms_primary_plane_destroy_state(struct drm_plane *plane,
					      struct drm_plane_state *plane_state)
{
	struct dlkms_plane_state *state = to_dlkms_plane_state(plane_state);

	/*
	 * Still prepared: the plane's current state, which the commit that
	 * replaces it would have cleaned up, goes with the device.
	 */
	dlkms_src_put(state->src);
	__drm_gem_destroy_shadow_plane_state(&state->base);
	kfree(state);
}

static void dlkms_primary_plane_reset(struct drm_plane *plane)
{
	struct dlkms_plane_state *state;

	if (plane->state) {
		dlkms_primary_plane_destroy_state(plane, plane->state);
		plane->state = NULL;
	}
	state = kzalloc_obj(*state, GFP_KERNEL);
	if (!state)
		return;
	__drm_gem_reset_shadow_plane(plane, &state->base);
}

/*
 * Without the picture of the state it is made from: a copy is prepared
 * for its own commit, if any (TEST_ONLY and failed commits have none).
 */
static struct drm_plane_state *dlkms_primary_plane_duplicate_state(struct drm_plane *plane)
{
	struct dlkms_plane_state *state;

	if (!plane->state)
		return NULL;
	state = kzalloc_obj(*state, GFP_KERNEL);
	if (!state)
		return NULL;
	__drm_gem_duplicate_shadow_plane_state(plane, &state->base);
	return &state->base.base;
}

static const struct drm_plane_funcs dlkms_primary_plane_funcs = {
	.format_mod_supported = dlkms_plane_format_mod_supported,
	.update_plane = drm_atomic_helper_update_plane,
	.disable_plane = drm_atomic_helper_disable_plane,
	.destroy = drm_plane_cleanup,
	.reset = dlkms_primary_plane_reset,
	.atomic_duplicate_state = dlkms_primary_plane_duplicate_state,
	.atomic_destroy_state = dlkms_primary_plane_destroy_state,
};

/* the cursor's pixels are copied in the commit tail, from the helpers' mapping */
static const struct drm_plane_funcs dlkms_cursor_plane_funcs = {
	.format_mod_supported = dlkms_plane_format_mod_supported,
	.update_plane = drm_atomic_helper_update_plane,
	.disable_plane = drm_atomic_helper_disable_plane,
	.destroy = drm_plane_cleanup,
	DRM_GEM_SHADOW_PLANE_FUNCS,
};

/* True if @plane is in the commit and was or will be on the CRTC. */
static bool dlkms_plane_on_crtc(struct dlkms_atomic_state *state, struct drm_plane *plane)
{
	struct drm_plane_state *old = drm_atomic_get_old_plane_state(state, plane);
	struct drm_plane_state *new = drm_atomic_get_new_plane_state(state, plane);

	return new && (new->crtc || old->crtc);
}

/*
 * Called before the helpers' checks. The CRTC's flush queues the planes'
 * changes for the render worker, so a change of a plane that is or was on
 * the CRTC needs the CRTC in the commit (the core has normally put it
 * there already). A plane that is off and stays off concerns no CRTC:
 * adding it then would serialise the commit behind a pending flip, and
 * without ALLOW_MODESET the core warns about it.
 */
int dlkms_planes_atomic_check(struct dlkms_device *dl, struct dlkms_atomic_state *state)
{
	struct drm_crtc_state *crtc_state;

	if (!dlkms_plane_on_crtc(state, &dl->cursor_plane) &&
	    !dlkms_plane_on_crtc(state, &dl->primary))
		return 0;
	crtc_state = drm_atomic_get_crtc_state(state, &dl->crtc);
	return PTR_ERR_OR_ZERO(crtc_state);
}

int dlkms_planes_init(struct dlkms_device *dl)
{
	struct drm_device *drm = &dl->drm;
	int ret;

	ret = drm_universal_plane_init(drm, &dl->primary, 0, &dlkms_primary_plane_funcs,
				       dlkms_primary_formats,
				       ARRAY_SIZE(dlkms_primary_formats),
				       dlkms_plane_modifiers,
				       DRM_PLANE_TYPE_PRIMARY, NULL);
	if (ret)
		return ret;
	drm_plane_helper_add(&dl->primary, &dlkms_primary_plane_helper_funcs);
	drm_plane_enable_fb_damage_clips(&dl->primary);

	ret = drm_universal_plane_init(drm, &dl->cursor_plane, 0, &dlkms_cursor_plane_funcs,
				       dlkms_cursor_formats,
				       ARRAY_SIZE(dlkms_cursor_formats),
				       dlkms_plane_modifiers,
				       DRM_PLANE_TYPE_CURSOR, NULL);
	if (ret)
		return ret;
	drm_plane_helper_add(&dl->cursor_plane, &dlkms_cursor_plane_helper_funcs);
	drm->mode_config.cursor_width = DLKMS_CURSOR_MAX;
	drm->mode_config.cursor_height = DLKMS_CURSOR_MAX;
	/* any size up to the caps works; these are the usual ones */
	return dlkms_plane_add_size_hints(&dl->cursor_plane, dlkms_cursor_sizes,
					  ARRAY_SIZE(dlkms_cursor_sizes));
}
