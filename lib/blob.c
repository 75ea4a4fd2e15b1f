/* blob: content-addressed files on the volume; see blob.h. */
#include "blob.h"

#define BLOB_WRITEBACK_STEP (8LL << 20)

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void blob_hex(const unsigned char sha[32], char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		hex[2 * i] = digits[sha[i] >> 4];
		hex[2 * i + 1] = digits[sha[i] & 15];
	}
	hex[BLOB_HEX_LEN] = '\0';
}

bool blob_hex_valid(const char *p, size_t n)
{
	if (n != BLOB_HEX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

void blob_relpath(const char *hex, bool gz, char *rel)
{
	snprintf(rel, BLOB_REL_MAX, "%.2s/%.2s/%.64s%s", hex, hex + 2, hex, gz ? ".gz" : "");
}

int blob_path(const char *blob_dir, const char *hex, bool gz, char *out, size_t outsz)
{
	char rel[BLOB_REL_MAX];
	int n;

	blob_relpath(hex, gz, rel);
	n = snprintf(out, outsz, "%s/%s", blob_dir, rel);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int blob_tmp_open(blob_tmp_t *t, const char *blob_dir, const char *prefix)
{
	int n;

	t->fd = -1;
	t->size = 0;
	t->synced = 0;
	t->md = NULL;
	n = snprintf(t->path, sizeof(t->path), "%s/tmp/%sXXXXXX", blob_dir, prefix);
	if (n < 0 || (size_t)n >= sizeof(t->path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	t->fd = mkostemp(t->path, O_CLOEXEC);
	if (t->fd < 0)
		return -1;
	/* readable by nginx, whatever user it runs as (it sends blobs itself) */
	if (fchmod(t->fd, 0644) < 0) {
		blob_tmp_discard(t);
		return -1;
	}
	t->md = EVP_MD_CTX_new();
	if (t->md == NULL || EVP_DigestInit_ex(t->md, EVP_sha256(), NULL) != 1) {
		blob_tmp_discard(t);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int blob_tmp_write(blob_tmp_t *t, const void *p, size_t n)
{
	const char *c = p;

	if (EVP_DigestUpdate(t->md, p, n) != 1) {
		errno = EIO;
		return -1;
	}
	while (n > 0) {
		ssize_t w = write(t->fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
		t->size += w;
	}
	/* start writeback every few MiB while the upload goes on, so the
	 * fdatasync at the end only waits for the tail, and dirty pages never
	 * pile up to a whole large file */
	if (t->size - t->synced >= BLOB_WRITEBACK_STEP) {
		sync_file_range(t->fd, t->synced, t->size - t->synced, SYNC_FILE_RANGE_WRITE);
		t->synced = t->size;
	}
	return 0;
}

int blob_tmp_finish(blob_tmp_t *t, unsigned char sha[32])
{
	unsigned int len = 0;

	if (fdatasync(t->fd) < 0)
		return -1;
	if (EVP_DigestFinal_ex(t->md, sha, &len) != 1 || len != 32) {
		errno = EIO;
		return -1;
	}
	return 0;
}

void blob_tmp_discard(blob_tmp_t *t)
{
	if (t->fd >= 0) {
		close(t->fd);
		t->fd = -1;
		unlink(t->path);
	}
	if (t->md) {
		EVP_MD_CTX_free(t->md);
		t->md = NULL;
	}
}

int blob_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* mkdir that tolerates a concurrent creator; fsyncs the parent when it made it */
static int make_dir(const char *path, const char *parent)
{
	if (mkdir(path, 0755) == 0)
		return blob_sync_dir(parent);
	return errno == EEXIST ? 0 : -1;
}

int blob_place(blob_tmp_t *t, const char *blob_dir, const char *hex, bool gz,
	       long long expect_size)
{
	char final[BLOB_PATH_MAX], d1[BLOB_PATH_MAX], d2[BLOB_PATH_MAX];
	struct stat st;
	int err;

	if (blob_path(blob_dir, hex, gz, final, sizeof(final)) < 0 ||
	    snprintf(d1, sizeof(d1), "%s/%.2s", blob_dir, hex) >= (int)sizeof(d1) ||
	    snprintf(d2, sizeof(d2), "%s/%.2s/%.2s", blob_dir, hex, hex + 2) >= (int)sizeof(d2)) {
		blob_tmp_discard(t);
		errno = ENAMETOOLONG;
		return -1;
	}
	/* identical content already in place: keep it, drop ours, and make it
	 * look new, so gc's grace period protects it until the caller commits
	 * (it may be a file gc was about to remove as unaccounted for) */
	if (stat(final, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == expect_size) {
		blob_tmp_discard(t);
		return utimensat(AT_FDCWD, final, NULL, 0);
	}
	if (make_dir(d1, blob_dir) < 0 || make_dir(d2, d1) < 0 || rename(t->path, final) < 0 ||
	    blob_sync_dir(d2) < 0) {
		err = errno;
		blob_tmp_discard(t);
		errno = err;
		return -1;
	}
	close(t->fd);
	t->fd = -1;
	blob_tmp_discard(t);
	return 0;
}

long long blob_stat(const char *blob_dir, const char *hex, bool gz)
{
	char path[BLOB_PATH_MAX];
	struct stat st;

	if (blob_path(blob_dir, hex, gz, path, sizeof(path)) < 0 || stat(path, &st) < 0 ||
	    !S_ISREG(st.st_mode))
		return -1;
	return (long long)st.st_size;
}
