/*
 * resolver.h - DNS lookups with deadlines, for SPF and DKIM.
 *
 * Every lookup carries a deadline (a CLOCK_MONOTONIC time in microseconds,
 * see mt_mono_us()); a lookup that cannot finish by then fails with
 * MT_DNS_TIMEOUT, which SPF and DKIM report as temperror.  Nothing here
 * caches: a passing DNS failure must not outlive the message it hit.
 *
 * Two implementations behind one interface:
 *   resolver_new()        the system's resolver (resolv.conf, UDP then TCP),
 *                         with our per-query timeout and attempts;
 *   resolver_new_table()  answers from a table filled by the caller, for
 *                         tests and corpus runs (no network at all).
 * Answers are DNS wire-format messages (RFC 1035), as libspf2 and
 * libopendkim want them.  A resolver is shared by all threads: every
 * function is thread-safe once the table (if any) is filled.
 */
#ifndef MAILTRAIL_RESOLVER_H
#define MAILTRAIL_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

struct mt_resolver;

enum mt_dns_status {
	MT_DNS_OK = 0,			/* an answer (possibly with no records) */
	MT_DNS_NXDOMAIN,		/* the name does not exist */
	MT_DNS_TIMEOUT,			/* no answer before the deadline */
	MT_DNS_SERVFAIL,		/* the server failed (temporary) */
	MT_DNS_ERROR			/* anything else: bad name, local failure */
};

struct mt_resolver_opts {
	int		 timeout_ms;	/* per query attempt; >= 1 */
	int		 attempts;	/* tries per query; >= 1 */
};

/* The system resolver.  NULL with a message in err on failure.  Caller frees. */
struct mt_resolver *resolver_new(const struct mt_resolver_opts *opts,
	    char *err, size_t errlen);

/* An empty table resolver (every name NXDOMAIN until added).  Caller frees. */
struct mt_resolver *resolver_new_table(void);

/*
 * Add a record to a table resolver (not thread-safe; fill before use).
 * type is an ns_t_* value (A, AAAA, MX, TXT, PTR, CNAME, NS, SPF); rdata
 * is the presentation form: "192.0.2.1", "2001:db8::1", "10 mx.example.com",
 * for TXT the text itself (split into 255-byte strings as needed), for
 * PTR/CNAME/NS a name.  Special rdata "TIMEOUT" makes every query of that
 * name and type time out; "SERVFAIL" makes it fail.  Returns 0 or -1.
 */
int	 resolver_table_add(struct mt_resolver *r, const char *name, int type,
	    const char *rdata);

/* Same for a TXT record made of several strings (count of them). */
int	 resolver_table_add_txt(struct mt_resolver *r, const char *name,
	    const char *const *strings, size_t count);

/*
 * Look up name/type.  On MT_DNS_OK (and MT_DNS_NXDOMAIN, when the server
 * sent one) the wire-format answer is in answer[0..*anslen).  deadline_us is
 * a mt_mono_us() time; 0 means "no deadline other than timeout x attempts".
 */
enum mt_dns_status resolver_query(struct mt_resolver *r, const char *name,
	    int type, unsigned char *answer, size_t answer_size,
	    size_t *anslen, int64_t deadline_us);

/* Counters: queries, timeouts, failures (for logs and tests). */
struct mt_resolver_counters {
	uint64_t	 queries;
	uint64_t	 timeouts;
	uint64_t	 failures;
};
void	 resolver_counters(struct mt_resolver *r,
	    struct mt_resolver_counters *out);

/* Free.  NULL is a no-op. */
void	 resolver_free(struct mt_resolver *r);

const char *resolver_status_name(enum mt_dns_status s);

#endif
