/*
 * test_resolver.c - unit tests of resolver.c: the table resolver's answers
 * and the checks both implementations share.
 *
 * Every table answer is parsed back with the C library's ns_initparse(3)
 * and ns_parserr(3) and printed as "owner TYPE data; ..." so a case states
 * the whole answer section it wants.  Cases cover every record type, CNAME
 * chains (and their NXDOMAIN, NODATA and loop endings), NXDOMAIN against
 * NODATA, names in any case with or without the final dot, TIMEOUT against
 * a deadline, SERVFAIL, long TXT split into strings, a buffer too small,
 * bad input to every entry point, the counters, and concurrent queries.
 * The system resolver is only created here (no network in unit tests):
 * tests/integration/dns-harness.sh queries it against a real server.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mailtrail/clock.h"
#include "mailtrail/resolver.h"

#define ANSWER_SIZE	4096
#define RENDER_SIZE	4096

/* ------------------------------------------------------------ fixture */

struct rec {
	const char	*name;
	int		 type;
	const char	*rdata;
};

static const struct rec zone[] = {
	{ "example.com", ns_t_a, "192.0.2.1" },
	{ "example.com", ns_t_a, "192.0.2.2" },
	{ "example.com", ns_t_aaaa, "2001:db8::1" },
	{ "example.com", ns_t_mx, "10 mx.example.com" },
	{ "example.com", ns_t_mx, "20   mx2.example.com." },
	{ "example.com", ns_t_txt, "v=spf1 ip4:192.0.2.0/24 -all" },
	{ "example.com", ns_t_ns, "ns1.example.com." },
	{ "Example.ORG.", ns_t_txt, "hello" },
	{ "1.2.0.192.in-addr.arpa", ns_t_ptr, "mail.example.com" },
	{ "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	  ".ip6.arpa", ns_t_ptr, "mail6.example.com" },
	{ "www.example.com", ns_t_cname, "example.com" },
	{ "alias1.example.net", ns_t_cname, "Alias2.Example.Net." },
	{ "alias2.example.net", ns_t_cname, "www.example.com" },
	{ "dangling.example.net", ns_t_cname, "missing.example.net" },
	{ "nodata.example.net", ns_t_cname, "example.org" },
	{ "loop1.example.net", ns_t_cname, "loop2.example.net" },
	{ "loop2.example.net", ns_t_cname, "loop1.example.net" },
	{ "spf.example.com", ns_t_spf, "v=spf1 -all" },
	{ "spf.example.com", ns_t_txt, "v=spf1 -all" },
	{ "slow.example.com", ns_t_txt, "TIMEOUT" },
	{ "slow.example.com", ns_t_a, "192.0.2.9" },
	{ "broken.example.com", ns_t_txt, "SERVFAIL" },
	{ "broken.example.com", ns_t_a, "192.0.2.10" },
	{ "viaslow.example.com", ns_t_cname, "TIMEOUT" },
	{ "viabroken.example.com", ns_t_cname, "SERVFAIL" },
	{ "viabroken.example.com", ns_t_mx, "5 mx.example.com" },
	{ "empty.example.com", ns_t_txt, "" },
	{ "_dmarc.example.com", ns_t_txt, "v=DMARC1; p=none" },
	{ "sel._domainkey.example.com", ns_t_txt,
	  "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC" },
	{ "tail.example.com", ns_t_txt, "quote\" back\\slash;semi" },
};

static const char *const multi[] = { "v=spf1 ", "ip4:192.0.2.0/24", " -all" };

static struct mt_resolver *
fixture_table(void)
{
	struct mt_resolver	*r;
	size_t			 i;

	r = resolver_new_table();
	assert_non_null(r);
	for (i = 0; i < sizeof(zone) / sizeof(zone[0]); i++)
		if (resolver_table_add(r, zone[i].name, zone[i].type,
		    zone[i].rdata) != 0)
			fail_msg("add %s %d \"%s\": got -1, want 0",
			    zone[i].name, zone[i].type, zone[i].rdata);
	assert_int_equal(resolver_table_add_txt(r, "multi.example.com", multi,
	    3), 0);
	return r;
}

static int
setup(void **state)
{
	*state = fixture_table();
	return 0;
}

static int
teardown(void **state)
{
	resolver_free(*state);
	return 0;
}

/* ------------------------------------------------------------ rendering */

static const char *
type_name(int type)
{
	switch (type) {
	case ns_t_a:		return "A";
	case ns_t_aaaa:		return "AAAA";
	case ns_t_mx:		return "MX";
	case ns_t_txt:		return "TXT";
	case ns_t_ptr:		return "PTR";
	case ns_t_cname:	return "CNAME";
	case ns_t_ns:		return "NS";
	case ns_t_spf:		return "SPF";
	case ns_t_soa:		return "SOA";
	}
	return "?";
}

static void
cat(char *out, size_t outsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
cat(char *out, size_t outsz, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 len = strlen(out);

	va_start(ap, fmt);
	vsnprintf(out + len, outsz - len, fmt, ap);
	va_end(ap);
}

/*
 * Parse a whole message with the C library and print its answer section
 * as "owner TYPE data; ...".  Also checks the header against what a
 * recursive server sends: QR, RD and RA set, one question equal to the
 * name and type asked.  Returns the rcode, or -1 with the reason in out.
 */
static int
render(const unsigned char *msg, size_t len, const char *qname, int qtype,
    char *out, size_t outsz)
{
	ns_msg		 h;
	ns_rr		 rr;
	const unsigned char *rd;
	char		 name[NS_MAXDNAME], addr[INET6_ADDRSTRLEN];
	int		 i, n, rdlen;
	size_t		 off;

	out[0] = '\0';
	if (ns_initparse(msg, (int)len, &h) != 0) {
		snprintf(out, outsz, "ns_initparse failed");
		return -1;
	}
	if (!ns_msg_getflag(h, ns_f_qr) || !ns_msg_getflag(h, ns_f_rd) ||
	    !ns_msg_getflag(h, ns_f_ra)) {
		snprintf(out, outsz, "flags QR/RD/RA missing");
		return -1;
	}
	if (ns_msg_count(h, ns_s_qd) != 1 ||
	    ns_parserr(&h, ns_s_qd, 0, &rr) != 0) {
		snprintf(out, outsz, "no question");
		return -1;
	}
	if (strcasecmp(ns_rr_name(rr), qname) != 0 ||
	    (int)ns_rr_type(rr) != qtype || ns_rr_class(rr) != ns_c_in) {
		snprintf(out, outsz, "question is %s/%d", ns_rr_name(rr),
		    ns_rr_type(rr));
		return -1;
	}
	n = ns_msg_count(h, ns_s_an);
	for (i = 0; i < n; i++) {
		if (ns_parserr(&h, ns_s_an, i, &rr) != 0) {
			snprintf(out, outsz, "ns_parserr failed at %d", i);
			return -1;
		}
		if (ns_rr_class(rr) != ns_c_in || ns_rr_ttl(rr) == 0) {
			snprintf(out, outsz, "bad class or TTL at %d", i);
			return -1;
		}
		rd = ns_rr_rdata(rr);
		rdlen = ns_rr_rdlen(rr);
		cat(out, outsz, "%s%s %s ", i ? "; " : "", ns_rr_name(rr),
		    type_name(ns_rr_type(rr)));
		switch (ns_rr_type(rr)) {
		case ns_t_a:
		case ns_t_aaaa:
			if (rdlen != (ns_rr_type(rr) == ns_t_a ? 4 : 16))
				cat(out, outsz, "<bad length %d>", rdlen);
			else
				cat(out, outsz, "%s", inet_ntop(
				    ns_rr_type(rr) == ns_t_a ? AF_INET :
				    AF_INET6, rd, addr, sizeof(addr)));
			break;
		case ns_t_mx:
			if (dn_expand(ns_msg_base(h), ns_msg_end(h), rd + 2,
			    name, sizeof(name)) != rdlen - 2)
				cat(out, outsz, "<bad name>");
			else
				cat(out, outsz, "%u %s", ns_get16(rd), name);
			break;
		case ns_t_ptr:
		case ns_t_cname:
		case ns_t_ns:
			if (dn_expand(ns_msg_base(h), ns_msg_end(h), rd, name,
			    sizeof(name)) != rdlen)
				cat(out, outsz, "<bad name>");
			else
				cat(out, outsz, "%s", name);
			break;
		case ns_t_txt:
		case ns_t_spf:
			for (off = 0; off < (size_t)rdlen; off += 1 + rd[off])
				cat(out, outsz, "%s\"%.*s\"", off ? " " : "",
				    (int)rd[off], (const char *)rd + off + 1);
			if (off != (size_t)rdlen)
				cat(out, outsz, "<bad strings>");
			break;
		default:
			cat(out, outsz, "<%d bytes>", rdlen);
		}
	}
	return ns_msg_getflag(h, ns_f_rcode);
}

/* ------------------------------------------------------------ answers */

struct answer_case {
	const char	*desc;
	const char	*name;
	int		 type;
	enum mt_dns_status want_status;
	int		 want_rcode;	/* when an answer comes back */
	const char	*want;		/* rendered answer section */
};

static const struct answer_case answer_cases[] = {
	{ "A, two records in order", "example.com", ns_t_a, MT_DNS_OK, 0,
	  "example.com A 192.0.2.1; example.com A 192.0.2.2" },
	{ "AAAA", "example.com", ns_t_aaaa, MT_DNS_OK, 0,
	  "example.com AAAA 2001:db8::1" },
	{ "MX with preference, target's final dot optional", "example.com",
	  ns_t_mx, MT_DNS_OK, 0,
	  "example.com MX 10 mx.example.com; example.com MX 20 mx2.example.com" },
	{ "TXT", "example.com", ns_t_txt, MT_DNS_OK, 0,
	  "example.com TXT \"v=spf1 ip4:192.0.2.0/24 -all\"" },
	{ "NS", "example.com", ns_t_ns, MT_DNS_OK, 0,
	  "example.com NS ns1.example.com" },
	{ "PTR IPv4", "1.2.0.192.in-addr.arpa", ns_t_ptr, MT_DNS_OK, 0,
	  "1.2.0.192.in-addr.arpa PTR mail.example.com" },
	{ "PTR IPv6", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0."
	  "1.0.0.2.ip6.arpa", ns_t_ptr, MT_DNS_OK, 0,
	  "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
	  "ip6.arpa PTR mail6.example.com" },
	{ "SPF type 99", "spf.example.com", ns_t_spf, MT_DNS_OK, 0,
	  "spf.example.com SPF \"v=spf1 -all\"" },
	{ "TXT of several strings", "multi.example.com", ns_t_txt, MT_DNS_OK,
	  0, "multi.example.com TXT \"v=spf1 \" \"ip4:192.0.2.0/24\" \" -all\"" },
	{ "empty TXT is one empty string", "empty.example.com", ns_t_txt,
	  MT_DNS_OK, 0, "empty.example.com TXT \"\"" },
	{ "TXT bytes kept as given", "tail.example.com", ns_t_txt, MT_DNS_OK,
	  0, "tail.example.com TXT \"quote\" back\\slash;semi\"" },
	{ "underscore labels", "sel._domainkey.example.com", ns_t_txt,
	  MT_DNS_OK, 0, "sel._domainkey.example.com TXT "
	  "\"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC\"" },
	{ "query in upper case, owner echoes the question",
	  "EXAMPLE.COM", ns_t_aaaa, MT_DNS_OK, 0,
	  "EXAMPLE.COM AAAA 2001:db8::1" },
	{ "query with final dot", "example.com.", ns_t_ns, MT_DNS_OK, 0,
	  "example.com NS ns1.example.com" },
	{ "record added in mixed case with final dot", "example.org",
	  ns_t_txt, MT_DNS_OK, 0, "example.org TXT \"hello\"" },
	{ "NODATA: known name, no record of the type", "example.org", ns_t_a,
	  MT_DNS_OK, 0, "" },
	{ "NODATA: SPF asked, only TXT would exist", "_dmarc.example.com",
	  ns_t_spf, MT_DNS_OK, 0, "" },
	{ "NXDOMAIN: unknown name", "nope.example.com", ns_t_a,
	  MT_DNS_NXDOMAIN, 3, "" },
	{ "NXDOMAIN: parent of a known name is not made up", "com", ns_t_a,
	  MT_DNS_NXDOMAIN, 3, "" },
	{ "CNAME followed for A", "www.example.com", ns_t_a, MT_DNS_OK, 0,
	  "www.example.com CNAME example.com; example.com A 192.0.2.1; "
	  "example.com A 192.0.2.2" },
	{ "CNAME followed for TXT", "WWW.example.com.", ns_t_txt, MT_DNS_OK,
	  0, "WWW.example.com CNAME example.com; "
	  "example.com TXT \"v=spf1 ip4:192.0.2.0/24 -all\"" },
	{ "CNAME asked: not followed", "www.example.com", ns_t_cname,
	  MT_DNS_OK, 0, "www.example.com CNAME example.com" },
	{ "CNAME chain of three", "alias1.example.net", ns_t_mx, MT_DNS_OK, 0,
	  "alias1.example.net CNAME alias2.example.net; "
	  "alias2.example.net CNAME www.example.com; "
	  "www.example.com CNAME example.com; "
	  "example.com MX 10 mx.example.com; example.com MX 20 mx2.example.com" },
	{ "CNAME to an unknown name: NXDOMAIN with the chain",
	  "dangling.example.net", ns_t_a, MT_DNS_NXDOMAIN, 3,
	  "dangling.example.net CNAME missing.example.net" },
	{ "CNAME to a name without the type: NODATA with the chain",
	  "nodata.example.net", ns_t_a, MT_DNS_OK, 0,
	  "nodata.example.net CNAME example.org" },
	{ "CNAME loop", "loop1.example.net", ns_t_a, MT_DNS_SERVFAIL, -1,
	  NULL },
	{ "SERVFAIL record", "broken.example.com", ns_t_txt, MT_DNS_SERVFAIL,
	  -1, NULL },
	{ "SERVFAIL only for its type", "broken.example.com", ns_t_a,
	  MT_DNS_OK, 0, "broken.example.com A 192.0.2.10" },
	{ "TIMEOUT only for its type", "slow.example.com", ns_t_a, MT_DNS_OK,
	  0, "slow.example.com A 192.0.2.9" },
	{ "TIMEOUT without deadline fails at once", "slow.example.com",
	  ns_t_txt, MT_DNS_TIMEOUT, -1, NULL },
	{ "TIMEOUT on a CNAME counts for every type", "viaslow.example.com",
	  ns_t_aaaa, MT_DNS_TIMEOUT, -1, NULL },
	{ "SERVFAIL on a CNAME, data of the type wins", "viabroken.example.com",
	  ns_t_mx, MT_DNS_OK, 0, "viabroken.example.com MX 5 mx.example.com" },
	{ "SERVFAIL on a CNAME, other types fail", "viabroken.example.com",
	  ns_t_a, MT_DNS_SERVFAIL, -1, NULL },
	{ "unsupported type asked: NODATA", "example.com", ns_t_soa,
	  MT_DNS_OK, 0, "" },
	{ "empty name", "", ns_t_a, MT_DNS_ERROR, -1, NULL },
	{ "root alone", ".", ns_t_a, MT_DNS_ERROR, -1, NULL },
	{ "empty label", "a..example.com", ns_t_a, MT_DNS_ERROR, -1, NULL },
	{ "leading dot", ".example.com", ns_t_a, MT_DNS_ERROR, -1, NULL },
	{ "two final dots", "example.com..", ns_t_a, MT_DNS_ERROR, -1, NULL },
	{ "label of 64 bytes",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	  ns_t_a, MT_DNS_ERROR, -1, NULL },
	{ "label of 63 bytes is fine (NXDOMAIN)",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	  ns_t_a, MT_DNS_NXDOMAIN, 3, "" },
	{ "type 0", "example.com", 0, MT_DNS_ERROR, -1, NULL },
	{ "type 65536", "example.com", 65536, MT_DNS_ERROR, -1, NULL },
};

static void
test_answers(void **state)
{
	struct mt_resolver	*r = *state;
	const struct answer_case *c;
	unsigned char		*ans;
	char			*got, qname[300];
	size_t			 i, len;
	enum mt_dns_status	 st;
	int			 rcode, bad = 0;

	ans = malloc(ANSWER_SIZE);
	got = malloc(RENDER_SIZE);
	assert_non_null(ans);
	assert_non_null(got);
	for (i = 0; i < sizeof(answer_cases) / sizeof(answer_cases[0]); i++) {
		c = &answer_cases[i];
		len = 12345;
		st = resolver_query(r, c->name, c->type, ans, ANSWER_SIZE, &len,
		    0);
		if (st != c->want_status) {
			print_error("%s: status got %s, want %s\n", c->desc,
			    resolver_status_name(st),
			    resolver_status_name(c->want_status));
			bad++;
			continue;
		}
		if (c->want == NULL) {
			if (len != 0) {
				print_error("%s: anslen got %zu, want 0\n",
				    c->desc, len);
				bad++;
			}
			continue;
		}
		snprintf(qname, sizeof(qname), "%s", c->name);
		if (qname[0] != '\0' && qname[strlen(qname) - 1] == '.')
			qname[strlen(qname) - 1] = '\0';
		rcode = render(ans, len, qname, c->type, got, RENDER_SIZE);
		if (rcode != c->want_rcode || strcmp(got, c->want) != 0) {
			print_error("%s: got rcode %d \"%s\", want rcode %d "
			    "\"%s\"\n", c->desc, rcode, got, c->want_rcode,
			    c->want);
			bad++;
		}
	}
	free(ans);
	free(got);
	if (bad)
		fail_msg("%d of %zu answer cases failed", bad, i);
}

/* ------------------------------------------------------------ long TXT */

struct split_case {
	const char	*desc;
	size_t		 len;
	size_t		 want_strings;
	size_t		 want_last;	/* length of the last string */
};

static const struct split_case split_cases[] = {
	{ "254 bytes: one string", 254, 1, 254 },
	{ "255 bytes: one string", 255, 1, 255 },
	{ "256 bytes: two strings", 256, 2, 1 },
	{ "600 bytes: 255 + 255 + 90", 600, 3, 90 },
	{ "2048-bit key size record, 410 bytes", 410, 2, 155 },
	{ "4000 bytes", 4000, 16, 175 },
};

static void
test_long_txt(void **state)
{
	const struct split_case	*c;
	struct mt_resolver	*r;
	unsigned char		*ans, *p;
	char			*text, *back;
	size_t			 i, k, len, off, nstr, last, blen;
	ns_msg			 h;
	ns_rr			 rr;

	ans = malloc(ANSWER_SIZE * 2);
	text = malloc(5000);
	back = malloc(5000);
	assert_non_null(ans);
	assert_non_null(text);
	assert_non_null(back);
	for (i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++) {
		c = &split_cases[i];
		for (k = 0; k < c->len; k++)
			text[k] = (char)('a' + k % 26);
		text[c->len] = '\0';
		r = resolver_new_table();
		assert_non_null(r);
		assert_int_equal(resolver_table_add(r, "long.example.com",
		    ns_t_txt, text), 0);
		assert_int_equal(resolver_query(r, "long.example.com", ns_t_txt,
		    ans, ANSWER_SIZE * 2, &len, 0), MT_DNS_OK);
		assert_int_equal(ns_initparse(ans, (int)len, &h), 0);
		assert_int_equal(ns_msg_count(h, ns_s_an), 1);
		assert_int_equal(ns_parserr(&h, ns_s_an, 0, &rr), 0);
		p = (unsigned char *)ns_rr_rdata(rr);
		nstr = 0;
		last = 0;
		blen = 0;
		for (off = 0; off < (size_t)ns_rr_rdlen(rr); off += 1 + p[off]) {
			nstr++;
			last = p[off];
			if (p[off] == 0)
				fail_msg("%s: string %zu has length %u",
				    c->desc, nstr, p[off]);
			memcpy(back + blen, p + off + 1, p[off]);
			blen += p[off];
		}
		if (nstr != c->want_strings || last != c->want_last)
			fail_msg("%s: got %zu strings, last %zu bytes; want "
			    "%zu, last %zu", c->desc, nstr, last,
			    c->want_strings, c->want_last);
		if (blen != c->len || memcmp(back, text, blen) != 0)
			fail_msg("%s: strings joined differ from the text",
			    c->desc);
		resolver_free(r);
	}
	free(ans);
	free(text);
	free(back);
}

/* ------------------------------------------------------------ deadlines */

struct deadline_case {
	const char	*desc;
	const char	*name;
	int		 type;
	int		 deadline_ms;	/* from now; 0 none, < 0 in the past */
	enum mt_dns_status want;
	int		 min_ms;	/* elapsed at least */
	int		 max_ms;	/* elapsed at most (generous) */
};

static const struct deadline_case deadline_cases[] = {
	{ "TIMEOUT waits for the deadline", "slow.example.com", ns_t_txt,
	  300, MT_DNS_TIMEOUT, 295, 2000 },
	{ "TIMEOUT through a CNAME waits too", "viaslow.example.com", ns_t_a,
	  150, MT_DNS_TIMEOUT, 145, 2000 },
	{ "TIMEOUT without a deadline is immediate", "slow.example.com",
	  ns_t_txt, 0, MT_DNS_TIMEOUT, 0, 100 },
	{ "deadline passed: no lookup", "example.com", ns_t_a, -1,
	  MT_DNS_TIMEOUT, 0, 100 },
	{ "deadline passed, unknown name: still TIMEOUT", "nope.example.com",
	  ns_t_a, -5, MT_DNS_TIMEOUT, 0, 100 },
	{ "deadline ahead, good name: answer at once", "example.com",
	  ns_t_a, 5000, MT_DNS_OK, 0, 100 },
};

static void
test_deadlines(void **state)
{
	struct mt_resolver	*r = *state;
	const struct deadline_case *c;
	unsigned char		 ans[512];
	size_t			 i, len;
	int64_t			 t0, deadline, ms;
	enum mt_dns_status	 st;

	for (i = 0; i < sizeof(deadline_cases) / sizeof(deadline_cases[0]);
	    i++) {
		c = &deadline_cases[i];
		t0 = mt_mono_us();
		deadline = c->deadline_ms == 0 ? 0 :
		    t0 + (int64_t)c->deadline_ms * 1000;
		st = resolver_query(r, c->name, c->type, ans, sizeof(ans),
		    &len, deadline);
		ms = (mt_mono_us() - t0) / 1000;
		if (st != c->want)
			fail_msg("%s: got %s, want %s", c->desc,
			    resolver_status_name(st),
			    resolver_status_name(c->want));
		if (ms < c->min_ms || ms > c->max_ms)
			fail_msg("%s: took %lld ms, want %d..%d", c->desc,
			    (long long)ms, c->min_ms, c->max_ms);
		if (st == MT_DNS_TIMEOUT && len != 0)
			fail_msg("%s: anslen got %zu, want 0", c->desc, len);
	}
}

/* ------------------------------------------------------------ buffer size */

static void
test_buffer_size(void **state)
{
	struct mt_resolver	*r = *state;
	unsigned char		 ans[ANSWER_SIZE];
	size_t			 need, len, sizes[5];
	enum mt_dns_status	 want[5], st;
	int			 i;

	assert_int_equal(resolver_query(r, "alias1.example.net", ns_t_mx, ans,
	    sizeof(ans), &need, 0), MT_DNS_OK);
	sizes[0] = need;	want[0] = MT_DNS_OK;
	sizes[1] = need - 1;	want[1] = MT_DNS_ERROR;
	sizes[2] = 30;		want[2] = MT_DNS_ERROR;
	sizes[3] = 12;		want[3] = MT_DNS_ERROR;
	sizes[4] = 0;		want[4] = MT_DNS_ERROR;
	for (i = 0; i < 5; i++) {
		len = 999;
		st = resolver_query(r, "alias1.example.net", ns_t_mx, ans,
		    sizes[i], &len, 0);
		if (st != want[i])
			fail_msg("buffer of %zu bytes (answer %zu): got %s, "
			    "want %s", sizes[i], need, resolver_status_name(st),
			    resolver_status_name(want[i]));
		if (st == MT_DNS_OK ? len != need : len != 0)
			fail_msg("buffer of %zu bytes: anslen got %zu",
			    sizes[i], len);
	}
	/* an NXDOMAIN answer is just header and question */
	assert_int_equal(resolver_query(r, "x.example.com", ns_t_a, ans,
	    12 + 15 + 4, &len, 0), MT_DNS_NXDOMAIN);
	assert_int_equal(len, 12 + 15 + 4);
	assert_int_equal(resolver_query(r, "x.example.com", ns_t_a, ans,
	    12 + 15 + 3, &len, 0), MT_DNS_ERROR);
}

/* ------------------------------------------------------------ bad input */

struct add_case {
	const char	*desc;
	const char	*name;
	int		 type;
	const char	*rdata;
	int		 want;
};

static const struct add_case add_cases[] = {
	{ "A fine", "a.example.com", ns_t_a, "192.0.2.1", 0 },
	{ "A out of range", "a.example.com", ns_t_a, "192.0.2.256", -1 },
	{ "A given an IPv6 address", "a.example.com", ns_t_a, "2001:db8::1",
	  -1 },
	{ "A with trailing space", "a.example.com", ns_t_a, "192.0.2.1 ", -1 },
	{ "AAAA given an IPv4 address", "a.example.com", ns_t_aaaa,
	  "192.0.2.1", -1 },
	{ "AAAA bad", "a.example.com", ns_t_aaaa, "2001:db8:::1", -1 },
	{ "MX without preference", "a.example.com", ns_t_mx,
	  "mx.example.com", -1 },
	{ "MX preference too big", "a.example.com", ns_t_mx,
	  "65536 mx.example.com", -1 },
	{ "MX preference 65535", "a.example.com", ns_t_mx,
	  "65535 mx.example.com", 0 },
	{ "MX negative preference", "a.example.com", ns_t_mx,
	  "-1 mx.example.com", -1 },
	{ "MX without name", "a.example.com", ns_t_mx, "10", -1 },
	{ "MX with bad name", "a.example.com", ns_t_mx, "10 a..b", -1 },
	{ "CNAME bad target", "a.example.com", ns_t_cname, "", -1 },
	{ "PTR bad target", "a.example.com", ns_t_ptr, ".", -1 },
	{ "NS fine", "a.example.com", ns_t_ns, "ns.example.com", 0 },
	{ "bad owner name", "a..example.com", ns_t_a, "192.0.2.1", -1 },
	{ "empty owner name", "", ns_t_a, "192.0.2.1", -1 },
	{ "owner name NULL", NULL, ns_t_a, "192.0.2.1", -1 },
	{ "rdata NULL", "a.example.com", ns_t_a, NULL, -1 },
	{ "unsupported type SOA", "a.example.com", ns_t_soa, "x", -1 },
	{ "unsupported type with TIMEOUT", "a.example.com", ns_t_soa,
	  "TIMEOUT", -1 },
	{ "TIMEOUT of any supported type", "a.example.com", ns_t_mx,
	  "TIMEOUT", 0 },
	{ "TXT of 70000 bytes is too long", "a.example.com", ns_t_txt,
	  "LONG", -1 },
};

static void
test_add_errors(void **state)
{
	const struct add_case	*c;
	struct mt_resolver	*r, *sys;
	struct mt_resolver_opts	 o = { 1000, 1 };
	char			 err[256], *huge;
	const char		*rdata;
	const char		*strs[2];
	size_t			 i;
	int			 got;

	huge = malloc(70001);
	assert_non_null(huge);
	memset(huge, 'x', 70000);
	huge[70000] = '\0';
	r = resolver_new_table();
	assert_non_null(r);
	for (i = 0; i < sizeof(add_cases) / sizeof(add_cases[0]); i++) {
		c = &add_cases[i];
		rdata = c->rdata != NULL && strcmp(c->rdata, "LONG") == 0 ?
		    huge : c->rdata;
		got = resolver_table_add(r, c->name, c->type, rdata);
		if (got != c->want)
			fail_msg("%s: got %d, want %d", c->desc, got, c->want);
	}
	free(huge);

	/* TXT strings: each one at most 255 bytes, at least one string */
	{
		char	 s256[257];

		memset(s256, 's', 256);
		s256[256] = '\0';
		strs[0] = "fine";
		strs[1] = s256;
		assert_int_equal(resolver_table_add_txt(r, "t.example.com",
		    strs, 2), -1);
		s256[255] = '\0';
		assert_int_equal(resolver_table_add_txt(r, "t.example.com",
		    strs, 2), 0);
		assert_int_equal(resolver_table_add_txt(r, "t.example.com",
		    strs, 0), -1);
		assert_int_equal(resolver_table_add_txt(r, "t.example.com",
		    NULL, 1), -1);
		strs[1] = NULL;
		assert_int_equal(resolver_table_add_txt(r, "t.example.com",
		    strs, 2), -1);
		assert_int_equal(resolver_table_add_txt(r, "bad..name",
		    strs, 1), -1);
		assert_int_equal(resolver_table_add_txt(NULL, "t.example.com",
		    strs, 1), -1);
	}
	/* a literal "TIMEOUT" text needs resolver_table_add_txt */
	strs[0] = "TIMEOUT";
	assert_int_equal(resolver_table_add_txt(r, "lit.example.com", strs, 1),
	    0);
	{
		unsigned char	 ans[512];
		size_t		 len;
		char		 got_s[256];

		assert_int_equal(resolver_query(r, "lit.example.com", ns_t_txt,
		    ans, sizeof(ans), &len, 0), MT_DNS_OK);
		render(ans, len, "lit.example.com", ns_t_txt, got_s,
		    sizeof(got_s));
		assert_string_equal(got_s, "lit.example.com TXT \"TIMEOUT\"");
	}
	resolver_free(r);

	assert_int_equal(resolver_table_add(NULL, "a.example.com", ns_t_a,
	    "192.0.2.1"), -1);

	/* the system resolver is not a table */
	sys = resolver_new(&o, err, sizeof(err));
	if (sys == NULL)
		print_message("# no system resolver here (%s): skipped\n", err);
	else {
		assert_int_equal(resolver_table_add(sys, "a.example.com",
		    ns_t_a, "192.0.2.1"), -1);
		strs[0] = "x";
		assert_int_equal(resolver_table_add_txt(sys, "a.example.com",
		    strs, 1), -1);
		resolver_free(sys);
	}
}

struct opts_case {
	const char	*desc;
	int		 timeout_ms;
	int		 attempts;
	int		 want_ok;
};

static const struct opts_case opts_cases[] = {
	{ "timeout 0", 0, 1, 0 },
	{ "timeout negative", -5, 1, 0 },
	{ "attempts 0", 1000, 0, 0 },
	{ "attempts negative", 1000, -1, 0 },
	{ "timeout over an hour", 3600001, 1, 0 },
	{ "attempts over 100", 1000, 101, 0 },
	{ "smallest", 1, 1, 1 },
	{ "usual", 2000, 2, 1 },
};

static void
test_system_opts(void **state)
{
	const struct opts_case	*c;
	struct mt_resolver_opts	 o;
	struct mt_resolver	*r;
	char			 err[256];
	size_t			 i;

	assert_null(resolver_new(NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "timeout_ms"));
	for (i = 0; i < sizeof(opts_cases) / sizeof(opts_cases[0]); i++) {
		c = &opts_cases[i];
		o.timeout_ms = c->timeout_ms;
		o.attempts = c->attempts;
		err[0] = '\0';
		r = resolver_new(&o, err, sizeof(err));
		if (c->want_ok && r == NULL && strstr(err, "timeout_ms") ==
		    NULL) {
			/* no resolv.conf here: nothing to check */
			print_message("# %s: %s\n", c->desc, err);
			continue;
		}
		if ((r != NULL) != c->want_ok)
			fail_msg("%s: got %s, want %s (%s)", c->desc,
			    r ? "a resolver" : "NULL",
			    c->want_ok ? "a resolver" : "NULL", err);
		if (r == NULL && err[0] == '\0')
			fail_msg("%s: NULL without a message", c->desc);
		resolver_free(r);
	}
}

static void
test_query_errors(void **state)
{
	struct mt_resolver	*r = *state;
	unsigned char		 ans[512];
	size_t			 len = 7;

	assert_int_equal(resolver_query(NULL, "example.com", ns_t_a, ans,
	    sizeof(ans), &len, 0), MT_DNS_ERROR);
	assert_int_equal(len, 0);
	assert_int_equal(resolver_query(r, NULL, ns_t_a, ans, sizeof(ans),
	    &len, 0), MT_DNS_ERROR);
	assert_int_equal(resolver_query(r, "example.com", ns_t_a, NULL,
	    sizeof(ans), &len, 0), MT_DNS_ERROR);
	assert_int_equal(resolver_query(r, "example.com", ns_t_a, ans,
	    sizeof(ans), NULL, 0), MT_DNS_ERROR);
}

/* ------------------------------------------------------------ counters */

static void
test_counters(void **state)
{
	struct mt_resolver		*r;
	struct mt_resolver_counters	 c;
	unsigned char			 ans[512];
	size_t				 len;

	r = fixture_table();
	resolver_counters(r, &c);
	assert_true(c.queries == 0 && c.timeouts == 0 && c.failures == 0);
	resolver_query(r, "example.com", ns_t_a, ans, sizeof(ans), &len, 0);
	resolver_query(r, "nope.example.com", ns_t_a, ans, sizeof(ans), &len,
	    0);
	resolver_query(r, "slow.example.com", ns_t_txt, ans, sizeof(ans), &len,
	    0);
	resolver_query(r, "example.com", ns_t_a, ans, sizeof(ans), &len,
	    mt_mono_us() - 1);
	resolver_query(r, "broken.example.com", ns_t_txt, ans, sizeof(ans),
	    &len, 0);
	resolver_query(r, "a..b", ns_t_a, ans, sizeof(ans), &len, 0);
	resolver_query(r, "example.com", ns_t_a, ans, 13, &len, 0);
	resolver_counters(r, &c);
	if (c.queries != 7 || c.timeouts != 2 || c.failures != 3)
		fail_msg("counters got %llu/%llu/%llu, want 7/2/3",
		    (unsigned long long)c.queries,
		    (unsigned long long)c.timeouts,
		    (unsigned long long)c.failures);
	resolver_counters(NULL, &c);
	assert_true(c.queries == 0);
	resolver_counters(r, NULL);
	resolver_free(r);
	resolver_free(NULL);
}

static void
test_status_names(void **state)
{
	assert_string_equal(resolver_status_name(MT_DNS_OK), "ok");
	assert_string_equal(resolver_status_name(MT_DNS_NXDOMAIN), "nxdomain");
	assert_string_equal(resolver_status_name(MT_DNS_TIMEOUT), "timeout");
	assert_string_equal(resolver_status_name(MT_DNS_SERVFAIL), "servfail");
	assert_string_equal(resolver_status_name(MT_DNS_ERROR), "error");
	assert_string_equal(resolver_status_name((enum mt_dns_status)42),
	    "unknown");
}

/* ------------------------------------------------------------ threads */

#define THREADS		4
#define PER_THREAD	2000

static void *
hammer(void *arg)
{
	struct mt_resolver	*r = arg;
	unsigned char		 ans[1024];
	size_t			 len, i;
	ns_msg			 h;
	static const char *const names[] = { "www.example.com",
	    "alias1.example.net", "nope.example.com", "example.com" };

	for (i = 0; i < PER_THREAD; i++) {
		enum mt_dns_status st = resolver_query(r, names[i % 4],
		    ns_t_a, ans, sizeof(ans), &len, 0);
		if (st != (i % 4 == 2 ? MT_DNS_NXDOMAIN : MT_DNS_OK) ||
		    ns_initparse(ans, (int)len, &h) != 0)
			return (void *)1;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct mt_resolver		*r = *state;
	struct mt_resolver_counters	 c0, c1;
	pthread_t			 t[THREADS];
	void				*ret;
	int				 i, bad = 0;

	resolver_counters(r, &c0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, r), 0);
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], &ret);
		if (ret != NULL)
			bad++;
	}
	assert_int_equal(bad, 0);
	resolver_counters(r, &c1);
	assert_int_equal(c1.queries - c0.queries, THREADS * PER_THREAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_answers, setup, teardown),
		cmocka_unit_test(test_long_txt),
		cmocka_unit_test_setup_teardown(test_deadlines, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_buffer_size, setup,
		    teardown),
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_system_opts),
		cmocka_unit_test_setup_teardown(test_query_errors, setup,
		    teardown),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
