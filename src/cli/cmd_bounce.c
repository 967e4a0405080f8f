/*
 * cmd_bounce.c - "mailtrail bounce FILE|-": what a returned bounce says.
 *
 * Reads one message (a file, or standard input for "-"), parses it with
 * the bounce parser (dsn.h) and prints the diagnosis: the kind of report,
 * who reported it, per recipient the address, action, enhanced status and
 * reply code each explained in one line by the SMTP code catalogue
 * (smtpcodes.h), the reason in words, remote MTA and diagnostic, then the
 * keys that find the original message.  --json prints the same as one
 * document.  Every value taken from the message is escaped (cli_esc,
 * cli_json_bytes): a bounce is a stranger's bytes.
 *
 * --record also writes the bounce to the journal (read-write, through
 * store.h in one short transaction, as ARCHITECTURE.md allows commands
 * that write) and reads back the row to say whether the store linked it
 * to a message of the journal.
 *
 * Exit: 0 the message is a report, 1 it is not, 2 an error (unreadable
 * input, journal error).
 *
 * Thread safety: single-threaded.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/clock.h"
#include "mailtrail/dsn.h"
#include "mailtrail/record.h"
#include "mailtrail/smtpcodes.h"
#include "mailtrail/store.h"
#include "cli/cli.h"

#define LABEL_W		14
#define READ_MAX	(DSN_DEFAULT_MAX_BYTES + 1)	/* the parser says when cut */

static const char help[] =
"usage: mailtrail bounce [--record] FILE|-\n"
"\n"
"Read a returned bounce (a non-delivery report: RFC 3464 delivery status\n"
"notification, or the plain-text reports of qmail, Exim, Exchange, Gmail,\n"
"Sendmail and others; also ARF feedback reports and RFC 3834 auto-replies,\n"
"which are not delivery failures) and print what it says: per recipient\n"
"the status and reply codes explained, the reason, the remote server and\n"
"its diagnostic, and the keys that find the original message (tracking\n"
"ID, Message-ID, queue ID).  \"-\" reads standard input.  Examples:\n"
"\n"
"  mailtrail bounce returned.eml\n"
"  mailtrail bounce --json - < returned.eml\n"
"  mailtrail bounce --record returned.eml\n"
"\n"
"Options:\n"
"  --record           also write the bounce to the journal and say whether\n"
"                     it was linked to a message there\n"
"\n"
"Exit status: 0 a report, 1 not a report, 2 an error.\n";

enum {
	OPT_RECORD = CLI_OPT_FIRST_LOCAL
};

/* Read at most READ_MAX bytes of path ("-" = stdin); NULL with errno. */
static char *
read_input(const char *path, size_t *len)
{
	FILE	*fp;
	char	*buf, *grown;
	size_t	 cap = 64 * 1024, n = 0, got;

	if (strcmp(path, "-") == 0)
		fp = stdin;
	else if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	if ((buf = malloc(cap)) == NULL)
		goto fail;
	while (n < READ_MAX) {
		if (n == cap) {
			cap = cap * 2 > READ_MAX ? READ_MAX : cap * 2;
			if ((grown = realloc(buf, cap)) == NULL)
				goto fail;
			buf = grown;
		}
		got = fread(buf + n, 1, cap - n, fp);
		n += got;
		if (got == 0) {
			if (ferror(fp)) {
				errno = EIO;
				goto fail;
			}
			break;
		}
	}
	if (fp != stdin)
		fclose(fp);
	*len = n;
	return buf;
fail:
	free(buf);
	if (fp != NULL && fp != stdin)
		fclose(fp);
	return NULL;
}

/* Print "label  value" with the value escaped; nothing when unset. */
static void
print_bytes(const struct cli *cli, const char *indent, const char *label,
    const struct mt_bytes *b)
{
	char	*e;

	if (b->data == NULL || b->len == 0)
		return;
	if ((e = cli_esc(b->data, b->len)) == NULL)
		return;
	cli_print_wrapped(cli, indent, label, LABEL_W - strlen(indent), e);
	free(e);
}

static const char *
permanent_name(int p)
{
	return p == 1 ? "permanent" : p == 0 ? "temporary" : "unknown";
}

static void
print_text(const struct cli *cli, const struct mt_bounce_rec *b)
{
	char	 line[512];
	char	*e, *st;
	size_t	 i;

	if (b->kind == MT_BOUNCE_NONE) {
		fprintf(cli->out, "%-*s%s\n", LABEL_W, "Report",
		    "none: no delivery status, feedback report or auto-reply"
		    " found");
		print_bytes(cli, "", "From", &b->bounce_from);
		print_bytes(cli, "", "Subject", &b->bounce_subject);
		if (b->error.data != NULL)
			print_bytes(cli, "", "Note", &b->error);
		return;
	}
	snprintf(line, sizeof(line), "%s%s%s (%s)", cli_color_on(cli,
	    b->kind == MT_BOUNCE_FAILURE ? CLI_C_RED : b->kind ==
	    MT_BOUNCE_DELAY ? CLI_C_YELLOW : CLI_C_BOLD),
	    mt_bounce_kind_name(b->kind), cli_color_off(cli), b->format);
	fprintf(cli->out, "%-*s%s\n", LABEL_W, "Report", line);
	print_bytes(cli, "", "Reported by", &b->reporting_mta);
	print_bytes(cli, "", "From", &b->bounce_from);
	print_bytes(cli, "", "Subject", &b->bounce_subject);
	print_bytes(cli, "", "Arrival", &b->arrival_date);
	if (b->orig_track_id.data != NULL || b->orig_message_id.data != NULL ||
	    b->orig_queue_id.data != NULL || b->orig_from.data != NULL) {
		fprintf(cli->out, "%sOriginal message%s\n",
		    cli_color_on(cli, CLI_C_BOLD), cli_color_off(cli));
		print_bytes(cli, "  ", "Tracking ID", &b->orig_track_id);
		print_bytes(cli, "  ", "Message-ID", &b->orig_message_id);
		print_bytes(cli, "  ", "Queue ID", &b->orig_queue_id);
		print_bytes(cli, "  ", "From", &b->orig_from);
	}
	for (i = 0; i < b->n_rcpts; i++) {
		const struct mt_bounce_rcpt *r = &b->rcpts[i];

		e = cli_esc(r->recipient.data, r->recipient.len);
		snprintf(line, sizeof(line), "Recipient %zu", i + 1);
		fprintf(cli->out, "%s%-*s%s%s\n", cli_color_on(cli, CLI_C_BOLD),
		    LABEL_W, line, e != NULL && *e != '\0' ? e : "(not named)",
		    cli_color_off(cli));
		free(e);
		if (r->orig_recipient.data != NULL && (r->recipient.data ==
		    NULL || strcmp(r->orig_recipient.data,
		    r->recipient.data) != 0))
			print_bytes(cli, "  ", "Originally", &r->orig_recipient);
		print_bytes(cli, "  ", "Action", &r->action);
		if (r->status.data != NULL && (st = cli_esc(r->status.data,
		    r->status.len)) != NULL) {
			smtp_describe(line, sizeof(line), 0, st);
			fprintf(cli->out, "  %-*s%-8s %s\n", LABEL_W - 2,
			    "Status", st, line);
			free(st);
		}
		if (r->reply_code != 0) {
			smtp_describe(line, sizeof(line), r->reply_code, NULL);
			fprintf(cli->out, "  %-*s%-8d %s\n", LABEL_W - 2,
			    "Reply code", r->reply_code, line);
		}
		if (b->kind == MT_BOUNCE_FAILURE || b->kind == MT_BOUNCE_DELAY)
			fprintf(cli->out, "  %-*s%s\n", LABEL_W - 2, "Failure",
			    permanent_name(r->permanent));
		snprintf(line, sizeof(line), "%s: %s",
		    mt_bounce_reason_name(r->reason),
		    mt_bounce_reason_text(r->reason));
		cli_print_wrapped(cli, "  ", "Reason", LABEL_W - 2, line);
		print_bytes(cli, "  ", "Remote MTA", &r->remote_mta);
		if (r->diagnostic.data != NULL && r->diagnostic.len > 0 &&
		    (e = cli_esc(r->diagnostic.data, r->diagnostic.len)) !=
		    NULL) {
			cli_print_wrapped(cli, "  ", "Diagnostic", LABEL_W - 2,
			    e);
			free(e);
		}
		print_bytes(cli, "  ", "Last attempt", &r->last_attempt);
	}
	if (b->n_rcpts_dropped > 0)
		fprintf(cli->out, "(%zu more recipients not kept)\n",
		    b->n_rcpts_dropped);
	if (b->error.data != NULL)
		print_bytes(cli, "", "Note", &b->error);
}

static json_t *
jbytes(const struct mt_bytes *b)
{
	return b->data != NULL ? cli_json_bytes(b->data, b->len) :
	    json_null();
}

static json_t *
to_json(const struct mt_bounce_rec *b)
{
	json_t	*doc, *orig, *arr, *o;
	char	 line[512], hash[24];
	size_t	 i;

	snprintf(hash, sizeof(hash), "%016" PRIx64, b->content_hash);
	doc = json_pack("{s:s, s:s, s:s}", "kind",
	    mt_bounce_kind_name(b->kind), "format", b->format,
	    "content_hash", hash);
	if (doc == NULL)
		return NULL;
	json_object_set_new(doc, "reporting_mta", jbytes(&b->reporting_mta));
	json_object_set_new(doc, "from", jbytes(&b->bounce_from));
	json_object_set_new(doc, "subject", jbytes(&b->bounce_subject));
	json_object_set_new(doc, "message_id", jbytes(&b->bounce_message_id));
	json_object_set_new(doc, "arrival_date", jbytes(&b->arrival_date));
	orig = json_object();
	json_object_set_new(orig, "tracking_id", jbytes(&b->orig_track_id));
	json_object_set_new(orig, "message_id", jbytes(&b->orig_message_id));
	json_object_set_new(orig, "queue_id", jbytes(&b->orig_queue_id));
	json_object_set_new(orig, "from", jbytes(&b->orig_from));
	json_object_set_new(doc, "original", orig);
	arr = json_array();
	for (i = 0; i < b->n_rcpts; i++) {
		const struct mt_bounce_rcpt *r = &b->rcpts[i];

		o = json_object();
		json_object_set_new(o, "recipient", jbytes(&r->recipient));
		json_object_set_new(o, "orig_recipient",
		    jbytes(&r->orig_recipient));
		json_object_set_new(o, "action", jbytes(&r->action));
		json_object_set_new(o, "status", jbytes(&r->status));
		if (r->status.data != NULL) {
			smtp_describe(line, sizeof(line), 0, r->status.data);
			json_object_set_new(o, "status_text",
			    cli_json_bytes(line, strlen(line)));
		}
		json_object_set_new(o, "reply_code", r->reply_code != 0 ?
		    json_integer(r->reply_code) : json_null());
		if (r->reply_code != 0) {
			smtp_describe(line, sizeof(line), r->reply_code, NULL);
			json_object_set_new(o, "reply_text",
			    cli_json_bytes(line, strlen(line)));
		}
		json_object_set_new(o, "permanent", r->permanent < 0 ?
		    json_null() : json_boolean(r->permanent));
		json_object_set_new(o, "reason",
		    json_string(mt_bounce_reason_name(r->reason)));
		json_object_set_new(o, "reason_text",
		    json_string(mt_bounce_reason_text(r->reason)));
		json_object_set_new(o, "remote_mta", jbytes(&r->remote_mta));
		json_object_set_new(o, "diagnostic", jbytes(&r->diagnostic));
		json_object_set_new(o, "last_attempt", jbytes(&r->last_attempt));
		json_array_append_new(arr, o);
	}
	json_object_set_new(doc, "recipients", arr);
	json_object_set_new(doc, "recipients_dropped",
	    json_integer((json_int_t)b->n_rcpts_dropped));
	json_object_set_new(doc, "error", jbytes(&b->error));
	return doc;
}

/*
 * What the journal holds for this bounce (by its content hash): 1 found
 * (*message the linked message's id or 0, link the store's link kind),
 * 0 not there, -1 error (message printed).
 */
static int
read_back(struct cli *cli, const char *path, uint64_t hash,
    int64_t *message, char *link, size_t linklen)
{
	struct cli_journal j;
	sqlite3_stmt	*stmt;
	char		 err[CLI_ERRLEN];
	int		 rc = 0, step;

	memset(&j, 0, sizeof(j));
	if (cli_journal_open_path(&j, path, err, sizeof(err)) < 0) {
		cli_error(cli, "%s", err);
		return -1;
	}
	if (sqlite3_prepare_v2(j.db, "SELECT message, link FROM bounces"
	    " WHERE content_hash = ?1", -1, &stmt, NULL) != SQLITE_OK) {
		cli_error(cli, "journal %s: %s", path, sqlite3_errmsg(j.db));
		cli_journal_close(&j);
		return -1;
	}
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)hash);
	if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		*message = sqlite3_column_type(stmt, 0) == SQLITE_NULL ? 0 :
		    sqlite3_column_int64(stmt, 0);
		snprintf(link, linklen, "%s", sqlite3_column_text(stmt, 1) !=
		    NULL ? (const char *)sqlite3_column_text(stmt, 1) : "none");
		rc = 1;
	} else if (step != SQLITE_DONE) {
		cli_error(cli, "journal %s: %s", path, sqlite3_errmsg(j.db));
		rc = -1;
	}
	sqlite3_finalize(stmt);
	cli_journal_close(&j);
	return rc;
}

/*
 * Write the bounce (ownership of *bp moves into the record) in one short
 * transaction, then read back whether it was linked.  Fills doc (JSON) or
 * prints.  Returns 0 or -1 (message printed).
 */
static int
record_bounce(struct cli *cli, const char *path, struct mt_bounce_rec **bp,
    json_t *doc)
{
	struct mt_store_sqlite_opts opts;
	struct mt_store	*st;
	struct mt_record *rec;
	char		 err[CLI_ERRLEN], link[32];
	uint64_t	 hash = (*bp)->content_hash;
	int64_t		 message = 0;
	int		 found;

	memset(&opts, 0, sizeof(opts));
	opts.path = path;
	opts.synchronous_full = 1;
	opts.mode = 0640;
	opts.busy_timeout_ms = 5000;
	if ((st = store_sqlite_open(&opts, err, sizeof(err))) == NULL) {
		cli_error(cli, "%s", err);
		return -1;
	}
	if ((rec = record_new(MT_RECORD_BOUNCE)) == NULL) {
		cli_error(cli, "out of memory");
		st->ops->close(st);
		return -1;
	}
	(*bp)->source = MT_SOURCE_COMMAND;
	(*bp)->time_us = mt_now_us();
	rec->bounce = *bp;
	*bp = NULL;
	record_account(rec);
	if (st->ops->begin(st, err, sizeof(err)) < 0 ||
	    (st->ops->write(st, rec, err, sizeof(err)) < 0 &&
	    (st->ops->rollback(st), 1)) ||
	    st->ops->commit(st, err, sizeof(err)) < 0) {
		cli_error(cli, "recording the bounce: %s", err);
		*bp = rec->bounce;	/* give it back for printing */
		rec->bounce = NULL;
		record_free(rec);
		st->ops->close(st);
		return -1;
	}
	*bp = rec->bounce;
	rec->bounce = NULL;
	record_free(rec);
	st->ops->close(st);
	if ((found = read_back(cli, path, hash, &message, link,
	    sizeof(link))) < 0)
		return -1;
	if (found == 0) {
		cli_error(cli, "journal %s: the store did not record the bounce"
		    " (this build's store cannot write bounce records)", path);
		return -1;
	}
	if (cli->json) {
		json_t *r = json_pack("{s:b, s:s}", "linked", message != 0,
		    "link", link);

		if (message != 0)
			json_object_set_new(r, "message",
			    json_integer(message));
		json_object_set_new(doc, "recorded", r);
	} else if (message != 0)
		fprintf(cli->out, "Recorded in the journal, linked to message"
		    " %" PRId64 " by %s.\n", message, link);
	else
		fprintf(cli->out, "Recorded in the journal, not linked to any"
		    " message it holds.\n");
	return 0;
}

int
cmd_bounce(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "record",	no_argument,	NULL, OPT_RECORD },
		{ NULL, 0, NULL, 0 }
	};
	struct dsn_limits lim;
	struct mt_bounce_rec *b = NULL;
	json_t		*doc = NULL;
	char		*msg = NULL, *path = NULL, err[CLI_ERRLEN];
	size_t		 len;
	int		 ch, done = 0, record = 0, rc = CLI_EXIT_ERROR;

	while ((ch = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (cli_common_option(cli, ch, optarg, help, &done)) {
			if (done)
				return CLI_EXIT_FOUND;
			continue;
		}
		if (ch == OPT_RECORD) {
			record = 1;
			continue;
		}
		return cli_bad_option(cli, ch, argv);
	}
	cli_setup_output(cli);
	if (optind >= argc)
		return cli_usage_error(cli, "which message? a file, or - for"
		    " standard input");
	if (argc - optind > 1)
		return cli_usage_error(cli, "one message at a time");

	/* The journal path and the tracking header name come from the
	 * configuration; without --record a broken one is not our business. */
	err[0] = '\0';
	path = cli_journal_path(cli, err, sizeof(err));
	if (record && path == NULL) {
		cli_error(cli, "%s", err);
		return CLI_EXIT_ERROR;
	}
	if ((msg = read_input(argv[optind], &len)) == NULL) {
		char *e = cli_esc(argv[optind], strlen(argv[optind]));

		cli_error(cli, "cannot read %s: %s", e != NULL ? e : "?",
		    strerror(errno));
		free(e);
		goto out;
	}
	dsn_init();
	memset(&lim, 0, sizeof(lim));
	lim.max_bytes = DSN_DEFAULT_MAX_BYTES;
	lim.tracking_header = cli->tracking_header[0] != '\0' ?
	    cli->tracking_header : "X-Mailtrail-ID";
	if ((b = dsn_parse(msg, len, &lim)) == NULL) {
		cli_error(cli, "out of memory");
		goto out;
	}
	if (cli->json && (doc = to_json(b)) == NULL) {
		cli_error(cli, "out of memory");
		goto out;
	}
	if (!cli->json)
		print_text(cli, b);
	rc = b->kind != MT_BOUNCE_NONE ? CLI_EXIT_FOUND : CLI_EXIT_NOTFOUND;
	if (record && b->kind != MT_BOUNCE_NONE &&
	    record_bounce(cli, path, &b, doc) < 0)
		rc = CLI_EXIT_ERROR;
	else if (record && b->kind == MT_BOUNCE_NONE && !cli->json)
		fprintf(cli->out, "Not a report: nothing recorded.\n");
	if (doc != NULL)
		cli_json_print(cli, doc);
out:
	json_decref(doc);
	bounce_rec_free(b);
	free(msg);
	free(path);
	return rc;
}
