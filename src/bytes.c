/*
 * bytes.c - length-delimited, capped copies of a stranger's bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "mailtrail/bytes.h"

int
mt_bytes_set(struct mt_bytes *b, const void *src, size_t len, size_t cap)
{
	int	 truncated = 0;
	char	*p;

	mt_bytes_clear(b);
	if (src == NULL)
		return 0;
	if (len > cap) {
		len = cap;
		truncated = 1;
	}
	if ((p = malloc(len + 1)) == NULL)
		return -1;
	if (len > 0)
		memcpy(p, src, len);
	p[len] = '\0';
	b->data = p;
	b->len = len;
	return truncated;
}

int
mt_bytes_setstr(struct mt_bytes *b, const char *src, size_t cap)
{
	return mt_bytes_set(b, src, src == NULL ? 0 : strlen(src), cap);
}

int
mt_bytes_append(struct mt_bytes *b, char sep, const void *src, size_t len,
    size_t cap)
{
	size_t	 have, add, room;
	int	 truncated = 0;
	char	*p;

	if (b->data == NULL)
		return mt_bytes_set(b, src, len, cap);
	have = b->len;
	if (have >= cap)
		return len > 0 ? 1 : 0;
	room = cap - have;
	add = 1 + len;
	if (add > room) {
		add = room;
		truncated = 1;
	}
	if ((p = realloc(b->data, have + add + 1)) == NULL)
		return -1;
	p[have] = sep;
	if (add > 1)
		memcpy(p + have + 1, src, add - 1);
	p[have + add] = '\0';
	b->data = p;
	b->len = have + add;
	return truncated;
}

void
mt_bytes_move(struct mt_bytes *dst, struct mt_bytes *src)
{
	mt_bytes_clear(dst);
	*dst = *src;
	src->data = NULL;
	src->len = 0;
}

void
mt_bytes_clear(struct mt_bytes *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}
