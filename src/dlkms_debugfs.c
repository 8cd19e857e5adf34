// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs of dlkms: what went to the adapter, for benchmarks and for
 * telling "the driver sent nothing" from "the device showed nothing".
 *
 * Copyright (C) 2026 dlkms developers
 */

#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include <drm/drm_file.h>

#include "dlkms_drv.h"

static int dlkms_stats_show(struct seq_file *m, void *unused)
{
	struct dlkms_device *dl = m->private;
	const struct dlkms_stats *st = &dl->stats;

	seq_printf(m, "bpp %u\n", dl->bpp);
	seq_printf(m, "urbs %u\nurb_size %zu\n", dl->urb_count, dl->urb_size);
	seq_printf(m, "bytes %lld\n", atomic64_read(&st->bytes));
	seq_printf(m, "transfers %lld\n", atomic64_read(&st->transfers));
	seq_printf(m, "frames %lld\n", atomic64_read(&st->frames));
	seq_printf(m, "rects %lld\n", atomic64_read(&st->rects));
	seq_printf(m, "pixels %lld\n", atomic64_read(&st->pixels));
	seq_printf(m, "render_ns %lld\n", atomic64_read(&st->render_ns));
	seq_printf(m, "urb_waits %lld\n", atomic64_read(&st->urb_waits));
	seq_printf(m, "urb_wait_ns %lld\n", atomic64_read(&st->urb_wait_ns));
	seq_printf(m, "search_ns %lld\n", atomic64_read(&st->search_ns));
	seq_printf(m, "superseded %lld\n", atomic64_read(&st->superseded));
	seq_printf(m, "owed_sent %lld\n", atomic64_read(&st->owed_sent));
	seq_printf(m, "moved_lines %lld\n", atomic64_read(&st->moved_lines));
	seq_printf(m, "copies %lld\n", atomic64_read(&st->copies));
	seq_printf(m, "gone %d\n", !dlkms_hw_present(dl));
	seq_printf(m, "asleep %d\n", READ_ONCE(dl->asleep));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dlkms_stats);

void dlkms_debugfs_init(struct drm_minor *minor)
{
	struct dlkms_device *dl = to_dlkms(minor->dev);

	debugfs_create_file("dlkms_stats", 0444, minor->debugfs_root, dl,
			    &dlkms_stats_fops);
}
