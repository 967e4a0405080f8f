/*
 * match.h - matching a stranger's bytes, and telling what an ID is.
 *
 * Patterns for --from, --to and --helo: an exact value (compared without
 * regard to ASCII case, through the journal's NOCASE indexes), "@domain"
 * (any address at that domain), or a glob with * (any bytes) and ? (one
 * byte), \ quoting the next character.  --subject is a substring.  All
 * comparisons are on bytes, NUL and 8-bit safe, folding ASCII case only.
 *
 * IDs given to "mailtrail show" are classified by shape: 26 characters of
 * Crockford base32 is a tracking ID; anything with "@" or in angle brackets
 * is a Message-ID; letters and digits only (5 to 20 of them) is a queue ID
 * (Postfix short or long IDs, Sendmail IDs).
 *
 * Thread safety: pure functions.
 */
#ifndef MAILTRAIL_CLI_MATCH_H
#define MAILTRAIL_CLI_MATCH_H

#include <stddef.h>

/* 1 when s matches the glob pattern (ASCII case folded). */
int	 cli_glob(const char *pat, size_t plen, const char *s, size_t slen);

/* 1 when needle occurs in hay (ASCII case folded); an empty needle does. */
int	 cli_contains(const char *hay, size_t hlen, const char *needle,
	    size_t nlen);

enum cli_pattern_kind {
	CLI_PAT_EXACT = 0,	/* compare whole value, case-insensitive */
	CLI_PAT_GLOB		/* cli_glob */
};

/*
 * Classify a --from/--to/--helo argument.  "@example.com" becomes the glob
 * "*@example.com"; "<>" (the null sender) becomes the exact empty string.
 * Returns the kind and sets *out to a new string (caller frees), or -1 on
 * allocation failure.
 */
int	 cli_pattern(const char *arg, char **out);

enum cli_id_kind {
	CLI_ID_INVALID = 0,
	CLI_ID_TRACK,
	CLI_ID_QUEUE,
	CLI_ID_MSGID
};

/* What kind of ID s looks like. */
enum cli_id_kind cli_id_classify(const char *s);

/* "tracking ID", "queue ID", "Message-ID" or "ID". */
const char *cli_id_kind_name(enum cli_id_kind k);

/*
 * The two stored forms of a Message-ID given with or without angle
 * brackets: *with = "<x>", *without = "x" (both new strings, caller frees).
 * Surrounding white space is dropped.  -1 on allocation failure.
 */
int	 cli_msgid_forms(const char *s, char **with, char **without);

/* Upper-case a tracking ID in place (Crockford base32 is case-free). */
void	 cli_trackid_normalize(char *s);

#endif
