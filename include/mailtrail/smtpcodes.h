/*
 * smtpcodes.h - what SMTP reply codes and enhanced status codes mean.
 *
 * A read-only catalogue of the three-digit reply codes of RFC 5321 (and the
 * ones later RFCs added: AUTH, null MX, ...) and of the enhanced status
 * codes "class.subject.detail" of RFC 3463 as kept by IANA's registry
 * (classes 2, 4 and 5; subjects 0 to 7; every registered detail).  Each
 * entry says what the code means, whether it is permanent or temporary,
 * what usually causes it and what to check.  "mailtrail explain" prints
 * entries; "mailtrail show" annotates every code it prints with one line.
 *
 * The tables are static and const: everything here is thread-safe, and
 * every string returned is static (never freed).
 */
#ifndef MAILTRAIL_SMTPCODES_H
#define MAILTRAIL_SMTPCODES_H

#include <stddef.h>

/* What a code tells the sending side to do. */
enum smtp_kind {
	SMTP_KIND_INVALID = 0,		/* not a code of a known class */
	SMTP_KIND_SUCCESS,		/* 2yz, 2.X.X: done */
	SMTP_KIND_INTERMEDIATE,		/* 3yz: go on (DATA, AUTH) */
	SMTP_KIND_TEMPORARY,		/* 4yz, 4.X.X: try again later */
	SMTP_KIND_PERMANENT		/* 5yz, 5.X.X: do not retry as is */
};

/* A three-digit reply code (RFC 5321 section 4.2). */
struct smtp_reply_info {
	int		 code;		/* 211 .. 556 */
	const char	*summary;	/* a few words */
	const char	*meaning;	/* what the server is saying */
	const char	*causes;	/* what usually leads to it */
	const char	*check;		/* what to look at */
	const char	*ref;		/* "RFC 5321", "RFC 4954", ... */
};

/*
 * An enhanced status code entry.  detail < 0 is the entry of a whole
 * subject ("X.7.YYY: security or policy status").  classes is a bit set of
 * the classes the registry lists the code for: SMTP_CLASS_BIT(2), (4), (5).
 */
struct smtp_status_info {
	int		 subject;	/* 0 .. 7 */
	int		 detail;	/* 0 .. 30, -1 for the subject itself */
	const char	*summary;
	const char	*meaning;
	const char	*check;		/* NULL for a subject */
	const char	*ref;		/* the RFC that registered it */
	unsigned	 classes;
};

#define SMTP_CLASS_BIT(c)	(1u << (c))
#define SMTP_CLASSES_ALL	(SMTP_CLASS_BIT(2) | SMTP_CLASS_BIT(4) | \
				 SMTP_CLASS_BIT(5))
#define SMTP_CLASSES_FAIL	(SMTP_CLASS_BIT(4) | SMTP_CLASS_BIT(5))

/* A parsed enhanced status code. */
struct smtp_status {
	int		 cls;		/* 2, 4 or 5 */
	int		 subject;	/* 0 .. 999 */
	int		 detail;	/* 0 .. 999 */
};

/*
 * Parse a reply code: exactly three digits, the first 2 to 5, the second
 * 0 to 5 (RFC 5321 section 4.2).  Returns 0 with *code set, -1 otherwise.
 */
int	 smtp_reply_parse(const char *s, size_t len, int *code);

/*
 * Parse an enhanced status code "class.subject.detail": class 2, 4 or 5,
 * subject and detail of one to three digits (RFC 3463 section 2), nothing
 * before or after.  Returns 0, or -1 when s is not one.
 */
int	 smtp_status_parse(const char *s, size_t len, struct smtp_status *out);

/* The kind of a reply code (by its first digit); INVALID outside 200..599. */
enum smtp_kind smtp_reply_kind(int code);

/* The kind of an enhanced status code's class (2, 4, 5). */
enum smtp_kind smtp_class_kind(int cls);

/* "success", "intermediate", "temporary", "permanent" or "invalid". */
const char *smtp_kind_name(enum smtp_kind kind);

/* What a kind means for the sender, in one sentence. */
const char *smtp_kind_meaning(enum smtp_kind kind);

/* The catalogue entry of a reply code; NULL when it has none. */
const struct smtp_reply_info *smtp_reply_lookup(int code);

/* The entry of subject.detail (any class); NULL when not registered. */
const struct smtp_status_info *smtp_status_lookup(int subject, int detail);

/* The entry of a whole subject (X.s.YYY); NULL for unknown subjects. */
const struct smtp_status_info *smtp_subject_lookup(int subject);

/*
 * One line for annotating a code where it is printed, e.g.
 * "permanent: bad destination mailbox address (mailbox does not exist)".
 * code is a reply code or 0; status an enhanced code or NULL / "".  The
 * enhanced code, when known, wins over the reply code (it is more precise).
 * Returns the length written (snprintf semantics: out always terminated).
 */
int	 smtp_describe(char *out, size_t outsz, int code, const char *status);

/* The whole catalogue, in order, for listings and tests. */
size_t	 smtp_reply_count(void);
const struct smtp_reply_info *smtp_reply_at(size_t i);
size_t	 smtp_status_count(void);
const struct smtp_status_info *smtp_status_at(size_t i);

#endif
