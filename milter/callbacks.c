/*
 * callbacks.c - libmilter callbacks: the glue between the MTA and the core.
 *
 * Each callback gets the connection (smfi_getpriv), passes its arguments
 * and a macro getter to the core (txn.h), and maps the answer to an SMFIS_*
 * code; end-of-message applies the header plan.  No parsing, policy or SQL
 * lives here.  All replies before end-of-message are "continue" (or "no
 * reply" where negotiated): every decision is taken at end-of-message.
 *
 * Thread safety: libmilter serialises one connection's callbacks, though
 * they may run on different threads of its pool; per-connection state lives
 * only in the session object given to smfi_setpriv.
 *
 * Shutdown (the gate): every callback enters and leaves through the gate,
 * which counts the sessions alive and the callbacks running.  On SIGTERM
 * the daemon first drains (callbacks_drain: new sessions are refused, open
 * ones get up to milter.shutdown_timeout to end), then stops libmilter,
 * then closes the gate (callbacks_close): no callback enters any more, the
 * running ones are waited for, and the sessions still open are cut off
 * (their open transaction journaled as aborted, "shutdown").  Only after
 * that may the journal, SPF, DKIM and the resolver be freed.
 *
 * The gate also caps the sessions open at once (callbacks_set_max_sessions:
 * the open-files limit less a reserve): beyond it a session is refused at
 * negotiation, its descriptor freed at once, and the MTA applies its
 * default_action.  Without the cap, running out of descriptors makes
 * libmilter's listener spin on accept() while every session waits.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailtrail/log.h"
#include "mailtrail/txn.h"
#include "callbacks.h"

struct session {
	struct mt_conn	*conn;
	unsigned long	 noreply;	/* SMFIP_NR_* flags negotiated */
	unsigned long	 actions;	/* SMFIF_* flags the MTA granted */
	int		 leadspc;	/* header values keep their leading space */
	struct session	*prev, *next;	/* the gate's list of live sessions */
};

static struct {
	pthread_mutex_t	 lock;
	pthread_cond_t	 changed;	/* a session ended or a callback left */
	struct session	*live;		/* sessions between create and close */
	size_t		 n_live;
	size_t		 running;	/* callbacks inside the gate */
	uint64_t	 refused;	/* sessions refused (draining, full) */
	size_t		 max_live;	/* 0: no cap */
	int		 draining;	/* no new session */
	int		 closed;	/* no callback enters */
} gate = { .lock = PTHREAD_MUTEX_INITIALIZER,
	   .changed = PTHREAD_COND_INITIALIZER };

/* Enter the gate: 0 when it is closed (touch nothing, not even priv). */
static int
enter(void)
{
	int	 ok;

	pthread_mutex_lock(&gate.lock);
	if ((ok = !gate.closed))
		gate.running++;
	pthread_mutex_unlock(&gate.lock);
	return ok;
}

static sfsistat
leave(sfsistat rc)
{
	pthread_mutex_lock(&gate.lock);
	if (--gate.running == 0)
		pthread_cond_broadcast(&gate.changed);
	pthread_mutex_unlock(&gate.lock);
	return rc;
}

/* Inside the gate: a new session may start (0 while draining). */
/* New sessions are turned away: stopping, or at the cap. */
static int
refusing(void)
{
	int	 r;

	pthread_mutex_lock(&gate.lock);
	r = gate.draining ||
	    (gate.max_live != 0 && gate.n_live >= gate.max_live);
	pthread_mutex_unlock(&gate.lock);
	return r;
}

static int
session_add(struct session *s)
{
	int	 ok;

	pthread_mutex_lock(&gate.lock);
	ok = !gate.draining &&
	    (gate.max_live == 0 || gate.n_live < gate.max_live);
	if (ok) {
		s->prev = NULL;
		if ((s->next = gate.live) != NULL)
			s->next->prev = s;
		gate.live = s;
		gate.n_live++;
	} else
		gate.refused++;
	pthread_mutex_unlock(&gate.lock);
	return ok;
}

static void
session_del(struct session *s)
{
	pthread_mutex_lock(&gate.lock);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		gate.live = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	if (--gate.n_live == 0)
		pthread_cond_broadcast(&gate.changed);
	pthread_mutex_unlock(&gate.lock);
}

static struct timespec
deadline_in(int ms)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

size_t
callbacks_drain(int timeout_ms)
{
	struct timespec	 until = deadline_in(timeout_ms);
	size_t		 left;

	pthread_mutex_lock(&gate.lock);
	gate.draining = 1;
	while (gate.n_live > 0 &&
	    pthread_cond_timedwait(&gate.changed, &gate.lock, &until) !=
	    ETIMEDOUT)
		;
	left = gate.n_live;
	pthread_mutex_unlock(&gate.lock);
	return left;
}

int
callbacks_close(int timeout_ms, size_t *cut_off)
{
	struct timespec	 until = deadline_in(timeout_ms);
	struct session	*s, *next;
	size_t		 n = 0;

	*cut_off = 0;
	pthread_mutex_lock(&gate.lock);
	gate.draining = 1;
	gate.closed = 1;
	while (gate.running > 0 &&
	    pthread_cond_timedwait(&gate.changed, &gate.lock, &until) !=
	    ETIMEDOUT)
		;
	if (gate.running > 0) {
		pthread_mutex_unlock(&gate.lock);
		return -1;
	}
	s = gate.live;
	gate.live = NULL;
	gate.n_live = 0;
	pthread_mutex_unlock(&gate.lock);

	/* No callback runs or will run: the sessions are ours alone. */
	for (; s != NULL; s = next) {
		next = s->next;
		conn_cut_off(s->conn, "shutdown");
		free(s);
		n++;
	}
	*cut_off = n;
	return 0;
}

void
callbacks_set_max_sessions(size_t max)
{
	pthread_mutex_lock(&gate.lock);
	gate.max_live = max;
	pthread_mutex_unlock(&gate.lock);
}

uint64_t
callbacks_refused(void)
{
	uint64_t n;

	pthread_mutex_lock(&gate.lock);
	n = gate.refused;
	pthread_mutex_unlock(&gate.lock);
	return n;
}

size_t
callbacks_sessions(void)
{
	size_t	 n;

	pthread_mutex_lock(&gate.lock);
	n = gate.n_live;
	pthread_mutex_unlock(&gate.lock);
	return n;
}

static const char *
get_macro(void *arg, const char *name)
{
	return smfi_getsymval((SMFICTX *)arg, (char *)name);
}

static struct session *
session_get(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

/* A session with a connection; created lazily if negotiate was skipped. */
static struct session *
session_ensure(SMFICTX *ctx)
{
	struct session		*s = session_get(ctx);
	struct mt_config	*cfg;

	if (s != NULL)
		return s;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE;
	/* Listed first: the gate closes only when no callback runs, so
	 * s->conn is set by then. */
	if (!session_add(s)) {
		free(s);		/* stopping: refused */
		return NULL;
	}
	cfg = daemon_config_get();
	s->conn = conn_new(cfg, daemon_ctx());
	config_unref(cfg);
	if (s->conn == NULL) {
		session_del(s);
		free(s);
		return NULL;
	}
	smfi_setpriv(ctx, s);
	return s;
}

/* "Continue", or "no reply" where the MTA agreed not to wait for one. */
static sfsistat
reply(const struct session *s, unsigned long nr_flag)
{
	if (s != NULL && (s->noreply & nr_flag) != 0)
		return SMFIS_NOREPLY;
	return SMFIS_CONTINUE;
}

#define MACROS(ctx)	{ get_macro, (ctx) }

/* The steps that may run without a reply (see cb_negotiate). */
#define NR_SAFE	(SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	static const struct {
		int			 milter_stage;
		enum mt_macro_stage	 stage;
	} lists[] = {
		{ SMFIM_CONNECT, MT_MACROS_CONNECT },
		{ SMFIM_HELO, MT_MACROS_HELO },
		{ SMFIM_ENVFROM, MT_MACROS_MAIL },
		{ SMFIM_ENVRCPT, MT_MACROS_RCPT },
		{ SMFIM_DATA, MT_MACROS_DATA },
		{ SMFIM_EOH, MT_MACROS_EOH },
		{ SMFIM_EOM, MT_MACROS_EOM },
	};
	const struct mt_config *cfg;
	struct session	*s;
	size_t		 i;
	int		 want_nr;

	if (!enter())
		return SMFIS_REJECT;
	if ((s = session_ensure(ctx)) == NULL) {
		if (refusing())
			/* Stopping or full: the MTA applies its
			 * default_action, and the descriptor is freed. */
			return leave(SMFIS_REJECT);
		return leave(SMFIS_ALL_OPTS);	/* untracked, but mail flows */
	}
	cfg = conn_config(s->conn);

	s->actions = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS |
	    SMFIF_QUARANTINE);
	*pf0 = s->actions | (f0 & SMFIF_SETSYMLIST);

	switch (cfg->no_reply) {
	case MT_NOREPLY_ON:
		want_nr = 1;
		break;
	case MT_NOREPLY_OFF:
		want_nr = 0;
		break;
	default:	/* PITFALLS.md: a win on unix:, a loss on inet: */
		want_nr = !daemon_socket_is_inet();
		break;
	}
	/*
	 * "No reply" only where losing a command cannot lose journal data:
	 * headers, end-of-headers and body chunks, which are always followed
	 * by end-of-message (the MTA waits for its reply) or an abort.  Never
	 * for CONNECT, HELO, MAIL, RCPT, DATA or unknown commands: when the
	 * MTA pipelines one of those with RSET/QUIT and hangs up, libmilter
	 * sees the hang-up and closes without reading what is still queued,
	 * so a connection, a transaction or its recipients would vanish from
	 * the journal (PITFALLS.md; tests/integration/pipeline.sh).
	 */
	s->noreply = want_nr ? (f1 & NR_SAFE) : 0;
	/*
	 * SMFIP_HDR_LEADSPC: header values exactly as after the colon, which
	 * DKIM's "simple" header canonicalization needs.
	 */
	s->leadspc = (f1 & SMFIP_HDR_LEADSPC) != 0;
	*pf1 = (f1 & (SMFIP_RCPT_REJ | SMFIP_HDR_LEADSPC)) | s->noreply;
	*pf2 = 0;
	*pf3 = 0;
	(void)f2;
	(void)f3;

	if ((f0 & SMFIF_SETSYMLIST) != 0)
		for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
			if (smfi_setsymlist(ctx, lists[i].milter_stage,
			    (char *)txn_macro_list(lists[i].stage)) !=
			    MI_SUCCESS)
				mt_log(LOG_WARNING, "%s: smfi_setsymlist "
				    "failed for stage %d", conn_id(s->conn),
				    lists[i].milter_stage);
	if ((f1 & SMFIP_RCPT_REJ) == 0)
		mt_log(LOG_DEBUG, "%s: the MTA does not offer rejected "
		    "recipients (SMFIP_RCPT_REJ)", conn_id(s->conn));
	return leave(SMFIS_CONTINUE);
}

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	struct session		*s;
	struct mt_macros	 m = MACROS(ctx);

	if (!enter())
		return SMFIS_ACCEPT;
	if ((s = session_ensure(ctx)) == NULL && refusing())
		/* Stopping or full, and negotiate was skipped: not
		 * filtered. */
		return leave(SMFIS_ACCEPT);
	if (s != NULL)
		conn_connect(s->conn, hostname, hostaddr, &m);
	return leave(reply(s, SMFIP_NR_CONN));
}

static sfsistat
cb_helo(SMFICTX *ctx, char *helo)
{
	struct session		*s;
	struct mt_macros	 m = MACROS(ctx);

	if (!enter())
		return SMFIS_CONTINUE;
	if ((s = session_get(ctx)) != NULL)
		conn_helo(s->conn, helo, &m);
	return leave(reply(s, SMFIP_NR_HELO));
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct session		*s;
	struct mt_macros	 m = MACROS(ctx);

	if (!enter())
		return SMFIS_CONTINUE;
	if ((s = session_get(ctx)) != NULL)
		conn_mail(s->conn, argv, &m);
	return leave(reply(s, SMFIP_NR_MAIL));
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct session		*s;
	struct mt_macros	 m = MACROS(ctx);

	if (!enter())
		return SMFIS_CONTINUE;
	if ((s = session_get(ctx)) != NULL)
		conn_rcpt(s->conn, argv, &m);
	return leave(reply(s, SMFIP_NR_RCPT));
}

static sfsistat
cb_data(SMFICTX *ctx)
{
	struct session		*s;
	struct mt_macros	 m = MACROS(ctx);

	if (!enter())
		return SMFIS_CONTINUE;
	if ((s = session_get(ctx)) != NULL)
		conn_data(s->conn, &m);
	return leave(reply(s, SMFIP_NR_DATA));
}

static sfsistat
cb_unknown(SMFICTX *ctx, const char *cmd)
{
	struct session		*s;

	if (!enter())
		return SMFIS_CONTINUE;
	if ((s = session_get(ctx)) != NULL)
		conn_unknown(s->conn, cmd);
	return leave(reply(s, SMFIP_NR_UNKN));
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct session		*s;
	char			*v;
	size_t			 n;

	if (!enter())
		return SMFIS_CONTINUE;
	if ((s = session_get(ctx)) == NULL)
		return leave(reply(s, SMFIP_NR_HDR));
	if (s->leadspc || value == NULL)
		conn_header(s->conn, name, value);
	else {
		/* The MTA took the space after the colon away: put it back. */
		n = strlen(value);
		if ((v = malloc(n + 2)) != NULL) {
			v[0] = ' ';
			memcpy(v + 1, value, n + 1);
			conn_header(s->conn, name, v);
			free(v);
		} else
			conn_header(s->conn, name, value);
	}
	return leave(reply(s, SMFIP_NR_HDR));
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct session		*s;
	struct mt_macros	 m = MACROS(ctx);

	if (!enter())
		return SMFIS_CONTINUE;
	if ((s = session_get(ctx)) != NULL)
		conn_eoh(s->conn, &m);
	return leave(reply(s, SMFIP_NR_EOH));
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct session		*s;

	if (!enter())
		return SMFIS_CONTINUE;
	if ((s = session_get(ctx)) != NULL)
		conn_body(s->conn, chunk, len);
	return leave(reply(s, SMFIP_NR_BODY));
}

/* Insert name: value at the top, or note the failure. */
static void
insert_top(SMFICTX *ctx, struct session *s, const char *name,
    const char *value)
{
	if ((s->actions & SMFIF_ADDHDRS) == 0)
		conn_eom_edit_failed(s->conn, "the MTA does not allow adding "
		    "headers");
	else if (!s->leadspc) {
		if (smfi_insheader(ctx, 0, (char *)name, (char *)value) !=
		    MI_SUCCESS)
			conn_eom_edit_failed(s->conn, "adding a header");
	} else {
		/* With SMFIP_HDR_LEADSPC the MTA writes the value as given. */
		size_t	 n = strlen(value);
		char	*v = malloc(n + 2);

		if (v == NULL) {
			conn_eom_edit_failed(s->conn, "adding a header: out of "
			    "memory");
			return;
		}
		v[0] = ' ';
		memcpy(v + 1, value, n + 1);
		if (smfi_insheader(ctx, 0, (char *)name, v) != MI_SUCCESS)
			conn_eom_edit_failed(s->conn, "adding a header");
		free(v);
	}
}

/*
 * Apply the plan: deletions, each from the highest index down, then our
 * headers inserted at the top (the last inserted ends up first).
 */
static void
apply_plan(SMFICTX *ctx, struct session *s, const struct mt_eom_plan *plan)
{
	char		*name = (char *)plan->header_name;
	unsigned	 i;
	size_t		 k;

	if ((s->actions & SMFIF_CHGHDRS) == 0 &&
	    (plan->remove_count > 0 || plan->n_ar_remove > 0))
		conn_eom_edit_failed(s->conn, "the MTA does not allow "
		    "header changes: forged headers kept");
	else {
		for (i = plan->remove_count; i >= 1; i--)
			if (smfi_chgheader(ctx, name, (int)i, NULL) !=
			    MI_SUCCESS) {
				conn_eom_edit_failed(s->conn,
				    "removing a forged tracking header");
				break;
			}
		for (k = 0; k < plan->n_ar_remove; k++)
			if (smfi_chgheader(ctx, "Authentication-Results",
			    (int)plan->ar_remove[k], NULL) != MI_SUCCESS) {
				conn_eom_edit_failed(s->conn, "removing a "
				    "forged Authentication-Results header");
				break;
			}
	}
	if (plan->insert)
		insert_top(ctx, s, name, plan->insert_value);
	if (plan->received_spf != NULL)
		insert_top(ctx, s, "Received-SPF", plan->received_spf);
	if (plan->authres != NULL)
		insert_top(ctx, s, "Authentication-Results", plan->authres);
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct session		*s;
	struct mt_macros	 m = MACROS(ctx);
	struct mt_eom_plan	 plan;
	int			 planned;

	if (!enter())
		return SMFIS_CONTINUE;
	if ((s = session_get(ctx)) == NULL)
		return leave(SMFIS_CONTINUE);
	/* The record is committed before any header change is sent. */
	planned = conn_eom_plan(s->conn, &m, &plan) == 0;
	switch (conn_eom_finish(s->conn, planned ? &plan : NULL)) {
	case MT_REPLY_TEMPFAIL:
		(void)smfi_setreply(ctx, "451", "4.3.0",
		    "message tracking unavailable, try again later");
		return leave(SMFIS_TEMPFAIL);
	case MT_REPLY_REJECT: {
		const char *rcode, *xcode, *text;

		conn_reply(s->conn, &rcode, &xcode, &text);
		(void)smfi_setreply(ctx, (char *)rcode, (char *)xcode,
		    (char *)text);
		return leave(SMFIS_REJECT);
	}
	case MT_REPLY_CONTINUE:
		break;
	}
	if (planned)
		apply_plan(ctx, s, &plan);
	if (planned && plan.quarantine &&
	    (s->actions & SMFIF_QUARANTINE) != 0 &&
	    smfi_quarantine(ctx, (char *)plan.quarantine_reason) !=
	    MI_SUCCESS)
		conn_eom_edit_failed(s->conn, "quarantine");
	return leave(SMFIS_CONTINUE);
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct session		*s;

	if (!enter())
		return SMFIS_CONTINUE;
	if ((s = session_get(ctx)) != NULL)
		conn_abort(s->conn);
	return leave(SMFIS_CONTINUE);
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct session		*s;

	if (!enter())
		return SMFIS_CONTINUE;	/* cut off already: s is gone */
	if ((s = session_get(ctx)) != NULL) {
		session_del(s);
		conn_close(s->conn);
		free(s);
		smfi_setpriv(ctx, NULL);
	}
	return leave(SMFIS_CONTINUE);
}

static struct smfiDesc desc = {
	.xxfi_name = "mailtrail",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE |
	    SMFIF_SETSYMLIST,
	.xxfi_connect = cb_connect,
	.xxfi_helo = cb_helo,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_unknown = cb_unknown,
	.xxfi_data = cb_data,
	.xxfi_negotiate = cb_negotiate,
};

struct smfiDesc *
callbacks_desc(void)
{
	return &desc;
}
