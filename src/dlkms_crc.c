// SPDX-License-Identifier: GPL-2.0-only
/*
 * A CRC source for the CRTC, as vkms has one, so that IGT's CRC tests
 * (kms_pipe_crc_basic, kms_cursor_crc, kms_plane, ...) can compare what is
 * shown with what they expect: debugfs crtc-0/crc/{control,data}.
 *
 * The adapter computes no CRC, so the CRC is of the frame as it was sent:
 * the device's memory as dlkms_render.c's shadow holds it (the 16-bit
 * plane, and the low plane in 24-bpp mode), after the cursor is composed
 * and the pixels truncated. Two pictures that look alike on the wire give
 * the same CRC, whatever formats and planes made them. A full frame is
 * megabytes, so each line has its CRC, recomputed for the lines a commit
 * sent, and the frame's CRC is the CRC of those. Each vblank reports the
 * value that stands then: one entry per frame, with the vblank counter as
 * its frame number, as IGT expects -- except while committed changes are
 * still being sent, when the frame's CRC is not known yet and no entry is
 * made (readers wait for a later frame).
 *
 * Copyright (C) 2026 dlkms developers
 */

#include <linux/crc32.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include <drm/drm_crtc.h>	/* and drm_debugfs_crc.h, which 6.1 cannot include first */
#include <drm/drm_drv.h>
#include <drm/drm_print.h>
#include <drm/drm_vblank.h>

#include "dlkms_drv.h"

static const char * const dlkms_crc_sources[] = { "auto" };

static int dlkms_crc_parse(const char *source, bool *enabled)
{
	if (!source) {
		*enabled = false;
		return 0;
	}
	if (!strcmp(source, "auto")) {
		*enabled = true;
		return 0;
	}
	return -EINVAL;
}

const char *const *dlkms_crtc_get_crc_sources(struct drm_crtc *crtc, size_t *count)
{
	*count = ARRAY_SIZE(dlkms_crc_sources);
	return dlkms_crc_sources;
}

int dlkms_crtc_verify_crc_source(struct drm_crtc *crtc, const char *source,
				 size_t *values_cnt)
{
	bool enabled;

	if (dlkms_crc_parse(source, &enabled))
		return -EINVAL;
	*values_cnt = 1;
	return 0;
}

/*
 * Lines [@y1, @y2) of the shadow changed: their CRCs, then the frame's.
 * Called with dl->render_lock held, after a render or at enable.
 */
void dlkms_crc_update(struct dlkms_device *dl, unsigned int y1, unsigned int y2)
{
	unsigned int w = dl->shadow_width, h = dl->shadow_height, y;
	unsigned long flags;
	u32 crc;

	lockdep_assert_held(&dl->render_lock);
	if (!dl->shadow16) {
		drm_dbg(&dl->drm, "no shadow of the frame: the CRC stays as it was\n");
		return;
	}
	for (y = y1; y < min(y2, h); y++) {
		crc = crc32_le(0, (const u8 *)(dl->shadow16 + y * w), 2 * w);
		if (dl->shadow8)
			crc = crc32_le(crc, dl->shadow8 + y * w, w);
		dl->crc_lines[y] = crc;
	}
	crc = crc32_le(0, (const u8 *)dl->crc_lines, h * sizeof(*dl->crc_lines));
	spin_lock_irqsave(&dl->crc_lock, flags);
	dl->crc_value = crc;
	/* a new picture: the frames before the next entry are not all its */
	dl->crc_last_valid = false;
	spin_unlock_irqrestore(&dl->crc_lock, flags);
}

/*
 * The open crc/data file holds the device, and this module. The file is
 * the core's (drm_debugfs_crc.c), and its release calls set_crc_source()
 * and then cleans up under crtc->crc.lock, in the CRTC's memory, whenever
 * it is closed: after a yank that may be after the last DRM fd went, when
 * nothing else holds the device (debugfs calls releases of removed files
 * all the same). So turning the source on takes a reference, and turning
 * it off hands it to this work, which drops it once the release is done
 * with the CRTC: when the entries it frees are gone, or a new open has
 * taken the file. The reference holds the module too: the release runs
 * its code, and rmmod could otherwise take it while the file is open.
 * The work runs on a queue of this module's, which module exit destroys:
 * rmmod, let in by the work's last module_put(), waits there for the work
 * to have returned.
 */
static struct workqueue_struct *dlkms_crc_wq;

static void dlkms_crc_put_work(struct work_struct *work)
{
	struct dlkms_device *dl = container_of(to_delayed_work(work), struct dlkms_device,
					       crc_put_work);
	bool done = true;
	int n;

#ifdef CONFIG_DEBUG_FS
	spin_lock_irq(&dl->crtc.crc.lock);
	done = !dl->crtc.crc.entries || dl->crtc.crc.opened;
	spin_unlock_irq(&dl->crtc.crc.lock);
#endif
	if (!done) {
		queue_delayed_work(dlkms_crc_wq, &dl->crc_put_work, 1);
		return;
	}
	/* the last put frees @dl: nothing of it is used after */
	for (n = atomic_xchg(&dl->crc_puts, 0); n; n--) {
		drm_dev_put(&dl->drm);
		module_put(THIS_MODULE);
	}
}

int __init dlkms_crc_module_init(void)
{
	dlkms_crc_wq = alloc_workqueue("dlkms_crc", WQ_UNBOUND, 0);
	return dlkms_crc_wq ? 0 : -ENOMEM;
}

void dlkms_crc_module_exit(void)
{
	destroy_workqueue(dlkms_crc_wq);
}

void dlkms_crc_init(struct dlkms_device *dl)
{
	spin_lock_init(&dl->crc_lock);
	INIT_DELAYED_WORK(&dl->crc_put_work, dlkms_crc_put_work);
}

/*
 * Opening crc/data turns the source on, closing it turns it off; the core
 * lets one opener in at a time, so these calls never overlap.
 */
int dlkms_crtc_set_crc_source(struct drm_crtc *crtc, const char *source)
{
	struct dlkms_device *dl = to_dlkms(crtc->dev);
	bool enabled, was;
	int ret;

	ret = dlkms_crc_parse(source, &enabled);
	if (ret)
		return ret;

	if (enabled) {
		/* the frame that stands now, before the first vblank reports it */
		mutex_lock(&dl->render_lock);
		dlkms_crc_update(dl, 0, dl->shadow_height);
		mutex_unlock(&dl->render_lock);
	}
	spin_lock_irq(&dl->crc_lock);
	was = dl->crc_enabled;
	dl->crc_enabled = enabled;
	dl->crc_last_valid = false;
	spin_unlock_irq(&dl->crc_lock);

	/*
	 * Entries come from the vblank timer: keep it running while the
	 * source is on. With the CRTC off there is no vblank to get, and no
	 * frame to report either.
	 */
	if (enabled && !was) {
		dl->crc_vblank_ref = !drm_crtc_vblank_get(crtc);
		__module_get(THIS_MODULE);
		drm_dev_get(&dl->drm);
	}
	if (!enabled && dl->crc_vblank_ref) {
		drm_crtc_vblank_put(crtc);
		dl->crc_vblank_ref = false;
	}
	if (!enabled && was) {
		atomic_inc(&dl->crc_puts);
		queue_delayed_work(dlkms_crc_wq, &dl->crc_put_work, 0);
	}
	return 0;
}

/*
 * A vblank handler that ran late (the timer's due times count the frames,
 * see dlkms_crtc.c) reports the frames it missed too, as hardware makes a
 * CRC every frame: with no render in flight at either entry and no new
 * picture sent between them (dlkms_crc_update() ends the run), each of
 * them showed the same picture. Not after a longer gap (the CRTC was off,
 * the machine stopped): those frames are not worth a report.
 */
#define DLKMS_CRC_CATCH_UP	8

/* From the vblank timer, after drm_crtc_handle_vblank(). */
void dlkms_crc_vblank(struct dlkms_device *dl)
{
	u32 frame = (u32)drm_crtc_vblank_count(&dl->crtc), first = frame, crc;
	unsigned long flags;

	spin_lock_irqsave(&dl->crc_lock, flags);
	if (!dl->crc_enabled || dlkms_render_busy(dl)) {
		/* the next entry may not vouch for the frames before it */
		dl->crc_last_valid = false;
		spin_unlock_irqrestore(&dl->crc_lock, flags);
		return;
	}
	crc = dl->crc_value;
	if (dl->crc_last_valid && frame - dl->crc_last_frame - 1 < DLKMS_CRC_CATCH_UP)
		first = dl->crc_last_frame + 1;
	dl->crc_last_frame = frame;
	dl->crc_last_valid = true;
	spin_unlock_irqrestore(&dl->crc_lock, flags);

	do
		drm_crtc_add_crc_entry(&dl->crtc, true, first, &crc);
	while (first++ != frame);
}
