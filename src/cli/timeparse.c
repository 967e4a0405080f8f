/*
 * timeparse.c - ISO 8601 and relative times for --since and --until.
 *
 * Only the forms timeparse.h lists are accepted; anything else is an error
 * that names what is wrong, never a guess.  Calendar arithmetic is done by
 * hand (days from civil date) so that the result never depends on the TZ
 * environment or the C library's timegm.
 *
 * Invariants: every accepted time lies in years 1970..9999; durations are
 * capped at 100 years so that no arithmetic overflows.
 *
 * Thread safety: pure functions.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/timeparse.h"

#define US_PER_SEC	INT64_C(1000000)
#define US_PER_MIN	(60 * US_PER_SEC)
#define US_PER_HOUR	(60 * US_PER_MIN)
#define US_PER_DAY	(24 * US_PER_HOUR)
#define DURATION_MAX	(INT64_C(36525) * US_PER_DAY)	/* 100 years */

int64_t
cli_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
days_in_month(int64_t y, unsigned m)
{
	static const unsigned days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Exactly n digits at *p; advances *p.  -1 if not. */
static int64_t
digits(const char **p, int n)
{
	int64_t	 v = 0;
	int	 i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return v;
}

int
cli_duration_parse(const char *s, int64_t *us, char *err, size_t errlen)
{
	const char	*p = s;
	int64_t		 total = 0, n, unit;

	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "empty duration");
		return -1;
	}
	while (*p != '\0') {
		if (!isdigit((unsigned char)*p)) {
			snprintf(err, errlen, "\"%s\": expected a number"
			    " followed by s, m, h, d or w (e.g. 2h, 3d, 1d12h)",
			    s);
			return -1;
		}
		for (n = 0; isdigit((unsigned char)*p); p++) {
			n = n * 10 + (*p - '0');
			if (n > DURATION_MAX / US_PER_SEC) {
				snprintf(err, errlen, "\"%s\": duration too"
				    " long (at most 100 years)", s);
				return -1;
			}
		}
		switch (*p) {
		case 's':
			unit = US_PER_SEC;
			break;
		case 'm':
			unit = US_PER_MIN;
			break;
		case 'h':
			unit = US_PER_HOUR;
			break;
		case 'd':
			unit = US_PER_DAY;
			break;
		case 'w':
			unit = 7 * US_PER_DAY;
			break;
		case '\0':
			snprintf(err, errlen, "\"%s\": the number needs a unit"
			    " (s, m, h, d or w)", s);
			return -1;
		default:
			snprintf(err, errlen, "\"%s\": unknown unit '%c' (use"
			    " s, m, h, d or w)", s, isprint((unsigned char)*p) ?
			    *p : '?');
			return -1;
		}
		p++;
		if (n > (DURATION_MAX - total) / unit) {
			snprintf(err, errlen, "\"%s\": duration too long (at"
			    " most 100 years)", s);
			return -1;
		}
		total += n * unit;
	}
	*us = total;
	return 0;
}

char *
cli_duration_format(char *out, size_t outsz, int64_t us)
{
	int64_t	 d, h, m, s;

	if (us < 0)
		us = -us;
	if (us < 1000) {
		snprintf(out, outsz, "%" PRId64 "us", us);
		return out;
	}
	if (us < US_PER_SEC) {
		snprintf(out, outsz, "%" PRId64 ".%" PRId64 "ms", us / 1000,
		    us % 1000 / 100);
		return out;
	}
	d = us / US_PER_DAY;
	h = us % US_PER_DAY / US_PER_HOUR;
	m = us % US_PER_HOUR / US_PER_MIN;
	s = us % US_PER_MIN / US_PER_SEC;
	if (d > 0)
		snprintf(out, outsz, h > 0 ? "%" PRId64 "d%" PRId64 "h" :
		    "%" PRId64 "d", d, h);
	else if (h > 0)
		snprintf(out, outsz, m > 0 ? "%" PRId64 "h%" PRId64 "m" :
		    "%" PRId64 "h", h, m);
	else if (m > 0)
		snprintf(out, outsz, s > 0 ? "%" PRId64 "m%" PRId64 "s" :
		    "%" PRId64 "m", m, s);
	else
		snprintf(out, outsz, "%" PRId64 "s", s);
	return out;
}

/* The zone suffix at p: Z, +hh, +hhmm, +hh:mm; sets *off_us. */
static int
parse_zone(const char *s, const char *p, int64_t *off_us, char *err,
    size_t errlen)
{
	int64_t	 hh, mm = 0;
	int	 sign;

	*off_us = 0;
	if (*p == '\0')
		return 0;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		return 0;
	if (*p != '+' && *p != '-') {
		snprintf(err, errlen, "\"%s\": unexpected \"%s\" after the"
		    " time (a zone is Z, +hh:mm or -hh:mm)", s, p);
		return -1;
	}
	sign = *p == '-' ? -1 : 1;
	p++;
	if ((hh = digits(&p, 2)) < 0)
		goto bad;
	if (*p == ':')
		p++;
	if (*p != '\0' && (mm = digits(&p, 2)) < 0)
		goto bad;
	if (*p != '\0')
		goto bad;
	if (hh > 23 || mm > 59) {
		snprintf(err, errlen, "\"%s\": zone offset out of range", s);
		return -1;
	}
	*off_us = sign * (hh * US_PER_HOUR + mm * US_PER_MIN);
	return 0;
bad:
	snprintf(err, errlen, "\"%s\": bad zone offset (use Z, +hh:mm or"
	    " -hh:mm)", s);
	return -1;
}

static int
parse_absolute(const char *s, int64_t *start, int64_t *span, char *err,
    size_t errlen)
{
	const char	*p = s;
	int64_t		 y, mo, d = 1, hh = 0, mi = 0, ss = 0, frac = 0, off;
	int64_t		 sp, days;
	int		 nfrac;

	if ((y = digits(&p, 4)) < 0 || *p != '-')
		goto syntax;
	p++;
	if ((mo = digits(&p, 2)) < 0)
		goto syntax;
	if (mo < 1 || mo > 12) {
		snprintf(err, errlen, "\"%s\": month %" PRId64 " out of range",
		    s, mo);
		return -1;
	}
	if (y < 1970) {
		snprintf(err, errlen, "\"%s\": year %" PRId64 " is before"
		    " 1970", s, y);
		return -1;
	}
	if (*p == '\0') {
		/* A month. */
		*start = cli_days_from_civil(y, (unsigned)mo, 1) * US_PER_DAY;
		*span = days_in_month(y, (unsigned)mo) * US_PER_DAY;
		return 0;
	}
	if (*p != '-')
		goto syntax;
	p++;
	if ((d = digits(&p, 2)) < 0)
		goto syntax;
	if (d < 1 || d > days_in_month(y, (unsigned)mo)) {
		snprintf(err, errlen, "\"%s\": day %" PRId64 " out of range"
		    " for %04" PRId64 "-%02" PRId64, s, d, y, mo);
		return -1;
	}
	sp = US_PER_DAY;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if ((hh = digits(&p, 2)) < 0 || *p != ':')
			goto syntax;
		p++;
		if ((mi = digits(&p, 2)) < 0)
			goto syntax;
		sp = US_PER_MIN;
		if (*p == ':') {
			p++;
			if ((ss = digits(&p, 2)) < 0)
				goto syntax;
			sp = US_PER_SEC;
			if (*p == '.' || *p == ',') {
				p++;
				if (!isdigit((unsigned char)*p))
					goto syntax;
				for (nfrac = 0; isdigit((unsigned char)*p);
				    p++, nfrac++) {
					if (nfrac < 6)
						frac = frac * 10 + (*p - '0');
					if (nfrac >= 9)
						goto syntax;
				}
				for (sp = 1; nfrac < 6; nfrac++) {
					frac *= 10;
					sp *= 10;
				}
			}
		}
		if (hh > 23) {
			snprintf(err, errlen, "\"%s\": hour %" PRId64 " out of"
			    " range", s, hh);
			return -1;
		}
		if (mi > 59) {
			snprintf(err, errlen, "\"%s\": minute %" PRId64 " out"
			    " of range", s, mi);
			return -1;
		}
		if (ss > 60) {
			snprintf(err, errlen, "\"%s\": second %" PRId64 " out"
			    " of range", s, ss);
			return -1;
		}
		if (ss == 60) {		/* a leap second: its last instant */
			ss = 59;
			frac = US_PER_SEC - 1;
			sp = 1;
		}
	}
	if (parse_zone(s, p, &off, err, errlen) < 0)
		return -1;
	days = cli_days_from_civil(y, (unsigned)mo, (unsigned)d);
	*start = days * US_PER_DAY + hh * US_PER_HOUR + mi * US_PER_MIN +
	    ss * US_PER_SEC + frac - off;
	*span = sp;
	if (*start < 0) {
		snprintf(err, errlen, "\"%s\": before 1970", s);
		return -1;
	}
	return 0;

syntax:
	snprintf(err, errlen, "\"%s\": not a time (use 2026-11-25,"
	    " 2026-11-25T14:00:00Z, or a duration before now such as 2h,"
	    " 3d)", s);
	return -1;
}

int
cli_time_parse(const char *s, int64_t now_us, int64_t *start, int64_t *span,
    char *err, size_t errlen)
{
	int64_t	 d;

	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "empty time");
		return -1;
	}
	if (strcmp(s, "now") == 0) {
		*start = now_us;
		*span = 0;
		return 0;
	}
	if (strcmp(s, "today") == 0 || strcmp(s, "yesterday") == 0) {
		*start = now_us - now_us % US_PER_DAY;
		if (s[0] == 'y')
			*start -= US_PER_DAY;
		*span = US_PER_DAY;
		return 0;
	}
	/* Four digits and a dash: a date; otherwise a duration. */
	if (strlen(s) >= 5 && isdigit((unsigned char)s[0]) &&
	    isdigit((unsigned char)s[1]) && isdigit((unsigned char)s[2]) &&
	    isdigit((unsigned char)s[3]) && s[4] == '-')
		return parse_absolute(s, start, span, err, errlen);
	if (!isdigit((unsigned char)s[0])) {
		snprintf(err, errlen, "\"%s\": not a time (use 2026-11-25,"
		    " 2026-11-25T14:00:00Z, or a duration before now such as"
		    " 2h, 3d)", s);
		return -1;
	}
	if (cli_duration_parse(s, &d, err, errlen) < 0)
		return -1;
	*start = now_us - d;
	*span = 0;
	return 0;
}
