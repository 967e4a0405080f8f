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
#include <unistd.h>

#include "mailtrail/record.h"
#include "mailtrail/schema.h"
#include "mailtrail/store.h"

#define DEFAULT_MODE		0640
#define DEFAULT_BUSY_MS		5000
#define WAL_SIZE_LIMIT		"16777216"	/* bytes kept after a checkpoint */

struct sqlite_store {
	struct mt_store	 store;		/* store.impl points back here */
	sqlite3		*db;
	char		*path;
	sqlite3_stmt	*conn_upsert;
	sqlite3_stmt	*msg_insert;
	sqlite3_stmt	*rcpt_insert;
	sqlite3_stmt	*edit_insert;
	sqlite3_stmt	*spf_insert;
	sqlite3_stmt	*dkim_insert;
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

static const char sql_msg_insert[] =
"INSERT INTO messages (track_id, parent_id, conn_id, start_time, end_time,"
" stage, outcome, mail_from, mail_args, queue_id, message_id, hdr_from,"
" hdr_date, subject, header_bytes, body_bytes, size, n_headers,"
" rcpt_accepted, rcpt_rejected, rcpt_dropped, edits_dropped, truncations,"
" error, spf_result, dkim_result, authres, mta_size)"
" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
" ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)";

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
" identity, key_bits, result, reason, header_b, time)"
" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

static const char sql_edit_insert[] =
"INSERT INTO header_edits (message, action, name, value, idx, reason)"
" VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/*
 * Binding in parameter order: each call binds the next parameter; the first
 * failure sticks in rc and later calls do nothing.
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
		    SQLITE_TRANSIENT);
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

/*
 * Run a bound statement to completion; the first returned row's column 0
 * goes to *id when id is not NULL.  The statement is reset and its bindings
 * cleared whatever happens, ready for the next record.
 */
static int
run(struct sqlite_store *s, sqlite3_stmt *stmt, int rc, int64_t *id,
    const char *what, char *err, size_t errlen)
{
	int	 got = 0;

	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			if (id != NULL && !got)
				*id = sqlite3_column_int64(stmt, 0);
			got = 1;
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
	if (rc == SQLITE_OK && id != NULL && !got) {
		snprintf(err, errlen, "journal %s: %s: no row id returned",
		    s->path, what);
		return -1;
	}
	return rc == SQLITE_OK ? 0 : -1;
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
	if (run(s, s->msg_insert, b.rc, NULL, "writing message", err,
	    errlen) < 0)
		return -1;
	*msg_id = sqlite3_last_insert_rowid(s->db);
	return 0;
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
    int64_t msg_id, int64_t time_us, char *err, size_t errlen)
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
	return run(s, s->dkim_insert, b.rc, NULL, "writing DKIM signature",
	    err, errlen);
}

static int
sq_write(struct mt_store *st, const struct mt_record *rec, char *err,
    size_t errlen)
{
	struct sqlite_store *s = st->impl;
	const struct mt_msg_rec *m = &rec->msg;
	int64_t		 conn_id = 0, msg_id;
	size_t		 i;

	if (write_conn(s, &rec->conn, &conn_id, err, errlen) < 0)
		return -1;
	if (rec->kind != MT_RECORD_MESSAGE)
		return 0;
	if (write_msg(s, m, conn_id, &msg_id, err, errlen) < 0)
		return -1;
	for (i = 0; i < m->n_rcpts; i++)
		if (write_rcpt(s, &m->rcpts[i], i + 1, msg_id, err, errlen) < 0)
			return -1;
	for (i = 0; i < m->n_edits; i++)
		if (write_edit(s, &m->edits[i], msg_id, err, errlen) < 0)
			return -1;
	for (i = 0; i < m->n_spf; i++)
		if (write_spf(s, &m->spf[i], msg_id, err, errlen) < 0)
			return -1;
	for (i = 0; i < m->n_dkim; i++)
		if (write_dkim(s, &m->dkim[i], i + 1, msg_id, m->end_us, err,
		    errlen) < 0)
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

	return exec_sql(s, "BEGIN IMMEDIATE", "begin", err, errlen);
}

static void
sq_rollback(struct mt_store *st)
{
	struct sqlite_store *s = st->impl;

	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static int
sq_commit(struct mt_store *st, char *err, size_t errlen)
{
	struct sqlite_store *s = st->impl;

	if (exec_sql(s, "COMMIT", "commit", err, errlen) == 0)
		return 0;
	/* A failed COMMIT may leave the transaction open (SQLITE_BUSY). */
	sq_rollback(st);
	return -1;
}

static void
sq_close(struct mt_store *st)
{
	struct sqlite_store *s;

	if (st == NULL)
		return;
	s = st->impl;
	sqlite3_finalize(s->conn_upsert);
	sqlite3_finalize(s->msg_insert);
	sqlite3_finalize(s->rcpt_insert);
	sqlite3_finalize(s->edit_insert);
	sqlite3_finalize(s->spf_insert);
	sqlite3_finalize(s->dkim_insert);
	if (s->db != NULL) {
		sq_rollback(st);
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
 * Create a missing journal file with the configured mode, whatever the
 * umask: SQLite gives the -wal and -shm files the mode of the database
 * file, so this decides who may read the journal.
 */
static int
create_file(const char *path, unsigned mode, char *err, size_t errlen)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    (mode_t)mode);
	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
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
	if (create_file(opts->path, mode, err, errlen) < 0)
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
	sqlite3_busy_timeout(s->db, opts->busy_timeout_ms > 0 ?
	    opts->busy_timeout_ms : DEFAULT_BUSY_MS);

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
	    exec_sql(s, "PRAGMA foreign_keys=ON", "enabling foreign keys",
	    err, errlen) < 0 ||
	    exec_sql(s, "PRAGMA journal_size_limit=" WAL_SIZE_LIMIT,
	    "setting journal_size_limit", err, errlen) < 0)
		goto fail;
	if (opts->test_pragma != NULL &&
	    exec_sql(s, opts->test_pragma, "test pragma", err, errlen) < 0)
		goto fail;

	if (prepare(s, sql_conn_upsert, &s->conn_upsert, err, errlen) < 0 ||
	    prepare(s, sql_msg_insert, &s->msg_insert, err, errlen) < 0 ||
	    prepare(s, sql_rcpt_insert, &s->rcpt_insert, err, errlen) < 0 ||
	    prepare(s, sql_edit_insert, &s->edit_insert, err, errlen) < 0 ||
	    prepare(s, sql_spf_insert, &s->spf_insert, err, errlen) < 0 ||
	    prepare(s, sql_dkim_insert, &s->dkim_insert, err, errlen) < 0)
		goto fail;
	return &s->store;

fail:
	sq_close(&s->store);
	return NULL;
}
