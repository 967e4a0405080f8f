/*
 * dkimv.c - DKIM verification with libopendkim (see dkimv.h).
 *
 * One DKIM_LIB per struct mt_dkimv, set up once and read-only afterwards:
 *   - DKIM_LIBFLAGS_BADSIGHANDLES: a DKIM-Signature with a syntax error
 *     still gets a handle, so every signature is reported;
 *   - DKIM_LIBFLAGS_DELAYSIGPROC: key lookups and signature checks wait
 *     for dkim_eom(), where the MTA waits longest (PITFALLS: a callback
 *     may have only 10 s);
 *   - DKIM_OPTS_MINKEYBITS 0: the library would turn a short key into a
 *     bare failure; we apply min_key_bits after verification instead, to
 *     report "policy" with the size;
 *   - a prescreen callback (end of headers) marks the signatures past
 *     opts.max_signatures as ignored, and a final callback (end of
 *     message, before any is processed) those past dkimv_msg_end()'s max,
 *     so they cost neither a lookup nor a signature check;
 *   - DKIM_LIBFLAGS_FIXCRLF is off: the milter delivers CRLF bodies, and
 *     header values are made CRLF here (folds arrive as bare "\n").
 *
 * DNS goes through libopendkim's query hooks to struct mt_resolver.  The
 * start hook runs the whole (synchronous, deadline-bound) query into the
 * library's buffer; the wait hook hands back the outcome; the cancel hook
 * frees the query handle.  The library reads an NXDOMAIN reply as "no key"
 * only when it carries the question, so NXDOMAIN is always given to it as
 * a reply built here (header and question); a timeout is reported as
 * DKIM_DNS_EXPIRED and other failures as DKIM_DNS_ERROR, which it turns
 * into DKIM_SIGERROR_KEYFAIL: temperror.  The DNS status of each lookup is
 * noted in the message so the reason can say which failure it was.
 *
 * XXX The hooks receive only the library-wide service handle, not the
 * message, so the message being verified is passed in a thread-local
 * pointer set for the duration of dkim_eoh()/dkim_eom() on the calling
 * thread (the library calls the hooks synchronously from there).  It
 * gives the query its deadline and a place to note its status; nothing
 * outlives the call, so no state follows a connection across threads.
 *
 * Thread safety: distinct messages may be verified on distinct threads at
 * once.  One DKIM handle per message; the hooks touch only their query
 * handle, the calling thread's message and the (thread-safe) resolver.
 */
#include <arpa/nameser.h>
#include <arpa/nameser_compat.h>
#include <ctype.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include <dkim.h>

#include "mailtrail/clock.h"
#include "mailtrail/dkimv.h"
#include "mailtrail/log.h"
#include "mailtrail/stats.h"

#define DKIMV_QNAME_MAX		400	/* selector._domainkey.domain */
#define DKIMV_ID_MAX		64	/* message id kept for log lines */
#define DKIMV_MAX_SIGS		1000	/* bound on opts.max_signatures */

struct mt_dkimv {
	DKIM_LIB		*lib;
	struct mt_resolver	*resolver;	/* borrowed */
	struct mt_dkimv_opts	 opts;
};

/* One key lookup of a message, for the reason given with its result. */
struct dkimv_lookup {
	char			*name;		/* selector._domainkey.domain */
	enum mt_dns_status	 status;
	int			 badname;	/* not a DNS name: not asked */
};

/* A DKIM-Signature field's own tags, for a result given without a check. */
struct dkimv_seen {
	char			 domain[256];	/* d= */
	char			 selector[128];	/* s= */
	char			 algorithm[32];	/* a= */
	char			 header_b[9];	/* b=, first 8 characters */
};

struct mt_dkimv_msg {
	struct mt_dkimv		*d;
	DKIM			*dkim;
	char			 id[DKIMV_ID_MAX];
	int			 failed;	/* verification cannot go on */
	char			 why[128];	/* reason when failed */
	const char		*limit;		/* static: the message's header
						   section hit a cap (not a failure) */
	size_t			 nseen;		/* DKIM-Signature fields seen */
	struct dkimv_seen	*seen;		/* the first max_signatures */
	int			 eoh_done;
	int			 nosig;		/* no DKIM-Signature at all */
	int			 ended;
	size_t			 end_max;	/* dkimv_msg_end()'s max */
	size_t			 nheaders;
	size_t			 header_bytes;
	char			*hbuf;		/* "Name:value" with CRLF folds */
	size_t			 hbufsz;
	int64_t			 deadline_us;	/* of the key lookups */
	struct dkimv_lookup	*lookups;	/* room for max_signatures */
	size_t			 nlookups;
};

/* A started query: its outcome is known at once. */
struct dkimv_query {
	enum mt_dns_status	 status;
	size_t			 anslen;
};

/* The message whose dkim_eoh()/dkim_eom() runs on this thread, or NULL. */
static __thread struct mt_dkimv_msg *dkimv_current;

/*
 * What a stranger's message can cause is logged once per burst (STYLE 8):
 * a verifier stopped by a message, a header section over our caps.
 */
static struct mt_burst burst_stopped =
    MT_BURST_INIT("dkim verification stopped", 60);
static struct mt_burst burst_limit =
    MT_BURST_INIT("dkim not verified: header section over a cap", 300);
static struct mt_burst burst_start =
    MT_BURST_INIT("dkim verifier not started", 60);

const char *
dkimv_result_name(enum mt_dkim_result r)
{
	switch (r) {
	case MT_DKIM_PASS:
		return "pass";
	case MT_DKIM_FAIL:
		return "fail";
	case MT_DKIM_NEUTRAL:
		return "neutral";
	case MT_DKIM_POLICY:
		return "policy";
	case MT_DKIM_TEMPERROR:
		return "temperror";
	case MT_DKIM_PERMERROR:
		return "permerror";
	}
	return "permerror";
}

/* ------------------------------------------------------------ DNS hooks */

/*
 * A name the DNS could hold: labels of letters, digits, '-' and '_' (the
 * "_domainkey" label), 1 to 63 bytes each, 253 in all.  d= and s= are a
 * stranger's bytes: anything else can never have a key, so it is not
 * asked for (and is "key not found", not a DNS failure).
 */
static int
valid_qname(const char *name)
{
	size_t	 label = 0, total = 0;

	for (; *name != '\0'; name++, total++) {
		if (*name == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*name) && *name != '-' &&
		    *name != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && total <= 253;
}

/*
 * Build an NXDOMAIN reply for name/type: header and question, which is
 * what libopendkim checks before it believes the rcode.  (It does not
 * compare the question's name with its own.)
 */
static int
nxdomain_reply(const char *name, int type, unsigned char *buf, size_t bufsz,
    size_t *len)
{
	HEADER	 h;
	int	 n;

	if (bufsz < HFIXEDSZ + QFIXEDSZ + 1)
		return -1;
	memset(&h, 0, sizeof(h));
	h.qr = 1;
	h.rd = 1;
	h.ra = 1;
	h.rcode = NXDOMAIN;
	h.qdcount = htons(1);
	memcpy(buf, &h, HFIXEDSZ);
	n = dn_comp(name, buf + HFIXEDSZ, (int)(bufsz - HFIXEDSZ - QFIXEDSZ),
	    NULL, NULL);
	if (n < 0)
		return -1;
	ns_put16((unsigned int)type, buf + HFIXEDSZ + n);
	ns_put16(C_IN, buf + HFIXEDSZ + n + INT16SZ);
	*len = HFIXEDSZ + (size_t)n + QFIXEDSZ;
	return 0;
}

/* At most one lookup per verified signature: max_signatures of them. */
static void
note_lookup(struct mt_dkimv_msg *m, const char *name, enum mt_dns_status st,
    int badname)
{
	struct dkimv_lookup	*l;

	if (m->nlookups >= m->d->opts.max_signatures)
		return;
	if (m->lookups == NULL && (m->lookups = calloc(
	    m->d->opts.max_signatures, sizeof(*m->lookups))) == NULL)
		return;		/* only the reason is less precise */
	l = &m->lookups[m->nlookups];
	if ((l->name = strdup(name)) == NULL)
		return;
	l->status = st;
	l->badname = badname;
	m->nlookups++;
}

static int
dns_start(void *srv, int type, unsigned char *query, unsigned char *buf,
    size_t buflen, void **qh)
{
	struct mt_dkimv		*d = srv;
	struct mt_dkimv_msg	*m = dkimv_current;
	struct dkimv_query	*q;
	const char		*name = (const char *)query;
	int64_t			 deadline;
	int			 badname;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return DKIM_DNS_ERROR;
	if (m != NULL)
		deadline = m->deadline_us;
	else	/* not from our calls: a bug, but keep the bound */
		deadline = mt_mono_us() + (int64_t)d->opts.timeout_ms * 1000;
	badname = !valid_qname(name);
	if (badname)
		q->status = MT_DNS_NXDOMAIN;
	else if (mt_mono_us() >= deadline)
		q->status = MT_DNS_TIMEOUT;
	else
		q->status = resolver_query(d->resolver, name, type, buf,
		    buflen, &q->anslen, deadline);
	if (q->status == MT_DNS_NXDOMAIN && nxdomain_reply(badname ?
	    "invalid" : name, type, buf, buflen, &q->anslen) != 0)
		q->status = MT_DNS_ERROR;
	if (q->status == MT_DNS_OK && (q->anslen < HFIXEDSZ ||
	    q->anslen > buflen))
		q->status = MT_DNS_ERROR;
	if (m != NULL)
		note_lookup(m, name, q->status, badname);
	*qh = q;
	return DKIM_DNS_SUCCESS;
}

static int
dns_cancel(void *srv, void *qh)
{
	free(qh);
	return DKIM_DNS_SUCCESS;
}

static int
dns_waitreply(void *srv, void *qh, struct timeval *timeout, size_t *bytes,
    int *error, int *dnssec)
{
	struct dkimv_query	*q = qh;

	if (error != NULL)
		*error = 0;
	if (dnssec != NULL)
		*dnssec = DKIM_DNSSEC_UNKNOWN;
	switch (q->status) {
	case MT_DNS_OK:
	case MT_DNS_NXDOMAIN:
		*bytes = q->anslen;
		return DKIM_DNS_SUCCESS;
	case MT_DNS_TIMEOUT:
		return DKIM_DNS_EXPIRED;
	default:
		return DKIM_DNS_ERROR;
	}
}

/* Signatures past max_signatures: not looked at at all. */
static DKIM_CBSTAT
prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	struct mt_dkimv_msg	*m = dkim_get_user_context(dkim);
	int			 i;

	if (m == NULL)
		return DKIM_CBSTAT_CONTINUE;
	for (i = 0; i < nsigs; i++)
		if ((size_t)i >= m->d->opts.max_signatures)
			dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

/* Called by dkim_eom() before it processes any: the caller's bound. */
static DKIM_CBSTAT
final(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	struct mt_dkimv_msg	*m = dkim_get_user_context(dkim);
	int			 i;

	if (m == NULL)
		return DKIM_CBSTAT_CONTINUE;
	for (i = 0; i < nsigs; i++)
		if ((size_t)i >= m->end_max)
			dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

/* ------------------------------------------------------------ verifier */

struct mt_dkimv *
dkimv_new(const struct mt_dkimv_opts *opts, struct mt_resolver *r, char *err,
    size_t errlen)
{
	struct mt_dkimv	*d;
	unsigned int	 flags, u;

	if (opts == NULL || r == NULL) {
		snprintf(err, errlen, "dkimv: no options or no resolver");
		return NULL;
	}
	if (opts->max_signatures < 1 || opts->max_signatures > DKIMV_MAX_SIGS) {
		snprintf(err, errlen, "dkimv: max_signatures %zu out of "
		    "range 1..%d", opts->max_signatures, DKIMV_MAX_SIGS);
		return NULL;
	}
	if (opts->timeout_ms < 1) {
		snprintf(err, errlen, "dkimv: timeout_ms %d must be >= 1",
		    opts->timeout_ms);
		return NULL;
	}
	if (opts->min_key_bits < 0 || opts->min_key_bits > 16384) {
		snprintf(err, errlen, "dkimv: min_key_bits %d out of range "
		    "0..16384", opts->min_key_bits);
		return NULL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errlen, "dkimv: out of memory");
		return NULL;
	}
	d->opts = *opts;
	d->resolver = r;
	if ((d->lib = dkim_init(NULL, NULL)) == NULL) {
		snprintf(err, errlen, "dkimv: dkim_init failed");
		free(d);
		return NULL;
	}

	flags = 0;
	if (dkim_options(d->lib, DKIM_OP_GETOPT, DKIM_OPTS_FLAGS, &flags,
	    sizeof(flags)) != DKIM_STAT_OK)
		goto opt_fail;
	flags |= DKIM_LIBFLAGS_BADSIGHANDLES | DKIM_LIBFLAGS_DELAYSIGPROC;
	flags &= ~(unsigned int)(DKIM_LIBFLAGS_FIXCRLF |
	    DKIM_LIBFLAGS_VERIFYONE | DKIM_LIBFLAGS_EOHCHECK |
	    DKIM_LIBFLAGS_CACHE | DKIM_LIBFLAGS_TMPFILES);
	if (dkim_options(d->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	    sizeof(flags)) != DKIM_STAT_OK)
		goto opt_fail;
	u = 0;
	if (dkim_options(d->lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &u,
	    sizeof(u)) != DKIM_STAT_OK)
		goto opt_fail;
	/* Only passed to the wait hook, which has nothing to wait for. */
	u = (unsigned int)(opts->timeout_ms + 999) / 1000;
	if (dkim_options(d->lib, DKIM_OP_SETOPT, DKIM_OPTS_TIMEOUT, &u,
	    sizeof(u)) != DKIM_STAT_OK)
		goto opt_fail;
	if (dkim_set_prescreen(d->lib, prescreen) != DKIM_STAT_OK ||
	    dkim_set_final(d->lib, final) != DKIM_STAT_OK)
		goto opt_fail;

	/* Our resolver; the library must neither set up nor close its own. */
	dkim_dns_set_init(d->lib, NULL);
	dkim_dns_set_close(d->lib, NULL);
	(void)dkim_dns_set_query_service(d->lib, d);
	dkim_dns_set_query_start(d->lib, dns_start);
	dkim_dns_set_query_cancel(d->lib, dns_cancel);
	dkim_dns_set_query_waitreply(d->lib, dns_waitreply);
	return d;

opt_fail:
	snprintf(err, errlen, "dkimv: libopendkim refused an option");
	dkim_close(d->lib);
	free(d);
	return NULL;
}

void
dkimv_free(struct mt_dkimv *d)
{
	if (d == NULL)
		return;
	dkim_close(d->lib);
	free(d);
}

/* ------------------------------------------------------------ messages */

static void
msg_fail(struct mt_dkimv_msg *m, const char *why, DKIM_STAT st)
{
	char	 detail[256];

	if (m->failed)
		return;
	m->failed = 1;
	snprintf(m->why, sizeof(m->why), "%s", why);
	snprintf(detail, sizeof(detail), "%s %s (libopendkim status %d)",
	    m->id, why, st);
	mt_burst_hit(&burst_stopped, LOG_WARNING, detail);
}

/*
 * The header section went over a cap: a property of this message, not a
 * failure.  Nothing more goes to the library; the signatures seen (before
 * and after) are reported unverified by dkimv_msg_end().
 */
static void
msg_limit(struct mt_dkimv_msg *m, const char *why)
{
	char	 detail[128];

	if (m->limit != NULL)
		return;
	m->limit = why;
	snprintf(detail, sizeof(detail), "%s %s", m->id, why);
	mt_burst_hit(&burst_limit, LOG_NOTICE, detail);
}

/*
 * The value of one tag of a DKIM tag-list (RFC 6376 section 3.2) into out,
 * white space left out, cut to fit; "" when absent.  Tag names are
 * case-sensitive.
 */
static void
tag_value(const char *v, const char *tag, char *out, size_t outsz)
{
	const char	*name, *end;
	size_t		 nlen, o = 0;

	out[0] = '\0';
	while (*v != '\0') {
		while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
			v++;
		name = v;
		while (*v != '\0' && *v != '=' && *v != ';' && *v != ' ' &&
		    *v != '\t' && *v != '\r' && *v != '\n')
			v++;
		nlen = (size_t)(v - name);
		while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
			v++;
		if ((end = strchr(v, ';')) == NULL)
			end = v + strlen(v);
		if (*v == '=' && nlen == strlen(tag) &&
		    strncmp(name, tag, nlen) == 0) {
			for (v++; v < end && o + 1 < outsz; v++)
				if (*v != ' ' && *v != '\t' && *v != '\r' &&
				    *v != '\n')
					out[o++] = *v;
			out[o] = '\0';
			return;
		}
		v = *end != '\0' ? end + 1 : end;
	}
}

/* Note a DKIM-Signature field (the first max_signatures kept). */
static void
note_signature(struct mt_dkimv_msg *m, const char *value)
{
	struct dkimv_seen	*s;

	if (m->nseen++ >= m->d->opts.max_signatures)
		return;
	if (m->seen == NULL && (m->seen = calloc(m->d->opts.max_signatures,
	    sizeof(*m->seen))) == NULL)
		return;		/* the count is what matters */
	s = &m->seen[m->nseen - 1];
	tag_value(value, "d", s->domain, sizeof(s->domain));
	tag_value(value, "s", s->selector, sizeof(s->selector));
	tag_value(value, "a", s->algorithm, sizeof(s->algorithm));
	tag_value(value, "b", s->header_b, sizeof(s->header_b));
}

struct mt_dkimv_msg *
dkimv_msg_new(struct mt_dkimv *d, const char *id)
{
	struct mt_dkimv_msg	*m;
	DKIM_STAT		 st = DKIM_STAT_INTERNAL;
	size_t			 i, j;

	if (d == NULL)
		return NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		goto fail;
	m->d = d;
	/* Our own IDs are printable; keep only that, for the log lines. */
	for (i = j = 0; id != NULL && id[i] != '\0' &&
	    j < sizeof(m->id) - 1; i++)
		if (id[i] > ' ' && id[i] < 0x7f)
			m->id[j++] = id[i];
	if (j == 0)
		m->id[j++] = '-';
	m->id[j] = '\0';
	m->dkim = dkim_verify(d->lib, (const unsigned char *)m->id, NULL,
	    &st);
	if (m->dkim == NULL)
		goto fail;
	if (dkim_set_user_context(m->dkim, m) != DKIM_STAT_OK)
		goto fail;
	return m;

fail:
	{
		char	 detail[128];

		snprintf(detail, sizeof(detail), "%s (libopendkim status %d)",
		    m != NULL ? m->id : "-", st);
		mt_burst_hit(&burst_start, LOG_WARNING, detail);
	}
	dkimv_msg_free(m);
	return NULL;
}

void
dkimv_msg_free(struct mt_dkimv_msg *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	if (m->dkim != NULL)
		dkim_free(m->dkim);
	for (i = 0; i < m->nlookups; i++)
		free(m->lookups[i].name);
	free(m->lookups);
	free(m->seen);
	free(m->hbuf);
	free(m);
}

int
dkimv_msg_header(struct mt_dkimv_msg *m, const char *name, const char *value)
{
	size_t		 nlen, vlen, need, i, o;
	DKIM_STAT	 st;
	char		*nb;

	if (m == NULL)
		return -1;
	if (m->failed)
		return -1;
	if (m->ended) {
		msg_fail(m, "header after end of verification",
		    DKIM_STAT_INVALID);
		return -1;
	}
	if (name == NULL || value == NULL)
		return 0;
	nlen = strlen(name);
	vlen = strlen(value);
	if (nlen == 0)
		return 0;	/* nothing libopendkim could hash */
	if (strcasecmp(name, DKIM_SIGNHEADER) == 0)
		note_signature(m, value);
	if (m->limit != NULL)
		return 0;
	if (m->eoh_done) {
		msg_limit(m, MT_DKIMV_LIMIT_LATE);
		return 0;
	}
	m->nheaders++;
	m->header_bytes += nlen + 1 + vlen;
	if (m->nheaders > MT_DKIMV_MAX_HEADERS) {
		msg_limit(m, MT_DKIMV_LIMIT_COUNT);
		return 0;
	}
	if (m->header_bytes > MT_DKIMV_MAX_HEADER_BYTES) {
		msg_limit(m, MT_DKIMV_LIMIT_BYTES);
		return 0;
	}

	/* "Name:value", each bare LF made CRLF: at most twice the value. */
	need = nlen + 1 + 2 * vlen + 1;
	if (need > m->hbufsz) {
		if ((nb = realloc(m->hbuf, need)) == NULL) {
			msg_fail(m, "out of memory", DKIM_STAT_NORESOURCE);
			return -1;
		}
		m->hbuf = nb;
		m->hbufsz = need;
	}
	memcpy(m->hbuf, name, nlen);
	o = nlen;
	m->hbuf[o++] = ':';
	for (i = 0; i < vlen; i++) {
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
			m->hbuf[o++] = '\r';
		m->hbuf[o++] = value[i];
	}
	m->hbuf[o] = '\0';

	st = dkim_header(m->dkim, (unsigned char *)m->hbuf, o);
	switch (st) {
	case DKIM_STAT_OK:
		return 0;
	case DKIM_STAT_SYNTAX:
		/*
		 * A field name libopendkim cannot take (control or 8-bit
		 * bytes, a semicolon), or a DKIM-Signature it could not
		 * parse at all: the field is left out, as a signer would.
		 */
		return 0;
	case DKIM_STAT_NORESOURCE:
		msg_fail(m, "out of memory", st);
		return -1;
	default:
		msg_fail(m, "verifier error at header", st);
		return -1;
	}
}

int
dkimv_msg_eoh(struct mt_dkimv_msg *m)
{
	DKIM_STAT	 st;

	if (m == NULL)
		return -1;
	if (m->failed)
		return -1;
	if (m->eoh_done || m->limit != NULL)
		return 0;
	m->eoh_done = 1;
	dkimv_current = m;
	st = dkim_eoh(m->dkim);
	dkimv_current = NULL;
	switch (st) {
	case DKIM_STAT_OK:
		return 0;
	case DKIM_STAT_NOSIG:
		m->nosig = 1;
		return 0;
	case DKIM_STAT_NORESOURCE:
		msg_fail(m, "out of memory", st);
		return -1;
	default:
		msg_fail(m, "verifier error at end of headers", st);
		return -1;
	}
}

int
dkimv_msg_body(struct mt_dkimv_msg *m, const unsigned char *buf, size_t len)
{
	DKIM_STAT	 st;

	if (m == NULL)
		return -1;
	if (m->failed)
		return -1;
	if (m->ended)
		return -1;
	if (m->limit != NULL)
		return 0;
	if (!m->eoh_done && dkimv_msg_eoh(m) != 0)
		return -1;
	if (m->nosig || len == 0)
		return 0;
	/* libopendkim only reads the chunk; its prototype lacks the const. */
	st = dkim_body(m->dkim, (unsigned char *)(uintptr_t)buf, len);
	if (st == DKIM_STAT_OK)
		return 0;
	msg_fail(m, st == DKIM_STAT_NORESOURCE ? "out of memory" :
	    "verifier error in body", st);
	return -1;
}

/* ------------------------------------------------------------ results */

static void
copy_field(char *dst, size_t dstsz, const unsigned char *src)
{
	snprintf(dst, dstsz, "%s", src != NULL ? (const char *)src : "");
}

/* a=, from the signature's own tag (sig_signalg is unset on early errors). */
static void
sig_algorithm(DKIM_SIGINFO *sig, char *out, size_t outsz)
{
	const unsigned char	*a;
	size_t			 i, n;

	a = dkim_sig_gettagvalue(sig, 0, (unsigned char *)"a");
	if (a == NULL) {
		out[0] = '\0';
		return;
	}
	n = strlen((const char *)a);
	if (n == 0 || n >= outsz) {
		snprintf(out, outsz, "unknown");
		return;
	}
	for (i = 0; i < n; i++) {
		if (!isalnum(a[i]) && a[i] != '-') {
			snprintf(out, outsz, "unknown");
			return;
		}
		out[i] = (char)tolower(a[i]);
	}
	out[n] = '\0';
}

/* The first 8 characters of b=, folding white space left out. */
static void
sig_header_b(DKIM_SIGINFO *sig, char *out, size_t outsz)
{
	const unsigned char	*b;
	size_t			 o = 0;

	b = dkim_sig_gettagvalue(sig, 0, (unsigned char *)"b");
	for (; b != NULL && *b != '\0' && o + 1 < outsz && o < 8; b++)
		if (*b != ' ' && *b != '\t' && *b != '\r' && *b != '\n')
			out[o++] = (char)*b;
	out[o] = '\0';
}

static const struct dkimv_lookup *
find_lookup(const struct mt_dkimv_msg *m, const struct mt_dkim_sig *s)
{
	char	 name[DKIMV_QNAME_MAX];
	size_t	 i;

	snprintf(name, sizeof(name), "%s._domainkey.%s", s->selector,
	    s->domain);
	for (i = 0; i < m->nlookups; i++)
		if (strcmp(m->lookups[i].name, name) == 0)
			return &m->lookups[i];
	return NULL;
}

static const char *
keyfail_reason(const struct mt_dkimv_msg *m, const struct mt_dkim_sig *s)
{
	const struct dkimv_lookup *l = find_lookup(m, s);

	if (l != NULL) {
		switch (l->status) {
		case MT_DNS_TIMEOUT:
			return "key lookup timed out";
		case MT_DNS_SERVFAIL:
			return "key lookup failed (SERVFAIL)";
		case MT_DNS_OK:
			return "bad key lookup reply";
		default:
			return "key lookup failed";
		}
	}
	return "key lookup failed";
}

static const char *
nokey_reason(const struct mt_dkimv_msg *m, const struct mt_dkim_sig *s)
{
	const struct dkimv_lookup *l = find_lookup(m, s);

	return l != NULL && l->badname ? "bad key name (s=, d=)" :
	    "key not found";
}

static void
set_result(struct mt_dkim_sig *s, enum mt_dkim_result r, const char *reason)
{
	s->result = r;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
}

/* The result of one signature; see dkimv.h for the rules. */
static void
sig_result(const struct mt_dkimv_msg *m, DKIM_SIGINFO *sig,
    struct mt_dkim_sig *s)
{
	unsigned int	 flags = dkim_sig_getflags(sig);
	int		 bh = dkim_sig_getbh(sig);
	DKIM_SIGERROR	 err = dkim_sig_geterror(sig);
	int		 rsa = strncmp(s->algorithm, "rsa-", 4) == 0;
	char		 why[64];

	if ((flags & DKIM_SIGFLAG_PASSED) != 0 && bh == DKIM_SIGBH_MATCH &&
	    err == DKIM_SIGERROR_OK) {
		if (strcmp(s->algorithm, "rsa-sha1") == 0)
			set_result(s, MT_DKIM_POLICY,
			    "rsa-sha1 not accepted (RFC 8301)");
		else if (rsa && s->key_bits < m->d->opts.min_key_bits) {
			snprintf(why, sizeof(why), "key too small (%d bits)",
			    s->key_bits);
			set_result(s, MT_DKIM_POLICY, why);
		} else
			set_result(s, MT_DKIM_PASS, "");
		return;
	}
	if ((flags & DKIM_SIGFLAG_PASSED) != 0 && bh == DKIM_SIGBH_MISMATCH) {
		set_result(s, MT_DKIM_FAIL, "body hash mismatch");
		return;
	}
	switch (err) {
	case DKIM_SIGERROR_BADSIG:
		set_result(s, MT_DKIM_FAIL, "bad signature");
		break;
	case DKIM_SIGERROR_TOOLARGE_L:
		set_result(s, MT_DKIM_FAIL, "body truncated (l=)");
		break;
	case DKIM_SIGERROR_KEYFAIL:
		set_result(s, MT_DKIM_TEMPERROR, keyfail_reason(m, s));
		break;
	case DKIM_SIGERROR_NOKEY:
		set_result(s, MT_DKIM_PERMERROR, nokey_reason(m, s));
		break;
	case DKIM_SIGERROR_KEYREVOKED:
		set_result(s, MT_DKIM_PERMERROR, "key revoked");
		break;
	case DKIM_SIGERROR_MULTIREPLY:
		set_result(s, MT_DKIM_PERMERROR, "multiple key records");
		break;
	case DKIM_SIGERROR_DNSSYNTAX:
	case DKIM_SIGERROR_KEYDECODE:
		set_result(s, MT_DKIM_PERMERROR, "key syntax error");
		break;
	case DKIM_SIGERROR_KEYVERSION:
		set_result(s, MT_DKIM_PERMERROR, "unsupported key version");
		break;
	case DKIM_SIGERROR_KEYUNKNOWNHASH:
		set_result(s, MT_DKIM_PERMERROR, "unsupported key hash");
		break;
	case DKIM_SIGERROR_KEYHASHMISMATCH:
		set_result(s, MT_DKIM_PERMERROR, "key does not allow the hash");
		break;
	case DKIM_SIGERROR_NOTEMAILKEY:
		set_result(s, MT_DKIM_PERMERROR, "key not for email");
		break;
	case DKIM_SIGERROR_KEYTYPEMISSING:
	case DKIM_SIGERROR_KEYTYPEUNKNOWN:
		set_result(s, MT_DKIM_PERMERROR, "unsupported key type");
		break;
	case DKIM_SIGERROR_KEYTOOSMALL:	/* the library's floor is off */
		snprintf(why, sizeof(why), "key too small (%d bits)",
		    s->key_bits);
		set_result(s, MT_DKIM_POLICY, why);
		break;
	case DKIM_SIGERROR_SUBDOMAIN:
		set_result(s, MT_DKIM_PERMERROR, "key forbids subdomains");
		break;
	case DKIM_SIGERROR_EXPIRED:
		set_result(s, MT_DKIM_PERMERROR, "signature expired");
		break;
	case DKIM_SIGERROR_FUTURE:
		set_result(s, MT_DKIM_PERMERROR, "signature in the future");
		break;
	case DKIM_SIGERROR_VERSION:
		set_result(s, MT_DKIM_PERMERROR, "unsupported version");
		break;
	case DKIM_SIGERROR_INVALID_A:
		set_result(s, MT_DKIM_PERMERROR, "unsupported algorithm");
		break;
	case DKIM_SIGERROR_INVALID_HC:
	case DKIM_SIGERROR_INVALID_BC:
		set_result(s, MT_DKIM_PERMERROR,
		    "unsupported canonicalization");
		break;
	case DKIM_SIGERROR_INVALID_Q:
	case DKIM_SIGERROR_INVALID_QO:
		set_result(s, MT_DKIM_PERMERROR, "unsupported query method");
		break;
	case DKIM_SIGERROR_DOMAIN:
		set_result(s, MT_DKIM_PERMERROR, "i= not within d=");
		break;
	case DKIM_SIGERROR_INVALID_H:
		set_result(s, MT_DKIM_PERMERROR, "From not signed");
		break;
	case DKIM_SIGERROR_MBSFAILED:
		set_result(s, MT_DKIM_PERMERROR, "required field not signed");
		break;
	case DKIM_SIGERROR_CONDITIONAL:
	case DKIM_SIGERROR_CONDLOOP:
		set_result(s, MT_DKIM_PERMERROR, "conditional signature");
		break;
	case DKIM_SIGERROR_MISSING_A:
	case DKIM_SIGERROR_MISSING_H:
	case DKIM_SIGERROR_EMPTY_H:
	case DKIM_SIGERROR_INVALID_L:
	case DKIM_SIGERROR_MISSING_D:
	case DKIM_SIGERROR_EMPTY_D:
	case DKIM_SIGERROR_MISSING_S:
	case DKIM_SIGERROR_EMPTY_S:
	case DKIM_SIGERROR_MISSING_B:
	case DKIM_SIGERROR_EMPTY_B:
	case DKIM_SIGERROR_CORRUPT_B:
	case DKIM_SIGERROR_MISSING_BH:
	case DKIM_SIGERROR_EMPTY_BH:
	case DKIM_SIGERROR_CORRUPT_BH:
	case DKIM_SIGERROR_MISSING_V:
	case DKIM_SIGERROR_EMPTY_V:
	case DKIM_SIGERROR_TIMESTAMPS:
		set_result(s, MT_DKIM_NEUTRAL, "syntax error");
		break;
	default:
		/* Never evaluated (e.g. the library ran out of memory). */
		set_result(s, MT_DKIM_NEUTRAL, "not verified");
		break;
	}
}

static void
fill_sig(struct mt_dkimv_msg *m, DKIM_SIGINFO *sig, struct mt_dkim_sig *s)
{
	unsigned int	 bits, flags;

	memset(s, 0, sizeof(*s));
	copy_field(s->domain, sizeof(s->domain), dkim_sig_getdomain(sig));
	copy_field(s->selector, sizeof(s->selector),
	    dkim_sig_getselector(sig));
	sig_algorithm(sig, s->algorithm, sizeof(s->algorithm));
	if (dkim_sig_getidentity(m->dkim, sig, (unsigned char *)s->identity,
	    sizeof(s->identity)) != DKIM_STAT_OK)
		s->identity[0] = '\0';
	s->identity[sizeof(s->identity) - 1] = '\0';
	sig_header_b(sig, s->header_b, sizeof(s->header_b));
	/*
	 * Known once the key was decoded: for RSA the library records the
	 * size then; for ed25519 (always 256 bits) it records nothing useful,
	 * so it is 256 when the signature check ran (passed, or "bad").
	 */
	flags = dkim_sig_getflags(sig);
	if ((flags & DKIM_SIGFLAG_PROCESSED) != 0) {
		if (strcmp(s->algorithm, "ed25519-sha256") == 0) {
			if ((flags & DKIM_SIGFLAG_PASSED) != 0 ||
			    dkim_sig_geterror(sig) == DKIM_SIGERROR_BADSIG)
				s->key_bits = 256;
		} else if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK &&
		    bits <= 65536)
			s->key_bits = (int)bits;
	}
	sig_result(m, sig, s);
}

/*
 * The header section went over a cap: each signature seen is permerror
 * (RFC 8601 section 2.7.1: it could not be verified, and never will be on
 * this copy), with its own d=, s=, a= and b=; no signature at all is
 * "none", as for any unsigned message.
 */
static int
unverified(const struct mt_dkimv_msg *m, struct mt_dkim_sig *sigs,
    size_t max, size_t *nsigs)
{
	const struct dkimv_seen	*s;
	size_t			 i, out;

	out = m->nseen < max ? m->nseen : max;
	if (out > m->d->opts.max_signatures)
		out = m->d->opts.max_signatures;
	for (i = 0; i < out; i++) {
		memset(&sigs[i], 0, sizeof(sigs[i]));
		if (m->seen != NULL) {
			s = &m->seen[i];
			copy_field(sigs[i].domain, sizeof(sigs[i].domain),
			    (const unsigned char *)s->domain);
			copy_field(sigs[i].selector, sizeof(sigs[i].selector),
			    (const unsigned char *)s->selector);
			copy_field(sigs[i].algorithm,
			    sizeof(sigs[i].algorithm),
			    (const unsigned char *)s->algorithm);
			copy_field(sigs[i].header_b, sizeof(sigs[i].header_b),
			    (const unsigned char *)s->header_b);
		}
		sigs[i].result = MT_DKIM_PERMERROR;
		snprintf(sigs[i].reason, sizeof(sigs[i].reason),
		    "not verified: %s", m->limit);
	}
	*nsigs = out;
	return m->nseen > 0 ? 1 : 0;
}

const char *
dkimv_msg_limit(const struct mt_dkimv_msg *m)
{
	return m != NULL ? m->limit : NULL;
}

int
dkimv_msg_end(struct mt_dkimv_msg *m, struct mt_dkim_sig *sigs, size_t max,
    size_t *nsigs)
{
	DKIM_SIGINFO	**list;
	DKIM_STAT	  st;
	int		  n, i;
	size_t		  out;

	if (nsigs != NULL)
		*nsigs = 0;
	if (m == NULL || nsigs == NULL || (sigs == NULL && max > 0))
		return -1;
	if (m->ended && !m->failed)
		msg_fail(m, "verification already ended", DKIM_STAT_INVALID);
	m->ended = 1;
	if (!m->failed && !m->eoh_done)
		(void)dkimv_msg_eoh(m);
	if (m->failed)
		goto failed;
	if (m->limit != NULL)
		return unverified(m, sigs, max, nsigs);
	if (m->nosig)
		return 0;

	m->end_max = max;
	m->deadline_us = mt_mono_us() + (int64_t)m->d->opts.timeout_ms * 1000;
	dkimv_current = m;
	st = dkim_eom(m->dkim, NULL);
	dkimv_current = NULL;
	switch (st) {
	case DKIM_STAT_NOSIG:
		/* Unsigned, or every signature past max (max == 0). */
		if (dkim_getsiglist(m->dkim, &list, &n) == DKIM_STAT_OK &&
		    n > 0)
			return 1;
		return 0;
	case DKIM_STAT_OK:
	case DKIM_STAT_BADSIG:
	case DKIM_STAT_NOKEY:
	case DKIM_STAT_CANTVRFY:
	case DKIM_STAT_REVOKED:
	case DKIM_STAT_KEYFAIL:
	case DKIM_STAT_SYNTAX:
	case DKIM_STAT_MULTIDNSREPLY:
		break;	/* per-signature results follow */
	case DKIM_STAT_NORESOURCE:
		msg_fail(m, "out of memory", st);
		goto failed;
	default:
		msg_fail(m, "verifier error at end of message", st);
		goto failed;
	}
	if (dkim_getsiglist(m->dkim, &list, &n) != DKIM_STAT_OK || n < 0) {
		msg_fail(m, "verifier error: no signature list", st);
		goto failed;
	}
	if (n == 0)
		return 0;
	for (i = 0, out = 0; i < n && out < max; i++) {
		if ((dkim_sig_getflags(list[i]) & DKIM_SIGFLAG_IGNORE) != 0)
			continue;
		fill_sig(m, list[i], &sigs[out++]);
	}
	*nsigs = out;
	return 1;

failed:
	if (max > 0) {
		memset(&sigs[0], 0, sizeof(sigs[0]));
		sigs[0].result = MT_DKIM_TEMPERROR;
		snprintf(sigs[0].reason, sizeof(sigs[0].reason), "%s",
		    m->why);
	}
	return -1;
}
