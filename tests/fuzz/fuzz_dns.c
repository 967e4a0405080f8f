/*
 * fuzz_dns.c - fuzz target for DNS answers: the wire answers our SPF layer
 * turns into libspf2's records (src/spf.c, spf_parse_answer and the TXT
 * handling behind it), and libspf2's evaluation of what comes out; then,
 * when byte 0 says so, the DKIM key answers (src/dkimv.c hands the wire
 * answer to libopendkim, which reads the key record out of it).
 *
 * The target stands in for the resolver (src/resolver.c is not linked:
 * this file defines resolver_query and the rest of resolver.h): each query
 * spf_check makes is answered from the input, so every answer is a
 * stranger's bytes, as from a hostile DNS server.
 *
 * Input layout:
 *   byte 0         bit 0: HELO identity, else MAIL FROM; bits 1-2: the
 *                  client address (192.0.2.1, 2001:db8::1, 10.1.2.3,
 *                  ::ffff:192.0.2.7); bits 3-4: the sender domain;
 *                  bit 5: then verify a message with two DKIM signatures
 *                  (rsa-sha256 s=sel, ed25519-sha256 s=sed, d=example.org)
 *                  whose key lookups take the answers left
 *   then answers   one per query, in order: a status byte, a 16-bit
 *                  big-endian length, that many bytes.  status % 8:
 *                  0-2 answer: the bytes follow a header and the echoed
 *                  question that the target writes (ANCOUNT = 0-2 plus
 *                  the first byte's low nibble), so the bytes are the
 *                  records; 3 the bytes are the whole message as is;
 *                  4 NXDOMAIN, 5 timeout, 6 SERVFAIL, 7 error.
 *   past the end   NXDOMAIN.
 *
 * Built as a libFuzzer target by "make fuzz-dns", as a replay program by
 * "make check" (tests/fuzz/README).  Thread safety: single-threaded.
 */
#include <arpa/nameser.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/dkimv.h"
#include "mailtrail/resolver.h"
#include "mailtrail/spf.h"
#include "replay.h"

struct mt_resolver {
	const uint8_t	*p;		/* the answers left */
	size_t		 left;
	uint64_t	 queries;
};

static struct mt_resolver fake;

/* The question for name/type in wire form after a 12-byte header. */
static size_t
question(unsigned char *out, size_t outsz, const char *name, int type)
{
	size_t		 n = 12, lab;
	const char	*p = name, *dot;

	while (*p != '\0') {
		dot = strchr(p, '.');
		lab = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (lab == 0 || lab > 63 || n + lab + 1 + 5 > outsz)
			return 0;
		out[n++] = (unsigned char)lab;
		memcpy(out + n, p, lab);
		n += lab;
		p += lab;
		if (*p == '.')
			p++;
	}
	out[n++] = 0;
	out[n++] = (unsigned char)(type >> 8);
	out[n++] = (unsigned char)type;
	out[n++] = 0;
	out[n++] = ns_c_in;
	return n;
}

enum mt_dns_status
resolver_query(struct mt_resolver *r, const char *name, int type,
    unsigned char *answer, size_t answer_size, size_t *anslen,
    int64_t deadline_us)
{
	unsigned	 status;
	size_t		 len, n;

	(void)deadline_us;
	r->queries++;
	*anslen = 0;
	if (r->left < 3)
		return MT_DNS_NXDOMAIN;
	status = r->p[0] % 8;
	len = (size_t)r->p[1] << 8 | r->p[2];
	r->p += 3;
	r->left -= 3;
	if (len > r->left)
		len = r->left;
	switch (status) {
	case 0:
	case 1:
	case 2:
		memset(answer, 0, 12);
		n = question(answer, answer_size, name, type);
		if (n == 0 || n + len > answer_size)
			break;
		answer[2] = 0x81;		/* QR, RD */
		answer[3] = 0x80;		/* RA, NOERROR */
		answer[5] = 1;
		answer[7] = (unsigned char)(status + (len > 0 ?
		    (r->p[0] & 0x0f) : 0));
		memcpy(answer + n, r->p, len);
		*anslen = n + len;
		break;
	case 3:
		if (len <= answer_size) {
			memcpy(answer, r->p, len);
			*anslen = len;
		}
		break;
	}
	r->p += len;
	r->left -= len;
	switch (status) {
	case 4:
		return MT_DNS_NXDOMAIN;
	case 5:
		return MT_DNS_TIMEOUT;
	case 6:
		return MT_DNS_SERVFAIL;
	case 7:
		return MT_DNS_ERROR;
	}
	return MT_DNS_OK;
}

/* The rest of resolver.h, for whatever else is linked. */
struct mt_resolver *
resolver_new(const struct mt_resolver_opts *opts, char *err, size_t errlen)
{
	(void)opts;
	snprintf(err, errlen, "no system resolver in the DNS fuzz target");
	return NULL;
}

struct mt_resolver *
resolver_new_table(void)
{
	return NULL;
}

int
resolver_table_add(struct mt_resolver *r, const char *name, int type,
    const char *rdata)
{
	return -1;
}

int
resolver_table_add_txt(struct mt_resolver *r, const char *name,
    const char *const *strings, size_t count)
{
	return -1;
}

void
resolver_counters(struct mt_resolver *r, struct mt_resolver_counters *out)
{
	memset(out, 0, sizeof(*out));
	out->queries = r->queries;
}

void
resolver_free(struct mt_resolver *r)
{
}

const char *
resolver_status_name(enum mt_dns_status s)
{
	return "fuzz";
}

/* A signed message (the signatures cannot verify: only the keys vary). */
static void
dkim(void)
{
	static const char *const hdrs[][2] = {
		{ "DKIM-Signature", " v=1; a=rsa-sha256; c=relaxed/relaxed;"
		    " d=example.org; s=sel; h=from:to:subject;"
		    " bh=zS7KNTV0HyeorkDDGwxB1AV6enuRKzO5rthkhdHIRnY=;"
		    " b=dGhpcyBpcyBub3QgYSBzaWduYXR1cmUgYXQgYWxsIGJ1dCBpdCBkZWNvZGVz" },
		{ "DKIM-Signature", " v=1; a=ed25519-sha256; c=relaxed/simple;"
		    " d=example.org; s=sed; h=from:subject;"
		    " bh=zS7KNTV0HyeorkDDGwxB1AV6enuRKzO5rthkhdHIRnY=;"
		    " b=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==" },
		{ "From", " <alice@example.org>" },
		{ "To", " <bob@example.net>" },
		{ "Subject", " keys" },
	};
	static struct mt_dkimv	*d;
	struct mt_dkimv_opts	 o = { 5, 1024, 5000 };
	struct mt_dkim_sig	 sigs[4];
	struct mt_dkimv_msg	*m;
	char			 err[256];
	size_t			 i, n;

	if (d == NULL && (d = dkimv_new(&o, &fake, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "dkimv_new: %s\n", err);
		abort();
	}
	if ((m = dkimv_msg_new(d, "fuzz")) == NULL)
		return;
	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++)
		(void)dkimv_msg_header(m, hdrs[i][0], hdrs[i][1]);
	(void)dkimv_msg_eoh(m);
	(void)dkimv_msg_body(m, (const unsigned char *)"hello\r\n", 7);
	if (dkimv_msg_end(m, sigs, 4, &n) == 1)
		for (i = 0; i < n; i++)
			if (dkimv_result_name(sigs[i].result) == NULL ||
			    memchr(sigs[i].reason, '\0',
			    sizeof(sigs[i].reason)) == NULL)
				abort();
	dkimv_msg_free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ips[] = { "192.0.2.1", "2001:db8::1",
		"10.1.2.3", "::ffff:192.0.2.7" };
	static const char *const from[] = { "alice@example.org",
		"bob@sub.example.com", "<>", "x@a.b.c.d.e.example.net" };
	static const char *const helo[] = { "mx.example.org",
		"sub.example.com", "[192.0.2.1]", "a.b.c.d.e.example.net" };
	static struct mt_spf	*spf;
	struct mt_spf_opts	 so;
	struct mt_spf_outcome	 out;
	char			 err[256];
	unsigned		 flags;

	if (spf == NULL) {
		memset(&so, 0, sizeof(so));
		so.deadline_ms = 5000;
		so.receiver = "gw.example.net";
		if ((spf = spf_new(&so, &fake, err, sizeof(err))) == NULL) {
			fprintf(stderr, "spf_new: %s\n", err);
			abort();
		}
	}
	if (size < 1)
		return 0;
	flags = data[0];
	fake.p = data + 1;
	fake.left = size - 1;
	memset(&out, 0, sizeof(out));
	spf_check(spf, (flags & 1) ? MT_SPF_HELO : MT_SPF_MAILFROM,
	    ips[(flags >> 1) & 3], helo[(flags >> 3) & 3],
	    from[(flags >> 3) & 3], &out);
	if (spf_result_name(out.result) == NULL ||
	    memchr(out.domain, '\0', sizeof(out.domain)) == NULL ||
	    memchr(out.mechanism, '\0', sizeof(out.mechanism)) == NULL ||
	    memchr(out.explanation, '\0', sizeof(out.explanation)) == NULL)
		abort();
	if (flags & 0x20)
		dkim();
	return 0;
}

FUZZ_REPLAY_MAIN("dns")
