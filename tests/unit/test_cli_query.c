/*
 * test_cli_query.c - the mailtrail command against a real journal file.
 *
 * A journal is built with the core's schema (schema_migrate) and filled
 * with four messages chosen to tell filters apart: a reused queue ID, the
 * null sender, a Message-ID stored without brackets and one sent twice,
 * IPv4 and IPv6 clients, SPF and DKIM results (schema 2), recipients
 * rejected with and without reply codes, a Subject with NUL, 8-bit and an
 * escape sequence.  Then:
 *
 *   opening: read-only, version checks (missing file, not a database,
 *   newer schema, another program's database, a version 1 journal);
 *   filters: each find filter and some combinations, as the track IDs
 *   they select, newest first; filter errors with their messages;
 *   loading and printing a whole message, text and JSON, with the
 *   catalogue's annotations and without a raw escape byte;
 *   delivery (schema 5, a second fixture): each recipient's state, the
 *   timeline, hand-offs, a queue ID known only from the log, find --status,
 *   the list's DELIVERY column, stats' figures, JSON keys, and hostile
 *   bytes in replies escaped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>
#include <cmocka.h>

#include "mailtrail/schema.h"
#include "cli/cli.h"
#include "cli/delivery.h"
#include "cli/filter.h"
#include "cli/message.h"

#define SEC	INT64_C(1000000)
#define HOUR	(3600 * SEC)
/* 2026-11-25T12:00:00Z */
#define T0	(INT64_C(20782) * 86400 * SEC + 12 * HOUR)

#define ID1	"01JDB6Q5Z6Y3K9W2X4V8T0R1N1"
#define ID2	"01JDB6Q5Z6Y3K9W2X4V8T0R1N2"
#define ID3	"01JDB6Q5Z6Y3K9W2X4V8T0R1N3"
#define ID4	"01JDB6Q5Z6Y3K9W2X4V8T0R1N4"

static const char fixture[] =
"INSERT INTO connections (id, conn_uid, connect_time, client_addr,"
" client_port, client_name, helo, tls_version, tls_cipher, tls_bits,"
" auth_type, auth_authen, messages) VALUES"
" (1, 'C1', 0, '192.0.2.10', 4000, 'mx1.example.org', 'mx1.example.org',"
"  'TLSv1.3', 'TLS_AES_256_GCM_SHA384', 256, 'PLAIN', 'alice', 2),"
" (2, 'C2', 0, '2001:db8::7', 4001, 'unknown', 'v6.example.net',"
"  NULL, NULL, NULL, NULL, NULL, 1),"
" (3, 'C3', 0, '198.51.100.9', 4002, 'unknown', 'Bad.Example.COM',"
"  NULL, NULL, NULL, NULL, NULL, 1);"
"INSERT INTO messages (id, track_id, conn_id, start_time, end_time, stage,"
" outcome, mail_from, queue_id, message_id, subject, size, rcpt_accepted,"
" rcpt_rejected, spf_result, dkim_result, authres) VALUES"
" (1, '" ID1 "', 1, :t0, :t0 + 1000, 'eom', 'accepted',"
"  'Alice@Example.ORG', '4QA', '<a@example.org>', 'Invoice 42', 100, 2, 0,"
"  'pass', 'pass', 'mx.test; spf=pass; dkim=pass'),"
" (2, '" ID2 "', 1, :t0 + 3600000000, NULL, 'eom', 'accepted', '',"
"  '4QA', '<b@example.org>', CAST(X'52653A2068656C6C6F00FF1B5B324A' AS TEXT),"
"  200, 1, 1, 'fail', 'fail',"
"  'mx.test; spf=fail' || char(13, 10, 9) || 'dkim=fail' || char(10, 32, 32)"
"  || 'reason=\"x\"' || char(10) || 'tail'),"
" (3, '" ID3 "', 2, :t0 + 7200000000, NULL, 'rcpt', 'aborted',"
"  'mallory@evil.test', '5QB', 'c@no-brackets', 'URGENT invoice', 0, 1, 0,"
"  'softfail', 'none', NULL),"
" (4, '" ID4 "', 3, :t0 + 10800000000, NULL, 'eom', 'accepted',"
"  'bob@example.net', NULL, '<a@example.org>', NULL, 50, 0, 2,"
"  'none', NULL, NULL);"
"INSERT INTO recipients (message, seq, time, address, status, reply_code,"
" enhanced_code, reply_text) VALUES"
" (1, 1, :t0, 'bob@example.net', 'accepted', NULL, NULL, NULL),"
" (1, 2, :t0, 'carol@example.net', 'accepted', NULL, NULL, NULL),"
" (2, 1, :t0, 'dave@example.com', 'accepted', NULL, NULL, NULL),"
" (2, 2, :t0, 'x@example.net', 'rejected', 550, '5.1.1', 'User unknown'),"
" (3, 1, :t0, 'eve@example.org', 'accepted', NULL, NULL, NULL),"
" (4, 1, :t0, 'y@other.test', 'rejected', 554, '5.7.1', 'Relay denied'),"
" (4, 2, :t0, 'z@other.test', 'rejected', NULL, '4.7.1', 'Greylisted');"
"INSERT INTO header_edits (message, action, name, value, idx, reason)"
" VALUES (1, 'added', 'X-Mailtrail-ID', '" ID1 "', 0, NULL),"
" (3, 'removed', 'X-Mailtrail-ID', 'FORGED', 1, 'forged tracking header');"
"INSERT INTO spf_results (message, identity, domain, result, mechanism,"
" explanation, time) VALUES"
" (1, 'mailfrom', 'example.org', 'pass', 'ip4:192.0.2.0/24', NULL, :t0),"
" (2, 'helo', 'mx1.example.org', 'fail', '-all', 'not allowed', :t0),"
" (3, 'mailfrom', 'evil.test', 'softfail', '~all', NULL, :t0);"
"INSERT INTO dkim_signatures (message, seq, domain, selector, algorithm,"
" key_bits, result, reason, time) VALUES"
" (1, 1, 'example.org', 's1', 'rsa-sha256', 2048, 'pass', NULL, :t0),"
" (2, 1, 'example.org', 's1', 'rsa-sha256', 2048, 'fail',"
"  'body hash did not verify', :t0);";

struct fix {
	char	 path[64];
	struct cli cli;
	char	*buf;
	size_t	 len;
};

static void
exec_sql(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st;
	const char	*tail = sql;
	int		 rc, i;

	while (tail != NULL && *tail != '\0') {
		rc = sqlite3_prepare_v2(db, tail, -1, &st, &tail);
		if (rc != SQLITE_OK)
			fail_msg("fixture: %s", sqlite3_errmsg(db));
		if (st == NULL)
			break;
		for (i = 1; i <= sqlite3_bind_parameter_count(st); i++)
			sqlite3_bind_int64(st, i, T0);
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			fail_msg("fixture: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
	}
}

/* Make a journal at path, at schema version "version", with the fixture. */
static void
make_journal(const char *path, int version, const char *extra)
{
	sqlite3	*db;
	char	 err[256];

	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (schema_migrate_to(db, version, err, sizeof(err)) != 0)
		fail_msg("migrate: %s", err);
	if (version >= 2)
		exec_sql(db, fixture);
	if (extra != NULL)
		exec_sql(db, extra);
	sqlite3_close(db);
}

static int
setup(void **state)
{
	struct fix	*f = calloc(1, sizeof(*f));
	int		 fd;

	snprintf(f->path, sizeof(f->path), "/tmp/test_cli_query.XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	make_journal(f->path, SCHEMA_VERSION, NULL);
	f->cli.out = open_memstream(&f->buf, &f->len);
	f->cli.cmd = "test";
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix	*f = *state;

	cli_journal_close(&f->cli.j);
	fclose(f->cli.out);
	free(f->buf);
	unlink(f->path);
	free(f);
	return 0;
}

static void
open_fix(struct fix *f)
{
	char	 err[CLI_ERRLEN];

	cli_journal_close(&f->cli.j);
	if (cli_journal_open_path(&f->cli.j, f->path, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
}

/* Output so far (and reset the stream). */
static char *
output(struct fix *f)
{
	char	*s;

	fflush(f->cli.out);
	s = strdup(f->buf != NULL ? f->buf : "");
	fclose(f->cli.out);
	free(f->buf);
	f->buf = NULL;
	f->len = 0;
	f->cli.out = open_memstream(&f->buf, &f->len);
	return s;
}

static void
test_open(void **state)
{
	struct fix	*f = *state;
	struct cli_journal j;
	char		 err[CLI_ERRLEN], path[96], want[128];
	sqlite3		*db;
	FILE		*fp;

	(void)state;
	open_fix(f);
	assert_int_equal(f->cli.j.version, SCHEMA_VERSION);
	assert_true(f->cli.j.has_auth);
	assert_true(f->cli.j.has_delivery);
	/* Read-only: a write fails. */
	assert_int_not_equal(sqlite3_exec(f->cli.j.db, "DELETE FROM messages",
	    NULL, NULL, NULL), SQLITE_OK);

	assert_int_equal(cli_journal_open_path(&j, "/nonexistent/j.db", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "does not exist"));

	snprintf(path, sizeof(path), "%s.txt", f->path);
	fp = fopen(path, "w");
	fputs("this is not a database, but it is long enough to look like"
	    " a file that SQLite would try to read as one.......", fp);
	fclose(fp);
	assert_int_equal(cli_journal_open_path(&j, path, err, sizeof(err)), -1);
	if (strstr(err, "not an SQLite database") == NULL)
		fail_msg("got \"%s\"", err);

	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL);
	sqlite3_close(db);
	assert_int_equal(cli_journal_open_path(&j, path, err, sizeof(err)), -1);
	if (strstr(err, "not a mailtrail journal") == NULL)
		fail_msg("got \"%s\"", err);

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
	sqlite3_close(db);
	assert_int_equal(cli_journal_open_path(&j, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "has schema version 99, newer than this"
	    " mailtrail (%d); upgrade mailtrail", SCHEMA_VERSION);
	if (strstr(err, want) == NULL)
		fail_msg("got \"%s\", want \"%s\"", err, want);

	/* Version 1: readable, without the authentication tables. */
	make_journal(path, 1, "INSERT INTO connections (id, conn_uid,"
	    " connect_time) VALUES (1, 'C', 0); INSERT INTO messages (id,"
	    " track_id, conn_id, start_time, stage, outcome) VALUES (1, '"
	    ID1 "', 1, 0, 'eom', 'accepted');");
	assert_int_equal(cli_journal_open_path(&j, path, err, sizeof(err)), 0);
	assert_int_equal(j.version, 1);
	assert_false(j.has_auth);
	cli_journal_close(&j);
	unlink(path);
}

/* Run find's query for options (pairs of code, value) and compare. */
static void
check_find(struct fix *f, const char *name, const int *opts,
    const char *const *vals, const char *want)
{
	struct cli_filter flt;
	struct cli_sql	 q;
	sqlite3_stmt	*st;
	char		 err[CLI_ERRLEN], got[512];
	size_t		 o = 0;
	int		 i;

	cli_filter_init(&flt, T0 + 24 * HOUR);
	for (i = 0; opts[i] != 0; i++)
		if (cli_filter_option(&flt, opts[i], vals[i], err,
		    sizeof(err)) != 1)
			fail_msg("%s: option %d %s: %s", name, opts[i], vals[i],
			    err);
	if (cli_filter_check(&flt, f->cli.j.has_auth, err, sizeof(err)) != 0)
		fail_msg("%s: check: %s", name, err);
	assert_int_equal(cli_filter_register(f->cli.j.db, &flt), 0);
	cli_sql_init(&q);
	cli_sql_add(&q, cli_summary_select(&f->cli.j));
	cli_sql_add(&q, " WHERE 1");
	cli_filter_where(&flt, &q);
	cli_sql_add(&q, " ORDER BY m.start_time DESC, m.id DESC");
	if (cli_sql_prepare(&q, f->cli.j.db, &st) != SQLITE_OK)
		fail_msg("%s: prepare: %s (%s)", name,
		    sqlite3_errmsg(f->cli.j.db), q.buf);
	got[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW)
		o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%c",
		    o > 0 ? " " : "", sqlite3_column_text(st, 1)[25]);
	sqlite3_finalize(st);
	cli_sql_free(&q);
	cli_filter_free(&flt);
	if (strcmp(got, want) != 0)
		fail_msg("%s: got messages \"%s\", want \"%s\"", name, got,
		    want);
}

static void
test_filters(void **state)
{
	static const struct {
		const char	*name;
		int		 opts[4];
		const char	*vals[4];
		const char	*want;	/* last chars of the IDs, newest first */
	} cases[] = {
		{ "all", { 0 }, { NULL }, "4 3 2 1" },
		{ "from exact, any case", { CLI_OPT_FROM },
		  { "alice@example.org" }, "1" },
		{ "from @domain", { CLI_OPT_FROM }, { "@EXAMPLE.org" }, "1" },
		{ "from glob", { CLI_OPT_FROM }, { "*@example.*" }, "4 1" },
		{ "from null sender", { CLI_OPT_FROM }, { "<>" }, "2" },
		{ "from nobody", { CLI_OPT_FROM }, { "nobody@x" }, "" },
		{ "to exact", { CLI_OPT_TO }, { "BOB@example.net" }, "1" },
		{ "to glob", { CLI_OPT_TO }, { "@example.net" }, "2 1" },
		{ "to rejected only", { CLI_OPT_TO }, { "y@other.test" }, "4" },
		{ "ip exact", { CLI_OPT_IP }, { "192.0.2.10" }, "2 1" },
		{ "ip v4 net", { CLI_OPT_IP }, { "192.0.2.0/24" }, "2 1" },
		{ "ip v6 net", { CLI_OPT_IP }, { "2001:db8::/32" }, "3" },
		{ "ip v6 canonical", { CLI_OPT_IP }, { "2001:DB8:0::7" }, "3" },
		{ "ip elsewhere", { CLI_OPT_IP }, { "203.0.113.0/24" }, "" },
		{ "helo any case", { CLI_OPT_HELO }, { "bad.example.com" }, "4" },
		{ "helo glob", { CLI_OPT_HELO }, { "mx1.*" }, "2 1" },
		{ "subject", { CLI_OPT_SUBJECT }, { "INVOICE" }, "3 1" },
		{ "subject 8-bit", { CLI_OPT_SUBJECT }, { "\xff\x1b" }, "2" },
		{ "msgid with <>", { CLI_OPT_MSGID }, { "<a@example.org>" },
		  "4 1" },
		{ "msgid without <>", { CLI_OPT_MSGID }, { "a@example.org" },
		  "4 1" },
		{ "msgid stored bare", { CLI_OPT_MSGID }, { "<c@no-brackets>" },
		  "3" },
		{ "since", { CLI_OPT_SINCE }, { "2026-11-25T13:00:00Z" },
		  "4 3 2" },
		{ "until a minute", { CLI_OPT_UNTIL }, { "2026-11-25T13:00" },
		  "2 1" },
		{ "a whole day", { CLI_OPT_SINCE, CLI_OPT_UNTIL },
		  { "2026-11-25", "2026-11-25" }, "4 3 2 1" },
		{ "relative", { CLI_OPT_SINCE }, { "22h" }, "4 3" },
		{ "status rejected", { CLI_OPT_STATUS }, { "rejected" }, "4 2" },
		{ "status aborted", { CLI_OPT_STATUS }, { "aborted" }, "3" },
		{ "status list", { CLI_OPT_STATUS }, { "aborted,Accepted" },
		  "4 3 2 1" },
		{ "spf", { CLI_OPT_SPF }, { "fail" }, "2" },
		{ "spf list", { CLI_OPT_SPF }, { "fail,softfail" }, "3 2" },
		{ "dkim", { CLI_OPT_DKIM }, { "FAIL" }, "2" },
		{ "dkim none", { CLI_OPT_DKIM }, { "none" }, "3" },
		{ "combined", { CLI_OPT_FROM, CLI_OPT_STATUS },
		  { "@example.org", "rejected" }, "" },
		{ "combined 2", { CLI_OPT_IP, CLI_OPT_SPF },
		  { "192.0.2.0/24", "pass" }, "1" },
	};
	struct fix	*f = *state;
	size_t		 i;

	open_fix(f);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_find(f, cases[i].name, cases[i].opts, cases[i].vals,
		    cases[i].want);
}

static void
test_filter_errors(void **state)
{
	static const struct {
		int		 opt;
		const char	*val;
		const char	*want;
	} cases[] = {
		{ CLI_OPT_IP, "not-an-ip", "not an IPv4 or IPv6 address" },
		{ CLI_OPT_IP, "192.0.2.0/33", "--ip 192.0.2.0/33" },
		{ CLI_OPT_STATUS, "sent", "--status sent: expected" },
		{ CLI_OPT_STATUS, "accepted,", "--status accepted,: expected" },
		{ CLI_OPT_SPF, "maybe", "--spf maybe: expected one or more of"
		  " none, neutral, pass" },
		{ CLI_OPT_DKIM, "", "--dkim : expected" },
		{ CLI_OPT_LIMIT, "-1", "--limit -1: expected a number" },
		{ CLI_OPT_LIMIT, "10x", "--limit 10x" },
		{ CLI_OPT_SINCE, "2026-13-01", "--since \"2026-13-01\": month 13"
		  " out of range" },
		{ CLI_OPT_UNTIL, "soon", "--until \"soon\": not a time" },
		{ CLI_OPT_TO, "", "--to: empty value" },
		{ CLI_OPT_MSGID, "<>", "--msgid: empty Message-ID" },
	};
	struct cli_filter flt;
	char	 err[CLI_ERRLEN];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cli_filter_init(&flt, T0);
		err[0] = '\0';
		if (cli_filter_option(&flt, cases[i].opt, cases[i].val, err,
		    sizeof(err)) != -1)
			fail_msg("\"%s\": accepted, want an error",
			    cases[i].val);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("\"%s\": got \"%s\", want \"%s\"",
			    cases[i].val, err, cases[i].want);
		cli_filter_free(&flt);
	}
	/* Not a filter option at all. */
	cli_filter_init(&flt, T0);
	assert_int_equal(cli_filter_option(&flt, 'x', "", err, sizeof(err)), 0);
	/* An empty time range. */
	assert_int_equal(cli_filter_option(&flt, CLI_OPT_SINCE, "2h", err,
	    sizeof(err)), 1);
	assert_int_equal(cli_filter_option(&flt, CLI_OPT_UNTIL, "3h", err,
	    sizeof(err)), 1);
	assert_int_equal(cli_filter_check(&flt, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "time range is empty"));
	cli_filter_free(&flt);
	/* SPF on a journal that records none. */
	cli_filter_init(&flt, T0);
	assert_int_equal(cli_filter_option(&flt, CLI_OPT_SPF, "fail", err,
	    sizeof(err)), 1);
	assert_int_equal(cli_filter_check(&flt, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "records no SPF or DKIM results"));
	assert_true(cli_filter_narrows(&flt));
	cli_filter_free(&flt);
}

static void
test_window(void **state)
{
	struct cli_filter flt;

	(void)state;
	cli_filter_init(&flt, T0);
	cli_filter_window(&flt, 0, 24 * HOUR);
	assert_true(flt.has_since && flt.has_until);
	assert_int_equal(flt.since, T0 - 24 * HOUR);
	assert_true(flt.until > T0);
	cli_filter_free(&flt);
	cli_filter_init(&flt, T0);
	cli_filter_window(&flt, 1, 24 * HOUR);
	assert_int_equal(flt.since, 0);
	cli_filter_free(&flt);
}

static struct cli_msg *
load(struct fix *f, int64_t id)
{
	struct cli_loader ld;
	struct cli_msg	*msg = NULL;

	assert_int_equal(cli_loader_init(&ld, &f->cli), 0);
	assert_int_equal(cli_msg_load(&ld, id, &msg), 0);
	cli_loader_free(&ld);
	return msg;
}

static void
test_show_message(void **state)
{
	struct fix	*f = *state;
	struct cli_loader ld;
	struct cli_msg	*msg;
	json_t		*j, *r;
	char		*out, *dump;
	size_t		 i;

	open_fix(f);
	assert_int_equal(cli_loader_init(&ld, &f->cli), 0);
	assert_int_equal(cli_msg_load(&ld, 999, &msg), 1);
	assert_null(msg);
	cli_loader_free(&ld);

	msg = load(f, 2);
	assert_int_equal(msg->n_rcpt, 2);
	assert_int_equal(msg->n_spf, 1);
	assert_int_equal(msg->n_dkim, 1);
	cli_msg_print(&f->cli, msg);
	out = output(f);
	static const char *const want[] = {
		"Message " ID2,
		"Queue ID     4QA",
		"Client       192.0.2.10 port 4000",
		"TLS          TLSv1.3 TLS_AES_256_GCM_SHA384 (256 bits)",
		"AUTH         PLAIN as alice",
		"MAIL FROM    <>",
		"<x@example.net>  rejected 550 5.1.1 User unknown",
		"= permanent: bad destination mailbox address",
		"Subject      Re: hello\\x00\\xff\\x1b[2J",
		"SPF          helo mx1.example.org: fail (-all) - not allowed",
		"DKIM         d=example.org s=s1 rsa-sha256 2048 bits: fail"
		" (body hash did not verify)",
		/* Folds read as one space; a bare line break stays escaped. */
		"A-R header   mx.test; spf=fail dkim=fail reason=\"x\"\\x0atail",
	};
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(out, want[i]) == NULL)
			fail_msg("want \"%s\" in:\n%s", want[i], out);
	assert_null(strchr(out, 0x1b));
	/* Schema 5 has delivery_events: a message without any says so. */
	assert_non_null(strstr(out, "no delivery events recorded"));
	free(out);

	j = cli_msg_json(&f->cli, msg);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "track_id")),
	    ID2);
	assert_null(json_object_get(j, "id"));
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(j, "connection"), "client_addr")), "192.0.2.10");
	r = json_array_get(json_object_get(j, "recipients"), 1);
	assert_string_equal(json_string_value(json_object_get(r, "explain")),
	    "permanent: bad destination mailbox address");
	assert_int_equal(json_integer_value(json_object_get(r, "reply_code")),
	    550);
	assert_string_equal(json_string_value(json_object_get(j,
	    "start_time")), "2026-11-25T13:00:00.000000Z");
	assert_int_equal(json_array_size(json_object_get(j, "spf")), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j,
	    "delivery"), "summary")), "1 pending, 1 rejected");
	dump = json_dumps(j, JSON_COMPACT);
	assert_null(strchr(dump, 0x1b));
	assert_non_null(strstr(dump, "Re: hello\\u0000\xc3\xbf\\u001B[2J"));
	free(dump);
	json_decref(j);
	cli_msg_free(msg);

	/* The forged header, and a message with no queue ID. */
	msg = load(f, 3);
	cli_msg_print(&f->cli, msg);
	out = output(f);
	assert_non_null(strstr(out, "removed X-Mailtrail-ID: FORGED (#1 of"
	    " that name; forged tracking header)"));
	assert_non_null(strstr(out, "aborted (last stage seen: rcpt)"));
	assert_non_null(strstr(out, "DKIM         no signatures"));
	free(out);
	cli_msg_free(msg);
	msg = load(f, 4);
	cli_msg_print(&f->cli, msg);
	out = output(f);
	assert_non_null(strstr(out, "Queue ID     none"));
	assert_non_null(strstr(out, "= temporary: delivery not authorized"));
	assert_non_null(strstr(out, "no SPF or DKIM results recorded"));
	free(out);
	cli_msg_free(msg);
}

static void
test_summary_json(void **state)
{
	struct fix	*f = *state;
	struct cli_summary *s;
	struct cli_row	*row;
	sqlite3_stmt	*st;
	json_t		*doc, *m;
	json_error_t	 jerr;
	char		*out, sql[1024];

	open_fix(f);
	f->cli.json = 1;
	s = cli_summary_begin(&f->cli, 0);
	assert_non_null(s);
	snprintf(sql, sizeof(sql), "%s WHERE m.id = 2",
	    cli_summary_select(&f->cli.j));
	assert_int_equal(sqlite3_prepare_v2(f->cli.j.db, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	row = cli_row_copy(st);
	sqlite3_finalize(st);
	assert_int_equal(cli_summary_add(s, row), 0);
	cli_row_free(row);
	assert_int_equal(cli_summary_end(s, 1), 0);
	f->cli.json = 0;
	out = output(f);
	doc = json_loads(out, JSON_ALLOW_NUL, &jerr);
	if (doc == NULL)
		fail_msg("not JSON (%s): %s", jerr.text, out);
	assert_int_equal(json_integer_value(json_object_get(doc, "count")), 1);
	assert_true(json_is_true(json_object_get(doc, "more")));
	m = json_array_get(json_object_get(doc, "messages"), 0);
	assert_string_equal(json_string_value(json_object_get(m, "spf_result")),
	    "fail");
	assert_int_equal(json_array_size(json_object_get(m, "recipients")), 2);
	assert_null(json_object_get(m, "first_rcpt"));
	/* Schema 5 without any delivery fact: answered from the counts. */
	assert_string_equal(json_string_value(json_object_get(m, "delivery")),
	    "1 pending, 1 rejected");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(m, "recipients"), 0), "delivery_state")),
	    "pending");
	json_decref(doc);
	free(out);
}

#define ID5	"01JDB6Q5Z6Y3K9W2X4V8T0R1N5"
#define ID6	"01JDB6Q5Z6Y3K9W2X4V8T0R1N6"
#define ID7	"01JDB6Q5Z6Y3K9W2X4V8T0R1N7"

/*
 * Delivery (schema 5), on top of the fixture:
 *   1 (4QA): bob deferred (greylisted) then sent, handed to 4NEXT, which is
 *     message 5 on a second gateway, sent on as 4LAST, whose log line
 *     hands it back to 4NEXT (a loop); carol sent as 4OTHER, then a
 *     returning bounce says user unknown;
 *   2 (4QA again: the queue ID reused): dave bounced; x rejected at RCPT;
 *   3 aborted: eve was never queued;
 *   6 (6QC): gina deferred with a hostile reply, hank pending, ivan
 *     expired;
 *   7 (7QD): frank deferred twice, then the queue gave up (expired) and
 *     the MTA sent a notice as 7NDR5, known from the log only;
 *   log_positions: one file.
 */
static const char dlv_fixture[] =
"INSERT INTO messages (id, track_id, conn_id, start_time, stage, outcome,"
" mail_from, queue_id, rcpt_accepted, rcpt_rejected, spf_result,"
" dkim_result) VALUES"
" (5, '" ID5 "', 1, :t0 + 599000000, 'eom', 'accepted',"
"  'relay@example.org', '4NEXT', 1, 0, 'pass', 'pass'),"
" (6, '" ID6 "', 2, :t0 + 18000000000, 'eom', 'accepted',"
"  'shop@example.org', '6QC', 3, 0, 'none', 'none'),"
" (7, '" ID7 "', 2, :t0 + 21600000000, 'eom', 'accepted',"
"  'sender@example.org', '7QD', 1, 0, 'pass', NULL);"
"INSERT INTO recipients (message, seq, time, address, status) VALUES"
" (5, 1, :t0, 'bob@example.net', 'accepted'),"
" (6, 1, :t0, 'gina@example.org', 'accepted'),"
" (6, 2, :t0, 'hank@example.org', 'accepted'),"
" (6, 3, :t0, 'ivan@Example.COM', 'accepted'),"
" (7, 1, :t0, 'frank@example.org', 'accepted');"
"INSERT INTO delivery_events (message, queue_id, time, mta, recipient,"
" orig_recipient, status, relay, dsn, reply_code, reply, delay, delays,"
" next_queue_id, source, line_hash) VALUES"
" (1, '4QA', :t0 + 5000000, 'postfix', 'bob@example.net', NULL,"
"  'deferred', 'mx.example.net[192.0.2.1]:25', '4.7.1', 451,"
"  '451 4.7.1 greylisted, try again', 5, '0.1/0/0.4/4.5', NULL,"
"  'follower', 1),"
" (1, '4QA', :t0 + 600000000, 'postfix', 'BOB@example.net', NULL, 'sent',"
"  'mx.example.net[192.0.2.1]:25', '2.0.0', 250,"
"  '250 2.0.0 Ok: queued as 4NEXT', 600, '0.1/0/0.4/599.5', '4NEXT',"
"  'follower', 2),"
" (1, '4QA', :t0 + 20000000, 'postfix', 'carol@example.net', NULL, 'sent',"
"  'mx.example.net[192.0.2.1]:25', '2.0.0', 250,"
"  '250 2.0.0 Ok: queued as 4OTHER', 20, NULL, '4OTHER', 'follower', 3),"
" (2, '4QA', :t0 + 3605000000, 'postfix', 'dave@example.com', NULL,"
"  'bounced', 'mx.example.com[198.51.100.1]:25', '5.1.1', 550,"
"  'host mx.example.com said: 550 5.1.1 user unknown', 5, NULL, NULL,"
"  'follower', 4),"
" (5, '4NEXT', :t0 + 601000000, 'postfix', 'bob@example.net', NULL,"
"  'sent', 'mbox.example.net[192.0.2.5]:25', '2.0.0', 250,"
"  '250 2.0.0 Ok: queued as 4LAST', 1, NULL, '4LAST', 'follower', 5),"
" (NULL, '4LAST', :t0 + 602000000, 'postfix', 'bob@example.net', NULL,"
"  'sent', 'local', '2.0.0', NULL, 'forwarded as 4NEXT', 1, NULL,"
"  '4NEXT', 'ingest', 6),"
" (6, '6QC', :t0 + 18010000000, 'postfix', 'gina@example.org', NULL,"
"  'deferred', 'none', '4.4.1', NULL, CAST(X'636F6E6E65637420746F206D782E686F7374696C652E746573743A201B5B324A1B5D303B70776E6564072074696D6564206F7574' AS TEXT),"
"  10, NULL, NULL, 'follower', 7),"
" (7, '7QD', :t0 + 21610000000, 'postfix', 'frank@example.org', NULL,"
"  'deferred', 'none', '4.4.1', NULL, 'connection timed out', 10, NULL,"
"  NULL, 'follower', 8),"
" (7, '7QD', :t0 + 25200000000, 'postfix', 'frank@example.org', NULL,"
"  'deferred', 'none', '4.4.1', NULL, 'connection timed out', 3600, NULL,"
"  NULL, 'follower', 9),"
" (NULL, '7NDR5', :t0 + 453600000000, 'postfix', 'sender@example.org',"
"  NULL, 'sent', 'local', '2.0.0', NULL, 'delivered to mailbox', 1, NULL,"
"  NULL, 'follower', 10),"
" (6, '6QC', :t0 + 19000000000, 'postfix', 'ivan@example.com', NULL,"
"  'expired', 'none', '4.4.7', NULL, 'gave up', 432000, NULL, NULL,"
"  'follower', 11);"
"INSERT INTO queue_events (message, queue_id, time, mta, kind, sender,"
" nrcpt, related_queue_id, source, line_hash) VALUES"
" (1, '4QA', :t0 + 601000000, 'postfix', 'removed', NULL, NULL, NULL,"
"  'follower', 21),"
" (7, '7QD', :t0 + 453600000000, 'postfix', 'expired', 'sender@example.org',"
"  NULL, NULL, 'follower', 22),"
" (7, '7QD', :t0 + 453600000000, 'postfix', 'notify', NULL, NULL, '7NDR5',"
"  'follower', 23),"
" (NULL, '7NDR5', :t0 + 453600000000, 'postfix', 'queued', '', 1, NULL,"
"  'follower', 24),"
" (NULL, '7NDR5', :t0 + 453602000000, 'postfix', 'removed', NULL, NULL,"
"  NULL, 'follower', 25);"
"INSERT INTO bounces (id, message, link, time, source, kind, format,"
" reporting_mta, orig_track_id, content_hash) VALUES"
" (1, 1, 'tracking-id', :t0 + 3600000000, 'milter', 'failure', 'rfc3464',"
"  'mbox.example.net', '" ID1 "', 1);"
"INSERT INTO bounce_recipients (bounce, seq, recipient, action, status,"
" reply_code, permanent, reason, remote_mta, diagnostic) VALUES"
" (1, 1, 'carol@example.net', 'failed', '5.1.1', 550, 1, 'user-unknown',"
"  'mbox.example.net',"
"  'smtp; 550 5.1.1 <carol@example.net>: Recipient address rejected');"
"INSERT INTO log_positions (path, offset, updated, lines, unparsed,"
" too_long) VALUES ('/var/log/mail.log', 12345, :t0, 1000, 3, 1);";

static void
open_dlv(struct fix *f)
{
	make_journal(f->path, SCHEMA_VERSION, dlv_fixture);
	open_fix(f);
}

static struct cli_dlv *
dlv_of(struct fix *f, int64_t id)
{
	struct cli_dlv_ctx ctx;
	struct cli_dlv	*d = NULL;

	assert_int_equal(cli_dlv_ctx_init(&ctx, f->cli.j.db), 0);
	if (cli_dlv_load(&ctx, id, NULL, 0, NULL, 1, &d) != 0)
		fail_msg("load %lld: %s", (long long)id, ctx.err);
	cli_dlv_ctx_free(&ctx);
	return d;
}

/* The states of a message's recipients, "addr=state ...". */
static void
check_states(struct fix *f, int64_t id, const char *want)
{
	struct cli_dlv	*d = dlv_of(f, id);
	char		 got[512];
	size_t		 i, o = 0;

	got[0] = '\0';
	for (i = 0; i < d->n_rcpt; i++)
		o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s=%s",
		    i > 0 ? " " : "", d->rcpt[i].address,
		    cli_dstate_name(d->rcpt[i].state));
	if (strcmp(got, want) != 0)
		fail_msg("message %lld: got \"%s\", want \"%s\"", (long long)id,
		    got, want);
	cli_dlv_free(d);
}

static void
test_delivery_states(void **state)
{
	static const struct {
		int64_t		 id;
		const char	*want;
	} cases[] = {
		/* Deferred then sent; sent then bounced by a report. */
		{ 1, "bob@example.net=delivered carol@example.net=bounced" },
		/* The same queue ID, another message: only its own events. */
		{ 2, "dave@example.com=bounced x@example.net=rejected" },
		{ 3, "eve@example.org=not-queued" },
		{ 4, "y@other.test=rejected z@other.test=rejected" },
		{ 5, "bob@example.net=delivered" },
		{ 6, "gina@example.org=deferred hank@example.org=pending"
		  " ivan@Example.COM=expired" },
		/* Only deferrals, then the queue's own "expired". */
		{ 7, "frank@example.org=expired" },
	};
	struct fix	*f = *state;
	struct cli_dlv	*d;
	size_t		 i, counts[CLI_DS_COUNT];
	char		 text[128], *s;

	open_dlv(f);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_states(f, cases[i].id, cases[i].want);

	d = dlv_of(f, 1);
	/* bob: both events, in time order; the sent one decided. */
	assert_int_equal(d->rcpt[0].n_facts, 2);
	assert_ptr_equal(d->rcpt[0].decided, &d->rcpt[0].facts[1]);
	/* carol: the log's "sent" and the report, both kept. */
	assert_int_equal(d->rcpt[1].n_facts, 2);
	assert_non_null(d->rcpt[1].facts[0].ev);
	assert_non_null(d->rcpt[1].facts[1].br);
	assert_true(d->rcpt[1].sent_then_bounced);
	cli_dlv_counts(d, counts);
	cli_dlv_counts_text(text, sizeof(text), counts);
	assert_string_equal(text, "1 delivered, 1 bounced");
	s = cli_dlv_sentence(&d->rcpt[0]);
	assert_string_equal(s, "delivered to mx.example.net (250 2.0.0 Ok:"
	    " queued as 4NEXT)");
	free(s);
	s = cli_dlv_sentence(&d->rcpt[1]);
	assert_string_equal(s, "bounced: smtp; 550 5.1.1 <carol@example.net>:"
	    " Recipient address rejected - the mailbox does not exist (the"
	    " next hop accepted it, then sent a bounce)");
	free(s);
	/* Reused queue ID: message 1 holds no event of message 2. */
	assert_int_equal(d->n_events, 3);
	cli_dlv_free(d);

	d = dlv_of(f, 2);
	assert_int_equal(d->n_events, 1);
	s = cli_dlv_sentence(&d->rcpt[0]);
	assert_string_equal(s, "bounced: host mx.example.com said: 550 5.1.1"
	    " user unknown - bad destination mailbox address");
	free(s);
	cli_dlv_free(d);

	d = dlv_of(f, 6);
	s = cli_dlv_sentence(&d->rcpt[0]);
	/* The hostile reply, escaped. */
	if (strstr(s, "deferred: connect to mx.hostile.test: \\x1b[2J") != s ||
	    strchr(s, 0x1b) != NULL || strchr(s, 0x07) != NULL)
		fail_msg("got \"%s\"", s);
	assert_non_null(strstr(s, " - no answer from host; will retry"));
	free(s);
	s = cli_dlv_sentence(&d->rcpt[1]);
	assert_string_equal(s, "pending: no delivery attempt recorded yet");
	free(s);
	cli_dlv_free(d);

	/* Parsing the words. */
	assert_int_equal(cli_dstate_parse("Delivered", 9), CLI_DS_DELIVERED);
	assert_int_equal(cli_dstate_parse("not-queued", 10), CLI_DS_NOT_QUEUED);
	assert_int_equal(cli_dstate_parse("sent", 4), -1);
}

static void
test_delivery_show(void **state)
{
	struct fix	*f = *state;
	struct cli_msg	*msg;
	char		*out;
	size_t		 i;

	open_dlv(f);
	msg = load(f, 1);
	assert_non_null(msg->dlv);
	cli_msg_print(&f->cli, msg);
	out = output(f);
	static const char *const want[] = {
		"Delivery  1 delivered, 1 bounced",
		"  <bob@example.net>  delivered to mx.example.net (250 2.0.0"
		" Ok: queued as 4NEXT)",
		"    2026-11-25T12:00:05Z  deferred via"
		" mx.example.net[192.0.2.1]:25, dsn 4.7.1, delay 5s"
		" (a/b/c/d 0.1/0/0.4/4.5)",
		"451 4.7.1 greylisted, try again",
		"= temporary: delivery not authorized",
		"    2026-11-25T12:10:00Z  sent via mx.example.net[192.0.2.1]:25,"
		" dsn 2.0.0, delay 10m",
		"  <carol@example.net>  bounced: ",
		"    2026-11-25T13:00:00Z  report: failed 5.1.1 (550) from"
		" mbox.example.net, user-unknown: the mailbox does not exist",
		"= permanent: bad destination mailbox address",
		"  Hand-offs",
		"    <BOB@example.net> handed to mx.example.net[192.0.2.1]:25 as"
		" 4NEXT",
		"      4NEXT continues in this journal: message " ID5 "; sent"
		" via mbox.example.net[192.0.2.5]:25 (250 2.0.0 Ok: queued as"
		" 4LAST)",
		"      then handed to mbox.example.net[192.0.2.5]:25 as 4LAST",
		"      4LAST continues in this journal: sent via local"
		" (forwarded as 4NEXT)",
		"      (stopped following: a queue ID seen before, or more than 5"
		" hops)",
		"    <carol@example.net> handed to mx.example.net[192.0.2.1]:25"
		" as 4OTHER",
		"  Queue",
		"    2026-11-25T12:10:01Z  removed: done, the queue file is gone",
		"  Bounces received",
		"    2026-11-25T13:00:00Z  failure report (rfc3464) from"
		" mbox.example.net, linked by tracking-id",
		"      <carol@example.net> failed 5.1.1 (550) from"
		" mbox.example.net, user-unknown: the mailbox does not exist",
	};
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(out, want[i]) == NULL)
			fail_msg("want \"%s\" in:\n%s", want[i],
			    strstr(out, "Delivery"));
	free(out);
	cli_msg_free(msg);

	/* Hostile bytes never reach the terminal. */
	msg = load(f, 6);
	cli_msg_print(&f->cli, msg);
	out = output(f);
	assert_null(strchr(out, 0x1b));
	assert_null(strchr(out, 0x07));
	assert_non_null(strstr(out, "\\x1b]0;pwned\\x07 timed out"));
	assert_non_null(strstr(out, "<hank@example.org>  pending"));
	assert_non_null(strstr(out, "<ivan@Example.COM>  expired: the MTA gave"
	    " up retrying after 5d; last: gave up"));
	free(out);
	cli_msg_free(msg);

	/* The queue's own facts: expired, and the notice's queue ID. */
	msg = load(f, 7);
	cli_msg_print(&f->cli, msg);
	out = output(f);
	assert_non_null(strstr(out, "<frank@example.org>  expired: the MTA"
	    " gave up retrying (the queue lifetime ran out); last: connection"
	    " timed out - no answer from host"));
	assert_non_null(strstr(out, "deferred, no relay reached, dsn 4.4.1,"
	    " delay 1h"));
	assert_non_null(strstr(out, "notify: the MTA sent a non-delivery"
	    " notice to the sender as 7NDR5 (mailtrail show 7NDR5)"));
	free(out);
	cli_msg_free(msg);

	/* A message that was never accepted. */
	msg = load(f, 3);
	cli_msg_print(&f->cli, msg);
	out = output(f);
	assert_non_null(strstr(out, "<eve@example.org>  not queued"));
	assert_non_null(strstr(out, "no delivery events recorded"));
	free(out);
	cli_msg_free(msg);
}

static void
test_delivery_queue_only(void **state)
{
	struct fix	*f = *state;
	struct cli_dlv_ctx ctx;
	struct cli_dlv	*d;
	json_t		*j;
	char		*out;

	open_dlv(f);
	assert_int_equal(cli_dlv_ctx_init(&ctx, f->cli.j.db), 0);
	assert_int_equal(cli_dlv_load_queue(&ctx, "NOSUCH", 0, INT64_MAX, &d),
	    1);
	/* A queue ID only the log knows: the notice the MTA generated. */
	assert_int_equal(cli_dlv_load_queue(&ctx, "7NDR5", 0, INT64_MAX, &d), 0);
	assert_int_equal(d->n_rcpt, 1);
	assert_int_equal(d->rcpt[0].state, CLI_DS_DELIVERED);
	assert_int_equal(d->n_queue, 2);
	cli_dlv_print(&f->cli, d);
	out = output(f);
	assert_non_null(strstr(out, "<sender@example.org>  delivered to local"
	    " (delivered to mailbox)"));
	assert_non_null(strstr(out, "queued from=<> nrcpt=1"));
	free(out);
	j = cli_dlv_json(d);
	assert_string_equal(json_string_value(json_object_get(j, "queue_id")),
	    "7NDR5");
	json_decref(j);
	cli_dlv_free(d);
	/* A queue ID linked to a message is not log-only. */
	assert_int_equal(cli_dlv_load_queue(&ctx, "4NEXT", 0, INT64_MAX, &d),
	    1);
	/* The window applies. */
	assert_int_equal(cli_dlv_load_queue(&ctx, "7NDR5", 0, T0, &d), 1);
	cli_dlv_ctx_free(&ctx);
}

static void
test_delivery_json(void **state)
{
	struct fix	*f = *state;
	struct cli_msg	*msg;
	json_t		*j, *dl, *r, *tl, *h, *b;
	char		*dump;

	open_dlv(f);
	msg = load(f, 1);
	j = cli_msg_json(&f->cli, msg);
	dl = json_object_get(j, "delivery");
	assert_non_null(dl);
	assert_string_equal(json_string_value(json_object_get(dl, "summary")),
	    "1 delivered, 1 bounced");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    dl, "counts"), "delivered")), 1);
	r = json_array_get(json_object_get(dl, "recipients"), 1);
	assert_string_equal(json_string_value(json_object_get(r, "address")),
	    "carol@example.net");
	assert_string_equal(json_string_value(json_object_get(r, "state")),
	    "bounced");
	assert_true(json_is_true(json_object_get(r, "accepted_then_bounced")));
	assert_int_equal(json_integer_value(json_object_get(r, "decided_by")),
	    1);
	tl = json_object_get(r, "timeline");
	assert_int_equal(json_array_size(tl), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    tl, 0), "fact")), "log");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    tl, 0), "time")), "2026-11-25T12:00:20.000000Z");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    tl, 1), "fact")), "bounce");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    tl, 1), "reason_text")), "the mailbox does not exist");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    tl, 1), "link")), "tracking-id");
	assert_null(json_object_get(json_array_get(tl, 0), "line_hash"));
	/* carol's (to 4OTHER, not in this journal), then bob's. */
	h = json_array_get(json_object_get(dl, "handoffs"), 0);
	assert_int_equal(json_array_size(json_object_get(h, "hops")), 1);
	assert_true(json_is_null(json_object_get(json_array_get(
	    json_object_get(h, "hops"), 0), "event")));
	h = json_array_get(json_object_get(dl, "handoffs"), 1);
	assert_int_equal(json_array_size(json_object_get(h, "hops")), 2);
	assert_true(json_is_true(json_object_get(h, "cut")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(h, "hops"), 0), "track_id")), ID5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(h, "hops"), 1), "queue_id")), "4LAST");
	b = json_array_get(json_object_get(dl, "bounces"), 0);
	assert_string_equal(json_string_value(json_object_get(b, "kind")),
	    "failure");
	assert_int_equal(json_array_size(json_object_get(b, "recipients")), 1);
	assert_int_equal(json_array_size(json_object_get(dl, "queue_events")),
	    1);
	assert_int_equal(json_array_size(json_object_get(dl, "other_events")),
	    0);
	json_decref(j);
	cli_msg_free(msg);

	/* Hostile bytes are JSON-escaped. */
	msg = load(f, 6);
	j = cli_msg_json(&f->cli, msg);
	dump = json_dumps(j, JSON_COMPACT);
	assert_null(strchr(dump, 0x1b));
	assert_non_null(strstr(dump, "\\u001B[2J"));
	free(dump);
	json_decref(j);
	cli_msg_free(msg);
}

static void
test_delivery_find(void **state)
{
	static const struct {
		const char	*name;
		int		 opts[3];
		const char	*vals[3];
		const char	*want;
	} cases[] = {
		{ "delivered", { CLI_OPT_STATUS }, { "delivered" }, "5 1" },
		{ "bounced", { CLI_OPT_STATUS }, { "bounced" }, "2 1" },
		{ "expired", { CLI_OPT_STATUS }, { "expired" }, "7 6" },
		{ "deferred", { CLI_OPT_STATUS }, { "deferred" }, "6" },
		{ "pending", { CLI_OPT_STATUS }, { "pending" }, "6" },
		{ "not-queued", { CLI_OPT_STATUS }, { "not-queued" }, "3" },
		{ "pending or rejected, without facts", { CLI_OPT_STATUS },
		  { "pending,rejected" }, "6 4 2" },
		{ "rejected", { CLI_OPT_STATUS }, { "rejected" }, "4 2" },
		{ "an outcome or a state", { CLI_OPT_STATUS },
		  { "aborted,DELIVERED" }, "3 5 1" },
		{ "did bob get it", { CLI_OPT_TO, CLI_OPT_STATUS },
		  { "bob@example.net", "delivered" }, "5 1" },
		{ "to and since", { CLI_OPT_TO, CLI_OPT_SINCE },
		  { "carol@example.net", "2026-11-25" }, "1" },
	};
	static const char *const column[] = { "1 delivered, 1 bounced",
	    "1 bounced, 1 rejected", "1 not-queued", "2 rejected",
	    "1 deferred, 1 expired, 1 pending" };
	struct fix	*f = *state;
	struct cli_filter flt;
	sqlite3_stmt	*st;
	char		 sql[1024], err[CLI_ERRLEN];
	size_t		 i;

	open_dlv(f);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_find(f, cases[i].name, cases[i].opts, cases[i].vals,
		    cases[i].want);
	/* The list's DELIVERY column (3 and 4 have no delivery fact: they
	 * are answered from the message's counts). */
	snprintf(sql, sizeof(sql), "%s WHERE m.id IN (1, 2, 3, 4, 6)"
	    " ORDER BY m.id", cli_summary_select(&f->cli.j));
	assert_int_equal(sqlite3_prepare_v2(f->cli.j.db, sql, -1, &st, NULL),
	    SQLITE_OK);
	for (i = 0; i < sizeof(column) / sizeof(column[0]); i++) {
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal(sqlite3_column_text(st,
		    sqlite3_column_count(st) - 1), column[i]);
	}
	sqlite3_finalize(st);
	/* find --to: that recipient's state first. */
	{
		struct cli_sql	 q;
		struct cli_summary *sum;
		struct cli_row	*row;
		char		*out;

		cli_sql_init(&q);
		cli_summary_sql(&q, &f->cli.j, "CAROL@example.net");
		cli_sql_add(&q, " WHERE m.id = 1");
		assert_int_equal(cli_sql_prepare(&q, f->cli.j.db, &st),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		row = cli_row_copy(st);
		sqlite3_finalize(st);
		cli_sql_free(&q);
		assert_string_equal(cli_row_text(row, "delivery_to", NULL),
		    "bounced");
		sum = cli_summary_begin(&f->cli, 0);
		assert_int_equal(cli_summary_add(sum, row), 0);
		assert_int_equal(cli_summary_end(sum, 0), 0);
		cli_row_free(row);
		out = output(f);
		if (strstr(out, "bounced (all: 1 delivered, 1 bounced)") ==
		    NULL)
			fail_msg("got %s", out);
		free(out);
	}
	/* A word that is no state; delivery states on an older journal. */
	cli_filter_init(&flt, T0);
	assert_int_equal(cli_filter_option(&flt, CLI_OPT_STATUS, "sent", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "delivered, deferred, bounced"));
	assert_int_equal(cli_filter_option(&flt, CLI_OPT_STATUS, "bounced",
	    err, sizeof(err)), 1);
	assert_int_equal(cli_filter_check_delivery(&flt, 0, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "schema version 5"));
	assert_int_equal(cli_filter_check_delivery(&flt, 1, err, sizeof(err)),
	    0);
	cli_filter_free(&flt);
}

/* Run tail's query for new events or bounces; the queue IDs found. */
static void
check_tail(struct fix *f, int bounces, int opt, const char *val,
    const char *want)
{
	struct cli_filter flt;
	struct cli_sql	 q;
	sqlite3_stmt	*st;
	char		 err[CLI_ERRLEN], got[256];
	size_t		 o = 0;
	int		 col;

	cli_filter_init(&flt, T0);
	if (opt != 0 && cli_filter_option(&flt, opt, val, err,
	    sizeof(err)) != 1)
		fail_msg("%s: %s", val, err);
	assert_int_equal(cli_filter_register(f->cli.j.db, &flt), 0);
	cli_sql_init(&q);
	got[0] = '\0';
	if (cli_dlv_tail_sql(&q, &flt, bounces, 0, INT64_MAX) == 0) {
		if (cli_sql_prepare(&q, f->cli.j.db, &st) != SQLITE_OK)
			fail_msg("prepare: %s (%s)", sqlite3_errmsg(f->cli.j.db),
			    q.buf);
		while (sqlite3_step(st) == SQLITE_ROW) {
			for (col = 0; col < sqlite3_column_count(st); col++)
				if (strcmp(sqlite3_column_name(st, col),
				    bounces ? "reporting_mta" : "queue_id") == 0)
					break;
			o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s",
			    o > 0 ? " " : "", sqlite3_column_text(st, col));
		}
		sqlite3_finalize(st);
	} else
		snprintf(got, sizeof(got), "none");
	cli_sql_free(&q);
	cli_filter_free(&flt);
	if (strcmp(got, want) != 0)
		fail_msg("tail %s %s: got \"%s\", want \"%s\"", bounces ?
		    "bounces" : "events", val != NULL ? val : "", got, want);
}

static void
test_delivery_tail(void **state)
{
	struct fix	*f = *state;

	open_dlv(f);
	check_tail(f, 0, CLI_OPT_TO, "BOB@example.net", "4QA 4QA 4NEXT 4LAST");
	check_tail(f, 0, CLI_OPT_TO, "@example.com", "4QA 6QC");
	check_tail(f, 0, CLI_OPT_STATUS, "deferred", "4QA 6QC 7QD 7QD");
	check_tail(f, 0, CLI_OPT_STATUS, "bounced,expired", "4QA 6QC");
	check_tail(f, 0, CLI_OPT_STATUS, "pending", "none");
	/* The message filters: events of no message do not match. */
	check_tail(f, 0, CLI_OPT_FROM, "relay@example.org", "4NEXT");
	check_tail(f, 1, CLI_OPT_TO, "carol@example.net", "mbox.example.net");
	check_tail(f, 1, CLI_OPT_TO, "bob@example.net", "");
	check_tail(f, 1, CLI_OPT_STATUS, "deferred", "none");
	check_tail(f, 1, 0, NULL, "mbox.example.net");
}

static void
test_delivery_stats(void **state)
{
	struct fix	*f = *state;
	struct cli_dstats s;
	char		 err[CLI_ERRLEN];
	double		 v[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

	open_dlv(f);
	if (cli_dstats_load(f->cli.j.db, 1, 0, INT64_MAX, &s, err,
	    sizeof(err)) != 0)
		fail_msg("stats: %s", err);
	assert_int_equal(s.events, 11);
	assert_int_equal(s.sent, 5);
	assert_int_equal(s.deferred, 4);
	assert_int_equal(s.bounced, 1);
	assert_int_equal(s.expired, 1);
	assert_int_equal(s.finished, 7);
	/* (queue ID, recipient), case ignored: 4QA bob counts once. */
	assert_int_equal(s.rcpts, 9);
	assert_int_equal(s.rcpts_deferred, 3);
	assert_int_equal(s.n_delays, 5);
	assert_true(s.p50 == 1 && s.p90 == 600 && s.p99 == 600);
	assert_int_equal(s.reports, 1);
	assert_int_equal(s.report_failed, 1);
	/* Bounces: dave (log), carol (report), ivan (log, expired). */
	assert_int_equal(s.n_bounce, 3);
	assert_string_equal(s.bounce[0].domain, "example.com");
	assert_string_equal(s.bounce[0].code, "4.4.7");
	assert_int_equal(s.bounce[0].log, 1);
	assert_string_equal(s.bounce[1].domain, "example.com");
	assert_string_equal(s.bounce[1].code, "5.1.1");
	assert_string_equal(s.bounce[2].domain, "example.net");
	assert_int_equal(s.bounce[2].log, 0);
	assert_int_equal(s.bounce[2].reports, 1);
	assert_string_equal(s.bounce[2].reason, "user-unknown");
	assert_int_equal(s.n_defer, 2);
	assert_string_equal(s.defer[0].domain, "example.org");
	assert_string_equal(s.defer[0].code, "4.4.1");
	assert_int_equal(s.defer[0].log, 3);
	assert_string_equal(s.defer[1].code, "4.7.1");
	/* By DKIM: pass (messages 1, 5): 3 final, none bounced; fail
	 * (message 2): 1 of 1; none (message 6): the expired one. */
	assert_int_equal(s.n_dkim, 3);
	assert_string_equal(s.dkim[0].result, "fail");
	assert_int_equal(s.dkim[0].final, 1);
	assert_int_equal(s.dkim[0].bounced, 1);
	assert_string_equal(s.dkim[2].result, "pass");
	assert_int_equal(s.dkim[2].final, 3);
	assert_int_equal(s.dkim[2].bounced, 0);
	assert_int_equal(s.n_logs, 1);
	assert_int_equal(cli_row_int(s.logs[0], "unparsed", 0), 3);
	cli_dstats_free(&s);
	/* A window without events. */
	assert_int_equal(cli_dstats_load(f->cli.j.db, 1, 0, T0, &s, err,
	    sizeof(err)), 0);
	assert_int_equal(s.events, 0);
	assert_true(s.p50 < 0);
	cli_dstats_free(&s);
	/* Nearest rank. */
	assert_true(cli_percentile(v, 10, 50) == 5);
	assert_true(cli_percentile(v, 10, 90) == 9);
	assert_true(cli_percentile(v, 10, 99) == 10);
	assert_true(cli_percentile(v, 1, 50) == 1);
	assert_true(cli_percentile(v, 0, 50) < 0);
}

/* ------------------------------------------------------------ damaged */

/*
 * A damaged or hostile journal: REALs and extreme values where INTEGERs
 * belong (1e300 once reached an int64_t conversion, undefined behaviour;
 * end_time - start_time overflowed), and a C1 control (U+009B, a
 * terminal's CSI) in a Subject.
 */
static const char damage[] =
"UPDATE messages SET start_time = 1e300, end_time = -1e300,"
" size = 1e300, rcpt_accepted = -1e300, subject = CAST(X'41C29B324A42' AS"
" TEXT) WHERE id = 1;"
"UPDATE messages SET start_time = -9223372036854775808,"
" end_time = 9223372036854775807, size = 'many',"
" subject = CAST(X'C29B' AS TEXT) WHERE id = 2;"
"UPDATE messages SET subject = CAST(X'78C29B' AS TEXT) WHERE id = 3;"
"UPDATE recipients SET reply_code = 1e300, time = -1e300 WHERE message = 2;"
"UPDATE connections SET connect_time = 1e300, client_port = -1e300;";

/* Run a command ("show", "find", "export") with args; stdout into *out. */
static int
run_cmd(struct fix *f, char **out, int (*cmd)(struct cli *, int, char **),
    const char *name, const char *a1, const char *a2, const char *a3)
{
	struct cli	 cli;
	char		*argv[6], path[96];
	int		 argc = 0, rc, saved, fd;
	FILE		*fp;
	long		 n;

	memset(&cli, 0, sizeof(cli));
	snprintf(path, sizeof(path), "%s.stdout", f->path);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	cli.out = stdout;
	cli.cmd = name;
	cli.journal_path = f->path;
	argv[argc++] = (char *)name;
	if (a1 != NULL)
		argv[argc++] = (char *)a1;
	if (a2 != NULL)
		argv[argc++] = (char *)a2;
	if (a3 != NULL)
		argv[argc++] = (char *)a3;
	argv[argc] = NULL;
	optind = 0;
	opterr = 0;
	rc = cmd(&cli, argc, argv);
	fflush(stdout);
	cli_journal_close(&cli.j);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	*out = calloc(1, (size_t)n + 1);
	assert_non_null(*out);
	assert_int_equal(fread(*out, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	unlink(path);
	return rc;
}

/* No raw C1 control (UTF-8 C2 80..C2 9F) and no ESC anywhere in s. */
static void
assert_no_raw_controls(const char *what, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p == 0x1b || (p[0] == 0xc2 && p[1] >= 0x80 &&
		    p[1] <= 0x9f))
			fail_msg("%s: raw control at offset %ld:\n%s", what,
			    (long)(p - (const unsigned char *)s), s);
}

static void
test_damaged_journal(void **state)
{
	struct fix	*f = *state;
	struct cli_row	 row;
	struct cli_val	 v;
	char		*names[1] = { (char *)"x" };
	char		*out, *dump;
	json_t		*j;
	json_error_t	 jerr;
	int		 rc;

	/* cli_row_int on REALs out of range, and NaN. */
	memset(&row, 0, sizeof(row));
	row.n = 1;
	row.names = names;
	row.v = &v;
	v.type = SQLITE_FLOAT;
	v.d = 1e300;
	assert_true(cli_row_int(&row, "x", 7) == INT64_MAX);
	v.d = -1e300;
	assert_true(cli_row_int(&row, "x", 7) == INT64_MIN);
	v.d = 9223372036854775808.0;
	assert_true(cli_row_int(&row, "x", 7) == INT64_MAX);
	v.d = -9223372036854775808.0;
	assert_true(cli_row_int(&row, "x", 7) == INT64_MIN);
	v.d = 0.0 / 0.0;
	assert_int_equal(cli_row_int(&row, "x", 7), 7);
	v.d = 42.9;
	assert_int_equal(cli_row_int(&row, "x", 7), 42);
	v.d = 1e300;
	assert_true(cli_row_time(&row, "x", 0) == CLI_TIME_MAX_US);
	v.type = SQLITE_INTEGER;
	v.i = INT64_MIN;
	assert_int_equal(cli_row_time(&row, "x", 5), 0);

	make_journal(f->path, SCHEMA_VERSION, damage);

	rc = run_cmd(f, &out, cmd_show, "show", ID1, NULL, NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "Message " ID1));
	assert_non_null(strstr(out, "Subject      A\\xc2\\x9b2JB"));
	assert_no_raw_controls("show", out);
	free(out);

	rc = run_cmd(f, &out, cmd_show, "show", ID2, NULL, NULL);
	assert_int_equal(rc, 0);
	assert_no_raw_controls("show 2", out);
	free(out);

	rc = run_cmd(f, &out, cmd_show, "show", "--json", ID1, NULL);
	assert_int_equal(rc, 0);
	assert_no_raw_controls("show --json", out);
	j = json_loads(out, 0, &jerr);
	if (j == NULL)
		fail_msg("show --json: not JSON (%s):\n%s", jerr.text, out);
	dump = json_dumps(j, 0);
	assert_non_null(dump);
	assert_non_null(strstr(dump, "A\xc2\x9b" "2JB"));
	free(dump);
	assert_non_null(strstr(out, "A\\u009b2JB"));
	json_decref(j);
	free(out);

	rc = run_cmd(f, &out, cmd_find, "find", "--json", "--since",
	    "1970-01-01");
	assert_no_raw_controls("find --json", out);
	free(out);
	rc = run_cmd(f, &out, cmd_find, "find", "--since", "1970-01-01",
	    NULL);
	assert_no_raw_controls("find", out);
	free(out);

	rc = run_cmd(f, &out, cmd_export, "export", "--json", "--all", NULL);
	assert_int_equal(rc, 0);
	assert_no_raw_controls("export --json", out);
	assert_non_null(strstr(out, "\\u009b"));
	free(out);
	rc = run_cmd(f, &out, cmd_export, "export", "--format", "csv",
	    "--all");
	assert_no_raw_controls("export csv", out);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
		cmocka_unit_test(test_filter_errors),
		cmocka_unit_test(test_window),
		cmocka_unit_test_setup_teardown(test_show_message, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_summary_json, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_delivery_states, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_delivery_show, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_delivery_queue_only, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_delivery_json, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_delivery_find, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_delivery_tail, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_damaged_journal, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_delivery_stats, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
