/*
 * maillog_bench.c - how fast the mail-log parser reads lines, against a
 * baseline measured in the same run over the same buffer: splitting the
 * buffer into lines with memchr and touching each line (the least any
 * reader must do).
 *
 *	maillog_bench [-r rounds] [FILE...]
 *
 * Each FILE (plain or .gz) is read into memory once; without one, a
 * synthetic log is built from representative Postfix and Sendmail lines
 * (deliveries, queue facts, rejects, noise): 26,000 lines, 3.8 MB.  A
 * measurement passes over the buffer as many times as it takes to read
 * at least a million lines (the buffer stays small enough for the caches:
 * we measure the parser, not the memory); rounds alternate baseline and
 * parser, and the best round of each is kept.
 * Prints lines/s for the baseline, mlog_parse, and mlog_parse plus
 * mlog_line_hash (what the log follower does per line), and the parser's
 * share of the baseline.  "make bench-maillog" runs it on the synthetic
 * log and on the corpus's postfix-logsums/mail.log.gz when MT_CORPUS or
 * ../shared/corpus has it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "mailtrail/maillog.h"

static const char *const sample[] = {
	"Mar 14 10:00:00 mx1 postfix/smtpd[4242]: connect from "
	    "mail.example.com[192.0.2.10]",
	"Mar 14 10:00:00 mx1 postfix/smtpd[4242]: 4ABC123DEF: "
	    "client=mail.example.com[192.0.2.10]",
	"Mar 14 10:00:00 mx1 postfix/cleanup[4243]: 4ABC123DEF: "
	    "message-id=<20230314100000.4ABC123DEF@mail.example.com>",
	"Mar 14 10:00:00 mx1 postfix/qmgr[3]: 4ABC123DEF: "
	    "from=<alice@example.com>, size=4711, nrcpt=1 (queue active)",
	"Mar 14 10:00:00 mx1 postfix/smtpd[4242]: disconnect from "
	    "mail.example.com[192.0.2.10] ehlo=1 mail=1 rcpt=1 data=1 quit=1 "
	    "commands=5",
	"Mar 14 10:00:01 mx1 postfix/smtp[4244]: 4ABC123DEF: "
	    "to=<bob@example.net>, relay=mx.example.net[198.51.100.7]:25, "
	    "delay=1.2, delays=0.1/0.02/0.5/0.58, dsn=2.0.0, status=sent "
	    "(250 2.0.0 Ok: queued as 9F00AA12B)",
	"Mar 14 10:00:01 mx1 postfix/qmgr[3]: 4ABC123DEF: removed",
	"2023-03-14T10:00:02.123456+01:00 mx1 postfix/smtp[4245]: "
	    "4PbC4x469Jz3tBr: to=<carol@example.org>, orig_to=<c@example.org>, "
	    "relay=mx.example.org[203.0.113.2]:25, delay=300, "
	    "delays=0.1/0/30/270, dsn=4.7.0, status=deferred (host "
	    "mx.example.org[203.0.113.2] said: 421 4.7.0 Try again later (in "
	    "reply to end of DATA command))",
	"Mar 14 10:00:03 mx1 postfix/smtpd[4246]: NOQUEUE: reject: RCPT from "
	    "unknown[192.0.2.99]: 554 5.7.1 <x@example.net>: Relay access "
	    "denied; from=<spam@example.biz> to=<x@example.net> proto=ESMTP "
	    "helo=<spammer>",
	"Mar 14 10:00:03 mx1 postfix/postscreen[17]: CONNECT from "
	    "[192.0.2.55]:41234 to [192.0.2.1]:25",
	"Mar 14 10:00:04 gw sm-mta[100]: 2ELA0060000100: "
	    "from=<alice@example.com>, size=1234, class=0, nrcpts=1, "
	    "msgid=<20230314.abc@example.com>, proto=ESMTP, daemon=MTA, "
	    "relay=mail.example.com [192.0.2.10]",
	"Mar 14 10:00:05 gw sm-mta[101]: 2ELA0060000100: "
	    "to=<bob@example.net>, delay=00:00:01, xdelay=00:00:01, "
	    "mailer=esmtp, pri=121234, relay=mx.example.net. [198.51.100.5], "
	    "dsn=2.0.0, stat=Sent (Ok: queued as 4QbC3t0x)",
	"Mar 14 10:00:05 mx1 dovecot: lmtp(28700): Connect from local",
};

struct buf {
	char	*p;
	size_t	 len;
	size_t	 lines;
};

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
load(const char *path, struct buf *b)
{
	gzFile	 gz;
	size_t	 cap = 1 << 20;
	int	 n;

	if ((gz = gzopen(path, "rb")) == NULL)
		return -1;
	b->p = malloc(cap);
	b->len = 0;
	while ((n = gzread(gz, b->p + b->len, (unsigned)(cap - b->len))) > 0) {
		b->len += (size_t)n;
		if (b->len == cap)
			b->p = realloc(b->p, cap *= 2);
	}
	gzclose(gz);
	return 0;
}

static void
synthesize(struct buf *b)
{
	size_t	 n = sizeof(sample) / sizeof(sample[0]), i, k, cap = 0;

	for (i = 0; i < n; i++)
		cap += strlen(sample[i]) + 1;
	cap *= 2000;
	b->p = malloc(cap);
	b->len = 0;
	for (k = 0; k < 2000; k++)
		for (i = 0; i < n; i++) {
			memcpy(b->p + b->len, sample[i], strlen(sample[i]));
			b->len += strlen(sample[i]);
			b->p[b->len++] = '\n';
		}
}

/* The baseline: find each line and touch its ends. */
static uint64_t
pass_split(const struct buf *b, size_t *lines)
{
	const char	*s = b->p, *e = b->p + b->len, *nl;
	uint64_t	 sum = 0;

	*lines = 0;
	while (s < e) {
		if ((nl = memchr(s, '\n', (size_t)(e - s))) == NULL)
			nl = e;
		sum += (unsigned char)s[0] + (size_t)(nl - s);
		(*lines)++;
		s = nl + 1;
	}
	return sum;
}

static uint64_t
pass_parse(const struct buf *b, int hash, size_t *kinds)
{
	struct mlog_parser	*p = mlog_parser_new(0, 0);
	struct mlog_event	 ev;
	const char		*s = b->p, *e = b->p + b->len, *nl;
	uint64_t		 sum = 0;

	while (s < e) {
		if ((nl = memchr(s, '\n', (size_t)(e - s))) == NULL)
			nl = e;
		kinds[mlog_parse(p, s, (size_t)(nl - s), &ev)]++;
		if (hash)
			sum += mlog_line_hash(s, (size_t)(nl - s));
		sum += ev.queue_id.len;
		s = nl + 1;
	}
	mlog_parser_free(p);
	return sum;
}

static void
run(const char *name, const struct buf *b, int rounds)
{
	double		 t, best_split = 1e9, best_parse = 1e9, best_hash = 1e9;
	size_t		 lines = 0, kinds[MLOG_REJECT + 1];
	uint64_t	 sink = 0;
	int		 r, k, i, passes;

	sink += pass_split(b, &lines);
	passes = lines >= 1000000 ? 1 : (int)(1000000 / lines) + 1;
	for (r = 0; r < rounds; r++) {
		t = now();
		for (i = 0; i < passes; i++)
			sink += pass_split(b, &lines);
		t = (now() - t) / passes;
		if (t < best_split)
			best_split = t;
		t = now();
		for (i = 0; i < passes; i++) {
			memset(kinds, 0, sizeof(kinds));
			sink += pass_parse(b, 0, kinds);
		}
		t = (now() - t) / passes;
		if (t < best_parse)
			best_parse = t;
		t = now();
		for (i = 0; i < passes; i++) {
			memset(kinds, 0, sizeof(kinds));
			sink += pass_parse(b, 1, kinds);
		}
		t = (now() - t) / passes;
		if (t < best_hash)
			best_hash = t;
	}
	printf("%s: %zu lines, %.1f MB, %d passes a round, best of %d "
	    "rounds\n", name, lines, b->len / 1e6, passes, rounds);
	printf("  baseline (memchr split)  %12.0f lines/s\n",
	    lines / best_split);
	printf("  mlog_parse               %12.0f lines/s  (%.1f%% of "
	    "baseline, %.0f ns/line)\n", lines / best_parse,
	    100.0 * best_split / best_parse, 1e9 * best_parse / lines);
	printf("  mlog_parse + line hash   %12.0f lines/s  (%.1f%% of "
	    "baseline, %.0f ns/line)\n", lines / best_hash,
	    100.0 * best_split / best_hash, 1e9 * best_hash / lines);
	printf("  kinds:");
	for (k = 0; k <= MLOG_REJECT; k++)
		if (kinds[k] > 0)
			printf(" %s %zu", mlog_kind_name((enum mlog_kind)k),
			    kinds[k]);
	printf("\n  (checksum %llu)\n", (unsigned long long)sink);
}

int
main(int argc, char **argv)
{
	struct buf	 b;
	int		 i = 1, rounds = 5;

	if (argc > 2 && strcmp(argv[1], "-r") == 0) {
		rounds = atoi(argv[2]);
		i = 3;
	}
	if (rounds < 1)
		rounds = 1;
	if (i >= argc) {
		synthesize(&b);
		run("synthetic", &b, rounds);
		free(b.p);
	}
	for (; i < argc; i++) {
		if (load(argv[i], &b) < 0) {
			fprintf(stderr, "maillog_bench: cannot read %s\n",
			    argv[i]);
			return 1;
		}
		run(argv[i], &b, rounds);
		free(b.p);
	}
	return 0;
}
