// SPDX-License-Identifier: GPL-2.0-only
/*
 * hubport: yank a USB device the way a physical yank rig with per-port
 * switching hubs does, by switching its hub port's power with the hub class
 * requests of USB 2.0 11.24.2: ClearPortFeature(PORT_POWER) powers the port
 * off, SetPortFeature(PORT_POWER) on, GetPortStatus reads wPortStatus and
 * wPortChange.
 *
 *   hubport find VID                      the hub port the device sits on:
 *                                         "BUS-PORTPATH hub=/dev/bus/usb/BBB/DDD port=N"
 *   hubport off|on|status VID [PORT]
 *   hubport off|on|status HUB PORT        HUB: /dev/bus/usb/BBB/DDD, usbN, N-P.P...
 *   hubport cycle VID|HUB [PORT] [--off-ms N]   off, wait N ms (1000), on
 *
 * VID is the device's vendor id in hex (17e9). Once the port is off the
 * device may be gone from the bus, so "off" with a VID leaves the port it
 * found in /run/hubport-VID, which "on" and "status" with that VID use when
 * no such device is on the bus any more.
 *
 * The kernel's hub driver keeps the hub: usbfs lets any opener send control
 * requests whose recipient is "other" (a port) without claiming an
 * interface, so nothing is detached. off and on read the port back and
 * exit 1 unless its power bit followed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libusb-1.0/libusb.h>

#define TIMEOUT_MS		1000

/* USB 2.0 table 11-15/11-17, USB 3.x 10.16.2.6 */
#define RT_PORT_OUT		0x23	/* class, recipient other (port), host to device */
#define RT_PORT_IN		0xa3
#define RT_HUB_IN		0xa0
#define REQ_GET_STATUS		0
#define REQ_CLEAR_FEATURE	1
#define REQ_SET_FEATURE		3
#define REQ_GET_DESCRIPTOR	6
#define FEAT_PORT_POWER		8
#define DT_HUB			0x29
#define DT_SS_HUB		0x2a
#define PORT_POWER_BIT		0x0100	/* wPortStatus bit 8, USB 2.0 */
#define SS_PORT_POWER_BIT	0x0200	/* bit 9 on a USB 3 hub */

struct target {
	libusb_device *hub;
	int port;
	char hubname[32];	/* sysfs name: usbN or N-P.P */
	char hubnode[32];	/* /dev/bus/usb/BBB/DDD */
	bool ss;		/* a USB 3 hub: the SuperSpeed wPortStatus layout */
};

static libusb_device **list;
static ssize_t nlist;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hubport: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/* The sysfs name of @dev: usbN for a root hub, else N-P.P.P */
static void dev_name(libusb_device *dev, char *buf, size_t len)
{
	uint8_t path[8];
	int n = libusb_get_port_numbers(dev, path, sizeof(path)), i;
	size_t o;

	if (n <= 0) {
		snprintf(buf, len, "usb%u", libusb_get_bus_number(dev));
		return;
	}
	o = snprintf(buf, len, "%u-", libusb_get_bus_number(dev));
	for (i = 0; i < n && o < len; i++)
		o += snprintf(buf + o, len - o, i ? ".%u" : "%u", path[i]);
}

static void set_hub(struct target *t, libusb_device *hub)
{
	struct libusb_device_descriptor dd;

	t->hub = hub;
	dev_name(hub, t->hubname, sizeof(t->hubname));
	snprintf(t->hubnode, sizeof(t->hubnode), "/dev/bus/usb/%03u/%03u",
		 libusb_get_bus_number(hub), libusb_get_device_address(hub));
	if (libusb_get_device_descriptor(hub, &dd))
		die("%s: no device descriptor", t->hubname);
	t->ss = dd.bcdUSB >= 0x0300;
	if (dd.bDeviceClass != LIBUSB_CLASS_HUB)
		die("%s (%s) is not a hub (class 0x%02x)", t->hubnode, t->hubname,
		    dd.bDeviceClass);
}

static bool is_vid(const char *s)
{
	return strlen(s) == 4 && strspn(s, "0123456789abcdefABCDEF") == 4;
}

/* The first device with vendor @vid and its hub port; false if none. */
static bool find_vid(unsigned int vid, struct target *t, char *name, size_t nlen)
{
	ssize_t k;

	for (k = 0; k < nlist; k++) {
		struct libusb_device_descriptor dd;
		libusb_device *parent;

		if (libusb_get_device_descriptor(list[k], &dd) || dd.idVendor != vid)
			continue;
		parent = libusb_get_parent(list[k]);
		if (!parent)
			continue;	/* a root hub has no port */
		set_hub(t, parent);
		t->port = libusb_get_port_number(list[k]);
		dev_name(list[k], name, nlen);
		return true;
	}
	return false;
}

/* A hub by node (/dev/bus/usb/BBB/DDD) or sysfs name (usbN, N-P.P). */
static bool find_hub(const char *spec, struct target *t)
{
	unsigned int bus, addr;
	char name[32];
	ssize_t k;

	for (k = 0; k < nlist; k++) {
		if (sscanf(spec, "/dev/bus/usb/%u/%u", &bus, &addr) == 2) {
			if (libusb_get_bus_number(list[k]) != bus ||
			    libusb_get_device_address(list[k]) != addr)
				continue;
		} else {
			dev_name(list[k], name, sizeof(name));
			if (strcmp(name, spec))
				continue;
		}
		set_hub(t, list[k]);
		return true;
	}
	return false;
}

static void state_path(const char *vid, char *buf, size_t len)
{
	snprintf(buf, len, "/run/hubport-%s", vid);
}

/* Resolve "VID [PORT]" or "HUB PORT" into @t. */
static void resolve(const char *spec, const char *port, struct target *t)
{
	char name[32], path[64], hub[64];
	FILE *f;

	memset(t, 0, sizeof(*t));
	if (is_vid(spec)) {
		if (!find_vid(strtoul(spec, NULL, 16), t, name, sizeof(name))) {
			/* powered off already: the port "off" wrote down */
			state_path(spec, path, sizeof(path));
			f = fopen(path, "r");
			if (!f)
				die("no device with vendor id %s on the bus, and no %s", spec, path);
			if (fscanf(f, "%63s %d", hub, &t->port) != 2)
				die("%s: unreadable", path);
			fclose(f);
			if (!find_hub(hub, t))
				die("hub %s from %s not on the bus", hub, path);
		}
	} else if (!find_hub(spec, t)) {
		die("no hub %s", spec);
	}
	if (port)
		t->port = atoi(port);
	if (t->port < 1 || t->port > 255)
		die("bad port %s", port ? port : "(none)");
}

static libusb_device_handle *open_hub(struct target *t)
{
	libusb_device_handle *h;
	int r = libusb_open(t->hub, &h);

	if (r)
		die("open %s (%s): %s", t->hubnode, t->hubname, libusb_error_name(r));
	return h;
}

static int port_status(libusb_device_handle *h, struct target *t, uint16_t *st, uint16_t *ch)
{
	uint8_t b[4];
	int r = libusb_control_transfer(h, RT_PORT_IN, REQ_GET_STATUS, 0, t->port, b, 4,
					TIMEOUT_MS);

	if (r != 4)
		return r < 0 ? r : LIBUSB_ERROR_IO;
	*st = b[0] | b[1] << 8;
	*ch = b[2] | b[3] << 8;
	return 0;
}

static bool powered(struct target *t, uint16_t st)
{
	return st & (t->ss ? SS_PORT_POWER_BIT : PORT_POWER_BIT);
}

static void print_status(libusb_device_handle *h, struct target *t)
{
	static const char *const hs[16] = {
		"connection", "enable", "suspend", "over-current", "reset", NULL, NULL, NULL,
		"power", "low-speed", "high-speed", "test", "indicator",
	};
	static const char *const ss[16] = {
		"connection", "enable", NULL, "over-current", "reset", NULL, NULL, NULL,
		NULL, "power",
	};
	static const char *const chg[16] = {
		"c-connection", "c-enable", "c-suspend", "c-over-current", "c-reset",
		"c-bh-reset", "c-link-state", "c-config-error",
	};
	const char *const *names = t->ss ? ss : hs;
	uint8_t d[16];
	uint16_t st, ch;
	int r, i;

	r = port_status(h, t, &st, &ch);
	if (r)
		die("GetPortStatus %s port %d: %s", t->hubname, t->port, libusb_error_name(r));
	printf("%s port %d: wPortStatus 0x%04x", t->hubname, t->port, st);
	for (i = 0; i < 16; i++)
		if (st & (1 << i) && names[i])
			printf(" %s", names[i]);
	if (t->ss)
		printf(" link-state=%u", (st >> 5) & 0xf);
	printf("; wPortChange 0x%04x", ch);
	for (i = 0; i < 16; i++)
		if (ch & (1 << i) && chg[i])
			printf(" %s", chg[i]);
	/* wHubCharacteristics bits 1:0 say whether PORT_POWER can do anything */
	r = libusb_control_transfer(h, RT_HUB_IN, REQ_GET_DESCRIPTOR,
				    (t->ss ? DT_SS_HUB : DT_HUB) << 8, 0, d, sizeof(d), TIMEOUT_MS);
	if (r >= 5)
		printf("; %u ports, power switching %s", d[2],
		       (d[3] & 3) == 0 ? "ganged" : (d[3] & 3) == 1 ? "per-port" : "none");
	printf("\n");
}

/* Switch the port and read it back: 0 if the power bit followed. */
static int power(struct target *t, bool on)
{
	libusb_device_handle *h = open_hub(t);
	uint16_t st = 0, ch;
	int r, i;

	r = libusb_control_transfer(h, RT_PORT_OUT, on ? REQ_SET_FEATURE : REQ_CLEAR_FEATURE,
				    FEAT_PORT_POWER, t->port, NULL, 0, TIMEOUT_MS);
	if (r < 0)
		die("%sPortFeature(PORT_POWER) %s port %d: %s", on ? "Set" : "Clear",
		    t->hubname, t->port, libusb_error_name(r));
	/* a hub switches within bPwrOn2PwrGood; give it a second */
	for (i = 0; i < 50; i++) {
		if (port_status(h, t, &st, &ch))
			break;
		if (powered(t, st) == on)
			break;
		usleep(20000);
	}
	printf("power %s: ", on ? "on" : "off");
	print_status(h, t);
	libusb_close(h);
	if (powered(t, st) != on) {
		fprintf(stderr, "hubport: %s port %d: power bit still %s\n", t->hubname, t->port,
			on ? "clear" : "set");
		return 1;
	}
	return 0;
}

static void remember(const char *vid, struct target *t)
{
	char path[64];
	FILE *f;

	state_path(vid, path, sizeof(path));
	f = fopen(path, "w");
	if (!f || fprintf(f, "%s %d\n", t->hubname, t->port) < 0 || fclose(f))
		die("%s: %s", path, strerror(errno));
}

static void usage(void)
{
	fprintf(stderr,
		"usage: hubport find VID\n"
		"       hubport off|on|status VID [PORT]\n"
		"       hubport off|on|status HUB PORT   (HUB: /dev/bus/usb/BBB/DDD, usbN, N-P.P)\n"
		"       hubport cycle VID|HUB [PORT] [--off-ms N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cmd, *spec, *port = NULL;
	struct target t;
	char name[32];
	long off_ms = 1000;
	int r, i, nargs = 0;
	char *args[3];

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--off-ms") && i + 1 < argc)
			off_ms = strtol(argv[++i], NULL, 0);
		else if (nargs < 3 && argv[i][0] != '-')
			args[nargs++] = argv[i];
		else
			usage();
	}
	if (nargs < 2)
		usage();
	cmd = args[0];
	spec = args[1];
	if (nargs == 3)
		port = args[2];

	r = libusb_init(NULL);
	if (r)
		die("libusb_init: %s", libusb_error_name(r));
	nlist = libusb_get_device_list(NULL, &list);
	if (nlist < 0)
		die("device list: %s", libusb_error_name((int)nlist));

	if (!strcmp(cmd, "find")) {
		if (!is_vid(spec) || port)
			usage();
		if (!find_vid(strtoul(spec, NULL, 16), &t, name, sizeof(name)))
			die("no device with vendor id %s", spec);
		printf("%s hub=%s port=%d\n", name, t.hubnode, t.port);
		r = 0;
	} else if (!strcmp(cmd, "status")) {
		libusb_device_handle *h;

		resolve(spec, port, &t);
		h = open_hub(&t);
		print_status(h, &t);
		libusb_close(h);
		r = 0;
	} else if (!strcmp(cmd, "off") || !strcmp(cmd, "cycle")) {
		resolve(spec, port, &t);
		if (is_vid(spec))
			remember(spec, &t);
		r = power(&t, false);
		if (!strcmp(cmd, "cycle")) {
			struct timespec d = { off_ms / 1000, off_ms % 1000 * 1000000 };

			nanosleep(&d, NULL);
			r |= power(&t, true);
		}
	} else if (!strcmp(cmd, "on")) {
		resolve(spec, port, &t);
		r = power(&t, true);
	} else {
		usage();
	}
	libusb_free_device_list(list, 1);
	libusb_exit(NULL);
	return r;
}
