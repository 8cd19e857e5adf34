// SPDX-License-Identifier: GPL-2.0-only
/*
 * KMS objects of dlkms: one primary plane on shadow-buffered shmem GEM,
 * one CRTC with a software vblank at the mode's refresh rate, an encoder
 * and a polled connector whose EDID comes through the adapter's DDC request.
 *
 * Copyright (C) 2026 dlkms developers
 */

#include <linux/dma-direction.h>

#include <drm/drm_atomic.h>
#include <drm/drm_atomic_helper.h>
#include <drm/drm_damage_helper.h>
#include <drm/drm_edid.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_framebuffer.h>
#include <drm/drm_gem_atomic_helper.h>
#include <drm/drm_gem_framebuffer_helper.h>
#include <drm/drm_managed.h>
#include <drm/drm_modeset_helper_vtables.h>
#include <drm/drm_probe_helper.h>
#include <drm/drm_print.h>
#include <drm/drm_vblank.h>

#include "dlkms_drv.h"
#include "dlkms_proto.h"

/*
 * Primary plane
 */

static const u32 dlkms_primary_formats[] = {
	DRM_FORMAT_XRGB8888,
	DRM_FORMAT_RGB565,
};

static const u64 dlkms_primary_modifiers[] = {
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

	/* the device scans out one full-screen plane: no scaling, no offset */
	return drm_atomic_helper_check_plane_state(new_state, crtc_state,
						   DRM_PLANE_NO_SCALING,
						   DRM_PLANE_NO_SCALING,
						   false, false);
}

static void dlkms_convert_line(struct dlkms_device *dl, const void *src,
			       const struct drm_format_info *format, unsigned int n)
{
	unsigned int i;

	if (format->format == DRM_FORMAT_RGB565) {
		memcpy(dl->line, src, n * 2);
		return;
	}
	for (i = 0; i < n; i++)
		dl->line[i] = dl_xrgb_to_565(((const u32 *)src)[i]);
}

/*
 * Encodes the damaged rectangle @clip (framebuffer coordinates) as RLX
 * commands, filling URBs back to back. A URB goes out when full; waiting
 * for a free one is the backpressure, nothing is dropped.
 */
static int dlkms_send_rect(struct dlkms_device *dl, struct drm_plane_state *state,
			   const struct iosys_map *map, const struct drm_rect *clip)
{
	struct drm_framebuffer *fb = state->fb;
	unsigned int cpp = fb->format->cpp[0];
	unsigned int width = drm_rect_width(&state->dst);
	int dx = state->src.x1 >> 16, dy = state->src.y1 >> 16;
	unsigned int n = drm_rect_width(clip), sent, done;
	struct urb *urb = NULL;
	size_t pos = 0;
	u32 addr;
	int y;

	if (map->is_iomem)
		return -EINVAL;	/* shmem GEM is system memory */

	for (y = clip->y1; y < clip->y2; y++) {
		const u8 *src = map->vaddr + fb->offsets[0] + y * fb->pitches[0] +
				clip->x1 * cpp;

		dlkms_convert_line(dl, src, fb->format, n);
		addr = ((y - dy) * width + (clip->x1 - dx)) * 2;
		for (sent = 0; sent < n; sent += done) {
			if (!urb) {
				urb = dlkms_urb_get(dl);
				if (!urb)
					return -ENODEV;
				pos = 0;
			}
			pos += dl_enc_rlx16(urb->transfer_buffer + pos, dl->urb_size - pos,
					    addr + 2 * sent, dl->line + sent, n - sent, &done);
			if (sent + done < n || dl->urb_size - pos < DL_RLX_MIN_BYTES) {
				/* full: send it and continue in the next one */
				if (pos)
					dlkms_urb_submit(dl, urb, pos);
				else
					dlkms_urb_put(dl, urb);
				urb = NULL;
			}
		}
	}
	if (urb)
		dlkms_urb_submit(dl, urb, pos);
	return 0;
}

static void dlkms_primary_plane_helper_atomic_update(struct drm_plane *plane,
						     struct dlkms_atomic_state *state)
{
	struct dlkms_device *dl = to_dlkms(plane->dev);
	struct drm_plane_state *new_state = drm_atomic_get_new_plane_state(state, plane);
	struct drm_plane_state *old_state = drm_atomic_get_old_plane_state(state, plane);
	struct drm_shadow_plane_state *shadow = to_drm_shadow_plane_state(new_state);
	struct drm_framebuffer *fb = new_state->fb;
	struct drm_atomic_helper_damage_iter iter;
	struct drm_rect clip;
	int idx;

	if (!fb || !new_state->visible)
		return;
	idx = dlkms_hw_enter(dl);
	if (!dlkms_hw_present(dl) || drm_gem_fb_begin_cpu_access(fb, DMA_FROM_DEVICE))
		goto out;
	drm_atomic_helper_damage_iter_init(&iter, old_state, new_state);
	drm_atomic_for_each_plane_damage(&iter, &clip) {
		if (dlkms_send_rect(dl, new_state, &shadow->data[0], &clip))
			break;
	}
	drm_gem_fb_end_cpu_access(fb, DMA_FROM_DEVICE);
out:
	dlkms_hw_exit(dl, idx);
}

static const struct drm_plane_helper_funcs dlkms_primary_plane_helper_funcs = {
	DRM_GEM_SHADOW_PLANE_HELPER_FUNCS,
	.atomic_check = dlkms_primary_plane_helper_atomic_check,
	.atomic_update = dlkms_primary_plane_helper_atomic_update,
};

static const struct drm_plane_funcs dlkms_primary_plane_funcs = {
	.update_plane = drm_atomic_helper_update_plane,
	.disable_plane = drm_atomic_helper_disable_plane,
	.destroy = drm_plane_cleanup,
	DRM_GEM_SHADOW_PLANE_FUNCS,
};

/*
 * CRTC
 */

static enum hrtimer_restart dlkms_vblank_timer_fn(struct hrtimer *timer)
{
	struct dlkms_device *dl = container_of(timer, struct dlkms_device, vblank_timer);

	drm_crtc_handle_vblank(&dl->crtc);
	hrtimer_forward_now(timer, dl->vblank_period);
	return HRTIMER_RESTART;
}

static int dlkms_crtc_enable_vblank(struct drm_crtc *crtc)
{
	struct dlkms_device *dl = to_dlkms(crtc->dev);

	hrtimer_start(&dl->vblank_timer, dl->vblank_period, HRTIMER_MODE_REL);
	return 0;
}

static void dlkms_crtc_disable_vblank(struct drm_crtc *crtc)
{
	struct dlkms_device *dl = to_dlkms(crtc->dev);

	/* called under the vblank lock the timer callback also takes */
	hrtimer_try_to_cancel(&dl->vblank_timer);
}

static void dlkms_crtc_helper_atomic_enable(struct drm_crtc *crtc,
					    struct dlkms_atomic_state *state)
{
	struct dlkms_device *dl = to_dlkms(crtc->dev);
	struct drm_crtc_state *crtc_state = drm_atomic_get_new_crtc_state(state, crtc);
	const struct drm_display_mode *mode = &crtc_state->adjusted_mode;
	struct dl_timings t = {
		.hdisplay = mode->crtc_hdisplay,
		.hsync_start = mode->crtc_hsync_start,
		.hsync_end = mode->crtc_hsync_end,
		.htotal = mode->crtc_htotal,
		.vdisplay = mode->crtc_vdisplay,
		.vsync_start = mode->crtc_vsync_start,
		.vsync_end = mode->crtc_vsync_end,
		.vtotal = mode->crtc_vtotal,
		.clock_khz = mode->clock,
	};
	u8 buf[DL_MODESET_MAX_BYTES];
	size_t len;
	int idx;

	dl->vblank_period = ns_to_ktime(div_u64((u64)mode->crtc_htotal * mode->crtc_vtotal *
						1000000ull, mode->crtc_clock));
	drm_crtc_vblank_on(crtc);

	/* the 8-bit plane (24-bpp mode's low bits) follows the 16-bit one */
	len = dl_enc_modeset(buf, &t, false, 0, 2 * t.hdisplay * t.vdisplay);
	idx = dlkms_hw_enter(dl);
	if (dlkms_hw_present(dl))
		dlkms_send(dl, buf, len);
	dlkms_hw_exit(dl, idx);
}

static void dlkms_crtc_helper_atomic_disable(struct drm_crtc *crtc,
					     struct dlkms_atomic_state *state)
{
	struct dlkms_device *dl = to_dlkms(crtc->dev);
	u8 buf[DL_MODESET_MAX_BYTES];
	int idx;

	drm_crtc_vblank_off(crtc);
	idx = dlkms_hw_enter(dl);
	if (dlkms_hw_present(dl))
		dlkms_send(dl, buf, dl_enc_blank(buf, DL_BLANK_POWERDOWN));
	dlkms_hw_exit(dl, idx);
}

static void dlkms_crtc_helper_atomic_flush(struct drm_crtc *crtc,
					   struct dlkms_atomic_state *state)
{
	struct drm_crtc_state *crtc_state = drm_atomic_get_new_crtc_state(state, crtc);
	struct drm_pending_vblank_event *event;

	spin_lock_irq(&crtc->dev->event_lock);
	event = crtc_state->event;
	crtc_state->event = NULL;
	if (event) {
		/* the event fires at the next vblank of the running timer */
		if (crtc_state->active && !drm_crtc_vblank_get(crtc))
			drm_crtc_arm_vblank_event(crtc, event);
		else
			drm_crtc_send_vblank_event(crtc, event);
	}
	spin_unlock_irq(&crtc->dev->event_lock);
}

static const struct drm_crtc_helper_funcs dlkms_crtc_helper_funcs = {
	.atomic_enable = dlkms_crtc_helper_atomic_enable,
	.atomic_disable = dlkms_crtc_helper_atomic_disable,
	.atomic_flush = dlkms_crtc_helper_atomic_flush,
};

static const struct drm_crtc_funcs dlkms_crtc_funcs = {
	.reset = drm_atomic_helper_crtc_reset,
	.set_config = drm_atomic_helper_set_config,
	.page_flip = drm_atomic_helper_page_flip,
	.atomic_duplicate_state = drm_atomic_helper_crtc_duplicate_state,
	.atomic_destroy_state = drm_atomic_helper_crtc_destroy_state,
	.enable_vblank = dlkms_crtc_enable_vblank,
	.disable_vblank = dlkms_crtc_disable_vblank,
};

/*
 * Connector
 */

/*
 * Cheap presence check for the poll: the EDID header and the vendor,
 * product and serial bytes after it. All zero is "no monitor"; a change
 * means another monitor, which the poll reports as a hotplug.
 */
static int dlkms_connector_helper_detect_ctx(struct drm_connector *connector,
					     struct drm_modeset_acquire_ctx *ctx,
					     bool force)
{
	struct dlkms_device *dl = to_dlkms(connector->dev);
	u8 id[sizeof(dl->edid_id)];
	int idx, ret;

	idx = dlkms_hw_enter(dl);
	ret = dlkms_hw_present(dl) ? dlkms_read_edid_bytes(dl, 0, id, sizeof(id)) : -ENODEV;
	dlkms_hw_exit(dl, idx);
	if (ret || !memchr_inv(id, 0, 8))
		return connector_status_disconnected;
	if (memcmp(id, dl->edid_id, sizeof(id))) {
		memcpy(dl->edid_id, id, sizeof(id));
		connector->epoch_counter++;
	}
	return connector_status_connected;
}

static int dlkms_connector_helper_get_modes(struct drm_connector *connector)
{
	struct dlkms_device *dl = to_dlkms(connector->dev);
	const struct drm_edid *drm_edid;
	int count;

	drm_edid = drm_edid_read_custom(connector, dlkms_read_edid, dl);
	count = dlkms_edid_update_modes(connector, drm_edid);
	drm_edid_free(drm_edid);
	if (!count) {
		/* unreadable or corrupt EDID: offer the safe VESA modes */
		count = drm_add_modes_noedid(connector, 1920, 1200);
		drm_set_preferred_mode(connector, 1024, 768);
	}
	return count;
}

static const struct drm_connector_helper_funcs dlkms_connector_helper_funcs = {
	.get_modes = dlkms_connector_helper_get_modes,
	.detect_ctx = dlkms_connector_helper_detect_ctx,
};

static const struct drm_connector_funcs dlkms_connector_funcs = {
	.reset = drm_atomic_helper_connector_reset,
	.fill_modes = drm_helper_probe_single_connector_modes,
	.atomic_duplicate_state = drm_atomic_helper_connector_duplicate_state,
	.atomic_destroy_state = drm_atomic_helper_connector_destroy_state,
};

/*
 * Modesetting
 */

static enum drm_mode_status dlkms_mode_config_mode_valid(struct drm_device *drm,
							 const struct drm_display_mode *mode)
{
	struct dlkms_device *dl = to_dlkms(drm);

	if ((u32)mode->hdisplay * mode->vdisplay > dl->pixel_limit)
		return MODE_MEM;
	/* the clock register counts 5 kHz in 16 bits */
	if (mode->clock > 5 * 0xffff)
		return MODE_CLOCK_HIGH;
	return MODE_OK;
}

static const struct drm_mode_config_funcs dlkms_mode_config_funcs = {
	.fb_create = drm_gem_fb_create_with_dirty,
	.mode_valid = dlkms_mode_config_mode_valid,
	.atomic_check = drm_atomic_helper_check,
	.atomic_commit = drm_atomic_helper_commit,
};

static void dlkms_poll_fini(struct drm_device *drm, void *unused)
{
	drm_kms_helper_poll_fini(drm);
}

static void dlkms_vblank_timer_fini(struct drm_device *drm, void *unused)
{
	hrtimer_cancel(&to_dlkms(drm)->vblank_timer);
}

/* The connector type follows the monitor's EDID input type, as wired. */
static int dlkms_connector_type(struct dlkms_device *dl)
{
	u8 edid[21];

	if (dlkms_read_edid_bytes(dl, 0, edid, sizeof(edid)) || !memchr_inv(edid, 0, 8))
		return DRM_MODE_CONNECTOR_DVII;
	return edid[20] & 0x80 ? DRM_MODE_CONNECTOR_DVID : DRM_MODE_CONNECTOR_VGA;
}

int dlkms_modeset_init(struct dlkms_device *dl)
{
	struct drm_device *drm = &dl->drm;
	int ret, type;

	ret = drmm_mode_config_init(drm);
	if (ret)
		return ret;
	drm->mode_config.min_width = 640;
	drm->mode_config.min_height = 480;
	drm->mode_config.max_width = 2048;
	drm->mode_config.max_height = 2048;
	drm->mode_config.preferred_depth = 24;
	drm->mode_config.funcs = &dlkms_mode_config_funcs;

	dl->line = drmm_kcalloc(drm, drm->mode_config.max_width, sizeof(*dl->line),
				GFP_KERNEL);
	if (!dl->line)
		return -ENOMEM;

	ret = drm_universal_plane_init(drm, &dl->primary, 0, &dlkms_primary_plane_funcs,
				       dlkms_primary_formats,
				       ARRAY_SIZE(dlkms_primary_formats),
				       dlkms_primary_modifiers,
				       DRM_PLANE_TYPE_PRIMARY, NULL);
	if (ret)
		return ret;
	drm_plane_helper_add(&dl->primary, &dlkms_primary_plane_helper_funcs);
	drm_plane_enable_fb_damage_clips(&dl->primary);

	ret = drmm_crtc_init_with_planes(drm, &dl->crtc, &dl->primary, NULL,
					 &dlkms_crtc_funcs, NULL);
	if (ret)
		return ret;
	drm_crtc_helper_add(&dl->crtc, &dlkms_crtc_helper_funcs);
	dlkms_hrtimer_setup(&dl->vblank_timer, dlkms_vblank_timer_fn);
	dl->vblank_period = ns_to_ktime(16666667);
	ret = drmm_add_action_or_reset(drm, dlkms_vblank_timer_fini, NULL);
	if (ret)
		return ret;

	type = dlkms_connector_type(dl);
	ret = drmm_encoder_init(drm, &dl->encoder, NULL,
				type == DRM_MODE_CONNECTOR_VGA ? DRM_MODE_ENCODER_DAC :
				DRM_MODE_ENCODER_TMDS, NULL);
	if (ret)
		return ret;
	dl->encoder.possible_crtcs = drm_crtc_mask(&dl->crtc);

	ret = drmm_connector_init(drm, &dl->connector, &dlkms_connector_funcs, type, NULL);
	if (ret)
		return ret;
	drm_connector_helper_add(&dl->connector, &dlkms_connector_helper_funcs);
	dl->connector.polled = DRM_CONNECTOR_POLL_CONNECT | DRM_CONNECTOR_POLL_DISCONNECT;
	ret = drm_connector_attach_encoder(&dl->connector, &dl->encoder);
	if (ret)
		return ret;

	ret = drm_vblank_init(drm, 1);
	if (ret)
		return ret;
	drm_mode_config_reset(drm);
	drm_kms_helper_poll_init(drm);
	return drmm_add_action_or_reset(drm, dlkms_poll_fini, NULL);
}
