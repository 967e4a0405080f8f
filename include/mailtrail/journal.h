/*
 * journal.h - the tracking journal: a bounded queue and one writer thread.
 *
 * Callbacks hand finished records to journal_submit(); one writer thread
 * takes everything queued, writes it in one store transaction and commits
 * (group commit).  With durability full the submitter waits, up to the
 * commit timeout, until its record is committed; with normal it returns at
 * once and the writer commits every commit interval.
 *
 * Bounds: the queue holds at most max_records records and max_bytes bytes;
 * a submit over either bound is refused (the record is freed and counted).
 * A store failure fails the batch (counted, logged once per burst) and the
 * writer reopens the store before the next batch.  journal_close() drains
 * the queue before it returns.  All functions are thread-safe.
 *
 * Records of every kind share the queue, its bounds and the group commit:
 * the milter's messages and connections, batches of log events from the
 * daemon's log follower (MT_RECORD_LOGBATCH) and bounces
 * (MT_RECORD_BOUNCE).  A follower hands its batches over with
 * journal_submit_async(), never waiting on a commit; a batch refused
 * (queue full) or failed leaves its log position unstored, so the follower
 * (or a restart) reads those lines again, and the store ignores the ones
 * it already holds.  Set rec->mem with record_account() before submitting.
 */
#ifndef MAILTRAIL_JOURNAL_H
#define MAILTRAIL_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mailtrail/record.h"
#include "mailtrail/store.h"

struct journal;

/* Opens a store; called by the writer at start and to reopen after failure. */
typedef struct mt_store *(*journal_store_open_fn)(void *arg, char *err,
	    size_t errlen);

struct journal_opts {
	journal_store_open_fn open_store;
	void		*open_arg;
	int		 durable;		/* 1: submit waits for commit */
	int		 commit_interval_ms;	/* batch period when not durable */
	int		 commit_timeout_ms;	/* longest wait of a durable submit */
	size_t		 max_records;
	size_t		 max_bytes;
	size_t		 max_batch;		/* records per store transaction */
};

enum journal_status {
	JOURNAL_OK = 0,			/* queued (normal) or committed (full) */
	JOURNAL_QUEUE_FULL,		/* refused: over a bound */
	JOURNAL_TIMEOUT,		/* full: not committed within the timeout;
					   it stays queued and may still land,
					   saying if_late (journal_submit_late) */
	JOURNAL_FAILED,			/* the store refused the batch */
	JOURNAL_CLOSED			/* journal_close() has begun */
};

struct journal_counters {
	uint64_t	submitted;
	uint64_t	committed;	/* records */
	uint64_t	commits;	/* store transactions */
	uint64_t	refused_full;
	uint64_t	failed;		/* records lost to store failures */
	uint64_t	timeouts;
	uint64_t	revised;	/* timed-out records stored, then corrected */
	uint64_t	queued;		/* now */
	uint64_t	queued_bytes;	/* now */
};

/*
 * Start the writer.  The first store is opened before this returns, so a bad
 * path fails here: NULL with a message in err.
 */
struct journal *journal_open(const struct journal_opts *opts, char *err,
	    size_t errlen);

/*
 * Hand a record over (always takes ownership, whatever the result).
 */
enum journal_status journal_submit(struct journal *j, struct mt_record *rec);

/*
 * journal_submit() for a record whose submitter will answer the MTA
 * differently if the commit times out (on_error = tempfail: a record built
 * "accepted" is then answered 451).  On JOURNAL_TIMEOUT the record, whenever
 * it lands, says if_late: rewritten before it is written if still queued,
 * or corrected by a revision (the store updates the stored message's
 * outcome and error) if the writer was already writing it.  Takes
 * ownership.
 */
enum journal_status journal_submit_late(struct journal *j,
	    struct mt_record *rec, enum mt_outcome if_late);

/*
 * Hand a record over without waiting for its commit, whatever the
 * durability (aborted transactions, connection records, log batches from
 * the follower).  Takes ownership.
 */
enum journal_status journal_submit_async(struct journal *j,
	    struct mt_record *rec);

/* Ask the writer to commit what is queued now and wait for it (tests, SIGTERM). */
void	 journal_flush(struct journal *j);

/* Copy the counters. */
void	 journal_counters(struct journal *j, struct journal_counters *out);

/* Drain the queue, stop the writer, close the store, free.  NULL is a no-op. */
void	 journal_close(struct journal *j);

const char *journal_status_name(enum journal_status s);

#endif
