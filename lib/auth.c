/* auth: password hashing and tokens; see auth.h. */
#include "auth.h"

#include <argon2.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
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

/* base64url of HMAC-SHA256(key, subject "." expiry) into mac (44 bytes). */
static int pass_mac(const char *key, const char *subject, long long expiry, char mac[44])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "%s.%lld", subject, expiry);

	if (n < 0 || (size_t)n >= sizeof(msg) ||
	    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, (size_t)n, md,
		 &mdlen) == NULL || mdlen != 32)
		return -1;
	mac[b64url_encode(md, 32, mac)] = '\0';
	return 0;
}

int auth_pass_new(const char *key, const char *subject, long long expiry, char out[AUTH_PASS_MAX])
{
	char mac[44];

	if (expiry < 0 || pass_mac(key, subject, expiry, mac) < 0)
		return -1;
	snprintf(out, AUTH_PASS_MAX, "%lld.%s", expiry, mac);
	return 0;
}

bool auth_pass_valid(const char *p, size_t n, const char *key, const char *subject, long long now,
		     long long max_ttl)
{
	long long expiry = 0;
	char mac[44];
	size_t i = 0;

	/* 1-12 digits (enough for any expiry until the year 33658), '.', 43 characters */
	while (i < n && i < 13 && p[i] >= '0' && p[i] <= '9')
		expiry = expiry * 10 + (p[i++] - '0');
	if (i == 0 || i > 12 || i >= n || p[i] != '.' || n - i - 1 != 43)
		return false;
	if (expiry <= now || expiry - now > max_ttl)
		return false;
	if (pass_mac(key, subject, expiry, mac) < 0)
		return false;
	return CRYPTO_memcmp(mac, p + i + 1, 43) == 0;
}
