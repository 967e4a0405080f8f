/*
 * store_sqlite.c - the journal store on one gateway: an SQLite file.
 *
 * The file is in WAL mode, so readers (the mailtrail command, a helpdesk's
 * sqlite3 -readonly) never block the writer and a crash never corrupts it.
 * synchronous=FULL makes each commit durable (fsync) before it returns;
 * NORMAL may lose the last commits on a power failure, never consistency.
 *
 * Every value from SMTP is bound with its exact length (sqlite3_bind_text
 * with a length), so NUL, 8-bit and CR/LF bytes are stored as they came;
 * nothing from a record is ever part of an SQL text.  The INSERT statements
 * are prepared once at open and reused.
 *
 * A message record upserts its connection row by conn_uid first: several
 * snapshots of one connection (one per message, then one at close) merge
 * into one row, where a later snapshot fills in or updates facts but never
 * erases one an earlier snapshot had.
 *
 * Delivery tracking (schema 5): a log batch inserts its events into
 * delivery_events (delivery attempts) and queue_events (the other facts of
 * a queued message), ignoring lines it already holds (UNIQUE (time,
 * line_hash)), and upserts the log position in the same transaction.  A
 * bounce is inserted once per content hash with its recipients.  Linking
 * (delivery.h): an event belongs to the newest message with its queue ID
 * whose start lies in [time - MT_LINK_BEFORE_S, time + MT_LINK_AFTER_S];
 * since log lines may be written before the milter's record is (the
 * follower and the milter race), writing a message record also links the
 * events of its queue ID in that window that have no message yet, or whose
 * message is an older user of the same queue ID.  So the link does not
 * depend on the order in which the two arrive.  The queue-ID lookups of a
 * log batch go through a small cache of the messages per queue ID, valid
 * within one transaction until the next message record.
 *
 * Waiting for the write lock (another process's transaction: ingest-log,
 * bounce --record) polls every millisecond up to the busy timeout, rather
 * than SQLite's default back-off (which sleeps up to 100 ms at a time and
 * can miss the short gaps between a backfill's transactions).
 *
 * Thread safety: none.  Only the journal writer thread uses a store
 * (invariant 3), and the connection is opened with SQLITE_OPEN_NOMUTEX.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mailtrail/clock.h"
#include "mailtrail/delivery.h"
#include "mailtrail/record.h"
#include "mailtrail/schema.h"
#include "mailtrail/store.h"

#define DEFAULT_MODE		0640
#define DEFAULT_BUSY_MS		5000
#define WAL_SIZE_LIMIT		"16777216"	/* bytes kept after a checkpoint */
#define BUSY_POLL_US		1000	/* sleep between lock attempts */
#define BULK_CACHE_KIB		"65536"	/* page cache of a bulk loader */
#define BULK_CKPT_FRAMES	4096	/* its checkpoints: WAL frames (16 MiB) */
#define BULK_OTHERS_US		5000000	/* another writer seen: this recent */
#define BULK_OTHERS_FRAMES	1000	/* then checkpoint as SQLite would */
#define BULK_YIELD_US		3000	/* and leave it the lock this long */

#define LINK_BEFORE_US		((int64_t)MT_LINK_BEFORE_S * 1000000)
#define LINK_AFTER_US		((int64_t)MT_LINK_AFTER_S * 1000000)
#define QCACHE_SLOTS		1024	/* queue IDs cached; a power of two */
#define QCACHE_MSGS		8	/* messages per queue ID; more: ask SQLite */
#define BOUNCE_LINK_RCPTS	100	/* recipients tried for a queue-ID link */

/* The messages of one queue ID, newest first (a cache slot). */
struct qcache_ent {
	uint64_t	 gen;		/* valid while equal to the store's qgen */
	size_t		 qlen;
	char		 qid[MLOG_QUEUE_ID_MAX];
	unsigned	 n;
	int		 overflow;	/* more than QCACHE_MSGS: ask SQLite */
	int64_t		 start[QCACHE_MSGS];
	int64_t		 id[QCACHE_MSGS];
};

struct sqlite_store {
	struct mt_store	 store;		/* store.impl points back here */
	sqlite3		*db;
	char		*path;
	int		 busy_ms;
	int		 bulk;		/* opts->bulk: checkpoints of its own */
	int		 wal_frames;	/* the WAL's frames after our last commit */
	sqlite3_stmt	*data_version;	/* bulk: PRAGMA data_version */
	int64_t		 version;	/* its last value */
	int64_t		 others_us;	/* mono: another writer last seen */
	int64_t		 busy_since;	/* mono us of the first busy retry */
	sqlite3_stmt	*conn_upsert;
	sqlite3_stmt	*msg_insert;
	sqlite3_stmt	*msg_revise;
	sqlite3_stmt	*rcpt_insert;
	sqlite3_stmt	*edit_insert;
	sqlite3_stmt	*spf_insert;
	sqlite3_stmt	*dkim_insert;
	/* Delivery tracking. */
	sqlite3_stmt	*dev_insert;	/* delivery_events */
	sqlite3_stmt	*qev_insert;	/* queue_events */
	sqlite3_stmt	*qid_msgs;	/* messages of a queue ID, newest first */
	sqlite3_stmt	*qid_link;	/* the newest in a window */
	sqlite3_stmt	*relink[4];	/* sql_relink[] */
	sqlite3_stmt	*pos_upsert;
	sqlite3_stmt	*bounce_insert;
	sqlite3_stmt	*brcpt_insert;
	sqlite3_stmt	*by_track;
	sqlite3_stmt	*by_msgid;
	sqlite3_stmt	*by_qid_rcpt;
	struct qcache_ent *qcache;	/* QCACHE_SLOTS */
	uint64_t	 qgen;
	struct mt_store_sqlite_counts pending;	/* this transaction */
	struct mt_store_sqlite_counts counts;	/* committed */
	int		 has_last_bounce;
	int64_t		 last_bounce_id;
	int64_t		 last_bounce_msg;
	const char	*last_bounce_link;
};

/*
 * The connection upsert.  COALESCE(excluded.x, x) lets a later snapshot set
 * or change a fact but not erase it; counters only grow.
 */
static const char sql_conn_upsert[] =
"INSERT INTO connections (conn_uid, connect_time, close_time, client_addr,"
" client_port, client_name, client_ptr, client_resolve, helo, tls_version,"
" tls_cipher, tls_bits, tls_cert_subject, tls_cert_issuer, auth_type,"
" auth_authen, auth_author, mta_host, mta_daemon, mta_version, trusted,"
" messages, unknown_count, unknown_cmds)"
" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
" ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)"
" ON CONFLICT (conn_uid) DO UPDATE SET"
" close_time = COALESCE(excluded.close_time, close_time),"
" client_addr = COALESCE(excluded.client_addr, client_addr),"
" client_port = COALESCE(excluded.client_port, client_port),"
" client_name = COALESCE(excluded.client_name, client_name),"
" client_ptr = COALESCE(excluded.client_ptr, client_ptr),"
" client_resolve = COALESCE(excluded.client_resolve, client_resolve),"
" helo = COALESCE(excluded.helo, helo),"
" tls_version = COALESCE(excluded.tls_version, tls_version),"
" tls_cipher = COALESCE(excluded.tls_cipher, tls_cipher),"
" tls_bits = COALESCE(excluded.tls_bits, tls_bits),"
" tls_cert_subject = COALESCE(excluded.tls_cert_subject, tls_cert_subject),"
" tls_cert_issuer = COALESCE(excluded.tls_cert_issuer, tls_cert_issuer),"
" auth_type = COALESCE(excluded.auth_type, auth_type),"
" auth_authen = COALESCE(excluded.auth_authen, auth_authen),"
" auth_author = COALESCE(excluded.auth_author, auth_author),"
" mta_host = COALESCE(excluded.mta_host, mta_host),"
" mta_daemon = COALESCE(excluded.mta_daemon, mta_daemon),"
" mta_version = COALESCE(excluded.mta_version, mta_version),"
" trusted = max(trusted, excluded.trusted),"
" messages = max(messages, excluded.messages),"
" unknown_count = max(unknown_count, excluded.unknown_count),"
" unknown_cmds = COALESCE(excluded.unknown_cmds, unknown_cmds)"
" RETURNING id";

struct binder;
static void	 bind_dmarc(struct binder *, const struct mt_auth_results *);

static const char sql_msg_insert[] =
"INSERT INTO messages (track_id, parent_id, conn_id, start_time, end_time,"
" stage, outcome, mail_from, mail_args, queue_id, message_id, hdr_from,"
" hdr_date, subject, header_bytes, body_bytes, size, n_headers,"
" rcpt_accepted, rcpt_rejected, rcpt_dropped, edits_dropped, truncations,"
" error, spf_result, dkim_result, authres, mta_size,"
" dmarc_result, dmarc_from_domain, dmarc_from_status, dmarc_from_count,"
" dmarc_record_domain, dmarc_org_domain, dmarc_record_p, dmarc_policy,"
" dmarc_policy_from, dmarc_adkim, dmarc_aspf, dmarc_pct, dmarc_testing,"
" dmarc_sample, dmarc_sampled_in, dmarc_disposition, dmarc_reasons,"
" dmarc_reason_text, dmarc_spf_domain, dmarc_spf_align, dmarc_action)"
" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
" ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29,"
" ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38, ?39, ?40, ?41, ?42, ?43,"
" ?44, ?45, ?46, ?47, ?48, ?49)";

/*
 * A revision (journal.c): a message stored before its durable submitter
 * timed out and told the MTA otherwise; only the outcome and error change.
 */
static const char sql_msg_revise[] =
"UPDATE messages SET outcome = ?1, error = ?2 WHERE track_id = ?3"
" RETURNING id";

static const char sql_rcpt_insert[] =
"INSERT INTO recipients (message, seq, time, address, args, status,"
" reply_code, enhanced_code, reply_text)"
" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

static const char sql_spf_insert[] =
"INSERT INTO spf_results (message, identity, domain, result, mechanism,"
" explanation, skip_reason, elapsed_us, time)"
" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

static const char sql_dkim_insert[] =
"INSERT INTO dkim_signatures (message, seq, domain, selector, algorithm,"
" identity, key_bits, result, reason, header_b, time, dmarc_align)"
" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

static const char sql_edit_insert[] =
"INSERT INTO header_edits (message, action, name, value, idx, reason)"
" VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/*
 * Log events.  ON CONFLICT DO NOTHING: a line already held (same time and
 * hash) is ignored, so a batch handed over twice, or a log ingested twice,
 * adds nothing.
 */
static const char sql_dev_insert[] =
"INSERT INTO delivery_events (message, queue_id, time, mta, host, program,"
" recipient, orig_recipient, status, relay, dsn, reply_code, reply, delay,"
" delays, next_queue_id, mailer, source, line_hash)"
" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
" ?16, ?17, ?18, ?19)"
" ON CONFLICT (time, status, line_hash) DO NOTHING";

static const char sql_qev_insert[] =
"INSERT INTO queue_events (message, queue_id, time, mta, host, program,"
" kind, sender, size, nrcpt, message_id, client, related_queue_id, source,"
" line_hash)"
" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
" ON CONFLICT (time, line_hash) DO NOTHING";

/* Index messages_queue_id (queue_id, start_time) serves both. */
static const char sql_qid_msgs[] =
"SELECT id, start_time FROM messages WHERE queue_id = ?1"
" ORDER BY start_time DESC LIMIT ?2";

static const char sql_qid_link[] =
"SELECT id FROM messages WHERE queue_id = ?1 AND start_time BETWEEN ?2 AND ?3"
" ORDER BY start_time DESC LIMIT 1";

/*
 * A new message takes the events of its queue ID in its window that have
 * no message, or whose message is an older user of the queue ID (linked
 * before this record arrived).  ?1 message, ?2 queue ID, ?3 and ?4 the
 * window of event times, ?5 the message's start.  Two statements each, so
 * that each uses an index: the events no message claims through the
 * partial index *_queue (queue_id, time) WHERE message IS NULL; the events
 * of an older message of the queue ID (an event is linked only to a
 * message of its own queue ID) through messages_queue_id and *_message.
 */
static const char sql_dev_relink_null[] =
"UPDATE delivery_events SET message = ?1"
" WHERE queue_id = ?2 AND time BETWEEN ?3 AND ?4 AND message IS NULL";

static const char sql_dev_relink_old[] =
"UPDATE delivery_events SET message = ?1"
" WHERE message IN (SELECT m.id FROM messages m WHERE m.queue_id = ?2"
" AND m.start_time < ?5 AND m.id <> ?1)"
" AND queue_id = ?2 AND time BETWEEN ?3 AND ?4";

static const char sql_qev_relink_null[] =
"UPDATE queue_events SET message = ?1"
" WHERE queue_id = ?2 AND time BETWEEN ?3 AND ?4 AND message IS NULL";

static const char sql_qev_relink_old[] =
"UPDATE queue_events SET message = ?1"
" WHERE message IN (SELECT m.id FROM messages m WHERE m.queue_id = ?2"
" AND m.start_time < ?5 AND m.id <> ?1)"
" AND queue_id = ?2 AND time BETWEEN ?3 AND ?4";

/* s->relink[i]; the first two have no ?5. */
static const char *const sql_relink[4] = {
	sql_dev_relink_null, sql_qev_relink_null,
	sql_dev_relink_old, sql_qev_relink_old,
};
#define RELINK_NULL	2	/* relink[0 .. RELINK_NULL - 1]: no ?5 */

/* The counters add up; the file's identity and offset are replaced. */
static const char sql_pos_upsert[] =
"INSERT INTO log_positions (path, dev, ino, head_hash, offset, updated,"
" lines, unparsed, too_long) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
" ON CONFLICT (path) DO UPDATE SET dev = excluded.dev, ino = excluded.ino,"
" head_hash = excluded.head_hash, offset = excluded.offset,"
" updated = excluded.updated, lines = lines + excluded.lines,"
" unparsed = unparsed + excluded.unparsed,"
" too_long = too_long + excluded.too_long";

static const char sql_bounce_insert[] =
"INSERT INTO bounces (message, link, time, source, kind, format,"
" bounce_track_id, reporting_mta, bounce_from, bounce_message_id,"
" bounce_subject, orig_track_id, orig_message_id, orig_queue_id, orig_from,"
" arrival_date, rcpt_dropped, truncations, error, content_hash)"
" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
" ?16, ?17, ?18, ?19, ?20)"
" ON CONFLICT (content_hash) DO NOTHING";

static const char sql_brcpt_insert[] =
"INSERT INTO bounce_recipients (bounce, seq, recipient, orig_recipient,"
" action, status, reply_code, permanent, reason, remote_mta, diagnostic,"
" last_attempt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

static const char sql_by_track[] =
"SELECT id FROM messages WHERE track_id = ?1";

/* ?1 with angle brackets, ?2 without: either may be what was stored. */
static const char sql_by_msgid[] =
"SELECT id FROM messages WHERE message_id IN (?1, ?2)"
" ORDER BY start_time DESC LIMIT 1";

static const char sql_by_qid_rcpt[] =
"SELECT m.id FROM messages m WHERE m.queue_id = ?1"
" AND m.start_time BETWEEN ?2 AND ?3 AND EXISTS (SELECT 1 FROM recipients r"
" WHERE r.message = m.id AND r.address = ?4 COLLATE NOCASE)"
" ORDER BY m.start_time DESC LIMIT 1";

/*
 * Binding in parameter order: each call binds the next parameter; the first
 * failure sticks in rc and later calls do nothing.  Values are bound
 * SQLITE_STATIC (not copied): every statement is stepped, reset and its
 * bindings cleared (run, query_id, qcache_fill) while the record it reads
 * from is alive.
 */
struct binder {
	sqlite3_stmt	*stmt;
	int		 next;
	int		 rc;
};

static void
bind_start(struct binder *b, sqlite3_stmt *stmt)
{
	b->stmt = stmt;
	b->next = 1;
	b->rc = SQLITE_OK;
}

/* Exact bytes; an unset value is NULL. */
static void
bind_bytes(struct binder *b, const struct mt_bytes *v)
{
	int	 i = b->next++;

	if (b->rc != SQLITE_OK)
		return;
	if (v->data == NULL)
		b->rc = sqlite3_bind_null(b->stmt, i);
	else if (v->len > INT_MAX)
		b->rc = SQLITE_TOOBIG;
	else
		b->rc = sqlite3_bind_text(b->stmt, i, v->data, (int)v->len,
		    SQLITE_STATIC);
}

/* Exact bytes for a NOT NULL column: an unset value is the empty string. */
static void
bind_bytes_nn(struct binder *b, const struct mt_bytes *v)
{
	static const struct mt_bytes empty = { "", 0 };

	bind_bytes(b, v->data != NULL ? v : &empty);
}

/* A static C string of ours (names of enums, reasons); NULL is NULL. */
static void
bind_str(struct binder *b, const char *s)
{
	int	 i = b->next++;

	if (b->rc != SQLITE_OK)
		return;
	if (s == NULL)
		b->rc = sqlite3_bind_null(b->stmt, i);
	else
		b->rc = sqlite3_bind_text(b->stmt, i, s, -1, SQLITE_STATIC);
}

static void
bind_int(struct binder *b, int64_t v)
{
	int	 i = b->next++;

	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_int64(b->stmt, i, v);
}

/* An integer whose "none" value is stored as NULL. */
static void
bind_int_or_null(struct binder *b, int64_t v, int64_t none)
{
	int	 i = b->next++;

	if (b->rc != SQLITE_OK)
		return;
	if (v == none)
		b->rc = sqlite3_bind_null(b->stmt, i);
	else
		b->rc = sqlite3_bind_int64(b->stmt, i, v);
}

static void
bind_u64(struct binder *b, uint64_t v)
{
	bind_int(b, v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

/* A 64-bit hash or identity: its bits as a signed integer, not clamped. */
static void
bind_bits(struct binder *b, uint64_t v)
{
	int64_t	 i;

	memcpy(&i, &v, sizeof(i));
	bind_int(b, i);
}

static void
bind_real_or_null(struct binder *b, double v)
{
	int	 i = b->next++;

	if (b->rc != SQLITE_OK)
		return;
	if (v < 0)
		b->rc = sqlite3_bind_null(b->stmt, i);
	else
		b->rc = sqlite3_bind_double(b->stmt, i, v);
}

/* Raw bytes that may be absent (p NULL): for values built here. */
static void
bind_mem(struct binder *b, const char *p, size_t len)
{
	struct mt_bytes	 v = { (char *)(uintptr_t)p, len };

	bind_bytes(b, &v);
}

/*
 * Run a bound statement to completion; the first returned row's column 0
 * goes to *id (0 when no row) when id is not NULL, and *got says whether
 * there was a row.  The statement is reset and its bindings cleared
 * whatever happens, ready for the next record.
 */
static int
run_rows(struct sqlite_store *s, sqlite3_stmt *stmt, int rc, int64_t *id,
    int *got, const char *what, char *err, size_t errlen)
{
	*got = 0;
	if (id != NULL)
		*id = 0;
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			if (id != NULL && !*got)
				*id = sqlite3_column_int64(stmt, 0);
			*got = 1;
		}
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "journal %s: %s: %s", s->path, what,
		    rc == SQLITE_TOOBIG ? "value too big" :
		    sqlite3_errmsg(s->db));
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return rc == SQLITE_OK ? 0 : -1;
}

/* run_rows for a statement that must return an id when id is not NULL. */
static int
run(struct sqlite_store *s, sqlite3_stmt *stmt, int rc, int64_t *id,
    const char *what, char *err, size_t errlen)
{
	int	 got;

	if (run_rows(s, stmt, rc, id, &got, what, err, errlen) < 0)
		return -1;
	if (id != NULL && !got) {
		snprintf(err, errlen, "journal %s: %s: no row id returned",
		    s->path, what);
		return -1;
	}
	return 0;
}

static int
write_conn(struct sqlite_store *s, const struct mt_conn_rec *c,
    int64_t *conn_id, char *err, size_t errlen)
{
	struct binder	 b;

	bind_start(&b, s->conn_upsert);
	bind_str(&b, c->conn_id);
	bind_int(&b, c->connect_us);
	bind_int_or_null(&b, c->close_us, 0);
	bind_bytes(&b, &c->client_addr);
	bind_int_or_null(&b, c->client_port, 0);
	bind_bytes(&b, &c->client_name);
	bind_bytes(&b, &c->client_ptr);
	bind_bytes(&b, &c->client_resolve);
	bind_bytes(&b, &c->helo);
	bind_bytes(&b, &c->tls_version);
	bind_bytes(&b, &c->tls_cipher);
	bind_int_or_null(&b, c->tls_bits < 0 ? -1 : c->tls_bits, -1);
	bind_bytes(&b, &c->tls_cert_subject);
	bind_bytes(&b, &c->tls_cert_issuer);
	bind_bytes(&b, &c->auth_type);
	bind_bytes(&b, &c->auth_authen);
	bind_bytes(&b, &c->auth_author);
	bind_bytes(&b, &c->mta_host);
	bind_bytes(&b, &c->mta_daemon);
	bind_bytes(&b, &c->mta_version);
	bind_int(&b, c->trusted != 0);
	bind_int(&b, c->n_messages);
	bind_int(&b, c->n_unknown);
	bind_bytes(&b, &c->unknown_cmds);
	return run(s, s->conn_upsert, b.rc, conn_id, "writing connection",
	    err, errlen);
}

static int
write_msg(struct sqlite_store *s, const struct mt_msg_rec *m, int64_t conn_id,
    int64_t *msg_id, char *err, size_t errlen)
{
	struct binder	 b;
	size_t		 i, rejected = 0;

	for (i = 0; i < m->n_rcpts; i++)
		if (m->rcpts[i].rejected)
			rejected++;

	bind_start(&b, s->msg_insert);
	bind_str(&b, m->track_id);
	bind_bytes(&b, &m->parent_id);
	bind_int(&b, conn_id);
	bind_int(&b, m->start_us);
	bind_int_or_null(&b, m->end_us, 0);
	bind_str(&b, record_stage_name(m->stage));
	bind_str(&b, record_outcome_name(m->outcome));
	bind_bytes(&b, &m->mail_from);
	bind_bytes(&b, &m->mail_args);
	bind_bytes(&b, &m->queue_id);
	bind_bytes(&b, &m->message_id);
	bind_bytes(&b, &m->hdr_from);
	bind_bytes(&b, &m->hdr_date);
	bind_bytes(&b, &m->hdr_subject);
	bind_u64(&b, m->header_bytes);
	bind_u64(&b, m->body_bytes);
	bind_u64(&b, m->header_bytes + m->body_bytes);
	bind_int(&b, m->n_headers);
	bind_u64(&b, m->n_rcpts - rejected);
	bind_u64(&b, rejected);
	bind_u64(&b, m->n_rcpts_dropped);
	bind_u64(&b, m->n_edits_dropped);
	bind_int(&b, m->truncations);
	bind_bytes(&b, &m->error);
	bind_str(&b, record_spf_summary(m));
	bind_str(&b, record_dkim_summary(m));
	bind_bytes(&b, &m->authres);
	bind_int_or_null(&b, (int64_t)m->mta_size, 0);
	bind_dmarc(&b, &m->auth);
	if (run(s, s->msg_insert, b.rc, NULL, "writing message", err,
	    errlen) < 0)
		return -1;
	*msg_id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* Rewrite a stored message's outcome and error (a revision). */
static int
revise_msg(struct sqlite_store *s, const struct mt_msg_rec *m, char *err,
    size_t errlen)
{
	struct binder	 b;
	int64_t		 id;

	bind_start(&b, s->msg_revise);
	bind_str(&b, record_outcome_name(m->outcome));
	bind_bytes(&b, &m->error);
	bind_str(&b, m->track_id);
	return run(s, s->msg_revise, b.rc, &id, "revising message", err,
	    errlen);
}

static int
write_rcpt(struct sqlite_store *s, const struct mt_rcpt *r, size_t seq,
    int64_t msg_id, char *err, size_t errlen)
{
	struct binder	 b;

	bind_start(&b, s->rcpt_insert);
	bind_int(&b, msg_id);
	bind_u64(&b, seq);
	bind_int_or_null(&b, r->time_us, 0);
	bind_bytes_nn(&b, &r->addr);
	bind_bytes(&b, &r->args);
	bind_str(&b, r->rejected ? "rejected" : "accepted");
	bind_int_or_null(&b, r->reply_code, 0);
	bind_bytes(&b, &r->status);
	bind_bytes(&b, &r->text);
	return run(s, s->rcpt_insert, b.rc, NULL, "writing recipient", err,
	    errlen);
}

static int
write_edit(struct sqlite_store *s, const struct mt_header_edit *e,
    int64_t msg_id, char *err, size_t errlen)
{
	struct binder	 b;

	bind_start(&b, s->edit_insert);
	bind_int(&b, msg_id);
	bind_str(&b, record_edit_action_name(e->action));
	bind_bytes_nn(&b, &e->name);
	bind_bytes(&b, &e->value);
	bind_int(&b, e->index);
	bind_str(&b, e->reason);
	return run(s, s->edit_insert, b.rc, NULL, "writing header edit", err,
	    errlen);
}

/* A fixed-size string from a library (DNS-derived: bound, never SQL text). */
static void
bind_text_or_null(struct binder *b, const char *v)
{
	bind_str(b, v != NULL && v[0] != '\0' ? v : NULL);
}

/* A string from a local buffer, copied by SQLite; NULL when empty. */
static void
bind_copy(struct binder *b, const char *s)
{
	int	 i = b->next++;

	if (b->rc != SQLITE_OK)
		return;
	if (s == NULL || s[0] == '\0')
		b->rc = sqlite3_bind_null(b->stmt, i);
	else
		b->rc = sqlite3_bind_text(b->stmt, i, s, -1,
		    SQLITE_TRANSIENT);
}

/* The DMARC columns of messages (21 values, NULL when not evaluated). */
static void
bind_dmarc(struct binder *b, const struct mt_auth_results *a)
{
	const struct mt_dmarc_outcome *o = a->dmarc;
	char		 reasons[256], words[1024];
	size_t		 i, n = 0;
	int		 rec;

	if (o == NULL) {
		for (i = 0; i < 21; i++)
			bind_str(b, NULL);
		return;
	}
	rec = o->have_record;
	reasons[0] = '\0';
	for (i = 0; i < MT_DMARC_R_COUNT; i++)
		if (o->reasons & (1u << i))
			n += (size_t)snprintf(reasons + n, n < sizeof(reasons) ?
			    sizeof(reasons) - n : 0, "%s%s", n > 0 ? "," : "",
			    dmarc_reason_name(1u << i));
	(void)dmarc_reason_text(o, words, sizeof(words));
	bind_str(b, dmarc_result_name(o->result));
	bind_text_or_null(b, o->from_domain);
	bind_str(b, fromhdr_status_name(o->from_status));
	bind_u64(b, a->n_from);
	bind_text_or_null(b, rec ? o->record_domain : NULL);
	bind_text_or_null(b, o->org_domain);
	bind_str(b, rec ? dmarc_policy_name(o->record.p) : NULL);
	bind_str(b, rec ? dmarc_policy_name(o->policy) : NULL);
	bind_str(b, rec ? dmarc_policy_from_name(o->policy_from) : NULL);
	bind_str(b, rec ? (o->adkim_strict ? "s" : "r") : NULL);
	bind_str(b, rec ? (o->aspf_strict ? "s" : "r") : NULL);
	bind_int_or_null(b, rec ? o->record.pct : -1, -1);
	bind_int_or_null(b, rec ? o->record.testing : -1, -1);
	bind_u64(b, a->dmarc_sample);
	bind_int_or_null(b, rec ? o->sampled_in : -1, -1);
	bind_str(b, dmarc_policy_name(o->disposition));
	/* Local buffers: SQLite copies them (bind_str's are static). */
	bind_copy(b, reasons);
	bind_copy(b, words);
	bind_text_or_null(b, o->spf.domain);
	bind_str(b, dmarc_align_name(o->spf.align));
	bind_str(b, a->action == MT_AUTH_ACT_REJECT ? "reject" :
	    a->action == MT_AUTH_ACT_QUARANTINE ? "quarantine" : "none");
}

static int
write_spf(struct sqlite_store *s, const struct mt_spf_rec *r, int64_t msg_id,
    char *err, size_t errlen)
{
	struct binder	 b;

	bind_start(&b, s->spf_insert);
	bind_int(&b, msg_id);
	bind_str(&b, r->identity == MT_SPF_HELO ? "helo" : "mailfrom");
	bind_text_or_null(&b, r->outcome.domain);
	bind_str(&b, r->skipped ? "skipped" :
	    spf_result_name(r->outcome.result));
	bind_text_or_null(&b, r->skipped ? NULL : r->outcome.mechanism);
	bind_text_or_null(&b, r->skipped ? NULL : r->outcome.explanation);
	bind_str(&b, r->skipped ? r->skip_reason : NULL);
	bind_int_or_null(&b, r->skipped ? 0 : r->outcome.elapsed_us, 0);
	bind_int(&b, r->time_us);
	return run(s, s->spf_insert, b.rc, NULL, "writing SPF result", err,
	    errlen);
}

static int
write_dkim(struct sqlite_store *s, const struct mt_dkim_sig *d, size_t seq,
    int64_t msg_id, int64_t time_us, const struct mt_dmarc_outcome *dm,
    char *err, size_t errlen)
{
	struct binder	 b;

	bind_start(&b, s->dkim_insert);
	bind_int(&b, msg_id);
	bind_u64(&b, seq);
	bind_text_or_null(&b, d->domain);
	bind_text_or_null(&b, d->selector);
	bind_text_or_null(&b, d->algorithm);
	bind_text_or_null(&b, d->identity);
	bind_int_or_null(&b, d->key_bits, 0);
	bind_str(&b, dkimv_result_name(d->result));
	bind_text_or_null(&b, d->reason);
	bind_text_or_null(&b, d->header_b);
	bind_int(&b, time_us);
	bind_str(&b, dm != NULL && seq - 1 < dm->n_dkim ?
	    dmarc_align_name(dm->dkim[seq - 1].align) : NULL);
	return run(s, s->dkim_insert, b.rc, NULL, "writing DKIM signature",
	    err, errlen);
}

/* ---------------------------------------------------------------- delivery */

/*
 * The names the CHECK constraints of queue_events.kind and
 * delivery_events.status allow: the parser's own names (maillog.h), for
 * the kinds and statuses that are stored; NULL for the others.
 */
static const char *
event_kind_name(enum mlog_kind k)
{
	return k > MLOG_DELIVERY && k <= MLOG_DEADLETTER ? mlog_kind_name(k) :
	    NULL;
}

static const char *
event_status_name(enum mlog_status st)
{
	return st == MLOG_STATUS_NONE ? NULL : mlog_status_name(st);
}

/* Step a statement that returns no row; the number of rows changed. */
static int
run_changes(struct sqlite_store *s, sqlite3_stmt *stmt, int rc, int *changes,
    const char *what, char *err, size_t errlen)
{
	if (run(s, stmt, rc, NULL, what, err, errlen) < 0)
		return -1;
	*changes = sqlite3_changes(s->db);
	return 0;
}

/* Run a query whose first row's column 0 is an id; *id 0 when no row. */
static int
query_id(struct sqlite_store *s, sqlite3_stmt *stmt, int rc, int64_t *id,
    const char *what, char *err, size_t errlen)
{
	int	 got;

	return run_rows(s, stmt, rc, id, &got, what, err, errlen);
}

/* The newest message of queue ID q started in the window around t, by SQL. */
static int
link_by_sql(struct sqlite_store *s, const struct mt_bytes *q, int64_t t,
    int64_t *msg, char *err, size_t errlen)
{
	struct binder	 b;

	bind_start(&b, s->qid_link);
	bind_bytes(&b, q);
	bind_int(&b, t - LINK_BEFORE_US);
	bind_int(&b, t + LINK_AFTER_US);
	return query_id(s, s->qid_link, b.rc, msg, "linking a log event",
	    err, errlen);
}

static uint64_t
qid_hash(const char *p, size_t len)
{
	uint64_t h = UINT64_C(14695981039346656037);
	size_t	 i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

/* Fill a cache slot with the newest messages of a queue ID. */
static int
qcache_fill(struct sqlite_store *s, struct qcache_ent *e,
    const struct mt_bytes *q, char *err, size_t errlen)
{
	struct binder	 b;
	int		 rc;

	e->gen = 0;
	e->n = 0;
	e->overflow = 0;
	bind_start(&b, s->qid_msgs);
	bind_bytes(&b, q);
	bind_int(&b, QCACHE_MSGS + 1);
	rc = b.rc;
	while (rc == SQLITE_OK &&
	    (rc = sqlite3_step(s->qid_msgs)) == SQLITE_ROW) {
		if (e->n == QCACHE_MSGS) {
			e->overflow = 1;
			continue;
		}
		e->id[e->n] = sqlite3_column_int64(s->qid_msgs, 0);
		e->start[e->n] = sqlite3_column_int64(s->qid_msgs, 1);
		e->n++;
		rc = SQLITE_OK;
	}
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "journal %s: linking a log event: %s",
		    s->path, sqlite3_errmsg(s->db));
	sqlite3_reset(s->qid_msgs);
	sqlite3_clear_bindings(s->qid_msgs);
	if (rc != SQLITE_OK)
		return -1;
	memcpy(e->qid, q->data, q->len);
	e->qlen = q->len;
	e->gen = s->qgen;
	return 0;
}

/*
 * The message a log event for queue ID q at time t belongs to (0 none):
 * the newest with that queue ID started within [t - before, t + after].
 */
static int
link_event(struct sqlite_store *s, const struct mt_bytes *q, int64_t t,
    int64_t *msg, char *err, size_t errlen)
{
	struct qcache_ent *e;
	unsigned	 i;

	*msg = 0;
	if (q->data == NULL || q->len == 0)
		return 0;
	if (q->len > MLOG_QUEUE_ID_MAX || s->qcache == NULL)
		return link_by_sql(s, q, t, msg, err, errlen);
	e = &s->qcache[qid_hash(q->data, q->len) & (QCACHE_SLOTS - 1)];
	if (e->gen != s->qgen || e->qlen != q->len ||
	    memcmp(e->qid, q->data, q->len) != 0) {
		if (qcache_fill(s, e, q, err, errlen) < 0)
			return -1;
	}
	if (e->overflow)
		return link_by_sql(s, q, t, msg, err, errlen);
	for (i = 0; i < e->n; i++) {
		if (e->start[i] > t + LINK_AFTER_US)
			continue;
		if (e->start[i] >= t - LINK_BEFORE_US)
			*msg = e->id[i];
		break;
	}
	return 0;
}

static int
write_event(struct sqlite_store *s, const struct mt_log_event *e,
    const char *source, char *err, size_t errlen)
{
	struct binder	 b;
	const char	*name, *dp;
	char		 delays[128];
	size_t		 dlen;
	int64_t		 msg;
	int		 changes, rc;

	if (e->kind == MLOG_DELIVERY) {
		if ((name = event_status_name(e->status)) == NULL)
			return 1;	/* not a status we store: skipped */
	} else if ((name = event_kind_name(e->kind)) == NULL)
		return 1;
	if (link_event(s, &e->queue_id, e->time_us, &msg, err, errlen) < 0)
		return -1;

	if (e->kind == MLOG_DELIVERY) {
		/* Formatted by log_batch_add, in the thread that parses. */
		if (e->delays_text.data != NULL) {
			dp = e->delays_text.data;
			dlen = e->delays_text.len;
		} else {
			dlen = log_delays_format(delays, sizeof(delays),
			    e->delays);
			dp = delays;
		}
		bind_start(&b, s->dev_insert);
		bind_int_or_null(&b, msg, 0);
		bind_bytes_nn(&b, &e->queue_id);
		bind_int(&b, e->time_us);
		bind_str(&b, mlog_mta_name(e->mta));
		bind_bytes(&b, &e->host);
		bind_bytes(&b, &e->program);
		bind_bytes(&b, &e->recipient);
		bind_bytes(&b, &e->orig_recipient);
		bind_str(&b, name);
		bind_bytes(&b, &e->relay);
		bind_bytes(&b, &e->dsn);
		bind_int_or_null(&b, e->reply_code, 0);
		bind_bytes(&b, &e->reply);
		bind_real_or_null(&b, e->delay);
		bind_mem(&b, dlen > 0 ? dp : NULL, dlen);
		bind_bytes(&b, &e->next_queue_id);
		bind_bytes(&b, &e->mailer);
		bind_str(&b, source);
		bind_bits(&b, e->line_hash);
		rc = run_changes(s, s->dev_insert, b.rc, &changes,
		    "writing a delivery event", err, errlen);
	} else {
		bind_start(&b, s->qev_insert);
		bind_int_or_null(&b, msg, 0);
		bind_bytes_nn(&b, &e->queue_id);
		bind_int(&b, e->time_us);
		bind_str(&b, mlog_mta_name(e->mta));
		bind_bytes(&b, &e->host);
		bind_bytes(&b, &e->program);
		bind_str(&b, name);
		bind_bytes(&b, &e->sender);
		bind_int_or_null(&b, e->size, -1);
		bind_int_or_null(&b, e->nrcpt, -1);
		bind_bytes(&b, &e->message_id);
		bind_bytes(&b, &e->client);
		bind_bytes(&b, &e->related_queue_id);
		bind_str(&b, source);
		bind_bits(&b, e->line_hash);
		rc = run_changes(s, s->qev_insert, b.rc, &changes,
		    "writing a queue event", err, errlen);
	}
	if (rc < 0)
		return -1;
	if (changes > 0) {
		s->pending.events_new++;
		if (msg != 0)
			s->pending.events_linked++;
	} else
		s->pending.events_dup++;
	return 0;
}

static int
write_position(struct sqlite_store *s, const struct mt_log_position *p,
    char *err, size_t errlen)
{
	struct binder	 b;
	int		 changes;

	if (p->path.data == NULL)
		return 0;	/* nothing to key it by */
	bind_start(&b, s->pos_upsert);
	bind_bytes(&b, &p->path);
	bind_bits(&b, p->dev);
	bind_bits(&b, p->ino);
	bind_bits(&b, p->head_hash);
	bind_int(&b, p->offset);
	bind_int(&b, p->time_us != 0 ? p->time_us : mt_now_us());
	bind_u64(&b, p->lines);
	bind_u64(&b, p->unparsed);
	bind_u64(&b, p->too_long);
	if (run_changes(s, s->pos_upsert, b.rc, &changes,
	    "writing the log position", err, errlen) < 0)
		return -1;
	s->pending.positions++;
	return 0;
}

static int
write_logbatch(struct sqlite_store *s, const struct mt_log_batch *lb,
    char *err, size_t errlen)
{
	const char	*source = mt_event_source_name(lb->source);
	size_t		 i;

	for (i = 0; i < lb->n; i++)
		if (write_event(s, &lb->ev[i], source, err, errlen) < 0)
			return -1;
	if (lb->has_position)
		return write_position(s, &lb->pos, err, errlen);
	return 0;
}

/*
 * A message record arrived: link the events of its queue ID that were
 * written before it (see sql_relink).
 */
static int
relink_events(struct sqlite_store *s, const struct mt_msg_rec *m,
    int64_t msg_id, char *err, size_t errlen)
{
	struct binder	 b;
	size_t		 i;
	int		 changes;

	s->qgen++;		/* the cached queue IDs may now link here */
	if (m->queue_id.data == NULL || m->queue_id.len == 0)
		return 0;
	for (i = 0; i < 4; i++) {
		bind_start(&b, s->relink[i]);
		bind_int(&b, msg_id);
		bind_bytes(&b, &m->queue_id);
		bind_int(&b, m->start_us - LINK_AFTER_US);
		bind_int(&b, m->start_us + LINK_BEFORE_US);
		if (i >= RELINK_NULL)
			bind_int(&b, m->start_us);
		if (run_changes(s, s->relink[i], b.rc, &changes,
		    "linking log events to a message", err, errlen) < 0)
			return -1;
		s->pending.events_relinked += (uint64_t)changes;
	}
	return 0;
}

/* Trim blanks and one pair of angle brackets: the bare form of an ID. */
static void
bare_id(const struct mt_bytes *v, const char **p, size_t *len)
{
	const char	*s = v->data;
	size_t		 n = v->len;

	while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s++;
		n -= 2;
	}
	*p = s;
	*len = n;
}

/*
 * The message a bounce reports on, by its most exact key: our tracking
 * ID, then the Message-ID (newest message), then the queue ID with one of
 * the bounce's recipients among the message's, in the linking window.
 */
static int
link_bounce(struct sqlite_store *s, const struct mt_bounce_rec *br,
    int64_t *msg, const char **link, char *err, size_t errlen)
{
	struct binder	 b;
	const char	*p;
	char		*with;
	size_t		 len, i;
	int		 rc;

	*msg = 0;
	*link = "none";
	if (br->orig_track_id.data != NULL) {
		bare_id(&br->orig_track_id, &p, &len);
		if (len > 0) {
			bind_start(&b, s->by_track);
			bind_mem(&b, p, len);
			if (query_id(s, s->by_track, b.rc, msg,
			    "linking a bounce", err, errlen) < 0)
				return -1;
			if (*msg != 0) {
				*link = "tracking-id";
				return 0;
			}
		}
	}
	if (br->orig_message_id.data != NULL) {
		bare_id(&br->orig_message_id, &p, &len);
		if (len > 0) {
			if ((with = malloc(len + 2)) == NULL) {
				snprintf(err, errlen, "journal %s: out of"
				    " memory", s->path);
				return -1;
			}
			with[0] = '<';
			memcpy(with + 1, p, len);
			with[len + 1] = '>';
			bind_start(&b, s->by_msgid);
			bind_mem(&b, with, len + 2);
			bind_mem(&b, p, len);
			rc = query_id(s, s->by_msgid, b.rc, msg,
			    "linking a bounce", err, errlen);
			free(with);
			if (rc < 0)
				return -1;
			if (*msg != 0) {
				*link = "message-id";
				return 0;
			}
		}
	}
	if (br->orig_queue_id.data != NULL) {
		bare_id(&br->orig_queue_id, &p, &len);
		for (i = 0; len > 0 && i < br->n_rcpts &&
		    i < BOUNCE_LINK_RCPTS; i++) {
			const char *a;
			size_t	 alen;

			if (br->rcpts[i].recipient.data == NULL)
				continue;
			bare_id(&br->rcpts[i].recipient, &a, &alen);
			if (alen == 0)
				continue;
			bind_start(&b, s->by_qid_rcpt);
			bind_mem(&b, p, len);
			bind_int(&b, br->time_us - LINK_BEFORE_US);
			bind_int(&b, br->time_us + LINK_AFTER_US);
			bind_mem(&b, a, alen);
			if (query_id(s, s->by_qid_rcpt, b.rc, msg,
			    "linking a bounce", err, errlen) < 0)
				return -1;
			if (*msg != 0) {
				*link = "queue-id";
				return 0;
			}
		}
	}
	return 0;
}

static int
write_bounce_rcpt(struct sqlite_store *s, const struct mt_bounce_rcpt *r,
    size_t seq, int64_t bounce_id, char *err, size_t errlen)
{
	struct binder	 b;

	bind_start(&b, s->brcpt_insert);
	bind_int(&b, bounce_id);
	bind_u64(&b, seq);
	bind_bytes(&b, &r->recipient);
	bind_bytes(&b, &r->orig_recipient);
	bind_bytes(&b, &r->action);
	bind_bytes(&b, &r->status);
	bind_int_or_null(&b, r->reply_code, 0);
	bind_int_or_null(&b, r->permanent < 0 ? -1 : r->permanent != 0, -1);
	bind_str(&b, mt_bounce_reason_name(r->reason));
	bind_bytes(&b, &r->remote_mta);
	bind_bytes(&b, &r->diagnostic);
	bind_bytes(&b, &r->last_attempt);
	return run(s, s->brcpt_insert, b.rc, NULL, "writing a bounce"
	    " recipient", err, errlen);
}

static int
write_bounce(struct sqlite_store *s, const struct mt_bounce_rec *br,
    char *err, size_t errlen)
{
	struct binder	 b;
	const char	*link;
	int64_t		 msg, bounce_id;
	size_t		 i;
	int		 changes;

	if (link_bounce(s, br, &msg, &link, err, errlen) < 0)
		return -1;
	bind_start(&b, s->bounce_insert);
	bind_int_or_null(&b, msg, 0);
	bind_str(&b, link);
	bind_int(&b, br->time_us != 0 ? br->time_us : mt_now_us());
	bind_str(&b, mt_event_source_name(br->source));
	bind_str(&b, mt_bounce_kind_name(br->kind));
	bind_str(&b, br->format != NULL ? br->format : "unknown");
	bind_bytes(&b, &br->bounce_track_id);
	bind_bytes(&b, &br->reporting_mta);
	bind_bytes(&b, &br->bounce_from);
	bind_bytes(&b, &br->bounce_message_id);
	bind_bytes(&b, &br->bounce_subject);
	bind_bytes(&b, &br->orig_track_id);
	bind_bytes(&b, &br->orig_message_id);
	bind_bytes(&b, &br->orig_queue_id);
	bind_bytes(&b, &br->orig_from);
	bind_bytes(&b, &br->arrival_date);
	bind_u64(&b, br->n_rcpts_dropped);
	bind_int(&b, br->truncations);
	bind_bytes(&b, &br->error);
	bind_bits(&b, br->content_hash);
	if (run_changes(s, s->bounce_insert, b.rc, &changes, "writing a"
	    " bounce", err, errlen) < 0)
		return -1;
	s->has_last_bounce = 1;
	s->last_bounce_msg = msg;
	s->last_bounce_link = link;
	if (changes == 0) {
		/* Already held (same content): its recipients are too. */
		s->last_bounce_id = 0;
		s->pending.bounces_dup++;
		return 0;
	}
	bounce_id = sqlite3_last_insert_rowid(s->db);
	s->last_bounce_id = bounce_id;
	for (i = 0; i < br->n_rcpts; i++)
		if (write_bounce_rcpt(s, &br->rcpts[i], i + 1, bounce_id, err,
		    errlen) < 0)
			return -1;
	s->pending.bounces_new++;
	if (msg != 0)
		s->pending.bounces_linked++;
	return 0;
}

static int
sq_write(struct mt_store *st, const struct mt_record *rec, char *err,
    size_t errlen)
{
	struct sqlite_store *s = st->impl;
	const struct mt_msg_rec *m = &rec->msg;
	int64_t		 conn_id = 0, msg_id;
	size_t		 i;

	switch (rec->kind) {
	case MT_RECORD_LOGBATCH:
		return rec->logs != NULL ? write_logbatch(s, rec->logs, err,
		    errlen) : 0;
	case MT_RECORD_BOUNCE:
		return rec->bounce != NULL ? write_bounce(s, rec->bounce, err,
		    errlen) : 0;
	case MT_RECORD_MESSAGE:
		if (rec->revision)
			return revise_msg(s, m, err, errlen);
		break;
	case MT_RECORD_CONNECTION:
		break;
	}
	if (write_conn(s, &rec->conn, &conn_id, err, errlen) < 0)
		return -1;
	if (rec->kind != MT_RECORD_MESSAGE)
		return 0;
	if (write_msg(s, m, conn_id, &msg_id, err, errlen) < 0)
		return -1;
	if (relink_events(s, m, msg_id, err, errlen) < 0)
		return -1;
	for (i = 0; i < m->n_rcpts; i++)
		if (write_rcpt(s, &m->rcpts[i], i + 1, msg_id, err, errlen) < 0)
			return -1;
	for (i = 0; i < m->n_edits; i++)
		if (write_edit(s, &m->edits[i], msg_id, err, errlen) < 0)
			return -1;
	for (i = 0; i < m->auth.n_spf; i++)
		if (write_spf(s, &m->auth.spf[i], msg_id, err, errlen) < 0)
			return -1;
	for (i = 0; i < m->auth.n_dkim; i++)
		if (write_dkim(s, &m->auth.dkim[i], i + 1, msg_id, m->end_us,
		    m->auth.dmarc, err, errlen) < 0)
			return -1;
	return 0;
}

static int
exec_sql(struct sqlite_store *s, const char *sql, const char *what, char *err,
    size_t errlen)
{
	char	*msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "journal %s: %s: %s", s->path, what,
	    msg != NULL ? msg : sqlite3_errmsg(s->db));
	sqlite3_free(msg);
	return -1;
}

static int
sq_begin(struct mt_store *st, char *err, size_t errlen)
{
	struct sqlite_store *s = st->impl;

	/* Another process may have written messages since our last look. */
	s->qgen++;
	memset(&s->pending, 0, sizeof(s->pending));
	return exec_sql(s, "BEGIN IMMEDIATE", "begin", err, errlen);
}

static void
sq_rollback(struct mt_store *st)
{
	struct sqlite_store *s = st->impl;

	s->qgen++;
	memset(&s->pending, 0, sizeof(s->pending));
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static void
counts_add(struct mt_store_sqlite_counts *to,
    const struct mt_store_sqlite_counts *c)
{
	to->events_new += c->events_new;
	to->events_dup += c->events_dup;
	to->events_linked += c->events_linked;
	to->events_relinked += c->events_relinked;
	to->bounces_new += c->bounces_new;
	to->bounces_dup += c->bounces_dup;
	to->bounces_linked += c->bounces_linked;
	to->positions += c->positions;
}

/*
 * A bulk loader's WAL hook (in place of SQLite's auto-checkpoint): note
 * the WAL's size after each of our commits.
 */
static int
bulk_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct sqlite_store *s = arg;

	(void)db;
	(void)name;
	s->wal_frames = frames;
	return SQLITE_OK;
}

/*
 * Copy the WAL into the database file, outside any transaction (passive:
 * the daemon's writer is never kept waiting), and let the next writer
 * start the WAL again.  A failure is harmless: the frames stay in the WAL
 * for the next checkpoint, ours or the daemon's.
 */
static void
bulk_checkpoint(struct sqlite_store *s)
{
	(void)sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    NULL, NULL);
	s->wal_frames = 0;
}

static int
sq_commit(struct mt_store *st, char *err, size_t errlen)
{
	struct sqlite_store *s = st->impl;

	if (exec_sql(s, "COMMIT", "commit", err, errlen) == 0) {
		counts_add(&s->counts, &s->pending);
		memset(&s->pending, 0, sizeof(s->pending));
		return 0;
	}
	/* A failed COMMIT may leave the transaction open (SQLITE_BUSY). */
	sq_rollback(st);
	return -1;
}

static void
sq_close(struct mt_store *st)
{
	struct sqlite_store *s;
	size_t		 i;

	if (st == NULL)
		return;
	s = st->impl;
	sqlite3_finalize(s->conn_upsert);
	sqlite3_finalize(s->msg_insert);
	sqlite3_finalize(s->msg_revise);
	sqlite3_finalize(s->rcpt_insert);
	sqlite3_finalize(s->edit_insert);
	sqlite3_finalize(s->spf_insert);
	sqlite3_finalize(s->dkim_insert);
	sqlite3_finalize(s->dev_insert);
	sqlite3_finalize(s->qev_insert);
	sqlite3_finalize(s->qid_msgs);
	sqlite3_finalize(s->qid_link);
	for (i = 0; i < 4; i++)
		sqlite3_finalize(s->relink[i]);
	sqlite3_finalize(s->pos_upsert);
	sqlite3_finalize(s->bounce_insert);
	sqlite3_finalize(s->brcpt_insert);
	sqlite3_finalize(s->by_track);
	sqlite3_finalize(s->by_msgid);
	sqlite3_finalize(s->by_qid_rcpt);
	sqlite3_finalize(s->data_version);
	free(s->qcache);
	if (s->db != NULL) {
		sq_rollback(st);
		if (s->bulk && s->wal_frames > 0)
			bulk_checkpoint(s);
		sqlite3_close(s->db);
	}
	free(s->path);
	free(s);
}

static const struct mt_store_ops sqlite_ops = {
	.name = "sqlite",
	.begin = sq_begin,
	.write = sq_write,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.close = sq_close,
};

/*
 * SQLite's busy handler: poll every BUSY_POLL_US until busy_ms have passed
 * since the first retry of this wait (n == 0).  SQLite's own timeout
 * sleeps longer and longer (up to 100 ms), which adds its sleep to the
 * wait and can keep missing the lock when another process commits often.
 */
static int
busy_wait(void *arg, int n)
{
	struct sqlite_store *s = arg;
	struct timespec	 ts = { 0, BUSY_POLL_US * 1000 };
	int64_t		 now = mt_mono_us();

	if (n == 0)
		s->busy_since = now;
	if (now - s->busy_since >= (int64_t)s->busy_ms * 1000)
		return 0;
	nanosleep(&ts, NULL);
	return 1;
}

/*
 * Create a missing journal file with the configured mode, whatever the
 * umask: SQLite gives the -wal and -shm files the mode of the database
 * file, so this decides who may read the journal.
 */
/*
 * An existing journal file (or its -wal, -shm) must have the configured
 * mode: journal.mode is not only for new files.  A different mode is fixed
 * through the descriptor (fchmod: we own it, or we are root); when that is
 * not allowed and the file is more open than asked, the journal is refused.
 * Never through a symlink (O_NOFOLLOW: a symlinked journal is left as is).
 */
static int
check_one_mode(const char *path, unsigned mode, char *err, size_t errlen)
{
	struct stat	 st;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) < 0) {
		/* Missing, a symlink (as before: SQLite follows it, and its
		 * target is not ours to change) or unreadable: SQLite says
		 * what is wrong, if anything. */
		return 0;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "journal %s is not a regular file", path);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 07777) != mode && fchmod(fd, (mode_t)mode) != 0 &&
	    (st.st_mode & 0777 & ~mode) != 0) {
		snprintf(err, errlen, "journal %s has mode %04o, more open "
		    "than journal.mode %04o, and cannot be changed: %s", path,
		    (unsigned)(st.st_mode & 07777), mode, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
check_mode(const char *path, unsigned mode, char *err, size_t errlen)
{
	char	 side[4096];

	if (check_one_mode(path, mode, err, errlen) < 0)
		return -1;
	snprintf(side, sizeof(side), "%s-wal", path);
	if (check_one_mode(side, mode, err, errlen) < 0)
		return -1;
	snprintf(side, sizeof(side), "%s-shm", path);
	return check_one_mode(side, mode, err, errlen);
}

/* enforce: an existing file must have mode too (journal.mode was given). */
static int
create_file(const char *path, unsigned mode, int enforce, char *err,
    size_t errlen)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    (mode_t)mode);
	if (fd < 0) {
		if (errno == EEXIST)
			return enforce ? check_mode(path, mode, err, errlen) :
			    0;
		snprintf(err, errlen, "cannot create journal %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fchmod(fd, (mode_t)mode) < 0) {
		snprintf(err, errlen, "cannot set the mode of journal %s: %s",
		    path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

static int
prepare(struct sqlite_store *s, const char *sql, sqlite3_stmt **stmt,
    char *err, size_t errlen)
{
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt,
	    NULL) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "journal %s: preparing statements: %s", s->path,
	    sqlite3_errmsg(s->db));
	return -1;
}

/* Switch to WAL and check that SQLite agreed. */
static int
set_wal(struct sqlite_store *s, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	const char	*mode;
	int		 ok = 0;

	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &stmt,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "journal %s: setting WAL mode: %s",
		    s->path, sqlite3_errmsg(s->db));
		return -1;
	}
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		mode = (const char *)sqlite3_column_text(stmt, 0);
		if (mode != NULL && strcasecmp(mode, "wal") == 0)
			ok = 1;
		else
			snprintf(err, errlen, "journal %s: SQLite refused WAL"
			    " mode (journal_mode is %s)", s->path,
			    mode != NULL ? mode : "unknown");
	} else
		snprintf(err, errlen, "journal %s: setting WAL mode: %s",
		    s->path, sqlite3_errmsg(s->db));
	sqlite3_finalize(stmt);
	return ok ? 0 : -1;
}

struct mt_store *
store_sqlite_open(const struct mt_store_sqlite_opts *opts, char *err,
    size_t errlen)
{
	struct sqlite_store *s;
	unsigned	 mode;
	int		 rc, eno, persist;

	if (opts == NULL || opts->path == NULL || *opts->path == '\0') {
		snprintf(err, errlen, "journal: no path given");
		return NULL;
	}
	mode = opts->mode != 0 ? opts->mode & 07777 : DEFAULT_MODE;
	if (create_file(opts->path, mode, opts->mode != 0, err, errlen) < 0)
		return NULL;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->path = strdup(opts->path)) == NULL) {
		free(s);
		snprintf(err, errlen, "journal %s: out of memory", opts->path);
		return NULL;
	}
	s->store.ops = &sqlite_ops;
	s->store.impl = s;

	rc = sqlite3_open_v2(opts->path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		eno = s->db != NULL ? sqlite3_system_errno(s->db) : 0;
		snprintf(err, errlen, "cannot open journal %s: %s%s%s%s",
		    s->path, s->db != NULL ? sqlite3_errmsg(s->db) :
		    "out of memory", eno != 0 ? " (" : "",
		    eno != 0 ? strerror(eno) : "", eno != 0 ? ")" : "");
		goto fail;
	}
	s->busy_ms = opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms :
	    DEFAULT_BUSY_MS;
	sqlite3_busy_handler(s->db, busy_wait, s);

	/*
	 * Check and migrate before switching to WAL, so that a file that is
	 * not ours (or is newer than we are) is refused untouched.
	 */
	if (schema_migrate(s->db, err, errlen) < 0)
		goto fail;
	if (set_wal(s, err, errlen) < 0)
		goto fail;
	/*
	 * Keep the -wal and -shm files when we close: a reader that may only
	 * read the journal (group mailtrail, sqlite3 -readonly) can open a WAL
	 * database only if they exist.  The WAL is cut back to
	 * WAL_SIZE_LIMIT after checkpoints so the kept file stays small.
	 */
	persist = 1;
	sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL,
	    &persist);
	if (exec_sql(s, opts->synchronous_full ? "PRAGMA synchronous=FULL" :
	    "PRAGMA synchronous=NORMAL", "setting synchronous", err,
	    errlen) < 0 ||
	    exec_sql(s, opts->bulk ? "PRAGMA foreign_keys=OFF" :
	    "PRAGMA foreign_keys=ON", "setting foreign keys", err,
	    errlen) < 0 ||
	    (opts->bulk && exec_sql(s, "PRAGMA cache_size=-" BULK_CACHE_KIB,
	    "setting the cache size", err, errlen) < 0) ||
	    exec_sql(s, "PRAGMA journal_size_limit=" WAL_SIZE_LIMIT,
	    "setting journal_size_limit", err, errlen) < 0)
		goto fail;
	if (opts->bulk) {
		s->bulk = 1;
		sqlite3_wal_hook(s->db, bulk_wal_hook, s);
		if (prepare(s, "PRAGMA data_version", &s->data_version, err,
		    errlen) < 0)
			goto fail;
	}
	if (opts->test_pragma != NULL &&
	    exec_sql(s, opts->test_pragma, "test pragma", err, errlen) < 0)
		goto fail;

	if (prepare(s, sql_conn_upsert, &s->conn_upsert, err, errlen) < 0 ||
	    prepare(s, sql_msg_insert, &s->msg_insert, err, errlen) < 0 ||
	    prepare(s, sql_msg_revise, &s->msg_revise, err, errlen) < 0 ||
	    prepare(s, sql_rcpt_insert, &s->rcpt_insert, err, errlen) < 0 ||
	    prepare(s, sql_edit_insert, &s->edit_insert, err, errlen) < 0 ||
	    prepare(s, sql_spf_insert, &s->spf_insert, err, errlen) < 0 ||
	    prepare(s, sql_dkim_insert, &s->dkim_insert, err, errlen) < 0 ||
	    prepare(s, sql_dev_insert, &s->dev_insert, err, errlen) < 0 ||
	    prepare(s, sql_qev_insert, &s->qev_insert, err, errlen) < 0 ||
	    prepare(s, sql_qid_msgs, &s->qid_msgs, err, errlen) < 0 ||
	    prepare(s, sql_qid_link, &s->qid_link, err, errlen) < 0 ||
	    prepare(s, sql_relink[0], &s->relink[0], err, errlen) < 0 ||
	    prepare(s, sql_relink[1], &s->relink[1], err, errlen) < 0 ||
	    prepare(s, sql_relink[2], &s->relink[2], err, errlen) < 0 ||
	    prepare(s, sql_relink[3], &s->relink[3], err, errlen) < 0 ||
	    prepare(s, sql_pos_upsert, &s->pos_upsert, err, errlen) < 0 ||
	    prepare(s, sql_bounce_insert, &s->bounce_insert, err, errlen) < 0 ||
	    prepare(s, sql_brcpt_insert, &s->brcpt_insert, err, errlen) < 0 ||
	    prepare(s, sql_by_track, &s->by_track, err, errlen) < 0 ||
	    prepare(s, sql_by_msgid, &s->by_msgid, err, errlen) < 0 ||
	    prepare(s, sql_by_qid_rcpt, &s->by_qid_rcpt, err, errlen) < 0)
		goto fail;
	/* Without the cache every lookup asks SQLite: slower, not wrong. */
	s->qcache = calloc(QCACHE_SLOTS, sizeof(*s->qcache));
	s->qgen = 1;
	return &s->store;

fail:
	sq_close(&s->store);
	return NULL;
}

/* Whether another connection (the daemon) committed since our last look. */
static int
others_wrote(struct sqlite_store *s)
{
	int64_t	 v;
	int	 changed = 0;

	if (s->data_version == NULL)
		return 0;
	if (sqlite3_step(s->data_version) == SQLITE_ROW) {
		v = sqlite3_column_int64(s->data_version, 0);
		changed = s->version != 0 && v != s->version;
		s->version = v;
	}
	sqlite3_reset(s->data_version);
	return changed;
}

int
store_sqlite_bulk_between(struct mt_store *st)
{
	struct sqlite_store *s;
	struct timespec	 ts = { 0, BULK_YIELD_US * 1000 };
	int64_t		 now;
	int		 frames = BULK_CKPT_FRAMES, others;

	if (st == NULL || st->ops != &sqlite_ops)
		return 0;
	s = st->impl;
	if (!s->bulk || !sqlite3_get_autocommit(s->db))
		return 0;
	/*
	 * While another writer commits beside us, checkpoint as SQLite's
	 * auto-checkpoint would (each of us then copies little), and leave
	 * it the lock for a moment: its busy handler polls every
	 * millisecond, and our next BEGIN would otherwise come first.
	 * Alone, checkpoint rarely: each one costs two fsyncs.
	 */
	now = mt_mono_us();
	if (others_wrote(s))
		s->others_us = now;
	others = s->others_us != 0 && now - s->others_us < BULK_OTHERS_US;
	if (others)
		frames = BULK_OTHERS_FRAMES;
	if (s->wal_frames >= frames)
		bulk_checkpoint(s);
	if (others)
		nanosleep(&ts, NULL);
	return others;
}

void
store_sqlite_one_thread(void)
{
	/* SQLITE_MISUSE once SQLite is initialised: then nothing changes. */
	(void)sqlite3_config(SQLITE_CONFIG_SINGLETHREAD);
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

void
store_sqlite_counts(const struct mt_store *st,
    struct mt_store_sqlite_counts *out)
{
	const struct sqlite_store *s;

	memset(out, 0, sizeof(*out));
	if (st == NULL || st->ops != &sqlite_ops)
		return;
	s = st->impl;
	*out = s->counts;
}

int
store_sqlite_last_bounce(const struct mt_store *st, int64_t *bounce_id,
    int64_t *message_id, const char **link)
{
	const struct sqlite_store *s;

	if (st == NULL || st->ops != &sqlite_ops)
		return -1;
	s = st->impl;
	if (!s->has_last_bounce)
		return -1;
	*bounce_id = s->last_bounce_id;
	*message_id = s->last_bounce_msg;
	*link = s->last_bounce_link;
	return 0;
}

int
store_sqlite_log_position(const char *db_path, const char *log_path,
    struct mt_log_position *out, char *err, size_t errlen)
{
	sqlite3		*db = NULL;
	sqlite3_stmt	*stmt = NULL;
	struct stat	 sb;
	int64_t		 v;
	int		 rc, found = 0;

	memset(out, 0, sizeof(*out));
	if (db_path == NULL || log_path == NULL) {
		snprintf(err, errlen, "journal: no path given");
		return -1;
	}
	if (stat(db_path, &sb) < 0 && errno == ENOENT)
		return 0;
	rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open journal %s: %s", db_path,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, DEFAULT_BUSY_MS);
	rc = sqlite3_prepare_v2(db, "SELECT dev, ino, head_hash, offset,"
	    " updated FROM log_positions WHERE path = ?1", -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		/* A journal older than schema 5 holds no positions. */
		if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE"
		    " name = 'log_positions'", -1, &stmt, NULL) == SQLITE_OK &&
		    sqlite3_step(stmt) == SQLITE_DONE &&
		    sqlite3_errcode(db) != SQLITE_NOTADB) {
			sqlite3_finalize(stmt);
			sqlite3_close(db);
			return 0;
		}
		snprintf(err, errlen, "journal %s: reading the log position:"
		    " %s", db_path, sqlite3_errmsg(db));
		sqlite3_finalize(stmt);
		sqlite3_close(db);
		return -1;
	}
	sqlite3_bind_text(stmt, 1, log_path, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		v = sqlite3_column_int64(stmt, 0);
		memcpy(&out->dev, &v, sizeof(v));
		v = sqlite3_column_int64(stmt, 1);
		memcpy(&out->ino, &v, sizeof(v));
		v = sqlite3_column_int64(stmt, 2);
		memcpy(&out->head_hash, &v, sizeof(v));
		out->offset = sqlite3_column_int64(stmt, 3);
		out->time_us = sqlite3_column_int64(stmt, 4);
		if (mt_bytes_setstr(&out->path, log_path, strlen(log_path)) < 0) {
			snprintf(err, errlen, "journal %s: out of memory",
			    db_path);
			found = -1;
		} else
			found = 1;
	} else if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "journal %s: reading the log position:"
		    " %s", db_path, sqlite3_errmsg(db));
		found = -1;
	}
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return found;
}
