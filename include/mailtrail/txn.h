/*
 * txn.h - the connection and transaction model the milter fills in.
 *
 * One struct mt_conn lives from connect to close; it holds the connection
 * facts and at most one open transaction (MAIL FROM to end-of-message or
 * abort).  Each callback of the milter glue maps to one call here; the glue
 * passes the MTA's macros through a getter, so this module decides which
 * macros it reads and when, and is testable without an MTA.
 *
 * Ownership: a finished transaction is moved to the journal as a record
 * (with a snapshot of the connection) and never touched again; conn_close()
 * hands over the connection record and frees everything.  Memory per
 * connection is bounded by the caps in the configuration, however many
 * messages or recipients arrive.
 *
 * Not thread-safe per object: libmilter serialises the callbacks of one
 * connection, though they may run on different threads.  Distinct objects
 * share only the configuration snapshot (read-only) and the journal
 * (thread-safe).
 */
#ifndef MAILTRAIL_TXN_H
#define MAILTRAIL_TXN_H

#include <stddef.h>
#include <sys/socket.h>

#include "mailtrail/config.h"
#include "mailtrail/dkimv.h"
#include "mailtrail/dsn.h"
#include "mailtrail/journal.h"
#include "mailtrail/spf.h"
#include "mailtrail/trackid.h"

struct mt_conn;

/* How the core reads the MTA's macros: returns the value or NULL. */
typedef const char *(*mt_macro_fn)(void *arg, const char *name);

struct mt_macros {
	mt_macro_fn	 get;
	void		*arg;
};

/* The milter steps whose macros the core reads (for smfi_setsymlist). */
enum mt_macro_stage {
	MT_MACROS_CONNECT = 0,
	MT_MACROS_HELO,
	MT_MACROS_MAIL,
	MT_MACROS_RCPT,
	MT_MACROS_DATA,
	MT_MACROS_EOH,
	MT_MACROS_EOM,
	MT_MACROS_NSTAGES
};

/* Space-separated macro names the core reads at that stage (static). */
const char *txn_macro_list(enum mt_macro_stage stage);

/*
 * The shared handles a connection works with (ARCHITECTURE.md invariant 6:
 * no hidden global state).  All borrowed; they must outlive every
 * connection.  spf, dkimv and resolver may be NULL (that check is off;
 * DMARC needs the resolver).
 */
struct mt_ctx {
	struct journal	*journal;
	struct mt_spf	*spf;
	struct mt_dkimv	*dkimv;
	struct mt_resolver *resolver;
	/* Tests: parses a possible bounce in place of dsn_parse (NULL). */
	struct mt_bounce_rec *(*bounce_parse)(const char *msg, size_t len,
		    const struct dsn_limits *limits);
};

/*
 * A new connection.  Takes a reference on cfg; ctx is copied.  NULL on
 * allocation failure (the glue then lets the connection through untracked,
 * counted).
 */
struct mt_conn *conn_new(struct mt_config *cfg, const struct mt_ctx *ctx);

/* The configuration snapshot the connection runs with (borrowed). */
const struct mt_config *conn_config(const struct mt_conn *c);

/* The connection's ID (borrowed, for log lines). */
const char *conn_id(const struct mt_conn *c);

/* CONNECT: hostname as the MTA resolved it, sa may be NULL (unknown). */
void	 conn_connect(struct mt_conn *c, const char *hostname,
	    const struct sockaddr *sa, const struct mt_macros *m);

/* HELO/EHLO (again after STARTTLS: the TLS macros are read here). */
void	 conn_helo(struct mt_conn *c, const char *helo,
	    const struct mt_macros *m);

/* An unknown or unimplemented SMTP command. */
void	 conn_unknown(struct mt_conn *c, const char *cmd);

/*
 * MAIL FROM: argv[0] is the address, the rest ESMTP arguments; argv is
 * NULL-terminated.  Starts a transaction and assigns its tracking ID (a
 * transaction still open is first ended as aborted).
 */
void	 conn_mail(struct mt_conn *c, char **argv, const struct mt_macros *m);

/* RCPT TO, accepted or (with SMFIP_RCPT_REJ) rejected by the MTA. */
void	 conn_rcpt(struct mt_conn *c, char **argv, const struct mt_macros *m);

/* DATA. */
void	 conn_data(struct mt_conn *c, const struct mt_macros *m);

/*
 * One header: the value exactly as it follows the colon, leading space
 * included (SMFIP_HDR_LEADSPC; the glue puts the space back when the MTA
 * cannot keep it), since DKIM's simple canonicalization signs those bytes.
 */
void	 conn_header(struct mt_conn *c, const char *name, const char *value);

/* End of headers. */
void	 conn_eoh(struct mt_conn *c, const struct mt_macros *m);

/* A body chunk. */
void	 conn_body(struct mt_conn *c, const unsigned char *chunk, size_t len);

/*
 * The header changes to make at end-of-message, in this order: the
 * deletions (each list from the highest index down, since indexes count
 * headers of that name and shift after each deletion), then the inserts at
 * index 0 (so the last one ends up on top).  Borrowed pointers stay valid
 * until the next call on the connection.
 */
struct mt_eom_plan {
	const char	*header_name;	/* borrowed from the configuration */
	unsigned	 remove_count;	/* delete header_name at indexes
					   remove_count, ..., 2, 1 (descending) */
	const unsigned	*ar_remove;	/* Authentication-Results indexes to
					   delete, highest first */
	size_t		 n_ar_remove;
	int		 insert;	/* insert header_name at index 0 */
	char		 insert_value[MT_TRACKID_SIZE];
	const char	*received_spf;	/* insert Received-SPF: this, or NULL */
	const char	*authres;	/* insert Authentication-Results: this,
					   or NULL; on top */
	int		 quarantine;	/* dmarc.enforce: smfi_quarantine */
	const char	*quarantine_reason;
};

/*
 * End of message, step 1: read the last macros and decide the header
 * changes.  Returns 0 with *plan filled, or -1 when there is no open
 * transaction (nothing to change; still call conn_eom_finish).
 */
int	 conn_eom_plan(struct mt_conn *c, const struct mt_macros *m,
	    struct mt_eom_plan *plan);

enum mt_reply {
	MT_REPLY_CONTINUE = 0,		/* let the message through */
	MT_REPLY_TEMPFAIL,		/* on_error = tempfail and something failed */
	MT_REPLY_REJECT			/* dmarc.enforce = reject: conn_reply() */
};

/*
 * The reply for MT_REPLY_REJECT: rcode "550", xcode "5.7.1" or NULL, the
 * text (borrowed until the next call on the connection).
 */
void	 conn_reply(const struct mt_conn *c, const char **rcode,
	    const char **xcode, const char **text);

/*
 * Returning bounces (delivery.bounces): from MAIL FROM to end-of-headers
 * the header block is kept; at end-of-headers, when the message looks like
 * a report (dsn_looks_like_bounce: null sender, multipart/report,
 * MAILER-DAEMON From:, a bounce Subject) the body is kept too, else it is
 * all freed.  At most delivery.bounce_max_bytes are kept: beyond that the
 * rest is not kept (counted) and what was kept is parsed, since a
 * report's status part comes before the returned message.  After the
 * message's own record is handed over (step 2) and only when the message
 * is let through, the kept bytes are parsed (dsn_parse, linear in the
 * bytes kept) and an MT_RECORD_BOUNCE record, whose bounce_track_id is the
 * message's tracking ID, goes to the journal without waiting for its
 * commit.  A failure is logged and counted; the message is never held.
 * The bytes are freed at end-of-message, abort and close.
 *
 * Step 2: hand the record (with its planned edits) to the journal, waiting
 * for the commit under durability full, and say how to answer the MTA.
 * This comes before any header change reaches the MTA: a milter that dies
 * after its header was sent but before its record was committed would let
 * a tracking ID through that the journal never heard of.  When the journal
 * did not take the record, plan->insert is cleared (no ID without a
 * record); forged headers are removed all the same.  On MT_REPLY_TEMPFAIL
 * the message is refused and the plan need not be applied.  plan may be
 * NULL when conn_eom_plan returned -1.
 */
enum mt_reply conn_eom_finish(struct mt_conn *c, struct mt_eom_plan *plan);

/*
 * Step 3 (only on failure): an edit of the plan could not be made.  The
 * record is already committed: this is logged and counted.
 */
void	 conn_eom_edit_failed(struct mt_conn *c, const char *what);

/* ABORT: the transaction ended before end-of-message (RSET, MTA reject). */
void	 conn_abort(struct mt_conn *c);

/*
 * CLOSE: end an open transaction as disconnected, hand the connection record
 * over and free everything.  NULL is a no-op.
 */
void	 conn_close(struct mt_conn *c);

/*
 * The daemon is stopping and this connection is cut off (its MTA session is
 * still open): hand an open transaction over as aborted with the error why
 * (e.g. "shutdown"), then conn_close().  c is freed.  NULL is a no-op.
 */
void	 conn_cut_off(struct mt_conn *c, const char *why);

/* Process-wide counters of the capture (for the periodic stats line). */
struct txn_counters {
	unsigned long long connections;
	unsigned long long messages;
	unsigned long long truncations;
	unsigned long long alloc_failures;
	unsigned long long journal_errors;
	unsigned long long forged_removed;
	unsigned long long forged_authres_removed;
	unsigned long long edit_failures;
	unsigned long long spf_checks;
	unsigned long long dkim_messages;
	unsigned long long dmarc_checks;
	unsigned long long dmarc_fail;
	unsigned long long dmarc_enforced;	/* quarantined or rejected */
	unsigned long long bounces_seen;	/* kept as possible bounces */
	unsigned long long bounces_recorded;	/* handed to the journal */
	unsigned long long bounces_not_report;	/* parsed: not a report */
	unsigned long long bounces_truncated;	/* over bounce_max_bytes */
	unsigned long long bounce_errors;	/* memory, parser, journal */
};
void	 txn_counters(struct txn_counters *out);

#endif
