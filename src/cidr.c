/*
 * cidr.c - IPv4 and IPv6 networks in CIDR notation.
 *
 * Accepted text: an address as inet_pton(3) reads it (dotted quad for IPv4,
 * no "10/8" shorthand; any RFC 4291 text form for IPv6, no zone "%eth0"),
 * optionally followed by "/" and a decimal prefix length of one to three
 * digits (0..32 for IPv4, 0..128 for IPv6).  A bare address is a host route
 * (/32 or /128).  Nothing may follow the prefix, not even white space.
 *
 * Host bits set below the prefix ("192.0.2.77/24") are accepted and masked
 * off, so the stored network is always canonical and mt_cidr_format() gives
 * back "192.0.2.0/24".
 *
 * Matching: an IPv4 client matches IPv4 networks only.  An IPv4-mapped IPv6
 * client (::ffff:a.b.c.d, as a dual-stack listener reports IPv4 peers)
 * matches IPv4 networks through its embedded address, and IPv6 networks
 * through its full address.  Networks are kept as written: "::ffff:0:0/96"
 * is an IPv6 network.
 *
 * Thread-safe: no state.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "mailtrail/cidr.h"

/* Longest address text we look at: a full IPv6 form with an IPv4 tail. */
#define CIDR_ADDR_MAX	INET6_ADDRSTRLEN

static int
cidr_fail(char *err, size_t errlen, const char *why)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", why);
	return -1;
}

/* Zero the bits of addr below prefix (addr is 4 or 16 bytes). */
static void
cidr_mask(unsigned char *addr, int nbytes, int prefix)
{
	int	 i, full = prefix / 8, rest = prefix % 8;

	for (i = 0; i < nbytes; i++) {
		if (i < full)
			continue;
		if (i == full && rest != 0)
			addr[i] &= (unsigned char)(0xff << (8 - rest));
		else
			addr[i] = 0;
	}
}

int
mt_cidr_parse(const char *text, struct mt_cidr *out, char *err, size_t errlen)
{
	char		 buf[CIDR_ADDR_MAX];
	const char	*slash, *p;
	struct mt_cidr	 c;
	size_t		 alen;
	int		 maxprefix, prefix, ndigits;

	if (text == NULL || *text == '\0')
		return cidr_fail(err, errlen, "empty network");
	slash = strchr(text, '/');
	alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	if (alen == 0)
		return cidr_fail(err, errlen, "missing address before \"/\"");
	if (alen >= sizeof(buf))
		return cidr_fail(err, errlen, "address too long");
	memcpy(buf, text, alen);
	buf[alen] = '\0';

	memset(&c, 0, sizeof(c));
	if (strchr(buf, ':') != NULL) {
		c.family = AF_INET6;
		maxprefix = 128;
		if (inet_pton(AF_INET6, buf, c.addr) != 1)
			return cidr_fail(err, errlen, "not an IPv6 address");
	} else {
		c.family = AF_INET;
		maxprefix = 32;
		if (inet_pton(AF_INET, buf, c.addr) != 1)
			return cidr_fail(err, errlen,
			    "not an IPv4 address (want a dotted quad)");
	}

	prefix = maxprefix;
	if (slash != NULL) {
		prefix = 0;
		ndigits = 0;
		for (p = slash + 1; *p >= '0' && *p <= '9'; p++) {
			if (++ndigits > 3)
				return cidr_fail(err, errlen,
				    "prefix length out of range");
			prefix = prefix * 10 + (*p - '0');
		}
		if (ndigits == 0)
			return cidr_fail(err, errlen,
			    "missing prefix length after \"/\"");
		if (*p != '\0')
			return cidr_fail(err, errlen,
			    "garbage after the prefix length");
		if (prefix > maxprefix)
			return cidr_fail(err, errlen,
			    c.family == AF_INET ?
			    "prefix length out of range (0..32 for IPv4)" :
			    "prefix length out of range (0..128 for IPv6)");
	}
	c.prefix = prefix;
	cidr_mask(c.addr, c.family == AF_INET ? 4 : 16, prefix);
	*out = c;
	return 0;
}

/* 1 when the first prefix bits of a and b agree. */
static int
cidr_same_prefix(const unsigned char *a, const unsigned char *b, int prefix)
{
	int	 full = prefix / 8, rest = prefix % 8;
	unsigned char mask;

	if (full > 0 && memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

/*
 * Match one address given as family and bytes.  v4 is the embedded IPv4
 * address of an IPv4-mapped IPv6 address, or NULL.
 */
static int
cidr_match(const struct mt_cidr *list, size_t n, int family,
    const unsigned char *addr, const unsigned char *v4)
{
	size_t	 i;

	if (list == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		if (list[i].family == family &&
		    cidr_same_prefix(list[i].addr, addr, list[i].prefix))
			return 1;
		if (v4 != NULL && list[i].family == AF_INET &&
		    cidr_same_prefix(list[i].addr, v4, list[i].prefix))
			return 1;
	}
	return 0;
}

static const unsigned char *
cidr_mapped_v4(const unsigned char *a6)
{
	static const unsigned char prefix[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	return memcmp(a6, prefix, sizeof(prefix)) == 0 ? a6 + 12 : NULL;
}

int
mt_cidr_match_sockaddr(const struct mt_cidr *list, size_t n,
    const struct sockaddr *sa)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;

	if (sa == NULL)
		return 0;
	/* Copy out: the caller's storage need not be aligned for the type. */
	switch (sa->sa_family) {
	case AF_INET:
		memcpy(&sin, sa, sizeof(sin));
		return cidr_match(list, n, AF_INET,
		    (const unsigned char *)&sin.sin_addr, NULL);
	case AF_INET6:
		memcpy(&sin6, sa, sizeof(sin6));
		return cidr_match(list, n, AF_INET6, sin6.sin6_addr.s6_addr,
		    cidr_mapped_v4(sin6.sin6_addr.s6_addr));
	default:
		return 0;
	}
}

int
mt_cidr_match_text(const struct mt_cidr *list, size_t n, const char *addr)
{
	unsigned char	 a[16];

	if (addr == NULL)
		return 0;
	if (strchr(addr, ':') != NULL) {
		if (inet_pton(AF_INET6, addr, a) != 1)
			return 0;
		return cidr_match(list, n, AF_INET6, a, cidr_mapped_v4(a));
	}
	if (inet_pton(AF_INET, addr, a) != 1)
		return 0;
	return cidr_match(list, n, AF_INET, a, NULL);
}

/*
 * Returns out, or NULL (out set to "" when outsz > 0) when the family is
 * unknown or the text does not fit.  INET6_ADDRSTRLEN + 4 always fits.
 */
char *
mt_cidr_format(const struct mt_cidr *c, char *out, size_t outsz)
{
	char	 addr[INET6_ADDRSTRLEN];
	int	 n;

	if (out == NULL || outsz == 0)
		return NULL;
	out[0] = '\0';
	if (c == NULL || (c->family != AF_INET && c->family != AF_INET6))
		return NULL;
	if (inet_ntop(c->family, c->addr, addr, sizeof(addr)) == NULL)
		return NULL;
	n = snprintf(out, outsz, "%s/%d", addr, c->prefix);
	if (n < 0 || (size_t)n >= outsz) {
		out[0] = '\0';
		return NULL;
	}
	return out;
}
