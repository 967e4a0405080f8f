/*
 * test_cli_time.c - the times --since and --until accept.
 *
 * Absolute ISO 8601 forms (date, month, minute, second, fraction, zones),
 * relative durations, the span each form stands for (so that "--until
 * DAY" includes the day), and every error a user can make, each with a
 * message that names what is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cli/timeparse.h"

#define SEC	INT64_C(1000000)
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)

/* 2026-11-25T00:00:00Z */
#define D20261125	(INT64_C(20782) * DAY)
/* "now" for the relative cases: 2026-11-25T14:30:00Z */
#define NOW		(D20261125 + 14 * HOUR + 30 * MIN)

static void
test_days_from_civil(void **state)
{
	(void)state;
	assert_int_equal(cli_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(cli_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(cli_days_from_civil(2026, 11, 25), 20782);
	assert_int_equal(cli_days_from_civil(2024, 2, 29), 19782);
}

static void
test_parse_table(void **state)
{
	static const struct {
		const char	*in;
		int64_t		 start;
		int64_t		 span;
	} cases[] = {
		{ "2026-11-25", D20261125, DAY },
		{ "2026-11", D20261125 - 24 * DAY, 30 * DAY },
		{ "2026-02", INT64_C(20485) * DAY, 28 * DAY },
		{ "2024-02", INT64_C(19754) * DAY, 29 * DAY },
		{ "2026-11-25T14:00", D20261125 + 14 * HOUR, MIN },
		{ "2026-11-25 14:00", D20261125 + 14 * HOUR, MIN },
		{ "2026-11-25t14:00", D20261125 + 14 * HOUR, MIN },
		{ "2026-11-25T14:00:05", D20261125 + 14 * HOUR + 5 * SEC, SEC },
		{ "2026-11-25T14:00:05Z", D20261125 + 14 * HOUR + 5 * SEC,
		  SEC },
		{ "2026-11-25T14:00:05.25Z",
		  D20261125 + 14 * HOUR + 5 * SEC + 250000, 10000 },
		{ "2026-11-25T14:00:05,123456Z",
		  D20261125 + 14 * HOUR + 5 * SEC + 123456, 1 },
		{ "2026-11-25T14:00:05.1234567Z",
		  D20261125 + 14 * HOUR + 5 * SEC + 123456, 1 },
		{ "2026-11-25T14:00:00+01:00", D20261125 + 13 * HOUR, SEC },
		{ "2026-11-25T14:00:00+0130", D20261125 + 12 * HOUR + 30 * MIN,
		  SEC },
		{ "2026-11-25T14:00:00-05", D20261125 + 19 * HOUR, SEC },
		{ "2026-11-25T00:30+02:00", D20261125 - 90 * MIN, MIN },
		{ "2026-12-31T23:59:60Z", D20261125 + 37 * DAY - 1, 1 },
		{ "2024-02-29", INT64_C(19782) * DAY, DAY },
		{ "1970-01-01", 0, DAY },
		{ "now", NOW, 0 },
		{ "today", D20261125, DAY },
		{ "yesterday", D20261125 - DAY, DAY },
		{ "2h", NOW - 2 * HOUR, 0 },
		{ "90m", NOW - 90 * MIN, 0 },
		{ "3d", NOW - 3 * DAY, 0 },
		{ "1w", NOW - 7 * DAY, 0 },
		{ "45s", NOW - 45 * SEC, 0 },
		{ "1d12h", NOW - 36 * HOUR, 0 },
		{ "0s", NOW, 0 },
	};
	char	 err[256];
	int64_t	 start, span;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		start = span = -1;
		if (cli_time_parse(cases[i].in, NOW, &start, &span, err,
		    sizeof(err)) < 0)
			fail_msg("\"%s\": got error \"%s\"", cases[i].in, err);
		if (start != cases[i].start || span != cases[i].span)
			fail_msg("\"%s\": got start %lld span %lld, want %lld"
			    " %lld", cases[i].in, (long long)start,
			    (long long)span, (long long)cases[i].start,
			    (long long)cases[i].span);
	}
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char	*in;
		const char	*want;	/* part of the message */
	} cases[] = {
		{ "", "empty" },
		{ "2026-13-01", "month 13 out of range" },
		{ "2026-00-10", "month 0 out of range" },
		{ "2026-02-29", "day 29 out of range for 2026-02" },
		{ "2026-04-31", "day 31 out of range" },
		{ "2026-11-25T24:00", "hour 24 out of range" },
		{ "2026-11-25T12:60", "minute 60 out of range" },
		{ "2026-11-25T12:00:61", "second 61 out of range" },
		{ "1969-12-31", "before 1970" },
		{ "2026-11-25T12", "not a time" },
		{ "2026-11-25T12:00:00.", "not a time" },
		{ "2026-11-25T12:00:00.1234567890", "not a time" },
		{ "2026-11-25X", "unexpected \"X\"" },
		{ "2026-11-25T12:00Zjunk", "unexpected \"Zjunk\"" },
		{ "2026-11-25T12:00+1", "bad zone offset" },
		{ "2026-11-25T12:00+25:00", "zone offset out of range" },
		{ "2026-11-25T12:00 UTC", "unexpected" },
		{ "26-11-25", "unknown unit" },
		{ "yesterdays", "not a time" },
		{ "-2h", "not a time" },
		{ "2", "needs a unit" },
		{ "2x", "unknown unit 'x'" },
		{ "2h3", "needs a unit" },
		{ "99999999999d", "too long" },
		{ "5300w", "too long" },
		{ "tomorrow", "not a time" },
	};
	char	 err[256];
	int64_t	 start, span;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (cli_time_parse(cases[i].in, NOW, &start, &span, err,
		    sizeof(err)) == 0)
			fail_msg("\"%s\": accepted, want an error", cases[i].in);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("\"%s\": got \"%s\", want a message with"
			    " \"%s\"", cases[i].in, err, cases[i].want);
	}
	assert_int_equal(cli_time_parse(NULL, NOW, &start, &span, err,
	    sizeof(err)), -1);
}

static void
test_duration(void **state)
{
	static const struct {
		const char	*in;
		int64_t		 want;	/* -1: error */
	} cases[] = {
		{ "1s", SEC },
		{ "15m", 15 * MIN },
		{ "1h30m", 90 * MIN },
		{ "2d", 2 * DAY },
		{ "1w1d", 8 * DAY },
		{ "36500d", 36500 * DAY },
		{ "36526d", -1 },
		{ "", -1 },
		{ "h", -1 },
		{ "10", -1 },
		{ "1y", -1 },
		{ "1h 30m", -1 },
	};
	char	 err[256];
	int64_t	 us;
	size_t	 i;
	int	 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		us = -2;
		rc = cli_duration_parse(cases[i].in, &us, err, sizeof(err));
		if (cases[i].want < 0 && rc == 0)
			fail_msg("\"%s\": got %lld, want an error",
			    cases[i].in, (long long)us);
		if (cases[i].want >= 0 && (rc != 0 || us != cases[i].want))
			fail_msg("\"%s\": got %lld (%s), want %lld",
			    cases[i].in, (long long)us, rc == 0 ? "ok" : err,
			    (long long)cases[i].want);
	}
}

static void
test_duration_format(void **state)
{
	static const struct {
		int64_t		 us;
		const char	*want;
	} cases[] = {
		{ 80, "80us" },
		{ 224, "224us" },
		{ 250300, "250.3ms" },
		{ 45 * SEC, "45s" },
		{ 90 * MIN, "1h30m" },
		{ 2 * HOUR, "2h" },
		{ 3 * MIN + 5 * SEC, "3m5s" },
		{ DAY, "1d" },
		{ 36 * HOUR, "1d12h" },
		{ -2 * HOUR, "2h" },
	};
	char	 out[32];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cli_duration_format(out, sizeof(out), cases[i].us);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("%lld: got \"%s\", want \"%s\"",
			    (long long)cases[i].us, out, cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_days_from_civil),
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_duration_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
