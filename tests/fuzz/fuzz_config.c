/*
 * fuzz_config.c - fuzz target for the configuration file parser
 * (src/config.c, config_load over libconfig).
 *
 * The input is written to a scratch file and loaded.  A file that loads is
 * dumped (config_dump, what "mailtrail-milter -n" prints); the dump must
 * load again and dump the same text, so every accepted value survives a
 * round trip.  Then each input line of the form "key value" goes through
 * config_set (the path the command-line overrides take).
 *
 * Built as a libFuzzer target by "make fuzz-config", as a replay program
 * by "make check" (tests/fuzz/README).  Thread safety: single-threaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailtrail/config.h"
#include "replay.h"

static char	 path[64], path2[64];

static void
cleanup(void)
{
	unlink(path);
	unlink(path2);
}

static int
write_file(const char *p, const void *data, size_t size)
{
	FILE	*fp;
	int	 rc = 0;

	if ((fp = fopen(p, "wb")) == NULL)
		return -1;
	if (size > 0 && fwrite(data, 1, size, fp) != size)
		rc = -1;
	if (fclose(fp) != 0)
		rc = -1;
	return rc;
}

/* The dump of cfg in a malloc'd string (length in *len). */
static char *
dump(const struct mt_config *cfg, size_t *len)
{
	char	*buf = NULL;
	FILE	*fp;

	if ((fp = open_memstream(&buf, len)) == NULL)
		abort();
	config_dump(cfg, fp);
	fclose(fp);
	return buf;
}

static void
set_lines(const uint8_t *data, size_t size)
{
	struct mt_config *cfg;
	char		 line[1024], err[256], *sp;
	size_t		 i = 0, n;

	if ((cfg = config_defaults()) == NULL)
		return;
	while (i < size) {
		for (n = 0; i < size && data[i] != '\n'; i++)
			if (n + 1 < sizeof(line))
				line[n++] = data[i] == '\0' ? ' ' : (char)data[i];
		i++;
		line[n] = '\0';
		if ((sp = strchr(line, ' ')) == NULL)
			continue;
		*sp = '\0';
		(void)config_set(cfg, line, sp + 1, err, sizeof(err));
	}
	config_unref(cfg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_config *cfg, *again;
	char		 err[512], *d1, *d2;
	size_t		 l1, l2;
	int		 fd;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "/tmp/mt-fuzz-config.XXXXXX");
		snprintf(path2, sizeof(path2), "/tmp/mt-fuzz-config2.XXXXXX");
		if ((fd = mkstemp(path)) < 0)
			abort();
		close(fd);
		if ((fd = mkstemp(path2)) < 0)
			abort();
		close(fd);
		atexit(cleanup);
	}
	if (write_file(path, data, size) != 0)
		abort();
	if ((cfg = config_load(path, err, sizeof(err))) != NULL) {
		d1 = dump(cfg, &l1);
		if (write_file(path2, d1, l1) != 0)
			abort();
		if ((again = config_load(path2, err, sizeof(err))) == NULL) {
			fprintf(stderr, "the dump does not load: %s\n%s", err,
			    d1);
			abort();
		}
		d2 = dump(again, &l2);
		if (l1 != l2 || memcmp(d1, d2, l1) != 0) {
			fprintf(stderr, "dump changed on reload:\n%s---\n%s",
			    d1, d2);
			abort();
		}
		free(d1);
		free(d2);
		config_unref(again);
		config_unref(cfg);
	}
	if (size < 4096)
		set_lines(data, size);
	return 0;
}

FUZZ_REPLAY_MAIN("config")
