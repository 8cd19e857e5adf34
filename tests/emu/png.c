// SPDX-License-Identifier: GPL-2.0-only
/*
 * A dependency-free PNG writer: zlib "stored" blocks, so no compressor is
 * needed. Files are large (3 bytes a pixel) but exact, and any viewer or
 * test reads them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "png.h"

static uint32_t crc_table[256];

static void crc_init(void)
{
	uint32_t c, n, k;

	if (crc_table[1])
		return;
	for (n = 0; n < 256; n++) {
		c = n;
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[n] = c;
	}
}

static uint32_t crc_update(uint32_t c, const uint8_t *p, size_t n)
{
	while (n--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static int chunk(FILE *f, const char *type, const uint8_t *data, size_t n)
{
	uint8_t hdr[8], tail[4];
	uint32_t crc;

	be32(hdr, n);
	hdr[4] = type[0];
	hdr[5] = type[1];
	hdr[6] = type[2];
	hdr[7] = type[3];
	crc = crc_update(0xffffffffu, hdr + 4, 4);
	crc = crc_update(crc, data, n) ^ 0xffffffffu;
	be32(tail, crc);
	if (fwrite(hdr, 8, 1, f) != 1 || (n && fwrite(data, n, 1, f) != 1) ||
	    fwrite(tail, 4, 1, f) != 1)
		return -EIO;
	return 0;
}

int png_write(const char *path, const uint32_t *px, unsigned int w, unsigned int h)
{
	static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	size_t row = (size_t)w * 3 + 1, raw_len = row * h;
	size_t nblk = (raw_len + 65534) / 65535, zlen = 2 + nblk * 5 + raw_len + 4;
	uint8_t ihdr[13], *raw, *z, *q;
	uint32_t a = 1, b = 0;
	size_t i, off, n;
	unsigned int x, y;
	FILE *f;
	int ret;

	crc_init();
	raw = malloc(raw_len);
	z = malloc(zlen);
	if (!raw || !z) {
		free(raw);
		free(z);
		return -ENOMEM;
	}
	for (y = 0, q = raw; y < h; y++) {
		*q++ = 0;	/* filter: none */
		for (x = 0; x < w; x++) {
			uint32_t p = px[(size_t)y * w + x];

			*q++ = p >> 16;
			*q++ = p >> 8;
			*q++ = p;
		}
	}
	q = z;
	*q++ = 0x78;	/* deflate, 32 KiB window, no dictionary */
	*q++ = 0x01;
	for (off = 0; off < raw_len; off += n) {
		n = raw_len - off > 65535 ? 65535 : raw_len - off;
		*q++ = off + n == raw_len;	/* BFINAL, BTYPE=stored */
		*q++ = n & 0xff;
		*q++ = n >> 8;
		*q++ = ~n & 0xff;
		*q++ = (~n >> 8) & 0xff;
		for (i = 0; i < n; i++) {
			a = (a + raw[off + i]) % 65521;
			b = (b + a) % 65521;
		}
		for (i = 0; i < n; i++)
			*q++ = raw[off + i];
	}
	be32(q, b << 16 | a);
	q += 4;

	be32(ihdr, w);
	be32(ihdr + 4, h);
	ihdr[8] = 8;	/* bit depth */
	ihdr[9] = 2;	/* truecolour */
	ihdr[10] = ihdr[11] = ihdr[12] = 0;
	f = fopen(path, "wb");
	if (!f) {
		ret = -errno;
		goto out;
	}
	ret = fwrite(sig, 8, 1, f) == 1 ? 0 : -EIO;
	if (!ret)
		ret = chunk(f, "IHDR", ihdr, 13);
	if (!ret)
		ret = chunk(f, "IDAT", z, q - z);
	if (!ret)
		ret = chunk(f, "IEND", NULL, 0);
	if (fclose(f) && !ret)
		ret = -EIO;
out:
	free(raw);
	free(z);
	return ret;
}
