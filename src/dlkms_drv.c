// SPDX-License-Identifier: GPL-2.0-only
/*
 * dlkms: KMS driver for DisplayLink DL-1x0/DL-1x5 USB 2.0 display adapters.
 *
 * Binds vendor 0x17e9 interfaces of class ff/00/00 (any product: the
 * product ids are many and the interface class is what identifies the
 * protocol) and finds the bulk OUT endpoint from the descriptors instead of
 * assuming endpoint 1.
 *
 * Copyright (C) 2026 dlkms developers
 */

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/usb.h>

#define DRIVER_NAME	"dlkms"

struct dlkms_usb {
	struct usb_device *udev;
	struct usb_endpoint_descriptor *bulk_out;
};

static int dlkms_usb_probe(struct usb_interface *intf,
			   const struct usb_device_id *id)
{
	struct usb_device *udev = interface_to_usbdev(intf);
	struct usb_endpoint_descriptor *out;
	struct dlkms_usb *dl;
	int ret;

	ret = usb_find_common_endpoints(intf->cur_altsetting, NULL, &out, NULL, NULL);
	if (ret) {
		dev_err(&intf->dev, "no bulk OUT endpoint, not a DisplayLink display interface\n");
		return -ENODEV;
	}

	dl = kzalloc(sizeof(*dl), GFP_KERNEL);
	if (!dl)
		return -ENOMEM;
	dl->udev = udev;
	dl->bulk_out = out;
	usb_set_intfdata(intf, dl);

	dev_info(&intf->dev, "DisplayLink %04x:%04x interface %u, bulk OUT endpoint 0x%02x (max packet %u)\n",
		 le16_to_cpu(udev->descriptor.idVendor),
		 le16_to_cpu(udev->descriptor.idProduct),
		 intf->cur_altsetting->desc.bInterfaceNumber,
		 out->bEndpointAddress, usb_endpoint_maxp(out));
	return 0;
}

static void dlkms_usb_disconnect(struct usb_interface *intf)
{
	struct dlkms_usb *dl = usb_get_intfdata(intf);

	dev_info(&intf->dev, "DisplayLink adapter disconnected\n");
	usb_set_intfdata(intf, NULL);
	kfree(dl);
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
	.id_table = dlkms_id_table,
};
module_usb_driver(dlkms_usb_driver);

MODULE_DESCRIPTION("KMS driver for DisplayLink DL-1x0/DL-1x5 USB display adapters");
MODULE_AUTHOR("dlkms developers");
MODULE_LICENSE("GPL");
