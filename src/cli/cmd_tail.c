/*
 * cmd_tail.c - "mailtrail tail": follow the journal as the milter writes.
 *
 * Prints the last few matching messages, then polls: PRAGMA data_version
 * tells cheaply whether another connection committed since the last look,
 * and only then are the new rows (by id, which the single writer assigns in
 * commit order) read and filtered.  Between polls no statement is left
 * open, so no read transaction is held: tail never keeps the writer's WAL
 * from being checkpointed.
 *
 * With the delivery tables of schema 5 it also prints, as they are
 * committed, new delivery events and returning bounces (by their own ids,
 * which the writer also assigns in commit order); delivery.c says which
 * match the filters.  They do not count towards --count.
 *
 * Ends on SIGINT, SIGTERM or SIGHUP (exit 0), after --count messages, or
 * on a journal error (exit 2).
 *
 * Thread safety: single-threaded; the signal handler only sets a flag.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailtrail/clock.h"
#include "cli/cli.h"
#include "cli/delivery.h"
#include "cli/filter.h"
#include "cli/message.h"

#define DEFAULT_LINES		10
#define DEFAULT_INTERVAL_MS	250
#define BATCH			1000

static const char help[] =
"usage: mailtrail tail [FILTERS] [-n N] [--count N] [--interval MS]\n"
"\n"
"Follow the journal live: print one line per transaction as the milter\n"
"records it (what \"tail -f mail.log | grep\" does, with mailtrail's\n"
"filters).  The filters of \"mailtrail find\" apply (--from, --to, --ip,\n"
"--helo, --subject, --msgid, --status, --spf, --dkim; --since limits the\n"
"messages shown at the start).  With --json, one JSON object per line\n"
"(JSON Lines).  Stop with Ctrl-C.\n"
"\n"
"Delivery events read from the MTA's log and returning bounces are printed\n"
"too as they are recorded, one line each (\"delivery\" / \"bounce\"; in JSON\n"
"a \"record\" key says which); --to matches their recipient, delivery\n"
"states in --status (delivered, deferred, bounced, expired, discarded)\n"
"their status, and the other filters the message they belong to.\n"
"\n"
"Options:\n"
"  -n, --lines N      first show the last N matching messages (default 10;\n"
"                     0 for none)\n"
"  --count N          exit after N new messages\n"
"  --interval MS      how often to look for new messages (default 250)\n";

enum {
	OPT_COUNT = CLI_OPT_FIRST_LOCAL,
	OPT_INTERVAL
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
parse_count(const char *opt, const char *arg, long lo, long hi, long *out,
    const struct cli *cli)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < lo || v > hi) {
		cli_usage_error(cli, "%s %s: expected a number from %ld to %ld",
		    opt, arg, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static int64_t
max_id(struct cli *cli, int *err)
{
	sqlite3_stmt	*st;
	int64_t		 id = 0;
	int		 rc;

	*err = 0;
	if (cli_prepare(cli, "SELECT IFNULL(MAX(id), 0) FROM messages",
	    &st) < 0) {
		*err = 1;
		return 0;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else {
		cli_db_error(cli, "reading the journal");
		*err = 1;
	}
	sqlite3_finalize(st);
	return id;
}

static int
data_version(struct cli *cli, sqlite3_stmt *st, int64_t *v)
{
	int	 rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		cli_db_error(cli, "watching the journal");
		return -1;
	}
	return 0;
}

/* Run a summary query between ids lo (exclusive) and hi (inclusive). */
static int
run(struct cli *cli, const struct cli_filter *f, struct cli_summary *sum,
    int64_t lo, int64_t hi, long backlog, long *printed, long count)
{
	struct cli_sql	 q;
	struct cli_row	**rows = NULL;
	struct cli_row	*row;
	sqlite3_stmt	*st;
	size_t		 n = 0, i;
	int		 rc, ret = 0;

	cli_sql_init(&q);
	cli_sql_add(&q, cli_summary_select(&cli->j));
	cli_sql_add(&q, " WHERE m.id > ");
	cli_sql_int(&q, lo);
	cli_sql_add(&q, " AND m.id <= ");
	cli_sql_int(&q, hi);
	cli_filter_where(f, &q);
	if (backlog > 0) {
		/* The last N, printed oldest first. */
		cli_sql_add(&q, " ORDER BY m.id DESC LIMIT ");
		cli_sql_int(&q, backlog);
	} else
		cli_sql_add(&q, " ORDER BY m.id");
	if (cli_sql_prepare(&q, cli->j.db, &st) != SQLITE_OK) {
		cli_sql_free(&q);
		cli_db_error(cli, "preparing the query");
		return -1;
	}
	cli_sql_free(&q);
	if (backlog > 0 && (rows = calloc((size_t)backlog,
	    sizeof(*rows))) == NULL) {
		sqlite3_finalize(st);
		cli_error(cli, "out of memory");
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((row = cli_row_copy(st)) == NULL) {
			cli_error(cli, "out of memory");
			ret = -1;
			break;
		}
		if (backlog > 0) {
			rows[n++] = row;
			continue;
		}
		if (count > 0 && *printed >= count) {
			cli_row_free(row);
			break;
		}
		ret = cli_summary_add(sum, row);
		cli_row_free(row);
		(*printed)++;
		if (ret < 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE) {
		cli_db_error(cli, "reading new messages");
		ret = -1;
	}
	sqlite3_finalize(st);
	for (i = n; i > 0; i--) {
		if (ret == 0 && cli_summary_add(sum, rows[i - 1]) < 0)
			ret = -1;
		cli_row_free(rows[i - 1]);
	}
	free(rows);
	return ret;
}

/* Print one delivery event or bounce as it arrives. */
static int
print_record(struct cli *cli, const struct cli_row *row, int bounce,
    sqlite3_stmt *brs)
{
	json_t	*obj, *arr;
	char	 t[CLI_TIME_SIZE], *a[6];
	struct cli_row *br;
	size_t	 i;
	int	 rc = 0;
	static const char *const cols_ev[] = { "queue_id", "track_id",
	    "status", "recipient", "relay", "reply" };
	static const char *const cols_bo[] = { "track_id", "kind", "format",
	    "reporting_mta", "link", "error" };
	static const char *const skip_bo[] = { "id", "message",
	    "content_hash", NULL };
	const char *const *cols = bounce ? cols_bo : cols_ev;

	if (cli->json) {
		obj = bounce ? cli_json_row(row, skip_bo) :
		    cli_dlv_event_json(row);
		if (obj == NULL)
			return -1;
		json_object_set_new(obj, "record", json_string(bounce ?
		    "bounce" : "delivery"));
		if (bounce && (arr = json_array()) != NULL) {
			sqlite3_bind_int64(brs, 1, cli_row_int(row, "id", 0));
			while (sqlite3_step(brs) == SQLITE_ROW)
				if ((br = cli_row_copy(brs)) != NULL) {
					json_array_append_new(arr,
					    cli_json_row(br, NULL));
					cli_row_free(br);
				}
			sqlite3_reset(brs);
			json_object_set_new(obj, "recipients", arr);
		}
		rc = cli_json_line(cli, obj);
		json_decref(obj);
		return rc;
	}
	cli_fmt_time(t, sizeof(t), cli_row_int(row, "time", 0), 0);
	for (i = 0; i < 6; i++)
		a[i] = cli_row_has(row, cols[i]) ? cli_esc_val(cli_row_get(row,
		    cols[i])) : NULL;
	if (bounce)
		fprintf(cli->out, "%s  %sbounce%s    %s  %s report (%s)%s%s,"
		    " linked by %s%s%s\n", t, cli_color_on(cli, CLI_C_RED),
		    cli_color_off(cli), a[0] != NULL ? a[0] : "-",
		    a[1] != NULL ? a[1] : "?", a[2] != NULL ? a[2] : "?",
		    a[3] != NULL ? " from " : "", a[3] != NULL ? a[3] : "",
		    a[4] != NULL ? a[4] : "?", a[5] != NULL ? "; " : "",
		    a[5] != NULL ? a[5] : "");
	else
		fprintf(cli->out, "%s  %sdelivery%s  %s  %s  %s <%s>%s%s%s%s%s\n",
		    t, cli_color_on(cli, CLI_C_CYAN), cli_color_off(cli),
		    a[0] != NULL ? a[0] : "?", a[1] != NULL ? a[1] : "-",
		    a[2] != NULL ? a[2] : "?", a[3] != NULL ? a[3] : "",
		    a[4] != NULL ? " via " : "", a[4] != NULL ? a[4] : "",
		    a[5] != NULL ? " (" : "", a[5] != NULL ? a[5] : "",
		    a[5] != NULL ? ")" : "");
	if (bounce) {
		sqlite3_bind_int64(brs, 1, cli_row_int(row, "id", 0));
		while (sqlite3_step(brs) == SQLITE_ROW)
			if ((br = cli_row_copy(brs)) != NULL) {
				char *r = cli_esc_val(cli_row_get(br,
				    "recipient"));
				char *ac = cli_esc_val(cli_row_get(br,
				    "action"));
				char *st = cli_esc_val(cli_row_get(br,
				    "status"));
				char *dg = cli_esc_val(cli_row_get(br,
				    "diagnostic"));

				fprintf(cli->out, "%22s<%s> %s %s %s\n", "",
				    r != NULL ? r : "", ac != NULL ? ac : "",
				    st != NULL ? st : "", dg != NULL ? dg : "");
				free(r);
				free(ac);
				free(st);
				free(dg);
				cli_row_free(br);
			}
		sqlite3_reset(brs);
	}
	for (i = 0; i < 6; i++)
		free(a[i]);
	return rc;
}

/* Print the new delivery events (bounces: 1) with lo < id <= hi. */
static int
run_records(struct cli *cli, const struct cli_filter *f, int bounce,
    int64_t lo, int64_t hi, sqlite3_stmt *brs)
{
	struct cli_sql	 q;
	struct cli_row	*row;
	sqlite3_stmt	*st;
	int		 rc, ret = 0;

	cli_sql_init(&q);
	if (cli_dlv_tail_sql(&q, f, bounce, lo, hi) != 0) {
		cli_sql_free(&q);
		return 0;
	}
	if (cli_sql_prepare(&q, cli->j.db, &st) != SQLITE_OK) {
		cli_sql_free(&q);
		cli_db_error(cli, "preparing the query");
		return -1;
	}
	cli_sql_free(&q);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((row = cli_row_copy(st)) == NULL) {
			cli_error(cli, "out of memory");
			ret = -1;
			break;
		}
		ret = print_record(cli, row, bounce, brs);
		cli_row_free(row);
		if (ret < 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE) {
		cli_db_error(cli, "reading new delivery events");
		ret = -1;
	}
	sqlite3_finalize(st);
	return ret;
}

/* Catch up on delivery events and bounces up to the newest.  0 or -1. */
static int
follow_records(struct cli *cli, const struct cli_filter *f, int64_t *last_ev,
    int64_t *last_bo, sqlite3_stmt *brs)
{
	int64_t	 top, hi, *last;
	int	 bounce;

	for (bounce = 0; bounce < 2; bounce++) {
		last = bounce ? last_bo : last_ev;
		if ((top = cli_dlv_max_id(cli->j.db, bounce)) < 0) {
			cli_db_error(cli, "watching the journal");
			return -1;
		}
		while (*last < top && !stop) {
			hi = top - *last > BATCH ? *last + BATCH : top;
			if (run_records(cli, f, bounce, *last, hi, brs) < 0)
				return -1;
			*last = hi;
		}
	}
	return 0;
}

static void
sleep_ms(long ms)
{
	struct timespec	 ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !stop)
		;
}

int
cmd_tail(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		CLI_FILTER_LONGOPTS,
		{ "lines",	required_argument, NULL, 'n' },
		{ "count",	required_argument, NULL, OPT_COUNT },
		{ "interval",	required_argument, NULL, OPT_INTERVAL },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_filter f;
	struct cli_summary *sum = NULL;
	struct sigaction sa;
	sqlite3_stmt	*dv = NULL, *brs = NULL;
	int64_t		 last_ev = 0, last_bo = 0;
	char		 err[CLI_ERRLEN];
	long		 lines = DEFAULT_LINES, count = 0;
	long		 interval = DEFAULT_INTERVAL_MS, printed = 0;
	int64_t		 last, top, ver, seen = -1;
	int		 ch, done = 0, r, rc = CLI_EXIT_ERROR, e;

	cli_filter_init(&f, mt_now_us());
	while ((ch = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "n:",
	    longopts, NULL)) != -1) {
		if (cli_common_option(cli, ch, optarg, help, &done)) {
			if (done) {
				rc = CLI_EXIT_FOUND;
				goto out;
			}
			continue;
		}
		switch (ch) {
		case 'n':
			if (parse_count("--lines", optarg, 0, 100000, &lines,
			    cli) < 0)
				goto out;
			continue;
		case OPT_COUNT:
			if (parse_count("--count", optarg, 1, 1000000000L,
			    &count, cli) < 0)
				goto out;
			continue;
		case OPT_INTERVAL:
			if (parse_count("--interval", optarg, 10, 60000,
			    &interval, cli) < 0)
				goto out;
			continue;
		case CLI_OPT_LIMIT:
			rc = cli_usage_error(cli, "--limit does not apply to"
			    " tail (use -n for the first lines, --count to"
			    " stop)");
			goto out;
		default:
			break;
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
	if (f.has_until) {
		rc = cli_usage_error(cli, "--until does not apply to tail");
		goto out;
	}
	cli_setup_output(cli);
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
	if (cli_prepare(cli, "PRAGMA data_version", &dv) < 0)
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if ((sum = cli_summary_begin(cli, 1)) == NULL) {
		cli_error(cli, "out of memory");
		goto out;
	}
	last = max_id(cli, &e);
	if (e)
		goto out;
	if (cli->j.has_delivery) {
		if ((brs = cli_dlv_prepare_bounce_rcpts(cli->j.db)) == NULL) {
			cli_db_error(cli, "preparing a query");
			goto out;
		}
		last_ev = cli_dlv_max_id(cli->j.db, 0);
		last_bo = cli_dlv_max_id(cli->j.db, 1);
		if (last_ev < 0 || last_bo < 0) {
			cli_db_error(cli, "reading the journal");
			goto out;
		}
	}
	if (data_version(cli, dv, &seen) < 0)
		goto out;
	if (lines > 0 && run(cli, &f, sum, 0, last, lines, &printed, 0) < 0)
		goto out;
	printed = 0;
	fflush(cli->out);
	while (!stop && (count == 0 || printed < count)) {
		sleep_ms(interval);
		if (stop)
			break;
		if (data_version(cli, dv, &ver) < 0)
			goto out;
		if (ver == seen)
			continue;
		seen = ver;
		top = max_id(cli, &e);
		if (e)
			goto out;
		if (cli->j.has_delivery && follow_records(cli, &f, &last_ev,
		    &last_bo, brs) < 0)
			goto out;
		if (top <= last) {
			fflush(cli->out);
			continue;
		}
		/* In batches, so a burst does not build one huge result. */
		while (last < top && !stop && (count == 0 || printed < count)) {
			int64_t hi = top - last > BATCH ? last + BATCH : top;

			if (run(cli, &f, sum, last, hi, 0, &printed, count) < 0)
				goto out;
			last = hi;
		}
		fflush(cli->out);
	}
	rc = CLI_EXIT_FOUND;
out:
	if (sum != NULL)
		cli_summary_end(sum, 0);
	sqlite3_finalize(dv);
	sqlite3_finalize(brs);
	cli_filter_free(&f);
	return rc;
}
