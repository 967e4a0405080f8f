/*
 * stats.c - once-per-burst logging of run-time failures, with counters.
 */
#include <inttypes.h>

#include "mailtrail/clock.h"
#include "mailtrail/log.h"
#include "mailtrail/stats.h"

void
mt_burst_hit(struct mt_burst *b, int level, const char *detail)
{
	int64_t	 now = mt_mono_us();
	uint64_t suppressed = 0, total;
	int	 emit = 0;

	pthread_mutex_lock(&b->lock);
	b->total++;
	total = b->total;
	if (b->last_log_us == 0 ||
	    now - b->last_log_us >= (int64_t)b->period_s * 1000000) {
		emit = 1;
		suppressed = b->suppressed;
		b->suppressed = 0;
		b->last_log_us = now;
	} else
		b->suppressed++;
	pthread_mutex_unlock(&b->lock);

	if (emit)
		mt_log(level, "%s: %s total=%" PRIu64 " suppressed=%" PRIu64,
		    b->what, detail != NULL ? detail : "", total, suppressed);
}

uint64_t
mt_burst_total(struct mt_burst *b)
{
	uint64_t t;

	pthread_mutex_lock(&b->lock);
	t = b->total;
	pthread_mutex_unlock(&b->lock);
	return t;
}
