/*
 * test_rcptreply.c - parsing the MTA's reply for a rejected recipient.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mailtrail/rcptreply.h"

static void
test_parse_table(void **state)
{
	static const struct {
		const char	*name, *host, *addr;
		int		 code;
		const char	*status, *text;
	} cases[] = {
		{ "postfix relay", "5.7.1", "Relay access denied",
		    0, "5.7.1", "Relay access denied" },
		{ "postfix access map", "5.7.1",
		    "Recipient address rejected: no such user here",
		    0, "5.7.1", "Recipient address rejected: no such user here" },
		{ "sendmail", "5.1.1", "550 5.1.1 User unknown",
		    550, "5.1.1", "User unknown" },
		{ "sendmail, status only in addr", NULL,
		    "550 5.1.1 <bob@example.com>... User unknown",
		    550, "5.1.1", "<bob@example.com>... User unknown" },
		{ "temporary", "4.2.0", "451 4.2.0 try later",
		    451, "4.2.0", "try later" },
		{ "class mismatch keeps host status", "5.7.1",
		    "550 4.1.1 odd", 550, "5.7.1", "4.1.1 odd" },
		{ "code only", NULL, "550", 550, "", "" },
		{ "multi-line marker", NULL, "550-5.7.1 first line",
		    550, "5.7.1", "first line" },
		{ "garbage host", "esmtp", "text", 0, "", "text" },
		{ "bad status in host", "5.1", "x", 0, "", "x" },
		{ "not a code", NULL, "5500 hello", 0, "", "5500 hello" },
		{ "nothing", NULL, NULL, 0, "", "" },
		{ "8-bit text", "5.7.1", "refus\xc3\xa9",
		    0, "5.7.1", "refus\xc3\xa9" },
	};
	struct mt_rcpt_reply	 r;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rcptreply_parse(cases[i].host, cases[i].addr, &r);
		if (r.code != cases[i].code)
			fail_msg("%s: code got %d, want %d", cases[i].name,
			    r.code, cases[i].code);
		if (strcmp(r.status, cases[i].status) != 0)
			fail_msg("%s: status got \"%s\", want \"%s\"",
			    cases[i].name, r.status, cases[i].status);
		if (r.text_len != strlen(cases[i].text) ||
		    memcmp(r.text, cases[i].text, r.text_len) != 0)
			fail_msg("%s: text got \"%.*s\", want \"%s\"",
			    cases[i].name, (int)r.text_len, r.text,
			    cases[i].text);
	}
}

static void
test_status_valid(void **state)
{
	static const struct {
		const char	*s;
		int		 want;
	} cases[] = {
		{ "5.1.1", 1 }, { "4.7.0", 1 }, { "2.0.0", 1 },
		{ "5.7.999", 1 }, { "5.100.1", 1 }, { "3.1.1", 0 },
		{ "5.1", 0 }, { "5.1.", 0 }, { "5..1", 0 }, { "5.1.1000", 0 },
		{ "5.1.1 ", 0 }, { "x.1.1", 0 }, { "", 0 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (rcptreply_status_valid(cases[i].s, strlen(cases[i].s)) !=
		    cases[i].want)
			fail_msg("status \"%s\": got %d, want %d", cases[i].s,
			    !cases[i].want, cases[i].want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_status_valid),
	};

	return cmocka_run_group_tests_name("rcptreply", tests, NULL, NULL);
}
