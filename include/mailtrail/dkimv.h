/*
 * dkimv.h - DKIM verification (RFC 6376, RFC 8301, RFC 8463) with
 * libopendkim, fed as the message streams in.
 *
 * A struct mt_dkimv holds the library handle and our resolver hooks (key
 * lookups through struct mt_resolver, with a deadline); one struct
 * mt_dkimv_msg verifies one message: headers, end of headers, body chunks
 * (no second copy of the message), then the results at end-of-message.
 * RFC 8301: rsa-sha1 signatures and RSA keys shorter than min_key_bits
 * never count as pass (result "policy", with the reason).  Thread-safe
 * for distinct messages.
 *
 * What to feed.  dkimv_msg_header() takes the field name and the exact
 * bytes that followed the colon, leading white space included; folded
 * lines may be joined by "\n" (as the milter delivers them) or "\r\n".
 * That is what libmilter hands over when the milter negotiates
 * SMFIP_HDR_LEADSPC, and it must: without it Postfix and Sendmail drop
 * one space after the colon, so "Subject:x" and "Subject: x" arrive alike
 * and a signature with simple header canonicalization over such a field
 * cannot verify.  If the MTA refuses SMFIP_HDR_LEADSPC, prepend one space
 * to each value (what it dropped) and accept that loss.  Body chunks are
 * the body as the milter delivers it: CRLF line ends, no dot-stuffing;
 * bytes are hashed as given (a bare LF is not made a CRLF).
 *
 * Results (RFC 8601 section 2.7.1, per signature): pass; fail when the
 * cryptographic check ran and failed ("bad signature", "body hash
 * mismatch", "body truncated (l=)"); policy when it passed but RFC 8301
 * or min_key_bits refuse it; temperror when the key lookup failed for a
 * passing reason (timeout, SERVFAIL); neutral when the DKIM-Signature
 * field itself is malformed ("syntax error"); permerror for every other
 * reason the signature cannot be evaluated: "key not found" (NXDOMAIN or
 * no TXT record), "key revoked" (empty p=: RFC 6376 section 6.1.2 says
 * PERMFAIL, and no verification took place, so not "fail"), "key syntax
 * error", "signature expired" (x= in the past: PERMFAIL, not evaluated),
 * unsupported version, algorithm, canonicalization or key type.  The
 * fields of struct mt_dkim_sig other than reason are the signature's own
 * bytes (NUL-free, cut to fit): escape them before printing.
 */
#ifndef MAILTRAIL_DKIMV_H
#define MAILTRAIL_DKIMV_H

#include <stddef.h>
#include <stdint.h>

#include "mailtrail/resolver.h"

enum mt_dkim_result {
	MT_DKIM_PASS = 0,
	MT_DKIM_FAIL,
	MT_DKIM_NEUTRAL,
	MT_DKIM_POLICY,
	MT_DKIM_TEMPERROR,
	MT_DKIM_PERMERROR
};

struct mt_dkim_sig {
	char		 domain[256];		/* d= */
	char		 selector[128];		/* s= */
	char		 algorithm[32];		/* a=: "rsa-sha256", "ed25519-sha256" */
	char		 identity[256];		/* i= */
	char		 header_b[9];		/* first 8 characters of b= */
	int		 key_bits;		/* 0 when the key was not read */
	enum mt_dkim_result result;
	char		 reason[128];		/* "body hash mismatch", "bad signature",
						   "key not found", "key revoked",
						   "signature expired", "syntax error",
						   "key too small", "rsa-sha1 not
						   accepted (RFC 8301)", ... */
};

struct mt_dkimv_opts {
	size_t		 max_signatures;	/* verify at most this many */
	int		 min_key_bits;		/* RSA keys below: policy (1024) */
	int		 timeout_ms;		/* key lookups of one message */
};
/*
 * All key lookups of a message share one deadline: timeout_ms after
 * dkimv_msg_end() starts, where the lookups happen (the MTA waits longest
 * at end-of-message); a lookup cut by it is temperror.
 */

/*
 * Caps on what one message may feed (header fields, and their bytes with
 * the names).  Beyond either, or when a field arrives after the end of
 * headers, the message is not verified: verifying a partial header would
 * defeat signatures that sign a field more often than it occurs.  That is
 * the message's result, not a failure: the feeding calls return 0, nothing
 * more goes to the library, and dkimv_msg_end() reports each
 * DKIM-Signature field seen (also those past the cap) as permerror, reason
 * "not verified: too many headers" (or one of the other MT_DKIMV_LIMIT_*
 * texts), or "none" (0) when there was none; dkimv_msg_limit() says which
 * cap was hit.  Logged once per burst.
 */
#define MT_DKIMV_MAX_HEADERS		1000
#define MT_DKIMV_MAX_HEADER_BYTES	(1024 * 1024)
#define MT_DKIMV_LIMIT_COUNT		"too many headers"
#define MT_DKIMV_LIMIT_BYTES		"header section too large"
#define MT_DKIMV_LIMIT_LATE		"header after end of headers"

struct mt_dkimv;
struct mt_dkimv_msg;

/* The verifier; r borrowed.  NULL with a message in err. */
struct mt_dkimv *dkimv_new(const struct mt_dkimv_opts *opts,
	    struct mt_resolver *r, char *err, size_t errlen);
void	 dkimv_free(struct mt_dkimv *d);

/* One message (id: for log lines).  NULL on failure (logged). */
struct mt_dkimv_msg *dkimv_msg_new(struct mt_dkimv *d, const char *id);

/* Feed: each returns 0, or -1 once verification cannot go on (then the
 * remaining calls are cheap no-ops and dkimv_msg_end reports why). */
int	 dkimv_msg_header(struct mt_dkimv_msg *m, const char *name,
	    const char *value);
int	 dkimv_msg_eoh(struct mt_dkimv_msg *m);
int	 dkimv_msg_body(struct mt_dkimv_msg *m, const unsigned char *buf,
	    size_t len);

/*
 * End of message: verify and fill sigs[0..*nsigs) (at most max).  Only the
 * first max signatures (top first, and at most opts.max_signatures) are
 * verified; the others are not even looked up.  Returns 0 when the message
 * carried no signature (*nsigs = 0: "none"), 1 when it did, -1 on an
 * internal failure (reason in sigs[0].reason when max > 0, *nsigs = 0):
 * out of memory, a library error, a call out of order.  A header section
 * over a cap is not one (see above).
 */
int	 dkimv_msg_end(struct mt_dkimv_msg *m, struct mt_dkim_sig *sigs,
	    size_t max, size_t *nsigs);

/*
 * The cap the message's header section hit (one of MT_DKIMV_LIMIT_*, a
 * static string), or NULL when none was.
 */
const char *dkimv_msg_limit(const struct mt_dkimv_msg *m);

/* Free.  NULL is a no-op. */
void	 dkimv_msg_free(struct mt_dkimv_msg *m);

/* "pass", "fail", "neutral", "policy", "temperror", "permerror". */
const char *dkimv_result_name(enum mt_dkim_result r);

#endif
