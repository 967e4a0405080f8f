/*
 * replay.c - replay files through a fuzz target, with TAP output (see
 * replay.h).  Linked into the tests/fuzz/fuzz_NAME_replay programs that
 * "make check" runs; not into the libFuzzer builds.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "replay.h"

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
	/* An exact-size copy, so that reading past the end is caught. */
	LLVMFuzzerTestOneInput((const uint8_t *)buf, got);
	free(buf);
	printf("ok %d - %s\n", ++n_tests, path);
	fflush(stdout);
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
fuzz_replay_main(int argc, char *argv[], const char *name)
{
	const char	*top = getenv("top_srcdir");
	char		 dir[4096];
	int		 i, rc = 0;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (replay(argv[i]) != 0)
				rc = 1;
	} else {
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s",
		    top != NULL ? top : ".", name);
		if (replay(dir) != 0) {
			printf("1..0 # SKIP no seed corpus at %s\n", dir);
			return 0;
		}
	}
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	printf("ok %d - empty input\n", ++n_tests);
	LLVMFuzzerTestOneInput((const uint8_t *)"\n", 1);
	printf("ok %d - one newline\n", ++n_tests);
	printf("1..%d\n", n_tests);
	return rc;
}
