/* compress: gzip of blobs; see compress.h. */
#include "compress.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#define CHUNK (64 * 1024)
#define GZIP_WBITS (15 + 16)	/* 32 KiB window, gzip wrapper */

/* One pread, retrying EINTR: short reads are fine for a stream. */
static ssize_t read_at(int fd, void *p, size_t n, long long off)
{
	ssize_t r;

	do
		r = pread(fd, p, n, (off_t)off);
	while (r < 0 && errno == EINTR);
	return r;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int zerrno(int zrc)
{
	switch (zrc) {
	case Z_MEM_ERROR:
		return ENOMEM;
	case Z_STREAM_ERROR:
		return EINVAL;
	default:
		return EBADMSG;
	}
}

double compress_trial(const void *p, size_t n)
{
	unsigned char out[16384];
	const unsigned char *in = p;
	z_stream zs = { 0 };
	unsigned long long total = 0;
	size_t left = n;
	int zrc;

	if (n == 0 || p == NULL)
		return 1.0;
	if (deflateInit2(&zs, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 1.0;
	do {
		uInt take = left > UINT_MAX ? UINT_MAX : (uInt)left;

		zs.next_in = (Bytef *)(uintptr_t)in;	/* zlib does not write its input */
		zs.avail_in = take;
		in += take;
		left -= take;
		do {
			zs.next_out = out;
			zs.avail_out = sizeof(out);
			zrc = deflate(&zs, left == 0 ? Z_FINISH : Z_NO_FLUSH);
			if (zrc == Z_STREAM_ERROR) {
				deflateEnd(&zs);
				return 1.0;
			}
			total += sizeof(out) - zs.avail_out;
		} while (zs.avail_out == 0);
	} while (left > 0);
	deflateEnd(&zs);
	if (zrc != Z_STREAM_END)
		return 1.0;
	return (double)total / (double)n;
}

long long compress_gzip_fd(int src_fd, int dst_fd, int level)
{
	z_stream zs = { 0 };
	unsigned char *in = NULL, *out = NULL;
	long long off = 0, total = -1, written = 0;
	int zrc, err = 0, flush;

	if (level < -1 || level > 9) {
		errno = EINVAL;
		return -1;
	}
	in = malloc(CHUNK);
	out = malloc(CHUNK);
	if (in == NULL || out == NULL) {
		free(in);
		free(out);
		errno = ENOMEM;
		return -1;
	}
	zrc = deflateInit2(&zs, level, Z_DEFLATED, GZIP_WBITS, 8, Z_DEFAULT_STRATEGY);
	if (zrc != Z_OK) {
		err = zerrno(zrc);
		goto out_free;
	}
	do {
		ssize_t r = read_at(src_fd, in, CHUNK, off);

		if (r < 0) {
			err = errno;
			goto out;
		}
		off += r;
		flush = r == 0 ? Z_FINISH : Z_NO_FLUSH;
		zs.next_in = in;
		zs.avail_in = (uInt)r;
		do {
			size_t have;

			zs.next_out = out;
			zs.avail_out = CHUNK;
			zrc = deflate(&zs, flush);
			if (zrc == Z_STREAM_ERROR) {
				err = EINVAL;
				goto out;
			}
			have = CHUNK - zs.avail_out;
			if (write_all(dst_fd, out, have) < 0) {
				err = errno;
				goto out;
			}
			written += (long long)have;
		} while (zs.avail_out == 0);
	} while (flush != Z_FINISH);
	if (zrc != Z_STREAM_END) {
		err = EIO;	/* cannot happen: Z_FINISH with room left ends the stream */
		goto out;
	}
	total = written;
out:
	deflateEnd(&zs);
out_free:
	free(in);
	free(out);
	if (total < 0)
		errno = err;
	return total;
}

int compress_gunzip_range(int src_fd, long long start, long long end,
			  int (*out)(void *ctx, const char *p, size_t n), void *ctx)
{
	z_stream zs = { 0 };
	unsigned char *in = NULL, *obuf = NULL;
	long long off = 0, pos = 0;	/* input offset; original offset of obuf[0] */
	bool member_done = false;	/* a member ended: EOF or another member next */
	bool more_out = false;		/* obuf filled up: inflate may hold more output */
	int zrc, err = 0, ret = 0;

	if (start < 0 || end < start || out == NULL) {
		errno = EINVAL;
		return -1;
	}
	in = malloc(CHUNK);
	obuf = malloc(CHUNK);
	if (in == NULL || obuf == NULL) {
		free(in);
		free(obuf);
		errno = ENOMEM;
		return -1;
	}
	zrc = inflateInit2(&zs, GZIP_WBITS);
	if (zrc != Z_OK) {
		err = zerrno(zrc);
		goto out_free;
	}
	for (;;) {
		size_t have;

		if (zs.avail_in == 0 && !more_out) {
			ssize_t r = read_at(src_fd, in, CHUNK, off);

			if (r < 0) {
				err = errno;
				goto out;
			}
			if (r == 0) {
				if (!member_done)
					err = EBADMSG;	/* empty file or truncated member */
				goto out;
			}
			off += r;
			zs.next_in = in;
			zs.avail_in = (uInt)r;
		}
		if (member_done) {
			/* more input after a member: another member must follow */
			if (inflateReset(&zs) != Z_OK) {
				err = EINVAL;
				goto out;
			}
			member_done = false;
		}
		zs.next_out = obuf;
		zs.avail_out = CHUNK;
		zrc = inflate(&zs, Z_NO_FLUSH);
		if (zrc == Z_NEED_DICT || zrc == Z_DATA_ERROR || zrc == Z_MEM_ERROR ||
		    zrc == Z_STREAM_ERROR) {
			err = zerrno(zrc == Z_NEED_DICT ? Z_DATA_ERROR : zrc);
			goto out;
		}
		/* Z_BUF_ERROR: no progress; only possible with no input left (the next
		 * round reads more) */
		if (zrc == Z_BUF_ERROR && zs.avail_in != 0) {
			err = EBADMSG;
			goto out;
		}
		have = CHUNK - zs.avail_out;
		if (have > 0) {
			/* deliver [max(pos, start), min(pos + have - 1, end)]; inclusive
			 * bounds, so end == LLONG_MAX never overflows */
			long long last = pos + (long long)have - 1;
			long long lo = pos > start ? pos : start;
			long long hi = last < end ? last : end;

			if (lo <= hi) {
				int rc = out(ctx, (const char *)obuf + (lo - pos), (size_t)(hi - lo + 1));

				if (rc < 0) {
					ret = rc;
					goto out;
				}
			}
			pos = last + 1;
			if (last >= end)
				goto out;
		}
		member_done = zrc == Z_STREAM_END;
		more_out = zs.avail_out == 0 && !member_done;
	}
out:
	inflateEnd(&zs);
out_free:
	free(in);
	free(obuf);
	if (err != 0) {
		errno = err;
		ret = -1;
	}
	return ret;
}
