/*
 * test_dmarc.c - DMARC: the record parser (a table of records), and the
 * evaluator against a table resolver: pass via DKIM and via SPF, fail under
 * each policy, sp= and np=, the RFC 9989 tree walk (8-label cut, org domain,
 * psd=), relaxed and strict alignment with subdomains, pct= and t= with the
 * sample forced, DNS timeouts as temperror, a CNAME'd _dmarc, two records,
 * invalid records, unknown tags, an ESP signing as itself, bad From:; the
 * reason in words and the Authentication-Results fragment read back by our
 * own parser.
 */
#include <arpa/nameser.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mailtrail/authres.h"
#include "mailtrail/clock.h"
#include "mailtrail/dmarc.h"
#include "mailtrail/resolver.h"

/* ------------------------------------------------------------ records */

struct rec_case {
	const char		*name;
	const char		*txt;
	enum mt_dmarc_rec_status want;
	enum mt_dmarc_policy	 p, sp, np;
	int			 pct;
	unsigned		 ignored;
	unsigned		 unknown;
};

#define P_N	MT_DMARC_P_NONE
#define P_Q	MT_DMARC_P_QUARANTINE
#define P_R	MT_DMARC_P_REJECT
#define P_U	MT_DMARC_P_UNSET
#define R_OK	MT_DMARC_REC_OK
#define R_NOT	MT_DMARC_REC_NOT_DMARC
#define R_BAD	MT_DMARC_REC_INVALID

static const struct rec_case rec_cases[] = {
	{ "minimal", "v=DMARC1; p=none", R_OK, P_N, P_U, P_U, 100, 0, 0 },
	{ "no space, final ;", "v=DMARC1;p=reject;", R_OK, P_R, P_U, P_U, 100,
	  0, 0 },
	{ "white space around =", "v = DMARC1 ; p = quarantine ", R_OK, P_Q,
	  P_U, P_U, 100, 0, 0 },
	{ "all policies", "v=DMARC1; p=reject; sp=quarantine; np=none", R_OK,
	  P_R, P_Q, P_N, 100, 0, 0 },
	{ "policy value case", "v=DMARC1; p=REJECT", R_OK, P_R, P_U, P_U, 100,
	  0, 0 },
	{ "pct", "v=DMARC1; p=reject; pct=50", R_OK, P_R, P_U, P_U, 50, 0, 0 },
	{ "pct 0", "v=DMARC1; p=reject; pct=0", R_OK, P_R, P_U, P_U, 0, 0, 0 },
	{ "pct over 100 ignored", "v=DMARC1; p=reject; pct=101", R_OK, P_R,
	  P_U, P_U, 100, MT_DMARC_TAG_PCT, 0 },
	{ "pct not a number ignored", "v=DMARC1; p=reject; pct=5x", R_OK, P_R,
	  P_U, P_U, 100, MT_DMARC_TAG_PCT, 0 },
	{ "unknown tags ignored", "v=DMARC1; p=reject; foo=bar; x; zz=1",
	  R_OK, P_R, P_U, P_U, 100, 0, 3 },
	{ "bad sp ignored", "v=DMARC1; p=reject; sp=maybe", R_OK, P_R, P_U,
	  P_U, 100, MT_DMARC_TAG_SP, 0 },
	{ "bad adkim ignored", "v=DMARC1; p=reject; adkim=x", R_OK, P_R, P_U,
	  P_U, 100, MT_DMARC_TAG_ADKIM, 0 },
	{ "repeated p: first counts", "v=DMARC1; p=reject; p=none", R_OK,
	  P_R, P_U, P_U, 100, MT_DMARC_TAG_P, 0 },
	{ "no p but valid rua: none", "v=DMARC1; rua=mailto:d@example.com",
	  R_OK, P_N, P_U, P_U, 100, 0, 0 },
	{ "bad p but valid rua: none",
	  "v=DMARC1; p=bogus; rua=mailto:d@example.com", R_OK, P_N, P_U, P_U,
	  100, MT_DMARC_TAG_P, 0 },
	{ "bad p, bad rua: invalid", "v=DMARC1; p=bogus; rua=nothing", R_BAD,
	  P_U, P_U, P_U, 100, 0, 0 },
	{ "no p: invalid", "v=DMARC1; sp=reject", R_BAD, P_U, P_U, P_U, 100,
	  0, 0 },
	{ "v not first", "p=reject; v=DMARC1", R_NOT, P_U, P_U, P_U, 100, 0,
	  0 },
	{ "v lowercase value", "v=dmarc1; p=reject", R_NOT, P_U, P_U, P_U,
	  100, 0, 0 },
	{ "v=DMARC10", "v=DMARC10; p=reject", R_NOT, P_U, P_U, P_U, 100, 0,
	  0 },
	{ "SPF record", "v=spf1 -all", R_NOT, P_U, P_U, P_U, 100, 0, 0 },
	{ "empty", "", R_NOT, P_U, P_U, P_U, 100, 0, 0 },
	{ "version only", "v=DMARC1", R_BAD, P_U, P_U, P_U, 100, 0, 0 },
};

static void
test_record_cases(void **state)
{
	struct mt_dmarc_record	 rec;
	enum mt_dmarc_rec_status got;
	char			 err[128];
	size_t			 i;
	int			 failed = 0;

	(void)state;
	for (i = 0; i < sizeof(rec_cases) / sizeof(rec_cases[0]); i++) {
		const struct rec_case *c = &rec_cases[i];

		got = dmarc_record_parse(c->txt, strlen(c->txt), &rec, err,
		    sizeof(err));
		if (got != c->want) {
			print_error("%s: got status %d (%s), want %d\n",
			    c->name, got, err, c->want);
			failed++;
			continue;
		}
		if (got != R_OK)
			continue;
		if (rec.p != c->p || rec.sp != c->sp || rec.np != c->np ||
		    rec.pct != c->pct || rec.ignored != c->ignored ||
		    rec.unknown != c->unknown) {
			print_error("%s: got p=%d sp=%d np=%d pct=%d ignored=%#x "
			    "unknown=%u, want %d %d %d %d %#x %u\n", c->name,
			    rec.p, rec.sp, rec.np, rec.pct, rec.ignored,
			    rec.unknown, c->p, c->sp, c->np, c->pct,
			    c->ignored, c->unknown);
			failed++;
		}
	}
	if (failed)
		fail_msg("%d record cases failed", failed);
}

static void
test_record_fields(void **state)
{
	struct mt_dmarc_record	 rec;
	static const char txt[] = "v=DMARC1; p=quarantine; sp=reject; np=reject;"
	    " psd=n; t=y; adkim=s; aspf=r; pct=20; "
	    "rua=mailto:a@example.com,mailto:b@example.net!10m; "
	    "ruf=mailto:f@example.com; fo=1:d; rf=afrf; ri=3600";

	(void)state;
	assert_int_equal(dmarc_record_parse(txt, strlen(txt), &rec, NULL, 0),
	    MT_DMARC_REC_OK);
	assert_int_equal(rec.psd, MT_DMARC_PSD_N);
	assert_int_equal(rec.testing, 1);
	assert_int_equal(rec.adkim_strict, 1);
	assert_int_equal(rec.aspf_strict, 0);
	assert_int_equal(rec.pct, 20);
	assert_string_equal(rec.rua,
	    "mailto:a@example.com,mailto:b@example.net!10m");
	assert_string_equal(rec.ruf, "mailto:f@example.com");
	assert_string_equal(rec.fo, "1:d");
	assert_int_equal(rec.ri, 3600);
	assert_int_equal(rec.ignored, 0);
	/* defaults */
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=none", 16, &rec, NULL,
	    0), MT_DMARC_REC_OK);
	assert_int_equal(rec.psd, MT_DMARC_PSD_U);
	assert_int_equal(rec.testing, 0);
	assert_int_equal(rec.adkim_strict, 0);
	assert_int_equal(rec.ri, 86400);
	assert_string_equal(rec.fo, "0");
	assert_string_equal(rec.rf, "afrf");
	/* the length cap */
	{
		char	*big = malloc(MT_DMARC_RECORD_MAX + 32);

		assert_non_null(big);
		memset(big, ' ', MT_DMARC_RECORD_MAX + 31);
		memcpy(big, "v=DMARC1; p=reject;", 19);
		big[MT_DMARC_RECORD_MAX + 31] = '\0';
		assert_int_equal(dmarc_record_parse(big, strlen(big), &rec,
		    NULL, 0), MT_DMARC_REC_INVALID);
		free(big);
	}
}

/* ------------------------------------------------------------ the zone */

static const struct {
	const char	*name;
	int		 type;
	const char	*rdata;
} zone[] = {
	{ "_dmarc.example.com", ns_t_txt,
	  "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com" },
	{ "example.com", ns_t_a, "192.0.2.1" },
	{ "mail.example.com", ns_t_a, "192.0.2.2" },
	{ "_dmarc.none.example", ns_t_txt, "v=DMARC1; p=none" },
	{ "_dmarc.quarantine.example", ns_t_txt, "v=DMARC1; p=quarantine" },
	/* np= */
	{ "_dmarc.np.example", ns_t_txt, "v=DMARC1; p=none; sp=none; np=reject" },
	{ "www.np.example", ns_t_aaaa, "2001:db8::1" },
	{ "mx.np.example", ns_t_mx, "10 mail.example.com" },
	{ "txtonly.np.example", ns_t_txt, "hello" },
	{ "_dmarc.npslow.example", ns_t_txt, "v=DMARC1; p=none; np=reject" },
	{ "x.npslow.example", ns_t_a, "TIMEOUT" },
	/* the tree walk */
	{ "_dmarc.walk.example", ns_t_txt, "v=DMARC1; p=quarantine" },
	/* psd=y: org domains sit right below psd.example */
	{ "_dmarc.psd.example", ns_t_txt, "v=DMARC1; p=reject; psd=y" },
	{ "_dmarc.nopsd.example", ns_t_txt, "v=DMARC1; p=reject" },
	/* strict */
	{ "_dmarc.strict.example", ns_t_txt,
	  "v=DMARC1; p=reject; adkim=s; aspf=s" },
	/* pct= and t= */
	{ "_dmarc.pct0.example", ns_t_txt, "v=DMARC1; p=reject; pct=0" },
	{ "_dmarc.pct50.example", ns_t_txt, "v=DMARC1; p=reject; pct=50" },
	{ "_dmarc.testing.example", ns_t_txt, "v=DMARC1; p=reject; t=y" },
	/* DNS failures */
	{ "_dmarc.slow.example", ns_t_txt, "TIMEOUT" },
	{ "_dmarc.broken.example", ns_t_txt, "SERVFAIL" },
	{ "_dmarc.slowparent.example", ns_t_txt, "TIMEOUT" },
	{ "_dmarc.tmp.test2", ns_t_txt, "v=DMARC1; p=reject" },
	{ "_dmarc.test2", ns_t_txt, "TIMEOUT" },
	/* CNAME */
	{ "_dmarc.cname.example", ns_t_cname, "_dmarc.provider.example" },
	{ "_dmarc.provider.example", ns_t_txt, "v=DMARC1; p=quarantine" },
	{ "_dmarc.loop.example", ns_t_cname, "_dmarc.loop2.example" },
	{ "_dmarc.loop2.example", ns_t_cname, "_dmarc.loop.example" },
	{ "_dmarc.dangling.example", ns_t_cname, "_dmarc.gone.example" },
	/* two records, invalid records, unknown tags */
	{ "_dmarc.two.example", ns_t_txt, "v=DMARC1; p=reject" },
	{ "_dmarc.two.example", ns_t_txt, "v=DMARC1; p=none" },
	{ "_dmarc.twoparent.example", ns_t_txt, "v=DMARC1; p=quarantine" },
	{ "_dmarc.sub.twoparent.example", ns_t_txt, "v=DMARC1; p=reject" },
	{ "_dmarc.sub.twoparent.example", ns_t_txt, "v=DMARC1; p=none" },
	{ "_dmarc.withspf.example", ns_t_txt, "v=spf1 -all" },
	{ "_dmarc.withspf.example", ns_t_txt, "v=DMARC1; p=reject" },
	{ "_dmarc.invalid.example", ns_t_txt, "v=DMARC1; p=bogus" },
	{ "_dmarc.implied.example", ns_t_txt,
	  "v=DMARC1; p=bogus; rua=mailto:d@implied.example" },
	{ "_dmarc.unknown.example", ns_t_txt,
	  "v=DMARC1; p=reject; future=yes; x; adkim=q" },
};

static struct mt_resolver *
zone_resolver(void)
{
	struct mt_resolver	*r;
	size_t			 i;
	const char		*split[] = { "v=DMARC1; p=re", "ject; sp=none" };

	assert_non_null(r = resolver_new_table());
	for (i = 0; i < sizeof(zone) / sizeof(zone[0]); i++)
		if (resolver_table_add(r, zone[i].name, zone[i].type,
		    zone[i].rdata) != 0)
			fail_msg("add %s: failed", zone[i].name);
	/* a record in two strings, joined without a space */
	assert_int_equal(resolver_table_add_txt(r, "_dmarc.split.example",
	    split, 2), 0);
	return r;
}

static int
setup(void **state)
{
	*state = zone_resolver();
	return 0;
}

static int
teardown(void **state)
{
	resolver_free(*state);
	return 0;
}

/* ------------------------------------------------------------ helpers */

struct sig {
	const char		*d;
	enum mt_dkim_result	 result;
	enum mt_dmarc_dkim_fail	 fail;
};

static struct mt_dmarc_outcome *
eval(void **state, const char *from, enum mt_spf_result spf,
    const char *spf_domain, const struct sig *sigs, size_t n,
    unsigned sample)
{
	static struct mt_dmarc_outcome out;
	struct mt_dmarc_dkim_in	 in_sigs[8];
	struct mt_dmarc_in	 in;
	size_t			 i;

	memset(&in, 0, sizeof(in));
	in.from_status = MT_FROM_OK;
	in.from_domain = from;
	in.spf = spf;
	in.spf_domain = spf_domain;
	for (i = 0; i < n && i < 8; i++) {
		in_sigs[i].domain = sigs[i].d;
		in_sigs[i].result = sigs[i].result;
		in_sigs[i].fail = sigs[i].fail;
	}
	in.dkim = in_sigs;
	in.n_dkim = n;
	in.sample = sample;
	in.deadline_us = mt_mono_us() + 2000000;
	dmarc_evaluate(*state, &in, &out);
	return &out;
}

#define want_result(o, r) do {						\
	if ((o)->result != (r))						\
		fail_msg("got %s, want %s", dmarc_result_name((o)->result), \
		    dmarc_result_name(r));				\
} while (0)

static const struct sig DKIM_EXAMPLE[] = {
	{ "example.com", MT_DKIM_PASS, 0 }
};
static const struct sig DKIM_MAIL_EXAMPLE[] = {
	{ "mail.example.com", MT_DKIM_PASS, 0 }
};

/* ------------------------------------------------------------ cases */

static void
test_pass_via_dkim(void **state)
{
	struct mt_dmarc_outcome *o = eval(state, "example.com", MT_SPF_FAIL,
	    "bounce.other.example", DKIM_EXAMPLE, 1, 0);

	want_result(o, MT_DMARC_PASS);
	assert_int_equal(o->dkim[0].align, MT_DMARC_ALIGNED);
	assert_int_equal(o->spf.align, MT_DMARC_ALIGN_NOT_PASS);
	assert_string_equal(o->record_domain, "example.com");
	assert_string_equal(o->org_domain, "example.com");
	assert_int_equal(o->policy_from, MT_DMARC_FROM_P);
	assert_int_equal(o->policy, MT_DMARC_P_REJECT);
	assert_int_equal(o->disposition, MT_DMARC_P_NONE);
	assert_int_equal(o->reasons, 0);
}

static void
test_pass_via_spf_relaxed(void **state)
{
	struct mt_dmarc_outcome *o = eval(state, "example.com", MT_SPF_PASS,
	    "bounce.example.com", NULL, 0, 0);

	want_result(o, MT_DMARC_PASS);
	assert_int_equal(o->spf.align, MT_DMARC_ALIGNED);
	assert_string_equal(o->spf.org, "example.com");
}

static void
test_fail_reject(void **state)
{
	struct mt_dmarc_outcome *o = eval(state, "example.com", MT_SPF_FAIL,
	    "example.com", NULL, 0, 0);
	char	 text[256];

	want_result(o, MT_DMARC_FAIL);
	assert_int_equal(o->disposition, MT_DMARC_P_REJECT);
	assert_int_equal(o->reasons, MT_DMARC_R_NO_AUTH | MT_DMARC_R_SPF_FAIL);
	dmarc_reason_text(o, text, sizeof(text));
	assert_string_equal(text, "no DKIM signature; SPF fail for example.com");
}

static void
test_fail_none_and_quarantine(void **state)
{
	struct mt_dmarc_outcome *o;

	o = eval(state, "none.example", MT_SPF_SOFTFAIL, "none.example", NULL,
	    0, 0);
	want_result(o, MT_DMARC_FAIL);
	assert_int_equal(o->policy, MT_DMARC_P_NONE);
	assert_int_equal(o->disposition, MT_DMARC_P_NONE);
	assert_true(o->reasons & MT_DMARC_R_SPF_FAIL);
	o = eval(state, "quarantine.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	want_result(o, MT_DMARC_FAIL);
	assert_int_equal(o->disposition, MT_DMARC_P_QUARANTINE);
	assert_int_equal(o->reasons, MT_DMARC_R_NO_AUTH);
}

static void
test_sp_for_subdomain(void **state)
{
	struct mt_dmarc_outcome *o = eval(state, "mail.example.com",
	    MT_SPF_NONE, NULL, NULL, 0, 0);

	want_result(o, MT_DMARC_FAIL);
	assert_string_equal(o->record_domain, "example.com");
	assert_string_equal(o->org_domain, "example.com");
	assert_int_equal(o->policy_from, MT_DMARC_FROM_SP);
	assert_int_equal(o->disposition, MT_DMARC_P_QUARANTINE);
	assert_int_equal(o->from_exists, -1);	/* no np=: not asked */
}

static void
test_np_nonexistent(void **state)
{
	struct mt_dmarc_outcome *o;

	/* NXDOMAIN */
	o = eval(state, "ghost.np.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	want_result(o, MT_DMARC_FAIL);
	assert_int_equal(o->from_exists, 0);
	assert_int_equal(o->policy_from, MT_DMARC_FROM_NP);
	assert_int_equal(o->disposition, MT_DMARC_P_REJECT);
	/* the name exists but has no A, AAAA or MX: non-existent too */
	o = eval(state, "txtonly.np.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	assert_int_equal(o->from_exists, 0);
	assert_int_equal(o->policy_from, MT_DMARC_FROM_NP);
	/* AAAA only, MX only: it exists, sp= applies */
	o = eval(state, "www.np.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	assert_int_equal(o->from_exists, 1);
	assert_int_equal(o->policy_from, MT_DMARC_FROM_SP);
	assert_int_equal(o->disposition, MT_DMARC_P_NONE);
	o = eval(state, "mx.np.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	assert_int_equal(o->from_exists, 1);
	/* the record's own domain: p=, no existence check */
	o = eval(state, "np.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	assert_int_equal(o->policy_from, MT_DMARC_FROM_P);
	assert_int_equal(o->from_exists, -1);
	/* the existence check timing out is temperror, not p= or sp= */
	o = eval(state, "x.npslow.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	want_result(o, MT_DMARC_TEMPERROR);
	assert_int_equal(o->reasons, MT_DMARC_R_DNS_TEMPERROR);
}

static void
test_tree_walk(void **state)
{
	struct mt_dmarc_outcome *o;

	/* 11 labels: the From: domain, then cut to 7, then one by one */
	o = eval(state, "a.b.c.d.e.f.g.h.i.walk.example", MT_SPF_NONE, NULL,
	    NULL, 0, 0);
	want_result(o, MT_DMARC_FAIL);
	assert_string_equal(o->record_domain, "walk.example");
	assert_string_equal(o->org_domain, "walk.example");
	assert_int_equal(o->policy_from, MT_DMARC_FROM_P);	/* no sp= */
	assert_int_equal(o->disposition, MT_DMARC_P_QUARANTINE);
	/* 1 + (7,6,5,4,3,2 labels) for the policy, + "example" for the
	 * org domain: 8 queries, not 11 */
	assert_int_equal(o->queries, 8);

	/* No record anywhere: none, after walking to the last label. */
	o = eval(state, "nothing.example", MT_SPF_PASS, "nothing.example",
	    NULL, 0, 0);
	want_result(o, MT_DMARC_NONE);
	assert_int_equal(o->queries, 2);
	assert_int_equal(o->have_record, 0);
}

static void
test_psd(void **state)
{
	struct mt_dmarc_outcome *o;
	static const struct sig own[] = { { "org1.psd.example", MT_DKIM_PASS,
	    0 } };
	static const struct sig other[] = { { "org2.psd.example",
	    MT_DKIM_PASS, 0 } };
	static const struct sig other_nopsd[] = { { "org2.nopsd.example",
	    MT_DKIM_PASS, 0 } };

	/* psd=y: org1.psd.example is an org domain of its own */
	o = eval(state, "mail.org1.psd.example", MT_SPF_NONE, NULL, own, 1, 0);
	want_result(o, MT_DMARC_PASS);
	assert_string_equal(o->org_domain, "org1.psd.example");
	assert_string_equal(o->record_domain, "psd.example");
	o = eval(state, "mail.org1.psd.example", MT_SPF_NONE, NULL, other, 1,
	    0);
	want_result(o, MT_DMARC_FAIL);
	assert_int_equal(o->dkim[0].align, MT_DMARC_ALIGN_ORG);
	assert_string_equal(o->dkim[0].org, "");	/* not under org1: no walk */
	/* the org domain right under a PSD gets p=, not sp= */
	o = eval(state, "org1.psd.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	assert_int_equal(o->policy_from, MT_DMARC_FROM_P);
	/* without psd=y the record's domain is the org domain of both */
	o = eval(state, "mail.org1.nopsd.example", MT_SPF_NONE, NULL,
	    other_nopsd, 1, 0);
	want_result(o, MT_DMARC_PASS);
	assert_string_equal(o->org_domain, "nopsd.example");
}

static void
test_relaxed_vs_strict(void **state)
{
	struct mt_dmarc_outcome *o;
	static const struct sig sub[] = { { "mail.strict.example",
	    MT_DKIM_PASS, 0 } };
	static const struct sig parent[] = { { "strict.example", MT_DKIM_PASS,
	    0 } };

	/* relaxed: a subdomain's signature aligns with the parent */
	o = eval(state, "example.com", MT_SPF_NONE, NULL, DKIM_MAIL_EXAMPLE, 1,
	    0);
	want_result(o, MT_DMARC_PASS);
	o = eval(state, "mail.example.com", MT_SPF_NONE, NULL, DKIM_EXAMPLE, 1,
	    0);
	want_result(o, MT_DMARC_PASS);
	/* strict: mail.strict.example vs strict.example fails, both ways */
	o = eval(state, "strict.example", MT_SPF_NONE, NULL, sub, 1, 0);
	want_result(o, MT_DMARC_FAIL);
	assert_int_equal(o->dkim[0].align, MT_DMARC_ALIGN_STRICT);
	assert_true(o->reasons & MT_DMARC_R_STRICT);
	assert_false(o->reasons & MT_DMARC_R_DKIM_UNALIGNED);
	o = eval(state, "mail.strict.example", MT_SPF_NONE, NULL, parent, 1, 0);
	want_result(o, MT_DMARC_FAIL);
	assert_int_equal(o->dkim[0].align, MT_DMARC_ALIGN_STRICT);
	/* strict SPF likewise; the exact domain passes */
	o = eval(state, "strict.example", MT_SPF_PASS, "bounce.strict.example",
	    NULL, 0, 0);
	want_result(o, MT_DMARC_FAIL);
	assert_int_equal(o->spf.align, MT_DMARC_ALIGN_STRICT);
	o = eval(state, "strict.example", MT_SPF_PASS, "Strict.Example.",
	    NULL, 0, 0);
	want_result(o, MT_DMARC_PASS);
}

/* MAIL FROM <>: the caller passes the HELO name; the words say so. */
static void
test_spf_helo(void **state)
{
	static struct mt_dmarc_outcome o;
	struct mt_dmarc_in	 in;
	char			 text[256];

	memset(&in, 0, sizeof(in));
	in.from_status = MT_FROM_OK;
	in.from_domain = "example.com";
	in.spf = MT_SPF_PASS;
	in.spf_domain = "mx.other.example";
	in.spf_helo = 1;
	assert_int_equal(dmarc_evaluate(*state, &in, &o), MT_DMARC_FAIL);
	dmarc_reason_text(&o, text, sizeof(text));
	assert_string_equal(text, "no DKIM signature; SPF passed for HELO "
	    "mx.other.example, not aligned");
	in.spf_domain = "mx.example.com";
	assert_int_equal(dmarc_evaluate(*state, &in, &o), MT_DMARC_PASS);
}

static void
test_pct_and_t(void **state)
{
	struct mt_dmarc_outcome *o;
	char	 text[256];

	/* pct=0: every message sampled out: reject becomes quarantine */
	o = eval(state, "pct0.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	want_result(o, MT_DMARC_FAIL);
	assert_int_equal(o->sampled_in, 0);
	assert_int_equal(o->policy, MT_DMARC_P_REJECT);
	assert_int_equal(o->disposition, MT_DMARC_P_QUARANTINE);
	assert_true(o->notes & MT_DMARC_N_SAMPLED_OUT);
	dmarc_reason_text(o, text, sizeof(text));
	assert_non_null(strstr(text, "pct=0 sampled this message out"));
	/* pct=50: samples 0..49 in, 50..99 out */
	o = eval(state, "pct50.example", MT_SPF_NONE, NULL, NULL, 0, 49);
	assert_int_equal(o->sampled_in, 1);
	assert_int_equal(o->disposition, MT_DMARC_P_REJECT);
	o = eval(state, "pct50.example", MT_SPF_NONE, NULL, NULL, 0, 50);
	assert_int_equal(o->sampled_in, 0);
	assert_int_equal(o->disposition, MT_DMARC_P_QUARANTINE);
	/* no pct=: 100, every sample in */
	o = eval(state, "example.com", MT_SPF_NONE, NULL, NULL, 0, 99);
	assert_int_equal(o->sampled_in, 1);
	assert_int_equal(o->disposition, MT_DMARC_P_REJECT);
	/* t=y (RFC 9989): one step lower */
	o = eval(state, "testing.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	assert_int_equal(o->disposition, MT_DMARC_P_QUARANTINE);
	assert_true(o->notes & MT_DMARC_N_TESTING);
	/* a pass is never sampled into a disposition */
	o = eval(state, "pct0.example", MT_SPF_PASS, "pct0.example", NULL, 0,
	    0);
	want_result(o, MT_DMARC_PASS);
	assert_int_equal(o->disposition, MT_DMARC_P_NONE);
}

static void
test_temperror(void **state)
{
	struct mt_dmarc_outcome *o;
	struct mt_dmarc_in	 in;
	int64_t			 t0;
	char			 text[256];
	static const struct sig sub[] = { { "mail.tmp.test2", MT_DKIM_PASS,
	    0 } };
	static const struct sig exact[] = { { "tmp.test2", MT_DKIM_PASS, 0 } };

	/* the From: domain's _dmarc times out: temperror, not none */
	o = eval(state, "slow.example", MT_SPF_PASS, "slow.example", NULL, 0,
	    0);
	want_result(o, MT_DMARC_TEMPERROR);
	assert_int_equal(o->reasons, MT_DMARC_R_DNS_TEMPERROR);
	assert_string_equal(o->temperror_name, "_dmarc.slow.example");
	assert_int_equal(o->disposition, MT_DMARC_P_NONE);
	dmarc_reason_text(o, text, sizeof(text));
	assert_string_equal(text,
	    "DNS temporary error looking up _dmarc.slow.example");
	/* SERVFAIL likewise */
	o = eval(state, "broken.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	want_result(o, MT_DMARC_TEMPERROR);
	/* a step higher up the walk */
	o = eval(state, "x.slowparent.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	want_result(o, MT_DMARC_TEMPERROR);
	assert_string_equal(o->temperror_name, "_dmarc.slowparent.example");
	/* the org-domain walk failing: a relaxed match cannot be decided */
	o = eval(state, "tmp.test2", MT_SPF_NONE, NULL, sub, 1, 0);
	want_result(o, MT_DMARC_TEMPERROR);
	assert_int_equal(o->dkim[0].align, MT_DMARC_ALIGN_TEMPERROR);
	/* ... but an exact match needs no org domain */
	o = eval(state, "tmp.test2", MT_SPF_NONE, NULL, exact, 1, 0);
	want_result(o, MT_DMARC_PASS);

	/* the deadline bounds the wait */
	memset(&in, 0, sizeof(in));
	in.from_status = MT_FROM_OK;
	in.from_domain = "slow.example";
	t0 = mt_mono_us();
	in.deadline_us = t0 + 100000;
	assert_int_equal(dmarc_evaluate(*state, &in, o), MT_DMARC_TEMPERROR);
	if (mt_mono_us() - t0 > 1500000)
		fail_msg("took %lld us, want about 100000",
		    (long long)(mt_mono_us() - t0));
	/* a passed deadline: no query at all */
	in.deadline_us = t0 - 1;
	assert_int_equal(dmarc_evaluate(*state, &in, o), MT_DMARC_TEMPERROR);
	assert_int_equal(o->queries, 0);
}

static void
test_cname(void **state)
{
	struct mt_dmarc_outcome *o = eval(state, "cname.example", MT_SPF_NONE,
	    NULL, NULL, 0, 0);

	want_result(o, MT_DMARC_FAIL);
	assert_string_equal(o->record_domain, "cname.example");
	assert_int_equal(o->disposition, MT_DMARC_P_QUARANTINE);
	o = eval(state, "split.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	want_result(o, MT_DMARC_FAIL);
	assert_int_equal(o->policy, MT_DMARC_P_REJECT);
}

/* Hostile DNS: a CNAME loop, a dangling CNAME, a record over the cap, more
 * work than the query budget. */
static void
test_hostile_dns(void **state)
{
	struct mt_dmarc_outcome *o;
	struct mt_resolver	*r = *state;
	static char		 chunk[256];
	const char		*strs[10];
	struct sig		 many[8];
	static char		 names[8][64];
	size_t			 i;

	o = eval(state, "loop.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	want_result(o, MT_DMARC_TEMPERROR);
	o = eval(state, "dangling.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	want_result(o, MT_DMARC_NONE);

	memset(chunk, 'x', 255);
	memcpy(chunk, "v=DMARC1; p=reject; x=", 22);
	for (i = 0; i < 10; i++)
		strs[i] = chunk;
	assert_int_equal(resolver_table_add_txt(r, "_dmarc.huge.example",
	    strs, 10), 0);
	o = eval(state, "huge.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	want_result(o, MT_DMARC_NONE);
	assert_true(o->notes & MT_DMARC_N_INVALID);

	/* 8 signatures from unrelated 8-label subdomains of example.com:
	 * 6 queries each; the budget runs out and the rest is temperror */
	for (i = 0; i < 8; i++) {
		snprintf(names[i], sizeof(names[i]),
		    "a%zu.b%zu.c%zu.d%zu.e%zu.f%zu.example.com", i, i, i, i, i,
		    i);
		many[i].d = names[i];
		many[i].result = MT_DKIM_PASS;
		many[i].fail = 0;
	}
	o = eval(state, "example.com", MT_SPF_NONE, NULL, many, 8, 0);
	assert_true(o->queries <= MT_DMARC_MAX_QUERIES);
	assert_int_equal(o->dkim[0].align, MT_DMARC_ALIGNED);
	want_result(o, MT_DMARC_PASS);
	assert_true(o->notes & MT_DMARC_N_TRUNCATED);
	assert_int_equal(o->dkim[7].align, MT_DMARC_ALIGN_TEMPERROR);

	/* The same under someone else's domain (anyone can sign so): no
	 * walk at all, a plain fail, never a temperror. */
	for (i = 0; i < 8; i++)
		snprintf(names[i], sizeof(names[i]),
		    "a%zu.b%zu.c%zu.d%zu.e%zu.f%zu.attacker.com", i, i, i, i,
		    i, i);
	o = eval(state, "example.com", MT_SPF_NONE, NULL, many, 8, 0);
	want_result(o, MT_DMARC_FAIL);
	assert_int_equal(o->queries, 2);
	for (i = 0; i < 8; i++)
		assert_int_equal(o->dkim[i].align, MT_DMARC_ALIGN_ORG);
}

static void
test_esp_signing_as_itself(void **state)
{
	static const struct sig esp[] = { { "esp.example", MT_DKIM_PASS, 0 } };
	struct mt_dmarc_outcome *o = eval(state, "example.com", MT_SPF_PASS,
	    "bounces.esp.example", esp, 1, 0);
	char	 text[256];

	want_result(o, MT_DMARC_FAIL);
	assert_int_equal(o->reasons, MT_DMARC_R_DKIM_UNALIGNED |
	    MT_DMARC_R_SPF_UNALIGNED);
	assert_int_equal(o->dkim[0].align, MT_DMARC_ALIGN_ORG);
	assert_int_equal(o->spf.align, MT_DMARC_ALIGN_ORG);
	dmarc_reason_text(o, text, sizeof(text));
	assert_string_equal(text, "DKIM valid but signed by esp.example (not "
	    "aligned with example.com); SPF passed for bounces.esp.example, "
	    "not aligned");
}

static void
test_dkim_broken(void **state)
{
	static const struct sig bh[] = {
		{ "example.com", MT_DKIM_FAIL, MT_DMARC_DKIM_FAIL_BODY_HASH },
		{ "list.example", MT_DKIM_PASS, 0 },
	};
	struct mt_dmarc_outcome *o = eval(state, "example.com", MT_SPF_PASS,
	    "list.example", bh, 2, 0);
	char	 text[256];

	want_result(o, MT_DMARC_FAIL);
	assert_int_equal(o->reasons, MT_DMARC_R_DKIM_BROKEN |
	    MT_DMARC_R_DKIM_UNALIGNED | MT_DMARC_R_SPF_UNALIGNED);
	dmarc_reason_text(o, text, sizeof(text));
	assert_string_equal(text, "DKIM signature by example.com broken (body "
	    "hash mismatch); DKIM valid but signed by list.example (not aligned "
	    "with example.com); SPF passed for list.example, not aligned");
}

static void
test_records_at_one_name(void **state)
{
	struct mt_dmarc_outcome *o;

	/* two records: both discarded, nothing above: none */
	o = eval(state, "two.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	want_result(o, MT_DMARC_NONE);
	assert_true(o->notes & MT_DMARC_N_MULTIPLE);
	/* ... and the walk goes on to the parent's record */
	o = eval(state, "sub.twoparent.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	want_result(o, MT_DMARC_FAIL);
	assert_string_equal(o->record_domain, "twoparent.example");
	/* an SPF record beside one DMARC record is not counted */
	o = eval(state, "withspf.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	want_result(o, MT_DMARC_FAIL);
	assert_int_equal(o->policy, MT_DMARC_P_REJECT);
	/* an invalid record is discarded */
	o = eval(state, "invalid.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	want_result(o, MT_DMARC_NONE);
	assert_true(o->notes & MT_DMARC_N_INVALID);
	/* bad p= with a valid rua=: p=none */
	o = eval(state, "implied.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	want_result(o, MT_DMARC_FAIL);
	assert_int_equal(o->record.p_implied, 1);
	assert_int_equal(o->disposition, MT_DMARC_P_NONE);
	/* unknown tags and a bad adkim= are ignored */
	o = eval(state, "unknown.example", MT_SPF_NONE, NULL, NULL, 0, 0);
	want_result(o, MT_DMARC_FAIL);
	assert_int_equal(o->record.unknown, 2);
	assert_int_equal(o->record.ignored, MT_DMARC_TAG_ADKIM);
	assert_int_equal(o->adkim_strict, 0);
}

static void
test_bad_from(void **state)
{
	struct mt_dmarc_outcome	 o;
	struct mt_dmarc_in	 in;
	char			 text[256];

	memset(&in, 0, sizeof(in));
	in.from_status = MT_FROM_MULTIPLE_FIELDS;
	assert_int_equal(dmarc_evaluate(*state, &in, &o), MT_DMARC_PERMERROR);
	assert_int_equal(o.reasons, MT_DMARC_R_BAD_FROM);
	assert_int_equal(o.queries, 0);
	dmarc_reason_text(&o, text, sizeof(text));
	assert_string_equal(text, "bad From: more than one From: field");
	/* an OK status with a domain that is not a DNS name */
	in.from_status = MT_FROM_OK;
	in.from_domain = "exa mple.com";
	assert_int_equal(dmarc_evaluate(*state, &in, &o), MT_DMARC_PERMERROR);
	in.from_domain = NULL;
	assert_int_equal(dmarc_evaluate(*state, &in, &o), MT_DMARC_PERMERROR);
}

static const struct authres_prop *
find_prop(const struct authres_result *r, const char *ptype,
    const char *property)
{
	size_t	 i;

	for (i = 0; i < r->n_props; i++)
		if (strcmp(r->props[i].ptype, ptype) == 0 &&
		    strcmp(r->props[i].property, property) == 0)
			return &r->props[i];
	return NULL;
}

static void
test_authres_fragment(void **state)
{
	static const struct sig esp[] = { { "esp.example", MT_DKIM_PASS, 0 } };
	struct mt_dmarc_outcome	*o;
	struct authres_parsed	*p;
	const struct authres_prop *pp;
	char			 frag[1024], hdr[1100], err[128], text[512];

	assert_non_null(p = malloc(sizeof(*p)));
	o = eval(state, "mail.example.com", MT_SPF_PASS, "bounces.esp.example",
	    esp, 1, 0);
	assert_true(dmarc_authres(o, frag, sizeof(frag)) > 0);
	snprintf(hdr, sizeof(hdr), "mx.example.net; %s", frag);
	if (authres_parse(hdr, strlen(hdr), p, err, sizeof(err)) != 0)
		fail_msg("\"%s\" does not parse: %s", hdr, err);
	assert_int_equal(p->n_results, 1);
	assert_string_equal(p->results[0].method, "dmarc");
	assert_string_equal(p->results[0].result, "fail");
	dmarc_reason_text(o, text, sizeof(text));
	/* The header's reason has ',' where the words have ';'. */
	assert_non_null(strchr(text, ';'));
	assert_null(strchr(p->results[0].reason, ';'));
	for (size_t i = 0; text[i] != '\0'; i++)
		if (text[i] == ';')
			text[i] = ',';
	assert_string_equal(p->results[0].reason, text);
	assert_non_null(pp = find_prop(&p->results[0], "header", "from"));
	assert_string_equal(pp->value, "mail.example.com");
	assert_non_null(pp = find_prop(&p->results[0], "polrec", "p"));
	assert_string_equal(pp->value, "reject");
	assert_non_null(pp = find_prop(&p->results[0], "polrec", "domain"));
	assert_string_equal(pp->value, "example.com");
	assert_non_null(pp = find_prop(&p->results[0], "policy", "dmarc"));
	assert_string_equal(pp->value, "quarantine");	/* sp= */

	/* permerror: no header.from, no policy */
	{
		struct mt_dmarc_in in;

		memset(&in, 0, sizeof(in));
		in.from_status = MT_FROM_GROUP;
		dmarc_evaluate(*state, &in, o);
		assert_true(dmarc_authres(o, frag, sizeof(frag)) > 0);
		assert_string_equal(frag, "dmarc=permerror reason=\"bad From: "
		    "group syntax in From:\"");
		snprintf(hdr, sizeof(hdr), "mx.example.net; %s", frag);
		assert_int_equal(authres_parse(hdr, strlen(hdr), p, err,
		    sizeof(err)), 0);
	}
	/* too small a buffer: -1, never a cut fragment */
	assert_int_equal(dmarc_authres(o, frag, 10), -1);
	free(p);
}

static void
test_names(void **state)
{
	unsigned	 bit;
	int		 i;

	(void)state;
	for (bit = 1; bit < (1u << MT_DMARC_R_COUNT); bit <<= 1) {
		assert_non_null(dmarc_reason_name((enum mt_dmarc_reason)bit));
		assert_non_null(dmarc_reason_words((enum mt_dmarc_reason)bit));
	}
	for (i = MT_DMARC_NONE; i <= MT_DMARC_PERMERROR; i++)
		assert_non_null(dmarc_result_name((enum mt_dmarc_result)i));
	for (i = MT_DMARC_ALIGN_NOT_CHECKED; i <= MT_DMARC_ALIGN_TEMPERROR; i++)
		assert_non_null(dmarc_align_name((enum mt_dmarc_align)i));
	assert_string_equal(dmarc_policy_from_name(MT_DMARC_FROM_NP), "np");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_cases),
		cmocka_unit_test(test_record_fields),
		cmocka_unit_test_setup_teardown(test_pass_via_dkim, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pass_via_spf_relaxed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_reject, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fail_none_and_quarantine,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_sp_for_subdomain, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_np_nonexistent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tree_walk, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_psd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relaxed_vs_strict, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_spf_helo, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pct_and_t, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_temperror, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cname, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_dns, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_esp_signing_as_itself,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_dkim_broken, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_records_at_one_name, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_from, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_authres_fragment, setup,
		    teardown),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
