/*
 * delivery_out.c - a message's delivery as text (show's Delivery section,
 * the helpdesk sentence of each recipient) and as JSON.
 *
 * Every value from the journal is a stranger's bytes (the MTA's log, a
 * remote server's reply, a bounce someone sent us): text goes through
 * cli_esc, JSON through cli_json_bytes.  Codes are explained from the
 * catalogue (smtpcodes.h) only when they are plain ASCII.
 *
 * Thread safety: single-threaded.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/delivery.h"
#include "mailtrail/smtpcodes.h"
#include "cli/delivery.h"
#include "cli/timeparse.h"

/* ---------------------------------------------------------------- strings */

struct sb {
	char	*p;
	size_t	 len, cap;
	int	 failed;
};

static void
sb_add(struct sb *b, const char *s)
{
	size_t	 n = strlen(s), ncap;
	char	*np;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap == 0 ? 128 : b->cap;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

static void __attribute__((format(printf, 2, 3)))
sb_printf(struct sb *b, const char *fmt, ...)
{
	char	 buf[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sb_add(b, buf);
}

/* Append a column's bytes, escaped. */
static void
sb_col(struct sb *b, const struct cli_row *row, const char *col)
{
	const struct cli_val *v = cli_row_get(row, col);
	char	*s;

	if (v == NULL || v->type == SQLITE_NULL)
		return;
	if ((s = cli_esc_val(v)) == NULL) {
		b->failed = 1;
		return;
	}
	sb_add(b, s);
	free(s);
}

static char *
sb_done(struct sb *b)
{
	if (b->failed) {
		free(b->p);
		return NULL;
	}
	if (b->p == NULL)
		return strdup("");
	return b->p;
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

/* ---------------------------------------------------------------- words */

const char *
cli_reason_text(const char *name, size_t len)
{
	enum mt_bounce_reason r;
	const char	*n;

	if (name == NULL)
		return NULL;
	for (r = MT_REASON_UNKNOWN; r <= MT_REASON_AUTOREPLY; r++) {
		n = mt_bounce_reason_name(r);
		if (strlen(n) == len && memcmp(n, name, len) == 0)
			return r == MT_REASON_UNKNOWN ? NULL :
			    mt_bounce_reason_text(r);
	}
	return NULL;
}

/* The catalogue's few words for a code: "bad destination mailbox address". */
static const char *
code_summary(int reply, const char *status)
{
	const struct smtp_status_info *si;
	const struct smtp_reply_info *ri;
	struct smtp_status st;

	if (status != NULL && smtp_status_parse(status, strlen(status),
	    &st) == 0 && (si = smtp_status_lookup(st.subject, st.detail)) !=
	    NULL)
		return si->summary;
	if (reply != 0 && (ri = smtp_reply_lookup(reply)) != NULL)
		return ri->summary;
	return NULL;
}

/* Append the host part of a relay ("mx.example.net[192.0.2.1]:25"). */
static void
sb_relay_host(struct sb *b, const struct cli_row *ev)
{
	const char	*r;
	size_t		 n, k;
	char		*s;

	if ((r = cli_row_text(ev, "relay", &n)) == NULL)
		return;
	for (k = 0; k < n && r[k] != '['; k++)
		;
	if ((s = cli_esc(r, k)) == NULL) {
		b->failed = 1;
		return;
	}
	sb_add(b, s);
	free(s);
}

static int
relay_named(const struct cli_row *ev)
{
	const char	*r;
	size_t		 n;

	r = cli_row_text(ev, "relay", &n);
	return r != NULL && n > 0 && !(n == 4 && memcmp(r, "none", 4) == 0);
}

/* "REPLY - meaning" of a log event or a report entry. */
static void
sb_why(struct sb *b, const struct cli_fact *f)
{
	const char	*why = NULL, *rs;
	size_t		 n;

	if (f->ev != NULL) {
		sb_col(b, f->ev, "reply");
		why = code_summary((int)cli_row_int(f->ev, "reply_code", 0),
		    cli_val_cstr(cli_row_get(f->ev, "dsn")));
	} else {
		if (cli_row_has(f->br, "diagnostic"))
			sb_col(b, f->br, "diagnostic");
		else
			sb_col(b, f->br, "status");
		rs = cli_row_text(f->br, "reason", &n);
		why = cli_reason_text(rs, n);
		if (why == NULL)
			why = code_summary((int)cli_row_int(f->br,
			    "reply_code", 0),
			    cli_val_cstr(cli_row_get(f->br, "status")));
	}
	if (why != NULL)
		sb_printf(b, " - %s", why);
}

static double
real_col(const struct cli_row *row, const char *col)
{
	const struct cli_val *v = cli_row_get(row, col);

	if (v == NULL)
		return -1;
	if (v->type == SQLITE_FLOAT)
		return v->d;
	if (v->type == SQLITE_INTEGER)
		return (double)v->i;
	return -1;
}

char *
cli_dlv_sentence(const struct cli_dlv_rcpt *r)
{
	const struct cli_fact *f = r->decided;
	struct sb	 b = { 0 };
	char		 dur[32];

	switch (r->state) {
	case CLI_DS_DELIVERED:
		sb_add(&b, "delivered");
		if (f != NULL && f->ev != NULL) {
			if (relay_named(f->ev)) {
				sb_add(&b, " to ");
				sb_relay_host(&b, f->ev);
			}
			if (cli_row_has(f->ev, "reply")) {
				sb_add(&b, " (");
				sb_col(&b, f->ev, "reply");
				sb_add(&b, ")");
			}
		} else if (f != NULL) {
			sb_add(&b, ", reported by ");
			sb_col(&b, f->bounce, "reporting_mta");
		}
		break;
	case CLI_DS_DEFERRED:
		sb_add(&b, f != NULL && f->ev == NULL ? "delayed: " :
		    "deferred: ");
		if (f != NULL)
			sb_why(&b, f);
		sb_add(&b, "; will retry");
		break;
	case CLI_DS_BOUNCED:
		sb_add(&b, "bounced: ");
		if (f != NULL)
			sb_why(&b, f);
		if (r->sent_then_bounced)
			sb_add(&b, " (the next hop accepted it, then sent a"
			    " bounce)");
		else if (f != NULL && f->ev == NULL)
			sb_add(&b, " (from a returning bounce)");
		break;
	case CLI_DS_EXPIRED:
		sb_add(&b, "expired: the MTA gave up retrying");
		if (r->queue_expired)
			sb_add(&b, " (the queue lifetime ran out)");
		else if (f != NULL && f->ev != NULL &&
		    real_col(f->ev, "delay") >= 0)
			sb_printf(&b, " after %s", cli_duration_format(dur,
			    sizeof(dur), (int64_t)(real_col(f->ev, "delay") *
			    1e6)));
		if (f != NULL) {
			sb_add(&b, "; last: ");
			sb_why(&b, f);
		}
		break;
	case CLI_DS_DISCARDED:
		sb_add(&b, "discarded by the MTA");
		if (f != NULL && f->ev != NULL && cli_row_has(f->ev, "reply")) {
			sb_add(&b, " (");
			sb_col(&b, f->ev, "reply");
			sb_add(&b, ")");
		}
		break;
	case CLI_DS_PENDING:
		sb_add(&b, "pending: no delivery attempt recorded yet");
		break;
	case CLI_DS_REJECTED:
		sb_add(&b, "rejected at RCPT: never queued for it");
		break;
	case CLI_DS_NOT_QUEUED:
		sb_add(&b, "not queued: the message was not accepted");
		break;
	default:
		sb_add(&b, "?");
		break;
	}
	return sb_done(&b);
}

/* ---------------------------------------------------------------- text */

static enum cli_color
state_color(enum cli_dstate s)
{
	switch (s) {
	case CLI_DS_DELIVERED:
		return CLI_C_GREEN;
	case CLI_DS_BOUNCED:
	case CLI_DS_EXPIRED:
	case CLI_DS_REJECTED:
		return CLI_C_RED;
	default:
		return CLI_C_YELLOW;
	}
}

/* "= meaning" under a code; nothing for success (it says no more). */
static void
explain_line(const struct cli *cli, const char *indent, int reply,
    const char *status)
{
	char	 why[256];

	smtp_describe(why, sizeof(why), reply, status);
	if (why[0] != '\0' && strncmp(why, "success", 7) != 0)
		fprintf(cli->out, "%s%s= %s%s\n", indent,
		    cli_color_on(cli, CLI_C_DIM), why, cli_color_off(cli));
}

static void
print_event(const struct cli *cli, const char *indent,
    const struct cli_row *ev)
{
	char	 t[CLI_TIME_SIZE], dur[32], sub[64];
	char	*st, *relay, *dsn, *delays, *reply;
	const char *stc;
	double	 delay;

	cli_fmt_time(t, sizeof(t), cli_row_int(ev, "time", 0), 0);
	stc = cli_val_cstr(cli_row_get(ev, "status"));
	st = esc_col(ev, "status");
	relay = esc_col(ev, "relay");
	dsn = esc_col(ev, "dsn");
	delays = esc_col(ev, "delays");
	reply = esc_col(ev, "reply");
	fprintf(cli->out, "%s%s  %s%s%s", indent, t,
	    cli_color_on(cli, stc != NULL && strcmp(stc, "sent") == 0 ?
	    CLI_C_GREEN : stc != NULL && strcmp(stc, "deferred") == 0 ?
	    CLI_C_YELLOW : CLI_C_RED), st != NULL ? st : "?",
	    cli_color_off(cli));
	if (relay != NULL && !relay_named(ev))
		fprintf(cli->out, ", no relay reached");
	else if (relay != NULL)
		fprintf(cli->out, " via %s", relay);
	if (dsn != NULL)
		fprintf(cli->out, ", dsn %s", dsn);
	if ((delay = real_col(ev, "delay")) >= 0)
		fprintf(cli->out, ", delay %s", cli_duration_format(dur,
		    sizeof(dur), (int64_t)(delay * 1e6)));
	if (delays != NULL)
		fprintf(cli->out, " (a/b/c/d %s)", delays);
	fputc('\n', cli->out);
	snprintf(sub, sizeof(sub), "%s%22s", indent, "");
	if (reply != NULL)
		fprintf(cli->out, "%s%s\n", sub, reply);
	explain_line(cli, sub, (int)cli_row_int(ev, "reply_code", 0),
	    cli_val_cstr(cli_row_get(ev, "dsn")));
	free(st);
	free(relay);
	free(dsn);
	free(delays);
	free(reply);
}

static void
print_report_entry(const struct cli *cli, const char *indent,
    const struct cli_row *b, const struct cli_row *br, int with_time)
{
	char	 t[CLI_TIME_SIZE], sub[64];
	char	*action, *status, *mta, *diag, *reason, *addr;
	const char *rtext, *rs;
	size_t	 n;

	action = esc_col(br, "action");
	status = esc_col(br, "status");
	mta = esc_col(br, "remote_mta");
	diag = esc_col(br, "diagnostic");
	reason = esc_col(br, "reason");
	addr = esc_col(br, "recipient");
	rs = cli_row_text(br, "reason", &n);
	rtext = cli_reason_text(rs, n);
	if (with_time) {
		cli_fmt_time(t, sizeof(t), cli_row_int(b, "time", 0), 0);
		fprintf(cli->out, "%s%s  report: %s%s%s", indent, t,
		    cli_color_on(cli, CLI_C_RED), action != NULL ? action :
		    "?", cli_color_off(cli));
	} else
		fprintf(cli->out, "%s<%s> %s", indent, addr != NULL ? addr :
		    "", action != NULL ? action : "?");
	if (status != NULL)
		fprintf(cli->out, " %s", status);
	if (cli_row_has(br, "reply_code"))
		fprintf(cli->out, " (%" PRId64 ")", cli_row_int(br,
		    "reply_code", 0));
	if (mta != NULL)
		fprintf(cli->out, " from %s", mta);
	if (reason != NULL)
		fprintf(cli->out, ", %s%s%s", reason, rtext != NULL ? ": " :
		    "", rtext != NULL ? rtext : "");
	fputc('\n', cli->out);
	snprintf(sub, sizeof(sub), "%s%*s", indent, with_time ? 22 : 4, "");
	if (diag != NULL)
		fprintf(cli->out, "%s%s\n", sub, diag);
	explain_line(cli, sub, (int)cli_row_int(br, "reply_code", 0),
	    cli_val_cstr(cli_row_get(br, "status")));
	free(action);
	free(status);
	free(mta);
	free(diag);
	free(reason);
	free(addr);
}

static void
print_handoff(const struct cli *cli, const struct cli_handoff *h)
{
	const struct cli_hop *hop;
	char	*rcpt, *tid, *st, *relay, *reply, *qid;
	size_t	 k;

	rcpt = esc_col(h->ev, "recipient");
	for (k = 0; k < h->n_hops; k++) {
		hop = &h->hops[k];
		relay = hop->relay != NULL ? cli_esc(hop->relay,
		    hop->relay_len) : NULL;
		qid = cli_esc(hop->queue_id, strlen(hop->queue_id));
		if (k == 0)
			fprintf(cli->out, "    <%s> handed to %s as %s\n",
			    rcpt != NULL ? rcpt : "", relay != NULL ? relay :
			    "the next hop", qid != NULL ? qid : "?");
		else
			fprintf(cli->out, "      then handed to %s as %s\n",
			    relay != NULL ? relay : "the next hop",
			    qid != NULL ? qid : "?");
		free(relay);
		if (hop->msg == NULL && hop->ev == NULL) {
			free(qid);
			continue;
		}
		tid = hop->msg != NULL ? esc_col(hop->msg, "track_id") : NULL;
		st = hop->ev != NULL ? esc_col(hop->ev, "status") : NULL;
		relay = hop->ev != NULL ? esc_col(hop->ev, "relay") : NULL;
		reply = hop->ev != NULL ? esc_col(hop->ev, "reply") : NULL;
		fprintf(cli->out, "      %s continues in this journal:%s%s%s"
		    "%s%s%s%s%s%s%s\n", qid != NULL ? qid : "?",
		    tid != NULL ? " message " : "",
		    tid != NULL ? tid : "", tid != NULL && st != NULL ? ";" :
		    "", st != NULL ? " " : "", st != NULL ? st : "",
		    relay != NULL ? " via " : "", relay != NULL ? relay : "",
		    reply != NULL ? " (" : "", reply != NULL ? reply : "",
		    reply != NULL ? ")" : "");
		free(tid);
		free(st);
		free(relay);
		free(reply);
		free(qid);
	}
	if (h->cut)
		fprintf(cli->out, "      (stopped following: a queue ID seen"
		    " before, or more than %d hops)\n", CLI_HOPS_MAX);
	free(rcpt);
}

static void
print_queue_fact(const struct cli *cli, const struct cli_row *q)
{
	char	 t[CLI_TIME_SIZE];
	char	*kind, *rel, *s;
	const char *k;

	cli_fmt_time(t, sizeof(t), cli_row_int(q, "time", 0), 0);
	k = cli_val_cstr(cli_row_get(q, "kind"));
	kind = esc_col(q, "kind");
	fprintf(cli->out, "    %s  %s", t, kind != NULL ? kind : "?");
	if (k != NULL && strcmp(k, "notify") == 0) {
		rel = esc_col(q, "related_queue_id");
		fprintf(cli->out, ": the MTA sent a non-delivery notice to the"
		    " sender as %s (mailtrail show %s)", rel != NULL ? rel :
		    "?", rel != NULL ? rel : "?");
		free(rel);
	} else if (k != NULL && strcmp(k, "removed") == 0)
		fprintf(cli->out, ": done, the queue file is gone");
	else if (k != NULL && strcmp(k, "expired") == 0)
		fprintf(cli->out, ": the queue lifetime ran out, returned to"
		    " the sender");
	else if (k != NULL && strcmp(k, "deadletter") == 0)
		fprintf(cli->out, ": saved in dead.letter");
	else {
		if ((s = esc_col(q, "sender")) != NULL)
			fprintf(cli->out, " from=<%s>", s);
		free(s);
		if (cli_row_has(q, "size"))
			fprintf(cli->out, " size=%" PRId64, cli_row_int(q,
			    "size", 0));
		if (cli_row_has(q, "nrcpt"))
			fprintf(cli->out, " nrcpt=%" PRId64, cli_row_int(q,
			    "nrcpt", 0));
		if ((s = esc_col(q, "message_id")) != NULL)
			fprintf(cli->out, " message-id=%s", s);
		free(s);
		if ((s = esc_col(q, "client")) != NULL)
			fprintf(cli->out, " client=%s", s);
		free(s);
	}
	fputc('\n', cli->out);
	free(kind);
}

void
cli_dlv_print(const struct cli *cli, const struct cli_dlv *d)
{
	const struct cli_dlv_rcpt *r;
	const struct cli_row *b;
	size_t	 counts[CLI_DS_COUNT], i, k, other = 0;
	char	 text[256], *sent, *s;

	cli_dlv_counts(d, counts);
	cli_dlv_counts_text(text, sizeof(text), counts);
	fprintf(cli->out, "\n%sDelivery%s%s%s\n", cli_color_on(cli, CLI_C_BOLD),
	    cli_color_off(cli), text[0] != '\0' ? "  " : "", text);
	if (d->n_events == 0 && d->n_bounces == 0 && d->n_queue == 0)
		fprintf(cli->out, "  no delivery events recorded\n");
	for (i = 0; i < d->n_rcpt; i++) {
		r = &d->rcpt[i];
		s = cli_esc(r->address, r->len);
		sent = cli_dlv_sentence(r);
		fprintf(cli->out, "  <%s>  %s%s%s\n", s != NULL ? s : "",
		    cli_color_on(cli, state_color(r->state)),
		    sent != NULL ? sent : "?", cli_color_off(cli));
		free(s);
		free(sent);
		for (k = 0; k < r->n_facts; k++) {
			if (r->facts[k].ev != NULL)
				print_event(cli, "    ", r->facts[k].ev);
			else
				print_report_entry(cli, "    ",
				    r->facts[k].bounce, r->facts[k].br, 1);
		}
	}
	for (i = 0; i < d->n_events; i++)
		other += d->ev_matched == NULL || !d->ev_matched[i];
	if (other > 0) {
		fprintf(cli->out, "  Other recipients (the log names them; not"
		    " seen at RCPT: aliases, forwards)\n");
		for (i = 0; i < d->n_events; i++) {
			if (d->ev_matched != NULL && d->ev_matched[i])
				continue;
			s = esc_col(d->events[i], "recipient");
			fprintf(cli->out, "    <%s>\n", s != NULL ? s : "");
			free(s);
			print_event(cli, "      ", d->events[i]);
		}
	}
	if (d->n_handoffs > 0) {
		fprintf(cli->out, "  Hand-offs\n");
		for (i = 0; i < d->n_handoffs; i++)
			print_handoff(cli, &d->handoffs[i]);
	}
	if (d->n_queue > 0) {
		fprintf(cli->out, "  Queue\n");
		for (i = 0; i < d->n_queue; i++)
			print_queue_fact(cli, d->queue[i]);
	}
	if (d->n_bounces > 0) {
		fprintf(cli->out, "  Bounces received\n");
		for (i = 0; i < d->n_bounces; i++) {
			char	 t[CLI_TIME_SIZE], *kind, *fmt, *mta, *link;
			char	*err;

			b = d->bounces[i];
			cli_fmt_time(t, sizeof(t), cli_row_int(b, "time", 0), 0);
			kind = esc_col(b, "kind");
			fmt = esc_col(b, "format");
			mta = esc_col(b, "reporting_mta");
			link = esc_col(b, "link");
			err = esc_col(b, "error");
			fprintf(cli->out, "    %s  %s report (%s)%s%s, linked by"
			    " %s\n", t, kind != NULL ? kind : "?",
			    fmt != NULL ? fmt : "?", mta != NULL ? " from " :
			    "", mta != NULL ? mta : "", link != NULL ? link :
			    "?");
			if (err != NULL)
				fprintf(cli->out, "      read only in part: %s\n",
				    err);
			for (k = 0; k < d->n_brcpts; k++)
				if (cli_row_int(d->brcpts[k], "bounce", -1) ==
				    cli_row_int(b, "id", -2))
					print_report_entry(cli, "      ", b,
					    d->brcpts[k], 0);
			free(kind);
			free(fmt);
			free(mta);
			free(link);
			free(err);
		}
	}
}

/* ---------------------------------------------------------------- JSON */

static const char *const skip_ev[] = { "id", "message", "line_hash", NULL };
static const char *const skip_br[] = { "id", "bounce", NULL };
static const char *const skip_bounce[] = { "id", "message", "content_hash",
    NULL };

static void
set_explain(json_t *obj, int reply, const char *status)
{
	char	 why[256];

	smtp_describe(why, sizeof(why), reply, status);
	if (why[0] != '\0')
		json_object_set_new(obj, "explain", json_string(why));
}

json_t *
cli_dlv_event_json(const struct cli_row *ev)
{
	json_t	*obj;

	if ((obj = cli_json_row(ev, skip_ev)) == NULL)
		return NULL;
	set_explain(obj, (int)cli_row_int(ev, "reply_code", 0),
	    cli_val_cstr(cli_row_get(ev, "dsn")));
	return obj;
}

static json_t *
br_json(const struct cli_row *br)
{
	json_t		*obj;
	const char	*rs, *rt;
	size_t		 n;

	if ((obj = cli_json_row(br, skip_br)) == NULL)
		return NULL;
	rs = cli_row_text(br, "reason", &n);
	if ((rt = cli_reason_text(rs, n)) != NULL)
		json_object_set_new(obj, "reason_text", json_string(rt));
	set_explain(obj, (int)cli_row_int(br, "reply_code", 0),
	    cli_val_cstr(cli_row_get(br, "status")));
	return obj;
}

static json_t *
fact_json(const struct cli_fact *f)
{
	json_t	*obj;

	if (f->ev != NULL) {
		if ((obj = cli_dlv_event_json(f->ev)) != NULL)
			json_object_set_new(obj, "fact", json_string("log"));
		return obj;
	}
	if ((obj = br_json(f->br)) == NULL)
		return NULL;
	json_object_set_new(obj, "fact", json_string("bounce"));
	json_object_set_new(obj, "time", cli_json_time(cli_row_int(f->bounce,
	    "time", 0)));
	json_object_set_new(obj, "bounce_kind", cli_json_val(NULL,
	    cli_row_get(f->bounce, "kind")));
	json_object_set_new(obj, "reporting_mta", cli_json_val(NULL,
	    cli_row_get(f->bounce, "reporting_mta")));
	json_object_set_new(obj, "link", cli_json_val(NULL,
	    cli_row_get(f->bounce, "link")));
	return obj;
}

static json_t *
rcpt_json(const struct cli_dlv_rcpt *r)
{
	json_t	*obj, *tl;
	char	*sent;
	size_t	 k;
	long	 decided = -1;

	tl = json_array();
	for (k = 0; tl != NULL && k < r->n_facts; k++) {
		json_array_append_new(tl, fact_json(&r->facts[k]));
		if (r->decided == &r->facts[k])
			decided = (long)k;
	}
	sent = cli_dlv_sentence(r);
	obj = json_pack("{s:o, s:s, s:s, s:o, s:b, s:b, s:o}",
	    "address", cli_json_bytes(r->address, r->len),
	    "state", cli_dstate_name(r->state),
	    "summary", sent != NULL ? sent : "",
	    "decided_by", decided >= 0 ? json_integer(decided) : json_null(),
	    "queue_expired", r->queue_expired,
	    "accepted_then_bounced", r->sent_then_bounced,
	    "timeline", tl != NULL ? tl : json_array());
	free(sent);
	return obj;
}

static json_t *
handoff_json(const struct cli_handoff *h)
{
	json_t	*hops, *hop;
	size_t	 k;

	if ((hops = json_array()) == NULL)
		return NULL;
	for (k = 0; k < h->n_hops; k++) {
		hop = json_pack("{s:o, s:o, s:o, s:o, s:o}",
		    "queue_id", cli_json_bytes(h->hops[k].queue_id,
		    strlen(h->hops[k].queue_id)),
		    "handed_at", cli_json_time(h->hops[k].time),
		    "relay", h->hops[k].relay != NULL ? cli_json_bytes(
		    h->hops[k].relay, h->hops[k].relay_len) : json_null(),
		    "track_id", h->hops[k].msg != NULL ? cli_json_val(NULL,
		    cli_row_get(h->hops[k].msg, "track_id")) : json_null(),
		    "event", h->hops[k].ev != NULL ?
		    cli_dlv_event_json(h->hops[k].ev) : json_null());
		json_array_append_new(hops, hop);
	}
	return json_pack("{s:o, s:o, s:o, s:b}",
	    "time", cli_json_time(cli_row_int(h->ev, "time", 0)),
	    "recipient", cli_json_val(NULL, cli_row_get(h->ev, "recipient")),
	    "hops", hops, "cut", h->cut);
}

json_t *
cli_dlv_json(const struct cli_dlv *d)
{
	json_t	*obj, *rc, *other, *qe, *bo, *ho, *counts, *b, *brs;
	size_t	 n[CLI_DS_COUNT], i, k;
	char	 text[256];

	rc = json_array();
	other = json_array();
	qe = json_array();
	bo = json_array();
	ho = json_array();
	counts = json_object();
	if (rc == NULL || other == NULL || qe == NULL || bo == NULL ||
	    ho == NULL || counts == NULL)
		goto fail;
	for (i = 0; i < d->n_rcpt; i++)
		json_array_append_new(rc, rcpt_json(&d->rcpt[i]));
	for (i = 0; i < d->n_events; i++)
		if (d->ev_matched == NULL || !d->ev_matched[i])
			json_array_append_new(other,
			    cli_dlv_event_json(d->events[i]));
	for (i = 0; i < d->n_queue; i++)
		json_array_append_new(qe, cli_json_row(d->queue[i], skip_ev));
	for (i = 0; i < d->n_bounces; i++) {
		if ((b = cli_json_row(d->bounces[i], skip_bounce)) == NULL ||
		    (brs = json_array()) == NULL) {
			json_decref(b);
			goto fail;
		}
		for (k = 0; k < d->n_brcpts; k++)
			if (cli_row_int(d->brcpts[k], "bounce", -1) ==
			    cli_row_int(d->bounces[i], "id", -2))
				json_array_append_new(brs, br_json(
				    d->brcpts[k]));
		json_object_set_new(b, "recipients", brs);
		json_array_append_new(bo, b);
	}
	for (i = 0; i < d->n_handoffs; i++)
		json_array_append_new(ho, handoff_json(&d->handoffs[i]));
	cli_dlv_counts(d, n);
	for (i = 0; i < CLI_DS_COUNT; i++)
		if (n[i] > 0)
			json_object_set_new(counts, cli_dstate_name(i),
			    json_integer((json_int_t)n[i]));
	cli_dlv_counts_text(text, sizeof(text), n);
	obj = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "summary", text, "counts", counts, "recipients", rc,
	    "other_events", other, "queue_events", qe, "bounces", bo,
	    "handoffs", ho);
	if (obj != NULL && d->queue_id != NULL)
		json_object_set_new(obj, "queue_id", cli_json_bytes(d->queue_id,
		    strlen(d->queue_id)));
	return obj;

fail:
	json_decref(rc);
	json_decref(other);
	json_decref(qe);
	json_decref(bo);
	json_decref(ho);
	json_decref(counts);
	return NULL;
}
