/*
 * test_cidr.c - unit tests of cidr.c: parsing, formatting, matching.
 *
 * Tables of cases with "got X, want Y" messages.  Parse cases check the
 * canonical text a network formats back to (host bits masked off) or the
 * reason a bad one is refused; match cases run both the textual and the
 * sockaddr entry points, including IPv4-mapped IPv6 clients.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "mailtrail/cidr.h"

struct parse_case {
	const char	*name;
	const char	*text;
	const char	*want;		/* formatted result, or NULL: error */
	const char	*want_err;	/* substring of the error */
};

static const struct parse_case parse_cases[] = {
	{ "v4 network", "192.0.2.0/24", "192.0.2.0/24", NULL },
	{ "v4 host bits masked", "192.0.2.77/24", "192.0.2.0/24", NULL },
	{ "v4 odd prefix masks partial byte", "10.255.255.255/9",
	  "10.128.0.0/9", NULL },
	{ "v4 bare address is /32", "198.51.100.7", "198.51.100.7/32", NULL },
	{ "v4 /0", "203.0.113.9/0", "0.0.0.0/0", NULL },
	{ "v4 /32", "203.0.113.9/32", "203.0.113.9/32", NULL },
	{ "v4 leading-zero prefix", "10.0.0.0/08", "10.0.0.0/8", NULL },
	{ "v6 network", "2001:db8::/32", "2001:db8::/32", NULL },
	{ "v6 host bits masked", "2001:db8:abcd::1/33", "2001:db8:8000::/33",
	  NULL },
	{ "v6 bare address is /128", "::1", "::1/128", NULL },
	{ "v6 /0", "::/0", "::/0", NULL },
	{ "v6 /128", "fe80::1/128", "fe80::1/128", NULL },
	{ "v6 mapped form kept as v6", "::ffff:192.0.2.0/120",
	  "::ffff:192.0.2.0/120", NULL },
	{ "v6 upper case", "2001:DB8::/32", "2001:db8::/32", NULL },

	{ "empty", "", NULL, "empty" },
	{ "slash only", "/24", NULL, "missing address" },
	{ "v4 prefix too long", "10.0.0.0/33", NULL, "out of range" },
	{ "v6 prefix too long", "::1/129", NULL, "out of range" },
	{ "prefix four digits", "10.0.0.0/0008", NULL, "out of range" },
	{ "missing prefix", "10.0.0.0/", NULL, "missing prefix" },
	{ "negative prefix", "10.0.0.0/-1", NULL, "missing prefix" },
	{ "plus prefix", "10.0.0.0/+8", NULL, "missing prefix" },
	{ "garbage after prefix", "10.0.0.0/8x", NULL, "garbage" },
	{ "space after prefix", "10.0.0.0/8 ", NULL, "garbage" },
	{ "second slash", "10.0.0.0/8/9", NULL, "garbage" },
	{ "v4 shorthand", "10/8", NULL, "not an IPv4" },
	{ "v4 three parts", "10.0.0/8", NULL, "not an IPv4" },
	{ "v4 octet too big", "10.0.0.256", NULL, "not an IPv4" },
	{ "leading space", " 10.0.0.0/8", NULL, "not an IPv4" },
	{ "host name", "localhost", NULL, "not an IPv4" },
	{ "v6 bad", "2001:db8:::1/48", NULL, "not an IPv6" },
	{ "v6 zone", "fe80::1%eth0", NULL, "not an IPv6" },
	{ "v6 bracketed", "[::1]", NULL, "not an IPv6" },
	{ "address too long",
	  "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000/8",
	  NULL, "too long" },
};

static void
test_parse(void **state)
{
	const struct parse_case	*c;
	struct mt_cidr		 net;
	char			 err[128], out[64];
	size_t			 i;
	int			 r;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		c = &parse_cases[i];
		err[0] = '\0';
		memset(&net, 0x5a, sizeof(net));
		r = mt_cidr_parse(c->text, &net, err, sizeof(err));
		if (c->want != NULL) {
			if (r != 0)
				fail_msg("%s: parse \"%s\": got error \"%s\", "
				    "want %s", c->name, c->text, err, c->want);
			if (mt_cidr_format(&net, out, sizeof(out)) == NULL)
				fail_msg("%s: format failed", c->name);
			if (strcmp(out, c->want) != 0)
				fail_msg("%s: parse \"%s\": got %s, want %s",
				    c->name, c->text, out, c->want);
		} else {
			if (r == 0)
				fail_msg("%s: parse \"%s\": got success, want "
				    "error \"%s\"", c->name, c->text,
				    c->want_err);
			if (strstr(err, c->want_err) == NULL)
				fail_msg("%s: parse \"%s\": got error \"%s\", "
				    "want one containing \"%s\"", c->name,
				    c->text, err, c->want_err);
		}
	}
}

static void
test_parse_null_and_no_err(void **state)
{
	struct mt_cidr	 net;

	assert_int_equal(mt_cidr_parse(NULL, &net, NULL, 0), -1);
	assert_int_equal(mt_cidr_parse("x", &net, NULL, 0), -1);
	assert_int_equal(mt_cidr_parse("10.0.0.0/8", &net, NULL, 0), 0);
	assert_int_equal(net.family, AF_INET);
	assert_int_equal(net.prefix, 8);
}

static void
test_format(void **state)
{
	struct mt_cidr	 net;
	char		 small[8], out[INET6_ADDRSTRLEN + 8];

	assert_int_equal(mt_cidr_parse("192.0.2.0/24", &net, NULL, 0), 0);
	/* Does not fit: NULL and an empty string. */
	small[0] = 'x';
	assert_null(mt_cidr_format(&net, small, sizeof(small)));
	assert_string_equal(small, "");
	assert_null(mt_cidr_format(&net, NULL, 0));
	/* The longest IPv6 text fits the documented size. */
	assert_int_equal(mt_cidr_parse(
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128", &net, NULL, 0),
	    0);
	assert_non_null(mt_cidr_format(&net, out, sizeof(out)));
	/* Unknown family. */
	net.family = AF_UNIX;
	assert_null(mt_cidr_format(&net, out, sizeof(out)));
	assert_null(mt_cidr_format(NULL, out, sizeof(out)));
}

struct match_case {
	const char	*name;
	const char	*nets;		/* comma-separated */
	const char	*addr;
	int		 want;
};

static const struct match_case match_cases[] = {
	{ "v4 inside", "192.0.2.0/24", "192.0.2.200", 1 },
	{ "v4 outside", "192.0.2.0/24", "192.0.3.1", 0 },
	{ "v4 partial byte edge in", "10.128.0.0/9", "10.255.0.1", 1 },
	{ "v4 partial byte edge out", "10.128.0.0/9", "10.127.255.255", 0 },
	{ "v4 host", "198.51.100.7", "198.51.100.7", 1 },
	{ "v4 host other", "198.51.100.7", "198.51.100.8", 0 },
	{ "v4 /0 matches all v4", "0.0.0.0/0", "203.0.113.1", 1 },
	{ "v4 second of list", "10.0.0.0/8,192.0.2.0/24", "192.0.2.1", 1 },
	{ "v6 inside", "2001:db8::/32", "2001:db8:ffff::1", 1 },
	{ "v6 outside", "2001:db8::/32", "2001:db9::1", 0 },
	{ "v6 odd prefix in", "2001:db8:8000::/33", "2001:db8:ffff::1", 1 },
	{ "v6 odd prefix out", "2001:db8:8000::/33", "2001:db8:7fff::1", 0 },
	{ "v6 loopback", "::1/128", "::1", 1 },
	{ "v6 /0 matches all v6", "::/0", "2001:db8::1", 1 },
	{ "v4 client, v6 list", "::/0", "192.0.2.1", 0 },
	{ "v6 client, v4 list", "0.0.0.0/0", "2001:db8::1", 0 },
	{ "mapped client, v4 net", "192.0.2.0/24", "::ffff:192.0.2.9", 1 },
	{ "mapped client, v4 net out", "192.0.2.0/24", "::ffff:192.0.3.9", 0 },
	{ "mapped loopback", "127.0.0.0/8", "::ffff:127.0.0.1", 1 },
	{ "mapped client, v6 mapped net", "::ffff:0:0/96", "::ffff:10.1.1.1",
	  1 },
	{ "v4 client, v6 mapped net", "::ffff:0:0/96", "10.1.1.1", 0 },
	{ "compat-looking v6 is not mapped", "192.0.2.0/24", "::192.0.2.9", 0 },
	{ "empty list", "", "127.0.0.1", 0 },
	{ "invalid address", "0.0.0.0/0", "not-an-address", 0 },
	{ "v6 zone is invalid", "::/0", "fe80::1%lo", 0 },
};

static size_t
parse_list(const char *text, struct mt_cidr *list, size_t max)
{
	char	 buf[512], *tok, *save = NULL;
	size_t	 n = 0;

	snprintf(buf, sizeof(buf), "%s", text);
	for (tok = strtok_r(buf, ",", &save); tok != NULL && n < max;
	    tok = strtok_r(NULL, ",", &save)) {
		if (mt_cidr_parse(tok, &list[n], NULL, 0) != 0)
			fail_msg("bad test network \"%s\"", tok);
		n++;
	}
	return n;
}

/* Build a sockaddr for the textual address; 0 if it is not one. */
static int
make_sockaddr(const char *addr, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(25);
		return 1;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(25);
		return 1;
	}
	return 0;
}

static void
test_match(void **state)
{
	const struct match_case	*c;
	struct mt_cidr		 list[8];
	struct sockaddr_storage	 ss;
	size_t			 i, n;
	int			 got;

	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		c = &match_cases[i];
		n = parse_list(c->nets, list, 8);
		got = mt_cidr_match_text(list, n, c->addr);
		if (got != c->want)
			fail_msg("%s: text %s in [%s]: got %d, want %d",
			    c->name, c->addr, c->nets, got, c->want);
		if (!make_sockaddr(c->addr, &ss))
			continue;
		got = mt_cidr_match_sockaddr(list, n,
		    (const struct sockaddr *)&ss);
		if (got != c->want)
			fail_msg("%s: sockaddr %s in [%s]: got %d, want %d",
			    c->name, c->addr, c->nets, got, c->want);
	}
}

static void
test_match_odd_inputs(void **state)
{
	struct mt_cidr		 list[1];
	struct sockaddr_un	 sun;
	struct sockaddr_storage	 ss;

	assert_int_equal(mt_cidr_parse("0.0.0.0/0", &list[0], NULL, 0), 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_int_equal(mt_cidr_match_sockaddr(list, 1,
	    (const struct sockaddr *)&sun), 0);
	assert_int_equal(mt_cidr_match_sockaddr(list, 1, NULL), 0);
	assert_int_equal(mt_cidr_match_text(list, 1, NULL), 0);
	assert_true(make_sockaddr("192.0.2.1", &ss));
	assert_int_equal(mt_cidr_match_sockaddr(NULL, 0,
	    (const struct sockaddr *)&ss), 0);
	assert_int_equal(mt_cidr_match_sockaddr(list, 0,
	    (const struct sockaddr *)&ss), 0);
	assert_int_equal(mt_cidr_match_sockaddr(list, 1,
	    (const struct sockaddr *)&ss), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_null_and_no_err),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_match_odd_inputs),
	};

	return cmocka_run_group_tests_name("cidr", tests, NULL, NULL);
}
