/*
 * fuzz_fromhdr.c - fuzz target for the From: parser (fromhdr_parse).
 *
 * Built as fuzz_dsn.c is: with -DMT_LIBFUZZER by "make fuzz-fromhdr", a
 * libFuzzer target under the address and undefined-behaviour sanitizers;
 * without it by "make check", a plain program replaying
 * tests/fuzz/corpus/fromhdr/ with TAP output.
 *
 * Each input is parsed whole and as two From: fields split at its first
 * newline; the result is checked for what DMARC relies on: a status from
 * the closed list; on OK a domain that is 1..253 lowercase LDH octets with
 * no empty label and no trailing dot; otherwise an empty domain; an offset
 * within the value.
 *
 * Thread safety: single-threaded.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mailtrail/fromhdr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct mt_from_result *r, enum mt_from_status s, size_t len)
{
	size_t	 i, n;

	if (s != r->status || fromhdr_status_name(s) == NULL ||
	    r->offset > len)
		abort();
	n = strnlen(r->domain, sizeof(r->domain));
	if (n == sizeof(r->domain))
		abort();
	if (s != MT_FROM_OK) {
		if (n != 0)
			abort();
		return;
	}
	if (n == 0 || n > MT_FROM_DOMAIN_MAX || r->domain[0] == '.' ||
	    r->domain[n - 1] == '.' || strstr(r->domain, "..") != NULL)
		abort();
	for (i = 0; i < n; i++)
		if (!((r->domain[i] >= 'a' && r->domain[i] <= 'z') ||
		    (r->domain[i] >= '0' && r->domain[i] <= '9') ||
		    r->domain[i] == '-' || r->domain[i] == '.'))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_from_result	 res;
	struct mt_from_value	 v[2];
	const char		*p = (const char *)data;
	const char		*nl = memchr(p, '\n', size);
	enum mt_from_status	 s;

	s = fromhdr_parse(size == 0 ? "" : p, size, &res);
	check(&res, s, size);
	v[0].data = p;
	v[0].len = nl != NULL ? (size_t)(nl - p) : size;
	v[1].data = nl != NULL ? nl + 1 : p;
	v[1].len = nl != NULL ? size - v[0].len - 1 : 0;
	s = fromhdr_domain(v, nl != NULL ? 2 : 1, &res);
	if (nl != NULL && s != MT_FROM_MULTIPLE_FIELDS)
		abort();
	if (nl == NULL)
		check(&res, s, size);
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
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/fromhdr",
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
