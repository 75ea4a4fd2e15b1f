/* proxy: trusted reverse proxies and X-Forwarded-For; see proxy.h. */
#include "proxy.h"

#include <arpa/inet.h>
#include <string.h>

#include "text.h"

static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Parse an IP literal p[0..n): 0 (IPv4 in a[0..3], or IPv6) with *v6 set,
 * or -1. A mapped IPv4 address becomes IPv4. */
static int addr_parse(const char *p, size_t n, unsigned char a[16], int *v6)
{
	char s[PROXY_ADDR_MAX];

	if (n == 0 || n >= sizeof(s))
		return -1;
	memcpy(s, p, n);
	s[n] = '\0';
	memset(a, 0, 16);
	if (memchr(s, ':', n) == NULL) {
		*v6 = 0;
		return inet_pton(AF_INET, s, a) == 1 ? 0 : -1;
	}
	if (inet_pton(AF_INET6, s, a) != 1)
		return -1;
	*v6 = 1;
	if (memcmp(a, v4mapped, 12) == 0) {
		memmove(a, a + 12, 4);
		memset(a + 4, 0, 12);
		*v6 = 0;
	}
	return 0;
}

static bool net_contains(const proxy_net_t *net, const unsigned char a[16], int v6)
{
	int full = net->bits / 8, rest = net->bits % 8;

	if (net->v6 != v6 || memcmp(net->addr, a, (size_t)full) != 0)
		return false;
	return rest == 0 || ((net->addr[full] ^ a[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == '\n' || c == '\r';
}

int proxy_list_parse(const char *p, size_t n, proxy_list_t *l)
{
	size_t i = 0;

	l->n = 0;
	for (;;) {
		size_t start, slash, end;
		proxy_net_t net;
		long long bits;

		while (i < n && is_sep(p[i]))
			i++;
		if (i == n)
			return 0;
		start = i;
		while (i < n && !is_sep(p[i]))
			i++;
		end = i;
		for (slash = start; slash < end && p[slash] != '/'; slash++)
			;
		if (l->n == PROXY_MAX_NETS || addr_parse(p + start, slash - start, net.addr, &net.v6) < 0)
			return -1;
		bits = net.v6 ? 128 : 32;
		/* a prefix on a mapped address counts its IPv4 bits */
		if (slash < end) {
			bool mapped = !net.v6 && memchr(p + start, ':', slash - start) != NULL;

			if (text_parse_uint(p + slash + 1, end - slash - 1, 128, &bits) < 0)
				return -1;
			if (mapped)
				bits -= 96;
			if (bits < 0 || bits > (net.v6 ? 128 : 32))
				return -1;
		}
		net.bits = (int)bits;
		/* keep only the network bits, so that contains() compares like with like */
		for (int b = net.bits; b < 128; b++)
			net.addr[b / 8] &= (unsigned char)~(0x80 >> (b % 8));
		l->net[l->n++] = net;
	}
}

static bool trusted(const proxy_list_t *l, const unsigned char a[16], int v6)
{
	for (int i = 0; i < l->n; i++)
		if (net_contains(&l->net[i], a, v6))
			return true;
	return false;
}

bool proxy_trusted(const proxy_list_t *l, const char *p, size_t n)
{
	unsigned char a[16];
	int v6;

	return addr_parse(p, n, a, &v6) == 0 && trusted(l, a, v6);
}

const char *proxy_client(const proxy_list_t *l, const char *remote, const char *xff, size_t xn,
			 char out[PROXY_ADDR_MAX])
{
	size_t end = xn;
	unsigned char a[16];
	int v6;

	if (xff == NULL || l->n == 0 || !proxy_trusted(l, remote, strlen(remote)))
		return remote;
	for (;;) {
		size_t start = end, e = end;

		while (start > 0 && xff[start - 1] != ',')
			start--;
		/* optional whitespace around each element */
		while (e > start && (xff[e - 1] == ' ' || xff[e - 1] == '\t'))
			e--;
		while (start < e && (xff[start] == ' ' || xff[start] == '\t'))
			start++;
		if (addr_parse(xff + start, e - start, a, &v6) < 0)
			return remote;
		while (start > 0 && xff[start - 1] != ',')   /* back over the blanks */
			start--;
		if (!trusted(l, a, v6) || start == 0)
			break;
		end = start - 1;   /* before the comma */
	}
	if (inet_ntop(v6 ? AF_INET6 : AF_INET, a, out, PROXY_ADDR_MAX) == NULL)
		return remote;
	return out;
}
