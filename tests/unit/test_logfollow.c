/*
 * test_logfollow.c - the log follower against files this test writes,
 * renames and truncates.
 *
 * The follower is driven step by step (logfollow_poll_once) with a test
 * line handler (a line "q:ID ..." is one event with queue ID "ID", a line
 * starting with "?" is unparsed, anything else is ignored), a test submit
 * function standing for the journal (it can refuse, as a full queue does)
 * and a test position store that keeps the position of the last accepted
 * batch, as the journal's store would.  Each case checks the events handed
 * over: all of them, once each, in order.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mailtrail/delivery.h"
#include "mailtrail/log.h"
#include "mailtrail/logfollow.h"
#include "mailtrail/maillog.h"
#include "mailtrail/record.h"

#define MAXEV	20000

static struct {
	char		 dir[64];
	char		 path[128];
	char		*ev[MAXEV];	/* queue IDs handed over, in order */
	size_t		 nev;
	size_t		 batches;
	int		 refuse;	/* refuse this many submits */
	size_t		 refuse_over;	/* refuse batches bigger (0 = no) */
	int		 refused;
	size_t		 longest;	/* longest line given to the handler */
	struct mt_log_position last;	/* of the last accepted batch */
	int		 have_last;
	char		 last_path[128];
	uint64_t	 sum_lines, sum_unparsed, sum_too_long;
	char		 bytes[64];	/* the last "?" line, exactly */
	size_t		 bytes_len;
} t;

/* ------------------------------------------------------------ fakes */

static int
fake_line(void *arg, const char *line, size_t len, struct mt_log_batch *b)
{
	struct mlog_event	 ev;
	const char		*sp;

	(void)arg;
	if (len > t.longest)
		t.longest = len;
	if (len > 0 && line[0] == '?') {
		t.bytes_len = len < sizeof(t.bytes) ? len : sizeof(t.bytes);
		memcpy(t.bytes, line, t.bytes_len);
		return MLOG_UNPARSED;
	}
	if (len < 3 || memcmp(line, "q:", 2) != 0)
		return MLOG_IGNORED;
	memset(&ev, 0, sizeof(ev));
	ev.kind = MLOG_DELIVERY;
	ev.status = MLOG_STATUS_SENT;
	ev.queue_id.p = line + 2;
	sp = memchr(line, ' ', len);
	ev.queue_id.len = (sp != NULL ? (size_t)(sp - line) : len) - 2;
	ev.delay = -1;
	ev.size = -1;
	ev.nrcpt = -1;
	return log_batch_add(b, &ev, 0) < 0 ? -1 : MLOG_DELIVERY;
}

static enum journal_status
fake_submit(void *arg, struct mt_record *rec)
{
	struct mt_log_batch	*b = rec->logs;
	size_t			 i;

	(void)arg;
	assert_int_equal(rec->kind, MT_RECORD_LOGBATCH);
	assert_non_null(b);
	assert_true(b->has_position);
	if (t.refuse > 0 || (t.refuse_over > 0 && b->n > t.refuse_over)) {
		if (t.refuse > 0)
			t.refuse--;
		t.refused++;
		record_free(rec);
		return JOURNAL_QUEUE_FULL;
	}
	for (i = 0; i < b->n; i++) {
		assert_true(t.nev < MAXEV);
		t.ev[t.nev++] = strndup(b->ev[i].queue_id.data,
		    b->ev[i].queue_id.len);
	}
	t.batches++;
	t.last = b->pos;
	snprintf(t.last_path, sizeof(t.last_path), "%.*s",
	    (int)b->pos.path.len, b->pos.path.data);
	t.last.path.data = NULL;
	t.have_last = 1;
	t.sum_lines += b->pos.lines;
	t.sum_unparsed += b->pos.unparsed;
	t.sum_too_long += b->pos.too_long;
	record_free(rec);
	return JOURNAL_OK;
}

static int
fake_position(void *arg, const char *path, struct mt_log_position *out,
    char *err, size_t errlen)
{
	(void)arg;
	(void)err;
	(void)errlen;
	if (!t.have_last || strcmp(path, t.last_path) != 0)
		return 0;
	*out = t.last;
	out->path.data = strdup(path);
	out->path.len = strlen(path);
	out->lines = out->unparsed = out->too_long = 0;
	return 1;
}

/* ------------------------------------------------------------ helpers */

static void
reset_events(void)
{
	size_t	 i;

	for (i = 0; i < t.nev; i++)
		free(t.ev[i]);
	t.nev = 0;
}

static int
setup(void **state)
{
	(void)state;
	reset_events();
	memset(&t, 0, sizeof(t));
	snprintf(t.dir, sizeof(t.dir), "/tmp/mt-test-logfollow-XXXXXX");
	if (mkdtemp(t.dir) == NULL)
		return -1;
	snprintf(t.path, sizeof(t.path), "%s/mail.log", t.dir);
	return 0;
}

static int
teardown(void **state)
{
	char	 cmd[256];

	(void)state;
	reset_events();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t.dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
append(const char *path, const char *text, size_t len)
{
	int	 fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

#define APPEND(text)	append(t.path, (text), strlen(text))

static struct logfollow *
follower(int start_at_end)
{
	struct logfollow_opts	 o;
	struct logfollow	*lf;
	char			 err[256];

	memset(&o, 0, sizeof(o));
	o.path = t.path;
	o.poll_ms = 10;
	o.batch_ms = 1000000;	/* the tests hand over with force */
	o.batch_max = 1000;
	o.start_at_end = start_at_end;
	o.tz_offset_s = 0;
	o.submit = fake_submit;
	o.load_position = fake_position;
	o.handle_line = fake_line;
	lf = logfollow_new(&o, err, sizeof(err));
	if (lf == NULL)
		fail_msg("logfollow_new: %s", err);
	return lf;
}

/* The events handed over are exactly want (space separated), in order. */
static void
want_events(const char *want)
{
	char	 got[8192];
	size_t	 i, o = 0;

	got[0] = '\0';
	for (i = 0; i < t.nev && o < sizeof(got); i++)
		o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s",
		    i > 0 ? " " : "", t.ev[i]);
	if (strcmp(got, want) != 0)
		fail_msg("events: got \"%s\", want \"%s\"", got, want);
}

static int64_t
file_size(const char *path)
{
	struct stat	 st;

	assert_int_equal(stat(path, &st), 0);
	return (int64_t)st.st_size;
}

static void
counters(struct logfollow *lf, struct logfollow_counters *c)
{
	logfollow_counters(lf, c);
}

/* ------------------------------------------------------------ cases */

static void
test_appended_lines(void **state)
{
	struct logfollow		*lf;
	struct logfollow_counters	 c;

	(void)state;
	APPEND("q:A1 one\nnoise\n");
	lf = follower(0);
	assert_int_equal(logfollow_poll_once(lf, 1), 2);
	want_events("A1");
	APPEND("q:A2 two\nq:A3 three\n");
	assert_int_equal(logfollow_poll_once(lf, 1), 2);
	assert_int_equal(logfollow_poll_once(lf, 1), 0);
	want_events("A1 A2 A3");
	assert_int_equal(t.last.offset, file_size(t.path));
	counters(lf, &c);
	assert_int_equal(c.lines, 4);
	assert_int_equal(c.events, 3);
	assert_int_equal(t.sum_lines, 4);
	logfollow_stop(lf);
}

static void
test_partial_line_waits(void **state)
{
	struct logfollow	*lf;

	(void)state;
	APPEND("q:B1\nq:B2 not fini");
	lf = follower(0);
	logfollow_poll_once(lf, 1);
	want_events("B1");
	assert_int_equal(t.last.offset, 5);	/* after "q:B1\n" only */
	APPEND("shed\n");
	logfollow_poll_once(lf, 1);
	want_events("B1 B2");
	assert_int_equal(t.last.offset, file_size(t.path));
	/* A partial line at stop is not consumed either. */
	APPEND("q:B3 half");
	logfollow_stop(lf);
	want_events("B1 B2");
	assert_int_equal(t.last.offset, file_size(t.path) - 9);
}

static void
test_rename_rotation(void **state)
{
	struct logfollow		*lf;
	struct logfollow_counters	 c;
	char				 old[160];
	struct stat			 st;

	(void)state;
	snprintf(old, sizeof(old), "%s.1", t.path);
	APPEND("q:R1\n");
	lf = follower(0);
	logfollow_poll_once(lf, 1);
	assert_int_equal(rename(t.path, old), 0);
	/* The writer still appends to the renamed file for a while. */
	append(old, "q:R2\n", 5);
	logfollow_poll_once(lf, 1);	/* the path is gone: old file read */
	want_events("R1 R2");
	append(old, "q:R3\n", 5);
	APPEND("q:N1\n");		/* the new file appears */
	logfollow_poll_once(lf, 1);	/* notices; reads the old to its end */
	logfollow_poll_once(lf, 1);	/* old quiet for one step: switch */
	APPEND("q:N2\n");
	logfollow_poll_once(lf, 1);
	want_events("R1 R2 R3 N1 N2");
	counters(lf, &c);
	assert_int_equal(c.rotations, 1);
	assert_int_equal(stat(t.path, &st), 0);
	assert_int_equal(t.last.ino, (uint64_t)st.st_ino);
	assert_int_equal(t.last.offset, 10);
	logfollow_stop(lf);
}

static void
test_copytruncate(void **state)
{
	struct logfollow		*lf;
	struct logfollow_counters	 c;

	(void)state;
	APPEND("q:C1 some text\nq:C2 more text\n");
	lf = follower(0);
	logfollow_poll_once(lf, 1);
	assert_int_equal(truncate(t.path, 0), 0);
	APPEND("q:C3\n");		/* shorter than the offset */
	logfollow_poll_once(lf, 1);
	want_events("C1 C2 C3");
	counters(lf, &c);
	assert_int_equal(c.truncations, 1);
	assert_int_equal(t.last.offset, 5);

	/* Truncated, then written past the old offset before the next look:
	 * the first line changed. */
	assert_int_equal(truncate(t.path, 0), 0);
	APPEND("q:C4 a longer first line than before\nq:C5\n");
	logfollow_poll_once(lf, 1);
	want_events("C1 C2 C3 C4 C5");
	counters(lf, &c);
	assert_int_equal(c.truncations, 2);
	logfollow_stop(lf);
}

static void
test_disappearing_file(void **state)
{
	struct logfollow	*lf;

	(void)state;
	lf = follower(1);
	/* Not there: retried, never fatal. */
	assert_int_equal(logfollow_poll_once(lf, 1), -1);
	assert_int_equal(logfollow_poll_once(lf, 1), -1);
	/* Appears after the start: read whole, despite start = end. */
	APPEND("q:D1\n");
	logfollow_poll_once(lf, 1);
	want_events("D1");
	/* Deleted: what it held is kept; then it comes back. */
	assert_int_equal(unlink(t.path), 0);
	logfollow_poll_once(lf, 1);
	APPEND("q:D2\n");
	logfollow_poll_once(lf, 1);
	logfollow_poll_once(lf, 1);
	logfollow_poll_once(lf, 1);
	want_events("D1 D2");
	logfollow_stop(lf);
}


/* Something at the path that cannot be read: an error, retried. */
static void
test_unreadable_path(void **state)
{
	struct logfollow		*lf;
	struct logfollow_counters	 c;

	(void)state;
	assert_int_equal(mkdir(t.path, 0755), 0);
	lf = follower(0);
	assert_int_equal(logfollow_poll_once(lf, 1), -1);
	counters(lf, &c);
	assert_int_equal(c.errors, 1);
	assert_int_equal(rmdir(t.path), 0);
	APPEND("q:U1\n");
	logfollow_poll_once(lf, 1);
	want_events("U1");
	logfollow_stop(lf);
}

static void
test_resume_from_stored_position(void **state)
{
	struct logfollow	*lf;
	char			 copy[160], cmd[800];

	(void)state;
	APPEND("q:P1\nq:P2\n");
	lf = follower(0);
	logfollow_poll_once(lf, 1);
	logfollow_stop(lf);
	want_events("P1 P2");

	/* Restart: nothing read again, new lines read. */
	APPEND("q:P3\n");
	lf = follower(1);
	logfollow_poll_once(lf, 1);
	want_events("P1 P2 P3");
	logfollow_stop(lf);

	/* The same content under a new inode (copied back): resumed. */
	snprintf(copy, sizeof(copy), "%s.copy", t.path);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && mv '%s' '%s'", t.path,
	    copy, copy, t.path);
	assert_int_equal(system(cmd), 0);
	APPEND("q:P4\n");
	lf = follower(0);
	logfollow_poll_once(lf, 1);
	want_events("P1 P2 P3 P4");
	logfollow_stop(lf);

	/* Another file in its place (rotated while stopped): from 0. */
	assert_int_equal(unlink(t.path), 0);
	APPEND("q:P5 a different first line\n");
	lf = follower(1);
	logfollow_poll_once(lf, 1);
	want_events("P1 P2 P3 P4 P5");
	logfollow_stop(lf);
}


/* Rotated while stopped: the rest of the old file, then the new one. */
static void
test_rotated_while_stopped(void **state)
{
	struct logfollow		*lf;
	struct logfollow_counters	 c;
	char				 old[160];

	(void)state;
	snprintf(old, sizeof(old), "%s-20261207", t.path);
	APPEND("q:W1\n");
	lf = follower(0);
	logfollow_poll_once(lf, 1);
	logfollow_stop(lf);
	/* While stopped: more lines, rotation, lines in the new file. */
	APPEND("q:W2\n");
	assert_int_equal(rename(t.path, old), 0);
	APPEND("q:W3 the new file\n");
	lf = follower(1);
	logfollow_poll_once(lf, 1);	/* the old file's rest */
	logfollow_poll_once(lf, 1);	/* quiet: switch, read the new one */
	want_events("W1 W2 W3");
	counters(lf, &c);
	assert_int_equal(c.rotations, 1);
	logfollow_stop(lf);

	/* Rotated and not created again yet. */
	append(old, "q:W4\n", 5);	/* (the stored file is the new one) */
	assert_int_equal(unlink(old), 0);
	assert_int_equal(rename(t.path, old), 0);
	append(old, "q:W5\n", 5);
	lf = follower(1);
	logfollow_poll_once(lf, 1);
	want_events("W1 W2 W3 W5");
	APPEND("q:W6\n");
	logfollow_poll_once(lf, 1);
	logfollow_poll_once(lf, 1);
	want_events("W1 W2 W3 W5 W6");
	logfollow_stop(lf);
}

static void
test_first_run_start(void **state)
{
	struct logfollow	*lf;

	(void)state;
	/* start = end, in the middle of a line being written. */
	APPEND("q:S1\nq:S2 half");
	lf = follower(1);
	logfollow_poll_once(lf, 1);
	want_events("");
	APPEND(" done\nq:S3\n");
	logfollow_poll_once(lf, 1);
	want_events("S3");
	logfollow_stop(lf);
	/* The position at the end was stored even with no event. */
	assert_int_equal(t.last.offset, file_size(t.path));
}

static void
test_overlong_lines(void **state)
{
	struct logfollow		*lf;
	struct logfollow_counters	 c;
	size_t				 n = MLOG_MAX_LINE + 100, i;
	char				*big;

	(void)state;
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'x', n);
	memcpy(big, "q:BIG ", 6);
	APPEND("q:L1\n");
	append(t.path, big, n);		/* in one piece ... */
	APPEND("\nq:L2\n");
	lf = follower(0);
	logfollow_poll_once(lf, 1);
	want_events("L1 L2");
	/* ... and in pieces across steps. */
	for (i = 0; i < n; i += 10000) {
		append(t.path, big + i, n - i < 10000 ? n - i : 10000);
		logfollow_poll_once(lf, 1);
	}
	APPEND("\nq:L3\n");
	logfollow_poll_once(lf, 1);
	/* Exactly MLOG_MAX_LINE is still a line. */
	memset(big, 'y', MLOG_MAX_LINE);
	memcpy(big, "q:MAX ", 6);
	append(t.path, big, MLOG_MAX_LINE);
	APPEND("\n");
	logfollow_poll_once(lf, 1);
	want_events("L1 L2 L3 MAX");
	counters(lf, &c);
	assert_int_equal(c.too_long, 2);
	assert_int_equal(t.sum_too_long, 2);
	assert_true(t.longest <= MLOG_MAX_LINE);
	assert_int_equal(t.last.offset, file_size(t.path));
	logfollow_stop(lf);
	free(big);
}

static void
test_garbage_bytes(void **state)
{
	static const char junk[] = "?\0\xff\xfe\x1b[2J\r\n\n\r\nq:G1\r\n"
	    "\xc3\x28 q:nope\n";
	struct logfollow		*lf;
	struct logfollow_counters	 c;

	(void)state;
	append(t.path, junk, sizeof(junk) - 1);
	lf = follower(0);
	logfollow_poll_once(lf, 1);
	want_events("G1\r");	/* the handler sees the bytes as they are */
	assert_int_equal(t.bytes_len, 9);
	assert_memory_equal(t.bytes, "?\0\xff\xfe\x1b[2J\r", 9);
	counters(lf, &c);
	assert_int_equal(c.lines, 5);
	assert_int_equal(c.unparsed, 1);
	logfollow_stop(lf);
}

static void
test_queue_full_retries(void **state)
{
	struct logfollow		*lf;
	struct logfollow_counters	 c;

	(void)state;
	APPEND("q:F1\nq:F2\n");
	lf = follower(0);
	t.refuse = 2;
	logfollow_poll_once(lf, 1);	/* refused */
	APPEND("q:F3\n");
	logfollow_poll_once(lf, 1);	/* refused again, read again */
	logfollow_poll_once(lf, 1);	/* accepted */
	want_events("F1 F2 F3");
	counters(lf, &c);
	assert_int_equal(c.refused, 2);
	assert_int_equal(c.lines, 3);
	assert_int_equal(t.sum_lines, 3);
	/* Refused at stop: retried until accepted. */
	APPEND("q:F4\n");
	t.refuse = 3;
	logfollow_stop(lf);
	want_events("F1 F2 F3 F4");
}


/* A batch bigger than the journal's queue bound: smaller ones, no loss. */
static void
test_batch_too_big_for_queue(void **state)
{
	struct logfollow		*lf;
	struct logfollow_counters	 c;
	char				 line[32];
	int				 i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		snprintf(line, sizeof(line), "q:Z%d\n", i);
		APPEND(line);
	}
	t.refuse_over = 100;
	lf = follower(0);
	for (i = 0; i < 50 && t.nev < 1000; i++)
		logfollow_poll_once(lf, 1);
	assert_int_equal(t.nev, 1000);
	assert_string_equal(t.ev[0], "Z0");
	assert_string_equal(t.ev[999], "Z999");
	counters(lf, &c);
	assert_true(c.refused >= 1);
	assert_int_equal(c.lines, 1000);
	logfollow_stop(lf);
}

static void
test_batches_by_count(void **state)
{
	struct logfollow_opts	 o;
	struct logfollow	*lf;
	char			 err[128], line[32];
	int			 i;

	(void)state;
	for (i = 0; i < 2500; i++) {
		snprintf(line, sizeof(line), "q:K%d\n", i);
		APPEND(line);
	}
	memset(&o, 0, sizeof(o));
	o.path = t.path;
	o.batch_ms = 1000000;
	o.batch_max = 1000;
	o.submit = fake_submit;
	o.handle_line = fake_line;
	lf = logfollow_new(&o, err, sizeof(err));
	assert_non_null(lf);
	logfollow_poll_once(lf, 0);
	assert_int_equal(t.nev, 2000);	/* two full batches, the rest waits */
	logfollow_poll_once(lf, 1);
	assert_int_equal(t.nev, 2500);
	assert_string_equal(t.ev[2499], "K2499");
	logfollow_stop(lf);
}

/* The thread: lines appended while it runs arrive within the intervals. */
static void
test_thread(void **state)
{
	struct logfollow_opts		 o;
	struct logfollow		*lf;
	struct logfollow_counters	 c;
	char				 err[128], line[32];
	int				 i;

	(void)state;
	APPEND("q:T0\n");
	memset(&o, 0, sizeof(o));
	o.path = t.path;
	o.poll_ms = 20;
	o.batch_ms = 50;
	o.batch_max = 100;
	o.submit = fake_submit;
	o.handle_line = fake_line;
	lf = logfollow_new(&o, err, sizeof(err));
	assert_non_null(lf);
	assert_int_equal(logfollow_start(lf, err, sizeof(err)), 0);
	for (i = 1; i <= 300; i++) {
		snprintf(line, sizeof(line), "q:T%d\n", i);
		APPEND(line);
		if (i % 50 == 0)
			usleep(30000);
	}
	for (i = 0; i < 100; i++) {
		logfollow_counters(lf, &c);
		if (c.events == 301)
			break;
		usleep(20000);
	}
	assert_int_equal(c.events, 301);
	assert_true(c.lag_us < 1000000);
	APPEND("q:T301\n");
	logfollow_stop(lf);	/* hands over the last line at once */
	assert_int_equal(t.nev, 302);
	assert_string_equal(t.ev[301], "T301");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_appended_lines),
		T(test_partial_line_waits),
		T(test_rename_rotation),
		T(test_copytruncate),
		T(test_disappearing_file),
		T(test_unreadable_path),
		T(test_resume_from_stored_position),
		T(test_rotated_while_stopped),
		T(test_first_run_start),
		T(test_overlong_lines),
		T(test_garbage_bytes),
		T(test_queue_full_retries),
		T(test_batch_too_big_for_queue),
		T(test_batches_by_count),
		T(test_thread),
#undef T
	};

	mt_log_open("test_logfollow", 1, LOG_MAIL);
	mt_log_set(LOG_WARNING, LOG_MAIL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
