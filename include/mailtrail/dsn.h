/*
 * dsn.h - returning bounces: RFC 3464 delivery status notifications and
 * the common non-standard shapes (plain-text "could not be delivered",
 * qmail, Exchange, Exim, Lotus, Gmail, Yahoo, Outlook, ...).
 *
 * dsn_parse() reads one whole message (headers and body, LF or CRLF) with
 * GMime 3 (MIME structure, transfer encodings, RFC 2047 words) and fills a
 * struct mt_bounce_rec (delivery.h): what kind of report it is, who
 * reported, one entry per recipient (address, action, enhanced status,
 * SMTP reply code, permanent or temporary, mailtrail's reason category,
 * remote MTA, diagnostic) and the keys that find the original message:
 * our tracking header, Message-ID and the MTA's queue ID from the returned
 * headers or body.
 *
 * Bounds: at most limits->max_bytes of input are read (the rest is
 * ignored, and the record's error says so), MIME nesting deeper than
 * limits->max_depth is not descended, and parsing stops after
 * limits->max_parts parts.  GMime is initialised once (dsn_init, before
 * any thread uses the parser).  Thread safety: after dsn_init, distinct
 * calls are independent.
 */
#ifndef MAILTRAIL_DSN_H
#define MAILTRAIL_DSN_H

#include <stddef.h>

#include "mailtrail/delivery.h"

struct dsn_limits {
	size_t		 max_bytes;	/* input read; default DSN_DEFAULT_MAX_BYTES */
	unsigned	 max_depth;	/* MIME nesting; default 8 */
	unsigned	 max_parts;	/* parts visited; default 64 */
	const char	*tracking_header; /* our header name, "X-Mailtrail-ID" */
};

#define DSN_DEFAULT_MAX_BYTES	(4u * 1024 * 1024)

/* Initialise GMime once per process (idempotent, thread-safe). */
void	 dsn_init(void);

/*
 * Parse msg[0..len).  Returns a record (caller owns; kind MT_BOUNCE_NONE
 * when the message is not a report) or NULL on allocation failure.  Never
 * fails on bad input: a message it cannot read is MT_BOUNCE_NONE with the
 * reason in ->error.  The record's source and time_us are left for the
 * caller to set.
 */
struct mt_bounce_rec *dsn_parse(const char *msg, size_t len,
	    const struct dsn_limits *limits);

/*
 * A quick look at a message's envelope and top headers: 1 when it may be a
 * report worth parsing (null sender, a multipart/report content type, a
 * MAILER-DAEMON/postmaster From:, a bounce-like Subject), else 0.  For the
 * milter, to decide at end-of-message without parsing every message.
 */
int	 dsn_looks_like_bounce(const char *mail_from, const char *content_type,
	    const char *from, const char *subject);

#endif
