/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KMS plumbing the libdrm guest tools share: finding a card without
 * exiting, property ids, dumb buffers and their mappings.
 */
#ifndef KMSUTIL_H
#define KMSUTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Open (O_RDWR) the first /dev/dri/cardN whose DRM driver is @driver and
 * put its path in @path. Returns the fd, or -1 if there is none. With
 * DLKMS_CARD=/dev/dri/cardN in the environment only that node is taken
 * (two adapters: two cards of one driver).
 */
int kms_open_driver(const char *driver, char *path, size_t plen);

/* The id of property @name on object @obj of @type, 0 if it has none. */
uint32_t kms_prop_id(int fd, uint32_t obj, uint32_t type, const char *name);

struct kms_dumb {
	uint32_t handle, pitch, fb;
	unsigned int w, h;
	uint64_t size;
};

/* CREATE_DUMB of a 32 bpp @w x @h buffer; 0 or -errno. */
int kms_dumb_new(int fd, unsigned int w, unsigned int h, struct kms_dumb *d);

/* ADDFB2 (XRGB8888) of @d into d->fb; 0 or -errno. */
int kms_dumb_fb(int fd, struct kms_dumb *d);

/* MAP_DUMB + mmap of @d: a new mapping each call; NULL with errno set. */
uint32_t *kms_dumb_map(int fd, const struct kms_dumb *d);

/* RMFB (if any) and DESTROY_DUMB; 0 or -errno of the first that failed. */
int kms_dumb_free(int fd, struct kms_dumb *d);

/* DMA_BUF_IOCTL_SYNC with @flags (DMA_BUF_SYNC_START/END | _READ/_WRITE/_RW) */
void kms_dmabuf_sync(int dmabuf_fd, uint64_t flags);

#endif
