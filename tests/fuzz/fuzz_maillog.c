/*
 * fuzz_maillog.c - libFuzzer target for the mail-log line parser.
 *
 * The input is split at newlines and every line goes through one parser
 * (so the year inference and time-zone cache see sequences of stamps);
 * the event is then checked: every slice lies inside its line, no field
 * exceeds MLOG_MAX_FIELD, and the recipient iterator ends.  The whole
 * input is also parsed once as a single line.
 *
 * Built two ways:
 *   make fuzz-maillog    clang -fsanitize=fuzzer,address,undefined; run
 *                        ./tests/fuzz/fuzz_maillog tests/fuzz/corpus/maillog
 *   make check           with FUZZ_REPLAY defined: a plain program whose
 *                        main() feeds every file of the seed folder (or of
 *                        the folders and files named) to the target once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/maillog.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_slice(const char *line, size_t len, const struct mlog_str *s)
{
	if (s->p == NULL)
		return;
	if (s->p < line || s->p + s->len > line + len ||
	    s->len > MLOG_MAX_FIELD)
		abort();
}

static void
check_event(const char *line, size_t len, struct mlog_event *ev)
{
	const struct mlog_str *all[] = {
		&ev->host, &ev->program, &ev->queue_id, &ev->recipient,
		&ev->orig_recipient, &ev->relay, &ev->dsn, &ev->status_word,
		&ev->reply, &ev->next_queue_id, &ev->mailer, &ev->sender,
		&ev->message_id, &ev->client, &ev->related_queue_id,
	};
	size_t	 i;
	unsigned n = 0;

	if ((int)ev->kind < MLOG_IGNORED || ev->kind > MLOG_REJECT)
		abort();
	if (ev->queue_id.p != NULL && ev->queue_id.len > MLOG_QUEUE_ID_MAX)
		abort();
	(void)mlog_kind_name(ev->kind);
	(void)mlog_status_name(ev->status);
	(void)mlog_mta_name(ev->mta);
	do {
		for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
			check_slice(line, len, all[i]);
		if (ev->rcpt_rest.p != NULL && (ev->rcpt_rest.p < line ||
		    ev->rcpt_rest.p + ev->rcpt_rest.len > line + len))
			abort();
		if (++n > len + 1)
			abort();	/* the iterator must end */
	} while (mlog_next_recipient(ev));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mlog_parser	*p;
	struct mlog_event	 ev;
	const char		*s = (const char *)data, *e = s + size, *nl;
	char			*copy;
	size_t			 n;

	if ((p = mlog_parser_new(INT64_C(1685577600) * 1000000, 3600)) ==
	    NULL)
		return 0;
	while (s < e) {
		if ((nl = memchr(s, '\n', (size_t)(e - s))) == NULL)
			nl = e;
		n = (size_t)(nl - s);
		/* An exact-size copy: a read past the line is caught. */
		if ((copy = malloc(n > 0 ? n : 1)) != NULL) {
			memcpy(copy, s, n);
			mlog_parse(p, copy, n, &ev);
			check_event(copy, n, &ev);
			(void)mlog_line_hash(copy, n);
			free(copy);
		}
		s = nl + 1;
	}
	mlog_parser_free(p);
	if ((p = mlog_parser_new(0, MLOG_TZ_LOCAL)) != NULL) {
		mlog_parse(p, (const char *)data, size, &ev);
		check_event((const char *)data, size, &ev);
		mlog_parser_free(p);
	}
	return 0;
}

#ifdef FUZZ_REPLAY
#include <dirent.h>

static int
replay_file(const char *path)
{
	FILE	*fp;
	uint8_t	*buf;
	long	 len;

	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	if (fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		fclose(fp);
		return -1;
	}
	buf = malloc((size_t)len + 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, fp) != (size_t)len) {
		free(buf);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

static int
replay(const char *path, int *files)
{
	DIR		*d;
	struct dirent	*de;
	char		 sub[4096];

	if ((d = opendir(path)) == NULL) {
		if (replay_file(path) < 0)
			return -1;
		(*files)++;
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (replay_file(sub) < 0) {
			closedir(d);
			return -1;
		}
		(*files)++;
	}
	closedir(d);
	return 0;
}

int
main(int argc, char **argv)
{
	const char	*top = getenv("top_srcdir");
	char		 seeds[4096];
	int		 i, files = 0;

	printf("1..1\n");
	if (argc < 2) {
		snprintf(seeds, sizeof(seeds), "%s/tests/fuzz/corpus/maillog",
		    top != NULL ? top : ".");
		if (replay(seeds, &files) < 0) {
			printf("not ok 1 - cannot read %s\n", seeds);
			return 1;
		}
	}
	for (i = 1; i < argc; i++)
		if (replay(argv[i], &files) < 0) {
			printf("not ok 1 - cannot read %s\n", argv[i]);
			return 1;
		}
	printf("ok 1 - fuzz_maillog replayed %d inputs\n", files);
	return 0;
}
#endif
