/*
 * proxy: the client address behind trusted reverse proxies. A list of
 * trusted addresses and networks (IPv4 and IPv6 CIDRs) from the config;
 * when the peer (REMOTE_ADDR) is one of them, X-Forwarded-For is believed
 * from the right up to the first address that is not trusted itself.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) count as IPv4 everywhere.
 */
#ifndef COFFER_PROXY_H
#define COFFER_PROXY_H

#include <stdbool.h>
#include <stddef.h>

#define PROXY_MAX_NETS  64    /* entries in trusted_proxies */
#define PROXY_ADDR_MAX  46    /* INET6_ADDRSTRLEN: an address as text, with its NUL */

typedef struct proxy_net {
	unsigned char addr[16];   /* network bits; the rest zero */
	int v6;                   /* 0: IPv4 in addr[0..3], 1: IPv6 */
	int bits;
} proxy_net_t;

typedef struct proxy_list {
	proxy_net_t net[PROXY_MAX_NETS];
	int n;
} proxy_list_t;

/* Parse a space-separated (blanks, tabs or commas) list of addresses and
 * CIDRs p[0..n) ("10.0.0.0/8 ::1 fd00::/8") into l. Returns 0, or -1 when
 * an entry is invalid or there are more than PROXY_MAX_NETS; l then holds
 * the valid entries before the bad one. */
int proxy_list_parse(const char *p, size_t n, proxy_list_t *l);

/* Is the address p[0..n) (an IP literal, no port or brackets) within l?
 * Anything that is not an address is not trusted. */
bool proxy_trusted(const proxy_list_t *l, const char *p, size_t n);

/* The client address of a request whose peer is remote and whose
 * X-Forwarded-For is xff[0..xn) (xff NULL when absent). When remote is
 * trusted: walking the header from the right, the first address that is
 * not trusted (or the leftmost when all are), in canonical text in out;
 * an empty or malformed element reached on the way means remote.
 * Elements left of the chosen one are not looked at. Otherwise remote.
 * Returns remote or out. */
const char *proxy_client(const proxy_list_t *l, const char *remote, const char *xff, size_t xn,
			 char out[PROXY_ADDR_MAX]);

#endif
