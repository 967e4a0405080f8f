/*
 * delivery.h - what happened to a message after the gateway, as the
 * mailtrail command tells it.
 *
 * One module reads the delivery tables of a schema 5 journal
 * (delivery_events, queue_events, bounces, bounce_recipients) for a
 * message, or for a queue ID the journal knows only from the MTA's log,
 * and computes each recipient's delivery state once, here, by one set of
 * rules (cli_dlv_compute); show, find, export, tail and stats all ask this
 * module.  All SQL of these tables lives in delivery.c; the printing in
 * delivery_out.c.
 *
 * The states of a recipient, decided in this order:
 *   rejected     refused at RCPT (recipients.status): no delivery follows;
 *   delivered    the last decisive log event is "sent", or a report said
 *                delivered/relayed/expanded while nothing decisive was seen;
 *   bounced      the last decisive log event is "bounced" or
 *                "undeliverable", or a returning report says "failed" for
 *                the recipient (even after a "sent": the remote accepted,
 *                then bounced; both facts stay in the timeline);
 *   expired      the last decisive log event is "expired", or the queue
 *                gave up on the message (queue_events "expired") while the
 *                recipient was still deferred or pending;
 *   discarded    the MTA's discard transport dropped it;
 *   deferred     only deferrals (or delay reports) so far: the latest one
 *                gives the reason;
 *   pending      accepted, queued, nothing recorded yet;
 *   not-queued   the message itself was not accepted (aborted, tempfailed,
 *                disconnected) and no event names the recipient.
 * Decisive log events are sent, bounced, expired, undeliverable and
 * discarded.  Events and report entries are a recipient's when their
 * recipient or original recipient equals its address (ASCII case
 * ignored, "rfc822;" and angle brackets ignored).  Events are those whose
 * "message" column links them to the message (never by queue ID alone,
 * which the MTA reuses); bounces those linked likewise.
 *
 * Thread safety: single-threaded (one SQLite connection).
 */
#ifndef MAILTRAIL_CLI_DELIVERY_H
#define MAILTRAIL_CLI_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"

enum cli_dstate {
	CLI_DS_PENDING = 0,
	CLI_DS_DEFERRED,
	CLI_DS_DELIVERED,
	CLI_DS_BOUNCED,
	CLI_DS_EXPIRED,
	CLI_DS_DISCARDED,
	CLI_DS_REJECTED,
	CLI_DS_NOT_QUEUED,
	CLI_DS_COUNT
};

#define CLI_DS_BIT(s)	(1u << (s))

/* "delivered", "not-queued", ...; the words of find --status. */
const char *cli_dstate_name(enum cli_dstate s);
/* The state of a word (any case), or -1. */
int	 cli_dstate_parse(const char *word, size_t len);

/* Hand-offs are followed at most this many hops. */
#define CLI_HOPS_MAX	5

/* One entry of a recipient's timeline. */
struct cli_fact {
	int64_t		 time;
	const struct cli_row *ev;	/* a delivery_events row, or NULL */
	const struct cli_row *bounce;	/* else the bounces row ... */
	const struct cli_row *br;	/* ... and its bounce_recipients row */
};

struct cli_dlv_rcpt {
	char		*address;	/* owned copy (bytes + NUL) */
	size_t		 len;
	int		 rejected;	/* refused at RCPT */
	enum cli_dstate	 state;
	const struct cli_fact *decided;	/* the fact that decided, or NULL */
	int		 queue_expired;	/* expired by the queue's own fact */
	int		 sent_then_bounced;
	struct cli_fact	*facts;		/* in time order */
	size_t		 n_facts;
};

/* One hop after a hand-off ("queued as X" in the remote reply). */
struct cli_hop {
	char		*queue_id;	/* owned */
	char		*relay;		/* owned bytes: the relay that took it, or NULL */
	size_t		 relay_len;
	int64_t		 time;		/* when it was handed over */
	struct cli_row	*msg;		/* id, track_id of a message there, or NULL */
	struct cli_row	*ev;		/* what happened there last, or NULL */
};

struct cli_handoff {
	const struct cli_row *ev;	/* the event that handed it over */
	struct cli_hop	 hops[CLI_HOPS_MAX];
	size_t		 n_hops;
	int		 cut;		/* more hops than CLI_HOPS_MAX, or a loop */
};

struct cli_dlv {
	char		*queue_id;	/* log-only view: the queue ID (owned) */
	int		 outcome_accepted; /* the message was accepted */
	struct cli_row	**events;	/* delivery_events, by time */
	size_t		 n_events;
	unsigned char	*ev_matched;	/* per event: some recipient's */
	struct cli_row	**queue;	/* queue_events, by time */
	size_t		 n_queue;
	struct cli_row	**bounces;	/* bounces, by time */
	size_t		 n_bounces;
	struct cli_row	**brcpts;	/* their bounce_recipients */
	size_t		 n_brcpts;
	struct cli_dlv_rcpt *rcpt;	/* one per recipient, in RCPT order */
	size_t		 n_rcpt;
	struct cli_handoff *handoffs;
	size_t		 n_handoffs;
};

#define CLI_DLV_NSTMT	13

/* Statements over one journal (schema 5), each prepared on first use. */
struct cli_dlv_ctx {
	sqlite3		*db;
	sqlite3_stmt	*st[CLI_DLV_NSTMT];
	char		 err[CLI_ERRLEN];	/* what failed */
};

/*
 * Set up, checking that the journal has the tables; -1 with ctx->err
 * set.  The other statements are prepared when first needed.
 */
int	 cli_dlv_ctx_init(struct cli_dlv_ctx *ctx, sqlite3 *db);
void	 cli_dlv_ctx_free(struct cli_dlv_ctx *ctx);

/*
 * The delivery of message msg_id.  rcpts: its recipients rows (address,
 * status), or NULL to read them; outcome: messages.outcome, or NULL to
 * read it.  handoffs: also follow hand-offs (show).  Returns 0 with *out
 * (caller frees with cli_dlv_free) or -1 with ctx->err.
 */
int	 cli_dlv_load(struct cli_dlv_ctx *ctx, int64_t msg_id,
	    struct cli_row *const *rcpts, size_t n_rcpts, const char *outcome,
	    int handoffs, struct cli_dlv **out);

/*
 * What the log says about a queue ID no message of this journal carries:
 * its events and queue facts that are linked to no message, between since
 * and until (microseconds; until exclusive), and the bounces that name it.
 * Recipients are those the events name.  0 with *out, 1 when there is
 * nothing, -1 with ctx->err.
 */
int	 cli_dlv_load_queue(struct cli_dlv_ctx *ctx, const char *queue_id,
	    int64_t since, int64_t until, struct cli_dlv **out);

void	 cli_dlv_free(struct cli_dlv *d);

/* Decide the state of every recipient (cli_dlv_load does it). */
void	 cli_dlv_compute(struct cli_dlv *d);

/* Recipients per state. */
void	 cli_dlv_counts(const struct cli_dlv *d, size_t counts[CLI_DS_COUNT]);

/* "2 delivered, 1 deferred" (states in enum order); "" for none. */
void	 cli_dlv_counts_text(char *out, size_t outsz,
	    const size_t counts[CLI_DS_COUNT]);

/*
 * Register the SQL functions of a journal with delivery tables (accepted
 * and rejected: the message's rcpt_accepted and rcpt_rejected, which let a
 * message without any delivery fact be answered without reading its
 * recipients):
 *   mt_delivery_summary(id, outcome, accepted, rejected)
 *     -> "2 delivered, 1 deferred"
 *   mt_delivery_match(id, outcome, accepted, rejected, mask)
 *     -> 1 when a recipient is in a state of mask (CLI_DS_BIT bits)
 *   mt_delivery_state_of(id, outcome, address)
 *     -> the state of that recipient ("bounced"), NULL when none is it
 * 0 with *handle, to be freed with cli_dlv_unregister before the
 * connection is closed (it holds statements), or -1.
 */
int	 cli_dlv_register(sqlite3 *db, struct cli_dlv_ctx **handle);
void	 cli_dlv_unregister(struct cli_dlv_ctx *handle);

/* ---------------------------------------------------------------- tail */

struct cli_filter;
struct cli_sql;

/*
 * The query of tail's new delivery events (bounces: 0) or bounces (1)
 * with lo < id <= hi, oldest first, that match the filter: --to names the
 * event's recipient (or one of the bounce's), delivery states in --status
 * the event's status, and every other filter the message the row is
 * linked to (a row linked to none then does not match).  Each row has the
 * table's columns and "track_id" of the linked message.  Appends to q;
 * returns 0, or 1 when nothing can match (a state that has no event, such
 * as pending).
 */
int	 cli_dlv_tail_sql(struct cli_sql *q, const struct cli_filter *f,
	    int bounces, int64_t lo, int64_t hi);

/*
 * A statement that lists the entries of the bounce bound to ?1 (recipient,
 * orig_recipient, action, status, reply_code, reason, remote_mta,
 * diagnostic); caller finalizes.  NULL on error.
 */
sqlite3_stmt *cli_dlv_prepare_bounce_rcpts(sqlite3 *db);

/* The largest id of delivery_events (bounces: of bounces); -1 on error. */
int64_t	 cli_dlv_max_id(sqlite3 *db, int bounces);

/* ---------------------------------------------------------------- stats */

#define CLI_DSTATS_TOP		10

/* One row of a "top reasons" table. */
struct cli_dstats_reason {
	char		 domain[80];	/* the recipients' domain, escaped, lower case */
	char		 code[24];	/* the enhanced code, escaped */
	char		 reason[24];	/* a report's reason name, or "" */
	int64_t		 log;		/* log events */
	int64_t		 reports;	/* returning reports' entries */
};

/* Final log events of messages by one authentication result. */
struct cli_dstats_auth {
	char		 result[16];	/* "pass", ..., "not_checked" */
	int64_t		 final;		/* sent, bounced, expired, ... */
	int64_t		 bounced;	/* bounced, undeliverable, expired */
};

#define CLI_DSTATS_AUTH_MAX	12

/*
 * Delivery over a time window, from the events' own times (not the
 * messages'): pflogsumm's figures joined to the milter's.
 */
struct cli_dstats {
	int64_t		 events;
	int64_t		 sent, deferred, bounced, expired, undeliverable;
	int64_t		 discarded;
	int64_t		 finished;	/* sent + bounced + expired + undeliverable + discarded */
	int64_t		 rcpts;		/* distinct (queue ID, recipient) with an event */
	int64_t		 rcpts_deferred; /* ... with a deferral */
	size_t		 n_delays;	/* sent events with a delay */
	double		 p50, p90, p99;	/* seconds; nearest rank; -1 none */
	int64_t		 reports, report_failed; /* bounces received, failed entries */
	struct cli_dstats_reason bounce[CLI_DSTATS_TOP];
	size_t		 n_bounce;
	struct cli_dstats_reason defer[CLI_DSTATS_TOP];
	size_t		 n_defer;
	struct cli_dstats_auth dkim[CLI_DSTATS_AUTH_MAX], spf[CLI_DSTATS_AUTH_MAX];
	size_t		 n_dkim, n_spf;
	struct cli_row	**logs;		/* log_positions rows */
	size_t		 n_logs;
};

/* Fill *s for [since, until).  0, or -1 with err.  Free with _free. */
int	 cli_dstats_load(sqlite3 *db, int has_auth, int64_t since,
	    int64_t until, struct cli_dstats *s, char *err, size_t errlen);
void	 cli_dstats_free(struct cli_dstats *s);

/* Nearest-rank percentile p (0..100] of n sorted values; -1 when n is 0. */
double	 cli_percentile(const double *sorted, size_t n, double p);

/* ------------------------------------------------------ delivery_out.c */

/*
 * The helpdesk sentence for a recipient ("delivered to mx.example.net
 * (250 2.0.0 Ok)", "bounced: 550 5.1.1 ... - the mailbox does not
 * exist").  Escaped text, caller frees; NULL on allocation failure.
 */
char	*cli_dlv_sentence(const struct cli_dlv_rcpt *r);

/* The reason name stored in bounce_recipients.reason, as text. */
const char *cli_reason_text(const char *name, size_t len);

/* The Delivery section of show (text). */
void	 cli_dlv_print(const struct cli *cli, const struct cli_dlv *d);

/* The same as JSON (new reference; NULL on allocation failure). */
json_t	*cli_dlv_json(const struct cli_dlv *d);

/* One delivery event or bounce entry as JSON (tail, export). */
json_t	*cli_dlv_event_json(const struct cli_row *ev);

#endif
