/*
 * logfollow.c - the daemon's log follower (see logfollow.h).
 *
 * Offsets, all in the file currently open:
 *   handed_off  the position of the last batch the journal accepted;
 *   done_off    after the last complete line read (the next batch's
 *               position); the start of the partial line in buf;
 *   read_off    bytes read so far; buf holds [done_off, read_off) unless
 *               an overlong line is being skipped (buf is then empty).
 * handed_off <= done_off <= read_off.  A refused batch rewinds done_off and
 * read_off to handed_off: the same lines are read again later, so a full
 * journal queue delays events but never drops them.  Counters of lines are
 * pending until their batch is accepted, so they count each line once.
 *
 * Files are read with pread() at explicit offsets, never through the
 * descriptor's own offset.  A batch never spans two files: before the
 * follower switches to a rotated file or starts a truncated one again, it
 * hands over what it read of the old one.
 *
 * XXX A batch the journal accepted but its store then failed to commit is
 * lost for this run (the journal counts it as failed); its position was
 * not stored either, so the next start reads those lines again, while a
 * later batch of this run may already have stored a later position.
 *
 * XXX Lines a writer appends to a renamed file after the follower switched
 * to the new one are not read.  The follower waits until the old file has
 * stopped growing for one poll interval before it switches; syslog daemons
 * and Postfix's postlogd reopen their file on the rotation signal.
 *
 * A "systemd-journal:" source (sdjournal.h) goes through the same batches,
 * hand-overs and retries; only reading differs.  Its offsets are entry
 * times (__REALTIME_TIMESTAMP, microseconds): handed_off is the time of
 * the last entry of the last accepted batch, done_off that of the last
 * entry read; a rewind seeks back to handed_off, whose entries are read
 * again and ignored by the store as duplicates.  There is no file
 * identity (dev, ino and head_hash stay 0) and no rotation to watch:
 * sd-journal follows its own files.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mailtrail/clock.h"
#include "mailtrail/escape.h"
#include "mailtrail/log.h"
#include "mailtrail/logfollow.h"
#include "mailtrail/sdjournal.h"
#include "mailtrail/stats.h"
#include "mailtrail/store.h"

#define LF_CHUNK	65536		/* bytes read at a time */
#define LF_HEAD_MAX	1024		/* bytes of the first line hashed */
#define LF_BACKOFF_MAX_MS 5000		/* longest wait between retries */
#define LF_REFUSED_BACKOFF_MAX_MS 1000	/* ... of a batch the journal refused */
#define LF_STOP_RETRY_MS 2000		/* at stop: how long a refused batch is retried */
#define LF_BURST_PERIOD	300		/* seconds between repeated log lines */
#define LF_READ_BUDGET	(16 * 1024 * 1024) /* bytes read per step, then
					   the thread looks at its stop flag */
#define LF_ENTRY_BUDGET	50000		/* journal entries read per step */

struct logfollow {
	struct logfollow_opts	 opts;
	char			*path;		/* our copy of opts.path */
	char			 epath[512];	/* the path, escaped for logs */
	struct mlog_parser	*parser;	/* NULL with a test line handler */

	pthread_t		 tid;
	int			 started;
	pthread_mutex_t		 lock;		/* stop, cond and counters */
	pthread_cond_t		 cond;
	int			 stop;
	struct logfollow_counters c;

	/* The stored position, until the first file is opened. */
	int			 init_done;
	int			 have_stored;
	struct mt_log_position	 stored;
	int			 ever_opened;
	int			 was_missing;	/* not there at the first try */

	/* A systemd journal source: its reader, once opened (by the
	 * thread that reads it). */
	int			 is_sdj;
	struct sdj_reader	*sdj;

	/* The open file. */
	int			 fd;
	uint64_t		 dev, ino;
	uint64_t		 head_hash;	/* 0 while unknown */
	int64_t			 handed_off, done_off, read_off;
	char			*buf;
	size_t			 blen;
	int			 skipping;	/* inside an overlong line */
	int			 skip_quiet;	/* ... a partial one at the start */
	int			 pos_dirty;	/* new identity to store */
	int64_t			 quiet_off;	/* started mid-line here; -1 */
	int			 more;		/* the read budget ran out */

	/* Rotation: the path names another file (or none). */
	int			 rotated;
	int64_t			 rot_size;	/* old file's size at last poll */

	/* The batch being filled and what it adds to the counters. */
	struct mt_log_batch	*batch;
	uint64_t		 p_lines, p_unparsed, p_too_long;
	int64_t			 first_pending_us;	/* monotonic; 0 = none */
	int64_t			 last_hand_us;	/* monotonic, last accepted */
	size_t			 cur_max;	/* events per batch now: halved
						   on a refusal, back up after */

	/* Retries (missing file, refused batch). */
	int64_t			 retry_at_us;	/* monotonic; 0 = none */
	int			 backoff_ms;
	int			 missing;

	struct mt_burst		 burst_missing, burst_refused, burst_error;
};

static void
burst_init(struct mt_burst *b, const char *what)
{
	memset(b, 0, sizeof(*b));
	b->what = what;
	pthread_mutex_init(&b->lock, NULL);
	b->period_s = LF_BURST_PERIOD;
}

uint64_t
logfollow_head_hash(const char *line, size_t len)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;	/* FNV-1a */
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)line[i];
		h *= 0x100000001b3ULL;
	}
	return h == 0 ? 1 : h;	/* 0 means "unknown" */
}

/*
 * The hash of fd's first line (up to its newline or LF_HEAD_MAX bytes), or
 * 0 when the file does not hold that much yet.
 */
static uint64_t
file_head_hash(int fd)
{
	char	 head[LF_HEAD_MAX];
	ssize_t	 n;
	char	*nl;

	do
		n = pread(fd, head, sizeof(head), 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	if ((nl = memchr(head, '\n', (size_t)n)) != NULL)
		return logfollow_head_hash(head, (size_t)(nl - head));
	if ((size_t)n == sizeof(head))
		return logfollow_head_hash(head, sizeof(head));
	return 0;
}

static void
count_add(struct logfollow *lf, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&lf->lock);
	*field += n;
	pthread_mutex_unlock(&lf->lock);
}

static void
error_hit(struct logfollow *lf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
error_hit(struct logfollow *lf, const char *fmt, ...)
{
	char	 detail[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	count_add(lf, &lf->c.errors, 1);
	mt_burst_hit(&lf->burst_error, LOG_WARNING, detail);
}

/* ------------------------------------------------------------ lines */

/* Parse a line; keep its events (one per recipient of a delivery line). */
static int
mlog_line(void *arg, const char *line, size_t len, struct mt_log_batch *b)
{
	struct logfollow	*lf = arg;
	struct mlog_event	 ev;
	enum mlog_kind		 kind;
	uint64_t		 h;

	kind = mlog_parse(lf->parser, line, len, &ev);
	if (kind < MLOG_DELIVERY)
		return (int)kind;
	h = mlog_line_hash(line, len);
	do {
		if (log_batch_add(b, &ev, kind == MLOG_DELIVERY ?
		    mlog_event_hash(h, &ev) : h) < 0)
			return -1;
	} while (kind == MLOG_DELIVERY && mlog_next_recipient(&ev));
	return (int)kind;
}

static void
take_line(struct logfollow *lf, const char *line, size_t len)
{
	int	 kind;

	if (lf->first_pending_us == 0)
		lf->first_pending_us = mt_mono_us();
	lf->p_lines++;
	kind = lf->opts.handle_line(lf->opts.line_arg, line, len, lf->batch);
	if (kind < 0)
		error_hit(lf, "out of memory: a log event of "
		    "%s is not recorded", lf->epath);
	else if (kind == MLOG_UNPARSED || kind == MLOG_BAD_STAMP)
		lf->p_unparsed++;
	else if (kind == MLOG_TOO_LONG)
		lf->p_too_long++;
}

/* ------------------------------------------------------------ batches */

static int
pending(const struct logfollow *lf)
{
	return (lf->fd >= 0 || lf->sdj != NULL) && lf->batch != NULL &&
	    (lf->batch->n > 0 ||
	    lf->done_off != lf->handed_off || lf->pos_dirty ||
	    lf->p_lines > 0);
}

/* Forget what was read since the last accepted batch. */
static void
rewind_to_handed(struct logfollow *lf)
{
	struct mt_log_batch	*b;
	char			 err[256];

	if (lf->sdj != NULL && sdj_reader_seek_time(lf->sdj, lf->handed_off,
	    err, sizeof(err)) != 0)
		error_hit(lf, "%s: %s", lf->epath, err);
	lf->done_off = lf->read_off = lf->handed_off;
	lf->blen = 0;
	lf->skipping = lf->skip_quiet = lf->handed_off == lf->quiet_off;
	lf->p_lines = lf->p_unparsed = lf->p_too_long = 0;
	lf->first_pending_us = 0;
	/* NULL when out of memory: the next step allocates again. */
	b = log_batch_new(MT_SOURCE_FOLLOWER);
	log_batch_free(lf->batch);
	lf->batch = b;
}

/* Wait before the next try: from the poll interval, doubling up to max_ms. */
static void
back_off_max(struct logfollow *lf, int max_ms)
{
	if (lf->backoff_ms == 0)
		lf->backoff_ms = lf->opts.poll_ms;
	else if (lf->backoff_ms < max_ms)
		lf->backoff_ms *= 2;
	if (lf->backoff_ms > max_ms)
		lf->backoff_ms = max_ms;
	lf->retry_at_us = mt_mono_us() + (int64_t)lf->backoff_ms * 1000;
}

static void
back_off(struct logfollow *lf)
{
	back_off_max(lf, LF_BACKOFF_MAX_MS);
}

/*
 * Hand the batch and the position after its last complete line to the
 * journal.  0 accepted (or nothing to hand over), -1 refused: rewound to
 * the last accepted position, retry after the back-off.
 */
static int
hand_over(struct logfollow *lf)
{
	struct mt_log_position	 pos;
	struct mt_log_batch	*next;
	struct mt_record	*rec;
	enum journal_status	 st;
	size_t			 nev;
	char			 detail[640];

	if (!pending(lf))
		return 0;
	if ((next = log_batch_new(MT_SOURCE_FOLLOWER)) == NULL ||
	    (rec = record_new(MT_RECORD_LOGBATCH)) == NULL) {
		log_batch_free(next);
		error_hit(lf, "out of memory handing over a "
		    "batch");
		rewind_to_handed(lf);
		back_off(lf);
		return -1;
	}
	memset(&pos, 0, sizeof(pos));
	pos.path.data = lf->path;
	pos.path.len = strlen(lf->path);
	pos.dev = lf->dev;
	pos.ino = lf->ino;
	pos.head_hash = lf->head_hash;
	pos.offset = lf->done_off;
	pos.time_us = mt_now_us();
	pos.lines = lf->p_lines;
	pos.unparsed = lf->p_unparsed;
	pos.too_long = lf->p_too_long;
	if (log_batch_set_position(lf->batch, &pos) != 0) {
		record_free(rec);
		log_batch_free(next);
		error_hit(lf, "out of memory handing over a "
		    "batch");
		rewind_to_handed(lf);
		back_off(lf);
		return -1;
	}
	nev = lf->batch->n;
	rec->logs = lf->batch;
	lf->batch = next;
	record_account(rec);
	st = lf->opts.submit(lf->opts.submit_arg, rec);	/* takes rec */
	if (st != JOURNAL_OK) {
		count_add(lf, &lf->c.refused, 1);
		snprintf(detail, sizeof(detail), "%s: %zu events of %s wait "
		    "and are read again", journal_status_name(st), nev,
		    lf->epath);
		mt_burst_hit(&lf->burst_refused, LOG_WARNING, detail);
		rewind_to_handed(lf);
		/* The writer commits every commit interval: try again soon. */
		back_off_max(lf, LF_REFUSED_BACKOFF_MAX_MS);
		/* A batch larger than the queue's bound would never fit. */
		if (lf->cur_max > 1)
			lf->cur_max /= 2;
		return -1;
	}
	pthread_mutex_lock(&lf->lock);
	lf->c.lines += lf->p_lines;
	lf->c.events += nev;
	lf->c.unparsed += lf->p_unparsed;
	lf->c.too_long += lf->p_too_long;
	lf->c.batches++;
	lf->c.offset = lf->done_off;
	if (lf->first_pending_us != 0)
		lf->c.lag_us = mt_mono_us() - lf->first_pending_us;
	pthread_mutex_unlock(&lf->lock);
	lf->handed_off = lf->done_off;
	lf->p_lines = lf->p_unparsed = lf->p_too_long = 0;
	lf->first_pending_us = 0;
	lf->last_hand_us = mt_mono_us();
	if (lf->cur_max < lf->opts.batch_max)
		lf->cur_max = lf->cur_max * 2 < lf->opts.batch_max ?
		    lf->cur_max * 2 : lf->opts.batch_max;
	lf->pos_dirty = 0;
	lf->backoff_ms = 0;
	lf->retry_at_us = 0;
	return 0;
}

/* ------------------------------------------------------------ files */

static void
close_file(struct logfollow *lf)
{
	if (lf->fd >= 0)
		close(lf->fd);
	lf->fd = -1;
	lf->blen = 0;
	lf->skipping = lf->skip_quiet = 0;
	lf->rotated = 0;
}

/* Start reading the open file at off (a line boundary or its end). */
static void
set_start(struct logfollow *lf, int64_t off, int mid_line_possible)
{
	char	 c;
	ssize_t	 n;

	lf->handed_off = lf->done_off = lf->read_off = off;
	lf->blen = 0;
	lf->skipping = lf->skip_quiet = 0;
	lf->quiet_off = -1;
	if (mid_line_possible && off > 0) {
		/* At the end of a file whose last line is not finished:
		 * that line's rest is not a line of its own. */
		n = pread(lf->fd, &c, 1, off - 1);
		if (n == 1 && c != '\n') {
			lf->skipping = lf->skip_quiet = 1;
			lf->quiet_off = off;
		}
	}
	pthread_mutex_lock(&lf->lock);
	lf->c.offset = off;
	pthread_mutex_unlock(&lf->lock);
}

/*
 * The stored position names a file that is no longer at the path: rotated
 * while the follower was stopped.  Look beside the path for it (same
 * device and inode under a name "BASE.something" or "BASE-something", as
 * logrotate and "postfix logrotate" name them) and, when it is there,
 * make it the open file at the stored offset: the rotation check then
 * reads it to its end and moves to the new file.  1 when found.
 */
static int
open_rotated(struct logfollow *lf)
{
	char		 dirbuf[4096], basebuf[4096], full[8192];
	const char	*dir, *base;
	struct dirent	*de;
	struct stat	 st;
	size_t		 blen;
	DIR		*d;
	int		 fd = -1;

	if (lf->stored.dev == 0 && lf->stored.ino == 0)
		return 0;
	snprintf(dirbuf, sizeof(dirbuf), "%s", lf->path);
	snprintf(basebuf, sizeof(basebuf), "%s", lf->path);
	dir = dirname(dirbuf);
	base = basename(basebuf);
	blen = strlen(base);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, base, blen) != 0 ||
		    (de->d_name[blen] != '.' && de->d_name[blen] != '-'))
			continue;
		snprintf(full, sizeof(full), "%s/%s", dir, de->d_name);
		if (lstat(full, &st) != 0 || !S_ISREG(st.st_mode) ||
		    (uint64_t)st.st_dev != lf->stored.dev ||
		    (uint64_t)st.st_ino != lf->stored.ino ||
		    (int64_t)st.st_size < lf->stored.offset)
			continue;
		fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		break;
	}
	closedir(d);
	if (fd < 0)
		return 0;
	if (lf->fd >= 0)
		close(lf->fd);
	lf->fd = fd;
	lf->dev = lf->stored.dev;
	lf->ino = lf->stored.ino;
	lf->head_hash = file_head_hash(fd);
	set_start(lf, lf->stored.offset, 0);
	lf->pos_dirty = 0;
	mt_log(LOG_NOTICE, "log follower: %s was rotated while stopped: "
	    "reading the rest of the old file from offset %" PRId64
	    " first", lf->epath, lf->stored.offset);
	return 1;
}

/*
 * Open the path and decide where to start: the stored position when this
 * is the file it names, else the beginning, or the end on a first run.
 * 0; -1 when there is no file at the path, -2 when it cannot be opened
 * (logged).
 */
static int
open_file(struct logfollow *lf)
{
	struct stat	 st;
	uint64_t	 head;
	int		 fd, same;

	if ((fd = open(lf->path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		if (errno != ENOENT) {
			error_hit(lf, "cannot open %s: %s",
			    lf->epath, strerror(errno));
			return -2;
		}
		if (lf->have_stored && open_rotated(lf)) {
			/* Gone, not yet created again: the old one first. */
			lf->have_stored = 0;
			lf->ever_opened = 1;
			return 0;
		}
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		error_hit(lf, "%s is not a regular file",
		    lf->epath);
		close(fd);
		return -2;
	}
	lf->fd = fd;
	lf->dev = (uint64_t)st.st_dev;
	lf->ino = (uint64_t)st.st_ino;
	lf->head_hash = head = file_head_hash(fd);
	lf->rotated = 0;
	lf->pos_dirty = 1;

	if (lf->have_stored) {
		lf->have_stored = 0;
		same = (lf->stored.dev == lf->dev && lf->stored.ino == lf->ino &&
		    (lf->stored.head_hash == 0 || head == 0 ||
		    head == lf->stored.head_hash)) ||
		    (lf->stored.head_hash != 0 && head == lf->stored.head_hash);
		if (same && lf->stored.offset <= (int64_t)st.st_size) {
			set_start(lf, lf->stored.offset, 0);
			lf->pos_dirty = 0;
			mt_log(LOG_INFO, "log follower: %s: resuming at offset "
			    "%" PRId64, lf->epath, lf->stored.offset);
		} else if (!same && open_rotated(lf)) {
			/* The old file first; the new one is read after it. */
		} else {
			set_start(lf, 0, 0);
			if (same)
				count_add(lf, &lf->c.truncations, 1);
			mt_log(LOG_NOTICE, "log follower: %s: %s: reading it "
			    "from the beginning", lf->epath, same ?
			    "shorter than the stored position (truncated)" :
			    "not the file of the stored position (rotated)");
		}
	} else if (!lf->ever_opened && !lf->was_missing &&
	    lf->opts.start_at_end) {
		set_start(lf, (int64_t)st.st_size, 1);
		mt_log(LOG_INFO, "log follower: %s: no stored position, "
		    "starting at its end (offset %lld)", lf->epath,
		    (long long)st.st_size);
	} else
		set_start(lf, 0, 0);
	lf->ever_opened = 1;
	return 0;
}

/*
 * Read what was appended, line by line, handing batches over as they fill.
 * Returns the complete lines read, or -1 when a batch was refused (rewound).
 */
static int
read_lines(struct logfollow *lf)
{
	const size_t	 cap = MLOG_MAX_LINE + 1 + LF_CHUNK;
	int64_t		 base;		/* file offset of buf[0] */
	size_t		 i, start, total, len, budget = LF_READ_BUDGET;
	ssize_t		 n;
	char		*nl;
	int		 lines = 0;

	lf->more = 0;
	if (lf->batch == NULL)
		return 0;
	if (lf->buf == NULL && (lf->buf = malloc(cap)) == NULL) {
		error_hit(lf, "out of memory");
		return 0;
	}
	for (;;) {
		if (budget < LF_CHUNK) {
			lf->more = 1;
			return lines;
		}
		n = pread(lf->fd, lf->buf + lf->blen, LF_CHUNK, lf->read_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error_hit(lf, "reading %s: %s", lf->epath,
			    strerror(errno));
			return lines;
		}
		if (n == 0)
			return lines;
		budget -= (size_t)n;
		base = lf->read_off - (int64_t)lf->blen;
		lf->read_off += n;
		total = lf->blen + (size_t)n;
		start = 0;
		i = lf->blen;
		if (lf->skipping) {
			/* buf is empty: base is where this chunk starts. */
			if ((nl = memchr(lf->buf, '\n', total)) == NULL) {
				lf->blen = 0;
				continue;
			}
			if (!lf->skip_quiet) {
				if (lf->first_pending_us == 0)
					lf->first_pending_us = mt_mono_us();
				lf->p_lines++;
				lines++;
			}
			lf->skipping = lf->skip_quiet = 0;
			lf->quiet_off = -1;
			start = i = (size_t)(nl - lf->buf) + 1;
			lf->done_off = base + (int64_t)start;
		}
		while (i < total &&
		    (nl = memchr(lf->buf + i, '\n', total - i)) != NULL) {
			len = (size_t)(nl - (lf->buf + start));
			if (len > MLOG_MAX_LINE) {
				/* A kept partial line grew past the
				 * bound with this chunk: skipped. */
				lf->p_too_long++;
				lf->p_lines++;
				if (lf->first_pending_us == 0)
					lf->first_pending_us = mt_mono_us();
			} else
				take_line(lf, lf->buf + start, len);
			lines++;
			start = i = (size_t)(nl - lf->buf) + 1;
			lf->done_off = base + (int64_t)start;
			if (lf->batch->n >= lf->cur_max &&
			    hand_over(lf) != 0)
				return -1;
		}
		/* The partial line: keep it, unless it is already too long. */
		len = total - start;
		if (len > MLOG_MAX_LINE) {
			lf->skipping = 1;
			lf->skip_quiet = 0;
			lf->p_too_long++;
			lf->blen = 0;
		} else {
			if (start > 0 && len > 0)
				memmove(lf->buf, lf->buf + start, len);
			lf->blen = len;
		}
	}
}

/*
 * The log could not be opened: retry after the back-off, saying so once
 * per burst when log_it.  A log that appears later is new: it is read
 * whole.
 */
static void
note_missing(struct logfollow *lf, int log_it)
{
	if (!lf->ever_opened)
		lf->was_missing = 1;
	if (!lf->missing && log_it)
		mt_burst_hit(&lf->burst_missing, LOG_WARNING, lf->epath);
	lf->missing = 1;
	back_off(lf);
}

/* The log is open (again). */
static void
note_open(struct logfollow *lf)
{
	if (lf->missing)
		mt_log(LOG_NOTICE, "log follower: %s is open now", lf->epath);
	lf->missing = 0;
	lf->backoff_ms = 0;
	lf->retry_at_us = 0;
}

/* ------------------------------------------------------------ journal */

/*
 * Open the systemd journal source and place it: at the stored position
 * (the time of the last entry handed over), else as delivery.start says.
 * 0, -1 when it cannot be opened now (retried).
 */
static int
sdj_open(struct logfollow *lf)
{
	char	 err[512];
	int	 rc;

	if ((lf->sdj = sdj_reader_open(lf->path, err, sizeof(err))) == NULL) {
		error_hit(lf, "cannot open %s: %s", lf->epath, err);
		return -1;
	}
	if (lf->have_stored) {
		lf->have_stored = 0;
		rc = sdj_reader_seek_time(lf->sdj, lf->stored.offset, err,
		    sizeof(err));
		lf->handed_off = lf->done_off = lf->stored.offset;
		if (rc == 0)
			mt_log(LOG_INFO, "log follower: %s: resuming at the "
			    "entries of %" PRId64 " (microseconds since "
			    "1970)", lf->epath, lf->stored.offset);
	} else if (!lf->ever_opened && !lf->was_missing &&
	    lf->opts.start_at_end) {
		rc = sdj_reader_seek_tail(lf->sdj, err, sizeof(err));
		lf->handed_off = lf->done_off = 0;
		if (rc == 0)
			mt_log(LOG_INFO, "log follower: %s: no stored "
			    "position, starting after its last entry",
			    lf->epath);
	} else {
		rc = sdj_reader_seek_head(lf->sdj, err, sizeof(err));
		lf->handed_off = lf->done_off = 0;
	}
	if (rc != 0) {
		error_hit(lf, "%s: %s", lf->epath, err);
		sdj_reader_close(lf->sdj);
		lf->sdj = NULL;
		return -1;
	}
	lf->ever_opened = 1;
	return 0;
}

/*
 * Read the entries that came, handing batches over as they fill.  Returns
 * the entries read, or -1 when a batch was refused (rewound).
 */
static int
read_entries(struct logfollow *lf)
{
	struct sdj_entry	 e;
	char			 err[512];
	int			 n = 0, rc;

	lf->more = 0;
	if (lf->batch == NULL || lf->sdj == NULL)
		return 0;
	for (;;) {
		if (n >= LF_ENTRY_BUDGET) {
			lf->more = 1;
			return n;
		}
		rc = sdj_reader_next(lf->sdj, &e, err, sizeof(err));
		if (rc < 0) {
			error_hit(lf, "reading %s: %s", lf->epath, err);
			return n;
		}
		if (rc == 0)
			return n;
		n++;
		if (e.too_long) {
			if (lf->first_pending_us == 0)
				lf->first_pending_us = mt_mono_us();
			lf->p_too_long++;
			lf->p_lines++;
		} else
			take_line(lf, e.line, e.len);
		lf->done_off = lf->read_off = e.time_us;
		if (lf->batch->n >= lf->cur_max && hand_over(lf) != 0)
			return -1;
	}
}

/* logfollow_poll_once for a systemd journal source. */
static int
sdj_poll_once(struct logfollow *lf, int force)
{
	int	 lines;

	if (lf->sdj == NULL) {
		if (sdj_open(lf) != 0) {
			note_missing(lf, 0);	/* sdj_open said why */
			return -1;
		}
		note_open(lf);
	}
	lines = read_entries(lf);
	if (lines < 0)
		return 0;
	if (force || (lf->batch != NULL && lf->batch->n >= lf->cur_max) ||
	    mt_mono_us() - lf->last_hand_us >=
	    (int64_t)lf->opts.batch_ms * 1000)
		(void)hand_over(lf);
	pthread_mutex_lock(&lf->lock);
	lf->c.offset = lf->handed_off;
	pthread_mutex_unlock(&lf->lock);
	return lines;
}

/* What the source has to read: lines of a file or journal entries. */
static int
read_more(struct logfollow *lf)
{
	return lf->is_sdj ? read_entries(lf) : read_lines(lf);
}

/* Hand over what is pending, retrying a refusal for a while (stop). */
static void
hand_over_final(struct logfollow *lf)
{
	int64_t	 until = mt_mono_us() + LF_STOP_RETRY_MS * 1000;

	while (pending(lf)) {
		if (hand_over(lf) == 0)
			return;
		if (mt_mono_us() > until) {
			mt_log(LOG_WARNING, "log follower: %s: the journal "
			    "refused the last batch; its lines are read again "
			    "at the next start", lf->epath);
			return;
		}
		usleep(50000);
		(void)read_more(lf);
	}
}

/* ------------------------------------------------------------ one step */

static void
load_stored(struct logfollow *lf)
{
	char	 err[512];
	int	 rc;

	lf->init_done = 1;
	if (lf->opts.load_position == NULL)
		return;
	memset(&lf->stored, 0, sizeof(lf->stored));
	rc = lf->opts.load_position(lf->opts.position_arg, lf->path,
	    &lf->stored, err, sizeof(err));
	if (rc < 0) {
		error_hit(lf, "cannot read the stored position "
		    "of %s: %s (starting as on a first run)", lf->epath, err);
		return;
	}
	lf->have_stored = rc == 1;
	mt_bytes_clear(&lf->stored.path);
}

int
logfollow_poll_once(struct logfollow *lf, int force)
{
	struct stat	 st, pst;
	int64_t		 now = mt_mono_us();
	uint64_t	 head;
	int		 lines = 0, rc, path_ok;

	if (!lf->init_done)
		load_stored(lf);
	if (lf->batch == NULL &&
	    (lf->batch = log_batch_new(MT_SOURCE_FOLLOWER)) == NULL) {
		error_hit(lf, "out of memory");
		return 0;
	}
	if (!force && lf->retry_at_us != 0 && now < lf->retry_at_us)
		return 0;
	if (lf->is_sdj)
		return sdj_poll_once(lf, force);

	if (lf->fd < 0) {
		if ((rc = open_file(lf)) != 0) {
			note_missing(lf, rc == -1);
			return -1;
		}
		note_open(lf);
	}

	for (;;) {
		if (fstat(lf->fd, &st) != 0) {
			error_hit(lf, "fstat %s: %s", lf->epath,
			    strerror(errno));
			return lines;
		}
		/*
		 * copytruncate: shorter than what we read, or a different
		 * first line (truncated and written past our offset since).
		 */
		head = lf->read_off > 0 ? file_head_hash(lf->fd) : 0;
		if ((int64_t)st.st_size < lf->read_off ||
		    (head != 0 && lf->head_hash != 0 && head != lf->head_hash)) {
			(void)hand_over(lf);	/* lines of the old content */
			count_add(lf, &lf->c.truncations, 1);
			mt_log(LOG_NOTICE, "log follower: %s was truncated; "
			    "reading it again from the beginning",
			    lf->epath);
			set_start(lf, 0, 0);
			lf->head_hash = file_head_hash(lf->fd);
			lf->pos_dirty = 1;
		} else if (lf->head_hash == 0 && head != 0) {
			lf->head_hash = head;
			lf->pos_dirty = 1;
		}

		path_ok = stat(lf->path, &pst) == 0;
		if (path_ok && ((uint64_t)pst.st_dev != lf->dev ||
		    (uint64_t)pst.st_ino != lf->ino)) {
			if (!lf->rotated)
				lf->rot_size = -1;
			lf->rotated = 1;
		}

		rc = read_lines(lf);
		if (rc < 0)
			return lines;
		lines += rc;

		/* Rotated: switch once the old file is read and quiet. */
		if (lf->rotated && path_ok) {
			if (fstat(lf->fd, &st) == 0 &&
			    (int64_t)st.st_size == lf->rot_size &&
			    lf->read_off >= (int64_t)st.st_size) {
				if (hand_over(lf) != 0)
					return lines;
				close_file(lf);
				count_add(lf, &lf->c.rotations, 1);
				mt_log(LOG_INFO, "log follower: %s was "
				    "rotated; following the new file",
				    lf->epath);
				if (open_file(lf) != 0)
					return lines;
				continue;	/* read the new file now */
			}
			lf->rot_size = (int64_t)st.st_size;
		}
		break;
	}

	/*
	 * At most one record per batch_ms besides full ones: what was read
	 * goes at once when the last hand-over is that old (a quiet log's
	 * line waits for nothing), else when that time comes.
	 */
	if (force || (lf->batch != NULL && lf->batch->n >= lf->cur_max) ||
	    mt_mono_us() - lf->last_hand_us >=
	    (int64_t)lf->opts.batch_ms * 1000)
		(void)hand_over(lf);
	return lines;
}

/* ------------------------------------------------------------ thread */

static void *
follow_thread(void *arg)
{
	struct logfollow	*lf = arg;
	struct timespec		 ts;
	int64_t			 wait_us, now, due;

	for (;;) {
		pthread_mutex_lock(&lf->lock);
		if (lf->stop) {
			pthread_mutex_unlock(&lf->lock);
			break;
		}
		pthread_mutex_unlock(&lf->lock);

		(void)logfollow_poll_once(lf, 0);
		if (lf->more)
			continue;

		now = mt_mono_us();
		wait_us = (int64_t)lf->opts.poll_ms * 1000;
		if (pending(lf)) {
			due = lf->last_hand_us +
			    (int64_t)lf->opts.batch_ms * 1000 - now;
			if (due < wait_us)
				wait_us = due > 1000 ? due : 1000;
		}
		if (lf->retry_at_us != 0 && lf->retry_at_us - now > wait_us)
			wait_us = lf->retry_at_us - now;
		if (lf->sdj != NULL) {
			/* sd-journal wakes us on new entries; the stop
			 * flag is looked at within poll_ms. */
			if (wait_us > (int64_t)lf->opts.poll_ms * 1000)
				wait_us = (int64_t)lf->opts.poll_ms * 1000;
			(void)sdj_reader_wait(lf->sdj, (int)(wait_us / 1000));
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += wait_us / 1000000;
		ts.tv_nsec += (wait_us % 1000000) * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&lf->lock);
		if (!lf->stop)
			(void)pthread_cond_timedwait(&lf->cond, &lf->lock, &ts);
		pthread_mutex_unlock(&lf->lock);
	}
	return NULL;
}

/* ------------------------------------------------------------ life */

static enum journal_status
submit_journal(void *arg, struct mt_record *rec)
{
	return journal_submit_async(arg, rec);
}

static int
position_store(void *arg, const char *log_path, struct mt_log_position *out,
    char *err, size_t errlen)
{
	return store_sqlite_log_position(arg, log_path, out, err, errlen);
}

struct logfollow *
logfollow_new(const struct logfollow_opts *opts, char *err, size_t errlen)
{
	struct logfollow	*lf;
	pthread_condattr_t	 ca;

	if (opts->path == NULL || opts->path[0] == '\0') {
		snprintf(err, errlen, "log follower: no file to follow");
		return NULL;
	}
	if (sdj_is_spec(opts->path) &&
	    sdj_check_spec(opts->path, err, errlen) != 0)
		return NULL;
	if (opts->submit == NULL && opts->journal == NULL) {
		snprintf(err, errlen, "log follower: no journal");
		return NULL;
	}
	if ((lf = calloc(1, sizeof(*lf))) == NULL)
		goto nomem;
	lf->fd = -1;
	lf->quiet_off = -1;
	lf->is_sdj = sdj_is_spec(opts->path);
	lf->opts = *opts;
	if (lf->opts.poll_ms <= 0)
		lf->opts.poll_ms = 250;
	if (lf->opts.batch_ms <= 0)
		lf->opts.batch_ms = 200;
	if (lf->opts.batch_max == 0 || lf->opts.batch_max > MT_LOG_BATCH_MAX)
		lf->opts.batch_max = MT_LOG_BATCH_MAX;
	lf->cur_max = lf->opts.batch_max;
	if (lf->opts.submit == NULL) {
		lf->opts.submit = submit_journal;
		lf->opts.submit_arg = opts->journal;
	}
	if (lf->opts.load_position == NULL && opts->db_path != NULL) {
		lf->opts.load_position = position_store;
		lf->opts.position_arg = (void *)opts->db_path;
	}
	if ((lf->path = strdup(opts->path)) == NULL)
		goto nomem;
	mt_escape(lf->epath, sizeof(lf->epath), lf->path, strlen(lf->path));
	lf->opts.path = lf->path;
	if (lf->opts.handle_line == NULL) {
		if ((lf->parser = mlog_parser_new(0, opts->tz_offset_s)) ==
		    NULL)
			goto nomem;
		lf->opts.handle_line = mlog_line;
		lf->opts.line_arg = lf;
	}
	if ((lf->batch = log_batch_new(MT_SOURCE_FOLLOWER)) == NULL)
		goto nomem;
	pthread_mutex_init(&lf->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&lf->cond, &ca);
	pthread_condattr_destroy(&ca);
	burst_init(&lf->burst_missing, "log follower: the log file is "
	    "missing; retrying");
	burst_init(&lf->burst_refused, "log follower: the journal refused "
	    "a batch; retrying");
	burst_init(&lf->burst_error, "log follower");
	return lf;
nomem:
	snprintf(err, errlen, "log follower: out of memory");
	if (lf != NULL) {
		mlog_parser_free(lf->parser);
		free(lf->path);
		free(lf);
	}
	return NULL;
}

int
logfollow_start(struct logfollow *lf, char *err, size_t errlen)
{
	int	 rc;

	if ((rc = pthread_create(&lf->tid, NULL, follow_thread, lf)) != 0) {
		snprintf(err, errlen, "log follower: cannot start its thread: "
		    "%s", strerror(rc));
		return -1;
	}
	lf->started = 1;
	return 0;
}

void
logfollow_stop(struct logfollow *lf)
{
	if (lf == NULL)
		return;
	pthread_mutex_lock(&lf->lock);
	lf->stop = 1;
	pthread_cond_signal(&lf->cond);
	pthread_mutex_unlock(&lf->lock);
	if (lf->started) {
		pthread_join(lf->tid, NULL);
		lf->started = 0;
	}
	/* What was written up to now, then the last batch. */
	if ((lf->fd >= 0 || lf->sdj != NULL) && lf->batch != NULL) {
		lf->retry_at_us = 0;
		do
			(void)read_more(lf);
		while (lf->more);
		hand_over_final(lf);
	}
	close_file(lf);
	sdj_reader_close(lf->sdj);
	log_batch_free(lf->batch);
	mlog_parser_free(lf->parser);
	free(lf->buf);
	free(lf->path);
	pthread_cond_destroy(&lf->cond);
	pthread_mutex_destroy(&lf->lock);
	pthread_mutex_destroy(&lf->burst_missing.lock);
	pthread_mutex_destroy(&lf->burst_refused.lock);
	pthread_mutex_destroy(&lf->burst_error.lock);
	free(lf);
}

void
logfollow_counters(struct logfollow *lf, struct logfollow_counters *out)
{
	pthread_mutex_lock(&lf->lock);
	*out = lf->c;
	pthread_mutex_unlock(&lf->lock);
}
