/*
 * cidr.h - IPv4 and IPv6 networks in CIDR notation.
 *
 * Parses "192.0.2.0/24", "2001:db8::/32" and bare addresses (a host route),
 * and matches client addresses against a list.  IPv4-mapped IPv6 client
 * addresses (::ffff:192.0.2.1) match IPv4 networks.  Thread-safe (no state).
 */
#ifndef MAILTRAIL_CIDR_H
#define MAILTRAIL_CIDR_H

#include <stddef.h>
#include <sys/socket.h>

struct mt_cidr {
	int		family;		/* AF_INET or AF_INET6 */
	unsigned char	addr[16];	/* network bytes, host bits zero */
	int		prefix;		/* 0..32 or 0..128 */
};

/* Parse text into *out.  Returns 0, or -1 with a reason in err. */
int	 mt_cidr_parse(const char *text, struct mt_cidr *out, char *err,
	    size_t errlen);

/* 1 when the address (AF_INET/AF_INET6 sockaddr) is inside any network. */
int	 mt_cidr_match_sockaddr(const struct mt_cidr *list, size_t n,
	    const struct sockaddr *sa);

/* 1 when the textual address is inside any network; 0 if not or invalid. */
int	 mt_cidr_match_text(const struct mt_cidr *list, size_t n,
	    const char *addr);

/* Render as text ("192.0.2.0/24"). */
char	*mt_cidr_format(const struct mt_cidr *c, char *out, size_t outsz);

#endif
