/*
 * maillog.h - the MTA's mail log, one line at a time.
 *
 * mlog_parse() reads one line of a Postfix or Sendmail log (written by
 * syslog with a classic "Mon DD HH:MM:SS" stamp or an RFC 3339 one, or by
 * Postfix's own maillog_file) and says what it is: a delivery attempt for
 * one recipient, a fact about a queued message (its sender, Message-ID,
 * removal, expiry, the bounce notice the MTA generated for it), or nothing
 * we track.  It never allocates: every text field of the event is a slice
 * of the line, valid as long as the line is.
 *
 * Frames: "STAMP HOST TAG[PID]: MESSAGE", where STAMP is classic
 * ("Mar  4 10:00:00", or "Mar 04 10:00:00" as Postfix's maillog_file
 * writes it, optionally with ".fraction") or RFC 3339
 * ("2023-03-14T10:00:00.123456+01:00"; without an offset it is local
 * time); an optional "<PRI>" in front; RFC 5424 frames ("<PRI>1 STAMP
 * HOST APP PROCID MSGID SD MESSAGE"); HOST may be missing, and so may
 * "[PID]" or the ':' after it.  Postfix is any tag "postfix.../daemon"
 * (multi-instance "postfix-out/qmgr", "postfix/10025/smtpd") or any
 * "name/daemon" whose daemon is a Postfix program; Sendmail is "sendmail"
 * or "sm-..." (sm-mta, sm-msp-queue).
 *
 * Classic stamps have no year: the first one gets the year of the
 * reference time (the file's modification time for a finished file, now
 * for a live one), or the year before when the stamp would lie more than
 * a day after the reference.  Each later one keeps the year of the stamp
 * before it unless its month moves back by six or more (the log crossed
 * New Year: one year on) or forward by six or more (a stray line from the
 * old year: one year back), so lines a few days out of order keep their
 * year.  Times are UTC microseconds; classic stamps and offset-less RFC
 * 3339 stamps are read in the parser's zone (tz_offset_s, or the
 * process's zone with MLOG_TZ_LOCAL, looked up once per hour of log).
 *
 * Conventions worth knowing (the rest is in the field comments):
 *  - Postfix pickup's "uid=0 from=<root>" is MLOG_CLIENT with client
 *    "uid=0" and the sender; smtpd's "orig_queue_id=" (content filter
 *    hand-back) is the CLIENT event's related_queue_id.
 *  - A verify probe that succeeds (status=deliverable) is MLOG_IGNORED;
 *    "undeliverable*" is a delivery with MLOG_STATUS_UNDELIVERABLE; a
 *    discard(8) "sent" is MLOG_STATUS_DISCARDED.
 *  - Sendmail: "done;" is MLOG_REMOVED; "<addr>... User unknown" and
 *    "ruleset=... reject=" / "Milter: ... reject=" lines are MLOG_REJECT;
 *    a to= line's status comes from stat= ("Sent", "Deferred", "queued"),
 *    else from the dsn= class, else it is bounced; notify lines
 *    ("QID: NEWQID: DSN:|postmaster notify:|return to sender:|sender
 *    notify:|clone:") put the kind in status_word and the text in reply.
 *  - Postfix "warning: QID: ..." lines name the queue ID but are ignored.
 *
 * Bounds: a line longer than MLOG_MAX_LINE is not parsed (MLOG_TOO_LONG);
 * a field longer than MLOG_MAX_FIELD is cut (the event says so).
 *
 * Thread safety: a parser is used by one thread at a time; distinct
 * parsers are independent.
 */
#ifndef MAILTRAIL_MAILLOG_H
#define MAILTRAIL_MAILLOG_H

#include <stddef.h>
#include <stdint.h>

#define MLOG_MAX_LINE		65536	/* bytes; longer lines are counted, not parsed */
#define MLOG_MAX_FIELD		4096	/* bytes kept of one field */
#define MLOG_QUEUE_ID_MAX	32	/* longest queue ID accepted (Postfix long: 15-20) */

/* What a line is. */
enum mlog_kind {
	MLOG_IGNORED = 0,	/* a mail-system line we do not track (postscreen, TLS, ...) */
	MLOG_NOT_MAIL,		/* not from a mail program (another daemon in the file) */
	MLOG_UNPARSED,		/* a mail program's line with a queue ID we could not read */
	MLOG_TOO_LONG,		/* over MLOG_MAX_LINE */
	MLOG_BAD_STAMP,		/* no syslog/RFC 3339/maillog_file time stamp */

	MLOG_DELIVERY,		/* one recipient: sent, deferred, bounced, expired, ... */
	MLOG_QUEUED,		/* the sender: Postfix qmgr from=, Sendmail from= */
	MLOG_CLIENT,		/* Postfix smtpd/pickup: client= / uid= (queue ID born) */
	MLOG_MESSAGE_ID,	/* Postfix cleanup message-id= */
	MLOG_REMOVED,		/* Postfix qmgr removed: the queue file is gone */
	MLOG_EXPIRED,		/* Postfix qmgr from=..., status=expired, returned to sender */
	MLOG_NOTIFY,		/* the MTA generated a bounce/DSN: related_queue_id is its queue ID */
	MLOG_DEADLETTER,	/* Sendmail: Saved message in dead.letter */
	MLOG_REJECT		/* NOQUEUE reject, milter-reject: refused before queueing */
};

/* Which MTA wrote the line. */
enum mlog_mta {
	MLOG_MTA_UNKNOWN = 0,
	MLOG_MTA_POSTFIX,
	MLOG_MTA_SENDMAIL
};

/* A recipient's delivery status, as the MTA logged it. */
enum mlog_status {
	MLOG_STATUS_NONE = 0,
	MLOG_STATUS_SENT,		/* Postfix sent, Sendmail Sent */
	MLOG_STATUS_DEFERRED,		/* 4xx or connection trouble, retried later */
	MLOG_STATUS_BOUNCED,		/* 5xx or a local refusal: a bounce follows */
	MLOG_STATUS_EXPIRED,		/* given up after the queue lifetime */
	MLOG_STATUS_UNDELIVERABLE,	/* Postfix verify/sendmail -bv probes */
	MLOG_STATUS_DISCARDED		/* dropped by the discard transport */
};

/* A slice of the line; p == NULL when the field is absent. */
struct mlog_str {
	const char	*p;
	size_t		 len;
};

struct mlog_event {
	enum mlog_kind	 kind;
	enum mlog_mta	 mta;
	int64_t		 time_us;	/* UTC; 0 when kind is MLOG_BAD_STAMP */
	struct mlog_str	 host;		/* the syslog host name */
	struct mlog_str	 program;	/* "postfix/smtp", "postfix-out/qmgr", "sm-mta", "sendmail" */
	long		 pid;		/* -1 when absent */
	struct mlog_str	 queue_id;	/* absent for NOQUEUE / not-mail lines */

	/* MLOG_DELIVERY (and MLOG_REJECT: recipient, reply, dsn). */
	struct mlog_str	 recipient;	/* to=, without the angle brackets */
	struct mlog_str	 orig_recipient; /* Postfix orig_to=; absent when not logged */
	struct mlog_str	 relay;		/* relay=, "mx.example.com[192.0.2.1]:25", "local", "none" */
	struct mlog_str	 dsn;		/* dsn=/Sendmail dsn=, "5.1.1" */
	enum mlog_status status;
	struct mlog_str	 status_word;	/* status=/stat= first word as logged;
					   NOTIFY: "DSN", "sender non-delivery
					   notification", ... */
	struct mlog_str	 reply;		/* the text in parentheses after status= / the rest of stat= */
	int		 reply_code;	/* 3-digit code read from reply, 0 when none */
	double		 delay;		/* delay= seconds; -1 when absent (Sendmail: hh:mm:ss) */
	double		 delays[4];	/* Postfix delays=a/b/c/d; -1 each when absent */
	struct mlog_str	 next_queue_id;	/* "queued as X" / "forwarded as X" /
					   Sendmail's "X Message accepted for
					   delivery" in the reply ("delivered
					   via ... service" names none) */
	struct mlog_str	 mailer;	/* Sendmail mailer=, Postfix transport (program's last part) */

	/* MLOG_QUEUED / MLOG_CLIENT / MLOG_MESSAGE_ID. */
	struct mlog_str	 sender;	/* from=, without the angle brackets ("" = null sender) */
	long long	 size;		/* size=; -1 when absent */
	int		 nrcpt;		/* nrcpt=/nrcpts=; -1 when absent */
	struct mlog_str	 message_id;	/* message-id= / Sendmail msgid= */
	struct mlog_str	 client;	/* client= / Sendmail relay= of the from= line */

	/* MLOG_NOTIFY: the new queue ID of the bounce the MTA generated. */
	struct mlog_str	 related_queue_id;

	unsigned	 truncated;	/* fields cut to MLOG_MAX_FIELD */

	/*
	 * Several recipients on one line (Sendmail "to=<a>,<b>, ..."):
	 * recipient is the first, rcpt_rest the unread rest of the list
	 * (absent when none); mlog_next_recipient moves to the next one.
	 * rcpt_index counts from 0.  Added after the first contract.
	 */
	struct mlog_str	 rcpt_rest;
	unsigned	 rcpt_index;
};

struct mlog_parser;

/*
 * A parser.  ref_us: the time the log is known to end at (a finished
 * file's mtime; 0 = now, for a live log).  tz_offset_s: the offset of the
 * log's local time from UTC for classic stamps; MLOG_TZ_LOCAL to use the
 * process's time zone.  Caller frees with mlog_parser_free.  NULL on
 * allocation failure.
 */
#define MLOG_TZ_LOCAL	INT32_MIN
struct mlog_parser *mlog_parser_new(int64_t ref_us, int32_t tz_offset_s);
void	 mlog_parser_free(struct mlog_parser *p);

/*
 * Parse one line (without its newline; a trailing CR is ignored).  Fills
 * *ev (every slice points into line) and returns ev->kind.  Never fails on
 * bad input: unknown shapes are MLOG_UNPARSED / MLOG_NOT_MAIL.
 */
enum mlog_kind mlog_parse(struct mlog_parser *p, const char *line, size_t len,
	    struct mlog_event *ev);

/*
 * Step a delivery event to the next recipient of its line: 1 when
 * ev->recipient (and rcpt_index) now name the next one, every other field
 * unchanged; 0 when the list is exhausted (ev unchanged).  A line with n
 * recipients gives n delivery events:
 *	do { ...ev... } while (mlog_next_recipient(&ev));
 */
int	 mlog_next_recipient(struct mlog_event *ev);

/*
 * A stable 64-bit identity of a line's bytes (for idempotent storage):
 * the same on every machine and in every release (it is stored).
 */
uint64_t mlog_line_hash(const char *line, size_t len);

/*
 * The identity of one event of a line: line_hash itself for the line's
 * first recipient, a distinct value for each further one, so that the
 * store's (time, hash) key keeps every recipient of a multi-recipient line.
 */
uint64_t mlog_event_hash(uint64_t line_hash, const struct mlog_event *ev);

/* Names as stored in the journal: "sent", "deferred", ...; "delivery", ... */
const char *mlog_status_name(enum mlog_status s);
const char *mlog_kind_name(enum mlog_kind k);
const char *mlog_mta_name(enum mlog_mta m);

#endif
