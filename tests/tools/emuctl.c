// SPDX-License-Identifier: GPL-2.0-only
/* The emulator's control socket client and card lookup of the guest tools. */
#define _GNU_SOURCE	/* program_invocation_short_name */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "emuctl.h"
#include "kmsutil.h"

const char *emu_socket = "/run/dlemu.sock";

int emu(const char *req, char *body, size_t blen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char buf[4096];
	size_t n = 0;
	ssize_t r;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", emu_socket);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror(emu_socket);
		exit(1);
	}
	if (write(fd, req, strlen(req)) < 0 || write(fd, "\n", 1) < 0) {
		perror("emulator socket");
		exit(1);
	}
	/* one request per connection: the emulator closes after its reply */
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += r;
	close(fd);
	buf[n] = 0;
	if (body && blen) {
		n = n < blen - 1 ? n : blen - 1;
		memcpy(body, buf, n);
		body[n] = 0;
	}
	return strstr(buf, "OK\n") ? 0 : -1;
}

int open_card(const char *driver)
{
	char path[64];
	int fd = kms_open_driver(driver, path, sizeof(path));

	if (fd < 0) {
		fprintf(stderr, "%s: no card with driver %s\n", program_invocation_short_name,
			driver);
		exit(1);
	}
	printf("# %s is %s\n", path, driver);
	return fd;
}
