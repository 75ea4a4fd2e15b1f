/*
 * auth: the cryptography of accounts: argon2id password hashes, random
 * session and API tokens (256 bits from the kernel CSPRNG, base64url) and
 * their SHA-256 digests, which are all the database ever stores.
 */
#ifndef COFFER_AUTH_H
#define COFFER_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_TOKEN_BYTES   32
#define AUTH_TOKEN_CHARS   43                  /* base64url of 32 bytes, unpadded */
#define AUTH_HASH_MAX      128                 /* encoded argon2id string */
#define AUTH_DIGEST_HEX    (2 + 64 + 1)        /* "\\x" + hex + NUL: bytea input */
#define AUTH_PASSWORD_MIN  10
#define AUTH_PASSWORD_MAX  1024

/* Fill p with n bytes from getrandom(2). Returns 0, or -1 (never partial). */
int auth_random(void *p, size_t n);
/* A new token: prefix followed by 43 base64url characters, in out
 * (room for strlen(prefix) + 44). Returns 0 or -1. */
int auth_token_new(const char *prefix, char *out, size_t outlen);
/* SHA-256 of p[0..n) as bytea input text "\\x<64 hex>" in out. */
void auth_digest(const char *p, size_t n, char out[AUTH_DIGEST_HEX]);
/* argon2id hash of the password with a random salt, encoded ("$argon2id$v=19$...").
 * Returns 0 or -1. */
int auth_password_hash(const char *pw, size_t n, int m_kib, int t, char out[AUTH_HASH_MAX]);
/* True when pw matches encoded. A NULL encoded still spends the time of a
 * verification (against a fixed dummy hash) so unknown users cannot be told
 * apart by timing, and returns false. */
bool auth_password_verify(const char *encoded, const char *pw, size_t n, int m_kib, int t);

/* A pass: proof, until its expiry, that its holder gave the password whose
 * hash is key, for subject (e.g. a share link's id), so that the password
 * (and argon2id) is not needed on every request. Text form:
 * "<expiry, unix seconds>.<base64url HMAC-SHA256(key, subject "." expiry)>".
 * A new password (a new hash) ends every pass made with the old one. */
#define AUTH_PASS_MAX 64
/* Write the pass into out; returns 0 or -1. */
int auth_pass_new(const char *key, const char *subject, long long expiry, char out[AUTH_PASS_MAX]);
/* Is p[0..n) (untrusted, not terminated) a pass for key and subject that is
 * still valid at now and expires at most max_ttl seconds after now? */
bool auth_pass_valid(const char *p, size_t n, const char *key, const char *subject, long long now,
		     long long max_ttl);

#endif
