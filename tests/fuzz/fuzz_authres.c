/*
 * fuzz_authres.c - fuzz target for the Authentication-Results code
 * (src/authres.c): authres_parse and authres_claims on a stranger's header
 * value, and the build -> parse round trip on values taken from the input.
 *
 * Input: the whole input is first parsed as a header value and checked for
 * claims of two authserv-ids (a fixed one and the first line of the input).
 * Then the input is cut at NUL bytes into fields -- authserv-id, MAIL FROM,
 * HELO, SPF domain, mechanism, and per DKIM signature d=, s=, a=, i=, b=,
 * reason -- with a result byte each; authres_build makes our header from
 * them, and when the authserv-id is one authres_valid_authserv_id accepts,
 * the header must parse back, name that authserv-id and be claimed by it
 * (what the daemon relies on to remove forgeries of its own header).
 *
 * Built as a libFuzzer target by "make fuzz-authres", as a replay program
 * by "make check" (tests/fuzz/README).  Thread safety: single-threaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/authres.h"
#include "replay.h"

struct cursor {
	const uint8_t	*p;
	size_t		 left;
};

/* The next NUL-terminated field into out (cut to fit), "" at the end. */
static void
field(struct cursor *c, char *out, size_t outsz)
{
	size_t	 n = 0;

	while (c->left > 0 && *c->p != '\0') {
		if (n + 1 < outsz)
			out[n++] = (char)*c->p;
		c->p++;
		c->left--;
	}
	if (c->left > 0) {
		c->p++;
		c->left--;
	}
	out[n] = '\0';
}

static unsigned
byte(struct cursor *c)
{
	unsigned	 b;

	if (c->left == 0)
		return 0;
	b = *c->p++;
	c->left--;
	return b;
}

static void
check_parsed(const struct authres_parsed *ap)
{
	size_t	 i, k;

	if (ap->n_results > AUTHRES_MAX_RESULTS)
		abort();
	if (memchr(ap->authserv_id, '\0', sizeof(ap->authserv_id)) == NULL)
		abort();
	for (i = 0; i < ap->n_results; i++) {
		if (ap->results[i].n_props > AUTHRES_MAX_PROPS)
			abort();
		for (k = 0; k < ap->results[i].n_props; k++)
			if (memchr(ap->results[i].props[k].value, '\0',
			    sizeof(ap->results[i].props[k].value)) == NULL)
				abort();
	}
}

static void
round_trip(struct cursor *c)
{
	static struct authres_parsed ap;
	struct mt_spf_outcome	 spf;
	struct mt_dkim_sig	 sigs[3];
	char			 id[256], from[512], helo[256], out[8192];
	char			 err[256];
	unsigned		 flags;
	size_t			 n, i;
	int			 len;

	flags = byte(c);
	field(c, id, sizeof(id));
	field(c, from, sizeof(from));
	field(c, helo, sizeof(helo));
	memset(&spf, 0, sizeof(spf));
	spf.result = (enum mt_spf_result)(byte(c) % 7);
	field(c, spf.domain, sizeof(spf.domain));
	field(c, spf.mechanism, sizeof(spf.mechanism));
	n = (flags >> 2) % 4;
	memset(sigs, 0, sizeof(sigs));
	for (i = 0; i < n; i++) {
		sigs[i].result = (enum mt_dkim_result)(byte(c) % 6);
		sigs[i].key_bits = (int)byte(c) * 16;
		field(c, sigs[i].domain, sizeof(sigs[i].domain));
		field(c, sigs[i].selector, sizeof(sigs[i].selector));
		field(c, sigs[i].algorithm, sizeof(sigs[i].algorithm));
		field(c, sigs[i].identity, sizeof(sigs[i].identity));
		field(c, sigs[i].header_b, sizeof(sigs[i].header_b));
		field(c, sigs[i].reason, sizeof(sigs[i].reason));
	}
	len = authres_build(out, sizeof(out), id, (flags & 1) ? &spf : NULL,
	    (flags >> 1) & 1, from, helo, sigs, n, (flags >> 4) & 1);
	(void)authres_received_spf(out + 4096, 4096, id, &spf, "192.0.2.1",
	    from, helo);
	if (len < 0 || !authres_valid_authserv_id(id))
		return;
	if ((size_t)len >= sizeof(out) || strlen(out) != (size_t)len)
		abort();
	/* What we build must read back as ours. */
	if (authres_parse(out, (size_t)len, &ap, err, sizeof(err)) != 0) {
		fprintf(stderr, "own header does not parse (%s): %s\n", err,
		    out);
		abort();
	}
	check_parsed(&ap);
	if (strcasecmp(ap.authserv_id, id) != 0 ||
	    authres_claims(out, (size_t)len, id) != 1) {
		fprintf(stderr, "own header not claimed by \"%s\": %s\n", id,
		    out);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct authres_parsed ap;
	struct cursor	 c = { data, size };
	char		 err[256], first[256];
	const uint8_t	*nl;
	size_t		 n;

	if (authres_parse((const char *)data, size, &ap, err,
	    sizeof(err)) == 0)
		check_parsed(&ap);
	(void)authres_claims((const char *)data, size, "mx.example.org");
	nl = memchr(data, '\n', size);
	n = nl != NULL ? (size_t)(nl - data) : size;
	if (n >= sizeof(first))
		n = sizeof(first) - 1;
	memcpy(first, data, n);
	first[n] = '\0';
	if (memchr(first, '\0', n) == NULL && nl != NULL) {
		(void)authres_valid_authserv_id(first);
		(void)authres_claims((const char *)nl + 1,
		    size - (size_t)(nl - data) - 1, first);
	}
	round_trip(&c);
	return 0;
}

FUZZ_REPLAY_MAIN("authres")
