/*
 * clock.h - the wall clock, injectable for tests.
 *
 * All times in mailtrail are UTC microseconds since the epoch (int64).
 * Tests replace the clock with mt_clock_set(); the daemon never does.
 */
#ifndef MAILTRAIL_CLOCK_H
#define MAILTRAIL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t (*mt_clock_fn)(void);

/* Current time in microseconds since the epoch, UTC. */
int64_t	 mt_now_us(void);

/* Replace the clock (NULL restores the system clock).  Not thread-safe. */
void	 mt_clock_set(mt_clock_fn fn);

/* Monotonic microseconds, for durations only. */
int64_t	 mt_mono_us(void);

/* ISO 8601 UTC with microseconds, "2026-11-25T14:32:36.123456Z". */
#define MT_ISO8601_SIZE	32
char	*mt_iso8601(char *out, size_t outsz, int64_t us);

#endif
