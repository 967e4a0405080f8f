/*
 * test_trackid.c - tracking IDs: format, ordering, uniqueness across threads.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mailtrail/clock.h"
#include "mailtrail/trackid.h"

#define THREADS		8
#define PER_THREAD	20000

static void
test_format(void **state)
{
	char	 id[MT_TRACKID_SIZE];
	size_t	 i;

	(void)state;
	assert_int_equal(trackid_new(id), 0);
	assert_int_equal(strlen(id), MT_TRACKID_LEN);
	for (i = 0; i < MT_TRACKID_LEN; i++)
		assert_non_null(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ",
		    id[i]));
	assert_true(trackid_valid(id, strlen(id)));
}

/*
 * The time prefix round-trips.  IDs never go back in time within a process,
 * so the times here only increase and lie beyond those of earlier cases;
 * this case runs last.
 */
static void
test_time_roundtrip(void **state)
{
	static const int64_t times_us[] = {
		7258118400000000LL,	/* 2200-01-01 */
		10413792000000000LL,	/* 2300-01-01 */
		281474976710655000LL,	/* 2^48 - 1 ms: the last one */
	};
	char	 id[MT_TRACKID_SIZE];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(times_us) / sizeof(times_us[0]); i++) {
		assert_int_equal(trackid_new_at(id, times_us[i]), 0);
		if (trackid_time_ms(id, MT_TRACKID_LEN) != times_us[i] / 1000)
			fail_msg("time %lld: got %lld ms, want %lld",
			    (long long)times_us[i],
			    (long long)trackid_time_ms(id, MT_TRACKID_LEN),
			    (long long)(times_us[i] / 1000));
	}
}

static void
test_valid_table(void **state)
{
	static const struct {
		const char	*id;
		int		 want;
	} cases[] = {
		{ "01JDZ3Q6X5K8N2T4V7W9Y0ABCD", 1 },
		{ "01jdz3q6x5k8n2t4v7w9y0abcd", 1 },	/* case-insensitive */
		{ "01JDZ3Q6X5K8N2T4V7W9Y0ABC", 0 },	/* 25 characters */
		{ "01JDZ3Q6X5K8N2T4V7W9Y0ABCDE", 0 },	/* 27 */
		{ "01JDZ3Q6X5K8N2T4V7W9Y0ABCI", 0 },	/* I is not base32 */
		{ "01JDZ3Q6X5K8N2T4V7W9Y0AB-D", 0 },
		{ "81JDZ3Q6X5K8N2T4V7W9Y0ABCD", 0 },	/* time over 48 bits */
		{ "", 0 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (trackid_valid(cases[i].id, strlen(cases[i].id)) !=
		    cases[i].want)
			fail_msg("trackid_valid(\"%s\"): got %d, want %d",
			    cases[i].id, !cases[i].want, cases[i].want);
}

/* Same millisecond, and a clock stepping back: still strictly increasing. */
static void
test_monotonic_same_ms(void **state)
{
	char	 a[MT_TRACKID_SIZE], b[MT_TRACKID_SIZE];
	int64_t	 base;
	int	 i;

	(void)state;
	base = mt_now_us() + 10000000;	/* later than any ID made so far */
	assert_int_equal(trackid_new_at(a, base), 0);
	for (i = 0; i < 1000; i++) {
		int64_t t = base - (i % 3) * 1000;

		assert_int_equal(trackid_new_at(b, t), 0);
		if (strcmp(a, b) >= 0)
			fail_msg("not increasing: %s then %s", a, b);
		memcpy(a, b, sizeof(a));
	}
}

/* The low 60 bits of an ID's random part (its last 12 characters). */
static uint64_t
low60(const char *id)
{
	static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	uint64_t	 v = 0;
	int		 i;

	for (i = MT_TRACKID_LEN - 12; i < MT_TRACKID_LEN; i++)
		v = v << 5 | (uint64_t)(strchr(b32, id[i]) - b32);
	return v;
}

/*
 * Many IDs in one millisecond: unique, increasing, and the step from one
 * to the next is random (1 .. 2^32), not a constant one: a neighbour's ID
 * cannot be had by adding one to one's own.
 */
static void
test_same_ms_unpredictable(void **state)
{
	enum { N = 2000 };
	static char	 seq[N][MT_TRACKID_SIZE];
	uint64_t	 step, first = 0;
	int64_t		 at;
	int		 i, distinct = 0, ones = 0;

	(void)state;
	at = mt_now_us() + 20000000;	/* later than any ID made so far */
	for (i = 0; i < N; i++) {
		assert_int_equal(trackid_new_at(seq[i], at), 0);
		assert_int_equal(trackid_time_ms(seq[i], MT_TRACKID_LEN),
		    at / 1000);
	}
	for (i = 1; i < N; i++) {
		if (strcmp(seq[i - 1], seq[i]) >= 0)
			fail_msg("not increasing: %s then %s", seq[i - 1],
			    seq[i]);
		step = (low60(seq[i]) - low60(seq[i - 1])) &
		    ((UINT64_C(1) << 60) - 1);
		if (step < 1 || step > (UINT64_C(1) << 32))
			fail_msg("step %llu between %s and %s out of 1..2^32",
			    (unsigned long long)step, seq[i - 1], seq[i]);
		if (i == 1)
			first = step;
		else if (step != first)
			distinct = 1;
		if (step == 1)
			ones++;
	}
	if (!distinct)
		fail_msg("every step is %llu: the next ID is guessable",
		    (unsigned long long)first);
	/* A step of exactly one should be a 1-in-2^32 event, not the rule. */
	if (ones > 2)
		fail_msg("%d of %d steps are +1", ones, N - 1);
}

static char	 ids[THREADS][PER_THREAD][MT_TRACKID_SIZE];

static void *
worker(void *arg)
{
	char	(*mine)[MT_TRACKID_SIZE] = arg;
	int	 i;

	for (i = 0; i < PER_THREAD; i++)
		if (trackid_new(mine[i]) != 0)
			return (void *)1;
	return NULL;
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
test_unique_across_threads(void **state)
{
	pthread_t	 t[THREADS];
	void		*ret;
	char		(*all)[MT_TRACKID_SIZE];
	int		 i, j;

	(void)state;
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, ids[i]), 0);
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	/* Each thread's IDs increase (they come from one process). */
	for (i = 0; i < THREADS; i++)
		for (j = 1; j < PER_THREAD; j++)
			if (strcmp(ids[i][j - 1], ids[i][j]) >= 0)
				fail_msg("thread %d: %s then %s", i,
				    ids[i][j - 1], ids[i][j]);
	all = malloc(sizeof(ids));
	assert_non_null(all);
	memcpy(all, ids, sizeof(ids));
	qsort(all, THREADS * PER_THREAD, MT_TRACKID_SIZE, cmp_id);
	for (i = 1; i < THREADS * PER_THREAD; i++)
		if (strcmp(all[i - 1], all[i]) == 0)
			fail_msg("duplicate ID %s", all[i]);
	free(all);
}

/* IDs made later sort later (time prefix). */
static void
test_order_by_time(void **state)
{
	char	 a[MT_TRACKID_SIZE], b[MT_TRACKID_SIZE];

	(void)state;
	assert_int_equal(trackid_new_at(a, 4102444800000000LL), 0);
	assert_int_equal(trackid_new_at(b, 4102444800001000LL), 0);
	assert_true(strcmp(a, b) < 0);
	assert_int_equal(trackid_time_ms(b, MT_TRACKID_LEN) -
	    trackid_time_ms(a, MT_TRACKID_LEN), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_valid_table),
		cmocka_unit_test(test_monotonic_same_ms),
		cmocka_unit_test(test_same_ms_unpredictable),
		cmocka_unit_test(test_unique_across_threads),
		cmocka_unit_test(test_order_by_time),
		cmocka_unit_test(test_time_roundtrip),
	};

	return cmocka_run_group_tests_name("trackid", tests, NULL, NULL);
}
