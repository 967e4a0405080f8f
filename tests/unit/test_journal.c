/*
 * test_journal.c - the tracking journal: schema, SQLite store, queue and
 * writer thread.
 *
 * Schema and store cases use real SQLite files in a private directory and
 * read them back through a second, read-only connection.  Queue cases use an
 * in-memory test store (below) that can be told to fail, to refuse to open,
 * to poison chosen records or to sleep in commit, so that the writer's
 * logic is tested deterministically.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "mailtrail/bytes.h"
#include "mailtrail/clock.h"
#include "mailtrail/journal.h"
#include "mailtrail/record.h"
#include "mailtrail/schema.h"
#include "mailtrail/store.h"

#define T0	INT64_C(1764081156000000)	/* 2025-11-25T14:32:36Z */

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

#define CHECK_HAS(what, got, want) do {					\
	const char *got_ = (got), *want_ = (want);			\
	if (strstr(got_, want_) == NULL)				\
		fail_msg("%s: got \"%s\", want it to contain \"%s\"",	\
		    (what), got_, want_);				\
} while (0)

static char	 tmpdir[64];

/* ------------------------------------------------------------ helpers */

static void
path_in_tmp(char *out, size_t outsz, const char *name)
{
	snprintf(out, outsz, "%s/%s", tmpdir, name);
}

static void
remove_journal(const char *path)
{
	char	 p[256];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-journal", path);
	unlink(p);
}

static int64_t
elapsed_ms(int64_t since_mono_us)
{
	return (mt_mono_us() - since_mono_us) / 1000;
}

static void
sleep_ms(int ms)
{
	struct timespec	 ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A 26-character tracking-ID-shaped name. */
static void
make_id(char out[MT_TRACKID_SIZE], const char *prefix, unsigned n)
{
	snprintf(out, MT_TRACKID_SIZE, "%s%0*u", prefix,
	    (int)(MT_TRACKID_LEN - strlen(prefix)), n);
}

static void
set_str(struct mt_bytes *b, const char *s)
{
	assert_int_equal(mt_bytes_setstr(b, s, 1 << 20), 0);
}

/* A message record with n recipients (caller hands it over). */
static struct mt_record *
make_msg(const char *track_id, const char *conn_id, size_t n_rcpts)
{
	struct mt_record *rec;
	char		 addr[64];
	size_t		 i;

	rec = record_new(MT_RECORD_MESSAGE);
	assert_non_null(rec);
	snprintf(rec->conn.conn_id, sizeof(rec->conn.conn_id), "%s", conn_id);
	rec->conn.connect_us = T0;
	set_str(&rec->conn.client_addr, "192.0.2.1");
	rec->conn.client_port = 40000;
	set_str(&rec->conn.client_name, "mx.example.org");
	set_str(&rec->conn.helo, "mx.example.org");
	rec->conn.n_messages = 1;
	snprintf(rec->msg.track_id, sizeof(rec->msg.track_id), "%s",
	    track_id);
	rec->msg.start_us = T0 + 1000;
	rec->msg.end_us = T0 + 2000;
	rec->msg.stage = MT_STAGE_EOM;
	rec->msg.outcome = MT_OUTCOME_ACCEPTED;
	set_str(&rec->msg.mail_from, "sender@example.org");
	set_str(&rec->msg.queue_id, "4ABC123");
	rec->msg.header_bytes = 100;
	rec->msg.body_bytes = 900;
	if (n_rcpts > 0) {
		rec->msg.rcpts = calloc(n_rcpts, sizeof(*rec->msg.rcpts));
		assert_non_null(rec->msg.rcpts);
		rec->msg.n_rcpts = n_rcpts;
		for (i = 0; i < n_rcpts; i++) {
			snprintf(addr, sizeof(addr), "rcpt%zu@example.net", i);
			set_str(&rec->msg.rcpts[i].addr, addr);
			rec->msg.rcpts[i].time_us = T0 + 1500;
		}
	}
	record_account(rec);
	return rec;
}

static struct mt_record *
make_conn(const char *conn_id)
{
	struct mt_record *rec;

	rec = record_new(MT_RECORD_CONNECTION);
	assert_non_null(rec);
	snprintf(rec->conn.conn_id, sizeof(rec->conn.conn_id), "%s", conn_id);
	rec->conn.connect_us = T0;
	record_account(rec);
	return rec;
}

static struct mt_store *
open_sqlite(const char *path, int sync_full, const char *pragma, char *err,
    size_t errlen)
{
	struct mt_store_sqlite_opts o = {
		.path = path, .synchronous_full = sync_full, .mode = 0640,
		.busy_timeout_ms = 2000, .test_pragma = pragma,
	};

	return store_sqlite_open(&o, err, errlen);
}

/* Write records through a store in one transaction; they are freed. */
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

static sqlite3 *
open_reader(const char *path)
{
	sqlite3	*db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		fail_msg("reader %s: %s", path, sqlite3_errmsg(db));
	return db;
}

/* The first column of the first row as an integer; -1 if no row. */
static long long
q_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*stmt;
	long long	 v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* The first column of the first row as text ("NULL" for NULL, caller frees). */
static char *
q_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*stmt;
	char		*v = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = strdup(sqlite3_column_type(stmt, 0) == SQLITE_NULL ?
		    "NULL" : (const char *)sqlite3_column_text(stmt, 0));
	else
		v = strdup("(no row)");
	sqlite3_finalize(stmt);
	assert_non_null(v);
	return v;
}

static void
check_text(sqlite3 *db, const char *sql, const char *want)
{
	char	*got = q_text(db, sql);

	CHECK_STR(sql, got, want);
	free(got);
}

static mode_t
file_mode(const char *path)
{
	struct stat	 sb;

	if (stat(path, &sb) < 0)
		fail_msg("stat %s: %s", path, strerror(errno));
	return sb.st_mode & 07777;
}

/* submitted = committed + failed + refused + still held, always. */
static void
check_counters_balance(struct journal *j)
{
	struct journal_counters c;

	journal_counters(j, &c);
	CHECK_INT("submitted vs committed+failed+refused_full+queued",
	    c.submitted, c.committed + c.failed + c.refused_full + c.queued);
}

/* ------------------------------------------------------- the test store */

/*
 * An in-memory store for the queue logic.  Knobs and observations live in
 * a control block that outlives each store, so that a test can watch the
 * writer close and reopen stores.
 */
struct tctl {
	pthread_mutex_t	 lock;
	int		 fail_open;
	int		 fail_begin;
	int		 fail_write;
	int		 fail_commit;
	int		 commit_sleep_ms;
	char		 poison[2][MT_TRACKID_SIZE];
	int		 open_attempts;
	int		 opens;
	int		 closes;
	int		 begins;
	int		 commits;
	int		 rollbacks;
	char		**ids;		/* committed records, in order */
	size_t		 n_ids;
	size_t		 cap_ids;
};

struct tstore {
	struct mt_store	 st;
	struct tctl	*ctl;
	char		**pending;
	size_t		 n_pending;
};

static const char *
rec_name(const struct mt_record *rec)
{
	return rec->kind == MT_RECORD_MESSAGE ? rec->msg.track_id :
	    rec->conn.conn_id;
}

static int
tctl_get(struct tctl *ctl, const int *field)
{
	int	 v;

	pthread_mutex_lock(&ctl->lock);
	v = *field;
	pthread_mutex_unlock(&ctl->lock);
	return v;
}

static void
tctl_set(struct tctl *ctl, int *field, int v)
{
	pthread_mutex_lock(&ctl->lock);
	*field = v;
	pthread_mutex_unlock(&ctl->lock);
}

static size_t
tctl_n_ids(struct tctl *ctl)
{
	size_t	 n;

	pthread_mutex_lock(&ctl->lock);
	n = ctl->n_ids;
	pthread_mutex_unlock(&ctl->lock);
	return n;
}

static int
tctl_has(struct tctl *ctl, const char *id)
{
	size_t	 i;
	int	 found = 0;

	pthread_mutex_lock(&ctl->lock);
	for (i = 0; i < ctl->n_ids && !found; i++)
		found = strcmp(ctl->ids[i], id) == 0;
	pthread_mutex_unlock(&ctl->lock);
	return found;
}

static void
tctl_init(struct tctl *ctl)
{
	memset(ctl, 0, sizeof(*ctl));
	pthread_mutex_init(&ctl->lock, NULL);
}

static void
tctl_free(struct tctl *ctl)
{
	size_t	 i;

	for (i = 0; i < ctl->n_ids; i++)
		free(ctl->ids[i]);
	free(ctl->ids);
	pthread_mutex_destroy(&ctl->lock);
}

static void
ts_drop_pending(struct tstore *ts)
{
	size_t	 i;

	for (i = 0; i < ts->n_pending; i++)
		free(ts->pending[i]);
	free(ts->pending);
	ts->pending = NULL;
	ts->n_pending = 0;
}

static int
ts_begin(struct mt_store *st, char *err, size_t errlen)
{
	struct tstore	*ts = st->impl;
	int		 fail;

	pthread_mutex_lock(&ts->ctl->lock);
	ts->ctl->begins++;
	fail = ts->ctl->fail_begin;
	pthread_mutex_unlock(&ts->ctl->lock);
	if (fail) {
		snprintf(err, errlen, "test store: begin refused");
		return -1;
	}
	return 0;
}

static int
ts_write(struct mt_store *st, const struct mt_record *rec, char *err,
    size_t errlen)
{
	struct tstore	*ts = st->impl;
	const char	*name = rec_name(rec);
	char		**p;
	int		 fail;

	pthread_mutex_lock(&ts->ctl->lock);
	fail = ts->ctl->fail_write || strcmp(ts->ctl->poison[0], name) == 0 ||
	    strcmp(ts->ctl->poison[1], name) == 0;
	pthread_mutex_unlock(&ts->ctl->lock);
	if (fail) {
		snprintf(err, errlen, "test store: write of %s refused", name);
		return -1;
	}
	p = realloc(ts->pending, (ts->n_pending + 1) * sizeof(*p));
	assert_non_null(p);
	ts->pending = p;
	p[ts->n_pending] = strdup(name);
	assert_non_null(p[ts->n_pending]);
	ts->n_pending++;
	return 0;
}

static void
ts_rollback(struct mt_store *st)
{
	struct tstore	*ts = st->impl;

	ts_drop_pending(ts);
	pthread_mutex_lock(&ts->ctl->lock);
	ts->ctl->rollbacks++;
	pthread_mutex_unlock(&ts->ctl->lock);
}

static int
ts_commit(struct mt_store *st, char *err, size_t errlen)
{
	struct tstore	*ts = st->impl;
	struct tctl	*ctl = ts->ctl;
	size_t		 i;
	int		 fail, ms;
	char		**p;

	pthread_mutex_lock(&ctl->lock);
	ms = ctl->commit_sleep_ms;
	fail = ctl->fail_commit;
	pthread_mutex_unlock(&ctl->lock);
	if (ms > 0)
		sleep_ms(ms);
	if (fail) {
		ts_drop_pending(ts);
		snprintf(err, errlen, "test store: commit refused");
		return -1;
	}
	pthread_mutex_lock(&ctl->lock);
	if (ctl->n_ids + ts->n_pending > ctl->cap_ids) {
		ctl->cap_ids = (ctl->n_ids + ts->n_pending) * 2;
		p = realloc(ctl->ids, ctl->cap_ids * sizeof(*p));
		assert_non_null(p);
		ctl->ids = p;
	}
	for (i = 0; i < ts->n_pending; i++)
		ctl->ids[ctl->n_ids++] = ts->pending[i];
	ctl->commits++;
	pthread_mutex_unlock(&ctl->lock);
	free(ts->pending);
	ts->pending = NULL;
	ts->n_pending = 0;
	return 0;
}

static void
ts_close(struct mt_store *st)
{
	struct tstore	*ts = st->impl;

	ts_drop_pending(ts);
	pthread_mutex_lock(&ts->ctl->lock);
	ts->ctl->closes++;
	pthread_mutex_unlock(&ts->ctl->lock);
	free(ts);
}

static const struct mt_store_ops tstore_ops = {
	.name = "test",
	.begin = ts_begin,
	.write = ts_write,
	.commit = ts_commit,
	.rollback = ts_rollback,
	.close = ts_close,
};

static struct mt_store *
tstore_open(void *arg, char *err, size_t errlen)
{
	struct tctl	*ctl = arg;
	struct tstore	*ts;
	int		 fail;

	pthread_mutex_lock(&ctl->lock);
	ctl->open_attempts++;
	fail = ctl->fail_open;
	if (!fail)
		ctl->opens++;
	pthread_mutex_unlock(&ctl->lock);
	if (fail) {
		snprintf(err, errlen, "test store: cannot open");
		return NULL;
	}
	ts = calloc(1, sizeof(*ts));
	assert_non_null(ts);
	ts->st.ops = &tstore_ops;
	ts->st.impl = ts;
	ts->ctl = ctl;
	return &ts->st;
}

static struct journal *
open_test_journal(struct tctl *ctl, int durable, int interval_ms,
    int timeout_ms, size_t max_records, size_t max_bytes, size_t max_batch)
{
	struct journal_opts o = {
		.open_store = tstore_open, .open_arg = ctl, .durable = durable,
		.commit_interval_ms = interval_ms,
		.commit_timeout_ms = timeout_ms, .max_records = max_records,
		.max_bytes = max_bytes, .max_batch = max_batch,
	};
	struct journal	*j;
	char		 err[256] = "";

	if ((j = journal_open(&o, err, sizeof(err))) == NULL)
		fail_msg("journal_open: %s", err);
	return j;
}

/* Wait (at most limit_ms) until the journal's counters say cond. */
#define WAIT_FOR(j, c, cond, limit_ms) do {				\
	int64_t start_ = mt_mono_us();					\
	for (;;) {							\
		journal_counters((j), &(c));				\
		if (cond)						\
			break;						\
		if (elapsed_ms(start_) > (limit_ms))			\
			fail_msg("waited %d ms for %s", (limit_ms), #cond); \
		sleep_ms(5);						\
	}								\
} while (0)

/* ------------------------------------------------------------- schema */

static void
test_schema_fresh(void **state)
{
	static const char *const want_tables =
	    "bounce_recipients,bounces,connections,delivery_events,"
	    "dkim_signatures,header_edits,log_positions,messages,meta,"
	    "queue_events,recipients,spf_results";
	static const char *const want_indexes =
	    "bounce_recipients_bounce,bounce_recipients_recipient,"
	    "bounces_message,bounces_time,"
	    "connections_client,connections_time,delivery_events_message,"
	    "delivery_events_queue,"
	    "dkim_signatures_audit,dkim_signatures_message,"
	    "header_edits_action,"
	    "header_edits_message,messages_conn,messages_dmarc,"
	    "messages_mail_from,"
	    "messages_message_id,messages_parent,messages_queue_id,"
	    "messages_start,queue_events_message,"
	    "queue_events_queue,queue_events_related,recipients_address,"
	    "recipients_message,spf_results_audit,spf_results_message";
	struct mt_store	*st;
	struct mt_record *rec;
	sqlite3		*db;
	char		 path[256], wal[300], err[512] = "", *s;
	mode_t		 old;

	(void)state;
	path_in_tmp(path, sizeof(path), "fresh.db");
	snprintf(wal, sizeof(wal), "%s-wal", path);
	old = umask(077);		/* the configured mode must win */
	st = open_sqlite(path, 1, NULL, err, sizeof(err));
	umask(old);
	if (st == NULL)
		fail_msg("open: %s", err);
	rec = make_msg("FRESH000000000000000000001", "CONN1", 1);
	store_records(st, &rec, 1);

	CHECK_INT("mode of the journal", file_mode(path), 0640);
	CHECK_INT("mode of the -wal file", file_mode(wal), 0640);

	db = open_reader(path);
	check_text(db, "SELECT group_concat(name) FROM (SELECT name FROM"
	    " sqlite_master WHERE type = 'table' ORDER BY name)", want_tables);
	check_text(db, "SELECT group_concat(name) FROM (SELECT name FROM"
	    " sqlite_master WHERE type = 'index' AND name NOT LIKE"
	    " 'sqlite_autoindex%' ORDER BY name)", want_indexes);
	CHECK_INT("user_version", q_int(db, "PRAGMA user_version"), 6);
	CHECK_INT("SCHEMA_VERSION", SCHEMA_VERSION, 6);
	check_text(db, "PRAGMA journal_mode", "wal");
	check_text(db, "SELECT value FROM meta WHERE key = 'created_by'",
	    "mailtrail " PACKAGE_VERSION);
	s = q_text(db, "SELECT value FROM meta WHERE key = 'created_at'");
	if (strlen(s) != 27 || s[26] != 'Z' || s[10] != 'T')
		fail_msg("created_at: got \"%s\", want ISO 8601 UTC with"
		    " microseconds", s);
	free(s);
	CHECK_INT("partial index on parent_id", q_int(db, "SELECT count(*)"
	    " FROM sqlite_master WHERE name = 'messages_parent' AND sql LIKE"
	    " '%WHERE parent_id IS NOT NULL%'"), 1);
	CHECK_INT("partial index on action", q_int(db, "SELECT count(*)"
	    " FROM sqlite_master WHERE name = 'header_edits_action' AND sql"
	    " LIKE '%WHERE action <> ''added''%'"), 1);
	CHECK_INT("NOCASE index on mail_from", q_int(db, "SELECT count(*)"
	    " FROM sqlite_master WHERE name = 'messages_mail_from' AND sql"
	    " LIKE '%mail_from COLLATE NOCASE, start_time%'"), 1);
	sqlite3_close(db);
	st->ops->close(st);
	remove_journal(path);
}

/* Everything a reopen could change. */
static char *
schema_snapshot(const char *path)
{
	sqlite3	*db = open_reader(path);
	char	*s;

	s = q_text(db, "SELECT (SELECT group_concat(type || ' ' || name || ' '"
	    " || ifnull(sql, ''), ';') FROM (SELECT * FROM sqlite_master ORDER"
	    " BY name)) || '|' || (SELECT group_concat(key || '=' || value)"
	    " FROM meta) || '|' || (SELECT user_version FROM"
	    " pragma_user_version)");
	sqlite3_close(db);
	return s;
}

static void
test_schema_reopen_noop(void **state)
{
	struct mt_store	*st;
	char		 path[256], err[512] = "", *before, *after;
	int		 i;

	(void)state;
	path_in_tmp(path, sizeof(path), "reopen.db");
	if ((st = open_sqlite(path, 0, NULL, err, sizeof(err))) == NULL)
		fail_msg("open: %s", err);
	st->ops->close(st);
	before = schema_snapshot(path);
	for (i = 0; i < 2; i++) {
		sleep_ms(2);	/* a second created_at would differ */
		if ((st = open_sqlite(path, 0, NULL, err, sizeof(err))) ==
		    NULL)
			fail_msg("reopen %d: %s", i, err);
		st->ops->close(st);
		after = schema_snapshot(path);
		CHECK_STR("schema after reopen", after, before);
		free(after);
	}
	free(before);
	remove_journal(path);
}

static void
write_file(const char *path, const char *content)
{
	FILE	*fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(content, fp);
	fclose(fp);
}

static void
make_db(const char *path, const char *sql)
{
	sqlite3	*db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

static void
test_schema_refused(void **state)
{
	static const struct {
		const char	*name;
		const char	*file;		/* in tmpdir; "" = no dir */
		int		 kind;		/* 0 junk, 1 sql, 2 none */
		const char	*content;
		const char	*want_err;
		const char	*check_sql;	/* afterwards, untouched */
		const char	*check_want;
	} cases[] = {
		{ "newer schema", "newer.db", 1, "PRAGMA user_version = 7;"
		    " CREATE TABLE messages (x);",
		    "has schema version 7, newer than this mailtrail (6);"
		    " upgrade mailtrail",
		    "PRAGMA user_version", "7" },
		{ "newer schema keeps its journal mode", "newer2.db", 1,
		    "PRAGMA user_version = 7;", "newer than this mailtrail",
		    "PRAGMA journal_mode", "delete" },
		{ "not a database", "junk.db", 0,
		    "This is a text file, not a database.\n"
		    "It is long enough to have a header of a hundred bytes,"
		    " which SQLite reads first and rejects.\n",
		    "is not an SQLite database", NULL, NULL },
		{ "someone else's database", "foreign.db", 1,
		    "CREATE TABLE customers (name TEXT);"
		    " INSERT INTO customers VALUES ('x');",
		    "is an SQLite database but not a mailtrail journal",
		    "PRAGMA journal_mode", "delete" },
		{ "directory missing", "no/such/dir/j.db", 2, NULL,
		    "cannot create journal", NULL, NULL },
	};
	struct mt_store	*st;
	sqlite3		*db;
	char		 path[256], err[512], *got;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		path_in_tmp(path, sizeof(path), cases[i].file);
		if (cases[i].kind == 0)
			write_file(path, cases[i].content);
		else if (cases[i].kind == 1)
			make_db(path, cases[i].content);
		err[0] = '\0';
		st = open_sqlite(path, 0, NULL, err, sizeof(err));
		if (st != NULL) {
			st->ops->close(st);
			fail_msg("%s: got a store, want a refusal", cases[i].name);
		}
		CHECK_HAS(cases[i].name, err, cases[i].want_err);
		if (cases[i].kind != 2)
			CHECK_HAS(cases[i].name, err, cases[i].file);
		if (cases[i].check_sql != NULL) {
			db = open_reader(path);
			got = q_text(db, cases[i].check_sql);
			CHECK_STR(cases[i].name, got, cases[i].check_want);
			free(got);
			sqlite3_close(db);
		}
		if (cases[i].kind != 2)
			remove_journal(path);
	}
}

static void
test_schema_migrate_to(void **state)
{
	static const struct {
		const char	*name;
		int		 to;
		int		 want_rc;
		int		 want_version;
		int		 want_tables;
		const char	*want_err;
	} cases[] = {
		{ "to 0 on a fresh db", 0, 0, 0, 0, NULL },
		{ "to 1", 1, 0, 1, 5, NULL },
		{ "to 1 again", 1, 0, 1, 5, NULL },
		{ "to 0 does not downgrade", 0, 0, 1, 5, NULL },
		{ "to 2", 2, 0, 2, 7, NULL },
		{ "to 3", 3, 0, 3, 7, NULL },
		{ "to 4", 4, 0, 4, 7, NULL },
		{ "to 5", 5, 0, 5, 12, NULL },
		{ "to 6", 6, 0, 6, 12, NULL },
		{ "to a version that does not exist", 7, -1, 6, 12,
		    "no schema version 7" },
		{ "to a negative version", -1, -1, 6, 12, "no schema version" },
	};
	sqlite3		*db;
	char		 err[512];
	size_t		 i;
	int		 rc;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		rc = schema_migrate_to(db, cases[i].to, err, sizeof(err));
		CHECK_INT(cases[i].name, rc, cases[i].want_rc);
		CHECK_INT(cases[i].name, schema_version(db),
		    cases[i].want_version);
		CHECK_INT(cases[i].name, q_int(db, "SELECT count(*) FROM"
		    " sqlite_master WHERE type = 'table'"),
		    cases[i].want_tables);
		if (cases[i].want_err != NULL)
			CHECK_HAS(cases[i].name, err, cases[i].want_err);
	}
	assert_int_equal(schema_migrate(db, err, sizeof(err)), 0);
	CHECK_INT("schema_migrate on a current journal", schema_version(db),
	    SCHEMA_VERSION);
	sqlite3_close(db);

	/* Version 0 with tables of its own is not ours. */
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL,
	    NULL), SQLITE_OK);
	CHECK_INT("foreign tables", schema_migrate(db, err, sizeof(err)), -1);
	CHECK_HAS("foreign tables", err, "not a mailtrail journal");
	CHECK_INT("foreign tables left alone", schema_version(db), 0);
	sqlite3_close(db);
}

/* A version 1 journal holding data is upgraded in place, data kept. */
static void
test_schema_upgrade_keeps_data(void **state)
{
	sqlite3		*db;
	char		 err[512];

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(schema_migrate_to(db, 1, err, sizeof(err)), 0);
	assert_int_equal(sqlite3_exec(db,
	    "INSERT INTO connections (id, conn_uid, connect_time)"
	    " VALUES (1, 'C1', 10);"
	    "INSERT INTO messages (id, track_id, conn_id, start_time, stage,"
	    " outcome, mail_from) VALUES (1, 'T1', 1, 11, 'eom', 'accepted',"
	    " 'a@example.org');", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(schema_migrate(db, err, sizeof(err)), 0);
	CHECK_INT("upgraded", schema_version(db), SCHEMA_VERSION);
	check_text(db, "SELECT track_id || '|' || mail_from || '|' ||"
	    " IFNULL(spf_result, 'NULL') FROM messages", "T1|a@example.org|NULL");
	CHECK_INT("new tables empty", q_int(db, "SELECT (SELECT count(*) FROM"
	    " spf_results) + (SELECT count(*) FROM dkim_signatures)"), 0);
	sqlite3_close(db);
}

/*
 * A helpdesk account that may only read the journal (group read, mode
 * 0640) must be able to query it while the milter is stopped: that needs
 * the -wal and -shm files kept at close.  Run as root, the reader is a
 * child process that becomes "nobody" with the journal's group.
 */
static void
test_store_readonly_reader(void **state)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	struct mt_store	*st;
	struct mt_record *rec;
	char		 dir[256], path[300], f[320], err[512] = "";
	const gid_t	 gid = 65534;
	const uid_t	 uid = 65534;
	sqlite3		*db;
	pid_t		 pid;
	size_t		 i;
	int		 status;

	(void)state;
	path_in_tmp(dir, sizeof(dir), "ro");
	assert_int_equal(mkdir(dir, 0750), 0);
	snprintf(path, sizeof(path), "%s/journal.db", dir);
	if ((st = open_sqlite(path, 1, NULL, err, sizeof(err))) == NULL)
		fail_msg("open: %s", err);
	rec = make_msg("READONLY000000000000000001", "ROCONN", 1);
	store_records(st, &rec, 1);
	st->ops->close(st);
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(f, sizeof(f), "%s%s", path, suffix[i]);
		if (access(f, F_OK) < 0)
			fail_msg("%s: gone after close, want it kept for"
			    " read-only readers", f);
		CHECK_INT(f, file_mode(f), 0640);
	}
	if (geteuid() != 0) {
		print_message("# not root: reader as another user skipped\n");
		return;
	}
	assert_int_equal(chmod(tmpdir, 0711), 0);
	assert_int_equal(chown(dir, 0, gid), 0);
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(f, sizeof(f), "%s%s", path, suffix[i]);
		assert_int_equal(chown(f, 0, gid), 0);
	}
	if ((pid = fork()) == 0) {
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 ||
		    setuid(uid) < 0)
			_exit(2);
		if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
		    SQLITE_OK)
			_exit(3);
		_exit(q_int(db, "SELECT count(*) FROM messages") == 1 ? 0 : 4);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	CHECK_INT("read-only reader in the journal's group (exit status)",
	    WIFEXITED(status) ? WEXITSTATUS(status) : 100, 0);
	chmod(tmpdir, 0700);
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(f, sizeof(f), "%s%s", path, suffix[i]);
		unlink(f);
	}
	rmdir(dir);
}

/* ---------------------------------------------------------- the store */

static void
check_bytes(const char *what, sqlite3_stmt *stmt, int col, const char *want,
    size_t want_len)
{
	const void	*got;
	int		 type = sqlite3_column_type(stmt, col);
	int		 len;

	if (want == NULL) {
		if (type != SQLITE_NULL)
			fail_msg("%s: got type %d, want NULL", what, type);
		return;
	}
	if (type != SQLITE_TEXT)
		fail_msg("%s: got type %d, want TEXT", what, type);
	got = sqlite3_column_blob(stmt, col);
	len = sqlite3_column_bytes(stmt, col);
	if ((size_t)len != want_len)
		fail_msg("%s: got %d bytes, want %zu", what, len, want_len);
	if (want_len > 0 && memcmp(got, want, want_len) != 0)
		fail_msg("%s: bytes differ", what);
}

static void
test_store_bytes_exact(void **state)
{
	static const struct {
		const char	*name;
		const char	*value;
		size_t		 len;
	} cases[] = {
		{ "plain", "hello", 5 },
		{ "NUL bytes", "a\0b\0", 4 },
		{ "leading NUL", "\0x", 2 },
		{ "8-bit, not UTF-8", "\xff\xfe\x80 caf\xc3\xa9", 9 },
		{ "CR LF", "l1\r\nl2\r\n\r\n", 10 },
		{ "quote and semicolon", "'); DROP TABLE messages; --", 27 },
		{ "empty", "", 0 },
		{ "unset", NULL, 0 },
	};
	static const char *const cols[] = {
		"m.mail_from", "m.subject", "m.hdr_from", "m.error",
		"c.helo", "c.tls_cert_subject", "c.unknown_cmds",
		"r.args", "r.reply_text", "e.value",
	};
	struct mt_store	*st;
	struct mt_record *rec;
	sqlite3		*db;
	sqlite3_stmt	*stmt;
	char		 path[256], err[512] = "", id[MT_TRACKID_SIZE];
	char		 conn[32], what[128], sql[512];
	size_t		 i, k;

	(void)state;
	path_in_tmp(path, sizeof(path), "bytes.db");
	if ((st = open_sqlite(path, 0, NULL, err, sizeof(err))) == NULL)
		fail_msg("open: %s", err);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_id(id, "BYTES", (unsigned)i);
		snprintf(conn, sizeof(conn), "BYTESCONN%zu", i);
		rec = make_msg(id, conn, 1);
		mt_bytes_set(&rec->msg.mail_from, cases[i].value, cases[i].len,
		    cases[i].len);
		mt_bytes_set(&rec->msg.hdr_subject, cases[i].value,
		    cases[i].len, cases[i].len);
		mt_bytes_set(&rec->msg.hdr_from, cases[i].value, cases[i].len,
		    cases[i].len);
		mt_bytes_set(&rec->msg.error, cases[i].value, cases[i].len,
		    cases[i].len);
		mt_bytes_set(&rec->conn.helo, cases[i].value, cases[i].len,
		    cases[i].len);
		mt_bytes_set(&rec->conn.tls_cert_subject, cases[i].value,
		    cases[i].len, cases[i].len);
		mt_bytes_set(&rec->conn.unknown_cmds, cases[i].value,
		    cases[i].len, cases[i].len);
		mt_bytes_set(&rec->msg.rcpts[0].addr, cases[i].value,
		    cases[i].len, cases[i].len);
		mt_bytes_set(&rec->msg.rcpts[0].args, cases[i].value,
		    cases[i].len, cases[i].len);
		mt_bytes_set(&rec->msg.rcpts[0].text, cases[i].value,
		    cases[i].len, cases[i].len);
		rec->msg.edits = calloc(1, sizeof(*rec->msg.edits));
		assert_non_null(rec->msg.edits);
		rec->msg.n_edits = 1;
		set_str(&rec->msg.edits[0].name, "X-Test");
		mt_bytes_set(&rec->msg.edits[0].value, cases[i].value,
		    cases[i].len, cases[i].len);
		record_account(rec);
		store_records(st, &rec, 1);
	}

	db = open_reader(path);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_id(id, "BYTES", (unsigned)i);
		for (k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
			snprintf(sql, sizeof(sql), "SELECT %s FROM messages m"
			    " JOIN connections c ON c.id = m.conn_id"
			    " JOIN recipients r ON r.message = m.id"
			    " JOIN header_edits e ON e.message = m.id"
			    " WHERE m.track_id = ?1", cols[k]);
			assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt,
			    NULL), SQLITE_OK);
			sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
			snprintf(what, sizeof(what), "%s, %s", cases[i].name,
			    cols[k]);
			if (sqlite3_step(stmt) != SQLITE_ROW)
				fail_msg("%s: no row", what);
			check_bytes(what, stmt, 0, cases[i].value,
			    cases[i].len);
			sqlite3_finalize(stmt);
		}
		/* NOT NULL columns store an unset value as empty text. */
		snprintf(sql, sizeof(sql), "SELECT r.address FROM recipients r"
		    " JOIN messages m ON m.id = r.message WHERE m.track_id ="
		    " ?1");
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
		    SQLITE_OK);
		sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
		snprintf(what, sizeof(what), "%s, r.address", cases[i].name);
		check_bytes(what, stmt, 0, cases[i].value != NULL ?
		    cases[i].value : "", cases[i].len);
		sqlite3_finalize(stmt);
	}
	CHECK_INT("messages table intact", q_int(db, "SELECT count(*) FROM"
	    " messages"), sizeof(cases) / sizeof(cases[0]));
	sqlite3_close(db);
	st->ops->close(st);
	remove_journal(path);
}

static void
test_store_message_rows(void **state)
{
	static const struct {
		const char	*sql;
		const char	*want;
	} checks[] = {
		{ "SELECT count(*) FROM messages", "1" },
		{ "SELECT track_id FROM messages", "ROWS0000000000000000000001" },
		{ "SELECT parent_id FROM messages", "PARENT00000000000000000001" },
		{ "SELECT stage || ' ' || outcome FROM messages", "eom accepted" },
		{ "SELECT start_time || ' ' || end_time FROM messages",
		    "1764081156001000 1764081156002000" },
		{ "SELECT header_bytes || ' ' || body_bytes || ' ' || size"
		    " FROM messages", "100 900 1000" },
		{ "SELECT rcpt_accepted || ' ' || rcpt_rejected || ' ' ||"
		    " rcpt_dropped || ' ' || edits_dropped || ' ' ||"
		    " truncations || ' ' || n_headers FROM messages",
		    "2 1 2 1 3 12" },
		{ "SELECT queue_id || ' ' || message_id FROM messages",
		    "4ABC123 <m1@example.org>" },
		{ "SELECT mail_args FROM messages", "SIZE=1000 BODY=8BITMIME" },
		{ "SELECT group_concat(seq || ':' || address || ':' || status"
		    " || ':' || ifnull(reply_code, 'NULL') || ':' ||"
		    " ifnull(enhanced_code, 'NULL') || ':' ||"
		    " ifnull(reply_text, 'NULL'), ',') FROM (SELECT * FROM"
		    " recipients ORDER BY seq)",
		    "1:rcpt0@example.net:accepted:NULL:NULL:NULL,"
		    "2:rcpt1@example.net:rejected:550:5.1.1:User unknown,"
		    "3:rcpt2@example.net:accepted:NULL:NULL:NULL" },
		{ "SELECT group_concat(time) FROM recipients",
		    "1764081156001500,1764081156001500,1764081156001500" },
		{ "SELECT group_concat(action || ':' || name || ':' ||"
		    " ifnull(value, 'NULL') || ':' || idx || ':' ||"
		    " ifnull(reason, 'NULL'), ',') FROM (SELECT * FROM"
		    " header_edits ORDER BY id)",
		    "added:X-Mailtrail-ID:ROWS0000000000000000000001:0:NULL,"
		    "removed:X-Mailtrail-ID:forged:1:forged tracking header,"
		    "kept:Authentication-Results:NULL:2:trusted upstream" },
		{ "SELECT count(*) FROM messages m JOIN connections c ON"
		    " c.id = m.conn_id WHERE c.conn_uid = 'ROWSCONN'", "1" },
		{ "SELECT ifnull(tls_bits, 'NULL') || ' ' || client_port ||"
		    " ' ' || trusted FROM connections", "NULL 40000 1" },
		{ "SELECT ifnull(close_time, 'NULL') FROM connections",
		    "NULL" },
		{ "SELECT count(*) FROM pragma_foreign_key_check", "0" },
	};
	struct mt_store	*st;
	struct mt_record *rec;
	struct mt_msg_rec *m;
	sqlite3		*db;
	char		 path[256], err[512] = "";
	size_t		 i;

	(void)state;
	path_in_tmp(path, sizeof(path), "rows.db");
	if ((st = open_sqlite(path, 0, NULL, err, sizeof(err))) == NULL)
		fail_msg("open: %s", err);
	rec = make_msg("ROWS0000000000000000000001", "ROWSCONN", 3);
	m = &rec->msg;
	rec->conn.trusted = 1;
	set_str(&m->parent_id, "PARENT00000000000000000001");
	set_str(&m->message_id, "<m1@example.org>");
	set_str(&m->mail_args, "SIZE=1000 BODY=8BITMIME");
	m->n_headers = 12;
	m->truncations = 3;
	m->n_rcpts_dropped = 2;
	m->n_edits_dropped = 1;
	m->rcpts[1].rejected = 1;
	m->rcpts[1].reply_code = 550;
	set_str(&m->rcpts[1].status, "5.1.1");
	set_str(&m->rcpts[1].text, "User unknown");
	m->edits = calloc(3, sizeof(*m->edits));
	assert_non_null(m->edits);
	m->n_edits = 3;
	m->edits[0].action = MT_EDIT_ADDED;
	set_str(&m->edits[0].name, "X-Mailtrail-ID");
	set_str(&m->edits[0].value, m->track_id);
	m->edits[1].action = MT_EDIT_REMOVED;
	set_str(&m->edits[1].name, "X-Mailtrail-ID");
	set_str(&m->edits[1].value, "forged");
	m->edits[1].index = 1;
	m->edits[1].reason = "forged tracking header";
	m->edits[2].action = MT_EDIT_KEPT;
	set_str(&m->edits[2].name, "Authentication-Results");
	m->edits[2].index = 2;
	m->edits[2].reason = "trusted upstream";
	record_account(rec);
	store_records(st, &rec, 1);

	db = open_reader(path);
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		char	*got = q_text(db, checks[i].sql);

		CHECK_STR(checks[i].sql, got, checks[i].want);
		free(got);
	}
	sqlite3_close(db);
	st->ops->close(st);
	remove_journal(path);
}

static void
test_store_conn_upsert(void **state)
{
	static const struct {
		const char	*sql;
		const char	*want;
	} checks[] = {
		{ "SELECT count(*) FROM connections", "1" },
		{ "SELECT helo FROM connections", "second.example" },
		{ "SELECT tls_version || ' ' || tls_cipher || ' ' || tls_bits"
		    " FROM connections", "TLSv1.3 TLS_AES_256_GCM_SHA384 256" },
		{ "SELECT auth_type || ' ' || auth_authen FROM connections",
		    "PLAIN alice" },
		{ "SELECT client_addr || ' ' || client_port || ' ' ||"
		    " client_name FROM connections",
		    "192.0.2.1 40000 mx.example.org" },
		{ "SELECT connect_time || ' ' || close_time FROM connections",
		    "1764081156000000 1764081166000000" },
		{ "SELECT messages || ' ' || unknown_count || ' ' ||"
		    " unknown_cmds FROM connections", "2 3 XFOO" },
		{ "SELECT count(DISTINCT conn_id) || ' ' || count(*) FROM"
		    " messages", "1 2" },
	};
	struct mt_store	*st;
	struct mt_record *recs[3];
	sqlite3		*db;
	char		 path[256], err[512] = "";
	size_t		 i;

	(void)state;
	path_in_tmp(path, sizeof(path), "upsert.db");
	if ((st = open_sqlite(path, 0, NULL, err, sizeof(err))) == NULL)
		fail_msg("open: %s", err);
	/* First message: plain connection. */
	recs[0] = make_msg("UPSERT00000000000000000001", "UPCONN", 1);
	set_str(&recs[0]->conn.helo, "first.example");
	/* Second message: after STARTTLS, EHLO again, AUTH. */
	recs[1] = make_msg("UPSERT00000000000000000002", "UPCONN", 1);
	set_str(&recs[1]->conn.helo, "second.example");
	set_str(&recs[1]->conn.tls_version, "TLSv1.3");
	set_str(&recs[1]->conn.tls_cipher, "TLS_AES_256_GCM_SHA384");
	recs[1]->conn.tls_bits = 256;
	set_str(&recs[1]->conn.auth_type, "PLAIN");
	set_str(&recs[1]->conn.auth_authen, "alice");
	recs[1]->conn.n_messages = 2;
	/* Close: a sparse snapshot must not erase what the others said. */
	recs[2] = make_conn("UPCONN");
	recs[2]->conn.close_us = T0 + 10000000;
	recs[2]->conn.n_messages = 1;	/* a stale count must not win */
	recs[2]->conn.n_unknown = 3;
	set_str(&recs[2]->conn.unknown_cmds, "XFOO");
	store_records(st, recs, 2);
	store_records(st, recs + 2, 1);

	db = open_reader(path);
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		char	*got = q_text(db, checks[i].sql);

		CHECK_STR(checks[i].sql, got, checks[i].want);
		free(got);
	}
	sqlite3_close(db);
	st->ops->close(st);
	remove_journal(path);
}

/* ------------------------------------------------- journal on SQLite */

static struct mt_store *
sqlite_open_cb(void *arg, char *err, size_t errlen)
{
	return store_sqlite_open(arg, err, errlen);
}

static void
test_journal_durable_visible(void **state)
{
	struct mt_store_sqlite_opts so = {
		.synchronous_full = 1, .mode = 0640, .busy_timeout_ms = 2000,
	};
	struct journal_opts o = {
		.open_store = sqlite_open_cb, .open_arg = &so, .durable = 1,
		.commit_interval_ms = 1000, .commit_timeout_ms = 5000,
	};
	struct journal_counters c;
	struct journal	*j;
	char		 path[256], err[512] = "", id[MT_TRACKID_SIZE], sql[256];
	sqlite3		*db;
	int		 i;

	(void)state;
	path_in_tmp(path, sizeof(path), "durable.db");
	so.path = path;
	if ((j = journal_open(&o, err, sizeof(err))) == NULL)
		fail_msg("journal_open: %s", err);
	db = open_reader(path);
	for (i = 0; i < 5; i++) {
		make_id(id, "DURABLE", (unsigned)i);
		CHECK_STR("durable submit", journal_status_name(journal_submit(
		    j, make_msg(id, "DURCONN", 3))), "ok");
		/* No flush: OK means it is already in the file. */
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM messages"
		    " WHERE track_id = '%s'", id);
		CHECK_INT("visible to another connection", q_int(db, sql), 1);
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM recipients r"
		    " JOIN messages m ON m.id = r.message WHERE m.track_id ="
		    " '%s'", id);
		CHECK_INT("its recipients", q_int(db, sql), 3);
	}
	journal_counters(j, &c);
	CHECK_INT("committed", c.committed, 5);
	CHECK_INT("commits", c.commits, 5);
	CHECK_INT("queued", c.queued, 0);
	check_counters_balance(j);
	sqlite3_close(db);
	journal_close(j);
	remove_journal(path);
}

/*
 * Issue 11, defect 2: a durable commit held up by another process's write
 * lock beyond commit_timeout.  The submitter answers tempfail; the records
 * must land saying "tempfailed", never "accepted": the first one the writer
 * already holds (corrected by a revision once it commits), the second one
 * still queued behind it (rewritten before it is written).  One row each.
 */
static void
test_journal_late_commit_truthful(void **state)
{
	struct mt_store_sqlite_opts so = {
		.synchronous_full = 1, .mode = 0640, .busy_timeout_ms = 10000,
	};
	struct journal_opts o = {
		.open_store = sqlite_open_cb, .open_arg = &so, .durable = 1,
		.commit_timeout_ms = 300,
	};
	struct journal_counters c;
	struct journal	*j;
	char		 path[256], err[512] = "", id[2][MT_TRACKID_SIZE];
	char		 sql[256], *errmsg = NULL;
	sqlite3		*locker, *db;
	int64_t		 start;
	int		 i;

	(void)state;
	path_in_tmp(path, sizeof(path), "late.db");
	remove_journal(path);
	so.path = path;
	if ((j = journal_open(&o, err, sizeof(err))) == NULL)
		fail_msg("journal_open: %s", err);
	assert_int_equal(sqlite3_open_v2(path, &locker, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	if (sqlite3_exec(locker, "BEGIN IMMEDIATE", NULL, NULL, &errmsg) !=
	    SQLITE_OK)
		fail_msg("BEGIN IMMEDIATE: %s", errmsg);

	for (i = 0; i < 2; i++) {
		make_id(id[i], "LATE", (unsigned)i);
		start = mt_mono_us();
		CHECK_STR("submit under a held lock", journal_status_name(
		    journal_submit_late(j, make_msg(id[i], "LATECONN", 1),
		    MT_OUTCOME_TEMPFAILED)), "timeout");
		if (elapsed_ms(start) > 2000)
			fail_msg("submit %d waited %lld ms, want about 300", i,
			    (long long)elapsed_ms(start));
	}
	assert_int_equal(sqlite3_exec(locker, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(locker);
	journal_flush(j);
	journal_counters(j, &c);
	CHECK_INT("timeouts", c.timeouts, 2);
	CHECK_INT("revised (the record the writer held)", c.revised, 1);
	CHECK_INT("failed", c.failed, 0);

	db = open_reader(path);
	for (i = 0; i < 2; i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM messages"
		    " WHERE track_id = '%s'", id[i]);
		CHECK_INT("rows per tracking ID", q_int(db, sql), 1);
		snprintf(sql, sizeof(sql), "SELECT outcome FROM messages"
		    " WHERE track_id = '%s'", id[i]);
		check_text(db, sql, "tempfailed");
		snprintf(sql, sizeof(sql), "SELECT instr(error, 'timed out')"
		    " > 0 FROM messages WHERE track_id = '%s'", id[i]);
		CHECK_INT("error says the commit timed out", q_int(db, sql), 1);
	}
	CHECK_INT("no accepted row", q_int(db, "SELECT count(*) FROM messages"
	    " WHERE outcome = 'accepted'"), 0);
	/* The revision kept what the first write stored. */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM recipients r JOIN"
	    " messages m ON m.id = r.message WHERE m.track_id = '%s'", id[0]);
	CHECK_INT("recipients of the revised message", q_int(db, sql), 1);
	sqlite3_close(db);
	check_counters_balance(j);
	journal_close(j);
	remove_journal(path);
}

static void
test_journal_open_fails(void **state)
{
	struct mt_store_sqlite_opts so = { .path = "/nonexistent/dir/j.db" };
	struct journal_opts o = { .open_store = sqlite_open_cb,
	    .open_arg = &so };
	struct journal_opts none = { .open_store = NULL };
	struct tctl	 ctl;
	struct journal_opts t = { .open_store = tstore_open, .open_arg = &ctl };
	char		 err[512];

	(void)state;
	err[0] = '\0';
	assert_null(journal_open(&o, err, sizeof(err)));
	CHECK_HAS("bad path", err, "cannot create journal /nonexistent/dir");
	err[0] = '\0';
	assert_null(journal_open(&none, err, sizeof(err)));
	CHECK_HAS("no open function", err, "no store");
	tctl_init(&ctl);
	ctl.fail_open = 1;
	err[0] = '\0';
	assert_null(journal_open(&t, err, sizeof(err)));
	CHECK_HAS("store refuses to open", err, "test store: cannot open");
	tctl_free(&ctl);
}

static void
test_journal_poison_sqlite(void **state)
{
	struct mt_store_sqlite_opts so = { .mode = 0640 };
	struct journal_opts o = {
		.open_store = sqlite_open_cb, .open_arg = &so, .durable = 0,
		.commit_interval_ms = 60000, .commit_timeout_ms = 5000,
	};
	struct journal_counters c;
	struct journal	*j;
	sqlite3		*db;
	char		 path[256], err[512] = "";

	(void)state;
	path_in_tmp(path, sizeof(path), "poison.db");
	so.path = path;
	if ((j = journal_open(&o, err, sizeof(err))) == NULL)
		fail_msg("journal_open: %s", err);
	journal_submit(j, make_msg("POISON00000000000000000001", "PC", 1));
	journal_flush(j);
	/* One batch: a good one, a duplicate tracking ID, another good one. */
	journal_submit(j, make_msg("POISON00000000000000000002", "PC", 1));
	journal_submit(j, make_msg("POISON00000000000000000001", "PC", 1));
	journal_submit(j, make_msg("POISON00000000000000000003", "PC", 1));
	journal_flush(j);
	journal_counters(j, &c);
	CHECK_INT("committed", c.committed, 3);
	CHECK_INT("failed", c.failed, 1);
	check_counters_balance(j);
	journal_close(j);

	db = open_reader(path);
	check_text(db, "SELECT group_concat(substr(track_id, 26)) FROM"
	    " (SELECT track_id FROM messages ORDER BY id)", "1,2,3");
	CHECK_INT("recipients of the lost record rolled back", q_int(db,
	    "SELECT count(*) FROM recipients"), 3);
	sqlite3_close(db);
	remove_journal(path);
}

/* Disk full, provoked by a page limit on the writer's connection. */
static void
test_journal_sqlite_full(void **state)
{
	struct mt_store_sqlite_opts so = {
		.mode = 0640, .test_pragma = "PRAGMA max_page_count = 60",
	};
	struct journal_opts o = {
		.open_store = sqlite_open_cb, .open_arg = &so, .durable = 0,
		.commit_interval_ms = 0, .max_batch = 8,
	};
	struct journal_counters c;
	struct mt_record *rec;
	struct journal	*j;
	static char	 big[3000];
	char		 path[256], err[512] = "", id[MT_TRACKID_SIZE];
	unsigned	 i;

	(void)state;
	memset(big, 'x', sizeof(big));
	path_in_tmp(path, sizeof(path), "full.db");
	so.path = path;
	if ((j = journal_open(&o, err, sizeof(err))) == NULL)
		fail_msg("journal_open: %s", err);
	for (i = 0; i < 200; i++) {
		make_id(id, "FULL", i);
		rec = make_msg(id, "FULLCONN", 1);
		mt_bytes_set(&rec->msg.hdr_subject, big, sizeof(big),
		    sizeof(big));
		record_account(rec);
		journal_submit(j, rec);
		if (i % 20 == 19)
			journal_flush(j);
	}
	journal_flush(j);
	journal_counters(j, &c);
	if (c.committed == 0 || c.failed == 0)
		fail_msg("got committed=%llu failed=%llu, want both > 0",
		    (unsigned long long)c.committed,
		    (unsigned long long)c.failed);
	check_counters_balance(j);
	/* Still alive: a small record after the storm is handled. */
	CHECK_INT("submit after disk full", journal_submit(j,
	    make_conn("FULLCONN")), JOURNAL_OK);
	journal_close(j);
	remove_journal(path);
}

/* ------------------------------------------- journal on the test store */

struct submitter {
	struct journal	*j;
	unsigned	 thread;
	unsigned	 n;
	unsigned	 ok;
	unsigned	 timeouts;
};

static void *
submit_many(void *arg)
{
	struct submitter *s = arg;
	char		 id[MT_TRACKID_SIZE];
	unsigned	 i;

	for (i = 0; i < s->n; i++) {
		make_id(id, "G", s->thread * 100000 + i);
		switch (journal_submit(s->j, make_msg(id, "GCONN", 1))) {
		case JOURNAL_OK:
			s->ok++;
			break;
		case JOURNAL_TIMEOUT:
			s->timeouts++;
			break;
		default:
			break;
		}
	}
	return NULL;
}

static void
test_journal_group_commit(void **state)
{
	enum { THREADS = 8, EACH = 200 };
	struct submitter s[THREADS];
	pthread_t	 t[THREADS];
	struct journal_counters c;
	struct journal	*j;
	struct tctl	 ctl;
	unsigned	 i, ok = 0;

	(void)state;
	tctl_init(&ctl);
	ctl.commit_sleep_ms = 2;
	j = open_test_journal(&ctl, 1, 0, 30000, 0, 0, 0);
	for (i = 0; i < THREADS; i++) {
		s[i] = (struct submitter){ .j = j, .thread = i, .n = EACH };
		assert_int_equal(pthread_create(&t[i], NULL, submit_many,
		    &s[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		ok += s[i].ok;
	}
	journal_counters(j, &c);
	CHECK_INT("durable submits answered OK", ok, THREADS * EACH);
	CHECK_INT("committed", c.committed, THREADS * EACH);
	CHECK_INT("records in the store", tctl_n_ids(&ctl), THREADS * EACH);
	if (c.commits >= c.committed)
		fail_msg("group commit: got %llu commits for %llu records,"
		    " want fewer commits than records",
		    (unsigned long long)c.commits,
		    (unsigned long long)c.committed);
	print_message("# group commit: %llu records in %llu commits\n",
	    (unsigned long long)c.committed, (unsigned long long)c.commits);
	check_counters_balance(j);
	journal_close(j);
	tctl_free(&ctl);
}

static void
test_journal_queue_bound(void **state)
{
	struct mt_record *sample = make_msg("SAMPLE", "QCONN", 1);
	size_t		 cost = sample->mem;
	const struct {
		const char	*name;
		size_t		 max_records;
		size_t		 max_bytes;
	} cases[] = {
		{ "max_records", 3, 0 },
		{ "max_bytes", 0, 3 * cost + cost / 2 },
	};
	struct journal_counters c;
	struct journal	*j;
	struct tctl	 ctl;
	char		 id[MT_TRACKID_SIZE];
	unsigned	 i, k, full;
	enum journal_status st;

	(void)state;
	record_free(sample);
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		tctl_init(&ctl);
		ctl.commit_sleep_ms = 300;
		j = open_test_journal(&ctl, 0, 0, 1000, cases[k].max_records,
		    cases[k].max_bytes, 0);
		full = 0;
		for (i = 0; i < 20; i++) {
			make_id(id, "Q", i);
			st = journal_submit(j, make_msg(id, "QCONN", 1));
			if (st == JOURNAL_QUEUE_FULL)
				full++;
			else if (st != JOURNAL_OK)
				fail_msg("%s: submit %u: got %s, want ok or"
				    " queue-full", cases[k].name, i,
				    journal_status_name(st));
			journal_counters(j, &c);
			if (c.queued > 3)
				fail_msg("%s: got %llu held, want at most 3",
				    cases[k].name,
				    (unsigned long long)c.queued);
		}
		journal_counters(j, &c);
		if (full < 15)
			fail_msg("%s: got %u refusals, want at least 15",
			    cases[k].name, full);
		CHECK_INT(cases[k].name, c.refused_full, full);
		check_counters_balance(j);
		journal_close(j);
		CHECK_INT(cases[k].name, tctl_n_ids(&ctl), 20 - full);
		tctl_free(&ctl);
	}
}

struct timeout_arg {
	struct journal	*j;
	unsigned	 n;
	enum journal_status st;
	int64_t		 ms;
};

static void *
submit_one_timed(void *arg)
{
	struct timeout_arg *a = arg;
	char		 id[MT_TRACKID_SIZE];
	int64_t		 start = mt_mono_us();

	make_id(id, "TIMEOUT", a->n);
	a->st = journal_submit(a->j, make_msg(id, "TCONN", 1));
	a->ms = elapsed_ms(start);
	return NULL;
}

static void
test_journal_durable_timeout(void **state)
{
	enum { THREADS = 4 };
	struct timeout_arg a[THREADS];
	pthread_t	 t[THREADS];
	struct journal_counters c;
	struct journal	*j;
	struct tctl	 ctl;
	char		 id[MT_TRACKID_SIZE];
	unsigned	 i;

	(void)state;
	tctl_init(&ctl);
	ctl.commit_sleep_ms = 1500;
	j = open_test_journal(&ctl, 1, 0, 100, 0, 0, 0);
	for (i = 0; i < THREADS; i++) {
		a[i] = (struct timeout_arg){ .j = j, .n = i };
		assert_int_equal(pthread_create(&t[i], NULL, submit_one_timed,
		    &a[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		CHECK_STR("slow commit", journal_status_name(a[i].st),
		    "timeout");
		if (a[i].ms > 1000)
			fail_msg("submit %u waited %lld ms, want about 100",
			    i, (long long)a[i].ms);
	}
	journal_counters(j, &c);
	CHECK_INT("timeouts counted", c.timeouts, THREADS);
	/* The records stay queued and land; their waiters are long gone. */
	journal_flush(j);
	journal_counters(j, &c);
	CHECK_INT("committed after the timeouts", c.committed, THREADS);
	for (i = 0; i < THREADS; i++) {
		make_id(id, "TIMEOUT", i);
		if (!tctl_has(&ctl, id))
			fail_msg("%s: timed out and never landed", id);
	}
	check_counters_balance(j);
	journal_close(j);
	tctl_free(&ctl);
}

static void
test_journal_store_failure(void **state)
{
	static const struct {
		const char	*name;
		size_t		 knob;		/* offsetof in struct tctl */
		enum journal_status want;	/* while failing */
		int		 want_kept;	/* the first record lands later */
	} cases[] = {
		{ "write fails", offsetof(struct tctl, fail_write),
		    JOURNAL_FAILED, 0 },
		{ "commit fails", offsetof(struct tctl, fail_commit),
		    JOURNAL_FAILED, 0 },
		/* Nobody's fault: the record waits for the store. */
		{ "begin fails", offsetof(struct tctl, fail_begin),
		    JOURNAL_TIMEOUT, 1 },
	};
	struct journal_counters c;
	struct journal	*j;
	struct tctl	 ctl;
	char		 id[MT_TRACKID_SIZE];
	size_t		 k;
	int		*knob;
	enum journal_status st;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		tctl_init(&ctl);
		knob = (int *)((char *)&ctl + cases[k].knob);
		j = open_test_journal(&ctl, 1, 0, 300, 0, 0, 0);
		tctl_set(&ctl, knob, 1);
		make_id(id, "FAIL", 1);
		st = journal_submit(j, make_msg(id, "FCONN", 1));
		CHECK_STR(cases[k].name, journal_status_name(st),
		    journal_status_name(cases[k].want));
		journal_counters(j, &c);
		CHECK_INT(cases[k].name, c.failed,
		    cases[k].want == JOURNAL_FAILED ? 1 : 0);

		/* Heal: the writer reopens the store after its backoff. */
		tctl_set(&ctl, knob, 0);
		make_id(id, "FAIL", 2);
		st = journal_submit(j, make_msg(id, "FCONN", 1));
		if (st == JOURNAL_TIMEOUT)	/* still in its backoff */
			journal_flush(j);
		else
			CHECK_STR(cases[k].name, journal_status_name(st), "ok");
		CHECK_INT(cases[k].name, tctl_has(&ctl, id), 1);
		journal_flush(j);
		if (tctl_get(&ctl, &ctl.opens) < 2)
			fail_msg("%s: got %d opens, want a reopen",
			    cases[k].name, tctl_get(&ctl, &ctl.opens));
		if (tctl_get(&ctl, &ctl.closes) < 1)
			fail_msg("%s: the failed store was never closed",
			    cases[k].name);
		make_id(id, "FAIL", 1);
		CHECK_INT(cases[k].name, tctl_has(&ctl, id), cases[k].want_kept);
		check_counters_balance(j);
		journal_close(j);
		tctl_free(&ctl);
	}
}

static void
test_journal_store_down(void **state)
{
	struct journal_counters c;
	struct journal	*j;
	struct tctl	 ctl;
	char		 id[MT_TRACKID_SIZE];
	unsigned	 i;
	int		 attempts;

	(void)state;
	tctl_init(&ctl);
	j = open_test_journal(&ctl, 0, 0, 1000, 50, 0, 0);
	/* The store dies and cannot be reopened. */
	tctl_set(&ctl, &ctl.fail_commit, 1);
	tctl_set(&ctl, &ctl.fail_open, 1);
	journal_submit(j, make_msg("DOWN0", "DC", 1));
	WAIT_FOR(j, c, c.failed == 1, 2000);
	attempts = tctl_get(&ctl, &ctl.open_attempts);
	/* Records keep coming: they wait in the bounded queue. */
	for (i = 0; i < 60; i++) {
		make_id(id, "DOWN", i + 1);
		journal_submit(j, make_msg(id, "DC", 1));
	}
	journal_counters(j, &c);
	CHECK_INT("held while down", c.queued, 50);
	CHECK_INT("refused while down", c.refused_full, 10);
	/* Backoff: no busy loop while the store stays down. */
	sleep_ms(1000);
	attempts = tctl_get(&ctl, &ctl.open_attempts) - attempts;
	if (attempts < 1 || attempts > 6)
		fail_msg("got %d reopen attempts in 1 s, want 1 to 6 (backoff"
		    " from 100 ms doubling, no busy loop)", attempts);
	/* It heals: everything held lands without a flush. */
	tctl_set(&ctl, &ctl.fail_commit, 0);
	tctl_set(&ctl, &ctl.fail_open, 0);
	WAIT_FOR(j, c, c.committed == 50, 10000);
	CHECK_INT("nothing else lost", c.failed, 1);
	check_counters_balance(j);
	journal_close(j);
	tctl_free(&ctl);
}

static void
test_journal_poison(void **state)
{
	static const struct {
		const char	*name;
		const char	*poison[2];
		int		 flush;		/* final attempt, else timer */
		const char	*want;		/* committed, in order */
	} cases[] = {
		{ "one poison record", { "P2" }, 1, "P1,P3,P4,P5" },
		{ "first is poison", { "P1" }, 1, "P2,P3,P4,P5" },
		{ "last is poison", { "P5" }, 1, "P1,P2,P3,P4" },
		{ "two in a row, final attempt", { "P2", "P3" }, 1,
		    "P1,P4,P5" },
		{ "two in a row, rest retried after reopen", { "P2", "P3" }, 0,
		    "P1,P4,P5" },
	};
	struct journal_counters c;
	struct journal	*j;
	struct tctl	 ctl;
	char		 id[MT_TRACKID_SIZE], got[256];
	size_t		 k, i;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		tctl_init(&ctl);
		for (i = 0; i < 2; i++)
			if (cases[k].poison[i] != NULL)
				snprintf(ctl.poison[i], sizeof(ctl.poison[i]),
				    "%s", cases[k].poison[i]);
		j = open_test_journal(&ctl, 0, cases[k].flush ? 60000 : 200,
		    1000, 0, 0, 16);
		for (i = 1; i <= 5; i++) {
			snprintf(id, sizeof(id), "P%zu", i);
			CHECK_INT(cases[k].name, journal_submit(j,
			    make_msg(id, "PCONN", 1)), JOURNAL_OK);
		}
		if (cases[k].flush)
			journal_flush(j);
		else
			WAIT_FOR(j, c, c.queued == 0, 10000);
		journal_counters(j, &c);
		got[0] = '\0';
		pthread_mutex_lock(&ctl.lock);
		for (i = 0; i < ctl.n_ids; i++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
			    "%s%s", i > 0 ? "," : "", ctl.ids[i]);
		pthread_mutex_unlock(&ctl.lock);
		CHECK_STR(cases[k].name, got, cases[k].want);
		CHECK_INT(cases[k].name, c.failed,
		    cases[k].poison[1] != NULL ? 2 : 1);
		if (!cases[k].flush && tctl_get(&ctl, &ctl.opens) < 2)
			fail_msg("%s: want the store reopened", cases[k].name);
		check_counters_balance(j);
		journal_close(j);
		tctl_free(&ctl);
	}
}

static void
test_journal_interval(void **state)
{
	struct journal_counters c;
	struct journal	*j;
	struct tctl	 ctl;
	int64_t		 start;
	char		 id[MT_TRACKID_SIZE];
	unsigned	 i;

	(void)state;
	tctl_init(&ctl);
	/* Normal durability: the writer commits after the interval... */
	j = open_test_journal(&ctl, 0, 100, 1000, 0, 0, 8);
	start = mt_mono_us();
	CHECK_INT("normal submit", journal_submit(j, make_msg("I1", "IC", 1)),
	    JOURNAL_OK);
	journal_counters(j, &c);
	CHECK_INT("not committed at once", c.committed, 0);
	WAIT_FOR(j, c, c.committed == 1, 3000);
	if (elapsed_ms(start) < 90)
		fail_msg("committed after %lld ms, want about 100",
		    (long long)elapsed_ms(start));
	/* ...or as soon as max_batch records wait. */
	for (i = 0; i < 8; i++) {
		make_id(id, "INTERVAL", i);
		journal_submit(j, make_msg(id, "IC", 1));
	}
	WAIT_FOR(j, c, c.committed == 9, 3000);
	check_counters_balance(j);
	journal_close(j);
	tctl_free(&ctl);
}

static void
test_journal_close_drains(void **state)
{
	struct journal	*j;
	struct tctl	 ctl;
	char		 id[MT_TRACKID_SIZE];
	int64_t		 start;
	unsigned	 i;

	(void)state;
	/* A long interval: nothing would be written before close. */
	tctl_init(&ctl);
	j = open_test_journal(&ctl, 0, 60000, 1000, 0, 0, 16);
	for (i = 0; i < 100; i++) {
		make_id(id, "DRAIN", i);
		journal_submit(j, make_msg(id, "DRC", 1));
	}
	journal_submit(j, make_conn("DRC"));
	journal_close(j);
	CHECK_INT("records written by close", tctl_n_ids(&ctl), 101);
	CHECK_INT("stores closed", tctl_get(&ctl, &ctl.closes), 1);
	tctl_free(&ctl);

	/* With the store down, close makes one attempt and returns. */
	tctl_init(&ctl);
	j = open_test_journal(&ctl, 0, 0, 1000, 0, 0, 16);
	tctl_set(&ctl, &ctl.fail_commit, 1);
	tctl_set(&ctl, &ctl.fail_open, 1);
	journal_submit(j, make_msg("DEAD1", "DC", 1));
	sleep_ms(50);
	for (i = 0; i < 10; i++) {
		make_id(id, "DEAD", i);
		journal_submit(j, make_msg(id, "DC", 1));
	}
	start = mt_mono_us();
	journal_close(j);
	if (elapsed_ms(start) > 2000)
		fail_msg("close with a dead store took %lld ms",
		    (long long)elapsed_ms(start));
	CHECK_INT("nothing written", tctl_n_ids(&ctl), 0);
	tctl_free(&ctl);
}

struct closer {
	struct journal	*j;
};

static void *
close_later(void *arg)
{
	struct closer	*cl = arg;

	sleep_ms(100);
	journal_close(cl->j);
	return NULL;
}

static void
test_journal_close_races_submit(void **state)
{
	struct journal	*j;
	struct tctl	 ctl;
	struct closer	 cl;
	pthread_t	 t;
	enum journal_status st;

	(void)state;
	/* A durable submitter is waiting when close begins. */
	tctl_init(&ctl);
	ctl.commit_sleep_ms = 300;
	j = open_test_journal(&ctl, 1, 0, 5000, 0, 0, 0);
	cl.j = j;
	assert_int_equal(pthread_create(&t, NULL, close_later, &cl), 0);
	st = journal_submit(j, make_msg("RACE1", "RC", 1));
	CHECK_STR("submit while close begins", journal_status_name(st), "ok");
	pthread_join(t, NULL);
	CHECK_INT("landed", tctl_has(&ctl, "RACE1"), 1);
	tctl_free(&ctl);
}

static void
test_journal_submit_async(void **state)
{
	static const struct {
		const char	*name;
		int		 durable;
	} cases[] = {
		{ "durability full", 1 },
		{ "durability normal", 0 },
	};
	struct journal_counters c;
	struct journal	*j;
	struct tctl	 ctl;
	int64_t		 start;
	size_t		 k;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		tctl_init(&ctl);
		ctl.commit_sleep_ms = 1500;
		j = open_test_journal(&ctl, cases[k].durable, 50, 5000, 0, 0,
		    0);
		start = mt_mono_us();
		CHECK_STR(cases[k].name, journal_status_name(
		    journal_submit_async(j, make_msg("ASYNC1", "AC", 1))),
		    "ok");
		CHECK_STR(cases[k].name, journal_status_name(
		    journal_submit_async(j, make_conn("AC"))), "ok");
		if (elapsed_ms(start) > 1000)
			fail_msg("%s: async submits took %lld ms, want no wait",
			    cases[k].name, (long long)elapsed_ms(start));
		/* The writer starts at once (full) or after 50 ms (normal). */
		WAIT_FOR(j, c, c.committed == 2, 5000);
		CHECK_INT(cases[k].name, c.timeouts, 0);
		CHECK_INT(cases[k].name, tctl_has(&ctl, "ASYNC1"), 1);
		check_counters_balance(j);
		journal_close(j);
		tctl_free(&ctl);
	}
	CHECK_INT("async to NULL", journal_submit_async(NULL,
	    make_msg("N", "N", 1)), JOURNAL_CLOSED);
}

static void
test_journal_misc(void **state)
{
	static const struct {
		enum journal_status st;
		const char	*want;
	} names[] = {
		{ JOURNAL_OK, "ok" },
		{ JOURNAL_QUEUE_FULL, "queue-full" },
		{ JOURNAL_TIMEOUT, "timeout" },
		{ JOURNAL_FAILED, "failed" },
		{ JOURNAL_CLOSED, "closed" },
		{ (enum journal_status)99, "unknown" },
	};
	struct journal_counters c;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		CHECK_STR("journal_status_name", journal_status_name(
		    names[i].st), names[i].want);
	/* NULL journal: the record is still taken (and freed). */
	CHECK_INT("submit to NULL", journal_submit(NULL, make_msg("N", "N", 2)),
	    JOURNAL_CLOSED);
	CHECK_INT("submit NULL record", journal_submit(NULL, NULL),
	    JOURNAL_FAILED);
	journal_counters(NULL, &c);
	CHECK_INT("counters of NULL", c.submitted, 0);
	journal_flush(NULL);
	journal_close(NULL);
}

/* ------------------------------------------------------------ main */

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mt-journal-test-XXXXXX");
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_fresh),
		cmocka_unit_test(test_schema_reopen_noop),
		cmocka_unit_test(test_schema_refused),
		cmocka_unit_test(test_schema_migrate_to),
		cmocka_unit_test(test_schema_upgrade_keeps_data),
		cmocka_unit_test(test_store_readonly_reader),
		cmocka_unit_test(test_store_bytes_exact),
		cmocka_unit_test(test_store_message_rows),
		cmocka_unit_test(test_store_conn_upsert),
		cmocka_unit_test(test_journal_durable_visible),
		cmocka_unit_test(test_journal_late_commit_truthful),
		cmocka_unit_test(test_journal_open_fails),
		cmocka_unit_test(test_journal_poison_sqlite),
		cmocka_unit_test(test_journal_sqlite_full),
		cmocka_unit_test(test_journal_group_commit),
		cmocka_unit_test(test_journal_queue_bound),
		cmocka_unit_test(test_journal_durable_timeout),
		cmocka_unit_test(test_journal_store_failure),
		cmocka_unit_test(test_journal_store_down),
		cmocka_unit_test(test_journal_poison),
		cmocka_unit_test(test_journal_interval),
		cmocka_unit_test(test_journal_close_drains),
		cmocka_unit_test(test_journal_close_races_submit),
		cmocka_unit_test(test_journal_submit_async),
		cmocka_unit_test(test_journal_misc),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
