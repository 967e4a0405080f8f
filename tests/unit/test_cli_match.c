/*
 * test_cli_match.c - patterns over a stranger's bytes, and ID shapes.
 *
 * Globs and substrings must fold ASCII case only, treat NUL and 8-bit
 * bytes as ordinary bytes, and stay linear on hostile patterns; IDs given
 * to "mailtrail show" must be told apart by shape, with invalid input
 * (control characters, empty, absurdly long) refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "cli/match.h"

static void
test_glob_table(void **state)
{
	static const struct {
		const char	*pat;
		const char	*s;
		size_t		 slen;	/* 0: strlen */
		int		 want;
	} cases[] = {
		{ "*@example.com", "alice@example.com", 0, 1 },
		{ "*@example.com", "alice@EXAMPLE.COM", 0, 1 },
		{ "*@example.com", "alice@example.com.evil", 0, 0 },
		{ "*@example.com", "@example.com", 0, 1 },
		{ "a?ice@*", "alice@x", 0, 1 },
		{ "a?ice@*", "aice@x", 0, 0 },
		{ "*", "", 0, 1 },
		{ "", "", 0, 1 },
		{ "", "x", 0, 0 },
		{ "**a**", "bab", 0, 1 },
		{ "*a*b*c*", "xaxbxcx", 0, 1 },
		{ "*a*b*c*", "xaxcxbx", 0, 0 },
		{ "x\\*y", "x*y", 0, 1 },
		{ "x\\*y", "xzy", 0, 0 },
		{ "x\\?y", "x?y", 0, 1 },
		{ "caf\xc3\xa9*", "caf\xc3\xa9 noir", 0, 1 },
		{ "caf\xc3\x89*", "caf\xc3\xa9", 0, 0 },	/* no UTF-8 folding */
		{ "a*b", "a\0\0b", 4, 1 },
		{ "a?b", "a\0b", 3, 1 },
		{ "*\xff", "x\xff", 0, 1 },
		{ "trail\\", "trail\\", 0, 1 },
	};
	size_t	 i, slen;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		slen = cases[i].slen != 0 ? cases[i].slen : strlen(cases[i].s);
		if (cli_glob(cases[i].pat, strlen(cases[i].pat), cases[i].s,
		    slen) != cases[i].want)
			fail_msg("glob \"%s\" on case %zu: got %d, want %d",
			    cases[i].pat, i, !cases[i].want, cases[i].want);
	}
}

/* A pattern built to make naive matchers exponential stays fast. */
static void
test_glob_hostile(void **state)
{
	char	*pat, *s;
	size_t	 i, n = 4000;
	clock_t	 t0;

	(void)state;
	pat = malloc(2 * 200 + 2);
	s = malloc(n + 1);
	assert_non_null(pat);
	assert_non_null(s);
	for (i = 0; i < 200; i++) {
		pat[2 * i] = '*';
		pat[2 * i + 1] = 'a';
	}
	pat[400] = 'b';
	pat[401] = '\0';
	memset(s, 'a', n);
	s[n] = '\0';
	t0 = clock();
	assert_int_equal(cli_glob(pat, strlen(pat), s, n), 0);
	if ((double)(clock() - t0) / CLOCKS_PER_SEC > 2.0)
		fail_msg("hostile glob took over 2 s");
	free(pat);
	free(s);
}

static void
test_contains(void **state)
{
	static const struct {
		const char	*hay;
		size_t		 hlen;
		const char	*needle;
		size_t		 nlen;
		int		 want;
	} cases[] = {
		{ "Quarterly REPORT", 16, "report", 6, 1 },
		{ "Quarterly REPORT", 16, "reports", 7, 0 },
		{ "abc", 3, "", 0, 1 },
		{ "", 0, "a", 1, 0 },
		{ "a\0b\xff", 4, "\0b\xff", 3, 1 },
		{ "a\0b", 3, "ab", 2, 0 },
		{ "\x1b[2Jhi", 6, "\x1b[2J", 4, 1 },
		{ "ab", 2, "abc", 3, 0 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (cli_contains(cases[i].hay, cases[i].hlen, cases[i].needle,
		    cases[i].nlen) != cases[i].want)
			fail_msg("contains case %zu: got %d, want %d", i,
			    !cases[i].want, cases[i].want);
	assert_int_equal(cli_contains(NULL, 0, "a", 1), 0);
}

static void
test_pattern(void **state)
{
	static const struct {
		const char	*arg;
		int		 kind;
		const char	*want;
	} cases[] = {
		{ "alice@example.com", CLI_PAT_EXACT, "alice@example.com" },
		{ "@example.com", CLI_PAT_GLOB, "*@example.com" },
		{ "*@example.*", CLI_PAT_GLOB, "*@example.*" },
		{ "a?c", CLI_PAT_GLOB, "a?c" },
		{ "a\\*c", CLI_PAT_EXACT, "a\\*c" },
		{ "<>", CLI_PAT_EXACT, "" },
	};
	char	*out;
	size_t	 i;
	int	 k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		k = cli_pattern(cases[i].arg, &out);
		if (k != cases[i].kind || strcmp(out, cases[i].want) != 0)
			fail_msg("\"%s\": got %d \"%s\", want %d \"%s\"",
			    cases[i].arg, k, out, cases[i].kind,
			    cases[i].want);
		free(out);
	}
}

static void
test_id_classify(void **state)
{
	static const struct {
		const char	*id;
		enum cli_id_kind want;
	} cases[] = {
		{ "01JDB6Q5Z6Y3K9W2X4V8T0R1NM", CLI_ID_TRACK },
		{ "01jdb6q5z6y3k9w2x4v8t0r1nm", CLI_ID_TRACK },
		{ " 01JDB6Q5Z6Y3K9W2X4V8T0R1NM ", CLI_ID_TRACK },
		{ "4QA1B2C3D4", CLI_ID_QUEUE },
		{ "3F2A1B7C", CLI_ID_QUEUE },
		{ "4XyZ1B2c3DzJ8kq", CLI_ID_QUEUE },		/* Postfix long */
		{ "5APEWQdx012345", CLI_ID_QUEUE },		/* Sendmail */
		{ "<abc@example.org>", CLI_ID_MSGID },
		{ "abc@example.org", CLI_ID_MSGID },
		{ "<no-at-sign>", CLI_ID_MSGID },
		{ "01JDB6Q5Z6Y3K9W2X4V8T0R1NU", CLI_ID_INVALID }, /* U */
		{ "ABCD", CLI_ID_INVALID },
		{ "has space", CLI_ID_INVALID },
		{ "", CLI_ID_INVALID },
		{ "   ", CLI_ID_INVALID },
		{ "a@b\x1b[2J", CLI_ID_INVALID },
		{ "x\ny@z", CLI_ID_INVALID },
		{ "ABCDEFGHIJKLMNOPQRSTU", CLI_ID_INVALID },	/* 21 chars */
	};
	size_t	 i;
	enum cli_id_kind k;
	char	*long_id;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		k = cli_id_classify(cases[i].id);
		if (k != cases[i].want)
			fail_msg("\"%s\": got %s, want %s", cases[i].id,
			    cli_id_kind_name(k), cli_id_kind_name(cases[i].want));
	}
	assert_int_equal(cli_id_classify(NULL), CLI_ID_INVALID);
	long_id = malloc(2000);
	assert_non_null(long_id);
	memset(long_id, 'a', 1998);
	long_id[0] = '<';
	long_id[1998] = '\0';
	assert_int_equal(cli_id_classify(long_id), CLI_ID_INVALID);
	free(long_id);
	assert_string_equal(cli_id_kind_name(CLI_ID_QUEUE), "queue ID");
}

static void
test_msgid_forms(void **state)
{
	static const struct {
		const char	*in;
		const char	*with;
		const char	*without;
	} cases[] = {
		{ "<a@b>", "<a@b>", "a@b" },
		{ "a@b", "<a@b>", "a@b" },
		{ "  <a@b>  ", "<a@b>", "a@b" },
		{ "<>", "<>", "" },
		{ "<a", "<<a>", "<a" },
	};
	char	*w, *wo;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(cli_msgid_forms(cases[i].in, &w, &wo), 0);
		if (strcmp(w, cases[i].with) != 0 ||
		    strcmp(wo, cases[i].without) != 0)
			fail_msg("\"%s\": got \"%s\" \"%s\", want \"%s\""
			    " \"%s\"", cases[i].in, w, wo, cases[i].with,
			    cases[i].without);
		free(w);
		free(wo);
	}
}

static void
test_trackid_normalize(void **state)
{
	char	 id[] = "01jdb6q5z6y3k9w2x4v8t0r1nm";

	(void)state;
	cli_trackid_normalize(id);
	assert_string_equal(id, "01JDB6Q5Z6Y3K9W2X4V8T0R1NM");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob_table),
		cmocka_unit_test(test_glob_hostile),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_pattern),
		cmocka_unit_test(test_id_classify),
		cmocka_unit_test(test_msgid_forms),
		cmocka_unit_test(test_trackid_normalize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
