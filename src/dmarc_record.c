/*
 * dmarc_record.c - read one _dmarc TXT record (RFC 7489 section 6.3,
 * RFC 9989 section 4.7).
 *
 * The rules, where the RFCs leave a choice to us (docs/dmarc.md):
 *   - the record must begin with "v=DMARC1" (case-sensitive value, white
 *     space allowed around '='), followed by ';' or the end: otherwise it
 *     is not a DMARC record at all and the caller discards it;
 *   - tag names are read without regard to case, values of the closed
 *     vocabularies too; unknown tags are ignored and counted;
 *   - a known tag with a bad value is ignored (its default holds) and
 *     noted in rec->ignored; a repeated tag likewise (the first counts);
 *   - without a valid p=, a record with at least one valid rua= URI is
 *     read as p=none (both RFCs); without either it is invalid;
 *   - pct= (RFC 7489) is kept: RFC 9989 removed it in favour of t=, but
 *     records still carry it and RFC 7489 receivers honour it;
 *   - the whole record is capped at MT_DMARC_RECORD_MAX bytes.
 *
 * No state; thread-safe.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mailtrail/dmarc.h"

struct span {
	const char	*p;
	size_t		 len;
};

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static struct span
trim(const char *p, size_t len)
{
	struct span	 s;

	while (len > 0 && is_wsp((unsigned char)*p)) {
		p++;
		len--;
	}
	while (len > 0 && is_wsp((unsigned char)p[len - 1]))
		len--;
	s.p = p;
	s.len = len;
	return s;
}

static int
span_is(struct span s, const char *word)
{
	return s.len == strlen(word) && strncasecmp(s.p, word, s.len) == 0;
}

static void
set_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

static int
policy_value(struct span v, enum mt_dmarc_policy *out)
{
	if (span_is(v, "none"))
		*out = MT_DMARC_P_NONE;
	else if (span_is(v, "quarantine"))
		*out = MT_DMARC_P_QUARANTINE;
	else if (span_is(v, "reject"))
		*out = MT_DMARC_P_REJECT;
	else
		return -1;
	return 0;
}

/* One of the letters in set (case-insensitive); its index. */
static int
letter_value(struct span v, const char *set)
{
	const char	*hit;

	if (v.len != 1 || v.p[0] == '\0' ||
	    (hit = strchr(set, tolower((unsigned char)v.p[0]))) == NULL)
		return -1;
	return (int)(hit - set);
}

/* 1*max DIGIT up to limit. */
static int
number_value(struct span v, size_t max_digits, unsigned long limit,
    unsigned long *out)
{
	unsigned long	 n = 0;
	size_t		 i;

	if (v.len == 0 || v.len > max_digits)
		return -1;
	for (i = 0; i < v.len; i++) {
		if (!isdigit((unsigned char)v.p[i]))
			return -1;
		n = n * 10 + (unsigned long)(v.p[i] - '0');
		if (n > limit)
			return -1;
	}
	*out = n;
	return 0;
}

/*
 * dmarc-urilist: URIs separated by ',' (white space around them allowed),
 * each "scheme:rest" with an optional "!size"; valid when one URI is.
 */
static int
urilist_value(struct span v)
{
	size_t	 i = 0, j, k;
	int	 valid = 0;

	while (i <= v.len) {
		struct span u;

		for (j = i; j < v.len && v.p[j] != ','; j++)
			;
		u = trim(v.p + i, j - i);
		/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
		if (u.len > 0 && isalpha((unsigned char)u.p[0])) {
			for (k = 1; k < u.len && (isalnum((unsigned char)u.p[k])
			    || u.p[k] == '+' || u.p[k] == '-' ||
			    u.p[k] == '.'); k++)
				;
			if (k + 1 < u.len && u.p[k] == ':') {
				for (k++; k < u.len; k++)
					if (is_wsp((unsigned char)u.p[k]) ||
					    (unsigned char)u.p[k] >= 0x7f ||
					    (unsigned char)u.p[k] < 0x20)
						break;
				if (k == u.len)
					valid = 1;
			}
		}
		i = j + 1;
	}
	return valid ? 0 : -1;
}

/* A ':'-separated list of items, each made of chars from ok (a set). */
static int
colon_list(struct span v, const char *ok, int single_char)
{
	size_t	 i = 0, j;

	if (v.len == 0)
		return -1;
	while (i <= v.len) {
		struct span item;
		size_t k;

		for (j = i; j < v.len && v.p[j] != ':'; j++)
			;
		item = trim(v.p + i, j - i);
		if (item.len == 0 || (single_char && item.len != 1))
			return -1;
		for (k = 0; k < item.len; k++)
			if (item.p[k] == '\0' || strchr(ok,
			    tolower((unsigned char)item.p[k])) == NULL)
				return -1;
		i = j + 1;
	}
	return 0;
}

static void
copy_text(char *dst, size_t dstsz, struct span v)
{
	size_t	 n = v.len < dstsz - 1 ? v.len : dstsz - 1;

	memcpy(dst, v.p, n);
	dst[n] = '\0';
}

/* Apply one known tag.  0 when the value was good, -1 when ignored. */
static int
apply_tag(struct mt_dmarc_record *rec, unsigned tag, struct span v)
{
	unsigned long	 n;
	int		 i;

	switch (tag) {
	case MT_DMARC_TAG_P:
		return policy_value(v, &rec->p);
	case MT_DMARC_TAG_SP:
		return policy_value(v, &rec->sp);
	case MT_DMARC_TAG_NP:
		return policy_value(v, &rec->np);
	case MT_DMARC_TAG_PSD:
		if ((i = letter_value(v, "uyn")) < 0)
			return -1;
		rec->psd = i == 1 ? MT_DMARC_PSD_Y : i == 2 ? MT_DMARC_PSD_N :
		    MT_DMARC_PSD_U;
		return 0;
	case MT_DMARC_TAG_T:
		if ((i = letter_value(v, "ny")) < 0)
			return -1;
		rec->testing = i;
		return 0;
	case MT_DMARC_TAG_ADKIM:
		if ((i = letter_value(v, "rs")) < 0)
			return -1;
		rec->adkim_strict = i;
		return 0;
	case MT_DMARC_TAG_ASPF:
		if ((i = letter_value(v, "rs")) < 0)
			return -1;
		rec->aspf_strict = i;
		return 0;
	case MT_DMARC_TAG_PCT:
		if (number_value(v, 3, 100, &n) != 0)
			return -1;
		rec->pct = (int)n;
		return 0;
	case MT_DMARC_TAG_RUA:
	case MT_DMARC_TAG_RUF:
		if (urilist_value(v) != 0)
			return -1;
		copy_text(tag == MT_DMARC_TAG_RUA ? rec->rua : rec->ruf,
		    MT_DMARC_URI_MAX, v);
		return 0;
	case MT_DMARC_TAG_FO:
		if (colon_list(v, "01ds", 1) != 0 || v.len >= sizeof(rec->fo))
			return -1;
		copy_text(rec->fo, sizeof(rec->fo), v);
		return 0;
	case MT_DMARC_TAG_RF:
		if (colon_list(v, "abcdefghijklmnopqrstuvwxyz0123456789-",
		    0) != 0 || v.len >= sizeof(rec->rf))
			return -1;
		copy_text(rec->rf, sizeof(rec->rf), v);
		return 0;
	case MT_DMARC_TAG_RI:
		if (number_value(v, 10, 0xffffffffUL, &n) != 0)
			return -1;
		rec->ri = (uint32_t)n;
		return 0;
	}
	return -1;
}

static const struct {
	const char	*name;
	unsigned	 tag;
} tags[] = {
	{ "p", MT_DMARC_TAG_P }, { "sp", MT_DMARC_TAG_SP },
	{ "np", MT_DMARC_TAG_NP }, { "psd", MT_DMARC_TAG_PSD },
	{ "t", MT_DMARC_TAG_T }, { "adkim", MT_DMARC_TAG_ADKIM },
	{ "aspf", MT_DMARC_TAG_ASPF }, { "pct", MT_DMARC_TAG_PCT },
	{ "rua", MT_DMARC_TAG_RUA }, { "ruf", MT_DMARC_TAG_RUF },
	{ "fo", MT_DMARC_TAG_FO }, { "rf", MT_DMARC_TAG_RF },
	{ "ri", MT_DMARC_TAG_RI },
};

/* "v=DMARC1" as the first tag-spec. */
static int
is_version(struct span s)
{
	const char	*eq = memchr(s.p, '=', s.len);
	struct span	 name, value;

	if (eq == NULL)
		return 0;
	name = trim(s.p, (size_t)(eq - s.p));
	value = trim(eq + 1, s.len - (size_t)(eq - s.p) - 1);
	return name.len == 1 && (name.p[0] == 'v' || name.p[0] == 'V') &&
	    value.len == 6 && memcmp(value.p, "DMARC1", 6) == 0;
}

enum mt_dmarc_rec_status
dmarc_record_parse(const char *txt, size_t len, struct mt_dmarc_record *rec,
    char *err, size_t errlen)
{
	size_t		 i = 0, j, k;
	int		 first = 1;

	memset(rec, 0, sizeof(*rec));
	rec->pct = 100;
	rec->ri = 86400;
	snprintf(rec->fo, sizeof(rec->fo), "0");
	snprintf(rec->rf, sizeof(rec->rf), "afrf");
	set_err(err, errlen, "");
	if (txt == NULL) {
		set_err(err, errlen, "no record");
		return MT_DMARC_REC_NOT_DMARC;
	}
	while (i <= len) {
		struct span	 spec, name, value;
		const char	*eq;
		unsigned	 tag = 0;

		for (j = i; j < len && txt[j] != ';'; j++)
			;
		spec = trim(txt + i, j - i);
		i = j + 1;
		if (first) {
			if (spec.len == 0 || !is_version(spec)) {
				set_err(err, errlen,
				    "does not start with v=DMARC1");
				return MT_DMARC_REC_NOT_DMARC;
			}
			first = 0;
			if (len > MT_DMARC_RECORD_MAX) {
				set_err(err, errlen, "record too long");
				return MT_DMARC_REC_INVALID;
			}
			continue;
		}
		if (spec.len == 0)
			continue;		/* ";;" or a final ";" */
		if ((eq = memchr(spec.p, '=', spec.len)) == NULL) {
			rec->unknown++;		/* a syntax error: ignored */
			continue;
		}
		name = trim(spec.p, (size_t)(eq - spec.p));
		value = trim(eq + 1, spec.len - (size_t)(eq - spec.p) - 1);
		for (k = 0; k < sizeof(tags) / sizeof(tags[0]); k++)
			if (span_is(name, tags[k].name))
				tag = tags[k].tag;
		if (tag == 0) {
			rec->unknown++;
			continue;
		}
		if ((rec->seen | rec->ignored) & tag) {
			rec->ignored |= tag;	/* repeated: first counts */
			continue;
		}
		if (apply_tag(rec, tag, value) == 0)
			rec->seen |= tag;
		else
			rec->ignored |= tag;
	}
	/* A bad sp=/np= value left an unset policy: defaults apply. */
	if (!(rec->seen & MT_DMARC_TAG_SP))
		rec->sp = MT_DMARC_P_UNSET;
	if (!(rec->seen & MT_DMARC_TAG_NP))
		rec->np = MT_DMARC_P_UNSET;
	if (!(rec->seen & MT_DMARC_TAG_P)) {
		if (!(rec->seen & MT_DMARC_TAG_RUA)) {
			set_err(err, errlen, rec->ignored & MT_DMARC_TAG_P ?
			    "bad p= and no valid rua=" :
			    "no p= and no valid rua=");
			return MT_DMARC_REC_INVALID;
		}
		rec->p = MT_DMARC_P_NONE;
		rec->p_implied = 1;
	}
	return MT_DMARC_REC_OK;
}
