/*
 * maillog.c - the MTA's mail log, one line at a time (see maillog.h).
 *
 * A line is read in three steps: the frame (an optional syslog priority,
 * the time stamp, host, program tag and pid), the program (Postfix by its
 * "postfix.../daemon" tag, Sendmail by "sendmail" or "sm-..."), then the
 * message text by a parser per MTA.  Every step moves a cursor forward
 * between the line's start and its end and never looks past the end: the
 * line need not be NUL-terminated and may hold NULs or any byte.
 *
 * Invariants: no allocation, no sscanf, no regex, no locale-dependent
 * character classes; every slice of the event lies inside the line; a
 * field is never longer than MLOG_MAX_FIELD (cut, and counted in
 * ev->truncated).  The cost of a line is linear in its length, with small
 * constants: the hot path is memchr and byte compares.
 *
 * Year inference (classic stamps have none): the first classic stamp gets
 * the reference time's year, or the year before when the stamp would lie
 * more than a day after the reference; each later stamp keeps the year of
 * the one before unless the month moves back by six or more (the log went
 * across New Year: one year on) or forward by six or more (a stray line
 * from the old year: one year back).  Lines a little out of order (a few
 * days) keep their year.
 *
 * Thread safety: a parser holds the year and time-zone state of one log;
 * use it from one thread at a time.  mlog_line_hash and the name functions
 * are pure.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailtrail/maillog.h"

struct mlog_parser {
	int64_t	 ref_us;	/* the log ends here; 0 = now at first use */
	int32_t	 tz;		/* seconds east of UTC, or MLOG_TZ_LOCAL */
	int	 year;		/* year of the last classic stamp; 0: none yet */
	int	 mon;		/* its month, 0..11 */
	int64_t	 tz_hour;	/* MLOG_TZ_LOCAL: local hour cached, or -1 */
	int32_t	 tz_hour_off;	/* and its offset east of UTC */
	int64_t	 day_key;	/* y*10000+m*100+d of the last date, or -1 */
	int64_t	 day_num;	/* its days since 1970-01-01 */
};

/* ---------------------------------------------------------------- bytes */

static inline int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline int
is_alnum(unsigned char c)
{
	return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static inline int
is_upper_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'F');
}

/* Does [s, e) start with the NUL-terminated literal lit? */
static inline int
starts(const char *s, const char *e, const char *lit, size_t n)
{
	return (size_t)(e - s) >= n && memcmp(s, lit, n) == 0;
}
#define STARTS(s, e, lit)	starts((s), (e), (lit), sizeof(lit) - 1)

/* The first occurrence of needle[0..n) in [s, e), or NULL. */
static const char *
find(const char *s, const char *e, const char *needle, size_t n)
{
	const char	*q;

	while ((size_t)(e - s) >= n) {
		if ((q = memchr(s, needle[0], (size_t)(e - s) - n + 1)) == NULL)
			return NULL;
		if (memcmp(q, needle, n) == 0)
			return q;
		s = q + 1;
	}
	return NULL;
}
#define FIND(s, e, lit)	find((s), (e), (lit), sizeof(lit) - 1)

/* The last occurrence of c in [s, e), or NULL. */
static const char *
find_last(const char *s, const char *e, char c)
{
	while (e > s)
		if (*--e == c)
			return e;
	return NULL;
}

/* Store a slice, cut to MLOG_MAX_FIELD. */
static void
put(struct mlog_event *ev, struct mlog_str *f, const char *s, const char *e)
{
	size_t	 n = (size_t)(e - s);

	if (n > MLOG_MAX_FIELD) {
		n = MLOG_MAX_FIELD;
		ev->truncated++;
	}
	f->p = s;
	f->len = n;
}

/* Store an address, without its angle brackets when it has both. */
static void
put_addr(struct mlog_event *ev, struct mlog_str *f, const char *s,
    const char *e)
{
	if (e - s >= 2 && s[0] == '<' && e[-1] == '>') {
		s++;
		e--;
	}
	put(ev, f, s, e);
}

/* A non-negative decimal integer; -1 when none or absurd. */
static long long
parse_ll(const char *s, const char *e)
{
	long long	 v = 0;
	const char	*q = s;

	while (q < e && is_digit(*q) && q - s < 18)
		v = v * 10 + (*q++ - '0');
	return q == s ? -1 : v;
}

/* A non-negative decimal number "12", "0.38", ".5"; -1 when none. */
static double
parse_seconds(const char *s, const char *e)
{
	double	 v = 0, scale = 0.1;
	int	 any = 0;

	while (s < e && is_digit(*s) && any < 15) {
		v = v * 10 + (*s++ - '0');
		any++;
	}
	if (s < e && *s == '.') {
		for (s++; s < e && is_digit(*s); s++, any++) {
			v += (*s - '0') * scale;
			scale /= 10;
		}
	}
	return any ? v : -1;
}

/*
 * Sendmail's delay: [d+]hh:mm:ss; -1 when not that shape, or with more
 * days than SMS_DAYS_MAX (a line's digits must not overflow the sum).
 */
#define SMS_DAYS_MAX	1000000
static double
parse_hms(const char *s, const char *e)
{
	long long	 days = 0, part[3];
	const char	*plus, *q;
	int		 i;

	if ((plus = memchr(s, '+', (size_t)(e - s))) != NULL) {
		if ((days = parse_ll(s, plus)) < 0 || days > SMS_DAYS_MAX)
			return -1;
		s = plus + 1;
	}
	for (i = 0; i < 3; i++) {
		for (q = s; q < e && is_digit(*q); q++)
			;
		if (q == s || q - s > 9)
			return -1;
		part[i] = parse_ll(s, q);
		if (i < 2) {
			if (q >= e || *q != ':')
				return -1;
			q++;
		}
		s = q;
	}
	return (double)(days * 86400 + part[0] * 3600 + part[1] * 60 +
	    part[2]);
}

/* A three-digit SMTP reply code at s ("550 ", "421-", "250" at the end). */
static int
reply_code_at(const char *s, const char *e)
{
	if (e - s < 3 || s[0] < '2' || s[0] > '5' || !is_digit(s[1]) ||
	    !is_digit(s[2]))
		return 0;
	if (e - s > 3 && s[3] != ' ' && s[3] != '-')
		return 0;
	return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

/* Length of an enhanced status code "5.1.1" at s, or 0. */
static size_t
dsn_at(const char *s, const char *e)
{
	const char	*q = s;
	int		 i, n;

	if (q >= e || (*q != '2' && *q != '4' && *q != '5'))
		return 0;
	q++;
	for (i = 0; i < 2; i++) {
		if (q >= e || *q != '.')
			return 0;
		for (q++, n = 0; q < e && is_digit(*q) && n < 3; q++, n++)
			;
		if (n == 0)
			return 0;
	}
	if (q < e && is_alnum(*q))
		return 0;
	return (size_t)(q - s);
}

/* Reply code and enhanced code from a reply text ("550 5.1.1 ..."). */
static void
reply_codes(struct mlog_event *ev, const char *s, const char *e,
    int want_dsn)
{
	const char	*said;
	size_t		 n;

	if ((ev->reply_code = reply_code_at(s, e)) == 0 &&
	    (said = FIND(s, e, "said: ")) != NULL && said > s &&
	    said[-1] == ' ') {
		s = said + 6;
		ev->reply_code = reply_code_at(s, e);
	}
	if (!want_dsn || ev->dsn.p != NULL)
		return;
	if (ev->reply_code != 0)
		s += 4;
	if ((n = dsn_at(s, e)) > 0)
		put(ev, &ev->dsn, s, s + n);
}

/* A token that may be a queue ID: letters and digits. */
static const char *
qid_token_end(const char *s, const char *e)
{
	const char	*q = s;

	while (q < e && is_alnum(*q) && q - s < MLOG_QUEUE_ID_MAX)
		q++;
	return q;
}

/* The next hop's queue ID named in a reply, if any. */
static void
next_qid(struct mlog_event *ev, const char *s, const char *e)
{
	const char	*q, *t = NULL, *te;

	if ((q = FIND(s, e, "queued as ")) != NULL)
		t = q + 10;
	else if ((q = FIND(s, e, "forwarded as ")) != NULL)
		t = q + 13;
	else if ((q = FIND(s, e, "Message accepted for delivery")) != NULL &&
	    q > s && q[-1] == ' ') {
		/* Sendmail's own reply: "<qid> Message accepted ..." */
		for (t = q - 1; t > s && is_alnum(t[-1]); t--)
			;
	}
	if (t == NULL)
		return;
	te = qid_token_end(t, e);
	if (te - t >= 5 && (te == e || !is_alnum(*te)))
		put(ev, &ev->next_queue_id, t, te);
}

/* ---------------------------------------------------------------- time */

/* Days from 1970-01-01 to y-m-d (m 1..12), proleptic Gregorian. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* days_from_civil, remembering the last date (most lines share it). */
static int64_t
day_number(struct mlog_parser *p, int y, int m, int d)
{
	int64_t	 key = (int64_t)y * 10000 + m * 100 + d;

	if (key != p->day_key) {
		p->day_num = days_from_civil(y, m, d);
		p->day_key = key;
	}
	return p->day_num;
}

/* Exactly n digits at *pp into *out. */
static int
digits(const char **pp, const char *e, int n, int *out)
{
	const char	*p = *pp;
	int		 v = 0, i;

	if (e - p < n)
		return -1;
	for (i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*pp = p + n;
	*out = v;
	return 0;
}

/* Optional ".ddd" fraction as microseconds. */
static int64_t
fraction_us(const char **pp, const char *e)
{
	const char	*p = *pp;
	int64_t		 us = 0;
	int		 n = 0;

	if (p >= e || *p != '.')
		return 0;
	for (p++; p < e && is_digit(*p); p++, n++)
		if (n < 6)
			us = us * 10 + (*p - '0');
	for (; n < 6; n++)
		us *= 10;
	*pp = p;
	return us;
}

/* Local seconds (as if UTC) to UTC seconds under the parser's zone. */
static int64_t
local_to_utc(struct mlog_parser *p, int64_t local)
{
	struct tm	 tm;
	time_t		 t;
	int64_t		 hour;

	if (p->tz != MLOG_TZ_LOCAL)
		return local - p->tz;
	hour = local >= 0 ? local / 3600 : -((-local + 3599) / 3600);
	if (hour != p->tz_hour) {
		t = (time_t)(hour * 3600);
		if (gmtime_r(&t, &tm) == NULL) {
			p->tz_hour_off = 0;
		} else {
			tm.tm_isdst = -1;
			t = mktime(&tm);
			p->tz_hour_off = t == (time_t)-1 ? 0 :
			    (int32_t)(hour * 3600 - (int64_t)t);
		}
		p->tz_hour = hour;
	}
	return local - p->tz_hour_off;
}

/* The reference time's local year and month. */
static void
ref_year(struct mlog_parser *p, int *year, int *mon, int64_t *ref_local)
{
	struct tm	 tm;
	time_t		 t;
	int64_t		 ref;

	ref = p->ref_us != 0 ? p->ref_us / 1000000 : (int64_t)time(NULL);
	t = (time_t)ref;
	if (p->tz == MLOG_TZ_LOCAL) {
		if (localtime_r(&t, &tm) == NULL)
			memset(&tm, 0, sizeof(tm));
	} else {
		t = (time_t)(ref + p->tz);
		if (gmtime_r(&t, &tm) == NULL)
			memset(&tm, 0, sizeof(tm));
	}
	*year = tm.tm_year + 1900;
	*mon = tm.tm_mon;
	*ref_local = days_from_civil(*year, tm.tm_mon + 1, tm.tm_mday) *
	    86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}

static int
month_of(const char *s)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int	 i;

	for (i = 0; i < 12; i++)
		if (s[0] == names[i * 3] && s[1] == names[i * 3 + 1] &&
		    s[2] == names[i * 3 + 2])
			return i;
	return -1;
}

/*
 * "Mon DD HH:MM:SS[.frac]" (DD space- or zero-padded).  Returns the end of
 * the stamp, or NULL.
 */
static const char *
classic_stamp(struct mlog_parser *p, const char *s, const char *e,
    int64_t *us)
{
	int	 mon, day, hh, mm, ss, year, d;
	int64_t	 local, frac, ref_local;

	if (e - s < 15 || (mon = month_of(s)) < 0 || s[3] != ' ')
		return NULL;
	s += 4;
	if (*s == ' ')
		s++;
	if (is_digit(s[0]) && s + 1 < e && is_digit(s[1])) {
		day = (s[0] - '0') * 10 + (s[1] - '0');
		s += 2;
	} else if (is_digit(s[0])) {
		day = s[0] - '0';
		s++;
	} else
		return NULL;
	if (s >= e || *s++ != ' ' || digits(&s, e, 2, &hh) < 0 ||
	    s >= e || *s++ != ':' || digits(&s, e, 2, &mm) < 0 ||
	    s >= e || *s++ != ':' || digits(&s, e, 2, &ss) < 0)
		return NULL;
	if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
		return NULL;
	frac = fraction_us(&s, e);

	if (p->year == 0) {
		ref_year(p, &year, &d, &ref_local);
		local = days_from_civil(year, mon + 1, day) * 86400 +
		    hh * 3600 + mm * 60 + ss;
		if (local > ref_local + 86400)
			year--;
	} else {
		d = mon - p->mon;
		year = p->year + (d <= -6 ? 1 : d >= 6 ? -1 : 0);
	}
	p->year = year;
	p->mon = mon;
	local = day_number(p, year, mon + 1, day) * 86400 + hh * 3600 +
	    mm * 60 + ss;
	*us = local_to_utc(p, local) * 1000000 + frac;
	return s;
}

/* "YYYY-MM-DDTHH:MM:SS[.frac][Z|+HH:MM|-HH:MM|+HHMM]". */
static const char *
rfc3339_stamp(struct mlog_parser *p, const char *s, const char *e,
    int64_t *us)
{
	int	 y, mo, d, hh, mm, ss, oh, om, sign;
	int64_t	 t, frac;

	if (digits(&s, e, 4, &y) < 0 || s >= e || *s++ != '-' ||
	    digits(&s, e, 2, &mo) < 0 || s >= e || *s++ != '-' ||
	    digits(&s, e, 2, &d) < 0 || s >= e || (*s != 'T' && *s != 't') ||
	    (++s, digits(&s, e, 2, &hh)) < 0 || s >= e || *s++ != ':' ||
	    digits(&s, e, 2, &mm) < 0 || s >= e || *s++ != ':' ||
	    digits(&s, e, 2, &ss) < 0)
		return NULL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mm > 59 ||
	    ss > 60)
		return NULL;
	frac = fraction_us(&s, e);
	t = day_number(p, y, mo, d) * 86400 + hh * 3600 + mm * 60 + ss;
	if (s < e && (*s == 'Z' || *s == 'z')) {
		s++;
	} else if (s < e && (*s == '+' || *s == '-')) {
		sign = *s++ == '-' ? -1 : 1;
		if (digits(&s, e, 2, &oh) < 0)
			return NULL;
		if (s < e && *s == ':')
			s++;
		if (digits(&s, e, 2, &om) < 0 || oh > 23 || om > 59)
			return NULL;
		t -= sign * (oh * 3600 + om * 60);
	} else
		t = local_to_utc(p, t);
	*us = t * 1000000 + frac;
	return s;
}

/* ---------------------------------------------------------------- programs */

/* Postfix daemons, for tags whose syslog_name does not start "postfix". */
static int
postfix_daemon(const char *s, size_t n)
{
	static const char *const names[] = {
		"smtpd", "smtp", "lmtp", "local", "virtual", "pipe", "error",
		"retry", "discard", "qmgr", "oqmgr", "cleanup", "pickup",
		"bounce", "defer", "trace", "postscreen", "tlsproxy", "anvil",
		"dnsblog", "scache", "verify", "trivial-rewrite", "master",
		"postsuper", "postqueue", "postdrop", "postlogd", "tlsmgr",
		"flush", "showq", "spawn", "proxymap", "proxywrite", "postmap",
		"postalias", "postfix-script", "sendmail", "qmqpd", "lmtp",
		NULL
	};
	int	 i;

	for (i = 0; names[i] != NULL; i++)
		if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
			return 1;
	return 0;
}

/* ---------------------------------------------------------------- Postfix */

/*
 * Is [s, e) a Postfix queue ID followed by ':'?  Short IDs are upper-case
 * hex (6 or more), long ones (enable_long_queue_ids) letters and digits
 * with a 'z' after the time part.  Returns the ID's end, or NULL.
 */
static const char *
pf_qid(const char *s, const char *e)
{
	const char	*q = s;
	int		 hex = 1, zpos = -1;

	while (q < e && is_alnum(*q)) {
		if (!is_upper_hex(*q))
			hex = 0;
		if (*q == 'z' && zpos < 0 && q - s >= 8)
			zpos = (int)(q - s);
		if (++q - s > MLOG_QUEUE_ID_MAX)
			return NULL;
	}
	if (q >= e || *q != ':')
		return NULL;
	if (hex && q - s >= 6)
		return q;
	if (zpos > 0 && q - s >= 12 && q - s > zpos + 1)
		return q;
	return NULL;
}

/*
 * Postfix "key=value, key=value, ..." fields, the value ending at ", ", or
 * for "<...>" values at the '>' before ", " or the end.  Calls back per
 * field; status= ends the list (its value is the rest).
 */
struct kv {
	const char	*k, *ke;	/* key */
	const char	*v, *ve;	/* value */
};

/* Read one field at *pp; 0 when none. */
static int
next_kv(const char **pp, const char *e, struct kv *kv)
{
	const char	*s = *pp, *q, *gt;

	while (s < e && (*s == ' ' || *s == ','))
		s++;
	kv->k = s;
	while (s < e && (is_alnum(*s) || *s == '_' || *s == '-'))
		s++;
	if (s == kv->k || s >= e || *s != '=')
		return 0;
	kv->ke = s++;
	kv->v = s;
	if (s < e && *s == '<') {
		/* The '>' that ends the value: the one before ", " or end. */
		for (q = s + 1; (gt = memchr(q, '>', (size_t)(e - q))) != NULL;
		    q = gt + 1)
			if (gt + 1 == e || gt[1] == ',' || gt[1] == ' ')
				break;
		if (gt != NULL) {
			kv->ve = gt + 1;
			*pp = gt + 1;
			return 1;
		}
	}
	for (q = s; (q = memchr(q, ',', (size_t)(e - q))) != NULL; q++)
		if (q + 1 < e && q[1] == ' ')
			break;
	kv->ve = q != NULL ? q : e;
	*pp = kv->ve;
	return 1;
}

#define KEY(kv, lit)	((size_t)((kv)->ke - (kv)->k) == sizeof(lit) - 1 && \
			    memcmp((kv)->k, (lit), sizeof(lit) - 1) == 0)

static void
pf_delays(struct mlog_event *ev, const char *s, const char *e)
{
	const char	*q;
	int		 i;

	for (i = 0; i < 4 && s < e; i++) {
		q = memchr(s, '/', (size_t)(e - s));
		if (q == NULL)
			q = e;
		ev->delays[i] = parse_seconds(s, q);
		s = q + 1;
	}
}

static enum mlog_status
pf_status(const char *s, const char *e, const char *daemon, size_t dlen)
{
	size_t	 n = (size_t)(e - s);

	if (n == 4 && memcmp(s, "sent", 4) == 0)
		return dlen == 7 && memcmp(daemon, "discard", 7) == 0 ?
		    MLOG_STATUS_DISCARDED : MLOG_STATUS_SENT;
	if (n == 8 && memcmp(s, "deferred", 8) == 0)
		return MLOG_STATUS_DEFERRED;
	if (n == 7 && memcmp(s, "bounced", 7) == 0)
		return MLOG_STATUS_BOUNCED;
	if (n == 7 && memcmp(s, "expired", 7) == 0)
		return MLOG_STATUS_EXPIRED;
	if (n >= 13 && memcmp(s, "undeliverable", 13) == 0)
		return MLOG_STATUS_UNDELIVERABLE;
	if (n == 9 && memcmp(s, "discarded", 9) == 0)
		return MLOG_STATUS_DISCARDED;
	return MLOG_STATUS_NONE;
}

/* The status= value: word, then " (reply)" or ", text". */
static void
pf_status_value(struct mlog_event *ev, const char *s, const char *e)
{
	const char	*w = s, *r, *close;

	while (s < e && *s != ' ' && *s != ',' && *s != '(')
		s++;
	put(ev, &ev->status_word, w, s);
	if (s + 1 < e && s[0] == ' ' && s[1] == '(') {
		r = s + 2;
		/* The reply runs to the line's last ')': replies hold ')'. */
		close = find_last(r, e, ')');
		put(ev, &ev->reply, r, close != NULL ? close : e);
	} else if (s + 1 < e && s[0] == ',' && s[1] == ' ') {
		put(ev, &ev->reply, s + 2, e);
	}
}

/* to=<...>, orig_to=, relay=, delay=, delays=, dsn=, status=... */
static enum mlog_kind
pf_delivery(struct mlog_event *ev, const char *s, const char *e,
    const char *daemon, size_t dlen)
{
	struct kv	 kv;
	int		 have_status = 0;

	while (next_kv(&s, e, &kv)) {
		if (KEY(&kv, "status")) {
			pf_status_value(ev, kv.v, e);
			have_status = 1;
			break;
		} else if (KEY(&kv, "to"))
			put_addr(ev, &ev->recipient, kv.v, kv.ve);
		else if (KEY(&kv, "orig_to"))
			put_addr(ev, &ev->orig_recipient, kv.v, kv.ve);
		else if (KEY(&kv, "relay"))
			put(ev, &ev->relay, kv.v, kv.ve);
		else if (KEY(&kv, "delay"))
			ev->delay = parse_seconds(kv.v, kv.ve);
		else if (KEY(&kv, "delays"))
			pf_delays(ev, kv.v, kv.ve);
		else if (KEY(&kv, "dsn")) {
			if (kv.ve > kv.v &&
			    dsn_at(kv.v, kv.ve) == (size_t)(kv.ve - kv.v))
				put(ev, &ev->dsn, kv.v, kv.ve);
		}
	}
	if (!have_status || ev->recipient.p == NULL)
		return MLOG_UNPARSED;
	ev->status = pf_status(ev->status_word.p,
	    ev->status_word.p + ev->status_word.len, daemon, dlen);
	if (ev->status == MLOG_STATUS_NONE) {
		/* Address probes that succeed concern no message. */
		if (ev->status_word.len == 11 &&
		    memcmp(ev->status_word.p, "deliverable", 11) == 0)
			return MLOG_IGNORED;
		return MLOG_UNPARSED;
	}
	put(ev, &ev->mailer, daemon, daemon + dlen);
	if (ev->reply.p != NULL) {
		reply_codes(ev, ev->reply.p, ev->reply.p + ev->reply.len, 0);
		next_qid(ev, ev->reply.p, ev->reply.p + ev->reply.len);
	}
	return MLOG_DELIVERY;
}

/* qmgr: from=<...>, size=N, nrcpt=N (queue active) | status=expired, ... */
static enum mlog_kind
pf_from(struct mlog_event *ev, const char *s, const char *e)
{
	struct kv	 kv;

	while (next_kv(&s, e, &kv)) {
		if (KEY(&kv, "from"))
			put_addr(ev, &ev->sender, kv.v, kv.ve);
		else if (KEY(&kv, "size"))
			ev->size = parse_ll(kv.v, kv.ve);
		else if (KEY(&kv, "nrcpt"))
			ev->nrcpt = (int)parse_ll(kv.v, kv.ve > kv.v + 9 ?
			    kv.v + 9 : kv.ve);
		else if (KEY(&kv, "status")) {
			pf_status_value(ev, kv.v, e);
			if (ev->status_word.len == 7 &&
			    memcmp(ev->status_word.p, "expired", 7) == 0) {
				ev->status = MLOG_STATUS_EXPIRED;
				return MLOG_EXPIRED;
			}
			return MLOG_UNPARSED;
		}
	}
	if (ev->sender.p == NULL || ev->size < 0)
		return MLOG_UNPARSED;
	return MLOG_QUEUED;
}

/* smtpd: client=name[addr][, sasl_...][, orig_queue_id=X, orig_client=] */
static enum mlog_kind
pf_client(struct mlog_event *ev, const char *s, const char *e)
{
	struct kv	 kv;

	while (next_kv(&s, e, &kv)) {
		if (KEY(&kv, "client"))
			put(ev, &ev->client, kv.v, kv.ve);
		else if (KEY(&kv, "orig_queue_id"))
			put(ev, &ev->related_queue_id, kv.v, kv.ve);
	}
	return ev->client.p != NULL ? MLOG_CLIENT : MLOG_UNPARSED;
}

/* pickup: uid=N from=<...> */
static enum mlog_kind
pf_pickup(struct mlog_event *ev, const char *s, const char *e)
{
	const char	*sp, *f;

	sp = memchr(s, ' ', (size_t)(e - s));
	put(ev, &ev->client, s, sp != NULL ? sp : e);
	if (sp != NULL && (f = FIND(sp, e, "from=")) != NULL)
		put_addr(ev, &ev->sender, f + 5, e);
	return MLOG_CLIENT;
}

/*
 * reject / milter-reject text after "reject: ":
 * "RCPT from client[addr]: 550 5.1.1 <x>: text; from=<a> to=<b> proto=..."
 * "END-OF-MESSAGE from client[addr]: 4.7.1 text; from=<a> to=<b> ..."
 * "header Name: value from client[addr]; from=<a> to=<b> proto=...[: text]"
 */
static enum mlog_kind
pf_reject(struct mlog_event *ev, const char *s, const char *e)
{
	const char	*env, *q, *fr, *colon, *r = NULL, *re = NULL, *t;
	int		 content;

	content = STARTS(s, e, "header ") || STARTS(s, e, "body ");
	if ((env = FIND(s, e, "; from=<")) == NULL)
		env = FIND(s, e, "; to=<");
	if (env == NULL)
		env = e;
	if (content) {
		/* The client after the last " from " before the envelope. */
		for (fr = NULL, q = s; (q = FIND(q, env, " from ")) != NULL;
		    q++)
			fr = q;
		if (fr != NULL)
			put(ev, &ev->client, fr + 6, env);
		r = s;
		re = fr != NULL ? fr : env;
		/* A text after the envelope: "...proto=SMTP: 5.7.1 text". */
		if (env < e && (t = FIND(env, e, ": ")) != NULL) {
			r = t + 2;
			re = e;
		}
	} else if ((fr = FIND(s, env, " from ")) != NULL) {
		fr += 6;
		colon = FIND(fr, env, ": ");
		put(ev, &ev->client, fr, colon != NULL ? colon : env);
		if (colon != NULL) {
			r = colon + 2;
			re = env;
		}
	} else if ((colon = FIND(s, env, ": ")) != NULL) {
		/* proxy-reject style "END-OF-MESSAGE: reply" */
		r = colon + 2;
		re = env;
	}
	if (r != NULL) {
		put(ev, &ev->reply, r, re);
		reply_codes(ev, r, re, 1);
	}
	/* The envelope: "from=<a> to=<b> proto=X helo=<h>", spaces apart. */
	for (q = env; q < e; q++) {
		if (*q != ' ' && *q != ';')
			continue;
		if (STARTS(q + 1, e, "from=<") && ev->sender.p == NULL) {
			t = memchr(q + 6, '>', (size_t)(e - q - 6));
			put(ev, &ev->sender, q + 7, t != NULL ? t : e);
		} else if (STARTS(q + 1, e, "to=<") &&
		    ev->recipient.p == NULL) {
			t = memchr(q + 4, '>', (size_t)(e - q - 4));
			put(ev, &ev->recipient, q + 5, t != NULL ? t : e);
		}
	}
	return MLOG_REJECT;
}

/* Lines with a queue ID that we know and do not track. */
static int
pf_known_other(const char *s, const char *e)
{
	static const struct {
		const char	*lit;
		size_t		 n;
	} known[] = {
#define K(x)	{ x, sizeof(x) - 1 }
		K("host "), K("lost connection"), K("conversation with"),
		K("enabling PIX"), K("Cannot start TLS"), K("SASL "),
		K("skipped, still"), K("resent-message-id="), K("replace: "),
		K("warning: "), K("info: "), K("hold: "), K("milter-hold: "),
		K("redirect: "), K("filter: "), K("discard: "), K("prepend: "),
		K("milter-header-"), K("milter-body-"), K("milter-discard"),
		K("milter-hold"), K("milter-redirect"), K("requeued"),
		K("placed on hold"), K("released from hold"),
		K("delivery temporarily suspended"), K("connect to "),
		K("TLS is required"), K("server certificate"),
		K("Server certificate"), K("Untrusted TLS"), K("Trusted TLS"),
		K("Verified TLS"), K("Anonymous TLS"), K("breaking line"),
		K("reject_warning: "), K("sender_canonical"),
		K("refusing"), K("setting up TLS"), K("pickup "),
		K("deferred"), K("canceled"), K("message has"),
#undef K
	};
	size_t	 i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (starts(s, e, known[i].lit, known[i].n))
			return 1;
	return 0;
}

static enum mlog_kind
pf_message(struct mlog_event *ev, const char *s, const char *e,
    const char *daemon, size_t dlen)
{
	const char	*q, *t, *te;

	if (STARTS(s, e, "NOQUEUE: ")) {
		s += 9;
		if (STARTS(s, e, "reject: "))
			return pf_reject(ev, s + 8, e);
		if (STARTS(s, e, "milter-reject: "))
			return pf_reject(ev, s + 15, e);
		return MLOG_IGNORED;
	}
	if (STARTS(s, e, "warning: ") && (q = pf_qid(s + 9, e)) != NULL) {
		/* "warning: QID: ..." names the message it concerns. */
		put(ev, &ev->queue_id, s + 9, q);
		return MLOG_IGNORED;
	}
	if ((q = pf_qid(s, e)) == NULL)
		return MLOG_IGNORED;
	put(ev, &ev->queue_id, s, q);
	s = q + 1;
	if (s < e && *s == ' ')
		s++;

	if (STARTS(s, e, "to="))
		return pf_delivery(ev, s, e, daemon, dlen);
	if (STARTS(s, e, "from="))
		return pf_from(ev, s, e);
	if (STARTS(s, e, "client="))
		return pf_client(ev, s, e);
	if (STARTS(s, e, "uid="))
		return pf_pickup(ev, s, e);
	if (STARTS(s, e, "message-id=")) {
		s += 11;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		put_addr(ev, &ev->message_id, s, e);
		return MLOG_MESSAGE_ID;
	}
	if (e - s == 7 && memcmp(s, "removed", 7) == 0)
		return MLOG_REMOVED;
	if ((STARTS(s, e, "sender ") || STARTS(s, e, "postmaster ")) &&
	    (q = FIND(s, e, "notification: ")) != NULL) {
		t = q + 14;
		te = qid_token_end(t, e);
		if (te == t)
			return MLOG_UNPARSED;
		put(ev, &ev->related_queue_id, t, te);
		put(ev, &ev->status_word, s, q + 12);
		return MLOG_NOTIFY;
	}
	if (STARTS(s, e, "reject: "))
		return pf_reject(ev, s + 8, e);
	if (STARTS(s, e, "milter-reject: "))
		return pf_reject(ev, s + 15, e);
	if (pf_known_other(s, e))
		return MLOG_IGNORED;
	return MLOG_UNPARSED;
}

/* ---------------------------------------------------------------- Sendmail */

/*
 * A Sendmail queue ID: 8 or more letters and digits ending in at least
 * five digits (the process ID), then ':' (an envelope split "[N]" is
 * allowed between).  Returns the ID's end, or NULL; *after is set past
 * the ':'.
 */
static const char *
sm_qid(const char *s, const char *e, const char **after)
{
	const char	*q = qid_token_end(s, e), *d;

	if (q - s < 8)
		return NULL;
	for (d = q; d > s && is_digit(d[-1]); d--)
		;
	if (q - d < 5)
		return NULL;
	*after = q;
	if (*after < e && **after == '[') {
		while (*after < e && **after != ']')
			(*after)++;
		if (*after < e)
			(*after)++;
	}
	if (*after >= e || **after != ':')
		return NULL;
	(*after)++;
	if (*after < e && **after == ' ')
		(*after)++;
	return q;
}

/* Split the first address off a Sendmail to= list ("<a>,<b>", "a,b"). */
static const char *
sm_list_item(const char *s, const char *e)
{
	int	 angle = 0, quote = 0;

	for (; s < e; s++) {
		if (quote) {
			if (*s == '"')
				quote = 0;
		} else if (*s == '"')
			quote = 1;
		else if (*s == '<')
			angle = 1;
		else if (*s == '>')
			angle = 0;
		else if (*s == ',' && !angle)
			break;
	}
	return s;
}

/* The value's end for Sendmail fields: ", " then a key and '='. */
static const char *
sm_value_end(const char *s, const char *e)
{
	const char	*q, *k;

	for (q = s; (q = memchr(q, ',', (size_t)(e - q))) != NULL; q++) {
		if (q + 1 >= e || q[1] != ' ')
			continue;
		for (k = q + 2; k < e && (is_alnum(*k) || *k == '_'); k++)
			;
		if (k > q + 2 && k < e && *k == '=')
			return q;
	}
	return e;
}

/* "key=value, key=value, ..., stat=rest"; stat= takes the rest. */
static int
sm_next_kv(const char **pp, const char *e, struct kv *kv)
{
	const char	*s = *pp;

	while (s < e && (*s == ' ' || *s == ','))
		s++;
	kv->k = s;
	while (s < e && (is_alnum(*s) || *s == '_'))
		s++;
	if (s == kv->k || s >= e || *s != '=')
		return 0;
	kv->ke = s++;
	kv->v = s;
	kv->ve = KEY(kv, "stat") ? e : sm_value_end(s, e);
	*pp = kv->ve;
	return 1;
}

static void
sm_first_recipient(struct mlog_event *ev, const char *s, const char *e)
{
	const char	*q = sm_list_item(s, e);

	put_addr(ev, &ev->recipient, s, q);
	if (q < e) {
		ev->rcpt_rest.p = q + 1;
		ev->rcpt_rest.len = (size_t)(e - q - 1);
	}
}

static enum mlog_kind
sm_delivery(struct mlog_event *ev, const char *s, const char *e)
{
	struct kv	 kv;
	const char	*st = NULL, *ste = NULL, *w, *close;
	const char	*rp = NULL, *rpe = NULL;
	int		 cls;

	while (sm_next_kv(&s, e, &kv)) {
		if (KEY(&kv, "to"))
			sm_first_recipient(ev, kv.v, kv.ve);
		else if (KEY(&kv, "delay"))
			ev->delay = parse_hms(kv.v, kv.ve);
		else if (KEY(&kv, "mailer"))
			put(ev, &ev->mailer, kv.v, kv.ve);
		else if (KEY(&kv, "relay"))
			put(ev, &ev->relay, kv.v, kv.ve);
		else if (KEY(&kv, "dsn")) {
			if (kv.ve > kv.v &&
			    dsn_at(kv.v, kv.ve) == (size_t)(kv.ve - kv.v))
				put(ev, &ev->dsn, kv.v, kv.ve);
		} else if (KEY(&kv, "reply")) {
			rp = kv.v;
			rpe = kv.ve;
		} else if (KEY(&kv, "stat")) {
			st = kv.v;
			ste = kv.ve;
		}
	}
	if (ev->recipient.p == NULL)
		return MLOG_UNPARSED;
	cls = ev->dsn.len > 0 ? ev->dsn.p[0] - '0' : 0;
	if (st != NULL) {
		for (w = st; w < ste && is_alnum(*w); w++)
			;
		put(ev, &ev->status_word, st, w);
		if (STARTS(st, ste, "Sent")) {
			ev->status = MLOG_STATUS_SENT;
			if (w + 1 < ste && w[0] == ' ' && w[1] == '(') {
				close = find_last(w + 2, ste, ')');
				put(ev, &ev->reply, w + 2,
				    close != NULL ? close : ste);
			}
		} else if (STARTS(st, ste, "Deferred") ||
		    STARTS(st, ste, "queued")) {
			ev->status = MLOG_STATUS_DEFERRED;
			if (w + 1 < ste && w[0] == ':' && w[1] == ' ')
				put(ev, &ev->reply, w + 2, ste);
			else if (w < ste)
				put(ev, &ev->reply, st, ste);
		} else {
			ev->status = cls == 2 ? MLOG_STATUS_SENT :
			    cls == 4 ? MLOG_STATUS_DEFERRED :
			    MLOG_STATUS_BOUNCED;
			put(ev, &ev->reply, st, ste);
		}
	} else if (cls != 0) {
		ev->status = cls == 2 ? MLOG_STATUS_SENT : cls == 4 ?
		    MLOG_STATUS_DEFERRED : MLOG_STATUS_BOUNCED;
	} else
		return MLOG_UNPARSED;
	/* Sendmail 8.15 and later log the remote's own reply as reply=:
	 * it carries the code that stat= ("Service unavailable") lacks. */
	if (rp != NULL && rpe > rp)
		put(ev, &ev->reply, rp, rpe);
	if (ev->reply.p != NULL) {
		reply_codes(ev, ev->reply.p, ev->reply.p + ev->reply.len, 0);
		next_qid(ev, ev->reply.p, ev->reply.p + ev->reply.len);
	}
	return MLOG_DELIVERY;
}

static enum mlog_kind
sm_from(struct mlog_event *ev, const char *s, const char *e)
{
	struct kv	 kv;

	while (sm_next_kv(&s, e, &kv)) {
		if (KEY(&kv, "from"))
			put_addr(ev, &ev->sender, kv.v, kv.ve);
		else if (KEY(&kv, "size"))
			ev->size = parse_ll(kv.v, kv.ve);
		else if (KEY(&kv, "nrcpts"))
			ev->nrcpt = (int)parse_ll(kv.v, kv.ve > kv.v + 9 ?
			    kv.v + 9 : kv.ve);
		else if (KEY(&kv, "msgid"))
			put_addr(ev, &ev->message_id, kv.v, kv.ve);
		else if (KEY(&kv, "relay"))
			put(ev, &ev->client, kv.v, kv.ve);
	}
	return ev->sender.p != NULL ? MLOG_QUEUED : MLOG_UNPARSED;
}

/* ruleset=..., arg1=<x>, relay=..., reject=550 5.1.1 <x>... text */
static enum mlog_kind
sm_reject(struct mlog_event *ev, const char *s, const char *e)
{
	struct kv	 kv;
	const char	*rs = NULL, *rse = NULL, *arg = NULL, *arge = NULL;

	while (sm_next_kv(&s, e, &kv)) {
		if (KEY(&kv, "ruleset")) {
			rs = kv.v;
			rse = kv.ve;
		} else if (KEY(&kv, "arg1")) {
			arg = kv.v;
			arge = kv.ve;
		} else if (KEY(&kv, "to"))
			put_addr(ev, &ev->recipient, kv.v, kv.ve);
		else if (KEY(&kv, "from"))
			put_addr(ev, &ev->sender, kv.v, kv.ve);
		else if (KEY(&kv, "relay"))
			put(ev, &ev->client, kv.v, kv.ve);
		else if (KEY(&kv, "reject")) {
			/* The reply runs to the end of the line. */
			put(ev, &ev->reply, kv.v, e);
			reply_codes(ev, kv.v, e, 1);
			break;
		}
	}
	if (ev->reply.p == NULL)
		return MLOG_UNPARSED;
	if (arg != NULL && rs != NULL) {
		if (STARTS(rs, rse, "check_rcpt"))
			put_addr(ev, &ev->recipient, arg, arge);
		else if (STARTS(rs, rse, "check_mail"))
			put_addr(ev, &ev->sender, arg, arge);
	}
	return MLOG_REJECT;
}

static int
sm_known_other(const char *s, const char *e)
{
	static const struct {
		const char	*lit;
		size_t		 n;
	} known[] = {
#define K(x)	{ x, sizeof(x) - 1 }
		K("Milter"), K("SMTP outgoing connect"), K("STARTTLS"),
		K("AUTH="), K("alias "), K("forward "), K("lost input channel"),
		K("timeout waiting"), K("collect: "), K("Syntax error"),
		K("Fixed MIME"), K("message size"), K("discarded"),
		K("headers too large"), K("SYSERR"), K("makeconnection"),
		K("Authentication-Warning"), K("did not issue"), K("locked"),
		K("sender notify"), K("ETRN"), K("tls_"), K("TLS "),
		K("Losing "), K("queueup"), K("clone "), K("possible SMTP"),
		K("setsender"), K("DSN: "), K("return to sender"),
		K("postmaster notify"), K("putbody"), K("<"),
#undef K
	};
	size_t	 i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (starts(s, e, known[i].lit, known[i].n))
			return 1;
	/* "relay.example.com.: SMTP DATA-2 protocol error: ..." */
	return FIND(s, e, " protocol error: ") != NULL;
}

static enum mlog_kind
sm_message(struct mlog_event *ev, const char *s, const char *e)
{
	static const struct {
		const char	*lit;
		size_t		 n;
	} notify[] = {
#define K(x)	{ x, sizeof(x) - 1 }
		K("DSN: "), K("postmaster notify: "), K("return to sender: "),
		K("sender notify: "), K("clone: "),
#undef K
	};
	const char	*q, *after, *q2, *after2, *sp, *gt;
	size_t		 i;

	if (STARTS(s, e, "NOQUEUE: ")) {
		s += 9;
		if (FIND(s, e, "reject=") != NULL)
			return sm_reject(ev, s, e);
		return MLOG_IGNORED;
	}
	if ((q = sm_qid(s, e, &after)) == NULL)
		return MLOG_IGNORED;
	put(ev, &ev->queue_id, s, q);
	s = after;

	if (STARTS(s, e, "to="))
		return sm_delivery(ev, s, e);
	if (STARTS(s, e, "from="))
		return sm_from(ev, s, e);
	if ((q2 = sm_qid(s, e, &after2)) != NULL) {
		/* "<qid>: <newqid>: DSN: text" - the bounce Sendmail made. */
		for (i = 0; i < sizeof(notify) / sizeof(notify[0]); i++) {
			if (starts(after2, e, notify[i].lit, notify[i].n)) {
				put(ev, &ev->related_queue_id, s, q2);
				put(ev, &ev->status_word, after2,
				    after2 + notify[i].n - 2);
				put(ev, &ev->reply, after2 + notify[i].n, e);
				return MLOG_NOTIFY;
			}
		}
		return MLOG_UNPARSED;
	}
	if (STARTS(s, e, "done")) {
		if ((q = FIND(s, e, "delay=")) != NULL)
			ev->delay = parse_hms(q + 6, sm_value_end(q + 6, e));
		return MLOG_REMOVED;
	}
	if ((q = FIND(s, e, "Saved message in ")) != NULL) {
		put(ev, &ev->reply, q + 17, e);
		return MLOG_DEADLETTER;
	}
	if (STARTS(s, e, "ruleset=") || (STARTS(s, e, "Milter: ") &&
	    FIND(s, e, "reject=") != NULL)) {
		if (STARTS(s, e, "Milter: "))
			s += 8;
		return sm_reject(ev, s, e);
	}
	if (s < e && *s == '<' &&
	    (sp = FIND(s, e, ">... ")) != NULL) {
		/* "<addr>... User unknown": a recipient refused at RCPT. */
		gt = sp + 1;
		put_addr(ev, &ev->recipient, s, gt);
		put(ev, &ev->reply, sp + 5, e);
		reply_codes(ev, sp + 5, e, 1);
		return MLOG_REJECT;
	}
	if (sm_known_other(s, e))
		return MLOG_IGNORED;
	return MLOG_UNPARSED;
}

/* ---------------------------------------------------------------- API */

/* The next space-delimited RFC 5424 header field at *pp. */
static const char *
field_5424(const char **pp, const char *e, const char **end)
{
	const char	*s = *pp, *q;

	if (s >= e || *s != ' ')
		return NULL;
	s++;
	for (q = s; q < e && *q != ' '; q++)
		;
	if (q == s)
		return NULL;
	*end = q;
	*pp = q;
	return s;
}

/*
 * After an RFC 5424 stamp: " HOST APP PROCID MSGID SD MSG".  Sets host,
 * program and pid ("-" is nil); *pp ends at the message.  -1: no app.
 */
static int
frame_5424(struct mlog_event *ev, const char **pp, const char *e)
{
	const char	*f, *fe, *s;
	long		 pid = 0;
	int		 i;

	if ((f = field_5424(pp, e, &fe)) == NULL)
		return -1;
	if (fe - f != 1 || *f != '-')
		put(ev, &ev->host, f, fe);
	if ((f = field_5424(pp, e, &fe)) == NULL || (fe - f == 1 && *f == '-'))
		return -1;
	put(ev, &ev->program, f, fe);
	if ((f = field_5424(pp, e, &fe)) == NULL)
		return -1;
	for (s = f, i = 0; s < fe && is_digit(*s) && i < 10; s++, i++)
		pid = pid * 10 + (*s - '0');
	if (s == fe && s > f)
		ev->pid = pid;
	if (field_5424(pp, e, &fe) == NULL)	/* MSGID */
		return -1;
	/* Structured data: "-" or one or more "[...]" (']' escaped as "\]"). */
	s = *pp;
	if (s < e && *s == ' ')
		s++;
	if (s < e && *s == '-')
		s++;
	else
		while (s < e && *s == '[') {
			for (s++; s < e && *s != ']'; s++)
				if (*s == '\\' && s + 1 < e)
					s++;
			if (s < e)
				s++;
		}
	if (s < e && *s == ' ')
		s++;
	if (e - s >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;			/* the UTF-8 BOM RFC 5424 allows */
	*pp = s;
	return 0;
}

struct mlog_parser *
mlog_parser_new(int64_t ref_us, int32_t tz_offset_s)
{
	struct mlog_parser	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->ref_us = ref_us;
	p->tz = tz_offset_s;
	p->tz_hour = -1;
	p->day_key = -1;
	return p;
}

void
mlog_parser_free(struct mlog_parser *p)
{
	free(p);
}

static void
event_init(struct mlog_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->pid = -1;
	ev->delay = -1;
	ev->delays[0] = ev->delays[1] = ev->delays[2] = ev->delays[3] = -1;
	ev->size = -1;
	ev->nrcpt = -1;
}

enum mlog_kind
mlog_parse(struct mlog_parser *p, const char *line, size_t len,
    struct mlog_event *ev)
{
	const char	*s = line, *e = line + len, *q, *tag, *tage, *d;
	int64_t		 us;
	long		 pid;
	int		 v5424 = 0;

	event_init(ev);
	if (len > MLOG_MAX_LINE)
		return ev->kind = MLOG_TOO_LONG;
	while (e > s && (e[-1] == '\r' || e[-1] == '\n'))
		e--;
	if (s == e)
		return ev->kind = MLOG_IGNORED;

	/* A syslog priority "<NNN>" as some collectors keep it. */
	if (*s == '<') {
		for (q = s + 1; q < e && is_digit(*q) && q - s < 5; q++)
			;
		if (q > s + 1 && q < e && *q == '>') {
			s = q + 1;
			/* RFC 5424: "<PRI>1 STAMP HOST APP PROCID MSGID SD MSG" */
			if (e - s >= 2 && s[0] == '1' && s[1] == ' ') {
				s += 2;
				v5424 = 1;
			}
		}
	}
	if (s < e && is_digit(*s))
		q = rfc3339_stamp(p, s, e, &us);
	else
		q = classic_stamp(p, s, e, &us);
	if (q == NULL || q >= e || *q != ' ')
		return ev->kind = MLOG_BAD_STAMP;
	ev->time_us = us;
	s = q;

	if (v5424) {
		if (frame_5424(ev, &s, e) < 0)
			return ev->kind = MLOG_NOT_MAIL;
		tag = ev->program.p;
		tage = tag + ev->program.len;
		goto mta;
	}
	/* Host, then the tag; a line may lack the host. */
	while (s < e && *s == ' ')
		s++;
	for (q = s; q < e && *q != ' ' && *q != '[' && *q != ':'; q++)
		;
	if (q < e && *q == ' ') {
		put(ev, &ev->host, s, q);
		for (s = q; s < e && *s == ' '; s++)
			;
	}
	tag = s;
	while (s < e && *s != ' ' && *s != '[' && *s != ':')
		s++;
	tage = s;
	if (tage == tag)
		return ev->kind = MLOG_NOT_MAIL;
	put(ev, &ev->program, tag, tage);
	if (s < e && *s == '[') {
		for (q = ++s, pid = 0; q < e && is_digit(*q) && q - s < 10;
		    q++)
			pid = pid * 10 + (*q - '0');
		if (q > s && q < e && *q == ']')
			ev->pid = pid;
		while (q < e && *q != ']')
			q++;
		s = q < e ? q + 1 : e;
	}
	if (s < e && *s == ':')
		s++;
	if (s < e && *s == ' ')
		s++;

mta:
	/* Which MTA. */
	d = find_last(tag, tage, '/');
	if (d != NULL && ((tage - tag >= 7 && memcmp(tag, "postfix", 7) == 0)
	    || postfix_daemon(d + 1, (size_t)(tage - d - 1)))) {
		ev->mta = MLOG_MTA_POSTFIX;
		ev->kind = pf_message(ev, s, e, d + 1, (size_t)(tage - d - 1));
	} else if ((tage - tag == 8 && memcmp(tag, "sendmail", 8) == 0) ||
	    (tage - tag > 3 && memcmp(tag, "sm-", 3) == 0)) {
		ev->mta = MLOG_MTA_SENDMAIL;
		ev->kind = sm_message(ev, s, e);
	} else
		ev->kind = MLOG_NOT_MAIL;
	return ev->kind;
}

int
mlog_next_recipient(struct mlog_event *ev)
{
	const char	*s = ev->rcpt_rest.p, *e, *q;

	if (s == NULL || ev->rcpt_rest.len == 0)
		return 0;
	e = s + ev->rcpt_rest.len;
	q = sm_list_item(s, e);
	put_addr(ev, &ev->recipient, s, q);
	if (q < e) {
		ev->rcpt_rest.p = q + 1;
		ev->rcpt_rest.len = (size_t)(e - q - 1);
	} else {
		ev->rcpt_rest.p = NULL;
		ev->rcpt_rest.len = 0;
	}
	ev->rcpt_index++;
	return 1;
}

/* ---------------------------------------------------------------- hashing */

static inline uint64_t
mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static inline uint64_t
load_le64(const unsigned char *b)
{
	return (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 |
	    (uint64_t)b[3] << 24 | (uint64_t)b[4] << 32 |
	    (uint64_t)b[5] << 40 | (uint64_t)b[6] << 48 |
	    (uint64_t)b[7] << 56;
}

/*
 * Eight bytes a step, read little-endian so the value is the same on
 * every machine: h = rotl(h ^ w * K1, 31) * K2, then the length and a
 * final avalanche.  Stored in the journal: never change it.
 */
uint64_t
mlog_line_hash(const char *line, size_t len)
{
	const unsigned char	*b = (const unsigned char *)line;
	const uint64_t		 k1 = 0x9e3779b97f4a7c15ULL;
	const uint64_t		 k2 = 0xbf58476d1ce4e5b9ULL;
	uint64_t		 h = 0x6a09e667f3bcc908ULL, w;
	size_t			 i, n = len;
	unsigned char		 tail[8];

	for (; n >= 8; n -= 8, b += 8) {
		h ^= load_le64(b) * k1;
		h = (h << 31 | h >> 33) * k2;
	}
	if (n > 0) {
		memset(tail, 0, sizeof(tail));
		for (i = 0; i < n; i++)
			tail[i] = b[i];
		w = load_le64(tail);
		h ^= w * k1;
		h = (h << 31 | h >> 33) * k2;
	}
	return mix64(h ^ (uint64_t)len);
}

uint64_t
mlog_event_hash(uint64_t line_hash, const struct mlog_event *ev)
{
	if (ev->rcpt_index == 0)
		return line_hash;
	return mix64(line_hash ^ ((uint64_t)ev->rcpt_index *
	    0x9e3779b97f4a7c15ULL));
}

/* ---------------------------------------------------------------- names */

const char *
mlog_status_name(enum mlog_status s)
{
	switch (s) {
	case MLOG_STATUS_SENT:
		return "sent";
	case MLOG_STATUS_DEFERRED:
		return "deferred";
	case MLOG_STATUS_BOUNCED:
		return "bounced";
	case MLOG_STATUS_EXPIRED:
		return "expired";
	case MLOG_STATUS_UNDELIVERABLE:
		return "undeliverable";
	case MLOG_STATUS_DISCARDED:
		return "discarded";
	case MLOG_STATUS_NONE:
		break;
	}
	return "none";
}

const char *
mlog_kind_name(enum mlog_kind k)
{
	switch (k) {
	case MLOG_IGNORED:
		return "ignored";
	case MLOG_NOT_MAIL:
		return "not-mail";
	case MLOG_UNPARSED:
		return "unparsed";
	case MLOG_TOO_LONG:
		return "too-long";
	case MLOG_BAD_STAMP:
		return "bad-stamp";
	case MLOG_DELIVERY:
		return "delivery";
	case MLOG_QUEUED:
		return "queued";
	case MLOG_CLIENT:
		return "client";
	case MLOG_MESSAGE_ID:
		return "message-id";
	case MLOG_REMOVED:
		return "removed";
	case MLOG_EXPIRED:
		return "expired";
	case MLOG_NOTIFY:
		return "notify";
	case MLOG_DEADLETTER:
		return "deadletter";
	case MLOG_REJECT:
		return "reject";
	}
	return "unknown";
}

const char *
mlog_mta_name(enum mlog_mta m)
{
	switch (m) {
	case MLOG_MTA_POSTFIX:
		return "postfix";
	case MLOG_MTA_SENDMAIL:
		return "sendmail";
	case MLOG_MTA_UNKNOWN:
		break;
	}
	return "unknown";
}
