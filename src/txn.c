/*
 * txn.c - the connection and transaction model (see txn.h).
 *
 * A connection object holds the live connection facts (struct mt_conn_rec)
 * and at most one open transaction, which is a journal record under
 * construction.  Every value from SMTP goes through set_value(), which
 * copies at most limits.max_value_length bytes and counts truncations.
 * Allocation failures never stop the mail: the transaction is marked failed
 * and end-of-message answers with on_error.
 *
 * Forged tracking headers: every header named like ours is counted as it
 * arrives.  From an untrusted client all of them are deleted at
 * end-of-message, by index from the highest down (indexes count headers of
 * that name and shift after each deletion); from a trusted client they are
 * kept and the topmost valid one becomes the parent ID.  Authentication-
 * Results headers are counted the same way; those claiming our authserv-id
 * from an untrusted client are deleted (RFC 8601 section 5).
 *
 * Authentication: DKIM verification is fed header by header and chunk by
 * chunk as the message streams in; SPF for both identities and the end of
 * DKIM run at end-of-message, where the MTA waits longest, under their own
 * deadlines.  The HELO result is kept per connection and reused while the
 * HELO name does not change.
 *
 * Returning bounces: the bytes of a possible bounce are kept per message
 * (struct bounce_buf, capped at delivery.bounce_max_bytes) and parsed at
 * end-of-message after the message's record was handed over (txn.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailtrail/auth.h"
#include "mailtrail/authres.h"
#include "mailtrail/clock.h"
#include "mailtrail/delivery.h"
#include "mailtrail/dsn.h"
#include "mailtrail/escape.h"
#include "mailtrail/log.h"
#include "mailtrail/rcptreply.h"
#include "mailtrail/record.h"
#include "mailtrail/stats.h"
#include "mailtrail/txn.h"

/* Where a transaction stands with respect to bounce capture. */
enum bounce_stage {
	BOUNCE_OFF = 0,		/* not capturing (off, or not a bounce) */
	BOUNCE_HEADERS,		/* keeping the header block, undecided */
	BOUNCE_BODY		/* a candidate: keeping the body too */
};

#define BOUNCE_BUF_START	8192	/* first allocation */
#define BOUNCE_HINT_MAX		256	/* Content-Type, Subject kept to decide */

struct mt_conn {
	struct mt_config	*cfg;		/* our reference */
	struct mt_ctx		 ctx;		/* borrowed handles */
	struct journal		*journal;	/* = ctx.journal */
	struct mt_conn_rec	 info;		/* live connection facts */
	struct mt_record	*cur;		/* open transaction, or NULL */
	unsigned		 track_seen;	/* tracking headers in this message */
	int			 failed;	/* something inside mailtrail failed */
	int			 lost;		/* a transaction we could not record */
	size_t			 rcpt_alloc;
	size_t			 edit_alloc;

	/* Authentication, per transaction. */
	struct mt_auth_msg	*auth;		/* SPF, DKIM, DMARC in progress */
	unsigned		 ar_seen;	/* Authentication-Results so far */
	unsigned		*ar_remove;	/* indexes to delete (ascending) */
	size_t			 n_ar_remove, ar_remove_alloc;
	unsigned		*ar_plan;	/* the same, highest first */
	char			*authres_value;	/* built at end-of-message */
	char			*rspf_value;
	int			 reject;	/* dmarc.enforce rejects it */
	char			 reply_code[4], reply_xcode[16];
	char			 reply_text[512];

	/* The HELO identity's SPF result, while the HELO name is the same. */
	int			 helo_spf_done;
	struct mt_spf_outcome	 helo_spf;

	/* A possible returning bounce, per transaction. */
	enum bounce_stage	 bounce;
	char			*bounce_buf;	/* headers, CRLF, body */
	size_t			 bounce_len, bounce_alloc;
	int			 bounce_truncated;
	struct mt_bytes		 bounce_ctype;	/* first Content-Type */
	struct mt_bytes		 bounce_subject; /* first Subject */
};

static struct {
	unsigned long long connections, messages, truncations;
	unsigned long long alloc_failures, journal_errors, forged_removed;
	unsigned long long forged_authres_removed, edit_failures;
	unsigned long long bounces_seen, bounces_recorded, bounces_not_report;
	unsigned long long bounces_truncated, bounce_errors;
} counters;

#define COUNT(field)	__atomic_add_fetch(&counters.field, 1, __ATOMIC_RELAXED)

static struct mt_burst burst_alloc = MT_BURST_INIT("out of memory", 60);
static struct mt_burst burst_journal = MT_BURST_INIT("journal", 60);
static struct mt_burst burst_trunc = MT_BURST_INIT("value truncated", 300);
static struct mt_burst burst_edit = MT_BURST_INIT("header edit failed", 60);
static struct mt_burst burst_bounce = MT_BURST_INIT("bounce not recorded", 60);
static struct mt_burst burst_bounce_big = MT_BURST_INIT("bounce over "
    "delivery.bounce_max_bytes: the rest is not read", 300);

/* ------------------------------------------------------------ macros */

static const char *const macro_lists[MT_MACROS_NSTAGES] = {
	[MT_MACROS_CONNECT] = "j {daemon_name} v {client_addr} {client_port} "
	    "{client_name} {client_ptr} {client_resolve}",
	[MT_MACROS_HELO] = "{tls_version} {cipher} {cipher_bits} "
	    "{cert_subject} {cert_issuer}",
	[MT_MACROS_MAIL] = "i {auth_type} {auth_authen} {auth_author} "
	    "{tls_version} {cipher} {cipher_bits} {cert_subject} "
	    "{cert_issuer}",
	[MT_MACROS_RCPT] = "i {rcpt_addr} {rcpt_host} {rcpt_mailer}",
	[MT_MACROS_DATA] = "i",
	[MT_MACROS_EOH] = "i",
	[MT_MACROS_EOM] = "i {msg_size}",
};

const char *
txn_macro_list(enum mt_macro_stage stage)
{
	if ((unsigned)stage >= MT_MACROS_NSTAGES)
		return "";
	return macro_lists[stage];
}

static const char *
macro(const struct mt_macros *m, const char *name)
{
	const char	*v;

	if (m == NULL || m->get == NULL)
		return NULL;
	v = m->get(m->arg, name);
	return v;
}

/* ------------------------------------------------------------ helpers */

static void
note_failure(struct mt_conn *c, const char *what)
{
	c->failed = 1;
	if (c->cur != NULL && !MT_BYTES_ISSET(&c->cur->msg.error))
		(void)mt_bytes_setstr(&c->cur->msg.error, what, 256);
}

static void
alloc_failed(struct mt_conn *c, const char *where)
{
	COUNT(alloc_failures);
	mt_burst_hit(&burst_alloc, LOG_ERR, where);
	note_failure(c, "out of memory");
}

/* Copy len bytes into *b within the value cap; count what goes wrong. */
static void
set_bytes(struct mt_conn *c, struct mt_bytes *b, const char *src, size_t len)
{
	int	 rc;

	rc = mt_bytes_set(b, src, len, c->cfg->max_value_length);
	if (rc == 1) {
		COUNT(truncations);
		if (c->cur != NULL)
			c->cur->msg.truncations++;
		mt_burst_hit(&burst_trunc, LOG_NOTICE, c->info.conn_id);
	} else if (rc < 0)
		alloc_failed(c, "copying a value");
}

static void
set_value(struct mt_conn *c, struct mt_bytes *b, const char *src)
{
	if (src == NULL)
		return;
	set_bytes(c, b, src, strlen(src));
}

/*
 * Set *b from a macro when the MTA sent it with a value: Sendmail sends
 * some macros empty where Postfix sends nothing ({cert_subject} without a
 * client certificate), and the journal must not tell the two apart.
 */
static void
set_macro(struct mt_conn *c, struct mt_bytes *b, const struct mt_macros *m,
    const char *name)
{
	const char	*v = macro(m, name);

	if (v != NULL && *v != '\0')
		set_value(c, b, v);
}

/* An SMTP path without its angle brackets: "<a@b>" -> "a@b". */
static void
set_path(struct mt_conn *c, struct mt_bytes *b, const char *path)
{
	size_t	 len;

	if (path == NULL)
		return;
	len = strlen(path);
	if (len >= 2 && path[0] == '<' && path[len - 1] == '>') {
		path++;
		len -= 2;
	}
	set_bytes(c, b, path, len);
}

/* ESMTP arguments argv[1..], space separated. */
static void
set_args(struct mt_conn *c, struct mt_bytes *b, char **argv)
{
	size_t	 i, cap = c->cfg->max_value_length;
	int	 rc;

	if (argv == NULL || argv[0] == NULL)
		return;
	for (i = 1; argv[i] != NULL; i++) {
		rc = mt_bytes_append(b, ' ', argv[i], strlen(argv[i]), cap);
		if (rc == 1) {
			COUNT(truncations);
			if (c->cur != NULL)
				c->cur->msg.truncations++;
			break;
		} else if (rc < 0) {
			alloc_failed(c, "copying ESMTP arguments");
			break;
		}
	}
}

static void
read_tls(struct mt_conn *c, const struct mt_macros *m)
{
	const char	*v;
	long		 bits;

	if ((v = macro(m, "{tls_version}")) == NULL || *v == '\0')
		return;
	set_value(c, &c->info.tls_version, v);
	set_macro(c, &c->info.tls_cipher, m, "{cipher}");
	if ((v = macro(m, "{cipher_bits}")) != NULL) {
		bits = strtol(v, NULL, 10);
		c->info.tls_bits = bits >= 0 && bits <= 65536 ? (int)bits : -1;
	}
	set_macro(c, &c->info.tls_cert_subject, m, "{cert_subject}");
	set_macro(c, &c->info.tls_cert_issuer, m, "{cert_issuer}");
}

static void
read_queue_id(struct mt_conn *c, const struct mt_macros *m)
{
	const char	*v;

	if (c->cur == NULL || (v = macro(m, "i")) == NULL || *v == '\0')
		return;
	/* Sendmail's {i} at MAIL is the real one; later values win anyway. */
	if (c->cur->msg.queue_id.data != NULL &&
	    strcmp(c->cur->msg.queue_id.data, v) == 0)
		return;
	set_value(c, &c->cur->msg.queue_id, v);
}

static void
advance(struct mt_conn *c, enum mt_stage stage)
{
	if (c->cur != NULL && c->cur->msg.stage < stage)
		c->cur->msg.stage = stage;
}

/* Record a header edit (bounded; counted beyond the cap). */
static void
add_edit(struct mt_conn *c, enum mt_edit_action action, const char *name,
    const char *value, int index, const char *reason)
{
	struct mt_msg_rec	*msg = &c->cur->msg;
	struct mt_header_edit	*e;
	size_t			 n;

	if (msg->n_edits >= c->cfg->max_header_edits) {
		msg->n_edits_dropped++;
		return;
	}
	if (msg->n_edits == c->edit_alloc) {
		n = c->edit_alloc == 0 ? 4 : c->edit_alloc * 2;
		if (n > c->cfg->max_header_edits)
			n = c->cfg->max_header_edits;
		if ((e = realloc(msg->edits, n * sizeof(*e))) == NULL) {
			alloc_failed(c, "recording a header edit");
			return;
		}
		msg->edits = e;
		c->edit_alloc = n;
	}
	e = &msg->edits[msg->n_edits++];
	memset(e, 0, sizeof(*e));
	e->action = action;
	e->index = index;
	e->reason = reason;
	set_value(c, &e->name, name);
	set_value(c, &e->value, value);
}

/*
 * Hand the open transaction to the journal.  wait: under durability full,
 * wait for the commit; if_late is then what the MTA is told when the commit
 * times out, and the record says so whenever it lands (journal.h).
 * Returns the journal's answer.
 */
static enum journal_status
hand_over(struct mt_conn *c, enum mt_outcome outcome, int wait,
    enum mt_outcome if_late)
{
	struct mt_record	*rec = c->cur;
	enum journal_status	 st;
	char			 detail[192], track_id[MT_TRACKID_SIZE];

	c->cur = NULL;
	rec->msg.outcome = outcome;
	rec->msg.end_us = mt_now_us();
	if (record_conn_copy(&rec->conn, &c->info) < 0)
		alloc_failed(c, "copying connection facts");
	record_account(rec);
	COUNT(messages);
	memcpy(track_id, rec->msg.track_id, sizeof(track_id));
	st = wait ? journal_submit_late(c->journal, rec, if_late) :
	    journal_submit_async(c->journal, rec);
	if (st == JOURNAL_TIMEOUT) {
		/* The record is still on its way: say what it will say. */
		COUNT(journal_errors);
		snprintf(detail, sizeof(detail), "%s conn=%s: journal commit "
		    "timed out: delayed; it will be recorded as %s",
		    track_id, c->info.conn_id, record_outcome_name(if_late));
		mt_burst_hit(&burst_journal, LOG_ERR, detail);
	} else if (st != JOURNAL_OK) {
		COUNT(journal_errors);
		snprintf(detail, sizeof(detail), "%s conn=%s: %s: record not "
		    "stored", track_id, c->info.conn_id,
		    journal_status_name(st));
		mt_burst_hit(&burst_journal, LOG_ERR, detail);
	}
	return st;
}

/* ------------------------------------------------------------ bounces */

/* Forget the kept bytes of a possible bounce. */
static void
end_bounce(struct mt_conn *c)
{
	free(c->bounce_buf);
	c->bounce_buf = NULL;
	c->bounce_len = c->bounce_alloc = 0;
	c->bounce_truncated = 0;
	c->bounce = BOUNCE_OFF;
	mt_bytes_clear(&c->bounce_ctype);
	mt_bytes_clear(&c->bounce_subject);
}

static void
bounce_failed(struct mt_conn *c, const char *what)
{
	char	 detail[128];

	COUNT(bounce_errors);
	snprintf(detail, sizeof(detail), "%s: %s", c->cur != NULL ?
	    c->cur->msg.track_id : c->info.conn_id, what);
	mt_burst_hit(&burst_bounce, LOG_WARNING, detail);
	end_bounce(c);
}

/*
 * Keep len more bytes, within delivery.bounce_max_bytes; beyond it keep
 * what fits, count once and keep nothing more.
 */
static void
bounce_keep(struct mt_conn *c, const void *src, size_t len)
{
	size_t	 max = c->cfg->bounce_max_bytes, n;
	char	*grown;

	if (c->bounce_truncated || len == 0)
		return;
	if (len > max - c->bounce_len) {
		len = max - c->bounce_len;
		c->bounce_truncated = 1;
		COUNT(bounces_truncated);
		mt_burst_hit(&burst_bounce_big, LOG_NOTICE, c->cur != NULL ?
		    c->cur->msg.track_id : c->info.conn_id);
	}
	if (c->bounce_len + len > c->bounce_alloc) {
		n = c->bounce_alloc == 0 ? BOUNCE_BUF_START : c->bounce_alloc;
		while (n < c->bounce_len + len)
			n *= 2;
		if (n > max)
			n = max;
		if ((grown = realloc(c->bounce_buf, n)) == NULL) {
			bounce_failed(c, "out of memory keeping a bounce");
			return;
		}
		c->bounce_buf = grown;
		c->bounce_alloc = n;
	}
	memcpy(c->bounce_buf + c->bounce_len, src, len);
	c->bounce_len += len;
}

static void
bounce_header(struct mt_conn *c, const char *name, const char *value)
{
	const char	*v;
	size_t		 len;

	if (c->bounce != BOUNCE_HEADERS)
		return;
	bounce_keep(c, name, strlen(name));
	bounce_keep(c, ":", 1);
	bounce_keep(c, value, strlen(value));
	bounce_keep(c, "\r\n", 2);
	if (c->bounce == BOUNCE_OFF)
		return;
	v = value + strspn(value, " \t");
	len = strnlen(v, BOUNCE_HINT_MAX);
	if (strcasecmp(name, "Content-Type") == 0 &&
	    !MT_BYTES_ISSET(&c->bounce_ctype))
		(void)mt_bytes_set(&c->bounce_ctype, v, len, BOUNCE_HINT_MAX);
	else if (strcasecmp(name, "Subject") == 0 &&
	    !MT_BYTES_ISSET(&c->bounce_subject))
		(void)mt_bytes_set(&c->bounce_subject, v, len,
		    BOUNCE_HINT_MAX);
}

/* End of headers: keep the body only when the message looks like a report. */
static void
bounce_decide(struct mt_conn *c)
{
	const struct mt_msg_rec	*msg = &c->cur->msg;

	if (c->bounce != BOUNCE_HEADERS)
		return;
	if (!dsn_looks_like_bounce(msg->mail_from.data != NULL ?
	    msg->mail_from.data : NULL, c->bounce_ctype.data,
	    msg->hdr_from.data, c->bounce_subject.data)) {
		end_bounce(c);
		return;
	}
	COUNT(bounces_seen);
	bounce_keep(c, "\r\n", 2);
	if (c->bounce != BOUNCE_OFF)
		c->bounce = BOUNCE_BODY;
}

/*
 * After end-of-message: parse what was kept and hand the report to the
 * journal (without waiting).  track_id is the message's.
 */
static void
bounce_finish(struct mt_conn *c, const char *track_id)
{
	struct dsn_limits	 lim;
	struct mt_bounce_rec	*b;
	struct mt_record	*rec;
	enum journal_status	 st;
	char			 detail[128], qid[64];

	if (c->bounce != BOUNCE_BODY || c->bounce_len == 0) {
		end_bounce(c);
		return;
	}
	memset(&lim, 0, sizeof(lim));
	lim.max_bytes = c->cfg->bounce_max_bytes;
	lim.max_depth = 8;
	lim.max_parts = 64;
	lim.tracking_header = c->cfg->tracking_header;
	b = c->ctx.bounce_parse != NULL ?
	    c->ctx.bounce_parse(c->bounce_buf, c->bounce_len, &lim) :
	    dsn_parse(c->bounce_buf, c->bounce_len, &lim);
	end_bounce(c);
	if (b == NULL) {
		bounce_failed(c, "out of memory parsing a bounce");
		return;
	}
	if (b->kind == MT_BOUNCE_NONE) {
		COUNT(bounces_not_report);
		bounce_rec_free(b);
		return;
	}
	b->source = MT_SOURCE_MILTER;
	b->time_us = mt_now_us();
	if (mt_bytes_setstr(&b->bounce_track_id, track_id,
	    MT_BOUNCE_VALUE_MAX) < 0 ||
	    (rec = record_new(MT_RECORD_BOUNCE)) == NULL) {
		bounce_rec_free(b);
		bounce_failed(c, "out of memory recording a bounce");
		return;
	}
	rec->bounce = b;
	record_account(rec);
	if (mt_log_enabled(LOG_INFO)) {
		mt_escape(qid, sizeof(qid), b->orig_queue_id.data,
		    b->orig_queue_id.len);
		mt_log(LOG_INFO, "%s bounce kind=%s format=%s rcpts=%zu "
		    "orig_track_id=%s orig_queue=%s", track_id,
		    mt_bounce_kind_name(b->kind),
		    b->format != NULL ? b->format : "-", b->n_rcpts,
		    b->orig_track_id.len > 0 && trackid_valid(
		    b->orig_track_id.data, b->orig_track_id.len) ?
		    b->orig_track_id.data : "-", qid[0] != '\0' ? qid : "-");
	}
	st = journal_submit_async(c->journal, rec);	/* takes rec */
	if (st != JOURNAL_OK) {
		COUNT(bounce_errors);
		snprintf(detail, sizeof(detail), "%s: %s: the journal refused "
		    "it", track_id, journal_status_name(st));
		mt_burst_hit(&burst_bounce, LOG_WARNING, detail);
		return;
	}
	COUNT(bounces_recorded);
}

/* ------------------------------------------------------------ lifecycle */

struct mt_conn *
conn_new(struct mt_config *cfg, const struct mt_ctx *ctx)
{
	struct mt_conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		COUNT(alloc_failures);
		mt_burst_hit(&burst_alloc, LOG_ERR, "new connection");
		return NULL;
	}
	c->cfg = config_ref(cfg);
	c->ctx = *ctx;
	c->journal = ctx->journal;
	c->info.tls_bits = -1;
	c->info.connect_us = mt_now_us();
	if (trackid_new_at(c->info.conn_id, c->info.connect_us) < 0)
		snprintf(c->info.conn_id, sizeof(c->info.conn_id), "%s",
		    "00000000000000000000000000");
	COUNT(connections);
	return c;
}

const struct mt_config *
conn_config(const struct mt_conn *c)
{
	return c->cfg;
}

const char *
conn_id(const struct mt_conn *c)
{
	return c->info.conn_id;
}

void
conn_connect(struct mt_conn *c, const char *hostname,
    const struct sockaddr *sa, const struct mt_macros *m)
{
	char		 addr[INET6_ADDRSTRLEN];
	const char	*v;
	long		 port;

	addr[0] = '\0';
	if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		c->info.client_port = ntohs(sin->sin_port);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
		c->info.client_port = ntohs(sin6->sin6_port);
	}
	if (addr[0] != '\0') {
		set_value(c, &c->info.client_addr, addr);
		c->info.trusted = config_is_trusted(c->cfg, sa);
	} else if ((v = macro(m, "{client_addr}")) != NULL) {
		set_value(c, &c->info.client_addr, v);
		c->info.trusted = mt_cidr_match_text(c->cfg->trusted,
		    c->cfg->n_trusted, v);
	}
	if (c->info.client_port == 0 &&
	    (v = macro(m, "{client_port}")) != NULL) {
		port = strtol(v, NULL, 10);
		if (port > 0 && port < 65536)
			c->info.client_port = (int)port;
	}
	if ((v = macro(m, "{client_name}")) != NULL)
		set_value(c, &c->info.client_name, v);
	else
		set_value(c, &c->info.client_name, hostname);
	set_macro(c, &c->info.client_ptr, m, "{client_ptr}");
	set_macro(c, &c->info.client_resolve, m, "{client_resolve}");
	set_macro(c, &c->info.mta_host, m, "j");
	set_macro(c, &c->info.mta_daemon, m, "{daemon_name}");
	set_macro(c, &c->info.mta_version, m, "v");
}

void
conn_helo(struct mt_conn *c, const char *helo, const struct mt_macros *m)
{
	if (helo == NULL || c->info.helo.data == NULL ||
	    strcmp(helo, c->info.helo.data) != 0)
		c->helo_spf_done = 0;
	set_value(c, &c->info.helo, helo);
	read_tls(c, m);
}

void
conn_unknown(struct mt_conn *c, const char *cmd)
{
	int	 rc;

	c->info.n_unknown++;
	if (cmd == NULL || c->info.n_unknown > c->cfg->max_unknown_commands)
		return;
	/* Each command is capped at 512 bytes, the lot at the value cap. */
	rc = mt_bytes_append(&c->info.unknown_cmds, '\n', cmd,
	    strnlen(cmd, 512), c->cfg->max_value_length);
	if (rc < 0)
		alloc_failed(c, "recording an unknown command");
}

/* Drop the authentication state of the transaction that ended. */
static void
end_auth(struct mt_conn *c)
{
	auth_msg_free(c->auth);
	c->auth = NULL;
	c->ar_seen = 0;
	c->n_ar_remove = 0;
	free(c->authres_value);
	c->authres_value = NULL;
	free(c->rspf_value);
	c->rspf_value = NULL;
	c->reject = 0;
}

/* Split the reject reply "550 5.7.1 text" for smfi_setreply. */
static void
plan_reject(struct mt_conn *c)
{
	char		 line[512];
	const char	*p = line;
	size_t		 n;

	auth_reject_text(&c->cur->msg.auth, c->cfg->dmarc_reject_reply, line,
	    sizeof(line));
	snprintf(c->reply_code, sizeof(c->reply_code), "%.3s", line);
	p += strlen(c->reply_code);
	p += strspn(p, " ");
	c->reply_xcode[0] = '\0';
	n = strspn(p, "0123456789.");
	if (n >= 5 && n < sizeof(c->reply_xcode) && p[0] == c->reply_code[0] &&
	    p[1] == '.' && (p[n] == ' ' || p[n] == '\0')) {
		snprintf(c->reply_xcode, sizeof(c->reply_xcode), "%.*s",
		    (int)n, p);
		p += n;
		p += strspn(p, " ");
	}
	/* libmilter reads '%' in a reply as a format: none survive. */
	for (n = 0; *p != '\0' && n + 1 < sizeof(c->reply_text); p++)
		c->reply_text[n++] = *p == '%' ? '_' : *p;
	c->reply_text[n] = '\0';
	c->reject = 1;
}

void
conn_reply(const struct mt_conn *c, const char **rcode, const char **xcode,
    const char **text)
{
	*rcode = c->reply_code;
	*xcode = c->reply_xcode[0] != '\0' ? c->reply_xcode : NULL;
	*text = c->reply_text;
}

void
conn_mail(struct mt_conn *c, char **argv, const struct mt_macros *m)
{
	struct mt_record	*rec;

	if (c->cur != NULL)
		(void)hand_over(c, MT_OUTCOME_ABORTED, 0,
		    MT_OUTCOME_ABORTED);
	end_auth(c);
	end_bounce(c);
	c->failed = 0;
	c->lost = 0;
	c->track_seen = 0;
	c->rcpt_alloc = 0;
	c->edit_alloc = 0;
	c->info.n_messages++;
	read_tls(c, m);
	set_macro(c, &c->info.auth_type, m, "{auth_type}");
	set_macro(c, &c->info.auth_authen, m, "{auth_authen}");
	set_macro(c, &c->info.auth_author, m, "{auth_author}");

	if ((rec = record_new(MT_RECORD_MESSAGE)) == NULL) {
		c->lost = 1;
		alloc_failed(c, "new transaction");
		return;
	}
	c->cur = rec;
	rec->msg.start_us = mt_now_us();
	rec->msg.stage = MT_STAGE_MAIL;
	if (trackid_new_at(rec->msg.track_id, rec->msg.start_us) < 0) {
		/* The journal needs a key: derive one from the connection. */
		note_failure(c, "no random bytes for a tracking ID");
		c->lost = 1;
		record_free(rec);
		c->cur = NULL;
		return;
	}
	if (c->cfg->spf_enabled || c->cfg->dkim_enabled ||
	    c->cfg->dmarc_enabled) {
		struct mt_auth_env env = { c->ctx.spf, c->ctx.dkimv,
		    c->ctx.resolver };

		if ((c->auth = auth_msg_new(c->cfg, &env,
		    rec->msg.track_id)) == NULL)
			alloc_failed(c, "authentication state");
	}
	if (argv != NULL)
		set_path(c, &rec->msg.mail_from, argv[0]);
	set_args(c, &rec->msg.mail_args, argv);
	read_queue_id(c, m);
	if (c->cfg->bounces)
		c->bounce = BOUNCE_HEADERS;
}

void
conn_rcpt(struct mt_conn *c, char **argv, const struct mt_macros *m)
{
	struct mt_msg_rec	*msg;
	struct mt_rcpt		*r;
	struct mt_rcpt_reply	 reply;
	const char		*mailer;
	size_t			 n;

	if (c->cur == NULL)
		return;
	advance(c, MT_STAGE_RCPT);
	msg = &c->cur->msg;
	if (msg->n_rcpts >= c->cfg->max_recipients) {
		msg->n_rcpts_dropped++;
		return;
	}
	if (msg->n_rcpts == c->rcpt_alloc) {
		n = c->rcpt_alloc == 0 ? 4 : c->rcpt_alloc * 2;
		if (n > c->cfg->max_recipients)
			n = c->cfg->max_recipients;
		if ((r = realloc(msg->rcpts, n * sizeof(*r))) == NULL) {
			alloc_failed(c, "recording a recipient");
			msg->n_rcpts_dropped++;
			return;
		}
		msg->rcpts = r;
		c->rcpt_alloc = n;
	}
	r = &msg->rcpts[msg->n_rcpts++];
	memset(r, 0, sizeof(*r));
	r->time_us = mt_now_us();
	if (argv != NULL)
		set_path(c, &r->addr, argv[0]);
	if (!MT_BYTES_ISSET(&r->addr))
		set_bytes(c, &r->addr, "", 0);
	set_args(c, &r->args, argv);

	/* Copy the reply now: at EOM {rcpt_*} are the last recipient's. */
	mailer = macro(m, "{rcpt_mailer}");
	if (mailer != NULL && strcmp(mailer, "error") == 0) {
		r->rejected = 1;
		rcptreply_parse(macro(m, "{rcpt_host}"),
		    macro(m, "{rcpt_addr}"), &reply);
		r->reply_code = reply.code;
		if (reply.status[0] != '\0')
			set_value(c, &r->status, reply.status);
		set_bytes(c, &r->text, reply.text, reply.text_len);
	}
	read_queue_id(c, m);
}

void
conn_data(struct mt_conn *c, const struct mt_macros *m)
{
	advance(c, MT_STAGE_DATA);
	read_queue_id(c, m);
}

/* The value without the whitespace around it (for IDs and dates). */
static void
set_trimmed(struct mt_conn *c, struct mt_bytes *b, const char *v)
{
	size_t	 len;

	while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
		v++;
	len = strlen(v);
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t' ||
	    v[len - 1] == '\r' || v[len - 1] == '\n'))
		len--;
	set_bytes(c, b, v, len);
}

/* An Authentication-Results header: ours if it claims our authserv-id. */
static void
note_authres(struct mt_conn *c, const char *name, const char *value)
{
	unsigned	*a;
	size_t		 n;

	c->ar_seen++;
	if (!authres_claims(value, strlen(value), c->cfg->authserv_id))
		return;
	if (c->info.trusted || !c->cfg->remove_forged_authres) {
		add_edit(c, MT_EDIT_KEPT, name, value, (int)c->ar_seen,
		    c->info.trusted ? "Authentication-Results from a trusted "
		    "network" : "forged Authentication-Results kept "
		    "(authres.remove_forged = false)");
		return;
	}
	if (c->n_ar_remove == c->ar_remove_alloc) {
		n = c->ar_remove_alloc == 0 ? 4 : c->ar_remove_alloc * 2;
		if ((a = realloc(c->ar_remove, n * sizeof(*a))) == NULL) {
			alloc_failed(c, "recording a forged header");
			return;
		}
		c->ar_remove = a;
		c->ar_remove_alloc = n;
	}
	c->ar_remove[c->n_ar_remove++] = c->ar_seen;
	COUNT(forged_authres_removed);
	add_edit(c, MT_EDIT_REMOVED, name, value, (int)c->ar_seen,
	    "forged Authentication-Results from an untrusted client");
}

void
conn_header(struct mt_conn *c, const char *name, const char *value)
{
	struct mt_msg_rec	*msg;
	const char		*shown;

	if (c->cur == NULL || name == NULL)
		return;
	if (value == NULL)
		value = "";
	advance(c, MT_STAGE_HEADER);
	msg = &c->cur->msg;
	msg->n_headers++;
	/* "Name:" value "\r\n" */
	msg->header_bytes += strlen(name) + strlen(value) + 3;
	/* What we record of a value starts after the leading white space. */
	shown = value + strspn(value, " \t");

	auth_msg_header(c->auth, name, value);
	bounce_header(c, name, value);
	if (strcasecmp(name, "Authentication-Results") == 0)
		note_authres(c, name, shown);
	else if (strcasecmp(name, c->cfg->tracking_header) == 0) {
		c->track_seen++;
		if (c->info.trusted) {
			const char *v = value;
			size_t len;

			while (*v == ' ' || *v == '\t')
				v++;
			len = strcspn(v, " \t\r\n");
			if (!MT_BYTES_ISSET(&msg->parent_id) &&
			    trackid_valid(v, len))
				set_bytes(c, &msg->parent_id, v, len);
			add_edit(c, MT_EDIT_KEPT, name, shown,
			    (int)c->track_seen, "tracking header from a "
			    "trusted network");
		} else {
			COUNT(forged_removed);
			add_edit(c, MT_EDIT_REMOVED, name, shown,
			    (int)c->track_seen, "forged tracking header "
			    "from an untrusted client");
		}
	} else if (strcasecmp(name, "Message-ID") == 0) {
		if (!MT_BYTES_ISSET(&msg->message_id))
			set_trimmed(c, &msg->message_id, value);
	} else if (strcasecmp(name, "From") == 0) {
		if (!MT_BYTES_ISSET(&msg->hdr_from))
			set_trimmed(c, &msg->hdr_from, value);
	} else if (strcasecmp(name, "Date") == 0) {
		if (!MT_BYTES_ISSET(&msg->hdr_date))
			set_trimmed(c, &msg->hdr_date, value);
	} else if (strcasecmp(name, "Subject") == 0) {
		if (c->cfg->record_subject && !MT_BYTES_ISSET(&msg->hdr_subject))
			set_trimmed(c, &msg->hdr_subject, value);
	}
}

void
conn_eoh(struct mt_conn *c, const struct mt_macros *m)
{
	advance(c, MT_STAGE_EOH);
	read_queue_id(c, m);
	auth_msg_eoh(c->auth);
	if (c->cur != NULL)
		bounce_decide(c);
}

void
conn_body(struct mt_conn *c, const unsigned char *chunk, size_t len)
{
	if (c->cur == NULL)
		return;
	advance(c, MT_STAGE_BODY);
	c->cur->msg.body_bytes += len;
	auth_msg_body(c->auth, chunk, len);
	if (c->bounce == BOUNCE_BODY)
		bounce_keep(c, chunk, len);
}

/* Sendmail's {msg_size}: the MTA's own count of the message's size. */
static void
read_mta_size(struct mt_conn *c, const struct mt_macros *m)
{
	const char		*v = macro(m, "{msg_size}");
	unsigned long long	 n;
	char			*end;

	if (v == NULL || *v < '0' || *v > '9')
		return;
	n = strtoull(v, &end, 10);
	if (*end == '\0' && n < (1ULL << 50))
		c->cur->msg.mta_size = n;
}

/* Why SPF is not evaluated for this client, or NULL. */
static const char *
spf_skip_reason(const struct mt_conn *c)
{
	if (c->info.trusted && c->cfg->spf_skip_trusted)
		return "trusted network";
	if (c->info.auth_authen.len > 0 && c->cfg->spf_skip_authenticated)
		return "authenticated client (SMTP AUTH)";
	if (c->info.client_addr.len == 0)
		return "client address unknown";
	return NULL;
}

/*
 * The authentication unit at end-of-message: SPF, DKIM, DMARC into the
 * record, then our Authentication-Results (and Received-SPF) values.
 */
static void
run_auth(struct mt_conn *c)
{
	struct mt_msg_rec	*msg = &c->cur->msg;
	struct mt_auth_facts	 f;
	const char		*why, *note;
	char			 notebuf[128];

	if (c->auth == NULL)
		return;
	memset(&f, 0, sizeof(f));
	f.client_addr = c->info.client_addr.data;
	f.helo = c->info.helo.data;
	f.mail_from = msg->mail_from.data != NULL ? msg->mail_from.data : "";
	f.track_id = msg->track_id;
	f.skip_spf = spf_skip_reason(c);
	f.helo_spf_done = &c->helo_spf_done;
	f.helo_spf = &c->helo_spf;
	if (auth_msg_end(c->auth, &f, &msg->auth, &why, notebuf,
	    sizeof(notebuf), &note) < 0)
		note_failure(c, why);
	/* A fact about the message, not a failure: on_error does not apply. */
	if (note != NULL && !MT_BYTES_ISSET(&msg->error))
		(void)mt_bytes_setstr(&msg->error, note, 256);
	auth_msg_free(c->auth);
	c->auth = NULL;
	if (auth_header(&msg->auth, c->cfg->authserv_id,
	    c->cfg->spf_received_header, c->info.client_addr.data,
	    msg->mail_from.data, c->info.helo.data, &c->authres_value,
	    &c->rspf_value) < 0) {
		note_failure(c, "Authentication-Results did not fit");
		return;
	}
	if (c->authres_value != NULL)
		set_bytes(c, &msg->authres, c->authres_value,
		    strlen(c->authres_value));
}

int
conn_eom_plan(struct mt_conn *c, const struct mt_macros *m,
    struct mt_eom_plan *plan)
{
	size_t	 i;

	memset(plan, 0, sizeof(*plan));
	if (c->cur == NULL)
		return -1;
	advance(c, MT_STAGE_EOM);
	read_queue_id(c, m);
	read_mta_size(c, m);
	run_auth(c);
	if (c->cur->msg.auth.action == MT_AUTH_ACT_REJECT)
		plan_reject(c);
	else if (c->cur->msg.auth.action == MT_AUTH_ACT_QUARANTINE) {
		plan->quarantine = 1;
		plan->quarantine_reason = "DMARC policy (mailtrail)";
	}

	plan->header_name = c->cfg->tracking_header;
	plan->remove_count = c->info.trusted ? 0 : c->track_seen;
	plan->insert = 1;
	memcpy(plan->insert_value, c->cur->msg.track_id,
	    sizeof(plan->insert_value));
	/*
	 * The headers we always add are not journaled as edits: the tracking
	 * header is messages.track_id, our Authentication-Results is
	 * messages.authres (and a failed insert is logged and counted).
	 */
	if (c->n_ar_remove > 0) {
		/* The deletion order: highest index first. */
		free(c->ar_plan);
		c->ar_plan = malloc(c->n_ar_remove * sizeof(*c->ar_plan));
		if (c->ar_plan == NULL)
			alloc_failed(c, "planning header deletions");
		else {
			for (i = 0; i < c->n_ar_remove; i++)
				c->ar_plan[i] =
				    c->ar_remove[c->n_ar_remove - 1 - i];
			plan->ar_remove = c->ar_plan;
			plan->n_ar_remove = c->n_ar_remove;
		}
	}
	if (c->rspf_value != NULL) {
		plan->received_spf = c->rspf_value;
		add_edit(c, MT_EDIT_ADDED, "Received-SPF", c->rspf_value, 0,
		    "SPF result");
	}
	if (c->authres_value != NULL) {
		plan->authres = c->authres_value;

	}
	return 0;
}

void
conn_eom_edit_failed(struct mt_conn *c, const char *what)
{
	COUNT(edit_failures);
	mt_burst_hit(&burst_edit, LOG_WARNING, what);
	(void)c;
}

static void
log_message(const struct mt_conn *c, const struct mt_record *rec)
{
	char	 from[256], qid[64], mid[256], addr[96];

	if (!mt_log_enabled(LOG_INFO))
		return;
	mt_escape(from, sizeof(from), rec->msg.mail_from.data,
	    rec->msg.mail_from.len);
	mt_escape(qid, sizeof(qid), rec->msg.queue_id.data,
	    rec->msg.queue_id.len);
	mt_escape(mid, sizeof(mid), rec->msg.message_id.data,
	    rec->msg.message_id.len);
	/* From the MTA's {client_addr} when the socket address was missing. */
	mt_escape(addr, sizeof(addr), c->info.client_addr.data,
	    c->info.client_addr.len);
	mt_log(LOG_INFO, "%s queue=%s conn=%s client=%s from=<%s> "
	    "rcpts=%zu size=%llu message-id=%s",
	    rec->msg.track_id, qid[0] ? qid : "-", c->info.conn_id,
	    addr[0] != '\0' ? addr : "-",
	    from, rec->msg.n_rcpts + rec->msg.n_rcpts_dropped,
	    (unsigned long long)(rec->msg.header_bytes + rec->msg.body_bytes),
	    mid[0] ? mid : "-");
}

enum mt_reply
conn_eom_finish(struct mt_conn *c, struct mt_eom_plan *plan)
{
	enum mt_reply	 fail_reply;
	enum journal_status st;
	char		 track_id[MT_TRACKID_SIZE];

	fail_reply = c->cfg->on_error == MT_ON_ERROR_TEMPFAIL ?
	    MT_REPLY_TEMPFAIL : MT_REPLY_CONTINUE;
	if (c->cur == NULL) {
		if (plan != NULL)
			plan->insert = 0;
		end_bounce(c);
		return c->lost ? fail_reply : MT_REPLY_CONTINUE;
	}
	log_message(c, c->cur);
	memcpy(track_id, c->cur->msg.track_id, sizeof(track_id));
	/*
	 * When a durable commit times out the record stays queued and may
	 * land later: it must then say what the MTA was told (a timeout is a
	 * failure, so on_error decides), not what it was built as.
	 */
	if (c->reject) {
		/*
		 * dmarc.enforce = reject: the verdict stands whatever the
		 * journal says (the message is refused either way).
		 */
		(void)hand_over(c, MT_OUTCOME_REJECTED, 1,
		    MT_OUTCOME_REJECTED);
		end_bounce(c);
		return MT_REPLY_REJECT;
	}
	st = hand_over(c, c->failed && fail_reply == MT_REPLY_TEMPFAIL ?
	    MT_OUTCOME_TEMPFAILED : MT_OUTCOME_ACCEPTED, 1,
	    fail_reply == MT_REPLY_TEMPFAIL ? MT_OUTCOME_TEMPFAILED :
	    MT_OUTCOME_ACCEPTED);
	if (st != JOURNAL_OK && plan != NULL)
		plan->insert = 0;	/* no tracking ID without its record */
	if ((c->failed || st != JOURNAL_OK) &&
	    fail_reply == MT_REPLY_TEMPFAIL) {
		end_bounce(c);	/* refused: it comes back and is seen then */
		return fail_reply;
	}
	/* The message's record is handed over: now the report it carries. */
	bounce_finish(c, track_id);
	if (c->failed || st != JOURNAL_OK)
		return fail_reply;
	return MT_REPLY_CONTINUE;
}

void
conn_abort(struct mt_conn *c)
{
	if (c->cur != NULL)
		(void)hand_over(c, MT_OUTCOME_ABORTED, 0,
		    MT_OUTCOME_ABORTED);
	end_auth(c);
	end_bounce(c);
}

void
conn_close(struct mt_conn *c)
{
	struct mt_record	*rec;

	if (c == NULL)
		return;
	if (c->cur != NULL)
		(void)hand_over(c, MT_OUTCOME_DISCONNECTED, 0,
		    MT_OUTCOME_DISCONNECTED);
	if ((rec = record_new(MT_RECORD_CONNECTION)) != NULL) {
		rec->conn = c->info;		/* moved */
		memset(&c->info, 0, sizeof(c->info));
		rec->conn.close_us = mt_now_us();
		record_account(rec);
		if (journal_submit_async(c->journal, rec) != JOURNAL_OK) {
			COUNT(journal_errors);
			mt_burst_hit(&burst_journal, LOG_ERR,
			    "connection record not stored");
		}
	} else
		COUNT(alloc_failures);
	record_conn_clear(&c->info);
	end_auth(c);
	end_bounce(c);
	free(c->ar_remove);
	free(c->ar_plan);
	config_unref(c->cfg);
	free(c);
}

void
conn_cut_off(struct mt_conn *c, const char *why)
{
	if (c == NULL)
		return;
	if (c->cur != NULL) {
		if (mt_bytes_append(&c->cur->msg.error, ';', why, strlen(why),
		    256) < 0)
			COUNT(alloc_failures);
		(void)hand_over(c, MT_OUTCOME_ABORTED, 0, MT_OUTCOME_ABORTED);
	}
	conn_close(c);
}

void
txn_counters(struct txn_counters *out)
{
	out->connections = __atomic_load_n(&counters.connections,
	    __ATOMIC_RELAXED);
	out->messages = __atomic_load_n(&counters.messages, __ATOMIC_RELAXED);
	out->truncations = __atomic_load_n(&counters.truncations,
	    __ATOMIC_RELAXED);
	out->alloc_failures = __atomic_load_n(&counters.alloc_failures,
	    __ATOMIC_RELAXED);
	out->journal_errors = __atomic_load_n(&counters.journal_errors,
	    __ATOMIC_RELAXED);
	out->forged_removed = __atomic_load_n(&counters.forged_removed,
	    __ATOMIC_RELAXED);
	out->edit_failures = __atomic_load_n(&counters.edit_failures,
	    __ATOMIC_RELAXED);
	out->forged_authres_removed = __atomic_load_n(
	    &counters.forged_authres_removed, __ATOMIC_RELAXED);
	{
		struct auth_counters a;

		auth_counters(&a);
		out->spf_checks = a.spf_checks;
		out->dkim_messages = a.dkim_messages;
		out->dmarc_checks = a.dmarc_checks;
		out->dmarc_fail = a.dmarc_fail;
		out->dmarc_enforced = a.dmarc_enforced;
	}
	out->bounces_seen = __atomic_load_n(&counters.bounces_seen,
	    __ATOMIC_RELAXED);
	out->bounces_recorded = __atomic_load_n(&counters.bounces_recorded,
	    __ATOMIC_RELAXED);
	out->bounces_not_report = __atomic_load_n(
	    &counters.bounces_not_report, __ATOMIC_RELAXED);
	out->bounces_truncated = __atomic_load_n(&counters.bounces_truncated,
	    __ATOMIC_RELAXED);
	out->bounce_errors = __atomic_load_n(&counters.bounce_errors,
	    __ATOMIC_RELAXED);
}
