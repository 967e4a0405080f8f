/*
 * db.c - open the journal read-only and learn what it holds.
 *
 * The command never writes: the journal is opened with
 * SQLITE_OPEN_READONLY, so a mistake cannot change it, and with a busy
 * timeout, so a query that starts while the milter's writer commits waits
 * instead of failing (in WAL mode readers never block the writer).  The
 * schema version decides what can be shown: version 1 has no SPF or DKIM
 * tables, a newer version than this build is refused, version 0 is not a
 * journal.  The delivery tables (schema 5) are looked for by name; with
 * them come the SQL functions of delivery.c (a recipient's state).
 *
 * Every error names the file and says what to do about it.
 *
 * Thread safety: single-threaded use of one connection.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailtrail/config.h"
#include "mailtrail/schema.h"
#include "cli/cli.h"
#include "cli/delivery.h"

#define DEFAULT_CONFIG	SYSCONFDIR "/mailtrail/mailtrail.conf"
#define BUSY_TIMEOUT_MS	10000

char *
cli_journal_path(struct cli *cli, char *err, size_t errlen)
{
	struct mt_config *cfg;
	struct stat	 st;
	const char	*cpath = cli->config_path;
	char		*path;

	snprintf(cli->tracking_header, sizeof(cli->tracking_header), "%s",
	    "X-Mailtrail-ID");
	if (cli->journal_path != NULL && cpath == NULL) {
		if ((path = strdup(cli->journal_path)) == NULL)
			snprintf(err, errlen, "out of memory");
		return path;
	}
	if (cpath == NULL && stat(DEFAULT_CONFIG, &st) == 0)
		cpath = DEFAULT_CONFIG;
	if (cpath != NULL)
		cfg = config_load(cpath, err, errlen);
	else if ((cfg = config_defaults()) == NULL)
		snprintf(err, errlen, "out of memory");
	if (cfg == NULL)
		return NULL;
	snprintf(cli->tracking_header, sizeof(cli->tracking_header), "%s",
	    cfg->tracking_header);
	snprintf(cli->local_domains, sizeof(cli->local_domains), "%s",
	    cfg->dmarc_local_domains);
	if ((path = strdup(cli->journal_path != NULL ? cli->journal_path :
	    cfg->journal_path)) == NULL)
		snprintf(err, errlen, "out of memory");
	config_unref(cfg);
	return path;
}

int
cli_table_exists(sqlite3 *db, const char *table)
{
	sqlite3_stmt	*stmt;
	int		 found = 0;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE"
	    " type = 'table' AND name = ?1", -1, &stmt, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
	found = sqlite3_step(stmt) == SQLITE_ROW;
	sqlite3_finalize(stmt);
	return found;
}

int
cli_column_exists(sqlite3 *db, const char *table, const char *column)
{
	return sqlite3_table_column_metadata(db, "main", table, column, NULL,
	    NULL, NULL, NULL, NULL) == SQLITE_OK;
}

/* Why a journal could not be read, with advice. */
static void
explain_open_error(const char *path, int rc, const char *msg, char *err,
    size_t errlen)
{
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
		snprintf(err, errlen, "journal %s is not an SQLite database"
		    " (is the path right?)", path);
		break;
	case SQLITE_CORRUPT:
		snprintf(err, errlen, "journal %s is damaged: %s", path, msg);
		break;
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		snprintf(err, errlen, "cannot read journal %s: %s (a read-only"
		    " account needs read access to the -wal and -shm files"
		    " beside it, which mailtrail-milter keeps while it runs;"
		    " see PERMISSIONS in mailtrail-journal(5))", path, msg);
		break;
	default:
		snprintf(err, errlen, "journal %s: %s", path, msg);
		break;
	}
}

void
cli_journal_close(struct cli_journal *j)
{
	/* The functions' statements go before the connection. */
	cli_dlv_unregister(j->dlv_fn);
	if (j->db != NULL)
		sqlite3_close(j->db);
	free(j->path);
	memset(j, 0, sizeof(*j));
}

int
cli_journal_open_path(struct cli_journal *j, const char *path, char *err,
    size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	memset(j, 0, sizeof(*j));
	if (access(path, R_OK) < 0) {
		if (errno == ENOENT)
			snprintf(err, errlen, "journal %s does not exist (set"
			    " journal.path in the configuration or give"
			    " --journal PATH; mailtrail-milter creates it when"
			    " it starts)", path);
		else if (errno == EACCES || errno == EPERM)
			snprintf(err, errlen, "cannot read journal %s: %s (the"
			    " journal and its directory are readable by the"
			    " milter's group, e.g. mailtrail: add this account"
			    " to it; see PERMISSIONS in mailtrail(1))", path,
			    strerror(errno));
		else
			snprintf(err, errlen, "journal %s: %s", path,
			    strerror(errno));
		return -1;
	}
	if ((j->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		explain_open_error(path, rc, j->db != NULL ?
		    sqlite3_errmsg(j->db) : sqlite3_errstr(rc), err, errlen);
		goto fail;
	}
	sqlite3_extended_result_codes(j->db, 1);
	sqlite3_busy_timeout(j->db, BUSY_TIMEOUT_MS);
	rc = sqlite3_prepare_v2(j->db, "PRAGMA user_version", -1, &stmt, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			j->version = sqlite3_column_int(stmt, 0);
			rc = SQLITE_OK;
		}
		sqlite3_finalize(stmt);
	}
	if (rc != SQLITE_OK) {
		explain_open_error(path, rc, sqlite3_errmsg(j->db), err, errlen);
		goto fail;
	}
	if (j->version > SCHEMA_VERSION) {
		snprintf(err, errlen, "journal %s has schema version %d, newer"
		    " than this mailtrail (%d); upgrade mailtrail", path,
		    j->version, SCHEMA_VERSION);
		goto fail;
	}
	if (j->version <= 0 || !cli_table_exists(j->db, "messages") ||
	    !cli_table_exists(j->db, "connections")) {
		snprintf(err, errlen, "%s is not a mailtrail journal (schema"
		    " version %d%s)", path, j->version,
		    j->version > 0 ? ", but no messages table" : "");
		goto fail;
	}
	j->has_auth = cli_table_exists(j->db, "spf_results") &&
	    cli_table_exists(j->db, "dkim_signatures") &&
	    cli_column_exists(j->db, "messages", "spf_result");
	j->has_dmarc = j->has_auth &&
	    cli_column_exists(j->db, "messages", "dmarc_result") &&
	    cli_column_exists(j->db, "dkim_signatures", "dmarc_align");
	j->has_delivery = cli_table_exists(j->db, "delivery_events") &&
	    cli_table_exists(j->db, "queue_events") &&
	    cli_table_exists(j->db, "bounces") &&
	    cli_table_exists(j->db, "bounce_recipients") &&
	    cli_column_exists(j->db, "delivery_events", "message");
	if (j->has_delivery && cli_dlv_register(j->db, &j->dlv_fn) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return 0;

fail:
	cli_journal_close(j);
	return -1;
}

int
cli_open_journal(struct cli *cli)
{
	char	 err[CLI_ERRLEN];
	char	*path;
	int	 rc;

	if ((path = cli_journal_path(cli, err, sizeof(err))) == NULL) {
		cli_error(cli, "%s", err);
		return -1;
	}
	rc = cli_journal_open_path(&cli->j, path, err, sizeof(err));
	free(path);
	if (rc < 0) {
		cli_error(cli, "%s", err);
		return -1;
	}
	return 0;
}

void
cli_close_journal(struct cli *cli)
{
	cli_journal_close(&cli->j);
}

void
cli_db_error(const struct cli *cli, const char *what)
{
	cli_error(cli, "journal %s: %s: %s", cli->j.path != NULL ?
	    cli->j.path : "?", what, cli->j.db != NULL ?
	    sqlite3_errmsg(cli->j.db) : "not open");
}

int
cli_prepare(const struct cli *cli, const char *sql, sqlite3_stmt **stmt)
{
	if (sqlite3_prepare_v2(cli->j.db, sql, -1, stmt, NULL) != SQLITE_OK) {
		cli_db_error(cli, "preparing a query");
		*stmt = NULL;
		return -1;
	}
	return 0;
}
