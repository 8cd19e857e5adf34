// SPDX-License-Identifier: GPL-2.0-only
/*
 * USB side of dlkms: the adapter's vendor requests (channel select, EDID,
 * vendor descriptor) and the pool of bulk URBs the command stream goes in.
 *
 * Copyright (C) 2026 dlkms developers
 */

#include <linux/ktime.h>
#include <linux/slab.h>
#include <linux/usb.h>

#include <drm/drm_managed.h>
#include <drm/drm_print.h>

#include "dlkms_drv.h"

#define DLKMS_CTRL_TIMEOUT_MS	1000
#define DLKMS_URB_COUNT		8
#define DLKMS_URB_SIZE		(64 * 1024)

#define DL_REQ_EDID		0x02
#define DL_REQ_SET_KEY		0x12
#define DL_EDID_DDC_ADDR	0xa1	/* 0x50 << 1 | read */

/* The "standard channel" key: the device then takes the stream unscrambled. */
static const u8 dl_std_channel[16] = {
	0x57, 0xcd, 0xdc, 0xa7, 0x1c, 0x88, 0x5e, 0x15,
	0x60, 0xfe, 0xc6, 0x97, 0x16, 0x3d, 0x47, 0xf2
};

/*
 * The adapter takes graphics commands only once a channel is selected; it
 * forgets it at a reset or a power loss (then the next render pass selects
 * it again, see dlkms_render.c). That can be a mode set in the commit
 * tail, where nothing is allocated: the key's DMA-safe copy is made at
 * probe.
 */
int dlkms_usb_select_channel(struct dlkms_device *dl)
{
	int ret;

	ret = usb_control_msg(dl->udev, usb_sndctrlpipe(dl->udev, 0), DL_REQ_SET_KEY,
			      USB_DIR_OUT | USB_TYPE_VENDOR | USB_RECIP_DEVICE, 0, 0,
			      dl->channel_key, sizeof(dl_std_channel), DLKMS_CTRL_TIMEOUT_MS);
	return ret < 0 ? ret : 0;
}

/*
 * The 0x5F vendor descriptor lists key/length/value entries; key 0x0200 is
 * the largest pixel area the chip scans out (dl_parse_vendor_desc()).
 * Anything missing or malformed leaves the default, with a log line: it
 * is advice, not a reason to fail.
 */
static void dlkms_parse_vendor_descriptor(struct dlkms_device *dl)
{
	struct drm_device *drm = &dl->drm;
	enum dl_vdesc res;
	u32 area;
	u16 key;
	u8 *desc;
	int ret;

	/* 2048x1152: what the DL-1x5 family documents as its largest mode */
	dl->pixel_limit = 2048 * 1152;

	desc = kzalloc(256, GFP_KERNEL);
	if (!desc)
		return;
	ret = usb_get_descriptor(dl->udev, DL_DESC_VENDOR, 0, desc, 256);
	res = ret < 0 ? DL_VDESC_BAD : dl_parse_vendor_desc(desc, ret, &area, &key);
	if (res == DL_VDESC_BAD) {
		drm_info(drm, "no usable vendor descriptor (%d), limiting modes to %u pixels\n",
			 ret, dl->pixel_limit);
		goto out;
	}
	if (res == DL_VDESC_TRUNCATED)
		drm_info(drm, "truncated vendor descriptor entry 0x%04x\n", key);
	if (area)
		dl->pixel_limit = area;
	drm_info(drm, "adapter scans out up to %u pixels\n", dl->pixel_limit);
out:
	kfree(desc);
}

/*
 * EDID bytes [@off, @off + @len) over the DDC vendor request: the reply is
 * a status byte and then the data, up to 63 bytes a request. Only offsets
 * 0..255 are addressable (the offset is the high byte of wValue). A reply
 * shorter than asked is -EIO, a non-zero status byte (the DDC read failed
 * at the monitor) -EPROTO; a request the adapter does not answer is
 * -ETIMEDOUT after DLKMS_CTRL_TIMEOUT_MS, one it stalls -EPIPE.
 */
int dlkms_read_edid_bytes(struct dlkms_device *dl, unsigned int off, u8 *buf,
			  size_t len)
{
	u8 *rx;
	int ret = 0, n;

	if (off + len > 256)
		return -EINVAL;
	rx = kmalloc(64, GFP_KERNEL);
	if (!rx)
		return -ENOMEM;
	while (len) {
		n = min_t(size_t, len, 63);
		ret = usb_control_msg(dl->udev, usb_rcvctrlpipe(dl->udev, 0), DL_REQ_EDID,
				      USB_DIR_IN | USB_TYPE_VENDOR | USB_RECIP_DEVICE,
				      off << 8, DL_EDID_DDC_ADDR, rx, n + 1,
				      DLKMS_CTRL_TIMEOUT_MS);
		if (ret < 0)
			break;
		if (ret != n + 1 || rx[0]) {
			ret = ret != n + 1 ? -EIO : -EPROTO;
			break;
		}
		memcpy(buf, rx + 1, n);
		buf += n;
		off += n;
		len -= n;
		ret = 0;
	}
	kfree(rx);
	return ret;
}

/*
 * drm_edid_read_custom() callback. The DDC request addresses the first 256
 * bytes only (no E-DDC segment pointer), so a monitor's blocks from 2 on
 * cannot be read: the base block's extension count is cut to one (below),
 * and the EDID is the base block and its first extension, all that is
 * there to read. Should the core ask for a block past them all the same
 * (an HDMI Forum EEODB in block 1 overrides the count), failing the read
 * would lose everything: the core drops the whole EDID when any block's
 * read fails (_drm_do_get_edid() on 6.1 to 7.2). A block that fails its
 * checksum, though, it counts as invalid and leaves out. So such a block
 * is answered with one that cannot pass (all zeros but the checksum byte).
 */
int dlkms_read_edid(void *data, u8 *buf, unsigned int block, size_t len)
{
	struct dlkms_device *dl = data;
	int idx, ret;

	if (block > 1) {
		memset(buf, 0, len);
		buf[len - 1] = 1;
		return 0;
	}
	idx = dlkms_hw_enter(dl);
	if (dlkms_hw_ready(dl))
		ret = dlkms_read_edid_bytes(dl, block * 128, buf, len);
	else
		ret = dlkms_hw_present(dl) ? -EAGAIN : -ENODEV;
	dlkms_hw_exit(dl, idx);
	if (ret) {
		dl->edid_xfer_err = ret;
	} else if (!block && len == 128) {
		dl->edid_ext = buf[126];
		/*
		 * A base block that claims more extensions than the request
		 * reaches: it claims one, checksum kept (right or wrong as it
		 * was). The core would otherwise ask for every block past the
		 * reach, get the block above, and log a notice about each at
		 * every connector probe -- 254 lines a probe for a count of
		 * 255. dlkms_connector.c says it once.
		 */
		if (dl->edid_ext > 1) {
			buf[126] = 1;
			buf[127] += dl->edid_ext - 1;
		}
	}
	return ret;
}

/* Bulk URBs */

/* resends after transfer errors are at least this far apart */
#define DLKMS_XFER_RETRY_MS	100

/*
 * A transfer failed on the wire: what it carried is not on the screen,
 * though the shadow says it is. Clear a halted endpoint, then have the
 * registers and the whole picture sent again (the PM wake-up's resync).
 * Paced: an adapter that fails every transfer gets a full frame at most
 * every DLKMS_XFER_RETRY_MS, not a busy loop. After a yank or during a
 * sleep there is nothing to do: the wake-up resends anyway.
 */
static void dlkms_xfer_error_work(struct work_struct *work)
{
	struct dlkms_device *dl = container_of(to_delayed_work(work), struct dlkms_device,
					       xfer_error_work);
	int status = atomic_xchg(&dl->xfer_status, 0);
	int idx, ret = 0;

	idx = dlkms_hw_enter(dl);
	if (!dlkms_hw_ready(dl)) {
		dlkms_hw_exit(dl, idx);
		return;
	}
	if (status == -EPIPE)
		ret = usb_clear_halt(dl->udev, dl->bulk_pipe);
	dlkms_hw_exit(dl, idx);
	dev_warn_ratelimited(dl->drm.dev, "bulk transfer failed (%d)%s; sending the whole picture again\n",
			     status, status != -EPIPE ? "" : ret ? ", clearing the halt failed" :
			     ", halt cleared");
	dlkms_render_invalidate(dl, DLKMS_RESYNC_REGS);
	dlkms_render_refresh(dl);
}

/*
 * How long a render pass waits for a free URB. USB 2.0 moves all of them
 * (8 x 64 KiB) in about 10 ms; an adapter that took nothing for this long
 * has stopped draining its endpoint, and a commit must not wait for it
 * with the modeset locks held: the pass gives up, and so does every pass
 * after it at once, until a transfer completes.
 */
#define DLKMS_URB_TIMEOUT_MS	1000

/* The adapter takes data again: what the passes in between dropped. */
static void dlkms_stall_end_work(struct work_struct *work)
{
	struct dlkms_device *dl = container_of(work, struct dlkms_device, stall_end_work);
	int idx;

	/* gone or asleep: nothing to send, and the wake-up resends anyway */
	idx = dlkms_hw_enter(dl);
	if (!dlkms_hw_ready(dl)) {
		dlkms_hw_exit(dl, idx);
		return;
	}
	dlkms_hw_exit(dl, idx);
	drm_info(&dl->drm, "the adapter takes data again; sending the whole picture\n");
	dlkms_render_invalidate(dl, DLKMS_RESYNC_REGS);
	dlkms_render_refresh(dl);
}

/*
 * A killed transfer the device took part of: keep what it still expects of
 * the command the cut fell in. Only a kill: the transfers queued after it
 * were killed before it (usb_kill_anchored_urbs() goes from the newest),
 * so the device has seen nothing since. After a failure on the wire the
 * next transfers went on, and the device has already read them as the
 * rest; the whole picture sent again is all that helps then.
 */
static void dlkms_urb_note_cut(struct dlkms_device *dl, struct urb *urb)
{
	size_t first = 0, owed;

	lockdep_assert_held(&dl->urb_lock);
	if (urb == dl->owed_urb) {
		first = dl->owed_first;
		dl->owed_urb = NULL;
	}
	owed = dl_cmd_owed(urb->transfer_buffer, urb->transfer_buffer_length, first,
			   urb->actual_length);
	if (!owed)
		return;
	if (WARN_ON_ONCE(dl->owed_len || owed > sizeof(dl->owed)))
		return;
	memcpy(dl->owed, (u8 *)urb->transfer_buffer + urb->actual_length, owed);
	dl->owed_len = owed;
}

static void dlkms_urb_complete(struct urb *urb)
{
	struct dlkms_device *dl = urb->context;
	unsigned long flags;

	/*
	 * Any completion ends a stall. Killed URBs (a sleep, a yank) leave
	 * the resend to the wake-up; a failed one to xfer_error_work.
	 */
	if (READ_ONCE(dl->bulk_stalled)) {
		WRITE_ONCE(dl->bulk_stalled, false);
		if (!urb->status)
			queue_work(system_dfl_wq, &dl->stall_end_work);
	}

	switch (urb->status) {
	case 0:
		break;
	case -ENOENT:		/* killed: a yank, a sleep, the end */
	case -ECONNRESET:	/* unlinked */
	case -ESHUTDOWN:	/* the host controller or the device went away */
		break;
	default:
		/*
		 * On the wire. -EPROTO is also how some host controllers fail
		 * the transfers of a device being unplugged; the work finds
		 * it gone then.
		 */
		atomic_cmpxchg(&dl->xfer_status, 0, urb->status);
		queue_delayed_work(system_dfl_wq, &dl->xfer_error_work,
				   msecs_to_jiffies(DLKMS_XFER_RETRY_MS));
		break;
	}
	spin_lock_irqsave(&dl->urb_lock, flags);
	if (urb->status == -ENOENT)
		dlkms_urb_note_cut(dl, urb);
	else if (urb == dl->owed_urb)
		dl->owed_urb = NULL;
	list_add_tail(&urb->urb_list, &dl->urb_free);
	spin_unlock_irqrestore(&dl->urb_lock, flags);
	wake_up(&dl->urb_wait);
}

static struct urb *dlkms_urb_take(struct dlkms_device *dl)
{
	struct urb *urb = NULL;

	spin_lock_irq(&dl->urb_lock);
	if (!list_empty(&dl->urb_free)) {
		urb = list_first_entry(&dl->urb_free, struct urb, urb_list);
		list_del_init(&urb->urb_list);
	}
	spin_unlock_irq(&dl->urb_lock);
	return urb;
}

/*
 * A free URB, waiting for one as long as the device is there, awake and
 * draining: damage is never dropped because the device is slow, only when
 * it took nothing for DLKMS_URB_TIMEOUT_MS (see dlkms_stall_end_work()).
 * Callers are inside dlkms_hw_enter(); NULL means the device went away or
 * to sleep, or stopped draining.
 */
struct urb *dlkms_urb_get(struct dlkms_device *dl)
{
	struct urb *urb = dlkms_urb_take(dl);

	if (!urb && !READ_ONCE(dl->bulk_stalled)) {
		ktime_t start = ktime_get();
		long left;

		atomic64_inc(&dl->stats.urb_waits);
		left = wait_event_idle_timeout(dl->urb_wait,
					       !dlkms_hw_ready(dl) || (urb = dlkms_urb_take(dl)),
					       msecs_to_jiffies(DLKMS_URB_TIMEOUT_MS));
		atomic64_add(ktime_to_ns(ktime_sub(ktime_get(), start)), &dl->stats.urb_wait_ns);
		if (!left) {
			WRITE_ONCE(dl->bulk_stalled, true);
			drm_warn(&dl->drm, "the adapter took no data for %d ms; frames are dropped until it does\n",
				 DLKMS_URB_TIMEOUT_MS);
		}
	}
	if (urb && !dlkms_hw_ready(dl)) {
		dlkms_urb_put(dl, urb);
		urb = NULL;
	}
	return urb;
}

/* Why dlkms_urb_get() gave none: the adapter stopped draining, or it is away. */
static int dlkms_urb_none(struct dlkms_device *dl)
{
	return READ_ONCE(dl->bulk_stalled) ? -ETIMEDOUT : -ENODEV;
}

void dlkms_urb_put(struct dlkms_device *dl, struct urb *urb)
{
	spin_lock_irq(&dl->urb_lock);
	list_add_tail(&urb->urb_list, &dl->urb_free);
	spin_unlock_irq(&dl->urb_lock);
	wake_up(&dl->urb_wait);
}

int dlkms_urb_submit(struct dlkms_device *dl, struct urb *urb, size_t len)
{
	int ret;

	/*
	 * A device sees where a bulk transfer ends only at a short packet:
	 * one that reads the stream in requests of several packets holds the
	 * tail of a transfer that filled its last packet until the next
	 * transfer comes, which may be the next frame. One more 0xAF, a no-op
	 * to the adapter (udl ends every clip with one), makes the last packet
	 * short. urb_size leaves the byte free, and a full URB is not a whole
	 * number of packets.
	 */
	if (len && !(len % dl->bulk_maxp) && len < DLKMS_URB_SIZE)
		((u8 *)urb->transfer_buffer)[len++] = DL_CMD_START;
	urb->transfer_buffer_length = len;
	usb_anchor_urb(urb, &dl->anchor);
	ret = usb_submit_urb(urb, GFP_KERNEL);
	if (!ret) {
		atomic64_inc(&dl->stats.transfers);
		atomic64_add(len, &dl->stats.bytes);
	} else {
		usb_unanchor_urb(urb);
		dlkms_urb_put(dl, urb);
		/*
		 * An adapter going away answers with one of these before our
		 * disconnect runs: the device is detached (ENODEV), the HCD
		 * shuts the endpoint down (ESHUTDOWN), the core has already
		 * disabled it (ENOENT) or the URBs are being killed (EPERM).
		 * None is worth a line; the yank is logged once, at disconnect.
		 */
		if (ret != -ENODEV && ret != -ESHUTDOWN && ret != -ENOENT && ret != -EPERM)
			drm_err_ratelimited(&dl->drm, "bulk submit failed: %d\n", ret);
	}
	return ret;
}

/* Sends a short command sequence (register batches) in one URB. */
int dlkms_send(struct dlkms_device *dl, const u8 *buf, size_t len)
{
	struct urb *urb;

	if (len > dl->urb_size)
		return -EINVAL;
	urb = dlkms_urb_get(dl);
	if (!urb)
		return dlkms_urb_none(dl);
	memcpy(urb->transfer_buffer, buf, len);
	return dlkms_urb_submit(dl, urb, len);
}

/*
 * The rest of a command cut by a kill, before anything else goes (see
 * dlkms_urb_note_cut()); the resync's first step. In a hardware section.
 */
int dlkms_send_owed(struct dlkms_device *dl)
{
	struct urb *urb;
	size_t len;
	int ret;

	if (!READ_ONCE(dl->owed_len))
		return 0;
	urb = dlkms_urb_get(dl);
	if (!urb)
		return dlkms_urb_none(dl);
	spin_lock_irq(&dl->urb_lock);
	len = dl->owed_len;
	memcpy(urb->transfer_buffer, dl->owed, len);
	dl->owed_len = 0;
	dl->owed_urb = urb;
	dl->owed_first = len;
	spin_unlock_irq(&dl->urb_lock);
	ret = dlkms_urb_submit(dl, urb, len);
	if (ret) {
		/* not sent: still owed */
		spin_lock_irq(&dl->urb_lock);
		dl->owed_urb = NULL;
		dl->owed_len = len;
		spin_unlock_irq(&dl->urb_lock);
		return ret;
	}
	atomic64_inc(&dl->stats.owed_sent);
	return 0;
}

/* The device was reset: its parser starts afresh, and owes nothing. */
void dlkms_forget_owed(struct dlkms_device *dl)
{
	spin_lock_irq(&dl->urb_lock);
	dl->owed_len = 0;
	dl->owed_urb = NULL;
	spin_unlock_irq(&dl->urb_lock);
}

static void dlkms_urbs_free(struct dlkms_device *dl)
{
	struct urb *urb;

	while ((urb = dlkms_urb_take(dl))) {
		usb_free_coherent(dl->udev, DLKMS_URB_SIZE, urb->transfer_buffer,
				  urb->transfer_dma);
		usb_free_urb(urb);
		dl->urb_count--;
	}
}

static int dlkms_urbs_alloc(struct dlkms_device *dl)
{
	unsigned int i;
	struct urb *urb;
	void *buf;

	/* the last byte is for dlkms_urb_submit()'s pad */
	dl->urb_size = DLKMS_URB_SIZE - 1;

	for (i = 0; i < DLKMS_URB_COUNT; i++) {
		urb = usb_alloc_urb(0, GFP_KERNEL);
		if (!urb)
			break;
		buf = usb_alloc_coherent(dl->udev, DLKMS_URB_SIZE, GFP_KERNEL,
					 &urb->transfer_dma);
		if (!buf) {
			usb_free_urb(urb);
			break;
		}
		usb_fill_bulk_urb(urb, dl->udev, dl->bulk_pipe, buf, DLKMS_URB_SIZE,
				  dlkms_urb_complete, dl);
		urb->transfer_flags |= URB_NO_TRANSFER_DMA_MAP;
		list_add_tail(&urb->urb_list, &dl->urb_free);
		dl->urb_count++;
	}
	if (!dl->urb_count)
		return -ENOMEM;
	return 0;
}

/* Everything the device needs before KMS comes up. */
int dlkms_usb_init(struct dlkms_device *dl)
{
	struct usb_endpoint_descriptor *out;
	int ret;

	/* first: dlkms_usb_stop() undoes a probe that fails from here on */
	INIT_DELAYED_WORK(&dl->xfer_error_work, dlkms_xfer_error_work);
	INIT_WORK(&dl->stall_end_work, dlkms_stall_end_work);
	init_usb_anchor(&dl->anchor);
	spin_lock_init(&dl->urb_lock);
	INIT_LIST_HEAD(&dl->urb_free);
	init_waitqueue_head(&dl->urb_wait);

	ret = usb_find_common_endpoints(dl->intf->cur_altsetting, NULL, &out, NULL, NULL);
	if (ret) {
		drm_err(&dl->drm, "no bulk OUT endpoint: not a DisplayLink display interface\n");
		return -ENODEV;
	}
	dl->bulk_maxp = usb_endpoint_maxp(out);
	if (!dl->bulk_maxp) {
		drm_err(&dl->drm, "bulk OUT endpoint 0x%02x has a packet size of 0\n",
			out->bEndpointAddress);
		return -ENODEV;
	}
	dl->bulk_pipe = usb_sndbulkpipe(dl->udev, usb_endpoint_num(out));
	drm_info(&dl->drm, "DisplayLink %04x:%04x, bulk OUT endpoint 0x%02x\n",
		 le16_to_cpu(dl->udev->descriptor.idVendor),
		 le16_to_cpu(dl->udev->descriptor.idProduct), out->bEndpointAddress);

	dlkms_parse_vendor_descriptor(dl);
	/* drmm_ memory is kmalloc'ed and aligned for DMA (drm_managed.c) */
	dl->channel_key = drmm_kmalloc(&dl->drm, sizeof(dl_std_channel), GFP_KERNEL);
	if (!dl->channel_key)
		return -ENOMEM;
	memcpy(dl->channel_key, dl_std_channel, sizeof(dl_std_channel));
	ret = dlkms_usb_select_channel(dl);
	if (ret) {
		/* the first modeset tries again */
		drm_warn(&dl->drm, "selecting the standard channel failed: %d\n", ret);
		dl->resync = DLKMS_RESYNC_CHANNEL;
	}

	return dlkms_urbs_alloc(dl);
}

/* At disconnect, after the last hardware section ended: no more USB I/O. */
void dlkms_usb_stop(struct dlkms_device *dl)
{
	usb_kill_anchored_urbs(&dl->anchor);
	/* no URB left to fail: a recovery queued before ends here */
	cancel_delayed_work_sync(&dl->xfer_error_work);
	cancel_work_sync(&dl->stall_end_work);
	dlkms_urbs_free(dl);
}
