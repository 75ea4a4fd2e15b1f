/*
 * fuzz-proxy: trusted-proxy lists (proxy_list_parse) and X-Forwarded-For
 * (proxy_client) from arbitrary bytes. The input is split at its first
 * NUL-free '\n': the list before, the header after. Invariants: a list
 * holds at most PROXY_MAX_NETS entries with prefixes within their family;
 * the client is the peer itself or an address in canonical form that
 * parses again, and is never a trusted one unless every hop was trusted;
 * an untrusted peer always gets itself back.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t ln = nl ? (size_t)(nl - data) : size;
	size_t xn = nl ? size - ln - 1 : 0;
	char *list = dup_exact(data, ln);
	char *xff = dup_exact(nl ? nl + 1 : data, xn);
	char out[PROXY_ADDR_MAX];
	unsigned char buf[16];
	proxy_list_t l;
	const char *c;

	proxy_list_parse(list, ln, &l);
	CHECK(l.n >= 0 && l.n <= PROXY_MAX_NETS);
	for (int i = 0; i < l.n; i++)
		CHECK(l.net[i].bits >= 0 && l.net[i].bits <= (l.net[i].v6 ? 128 : 32));

	c = proxy_client(&l, "203.0.113.9", nl ? xff : NULL, xn, out);
	CHECK(strcmp(c, "203.0.113.9") == 0 || proxy_trusted(&l, "203.0.113.9", 11));
	c = proxy_client(&l, "10.1.2.3", nl ? xff : NULL, xn, out);
	if (c != out) {
		CHECK(strcmp(c, "10.1.2.3") == 0);
	} else {
		CHECK(proxy_trusted(&l, "10.1.2.3", 8));
		CHECK(strlen(out) < PROXY_ADDR_MAX);
		CHECK(inet_pton(strchr(out, ':') ? AF_INET6 : AF_INET, out, buf) == 1);
	}
	/* a list entry read alone: never a crash, and an address trusts itself */
	if (ln > 0 && ln < PROXY_ADDR_MAX && proxy_list_parse(list, ln, &l) == 0 && l.n == 1 &&
	    memchr(list, '/', ln) == NULL && memchr(list, ' ', ln) == NULL &&
	    memchr(list, ',', ln) == NULL && memchr(list, '\t', ln) == NULL &&
	    memchr(list, '\r', ln) == NULL)
		CHECK(proxy_trusted(&l, list, ln));
	free(list);
	free(xff);
	return 0;
}
