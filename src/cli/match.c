/*
 * match.c - byte-exact patterns and ID shapes for the mailtrail command.
 *
 * The glob matcher is iterative with one backtrack point per star (the
 * classic linear-space algorithm), so a hostile value or pattern costs at
 * most O(len(pattern) * len(value)) and never recurses.
 *
 * Thread safety: pure functions.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/trackid.h"
#include "cli/match.h"

static unsigned char
fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

int
cli_glob(const char *pat, size_t plen, const char *s, size_t slen)
{
	size_t	 p = 0, i = 0, star_p = (size_t)-1, star_i = 0;
	unsigned char pc;

	while (i < slen) {
		if (p < plen && pat[p] == '*') {
			star_p = ++p;
			star_i = i;
			continue;
		}
		if (p < plen && pat[p] == '?') {
			p++;
			i++;
			continue;
		}
		if (p < plen) {
			pc = (unsigned char)pat[p];
			if (pc == '\\' && p + 1 < plen)
				pc = (unsigned char)pat[p + 1];
			if (fold(pc) == fold((unsigned char)s[i])) {
				p += pat[p] == '\\' && p + 1 < plen ? 2 : 1;
				i++;
				continue;
			}
		}
		if (star_p == (size_t)-1)
			return 0;
		/* Let the last star eat one more byte. */
		p = star_p;
		i = ++star_i;
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}

int
cli_contains(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	size_t	 i, j;

	if (nlen == 0)
		return 1;
	if (hay == NULL || nlen > hlen)
		return 0;
	for (i = 0; i + nlen <= hlen; i++) {
		for (j = 0; j < nlen; j++)
			if (fold((unsigned char)hay[i + j]) !=
			    fold((unsigned char)needle[j]))
				break;
		if (j == nlen)
			return 1;
	}
	return 0;
}

int
cli_pattern(const char *arg, char **out)
{
	size_t	 len = strlen(arg);
	int	 glob = 0;
	size_t	 i;

	if (strcmp(arg, "<>") == 0) {
		*out = strdup("");
		return *out == NULL ? -1 : CLI_PAT_EXACT;
	}
	if (arg[0] == '@') {
		if ((*out = malloc(len + 2)) == NULL)
			return -1;
		(*out)[0] = '*';
		memcpy(*out + 1, arg, len + 1);
		return CLI_PAT_GLOB;
	}
	for (i = 0; i < len; i++) {
		if (arg[i] == '\\' && i + 1 < len)
			i++;
		else if (arg[i] == '*' || arg[i] == '?')
			glob = 1;
	}
	if ((*out = strdup(arg)) == NULL)
		return -1;
	return glob ? CLI_PAT_GLOB : CLI_PAT_EXACT;
}

enum cli_id_kind
cli_id_classify(const char *s)
{
	size_t	 len, i;

	if (s == NULL)
		return CLI_ID_INVALID;
	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len > 998)
		return CLI_ID_INVALID;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return CLI_ID_INVALID;
	if (len == MT_TRACKID_LEN && trackid_valid(s, len))
		return CLI_ID_TRACK;
	if (memchr(s, '@', len) != NULL || s[0] == '<')
		return CLI_ID_MSGID;
	if (len >= 5 && len <= 20) {
		for (i = 0; i < len; i++)
			if (!isalnum((unsigned char)s[i]))
				break;
		if (i == len)
			return CLI_ID_QUEUE;
	}
	return CLI_ID_INVALID;
}

const char *
cli_id_kind_name(enum cli_id_kind k)
{
	switch (k) {
	case CLI_ID_TRACK:
		return "tracking ID";
	case CLI_ID_QUEUE:
		return "queue ID";
	case CLI_ID_MSGID:
		return "Message-ID";
	default:
		return "ID";
	}
}

int
cli_msgid_forms(const char *s, char **with, char **without)
{
	size_t	 len;

	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len >= 2 && s[0] == '<' && s[len - 1] == '>') {
		s++;
		len -= 2;
	}
	*with = malloc(len + 3);
	*without = malloc(len + 1);
	if (*with == NULL || *without == NULL) {
		free(*with);
		free(*without);
		*with = *without = NULL;
		return -1;
	}
	(*with)[0] = '<';
	memcpy(*with + 1, s, len);
	(*with)[len + 1] = '>';
	(*with)[len + 2] = '\0';
	memcpy(*without, s, len);
	(*without)[len] = '\0';
	return 0;
}

void
cli_trackid_normalize(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)toupper((unsigned char)*s);
}
