/*
 * test-auth: tokens are a prefix plus 43 base64url characters of fresh
 * randomness; digests are bytea text "\\x" + 64 lowercase hex of SHA-256
 * (known vectors); argon2id hashes verify the right password only, and a
 * NULL or garbage encoded hash never verifies. Argon2 runs with
 * m = 8192 KiB, t = 1 to stay fast.
 */
#include <string.h>

#include "auth.h"
#include "b64.h"
#include "tap.h"

#define M_KIB 8192
#define T     1

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void test_random(void)
{
	unsigned char a[32], b[32], zero[32] = { 0 };

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	is_int(auth_random(a, sizeof(a)), 0, "auth_random succeeds");
	is_int(auth_random(b, sizeof(b)), 0, "auth_random succeeds again");
	ok(memcmp(a, b, sizeof(a)) != 0, "two draws differ");
	ok(memcmp(a, zero, sizeof(a)) != 0, "the buffer was filled");
	is_int(auth_random(a, 0), 0, "auth_random of 0 bytes");
}

static void test_tokens(void)
{
	char t1[64], t2[64], small[4 + AUTH_TOKEN_CHARS + 1];
	unsigned char raw[AUTH_TOKEN_CHARS];

	is_int(auth_token_new("cof_", t1, sizeof(t1)), 0, "token_new succeeds");
	is_int(strlen(t1), 4 + AUTH_TOKEN_CHARS, "token is prefix + 43 characters");
	ok(strncmp(t1, "cof_", 4) == 0, "token starts with the prefix");
	is_int(strspn(t1 + 4, b64url), AUTH_TOKEN_CHARS, "the rest is base64url");
	is_int(b64url_decode(t1 + 4, AUTH_TOKEN_CHARS, raw), AUTH_TOKEN_BYTES,
	       "and decodes to 32 bytes");
	is_int(auth_token_new("cof_", t2, sizeof(t2)), 0, "a second token");
	ok(strcmp(t1, t2) != 0, "two tokens differ");

	is_int(auth_token_new("", t1, sizeof(t1)), 0, "token_new with an empty prefix");
	is_int(strlen(t1), AUTH_TOKEN_CHARS, "  is 43 characters");

	is_int(auth_token_new("cof_", small, sizeof(small)), 0,
	       "token_new fits exactly strlen(prefix) + 44 bytes");
	is_int(strlen(small), 4 + AUTH_TOKEN_CHARS, "  and is terminated");
	is_int(auth_token_new("cof_", small, sizeof(small) - 1), -1,
	       "token_new refuses a buffer one byte short");
}

static void digest_is(const char *p, size_t n, const char *hex, const char *name)
{
	char out[AUTH_DIGEST_HEX + 8];

	memset(out, '#', sizeof(out));
	auth_digest(p, n, out);
	is_str(out, hex, "digest of %s", name);
	ok(out[AUTH_DIGEST_HEX] == '#', "  writes no more than AUTH_DIGEST_HEX bytes");
}

static void test_digest(void)
{
	char a[AUTH_DIGEST_HEX], b[AUTH_DIGEST_HEX];

	digest_is("abc", 3,
		  "\\xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		  "\"abc\" (FIPS 180-2 vector)");
	digest_is("", 0,
		  "\\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		  "the empty string");
	digest_is("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
		  "\\x248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
		  "the 448-bit FIPS vector");
	auth_digest("a\0b", 3, a);
	auth_digest("a\0c", 3, b);
	ok(strcmp(a, b) != 0, "digest covers bytes after a NUL");
	auth_digest("abcd", 3, b);
	is_str(b, "\\xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "digest uses only n bytes");
}

static void test_password(void)
{
	char h1[AUTH_HASH_MAX], h2[AUTH_HASH_MAX];
	static const char pw[] = "correct horse battery staple";
	size_t n = sizeof(pw) - 1;

	is_int(auth_password_hash(pw, n, M_KIB, T, h1), 0, "password_hash succeeds");
	ok(strncmp(h1, "$argon2id$v=19$m=8192,t=1,p=1$", 30) == 0,
	   "encoded argon2id with the given parameters (%s)", h1);
	ok(auth_password_verify(h1, pw, n, M_KIB, T), "the right password verifies");
	ok(!auth_password_verify(h1, "correct horse battery stapl", n - 1, M_KIB, T),
	   "a prefix of the password does not");
	ok(!auth_password_verify(h1, "Correct horse battery staple", n, M_KIB, T),
	   "a different password does not");
	ok(!auth_password_verify(h1, "correct horse battery staple!", n + 1, M_KIB, T),
	   "a longer password does not");

	is_int(auth_password_hash(pw, n, M_KIB, T, h2), 0, "hashing again");
	ok(strcmp(h1, h2) != 0, "two hashes of one password differ (random salt)");
	ok(auth_password_verify(h2, pw, n, M_KIB, T), "  and both verify");

	is_int(auth_password_hash("pw\0one", 6, M_KIB, T, h2), 0, "hash a password with a NUL");
	ok(auth_password_verify(h2, "pw\0one", 6, M_KIB, T), "  verifies with the same bytes");
	ok(!auth_password_verify(h2, "pw\0two", 6, M_KIB, T), "  not with other bytes after the NUL");

	ok(!auth_password_verify(NULL, pw, n, M_KIB, T), "a NULL encoded hash never verifies");
	ok(!auth_password_verify("", pw, n, M_KIB, T), "an empty encoded hash never verifies");
	ok(!auth_password_verify("garbage", pw, n, M_KIB, T), "a garbage hash never verifies");
	ok(!auth_password_verify("$argon2id$garbage", pw, n, M_KIB, T),
	   "a malformed argon2id hash never verifies");
	ok(!auth_password_verify("$argon2i$v=19$m=8192,t=1,p=1$c29tZXNhbHQ$"
				 "c29tZWhhc2hzb21laGFzaHNvbWVoYXNoc29tZWhhc2g", pw, n, M_KIB, T),
	   "an argon2i (not id) hash never verifies");
	/* tamper with one character inside the hash part */
	memcpy(h2, h1, sizeof(h2));
	h2[strlen(h2) - 10] = h2[strlen(h2) - 10] == 'A' ? 'B' : 'A';
	ok(!auth_password_verify(h2, pw, n, M_KIB, T), "a tampered hash does not verify");
}

static void test_pass(void)
{
	const char *key = "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";
	const char *subj = "0b5e6f5e-8d7e-4a43-9b5f-0d1f7c2b9a11";
	long long now = 1790000000;
	char pass[AUTH_PASS_MAX], bad[AUTH_PASS_MAX + 8];
	size_t n;

	is_int(auth_pass_new(key, subj, now + 3600, pass), 0, "make a pass");
	n = strlen(pass);
	is_int((long long)n, 11 + 43, "  \"<expiry>.<43 characters>\"");
	ok(strncmp(pass, "1790003600.", 11) == 0, "  starts with its expiry");
	ok(auth_pass_valid(pass, n, key, subj, now, 3600), "it is valid now");
	ok(auth_pass_valid(pass, n, key, subj, now + 3599, 3600), "  and a second before it expires");
	ok(!auth_pass_valid(pass, n, key, subj, now + 3600, 3600), "  not when it expires");
	ok(!auth_pass_valid(pass, n, key, subj, now, 3599),
	   "  not when it reaches further than max_ttl (a pass from the future)");
	ok(!auth_pass_valid(pass, n, key, "0b5e6f5e-8d7e-4a43-9b5f-0d1f7c2b9a12", now, 3600),
	   "  not for another subject");
	ok(!auth_pass_valid(pass, n, "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2i", subj,
			    now, 3600), "  not after the password changed (another key)");
	ok(!auth_pass_valid(pass, n - 1, key, subj, now, 3600), "  not one character short");
	memcpy(bad, pass, n);
	bad[n] = 'A';
	ok(!auth_pass_valid(bad, n + 1, key, subj, now, 3600), "  not one character long");
	memcpy(bad, pass, n);
	bad[n - 1] = bad[n - 1] == 'A' ? 'B' : 'A';
	ok(!auth_pass_valid(bad, n, key, subj, now, 3600), "  not with its MAC changed");
	/* a later expiry with the old MAC: the expiry is signed */
	memcpy(bad, pass, n);
	bad[9] = '1';
	ok(!auth_pass_valid(bad, n, key, subj, now, 3600), "  not with its expiry changed");
	ok(!auth_pass_valid("", 0, key, subj, now, 3600), "an empty pass is not valid");
	ok(!auth_pass_valid(".", 1, key, subj, now, 3600), "  nor \".\"");
	ok(!auth_pass_valid("1234567890123.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 57, key, subj,
			    now, 3600), "  nor one with 13 digits");
	ok(!auth_pass_valid("-1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 46, key, subj, now, 3600),
	   "  nor a negative expiry");
	is_int(auth_pass_new(key, subj, -1, pass), -1, "no pass with a negative expiry");
}

int main(void)
{
	test_random();
	test_tokens();
	test_digest();
	test_password();
	test_pass();
	return done_testing();
}
