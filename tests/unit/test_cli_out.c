/*
 * test_cli_out.c - what the mailtrail command prints.
 *
 * Escaping for the terminal, CSV cells, JSON strings from arbitrary bytes,
 * times, and aligned tables (widths, truncation on a terminal, colour only
 * when asked).  The invariant checked everywhere: no ESC byte (0x1b) and
 * no other control byte from the data reaches the output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli/cli.h"

struct sink {
	struct cli	 cli;
	char		*buf;
	size_t		 len;
};

static void
sink_open(struct sink *s, int tty, int width, int color)
{
	memset(s, 0, sizeof(*s));
	s->cli.out = open_memstream(&s->buf, &s->len);
	assert_non_null(s->cli.out);
	s->cli.tty = tty;
	s->cli.width = width;
	s->cli.color = color;
}

static char *
sink_close(struct sink *s)
{
	fclose(s->cli.out);
	return s->buf;
}

static int
has_control(const char *s, size_t len, int allow_esc)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0x1b && allow_esc)
			continue;
		if ((c < 0x20 && c != '\n') || c == 0x7f)
			return 1;
	}
	return 0;
}

static void
test_esc(void **state)
{
	static const struct {
		const char	*in;
		size_t		 len;
		const char	*want;
	} cases[] = {
		{ "plain", 5, "plain" },
		{ "\x1b]0;owned\x07", 10, "\\x1b]0;owned\\x07" },
		{ "a\0b", 3, "a\\x00b" },
		{ "caf\xc3\xa9", 5, "caf\\xc3\\xa9" },
		{ "back\\slash", 10, "back\\\\slash" },
		{ "", 0, "" },
	};
	struct cli_val v;
	char	*out;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = cli_esc(cases[i].in, cases[i].len);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, out,
			    cases[i].want);
		free(out);
	}
	out = cli_esc(NULL, 5);
	assert_string_equal(out, "");
	free(out);
	memset(&v, 0, sizeof(v));
	v.type = SQLITE_INTEGER;
	v.i = -42;
	out = cli_esc_val(&v);
	assert_string_equal(out, "-42");
	free(out);
	v.type = SQLITE_NULL;
	out = cli_esc_val(&v);
	assert_string_equal(out, "");
	free(out);
}

static void
test_csv_cell(void **state)
{
	static const struct {
		const char	*in;
		size_t		 len;
		const char	*want;
	} cases[] = {
		{ "plain", 5, "\"plain\"" },
		{ "say \"hi\"", 8, "\"say \"\"hi\"\"\"" },
		{ "a,b", 3, "\"a,b\"" },
		{ "caf\xc3\xa9", 5, "\"caf\xc3\xa9\"" },
		{ "\x1b[2J", 4, "\"\\x1b[2J\"" },
		{ "line\r\nnext", 10, "\"line\\x0d\\x0anext\"" },
		{ "bad \xff", 5, "\"bad \\xff\"" },
		{ "c1 \xc2\x9b", 5, "\"c1 \\xc2\\x9b\"" },
		{ "nul\0", 4, "\"nul\\x00\"" },
		{ "=cmd|' /C calc'!A0", 18, "\"'=cmd|' /C calc'!A0\"" },
		{ "+1", 2, "\"'+1\"" },
		{ "-x", 2, "\"'-x\"" },
		{ "@SUM(1)", 7, "\"'@SUM(1)\"" },
		{ "a\\b", 3, "\"a\\\\b\"" },
		{ "", 0, "\"\"" },
	};
	char	*out;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = cli_csv_cell(cases[i].in, cases[i].len);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: got %s, want %s", i, out,
			    cases[i].want);
		free(out);
	}
}

static void
test_json_bytes(void **state)
{
	static const struct {
		const char	*in;
		size_t		 len;
		const char	*want;		/* json_dumps, ASCII only */
	} cases[] = {
		{ "plain", 5, "\"plain\"" },
		{ "caf\xc3\xa9", 5, "\"caf\\u00E9\"" },
		{ "\xff\xfe", 2, "\"\\u00FF\\u00FE\"" },
		{ "a\0b", 3, "\"a\\u0000b\"" },
		{ "\x1b[2J", 4, "\"\\u001B[2J\"" },
		{ "\xc0\xaf", 2, "\"\\u00C0\\u00AF\"" },
		{ "\xe2\x82", 2, "\"\\u00E2\\u0082\"" },
		{ "q\"\\", 3, "\"q\\\"\\\\\"" },
		{ "\xf0\x9f\x93\xa7", 4, "\"\\uD83D\\uDCE7\"" },
	};
	json_t	*j;
	char	*out;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = cli_json_bytes(cases[i].in, cases[i].len);
		assert_non_null(j);
		out = json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: got %s, want %s", i, out,
			    cases[i].want);
		free(out);
		json_decref(j);
	}
	j = cli_json_bytes(NULL, 0);
	assert_true(json_is_null(j));
	json_decref(j);
}

static void
test_json_val_times(void **state)
{
	struct cli_val	 v;
	json_t		*j;

	(void)state;
	memset(&v, 0, sizeof(v));
	v.type = SQLITE_INTEGER;
	v.i = INT64_C(1795614036123456);
	j = cli_json_val("start_time", &v);
	assert_string_equal(json_string_value(j), "2026-11-25T13:40:36.123456Z");
	json_decref(j);
	j = cli_json_val("time", &v);
	assert_true(json_is_string(j));
	json_decref(j);
	j = cli_json_val("size", &v);
	assert_true(json_is_integer(j));
	json_decref(j);
	j = cli_json_val("runtime", &v);	/* not "*_time" */
	assert_true(json_is_integer(j));
	json_decref(j);
}

static void
test_fmt_time(void **state)
{
	char	 out[CLI_TIME_SIZE];

	(void)state;
	cli_fmt_time(out, sizeof(out), INT64_C(1795614036123456), 0);
	assert_string_equal(out, "2026-11-25T13:40:36Z");
	cli_fmt_time(out, sizeof(out), INT64_C(1795614036123456), 1);
	assert_string_equal(out, "2026-11-25T13:40:36.123456Z");
}

static void
test_table_aligned(void **state)
{
	static const char *const h[] = { "A", "LONGER", "C" };
	const char *r1[] = { "x", "y", "z" };
	const char *r2[] = { "wide cell", "", "last" };
	struct cli_table *t;
	struct sink	 s;
	char		*out;

	(void)state;
	sink_open(&s, 0, 0, 0);
	t = cli_table_new(&s.cli, 3, h);
	assert_int_equal(cli_table_add(t, r1, NULL), 0);
	assert_int_equal(cli_table_add(t, r2, NULL), 0);
	cli_table_flush(t);
	cli_table_free(t);
	out = sink_close(&s);
	assert_string_equal(out,
	    "A          LONGER  C\n"
	    "x          y       z\n"
	    "wide cell          last\n");
	free(out);
}

static void
test_table_terminal(void **state)
{
	static const char *const h[] = { "ID", "SUBJECT" };
	const char *r1[] = { "01ABC", "a subject far too long for a narrow"
	    " terminal of thirty columns" };
	enum cli_color colors[] = { CLI_C_GREEN, CLI_C_NONE };
	struct cli_table *t;
	struct sink	 s;
	char		*out, *line2;

	(void)state;
	/* A terminal of 30 columns: the flex column is cut with "...". */
	sink_open(&s, 1, 30, 0);
	t = cli_table_new(&s.cli, 2, h);
	cli_table_flex(t, 1);
	cli_table_add(t, r1, colors);
	cli_table_flush(t);
	cli_table_free(t);
	out = sink_close(&s);
	line2 = strchr(out, '\n') + 1;
	if (strlen(line2) != 31 || strstr(line2, "...\n") == NULL)
		fail_msg("got \"%s\", want 30 columns ending in \"...\"",
		    line2);
	assert_null(strchr(out, 0x1b));
	free(out);

	/* Colour when asked: our sequences only, around the cell. */
	sink_open(&s, 1, 200, 1);
	t = cli_table_new(&s.cli, 2, h);
	cli_table_add(t, r1, colors);
	cli_table_flush(t);
	cli_table_free(t);
	out = sink_close(&s);
	assert_non_null(strstr(out, "\033[32m01ABC\033[0m"));
	assert_non_null(strstr(out, "\033[1mID"));
	free(out);

	/* Not a terminal: nothing cut. */
	sink_open(&s, 0, 0, 0);
	t = cli_table_new(&s.cli, 2, h);
	cli_table_flex(t, 1);
	cli_table_max(t, 1, 5);
	cli_table_add(t, r1, colors);
	cli_table_flush(t);
	cli_table_free(t);
	out = sink_close(&s);
	assert_non_null(strstr(out, "thirty columns\n"));
	free(out);
}

static void
test_table_stream_and_indent(void **state)
{
	const char *r1[] = { "a", "b" };
	const char *r2[] = { "longer", "c" };
	struct cli_table *t;
	struct sink	 s;
	char		*out;

	(void)state;
	sink_open(&s, 0, 0, 0);
	t = cli_table_new(&s.cli, 2, NULL);
	cli_table_stream(t, 0);
	cli_table_min(t, 0, 4);
	cli_table_indent(t, 2);
	cli_table_add(t, r1, NULL);
	cli_table_add(t, r2, NULL);
	cli_table_free(t);
	out = sink_close(&s);
	/* Widths fixed by the first row (and the minimum): later rows push. */
	assert_string_equal(out, "  a     b\n  longer  c\n");
	free(out);
}

static void
test_table_many_rows(void **state)
{
	const char *row[] = { "r", "v" };
	struct cli_table *t;
	struct sink	 s;
	char		*out, *p;
	int		 i, lines = 0;

	(void)state;
	sink_open(&s, 0, 0, 0);
	t = cli_table_new(&s.cli, 2, NULL);
	for (i = 0; i < 2500; i++)
		assert_int_equal(cli_table_add(t, row, NULL), 0);
	cli_table_flush(t);
	cli_table_free(t);
	out = sink_close(&s);
	for (p = out; *p != '\0'; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 2500);
	free(out);
}

static void
test_wrapped(void **state)
{
	struct sink	 s;
	char		*out;

	(void)state;
	sink_open(&s, 1, 40, 0);
	cli_print_wrapped(&s.cli, "  ", "Label", 8, "one two three four five"
	    " six seven eight nine ten eleven twelve");
	out = sink_close(&s);
	assert_string_equal(out,
	    "  Label   one two three four five six\n"
	    "          seven eight nine ten eleven\n"
	    "          twelve\n");
	assert_int_equal(has_control(out, strlen(out), 0), 0);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_esc),
		cmocka_unit_test(test_csv_cell),
		cmocka_unit_test(test_json_bytes),
		cmocka_unit_test(test_json_val_times),
		cmocka_unit_test(test_fmt_time),
		cmocka_unit_test(test_table_aligned),
		cmocka_unit_test(test_table_terminal),
		cmocka_unit_test(test_table_stream_and_indent),
		cmocka_unit_test(test_table_many_rows),
		cmocka_unit_test(test_wrapped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
