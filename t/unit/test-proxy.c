/*
 * test-proxy: trusted proxies. The CIDR list (IPv4, IPv6, mapped IPv4,
 * host addresses, bad entries and prefixes, the entry limit); membership at
 * network edges; and the client address from X-Forwarded-For: untrusted
 * peers are believed nothing, trusted ones from the right up to the first
 * untrusted address, malformed elements on the way mean the peer, and
 * garbage left of the client does not matter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "tap.h"

static int parse(const char *s, proxy_list_t *l)
{
	char *in = dup_exact(s, strlen(s));
	int rc = proxy_list_parse(in, strlen(s), l);

	free(in);
	return rc;
}

static bool trusted(const proxy_list_t *l, const char *a)
{
	char *in = dup_exact(a, strlen(a));
	bool t = proxy_trusted(l, in, strlen(a));

	free(in);
	return t;
}

static const char *client(const proxy_list_t *l, const char *remote, const char *xff)
{
	static char out[PROXY_ADDR_MAX];
	char *in = xff ? dup_exact(xff, strlen(xff)) : NULL;
	const char *c = proxy_client(l, remote, in, xff ? strlen(xff) : 0, out);
	static char keep[PROXY_ADDR_MAX + 64];

	snprintf(keep, sizeof(keep), "%s", c);
	free(in);
	return keep;
}

static void lists(void)
{
	proxy_list_t l;
	static const char *const bad[] = {
		"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0", "1.2.3.4.5", "host",
		"10.0.0.0/8/8", "::ffff:10.0.0.0/95", "fe80::1%eth0", "[::1]", "1.2.3.4:80",
		"10.0.0.0/-1", "10.0.0.0/+8", "256.0.0.1",
	};
	char many[64 * 12 + 16] = "";

	is_int(parse("", &l), 0, "empty list");
	is_int(l.n, 0, "... has no entries");
	is_int(parse("  \t ", &l), 0, "blank list");
	is_int(l.n, 0, "... has no entries");
	is_int(parse("10.0.0.0/8 192.168.1.1\t::1, fd00::/8", &l), 0, "mixed list");
	is_int(l.n, 4, "... four entries");
	ok(l.net[0].bits == 8 && !l.net[0].v6 && l.net[1].bits == 32 && l.net[2].bits == 128 &&
	   l.net[2].v6 && l.net[3].bits == 8, "... prefixes and families");
	is_int(parse("10.1.2.3/8", &l), 0, "host bits in a CIDR");
	ok(l.net[0].addr[1] == 0 && l.net[0].addr[3] == 0, "... are cleared");
	is_int(parse("::ffff:10.0.0.0/104", &l), 0, "mapped IPv4 CIDR");
	ok(!l.net[0].v6 && l.net[0].bits == 8, "... is 10.0.0.0/8");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(parse(bad[i], &l), -1, "refused: %s", bad[i]);
	is_int(parse("10.0.0.1 bogus 10.0.0.2", &l), -1, "a bad entry in the middle");
	is_int(l.n, 1, "... keeps the entries before it");
	for (int i = 0; i < PROXY_MAX_NETS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "10.0.%d.%d ", i / 250, i % 250);
	is_int(parse(many, &l), 0, "%d entries", PROXY_MAX_NETS);
	strcat(many, "10.9.9.9");
	is_int(parse(many, &l), -1, "one more is refused");
}

static void membership(void)
{
	proxy_list_t l;

	parse("10.0.0.0/8 192.168.1.0/25 2001:db8::/32 ::1 172.16.0.1 0.0.0.0/0", &l);
	l.n--;   /* everything but the catch-all */
	ok(trusted(&l, "10.0.0.0") && trusted(&l, "10.255.255.255"), "10/8 edges in");
	ok(!trusted(&l, "11.0.0.0") && !trusted(&l, "9.255.255.255"), "... neighbours out");
	ok(trusted(&l, "192.168.1.127") && !trusted(&l, "192.168.1.128"), "/25 edge");
	ok(trusted(&l, "2001:db8::1") && trusted(&l, "2001:db8:ffff:ffff::") &&
	   !trusted(&l, "2001:db9::"), "IPv6 /32");
	ok(trusted(&l, "::1") && !trusted(&l, "::2"), "IPv6 host");
	ok(trusted(&l, "172.16.0.1") && !trusted(&l, "172.16.0.2"), "IPv4 host");
	ok(trusted(&l, "::ffff:10.1.2.3") && trusted(&l, "::FFFF:172.16.0.1"),
	   "mapped addresses match IPv4 entries");
	ok(!trusted(&l, "") && !trusted(&l, "unix:") && !trusted(&l, "10.0.0.1:80") &&
	   !trusted(&l, " 10.0.0.1") && !trusted(&l, "10.0.0.1/32"), "non-addresses are not trusted");
	l.n++;
	ok(trusted(&l, "8.8.8.8") && !trusted(&l, "2001:db9::"), "0.0.0.0/0 is IPv4 only");
}

static void forwarded(void)
{
	proxy_list_t l, none;

	parse("10.0.0.0/8 ::1", &l);
	parse("", &none);
	is_str(client(&l, "10.0.0.1", NULL), "10.0.0.1", "trusted peer, no header");
	is_str(client(&l, "8.8.8.8", "1.2.3.4"), "8.8.8.8", "untrusted peer: header ignored");
	is_str(client(&none, "10.0.0.1", "1.2.3.4"), "10.0.0.1", "empty list: header ignored");
	is_str(client(&l, "10.0.0.1", "1.2.3.4"), "1.2.3.4", "one hop");
	is_str(client(&l, "10.0.0.1", "6.6.6.6, 1.2.3.4"), "1.2.3.4",
	       "the rightmost untrusted, not what the client put left of it");
	is_str(client(&l, "10.0.0.1", "1.2.3.4, 10.0.0.7,10.0.0.8"), "1.2.3.4",
	       "trusted hops are skipped");
	is_str(client(&l, "10.0.0.1", "10.0.0.5, 10.0.0.7"), "10.0.0.5", "all trusted: the leftmost");
	is_str(client(&l, "10.0.0.1", "garbage, 1.2.3.4"), "1.2.3.4",
	       "garbage left of the client does not matter");
	is_str(client(&l, "10.0.0.1", " \t1.2.3.4 \t"), "1.2.3.4", "blanks around an element");
	is_str(client(&l, "10.0.0.1", "2001:DB8:0:0::1"), "2001:db8::1", "IPv6, canonical form");
	is_str(client(&l, "::1", "::ffff:1.2.3.4"), "1.2.3.4", "IPv6 peer, mapped client");
	is_str(client(&l, "::ffff:10.0.0.1", "1.2.3.4"), "1.2.3.4", "mapped trusted peer");
	{
		static const char *const bad[] = {
			"", " ", ",", "1.2.3.4,", "1.2.3.4, ", "1.2.3.4:80", "[::1]", "unknown",
			"1.2.3.4 5.6.7.8", "garbage, 10.0.0.5", "1.2.3.4,,10.0.0.5", "fe80::1%eth0",
			"1.2.3.4\r\n", "1.2.3.4;x",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			is_str(client(&l, "10.0.0.1", bad[i]), "10.0.0.1", "malformed '%s': the peer",
			       tap_show(bad[i], strlen(bad[i])));
	}
}

int main(void)
{
	lists();
	membership();
	forwarded();
	return done_testing();
}
