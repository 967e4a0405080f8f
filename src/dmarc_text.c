/*
 * dmarc_text.c - a DMARC outcome in words, as an Authentication-Results
 * fragment, and the closed vocabularies for storage.
 *
 * Every domain written comes from the outcome, where dmarc_evaluate() kept
 * only plain DNS names (lowercase LDH labels), so nothing here needs
 * escaping beyond the quoted reason, which holds our words and those names.
 * No state; thread-safe.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mailtrail/dmarc.h"

struct out {
	char	*buf;
	size_t	 size, len;
	int	 overflow;
};

static void
addf(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
addf(struct out *o, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (o->size == 0 || o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len) {
		o->overflow = 1;
		o->len = o->size - 1;
		o->buf[o->len] = '\0';
		return;
	}
	o->len += (size_t)n;
}

/* "; " between clauses. */
static void
clause(struct out *o)
{
	if (o->len > 0)
		addf(o, "; ");
}

static const char *
spf_word(int r)
{
	switch (r) {
	case MT_SPF_NONE:	return "none";
	case MT_SPF_NEUTRAL:	return "neutral";
	case MT_SPF_PASS:	return "pass";
	case MT_SPF_FAIL:	return "fail";
	case MT_SPF_SOFTFAIL:	return "softfail";
	case MT_SPF_TEMPERROR:	return "temperror";
	case MT_SPF_PERMERROR:	return "permerror";
	}
	return "unknown";
}

static const char *
dkim_word(int r)
{
	switch (r) {
	case MT_DKIM_PASS:	return "pass";
	case MT_DKIM_FAIL:	return "fail";
	case MT_DKIM_NEUTRAL:	return "neutral";
	case MT_DKIM_POLICY:	return "policy";
	case MT_DKIM_TEMPERROR:	return "temperror";
	case MT_DKIM_PERMERROR:	return "permerror";
	}
	return "unknown";
}

static const char *
name_or(const char *d, const char *instead)
{
	return d[0] != '\0' ? d : instead;
}

static void
dkim_clause(struct out *o, const struct mt_dmarc_outcome *oc,
    const struct mt_dmarc_ident *id)
{
	const char	*d = name_or(id->domain, "an invalid domain");
	const char	*from = oc->from_domain;

	clause(o);
	switch (id->align) {
	case MT_DMARC_ALIGNED:
		addf(o, "DKIM passed for %s, aligned", d);
		return;
	case MT_DMARC_ALIGN_ORG:
		addf(o, "DKIM valid but signed by %s (not aligned with %s)",
		    d, from);
		return;
	case MT_DMARC_ALIGN_STRICT:
		addf(o, "DKIM valid for %s but adkim=s wants exactly %s",
		    d, from);
		return;
	case MT_DMARC_ALIGN_TEMPERROR:
		addf(o, "DKIM valid for %s, alignment unknown (DNS error)", d);
		return;
	default:
		break;
	}
	if (id->result == MT_DKIM_FAIL && id->fail ==
	    MT_DMARC_DKIM_FAIL_BODY_HASH)
		addf(o, "DKIM signature by %s broken (body hash mismatch)", d);
	else if (id->result == MT_DKIM_FAIL && id->fail ==
	    MT_DMARC_DKIM_FAIL_SIGNATURE)
		addf(o, "DKIM signature by %s broken (bad signature)", d);
	else
		addf(o, "DKIM %s for %s", dkim_word(id->result), d);
}

static void
spf_clause(struct out *o, const struct mt_dmarc_outcome *oc)
{
	const struct mt_dmarc_ident *id = &oc->spf;
	const char	*d = name_or(id->domain, "no usable domain");
	char		 helo[300];

	if (oc->spf_helo && id->domain[0] != '\0') {
		snprintf(helo, sizeof(helo), "HELO %s", id->domain);
		d = helo;
	}

	clause(o);
	switch (id->align) {
	case MT_DMARC_ALIGNED:
		addf(o, "SPF passed for %s, aligned", d);
		return;
	case MT_DMARC_ALIGN_ORG:
		addf(o, "SPF passed for %s, not aligned", d);
		return;
	case MT_DMARC_ALIGN_STRICT:
		addf(o, "SPF passed for %s but aspf=s wants exactly %s", d,
		    oc->from_domain);
		return;
	case MT_DMARC_ALIGN_TEMPERROR:
		addf(o, "SPF passed for %s, alignment unknown (DNS error)", d);
		return;
	default:
		addf(o, "SPF %s for %s", spf_word(id->result), d);
	}
}

static const char *
policy_word(enum mt_dmarc_policy p)
{
	const char	*n = dmarc_policy_name(p);

	return n != NULL ? n : "none";
}

size_t
dmarc_reason_text(const struct mt_dmarc_outcome *oc, char *buf, size_t sz)
{
	struct out	 o = { buf, sz, 0, 0 };
	size_t		 i;

	if (sz == 0)
		return 0;
	buf[0] = '\0';
	switch (oc->result) {
	case MT_DMARC_PERMERROR:
		addf(&o, "bad From: %s", fromhdr_status_text(oc->from_status) !=
		    NULL ? fromhdr_status_text(oc->from_status) : "unknown");
		return o.len;
	case MT_DMARC_TEMPERROR:
		addf(&o, "DNS temporary error%s%s",
		    oc->temperror_name[0] != '\0' ? " looking up " : "",
		    oc->temperror_name);
		if (!oc->have_record)
			return o.len;
		break;
	case MT_DMARC_NONE:
		addf(&o, "no DMARC record for %s", oc->from_domain);
		if (oc->notes & MT_DMARC_N_MULTIPLE)
			addf(&o, " (several records at one name, discarded)");
		if (oc->notes & MT_DMARC_N_INVALID)
			addf(&o, " (an invalid record discarded)");
		return o.len;
	default:
		break;
	}
	if (oc->n_dkim == 0) {
		clause(&o);
		addf(&o, "no DKIM signature");
	}
	for (i = 0; i < oc->n_dkim; i++)
		dkim_clause(&o, oc, &oc->dkim[i]);
	spf_clause(&o, oc);
	if (oc->result == MT_DMARC_FAIL && (oc->notes &
	    MT_DMARC_N_SAMPLED_OUT)) {
		clause(&o);
		addf(&o, "pct=%d sampled this message out: %s instead of %s",
		    oc->record.pct, policy_word(oc->disposition),
		    policy_word(oc->policy));
	} else if (oc->result == MT_DMARC_FAIL && (oc->notes &
	    MT_DMARC_N_TESTING)) {
		clause(&o);
		addf(&o, "t=y (testing): %s instead of %s",
		    policy_word(oc->disposition), policy_word(oc->policy));
	}
	return o.len;
}

int
dmarc_authres(const struct mt_dmarc_outcome *oc, char *buf, size_t sz)
{
	struct out	 o = { buf, sz, 0, 0 };
	char		 reason[512];

	if (sz == 0)
		return -1;
	buf[0] = '\0';
	addf(&o, "dmarc=%s", dmarc_result_name(oc->result));
	if (dmarc_reason_text(oc, reason, sizeof(reason)) > 0) {
		char	*p;

		/*
		 * RFC 8601 allows ';' in a quoted reason, but readers that
		 * split the header at ';' abound: the clauses are joined by
		 * ',' here (the journal keeps the words as they are).
		 */
		for (p = reason; (p = strchr(p, ';')) != NULL; p++)
			*p = ',';
		addf(&o, " reason=\"%s\"", reason);
	}
	if (oc->from_domain[0] != '\0')
		addf(&o, " header.from=%s", oc->from_domain);
	if (oc->have_record) {
		addf(&o, " polrec.p=%s", policy_word(oc->record.p));
		if (strcmp(oc->record_domain, oc->from_domain) != 0)
			addf(&o, " polrec.domain=%s", oc->record_domain);
		addf(&o, " policy.dmarc=%s", policy_word(oc->disposition));
	}
	return o.overflow ? -1 : (int)o.len;
}

const char *
dmarc_result_name(enum mt_dmarc_result r)
{
	switch (r) {
	case MT_DMARC_NONE:		return "none";
	case MT_DMARC_PASS:		return "pass";
	case MT_DMARC_FAIL:		return "fail";
	case MT_DMARC_TEMPERROR:	return "temperror";
	case MT_DMARC_PERMERROR:	return "permerror";
	}
	return NULL;
}

const char *
dmarc_policy_name(enum mt_dmarc_policy p)
{
	switch (p) {
	case MT_DMARC_P_UNSET:		return "unset";
	case MT_DMARC_P_NONE:		return "none";
	case MT_DMARC_P_QUARANTINE:	return "quarantine";
	case MT_DMARC_P_REJECT:		return "reject";
	}
	return NULL;
}

const char *
dmarc_policy_from_name(enum mt_dmarc_policy_from f)
{
	switch (f) {
	case MT_DMARC_FROM_NOTHING:	return "nothing";
	case MT_DMARC_FROM_P:		return "p";
	case MT_DMARC_FROM_SP:		return "sp";
	case MT_DMARC_FROM_NP:		return "np";
	}
	return NULL;
}

const char *
dmarc_align_name(enum mt_dmarc_align a)
{
	switch (a) {
	case MT_DMARC_ALIGN_NOT_CHECKED:	return "not-checked";
	case MT_DMARC_ALIGNED:			return "aligned";
	case MT_DMARC_ALIGN_NOT_PASS:		return "not-pass";
	case MT_DMARC_ALIGN_STRICT:		return "strict-mismatch";
	case MT_DMARC_ALIGN_ORG:		return "org-mismatch";
	case MT_DMARC_ALIGN_TEMPERROR:		return "temperror";
	}
	return NULL;
}

static const struct {
	enum mt_dmarc_reason	 r;
	const char		*name;
	const char		*words;
} reasons[MT_DMARC_R_COUNT] = {
	{ MT_DMARC_R_NO_AUTH, "no-auth",
	  "no valid DKIM signature and SPF not aligned" },
	{ MT_DMARC_R_DKIM_UNALIGNED, "dkim-unaligned",
	  "DKIM valid but not aligned with the From: domain" },
	{ MT_DMARC_R_SPF_UNALIGNED, "spf-unaligned",
	  "SPF passed but not aligned with the From: domain" },
	{ MT_DMARC_R_SPF_FAIL, "spf-fail", "SPF fail or softfail" },
	{ MT_DMARC_R_DKIM_BROKEN, "dkim-broken", "DKIM signature broken" },
	{ MT_DMARC_R_DNS_TEMPERROR, "dns-temperror",
	  "DNS temporary error" },
	{ MT_DMARC_R_STRICT, "strict-mismatch",
	  "strict alignment wants the exact From: domain" },
	{ MT_DMARC_R_BAD_FROM, "bad-from", "no usable From: domain" },
};

const char *
dmarc_reason_name(enum mt_dmarc_reason r)
{
	size_t	 i;

	for (i = 0; i < MT_DMARC_R_COUNT; i++)
		if (reasons[i].r == r)
			return reasons[i].name;
	return NULL;
}

const char *
dmarc_reason_words(enum mt_dmarc_reason r)
{
	size_t	 i;

	for (i = 0; i < MT_DMARC_R_COUNT; i++)
		if (reasons[i].r == r)
			return reasons[i].words;
	return NULL;
}
