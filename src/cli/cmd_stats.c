/*
 * cmd_stats.c - "mailtrail stats": counts and rates for a time window.
 *
 * Messages by outcome, recipients accepted and rejected, the reject codes
 * (explained from the catalogue), SPF and DKIM result rates (schema 2),
 * and, when the journal has a delivery_events table, delivery, deferral
 * and bounce rates and the average delay; optionally per interval
 * (--every 1h).  One scan of the window's messages, in time order and
 * counted in C (grouping in SQL would sort every row), does most of it.
 *
 * delivery_events is read by column name (status, time, and message for
 * the delay), as the journal's logical model describes delivery events;
 * a table without those columns is reported as not understood.
 *
 * Thread safety: single-threaded.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/clock.h"
#include "mailtrail/smtpcodes.h"
#include "cli/cli.h"
#include "cli/filter.h"
#include "cli/timeparse.h"

#define DEFAULT_WINDOW	(INT64_C(86400) * 1000000)
#define TOP_CODES	20
#define MAX_WORDS	16

static const char help[] =
"usage: mailtrail stats [--since TIME] [--until TIME] [--all] [--every DUR]\n"
"\n"
"Counts and rates for a time window (default: the last 24 hours):\n"
"messages by outcome, recipients accepted and rejected, the reject codes\n"
"with their meaning, SPF and DKIM result rates, and delivery, deferral and\n"
"bounce rates with the average delay once delivery events are recorded.\n"
"\n"
"Options:\n"
"  --since TIME       start of the window (2026-11-25, 2h, 3d, ...)\n"
"  --until TIME       end of the window (default now)\n"
"  --all              the whole journal\n"
"  --every DUR        also one line per interval (1h, 1d, 15m, ...), the\n"
"                     intervals aligned on multiples of DUR since the epoch\n"
"                     (1d: UTC days); intervals without messages are left out\n";

enum {
	OPT_ALL = CLI_OPT_FIRST_LOCAL,
	OPT_EVERY
};

struct count {
	char		 word[24];
	int64_t		 n;
};

struct totals {
	int64_t		 messages, connections;
	int64_t		 accepted, tempfailed, aborted, disconnected, other;
	int64_t		 rcpt_ok, rcpt_rej, rcpt_dropped, bytes;
	struct count	 spf[MAX_WORDS], dkim[MAX_WORDS];
	int		 n_spf, n_dkim;
};

static void
tally(struct count *list, int *n, const char *word, int64_t k)
{
	int	 i;

	if (word == NULL)
		word = "not_checked";
	for (i = 0; i < *n; i++)
		if (strcmp(list[i].word, word) == 0) {
			list[i].n += k;
			return;
		}
	if (*n == MAX_WORDS)
		return;
	snprintf(list[*n].word, sizeof(list[*n].word), "%s", word);
	list[*n].n = k;
	(*n)++;
}

static int
count_cmp(const void *a, const void *b)
{
	const struct count *x = a, *y = b;

	return x->n < y->n ? 1 : x->n > y->n ? -1 : strcmp(x->word, y->word);
}

/* A word from a result column, if it is a plain word (else "?"). */
static const char *
word_of(sqlite3_stmt *st, int col)
{
	const unsigned char *s;
	int	 i, len;

	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return NULL;
	s = sqlite3_column_text(st, col);
	len = sqlite3_column_bytes(st, col);
	if (s == NULL || len == 0 || len > 20)
		return "?";
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || s[i] == '_' || s[i] == '-'))
			return "?";
	return (const char *)s;
}

/* Counts of one interval (--every). */
struct bucket {
	int64_t		 start;
	int64_t		 messages, accepted, rcpt_ok, rcpt_rej;
	int64_t		 spf_fail, dkim_fail;
};

static int
is_word(const unsigned char *s, const char *w)
{
	return s != NULL && strcmp((const char *)s, w) == 0;
}

/*
 * One pass over the window's messages, in time order (the start_time
 * index), counting in C: grouping a million rows in SQL would sort them.
 * With step > 0 also fills *buckets (one per interval with messages).
 */
static int
scan_messages(struct cli *cli, const struct cli_filter *f, struct totals *t,
    int64_t step, struct bucket **buckets, size_t *nb)
{
	sqlite3_stmt	*st;
	const unsigned char *outcome, *spf, *dkim;
	struct bucket	*b = NULL, *nbk;
	size_t		 cap = 0;
	int64_t		 start, key;
	int		 rc;

	*buckets = NULL;
	*nb = 0;
	if (cli_prepare(cli, cli->j.has_auth ?
	    "SELECT start_time, outcome, rcpt_accepted, rcpt_rejected,"
	    " rcpt_dropped, size, spf_result, dkim_result FROM messages"
	    " WHERE start_time >= ?1 AND start_time < ?2 ORDER BY start_time" :
	    "SELECT start_time, outcome, rcpt_accepted, rcpt_rejected,"
	    " rcpt_dropped, size FROM messages"
	    " WHERE start_time >= ?1 AND start_time < ?2 ORDER BY start_time",
	    &st) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, f->since);
	sqlite3_bind_int64(st, 2, f->until);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		start = sqlite3_column_int64(st, 0);
		outcome = sqlite3_column_text(st, 1);
		t->messages++;
		if (is_word(outcome, "accepted"))
			t->accepted++;
		else if (is_word(outcome, "tempfailed"))
			t->tempfailed++;
		else if (is_word(outcome, "aborted"))
			t->aborted++;
		else if (is_word(outcome, "disconnected"))
			t->disconnected++;
		else
			t->other++;
		t->rcpt_ok += sqlite3_column_int64(st, 2);
		t->rcpt_rej += sqlite3_column_int64(st, 3);
		t->rcpt_dropped += sqlite3_column_int64(st, 4);
		t->bytes += sqlite3_column_int64(st, 5);
		spf = dkim = NULL;
		if (cli->j.has_auth) {
			tally(t->spf, &t->n_spf, word_of(st, 6), 1);
			tally(t->dkim, &t->n_dkim, word_of(st, 7), 1);
			spf = sqlite3_column_text(st, 6);
			dkim = sqlite3_column_text(st, 7);
		}
		if (step <= 0)
			continue;
		key = start - start % step;
		if (*nb == 0 || (*buckets)[*nb - 1].start != key) {
			if (*nb == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				nbk = realloc(*buckets, cap * sizeof(**buckets));
				if (nbk == NULL) {
					sqlite3_finalize(st);
					cli_error(cli, "out of memory");
					return -1;
				}
				*buckets = nbk;
			}
			b = &(*buckets)[(*nb)++];
			memset(b, 0, sizeof(*b));
			b->start = key;
		}
		b = &(*buckets)[*nb - 1];
		b->messages++;
		b->accepted += is_word(outcome, "accepted");
		b->rcpt_ok += sqlite3_column_int64(st, 2);
		b->rcpt_rej += sqlite3_column_int64(st, 3);
		b->spf_fail += is_word(spf, "fail") || is_word(spf, "softfail") ||
		    is_word(spf, "permerror") || is_word(spf, "temperror");
		b->dkim_fail += dkim != NULL && !is_word(dkim, "pass") &&
		    !is_word(dkim, "none");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		cli_db_error(cli, "counting messages");
		return -1;
	}
	qsort(t->spf, (size_t)t->n_spf, sizeof(t->spf[0]), count_cmp);
	qsort(t->dkim, (size_t)t->n_dkim, sizeof(t->dkim[0]), count_cmp);
	if (cli_prepare(cli, "SELECT count(*) FROM connections"
	    " WHERE connect_time >= ?1 AND connect_time < ?2", &st) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, f->since);
	sqlite3_bind_int64(st, 2, f->until);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		t->connections = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		cli_db_error(cli, "counting connections");
		return -1;
	}
	return 0;
}

static double
pct(int64_t part, int64_t whole)
{
	return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

/* The reject codes: a JSON array, and printed unless JSON. */
static json_t *
reject_codes(struct cli *cli, const struct cli_filter *f, int64_t rejected)
{
	struct cli_table *t = NULL;
	sqlite3_stmt	*st;
	json_t		*arr;
	char		 count[32], share[16], code[16], why[256], *enh;
	const char	*cells[5];
	const char	*enh_c;
	int		 rc, reply;
	int64_t		 n;
	static const char *const headers[] = { "COUNT", "SHARE", "CODE",
	    "ENHANCED", "MEANING" };

	if ((arr = json_array()) == NULL)
		return NULL;
	if (cli_prepare(cli, "SELECT r.reply_code, r.enhanced_code, count(*)"
	    " FROM messages m JOIN recipients r ON r.message = m.id"
	    " WHERE m.start_time >= ?1 AND m.start_time < ?2"
	    " AND m.rcpt_rejected > 0 AND r.status = 'rejected'"
	    " GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT ?3", &st) < 0) {
		json_decref(arr);
		return NULL;
	}
	sqlite3_bind_int64(st, 1, f->since);
	sqlite3_bind_int64(st, 2, f->until);
	sqlite3_bind_int(st, 3, TOP_CODES);
	if (!cli->json && rejected > 0) {
		fprintf(cli->out, "\n%sReject codes%s\n",
		    cli_color_on(cli, CLI_C_BOLD), cli_color_off(cli));
		t = cli_table_new(cli, 5, headers);
		if (t != NULL) {
			cli_table_flex(t, 4);
			cli_table_indent(t, 2);
		}
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		reply = sqlite3_column_int(st, 0);
		n = sqlite3_column_int64(st, 2);
		enh = sqlite3_column_type(st, 1) == SQLITE_NULL ? NULL :
		    cli_esc(sqlite3_column_text(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1));
		enh_c = enh != NULL && strchr(enh, '\\') == NULL ? enh : NULL;
		smtp_describe(why, sizeof(why), reply, enh_c);
		json_array_append_new(arr, json_pack("{s:o, s:o, s:I, s:f,"
		    " s:s}", "reply_code", reply != 0 ? json_integer(reply) :
		    json_null(), "enhanced_code", enh != NULL ?
		    json_string(enh) : json_null(), "count", (json_int_t)n,
		    "share", pct(n, rejected), "explain", why));
		if (t != NULL) {
			snprintf(count, sizeof(count), "%" PRId64, n);
			snprintf(share, sizeof(share), "%.1f%%",
			    pct(n, rejected));
			if (reply != 0)
				snprintf(code, sizeof(code), "%d", reply);
			else
				snprintf(code, sizeof(code), "-");
			cells[0] = count;
			cells[1] = share;
			cells[2] = code;
			cells[3] = enh != NULL ? enh : "-";
			cells[4] = why;
			cli_table_add(t, cells, NULL);
		}
		free(enh);
	}
	sqlite3_finalize(st);
	cli_table_flush(t);
	cli_table_free(t);
	if (rc != SQLITE_DONE) {
		cli_db_error(cli, "counting reject codes");
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *
counts_json(const struct count *list, int n)
{
	json_t	*obj = json_object();
	int	 i;

	for (i = 0; obj != NULL && i < n; i++)
		json_object_set_new(obj, list[i].word,
		    json_integer(list[i].n));
	return obj;
}

static void
print_rates(struct cli *cli, const char *label, const struct count *list,
    int n, int64_t total)
{
	char	 line[1024];
	size_t	 o = 0;
	int	 i;

	line[0] = '\0';
	for (i = 0; i < n && o < sizeof(line); i++)
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s %.1f%%",
		    i > 0 ? ", " : "", list[i].word, pct(list[i].n, total));
	cli_print_wrapped(cli, "  ", label, 6, n > 0 ? line : "no messages");
}

/* Delivery events, when the journal has them.  NULL: nothing to say. */
static json_t *
delivery(struct cli *cli, const struct cli_filter *f, int *err)
{
	sqlite3		*db = cli->j.db;
	sqlite3_stmt	*st;
	struct count	 list[MAX_WORDS];
	json_t		*obj;
	int64_t		 total = 0, sent = 0, deferred = 0, bounced = 0;
	double		 delay = -1;
	int		 n = 0, i, rc;
	char		 dur[32], line[256];

	*err = 0;
	if (!cli->j.has_delivery)
		return NULL;
	if (!cli_column_exists(db, "delivery_events", "status") ||
	    !cli_column_exists(db, "delivery_events", "time")) {
		if (!cli->json)
			fprintf(cli->out, "\n%sDelivery%s\n  the journal's"
			    " delivery_events table is not one this mailtrail"
			    " understands\n", cli_color_on(cli, CLI_C_BOLD),
			    cli_color_off(cli));
		return json_pack("{s:s}", "error", "delivery_events not"
		    " understood");
	}
	if (cli_prepare(cli, "SELECT status, count(*) FROM delivery_events"
	    " WHERE time >= ?1 AND time < ?2 GROUP BY status", &st) < 0) {
		*err = 1;
		return NULL;
	}
	sqlite3_bind_int64(st, 1, f->since);
	sqlite3_bind_int64(st, 2, f->until);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		tally(list, &n, word_of(st, 0), sqlite3_column_int64(st, 1));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		cli_db_error(cli, "counting delivery events");
		*err = 1;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		total += list[i].n;
		if (strcmp(list[i].word, "sent") == 0 ||
		    strcmp(list[i].word, "delivered") == 0)
			sent += list[i].n;
		else if (strcmp(list[i].word, "deferred") == 0)
			deferred += list[i].n;
		else if (strcmp(list[i].word, "bounced") == 0 ||
		    strcmp(list[i].word, "expired") == 0)
			bounced += list[i].n;
	}
	if (cli_column_exists(db, "delivery_events", "message")) {
		if (cli_prepare(cli, "SELECT avg(d.time - m.start_time) FROM"
		    " delivery_events d JOIN messages m ON m.id = d.message"
		    " WHERE d.time >= ?1 AND d.time < ?2 AND d.status"
		    " IN ('sent', 'delivered')", &st) < 0) {
			*err = 1;
			return NULL;
		}
		sqlite3_bind_int64(st, 1, f->since);
		sqlite3_bind_int64(st, 2, f->until);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_type(st, 0) != SQLITE_NULL)
			delay = sqlite3_column_double(st, 0);
		sqlite3_finalize(st);
	}
	qsort(list, (size_t)n, sizeof(list[0]), count_cmp);
	obj = json_pack("{s:I, s:f, s:f, s:f, s:o, s:o}", "events",
	    (json_int_t)total, "delivered_rate", pct(sent, total) / 100,
	    "deferred_rate", pct(deferred, total) / 100, "bounced_rate",
	    pct(bounced, total) / 100, "by_status", counts_json(list, n),
	    "average_delay_seconds", delay >= 0 ? json_real(delay / 1e6) :
	    json_null());
	if (!cli->json) {
		fprintf(cli->out, "\n%sDelivery%s\n", cli_color_on(cli,
		    CLI_C_BOLD), cli_color_off(cli));
		if (total == 0)
			fprintf(cli->out, "  no delivery events recorded\n");
		else {
			snprintf(line, sizeof(line), "%" PRId64 " events:"
			    " delivered %.1f%%, deferred %.1f%%, bounced"
			    " %.1f%%", total, pct(sent, total),
			    pct(deferred, total), pct(bounced, total));
			cli_print_wrapped(cli, "  ", "", 0, line);
			if (delay >= 0)
				fprintf(cli->out, "  average delay %s\n",
				    cli_duration_format(dur, sizeof(dur),
				    (int64_t)delay));
		}
	}
	return obj;
}

static json_t *
intervals(struct cli *cli, const struct bucket *b, size_t nb)
{
	struct cli_table *t = NULL;
	json_t		*arr, *obj;
	char		 tm[CLI_TIME_SIZE], c[6][24];
	const char	*cells[7];
	size_t		 i;
	int		 k, ncols = cli->j.has_auth ? 7 : 5;
	int64_t		 v[6];
	static const char *const headers[] = { "FROM (UTC)", "MESSAGES",
	    "ACCEPTED", "RCPT OK", "RCPT REJ", "SPF FAIL", "DKIM FAIL" };

	if ((arr = json_array()) == NULL)
		return NULL;
	if (!cli->json) {
		fprintf(cli->out, "\n%sPer interval%s\n",
		    cli_color_on(cli, CLI_C_BOLD), cli_color_off(cli));
		if ((t = cli_table_new(cli, (size_t)ncols, headers)) != NULL)
			cli_table_indent(t, 2);
	}
	for (i = 0; i < nb; i++) {
		v[0] = b[i].messages;
		v[1] = b[i].accepted;
		v[2] = b[i].rcpt_ok;
		v[3] = b[i].rcpt_rej;
		v[4] = b[i].spf_fail;
		v[5] = b[i].dkim_fail;
		obj = json_pack("{s:o, s:I, s:I, s:I, s:I}", "start",
		    cli_json_time(b[i].start), "messages", (json_int_t)v[0],
		    "accepted", (json_int_t)v[1], "rcpt_accepted",
		    (json_int_t)v[2], "rcpt_rejected", (json_int_t)v[3]);
		if (obj != NULL && cli->j.has_auth) {
			json_object_set_new(obj, "spf_failures",
			    json_integer(v[4]));
			json_object_set_new(obj, "dkim_failures",
			    json_integer(v[5]));
		}
		json_array_append_new(arr, obj);
		if (t != NULL) {
			cli_fmt_time(tm, sizeof(tm), b[i].start, 0);
			cells[0] = tm;
			for (k = 0; k < 6; k++) {
				snprintf(c[k], sizeof(c[k]), "%" PRId64, v[k]);
				cells[k + 1] = c[k];
			}
			cli_table_add(t, cells, NULL);
		}
	}
	cli_table_flush(t);
	cli_table_free(t);
	return arr;
}

int
cmd_stats(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		CLI_WINDOW_LONGOPTS,
		{ "all",	no_argument,	   NULL, OPT_ALL },
		{ "every",	required_argument, NULL, OPT_EVERY },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_filter f;
	struct totals	 t;
	json_t		*doc = NULL, *codes = NULL, *deliv = NULL, *per = NULL;
	char		 err[CLI_ERRLEN], t1[CLI_TIME_SIZE], t2[CLI_TIME_SIZE];
	char		 dur[32], line[512];
	int64_t		 every = 0;
	struct bucket	*buckets = NULL;
	size_t		 nbuckets = 0;
	int		 ch, done = 0, r, rc = CLI_EXIT_ERROR, all = 0, e;

	memset(&t, 0, sizeof(t));
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
		if (ch == OPT_ALL) {
			all = 1;
			continue;
		}
		if (ch == OPT_EVERY) {
			if (cli_duration_parse(optarg, &every, err,
			    sizeof(err)) < 0) {
				rc = cli_usage_error(cli, "--every %s", err);
				goto out;
			}
			if (every < 1000000) {
				rc = cli_usage_error(cli, "--every %s: at least"
				    " one second", optarg);
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
		rc = cli_usage_error(cli, "unexpected argument \"%s\"",
		    argv[optind]);
		goto out;
	}
	if (all && f.has_since) {
		rc = cli_usage_error(cli, "--all and --since contradict each"
		    " other");
		goto out;
	}
	cli_filter_window(&f, all, DEFAULT_WINDOW);
	if (cli_filter_check(&f, 1, err, sizeof(err)) < 0) {
		rc = cli_usage_error(cli, "%s", err);
		goto out;
	}
	cli_setup_output(cli);
	if (cli_open_journal(cli) < 0)
		goto out;
	if (scan_messages(cli, &f, &t, every, &buckets, &nbuckets) < 0)
		goto out;
	cli_fmt_time(t1, sizeof(t1), all ? 0 : f.since, 0);
	cli_fmt_time(t2, sizeof(t2), f.until, 0);
	if (!cli->json) {
		if (all)
			fprintf(cli->out, "  %-13s the whole journal (to %s)\n",
			    "Window", t2);
		else
			fprintf(cli->out, "  %-13s %s .. %s (%s)\n", "Window",
			    t1, t2, cli_duration_format(dur, sizeof(dur),
			    f.until - f.since));
		fprintf(cli->out, "  %-13s %" PRId64 "\n", "Connections",
		    t.connections);
		snprintf(line, sizeof(line), "%" PRId64 ": accepted %" PRId64
		    " (%.1f%%), aborted %" PRId64 ", disconnected %" PRId64
		    ", tempfailed %" PRId64, t.messages, t.accepted,
		    pct(t.accepted, t.messages), t.aborted, t.disconnected,
		    t.tempfailed);
		cli_print_wrapped(cli, "  ", "Messages", 14, line);
		snprintf(line, sizeof(line), "%" PRId64 " accepted, %" PRId64
		    " rejected (%.1f%%)%s", t.rcpt_ok, t.rcpt_rej,
		    pct(t.rcpt_rej, t.rcpt_ok + t.rcpt_rej),
		    t.rcpt_dropped > 0 ? ", more not recorded" : "");
		cli_print_wrapped(cli, "  ", "Recipients", 14, line);
		snprintf(line, sizeof(line), "%.1f KB average, %.1f MB in all",
		    t.messages > 0 ? (double)t.bytes / (double)t.messages /
		    1024 : 0, (double)t.bytes / 1048576);
		cli_print_wrapped(cli, "  ", "Size", 14, line);
	}
	if ((codes = reject_codes(cli, &f, t.rcpt_rej)) == NULL)
		goto out;
	if (!cli->json) {
		fprintf(cli->out, "\n%sAuthentication%s", cli_color_on(cli,
		    CLI_C_BOLD), cli_color_off(cli));
		if (cli->j.has_auth) {
			fprintf(cli->out, " (share of %" PRId64 " messages)\n",
			    t.messages);
			print_rates(cli, "SPF", t.spf, t.n_spf, t.messages);
			print_rates(cli, "DKIM", t.dkim, t.n_dkim, t.messages);
		} else
			fprintf(cli->out, "\n  not recorded (journal schema"
			    " version %d)\n", cli->j.version);
	}
	deliv = delivery(cli, &f, &e);
	if (e)
		goto out;
	if (every > 0 && (per = intervals(cli, buckets, nbuckets)) == NULL)
		goto out;
	if (cli->json) {
		doc = json_pack("{s:{s:o, s:o}, s:I, s:{s:I, s:I, s:I, s:I,"
		    " s:I}, s:{s:I, s:I, s:I, s:f}, s:I, s:O}",
		    "window", "since", cli_json_time(f.since), "until",
		    cli_json_time(f.until),
		    "connections", (json_int_t)t.connections,
		    "messages", "total", (json_int_t)t.messages, "accepted",
		    (json_int_t)t.accepted, "aborted", (json_int_t)t.aborted,
		    "disconnected", (json_int_t)t.disconnected, "tempfailed",
		    (json_int_t)t.tempfailed,
		    "recipients", "accepted", (json_int_t)t.rcpt_ok,
		    "rejected", (json_int_t)t.rcpt_rej, "not_recorded",
		    (json_int_t)t.rcpt_dropped, "reject_rate",
		    pct(t.rcpt_rej, t.rcpt_ok + t.rcpt_rej) / 100,
		    "bytes", (json_int_t)t.bytes,
		    "reject_codes", codes);
		if (doc == NULL) {
			cli_error(cli, "out of memory");
			goto out;
		}
		if (cli->j.has_auth) {
			json_object_set_new(doc, "spf",
			    counts_json(t.spf, t.n_spf));
			json_object_set_new(doc, "dkim",
			    counts_json(t.dkim, t.n_dkim));
		}
		if (deliv != NULL)
			json_object_set(doc, "delivery", deliv);
		if (per != NULL)
			json_object_set(doc, "intervals", per);
		cli_json_print(cli, doc);
	}
	rc = t.messages > 0 ? CLI_EXIT_FOUND : CLI_EXIT_NOTFOUND;
	if (t.messages == 0 && !cli->json)
		fprintf(stderr, "mailtrail stats: no messages in the window\n");
out:
	json_decref(doc);
	json_decref(codes);
	json_decref(deliv);
	json_decref(per);
	free(buckets);
	cli_filter_free(&f);
	return rc;
}
