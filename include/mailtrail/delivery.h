/*
 * delivery.h - what happened after the gateway, as the journal keeps it.
 *
 * Two kinds of facts join the milter's records:
 *  - log events: lines of the MTA's mail log (maillog.h) copied into owned
 *    values, in batches; a batch may carry the log position reached after
 *    its last line, committed in the same store transaction as the events,
 *    so a restart resumes exactly where the last commit ended;
 *  - bounces: a returning non-delivery report (dsn.h), with one entry per
 *    recipient it reports on and the keys that find the original message.
 *
 * Both travel as struct mt_record (record.h) through the journal queue to
 * the one writer; the store links them to messages (queue ID within a time
 * window; tracking ID, Message-ID) and ignores events it already holds
 * (idempotent on the line's time and hash, the bounce's content hash).
 * Every value is a struct mt_bytes (owned, capped).  Not thread-safe per
 * object; objects move whole from one thread to another.
 */
#ifndef MAILTRAIL_DELIVERY_H
#define MAILTRAIL_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "mailtrail/bytes.h"
#include "mailtrail/maillog.h"

/* Caps (bytes) on stored values, documented in mailtrail-journal(5). */
#define MT_LOG_VALUE_MAX	2048	/* any field of a log event */
#define MT_BOUNCE_VALUE_MAX	2048	/* any field of a bounce */
#define MT_BOUNCE_MAX_RCPTS	1000	/* recipients kept per bounce; the rest counted */
#define MT_LOG_BATCH_MAX	4096	/* events per batch record */

/*
 * The linking window.  A log event for queue ID Q at time T belongs to the
 * newest message with queue_id Q whose start_time lies in
 * [T - MT_LINK_BEFORE_S, T + MT_LINK_AFTER_S].  Short Postfix queue IDs are
 * reused over time (PITFALLS.md), so a queue ID alone is never a key.
 * Before: Postfix keeps a message up to maximal_queue_lifetime (5 days by
 * default) and bounce_queue_lifetime (5 days) after it arrived, so its last
 * delivery attempt or expiry is logged at most about 10 days after MAIL
 * FROM.  After: syslog stamps have whole seconds (an event may carry a time
 * up to a second before the start_time the milter measured in
 * microseconds), and the log host's clock may be a little off; five
 * minutes covers both and is far shorter than any reuse of a queue ID.
 * Bounces linked by queue ID use the same window around the bounce's time.
 */
#define MT_LINK_BEFORE_S	(10 * 86400)
#define MT_LINK_AFTER_S		300

/* Where an event came from. */
enum mt_event_source {
	MT_SOURCE_FOLLOWER = 0,		/* the daemon's log follower */
	MT_SOURCE_INGEST,		/* mailtrail ingest-log (backfill) */
	MT_SOURCE_MILTER,		/* a bounce seen at end-of-message */
	MT_SOURCE_COMMAND		/* mailtrail bounce --record */
};

/* One log line we keep: a delivery attempt or a queue fact. */
struct mt_log_event {
	enum mlog_kind	 kind;		/* MLOG_DELIVERY ... MLOG_DEADLETTER */
	enum mlog_mta	 mta;
	int64_t		 time_us;
	uint64_t	 line_hash;	/* mlog_line_hash of the raw line */
	struct mt_bytes	 host;
	struct mt_bytes	 program;
	struct mt_bytes	 queue_id;
	/* delivery */
	struct mt_bytes	 recipient;
	struct mt_bytes	 orig_recipient;
	enum mlog_status status;
	struct mt_bytes	 relay;
	struct mt_bytes	 dsn;
	int		 reply_code;
	struct mt_bytes	 reply;
	double		 delay;		/* -1 absent */
	double		 delays[4];	/* -1 absent */
	struct mt_bytes	 next_queue_id;
	struct mt_bytes	 mailer;
	/* queue facts */
	struct mt_bytes	 sender;
	long long	 size;		/* -1 absent */
	int		 nrcpt;		/* -1 absent */
	struct mt_bytes	 message_id;
	struct mt_bytes	 client;
	struct mt_bytes	 related_queue_id;
	/* delays as stored ("a/b/c/d"), set by log_batch_add; NULL data:
	 * the store formats delays[] itself. */
	struct mt_bytes	 delays_text;
	/*
	 * Set by log_batch_add: every value above lives in one block of the
	 * batch's slabs (no allocation per event or per value), freed with
	 * the batch.  NULL: each value owns its own allocation.
	 */
	char		*block;
};

struct mt_log_slab;		/* delivery.c: storage of a batch's values */

/* How far a log file has been read: its identity and the offset. */
struct mt_log_position {
	struct mt_bytes	 path;		/* as configured / given */
	uint64_t	 dev;
	uint64_t	 ino;
	uint64_t	 head_hash;	/* hash of the file's first line; 0 when empty */
	int64_t		 offset;	/* bytes read and handed over */
	int64_t		 time_us;	/* when it was recorded */
	/* Counters to add to the file's totals (log_positions). */
	uint64_t	 lines;
	uint64_t	 unparsed;	/* MLOG_UNPARSED + MLOG_BAD_STAMP */
	uint64_t	 too_long;
};

struct mt_log_batch {
	enum mt_event_source source;
	struct mt_log_event *ev;
	size_t		 n;
	size_t		 cap;
	int		 has_position;
	struct mt_log_position pos;
	struct mt_log_slab *slabs;	/* newest first */
};

/* The reason a recipient failed, in mailtrail's own words (a closed list). */
enum mt_bounce_reason {
	MT_REASON_UNKNOWN = 0,
	MT_REASON_USER_UNKNOWN,		/* no such mailbox */
	MT_REASON_MAILBOX_FULL,
	MT_REASON_HOST_UNKNOWN,		/* domain or MX does not exist */
	MT_REASON_MESSAGE_TOO_BIG,
	MT_REASON_SPAM,			/* content judged spam */
	MT_REASON_POLICY,		/* refused by policy (relay, blocklist, auth) */
	MT_REASON_AUTH_FAILURE,		/* SPF/DKIM/DMARC failure */
	MT_REASON_SUSPENDED,		/* mailbox disabled */
	MT_REASON_NETWORK,		/* connection, timeout */
	MT_REASON_EXPIRED,		/* gave up retrying */
	MT_REASON_SYSTEM,		/* remote system error */
	MT_REASON_DELAYED,		/* a delay warning, not a failure */
	MT_REASON_FEEDBACK,		/* ARF abuse report: not a delivery failure */
	MT_REASON_AUTOREPLY		/* vacation/auto-reply: not a delivery failure */
};

struct mt_bounce_rcpt {
	struct mt_bytes	 recipient;	/* Final-Recipient (address only) */
	struct mt_bytes	 orig_recipient; /* Original-Recipient */
	struct mt_bytes	 action;	/* failed, delayed, delivered, relayed, expanded */
	struct mt_bytes	 status;	/* enhanced code "5.1.1" */
	int		 reply_code;	/* from Diagnostic-Code or the text; 0 none */
	int		 permanent;	/* 1 hard, 0 soft, -1 unknown */
	enum mt_bounce_reason reason;
	struct mt_bytes	 remote_mta;
	struct mt_bytes	 diagnostic;	/* Diagnostic-Code text, or the quoted reply */
	struct mt_bytes	 last_attempt;	/* Last-Attempt-Date as written */
};

/* What kind of report a message is. */
enum mt_bounce_kind {
	MT_BOUNCE_NONE = 0,		/* not a report at all */
	MT_BOUNCE_FAILURE,		/* permanent or final failure */
	MT_BOUNCE_DELAY,		/* delayed, still trying */
	MT_BOUNCE_SUCCESS,		/* delivered/relayed/expanded DSN */
	MT_BOUNCE_FEEDBACK,		/* RFC 5965 ARF */
	MT_BOUNCE_AUTOREPLY		/* RFC 3834 auto-reply */
};

struct mt_bounce_rec {
	int64_t		 time_us;	/* when we saw it */
	enum mt_event_source source;	/* MT_SOURCE_MILTER or MT_SOURCE_COMMAND */
	enum mt_bounce_kind kind;
	const char	*format;	/* static: "rfc3464", "qmail", "exim", ... */
	uint64_t	 content_hash;	/* of the whole report, for idempotence */
	struct mt_bytes	 bounce_track_id; /* our tracking ID of the report itself (milter) */
	struct mt_bytes	 reporting_mta;
	struct mt_bytes	 bounce_from;	/* the report's From: */
	struct mt_bytes	 bounce_message_id;
	struct mt_bytes	 bounce_subject;
	/* Keys to the original message, most exact first. */
	struct mt_bytes	 orig_track_id;	/* our tracking header in the returned part */
	struct mt_bytes	 orig_message_id;
	struct mt_bytes	 orig_queue_id;	/* X-Postfix-Queue-ID, X-Sendmail-Queue-ID, ... */
	struct mt_bytes	 orig_from;
	struct mt_bytes	 arrival_date;
	struct mt_bounce_rcpt *rcpts;
	size_t		 n_rcpts;
	size_t		 n_rcpts_dropped; /* over MT_BOUNCE_MAX_RCPTS */
	unsigned	 truncations;
	struct mt_bytes	 error;		/* why parsing stopped short, if it did */
};

/* ---------------------------------------------------------------- batches */

/* A new empty batch (caller owns; NULL on allocation failure). */
struct mt_log_batch *log_batch_new(enum mt_event_source source);

/*
 * Copy a parsed line into the batch (values capped at MT_LOG_VALUE_MAX).
 * Only kinds MLOG_DELIVERY .. MLOG_DEADLETTER are kept; others return 1
 * (nothing added).  0 added, -1 allocation failure (batch unchanged).
 */
int	 log_batch_add(struct mt_log_batch *b, const struct mlog_event *ev,
	    uint64_t line_hash);

/* Postfix's delays as stored, "a/b/c/d" (%g each, an absent part 0):
 * its length, 0 when delays are absent (d[0] < 0) or out is too small. */
size_t	 log_delays_format(char *out, size_t outsz, const double d[4]);

/* Set the position the batch ends at (path copied). 0 or -1. */
int	 log_batch_set_position(struct mt_log_batch *b,
	    const struct mt_log_position *pos);

/* Approximate bytes held (for the journal's queue bounds). */
size_t	 log_batch_mem(const struct mt_log_batch *b);

/* Free.  NULL is a no-op. */
void	 log_batch_free(struct mt_log_batch *b);

/* ---------------------------------------------------------------- bounces */

/* A new empty bounce record (caller owns; NULL on allocation failure). */
struct mt_bounce_rec *bounce_rec_new(enum mt_event_source source);

/* Append an empty recipient; NULL when over MT_BOUNCE_MAX_RCPTS (counted
 * in n_rcpts_dropped) or out of memory.  The pointer is valid until the
 * next call. */
struct mt_bounce_rcpt *bounce_rec_add_rcpt(struct mt_bounce_rec *b);

size_t	 bounce_rec_mem(const struct mt_bounce_rec *b);
void	 bounce_rec_free(struct mt_bounce_rec *b);

/* Names as stored in the journal. */
const char *mt_bounce_reason_name(enum mt_bounce_reason r);	/* "user-unknown", ... */
const char *mt_bounce_reason_text(enum mt_bounce_reason r);	/* "the mailbox does not exist" */
const char *mt_bounce_kind_name(enum mt_bounce_kind k);	/* "failure", "delay", ... */
const char *mt_event_source_name(enum mt_event_source s);	/* "follower", "ingest", ... */

#endif
