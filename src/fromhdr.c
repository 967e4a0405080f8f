/*
 * fromhdr.c - the RFC5322.From domain for DMARC (rules in fromhdr.h).
 *
 * Two passes over one field value.  A lexer turns the value into RFC 5322
 * tokens (atoms, quoted strings, domain literals, specials), skipping CFWS;
 * comments nest, quoted pairs are honoured in comments and quoted strings.
 * The first pass looks only at the top-level structure (specials outside
 * the angle brackets): a ':' is group syntax, a ',' a list of mailboxes, an
 * unbalanced '<' or '>' an unparsable address.  The second pass reads the
 * one mailbox.  Past bypasses of DMARC filters came from parsers that took
 * the first '@' or the last '<' they saw; here a byte inside a quoted string
 * or a comment never counts as structure.
 *
 * No allocation, no recursion; stateless and thread-safe.
 */
#include <ctype.h>
#include <string.h>

#include "mailtrail/fromhdr.h"

enum tok_type {
	T_END = 0,
	T_ATOM,
	T_QSTR,
	T_DLIT,
	T_SPECIAL,
	T_ERR
};

struct tok {
	enum tok_type	 type;
	const char	*p;
	size_t		 len;
	char		 c;		/* T_SPECIAL: the character */
};

struct cur {
	const char	*start, *p, *end;
};

/* RFC 5322 atext, plus 8-bit octets (RFC 6532 UTF-8). */
static int
is_atext(unsigned char c)
{
	return isalnum(c) || c >= 0x80 ||
	    (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skip white space and nested comments.  -1 on an unclosed comment. */
static int
skip_cfws(struct cur *c)
{
	size_t	 depth;

	for (;;) {
		while (c->p < c->end && is_wsp((unsigned char)*c->p))
			c->p++;
		if (c->p >= c->end || *c->p != '(')
			return 0;
		depth = 0;
		while (c->p < c->end) {
			if (*c->p == '\\') {
				if (c->p + 1 >= c->end)
					return -1;
				c->p += 2;
				continue;
			}
			if (*c->p == '(')
				depth++;
			else if (*c->p == ')' && --depth == 0) {
				c->p++;
				break;
			}
			c->p++;
		}
		if (depth != 0)
			return -1;
	}
}

/* The next token.  T_ERR leaves c->p where the error is. */
static void
lex(struct cur *c, struct tok *t)
{
	unsigned char	 ch;

	memset(t, 0, sizeof(*t));
	if (skip_cfws(c) != 0) {
		t->type = T_ERR;
		return;
	}
	if (c->p >= c->end) {
		t->type = T_END;
		return;
	}
	t->p = c->p;
	ch = (unsigned char)*c->p;
	if (ch == '"' || ch == '[') {
		char close = ch == '"' ? '"' : ']';

		for (c->p++; c->p < c->end && *c->p != close; c->p++) {
			if (*c->p == '\\') {
				if (++c->p >= c->end)
					break;
			} else if (close == ']' && *c->p == '[')
				break;
		}
		if (c->p >= c->end || *c->p != close) {
			t->type = T_ERR;
			return;
		}
		c->p++;
		t->type = ch == '"' ? T_QSTR : T_DLIT;
		t->len = (size_t)(c->p - t->p);
		return;
	}
	if (strchr("<>@,;:.", ch) != NULL) {
		c->p++;
		t->type = T_SPECIAL;
		t->c = (char)ch;
		t->len = 1;
		return;
	}
	if (!is_atext(ch)) {		/* ')', ']', '\\' out of place */
		t->type = T_ERR;
		return;
	}
	while (c->p < c->end && is_atext((unsigned char)*c->p))
		c->p++;
	t->type = T_ATOM;
	t->len = (size_t)(c->p - t->p);
}

static int
is_special(const struct tok *t, char ch)
{
	return t->type == T_SPECIAL && t->c == ch;
}

static enum mt_from_status
stop(struct mt_from_result *res, const struct cur *c,
    enum mt_from_status s)
{
	res->status = s;
	res->offset = (size_t)(c->p - c->start);
	res->domain[0] = '\0';
	return s;
}

/*
 * A DNS host name: LDH labels of 1-63 octets, 253 in all, no '-' at either
 * end of a label, a last label not all digits.  d is lowercased in place.
 */
static enum mt_from_status
check_domain(char *d)
{
	size_t	 i, label = 0, len = strlen(d), start = 0;
	int	 digits = 1;

	if (len == 0 || len > MT_FROM_DOMAIN_MAX)
		return MT_FROM_BAD_DOMAIN;
	for (i = 0; i < len; i++)
		if ((unsigned char)d[i] >= 0x80)
			return MT_FROM_ULABEL;
	for (i = 0; i <= len; i++) {
		if (i == len || d[i] == '.') {
			if (label == 0 || label > 63 || d[start] == '-' ||
			    d[i - 1] == '-')
				return MT_FROM_BAD_DOMAIN;
			if (i == len && digits)
				return MT_FROM_BAD_DOMAIN;
			label = 0;
			digits = 1;
			start = i + 1;
			continue;
		}
		if (!isalnum((unsigned char)d[i]) && d[i] != '-')
			return MT_FROM_BAD_DOMAIN;
		if (!isdigit((unsigned char)d[i]))
			digits = 0;
		d[i] = (char)tolower((unsigned char)d[i]);
		label++;
	}
	return MT_FROM_OK;
}

/* Append an atom's bytes to the domain; -1 when it grows past the cap. */
static int
domain_add(char *d, size_t *dlen, const char *p, size_t n)
{
	if (*dlen + n > MT_FROM_DOMAIN_MAX)
		return -1;
	memcpy(d + *dlen, p, n);
	*dlen += n;
	d[*dlen] = '\0';
	return 0;
}

static int
is_end(const struct tok *t, int angle)
{
	return angle ? is_special(t, '>') : t->type == T_END;
}

/*
 * addr-spec up to its end ('>' inside angle brackets, the end of the value
 * otherwise): local-part "@" domain.  Fills res->domain on success.
 */
static enum mt_from_status
addr_spec(struct cur *c, int angle, struct mt_from_result *res)
{
	struct tok	 t;
	char		*d = res->domain;
	size_t		 dlen = 0;
	enum mt_from_status s;

	d[0] = '\0';
	lex(c, &t);
	if (t.type == T_ERR)
		return stop(res, c, MT_FROM_UNPARSABLE);
	if (is_end(&t, angle))
		return stop(res, c, MT_FROM_NO_DOMAIN);	/* "<>" */
	/* local-part: word *("." word) */
	for (;;) {
		if (t.type != T_ATOM && t.type != T_QSTR)
			return stop(res, c, MT_FROM_UNPARSABLE);
		if (t.type == T_ATOM && t.len >= 2 && t.p[0] == '=' &&
		    t.p[1] == '?')
			return stop(res, c, MT_FROM_ENCODED_WORD);
		lex(c, &t);
		if (is_special(&t, '.')) {
			lex(c, &t);
			continue;
		}
		if (is_special(&t, '@'))
			break;
		if (is_end(&t, angle))
			return stop(res, c, MT_FROM_NO_DOMAIN);
		return stop(res, c, MT_FROM_UNPARSABLE);
	}
	/* domain: dot-atom [ "." ] / domain-literal */
	lex(c, &t);
	if (t.type == T_DLIT) {
		lex(c, &t);
		return stop(res, c, is_end(&t, angle) ?
		    MT_FROM_DOMAIN_LITERAL : MT_FROM_UNPARSABLE);
	}
	if (is_end(&t, angle))
		return stop(res, c, MT_FROM_NO_DOMAIN);
	if (is_special(&t, '.'))
		return stop(res, c, MT_FROM_BAD_DOMAIN);
	if (t.type != T_ATOM)
		return stop(res, c, MT_FROM_UNPARSABLE);
	if (domain_add(d, &dlen, t.p, t.len) != 0)
		return stop(res, c, MT_FROM_BAD_DOMAIN);
	for (;;) {
		lex(c, &t);
		if (is_end(&t, angle))
			break;
		if (!is_special(&t, '.'))
			return stop(res, c, MT_FROM_UNPARSABLE);
		lex(c, &t);
		if (is_end(&t, angle))
			break;			/* one trailing dot */
		if (is_special(&t, '.'))
			return stop(res, c, MT_FROM_BAD_DOMAIN);
		if (t.type != T_ATOM)
			return stop(res, c, MT_FROM_UNPARSABLE);
		if (domain_add(d, &dlen, ".", 1) != 0 ||
		    domain_add(d, &dlen, t.p, t.len) != 0)
			return stop(res, c, MT_FROM_BAD_DOMAIN);
	}
	if (strstr(d, "?=") != NULL)
		return stop(res, c, MT_FROM_ENCODED_WORD);
	if ((s = check_domain(d)) != MT_FROM_OK)
		return stop(res, c, s);
	res->status = MT_FROM_OK;
	return MT_FROM_OK;
}

/* Any octet that has no place in a header field value. */
static int
has_control(const char *v, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)v[i];

		if ((ch < 0x20 && !is_wsp(ch)) || ch == 0x7f)
			return 1;
	}
	return 0;
}

enum mt_from_status
fromhdr_parse(const char *value, size_t len, struct mt_from_result *res)
{
	struct cur	 c;
	struct tok	 t;
	size_t		 n_lt = 0;
	int		 depth = 0, colon = 0, comma = 0, semi = 0;

	memset(res, 0, sizeof(*res));
	res->n_fields = 1;
	c.start = c.p = value;
	c.end = value + len;
	if (value == NULL)
		return stop(res, &c, MT_FROM_EMPTY);
	if (len > MT_FROM_FIELD_MAX)
		return stop(res, &c, MT_FROM_TOO_LONG);
	if (has_control(value, len))
		return stop(res, &c, MT_FROM_CONTROL_CHAR);

	/* Pass 1: the structure outside angle brackets. */
	for (;;) {
		lex(&c, &t);
		if (t.type == T_END)
			break;
		if (t.type == T_ERR)
			return stop(res, &c, MT_FROM_UNPARSABLE);
		if (t.type != T_SPECIAL)
			continue;
		if (t.c == '<') {
			if (depth++ != 0 || n_lt++ != 0)
				return stop(res, &c, MT_FROM_UNPARSABLE);
		} else if (t.c == '>') {
			if (depth-- != 1)
				return stop(res, &c, MT_FROM_UNPARSABLE);
		} else if (depth == 0 && t.c == ':')
			colon = 1;
		else if (depth == 0 && t.c == ',')
			comma = 1;
		else if (depth == 0 && t.c == ';')
			semi = 1;
	}
	if (colon)
		return stop(res, &c, MT_FROM_GROUP);
	if (comma)
		return stop(res, &c, MT_FROM_MULTIPLE_MAILBOXES);
	if (semi || depth != 0)
		return stop(res, &c, MT_FROM_UNPARSABLE);

	/* Pass 2: the mailbox. */
	c.p = value;
	lex(&c, &t);
	if (t.type == T_END)
		return stop(res, &c, MT_FROM_EMPTY);
	if (n_lt == 0) {
		c.p = value;
		return addr_spec(&c, 0, res);
	}
	/* display-name: words, and leniently '.' and '@' */
	while (!is_special(&t, '<')) {
		if (t.type != T_ATOM && t.type != T_QSTR &&
		    !is_special(&t, '.') && !is_special(&t, '@'))
			return stop(res, &c, MT_FROM_UNPARSABLE);
		lex(&c, &t);
	}
	if (addr_spec(&c, 1, res) != MT_FROM_OK)
		return res->status;
	lex(&c, &t);
	if (t.type != T_END)
		return stop(res, &c, MT_FROM_UNPARSABLE);
	return MT_FROM_OK;
}

enum mt_from_status
fromhdr_domain(const struct mt_from_value *values, size_t n,
    struct mt_from_result *res)
{
	if (n != 1) {
		memset(res, 0, sizeof(*res));
		res->n_fields = n;
		res->status = n == 0 ? MT_FROM_NONE : MT_FROM_MULTIPLE_FIELDS;
		return res->status;
	}
	return fromhdr_parse(values[0].data, values[0].len, res);
}

static const struct {
	enum mt_from_status	 s;
	const char		*name;
	const char		*text;
} statuses[] = {
	{ MT_FROM_OK, "ok", "one From: address" },
	{ MT_FROM_NONE, "none", "no From: field" },
	{ MT_FROM_MULTIPLE_FIELDS, "multiple-fields",
	  "more than one From: field" },
	{ MT_FROM_MULTIPLE_MAILBOXES, "multiple-mailboxes",
	  "several mailboxes in one From: field" },
	{ MT_FROM_GROUP, "group", "group syntax in From:" },
	{ MT_FROM_EMPTY, "empty", "From: field without an address" },
	{ MT_FROM_UNPARSABLE, "unparsable", "From: address does not parse" },
	{ MT_FROM_NO_DOMAIN, "no-domain", "From: address without a domain" },
	{ MT_FROM_DOMAIN_LITERAL, "domain-literal",
	  "From: domain is an address literal" },
	{ MT_FROM_BAD_DOMAIN, "bad-domain",
	  "From: domain is not a valid DNS name" },
	{ MT_FROM_ULABEL, "idn-ulabel",
	  "From: domain has 8-bit (U-label) characters" },
	{ MT_FROM_ENCODED_WORD, "encoded-word",
	  "RFC 2047 encoded word in the From: address" },
	{ MT_FROM_TOO_LONG, "too-long", "From: field over the size limit" },
	{ MT_FROM_CONTROL_CHAR, "control-char",
	  "control character in From:" },
};

const char *
fromhdr_status_name(enum mt_from_status s)
{
	size_t	 i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i].s == s)
			return statuses[i].name;
	return NULL;
}

const char *
fromhdr_status_text(enum mt_from_status s)
{
	size_t	 i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i].s == s)
			return statuses[i].text;
	return NULL;
}
