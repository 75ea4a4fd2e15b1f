/* cursor: opaque keyset cursors; see cursor.h. */
#include "cursor.h"

#include <string.h>

#include "b64.h"
#include "buf.h"

char *cursor_encode(arena_t *a, const char *const *parts, int n)
{
	buf_t b = BUF_INIT;
	char *out;

	buf_adds(&b, "v1");
	for (int i = 0; i < n; i++) {
		buf_addc(&b, '|');
		buf_adds(&b, parts[i]);
	}
	out = arena_alloc(a, B64_ENCODED_SIZE(b.len));
	b64url_encode((const unsigned char *)b.p, b.len, out);
	buf_free(&b);
	return out;
}

int cursor_decode(arena_t *a, const char *s, size_t len, const char **parts, int n)
{
	unsigned char *raw;
	long rl;
	size_t i = 0;
	int k = 0;

	if (len == 0 || len > CURSOR_MAX_LEN || n > CURSOR_MAX_PARTS)
		return -1;
	raw = arena_alloc(a, len);
	rl = b64url_decode(s, len, raw);
	if (rl < 3 || memcmp(raw, "v1|", 3) != 0 || memchr(raw, '\0', (size_t)rl))
		return -1;
	i = 3;
	while (k < n) {
		size_t start = i;

		while (i < (size_t)rl && raw[i] != '|')
			i++;
		if (i == start)
			return -1;
		parts[k++] = arena_strndup(a, (const char *)raw + start, i - start);
		if (i == (size_t)rl)
			break;
		i++;
	}
	/* the last part must end the cursor: a trailing '|' is an extra, empty part */
	return (k == n && i == (size_t)rl && raw[rl - 1] != '|') ? 0 : -1;
}
