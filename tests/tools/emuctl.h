/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the libdrm guest tools share: one request to the emulator's control
 * socket, and finding the card of a DRM driver by name.
 */
#ifndef EMUCTL_H
#define EMUCTL_H

#include <stddef.h>

/* the emulator's control socket; "/run/dlemu.sock" unless a tool's --socket sets it */
extern const char *emu_socket;

/*
 * Send the request line @req; the reply body (everything, the final OK/ERR
 * line included) goes to @body if it is not NULL. Returns 0 on OK, -1 on
 * ERR. Exits the tool if the emulator cannot be reached at all: no check
 * can be judged without it.
 */
int emu(const char *req, char *body, size_t blen);

/*
 * Open (O_RDWR) the first /dev/dri/cardN whose DRM driver is @driver and
 * print "# /dev/dri/cardN is DRIVER"; exits the tool if there is none.
 */
int open_card(const char *driver);

#endif
