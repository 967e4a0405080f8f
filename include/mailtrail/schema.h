/*
 * schema.h - the journal's SQL schema and its migrations.
 *
 * The schema version lives in SQLite's user_version.  Migration N takes a
 * journal from version N-1 to N; each runs in its own transaction, so a
 * journal is always at a whole version.  A journal newer than
 * SCHEMA_VERSION is refused (never downgraded).  mailtrail-journal(5)
 * documents the tables.
 */
#ifndef MAILTRAIL_SCHEMA_H
#define MAILTRAIL_SCHEMA_H

#include <sqlite3.h>
#include <stddef.h>

/* Version this build writes and reads. */
extern const int SCHEMA_VERSION;

/* Bring db to SCHEMA_VERSION.  Returns 0, or -1 with a message in err. */
int	 schema_migrate(sqlite3 *db, char *err, size_t errlen);

/* Read the version of an open journal; -1 on error. */
int	 schema_version(sqlite3 *db);

/*
 * Apply migrations up to (and including) version "to" only: for tests of the
 * migration path.  Returns as schema_migrate.
 */
int	 schema_migrate_to(sqlite3 *db, int to, char *err, size_t errlen);

#endif
