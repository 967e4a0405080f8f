/*
 * journal_bench.c - how fast the journal writes message records to SQLite.
 *
 *	journal_bench MODE PATH RECORDS THREADS [RATE]
 *
 * MODE is one of:
 *	full	the journal with durability full: each submit waits for its
 *		commit (synchronous=FULL), THREADS submitters at once;
 *	normal	the journal with durability normal: submits return at once,
 *		the writer commits every 200 ms (synchronous=NORMAL);
 *	raw	the baseline without the journal: one thread, plain SQLite
 *		inserts into the same schema, one transaction (with fsync) per
 *		message.
 * Each message has its own connection and three recipients.  PATH must not
 * exist, unless RATE is given: then the submitters are paced to RATE
 * messages per second in all (live traffic rather than a flood), PATH may
 * be an existing journal (tests/bench/ingest-bench.sh measures the commit
 * latency beside a backfill that way), and the line also gives the
 * latency's maximum and the number of submits that were not committed.  One line of key=value results goes to standard output: elapsed
 * time, messages per second, store commits, submit latency percentiles
 * (full), and the file's size per message once closed (WAL checkpointed).
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mailtrail/clock.h"
#include "mailtrail/journal.h"
#include "mailtrail/record.h"
#include "mailtrail/schema.h"
#include "mailtrail/store.h"

#define CAP	4096

static int64_t base_us;
static double	 rate;		/* messages per second in all; 0: flood */

static void
put(struct mt_bytes *b, const char *s)
{
	if (mt_bytes_setstr(b, s, CAP) < 0) {
		fprintf(stderr, "journal_bench: out of memory\n");
		exit(1);
	}
}

/* A plausible message record: number n, 3 recipients, 1 added header. */
static struct mt_record *
make_record(unsigned n)
{
	struct mt_record *rec;
	struct mt_msg_rec *m;
	char		 buf[128];
	size_t		 i;

	if ((rec = record_new(MT_RECORD_MESSAGE)) == NULL)
		return NULL;
	m = &rec->msg;
	snprintf(rec->conn.conn_id, sizeof(rec->conn.conn_id), "C%025u", n);
	rec->conn.connect_us = base_us + (int64_t)n * 1000;
	snprintf(buf, sizeof(buf), "198.51.100.%u", n % 250 + 1);
	put(&rec->conn.client_addr, buf);
	rec->conn.client_port = 40000 + (int)(n % 20000);
	put(&rec->conn.client_name, "mail.sender.example");
	put(&rec->conn.client_ptr, "mail.sender.example");
	put(&rec->conn.client_resolve, "OK");
	put(&rec->conn.helo, "mail.sender.example");
	put(&rec->conn.tls_version, "TLSv1.3");
	put(&rec->conn.tls_cipher, "TLS_AES_256_GCM_SHA384");
	rec->conn.tls_bits = 256;
	put(&rec->conn.mta_host, "mx1.example.net");
	put(&rec->conn.mta_daemon, "smtpd");
	rec->conn.n_messages = 1;

	snprintf(m->track_id, sizeof(m->track_id), "M%025u", n);
	m->start_us = rec->conn.connect_us + 200;
	m->end_us = m->start_us + 3000;
	m->stage = MT_STAGE_EOM;
	m->outcome = MT_OUTCOME_ACCEPTED;
	snprintf(buf, sizeof(buf), "sender%u@sender.example", n % 1000);
	put(&m->mail_from, buf);
	put(&m->mail_args, "SIZE=4096 BODY=8BITMIME");
	snprintf(buf, sizeof(buf), "4Q%07X", n);
	put(&m->queue_id, buf);
	snprintf(buf, sizeof(buf), "<%u.%u@sender.example>", n, n * 7919u);
	put(&m->message_id, buf);
	put(&m->hdr_from, "\"A Sender\" <sender@sender.example>");
	put(&m->hdr_date, "Tue, 25 Nov 2025 14:32:36 +0000");
	snprintf(buf, sizeof(buf), "Quarterly report, part %u", n);
	put(&m->hdr_subject, buf);
	m->header_bytes = 1200;
	m->body_bytes = 2900;
	m->n_headers = 14;
	if ((m->rcpts = calloc(3, sizeof(*m->rcpts))) == NULL ||
	    (m->edits = calloc(1, sizeof(*m->edits))) == NULL) {
		record_free(rec);
		return NULL;
	}
	m->n_rcpts = 3;
	for (i = 0; i < 3; i++) {
		snprintf(buf, sizeof(buf), "user%zu.%u@example.net", i,
		    n % 5000);
		put(&m->rcpts[i].addr, buf);
		put(&m->rcpts[i].args, "NOTIFY=FAILURE");
		m->rcpts[i].time_us = m->start_us + 500 + (int64_t)i * 100;
	}
	m->n_edits = 1;
	m->edits[0].action = MT_EDIT_ADDED;
	put(&m->edits[0].name, "X-Mailtrail-ID");
	put(&m->edits[0].value, m->track_id);
	record_account(rec);
	return rec;
}

static struct mt_store *
open_cb(void *arg, char *err, size_t errlen)
{
	return store_sqlite_open(arg, err, errlen);
}

struct worker {
	struct journal	*j;
	unsigned	 n;
	int64_t		*lat_us;	/* per submit, durable only */
	unsigned	 not_ok;
	unsigned	 threads;
};

/*
 * Records are numbered across all submitters in the order they are made,
 * as tracking IDs are in the milter (they grow with time): numbering per
 * thread would scatter each batch over the indexes and measure that.
 */
static unsigned	 next_number;

static void *
work(void *arg)
{
	struct worker	*w = arg;
	struct mt_record *rec;
	int64_t		 t, start = mt_mono_us(), due;
	unsigned	 i;

	for (i = 0; i < w->n; i++) {
		if (rate > 0) {
			/* Each of the threads sends every threads/rate s. */
			due = start + (int64_t)((double)i * 1e6 * w->threads /
			    rate);
			while ((t = mt_mono_us()) < due) {
				struct timespec ts = { 0,
				    (long)((due - t) * 1000) };

				nanosleep(&ts, NULL);
			}
		}
		if ((rec = make_record(__atomic_fetch_add(&next_number, 1,
		    __ATOMIC_RELAXED))) == NULL) {
			w->not_ok++;
			continue;
		}
		t = mt_mono_us();
		if (journal_submit(w->j, rec) != JOURNAL_OK)
			w->not_ok++;
		if (w->lat_us != NULL)
			w->lat_us[i] = mt_mono_us() - t;
	}
	return NULL;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int64_t	 lat_max;
static unsigned	 not_committed;

static int
run_journal(const char *path, int durable, unsigned records,
    unsigned threads, double *secs, uint64_t *commits, int64_t *p50,
    int64_t *p99)
{
	struct mt_store_sqlite_opts so = {
		.path = path, .synchronous_full = durable, .mode = 0640,
		.busy_timeout_ms = 5000,
	};
	struct journal_opts o = {
		.open_store = open_cb, .open_arg = &so, .durable = durable,
		.commit_interval_ms = 200, .commit_timeout_ms = 30000,
		.max_records = 1000000, .max_bytes = (size_t)1 << 32,
	};
	struct journal_counters c;
	struct journal	*j;
	struct worker	*w;
	pthread_t	*t;
	int64_t		*lat = NULL, start;
	unsigned	 i, per = records / threads, bad = 0;
	char		 err[512];

	if ((j = journal_open(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "journal_bench: %s\n", err);
		return -1;
	}
	w = calloc(threads, sizeof(*w));
	t = calloc(threads, sizeof(*t));
	if (durable)
		lat = calloc((size_t)per * threads, sizeof(*lat));
	if (w == NULL || t == NULL || (durable && lat == NULL)) {
		fprintf(stderr, "journal_bench: out of memory\n");
		return -1;
	}
	start = mt_mono_us();
	for (i = 0; i < threads; i++) {
		w[i].j = j;
		w[i].n = per;
		w[i].lat_us = lat != NULL ? lat + (size_t)i * per : NULL;
		w[i].threads = threads;
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		bad += w[i].not_ok;
	}
	journal_flush(j);		/* normal: until all are committed */
	*secs = (double)(mt_mono_us() - start) / 1e6;
	journal_counters(j, &c);
	*commits = c.commits;
	journal_close(j);
	not_committed = bad;
	if (rate == 0 && (bad > 0 || c.committed != (uint64_t)per * threads)) {
		fprintf(stderr, "journal_bench: %u submits not ok, %" PRIu64
		    " committed of %u\n", bad, c.committed, per * threads);
		return -1;
	}
	*p50 = *p99 = 0;
	if (lat != NULL) {
		qsort(lat, (size_t)per * threads, sizeof(*lat), cmp64);
		*p50 = lat[(size_t)per * threads / 2];
		*p99 = lat[(size_t)per * threads * 99 / 100];
		lat_max = lat[(size_t)per * threads - 1];
	}
	free(lat);
	free(w);
	free(t);
	return 0;
}

/* The baseline: the same rows, straight into SQLite, one commit each. */
static int
run_raw(const char *path, unsigned records, double *secs, uint64_t *commits)
{
	static const char *const sql[] = {
		"INSERT INTO connections (conn_uid, connect_time, client_addr,"
		" client_port, client_name, client_ptr, client_resolve, helo,"
		" tls_version, tls_cipher, tls_bits, mta_host, mta_daemon,"
		" messages) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
		" ?11, ?12, ?13, ?14)",
		"INSERT INTO messages (track_id, conn_id, start_time, end_time,"
		" stage, outcome, mail_from, mail_args, queue_id, message_id,"
		" hdr_from, hdr_date, subject, header_bytes, body_bytes, size,"
		" n_headers, rcpt_accepted, rcpt_rejected, rcpt_dropped,"
		" edits_dropped, truncations) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
		" ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, 0, 0,"
		" 0, 0)",
		"INSERT INTO recipients (message, seq, time, address, args,"
		" status) VALUES (?1, ?2, ?3, ?4, ?5, 'accepted')",
		"INSERT INTO header_edits (message, action, name, value, idx)"
		" VALUES (?1, 'added', ?2, ?3, 0)",
	};
	sqlite3_stmt	*st[4];
	sqlite3		*db;
	struct mt_record *rec;
	struct mt_msg_rec *m;
	struct mt_conn_rec *cn;
	int64_t		 start, conn_id, msg_id;
	unsigned	 n, i;
	char		 err[512];

#define T(s, i, b) sqlite3_bind_text((s), (i), (b).data, (int)(b).len, \
	SQLITE_TRANSIENT)
#define STEP(s) do {							\
	if (sqlite3_step(s) != SQLITE_DONE) {				\
		fprintf(stderr, "journal_bench: raw: %s\n",		\
		    sqlite3_errmsg(db));				\
		return -1;						\
	}								\
	sqlite3_reset(s);						\
	sqlite3_clear_bindings(s);					\
} while (0)

	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    schema_migrate(db, err, sizeof(err)) < 0 ||
	    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	    " PRAGMA foreign_keys=ON", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "journal_bench: raw: cannot set up %s\n", path);
		return -1;
	}
	for (i = 0; i < 4; i++)
		if (sqlite3_prepare_v2(db, sql[i], -1, &st[i], NULL) !=
		    SQLITE_OK) {
			fprintf(stderr, "journal_bench: raw: %s\n",
			    sqlite3_errmsg(db));
			return -1;
		}
	start = mt_mono_us();
	for (n = 0; n < records; n++) {
		if ((rec = make_record(n)) == NULL)
			return -1;
		m = &rec->msg;
		cn = &rec->conn;
		sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		sqlite3_bind_text(st[0], 1, cn->conn_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st[0], 2, cn->connect_us);
		T(st[0], 3, cn->client_addr);
		sqlite3_bind_int(st[0], 4, cn->client_port);
		T(st[0], 5, cn->client_name);
		T(st[0], 6, cn->client_ptr);
		T(st[0], 7, cn->client_resolve);
		T(st[0], 8, cn->helo);
		T(st[0], 9, cn->tls_version);
		T(st[0], 10, cn->tls_cipher);
		sqlite3_bind_int(st[0], 11, cn->tls_bits);
		T(st[0], 12, cn->mta_host);
		T(st[0], 13, cn->mta_daemon);
		sqlite3_bind_int(st[0], 14, (int)cn->n_messages);
		STEP(st[0]);
		conn_id = sqlite3_last_insert_rowid(db);
		sqlite3_bind_text(st[1], 1, m->track_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st[1], 2, conn_id);
		sqlite3_bind_int64(st[1], 3, m->start_us);
		sqlite3_bind_int64(st[1], 4, m->end_us);
		sqlite3_bind_text(st[1], 5, "eom", -1, SQLITE_STATIC);
		sqlite3_bind_text(st[1], 6, "accepted", -1, SQLITE_STATIC);
		T(st[1], 7, m->mail_from);
		T(st[1], 8, m->mail_args);
		T(st[1], 9, m->queue_id);
		T(st[1], 10, m->message_id);
		T(st[1], 11, m->hdr_from);
		T(st[1], 12, m->hdr_date);
		T(st[1], 13, m->hdr_subject);
		sqlite3_bind_int64(st[1], 14, (int64_t)m->header_bytes);
		sqlite3_bind_int64(st[1], 15, (int64_t)m->body_bytes);
		sqlite3_bind_int64(st[1], 16,
		    (int64_t)(m->header_bytes + m->body_bytes));
		sqlite3_bind_int(st[1], 17, (int)m->n_headers);
		sqlite3_bind_int(st[1], 18, (int)m->n_rcpts);
		STEP(st[1]);
		msg_id = sqlite3_last_insert_rowid(db);
		for (i = 0; i < m->n_rcpts; i++) {
			sqlite3_bind_int64(st[2], 1, msg_id);
			sqlite3_bind_int(st[2], 2, (int)i + 1);
			sqlite3_bind_int64(st[2], 3, m->rcpts[i].time_us);
			T(st[2], 4, m->rcpts[i].addr);
			T(st[2], 5, m->rcpts[i].args);
			STEP(st[2]);
		}
		sqlite3_bind_int64(st[3], 1, msg_id);
		T(st[3], 2, m->edits[0].name);
		T(st[3], 3, m->edits[0].value);
		STEP(st[3]);
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			fprintf(stderr, "journal_bench: raw: commit: %s\n",
			    sqlite3_errmsg(db));
			return -1;
		}
		record_free(rec);
	}
	*secs = (double)(mt_mono_us() - start) / 1e6;
	*commits = records;
	for (i = 0; i < 4; i++)
		sqlite3_finalize(st[i]);
	sqlite3_close(db);
	return 0;
#undef T
#undef STEP
}

int
main(int argc, char *argv[])
{
	struct stat	 sb;
	const char	*mode, *path;
	unsigned	 records, threads;
	uint64_t	 commits = 0;
	int64_t		 p50 = 0, p99 = 0;
	double		 secs = 0;
	int		 rc;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: journal_bench full|normal|raw PATH"
		    " RECORDS THREADS [RATE]\n");
		return 2;
	}
	if (argc == 6)
		rate = strtod(argv[5], NULL);
	mode = argv[1];
	path = argv[2];
	records = (unsigned)strtoul(argv[3], NULL, 10);
	threads = (unsigned)strtoul(argv[4], NULL, 10);
	if (records == 0 || threads == 0 || threads > 1024) {
		fprintf(stderr, "journal_bench: bad RECORDS or THREADS\n");
		return 2;
	}
	records -= records % threads;
	base_us = mt_now_us();
	if (strcmp(mode, "full") == 0)
		rc = run_journal(path, 1, records, threads, &secs, &commits,
		    &p50, &p99);
	else if (strcmp(mode, "normal") == 0)
		rc = run_journal(path, 0, records, threads, &secs, &commits,
		    &p50, &p99);
	else if (strcmp(mode, "raw") == 0 && threads == 1)
		rc = run_raw(path, records, &secs, &commits);
	else {
		fprintf(stderr, "journal_bench: unknown mode %s (raw takes"
		    " 1 thread)\n", mode);
		return 2;
	}
	if (rc < 0)
		return 1;
	if (stat(path, &sb) < 0) {
		perror(path);
		return 1;
	}
	if (rate > 0) {
		printf("mode=%s threads=%u records=%u rate=%.0f seconds=%.3f"
		    " commits=%" PRIu64 " p50_us=%" PRId64 " p99_us=%" PRId64
		    " max_us=%" PRId64 " not_committed=%u\n", mode, threads,
		    records, rate, secs, commits, p50, p99, lat_max,
		    not_committed);
		return 0;
	}
	printf("mode=%s threads=%u records=%u seconds=%.3f msg_per_s=%.0f"
	    " commits=%" PRIu64 " p50_us=%" PRId64 " p99_us=%" PRId64
	    " bytes_per_msg=%.0f\n", mode, threads, records, secs,
	    records / secs, commits, p50, p99,
	    (double)sb.st_size / records);
	return 0;
}
