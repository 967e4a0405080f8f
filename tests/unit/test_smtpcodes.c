/*
 * test_smtpcodes.c - the SMTP reply code and enhanced status code catalogue.
 *
 * The tables must be sorted (lookups are binary searches), complete (every
 * reply code of RFC 5321 and the AUTH/null-MX RFCs, every detail of IANA's
 * enhanced status code registry, nothing invented beyond it) and
 * well-formed; the parsers must take exactly RFC 5321/3463 syntax; the
 * one-line descriptions "mailtrail show" prints must say permanent or
 * temporary as the reply code decides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mailtrail/smtpcodes.h"

static void
test_tables_sorted_and_complete(void **state)
{
	const struct smtp_reply_info *r, *prev = NULL;
	const struct smtp_status_info *s, *sprev = NULL;
	size_t	 i;

	(void)state;
	assert_true(smtp_reply_count() > 30);
	for (i = 0; (r = smtp_reply_at(i)) != NULL; i++) {
		if (prev != NULL && prev->code >= r->code)
			fail_msg("reply table not sorted at %d after %d",
			    r->code, prev->code);
		if (r->summary == NULL || r->meaning == NULL ||
		    r->causes == NULL || r->check == NULL || r->ref == NULL ||
		    *r->summary == '\0' || *r->meaning == '\0')
			fail_msg("reply %d: a text is missing", r->code);
		if (smtp_reply_kind(r->code) == SMTP_KIND_INVALID)
			fail_msg("reply %d: invalid kind", r->code);
		prev = r;
	}
	assert_int_equal(i, smtp_reply_count());
	assert_null(smtp_reply_at(i));
	for (i = 0; (s = smtp_status_at(i)) != NULL; i++) {
		if (sprev != NULL && (sprev->subject > s->subject ||
		    (sprev->subject == s->subject &&
		    sprev->detail >= s->detail)))
			fail_msg("status table not sorted at X.%d.%d",
			    s->subject, s->detail);
		if (s->summary == NULL || s->meaning == NULL ||
		    s->ref == NULL || (s->detail >= 0 && s->check == NULL))
			fail_msg("X.%d.%d: a text is missing", s->subject,
			    s->detail);
		if (s->classes == 0 || (s->classes & ~SMTP_CLASSES_ALL) != 0)
			fail_msg("X.%d.%d: bad classes %#x", s->subject,
			    s->detail, s->classes);
		sprev = s;
	}
	assert_int_equal(i, smtp_status_count());
}

/* IANA's registry: the highest detail of each subject, none missing. */
static void
test_registry_details(void **state)
{
	static const int last[8] = { 0, 10, 4, 6, 7, 6, 10, 30 };
	int	 subject, detail;

	(void)state;
	for (subject = 0; subject < 8; subject++) {
		if (smtp_subject_lookup(subject) == NULL)
			fail_msg("subject %d has no entry", subject);
		for (detail = 0; detail <= last[subject]; detail++)
			if (smtp_status_lookup(subject, detail) == NULL)
				fail_msg("X.%d.%d missing", subject, detail);
		if (smtp_status_lookup(subject, last[subject] + 1) != NULL)
			fail_msg("X.%d.%d is not registered but listed",
			    subject, last[subject] + 1);
	}
	assert_null(smtp_subject_lookup(8));
	assert_null(smtp_status_lookup(8, 0));
	assert_null(smtp_status_lookup(1, -1));
	assert_null(smtp_status_lookup(7, 999));
}

static void
test_reply_codes_known(void **state)
{
	/* RFC 5321 4.2.3, RFC 4954 (AUTH), RFC 7504 (521, 556). */
	static const int codes[] = { 211, 214, 220, 221, 235, 250, 251, 252,
	    334, 354, 421, 432, 450, 451, 452, 454, 455, 500, 501, 502, 503,
	    504, 521, 530, 534, 535, 538, 550, 551, 552, 553, 554, 555, 556 };
	static const int unknown[] = { 200, 299, 300, 401, 499, 599, 0, 1000 };
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (smtp_reply_lookup(codes[i]) == NULL)
			fail_msg("reply code %d missing", codes[i]);
	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		if (smtp_reply_lookup(unknown[i]) != NULL)
			fail_msg("reply code %d should not be listed",
			    unknown[i]);
}

static void
test_summaries(void **state)
{
	static const struct {
		int		 subject, detail;
		const char	*want;
	} cases[] = {
		{ 1, 1, "bad destination mailbox address" },
		{ 2, 2, "mailbox full" },
		{ 7, 1, "delivery not authorized, message refused" },
		{ 7, 23, "SPF validation failed" },
		{ 7, 26, "multiple authentication checks failed" },
		{ 4, 7, "delivery time expired" },
		{ 5, 3, "too many recipients" },
	};
	const struct smtp_status_info *s;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = smtp_status_lookup(cases[i].subject, cases[i].detail);
		if (s == NULL || strcmp(s->summary, cases[i].want) != 0)
			fail_msg("X.%d.%d: got \"%s\", want \"%s\"",
			    cases[i].subject, cases[i].detail,
			    s != NULL ? s->summary : "(none)", cases[i].want);
	}
	assert_string_equal(smtp_reply_lookup(550)->summary,
	    "mailbox unavailable");
	assert_true(smtp_status_lookup(1, 5)->classes == SMTP_CLASS_BIT(2));
}

static void
test_reply_parse(void **state)
{
	static const struct {
		const char	*in;
		int		 ok;
		int		 want;
	} cases[] = {
		{ "550", 1, 550 },
		{ "250", 1, 250 },
		{ "421", 1, 421 },
		{ "354", 1, 354 },
		{ "559", 1, 559 },
		{ "55", 0, 0 },
		{ "5500", 0, 0 },
		{ "650", 0, 0 },
		{ "199", 0, 0 },
		{ "560", 0, 0 },	/* second digit 0..5 */
		{ "5a0", 0, 0 },
		{ "", 0, 0 },
		{ " 550", 0, 0 },
	};
	size_t	 i;
	int	 code, rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		code = -1;
		rc = smtp_reply_parse(cases[i].in, strlen(cases[i].in), &code);
		if ((rc == 0) != cases[i].ok)
			fail_msg("\"%s\": got %s, want %s", cases[i].in,
			    rc == 0 ? "valid" : "invalid",
			    cases[i].ok ? "valid" : "invalid");
		if (rc == 0 && code != cases[i].want)
			fail_msg("\"%s\": got %d, want %d", cases[i].in, code,
			    cases[i].want);
	}
	assert_int_equal(smtp_reply_parse(NULL, 3, &code), -1);
}

static void
test_status_parse(void **state)
{
	static const struct {
		const char	*in;
		int		 ok;
		int		 cls, subject, detail;
	} cases[] = {
		{ "5.1.1", 1, 5, 1, 1 },
		{ "4.7.26", 1, 4, 7, 26 },
		{ "2.0.0", 1, 2, 0, 0 },
		{ "5.123.456", 1, 5, 123, 456 },
		{ "5.01.1", 1, 5, 1, 1 },
		{ "5.1234.1", 0, 0, 0, 0 },
		{ "5.1.1234", 0, 0, 0, 0 },
		{ "3.1.1", 0, 0, 0, 0 },
		{ "6.1.1", 0, 0, 0, 0 },
		{ "5.1", 0, 0, 0, 0 },
		{ "5..1", 0, 0, 0, 0 },
		{ "5.1.", 0, 0, 0, 0 },
		{ "5.1.1 ", 0, 0, 0, 0 },
		{ " 5.1.1", 0, 0, 0, 0 },
		{ "5.1.x", 0, 0, 0, 0 },
		{ "5.-1.1", 0, 0, 0, 0 },
		{ "51.1.1", 0, 0, 0, 0 },
		{ "", 0, 0, 0, 0 },
	};
	struct smtp_status st;
	size_t	 i;
	int	 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&st, 0, sizeof(st));
		rc = smtp_status_parse(cases[i].in, strlen(cases[i].in), &st);
		if ((rc == 0) != cases[i].ok)
			fail_msg("\"%s\": got %s, want %s", cases[i].in,
			    rc == 0 ? "valid" : "invalid",
			    cases[i].ok ? "valid" : "invalid");
		if (rc == 0 && (st.cls != cases[i].cls ||
		    st.subject != cases[i].subject ||
		    st.detail != cases[i].detail))
			fail_msg("\"%s\": got %d.%d.%d", cases[i].in, st.cls,
			    st.subject, st.detail);
	}
	/* A length shorter than the string: only that much is parsed. */
	assert_int_equal(smtp_status_parse("5.1.10", 5, &st), 0);
	assert_int_equal(st.detail, 1);
}

static void
test_kinds(void **state)
{
	(void)state;
	assert_int_equal(smtp_reply_kind(250), SMTP_KIND_SUCCESS);
	assert_int_equal(smtp_reply_kind(354), SMTP_KIND_INTERMEDIATE);
	assert_int_equal(smtp_reply_kind(451), SMTP_KIND_TEMPORARY);
	assert_int_equal(smtp_reply_kind(550), SMTP_KIND_PERMANENT);
	assert_int_equal(smtp_reply_kind(650), SMTP_KIND_INVALID);
	assert_int_equal(smtp_reply_kind(0), SMTP_KIND_INVALID);
	assert_int_equal(smtp_class_kind(4), SMTP_KIND_TEMPORARY);
	assert_int_equal(smtp_class_kind(3), SMTP_KIND_INVALID);
	assert_string_equal(smtp_kind_name(SMTP_KIND_PERMANENT), "permanent");
	assert_string_equal(smtp_kind_name(SMTP_KIND_TEMPORARY), "temporary");
	assert_string_equal(smtp_kind_name(SMTP_KIND_INVALID), "invalid");
	assert_non_null(strstr(smtp_kind_meaning(SMTP_KIND_TEMPORARY),
	    "retries"));
}

static void
test_describe(void **state)
{
	static const struct {
		int		 code;
		const char	*status;
		const char	*want;
	} cases[] = {
		{ 550, "5.1.1", "permanent: bad destination mailbox address" },
		{ 0, "4.2.2", "temporary: mailbox full" },
		{ 550, NULL, "permanent: mailbox unavailable" },
		{ 550, "", "permanent: mailbox unavailable" },
		/* The reply code decides what the client does. */
		{ 450, "5.7.1", "temporary: delivery not authorized, message"
		  " refused" },
		{ 0, "5.7.99", "permanent: security or policy status"
		  " (unregistered detail)" },
		{ 559, NULL, "permanent" },
		{ 0, "bogus", "" },
		{ 0, NULL, "" },
		{ 250, "2.1.5", "success: destination address valid" },
		{ 0, "5.9.1", "permanent" },
	};
	char	 out[256];
	size_t	 i;
	int	 n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = smtp_describe(out, sizeof(out), cases[i].code,
		    cases[i].status);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("%d %s: got \"%s\", want \"%s\"",
			    cases[i].code, cases[i].status != NULL ?
			    cases[i].status : "(null)", out, cases[i].want);
		assert_int_equal(n, (int)strlen(cases[i].want));
	}
	/* A short buffer: cut, terminated, full length returned. */
	n = smtp_describe(out, 10, 550, "5.1.1");
	assert_int_equal(strlen(out), 9);
	assert_int_equal(n, (int)strlen("permanent: bad destination mailbox"
	    " address"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_sorted_and_complete),
		cmocka_unit_test(test_registry_details),
		cmocka_unit_test(test_reply_codes_known),
		cmocka_unit_test(test_summaries),
		cmocka_unit_test(test_reply_parse),
		cmocka_unit_test(test_status_parse),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
