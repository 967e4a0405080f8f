/*
 * cmd_stats.c - "mailtrail stats": counts and rates for a time window.
 *
 * Messages by outcome, recipients accepted and rejected, the reject codes
 * (explained from the catalogue), SPF and DKIM result rates (schema 2),
 * and, with the delivery tables of schema 5, what pflogsumm prints joined
 * to the milter's results: delivery, deferral and bounce rates, delay
 * percentiles, the top bounce and deferral reasons by recipient domain,
 * bounce rates by DKIM and SPF result and the log follower's counters
 * (delivery.c computes them); optionally per interval (--every 1h).  One
 * scan of the window's messages, in time order and counted in C (grouping
 * in SQL would sort every row), does most of the rest.
 *
 * Thread safety: single-threaded.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/clock.h"
#include "mailtrail/smtpcodes.h"
#include "cli/cli.h"
#include "cli/delivery.h"
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
"with their meaning, SPF and DKIM result rates, and, once delivery is\n"
"recorded: delivery, deferral and bounce rates, delay percentiles, the top\n"
"bounce and deferral reasons by recipient domain, bounce rates by DKIM and\n"
"SPF result, and the log follower's counters per file.\n"
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
	struct count	 dmarc[MAX_WORDS], dmarc_why[MAX_WORDS];
	int		 n_dmarc, n_dmarc_why;
	int64_t		 dmarc_total;	/* messages DMARC was evaluated for */
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

static const char *word_of(sqlite3_stmt *, int);

/*
 * DMARC per result and per failure class (messages.dmarc_reasons holds
 * the class names, comma separated), from the schema 6 columns.
 */
static int
scan_dmarc(struct cli *cli, const struct cli_filter *f, struct totals *t)
{
	sqlite3_stmt	*st;
	const char	*r, *p, *q;
	char		 word[24];
	int64_t		 n;
	int		 rc;

	if (!cli->j.has_dmarc)
		return 0;
	if (cli_prepare(cli, "SELECT dmarc_result, dmarc_reasons, count(*)"
	    " FROM messages WHERE start_time >= ?1 AND start_time < ?2"
	    " AND dmarc_result IS NOT NULL GROUP BY 1, 2", &st) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, f->since);
	sqlite3_bind_int64(st, 2, f->until);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 2);
		t->dmarc_total += n;
		tally(t->dmarc, &t->n_dmarc, word_of(st, 0), n);
		r = (const char *)sqlite3_column_text(st, 1);
		for (p = r; p != NULL && *p != '\0'; p = q) {
			q = p + strcspn(p, ",");
			snprintf(word, sizeof(word), "%.*s", (int)(q - p), p);
			tally(t->dmarc_why, &t->n_dmarc_why, word, n);
			q += strspn(q, ",");
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		cli_db_error(cli, "counting DMARC results");
		return -1;
	}
	qsort(t->dmarc, (size_t)t->n_dmarc, sizeof(t->dmarc[0]), count_cmp);
	qsort(t->dmarc_why, (size_t)t->n_dmarc_why, sizeof(t->dmarc_why[0]),
	    count_cmp);
	return 0;
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

/* "name count, ..." (the DMARC failure classes). */
static void
print_counts(struct cli *cli, const char *label, const struct count *list,
    int n)
{
	char	 line[1024];
	size_t	 o = 0;
	int	 i;

	line[0] = '\0';
	for (i = 0; i < n && o < sizeof(line); i++)
		o += (size_t)snprintf(line + o, sizeof(line) - o,
		    "%s%s %" PRId64, i > 0 ? ", " : "", list[i].word,
		    list[i].n);
	cli_print_wrapped(cli, "  ", label, 6, n > 0 ? line : "no failures");
}

static json_t *
reasons_json(const struct cli_dstats_reason *r, size_t n, int counts_apart)
{
	json_t		*arr, *o;
	const char	*rt;
	char		 why[256];
	size_t		 i;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		smtp_describe(why, sizeof(why), 0, strchr(r[i].code, '\\') ==
		    NULL ? r[i].code : NULL);
		rt = cli_reason_text(r[i].reason, strlen(r[i].reason));
		if (counts_apart)
			o = json_pack("{s:s, s:s, s:o, s:o, s:s, s:I, s:I}",
			    "domain", r[i].domain, "code", r[i].code,
			    "reason", r[i].reason[0] != '\0' ?
			    json_string(r[i].reason) : json_null(),
			    "reason_text", rt != NULL ? json_string(rt) :
			    json_null(), "explain", why,
			    "log", (json_int_t)r[i].log,
			    "reports", (json_int_t)r[i].reports);
		else
			o = json_pack("{s:s, s:s, s:s, s:I}", "domain",
			    r[i].domain, "code", r[i].code, "explain", why,
			    "count", (json_int_t)r[i].log);
		json_array_append_new(arr, o);
	}
	return arr;
}

static void
reasons_print(struct cli *cli, const char *title,
    const struct cli_dstats_reason *r, size_t n, int counts_apart)
{
	static const char *const h_apart[] = { "DOMAIN", "CODE", "LOG",
	    "REPORTS", "MEANING" };
	static const char *const h_one[] = { "DOMAIN", "CODE", "COUNT",
	    "MEANING" };
	struct cli_table *t;
	const char	*cells[5], *rt;
	char		 a[24], b[24], why[256];
	size_t		 i;

	if (n == 0)
		return;
	fprintf(cli->out, "\n%s%s%s\n", cli_color_on(cli, CLI_C_BOLD), title,
	    cli_color_off(cli));
	if ((t = cli_table_new(cli, counts_apart ? 5 : 4, counts_apart ?
	    h_apart : h_one)) == NULL)
		return;
	cli_table_indent(t, 2);
	cli_table_flex(t, counts_apart ? 4 : 3);
	for (i = 0; i < n; i++) {
		rt = cli_reason_text(r[i].reason, strlen(r[i].reason));
		smtp_describe(why, sizeof(why), 0, strchr(r[i].code, '\\') ==
		    NULL ? r[i].code : NULL);
		snprintf(a, sizeof(a), "%" PRId64, r[i].log);
		snprintf(b, sizeof(b), "%" PRId64, r[i].reports);
		cells[0] = r[i].domain[0] != '\0' ? r[i].domain : "-";
		cells[1] = r[i].code[0] != '\0' ? r[i].code : "-";
		cells[2] = a;
		if (counts_apart) {
			cells[3] = b;
			cells[4] = rt != NULL ? rt : why;
		} else
			cells[3] = why;
		cli_table_add(t, cells, NULL);
	}
	cli_table_flush(t);
	cli_table_free(t);
}

static json_t *
auth_json(const struct cli_dstats_auth *a, size_t n)
{
	json_t	*obj = json_object();
	size_t	 i;

	for (i = 0; obj != NULL && i < n; i++)
		json_object_set_new(obj, a[i].result, json_pack("{s:I, s:I,"
		    " s:f}", "final", (json_int_t)a[i].final, "bounced",
		    (json_int_t)a[i].bounced, "bounce_rate",
		    pct(a[i].bounced, a[i].final) / 100));
	return obj;
}

static void
auth_print(struct cli *cli, const char *label, const struct cli_dstats_auth *a,
    size_t n)
{
	char	 line[1024];
	size_t	 i, o = 0;

	if (n == 0)
		return;
	line[0] = '\0';
	for (i = 0; i < n && o < sizeof(line); i++)
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s"
		    " %.1f%% of %" PRId64, i > 0 ? ", " : "bounced: ",
		    a[i].result,
		    pct(a[i].bounced, a[i].final), a[i].final);
	cli_print_wrapped(cli, "  ", label, 13, line);
}

/* Delivery over the window (schema 5).  NULL: nothing to say or error. */
static json_t *
delivery(struct cli *cli, const struct cli_filter *f, int *err)
{
	struct cli_dstats s;
	json_t		*obj, *logs;
	char		 e[CLI_ERRLEN], line[512], d1[32], d2[32], d3[32];
	char		 t[CLI_TIME_SIZE];
	size_t		 i;

	*err = 0;
	if (!cli->j.has_delivery)
		return NULL;
	if (cli_dstats_load(cli->j.db, cli->j.has_auth, f->since, f->until, &s,
	    e, sizeof(e)) < 0) {
		cli_error(cli, "journal %s: %s", cli->j.path, e);
		cli_dstats_free(&s);
		*err = 1;
		return NULL;
	}
	if ((logs = json_array()) != NULL)
		for (i = 0; i < s.n_logs; i++)
			json_array_append_new(logs, cli_json_row(s.logs[i],
			    NULL));
	obj = json_pack("{s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:I,"
	    " s:{s:f, s:f, s:f, s:f}, s:{s:I, s:I, s:f},"
	    " s:{s:I, s:o, s:o, s:o}, s:{s:I, s:I}, s:o, s:o, s:o}",
	    "events", (json_int_t)s.events,
	    "by_status", "sent", (json_int_t)s.sent, "deferred",
	    (json_int_t)s.deferred, "bounced", (json_int_t)s.bounced,
	    "expired", (json_int_t)s.expired, "undeliverable",
	    (json_int_t)s.undeliverable, "discarded", (json_int_t)s.discarded,
	    "finished", (json_int_t)s.finished,
	    "rates", "delivered", pct(s.sent, s.finished) / 100,
	    "bounced", pct(s.bounced + s.undeliverable, s.finished) / 100,
	    "expired", pct(s.expired, s.finished) / 100,
	    "discarded", pct(s.discarded, s.finished) / 100,
	    "recipients", "with_events", (json_int_t)s.rcpts, "deferred",
	    (json_int_t)s.rcpts_deferred, "deferral_rate",
	    pct(s.rcpts_deferred, s.rcpts) / 100,
	    "delay_seconds", "count", (json_int_t)s.n_delays,
	    "p50", s.p50 >= 0 ? json_real(s.p50) : json_null(),
	    "p90", s.p90 >= 0 ? json_real(s.p90) : json_null(),
	    "p99", s.p99 >= 0 ? json_real(s.p99) : json_null(),
	    "reports", "received", (json_int_t)s.reports,
	    "failed_recipients", (json_int_t)s.report_failed,
	    "top_bounce_reasons", reasons_json(s.bounce, s.n_bounce, 1),
	    "top_deferral_reasons", reasons_json(s.defer, s.n_defer, 0),
	    "log_files", logs != NULL ? logs : json_array());
	if (obj != NULL && cli->j.has_auth) {
		json_object_set_new(obj, "by_dkim", auth_json(s.dkim, s.n_dkim));
		json_object_set_new(obj, "by_spf", auth_json(s.spf, s.n_spf));
	}
	if (cli->json) {
		cli_dstats_free(&s);
		return obj;
	}
	fprintf(cli->out, "\n%sDelivery%s (what the MTA's log and the bounces"
	    " say happened in the window)\n", cli_color_on(cli, CLI_C_BOLD),
	    cli_color_off(cli));
	if (s.events == 0 && s.reports == 0)
		fprintf(cli->out, "  no delivery events recorded\n");
	else {
		snprintf(line, sizeof(line), "%" PRId64 ": sent %" PRId64
		    ", deferred %" PRId64 ", bounced %" PRId64 ", expired %"
		    PRId64, s.events, s.sent, s.deferred, s.bounced +
		    s.undeliverable, s.expired);
		if (s.discarded > 0)
			snprintf(line + strlen(line), sizeof(line) -
			    strlen(line), ", discarded %" PRId64, s.discarded);
		cli_print_wrapped(cli, "  ", "Events", 13, line);
		snprintf(line, sizeof(line), "of %" PRId64 " finished:"
		    " delivered %.1f%%, bounced %.1f%%, expired %.1f%%;"
		    " deferred at least once: %" PRId64 " of %" PRId64
		    " recipients (%.1f%%)", s.finished, pct(s.sent, s.finished),
		    pct(s.bounced + s.undeliverable, s.finished),
		    pct(s.expired, s.finished), s.rcpts_deferred, s.rcpts,
		    pct(s.rcpts_deferred, s.rcpts));
		cli_print_wrapped(cli, "  ", "Rates", 13, line);
		if (s.n_delays > 0) {
			snprintf(line, sizeof(line), "p50 %s, p90 %s, p99 %s"
			    " (of %zu sent)", cli_duration_format(d1,
			    sizeof(d1), (int64_t)(s.p50 * 1e6)),
			    cli_duration_format(d2, sizeof(d2),
			    (int64_t)(s.p90 * 1e6)), cli_duration_format(d3,
			    sizeof(d3), (int64_t)(s.p99 * 1e6)), s.n_delays);
			cli_print_wrapped(cli, "  ", "Delay", 13, line);
		}
		snprintf(line, sizeof(line), "%" PRId64 " bounce%s received,"
		    " %" PRId64 " failed recipient%s in them", s.reports,
		    s.reports == 1 ? "" : "s", s.report_failed,
		    s.report_failed == 1 ? "" : "s");
		cli_print_wrapped(cli, "  ", "Reports", 13, line);
		auth_print(cli, "By DKIM", s.dkim, s.n_dkim);
		auth_print(cli, "By SPF", s.spf, s.n_spf);
	}
	reasons_print(cli, "Top bounce reasons (by recipient domain)",
	    s.bounce, s.n_bounce, 1);
	reasons_print(cli, "Top deferral reasons (by recipient domain)",
	    s.defer, s.n_defer, 0);
	if (s.n_logs > 0) {
		static const char *const h[] = { "LOG FILE", "LINES",
		    "UNPARSED", "TOO LONG", "OFFSET", "UPDATED (UTC)" };
		struct cli_table *tb;
		const char	*cells[6];
		char		 c[4][24], *path;

		fprintf(cli->out, "\n%sLog follower%s (totals per file)\n",
		    cli_color_on(cli, CLI_C_BOLD), cli_color_off(cli));
		if ((tb = cli_table_new(cli, 6, h)) != NULL) {
			cli_table_indent(tb, 2);
			cli_table_flex(tb, 0);
			for (i = 0; i < s.n_logs; i++) {
				path = cli_esc_val(cli_row_get(s.logs[i],
				    "path"));
				snprintf(c[0], sizeof(c[0]), "%" PRId64,
				    cli_row_int(s.logs[i], "lines", 0));
				snprintf(c[1], sizeof(c[1]), "%" PRId64,
				    cli_row_int(s.logs[i], "unparsed", 0));
				snprintf(c[2], sizeof(c[2]), "%" PRId64,
				    cli_row_int(s.logs[i], "too_long", 0));
				snprintf(c[3], sizeof(c[3]), "%" PRId64,
				    cli_row_int(s.logs[i], "offset", 0));
				cli_fmt_time(t, sizeof(t), cli_row_int(
				    s.logs[i], "updated", 0), 0);
				cells[0] = path != NULL ? path : "?";
				cells[1] = c[0];
				cells[2] = c[1];
				cells[3] = c[2];
				cells[4] = c[3];
				cells[5] = t;
				cli_table_add(tb, cells, NULL);
				free(path);
			}
			cli_table_flush(tb);
			cli_table_free(tb);
		}
	}
	cli_dstats_free(&s);
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
	if (scan_messages(cli, &f, &t, every, &buckets, &nbuckets) < 0 ||
	    scan_dmarc(cli, &f, &t) < 0)
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
			if (cli->j.has_dmarc) {
				print_rates(cli, "DMARC", t.dmarc, t.n_dmarc,
				    t.messages);
				print_counts(cli, "why", t.dmarc_why,
				    t.n_dmarc_why);
			}
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
		if (cli->j.has_dmarc) {
			json_object_set_new(doc, "dmarc",
			    counts_json(t.dmarc, t.n_dmarc));
			json_object_set_new(doc, "dmarc_reasons",
			    counts_json(t.dmarc_why, t.n_dmarc_why));
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
