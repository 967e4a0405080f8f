/*
 * config.h - mailtrail's configuration: one libconfig file, one table.
 *
 * Every option is defined once, in the table in config.c: its path in the
 * file, type, default, bounds and a one-line description.  The table drives
 * parsing, validation, "mailtrail-milter -n" and the dump of effective
 * values.  etc/mailtrail.conf and mailtrail.conf(5) document the same table.
 *
 * A loaded configuration is immutable and reference-counted: the daemon
 * swaps a new snapshot in whole on reload, and each connection keeps the
 * snapshot it started with.  config_ref/config_unref are thread-safe; nothing
 * else here is.
 */
#ifndef MAILTRAIL_CONFIG_H
#define MAILTRAIL_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "mailtrail/cidr.h"

enum mt_on_error {
	MT_ON_ERROR_ACCEPT = 0,		/* let the message through */
	MT_ON_ERROR_TEMPFAIL		/* ask the client to retry later */
};

/* dmarc.enforce: what a DMARC failure may do to the message. */
enum mt_dmarc_enforce {
	MT_DMARC_ENFORCE_OFF = 0,	/* record and report only */
	MT_DMARC_ENFORCE_QUARANTINE,	/* quarantine (MTA hold) what the
					   policy would quarantine or reject */
	MT_DMARC_ENFORCE_REJECT		/* reject p=reject, quarantine
					   p=quarantine */
};

enum mt_durability {
	MT_DURABILITY_FULL = 0,		/* committed before the EOM reply */
	MT_DURABILITY_NORMAL		/* group commit every interval */
};

/* Where the log follower starts in a file it has no stored position for. */
enum mt_log_start {
	MT_LOG_START_END = 0,		/* only lines written from now on */
	MT_LOG_START_BEGINNING		/* the whole file */
};

enum mt_noreply {
	MT_NOREPLY_AUTO = 0,		/* on for unix: sockets, off for inet: */
	MT_NOREPLY_ON,
	MT_NOREPLY_OFF
};

struct mt_config {
	char		*path;		/* file loaded; NULL = built-in defaults */

	/* milter { } */
	char		*socket;		/* "unix:/path", "inet:port@host", "inet6:..." */
	unsigned	 socket_mode;		/* permission bits of a unix: socket */
	enum mt_noreply	 no_reply;		/* SMFIP_NR_* negotiation */
	int		 tcp_nodelay;		/* TCP_NODELAY on inet: listeners */
	int		 milter_timeout;	/* seconds; smfi_settimeout */
	int		 backlog;		/* listen(2) backlog */
	int		 shutdown_timeout_ms;	/* SIGTERM: wait for sessions */
	char		*user;			/* drop privileges to; "" = don't */
	char		*group;			/* "" = the user's primary group */
	char		*pid_file;		/* "" = none */

	/* journal { } */
	char		*journal_path;
	enum mt_durability durability;
	int		 commit_interval_ms;	/* durability normal: group commit period */
	int		 commit_timeout_ms;	/* durability full: longest EOM wait */
	size_t		 queue_max_records;	/* bound of the writer queue */
	size_t		 queue_max_bytes;
	unsigned	 journal_mode;		/* file mode of a new journal (0640) */

	/* tracking { } */
	char		*tracking_header;	/* "X-Mailtrail-ID" */

	/* authres { } */
	char		*authserv_id;		/* RFC 8601 authserv-id; default host name */
	int		 remove_forged_authres;	/* drop forged A-R headers */

	/* spf { } */
	int		 spf_enabled;
	int		 spf_timeout_ms;	/* per DNS query attempt */
	int		 spf_attempts;
	int		 spf_deadline_ms;	/* whole evaluation */
	int		 spf_skip_trusted;
	int		 spf_skip_authenticated;
	int		 spf_received_header;	/* add Received-SPF */

	/* dkim { } */
	int		 dkim_enabled;
	size_t		 dkim_max_signatures;
	int		 dkim_min_key_bits;
	int		 dkim_timeout_ms;	/* key lookups of one message */

	/* dmarc { } */
	int		 dmarc_enabled;
	int		 dmarc_timeout_ms;	/* the lookups of one message */
	enum mt_dmarc_enforce dmarc_enforce;
	char		*dmarc_reject_reply;	/* "550 5.7.1 ... %d ... %r" */
	char		*dmarc_local_domains;	/* "a.example, b.example" */

	/* top level */
	struct mt_cidr	*trusted;		/* trusted_networks */
	size_t		 n_trusted;
	enum mt_on_error on_error;

	/* capture { } */
	int		 record_subject;	/* store the Subject header */

	/* limits { } */
	size_t		 max_value_length;	/* any one stored value, bytes */
	size_t		 max_recipients;	/* recipients recorded per message */
	size_t		 max_unknown_commands;	/* unknown commands kept per connection */
	size_t		 max_header_edits;	/* removed headers recorded per message */

	/* delivery { } */
	char		*maillog;		/* the MTA's log to follow; "" = off */
	int		 maillog_poll_ms;	/* checks for growth and rotation */
	enum mt_log_start maillog_start;	/* first run, no stored position */
	char		*maillog_tz;		/* "local", "UTC" or +HHMM / -HH:MM */
	int		 maillog_batch_ms;	/* longest wait before handing over */
	size_t		 maillog_batch_max;	/* events per journal record */
	int		 bounces;		/* parse returning bounces at EOM */
	size_t		 bounce_max_bytes;	/* bytes kept per candidate message */

	/* log { } */
	int		 log_level;		/* syslog level, LOG_INFO */
	int		 log_facility;		/* syslog facility, LOG_MAIL */

	/* private: reference count */
	int		 refs;
};

/*
 * The built-in defaults.  NULL only on allocation failure.  Caller owns one
 * reference.
 */
struct mt_config *config_defaults(void);

/*
 * Load and validate a file.  On error returns NULL and writes
 * "FILE:LINE: KEY: what is wrong" (or "FILE: reason" when there is no line)
 * into err.  Caller owns one reference of the result.
 */
struct mt_config *config_load(const char *path, char *err, size_t errlen);

/*
 * Apply "key=value" overrides given on the command line (e.g. from -p, -j),
 * where key is the option's path ("milter.socket").  Returns 0, or -1 with a
 * message in err.
 */
int	 config_set(struct mt_config *cfg, const char *key, const char *value,
	    char *err, size_t errlen);

/* Take another reference; returns cfg. */
struct mt_config *config_ref(struct mt_config *cfg);

/* Drop a reference; the last one frees.  NULL is a no-op. */
void	 config_unref(struct mt_config *cfg);

/* Print every option with its effective value, in libconfig syntax. */
void	 config_dump(const struct mt_config *cfg, FILE *fp);

/*
 * The option table, for tests and documentation checks: the number of
 * options, and the path ("journal.durability") of option i, or NULL when i
 * is out of range.  The strings are static.
 */
size_t	 config_option_count(void);
const char *config_option_path(size_t i);

/*
 * Parse a delivery.tz value: "local" (sets *local = 1), "UTC", "Z", or an
 * offset "+HHMM", "-HHMM", "+HH:MM", "-HH:MM" up to 14 hours (sets
 * *offset_s, east positive).  0, or -1 when the text is none of those.
 */
int	 config_tz_parse(const char *text, int *local, int *offset_s);

/* 1 when the client address is in trusted_networks. */
struct sockaddr;
int	 config_is_trusted(const struct mt_config *cfg, const struct sockaddr *sa);

#endif
