/*
 * cmd_ingest.c - "mailtrail ingest-log": backfill the journal from MTA
 * mail logs (plain, gzip-compressed, or standard input).
 *
 * Each line is read with the log parser (maillog.h; one parser per file,
 * its reference time the file's modification time, now for standard
 * input) and the lines we track become log events, batched into
 * MT_RECORD_LOGBATCH records and written through the SQLite store, which
 * links them to the journal's messages and ignores the lines it already
 * holds: ingesting a file twice adds nothing.
 *
 * Two threads per file, so that reading and parsing overlap with SQLite's
 * work: a feeder thread reads and parses the lines and hands the events
 * over in chunks (CHUNK_EVENTS) through a bounded pipe (PIPE_CHUNKS); the
 * command's own thread writes them.  The pipe keeps the events in order,
 * so what is stored, and the counts, are those of reading the file in one
 * thread.
 *
 * Invariant 3 (one writer): the daemon's journal writer may be running.
 * So this command writes in short transactions, bounded by event count
 * (MAX_EVENTS) and by time: each transaction's duration is measured and
 * the batch size adapts so that it stays near --txn-ms (TXN_TARGET_MS by
 * default), well inside the daemon's commit timeout; a transaction that
 * would wait for the feeder longer than that commits what it has.  The
 * store's busy handler polls every millisecond, so the daemon's writer
 * gets the lock within a millisecond or so of each of our commits.
 * synchronous=NORMAL: a crash may lose the last transactions, and running
 * the command again puts them back.  The store (a bulk loader) does not
 * checkpoint the WAL at each commit as SQLite would: between transactions
 * the command lets it copy the WAL into the database, rarely when alone,
 * as often as SQLite would beside the daemon, which it then also leaves
 * the lock for a moment (store_sqlite_bulk_between).
 *
 * Memory is bounded: one read buffer (READ_BUF bytes, larger than
 * MLOG_MAX_LINE), the chunks in the pipe and the open transaction (about
 * two transactions' worth of events at most), and SQLite's page cache
 * (64 MiB: the store opened as a bulk loader; the index pages a backfill
 * touches stay cached between its transactions).  A line longer than
 * MLOG_MAX_LINE is skipped up to its newline without being kept, and
 * counted.
 *
 * Thread safety: the feeder thread owns the reader, the parser, the
 * chunk it fills and the file's line counts; the command's thread owns
 * the store.  They share only the pipe (its mutex).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "mailtrail/clock.h"
#include "mailtrail/delivery.h"
#include "mailtrail/maillog.h"
#include "mailtrail/record.h"
#include "mailtrail/sdjournal.h"
#include "mailtrail/store.h"
#include "cli/cli.h"

#define READ_BUF	(1024 * 1024)	/* > MLOG_MAX_LINE */
#define MAX_EVENTS	MT_LOG_BATCH_MAX	/* events per transaction, at most */
#define CHUNK_EVENTS	256		/* events per chunk handed over */
#define PIPE_CHUNKS	(2 * MAX_EVENTS / CHUNK_EVENTS)	/* chunks waiting */
#define MIN_EVENTS	100
#define START_EVENTS	500
#define TXN_TARGET_MS	40		/* default --txn-ms */
#define BUSY_MS		10000		/* wait this long for the lock */
#define PROGRESS_US	200000		/* progress line refresh */

enum {
	OPT_TXN_MS = CLI_OPT_FIRST_LOCAL
};

static const char help[] =
"usage: mailtrail ingest-log [--journal PATH] [--json] [--txn-ms MS]\n"
"                            FILE... | - | systemd-journal:[DIR]\n"
"\n"
"Read Postfix or Sendmail mail logs (plain files, .gz files, - for\n"
"standard input, or the mail facility of the systemd journal:\n"
"\"systemd-journal:\" this machine's, \"systemd-journal:/DIR\" the journal\n"
"files of a directory) and store what happened to each message after the\n"
"gateway - delivery attempts (sent, deferred, bounced, expired), the\n"
"queue's facts (sender, Message-ID, removal, the bounce the MTA\n"
"generated) - in the journal, linked to the messages the milter\n"
"recorded (same queue ID, message started within 10 days before and 5\n"
"minutes after the line).  Lines the journal already holds are ignored:\n"
"running it twice over the same file adds nothing.\n"
"\n"
"Writes in short transactions beside a running mailtrail-milter: each\n"
"holds the journal's write lock about --txn-ms milliseconds (default 40,\n"
"5 to 1000; at most 4096 events), then lets the daemon commit.\n"
"Classic syslog stamps have no year: it is inferred from the file's\n"
"modification time (now for standard input); the local time zone (TZ)\n"
"applies to them.\n"
"\n"
"Prints per file: lines read, events stored, duplicates ignored, lines\n"
"not understood, lines too long; a progress line on a terminal.\n"
"Exit status: 0 every file was read and stored, 2 a file could not be\n"
"read or the journal failed (what was stored stays stored).\n";

struct counts {
	uint64_t	 lines;
	uint64_t	 events;	/* tracked events read */
	uint64_t	 stored;
	uint64_t	 duplicates;
	uint64_t	 linked;
	uint64_t	 unparsed;	/* MLOG_UNPARSED, MLOG_BAD_STAMP */
	uint64_t	 too_long;
	uint64_t	 other;		/* lines we do not track */
};

/* One input: plain, gzip, or the systemd journal. */
struct reader {
	const char	*name;
	int		 fd;
	gzFile		 gz;
	struct sdj_reader *sdj;		/* a "systemd-journal:" source */
	char		*buf;
	size_t		 start, end;
	int		 eof;
	int		 skipping;	/* inside a line over MLOG_MAX_LINE */
	uint64_t	 size;		/* bytes of the file (compressed); 0 unknown */
	uint64_t	 done;		/* bytes read so far (compressed for gz) */
};

struct ingest {
	struct cli	*cli;
	struct mt_store	*st;
	size_t		 max_events;	/* adaptive, MIN_EVENTS..MAX_EVENTS */
	int		 txn_ms;	/* --txn-ms: target transaction time */
	double		 us_per_event;	/* smoothed cost of an event */
	int		 progress;	/* stderr is a terminal */
	int64_t		 t_start;	/* mono */
	int64_t		 last_progress;
	uint64_t	 lines_all;	/* over every file */
	uint64_t	 txns;
	int64_t		 txn_us_max;
	int64_t		 txn_us_total;
	char		 err[CLI_ERRLEN];
};

/* Chunks of events from the feeder to the writer, in order. */
struct pipe {
	pthread_mutex_t	 mu;
	pthread_cond_t	 not_empty;	/* CLOCK_MONOTONIC */
	pthread_cond_t	 not_full;
	struct mt_record *q[PIPE_CHUNKS];
	size_t		 head, n;
	int		 done;		/* the feeder has handed over all */
	int		 stop;		/* the writer gave up: feed no more */
};

/* The feeder thread: one file's lines to chunks of events. */
struct feeder {
	struct ingest	*in;		/* progress fields only */
	struct pipe	*pipe;
	struct reader	*r;
	struct mlog_parser *parser;
	struct counts	*c;		/* lines, events, unparsed, ... */
	struct mt_record *rec;		/* the chunk being filled */
	int		 ret;		/* 0; -1 read error; -2 out of memory
					   or the writer stopped */
	char		 err[CLI_ERRLEN];
};

/* ------------------------------------------------------------ reading */

static int
reader_open(struct reader *r, const char *name, int64_t *mtime_us,
    char *err, size_t errlen)
{
	unsigned char	 magic[2];
	struct stat	 sb;
	int		 fd, gz = 0;

	memset(r, 0, sizeof(*r));
	r->name = name;
	r->fd = -1;
	*mtime_us = 0;
	if (sdj_is_spec(name)) {
		/* RFC 3339 stamps: no year to infer. */
		if ((r->sdj = sdj_reader_open(name, err, errlen)) == NULL)
			return -1;
		return 0;
	}
	if (strcmp(name, "-") == 0) {
		/* gzip or not: zlib reads plain input through unchanged. */
		if ((fd = dup(STDIN_FILENO)) < 0) {
			snprintf(err, errlen, "standard input: %s",
			    strerror(errno));
			return -1;
		}
		gz = 1;
	} else {
		if ((fd = open(name, O_RDONLY | O_CLOEXEC)) < 0) {
			snprintf(err, errlen, "%s: %s", name, strerror(errno));
			return -1;
		}
		if (fstat(fd, &sb) < 0 || S_ISDIR(sb.st_mode)) {
			snprintf(err, errlen, "%s: %s", name, S_ISDIR(sb.st_mode)
			    ? "is a directory" : strerror(errno));
			close(fd);
			return -1;
		}
		if (S_ISREG(sb.st_mode)) {
			r->size = (uint64_t)sb.st_size;
			*mtime_us = (int64_t)sb.st_mtim.tv_sec * 1000000 +
			    sb.st_mtim.tv_nsec / 1000;
			gz = pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f &&
			    magic[1] == 0x8b;
		} else
			gz = 1;		/* a pipe or device: let zlib look */
	}
	if ((r->buf = malloc(READ_BUF)) == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return -1;
	}
	if (gz) {
		if ((r->gz = gzdopen(fd, "rb")) == NULL) {
			snprintf(err, errlen, "%s: cannot read (zlib)", name);
			close(fd);
			free(r->buf);
			return -1;
		}
		gzbuffer(r->gz, 256 * 1024);
	} else {
		r->fd = fd;
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	}
	return 0;
}

static void
reader_close(struct reader *r)
{
	sdj_reader_close(r->sdj);
	r->sdj = NULL;
	if (r->gz != NULL)
		gzclose(r->gz);
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	r->buf = NULL;
}

/* Fill the buffer after r->end; 0, or -1 with a message. */
static int
reader_fill(struct reader *r, char *err, size_t errlen)
{
	const char	*zmsg;
	ssize_t		 n;
	int		 zerr, gn;

	if (r->gz != NULL) {
		gn = gzread(r->gz, r->buf + r->end, (unsigned)(READ_BUF -
		    r->end));
		if (gn < 0) {
			zmsg = gzerror(r->gz, &zerr);
			snprintf(err, errlen, "%s: %s", r->name, zerr ==
			    Z_ERRNO ? strerror(errno) : zmsg);
			return -1;
		}
		n = gn;
		if (r->size > 0)
			r->done = (uint64_t)gzoffset(r->gz);
	} else {
		do
			n = read(r->fd, r->buf + r->end, READ_BUF - r->end);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", r->name,
			    strerror(errno));
			return -1;
		}
		r->done += (uint64_t)n;
	}
	if (n == 0)
		r->eof = 1;
	r->end += (size_t)n;
	return 0;
}

/*
 * The next line, without its newline: 1 with *p, *len set; 2 for a line
 * over MLOG_MAX_LINE (skipped); 0 at the end; -1 on a read error.
 */
static int
reader_line(struct reader *r, const char **p, size_t *len, char *err,
    size_t errlen)
{
	struct sdj_entry e;
	char	*nl;
	size_t	 pending;
	int	 rc;

	if (r->sdj != NULL) {
		if ((rc = sdj_reader_next(r->sdj, &e, err, errlen)) <= 0)
			return rc;
		*p = e.line;
		*len = e.len;
		return e.too_long ? 2 : 1;
	}
	for (;;) {
		pending = r->end - r->start;
		nl = pending > 0 ? memchr(r->buf + r->start, '\n', pending) :
		    NULL;
		if (nl != NULL) {
			*p = r->buf + r->start;
			*len = (size_t)(nl - *p);
			r->start += *len + 1;
			if (r->skipping) {
				r->skipping = 0;
				return 2;
			}
			return *len > MLOG_MAX_LINE ? 2 : 1;
		}
		if (r->skipping || pending > MLOG_MAX_LINE) {
			/* Too long: drop what we have, keep looking for
			 * its end. */
			r->skipping = 1;
			r->start = r->end = 0;
		} else if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, pending);
			r->start = 0;
			r->end = pending;
		}
		if (r->eof) {
			if (r->skipping) {
				r->skipping = 0;
				return 2;
			}
			if (r->end > r->start) {
				*p = r->buf + r->start;
				*len = r->end - r->start;
				r->start = r->end;
				return 1;
			}
			return 0;
		}
		if (reader_fill(r, err, errlen) < 0)
			return -1;
	}
}

/* ------------------------------------------------------------ the pipe */

static int
pipe_init(struct pipe *p)
{
	pthread_condattr_t attr;

	memset(p, 0, sizeof(*p));
	if (pthread_condattr_init(&attr) != 0)
		return -1;
	if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
	    pthread_mutex_init(&p->mu, NULL) != 0) {
		pthread_condattr_destroy(&attr);
		return -1;
	}
	if (pthread_cond_init(&p->not_empty, &attr) != 0) {
		pthread_mutex_destroy(&p->mu);
		pthread_condattr_destroy(&attr);
		return -1;
	}
	pthread_condattr_destroy(&attr);
	if (pthread_cond_init(&p->not_full, NULL) != 0) {
		pthread_cond_destroy(&p->not_empty);
		pthread_mutex_destroy(&p->mu);
		return -1;
	}
	return 0;
}

/* Free what was never written. */
static void
pipe_destroy(struct pipe *p)
{
	while (p->n > 0) {
		record_free(p->q[p->head]);
		p->head = (p->head + 1) % PIPE_CHUNKS;
		p->n--;
	}
	pthread_cond_destroy(&p->not_full);
	pthread_cond_destroy(&p->not_empty);
	pthread_mutex_destroy(&p->mu);
}

/* Hand a chunk over (the pipe owns it); -1 when the writer stopped. */
static int
pipe_put(struct pipe *p, struct mt_record *rec)
{
	int	 ret = 0;

	pthread_mutex_lock(&p->mu);
	while (p->n == PIPE_CHUNKS && !p->stop)
		pthread_cond_wait(&p->not_full, &p->mu);
	if (p->stop) {
		record_free(rec);
		ret = -1;
	} else {
		p->q[(p->head + p->n) % PIPE_CHUNKS] = rec;
		if (p->n++ == 0)
			pthread_cond_signal(&p->not_empty);
	}
	pthread_mutex_unlock(&p->mu);
	return ret;
}

/* The feeder is done: nothing more will come. */
static void
pipe_close(struct pipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->done = 1;
	pthread_cond_signal(&p->not_empty);
	pthread_mutex_unlock(&p->mu);
}

/* The writer gives up: the feeder stops at its next hand-over. */
static void
pipe_stop(struct pipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->not_full);
	pthread_mutex_unlock(&p->mu);
}

/*
 * The next chunk: 1 with *rec (the caller owns it); 0 the feeder is done
 * and every chunk was taken; -1 nothing came before deadline (monotonic
 * microseconds; 0 waits as long as it takes).
 */
static int
pipe_get(struct pipe *p, int64_t deadline, struct mt_record **rec)
{
	struct timespec	 ts;
	int		 ret;

	ts.tv_sec = (time_t)(deadline / 1000000);
	ts.tv_nsec = (long)(deadline % 1000000) * 1000;
	pthread_mutex_lock(&p->mu);
	while (p->n == 0 && !p->done) {
		if (deadline == 0)
			pthread_cond_wait(&p->not_empty, &p->mu);
		else if (pthread_cond_timedwait(&p->not_empty, &p->mu,
		    &ts) == ETIMEDOUT)
			break;
	}
	if (p->n > 0) {
		*rec = p->q[p->head];
		p->head = (p->head + 1) % PIPE_CHUNKS;
		if (p->n-- == PIPE_CHUNKS)
			pthread_cond_signal(&p->not_full);
		ret = 1;
	} else
		ret = p->done ? 0 : -1;
	pthread_mutex_unlock(&p->mu);
	return ret;
}

/* ------------------------------------------------------------ writing */

/*
 * Commit the open transaction, begun at t0 (of which waited microseconds
 * went waiting for the feeder), holding n events; adapt the batch size to
 * the time the work took; then let the store checkpoint if it is due.
 */
static int
commit_txn(struct ingest *in, int64_t t0, int64_t waited, size_t n)
{
	struct mt_store	*st = in->st;
	int64_t		 us;
	double		 per, want;

	if (st->ops->commit(st, in->err, sizeof(in->err)) < 0)
		return -1;
	us = mt_mono_us() - t0;
	in->txns++;
	in->txn_us_total += us;
	if (us > in->txn_us_max)
		in->txn_us_max = us;
	/*
	 * The cost of an event, smoothed (one slow commit does not halve
	 * the batch), decides how many fit in the target time next time.
	 * Time spent waiting for the feeder is not the events' cost.
	 */
	if (n > 0 && us > waited) {
		per = (double)(us - waited) / (double)n;
		in->us_per_event = in->us_per_event == 0 ? per :
		    0.8 * in->us_per_event + 0.2 * per;
		want = (double)in->txn_ms * 1000 / in->us_per_event;
		in->max_events = want < MIN_EVENTS ? MIN_EVENTS :
		    want > MAX_EVENTS ? MAX_EVENTS : (size_t)want;
	}
	store_sqlite_bulk_between(st);
	return 0;
}

/*
 * Write the chunks the feeder hands over, in transactions of at most
 * max_events events that wait for the feeder no longer than --txn-ms.
 * 0 when the feeder is done and everything is committed; -1 the journal
 * failed (message in in->err; the open transaction is rolled back).
 */
static int
write_chunks(struct ingest *in, struct pipe *p)
{
	struct mt_store	*st = in->st;
	struct mt_record *rec;
	int64_t		 t0 = 0, w0, waited = 0;
	size_t		 n = 0;
	int		 open = 0, r;

	for (;;) {
		w0 = mt_mono_us();
		r = pipe_get(p, open ? t0 + (int64_t)in->txn_ms * 1000 : 0,
		    &rec);
		if (open)
			waited += mt_mono_us() - w0;
		if (r <= 0) {
			if (open && commit_txn(in, t0, waited, n) < 0)
				return -1;
			if (r == 0)
				return 0;
			open = 0;
			continue;
		}
		if (!open) {
			t0 = mt_mono_us();
			waited = 0;
			n = 0;
			if (st->ops->begin(st, in->err, sizeof(in->err)) < 0) {
				record_free(rec);
				return -1;
			}
			open = 1;
		}
		if (st->ops->write(st, rec, in->err, sizeof(in->err)) < 0) {
			record_free(rec);
			st->ops->rollback(st);
			return -1;
		}
		n += rec->logs->n;
		record_free(rec);
		if (n >= in->max_events) {
			if (commit_txn(in, t0, waited, n) < 0)
				return -1;
			open = 0;
		}
	}
}

/* ------------------------------------------------------------ feeding */

static int
new_chunk(struct feeder *f)
{
	if ((f->rec = record_new(MT_RECORD_LOGBATCH)) == NULL ||
	    (f->rec->logs = log_batch_new(MT_SOURCE_INGEST)) == NULL) {
		record_free(f->rec);
		f->rec = NULL;
		snprintf(f->err, sizeof(f->err), "out of memory");
		return -1;
	}
	return 0;
}

/* Hand the chunk over, if it holds anything; -1 the writer stopped. */
static int
hand_over(struct feeder *f)
{
	struct mt_record *rec = f->rec;

	if (rec == NULL || rec->logs->n == 0)
		return 0;
	f->rec = NULL;
	if (pipe_put(f->pipe, rec) < 0) {
		snprintf(f->err, sizeof(f->err), "stopped");
		return -1;
	}
	return 0;
}

/* Add a parsed line's events (one per recipient). */
static int
add_event(struct feeder *f, struct mlog_event *ev, uint64_t line_hash)
{
	uint64_t	 h;
	int		 rc;

	do {
		if (f->rec == NULL && new_chunk(f) < 0)
			return -1;
		h = ev->kind == MLOG_DELIVERY ? mlog_event_hash(line_hash, ev) :
		    line_hash;
		if ((rc = log_batch_add(f->rec->logs, ev, h)) < 0) {
			snprintf(f->err, sizeof(f->err), "out of memory");
			return -1;
		}
		if (rc == 0)
			f->c->events++;
		else
			f->c->other++;
		if (f->rec->logs->n >= CHUNK_EVENTS && hand_over(f) < 0)
			return -1;
	} while (ev->kind == MLOG_DELIVERY && mlog_next_recipient(ev));
	return 0;
}

/* ------------------------------------------------------------ output */

static void
progress(struct ingest *in, const struct reader *r, const struct counts *c,
    int final)
{
	int64_t		 now = mt_mono_us();
	double		 secs;

	if (!in->progress)
		return;
	if (final) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		return;
	}
	if (now - in->last_progress < PROGRESS_US)
		return;
	in->last_progress = now;
	secs = (double)(now - in->t_start) / 1e6;
	fprintf(stderr, "\r\033[K%.40s: %" PRIu64 " lines, %.0f lines/s",
	    r->name, c->lines, secs > 0 ? (double)(in->lines_all +
	    c->lines) / secs : 0.0);
	if (r->size > 0)
		fprintf(stderr, ", %.0f%%", 100.0 * (double)r->done /
		    (double)r->size);
	fflush(stderr);
}

static json_t *
counts_json(const struct counts *c)
{
	return json_pack("{sI sI sI sI sI sI sI sI}",
	    "lines", (json_int_t)c->lines,
	    "events", (json_int_t)c->events,
	    "stored", (json_int_t)c->stored,
	    "duplicates", (json_int_t)c->duplicates,
	    "linked", (json_int_t)c->linked,
	    "unparsed", (json_int_t)c->unparsed,
	    "too_long", (json_int_t)c->too_long,
	    "not_tracked", (json_int_t)c->other);
}

static void
counts_text(FILE *fp, const char *label, const struct counts *c)
{
	char	*esc = cli_esc(label, strlen(label));

	fprintf(fp, "%s: %" PRIu64 " lines, %" PRIu64 " events stored (%"
	    PRIu64 " linked to messages), %" PRIu64 " duplicates ignored, %"
	    PRIu64 " unparsed, %" PRIu64 " too long\n", esc != NULL ? esc :
	    "?", c->lines, c->stored, c->linked, c->duplicates, c->unparsed,
	    c->too_long);
	free(esc);
}

static void
counts_add(struct counts *to, const struct counts *c)
{
	to->lines += c->lines;
	to->events += c->events;
	to->stored += c->stored;
	to->duplicates += c->duplicates;
	to->linked += c->linked;
	to->unparsed += c->unparsed;
	to->too_long += c->too_long;
	to->other += c->other;
}

/* ------------------------------------------------------------ a file */

/* The feeder thread: read and parse the file, hand the events over. */
static void *
feed(void *arg)
{
	struct feeder	*f = arg;
	struct mlog_event ev;
	const char	*line;
	size_t		 len;
	int		 rc;

	while ((rc = reader_line(f->r, &line, &len, f->err,
	    sizeof(f->err))) > 0) {
		f->c->lines++;
		if ((f->c->lines & 4095) == 0)
			progress(f->in, f->r, f->c, 0);
		if (rc == 2) {
			f->c->too_long++;
			continue;
		}
		switch (mlog_parse(f->parser, line, len, &ev)) {
		case MLOG_UNPARSED:
		case MLOG_BAD_STAMP:
			f->c->unparsed++;
			break;
		case MLOG_TOO_LONG:
			f->c->too_long++;
			break;
		case MLOG_DELIVERY:
		case MLOG_QUEUED:
		case MLOG_CLIENT:
		case MLOG_MESSAGE_ID:
		case MLOG_REMOVED:
		case MLOG_EXPIRED:
		case MLOG_NOTIFY:
		case MLOG_DEADLETTER:
			if (add_event(f, &ev, mlog_line_hash(line, len)) < 0) {
				f->ret = -2;
				goto out;
			}
			break;
		default:
			f->c->other++;
			break;
		}
	}
	if (rc < 0)
		f->ret = -1;		/* a read error: keep what we read */
	if (hand_over(f) < 0)
		f->ret = -2;
out:
	record_free(f->rec);
	f->rec = NULL;
	pipe_close(f->pipe);
	return NULL;
}

/*
 * Ingest one input.  0 done; -1 the input could not be read (message in
 * in->err; what was read is stored); -2 the journal failed.
 */
static int
ingest_file(struct ingest *in, const char *name, struct counts *c)
{
	struct mt_store_sqlite_counts before, after;
	struct feeder	 f;
	struct pipe	 p;
	struct reader	 r;
	pthread_t	 tid;
	int64_t		 mtime;
	int		 ret = 0, wrc;

	memset(c, 0, sizeof(*c));
	if (reader_open(&r, name, &mtime, in->err, sizeof(in->err)) < 0)
		return -1;
	memset(&f, 0, sizeof(f));
	f.in = in;
	f.pipe = &p;
	f.r = &r;
	f.c = c;
	if ((f.parser = mlog_parser_new(mtime, MLOG_TZ_LOCAL)) == NULL) {
		reader_close(&r);
		snprintf(in->err, sizeof(in->err), "out of memory");
		return -2;
	}
	if (pipe_init(&p) < 0) {
		mlog_parser_free(f.parser);
		reader_close(&r);
		snprintf(in->err, sizeof(in->err), "cannot set up the pipe");
		return -2;
	}
	store_sqlite_counts(in->st, &before);
	if ((errno = pthread_create(&tid, NULL, feed, &f)) != 0) {
		snprintf(in->err, sizeof(in->err), "cannot start a thread: %s",
		    strerror(errno));
		ret = -2;
		goto out;
	}
	if ((wrc = write_chunks(in, &p)) < 0)
		pipe_stop(&p);
	pthread_join(tid, NULL);
	if (wrc < 0)
		ret = -2;		/* in->err says why */
	else if (f.ret < 0) {
		ret = f.ret;
		snprintf(in->err, sizeof(in->err), "%s", f.err);
	}
out:
	progress(in, &r, c, 1);
	in->lines_all += c->lines;
	store_sqlite_counts(in->st, &after);
	c->stored = after.events_new - before.events_new;
	c->duplicates = after.events_dup - before.events_dup;
	c->linked = after.events_linked - before.events_linked;
	pipe_destroy(&p);
	mlog_parser_free(f.parser);
	reader_close(&r);
	return ret;
}

/* ------------------------------------------------------------ command */

static struct mt_store *
open_store(struct cli *cli, char *err, size_t errlen)
{
	struct mt_store_sqlite_opts o;
	struct mt_store	*st;
	struct stat	 sb;
	char		*path;

	if ((path = cli_journal_path(cli, err, errlen)) == NULL)
		return NULL;
	/* Never create a journal: a wrong path would fill a new file. */
	if (stat(path, &sb) < 0) {
		snprintf(err, errlen, "journal %s: %s (give the daemon's"
		    " journal with --journal or -c)", path, strerror(errno));
		free(path);
		return NULL;
	}
	memset(&o, 0, sizeof(o));
	o.path = path;
	o.synchronous_full = 0;
	o.busy_timeout_ms = BUSY_MS;
	o.bulk = 1;
	st = store_sqlite_open(&o, err, errlen);
	free(path);
	return st;
}

int
cmd_ingest(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "txn-ms",	required_argument, NULL, OPT_TXN_MS },
		{ NULL, 0, NULL, 0 }
	};
	char		*end;
	long		 txn_ms = TXN_TARGET_MS;
	struct counts	 c, total;
	struct ingest	 in;
	json_t		*doc = NULL, *files = NULL;
	double		 secs;
	int		 ch, done = 0, i, r, rc = CLI_EXIT_FOUND, nstdin = 0;

	while ((ch = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (cli_common_option(cli, ch, optarg, help, &done)) {
			if (done)
				return CLI_EXIT_FOUND;
			continue;
		}
		if (ch == OPT_TXN_MS) {
			errno = 0;
			txn_ms = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || txn_ms < 5 ||
			    txn_ms > 1000)
				return cli_usage_error(cli, "--txn-ms %s: expected"
				    " milliseconds from 5 to 1000", optarg);
			continue;
		}
		return cli_bad_option(cli, ch, argv);
	}
	if (optind >= argc)
		return cli_usage_error(cli, "no log file given (use - for"
		    " standard input)");
	for (i = optind; i < argc; i++)
		if (strcmp(argv[i], "-") == 0)
			nstdin++;
	if (nstdin > 1)
		return cli_usage_error(cli, "standard input (-) given more than"
		    " once");

	memset(&in, 0, sizeof(in));
	in.cli = cli;
	in.max_events = START_EVENTS;
	in.txn_ms = (int)txn_ms;
	in.progress = isatty(STDERR_FILENO);
	/* Only this thread uses SQLite; the feeder never does. */
	store_sqlite_one_thread();
	if ((in.st = open_store(cli, in.err, sizeof(in.err))) == NULL) {
		cli_error(cli, "%s", in.err);
		return CLI_EXIT_ERROR;
	}
	if (cli->json && ((doc = json_object()) == NULL ||
	    (files = json_array()) == NULL)) {
		cli_error(cli, "out of memory");
		rc = CLI_EXIT_ERROR;
		goto out;
	}
	memset(&total, 0, sizeof(total));
	in.t_start = mt_mono_us();
	for (i = optind; i < argc; i++) {
		r = ingest_file(&in, argv[i], &c);
		counts_add(&total, &c);
		if (r < 0) {
			cli_error(cli, "%s", in.err);
			rc = CLI_EXIT_ERROR;
		}
		if (cli->json) {
			json_t *o = counts_json(&c);

			if (o != NULL) {
				json_object_set_new(o, "file", cli_json_bytes(
				    argv[i], strlen(argv[i])));
				json_object_set_new(o, "ok", json_boolean(r ==
				    0));
				json_array_append_new(files, o);
			}
		} else if (c.lines > 0 || r == 0)
			counts_text(cli->out, argv[i], &c);
		if (r == -2)
			break;		/* the journal failed: stop */
	}
	secs = (double)(mt_mono_us() - in.t_start) / 1e6;
	if (cli->json) {
		json_object_set_new(doc, "files", files);
		files = NULL;
		json_object_set_new(doc, "total", counts_json(&total));
		json_object_set_new(doc, "seconds", json_real(secs));
		json_object_set_new(doc, "lines_per_second", json_real(secs >
		    0 ? (double)total.lines / secs : 0));
		json_object_set_new(doc, "transactions",
		    json_integer((json_int_t)in.txns));
		json_object_set_new(doc, "transaction_ms_max",
		    json_real((double)in.txn_us_max / 1000));
		json_object_set_new(doc, "transaction_ms_mean",
		    json_real(in.txns > 0 ? (double)in.txn_us_total / 1000 /
		    (double)in.txns : 0));
		cli_json_print(cli, doc);
	} else if (argc - optind > 1)
		counts_text(cli->out, "total", &total);
out:
	json_decref(files);
	json_decref(doc);
	in.st->ops->close(in.st);
	return rc;
}
