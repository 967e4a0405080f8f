/*
 * delivery.c - read a message's delivery from the journal and decide each
 * recipient's state (the rules are in delivery.h).
 *
 * Every query here is served by an index of schema 5: events and queue
 * facts by "message" (or by queue_id and time for a queue ID known only
 * from the log, and for the hops of a hand-off), bounces by "message".
 * Only the bounces that name a log-only queue ID are found by a scan of
 * the bounces table (it has no index on orig_queue_id; bounces are few).
 *
 * Thread safety: single-threaded.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/delivery.h"
#include "cli/filter.h"
#include "cli/match.h"

/* A hop's message started at most this long before the hand-off ... */
#define HOP_MSG_BEFORE_US	(INT64_C(3600) * 1000000)
/* ... and at most this long after (clocks of two hosts). */
#define HOP_SKEW_US		(INT64_C(300) * 1000000)
/* A hop's events are looked for this long after the hand-off. */
#define HOP_EVENTS_US		(INT64_C(10) * 86400 * 1000000)

static const char *const state_names[CLI_DS_COUNT] = {
	[CLI_DS_PENDING] = "pending",
	[CLI_DS_DEFERRED] = "deferred",
	[CLI_DS_DELIVERED] = "delivered",
	[CLI_DS_BOUNCED] = "bounced",
	[CLI_DS_EXPIRED] = "expired",
	[CLI_DS_DISCARDED] = "discarded",
	[CLI_DS_REJECTED] = "rejected",
	[CLI_DS_NOT_QUEUED] = "not-queued",
};

const char *
cli_dstate_name(enum cli_dstate s)
{
	return (unsigned)s < CLI_DS_COUNT ? state_names[s] : "?";
}

int
cli_dstate_parse(const char *word, size_t len)
{
	int	 i;

	for (i = 0; i < CLI_DS_COUNT; i++)
		if (strlen(state_names[i]) == len &&
		    strncasecmp(state_names[i], word, len) == 0)
			return i;
	return -1;
}

/* ---------------------------------------------------------------- context */

static int
prep(struct cli_dlv_ctx *ctx, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(ctx->db, sql, -1, st, NULL) != SQLITE_OK) {
		snprintf(ctx->err, sizeof(ctx->err), "reading delivery: %s",
		    sqlite3_errmsg(ctx->db));
		*st = NULL;
		return -1;
	}
	return 0;
}

enum {
	ST_EV, ST_QE, ST_BO, ST_BR, ST_RCPT, ST_OUTCOME, ST_ANY,
	ST_Q_EV, ST_Q_QE, ST_Q_BO, ST_Q_BR, ST_HOP_MSG, ST_HOP_EV
};

static const char *const stmt_sql[CLI_DLV_NSTMT] = {
	[ST_EV] = "SELECT * FROM delivery_events WHERE message = ?1"
	    " ORDER BY time, id",
	[ST_QE] = "SELECT * FROM queue_events WHERE message = ?1"
	    " ORDER BY time, id",
	[ST_BO] = "SELECT * FROM bounces WHERE message = ?1"
	    " ORDER BY time, id",
	[ST_BR] = "SELECT br.* FROM bounces b JOIN bounce_recipients br"
	    " ON br.bounce = b.id WHERE b.message = ?1"
	    " ORDER BY b.time, b.id, br.seq, br.id",
	[ST_RCPT] = "SELECT address, status FROM recipients"
	    " WHERE message = ?1 ORDER BY seq, id",
	[ST_OUTCOME] = "SELECT outcome FROM messages WHERE id = ?1",
	/* Has the message any fact that can change a recipient's state? */
	[ST_ANY] = "SELECT EXISTS (SELECT 1 FROM delivery_events"
	    " WHERE message = ?1) OR EXISTS (SELECT 1 FROM bounces"
	    " WHERE message = ?1) OR EXISTS (SELECT 1 FROM queue_events"
	    " WHERE message = ?1 AND kind = 'expired')",
	[ST_Q_EV] = "SELECT * FROM delivery_events WHERE queue_id = ?1"
	    " AND time >= ?2 AND time < ?3 AND message IS NULL"
	    " ORDER BY time, id",
	[ST_Q_QE] = "SELECT * FROM queue_events WHERE queue_id = ?1"
	    " AND time >= ?2 AND time < ?3 AND message IS NULL"
	    " ORDER BY time, id",
	[ST_Q_BO] = "SELECT * FROM bounces WHERE orig_queue_id = ?1"
	    " AND message IS NULL AND time >= ?2 AND time < ?3"
	    " ORDER BY time, id",
	[ST_Q_BR] = "SELECT br.* FROM bounces b JOIN bounce_recipients br"
	    " ON br.bounce = b.id WHERE b.orig_queue_id = ?1"
	    " AND b.message IS NULL AND b.time >= ?2 AND b.time < ?3"
	    " ORDER BY b.time, b.id, br.seq, br.id",
	[ST_HOP_MSG] = "SELECT id, track_id, start_time FROM messages"
	    " WHERE queue_id = ?1 AND start_time >= ?2 AND start_time <= ?3"
	    " ORDER BY start_time DESC, id DESC LIMIT 1",
	/*
	 * The events of a queue ID: those no message claims (the partial
	 * index delivery_events_queue), and those of the messages of the
	 * queue ID (an event links only to a message of its queue ID).
	 */
	[ST_HOP_EV] = "SELECT * FROM (SELECT * FROM delivery_events"
	    " WHERE queue_id = ?1 AND time >= ?2 AND time <= ?3"
	    " AND message IS NULL UNION ALL SELECT * FROM delivery_events"
	    " WHERE message IN (SELECT id FROM messages WHERE queue_id = ?1)"
	    " AND queue_id = ?1 AND time >= ?2 AND time <= ?3)"
	    " ORDER BY time, id",
};

/* Statement k, prepared on first use; NULL with ctx->err. */
static sqlite3_stmt *
stmt(struct cli_dlv_ctx *ctx, int k)
{
	if (ctx->st[k] == NULL)
		prep(ctx, stmt_sql[k], &ctx->st[k]);
	return ctx->st[k];
}

/* Statement k with ?1 bound to id; NULL with ctx->err. */
static sqlite3_stmt *
stmt_id(struct cli_dlv_ctx *ctx, int k, int64_t id)
{
	sqlite3_stmt	*st = stmt(ctx, k);

	if (st != NULL)
		sqlite3_bind_int64(st, 1, id);
	return st;
}

int
cli_dlv_ctx_init(struct cli_dlv_ctx *ctx, sqlite3 *db)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->db = db;
	if (stmt(ctx, ST_EV) == NULL || stmt(ctx, ST_BR) == NULL) {
		cli_dlv_ctx_free(ctx);
		return -1;
	}
	return 0;
}

void
cli_dlv_ctx_free(struct cli_dlv_ctx *ctx)
{
	size_t		 i;

	for (i = 0; i < CLI_DLV_NSTMT; i++)
		sqlite3_finalize(ctx->st[i]);
	memset(ctx, 0, offsetof(struct cli_dlv_ctx, err));
}

/* ---------------------------------------------------------------- rows */

static void
free_rows(struct cli_row **rows, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		cli_row_free(rows[i]);
	free(rows);
}

/* Step a bound statement to the end, copying its rows; resets it. */
static int
all_rows(struct cli_dlv_ctx *ctx, sqlite3_stmt *st, struct cli_row ***out,
    size_t *n)
{
	int	 rc;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;	/* not prepared: ctx->err says why */
	rc = cli_rows_collect(st, out, n);
	sqlite3_clear_bindings(st);
	if (rc < 0)
		snprintf(ctx->err, sizeof(ctx->err), "out of memory");
	else if (rc > 0)
		snprintf(ctx->err, sizeof(ctx->err), "reading delivery: %s",
		    sqlite3_errmsg(ctx->db));
	return rc == 0 ? 0 : -1;
}

void
cli_dlv_free(struct cli_dlv *d)
{
	size_t	 i, k;

	if (d == NULL)
		return;
	free(d->queue_id);
	free_rows(d->events, d->n_events);
	free(d->ev_matched);
	free_rows(d->queue, d->n_queue);
	free_rows(d->bounces, d->n_bounces);
	free_rows(d->brcpts, d->n_brcpts);
	for (i = 0; i < d->n_rcpt; i++) {
		free(d->rcpt[i].address);
		free(d->rcpt[i].facts);
	}
	free(d->rcpt);
	for (i = 0; i < d->n_handoffs; i++)
		for (k = 0; k < d->handoffs[i].n_hops; k++) {
			free(d->handoffs[i].hops[k].queue_id);
			free(d->handoffs[i].hops[k].relay);
			cli_row_free(d->handoffs[i].hops[k].msg);
			cli_row_free(d->handoffs[i].hops[k].ev);
		}
	free(d->handoffs);
	free(d);
}

/* ---------------------------------------------------------------- rules */

/* An address as written in a log or a report, without its decoration. */
static void
addr_trim(const char **s, size_t *len)
{
	const char	*p = *s;
	size_t		 n = *len;

	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	if (n >= 7 && strncasecmp(p, "rfc822;", 7) == 0) {
		p += 7;
		n -= 7;
	}
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n >= 2 && p[0] == '<' && p[n - 1] == '>') {
		p++;
		n -= 2;
	}
	*s = p;
	*len = n;
}

/* Equal addresses, ASCII case ignored; bytes compared exactly otherwise. */
static int
addr_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t	 i;
	unsigned char x, y;

	if (a == NULL || b == NULL)
		return 0;
	addr_trim(&a, &alen);
	addr_trim(&b, &blen);
	if (alen != blen || alen == 0)
		return 0;
	for (i = 0; i < alen; i++) {
		x = (unsigned char)a[i];
		y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return 1;
}

/* 1 when the row's recipient or orig_recipient is the address. */
static int
row_names(const struct cli_row *row, const char *addr, size_t len)
{
	const char	*s;
	size_t		 n;

	if ((s = cli_row_text(row, "recipient", &n)) != NULL &&
	    addr_eq(s, n, addr, len))
		return 1;
	if ((s = cli_row_text(row, "orig_recipient", &n)) != NULL &&
	    addr_eq(s, n, addr, len))
		return 1;
	return 0;
}

static int
text_is(const struct cli_row *row, const char *col, const char *word)
{
	const char	*s;
	size_t		 n;

	s = cli_row_text(row, col, &n);
	return s != NULL && n == strlen(word) && strncasecmp(s, word, n) == 0;
}

static const struct cli_row *
bounce_of(const struct cli_dlv *d, const struct cli_row *br)
{
	int64_t	 id = cli_row_int(br, "bounce", -1);
	size_t	 i;

	for (i = 0; i < d->n_bounces; i++)
		if (cli_row_int(d->bounces[i], "id", -2) == id)
			return d->bounces[i];
	return NULL;
}

/* A report kind that says something about delivery. */
static int
bounce_counts(const struct cli_row *b)
{
	return b != NULL && (text_is(b, "kind", "failure") ||
	    text_is(b, "kind", "delay") || text_is(b, "kind", "success"));
}

static int
fact_cmp(const void *a, const void *b)
{
	const struct cli_fact *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	/* Log events before reports at the same instant. */
	return (x->ev == NULL) - (y->ev == NULL);
}

static int
decisive(enum cli_dstate s)
{
	return s != CLI_DS_PENDING && s != CLI_DS_DEFERRED;
}

static void
decide(struct cli_dlv *d, struct cli_dlv_rcpt *r, int queue_expired)
{
	const struct cli_fact *f, *failed = NULL;
	size_t	 i;

	r->state = CLI_DS_PENDING;
	r->decided = NULL;
	r->queue_expired = 0;
	r->sent_then_bounced = 0;
	for (i = 0; i < r->n_facts; i++) {
		f = &r->facts[i];
		if (f->ev != NULL) {
			if (text_is(f->ev, "status", "sent")) {
				r->state = CLI_DS_DELIVERED;
				r->decided = f;
			} else if (text_is(f->ev, "status", "bounced") ||
			    text_is(f->ev, "status", "undeliverable")) {
				r->state = CLI_DS_BOUNCED;
				r->decided = f;
			} else if (text_is(f->ev, "status", "expired")) {
				r->state = CLI_DS_EXPIRED;
				r->decided = f;
			} else if (text_is(f->ev, "status", "discarded")) {
				r->state = CLI_DS_DISCARDED;
				r->decided = f;
			} else if (text_is(f->ev, "status", "deferred") &&
			    !decisive(r->state)) {
				r->state = CLI_DS_DEFERRED;
				r->decided = f;
			}
			continue;
		}
		if (!bounce_counts(f->bounce))
			continue;
		if (text_is(f->br, "action", "failed"))
			failed = f;
		else if (text_is(f->br, "action", "delayed") &&
		    !decisive(r->state)) {
			r->state = CLI_DS_DEFERRED;
			r->decided = f;
		} else if ((text_is(f->br, "action", "delivered") ||
		    text_is(f->br, "action", "relayed") ||
		    text_is(f->br, "action", "expanded")) &&
		    !decisive(r->state)) {
			r->state = CLI_DS_DELIVERED;
			r->decided = f;
		}
	}
	/* A failure report wins over the log's "sent" or "deferred". */
	if (failed != NULL && r->state != CLI_DS_BOUNCED &&
	    r->state != CLI_DS_EXPIRED) {
		r->sent_then_bounced = r->state == CLI_DS_DELIVERED;
		r->state = CLI_DS_BOUNCED;
		r->decided = failed;
	}
	if (queue_expired && !decisive(r->state)) {
		r->state = CLI_DS_EXPIRED;
		r->queue_expired = 1;
	}
	if (r->rejected) {
		r->state = CLI_DS_REJECTED;
		r->decided = NULL;
	} else if (r->n_facts == 0 && !d->outcome_accepted &&
	    d->queue_id == NULL)
		r->state = CLI_DS_NOT_QUEUED;
}

void
cli_dlv_compute(struct cli_dlv *d)
{
	struct cli_dlv_rcpt *r;
	const struct cli_row *b;
	size_t	 i, k, n;
	int	 queue_expired = 0;

	for (k = 0; k < d->n_queue; k++)
		if (text_is(d->queue[k], "kind", "expired"))
			queue_expired = 1;
	if (d->ev_matched != NULL)
		memset(d->ev_matched, 0, d->n_events);
	for (i = 0; i < d->n_rcpt; i++) {
		r = &d->rcpt[i];
		free(r->facts);
		r->facts = NULL;
		r->n_facts = 0;
		n = 0;
		for (k = 0; k < d->n_events; k++)
			n += row_names(d->events[k], r->address, r->len);
		for (k = 0; k < d->n_brcpts; k++)
			n += row_names(d->brcpts[k], r->address, r->len);
		if (n > 0 && (r->facts = calloc(n, sizeof(*r->facts))) != NULL) {
			for (k = 0; k < d->n_events; k++) {
				if (!row_names(d->events[k], r->address,
				    r->len))
					continue;
				r->facts[r->n_facts].ev = d->events[k];
				r->facts[r->n_facts++].time = cli_row_int(
				    d->events[k], "time", 0);
				if (d->ev_matched != NULL)
					d->ev_matched[k] = 1;
			}
			for (k = 0; k < d->n_brcpts; k++) {
				if (!row_names(d->brcpts[k], r->address,
				    r->len))
					continue;
				b = bounce_of(d, d->brcpts[k]);
				r->facts[r->n_facts].bounce = b;
				r->facts[r->n_facts].br = d->brcpts[k];
				r->facts[r->n_facts++].time = cli_row_int(b,
				    "time", 0);
			}
			qsort(r->facts, r->n_facts, sizeof(*r->facts),
			    fact_cmp);
		}
		decide(d, r, queue_expired);
	}
}

void
cli_dlv_counts(const struct cli_dlv *d, size_t counts[CLI_DS_COUNT])
{
	size_t	 i;

	memset(counts, 0, CLI_DS_COUNT * sizeof(counts[0]));
	for (i = 0; i < d->n_rcpt; i++)
		counts[d->rcpt[i].state]++;
}

void
cli_dlv_counts_text(char *out, size_t outsz,
    const size_t counts[CLI_DS_COUNT])
{
	static const enum cli_dstate order[] = { CLI_DS_DELIVERED,
	    CLI_DS_DEFERRED, CLI_DS_BOUNCED, CLI_DS_EXPIRED, CLI_DS_PENDING,
	    CLI_DS_DISCARDED, CLI_DS_REJECTED, CLI_DS_NOT_QUEUED };
	size_t	 i, o = 0;

	if (outsz == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < sizeof(order) / sizeof(order[0]) && o < outsz; i++) {
		if (counts[order[i]] == 0)
			continue;
		o += (size_t)snprintf(out + o, outsz - o, "%s%zu %s",
		    o > 0 ? ", " : "", counts[order[i]],
		    cli_dstate_name(order[i]));
	}
}

/* ---------------------------------------------------------------- loading */

static int
add_rcpt(struct cli_dlv *d, const char *addr, size_t len, int rejected)
{
	struct cli_dlv_rcpt *nr;

	if ((nr = realloc(d->rcpt, (d->n_rcpt + 1) * sizeof(*nr))) == NULL)
		return -1;
	d->rcpt = nr;
	nr = &d->rcpt[d->n_rcpt];
	memset(nr, 0, sizeof(*nr));
	if ((nr->address = malloc(len + 1)) == NULL)
		return -1;
	if (len > 0)
		memcpy(nr->address, addr, len);
	nr->address[len] = '\0';
	nr->len = len;
	nr->rejected = rejected;
	d->n_rcpt++;
	return 0;
}

/* The last event of a hop that concerns the recipient (else any). */
static const struct cli_row *
hop_pick(struct cli_row **ev, size_t n, const struct cli_row *from)
{
	const char	*a, *o;
	size_t		 alen, olen, i;
	const struct cli_row *any = NULL;

	a = cli_row_text(from, "recipient", &alen);
	o = cli_row_text(from, "orig_recipient", &olen);
	for (i = n; i > 0; i--) {
		if (any == NULL)
			any = ev[i - 1];
		if ((a != NULL && row_names(ev[i - 1], a, alen)) ||
		    (o != NULL && row_names(ev[i - 1], o, olen)))
			return ev[i - 1];
	}
	return any;
}

static int
bind_text(sqlite3_stmt *st, int i, const struct cli_val *v)
{
	return sqlite3_bind_text(st, i, v->s, (int)v->len, SQLITE_TRANSIENT);
}

/* Follow the hand-off of event ev through the journal. */
static int
follow(struct cli_dlv_ctx *ctx, struct cli_dlv *d, const struct cli_row *ev)
{
	struct cli_handoff *h, *nh;
	struct cli_hop	*hop;
	sqlite3_stmt	*st;
	struct cli_row	**rows, **mrows;
	const struct cli_row *from = ev, *last;
	const struct cli_val *next, *relay;
	size_t		 n, nm, k, i;
	int64_t		 t;
	int		 loop;

	if ((nh = realloc(d->handoffs, (d->n_handoffs + 1) *
	    sizeof(*nh))) == NULL)
		goto nomem;
	d->handoffs = nh;
	h = &d->handoffs[d->n_handoffs++];
	memset(h, 0, sizeof(*h));
	h->ev = ev;
	while ((next = cli_row_get(from, "next_queue_id")) != NULL &&
	    next->type == SQLITE_TEXT && next->len > 0) {
		loop = d->queue_id != NULL && strlen(d->queue_id) ==
		    next->len && memcmp(d->queue_id, next->s, next->len) == 0;
		for (k = 0; k < h->n_hops && !loop; k++)
			loop = strlen(h->hops[k].queue_id) == next->len &&
			    memcmp(h->hops[k].queue_id, next->s,
			    next->len) == 0;
		if (loop || h->n_hops == CLI_HOPS_MAX) {
			h->cut = 1;
			break;
		}
		hop = &h->hops[h->n_hops++];
		t = cli_row_int(from, "time", 0);
		hop->time = t;
		if ((hop->queue_id = malloc(next->len + 1)) == NULL)
			goto nomem;
		memcpy(hop->queue_id, next->s, next->len);
		hop->queue_id[next->len] = '\0';
		relay = cli_row_get(from, "relay");
		if (relay != NULL && relay->type == SQLITE_TEXT) {
			if ((hop->relay = malloc(relay->len + 1)) == NULL)
				goto nomem;
			memcpy(hop->relay, relay->s, relay->len);
			hop->relay[relay->len] = '\0';
			hop->relay_len = relay->len;
		}
		if ((st = stmt(ctx, ST_HOP_MSG)) != NULL) {
			bind_text(st, 1, next);
			sqlite3_bind_int64(st, 2, t - HOP_MSG_BEFORE_US);
			sqlite3_bind_int64(st, 3, t + HOP_SKEW_US);
		}
		if (all_rows(ctx, st, &mrows, &nm) < 0) {
			free_rows(mrows, nm);
			return -1;
		}
		if (nm > 0) {
			hop->msg = mrows[0];
			mrows[0] = NULL;
		}
		free_rows(mrows, nm);
		if ((st = stmt(ctx, ST_HOP_EV)) != NULL) {
			bind_text(st, 1, next);
			sqlite3_bind_int64(st, 2, t - HOP_SKEW_US);
			sqlite3_bind_int64(st, 3, t + HOP_EVENTS_US);
		}
		if (all_rows(ctx, st, &rows, &n) < 0) {
			free_rows(rows, n);
			return -1;
		}
		last = hop_pick(rows, n, from);
		for (i = 0; i < n; i++)
			if (rows[i] == last) {
				hop->ev = rows[i];
				rows[i] = NULL;
			}
		free_rows(rows, n);
		if (hop->ev == NULL)
			break;
		from = hop->ev;
	}
	return 0;

nomem:
	snprintf(ctx->err, sizeof(ctx->err), "out of memory");
	return -1;
}

static int
load_handoffs(struct cli_dlv_ctx *ctx, struct cli_dlv *d)
{
	size_t	 i;

	for (i = 0; i < d->n_events; i++)
		if (cli_row_has(d->events[i], "next_queue_id") &&
		    follow(ctx, d, d->events[i]) < 0)
			return -1;
	return 0;
}

static int
load_common(struct cli_dlv_ctx *ctx, struct cli_dlv *d)
{
	if (d->n_events > 0 && (d->ev_matched = calloc(d->n_events, 1)) ==
	    NULL) {
		snprintf(ctx->err, sizeof(ctx->err), "out of memory");
		return -1;
	}
	return 0;
}

int
cli_dlv_load(struct cli_dlv_ctx *ctx, int64_t msg_id,
    struct cli_row *const *rcpts, size_t n_rcpts, const char *outcome,
    int handoffs, struct cli_dlv **out)
{
	struct cli_dlv	*d;
	struct cli_row	**rows = NULL;
	sqlite3_stmt	*st;
	size_t		 n = 0, i, undecided;
	const char	*addr;
	size_t		 len;
	int		 rc;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(ctx->err, sizeof(ctx->err), "out of memory");
		return -1;
	}
	if (outcome == NULL) {
		if ((st = stmt_id(ctx, ST_OUTCOME, msg_id)) == NULL)
			goto fail;
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			addr = (const char *)sqlite3_column_text(st, 0);
			d->outcome_accepted = addr != NULL &&
			    strcmp(addr, "accepted") == 0;
		}
		sqlite3_reset(st);
	} else
		d->outcome_accepted = strcmp(outcome, "accepted") == 0;
	if (rcpts == NULL) {
		if (all_rows(ctx, stmt_id(ctx, ST_RCPT, msg_id), &rows, &n) < 0)
			goto fail;
		rcpts = rows;
		n_rcpts = n;
	}
	for (i = 0; i < n_rcpts; i++) {
		addr = cli_row_text(rcpts[i], "address", &len);
		if (add_rcpt(d, addr != NULL ? addr : "", addr != NULL ? len :
		    0, text_is(rcpts[i], "status", "rejected")) < 0) {
			snprintf(ctx->err, sizeof(ctx->err), "out of memory");
			goto fail;
		}
	}
	free_rows(rows, n);
	rows = NULL;
	n = 0;
	if (all_rows(ctx, stmt_id(ctx, ST_EV, msg_id), &d->events,
	    &d->n_events) < 0 ||
	    all_rows(ctx, stmt_id(ctx, ST_BR, msg_id), &d->brcpts,
	    &d->n_brcpts) < 0)
		goto fail;
	/*
	 * For the states alone (find's list, --status) the bounces are read
	 * only when some entry names a recipient, and the queue facts only
	 * when a recipient is left undecided (the queue's "expired" decides
	 * it): most messages cost three indexed lookups.
	 */
	if ((handoffs || d->n_brcpts > 0) &&
	    all_rows(ctx, stmt_id(ctx, ST_BO, msg_id), &d->bounces,
	    &d->n_bounces) < 0)
		goto fail;
	if (load_common(ctx, d) < 0)
		goto fail;
	cli_dlv_compute(d);
	for (i = 0, undecided = 0; i < d->n_rcpt; i++)
		undecided += !decisive(d->rcpt[i].state);
	if (handoffs || (undecided > 0 && d->outcome_accepted)) {
		if (all_rows(ctx, stmt_id(ctx, ST_QE, msg_id), &d->queue,
		    &d->n_queue) < 0)
			goto fail;
		cli_dlv_compute(d);
	}
	if (handoffs && load_handoffs(ctx, d) < 0)
		goto fail;
	*out = d;
	return 0;

fail:
	free_rows(rows, n);
	cli_dlv_free(d);
	return -1;
}

int
cli_dlv_load_queue(struct cli_dlv_ctx *ctx, const char *queue_id,
    int64_t since, int64_t until, struct cli_dlv **out)
{
	struct cli_dlv	*d;
	sqlite3_stmt	*st[4];
	const char	*a;
	size_t		 i, k, len;
	int		 seen;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->queue_id = strdup(queue_id)) == NULL) {
		free(d);
		snprintf(ctx->err, sizeof(ctx->err), "out of memory");
		return -1;
	}
	d->outcome_accepted = 1;
	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		if ((st[i] = stmt(ctx, ST_Q_EV + (int)i)) == NULL)
			goto fail;
		sqlite3_bind_text(st[i], 1, queue_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st[i], 2, since);
		sqlite3_bind_int64(st[i], 3, until);
	}
	if (all_rows(ctx, st[0], &d->events, &d->n_events) < 0 ||
	    all_rows(ctx, st[1], &d->queue, &d->n_queue) < 0 ||
	    all_rows(ctx, st[2], &d->bounces, &d->n_bounces) < 0 ||
	    all_rows(ctx, st[3], &d->brcpts, &d->n_brcpts) < 0 ||
	    load_common(ctx, d) < 0)
		goto fail;
	if (d->n_events == 0 && d->n_queue == 0 && d->n_bounces == 0) {
		cli_dlv_free(d);
		return 1;
	}
	/* The recipients are those the log names (the original first). */
	for (i = 0; i < d->n_events + d->n_brcpts; i++) {
		const struct cli_row *row = i < d->n_events ? d->events[i] :
		    d->brcpts[i - d->n_events];

		a = cli_row_text(row, "orig_recipient", &len);
		if (a == NULL || len == 0)
			a = cli_row_text(row, "recipient", &len);
		if (a == NULL || len == 0)
			continue;
		addr_trim(&a, &len);
		for (k = 0, seen = 0; k < d->n_rcpt && !seen; k++)
			seen = row_names(row, d->rcpt[k].address,
			    d->rcpt[k].len);
		if (!seen && add_rcpt(d, a, len, 0) < 0) {
			snprintf(ctx->err, sizeof(ctx->err), "out of memory");
			goto fail;
		}
	}
	cli_dlv_compute(d);
	if (load_handoffs(ctx, d) < 0)
		goto fail;
	*out = d;
	return 0;

fail:
	cli_dlv_free(d);
	return -1;
}

/* ---------------------------------------------------------------- SQL functions */

/*
 * The states of the message in argv (id, outcome, accepted, rejected):
 * counts[] per state.  A message without any delivery fact is answered
 * from its counts (one probe of three indexes); others are loaded.
 * 0, or -1 with the error set on c.
 */
static int
fn_counts(sqlite3_context *c, sqlite3_value **argv, size_t counts[CLI_DS_COUNT])
{
	struct cli_dlv_ctx *ctx = sqlite3_user_data(c);
	struct cli_dlv	*d;
	sqlite3_stmt	*st;
	const char	*outcome;
	int64_t		 id = sqlite3_value_int64(argv[0]);
	int		 rc, any = 1;

	if (ctx->db == NULL)
		ctx->db = sqlite3_context_db_handle(c);
	outcome = (const char *)sqlite3_value_text(argv[1]);
	if (outcome == NULL)
		outcome = "";
	if ((st = stmt_id(ctx, ST_ANY, id)) == NULL)
		goto fail;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		any = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		snprintf(ctx->err, sizeof(ctx->err), "reading delivery: %s",
		    sqlite3_errmsg(ctx->db));
		goto fail;
	}
	if (!any) {
		memset(counts, 0, CLI_DS_COUNT * sizeof(counts[0]));
		counts[strcmp(outcome, "accepted") == 0 ? CLI_DS_PENDING :
		    CLI_DS_NOT_QUEUED] = (size_t)sqlite3_value_int64(argv[2]);
		counts[CLI_DS_REJECTED] = (size_t)sqlite3_value_int64(argv[3]);
		return 0;
	}
	if (cli_dlv_load(ctx, id, NULL, 0, outcome, 0, &d) < 0)
		goto fail;
	cli_dlv_counts(d, counts);
	cli_dlv_free(d);
	return 0;

fail:
	sqlite3_result_error(c, ctx->err, -1);
	return -1;
}

static void
fn_summary(sqlite3_context *c, int argc, sqlite3_value **argv)
{
	size_t		 counts[CLI_DS_COUNT];
	char		 text[256];

	(void)argc;
	if (fn_counts(c, argv, counts) < 0)
		return;
	cli_dlv_counts_text(text, sizeof(text), counts);
	sqlite3_result_text(c, text, -1, SQLITE_TRANSIENT);
}

static void
fn_match(sqlite3_context *c, int argc, sqlite3_value **argv)
{
	size_t		 counts[CLI_DS_COUNT];
	unsigned	 mask = (unsigned)sqlite3_value_int64(argv[4]);
	int		 i, hit = 0;

	(void)argc;
	if (fn_counts(c, argv, counts) < 0)
		return;
	for (i = 0; i < CLI_DS_COUNT && !hit; i++)
		hit = counts[i] > 0 && (mask & CLI_DS_BIT(i)) != 0;
	sqlite3_result_int(c, hit);
}

/* The state of one recipient (argv[2], an address) of a message. */
static void
fn_state_of(sqlite3_context *c, int argc, sqlite3_value **argv)
{
	struct cli_dlv_ctx *ctx = sqlite3_user_data(c);
	struct cli_dlv	*d;
	const char	*outcome, *addr;
	size_t		 i, len;

	(void)argc;
	if (ctx->db == NULL)
		ctx->db = sqlite3_context_db_handle(c);
	outcome = (const char *)sqlite3_value_text(argv[1]);
	addr = (const char *)sqlite3_value_text(argv[2]);
	len = (size_t)sqlite3_value_bytes(argv[2]);
	if (addr == NULL) {
		sqlite3_result_null(c);
		return;
	}
	if (cli_dlv_load(ctx, sqlite3_value_int64(argv[0]), NULL, 0,
	    outcome != NULL ? outcome : "", 0, &d) < 0) {
		sqlite3_result_error(c, ctx->err, -1);
		return;
	}
	for (i = 0; i < d->n_rcpt; i++)
		if (addr_eq(d->rcpt[i].address, d->rcpt[i].len, addr, len))
			break;
	if (i < d->n_rcpt)
		sqlite3_result_text(c, cli_dstate_name(d->rcpt[i].state), -1,
		    SQLITE_STATIC);
	else
		sqlite3_result_null(c);
	cli_dlv_free(d);
}

int
cli_dlv_register(sqlite3 *db, struct cli_dlv_ctx **handle)
{
	struct cli_dlv_ctx *ctx;

	/* Prepared on first use: the statements need the tables. */
	*handle = NULL;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return -1;
	if (sqlite3_create_function_v2(db, "mt_delivery_summary", 4,
	    SQLITE_UTF8, ctx, fn_summary, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function_v2(db, "mt_delivery_match", 5,
	    SQLITE_UTF8, ctx, fn_match, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function_v2(db, "mt_delivery_state_of", 3,
	    SQLITE_UTF8, ctx, fn_state_of, NULL, NULL, NULL) != SQLITE_OK) {
		free(ctx);
		return -1;
	}
	*handle = ctx;
	return 0;
}

void
cli_dlv_unregister(struct cli_dlv_ctx *handle)
{
	if (handle == NULL)
		return;
	cli_dlv_ctx_free(handle);
	free(handle);
}

/* ---------------------------------------------------------------- tail */

sqlite3_stmt *
cli_dlv_prepare_bounce_rcpts(sqlite3 *db)
{
	sqlite3_stmt	*st;

	if (sqlite3_prepare_v2(db, "SELECT recipient, orig_recipient, action,"
	    " status, reply_code, reason, remote_mta, diagnostic FROM"
	    " bounce_recipients WHERE bounce = ?1 ORDER BY seq, id", -1, &st,
	    NULL) != SQLITE_OK)
		return NULL;
	return st;
}

int64_t
cli_dlv_max_id(sqlite3 *db, int bounces)
{
	sqlite3_stmt	*st;
	int64_t		 id = -1;

	if (sqlite3_prepare_v2(db, bounces ? "SELECT IFNULL(MAX(id), 0) FROM"
	    " bounces" : "SELECT IFNULL(MAX(id), 0) FROM delivery_events", -1,
	    &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

/* " AND d.status IN (...)" for the delivery states in mask; how many. */
static int
status_list(struct cli_sql *q, unsigned mask)
{
	static const struct {
		enum cli_dstate	 s;
		const char	*sql;
	} map[] = {
		{ CLI_DS_DELIVERED, "'sent'" },
		{ CLI_DS_DEFERRED, "'deferred'" },
		{ CLI_DS_BOUNCED, "'bounced', 'undeliverable'" },
		{ CLI_DS_EXPIRED, "'expired'" },
		{ CLI_DS_DISCARDED, "'discarded'" },
	};
	size_t	 i;
	int	 n = 0;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!(mask & CLI_DS_BIT(map[i].s)))
			continue;
		cli_sql_add(q, n++ > 0 ? ", " : " AND d.status IN (");
		cli_sql_add(q, map[i].sql);
	}
	if (n > 0)
		cli_sql_add(q, ")");
	return n;
}

/* " AND <col> matches --to" (exact: NOCASE index; else the pattern). */
static void
to_match(struct cli_sql *q, const struct cli_filter *f, const char *col)
{
	if (f->to_kind == CLI_PAT_EXACT) {
		cli_sql_add(q, col);
		cli_sql_add(q, " = ");
		cli_sql_text(q, f->to);
		cli_sql_add(q, " COLLATE NOCASE");
	} else {
		cli_sql_add(q, "mt_match(");
		cli_sql_add(q, col);
		cli_sql_add(q, ", ");
		cli_sql_text(q, f->to);
		cli_sql_add(q, ")");
	}
}

int
cli_dlv_tail_sql(struct cli_sql *q, const struct cli_filter *f, int bounces,
    int64_t lo, int64_t hi)
{
	struct cli_filter rest;

	if (f->dstatus != 0 && !(f->dstatus & (CLI_DS_BIT(CLI_DS_DELIVERED) |
	    CLI_DS_BIT(CLI_DS_DEFERRED) | CLI_DS_BIT(CLI_DS_BOUNCED) |
	    CLI_DS_BIT(CLI_DS_EXPIRED) | CLI_DS_BIT(CLI_DS_DISCARDED))))
		return 1;
	if (bounces && f->dstatus != 0 &&
	    !(f->dstatus & CLI_DS_BIT(CLI_DS_BOUNCED)))
		return 1;
	/* The other filters, for the linked message (borrowed values). */
	rest = *f;
	rest.to = NULL;
	if (f->dstatus != 0)
		rest.status = 0;	/* the states decide, not the outcome */
	rest.dstatus = 0;
	rest.has_since = rest.has_until = 0;
	if (bounces) {
		cli_sql_add(q, "SELECT b.*, mm.track_id AS track_id FROM bounces"
		    " b LEFT JOIN messages mm ON mm.id = b.message WHERE b.id > ");
		cli_sql_int(q, lo);
		cli_sql_add(q, " AND b.id <= ");
		cli_sql_int(q, hi);
		if (f->to != NULL) {
			cli_sql_add(q, " AND EXISTS (SELECT 1 FROM"
			    " bounce_recipients br WHERE br.bounce = b.id AND"
			    " (");
			to_match(q, f, "br.recipient");
			cli_sql_add(q, " OR ");
			to_match(q, f, "br.orig_recipient");
			cli_sql_add(q, "))");
		}
	} else {
		cli_sql_add(q, "SELECT d.*, mm.track_id AS track_id FROM"
		    " delivery_events d LEFT JOIN messages mm ON mm.id ="
		    " d.message WHERE d.id > ");
		cli_sql_int(q, lo);
		cli_sql_add(q, " AND d.id <= ");
		cli_sql_int(q, hi);
		if (f->to != NULL) {
			cli_sql_add(q, " AND (");
			to_match(q, f, "d.recipient");
			cli_sql_add(q, " OR ");
			to_match(q, f, "d.orig_recipient");
			cli_sql_add(q, ")");
		}
		status_list(q, f->dstatus);
	}
	if (cli_filter_narrows(&rest)) {
		cli_sql_add(q, bounces ? " AND b.message IN" : " AND d.message"
		    " IN");
		cli_sql_add(q, " (SELECT m.id FROM messages m JOIN connections c"
		    " ON c.id = m.conn_id WHERE 1");
		cli_filter_where(&rest, q);
		cli_sql_add(q, ")");
	}
	cli_sql_add(q, bounces ? " ORDER BY b.id" : " ORDER BY d.id");
	return 0;
}

/* ---------------------------------------------------------------- stats */

double
cli_percentile(const double *sorted, size_t n, double p)
{
	double	 x = p / 100.0 * (double)n;
	size_t	 rank;

	if (n == 0)
		return -1;
	rank = (size_t)x;
	if ((double)rank < x)
		rank++;
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

static int
dbl_cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
reason_cmp(const void *a, const void *b)
{
	const struct cli_dstats_reason *x = a, *y = b;
	int64_t	 nx = x->log + x->reports, ny = y->log + y->reports;
	int	 c;

	if (nx != ny)
		return nx < ny ? 1 : -1;
	if ((c = strcmp(x->domain, y->domain)) != 0)
		return c;
	return strcmp(x->code, y->code);
}

/* Copy a column, escaped (and lower-cased when lower), into a buffer. */
static void
col_esc(sqlite3_stmt *st, int col, char *out, size_t outsz, int lower)
{
	char	*e, *p;

	out[0] = '\0';
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return;
	e = cli_esc(sqlite3_column_text(st, col),
	    (size_t)sqlite3_column_bytes(st, col));
	if (e == NULL)
		return;
	snprintf(out, outsz, "%s", e);
	free(e);
	for (p = out; lower && *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}

struct dq {
	sqlite3		*db;
	int64_t		 since, until;
	char		*err;
	size_t		 errlen;
};

static int
dq_prep(struct dq *q, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(q->db, sql, -1, st, NULL) != SQLITE_OK) {
		snprintf(q->err, q->errlen, "delivery figures: %s",
		    sqlite3_errmsg(q->db));
		*st = NULL;
		return -1;
	}
	sqlite3_bind_int64(*st, 1, q->since);
	sqlite3_bind_int64(*st, 2, q->until);
	return 0;
}

static int
dq_done(struct dq *q, sqlite3_stmt *st, int rc)
{
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(q->err, q->errlen, "delivery figures: %s",
		    sqlite3_errmsg(q->db));
		return -1;
	}
	return 0;
}

/* The domain of a recipient column, in SQL (NULL without an @). */
#define SQL_DOMAIN(col) \
	"CASE WHEN instr(" col ", '@') > 0 THEN lower(substr(" col ", " \
	"instr(" col ", '@') + 1)) END"

/* Add the rows of a (domain, code, [reason,] count) query to a top list. */
static int
dq_reasons(struct dq *q, const char *sql, int reports,
    struct cli_dstats_reason *all, size_t *nall, size_t cap)
{
	struct cli_dstats_reason r;
	sqlite3_stmt	*st;
	size_t		 i;
	int		 rc;

	if (dq_prep(q, sql, &st) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		col_esc(st, 0, r.domain, sizeof(r.domain), 1);
		col_esc(st, 1, r.code, sizeof(r.code), 0);
		if (reports)
			col_esc(st, 2, r.reason, sizeof(r.reason), 0);
		for (i = 0; i < *nall; i++)
			if (strcmp(all[i].domain, r.domain) == 0 &&
			    strcmp(all[i].code, r.code) == 0)
				break;
		if (i == *nall) {
			if (*nall == cap)
				continue;
			all[(*nall)++] = r;
		}
		if (reports) {
			all[i].reports += sqlite3_column_int64(st, 3);
			if (all[i].reason[0] == '\0')
				memcpy(all[i].reason, r.reason,
				    sizeof(r.reason));
		} else
			all[i].log += sqlite3_column_int64(st, 2);
	}
	return dq_done(q, st, rc);
}

static void
top_of(struct cli_dstats_reason *all, size_t nall,
    struct cli_dstats_reason *top, size_t *n)
{
	qsort(all, nall, sizeof(*all), reason_cmp);
	*n = nall < CLI_DSTATS_TOP ? nall : CLI_DSTATS_TOP;
	memcpy(top, all, *n * sizeof(*top));
}

static int
dq_auth(struct dq *q, const char *column, struct cli_dstats_auth *a,
    size_t *n)
{
	char		 sql[512], word[16];
	sqlite3_stmt	*st;
	const char	*status;
	size_t		 i;
	int		 rc;

	snprintf(sql, sizeof(sql), "SELECT m.%s, d.status, count(*)"
	    " FROM delivery_events d JOIN messages m ON m.id = d.message"
	    " WHERE d.time >= ?1 AND d.time < ?2 AND d.message IS NOT NULL"
	    " AND d.status IN ('sent', 'bounced', 'expired', 'undeliverable',"
	    " 'discarded') GROUP BY 1, 2", column);
	if (dq_prep(q, sql, &st) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		col_esc(st, 0, word, sizeof(word), 1);
		if (word[0] == '\0')
			snprintf(word, sizeof(word), "not_checked");
		status = (const char *)sqlite3_column_text(st, 1);
		for (i = 0; i < *n; i++)
			if (strcmp(a[i].result, word) == 0)
				break;
		if (i == *n) {
			if (*n == CLI_DSTATS_AUTH_MAX)
				continue;
			memset(&a[i], 0, sizeof(a[i]));
			memcpy(a[i].result, word, sizeof(word));
			(*n)++;
		}
		a[i].final += sqlite3_column_int64(st, 2);
		if (status != NULL && strcmp(status, "sent") != 0 &&
		    strcmp(status, "discarded") != 0)
			a[i].bounced += sqlite3_column_int64(st, 2);
	}
	return dq_done(q, st, rc);
}

static int64_t
dq_count(struct dq *q, const char *sql, int *err)
{
	sqlite3_stmt	*st;
	int64_t		 v = 0;
	int		 rc;

	if (dq_prep(q, sql, &st) < 0) {
		*err = 1;
		return 0;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = sqlite3_column_int64(st, 0);
		rc = SQLITE_DONE;
	}
	if (dq_done(q, st, rc) < 0)
		*err = 1;
	return v;
}

int
cli_dstats_load(sqlite3 *db, int has_auth, int64_t since, int64_t until,
    struct cli_dstats *s, char *err, size_t errlen)
{
	struct dq	 q = { db, since, until, err, errlen };
	struct cli_dstats_reason all[4 * CLI_DSTATS_TOP * 5];
	struct cli_dlv_ctx ctx;
	sqlite3_stmt	*st;
	const char	*w;
	double		*d = NULL, *nd;
	size_t		 cap = 0, nall;
	int64_t		 k;
	int		 rc, e = 0;

	memset(s, 0, sizeof(*s));
	s->p50 = s->p90 = s->p99 = -1;
	if (dq_prep(&q, "SELECT status, count(*) FROM delivery_events"
	    " WHERE time >= ?1 AND time < ?2 GROUP BY status", &st) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		w = (const char *)sqlite3_column_text(st, 0);
		k = sqlite3_column_int64(st, 1);
		s->events += k;
		if (w == NULL)
			continue;
		if (strcmp(w, "sent") == 0)
			s->sent += k;
		else if (strcmp(w, "deferred") == 0)
			s->deferred += k;
		else if (strcmp(w, "bounced") == 0)
			s->bounced += k;
		else if (strcmp(w, "expired") == 0)
			s->expired += k;
		else if (strcmp(w, "undeliverable") == 0)
			s->undeliverable += k;
		else if (strcmp(w, "discarded") == 0)
			s->discarded += k;
	}
	if (dq_done(&q, st, rc) < 0)
		return -1;
	s->finished = s->sent + s->bounced + s->expired + s->undeliverable +
	    s->discarded;
	s->rcpts = dq_count(&q, "SELECT count(*) FROM (SELECT DISTINCT"
	    " queue_id, recipient COLLATE NOCASE FROM delivery_events"
	    " WHERE time >= ?1 AND time < ?2)", &e);
	s->rcpts_deferred = dq_count(&q, "SELECT count(*) FROM (SELECT"
	    " DISTINCT queue_id, recipient COLLATE NOCASE FROM"
	    " delivery_events WHERE time >= ?1 AND time < ?2 AND"
	    " status = 'deferred')", &e);
	s->reports = dq_count(&q, "SELECT count(*) FROM bounces"
	    " WHERE time >= ?1 AND time < ?2", &e);
	s->report_failed = dq_count(&q, "SELECT count(*) FROM bounces b"
	    " JOIN bounce_recipients br ON br.bounce = b.id"
	    " WHERE b.time >= ?1 AND b.time < ?2 AND br.action = 'failed'",
	    &e);
	if (e)
		return -1;
	/* Delays of the sent events, for the percentiles. */
	if (dq_prep(&q, "SELECT delay FROM delivery_events WHERE time >= ?1"
	    " AND time < ?2 AND status = 'sent' AND delay IS NOT NULL", &st) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (s->n_delays == cap) {
			cap = cap == 0 ? 1024 : cap * 2;
			if ((nd = realloc(d, cap * sizeof(*d))) == NULL) {
				free(d);
				sqlite3_finalize(st);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			d = nd;
		}
		d[s->n_delays++] = sqlite3_column_double(st, 0);
	}
	if (dq_done(&q, st, rc) < 0) {
		free(d);
		return -1;
	}
	if (s->n_delays > 0) {
		qsort(d, s->n_delays, sizeof(*d), dbl_cmp);
		s->p50 = cli_percentile(d, s->n_delays, 50);
		s->p90 = cli_percentile(d, s->n_delays, 90);
		s->p99 = cli_percentile(d, s->n_delays, 99);
	}
	free(d);
	/* Top reasons: the log's codes and the reports', by domain. */
	nall = 0;
	if (dq_reasons(&q, "SELECT " SQL_DOMAIN("recipient") ", dsn, count(*)"
	    " FROM delivery_events WHERE time >= ?1 AND time < ?2"
	    " AND status IN ('bounced', 'undeliverable', 'expired')"
	    " GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 50", 0, all,
	    &nall, sizeof(all) / sizeof(all[0])) < 0 ||
	    dq_reasons(&q, "SELECT " SQL_DOMAIN("br.recipient") ", br.status,"
	    " br.reason, count(*) FROM bounces b JOIN bounce_recipients br"
	    " ON br.bounce = b.id WHERE b.time >= ?1 AND b.time < ?2"
	    " AND br.action = 'failed' GROUP BY 1, 2, 3 ORDER BY 4 DESC"
	    " LIMIT 50", 1, all, &nall,
	    sizeof(all) / sizeof(all[0])) < 0)
		return -1;
	top_of(all, nall, s->bounce, &s->n_bounce);
	nall = 0;
	if (dq_reasons(&q, "SELECT " SQL_DOMAIN("recipient") ", dsn, count(*)"
	    " FROM delivery_events WHERE time >= ?1 AND time < ?2"
	    " AND status = 'deferred' GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 50",
	    0, all, &nall, sizeof(all) / sizeof(all[0])) < 0)
		return -1;
	top_of(all, nall, s->defer, &s->n_defer);
	if (has_auth && (dq_auth(&q, "dkim_result", s->dkim, &s->n_dkim) < 0 ||
	    dq_auth(&q, "spf_result", s->spf, &s->n_spf) < 0))
		return -1;
	/* The log follower's counters (not windowed: totals per file). */
	memset(&ctx, 0, sizeof(ctx));
	ctx.db = db;
	if (prep(&ctx, "SELECT path, offset, updated, lines, unparsed,"
	    " too_long FROM log_positions ORDER BY path", &st) < 0) {
		snprintf(err, errlen, "%s", ctx.err);
		return -1;
	}
	rc = all_rows(&ctx, st, &s->logs, &s->n_logs);
	sqlite3_finalize(st);
	if (rc < 0) {
		snprintf(err, errlen, "%s", ctx.err);
		return -1;
	}
	return 0;
}

void
cli_dstats_free(struct cli_dstats *s)
{
	free_rows(s->logs, s->n_logs);
	s->logs = NULL;
	s->n_logs = 0;
}
