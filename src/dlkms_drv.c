// SPDX-License-Identifier: GPL-2.0-only
/*
 * dlkms: KMS driver for DisplayLink DL-1x0/DL-1x5 USB 2.0 display adapters.
 *
 * Binds vendor 0x17e9 interfaces of class ff/00/00 (any product: the
 * product ids are many and the interface class is what identifies the
 * protocol) and drives them as an atomic KMS device on shmem GEM.
 *
 * Copyright (C) 2026 dlkms developers
 */

#include <linux/device.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/usb.h>

#include <drm/drm_atomic_helper.h>
#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_managed.h>
#include <drm/drm_prime.h>
#include <drm/drm_print.h>
#include <drm/drm_probe_helper.h>
#include <drm/drm_sysfs.h>

#include "dlkms_drv.h"

unsigned int dlkms_bpp = 16;
module_param_named(bpp, dlkms_bpp, uint, 0444);
MODULE_PARM_DESC(bpp, "Colour depth on the wire: 16 (RGB565, default, 2 bytes a pixel) or 24 (adds the low bits, 3 bytes a pixel)");

/*
 * The one place that knows whether the device is still there. Hardware
 * paths run between dlkms_hw_enter() and dlkms_hw_exit() and touch the
 * device only while dlkms_hw_present(); disconnect sets @gone and waits for
 * every such section before the USB resources go. The section is always
 * entered and always left, which keeps sparse's lock-context checking whole.
 */
int dlkms_hw_enter(struct dlkms_device *dl) __acquires(&dl->hw_srcu)
{
	return srcu_read_lock(&dl->hw_srcu);
}

void dlkms_hw_exit(struct dlkms_device *dl, int idx) __releases(&dl->hw_srcu)
{
	srcu_read_unlock(&dl->hw_srcu, idx);
}

#ifndef DLKMS_HAVE_DMA_DEV
/*
 * The USB interface cannot do DMA; imported buffers are attached to the
 * host controller that does it on the adapter's behalf.
 */
static struct drm_gem_object *dlkms_gem_prime_import(struct drm_device *drm,
						     struct dma_buf *dma_buf)
{
	struct dlkms_device *dl = to_dlkms(drm);

	if (!dl->dmadev)
		return ERR_PTR(-EOPNOTSUPP);
	return drm_gem_prime_import_dev(drm, dma_buf, dl->dmadev);
}
#endif

/*
 * After a yank the device stays a working DRM device for the fds, mmaps
 * and dma-bufs that hold it (see dlkms_usb_disconnect()); what the
 * hot-unplug uAPI wants refused is refused here, before the core sees it.
 */
static bool dlkms_file_gone(struct file *filp)
{
	struct drm_file *file_priv = filp->private_data;

	return !dlkms_hw_present(to_dlkms(file_priv->minor->dev));
}

/*
 * A lease of a device that is gone is not worth having. drm_ioctl() picks
 * the handler by the command's number alone and copies whatever size the
 * command encodes (zero-filling or truncating), so the number, not the
 * whole command, says what is asked for: CREATE_LEASE encoded with another
 * size or direction is CREATE_LEASE all the same.
 */
static bool dlkms_ioctl_refused(struct file *filp, unsigned int cmd)
{
	return _IOC_NR(cmd) == _IOC_NR(DRM_IOCTL_MODE_CREATE_LEASE) && dlkms_file_gone(filp);
}

static long dlkms_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	if (dlkms_ioctl_refused(filp, cmd))
		return -ENODEV;
	return drm_ioctl(filp, cmd, arg);
}

#ifdef CONFIG_COMPAT
/* struct drm_mode_create_lease has the same layout for 32-bit callers */
static long dlkms_compat_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	if (dlkms_ioctl_refused(filp, cmd))
		return -ENODEV;
	return drm_compat_ioctl(filp, cmd, arg);
}
#else
#define dlkms_compat_ioctl NULL
#endif

static const struct file_operations dlkms_fops = {
	.owner = THIS_MODULE,
	.open = drm_open,
	.release = drm_release,
	.unlocked_ioctl = dlkms_ioctl,
	.compat_ioctl = dlkms_compat_ioctl,
	.poll = drm_poll,
	.read = drm_read,
	.llseek = noop_llseek,
	.mmap = drm_gem_mmap,
	DLKMS_GEM_FOPS_UNMAPPED_AREA
	DLKMS_GEM_FOPS_FLAGS
};

static const struct drm_driver dlkms_drm_driver = {
	.driver_features = DRIVER_ATOMIC | DRIVER_GEM | DRIVER_MODESET,
	.fops = &dlkms_fops,
	DRM_GEM_SHMEM_DRIVER_OPS,
	DLKMS_GEM_PRIME_IMPORT(dlkms_gem_prime_import)
	.debugfs_init = dlkms_debugfs_init,
	.name = DRIVER_NAME,
	.desc = DRIVER_DESC,
	DLKMS_DRIVER_DATE("20261124")
	.major = 0,
	.minor = 1,
	DLKMS_FBDEV_DRIVER_OPS
};

/* the first action registered, so the last one run: the device is gone */
static void dlkms_srcu_fini(struct drm_device *drm, void *unused)
{
	cleanup_srcu_struct(&to_dlkms(drm)->hw_srcu);
	drm_info(drm, "released: the last user of the device is gone\n");
}

static void dlkms_dmadev_put(struct drm_device *drm, void *unused)
{
	put_device(to_dlkms(drm)->dmadev);
}

static int dlkms_dma_init(struct dlkms_device *dl)
{
	struct drm_device *drm = &dl->drm;

	dl->dmadev = usb_intf_get_dma_device(dl->intf);
	if (!dl->dmadev) {
		drm_info(drm, "the USB host controller does no DMA: importing buffers is not supported\n");
		return 0;
	}
	dlkms_set_dma_dev(drm, dl->dmadev);
	return drmm_add_action_or_reset(drm, dlkms_dmadev_put, NULL);
}

/*
 * After wake-up (see power management below): another monitor, or none,
 * is a hotplug event, as the output poll would find it ten seconds later.
 * (drm_connector_helper_hpd_irq_event() is for connectors with HPD.)
 */
static void dlkms_reprobe_work(struct work_struct *work)
{
	struct dlkms_device *dl = container_of(work, struct dlkms_device, reprobe_work);
	struct drm_connector *connector = &dl->connector;
	struct drm_device *drm = &dl->drm;
	bool changed;
	u64 epoch;

	mutex_lock(&drm->mode_config.mutex);
	epoch = connector->epoch_counter;
	connector->status = drm_helper_probe_detect(connector, NULL, false);
	changed = connector->epoch_counter != epoch;
	mutex_unlock(&drm->mode_config.mutex);
	if (changed)
		drm_kms_helper_hotplug_event(drm);
}

static int dlkms_usb_probe(struct usb_interface *intf,
			   const struct usb_device_id *id)
{
	struct dlkms_device *dl;
	struct drm_device *drm;
	int ret;

	dl = devm_drm_dev_alloc(&intf->dev, &dlkms_drm_driver, struct dlkms_device, drm);
	if (IS_ERR(dl))
		return PTR_ERR(dl);
	drm = &dl->drm;
	dl->intf = intf;
	dl->udev = interface_to_usbdev(intf);
	dl->bpp = dlkms_bpp;
	INIT_WORK(&dl->reprobe_work, dlkms_reprobe_work);
	ret = drmm_mutex_init(drm, &dl->pm_lock);
	if (ret)
		return ret;
	if (dl->bpp != 16 && dl->bpp != 24) {
		drm_warn(drm, "bpp=%u is not 16 or 24, using 16\n", dl->bpp);
		dl->bpp = 16;
	}

	ret = init_srcu_struct(&dl->hw_srcu);
	if (ret)
		return ret;
	ret = drmm_add_action_or_reset(drm, dlkms_srcu_fini, NULL);
	if (ret)
		return ret;

	ret = dlkms_dma_init(dl);
	if (ret)
		return ret;
	ret = dlkms_usb_init(dl);
	if (ret)
		goto err_usb;
	ret = dlkms_modeset_init(dl);
	if (ret)
		goto err_usb;

	usb_set_intfdata(intf, dl);
	ret = drm_dev_register(drm, 0);
	if (ret)
		goto err_usb;
	dlkms_fbdev_setup(drm);
	return 0;

err_usb:
	dlkms_usb_stop(dl);
	return ret;
}

/*
 * The yank. The hardware goes now: no section touches the device after
 * synchronize_srcu(), the URBs are killed and freed, and the interface is
 * released when this returns. The DRM device stays for whoever holds it,
 * as the hot-unplug uAPI asks: connectors read disconnected, commits keep
 * succeeding on the last state and their events keep coming from the
 * software vblank, mmaps and dma-bufs stay valid, and the state goes with
 * the last reference (drmm).
 *
 * So this is not drm_dev_unplug(), after which the core fails every ioctl
 * with ENODEV, and there is no drm_atomic_helper_shutdown(): commits that
 * worked before the yank must keep working. drm_dev_unregister() removes
 * the card node and unregisters the connectors; dlkms_mode_config's
 * atomic_check lets commits route them all the same.
 */
static void dlkms_pm_release(struct dlkms_device *dl);

static void dlkms_usb_disconnect(struct usb_interface *intf)
{
	struct dlkms_device *dl = usb_get_intfdata(intf);
	struct drm_device *drm = &dl->drm;

	cancel_work_sync(&dl->reprobe_work);
	WRITE_ONCE(dl->gone, true);
	wake_up_all(&dl->urb_wait);
	synchronize_srcu(&dl->hw_srcu);
	dlkms_usb_stop(dl);
	dlkms_pm_release(dl);
	usb_set_intfdata(intf, NULL);
	drm_info(drm, "adapter unplugged; its DRM device lives on until the last user closes it\n");

	/*
	 * Tell userspace while the card's node is still there to say it on.
	 * Only userspace: the fbdev client would reprobe a connector with no
	 * modes left and log about it, for a console that is going anyway.
	 */
	drm_kms_helper_poll_disable(drm);
	mutex_lock(&drm->mode_config.mutex);
	/*
	 * Nothing is left to poll, and nothing may start the poll again: on
	 * 6.12 and 7.2 every probe of a connector (a master's GETCONNECTOR)
	 * re-enables the polling drm_kms_helper_poll_disable() stopped, as
	 * long as a connector is marked polled (6.1 only when the poll module
	 * parameter changed). So the connector is not marked any more.
	 */
	dl->connector.polled = 0;
	dl->connector.status = connector_status_disconnected;
	dl->connector.epoch_counter++;
	mutex_unlock(&drm->mode_config.mutex);
	drm_sysfs_hotplug_event(drm);

	drm_dev_unregister(drm);
}

/*
 * Power management: system suspend and resume, hibernation (the USB core
 * maps freeze/thaw/restore onto the same callbacks) and USB resets. A
 * sleeping adapter is still this device: the DRM device and its minor,
 * fds, mmaps, dma-bufs and leases stay as they are, and so does the KMS
 * state -- no commit disables the CRTC, commits go on while the adapter
 * sleeps (those of a USB reset do: userspace is not frozen for it), and
 * their events keep coming from the software vblank. Only the hardware
 * sections stop touching the device, as they do for a gone one.
 *
 * At wake-up the adapter may have lost anything: after a plain resume its
 * registers and memory (or the monitor is another one: the dock was
 * replugged elsewhere), after a reset-resume (power lost) or a USB reset
 * also the channel key. So the next render pass gives it all back -- key,
 * registers, every pixel of the latest state -- and the connector is
 * probed again. That is done from workers, not here: during a system
 * resume the rest of the system (an emulated adapter's userspace, say)
 * may not answer before it is thawed, and a slow device must not stall
 * the resume.
 *
 * An adapter unplugged while asleep is disconnected at resume without
 * waking (the USB core does not resume a device it finds gone): the yank
 * above runs as for any other.
 */

/* how long URBs in flight at suspend get to complete before they are killed */
#define DLKMS_SLEEP_DRAIN_MS	1000

/*
 * @system: a system sleep or a USB reset, which stops the output poll and
 * the reprobe for its time; an autosuspend leaves them going (see runtime
 * PM below).
 */
static void dlkms_sleep(struct dlkms_device *dl, bool system)
{
	if (system) {
		drm_kms_helper_poll_disable(&dl->drm);
		cancel_work_sync(&dl->reprobe_work);
	}

	WRITE_ONCE(dl->asleep, true);
	/* a pass waiting for a free URB gives up */
	wake_up_all(&dl->urb_wait);
	/* no section that found the device awake is left */
	synchronize_srcu(&dl->hw_srcu);
	/*
	 * What is in flight may complete, for a while; wake-up resends all,
	 * after the rest of a command the kill cut (dlkms_urb_note_cut()).
	 */
	if (!usb_wait_anchor_empty_timeout(&dl->anchor, DLKMS_SLEEP_DRAIN_MS))
		usb_kill_anchored_urbs(&dl->anchor);
}

/*
 * @reset: the device was reset (a reset-resume or a USB reset), so its
 * command parser starts afresh; after a plain resume it is where the
 * sleep left it, maybe inside a command a kill cut (dlkms_send_owed()).
 */
static void dlkms_wake(struct dlkms_device *dl, enum dlkms_resync what, bool reset)
{
	bool system = !dl->auto_asleep;

	dl->auto_asleep = false;
	if (reset)
		dlkms_forget_owed(dl);
	/* the resync is due before the first pass that finds the device awake */
	dlkms_render_invalidate(dl, what);
	WRITE_ONCE(dl->asleep, false);
	dlkms_render_refresh(dl);

	if (!system)
		return;
	drm_kms_helper_poll_enable(&dl->drm);
	/* freezable: runs once the system is thawed */
	queue_work(system_freezable_wq, &dl->reprobe_work);
}

static int dlkms_usb_suspend(struct usb_interface *intf, pm_message_t message)
{
	struct dlkms_device *dl = usb_get_intfdata(intf);

	if (PMSG_IS_AUTO(message)) {
		dl->auto_asleep = true;
		dlkms_sleep(dl, false);
	} else if (dl->auto_asleep) {
		/* autosuspended already: the system sleep stops the poll too */
		dl->auto_asleep = false;
		drm_kms_helper_poll_disable(&dl->drm);
		cancel_work_sync(&dl->reprobe_work);
	} else {
		dlkms_sleep(dl, true);
	}
	return 0;
}

/*
 * A plain resume says the adapter kept its power; the channel goes again
 * all the same (one control transfer), for adapters that lose it anyway.
 */
static int dlkms_usb_resume(struct usb_interface *intf)
{
	dlkms_wake(usb_get_intfdata(intf), DLKMS_RESYNC_CHANNEL, false);
	return 0;
}

static int dlkms_usb_reset_resume(struct usb_interface *intf)
{
	dlkms_wake(usb_get_intfdata(intf), DLKMS_RESYNC_CHANNEL, true);
	return 0;
}

static int dlkms_usb_pre_reset(struct usb_interface *intf)
{
	dlkms_sleep(usb_get_intfdata(intf), true);
	return 0;
}

static int dlkms_usb_post_reset(struct usb_interface *intf)
{
	dlkms_wake(usb_get_intfdata(intf), DLKMS_RESYNC_CHANNEL, true);
	return 0;
}

/*
 * Runtime PM. Where userspace allows autosuspend (power/control "auto";
 * the USB core starts non-hub devices at "on"), the adapter may sleep
 * while its CRTC is off, a compositor's DPMS off or a blanked console: a
 * lit CRTC holds the interface's PM reference from its enable to its
 * disable. The connector's probes wake the adapter for the time they talk
 * to it, so the output poll still finds a monitor plugged in; the device
 * is then awake for the poll and the autosuspend delay after it. An
 * autosuspend goes through the sleep and wake above, but leaves the poll
 * and the reprobe alone: a probe waiting for the device to wake must not
 * be waited for by the suspend it waits on.
 *
 * Nothing here touches the interface after the yank: dlkms_pm_release()
 * drops the reference then, and the gone check under @pm_lock keeps later
 * commits (which go on, faked) from taking one.
 */

/* Takes a reference that keeps the adapter awake; false if none was taken. */
bool dlkms_pm_get(struct dlkms_device *dl)
{
	bool got = false;

	mutex_lock(&dl->pm_lock);
	if (dlkms_hw_present(dl))
		got = !usb_autopm_get_interface(dl->intf);
	mutex_unlock(&dl->pm_lock);
	return got;
}

void dlkms_pm_put(struct dlkms_device *dl, bool got)
{
	if (!got)
		return;
	mutex_lock(&dl->pm_lock);
	if (dlkms_hw_present(dl))
		usb_autopm_put_interface(dl->intf);
	mutex_unlock(&dl->pm_lock);
}

/* The CRTC lights: the adapter is woken now and stays awake until it goes off. */
void dlkms_pm_crtc_on(struct dlkms_device *dl)
{
	mutex_lock(&dl->pm_lock);
	if (!dl->pm_held && dlkms_hw_present(dl))
		dl->pm_held = !usb_autopm_get_interface(dl->intf);
	mutex_unlock(&dl->pm_lock);
}

void dlkms_pm_crtc_off(struct dlkms_device *dl)
{
	mutex_lock(&dl->pm_lock);
	if (dl->pm_held && dlkms_hw_present(dl))
		usb_autopm_put_interface(dl->intf);
	dl->pm_held = false;
	mutex_unlock(&dl->pm_lock);
}

/*
 * The yank, after @gone is set: the USB core does not undo a driver's PM
 * references at unbind, so the CRTC's goes here.
 */
static void dlkms_pm_release(struct dlkms_device *dl)
{
	mutex_lock(&dl->pm_lock);
	if (dl->pm_held)
		usb_autopm_put_interface_no_suspend(dl->intf);
	dl->pm_held = false;
	mutex_unlock(&dl->pm_lock);
}

/*
 * DisplayLink may raise the subclass or protocol for incompatible chips, so
 * match all three interface fields, as udl does.
 */
static const struct usb_device_id dlkms_id_table[] = {
	{
		.match_flags = USB_DEVICE_ID_MATCH_VENDOR |
			       USB_DEVICE_ID_MATCH_INT_CLASS |
			       USB_DEVICE_ID_MATCH_INT_SUBCLASS |
			       USB_DEVICE_ID_MATCH_INT_PROTOCOL,
		.idVendor = 0x17e9,
		.bInterfaceClass = USB_CLASS_VENDOR_SPEC,
		.bInterfaceSubClass = 0x00,
		.bInterfaceProtocol = 0x00,
	},
	{ }
};
MODULE_DEVICE_TABLE(usb, dlkms_id_table);

static struct usb_driver dlkms_usb_driver = {
	.name = DRIVER_NAME,
	.probe = dlkms_usb_probe,
	.disconnect = dlkms_usb_disconnect,
	.suspend = dlkms_usb_suspend,
	.resume = dlkms_usb_resume,
	.reset_resume = dlkms_usb_reset_resume,
	.pre_reset = dlkms_usb_pre_reset,
	.post_reset = dlkms_usb_post_reset,
	.id_table = dlkms_id_table,
	.supports_autosuspend = 1,
};

static int __init dlkms_init(void)
{
	int ret;

	ret = dlkms_crc_module_init();
	if (ret)
		return ret;
	ret = usb_register(&dlkms_usb_driver);
	if (ret)
		dlkms_crc_module_exit();
	return ret;
}
module_init(dlkms_init);

static void __exit dlkms_exit(void)
{
	usb_deregister(&dlkms_usb_driver);
	dlkms_crc_module_exit();
}
module_exit(dlkms_exit);

MODULE_DESCRIPTION("KMS driver for " DRIVER_DESC);
MODULE_AUTHOR("dlkms developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(DLKMS_VERSION);
