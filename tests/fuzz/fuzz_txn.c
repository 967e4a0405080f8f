/*
 * fuzz_txn.c - fuzz target for the transaction core (src/txn.c) driven the
 * way the milter callbacks drive it: conn_new, then connect, HELO, MAIL,
 * RCPT, DATA, headers, end of headers, body, end of message or abort, in
 * an order libmilter can deliver, then conn_close.  Behind the core: SPF
 * and DKIM on a table resolver (no network), the bounce parser, and the
 * journal writing into a scratch SQLite file in a temporary directory.
 *
 * Input: a sequence of steps.  Byte 0 picks the configuration (bit 0:
 * on_error=tempfail, bit 1: small limits).  Then each step is an
 * operation byte followed by its arguments, each a field ending at a NUL
 * (a body chunk: a 16-bit big-endian length, then the bytes):
 *   op % 12   0 connect HOST ADDR     1 helo NAME     2 mail ARGS
 *             3 rcpt ARGS             4 data          5 header NAME VALUE
 *             6 eoh                   7 body CHUNK    8 eom (op bit 4:
 *             the MTA failed an edit) 9 abort         10 unknown CMD
 *             11 macro NAME VALUE (kept for the following steps)
 * ARGS are split at spaces into the argv the callbacks get.  A step that
 * libmilter could not deliver in the current state is skipped (a header
 * before RCPT, a body before end of headers), except that MAIL or HELO
 * inside a transaction aborts it first, and end of message sends the end
 * of headers first when it was not sent, as the MTA would.
 *
 * Built as a libFuzzer target by "make fuzz-txn", as a replay program by
 * "make check" (tests/fuzz/README).  Thread safety: the target is single-
 * threaded; the journal has its writer thread.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mailtrail/config.h"
#include "mailtrail/dkimv.h"
#include "mailtrail/journal.h"
#include "mailtrail/log.h"
#include "mailtrail/resolver.h"
#include "mailtrail/spf.h"
#include "mailtrail/store.h"
#include "mailtrail/txn.h"
#include "replay.h"

#define FIELD_MAX	65536
#define MAX_ARGS	8
#define MAX_MACROS	16

enum state { S_NEW, S_CONN, S_MAIL, S_RCPT, S_DATA, S_HDRS, S_BODY };

struct cursor {
	const uint8_t	*p;
	size_t		 left;
};

struct macros {
	char	 name[MAX_MACROS][64];
	char	 value[MAX_MACROS][256];
	size_t	 n;
};

static struct {
	char			 dir[64];
	char			 db[128];
	struct mt_config	*cfg[4];
	struct mt_resolver	*resolver;
	struct mt_ctx		 ctx;
	struct mt_store_sqlite_opts so;
} fz;

static char	 field_buf[2][FIELD_MAX + 1];

static size_t
field(struct cursor *c, int which)
{
	char	*out = field_buf[which];
	size_t	 n = 0;

	while (c->left > 0 && *c->p != '\0') {
		if (n < FIELD_MAX)
			out[n++] = (char)*c->p;
		c->p++;
		c->left--;
	}
	if (c->left > 0) {
		c->p++;
		c->left--;
	}
	out[n] = '\0';
	return n;
}

static const char *
get_macro(void *arg, const char *name)
{
	const struct macros	*m = arg;
	size_t			 i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->name[i], name) == 0)
			return m->value[i];
	return NULL;
}

/* Copy s into out, cut to fit. */
static void
copy(char *out, size_t outsz, const char *s)
{
	size_t	 n = strlen(s);

	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

static void
set_macro(struct macros *m, const char *name, const char *value)
{
	size_t	 i;

	for (i = 0; i < m->n && strcmp(m->name[i], name) != 0; i++)
		;
	if (i == MAX_MACROS)
		i = 0;
	copy(m->name[i], sizeof(m->name[i]), name);
	copy(m->value[i], sizeof(m->value[i]), value);
	if (i == m->n)
		m->n++;
}

/* Split field 0 at spaces into argv (pointers into the field). */
static void
split(char **argv)
{
	char	*p = field_buf[0];
	int	 n = 0;

	while (n < MAX_ARGS && *p != '\0') {
		argv[n++] = p;
		if ((p = strchr(p, ' ')) == NULL)
			break;
		*p++ = '\0';
	}
	argv[n] = NULL;
	if (n == 0) {
		argv[0] = field_buf[0];
		argv[1] = NULL;
	}
}

static struct mt_store *
open_store(void *arg, char *err, size_t errlen)
{
	return store_sqlite_open(arg, err, errlen);
}

static void
cleanup(void)
{
	char	 p[192];

	journal_close(fz.ctx.journal);
	snprintf(p, sizeof(p), "%s-wal", fz.db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", fz.db);
	unlink(p);
	unlink(fz.db);
	rmdir(fz.dir);
}

static struct mt_config *
make_config(int tempfail, int small)
{
	static const char *const base[][2] = {
		{ "trusted_networks", "10.0.0.0/8,::1/128" },
		{ "spf.enabled", "true" },
		{ "dkim.enabled", "true" },
		{ "delivery.bounces", "true" },
		{ "authres.authserv_id", "mx.example.org" },
	};
	static const char *const little[][2] = {
		{ "limits.max_value_length", "64" },
		{ "limits.max_recipients", "3" },
		{ "limits.max_unknown_commands", "2" },
		{ "limits.max_header_edits", "3" },
		{ "dkim.max_signatures", "2" },
		{ "delivery.bounce_max_bytes", "4096" },
	};
	struct mt_config *cfg;
	char		 err[256];
	size_t		 i;

	if ((cfg = config_defaults()) == NULL)
		abort();
	for (i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		if (config_set(cfg, base[i][0], base[i][1], err,
		    sizeof(err)) != 0)
			fprintf(stderr, "fuzz_txn: %s\n", err);
	for (i = 0; small && i < sizeof(little) / sizeof(little[0]); i++)
		if (config_set(cfg, little[i][0], little[i][1], err,
		    sizeof(err)) != 0)
			fprintf(stderr, "fuzz_txn: %s\n", err);
	if (tempfail && config_set(cfg, "on_error", "tempfail", err,
	    sizeof(err)) != 0)
		fprintf(stderr, "fuzz_txn: %s\n", err);
	return cfg;
}

static void
init(void)
{
	struct journal_opts	 jo;
	struct mt_spf_opts	 spo;
	struct mt_dkimv_opts	 dko;
	char			 err[256];
	int			 i;

	mt_log_open("fuzz_txn", 1, 0);
	mt_log_set(2, 0);		/* LOG_CRIT: the fuzzer's output only */
	snprintf(fz.dir, sizeof(fz.dir), "/tmp/mt-fuzz-txn.XXXXXX");
	if (mkdtemp(fz.dir) == NULL)
		abort();
	snprintf(fz.db, sizeof(fz.db), "%s/journal.db", fz.dir);
	for (i = 0; i < 4; i++)
		fz.cfg[i] = make_config(i & 1, (i >> 1) & 1);
	if ((fz.resolver = resolver_new_table()) == NULL ||
	    resolver_table_add(fz.resolver, "example.org", 16,
	    "v=spf1 ip4:192.0.2.0/24 include:spf.example.net -all") != 0 ||
	    resolver_table_add(fz.resolver, "spf.example.net", 16,
	    "v=spf1 a mx ~all") != 0 ||
	    resolver_table_add(fz.resolver, "spf.example.net", 1,
	    "192.0.2.99") != 0 ||
	    resolver_table_add(fz.resolver, "sel._domainkey.example.org", 16,
	    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC") != 0)
		abort();
	memset(&spo, 0, sizeof(spo));
	spo.deadline_ms = 2000;
	spo.receiver = "mx.example.org";
	memset(&dko, 0, sizeof(dko));
	dko.max_signatures = 50;
	dko.min_key_bits = 1024;
	dko.timeout_ms = 2000;
	if ((fz.ctx.spf = spf_new(&spo, fz.resolver, err, sizeof(err))) ==
	    NULL || (fz.ctx.dkimv = dkimv_new(&dko, fz.resolver, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_txn: %s\n", err);
		abort();
	}
	memset(&fz.so, 0, sizeof(fz.so));
	fz.so.path = fz.db;
	fz.so.mode = 0600;
	fz.so.busy_timeout_ms = 1000;
	memset(&jo, 0, sizeof(jo));
	jo.open_store = open_store;
	jo.open_arg = &fz.so;
	jo.durable = 0;
	jo.commit_interval_ms = 20;
	jo.commit_timeout_ms = 1000;
	jo.max_records = 10000;
	jo.max_bytes = 64 << 20;
	jo.max_batch = 256;
	if ((fz.ctx.journal = journal_open(&jo, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_txn: %s\n", err);
		abort();
	}
	atexit(cleanup);
}

/* CONNECT with HOST and ADDR (v4 or v6 text, anything else: unknown). */
static void
do_connect(struct mt_conn *c, struct cursor *cur, const struct mt_macros *m)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	const struct sockaddr	*sa = NULL;

	field(cur, 0);
	field(cur, 1);
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, field_buf[1], &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons(40000);
		sa = (struct sockaddr *)&sin;
	} else if (inet_pton(AF_INET6, field_buf[1], &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(40000);
		sa = (struct sockaddr *)&sin6;
	}
	conn_connect(c, field_buf[0], sa, m);
}

static void
do_eom(struct mt_conn *c, const struct mt_macros *m, int edit_failed)
{
	struct mt_eom_plan	 plan;

	memset(&plan, 0, sizeof(plan));
	if (conn_eom_plan(c, m, &plan) != 0) {
		(void)conn_eom_finish(c, NULL);
		return;
	}
	if (plan.remove_count > 10000 || plan.n_ar_remove > 10000 ||
	    (plan.n_ar_remove > 0 && plan.ar_remove == NULL) ||
	    (plan.insert && memchr(plan.insert_value, '\0',
	    sizeof(plan.insert_value)) == NULL) ||
	    (plan.authres != NULL && strlen(plan.authres) > 65536))
		abort();
	if (edit_failed)
		conn_eom_edit_failed(c, "fuzz");
	(void)conn_eom_finish(c, &plan);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct macros	 mac;
	struct mt_macros	 m = { get_macro, &mac };
	struct cursor		 cur = { data, size };
	struct mt_conn		*c;
	enum state		 st = S_NEW;
	char			*argv[MAX_ARGS + 1];
	unsigned		 op;
	size_t			 n;

	if (fz.ctx.journal == NULL)
		init();
	if (size < 1)
		return 0;
	mac.n = 0;
	if ((c = conn_new(fz.cfg[data[0] & 3], &fz.ctx)) == NULL)
		return 0;
	cur.p++;
	cur.left--;
	while (cur.left > 0) {
		op = *cur.p++;
		cur.left--;
		if (st == S_NEW && op % 12 != 11)
			op = 0;
		switch (op % 12) {
		case 0:
			if (st != S_NEW) {
				field(&cur, 0);
				field(&cur, 1);
				break;
			}
			do_connect(c, &cur, &m);
			st = S_CONN;
			break;
		case 1:
			field(&cur, 0);
			if (st >= S_MAIL)
				conn_abort(c);
			conn_helo(c, field_buf[0], &m);
			st = S_CONN;
			break;
		case 2:
			field(&cur, 0);
			split(argv);
			if (st >= S_MAIL)
				conn_abort(c);
			conn_mail(c, argv, &m);
			st = S_MAIL;
			break;
		case 3:
			field(&cur, 0);
			split(argv);
			if (st == S_MAIL || st == S_RCPT) {
				conn_rcpt(c, argv, &m);
				st = S_RCPT;
			}
			break;
		case 4:
			if (st == S_RCPT) {
				conn_data(c, &m);
				st = S_DATA;
			}
			break;
		case 5:
			field(&cur, 0);
			field(&cur, 1);
			if (st >= S_RCPT && st <= S_HDRS) {
				conn_header(c, field_buf[0], field_buf[1]);
				st = S_HDRS;
			}
			break;
		case 6:
			if (st >= S_RCPT && st <= S_HDRS) {
				conn_eoh(c, &m);
				st = S_BODY;
			}
			break;
		case 7:
			n = 0;
			if (cur.left >= 2) {
				n = (size_t)cur.p[0] << 8 | cur.p[1];
				cur.p += 2;
				cur.left -= 2;
			}
			if (n > cur.left)
				n = cur.left;
			if (st == S_BODY && n > 0)
				conn_body(c, cur.p, n);
			cur.p += n;
			cur.left -= n;
			break;
		case 8:
			if (st < S_RCPT)
				break;
			if (st != S_BODY)
				conn_eoh(c, &m);
			do_eom(c, &m, (op >> 4) & 1);
			st = S_CONN;
			break;
		case 9:
			if (st >= S_MAIL)
				conn_abort(c);
			if (st > S_CONN)
				st = S_CONN;
			break;
		case 10:
			field(&cur, 0);
			if (st != S_NEW)
				conn_unknown(c, field_buf[0]);
			break;
		case 11:
			field(&cur, 0);
			field(&cur, 1);
			set_macro(&mac, field_buf[0], field_buf[1]);
			break;
		}
	}
	conn_close(c);
	return 0;
}

FUZZ_REPLAY_MAIN("txn")
