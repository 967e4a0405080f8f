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
	sqlite3_stmt	*dv = NULL;
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
		if (top <= last)
			continue;
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
	cli_filter_free(&f);
	return rc;
}
