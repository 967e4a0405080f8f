/*
 * cmd_export.c - "mailtrail export": messages as JSON Lines or CSV.
 *
 * For SIEMs (JSON Lines: one whole record per line, the same objects as
 * "mailtrail show --json") and spreadsheets (CSV: one row per message, a
 * fixed set of columns, recipients joined in one cell, their delivery
 * states in the last two).  Oldest first, so
 * that a periodic export appends in time order.  The filters of find
 * apply; the window defaults to the last 24 hours.
 *
 * Thread safety: single-threaded.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/clock.h"
#include "cli/cli.h"
#include "cli/filter.h"
#include "cli/message.h"

#define DEFAULT_WINDOW	(INT64_C(86400) * 1000000)

static const char help[] =
"usage: mailtrail export [--format jsonl|csv] [--all] [FILTERS]\n"
"\n"
"Write the messages of a time window (default: the last 24 hours), oldest\n"
"first, for a SIEM or a spreadsheet:\n"
"\n"
"  jsonl  (default; also --json) one JSON object per line, the whole\n"
"         record as \"mailtrail show --json\" gives it, its delivery\n"
"         included\n"
"  csv    one row per message with a header line; recipients joined in\n"
"         one cell, their delivery states in another (\"addr state code;\n"
"         ...\"); control characters and invalid UTF-8 as \\xHH, and a\n"
"         leading apostrophe on cells a spreadsheet would take for a\n"
"         formula\n"
"\n"
"Options:\n"
"  --format FORMAT    jsonl or csv\n"
"  --all              the whole journal instead of the last 24 hours\n"
"  and the filters of \"mailtrail find\" (--since, --until, --from, --to,\n"
"  --ip, --helo, --subject, --msgid, --status, --spf, --dkim, --dmarc,\n"
"  --limit).  CSV rows end with the DMARC columns: result, From: domain,\n"
"  the policy that applied, the failure classes and the reason in words.\n";

enum {
	OPT_FORMAT = CLI_OPT_FIRST_LOCAL,
	OPT_ALL
};

static const char *const csv_columns[] = {
	"time", "track_id", "parent_id", "queue_id", "outcome", "stage",
	"client_addr", "client_name", "helo", "tls", "auth_user",
	"mail_from", "rcpt_accepted", "rcpt_rejected", "recipients",
	"rejected", "message_id", "from", "subject", "size", "spf", "dkim",
	"delivery", "delivery_states", "dmarc", "dmarc_from_domain",
	"dmarc_policy", "dmarc_reasons", "dmarc_reason",
	NULL
};

static void
csv_put(FILE *fp, const char *s, size_t len, int first)
{
	char	*cell = cli_csv_cell(s, len);

	if (!first)
		fputc(',', fp);
	fputs(cell != NULL ? cell : "\"\"", fp);
	free(cell);
}

static void
csv_col(FILE *fp, const struct cli_row *row, const char *name, int first)
{
	const struct cli_val *v = cli_row_get(row, name);
	char	 buf[32];

	if (v == NULL || v->type == SQLITE_NULL) {
		if (!first)
			fputc(',', fp);
		return;
	}
	if (v->type == SQLITE_INTEGER) {
		snprintf(buf, sizeof(buf), "%s%" PRId64, first ? "" : ",", v->i);
		fputs(buf, fp);
		return;
	}
	csv_put(fp, v->s, v->len, first);
}

/* Join "what" of the recipients with status (or all) into a buffer. */
static char *
join_rcpts(const struct cli_msg *msg, int rejected, size_t *outlen)
{
	char	*buf = NULL, *nb;
	size_t	 len = 0, i, need;
	const char *addr, *st, *enh, *text;
	size_t	 alen, elen, tlen;
	char	 code[16];

	for (i = 0; i < msg->n_rcpt; i++) {
		st = cli_row_text(msg->rcpt[i], "status", NULL);
		if (st == NULL || (strcmp(st, "rejected") == 0) != rejected)
			continue;
		addr = cli_row_text(msg->rcpt[i], "address", &alen);
		enh = cli_row_text(msg->rcpt[i], "enhanced_code", &elen);
		text = cli_row_text(msg->rcpt[i], "reply_text", &tlen);
		code[0] = '\0';
		if (cli_row_has(msg->rcpt[i], "reply_code"))
			snprintf(code, sizeof(code), "%" PRId64 " ",
			    cli_row_int(msg->rcpt[i], "reply_code", 0));
		need = 2 + alen + (rejected ? 4 + strlen(code) + elen + tlen :
		    0);
		if ((nb = realloc(buf, len + need + 1)) == NULL) {
			free(buf);
			return NULL;
		}
		buf = nb;
		if (len > 0) {
			memcpy(buf + len, "; ", 2);
			len += 2;
		}
		if (alen > 0)
			memcpy(buf + len, addr, alen);
		len += alen;
		if (rejected) {
			buf[len++] = ' ';
			memcpy(buf + len, code, strlen(code));
			len += strlen(code);
			if (elen > 0)
				memcpy(buf + len, enh, elen);
			len += elen;
			buf[len++] = ' ';
			if (tlen > 0)
				memcpy(buf + len, text, tlen);
			len += tlen;
		}
	}
	*outlen = len;
	if (buf == NULL)
		buf = calloc(1, 1);
	return buf;
}

/*
 * Each recipient's delivery state: "addr state[ code]; ..." (the code of
 * the fact that decided it).  Bytes, for cli_csv_cell; caller frees.
 */
static char *
join_states(const struct cli_dlv *d, size_t *outlen)
{
	const struct cli_dlv_rcpt *r;
	const char	*st, *code;
	char		*buf = NULL, *nb;
	size_t		 len = 0, i, clen, need;

	for (i = 0; d != NULL && i < d->n_rcpt; i++) {
		r = &d->rcpt[i];
		st = cli_dstate_name(r->state);
		code = NULL;
		clen = 0;
		if (r->decided != NULL)
			code = r->decided->ev != NULL ? cli_row_text(
			    r->decided->ev, "dsn", &clen) : cli_row_text(
			    r->decided->br, "status", &clen);
		need = 2 + r->len + 1 + strlen(st) + (code != NULL ? 1 + clen :
		    0);
		if ((nb = realloc(buf, len + need + 1)) == NULL) {
			free(buf);
			return NULL;
		}
		buf = nb;
		if (len > 0) {
			memcpy(buf + len, "; ", 2);
			len += 2;
		}
		memcpy(buf + len, r->address, r->len);
		len += r->len;
		buf[len++] = ' ';
		memcpy(buf + len, st, strlen(st));
		len += strlen(st);
		if (code != NULL) {
			buf[len++] = ' ';
			memcpy(buf + len, code, clen);
			len += clen;
		}
	}
	*outlen = len;
	if (buf == NULL)
		buf = calloc(1, 1);
	return buf;
}

static int
csv_message(const struct cli *cli, const struct cli_msg *msg)
{
	FILE		*fp = cli->out;
	const struct cli_row *m = msg->m, *c = msg->c;
	char		 t[CLI_TIME_SIZE], *s;
	const char	*a, *b;
	size_t		 alen, blen, len;

	cli_fmt_time(t, sizeof(t), cli_row_int(m, "start_time", 0), 1);
	fputs(t, fp);
	csv_col(fp, m, "track_id", 0);
	csv_col(fp, m, "parent_id", 0);
	csv_col(fp, m, "queue_id", 0);
	csv_col(fp, m, "outcome", 0);
	csv_col(fp, m, "stage", 0);
	csv_col(fp, c, "client_addr", 0);
	csv_col(fp, c, "client_name", 0);
	csv_col(fp, c, "helo", 0);
	a = cli_row_text(c, "tls_version", &alen);
	b = cli_row_text(c, "tls_cipher", &blen);
	if (a != NULL) {
		if ((s = malloc(alen + blen + 2)) == NULL)
			return -1;
		memcpy(s, a, alen);
		s[alen] = ' ';
		if (blen > 0)
			memcpy(s + alen + 1, b, blen);
		csv_put(fp, s, alen + 1 + blen, 0);
		free(s);
	} else
		fputc(',', fp);
	csv_col(fp, c, "auth_authen", 0);
	csv_col(fp, m, "mail_from", 0);
	csv_col(fp, m, "rcpt_accepted", 0);
	csv_col(fp, m, "rcpt_rejected", 0);
	if ((s = join_rcpts(msg, 0, &len)) == NULL)
		return -1;
	csv_put(fp, s, len, 0);
	free(s);
	if ((s = join_rcpts(msg, 1, &len)) == NULL)
		return -1;
	csv_put(fp, s, len, 0);
	free(s);
	csv_col(fp, m, "message_id", 0);
	csv_col(fp, m, "hdr_from", 0);
	csv_col(fp, m, "subject", 0);
	csv_col(fp, m, "size", 0);
	csv_col(fp, m, "spf_result", 0);
	csv_col(fp, m, "dkim_result", 0);
	if (msg->dlv != NULL) {
		size_t	 counts[CLI_DS_COUNT];
		char	 text[256];

		cli_dlv_counts(msg->dlv, counts);
		cli_dlv_counts_text(text, sizeof(text), counts);
		csv_put(fp, text, strlen(text), 0);
		if ((s = join_states(msg->dlv, &len)) == NULL)
			return -1;
		csv_put(fp, s, len, 0);
		free(s);
	} else
		fputs(",,", fp);
	csv_col(fp, m, "dmarc_result", 0);
	csv_col(fp, m, "dmarc_from_domain", 0);
	csv_col(fp, m, "dmarc_policy", 0);
	csv_col(fp, m, "dmarc_reasons", 0);
	csv_col(fp, m, "dmarc_reason_text", 0);
	fputs("\r\n", fp);
	return 0;
}

int
cmd_export(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		CLI_FILTER_LONGOPTS,
		{ "format",	required_argument, NULL, OPT_FORMAT },
		{ "all",	no_argument,	   NULL, OPT_ALL },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_filter f;
	struct cli_loader ld;
	struct cli_msg	*msg;
	struct cli_sql	 q;
	sqlite3_stmt	*st = NULL;
	char		 err[CLI_ERRLEN];
	int		 ch, done = 0, r, rc = CLI_EXIT_ERROR, all = 0, csv = 0;
	int		 loader = 0, i;
	long		 n = 0;

	cli_filter_init(&f, mt_now_us());
	cli_sql_init(&q);
	while ((ch = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (cli_common_option(cli, ch, optarg, help, &done)) {
			if (done) {
				rc = CLI_EXIT_FOUND;
				goto out;
			}
			continue;
		}
		if (ch == OPT_FORMAT) {
			if (strcmp(optarg, "csv") == 0)
				csv = 1;
			else if (strcmp(optarg, "jsonl") == 0 ||
			    strcmp(optarg, "json") == 0)
				csv = 0;
			else {
				rc = cli_usage_error(cli, "--format %s: expected"
				    " jsonl or csv", optarg);
				goto out;
			}
			continue;
		}
		if (ch == OPT_ALL) {
			all = 1;
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
	if (optind < argc) {
		rc = cli_usage_error(cli, "unexpected argument \"%s\"",
		    argv[optind]);
		goto out;
	}
	if (csv && cli->json) {
		rc = cli_usage_error(cli, "--json and --format csv contradict"
		    " each other");
		goto out;
	}
	if (all && f.has_since) {
		rc = cli_usage_error(cli, "--all and --since contradict each"
		    " other");
		goto out;
	}
	cli_filter_window(&f, all, DEFAULT_WINDOW);
	cli_setup_output(cli);
	/* An export is data, never a pretty-printed terminal document. */
	cli->color = 0;
	if (cli_open_journal(cli) < 0)
		goto out;
	if (cli_filter_check(&f, cli->j.has_auth, err, sizeof(err)) < 0 ||
	    cli_filter_check_dmarc(&f, cli->j.has_dmarc, err,
	    sizeof(err)) < 0 ||
	    cli_filter_check_delivery(&f, cli->j.has_delivery, err,
	    sizeof(err)) < 0) {
		rc = cli_usage_error(cli, "%s", err);
		goto out;
	}
	if (cli_filter_register(cli->j.db, &f) < 0) {
		cli_db_error(cli, "registering functions");
		goto out;
	}
	if (cli_loader_init(&ld, cli) < 0)
		goto out;
	loader = 1;
	cli_sql_add(&q, "SELECT m.id FROM messages m JOIN connections c"
	    " ON c.id = m.conn_id WHERE 1");
	cli_filter_where(&f, &q);
	cli_sql_add(&q, " ORDER BY m.start_time, m.id");
	if (f.has_limit && f.limit > 0) {
		cli_sql_add(&q, " LIMIT ");
		cli_sql_int(&q, f.limit);
	}
	if (cli_sql_prepare(&q, cli->j.db, &st) != SQLITE_OK) {
		cli_db_error(cli, "preparing the export");
		goto out;
	}
	if (csv) {
		for (i = 0; csv_columns[i] != NULL; i++)
			fprintf(cli->out, "%s%s", i > 0 ? "," : "",
			    csv_columns[i]);
		fputs("\r\n", cli->out);
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (cli_msg_load(&ld, sqlite3_column_int64(st, 0), &msg) != 0)
			goto out;
		if (csv)
			r = csv_message(cli, msg);
		else {
			json_t *obj = cli_msg_json(cli, msg);

			r = cli_json_line(cli, obj);
			json_decref(obj);
		}
		cli_msg_free(msg);
		if (r < 0) {
			cli_error(cli, "out of memory");
			goto out;
		}
		n++;
	}
	if (r != SQLITE_DONE) {
		cli_db_error(cli, "exporting");
		goto out;
	}
	rc = n > 0 ? CLI_EXIT_FOUND : CLI_EXIT_NOTFOUND;
out:
	sqlite3_finalize(st);
	if (loader)
		cli_loader_free(&ld);
	cli_sql_free(&q);
	cli_filter_free(&f);
	return rc;
}
