/*
 * dsn.c - returning bounces: what a non-delivery report says (dsn.h).
 *
 * Three steps.  (1) The input is cut to limits->max_bytes, line ends are
 * made LF, and the number of Content-Type header lines GMime can see is
 * bounded (every level of MIME nesting needs one), so GMime's own parser
 * never recurses deeply nor scans a boundary stack of unbounded height.
 * (2) GMime builds the MIME tree; we walk it (at most max_depth levels and
 * max_parts parts) and collect, decoded: the delivery-status fields, the
 * feedback-report fields (ARF), the human-readable text outside the
 * returned message, the returned message's headers and all remaining text.
 * (3) Hand-written parsers read the text: RFC 3464 fields when there are
 * any, else the plain-text shapes of common MTAs (qmail, Exim, Sendmail's
 * transcript, Exchange, Notes, Gmail, ...) through one generic reader that
 * finds recipients and the reply quoted near them; Amazon SES's JSON
 * notifications are read too.  Reasons come from tables of status codes
 * and of phrases, in one place (classify()).  The content hash (FNV-1a,
 * 64 bits) is taken after step 1, so the same report read with LF or CRLF
 * line ends hashes the same.
 *
 * Invariants: every buffer has a cap (TEXT_MAX); every scan over the text
 * is linear in its length (address scans are bounded on both sides of the
 * '@'); values stored are copied with MT_BOUNCE_VALUE_MAX; nothing from
 * the message is used as a format string.
 *
 * Thread safety: dsn_init once (g_once); then dsn_parse calls are
 * independent (GMime objects are per call).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "mailtrail/dsn.h"
#include "mailtrail/trackid.h"

#define TEXT_MAX	(1024 * 1024)	/* per collected text buffer */
#define DIAG_MAX	1000		/* diagnostic kept from free text */
#define TEXT_SEARCH_MAX	(64 * 1024)	/* text searched per DSN recipient */
#define ADDR_LOCAL_MAX	64
#define ADDR_DOMAIN_MAX	255
#define DEFAULT_DEPTH	8
#define DEFAULT_PARTS	64

struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 truncated;
};

struct ctx {
	const struct dsn_limits *lim;
	struct mt_bounce_rec *rec;
	unsigned	 parts;
	int		 stopped;	/* part limit reached */
	int		 deep;		/* depth limit reached */
	char		 report_type[32];
	struct buf	 ds;		/* delivery-status fields */
	struct buf	 fb;		/* feedback-report fields */
	struct buf	 text;		/* human-readable text, not returned */
	struct buf	 orig;		/* returned headers */
	struct buf	 rest;		/* text inside the returned message */
	int		 have_orig;
	int		 have_ds;
	int		 have_fb;
	int		 multipart_report;
	struct mt_bytes	 bounce_to;	/* the report's To: address */
	struct mt_bytes	 orig_to;	/* the returned message's To: address */
	size_t		 rend;		/* text[0..rend) is the report itself */
};

/* ------------------------------------------------------------------ buffers */

static void
buf_add(struct buf *b, const char *p, size_t n)
{
	size_t	 ncap, i;
	char	*np;

	if (b->len + n + 1 > TEXT_MAX) {
		b->truncated = 1;
		if (b->len + 1 >= TEXT_MAX)
			return;
		n = TEXT_MAX - b->len - 1;
	}
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap == 0 ? 4096 : b->cap;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->truncated = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	/* NULs and CRs become spaces/newlines: the readers work on lines. */
	for (i = 0; i < n; i++) {
		char c = p[i];

		if (c == '\0')
			c = ' ';
		else if (c == '\r')
			c = (i + 1 < n && p[i + 1] == '\n') ? ' ' : '\n';
		b->p[b->len++] = c;
	}
	b->p[b->len] = '\0';
}

static void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------- small text helpers */

static int
ci_prefix(const char *s, size_t n, const char *pre)
{
	size_t	 l = strlen(pre);

	return n >= l && strncasecmp(s, pre, l) == 0;
}

/* Case-insensitive search of needle in s[0..n); NULL when absent. */
static const char *
ci_find(const char *s, size_t n, const char *needle)
{
	size_t	 l = strlen(needle), i;
	int	 c0;

	if (l == 0 || n < l)
		return NULL;
	c0 = tolower((unsigned char)needle[0]);
	for (i = 0; i + l <= n; i++)
		if (tolower((unsigned char)s[i]) == c0 &&
		    strncasecmp(s + i, needle, l) == 0)
			return s + i;
	return NULL;
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && isspace((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/* Store s[0..n) trimmed, whitespace runs collapsed to one space. */
static void
set_clean(struct mt_bounce_rec *rec, struct mt_bytes *dst, const char *s,
    size_t n, size_t cap)
{
	char	*tmp;
	size_t	 i, o = 0;
	int	 sp = 0;

	trim(&s, &n);
	if (n > cap)
		n = cap;
	if ((tmp = malloc(n + 1)) == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (isspace((unsigned char)s[i])) {
			sp = 1;
			continue;
		}
		if (sp && o > 0)
			tmp[o++] = ' ';
		sp = 0;
		tmp[o++] = s[i];
	}
	if (mt_bytes_set(dst, tmp, o, MT_BOUNCE_VALUE_MAX) == 1)
		rec->truncations++;
	free(tmp);
}

/* Drop "type;" (rfc822;, dns;, smtp;) from a DSN field value. */
static void
strip_type(const char **s, size_t *n)
{
	const char	*semi;
	size_t		 i;

	trim(s, n);
	if ((semi = memchr(*s, ';', *n)) == NULL)
		return;
	for (i = 0; *s + i < semi; i++)
		if (!isalnum((unsigned char)(*s)[i]) && (*s)[i] != '-')
			return;
	*n -= (size_t)(semi - *s) + 1;
	*s = semi + 1;
	trim(s, n);
}

/* An address value: type stripped, <> and quotes removed, trimmed. */
static void
set_addr(struct mt_bounce_rec *rec, struct mt_bytes *dst, const char *s,
    size_t n)
{
	const char	*lt, *gt;

	strip_type(&s, &n);
	if ((lt = memchr(s, '<', n)) != NULL &&
	    (gt = memchr(lt, '>', n - (size_t)(lt - s))) != NULL) {
		s = lt + 1;
		n = (size_t)(gt - s);
	}
	trim(&s, &n);
	while (n > 0 && (*s == '"' || *s == '\'')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == '"' || s[n - 1] == '\'' ||
	    s[n - 1] == ','))
		n--;
	if (n > 0)
		set_clean(rec, dst, s, n, MT_BOUNCE_VALUE_MAX);
}

/* ------------------------------------------------------------ codes in text */

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Find an enhanced status code "c.s.d" (class 2/4/5) in s[0..n) that is
 * not part of an address or a longer dotted number.  want_fail: only 4/5.
 * Returns its offset or -1, length in *len.
 */
static long
find_status(const char *s, size_t n, int want_fail, size_t *len)
{
	size_t	 i, j, k, d;

	for (i = 0; i + 5 <= n; i++) {
		if (s[i] != '2' && s[i] != '4' && s[i] != '5')
			continue;
		if (want_fail && s[i] == '2')
			continue;
		if (i > 0 && (is_digit(s[i - 1]) || s[i - 1] == '.'))
			continue;
		if (s[i + 1] != '.')
			continue;
		j = i + 2;
		for (d = 0; j < n && is_digit(s[j]) && d < 4; j++, d++)
			;
		if (d == 0 || d > 3 || j >= n || s[j] != '.')
			continue;
		k = j + 1;
		for (d = 0; k < n && is_digit(s[k]) && d < 4; k++, d++)
			;
		if (d == 0 || d > 3)
			continue;
		if (k < n && (is_digit(s[k]) || (s[k] == '.' && k + 1 < n &&
		    is_digit(s[k + 1]))))
			continue;
		*len = k - i;
		return (long)i;
	}
	return -1;
}

/*
 * Find an SMTP reply code: three digits [245][0-5][0-9] standing alone
 * (not in a number, address, time or date) followed by a space, '-' or
 * the end.  Failure codes (4/5) only when want_fail.
 */
static int
reply_at(const char *s, size_t n, size_t i, int want_fail)
{
	char	 p;

	if (i + 3 > n)
		return 0;
	if (!(s[i] == '2' || s[i] == '4' || s[i] == '5'))
		return 0;
	if (want_fail && s[i] == '2')
		return 0;
	if (!is_digit(s[i + 1]) || s[i + 1] > '5' || !is_digit(s[i + 2]))
		return 0;
	if (i > 0) {
		p = s[i - 1];
		if (is_digit(p) || p == '.' || (p == ':' && i > 1 &&
		    is_digit(s[i - 2])) || p == '-' || p == '/' || p == '#' ||
		    p == '@' || p == '+' || isalpha((unsigned char)p) ||
		    p == '=' || p == '_' || (p == '[' && i + 3 < n &&
		    s[i + 3] == ']'))
			return 0;
	}
	if (i + 3 < n && !(s[i + 3] == ' ' || s[i + 3] == '-' ||
	    s[i + 3] == '\n' || s[i + 3] == '\t' || s[i + 3] == ']' ||
	    s[i + 3] == ')' || s[i + 3] == '"' || s[i + 3] == '\'' ||
	    s[i + 3] == ',' || s[i + 3] == ':' || s[i + 3] == ';'))
		return 0;
	if (i + 4 < n && s[i + 3] == '-' && !(is_digit(s[i + 4]) ||
	    s[i + 4] == ' ' || s[i + 4] == '\'' ||
	    isalpha((unsigned char)s[i + 4])))
		return 0;
	return (s[i] - '0') * 100 + (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
}

/*
 * Find an SMTP reply code: three digits [245][0-5][0-9] standing alone
 * (not in a number, address, time or date) followed by a space, '-', a
 * punctuation mark or the end.  Failure codes (4/5) only when want_fail.
 */
static int
find_reply(const char *s, size_t n, int want_fail)
{
	size_t	 i;
	int	 code;

	for (i = 0; i + 3 <= n; i++)
		if ((code = reply_at(s, n, i, want_fail)) != 0)
			return code;
	return 0;
}

/* ------------------------------------------------------- reasons: one place */

/*
 * The reason of a failed recipient, decided in this order:
 *  1. an enhanced code that names one precisely (strong_codes: 5.1.2 no
 *     such domain, 5.2.2 mailbox full, 5.7.26 authentication failed, ...);
 *  2. the first phrase of reason_phrases found in the diagnostic, in table
 *     order (specific phrases before generic ones);
 *  3. a final failure with a temporary (4.X.X) code: retries ran out;
 *  4. the enhanced code by prefix (weak_codes);
 *  5. unknown.
 */
struct code_reason {
	const char		*prefix;	/* "5.1.1", or "5.7." for a subject */
	enum mt_bounce_reason	 reason;
};

static const struct code_reason strong_codes[] = {
	{ "5.1.2", MT_REASON_HOST_UNKNOWN },
	{ "5.1.10", MT_REASON_HOST_UNKNOWN },
	{ "5.1.6", MT_REASON_USER_UNKNOWN },
	{ "5.2.2", MT_REASON_MAILBOX_FULL },
	{ "4.2.2", MT_REASON_MAILBOX_FULL },
	{ "5.2.3", MT_REASON_MESSAGE_TOO_BIG },
	{ "5.3.4", MT_REASON_MESSAGE_TOO_BIG },
	{ "5.7.13", MT_REASON_SUSPENDED },
	{ "5.7.23", MT_REASON_AUTH_FAILURE },
	{ "5.7.24", MT_REASON_AUTH_FAILURE },
	{ "5.7.25", MT_REASON_POLICY },
	{ "5.7.26", MT_REASON_AUTH_FAILURE },
	{ "5.7.27", MT_REASON_HOST_UNKNOWN },
	{ "5.7.9", MT_REASON_POLICY },
	{ "5.3.0", MT_REASON_SYSTEM },
};

static const struct code_reason weak_codes[] = {
	{ "5.1.0", MT_REASON_USER_UNKNOWN },
	{ "5.1.1", MT_REASON_USER_UNKNOWN },
	{ "5.1.3", MT_REASON_USER_UNKNOWN },
	{ "5.1.7", MT_REASON_POLICY },
	{ "5.1.8", MT_REASON_POLICY },
	{ "4.1.8", MT_REASON_POLICY },
	{ "5.2.1", MT_REASON_SUSPENDED },
	{ "4.4.7", MT_REASON_EXPIRED },
	{ "5.4.7", MT_REASON_EXPIRED },
	{ "5.4.4", MT_REASON_HOST_UNKNOWN },
	{ "4.4.", MT_REASON_NETWORK },
	{ "5.4.", MT_REASON_NETWORK },
	{ "5.7.", MT_REASON_POLICY },
	{ "4.7.", MT_REASON_POLICY },
	{ "5.3.", MT_REASON_SYSTEM },
	{ "4.3.", MT_REASON_SYSTEM },
	{ "5.5.", MT_REASON_SYSTEM },
	{ "5.6.", MT_REASON_SYSTEM },
};

static const struct {
	const char		*phrase;
	enum mt_bounce_reason	 reason;
} reason_phrases[] = {
	/* mailbox full */
	{ "mailbox full", MT_REASON_MAILBOX_FULL },
	{ "mailbox is full", MT_REASON_MAILBOX_FULL },
	{ "over quota", MT_REASON_MAILBOX_FULL },
	{ "overquota", MT_REASON_MAILBOX_FULL },
	{ "quota exceeded", MT_REASON_MAILBOX_FULL },
	{ "exceeded storage", MT_REASON_MAILBOX_FULL },
	{ "exceeds the quota", MT_REASON_MAILBOX_FULL },
	{ "insufficient disk space", MT_REASON_MAILBOX_FULL },
	{ "mailbox size limit", MT_REASON_MAILBOX_FULL },
	{ "exceeds allowed size", MT_REASON_MAILBOX_FULL },
	{ "messages in recipient's mailbox exceeded", MT_REASON_MAILBOX_FULL },
	/* suspended */
	{ "account is locked", MT_REASON_SUSPENDED },
	{ "temporary locked", MT_REASON_SUSPENDED },
	{ "mailbox is frozen", MT_REASON_SUSPENDED },
	{ "account disabled", MT_REASON_SUSPENDED },
	{ "account has been disabled", MT_REASON_SUSPENDED },
	{ "mailbox disabled", MT_REASON_SUSPENDED },
	{ "suspended", MT_REASON_SUSPENDED },
	{ "inactive", MT_REASON_SUSPENDED },
	/* host unknown */
	{ "host not found", MT_REASON_HOST_UNKNOWN },
	{ "host unknown", MT_REASON_HOST_UNKNOWN },
	{ "unknown host", MT_REASON_HOST_UNKNOWN },
	{ "no such domain", MT_REASON_HOST_UNKNOWN },
	{ "domain not found", MT_REASON_HOST_UNKNOWN },
	{ "domain name not found", MT_REASON_HOST_UNKNOWN },
	{ "unrouteable address", MT_REASON_HOST_UNKNOWN },
	{ "no smtp service", MT_REASON_HOST_UNKNOWN },
	{ "doesn't receive email", MT_REASON_HOST_UNKNOWN },
	{ "does not accept mail", MT_REASON_HOST_UNKNOWN },
	{ "null mx", MT_REASON_HOST_UNKNOWN },
	{ "name service error", MT_REASON_HOST_UNKNOWN },
	{ "no mx", MT_REASON_HOST_UNKNOWN },
	/* authentication of the message (SPF, DKIM, DMARC) */
	{ "dmarc", MT_REASON_AUTH_FAILURE },
	{ "dkim", MT_REASON_AUTH_FAILURE },
	{ "spf", MT_REASON_AUTH_FAILURE },
	{ "authentication checks failed", MT_REASON_AUTH_FAILURE },
	/* spam and content */
	{ "spam", MT_REASON_SPAM },
	{ "virus", MT_REASON_SPAM },
	{ "junk", MT_REASON_SPAM },
	{ "content rejected", MT_REASON_SPAM },
	{ " ube", MT_REASON_SPAM },
	{ "blacklisted url", MT_REASON_SPAM },
	/* too big */
	{ "too large", MT_REASON_MESSAGE_TOO_BIG },
	{ "too big", MT_REASON_MESSAGE_TOO_BIG },
	{ "size limit", MT_REASON_MESSAGE_TOO_BIG },
	{ "exceeds size", MT_REASON_MESSAGE_TOO_BIG },
	/* the sender or the sending host refused (policy) */
	{ "sender address rejected", MT_REASON_POLICY },
	{ "domain of sender address", MT_REASON_POLICY },
	{ "refused to talk", MT_REASON_POLICY },
	{ "message filtered", MT_REASON_POLICY },
	{ "sender rejected", MT_REASON_POLICY },
	{ "after mail from", MT_REASON_POLICY },
	{ "unauthenticated", MT_REASON_POLICY },
	{ "smtp authentication", MT_REASON_POLICY },
	{ "relay", MT_REASON_POLICY },
	{ "reverse dns", MT_REASON_POLICY },
	{ "ptr record", MT_REASON_POLICY },
	{ "blacklist", MT_REASON_POLICY },
	{ "blocklist", MT_REASON_POLICY },
	{ "blocked", MT_REASON_POLICY },
	{ "access denied", MT_REASON_POLICY },
	{ "invalid ip", MT_REASON_POLICY },
	{ "too many", MT_REASON_POLICY },
	{ "rate limit", MT_REASON_POLICY },
	{ "policy", MT_REASON_POLICY },
	/* no such mailbox */
	{ "user unknown", MT_REASON_USER_UNKNOWN },
	{ "unknown user", MT_REASON_USER_UNKNOWN },
	{ "no such user", MT_REASON_USER_UNKNOWN },
	{ "no such mailbox", MT_REASON_USER_UNKNOWN },
	{ "no such recipient", MT_REASON_USER_UNKNOWN },
	{ "user not found", MT_REASON_USER_UNKNOWN },
	{ "user not exist", MT_REASON_USER_UNKNOWN },
	{ "mailbox not found", MT_REASON_USER_UNKNOWN },
	{ "recipient not found", MT_REASON_USER_UNKNOWN },
	{ "mailbox unavailable", MT_REASON_USER_UNKNOWN },
	{ "invalid recipient", MT_REASON_USER_UNKNOWN },
	{ "unknown recipient", MT_REASON_USER_UNKNOWN },
	{ "not a valid mailbox", MT_REASON_USER_UNKNOWN },
	{ "unknown local part", MT_REASON_USER_UNKNOWN },
	{ "not listed in", MT_REASON_USER_UNKNOWN },
	{ "invalid final delivery userid", MT_REASON_USER_UNKNOWN },
	{ "no mailbox", MT_REASON_USER_UNKNOWN },
	{ "doesn't have a", MT_REASON_USER_UNKNOWN },
	{ "does not exist", MT_REASON_USER_UNKNOWN },
	{ "doesn't exist", MT_REASON_USER_UNKNOWN },
	/* the receiving system */
	{ "hop count", MT_REASON_NETWORK },
	{ "routing loop", MT_REASON_NETWORK },
	{ "mail loop", MT_REASON_NETWORK },
	{ "transaction failed", MT_REASON_SYSTEM },
	{ "service currently unavailable", MT_REASON_SYSTEM },
	{ "could not load", MT_REASON_SYSTEM },
	{ "pipe to |", MT_REASON_SYSTEM },
	{ "procmail", MT_REASON_SYSTEM },
	/* gave up, network */
	{ "retry timeout", MT_REASON_EXPIRED },
	{ "too long", MT_REASON_EXPIRED },
	{ "expired", MT_REASON_EXPIRED },
	{ "giving up", MT_REASON_EXPIRED },
	{ "connection refused", MT_REASON_NETWORK },
	{ "timed out", MT_REASON_NETWORK },
	{ "timeout", MT_REASON_NETWORK },
	{ "lost connection", MT_REASON_NETWORK },
	{ "network", MT_REASON_NETWORK },
	/* generic, last */
	{ "address rejected", MT_REASON_USER_UNKNOWN },
	{ "recipient rejected", MT_REASON_USER_UNKNOWN },
	{ "disabled", MT_REASON_SUSPENDED },
	{ "rejected", MT_REASON_POLICY },
};

static int
code_match(const char *st, const struct code_reason *t, size_t n,
    enum mt_bounce_reason *out)
{
	size_t	 i, sl;

	for (i = 0; i < n; i++) {
		sl = strlen(t[i].prefix);
		if (strncmp(st, t[i].prefix, sl) == 0 &&
		    (t[i].prefix[sl - 1] == '.' || st[sl] == '\0')) {
			*out = t[i].reason;
			return 1;
		}
	}
	return 0;
}

static enum mt_bounce_reason
classify(const struct mt_bounce_rcpt *r)
{
	const char	*st = r->status.data, *d = r->diagnostic.data;
	enum mt_bounce_reason out;
	size_t		 i;

	if (st != NULL && code_match(st, strong_codes, sizeof(strong_codes) /
	    sizeof(strong_codes[0]), &out))
		return out;
	if (d != NULL)
		for (i = 0; i < sizeof(reason_phrases) /
		    sizeof(reason_phrases[0]); i++)
			if (ci_find(d, r->diagnostic.len,
			    reason_phrases[i].phrase) != NULL)
				return reason_phrases[i].reason;
	if (st != NULL && st[0] == '4')
		return MT_REASON_EXPIRED;	/* a final failure */
	if (st != NULL && code_match(st, weak_codes, sizeof(weak_codes) /
	    sizeof(weak_codes[0]), &out))
		return out;
	return MT_REASON_UNKNOWN;
}

/* ---------------------------------------------------------------- addresses */

static int
local_char(char c)
{
	return isalnum((unsigned char)c) || (c != '\0' &&
	    strchr(".!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

static int
domain_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.';
}

/*
 * The next address at or after *pos in s[0..n): offset in *start, length
 * in *alen.  Each '@' is looked at once and expanded at most
 * ADDR_LOCAL_MAX / ADDR_DOMAIN_MAX bytes: linear.  0 found, -1 none.
 */
static int
next_addr(const char *s, size_t n, size_t *pos, size_t *start, size_t *alen)
{
	const char	*at;
	size_t		 a, l, r, dots;

	while (*pos < n) {
		if ((at = memchr(s + *pos, '@', n - *pos)) == NULL)
			return -1;
		a = (size_t)(at - s);
		*pos = a + 1;
		for (l = a; l > 0 && a - l < ADDR_LOCAL_MAX &&
		    local_char(s[l - 1]); l--)
			;
		while (l < a && (s[l] == '.' || s[l] == '\''))
			l++;
		for (r = a + 1, dots = 0; r < n && r - a < ADDR_DOMAIN_MAX &&
		    domain_char(s[r]); r++)
			if (s[r] == '.')
				dots++;
		while (r > a + 1 && (s[r - 1] == '.' || s[r - 1] == '-')) {
			if (s[r - 1] == '.')
				dots--;
			r--;
		}
		if (l == a || r == a + 1 || dots == 0)
			continue;
		*start = l;
		*alen = r - l;
		*pos = r;
		return 0;
	}
	return -1;
}

static int
addr_eq(const char *a, size_t al, const char *b, size_t bl)
{
	return al == bl && strncasecmp(a, b, al) == 0;
}

/* ---------------------------------------------------------------- MIME walk */

static void
ct_names(GMimeObject *obj, const char **type, const char **sub)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	*type = ct != NULL ? g_mime_content_type_get_media_type(ct) : NULL;
	*sub = ct != NULL ? g_mime_content_type_get_media_subtype(ct) : NULL;
	if (*type == NULL)
		*type = "text";
	if (*sub == NULL)
		*sub = "plain";
}

static int
is_ds_type(const char *type, const char *sub)
{
	return (strcasecmp(type, "message") == 0 ||
	    strcasecmp(type, "text") == 0) &&
	    (strcasecmp(sub, "delivery-status") == 0 ||
	    strcasecmp(sub, "global-delivery-status") == 0);
}

static int
is_fb_type(const char *type, const char *sub)
{
	return (strcasecmp(type, "message") == 0 ||
	    strcasecmp(type, "text") == 0) &&
	    strcasecmp(sub, "feedback-report") == 0;
}

static int
is_hdr_type(const char *type, const char *sub)
{
	return (strcasecmp(type, "text") == 0 &&
	    strcasecmp(sub, "rfc822-headers") == 0) ||
	    (strcasecmp(type, "message") == 0 &&
	    (strcasecmp(sub, "rfc822-headers") == 0 ||
	    strcasecmp(sub, "global-headers") == 0 ||
	    strcasecmp(sub, "rfc822") == 0 ||
	    strcasecmp(sub, "global") == 0));
}

/* Write an object (or a part's decoded content) into b. */
static void
object_to_buf(GMimeObject *obj, int decode, struct buf *b)
{
	GMimeStream	*mem;
	GByteArray	*arr;
	GMimeDataWrapper *w;

	if ((mem = g_mime_stream_mem_new()) == NULL)
		return;
	if (decode && GMIME_IS_PART(obj)) {
		w = g_mime_part_get_content(GMIME_PART(obj));
		if (w != NULL)
			g_mime_data_wrapper_write_to_stream(w, mem);
	} else
		g_mime_object_write_to_stream(obj, NULL, mem);
	arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	if (arr != NULL && arr->len > 0)
		buf_add(b, (const char *)arr->data, arr->len);
	g_object_unref(mem);
}

/* The headers of a message as text. */
static void
headers_to_buf(GMimeObject *obj, struct buf *b)
{
	GMimeHeaderList	*hl = g_mime_object_get_header_list(obj);
	char		*s;

	if (hl == NULL)
		return;
	if ((s = g_mime_header_list_to_string(hl, NULL)) != NULL) {
		buf_add(b, s, strlen(s));
		g_free(s);
	}
}

/* Crude tag stripping for an HTML-only bounce: text between tags. */
static void
html_to_buf(const char *p, size_t n, struct buf *b)
{
	size_t	 i, s = 0;
	int	 in = 0;

	for (i = 0; i < n; i++) {
		if (!in && p[i] == '<') {
			if (i > s)
				buf_add(b, p + s, i - s);
			in = 1;
		} else if (in && p[i] == '>') {
			in = 0;
			s = i + 1;
			buf_add(b, "\n", 1);
		}
	}
	if (!in && n > s)
		buf_add(b, p + s, n - s);
}

/* A text that starts with a header field and has a Received:, From: or
 * Message-ID: field in its first block. */
static int
looks_like_headers(const char *s, size_t n)
{
	size_t	 i, end;

	for (i = 0; i < n && (isalnum((unsigned char)s[i]) || s[i] == '-');
	    i++)
		;
	if (i == 0 || i >= n || s[i] != ':')
		return 0;
	for (end = 0; end + 1 < n; end++)
		if (s[end] == '\n' && s[end + 1] == '\n')
			break;
	return ci_find(s, end, "\nreceived:") != NULL ||
	    ci_find(s, end, "\nfrom:") != NULL ||
	    ci_find(s, end, "\nmessage-id:") != NULL ||
	    ci_prefix(s, n, "received:") || ci_prefix(s, n, "from:") ||
	    ci_prefix(s, n, "return-path:");
}

static void
walk(struct ctx *c, GMimeObject *obj, unsigned depth, int returned)
{
	const char	*type, *sub, *rt;
	GMimeContentType *ct;
	struct buf	 tmp;
	int		 i, n;

	if (c->stopped)
		return;
	if (++c->parts > c->lim->max_parts) {
		c->stopped = 1;
		return;
	}
	if (depth > c->lim->max_depth) {
		c->deep = 1;
		return;
	}
	ct_names(obj, &type, &sub);
	if (GMIME_IS_MULTIPART(obj)) {
		if (strcasecmp(sub, "report") == 0 && !returned) {
			c->multipart_report = 1;
			ct = g_mime_object_get_content_type(obj);
			rt = g_mime_content_type_get_parameter(ct,
			    "report-type");
			if (rt != NULL && c->report_type[0] == '\0')
				snprintf(c->report_type, sizeof(c->report_type),
				    "%s", rt);
		}
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		if (n == 0 && !returned) {
			/* No boundary line: everything is in the prologue. */
			const char *pro = g_mime_multipart_get_prologue(
			    GMIME_MULTIPART(obj));

			if (pro != NULL)
				buf_add(&c->text, pro, strlen(pro));
		}
		for (i = 0; i < n && !c->stopped; i++)
			walk(c, g_mime_multipart_get_part(GMIME_MULTIPART(obj),
			    i), depth + 1, returned);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(obj));

		if (m == NULL)
			return;
		if (is_ds_type(type, sub) && !returned) {
			object_to_buf(GMIME_OBJECT(m), 0, &c->ds);
			buf_add(&c->ds, "\n\n", 2);
			c->have_ds = 1;
		} else if (is_fb_type(type, sub) && !returned) {
			object_to_buf(GMIME_OBJECT(m), 0, &c->fb);
			c->have_fb = 1;
		} else {
			if (!c->have_orig) {
				headers_to_buf(GMIME_OBJECT(m), &c->orig);
				c->have_orig = 1;
			}
			if (g_mime_message_get_mime_part(m) != NULL)
				walk(c, g_mime_message_get_mime_part(m),
				    depth + 1, 1);
		}
		return;
	}
	if (!GMIME_IS_PART(obj))
		return;
	if (!returned && is_ds_type(type, sub)) {
		object_to_buf(obj, 1, &c->ds);
		buf_add(&c->ds, "\n\n", 2);
		c->have_ds = 1;
	} else if (!returned && is_fb_type(type, sub)) {
		object_to_buf(obj, 1, &c->fb);
		c->have_fb = 1;
	} else if (is_hdr_type(type, sub)) {
		/* Returned headers (or a message GMime left as a leaf). */
		memset(&tmp, 0, sizeof(tmp));
		object_to_buf(obj, 1, &tmp);
		if (!c->have_orig && tmp.len > 0) {
			buf_add(&c->orig, tmp.p, tmp.len);
			c->have_orig = 1;
		} else if (tmp.len > 0)
			buf_add(&c->rest, tmp.p, tmp.len);
		buf_free(&tmp);
	} else if (strcasecmp(type, "text") == 0) {
		memset(&tmp, 0, sizeof(tmp));
		object_to_buf(obj, 1, &tmp);
		if (tmp.len > 0) {
			struct buf *dst = returned ? &c->rest : &c->text;

			if (strcasecmp(sub, "html") == 0) {
				/* Only when there is no plain text yet. */
				if (returned || c->text.len == 0)
					html_to_buf(tmp.p, tmp.len, dst);
				else
					html_to_buf(tmp.p, tmp.len, &c->rest);
			} else if (!returned && c->text.len > 0 &&
			    looks_like_headers(tmp.p, tmp.len)) {
				/* A returned message sent as text/plain. */
				if (!c->have_orig) {
					buf_add(&c->orig, tmp.p, tmp.len);
					c->have_orig = 1;
				} else
					buf_add(&c->rest, tmp.p, tmp.len);
			} else {
				buf_add(dst, tmp.p, tmp.len);
				buf_add(dst, "\n", 1);
			}
		}
		buf_free(&tmp);
	}
}

/* -------------------------------------------------------------- field lists */

/*
 * Iterate over "Name: value" fields of a header-like text, unfolding
 * continuation lines.  cb gets (name, namelen, value, valuelen) with the
 * value possibly spanning lines; a blank line calls cb with name NULL.
 */
static int
blank_line(const char *s, size_t n)
{
	size_t	 k;

	for (k = 0; k < n; k++)
		if (s[k] != ' ' && s[k] != '\t')
			return 0;
	return 1;
}

typedef void (*field_cb)(void *arg, const char *name, size_t nlen,
    const char *val, size_t vlen);

static void
fields(const char *s, size_t n, field_cb cb, void *arg)
{
	size_t		 i = 0, eol, nend, vstart, vend;
	const char	*colon;

	while (i < n) {
		eol = i;
		while (eol < n && s[eol] != '\n')
			eol++;
		if (blank_line(s + i, eol - i)) {
			cb(arg, NULL, 0, NULL, 0);
			i = eol + 1;
			continue;
		}
		if (s[i] == ' ' || s[i] == '\t') {	/* stray continuation */
			i = eol + 1;
			continue;
		}
		colon = memchr(s + i, ':', eol - i);
		if (colon == NULL) {
			i = eol + 1;
			continue;
		}
		nend = (size_t)(colon - s);
		vstart = nend + 1;
		vend = eol;
		/* Continuation lines. */
		while (vend + 1 < n && (s[vend + 1] == ' ' ||
		    s[vend + 1] == '\t')) {
			size_t k = vend + 1, e = k;

			while (e < n && s[e] != '\n')
				e++;
			while (k < e && (s[k] == ' ' || s[k] == '\t'))
				k++;
			if (k == e)
				break;		/* a blank line: group end */
			vend = e;
		}
		while (nend > i && (s[nend - 1] == ' ' || s[nend - 1] == '\t'))
			nend--;
		cb(arg, s + i, nend - i, s + vstart, vend - vstart);
		i = vend + 1;
	}
}

/* ----------------------------------------------------------------- RFC 3464 */

struct ds_state {
	struct ctx		*c;
	struct mt_bounce_rcpt	*cur;	/* index-stable: we keep the index */
	long			 cur_i;
	int			 dropped_final;	/* cur_i -2 had a Final-Recipient */
};

static struct mt_bounce_rcpt *
ds_cur(struct ds_state *st)
{
	if (st->cur_i < 0 || (size_t)st->cur_i >= st->c->rec->n_rcpts)
		return NULL;
	return &st->c->rec->rcpts[st->cur_i];
}

static struct mt_bounce_rcpt *
ds_new(struct ds_state *st)
{
	struct mt_bounce_rcpt *r = bounce_rec_add_rcpt(st->c->rec);

	st->cur_i = r != NULL ? (long)st->c->rec->n_rcpts - 1 : -2;
	st->dropped_final = 0;
	return r;
}

#define FIELD(name)	(nlen == sizeof(name) - 1 && \
			    strncasecmp(n, name, nlen) == 0)

static void
ds_field(void *arg, const char *n, size_t nlen, const char *v, size_t vlen)
{
	struct ds_state		*st = arg;
	struct mt_bounce_rec	*rec = st->c->rec;
	struct mt_bounce_rcpt	*r;
	const char		*p;
	size_t			 pl;

	if (n == NULL) {		/* blank line: the group ends */
		st->cur_i = -1;
		return;
	}
	p = v;
	pl = vlen;
	if (FIELD("Reporting-MTA")) {
		if (!MT_BYTES_ISSET(&rec->reporting_mta)) {
			strip_type(&p, &pl);
			set_clean(rec, &rec->reporting_mta, p, pl,
			    MT_BOUNCE_VALUE_MAX);
		}
		return;
	}
	if (FIELD("Arrival-Date")) {
		if (!MT_BYTES_ISSET(&rec->arrival_date))
			set_clean(rec, &rec->arrival_date, p, pl,
			    MT_BOUNCE_VALUE_MAX);
		return;
	}
	if (FIELD("X-Postfix-Queue-ID") || FIELD("X-Sendmail-Queue-ID") ||
	    FIELD("X-Queue-ID")) {
		if (!MT_BYTES_ISSET(&rec->orig_queue_id))
			set_clean(rec, &rec->orig_queue_id, p, pl, 64);
		return;
	}
	if (FIELD("X-Postfix-Sender") || FIELD("X-Original-Sender")) {
		if (!MT_BYTES_ISSET(&rec->orig_from))
			set_addr(rec, &rec->orig_from, p, pl);
		return;
	}
	if (FIELD("Received-From-MTA") || FIELD("Original-Envelope-Id") ||
	    FIELD("DSN-Gateway"))
		return;

	r = ds_cur(st);
	if (st->cur_i == -2) {
		/* Over MT_BOUNCE_MAX_RCPTS: count each recipient once. */
		if (FIELD("Final-Recipient")) {
			if (st->dropped_final)
				(void)ds_new(st);
			st->dropped_final = 1;
		}
		return;
	}
	if (FIELD("Final-Recipient")) {
		if (r == NULL || MT_BYTES_ISSET(&r->recipient))
			r = ds_new(st);
		if (r != NULL)
			set_addr(rec, &r->recipient, p, pl);
		else
			st->dropped_final = 1;
		return;
	}
	if (FIELD("Original-Recipient") || FIELD("X-Actual-Recipient")) {
		if (r == NULL || MT_BYTES_ISSET(&r->orig_recipient))
			r = ds_new(st);
		if (r != NULL)
			set_addr(rec, &r->orig_recipient, p, pl);
		return;
	}
	if (!(FIELD("Action") || FIELD("Status") || FIELD("Remote-MTA") ||
	    FIELD("Diagnostic-Code") || FIELD("Last-Attempt-Date") ||
	    FIELD("Will-Retry-Until") || FIELD("Final-Log-ID")))
		return;
	if (r == NULL) {
		/* A group without a recipient field: continue the last one
		 * when it lacks this field, else start one. */
		if (rec->n_rcpts > 0)
			st->cur_i = (long)rec->n_rcpts - 1;
		r = ds_cur(st);
		if (r == NULL || (FIELD("Status") &&
		    MT_BYTES_ISSET(&r->status)) || (FIELD("Action") &&
		    MT_BYTES_ISSET(&r->action)))
			r = ds_new(st);
		if (r == NULL)
			return;
	}
	if (FIELD("Action")) {
		if (!MT_BYTES_ISSET(&r->action)) {
			char	 a[32];
			size_t	 i;

			trim(&p, &pl);
			for (i = 0; i < pl && i < sizeof(a) - 1 &&
			    !isspace((unsigned char)p[i]) && p[i] != '('; i++)
				a[i] = (char)tolower((unsigned char)p[i]);
			a[i] = '\0';
			set_clean(rec, &r->action, a, i, 32);
		}
	} else if (FIELD("Status")) {
		size_t	 sl;
		long	 o;

		if (!MT_BYTES_ISSET(&r->status) &&
		    (o = find_status(p, pl, 0, &sl)) >= 0)
			set_clean(rec, &r->status, p + o, sl, 16);
	} else if (FIELD("Remote-MTA")) {
		if (!MT_BYTES_ISSET(&r->remote_mta)) {
			strip_type(&p, &pl);
			set_clean(rec, &r->remote_mta, p, pl,
			    MT_BOUNCE_VALUE_MAX);
		}
	} else if (FIELD("Diagnostic-Code")) {
		/* "smtp; 550 ..." is stored as "550 ..."; "X-Unix; 67" (a
		 * program's exit status) keeps its type, so that its number
		 * is never read as a reply code. */
		if (!MT_BYTES_ISSET(&r->diagnostic)) {
			trim(&p, &pl);
			if (!ci_prefix(p, pl, "x-unix;"))
				strip_type(&p, &pl);
			set_clean(rec, &r->diagnostic, p, pl,
			    MT_BOUNCE_VALUE_MAX);
		}
	} else if (FIELD("Last-Attempt-Date")) {
		if (!MT_BYTES_ISSET(&r->last_attempt))
			set_clean(rec, &r->last_attempt, p, pl,
			    MT_BOUNCE_VALUE_MAX);
	}
}

/* ------------------------------------------------------------ original keys */

struct orig_state {
	struct ctx	*c;
	int		 seen_any;
};

static void
orig_field(void *arg, const char *n, size_t nlen, const char *v, size_t vlen)
{
	struct orig_state	*os = arg;
	struct mt_bounce_rec	*rec = os->c->rec;
	const char		*th = os->c->lim->tracking_header;
	const char		*p = v;
	size_t			 pl = vlen;

	if (n == NULL)
		return;
	os->seen_any = 1;
	if (nlen == strlen(th) && strncasecmp(n, th, nlen) == 0) {
		trim(&p, &pl);
		if (!MT_BYTES_ISSET(&rec->orig_track_id) && trackid_valid(p, pl))
			set_clean(rec, &rec->orig_track_id, p, pl, 64);
	} else if (FIELD("Message-ID")) {
		if (!MT_BYTES_ISSET(&rec->orig_message_id)) {
			const char *lt, *gt;

			trim(&p, &pl);
			if ((lt = memchr(p, '<', pl)) != NULL &&
			    (gt = memchr(lt, '>', pl - (size_t)(lt - p))) !=
			    NULL) {
				p = lt;
				pl = (size_t)(gt - lt) + 1;
			}
			if (pl > 0)
				set_clean(rec, &rec->orig_message_id, p, pl,
				    998);
		}
	} else if (FIELD("From")) {
		if (!MT_BYTES_ISSET(&rec->orig_from))
			set_addr(rec, &rec->orig_from, p, pl);
	} else if (FIELD("X-Postfix-Queue-ID")) {
		if (!MT_BYTES_ISSET(&rec->orig_queue_id))
			set_clean(rec, &rec->orig_queue_id, p, pl, 64);
	} else if (FIELD("To")) {
		size_t	 pos = 0, st, al;

		if (!MT_BYTES_ISSET(&os->c->orig_to) &&
		    next_addr(p, pl, &pos, &st, &al) == 0)
			mt_bytes_set(&os->c->orig_to, p + st, al,
			    MT_BOUNCE_VALUE_MAX);
	}
}

/* The tracking header anywhere in text, at a line start or quoted. */
static void
find_track_id(struct ctx *c, const char *s, size_t n)
{
	const char	*th = c->lim->tracking_header, *hit, *p;
	size_t		 tl = strlen(th), off = 0, k;

	if (MT_BYTES_ISSET(&c->rec->orig_track_id) || tl == 0)
		return;
	while (off < n && (hit = ci_find(s + off, n - off, th)) != NULL) {
		p = hit + tl;
		off = (size_t)(p - s);
		while (p < s + n && (*p == ' ' || *p == '\t'))
			p++;
		if (p >= s + n || *p != ':')
			continue;
		p++;
		while (p < s + n && (*p == ' ' || *p == '\t' || *p == '\n'))
			p++;
		for (k = 0; p + k < s + n && isalnum((unsigned char)p[k]); k++)
			;
		if (trackid_valid(p, k)) {
			set_clean(c->rec, &c->rec->orig_track_id, p, k, 64);
			return;
		}
	}
}

/* Inline headers in text: from the first line that looks like one. */
static void
inline_headers(struct ctx *c, const char *s, size_t n)
{
	struct orig_state os = { c, 0 };
	const char	*h;
	size_t		 i, start = n, hdr_end;

	/* Find "Received:", "Message-ID:" etc. at a line start. */
	for (i = 0; i < n; i = (h = memchr(s + i, '\n', n - i)) == NULL ? n :
	    (size_t)(h - s) + 1) {
		const char *l = s + i;
		size_t	 ll = n - i;

		while (ll > 0 && (*l == ' ' || *l == '>' || *l == '\t')) {
			l++;
			ll--;
		}
		if (ci_prefix(l, ll, "Received:") ||
		    ci_prefix(l, ll, "Message-ID:") ||
		    ci_prefix(l, ll, "Return-Path:") ||
		    ci_prefix(l, ll, "Date:") ||
		    ci_prefix(l, ll, "From:")) {
			start = (size_t)(l - s);
			break;
		}
	}
	if (start >= n)
		return;
	/* The block ends at the first blank line after some fields. */
	for (hdr_end = start; hdr_end < n; hdr_end++)
		if (s[hdr_end] == '\n' && hdr_end + 1 < n &&
		    s[hdr_end + 1] == '\n')
			break;
	fields(s + start, hdr_end - start, orig_field, &os);
}

/* -------------------------------------------------------- free-text bounces */

/* Lines after which the text is the returned message. */
static const char *const orig_markers[] = {
	"below this line is a copy of the message",
	"this is a copy of the message",
	"this is a copy of your message",
	"copy of the original message",
	"original message follows",
	"original message headers",
	"original message --",
	"original message:",
	"unsent message below",
	"unsent message follows",
	"returned message --",
	"message header follows",
	"header of the original message",
	"headers of the original message",
	"this is the original message",
	"original message header",
	"content-type: message/rfc822",
	"----- message truncated -----",
	"--- original message",
	"---original message",
	"original mail follows",
	"included is a copy",
	"rfc822 headers of",
	"received: from",
};

static size_t
report_end(const char *s, size_t n)
{
	size_t	 i, best = n;
	const char *h;

	for (i = 0; i < sizeof(orig_markers) / sizeof(orig_markers[0]); i++)
		if ((h = ci_find(s, best, orig_markers[i])) != NULL) {
			/* back to the line start */
			while (h > s && h[-1] != '\n')
				h--;
			best = (size_t)(h - s);
		}
	return best;
}

static int
local_is_robot(const char *a, size_t n)
{
	static const char *const robots[] = {
		"mailer-daemon@", "postmaster@", "mail-daemon@",
		"maildaemon@", "noreply@", "no-reply@", "abuse@", "root@",
		"bounce@", "bounces@", "daemon@", "mailer@",
	};
	size_t	 i;

	for (i = 0; i < sizeof(robots) / sizeof(robots[0]); i++)
		if (ci_prefix(a, n, robots[i]))
			return 1;
	return 0;
}

/*
 * 1 when the address at s[off] is not a recipient: preceded on its line
 * (within 24 bytes) by a sender marker, or on a header-like line of the
 * original (From:, To:, Cc:, Message-ID:, ...).
 */
static int
sender_context(const char *s, size_t off)
{
	static const char *const marks[] = {
		"mail from:", "sender", "envelope-from", "return-path",
		"reply-to", "by ", "helo", "contact", "generated from",
		"message-id",
	};
	static const char *const header_lines[] = {
		"from:", "to:", "cc:", "bcc:", "references:", "in-reply-to:",
		"message-id:", "sender:", "reply-to:", "return-path:",
	};
	size_t	 from = off > 24 ? off - 24 : 0, i;
	const char *line = s + off, *ls;

	while (line > s + from && line[-1] != '\n')
		line--;
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (ci_find(line, (size_t)(s + off - line), marks[i]) != NULL)
			return 1;
	if (line == s + from && from > 0 && s[from - 1] != '\n')
		return 0;		/* the line starts further back */
	for (ls = line; ls < s + off && (*ls == ' ' || *ls == '\t' ||
	    *ls == '>'); ls++)
		;
	for (i = 0; i < sizeof(header_lines) / sizeof(header_lines[0]); i++)
		if (ci_prefix(ls, (size_t)(s + off - ls), header_lines[i]))
			return 1;
	return 0;
}

struct cand {
	size_t	 off;		/* in the report text */
	size_t	 len;
	size_t	 line;		/* start of its line */
};

#define MAX_CAND	64

/* Addresses to skip: ours, the report's, the original sender's. */
struct skip {
	const char	*a[6];
	size_t		 l[6];
	int		 n;
};

static void
skip_add(struct skip *sk, const struct mt_bytes *b)
{
	if (b->data != NULL && b->len > 0 && sk->n < 6) {
		sk->a[sk->n] = b->data;
		sk->l[sk->n++] = b->len;
	}
}

static int
skipped(const struct skip *sk, const char *a, size_t n)
{
	int	 i;

	for (i = 0; i < sk->n; i++)
		if (addr_eq(sk->a[i], sk->l[i], a, n))
			return 1;
	return local_is_robot(a, n);
}

/* Fill status and reply code from a piece of text. */
static void
codes_from_text(struct mt_bounce_rec *rec, struct mt_bounce_rcpt *r,
    const char *s, size_t n)
{
	size_t	 sl, i;
	long	 o;
	int	 code;

	if (!MT_BYTES_ISSET(&r->status)) {
		if ((o = find_status(s, n, 1, &sl)) >= 0)
			set_clean(rec, &r->status, s + o, sl, 16);
	}
	if (r->reply_code != 0)
		return;
	/* The first line with a failure reply; on it the last reply, as an
	 * MTA that quotes another's reply puts its own code first ("554
	 * <a>... 550 Host unknown"). */
	for (i = 0; i + 3 <= n; i++) {
		if ((code = reply_at(s, n, i, 1)) == 0)
			continue;
		r->reply_code = code;
		for (i += 3; i + 3 <= n && s[i] != '\n'; i++)
			if ((code = reply_at(s, n, i, 1)) != 0)
				r->reply_code = code;
		return;
	}
}

/* Phrases that introduce the list of failed recipients. */
static const char *const list_intros[] = {
	"address(es) failed", "following address(es)",
	"following addresses had", "following recipient",
	"to the following address", "following destination",
	"could not be delivered to:", "delivery to the following",
};

/* 1 when the candidate starts its line, as "<addr>:" or "addr:". */
static int
addr_leads_line(const char *s, size_t n, const struct cand *cd)
{
	size_t	 i = cd->line, e = cd->off + cd->len;

	while (i < cd->off && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < cd->off && s[i] == '<' && i + 1 == cd->off && e < n &&
	    s[e] == '>')
		e++;
	else if (i != cd->off)
		return 0;
	return e < n && s[e] == ':';
}

static void
free_text(struct ctx *c, const char *s, size_t n)
{
	struct mt_bounce_rec *rec = c->rec;
	struct cand	 cand[MAX_CAND];
	struct skip	 sk;
	size_t		 pos, st, al, i, j, nc = 0, end, bstart, from = 0;
	size_t		 lastline = (size_t)-1, k, keep, scan, ls;
	int		 pass;
	struct mt_bounce_rcpt *r;
	const char	*h;

	memset(&sk, 0, sizeof(sk));
	skip_add(&sk, &rec->bounce_from);
	skip_add(&sk, &rec->orig_from);
	skip_add(&sk, &c->bounce_to);
	/* Where the list of recipients is introduced, start after it. */
	for (i = 0; i < sizeof(list_intros) / sizeof(list_intros[0]); i++)
		if ((h = ci_find(s, n, list_intros[i])) != NULL) {
			from = (size_t)(h - s) + strlen(list_intros[i]);
			break;
		}
	for (pass = 0; pass < 2 && nc == 0; pass++) {
		/* The second pass, for a report sent to the very address
		 * that failed, skips only robots and sender contexts. */
		if (pass == 1)
			sk.n = 0;
		pos = from;
		lastline = (size_t)-1;
		scan = ls = 0;
		while (nc < MAX_CAND && next_addr(s, n, &pos, &st, &al) == 0) {
			if (skipped(&sk, s + st, al) || sender_context(s, st))
				continue;
			/* The line's start, scanning forward only: linear. */
			for (; scan < st; scan++)
				if (s[scan] == '\n')
					ls = scan + 1;
			i = ls;
			if (i == lastline)	/* one recipient per line */
				continue;
			for (j = 0; j < nc; j++)
				if (addr_eq(s + cand[j].off, cand[j].len,
				    s + st, al))
					break;
			if (j < nc)
				continue;
			cand[nc].off = st;
			cand[nc].len = al;
			cand[nc].line = i;
			lastline = i;
			nc++;
		}
	}
	/* A list with a bare local part (Exim: "  kijitora"). */
	if (nc == 0 && from > 0 && from < n) {
		size_t	 b = from, e;

		while (b < n && isspace((unsigned char)s[b]))
			b++;
		for (e = b; e < n && !isspace((unsigned char)s[e]); e++)
			;
		if (e > b && e - b <= ADDR_LOCAL_MAX && (e >= n ||
		    s[e] == '\n')) {
			cand[0].off = b;
			cand[0].len = e - b;
			for (cand[0].line = b; cand[0].line > 0 &&
			    s[cand[0].line - 1] != '\n'; cand[0].line--)
				;
			nc = 1;
		}
	}
	/* Lines that start "<addr>:" or "addr:" (qmail, Postfix, OpenSMTPD)
	 * name recipients; when there are any, they are the list. */
	for (i = 0, k = 0; i < nc; i++)
		if (addr_leads_line(s, n, &cand[i]))
			k++;
	if (k > 0) {
		for (i = 0, keep = 0; i < nc; i++)
			if (addr_leads_line(s, n, &cand[i]))
				cand[keep++] = cand[i];
		nc = keep;
	}
	for (i = 0; i < nc; i++) {
		if ((r = bounce_rec_add_rcpt(rec)) == NULL)
			break;
		set_clean(rec, &r->recipient, s + cand[i].off, cand[i].len,
		    MT_BOUNCE_VALUE_MAX);
		bstart = cand[i].line;
		end = i + 1 < nc ? cand[i + 1].line : n;
		if (end <= bstart)
			end = cand[i].off + cand[i].len;
		codes_from_text(rec, r, s + bstart, end - bstart);
		set_clean(rec, &r->diagnostic, s + bstart, end - bstart >
		    DIAG_MAX ? DIAG_MAX : end - bstart, DIAG_MAX);
	}
	/* One recipient and codes elsewhere in the report: take them. */
	if (rec->n_rcpts == 1)
		codes_from_text(rec, &rec->rcpts[0], s, n);
}

/* ------------------------------------------------- Amazon SES notifications */

/*
 * The value of "key":"value" in j[0..n) (backslashes already removed);
 * NULL when absent.  *vl gets its length.
 */
static const char *
json_value(const char *j, size_t n, const char *key, size_t *vl)
{
	char		 pat[48];
	const char	*h, *e;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	if ((h = ci_find(j, n, pat)) == NULL)
		return NULL;
	h += strlen(pat);
	if ((e = memchr(h, '"', n - (size_t)(h - j))) == NULL)
		return NULL;
	*vl = (size_t)(e - h);
	return h;
}

/*
 * Amazon SES sends its bounce, complaint and delivery notifications as
 * JSON in a plain message (or inside an SNS envelope, escaped).  Returns 1
 * when the text was one.
 */
static int
ses_notification(struct ctx *c)
{
	struct mt_bounce_rec *rec = c->rec;
	struct mt_bounce_rcpt *r;
	char		*j;
	const char	*v, *p, *end;
	size_t		 n = 0, i, vl, k;

	if (c->text.len == 0 || ci_find(c->text.p, c->text.len,
	    "notificationType") == NULL)
		return 0;
	if ((j = malloc(c->text.len + 1)) == NULL)
		return 0;
	for (i = 0; i < c->text.len; i++)
		if (c->text.p[i] != '\\')
			j[n++] = c->text.p[i];
	j[n] = '\0';
	if ((v = json_value(j, n, "notificationType", &vl)) == NULL) {
		free(j);
		return 0;
	}
	rec->format = "amazon-ses";
	if (vl == 6 && strncasecmp(v, "Bounce", 6) == 0) {
		p = j;
		while ((p = ci_find(p, n - (size_t)(p - j),
		    "\"emailAddress\":\"")) != NULL) {
			end = memchr(p, '}', n - (size_t)(p - j));
			k = end != NULL ? (size_t)(end - p) : n - (size_t)(p - j);
			if ((r = bounce_rec_add_rcpt(rec)) == NULL)
				break;
			if ((v = json_value(p, k, "emailAddress", &vl)) != NULL)
				set_addr(rec, &r->recipient, v, vl);
			if ((v = json_value(p, k, "action", &vl)) != NULL)
				set_clean(rec, &r->action, v, vl, 32);
			if ((v = json_value(p, k, "status", &vl)) != NULL)
				set_clean(rec, &r->status, v, vl, 16);
			if ((v = json_value(p, k, "diagnosticCode", &vl)) !=
			    NULL) {
				strip_type(&v, &vl);
				set_clean(rec, &r->diagnostic, v, vl,
				    MT_BOUNCE_VALUE_MAX);
			}
			p += k;
		}
	} else if (vl == 9 && strncasecmp(v, "Complaint", 9) == 0) {
		rec->kind = MT_BOUNCE_FEEDBACK;
		rec->format = "amazon-ses";
		p = j;
		while ((p = ci_find(p, n - (size_t)(p - j),
		    "\"emailAddress\":\"")) != NULL) {
			if ((v = json_value(p, n - (size_t)(p - j),
			    "emailAddress", &vl)) == NULL)
				break;
			if ((r = bounce_rec_add_rcpt(rec)) == NULL)
				break;
			set_addr(rec, &r->recipient, v, vl);
			p = v + vl;
		}
	} else if (vl == 8 && strncasecmp(v, "Delivery", 8) == 0 &&
	    (p = ci_find(j, n, "\"recipients\":[")) != NULL) {
		const char *resp = json_value(j, n, "smtpResponse", &k);

		end = memchr(p, ']', n - (size_t)(p - j));
		if (end == NULL)
			end = j + n;
		p += 14;
		while (p < end) {
			const char *q = memchr(p, '"', (size_t)(end - p)), *e;

			if (q == NULL || (e = memchr(q + 1, '"',
			    (size_t)(end - q - 1))) == NULL)
				break;
			if ((r = bounce_rec_add_rcpt(rec)) == NULL)
				break;
			set_addr(rec, &r->recipient, q + 1, (size_t)(e - q - 1));
			mt_bytes_setstr(&r->action, "delivered", 32);
			if (resp != NULL)
				set_clean(rec, &r->diagnostic, resp, k,
				    MT_BOUNCE_VALUE_MAX);
			p = e + 1;
		}
	}
	free(j);
	return rec->n_rcpts > 0;
}

/* -------------------------------------------------------------------- kinds */

static const char *const bounce_subjects[] = {
	"undeliver", "undelivered", "delivery status", "failure notice",
	"returned mail", "delivery fail", "delivery failure",
	"non-deliver", "nondeliver", "could not be delivered",
	"mail delivery", "delivery notification", "mail system error",
	"rejected", "not delivered", "delivery problem", "unable to deliver",
	"warning: could not send", "delivery report", "bounce",
	"returned to sender", "mail failure", "error sending",
	"delayed mail", "delivery delayed", "failed delivery",
	"message you sent", "permanent error", "mail could not",
	"unzustellbar", "fehler", "no se puede", "non remis",
	"deliverynotification", "message not delivered",
	"\xe3\x82\xa8\xe3\x83\xa9\xe3\x83\xbc",	/* "error" in Japanese */
};

static const char *const bounce_bodies[] = {
	"qmail-send program", "mail delivery software",
	"could not be delivered", "transcript of session follows",
	"diagnostic information for administrators", "delivery has failed",
	"permanent error", "permanent fatal errors", "undeliverable",
	"delivery to the following recipient", "was not delivered",
	"not be delivered", "failed permanently", "delivery failed",
	"unable to deliver", "could not deliver", "message could not",
	"the following address", "returned to sender", "user unknown",
	"was undeliverable", "delivery to the following", "your message",
	"failed:", "following recipients", "error occurred", "mailbox",
	"error delivering", "delivery to", "not deliver", "has been delayed",
	"error has occurred", "attempting to deliver", "mailer-daemon",
	"requested action not taken", "invalid user",
	"rejected", "could not be sent",
};

static int
any_phrase(const char *s, size_t n, const char *const *list, size_t nl)
{
	size_t	 i;

	if (s == NULL)
		return 0;
	for (i = 0; i < nl; i++)
		if (ci_find(s, n, list[i]) != NULL)
			return 1;
	return 0;
}

/* Senders that are programs, and the words of their error reports. */
static const char *const robot_senders[] = {
	"no-reply@", "noreply@", "post_master@", "sysadmin@", "ndr",
};

static const char *const robot_errors[] = {
	"requested action not taken", "invalid user", "could not be delivered",
	"error:",
};

static int
is_autoreply(GMimeMessage *m, const char *subject)
{
	GMimeObject	*o = GMIME_OBJECT(m);
	const char	*v;

	if ((v = g_mime_object_get_header(o, "Auto-Submitted")) != NULL &&
	    ci_find(v, strlen(v), "auto-replied") != NULL)
		return 1;
	if (g_mime_object_get_header(o, "X-Autoreply") != NULL ||
	    g_mime_object_get_header(o, "X-Autorespond") != NULL ||
	    g_mime_object_get_header(o, "X-Autoresponder") != NULL)
		return 1;
	if ((v = g_mime_object_get_header(o, "Precedence")) != NULL &&
	    ci_find(v, strlen(v), "auto_reply") != NULL)
		return 1;
	if (subject != NULL && (ci_prefix(subject, strlen(subject),
	    "Auto:") || ci_find(subject, strlen(subject), "auto reply") !=
	    NULL || ci_find(subject, strlen(subject), "automatic reply") !=
	    NULL || ci_find(subject, strlen(subject), "out of office") !=
	    NULL || ci_find(subject, strlen(subject), "autoreply") != NULL ||
	    ci_find(subject, strlen(subject), "auto-reply") != NULL ||
	    ci_find(subject, strlen(subject), "vacation") != NULL))
		return 1;
	return 0;
}

/* --------------------------------------------------------------- the parser */

static uint64_t
hash64(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */
	size_t	 i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * Copy msg (capped, CRLF made LF) and cut it before the header line that
 * would be the max_ct'th "Content-Type:" GMime could descend into.
 */
static char *
prepare(const char *msg, size_t len, size_t cap, unsigned max_ct,
    size_t *outlen, int *cut)
{
	char	*p;
	size_t	 i, o = 0;
	unsigned cts = 0;

	*cut = 0;
	if (len > cap) {
		len = cap;
		*cut = 1;
	}
	if ((p = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n')
			continue;
		if ((o == 0 || p[o - 1] == '\n') && (msg[i] == 'C' ||
		    msg[i] == 'c') && len - i >= 13 &&
		    strncasecmp(msg + i, "Content-Type:", 13) == 0 &&
		    ++cts > max_ct) {
			*cut = 2;
			break;
		}
		p[o++] = msg[i];
	}
	p[o] = '\0';
	*outlen = o;
	return p;
}

static void
set_hdr(struct mt_bounce_rec *rec, struct mt_bytes *dst, const char *v)
{
	if (v != NULL)
		set_clean(rec, dst, v, strlen(v), MT_BOUNCE_VALUE_MAX);
}

/*
 * A Status that says little: X.0.0 (no detail) or X.4.7 (the MTA gave up
 * retrying).  A different code of the same class in the diagnostic says
 * why, and wins.
 */
static int
status_generic(const struct mt_bytes *st)
{
	return st->len == 5 && (strcmp(st->data + 1, ".0.0") == 0 ||
	    strcmp(st->data + 1, ".4.7") == 0);
}

/*
 * The failure code in the diagnostic that differs from Status: the first
 * written right after a reply code ("550 5.7.1", "550-'5.7.1"), else the
 * first.
 */
static long
diag_status(const struct mt_bounce_rcpt *r)
{
	const char *d = r->diagnostic.data;
	size_t	 n = r->diagnostic.len, off = 0, sl, k;
	long	 o, first = -1;

	while (off < n && (o = find_status(d + off, n - off, 1, &sl)) >= 0) {
		o += (long)off;
		off = (size_t)o + sl;
		if (MT_BYTES_ISSET(&r->status) && sl == r->status.len &&
		    memcmp(d + o, r->status.data, sl) == 0)
			continue;
		if (first < 0)
			first = o;
		for (k = 4; k <= 5; k++)
			if ((size_t)o >= k && reply_at(d, n, (size_t)o - k,
			    1) != 0)
				return o;
	}
	return first;
}

/* 1 when the code at o follows a reply code ("550 5.7.1", "550-'5.7.1"). */
static int
paired_status(const struct mt_bounce_rcpt *r, long o)
{
	size_t	 k;

	for (k = 4; k <= 5; k++)
		if ((size_t)o >= k && reply_at(r->diagnostic.data,
		    r->diagnostic.len, (size_t)o - k, 1) != 0)
			return 1;
	return 0;
}

static size_t
diag_status_len(const struct mt_bounce_rcpt *r, long o)
{
	size_t	 sl = 0;

	(void)find_status(r->diagnostic.data + o, r->diagnostic.len -
	    (size_t)o, 1, &sl);
	return sl;
}

/*
 * The reply code of a diagnostic: the last failure code in it (an MTA
 * that quotes another's reply puts its own code first: "554 <a>... 550
 * Host unknown"), else any code.
 */
static int
diag_reply(const struct mt_bounce_rcpt *r)
{
	const char *d = r->diagnostic.data;
	size_t	 n = r->diagnostic.len, i;
	int	 code, last = 0;

	if (ci_prefix(d, n, "x-unix;"))
		return 0;		/* an exit status, not SMTP */
	for (i = 0; i + 3 <= n; i++)
		if ((code = reply_at(d, n, i, 1)) != 0)
			last = code;
	return last != 0 ? last : find_reply(d, n, 0);
}

/*
 * A DSN whose recipient has no Diagnostic-Code (OpenSMTPD) or one without
 * a reply code (Sendmail's "X-Unix; 77"): the reply quoted in the
 * human-readable part, on the lines naming the recipient (up to a blank
 * line), or for a single recipient the first reply in the text.
 */
/* Use text[ls..le) as the diagnostic when there is none, or add it to an
 * "X-Unix; 255" one. */
static void
text_line_diag(struct ctx *c, struct mt_bounce_rcpt *r, const char *ls,
    const char *le)
{
	struct mt_bytes	 line = { NULL, 0 };

	if (!MT_BYTES_ISSET(&r->diagnostic)) {
		set_clean(c->rec, &r->diagnostic, ls, (size_t)(le - ls),
		    DIAG_MAX);
		return;
	}
	if (!ci_prefix(r->diagnostic.data, r->diagnostic.len, "x-unix;"))
		return;
	set_clean(c->rec, &line, ls, (size_t)(le - ls), DIAG_MAX);
	if (line.data != NULL && mt_bytes_append(&r->diagnostic, ' ',
	    line.data, line.len, MT_BOUNCE_VALUE_MAX) == 1)
		c->rec->truncations++;
	mt_bytes_clear(&line);
}

static void
text_diag(struct ctx *c, struct mt_bounce_rcpt *r)
{
	const char *t = c->text.p, *hit, *ls, *le;
	size_t	 n = c->rend < TEXT_SEARCH_MAX ? c->rend : TEXT_SEARCH_MAX, i;
	int	 code = 0;

	if (MT_BYTES_ISSET(&r->recipient) && r->recipient.len > 0 &&
	    (hit = ci_find(t, n, r->recipient.data)) != NULL) {
		for (ls = hit; ls > t && ls[-1] != '\n'; ls--)
			;
		/* Its own line when that holds a reply, else up to a
		 * blank line. */
		le = memchr(hit, '\n', n - (size_t)(hit - t));
		if (le == NULL)
			le = t + n;
		if (find_reply(ls, (size_t)(le - ls), 1) == 0)
			for (; le < t + n; le++)
				if (*le == '\n' && (le + 1 == t + n ||
				    le[1] == '\n'))
					break;
		if (find_reply(ls, (size_t)(le - ls), 1) != 0)
			text_line_diag(c, r, ls, le);
		if (r->reply_code == 0 &&
		    (code = find_reply(ls, (size_t)(le - ls), 1)) != 0) {
			r->reply_code = code;
			return;
		}
	}
	if (r->reply_code != 0 || c->rec->n_rcpts != 1)
		return;
	/* One recipient: the first reply line of the text. */
	for (i = 0; i + 3 <= n; i++)
		if ((code = reply_at(t, n, i, 1)) != 0)
			break;
	if (code == 0)
		return;
	r->reply_code = code;
	for (ls = t + i; ls > t && ls[-1] != '\n'; ls--)
		;
	if ((le = memchr(t + i, '\n', n - i)) == NULL)
		le = t + n;
	text_line_diag(c, r, ls, le);
}

/* Phrases that make a report without codes a temporary one. */
static const char *const delay_phrases[] = {
	"delayed", "will retry", "will be retried", "still trying",
	"temporary failure", "temporarily", "has not yet been delivered",
	"not yet been delivered", "try again later", "deferred",
};

/* Phrases of a report that is only a warning: the MTA keeps trying. */
static const char *const warning_phrases[] = {
	"warning message only", "will be retried", "will retry",
	"still trying", "has been delayed", "not yet been delivered",
	"do not need to resend", "only a temporary failure",
};

/* Phrases of an MTA that gave up retrying. */
static const char *const expiry_phrases[] = {
	"retry timeout exceeded", "failing for a long time",
	"too long in the queue", "been in the queue too long",
	"retry time not reached", "message expired", "delivery time expired",
};

/* A report with no code at all: 4.0.0 when it says it is a delay or a
 * temporary failure, else 5.0.0 (a non-delivery report is final). */
static void
set_default_status(struct ctx *c, struct mt_bounce_rcpt *r)
{
	const char *t = c->text.p;
	size_t	 n = c->rend;
	int	 temp = 0;

	if (r->diagnostic.data != NULL && any_phrase(r->diagnostic.data,
	    r->diagnostic.len, expiry_phrases, sizeof(expiry_phrases) /
	    sizeof(expiry_phrases[0]))) {
		/* Gave up retrying: the DSN code for that is 4.4.7. */
		mt_bytes_setstr(&r->status, "4.4.7", 16);
		return;
	}
	if (t != NULL && any_phrase(t, n, delay_phrases,
	    sizeof(delay_phrases) / sizeof(delay_phrases[0])))
		temp = 1;
	if (!temp && r->diagnostic.data != NULL && any_phrase(r->diagnostic.data,
	    r->diagnostic.len, delay_phrases, sizeof(delay_phrases) /
	    sizeof(delay_phrases[0])))
		temp = 1;
	mt_bytes_setstr(&r->status, temp ? "4.0.0" : "5.0.0", 16);
}

static void
finish_rcpts(struct ctx *c)
{
	struct mt_bounce_rec *rec = c->rec;
	struct mt_bounce_rcpt *r;
	size_t	 i, sl;
	long	 o;
	int	 any_failed = 0, any_delayed = 0, any_ok = 0, code, expired = 0;
	int	 text_delay = c->text.p != NULL && any_phrase(c->text.p,
		    c->rend, warning_phrases, sizeof(warning_phrases) /
		    sizeof(warning_phrases[0]));

	for (i = 0; i < rec->n_rcpts; i++) {
		r = &rec->rcpts[i];
		if (!MT_BYTES_ISSET(&r->recipient) &&
		    MT_BYTES_ISSET(&r->orig_recipient))
			mt_bytes_set(&r->recipient, r->orig_recipient.data,
			    r->orig_recipient.len, MT_BOUNCE_VALUE_MAX);
		if (!MT_BYTES_ISSET(&r->status) &&
		    MT_BYTES_ISSET(&r->diagnostic) && diag_status(r) < 0 &&
		    (o = find_status(r->diagnostic.data, r->diagnostic.len, 0,
		    &sl)) >= 0)
			set_clean(rec, &r->status, r->diagnostic.data + o, sl,
			    16);
		if (c->have_ds && c->text.len > 0 &&
		    (!MT_BYTES_ISSET(&r->diagnostic) ||
		    diag_reply(r) == 0))
			text_diag(c, r);
		if (MT_BYTES_ISSET(&r->diagnostic)) {
			if (r->reply_code == 0 && (code = diag_reply(r)) != 0)
				r->reply_code = code;
			/* The code in the diagnostic wins over a generic
			 * Status (X.0.0, 4.4.7) of its class, and over any
			 * Status of a failed recipient when it is the code the
			 * remote server wrote with its reply ("550 5.7.1"):
			 * the remote said why, the reporting MTA summarised. */
			if ((o = diag_status(r)) >= 0 &&
			    (!MT_BYTES_ISSET(&r->status) ||
			    (status_generic(&r->status) &&
			    r->diagnostic.data[o] == r->status.data[0]) ||
			    (paired_status(r, o) && MT_BYTES_ISSET(&r->action) &&
			    strcmp(r->action.data, "failed") == 0))) {
				set_clean(rec, &r->status,
				    r->diagnostic.data + o, diag_status_len(r, o),
				    16);
				/* The reply code written with it, if any. */
				if ((o >= 4 && (code = reply_at(
				    r->diagnostic.data, r->diagnostic.len,
				    (size_t)o - 4, 1)) != 0) || (o >= 5 &&
				    (code = reply_at(r->diagnostic.data,
				    r->diagnostic.len, (size_t)o - 5, 1)) != 0))
					r->reply_code = code;
			}
		}
		/* Some MTAs write "Action: expired" (not RFC 3464): the
		 * recipient failed because retries ran out. */
		if (MT_BYTES_ISSET(&r->action) &&
		    strcmp(r->action.data, "expired") == 0) {
			mt_bytes_setstr(&r->action, "failed", 32);
			expired = 1;
		}
		if (!MT_BYTES_ISSET(&r->status) && r->reply_code == 0 &&
		    (!MT_BYTES_ISSET(&r->action) ||
		    strcmp(r->action.data, "failed") == 0))
			set_default_status(c, r);
		if (!MT_BYTES_ISSET(&r->status) && r->reply_code >= 400) {
			char	 s[16];

			snprintf(s, sizeof(s), "%d.0.0",
			    (r->reply_code / 100) % 10);
			mt_bytes_setstr(&r->status, s, 16);
		}
		if (MT_BYTES_ISSET(&r->status))
			r->permanent = r->status.data[0] == '5' ? 1 :
			    r->status.data[0] == '4' ? 0 : -1;
		else if (r->reply_code >= 400)
			r->permanent = r->reply_code >= 500;
		/* A report without Action: fields that says it is only a
		 * warning (still trying) and gives a temporary code. */
		if (!MT_BYTES_ISSET(&r->action) && text_delay &&
		    MT_BYTES_ISSET(&r->status) && r->status.data[0] == '4')
			mt_bytes_setstr(&r->action, "delayed", 32);
		if (MT_BYTES_ISSET(&r->action)) {
			if (strcmp(r->action.data, "failed") == 0)
				any_failed = 1;
			else if (strcmp(r->action.data, "delayed") == 0)
				any_delayed = 1;
			else
				any_ok = 1;
		} else if (r->permanent >= 0 || r->reply_code >= 400)
			any_failed = 1;
		else if (MT_BYTES_ISSET(&r->status) && r->status.data[0] == '2')
			any_ok = 1;
		else
			any_failed = 1;
	}
	if (any_failed)
		rec->kind = MT_BOUNCE_FAILURE;
	else if (any_delayed)
		rec->kind = MT_BOUNCE_DELAY;
	else if (any_ok)
		rec->kind = MT_BOUNCE_SUCCESS;
	for (i = 0; i < rec->n_rcpts; i++) {
		r = &rec->rcpts[i];
		if (MT_BYTES_ISSET(&r->action) &&
		    strcmp(r->action.data, "delayed") == 0)
			r->reason = MT_REASON_DELAYED;
		else if (MT_BYTES_ISSET(&r->action) &&
		    strcmp(r->action.data, "failed") != 0)
			r->reason = MT_REASON_UNKNOWN;
		else
			r->reason = classify(r);
		if (expired && r->reason == MT_REASON_UNKNOWN)
			r->reason = MT_REASON_EXPIRED;
	}
}

/* ARF: one recipient per Original-Rcpt-To / Removal-Recipient. */
static void
fb_field(void *arg, const char *n, size_t nlen, const char *v, size_t vlen)
{
	struct ctx		*c = arg;
	struct mt_bounce_rcpt	*r;

	if (n == NULL)
		return;
	if (FIELD("Original-Rcpt-To") || FIELD("Removal-Recipient")) {
		if ((r = bounce_rec_add_rcpt(c->rec)) != NULL)
			set_addr(c->rec, &r->recipient, v, vlen);
	} else if (FIELD("Reporting-MTA") &&
	    !MT_BYTES_ISSET(&c->rec->reporting_mta)) {
		strip_type(&v, &vlen);
		set_clean(c->rec, &c->rec->reporting_mta, v, vlen,
		    MT_BOUNCE_VALUE_MAX);
	}
}

/* The original's To: as the one recipient (ARF, text bounces). */
static void
rcpt_from_orig_to(struct ctx *c)
{
	struct mt_bounce_rcpt *r;

	if (MT_BYTES_ISSET(&c->orig_to) &&
	    (r = bounce_rec_add_rcpt(c->rec)) != NULL)
		mt_bytes_set(&r->recipient, c->orig_to.data, c->orig_to.len,
		    MT_BOUNCE_VALUE_MAX);
}

void
dsn_init(void)
{
	static gsize once = 0;

	if (g_once_init_enter(&once)) {
		g_mime_init();
		g_once_init_leave(&once, 1);
	}
}

struct mt_bounce_rec *
dsn_parse(const char *msg, size_t len, const struct dsn_limits *limits)
{
	struct dsn_limits lim;
	struct ctx	 c;
	struct mt_bounce_rec *rec;
	GMimeStream	*stream = NULL;
	GMimeParser	*parser = NULL;
	GMimeMessage	*m = NULL;
	InternetAddressList *al;
	char		*in;
	const char	*subject = NULL, *from_local, *to, *hit;
	size_t		 inlen, rend;
	int		 cut, signals = 0, looks_bounce = 0;
	struct orig_state os;
	struct ds_state	 ds;

	dsn_init();
	memset(&lim, 0, sizeof(lim));
	if (limits != NULL)
		lim = *limits;
	if (lim.max_bytes == 0)
		lim.max_bytes = DSN_DEFAULT_MAX_BYTES;
	if (lim.max_depth == 0)
		lim.max_depth = DEFAULT_DEPTH;
	if (lim.max_parts == 0)
		lim.max_parts = DEFAULT_PARTS;
	if (lim.tracking_header == NULL || lim.tracking_header[0] == '\0')
		lim.tracking_header = "X-Mailtrail-ID";
	if ((rec = bounce_rec_new(MT_SOURCE_COMMAND)) == NULL)
		return NULL;
	rec->format = "none";
	if (msg == NULL)
		len = 0;
	if ((in = prepare(msg != NULL ? msg : "", len, lim.max_bytes,
	    lim.max_parts * 2, &inlen, &cut)) == NULL) {
		bounce_rec_free(rec);
		return NULL;
	}
	rec->content_hash = hash64(in, inlen);
	if (cut == 1)
		mt_bytes_setstr(&rec->error, "input over max_bytes: the rest"
		    " was not read", 128);
	else if (cut == 2)
		mt_bytes_setstr(&rec->error, "too many MIME parts: the rest"
		    " was not read", 128);

	memset(&c, 0, sizeof(c));
	c.lim = &lim;
	c.rec = rec;
	stream = g_mime_stream_mem_new_with_buffer(in, inlen);
	if (stream != NULL)
		parser = g_mime_parser_new_with_stream(stream);
	if (parser != NULL)
		m = g_mime_parser_construct_message(parser, NULL);
	if (m == NULL) {
		if (!MT_BYTES_ISSET(&rec->error))
			mt_bytes_setstr(&rec->error, "not a message", 64);
		goto done;
	}

	/* The report's own headers. */
	subject = g_mime_message_get_subject(m);
	set_hdr(rec, &rec->bounce_subject, subject);
	set_hdr(rec, &rec->bounce_message_id, g_mime_message_get_message_id(m));
	if ((al = g_mime_message_get_from(m)) != NULL &&
	    internet_address_list_length(al) > 0) {
		InternetAddress *ia = internet_address_list_get_address(al, 0);

		if (INTERNET_ADDRESS_IS_MAILBOX(ia))
			set_hdr(rec, &rec->bounce_from,
			    internet_address_mailbox_get_addr(
			    INTERNET_ADDRESS_MAILBOX(ia)));
	}

	if ((to = g_mime_object_get_header(GMIME_OBJECT(m), "To")) != NULL) {
		size_t	 pos = 0, st, tl;

		if (next_addr(to, strlen(to), &pos, &st, &tl) == 0)
			mt_bytes_set(&c.bounce_to, to + st, tl,
			    MT_BOUNCE_VALUE_MAX);
	}
	walk(&c, g_mime_message_get_mime_part(m), 0, 0);
	if (c.stopped && !MT_BYTES_ISSET(&rec->error))
		mt_bytes_setstr(&rec->error, "part limit reached", 64);
	if (c.deep && !MT_BYTES_ISSET(&rec->error))
		mt_bytes_setstr(&rec->error, "depth limit reached", 64);

	/* Keys to the original. */
	memset(&os, 0, sizeof(os));
	os.c = &c;
	if (c.orig.len > 0)
		fields(c.orig.p, c.orig.len, orig_field, &os);
	if (c.ds.len > 0)
		find_track_id(&c, c.ds.p, c.ds.len);
	find_track_id(&c, c.orig.p, c.orig.len);
	find_track_id(&c, c.text.p, c.text.len);
	find_track_id(&c, c.rest.p, c.rest.len);
	rend = c.rend = c.text.len > 0 ? report_end(c.text.p, c.text.len) : 0;
	if (!MT_BYTES_ISSET(&rec->orig_message_id) && c.text.len > rend)
		inline_headers(&c, c.text.p + rend, c.text.len - rend);

	from_local = g_mime_object_get_header(GMIME_OBJECT(m), "From");
	if (from_local != NULL && (ci_find(from_local, strlen(from_local),
	    "mailer-daemon") != NULL || ci_find(from_local, strlen(from_local),
	    "postmaster") != NULL || ci_find(from_local, strlen(from_local),
	    "mail delivery") != NULL || ci_find(from_local, strlen(from_local),
	    "mailer daemon") != NULL || ci_find(from_local,
	    strlen(from_local), "<>") != NULL))
		signals++;
	else if (from_local != NULL && any_phrase(from_local,
	    strlen(from_local), robot_senders, sizeof(robot_senders) /
	    sizeof(robot_senders[0])) && (c.have_orig || (c.text.len > 0 &&
	    any_phrase(c.text.p, rend, robot_errors, sizeof(robot_errors) /
	    sizeof(robot_errors[0])))))
		signals++;	/* a robot returning a message or an error */
	if (subject != NULL && any_phrase(subject, strlen(subject),
	    bounce_subjects, sizeof(bounce_subjects) /
	    sizeof(bounce_subjects[0])))
		signals++;

	if (c.have_fb || strcasecmp(c.report_type, "feedback-report") == 0 ||
	    ((to = g_mime_object_get_header(GMIME_OBJECT(m),
	    "X-Apple-Unsubscribe")) != NULL && strcasecmp(to, "true") == 0)) {
		rec->kind = MT_BOUNCE_FEEDBACK;
		rec->format = "arf";
		if (c.fb.len > 0)
			fields(c.fb.p, c.fb.len, fb_field, &c);
		if (rec->n_rcpts == 0)
			rcpt_from_orig_to(&c);
		/* A report concerns at least one recipient, named or not. */
		if (rec->n_rcpts == 0)
			(void)bounce_rec_add_rcpt(rec);
		goto classify_special;
	}
	if (c.ds.len > 0) {
		memset(&ds, 0, sizeof(ds));
		ds.c = &c;
		ds.cur_i = -1;
		fields(c.ds.p, c.ds.len, ds_field, &ds);
		rec->format = "rfc3464";
	}
	/* DSN fields written in the text (no MIME structure). */
	if (rec->n_rcpts == 0 && c.text.len > 0 &&
	    (hit = ci_find(c.text.p, c.text.len, "\nFinal-Recipient:")) !=
	    NULL) {
		memset(&ds, 0, sizeof(ds));
		ds.c = &c;
		ds.cur_i = -1;
		fields(hit + 1, c.text.len - (size_t)(hit + 1 - c.text.p),
		    ds_field, &ds);
		if (rec->n_rcpts > 0)
			rec->format = "rfc3464";
	}
	if (rec->n_rcpts == 0 && ses_notification(&c) &&
	    rec->kind == MT_BOUNCE_FEEDBACK)
		goto classify_special;
	if (rec->n_rcpts == 0) {
		int	 body = c.text.len > 0 && any_phrase(c.text.p, rend,
		    bounce_bodies, sizeof(bounce_bodies) /
		    sizeof(bounce_bodies[0]));

		if ((signals > 0 && (body || c.multipart_report)) ||
		    (signals > 1) || (c.multipart_report && body) ||
		    c.have_ds) {
			looks_bounce = 1;
			free_text(&c, c.text.p, rend);
			rec->format = "text";
			if (rec->n_rcpts == 0)
				rcpt_from_orig_to(&c);
			if (rec->n_rcpts == 1 && !MT_BYTES_ISSET(
			    &rec->rcpts[0].status) && c.text.len > 0)
				codes_from_text(rec, &rec->rcpts[0],
				    c.text.p, rend);
		}
		if (!looks_bounce && is_autoreply(m, subject)) {
			struct mt_bounce_rcpt *r;

			rec->kind = MT_BOUNCE_AUTOREPLY;
			rec->format = "rfc3834";
			if ((r = bounce_rec_add_rcpt(rec)) != NULL &&
			    MT_BYTES_ISSET(&rec->bounce_from))
				mt_bytes_set(&r->recipient,
				    rec->bounce_from.data, rec->bounce_from.len,
				    MT_BOUNCE_VALUE_MAX);
			goto classify_special;
		}
	} else if (c.text.len > 0 && rec->n_rcpts == 1 &&
	    !MT_BYTES_ISSET(&rec->rcpts[0].diagnostic))
		codes_from_text(rec, &rec->rcpts[0], c.text.p, rend);
	if (rec->n_rcpts > 0)
		finish_rcpts(&c);
	goto done;

classify_special:
	{
		size_t	 i;

		for (i = 0; i < rec->n_rcpts; i++) {
			rec->rcpts[i].reason = rec->kind == MT_BOUNCE_FEEDBACK ?
			    MT_REASON_FEEDBACK : MT_REASON_AUTOREPLY;
			rec->rcpts[i].permanent = 0;
		}
	}
done:
	if (m != NULL)
		g_object_unref(m);
	if (parser != NULL)
		g_object_unref(parser);
	if (stream != NULL)
		g_object_unref(stream);
	free(in);
	buf_free(&c.ds);
	buf_free(&c.fb);
	buf_free(&c.text);
	buf_free(&c.orig);
	buf_free(&c.rest);
	mt_bytes_clear(&c.bounce_to);
	mt_bytes_clear(&c.orig_to);
	if (rec->kind == MT_BOUNCE_NONE)
		rec->format = "none";
	return rec;
}

static int
has(const char *s, const char *const *list, size_t n)
{
	return s != NULL && any_phrase(s, strlen(s), list, n);
}

int
dsn_looks_like_bounce(const char *mail_from, const char *content_type,
    const char *from, const char *subject)
{
	if (mail_from != NULL && (mail_from[0] == '\0' ||
	    strcmp(mail_from, "<>") == 0))
		return 1;
	if (content_type != NULL && ci_find(content_type, strlen(content_type),
	    "multipart/report") != NULL)
		return 1;
	if (from != NULL && (ci_find(from, strlen(from), "mailer-daemon") !=
	    NULL || ci_find(from, strlen(from), "postmaster") != NULL))
		return 1;
	return has(subject, bounce_subjects, sizeof(bounce_subjects) /
	    sizeof(bounce_subjects[0]));
}
