/*
 * spf.h - SPF evaluation (RFC 7208) with libspf2 and our resolver.
 *
 * libspf2 does the policy; DNS goes through struct mt_resolver (our own
 * libspf2 DNS layer: deadlines, no cache).  libspf2's error handlers are
 * replaced by ours at spf_new() time, so a bad input never aborts the
 * daemon.  One evaluation checks one identity: the MAIL FROM address (or
 * postmaster@HELO when MAIL FROM is <>, RFC 7208 section 2.4) or the HELO
 * name.  Results from DNS (explanations, macro expansions) are a stranger's
 * bytes.  Thread-safe: evaluations may run concurrently.
 */
#ifndef MAILTRAIL_SPF_H
#define MAILTRAIL_SPF_H

#include <stddef.h>
#include <stdint.h>

#include "mailtrail/resolver.h"

enum mt_spf_result {
	MT_SPF_NONE = 0,
	MT_SPF_NEUTRAL,
	MT_SPF_PASS,
	MT_SPF_FAIL,
	MT_SPF_SOFTFAIL,
	MT_SPF_TEMPERROR,
	MT_SPF_PERMERROR
};

enum mt_spf_identity {
	MT_SPF_MAILFROM = 0,
	MT_SPF_HELO
};

struct mt_spf_opts {
	int		 deadline_ms;	/* whole evaluation, all its lookups */
	const char	*receiver;	/* our host name (the %{r} macro) */
};

/* The outcome of one evaluation; strings NUL-terminated, possibly cut. */
struct mt_spf_outcome {
	enum mt_spf_result result;
	char		 domain[256];		/* the domain checked */
	char		 mechanism[256];	/* what decided: "ip4:192.0.2.0/24",
						   "-all", "default" or the error */
	char		 explanation[512];	/* exp= text or libspf2's comment */
	int64_t		 elapsed_us;
};

struct mt_spf;

/* A new evaluator using r (borrowed; must outlive it).  NULL + err. */
struct mt_spf *spf_new(const struct mt_spf_opts *opts, struct mt_resolver *r,
	    char *err, size_t errlen);

/*
 * Evaluate one identity for a client IP ("192.0.2.1" or "2001:db8::1").
 * mailfrom is the address without <> ("" for the null sender).  Never
 * fails: internal trouble is reported as temperror with a reason in
 * mechanism.
 */
void	 spf_check(struct mt_spf *s, enum mt_spf_identity identity,
	    const char *client_ip, const char *helo, const char *mailfrom,
	    struct mt_spf_outcome *out);

/*
 * Counters since spf_new(): evaluations, and internal errors (libspf2
 * called its error handler; the request was abandoned and memory it held
 * may have leaked).  Thread-safe.
 */
struct mt_spf_counters {
	uint64_t	 checks;
	uint64_t	 internal_errors;
};
void	 spf_counters(struct mt_spf *s, struct mt_spf_counters *out);

/* "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror". */
const char *spf_result_name(enum mt_spf_result r);

/* Free.  NULL is a no-op. */
void	 spf_free(struct mt_spf *s);

#endif
