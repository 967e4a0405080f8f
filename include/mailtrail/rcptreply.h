/*
 * rcptreply.h - the reply an MTA gives for a recipient it rejected.
 *
 * With SMFIP_RCPT_REJ the MTA calls the milter for rejected recipients too,
 * with {rcpt_mailer} = "error", {rcpt_host} = the enhanced status code and
 * {rcpt_addr} = the reply: Postfix passes only the text after the code and
 * the address ("Relay access denied"), Sendmail the whole reply
 * ("550 5.1.1 User unknown").  This module turns either shape into code,
 * enhanced status and text.  Thread-safe (no state).
 */
#ifndef MAILTRAIL_RCPTREPLY_H
#define MAILTRAIL_RCPTREPLY_H

#include <stddef.h>

struct mt_rcpt_reply {
	int		 code;		/* 200..599, 0 when not given */
	char		 status[16];	/* "5.1.1", "" when none valid */
	const char	*text;		/* points into the input */
	size_t		 text_len;
};

/*
 * Parse host ({rcpt_host}, may be NULL) and addr ({rcpt_addr}, may be NULL).
 * A status in addr wins over host when both are valid.  Never fails: what
 * cannot be parsed is kept as text.
 */
void	 rcptreply_parse(const char *host, const char *addr,
	    struct mt_rcpt_reply *out);

/* 1 when s is a valid RFC 3463 code: class 2/4/5, subject and detail 0-999. */
int	 rcptreply_status_valid(const char *s, size_t len);

#endif
