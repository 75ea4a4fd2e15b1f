/*
 * test-blob: the content-addressed store on a scratch directory. A temp
 * blob hashes what is written (checked against known SHA-256 vectors and a
 * chunked write), lands at <ab>/<cd>/<hex> with mode 0644, a second copy of
 * the same content is dropped (dedup), a wrong-size file at the target is
 * replaced, discard leaves no temp file, and the path helpers refuse what
 * does not fit.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob.h"
#include "tap.h"

static char dir[] = "/tmp/coffer-test-blob-XXXXXX";

static int count_tmp(void)
{
	char path[600];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "%s/tmp", dir);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Store p[0..n) written in chunks of `chunk` bytes; hex gets the digest. */
static int store(const char *p, size_t n, size_t chunk, char *hex)
{
	blob_tmp_t t;
	unsigned char sha[32];

	if (blob_tmp_open(&t, dir, "up-") < 0)
		return -1;
	for (size_t off = 0; off < n; off += chunk) {
		size_t k = n - off < chunk ? n - off : chunk;

		if (blob_tmp_write(&t, p + off, k) < 0) {
			blob_tmp_discard(&t);
			return -1;
		}
	}
	if (blob_tmp_finish(&t, sha) < 0) {
		blob_tmp_discard(&t);
		return -1;
	}
	blob_hex(sha, hex);
	return blob_place(&t, dir, hex, false, (long long)n);
}

static void rm_rf(const char *path)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		diag("could not remove %s", path);
}

int main(void)
{
	char hex[BLOB_HEX_LEN + 1], hex2[BLOB_HEX_LEN + 1], path[BLOB_PATH_MAX], rel[BLOB_REL_MAX];
	char tmpdir[600], *big;
	struct stat st;
	blob_tmp_t t;
	size_t bign = 3 * 1024 * 1024 + 17;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", dir);
	mkdir(tmpdir, 0755);

	/* paths */
	blob_relpath("ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12", false, rel);
	tap_is_str(rel, "ab/12/ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12",
		   "relpath fans out by the first two byte pairs");
	blob_relpath("ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12", true, rel);
	tap_ok(strlen(rel) == 6 + 64 + 3 && strcmp(rel + 70, ".gz") == 0, "gz relpath ends in .gz");
	tap_ok(blob_path("/x", "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12", false,
			 path, 20) < 0, "blob_path refuses a buffer that is too small");
	tap_ok(blob_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 64),
	       "lowercase hex digest is valid");
	tap_ok(!blob_hex_valid("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", 64),
	       "uppercase is not (names on disk are lowercase)");
	tap_ok(!blob_hex_valid("e3b0", 4), "short is not");
	tap_ok(!blob_hex_valid("../../etc/passwd000000000000000000000000000000000000000000000000", 64),
	       "path characters are not");

	/* known digests */
	tap_is_int(store("", 0, 1, hex), 0, "empty content stored");
	tap_is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		   "SHA-256 of empty content");
	tap_is_int(blob_stat(dir, hex, false), 0, "empty blob has size 0");
	tap_is_int(store("abc", 3, 1, hex), 0, "abc stored byte by byte");
	tap_is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		   "SHA-256 of abc (FIPS 180-2 vector)");
	blob_path(dir, hex, false, path, sizeof(path));
	tap_ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644,
	       "blob is 0644 so nginx can send it whatever its user");

	/* chunking does not change the digest; dedup keeps one file */
	big = malloc(bign);
	if (big == NULL)
		return 1;
	for (size_t i = 0; i < bign; i++)
		big[i] = (char)(i * 2654435761u >> 13);
	tap_is_int(store(big, bign, 65536, hex), 0, "3 MiB stored in 64 KiB chunks");
	tap_is_int(store(big, bign, 1000003, hex2), 0, "same content in odd-sized chunks");
	tap_is_str(hex2, hex, "same digest whatever the chunking");
	tap_is_int(blob_stat(dir, hex, false), (long long)bign, "stored size matches");
	tap_is_int(count_tmp(), 0, "no temp files left after place and dedup");

	/* a damaged (wrong-size) file in place is replaced by the good copy */
	blob_path(dir, hex, false, path, sizeof(path));
	tap_ok(truncate(path, 10) == 0, "damage the stored blob");
	tap_is_int(store(big, bign, 1 << 20, hex2), 0, "store it again");
	tap_is_int(blob_stat(dir, hex, false), (long long)bign, "the damaged copy was replaced");

	/* discard */
	tap_is_int(blob_tmp_open(&t, dir, "up-"), 0, "open a temp blob");
	tap_is_int(blob_tmp_write(&t, "partial", 7), 0, "write part of an upload");
	tap_is_int(count_tmp(), 1, "its temp file exists");
	blob_tmp_discard(&t);
	blob_tmp_discard(&t);
	tap_is_int(count_tmp(), 0, "discard (twice) removes it");
	tap_is_int(blob_stat(dir, "0000000000000000000000000000000000000000000000000000000000000000",
			     false), -1, "absent blob stats as -1");

	/* a temp dir that is missing fails cleanly */
	rm_rf(tmpdir);
	errno = 0;
	tap_ok(blob_tmp_open(&t, dir, "up-") < 0 && errno == ENOENT && t.fd == -1,
	       "no tmp directory: open fails with ENOENT");

	free(big);
	rm_rf(dir);
	return done_testing();
}
