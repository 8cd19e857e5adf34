// SPDX-License-Identifier: GPL-2.0-only
/*
 * dlemu: an emulated DisplayLink DL-1x5 adapter for the dlkms tests.
 *
 * A configfs gadget on dummy_hcd with one FunctionFS function: interface
 * ff/00/00 with four bulk OUT endpoints (dummy_hcd hands out ep2, ep7, ep12
 * and then ep1, and in-tree udl hard-codes ep1, so the fourth is the one
 * udl uses and the first is what a descriptor-reading driver picks). ep0
 * answers the adapter's vendor requests; the bulk stream is decoded into
 * video memory by dl_decode.c. Tests drive it through a control socket;
 * the protocol is in tests/README.md.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/usb/ch9.h>
#include <linux/usb/functionfs.h>

#include "dl_decode.h"
#include "edid.h"
#include "hostile.h"
#include "png.h"

/*
 * --name NAME (default dlemu) names the configfs gadget, its FunctionFS
 * instance and mount point, so that two emulated adapters can sit on two
 * UDCs (dummy_hcd num=2) at once.
 */
static const char *name = "dlemu";
static char gadget[128], ffs_dir[128];
#define NEPS		4
/*
 * The bulk readers' request size (--read-len). A gadget OUT request
 * completes when it is full or a short packet comes, and the device never
 * sees where a transfer of whole packets ends: one packet a request
 * (READ_LEN_EXACT) takes every byte at once from any host, but costs a
 * round trip through the kernel for each, which under TCG holds the wire to
 * about 1 MB/s. Larger requests are for a host that ends every transfer
 * with a short packet (dlkms pads one that would not); in-tree udl sends
 * transfers of whole packets, whose end would wait in a half-full request.
 */
#define READ_LEN_EXACT	512
#define READ_LEN_MAX	65536
static size_t read_len = READ_LEN_EXACT;

enum drain { DRAIN_NORMAL, DRAIN_STOP, DRAIN_SLOW };

struct ctrl_stats {
	unsigned long long edid, key, key_bad, status, stalled;
	unsigned long long connects, disconnects;
	unsigned long long suspends, resumes;	/* USB suspend / resume of the bus */
	unsigned long long requests;	/* every vendor request, answered or not */
	unsigned long long yank_at_fired;
	unsigned long long silent;	/* vendor requests left unanswered (hostile) */
	unsigned long long spoiled;	/* EDID replies the hostile mode changed */
	unsigned long long bulk_halts;	/* hostile bulk-halt fired */
};

/*
 * What the suites' end check reads (tests/suites/lib.sh stop_emu): kept
 * across reset-stats and replug, which zero the counters above, so nothing
 * a run sent wrong is forgotten before the emulator stops.
 */
struct verdict {
	unsigned long long malformed, ignored_no_channel, key_bad, copy_overlap;
};

/*
 * yank-at: unplug when the Nth vendor request since arming arrives (before
 * it is answered), or once so many bulk bytes arrived since arming. It
 * fires once and disarms.
 */
enum yank_at_kind { YANK_AT_OFF, YANK_AT_CTRL, YANK_AT_BULK };

struct yank_at {
	enum yank_at_kind kind;
	unsigned long long at, seen;
};

static struct emu {
	const char *udc;
	const char *sock_path;
	unsigned int product;

	int ep0;
	int ep[NEPS];		/* blocking, for the readers */
	int ep_nb[NEPS];	/* non-blocking, to halt and clear halt */
	pthread_t ep0_thread, readers[NEPS];
	int nreaders_started;

	pthread_mutex_t lock;	/* everything below */
	pthread_cond_t cond;
	struct dld dec;
	struct monitor mon;
	struct ctrl_stats cs;
	struct verdict before;	/* the counters' values at their last reset */
	enum drain drain;
	unsigned long long slow_bps;
	/* drain stop-after: bulk bytes still taken before the readers stop */
	unsigned long long stop_after;
	bool stop_due;			/* stop_after reached, at the next cut */
	bool stalled, ctrl_fail;
	bool key_pending;	/* a channel key's data stage is being read */
	/*
	 * Endpoint files in use: NEPS, or 0 with --bulk no (an interface of
	 * the adapter's class with no endpoint at all: a device that lies)
	 * and --bulk int (an interrupt OUT endpoint, of the right direction
	 * and the wrong type; nothing reads it).
	 */
	int neps;
	bool int_eps;
	/*
	 * sleep-loses on: a USB suspend takes the adapter's power, as a bus-
	 * powered one loses it (2.5 mA in suspend): memory back to the fill
	 * pattern, registers and channel gone.
	 */
	bool sleep_loses;
	/*
	 * sleep-monitor MON: the dock is replugged to another monitor while
	 * the laptop sleeps; taken at the next USB suspend.
	 */
	bool sleep_swap;
	struct monitor sleep_mon;
	char sleep_mon_name[32];
	/*
	 * sleep-unplug on: the dock is unplugged while the laptop sleeps;
	 * taken at the next USB suspend. This process is frozen with the rest
	 * of userspace until the system resume is done, so the host resumes
	 * the adapter first and finds it gone only then, as it would a device
	 * that dropped off the bus just after its wake-up.
	 */
	bool sleep_unplug;
	bool reconfigure;	/* a disable came: the next enable is after a reset */
	bool configured;	/* between ENABLE and DISABLE or UNBIND */
	struct yank_at ya;
	/*
	 * The hostile adapter (hostile.h). bulk-halt counts the bytes still
	 * taken in halt_after; then the readers stop and the yanker thread
	 * halts the endpoints (halt_req), which stay halted until "hostile off".
	 */
	struct hostile host;
	unsigned long long halt_after;
	bool host_halted;
	/* the yanker thread unplugs for ep0 and the readers: see yank_locked() */
	pthread_t yanker;
	pthread_cond_t yank_cond;
	unsigned long long yank_req, yank_done, halt_req, halt_done;
	int readers_idle;
	/*
	 * A reader is in_read from before its read() until what it read is
	 * fed; reads counts the reads fed. See wait_readers_fed().
	 */
	bool in_read[NEPS];
	unsigned long long reads[NEPS];
	unsigned long long ep_bytes[NEPS];	/* per endpoint file, in descriptor order */
	unsigned long long last_rx_ns;	/* CLOCK_MONOTONIC of the last bulk data */
	uint8_t ram[65536];	/* peek/poke space */
} e = {
	.udc = "dummy_udc.0",
	.sock_path = "/run/dlemu.sock",
	.product = 0x0141,
	.neps = NEPS,
	.ep0 = -1,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.yank_cond = PTHREAD_COND_INITIALIZER,
};

static volatile sig_atomic_t stopping;

/* The standard channel key means "no scrambling"; zerokvm lists a second. */
static const uint8_t std_key[16] = {
	0x57, 0xcd, 0xdc, 0xa7, 0x1c, 0x88, 0x5e, 0x15,
	0x60, 0xfe, 0xc6, 0x97, 0x16, 0x3d, 0x47, 0xf2
};
static const uint8_t null_key2[16] = {
	0x47, 0x3d, 0x16, 0x97, 0xc6, 0xfe, 0x60, 0x15,
	0x5e, 0x88, 0x1c, 0xa7, 0xdc, 0xb7, 0x6f, 0xf2
};

/* The channel a channel-select request's key selects. */
static enum dld_channel key_channel(const uint8_t key[16])
{
	if (!memcmp(key, std_key, 16) || !memcmp(key, null_key2, 16))
		return DLD_CHAN_NULL;
	return DLD_CHAN_OTHER;
}

/* Called with e.lock held, before the counters are zeroed. */
static void verdict_keep_locked(bool decoder, bool ctrl)
{
	if (decoder) {
		e.before.malformed += e.dec.st.malformed;
		e.before.ignored_no_channel += e.dec.st.ignored_no_channel;
		e.before.copy_overlap += e.dec.st.copy_overlap;
	}
	if (ctrl)
		e.before.key_bad += e.cs.key_bad;
}

/*
 * Called with e.lock held: the adapter as it comes on the bus, memory at
 * the fill pattern and no channel selected yet (the driver's probe selects
 * one before it sends anything).
 */
static void power_on_locked(void)
{
	verdict_keep_locked(true, false);
	dld_reset(&e.dec);
	dld_set_channel(&e.dec, DLD_CHAN_NONE);
}

static void msg(const char *fmt, ...)
{
	va_list ap;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(stderr, "dlemu[%ld.%03ld]: ", (long)ts.tv_sec, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void die(const char *what)
{
	msg("%s: %s", what, strerror(errno));
	exit(1);
}

static int put_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static void put_attr(const char *rel, const char *s)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", gadget, rel);
	if (put_file(p, s))
		die(p);
}

static void mk(const char *rel)
{
	char p[256];

	snprintf(p, sizeof(p), "%s%s%s", gadget, *rel ? "/" : "", rel);
	if (mkdir(p, 0755) && errno != EEXIST)
		die(p);
}

/* Undo a gadget left behind by an earlier instance, or our own at exit. */
static void teardown_gadget(void)
{
	char p[256];

	if (access(gadget, F_OK))
		return;
	snprintf(p, sizeof(p), "%s/UDC", gadget);
	put_file(p, "\n");
	umount2(ffs_dir, MNT_DETACH);
	snprintf(p, sizeof(p), "%s/configs/c.1/ffs.%s", gadget, name);
	unlink(p);
	snprintf(p, sizeof(p), "%s/configs/c.1/strings/0x409", gadget);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/configs/c.1", gadget);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/functions/ffs.%s", gadget, name);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/strings/0x409", gadget);
	rmdir(p);
	rmdir(gadget);
}

static void setup_gadget(void)
{
	char s[32], fn[64], link[256], target[256];

	if (system("modprobe -q dummy_hcd; modprobe -q libcomposite; modprobe -q usb_f_fs 2>/dev/null; true"))
		msg("modprobe failed");
	if (access("/sys/kernel/config/usb_gadget", F_OK) &&
	    mount("none", "/sys/kernel/config", "configfs", 0, NULL) && errno != EBUSY)
		die("mount configfs");
	teardown_gadget();
	mk("");
	put_attr("idVendor", "0x17e9");
	snprintf(s, sizeof(s), "0x%04x", e.product);
	put_attr("idProduct", s);
	put_attr("bcdDevice", "0x0100");
	put_attr("bcdUSB", "0x0200");
	mk("strings/0x409");
	put_attr("strings/0x409/manufacturer", "dlkms test rig");
	put_attr("strings/0x409/product", "DL-1x5 emulator");
	put_attr("strings/0x409/serialnumber", strcmp(name, "dlemu") ? name : "DLEMU0001");
	mk("configs/c.1");
	mk("configs/c.1/strings/0x409");
	put_attr("configs/c.1/strings/0x409/configuration", "display");
	put_attr("configs/c.1/MaxPower", "100");
	snprintf(fn, sizeof(fn), "functions/ffs.%s", name);
	mk(fn);
	snprintf(target, sizeof(target), "%s/%s", gadget, fn);
	snprintf(link, sizeof(link), "%s/configs/c.1/ffs.%s", gadget, name);
	if (symlink(target, link) && errno != EEXIST)
		die("link function");
	mkdir(ffs_dir, 0755);
	if (mount(name, ffs_dir, "functionfs", 0, NULL))
		die("mount functionfs");
}

/* FunctionFS wants little-endian descriptors; the rig is x86 only. */
_Static_assert(__BYTE_ORDER == __LITTLE_ENDIAN, "descriptors assume a little-endian host");
#define LE(x) (x)

struct ep_set {
	struct usb_interface_descriptor intf;
	struct usb_endpoint_descriptor_no_audio ep[NEPS];
} __attribute__((packed));

/* the adapter's requests have the device as recipient */
#define DESCS_HEAD(len) { \
		.magic = LE(FUNCTIONFS_DESCRIPTORS_MAGIC_V2), \
		.length = LE(len), \
		.flags = LE(FUNCTIONFS_HAS_FS_DESC | FUNCTIONFS_HAS_HS_DESC | \
			    FUNCTIONFS_ALL_CTRL_RECIP | FUNCTIONFS_CONFIG0_SETUP) }

static const struct {
	struct usb_functionfs_descs_head_v2 head;
	__le32 fs_count, hs_count;
	struct ep_set fs, hs;
} __attribute__((packed)) descriptors = {
	.head = DESCS_HEAD(sizeof(descriptors)),
	.fs_count = LE(1 + NEPS),
	.hs_count = LE(1 + NEPS),
#define EP(n, mps) { .bLength = USB_DT_ENDPOINT_SIZE, \
		.bDescriptorType = USB_DT_ENDPOINT, \
		.bEndpointAddress = (n) | USB_DIR_OUT, \
		.bmAttributes = USB_ENDPOINT_XFER_BULK, \
		.wMaxPacketSize = LE(mps) }
#define SET(mps) { \
		.intf = { .bLength = USB_DT_INTERFACE_SIZE, \
			.bDescriptorType = USB_DT_INTERFACE, \
			.bNumEndpoints = NEPS, \
			.bInterfaceClass = USB_CLASS_VENDOR_SPEC }, \
		.ep = { EP(1, mps), EP(2, mps), EP(3, mps), EP(4, mps) } }
	.fs = SET(64),
	.hs = SET(512),
};

/*
 * --bulk int: the same interface with one interrupt OUT endpoint (dummy_hcd
 * has few endpoints that take that type, the generic ep-?out ones)
 */
struct ep_int_set {
	struct usb_interface_descriptor intf;
	struct usb_endpoint_descriptor_no_audio ep;
} __attribute__((packed));

static const struct {
	struct usb_functionfs_descs_head_v2 head;
	__le32 fs_count, hs_count;
	struct ep_int_set fs, hs;
} __attribute__((packed)) descriptors_int = {
	.head = DESCS_HEAD(sizeof(descriptors_int)),
	.fs_count = LE(2),
	.hs_count = LE(2),
#define SET_INT(mps, interval) { \
		.intf = { .bLength = USB_DT_INTERFACE_SIZE, \
			.bDescriptorType = USB_DT_INTERFACE, \
			.bNumEndpoints = 1, \
			.bInterfaceClass = USB_CLASS_VENDOR_SPEC }, \
		.ep = { .bLength = USB_DT_ENDPOINT_SIZE, \
			.bDescriptorType = USB_DT_ENDPOINT, \
			.bEndpointAddress = 1 | USB_DIR_OUT, \
			.bmAttributes = USB_ENDPOINT_XFER_INT, \
			.wMaxPacketSize = LE(mps), \
			.bInterval = (interval) } }
	.fs = SET_INT(64, 1),
	.hs = SET_INT(64, 4),
};

/* --bulk no: the same interface with no endpoint */
static const struct {
	struct usb_functionfs_descs_head_v2 head;
	__le32 fs_count, hs_count;
	struct usb_interface_descriptor fs, hs;
} __attribute__((packed)) descriptors_no_bulk = {
	.head = DESCS_HEAD(sizeof(descriptors_no_bulk)),
	.fs_count = LE(1),
	.hs_count = LE(1),
#define INTF0 { .bLength = USB_DT_INTERFACE_SIZE, \
		.bDescriptorType = USB_DT_INTERFACE, \
		.bInterfaceClass = USB_CLASS_VENDOR_SPEC }
	.fs = INTF0,
	.hs = INTF0,
};

static const struct usb_functionfs_strings_head strings = {
	.magic = LE(FUNCTIONFS_STRINGS_MAGIC),
	.length = LE(sizeof(strings)),
	.str_count = 0,
	.lang_count = 0,
};

static void open_function(void)
{
	char p[160];
	int i;

	snprintf(p, sizeof(p), "%s/ep0", ffs_dir);
	e.ep0 = open(p, O_RDWR);
	if (e.ep0 < 0)
		die("open ep0");
	if ((e.neps ? write(e.ep0, &descriptors, sizeof(descriptors)) :
	     e.int_eps ? write(e.ep0, &descriptors_int, sizeof(descriptors_int)) :
	     write(e.ep0, &descriptors_no_bulk, sizeof(descriptors_no_bulk))) < 0)
		die("write descriptors");
	if (write(e.ep0, &strings, sizeof(strings)) < 0)
		die("write strings");
	for (i = 0; i < e.neps; i++) {
		snprintf(p, sizeof(p), "%s/ep%d", ffs_dir, i + 1);
		e.ep[i] = open(p, O_RDWR);
		e.ep_nb[i] = open(p, O_RDWR | O_NONBLOCK);
		if (e.ep[i] < 0 || e.ep_nb[i] < 0)
			die(p);
	}
}

/* ---- yank-at ---- */

static int set_udc(bool plug);
static int halt_endpoints(void);

/* Counts @n events of @kind; true when that makes the armed trigger fire. */
static bool yank_at_count(struct yank_at *y, enum yank_at_kind kind, unsigned long long n)
{
	if (kind == YANK_AT_OFF || y->kind != kind)
		return false;
	y->seen += n;
	if (y->seen < y->at)
		return false;
	y->kind = YANK_AT_OFF;
	return true;
}

/*
 * The unplug runs on its own thread. The UDC unbind tears the function
 * down (FunctionFS takes its ep0 mutex and disables the endpoints), which
 * must not depend on the thread that is in the middle of an ep0 setup or
 * a bulk read, so that thread only asks and waits here, in userspace,
 * holding nothing of FunctionFS's.
 */
static void *yanker_main(void *arg)
{
	int ret;

	(void)arg;
	pthread_mutex_lock(&e.lock);
	while (!stopping) {
		if (e.halt_done != e.halt_req) {
			e.halt_done = e.halt_req;
			pthread_mutex_unlock(&e.lock);
			ret = halt_endpoints();
			msg("hostile bulk-halt: endpoints halted%s%s", ret ? ": " : "",
			    ret ? strerror(-ret) : "");
			pthread_mutex_lock(&e.lock);
			continue;
		}
		if (e.yank_done == e.yank_req) {
			pthread_cond_wait(&e.yank_cond, &e.lock);
			continue;
		}
		pthread_mutex_unlock(&e.lock);
		ret = set_udc(false);
		msg("yank-at: unplugged%s%s", ret ? ": " : "", ret ? strerror(-ret) : "");
		pthread_mutex_lock(&e.lock);
		e.yank_done = e.yank_req;
		pthread_cond_broadcast(&e.yank_cond);
	}
	pthread_mutex_unlock(&e.lock);
	return NULL;
}

/* Called with e.lock held: unplug now and return once the UDC is unbound. */
static void yank_locked(const char *why)
{
	unsigned long long seq = ++e.yank_req;
	struct timespec dl;

	e.cs.yank_at_fired++;
	msg("yank-at: %s", why);
	pthread_cond_broadcast(&e.yank_cond);
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10;
	while (e.yank_done < seq && !stopping) {
		if (pthread_cond_timedwait(&e.yank_cond, &e.lock, &dl) == ETIMEDOUT) {
			msg("yank-at: the unplug did not finish within 10 s");
			break;
		}
	}
}

/* ---- ep0: the vendor requests ---- */

static void ep0_stall(const struct usb_ctrlrequest *r)
{
	char c;

	/* FunctionFS stalls when the data stage goes the wrong way */
	if (r->bRequestType & USB_DIR_IN) {
		if (read(e.ep0, &c, 0) >= 0 || errno != EL2HLT)
			msg("stall (in) did not report EL2HLT: %s", strerror(errno));
	} else {
		if (write(e.ep0, &c, 0) >= 0 || errno != EL2HLT)
			msg("stall (out) did not report EL2HLT: %s", strerror(errno));
	}
	pthread_mutex_lock(&e.lock);
	e.cs.stalled++;
	pthread_mutex_unlock(&e.lock);
}

/*
 * A request the hostile adapter never answers: the host gives up after its
 * timeout (dlkms: 1 s). FunctionFS keeps the setup pending until another
 * event cancels it, and a read of ep0 meanwhile would answer it (a stall,
 * or the data stage of an OUT request read as events), so ep0 is left alone
 * for longer than the host waits; then whatever is left of the setup is
 * stalled, which the host no longer sees (EIDRM if another event cancelled
 * it meanwhile).
 */
#define SILENT_MS	1300
static void ep0_leave_unanswered(const struct usb_ctrlrequest *r)
{
	struct timespec ts = { SILENT_MS / 1000, (SILENT_MS % 1000) * 1000000L };
	char c;

	while (nanosleep(&ts, &ts) && errno == EINTR && !stopping)
		;
	if (r->bRequestType & USB_DIR_IN) {
		if (read(e.ep0, &c, 0) < 0 && errno != EL2HLT && errno != EIDRM)
			msg("unanswered request: %s", strerror(errno));
	} else {
		if (write(e.ep0, &c, 0) < 0 && errno != EL2HLT && errno != EIDRM)
			msg("unanswered request: %s", strerror(errno));
	}
}

static void ep0_reply(const void *buf, size_t n)
{
	if (write(e.ep0, buf, n) < 0)
		msg("ep0 reply: %s", strerror(errno));
}

static void ep0_ack(void)
{
	if (read(e.ep0, NULL, 0) < 0)
		msg("ep0 status: %s", strerror(errno));
}

static void handle_setup(const struct usb_ctrlrequest *r)
{
	unsigned int val = le16toh(r->wValue), idx = le16toh(r->wIndex);
	unsigned int len = le16toh(r->wLength), off;
	bool vendor = (r->bRequestType & USB_TYPE_MASK) == USB_TYPE_VENDOR;
	uint8_t buf[64];
	enum hostile_act act = HACT_ANSWER;
	bool fail, yanked = false;
	ssize_t n;
	char why[64];

	pthread_mutex_lock(&e.lock);
	fail = e.ctrl_fail;
	if (vendor) {
		e.cs.requests++;
		if (yank_at_count(&e.ya, YANK_AT_CTRL, 1)) {
			snprintf(why, sizeof(why), "vendor request %02x:%02x (#%llu since arming)",
				 r->bRequestType, r->bRequest, e.ya.seen);
			yank_locked(why);
			yanked = true;
		} else if (!fail) {
			act = hostile_action(&e.host);
			e.cs.silent += act == HACT_SILENT;
		}
	}
	pthread_mutex_unlock(&e.lock);
	/* unanswered: the unplug cancelled the setup (the next read says EIDRM) */
	if (yanked)
		return;
	if (act == HACT_SILENT) {
		ep0_leave_unanswered(r);
		return;
	}
	if (fail || !vendor || act == HACT_STALL)
		goto stall;

	switch (r->bRequestType << 8 | r->bRequest) {
	case 0xc002:	/* EDID over DDC: status byte, then wLength-1 bytes */
		if (len < 2 || len > 64)
			goto stall;
		pthread_mutex_lock(&e.lock);
		/* the read wraps within the first 256 bytes; a hostile adapter spoils it */
		off = hostile_edid_reply(&e.host, &e.mon, val >> 8, len, buf);
		if (e.host.kind != HOSTILE_OFF)
			e.cs.spoiled++;
		e.cs.edid++;
		pthread_mutex_unlock(&e.lock);
		ep0_reply(buf, off);
		return;
	case 0x4012:	/* channel select */
		if (len != 16)
			goto bad_key;
		/*
		 * Reading the data stage acks the request, and the host may
		 * send graphics at once: readers hold what they read until the
		 * key is applied, as the adapter applies it before its ack.
		 * Not under e.lock: the read can block for good (a setup the
		 * host gave up on while we were frozen), and the control
		 * socket must still answer; the readers wait at most a second.
		 */
		pthread_mutex_lock(&e.lock);
		e.key_pending = true;
		pthread_mutex_unlock(&e.lock);
		n = read(e.ep0, buf, 16);
		pthread_mutex_lock(&e.lock);
		e.key_pending = false;
		pthread_cond_broadcast(&e.cond);
		if (n != 16) {
			pthread_mutex_unlock(&e.lock);
			msg("channel key: short read");
			return;
		}
		dld_set_channel(&e.dec, key_channel(buf));
		if (e.dec.chan == DLD_CHAN_NULL)
			e.cs.key++;
		else
			e.cs.key_bad++;
		pthread_mutex_unlock(&e.lock);
		msg("channel key: %s", e.dec.chan == DLD_CHAN_NULL ? "the null channel" : "another channel");
		return;
	case 0xc006:	/* status: a "base" chip (libdlo's classification) */
		if (!len || len > 4)
			goto stall;
		memset(buf, 0, 4);
		buf[3] = 0xb1;
		pthread_mutex_lock(&e.lock);
		e.cs.status++;
		pthread_mutex_unlock(&e.lock);
		ep0_reply(buf, len);
		return;
	case 0xc004:	/* peek */
		if (len != 1)
			goto stall;
		pthread_mutex_lock(&e.lock);
		buf[0] = e.ram[idx & 0xffff];
		pthread_mutex_unlock(&e.lock);
		ep0_reply(buf, 1);
		return;
	case 0x4003:	/* poke */
		if (len > 1)
			goto stall;
		if (len && read(e.ep0, buf, 1) != 1)
			return;
		pthread_mutex_lock(&e.lock);
		e.ram[idx & 0xffff] = len ? buf[0] : val & 0xff;
		pthread_mutex_unlock(&e.lock);
		if (!len)
			ep0_ack();
		return;
	case 0x4014:	/* sent by the Windows driver with every transfer */
		if (len)
			goto stall;
		ep0_ack();
		return;
	default:
		goto stall;
	}
bad_key:
	pthread_mutex_lock(&e.lock);
	e.cs.key_bad++;
	pthread_mutex_unlock(&e.lock);
stall:
	ep0_stall(r);
}

static void wait_readers_fed_locked(void);

static void *ep0_main(void *arg)
{
	struct usb_functionfs_event ev[4];
	ssize_t n;
	char swap_name[sizeof(e.sleep_mon_name)];
	bool swapped;
	int i;

	(void)arg;
	while (!stopping) {
		n = read(e.ep0, ev, sizeof(ev));
		if (n < 0) {
			/* EIDRM: a setup we left unanswered was cancelled */
			if (errno != EINTR && errno != EIDRM)
				msg("ep0 read: %s", strerror(errno));
			if (errno != EINTR)
				usleep(10000);
			continue;
		}
		for (i = 0; i < n / (ssize_t)sizeof(ev[0]); i++) {
			switch (ev[i].type) {
			case FUNCTIONFS_ENABLE:
				pthread_mutex_lock(&e.lock);
				e.cs.connects++;
				e.configured = true;
				/*
				 * Configured again after a reset (no replug
				 * between): the adapter was reset, memory,
				 * registers and channel with it.
				 */
				if (e.reconfigure)
					power_on_locked();
				e.reconfigure = false;
				/*
				 * Here, not at the disconnect: a reader may still
				 * feed a packet that came before it (seen at a hub
				 * port's power-off), the tail of a command.
				 */
				dld_stream_cut(&e.dec);
				pthread_mutex_unlock(&e.lock);
				msg("configured by the host");
				break;
			case FUNCTIONFS_DISABLE:
			case FUNCTIONFS_UNBIND:
				/*
				 * An unbind drops the DISABLE still queued
				 * before it (FunctionFS purges the events
				 * that make no sense after it), so a yank may
				 * show as UNBIND alone: one disconnect either way.
				 */
				pthread_mutex_lock(&e.lock);
				wait_readers_fed_locked();
				if (e.configured)
					e.cs.disconnects++;
				e.configured = false;
				e.reconfigure = ev[i].type == FUNCTIONFS_DISABLE;
				pthread_mutex_unlock(&e.lock);
				msg(ev[i].type == FUNCTIONFS_DISABLE ? "disabled (disconnect or reset)" :
				    "unbound from the UDC");
				break;
			case FUNCTIONFS_SUSPEND:
				pthread_mutex_lock(&e.lock);
				wait_readers_fed_locked();
				e.cs.suspends++;
				/*
				 * No stream cut here: dummy_hcd reports a
				 * suspend at every unplug too (the port goes
				 * inactive before the disconnect), while a
				 * reader may still feed a packet that came
				 * before it. A power loss resets the decoder.
				 */
				if (e.sleep_loses)
					power_on_locked();
				swapped = e.sleep_swap;
				if (swapped) {
					e.mon = e.sleep_mon;
					memcpy(swap_name, e.sleep_mon_name, sizeof(swap_name));
				}
				e.sleep_swap = false;
				if (e.sleep_unplug) {
					e.sleep_unplug = false;
					yank_locked("unplugged while suspended");
				}
				pthread_mutex_unlock(&e.lock);
				msg("suspended by the host%s", e.sleep_loses ? ": power lost" : "");
				if (swapped)
					msg("monitor %s, swapped while suspended", swap_name);
				break;
			case FUNCTIONFS_RESUME:
				pthread_mutex_lock(&e.lock);
				e.cs.resumes++;
				pthread_mutex_unlock(&e.lock);
				msg("resumed by the host");
				break;
			case FUNCTIONFS_SETUP:
				handle_setup(&ev[i].u.setup);
				break;
			default:
				break;
			}
		}
	}
	return NULL;
}

/*
 * Before a suspend or a disconnect takes effect here: let every reader
 * feed what it read before it. A reader frozen with the rest of userspace
 * may hold a request's worth of the stream the host sent before it
 * suspended; thawed, it races the ep0 thread, which would otherwise model
 * the power loss or cut the stream first and then take those bytes as
 * coming after it (a command cut in two, commands with no channel). After
 * a SUSPEND or DISABLE no new data comes until the next RESUME or ENABLE,
 * so a read still pending has nothing: the wait ends when each reader fed
 * its read or after a bound. Under e.lock.
 */
#define READERS_FED_MS	200
static void wait_readers_fed_locked(void)
{
	unsigned long long snap[NEPS];
	bool pending[NEPS];
	struct timespec dl;
	int i, left;

	for (i = 0; i < e.neps; i++) {
		pending[i] = e.in_read[i];
		snap[i] = e.reads[i];
	}
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_nsec += READERS_FED_MS * 1000000L;
	dl.tv_sec += dl.tv_nsec / 1000000000L;
	dl.tv_nsec %= 1000000000L;
	for (;;) {
		left = 0;
		for (i = 0; i < e.neps; i++)
			left += pending[i] && e.in_read[i] && e.reads[i] == snap[i];
		if (!left || stopping ||
		    pthread_cond_timedwait(&e.cond, &e.lock, &dl) == ETIMEDOUT)
			return;
	}
}

/* ---- bulk OUT: the command stream ---- */

static bool readers_paused(void)
{
	return e.stalled || e.drain == DRAIN_STOP;
}

/* Counts @n bytes off a countdown that is running: true when it runs out. */
static bool count_down(unsigned long long *left, ssize_t n)
{
	if (!n || !*left)
		return false;
	if (*left > (unsigned long long)n) {
		*left -= n;
		return false;
	}
	*left = 0;
	return true;
}

static void *reader_main(void *arg)
{
	int i = (int)(long)arg;
	static unsigned int mal_logged, ign_logged, ovl_logged;	/* under e.lock */
	uint8_t *buf = malloc(read_len);
	unsigned long long bps, mal, ign, ovl;
	struct timespec ts;
	ssize_t n;

	if (!buf)
		die("reader buffer");
	while (!stopping) {
		pthread_mutex_lock(&e.lock);
		if (readers_paused()) {
			e.readers_idle++;
			pthread_cond_broadcast(&e.cond);
			while (!stopping && readers_paused())
				pthread_cond_wait(&e.cond, &e.lock);
			e.readers_idle--;
		}
		e.in_read[i] = !stopping;
		pthread_mutex_unlock(&e.lock);
		if (stopping)
			break;
		n = read(e.ep[i], buf, read_len);
		if (n < 0) {
			int err = errno;

			pthread_mutex_lock(&e.lock);
			e.in_read[i] = false;
			e.reads[i]++;
			pthread_cond_broadcast(&e.cond);
			pthread_mutex_unlock(&e.lock);
			/* EINTR: paused or stopping; ESHUTDOWN etc.: unplugged */
			if (err != EINTR)
				usleep(10000);
			continue;
		}
		pthread_mutex_lock(&e.lock);
		if (e.key_pending) {
			struct timespec dl;

			clock_gettime(CLOCK_REALTIME, &dl);
			dl.tv_sec++;
			while (e.key_pending && !stopping &&
			       pthread_cond_timedwait(&e.cond, &e.lock, &dl) != ETIMEDOUT)
				;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (n)
			e.last_rx_ns = ts.tv_sec * 1000000000ull + ts.tv_nsec;
		e.ep_bytes[i] += n;
		mal = e.dec.st.malformed;
		ign = e.dec.st.ignored_no_channel;
		ovl = e.dec.st.copy_overlap;
		dld_feed(&e.dec, buf, n);
		/* and of commands dropped for want of a channel, the first few */
		if (e.dec.st.ignored_no_channel != ign && ++ign_logged <= 4)
			msg("%llu commands dropped, no channel selected: ep file %d, %zd bytes at bulk byte %llu, first %02x %02x",
			    e.dec.st.ignored_no_channel - ign, i + 1, n, e.ep_bytes[i] - n,
			    buf[0], n > 1 ? buf[1] : 0);
		/* the suites' end check fails on it: say where, for the first few */
		if (e.dec.st.malformed != mal && ++mal_logged <= 8)
			msg("malformed input on ep file %d: %zd bytes at bulk byte %llu, "
			    "%s, first %02x %02x %02x %02x", i + 1, n, e.ep_bytes[i] - n,
			    e.configured ? "configured" : "not configured",
			    buf[0], n > 1 ? buf[1] : 0, n > 2 ? buf[2] : 0, n > 3 ? buf[3] : 0);
		/* an overlapping copy fails the suites too (dl_decode.c copy()) */
		if (e.dec.st.copy_overlap != ovl && ++ovl_logged <= 8)
			msg("overlapping copy on ep file %d: %llu in %zd bytes at bulk byte %llu",
			    i + 1, e.dec.st.copy_overlap - ovl, n, e.ep_bytes[i] - n);
		if (n && yank_at_count(&e.ya, YANK_AT_BULK, n)) {
			char why[64];

			snprintf(why, sizeof(why), "%llu bulk bytes since arming", e.ya.seen);
			yank_locked(why);
		}
		/* hostile bulk-halt: what is in flight now fails on the wire */
		if (count_down(&e.halt_after, n)) {
			e.stalled = true;
			e.host_halted = true;
			e.cs.bulk_halts++;
			e.halt_req++;
			pthread_cond_broadcast(&e.yank_cond);
			msg("hostile bulk-halt: halting at bulk byte %llu of ep file %d",
			    e.ep_bytes[i], i + 1);
		}
		/*
		 * Once the count is reached, at the first request's end that
		 * falls inside a transfer (a full request) and inside a
		 * command (the decoder holds part of one): the host's transfer
		 * is cut mid-command there. Stopping where a transfer or a
		 * command ends would cut nothing, and what the suites test --
		 * the rest of the command sent first -- would not happen.
		 */
		if (count_down(&e.stop_after, n))
			e.stop_due = true;
		if (e.stop_due && n == (ssize_t)read_len && e.dec.ncarry) {
			e.stop_due = false;
			e.drain = DRAIN_STOP;
			msg("drain stop-after: stopped at bulk byte %llu of ep file %d",
			    e.ep_bytes[i], i + 1);
		}
		bps = e.drain == DRAIN_SLOW ? e.slow_bps : 0;
		e.in_read[i] = false;
		e.reads[i]++;
		pthread_cond_broadcast(&e.cond);
		pthread_mutex_unlock(&e.lock);
		if (bps && n) {
			unsigned long long ns = (unsigned long long)n * 1000000000ull / bps;

			ts.tv_sec = ns / 1000000000ull;
			ts.tv_nsec = ns % 1000000000ull;
			nanosleep(&ts, NULL);
		}
	}
	free(buf);
	return NULL;
}

static void sigusr1(int sig)
{
	(void)sig;
}

/*
 * Get every reader out of read(): a queued request would otherwise still
 * take one more packet from the host after a stop or stall. A signal takes
 * the request back, and with it whatever part of it was filled: with
 * packet-sized requests that is nothing, while a larger one on the
 * endpoint the host writes is given 500 ms first to complete on its own, as
 * it does at the short packet that ends the host's transfer.
 */
static int wait_readers_idle(void)
{
	int i, tries, grace = read_len > READ_LEN_EXACT ? 50 : 0, idle = 0;
	bool used[NEPS];

	pthread_mutex_lock(&e.lock);
	for (i = 0; i < e.neps; i++)
		used[i] = e.ep_bytes[i];
	pthread_mutex_unlock(&e.lock);
	for (tries = 0; tries < 200 + grace; tries++) {
		pthread_mutex_lock(&e.lock);
		idle = e.readers_idle;
		pthread_mutex_unlock(&e.lock);
		if (idle == e.neps)
			return 0;
		for (i = 0; i < e.neps; i++)
			if (!used[i] || tries >= grace)
				pthread_kill(e.readers[i], SIGUSR1);
		usleep(10000);
	}
	return -1;
}

/* ---- control socket ---- */

static void stats_print(FILE *f)
{
	const struct dld_stats *s = &e.dec.st;

	fprintf(f, "bytes %llu\ntransfers %llu\ncmd_reg %llu\n",
		(unsigned long long)s->bytes, (unsigned long long)s->transfers,
		(unsigned long long)s->cmd_reg);
	fprintf(f, "cmd_60 %llu\ncmd_61 %llu\ncmd_62 %llu\ncmd_63 %llu\n",
		(unsigned long long)s->cmd_60, (unsigned long long)s->cmd_61,
		(unsigned long long)s->cmd_62, (unsigned long long)s->cmd_63);
	fprintf(f, "cmd_68 %llu\ncmd_69 %llu\ncmd_6a %llu\ncmd_6b %llu\n",
		(unsigned long long)s->cmd_68, (unsigned long long)s->cmd_69,
		(unsigned long long)s->cmd_6a, (unsigned long long)s->cmd_6b);
	fprintf(f, "cmd_a0 %llu\npad_af %llu\nmalformed %llu\nmode_sets %llu\n",
		(unsigned long long)s->cmd_a0, (unsigned long long)s->pad_af,
		(unsigned long long)s->malformed, (unsigned long long)s->mode_sets);
	fprintf(f, "ignored_no_channel %llu\ncopy_overlap %llu\nchannel %s\n",
		(unsigned long long)s->ignored_no_channel,
		(unsigned long long)s->copy_overlap,
		e.dec.chan == DLD_CHAN_NULL ? "null" : e.dec.chan == DLD_CHAN_NONE ? "none" : "other");
	fprintf(f, "ctrl_edid %llu\nctrl_key %llu\nctrl_key_bad %llu\n",
		e.cs.edid, e.cs.key, e.cs.key_bad);
	fprintf(f, "ctrl_status %llu\nctrl_stalled %llu\nconnects %llu\ndisconnects %llu\n",
		e.cs.status, e.cs.stalled, e.cs.connects, e.cs.disconnects);
	fprintf(f, "suspends %llu\nresumes %llu\n", e.cs.suspends, e.cs.resumes);
	fprintf(f, "ctrl_requests %llu\nyank_at_fired %llu\n", e.cs.requests, e.cs.yank_at_fired);
	fprintf(f, "ctrl_silent %llu\nedid_spoiled %llu\nbulk_halts %llu\n", e.cs.silent,
		e.cs.spoiled, e.cs.bulk_halts);
	/* which endpoint the host writes: ep_bytes_4 is ep1 on dummy_hcd */
	for (int i = 0; i < NEPS; i++)
		fprintf(f, "ep_bytes_%d %llu\n", i + 1, e.ep_bytes[i]);
	fprintf(f, "last_rx_ns %llu\n", e.last_rx_ns);
	fprintf(f, "total_malformed %llu\ntotal_ignored_no_channel %llu\ntotal_ctrl_key_bad %llu\n",
		e.before.malformed + s->malformed,
		e.before.ignored_no_channel + s->ignored_no_channel,
		e.before.key_bad + e.cs.key_bad);
	fprintf(f, "total_copy_overlap %llu\n",
		e.before.copy_overlap + (unsigned long long)s->copy_overlap);
}

static int frame_save(const char *path, bool png)
{
	struct dld_mode m;
	uint32_t *px;
	size_t n;
	int ret = 0, fd;

	pthread_mutex_lock(&e.lock);
	dld_get_mode(&e.dec, &m);
	if (!m.valid) {
		pthread_mutex_unlock(&e.lock);
		return -ENODATA;
	}
	n = (size_t)m.hdisplay * m.vdisplay;
	px = malloc(n * 4);
	if (px)
		dld_render(&e.dec, &m, px);
	pthread_mutex_unlock(&e.lock);
	if (!px)
		return -ENOMEM;
	if (png) {
		ret = png_write(path, px, m.hdisplay, m.vdisplay);
	} else {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) {
			ret = -errno;
		} else {
			const char *p = (const char *)px;
			size_t left = n * 4;
			ssize_t w;

			while (left) {
				w = write(fd, p, left);
				if (w <= 0) {
					ret = -EIO;
					break;
				}
				p += w;
				left -= w;
			}
			if (close(fd) && !ret)
				ret = -EIO;
		}
	}
	free(px);
	return ret;
}

/* True while the gadget is bound to a UDC (plugged in). */
static bool udc_bound(void)
{
	char s[64] = "", p[256];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/UDC", gadget);
	fd = open(p, O_RDONLY);

	if (fd < 0)
		return false;
	n = read(fd, s, sizeof(s) - 1);
	close(fd);
	return n > 0 && s[0] != '\n';
}

static int set_udc(bool plug)
{
	char s[64], p[256];

	snprintf(s, sizeof(s), "%s\n", plug ? e.udc : "");
	snprintf(p, sizeof(p), "%s/UDC", gadget);
	return put_file(p, s);
}

static int set_stall(bool on)
{
	int i;

	pthread_mutex_lock(&e.lock);
	e.stalled = on;
	pthread_cond_broadcast(&e.cond);
	pthread_mutex_unlock(&e.lock);
	if (!on) {
		for (i = 0; i < e.neps; i++)
			ioctl(e.ep_nb[i], FUNCTIONFS_CLEAR_HALT);
		return 0;
	}
	return halt_endpoints();
}

/* With e.stalled set: the readers out of read(), then every endpoint halted. */
static int halt_endpoints(void)
{
	int i, ret = 0;
	char c = 0;

	if (wait_readers_idle())
		return -EBUSY;
	/* writing to an OUT endpoint file halts it (FunctionFS) */
	for (i = 0; i < e.neps; i++)
		if (write(e.ep_nb[i], &c, 1) >= 0 || errno != EBADMSG)
			ret = -errno;
	return ret == -EAGAIN ? -ENOTCONN : ret;
}

/* "NAME on|off": sets one of the emulator's switches under e.lock */
static int set_switch(bool *sw, int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "on") && strcmp(argv[1], "off")))
		return -EINVAL;
	pthread_mutex_lock(&e.lock);
	*sw = !strcmp(argv[1], "on");
	pthread_mutex_unlock(&e.lock);
	return 0;
}

/*
 * "hostile ...": the fault from now on (hostile.h), replacing the last one;
 * the body says what is set. Setting any clears a bulk halt the last one
 * made.
 */
static int hostile_command(int argc, char **argv, FILE *f)
{
	char what[160];
	bool unhalt = false;
	int ret;

	pthread_mutex_lock(&e.lock);
	ret = hostile_set(&e.host, argc, argv, &e.mon);
	if (!ret) {
		e.halt_after = e.host.kind == HOSTILE_BULK_HALT ? e.host.halt_after : 0;
		unhalt = e.host_halted;
		e.host_halted = false;
	}
	hostile_describe(&e.host, what, sizeof(what));
	pthread_mutex_unlock(&e.lock);
	if (ret)
		return ret;
	if (unhalt && set_stall(false))
		return -EIO;
	fprintf(f, "%s\n", what);
	msg("hostile %s", what);
	return 0;
}

/* Executes one request line; writes the body to @f, returns 0 or -errno. */
static int command(char *line, FILE *f, const char **why)
{
	char *argv[4] = { 0 }, *save = NULL;
	int argc = 0, ret;

	for (char *t = strtok_r(line, " \t\r\n", &save); t && argc < 4;
	     t = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = t;
	if (!argc)
		return -EINVAL;
	*why = "bad arguments";

	if (!strcmp(argv[0], "ping"))
		return 0;
	if (!strcmp(argv[0], "mode")) {
		struct dld_mode m;

		pthread_mutex_lock(&e.lock);
		dld_get_mode(&e.dec, &m);
		pthread_mutex_unlock(&e.lock);
		if (!m.valid) {
			fprintf(f, "none\n");
			return 0;
		}
		fprintf(f, "%ux%u clock=%u htotal=%u hsync_start=%u hsync_end=%u "
			"vtotal=%u vsync_start=%u vsync_end=%u refresh_mhz=%u bpp=%u "
			"blank=%u base16=%u stride16=%u base8=%u stride8=%u\n",
			m.hdisplay, m.vdisplay, m.clock_khz, m.htotal, m.hsync_start,
			m.hsync_end, m.vtotal, m.vsync_start, m.vsync_end,
			m.refresh_mhz, m.bpp, m.blank, m.base16, m.stride16,
			m.base8, m.stride8);
		return 0;
	}
	if (!strcmp(argv[0], "frame-png") || !strcmp(argv[0], "frame-raw")) {
		if (argc != 2)
			return -EINVAL;
		ret = frame_save(argv[1], argv[0][6] == 'p');
		*why = ret == -ENODATA ? "no mode set" : strerror(-ret);
		return ret;
	}
	if (!strcmp(argv[0], "stats")) {
		pthread_mutex_lock(&e.lock);
		stats_print(f);
		pthread_mutex_unlock(&e.lock);
		return 0;
	}
	if (!strcmp(argv[0], "reset-stats")) {
		pthread_mutex_lock(&e.lock);
		verdict_keep_locked(true, true);
		memset(&e.dec.st, 0, sizeof(e.dec.st));
		memset(&e.cs, 0, sizeof(e.cs));
		memset(e.ep_bytes, 0, sizeof(e.ep_bytes));
		pthread_mutex_unlock(&e.lock);
		return 0;
	}
	if (!strcmp(argv[0], "yank")) {
		ret = set_udc(false);
		*why = ret == -ENODEV ? "not plugged" : strerror(-ret);
		if (!ret)
			msg("yank");
		return ret;
	}
	if (!strcmp(argv[0], "replug")) {
		/* a fresh device: memory back to the fill pattern */
		if (udc_bound()) {
			*why = "already plugged";
			return -EBUSY;
		}
		pthread_mutex_lock(&e.lock);
		power_on_locked();
		pthread_mutex_unlock(&e.lock);
		ret = set_udc(true);
		*why = ret == -EBUSY ? "already plugged" : strerror(-ret);
		if (!ret)
			msg("replug");
		return ret;
	}
	if (!strcmp(argv[0], "monitor") || !strcmp(argv[0], "sleep-monitor")) {
		bool now = !strcmp(argv[0], "monitor");
		struct monitor m;

		if (argc != 2 || monitor_build(argv[1], &m)) {
			*why = "unknown monitor";
			return -EINVAL;
		}
		pthread_mutex_lock(&e.lock);
		if (now) {
			e.mon = m;
		} else {
			e.sleep_mon = m;
			snprintf(e.sleep_mon_name, sizeof(e.sleep_mon_name), "%s", argv[1]);
			e.sleep_swap = true;
		}
		pthread_mutex_unlock(&e.lock);
		msg("monitor %s%s", argv[1], now ? "" : " at the next suspend");
		return 0;
	}
	if (!strcmp(argv[0], "stall")) {
		if (argc != 2 || (strcmp(argv[1], "on") && strcmp(argv[1], "off")))
			return -EINVAL;
		ret = set_stall(!strcmp(argv[1], "on"));
		*why = ret == -ENOTCONN ? "endpoints not enabled" : strerror(-ret);
		return ret;
	}
	if (!strcmp(argv[0], "drain")) {
		enum drain d;
		unsigned long long bps = 0, after = 0;

		if (argc >= 2 && !strcmp(argv[1], "normal"))
			d = DRAIN_NORMAL;
		else if (argc >= 2 && !strcmp(argv[1], "stop"))
			d = DRAIN_STOP;
		else if (argc == 3 && !strcmp(argv[1], "slow") &&
			 (bps = strtoull(argv[2], NULL, 0)) > 0)
			d = DRAIN_SLOW;
		else if (argc == 3 && !strcmp(argv[1], "stop-after") &&
			 (after = strtoull(argv[2], NULL, 0)) > 0)
			d = DRAIN_NORMAL;
		else
			return -EINVAL;
		pthread_mutex_lock(&e.lock);
		e.drain = d;
		e.slow_bps = bps;
		e.stop_after = after;
		e.stop_due = false;
		pthread_cond_broadcast(&e.cond);
		pthread_mutex_unlock(&e.lock);
		if (d == DRAIN_STOP && wait_readers_idle()) {
			*why = "readers did not stop";
			return -EBUSY;
		}
		return 0;
	}
	if (!strcmp(argv[0], "yank-at")) {
		struct yank_at y = { .kind = YANK_AT_OFF };
		char *end = NULL;

		if (argc == 2 && !strcmp(argv[1], "off")) {
			;
		} else if (argc == 3 && (!strcmp(argv[1], "ctrl") || !strcmp(argv[1], "bulk"))) {
			y.kind = argv[1][0] == 'c' ? YANK_AT_CTRL : YANK_AT_BULK;
			errno = 0;
			y.at = strtoull(argv[2], &end, 0);
			if (errno || *end || !y.at || argv[2][0] == '-')
				return -EINVAL;
		} else {
			return -EINVAL;
		}
		pthread_mutex_lock(&e.lock);
		e.ya = y;
		pthread_mutex_unlock(&e.lock);
		if (y.kind != YANK_AT_OFF)
			msg("yank-at %s %llu: armed", argv[1], y.at);
		return 0;
	}
	if (!strcmp(argv[0], "hostile"))
		return hostile_command(argc, argv, f);
	if (!strcmp(argv[0], "sleep-loses"))
		return set_switch(&e.sleep_loses, argc, argv);
	if (!strcmp(argv[0], "sleep-unplug"))
		return set_switch(&e.sleep_unplug, argc, argv);
	if (!strcmp(argv[0], "ctrl-fail"))
		return set_switch(&e.ctrl_fail, argc, argv);
	*why = "unknown command";
	return -EINVAL;
}

static void serve(int lfd)
{
	char line[512], *body = NULL;
	size_t blen = 0, n = 0;
	const char *why = "error";
	ssize_t r;
	FILE *f;
	int cfd, ret;

	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	while (n < sizeof(line) - 1) {
		r = read(cfd, line + n, sizeof(line) - 1 - n);
		if (r <= 0)
			break;
		n += r;
		if (memchr(line, '\n', n))
			break;
	}
	line[n] = 0;
	f = open_memstream(&body, &blen);
	ret = command(line, f, &why);
	if (ret)
		fprintf(f, "ERR %s\n", why);
	else
		fprintf(f, "OK\n");
	fclose(f);
	for (size_t off = 0; off < blen; off += r) {
		r = write(cfd, body + off, blen - off);
		if (r <= 0)
			break;
	}
	free(body);
	close(cfd);
}

static int listen_socket(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", e.sock_path);
	unlink(e.sock_path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16))
		die(e.sock_path);
	return fd;
}

/* ---- client: dlemu ctl ---- */

static int ctl_main(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	const char *path = "/run/dlemu.sock";
	char req[512] = "", buf[4096], *all = NULL, *last;
	size_t len = 0;
	FILE *m;
	ssize_t r;
	int i = 0, fd;

	if (argc > 1 && !strcmp(argv[0], "--socket")) {
		path = argv[1];
		argc -= 2;
		argv += 2;
	}
	if (argc < 1) {
		fprintf(stderr, "usage: dlemu ctl [--socket PATH] COMMAND [ARGS]\n");
		return 2;
	}
	for (i = 0; i < argc; i++) {
		strncat(req, argv[i], sizeof(req) - strlen(req) - 2);
		strncat(req, i + 1 < argc ? " " : "\n", sizeof(req) - strlen(req) - 1);
	}
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		fprintf(stderr, "dlemu ctl: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (write(fd, req, strlen(req)) < 0)
		return 1;
	m = open_memstream(&all, &len);
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, r, m);
	fclose(m);
	close(fd);
	/* the last line is the verdict */
	while (len && all[len - 1] == '\n')
		all[--len] = 0;
	last = strrchr(all, '\n');
	if (last)
		*last++ = 0;
	else
		last = all;
	if (last != all)
		printf("%s\n", all);
	if (!strcmp(last, "OK"))
		return 0;
	fprintf(stderr, "dlemu ctl: %s\n", *last ? last : "no reply");
	free(all);
	return 1;
}

/* ---- main ---- */

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: dlemu [--monitor NAME] [--socket PATH] [--udc NAME] [--name NAME] [--product 0xPID]\n"
		"             [--bulk yes|no|int] [--read-len BYTES]\n"
		"       dlemu ctl [--socket PATH] COMMAND [ARGS...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *monitor = "dvi1080";
	char udc_path[128];
	struct sigaction sa = { 0 };
	struct pollfd pfd;
	int i, lfd;

	if (argc > 1 && !strcmp(argv[1], "ctl"))
		return ctl_main(argc - 2, argv + 2);
	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--monitor"))
			monitor = argv[++i];
		else if (!strcmp(argv[i], "--socket"))
			e.sock_path = argv[++i];
		else if (!strcmp(argv[i], "--udc"))
			e.udc = argv[++i];
		else if (!strcmp(argv[i], "--name"))
			name = argv[++i];
		else if (!strcmp(argv[i], "--bulk") && !strcmp(argv[i + 1], "yes"))
			e.neps = NEPS, i++;
		else if (!strcmp(argv[i], "--bulk") && !strcmp(argv[i + 1], "no"))
			e.neps = 0, i++;
		else if (!strcmp(argv[i], "--bulk") && !strcmp(argv[i + 1], "int"))
			e.neps = 0, e.int_eps = true, i++;
		else if (!strcmp(argv[i], "--product"))
			e.product = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--read-len"))
			read_len = strtoul(argv[++i], NULL, 0);
		else
			usage();
	}
	if (!*name || strchr(name, '/') || strlen(name) > 32)
		usage();
	if (!read_len || read_len % READ_LEN_EXACT || read_len > READ_LEN_MAX)
		usage();
	snprintf(gadget, sizeof(gadget), "/sys/kernel/config/usb_gadget/%s", name);
	snprintf(ffs_dir, sizeof(ffs_dir), "/run/%s-ffs", name);
	if (monitor_build(monitor, &e.mon)) {
		fprintf(stderr, "dlemu: unknown monitor %s\n", monitor);
		return 2;
	}
	if (dld_init(&e.dec))
		die("memory");
	pthread_mutex_lock(&e.lock);
	power_on_locked();
	pthread_mutex_unlock(&e.lock);

	/* no SA_RESTART: signals must get threads out of blocking reads */
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = sigusr1;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	setup_gadget();
	open_function();
	lfd = listen_socket();
	pthread_create(&e.yanker, NULL, yanker_main, NULL);
	pthread_create(&e.ep0_thread, NULL, ep0_main, NULL);
	for (i = 0; i < e.neps; i++)
		pthread_create(&e.readers[i], NULL, reader_main, (void *)(long)i);
	snprintf(udc_path, sizeof(udc_path), "/sys/class/udc/%s", e.udc);
	for (i = 0; i < 100 && access(udc_path, F_OK); i++)
		usleep(50000);
	if (set_udc(true))
		die("bind UDC");
	msg("plugged in as 17e9:%04x on %s, monitor %s, socket %s",
	    e.product, e.udc, monitor, e.sock_path);

	pfd.fd = lfd;
	pfd.events = POLLIN;
	while (!stopping) {
		if (poll(&pfd, 1, 500) > 0)
			serve(lfd);
	}

	msg("stopping");
	set_udc(false);
	pthread_mutex_lock(&e.lock);
	pthread_cond_broadcast(&e.cond);
	pthread_cond_broadcast(&e.yank_cond);
	pthread_mutex_unlock(&e.lock);
	pthread_join(e.yanker, NULL);
	for (i = 0; i < e.neps; i++) {
		while (pthread_tryjoin_np(e.readers[i], NULL)) {
			pthread_kill(e.readers[i], SIGUSR1);
			usleep(10000);
		}
	}
	while (pthread_tryjoin_np(e.ep0_thread, NULL)) {
		pthread_kill(e.ep0_thread, SIGUSR1);
		usleep(10000);
	}
	for (i = 0; i < e.neps; i++) {
		close(e.ep[i]);
		close(e.ep_nb[i]);
	}
	close(e.ep0);
	teardown_gadget();
	close(lfd);
	unlink(e.sock_path);
	dld_fini(&e.dec);
	return 0;
}
