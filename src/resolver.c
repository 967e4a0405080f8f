/*
 * resolver.c - DNS lookups with deadlines: the system's name servers, or a
 * table filled by the caller.
 *
 * Both implementations hand back complete DNS messages (RFC 1035 wire
 * format) as a recursive name server would send them, so libspf2,
 * libopendkim and ns_initparse(3) read either alike.
 *
 * The table.  Names are compared without regard to ASCII case and with or
 * without one trailing dot; labels are taken literally (no "\." escapes).
 * A query for a name with no record at all is NXDOMAIN; for a known name
 * without a record of the type asked, NODATA (rcode 0, no answers).  A
 * CNAME is followed inside the table for every other type, up to
 * TABLE_CNAME_HOPS links: the answer holds the chain, then the records of
 * the last name (or nothing, with NXDOMAIN when the last name is unknown),
 * as a recursive server answers.  A loop or a longer chain is SERVFAIL.
 * "TIMEOUT" and "SERVFAIL" records apply to their own name and type (and,
 * for a CNAME, to every lookup that has to go through it); a TIMEOUT query
 * sleeps until its deadline and fails, at once when it has none.  The
 * answer's first owner name points back at the question (name compression);
 * the others are written out.  Records are kept in the order added.
 *
 * The system resolver.  The name servers come from the C library's
 * configuration (res_ninit(3): /etc/resolv.conf, read again for every query
 * since glibc keeps a parsed copy and checks the file for changes; under
 * "ip netns exec" that file is the namespace's own).  We send and wait
 * ourselves instead of calling res_nquery(3), because glibc's (2.36) waits
 * in whole seconds (longer for each further server), cannot stop at our
 * deadline, returns -1 without a length for NXDOMAIN and NODATA, and gives
 * SERVFAIL the same h_errno and errno as a timeout (TRY_AGAIN, ETIMEDOUT).
 * res_ninit plus res_nclose cost about 2 us a query here.  What we do:
 *   - one query ID (getrandom) and one connected UDP socket per server
 *     (so the kernel picks a random source port and drops foreign packets);
 *   - tries go round the servers, "attempts" times, each waiting timeout_ms
 *     (cut to the deadline) while still accepting a late answer from a
 *     server asked before;
 *   - an answer must carry our ID and our question, or it is ignored;
 *   - a truncated answer (TC) is asked again over TCP, with its own try;
 *   - "options use-vc" means TCP only; "options edns0" adds an OPT record
 *     announcing a UDP size no larger than the caller's buffer;
 *   - rcode SERVFAIL, REFUSED or NOTIMP moves on to the next server (as
 *     glibc does) and ends as MT_DNS_SERVFAIL when no server answers better;
 *     an ICMP "port unreachable" moves on too and counts as no answer, so a
 *     stopped server gives a quick MT_DNS_TIMEOUT.
 * The answer goes straight into the caller's buffer; a message longer than
 * the buffer is MT_DNS_ERROR.
 *
 * Neither implementation caches anything: every query goes to the table or
 * to the network.
 *
 * Thread safety: once a table is filled, every function may be called from
 * any thread; the counters are atomic.  Filling a table is not thread-safe.
 */
#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mailtrail/clock.h"
#include "mailtrail/resolver.h"

#define DNS_HEADER_LEN		12
#define DNS_NAME_MAX		255	/* wire form, with the root label */
#define DNS_TEXT_NAME_MAX	253	/* presentation form, no final dot */
#define DNS_LABEL_MAX		63
#define DNS_STRING_MAX		255	/* one TXT character-string */
#define DNS_RDATA_MAX		65535
#define DNS_MSG_MAX		65535
#define DNS_TTL			300	/* in table answers */
#define DNS_EDNS_PAYLOAD	1232	/* UDP size we announce at most */

#define TABLE_CNAME_HOPS	8

/*
 * Limits on options, only to keep the arithmetic far from overflow (the
 * message in resolver_new() names them).
 */
#define OPT_TIMEOUT_MS_MAX	3600000
#define OPT_ATTEMPTS_MAX	100

/* Header flags (second 16-bit word). */
#define HDR_QR		0x8000
#define HDR_AA		0x0400
#define HDR_TC		0x0200
#define HDR_RD		0x0100
#define HDR_RA		0x0080
#define HDR_OPCODE(f)	(((f) >> 11) & 0xf)
#define HDR_RCODE(f)	((f) & 0xf)

enum rec_kind {
	REC_DATA = 0,
	REC_TIMEOUT,
	REC_SERVFAIL
};

struct table_rec {
	char		*name;		/* canonical: lower case, no final dot */
	int		 type;
	enum rec_kind	 kind;
	unsigned char	*rdata;		/* wire form (REC_DATA only) */
	size_t		 rdlen;
	char		*target;	/* CNAME: canonical target name */
};

struct mt_resolver {
	int		 is_table;
	struct mt_resolver_opts opts;

	struct table_rec *recs;
	size_t		 nrecs;
	size_t		 caprecs;
	unsigned int	 next_id;	/* table answers' IDs (atomic) */

	uint64_t	 queries;	/* atomic */
	uint64_t	 timeouts;	/* atomic */
	uint64_t	 failures;	/* atomic */
};

#define COUNT(r, field)	__atomic_add_fetch(&(r)->field, 1, __ATOMIC_RELAXED)

/* ------------------------------------------------------------ names */

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/*
 * Check a presentation name and copy it to out (DNS_TEXT_NAME_MAX + 1
 * bytes) without its final dot, lower-cased when fold is set.  Labels are
 * 1 to 63 bytes of anything but a dot; the root alone is refused.
 * Returns the length or -1.
 */
static int
name_canon(const char *in, char *out, int fold)
{
	size_t	 len, i, label;

	if (in == NULL)
		return -1;
	len = strlen(in);
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_TEXT_NAME_MAX)
		return -1;
	label = 0;
	for (i = 0; i < len; i++) {
		if (in[i] == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (++label > DNS_LABEL_MAX)
			return -1;
		out[i] = fold ? (char)lower((unsigned char)in[i]) : in[i];
	}
	if (label == 0)
		return -1;
	out[len] = '\0';
	return (int)len;
}

/* Wire form of a canonical name into out (DNS_NAME_MAX bytes); length. */
static size_t
name_wire(const char *canon, unsigned char *out)
{
	const char	*p = canon, *dot;
	size_t		 n = 0, l;

	for (;;) {
		dot = strchr(p, '.');
		l = dot != NULL ? (size_t)(dot - p) : strlen(p);
		out[n++] = (unsigned char)l;
		memcpy(out + n, p, l);
		n += l;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	out[n++] = 0;
	return n;
}

/* ------------------------------------------------------------ message writer */

struct msg {
	unsigned char	*buf;
	size_t		 size;
	size_t		 len;
	int		 overflow;
};

static void
msg_put(struct msg *m, const void *p, size_t n)
{
	if (m->overflow || n > m->size - m->len) {
		m->overflow = 1;
		return;
	}
	memcpy(m->buf + m->len, p, n);
	m->len += n;
}

static void
msg_put16(struct msg *m, unsigned int v)
{
	unsigned char	 b[2];

	b[0] = (unsigned char)(v >> 8);
	b[1] = (unsigned char)v;
	msg_put(m, b, 2);
}

static void
msg_put32(struct msg *m, uint32_t v)
{
	msg_put16(m, v >> 16);
	msg_put16(m, v & 0xffff);
}

static unsigned int
get16(const unsigned char *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

static void
set16(unsigned char *p, unsigned int v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

/* ------------------------------------------------------------ common */

static struct mt_resolver *
resolver_alloc(void)
{
	return calloc(1, sizeof(struct mt_resolver));
}

void
resolver_counters(struct mt_resolver *r, struct mt_resolver_counters *out)
{
	if (out == NULL)
		return;
	memset(out, 0, sizeof(*out));
	if (r == NULL)
		return;
	out->queries = __atomic_load_n(&r->queries, __ATOMIC_RELAXED);
	out->timeouts = __atomic_load_n(&r->timeouts, __ATOMIC_RELAXED);
	out->failures = __atomic_load_n(&r->failures, __ATOMIC_RELAXED);
}

void
resolver_free(struct mt_resolver *r)
{
	size_t	 i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nrecs; i++) {
		free(r->recs[i].name);
		free(r->recs[i].rdata);
		free(r->recs[i].target);
	}
	free(r->recs);
	free(r);
}

const char *
resolver_status_name(enum mt_dns_status s)
{
	switch (s) {
	case MT_DNS_OK:
		return "ok";
	case MT_DNS_NXDOMAIN:
		return "nxdomain";
	case MT_DNS_TIMEOUT:
		return "timeout";
	case MT_DNS_SERVFAIL:
		return "servfail";
	case MT_DNS_ERROR:
		return "error";
	}
	return "unknown";
}

/* Sleep until the monotonic time until_us (mt_mono_us() clock). */
static void
sleep_until(int64_t until_us)
{
	struct timespec	 ts;

	ts.tv_sec = (time_t)(until_us / 1000000);
	ts.tv_nsec = (long)(until_us % 1000000) * 1000;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	    EINTR)
		;
}

/* ------------------------------------------------------------ table: filling */

struct mt_resolver *
resolver_new_table(void)
{
	struct mt_resolver	*r;

	if ((r = resolver_alloc()) == NULL)
		return NULL;
	r->is_table = 1;
	return r;
}

static int
table_type_ok(int type)
{
	switch (type) {
	case ns_t_a:
	case ns_t_aaaa:
	case ns_t_mx:
	case ns_t_txt:
	case ns_t_ptr:
	case ns_t_cname:
	case ns_t_ns:
	case ns_t_spf:
		return 1;
	}
	return 0;
}

/* Append a record; takes ownership of rdata and target (freed on failure). */
static int
table_append(struct mt_resolver *r, const char *name, int type,
    enum rec_kind kind, unsigned char *rdata, size_t rdlen, char *target)
{
	char		 canon[DNS_TEXT_NAME_MAX + 1];
	struct table_rec *rec, *n;
	size_t		 cap;

	if (r == NULL || !r->is_table || !table_type_ok(type) ||
	    name_canon(name, canon, 1) < 0)
		goto fail;
	if (r->nrecs == r->caprecs) {
		cap = r->caprecs ? r->caprecs * 2 : 16;
		if ((n = reallocarray(r->recs, cap, sizeof(*n))) == NULL)
			goto fail;
		r->recs = n;
		r->caprecs = cap;
	}
	rec = &r->recs[r->nrecs];
	memset(rec, 0, sizeof(*rec));
	if ((rec->name = strdup(canon)) == NULL)
		goto fail;
	rec->type = type;
	rec->kind = kind;
	rec->rdata = rdata;
	rec->rdlen = rdlen;
	rec->target = target;
	r->nrecs++;
	return 0;
fail:
	free(rdata);
	free(target);
	return -1;
}

/* rdata of a record whose data is one domain name (PTR, NS, CNAME). */
static unsigned char *
rdata_name(const char *text, size_t *rdlen, char **target)
{
	char		 canon[DNS_TEXT_NAME_MAX + 1];
	unsigned char	 wire[DNS_NAME_MAX], *rd;

	if (name_canon(text, canon, 1) < 0)
		return NULL;
	*rdlen = name_wire(canon, wire);
	if ((rd = malloc(*rdlen)) == NULL)
		return NULL;
	memcpy(rd, wire, *rdlen);
	if (target != NULL && (*target = strdup(canon)) == NULL) {
		free(rd);
		return NULL;
	}
	return rd;
}

/* "PREFERENCE NAME" */
static unsigned char *
rdata_mx(const char *text, size_t *rdlen)
{
	char		 canon[DNS_TEXT_NAME_MAX + 1];
	unsigned char	 *rd;
	unsigned long	 pref;
	char		*end;

	if (*text < '0' || *text > '9')
		return NULL;
	errno = 0;
	pref = strtoul(text, &end, 10);
	if (errno != 0 || pref > 65535 || (*end != ' ' && *end != '\t'))
		return NULL;
	while (*end == ' ' || *end == '\t')
		end++;
	if (name_canon(end, canon, 1) < 0)
		return NULL;
	if ((rd = malloc(2 + DNS_NAME_MAX)) == NULL)
		return NULL;
	set16(rd, (unsigned int)pref);
	*rdlen = 2 + name_wire(canon, rd + 2);
	return rd;
}

/* TXT/SPF rdata from count strings of given lengths, each <= 255 bytes. */
static unsigned char *
rdata_strings(const char *const *strings, const size_t *lens, size_t count,
    size_t *rdlen)
{
	unsigned char	*rd;
	size_t		 i, total = 0;

	if (count == 0)
		return NULL;
	for (i = 0; i < count; i++) {
		if (lens[i] > DNS_STRING_MAX)
			return NULL;
		total += 1 + lens[i];
		if (total > DNS_RDATA_MAX)
			return NULL;
	}
	if ((rd = malloc(total)) == NULL)
		return NULL;
	*rdlen = 0;
	for (i = 0; i < count; i++) {
		rd[(*rdlen)++] = (unsigned char)lens[i];
		memcpy(rd + *rdlen, strings[i], lens[i]);
		*rdlen += lens[i];
	}
	return rd;
}

/* One text cut into character-strings of at most 255 bytes ("" is one). */
static unsigned char *
rdata_text(const char *text, size_t *rdlen)
{
	size_t		 len = strlen(text), total, i, n;
	unsigned char	*rd;

	n = len == 0 ? 1 : (len + DNS_STRING_MAX - 1) / DNS_STRING_MAX;
	total = n + len;
	if (total > DNS_RDATA_MAX || (rd = malloc(total)) == NULL)
		return NULL;
	*rdlen = 0;
	for (i = 0; i < n; i++) {
		size_t	 chunk = len - i * DNS_STRING_MAX;

		if (chunk > DNS_STRING_MAX)
			chunk = DNS_STRING_MAX;
		rd[(*rdlen)++] = (unsigned char)chunk;
		memcpy(rd + *rdlen, text + i * DNS_STRING_MAX, chunk);
		*rdlen += chunk;
	}
	return rd;
}

int
resolver_table_add(struct mt_resolver *r, const char *name, int type,
    const char *rdata)
{
	unsigned char	*rd = NULL;
	size_t		 rdlen = 0;
	char		*target = NULL;

	if (r == NULL || !r->is_table || rdata == NULL)
		return -1;
	if (strcmp(rdata, "TIMEOUT") == 0)
		return table_append(r, name, type, REC_TIMEOUT, NULL, 0, NULL);
	if (strcmp(rdata, "SERVFAIL") == 0)
		return table_append(r, name, type, REC_SERVFAIL, NULL, 0, NULL);

	switch (type) {
	case ns_t_a:
		if ((rd = malloc(4)) == NULL)
			return -1;
		if (inet_pton(AF_INET, rdata, rd) != 1) {
			free(rd);
			return -1;
		}
		rdlen = 4;
		break;
	case ns_t_aaaa:
		if ((rd = malloc(16)) == NULL)
			return -1;
		if (inet_pton(AF_INET6, rdata, rd) != 1) {
			free(rd);
			return -1;
		}
		rdlen = 16;
		break;
	case ns_t_mx:
		rd = rdata_mx(rdata, &rdlen);
		break;
	case ns_t_txt:
	case ns_t_spf:
		rd = rdata_text(rdata, &rdlen);
		break;
	case ns_t_cname:
		rd = rdata_name(rdata, &rdlen, &target);
		break;
	case ns_t_ptr:
	case ns_t_ns:
		rd = rdata_name(rdata, &rdlen, NULL);
		break;
	default:
		return -1;
	}
	if (rd == NULL)
		return -1;
	return table_append(r, name, type, REC_DATA, rd, rdlen, target);
}

int
resolver_table_add_txt(struct mt_resolver *r, const char *name,
    const char *const *strings, size_t count)
{
	unsigned char	*rd;
	size_t		*lens, i, rdlen = 0;

	if (r == NULL || !r->is_table || strings == NULL || count == 0 ||
	    count > DNS_RDATA_MAX)
		return -1;
	if ((lens = calloc(count, sizeof(*lens))) == NULL)
		return -1;
	for (i = 0; i < count; i++) {
		if (strings[i] == NULL) {
			free(lens);
			return -1;
		}
		lens[i] = strlen(strings[i]);
	}
	rd = rdata_strings(strings, lens, count, &rdlen);
	free(lens);
	if (rd == NULL)
		return -1;
	return table_append(r, name, ns_t_txt, REC_DATA, rd, rdlen, NULL);
}

/* ------------------------------------------------------------ table: answers */

/*
 * What the table holds for a canonical name and a type: whether the name
 * exists, a special record of the type, a special CNAME record, whether
 * it has data of the type, and its first CNAME data record.
 */
struct lookup {
	int		 exists;
	enum rec_kind	 special;	/* REC_DATA: none */
	enum rec_kind	 special_cname;
	int		 has_type;
	const struct table_rec *cname;
};

static void
table_lookup(const struct mt_resolver *r, const char *canon, int type,
    struct lookup *lk)
{
	const struct table_rec	*rec;
	size_t			 i;

	memset(lk, 0, sizeof(*lk));
	for (i = 0; i < r->nrecs; i++) {
		rec = &r->recs[i];
		if (strcmp(rec->name, canon) != 0)
			continue;
		lk->exists = 1;
		if (rec->kind != REC_DATA) {
			if (rec->type == type && lk->special == REC_DATA)
				lk->special = rec->kind;
			if (rec->type == ns_t_cname &&
			    lk->special_cname == REC_DATA)
				lk->special_cname = rec->kind;
		} else if (rec->type == type)
			lk->has_type = 1;
		else if (rec->type == ns_t_cname && lk->cname == NULL)
			lk->cname = rec;
	}
	/* A special CNAME counts when the lookup has to go through it. */
	if (lk->special == REC_DATA && !lk->has_type)
		lk->special = lk->special_cname;
}

/* One answer record; owner is a pointer to the question when first. */
static void
put_rr(struct msg *m, const char *owner, int first, int type,
    const unsigned char *rdata, size_t rdlen)
{
	unsigned char	 wire[DNS_NAME_MAX];

	if (first)
		msg_put16(m, 0xc000 | DNS_HEADER_LEN);
	else
		msg_put(m, wire, name_wire(owner, wire));
	msg_put16(m, (unsigned int)type);
	msg_put16(m, ns_c_in);
	msg_put32(m, DNS_TTL);
	msg_put16(m, (unsigned int)rdlen);
	msg_put(m, rdata, rdlen);
}

static enum mt_dns_status
table_query(struct mt_resolver *r, const char *name, int type,
    unsigned char *answer, size_t answer_size, size_t *anslen,
    int64_t deadline_us)
{
	char		 asked[DNS_TEXT_NAME_MAX + 1];
	char		 cur[DNS_TEXT_NAME_MAX + 1];
	unsigned char	 wire[DNS_NAME_MAX];
	struct msg	 m = { answer, answer_size, 0, 0 };
	struct lookup	 lk;
	const struct table_rec *rec;
	unsigned int	 ancount = 0, rcode = ns_r_noerror, id;
	int		 hop, first = 1;
	size_t		 i;

	if (name_canon(name, asked, 0) < 0)
		return MT_DNS_ERROR;
	if (name_canon(name, cur, 1) < 0)
		return MT_DNS_ERROR;

	id = __atomic_add_fetch(&r->next_id, 1, __ATOMIC_RELAXED) & 0xffff;
	msg_put16(&m, id);
	msg_put16(&m, HDR_QR | HDR_AA | HDR_RD | HDR_RA);
	msg_put16(&m, 1);
	msg_put16(&m, 0);	/* ancount, set below */
	msg_put16(&m, 0);
	msg_put16(&m, 0);
	msg_put(&m, wire, name_wire(asked, wire));
	msg_put16(&m, (unsigned int)type);
	msg_put16(&m, ns_c_in);

	for (hop = 0;; hop++) {
		if (hop > TABLE_CNAME_HOPS)
			return MT_DNS_SERVFAIL;
		table_lookup(r, cur, type, &lk);
		if (!lk.exists) {
			rcode = ns_r_nxdomain;
			break;
		}
		if (lk.special == REC_TIMEOUT) {
			if (deadline_us > 0)
				sleep_until(deadline_us);
			return MT_DNS_TIMEOUT;
		}
		if (lk.special == REC_SERVFAIL)
			return MT_DNS_SERVFAIL;
		if (lk.has_type) {
			for (i = 0; i < r->nrecs; i++) {
				rec = &r->recs[i];
				if (rec->kind != REC_DATA ||
				    rec->type != type ||
				    strcmp(rec->name, cur) != 0)
					continue;
				put_rr(&m, cur, first, type, rec->rdata,
				    rec->rdlen);
				first = 0;
				ancount++;
			}
			break;
		}
		if (lk.cname == NULL || type == ns_t_cname)
			break;		/* NODATA */
		put_rr(&m, cur, first, ns_t_cname, lk.cname->rdata,
		    lk.cname->rdlen);
		first = 0;
		ancount++;
		/* target is canonical, so it fits */
		memcpy(cur, lk.cname->target, strlen(lk.cname->target) + 1);
	}
	if (m.overflow || ancount > 65535)
		return MT_DNS_ERROR;
	set16(answer + 2, HDR_QR | HDR_AA | HDR_RD | HDR_RA | rcode);
	set16(answer + 6, ancount);
	*anslen = m.len;
	return rcode == ns_r_nxdomain ? MT_DNS_NXDOMAIN : MT_DNS_OK;
}

/* ------------------------------------------------------------ system: setup */

static struct mt_resolver *
new_fail(char *err, size_t errlen, const char *why)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "resolver: %s", why);
	return NULL;
}

struct mt_resolver *
resolver_new(const struct mt_resolver_opts *opts, char *err, size_t errlen)
{
	struct mt_resolver	*r;
	struct __res_state	 rs;
	int			 n;

	if (opts == NULL || opts->timeout_ms < 1 ||
	    opts->timeout_ms > OPT_TIMEOUT_MS_MAX || opts->attempts < 1 ||
	    opts->attempts > OPT_ATTEMPTS_MAX)
		return new_fail(err, errlen, "timeout_ms must be 1..3600000 "
		    "and attempts 1..100");
	/* Read the configuration once now, to report trouble at start. */
	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) != 0)	/* no res_nclose: it would close fd 0 */
		return new_fail(err, errlen, "cannot read the resolver "
		    "configuration (res_ninit failed)");
	n = rs.nscount;
	res_nclose(&rs);
	if (n < 1)
		return new_fail(err, errlen, "no name server configured");
	if ((r = resolver_alloc()) == NULL)
		return new_fail(err, errlen, "out of memory");
	r->opts = *opts;
	return r;
}

/* ------------------------------------------------------------ system: queries */

struct server {
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	int			 udp;		/* socket, or -1 */
	int			 done;		/* answered badly this round */
};

struct query {
	unsigned char	 msg[DNS_HEADER_LEN + DNS_NAME_MAX + 4 + 11];
	size_t		 len;
	size_t		 qlen;		/* header + question */
	unsigned int	 id;
};

/* Result of one answer looked at. */
enum verdict {
	V_IGNORE = 0,		/* not ours: keep waiting */
	V_ANSWER,		/* NOERROR or NXDOMAIN: done */
	V_TRUNCATED,		/* ask again over TCP */
	V_FAILED,		/* SERVFAIL, REFUSED, NOTIMP */
	V_BAD,			/* FORMERR and other rcodes */
	V_TOOBIG		/* longer than the caller's buffer */
};

static int
build_query(struct query *q, const char *name, int type, size_t answer_size,
    int edns)
{
	char		 canon[DNS_TEXT_NAME_MAX + 1];
	struct msg	 m = { q->msg, sizeof(q->msg), 0, 0 };
	unsigned char	 wire[DNS_NAME_MAX];
	uint16_t	 id;
	size_t		 payload;

	if (name_canon(name, canon, 0) < 0)
		return -1;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)(mt_mono_us() ^ (uint64_t)getpid());
	q->id = id;
	msg_put16(&m, id);
	msg_put16(&m, HDR_RD);
	msg_put16(&m, 1);
	msg_put16(&m, 0);
	msg_put16(&m, 0);
	msg_put16(&m, edns ? 1 : 0);
	msg_put(&m, wire, name_wire(canon, wire));
	msg_put16(&m, (unsigned int)type);
	msg_put16(&m, ns_c_in);
	q->qlen = m.len;
	if (edns) {
		payload = answer_size < DNS_EDNS_PAYLOAD ? answer_size :
		    DNS_EDNS_PAYLOAD;
		if (payload < 512)
			payload = 512;
		msg_put(&m, "", 1);		/* root */
		msg_put16(&m, ns_t_opt);
		msg_put16(&m, (unsigned int)payload);
		msg_put32(&m, 0);		/* rcode, version, flags */
		msg_put16(&m, 0);
	}
	q->len = m.len;
	return m.overflow ? -1 : 0;
}

/* Is this message an answer to our query?  What does it say? */
static enum verdict
judge(const struct query *q, const unsigned char *a, size_t len)
{
	unsigned int	 flags;
	size_t		 i;

	if (len < q->qlen || get16(a) != q->id)
		return V_IGNORE;
	flags = get16(a + 2);
	if (!(flags & HDR_QR) || HDR_OPCODE(flags) != 0 || get16(a + 4) != 1)
		return V_IGNORE;
	for (i = DNS_HEADER_LEN; i < q->qlen; i++)
		if (lower(a[i]) != lower(q->msg[i]))
			return V_IGNORE;
	if (flags & HDR_TC)
		return V_TRUNCATED;
	switch (HDR_RCODE(flags)) {
	case ns_r_noerror:
	case ns_r_nxdomain:
		return V_ANSWER;
	case ns_r_servfail:
	case ns_r_refused:
	case ns_r_notimpl:
		return V_FAILED;
	}
	return V_BAD;
}

/* Milliseconds from now to until_us, rounded up, at least 0. */
static int
ms_until(int64_t until_us)
{
	int64_t	 d = until_us - mt_mono_us();

	if (d <= 0)
		return 0;
	d = (d + 999) / 1000;
	return d > INT_MAX ? INT_MAX : (int)d;
}

/* Wait for fd to be ready for events until until_us; 1 ready, 0 not. */
static int
wait_fd(int fd, short events, int64_t until_us)
{
	struct pollfd	 pfd;
	int		 n;

	pfd.fd = fd;
	pfd.events = events;
	for (;;) {
		pfd.revents = 0;
		n = poll(&pfd, 1, ms_until(until_us));
		if (n > 0)
			return 1;
		if (n == 0 || errno != EINTR)
			return 0;
	}
}

/* Read exactly n bytes from a non-blocking stream before until_us. */
static int
read_full(int fd, unsigned char *p, size_t n, int64_t until_us)
{
	ssize_t	 got;

	while (n > 0) {
		got = read(fd, p, n);
		if (got > 0) {
			p += got;
			n -= (size_t)got;
			continue;
		}
		if (got == 0)
			return -1;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || !wait_fd(fd, POLLIN, until_us))
			return -1;
	}
	return 0;
}

/*
 * Ask one server over TCP, the whole exchange bounded by until_us.
 * Returns the verdict (V_IGNORE: no usable answer) and the length.
 */
static enum verdict
ask_tcp(const struct query *q, const struct server *s, unsigned char *answer,
    size_t answer_size, size_t *len, int64_t until_us)
{
	unsigned char	 out[2 + sizeof(q->msg)], lenbuf[2];
	enum verdict	 v = V_IGNORE;
	size_t		 off = 0, n;
	ssize_t		 w;
	socklen_t	 sl;
	int		 fd, soerr;

	fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0)
		return V_IGNORE;
	if (connect(fd, (const struct sockaddr *)&s->addr, s->addrlen) != 0) {
		if (errno != EINPROGRESS || !wait_fd(fd, POLLOUT, until_us))
			goto out;
		sl = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 ||
		    soerr != 0)
			goto out;
	}
	set16(out, (unsigned int)q->len);
	memcpy(out + 2, q->msg, q->len);
	while (off < q->len + 2) {
		w = send(fd, out + off, q->len + 2 - off, MSG_NOSIGNAL);
		if (w > 0)
			off += (size_t)w;
		else if (w < 0 && errno == EINTR)
			continue;
		else if (w < 0 && errno == EAGAIN &&
		    wait_fd(fd, POLLOUT, until_us))
			continue;
		else
			goto out;
	}
	/* Skip answers that are not ours (a server may send several). */
	for (;;) {
		if (read_full(fd, lenbuf, 2, until_us) != 0)
			goto out;
		n = get16(lenbuf);
		if (n > answer_size) {
			v = V_TOOBIG;
			goto out;
		}
		if (read_full(fd, answer, n, until_us) != 0)
			goto out;
		v = judge(q, answer, n);
		if (v == V_TRUNCATED)
			v = V_BAD;	/* truncated over TCP: give up */
		if (v != V_IGNORE) {
			*len = n;
			goto out;
		}
	}
out:
	close(fd);
	return v;
}

/* Open server s's UDP socket if needed and send the query; 0 or -1. */
static int
send_udp(const struct query *q, struct server *s)
{
	ssize_t	 w;

	if (s->udp < 0) {
		s->udp = socket(s->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (s->udp < 0)
			return -1;
		if (connect(s->udp, (const struct sockaddr *)&s->addr,
		    s->addrlen) != 0) {
			close(s->udp);
			s->udp = -1;
			return -1;
		}
	}
	do
		w = send(s->udp, q->msg, q->len, 0);
	while (w < 0 && errno == EINTR);
	return w == (ssize_t)q->len ? 0 : -1;
}

static void
close_udp(struct server *s)
{
	if (s->udp >= 0) {
		close(s->udp);
		s->udp = -1;
	}
}

/*
 * Read from server s's UDP socket.  V_IGNORE when nothing usable came;
 * *gone is set when the server refused (ICMP) or failed for this round.
 */
static enum verdict
recv_udp(const struct query *q, struct server *s, unsigned char *answer,
    size_t answer_size, size_t *len, int *gone)
{
	ssize_t		 n;
	enum verdict	 v;

	for (;;) {
		n = recv(s->udp, answer, answer_size, MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return V_IGNORE;
			close_udp(s);		/* refused, unreachable */
			*gone = 1;
			return V_IGNORE;
		}
		if ((size_t)n > answer_size) {
			/* cut short: only judge what we have */
			v = judge(q, answer, answer_size);
			if (v == V_IGNORE)
				continue;
			return V_TOOBIG;
		}
		v = judge(q, answer, (size_t)n);
		if (v == V_IGNORE)
			continue;
		*len = (size_t)n;
		return v;
	}
}

/*
 * Wait until until_us for an answer from the servers asked so far
 * (srv[0..last]), as long as srv[last] may still answer.  Returns
 * V_ANSWER or V_TOOBIG (with *len), or V_IGNORE when the try is over;
 * servers that fail are marked done and *st remembers why.
 */
static enum verdict
wait_udp(struct mt_resolver *r, const struct query *q, struct server *srv,
    int last, unsigned char *answer, size_t answer_size, size_t *len,
    int64_t until_us, int64_t end_us, enum mt_dns_status *st)
{
	struct pollfd	 pfd[MAXNS];
	int		 map[MAXNS];
	enum verdict	 v;
	int64_t		 tcp_until;
	int		 npfd, j, k, n, gone;

	for (;;) {
		if (srv[last].udp < 0 || srv[last].done)
			return V_IGNORE;
		npfd = 0;
		for (j = 0; j <= last; j++) {
			if (srv[j].udp < 0 || srv[j].done)
				continue;
			pfd[npfd].fd = srv[j].udp;
			pfd[npfd].events = POLLIN;
			pfd[npfd].revents = 0;
			map[npfd++] = j;
		}
		n = poll(pfd, (nfds_t)npfd, ms_until(until_us));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return V_IGNORE;
		for (k = 0; k < npfd; k++) {
			if (pfd[k].revents == 0)
				continue;
			j = map[k];
			gone = 0;
			v = recv_udp(q, &srv[j], answer, answer_size, len,
			    &gone);
			if (v == V_TRUNCATED) {
				tcp_until = mt_mono_us() +
				    (int64_t)r->opts.timeout_ms * 1000;
				if (tcp_until > end_us)
					tcp_until = end_us;
				v = ask_tcp(q, &srv[j], answer, answer_size,
				    len, tcp_until);
				if (v == V_IGNORE)
					gone = 1;
			}
			switch (v) {
			case V_ANSWER:
			case V_TOOBIG:
				return v;
			case V_FAILED:
				if (*st != MT_DNS_ERROR)
					*st = MT_DNS_SERVFAIL;
				gone = 1;
				break;
			case V_BAD:
				*st = MT_DNS_ERROR;
				gone = 1;
				break;
			default:
				break;
			}
			if (gone) {
				srv[j].done = 1;
				close_udp(&srv[j]);
			}
		}
	}
}

static enum mt_dns_status
system_query(struct mt_resolver *r, const char *name, int type,
    unsigned char *answer, size_t answer_size, size_t *anslen,
    int64_t deadline_us)
{
	struct __res_state	 rs;
	struct server		 srv[MAXNS];
	struct query		 q;
	struct sockaddr		*sa;
	enum mt_dns_status	 st = MT_DNS_TIMEOUT;
	enum verdict		 v;
	int64_t			 until, end;
	size_t			 len = 0;
	int			 nsrv = 0, i, a, usevc, edns;

	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) != 0)
		return MT_DNS_ERROR;	/* res_nclose would close fd 0 */
	for (i = 0; i < rs.nscount && i < MAXNS; i++) {
		/* glibc keeps an IPv6 server in _u._ext.nsaddrs */
		if (rs.nsaddr_list[i].sin_family == 0 &&
		    rs._u._ext.nsaddrs[i] != NULL) {
			sa = (struct sockaddr *)rs._u._ext.nsaddrs[i];
			srv[nsrv].addrlen = sizeof(struct sockaddr_in6);
		} else {
			sa = (struct sockaddr *)&rs.nsaddr_list[i];
			srv[nsrv].addrlen = sizeof(struct sockaddr_in);
		}
		if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
			continue;
		memcpy(&srv[nsrv].addr, sa, srv[nsrv].addrlen);
		srv[nsrv].udp = -1;
		srv[nsrv].done = 0;
		nsrv++;
	}
	usevc = (rs.options & RES_USEVC) != 0;
	edns = (rs.options & RES_USE_EDNS0) != 0;
	res_nclose(&rs);
	if (nsrv == 0)
		return MT_DNS_ERROR;
	if (build_query(&q, name, type, answer_size, edns) != 0 ||
	    answer_size < q.qlen)	/* no answer could fit */
		return MT_DNS_ERROR;

	end = deadline_us > 0 ? deadline_us : INT64_MAX;
	for (a = 0; a < r->opts.attempts; a++) {
		for (i = 0; i < nsrv; i++)
			srv[i].done = 0;
		for (i = 0; i < nsrv; i++) {
			if (mt_mono_us() >= end)
				goto done;
			until = mt_mono_us() + (int64_t)r->opts.timeout_ms *
			    1000;
			if (until > end)
				until = end;
			if (usevc) {
				v = ask_tcp(&q, &srv[i], answer, answer_size,
				    &len, until);
				if (v == V_FAILED && st != MT_DNS_ERROR)
					st = MT_DNS_SERVFAIL;
				else if (v == V_BAD)
					st = MT_DNS_ERROR;
			} else if (send_udp(&q, &srv[i]) != 0) {
				close_udp(&srv[i]);
				continue;
			} else
				v = wait_udp(r, &q, srv, i, answer,
				    answer_size, &len, until, end, &st);
			if (v == V_ANSWER) {
				*anslen = len;
				st = HDR_RCODE(get16(answer + 2)) ==
				    ns_r_nxdomain ? MT_DNS_NXDOMAIN :
				    MT_DNS_OK;
				goto done;
			}
			if (v == V_TOOBIG) {
				st = MT_DNS_ERROR;
				goto done;
			}
		}
	}
done:
	for (i = 0; i < nsrv; i++)
		close_udp(&srv[i]);
	return st;
}

/* ------------------------------------------------------------ queries */

enum mt_dns_status
resolver_query(struct mt_resolver *r, const char *name, int type,
    unsigned char *answer, size_t answer_size, size_t *anslen,
    int64_t deadline_us)
{
	enum mt_dns_status	 st;

	if (anslen != NULL)
		*anslen = 0;
	if (r == NULL)
		return MT_DNS_ERROR;
	COUNT(r, queries);
	if (name == NULL || answer == NULL || anslen == NULL ||
	    type < 1 || type > 65535 || answer_size < DNS_HEADER_LEN)
		st = MT_DNS_ERROR;
	else if (deadline_us > 0 && mt_mono_us() >= deadline_us)
		st = MT_DNS_TIMEOUT;
	else if (r->is_table)
		st = table_query(r, name, type, answer, answer_size, anslen,
		    deadline_us);
	else
		st = system_query(r, name, type, answer, answer_size, anslen,
		    deadline_us);
	if (st == MT_DNS_TIMEOUT)
		COUNT(r, timeouts);
	else if (st == MT_DNS_SERVFAIL || st == MT_DNS_ERROR)
		COUNT(r, failures);
	if (st != MT_DNS_OK && st != MT_DNS_NXDOMAIN && anslen != NULL)
		*anslen = 0;
	return st;
}
