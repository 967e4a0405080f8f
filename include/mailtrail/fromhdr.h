/*
 * fromhdr.h - the RFC5322.From domain, the way DMARC needs it.
 *
 * DMARC (RFC 7489 section 6.6.1, RFC 9989) evaluates exactly one author
 * domain.  Given every From: field value of a message, fromhdr_domain()
 * answers that domain, or a permerror with a reason from a closed list:
 * no From:, several From: fields, several mailboxes in one (a comma list or
 * a group), an unparsable address, a domain literal, a domain that is not a
 * DNS name, an encoded word standing in the address, a field over the size
 * cap.  The rules (docs/dmarc.md):
 *
 *   - one field, one mailbox: name-addr or addr-spec (RFC 5322 3.4), with
 *     CFWS (nested comments, quoted pairs) wherever RFC 5322 allows it;
 *     quoted display names may hold anything, commas included;
 *   - leniencies: an unquoted display name may contain '.' and '@'
 *     (obs-phrase, and what MUAs write); CR and LF count as white space
 *     (a folded value may come with or without its line ends);
 *   - RFC 2047 encoded words are fine in a display name and ignored; an
 *     encoded word in the local part is refused (RFC 2047 section 5);
 *   - the domain is a dot-atom of LDH labels (1-63 octets, 253 in all, no
 *     label starting or ending with '-', a last label not all digits),
 *     with at most one trailing dot removed, lowercased; A-labels
 *     ("xn--...") are lowercased like any label;
 *   - U-labels (8-bit octets in the domain) are refused with their own
 *     code: IDNA conversion is not done here (see docs/dmarc.md);
 *   - obsolete source routes ("<@a,@b:u@d>") are unparsable.
 *
 * No state, no allocation; thread-safe.
 */
#ifndef MAILTRAIL_FROMHDR_H
#define MAILTRAIL_FROMHDR_H

#include <stddef.h>

/* A From: field value longer than this (bytes, folded) is a permerror. */
#define MT_FROM_FIELD_MAX	2048
/* The longest domain name (RFC 1035, without the trailing dot). */
#define MT_FROM_DOMAIN_MAX	253

enum mt_from_status {
	MT_FROM_OK = 0,
	MT_FROM_NONE,			/* no From: field */
	MT_FROM_MULTIPLE_FIELDS,	/* more than one From: field */
	MT_FROM_MULTIPLE_MAILBOXES,	/* a comma list in one field */
	MT_FROM_GROUP,			/* group syntax "name: ...;" */
	MT_FROM_EMPTY,			/* a field with no mailbox at all */
	MT_FROM_UNPARSABLE,		/* not an RFC 5322 mailbox */
	MT_FROM_NO_DOMAIN,		/* an address without "@domain" */
	MT_FROM_DOMAIN_LITERAL,		/* "user@[192.0.2.1]" */
	MT_FROM_BAD_DOMAIN,		/* not a DNS host name */
	MT_FROM_ULABEL,			/* 8-bit (IDN U-label) domain */
	MT_FROM_ENCODED_WORD,		/* RFC 2047 word in the address */
	MT_FROM_TOO_LONG,		/* field over MT_FROM_FIELD_MAX */
	MT_FROM_CONTROL_CHAR		/* NUL or another control octet */
};

struct mt_from_value {
	const char	*data;		/* the field value, not NUL-terminated */
	size_t		 len;
};

struct mt_from_result {
	enum mt_from_status status;
	size_t		 n_fields;		/* From: fields seen */
	char		 domain[MT_FROM_DOMAIN_MAX + 1]; /* "" unless OK */
	size_t		 offset;		/* where parsing stopped, in
						   the field, for UNPARSABLE */
};

/*
 * Decide the From: domain from the n field values (borrowed; the values
 * only, without the field name, as libmilter gives them).  Returns
 * res->status.
 */
enum mt_from_status fromhdr_domain(const struct mt_from_value *values,
	    size_t n, struct mt_from_result *res);

/* One value: the same rules for a single field. */
enum mt_from_status fromhdr_parse(const char *value, size_t len,
	    struct mt_from_result *res);

/* Closed vocabulary: "ok", "none", "multiple-fields", ... (for storage). */
const char *fromhdr_status_name(enum mt_from_status s);

/* The reason in words: "several mailboxes in one From: field". */
const char *fromhdr_status_text(enum mt_from_status s);

#endif
