/*
 * logfollow.h - the daemon's log follower: the MTA's mail log, read live.
 *
 * A follower reads one log file as it grows, parses each complete line
 * (maillog.h), collects the delivery and queue events in a batch
 * (delivery.h) and hands the batch to the journal as one
 * MT_RECORD_LOGBATCH record that also carries the position reached: the
 * file's identity and the offset after the batch's last complete line.
 * The journal writer stores the events and the position in one
 * transaction (invariant 3: one writer), so a restart resumes exactly
 * where the last commit ended, without loss or duplicate.
 *
 * Files: at start the stored position is resumed when the file is the one
 * it names (same device and inode, or the same first line when the inode
 * changed, e.g. a copy); a different file is read from its beginning; with
 * no position at all, delivery.start says where.  Rotation by rename is
 * followed (the old file is read to its end, then the new one from offset
 * 0), and so is copytruncate (a file shorter than the offset, or whose
 * first line changed, is read again from 0).  A missing file is retried,
 * logged once per burst, never fatal.
 *
 * Bounds: a line longer than MLOG_MAX_LINE is skipped without being
 * buffered (counted); a partial last line is not consumed until its
 * newline arrives; a batch holds at most batch_max events (<=
 * MT_LOG_BATCH_MAX).  When the journal refuses a batch (queue full) the
 * follower backs off, rewinds to the last position handed over and reads
 * the same lines again, in batches half as large (a batch over the queue's
 * byte bound would never fit; the size doubles back after each accepted
 * one): nothing is dropped, the refusal is counted.
 *
 * Thread safety: logfollow_start runs the follower on its own thread;
 * logfollow_counters may be called from any thread; everything else is for
 * the thread that created the follower.  logfollow_poll_once is for tests
 * that drive a follower without its thread.
 */
#ifndef MAILTRAIL_LOGFOLLOW_H
#define MAILTRAIL_LOGFOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include "mailtrail/delivery.h"
#include "mailtrail/journal.h"
#include "mailtrail/maillog.h"
#include "mailtrail/record.h"

struct logfollow;

/*
 * Where a batch goes.  Takes ownership of rec whatever the answer (as
 * journal_submit_async does).  JOURNAL_OK when accepted.
 */
typedef enum journal_status (*logfollow_submit_fn)(void *arg,
	    struct mt_record *rec);

/*
 * The stored position of log_path: 1 found (*out filled; the follower
 * frees out->path), 0 none, -1 error (message in err).  The signature of
 * store_sqlite_log_position, with an argument in front.
 */
typedef int (*logfollow_position_fn)(void *arg, const char *log_path,
	    struct mt_log_position *out, char *err, size_t errlen);

/*
 * Parse one line (without its newline) and add what is kept to the batch.
 * Returns the line's kind (MLOG_UNPARSED and MLOG_BAD_STAMP are counted as
 * unparsed), or -1 when an event could not be added (out of memory).  For
 * tests; the default parses with mlog_parse and adds with log_batch_add.
 */
typedef int (*logfollow_line_fn)(void *arg, const char *line, size_t len,
	    struct mt_log_batch *batch);

struct logfollow_opts {
	const char	*path;		/* the log file (copied) */
	int		 poll_ms;	/* growth / rotation checks */
	int		 batch_ms;	/* longest wait before handing over */
	size_t		 batch_max;	/* events per record, 1..MT_LOG_BATCH_MAX */
	int		 start_at_end;	/* no stored position: start at the end */
	int32_t		 tz_offset_s;	/* classic stamps; MLOG_TZ_LOCAL */

	/* Where batches go: journal_submit_async(journal) unless submit. */
	struct journal	*journal;
	logfollow_submit_fn submit;
	void		*submit_arg;

	/* The stored position: store_sqlite_log_position(db_path) unless
	 * load_position is set.  db_path NULL with no load_position: none. */
	const char	*db_path;
	logfollow_position_fn load_position;
	void		*position_arg;

	/* Tests: a line handler in place of the mail log parser. */
	logfollow_line_fn handle_line;
	void		*line_arg;
};

struct logfollow_counters {
	uint64_t	lines;		/* complete lines handed over */
	uint64_t	events;		/* events handed over */
	uint64_t	unparsed;	/* MLOG_UNPARSED + MLOG_BAD_STAMP */
	uint64_t	too_long;	/* lines over MLOG_MAX_LINE, skipped */
	uint64_t	rotations;	/* switched to a new file at the path */
	uint64_t	truncations;	/* copytruncate: read again from 0 */
	uint64_t	errors;		/* open/read errors, allocation failures */
	uint64_t	refused;	/* batches the journal refused (retried) */
	uint64_t	batches;	/* records handed over */
	int64_t		offset;		/* in the current file */
	int64_t		lag_us;		/* last hand-over: first line seen to
					   hand-over, microseconds */
};

/* A follower (not started).  NULL with a message in err. */
struct logfollow *logfollow_new(const struct logfollow_opts *opts,
	    char *err, size_t errlen);

/* Run the follower on its own thread.  0, or -1 with a message in err. */
int	 logfollow_start(struct logfollow *lf, char *err, size_t errlen);

/*
 * One step, for tests (and the thread): on the first call find the start
 * position; then check the file's identity and size, read what was
 * appended, and hand over the batch when it is full, when batch_ms passed
 * since the last hand-over (so a quiet log's line goes at once and a busy
 * log gives at most one record per batch_ms besides full ones), or when
 * force is set.  Returns the number of
 * complete lines read in this step, or -1 when the file is not there.
 */
int	 logfollow_poll_once(struct logfollow *lf, int force);

/*
 * Stop the thread (if started), hand over the last batch and free.  NULL
 * is a no-op.  Call before the journal is closed.
 */
void	 logfollow_stop(struct logfollow *lf);

/* Copy the counters (thread-safe). */
void	 logfollow_counters(struct logfollow *lf, struct logfollow_counters *out);

/* The identity hash of a file's first line (for the stored position). */
uint64_t logfollow_head_hash(const char *line, size_t len);

#endif
