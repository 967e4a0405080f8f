/*
 * dmarc.h - DMARC (RFC 7489, and RFC 9989 "DMARCbis" where they differ):
 * the policy record, policy discovery by DNS tree walk, identifier
 * alignment, and a verdict that explains itself.
 *
 * Three parts, usable alone:
 *   dmarc_record_parse()  one _dmarc TXT record (dmarc_record.c);
 *   dmarc_evaluate()      the From: domain plus our own SPF and DKIM
 *                         results -> one outcome (dmarc_eval.c), DNS through
 *                         struct mt_resolver under one deadline;
 *   dmarc_reason_text(), dmarc_authres()  the outcome in words and as an
 *                         Authentication-Results fragment (dmarc_text.c).
 *
 * mailtrail records and reports: the disposition is what a receiver would
 * apply, nothing here rejects.  The rules and why they are ours rather
 * than libopendmarc's: docs/dmarc.md.  No global state; thread-safe.
 */
#ifndef MAILTRAIL_DMARC_H
#define MAILTRAIL_DMARC_H

#include <stddef.h>
#include <stdint.h>

#include "mailtrail/dkimv.h"
#include "mailtrail/fromhdr.h"
#include "mailtrail/resolver.h"
#include "mailtrail/spf.h"

/* ------------------------------------------------------------ the record */

/* A TXT record longer than this (bytes, strings joined) is invalid. */
#define MT_DMARC_RECORD_MAX	2048
/* rua= / ruf= are kept as text, cut to this many bytes. */
#define MT_DMARC_URI_MAX	256

enum mt_dmarc_policy {
	MT_DMARC_P_UNSET = 0,		/* tag absent (or ignored) */
	MT_DMARC_P_NONE,
	MT_DMARC_P_QUARANTINE,
	MT_DMARC_P_REJECT
};

enum mt_dmarc_psd {
	MT_DMARC_PSD_U = 0,		/* absent or "u" */
	MT_DMARC_PSD_Y,
	MT_DMARC_PSD_N
};

/* Tags, as bits: which were seen, which were ignored for bad syntax. */
enum mt_dmarc_tag {
	MT_DMARC_TAG_P		= 1 << 0,
	MT_DMARC_TAG_SP		= 1 << 1,
	MT_DMARC_TAG_NP		= 1 << 2,
	MT_DMARC_TAG_PSD	= 1 << 3,
	MT_DMARC_TAG_T		= 1 << 4,
	MT_DMARC_TAG_ADKIM	= 1 << 5,
	MT_DMARC_TAG_ASPF	= 1 << 6,
	MT_DMARC_TAG_PCT	= 1 << 7,
	MT_DMARC_TAG_RUA	= 1 << 8,
	MT_DMARC_TAG_RUF	= 1 << 9,
	MT_DMARC_TAG_FO		= 1 << 10,
	MT_DMARC_TAG_RF		= 1 << 11,
	MT_DMARC_TAG_RI		= 1 << 12
};

struct mt_dmarc_record {
	enum mt_dmarc_policy p;		/* never UNSET in a valid record */
	int		 p_implied;	/* p= missing/bad, rua= valid: p=none */
	enum mt_dmarc_policy sp, np;	/* UNSET when absent or ignored */
	enum mt_dmarc_psd psd;
	int		 testing;	/* t=y (RFC 9989) */
	int		 adkim_strict;	/* adkim=s (default r) */
	int		 aspf_strict;	/* aspf=s (default r) */
	int		 pct;		/* pct= (RFC 7489 only), 100 if absent */
	char		 rua[MT_DMARC_URI_MAX];
	char		 ruf[MT_DMARC_URI_MAX];
	char		 fo[16];	/* "0" if absent */
	char		 rf[32];	/* "afrf" if absent */
	uint32_t	 ri;		/* 86400 if absent */
	unsigned	 seen;		/* MT_DMARC_TAG_* present and valid */
	unsigned	 ignored;	/* MT_DMARC_TAG_* present, bad, ignored
					   (or repeated: the first counts) */
	unsigned	 unknown;	/* unknown tags (ignored) */
};

enum mt_dmarc_rec_status {
	MT_DMARC_REC_OK = 0,
	MT_DMARC_REC_NOT_DMARC,		/* does not start "v=DMARC1": not ours */
	MT_DMARC_REC_INVALID		/* DMARC, but unusable (see err) */
};

/*
 * Parse one record (txt[0..len), the TXT strings joined).  rec is filled
 * on MT_DMARC_REC_OK; err (may be NULL) says why on the others.
 */
enum mt_dmarc_rec_status dmarc_record_parse(const char *txt, size_t len,
	    struct mt_dmarc_record *rec, char *err, size_t errlen);

/* ------------------------------------------------------------ evaluation */

/* At most this many DKIM signatures are evaluated (the first ones). */
#define MT_DMARC_MAX_SIGS	16
/* DNS queries one evaluation may make (tree walks, existence check). */
#define MT_DMARC_MAX_QUERIES	40

/* Why a DKIM signature failed, as the verifier says (for the reason). */
enum mt_dmarc_dkim_fail {
	MT_DMARC_DKIM_FAIL_OTHER = 0,
	MT_DMARC_DKIM_FAIL_BODY_HASH,	/* body changed: footers, forwarding */
	MT_DMARC_DKIM_FAIL_SIGNATURE	/* header signature does not verify */
};

struct mt_dmarc_dkim_in {
	const char	*domain;	/* d= (borrowed) */
	enum mt_dkim_result result;
	enum mt_dmarc_dkim_fail fail;	/* when result is MT_DKIM_FAIL */
};

struct mt_dmarc_in {
	enum mt_from_status from_status; /* from fromhdr_domain() */
	const char	*from_domain;	/* its domain, when from_status is OK */
	enum mt_spf_result spf;		/* SPF result for spf_domain */
	const char	*spf_domain;	/* MAIL FROM domain, or the HELO name
					   when MAIL FROM was <>; may be NULL */
	int		 spf_helo;	/* spf_domain is the HELO name */
	const struct mt_dmarc_dkim_in *dkim;	/* signatures (borrowed) */
	size_t		 n_dkim;
	unsigned	 sample;	/* 0..99: sampled in when sample < pct;
					   the caller draws it (tests force it) */
	int64_t		 deadline_us;	/* mt_mono_us() time; 0: none but the
					   resolver's own per query */
};

enum mt_dmarc_result {
	MT_DMARC_NONE = 0,
	MT_DMARC_PASS,
	MT_DMARC_FAIL,
	MT_DMARC_TEMPERROR,
	MT_DMARC_PERMERROR
};

/* How one identifier fared. */
enum mt_dmarc_align {
	MT_DMARC_ALIGN_NOT_CHECKED = 0,	/* no policy, or nothing to align */
	MT_DMARC_ALIGNED,
	MT_DMARC_ALIGN_NOT_PASS,	/* its own check did not pass */
	MT_DMARC_ALIGN_STRICT,		/* strict mode: not the same domain
					   (relaxed would have aligned) */
	MT_DMARC_ALIGN_ORG,		/* organizational domains differ */
	MT_DMARC_ALIGN_TEMPERROR	/* org domain unknown: DNS failed */
};

struct mt_dmarc_ident {
	char		 domain[256];	/* "" when absent */
	int		 result;	/* enum mt_spf_result / mt_dkim_result */
	enum mt_dmarc_dkim_fail fail;	/* DKIM fail kind */
	enum mt_dmarc_align align;
	char		 org[256];	/* its org domain, when it was needed */
};

/* Which tag of the record decided the policy, and why. */
enum mt_dmarc_policy_from {
	MT_DMARC_FROM_NOTHING = 0,	/* no record */
	MT_DMARC_FROM_P,		/* record at the From: domain, or no
					   sp=/np= for a subdomain */
	MT_DMARC_FROM_SP,		/* a subdomain of the record's domain */
	MT_DMARC_FROM_NP		/* a non-existent subdomain */
};

/* The failure classes (bits; several may hold). */
enum mt_dmarc_reason {
	MT_DMARC_R_NO_AUTH		= 1 << 0, /* no valid DKIM signature
						     and SPF not aligned */
	MT_DMARC_R_DKIM_UNALIGNED	= 1 << 1, /* DKIM valid, not aligned */
	MT_DMARC_R_SPF_UNALIGNED	= 1 << 2, /* SPF pass, not aligned */
	MT_DMARC_R_SPF_FAIL		= 1 << 3, /* SPF fail or softfail */
	MT_DMARC_R_DKIM_BROKEN		= 1 << 4, /* a DKIM signature failed */
	MT_DMARC_R_DNS_TEMPERROR	= 1 << 5, /* a DNS step failed */
	MT_DMARC_R_STRICT		= 1 << 6, /* strict-mode mismatch */
	MT_DMARC_R_BAD_FROM		= 1 << 7  /* no usable From: domain */
};
#define MT_DMARC_R_COUNT	8

/* Notes on the walk (bits). */
enum mt_dmarc_note {
	MT_DMARC_N_MULTIPLE	= 1 << 0, /* several records at one name:
					     all discarded */
	MT_DMARC_N_INVALID	= 1 << 1, /* an invalid record discarded */
	MT_DMARC_N_TRUNCATED	= 1 << 2, /* over MT_DMARC_MAX_SIGS, or out
					     of queries */
	MT_DMARC_N_SAMPLED_OUT	= 1 << 3, /* pct= left this message out */
	MT_DMARC_N_TESTING	= 1 << 4  /* t=y lowered the policy */
};

/*
 * The outcome.  About 10 KB with the records: allocate it, do not put it on
 * a milter thread's stack.  Strings are NUL-terminated, "" when unknown.
 */
struct mt_dmarc_outcome {
	enum mt_dmarc_result result;
	enum mt_from_status from_status;
	char		 from_domain[256];
	int		 have_record;
	struct mt_dmarc_record record;	/* when have_record */
	char		 record_domain[256];	/* where it was found */
	char		 org_domain[256];	/* of the From: domain */
	enum mt_dmarc_policy_from policy_from;
	enum mt_dmarc_policy policy;	/* what that tag asks */
	int		 from_exists;	/* 1, 0 (NXDOMAIN or no A/AAAA/MX),
					   -1 not checked */
	int		 adkim_strict, aspf_strict;
	int		 sampled_in;	/* 1 unless pct= left it out */
	enum mt_dmarc_policy disposition; /* what a receiver would apply:
					   NONE unless result is FAIL */
	struct mt_dmarc_ident spf;
	int		 spf_helo;	/* spf.domain is the HELO name */
	struct mt_dmarc_ident dkim[MT_DMARC_MAX_SIGS];
	size_t		 n_dkim;
	unsigned	 reasons;	/* MT_DMARC_R_* (fail, temperror,
					   permerror) */
	unsigned	 notes;		/* MT_DMARC_N_* */
	char		 temperror_name[256]; /* the name a DNS step failed on */
	unsigned	 queries;	/* DNS queries made */
};

/*
 * Evaluate.  r is borrowed (the table resolver in tests).  Fills out and
 * returns out->result.  Never fails: memory exhaustion is a temperror.
 */
enum mt_dmarc_result dmarc_evaluate(struct mt_resolver *r,
	    const struct mt_dmarc_in *in, struct mt_dmarc_outcome *out);

/* ------------------------------------------------------------ words */

/*
 * The outcome in words, one clause per identifier, e.g. "DKIM valid but
 * signed by esp.example (not aligned with example.com); SPF passed for
 * bounces.esp.example, not aligned".  Domains are written only when they
 * are plain DNS names.  Returns the length, cut to fit outsz.
 */
size_t	 dmarc_reason_text(const struct mt_dmarc_outcome *o, char *out,
	    size_t outsz);

/*
 * The Authentication-Results resinfo for DMARC (RFC 8601, RFC 9989):
 * 'dmarc=fail reason="..." header.from=example.com polrec.p=reject
 * polrec.domain=example.com policy.dmarc=quarantine', with every value a
 * token or a quoted string that authres_parse() reads back.  Returns the
 * length, or -1 when it does not fit.
 */
int	 dmarc_authres(const struct mt_dmarc_outcome *o, char *out,
	    size_t outsz);

/* Closed vocabularies, for storage and output. */
const char *dmarc_result_name(enum mt_dmarc_result r);	/* "pass", ... */
const char *dmarc_policy_name(enum mt_dmarc_policy p);	/* "reject", ...*/
const char *dmarc_policy_from_name(enum mt_dmarc_policy_from f); /* "sp" */
const char *dmarc_align_name(enum mt_dmarc_align a);	/* "strict", ... */
const char *dmarc_reason_name(enum mt_dmarc_reason r);	/* one bit */
const char *dmarc_reason_words(enum mt_dmarc_reason r);	/* one bit */

#endif
