/*
 * store.h - where the journal keeps its records.
 *
 * A store is a small table of functions so that the journal writer does not
 * care what is behind it: SQLite (store_sqlite.c) on one gateway, a network
 * database for fleets later, an in-memory store in unit tests.  In the
 * daemon only the journal writer thread calls a store (invariant 3: one
 * writer); a command that writes (ingest-log, bounce --record) opens its
 * own and keeps its transactions short.  A store needs no locking of its
 * own.
 */
#ifndef MAILTRAIL_STORE_H
#define MAILTRAIL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "mailtrail/record.h"

struct mt_store;

struct mt_store_ops {
	const char *name;
	/* Start a write transaction. 0 or -1 (message in err). */
	int	(*begin)(struct mt_store *st, char *err, size_t errlen);
	/* Write one record inside the transaction. 0 or -1. */
	int	(*write)(struct mt_store *st, const struct mt_record *rec,
		    char *err, size_t errlen);
	/* Make the transaction durable. 0 or -1 (then it was rolled back). */
	int	(*commit)(struct mt_store *st, char *err, size_t errlen);
	/* Abandon the transaction. */
	void	(*rollback)(struct mt_store *st);
	/* Close and free the store. */
	void	(*close)(struct mt_store *st);
};

struct mt_store {
	const struct mt_store_ops *ops;
	void	*impl;
};

struct mt_store_sqlite_opts {
	const char	*path;
	int		 synchronous_full;	/* PRAGMA synchronous=FULL, else NORMAL */
	unsigned	 mode;			/* file mode when created, e.g. 0640 */
	int		 busy_timeout_ms;
	/*
	 * A bulk loader (mailtrail ingest-log): a BULK_CACHE_KIB page cache
	 * instead of SQLite's 2 MB default, and REFERENCES not enforced on
	 * this connection (every id it writes was read in the same
	 * transaction; the checks cost a B-tree lookup per row).  0 in the
	 * daemon.
	 */
	int		 bulk;
	/* Tests only: SQL run once the journal is ready ("PRAGMA
	 * max_page_count=..." to provoke SQLITE_FULL); NULL normally. */
	const char	*test_pragma;
};

/*
 * Open (creating and migrating as needed) an SQLite journal.  Returns NULL
 * with a message in err: unwritable path, a journal with a newer schema than
 * this build knows, a file that is not a journal.  Caller owns the store.
 */
struct mt_store *store_sqlite_open(const struct mt_store_sqlite_opts *opts,
	    char *err, size_t errlen);

/*
 * What an SQLite store wrote, over the transactions it committed since it
 * was opened (a rolled-back transaction counts nothing).  For
 * "mailtrail ingest-log" and "mailtrail bounce --record".
 */
struct mt_store_sqlite_counts {
	uint64_t	events_new;	/* log events inserted */
	uint64_t	events_dup;	/* log events already held, ignored */
	uint64_t	events_linked;	/* of the inserted, linked to a message */
	uint64_t	events_relinked; /* events linked when a message record
					   was written after them */
	uint64_t	bounces_new;
	uint64_t	bounces_dup;	/* same content hash: ignored */
	uint64_t	bounces_linked;	/* of the inserted, linked to a message */
	uint64_t	positions;	/* log position upserts */
};

/*
 * For a process in which one thread only ever uses SQLite (mailtrail
 * ingest-log: its writer thread), called before any store is opened:
 * SQLite's mutexes and its memory statistics (a lock taken on every
 * allocation) are turned off.  No effect once SQLite is initialised.
 * Never in the daemon.
 */
void	 store_sqlite_one_thread(void);

/*
 * A bulk loader calls this between its transactions.  It checkpoints its
 * own WAL (SQLite's auto-checkpoint is off on its connection): alone, once
 * the WAL has grown to 16 MiB, so that the fsyncs of a checkpoint are
 * rare; while another connection (the daemon) commits beside it, at 1000
 * frames as SQLite would, and then it also sleeps a few milliseconds so
 * that the other writer gets the lock between two of its transactions.
 * The checkpoint is passive: no writer waits for it.  Returns 1 when
 * another writer was seen in the last seconds, else 0 (also when st is
 * not a bulk SQLite store).
 */
int	 store_sqlite_bulk_between(struct mt_store *st);

/* Copy the counts; zeros when st is not an SQLite store (or NULL). */
void	 store_sqlite_counts(const struct mt_store *st,
	    struct mt_store_sqlite_counts *out);

/*
 * The link of the last bounce the store wrote in the open or last
 * committed transaction: its bounces.id (0 when it was a duplicate, which
 * is then not written again), the message it was linked to (0 none) and
 * how ("tracking-id", "message-id", "queue-id", "none"; static).  For
 * "mailtrail bounce --record" to say what it did.  0, or -1 when st is not
 * an SQLite store or has written no bounce.
 */
int	 store_sqlite_last_bounce(const struct mt_store *st, int64_t *bounce_id,
	    int64_t *message_id, const char **link);

/*
 * Read the stored position of a followed log file (log_positions, keyed by
 * the path as the follower was configured with it), for the daemon's log
 * follower at start-up.  Opens db_path read-only for the call (a busy
 * timeout waits for a writer) and never creates or migrates it.  Returns 1
 * when a position is stored (*out filled: path, dev, ino, head_hash,
 * offset, time_us = when it was recorded; the counters lines, unparsed and
 * too_long are set to 0, so the struct can be handed back in a batch as
 * it is: the totals stay in the table), 0 when none is (no such row, no
 * log_positions table yet, no journal file), -1 on error with a message in
 * err.  The caller frees out->path with mt_bytes_clear().
 */
int	 store_sqlite_log_position(const char *db_path, const char *log_path,
	    struct mt_log_position *out, char *err, size_t errlen);

#endif
