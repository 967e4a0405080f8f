/*
 * dmarc_eval.c - DMARC evaluation: policy discovery, organizational domain
 * and alignment by the RFC 9989 DNS tree walk, result and disposition.
 *
 * Why our own evaluator and not libopendmarc (Debian 1.4.2): that library
 * ignores pct=, turns a DNS temperror on _dmarc into "none", passes strict
 * alignment for a subdomain when a public suffix list is loaded, keeps one
 * "best" DKIM result instead of every signature, has no per-query deadline
 * (blocking res_nquery), writes through NULL in fetch_ruf (CVE-2024-25768)
 * and knows nothing of RFC 9989 (tree walk, np=, psd=, t=).  Covering
 * every one of those would leave little of it in use; the evaluator is a
 * few hundred lines over our resolver, which already has deadlines and a
 * table implementation for tests.
 *
 * The walk (RFC 9989 section 4.10): query _dmarc.<name>; then drop labels
 * from the left, one at a time, except that a name of 8 or more labels is
 * first cut to its 7 rightmost labels; stop at the last label.  So at most
 * 8 queries per name; answers are kept for the whole evaluation (the From:
 * domain's walk and the walks for the identifiers overlap), never beyond.
 *   - Policy: the first name on the walk with exactly one valid record.
 *   - Organizational domain of a name: the first record with psd=n on its
 *     walk is at the org domain; a record with psd=y (not at the name
 *     itself) puts it one label below that record's name; otherwise the
 *     name on the walk with the fewest labels that has a record; without
 *     any record, the name itself.
 * A DNS failure (timeout, SERVFAIL, a malformed answer, the query budget
 * spent) at any step that matters is temperror, never "none": none is only
 * NXDOMAIN or no record.
 *
 * Thread-safe: all state is in the evaluation.
 */
#include <arpa/nameser.h>
#include <ctype.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailtrail/clock.h"
#include "mailtrail/dmarc.h"

#define WALK_MAX_LABELS	8	/* a longer name is cut to 7 labels first */
#define ANSWER_MAX	8192

enum lookup_state {
	L_NONE = 0,		/* NXDOMAIN, no record, or discarded ones */
	L_RECORD,
	L_TEMP
};

struct lookup {
	char			 name[256];	/* the domain, without _dmarc */
	enum lookup_state	 state;
	struct mt_dmarc_record	 rec;
};

struct ev {
	struct mt_resolver	*r;
	const struct mt_dmarc_in *in;
	struct mt_dmarc_outcome	*out;
	struct lookup		 cache[MT_DMARC_MAX_QUERIES];
	size_t			 n_cache;
	unsigned char		 answer[ANSWER_MAX];
	char			 txt[MT_DMARC_RECORD_MAX + 2];
};

/* ------------------------------------------------------------ names */

/*
 * Normalise an identifier into dst (lowercase, one trailing dot removed).
 * 0 when it is a DNS name of LDH (and '_') labels, -1 otherwise.
 */
static int
norm_name(char *dst, size_t dstsz, const char *src)
{
	size_t	 len, i, label = 0;

	dst[0] = '\0';
	if (src == NULL || (len = strlen(src)) == 0)
		return -1;
	if (src[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || len >= dstsz)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return -1;
		} else
			return -1;
		dst[i] = (char)tolower(c);
	}
	if (label == 0)
		return -1;
	dst[len] = '\0';
	return 0;
}

static size_t
count_labels(const char *d)
{
	size_t	 n = 1;

	for (; *d != '\0'; d++)
		if (*d == '.')
			n++;
	return n;
}

/* The rightmost k labels of d (k >= 1). */
static const char *
rightmost(const char *d, size_t k)
{
	size_t	 n = count_labels(d);

	while (n > k) {
		d = strchr(d, '.') + 1;
		n--;
	}
	return d;
}

/* The next name on the walk after d, or NULL after the last label. */
static const char *
walk_next(const char *d)
{
	size_t	 n = count_labels(d);

	if (n <= 1)
		return NULL;
	if (n >= WALK_MAX_LABELS)
		return rightmost(d, WALK_MAX_LABELS - 1);
	return strchr(d, '.') + 1;
}

/* The last label of a and b is the same (else no org domain is shared). */
static int
same_tld(const char *a, const char *b)
{
	return strcmp(rightmost(a, 1), rightmost(b, 1)) == 0;
}

/* d is under parent, or is parent. */
static int
under(const char *d, const char *parent)
{
	size_t	 dl = strlen(d), pl = strlen(parent);

	if (dl == pl)
		return strcmp(d, parent) == 0;
	return dl > pl && d[dl - pl - 1] == '.' &&
	    strcmp(d + dl - pl, parent) == 0;
}

/* ------------------------------------------------------------ DNS */

/* An owner name from the answer, lowercased, no trailing dot. */
static void
owner_name(const char *src, char *dst, size_t dstsz)
{
	size_t	 i;

	for (i = 0; src[i] != '\0' && i + 1 < dstsz; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	if (i > 0 && dst[i - 1] == '.')
		i--;
	dst[i] = '\0';
}

/*
 * Query name/type.  Returns the status and fills msg on MT_DNS_OK; a
 * malformed answer, an exhausted budget or a passed deadline count as
 * SERVFAIL / TIMEOUT (temporary: the next message may fare better).
 */
static enum mt_dns_status
query(struct ev *e, const char *name, int type, ns_msg *msg)
{
	enum mt_dns_status st;
	size_t		 len = 0;

	if (e->out->queries >= MT_DMARC_MAX_QUERIES) {
		e->out->notes |= MT_DMARC_N_TRUNCATED;
		return MT_DNS_SERVFAIL;
	}
	if (e->in->deadline_us != 0 && mt_mono_us() >= e->in->deadline_us)
		return MT_DNS_TIMEOUT;
	e->out->queries++;
	st = resolver_query(e->r, name, type, e->answer, sizeof(e->answer),
	    &len, e->in->deadline_us);
	if (st == MT_DNS_OK && ns_initparse(e->answer, (int)len, msg) < 0)
		return MT_DNS_SERVFAIL;
	return st;
}

/*
 * The final name of the CNAME chain that starts at qname in the answer
 * (the resolver follows CNAMEs and returns the chain, as a recursive
 * server does).  cur holds qname on entry.
 */
static int
follow_cnames(ns_msg *msg, char *cur, size_t cursz)
{
	ns_rr		 rr;
	char		 owner[NS_MAXDNAME], target[NS_MAXDNAME];
	int		 i, count = ns_msg_count(*msg, ns_s_an), hops, moved;

	for (hops = 0; hops < 16; hops++) {
		moved = 0;
		for (i = 0; i < count; i++) {
			if (ns_parserr(msg, ns_s_an, i, &rr) < 0)
				return -1;
			if (ns_rr_type(rr) != ns_t_cname)
				continue;
			owner_name(ns_rr_name(rr), owner, sizeof(owner));
			if (strcmp(owner, cur) != 0)
				continue;
			if (ns_name_uncompress(ns_msg_base(*msg),
			    ns_msg_end(*msg), ns_rr_rdata(rr), target,
			    sizeof(target)) < 0)
				return -1;
			owner_name(target, cur, cursz);
			moved = 1;
			break;
		}
		if (!moved)
			return 0;
	}
	return -1;
}

/* Join one TXT rdata's strings into e->txt; its length, or -1. */
static long
txt_join(struct ev *e, const unsigned char *rd, size_t rdlen)
{
	size_t	 i = 0, o = 0, n;

	while (i < rdlen) {
		n = rd[i++];
		if (n > rdlen - i)
			return -1;
		if (o + n > MT_DMARC_RECORD_MAX + 1)
			n = MT_DMARC_RECORD_MAX + 1 - o;	/* too long */
		memcpy(e->txt + o, rd + i, n);
		o += n;
		i += rd[i - 1];
	}
	e->txt[o] = '\0';
	return (long)o;
}

/* The _dmarc record(s) of a domain, asked once per evaluation. */
static const struct lookup *
lookup(struct ev *e, const char *domain)
{
	struct lookup	*l;
	struct mt_dmarc_record rec;
	ns_msg		 msg;
	ns_rr		 rr;
	enum mt_dns_status st;
	enum mt_dmarc_rec_status rs;
	char		 qname[NS_MAXDNAME], final[NS_MAXDNAME];
	char		 owner[NS_MAXDNAME];
	size_t		 i;
	int		 count, n_dmarc = 0, n_valid = 0, k;
	long		 len;

	for (i = 0; i < e->n_cache; i++)
		if (strcmp(e->cache[i].name, domain) == 0)
			return &e->cache[i];
	if (e->n_cache == MT_DMARC_MAX_QUERIES) {
		static const struct lookup spent = { .state = L_TEMP };

		e->out->notes |= MT_DMARC_N_TRUNCATED;
		return &spent;
	}
	l = &e->cache[e->n_cache++];
	memset(l, 0, sizeof(*l));
	memcpy(l->name, domain, strlen(domain) + 1);	/* <= 253 */
	if (strlen(domain) + 7 > 253) {		/* no such name can exist */
		l->state = L_NONE;
		return l;
	}
	memcpy(qname, "_dmarc.", 7);
	memcpy(qname + 7, domain, strlen(domain) + 1);
	st = query(e, qname, ns_t_txt, &msg);
	if (st == MT_DNS_NXDOMAIN) {
		l->state = L_NONE;
		return l;
	}
	if (st != MT_DNS_OK) {
		l->state = L_TEMP;
		return l;
	}
	memcpy(final, qname, strlen(qname) + 1);
	if (follow_cnames(&msg, final, sizeof(final)) != 0) {
		l->state = L_TEMP;
		return l;
	}
	count = ns_msg_count(msg, ns_s_an);
	for (k = 0; k < count; k++) {
		if (ns_parserr(&msg, ns_s_an, k, &rr) < 0) {
			l->state = L_TEMP;
			return l;
		}
		if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in)
			continue;
		owner_name(ns_rr_name(rr), owner, sizeof(owner));
		if (strcmp(owner, final) != 0)
			continue;
		if ((len = txt_join(e, ns_rr_rdata(rr), ns_rr_rdlen(rr))) < 0)
			continue;
		rs = dmarc_record_parse(e->txt, (size_t)len, &rec, NULL, 0);
		if (rs == MT_DMARC_REC_NOT_DMARC)
			continue;
		n_dmarc++;
		if (rs == MT_DMARC_REC_OK) {
			n_valid++;
			l->rec = rec;
		}
	}
	if (n_dmarc > 1) {
		e->out->notes |= MT_DMARC_N_MULTIPLE;
		l->state = L_NONE;
	} else if (n_dmarc == 1 && n_valid == 0) {
		e->out->notes |= MT_DMARC_N_INVALID;
		l->state = L_NONE;
	} else
		l->state = n_valid == 1 ? L_RECORD : L_NONE;
	return l;
}

static void
note_temp(struct ev *e, const char *domain)
{
	char	*t = e->out->temperror_name;

	if (t[0] == '\0' && strlen(domain) + 7 < sizeof(e->out->temperror_name)) {
		memcpy(t, "_dmarc.", 7);
		memcpy(t + 7, domain, strlen(domain) + 1);
	}
}

/*
 * The organizational domain of d into org.  0, or -1 on a DNS failure
 * (the name it failed on is noted).
 */
static int
org_domain(struct ev *e, const char *d, char *org, size_t orgsz)
{
	const char	*t, *best = NULL;
	const struct lookup *l;

	for (t = d; t != NULL; t = walk_next(t)) {
		l = lookup(e, t);
		if (l->state == L_TEMP) {
			note_temp(e, t);
			return -1;
		}
		if (l->state != L_RECORD)
			continue;
		if (l->rec.psd == MT_DMARC_PSD_N) {
			best = t;
			break;
		}
		if (l->rec.psd == MT_DMARC_PSD_Y && t != d) {
			best = rightmost(d, count_labels(t) + 1);
			break;
		}
		best = t;
		if (l->rec.psd == MT_DMARC_PSD_Y)
			break;			/* psd=y at d itself: stop */
	}
	if (best == NULL)
		best = d;
	if (strlen(best) >= orgsz)
		return -1;
	memcpy(org, best, strlen(best) + 1);
	return 0;
}

/*
 * Existence of the From: domain for np= (RFC 9989: NXDOMAIN, or no A, AAAA
 * and MX records).  1 exists, 0 does not, -1 DNS failure.
 */
static int
domain_exists(struct ev *e, const char *d)
{
	static const int types[] = { ns_t_a, ns_t_aaaa, ns_t_mx };
	ns_msg		 msg;
	ns_rr		 rr;
	size_t		 i;
	int		 k, count;
	enum mt_dns_status st;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		st = query(e, d, types[i], &msg);
		if (st == MT_DNS_NXDOMAIN)
			return 0;
		if (st != MT_DNS_OK) {
			if (e->out->temperror_name[0] == '\0' &&
			    strlen(d) < sizeof(e->out->temperror_name))
				memcpy(e->out->temperror_name, d,
				    strlen(d) + 1);
			return -1;
		}
		count = ns_msg_count(msg, ns_s_an);
		for (k = 0; k < count; k++)
			if (ns_parserr(&msg, ns_s_an, k, &rr) == 0 &&
			    (int)ns_rr_type(rr) == types[i])
				return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ alignment */

static enum mt_dmarc_align
align(struct ev *e, struct mt_dmarc_ident *id, int strict, int from_org_ok)
{
	const char	*from = e->out->from_domain;

	if (strcmp(id->domain, from) == 0)
		return MT_DMARC_ALIGNED;
	if (id->domain[0] == '\0' || !same_tld(id->domain, from))
		return MT_DMARC_ALIGN_ORG;
	if (!from_org_ok)
		return MT_DMARC_ALIGN_TEMPERROR;
	/*
	 * An org domain is the name itself or one of its parents, so the two
	 * can only be equal when id is at or under the From: domain's org
	 * domain.  Deciding that without DNS also keeps signatures from
	 * unrelated domains (which anyone can add) from spending the query
	 * budget and turning a fail into a temperror.
	 */
	if (!under(id->domain, e->out->org_domain))
		return MT_DMARC_ALIGN_ORG;
	if (org_domain(e, id->domain, id->org, sizeof(id->org)) != 0)
		return MT_DMARC_ALIGN_TEMPERROR;
	if (strcmp(id->org, e->out->org_domain) != 0)
		return MT_DMARC_ALIGN_ORG;
	return strict ? MT_DMARC_ALIGN_STRICT : MT_DMARC_ALIGNED;
}

static enum mt_dmarc_policy
lower(enum mt_dmarc_policy p)
{
	if (p == MT_DMARC_P_REJECT)
		return MT_DMARC_P_QUARANTINE;
	if (p == MT_DMARC_P_QUARANTINE)
		return MT_DMARC_P_NONE;
	return p;
}

/* Which tag applies to the From: domain (record at e->out->record_domain). */
static int
choose_policy(struct ev *e, int org_ok)
{
	struct mt_dmarc_outcome *o = e->out;
	const struct mt_dmarc_record *rec = &o->record;
	int		 org_under_psd;

	o->from_exists = -1;
	if (strcmp(o->record_domain, o->from_domain) == 0) {
		o->policy_from = MT_DMARC_FROM_P;
		o->policy = rec->p;
		return 0;
	}
	/* A record at a public suffix (psd=y): its p= is for the org domains
	 * right below it, sp= for their subdomains (RFC 9091, RFC 9989). */
	org_under_psd = rec->psd == MT_DMARC_PSD_Y && org_ok &&
	    strcmp(o->org_domain, o->from_domain) == 0;
	if (rec->np != MT_DMARC_P_UNSET) {
		if ((o->from_exists = domain_exists(e, o->from_domain)) < 0)
			return -1;
		if (o->from_exists == 0) {
			o->policy_from = MT_DMARC_FROM_NP;
			o->policy = rec->np;
			return 0;
		}
	}
	if (rec->sp != MT_DMARC_P_UNSET && !org_under_psd) {
		o->policy_from = MT_DMARC_FROM_SP;
		o->policy = rec->sp;
	} else {
		o->policy_from = MT_DMARC_FROM_P;
		o->policy = rec->p;
	}
	return 0;
}

/* An identifier's domain, normalised; "" when absent or not a DNS name. */
static void
copy_ident_domain(struct mt_dmarc_ident *id, const char *d)
{
	if (norm_name(id->domain, sizeof(id->domain), d) != 0)
		id->domain[0] = '\0';
}

enum mt_dmarc_result
dmarc_evaluate(struct mt_resolver *r, const struct mt_dmarc_in *in,
    struct mt_dmarc_outcome *out)
{
	struct ev	*e;
	const struct lookup *l = NULL;
	const char	*t;
	size_t		 i;
	int		 org_ok, any_aligned = 0, any_temp = 0, dkim_valid = 0;
	unsigned	 pct, sample;

	memset(out, 0, sizeof(*out));
	out->from_status = in->from_status;
	out->from_exists = -1;
	out->sampled_in = 1;
	out->disposition = MT_DMARC_P_NONE;
	out->spf.result = in->spf;
	out->spf_helo = in->spf_helo != 0;
	copy_ident_domain(&out->spf, in->spf_domain);
	out->n_dkim = in->n_dkim;
	if (out->n_dkim > MT_DMARC_MAX_SIGS) {
		out->n_dkim = MT_DMARC_MAX_SIGS;
		out->notes |= MT_DMARC_N_TRUNCATED;
	}
	for (i = 0; i < out->n_dkim; i++) {
		out->dkim[i].result = in->dkim[i].result;
		out->dkim[i].fail = in->dkim[i].fail;
		copy_ident_domain(&out->dkim[i], in->dkim[i].domain);
	}

	/* 1. One From: domain, or permerror. */
	if (in->from_status != MT_FROM_OK || norm_name(out->from_domain,
	    sizeof(out->from_domain), in->from_domain) != 0) {
		if (out->from_status == MT_FROM_OK)
			out->from_status = MT_FROM_BAD_DOMAIN;
		out->from_domain[0] = '\0';
		out->result = MT_DMARC_PERMERROR;
		out->reasons = MT_DMARC_R_BAD_FROM;
		return out->result;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		out->result = MT_DMARC_TEMPERROR;
		out->reasons = MT_DMARC_R_DNS_TEMPERROR;
		return out->result;
	}
	e->r = r;
	e->in = in;
	e->out = out;

	/* 2. Policy discovery: the first record on the walk. */
	for (t = out->from_domain; t != NULL; t = walk_next(t)) {
		l = lookup(e, t);
		if (l->state == L_TEMP) {
			note_temp(e, t);
			out->result = MT_DMARC_TEMPERROR;
			out->reasons = MT_DMARC_R_DNS_TEMPERROR;
			goto done;
		}
		if (l->state == L_RECORD)
			break;
	}
	if (t == NULL) {
		out->result = MT_DMARC_NONE;
		goto done;
	}
	out->have_record = 1;
	out->record = l->rec;
	memcpy(out->record_domain, t, strlen(t) + 1);
	out->adkim_strict = out->record.adkim_strict;
	out->aspf_strict = out->record.aspf_strict;

	/* 3. The org domain of the From: domain (for relaxed alignment). */
	org_ok = org_domain(e, out->from_domain, out->org_domain,
	    sizeof(out->org_domain)) == 0;
	if (!org_ok)
		out->org_domain[0] = '\0';

	/* 4. Alignment of every identifier that passed its own check. */
	if (out->spf.result != MT_SPF_PASS)
		out->spf.align = MT_DMARC_ALIGN_NOT_PASS;
	else
		out->spf.align = align(e, &out->spf, out->aspf_strict, org_ok);
	for (i = 0; i < out->n_dkim; i++) {
		if (out->dkim[i].result != MT_DKIM_PASS) {
			out->dkim[i].align = MT_DMARC_ALIGN_NOT_PASS;
			continue;
		}
		dkim_valid = 1;
		out->dkim[i].align = align(e, &out->dkim[i],
		    out->adkim_strict, org_ok);
	}
	any_aligned = out->spf.align == MT_DMARC_ALIGNED;
	any_temp = out->spf.align == MT_DMARC_ALIGN_TEMPERROR;
	for (i = 0; i < out->n_dkim; i++) {
		any_aligned |= out->dkim[i].align == MT_DMARC_ALIGNED;
		any_temp |= out->dkim[i].align == MT_DMARC_ALIGN_TEMPERROR;
	}

	/* 5. The policy that applies, and pct= / t=. */
	if (choose_policy(e, org_ok) != 0 && !any_aligned) {
		out->result = MT_DMARC_TEMPERROR;
		out->reasons = MT_DMARC_R_DNS_TEMPERROR;
		goto done;
	}
	pct = (unsigned)out->record.pct;
	sample = in->sample % 100;
	out->sampled_in = sample < pct;

	if (any_aligned) {
		out->result = MT_DMARC_PASS;
		goto done;
	}
	if (any_temp) {
		out->result = MT_DMARC_TEMPERROR;
		out->reasons = MT_DMARC_R_DNS_TEMPERROR;
		goto done;
	}
	out->result = MT_DMARC_FAIL;
	out->disposition = out->policy;
	if (!out->sampled_in) {
		out->notes |= MT_DMARC_N_SAMPLED_OUT;
		out->disposition = lower(out->policy);
	} else if (out->record.testing) {
		out->notes |= MT_DMARC_N_TESTING;
		out->disposition = lower(out->policy);
	}

	/* 6. Why, in classes. */
	if (!dkim_valid && out->spf.align != MT_DMARC_ALIGNED)
		out->reasons |= MT_DMARC_R_NO_AUTH;
	if (out->spf.align == MT_DMARC_ALIGN_ORG)
		out->reasons |= MT_DMARC_R_SPF_UNALIGNED;
	if (out->spf.align == MT_DMARC_ALIGN_STRICT)
		out->reasons |= MT_DMARC_R_STRICT;
	if (out->spf.result == MT_SPF_FAIL || out->spf.result == MT_SPF_SOFTFAIL)
		out->reasons |= MT_DMARC_R_SPF_FAIL;
	for (i = 0; i < out->n_dkim; i++) {
		if (out->dkim[i].align == MT_DMARC_ALIGN_ORG)
			out->reasons |= MT_DMARC_R_DKIM_UNALIGNED;
		if (out->dkim[i].align == MT_DMARC_ALIGN_STRICT)
			out->reasons |= MT_DMARC_R_STRICT;
		if (out->dkim[i].result == MT_DKIM_FAIL)
			out->reasons |= MT_DMARC_R_DKIM_BROKEN;
	}
done:
	free(e);
	return out->result;
}
