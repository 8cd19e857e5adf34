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
#include <drm/drm_plane.h>
#include <drm/drm_probe_helper.h>
#include <drm/drm_vblank.h>

#include "dlkms_drv.h"
#include "dlkms_proto.h"

/* the smallest mode the adapter family is known to scan out */
#define DLKMS_MIN_WIDTH		640
#define DLKMS_MIN_HEIGHT	480

/*
 * The timing registers are 16-bit LFSR counters, whose period is 2^16 - 1:
 * a count of 0xffff reads as 0. The largest count programmed is the total.
 */
#define DLKMS_MAX_TOTAL		0xfffe
/*
 * The slowest refresh taken. The vblank is a timer at the mode's refresh,
 * and commits complete at it: a mode of a frame a minute (or a day) would
 * stall every commit, and the helpers give up on a flip after 10 s. The
 * slowest standard modes are CEA-861's 24 Hz ones (23.976 Hz).
 */
#define DLKMS_MIN_VREFRESH	20

/*
 * What the adapter can scan out. Used for probed modes and, through the
 * CRTC's and the mode config's mode_valid, for every mode userspace
 * commits (SETCRTC, an atomic MODE_ID, TEST_ONLY or not).
 */
enum drm_mode_status dlkms_mode_valid(struct dlkms_device *dl,
				      const struct drm_display_mode *mode)
{
	if (mode->hdisplay < DLKMS_MIN_WIDTH || mode->vdisplay < DLKMS_MIN_HEIGHT)
		return MODE_BAD;
	if (mode->hdisplay > DLKMS_MAX_WIDTH || mode->vdisplay > DLKMS_MAX_HEIGHT)
		return MODE_BAD;
	/*
	 * The adapter scans out progressive frames, line by line. For the
	 * other kinds the core derives the crtc_ timings (which are what is
	 * sent) by halving or doubling the vertical ones, while the picture
	 * is rendered at vdisplay: the registers would then describe another
	 * frame than the one in the device's memory, and a doubled timing
	 * can wrap its 16 bits. With these refused, the crtc_ timings equal
	 * the mode's, so the checks below are of what goes on the wire.
	 */
	if (mode->flags & DRM_MODE_FLAG_INTERLACE)
		return MODE_NO_INTERLACE;
	if (mode->flags & DRM_MODE_FLAG_DBLSCAN || mode->vscan > 1)
		return MODE_NO_DBLESCAN;
	if (!mode->clock || !mode->htotal || !mode->vtotal)
		return MODE_BAD;
	if (mode->htotal > DLKMS_MAX_TOTAL)
		return MODE_H_ILLEGAL;
	if (mode->vtotal > DLKMS_MAX_TOTAL)
		return MODE_V_ILLEGAL;
	if ((u64)mode->clock * 1000 < (u64)DLKMS_MIN_VREFRESH * mode->htotal * mode->vtotal)
		return MODE_CLOCK_LOW;
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

static enum drm_mode_status dlkms_mode_config_mode_valid(struct drm_device *drm,
							 const struct drm_display_mode *mode)
{
	return dlkms_mode_valid(to_dlkms(drm), mode);
}

static int dlkms_mode_config_atomic_check(struct drm_device *drm,
					  struct dlkms_atomic_state *state)
{
	int ret;

	ret = dlkms_planes_atomic_check(to_dlkms(drm), state);
	if (ret)
		return ret;
	/*
	 * Once the adapter is gone its connector is unregistered, and the
	 * helpers refuse commits that route an unregistered connector to an
	 * active CRTC -- unless the state is a duplicate, which they let
	 * through as a restore of what was. After a yank every commit is that:
	 * userspace restating or changing a state nothing displays any more,
	 * which the hot-unplug uAPI wants to succeed.
	 */
	if (!dlkms_hw_present(to_dlkms(drm)))
		state->duplicated = true;
	ret = drm_atomic_helper_check(drm, state);
	if (ret)
		return ret;
	dlkms_cursor_async_toggle(to_dlkms(drm), state);
	return 0;
}

/*
 * Framebuffers for a format and modifier no plane takes are refused here,
 * where the caller still gets the error: 6.1's core only checks them when
 * the framebuffer is first put on a plane.
 */
static struct drm_framebuffer *
dlkms_fb_create(struct drm_device *drm, struct drm_file *file,
		DLKMS_FB_CREATE_INFO_PARAM const struct drm_mode_fb_cmd2 *cmd)
{
	if (!drm_any_plane_has_format(drm, cmd->pixel_format, cmd->modifier[0]))
		return ERR_PTR(-EINVAL);
	return drm_gem_fb_create_with_dirty(drm, file, DLKMS_FB_CREATE_INFO_ARG cmd);
}

static const struct drm_mode_config_funcs dlkms_mode_config_funcs = {
	.fb_create = dlkms_fb_create,
	.mode_valid = dlkms_mode_config_mode_valid,
	.atomic_check = dlkms_mode_config_atomic_check,
	.atomic_commit = drm_atomic_helper_commit,
};

/*
 * The helpers' commit tail with two changes. Enable before planes: the
 * mode registers go out before the pixels, and the vblank runs when the
 * flush arms the commit's event. And wait for the commit's own events
 * (flip_done, up to seconds) rather than for the vblank counter to move
 * within 100 ms: the vblank is a timer, and a busy machine may run it late.
 * Every CRTC in the commit is flushed, active or not, so its event is sent.
 */
static void dlkms_atomic_commit_tail(struct dlkms_atomic_state *state)
{
	struct drm_device *drm = state->dev;

	drm_atomic_helper_commit_modeset_disables(drm, state);
	drm_atomic_helper_commit_modeset_enables(drm, state);
	drm_atomic_helper_commit_planes(drm, state, 0);
	drm_atomic_helper_fake_vblank(state);
	drm_atomic_helper_commit_hw_done(state);
	drm_atomic_helper_wait_for_flip_done(drm, state);
	drm_atomic_helper_cleanup_planes(drm, state);
}

static const struct drm_mode_config_helper_funcs dlkms_mode_config_helper_funcs = {
	.atomic_commit_tail = dlkms_atomic_commit_tail,
};

/*
 * The last user is gone. After a yank nothing shut the CRTC down (commits
 * are faked on the last state until then), so its vblank may still be on.
 * Turning it off only stops the timer at its next expiry; the vblank state
 * the handler uses goes right after this, so wait the timer out here,
 * where no vblank lock is held.
 */
static void dlkms_vblank_fini(struct drm_device *drm, void *unused)
{
	struct dlkms_device *dl = to_dlkms(drm);

	if (dl->crtc.state && dl->crtc.state->active)
		drm_crtc_vblank_off(&dl->crtc);
	hrtimer_cancel(&dl->vblank_timer);
}

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
	/* framebuffers may be larger than the largest mode, and are panned */
	drm->mode_config.max_width = 4096;
	drm->mode_config.max_height = 4096;
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
	/* runs before the vblank's own release, which wants it off */
	ret = drmm_add_action_or_reset(drm, dlkms_vblank_fini, NULL);
	if (ret)
		return ret;
	drm_mode_config_reset(drm);
	drm_kms_helper_poll_init(drm);
	return drmm_add_action_or_reset(drm, dlkms_poll_fini, NULL);
}
