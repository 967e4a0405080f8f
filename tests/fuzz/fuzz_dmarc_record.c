/*
 * fuzz_dmarc_record.c - fuzz target for the _dmarc record parser
 * (dmarc_record_parse).
 *
 * Built as fuzz_dsn.c is: with -DMT_LIBFUZZER by "make fuzz-dmarc-record",
 * a libFuzzer target under the address and undefined-behaviour sanitizers;
 * without it by "make check", a plain program replaying
 * tests/fuzz/corpus/dmarc_record/ with TAP output.
 *
 * The input is parsed as it is and with "v=DMARC1;" put in front (so the
 * fuzzer reaches the tags at once); a valid record is checked for what the
 * evaluator relies on: a p= policy, pct 0..100, sp=/np= from the closed
 * list, psd= one of u/y/n, the kept texts NUL-terminated within their
 * buffers, no tag both valid and ignored.
 *
 * Thread safety: single-threaded.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mailtrail/dmarc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct mt_dmarc_record *r, enum mt_dmarc_rec_status s)
{
	if (s != MT_DMARC_REC_OK && s != MT_DMARC_REC_NOT_DMARC &&
	    s != MT_DMARC_REC_INVALID)
		abort();
	if (s != MT_DMARC_REC_OK)
		return;
	if (r->p < MT_DMARC_P_NONE || r->p > MT_DMARC_P_REJECT ||
	    r->sp > MT_DMARC_P_REJECT || r->np > MT_DMARC_P_REJECT ||
	    r->psd > MT_DMARC_PSD_N || r->pct < 0 || r->pct > 100 ||
	    (r->testing != 0 && r->testing != 1) ||
	    (r->adkim_strict != 0 && r->adkim_strict != 1) ||
	    (r->aspf_strict != 0 && r->aspf_strict != 1))
		abort();
	if (memchr(r->rua, '\0', sizeof(r->rua)) == NULL ||
	    memchr(r->ruf, '\0', sizeof(r->ruf)) == NULL ||
	    memchr(r->fo, '\0', sizeof(r->fo)) == NULL ||
	    memchr(r->rf, '\0', sizeof(r->rf)) == NULL)
		abort();
	if ((r->seen & MT_DMARC_TAG_P) && r->p_implied)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_dmarc_record	 rec;
	char			*buf;
	char			 err[128];

	check(&rec, dmarc_record_parse(size == 0 ? "" : (const char *)data,
	    size, &rec, err, sizeof(err)));
	if ((buf = malloc(size + 9)) == NULL)
		return 0;
	memcpy(buf, "v=DMARC1;", 9);
	if (size > 0)
		memcpy(buf + 9, data, size);
	check(&rec, dmarc_record_parse(buf, size + 9, &rec, NULL, 0));
	free(buf);
	return 0;
}

#ifndef MT_LIBFUZZER
static int	n_tests;

static int
replay_file(const char *path)
{
	FILE	*fp;
	char	*buf;
	long	 n;
	size_t	 got;

	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)n + 1)) == NULL) {
		fclose(fp);
		return -1;
	}
	got = fread(buf, 1, (size_t)n, fp);
	fclose(fp);
	LLVMFuzzerTestOneInput((const uint8_t *)buf, got);
	free(buf);
	printf("ok %d - %s\n", ++n_tests, path);
	return 0;
}

static int
replay(const char *path)
{
	struct stat	 st;
	struct dirent	**names;
	char		 p[4096];
	int		 i, n, rc = 0;

	if (stat(path, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);
	if ((n = scandir(path, &names, NULL, alphasort)) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", path, names[i]->d_name);
			if (replay_file(p) != 0)
				rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char *argv[])
{
	const char	*top = getenv("top_srcdir");
	char		 dir[4096];
	int		 i, rc = 0;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (replay(argv[i]) != 0)
				rc = 1;
	} else {
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/dmarc_record",
		    top != NULL ? top : ".");
		if (replay(dir) != 0) {
			printf("1..0 # SKIP no seed corpus at %s\n", dir);
			return 0;
		}
	}
	/* An empty input and one byte, always. */
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	printf("ok %d - empty input\n", ++n_tests);
	LLVMFuzzerTestOneInput((const uint8_t *)"\n", 1);
	printf("ok %d - one newline\n", ++n_tests);
	printf("1..%d\n", n_tests);
	return rc;
}
#endif
