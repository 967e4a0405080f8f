/*
 * timeparse.h - the times the mailtrail command accepts.
 *
 * --since and --until take an absolute ISO 8601 time or a relative one:
 *
 *   2026-11-25                   a day (UTC unless a zone is given)
 *   2026-11                      a month
 *   2026-11-25T14:00             to the minute ("T" or one space)
 *   2026-11-25T14:00:05.25Z      to the microsecond, Z or +hh:mm / +hhmm / +hh
 *   2h  90m  3d  1w  45s  1d12h  that long before now
 *   now  today  yesterday        (today and yesterday are UTC days)
 *
 * A value stands for the span it names: "2026-11-25" is the whole day, so
 * "--until 2026-11-25" includes that day (the range ends at the end of the
 * span), while "--since 2026-11-25" starts at its beginning.  Relative
 * values are instants.
 *
 * Pure functions of their arguments (now is passed in): thread-safe.
 */
#ifndef MAILTRAIL_CLI_TIMEPARSE_H
#define MAILTRAIL_CLI_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse s.  Sets *start (microseconds since the epoch, UTC) and *span (the
 * length of the period s names: a day, a minute, ...; 0 for an instant).
 * Returns 0, or -1 with the reason in err ("month 13 out of range").
 */
int	 cli_time_parse(const char *s, int64_t now_us, int64_t *start,
	    int64_t *span, char *err, size_t errlen);

/*
 * Parse a duration: one or more <number><unit> with units s, m, h, d, w
 * ("1d12h", "90m").  Returns 0 with *us, or -1 with the reason in err.
 */
int	 cli_duration_parse(const char *s, int64_t *us, char *err,
	    size_t errlen);

/* Format a duration compactly: "3d", "1h30m", "45s", "250.3ms", "80us". */
char	*cli_duration_format(char *out, size_t outsz, int64_t us);

/* Days since 1970-01-01 of a proleptic Gregorian date (no checks). */
int64_t	 cli_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
