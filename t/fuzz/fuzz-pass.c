/*
 * fuzz-pass: auth_pass_valid, the check of the X-Share-Access pass, on
 * arbitrary bytes in an exactly-sized heap buffer without a terminator.
 * Invariants: it never reads past the input; a random input is (all but
 * surely) not valid; a pass made by auth_pass_new for an expiry taken from
 * the input is valid, and is no longer valid once any one byte of it is
 * changed to the input's first byte (when that differs).
 */
#include <stdbool.h>
#include <string.h>

#include "auth.h"
#include "fuzz.h"

#define KEY  "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"
#define SUBJ "0b5e6f5e-8d7e-4a43-9b5f-0d1f7c2b9a11"
#define NOW  1790000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = dup_exact(data, size);
	char pass[AUTH_PASS_MAX];
	long long ttl;
	size_t n;

	/* valid inputs carry a MAC that only the key's holder can make */
	CHECK(!auth_pass_valid(p, size, KEY, SUBJ, NOW, 1LL << 40));
	free(p);
	if (size < 2)
		return 0;
	ttl = 1 + data[1] * 1000LL;
	CHECK(auth_pass_new(KEY, SUBJ, NOW + ttl, pass) == 0);
	n = strlen(pass);
	p = dup_exact(pass, n);
	CHECK(auth_pass_valid(p, n, KEY, SUBJ, NOW, ttl));
	CHECK(!auth_pass_valid(p, n, KEY, SUBJ, NOW + ttl, ttl));
	{
		size_t at = data[0] % n;
		char c = (char)(size > 2 ? data[2] : 'x');

		if (p[at] != c) {
			p[at] = c;
			CHECK(!auth_pass_valid(p, n, KEY, SUBJ, NOW, ttl));
		}
	}
	free(p);
	return 0;
}
