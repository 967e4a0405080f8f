/*
 * test_authres.c - Authentication-Results: building from hostile inputs,
 * parsing back, "claims our authserv-id", and the corpus vectors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>
#include <jansson.h>

#include "corpus.h"
#include "mailtrail/authres.h"
#include "mailtrail/config.h"

static struct mt_dkim_sig
sig(const char *d, const char *s, const char *b, enum mt_dkim_result r,
    const char *reason)
{
	struct mt_dkim_sig x;

	memset(&x, 0, sizeof(x));
	snprintf(x.domain, sizeof(x.domain), "%s", d);
	snprintf(x.selector, sizeof(x.selector), "%s", s);
	snprintf(x.header_b, sizeof(x.header_b), "%s", b);
	snprintf(x.algorithm, sizeof(x.algorithm), "rsa-sha256");
	snprintf(x.reason, sizeof(x.reason), "%s", reason);
	x.result = r;
	x.key_bits = 2048;
	return x;
}

static const struct authres_result *
find(const struct authres_parsed *p, const char *method, size_t nth)
{
	size_t	 i;

	for (i = 0; i < p->n_results; i++)
		if (strcasecmp(p->results[i].method, method) == 0 && nth-- == 0)
			return &p->results[i];
	return NULL;
}

static const char *
prop(const struct authres_result *r, const char *ptype, const char *name)
{
	size_t	 i;

	for (i = 0; i < r->n_props; i++)
		if (strcasecmp(r->props[i].ptype, ptype) == 0 &&
		    strcasecmp(r->props[i].property, name) == 0)
			return r->props[i].value;
	return NULL;
}

static void
test_build_and_parse_back(void **state)
{
	struct mt_spf_outcome	 spf;
	struct mt_dkim_sig	 sigs[2];
	struct authres_parsed	 p;
	const struct authres_result *r;
	char			 buf[1024], err[128];
	int			 n;

	(void)state;
	memset(&spf, 0, sizeof(spf));
	spf.result = MT_SPF_PASS;
	snprintf(spf.mechanism, sizeof(spf.mechanism), "ip4:192.0.2.0/24");
	sigs[0] = sig("example.org", "sel2048", "AbCdEfGhIjKl", MT_DKIM_PASS, "");
	sigs[1] = sig("example.net", "old", "ZZZZ1234", MT_DKIM_FAIL,
	    "body hash mismatch");
	n = authres_build(buf, sizeof(buf), "mx.example.com", &spf, 0,
	    "alice@example.org", "client.example.org", sigs, 2, 1);
	assert_true(n > 0);
	assert_null(strchr(buf, '\r'));
	if (authres_parse(buf, (size_t)n, &p, err, sizeof(err)) != 0)
		fail_msg("parse of our own header failed: %s\n%s", err, buf);
	assert_string_equal(p.authserv_id, "mx.example.com");
	assert_int_equal(p.n_results, 3);
	r = find(&p, "spf", 0);
	assert_non_null(r);
	assert_string_equal(r->result, "pass");
	assert_string_equal(prop(r, "smtp", "mailfrom"), "alice@example.org");
	r = find(&p, "dkim", 0);
	assert_string_equal(r->result, "pass");
	assert_string_equal(prop(r, "header", "d"), "example.org");
	assert_string_equal(prop(r, "header", "s"), "sel2048");
	assert_string_equal(prop(r, "header", "b"), "AbCdEfGh");
	r = find(&p, "dkim", 1);
	assert_string_equal(r->result, "fail");
	assert_string_equal(r->reason, "body hash mismatch");
	assert_string_equal(prop(r, "header", "d"), "example.net");
	assert_true(authres_claims(buf, (size_t)n, "MX.example.com"));
}

static void
test_build_none_and_helo(void **state)
{
	struct mt_spf_outcome	 spf;
	struct authres_parsed	 p;
	char			 buf[512], err[128];
	int			 n;

	(void)state;
	memset(&spf, 0, sizeof(spf));
	spf.result = MT_SPF_SOFTFAIL;
	snprintf(spf.mechanism, sizeof(spf.mechanism), "~all");
	n = authres_build(buf, sizeof(buf), "gw.example", &spf, 1, "",
	    "helo.example.net", NULL, 0, 1);
	assert_true(n > 0);
	assert_int_equal(authres_parse(buf, (size_t)n, &p, err, sizeof(err)), 0);
	assert_string_equal(find(&p, "spf", 0)->result, "softfail");
	assert_string_equal(prop(find(&p, "spf", 0), "smtp", "helo"),
	    "helo.example.net");
	assert_string_equal(find(&p, "dkim", 0)->result, "none");
	/* Nothing evaluated at all: "; none". */
	n = authres_build(buf, sizeof(buf), "gw.example", NULL, 0, NULL, NULL,
	    NULL, 0, 0);
	assert_int_equal(authres_parse(buf, (size_t)n, &p, err, sizeof(err)), 0);
	assert_int_equal(p.none, 1);
	/* An invalid authserv-id is refused. */
	assert_int_equal(authres_build(buf, sizeof(buf), "bad id;", NULL, 0,
	    NULL, NULL, NULL, 0, 0), -1);
	/* Too small a buffer is refused, not cut. */
	assert_int_equal(authres_build(buf, 10, "gw.example", &spf, 1, "",
	    "helo.example.net", NULL, 0, 1), -1);
}

/*
 * One more method's resinfo appended (DMARC's): folded like the rest, no
 * line over 78 characters unless one unit is longer, a quoted reason with
 * spaces kept whole, and the header still parses to every method.
 */
static void
test_append_method(void **state)
{
	struct mt_spf_outcome	 spf;
	struct authres_parsed	*p;
	const struct authres_result *r;
	char			 buf[2048], err[128];
	const char		*line, *nl;
	int			 n, m;

	(void)state;
	assert_non_null(p = malloc(sizeof(*p)));
	memset(&spf, 0, sizeof(spf));
	spf.result = MT_SPF_PASS;
	snprintf(spf.mechanism, sizeof(spf.mechanism), "ip4:192.0.2.0/24");
	n = authres_build(buf, sizeof(buf), "mx.example.com", &spf, 0,
	    "bounce@lists.example.org", "helo.example.net", NULL, 0, 1);
	assert_true(n > 0);
	m = authres_append(buf, sizeof(buf), (size_t)n, "dmarc=fail "
	    "reason=\"SPF passed for lists.example.org, not aligned\" "
	    "header.from=example.com polrec.p=reject policy.dmarc=reject");
	assert_true(m > n);
	assert_int_equal((size_t)m, strlen(buf));
	for (line = buf; line != NULL; line = nl != NULL ? nl + 1 : NULL) {
		size_t len;

		nl = strchr(line, '\n');
		len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		if (line == buf)
			len += strlen("Authentication-Results: ");
		if (len > 78 && memchr(line, '"', len) == NULL)
			fail_msg("line of %zu characters in \"%s\"", len, buf);
	}
	if (authres_parse(buf, (size_t)m, p, err, sizeof(err)) != 0)
		fail_msg("\"%s\" does not parse: %s", buf, err);
	assert_int_equal(p->n_results, 3);
	assert_non_null(r = find(p, "dmarc", 0));
	assert_string_equal(r->result, "fail");
	assert_string_equal(r->reason,
	    "SPF passed for lists.example.org, not aligned");
	assert_string_equal(prop(r, "header", "from"), "example.com");
	assert_string_equal(prop(r, "policy", "dmarc"), "reject");
	assert_string_equal(find(p, "spf", 0)->result, "pass");
	/* Too small a buffer: -1, not a cut header. */
	n = authres_build(buf, 200, "mx.example.com", &spf, 0,
	    "bounce@lists.example.org", "helo.example.net", NULL, 0, 1);
	assert_true(n > 0);
	assert_int_equal(authres_append(buf, (size_t)n + 20, (size_t)n,
	    "dmarc=none header.from=example.com polrec.p=none"), -1);
	free(p);
}

/* Stranger's bytes never reach the header raw. */
static void
test_build_hostile_values(void **state)
{
	static const struct {
		const char	*name, *mailfrom, *helo, *dkim_d, *mechanism;
		const char	*want_mailfrom;		/* NULL: left out */
	} cases[] = {
		{ "quotes in the local part", "\"a b\"@example.org", "h.example",
		    "example.org", "-all", "example.org" },
		{ "CR LF injection", "a@example.org\r\nX-Evil: 1", "h.example",
		    "example.org", "-all", NULL },
		{ "semicolon in the domain", "a@exa;mple.org", "h.example",
		    "ex;ample.org", "-all", NULL },
		{ "escape in the mechanism", "a@example.org", "h.example",
		    "example.org", "\x1b[31m\"x\"\\", "a@example.org" },
		{ "8-bit domain", "a@ex\xc3\xa4mple.org", "h\xff.example",
		    "ex\xc3\xa4mple.org", "all", NULL },
	};
	struct mt_spf_outcome	 spf;
	struct mt_dkim_sig	 s;
	struct authres_parsed	 p;
	char			 buf[1024], err[128];
	const char		*got, *c;
	size_t			 i;
	int			 n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&spf, 0, sizeof(spf));
		spf.result = MT_SPF_FAIL;
		snprintf(spf.mechanism, sizeof(spf.mechanism), "%s",
		    cases[i].mechanism);
		s = sig(cases[i].dkim_d, "sel;x", "ab\"cd", MT_DKIM_PASS, "");
		n = authres_build(buf, sizeof(buf), "mx.example.com", &spf, 0,
		    cases[i].mailfrom, cases[i].helo, &s, 1, 1);
		assert_true(n > 0);
		for (c = buf; *c != '\0'; c++)
			if (!((*c >= 0x20 && *c < 0x7f) || *c == '\n' ||
			    *c == '\t'))
				fail_msg("%s: byte 0x%02x in the header", cases[i].name,
				    (unsigned char)*c);
		if (strstr(buf, "\n\t") == NULL && strchr(buf, '\n') != NULL)
			fail_msg("%s: a bare line break", cases[i].name);
		if (authres_parse(buf, (size_t)n, &p, err, sizeof(err)) != 0)
			fail_msg("%s: does not parse: %s\n%s", cases[i].name, err,
			    buf);
		got = prop(find(&p, "spf", 0), "smtp", "mailfrom");
		if (cases[i].want_mailfrom == NULL ? got != NULL :
		    got == NULL || strcmp(got, cases[i].want_mailfrom) != 0)
			fail_msg("%s: smtp.mailfrom got %s, want %s", cases[i].name,
			    got ? got : "(none)", cases[i].want_mailfrom ?
			    cases[i].want_mailfrom : "(none)");
		/* Not a token: quoted, and read back as it was. */
		got = prop(find(&p, "dkim", 0), "header", "s");
		if (got == NULL || strcmp(got, "sel;x") != 0)
			fail_msg("%s: header.s got %s, want sel;x",
			    cases[i].name, got ? got : "(none)");
		assert_null(prop(find(&p, "dkim", 0), "header", "b"));
	}
}

static void
test_claims_table(void **state)
{
	static const struct {
		const char	*value;
		int		 want;
	} cases[] = {
		{ "mx.example.com; dkim=pass", 1 },
		{ "MX.EXAMPLE.COM; spf=fail", 1 },
		{ "  (a comment (nested)) mx.example.com ; none", 1 },
		{ "Authentication-Results: mx.example.com; none", 1 },
		{ "\"mx.example.com\"; none", 1 },
		{ "mx.example.com 1; none", 1 },
		{ "mx.example.com(c); none", 1 },
		{ "mx.example.com.evil.org; dkim=pass", 0 },
		{ "evil.mx.example.com; dkim=pass", 0 },
		{ "spf=pass smtp.mailfrom=mx.example.com; mx.example.com", 0 },
		{ "mx.example.comx; none", 0 },
		{ "(unclosed mx.example.com; none", 0 },
		{ "", 0 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (authres_claims(cases[i].value, strlen(cases[i].value),
		    "mx.example.com") != cases[i].want)
			fail_msg("claims(\"%s\"): got %d, want %d",
			    cases[i].value, !cases[i].want, cases[i].want);
}

static void
test_authserv_id_valid(void **state)
{
	(void)state;
	assert_true(authres_valid_authserv_id("mx.example.com"));
	assert_true(authres_valid_authserv_id("vm"));
	assert_false(authres_valid_authserv_id(""));
	assert_false(authres_valid_authserv_id(".example"));
	assert_false(authres_valid_authserv_id("a..b"));
	assert_false(authres_valid_authserv_id("a b"));
	assert_false(authres_valid_authserv_id("a;b"));
}

/*
 * Every authserv-id the configuration accepts is one we write and match:
 * our own header parses back to it, and a forged header claiming it is
 * recognised.  Tried with each printable character inside an id.
 */
static void
test_authserv_id_round_trip(void **state)
{
	struct mt_config	*cfg;
	struct authres_parsed	 p;
	char			 id[16], buf[512], forged[64], err[256];
	int			 c, n, accepted, bad = 0;

	(void)state;
	cfg = config_defaults();
	assert_non_null(cfg);
	for (c = 0x21; c < 0x7f; c++) {
		snprintf(id, sizeof(id), "gw%c1.example", c);
		accepted = config_set(cfg, "authres.authserv_id", id, err,
		    sizeof(err)) == 0;
		if (accepted != authres_valid_authserv_id(id)) {
			printf("# %s: config %d, authres %d\n", id, accepted,
			    authres_valid_authserv_id(id));
			bad++;
			continue;
		}
		if (!accepted) {
			/* The error names the character. */
			snprintf(forged, sizeof(forged), "'%c'", c);
			if (strstr(err, forged) == NULL && c != '.') {
				printf("# %s: error does not name it: %s\n",
				    id, err);
				bad++;
			}
			continue;
		}
		n = authres_build(buf, sizeof(buf), id, NULL, 0, NULL, NULL,
		    NULL, 0, 1);
		if (n < 0 || authres_parse(buf, (size_t)n, &p, err,
		    sizeof(err)) != 0 || strcmp(p.authserv_id, id) != 0 ||
		    !authres_claims(buf, (size_t)n, id)) {
			printf("# %s: own header does not read back: %s\n", id,
			    buf);
			bad++;
		}
		snprintf(forged, sizeof(forged), "%s; dkim=pass", id);
		if (!authres_claims(forged, strlen(forged), id)) {
			printf("# %s: forged header not matched\n", id);
			bad++;
		}
	}
	/* The ones the issue named. */
	assert_false(authres_valid_authserv_id("mx/1.example.org"));
	assert_false(authres_valid_authserv_id("a=b"));
	assert_false(authres_valid_authserv_id("gw?x"));
	config_unref(cfg);
	if (bad)
		fail_msg("%d authserv-id(s) accepted but not matched", bad);
}

/* Property values we write parse back to the same bytes. */
static void
test_property_round_trip(void **state)
{
	static const struct {
		const char	*selector, *b;
	} cases[] = {
		{ "sel1", "abcdEFGH" },
		{ "a/b", "ab/cd+ef" },
		{ "a=b", "++++////" },
		{ "gw?x", "AAAA" },
		{ "q\"uote", "AAAA" },
		{ "back\\slash", "AAAA" },
		{ "sp ace", "AAAA" },
		{ "sel;x", "AAAA" },
		{ "(c)x", "AAAA" },
		{ "x@y", "AAAA" },
		{ "2024._x-y", "AAAA" },
	};
	struct mt_dkim_sig	 s;
	struct authres_parsed	 p;
	char			 buf[1024], err[128];
	const char		*got;
	size_t			 i;
	int			 n, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = sig("example.org", cases[i].selector, cases[i].b,
		    MT_DKIM_FAIL, "bad signature");
		n = authres_build(buf, sizeof(buf), "mx.example.com", NULL, 0,
		    NULL, NULL, &s, 1, 1);
		assert_true(n > 0);
		if (authres_parse(buf, (size_t)n, &p, err, sizeof(err)) != 0) {
			printf("# %s: does not parse: %s\n%s\n",
			    cases[i].selector, err, buf);
			bad++;
			continue;
		}
		got = prop(find(&p, "dkim", 0), "header", "s");
		if (got == NULL || strcmp(got, cases[i].selector) != 0) {
			printf("# header.s got %s, want %s\n%s\n",
			    got ? got : "(none)", cases[i].selector, buf);
			bad++;
		}
		got = prop(find(&p, "dkim", 0), "header", "b");
		if (got == NULL || strcmp(got, cases[i].b) != 0) {
			printf("# header.b got %s, want %s\n%s\n",
			    got ? got : "(none)", cases[i].b, buf);
			bad++;
		}
		if (!authres_claims(buf, (size_t)n, "mx.example.com"))
			bad++;
	}
	/* smtp.mailfrom: a dot-atom local part with '=', '/', '?'. */
	{
		struct mt_spf_outcome	 spf;
		static const char	 mf[] = "a=b/c?d{e}@example.org";

		memset(&spf, 0, sizeof(spf));
		spf.result = MT_SPF_PASS;
		n = authres_build(buf, sizeof(buf), "mx.example.com", &spf, 0,
		    mf, "h.example", NULL, 0, 0);
		assert_true(n > 0);
		assert_int_equal(authres_parse(buf, (size_t)n, &p, err,
		    sizeof(err)), 0);
		got = prop(find(&p, "spf", 0), "smtp", "mailfrom");
		if (got == NULL || strcmp(got, mf) != 0) {
			printf("# smtp.mailfrom got %s, want %s\n%s\n",
			    got ? got : "(none)", mf, buf);
			bad++;
		}
	}
	if (bad)
		fail_msg("%d property value(s) did not round-trip", bad);
}

/* ------------------------------------------------------------ corpus */

static char *
corpus_path(const char *rel)
{
	char	*p;

	if ((p = malloc(4096)) == NULL)
		return NULL;
	if (test_corpus_path(p, 4096, rel) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

static void
test_corpus_vectors(void **state)
{
	json_t		*root, *vectors, *v, *checks, *chk;
	json_error_t	 jerr;
	struct authres_parsed p;
	char		 err[256], *path;
	size_t		 i, j, k, ok = 0, bad = 0, total = 0;

	(void)state;
	path = corpus_path("authres/mail-authenticationresults/vectors.json");
	if (path == NULL || (root = json_load_file(path, 0, &jerr)) == NULL) {
		printf("# SKIP corpus not found (%s)\n", path ? path : "unset");
		printf("# corpus: authres skipped (not found)\n");
		free(path);
		skip();
	}
	free(path);
	vectors = json_object_get(root, "vectors");
	json_array_foreach(vectors, i, v) {
		const char *id = json_string_value(json_object_get(v, "id"));
		const char *hdr = json_string_value(json_object_get(v, "header"));
		const char *expect = json_string_value(json_object_get(v,
		    "expect_parse"));
		const char *want_id = json_string_value(json_object_get(v,
		    "authserv_id"));
		int rc = authres_parse(hdr, strlen(hdr), &p, err, sizeof(err));
		int good = 1;

		total++;
		if (strcmp(expect, "ok") == 0) {
			if (rc != 0) {
				printf("# %s: want ok, got error: %s\n", id, err);
				good = 0;
			} else if (want_id != NULL &&
			    strcasecmp(want_id, p.authserv_id) != 0) {
				printf("# %s: authserv-id got %s, want %s\n", id,
				    p.authserv_id, want_id);
				good = 0;
			}
			checks = json_object_get(v, "checks");
			json_array_foreach(checks, j, chk) {
				const char *m = json_string_value(
				    json_object_get(chk, "method"));
				const char *res = json_string_value(
				    json_object_get(chk, "result"));
				const char *wp = json_string_value(
				    json_object_get(chk, "where_property"));
				const char *eq = json_string_value(
				    json_object_get(chk, "equals"));
				json_int_t want = json_integer_value(
				    json_object_get(chk, "count"));
				json_int_t n = 0;

				if (rc != 0)
					break;
				for (k = 0; k < p.n_results; k++) {
					const struct authres_result *r =
					    &p.results[k];
					char pt[16], pn[64];
					const char *pv;

					if (strcasecmp(r->method, m) != 0 ||
					    strcasecmp(r->result, res) != 0)
						continue;
					if (wp != NULL) {
						if (sscanf(wp, "%15[^.].%63s", pt,
						    pn) != 2)
							continue;
						pv = prop(r, pt, pn);
						if (pv == NULL || eq == NULL ||
						    strcmp(pv, eq) != 0)
							continue;
					}
					n++;
				}
				if (n != want) {
					printf("# %s: %s=%s%s%s count got %lld, "
					    "want %lld\n", id, m, res,
					    wp ? " where " : "", wp ? wp : "",
					    (long long)n, (long long)want);
					good = 0;
				}
			}
		} else if (strcmp(expect, "error") == 0) {
			if (rc == 0) {
				printf("# %s: want an error, got a parse\n", id);
				good = 0;
			}
		} else {
			/* nonconforming / not asserted: never mistaken for ours */
			if (authres_claims(hdr, strlen(hdr), "outlook.com") &&
			    strcmp(id, "outlook") == 0) {
				printf("# %s: mistaken for outlook.com's\n", id);
				good = 0;
			}
		}
		if (good)
			ok++;
		else
			bad++;
	}
	printf("# authres corpus: %zu vectors, %zu as expected, %zu not\n",
	    total, ok, bad);
	printf("# corpus: authres %zu\n", total);	/* read by ./dev */
	json_decref(root);
	assert_int_equal(bad, 0);
	assert_true(total >= 30);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_and_parse_back),
		cmocka_unit_test(test_build_none_and_helo),
		cmocka_unit_test(test_append_method),
		cmocka_unit_test(test_build_hostile_values),
		cmocka_unit_test(test_claims_table),
		cmocka_unit_test(test_authserv_id_valid),
		cmocka_unit_test(test_authserv_id_round_trip),
		cmocka_unit_test(test_property_round_trip),
		cmocka_unit_test(test_corpus_vectors),
	};

	return cmocka_run_group_tests_name("authres", tests, NULL, NULL);
}
