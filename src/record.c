/*
 * record.c - life and death of journal records (see record.h).
 */
#include <stdlib.h>
#include <string.h>

#include "mailtrail/record.h"

struct mt_record *
record_new(enum mt_record_kind kind)
{
	struct mt_record *rec;

	if ((rec = calloc(1, sizeof(*rec))) == NULL)
		return NULL;
	rec->kind = kind;
	rec->conn.tls_bits = -1;
	return rec;
}

/* Every mt_bytes member of a connection snapshot, for copy and clear. */
#define CONN_BYTES(X) \
	X(client_addr) X(client_name) X(client_ptr) X(client_resolve) \
	X(helo) X(tls_version) X(tls_cipher) X(tls_cert_subject) \
	X(tls_cert_issuer) X(auth_type) X(auth_authen) X(auth_author) \
	X(mta_host) X(mta_daemon) X(mta_version) X(unknown_cmds)

void
record_conn_clear(struct mt_conn_rec *c)
{
#define CLEAR(f) mt_bytes_clear(&c->f);
	CONN_BYTES(CLEAR)
#undef CLEAR
}

int
record_conn_copy(struct mt_conn_rec *dst, const struct mt_conn_rec *src)
{
	int	 rc = 0;

	memcpy(dst->conn_id, src->conn_id, sizeof(dst->conn_id));
	dst->connect_us = src->connect_us;
	dst->close_us = src->close_us;
	dst->client_port = src->client_port;
	dst->tls_bits = src->tls_bits;
	dst->trusted = src->trusted;
	dst->n_messages = src->n_messages;
	dst->n_unknown = src->n_unknown;
#define COPY(f) \
	if (src->f.data != NULL && \
	    mt_bytes_set(&dst->f, src->f.data, src->f.len, src->f.len) < 0) \
		rc = -1;
	CONN_BYTES(COPY)
#undef COPY
	return rc;
}

void
record_msg_clear(struct mt_msg_rec *m)
{
	size_t	 i;

	mt_bytes_clear(&m->parent_id);
	mt_bytes_clear(&m->mail_from);
	mt_bytes_clear(&m->mail_args);
	mt_bytes_clear(&m->queue_id);
	mt_bytes_clear(&m->message_id);
	mt_bytes_clear(&m->hdr_from);
	mt_bytes_clear(&m->hdr_date);
	mt_bytes_clear(&m->hdr_subject);
	mt_bytes_clear(&m->error);
	mt_bytes_clear(&m->authres);
	auth_results_clear(&m->auth);
	for (i = 0; i < m->n_rcpts; i++) {
		mt_bytes_clear(&m->rcpts[i].addr);
		mt_bytes_clear(&m->rcpts[i].args);
		mt_bytes_clear(&m->rcpts[i].status);
		mt_bytes_clear(&m->rcpts[i].text);
	}
	free(m->rcpts);
	m->rcpts = NULL;
	m->n_rcpts = 0;
	for (i = 0; i < m->n_edits; i++) {
		mt_bytes_clear(&m->edits[i].name);
		mt_bytes_clear(&m->edits[i].value);
	}
	free(m->edits);
	m->edits = NULL;
	m->n_edits = 0;
}

void
record_free(struct mt_record *rec)
{
	if (rec == NULL)
		return;
	record_conn_clear(&rec->conn);
	record_msg_clear(&rec->msg);
	log_batch_free(rec->logs);
	bounce_rec_free(rec->bounce);
	free(rec);
}

void
record_account(struct mt_record *rec)
{
	const struct mt_msg_rec *m = &rec->msg;
	size_t	 n = sizeof(*rec), i;

	if (rec->logs != NULL || rec->bounce != NULL) {
		rec->mem = n + (rec->logs != NULL ? log_batch_mem(rec->logs) :
		    0) + (rec->bounce != NULL ? bounce_rec_mem(rec->bounce) :
		    0);
		return;
	}

#define ADD(f) n += rec->conn.f.len + (rec->conn.f.data != NULL);
	CONN_BYTES(ADD)
#undef ADD
	n += m->parent_id.len + m->mail_from.len + m->mail_args.len +
	    m->queue_id.len + m->message_id.len + m->hdr_from.len +
	    m->hdr_date.len + m->hdr_subject.len + m->error.len +
	    m->authres.len + auth_results_mem(&m->auth);
	for (i = 0; i < m->n_rcpts; i++)
		n += sizeof(m->rcpts[i]) + m->rcpts[i].addr.len +
		    m->rcpts[i].args.len + m->rcpts[i].status.len +
		    m->rcpts[i].text.len;
	for (i = 0; i < m->n_edits; i++)
		n += sizeof(m->edits[i]) + m->edits[i].name.len +
		    m->edits[i].value.len;
	rec->mem = n;
}

const char *
record_spf_summary(const struct mt_msg_rec *m)
{
	const struct mt_spf_rec *r = NULL;
	size_t	 i;

	for (i = 0; i < m->auth.n_spf; i++) {
		if (m->auth.spf[i].identity == MT_SPF_MAILFROM &&
		    !(m->mail_from.len == 0 && MT_BYTES_ISSET(&m->mail_from)))
			r = &m->auth.spf[i];
		else if (m->auth.spf[i].identity == MT_SPF_HELO && r == NULL &&
		    m->mail_from.len == 0)
			r = &m->auth.spf[i];
	}
	if (r == NULL && m->auth.n_spf > 0)
		r = &m->auth.spf[0];
	if (r == NULL)
		return NULL;
	return r->skipped ? "skipped" : spf_result_name(r->outcome.result);
}

const char *
record_dkim_summary(const struct mt_msg_rec *m)
{
	size_t	 i;

	if (!m->auth.dkim_done)
		return NULL;
	if (m->auth.n_dkim == 0)
		return "none";
	for (i = 0; i < m->auth.n_dkim; i++)
		if (m->auth.dkim[i].result == MT_DKIM_PASS)
			return "pass";
	return dkimv_result_name(m->auth.dkim[0].result);
}

const char *
record_stage_name(enum mt_stage s)
{
	static const char *const names[] = {
		"connect", "helo", "mail", "rcpt", "data", "header", "eoh",
		"body", "eom"
	};

	if ((unsigned)s < sizeof(names) / sizeof(names[0]))
		return names[s];
	return "unknown";
}

const char *
record_outcome_name(enum mt_outcome o)
{
	static const char *const names[] = {
		"accepted", "tempfailed", "aborted", "disconnected",
		"rejected"
	};

	if ((unsigned)o < sizeof(names) / sizeof(names[0]))
		return names[o];
	return "unknown";
}

const char *
record_edit_action_name(enum mt_edit_action a)
{
	static const char *const names[] = { "added", "removed", "kept" };

	if ((unsigned)a < sizeof(names) / sizeof(names[0]))
		return names[a];
	return "unknown";
}
