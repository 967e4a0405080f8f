/*
 * test_escape.c - printing and JSON-encoding a stranger's bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mailtrail/bytes.h"
#include "mailtrail/escape.h"

static void
test_escape_table(void **state)
{
	static const struct {
		const char	*name;
		const char	*in;
		size_t		 len;
		const char	*want;
	} cases[] = {
		{ "plain", "hello world", 11, "hello world" },
		{ "terminal escape", "\x1b[31mred", 8, "\\x1b[31mred" },
		{ "CR LF", "a\r\nb", 4, "a\\x0d\\x0ab" },
		{ "NUL inside", "a\0b", 3, "a\\x00b" },
		{ "8-bit", "caf\xc3\xa9", 5, "caf\\xc3\\xa9" },
		{ "backslash", "a\\b", 3, "a\\\\b" },
		{ "DEL", "\x7f", 1, "\\x7f" },
		{ "empty", "", 0, "" },
	};
	char	 out[128];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mt_escape(out, sizeof(out), cases[i].in, cases[i].len);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name,
			    out, cases[i].want);
	}
}

static void
test_escape_truncates(void **state)
{
	char	 out[12];

	(void)state;
	mt_escape(out, sizeof(out), "abcdefghijklmnopqrstuvwxyz", 26);
	assert_string_equal(out, "abcdefgh...");
	/* Never cut an escape in half. */
	mt_escape(out, sizeof(out), "abcdef\x01xyzxyz", 13);
	assert_string_equal(out, "abcdef...");
	/* Fits exactly: no dots. */
	mt_escape(out, sizeof(out), "abcdefghijk", 11);
	assert_string_equal(out, "abcdefghijk");
}

static void
test_json_table(void **state)
{
	static const struct {
		const char	*name;
		const char	*in;
		size_t		 len;
		const char	*want;
	} cases[] = {
		{ "plain", "abc", 3, "abc" },
		{ "quote and backslash", "\"\\", 2, "\\\"\\\\" },
		{ "controls", "\n\r\t\x01", 4, "\\n\\r\\t\\u0001" },
		{ "NUL", "a\0b", 3, "a\\u0000b" },
		{ "valid UTF-8 kept", "caf\xc3\xa9", 5, "caf\xc3\xa9" },
		{ "invalid UTF-8", "\xff\xfe", 2, "\\u00ff\\u00fe" },
		{ "overlong", "\xc0\xaf", 2, "\\u00c0\\u00af" },
		{ "surrogate", "\xed\xa0\x80", 3, "\\u00ed\\u00a0\\u0080" },
		{ "truncated sequence", "\xe2\x82", 2, "\\u00e2\\u0082" },
		{ "escape sequence", "\x1b[2J", 4, "\\u001b[2J" },
		{ "C1 CSI (U+009B)", "a\xc2\x9b" "2J", 5, "a\\u009b2J" },
		{ "C1 first and last", "\xc2\x80\xc2\x9f", 4,
		  "\\u0080\\u009f" },
		{ "U+00A0 is not C1", "\xc2\xa0", 2, "\xc2\xa0" },
		{ "DEL", "\x7f", 1, "\\u007f" },
	};
	size_t	 i;
	char	*got;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = mt_json_escape(cases[i].in, cases[i].len);
		assert_non_null(got);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name,
			    got, cases[i].want);
		free(got);
	}
}

static void
test_bytes_caps(void **state)
{
	struct mt_bytes	 b = { NULL, 0 };

	(void)state;
	assert_int_equal(mt_bytes_set(&b, "a\0b", 3, 10), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 3);
	assert_int_equal(mt_bytes_set(&b, "abcdef", 6, 4), 1);
	assert_int_equal(b.len, 4);
	assert_string_equal(b.data, "abcd");
	assert_int_equal(mt_bytes_append(&b, ' ', "xy", 2, 6), 1);
	assert_string_equal(b.data, "abcd x");
	assert_int_equal(mt_bytes_append(&b, ' ', "z", 1, 6), 1);
	assert_string_equal(b.data, "abcd x");
	mt_bytes_clear(&b);
	assert_null(b.data);
	assert_int_equal(mt_bytes_append(&b, ' ', "first", 5, 100), 0);
	assert_string_equal(b.data, "first");
	mt_bytes_clear(&b);
	mt_bytes_clear(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_escape_truncates),
		cmocka_unit_test(test_json_table),
		cmocka_unit_test(test_bytes_caps),
	};

	return cmocka_run_group_tests_name("escape", tests, NULL, NULL);
}
