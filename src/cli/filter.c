/*
 * filter.c - find's filters: option parsing, checks and SQL conditions.
 *
 * Invariant: user input reaches SQLite only as bound parameters; the SQL
 * text is built from constants (including the status words, which come
 * from our own table after validation).
 *
 * Thread safety: single-threaded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/delivery.h"
#include "cli/filter.h"
#include "cli/match.h"
#include "cli/timeparse.h"

/* ---------------------------------------------------------------- SQL text */

void
cli_sql_init(struct cli_sql *q)
{
	memset(q, 0, sizeof(*q));
}

void
cli_sql_free(struct cli_sql *q)
{
	free(q->buf);
	memset(q, 0, sizeof(*q));
}

void
cli_sql_add(struct cli_sql *q, const char *text)
{
	size_t	 n = strlen(text), ncap;
	char	*nb;

	if (q->failed)
		return;
	if (q->len + n + 1 > q->cap) {
		ncap = q->cap == 0 ? 512 : q->cap;
		while (ncap < q->len + n + 1)
			ncap *= 2;
		if ((nb = realloc(q->buf, ncap)) == NULL) {
			q->failed = 1;
			return;
		}
		q->buf = nb;
		q->cap = ncap;
	}
	memcpy(q->buf + q->len, text, n + 1);
	q->len += n;
}

static void
add_param(struct cli_sql *q, int type, int64_t i, const char *s)
{
	char	 ref[16];

	if (q->np == CLI_SQL_MAXPARAMS) {
		q->failed = 1;
		return;
	}
	q->p[q->np].type = type;
	q->p[q->np].i = i;
	q->p[q->np].s = s;
	q->np++;
	snprintf(ref, sizeof(ref), "?%d", q->np);
	cli_sql_add(q, ref);
}

void
cli_sql_text(struct cli_sql *q, const char *s)
{
	add_param(q, SQLITE_TEXT, 0, s);
}

void
cli_sql_int(struct cli_sql *q, int64_t v)
{
	add_param(q, SQLITE_INTEGER, v, NULL);
}

int
cli_sql_prepare(struct cli_sql *q, sqlite3 *db, sqlite3_stmt **stmt)
{
	int	 i, rc;

	*stmt = NULL;
	if (q->failed || q->buf == NULL)
		return SQLITE_NOMEM;
	if ((rc = sqlite3_prepare_v2(db, q->buf, -1, stmt, NULL)) !=
	    SQLITE_OK)
		return rc;
	for (i = 0; i < q->np; i++) {
		if (q->p[i].type == SQLITE_INTEGER)
			rc = sqlite3_bind_int64(*stmt, i + 1, q->p[i].i);
		else
			rc = sqlite3_bind_text(*stmt, i + 1, q->p[i].s, -1,
			    SQLITE_STATIC);
		if (rc != SQLITE_OK) {
			sqlite3_finalize(*stmt);
			*stmt = NULL;
			return rc;
		}
	}
	return SQLITE_OK;
}

/* ---------------------------------------------------------------- options */

static const struct {
	const char	*name;
	unsigned	 bit;
	const char	*sql;
} statuses[] = {
	{ "accepted", CLI_ST_ACCEPTED, "m.outcome = 'accepted'" },
	{ "tempfailed", CLI_ST_TEMPFAILED, "m.outcome = 'tempfailed'" },
	{ "aborted", CLI_ST_ABORTED, "m.outcome = 'aborted'" },
	{ "disconnected", CLI_ST_DISCONNECTED, "m.outcome = 'disconnected'" },
	{ "rejected", CLI_ST_REJECTED, "m.rcpt_rejected > 0" },
};

static const char *const spf_words[] = { "none", "neutral", "pass", "fail",
    "softfail", "temperror", "permerror", "skipped", NULL };
static const char *const dkim_words[] = { "none", "pass", "fail", "neutral",
    "policy", "temperror", "permerror", NULL };
static const char *const dmarc_words[] = { "none", "pass", "fail",
    "temperror", "permerror", NULL };

void
cli_filter_init(struct cli_filter *f, int64_t now_us)
{
	memset(f, 0, sizeof(*f));
	f->now = now_us;
}

void
cli_filter_window(struct cli_filter *f, int all, int64_t back)
{
	if (!f->has_since) {
		f->since = all ? 0 : f->now - back;
		f->has_since = 1;
	}
	if (!f->has_until) {
		/* Up to now, and one second on for the clocks' disagreement. */
		f->until = f->now + 1000000;
		f->has_until = 1;
	}
}

void
cli_filter_free(struct cli_filter *f)
{
	int	 i;

	free(f->from);
	free(f->to);
	free(f->helo);
	free(f->subject);
	free(f->msgid_with);
	free(f->msgid_without);
	free(f->ip);
	for (i = 0; i < f->n_spf; i++)
		free(f->spf[i]);
	for (i = 0; i < f->n_dmarc; i++)
		free(f->dmarc[i]);
	for (i = 0; i < f->n_dkim; i++)
		free(f->dkim[i]);
	memset(f, 0, sizeof(*f));
}

static int
set_pattern(char **dst, int *kind, const char *opt, const char *arg,
    char *err, size_t errlen)
{
	int	 k;

	free(*dst);
	*dst = NULL;
	if ((k = cli_pattern(arg, dst)) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (k == CLI_PAT_EXACT && **dst == '\0' && strcmp(opt, "--from") != 0) {
		snprintf(err, errlen, "%s: empty value", opt);
		return -1;
	}
	*kind = k;
	return 1;
}

/* A comma-separated list of words from a vocabulary. */
static int
set_words(char **list, int *n, const char *opt, const char *arg,
    const char *const *vocab, char *err, size_t errlen)
{
	const char	*p = arg, *comma;
	size_t		 len, k;
	char		 word[32];

	while (*n > 0)
		free(list[--*n]);
	do {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len == 0 || len >= sizeof(word))
			goto bad;
		memcpy(word, p, len);
		word[len] = '\0';
		for (k = 0; vocab[k] != NULL; k++)
			if (strcasecmp(vocab[k], word) == 0)
				break;
		if (vocab[k] == NULL)
			goto bad;
		if (*n == CLI_FILTER_MAXLIST) {
			snprintf(err, errlen, "%s: too many values", opt);
			return -1;
		}
		if ((list[*n] = strdup(vocab[k])) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		(*n)++;
		p = comma != NULL ? comma + 1 : p + len;
	} while (comma != NULL);
	return 1;

bad:
	{
		char	 all[200];
		size_t	 o = 0;

		all[0] = '\0';
		for (k = 0; vocab[k] != NULL && o < sizeof(all); k++)
			o += (size_t)snprintf(all + o, sizeof(all) - o, "%s%s",
			    k > 0 ? ", " : "", vocab[k]);
		snprintf(err, errlen, "%s %s: expected one or more of %s,"
		    " separated by commas", opt, arg, all);
	}
	return -1;
}

static int
set_status(struct cli_filter *f, const char *arg, char *err, size_t errlen)
{
	const char	*p = arg, *comma;
	size_t		 len, k;

	int		 ds;

	f->status = 0;
	f->dstatus = 0;
	do {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		for (k = 0; k < sizeof(statuses) / sizeof(statuses[0]); k++)
			if (strlen(statuses[k].name) == len &&
			    strncasecmp(statuses[k].name, p, len) == 0)
				break;
		if (k < sizeof(statuses) / sizeof(statuses[0]))
			f->status |= statuses[k].bit;
		else if ((ds = cli_dstate_parse(p, len)) >= 0 &&
		    ds != CLI_DS_REJECTED)
			f->dstatus |= CLI_DS_BIT(ds);
		else {
			snprintf(err, errlen, "--status %s: expected accepted,"
			    " rejected (a recipient was refused), tempfailed,"
			    " aborted, disconnected, or a recipient's delivery"
			    " state: delivered, deferred, bounced, expired,"
			    " pending, discarded, not-queued; separated by"
			    " commas", arg);
			return -1;
		}
		p = comma != NULL ? comma + 1 : p + len;
	} while (comma != NULL);
	return 1;
}

static int
set_ip(struct cli_filter *f, const char *arg, char *err, size_t errlen)
{
	unsigned char	 bin[16];
	char		 canon[INET6_ADDRSTRLEN], why[128];

	free(f->ip);
	f->ip = NULL;
	f->has_net = 0;
	if (strchr(arg, '/') != NULL) {
		if (mt_cidr_parse(arg, &f->net, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "--ip %s: %s", arg, why);
			return -1;
		}
		f->has_net = 1;
		return 1;
	}
	if (inet_pton(AF_INET, arg, bin) == 1)
		inet_ntop(AF_INET, bin, canon, sizeof(canon));
	else if (inet_pton(AF_INET6, arg, bin) == 1)
		inet_ntop(AF_INET6, bin, canon, sizeof(canon));
	else {
		snprintf(err, errlen, "--ip %s: not an IPv4 or IPv6 address or"
		    " network (e.g. 192.0.2.1, 192.0.2.0/24, 2001:db8::/32)",
		    arg);
		return -1;
	}
	if ((f->ip = strdup(canon)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 1;
}

static int
set_time(struct cli_filter *f, int until, const char *arg, char *err,
    size_t errlen)
{
	int64_t	 start, span;
	char	 why[400];

	if (cli_time_parse(arg, f->now, &start, &span, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s %s", until ? "--until" : "--since",
		    why);
		return -1;
	}
	if (until) {
		f->until = start + span;
		f->has_until = 1;
	} else {
		f->since = start;
		f->has_since = 1;
	}
	return 1;
}

int
cli_filter_option(struct cli_filter *f, int ch, const char *arg, char *err,
    size_t errlen)
{
	char	*end;
	long	 n;

	switch (ch) {
	case CLI_OPT_FROM:
		return set_pattern(&f->from, &f->from_kind, "--from", arg, err,
		    errlen);
	case CLI_OPT_TO:
		return set_pattern(&f->to, &f->to_kind, "--to", arg, err,
		    errlen);
	case CLI_OPT_HELO:
		return set_pattern(&f->helo, &f->helo_kind, "--helo", arg, err,
		    errlen);
	case CLI_OPT_SUBJECT:
		free(f->subject);
		if ((f->subject = strdup(arg)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 1;
	case CLI_OPT_MSGID:
		free(f->msgid_with);
		free(f->msgid_without);
		if (cli_msgid_forms(arg, &f->msgid_with,
		    &f->msgid_without) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (f->msgid_without[0] == '\0') {
			snprintf(err, errlen, "--msgid: empty Message-ID");
			return -1;
		}
		return 1;
	case CLI_OPT_IP:
		return set_ip(f, arg, err, errlen);
	case CLI_OPT_SINCE:
		return set_time(f, 0, arg, err, errlen);
	case CLI_OPT_UNTIL:
		return set_time(f, 1, arg, err, errlen);
	case CLI_OPT_STATUS:
		return set_status(f, arg, err, errlen);
	case CLI_OPT_SPF:
		return set_words(f->spf, &f->n_spf, "--spf", arg, spf_words,
		    err, errlen);
	case CLI_OPT_DKIM:
		return set_words(f->dkim, &f->n_dkim, "--dkim", arg,
		    dkim_words, err, errlen);
	case CLI_OPT_DMARC:
		return set_words(f->dmarc, &f->n_dmarc, "--dmarc", arg,
		    dmarc_words, err, errlen);
	case CLI_OPT_LIMIT:
		errno = 0;
		n = strtol(arg, &end, 10);
		if (errno != 0 || end == arg || *end != '\0' || n < 0 ||
		    n > 1000000000L) {
			snprintf(err, errlen, "--limit %s: expected a number of"
			    " messages (0 for no limit)", arg);
			return -1;
		}
		f->limit = n;
		f->has_limit = 1;
		return 1;
	default:
		return 0;
	}
}

int
cli_filter_check(const struct cli_filter *f, int has_auth, char *err,
    size_t errlen)
{
	if (f->has_since && f->has_until && f->since >= f->until) {
		snprintf(err, errlen, "the time range is empty: --since is not"
		    " before --until");
		return -1;
	}
	if (!has_auth && (f->n_spf > 0 || f->n_dkim > 0)) {
		snprintf(err, errlen, "--%s: this journal records no SPF or"
		    " DKIM results (schema version 1; they are recorded from"
		    " version 2 on)", f->n_spf > 0 ? "spf" : "dkim");
		return -1;
	}
	return 0;
}

int
cli_filter_needs_conn(const struct cli_filter *f)
{
	return f->helo != NULL || f->has_net;
}

int
cli_filter_narrows(const struct cli_filter *f)
{
	return f->from != NULL || f->to != NULL || f->helo != NULL ||
	    f->subject != NULL || f->msgid_with != NULL || f->ip != NULL ||
	    f->has_net || f->status != 0 || f->dstatus != 0 || f->n_spf > 0 ||
	    f->n_dkim > 0 || f->n_dmarc > 0;
}

int
cli_filter_check_dmarc(const struct cli_filter *f, int has_dmarc, char *err,
    size_t errlen)
{
	if (f->n_dmarc > 0 && !has_dmarc) {
		snprintf(err, errlen, "--dmarc: this journal records no DMARC"
		    " results (they are recorded from schema version 6 on)");
		return -1;
	}
	return 0;
}

int
cli_filter_check_delivery(const struct cli_filter *f, int has_delivery,
    char *err, size_t errlen)
{
	if (f->dstatus != 0 && !has_delivery) {
		snprintf(err, errlen, "--status: this journal records no"
		    " delivery (delivery states need schema version 5)");
		return -1;
	}
	return 0;
}

static void
where_words(struct cli_sql *q, const char *column, char *const *list, int n)
{
	int	 i;

	cli_sql_add(q, " AND ");
	cli_sql_add(q, column);
	cli_sql_add(q, " COLLATE NOCASE IN (");
	for (i = 0; i < n; i++) {
		if (i > 0)
			cli_sql_add(q, ", ");
		cli_sql_text(q, list[i]);
	}
	cli_sql_add(q, ")");
}

void
cli_filter_where(const struct cli_filter *f, struct cli_sql *q)
{
	size_t	 k;
	int	 first;

	if (f->from != NULL) {
		if (f->from_kind == CLI_PAT_EXACT) {
			cli_sql_add(q, " AND m.mail_from = ");
			cli_sql_text(q, f->from);
			cli_sql_add(q, " COLLATE NOCASE");
		} else {
			cli_sql_add(q, " AND mt_match(m.mail_from, ");
			cli_sql_text(q, f->from);
			cli_sql_add(q, ")");
		}
	}
	if (f->to != NULL) {
		if (f->to_kind == CLI_PAT_EXACT) {
			cli_sql_add(q, " AND m.id IN (SELECT r.message FROM"
			    " recipients r WHERE r.address = ");
			cli_sql_text(q, f->to);
			cli_sql_add(q, " COLLATE NOCASE)");
		} else {
			cli_sql_add(q, " AND EXISTS (SELECT 1 FROM recipients r"
			    " WHERE r.message = m.id AND mt_match(r.address, ");
			cli_sql_text(q, f->to);
			cli_sql_add(q, "))");
		}
	}
	if (f->helo != NULL) {
		if (f->helo_kind == CLI_PAT_EXACT) {
			cli_sql_add(q, " AND c.helo = ");
			cli_sql_text(q, f->helo);
			cli_sql_add(q, " COLLATE NOCASE");
		} else {
			cli_sql_add(q, " AND mt_match(c.helo, ");
			cli_sql_text(q, f->helo);
			cli_sql_add(q, ")");
		}
	}
	if (f->subject != NULL) {
		cli_sql_add(q, " AND mt_contains(m.subject, ");
		cli_sql_text(q, f->subject);
		cli_sql_add(q, ")");
	}
	if (f->msgid_with != NULL) {
		cli_sql_add(q, " AND m.message_id IN (");
		cli_sql_text(q, f->msgid_with);
		cli_sql_add(q, ", ");
		cli_sql_text(q, f->msgid_without);
		cli_sql_add(q, ")");
	}
	if (f->ip != NULL) {
		cli_sql_add(q, " AND m.conn_id IN (SELECT id FROM connections"
		    " WHERE client_addr = ");
		cli_sql_text(q, f->ip);
		cli_sql_add(q, ")");
	}
	if (f->has_net)
		cli_sql_add(q, " AND mt_in_net(c.client_addr)");
	if (f->has_since) {
		cli_sql_add(q, " AND m.start_time >= ");
		cli_sql_int(q, f->since);
	}
	if (f->has_until) {
		cli_sql_add(q, " AND m.start_time < ");
		cli_sql_int(q, f->until);
	}
	if (f->status != 0 || f->dstatus != 0) {
		cli_sql_add(q, " AND (");
		for (k = 0, first = 1; k < sizeof(statuses) /
		    sizeof(statuses[0]); k++) {
			if (!(f->status & statuses[k].bit))
				continue;
			if (!first)
				cli_sql_add(q, " OR ");
			cli_sql_add(q, statuses[k].sql);
			first = 0;
		}
		if (f->dstatus != 0) {
			/* Last: SQLite evaluates the cheap terms first. */
			if (!first)
				cli_sql_add(q, " OR ");
			cli_sql_add(q, "mt_delivery_match(m.id, m.outcome,"
			    " m.rcpt_accepted, m.rcpt_rejected, ");
			cli_sql_int(q, (int64_t)f->dstatus);
			cli_sql_add(q, ")");
		}
		cli_sql_add(q, ")");
	}
	if (f->n_spf > 0)
		where_words(q, "m.spf_result", f->spf, f->n_spf);
	if (f->n_dkim > 0)
		where_words(q, "m.dkim_result", f->dkim, f->n_dkim);
	if (f->n_dmarc > 0)
		where_words(q, "m.dmarc_result", f->dmarc, f->n_dmarc);
}

/* ---------------------------------------------------------------- SQL functions */

static void
fn_match(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char	*s, *p;
	int		 slen, plen;

	if (sqlite3_value_type(argv[0]) == SQLITE_NULL ||
	    sqlite3_value_type(argv[1]) == SQLITE_NULL) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	s = (const char *)sqlite3_value_text(argv[0]);
	slen = sqlite3_value_bytes(argv[0]);
	p = (const char *)sqlite3_value_text(argv[1]);
	plen = sqlite3_value_bytes(argv[1]);
	sqlite3_result_int(ctx, s != NULL && p != NULL &&
	    cli_glob(p, (size_t)plen, s, (size_t)slen));
}

static void
fn_contains(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char	*s, *n;
	int		 slen, nlen;

	if (sqlite3_value_type(argv[0]) == SQLITE_NULL ||
	    sqlite3_value_type(argv[1]) == SQLITE_NULL) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	s = (const char *)sqlite3_value_text(argv[0]);
	slen = sqlite3_value_bytes(argv[0]);
	n = (const char *)sqlite3_value_text(argv[1]);
	nlen = sqlite3_value_bytes(argv[1]);
	sqlite3_result_int(ctx, s != NULL && n != NULL &&
	    cli_contains(s, (size_t)slen, n, (size_t)nlen));
}

static void
fn_in_net(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const struct mt_cidr *net = sqlite3_user_data(ctx);
	const char	*addr;

	if (sqlite3_value_type(argv[0]) == SQLITE_NULL || net == NULL) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	addr = (const char *)sqlite3_value_text(argv[0]);
	sqlite3_result_int(ctx, addr != NULL &&
	    mt_cidr_match_text(net, 1, addr));
}

int
cli_filter_register(sqlite3 *db, const struct cli_filter *f)
{
	int	 flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;

	if (sqlite3_create_function(db, "mt_match", 2, flags, NULL, fn_match,
	    NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(db, "mt_contains", 2, flags, NULL,
	    fn_contains, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(db, "mt_in_net", 1, flags,
	    f != NULL && f->has_net ? (void *)&f->net : NULL, fn_in_net,
	    NULL, NULL) != SQLITE_OK)
		return -1;
	return 0;
}
