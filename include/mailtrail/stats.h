/*
 * stats.h - counters and once-per-burst logging of run-time failures.
 *
 * A run-time failure (journal refused a record, a value was truncated, an
 * allocation failed) is logged the first time, then counted silently while
 * it keeps happening; when a burst ends (no occurrence for the quiet period)
 * or the period passes, one line reports how many were suppressed.
 * Thread-safe.
 */
#ifndef MAILTRAIL_STATS_H
#define MAILTRAIL_STATS_H

#include <pthread.h>
#include <stdint.h>

struct mt_burst {
	const char	*what;		/* static: "journal queue full" */
	pthread_mutex_t	 lock;
	uint64_t	 total;		/* all occurrences since start */
	uint64_t	 suppressed;	/* not logged since the last line */
	int64_t		 last_log_us;
	int		 period_s;	/* at most one line per period */
};

#define MT_BURST_INIT(what, period) \
	{ (what), PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, (period) }

/*
 * Count one occurrence; log it (with detail) if no line was written for this
 * burst within the period, mentioning how many were suppressed meanwhile.
 */
void	 mt_burst_hit(struct mt_burst *b, int level, const char *detail);

/* Occurrences so far. */
uint64_t mt_burst_total(struct mt_burst *b);

#endif
