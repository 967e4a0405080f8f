/*
 * test_store_delivery.c - the SQLite store's delivery tracking (schema 5):
 * log events, their links to messages in both directions and the time
 * window, log positions, bounces and their links, the migration from
 * version 4, and log batches and bounces through the journal.
 *
 * Every case uses a real SQLite file in a private directory, written
 * through store_sqlite_open() and read back through a second, read-only
 * connection.
 */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "mailtrail/bytes.h"
#include "mailtrail/delivery.h"
#include "mailtrail/journal.h"
#include "mailtrail/maillog.h"
#include "mailtrail/record.h"
#include "mailtrail/schema.h"
#include "mailtrail/store.h"

#define T0	INT64_C(1764081156000000)	/* 2025-11-25T14:32:36Z */
#define SEC	INT64_C(1000000)
#define DAY	(86400 * SEC)

#define CHECK_INT(what, got, want) do {					\
	long long got_ = (long long)(got), want_ = (long long)(want);	\
	if (got_ != want_)						\
		fail_msg("%s: got %lld, want %lld", (what), got_, want_); \
} while (0)

#define CHECK_STR(what, got, want) do {					\
	const char *got_ = (got), *want_ = (want);			\
	if (got_ == NULL || strcmp(got_, want_) != 0)			\
		fail_msg("%s: got \"%s\", want \"%s\"", (what),		\
		    got_ != NULL ? got_ : "(null)", want_);		\
} while (0)

static char	 tmpdir[64];
static unsigned	 journal_no;

/* ------------------------------------------------------------ helpers */

/* A new journal path in the private directory (the file does not exist). */
static void
new_path(char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/j%u.db", tmpdir, ++journal_no);
}

static struct mt_store *
open_store(const char *path)
{
	struct mt_store_sqlite_opts o = {
		.path = path, .synchronous_full = 0, .mode = 0640,
		.busy_timeout_ms = 2000,
	};
	struct mt_store	*st;
	char		 err[512] = "";

	if ((st = store_sqlite_open(&o, err, sizeof(err))) == NULL)
		fail_msg("store_sqlite_open %s: %s", path, err);
	return st;
}

/* Write records in one transaction; they are freed. */
static void
store_records(struct mt_store *st, struct mt_record **recs, size_t n)
{
	char	 err[512] = "";
	size_t	 i;

	if (st->ops->begin(st, err, sizeof(err)) < 0)
		fail_msg("begin: %s", err);
	for (i = 0; i < n; i++)
		if (st->ops->write(st, recs[i], err, sizeof(err)) < 0)
			fail_msg("write %zu: %s", i, err);
	if (st->ops->commit(st, err, sizeof(err)) < 0)
		fail_msg("commit: %s", err);
	for (i = 0; i < n; i++)
		record_free(recs[i]);
}

static void
store_one(struct mt_store *st, struct mt_record *rec)
{
	store_records(st, &rec, 1);
}

static sqlite3 *
open_reader(const char *path)
{
	sqlite3	*db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		fail_msg("reader %s: %s", path, sqlite3_errmsg(db));
	return db;
}

/* The first column of the first row as an integer; -1 if no row, -2 NULL. */
static long long
q_int(sqlite3 *db, const char *fmt, ...)
{
	sqlite3_stmt	*stmt;
	long long	 v = -1;
	char		 sql[1024];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_type(stmt, 0) == SQLITE_NULL ? -2 :
		    sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* The first column of the first row as text ("NULL", "(no row)"). */
static void
check_text(sqlite3 *db, const char *sql, const char *want)
{
	sqlite3_stmt	*stmt;
	char		*v;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = strdup(sqlite3_column_type(stmt, 0) == SQLITE_NULL ?
		    "NULL" : (const char *)sqlite3_column_text(stmt, 0));
	else
		v = strdup("(no row)");
	sqlite3_finalize(stmt);
	assert_non_null(v);
	CHECK_STR(sql, v, want);
	free(v);
}

static void
set_str(struct mt_bytes *b, const char *s)
{
	assert_int_equal(mt_bytes_setstr(b, s, 1 << 20), 0);
}

/* A message record: queue ID, start time, recipients (NULL-ended). */
static struct mt_record *
make_msg(const char *track_id, const char *qid, int64_t start,
    const char *message_id, const char *const *rcpts)
{
	struct mt_record *rec;
	size_t		 i, n = 0;

	rec = record_new(MT_RECORD_MESSAGE);
	assert_non_null(rec);
	snprintf(rec->conn.conn_id, sizeof(rec->conn.conn_id), "C%s",
	    track_id + 1);
	rec->conn.connect_us = start - 1000;
	set_str(&rec->conn.client_addr, "192.0.2.1");
	rec->conn.n_messages = 1;
	snprintf(rec->msg.track_id, sizeof(rec->msg.track_id), "%s", track_id);
	rec->msg.start_us = start;
	rec->msg.end_us = start + 2000;
	rec->msg.stage = MT_STAGE_EOM;
	rec->msg.outcome = MT_OUTCOME_ACCEPTED;
	set_str(&rec->msg.mail_from, "sender@example.org");
	if (qid != NULL)
		set_str(&rec->msg.queue_id, qid);
	if (message_id != NULL)
		set_str(&rec->msg.message_id, message_id);
	while (rcpts != NULL && rcpts[n] != NULL)
		n++;
	if (n > 0) {
		rec->msg.rcpts = calloc(n, sizeof(*rec->msg.rcpts));
		assert_non_null(rec->msg.rcpts);
		rec->msg.n_rcpts = n;
		for (i = 0; i < n; i++) {
			set_str(&rec->msg.rcpts[i].addr, rcpts[i]);
			rec->msg.rcpts[i].time_us = start + 500;
		}
	}
	record_account(rec);
	return rec;
}

/* A 26-character tracking ID "M000...n". */
static const char *
track(unsigned n)
{
	static char	 buf[4][MT_TRACKID_SIZE];
	static unsigned	 k;
	char		*b = buf[k++ % 4];

	snprintf(b, MT_TRACKID_SIZE, "M%025u", n);
	return b;
}

static struct mlog_str
S(const char *s)
{
	struct mlog_str	 v = { s, s != NULL ? strlen(s) : 0 };

	return v;
}

/* A parsed line, as the parser would give it. */
static void
ev_init(struct mlog_event *ev, enum mlog_kind kind, const char *qid,
    int64_t t)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->mta = MLOG_MTA_POSTFIX;
	ev->time_us = t;
	ev->host = S("mx1");
	ev->program = S(kind == MLOG_DELIVERY ? "postfix/smtp" :
	    "postfix/qmgr");
	ev->pid = 901;
	ev->queue_id = S(qid);
	ev->size = -1;
	ev->nrcpt = -1;
	ev->delay = -1;
	ev->delays[0] = ev->delays[1] = ev->delays[2] = ev->delays[3] = -1;
}

static void
batch_add(struct mt_log_batch *b, const struct mlog_event *ev, uint64_t hash)
{
	CHECK_INT("log_batch_add", log_batch_add(b, ev, hash), 0);
}

/* Add a delivery line for rcpt with status st; hash distinguishes lines. */
static void
add_delivery(struct mt_log_batch *b, const char *qid, int64_t t,
    const char *rcpt, enum mlog_status st, uint64_t hash)
{
	struct mlog_event ev;

	ev_init(&ev, MLOG_DELIVERY, qid, t);
	ev.recipient = S(rcpt);
	ev.relay = S("mx.example.net[192.0.2.7]:25");
	ev.dsn = S(st == MLOG_STATUS_SENT ? "2.0.0" : st ==
	    MLOG_STATUS_DEFERRED ? "4.4.1" : "5.1.1");
	ev.status = st;
	ev.reply = S(st == MLOG_STATUS_SENT ? "250 2.0.0 Ok: queued as 4XYZ" :
	    "550 5.1.1 <x@example.net>: User unknown");
	ev.reply_code = st == MLOG_STATUS_SENT ? 250 : 550;
	ev.delay = 1.25;
	ev.delays[0] = 0.1;
	ev.delays[1] = 0;
	ev.delays[2] = 0.05;
	ev.delays[3] = 1.1;
	ev.mailer = S("smtp");
	if (st == MLOG_STATUS_SENT)
		ev.next_queue_id = S("4XYZ");
	batch_add(b, &ev, hash);
}

static void
add_queue_event(struct mt_log_batch *b, enum mlog_kind kind, const char *qid,
    int64_t t, uint64_t hash)
{
	struct mlog_event ev;

	ev_init(&ev, kind, qid, t);
	if (kind == MLOG_QUEUED) {
		ev.sender = S("sender@example.org");
		ev.size = 4096;
		ev.nrcpt = 2;
	} else if (kind == MLOG_MESSAGE_ID) {
		ev.program = S("postfix/cleanup");
		ev.message_id = S("<abc@example.org>");
	} else if (kind == MLOG_CLIENT) {
		ev.program = S("postfix/smtpd");
		ev.client = S("mail.example.org[192.0.2.1]");
	} else if (kind == MLOG_NOTIFY)
		ev.related_queue_id = S("4BNC");
	batch_add(b, &ev, hash);
}

static struct mt_record *
batch_record(struct mt_log_batch *b)
{
	struct mt_record *rec = record_new(MT_RECORD_LOGBATCH);

	assert_non_null(rec);
	rec->logs = b;
	record_account(rec);
	return rec;
}

/* The five lines of one message's life in the log, at t. */
static struct mt_log_batch *
life_batch(const char *qid, int64_t t, uint64_t hash0)
{
	struct mt_log_batch *b = log_batch_new(MT_SOURCE_FOLLOWER);

	assert_non_null(b);
	add_queue_event(b, MLOG_CLIENT, qid, t, hash0 + 1);
	add_queue_event(b, MLOG_MESSAGE_ID, qid, t, hash0 + 2);
	add_queue_event(b, MLOG_QUEUED, qid, t + SEC, hash0 + 3);
	add_delivery(b, qid, t + 2 * SEC, "a@example.net", MLOG_STATUS_SENT,
	    hash0 + 4);
	add_delivery(b, qid, t + 2 * SEC, "b@example.net",
	    MLOG_STATUS_DEFERRED, hash0 + 5);
	add_queue_event(b, MLOG_REMOVED, qid, t + 3 * SEC, hash0 + 6);
	return b;
}

static long long
n_events(sqlite3 *db)
{
	return q_int(db, "SELECT (SELECT count(*) FROM delivery_events) +"
	    " (SELECT count(*) FROM queue_events)");
}

/* ------------------------------------------------------------ log events */

/* The rows of a batch, every column; the same batch twice adds nothing. */
static void
test_events_rows_and_idempotence(void **state)
{
	static const char *const rcpts[] = { "a@example.net", NULL };
	struct mt_store_sqlite_counts c;
	struct mt_log_batch *b;
	struct mt_store	*st;
	struct mlog_event ev;
	sqlite3		*db;
	char		 path[128];
	int		 round;

	(void)state;
	new_path(path, sizeof(path));
	st = open_store(path);
	store_one(st, make_msg(track(1), "4ABC", T0, NULL, rcpts));
	for (round = 0; round < 2; round++) {
		b = life_batch("4ABC", T0 + SEC, 100);
		/* A reply with a NUL and 8-bit bytes, and a huge hash. */
		ev_init(&ev, MLOG_DELIVERY, "4ABC", T0 + 9 * SEC);
		ev.recipient = S("c@example.net");
		ev.status = MLOG_STATUS_BOUNCED;
		ev.reply.p = "550 no\0such \xff user!!";	/* 20 bytes */
		ev.reply.len = 20;
		batch_add(b, &ev, UINT64_C(0xfedcba9876543210));
		store_one(st, batch_record(b));
		store_sqlite_counts(st, &c);
		CHECK_INT("events_new", c.events_new, 7);
		CHECK_INT("events_dup", c.events_dup, round == 0 ? 0 : 7);
		CHECK_INT("events_linked", c.events_linked, 7);
	}
	st->ops->close(st);

	db = open_reader(path);
	CHECK_INT("delivery rows", q_int(db, "SELECT count(*) FROM"
	    " delivery_events"), 3);
	CHECK_INT("queue rows", q_int(db, "SELECT count(*) FROM"
	    " queue_events"), 4);
	CHECK_INT("all linked", q_int(db, "SELECT count(*) FROM"
	    " delivery_events d JOIN messages m ON m.id = d.message WHERE"
	    " m.track_id = '%s'", track(1)), 3);
	check_text(db, "SELECT queue_id || '|' || time || '|' || mta || '|' ||"
	    " host || '|' || program || '|' || recipient || '|' ||"
	    " IFNULL(orig_recipient, 'NULL') || '|' || status || '|' || relay"
	    " || '|' || dsn || '|' || reply_code || '|' || reply || '|' ||"
	    " delay || '|' || delays || '|' || next_queue_id || '|' || mailer"
	    " || '|' || source FROM delivery_events WHERE recipient ="
	    " 'a@example.net'",
	    "4ABC|1764081159000000|postfix|mx1|postfix/smtp|a@example.net|NULL|"
	    "sent|mx.example.net[192.0.2.7]:25|2.0.0|250|250 2.0.0 Ok: queued"
	    " as 4XYZ|1.25|0.1/0/0.05/1.1|4XYZ|smtp|follower");
	check_text(db, "SELECT status || '|' || IFNULL(next_queue_id, 'NULL')"
	    " FROM delivery_events WHERE recipient = 'b@example.net'",
	    "deferred|NULL");
	check_text(db, "SELECT kind || '|' || sender || '|' || size || '|' ||"
	    " nrcpt || '|' || IFNULL(message_id, 'NULL') || '|' ||"
	    " IFNULL(client, 'NULL') FROM queue_events WHERE kind = 'queued'",
	    "queued|sender@example.org|4096|2|NULL|NULL");
	check_text(db, "SELECT message_id FROM queue_events WHERE kind ="
	    " 'message-id'", "<abc@example.org>");
	check_text(db, "SELECT client FROM queue_events WHERE kind ="
	    " 'client'", "mail.example.org[192.0.2.1]");
	check_text(db, "SELECT IFNULL(size, 'NULL') || IFNULL(sender, 'NULL')"
	    " FROM queue_events WHERE kind = 'removed'", "NULLNULL");
	CHECK_INT("exact bytes", q_int(db, "SELECT length(CAST(reply AS BLOB))"
	    " FROM delivery_events WHERE recipient = 'c@example.net'"), 20);
	CHECK_INT("hash bits kept", q_int(db, "SELECT count(*) FROM"
	    " delivery_events WHERE line_hash = %lld",
	    (long long)(int64_t)UINT64_C(0xfedcba9876543210)), 1);
	sqlite3_close(db);
}

/*
 * A bulk loader between its transactions: it notices another writer
 * (PRAGMA data_version) and says so for the following seconds, not before;
 * when it closes, the WAL holds nothing the database file lacks.
 */
static void
test_bulk_between(void **state)
{
	struct mt_store_sqlite_opts o;
	struct mt_store	*st;
	sqlite3		*other, *db;
	int		 nlog = -1, nckpt = -2;
	char		 path[128], err[512] = "";

	(void)state;
	new_path(path, sizeof(path));
	st = open_store(path);		/* create and migrate */
	st->ops->close(st);
	memset(&o, 0, sizeof(o));
	o.path = path;
	o.mode = 0640;
	o.busy_timeout_ms = 2000;
	o.bulk = 1;
	if ((st = store_sqlite_open(&o, err, sizeof(err))) == NULL)
		fail_msg("store_sqlite_open bulk: %s", err);
	store_one(st, batch_record(life_batch("4ABC", T0, 100)));
	CHECK_INT("alone", store_sqlite_bulk_between(st), 0);
	store_one(st, batch_record(life_batch("4ABD", T0, 200)));
	CHECK_INT("still alone", store_sqlite_bulk_between(st), 0);

	/* Another connection commits: from now on, not alone. */
	assert_int_equal(sqlite3_open_v2(path, &other, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "CREATE TABLE other_writer (x)",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	store_one(st, batch_record(life_batch("4ABE", T0, 300)));
	CHECK_INT("other writer seen", store_sqlite_bulk_between(st), 1);
	store_one(st, batch_record(life_batch("4ABF", T0, 400)));
	CHECK_INT("seen recently", store_sqlite_bulk_between(st), 1);
	st->ops->close(st);

	db = open_reader(path);
	CHECK_INT("events", n_events(db), 4 * 6);
	sqlite3_close(db);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_wal_checkpoint_v2(db, NULL,
	    SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt), SQLITE_OK);
	CHECK_INT("WAL frames not in the database", nlog - nckpt, 0);
	sqlite3_close(db);
	/* Not a bulk store: nothing to do. */
	st = open_store(path);
	CHECK_INT("not bulk", store_sqlite_bulk_between(st), 0);
	st->ops->close(st);
}

/* Lines we do not store never fail a batch: they are skipped. */
static void
test_events_skipped(void **state)
{
	struct mt_store_sqlite_counts c;
	struct mt_log_batch *b;
	struct mt_store	*st;
	struct mlog_event ev;
	sqlite3		*db;
	char		 path[128];

	(void)state;
	new_path(path, sizeof(path));
	st = open_store(path);
	b = log_batch_new(MT_SOURCE_INGEST);
	assert_non_null(b);
	ev_init(&ev, MLOG_DELIVERY, "4NONE", T0);
	ev.status = MLOG_STATUS_NONE;		/* no status: not stored */
	batch_add(b, &ev, 1);
	ev_init(&ev, MLOG_REJECT, "4REJ", T0);	/* not a kept kind */
	CHECK_INT("reject not added", log_batch_add(b, &ev, 2), 1);
	add_delivery(b, "4OK", T0, "a@example.net", MLOG_STATUS_SENT, 3);
	store_one(st, batch_record(b));
	store_sqlite_counts(st, &c);
	CHECK_INT("stored", c.events_new, 1);
	CHECK_INT("unlinked", c.events_linked, 0);
	st->ops->close(st);
	db = open_reader(path);
	CHECK_INT("rows", n_events(db), 1);
	CHECK_INT("message NULL", q_int(db, "SELECT message FROM"
	    " delivery_events"), -2);
	check_text(db, "SELECT source FROM delivery_events", "ingest");
	sqlite3_close(db);
}

/* ------------------------------------------------------------ linking */

/* Events written before the milter's record are linked when it arrives. */
static void
test_link_message_after_events(void **state)
{
	struct mt_store_sqlite_counts c;
	struct mt_store	*st;
	sqlite3		*db;
	char		 path[128];

	(void)state;
	new_path(path, sizeof(path));
	st = open_store(path);
	store_one(st, batch_record(life_batch("4LATE", T0, 0)));
	/* Another queue ID, and the same one far outside the window. */
	store_one(st, batch_record(life_batch("4OTHER", T0, 10)));
	store_one(st, batch_record(life_batch("4LATE", T0 + 20 * DAY, 20)));
	store_sqlite_counts(st, &c);
	CHECK_INT("none linked yet", c.events_linked, 0);
	/* The milter's clock is ahead of the syslog stamp by 0.7 s. */
	store_one(st, make_msg(track(2), "4LATE", T0 + 700000, NULL, NULL));
	store_sqlite_counts(st, &c);
	CHECK_INT("relinked", c.events_relinked, 6);
	st->ops->close(st);

	db = open_reader(path);
	CHECK_INT("linked rows", q_int(db, "SELECT (SELECT count(*) FROM"
	    " delivery_events WHERE message IS NOT NULL) + (SELECT count(*)"
	    " FROM queue_events WHERE message IS NOT NULL)"), 6);
	CHECK_INT("other queue ID untouched", q_int(db, "SELECT count(*) FROM"
	    " queue_events WHERE queue_id = '4OTHER' AND message IS NOT"
	    " NULL"), 0);
	CHECK_INT("20 days later untouched", q_int(db, "SELECT count(*) FROM"
	    " queue_events WHERE time > %lld AND message IS NOT NULL",
	    (long long)(T0 + 10 * DAY)), 0);
	sqlite3_close(db);
}

/*
 * A short queue ID reused: each event belongs to the newest message of
 * that queue ID started in [t - 10 days, t + 5 minutes], whichever of the
 * event and the message was written first.
 */
static void
test_link_window_reused_qid(void **state)
{
	static const struct {
		const char	*name;
		int64_t		 t;
		unsigned	 want;		/* message number; 0 none */
	} cases[] = {
		{ "an hour before the first use", T0 - 3600 * SEC, 0 },
		{ "4 minutes before the first (clock skew)", T0 - 240 * SEC, 1 },
		{ "a second before the first (whole-second stamp)", T0 - SEC,
		    1 },
		{ "an hour into the first use", T0 + 3600 * SEC, 1 },
		{ "4 days into the first (deferred)", T0 + 4 * DAY, 1 },
		{ "a minute before the reuse", T0 + 5 * DAY - 60 * SEC, 2 },
		{ "an hour into the reuse", T0 + 5 * DAY + 3600 * SEC, 2 },
		{ "9 days into the reuse", T0 + 14 * DAY, 2 },
		{ "11 days after the reuse", T0 + 16 * DAY, 0 },
	};
	struct mt_log_batch *b;
	struct mt_store	*st;
	sqlite3		*db;
	char		 path[128];
	size_t		 i;
	int		 order;
	long long	 got, want;

	(void)state;
	/* Order 0: messages first; 1: events first; 2: interleaved. */
	for (order = 0; order < 3; order++) {
		new_path(path, sizeof(path));
		st = open_store(path);
		b = log_batch_new(MT_SOURCE_FOLLOWER);
		assert_non_null(b);
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			add_delivery(b, "4REUSE", cases[i].t, "a@example.net",
			    MLOG_STATUS_SENT, 1000 + i);
		if (order == 0) {
			store_one(st, make_msg(track(1), "4REUSE", T0, NULL,
			    NULL));
			store_one(st, make_msg(track(2), "4REUSE", T0 + 5 * DAY,
			    NULL, NULL));
			store_one(st, batch_record(b));
		} else if (order == 1) {
			store_one(st, batch_record(b));
			store_one(st, make_msg(track(2), "4REUSE", T0 + 5 * DAY,
			    NULL, NULL));
			store_one(st, make_msg(track(1), "4REUSE", T0, NULL,
			    NULL));
		} else {
			/* The first message, then all events (the later
			 * ones link to it for want of a better one), then
			 * the reuse takes its own. */
			store_one(st, make_msg(track(1), "4REUSE", T0, NULL,
			    NULL));
			store_one(st, batch_record(b));
			store_one(st, make_msg(track(2), "4REUSE", T0 + 5 * DAY,
			    NULL, NULL));
		}
		/* A third message with another queue ID in the same window. */
		store_one(st, make_msg(track(3), "4ELSE", T0, NULL, NULL));
		st->ops->close(st);

		db = open_reader(path);
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			char	 what[160];

			got = q_int(db, "SELECT IFNULL((SELECT CAST(substr("
			    "m.track_id, 2) AS INTEGER) FROM messages m WHERE"
			    " m.id = d.message), 0) FROM delivery_events d"
			    " WHERE d.time = %lld", (long long)cases[i].t);
			want = cases[i].want;
			snprintf(what, sizeof(what), "order %d: %s", order,
			    cases[i].name);
			CHECK_INT(what, got, want);
		}
		sqlite3_close(db);
	}
}

/* A message without a queue ID (refused before DATA) links nothing. */
static void
test_link_no_queue_id(void **state)
{
	struct mt_store	*st;
	sqlite3		*db;
	char		 path[128];

	(void)state;
	new_path(path, sizeof(path));
	st = open_store(path);
	store_one(st, batch_record(life_batch("4Q", T0, 0)));
	store_one(st, make_msg(track(1), NULL, T0, NULL, NULL));
	store_one(st, make_msg(track(2), "", T0, NULL, NULL));
	st->ops->close(st);
	db = open_reader(path);
	CHECK_INT("unlinked", q_int(db, "SELECT count(*) FROM queue_events"
	    " WHERE message IS NOT NULL"), 0);
	sqlite3_close(db);
}

/* ------------------------------------------------------------ positions */

static struct mt_record *
position_record(const char *path, int64_t offset, uint64_t lines,
    uint64_t unparsed, uint64_t too_long, uint64_t ino)
{
	struct mt_log_position pos;
	struct mt_log_batch *b = log_batch_new(MT_SOURCE_FOLLOWER);

	assert_non_null(b);
	memset(&pos, 0, sizeof(pos));
	set_str(&pos.path, path);
	pos.dev = 2049;
	pos.ino = ino;
	pos.head_hash = UINT64_C(0x8000000000000001);
	pos.offset = offset;
	pos.time_us = T0 + offset;
	pos.lines = lines;
	pos.unparsed = unparsed;
	pos.too_long = too_long;
	CHECK_INT("set position", log_batch_set_position(b, &pos), 0);
	mt_bytes_clear(&pos.path);
	add_delivery(b, "4POS", T0 + offset, "a@example.net",
	    MLOG_STATUS_SENT, (uint64_t)offset);
	return batch_record(b);
}

static void
test_position_upsert(void **state)
{
	struct mt_log_position pos;
	struct mt_store	*st;
	sqlite3		*db;
	char		 path[128], old[128], err[256] = "";

	(void)state;
	new_path(path, sizeof(path));
	CHECK_INT("no journal file", store_sqlite_log_position(path,
	    "/var/log/mail.log", &pos, err, sizeof(err)), 0);
	st = open_store(path);
	CHECK_INT("no position yet", store_sqlite_log_position(path,
	    "/var/log/mail.log", &pos, err, sizeof(err)), 0);
	store_one(st, position_record("/var/log/mail.log", 1000, 10, 2, 1,
	    77));
	store_one(st, position_record("/var/log/mail.log", 2500, 15, 0, 2,
	    78));
	store_one(st, position_record("/var/log/other.log", 10, 1, 0, 0, 5));
	st->ops->close(st);

	db = open_reader(path);
	check_text(db, "SELECT offset || '|' || lines || '|' || unparsed ||"
	    " '|' || too_long || '|' || ino || '|' || dev || '|' || updated"
	    " FROM log_positions WHERE path = '/var/log/mail.log'",
	    "2500|25|2|3|78|2049|1764081156002500");
	CHECK_INT("events beside", q_int(db, "SELECT count(*) FROM"
	    " delivery_events"), 3);
	sqlite3_close(db);

	memset(&pos, 0xff, sizeof(pos));
	pos.path.data = NULL;
	CHECK_INT("found", store_sqlite_log_position(path,
	    "/var/log/mail.log", &pos, err, sizeof(err)), 1);
	CHECK_STR("path", pos.path.data, "/var/log/mail.log");
	CHECK_INT("offset", pos.offset, 2500);
	CHECK_INT("ino", pos.ino, 78);
	CHECK_INT("dev", pos.dev, 2049);
	assert_true(pos.head_hash == UINT64_C(0x8000000000000001));
	CHECK_INT("time", pos.time_us, T0 + 2500);
	CHECK_INT("lines zero", pos.lines, 0);
	CHECK_INT("unparsed zero", pos.unparsed, 0);
	CHECK_INT("too_long zero", pos.too_long, 0);
	mt_bytes_clear(&pos.path);
	CHECK_INT("another path", store_sqlite_log_position(path,
	    "/var/log/none.log", &pos, err, sizeof(err)), 0);

	/* A version 4 journal has no positions; a non-journal is an error. */
	new_path(old, sizeof(old));
	assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
	assert_int_equal(schema_migrate_to(db, 4, err, sizeof(err)), 0);
	sqlite3_close(db);
	CHECK_INT("version 4", store_sqlite_log_position(old,
	    "/var/log/mail.log", &pos, err, sizeof(err)), 0);
	new_path(old, sizeof(old));
	{
		FILE	*fp = fopen(old, "w");

		assert_non_null(fp);
		fputs("this is not a database, not even close to one........"
		    "..................................................\n", fp);
		fclose(fp);
	}
	err[0] = '\0';
	CHECK_INT("not a database", store_sqlite_log_position(old,
	    "/var/log/mail.log", &pos, err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
}

/* A failed transaction stores neither the events nor the position. */
static void
test_position_rollback(void **state)
{
	struct mt_store_sqlite_counts c;
	struct mt_record *rec;
	struct mt_store	*st;
	sqlite3		*db;
	char		 path[128], err[256];

	(void)state;
	new_path(path, sizeof(path));
	st = open_store(path);
	rec = position_record("/var/log/mail.log", 100, 5, 0, 0, 1);
	assert_int_equal(st->ops->begin(st, err, sizeof(err)), 0);
	assert_int_equal(st->ops->write(st, rec, err, sizeof(err)), 0);
	st->ops->rollback(st);
	record_free(rec);
	store_sqlite_counts(st, &c);
	CHECK_INT("nothing counted", c.events_new + c.positions, 0);
	st->ops->close(st);
	db = open_reader(path);
	CHECK_INT("no position", q_int(db, "SELECT count(*) FROM"
	    " log_positions"), 0);
	CHECK_INT("no events", n_events(db), 0);
	sqlite3_close(db);
}

/* ------------------------------------------------------------ bounces */

struct bounce_spec {
	const char	*track_id;
	const char	*message_id;
	const char	*queue_id;
	const char	*rcpt;
	int64_t		 time;
	uint64_t	 hash;
};

static struct mt_record *
bounce_record(const struct bounce_spec *sp)
{
	struct mt_record *rec = record_new(MT_RECORD_BOUNCE);
	struct mt_bounce_rec *b = bounce_rec_new(MT_SOURCE_COMMAND);
	struct mt_bounce_rcpt *r;

	assert_non_null(rec);
	assert_non_null(b);
	b->time_us = sp->time;
	b->kind = MT_BOUNCE_FAILURE;
	b->format = "rfc3464";
	b->content_hash = sp->hash;
	set_str(&b->reporting_mta, "dns; mx.example.net");
	set_str(&b->bounce_from, "MAILER-DAEMON@mx.example.net");
	set_str(&b->bounce_subject, "Undelivered Mail Returned to Sender");
	if (sp->track_id != NULL)
		set_str(&b->orig_track_id, sp->track_id);
	if (sp->message_id != NULL)
		set_str(&b->orig_message_id, sp->message_id);
	if (sp->queue_id != NULL)
		set_str(&b->orig_queue_id, sp->queue_id);
	r = bounce_rec_add_rcpt(b);
	assert_non_null(r);
	set_str(&r->recipient, "nobody@example.com");
	set_str(&r->action, "failed");
	r = bounce_rec_add_rcpt(b);
	assert_non_null(r);
	set_str(&r->recipient, sp->rcpt != NULL ? sp->rcpt :
	    "someone@example.com");
	set_str(&r->action, "failed");
	set_str(&r->status, "5.1.1");
	r->reply_code = 550;
	r->permanent = 1;
	r->reason = MT_REASON_USER_UNKNOWN;
	set_str(&r->remote_mta, "dns; mx.example.com");
	set_str(&r->diagnostic, "smtp; 550 5.1.1 User unknown");
	rec->bounce = b;
	record_account(rec);
	return rec;
}

static void
test_bounce_link(void **state)
{
	static const char *const rcpts1[] = { "Alice@Example.com", NULL };
	static const char *const rcpts2[] = { "bob@example.com", NULL };
	static const struct {
		const char	*name;
		struct bounce_spec sp;
		const char	*want_link;
		unsigned	 want_msg;	/* 0 none */
	} cases[] = {
		{ "tracking ID", { "M0000000000000000000000002", "<m1@x>",
		    "4Q1", NULL, T0 + DAY, 1 }, "tracking-id", 2 },
		{ "tracking ID unknown, Message-ID with brackets",
		    { "M0000000000000000000000099", "<m1@x>", NULL, NULL,
		    T0 + DAY, 2 }, "message-id", 1 },
		{ "Message-ID without brackets (stored with)",
		    { NULL, " m1@x ", NULL, NULL, T0 + DAY, 3 }, "message-id",
		    1 },
		{ "Message-ID with brackets (stored without)",
		    { NULL, "<bare@x>", NULL, NULL, T0 + DAY, 4 },
		    "message-id", 3 },
		{ "Message-ID reused: the newest", { NULL, "<dup@x>", NULL,
		    NULL, T0 + DAY, 5 }, "message-id", 5 },
		{ "queue ID and a recipient, any case", { NULL, "<nope@x>",
		    "4Q1", "alice@example.COM", T0 + DAY, 6 }, "queue-id", 1 },
		{ "queue ID, recipient in angle brackets", { NULL, NULL,
		    "4Q1", "<alice@example.com>", T0 + DAY, 7 }, "queue-id", 1 },
		{ "queue ID without a matching recipient", { NULL, NULL,
		    "4Q1", "carol@example.com", T0 + DAY, 8 }, "none", 0 },
		{ "queue ID outside the window", { NULL, NULL, "4Q1",
		    "alice@example.com", T0 + 11 * DAY, 9 }, "none", 0 },
		{ "queue ID reused: the one in the window", { NULL, NULL,
		    "4Q1", "bob@example.com", T0 + 30 * DAY, 10 }, "queue-id",
		    2 },
		{ "no key at all", { NULL, NULL, NULL, NULL, T0, 11 }, "none",
		    0 },
	};
	struct mt_store_sqlite_counts c;
	struct mt_store	*st;
	sqlite3		*db;
	char		 path[128], sql[256], what[160];
	const char	*link;
	int64_t		 bid, mid;
	size_t		 i;

	(void)state;
	new_path(path, sizeof(path));
	st = open_store(path);
	store_one(st, make_msg(track(1), "4Q1", T0, "<m1@x>", rcpts1));
	store_one(st, make_msg(track(2), "4Q1", T0 + 29 * DAY, "<m2@x>",
	    rcpts2));
	store_one(st, make_msg(track(3), "4Q3", T0, "bare@x", NULL));
	store_one(st, make_msg(track(4), "4Q4", T0, "<dup@x>", NULL));
	store_one(st, make_msg(track(5), "4Q5", T0 + 3600 * SEC, "<dup@x>",
	    NULL));
	CHECK_INT("no bounce yet", store_sqlite_last_bounce(st, &bid, &mid,
	    &link), -1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		store_one(st, bounce_record(&cases[i].sp));
		assert_int_equal(store_sqlite_last_bounce(st, &bid, &mid,
		    &link), 0);
		snprintf(what, sizeof(what), "%s: link", cases[i].name);
		CHECK_STR(what, link, cases[i].want_link);
		assert_true(bid > 0);
		CHECK_INT(cases[i].name, mid != 0, cases[i].want_msg != 0);
	}
	store_sqlite_counts(st, &c);
	CHECK_INT("bounces_new", c.bounces_new, 11);
	CHECK_INT("bounces_linked", c.bounces_linked, 8);

	/* The same report again: ignored, recipients not repeated. */
	store_one(st, bounce_record(&cases[0].sp));
	assert_int_equal(store_sqlite_last_bounce(st, &bid, &mid, &link), 0);
	CHECK_INT("duplicate id", bid, 0);
	store_sqlite_counts(st, &c);
	CHECK_INT("bounces_dup", c.bounces_dup, 1);
	st->ops->close(st);

	db = open_reader(path);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT b.link || '|' ||"
		    " IFNULL(CAST(substr(m.track_id, 2) AS INTEGER), 0) FROM"
		    " bounces b LEFT JOIN messages m ON m.id = b.message"
		    " WHERE b.content_hash = %llu",
		    (unsigned long long)cases[i].sp.hash);
		snprintf(what, sizeof(what), "%s|%u", cases[i].want_link,
		    cases[i].want_msg);
		check_text(db, sql, what);
	}
	CHECK_INT("bounces", q_int(db, "SELECT count(*) FROM bounces"), 11);
	CHECK_INT("recipients", q_int(db, "SELECT count(*) FROM"
	    " bounce_recipients"), 22);
	check_text(db, "SELECT b.kind || '|' || b.format || '|' || b.source ||"
	    " '|' || r.seq || '|' || r.recipient || '|' || r.action || '|' ||"
	    " r.status || '|' || r.reply_code || '|' || r.permanent || '|' ||"
	    " r.reason || '|' || r.remote_mta || '|' || r.diagnostic FROM"
	    " bounces b JOIN bounce_recipients r ON r.bounce = b.id WHERE"
	    " b.content_hash = 1 AND r.seq = 2",
	    "failure|rfc3464|command|2|someone@example.com|failed|5.1.1|550|1|"
	    "user-unknown|dns; mx.example.com|smtp; 550 5.1.1 User unknown");
	check_text(db, "SELECT IFNULL(reply_code, 'NULL') || '|' ||"
	    " IFNULL(permanent, 'NULL') || '|' || reason FROM"
	    " bounce_recipients WHERE seq = 1 LIMIT 1", "NULL|NULL|unknown");
	sqlite3_close(db);
}

/* ------------------------------------------------------------ migration */

/* A version 4 journal holding data becomes version 5 in place. */
static void
test_migrate_4_to_5(void **state)
{
	static const char *const rcpts[] = { "a@example.net", NULL };
	struct mt_store	*st;
	sqlite3		*db;
	char		 path[128], err[256];

	(void)state;
	new_path(path, sizeof(path));
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(schema_migrate_to(db, 4, err, sizeof(err)), 0);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL;"
	    "INSERT INTO connections (id, conn_uid, connect_time)"
	    " VALUES (1, 'C1', 10);"
	    "INSERT INTO messages (id, track_id, conn_id, start_time, stage,"
	    " outcome, mail_from, queue_id, spf_result, mta_size) VALUES (1,"
	    " 'T1', 1, 1764081156000000, 'eom', 'accepted', 'a@example.org',"
	    " '4OLD', 'pass', 1234);"
	    "INSERT INTO recipients (message, seq, address, status) VALUES"
	    " (1, 1, 'r@example.net', 'accepted');"
	    "INSERT INTO spf_results (message, identity, result, time) VALUES"
	    " (1, 'mailfrom', 'pass', 11);", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	/* The store migrates at open, then writes events linked to it. */
	st = open_store(path);
	store_one(st, batch_record(life_batch("4OLD", T0, 0)));
	store_one(st, make_msg(track(9), "4NEW", T0, NULL, rcpts));
	st->ops->close(st);

	db = open_reader(path);
	CHECK_INT("version", schema_version(db), SCHEMA_VERSION);
	/* Version 6 (DMARC) applied in place too: the old row has none. */
	check_text(db, "SELECT coalesce(dmarc_result, 'NULL') || '|' ||"
	    " coalesce(dmarc_reasons, 'NULL') FROM messages WHERE id = 1",
	    "NULL|NULL");
	check_text(db, "SELECT track_id || '|' || mail_from || '|' ||"
	    " spf_result || '|' || mta_size FROM messages WHERE id = 1",
	    "T1|a@example.org|pass|1234");
	CHECK_INT("recipients kept", q_int(db, "SELECT count(*) FROM"
	    " recipients"), 2);
	CHECK_INT("spf kept", q_int(db, "SELECT count(*) FROM spf_results"),
	    1);
	CHECK_INT("events linked to the old message", q_int(db, "SELECT"
	    " (SELECT count(*) FROM delivery_events WHERE message = 1) +"
	    " (SELECT count(*) FROM queue_events WHERE message = 1)"), 6);
	sqlite3_close(db);
}

/* ------------------------------------------------------------ journal */

static struct mt_store *
open_cb(void *arg, char *err, size_t errlen)
{
	return store_sqlite_open(arg, err, errlen);
}

/* Log batches (async, as the follower hands them) and bounces through
 * the journal's queue, writer and group commit, mixed with messages. */
static void
test_journal_new_kinds(void **state)
{
	static const char *const rcpts[] = { "a@example.net", NULL };
	struct mt_store_sqlite_opts so = { .mode = 0640,
	    .busy_timeout_ms = 2000 };
	struct journal_opts o = {
		.open_store = open_cb, .open_arg = &so, .durable = 1,
		.commit_interval_ms = 10, .commit_timeout_ms = 5000,
	};
	struct bounce_spec bs = { NULL, "<j1@x>", NULL, NULL, T0 + DAY, 42 };
	struct journal_counters c;
	struct journal	*j;
	sqlite3		*db;
	char		 path[128], err[256];
	unsigned	 i;

	(void)state;
	new_path(path, sizeof(path));
	so.path = path;
	if ((j = journal_open(&o, err, sizeof(err))) == NULL)
		fail_msg("journal_open: %s", err);
	for (i = 0; i < 20; i++) {
		char	 qid[16];

		snprintf(qid, sizeof(qid), "4J%u", i);
		CHECK_INT("async batch", journal_submit_async(j,
		    batch_record(life_batch(qid, T0, i * 10))), JOURNAL_OK);
		if (i % 2 == 0)
			CHECK_INT("message", journal_submit(j, make_msg(
			    track(100 + i), qid, T0, i == 0 ? "<j1@x>" : NULL,
			    rcpts)), JOURNAL_OK);
	}
	CHECK_INT("bounce", journal_submit(j, bounce_record(&bs)),
	    JOURNAL_OK);
	/* The same batch again: committed, and ignored by the store. */
	CHECK_INT("batch again", journal_submit_async(j,
	    batch_record(life_batch("4J0", T0, 0))), JOURNAL_OK);
	journal_flush(j);
	journal_counters(j, &c);
	CHECK_INT("committed", c.committed, 20 + 10 + 1 + 1);
	CHECK_INT("failed", c.failed, 0);
	journal_close(j);

	db = open_reader(path);
	CHECK_INT("events", n_events(db), 20 * 6);
	CHECK_INT("linked, either order", q_int(db, "SELECT (SELECT count(*)"
	    " FROM delivery_events WHERE message IS NOT NULL) + (SELECT"
	    " count(*) FROM queue_events WHERE message IS NOT NULL)"), 10 * 6);
	check_text(db, "SELECT b.link || '|' || m.track_id FROM bounces b"
	    " JOIN messages m ON m.id = b.message", "message-id|"
	    "M0000000000000000000000100");
	sqlite3_close(db);
}

/* A log batch at the queue's byte bound is refused, not queued. */
static void
test_journal_batch_bound(void **state)
{
	struct mt_store_sqlite_opts so = { .mode = 0640,
	    .busy_timeout_ms = 2000 };
	struct journal_opts o = {
		.open_store = open_cb, .open_arg = &so, .durable = 0,
		.commit_interval_ms = 10, .commit_timeout_ms = 5000,
		.max_bytes = 4096,
	};
	struct mt_log_batch *b;
	struct journal_counters c;
	struct journal	*j;
	struct mt_record *rec;
	char		 path[128], err[256];
	unsigned	 i;

	(void)state;
	new_path(path, sizeof(path));
	so.path = path;
	if ((j = journal_open(&o, err, sizeof(err))) == NULL)
		fail_msg("journal_open: %s", err);
	b = log_batch_new(MT_SOURCE_FOLLOWER);
	assert_non_null(b);
	for (i = 0; i < 100; i++)
		add_delivery(b, "4BIG", T0 + i, "a@example.net",
		    MLOG_STATUS_SENT, i);
	rec = batch_record(b);
	assert_true(rec->mem > 4096);
	CHECK_INT("refused", journal_submit_async(j, rec),
	    JOURNAL_QUEUE_FULL);
	journal_counters(j, &c);
	CHECK_INT("counted", c.refused_full, 1);
	journal_close(j);
}

/* ------------------------------------------------------------ main */

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mt-delivery-test-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	DIR		*d;
	struct dirent	*de;
	char		 p[512];

	(void)state;
	if ((d = opendir(tmpdir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(tmpdir);
	return 0;
}

/*
 * The DMARC columns (schema 6): an ESP signing mail From: brand.example,
 * as the authentication unit leaves it in the record.  The reason words
 * and class names are built in the store: they must land intact.
 */
static void
test_store_dmarc_columns(void **state)
{
	static const char *const rcpts[] = { "r@example.net", NULL };
	struct mt_record	*rec;
	struct mt_dmarc_outcome	*o;
	struct mt_store		*st;
	sqlite3			*db;
	char			 path[512], words[512], want[700];

	(void)state;
	new_path(path, sizeof(path));
	rec = make_msg(track(7), "4DM", T0, "<esp@example.test>", rcpts);
	rec->msg.auth.dkim = calloc(1, sizeof(*rec->msg.auth.dkim));
	assert_non_null(rec->msg.auth.dkim);
	snprintf(rec->msg.auth.dkim[0].domain, 256, "esp.example");
	rec->msg.auth.dkim[0].result = MT_DKIM_PASS;
	rec->msg.auth.n_dkim = 1;
	rec->msg.auth.dkim_done = 1;
	assert_non_null(o = calloc(1, sizeof(*o)));
	o->result = MT_DMARC_FAIL;
	o->from_status = MT_FROM_OK;
	snprintf(o->from_domain, sizeof(o->from_domain), "brand.example");
	o->have_record = 1;
	o->record.p = MT_DMARC_P_REJECT;
	o->record.pct = 100;
	snprintf(o->record_domain, sizeof(o->record_domain), "brand.example");
	snprintf(o->org_domain, sizeof(o->org_domain), "brand.example");
	o->policy_from = MT_DMARC_FROM_P;
	o->policy = MT_DMARC_P_REJECT;
	o->sampled_in = 1;
	o->disposition = MT_DMARC_P_REJECT;
	o->reasons = MT_DMARC_R_DKIM_UNALIGNED | MT_DMARC_R_SPF_UNALIGNED;
	snprintf(o->spf.domain, sizeof(o->spf.domain), "esp.example");
	o->spf.result = MT_SPF_PASS;
	o->spf.align = MT_DMARC_ALIGN_ORG;
	snprintf(o->dkim[0].domain, sizeof(o->dkim[0].domain), "esp.example");
	o->dkim[0].result = MT_DKIM_PASS;
	o->dkim[0].align = MT_DMARC_ALIGN_ORG;
	o->n_dkim = 1;
	rec->msg.auth.dmarc = o;
	rec->msg.auth.dmarc_sample = 42;
	rec->msg.auth.n_from = 1;
	assert_true(dmarc_reason_text(o, words, sizeof(words)) > 0);
	assert_non_null(strstr(words, "esp.example"));
	record_account(rec);

	st = open_store(path);
	store_one(st, rec);
	st->ops->close(st);
	db = open_reader(path);
	snprintf(want, sizeof(want), "fail|brand.example|ok|1|brand.example|"
	    "reject|p|reject|42|1|dkim-unaligned,spf-unaligned|%s|esp.example|"
	    "org-mismatch|none", words);
	check_text(db, "SELECT dmarc_result || '|' || dmarc_from_domain || '|'"
	    " || dmarc_from_status || '|' || dmarc_from_count || '|' ||"
	    " dmarc_record_domain || '|' || dmarc_record_p || '|' ||"
	    " dmarc_policy_from || '|' || dmarc_disposition || '|' ||"
	    " dmarc_sample || '|' || dmarc_sampled_in || '|' || dmarc_reasons"
	    " || '|' || dmarc_reason_text || '|' || dmarc_spf_domain || '|' ||"
	    " dmarc_spf_align || '|' || dmarc_action FROM messages", want);
	check_text(db, "SELECT domain || '|' || dmarc_align FROM"
	    " dkim_signatures", "esp.example|org-mismatch");
	CHECK_INT("found by the audit index", q_int(db, "SELECT count(*) FROM"
	    " messages INDEXED BY messages_dmarc WHERE dmarc_result IS NOT NULL"
	    " AND dmarc_result <> 'pass' AND start_time >= 0"), 1);
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events_rows_and_idempotence),
		cmocka_unit_test(test_events_skipped),
		cmocka_unit_test(test_bulk_between),
		cmocka_unit_test(test_link_message_after_events),
		cmocka_unit_test(test_link_window_reused_qid),
		cmocka_unit_test(test_link_no_queue_id),
		cmocka_unit_test(test_position_upsert),
		cmocka_unit_test(test_position_rollback),
		cmocka_unit_test(test_bounce_link),
		cmocka_unit_test(test_migrate_4_to_5),
		cmocka_unit_test(test_journal_new_kinds),
		cmocka_unit_test(test_journal_batch_bound),
		cmocka_unit_test(test_store_dmarc_columns),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
