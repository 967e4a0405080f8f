/*
 * bytes.h - length-delimited copies of a stranger's bytes.
 *
 * Everything that arrives over SMTP is kept as a struct mt_bytes: the exact
 * bytes (NUL and 8-bit included) and their length.  A copy is always bounded
 * by a cap; going over it truncates, and the caller counts the truncation.
 * For convenience data[len] is always a NUL byte, so a value without
 * embedded NULs can also be read as a C string.  Not thread-safe per value.
 */
#ifndef MAILTRAIL_BYTES_H
#define MAILTRAIL_BYTES_H

#include <stddef.h>

struct mt_bytes {
	char	*data;		/* NULL when unset; else len bytes + NUL */
	size_t	 len;
};

/*
 * Replace *b with a copy of at most cap bytes of src[0..len).  Returns 0 when
 * stored whole, 1 when truncated to cap, -1 on allocation failure (then *b is
 * unset).  src may be NULL (sets *b to unset, returns 0).
 */
int	 mt_bytes_set(struct mt_bytes *b, const void *src, size_t len, size_t cap);

/* Same as mt_bytes_set for a NUL-terminated string. */
int	 mt_bytes_setstr(struct mt_bytes *b, const char *src, size_t cap);

/*
 * Append a separator and src to *b, keeping the total within cap.  Returns
 * as mt_bytes_set.
 */
int	 mt_bytes_append(struct mt_bytes *b, char sep, const void *src,
	    size_t len, size_t cap);

/* Move *src into *dst (dst freed first); *src becomes unset. */
void	 mt_bytes_move(struct mt_bytes *dst, struct mt_bytes *src);

/* Free the copy; b is left unset.  Safe on an unset value. */
void	 mt_bytes_clear(struct mt_bytes *b);

/* 1 when set (even to zero bytes), 0 when unset. */
#define MT_BYTES_ISSET(b)	((b)->data != NULL)

#endif
