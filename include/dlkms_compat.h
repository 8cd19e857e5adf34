/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one place that bridges the kernels dlkms supports (6.1 .. 7.2).
 *
 * Feature tests, not version numbers: Debian backports DRM features into
 * its 6.12 kernels. Kbuild probes grep the kernel's own headers and define
 * DLKMS_HAVE_* (not __has_include: sparse in 6.1/6.12's releases lacks it).
 */
#ifndef DLKMS_COMPAT_H
#define DLKMS_COMPAT_H

#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include <drm/drm_device.h>
#include <drm/drm_edid.h>
#include <drm/drm_gem_atomic_helper.h>
#include <drm/drm_plane.h>

/* 7.1 renamed struct drm_atomic_state to struct drm_atomic_commit. */
/*
 * The unbound system workqueue; 7.2 warns about work queued on system_wq
 * (Debian's 6.12 has the new name too).
 */
#ifndef DLKMS_HAVE_SYSTEM_DFL_WQ
#define system_dfl_wq system_unbound_wq
#endif

#ifdef DLKMS_HAVE_ATOMIC_COMMIT
#define dlkms_atomic_state drm_atomic_commit
#else
#define dlkms_atomic_state drm_atomic_state
#endif

/*
 * fbdev emulation: 7.x drivers declare it in struct drm_driver and start
 * it with drm_client_setup(); 6.12 has drm_fbdev_shmem_setup(); 6.1 the
 * generic one. The older two take bpp 32 explicitly: given 0 they use the
 * preferred depth (24) as bpp and ask for packed RGB888, which the device
 * cannot scan out.
 */
#if defined(DLKMS_HAVE_FBDEV_SHMEM_OPS)
#ifdef DLKMS_HAVE_CLIENTS_DIR
#include <drm/clients/drm_client_setup.h>
#else
#include <drm/drm_client_setup.h>
#endif
#include <drm/drm_fbdev_shmem.h>
#define DLKMS_FBDEV_DRIVER_OPS DRM_FBDEV_SHMEM_DRIVER_OPS
static inline void dlkms_fbdev_setup(struct drm_device *dev)
{
	drm_client_setup(dev, NULL);
}
#elif defined(DLKMS_HAVE_FBDEV_SHMEM)
#include <drm/drm_fbdev_shmem.h>
#define DLKMS_FBDEV_DRIVER_OPS
static inline void dlkms_fbdev_setup(struct drm_device *dev)
{
	drm_fbdev_shmem_setup(dev, 32);
}
#else
#include <drm/drm_fb_helper.h>
#define DLKMS_FBDEV_DRIVER_OPS
static inline void dlkms_fbdev_setup(struct drm_device *dev)
{
	drm_fbdev_generic_setup(dev, 32);
}
#endif

/* file_operations members DRM_GEM_FOPS has gained since 6.1 */
#ifdef DLKMS_HAVE_GEM_GET_UNMAPPED_AREA
#define DLKMS_GEM_FOPS_UNMAPPED_AREA .get_unmapped_area = drm_gem_get_unmapped_area,
#else
#define DLKMS_GEM_FOPS_UNMAPPED_AREA
#endif
#ifdef FOP_UNSIGNED_OFFSET
#define DLKMS_GEM_FOPS_FLAGS .fop_flags = FOP_UNSIGNED_OFFSET,
#else
#define DLKMS_GEM_FOPS_FLAGS
#endif

/* typed allocation helpers: 7.x, and Debian's 6.12 by backport */
#ifndef kzalloc_obj
#define kzalloc_obj(P, gfp) kzalloc(sizeof(P), gfp)
#endif

/* struct drm_driver lost .date in 7.x */
#ifdef DLKMS_HAVE_DRIVER_DATE
#define DLKMS_DRIVER_DATE(d) .date = (d),
#else
#define DLKMS_DRIVER_DATE(d)
#endif

/*
 * 6.1's drm_edid_connector_update() also adds the modes and returns their
 * number; later kernels split that into drm_edid_connector_add_modes().
 */
static inline int dlkms_edid_update_modes(struct drm_connector *connector,
					  const struct drm_edid *drm_edid)
{
#ifdef DLKMS_HAVE_EDID_ADD_MODES
	drm_edid_connector_update(connector, drm_edid);
	return drm_edid_connector_add_modes(connector);
#else
	return drm_edid_connector_update(connector, drm_edid);
#endif
}

static inline void dlkms_hrtimer_setup(struct hrtimer *timer,
				       enum hrtimer_restart (*fn)(struct hrtimer *))
{
#ifdef DLKMS_HAVE_HRTIMER_SETUP
	hrtimer_setup(timer, fn, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
#else
	hrtimer_init(timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	timer->function = fn;
#endif
}

/*
 * The device that does DMA for a USB display is the host controller. 7.x
 * records it in the DRM device (and takes its own reference), and the
 * shmem helpers import through it; older kernels need the driver's own
 * .gem_prime_import.
 */
#ifdef DLKMS_HAVE_DMA_DEV
#define DLKMS_GEM_PRIME_IMPORT(fn)
static inline void dlkms_set_dma_dev(struct drm_device *drm, struct device *dma_dev)
{
	drm_dev_set_dma_dev(drm, dma_dev);
}
#else
#define DLKMS_GEM_PRIME_IMPORT(fn) .gem_prime_import = (fn),
static inline void dlkms_set_dma_dev(struct drm_device *drm, struct device *dma_dev)
{
}
#endif

/* 7.x passes fb_create the format info it looked up */
#ifdef DLKMS_HAVE_FB_CREATE_INFO
#define DLKMS_FB_CREATE_INFO_PARAM const struct drm_format_info *info,
#define DLKMS_FB_CREATE_INFO_ARG info,
#else
#define DLKMS_FB_CREATE_INFO_PARAM
#define DLKMS_FB_CREATE_INFO_ARG
#endif

/*
 * 6.13 told atomic_async_check whether the update is a page flip: the
 * hook's parameters, named plane and state.
 */
#ifdef DLKMS_HAVE_ASYNC_CHECK_FLIP
#define DLKMS_ASYNC_CHECK_PARAMS \
	struct drm_plane *plane, struct dlkms_atomic_state *state, bool flip
#else
#define DLKMS_ASYNC_CHECK_PARAMS struct drm_plane *plane, struct dlkms_atomic_state *state
#endif

/*
 * The SIZE_HINTS plane property (6.8): the sizes a cursor plane prefers.
 * Without it userspace has the cursor size caps only. @sizes are square.
 */
static inline int dlkms_plane_add_size_hints(struct drm_plane *plane, const u16 *sizes,
					     unsigned int n)
{
#ifdef DLKMS_HAVE_SIZE_HINTS
	struct drm_plane_size_hint hints[4];
	unsigned int i;

	if (WARN_ON(n > ARRAY_SIZE(hints)))
		n = ARRAY_SIZE(hints);
	for (i = 0; i < n; i++) {
		hints[i].width = sizes[i];
		hints[i].height = sizes[i];
	}
	return drm_plane_add_size_hints_property(plane, hints, n);
#else
	return 0;
#endif
}

/*
 * 6.2 moved mapping a framebuffer for the CPU out of prepare_fb and
 * cleanup_fb into begin_fb_access and end_fb_access, which bracket the
 * commit's access to it; on 6.1 the shadow-plane helpers map in the
 * former. DLKMS_FB_ACCESS_FUNCS() names a plane's pair of hooks for
 * whichever the kernel has, and the dlkms_shadow_*_fb_access() helpers
 * are the shadow-plane helpers' mapping in them.
 */
#ifdef DLKMS_HAVE_FB_ACCESS
#define DLKMS_FB_ACCESS_FUNCS(begin, end) .begin_fb_access = (begin), .end_fb_access = (end)
#else
#define DLKMS_FB_ACCESS_FUNCS(begin, end) .prepare_fb = (begin), .cleanup_fb = (end)
#endif

static inline int dlkms_shadow_begin_fb_access(struct drm_plane *plane,
					       struct drm_plane_state *state)
{
#ifdef DLKMS_HAVE_FB_ACCESS
	return drm_gem_begin_shadow_fb_access(plane, state);
#else
	return drm_gem_prepare_shadow_fb(plane, state);
#endif
}

static inline void dlkms_shadow_end_fb_access(struct drm_plane *plane,
					      struct drm_plane_state *state)
{
#ifdef DLKMS_HAVE_FB_ACCESS
	drm_gem_end_shadow_fb_access(plane, state);
#else
	drm_gem_cleanup_shadow_fb(plane, state);
#endif
}

#endif /* DLKMS_COMPAT_H */
