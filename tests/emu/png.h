/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef DLEMU_PNG_H
#define DLEMU_PNG_H

#include <stdint.h>

/* Writes @w x @h XRGB8888 pixels as an 8-bit RGB PNG; 0 or -errno. */
int png_write(const char *path, const uint32_t *px, unsigned int w, unsigned int h);

#endif
