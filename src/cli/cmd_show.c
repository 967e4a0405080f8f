/*
 * cmd_show.c - "mailtrail show ID": the whole story of a message.
 *
 * The ID's kind is told from its shape (match.h), or forced with --as.  A
 * tracking ID matches one message (or, when it is not one of ours, the
 * messages that carried it as their upstream parent ID); a queue ID may
 * match several, because Postfix reuses short queue IDs, and a Message-ID
 * may too (the same message sent twice): all of them are shown, newest
 * first, each under a numbered rule.  A queue ID that no message carries
 * may still be known from the MTA's log (a local submission, a bounce the
 * MTA generated): its queue facts and delivery events are shown instead.
 *
 * Thread safety: single-threaded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/clock.h"
#include "cli/cli.h"
#include "cli/delivery.h"
#include "cli/filter.h"
#include "cli/match.h"
#include "cli/message.h"

static const char help[] =
"usage: mailtrail show [OPTIONS] ID\n"
"\n"
"Print everything the journal knows about a message: the connection\n"
"(client, PTR, HELO, TLS, AUTH), the envelope, each recipient (accepted, or\n"
"rejected with its code, explained), SPF and DKIM results, the headers\n"
"mailtrail added or removed, and what happened after the gateway: each\n"
"recipient's delivery timeline (deferred, retried, delivered, bounced,\n"
"expired), the relays and their replies, the delays, the bounces that came\n"
"back and the hand-off to the next hop.\n"
"\n"
"ID is a tracking ID (26 characters, from the X-Mailtrail-ID header), a\n"
"queue ID (from the MTA's log) or a Message-ID (with or without <>); the\n"
"kind is told from its shape.  Several messages can match a queue ID\n"
"(Postfix reuses short queue IDs) or a Message-ID: all are shown, newest\n"
"first.  A queue ID known only from the MTA's log (a local submission, a\n"
"bounce the MTA generated) shows its queue facts and delivery events.\n"
"\n"
"Options:\n"
"  --as KIND          take ID as a track, queue or msgid\n"
"  --since TIME       only messages from TIME on (e.g. 2026-11-25, 2h)\n"
"  --until TIME       only messages before the end of TIME\n";

enum {
	OPT_AS = CLI_OPT_FIRST_LOCAL
};

struct lookup {
	enum cli_id_kind kind;
	char		*id;		/* normalized */
	char		*with;		/* Message-ID forms */
	char		*without;
	int		 via_parent;	/* found as a parent ID */
};

/* Append the ids of the messages matching to *ids.  0 or -1. */
static int
collect(struct cli *cli, struct cli_sql *q, int64_t **ids, size_t *n)
{
	sqlite3_stmt	*st;
	int64_t		*nids;
	int		 rc;

	if ((rc = cli_sql_prepare(q, cli->j.db, &st)) != SQLITE_OK) {
		cli_db_error(cli, "looking the ID up");
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nids = realloc(*ids, (*n + 1) * sizeof(**ids))) == NULL) {
			sqlite3_finalize(st);
			cli_error(cli, "out of memory");
			return -1;
		}
		*ids = nids;
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		cli_db_error(cli, "looking the ID up");
		return -1;
	}
	return 0;
}

static void
add_window(struct cli_sql *q, const struct cli_filter *f)
{
	if (f->has_since) {
		cli_sql_add(q, " AND start_time >= ");
		cli_sql_int(q, f->since);
	}
	if (f->has_until) {
		cli_sql_add(q, " AND start_time < ");
		cli_sql_int(q, f->until);
	}
	cli_sql_add(q, " ORDER BY start_time DESC, id DESC");
}

static int
lookup(struct cli *cli, struct lookup *lk, const struct cli_filter *f,
    int64_t **ids, size_t *n)
{
	struct cli_sql	 q;
	int		 rc;

	cli_sql_init(&q);
	switch (lk->kind) {
	case CLI_ID_TRACK:
		cli_sql_add(&q, "SELECT id FROM messages WHERE track_id = ");
		cli_sql_text(&q, lk->id);
		add_window(&q, f);
		rc = collect(cli, &q, ids, n);
		cli_sql_free(&q);
		if (rc < 0 || *n > 0)
			return rc;
		/* Not ours: maybe an upstream gateway's ID. */
		cli_sql_init(&q);
		cli_sql_add(&q, "SELECT id FROM messages WHERE parent_id = ");
		cli_sql_text(&q, lk->id);
		cli_sql_add(&q, " AND parent_id IS NOT NULL");
		add_window(&q, f);
		rc = collect(cli, &q, ids, n);
		lk->via_parent = *n > 0;
		break;
	case CLI_ID_QUEUE:
		cli_sql_add(&q, "SELECT id FROM messages WHERE queue_id = ");
		cli_sql_text(&q, lk->id);
		add_window(&q, f);
		rc = collect(cli, &q, ids, n);
		break;
	default:
		cli_sql_add(&q, "SELECT id FROM messages WHERE message_id IN (");
		cli_sql_text(&q, lk->with);
		cli_sql_add(&q, ", ");
		cli_sql_text(&q, lk->without);
		cli_sql_add(&q, ")");
		add_window(&q, f);
		rc = collect(cli, &q, ids, n);
		break;
	}
	cli_sql_free(&q);
	return rc;
}

static void
rule(const struct cli *cli, size_t i, size_t n)
{
	char	 label[64];
	int	 len, width = cli->width > 0 && cli->width < 100 ? cli->width :
	    72;

	len = snprintf(label, sizeof(label), "=== %zu of %zu ", i + 1, n);
	fprintf(cli->out, "%s%s", cli_color_on(cli, CLI_C_CYAN), label);
	for (; len < width; len++)
		fputc('=', cli->out);
	fprintf(cli->out, "%s\n", cli_color_off(cli));
}

static int
show(struct cli *cli, struct lookup *lk, const char *raw_id,
    const char *shown_id, int64_t *ids, size_t n)
{
	struct cli_loader ld;
	struct cli_msg	*msg;
	json_t		*doc = NULL, *list = NULL;
	size_t		 i;
	int		 rc = 0, r;

	if (cli_loader_init(&ld, cli) < 0)
		return -1;
	if (cli->json) {
		list = json_array();
		doc = json_pack("{s:o, s:s, s:b, s:I}", "id",
		    cli_json_bytes(raw_id, strlen(raw_id)), "kind",
		    cli_id_kind_name(lk->kind), "via_parent", lk->via_parent,
		    "count", (json_int_t)n);
		if (list == NULL || doc == NULL) {
			cli_error(cli, "out of memory");
			rc = -1;
			goto out;
		}
	} else if (lk->via_parent)
		fprintf(cli->out, "%s%s is not a tracking ID of this gateway;"
		    " %zu message%s arrived carrying it from upstream%s%s\n\n",
		    cli_color_on(cli, CLI_C_BOLD), shown_id, n,
		    n == 1 ? "" : "s", n > 1 ? " (newest first)" : "",
		    cli_color_off(cli));
	else if (n > 1)
		fprintf(cli->out, "%s%zu messages match %s %s (%snewest"
		    " first)%s\n\n", cli_color_on(cli, CLI_C_BOLD), n,
		    cli_id_kind_name(lk->kind), shown_id,
		    lk->kind == CLI_ID_QUEUE ? "queue IDs are reused; " : "",
		    cli_color_off(cli));
	for (i = 0; i < n; i++) {
		if ((r = cli_msg_load(&ld, ids[i], &msg)) < 0) {
			rc = -1;
			goto out;
		}
		if (r > 0)
			continue;	/* gone meanwhile: cannot happen read-only */
		if (cli->json)
			json_array_append_new(list, cli_msg_json(cli, msg));
		else {
			if (n > 1)
				rule(cli, i, n);
			cli_msg_print(cli, msg);
			if (i + 1 < n)
				fputc('\n', cli->out);
		}
		cli_msg_free(msg);
	}
	if (cli->json) {
		json_object_set_new(doc, "messages", list);
		list = NULL;
		rc = cli_json_print(cli, doc);
	}
out:
	json_decref(list);
	json_decref(doc);
	cli_loader_free(&ld);
	return rc;
}

/* A queue ID no message carries: what the log says.  0, 1 none, -1. */
static int
show_log_only(struct cli *cli, const char *raw_id, const char *shown,
    const struct cli_filter *f)
{
	struct cli_dlv_ctx ctx;
	struct cli_dlv	*d;
	json_t		*doc;
	int		 r;

	if (!cli->j.has_delivery)
		return 1;
	if (cli_dlv_ctx_init(&ctx, cli->j.db) < 0) {
		cli_error(cli, "journal %s: %s", cli->j.path, ctx.err);
		return -1;
	}
	r = cli_dlv_load_queue(&ctx, raw_id, f->has_since ? f->since : 0,
	    f->has_until ? f->until : INT64_MAX, &d);
	if (r < 0)
		cli_error(cli, "journal %s: %s", cli->j.path, ctx.err);
	cli_dlv_ctx_free(&ctx);
	if (r != 0)
		return r;
	if (cli->json) {
		doc = json_pack("{s:o, s:s, s:b, s:i, s:[], s:o}", "id",
		    cli_json_bytes(raw_id, strlen(raw_id)), "kind", "queue",
		    "via_parent", 0, "count", 0, "messages", "log_only",
		    cli_dlv_json(d));
		r = cli_json_print(cli, doc);
		json_decref(doc);
	} else {
		fprintf(cli->out, "%sQueue ID %s%s  known from the MTA's log"
		    " only: no message of this journal carries it (a local"
		    " submission, a bounce the MTA generated, mail that did"
		    " not pass the milter)\n", cli_color_on(cli, CLI_C_BOLD),
		    shown, cli_color_off(cli));
		cli_dlv_print(cli, d);
		r = 0;
	}
	cli_dlv_free(d);
	return r < 0 ? -1 : 0;
}

int
cmd_show(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		CLI_WINDOW_LONGOPTS,
		{ "as",		required_argument, NULL, OPT_AS },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_filter f;
	struct lookup	 lk;
	char		 err[CLI_ERRLEN], *shown = NULL;
	int64_t		*ids = NULL;
	size_t		 n = 0;
	int		 ch, done = 0, r, rc = CLI_EXIT_ERROR;
	enum cli_id_kind forced = CLI_ID_INVALID;

	memset(&lk, 0, sizeof(lk));
	cli_filter_init(&f, mt_now_us());
	while ((ch = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (cli_common_option(cli, ch, optarg, help, &done)) {
			if (done) {
				rc = CLI_EXIT_FOUND;
				goto out;
			}
			continue;
		}
		if (ch == OPT_AS) {
			if (strcmp(optarg, "track") == 0)
				forced = CLI_ID_TRACK;
			else if (strcmp(optarg, "queue") == 0)
				forced = CLI_ID_QUEUE;
			else if (strcmp(optarg, "msgid") == 0)
				forced = CLI_ID_MSGID;
			else {
				rc = cli_usage_error(cli, "--as %s: expected"
				    " track, queue or msgid", optarg);
				goto out;
			}
			continue;
		}
		if ((r = cli_filter_option(&f, ch, optarg, err,
		    sizeof(err))) < 0) {
			rc = cli_usage_error(cli, "%s", err);
			goto out;
		}
		if (r == 0) {
			rc = cli_bad_option(cli, ch, argv);
			goto out;
		}
	}
	if (optind >= argc) {
		rc = cli_usage_error(cli, "which message? Give a tracking ID,"
		    " a queue ID or a Message-ID");
		goto out;
	}
	if (optind + 1 < argc) {
		rc = cli_usage_error(cli, "one ID at a time (got %d)",
		    argc - optind);
		goto out;
	}
	if (cli_filter_check(&f, 1, err, sizeof(err)) < 0) {
		rc = cli_usage_error(cli, "%s", err);
		goto out;
	}
	cli_setup_output(cli);
	if ((shown = cli_esc(argv[optind], strlen(argv[optind]))) == NULL) {
		cli_error(cli, "out of memory");
		goto out;
	}
	lk.kind = forced != CLI_ID_INVALID ? forced :
	    cli_id_classify(argv[optind]);
	if (lk.kind == CLI_ID_INVALID) {
		rc = cli_usage_error(cli, "\"%s\" is not a tracking ID (26"
		    " letters and digits), a queue ID (letters and digits) or a"
		    " Message-ID (with @ or <>)", shown);
		goto out;
	}
	if (lk.kind == CLI_ID_MSGID) {
		if (cli_msgid_forms(argv[optind], &lk.with, &lk.without) < 0) {
			cli_error(cli, "out of memory");
			goto out;
		}
	} else {
		if ((lk.id = strdup(argv[optind])) == NULL) {
			cli_error(cli, "out of memory");
			goto out;
		}
		if (lk.kind == CLI_ID_TRACK)
			cli_trackid_normalize(lk.id);
	}
	if (cli_open_journal(cli) < 0)
		goto out;
	if (lookup(cli, &lk, &f, &ids, &n) < 0)
		goto out;
	if (n == 0 && lk.kind == CLI_ID_QUEUE) {
		if ((r = show_log_only(cli, argv[optind], shown, &f)) < 0)
			goto out;
		if (r == 0) {
			rc = CLI_EXIT_FOUND;
			goto out;
		}
	}
	if (n == 0) {
		if (cli->json) {
			json_t *doc = json_pack("{s:o, s:s, s:b, s:i, s:[]}",
			    "id", cli_json_bytes(argv[optind],
			    strlen(argv[optind])), "kind",
			    cli_id_kind_name(lk.kind), "via_parent", 0,
			    "count", 0, "messages");

			cli_json_print(cli, doc);
			json_decref(doc);
		}
		cli_error(cli, "no message with %s %s in journal %s%s",
		    cli_id_kind_name(lk.kind), shown, cli->j.path,
		    f.has_since || f.has_until ? " in that time range" : "");
		rc = CLI_EXIT_NOTFOUND;
		goto out;
	}
	rc = show(cli, &lk, argv[optind], shown, ids, n) < 0 ? CLI_EXIT_ERROR :
	    CLI_EXIT_FOUND;
out:
	free(ids);
	free(shown);
	free(lk.id);
	free(lk.with);
	free(lk.without);
	cli_filter_free(&f);
	return rc;
}
