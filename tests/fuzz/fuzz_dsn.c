/*
 * fuzz_dsn.c - fuzz target for the bounce parser (dsn_parse).
 *
 * Built two ways from this one file:
 *  - with -DMT_LIBFUZZER by "make fuzz-dsn": a libFuzzer target under
 *    clang's address and undefined-behaviour sanitizers;
 *  - without it by "make check": a plain program that replays every file
 *    of tests/fuzz/corpus/dsn/ (or the files and folders given as
 *    arguments) through the same entry point and prints TAP, so the target
 *    is compiled and exercised in every test run.
 *
 * Each input is parsed with small limits (so depth and part limits are
 * reached often) and with the defaults; the record is checked for the
 * invariants callers rely on (values NUL-terminated within their length,
 * recipients within the cap, a kind and a format), then freed.
 *
 * Thread safety: single-threaded.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mailtrail/dsn.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_bytes(const struct mt_bytes *b)
{
	if (b->data != NULL && (b->len > MT_BOUNCE_VALUE_MAX ||
	    b->data[b->len] != '\0'))
		abort();
}

static void
check(const struct mt_bounce_rec *r)
{
	size_t	 i;

	if (r->format == NULL || r->n_rcpts > MT_BOUNCE_MAX_RCPTS ||
	    mt_bounce_kind_name(r->kind) == NULL)
		abort();
	check_bytes(&r->reporting_mta);
	check_bytes(&r->orig_message_id);
	check_bytes(&r->orig_track_id);
	check_bytes(&r->orig_queue_id);
	check_bytes(&r->orig_from);
	for (i = 0; i < r->n_rcpts; i++) {
		check_bytes(&r->rcpts[i].recipient);
		check_bytes(&r->rcpts[i].status);
		check_bytes(&r->rcpts[i].diagnostic);
		if (r->rcpts[i].permanent < -1 || r->rcpts[i].permanent > 1 ||
		    mt_bounce_reason_name(r->rcpts[i].reason) == NULL)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dsn_limits small = { 4096, 3, 8, "X-Mailtrail-ID" };
	struct mt_bounce_rec *r;

	dsn_init();
	if ((r = dsn_parse((const char *)data, size, NULL)) != NULL) {
		check(r);
		bounce_rec_free(r);
	}
	if ((r = dsn_parse((const char *)data, size, &small)) != NULL) {
		check(r);
		bounce_rec_free(r);
	}
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
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/dsn",
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
