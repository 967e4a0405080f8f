/*
 * schema.c - the journal's SQL schema and the migrations that build it.
 *
 * The schema is a list of migrations: migration[i] takes a journal from
 * version i to version i + 1.  A fresh file is version 0 and goes through
 * every migration in turn, so a new journal and an upgraded old one end up
 * with the same tables.  Each step runs in its own BEGIN IMMEDIATE
 * transaction that also sets user_version, so a journal is always at a whole
 * version, and a second process migrating at the same time (the daemon and
 * the command started together) finds the work done and does nothing.
 *
 * Invariants: a migration, once released, never changes (a fix is a new
 * migration); a journal newer than SCHEMA_VERSION is never touched; a file
 * at version 0 that already holds tables is somebody else's database and is
 * refused rather than written into.  mailtrail-journal(5) documents the
 * tables; keep it in step.
 *
 * Thread safety: none of its own; the caller owns the connection.
 */
#include "config.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "mailtrail/clock.h"
#include "mailtrail/schema.h"

#define SCHEMA_LATEST	6

const int SCHEMA_VERSION = SCHEMA_LATEST;

/* Version 0 -> 1: the first journal. */
static const char migration_1[] =
"CREATE TABLE meta (\n"
"	key		TEXT PRIMARY KEY,\n"
"	value		TEXT\n"
");\n"
"CREATE TABLE connections (\n"
"	id		INTEGER PRIMARY KEY,\n"
"	conn_uid	TEXT NOT NULL UNIQUE,\n"
"	connect_time	INTEGER NOT NULL,\n"
"	close_time	INTEGER,\n"
"	client_addr	TEXT,\n"
"	client_port	INTEGER,\n"
"	client_name	TEXT,\n"
"	client_ptr	TEXT,\n"
"	client_resolve	TEXT,\n"
"	helo		TEXT,\n"
"	tls_version	TEXT,\n"
"	tls_cipher	TEXT,\n"
"	tls_bits	INTEGER,\n"
"	tls_cert_subject TEXT,\n"
"	tls_cert_issuer	TEXT,\n"
"	auth_type	TEXT,\n"
"	auth_authen	TEXT,\n"
"	auth_author	TEXT,\n"
"	mta_host	TEXT,\n"
"	mta_daemon	TEXT,\n"
"	mta_version	TEXT,\n"
"	trusted		INTEGER NOT NULL DEFAULT 0,\n"
"	messages	INTEGER NOT NULL DEFAULT 0,\n"
"	unknown_count	INTEGER NOT NULL DEFAULT 0,\n"
"	unknown_cmds	TEXT\n"
");\n"
"CREATE INDEX connections_client ON connections (client_addr, connect_time);\n"
"CREATE INDEX connections_time ON connections (connect_time);\n"
"CREATE TABLE messages (\n"
"	id		INTEGER PRIMARY KEY,\n"
"	track_id	TEXT NOT NULL UNIQUE,\n"
"	parent_id	TEXT,\n"
"	conn_id		INTEGER NOT NULL REFERENCES connections (id),\n"
"	start_time	INTEGER NOT NULL,\n"
"	end_time	INTEGER,\n"
"	stage		TEXT NOT NULL,\n"
"	outcome		TEXT NOT NULL,\n"
"	mail_from	TEXT,\n"
"	mail_args	TEXT,\n"
"	queue_id	TEXT,\n"
"	message_id	TEXT,\n"
"	hdr_from	TEXT,\n"
"	hdr_date	TEXT,\n"
"	subject		TEXT,\n"
"	header_bytes	INTEGER,\n"
"	body_bytes	INTEGER,\n"
"	size		INTEGER,\n"
"	n_headers	INTEGER,\n"
"	rcpt_accepted	INTEGER,\n"
"	rcpt_rejected	INTEGER,\n"
"	rcpt_dropped	INTEGER,\n"
"	edits_dropped	INTEGER,\n"
"	truncations	INTEGER,\n"
"	error		TEXT\n"
");\n"
"CREATE INDEX messages_queue_id ON messages (queue_id, start_time);\n"
"CREATE INDEX messages_message_id ON messages (message_id);\n"
"CREATE INDEX messages_mail_from ON messages (mail_from COLLATE NOCASE,"
" start_time);\n"
"CREATE INDEX messages_start ON messages (start_time);\n"
"CREATE INDEX messages_conn ON messages (conn_id);\n"
"CREATE INDEX messages_parent ON messages (parent_id)"
" WHERE parent_id IS NOT NULL;\n"
"CREATE TABLE recipients (\n"
"	id		INTEGER PRIMARY KEY,\n"
"	message		INTEGER NOT NULL REFERENCES messages (id),\n"
"	seq		INTEGER NOT NULL,\n"
"	time		INTEGER,\n"
"	address		TEXT NOT NULL,\n"
"	args		TEXT,\n"
"	status		TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),\n"
"	reply_code	INTEGER,\n"
"	enhanced_code	TEXT,\n"
"	reply_text	TEXT\n"
");\n"
"CREATE INDEX recipients_address ON recipients (address COLLATE NOCASE);\n"
"CREATE INDEX recipients_message ON recipients (message);\n"
"CREATE TABLE header_edits (\n"
"	id		INTEGER PRIMARY KEY,\n"
"	message		INTEGER NOT NULL REFERENCES messages (id),\n"
"	action		TEXT NOT NULL"
" CHECK (action IN ('added', 'removed', 'kept')),\n"
"	name		TEXT NOT NULL,\n"
"	value		TEXT,\n"
"	idx		INTEGER,\n"
"	reason		TEXT\n"
");\n"
"CREATE INDEX header_edits_message ON header_edits (message);\n"
"CREATE INDEX header_edits_action ON header_edits (action)"
" WHERE action <> 'added';\n";

/*
 * Version 1 -> 2: authentication results.  One row per SPF identity
 * checked (MAIL FROM, HELO) and per DKIM signature; the message keeps a
 * summary of each and the Authentication-Results header we added.
 */
static const char migration_2[] =
"ALTER TABLE messages ADD COLUMN spf_result TEXT;\n"
"ALTER TABLE messages ADD COLUMN dkim_result TEXT;\n"
"ALTER TABLE messages ADD COLUMN authres TEXT;\n"
"CREATE TABLE spf_results (\n"
"	id		INTEGER PRIMARY KEY,\n"
"	message		INTEGER NOT NULL REFERENCES messages (id),\n"
"	identity	TEXT NOT NULL"
" CHECK (identity IN ('mailfrom', 'helo')),\n"
"	domain		TEXT,\n"
"	result		TEXT NOT NULL CHECK (result IN ('none', 'neutral',"
" 'pass', 'fail', 'softfail', 'temperror', 'permerror', 'skipped')),\n"
"	mechanism	TEXT,\n"
"	explanation	TEXT,\n"
"	skip_reason	TEXT,\n"
"	elapsed_us	INTEGER,\n"
"	time		INTEGER NOT NULL\n"
");\n"
"CREATE INDEX spf_results_message ON spf_results (message);\n"
"CREATE INDEX spf_results_audit ON spf_results (time, result)"
" WHERE result NOT IN ('pass', 'none', 'skipped');\n"
"CREATE INDEX spf_results_domain ON spf_results (domain COLLATE NOCASE,"
" time);\n"
"CREATE TABLE dkim_signatures (\n"
"	id		INTEGER PRIMARY KEY,\n"
"	message		INTEGER NOT NULL REFERENCES messages (id),\n"
"	seq		INTEGER NOT NULL,\n"
"	domain		TEXT,\n"
"	selector	TEXT,\n"
"	algorithm	TEXT,\n"
"	identity	TEXT,\n"
"	key_bits	INTEGER,\n"
"	result		TEXT NOT NULL CHECK (result IN ('pass', 'fail',"
" 'neutral', 'policy', 'temperror', 'permerror')),\n"
"	reason		TEXT,\n"
"	header_b	TEXT,\n"
"	time		INTEGER NOT NULL\n"
");\n"
"CREATE INDEX dkim_signatures_message ON dkim_signatures (message);\n"
"CREATE INDEX dkim_signatures_audit ON dkim_signatures (time, result)"
" WHERE result <> 'pass';\n"
"CREATE INDEX dkim_signatures_domain ON dkim_signatures"
" (domain COLLATE NOCASE, time);\n";

/* Version 2 -> 3: the size the MTA itself reports (Sendmail's {msg_size}). */
static const char migration_3[] =
"ALTER TABLE messages ADD COLUMN mta_size INTEGER;\n";

/*
 * Version 3 -> 4: a smaller journal.  The tracking header and the
 * Authentication-Results header we add to every message are
 * messages.track_id and messages.authres: header_edits keeps only what
 * differs from message to message (forgeries removed or kept,
 * Received-SPF).  The domain indexes of the authentication tables served
 * no lookup (the audit reads its time window).
 */
static const char migration_4[] =
"DELETE FROM header_edits"
" WHERE action = 'added' AND name <> 'Received-SPF';\n"
"DROP INDEX spf_results_domain;\n"
"DROP INDEX dkim_signatures_domain;\n";

/*
 * Version 4 -> 5: what happened after the gateway.  delivery_events holds
 * one row per recipient per delivery attempt read from the MTA's log;
 * queue_events the other facts of a queued message (its sender, its
 * Message-ID, the bounce the MTA generated for it, its removal);
 * bounces and bounce_recipients the returning reports.  "message" links a
 * row to messages.id when the queue ID (within a time window) or the
 * report's keys name a message this journal holds, NULL otherwise: rows for
 * mail that never passed the milter are kept too.  (time, line_hash) makes
 * a log line idempotent (for delivery_events the key is (time, status,
 * line_hash): the same line always gives the same status, and the key
 * doubles as the index of the statistics of a time window); content_hash a
 * bounce.  log_positions remembers how far each followed log was read,
 * with the file's identity.
 *
 * The indexes are the ones a reader needs, and a log is written in time
 * order while queue IDs, recipients and Message-IDs come in random order:
 * an index in random key order costs a page write per row once it outgrows
 * the page cache.  So the queue-ID indexes hold only the events no message
 * claims (WHERE message IS NULL: linking, and "show" by queue ID of mail
 * that never passed the milter); a linked event is found through its
 * message (messages_queue_id, then *_message).  No reader looks events up
 * by recipient, next queue ID or Message-ID: those have no index.
 */
static const char migration_5[] =
"CREATE TABLE delivery_events (\n"
"	id		INTEGER PRIMARY KEY,\n"
"	message		INTEGER REFERENCES messages (id),\n"
"	queue_id	TEXT NOT NULL,\n"
"	time		INTEGER NOT NULL,\n"
"	mta		TEXT NOT NULL,\n"
"	host		TEXT,\n"
"	program		TEXT,\n"
"	recipient	TEXT,\n"
"	orig_recipient	TEXT,\n"
"	status		TEXT NOT NULL CHECK (status IN ('sent', 'deferred',"
" 'bounced', 'expired', 'undeliverable', 'discarded')),\n"
"	relay		TEXT,\n"
"	dsn		TEXT,\n"
"	reply_code	INTEGER,\n"
"	reply		TEXT,\n"
"	delay		REAL,\n"
"	delays		TEXT,\n"
"	next_queue_id	TEXT,\n"
"	mailer		TEXT,\n"
"	source		TEXT NOT NULL,\n"
"	line_hash	INTEGER NOT NULL,\n"
"	UNIQUE (time, status, line_hash)\n"
");\n"
"CREATE INDEX delivery_events_message ON delivery_events (message)"
" WHERE message IS NOT NULL;\n"
"CREATE INDEX delivery_events_queue ON delivery_events (queue_id, time)"
" WHERE message IS NULL;\n"
"CREATE TABLE queue_events (\n"
"	id		INTEGER PRIMARY KEY,\n"
"	message		INTEGER REFERENCES messages (id),\n"
"	queue_id	TEXT NOT NULL,\n"
"	time		INTEGER NOT NULL,\n"
"	mta		TEXT NOT NULL,\n"
"	host		TEXT,\n"
"	program		TEXT,\n"
"	kind		TEXT NOT NULL CHECK (kind IN ('client', 'queued',"
" 'message-id', 'removed', 'expired', 'notify', 'deadletter')),\n"
"	sender		TEXT,\n"
"	size		INTEGER,\n"
"	nrcpt		INTEGER,\n"
"	message_id	TEXT,\n"
"	client		TEXT,\n"
"	related_queue_id TEXT,\n"
"	source		TEXT NOT NULL,\n"
"	line_hash	INTEGER NOT NULL,\n"
"	UNIQUE (time, line_hash)\n"
");\n"
"CREATE INDEX queue_events_queue ON queue_events (queue_id, time)"
" WHERE message IS NULL;\n"
"CREATE INDEX queue_events_message ON queue_events (message)"
" WHERE message IS NOT NULL;\n"
"CREATE INDEX queue_events_related ON queue_events (related_queue_id)"
" WHERE related_queue_id IS NOT NULL;\n"
"CREATE TABLE bounces (\n"
"	id		INTEGER PRIMARY KEY,\n"
"	message		INTEGER REFERENCES messages (id),\n"
"	link		TEXT NOT NULL CHECK (link IN ('tracking-id',"
" 'message-id', 'queue-id', 'none')),\n"
"	time		INTEGER NOT NULL,\n"
"	source		TEXT NOT NULL,\n"
"	kind		TEXT NOT NULL,\n"
"	format		TEXT NOT NULL,\n"
"	bounce_track_id	TEXT,\n"
"	reporting_mta	TEXT,\n"
"	bounce_from	TEXT,\n"
"	bounce_message_id TEXT,\n"
"	bounce_subject	TEXT,\n"
"	orig_track_id	TEXT,\n"
"	orig_message_id	TEXT,\n"
"	orig_queue_id	TEXT,\n"
"	orig_from	TEXT,\n"
"	arrival_date	TEXT,\n"
"	rcpt_dropped	INTEGER,\n"
"	truncations	INTEGER,\n"
"	error		TEXT,\n"
"	content_hash	INTEGER NOT NULL UNIQUE\n"
");\n"
"CREATE INDEX bounces_message ON bounces (message)"
" WHERE message IS NOT NULL;\n"
"CREATE INDEX bounces_time ON bounces (time);\n"
"CREATE TABLE bounce_recipients (\n"
"	id		INTEGER PRIMARY KEY,\n"
"	bounce		INTEGER NOT NULL REFERENCES bounces (id),\n"
"	seq		INTEGER NOT NULL,\n"
"	recipient	TEXT,\n"
"	orig_recipient	TEXT,\n"
"	action		TEXT,\n"
"	status		TEXT,\n"
"	reply_code	INTEGER,\n"
"	permanent	INTEGER,\n"
"	reason		TEXT,\n"
"	remote_mta	TEXT,\n"
"	diagnostic	TEXT,\n"
"	last_attempt	TEXT\n"
");\n"
"CREATE INDEX bounce_recipients_bounce ON bounce_recipients (bounce);\n"
"CREATE INDEX bounce_recipients_recipient ON bounce_recipients"
" (recipient COLLATE NOCASE);\n"
"CREATE TABLE log_positions (\n"
"	path		TEXT PRIMARY KEY,\n"
"	dev		INTEGER,\n"
"	ino		INTEGER,\n"
"	head_hash	INTEGER,\n"
"	offset		INTEGER NOT NULL,\n"
"	updated		INTEGER NOT NULL,\n"
"	lines		INTEGER NOT NULL DEFAULT 0,\n"
"	unparsed	INTEGER NOT NULL DEFAULT 0,\n"
"	too_long	INTEGER NOT NULL DEFAULT 0\n"
");\n";

/*
 * Version 5 -> 6: DMARC (auth.c).  The verdict and everything that decided
 * it sit on the message: the From: domain and how it was read, where the
 * policy record was found, the tag that applied (p, sp or np) and what it
 * asks, pct= / t= and the sampling draw, the disposition a receiver would
 * apply, the failure classes (names, comma separated) and their words, the
 * SPF identity DMARC aligned and how.  Each DKIM signature says how it
 * aligned.  NULL in all of them: DMARC was not evaluated (off, or a journal
 * written before).  The partial index serves audit and find --dmarc.
 */
static const char migration_6[] =
"ALTER TABLE messages ADD COLUMN dmarc_result TEXT CHECK (dmarc_result IN"
" ('none', 'pass', 'fail', 'temperror', 'permerror'));\n"
"ALTER TABLE messages ADD COLUMN dmarc_from_domain TEXT;\n"
"ALTER TABLE messages ADD COLUMN dmarc_from_status TEXT;\n"
"ALTER TABLE messages ADD COLUMN dmarc_from_count INTEGER;\n"
"ALTER TABLE messages ADD COLUMN dmarc_record_domain TEXT;\n"
"ALTER TABLE messages ADD COLUMN dmarc_org_domain TEXT;\n"
"ALTER TABLE messages ADD COLUMN dmarc_record_p TEXT;\n"
"ALTER TABLE messages ADD COLUMN dmarc_policy TEXT;\n"
"ALTER TABLE messages ADD COLUMN dmarc_policy_from TEXT;\n"
"ALTER TABLE messages ADD COLUMN dmarc_adkim TEXT;\n"
"ALTER TABLE messages ADD COLUMN dmarc_aspf TEXT;\n"
"ALTER TABLE messages ADD COLUMN dmarc_pct INTEGER;\n"
"ALTER TABLE messages ADD COLUMN dmarc_testing INTEGER;\n"
"ALTER TABLE messages ADD COLUMN dmarc_sample INTEGER;\n"
"ALTER TABLE messages ADD COLUMN dmarc_sampled_in INTEGER;\n"
"ALTER TABLE messages ADD COLUMN dmarc_disposition TEXT;\n"
"ALTER TABLE messages ADD COLUMN dmarc_reasons TEXT;\n"
"ALTER TABLE messages ADD COLUMN dmarc_reason_text TEXT;\n"
"ALTER TABLE messages ADD COLUMN dmarc_spf_domain TEXT;\n"
"ALTER TABLE messages ADD COLUMN dmarc_spf_align TEXT;\n"
"ALTER TABLE messages ADD COLUMN dmarc_action TEXT;\n"
"ALTER TABLE dkim_signatures ADD COLUMN dmarc_align TEXT;\n"
"CREATE INDEX messages_dmarc ON messages (start_time, dmarc_result)"
" WHERE dmarc_result IS NOT NULL AND dmarc_result <> 'pass';\n";

/* migration[i] takes version i to i + 1.  Append only. */
static const char *const migration[] = {
	migration_1,
	migration_2,
	migration_3,
	migration_4,
	migration_5,
	migration_6,
};

_Static_assert(sizeof(migration) / sizeof(migration[0]) == SCHEMA_LATEST,
    "SCHEMA_VERSION must equal the number of migrations");

static const char *
db_name(sqlite3 *db)
{
	const char *name = sqlite3_db_filename(db, "main");

	return name != NULL && *name != '\0' ? name : "(in memory)";
}

/* Run one SQL text; -1 with "what: sqlite message" in err. */
static int
exec_sql(sqlite3 *db, const char *sql, const char *what, char *err,
    size_t errlen)
{
	char	*msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "journal %s: %s: %s", db_name(db), what,
	    msg != NULL ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

int
schema_version(sqlite3 *db)
{
	sqlite3_stmt	*stmt;
	int		 v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* Count schema objects not made by SQLite itself; -1 on error. */
static int
count_objects(sqlite3 *db)
{
	sqlite3_stmt	*stmt;
	int		 n = -1;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master"
	    " WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'", -1, &stmt,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return n;
}

/* Explain why a journal cannot even be read. */
static void
unreadable(sqlite3 *db, char *err, size_t errlen)
{
	switch (sqlite3_errcode(db)) {
	case SQLITE_NOTADB:
		snprintf(err, errlen, "journal %s is not an SQLite database"
		    " (is the path right?)", db_name(db));
		break;
	case SQLITE_CORRUPT:
		snprintf(err, errlen, "journal %s is damaged: %s", db_name(db),
		    sqlite3_errmsg(db));
		break;
	default:
		snprintf(err, errlen, "journal %s: cannot read the schema"
		    " version: %s", db_name(db), sqlite3_errmsg(db));
		break;
	}
}

/*
 * Decide whether the journal at version v may be migrated: 0 when it may,
 * -1 with a message when it is newer than this build or not ours.
 */
static int
check_journal(sqlite3 *db, int v, char *err, size_t errlen)
{
	int	 n;

	if (v > SCHEMA_VERSION) {
		snprintf(err, errlen, "journal %s has schema version %d, newer"
		    " than this mailtrail (%d); upgrade mailtrail", db_name(db),
		    v, SCHEMA_VERSION);
		return -1;
	}
	if (v == 0) {
		if ((n = count_objects(db)) < 0) {
			unreadable(db, err, errlen);
			return -1;
		}
		if (n > 0) {
			snprintf(err, errlen, "%s is an SQLite database but not"
			    " a mailtrail journal (it holds %d tables or"
			    " indexes and no schema version); refusing to"
			    " write into it", db_name(db), n);
			return -1;
		}
	}
	return 0;
}

/* What a new journal says about itself. */
static int
fill_meta(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	char		 stamp[MT_ISO8601_SIZE];
	int		 rc;

	mt_iso8601(stamp, sizeof(stamp), mt_now_us());
	rc = sqlite3_prepare_v2(db, "INSERT INTO meta (key, value) VALUES"
	    " ('created_at', ?1), ('created_by', ?2)", -1, &stmt, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(stmt, 1, stamp, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(stmt, 2, PACKAGE_NAME " " PACKAGE_VERSION, -1,
		    SQLITE_STATIC);
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
		sqlite3_finalize(stmt);
	}
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "journal %s: writing meta: %s",
		    db_name(db), sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* Take the journal from version "from" to from + 1, in one transaction. */
static int
migrate_step(sqlite3 *db, int from, char *err, size_t errlen)
{
	char	 sql[64], what[64];
	int	 v;

	if (exec_sql(db, "BEGIN IMMEDIATE", "starting a migration", err,
	    errlen) < 0)
		return -1;
	/* Someone may have migrated it while we waited for the lock. */
	if ((v = schema_version(db)) != from) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		if (v < 0) {
			unreadable(db, err, errlen);
			return -1;
		}
		return 0;
	}
	if (check_journal(db, v, err, errlen) < 0)
		goto fail;
	snprintf(what, sizeof(what), "migration to version %d", from + 1);
	if (exec_sql(db, migration[from], what, err, errlen) < 0)
		goto fail;
	if (from == 0 && fill_meta(db, err, errlen) < 0)
		goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", from + 1);
	if (exec_sql(db, sql, what, err, errlen) < 0)
		goto fail;
	if (exec_sql(db, "COMMIT", what, err, errlen) < 0)
		goto fail;
	return 0;

fail:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
schema_migrate_to(sqlite3 *db, int to, char *err, size_t errlen)
{
	int	 v, prev = -1;

	if (to < 0 || to > SCHEMA_VERSION) {
		snprintf(err, errlen, "journal %s: no schema version %d (this"
		    " mailtrail knows 0 to %d)", db_name(db), to,
		    SCHEMA_VERSION);
		return -1;
	}
	for (;;) {
		if ((v = schema_version(db)) < 0) {
			unreadable(db, err, errlen);
			return -1;
		}
		if (check_journal(db, v, err, errlen) < 0)
			return -1;
		if (v >= to)
			return 0;
		if (v == prev) {
			/* A step that "succeeded" without moving: a bug. */
			snprintf(err, errlen, "journal %s: migration from"
			    " version %d did not take", db_name(db), v);
			return -1;
		}
		prev = v;
		if (migrate_step(db, v, err, errlen) < 0)
			return -1;
	}
}

int
schema_migrate(sqlite3 *db, char *err, size_t errlen)
{
	return schema_migrate_to(db, SCHEMA_VERSION, err, errlen);
}
