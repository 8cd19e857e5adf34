/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dlkms: KMS driver for DisplayLink DL-1x0/DL-1x5 USB 2.0 display adapters.
 *
 * Copyright (C) 2026 dlkms developers
 */
#ifndef DLKMS_DRV_H
#define DLKMS_DRV_H

#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/usb.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <drm/drm_connector.h>
#include <drm/drm_crtc.h>
#include <drm/drm_device.h>
#include <drm/drm_encoder.h>
#include <drm/drm_gem_atomic_helper.h>
#include <drm/drm_plane.h>
#include <drm/drm_rect.h>

#include "dlkms_compat.h"
#include "dlkms_proto.h"

#define DRIVER_NAME	"dlkms"
#define DRIVER_DESC	"DisplayLink DL-1x0/DL-1x5 USB display adapters"

/*
 * The cursor is composed in software, so any size up to this is as cheap
 * as its pixels; 256 is the largest IGT and compositors ask for.
 */
#define DLKMS_CURSOR_MAX	256
/* damage rectangles queued for the render worker before they are merged */
#define DLKMS_MAX_DAMAGE	8
/* the largest mode: the 16-bit plane's lines must fit the device's memory */
#define DLKMS_MAX_WIDTH		2048
#define DLKMS_MAX_HEIGHT	2048

/* Module parameters (dlkms_drv.c) */
extern unsigned int dlkms_bpp;

/* Counters shown in debugfs; updated by the commit that renders. */
struct dlkms_stats {
	atomic64_t bytes;		/* bulk bytes submitted */
	atomic64_t transfers;		/* bulk URBs submitted */
	atomic64_t frames;		/* commits that sent pixels */
	atomic64_t rects;		/* damage rectangles sent */
	atomic64_t pixels;		/* pixels encoded */
	atomic64_t render_ns;		/* time in render passes, urb_wait_ns included */
	atomic64_t urb_waits;		/* times the pool was empty (backpressure) */
	atomic64_t urb_wait_ns;		/* ... and the time a pass waited for one */
	atomic64_t search_ns;		/* of render_ns: searching content that moved */
	atomic64_t superseded;		/* passes that left their rest to a newer picture */
	atomic64_t owed_sent;		/* commands completed after a cut transfer */
	atomic64_t moved_lines;		/* lines moved in device memory, not resent */
	atomic64_t copies;		/* copy commands sent for them */
};

/*
 * The cursor as committed. The cursor plane is composed in software into
 * what is sent, also when a later commit changes only the primary plane,
 * so its pixels are kept here rather than in its (then unmapped)
 * framebuffer.
 */
struct dlkms_cursor {
	bool visible;
	int x, y;			/* CRTC coordinates, may be negative */
	unsigned int width, height;
	u32 *image;		/* width x height, premultiplied ARGB8888, packed */
};

struct dlkms_src;

/*
 * The primary plane's state. @src is the render worker's hold on the
 * framebuffer (dlkms_render.c), taken with the shadow-plane helpers'
 * mapping when the commit prepares its planes, so that a failure fails
 * the commit; the commit tail only queues it. NULL: the plane shows
 * black, or the state is not (or no longer) prepared for a commit.
 */
struct dlkms_plane_state {
	struct drm_shadow_plane_state base;
	struct dlkms_src *src;
};

static inline struct dlkms_plane_state *to_dlkms_plane_state(struct drm_plane_state *state)
{
	return container_of(to_drm_shadow_plane_state(state), struct dlkms_plane_state, base);
}

/*
 * What the device has to be given again before more pixels, when it may
 * have lost its state (dlkms_drv.c, power management). Ordered: each asks
 * for what the one before does and more.
 */
enum dlkms_resync {
	DLKMS_RESYNC_NONE,	/* the device holds what was sent */
	DLKMS_RESYNC_REGS,	/* the registers, then every pixel */
	DLKMS_RESYNC_CHANNEL,	/* the channel key first */
};

struct dlkms_device {
	struct drm_device drm;

	struct usb_interface *intf;
	struct usb_device *udev;
	struct device *dmadev;		/* the host controller, for PRIME imports */
	unsigned int bulk_pipe;
	unsigned int bulk_maxp;		/* wMaxPacketSize of the bulk OUT endpoint */
	u8 *channel_key;		/* DMA-safe, for dlkms_usb_select_channel() */
	u32 pixel_limit;		/* max hdisplay * vdisplay (vendor descriptor) */
	unsigned int bpp;		/* 16 or 24, fixed at probe */

	struct drm_plane primary;
	struct drm_plane cursor_plane;
	struct drm_crtc crtc;
	struct drm_encoder encoder;
	struct drm_connector connector;

	/* what the monitor's EDID looked like at the last detect */
	u8 edid_id[18];
	unsigned int edid_misses;	/* presence reads failed in a row */
	const struct drm_edid *edid;	/* the last EDID read in full */
	int edid_xfer_err;		/* how a transfer of the last read failed, 0: none */
	/*
	 * What the log was told about the EDID (dlkms_connector.c): reads
	 * failing (and whether that was told), an EDID that is not valid,
	 * the extension count told, and when the last line was.
	 */
	bool edid_failing, edid_fail_told, edid_invalid, edid_told;
	unsigned long edid_told_at;
	u8 edid_ext;			/* extensions the last base block read claims */
	u8 edid_ext_told;

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
	/*
	 * Set while the device sleeps (system suspend, a USB reset): it is
	 * there but takes no I/O, and hardware sections leave it alone as
	 * they do a gone one. Commits go on; wake-up resends what they did.
	 */
	bool asleep;
	struct work_struct reprobe_work;	/* the connector, after wake-up */
	/*
	 * Runtime PM (dlkms_drv.c): a lit CRTC holds the interface's
	 * autosuspend reference (@pm_held, under @pm_lock); @auto_asleep
	 * says the sleep is an autosuspend, not a system sleep.
	 */
	struct mutex pm_lock;
	bool pm_held;
	bool auto_asleep;

	/* bulk transfer pool */
	struct usb_anchor anchor;
	spinlock_t urb_lock;		/* protects urb_free */
	struct list_head urb_free;
	wait_queue_head_t urb_wait;
	unsigned int urb_count;
	size_t urb_size;		/* what a transfer may fill: see dlkms_urb_submit() */
	/*
	 * A bulk transfer that failed on the wire (halt, protocol error,
	 * babble) took pixels the shadow counts as shown: @xfer_error_work
	 * clears a halt and has the whole picture sent again (dlkms_usb.c).
	 * @xfer_status is the first such status since the work last ran.
	 */
	struct delayed_work xfer_error_work;
	atomic_t xfer_status;
	/*
	 * The adapter took no data for DLKMS_URB_TIMEOUT_MS with every URB
	 * in flight: render passes fail at once instead of waiting, until a
	 * transfer completes; then @stall_end_work has the registers and the
	 * whole picture sent again (dlkms_usb.c).
	 */
	bool bulk_stalled;
	struct work_struct stall_end_work;
	/*
	 * The device parses the bulk stream as one run of commands across
	 * transfers. A transfer killed part-way (a sleep's drain that timed
	 * out) leaves it inside a command, and it would read the next one as
	 * the rest: @owed holds that rest, sent first by the next resync
	 * unless the device was reset meanwhile (dlkms_usb.c). @owed_urb,
	 * when it carries them, starts with @owed_first such bytes. Under
	 * urb_lock.
	 */
	u8 owed[DL_MAX_CMD_BYTES];
	size_t owed_len;
	struct urb *owed_urb;
	size_t owed_first;

	/*
	 * What commits queued for the render worker (dlkms_render.c), under
	 * @queue_lock: the primary plane's framebuffer, the cursor, the
	 * damage in CRTC coordinates, and the mode it is for. @queued counts
	 * queueings, @rendered the last one a render pass has taken in;
	 * @pictures counts those that brought a new primary-plane picture
	 * (not the cursor alone), which supersede a pass in progress.
	 */
	struct mutex queue_lock;
	struct workqueue_struct *render_wq;	/* ordered: one pass at a time */
	struct work_struct render_work;
	struct dlkms_src *src;
	struct dlkms_cursor cursor_q;
	struct drm_rect damage[DLKMS_MAX_DAMAGE];
	unsigned int n_damage;
	unsigned int width, height;
	bool active;
	atomic_t queued, rendered;
	atomic_t pictures;

	/*
	 * Render state, the worker's; the CRC source and mode changes take
	 * @render_lock too.
	 */
	struct mutex render_lock;
	struct dlkms_cursor cursor;
	u32 *line32;			/* one composed scanline, XRGB8888 */
	u16 *line16;			/* ... as the 16-bit plane gets it */
	u8 *line8;			/* ... and the 24-bpp low bits */
	/*
	 * What the device's memory holds, as last sent: lines are compared
	 * against it and only what changed goes out. NULL (no memory for
	 * it) sends everything; !shadow_valid (after a modeset or a failed
	 * transfer) sends the whole screen once to make it true again.
	 * @shadow_mem is allocated once (@shadow_size bytes), for the
	 * largest mode; @shadow16 and @shadow8 are the current mode's planes
	 * in it.
	 */
	void *shadow_mem;
	size_t shadow_size;
	u16 *shadow16;
	u8 *shadow8;
	unsigned int shadow_width, shadow_height;
	bool shadow_valid;
	/* dl_scroll_find()'s scratch, DLKMS_MAX_HEIGHT entries each */
	u64 *scroll_hold, *scroll_hnew, *scroll_pold;
	u8 *scroll_take;
	/*
	 * The register batch the device should hold (the mode's, or the
	 * blank once the CRTC is off), and what the device has to be given
	 * again before more pixels: the next pass sends it, and a pass that
	 * could not is retried a few times from @resync_retry.
	 */
	u8 regs[DL_MODESET_MAX_BYTES];
	size_t regs_len;
	enum dlkms_resync resync;
	unsigned int resync_tries;
	struct delayed_work resync_retry;

	/*
	 * CRC source (dlkms_crc.c): a CRC per line of the shadow, kept for
	 * the lines commits send, and the frame's CRC made of them, which
	 * each vblank reports.
	 */
	u32 *crc_lines;			/* DLKMS_MAX_HEIGHT, under render_lock */
	spinlock_t crc_lock;		/* protects crc_enabled, crc_value, crc_last_* */
	bool crc_enabled;
	bool crc_vblank_ref;		/* holds a vblank reference for it */
	u32 crc_value;
	/* the last entry's frame; valid while the picture has not changed */
	bool crc_last_valid;
	u32 crc_last_frame;
	/* references of closed crc/data files, dropped once the core is done */
	atomic_t crc_puts;
	struct delayed_work crc_put_work;

	struct dlkms_stats stats;
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

/* The device takes I/O now: there and awake. */
static inline bool dlkms_hw_ready(struct dlkms_device *dl)
{
	return !READ_ONCE(dl->gone) && !READ_ONCE(dl->asleep);
}

/* dlkms_drv.c: runtime PM */
void dlkms_pm_crtc_on(struct dlkms_device *dl);
void dlkms_pm_crtc_off(struct dlkms_device *dl);
bool dlkms_pm_get(struct dlkms_device *dl);
void dlkms_pm_put(struct dlkms_device *dl, bool got);

/* dlkms_usb.c */
int dlkms_usb_init(struct dlkms_device *dl);
int dlkms_usb_select_channel(struct dlkms_device *dl);
void dlkms_usb_stop(struct dlkms_device *dl);
int dlkms_read_edid(void *data, u8 *buf, unsigned int block, size_t len);
int dlkms_read_edid_bytes(struct dlkms_device *dl, unsigned int off, u8 *buf,
			  size_t len);
struct urb *dlkms_urb_get(struct dlkms_device *dl);
int dlkms_urb_submit(struct dlkms_device *dl, struct urb *urb, size_t len);
void dlkms_urb_put(struct dlkms_device *dl, struct urb *urb);
int dlkms_send(struct dlkms_device *dl, const u8 *buf, size_t len);
int dlkms_send_owed(struct dlkms_device *dl);
void dlkms_forget_owed(struct dlkms_device *dl);

/* dlkms_connector.c */
int dlkms_connector_init(struct dlkms_device *dl);

/* dlkms_crtc.c */
int dlkms_crtc_init(struct dlkms_device *dl);

/* dlkms_plane.c */
int dlkms_planes_init(struct dlkms_device *dl);
int dlkms_planes_atomic_check(struct dlkms_device *dl, struct dlkms_atomic_state *state);
void dlkms_cursor_async_toggle(struct dlkms_device *dl, struct dlkms_atomic_state *state);

/* dlkms_render.c */
int dlkms_render_init(struct dlkms_device *dl);
void dlkms_render_mode_set(struct dlkms_device *dl, const struct drm_display_mode *mode,
			   const u8 *cmds, size_t len);
void dlkms_render_disable(struct dlkms_device *dl, const u8 *cmds, size_t len);
struct dlkms_src *dlkms_src_new(struct drm_plane_state *state);
void dlkms_src_put(struct dlkms_src *src);
void dlkms_render_queue(struct dlkms_device *dl, struct dlkms_atomic_state *state);
void dlkms_render_queue_cursor(struct dlkms_device *dl, struct drm_plane_state *state);
bool dlkms_render_busy(struct dlkms_device *dl);
void dlkms_render_invalidate(struct dlkms_device *dl, enum dlkms_resync what);
void dlkms_render_refresh(struct dlkms_device *dl);

/* dlkms_modeset.c */
int dlkms_modeset_init(struct dlkms_device *dl);
enum drm_mode_status dlkms_mode_valid(struct dlkms_device *dl,
				      const struct drm_display_mode *mode);

/* dlkms_crc.c */
int dlkms_crc_module_init(void);
void dlkms_crc_module_exit(void);
void dlkms_crc_init(struct dlkms_device *dl);
const char *const *dlkms_crtc_get_crc_sources(struct drm_crtc *crtc, size_t *count);
int dlkms_crtc_verify_crc_source(struct drm_crtc *crtc, const char *source,
				 size_t *values_cnt);
int dlkms_crtc_set_crc_source(struct drm_crtc *crtc, const char *source);
void dlkms_crc_update(struct dlkms_device *dl, unsigned int y1, unsigned int y2);
void dlkms_crc_vblank(struct dlkms_device *dl);

/* dlkms_debugfs.c */
void dlkms_debugfs_init(struct drm_minor *minor);

#endif /* DLKMS_DRV_H */
