/*
 * auth.c - the authentication unit: SPF, DKIM, then DMARC from those two,
 * for one message, into one struct mt_auth_results (auth.h).
 *
 * Order at end-of-message: SPF for MAIL FROM and HELO (the HELO result is
 * the connection's, reused while the name stays), DKIM finished, then DMARC
 * with the From: values kept from the headers, the SPF identity that speaks
 * for the message and every DKIM signature, under dmarc.timeout.  The
 * sampling draw for pct= comes from the tracking ID's random part, so the
 * same message gives the same draw and the record can show it.
 *
 * Every buffer is capped: MT_AUTH_FROM_MAX From: values of at most
 * MT_FROM_FIELD_MAX + 1 bytes (one more than fromhdr accepts, so that a
 * longer one is still seen as too long); fields past the cap are counted.
 * Thread-safe apart from each object being used by one thread at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailtrail/auth.h"
#include "mailtrail/authres.h"
#include "mailtrail/clock.h"
#include "mailtrail/config.h"
#include "mailtrail/trackid.h"

struct mt_auth_msg {
	const struct mt_config	*cfg;
	struct mt_auth_env	 env;
	char			 track_id[MT_TRACKID_SIZE];
	struct mt_dkimv_msg	*dkim;		/* verification in progress */
	int			 dkim_failed;	/* could not start */
	char			*from[MT_AUTH_FROM_MAX];
	size_t			 from_len[MT_AUTH_FROM_MAX];
	size_t			 n_from;	/* seen, past the cap too */
	int			 from_failed;	/* a value could not be kept */
};

static struct {
	unsigned long long spf_checks, dkim_messages, dmarc_checks;
	unsigned long long dmarc_fail, dmarc_enforced;
} counters;

#define COUNT(field)	__atomic_add_fetch(&counters.field, 1, __ATOMIC_RELAXED)

struct mt_auth_msg *
auth_msg_new(const struct mt_config *cfg, const struct mt_auth_env *env,
    const char *track_id)
{
	struct mt_auth_msg	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->cfg = cfg;
	a->env = *env;
	snprintf(a->track_id, sizeof(a->track_id), "%s", track_id);
	return a;
}

void
auth_msg_free(struct mt_auth_msg *a)
{
	size_t	 i;

	if (a == NULL)
		return;
	dkimv_msg_free(a->dkim);
	for (i = 0; i < MT_AUTH_FROM_MAX; i++)
		free(a->from[i]);
	free(a);
}

/* Keep one From: value (its bytes, capped one past what fromhdr takes). */
static void
keep_from(struct mt_auth_msg *a, const char *value)
{
	size_t	 len = strlen(value), i = a->n_from++;

	if (i >= MT_AUTH_FROM_MAX)
		return;
	if (len > MT_FROM_FIELD_MAX + 1)
		len = MT_FROM_FIELD_MAX + 1;
	if ((a->from[i] = malloc(len + 1)) == NULL) {
		a->from_failed = 1;
		return;
	}
	memcpy(a->from[i], value, len);
	a->from[i][len] = '\0';
	a->from_len[i] = len;
}

void
auth_msg_header(struct mt_auth_msg *a, const char *name, const char *value)
{
	if (a == NULL)
		return;
	/* DKIM starts at the first header, when it is on. */
	if (a->dkim == NULL && !a->dkim_failed && a->cfg->dkim_enabled &&
	    a->env.dkimv != NULL) {
		a->dkim = dkimv_msg_new(a->env.dkimv, a->track_id);
		if (a->dkim == NULL)
			a->dkim_failed = 1;
		else
			COUNT(dkim_messages);
	}
	if (a->dkim != NULL)
		(void)dkimv_msg_header(a->dkim, name, value);
	if (strcasecmp(name, "From") == 0)
		keep_from(a, value);
}

void
auth_msg_eoh(struct mt_auth_msg *a)
{
	if (a != NULL && a->dkim != NULL)
		(void)dkimv_msg_eoh(a->dkim);
}

void
auth_msg_body(struct mt_auth_msg *a, const unsigned char *chunk, size_t len)
{
	if (a != NULL && a->dkim != NULL)
		(void)dkimv_msg_body(a->dkim, chunk, len);
}

/* SPF for both identities (or skipped) into out. */
static void
run_spf(struct mt_auth_msg *a, const struct mt_auth_facts *f,
    struct mt_auth_results *out)
{
	const char		*helo, *from;
	struct mt_spf_rec	*r;

	if (!a->cfg->spf_enabled || a->env.spf == NULL)
		return;
	helo = f->helo != NULL ? f->helo : "";
	from = f->mail_from != NULL ? f->mail_from : "";

	r = &out->spf[out->n_spf++];
	r->identity = MT_SPF_MAILFROM;
	r->time_us = mt_now_us();
	if (f->skip_spf != NULL) {
		r->skipped = 1;
		r->skip_reason = f->skip_spf;
	} else {
		COUNT(spf_checks);
		spf_check(a->env.spf, MT_SPF_MAILFROM, f->client_addr, helo,
		    from, &r->outcome);
	}
	if (helo[0] == '\0')
		return;
	r = &out->spf[out->n_spf++];
	r->identity = MT_SPF_HELO;
	r->time_us = mt_now_us();
	if (f->skip_spf != NULL) {
		r->skipped = 1;
		r->skip_reason = f->skip_spf;
		return;
	}
	if (!*f->helo_spf_done) {
		COUNT(spf_checks);
		spf_check(a->env.spf, MT_SPF_HELO, f->client_addr, helo, from,
		    f->helo_spf);
		*f->helo_spf_done = 1;
	}
	r->outcome = *f->helo_spf;
}

/* Finish DKIM into out.  -1 on an internal failure. */
static int
run_dkim(struct mt_auth_msg *a, struct mt_auth_results *out, char *notebuf,
    size_t notelen, const char **note)
{
	struct mt_dkim_sig	*sigs;
	size_t			 max = a->cfg->dkim_max_signatures, n = 0;
	const char		*limit;
	int			 rc;

	if (a->dkim == NULL)
		return 0;
	if ((sigs = calloc(max, sizeof(*sigs))) == NULL)
		return -1;
	rc = dkimv_msg_end(a->dkim, sigs, max, &n);
	/*
	 * A header section over the verifier's caps is this message's
	 * result (permerror per signature, or none), not a failure.
	 */
	if (rc >= 0 && (limit = dkimv_msg_limit(a->dkim)) != NULL) {
		snprintf(notebuf, notelen, "DKIM not verified: %s", limit);
		*note = notebuf;
	}
	dkimv_msg_free(a->dkim);
	a->dkim = NULL;
	if (rc < 0) {
		free(sigs);
		return -1;
	}
	out->dkim = sigs;
	out->n_dkim = n;
	out->dkim_done = 1;
	return 0;
}

const struct mt_spf_outcome *
auth_spf_primary(const struct mt_auth_results *r, int null_sender, int *helo)
{
	size_t	 i;

	*helo = 0;
	for (i = 0; i < r->n_spf; i++) {
		if (r->spf[i].skipped)
			continue;
		if (r->spf[i].identity == (null_sender ? MT_SPF_HELO :
		    MT_SPF_MAILFROM)) {
			*helo = null_sender;
			return &r->spf[i].outcome;
		}
	}
	/* The null sender with no HELO: the MAIL FROM evaluation stands. */
	for (i = 0; i < r->n_spf; i++)
		if (!r->spf[i].skipped) {
			*helo = r->spf[i].identity == MT_SPF_HELO;
			return &r->spf[i].outcome;
		}
	return NULL;
}

unsigned
auth_sample(const char *track_id)
{
	uint32_t	 h = 2166136261u;
	size_t		 len = strlen(track_id), i;

	/* The random part: all but the 10 characters of milliseconds. */
	for (i = len > 10 ? 10 : 0; i < len; i++) {
		h ^= (unsigned char)track_id[i];
		h *= 16777619u;
	}
	return h % 100;
}

/* The domain SPF checked for DMARC: MAIL FROM's, or the HELO name. */
static const char *
spf_domain(const struct mt_auth_facts *f, int helo)
{
	const char	*at;

	if (helo)
		return f->helo;
	if (f->mail_from == NULL ||
	    (at = strrchr(f->mail_from, '@')) == NULL)
		return NULL;
	return at + 1;
}

/* The DKIM failure kind DMARC's reason names, from the verifier's words. */
static enum mt_dmarc_dkim_fail
dkim_fail_kind(const struct mt_dkim_sig *s)
{
	if (s->result != MT_DKIM_FAIL)
		return MT_DMARC_DKIM_FAIL_OTHER;
	if (strcmp(s->reason, "body hash mismatch") == 0)
		return MT_DMARC_DKIM_FAIL_BODY_HASH;
	if (strcmp(s->reason, "bad signature") == 0)
		return MT_DMARC_DKIM_FAIL_SIGNATURE;
	return MT_DMARC_DKIM_FAIL_OTHER;
}

/* DMARC into out->dmarc.  -1 on an internal failure. */
static int
run_dmarc(struct mt_auth_msg *a, const struct mt_auth_facts *f,
    struct mt_auth_results *out)
{
	struct mt_from_value		 vals[MT_AUTH_FROM_MAX];
	struct mt_from_result		 fr;
	struct mt_dmarc_dkim_in		 dk[MT_DMARC_MAX_SIGS];
	struct mt_dmarc_in		 in;
	const struct mt_spf_outcome	*spf;
	size_t				 i, n;
	int				 helo;

	if (!a->cfg->dmarc_enabled || a->env.resolver == NULL ||
	    (out->n_spf == 0 && !out->dkim_done))
		return 0;
	if (a->from_failed)
		return -1;
	if ((out->dmarc = calloc(1, sizeof(*out->dmarc))) == NULL)
		return -1;
	COUNT(dmarc_checks);
	n = a->n_from < MT_AUTH_FROM_MAX ? a->n_from : MT_AUTH_FROM_MAX;
	for (i = 0; i < n; i++) {
		vals[i].data = a->from[i];
		vals[i].len = a->from_len[i];
	}
	out->n_from = a->n_from;
	(void)fromhdr_domain(vals, n, &fr);

	memset(&in, 0, sizeof(in));
	in.from_status = fr.status;
	in.from_domain = fr.domain;
	spf = auth_spf_primary(out, f->mail_from == NULL ||
	    f->mail_from[0] == '\0', &helo);
	in.spf = spf != NULL ? spf->result : MT_SPF_NONE;
	in.spf_domain = spf != NULL ? spf_domain(f, helo) : NULL;
	in.spf_helo = helo;
	for (i = 0; i < out->n_dkim && i < MT_DMARC_MAX_SIGS; i++) {
		dk[i].domain = out->dkim[i].domain;
		dk[i].result = out->dkim[i].result;
		dk[i].fail = dkim_fail_kind(&out->dkim[i]);
	}
	in.dkim = dk;
	in.n_dkim = i;
	out->dmarc_sample = auth_sample(f->track_id != NULL ? f->track_id :
	    a->track_id);
	in.sample = out->dmarc_sample;
	in.deadline_us = mt_mono_us() +
	    (int64_t)a->cfg->dmarc_timeout_ms * 1000;
	if (dmarc_evaluate(a->env.resolver, &in, out->dmarc) ==
	    MT_DMARC_FAIL)
		COUNT(dmarc_fail);

	/*
	 * Enforcement: only what dmarc.enforce allows, only for the
	 * disposition the policy asks (after pct= and t=), and never for a
	 * client SPF skips (trusted networks, SMTP AUTH): their From: is
	 * ours to vouch for.
	 */
	if (f->skip_spf == NULL && out->dmarc->result == MT_DMARC_FAIL) {
		enum mt_dmarc_policy d = out->dmarc->disposition;

		if (d == MT_DMARC_P_REJECT &&
		    a->cfg->dmarc_enforce == MT_DMARC_ENFORCE_REJECT)
			out->action = MT_AUTH_ACT_REJECT;
		else if ((d == MT_DMARC_P_REJECT ||
		    d == MT_DMARC_P_QUARANTINE) &&
		    a->cfg->dmarc_enforce != MT_DMARC_ENFORCE_OFF)
			out->action = MT_AUTH_ACT_QUARANTINE;
		if (out->action != MT_AUTH_ACT_NONE)
			COUNT(dmarc_enforced);
	}
	return 0;
}

int
auth_msg_end(struct mt_auth_msg *a, const struct mt_auth_facts *f,
    struct mt_auth_results *out, const char **why, char *notebuf,
    size_t notelen, const char **note)
{
	int	 rc = 0;

	*why = NULL;
	*note = NULL;
	run_spf(a, f, out);
	if (run_dkim(a, out, notebuf, notelen, note) < 0) {
		*why = "DKIM verification failed internally";
		rc = -1;
	}
	if (run_dmarc(a, f, out) < 0) {
		if (*why == NULL)
			*why = "DMARC not evaluated: out of memory";
		rc = -1;
	}
	return rc;
}

int
auth_header(const struct mt_auth_results *r, const char *authserv_id,
    int received_spf, const char *client_addr, const char *mail_from,
    const char *helo, char **ar, char **rspf)
{
	const struct mt_spf_outcome	*spf;
	char				*buf, frag[2048];
	size_t				 bufsz = 8192;
	int				 h = 0, n;

	*ar = NULL;
	*rspf = NULL;
	if (r->n_spf == 0 && !r->dkim_done)
		return 0;		/* nothing evaluated: nothing to say */
	if ((buf = malloc(bufsz)) == NULL)
		return -1;
	spf = auth_spf_primary(r, mail_from == NULL || mail_from[0] == '\0',
	    &h);
	n = authres_build(buf, bufsz, authserv_id, spf, h, mail_from, helo,
	    r->dkim, r->n_dkim, r->dkim_done);
	if (n >= 0 && r->dmarc != NULL) {
		if (dmarc_authres(r->dmarc, frag, sizeof(frag)) < 0)
			n = -1;
		else
			n = authres_append(buf, bufsz, (size_t)n, frag);
	}
	if (n < 0) {
		free(buf);
		return -1;
	}
	*ar = buf;
	if (received_spf && spf != NULL && !h &&
	    (buf = malloc(bufsz)) != NULL) {
		if (authres_received_spf(buf, bufsz, authserv_id, spf,
		    client_addr, mail_from, helo) > 0)
			*rspf = buf;
		else
			free(buf);
	}
	return 0;
}

void
auth_reject_text(const struct mt_auth_results *r, const char *tmpl,
    char *out, size_t outsz)
{
	char		 words[512];
	const char	*p, *v;
	size_t		 o = 0, n;

	words[0] = '\0';
	if (r->dmarc != NULL)
		(void)dmarc_reason_text(r->dmarc, words, sizeof(words));
	if (outsz == 0)
		return;
	for (p = tmpl; *p != '\0' && o + 1 < outsz; p++) {
		if (p[0] == '%' && (p[1] == 'd' || p[1] == 'r')) {
			v = p[1] == 'd' ? (r->dmarc != NULL ?
			    r->dmarc->from_domain : "") : words;
			n = strlen(v);
			if (n > outsz - 1 - o)
				n = outsz - 1 - o;
			memcpy(out + o, v, n);
			o += n;
			p++;
		} else
			out[o++] = *p;
	}
	out[o] = '\0';
}

void
auth_results_clear(struct mt_auth_results *r)
{
	free(r->dkim);
	r->dkim = NULL;
	r->n_dkim = 0;
	free(r->dmarc);
	r->dmarc = NULL;
}

size_t
auth_results_mem(const struct mt_auth_results *r)
{
	return r->n_dkim * sizeof(*r->dkim) +
	    (r->dmarc != NULL ? sizeof(*r->dmarc) : 0);
}

void
auth_counters(struct auth_counters *out)
{
	out->spf_checks = __atomic_load_n(&counters.spf_checks,
	    __ATOMIC_RELAXED);
	out->dkim_messages = __atomic_load_n(&counters.dkim_messages,
	    __ATOMIC_RELAXED);
	out->dmarc_checks = __atomic_load_n(&counters.dmarc_checks,
	    __ATOMIC_RELAXED);
	out->dmarc_fail = __atomic_load_n(&counters.dmarc_fail,
	    __ATOMIC_RELAXED);
	out->dmarc_enforced = __atomic_load_n(&counters.dmarc_enforced,
	    __ATOMIC_RELAXED);
}
