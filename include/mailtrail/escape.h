/*
 * escape.h - make a stranger's bytes safe to print.
 *
 * mt_escape() renders bytes for a log line or a terminal: printable ASCII
 * stays, backslash becomes "\\", and everything else (control bytes, DEL,
 * NUL, 8-bit, escape sequences) becomes "\xHH", so nothing read from SMTP
 * can move a cursor, forge a log line or hide itself.  mt_json_escape()
 * renders a JSON string body (without the quotes).  Both are thread-safe.
 */
#ifndef MAILTRAIL_ESCAPE_H
#define MAILTRAIL_ESCAPE_H

#include <stddef.h>

/*
 * Escape src[0..len) into out (size outsz, always NUL-terminated when
 * outsz > 0).  When the output does not fit, it is cut at a character
 * boundary and ends with "...".  Returns out.
 */
char	*mt_escape(char *out, size_t outsz, const void *src, size_t len);

/*
 * JSON-escape src[0..len) into a new string (caller frees).  Valid UTF-8 is
 * kept, except the C1 controls U+0080..U+009F, which become \u0080..\u009f
 * like the C0 ones (a raw U+009B is a terminal's CSI); NUL, control bytes
 * and invalid UTF-8 become \u00XX escapes (the byte value), so the output
 * is always valid JSON.  NULL on allocation failure.
 */
char	*mt_json_escape(const void *src, size_t len);

/*
 * Length of the valid UTF-8 sequence starting at s (at most n bytes), 0
 * when it is not one (overlong forms, surrogates and code points above
 * U+10FFFF are invalid).  n must be at least 1.
 */
size_t	 mt_utf8_seq(const unsigned char *s, size_t n);

/* Escaped size needed by mt_escape for len input bytes, worst case. */
#define MT_ESCAPE_SIZE(len)	((len) * 4 + 4)

#endif
