// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CRTC of dlkms: programs the mode, queues each commit's pixels from its
 * flush, and keeps a software vblank at the mode's refresh rate (the
 * adapter has no interrupt), so page-flip events and WAIT_VBLANK are paced
 * as on any display.
 *
 * Copyright (C) 2026 dlkms developers
 */

#include <linux/wait.h>

#include <drm/drm_atomic.h>
#include <drm/drm_atomic_helper.h>
#include <drm/drm_managed.h>
#include <drm/drm_modeset_helper_vtables.h>
#include <drm/drm_vblank.h>

#include "dlkms_drv.h"
#include "dlkms_proto.h"

static enum hrtimer_restart dlkms_vblank_timer_fn(struct hrtimer *timer)
{
	struct dlkms_device *dl = container_of(timer, struct dlkms_device, vblank_timer);

	/*
	 * Forward first: the timestamp of this vblank is the expiry just
	 * passed, one period before the new one (see get_vblank_timestamp).
	 */
	hrtimer_forward_now(timer, dl->vblank_period);
	/*
	 * disable_vblank can only try to cancel: it runs under the vblank
	 * lock this handler takes, so it cannot wait for a handler that is
	 * running. A handler that finds the vblank off stops the timer.
	 */
	if (!drm_crtc_handle_vblank(&dl->crtc))
		return HRTIMER_NORESTART;
	dlkms_crc_vblank(dl);
	return HRTIMER_RESTART;
}

/*
 * The vblank is when the timer was due, not when its handler got to run:
 * events and WAIT_VBLANK replies carry times exactly one period apart.
 * A vblank that is due but whose handler has not run yet (a busy machine
 * runs timers late) has happened all the same: an event armed now must
 * complete at the next one, never at a vblank from before it was armed.
 * The late handler then finds the vblank counted already.
 */
static bool dlkms_crtc_get_vblank_timestamp(struct drm_crtc *crtc, int *max_error,
					    ktime_t *vblank_time, bool in_vblank_irq)
{
	struct dlkms_device *dl = to_dlkms(crtc->dev);
	u64 period = ktime_to_ns(dl->vblank_period), late;
	ktime_t next, now;

	if (!hrtimer_active(&dl->vblank_timer)) {
		*vblank_time = ktime_get();
		return true;
	}
	next = hrtimer_get_expires(&dl->vblank_timer);
	now = ktime_get();
	if (ktime_before(now, next)) {
		*vblank_time = ktime_sub(next, dl->vblank_period);
		return true;
	}
	/* the last vblank on the timer's grid at or before now */
	late = ktime_to_ns(ktime_sub(now, next));
	*vblank_time = ktime_add_ns(next, div64_u64(late, period) * period);
	return true;
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

	/*
	 * Called under the vblank lock the timer handler also takes, so no
	 * waiting here; a handler running now sees the vblank off and stops.
	 */
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

	/* an autosuspended adapter wakes before it is told the mode */
	dlkms_pm_crtc_on(dl);
	dl->vblank_period = ns_to_ktime(div_u64((u64)mode->crtc_htotal * mode->crtc_vtotal *
						1000000ull, mode->crtc_clock));
	drm_crtc_vblank_on(crtc);

	/* the 8-bit plane (24-bpp mode's low bits) follows the 16-bit one */
	len = dl_enc_modeset(buf, &t, dl->bpp == 24, 0, 2 * t.hdisplay * t.vdisplay);
	dlkms_render_mode_set(dl, mode, buf, len);
}

/*
 * A CRTC is off after the frame it was showing has ended, as a display
 * controller's is: its disable completes, and the commit's event goes, at
 * the vblank after the blank went out -- not before a nonblocking commit
 * has even returned. After a yank the vblank keeps time all the same.
 * Unlike drm_crtc_wait_one_vblank() no warning for a timer that runs
 * late on a busy machine.
 */
static void dlkms_crtc_wait_vblank(struct drm_crtc *crtc)
{
	u64 last;

	if (drm_crtc_vblank_get(crtc))
		return;
	last = drm_crtc_vblank_count(crtc);
	wait_event_timeout(*drm_crtc_vblank_waitqueue(crtc),
			   drm_crtc_vblank_count(crtc) != last, HZ);
	drm_crtc_vblank_put(crtc);
}

static void dlkms_crtc_helper_atomic_disable(struct drm_crtc *crtc,
					     struct dlkms_atomic_state *state)
{
	struct dlkms_device *dl = to_dlkms(crtc->dev);
	struct drm_crtc_state *crtc_state = drm_atomic_get_new_crtc_state(state, crtc);
	u8 buf[DL_MODESET_MAX_BYTES];

	/* off once the picture in flight is sent (or the device is gone) */
	dlkms_render_disable(dl, buf, dl_enc_blank(buf, DL_BLANK_POWERDOWN));
	dlkms_crtc_wait_vblank(crtc);
	drm_crtc_vblank_off(crtc);
	/* the blank is on its way: the adapter may autosuspend */
	dlkms_pm_crtc_off(dl);
	/* planes of an inactive CRTC are not flushed: the event goes now */
	spin_lock_irq(&crtc->dev->event_lock);
	if (crtc_state->event && !crtc_state->active) {
		drm_crtc_send_vblank_event(crtc, crtc_state->event);
		crtc_state->event = NULL;
	}
	spin_unlock_irq(&crtc->dev->event_lock);
}

static void dlkms_crtc_helper_atomic_flush(struct drm_crtc *crtc,
					   struct dlkms_atomic_state *state)
{
	struct drm_crtc_state *crtc_state = drm_atomic_get_new_crtc_state(state, crtc);
	struct drm_pending_vblank_event *event;

	/*
	 * The render worker sends the pixels; the commit is done when the
	 * next vblank latches it, as on a display that scans out.
	 */
	dlkms_render_queue(to_dlkms(crtc->dev), state);

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

static enum drm_mode_status
dlkms_crtc_helper_mode_valid(struct drm_crtc *crtc, const struct drm_display_mode *mode)
{
	return dlkms_mode_valid(to_dlkms(crtc->dev), mode);
}

static const struct drm_crtc_helper_funcs dlkms_crtc_helper_funcs = {
	.mode_valid = dlkms_crtc_helper_mode_valid,
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
	.get_vblank_timestamp = dlkms_crtc_get_vblank_timestamp,
	.get_crc_sources = dlkms_crtc_get_crc_sources,
	.verify_crc_source = dlkms_crtc_verify_crc_source,
	.set_crc_source = dlkms_crtc_set_crc_source,
};

static void dlkms_vblank_timer_fini(struct drm_device *drm, void *unused)
{
	hrtimer_cancel(&to_dlkms(drm)->vblank_timer);
}

int dlkms_crtc_init(struct dlkms_device *dl)
{
	struct drm_device *drm = &dl->drm;
	int ret;

	ret = drmm_crtc_init_with_planes(drm, &dl->crtc, &dl->primary, &dl->cursor_plane,
					 &dlkms_crtc_funcs, NULL);
	if (ret)
		return ret;
	drm_crtc_helper_add(&dl->crtc, &dlkms_crtc_helper_funcs);

	dlkms_crc_init(dl);
	dlkms_hrtimer_setup(&dl->vblank_timer, dlkms_vblank_timer_fn);
	dl->vblank_period = ns_to_ktime(16666667);
	return drmm_add_action_or_reset(drm, dlkms_vblank_timer_fini, NULL);
}
