/*
 * authres.h - the Authentication-Results header (RFC 8601).
 *
 * Builds the value we add (authserv-id, spf= for MAIL FROM or HELO, one
 * dkim= per signature, or dkim=none) from validated values only: anything
 * from SMTP or DNS that is not a valid token is left out or quoted.  Parses
 * header values well enough to tell whether one claims our authserv-id
 * (RFC 8601 section 5: such headers from outside are forgeries) and, for
 * tests and audits, to read the method results back.  Thread-safe.
 */
#ifndef MAILTRAIL_AUTHRES_H
#define MAILTRAIL_AUTHRES_H

#include <stddef.h>

#include "mailtrail/dkimv.h"
#include "mailtrail/spf.h"

/*
 * 1 when s is an authserv-id we can write and match: a dot-atom (RFC 5322)
 * that is also one RFC 2045 token, i.e. labels of letters, digits and
 * !#$%&'*+-^_`{|}~ separated by single dots, at most 255 characters.
 * ('/', '=' and '?' are atext but end a token: a header claiming such an
 * id would not be read back as claiming it.)
 */
int	 authres_valid_authserv_id(const char *s);

/* 1 when c may appear in an authserv-id (besides the separating dots). */
int	 authres_id_char(int c);

/*
 * Build the header value (without "Authentication-Results:") into out.
 * spf may be NULL (SPF not evaluated); spf_helo says which identity spf is
 * for; mailfrom/helo are what the client sent.  sigs[0..n) are the DKIM
 * signatures; n == 0 gives "dkim=none" when dkim_done, nothing otherwise.
 * Long values are folded.  Returns the length, or -1 if it did not fit.
 */
int	 authres_build(char *out, size_t outsz, const char *authserv_id,
	    const struct mt_spf_outcome *spf, int spf_helo,
	    const char *mailfrom, const char *helo,
	    const struct mt_dkim_sig *sigs, size_t n, int dkim_done);

/*
 * Append one more method's resinfo (e.g. dmarc_authres()'s) to a value
 * authres_build() made: "; " and its space-separated units, folded like the
 * rest.  len is the value's length.  Returns the new length, or -1 if it
 * did not fit (buf is then cut; do not use it).
 */
int	 authres_append(char *buf, size_t bufsz, size_t len,
	    const char *resinfo);

/*
 * Build a Received-SPF value (RFC 7208 section 9.1) for the MAIL FROM
 * identity: the result, then client-ip, envelope-from, helo, receiver and
 * identity, each written only when valid.  Returns the length or -1.
 */
int	 authres_received_spf(char *out, size_t outsz, const char *receiver,
	    const struct mt_spf_outcome *spf, const char *client_ip,
	    const char *mailfrom, const char *helo);

/*
 * 1 when the header value claims authserv_id (compared case-insensitively,
 * after comments and white space), 0 when not or when it does not parse.
 */
int	 authres_claims(const char *value, size_t len, const char *authserv_id);

/* A parsed header, for tests and the corpus. */
#define AUTHRES_MAX_RESULTS	32
#define AUTHRES_MAX_PROPS	8
struct authres_prop {
	char	 ptype[16];		/* "smtp", "header", "policy", "body" */
	char	 property[64];		/* "mailfrom", "d", ... */
	char	 value[256];
};
struct authres_result {
	char	 method[32];		/* "spf", "dkim", ... */
	char	 result[32];		/* "pass", ... */
	char	 reason[256];		/* reason= value, if any */
	struct authres_prop props[AUTHRES_MAX_PROPS];
	size_t	 n_props;
};
struct authres_parsed {
	char	 authserv_id[256];
	int	 version;		/* 0 when absent */
	int	 none;			/* "; none" */
	struct authres_result results[AUTHRES_MAX_RESULTS];
	size_t	 n_results;
};

/* Parse a header value.  0, or -1 with a reason in err. */
int	 authres_parse(const char *value, size_t len, struct authres_parsed *out,
	    char *err, size_t errlen);

#endif
