/*
 * compress: gzip (RFC 1952, zlib) for stored blobs. Everything streams
 * through fixed 64 KiB buffers, so memory stays flat whatever the size;
 * reads use pread and retry EINTR and short reads, writes retry EINTR and
 * short writes. Nothing is fsynced: durability is the caller's business.
 */
#ifndef COFFER_COMPRESS_H
#define COFFER_COMPRESS_H

#include <stddef.h>

/* Raw-deflate p[0..n) at level 1 into a scratch buffer (output discarded)
 * and return compressed size / n: < 0.9 means at least 10% saved. 1.0 when
 * n == 0 or on error. Meant for a 64 KiB sample. */
double compress_trial(const void *p, size_t n);

/* Gzip the whole of src_fd (pread from offset 0 to EOF; the file offset is
 * not used) into dst_fd (write from its current position) at level 0-9 or
 * -1 (zlib default, 6). The member has no name and mtime 0, so the output
 * depends on the content and level only. Returns the bytes written, or -1
 * with errno (EINVAL bad level, ENOMEM, or the read/write error; dst then
 * holds a partial member). */
long long compress_gzip_fd(int src_fd, int dst_fd, int level);

/* Decompress the gzip file src_fd (pread from offset 0; concatenated
 * members are one stream, as for gunzip) and call out(ctx, p, n) with the
 * bytes of the ORIGINAL content at offsets [start, end] in order (n > 0;
 * output before start is decompressed and skipped). end may be LLONG_MAX,
 * or past the end, for "to the end". Reading stops as soon as end has been
 * delivered, so a damaged tail after the range goes unnoticed; a start past
 * the end delivers nothing (callers check ranges against the size first).
 * out returns 0 to go on or a negative value to stop. Returns 0, -1 with
 * errno (EINVAL start < 0 or end < start, EBADMSG corrupt or truncated data
 * or trailing garbage, ENOMEM, or the read error), or out's negative value
 * as is. Bytes already delivered before an error stay delivered. */
int compress_gunzip_range(int src_fd, long long start, long long end,
			  int (*out)(void *ctx, const char *p, size_t n), void *ctx);

#endif
