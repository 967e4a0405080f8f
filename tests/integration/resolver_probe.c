/*
 * resolver_probe.c - ask the system resolver of resolver.c one question,
 * for the integration tests (tests/integration/dns-harness.sh).
 *
 * usage: resolver_probe [-t timeout_ms] [-a attempts] [-d deadline_ms]
 *            [-b answer_size] [-n count -j threads] NAME TYPE
 *
 * TYPE is A, AAAA, MX, TXT, PTR, CNAME, NS, SPF, SOA or a number.  Prints
 * one line "status=S rcode=R answers=N elapsed_ms=E" (rcode -1 when no
 * answer came back), then each answer record as "owner TYPE data", TXT
 * strings joined without separator.  With -n, each of -j threads (default
 * 1) sends the query count times through one shared resolver and the
 * probe prints "queries=Q ok=K us_per_query=U" instead.  Exit status 0
 * when a line was printed, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mailtrail/clock.h"
#include "mailtrail/resolver.h"

static const struct {
	const char	*name;
	int		 type;
} types[] = {
	{ "A", ns_t_a }, { "AAAA", ns_t_aaaa }, { "MX", ns_t_mx },
	{ "TXT", ns_t_txt }, { "PTR", ns_t_ptr }, { "CNAME", ns_t_cname },
	{ "NS", ns_t_ns }, { "SPF", ns_t_spf }, { "SOA", ns_t_soa },
};

static int
type_of(const char *s)
{
	size_t	 i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(s, types[i].name) == 0)
			return types[i].type;
	return atoi(s);
}

static const char *
name_of(int type)
{
	size_t	 i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].name;
	return "?";
}

static void
print_rr(ns_msg *h, ns_rr *rr)
{
	const unsigned char	*rd = ns_rr_rdata(*rr);
	char			 buf[NS_MAXDNAME], addr[INET6_ADDRSTRLEN];
	int			 rdlen = ns_rr_rdlen(*rr), off;

	printf("%s %s ", ns_rr_name(*rr), name_of(ns_rr_type(*rr)));
	switch (ns_rr_type(*rr)) {
	case ns_t_a:
	case ns_t_aaaa:
		printf("%s", inet_ntop(rdlen == 4 ? AF_INET : AF_INET6, rd,
		    addr, sizeof(addr)));
		break;
	case ns_t_mx:
		if (dn_expand(ns_msg_base(*h), ns_msg_end(*h), rd + 2, buf,
		    sizeof(buf)) > 0)
			printf("%u %s", ns_get16(rd), buf);
		break;
	case ns_t_ptr:
	case ns_t_cname:
	case ns_t_ns:
		if (dn_expand(ns_msg_base(*h), ns_msg_end(*h), rd, buf,
		    sizeof(buf)) > 0)
			printf("%s", buf);
		break;
	case ns_t_txt:
	case ns_t_spf:
		for (off = 0; off < rdlen; off += 1 + rd[off])
			printf("%.*s", (int)rd[off],
			    (const char *)rd + off + 1);
		break;
	default:
		printf("<%d bytes>", rdlen);
	}
	printf("\n");
}

struct load {
	struct mt_resolver	*r;
	const char		*name;
	int			 type;
	int			 count;
	int			 ok;
};

static void *
load_run(void *arg)
{
	struct load	*l = arg;
	unsigned char	 ans[4096];
	size_t		 len;
	int		 i;

	for (i = 0; i < l->count; i++)
		if (resolver_query(l->r, l->name, l->type, ans, sizeof(ans),
		    &len, 0) == MT_DNS_OK)
			l->ok++;
	return NULL;
}

/* -n count -j threads: many queries at once, through one resolver. */
static int
load(struct mt_resolver *r, const char *name, int type, int count,
    int threads)
{
	struct load	*l;
	pthread_t	*t;
	int64_t		 t0, us;
	int		 i, ok = 0;

	l = calloc((size_t)threads, sizeof(*l));
	t = calloc((size_t)threads, sizeof(*t));
	if (l == NULL || t == NULL)
		return 1;
	t0 = mt_mono_us();
	for (i = 0; i < threads; i++) {
		l[i].r = r;
		l[i].name = name;
		l[i].type = type;
		l[i].count = count;
		if (pthread_create(&t[i], NULL, load_run, &l[i]) != 0)
			return 1;
	}
	for (i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		ok += l[i].ok;
	}
	us = mt_mono_us() - t0;
	printf("queries=%d ok=%d us_per_query=%.1f\n", count * threads, ok,
	    (double)us / (count * threads));
	free(l);
	free(t);
	return 0;
}

int
main(int argc, char **argv)
{
	struct mt_resolver_opts	 o = { 1000, 1 };
	struct mt_resolver	*r;
	enum mt_dns_status	 st;
	unsigned char		*ans;
	size_t			 size = 4096, len = 0;
	int64_t			 t0, deadline = 0, ms;
	int			 c, deadline_ms = 0, type, rcode = -1, n = 0, i;
	int			 count = 0, threads = 1;
	char			 err[256];
	ns_msg			 h;
	ns_rr			 rr;

	while ((c = getopt(argc, argv, "a:b:d:j:n:t:")) != -1) {
		switch (c) {
		case 'a':
			o.attempts = atoi(optarg);
			break;
		case 'b':
			size = (size_t)atol(optarg);
			break;
		case 'd':
			deadline_ms = atoi(optarg);
			break;
		case 'j':
			threads = atoi(optarg);
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 't':
			o.timeout_ms = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2)
		goto usage;
	if ((type = type_of(argv[optind + 1])) <= 0)
		goto usage;
	if ((r = resolver_new(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "resolver_probe: %s\n", err);
		return 1;
	}
	if (count > 0 && threads > 0) {
		c = load(r, argv[optind], type, count, threads);
		resolver_free(r);
		return c;
	}
	if ((ans = malloc(size > 0 ? size : 1)) == NULL)
		return 1;
	t0 = mt_mono_us();
	if (deadline_ms != 0)
		deadline = t0 + (int64_t)deadline_ms * 1000;
	st = resolver_query(r, argv[optind], type, ans, size, &len, deadline);
	ms = (mt_mono_us() - t0) / 1000;
	if (len > 0 && ns_initparse(ans, (int)len, &h) == 0) {
		rcode = ns_msg_getflag(h, ns_f_rcode);
		n = ns_msg_count(h, ns_s_an);
	} else if (len > 0)
		rcode = -2;		/* did not parse */
	printf("status=%s rcode=%d answers=%d elapsed_ms=%lld\n",
	    resolver_status_name(st), rcode, n, (long long)ms);
	for (i = 0; i < n; i++)
		if (ns_parserr(&h, ns_s_an, i, &rr) == 0)
			print_rr(&h, &rr);
	free(ans);
	resolver_free(r);
	return 0;
usage:
	fprintf(stderr, "usage: resolver_probe [-t timeout_ms] [-a attempts] "
	    "[-d deadline_ms] [-b answer_size] [-n count -j threads] NAME TYPE\n");
	return 2;
}
