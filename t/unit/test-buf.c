/*
 * test-buf: the growable buffer keeps its length authoritative, stays
 * NUL-terminated through growth, holds binary data, formats with addf and
 * hands its allocation over with detach.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tap.h"

static void test_empty(void)
{
	buf_t b = BUF_INIT;
	buf_t c;

	is_str(buf_str(&b), "", "BUF_INIT: buf_str is \"\"");
	is_int(b.len, 0, "BUF_INIT: len 0");
	buf_init(&c);
	ok(c.p != NULL, "buf_init: p is never NULL");
	is_str(buf_str(&c), "", "buf_init: buf_str is \"\"");
	is_int(c.cap, 0, "buf_init: nothing allocated yet");
	buf_reset(&c);
	is_int(c.len, 0, "reset of an empty buffer is harmless");
	buf_free(&c);
	buf_free(&b);
	is_str(buf_str(&b), "", "free of an unused buffer is harmless");
}

static void test_growth(void)
{
	buf_t b = BUF_INIT;
	char want[10001];
	bool term = true, capok = true;

	for (int i = 0; i < 10000; i++) {
		want[i] = (char)('a' + i % 26);
		buf_addc(&b, want[i]);
		if (b.p[b.len] != '\0')
			term = false;
		if (b.cap < b.len + 1)
			capok = false;
	}
	want[10000] = '\0';
	ok(term, "NUL-terminated after every append while growing");
	ok(capok, "cap always covers len + terminator");
	is_int(b.len, 10000, "len counts every byte");
	is_mem(b.p, b.len, want, 10000, "contents survive reallocation");

	buf_reset(&b);
	is_int(b.len, 0, "reset: len 0");
	ok(b.cap >= 10001, "reset: keeps the allocation");
	is_str(buf_str(&b), "", "reset: string is empty");

	buf_grow(&b, 100000);
	ok(b.cap >= 100001, "grow reserves room for n bytes and a terminator");
	is_int(b.len, 0, "grow does not change len");
	buf_free(&b);
	is_int(b.cap, 0, "free: cap 0");
	buf_adds(&b, "again");
	is_str(buf_str(&b), "again", "reusable after free");
	buf_free(&b);
}

static void test_binary(void)
{
	buf_t b = BUF_INIT;
	static const char bin[] = { 'a', '\0', 'b', '\0', '\xff', '\x80' };

	buf_add(&b, bin, sizeof(bin));
	is_int(b.len, 6, "binary: len includes NUL bytes");
	is_mem(b.p, b.len, bin, sizeof(bin), "binary: bytes preserved");
	ok(b.p[6] == '\0', "binary: terminated after the data");
	buf_add(&b, "", 0);
	is_int(b.len, 6, "adding 0 bytes changes nothing");
	buf_add(&b, NULL, 0);
	is_int(b.len, 6, "adding 0 bytes from NULL is allowed");
	buf_adds(&b, "cd");
	is_mem(b.p, b.len, "a\0b\0\xff\x80" "cd", 8, "adds appends after binary data");
	buf_free(&b);
}

static void test_addf(void)
{
	buf_t b = BUF_INIT;
	char big[3000];

	buf_addf(&b, "%d-%s-%c", 42, "x", 'y');
	is_str(buf_str(&b), "42-x-y", "addf formats");
	buf_addf(&b, "[%05.1f]", 3.14159);
	is_str(buf_str(&b), "42-x-y[003.1]", "addf appends");
	buf_addf(&b, "%s", "");
	is_int(b.len, 13, "addf of nothing keeps len");

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_reset(&b);
	buf_addf(&b, "<%s>", big);
	is_int(b.len, sizeof(big) + 1, "addf larger than the initial capacity");
	ok(b.p[0] == '<' && b.p[b.len - 1] == '>' && b.p[b.len] == '\0',
	   "addf: large output complete and terminated");
	ok(strspn(b.p + 1, "z") == sizeof(big) - 1, "addf: large output body intact");
	buf_free(&b);
}

static void test_detach(void)
{
	buf_t b = BUF_INIT;
	size_t len = 99;
	char *p;

	buf_adds(&b, "hello");
	buf_addc(&b, '\0');
	buf_adds(&b, "x");
	p = buf_detach(&b, &len);
	is_int(len, 7, "detach: reports the length");
	is_mem(p, len + 1, "hello\0x", 8, "detach: data and terminator handed over");
	is_int(b.len, 0, "detach: buffer emptied");
	is_int(b.cap, 0, "detach: buffer no longer owns memory");
	is_str(buf_str(&b), "", "detach: buffer reads as empty");
	free(p);

	p = buf_detach(&b, &len);
	ok(p != NULL, "detach of an empty buffer returns an allocation");
	is_int(len, 0, "detach of an empty buffer: len 0");
	is_str(p, "", "detach of an empty buffer: empty string");
	free(p);

	buf_adds(&b, "k");
	p = buf_detach(&b, NULL);
	is_str(p, "k", "detach with NULL len");
	free(p);
	buf_free(&b);
}

int main(void)
{
	test_empty();
	test_growth();
	test_binary();
	test_addf();
	test_detach();
	return done_testing();
}
