/*
 * fuzz_cli.c - fuzz target for the mailtrail command reading a damaged
 * journal (src/cli/: show, find, export and the row readers under them).
 *
 * Once, the target builds a small valid journal the way the daemon does:
 * the transaction core (src/txn.c) on a durable journal over the SQLite
 * store in a temporary directory, three messages (one with rejected
 * recipients, one bounce), then "mailtrail ingest-log" of a few Postfix
 * log lines of them (delivered, deferred, bounced).  Its bytes are kept.
 *
 * Input: byte 0 picks the output (bit 0: --json) and the commands run
 * (bits 1-7, see run()); then patches to the journal's bytes, each a
 * 24-bit big-endian offset (modulo the file's size), a length byte and
 * that many bytes written there; a length of 0 zeroes the 4096-byte page
 * holding the offset instead.  The damaged file is written out and the
 * commands run in-process through the same entry functions as main.c
 * (cmd_show, cmd_find, cmd_export), output to /dev/null.
 *
 * Built as a libFuzzer target by "make fuzz-cli", as a replay program by
 * "make check" (tests/fuzz/README).  Thread safety: single-threaded (the
 * journal's writer thread runs only while the journal is built).
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mailtrail/config.h"
#include "mailtrail/journal.h"
#include "mailtrail/log.h"
#include "mailtrail/store.h"
#include "mailtrail/txn.h"
#include "cli/cli.h"
#include "replay.h"

static struct {
	char		 dir[64];
	char		 base[128];	/* the valid journal */
	char		 db[128];	/* the damaged copy */
	char		 track[3][MT_TRACKID_SIZE];
	unsigned char	*bytes;
	size_t		 len;
	FILE		*null;
} fz;

/* Postfix log lines of the journal's messages (after a time stamp). */
static const char *const maillog[] = {
	"gw postfix/cleanup[101]: 4F1AA01: message-id=<m1@example.org>",
	"gw postfix/qmgr[102]: 4F1AA01: from=<alice@example.org>, size=420, nrcpt=2 (queue active)",
	"gw postfix/smtp[103]: 4F1AA01: to=<bob@example.net>, relay=mx.example.net[192.0.2.50]:25, delay=1.1, delays=0.1/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 7B2C)",
	"gw postfix/smtp[103]: 4F1AA01: to=<carol@example.net>, relay=mx.example.net[192.0.2.50]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=4.2.2, status=deferred (host mx.example.net[192.0.2.50] said: 452 4.2.2 mailbox full)",
	"gw postfix/smtp[104]: 4F1AA01: to=<carol@example.net>, relay=mx.example.net[192.0.2.50]:25, delay=301, delays=300/0/0.5/0.6, dsn=5.1.1, status=bounced (host mx.example.net[192.0.2.50] said: 550 5.1.1 no such user)",
	"gw postfix/bounce[105]: 4F1AA01: sender non-delivery notification: 5D3E",
	"gw postfix/qmgr[102]: 4F1AA01: removed",
	"gw postfix/cleanup[101]: 4F1AA02: message-id=<m2@example.org>",
	"gw postfix/local[106]: 4F1AA02: to=<dave@example.org>, relay=local, delay=0.2, delays=0.1/0/0/0.1, dsn=2.0.0, status=sent (delivered to mailbox)",
};

static const char *
get_macro(void *arg, const char *name)
{
	const char *const *kv = arg;

	for (; kv[0] != NULL; kv += 2)
		if (strcmp(kv[0], name) == 0)
			return kv[1];
	return NULL;
}

static struct mt_store *
open_store(void *arg, char *err, size_t errlen)
{
	return store_sqlite_open(arg, err, errlen);
}

/* One message through the core; its tracking ID into track. */
static void
message(struct mt_conn *c, const char *const *kv, const char *from,
    const char *const *rcpts, const char *const *hdrs, const char *body,
    char *track)
{
	struct mt_macros	 m = { get_macro, (void *)kv };
	struct mt_eom_plan	 plan;
	char			*argv[2];

	argv[1] = NULL;
	argv[0] = (char *)from;
	conn_mail(c, argv, &m);
	for (; *rcpts != NULL; rcpts++) {
		argv[0] = (char *)*rcpts;
		conn_rcpt(c, argv, &m);
	}
	conn_data(c, &m);
	for (; hdrs[0] != NULL; hdrs += 2)
		conn_header(c, hdrs[0], hdrs[1]);
	conn_eoh(c, &m);
	conn_body(c, (const unsigned char *)body, strlen(body));
	memset(&plan, 0, sizeof(plan));
	if (conn_eom_plan(c, &m, &plan) != 0)
		abort();
	memcpy(track, plan.insert_value, MT_TRACKID_SIZE);
	(void)conn_eom_finish(c, &plan);
}

static void
build_journal(void)
{
	static const char *const kv1[] = { "i", "4F1AA01", "j", "gw",
		"{tls_version}", "TLSv1.3", NULL, NULL };
	static const char *const kv2[] = { "i", "4F1AA02", NULL, NULL };
	static const char *const kv3[] = { "i", "4F1AA03",
		"{rcpt_mailer}", "error", NULL, NULL };
	static const char *const r1[] = { "<bob@example.net>",
		"<carol@example.net>", NULL };
	static const char *const r2[] = { "<dave@example.org>", NULL };
	static const char *const h1[] = { "From", " Alice <alice@example.org>",
		"To", " bob@example.net", "Subject", " quarterly \xe2\x82\xac",
		"Message-ID", " <m1@example.org>",
		"Authentication-Results", " gw; spf=pass smtp.mailfrom=x",
		NULL, NULL };
	static const char *const h2[] = { "From", " <>", "Message-ID",
		" <m2@example.org>", "Content-Type",
		" multipart/report; report-type=delivery-status; boundary=b",
		NULL, NULL };
	struct mt_store_sqlite_opts so;
	struct journal_opts	 jo;
	struct mt_config	*cfg;
	struct mt_ctx		 ctx;
	struct mt_conn		*c;
	struct sockaddr_in	 sin;
	struct mt_macros	 m = { get_macro, (void *)kv1 };
	struct cli		 cli;
	char			 err[256], logpath[160], stamp[32];
	time_t			 now, t;
	size_t			 i;
	char			*argv[3];
	FILE			*fp;
	long			 n;

	memset(&so, 0, sizeof(so));
	so.path = fz.base;
	so.mode = 0600;
	so.busy_timeout_ms = 1000;
	memset(&jo, 0, sizeof(jo));
	jo.open_store = open_store;
	jo.open_arg = &so;
	jo.durable = 1;
	jo.commit_interval_ms = 5;
	jo.commit_timeout_ms = 5000;
	jo.max_records = 100;
	jo.max_bytes = 1 << 20;
	jo.max_batch = 16;
	memset(&ctx, 0, sizeof(ctx));
	if ((cfg = config_defaults()) == NULL ||
	    config_set(cfg, "delivery.bounces", "true", err, sizeof(err)) != 0 ||
	    (ctx.journal = journal_open(&jo, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_cli: %s\n", err);
		abort();
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.10", &sin.sin_addr);
	if ((c = conn_new(cfg, &ctx)) == NULL)
		abort();
	conn_connect(c, "client.example.org", (struct sockaddr *)&sin, &m);
	conn_helo(c, "client.example.org", &m);
	message(c, kv1, "<alice@example.org>", r1, h1, "hello\r\n",
	    fz.track[0]);
	message(c, kv2, "<>", r2, h2, "--b\r\nContent-Type: "
	    "message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n"
	    "Final-Recipient: rfc822; gone@example.net\r\nAction: failed\r\n"
	    "Status: 5.1.1\r\n\r\n--b--\r\n", fz.track[1]);
	message(c, kv3, "<eve@example.com>", r2, h1, "x\r\n", fz.track[2]);
	conn_close(c);
	journal_close(ctx.journal);
	config_unref(cfg);

	snprintf(logpath, sizeof(logpath), "%s/mail.log", fz.dir);
	if ((fp = fopen(logpath, "w")) == NULL)
		abort();
	/* stamps just after the messages, as the MTA would log them */
	now = time(NULL);
	for (i = 0; i < sizeof(maillog) / sizeof(maillog[0]); i++) {
		t = now + 1 + (time_t)i;
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", localtime(&t));
		fprintf(fp, "%s %s", stamp, maillog[i]);
		fputc('\n', fp);
	}
	fclose(fp);
	memset(&cli, 0, sizeof(cli));
	cli.out = fz.null;
	cli.journal_path = fz.base;
	cli.cmd = "ingest-log";
	argv[0] = "ingest-log";
	argv[1] = logpath;
	argv[2] = NULL;
	optind = 0;
	opterr = 0;
	if (cmd_ingest(&cli, 2, argv) != 0)
		fprintf(stderr, "fuzz_cli: ingest-log of the seed log failed\n");
	cli_close_journal(&cli);
	unlink(logpath);

	if ((fp = fopen(fz.base, "rb")) == NULL || fseek(fp, 0, SEEK_END) != 0 ||
	    (n = ftell(fp)) <= 0 || fseek(fp, 0, SEEK_SET) != 0 ||
	    (fz.bytes = malloc((size_t)n)) == NULL ||
	    fread(fz.bytes, 1, (size_t)n, fp) != (size_t)n)
		abort();
	fclose(fp);
	fz.len = (size_t)n;
}

static void
remove_db(const char *path)
{
	char	 p[192];

	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-journal", path);
	unlink(p);
	unlink(path);
}

static void
cleanup(void)
{
	remove_db(fz.base);
	remove_db(fz.db);
	rmdir(fz.dir);
}

static void
init(void)
{
	mt_log_open("fuzz_cli", 1, 0);
	mt_log_set(2, 0);
	snprintf(fz.dir, sizeof(fz.dir), "/tmp/mt-fuzz-cli.XXXXXX");
	if (mkdtemp(fz.dir) == NULL ||
	    (fz.null = fopen("/dev/null", "w")) == NULL)
		abort();
	snprintf(fz.base, sizeof(fz.base), "%s/base.db", fz.dir);
	snprintf(fz.db, sizeof(fz.db), "%s/damaged.db", fz.dir);
	atexit(cleanup);
	build_journal();
}

typedef int (*cmd_fn)(struct cli *, int, char **);

static void
run(cmd_fn fn, const char *name, int json, const char *const *args)
{
	struct cli	 cli;
	char		*argv[12];
	int		 argc = 0, saved;

	memset(&cli, 0, sizeof(cli));
	cli.out = fz.null;
	cli.journal_path = fz.db;
	cli.json = json;
	cli.no_color = 1;
	cli.cmd = name;
	argv[argc++] = (char *)name;
	for (; *args != NULL && argc < 11; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	optind = 0;
	opterr = 0;
	cli_setup_output(&cli);
	cli.out = fz.null;
	/* what a command prints on stdout itself goes to /dev/null too */
	fflush(stdout);
	if ((saved = dup(1)) < 0 || dup2(fileno(fz.null), 1) < 0)
		abort();
	(void)fn(&cli, argc, argv);
	cli_close_journal(&cli);
	fflush(stdout);
	if (dup2(saved, 1) < 0)
		abort();
	close(saved);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const find1[] = { NULL };
	static const char *const find2[] = { "--from", "@example.org",
		"--status", "delivered,bounced,rejected", "--limit", "0", NULL };
	static const char *const find3[] = { "--ip", "192.0.2.0/24",
		"--subject", "quarterly", "--since", "2020-01-01", NULL };
	static const char *const exp1[] = { "--all", NULL };
	static const char *const exp2[] = { "--format", "csv", "--all",
		NULL };
	static const char *const show2[] = { "4F1AA01", NULL };
	static const char *const show3[] = { "<m2@example.org>", NULL };
	const char	*show1[2];
	unsigned char	*b;
	unsigned	 flags;
	size_t		 i = 1, off, len;
	FILE		*fp;

	if (fz.bytes == NULL)
		init();
	if ((b = malloc(fz.len)) == NULL)
		abort();
	memcpy(b, fz.bytes, fz.len);
	flags = size > 0 ? data[0] : 0xff;
	while (i + 4 <= size) {
		off = ((size_t)data[i] << 16 | (size_t)data[i + 1] << 8 |
		    data[i + 2]) % fz.len;
		len = data[i + 3];
		i += 4;
		if (len == 0) {
			off &= ~(size_t)4095;
			memset(b + off, 0, fz.len - off < 4096 ?
			    fz.len - off : 4096);
			continue;
		}
		if (len > size - i)
			len = size - i;
		if (len > fz.len - off)
			len = fz.len - off;
		memcpy(b + off, data + i, len);
		i += len;
	}
	remove_db(fz.db);
	if ((fp = fopen(fz.db, "wb")) == NULL ||
	    fwrite(b, 1, fz.len, fp) != fz.len || fclose(fp) != 0)
		abort();
	free(b);

	show1[0] = fz.track[(flags >> 6) % 3];
	show1[1] = NULL;
	if (flags & 0x02)
		run(cmd_show, "show", flags & 1, show1);
	if (flags & 0x04)
		run(cmd_show, "show", flags & 1, (flags & 0x80) ? show3 : show2);
	if (flags & 0x08)
		run(cmd_find, "find", flags & 1, find1);
	if (flags & 0x10)
		run(cmd_find, "find", flags & 1, (flags & 0x80) ? find3 : find2);
	if (flags & 0x20)
		run(cmd_export, "export", flags & 1,
		    (flags & 0x81) == 0x80 ? exp2 : exp1);
	return 0;
}

FUZZ_REPLAY_MAIN("cli")
