/*
 * test_txn.c - the connection/transaction model, driven like libmilter would.
 *
 * A test store (inside this test only) stands behind a real journal and
 * keeps a summary of every record written, so each case checks what the
 * journal would hold.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <malloc.h>

#include "mailtrail/auth.h"
#include "mailtrail/authres.h"
#include "mailtrail/config.h"
#include "mailtrail/delivery.h"
#include "mailtrail/dkimv.h"
#include "mailtrail/journal.h"
#include "mailtrail/resolver.h"
#include "mailtrail/txn.h"

#define MAXSEEN	16
#define MAXR	8

struct seen {
	enum mt_record_kind kind;
	char		 track_id[MT_TRACKID_SIZE], conn_id[MT_TRACKID_SIZE];
	enum mt_outcome	 outcome;
	enum mt_stage	 stage;
	char		 mail_from[64], mail_args[64], qid[32], mid[64];
	char		 parent[64], client[64], helo[64], error[128];
	char		 dkim[16], authres[512];
	char		 dkim_reason[128];
	size_t		 n_dkim;
	int		 dmarc;		/* enum mt_dmarc_result, -1 none */
	unsigned	 dmarc_reasons, dmarc_sample;
	enum mt_dmarc_policy dmarc_disposition;
	enum mt_auth_action action;
	char		 tls_version[32], auth_authen[32];
	size_t		 subject_len, n_rcpts, rcpt_dropped, n_edits;
	unsigned	 truncations, n_messages;
	uint64_t	 body_bytes;
	char		 raddr[MAXR][64], rstatus[MAXR][16], rtext[MAXR][128];
	int		 rrejected[MAXR], rcode[MAXR];
	int		 eaction[MAXR], eindex[MAXR];
	char		 evalue[MAXR][64];
	unsigned char	 subject[16];
	int		 trusted, tls_bits;
	int64_t		 close_us;
	/* MT_RECORD_BOUNCE */
	char		 bounce_track_id[64];
	int		 bounce_source, bounce_kind;
	size_t		 bounce_rcpts;
};

static struct {
	pthread_mutex_t	 lock;
	struct seen	 seen[MAXSEEN];
	int		 n;
	int		 fail;		/* commit fails while set */
} ts = { PTHREAD_MUTEX_INITIALIZER, { { 0 } }, 0, 0 };

static void
cp(char *dst, size_t size, const struct mt_bytes *b)
{
	size_t	 n = b->len < size - 1 ? b->len : size - 1;

	if (b->data != NULL)
		memcpy(dst, b->data, n);
	else
		n = 0;
	dst[n] = '\0';
}

#define CP(dst, b)	cp((dst), sizeof(dst), (b))

/* What the test bounce parser was given (see fake_bounce_parse). */
static struct {
	char		*bytes;
	size_t		 len;
	int		 calls;
	size_t		 max_bytes;
} bp;


static int
ts_begin(struct mt_store *st, char *err, size_t errlen)
{
	return 0;
}

static int
ts_write(struct mt_store *st, const struct mt_record *rec, char *err,
    size_t errlen)
{
	struct seen		*s;
	const struct mt_msg_rec	*m = &rec->msg;
	size_t			 i;

	pthread_mutex_lock(&ts.lock);
	if (ts.n == MAXSEEN) {
		pthread_mutex_unlock(&ts.lock);
		return 0;
	}
	s = &ts.seen[ts.n++];
	memset(s, 0, sizeof(*s));
	s->kind = rec->kind;
	memcpy(s->conn_id, rec->conn.conn_id, sizeof(s->conn_id));
	CP(s->client, &rec->conn.client_addr);
	CP(s->helo, &rec->conn.helo);
	CP(s->tls_version, &rec->conn.tls_version);
	CP(s->auth_authen, &rec->conn.auth_authen);
	s->tls_bits = rec->conn.tls_bits;
	s->trusted = rec->conn.trusted;
	s->n_messages = rec->conn.n_messages;
	s->close_us = rec->conn.close_us;
	if (rec->kind == MT_RECORD_BOUNCE) {
		CP(s->bounce_track_id, &rec->bounce->bounce_track_id);
		s->bounce_source = rec->bounce->source;
		s->bounce_kind = rec->bounce->kind;
		s->bounce_rcpts = rec->bounce->n_rcpts;
	}
	if (rec->kind == MT_RECORD_MESSAGE) {
		memcpy(s->track_id, m->track_id, sizeof(s->track_id));
		s->outcome = m->outcome;
		s->stage = m->stage;
		CP(s->mail_from, &m->mail_from);
		CP(s->mail_args, &m->mail_args);
		CP(s->qid, &m->queue_id);
		CP(s->mid, &m->message_id);
		CP(s->parent, &m->parent_id);
		CP(s->error, &m->error);
		CP(s->authres, &m->authres);
		snprintf(s->dkim, sizeof(s->dkim), "%s",
		    record_dkim_summary(m) != NULL ? record_dkim_summary(m) :
		    "");
		s->n_dkim = m->auth.n_dkim;
		s->dmarc = m->auth.dmarc != NULL ?
		    (int)m->auth.dmarc->result : -1;
		if (m->auth.dmarc != NULL) {
			s->dmarc_reasons = m->auth.dmarc->reasons;
			s->dmarc_disposition = m->auth.dmarc->disposition;
		}
		s->dmarc_sample = m->auth.dmarc_sample;
		s->action = m->auth.action;
		if (m->auth.n_dkim > 0)
			snprintf(s->dkim_reason, sizeof(s->dkim_reason), "%s",
			    m->auth.dkim[0].reason);
		s->subject_len = m->hdr_subject.len;
		if (m->hdr_subject.data != NULL)
			memcpy(s->subject, m->hdr_subject.data,
			    m->hdr_subject.len < 16 ? m->hdr_subject.len : 16);
		s->n_rcpts = m->n_rcpts;
		s->rcpt_dropped = m->n_rcpts_dropped;
		s->truncations = m->truncations;
		s->body_bytes = m->body_bytes;
		for (i = 0; i < m->n_rcpts && i < MAXR; i++) {
			CP(s->raddr[i], &m->rcpts[i].addr);
			CP(s->rstatus[i], &m->rcpts[i].status);
			CP(s->rtext[i], &m->rcpts[i].text);
			s->rrejected[i] = m->rcpts[i].rejected;
			s->rcode[i] = m->rcpts[i].reply_code;
		}
		s->n_edits = m->n_edits;
		for (i = 0; i < m->n_edits && i < MAXR; i++) {
			s->eaction[i] = m->edits[i].action;
			s->eindex[i] = m->edits[i].index;
			CP(s->evalue[i], &m->edits[i].value);
		}
	}
	pthread_mutex_unlock(&ts.lock);
	return 0;
}

static int
ts_commit(struct mt_store *st, char *err, size_t errlen)
{
	int	 fail;

	pthread_mutex_lock(&ts.lock);
	fail = ts.fail;
	pthread_mutex_unlock(&ts.lock);
	if (fail) {
		snprintf(err, errlen, "test store told to fail");
		return -1;
	}
	return 0;
}

static void
ts_rollback(struct mt_store *st)
{
	/* Drop what the failed batch wrote. */
}

static void
ts_close(struct mt_store *st)
{
	free(st);
}

static const struct mt_store_ops ts_ops = {
	"test", ts_begin, ts_write, ts_commit, ts_rollback, ts_close
};

static struct mt_store *
ts_open(void *arg, char *err, size_t errlen)
{
	struct mt_store	*st = calloc(1, sizeof(*st));

	if (st != NULL)
		st->ops = &ts_ops;
	return st;
}

/* ------------------------------------------------------------ fixture */

struct fixture {
	struct mt_config	*cfg;
	struct journal		*j;
};

/* Macros as a NULL-terminated name/value list. */
struct macro_set {
	const char	*kv[32];
};

static const char *
get_macro(void *arg, const char *name)
{
	const struct macro_set	*ms = arg;
	size_t			 i;

	for (i = 0; ms->kv[i] != NULL; i += 2)
		if (strcmp(ms->kv[i], name) == 0)
			return ms->kv[i + 1];
	return NULL;
}

static struct fixture *current;

static int
setup(void **state)
{
	struct fixture		*f = calloc(1, sizeof(*f));
	struct journal_opts	 o;
	char			 err[256];

	memset(&ts.seen, 0, sizeof(ts.seen));
	ts.n = 0;
	ts.fail = 0;
	free(bp.bytes);
	memset(&bp, 0, sizeof(bp));
	f->cfg = config_defaults();
	assert_non_null(f->cfg);
	assert_int_equal(config_set(f->cfg, "trusted_networks",
	    "10.0.0.0/8", err, sizeof(err)), 0);
	assert_int_equal(config_set(f->cfg, "limits.max_recipients", "100",
	    err, sizeof(err)), 0);
	assert_int_equal(config_set(f->cfg, "limits.max_value_length", "1000",
	    err, sizeof(err)), 0);
	memset(&o, 0, sizeof(o));
	o.open_store = ts_open;
	o.durable = 1;
	o.commit_interval_ms = 10;
	o.commit_timeout_ms = 2000;
	o.max_records = 1000;
	o.max_bytes = 1 << 24;
	o.max_batch = 64;
	f->j = journal_open(&o, err, sizeof(err));
	assert_non_null(f->j);
	current = f;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	journal_close(f->j);
	config_unref(f->cfg);
	free(f);
	free(bp.bytes);
	memset(&bp, 0, sizeof(bp));
	return 0;
}

static struct sockaddr_in
v4(const char *ip, int port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &sin.sin_addr);
	return sin;
}

/*
 * The bounce parser, for these tests: it keeps the bytes it was given and
 * answers a failure report with one recipient, or "not a report" when the
 * text NOT-A-REPORT is in them.
 */
static struct mt_bounce_rec *
fake_bounce_parse(const char *msg, size_t len, const struct dsn_limits *lim)
{
	struct mt_bounce_rec	*b;
	struct mt_bounce_rcpt	*r;

	free(bp.bytes);
	bp.bytes = malloc(len + 1);
	assert_non_null(bp.bytes);
	memcpy(bp.bytes, msg, len);
	bp.bytes[len] = '\0';
	bp.len = len;
	bp.calls++;
	bp.max_bytes = lim->max_bytes;
	assert_string_equal(lim->tracking_header, "X-Mailtrail-ID");
	if ((b = bounce_rec_new(MT_SOURCE_COMMAND)) == NULL)
		return NULL;
	if (strstr(bp.bytes, "NOT-A-REPORT") != NULL)
		return b;	/* kind MT_BOUNCE_NONE */
	b->kind = MT_BOUNCE_FAILURE;
	b->format = "rfc3464";
	r = bounce_rec_add_rcpt(b);
	assert_non_null(r);
	(void)mt_bytes_setstr(&r->recipient, "gone@example.net", 100);
	return b;
}

/* Start a connection from ip, HELO, MAIL FROM from. */
static struct mt_conn *
start_from(struct fixture *f, const char *ip, struct macro_set *ms,
    char **from)
{
	struct sockaddr_in	 sin = v4(ip, 40000);
	struct mt_macros	 m = { get_macro, ms };
	struct mt_conn		*c;
	struct mt_ctx		 ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.journal = f->j;
	ctx.bounce_parse = fake_bounce_parse;
	c = conn_new(f->cfg, &ctx);
	assert_non_null(c);
	conn_connect(c, "client.example.org", (struct sockaddr *)&sin, &m);
	conn_helo(c, "client.example.org", &m);
	conn_mail(c, from, &m);
	return c;
}

/* Start a connection from ip, HELO, MAIL FROM. */
static struct mt_conn *
start(struct fixture *f, const char *ip, struct macro_set *ms)
{
	char	*from[] = { "<alice@example.org>", "SIZE=100",
		    "BODY=8BITMIME", NULL };

	return start_from(f, ip, ms, from);
}

static enum mt_reply
finish(struct mt_conn *c, struct macro_set *ms, struct mt_eom_plan *plan)
{
	struct mt_macros	 m = { get_macro, ms };
	struct mt_eom_plan	 p;

	if (plan == NULL)
		plan = &p;
	if (conn_eom_plan(c, &m, plan) != 0)
		return conn_eom_finish(c, NULL);
	return conn_eom_finish(c, plan);
}

static const struct seen *
find_msg(int nth)
{
	int	 i, k = 0;

	journal_flush(current->j);	/* aborts and closes are not waited for */
	for (i = 0; i < ts.n; i++)
		if (ts.seen[i].kind == MT_RECORD_MESSAGE && k++ == nth)
			return &ts.seen[i];
	fail_msg("message record %d not written (%d records)", nth, ts.n);
	return NULL;
}

static const struct seen *
find_conn(void)
{
	int	 i;

	journal_flush(current->j);
	for (i = 0; i < ts.n; i++)
		if (ts.seen[i].kind == MT_RECORD_CONNECTION)
			return &ts.seen[i];
	fail_msg("connection record not written");
	return NULL;
}

/* ------------------------------------------------------------ cases */

static void
test_two_messages_one_connection(void **state)
{
	struct fixture		*f = *state;
	struct macro_set	 ms = { { "{tls_version}", "TLSv1.3",
				    "{cipher}", "TLS_AES_256_GCM_SHA384",
				    "{cipher_bits}", "256", "{auth_authen}",
				    "bob", "i", "4ABC123", NULL } };
	struct mt_macros	 m = { get_macro, &ms };
	char			*rcpt[] = { "<carol@example.net>", NULL };
	char			*from2[] = { "<>", NULL };
	struct mt_eom_plan	 plan;
	struct mt_conn		*c;
	const struct seen	*a, *b, *cn;

	c = start(f, "192.0.2.7", &ms);
	conn_rcpt(c, rcpt, &m);
	conn_data(c, &m);
	conn_header(c, "Message-ID", " <one@example.org> ");
	conn_header(c, "Subject", "first");
	conn_eoh(c, &m);
	conn_body(c, (const unsigned char *)"hello\r\n", 7);
	assert_int_equal(finish(c, &ms, &plan), MT_REPLY_CONTINUE);
	assert_int_equal(plan.insert, 1);
	assert_int_equal(plan.remove_count, 0);
	assert_string_equal(plan.header_name, "X-Mailtrail-ID");

	conn_mail(c, from2, &m);
	conn_rcpt(c, rcpt, &m);
	conn_data(c, &m);
	assert_int_equal(finish(c, &ms, NULL), MT_REPLY_CONTINUE);
	conn_close(c);

	a = find_msg(0);
	b = find_msg(1);
	cn = find_conn();
	assert_string_equal(a->track_id, plan.insert_value);
	if (strcmp(a->track_id, b->track_id) >= 0)
		fail_msg("IDs not increasing: %s then %s", a->track_id,
		    b->track_id);
	assert_string_equal(a->conn_id, b->conn_id);
	assert_string_equal(a->conn_id, cn->conn_id);
	assert_string_equal(a->mail_from, "alice@example.org");
	assert_string_equal(a->mail_args, "SIZE=100 BODY=8BITMIME");
	assert_string_equal(b->mail_from, "");
	assert_string_equal(a->mid, "<one@example.org>");
	assert_string_equal(a->qid, "4ABC123");
	assert_string_equal(a->client, "192.0.2.7");
	assert_string_equal(a->helo, "client.example.org");
	assert_string_equal(a->tls_version, "TLSv1.3");
	assert_int_equal(a->tls_bits, 256);
	assert_string_equal(a->auth_authen, "bob");
	assert_int_equal(a->outcome, MT_OUTCOME_ACCEPTED);
	assert_int_equal(a->stage, MT_STAGE_EOM);
	assert_int_equal(a->body_bytes, 7);
	assert_int_equal(a->n_rcpts, 1);
	assert_string_equal(a->raddr[0], "carol@example.net");
	assert_int_equal(a->rrejected[0], 0);
	assert_int_equal(cn->n_messages, 2);
	assert_true(cn->close_us > 0);
	/* Our own header is the record's track_id, not an edit. */
	assert_int_equal(a->n_edits, 0);
}

static void
test_abort_records_stage(void **state)
{
	struct fixture		*f = *state;
	struct macro_set	 ms = { { NULL } };
	struct mt_macros	 m = { get_macro, &ms };
	char			*rcpt[] = { "<x@example.net>", "NOTIFY=NEVER",
				    NULL };
	struct mt_conn		*c;
	const struct seen	*a, *b;

	c = start(f, "192.0.2.8", &ms);
	conn_rcpt(c, rcpt, &m);
	conn_abort(c);			/* RSET after RCPT */
	conn_mail(c, rcpt, &m);
	conn_rcpt(c, rcpt, &m);
	conn_data(c, &m);
	conn_header(c, "Subject", "cut");
	conn_close(c);			/* dropped mid-DATA */
	a = find_msg(0);
	b = find_msg(1);
	assert_int_equal(a->outcome, MT_OUTCOME_ABORTED);
	assert_int_equal(a->stage, MT_STAGE_RCPT);
	assert_int_equal(b->outcome, MT_OUTCOME_DISCONNECTED);
	assert_int_equal(b->stage, MT_STAGE_HEADER);
}

static void
test_rejected_recipients(void **state)
{
	struct fixture		*f = *state;
	struct macro_set	 pf = { { "{rcpt_mailer}", "error",
				    "{rcpt_host}", "5.7.1", "{rcpt_addr}",
				    "Recipient address rejected: go away",
				    NULL } };
	struct macro_set	 sm = { { "{rcpt_mailer}", "error",
				    "{rcpt_host}", "5.1.1", "{rcpt_addr}",
				    "550 5.1.1 User unknown", NULL } };
	struct macro_set	 ok = { { "{rcpt_mailer}", "smtp",
				    "{rcpt_host}", "mx.example.net",
				    "{rcpt_addr}", "good@example.net", NULL } };
	struct mt_macros	 mpf = { get_macro, &pf }, msm = { get_macro, &sm };
	struct mt_macros	 mok = { get_macro, &ok };
	char			*r1[] = { "<bad@example.net>", NULL };
	char			*r2[] = { "<nobody@example.net>", NULL };
	char			*r3[] = { "<good@example.net>", NULL };
	struct mt_conn		*c;
	const struct seen	*a;

	c = start(f, "192.0.2.9", &ok);
	conn_rcpt(c, r1, &mpf);
	conn_rcpt(c, r2, &msm);
	conn_rcpt(c, r3, &mok);
	conn_data(c, &mok);
	/* At EOM the macros are the last recipient's: must not matter. */
	assert_int_equal(finish(c, &pf, NULL), MT_REPLY_CONTINUE);
	conn_close(c);
	a = find_msg(0);
	assert_int_equal(a->n_rcpts, 3);
	assert_int_equal(a->rrejected[0], 1);
	assert_int_equal(a->rcode[0], 0);
	assert_string_equal(a->rstatus[0], "5.7.1");
	assert_string_equal(a->rtext[0], "Recipient address rejected: go away");
	assert_int_equal(a->rrejected[1], 1);
	assert_int_equal(a->rcode[1], 550);
	assert_string_equal(a->rstatus[1], "5.1.1");
	assert_string_equal(a->rtext[1], "User unknown");
	assert_int_equal(a->rrejected[2], 0);
	assert_string_equal(a->rstatus[2], "");
}

static void
test_forged_tracking_headers_untrusted(void **state)
{
	struct fixture		*f = *state;
	struct macro_set	 ms = { { NULL } };
	struct mt_macros	 m = { get_macro, &ms };
	struct mt_eom_plan	 plan;
	struct mt_conn		*c;
	const struct seen	*a;

	c = start(f, "192.0.2.10", &ms);
	conn_data(c, &m);
	conn_header(c, "X-Mailtrail-ID", "forged-1");
	conn_header(c, "X-A", "a");
	conn_header(c, "x-mailtrail-id", "forged-2");
	conn_header(c, "X-B", "b");
	conn_header(c, "X-MAILTRAIL-ID", "01JDZ3Q6X5K8N2T4V7W9Y0ABCD");
	assert_int_equal(finish(c, &ms, &plan), MT_REPLY_CONTINUE);
	conn_close(c);
	assert_int_equal(plan.remove_count, 3);
	assert_int_equal(plan.insert, 1);
	a = find_msg(0);
	assert_string_equal(a->parent, "");	/* never from a stranger */
	assert_int_equal(a->n_edits, 3);
	assert_int_equal(a->eaction[0], MT_EDIT_REMOVED);
	assert_string_equal(a->evalue[0], "forged-1");
	assert_int_equal(a->eindex[0], 1);
	assert_string_equal(a->evalue[1], "forged-2");
	assert_int_equal(a->eindex[2], 3);
}

static void
test_tracking_header_trusted_is_parent(void **state)
{
	struct fixture		*f = *state;
	struct macro_set	 ms = { { NULL } };
	struct mt_eom_plan	 plan;
	struct mt_conn		*c;
	const struct seen	*a;

	c = start(f, "10.1.2.3", &ms);
	conn_header(c, "X-Mailtrail-ID", " 01JDZ3Q6X5K8N2T4V7W9Y0ABCD");
	conn_header(c, "X-Mailtrail-ID", "01JDZ3Q6X5K8N2T4V7W9Y0ZZZZ");
	assert_int_equal(finish(c, &ms, &plan), MT_REPLY_CONTINUE);
	conn_close(c);
	assert_int_equal(plan.remove_count, 0);
	a = find_msg(0);
	assert_int_equal(a->trusted, 1);
	assert_string_equal(a->parent, "01JDZ3Q6X5K8N2T4V7W9Y0ABCD");
	assert_int_equal(a->eaction[0], MT_EDIT_KEPT);
	assert_int_equal(a->eaction[1], MT_EDIT_KEPT);
}

static void
test_hostile_sizes_are_capped(void **state)
{
	struct fixture		*f = *state;
	struct macro_set	 ms = { { NULL } };
	struct mt_macros	 m = { get_macro, &ms };
	char			*big, addr[64];
	char			*rcpt[] = { addr, NULL };
	struct mt_conn		*c;
	const struct seen	*a;
	int			 i;

	big = malloc(1 << 20);
	assert_non_null(big);
	memset(big, 'A', (1 << 20) - 1);
	big[(1 << 20) - 1] = '\0';
	big[0] = '\x1b';		/* and a terminal escape */
	c = start(f, "192.0.2.11", &ms);
	for (i = 0; i < 5000; i++) {
		snprintf(addr, sizeof(addr), "<r%d@example.net>", i);
		conn_rcpt(c, rcpt, &m);
	}
	conn_header(c, "Subject", big);
	conn_header(c, "X-Huge", big);
	assert_int_equal(finish(c, &ms, NULL), MT_REPLY_CONTINUE);
	conn_close(c);
	free(big);
	a = find_msg(0);
	assert_int_equal(a->n_rcpts, 100);
	assert_int_equal(a->rcpt_dropped, 4900);
	assert_int_equal(a->subject_len, 1000);
	assert_int_equal(a->subject[0], 0x1b);
	assert_int_equal(a->truncations, 1);
}

static void
test_eight_bit_kept_exactly(void **state)
{
	struct fixture		*f = *state;
	struct macro_set	 ms = { { NULL } };
	struct mt_conn		*c;
	const struct seen	*a;

	c = start(f, "192.0.2.12", &ms);
	conn_header(c, "Subject", "caf\xc3\xa9 \xff\r\n\tfolded");
	assert_int_equal(finish(c, &ms, NULL), MT_REPLY_CONTINUE);
	conn_close(c);
	a = find_msg(0);
	assert_int_equal(a->subject_len, 16);
	assert_memory_equal(a->subject, "caf\xc3\xa9 \xff\r\n\tfolded", 16);
}

static void
test_journal_failure_on_error(void **state)
{
	struct fixture		*f = *state;
	struct macro_set	 ms = { { NULL } };
	struct mt_conn		*c;
	struct mt_eom_plan	 plan;
	char			 err[128];

	ts.fail = 1;
	c = start(f, "192.0.2.13", &ms);
	conn_header(c, "X-Mailtrail-ID", "forged");
	assert_int_equal(finish(c, &ms, &plan), MT_REPLY_CONTINUE);
	/* No tracking ID without its record; forged headers still go. */
	assert_int_equal(plan.insert, 0);
	assert_int_equal(plan.remove_count, 1);
	conn_close(c);

	/* The same failure with on_error = tempfail. */
	assert_int_equal(config_set(f->cfg, "on_error", "tempfail", err,
	    sizeof(err)), 0);
	c = start(f, "192.0.2.13", &ms);
	assert_int_equal(finish(c, &ms, NULL), MT_REPLY_TEMPFAIL);
	conn_close(c);
	ts.fail = 0;

	/* Healthy again: mail flows, is recorded and tagged. */
	c = start(f, "192.0.2.13", &ms);
	assert_int_equal(finish(c, &ms, &plan), MT_REPLY_CONTINUE);
	assert_int_equal(plan.insert, 1);
	conn_close(c);
	journal_flush(f->j);
	assert_true(ts.n >= 1);
	assert_int_equal(find_msg(0)->outcome, MT_OUTCOME_ACCEPTED);
}

/* Authentication-Results claiming our authserv-id from a stranger go. */
static void
test_forged_authres(void **state)
{
	struct fixture		*f = *state;
	struct macro_set	 ms = { { NULL } };
	struct mt_eom_plan	 plan;
	struct mt_conn		*c;
	const struct seen	*a;
	char			 err[128];

	assert_int_equal(config_set(f->cfg, "authres.authserv_id",
	    "mx.example.com", err, sizeof(err)), 0);
	c = start(f, "192.0.2.30", &ms);
	conn_header(c, "Authentication-Results", "other.example; dkim=pass");
	conn_header(c, "Authentication-Results",
	    "mx.example.com; dkim=pass header.d=bank.example");
	conn_header(c, "X-A", "a");
	conn_header(c, "authentication-results", " (c) MX.EXAMPLE.COM; spf=pass");
	conn_header(c, "Authentication-Results", "mx.example.com.evil; none");
	assert_int_equal(finish(c, &ms, &plan), MT_REPLY_CONTINUE);
	/* Indexes among Authentication-Results headers, highest first. */
	assert_int_equal(plan.n_ar_remove, 2);
	assert_int_equal(plan.ar_remove[0], 3);
	assert_int_equal(plan.ar_remove[1], 2);
	conn_close(c);
	a = find_msg(0);
	assert_int_equal(a->eaction[0], MT_EDIT_REMOVED);
	assert_int_equal(a->eindex[0], 2);
	assert_string_equal(a->evalue[0],
	    "mx.example.com; dkim=pass header.d=bank.example");
	assert_int_equal(a->eaction[1], MT_EDIT_REMOVED);
	assert_int_equal(a->eindex[1], 3);

	/* From a trusted network they are kept. */
	c = start(f, "10.0.0.1", &ms);
	conn_header(c, "Authentication-Results", "mx.example.com; dkim=pass");
	assert_int_equal(finish(c, &ms, &plan), MT_REPLY_CONTINUE);
	assert_int_equal(plan.n_ar_remove, 0);
	conn_close(c);
	assert_int_equal(find_msg(1)->eaction[0], MT_EDIT_KEPT);
}

/*
 * A header section over the DKIM verifier's caps (1,001 short fields) is
 * the message's result, not an internal failure: under on_error=tempfail
 * the message is accepted, the journal says why DKIM was not verified, and
 * Authentication-Results says dkim=none (unsigned) or permerror (signed).
 */
static void
test_dkim_header_cap_not_a_failure(void **state)
{
	struct fixture		*f = *state;
	struct macro_set	 ms = { { NULL } };
	struct mt_dkimv_opts	 dopts = { 5, 1024, 2000 };
	struct mt_resolver	*r;
	struct mt_dkimv		*d;
	struct mt_ctx		 ctx;
	struct mt_conn		*c;
	struct sockaddr_in	 sin = v4("192.0.2.40", 40000);
	struct mt_macros	 m = { get_macro, &ms };
	char			*from[] = { "<alice@example.org>", NULL };
	const struct seen	*a;
	char			 err[256];
	int			 k, signed_msg;
	size_t			 i;

	r = resolver_new_table();
	assert_non_null(r);
	d = dkimv_new(&dopts, r, err, sizeof(err));
	assert_non_null(d);
	assert_int_equal(config_set(f->cfg, "on_error", "tempfail", err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(f->cfg, "dkim.enabled", "yes", err,
	    sizeof(err)), 0);
	for (k = 0; k < 2; k++) {
		signed_msg = k == 1;
		memset(&ctx, 0, sizeof(ctx));
		ctx.journal = f->j;
		ctx.dkimv = d;
		c = conn_new(f->cfg, &ctx);
		assert_non_null(c);
		conn_connect(c, "client.example.org", (struct sockaddr *)&sin,
		    &m);
		conn_helo(c, "client.example.org", &m);
		conn_mail(c, from, &m);
		if (signed_msg)
			conn_header(c, "DKIM-Signature", " v=1; a=rsa-sha256; "
			    "d=example.org; s=sel; h=from; bh=AAAA; b=AAAA");
		for (i = 0; i < 1001; i++)
			conn_header(c, "X-Filler", " 0123456789");
		conn_header(c, "From", " alice@example.org");
		conn_eoh(c, &m);
		conn_body(c, (const unsigned char *)"hi\r\n", 4);
		assert_int_equal(finish(c, &ms, NULL), MT_REPLY_CONTINUE);
		conn_close(c);
		a = find_msg(k);
		printf("# %s: outcome %d error \"%s\" dkim %s authres \"%s\"\n",
		    signed_msg ? "signed" : "unsigned", a->outcome, a->error,
		    a->dkim, a->authres);
		assert_int_equal(a->outcome, MT_OUTCOME_ACCEPTED);
		assert_string_equal(a->error,
		    "DKIM not verified: too many headers");
		if (signed_msg) {
			assert_string_equal(a->dkim, "permerror");
			assert_int_equal(a->n_dkim, 1);
			assert_string_equal(a->dkim_reason,
			    "not verified: too many headers");
			assert_non_null(strstr(a->authres, "dkim=permerror"));
			assert_non_null(strstr(a->authres,
			    "reason=\"not verified: too many headers\""));
			assert_non_null(strstr(a->authres,
			    "header.d=example.org"));
		} else {
			assert_string_equal(a->dkim, "none");
			assert_non_null(strstr(a->authres, "dkim=none"));
		}
	}
	dkimv_free(d);
	resolver_free(r);
}

/*
 * DMARC through the authentication unit: an unsigned message whose From:
 * domain asks p=reject.  Each case: the From: fields, the client, the
 * dmarc.enforce setting; what the MTA is told, what the record says and
 * what our Authentication-Results carries (read back by our own parser).
 */
static void
test_dmarc_wired(void **state)
{
	static const struct {
		const char	*name;
		const char	*from1, *from2;	/* From: values */
		const char	*client;
		const char	*enforce;
		enum mt_reply	 reply;
		enum mt_outcome	 outcome;
		enum mt_dmarc_result result;
		enum mt_auth_action action;
		int		 quarantine;
	} cases[] = {
		{ "off by default: recorded, let through", " a@example.com",
		  NULL, "192.0.2.40", NULL, MT_REPLY_CONTINUE,
		  MT_OUTCOME_ACCEPTED, MT_DMARC_FAIL, MT_AUTH_ACT_NONE, 0 },
		{ "enforce reject: 550", " a@example.com", NULL, "192.0.2.40",
		  "reject", MT_REPLY_REJECT, MT_OUTCOME_REJECTED,
		  MT_DMARC_FAIL, MT_AUTH_ACT_REJECT, 0 },
		{ "enforce quarantine: held", " a@example.com", NULL,
		  "192.0.2.40", "quarantine", MT_REPLY_CONTINUE,
		  MT_OUTCOME_ACCEPTED, MT_DMARC_FAIL, MT_AUTH_ACT_QUARANTINE,
		  1 },
		{ "trusted client: never enforced", " a@example.com", NULL,
		  "10.1.2.3", "reject", MT_REPLY_CONTINUE,
		  MT_OUTCOME_ACCEPTED, MT_DMARC_FAIL, MT_AUTH_ACT_NONE, 0 },
		{ "two From: fields: permerror, not rejected",
		  " a@example.com", " b@example.net", "192.0.2.40", "reject",
		  MT_REPLY_CONTINUE, MT_OUTCOME_ACCEPTED, MT_DMARC_PERMERROR,
		  MT_AUTH_ACT_NONE, 0 },
		{ "no record: none", " a@norecord.example", NULL,
		  "192.0.2.40", "reject", MT_REPLY_CONTINUE,
		  MT_OUTCOME_ACCEPTED, MT_DMARC_NONE, MT_AUTH_ACT_NONE, 0 },
	};
	struct fixture		*f = *state;
	struct macro_set	 ms = { { NULL } };
	struct mt_dkimv_opts	 dopts = { 5, 1024, 2000 };
	struct mt_resolver	*r;
	struct mt_dkimv		*d;
	struct mt_ctx		 ctx;
	struct mt_conn		*c;
	struct mt_macros	 m = { get_macro, &ms };
	struct mt_eom_plan	 plan;
	struct authres_parsed	*ap;
	struct sockaddr_in	 sin;
	char			*from[] = { "<bounce@example.com>", NULL };
	const char		*rcode, *xcode, *text;
	const struct seen	*a;
	char			 err[256];
	size_t			 i, k;
	int			 found;

	r = resolver_new_table();
	assert_non_null(r);
	assert_int_equal(resolver_table_add(r, "_dmarc.example.com", 16,
	    "v=DMARC1; p=reject"), 0);
	d = dkimv_new(&dopts, r, err, sizeof(err));
	assert_non_null(d);
	ap = malloc(sizeof(*ap));
	assert_non_null(ap);
	assert_int_equal(config_set(f->cfg, "authres.authserv_id",
	    "mx.example.org", err, sizeof(err)), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(config_set(f->cfg, "dmarc.enforce",
		    cases[i].enforce != NULL ? cases[i].enforce : "off", err,
		    sizeof(err)), 0);
		memset(&ctx, 0, sizeof(ctx));
		ctx.journal = f->j;
		ctx.dkimv = d;
		ctx.resolver = r;
		sin = v4(cases[i].client, 40000);
		c = conn_new(f->cfg, &ctx);
		assert_non_null(c);
		conn_connect(c, "client.example.org", (struct sockaddr *)&sin,
		    &m);
		conn_helo(c, "client.example.org", &m);
		conn_mail(c, from, &m);
		conn_header(c, "From", cases[i].from1);
		if (cases[i].from2 != NULL)
			conn_header(c, "From", cases[i].from2);
		conn_eoh(c, &m);
		conn_body(c, (const unsigned char *)"hi\r\n", 4);
		if (finish(c, &ms, &plan) != cases[i].reply)
			fail_msg("%s: got another reply, want %d",
			    cases[i].name, cases[i].reply);
		if (cases[i].reply == MT_REPLY_REJECT) {
			conn_reply(c, &rcode, &xcode, &text);
			assert_string_equal(rcode, "550");
			assert_non_null(xcode);
			assert_string_equal(xcode, "5.7.1");
			if (strstr(text, "DMARC policy of example.com:") ==
			    NULL)
				fail_msg("%s: reply text \"%s\"",
				    cases[i].name, text);
		} else if (plan.quarantine != cases[i].quarantine)
			fail_msg("%s: quarantine %d, want %d", cases[i].name,
			    plan.quarantine, cases[i].quarantine);
		conn_close(c);
		a = find_msg((int)i);
		printf("# %s: dmarc %d action %d authres \"%s\"\n",
		    cases[i].name, a->dmarc, a->action, a->authres);
		if (a->dmarc != (int)cases[i].result ||
		    a->action != cases[i].action ||
		    a->outcome != cases[i].outcome)
			fail_msg("%s: got dmarc %d action %d outcome %d, want "
			    "%d %d %d", cases[i].name, a->dmarc, a->action,
			    a->outcome, cases[i].result, cases[i].action,
			    cases[i].outcome);
		assert_true(a->dmarc_sample < 100);
		/* Our header, read back: one dmarc= result, header.from. */
		assert_int_equal(authres_parse(a->authres, strlen(a->authres),
		    ap, err, sizeof(err)), 0);
		for (k = 0, found = 0; k < ap->n_results; k++) {
			if (strcmp(ap->results[k].method, "dmarc") != 0)
				continue;
			found++;
			assert_string_equal(ap->results[k].result,
			    dmarc_result_name(cases[i].result));
		}
		if (found != 1)
			fail_msg("%s: %d dmarc= results in \"%s\"",
			    cases[i].name, found, a->authres);
		if (cases[i].result == MT_DMARC_FAIL &&
		    strstr(a->authres, "header.from=example.com") == NULL)
			fail_msg("%s: no header.from in \"%s\"", cases[i].name,
			    a->authres);
	}
	/* Off: no dmarc= at all. */
	assert_int_equal(config_set(f->cfg, "dmarc.enabled", "false", err,
	    sizeof(err)), 0);
	memset(&ctx, 0, sizeof(ctx));
	ctx.journal = f->j;
	ctx.dkimv = d;
	ctx.resolver = r;
	sin = v4("192.0.2.40", 40000);
	c = conn_new(f->cfg, &ctx);
	assert_non_null(c);
	conn_connect(c, "client.example.org", (struct sockaddr *)&sin, &m);
	conn_mail(c, from, &m);
	conn_header(c, "From", " a@example.com");
	conn_eoh(c, &m);
	assert_int_equal(finish(c, &ms, NULL), MT_REPLY_CONTINUE);
	conn_close(c);
	a = find_msg((int)i);
	assert_int_equal(a->dmarc, -1);
	assert_null(strstr(a->authres, "dmarc="));
	free(ap);
	dkimv_free(d);
	resolver_free(r);
}

/* ------------------------------------------------------------ bounces */

static const struct seen *
find_bounce(void)
{
	int	 i;

	journal_flush(current->j);
	for (i = 0; i < ts.n; i++)
		if (ts.seen[i].kind == MT_RECORD_BOUNCE)
			return &ts.seen[i];
	return NULL;
}

/* Send a whole message on c: headers name/value pairs, then the body. */
static enum mt_reply
send_message(struct mt_conn *c, struct macro_set *ms, const char *const *hdrs,
    const char *body, size_t body_len, struct mt_eom_plan *plan)
{
	struct mt_macros	 m = { get_macro, ms };
	char			*rcpt[] = { "<postmaster@example.org>", NULL };
	size_t			 i;

	conn_rcpt(c, rcpt, &m);
	conn_data(c, &m);
	for (i = 0; hdrs[i] != NULL; i += 2)
		conn_header(c, hdrs[i], hdrs[i + 1]);
	conn_eoh(c, &m);
	/* In chunks, as the MTA sends them. */
	for (i = 0; i < body_len; i += 1000)
		conn_body(c, (const unsigned char *)body + i,
		    body_len - i < 1000 ? body_len - i : 1000);
	return finish(c, ms, plan);
}

static const char *const report_headers[] = {
	"From", " MAILER-DAEMON@mx.example.net (Mail Delivery System)",
	"Subject", " Undelivered Mail Returned to Sender",
	"Content-Type", " multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"B1\"",
	NULL
};

static void
test_bounce_recorded_after_message(void **state)
{
	struct fixture		*f = *state;
	struct macro_set	 ms = { { "i", "4BNC1", NULL } };
	char			*null_from[] = { "<>", NULL };
	static const char	 body[] = "--B1\r\nContent-Type: text/plain\r\n"
	    "\r\nI'm sorry.\r\n--B1--\r\n";
	static const char	 want[] = "From: MAILER-DAEMON@mx.example.net "
	    "(Mail Delivery System)\r\nSubject: Undelivered Mail Returned to "
	    "Sender\r\nContent-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"B1\"\r\n\r\n";
	struct mt_eom_plan	 plan;
	struct txn_counters	 before, after;
	const struct seen	*msg, *b;
	struct mt_conn		*c;

	txn_counters(&before);
	c = start_from(f, "192.0.2.7", &ms, null_from);
	assert_int_equal(send_message(c, &ms, report_headers, body,
	    sizeof(body) - 1, &plan), MT_REPLY_CONTINUE);
	conn_close(c);
	assert_int_equal(bp.calls, 1);
	/* The parser got the header block, a blank line and the body. */
	assert_int_equal(bp.len, strlen(want) + sizeof(body) - 1);
	assert_memory_equal(bp.bytes, want, strlen(want));
	assert_memory_equal(bp.bytes + strlen(want), body, sizeof(body) - 1);
	assert_int_equal(bp.max_bytes, 1048576);

	msg = find_msg(0);
	b = find_bounce();
	assert_non_null(b);
	/* The message first, then the report it carries. */
	assert_true(msg < b);
	assert_string_equal(b->bounce_track_id, msg->track_id);
	assert_string_equal(b->bounce_track_id, plan.insert_value);
	assert_int_equal(b->bounce_source, MT_SOURCE_MILTER);
	assert_int_equal(b->bounce_kind, MT_BOUNCE_FAILURE);
	assert_int_equal(b->bounce_rcpts, 1);
	txn_counters(&after);
	assert_int_equal(after.bounces_seen - before.bounces_seen, 1);
	assert_int_equal(after.bounces_recorded - before.bounces_recorded, 1);
}

static void
test_bounce_candidates(void **state)
{
	struct fixture		*f = *state;
	struct macro_set	 ms = { { NULL } };
	static const char *const plain[] = {
		"From", " alice@example.org", "Subject", " lunch?",
		"Content-Type", " text/plain", NULL
	};
	static const char *const by_type[] = {
		"From", " alice@example.org", "Content-Type",
		" Multipart/Report; report-type=delivery-status", NULL
	};
	static const char *const by_from[] = {
		"From", " Mail Delivery Subsystem <MAILER-DAEMON@example.net>",
		NULL
	};
	static const char *const not_report[] = {
		"From", " MAILER-DAEMON@example.net", "Subject", " NOT-A-REPORT",
		NULL
	};
	struct txn_counters	 before, after;
	struct mt_conn		*c;

	txn_counters(&before);
	/* An ordinary message: nothing kept, the parser never runs. */
	c = start(f, "192.0.2.7", &ms);
	send_message(c, &ms, plain, "hi\r\n", 4, NULL);
	assert_int_equal(bp.calls, 0);
	/* multipart/report, or a MAILER-DAEMON From:, with a sender. */
	conn_mail(c, (char *[]){ "<alice@example.org>", NULL }, NULL);
	send_message(c, &ms, by_type, "x\r\n", 3, NULL);
	assert_int_equal(bp.calls, 1);
	conn_mail(c, (char *[]){ "<alice@example.org>", NULL }, NULL);
	send_message(c, &ms, by_from, "x\r\n", 3, NULL);
	assert_int_equal(bp.calls, 2);
	/* Parsed, but not a report: nothing recorded. */
	conn_mail(c, (char *[]){ "<>", NULL }, NULL);
	send_message(c, &ms, not_report, "x\r\n", 3, NULL);
	assert_int_equal(bp.calls, 3);
	conn_close(c);
	txn_counters(&after);
	assert_int_equal(after.bounces_recorded - before.bounces_recorded, 2);
	assert_int_equal(after.bounces_not_report - before.bounces_not_report,
	    1);
}

static void
test_bounce_over_max_bytes(void **state)
{
	struct fixture		*f = *state;
	struct macro_set	 ms = { { NULL } };
	char			*null_from[] = { "<>", NULL };
	char			 err[128], *body;
	struct txn_counters	 before, after;
	struct mt_conn		*c;
	size_t			 n = 20000;

	assert_int_equal(config_set(f->cfg, "delivery.bounce_max_bytes",
	    "4096", err, sizeof(err)), 0);
	body = malloc(n);
	assert_non_null(body);
	memset(body, 'z', n);
	txn_counters(&before);
	c = start_from(f, "192.0.2.7", &ms, null_from);
	assert_int_equal(send_message(c, &ms, report_headers, body, n, NULL),
	    MT_REPLY_CONTINUE);
	conn_close(c);
	/* The first 4096 bytes were kept and parsed; the message flowed. */
	assert_int_equal(bp.calls, 1);
	assert_int_equal(bp.len, 4096);
	assert_memory_equal(bp.bytes, "From: MAILER-DAEMON", 19);
	assert_int_equal(bp.bytes[4095], 'z');
	assert_non_null(find_bounce());
	assert_int_equal(find_msg(0)->outcome, MT_OUTCOME_ACCEPTED);
	txn_counters(&after);
	assert_int_equal(after.bounces_truncated - before.bounces_truncated, 1);
	free(body);
}

static void
test_bounces_off(void **state)
{
	struct fixture		*f = *state;
	struct macro_set	 ms = { { NULL } };
	char			*null_from[] = { "<>", NULL };
	char			 err[128];
	struct mt_conn		*c;

	assert_int_equal(config_set(f->cfg, "delivery.bounces", "false", err,
	    sizeof(err)), 0);
	c = start_from(f, "192.0.2.7", &ms, null_from);
	send_message(c, &ms, report_headers, "x\r\n", 3, NULL);
	conn_close(c);
	assert_int_equal(bp.calls, 0);
	assert_null(find_bounce());
}

/*
 * Kept bytes are freed at end-of-message and abort: a connection carrying
 * 10,000 possible bounces (half of them aborted after the body) ends with
 * the heap it started with.
 */
static void
test_bounce_memory_per_message(void **state)
{
	struct fixture		*f = *state;
	struct macro_set	 ms = { { NULL } };
	struct mt_macros	 m = { get_macro, &ms };
	char			*null_from[] = { "<>", NULL };
	char			*rcpt[] = { "<p@example.org>", NULL };
	char			 body[3000];
	struct mallinfo2	 mi;
	size_t			 start_heap = 0, end_heap;
	struct mt_conn		*c;
	int			 i;

	memset(body, 'b', sizeof(body));
	c = start_from(f, "192.0.2.7", &ms, null_from);
	for (i = 0; i < 10000; i++) {
		if (i > 0)
			conn_mail(c, null_from, &m);
		conn_rcpt(c, rcpt, &m);
		conn_data(c, &m);
		conn_header(c, "From", " MAILER-DAEMON@example.net");
		conn_eoh(c, &m);
		conn_body(c, (const unsigned char *)body, sizeof(body));
		if (i % 2 == 0)
			conn_abort(c);
		else
			(void)finish(c, &ms, NULL);
		if (i == 100) {
			journal_flush(f->j);
			mi = mallinfo2();
			start_heap = mi.uordblks + mi.hblkhd;
		}
	}
	journal_flush(f->j);
	mi = mallinfo2();
	end_heap = mi.uordblks + mi.hblkhd;
	conn_close(c);
	assert_int_equal(bp.calls, 5000);
	if (end_heap > start_heap + 256 * 1024)
		fail_msg("heap grew from %zu to %zu bytes over 10,000 messages",
		    start_heap, end_heap);
}

static void
test_macro_lists(void **state)
{
	(void)state;
	assert_non_null(strstr(txn_macro_list(MT_MACROS_RCPT), "{rcpt_mailer}"));
	assert_non_null(strstr(txn_macro_list(MT_MACROS_EOM), "i"));
	assert_non_null(strstr(txn_macro_list(MT_MACROS_MAIL), "{auth_authen}"));
	assert_non_null(strstr(txn_macro_list(MT_MACROS_HELO), "{tls_version}"));
	assert_string_equal(txn_macro_list(MT_MACROS_NSTAGES), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_messages_one_connection,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_records_stage,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejected_recipients,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_forged_tracking_headers_untrusted, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_tracking_header_trusted_is_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_sizes_are_capped,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_eight_bit_kept_exactly,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_dkim_header_cap_not_a_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dmarc_wired, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_journal_failure_on_error,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_authres, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_bounce_recorded_after_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounce_candidates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bounce_over_max_bytes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounces_off, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bounce_memory_per_message,
		    setup, teardown),
		cmocka_unit_test(test_macro_lists),
	};

	return cmocka_run_group_tests_name("txn", tests, NULL, NULL);
}
