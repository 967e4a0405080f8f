/*
 * fuzz_maillog.c - libFuzzer target for the mail-log line parser.
 *
 * The input is split at newlines and every line goes through one parser
 * (so the year inference and time-zone cache see sequences of stamps);
 * the event is then checked: every slice lies inside its line, no field
 * exceeds MLOG_MAX_FIELD, and the recipient iterator ends.  The whole
 * input is also parsed once as a single line.
 *
 * Built two ways from this one file (as tests/fuzz/fuzz_dsn.c is):
 *  - with -DMT_LIBFUZZER by "make fuzz-maillog": a libFuzzer target under
 *    clang's address and undefined-behaviour sanitizers, run for
 *    FUZZ_TIME seconds over _fuzz/maillog and the seeds;
 *  - without it by "make check": a plain program that replays every file
 *    of tests/fuzz/corpus/maillog/ (or the files and folders given as
 *    arguments) through the same entry point and prints TAP, one test per
 *    input, so the target is compiled and exercised in every test run.
 *
 * Thread safety: single-threaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/maillog.h"

#include "replay.h"


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

FUZZ_REPLAY_MAIN("maillog")
