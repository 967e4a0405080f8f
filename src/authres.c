/*
 * authres.c - build and read Authentication-Results header values (RFC 8601).
 *
 * Building: every value written comes from a validated source.  Domains
 * and addresses from SMTP are written only when they are plain dot-atoms
 * (an address with an odd local part is reduced to its domain, an odd
 * domain is left out); reason strings are ours or DNS text reduced to a
 * safe character set; folding uses "\n\t", which both Postfix and Sendmail
 * accept in a milter's header value.
 *
 * Reading: a recursive-descent parser of the RFC 8601 grammar, lenient
 * only where real headers commonly are (a trailing ";", property values
 * that are addresses).  Comments may nest; quoted strings may hold quoted
 * pairs.  No state; thread-safe.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailtrail/authres.h"

/* ------------------------------------------------------------ characters */

/* RFC 5322 atext. */
static int
is_atext(int c)
{
	return isalnum(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* RFC 2045 token characters. */
static int
is_token(int c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* A dot-atom: atext runs separated by single dots. */
static int
is_dot_atom(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return 0;
		} else if (!is_atext((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* A host name: letters, digits, hyphens, dots; labels 1-63; total <= 253. */
static int
is_domain(const char *s, size_t len)
{
	size_t	 i, label = 0;

	if (len == 0 || len > 253 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)s[i]) || s[i] == '-' ||
		    s[i] == '_') {
			if (++label > 63)
				return 0;
		} else
			return 0;
	}
	return 1;
}

int
authres_id_char(int c)
{
	return isalnum(c) || (c != 0 && strchr("!#$%&'*+-^_`{|}~", c) != NULL);
}

/*
 * A dot-atom of characters that are both atext (RFC 5322) and token
 * characters (RFC 2045): what we write bare and what authres_claims()
 * and authres_parse() read back as one token.
 */
int
authres_valid_authserv_id(const char *s)
{
	size_t	 i, len = strlen(s);

	if (len == 0 || len > 255 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return 0;
		} else if (!authres_id_char((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* ------------------------------------------------------------ building */

struct out {
	char	*buf;
	size_t	 size, len;
	size_t	 line;		/* length of the current line */
	int	 overflow;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->overflow || o->len + n + 1 > o->size) {
		o->overflow = 1;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
	o->line += n;
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* A space, or a fold when the line would grow past 78 characters. */
static void
sep(struct out *o, size_t next)
{
	if (o->line + 1 + next > 76) {
		put(o, "\n\t", 2);
		o->line = 8;
	} else
		put(o, " ", 1);
}

/* Keep what is safe in a quoted reason: printable ASCII, no quote/backslash. */
static void
safe_text(char *dst, size_t dstsz, const char *src)
{
	size_t	 o = 0;

	for (; *src != '\0' && o + 1 < dstsz; src++) {
		unsigned char c = (unsigned char)*src;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			dst[o++] = (char)c;
	}
	dst[o] = '\0';
}

/* "key=value" as one unit (folded before it when needed). */
static void
prop(struct out *o, const char *key, const char *value)
{
	sep(o, strlen(key) + 1 + strlen(value));
	puts_(o, key);
	puts_(o, "=");
	puts_(o, value);
}

/*
 * "key=value" where value is a stranger's bytes: written bare when it is
 * an RFC 2045 token, else as a quoted-string (RFC 8601 section 2.2: pvalue
 * is a value, token / quoted-string) so that it parses back as it was.
 * Values with bytes a quoted-string cannot carry (controls, 8-bit) are
 * left out.
 */
static void
pval(struct out *o, const char *key, const char *value)
{
	char		 q[2 * 256 + 3];
	size_t		 i, n = 0, len = strlen(value);
	int		 bare = len > 0;

	if (len == 0 || len > 256)
		return;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c < 0x20 || c > 0x7e)
			return;
		if (!is_token(c))
			bare = 0;
	}
	if (bare) {
		prop(o, key, value);
		return;
	}
	q[n++] = '"';
	for (i = 0; i < len; i++) {
		if (value[i] == '"' || value[i] == '\\')
			q[n++] = '\\';
		q[n++] = value[i];
	}
	q[n++] = '"';
	q[n] = '\0';
	prop(o, key, q);
}

static void
reason(struct out *o, const char *text)
{
	char	 clean[192], quoted[200];

	safe_text(clean, sizeof(clean), text);
	if (clean[0] == '\0')
		return;
	snprintf(quoted, sizeof(quoted), "\"%s\"", clean);
	prop(o, "reason", quoted);
}

/* smtp.mailfrom: the address if it is a plain one, else its domain. */
static void
mailfrom_prop(struct out *o, const char *mailfrom)
{
	const char	*at = strrchr(mailfrom, '@');
	char		 v[320];

	if (at == NULL || !is_domain(at + 1, strlen(at + 1)))
		return;
	if (is_dot_atom(mailfrom, (size_t)(at - mailfrom)) &&
	    strlen(mailfrom) < sizeof(v))
		snprintf(v, sizeof(v), "%s", mailfrom);
	else
		snprintf(v, sizeof(v), "%s", at + 1);
	prop(o, "smtp.mailfrom", v);
}

int
authres_build(char *buf, size_t bufsz, const char *authserv_id,
    const struct mt_spf_outcome *spf, int spf_helo, const char *mailfrom,
    const char *helo, const struct mt_dkim_sig *sigs, size_t n, int dkim_done)
{
	struct out	 o = { buf, bufsz, 0, 0, 0 };
	size_t		 i;
	char		 b[16];

	if (bufsz == 0 || !authres_valid_authserv_id(authserv_id))
		return -1;
	buf[0] = '\0';
	o.line = strlen("Authentication-Results: ");
	puts_(&o, authserv_id);
	if (spf != NULL) {
		puts_(&o, ";");
		prop(&o, "spf", spf_result_name(spf->result));
		if (spf->mechanism[0] != '\0' &&
		    spf->result != MT_SPF_NONE)
			reason(&o, spf->mechanism);
		if (spf_helo) {
			if (helo != NULL && is_domain(helo, strlen(helo)))
				prop(&o, "smtp.helo", helo);
		} else if (mailfrom != NULL)
			mailfrom_prop(&o, mailfrom);
	}
	if (dkim_done && n == 0) {
		puts_(&o, ";");
		prop(&o, "dkim", "none");
	}
	for (i = 0; i < n; i++) {
		puts_(&o, ";");
		prop(&o, "dkim", dkimv_result_name(sigs[i].result));
		if (sigs[i].result != MT_DKIM_PASS && sigs[i].reason[0] != '\0')
			reason(&o, sigs[i].reason);
		if (is_domain(sigs[i].domain, strlen(sigs[i].domain)))
			prop(&o, "header.d", sigs[i].domain);
		pval(&o, "header.s", sigs[i].selector);
		/* b= is base64: keep those characters only ('/' is quoted). */
		snprintf(b, sizeof(b), "%.8s", sigs[i].header_b);
		if (b[0] != '\0' && strspn(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789+/") == strlen(b))
			pval(&o, "header.b", b);
	}
	if (spf == NULL && !dkim_done && n == 0) {
		puts_(&o, ";");
		sep(&o, 4);
		puts_(&o, "none");
	}
	return o.overflow ? -1 : (int)o.len;
}

int
authres_append(char *buf, size_t bufsz, size_t len, const char *resinfo)
{
	struct out	 o = { buf, bufsz, len, 0, 0 };
	const char	*p, *nl;
	size_t		 n;
	int		 q;

	if (len >= bufsz || strlen(buf) != len)
		return -1;
	/* The current line: after the last fold, which starts with a tab. */
	if ((nl = strrchr(buf, '\n')) != NULL)
		o.line = 8 + (size_t)(buf + len - nl - 2);
	else
		o.line = strlen("Authentication-Results: ") + len;
	puts_(&o, ";");
	for (p = resinfo; *p != '\0'; p += n) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		/* One unit: up to a space outside a quoted-string. */
		for (n = 0, q = 0; p[n] != '\0' && (q || p[n] != ' '); n++) {
			if (q && p[n] == '\\' && p[n + 1] != '\0')
				n++;
			else if (p[n] == '"')
				q = !q;
		}
		sep(&o, n);
		put(&o, p, n);
	}
	return o.overflow ? -1 : (int)o.len;
}

int
authres_received_spf(char *buf, size_t bufsz, const char *receiver,
    const struct mt_spf_outcome *spf, const char *client_ip,
    const char *mailfrom, const char *helo)
{
	struct out	 o = { buf, bufsz, 0, 0, 0 };
	const char	*at;
	char		 v[320];

	if (bufsz == 0)
		return -1;
	buf[0] = '\0';
	o.line = strlen("Received-SPF: ");
	puts_(&o, spf_result_name(spf->result));
	/* client-ip: only what inet_pton accepts back. */
	if (client_ip != NULL && strlen(client_ip) < 64 &&
	    strspn(client_ip, "0123456789abcdefABCDEF.:") == strlen(client_ip)) {
		snprintf(v, sizeof(v), "%s;", client_ip);
		prop(&o, "client-ip", v);
	}
	if (mailfrom != NULL && (at = strrchr(mailfrom, '@')) != NULL &&
	    is_dot_atom(mailfrom, (size_t)(at - mailfrom)) &&
	    is_domain(at + 1, strlen(at + 1)) && strlen(mailfrom) < 300) {
		snprintf(v, sizeof(v), "\"%s\";", mailfrom);
		prop(&o, "envelope-from", v);
	}
	if (helo != NULL && is_domain(helo, strlen(helo))) {
		snprintf(v, sizeof(v), "%s;", helo);
		prop(&o, "helo", v);
	}
	if (receiver != NULL && authres_valid_authserv_id(receiver)) {
		snprintf(v, sizeof(v), "%s;", receiver);
		prop(&o, "receiver", v);
	}
	prop(&o, "identity", "mailfrom");
	return o.overflow ? -1 : (int)o.len;
}

/* ------------------------------------------------------------ parsing */

struct cur {
	const char	*p, *end;
};

/* Skip white space and (nested) comments.  -1 on an unclosed comment. */
static int
cfws(struct cur *c)
{
	int	 depth;

	for (;;) {
		while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
		    *c->p == '\r' || *c->p == '\n'))
			c->p++;
		if (c->p >= c->end || *c->p != '(')
			return 0;
		depth = 0;
		while (c->p < c->end) {
			if (*c->p == '\\' && c->p + 1 < c->end)
				c->p += 2;
			else if (*c->p == '(') {
				depth++;
				c->p++;
			} else if (*c->p == ')') {
				c->p++;
				if (--depth == 0)
					break;
			} else
				c->p++;
		}
		if (depth != 0)
			return -1;
	}
}

/* A quoted string into out (quotes removed, quoted pairs resolved). */
static int
quoted(struct cur *c, char *out, size_t outsz)
{
	size_t	 o = 0;

	if (c->p >= c->end || *c->p != '"')
		return -1;
	c->p++;
	while (c->p < c->end && *c->p != '"') {
		if (*c->p == '\\' && c->p + 1 < c->end)
			c->p++;
		if (o + 1 < outsz)
			out[o++] = *c->p;
		c->p++;
	}
	if (c->p >= c->end)
		return -1;
	c->p++;
	out[o] = '\0';
	return 0;
}

/* A run of characters accepted by ok() into out; -1 when empty. */
static int
run(struct cur *c, int (*ok)(int), char *out, size_t outsz)
{
	size_t	 o = 0;

	if (c->p >= c->end || !ok((unsigned char)*c->p))
		return -1;
	while (c->p < c->end && ok((unsigned char)*c->p)) {
		if (o + 1 < outsz)
			out[o++] = *c->p;
		c->p++;
	}
	out[o] = '\0';
	return 0;
}

static int
is_keyword(int c)
{
	return isalnum(c) || c == '-' || c == '_';
}

/* value = token / quoted-string */
static int
value(struct cur *c, char *out, size_t outsz)
{
	if (c->p < c->end && *c->p == '"')
		return quoted(c, out, outsz);
	return run(c, is_token, out, outsz);
}

/* A property value: a value, or an address / domain (may hold '@'). */
static int
pv_char(int c)
{
	return c > 0x20 && c < 0x7f && c != ';' && c != '(' && c != ')' &&
	    c != '"';
}

static int
pvalue(struct cur *c, char *out, size_t outsz)
{
	if (c->p < c->end && *c->p == '"')
		return quoted(c, out, outsz);
	return run(c, pv_char, out, outsz);
}

static int
expect(struct cur *c, char ch)
{
	if (cfws(c) != 0 || c->p >= c->end || *c->p != ch)
		return -1;
	c->p++;
	return 0;
}

#define FAIL(msg) do {							\
	snprintf(err, errlen, "%s at offset %ld", (msg),		\
	    (long)(c.p - start));					\
	return -1;							\
} while (0)

/* The field name, if the value starts with it. */
static const char *
skip_field_name(const char *v, size_t *len)
{
	static const char name[] = "Authentication-Results:";

	if (*len >= sizeof(name) - 1 &&
	    strncasecmp(v, name, sizeof(name) - 1) == 0) {
		*len -= sizeof(name) - 1;
		return v + sizeof(name) - 1;
	}
	return v;
}

/* A keyword, or (leniently) a quoted string standing for one. */
static int
keyword(struct cur *c, char *out, size_t outsz)
{
	if (c->p < c->end && *c->p == '"')
		return quoted(c, out, outsz);
	return run(c, is_keyword, out, outsz);
}

static int
is_digit(int c)
{
	return isdigit(c);
}

/*
 * resinfo = methodspec [reasonspec] *propspec, after the ';'.  Lenient
 * where real headers are: an empty result ("one="), a bare method name,
 * properties without a ptype ("x-bits=1024"), quoted keywords.
 */
static int
resinfo(struct cur *cp, struct authres_result *r, char *err, size_t errlen,
    const char *start)
{
	struct cur	 c = *cp;
	char		 word[64], ptype[64], *dot;
	int		 had_reason = 0;

	memset(r, 0, sizeof(*r));
	if (cfws(&c) != 0 || keyword(&c, r->method, sizeof(r->method)) != 0)
		FAIL("method expected");
	if (cfws(&c) != 0)
		FAIL("unclosed comment");
	if (c.p < c.end && *c.p == '/') {	/* method version: digits */
		c.p++;
		if (cfws(&c) != 0 || run(&c, is_digit, word,
		    sizeof(word)) != 0)
			FAIL("method version expected");
		if (cfws(&c) != 0)
			FAIL("unclosed comment");
	}
	if (c.p >= c.end || *c.p == ';') {	/* a bare method name */
		*cp = c;
		return 0;
	}
	if (*c.p != '=')
		FAIL("'=' expected after the method");
	c.p++;
	if (cfws(&c) != 0)
		FAIL("unclosed comment");
	if (c.p < c.end && *c.p != ';' &&
	    keyword(&c, r->result, sizeof(r->result)) != 0)
		FAIL("result expected");
	for (;;) {
		if (cfws(&c) != 0)
			FAIL("unclosed comment");
		if (c.p >= c.end || *c.p == ';')
			break;
		if (keyword(&c, ptype, sizeof(ptype)) != 0)
			FAIL("property expected");
		if (cfws(&c) != 0)
			FAIL("unclosed comment");
		if (!had_reason && strcasecmp(ptype, "reason") == 0 &&
		    c.p < c.end && *c.p == '=') {
			c.p++;
			if (cfws(&c) != 0 || value(&c, r->reason,
			    sizeof(r->reason)) != 0)
				FAIL("reason value expected");
			had_reason = 1;
			continue;
		}
		word[0] = '\0';
		if ((dot = strchr(ptype, '.')) != NULL) {
			/* a quoted "ptype.property" */
			*dot = '\0';
			snprintf(word, sizeof(word), "%s", dot + 1);
		} else if (c.p < c.end && *c.p == '.') {
			c.p++;
			if (cfws(&c) != 0 || keyword(&c, word,
			    sizeof(word)) != 0)
				FAIL("property name expected");
		} else if (c.p < c.end && *c.p == '=') {
			/* no ptype (not RFC 8601, but common) */
			snprintf(word, sizeof(word), "%s", ptype);
			ptype[0] = '\0';
		} else
			FAIL("'.' expected in a property");
		if (expect(&c, '=') != 0)
			FAIL("'=' expected after a property");
		if (cfws(&c) != 0)
			FAIL("unclosed comment");
		if (r->n_props < AUTHRES_MAX_PROPS) {
			struct authres_prop *p = &r->props[r->n_props++];

			snprintf(p->ptype, sizeof(p->ptype), "%.15s", ptype);
			snprintf(p->property, sizeof(p->property), "%s", word);
			if (c.p < c.end && *c.p != ';' &&
			    pvalue(&c, p->value, sizeof(p->value)) != 0)
				FAIL("property value expected");
		} else {
			char	 skip[256];

			if (c.p < c.end && *c.p != ';' &&
			    pvalue(&c, skip, sizeof(skip)) != 0)
				FAIL("property value expected");
		}
	}
	*cp = c;
	return 0;
}

int
authres_parse(const char *v, size_t len, struct authres_parsed *out,
    char *err, size_t errlen)
{
	struct cur	 c;
	const char	*start;
	char		 word[32];

	memset(out, 0, sizeof(*out));
	v = skip_field_name(v, &len);
	start = v;
	c.p = v;
	c.end = v + len;
	if (cfws(&c) != 0)
		FAIL("unclosed comment");
	if (value(&c, out->authserv_id, sizeof(out->authserv_id)) != 0)
		FAIL("authserv-id expected");
	if (cfws(&c) != 0)
		FAIL("unclosed comment");
	if (c.p < c.end && isdigit((unsigned char)*c.p)) {
		if (run(&c, is_keyword, word, sizeof(word)) != 0 ||
		    strspn(word, "0123456789") != strlen(word))
			FAIL("bad version");
		out->version = atoi(word);
		if (cfws(&c) != 0)
			FAIL("unclosed comment");
	}
	/* Leniently, one stray token before the first ';'. */
	if (c.p < c.end && *c.p != ';' && is_token((unsigned char)*c.p)) {
		if (run(&c, is_token, word, sizeof(word)) != 0 ||
		    cfws(&c) != 0)
			FAIL("';' expected after the authserv-id");
	}
	if (c.p >= c.end)
		FAIL("';' expected after the authserv-id");
	while (c.p < c.end) {
		struct cur	 look;

		if (*c.p != ';')
			FAIL("';' expected");
		c.p++;
		if (cfws(&c) != 0)
			FAIL("unclosed comment");
		if (c.p >= c.end)
			break;			/* a trailing ';' */
		look = c;
		if (run(&look, is_keyword, word, sizeof(word)) == 0 &&
		    strcasecmp(word, "none") == 0) {
			if (cfws(&look) != 0)
				FAIL("unclosed comment");
			if (look.p < look.end && *look.p == '=')
				goto method;	/* a method called "none"?  parse it */
			if (out->n_results != 0 || out->none)
				FAIL("'none' among results");
			out->none = 1;
			c = look;
			if (c.p < c.end)
				FAIL("nothing may follow 'none'");
			break;
		}
method:
		if (out->none)
			FAIL("nothing may follow 'none'");
		if (out->n_results == AUTHRES_MAX_RESULTS) {
			struct authres_result skip;

			if (resinfo(&c, &skip, err, errlen, start) != 0)
				return -1;
		} else if (resinfo(&c, &out->results[out->n_results++], err,
		    errlen, start) != 0)
			return -1;
	}
	return 0;
}

int
authres_claims(const char *value, size_t len, const char *authserv_id)
{
	struct cur	 c;
	char		 id[256];

	value = skip_field_name(value, &len);
	c.p = value;
	c.end = value + len;
	if (cfws(&c) != 0)
		return 0;
	if (c.p < c.end && *c.p == '"') {
		if (quoted(&c, id, sizeof(id)) != 0)
			return 0;
	} else if (run(&c, is_token, id, sizeof(id)) != 0)
		return 0;
	/* The id must end at white space, a comment, ';' or the end. */
	if (c.p < c.end && *c.p != ' ' && *c.p != '\t' && *c.p != '\r' &&
	    *c.p != '\n' && *c.p != '(' && *c.p != ';')
		return 0;
	return strcasecmp(id, authserv_id) == 0;
}
