/*
 * escape.c - render a stranger's bytes for logs, terminals and JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/escape.h"

char *
mt_escape(char *out, size_t outsz, const void *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = src;
	size_t	 i, o = 0, need;
	char	 tmp[4];
	int	 fits;

	if (outsz == 0)
		return out;
	/* When everything fits, no room is kept for "...". */
	for (i = 0, need = 0; i < len && need < outsz; i++)
		need += s[i] == '\\' ? 2 : (s[i] >= 0x20 && s[i] < 0x7f) ? 1 : 4;
	fits = i == len && need < outsz;
	for (i = 0; i < len; i++) {
		if (s[i] == '\\') {
			tmp[0] = '\\';
			tmp[1] = '\\';
			need = 2;
		} else if (s[i] >= 0x20 && s[i] < 0x7f) {
			tmp[0] = (char)s[i];
			need = 1;
		} else {
			tmp[0] = '\\';
			tmp[1] = 'x';
			tmp[2] = hex[s[i] >> 4];
			tmp[3] = hex[s[i] & 0xf];
			need = 4;
		}
		/* Keep room for "..." and the NUL if more input follows. */
		if (!fits && o + need + 3 + 1 > outsz) {
			if (o + 4 <= outsz) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(out + o, tmp, need);
		o += need;
	}
	out[o] = '\0';
	return out;
}

size_t
mt_utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t	 len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

char *
mt_json_escape(const void *src, size_t len)
{
	const unsigned char *s = src;
	size_t	 i, o = 0, seq;
	char	*out;

	if (len > (SIZE_MAX - 1) / 6)
		return NULL;
	if ((out = malloc(len * 6 + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; ) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
			i++;
		} else if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
			i++;
		} else if (c == '\r') {
			out[o++] = '\\';
			out[o++] = 'r';
			i++;
		} else if (c == '\t') {
			out[o++] = '\\';
			out[o++] = 't';
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)sprintf(out + o, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			out[o++] = (char)c;
			i++;
		} else if ((seq = mt_utf8_seq(s + i, len - i)) == 2 &&
		    c == 0xc2 && s[i + 1] < 0xa0) {
			/* A C1 control (U+0080..U+009F): escaped like C0. */
			o += (size_t)sprintf(out + o, "\\u%04x", s[i + 1]);
			i += 2;
		} else if (seq > 0) {
			memcpy(out + o, s + i, seq);
			o += seq;
			i += seq;
		} else {
			/* Not UTF-8: keep the byte value visible. */
			o += (size_t)sprintf(out + o, "\\u%04x", c);
			i++;
		}
	}
	out[o] = '\0';
	return out;
}
