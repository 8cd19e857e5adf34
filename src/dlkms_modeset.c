// SPDX-License-Identifier: GPL-2.0-only
/*
 * Mode configuration of dlkms: limits, the commit pipeline and the KMS
 * objects (planes, CRTC, encoder, connector) put together.
 *
 * Copyright (C) 2026 dlkms developers
 */

#include <drm/drm_atomic.h>
#include <drm/drm_atomic_helper.h>
#include <drm/drm_gem_framebuffer_helper.h>
#include <drm/drm_managed.h>
#include <drm/drm_modeset_helper_vtables.h>
#include <drm/drm_probe_helper.h>
#include <drm/drm_vblank.h>

#include "dlkms_drv.h"
#include "dlkms_proto.h"

/* the smallest mode the adapter family is known to scan out */
#define DLKMS_MIN_WIDTH		640
#define DLKMS_MIN_HEIGHT	480

static enum drm_mode_status dlkms_mode_config_mode_valid(struct drm_device *drm,
							 const struct drm_display_mode *mode)
{
	struct dlkms_device *dl = to_dlkms(drm);

	if (mode->hdisplay < DLKMS_MIN_WIDTH || mode->vdisplay < DLKMS_MIN_HEIGHT)
		return MODE_BAD;
	if ((u32)mode->hdisplay * mode->vdisplay > dl->pixel_limit)
		return MODE_MEM;
	/* both planes must fit in the device's memory */
	if ((u32)mode->hdisplay * mode->vdisplay * (dl->bpp / 8) > DL_MEM_SIZE)
		return MODE_MEM;
	/* the clock register counts 5 kHz in 16 bits */
	if (mode->clock > 5 * 0xffff)
		return MODE_CLOCK_HIGH;
	return MODE_OK;
}

static int dlkms_mode_config_atomic_check(struct drm_device *drm,
					  struct dlkms_atomic_state *state)
{
	int ret;

	ret = dlkms_planes_atomic_check(to_dlkms(drm), state);
	if (ret)
		return ret;
	return drm_atomic_helper_check(drm, state);
}

static const struct drm_mode_config_funcs dlkms_mode_config_funcs = {
	.fb_create = drm_gem_fb_create_with_dirty,
	.mode_valid = dlkms_mode_config_mode_valid,
	.atomic_check = dlkms_mode_config_atomic_check,
	.atomic_commit = drm_atomic_helper_commit,
};

/*
 * Enable before planes: the mode registers go out before the pixels, and
 * the vblank runs when the flush arms the commit's event.
 */
static const struct drm_mode_config_helper_funcs dlkms_mode_config_helper_funcs = {
	.atomic_commit_tail = drm_atomic_helper_commit_tail_rpm,
};

static void dlkms_poll_fini(struct drm_device *drm, void *unused)
{
	drm_kms_helper_poll_fini(drm);
}

int dlkms_modeset_init(struct dlkms_device *dl)
{
	struct drm_device *drm = &dl->drm;
	int ret;

	ret = drmm_mode_config_init(drm);
	if (ret)
		return ret;
	/*
	 * The mode limits are in mode_valid: these also bound framebuffers,
	 * and a cursor is 64x64.
	 */
	drm->mode_config.min_width = 1;
	drm->mode_config.min_height = 1;
	drm->mode_config.max_width = 2048;
	drm->mode_config.max_height = 2048;
	drm->mode_config.preferred_depth = 24;
	drm->mode_config.funcs = &dlkms_mode_config_funcs;
	drm->mode_config.helper_private = &dlkms_mode_config_helper_funcs;

	ret = dlkms_render_init(dl);
	if (ret)
		return ret;
	ret = dlkms_planes_init(dl);
	if (ret)
		return ret;
	ret = dlkms_crtc_init(dl);
	if (ret)
		return ret;
	ret = dlkms_connector_init(dl);
	if (ret)
		return ret;

	ret = drm_vblank_init(drm, 1);
	if (ret)
		return ret;
	drm_mode_config_reset(drm);
	drm_kms_helper_poll_init(drm);
	return drmm_add_action_or_reset(drm, dlkms_poll_fini, NULL);
}
