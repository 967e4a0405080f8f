/*
 * spf.c - SPF evaluation (RFC 7208): libspf2 for the policy, our resolver
 * for DNS.
 *
 * One call of spf_check() is one evaluation, and it owns everything it
 * uses: a libspf2 server (SPF_server_t), request and response, and our
 * DNS layer (an SPF_dns_server_t whose hook is the evaluation).  Making a
 * libspf2 server per evaluation costs 0.7-1.5 us (new + free, measured on
 * the shared 2-core build box; test_spf's cost test prints it; a whole
 * evaluation on the table resolver is 5-12 us), far under the 50 us that
 * would call for pooling.  So nothing of libspf2's is shared between
 * evaluations or threads, and the DNS layer finds its deadline in its own
 * hook rather than in thread-local state.
 *
 * DNS.  Every lookup libspf2 makes goes through resolver_query() with the
 * evaluation's deadline (now + opts.deadline_ms, fixed when spf_check()
 * starts).  The wire answer is turned into libspf2's SPF_dns_rr_t here
 * (A, AAAA, MX, TXT, PTR; CNAME chains inside the answer followed; names
 * from answers given back in the literal form we query with, not with
 * ns_name_ntop(3)'s "\032" escapes).  NXDOMAIN becomes HOST_NOT_FOUND, an
 * empty answer NO_DATA; a timeout, a server failure, a local resolver
 * error or a malformed answer TRY_AGAIN, which libspf2 turns into
 * temperror.  Once the deadline has passed no more queries are sent: every
 * further lookup is TRY_AGAIN at once.  libspf2's own layers are not used:
 * its resolv layer has no overall deadline and its cache layer keeps
 * failures for half an hour (PITFALLS.md).
 *
 * Policy decided in the layer, each a deliberate departure from what
 * libspf2 would do with its own layers (docs/spf-deviations.md lists the
 * RFC 7208 suite tests each one fixes, and the libspf2 faults left):
 *   - queries of the SPF RR type (99) are answered NO_DATA without being
 *     sent.  RFC 7208 (3.1, 4.4, 14.1) uses TXT records only; libspf2
 *     1.2.10 asks for type 99 first and, if it finds a record, never looks
 *     at TXT, so a stale type-99 record would override the TXT policy, and
 *     every record lookup would cost one more round trip;
 *   - a name longer than 253 octets loses labels on the left (RFC 7208
 *     7.3, for macro expansions); a name that still cannot be a domain
 *     name (a label empty or over 63 octets) is HOST_NOT_FOUND, unasked;
 *   - TXT texts: see spf_rr_add_txt() and spf_txt_several() (explanation
 *     texts with spaces, with unprintable bytes, or several of them; SPF
 *     records with unprintable bytes end as permerror);
 *   - at most MT_SPF_MAX_QUERIES queries per evaluation.  RFC 7208 4.6.4
 *     allows 10 DNS-using terms, each MX or PTR expanding to 10 more
 *     lookups, about 125 queries in all with the record, an exp= text and
 *     %{p}; libspf2 counts its limit per include level (a new response per
 *     include), so includes of includes multiply the queries.  Past the
 *     cap the lookup fails and the evaluation ends as permerror ("too many
 *     DNS lookups"), the RFC's outcome for exceeding its limits.
 *
 * libspf2's error handler.  libspf2 calls SPF_error() for broken internal
 * assumptions (a NULL where it wants none, a DNS layer returning NULL on
 * memory exhaustion, ...) and aborts if the handler returns.  Ours never
 * returns into libspf2: spf_check() keeps a sigsetjmp() context in a
 * thread-local pointer for exactly as long as it is inside libspf2, and the
 * handler siglongjmp()s back to it.  The evaluation ends as temperror with
 * mechanism "internal error: <libspf2's message>".
 * XXX The compromise: libspf2 is abandoned in the middle of a call.  We free
 * the server, request and top-level response (ours, and in a consistent
 * state between libspf2's own steps), but whatever libspf2 held in its own
 * stack frames (compiled records, include sub-responses, lookup results)
 * leaks.  Each such event is counted (spf_counters(): internal_errors) and
 * logged; a growing count is a bug to report, not a steady state.  The
 * handlers are process-wide (libspf2 keeps them in globals): they are
 * installed once with pthread_once() and only consult the thread-local
 * context, so concurrent evaluations cannot see each other's contexts.  An
 * SPF_error() outside any evaluation cannot happen (every libspf2 call in
 * this file runs inside a context); if it did, we log and abort, as libspf2
 * itself would, because returning is undefined behaviour there.
 *
 * Results.  libspf2's SPF_RESULT_INVALID ("never returned", it says) is
 * what Debian's 1.2.10 leaves when the checked domain's own record cannot
 * be had: its lookup failed (error SPF_E_DNS_ERROR: temperror) or it does
 * not compile (SPF_E_NOT_SPF and the syntax error: permerror).  We map it
 * to temperror when a DNS failure was involved (that error code, or our
 * layer saw a timeout/failure), else to permerror.
 * libspf2 answers pass ("localhost is always allowed") for any client in
 * 127.0.0.0/8 or ::1, whatever the record says; we keep that (it is how
 * libspf2 behaves for every user) and say so in mechanism ("localhost").
 *
 * What decided ("mechanism").  libspf2 does not expose the mechanism that
 * matched: a response carries only a reason code (mechanism, default,
 * localhost, failure) and error messages.  We report the reason ("default"
 * when the record ran out of mechanisms, "none", "localhost"), the error
 * text for permerror/temperror (for DNS trouble, which lookup failed), and
 * for a match, "mechanism" unless the checked domain's own record lets us
 * name it with certainty: the first ip4/ip6/all term of that record that
 * matches the client and whose qualifier gives libspf2's result, provided
 * no term before it could have given that result (an a, mx, ptr, exists or
 * include term with the same qualifier).  Otherwise "mechanism" it stays:
 * we never guess.
 *
 * Stranger's bytes.  Domain, mechanism and explanation are escaped with
 * mt_escape() (printable ASCII stays, everything else becomes \xHH).  The
 * explanation is the exp= text for fail (RFC 7208 6.2), otherwise libspf2's
 * header comment (or one in its words where it has none); libspf2's own
 * default explanation (a URL of a defunct site) is replaced by nothing, so
 * a fail without a usable exp= also gets the header comment.
 *
 * Identities: the MAIL FROM address; postmaster@HELO for the null sender
 * (RFC 7208 2.4); postmaster@HELO for the HELO identity (2.3).  A domain
 * that is not a usable domain name (an address literal, one label, an
 * all-digit last label, an empty or overlong label, control or 8-bit
 * bytes) gives none without any DNS (4.3).  IDN U-labels are not
 * converted to A-labels (XXX): they give none.
 *
 * Thread-safe: an mt_spf is read-only after spf_new() except for its
 * counters, which are updated atomically.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <ctype.h>
#include <pthread.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <spf2/spf.h>

#include "mailtrail/cidr.h"
#include "mailtrail/clock.h"
#include "mailtrail/escape.h"
#include "mailtrail/log.h"
#include "mailtrail/resolver.h"
#include "mailtrail/spf.h"

/* Largest DNS message we accept (TCP answers included). */
#define MT_SPF_ANSWER_MAX	65535
/* Queries per evaluation; RFC 7208 limits allow about 125 (see top). */
#define MT_SPF_MAX_QUERIES	150
/* CNAME links followed per lookup. */
#define MT_SPF_MAX_CNAME	8
/* Escaped libspf2 log message, cut beyond this. */
#define MT_SPF_LOGMSG_MAX	1024
/* The checked domain's record kept for naming the matching mechanism. */
#define MT_SPF_RECORD_MAX	2048

struct mt_spf {
	struct mt_resolver	*resolver;
	int			 deadline_ms;
	char			*receiver;
	uint64_t		 checks;		/* atomic */
	uint64_t		 internal_errors;	/* atomic */
};

/* One evaluation: the DNS layer's hook and the error handler's target. */
struct spf_eval {
	SPF_dns_server_t	 dns;
	struct mt_resolver	*resolver;
	int64_t			 deadline_us;
	int			 deadline_ms;
	unsigned char		*answer;
	const char		*domain;	/* the checked domain */
	unsigned		 queries;
	int			 deadline_hit;
	int			 over_cap;
	int			 dns_trouble;
	int			 bad_record;	/* record not ASCII */
	char			 trouble[192];	/* 1st DNS failure */
	char			*record;	/* checked domain's */
	size_t			 record_len;
	SPF_server_t		*server;
	SPF_request_t		*request;
	SPF_response_t		*response;
	char			 liberr[200];	/* libspf2's error */
	sigjmp_buf		 env;

	/* The question. */
	int			 family;
	struct in_addr		 v4;
	struct in6_addr		 v6;
	char			 client[INET6_ADDRSTRLEN];
	const char		*helo;
	char			*sender;
	struct mt_spf_outcome	*out;
};

static pthread_once_t		 spf_handlers_once = PTHREAD_ONCE_INIT;
/* The evaluation this thread is running inside libspf2, if any. */
static __thread struct spf_eval	*spf_active;

/* ------------------------------------------------------------ handlers */

static void
spf_log_lib(int level, const char *kind, const char *file, int line,
    const char *msg)
{
	char	 esc[MT_SPF_LOGMSG_MAX];

	if (!mt_log_enabled(level))
		return;
	mt_escape(esc, sizeof(esc), msg, msg != NULL ? strlen(msg) : 0);
	mt_log(level, "spf libspf2=%s at=%s:%d msg=\"%s\"", kind,
	    file != NULL ? file : "?", line, esc);
}

static void spf_lib_error(const char *, int, const char *)
    __attribute__((noreturn));

static void
spf_lib_error(const char *file, int line, const char *msg)
{
	struct spf_eval	*ev = spf_active;

	spf_log_lib(LOG_ERR, "error", file, line, msg);
	if (ev != NULL) {
		mt_escape(ev->liberr, sizeof(ev->liberr), msg,
		    msg != NULL ? strlen(msg) : 0);
		siglongjmp(ev->env, 1);
	}
	/* Unreachable: every libspf2 call here runs inside an evaluation. */
	mt_log(LOG_ERR, "spf libspf2 error outside an evaluation: abort");
	abort();
}

/*
 * libspf2's warnings and infos are mostly provoked by what remote DNS
 * contains, so they are not worth more than info/debug: a stranger must not
 * be able to fill our logs at warning level.
 */
static void
spf_lib_warning(const char *file, int line, const char *msg)
{
	spf_log_lib(LOG_INFO, "warning", file, line, msg);
}

static void
spf_lib_info(const char *file, int line, const char *msg)
{
	spf_log_lib(LOG_DEBUG, "info", file, line, msg);
}

static void
spf_lib_debug(const char *file, int line, const char *msg)
{
	spf_log_lib(LOG_DEBUG, "debug", file, line, msg);
}

static void
spf_install_handlers(void)
{
	SPF_error_handler = spf_lib_error;
	SPF_warning_handler = spf_lib_warning;
	SPF_info_handler = spf_lib_info;
	SPF_debug_handler = spf_lib_debug;
}

/* ------------------------------------------------------------ names */

/*
 * A name we can query: at most 253 octets without the final dot, labels of
 * 1..63 octets.  Copies it without the final dot into out (NS_MAXDNAME).
 * With truncate, a longer name loses labels on the left until it fits, as
 * RFC 7208 7.3 asks for macro-expanded names (the only long names libspf2
 * hands us).
 */
static int
spf_name_normalize(const char *name, char *out, size_t outsz, int truncate)
{
	size_t	 len, label = 0, i;
	const char *dot;

	if (name == NULL)
		return -1;
	len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	while (truncate && len > 253 &&
	    (dot = memchr(name, '.', len)) != NULL) {
		len -= (size_t)(dot + 1 - name);
		name = dot + 1;
	}
	if (len == 0 || len > 253 || len >= outsz)
		return -1;
	for (i = 0; i < len; i++) {
		if (name[i] == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (++label > 63)
			return -1;
	}
	if (label == 0)
		return -1;
	memcpy(out, name, len);
	out[len] = '\0';
	return 0;
}

/*
 * A name from an answer (ns_name_uncompress(3)'s presentation form, with
 * "\032"-style escapes) as the literal text we query with: labels joined by
 * dots, bytes as they are.  -1 if a label holds a dot or a NUL, which the
 * literal form cannot say.
 */
static int
spf_name_literal(const char *pres, char *out, size_t outsz)
{
	unsigned char	 wire[NS_MAXCDNAME];
	const unsigned char *p = wire;
	size_t		 o = 0, n, i;

	if (ns_name_pton(pres, wire, sizeof(wire)) < 0)
		return -1;
	while ((n = *p++) != 0) {
		if (n > 63 || o + n + 2 > outsz)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (i = 0; i < n; i++) {
			if (p[i] == '.' || p[i] == '\0')
				return -1;
			out[o++] = (char)p[i];
		}
		p += n;
	}
	out[o] = '\0';
	return 0;
}

/*
 * RFC 7208 4.3: a domain we evaluate must be a multi-label domain name.
 * Address literals, unbracketed addresses (all-digit last label), control
 * bytes, spaces and 8-bit bytes are refused too.
 */
static int
spf_domain_usable(const char *d)
{
	char		 buf[NS_MAXDNAME];
	const char	*p, *last;

	if (d == NULL || *d == '\0' || *d == '[')
		return 0;
	for (p = d; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return 0;
	if (spf_name_normalize(d, buf, sizeof(buf), 0) != 0)
		return 0;
	last = strrchr(buf, '.');
	if (last == NULL)
		return 0;
	for (p = last + 1; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			return 1;
	return 0;
}

static const char *
spf_type_name(int type)
{
	switch (type) {
	case ns_t_a:		return "A";
	case ns_t_aaaa:		return "AAAA";
	case ns_t_mx:		return "MX";
	case ns_t_txt:		return "TXT";
	case ns_t_ptr:		return "PTR";
	case ns_t_cname:	return "CNAME";
	case ns_t_spf:		return "SPF";
	default:		return "other";
	}
}

/* ------------------------------------------------------------ DNS layer */

/* Note the first DNS trouble of the evaluation, for mechanism and logs. */
static void
spf_note_trouble(struct spf_eval *ev, const char *what, const char *name,
    int type)
{
	char	 esc[128];

	ev->dns_trouble = 1;
	if (ev->trouble[0] != '\0')
		return;
	mt_escape(esc, sizeof(esc), name, strlen(name));
	snprintf(ev->trouble, sizeof(ev->trouble), "%s for %s/%s", what, esc,
	    spf_type_name(type));
}

static SPF_dns_rr_t *
spf_rr_status(struct spf_eval *ev, const char *domain, ns_type type,
    SPF_dns_stat_t herrno)
{
	return SPF_dns_rr_new_init(&ev->dns, domain, type, 0, herrno);
}

/* 1 when text is an SPF record by libspf2's test ("v=spf1" then SP/end). */
static int
spf_is_record(const char *t)
{
	return strncasecmp(t, "v=spf1", 6) == 0 &&
	    (t[6] == ' ' || t[6] == '\0');
}

/*
 * Keep the checked domain's TXT answers that look like SPF records, for
 * naming the matching mechanism afterwards.  More than one: keep nothing.
 */
static void
spf_keep_record(struct spf_eval *ev, const SPF_dns_rr_t *rr)
{
	const char	*t;
	size_t		 len;
	int		 i, n = 0;

	if (ev->record != NULL)
		return;
	for (i = 0; i < rr->num_rr; i++)
		if (spf_is_record(rr->rr[i]->txt))
			n++;
	if (n != 1)
		return;
	for (i = 0; i < rr->num_rr; i++) {
		t = rr->rr[i]->txt;
		if (!spf_is_record(t))
			continue;
		len = strlen(t);
		if (len >= MT_SPF_RECORD_MAX)
			return;
		if ((ev->record = malloc(len + 1)) == NULL)
			return;
		memcpy(ev->record, t, len + 1);
		ev->record_len = len;
	}
}

/*
 * Copy TXT rdata (character-strings, concatenated, RFC 7208 3.3) into rr
 * slot idx.  Returns 1 when added, 2 when added but an SPF record holding
 * bytes outside printable ASCII, 0 when left out, -1 on memory exhaustion.
 *
 * Texts are records ("v=spf1 ...") or explanations (exp=); libspf2 takes
 * both from here.  Three departures from a plain copy, in our layer
 * because libspf2 gets them wrong (docs/spf-deviations.md):
 *   - a record with a byte outside %x20-7E (control, 8-bit, NUL) is
 *     reported (2) and the evaluation ends as permerror (RFC 7208 3.1:
 *     records are 7-bit ASCII; libspf2 evaluates them).  A NUL becomes '?'
 *     so that libspf2's C string is not cut short meanwhile;
 *   - any other text with such a byte is left out: as an explanation it
 *     is a syntax error and must be ignored (RFC 7208 6.2), and record
 *     selection never looks at it;
 *   - XXX a libspf2 1.2.10 bug: its macro-string parser
 *     (SPF_c_parse_macro) ends a literal at a space, then reads the space
 *     as a '%' and emits a literal '%' (and does not expand the macro
 *     after it), so "%{i} is not allowed" came out as
 *     "192.0.2.1%is%not%allowed".  An explanation may hold spaces
 *     (RFC 7208 6.2) and "%_" is the macro-string's own spelling of one,
 *     so the spaces of a text that is not a record are written "%_".
 */
static int
spf_rr_add_txt(SPF_dns_rr_t *rr, int type, int idx, const unsigned char *rd,
    size_t rdlen)
{
	size_t	 off = 0, out = 0, n, i, spaces = 0;
	char	*dst;
	int	 unprintable = 0;
	unsigned char c;

	/* Validate first: every string must fit in the rdata. */
	while (off < rdlen) {
		n = rd[off];
		if (n > rdlen - off - 1)
			return 0;
		for (i = 0; i < n; i++) {
			c = rd[off + 1 + i];
			if (c == ' ')
				spaces++;
			else if (c < 0x20 || c > 0x7e)
				unprintable = 1;
		}
		off += 1 + n;
	}
	if (SPF_dns_rr_buf_realloc(rr, idx, rdlen + spaces + 1) !=
	    SPF_E_SUCCESS)
		return -1;
	dst = rr->rr[idx]->txt;
	for (off = 0; off < rdlen; off += 1 + n) {
		n = rd[off];
		for (i = 0; i < n; i++) {
			c = rd[off + 1 + i];
			dst[out++] = c != '\0' ? (char)c : '?';
		}
	}
	dst[out] = '\0';
	if (spf_is_record(dst))
		return unprintable ? 2 : 1;
	if (unprintable)
		return 0;
	if (type != ns_t_txt || spaces == 0)
		return 1;
	/* Spell the spaces "%_", from the end so nothing is overwritten. */
	dst[out + spaces] = '\0';
	for (i = out; i-- > 0;) {
		if (dst[i] == ' ') {
			dst[i + spaces] = '_';
			spaces--;
			dst[i + spaces] = '%';
		} else
			dst[i + spaces] = dst[i];
	}
	return 1;
}

/*
 * RFC 7208 6.2: an explanation lookup that returns more than one record
 * is ignored.  libspf2 takes the first; our layer cannot tell an
 * explanation lookup from a record lookup, but when no text is a record
 * both readings agree that several texts are as good as none.
 */
static void
spf_txt_several(SPF_dns_rr_t *rr)
{
	int	 i;

	if (rr->num_rr < 2)
		return;
	for (i = 0; i < rr->num_rr; i++)
		if (spf_is_record(rr->rr[i]->txt))
			return;
	rr->num_rr = 0;
	rr->herrno = NO_DATA;
}

/*
 * Turn a wire answer for qname/type into rr: the records of the type owned
 * by the last name of the CNAME chain that starts at qname (as a recursive
 * server sends it).  A chain that ends without records is NO_DATA.
 * Returns 0, -1 on memory exhaustion, -2 on a malformed message.
 */
static int
spf_parse_answer(struct spf_eval *ev, SPF_dns_rr_t *rr, const char *qname,
    int type, size_t len)
{
	ns_msg		 msg;
	ns_rr		 r;
	char		 cur[NS_MAXDNAME], name[NS_MAXDNAME];
	char		 owner[NS_MAXDNAME];
	const unsigned char *rd;
	int		 i, count, n = 0, links, changed, res;

	if (ns_initparse(ev->answer, (int)len, &msg) < 0)
		return -2;
	snprintf(cur, sizeof(cur), "%s", qname);
	count = ns_msg_count(msg, ns_s_an);

	/* Follow the chain of CNAMEs from qname as far as the answer goes. */
	for (links = 0; links < MT_SPF_MAX_CNAME && type != ns_t_cname;
	    links++) {
		changed = 0;
		for (i = 0; i < count; i++) {
			if (ns_parserr(&msg, ns_s_an, i, &r) < 0)
				return -2;
			if (ns_rr_type(r) != ns_t_cname ||
			    spf_name_literal(ns_rr_name(r), owner,
			    sizeof(owner)) != 0 || strcasecmp(owner, cur) != 0)
				continue;
			if (ns_name_uncompress(ns_msg_base(msg),
			    ns_msg_end(msg), ns_rr_rdata(r), name,
			    sizeof(name)) < 0 ||
			    spf_name_literal(name, cur, sizeof(cur)) != 0)
				return -2;
			changed = 1;
			break;
		}
		if (!changed)
			break;
	}

	for (i = 0; i < count; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &r) < 0)
			return -2;
		if ((int)ns_rr_type(r) != type || ns_rr_class(r) != ns_c_in ||
		    spf_name_literal(ns_rr_name(r), owner, sizeof(owner)) !=
		    0 || strcasecmp(owner, cur) != 0)
			continue;
		rd = ns_rr_rdata(r);
		switch (type) {
		case ns_t_a:
			if (ns_rr_rdlen(r) != 4)
				continue;
			if (SPF_dns_rr_buf_realloc(rr, n, 4) != SPF_E_SUCCESS)
				return -1;
			memcpy(&rr->rr[n]->a, rd, 4);
			n++;
			break;
		case ns_t_aaaa:
			if (ns_rr_rdlen(r) != 16)
				continue;
			if (SPF_dns_rr_buf_realloc(rr, n, 16) != SPF_E_SUCCESS)
				return -1;
			memcpy(&rr->rr[n]->aaaa, rd, 16);
			n++;
			break;
		case ns_t_mx:
		case ns_t_ptr:
			if (type == ns_t_mx && ns_rr_rdlen(r) < 3)
				continue;
			if (ns_name_uncompress(ns_msg_base(msg),
			    ns_msg_end(msg), type == ns_t_mx ? rd + 2 : rd,
			    owner, sizeof(owner)) < 0 ||
			    spf_name_literal(owner, name, sizeof(name)) != 0)
				continue;
			if (SPF_dns_rr_buf_realloc(rr, n, strlen(name) + 1) !=
			    SPF_E_SUCCESS)
				return -1;
			memcpy(rr->rr[n]->mx, name, strlen(name) + 1);
			n++;
			break;
		case ns_t_txt:
		case ns_t_spf:
			res = spf_rr_add_txt(rr, type, n, rd,
			    ns_rr_rdlen(r));
			if (res < 0)
				return -1;
			if (res == 2)
				ev->bad_record = 1;
			if (res > 0)
				n++;
			break;
		default:
			break;
		}
	}
	rr->num_rr = n;
	rr->herrno = n > 0 ? NETDB_SUCCESS : NO_DATA;
	if (type == ns_t_txt)
		spf_txt_several(rr);
	return 0;
}

/* ------------------------------------------------------------ macros */

/*
 * The value libspf2 gives macro letter c (lower case) inside the record of
 * domain cur (its "current domain"), for counting parts; NULL when this
 * layer cannot know it (p, and the explanation-only c, r, t).  For i with
 * IPv6 a stand-in of the same shape (32 nibbles) is enough.
 */
static const char *
spf_macro_value(const struct spf_eval *ev, int c, const char *cur, char *buf,
    size_t bufsz)
{
	const char	*at;
	size_t		 i;

	switch (c) {
	case 'd':
		return cur;
	case 'h':
		return ev->helo != NULL && *ev->helo != '\0' ? ev->helo : NULL;
	case 'v':
		return ev->family == AF_INET ? "in-addr" : "ip6";
	case 'i':
		if (ev->family == AF_INET)
			return inet_ntop(AF_INET, &ev->v4, buf,
			    (socklen_t)bufsz);
		if (bufsz < 64)
			return NULL;
		for (i = 0; i < 32; i++) {
			buf[2 * i] = '0';
			buf[2 * i + 1] = '.';
		}
		buf[63] = '\0';
		return buf;
	case 's':
	case 'l':
	case 'o':
		/* Only an unambiguous split: one '@', a local part. */
		if (ev->sender == NULL ||
		    (at = strchr(ev->sender, '@')) == NULL ||
		    at == ev->sender || strchr(at + 1, '@') != NULL)
			return NULL;
		if (c == 's')
			return ev->sender;
		if (c == 'o')
			return at + 1;
		if ((size_t)(at - ev->sender) >= bufsz)
			return NULL;
		memcpy(buf, ev->sender, (size_t)(at - ev->sender));
		buf[at - ev->sender] = '\0';
		return buf;
	default:
		return NULL;
	}
}

/*
 * XXX a libspf2 1.2.10 bug: a macro's digit transformer that asks for at
 * least as many parts as the value has ("%{d2}" of "example.com") drops
 * the value's first character ("xample.com"): its right-hand truncation
 * walks back past the first part and then steps one further.  RFC 7208
 * 7.3 wants the whole value then, which is what the macro without its
 * digits gives; so in an SPF record such digits are removed before
 * libspf2 compiles it, when this layer knows the value (see
 * spf_macro_value(); cur is the domain the record was looked up for,
 * libspf2's current domain while it evaluates that record).  Only digits
 * 1..128 (RFC 7208's minimum) are touched; malformed macros are left for
 * libspf2 to refuse.  The text only gets shorter.
 */
static void
spf_fix_macro_digits(const struct spf_eval *ev, char *t, const char *cur)
{
	static const char delims[] = ".-+,/_=";
	const char	*val, *dl, *dr, *q;
	char		*w = t, buf[INET6_ADDRSTRLEN + 64];
	size_t		 parts, n, ndelim;
	const char	*p = t;

	while (*p != '\0') {
		if (p[0] != '%' || p[1] != '{' || !isalpha((unsigned char)p[2])) {
			/* "%%", "%_", "%-": the escape and its character. */
			if (p[0] == '%' && p[1] != '\0' && p[1] != '{')
				*w++ = *p++;
			*w++ = *p++;
			continue;
		}
		dl = p + 3;
		for (q = dl; isdigit((unsigned char)*q); q++)
			;
		dr = q;
		if (*q == 'r' || *q == 'R')
			q++;
		for (ndelim = 0; *q != '\0' && strchr(delims, *q) != NULL; q++)
			ndelim++;
		n = 0;
		if (dr - dl >= 1 && dr - dl <= 3)
			n = (size_t)strtoul(dl, NULL, 10);
		if (*q != '}' || n < 1 || n > 128 || (val = spf_macro_value(ev,
		    tolower((unsigned char)p[2]), cur, buf, sizeof(buf))) ==
		    NULL) {
			*w++ = *p++;
			*w++ = *p++;
			continue;
		}
		for (parts = 1; *val != '\0'; val++)
			if (ndelim == 0 ? *val == '.' :
			    memchr(dr + (*dr == 'r' || *dr == 'R'), *val,
			    ndelim) != NULL)
				parts++;
		/* "%{" and the letter; the digits only when they cut. */
		memmove(w, p, 3);
		w += 3;
		if (n < parts) {
			memmove(w, dl, (size_t)(dr - dl));
			w += dr - dl;
		}
		memmove(w, dr, (size_t)(q + 1 - dr));
		w += q + 1 - dr;
		p = q + 1;
	}
	*w = '\0';
}

static SPF_dns_rr_t *
spf_dns_lookup(SPF_dns_server_t *dns, const char *domain, ns_type type,
    int should_cache)
{
	struct spf_eval		*ev = dns->hook;
	SPF_dns_rr_t		*rr;
	enum mt_dns_status	 st;
	char			 qname[NS_MAXDNAME], checked[NS_MAXDNAME];
	size_t			 anslen = 0;
	int			 res;

	(void)should_cache;
	if (spf_name_normalize(domain, qname, sizeof(qname), 1) != 0)
		return spf_rr_status(ev, domain, type, HOST_NOT_FOUND);
	/* RFC 7208 uses TXT only; see the top of this file. */
	if (type == ns_t_spf)
		return spf_rr_status(ev, domain, type, NO_DATA);
	if (ev->queries >= MT_SPF_MAX_QUERIES) {
		ev->over_cap = 1;
		return spf_rr_status(ev, domain, type, TRY_AGAIN);
	}
	if (mt_mono_us() >= ev->deadline_us) {
		ev->deadline_hit = 1;
		spf_note_trouble(ev, "no time left", qname, type);
		return spf_rr_status(ev, domain, type, TRY_AGAIN);
	}

	ev->queries++;
	st = resolver_query(ev->resolver, qname, type, ev->answer,
	    MT_SPF_ANSWER_MAX, &anslen, ev->deadline_us);
	switch (st) {
	case MT_DNS_OK:
		break;
	case MT_DNS_NXDOMAIN:
		return spf_rr_status(ev, domain, type, HOST_NOT_FOUND);
	case MT_DNS_TIMEOUT:
		if (mt_mono_us() >= ev->deadline_us)
			ev->deadline_hit = 1;
		spf_note_trouble(ev, "DNS timeout", qname, type);
		return spf_rr_status(ev, domain, type, TRY_AGAIN);
	case MT_DNS_SERVFAIL:
		spf_note_trouble(ev, "DNS server failure", qname, type);
		return spf_rr_status(ev, domain, type, TRY_AGAIN);
	default:
		spf_note_trouble(ev, "DNS error", qname, type);
		return spf_rr_status(ev, domain, type, TRY_AGAIN);
	}
	if ((rr = spf_rr_status(ev, domain, type, NO_DATA)) == NULL)
		return NULL;
	res = spf_parse_answer(ev, rr, qname, type, anslen);
	if (res == -1) {
		SPF_dns_rr_free(rr);
		return NULL;	/* libspf2 calls SPF_error() */
	}
	if (res == -2) {
		SPF_dns_rr_free(rr);
		spf_note_trouble(ev, "malformed DNS answer", qname, type);
		return spf_rr_status(ev, domain, type, TRY_AGAIN);
	}
	if (type == ns_t_txt)
		for (res = 0; res < rr->num_rr; res++)
			if (spf_is_record(rr->rr[res]->txt))
				spf_fix_macro_digits(ev, rr->rr[res]->txt,
				    domain);
	if (type == ns_t_txt && rr->num_rr > 0 &&
	    spf_name_normalize(ev->domain, checked, sizeof(checked), 0) == 0 &&
	    strcasecmp(checked, qname) == 0)
		spf_keep_record(ev, rr);
	return rr;
}

/* ------------------------------------------------------------ mechanism */

struct spf_term {
	char		 qual;		/* '+', '-', '~', '?' */
	char		 text[128];	/* the term as written */
	const char	*name;		/* mechanism name, lower case */
	const char	*arg;		/* after ':' in text, or NULL */
};

/* Split the next term off *pp; 0 at the end. */
static int
spf_next_term(const char **pp, struct spf_term *t)
{
	const char	*p = *pp, *start;
	size_t		 len, nlen;
	char		*colon;
	static const char *const names[] = {
		"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists",
	};
	size_t		 i;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return 0;
	start = p;
	while (*p != '\0' && *p != ' ')
		p++;
	*pp = p;
	len = (size_t)(p - start);
	if (len >= sizeof(t->text))
		len = sizeof(t->text) - 1;
	memcpy(t->text, start, len);
	t->text[len] = '\0';
	t->qual = '+';
	t->name = NULL;
	t->arg = NULL;
	p = t->text;
	if (*p == '+' || *p == '-' || *p == '~' || *p == '?')
		t->qual = *p++;
	nlen = strcspn(p, ":/=");
	if (p[nlen] == '=') {
		t->name = "modifier";
		if (strncasecmp(p, "redirect=", 9) == 0)
			t->name = "redirect";
		return 1;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == nlen &&
		    strncasecmp(p, names[i], nlen) == 0)
			t->name = names[i];
	if (t->name == NULL)
		t->name = "unknown";
	colon = strchr(p, ':');
	if (colon != NULL && (size_t)(colon - p) == nlen)
		t->arg = colon + 1;
	return 1;
}

static enum mt_spf_result
spf_qual_result(char q)
{
	switch (q) {
	case '-':	return MT_SPF_FAIL;
	case '~':	return MT_SPF_SOFTFAIL;
	case '?':	return MT_SPF_NEUTRAL;
	default:	return MT_SPF_PASS;
	}
}

/* 1 when an ip4/ip6 term matches the client. */
static int
spf_ip_term_matches(const struct spf_term *t, const char *client)
{
	struct mt_cidr	 net;
	char		 buf[128];
	int		 v6 = t->name[2] == '6';

	if (t->arg == NULL)
		return -1;
	snprintf(buf, sizeof(buf), "%s", t->arg);
	if (mt_cidr_parse(buf, &net, NULL, 0) != 0)
		return -1;
	if ((net.family == AF_INET6) != v6)
		return -1;
	return mt_cidr_match_text(&net, 1, client);
}

/*
 * Name the mechanism that decided, from the checked domain's own record,
 * when that is certain (see the top of this file).  0 if not.
 */
static int
spf_name_mechanism(const char *record, const char *client,
    enum mt_spf_result result, char *out, size_t outsz)
{
	struct spf_term	 t;
	const char	*p = record + 6;
	int		 m;

	while (spf_next_term(&p, &t)) {
		if (strcmp(t.name, "modifier") == 0)
			continue;
		if (strcmp(t.name, "ip4") == 0 || strcmp(t.name, "ip6") == 0) {
			if ((m = spf_ip_term_matches(&t, client)) < 0)
				return 0;
			if (m == 0)
				continue;
		} else if (strcmp(t.name, "all") == 0) {
			if (t.arg != NULL)
				return 0;
		} else if (strcmp(t.name, "a") == 0 ||
		    strcmp(t.name, "mx") == 0 || strcmp(t.name, "ptr") == 0 ||
		    strcmp(t.name, "exists") == 0 ||
		    strcmp(t.name, "include") == 0) {
			/*
			 * Its outcome depends on DNS we do not redo; it is
			 * harmless only if a match could not give this
			 * result (an include can also end in an error, but
			 * then the result is not one we name).
			 */
			if (spf_qual_result(t.qual) == result)
				return 0;
			continue;
		} else if (strcmp(t.name, "redirect") == 0)
			continue;	/* only used when nothing matched */
		else
			return 0;	/* unknown mechanism */
		if (spf_qual_result(t.qual) != result)
			return 0;
		mt_escape(out, outsz, t.text, strlen(t.text));
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ evaluation */

static void
spf_copy_escaped(char *out, size_t outsz, const char *s)
{
	mt_escape(out, outsz, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

/* The first error message libspf2 recorded, or NULL. */
static const char *
spf_first_error(SPF_response_t *resp)
{
	SPF_error_t	*e;
	int		 i, n;

	n = SPF_response_messages(resp);
	for (i = 0; i < n; i++) {
		e = SPF_response_message(resp, i);
		if (e != NULL && SPF_error_errorp(e) &&
		    SPF_error_message(e) != NULL)
			return SPF_error_message(e);
	}
	return NULL;
}

static void
spf_fill_error(struct spf_eval *ev, SPF_response_t *resp,
    SPF_errcode_t err, struct mt_spf_outcome *out)
{
	const char	*msg;
	char		 esc[200];

	if (out->result == MT_SPF_TEMPERROR && ev->deadline_hit) {
		snprintf(out->mechanism, sizeof(out->mechanism),
		    "deadline of %d ms passed; %s", ev->deadline_ms,
		    ev->trouble[0] != '\0' ? ev->trouble : "no DNS trouble");
		return;
	}
	if (out->result == MT_SPF_TEMPERROR && ev->trouble[0] != '\0') {
		snprintf(out->mechanism, sizeof(out->mechanism), "%s",
		    ev->trouble);
		return;
	}
	msg = resp != NULL ? spf_first_error(resp) : NULL;
	if (msg != NULL) {
		spf_copy_escaped(esc, sizeof(esc), msg);
		snprintf(out->mechanism, sizeof(out->mechanism), "%s: %s",
		    SPF_strerror(err), esc);
	} else
		snprintf(out->mechanism, sizeof(out->mechanism), "%s",
		    SPF_strerror(err));
}

/* Turn libspf2's response into our outcome. */
static void
spf_fill_outcome(struct spf_eval *ev, SPF_response_t *resp,
    SPF_errcode_t qerr, const char *client, struct mt_spf_outcome *out)
{
	SPF_errcode_t	 err;
	const char	*s;
	char		 dom[200];
	int		 ours = 0;

	err = SPF_response_errcode(resp);
	if (err == SPF_E_SUCCESS)
		err = qerr;
	switch (SPF_response_result(resp)) {
	case SPF_RESULT_PASS:		out->result = MT_SPF_PASS; break;
	case SPF_RESULT_FAIL:		out->result = MT_SPF_FAIL; break;
	case SPF_RESULT_SOFTFAIL:	out->result = MT_SPF_SOFTFAIL; break;
	case SPF_RESULT_NEUTRAL:	out->result = MT_SPF_NEUTRAL; break;
	case SPF_RESULT_NONE:		out->result = MT_SPF_NONE; break;
	case SPF_RESULT_TEMPERROR:	out->result = MT_SPF_TEMPERROR; break;
	case SPF_RESULT_PERMERROR:	out->result = MT_SPF_PERMERROR; break;
	default:
		out->result = (err == SPF_E_DNS_ERROR || ev->dns_trouble) ?
		    MT_SPF_TEMPERROR : MT_SPF_PERMERROR;
		break;
	}
	if (ev->over_cap) {
		/* Our query cap, not libspf2's verdict: RFC 7208 4.6.4. */
		out->result = MT_SPF_PERMERROR;
		snprintf(out->mechanism, sizeof(out->mechanism),
		    "too many DNS lookups (over %d)", MT_SPF_MAX_QUERIES);
		ours = 1;
	} else if (ev->bad_record) {
		/* libspf2 evaluated it; RFC 7208 3.1 says it is invalid. */
		out->result = MT_SPF_PERMERROR;
		snprintf(out->mechanism, sizeof(out->mechanism),
		    "SPF record with bytes outside printable ASCII");
		ours = 1;
	} else if (out->result == MT_SPF_TEMPERROR ||
	    out->result == MT_SPF_PERMERROR)
		spf_fill_error(ev, resp, err, out);
	else if (out->result == MT_SPF_NONE)
		snprintf(out->mechanism, sizeof(out->mechanism), "none");
	else {
		switch (SPF_response_reason(resp)) {
		case SPF_REASON_LOCALHOST:
			s = "localhost";
			break;
		case SPF_REASON_DEFAULT:
			s = "default";
			break;
		case SPF_REASON_LOCAL_POLICY:
			s = "local policy";
			break;
		case SPF_REASON_MECH:
			s = "mechanism";
			if (ev->record != NULL && spf_name_mechanism(ev->record,
			    client, out->result, out->mechanism,
			    sizeof(out->mechanism)))
				s = NULL;
			break;
		default:
			s = "unknown";
			break;
		}
		if (s != NULL)
			snprintf(out->mechanism, sizeof(out->mechanism), "%s",
			    s);
	}

	s = NULL;
	if (!ours && out->result == MT_SPF_FAIL) {
		s = SPF_response_get_explanation(resp);
		if (s != NULL && *s == '\0')
			s = NULL;
	}
	if (!ours && s == NULL)
		s = SPF_response_get_header_comment(resp);
	if (s != NULL && *s != '\0') {
		spf_copy_escaped(out->explanation, sizeof(out->explanation), s);
		return;
	}
	/*
	 * Our verdict (libspf2's comment describes its own), or libspf2
	 * made no comment (it makes none when the checked domain's own
	 * record fails to load): one in libspf2's words.
	 */
	spf_copy_escaped(dom, sizeof(dom), ev->domain);
	s = SPF_request_get_rec_dom(ev->request);
	snprintf(out->explanation, sizeof(out->explanation),
	    out->result == MT_SPF_TEMPERROR ?
	    "%s: encountered temporary error during SPF processing of domain "
	    "of %s: %s" :
	    "%s: error in processing during lookup of domain of %s: %s",
	    s != NULL ? s : "", dom, out->mechanism);
}

/* Parse the client address; an IPv4-mapped IPv6 address counts as IPv4. */
static int
spf_client_addr(const char *ip, int *family, struct in_addr *v4,
    struct in6_addr *v6, char *text, size_t textsz)
{
	if (ip == NULL)
		return -1;
	if (inet_pton(AF_INET, ip, v4) == 1) {
		*family = AF_INET;
	} else if (inet_pton(AF_INET6, ip, v6) == 1) {
		*family = AF_INET6;
		if (IN6_IS_ADDR_V4MAPPED(v6)) {
			memcpy(v4, &v6->s6_addr[12], 4);
			*family = AF_INET;
		}
	} else
		return -1;
	if (inet_ntop(*family, *family == AF_INET ? (void *)v4 : (void *)v6,
	    text, (socklen_t)textsz) == NULL)
		return -1;
	return 0;
}

/* The libspf2 part of an evaluation; runs inside ev's context. */
static void
spf_run(struct mt_spf *s, struct spf_eval *ev)
{
	struct mt_spf_outcome *out = ev->out;
	SPF_response_t	*tmp = NULL;
	SPF_errcode_t	 err;

	if ((ev->server = SPF_server_new_dns(&ev->dns, 0)) == NULL)
		goto nomem;
	if (s->receiver != NULL &&
	    SPF_server_set_rec_dom(ev->server, s->receiver) != SPF_E_SUCCESS)
		goto nomem;
	/* No default explanation: a fail without exp= gets the comment. */
	err = SPF_server_set_explanation(ev->server, "", &tmp);
	if (tmp != NULL)
		SPF_response_free(tmp);
	if (err != SPF_E_SUCCESS)
		goto nomem;
	if ((ev->request = SPF_request_new(ev->server)) == NULL)
		goto nomem;
	if (ev->family == AF_INET)
		err = SPF_request_set_ipv4(ev->request, ev->v4);
	else
		err = SPF_request_set_ipv6(ev->request, ev->v6);
	if (err != SPF_E_SUCCESS)
		goto nomem;
	if (ev->helo != NULL && *ev->helo != '\0' &&
	    SPF_request_set_helo_dom(ev->request, ev->helo) != SPF_E_SUCCESS)
		goto nomem;
	if (SPF_request_set_env_from(ev->request, ev->sender) != SPF_E_SUCCESS)
		goto nomem;
	err = SPF_request_query_mailfrom(ev->request, &ev->response);
	if (ev->response == NULL)
		goto nomem;
	spf_fill_outcome(ev, ev->response, err, ev->client, out);
	return;

nomem:
	out->result = MT_SPF_TEMPERROR;
	snprintf(out->mechanism, sizeof(out->mechanism), "out of memory");
}

/*
 * Run spf_run() inside a context for libspf2's error handler.  Returns 0,
 * or -1 when libspf2 called SPF_error() and the request was abandoned.
 * Nothing local changes after sigsetjmp(): all state lives in *ev.
 */
static int
spf_guarded_run(struct mt_spf *s, struct spf_eval *ev)
{
	struct spf_eval	*prev = spf_active;

	spf_active = ev;
	if (sigsetjmp(ev->env, 0) != 0) {
		spf_active = prev;
		return -1;
	}
	spf_run(s, ev);
	spf_active = prev;
	return 0;
}

/* Free libspf2's objects of ev; inside a context of its own. */
static void
spf_release(struct spf_eval *ev)
{
	struct spf_eval	*prev = spf_active;

	spf_active = ev;
	if (sigsetjmp(ev->env, 0) == 0) {
		if (ev->response != NULL)
			SPF_response_free(ev->response);
		ev->response = NULL;
		if (ev->request != NULL)
			SPF_request_free(ev->request);
		ev->request = NULL;
		if (ev->server != NULL)
			SPF_server_free(ev->server);
		ev->server = NULL;
	}
	/* else: libspf2 failed while freeing; what is left leaks. */
	spf_active = prev;
}

void
spf_check(struct mt_spf *s, enum mt_spf_identity identity,
    const char *client_ip, const char *helo, const char *mailfrom,
    struct mt_spf_outcome *out)
{
	struct spf_eval	*ev = NULL;
	const char	*domain, *at;
	int64_t		 start;
	size_t		 len;
	int		 helo_based;

	start = mt_mono_us();
	if (out == NULL)
		return;
	memset(out, 0, sizeof(*out));
	out->result = MT_SPF_TEMPERROR;
	if (s == NULL) {
		snprintf(out->mechanism, sizeof(out->mechanism),
		    "internal error: no evaluator");
		goto done;
	}
	__atomic_fetch_add(&s->checks, 1, __ATOMIC_RELAXED);

	/* The identity: which domain, and which sender for the macros. */
	helo_based = identity == MT_SPF_HELO || mailfrom == NULL ||
	    *mailfrom == '\0';
	if (helo_based)
		domain = helo;
	else {
		at = strrchr(mailfrom, '@');
		domain = at != NULL ? at + 1 : mailfrom;
	}
	spf_copy_escaped(out->domain, sizeof(out->domain), domain);
	if (!spf_domain_usable(domain)) {
		out->result = MT_SPF_NONE;
		snprintf(out->mechanism, sizeof(out->mechanism),
		    "none: not a domain name");
		goto done;
	}
	if ((ev = calloc(1, sizeof(*ev))) == NULL ||
	    (ev->answer = malloc(MT_SPF_ANSWER_MAX)) == NULL)
		goto nomem;
	if (spf_client_addr(client_ip, &ev->family, &ev->v4, &ev->v6,
	    ev->client, sizeof(ev->client)) != 0) {
		snprintf(out->mechanism, sizeof(out->mechanism),
		    "internal error: client address not valid");
		goto done;
	}
	if (helo_based) {
		len = strlen(helo) + sizeof("postmaster@");
		if ((ev->sender = malloc(len)) != NULL)
			snprintf(ev->sender, len, "postmaster@%s", helo);
	} else
		ev->sender = strdup(mailfrom);
	if (ev->sender == NULL)
		goto nomem;
	ev->helo = helo;
	ev->out = out;
	ev->resolver = s->resolver;
	ev->deadline_us = start + (int64_t)s->deadline_ms * 1000;
	ev->deadline_ms = s->deadline_ms;
	ev->domain = domain;
	ev->dns.lookup = spf_dns_lookup;
	ev->dns.name = "mailtrail";
	ev->dns.hook = ev;

	if (spf_guarded_run(s, ev) != 0) {
		__atomic_fetch_add(&s->internal_errors, 1, __ATOMIC_RELAXED);
		memset(out->mechanism, 0, sizeof(out->mechanism));
		memset(out->explanation, 0, sizeof(out->explanation));
		out->result = MT_SPF_TEMPERROR;
		snprintf(out->mechanism, sizeof(out->mechanism),
		    "internal error: %s", ev->liberr);
		mt_log(LOG_WARNING, "spf internal error: libspf2 request "
		    "abandoned domain=\"%s\" (memory it held may leak)",
		    out->domain);
	}
	spf_release(ev);
	goto done;

nomem:
	snprintf(out->mechanism, sizeof(out->mechanism), "out of memory");
done:
	if (ev != NULL) {
		free(ev->sender);
		free(ev->record);
		free(ev->answer);
		free(ev);
	}
	out->elapsed_us = mt_mono_us() - start;
}

/* ------------------------------------------------------------ the rest */

struct mt_spf *
spf_new(const struct mt_spf_opts *opts, struct mt_resolver *r, char *err,
    size_t errlen)
{
	struct mt_spf	*s;

	if (opts == NULL || r == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "spf: no options or resolver");
		return NULL;
	}
	if (opts->deadline_ms < 1) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "spf: deadline_ms must be >= 1, "
			    "got %d", opts->deadline_ms);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto nomem;
	s->resolver = r;
	s->deadline_ms = opts->deadline_ms;
	if (opts->receiver != NULL && *opts->receiver != '\0' &&
	    (s->receiver = strdup(opts->receiver)) == NULL)
		goto nomem;
	pthread_once(&spf_handlers_once, spf_install_handlers);
	return s;

nomem:
	free(s);
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "spf: out of memory");
	return NULL;
}

void
spf_counters(struct mt_spf *s, struct mt_spf_counters *out)
{
	if (out == NULL)
		return;
	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return;
	out->checks = __atomic_load_n(&s->checks, __ATOMIC_RELAXED);
	out->internal_errors = __atomic_load_n(&s->internal_errors,
	    __ATOMIC_RELAXED);
}

const char *
spf_result_name(enum mt_spf_result r)
{
	switch (r) {
	case MT_SPF_NONE:	return "none";
	case MT_SPF_NEUTRAL:	return "neutral";
	case MT_SPF_PASS:	return "pass";
	case MT_SPF_FAIL:	return "fail";
	case MT_SPF_SOFTFAIL:	return "softfail";
	case MT_SPF_TEMPERROR:	return "temperror";
	case MT_SPF_PERMERROR:	return "permerror";
	}
	return "unknown";
}

void
spf_free(struct mt_spf *s)
{
	if (s == NULL)
		return;
	free(s->receiver);
	free(s);
}
