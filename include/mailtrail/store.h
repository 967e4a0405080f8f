/*
 * store.h - where the journal keeps its records.
 *
 * A store is a small table of functions so that the journal writer does not
 * care what is behind it: SQLite (store_sqlite.c) on one gateway, a network
 * database for fleets later, an in-memory store in unit tests.  Only the
 * journal writer thread calls a store (invariant 3: one writer); a store
 * needs no locking of its own.
 */
#ifndef MAILTRAIL_STORE_H
#define MAILTRAIL_STORE_H

#include <stddef.h>

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

#endif
