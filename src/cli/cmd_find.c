/*
 * cmd_find.c - "mailtrail find": messages matching filters, newest first.
 *
 * One line per message.  The filters become one SQL query (filter.c) that
 * the journal's indexes serve for exact senders, recipients, Message-IDs,
 * client addresses and time windows; patterns scan, newest first, and stop
 * at the limit.  One more row than the limit is asked for, to tell whether
 * the list was cut.
 *
 * Thread safety: single-threaded.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/clock.h"
#include "cli/cli.h"
#include "cli/filter.h"
#include "cli/match.h"
#include "cli/message.h"

#define DEFAULT_LIMIT	50

static const char help[] =
"usage: mailtrail find [FILTERS]\n"
"\n"
"List the messages that match every filter given, newest first, one line\n"
"each: time, tracking ID, queue ID, outcome (with the number of rejected\n"
"recipients), delivery (the recipients per state: \"2 delivered, 1\n"
"deferred\"; with --to ADDR, that recipient's state first: \"bounced (all:\n"
"1 delivered, 1 bounced)\"), client, sender, first recipient, SPF, DKIM,\n"
"subject.\n"
"\n"
"Filters:\n"
"  --from ADDR        sender: an address (any case), @domain, a glob with\n"
"                     * and ?, or <> for the null sender\n"
"  --to ADDR          a recipient, same forms\n"
"  --ip ADDR|NET      client address, or a network: 192.0.2.0/24,\n"
"                     2001:db8::/32\n"
"  --helo NAME        HELO/EHLO name (exact, any case, or a glob)\n"
"  --subject TEXT     text anywhere in the Subject (any case)\n"
"  --msgid ID         Message-ID, with or without <>\n"
"  --since TIME       from TIME on: 2026-11-25, 2026-11-25T14:00:00Z,\n"
"                     or a duration before now: 30m, 2h, 3d, 1w\n"
"  --until TIME       before the end of TIME (--until 2026-11-25 includes\n"
"                     that day)\n"
"  --status LIST      accepted, rejected (a recipient was refused),\n"
"                     tempfailed, aborted, disconnected, or a delivery\n"
"                     state that any recipient is in: delivered,\n"
"                     deferred, bounced, expired, pending, discarded,\n"
"                     not-queued; comma-separated, any of them matches\n"
"  --spf LIST         SPF result: pass, fail, softfail, neutral, none,\n"
"                     temperror, permerror, skipped\n"
"  --dkim LIST        DKIM result: pass, fail, neutral, policy, none,\n"
"                     temperror, permerror\n"
"  --dmarc LIST       DMARC result: pass, fail, none, temperror, permerror\n"
"  --limit N          at most N messages (default 50; 0 for all)\n"
"\n"
"Times are UTC unless they carry a zone.  Exact --from, --to, --msgid and\n"
"--ip values use the journal's indexes; patterns read more of it, so add\n"
"--since to make them fast.\n";

int
cmd_find(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		CLI_FILTER_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct cli_filter f;
	struct cli_summary *sum = NULL;
	struct cli_sql	 q;
	struct cli_row	*row;
	sqlite3_stmt	*st = NULL;
	char		 err[CLI_ERRLEN];
	long		 limit, n = 0;
	int		 ch, done = 0, r, rc = CLI_EXIT_ERROR, more = 0;

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
		rc = cli_usage_error(cli, "unexpected argument \"%s\" (filters"
		    " are options: --from, --to, ...)", argv[optind]);
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
	limit = f.has_limit ? f.limit : DEFAULT_LIMIT;
	cli_summary_sql(&q, &cli->j, f.to != NULL && f.to_kind ==
	    CLI_PAT_EXACT ? f.to : NULL);
	if (limit > 0) {
		/*
		 * Choose the messages first, on the messages alone, and
		 * build the summary lines (connection, first recipient) for
		 * those only: SQLite computes every result column before it
		 * sorts, so a sender with thousands of messages would cost
		 * thousands of subqueries for a page of fifty.
		 */
		cli_sql_add(&q, " WHERE m.id IN (SELECT m.id FROM messages m");
		if (cli_filter_needs_conn(&f))
			cli_sql_add(&q, " JOIN connections c ON c.id ="
			    " m.conn_id");
		cli_sql_add(&q, " WHERE 1");
		cli_filter_where(&f, &q);
		cli_sql_add(&q, " ORDER BY m.start_time DESC, m.id DESC"
		    " LIMIT ");
		cli_sql_int(&q, (int64_t)limit + 1);
		cli_sql_add(&q, ")");
	} else {
		cli_sql_add(&q, " WHERE 1");
		cli_filter_where(&f, &q);
	}
	cli_sql_add(&q, " ORDER BY m.start_time DESC, m.id DESC");
	if (cli_sql_prepare(&q, cli->j.db, &st) != SQLITE_OK) {
		cli_db_error(cli, "preparing the search");
		goto out;
	}
	if ((sum = cli_summary_begin(cli, 0)) == NULL) {
		cli_error(cli, "out of memory");
		goto out;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (limit > 0 && n == limit) {
			more = 1;
			break;
		}
		if ((row = cli_row_copy(st)) == NULL) {
			cli_error(cli, "out of memory");
			goto out;
		}
		r = cli_summary_add(sum, row);
		cli_row_free(row);
		if (r < 0)
			goto out;
		n++;
	}
	if (r != SQLITE_ROW && r != SQLITE_DONE) {
		cli_db_error(cli, "searching");
		goto out;
	}
	r = cli_summary_end(sum, more);
	sum = NULL;
	if (r < 0)
		goto out;
	if (more && !cli->json)
		fprintf(stderr, "(the newest %ld shown; --limit N for more,"
		    " --limit 0 for all)\n", limit);
	if (n == 0 && !cli->json)
		fprintf(stderr, "mailtrail find: no message matches\n");
	rc = n > 0 ? CLI_EXIT_FOUND : CLI_EXIT_NOTFOUND;
out:
	if (sum != NULL)
		cli_summary_end(sum, 0);
	sqlite3_finalize(st);
	cli_sql_free(&q);
	cli_filter_free(&f);
	return rc;
}
