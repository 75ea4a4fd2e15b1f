/* auth: password hashing and tokens; see auth.h. */
#include "auth.h"

#include <argon2.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "b64.h"

int auth_random(void *p, size_t n)
{
	unsigned char *b = p;

	while (n) {
		ssize_t r = getrandom(b, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

int auth_token_new(const char *prefix, char *out, size_t outlen)
{
	unsigned char raw[AUTH_TOKEN_BYTES];
	size_t pl = strlen(prefix);

	if (outlen < pl + AUTH_TOKEN_CHARS + 1 || auth_random(raw, sizeof(raw)) < 0)
		return -1;
	memcpy(out, prefix, pl);
	b64url_encode(raw, sizeof(raw), out + pl);
	return 0;
}

void auth_digest(const char *p, size_t n, char out[AUTH_DIGEST_HEX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
	out[0] = '\\';
	out[1] = 'x';
	for (unsigned i = 0; i < 32; i++) {
		out[2 + 2 * i] = hex[md[i] >> 4];
		out[3 + 2 * i] = hex[md[i] & 15];
	}
	out[66] = '\0';
}

int auth_password_hash(const char *pw, size_t n, int m_kib, int t, char out[AUTH_HASH_MAX])
{
	unsigned char salt[16];

	if (auth_random(salt, sizeof(salt)) < 0)
		return -1;
	if (argon2id_hash_encoded((uint32_t)t, (uint32_t)m_kib, 1, pw, n, salt, sizeof(salt), 32,
				  out, AUTH_HASH_MAX) != ARGON2_OK)
		return -1;
	return 0;
}

bool auth_password_verify(const char *encoded, const char *pw, size_t n, int m_kib, int t)
{
	if (encoded == NULL || strncmp(encoded, "$argon2id$", 10) != 0) {
		char dummy[AUTH_HASH_MAX];

		/* spend the same time as a real verification */
		auth_password_hash(pw, n, m_kib, t, dummy);
		return false;
	}
	return argon2id_verify(encoded, pw, n) == ARGON2_OK;
}
