/*
 * record.h - the finished records the milter hands to the journal.
 *
 * This is ARCHITECTURE.md's logical model in C: a connection, the messages
 * (SMTP transactions) on it and their recipients.  A record is built in
 * per-connection memory by txn.c, then moved whole to the journal, which
 * owns and frees it; nothing touches a record after handing it over.
 * Every value from SMTP is a struct mt_bytes (exact bytes, capped).
 * Times are UTC microseconds since the epoch.
 */
#ifndef MAILTRAIL_RECORD_H
#define MAILTRAIL_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "mailtrail/auth.h"
#include "mailtrail/bytes.h"
#include "mailtrail/delivery.h"
#include "mailtrail/dkimv.h"
#include "mailtrail/spf.h"
#include "mailtrail/trackid.h"

/* How far an SMTP transaction got (the last milter step seen). */
enum mt_stage {
	MT_STAGE_CONNECT = 0,
	MT_STAGE_HELO,
	MT_STAGE_MAIL,
	MT_STAGE_RCPT,
	MT_STAGE_DATA,
	MT_STAGE_HEADER,
	MT_STAGE_EOH,
	MT_STAGE_BODY,
	MT_STAGE_EOM
};

/* How a transaction ended. */
enum mt_outcome {
	MT_OUTCOME_ACCEPTED = 0,	/* end-of-message seen, we let it through */
	MT_OUTCOME_TEMPFAILED,		/* end-of-message seen, we answered tempfail (on_error) */
	MT_OUTCOME_ABORTED,		/* RSET, or the MTA rejected it before the end */
	MT_OUTCOME_DISCONNECTED,	/* the connection closed mid-transaction */
	MT_OUTCOME_REJECTED		/* end-of-message seen, we rejected it
					   (dmarc.enforce = reject) */
};

enum mt_edit_action {
	MT_EDIT_ADDED = 0,		/* a header we inserted */
	MT_EDIT_REMOVED,		/* a header we deleted (forged) */
	MT_EDIT_KEPT			/* a header we noticed and left (trusted) */
};

struct mt_rcpt {
	struct mt_bytes	 addr;		/* the RCPT TO address, as sent */
	struct mt_bytes	 args;		/* its ESMTP arguments, space separated */
	int64_t		 time_us;
	int		 rejected;	/* the MTA refused it */
	int		 reply_code;	/* 3-digit SMTP code, 0 if the MTA gave none */
	struct mt_bytes	 status;	/* enhanced status code, "5.1.1" */
	struct mt_bytes	 text;		/* the MTA's reply text */
};

struct mt_header_edit {
	enum mt_edit_action action;
	struct mt_bytes	 name;
	struct mt_bytes	 value;
	int		 index;		/* 1-based among headers of that name; 0 = top */
	const char	*reason;	/* static text: "forged tracking header", ... */
};

/* A snapshot of the connection facts. */
struct mt_conn_rec {
	char		 conn_id[MT_TRACKID_SIZE];
	int64_t		 connect_us;
	int64_t		 close_us;	/* 0 while the connection is open */
	struct mt_bytes	 client_addr;	/* textual IP, "192.0.2.1" / "2001:db8::1" */
	int		 client_port;	/* 0 if unknown */
	struct mt_bytes	 client_name;	/* the name the MTA verified, or "unknown" */
	struct mt_bytes	 client_ptr;	/* the PTR name, unverified */
	struct mt_bytes	 client_resolve; /* OK / FAIL / FORGED / TEMP */
	struct mt_bytes	 helo;
	struct mt_bytes	 tls_version;
	struct mt_bytes	 tls_cipher;
	int		 tls_bits;	/* -1 when not TLS */
	struct mt_bytes	 tls_cert_subject;
	struct mt_bytes	 tls_cert_issuer;
	struct mt_bytes	 auth_type;	/* SASL mechanism */
	struct mt_bytes	 auth_authen;	/* SASL user name */
	struct mt_bytes	 auth_author;
	struct mt_bytes	 mta_host;	/* {j} */
	struct mt_bytes	 mta_daemon;	/* {daemon_name} */
	struct mt_bytes	 mta_version;	/* {v} */
	int		 trusted;	/* client in trusted_networks */
	unsigned	 n_messages;	/* transactions started so far */
	unsigned	 n_unknown;	/* unknown commands seen */
	struct mt_bytes	 unknown_cmds;	/* the first few, newline separated */
};

struct mt_msg_rec {
	char		 track_id[MT_TRACKID_SIZE];
	struct mt_bytes	 parent_id;	/* tracking ID from a trusted upstream hop */
	int64_t		 start_us;	/* MAIL FROM */
	int64_t		 end_us;
	enum mt_stage	 stage;
	enum mt_outcome	 outcome;
	struct mt_bytes	 mail_from;	/* the MAIL FROM address, as sent */
	struct mt_bytes	 mail_args;	/* its ESMTP arguments, space separated */
	struct mt_bytes	 queue_id;	/* the MTA's {i} */
	struct mt_bytes	 message_id;
	struct mt_bytes	 hdr_from;
	struct mt_bytes	 hdr_date;
	struct mt_bytes	 hdr_subject;
	uint64_t	 header_bytes;	/* header bytes as seen by the milter */
	uint64_t	 body_bytes;
	uint64_t	 mta_size;	/* the MTA's {msg_size}; 0 when not sent */
	unsigned	 n_headers;
	struct mt_rcpt	*rcpts;
	size_t		 n_rcpts;	/* recorded */
	size_t		 n_rcpts_dropped; /* over max_recipients, counted only */
	struct mt_header_edit *edits;
	size_t		 n_edits;
	size_t		 n_edits_dropped;
	unsigned	 truncations;	/* values cut to max_value_length */
	struct mt_bytes	 error;		/* what went wrong inside mailtrail, if anything */

	/* Authentication (schema version 2; DMARC from version 9). */
	struct mt_auth_results auth;	/* SPF, DKIM, DMARC (auth.h) */
	struct mt_bytes	 authres;	/* the Authentication-Results value added */
};

enum mt_record_kind {
	MT_RECORD_MESSAGE = 0,		/* a transaction (with a connection snapshot) */
	MT_RECORD_CONNECTION,		/* a connection at close */
	MT_RECORD_LOGBATCH,		/* log events (and the position reached) */
	MT_RECORD_BOUNCE		/* a returning bounce */
};

struct mt_record {
	enum mt_record_kind kind;
	struct mt_conn_rec conn;
	struct mt_msg_rec  msg;		/* unused for MT_RECORD_CONNECTION */
	struct mt_log_batch *logs;	/* MT_RECORD_LOGBATCH: owned */
	struct mt_bounce_rec *bounce;	/* MT_RECORD_BOUNCE: owned */
	size_t		 mem;		/* approximate bytes held, for queue bounds */

	/* Journal private: queue link and the waiter of a durable submit. */
	struct mt_record *next;
	void		*waiter;
	/*
	 * Journal private, for a durable submit that timed out (under the
	 * journal's lock): taken = the writer holds it; late = its submitter
	 * gave up while the writer held it, so once committed its outcome is
	 * rewritten to late_outcome (what the MTA was told).
	 */
	int		 taken;
	int		 late;
	enum mt_outcome	 late_outcome;
	/* Set by the journal: the message is stored already; the store
	 * rewrites only its outcome and error. */
	int		 revision;
};

/* A new, empty record (caller owns; NULL on allocation failure). */
struct mt_record *record_new(enum mt_record_kind kind);

/* Free a record and everything it holds.  NULL is a no-op. */
void	 record_free(struct mt_record *rec);

/* Deep-copy connection facts (for the snapshot in a message record).
 * Returns 0, -1 on allocation failure (dst then partially set; free it). */
int	 record_conn_copy(struct mt_conn_rec *dst, const struct mt_conn_rec *src);

/* Free what a connection snapshot holds (not the struct). */
void	 record_conn_clear(struct mt_conn_rec *c);

/* Free what a message holds (not the struct). */
void	 record_msg_clear(struct mt_msg_rec *m);

/* Recompute rec->mem from what it holds. */
void	 record_account(struct mt_record *rec);

/*
 * Summaries stored in messages.spf_result / dkim_result: the result of the
 * identity that counts (MAIL FROM; HELO for the null sender), and "pass"
 * when any signature passed, else the first signature's result, "none"
 * when unsigned.  NULL when not evaluated.
 */
const char *record_spf_summary(const struct mt_msg_rec *m);
const char *record_dkim_summary(const struct mt_msg_rec *m);

/* Names for the enums, as stored in the journal ("accepted", "rcpt", ...). */
const char *record_stage_name(enum mt_stage s);
const char *record_outcome_name(enum mt_outcome o);
const char *record_edit_action_name(enum mt_edit_action a);

#endif
