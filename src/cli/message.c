/*
 * message.c - load a journal message whole, and print it or its summary.
 *
 * Every value printed as text goes through cli_esc (mt_escape); values in
 * JSON through cli_json_bytes.  Codes (reply and enhanced) are annotated
 * from the catalogue (smtpcodes.h) only when they are plain ASCII.
 *
 * Sections that need tables a journal may lack (SPF, DKIM: schema 2;
 * delivery: schema 5, read and printed by delivery.c and delivery_out.c)
 * are printed only when the tables exist; the statements for them are
 * prepared only then.
 *
 * Thread safety: single-threaded.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailtrail/smtpcodes.h"
#include "cli/message.h"
#include "cli/timeparse.h"

#define LABEL_W		13

/* ---------------------------------------------------------------- loading */

static int
prep(struct cli_loader *ld, const char *sql, sqlite3_stmt **st)
{
	return cli_prepare(ld->cli, sql, st);
}

int
cli_loader_init(struct cli_loader *ld, struct cli *cli)
{
	sqlite3		*db = cli->j.db;

	memset(ld, 0, sizeof(*ld));
	ld->cli = cli;
	if (prep(ld, "SELECT * FROM messages WHERE id = ?1", &ld->msg) < 0 ||
	    prep(ld, "SELECT * FROM connections WHERE id = ?1",
	    &ld->conn) < 0 ||
	    prep(ld, "SELECT * FROM recipients WHERE message = ?1"
	    " ORDER BY seq, id", &ld->rcpt) < 0 ||
	    prep(ld, "SELECT * FROM header_edits WHERE message = ?1"
	    " ORDER BY id", &ld->edits) < 0 ||
	    prep(ld, "SELECT track_id, start_time FROM messages"
	    " WHERE parent_id = ?1 ORDER BY start_time", &ld->children) < 0)
		goto fail;
	if (cli->j.has_auth &&
	    (prep(ld, "SELECT * FROM spf_results WHERE message = ?1"
	    " ORDER BY id", &ld->spf) < 0 ||
	    prep(ld, "SELECT * FROM dkim_signatures WHERE message = ?1"
	    " ORDER BY seq, id", &ld->dkim) < 0))
		goto fail;
	if (cli->j.has_delivery) {
		if (cli_dlv_ctx_init(&ld->dlv, db) < 0) {
			cli_error(cli, "journal %s: %s", cli->j.path,
			    ld->dlv.err);
			goto fail;
		}
		ld->has_dlv = 1;
	}
	return 0;

fail:
	cli_loader_free(ld);
	return -1;
}

void
cli_loader_free(struct cli_loader *ld)
{
	sqlite3_finalize(ld->msg);
	sqlite3_finalize(ld->conn);
	sqlite3_finalize(ld->rcpt);
	sqlite3_finalize(ld->edits);
	sqlite3_finalize(ld->spf);
	sqlite3_finalize(ld->dkim);
	sqlite3_finalize(ld->children);
	if (ld->has_dlv)
		cli_dlv_ctx_free(&ld->dlv);
	memset(ld, 0, sizeof(*ld));
}

static void
free_rows(struct cli_row **rows, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		cli_row_free(rows[i]);
	free(rows);
}

void
cli_msg_free(struct cli_msg *msg)
{
	if (msg == NULL)
		return;
	cli_row_free(msg->m);
	cli_row_free(msg->c);
	free_rows(msg->rcpt, msg->n_rcpt);
	free_rows(msg->edits, msg->n_edits);
	free_rows(msg->spf, msg->n_spf);
	free_rows(msg->dkim, msg->n_dkim);
	cli_dlv_free(msg->dlv);
	free_rows(msg->children, msg->n_children);
	free(msg);
}

/* Run a bound statement and copy all its rows.  0 or -1 (printed). */
static int
all_rows(struct cli_loader *ld, sqlite3_stmt *st, struct cli_row ***out,
    size_t *n)
{
	int	 rc = cli_rows_collect(st, out, n);

	if (rc < 0)
		cli_error(ld->cli, "out of memory");
	else if (rc > 0)
		cli_db_error(ld->cli, "reading a message");
	return rc == 0 ? 0 : -1;
}

static struct cli_row *
one_row(struct cli_loader *ld, sqlite3_stmt *st, int *err)
{
	struct cli_row	*row = NULL;
	int		 rc;

	*err = 0;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if ((row = cli_row_copy(st)) == NULL) {
			cli_error(ld->cli, "out of memory");
			*err = 1;
		}
	} else if (rc != SQLITE_DONE) {
		cli_db_error(ld->cli, "reading a message");
		*err = 1;
	}
	sqlite3_reset(st);
	return row;
}

int
cli_msg_load(struct cli_loader *ld, int64_t id, struct cli_msg **out)
{
	struct cli_msg	*msg;
	const struct cli_val *tid;
	int		 err;

	*out = NULL;
	if ((msg = calloc(1, sizeof(*msg))) == NULL) {
		cli_error(ld->cli, "out of memory");
		return -1;
	}
	sqlite3_bind_int64(ld->msg, 1, id);
	msg->m = one_row(ld, ld->msg, &err);
	if (msg->m == NULL) {
		cli_msg_free(msg);
		return err ? -1 : 1;
	}
	sqlite3_bind_int64(ld->conn, 1, cli_row_int(msg->m, "conn_id", -1));
	msg->c = one_row(ld, ld->conn, &err);
	if (err)
		goto fail;
	sqlite3_bind_int64(ld->rcpt, 1, id);
	if (all_rows(ld, ld->rcpt, &msg->rcpt, &msg->n_rcpt) < 0)
		goto fail;
	sqlite3_bind_int64(ld->edits, 1, id);
	if (all_rows(ld, ld->edits, &msg->edits, &msg->n_edits) < 0)
		goto fail;
	if (ld->spf != NULL) {
		sqlite3_bind_int64(ld->spf, 1, id);
		if (all_rows(ld, ld->spf, &msg->spf, &msg->n_spf) < 0)
			goto fail;
		sqlite3_bind_int64(ld->dkim, 1, id);
		if (all_rows(ld, ld->dkim, &msg->dkim, &msg->n_dkim) < 0)
			goto fail;
	}
	if (ld->has_dlv && cli_dlv_load(&ld->dlv, id, msg->rcpt, msg->n_rcpt,
	    cli_val_cstr(cli_row_get(msg->m, "outcome")) != NULL ?
	    cli_val_cstr(cli_row_get(msg->m, "outcome")) : "", 1,
	    &msg->dlv) < 0) {
		cli_error(ld->cli, "journal %s: %s", ld->cli->j.path,
		    ld->dlv.err);
		goto fail;
	}
	tid = cli_row_get(msg->m, "track_id");
	if (tid != NULL && tid->type == SQLITE_TEXT) {
		sqlite3_bind_text(ld->children, 1, tid->s, (int)tid->len,
		    SQLITE_STATIC);
		if (all_rows(ld, ld->children, &msg->children,
		    &msg->n_children) < 0)
			goto fail;
		sqlite3_clear_bindings(ld->children);
	}
	*out = msg;
	return 0;

fail:
	cli_msg_free(msg);
	return -1;
}

/* ---------------------------------------------------------------- JSON */

static const char *const skip_msg[] = { "id", "conn_id", NULL };
static const char *const skip_conn[] = { "id", NULL };
static const char *const skip_child[] = { "id", "message", NULL };

static json_t *
rows_json(struct cli_row **rows, size_t n, const char *const *skip,
    int explain)
{
	json_t	*arr, *obj;
	char	 line[256];
	size_t	 i;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((obj = cli_json_row(rows[i], skip)) == NULL)
			goto fail;
		if (explain && (cli_row_has(rows[i], "reply_code") ||
		    cli_row_has(rows[i], "enhanced_code"))) {
			smtp_describe(line, sizeof(line),
			    (int)cli_row_int(rows[i], "reply_code", 0),
			    cli_val_cstr(cli_row_get(rows[i], "enhanced_code")));
			if (line[0] != '\0')
				json_object_set_new(obj, "explain",
				    json_string(line));
		}
		if (json_array_append_new(arr, obj) < 0)
			goto fail;
	}
	return arr;
fail:
	json_decref(arr);
	return NULL;
}

json_t *
cli_msg_json(const struct cli *cli, const struct cli_msg *msg)
{
	json_t	*obj, *children;
	size_t	 i;

	if ((obj = cli_json_row(msg->m, skip_msg)) == NULL)
		return NULL;
	json_object_set_new(obj, "connection", msg->c != NULL ?
	    cli_json_row(msg->c, skip_conn) : json_null());
	json_object_set_new(obj, "recipients",
	    rows_json(msg->rcpt, msg->n_rcpt, skip_child, 1));
	json_object_set_new(obj, "header_edits",
	    rows_json(msg->edits, msg->n_edits, skip_child, 0));
	if (cli->j.has_auth) {
		json_object_set_new(obj, "spf",
		    rows_json(msg->spf, msg->n_spf, skip_child, 0));
		json_object_set_new(obj, "dkim",
		    rows_json(msg->dkim, msg->n_dkim, skip_child, 0));
	}
	if (msg->dlv != NULL)
		json_object_set_new(obj, "delivery", cli_dlv_json(msg->dlv));
	if ((children = json_array()) != NULL)
		for (i = 0; i < msg->n_children; i++)
			json_array_append_new(children, cli_json_val(NULL,
			    cli_row_get(msg->children[i], "track_id")));
	json_object_set_new(obj, "continued_as", children);
	return obj;
}

/* ---------------------------------------------------------------- text */

/* Print "  Label        value" with an escaped value; nothing if NULL. */
static void
field(const struct cli *cli, const char *label, const char *value)
{
	if (value == NULL)
		return;
	fprintf(cli->out, "  %-*s %s\n", LABEL_W - 1, label, value);
}

/* The escaped text of a column, or NULL when absent or NULL. */
static char *
esc_col(const struct cli_row *row, const char *name)
{
	const struct cli_val *v = cli_row_get(row, name);

	if (v == NULL || v->type == SQLITE_NULL)
		return NULL;
	return cli_esc_val(v);
}

/*
 * A header field's value as one line: each fold (CRLF or LF before a space
 * or tab, RFC 5322 section 2.2.3) becomes one space, then escaped as
 * esc_col does.  A bare line break left over is escaped, never printed.
 */
static char *
hdr_col(const struct cli_row *row, const char *name)
{
	const struct cli_val *v = cli_row_get(row, name);
	char		*flat, *out;
	size_t		 i, n = 0;

	if (v == NULL || v->type == SQLITE_NULL)
		return NULL;
	if (v->type != SQLITE_TEXT && v->type != SQLITE_BLOB)
		return cli_esc_val(v);
	if ((flat = malloc(v->len + 1)) == NULL)
		return NULL;
	for (i = 0; i < v->len; i++) {
		if (v->s[i] == '\r' && i + 2 < v->len && v->s[i + 1] == '\n' &&
		    (v->s[i + 2] == ' ' || v->s[i + 2] == '\t'))
			i++;
		if (v->s[i] == '\n' && i + 1 < v->len &&
		    (v->s[i + 1] == ' ' || v->s[i + 1] == '\t')) {
			while (i + 1 < v->len &&
			    (v->s[i + 1] == ' ' || v->s[i + 1] == '\t'))
				i++;
			flat[n++] = ' ';
			continue;
		}
		flat[n++] = v->s[i];
	}
	out = cli_esc(flat, n);
	free(flat);
	return out;
}

static void
field_col(const struct cli *cli, const char *label,
    const struct cli_row *row, const char *name)
{
	char	*s = esc_col(row, name);

	field(cli, label, s);
	free(s);
}

static void
section(const struct cli *cli, const char *title, const char *extra)
{
	fprintf(cli->out, "\n%s%s%s%s%s\n", cli_color_on(cli, CLI_C_BOLD),
	    title, cli_color_off(cli), extra != NULL ? "  " : "",
	    extra != NULL ? extra : "");
}

static enum cli_color
outcome_color(const char *outcome)
{
	if (outcome == NULL)
		return CLI_C_NONE;
	if (strcmp(outcome, "accepted") == 0)
		return CLI_C_GREEN;
	return CLI_C_YELLOW;
}

static enum cli_color
result_color(const char *r)
{
	if (r == NULL)
		return CLI_C_NONE;
	if (strcmp(r, "pass") == 0)
		return CLI_C_GREEN;
	if (strcmp(r, "fail") == 0 || strcmp(r, "permerror") == 0)
		return CLI_C_RED;
	if (strcmp(r, "softfail") == 0 || strcmp(r, "temperror") == 0 ||
	    strcmp(r, "policy") == 0)
		return CLI_C_YELLOW;
	return CLI_C_NONE;
}

static void
print_header_part(const struct cli *cli, const struct cli_msg *msg)
{
	const struct cli_row *m = msg->m;
	char	 t1[CLI_TIME_SIZE], t2[CLI_TIME_SIZE], dur[32], line[256];
	char	*tid, *s;
	const char *outcome;
	int64_t	 start, end;
	size_t	 i;

	tid = esc_col(m, "track_id");
	fprintf(cli->out, "%sMessage %s%s\n", cli_color_on(cli, CLI_C_BOLD),
	    tid != NULL ? tid : "?", cli_color_off(cli));
	free(tid);
	/* Clamped: end - start cannot overflow, whatever the journal holds. */
	start = cli_row_time(m, "start_time", 0);
	cli_fmt_time(t1, sizeof(t1), start, 1);
	if (cli_row_has(m, "end_time")) {
		end = cli_row_time(m, "end_time", start);
		cli_fmt_time(t2, sizeof(t2), end, 1);
		snprintf(line, sizeof(line), "%s .. %s (%s)", t1, t2,
		    cli_duration_format(dur, sizeof(dur), end - start));
	} else
		snprintf(line, sizeof(line), "%s", t1);
	field(cli, "Time", line);
	outcome = cli_val_cstr(cli_row_get(m, "outcome"));
	s = esc_col(m, "stage");
	snprintf(line, sizeof(line), "%s%s%s (last stage seen: %s)",
	    cli_color_on(cli, outcome_color(outcome)),
	    outcome != NULL ? outcome : "?", cli_color_off(cli),
	    s != NULL ? s : "?");
	free(s);
	field(cli, "Outcome", line);
	s = esc_col(m, "queue_id");
	field(cli, "Queue ID", s != NULL ? s : "none (the MTA gave none)");
	free(s);
	s = esc_col(m, "parent_id");
	if (s != NULL) {
		snprintf(line, sizeof(line), "%s (the tracking ID of the"
		    " upstream gateway)", s);
		field(cli, "Parent ID", line);
	}
	free(s);
	for (i = 0; i < msg->n_children; i++) {
		s = esc_col(msg->children[i], "track_id");
		cli_fmt_time(t1, sizeof(t1),
		    cli_row_time(msg->children[i], "start_time", 0), 0);
		snprintf(line, sizeof(line), "%s at %s", s != NULL ? s : "?",
		    t1);
		field(cli, i == 0 ? "Continued as" : "", line);
		free(s);
	}
	s = esc_col(m, "error");
	if (s != NULL) {
		snprintf(line, sizeof(line), "%s%s%s",
		    cli_color_on(cli, CLI_C_YELLOW), s, cli_color_off(cli));
		field(cli, "Error", line);
	}
	free(s);
}

static void
print_connection(const struct cli *cli, const struct cli_row *c)
{
	char	 line[1024], t1[CLI_TIME_SIZE];
	char	*a, *b, *d;

	a = esc_col(c, "conn_uid");
	section(cli, "Connection", a);
	free(a);
	cli_fmt_time(t1, sizeof(t1), cli_row_time(c, "connect_time", 0), 1);
	field(cli, "Connected", t1);
	a = esc_col(c, "client_addr");
	b = esc_col(c, "client_port");
	snprintf(line, sizeof(line), "%s%s%s", a != NULL ? a : "unknown",
	    b != NULL ? " port " : "", b != NULL ? b : "");
	field(cli, "Client", line);
	free(a);
	free(b);
	a = esc_col(c, "client_name");
	b = esc_col(c, "client_resolve");
	if (a != NULL || b != NULL) {
		snprintf(line, sizeof(line), "%s%s%s%s", a != NULL ? a : "?",
		    b != NULL ? " (MTA's verdict: " : "", b != NULL ? b : "",
		    b != NULL ? ")" : "");
		field(cli, "Name", line);
	}
	free(a);
	free(b);
	field_col(cli, "PTR", c, "client_ptr");
	field_col(cli, "HELO", c, "helo");
	a = esc_col(c, "tls_version");
	if (a != NULL) {
		b = esc_col(c, "tls_cipher");
		d = esc_col(c, "tls_bits");
		snprintf(line, sizeof(line), "%s %s%s%s%s", a,
		    b != NULL ? b : "", d != NULL ? " (" : "",
		    d != NULL ? d : "", d != NULL ? " bits)" : "");
		field(cli, "TLS", line);
		free(b);
		free(d);
		field_col(cli, "Certificate", c, "tls_cert_subject");
		field_col(cli, "Issuer", c, "tls_cert_issuer");
	} else
		field(cli, "TLS", "no");
	free(a);
	a = esc_col(c, "auth_type");
	if (a != NULL) {
		b = esc_col(c, "auth_authen");
		d = esc_col(c, "auth_author");
		snprintf(line, sizeof(line), "%s as %s%s%s", a,
		    b != NULL ? b : "?", d != NULL ? ", for " : "",
		    d != NULL ? d : "");
		field(cli, "AUTH", line);
		free(b);
		free(d);
	} else
		field(cli, "AUTH", "no");
	free(a);
	a = esc_col(c, "mta_host");
	b = esc_col(c, "mta_daemon");
	if (a != NULL || b != NULL) {
		snprintf(line, sizeof(line), "%s%s%s", a != NULL ? a : "",
		    a != NULL && b != NULL ? " " : "", b != NULL ? b : "");
		field(cli, "MTA", line);
	}
	free(a);
	free(b);
	if (cli_row_int(c, "trusted", 0))
		field(cli, "Trusted", "yes (client in trusted_networks)");
	if (cli_row_count(c, "unknown_count", 0) > 0) {
		a = esc_col(c, "unknown_cmds");
		snprintf(line, sizeof(line), "%" PRId64 ": %s",
		    cli_row_count(c, "unknown_count", 0), a != NULL ? a : "");
		field(cli, "Unknown cmds", line);
		free(a);
	}
}

static void
print_recipients(const struct cli *cli, const struct cli_msg *msg)
{
	const struct cli_row *m = msg->m;
	char	 line[512], why[256], *addr, *args, *text, *status;
	const char *st, *enh;
	int64_t	 code, dropped;
	size_t	 i;

	section(cli, "Envelope", NULL);
	addr = esc_col(m, "mail_from");
	args = esc_col(m, "mail_args");
	snprintf(line, sizeof(line), "<%s>%s%s", addr != NULL ? addr : "",
	    args != NULL && *args != '\0' ? " " : "", args != NULL ? args : "");
	field(cli, "MAIL FROM", line);
	free(addr);
	free(args);
	dropped = cli_row_count(m, "rcpt_dropped", 0);
	snprintf(line, sizeof(line), "%" PRId64 " accepted, %" PRId64
	    " rejected", cli_row_count(m, "rcpt_accepted", 0),
	    cli_row_count(m, "rcpt_rejected", 0));
	if (dropped > 0)
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
		    "; %" PRId64 " more not recorded (limits.max_recipients)",
		    dropped);
	field(cli, "Recipients", line);
	for (i = 0; i < msg->n_rcpt; i++) {
		const struct cli_row *r = msg->rcpt[i];

		addr = esc_col(r, "address");
		args = esc_col(r, "args");
		st = cli_val_cstr(cli_row_get(r, "status"));
		fprintf(cli->out, "  %3" PRId64 "  <%s>%s%s  %s%s%s",
		    cli_row_int(r, "seq", (int64_t)i + 1),
		    addr != NULL ? addr : "", args != NULL && *args != '\0' ?
		    " " : "", args != NULL ? args : "",
		    cli_color_on(cli, st != NULL && strcmp(st, "accepted") == 0 ?
		    CLI_C_GREEN : CLI_C_RED), st != NULL ? st : "?",
		    cli_color_off(cli));
		code = cli_row_int(r, "reply_code", 0);
		enh = cli_val_cstr(cli_row_get(r, "enhanced_code"));
		status = esc_col(r, "enhanced_code");
		text = esc_col(r, "reply_text");
		if (code != 0)
			fprintf(cli->out, " %" PRId64, code);
		if (status != NULL)
			fprintf(cli->out, " %s", status);
		if (text != NULL)
			fprintf(cli->out, " %s", text);
		fputc('\n', cli->out);
		smtp_describe(why, sizeof(why), (int)code, enh);
		if (why[0] != '\0' && (code != 0 || enh != NULL))
			fprintf(cli->out, "       %s= %s%s\n",
			    cli_color_on(cli, CLI_C_DIM), why,
			    cli_color_off(cli));
		free(addr);
		free(args);
		free(status);
		free(text);
	}
}

static void
print_headers(const struct cli *cli, const struct cli_row *m)
{
	char	 line[256];

	section(cli, "Headers", NULL);
	field_col(cli, "Message-ID", m, "message_id");
	field_col(cli, "From", m, "hdr_from");
	field_col(cli, "Date", m, "hdr_date");
	field_col(cli, "Subject", m, "subject");
	snprintf(line, sizeof(line), "%" PRId64 " bytes (header %" PRId64
	    ", body %" PRId64 ", %" PRId64 " header fields)",
	    cli_row_count(m, "size", 0), cli_row_count(m, "header_bytes", 0),
	    cli_row_count(m, "body_bytes", 0), cli_row_count(m, "n_headers", 0));
	if (cli_row_has(m, "mta_size"))
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
		    "; the MTA counted %" PRId64, cli_row_int(m, "mta_size", 0));
	field(cli, "Size", line);
}

/* An escaped column, or dflt when NULL (the caller frees). */
static char *
col_or(const struct cli_row *r, const char *name, const char *dflt)
{
	char	*v = esc_col(r, name);

	return v != NULL ? v : strdup(dflt);
}

/* DMARC: the verdict, the policy and where it was found, the reason. */
static void
print_dmarc(const struct cli *cli, const struct cli_msg *msg)
{
	char		 line[1024];
	char		*from, *fst, *rdom, *org, *rp, *pol, *pfrom, *disp;
	char		*words, *sdom, *salign, *adk, *asp, *act;
	const char	*res;

	if (!cli->j.has_dmarc)
		return;
	if (!cli_row_has(msg->m, "dmarc_result")) {
		field(cli, "DMARC", "not evaluated");
		return;
	}
	res = cli_val_cstr(cli_row_get(msg->m, "dmarc_result"));
	from = col_or(msg->m, "dmarc_from_domain", "?");
	fst = col_or(msg->m, "dmarc_from_status", "?");
	rdom = col_or(msg->m, "dmarc_record_domain", "");
	org = col_or(msg->m, "dmarc_org_domain", "");
	rp = col_or(msg->m, "dmarc_record_p", "");
	pol = col_or(msg->m, "dmarc_policy", "");
	pfrom = col_or(msg->m, "dmarc_policy_from", "");
	disp = col_or(msg->m, "dmarc_disposition", "none");
	words = col_or(msg->m, "dmarc_reason_text", "");
	sdom = col_or(msg->m, "dmarc_spf_domain", "");
	salign = col_or(msg->m, "dmarc_spf_align", "");
	adk = col_or(msg->m, "dmarc_adkim", "");
	asp = col_or(msg->m, "dmarc_aspf", "");
	act = col_or(msg->m, "dmarc_action", "none");
	if (from == NULL || fst == NULL || rdom == NULL || org == NULL ||
	    rp == NULL || pol == NULL || pfrom == NULL || disp == NULL ||
	    words == NULL || sdom == NULL || salign == NULL || adk == NULL ||
	    asp == NULL || act == NULL)
		goto out;
	snprintf(line, sizeof(line), "%s%s%s for From: %s%s%s%s",
	    cli_color_on(cli, result_color(res)), res != NULL ? res : "?",
	    cli_color_off(cli), from, strcmp(fst, "ok") != 0 ? " (" : "",
	    strcmp(fst, "ok") != 0 ? fst : "", strcmp(fst, "ok") != 0 ? ")" :
	    "");
	field(cli, "DMARC", line);
	if (rdom[0] != '\0') {
		snprintf(line, sizeof(line), "policy p=%s found at _dmarc.%s%s%s"
		    "; applies %s=%s", rp, rdom, org[0] != '\0' &&
		    strcmp(org, rdom) != 0 ? ", org domain " : "",
		    org[0] != '\0' && strcmp(org, rdom) != 0 ? org : "",
		    pfrom, pol);
		field(cli, "", line);
		snprintf(line, sizeof(line), "pct=%" PRId64 " (draw %" PRId64
		    ": sampled %s)%s, adkim=%s aspf=%s, disposition %s",
		    cli_row_int(msg->m, "dmarc_pct", 100),
		    cli_row_int(msg->m, "dmarc_sample", 0),
		    cli_row_int(msg->m, "dmarc_sampled_in", 1) ? "in" : "out",
		    cli_row_int(msg->m, "dmarc_testing", 0) ? ", t=y" : "",
		    adk, asp, disp);
		field(cli, "", line);
	} else
		field(cli, "", "no DMARC policy record found");
	if (sdom[0] != '\0') {
		snprintf(line, sizeof(line), "SPF identity %s: %s", sdom,
		    salign);
		field(cli, "", line);
	}
	if (words[0] != '\0') {
		snprintf(line, sizeof(line), "reason: %s", words);
		field(cli, "", line);
	}
	if (strcmp(act, "none") != 0) {
		snprintf(line, sizeof(line), "enforced: %s", act);
		field(cli, "", line);
	}
out:
	free(from); free(fst); free(rdom); free(org); free(rp); free(pol);
	free(pfrom); free(disp); free(words); free(sdom); free(salign);
	free(adk); free(asp); free(act);
}

static void
print_auth(const struct cli *cli, const struct cli_msg *msg)
{
	char	 line[1024], *dom, *mech, *expl, *skip, *sel, *alg, *why, *s;
	const char *res;
	size_t	 i;

	section(cli, "Authentication", NULL);
	if (!cli->j.has_auth) {
		fprintf(cli->out, "  not recorded (journal schema version %d;"
		    " SPF and DKIM results are recorded from version 2 on)\n",
		    cli->j.version);
		return;
	}
	if (msg->n_spf == 0 && msg->n_dkim == 0 &&
	    !cli_row_has(msg->m, "authres")) {
		fprintf(cli->out, "  no SPF or DKIM results recorded\n");
		return;
	}
	for (i = 0; i < msg->n_spf; i++) {
		const struct cli_row *r = msg->spf[i];

		res = cli_val_cstr(cli_row_get(r, "result"));
		dom = esc_col(r, "domain");
		mech = esc_col(r, "mechanism");
		expl = esc_col(r, "explanation");
		skip = esc_col(r, "skip_reason");
		why = esc_col(r, "identity");
		snprintf(line, sizeof(line), "%s %s: %s%s%s%s%s%s%s%s%s",
		    why != NULL ? why : "?", dom != NULL ? dom : "?",
		    cli_color_on(cli, result_color(res)), res != NULL ? res :
		    "?", cli_color_off(cli),
		    mech != NULL ? " (" : "", mech != NULL ? mech : "",
		    mech != NULL ? ")" : "",
		    expl != NULL ? " - " : "", expl != NULL ? expl : "",
		    skip != NULL ? " [skipped]" : "");
		field(cli, "SPF", line);
		if (skip != NULL)
			field(cli, "", skip);
		free(dom);
		free(mech);
		free(expl);
		free(skip);
		free(why);
	}
	for (i = 0; i < msg->n_dkim; i++) {
		const struct cli_row *r = msg->dkim[i];
		char	 bits[32] = "";

		res = cli_val_cstr(cli_row_get(r, "result"));
		dom = esc_col(r, "domain");
		sel = esc_col(r, "selector");
		alg = esc_col(r, "algorithm");
		why = esc_col(r, "reason");
		if (cli_row_has(r, "key_bits"))
			snprintf(bits, sizeof(bits), " %" PRId64 " bits",
			    cli_row_int(r, "key_bits", 0));
		snprintf(line, sizeof(line), "d=%s s=%s %s%s: %s%s%s%s%s%s",
		    dom != NULL ? dom : "?", sel != NULL ? sel : "?",
		    alg != NULL ? alg : "", bits,
		    cli_color_on(cli, result_color(res)), res != NULL ? res :
		    "?", cli_color_off(cli), why != NULL ? " (" : "",
		    why != NULL ? why : "", why != NULL ? ")" : "");
		field(cli, "DKIM", line);
		free(dom);
		free(sel);
		free(alg);
		free(why);
		if (cli->j.has_dmarc && cli_row_has(r, "dmarc_align")) {
			char *al = esc_col(r, "dmarc_align");

			snprintf(line, sizeof(line), "DMARC alignment: %s",
			    al != NULL ? al : "?");
			field(cli, "", line);
			free(al);
		}
	}
	if (msg->n_dkim == 0)
		field(cli, "DKIM", "no signatures");
	print_dmarc(cli, msg);
	s = hdr_col(msg->m, "authres");
	field(cli, "A-R header", s);
	free(s);
}

/* The message went through (our headers were added). */
static int
msg_accepted(const struct cli_msg *msg)
{
	const char *o = cli_val_cstr(cli_row_get(msg->m, "outcome"));

	return o != NULL && strcmp(o, "accepted") == 0;
}

static void
print_edits(const struct cli *cli, const struct cli_msg *msg)
{
	char	 line[1024], pos[48], *name, *value, *reason;
	const char *action;
	int64_t	 idx;
	size_t	 i;

	/*
	 * From schema version 4 the two headers added to every message are
	 * the row's track_id and authres, not header_edits rows.
	 */
	char	*own_id = NULL, *own_ar = NULL;

	if (cli->j.version >= 4 && msg_accepted(msg)) {
		own_id = esc_col(msg->m, "track_id");
		own_ar = hdr_col(msg->m, "authres");
	}
	if (msg->n_edits == 0 && own_id == NULL &&
	    cli_row_int(msg->m, "edits_dropped", 0) == 0)
		return;
	section(cli, "Header edits", NULL);
	if (own_ar != NULL)
		fprintf(cli->out, "  added Authentication-Results: %s (at the "
		    "top)\n", own_ar);
	if (own_id != NULL)
		fprintf(cli->out, "  added %s: %s (at the top; tracking ID)\n",
		    cli->tracking_header[0] != '\0' ? cli->tracking_header :
		    "X-Mailtrail-ID", own_id);
	free(own_id);
	free(own_ar);
	for (i = 0; i < msg->n_edits; i++) {
		const struct cli_row *e = msg->edits[i];

		action = cli_val_cstr(cli_row_get(e, "action"));
		name = esc_col(e, "name");
		value = hdr_col(e, "value");
		/*
		 * Since schema version 4 the headers we add keep their values
		 * in the message's row only.
		 */
		if (value == NULL && action != NULL &&
		    strcmp(action, "added") == 0)
			value = hdr_col(msg->m, name != NULL &&
			    strcasecmp(name, "Authentication-Results") == 0 ?
			    "authres" : "track_id");
		reason = esc_col(e, "reason");
		idx = cli_row_int(e, "idx", 0);
		if (idx == 0)
			snprintf(pos, sizeof(pos), "at the top");
		else
			snprintf(pos, sizeof(pos), "#%" PRId64 " of that name",
			    idx);
		snprintf(line, sizeof(line), "%s%s%s %s: %s (%s%s%s)",
		    cli_color_on(cli, action != NULL &&
		    strcmp(action, "removed") == 0 ? CLI_C_RED : CLI_C_NONE),
		    action != NULL ? action : "?", cli_color_off(cli),
		    name != NULL ? name : "?", value != NULL ? value : "",
		    pos, reason != NULL ? "; " : "",
		    reason != NULL ? reason : "");
		fprintf(cli->out, "  %s\n", line);
		free(name);
		free(value);
		free(reason);
	}
	if (cli_row_int(msg->m, "edits_dropped", 0) > 0)
		fprintf(cli->out, "  %" PRId64 " more not recorded"
		    " (limits.max_header_edits)\n",
		    cli_row_int(msg->m, "edits_dropped", 0));
}

void
cli_msg_print(const struct cli *cli, const struct cli_msg *msg)
{
	int64_t	 trunc;

	print_header_part(cli, msg);
	if (msg->c != NULL)
		print_connection(cli, msg->c);
	print_recipients(cli, msg);
	print_headers(cli, msg->m);
	print_auth(cli, msg);
	print_edits(cli, msg);
	if (msg->dlv != NULL)
		cli_dlv_print(cli, msg->dlv);
	trunc = cli_row_int(msg->m, "truncations", 0);
	if (trunc > 0)
		fprintf(cli->out, "\n%sNote:%s %" PRId64 " value%s of this"
		    " message were cut to limits.max_value_length\n",
		    cli_color_on(cli, CLI_C_YELLOW), cli_color_off(cli), trunc,
		    trunc == 1 ? "" : "s");
}

/* ---------------------------------------------------------------- summaries */

#define SUMMARY_BASE \
	"SELECT m.id AS id, m.track_id AS track_id," \
	" m.start_time AS start_time, m.queue_id AS queue_id," \
	" m.outcome AS outcome, m.stage AS stage, m.mail_from AS mail_from," \
	" m.rcpt_accepted AS rcpt_accepted, m.rcpt_rejected AS rcpt_rejected," \
	" c.client_addr AS client_addr, c.client_name AS client_name," \
	" c.helo AS helo, m.message_id AS message_id, m.size AS size," \
	" (SELECT r.address FROM recipients r WHERE r.message = m.id" \
	" ORDER BY r.seq LIMIT 1) AS first_rcpt, m.subject AS subject"

const char *
cli_summary_select(const struct cli_journal *j)
{
#define SUMMARY_FROM " FROM messages m JOIN connections c ON c.id = m.conn_id"
#define SUMMARY_AUTH ", m.spf_result AS spf_result, m.dkim_result AS dkim_result"
#define SUMMARY_DLV ", mt_delivery_summary(m.id, m.outcome, m.rcpt_accepted," \
	" m.rcpt_rejected) AS delivery"
	if (j->has_auth && j->has_delivery)
		return SUMMARY_BASE SUMMARY_AUTH SUMMARY_DLV SUMMARY_FROM;
	if (j->has_auth)
		return SUMMARY_BASE SUMMARY_AUTH SUMMARY_FROM;
	return SUMMARY_BASE SUMMARY_FROM;
}

void
cli_summary_sql(struct cli_sql *q, const struct cli_journal *j,
    const char *to)
{
	if (to == NULL || !j->has_delivery) {
		cli_sql_add(q, cli_summary_select(j));
		return;
	}
	cli_sql_add(q, SUMMARY_BASE SUMMARY_AUTH SUMMARY_DLV
	    ", mt_delivery_state_of(m.id, m.outcome, ");
	cli_sql_text(q, to);
	cli_sql_add(q, ") AS delivery_to" SUMMARY_FROM);
}

/* The columns of the summary table; which are shown depends on the journal. */
enum {
	COL_TIME, COL_TRACK, COL_QUEUE, COL_STATUS, COL_DELIVERY, COL_CLIENT,
	COL_FROM, COL_TO, COL_SPF, COL_DKIM, COL_SUBJECT, NCOLS
};

static const struct {
	const char	*header;
	size_t		 max;		/* width cap on a terminal; 0 none */
	size_t		 min;		/* width when streaming */
} summary_cols[NCOLS] = {
	[COL_TIME] = { "TIME (UTC)", 0, 20 },
	[COL_TRACK] = { "TRACKING ID", 0, 26 },
	[COL_QUEUE] = { "QUEUE ID", 0, 10 },
	[COL_STATUS] = { "STATUS", 0, 8 },
	[COL_DELIVERY] = { "DELIVERY", 32, 11 },
	[COL_CLIENT] = { "CLIENT", 39, 15 },
	[COL_FROM] = { "FROM", 32, 24 },
	[COL_TO] = { "TO", 36, 24 },
	[COL_SPF] = { "SPF", 0, 4 },
	[COL_DKIM] = { "DKIM", 0, 4 },
	[COL_SUBJECT] = { "SUBJECT", 0, 0 },
};

struct cli_summary {
	struct cli	*cli;
	int		 stream;
	struct cli_table *table;
	json_t		*list;
	size_t		 count;
	sqlite3_stmt	*rcpts;
	struct cli_dlv_ctx dlv;
	int		 has_dlv;
	int		 show[NCOLS];	/* which columns this journal has */
	size_t		 ncols;
};

struct cli_summary *
cli_summary_begin(struct cli *cli, int stream)
{
	const char	*headers[NCOLS];
	struct cli_summary *s;
	size_t		 k, n = 0;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->cli = cli;
	s->stream = stream;
	for (k = 0; k < NCOLS; k++)
		s->show[k] = !((k == COL_SPF || k == COL_DKIM) &&
		    !cli->j.has_auth) && !(k == COL_DELIVERY &&
		    !cli->j.has_delivery);
	if (cli->json) {
		if (cli_prepare(cli, "SELECT address, status, reply_code,"
		    " enhanced_code FROM recipients WHERE message = ?1"
		    " ORDER BY seq, id", &s->rcpts) < 0)
			goto fail;
		if (cli->j.has_delivery) {
			if (cli_dlv_ctx_init(&s->dlv, cli->j.db) < 0) {
				cli_error(cli, "%s", s->dlv.err);
				goto fail;
			}
			s->has_dlv = 1;
		}
		if (!stream && (s->list = json_array()) == NULL)
			goto fail;
		return s;
	}
	for (k = 0; k < NCOLS; k++)
		if (s->show[k])
			headers[n++] = summary_cols[k].header;
	s->ncols = n;
	if ((s->table = cli_table_new(cli, n, headers)) == NULL)
		goto fail;
	cli_table_flex(s->table, (int)n - 1);
	for (k = 0, n = 0; k < NCOLS; k++) {
		if (!s->show[k])
			continue;
		if (summary_cols[k].max > 0)
			cli_table_max(s->table, n, summary_cols[k].max);
		if (stream && summary_cols[k].min > 0)
			cli_table_min(s->table, n, summary_cols[k].min);
		n++;
	}
	if (stream)
		cli_table_stream(s->table, 0);
	return s;
fail:
	sqlite3_finalize(s->rcpts);
	if (s->has_dlv)
		cli_dlv_ctx_free(&s->dlv);
	json_decref(s->list);
	free(s);
	return NULL;
}

static json_t *
summary_json(struct cli_summary *s, const struct cli_row *row)
{
	static const char *const skip[] = { "id", "first_rcpt", NULL };
	struct cli_row	*r;
	struct cli_dlv	*d;
	json_t		*obj, *arr;
	char		*sent;
	size_t		 i;
	int		 rc;

	if ((obj = cli_json_row(row, skip)) == NULL)
		return NULL;
	sqlite3_bind_int64(s->rcpts, 1, cli_row_int(row, "id", 0));
	if ((arr = json_array()) == NULL) {
		json_decref(obj);
		return NULL;
	}
	while ((rc = sqlite3_step(s->rcpts)) == SQLITE_ROW) {
		if ((r = cli_row_copy(s->rcpts)) == NULL)
			break;
		json_array_append_new(arr, cli_json_row(r, NULL));
		cli_row_free(r);
	}
	sqlite3_reset(s->rcpts);
	json_object_set_new(obj, "recipients", arr);
	if (rc != SQLITE_DONE) {
		cli_db_error(s->cli, "reading recipients");
		json_decref(obj);
		return NULL;
	}
	if (s->has_dlv) {
		/* Each recipient's state and sentence, in RCPT order. */
		if (cli_dlv_load(&s->dlv, cli_row_int(row, "id", 0), NULL, 0,
		    NULL, 0, &d) < 0) {
			cli_error(s->cli, "%s", s->dlv.err);
			json_decref(obj);
			return NULL;
		}
		for (i = 0; i < d->n_rcpt && i < json_array_size(arr); i++) {
			sent = cli_dlv_sentence(&d->rcpt[i]);
			json_object_set_new(json_array_get(arr, i),
			    "delivery_state", json_string(cli_dstate_name(
			    d->rcpt[i].state)));
			json_object_set_new(json_array_get(arr, i),
			    "delivery_summary", sent != NULL ?
			    json_string(sent) : json_null());
			free(sent);
		}
		cli_dlv_free(d);
	}
	return obj;
}

int
cli_summary_add(struct cli_summary *s, const struct cli_row *row)
{
	char		 t[CLI_TIME_SIZE], status[64], to[512];
	char		*cells[NCOLS] = { NULL }, *shown[NCOLS];
	enum cli_color	 colors[NCOLS] = { CLI_C_NONE }, shown_c[NCOLS];
	const char	*outcome, *spf, *dkim, *dl, *dto;
	char		 dcell[320];
	int64_t		 acc, rej;
	char		*first;
	json_t		*obj;
	int		 rc = 0, i, n;
	size_t		 len;

	s->count++;
	if (s->cli->json) {
		if ((obj = summary_json(s, row)) == NULL)
			return -1;
		if (s->stream) {
			rc = cli_json_line(s->cli, obj);
			json_decref(obj);
			fflush(s->cli->out);
			return rc;
		}
		return json_array_append_new(s->list, obj);
	}
	cli_fmt_time(t, sizeof(t), cli_row_time(row, "start_time", 0), 0);
	cells[COL_TIME] = strdup(t);
	cells[COL_TRACK] = esc_col(row, "track_id");
	cells[COL_QUEUE] = esc_col(row, "queue_id");
	outcome = cli_val_cstr(cli_row_get(row, "outcome"));
	acc = cli_row_count(row, "rcpt_accepted", 0);
	rej = cli_row_count(row, "rcpt_rejected", 0);
	if (rej > 0)
		snprintf(status, sizeof(status), "%s %" PRId64 "rej",
		    outcome != NULL ? outcome : "?", rej);
	else
		snprintf(status, sizeof(status), "%s",
		    outcome != NULL ? outcome : "?");
	cells[COL_STATUS] = strdup(status);
	colors[COL_STATUS] = outcome != NULL && strcmp(outcome, "accepted") ==
	    0 ? (acc == 0 && rej > 0 ? CLI_C_RED : CLI_C_GREEN) : CLI_C_YELLOW;
	dl = cli_val_cstr(cli_row_get(row, "delivery"));
	dto = cli_val_cstr(cli_row_get(row, "delivery_to"));
	if (dto != NULL && acc + rej > 1) {
		/* The recipient asked for first, then the whole message. */
		snprintf(dcell, sizeof(dcell), "%s (all: %s)", dto,
		    dl != NULL ? dl : "?");
		cells[COL_DELIVERY] = strdup(dcell);
		dl = dto;
	} else if (dto != NULL) {
		cells[COL_DELIVERY] = strdup(dto);
		dl = dto;
	} else
		cells[COL_DELIVERY] = strdup(dl != NULL && *dl != '\0' ? dl :
		    "-");
	colors[COL_DELIVERY] = dl == NULL ? CLI_C_NONE :
	    strstr(dl, "bounced") != NULL || strstr(dl, "expired") != NULL ?
	    CLI_C_RED : strstr(dl, "deferred") != NULL ||
	    strstr(dl, "pending") != NULL ? CLI_C_YELLOW :
	    strstr(dl, "delivered") != NULL ? CLI_C_GREEN : CLI_C_NONE;
	cells[COL_CLIENT] = esc_col(row, "client_addr");
	cells[COL_FROM] = esc_col(row, "mail_from");
	if (cells[COL_FROM] != NULL && cells[COL_FROM][0] == '\0') {
		free(cells[COL_FROM]);
		cells[COL_FROM] = strdup("<>");
	}
	first = esc_col(row, "first_rcpt");
	if (first != NULL && acc + rej > 1)
		snprintf(to, sizeof(to), "%s +%" PRId64, first, acc + rej - 1);
	else
		snprintf(to, sizeof(to), "%s", first != NULL ? first : "");
	len = strlen(to);
	if (first != NULL && len == sizeof(to) - 1)
		memcpy(to + len - 3, "...", 3);
	free(first);
	cells[COL_TO] = strdup(to);
	spf = cli_val_cstr(cli_row_get(row, "spf_result"));
	dkim = cli_val_cstr(cli_row_get(row, "dkim_result"));
	cells[COL_SPF] = strdup(spf != NULL ? spf : "-");
	colors[COL_SPF] = result_color(spf);
	cells[COL_DKIM] = strdup(dkim != NULL ? dkim : "-");
	colors[COL_DKIM] = result_color(dkim);
	cells[COL_SUBJECT] = esc_col(row, "subject");
	for (i = 0, n = 0; i < NCOLS; i++) {
		if (cells[i] == NULL && (cells[i] = strdup("")) == NULL)
			rc = -1;
		if (!s->show[i])
			continue;
		shown[n] = cells[i];
		shown_c[n++] = colors[i];
	}
	if (rc == 0)
		rc = cli_table_add(s->table, (const char *const *)shown,
		    shown_c);
	for (i = 0; i < NCOLS; i++)
		free(cells[i]);
	if (rc < 0)
		cli_error(s->cli, "out of memory");
	return rc;
}

int
cli_summary_end(struct cli_summary *s, int more)
{
	json_t	*doc;
	int	 rc = 0;

	if (s == NULL)
		return -1;
	if (s->cli->json && !s->stream) {
		doc = json_pack("{s:I, s:b, s:O}", "count",
		    (json_int_t)s->count, "more", more, "messages", s->list);
		rc = cli_json_print(s->cli, doc);
		json_decref(doc);
	} else if (s->table != NULL)
		cli_table_flush(s->table);
	cli_table_free(s->table);
	json_decref(s->list);
	sqlite3_finalize(s->rcpts);
	if (s->has_dlv)
		cli_dlv_ctx_free(&s->dlv);
	free(s);
	return rc;
}
