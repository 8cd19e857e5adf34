// SPDX-License-Identifier: GPL-2.0-only
/*
 * The connector of dlkms: the monitor's EDID comes through the adapter's
 * DDC vendor request, and a cheap poll of the EDID header tells whether a
 * monitor is there and whether it is still the same one.
 *
 * Copyright (C) 2026 dlkms developers
 */

#include <linux/jiffies.h>
#include <linux/string.h>

#include <drm/drm_atomic_state_helper.h>
#include <drm/drm_edid.h>
#include <drm/drm_managed.h>
#include <drm/drm_modeset_helper_vtables.h>
#include <drm/drm_print.h>
#include <drm/drm_probe_helper.h>

#include "dlkms_drv.h"

/* failed presence reads in a row that keep a connected monitor connected */
#define DLKMS_EDID_MISSES	3

/*
 * The EDID's trouble is told once when it starts, not at every poll (10 s)
 * or client probe, and once when it ends. A monitor or an adapter whose
 * reads come and go gets at most one such line every DLKMS_EDID_QUIET_S:
 * a line sooner after the last is left out, and so is the end of a
 * trouble that was not told.
 */
#define DLKMS_EDID_QUIET_S	300

static bool dlkms_edid_may_tell(struct dlkms_device *dl)
{
	if (dl->edid_told && time_before(jiffies, dl->edid_told_at + DLKMS_EDID_QUIET_S * HZ))
		return false;
	dl->edid_told = true;
	dl->edid_told_at = jiffies;
	return true;
}

/* @err: how the last EDID transfer failed, 0 when it worked. */
static void dlkms_edid_note_xfer(struct dlkms_device *dl, int err)
{
	const char *why;

	/* asleep or gone: nothing to tell */
	if (err == -EAGAIN || err == -ENODEV)
		return;
	if (!err) {
		if (dl->edid_failing && dl->edid_fail_told)
			drm_info(&dl->drm, "EDID reads work again\n");
		dl->edid_failing = false;
		return;
	}
	if (dl->edid_failing)
		return;
	dl->edid_failing = true;
	dl->edid_fail_told = dlkms_edid_may_tell(dl);
	if (!dl->edid_fail_told)
		return;
	switch (err) {
	case -ETIMEDOUT:
		why = "the adapter did not answer";
		break;
	case -EPIPE:
		why = "the adapter refused the request";
		break;
	case -EIO:
		why = "a short reply";
		break;
	case -EPROTO:
		why = "the DDC status byte says the read failed";
		break;
	default:
		why = "the transfer failed";
		break;
	}
	drm_warn(&dl->drm, "EDID read failed (%d): %s; the monitor is kept as it was last read\n",
		 err, why);
}

/* After a full read whose transfers worked: what the EDID was worth. */
static void dlkms_edid_note_content(struct dlkms_device *dl, const struct drm_edid *drm_edid)
{
	if (!drm_edid) {
		if (!dl->edid_invalid && dlkms_edid_may_tell(dl))
			drm_warn(&dl->drm, "the monitor's EDID is not valid (header or checksum); offering standard modes\n");
		dl->edid_invalid = true;
		return;
	}
	dl->edid_invalid = false;
	if (dl->edid_ext > 1 && dl->edid_ext != dl->edid_ext_told && dlkms_edid_may_tell(dl)) {
		dl->edid_ext_told = dl->edid_ext;
		drm_info(&dl->drm, "the monitor's EDID lists %u extension blocks; the adapter's DDC request reaches the first only\n",
			 dl->edid_ext);
	}
}

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
	bool pm;
	int idx, ret;

	/* an autosuspended adapter wakes for the poll (see dlkms_pm_get()) */
	pm = dlkms_pm_get(dl);
	idx = dlkms_hw_enter(dl);
	if (dlkms_hw_ready(dl))
		ret = dlkms_read_edid_bytes(dl, 0, id, sizeof(id));
	else
		ret = dlkms_hw_present(dl) ? -EAGAIN : -ENODEV;
	dlkms_hw_exit(dl, idx);
	dlkms_pm_put(dl, pm);
	dlkms_edid_note_xfer(dl, ret);
	/* asleep: nothing known but what was; wake-up probes again */
	if (ret == -EAGAIN)
		return connector->status;
	/*
	 * An adapter that does not answer once (a request timed out on a
	 * busy bus) says nothing about the monitor: a connected one stays
	 * connected for a few polls. No monitor reads as zeros.
	 */
	if (ret && ret != -ENODEV && connector->status == connector_status_connected &&
	    ++dl->edid_misses < DLKMS_EDID_MISSES) {
		drm_dbg_kms(&dl->drm, "EDID read failed (%d), keeping the connector connected\n",
			    ret);
		return connector_status_connected;
	}
	if (ret || !memchr_inv(id, 0, 8))
		return connector_status_disconnected;
	dl->edid_misses = 0;
	if (memcmp(id, dl->edid_id, sizeof(id))) {
		memcpy(dl->edid_id, id, sizeof(id));
		connector->epoch_counter++;
	}
	return connector_status_connected;
}

/*
 * A read that fails in the transfer (a request timed out), from the
 * monitor whose EDID was read last (detect's presence bytes are that
 * EDID's first bytes), gives that EDID: a monitor detect keeps connected
 * across a missed read keeps its modes too, rather than getting the
 * fallback list.
 */
static const struct drm_edid *dlkms_connector_read_edid(struct dlkms_device *dl)
{
	const struct drm_edid *drm_edid;

	dl->edid_xfer_err = 0;
	drm_edid = drm_edid_read_custom(&dl->connector, dlkms_read_edid, dl);
	dlkms_edid_note_xfer(dl, dl->edid_xfer_err);
	if (!dl->edid_xfer_err)
		dlkms_edid_note_content(dl, drm_edid);
	if (drm_edid) {
		drm_edid_free(dl->edid);
		dl->edid = drm_edid;
	} else if (dl->edid_xfer_err && dl->edid &&
		   !memcmp(drm_edid_raw(dl->edid), dl->edid_id, sizeof(dl->edid_id))) {
		drm_dbg_kms(&dl->drm, "EDID read failed, using the monitor's last EDID\n");
		return dl->edid;
	}
	return drm_edid;
}

static int dlkms_connector_helper_get_modes(struct drm_connector *connector)
{
	struct dlkms_device *dl = to_dlkms(connector->dev);
	bool pm;
	int count;

	pm = dlkms_pm_get(dl);
	count = dlkms_edid_update_modes(connector, dlkms_connector_read_edid(dl));
	dlkms_pm_put(dl, pm);
	if (!count) {
		/*
		 * Unreadable or corrupt EDID but something answers: offer the
		 * safe VESA modes rather than flapping between connected and
		 * disconnected.
		 */
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

/* The connector type follows the monitor's EDID input type, as wired. */
static int dlkms_connector_type(struct dlkms_device *dl)
{
	u8 edid[21];
	int ret;

	ret = dlkms_read_edid_bytes(dl, 0, edid, sizeof(edid));
	dlkms_edid_note_xfer(dl, ret);
	if (ret || !memchr_inv(edid, 0, 8))
		return DRM_MODE_CONNECTOR_DVII;
	return edid[20] & 0x80 ? DRM_MODE_CONNECTOR_DVID : DRM_MODE_CONNECTOR_VGA;
}

static void dlkms_connector_edid_free(struct drm_device *drm, void *unused)
{
	drm_edid_free(to_dlkms(drm)->edid);
}

int dlkms_connector_init(struct dlkms_device *dl)
{
	struct drm_device *drm = &dl->drm;
	int ret, type;

	ret = drmm_add_action_or_reset(drm, dlkms_connector_edid_free, NULL);
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
	return drm_connector_attach_encoder(&dl->connector, &dl->encoder);
}
