/*
 * journal.c - the tracking journal: a bounded queue and one writer thread.
 *
 * Milter threads hand finished records to journal_submit(); the one writer
 * thread takes what is queued, up to max_batch records, and writes it in
 * one store transaction (group commit).  With durability full,
 * journal_submit() waits until its record's batch is committed or failed,
 * and the writer starts a batch as soon as anything is queued, so the
 * submitters that arrive while a commit is in progress share the next one.
 * With durability normal, submitters return at once and the writer commits
 * when the oldest queued record has waited commit_interval_ms or max_batch
 * records wait.  journal_submit_async() never waits, whatever the
 * durability (aborted transactions, connection records).
 *
 * Invariants:
 * - Mail flow first: a submitter never waits longer than commit_timeout_ms
 *   and never on the store itself; everything over a bound is refused,
 *   freed and counted; nothing here exits or aborts.
 * - Bounds count every record the journal holds, queued or being written:
 *   at most max_records records and max_bytes bytes (struct mt_record.mem).
 * - Records finish in the order they were queued (committed or failed), so
 *   "all records queued before X are done" is a comparison of two counts.
 * - A durable submitter's waiter lives on its own stack.  The writer reads
 *   and clears rec->waiter only under the lock, and signals and detaches it
 *   before freeing the record; a submitter that times out detaches it under
 *   the lock.  So the writer never touches a dead stack and the submitter
 *   never touches a freed record.
 * - A durable submitter that times out tells the MTA something other than
 *   what its record says (on_error = tempfail: a 451 for a record built as
 *   "accepted").  The record must end up saying what the MTA was told, and
 *   the race between the timed-out submitter and the writer is settled
 *   under the lock: a record still queued (not taken) is rewritten there
 *   and then, before the writer ever sees it; a record the writer holds is
 *   marked late, and when the writer finishes it (also under the lock) a
 *   committed late record goes back to the head of the queue as a
 *   revision, which the store applies as an update of the stored message's
 *   outcome and error; a late record that goes back to the queue unwritten
 *   (store down) is rewritten there.  So the committed row either never
 *   said "accepted" or is corrected by the next transaction the writer
 *   makes.
 * - A failed batch is rolled back and its records retried one per
 *   transaction, so one poison record loses only itself.  When the store
 *   looks dead (two failures in a row), it is closed and reopened before
 *   the next batch after a backoff (100 ms doubling to 5 s); records wait in
 *   the bounded queue meanwhile.  flush and close make one attempt without
 *   waiting for the backoff and fail what cannot be written.
 *
 * Thread safety: every function may be called from any thread; one mutex
 * guards the queue, counters and waiters.  The store is used only by the
 * writer thread (and by open/close when no writer runs).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailtrail/clock.h"
#include "mailtrail/escape.h"
#include "mailtrail/journal.h"
#include "mailtrail/log.h"
#include "mailtrail/stats.h"

#define DEFAULT_MAX_BATCH	256
#define DEFAULT_MAX_RECORDS	10000
#define DEFAULT_MAX_BYTES	((size_t)64 * 1024 * 1024)
#define DEFAULT_TIMEOUT_MS	5000
#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		5000
#define BURST_PERIOD_S		60
#define ERRLEN			512

/* A durable submitter waiting for its record; on the submitter's stack. */
struct waiter {
	pthread_cond_t		 cond;
	int			 done;
	enum journal_status	 status;
};

struct journal {
	struct journal_opts	 opts;
	pthread_mutex_t		 lock;
	pthread_condattr_t	 condattr;	/* CLOCK_MONOTONIC */
	pthread_cond_t		 work;		/* the writer waits here */
	pthread_cond_t		 progress;	/* flush and close wait here */
	pthread_t		 writer;

	/* Under lock. */
	struct mt_record	*head, *tail;	/* queued, not yet taken */
	size_t			 n_queued;
	size_t			 held_records;	/* queued or being written */
	size_t			 held_bytes;
	int64_t			 head_since_us;	/* when the oldest queued record
						   began to wait (monotonic) */
	uint64_t		 accepted;	/* records ever queued */
	uint64_t		 finished;	/* of those, committed or failed
						   (a revision finishes once) */
	uint64_t		 flush_target;	/* finish this many without delay */
	int			 closing;
	int			 submitters;	/* threads inside journal_submit */
	struct journal_counters	 c;

	/* Writer thread only. */
	struct mt_store		*store;		/* NULL while down */
	int64_t			 backoff_ms;
	int64_t			 retry_at_us;

	struct mt_burst		 b_full;
	struct mt_burst		 b_timeout;
	struct mt_burst		 b_store;
	struct mt_burst		 b_open;
	struct mt_burst		 b_reopen;
};

static void	put_back(struct journal *, struct mt_record *);

static size_t
rec_cost(const struct mt_record *rec)
{
	return rec->mem != 0 ? rec->mem : sizeof(*rec);
}

static struct timespec
mono_timespec(int64_t us)
{
	struct timespec	 ts;

	ts.tv_sec = (time_t)(us / 1000000);
	ts.tv_nsec = (long)(us % 1000000) * 1000;
	return ts;
}

/* Wait on cond (a CLOCK_MONOTONIC condition) until mono time "until". */
static int
wait_until(struct journal *j, pthread_cond_t *cond, int64_t until)
{
	struct timespec	 ts = mono_timespec(until);

	return pthread_cond_timedwait(cond, &j->lock, &ts);
}

static void
burst(struct mt_burst *b, const char *what)
{
	b->what = what;
	pthread_mutex_init(&b->lock, NULL);
	b->total = 0;
	b->suppressed = 0;
	b->last_log_us = 0;
	b->period_s = BURST_PERIOD_S;
}

/* Log a store error once per burst; the message is escaped. */
static void
store_trouble(struct mt_burst *b, const char *ctx, const char *err)
{
	char	 esc[600], detail[sizeof(esc) + 160];

	mt_escape(esc, sizeof(esc), err, strlen(err));
	snprintf(detail, sizeof(detail), "%.128s error=\"%s\"", ctx, esc);
	mt_burst_hit(b, LOG_ERR, detail);
}

/*
 * Make a timed-out durable record say what the MTA was told instead (under
 * the lock, while no other thread reads the record).
 */
static void
apply_late(struct mt_record *rec)
{
	static const char why[] = "journal commit timed out: the MTA was "
	    "answered before the record was stored";

	rec->late = 0;
	if (rec->kind != MT_RECORD_MESSAGE ||
	    rec->msg.outcome == rec->late_outcome)
		return;
	rec->msg.outcome = rec->late_outcome;
	(void)mt_bytes_append(&rec->msg.error, ';', why, sizeof(why) - 1,
	    1024);
}

/*
 * Records finished (committed or failed): tell their waiters, update the
 * counters, free them.  A committed record whose submitter timed out while
 * the writer held it (late) is not finished: it goes back to the head of
 * the queue as a revision of the stored row.  Called without the lock.
 */
static void
finish(struct journal *j, struct mt_record *list, enum journal_status st)
{
	struct mt_record *rec, *next, **pp, *revise = NULL, **rtail = &revise;
	struct waiter	*w;
	uint64_t	 n = 0, nrev = 0;

	pthread_mutex_lock(&j->lock);
	for (pp = &list; (rec = *pp) != NULL; ) {
		rec->taken = 0;
		if (rec->late && st == JOURNAL_OK) {
			/* Stored as it was built: correct it next. */
			apply_late(rec);
			rec->revision = 1;
			*pp = rec->next;
			rec->next = NULL;
			*rtail = rec;
			rtail = &rec->next;
			nrev++;
			continue;
		}
		pp = &rec->next;
		if ((w = rec->waiter) != NULL) {
			w->status = st;
			w->done = 1;
			pthread_cond_signal(&w->cond);
			rec->waiter = NULL;
		}
		j->held_records--;
		j->held_bytes -= rec_cost(rec);
		n++;
	}
	j->finished += n;
	if (st == JOURNAL_OK)
		j->c.committed += n;
	else
		j->c.failed += n;
	if (revise != NULL) {
		j->c.revised += nrev;
		put_back(j, revise);
		pthread_cond_signal(&j->work);
	}
	pthread_cond_broadcast(&j->progress);
	pthread_mutex_unlock(&j->lock);

	for (rec = list; rec != NULL; rec = next) {
		next = rec->next;
		record_free(rec);
	}
}

/* Take up to n records off the head of the queue (under lock). */
static struct mt_record *
take(struct journal *j, size_t n)
{
	struct mt_record *first = j->head, *last = NULL, *rec = j->head;
	size_t		 i;

	for (i = 0; i < n && rec != NULL; i++) {
		rec->taken = 1;
		last = rec;
		rec = rec->next;
	}
	if (last == NULL)
		return NULL;
	j->head = rec;
	if (rec == NULL)
		j->tail = NULL;
	last->next = NULL;
	j->n_queued -= i;
	return first;
}

/* Put records back at the head of the queue, in order (under lock). */
static void
put_back(struct journal *j, struct mt_record *list)
{
	struct mt_record *last = list;
	size_t		 n = 1;

	for (;;) {
		/* Back in the queue: a late record is rewritten now. */
		last->taken = 0;
		if (last->late)
			apply_late(last);
		if (last->next == NULL)
			break;
		last = last->next;
		n++;
	}
	last->next = j->head;
	if (j->head == NULL)
		j->tail = last;
	j->head = list;
	j->n_queued += n;
	j->head_since_us = 0;		/* overdue: write once the store is back */
}

static void
backoff(struct journal *j)
{
	if (j->backoff_ms == 0)
		j->backoff_ms = BACKOFF_MIN_MS;
	else if ((j->backoff_ms *= 2) > BACKOFF_MAX_MS)
		j->backoff_ms = BACKOFF_MAX_MS;
	j->retry_at_us = mt_mono_us() + j->backoff_ms * 1000;
}

/* The store looks dead: close it; the writer reopens it after a backoff. */
static void
store_down(struct journal *j)
{
	if (j->store != NULL) {
		j->store->ops->close(j->store);
		j->store = NULL;
	}
	backoff(j);
}

/* Writer: open the store again.  Called and returns with the lock held. */
static int
reopen(struct journal *j)
{
	struct mt_store	*st;
	char		 err[ERRLEN] = "", detail[64];

	pthread_mutex_unlock(&j->lock);
	st = j->opts.open_store(j->opts.open_arg, err, sizeof(err));
	if (st == NULL) {
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "store open failed");
		store_trouble(&j->b_open, "reopen failed", err);
	} else {
		snprintf(detail, sizeof(detail), "store=%s", st->ops->name);
		mt_burst_hit(&j->b_reopen, LOG_NOTICE, detail);
	}
	pthread_mutex_lock(&j->lock);
	if (st == NULL) {
		backoff(j);
		return -1;
	}
	j->store = st;
	return 0;
}

/* What a failed transaction says about the store. */
#define TXN_OK		0
#define TXN_FAILED	-1	/* a write or the commit failed */
#define TXN_NO_STORE	-2	/* not even begin worked: nobody's fault */

/* One store transaction for the first n records of a list. */
static int
transaction(struct journal *j, const struct mt_record *list, size_t n,
    char *err, size_t errlen)
{
	struct mt_store	*st = j->store;
	const struct mt_record *rec;
	size_t		 i;

	if (st->ops->begin(st, err, errlen) < 0)
		return TXN_NO_STORE;
	for (rec = list, i = 0; i < n && rec != NULL; rec = rec->next, i++)
		if (st->ops->write(st, rec, err, errlen) < 0) {
			st->ops->rollback(st);
			return TXN_FAILED;
		}
	if (st->ops->commit(st, err, errlen) < 0)
		return TXN_FAILED;
	return TXN_OK;
}

static void
count_commit(struct journal *j)
{
	pthread_mutex_lock(&j->lock);
	j->c.commits++;
	pthread_mutex_unlock(&j->lock);
}

/* Writer: the store is unusable; keep rest for later (not a final try). */
static void
requeue(struct journal *j, struct mt_record *rest)
{
	pthread_mutex_lock(&j->lock);
	put_back(j, rest);
	pthread_mutex_unlock(&j->lock);
	store_down(j);
}

/*
 * What a record is, for a log line: "track_id=ID" for the milter's
 * records, "log=PATH" for a batch of log events (the followed file, or
 * "log"), "bounce=ID" for a bounce (its tracking ID, or "-"); escaped.
 */
#define REC_LABEL_SIZE	96
static const char *
rec_label(const struct mt_record *rec, char *out, size_t outsz)
{
	char	 esc[72];
	const struct mt_bytes *v;

	switch (rec->kind) {
	case MT_RECORD_LOGBATCH:
		v = rec->logs != NULL ? &rec->logs->pos.path : NULL;
		if (v == NULL || v->data == NULL)
			snprintf(out, outsz, "log=log");
		else
			snprintf(out, outsz, "log=\"%s\"", mt_escape(esc,
			    sizeof(esc), v->data, v->len));
		break;
	case MT_RECORD_BOUNCE:
		v = rec->bounce != NULL ? &rec->bounce->bounce_track_id : NULL;
		if (v == NULL || v->data == NULL)
			snprintf(out, outsz, "bounce=-");
		else
			snprintf(out, outsz, "bounce=%s", mt_escape(esc,
			    sizeof(esc), v->data, v->len));
		break;
	case MT_RECORD_MESSAGE:
		snprintf(out, outsz, "track_id=%s", rec->msg.track_id);
		break;
	case MT_RECORD_CONNECTION:
	default:
		snprintf(out, outsz, "track_id=%s", rec->conn.conn_id);
		break;
	}
	return out;
}

/*
 * Writer: write one batch (n records), without the lock.  When the batch
 * fails, each record is retried alone, so that only bad records are lost.
 * When the store cannot even begin a transaction, or two records in a row
 * fail alone, the store is taken for dead: the records not yet tried go
 * back to the queue (unless this is the final try of a flush or close) and
 * the store is reopened after a backoff.
 */
static void
write_batch(struct journal *j, struct mt_record *batch, size_t n, int final)
{
	struct mt_record *rec, *next;
	char		 err[ERRLEN] = "", ctx[192], label[REC_LABEL_SIZE];
	int		 rc, in_a_row = 0, any_ok = 0;

	if ((rc = transaction(j, batch, n, err, sizeof(err))) == TXN_OK) {
		j->backoff_ms = 0;
		count_commit(j);
		finish(j, batch, JOURNAL_OK);
		return;
	}
	snprintf(ctx, sizeof(ctx), "store=%s records=%zu",
	    j->store->ops->name, n);
	store_trouble(&j->b_store, ctx, err);
	if (rc == TXN_NO_STORE && !final) {
		requeue(j, batch);
		return;
	}

	for (rec = batch; rec != NULL; rec = next) {
		next = rec->next;
		if (n > 1) {
			rc = transaction(j, rec, 1, err, sizeof(err));
			if (rc == TXN_NO_STORE && !final) {
				requeue(j, rec);
				return;
			}
			if (rc == TXN_OK) {
				rec->next = NULL;
				j->backoff_ms = 0;
				count_commit(j);
				finish(j, rec, JOURNAL_OK);
				in_a_row = 0;
				any_ok = 1;
				continue;
			}
			snprintf(ctx, sizeof(ctx), "%s store=%s records=1",
			    rec_label(rec, label, sizeof(label)),
			    j->store->ops->name);
			store_trouble(&j->b_store, ctx, err);
		}
		rec->next = NULL;
		finish(j, rec, JOURNAL_FAILED);
		if (++in_a_row >= 2 && next != NULL && !final) {
			requeue(j, next);
			return;
		}
	}
	if (!any_ok || in_a_row >= 2)
		store_down(j);
}

/* Writer: fail the first n queued records (the store cannot be reached). */
static void
fail_queued(struct journal *j, size_t n)
{
	struct mt_record *list;

	if ((list = take(j, n)) == NULL)
		return;
	pthread_mutex_unlock(&j->lock);
	finish(j, list, JOURNAL_FAILED);
	pthread_mutex_lock(&j->lock);
}

static void *
writer_main(void *arg)
{
	struct journal	*j = arg;
	struct mt_record *batch;
	size_t		 n;
	int64_t		 now, due;
	int		 final;

	pthread_mutex_lock(&j->lock);
	for (;;) {
		if (j->head == NULL) {
			if (j->closing)
				break;
			pthread_cond_wait(&j->work, &j->lock);
			continue;
		}
		final = j->closing || j->flush_target > j->finished;
		now = mt_mono_us();
		if (j->store == NULL) {
			if (!final && now < j->retry_at_us) {
				wait_until(j, &j->work, j->retry_at_us);
				continue;
			}
			if (reopen(j) < 0) {
				if (j->closing)
					fail_queued(j, j->n_queued);
				else if (j->flush_target > j->finished)
					fail_queued(j, (size_t)(j->flush_target -
					    j->finished));
				continue;
			}
		}
		if (!j->opts.durable && !final &&
		    j->n_queued < j->opts.max_batch) {
			due = j->head_since_us +
			    (int64_t)j->opts.commit_interval_ms * 1000;
			if (now < due) {
				wait_until(j, &j->work, due);
				continue;
			}
		}
		n = j->n_queued < j->opts.max_batch ? j->n_queued :
		    j->opts.max_batch;
		batch = take(j, n);
		pthread_mutex_unlock(&j->lock);
		write_batch(j, batch, n, final);
		pthread_mutex_lock(&j->lock);
	}
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

/* Free a journal whose writer is not running. */
static void
destroy(struct journal *j)
{
	pthread_cond_destroy(&j->work);
	pthread_cond_destroy(&j->progress);
	pthread_condattr_destroy(&j->condattr);
	pthread_mutex_destroy(&j->lock);
	pthread_mutex_destroy(&j->b_full.lock);
	pthread_mutex_destroy(&j->b_timeout.lock);
	pthread_mutex_destroy(&j->b_store.lock);
	pthread_mutex_destroy(&j->b_open.lock);
	pthread_mutex_destroy(&j->b_reopen.lock);
	free(j);
}

struct journal *
journal_open(const struct journal_opts *opts, char *err, size_t errlen)
{
	struct journal	*j;
	sigset_t	 all, old;
	int		 rc;

	if (opts == NULL || opts->open_store == NULL) {
		snprintf(err, errlen, "journal: no store to open");
		return NULL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		snprintf(err, errlen, "journal: out of memory");
		return NULL;
	}
	j->opts = *opts;
	if (j->opts.max_batch == 0)
		j->opts.max_batch = DEFAULT_MAX_BATCH;
	if (j->opts.max_records == 0)
		j->opts.max_records = DEFAULT_MAX_RECORDS;
	if (j->opts.max_bytes == 0)
		j->opts.max_bytes = DEFAULT_MAX_BYTES;
	if (j->opts.commit_timeout_ms <= 0)
		j->opts.commit_timeout_ms = DEFAULT_TIMEOUT_MS;
	if (j->opts.commit_interval_ms < 0)
		j->opts.commit_interval_ms = 0;

	err[0] = '\0';
	if ((j->store = opts->open_store(opts->open_arg, err, errlen)) ==
	    NULL) {
		if (err[0] == '\0')
			snprintf(err, errlen, "journal: cannot open the store");
		free(j);
		return NULL;
	}

	pthread_mutex_init(&j->lock, NULL);
	pthread_condattr_init(&j->condattr);
	pthread_condattr_setclock(&j->condattr, CLOCK_MONOTONIC);
	pthread_cond_init(&j->work, &j->condattr);
	pthread_cond_init(&j->progress, &j->condattr);
	burst(&j->b_full, "journal queue full, record refused");
	burst(&j->b_timeout, "journal commit timeout");
	burst(&j->b_store, "journal store failure");
	burst(&j->b_open, "journal store down");
	burst(&j->b_reopen, "journal store reopened");

	/* The writer takes no signals: they belong to the daemon's handler. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&j->writer, NULL, writer_main, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "journal: cannot start the writer"
		    " thread: %s", strerror(rc));
		j->store->ops->close(j->store);
		destroy(j);
		return NULL;
	}
	return j;
}

/* Leave journal_submit (under lock). */
static void
submit_done(struct journal *j)
{
	if (--j->submitters == 0 && j->closing)
		pthread_cond_broadcast(&j->progress);
	pthread_mutex_unlock(&j->lock);
}

/*
 * Queue rec; with wait (durable journals), wait for its commit.  When the
 * wait times out, the record is made to say if_late (see the top).
 */
static enum journal_status
submit(struct journal *j, struct mt_record *rec, int wait,
    enum mt_outcome if_late)
{
	struct waiter	 w;
	enum journal_status st;
	char		 detail[256], label[REC_LABEL_SIZE];
	size_t		 cost;
	int64_t		 deadline;
	int		 was_empty, rc;

	if (rec == NULL)
		return JOURNAL_FAILED;
	if (j == NULL) {
		record_free(rec);
		return JOURNAL_CLOSED;
	}
	rec->next = NULL;
	rec->waiter = NULL;
	rec->taken = rec->late = rec->revision = 0;
	rec->late_outcome = if_late;
	cost = rec_cost(rec);

	pthread_mutex_lock(&j->lock);
	j->submitters++;
	if (j->closing) {
		submit_done(j);
		record_free(rec);
		return JOURNAL_CLOSED;
	}
	j->c.submitted++;
	if (j->held_records >= j->opts.max_records ||
	    cost > j->opts.max_bytes - j->held_bytes) {
		j->c.refused_full++;
		snprintf(detail, sizeof(detail), "%s records=%zu"
		    " bytes=%zu", rec_label(rec, label, sizeof(label)),
		    j->held_records,
		    j->held_bytes);
		submit_done(j);
		mt_burst_hit(&j->b_full, LOG_WARNING, detail);
		record_free(rec);
		return JOURNAL_QUEUE_FULL;
	}

	was_empty = j->head == NULL;
	if (was_empty) {
		j->head = rec;
		j->head_since_us = mt_mono_us();
	} else
		j->tail->next = rec;
	j->tail = rec;
	j->n_queued++;
	j->held_records++;
	j->held_bytes += cost;
	j->accepted++;

	if (!wait) {
		if (j->opts.durable || was_empty ||
		    j->n_queued >= j->opts.max_batch)
			pthread_cond_signal(&j->work);
		submit_done(j);
		return JOURNAL_OK;
	}

	/* Durable: wait for the batch holding rec, up to the timeout. */
	pthread_cond_init(&w.cond, &j->condattr);
	w.done = 0;
	w.status = JOURNAL_FAILED;
	rec->waiter = &w;
	pthread_cond_signal(&j->work);
	deadline = mt_mono_us() + (int64_t)j->opts.commit_timeout_ms * 1000;
	while (!w.done) {
		rc = wait_until(j, &w.cond, deadline);
		if (rc == ETIMEDOUT && !w.done) {
			/*
			 * Still held by the journal: rec is alive.  Queued,
			 * it is rewritten here; held by the writer, it is
			 * marked and corrected once it lands.
			 */
			rec->waiter = NULL;
			w.status = JOURNAL_TIMEOUT;
			j->c.timeouts++;
			if (rec->taken)
				rec->late = 1;
			else
				apply_late(rec);
			snprintf(detail, sizeof(detail), "%s timeout_ms=%d:"
			    " delayed, %s; it will be recorded as %s",
			    rec_label(rec, label, sizeof(label)),
			    j->opts.commit_timeout_ms,
			    rec->late ? "being written" : "still queued",
			    record_outcome_name(rec->late_outcome));
			break;
		}
	}
	st = w.status;
	submit_done(j);
	pthread_cond_destroy(&w.cond);
	if (st == JOURNAL_TIMEOUT)
		mt_burst_hit(&j->b_timeout, LOG_WARNING, detail);
	return st;
}

enum journal_status
journal_submit(struct journal *j, struct mt_record *rec)
{
	return submit(j, rec, j != NULL && j->opts.durable,
	    rec != NULL ? rec->msg.outcome : MT_OUTCOME_ACCEPTED);
}

enum journal_status
journal_submit_late(struct journal *j, struct mt_record *rec,
    enum mt_outcome if_late)
{
	return submit(j, rec, j != NULL && j->opts.durable, if_late);
}

enum journal_status
journal_submit_async(struct journal *j, struct mt_record *rec)
{
	return submit(j, rec, 0,
	    rec != NULL ? rec->msg.outcome : MT_OUTCOME_ACCEPTED);
}

void
journal_flush(struct journal *j)
{
	uint64_t	 target;

	if (j == NULL)
		return;
	pthread_mutex_lock(&j->lock);
	target = j->accepted;
	if (target > j->flush_target)
		j->flush_target = target;
	pthread_cond_signal(&j->work);
	while (j->finished < target)
		pthread_cond_wait(&j->progress, &j->lock);
	pthread_mutex_unlock(&j->lock);
}

void
journal_counters(struct journal *j, struct journal_counters *out)
{
	if (j == NULL) {
		memset(out, 0, sizeof(*out));
		return;
	}
	pthread_mutex_lock(&j->lock);
	*out = j->c;
	out->queued = j->held_records;
	out->queued_bytes = j->held_bytes;
	pthread_mutex_unlock(&j->lock);
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	pthread_mutex_lock(&j->lock);
	j->closing = 1;
	pthread_cond_signal(&j->work);
	pthread_mutex_unlock(&j->lock);

	/* The writer drains the queue before it returns. */
	pthread_join(j->writer, NULL);

	/* Let woken submitters leave before the lock goes away. */
	pthread_mutex_lock(&j->lock);
	while (j->submitters > 0)
		pthread_cond_wait(&j->progress, &j->lock);
	pthread_mutex_unlock(&j->lock);

	if (j->store != NULL)
		j->store->ops->close(j->store);
	destroy(j);
}

const char *
journal_status_name(enum journal_status s)
{
	switch (s) {
	case JOURNAL_OK:
		return "ok";
	case JOURNAL_QUEUE_FULL:
		return "queue-full";
	case JOURNAL_TIMEOUT:
		return "timeout";
	case JOURNAL_FAILED:
		return "failed";
	case JOURNAL_CLOSED:
		return "closed";
	}
	return "unknown";
}
