/*
 * test-compress: gzip of blobs through temporary files in /tmp. Round trips
 * of random and text data (0 B to 5 MiB, several levels) are byte-exact;
 * gzip(1) reads what compress_gzip_fd writes and compress_gunzip_range reads
 * what gzip(1) writes; ranges deliver exactly the requested original bytes at
 * every interesting offset (first byte, 64 KiB buffer edges, last byte, end
 * past the size); truncated, bit-flipped, trailing-garbage and non-gzip
 * input fail with EBADMSG without crashing; writes survive EINTR and short
 * writes (a pipe under a signal storm); memory stays flat on a 32 MiB file;
 * the trial ratio tells text from random data.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "compress.h"
#include "tap.h"

#define KIB 1024
#define MIB (1024 * 1024)

/* --- data ------------------------------------------------------------------ */

static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void gen_random(char *p, size_t n, uint64_t seed)
{
	rnd_state = seed | 1;
	for (size_t i = 0; i < n; i++)
		p[i] = (char)(rnd() >> 24);
}

/* Text-like data: words from a small vocabulary, lines, some digits. */
static void gen_text(char *p, size_t n, uint64_t seed)
{
	static const char *const words[] = {
		"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "coffer",
		"stores", "files", "and", "folders", "for", "users", "who", "share", "links",
		"version", "upload", "download", "quota", "blob", "range", "bytes",
	};
	size_t i = 0;

	rnd_state = seed | 1;
	while (i < n) {
		uint64_t r = rnd();
		const char *w = words[r % (sizeof(words) / sizeof(words[0]))];
		char tmp[32];
		int l;

		if (r % 17 == 0)
			l = snprintf(tmp, sizeof(tmp), "%u\n", (unsigned)(r >> 40) % 100000);
		else
			l = snprintf(tmp, sizeof(tmp), "%s ", w);
		for (int k = 0; k < l && i < n; k++)
			p[i++] = tmp[k];
	}
}

static char *xmalloc(size_t n)
{
	char *p = malloc(n ? n : 1);

	if (p == NULL)
		abort();
	return p;
}

/* --- files ------------------------------------------------------------------ */

/* A new empty temp file; its path goes to path (when not NULL), else it is
 * unlinked at once. */
static int tmpfile_fd(char path[64])
{
	char tmpl[] = "/tmp/coffer-test-compress-XXXXXX";
	int fd = mkstemp(tmpl);

	if (fd < 0) {
		perror("mkstemp");
		abort();
	}
	if (path != NULL)
		memcpy(path, tmpl, sizeof(tmpl));
	else
		unlink(tmpl);
	return fd;
}

static void write_fd(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w <= 0) {
			perror("write");
			abort();
		}
		s += w;
		n -= (size_t)w;
	}
}

static int file_with(const void *p, size_t n)
{
	int fd = tmpfile_fd(NULL);

	write_fd(fd, p, n);
	return fd;
}

static long long fd_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (long long)st.st_size : -1;
}

/* The whole file into a new buffer. */
static char *slurp(int fd, size_t *n)
{
	long long sz = fd_size(fd);
	char *p = xmalloc((size_t)sz);

	if (pread(fd, p, (size_t)sz, 0) != sz)
		abort();
	*n = (size_t)sz;
	return p;
}

/* gzip p[0..n) into a new unlinked temp file; its size goes to *gzn. */
static int gz_of(const void *p, size_t n, int level, long long *gzn)
{
	int src = file_with(p, n), dst = tmpfile_fd(NULL);

	*gzn = compress_gzip_fd(src, dst, level);
	close(src);
	return dst;
}

/* --- the range sink ---------------------------------------------------------- */

struct sink {
	buf_t b;
	int calls, empty_calls, stop_after;	/* stop_after > 0: return -7 on that call */
	uLong crc;
	bool keep;	/* false: only the CRC and length (for huge outputs) */
	size_t len;
};

static int sink_out(void *ctx, const char *p, size_t n)
{
	struct sink *s = ctx;

	s->calls++;
	if (n == 0)
		s->empty_calls++;
	if (s->keep)
		buf_add(&s->b, p, n);
	s->crc = crc32(s->crc, (const Bytef *)p, (uInt)n);
	s->len += n;
	if (s->stop_after > 0 && s->calls == s->stop_after)
		return -7;
	return 0;
}

static void sink_init(struct sink *s)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->b);
	s->keep = true;
	s->crc = crc32(0, NULL, 0);
}

/* compress_gunzip_range(gz, start, end) returns 0 and delivers exactly
 * orig[start..min(end, n-1)]. */
static void range_ok(int gz, const char *orig, size_t n, long long start, long long end,
		     const char *what)
{
	struct sink s;
	int rc;
	size_t from = (size_t)start < n ? (size_t)start : n;
	size_t to = end >= (long long)n - 1 ? n : (size_t)end + 1;

	if (to < from)
		to = from;
	sink_init(&s);
	rc = compress_gunzip_range(gz, start, end, sink_out, &s);
	if (is_int(rc, 0, "%s: range [%lld, %lld] succeeds", what, start, end) &&
	    !ok(s.b.len == to - from && memcmp(s.b.p, orig + from, to - from) == 0,
		"  delivers original bytes [%zu, %zu) (%zu bytes)", from, to, to - from))
		diag("got %zu bytes", s.b.len);
	ok(s.empty_calls == 0, "  never calls out with n == 0");
	buf_free(&s.b);
}

/* compress_gunzip_range on gz fails with -1 / EBADMSG. */
static void range_bad(int gz, long long start, long long end, const char *what)
{
	struct sink s;
	int rc;

	sink_init(&s);
	errno = 0;
	rc = compress_gunzip_range(gz, start, end, sink_out, &s);
	is_int(rc, -1, "%s: range [%lld, %lld] fails", what, start, end);
	is_int(errno, EBADMSG, "  with EBADMSG");
	buf_free(&s.b);
}

/* --- tests ------------------------------------------------------------------- */

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* First, while the peak RSS is still low: 32 MiB through both directions
 * must not raise it by more than a few MiB. */
static void test_flat_memory(void)
{
	const size_t total = 32 * MIB, chunk = 64 * KIB;
	char *buf = xmalloc(chunk);
	int src = tmpfile_fd(NULL), gz = tmpfile_fd(NULL);
	uLong crc = crc32(0, NULL, 0);
	struct sink s;
	long before, after;
	long long w;

	for (size_t off = 0; off < total; off += chunk) {
		gen_text(buf, chunk, off + 1);
		crc = crc32(crc, (const Bytef *)buf, (uInt)chunk);
		write_fd(src, buf, chunk);
	}
	before = maxrss_kib();
	w = compress_gzip_fd(src, gz, 6);
	ok(w > 0 && w == fd_size(gz), "32 MiB of text gzipped (%lld bytes)", w);
	sink_init(&s);
	s.keep = false;
	is_int(compress_gunzip_range(gz, 0, LLONG_MAX, sink_out, &s), 0, "  and gunzipped");
	ok(s.len == total && s.crc == crc, "  to the same 32 MiB (length and CRC-32)");
	after = maxrss_kib();
	ok(after - before < 8 * 1024, "  peak RSS grew by %ld KiB (< 8 MiB) for 32 MiB", after - before);
	close(src);
	close(gz);
	free(buf);
}

static void round_trip(const char *data, size_t n, int level, const char *what)
{
	long long gzn;
	int gz = gz_of(data, n, level, &gzn);
	unsigned char hdr[10];

	ok(gzn >= 18 && gzn == fd_size(gz), "%s, level %d: gzip returns the bytes written (%lld)",
	   what, level, gzn);
	ok(pread(gz, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) && hdr[0] == 0x1f &&
	   hdr[1] == 0x8b && hdr[2] == 8 && hdr[3] == 0 && !memcmp(hdr + 4, "\0\0\0\0", 4),
	   "  RFC 1952 header: magic, deflate, no flags, mtime 0");
	range_ok(gz, data, n, 0, LLONG_MAX, what);
	close(gz);
}

static void test_round_trips(void)
{
	static const size_t sizes[] = { 0, 1, 2, 100, 64 * KIB - 1, 64 * KIB, 64 * KIB + 1,
					1 * MIB + 3, 5 * MIB };
	char *p = xmalloc(5 * MIB);
	char name[64];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		gen_random(p, sizes[i], 42 + i);
		snprintf(name, sizeof(name), "%zu random bytes", sizes[i]);
		round_trip(p, sizes[i], 6, name);
		gen_text(p, sizes[i], 7 + i);
		snprintf(name, sizeof(name), "%zu bytes of text", sizes[i]);
		round_trip(p, sizes[i], 6, name);
	}
	gen_text(p, 300 * KIB, 99);
	for (int level = -1; level <= 9; level++)
		round_trip(p, 300 * KIB, level, "300 KiB of text");
	{
		long long a, b;
		int g1 = gz_of(p, 300 * KIB, 6, &a), g2 = gz_of(p, 300 * KIB, 6, &b);
		size_t n1, n2;
		char *s1 = slurp(g1, &n1), *s2 = slurp(g2, &n2);

		ok(n1 == n2 && memcmp(s1, s2, n1) == 0, "the same input gives the same gzip bytes");
		free(s1);
		free(s2);
		close(g1);
		close(g2);
		close(gz_of(p, 300 * KIB, 1, &a));
		close(gz_of(p, 300 * KIB, 9, &b));
		ok(b < a, "level 9 (%lld) is smaller than level 1 (%lld)", b, a);
	}
	free(p);
}

static void test_ranges_on(const char *data, size_t n, const char *what)
{
	long long gzn, sz = (long long)n;
	int gz = gz_of(data, n, 6, &gzn);
	const long long K = 64 * KIB;
	const long long r[][2] = {
		{ 0, 0 }, { 0, 1 }, { 0, 99 }, { 1, 1 }, { 0, K - 1 }, { 0, K }, { K - 1, K },
		{ K - 1, K - 1 }, { K, K }, { K - 10, K + 10 }, { K + 1, 2 * K - 1 },
		{ 2 * K - 1, 2 * K }, { 3 * K - 5, 5 * K + 5 }, { 100 * K - 1, 100 * K },
		{ sz / 2, sz / 2 }, { sz / 2 - 1000, sz / 2 + 1000 }, { sz / 3, 2 * sz / 3 },
		{ sz - 1, sz - 1 }, { sz - 2, sz - 1 }, { sz - K, sz - 1 }, { sz - 10, sz + 1000 },
		{ sz - 1, LLONG_MAX }, { 0, sz - 1 }, { 0, sz }, { 0, LLONG_MAX },
		{ sz, sz }, { sz, LLONG_MAX }, { sz + 5, sz + 10 }, { LLONG_MAX, LLONG_MAX },
	};
	char name[80];

	ok(gzn > 0, "%s gzipped for the range tests", what);
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		snprintf(name, sizeof(name), "%s", what);
		range_ok(gz, data, n, r[i][0], r[i][1], name);
	}
	/* a sweep of pseudo-random ranges */
	rnd_state = 12345;
	for (int i = 0; i < 40; i++) {
		long long a = (long long)(rnd() % n), b = a + (long long)(rnd() % (300 * KIB));

		range_ok(gz, data, n, a, b, what);
	}
	close(gz);
}

static void test_ranges(void)
{
	char *p = xmalloc(5 * MIB);

	gen_text(p, 5 * MIB, 5);
	test_ranges_on(p, 5 * MIB, "5 MiB of text");
	gen_random(p, 5 * MIB, 6);
	test_ranges_on(p, 5 * MIB, "5 MiB random");
	free(p);
}

static void test_callback(void)
{
	char *p = xmalloc(1 * MIB);
	long long gzn;
	int gz;
	struct sink s;

	gen_text(p, 1 * MIB, 3);
	gz = gz_of(p, 1 * MIB, 6, &gzn);
	sink_init(&s);
	s.stop_after = 1;
	is_int(compress_gunzip_range(gz, 0, LLONG_MAX, sink_out, &s), -7,
	       "a negative value from out is returned as is");
	is_int(s.calls, 1, "  and out is not called again");
	buf_free(&s.b);
	sink_init(&s);
	s.stop_after = 3;
	is_int(compress_gunzip_range(gz, 100, LLONG_MAX, sink_out, &s), -7, "  also on a later call");
	is_int(s.calls, 3, "  which is the last");
	ok(s.b.len > 0 && memcmp(s.b.p, p + 100, s.b.len) == 0, "  what came before is right");
	buf_free(&s.b);
	sink_init(&s);
	is_int(compress_gunzip_range(gz, 0, LLONG_MAX, sink_out, &s), 0, "a full read");
	ok(s.calls >= 16, "  is delivered in chunks (%d calls for 1 MiB)", s.calls);
	buf_free(&s.b);
	close(gz);
	free(p);
}

/* A new temp file with the first `keep` bytes of g[0..gn), the byte at
 * flip_at (unless < 0) flipped, and `append` (unless NULL) after them. */
static int mutated(const char *g, size_t gn, size_t keep, long flip_at, const char *append)
{
	int fd = tmpfile_fd(NULL);
	char *c = xmalloc(gn);

	memcpy(c, g, gn);
	if (flip_at >= 0)
		c[flip_at] ^= 0x5a;
	write_fd(fd, c, keep);
	if (append != NULL)
		write_fd(fd, append, strlen(append));
	free(c);
	return fd;
}

static void test_corrupt_on(const char *data, size_t n, const char *what)
{
	long long gzn;
	int gz = gz_of(data, n, 6, &gzn), fd;
	size_t gn;
	char *g = slurp(gz, &gn);
	const size_t cuts[] = { 1, 2, 9, 10, 11, 18, gn / 2, gn - 8, gn - 4, gn - 1 };
	char name[96];

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		fd = mutated(g, gn, cuts[i], -1, NULL);
		snprintf(name, sizeof(name), "%s truncated to %zu of %zu bytes", what, cuts[i], gn);
		range_bad(fd, 0, LLONG_MAX, name);
		close(fd);
	}
	/* reading stops once the range is delivered: a damaged tail is not seen */
	fd = mutated(g, gn, gn / 2, -1, NULL);
	range_ok(fd, data, n, 0, 999, "the first 1000 bytes of a half-truncated gzip");
	close(fd);
	fd = mutated(g, gn, gn, (long)gn / 2, NULL);
	snprintf(name, sizeof(name), "%s with a byte flipped mid-stream", what);
	range_bad(fd, 0, LLONG_MAX, name);
	range_bad(fd, (long long)n - 10, LLONG_MAX, name);
	close(fd);
	fd = mutated(g, gn, gn, (long)gn - 6, NULL);
	snprintf(name, sizeof(name), "%s with a flipped CRC-32", what);
	range_bad(fd, 0, LLONG_MAX, name);
	range_ok(fd, data, n, 0, 99, "the first 100 bytes despite a flipped CRC-32");
	close(fd);
	fd = mutated(g, gn, gn, (long)gn - 1, NULL);
	snprintf(name, sizeof(name), "%s with a flipped ISIZE", what);
	range_bad(fd, 0, LLONG_MAX, name);
	close(fd);
	fd = mutated(g, gn, gn, 0, NULL);
	snprintf(name, sizeof(name), "%s with a flipped magic byte", what);
	range_bad(fd, 0, LLONG_MAX, name);
	close(fd);
	fd = mutated(g, gn, gn, 3, NULL);	/* FLG: reserved bits set */
	snprintf(name, sizeof(name), "%s with reserved flag bits", what);
	range_bad(fd, 0, LLONG_MAX, name);
	close(fd);
	fd = mutated(g, gn, gn, -1, "trailing garbage");
	snprintf(name, sizeof(name), "%s followed by garbage", what);
	range_bad(fd, 0, LLONG_MAX, name);
	close(fd);
	close(gz);
	free(g);
}

static void test_corrupt(void)
{
	char *p = xmalloc(5 * MIB);
	int fd;

	gen_text(p, 200 * KIB, 11);
	test_corrupt_on(p, 200 * KIB, "200 KiB of text");
	gen_random(p, 5 * MIB, 12);
	test_corrupt_on(p, 5 * MIB, "5 MiB random");

	fd = file_with("", 0);
	range_bad(fd, 0, LLONG_MAX, "an empty file");
	close(fd);
	fd = file_with("hello, I am not gzip at all\n", 28);
	range_bad(fd, 0, LLONG_MAX, "plain text");
	close(fd);
	{
		/* the zlib (RFC 1950) wrapper is not gzip */
		Bytef z[128];
		uLongf zn = sizeof(z);

		compress(z, &zn, (const Bytef *)"hello hello hello", 17);
		fd = file_with(z, zn);
		range_bad(fd, 0, LLONG_MAX, "a zlib stream");
		close(fd);
	}
	{
		/* every value at 16 positions: never a crash, never wrong bytes */
		long long gzn;
		int gz, bad = 0, same = 0;
		size_t gn;
		char *g;

		gen_text(p, 4 * KIB, 13);
		gz = gz_of(p, 4 * KIB, 6, &gzn);
		g = slurp(gz, &gn);
		for (size_t pos = 10; pos < gn; pos += gn / 16) {
			for (int v = 0; v < 256; v++) {
				struct sink s;
				int rc;

				if ((unsigned char)g[pos] == v)
					continue;
				fd = tmpfile_fd(NULL);
				write_fd(fd, g, gn);
				if (pwrite(fd, &(char){ (char)v }, 1, (off_t)pos) != 1)
					abort();
				sink_init(&s);
				rc = compress_gunzip_range(fd, 0, LLONG_MAX, sink_out, &s);
				/* a change the decoder cannot see (e.g. an unused
				 * Huffman code length) must still give the original */
				if (rc == 0 ? s.b.len != 4 * KIB || memcmp(s.b.p, p, 4 * KIB) != 0
					    : rc != -1 || errno != EBADMSG) {
					bad++;
					diag("byte %zu: 0x%02x -> 0x%02x: rc %d, errno %d", pos,
					     (unsigned char)g[pos], v, rc, errno);
				} else if (rc == 0) {
					same++;
				}
				buf_free(&s.b);
				close(fd);
			}
		}
		is_int(bad, 0, "every single-byte change of a 4 KiB gzip fails with EBADMSG or "
		       "gives the original (%d did)", same);
		close(gz);
		free(g);
	}
	free(p);
}

static void test_members(void)
{
	static const char a[] = "first member\n", b[] = "second member, a bit longer\n";
	long long an, bn;
	int ga = gz_of(a, sizeof(a) - 1, 6, &an), gb = gz_of(b, sizeof(b) - 1, 9, &bn), fd;
	size_t n1, n2;
	char *s1 = slurp(ga, &n1), *s2 = slurp(gb, &n2);
	char both[sizeof(a) + sizeof(b)];

	fd = tmpfile_fd(NULL);
	write_fd(fd, s1, n1);
	write_fd(fd, s2, n2);
	memcpy(both, a, sizeof(a) - 1);
	memcpy(both + sizeof(a) - 1, b, sizeof(b));
	range_ok(fd, both, sizeof(a) + sizeof(b) - 2, 0, LLONG_MAX, "two gzip members");
	range_ok(fd, both, sizeof(a) + sizeof(b) - 2, 5, 20, "two gzip members (across them)");
	close(fd);
	/* an empty member */
	{
		long long en;
		int ge = gz_of("", 0, 6, &en);

		is_int(en, 20, "gzip of nothing is 20 bytes");
		range_ok(ge, "", 0, 0, LLONG_MAX, "an empty member");
		close(ge);
	}
	close(ga);
	close(gb);
	free(s1);
	free(s2);
}

static void test_errors(void)
{
	int src = file_with("some data", 9), dst = tmpfile_fd(NULL), pfd[2], fd;
	struct sink s;
	long long gzn;

	errno = 0;
	is_int(compress_gzip_fd(src, dst, 10), -1, "level 10 is refused");
	is_int(errno, EINVAL, "  with EINVAL");
	errno = 0;
	is_int(compress_gzip_fd(src, dst, -2), -1, "level -2 is refused");
	is_int(errno, EINVAL, "  with EINVAL");
	errno = 0;
	is_int(compress_gzip_fd(-1, dst, 6), -1, "a bad source fd fails");
	is_int(errno, EBADF, "  with EBADF");
	errno = 0;
	is_int(compress_gzip_fd(src, -1, 6), -1, "a bad destination fd fails");
	is_int(errno, EBADF, "  with EBADF");
	fd = open("/dev/full", O_WRONLY);
	if (fd >= 0) {
		errno = 0;
		is_int(compress_gzip_fd(src, fd, 6), -1, "writing to /dev/full fails");
		is_int(errno, ENOSPC, "  with ENOSPC");
		close(fd);
	}
	if (pipe(pfd) != 0)
		abort();
	errno = 0;
	is_int(compress_gzip_fd(pfd[0], dst, 6), -1, "a pipe as source fails (no pread)");
	is_int(errno, ESPIPE, "  with ESPIPE");
	sink_init(&s);
	errno = 0;
	is_int(compress_gunzip_range(pfd[0], 0, 10, sink_out, &s), -1, "gunzip of a pipe fails");
	is_int(errno, ESPIPE, "  with ESPIPE");
	close(pfd[0]);
	close(pfd[1]);

	fd = gz_of("abc", 3, 6, &gzn);
	errno = 0;
	is_int(compress_gunzip_range(fd, -1, 10, sink_out, &s), -1, "start < 0 is refused");
	is_int(errno, EINVAL, "  with EINVAL");
	errno = 0;
	is_int(compress_gunzip_range(fd, 5, 4, sink_out, &s), -1, "end < start is refused");
	is_int(errno, EINVAL, "  with EINVAL");
	errno = 0;
	is_int(compress_gunzip_range(-1, 0, 4, sink_out, &s), -1, "a bad fd fails");
	is_int(errno, EBADF, "  with EBADF");
	is_int(s.calls, 0, "out was never called");
	close(fd);
	buf_free(&s.b);
	close(src);
	close(dst);
}

/* The source is read with pread from 0, whatever its offset; the output
 * goes at the destination's current offset. */
static void test_offsets(void)
{
	char *p = xmalloc(200 * KIB), *g;
	int src, dst = tmpfile_fd(NULL), gz;
	long long w, gzn;
	size_t gn;
	unsigned char hdr[8];

	gen_text(p, 200 * KIB, 21);
	src = file_with(p, 200 * KIB);	/* offset now at the end */
	write_fd(dst, "PREFIX", 6);
	w = compress_gzip_fd(src, dst, 6);
	ok(w > 0 && fd_size(dst) == 6 + w, "output appended after the destination's offset");
	ok(pread(dst, hdr, 8, 0) == 8 && memcmp(hdr, "PREFIX\x1f\x8b", 8) == 0,
	   "  the prefix is intact and the gzip magic follows it");
	ok(lseek(src, 0, SEEK_CUR) == 200 * KIB, "  the source's offset is untouched");
	gz = gz_of(p, 200 * KIB, 6, &gzn);
	g = slurp(gz, &gn);
	{
		size_t dn;
		char *d = slurp(dst, &dn);

		ok(w == gzn && dn == gn + 6 && memcmp(d + 6, g, gn) == 0,
		   "  the whole source was compressed, not just from its offset");
		free(d);
	}
	free(g);
	close(gz);
	close(src);
	close(dst);
	free(p);
}

static int file_equals(const char *path, const char *p, size_t n)
{
	int fd = open(path, O_RDONLY);
	size_t gn;
	char *g;
	int r;

	if (fd < 0)
		return 0;
	g = slurp(fd, &gn);
	r = gn == n && memcmp(g, p, n) == 0;
	free(g);
	close(fd);
	return r;
}

/* gzip(1) and compress_* understand each other. */
static void test_gzip_tool(void)
{
	const size_t n = 3 * MIB + 17;
	char *p = xmalloc(n);
	char src_path[64], gz_path[64], out_path[64], cmd[256];
	int src, gz, out, rc;
	long long w;

	gen_text(p, n, 31);
	memcpy(p + n / 2, "\0\1\2\3\xff\xfe", 6);	/* some binary in the middle */
	src = tmpfile_fd(src_path);
	write_fd(src, p, n);
	gz = tmpfile_fd(gz_path);
	out = tmpfile_fd(out_path);
	w = compress_gzip_fd(src, gz, 6);
	ok(w > 0, "gzipped %zu bytes into %s", n, gz_path);
	snprintf(cmd, sizeof(cmd), "gzip -t < %s", gz_path);
	is_int(system(cmd), 0, "gzip -t accepts it");
	snprintf(cmd, sizeof(cmd), "gzip -dc < %s > %s", gz_path, out_path);
	is_int(system(cmd), 0, "gzip -dc decompresses it");
	ok(file_equals(out_path, p, n), "  to the original bytes");

	/* and the other way round */
	snprintf(cmd, sizeof(cmd), "gzip -9 -c < %s > %s", src_path, gz_path);
	rc = system(cmd);
	is_int(rc, 0, "gzip -9 -c compresses the original");
	range_ok(gz, p, n, 0, LLONG_MAX, "gzip(1) output");
	range_ok(gz, p, n, (long long)n / 2 - 3, (long long)n / 2 + 70000, "gzip(1) output");
	/* given a file, gzip stores its name and mtime in the header (FNAME) */
	snprintf(cmd, sizeof(cmd), "gzip -1 -c %s > %s", src_path, gz_path);
	is_int(system(cmd), 0, "gzip -1 -c FILE (header with a name) compresses it too");
	range_ok(gz, p, n, 65535, 65537, "gzip -1 output with FNAME");
	range_ok(gz, p, n, 0, LLONG_MAX, "gzip -1 output with FNAME");

	close(src);
	close(gz);
	close(out);
	unlink(src_path);
	unlink(gz_path);
	unlink(out_path);
	free(p);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* Writes into a pipe that a slow reader drains, while SIGALRM (installed
 * without SA_RESTART) fires every 100 us: write() is interrupted and short. */
static void test_eintr(void)
{
	const size_t n = 4 * MIB;
	char *p = xmalloc(n);
	int pfd[2], src, sink, got;
	struct sigaction sa;
	struct itimerval it = { { 0, 100 }, { 0, 100 } }, stop = { { 0, 0 }, { 0, 0 } };
	long long w;
	pid_t pid;
	int status;

	gen_random(p, n, 77);	/* incompressible: about n bytes of output */
	src = file_with(p, n);
	sink = tmpfile_fd(NULL);
	if (pipe(pfd) != 0)
		abort();
	pid = fork();
	if (pid == 0) {
		char b[3000];
		ssize_t r;
		int i = 0;

		close(pfd[1]);
		while ((r = read(pfd[0], b, sizeof(b))) != 0) {
			if (r < 0) {
				if (errno == EINTR)
					continue;
				_exit(2);
			}
			write_fd(sink, b, (size_t)r);
			if (++i % 64 == 0)
				usleep(200);
		}
		free(p);	/* valgrind checks the child too */
		_exit(0);
	}
	close(pfd[0]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);	/* stays: a late alarm must not kill us */
	setitimer(ITIMER_REAL, &it, NULL);
	w = compress_gzip_fd(src, pfd[1], 6);
	setitimer(ITIMER_REAL, &stop, NULL);
	close(pfd[1]);
	waitpid(pid, &status, 0);
	got = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!ok(got, "the pipe reader finished"))
		diag("wait status 0x%x", status);
	ok(w > (long long)n, "gzip into a pipe under SIGALRM every 100 us (%d signals) succeeds",
	   (int)alarms);
	ok(fd_size(sink) == w, "  every byte reached the reader (%lld)", fd_size(sink));
	range_ok(sink, p, n, 0, LLONG_MAX, "what went through the pipe");
	close(src);
	close(sink);
	free(p);
}

static void test_trial(void)
{
	char *p = xmalloc(5 * MIB);
	double r;

	gen_text(p, 64 * KIB, 1);
	r = compress_trial(p, 64 * KIB);
	ok(r < 0.5, "trial on 64 KiB of text: %.3f < 0.5", r);
	gen_random(p, 64 * KIB, 2);
	r = compress_trial(p, 64 * KIB);
	ok(r > 0.95, "trial on 64 KiB of random bytes: %.3f > 0.95", r);
	memset(p, 0, 64 * KIB);
	r = compress_trial(p, 64 * KIB);
	ok(r < 0.01, "trial on 64 KiB of zeros: %.4f < 0.01", r);
	is_int(compress_trial(p, 0) == 1.0, 1, "trial on 0 bytes is 1.0");
	is_int(compress_trial(NULL, 10) == 1.0, 1, "trial on NULL is 1.0");
	r = compress_trial("a", 1);
	ok(r >= 1.0, "trial on 1 byte: %.1f >= 1.0 (deflate overhead)", r);
	gen_text(p, 5 * MIB, 3);
	r = compress_trial(p, 5 * MIB);
	ok(r < 0.5, "trial on 5 MiB of text: %.3f (flat scratch buffer)", r);
	{
		char *d = dup_exact(p, 1000);

		r = compress_trial(d, 1000);
		ok(r > 0 && r < 1.0, "trial on an exactly-sized 1000-byte buffer: %.3f", r);
		free(d);
	}
	free(p);
}

int main(void)
{
	test_flat_memory();
	test_round_trips();
	test_ranges();
	test_callback();
	test_corrupt();
	test_members();
	test_errors();
	test_offsets();
	test_gzip_tool();
	test_eintr();
	test_trial();
	return done_testing();
}
