/*
 * clock.c - wall and monotonic clocks; the wall clock is injectable.
 */
#include <stdio.h>
#include <time.h>

#include "mailtrail/clock.h"

static mt_clock_fn clock_override;

int64_t
mt_now_us(void)
{
	struct timespec	 ts;

	if (clock_override != NULL)
		return clock_override();
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
mt_clock_set(mt_clock_fn fn)
{
	clock_override = fn;
}

int64_t
mt_mono_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *
mt_iso8601(char *out, size_t outsz, int64_t us)
{
	time_t		 secs;
	long		 frac;
	struct tm	 tm;

	secs = (time_t)(us / 1000000);
	frac = (long)(us % 1000000);
	if (frac < 0) {
		frac += 1000000;
		secs--;
	}
	if (gmtime_r(&secs, &tm) == NULL) {
		snprintf(out, outsz, "invalid-time");
		return out;
	}
	snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	return out;
}
