/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dlkms: KMS driver for DisplayLink DL-1x0/DL-1x5 USB 2.0 display adapters.
 *
 * Copyright (C) 2026 dlkms developers
 */
#ifndef DLKMS_DRV_H
#define DLKMS_DRV_H

#include <linux/hrtimer.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/usb.h>
#include <linux/wait.h>

#include <drm/drm_connector.h>
#include <drm/drm_crtc.h>
#include <drm/drm_device.h>
#include <drm/drm_encoder.h>
#include <drm/drm_plane.h>

#include "dlkms_compat.h"

#define DRIVER_NAME	"dlkms"
#define DRIVER_DESC	"DisplayLink DL-1x0/DL-1x5 USB display adapters"

struct dlkms_device {
	struct drm_device drm;

	struct usb_interface *intf;
	struct usb_device *udev;
	unsigned int bulk_pipe;
	u32 pixel_limit;		/* max hdisplay * vdisplay (vendor descriptor) */

	struct drm_plane primary;
	struct drm_crtc crtc;
	struct drm_encoder encoder;
	struct drm_connector connector;

	/* what the monitor's EDID looked like at the last detect */
	u8 edid_id[18];

	/* software vblank at the mode's refresh rate */
	struct hrtimer vblank_timer;
	ktime_t vblank_period;

	/*
	 * The device is gone once @gone is set; hardware paths run inside
	 * dlkms_hw_enter()/dlkms_hw_exit(), and disconnect waits for them
	 * before it takes the USB resources away.
	 */
	struct srcu_struct hw_srcu;
	bool gone;

	/* bulk transfer pool */
	struct usb_anchor anchor;
	spinlock_t urb_lock;		/* protects urb_free */
	struct list_head urb_free;
	wait_queue_head_t urb_wait;
	unsigned int urb_count;
	size_t urb_size;

	/* one converted scanline */
	u16 *line;
};

static inline struct dlkms_device *to_dlkms(struct drm_device *drm)
{
	return container_of(drm, struct dlkms_device, drm);
}

int dlkms_hw_enter(struct dlkms_device *dl) __acquires(&dl->hw_srcu);
void dlkms_hw_exit(struct dlkms_device *dl, int idx) __releases(&dl->hw_srcu);

static inline bool dlkms_hw_present(struct dlkms_device *dl)
{
	return !READ_ONCE(dl->gone);
}

/* dlkms_usb.c */
int dlkms_usb_init(struct dlkms_device *dl);
void dlkms_usb_stop(struct dlkms_device *dl);
int dlkms_read_edid(void *data, u8 *buf, unsigned int block, size_t len);
int dlkms_read_edid_bytes(struct dlkms_device *dl, unsigned int off, u8 *buf,
			  size_t len);
struct urb *dlkms_urb_get(struct dlkms_device *dl);
int dlkms_urb_submit(struct dlkms_device *dl, struct urb *urb, size_t len);
void dlkms_urb_put(struct dlkms_device *dl, struct urb *urb);
int dlkms_send(struct dlkms_device *dl, const u8 *buf, size_t len);

/* dlkms_modeset.c */
int dlkms_modeset_init(struct dlkms_device *dl);

#endif /* DLKMS_DRV_H */
