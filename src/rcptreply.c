/*
 * rcptreply.c - code, enhanced status and text of a rejected recipient.
 *
 * Shapes seen (see rcptreply.h): Sendmail passes "550 5.1.1 User unknown"
 * in {rcpt_addr} and the status in {rcpt_host}; Postfix passes the status
 * in {rcpt_host} and only the text in {rcpt_addr}.  A leading 3-digit code
 * is taken when followed by a space, '-' or the end; an enhanced status code
 * after it is taken when valid and of the same class.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "mailtrail/rcptreply.h"

int
rcptreply_status_valid(const char *s, size_t len)
{
	size_t	 i = 0, part, digits;

	if (len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') ||
	    s[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		digits = 0;
		while (i < len && isdigit((unsigned char)s[i]) && digits < 4) {
			i++;
			digits++;
		}
		if (digits == 0 || digits > 3)
			return 0;
		if (part == 0) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	return i == len;
}

/* Length of the token at s (up to a space or the end). */
static size_t
token_len(const char *s)
{
	size_t	 n = 0;

	while (s[n] != '\0' && s[n] != ' ' && s[n] != '\t')
		n++;
	return n;
}

static const char *
skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

void
rcptreply_parse(const char *host, const char *addr, struct mt_rcpt_reply *out)
{
	const char	*p;
	size_t		 n;

	memset(out, 0, sizeof(*out));
	if (host != NULL) {
		p = skip_space(host);
		n = token_len(p);
		if (rcptreply_status_valid(p, n) && n < sizeof(out->status)) {
			memcpy(out->status, p, n);
			out->status[n] = '\0';
		}
	}
	if (addr == NULL) {
		out->text = "";
		return;
	}
	p = skip_space(addr);
	if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2]) &&
	    (p[3] == ' ' || p[3] == '-' || p[3] == '\0') &&
	    (p[0] == '2' || p[0] == '4' || p[0] == '5')) {
		out->code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		p = skip_space(p[3] == '\0' ? p + 3 : p + 4);
		n = token_len(p);
		if (rcptreply_status_valid(p, n) &&
		    p[0] - '0' == out->code / 100) {
			if (n < sizeof(out->status)) {
				memcpy(out->status, p, n);
				out->status[n] = '\0';
			}
			p = skip_space(p + n);
		}
	}
	out->text = p;
	out->text_len = strlen(p);
}
