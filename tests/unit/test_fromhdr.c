/*
 * test_fromhdr.c - the From: domain for DMARC: ordinary addresses, and the
 * hostile values that let past DMARC filters be bypassed (several
 * addresses, quoted commas, a bare '>', encoded words, missing domains).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mailtrail/fromhdr.h"

struct from_case {
	const char		*name;
	const char		*value;
	enum mt_from_status	 want;
	const char		*domain;	/* when want is OK */
};

static const struct from_case cases[] = {
	/* ordinary */
	{ "bare addr-spec", "user@example.com", MT_FROM_OK, "example.com" },
	{ "angle only", "<user@example.com>", MT_FROM_OK, "example.com" },
	{ "display name", "Jane Doe <jane@example.com>", MT_FROM_OK,
	  "example.com" },
	{ "folded value", "Jane Doe\r\n <jane@example.com>", MT_FROM_OK,
	  "example.com" },
	{ "uppercase domain lowered", "x@MAIL.Example.COM", MT_FROM_OK,
	  "mail.example.com" },
	{ "one trailing dot removed", "x@example.com.", MT_FROM_OK,
	  "example.com" },
	{ "A-label lowercased", "x@XN--Bcher-kva.Example", MT_FROM_OK,
	  "xn--bcher-kva.example" },
	{ "quoted local part with @", "\"evil@other.example\"@example.com",
	  MT_FROM_OK, "example.com" },
	{ "dotted local part", "first.last@example.com", MT_FROM_OK,
	  "example.com" },
	/* quoted display names: commas, quoted pairs, angle brackets */
	{ "quoted comma in display name", "\"Doe, Jane\" <jane@example.com>",
	  MT_FROM_OK, "example.com" },
	{ "quoted pair quote in name",
	  "\"Jane \\\"JD\\\" Doe\" <jane@example.com>", MT_FROM_OK,
	  "example.com" },
	{ "address inside quoted name is not taken",
	  "\"ceo@bank.example\" <x@evil.example>", MT_FROM_OK,
	  "evil.example" },
	{ "quoted pair hides list and address",
	  "\"a\\\" <x@bank.example>, b\" <y@evil.example>", MT_FROM_OK,
	  "evil.example" },
	{ "unquoted dots and @ in display name (lenient)",
	  "jane.doe@example.com <jane@example.com>", MT_FROM_OK,
	  "example.com" },
	/* comments */
	{ "trailing comment", "jane@example.com (Jane Doe)", MT_FROM_OK,
	  "example.com" },
	{ "comment holding another domain",
	  "x@example.com(bank.example)", MT_FROM_OK, "example.com" },
	{ "comments everywhere (CFWS)",
	  "(a) x (b) @ (c) example (d) . (e) com (f)", MT_FROM_OK,
	  "example.com" },
	{ "nested comment with quoted paren",
	  "(outer (inner \\) still) done) x@example.com", MT_FROM_OK,
	  "example.com" },
	{ "comment holding angle address",
	  "(<ceo@bank.example>) x@evil.example", MT_FROM_OK,
	  "evil.example" },
	/* RFC 2047 */
	{ "encoded word display name",
	  "=?utf-8?q?J=C3=A4ne?= <jane@example.com>", MT_FROM_OK,
	  "example.com" },
	{ "encoded word pretending to be the address",
	  "=?utf-8?q?ceo@bank.example?= <x@evil.example>", MT_FROM_OK,
	  "evil.example" },
	{ "encoded word as the only address",
	  "=?utf-8?q?ceo@bank.example?=", MT_FROM_ENCODED_WORD, NULL },
	{ "base64 encoded word without an address",
	  "=?utf-8?b?PGNlb0BiYW5rLmV4YW1wbGU+?=", MT_FROM_ENCODED_WORD, NULL },
	{ "UTF-8 display name", "J\xc3\xa4ne <jane@example.com>", MT_FROM_OK,
	  "example.com" },
	/* several mailboxes, groups */
	{ "comma list", "a@example.com, b@bank.example",
	  MT_FROM_MULTIPLE_MAILBOXES, NULL },
	{ "comma list same domain", "a@example.com, b@example.com",
	  MT_FROM_MULTIPLE_MAILBOXES, NULL },
	{ "unquoted comma in display name", "Doe, Jane <jane@example.com>",
	  MT_FROM_MULTIPLE_MAILBOXES, NULL },
	{ "trailing comma", "a@example.com,", MT_FROM_MULTIPLE_MAILBOXES,
	  NULL },
	{ "group", "friends: a@example.com, b@bank.example;", MT_FROM_GROUP,
	  NULL },
	{ "empty group", "undisclosed-recipients:;", MT_FROM_GROUP, NULL },
	{ "two angle addresses", "x <a@bank.example> <b@evil.example>",
	  MT_FROM_UNPARSABLE, NULL },
	/* broken addresses */
	{ "bare >", "a@example.com>", MT_FROM_UNPARSABLE, NULL },
	{ "bare > after name", "Jane > <jane@example.com>",
	  MT_FROM_UNPARSABLE, NULL },
	{ "unclosed <", "Jane <jane@example.com", MT_FROM_UNPARSABLE, NULL },
	{ "nested <", "<<jane@example.com>>", MT_FROM_UNPARSABLE, NULL },
	{ "unclosed quote", "\"Jane <jane@example.com>", MT_FROM_UNPARSABLE,
	  NULL },
	{ "unclosed comment", "jane@example.com (Jane", MT_FROM_UNPARSABLE,
	  NULL },
	{ "stray backslash", "ja\\ne@example.com", MT_FROM_UNPARSABLE, NULL },
	{ "two @", "a@b@example.com", MT_FROM_UNPARSABLE, NULL },
	{ "missing local part", "@example.com", MT_FROM_UNPARSABLE, NULL },
	{ "source route", "<@relay.example:a@example.com>",
	  MT_FROM_UNPARSABLE, NULL },
	{ "text after the address", "<a@example.com> trailing",
	  MT_FROM_UNPARSABLE, NULL },
	{ "semicolon", "a@example.com;", MT_FROM_UNPARSABLE, NULL },
	{ "no domain", "jane", MT_FROM_NO_DOMAIN, NULL },
	{ "no domain in angles", "Jane <jane>", MT_FROM_NO_DOMAIN, NULL },
	{ "empty angles", "<>", MT_FROM_NO_DOMAIN, NULL },
	{ "at without domain", "jane@", MT_FROM_NO_DOMAIN, NULL },
	{ "display name only", "Jane Doe", MT_FROM_UNPARSABLE, NULL },
	{ "empty value", "", MT_FROM_EMPTY, NULL },
	{ "white space and comment only", " \t(nobody) ", MT_FROM_EMPTY,
	  NULL },
	/* domains */
	{ "domain literal", "x@[192.0.2.1]", MT_FROM_DOMAIN_LITERAL, NULL },
	{ "domain literal IPv6", "<x@[IPv6:2001:db8::1]>",
	  MT_FROM_DOMAIN_LITERAL, NULL },
	{ "two trailing dots", "x@example.com..", MT_FROM_BAD_DOMAIN, NULL },
	{ "empty label", "x@example..com", MT_FROM_BAD_DOMAIN, NULL },
	{ "leading dot", "x@.example.com", MT_FROM_BAD_DOMAIN, NULL },
	{ "underscore", "x@ex_ample.com", MT_FROM_BAD_DOMAIN, NULL },
	{ "hyphen at label end", "x@example-.com", MT_FROM_BAD_DOMAIN, NULL },
	{ "numeric last label (bare IP)", "x@192.0.2.1", MT_FROM_BAD_DOMAIN,
	  NULL },
	{ "label over 63", "x@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaa.example", MT_FROM_BAD_DOMAIN, NULL },
	{ "U-label", "x@b\xc3\xbc" "cher.example", MT_FROM_ULABEL, NULL },
	{ "encoded word tail in domain", "x@bank.example?=",
	  MT_FROM_ENCODED_WORD, NULL },
	/* bytes */
	{ "NUL inside", NULL, MT_FROM_CONTROL_CHAR, NULL },	/* below */
	{ "escape character", "x@exa\x1bmple.com", MT_FROM_CONTROL_CHAR,
	  NULL },
};

/* One case; 0 or 1 failure (printed, so every case is reported). */
static int
run_case(const struct from_case *c, const char *value, size_t len)
{
	struct mt_from_result	 res;
	enum mt_from_status	 got;

	got = fromhdr_parse(value, len, &res);
	if (got != c->want) {
		print_error("%s: got %s, want %s (offset %zu)\n", c->name,
		    fromhdr_status_name(got), fromhdr_status_name(c->want),
		    res.offset);
		return 1;
	}
	if (c->want == MT_FROM_OK && strcmp(res.domain, c->domain) != 0) {
		print_error("%s: got domain \"%s\", want \"%s\"\n", c->name,
		    res.domain, c->domain);
		return 1;
	}
	if (c->want != MT_FROM_OK && res.domain[0] != '\0') {
		print_error("%s: domain \"%s\" left with status %s\n",
		    c->name, res.domain, fromhdr_status_name(got));
		return 1;
	}
	return 0;
}

static void
test_cases(void **state)
{
	static const char nul[] = "x@example.com\0@bank.example";
	size_t	 i;
	int	 failed = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].value == NULL)
			failed += run_case(&cases[i], nul, sizeof(nul) - 1);
		else
			failed += run_case(&cases[i], cases[i].value,
			    strlen(cases[i].value));
	}
	if (failed)
		fail_msg("%d of %zu cases failed", failed,
		    sizeof(cases) / sizeof(cases[0]));
}

/* The value is read by length: bytes past len are not looked at. */
static void
test_length_bound(void **state)
{
	struct mt_from_result	 res;
	const char		*v = "x@example.com, y@bank.example";

	(void)state;
	assert_int_equal(fromhdr_parse(v, 13, &res), MT_FROM_OK);
	assert_string_equal(res.domain, "example.com");
}

static void
test_fields(void **state)
{
	struct mt_from_value	 v[2] = {
		{ "a@example.com", 13 }, { "b@bank.example", 14 }
	};
	struct mt_from_result	 res;

	(void)state;
	assert_int_equal(fromhdr_domain(v, 0, &res), MT_FROM_NONE);
	assert_int_equal(res.n_fields, 0);
	assert_int_equal(fromhdr_domain(v, 2, &res), MT_FROM_MULTIPLE_FIELDS);
	assert_int_equal(res.n_fields, 2);
	assert_string_equal(res.domain, "");
	/* Two fields even with the same domain. */
	v[1].data = "c@example.com";
	v[1].len = 13;
	assert_int_equal(fromhdr_domain(v, 2, &res), MT_FROM_MULTIPLE_FIELDS);
	assert_int_equal(fromhdr_domain(v, 1, &res), MT_FROM_OK);
	assert_string_equal(res.domain, "example.com");
}

static void
test_size_cap(void **state)
{
	struct mt_from_result	 res;
	char			*buf;
	size_t			 n;

	(void)state;
	buf = malloc(MT_FROM_FIELD_MAX + 2);
	assert_non_null(buf);
	/* A long quoted display name right at the cap parses ... */
	n = MT_FROM_FIELD_MAX;
	memset(buf, 'a', n);
	buf[0] = '"';
	memcpy(buf + n - 18, "\" <x@example.com>", 17);
	buf[n - 1] = ' ';
	assert_int_equal(fromhdr_parse(buf, n, &res), MT_FROM_OK);
	assert_string_equal(res.domain, "example.com");
	/* ... one byte more does not. */
	buf[n] = ' ';
	assert_int_equal(fromhdr_parse(buf, n + 1, &res), MT_FROM_TOO_LONG);
	free(buf);
}

/* A 253-octet domain is the longest accepted. */
static void
test_domain_length(void **state)
{
	struct mt_from_result	 res;
	char			 v[300];
	size_t			 i;

	(void)state;
	memcpy(v, "x@", 2);
	for (i = 0; i < 253; i++)
		v[2 + i] = (i % 50 == 49) ? '.' : 'a';
	v[2 + 253] = '\0';
	assert_int_equal(fromhdr_parse(v, strlen(v), &res), MT_FROM_OK);
	assert_int_equal(strlen(res.domain), 253);
	memcpy(v + 2 + 253, "a", 2);
	assert_int_equal(fromhdr_parse(v, strlen(v), &res),
	    MT_FROM_BAD_DOMAIN);
}

static void
test_names(void **state)
{
	int	 s;

	(void)state;
	for (s = MT_FROM_OK; s <= MT_FROM_CONTROL_CHAR; s++) {
		assert_non_null(fromhdr_status_name((enum mt_from_status)s));
		assert_non_null(fromhdr_status_text((enum mt_from_status)s));
	}
	assert_null(fromhdr_status_name((enum mt_from_status)99));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_length_bound),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_domain_length),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
