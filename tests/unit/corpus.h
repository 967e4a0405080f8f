/*
 * corpus.h - where the unit tests find the shared test corpus.
 *
 * The corpus is $MT_CORPUS, else $top_srcdir/../shared/corpus (a checkout
 * beside the shared folder); it is read in place, never copied.  A test
 * that cannot find it skips and says so ("# corpus: NAME skipped ...").
 * Header only: each test program is one source file and this.
 */
#ifndef MAILTRAIL_TEST_CORPUS_H
#define MAILTRAIL_TEST_CORPUS_H

#include <stdio.h>
#include <stdlib.h>

/*
 * Write the path of rel inside the corpus to buf.  Returns 0, or -1 when
 * neither MT_CORPUS nor top_srcdir is set or the path does not fit.
 */
static inline int
test_corpus_path(char *buf, size_t len, const char *rel)
{
	const char	*base = getenv("MT_CORPUS");
	const char	*top = getenv("top_srcdir");
	int		 n;

	if (base != NULL)
		n = snprintf(buf, len, "%s/%s", base, rel);
	else if (top != NULL)
		n = snprintf(buf, len, "%s/../shared/corpus/%s", top, rel);
	else
		return -1;
	return n >= 0 && (size_t)n < len ? 0 : -1;
}

#endif
