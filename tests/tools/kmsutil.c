// SPDX-License-Identifier: GPL-2.0-only
/* KMS plumbing of the guest tools; see kmsutil.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "kmsutil.h"

int kms_open_driver(const char *driver, char *path, size_t plen)
{
	const char *only = getenv("DLKMS_CARD");
	int i, fd;

	/* card numbers follow probe order, and a replug takes a new one */
	for (i = 0; i < 64; i++) {
		drmVersionPtr v;

		snprintf(path, plen, "/dev/dri/card%d", i);
		if (only && *only && strcmp(only, path))
			continue;
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		v = drmGetVersion(fd);
		if (v && !strcmp(v->name, driver)) {
			drmFreeVersion(v);
			return fd;
		}
		if (v)
			drmFreeVersion(v);
		close(fd);
	}
	return -1;
}

uint32_t kms_prop_id(int fd, uint32_t obj, uint32_t type, const char *name)
{
	drmModeObjectPropertiesPtr props = drmModeObjectGetProperties(fd, obj, type);
	uint32_t id = 0, i;

	for (i = 0; props && i < props->count_props && !id; i++) {
		drmModePropertyPtr p = drmModeGetProperty(fd, props->props[i]);

		if (p && !strcmp(p->name, name))
			id = p->prop_id;
		drmModeFreeProperty(p);
	}
	drmModeFreeObjectProperties(props);
	return id;
}

int kms_dumb_new(int fd, unsigned int w, unsigned int h, struct kms_dumb *d)
{
	struct drm_mode_create_dumb cd = { .width = w, .height = h, .bpp = 32 };

	memset(d, 0, sizeof(*d));
	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &cd))
		return -errno;
	d->handle = cd.handle;
	d->pitch = cd.pitch;
	d->size = cd.size;
	d->w = w;
	d->h = h;
	return 0;
}

int kms_dumb_fb(int fd, struct kms_dumb *d)
{
	uint32_t handles[4] = { d->handle }, pitches[4] = { d->pitch }, offsets[4] = { 0 };

	if (drmModeAddFB2(fd, d->w, d->h, DRM_FORMAT_XRGB8888, handles, pitches, offsets,
			  &d->fb, 0))
		return -errno;
	return 0;
}

uint32_t *kms_dumb_map(int fd, const struct kms_dumb *d)
{
	struct drm_mode_map_dumb md = { .handle = d->handle };
	void *m;

	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &md))
		return NULL;
	m = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, md.offset);
	return m == MAP_FAILED ? NULL : m;
}

int kms_dumb_free(int fd, struct kms_dumb *d)
{
	struct drm_mode_destroy_dumb dd = { .handle = d->handle };
	int ret = 0;

	if (d->fb && drmModeRmFB(fd, d->fb))
		ret = -errno;
	d->fb = 0;
	if (d->handle && drmIoctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, &dd) && !ret)
		ret = -errno;
	d->handle = 0;
	return ret;
}

void kms_dmabuf_sync(int dmabuf_fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	ioctl(dmabuf_fd, DMA_BUF_IOCTL_SYNC, &s);
}
