/*
 * config.c - mailtrail's configuration: one libconfig file, one table.
 *
 * The options[] table below is the only place an option is defined: its
 * path in the file ("journal.durability"), type, default, bounds, where it
 * lives in struct mt_config, and a one-line description.  Everything else
 * is driven by the table:
 *
 *   config_defaults()  applies each default through the same text parser
 *                      that config_set() uses, so defaults are validated too;
 *   config_load()      reads the file with libconfig, walks the whole tree
 *                      and checks every setting against the table (unknown
 *                      keys and groups, types, bounds, names, networks);
 *   config_set()       applies one "path=value" override from the command
 *                      line, parsing the value from text;
 *   config_dump()      prints every option with its effective value in
 *                      libconfig syntax, grouped, with the description as a
 *                      comment ("mailtrail-milter -n").
 *
 * etc/mailtrail.conf and mailtrail.conf(5) document the same table; the unit
 * test checks that they name every option and agree on the defaults.
 *
 * Errors name the place and the option: "FILE:LINE: KEY: what is wrong
 * (allowed: ...)", with KEY the full path.  The tree is walked in file
 * order and the first error is reported, so the line is the first bad one.
 *
 * Invariants: a struct mt_config returned by this module holds a valid,
 * heap-owned value for every option (strings are never NULL) and is not
 * changed once shared.  Table paths are "key" or "group.key", and the
 * options of one group are contiguous (config_dump relies on both).
 *
 * Thread safety: config_ref and config_unref are thread-safe (atomic
 * counter); config_set must only be used before the snapshot is shared.
 * Everything else touches only its own arguments.
 *
 * Working around libconfig 1.5 (Debian 12):
 *  - it keeps an integer literal without the L suffix in 32 bits and
 *    silently truncates a larger one; we look at the literal in the file
 *    text and refuse it (literal_truncated);
 *  - it refuses a setting given twice as a bare "duplicate setting name"
 *    parse error; we work out the option from the tree it leaves behind
 *    and the error line (dup_describe), and fall back to its text;
 *  - @include is refused: invariant 7 says one file.
 * The file is read whole (capped at CONFIG_FILE_MAX) and parsed from
 * memory, so the text is at hand for both.
 */
#include <sys/stat.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mailtrail/authres.h"
#include "mailtrail/cidr.h"
#include "mailtrail/config.h"
#include "mailtrail/escape.h"
#include "mailtrail/log.h"
#include "mailtrail/sdjournal.h"

/* Hard caps. */
#define CONFIG_FILE_MAX		(1024 * 1024)	/* bytes in a config file */
#define CONFIG_CIDR_MAX		4096		/* trusted_networks entries */
#define CONFIG_KEY_MAX		128		/* a setting's full path */
#define CONFIG_WHY_MAX		256		/* one "what is wrong" text */
#define CONFIG_ALLOWED_MAX	512		/* one "allowed: ..." text */
#define CONFIG_SHOW_MAX		80		/* a bad value, as quoted */
#define CONFIG_DEPTH_MAX	16		/* group nesting looked at */

#define HEADER_NAME_MAX		64
#define AUTHSERV_ID_MAX		255
#define ACCOUNT_NAME_MAX	64
#define HOST_NAME_MAX_TEXT	255

enum opt_type {
	OPT_STRING,	/* char *; optional check() */
	OPT_BOOL,	/* int, 0 or 1 */
	OPT_INT,	/* int, [min, max] */
	OPT_MS,		/* int, milliseconds, [min, max] */
	OPT_COUNT,	/* size_t, [min, max] */
	OPT_SIZE,	/* size_t, bytes, [min, max]; 64-bit literals welcome */
	OPT_MODE,	/* unsigned, permission bits as an octal string */
	OPT_ENUM,	/* int (a C enum), one of names[] */
	OPT_LOG_LEVEL,	/* int, syslog level by name (log.c parses) */
	OPT_FACILITY,	/* int, syslog facility by name (log.c parses) */
	OPT_CIDRS	/* struct mt_cidr * at offset, size_t at count_offset */
};

/* OPT_STRING flags. */
#define OPTF_HOSTNAME	0x01	/* "" stands for gethostname() */

struct opt_name {
	const char	*name;
	int		 value;
};

typedef int	(*opt_check_fn)(const char *, char *, size_t);

struct conf_option {
	const char		*path;		/* "group.key" or "key" */
	enum opt_type		 type;
	size_t			 offset;	/* into struct mt_config */
	size_t			 count_offset;	/* OPT_CIDRS: the count */
	const char		*def;		/* default, as text */
	long long		 min, max;	/* numeric types */
	const struct opt_name	*names;		/* OPT_ENUM */
	opt_check_fn		 check;		/* OPT_STRING, may be NULL */
	const char		*allowed;	/* OPT_STRING: what passes */
	int			 flags;
	const char		*doc;		/* one line, no newline */
};

static int	 check_socket(const char *, char *, size_t);
static int	 check_account(const char *, char *, size_t);
static int	 check_abs_or_empty(const char *, char *, size_t);
static int	 check_maillog(const char *, char *, size_t);
static int	 check_nonempty(const char *, char *, size_t);
static int	 check_header_name(const char *, char *, size_t);
static int	 check_authserv_id(const char *, char *, size_t);
static int	 check_tz(const char *, char *, size_t);
static int	 check_reply(const char *, char *, size_t);
static int	 check_domains(const char *, char *, size_t);

static const struct opt_name noreply_names[] = {
	{ "auto", MT_NOREPLY_AUTO }, { "on", MT_NOREPLY_ON },
	{ "off", MT_NOREPLY_OFF }, { NULL, 0 }
};
static const struct opt_name durability_names[] = {
	{ "full", MT_DURABILITY_FULL }, { "normal", MT_DURABILITY_NORMAL },
	{ NULL, 0 }
};
static const struct opt_name log_start_names[] = {
	{ "end", MT_LOG_START_END }, { "beginning", MT_LOG_START_BEGINNING },
	{ NULL, 0 }
};
static const struct opt_name dmarc_enforce_names[] = {
	{ "off", MT_DMARC_ENFORCE_OFF },
	{ "quarantine", MT_DMARC_ENFORCE_QUARANTINE },
	{ "reject", MT_DMARC_ENFORCE_REJECT }, { NULL, 0 }
};
static const struct opt_name on_error_names[] = {
	{ "accept", MT_ON_ERROR_ACCEPT }, { "tempfail", MT_ON_ERROR_TEMPFAIL },
	{ NULL, 0 }
};
/* Canonical names; the values come from log.c's parsers. */
static const char *const level_names[] = {
	"err", "warning", "notice", "info", "debug", NULL
};
static const char *const facility_names[] = {
	"mail", "daemon", "user", "local0", "local1", "local2", "local3",
	"local4", "local5", "local6", "local7", NULL
};

/* Enum fields are stored through an int lvalue. */
_Static_assert(sizeof(enum mt_noreply) == sizeof(int), "enum size");
_Static_assert(sizeof(enum mt_durability) == sizeof(int), "enum size");
_Static_assert(sizeof(enum mt_on_error) == sizeof(int), "enum size");
_Static_assert(sizeof(enum mt_log_start) == sizeof(int), "enum size");
_Static_assert(sizeof(enum mt_dmarc_enforce) == sizeof(int), "enum size");

#define F(field)	offsetof(struct mt_config, field)

static const struct conf_option options[] = {
	/* milter { } */
	{ .path = "milter.socket", .type = OPT_STRING, .offset = F(socket),
	  .def = "unix:/run/mailtrail/milter.sock", .check = check_socket,
	  .allowed = "unix:/PATH, local:/PATH, inet:PORT, inet:PORT@HOST, "
	    "inet6:PORT@HOST; PORT 1..65535",
	  .doc = "Where the milter listens: unix:/PATH, inet:PORT@HOST or "
	    "inet6:PORT@HOST." },
	{ .path = "milter.socket_mode", .type = OPT_MODE,
	  .offset = F(socket_mode), .def = "0660",
	  .doc = "Permission bits of a unix: socket (octal string); the "
	    "MTA's user must be able to connect." },
	{ .path = "milter.no_reply_flags", .type = OPT_ENUM,
	  .offset = F(no_reply), .def = "auto", .names = noreply_names,
	  .doc = "Negotiate the milter no-reply flags (header and body steps "
	    "only): auto = on for unix: sockets, off for inet:." },
	{ .path = "milter.tcp_nodelay", .type = OPT_BOOL,
	  .offset = F(tcp_nodelay), .def = "true",
	  .doc = "Set TCP_NODELAY on inet: listening sockets (avoids "
	    "Nagle delays on small packets)." },
	{ .path = "milter.timeout", .type = OPT_INT,
	  .offset = F(milter_timeout), .def = "7210", .min = 1, .max = 86400,
	  .doc = "libmilter's I/O timeout towards the MTA, in seconds." },
	{ .path = "milter.shutdown_timeout", .type = OPT_MS,
	  .offset = F(shutdown_timeout_ms), .def = "10000", .min = 0,
	  .max = 600000,
	  .doc = "On SIGTERM, longest wait for open MTA sessions to end, in "
	    "milliseconds; those still open are journaled as cut off." },
	{ .path = "milter.backlog", .type = OPT_INT, .offset = F(backlog),
	  .def = "64", .min = 1, .max = 65535,
	  .doc = "listen(2) backlog of the milter socket." },
	{ .path = "milter.user", .type = OPT_STRING, .offset = F(user),
	  .def = "", .check = check_account,
	  .allowed = "\"\" or a name of 1..64 printable characters "
	    "without space or ':'",
	  .doc = "User to run as when started as root; \"\" = do not "
	    "change user." },
	{ .path = "milter.group", .type = OPT_STRING, .offset = F(group),
	  .def = "", .check = check_account,
	  .allowed = "\"\" or a name of 1..64 printable characters "
	    "without space or ':'",
	  .doc = "Group to run as; \"\" = the user's primary group." },
	{ .path = "milter.pid_file", .type = OPT_STRING, .offset = F(pid_file),
	  .def = "", .check = check_abs_or_empty,
	  .allowed = "\"\" or an absolute path",
	  .doc = "File the daemon writes its process ID to; \"\" = none." },

	/* journal { } */
	{ .path = "journal.path", .type = OPT_STRING,
	  .offset = F(journal_path), .def = "/var/lib/mailtrail/journal.db",
	  .check = check_nonempty, .allowed = "a non-empty path",
	  .doc = "The SQLite journal database file." },
	{ .path = "journal.durability", .type = OPT_ENUM,
	  .offset = F(durability), .def = "full", .names = durability_names,
	  .doc = "full = each record is committed before the end-of-message "
	    "reply; normal = group commit." },
	{ .path = "journal.commit_interval", .type = OPT_MS,
	  .offset = F(commit_interval_ms), .def = "200", .min = 1,
	  .max = 60000,
	  .doc = "Group commit period under durability normal, in "
	    "milliseconds (a crash can lose one)." },
	{ .path = "journal.commit_timeout", .type = OPT_MS,
	  .offset = F(commit_timeout_ms), .def = "5000", .min = 10,
	  .max = 250000,
	  .doc = "Longest end-of-message wait for the commit under "
	    "durability full, in milliseconds." },
	{ .path = "journal.queue_max_records", .type = OPT_COUNT,
	  .offset = F(queue_max_records), .def = "10000", .min = 1,
	  .max = 10000000,
	  .doc = "Most records waiting for the journal writer; beyond, "
	    "on_error applies." },
	{ .path = "journal.queue_max_bytes", .type = OPT_SIZE,
	  .offset = F(queue_max_bytes), .def = "67108864", .min = 65536,
	  .max = 8589934592LL,
	  .doc = "Most bytes of records waiting for the journal writer; "
	    "beyond, on_error applies." },
	{ .path = "journal.mode", .type = OPT_MODE, .offset = F(journal_mode),
	  .def = "0640",
	  .doc = "Permission bits of a newly created journal file (octal "
	    "string)." },

	/* tracking { } */
	{ .path = "tracking.header", .type = OPT_STRING,
	  .offset = F(tracking_header), .def = "X-Mailtrail-ID",
	  .check = check_header_name,
	  .allowed = "a header field name: 1..64 printable ASCII characters "
	    "except ':'",
	  .doc = "Name of the tracking header added to each message." },

	/* authres { } */
	{ .path = "authres.authserv_id", .type = OPT_STRING,
	  .offset = F(authserv_id), .def = "", .check = check_authserv_id,
	  .flags = OPTF_HOSTNAME,
	  .allowed = "\"\" or a dot-atom of letters, digits and "
	    "!#$%&'*+-^_`{|}~ (one RFC 2045 token: no / = ?), at most 255 "
	    "characters",
	  .doc = "authserv-id of our Authentication-Results headers "
	    "(RFC 8601); \"\" = this host's name." },
	{ .path = "authres.remove_forged", .type = OPT_BOOL,
	  .offset = F(remove_forged_authres), .def = "true",
	  .doc = "Remove Authentication-Results headers claiming our "
	    "authserv-id from untrusted clients." },

	/* spf { } */
	{ .path = "spf.enabled", .type = OPT_BOOL, .offset = F(spf_enabled),
	  .def = "true",
	  .doc = "Evaluate SPF for the MAIL FROM and HELO identities." },
	{ .path = "spf.timeout", .type = OPT_MS, .offset = F(spf_timeout_ms),
	  .def = "2000", .min = 100, .max = 30000,
	  .doc = "Timeout of one DNS query attempt, in milliseconds "
	    "(read at start-up)." },
	{ .path = "spf.attempts", .type = OPT_INT, .offset = F(spf_attempts),
	  .def = "2", .min = 1, .max = 5,
	  .doc = "Attempts per DNS query (read at start-up)." },
	{ .path = "spf.deadline", .type = OPT_MS, .offset = F(spf_deadline_ms),
	  .def = "10000", .min = 100, .max = 120000,
	  .doc = "Longest time for one SPF evaluation and all its lookups, "
	    "in milliseconds; then temperror (read at start-up)." },
	{ .path = "spf.skip_trusted", .type = OPT_BOOL,
	  .offset = F(spf_skip_trusted), .def = "true",
	  .doc = "Skip SPF for clients in trusted_networks (recorded as "
	    "skipped)." },
	{ .path = "spf.skip_authenticated", .type = OPT_BOOL,
	  .offset = F(spf_skip_authenticated), .def = "true",
	  .doc = "Skip SPF for SMTP AUTH clients (recorded as skipped)." },
	{ .path = "spf.received_spf_header", .type = OPT_BOOL,
	  .offset = F(spf_received_header), .def = "false",
	  .doc = "Also add a Received-SPF header (RFC 7208 section 9.1)." },

	/* dkim { } */
	{ .path = "dkim.enabled", .type = OPT_BOOL, .offset = F(dkim_enabled),
	  .def = "true",
	  .doc = "Verify the DKIM signatures of each message." },
	{ .path = "dkim.max_signatures", .type = OPT_COUNT,
	  .offset = F(dkim_max_signatures), .def = "5", .min = 1, .max = 50,
	  .doc = "Signatures verified and recorded per message." },
	{ .path = "dkim.min_key_bits", .type = OPT_INT,
	  .offset = F(dkim_min_key_bits), .def = "1024", .min = 512,
	  .max = 8192,
	  .doc = "Smallest RSA key that can pass (RFC 8301: 1024); smaller "
	    "ones give policy." },
	{ .path = "dkim.timeout", .type = OPT_MS, .offset = F(dkim_timeout_ms),
	  .def = "10000", .min = 100, .max = 120000,
	  .doc = "Longest time for the key lookups of one message, in "
	    "milliseconds; then temperror." },

	/* dmarc { } */
	{ .path = "dmarc.enabled", .type = OPT_BOOL, .offset = F(dmarc_enabled),
	  .def = "true",
	  .doc = "Evaluate DMARC for each message (after SPF and DKIM) and "
	    "record it." },
	{ .path = "dmarc.timeout", .type = OPT_MS,
	  .offset = F(dmarc_timeout_ms), .def = "5000", .min = 100,
	  .max = 120000,
	  .doc = "Longest time for the policy lookups of one message, in "
	    "milliseconds; then temperror." },
	{ .path = "dmarc.enforce", .type = OPT_ENUM, .offset = F(dmarc_enforce),
	  .def = "off", .names = dmarc_enforce_names,
	  .doc = "What a DMARC failure does: off (record only), quarantine "
	    "or reject." },
	{ .path = "dmarc.reject_reply", .type = OPT_STRING,
	  .offset = F(dmarc_reject_reply),
	  .def = "550 5.7.1 DMARC policy of %d: %r", .check = check_reply,
	  .allowed = "a 5xx code, an optional x.y.z status, printable text; "
	    "%d the From: domain, %r the reason",
	  .doc = "Reply when dmarc.enforce = reject rejects; %d is the From: "
	    "domain, %r the reason." },
	{ .path = "dmarc.local_domains", .type = OPT_STRING,
	  .offset = F(dmarc_local_domains), .def = "",
	  .check = check_domains,
	  .allowed = "domain names separated by commas or spaces",
	  .doc = "Your own domains, for reports (comma separated)." },

	/* top level */
	{ .path = "trusted_networks", .type = OPT_CIDRS, .offset = F(trusted),
	  .count_offset = F(n_trusted), .def = "127.0.0.0/8, ::1/128",
	  .doc = "Clients whose tracking and Authentication-Results headers "
	    "are kept (CIDR list)." },
	{ .path = "on_error", .type = OPT_ENUM, .offset = F(on_error),
	  .def = "accept", .names = on_error_names,
	  .doc = "Reply when mailtrail fails internally: accept (mail flows "
	    "on) or tempfail." },

	/* capture { } */
	{ .path = "capture.subject", .type = OPT_BOOL,
	  .offset = F(record_subject), .def = "true",
	  .doc = "Record the Subject header of each message." },

	/* limits { } */
	{ .path = "limits.max_value_length", .type = OPT_SIZE,
	  .offset = F(max_value_length), .def = "4096", .min = 64,
	  .max = 1048576,
	  .doc = "Longest value stored from SMTP, in bytes; longer values "
	    "are truncated." },
	{ .path = "limits.max_recipients", .type = OPT_COUNT,
	  .offset = F(max_recipients), .def = "1000", .min = 1, .max = 100000,
	  .doc = "Recipients recorded per message; further ones are only "
	    "counted." },
	{ .path = "limits.max_unknown_commands", .type = OPT_COUNT,
	  .offset = F(max_unknown_commands), .def = "20", .min = 0,
	  .max = 1000,
	  .doc = "Unknown SMTP commands recorded per connection." },
	{ .path = "limits.max_header_edits", .type = OPT_COUNT,
	  .offset = F(max_header_edits), .def = "50", .min = 1, .max = 10000,
	  .doc = "Removed (forged) headers recorded per message." },

	/* delivery { } */
	{ .path = "delivery.maillog", .type = OPT_STRING, .offset = F(maillog),
	  .def = "", .check = check_maillog,
	  .allowed = "\"\", an absolute path, \"systemd-journal:\" or "
	    "\"systemd-journal:/DIRECTORY\"",
	  .doc = "The MTA's mail log to follow for delivery events: a file, "
	    "or the systemd journal (its mail facility); \"\" = no "
	    "follower." },
	{ .path = "delivery.poll_interval", .type = OPT_MS,
	  .offset = F(maillog_poll_ms), .def = "250", .min = 10, .max = 60000,
	  .doc = "How often the follower checks the log for new lines and "
	    "rotation, in milliseconds." },
	{ .path = "delivery.start", .type = OPT_ENUM,
	  .offset = F(maillog_start), .def = "end", .names = log_start_names,
	  .doc = "Where to start in a log with no stored position: end (new "
	    "lines only) or beginning." },
	{ .path = "delivery.tz", .type = OPT_STRING, .offset = F(maillog_tz),
	  .def = "local", .check = check_tz,
	  .allowed = "\"local\", \"UTC\" or an offset such as \"+0100\" or "
	    "\"-05:00\"",
	  .doc = "Time zone of classic syslog stamps (no zone in the line): "
	    "local, UTC or an offset." },
	{ .path = "delivery.batch_interval", .type = OPT_MS,
	  .offset = F(maillog_batch_ms), .def = "200", .min = 10,
	  .max = 60000,
	  .doc = "Longest time log events wait before they are handed to the "
	    "journal, in milliseconds." },
	{ .path = "delivery.batch_max", .type = OPT_COUNT,
	  .offset = F(maillog_batch_max), .def = "1000", .min = 1,
	  .max = 4096,
	  .doc = "Most log events in one journal record (one transaction with "
	    "the position)." },
	{ .path = "delivery.bounces", .type = OPT_BOOL, .offset = F(bounces),
	  .def = "true",
	  .doc = "Parse returning bounces (DSNs) at end-of-message and record "
	    "what they report." },
	{ .path = "delivery.bounce_max_bytes", .type = OPT_SIZE,
	  .offset = F(bounce_max_bytes), .def = "1048576", .min = 4096,
	  .max = 4194304,
	  .doc = "Bytes of a possible bounce kept in memory for parsing; the "
	    "rest is not read." },

	/* log { } */
	{ .path = "log.level", .type = OPT_LOG_LEVEL, .offset = F(log_level),
	  .def = "info",
	  .doc = "Least important messages logged: err, warning, notice, "
	    "info or debug." },
	{ .path = "log.facility", .type = OPT_FACILITY,
	  .offset = F(log_facility), .def = "mail",
	  .doc = "Syslog facility: mail, daemon, user or local0..local7." },
};

#define NOPTIONS	(sizeof(options) / sizeof(options[0]))

/* One load in progress. */
struct loader {
	struct mt_config	*cfg;
	const char		*path;		/* for messages */
	const char		*text;		/* the file, NUL-terminated */
	size_t			 len;
	char			*err;
	size_t			 errlen;
	int			 host_id_line;	/* authserv_id set to "" here;
						   -1 when set to a value */
};

/* ------------------------------------------------------------ table access */

size_t
config_option_count(void)
{
	return NOPTIONS;
}

const char *
config_option_path(size_t i)
{
	return i < NOPTIONS ? options[i].path : NULL;
}

static const struct conf_option *
option_find(const char *path)
{
	size_t	 i;

	for (i = 0; i < NOPTIONS; i++)
		if (strcmp(options[i].path, path) == 0)
			return &options[i];
	return NULL;
}

/* 1 when some option lives below the group path ("milter"). */
static int
group_exists(const char *path)
{
	size_t	 i, n = strlen(path);

	for (i = 0; i < NOPTIONS; i++)
		if (strncmp(options[i].path, path, n) == 0 &&
		    options[i].path[n] == '.')
			return 1;
	return 0;
}

static char **
str_at(struct mt_config *cfg, const struct conf_option *o)
{
	return (char **)(void *)((char *)cfg + o->offset);
}

static int *
int_at(struct mt_config *cfg, const struct conf_option *o)
{
	return (int *)(void *)((char *)cfg + o->offset);
}

static unsigned *
uns_at(struct mt_config *cfg, const struct conf_option *o)
{
	return (unsigned *)(void *)((char *)cfg + o->offset);
}

static size_t *
size_at(struct mt_config *cfg, size_t offset)
{
	return (size_t *)(void *)((char *)cfg + offset);
}

static struct mt_cidr **
cidrs_at(struct mt_config *cfg, const struct conf_option *o)
{
	return (struct mt_cidr **)(void *)((char *)cfg + o->offset);
}

/* Const views for config_dump. */
#define CSTR(cfg, o)	(*str_at((struct mt_config *)(cfg), (o)))
#define CINT(cfg, o)	(*int_at((struct mt_config *)(cfg), (o)))

/* ------------------------------------------------------------ messages */

static void
fmt_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fmt_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
why_set(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fill the "what is wrong" text; always returns -1. */
static int
why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list	 ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A value quoted for a message: escaped and cut. */
static const char *
show(char *buf, size_t bufsz, const char *value)
{
	return mt_escape(buf, bufsz, value, strlen(value));
}

static void
join_names(char *buf, size_t bufsz, const char *const *names)
{
	size_t	 i, o = 0;
	int	 n;

	buf[0] = '\0';
	for (i = 0; names[i] != NULL && o < bufsz; i++) {
		n = snprintf(buf + o, bufsz - o, "%s%s", i > 0 ? ", " : "",
		    names[i]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

/* What an option accepts, for "(allowed: ...)". */
static const char *
opt_allowed(const struct conf_option *o, char *buf, size_t bufsz)
{
	const char	*names[16];
	size_t		 i;

	switch (o->type) {
	case OPT_STRING:
		return o->allowed != NULL ? o->allowed : "a string";
	case OPT_BOOL:
		return "true, false";
	case OPT_INT:
	case OPT_MS:
	case OPT_COUNT:
	case OPT_SIZE:
		snprintf(buf, bufsz, "%lld..%lld", o->min, o->max);
		return buf;
	case OPT_MODE:
		return "an octal string from \"0000\" to \"0777\"";
	case OPT_ENUM:
		for (i = 0; o->names[i].name != NULL && i + 1 < 16; i++)
			names[i] = o->names[i].name;
		names[i] = NULL;
		join_names(buf, bufsz, names);
		return buf;
	case OPT_LOG_LEVEL:
		join_names(buf, bufsz, level_names);
		return buf;
	case OPT_FACILITY:
		join_names(buf, bufsz, facility_names);
		return buf;
	case OPT_CIDRS:
		return "IPv4 or IPv6 networks such as \"192.0.2.0/24\" or "
		    "\"2001:db8::/32\", or bare addresses";
	}
	return "?";
}

/*
 * The names allowed next to an unknown key, for "(allowed ...)": "in
 * milter: socket, ..." or "at top level: milter, journal, ...".
 */
static void
keys_allowed(const char *key, char *buf, size_t bufsz)
{
	const char	*dot, *p, *q;
	size_t		 plen, i, j, o, clen;
	int		 n, listed = 0;

	dot = strrchr(key, '.');
	plen = dot != NULL ? (size_t)(dot - key) + 1 : 0;
	if (plen > 0)
		n = snprintf(buf, bufsz, "in %.*s: ", (int)plen - 1, key);
	else
		n = snprintf(buf, bufsz, "at top level: ");
	if (n < 0 || (size_t)n >= bufsz)
		return;
	o = (size_t)n;
	for (i = 0; i < NOPTIONS && o < bufsz; i++) {
		if (strncmp(options[i].path, key, plen) != 0)
			continue;
		p = options[i].path + plen;
		clen = (q = strchr(p, '.')) != NULL ? (size_t)(q - p) :
		    strlen(p);
		/* Skip a component already listed. */
		for (j = 0; j < i; j++)
			if (strncmp(options[j].path, key, plen) == 0 &&
			    strncmp(options[j].path + plen, p, clen) == 0 &&
			    (options[j].path[plen + clen] == '\0' ||
			    options[j].path[plen + clen] == '.'))
				break;
		if (j < i)
			continue;
		n = snprintf(buf + o, bufsz - o, "%s%.*s", listed ? ", " : "",
		    (int)clen, p);
		if (n < 0)
			break;
		o += (size_t)n;
		listed = 1;
	}
}

/* ------------------------------------------------------------ checks */

static int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 1;
	return 0;
}

/* Decimal port 1..65535 over [s, e). */
static int
parse_port(const char *s, const char *e)
{
	long	 v = 0;

	if (s == e || e - s > 5)
		return -1;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

static int
check_socket(const char *v, char *why, size_t whylen)
{
	const char	*rest, *at;
	size_t		 i;

	if (strncmp(v, "unix:", 5) == 0 || strncmp(v, "local:", 6) == 0) {
		rest = v + (v[0] == 'u' ? 5 : 6);
		if (*rest != '/')
			return why_set(why, whylen,
			    "a unix: socket needs an absolute path");
		/* sizeof(((struct sockaddr_un *)0)->sun_path) is 108. */
		if (strlen(rest) > 107)
			return why_set(why, whylen,
			    "socket path longer than 107 bytes");
		return 0;
	}
	if (strncmp(v, "inet:", 5) == 0)
		rest = v + 5;
	else if (strncmp(v, "inet6:", 6) == 0)
		rest = v + 6;
	else
		return why_set(why, whylen, "unknown socket type");
	at = strchr(rest, '@');
	if (parse_port(rest, at != NULL ? at : rest + strlen(rest)) < 0)
		return why_set(why, whylen, "bad port");
	if (at == NULL)
		return 0;
	if (at[1] == '\0')
		return why_set(why, whylen, "empty host after \"@\"");
	if (strlen(at + 1) > HOST_NAME_MAX_TEXT)
		return why_set(why, whylen, "host too long");
	for (i = 1; at[i] != '\0'; i++)
		if ((unsigned char)at[i] <= ' ' ||
		    (unsigned char)at[i] >= 0x7f)
			return why_set(why, whylen, "bad character in host");
	return 0;
}

static int
check_account(const char *v, char *why, size_t whylen)
{
	size_t	 i;

	if (strlen(v) > ACCOUNT_NAME_MAX)
		return why_set(why, whylen, "name too long");
	for (i = 0; v[i] != '\0'; i++)
		if ((unsigned char)v[i] <= ' ' ||
		    (unsigned char)v[i] >= 0x7f || v[i] == ':')
			return why_set(why, whylen, "bad character in name");
	return 0;
}

static int
check_abs_or_empty(const char *v, char *why, size_t whylen)
{
	if (*v != '\0' && *v != '/')
		return why_set(why, whylen, "not an absolute path");
	return 0;
}

static int
check_maillog(const char *v, char *why, size_t whylen)
{
	if (sdj_is_spec(v))
		return sdj_check_spec(v, why, whylen) == 0 ? 0 : -1;
	return check_abs_or_empty(v, why, whylen);
}

static int
check_nonempty(const char *v, char *why, size_t whylen)
{
	if (*v == '\0')
		return why_set(why, whylen, "must not be empty");
	return 0;
}

/* dmarc.reject_reply: "5xy", optionally "5.x.y", then printable text. */
static int
check_reply(const char *v, char *why, size_t whylen)
{
	size_t	 i;

	if (v[0] != '5' || v[1] < '0' || v[1] > '9' || v[2] < '0' ||
	    v[2] > '9' || v[3] != ' ')
		return why_set(why, whylen, "must start with a 5xx code and "
		    "a space");
	for (i = 0; v[i] != '\0'; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return why_set(why, whylen, "printable ASCII only");
	if (i > 400)
		return why_set(why, whylen, "longer than 400 characters");
	return 0;
}

/* dmarc.local_domains: LDH names separated by commas and spaces. */
static int
check_domains(const char *v, char *why, size_t whylen)
{
	size_t	 i;

	for (i = 0; v[i] != '\0'; i++) {
		unsigned char c = (unsigned char)v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == ',' || c == ' '))
			return why_set(why, whylen, "not a list of domain "
			    "names");
	}
	return 0;
}

/* RFC 5322 field-name: 1*ftext, ftext = %d33-57 / %d59-126. */
static int
check_header_name(const char *v, char *why, size_t whylen)
{
	size_t	 i;

	if (*v == '\0')
		return why_set(why, whylen, "empty header name");
	if (strlen(v) > HEADER_NAME_MAX)
		return why_set(why, whylen, "header name too long");
	for (i = 0; v[i] != '\0'; i++)
		if ((unsigned char)v[i] < 33 || (unsigned char)v[i] > 126 ||
		    v[i] == ':')
			return why_set(why, whylen,
			    "character not allowed in a header name");
	return 0;
}

int
config_tz_parse(const char *v, int *local, int *offset_s)
{
	int	 sign, hh, mm;

	*local = 0;
	*offset_s = 0;
	if (strcasecmp(v, "local") == 0) {
		*local = 1;
		return 0;
	}
	if (strcasecmp(v, "UTC") == 0 || strcmp(v, "Z") == 0)
		return 0;
	if (v[0] != '+' && v[0] != '-')
		return -1;
	sign = v[0] == '-' ? -1 : 1;
	v++;
	if (v[0] < '0' || v[0] > '9' || v[1] < '0' || v[1] > '9')
		return -1;
	hh = (v[0] - '0') * 10 + (v[1] - '0');
	v += 2;
	if (*v == ':')
		v++;
	if (v[0] < '0' || v[0] > '5' || v[1] < '0' || v[1] > '9' ||
	    v[2] != '\0')
		return -1;
	mm = (v[0] - '0') * 10 + (v[1] - '0');
	if (hh * 60 + mm > 14 * 60)
		return -1;
	*offset_s = sign * (hh * 3600 + mm * 60);
	return 0;
}

static int
check_tz(const char *v, char *why, size_t whylen)
{
	int	 local, off;

	if (config_tz_parse(v, &local, &off) != 0)
		return why_set(why, whylen, "not a time zone offset");
	return 0;
}

/*
 * RFC 8601 authserv-id is a "value" (token or quoted-string).  We write it
 * bare and match forged headers by reading one token, so we accept only a
 * dot-atom that is also a token (authres_valid_authserv_id): '/', '=' and
 * '?' are atext but not token characters, and an id holding one could
 * never be matched (forged headers claiming it would stay).
 */
static int
check_authserv_id(const char *v, char *why, size_t whylen)
{
	size_t	 i;

	if (*v == '\0')
		return 0;	/* stands for the host name */
	if (strlen(v) > AUTHSERV_ID_MAX)
		return why_set(why, whylen, "longer than 255 characters");
	if (v[0] == '.' || v[strlen(v) - 1] == '.')
		return why_set(why, whylen, "leading or trailing dot");
	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] == '.') {
			if (v[i + 1] == '.')
				return why_set(why, whylen,
				    "two dots in a row");
			continue;
		}
		if (!authres_id_char((unsigned char)v[i])) {
			if ((unsigned char)v[i] > 0x20 &&
			    (unsigned char)v[i] < 0x7f)
				return why_set(why, whylen, "character '%c' "
				    "not allowed in an authserv-id (it must "
				    "read back as one RFC 2045 token)", v[i]);
			if (v[i] == ' ' || v[i] == '\t')
				return why_set(why, whylen, "white space not "
				    "allowed in an authserv-id");
			return why_set(why, whylen, "byte 0x%02x not allowed "
			    "in an authserv-id", (unsigned char)v[i]);
		}
	}
	return 0;
}

/*
 * The kernel's host name as the authserv-id, when it can serve as one:
 * set, a valid authserv-id, and not "localhost" (every unconfigured host
 * shares that name, so a header claiming it says nothing about who
 * checked).  0, or -1 with why.
 */
static int
host_authserv_id(char *buf, size_t bufsz, char *why, size_t whylen)
{
	char	 reason[CONFIG_WHY_MAX];

	if (gethostname(buf, bufsz) != 0)
		buf[0] = '\0';
	buf[bufsz - 1] = '\0';
	if (buf[0] == '\0')
		return why_set(why, whylen, "this host has no name");
	if (check_authserv_id(buf, reason, sizeof(reason)) != 0)
		return why_set(why, whylen, "this host's name cannot serve: "
		    "%s", reason);
	if (strcasecmp(buf, "localhost") == 0 ||
	    strncasecmp(buf, "localhost.", 10) == 0)
		return why_set(why, whylen, "this host is called \"%s\"",
		    buf);
	return 0;
}

/* ------------------------------------------------------------ setters */

static int
opt_set_string(struct mt_config *cfg, const struct conf_option *o,
    const char *text, char *why, size_t whylen)
{
	char	 host[HOST_NAME_MAX_TEXT + 2], *copy;
	char	 esc[CONFIG_SHOW_MAX];
	char	 reason[CONFIG_WHY_MAX];

	if (has_control(text))
		return why_set(why, whylen,
		    "bad value \"%s\": contains a control character",
		    show(esc, sizeof(esc), text));
	if (o->check != NULL && o->check(text, reason, sizeof(reason)) != 0)
		return why_set(why, whylen, "bad value \"%s\": %s",
		    show(esc, sizeof(esc), text), reason);
	/*
	 * The built-in default falls back to "localhost" on a host without a
	 * usable name; a configuration file that leaves the option empty
	 * there is refused by config_load(), naming the option.
	 */
	if ((o->flags & OPTF_HOSTNAME) && *text == '\0' &&
	    host_authserv_id(host, sizeof(host), reason, sizeof(reason)) != 0)
		snprintf(host, sizeof(host), "localhost");
	if ((o->flags & OPTF_HOSTNAME) && *text == '\0')
		text = host;
	if ((copy = strdup(text)) == NULL)
		return why_set(why, whylen, "out of memory");
	free(*str_at(cfg, o));
	*str_at(cfg, o) = copy;
	return 0;
}

static int
opt_set_number(struct mt_config *cfg, const struct conf_option *o, long long v,
    char *why, size_t whylen)
{
	if (v < o->min || v > o->max)
		return why_set(why, whylen, "%lld is out of range", v);
	switch (o->type) {
	case OPT_INT:
	case OPT_MS:
		*int_at(cfg, o) = (int)v;
		return 0;
	case OPT_COUNT:
	case OPT_SIZE:
		if ((unsigned long long)v > SIZE_MAX)
			return why_set(why, whylen,
			    "%lld is too large for this system", v);
		*size_at(cfg, o->offset) = (size_t)v;
		return 0;
	default:
		return why_set(why, whylen, "not a number option");
	}
}

/* Takes ownership of list. */
static void
opt_set_cidrs(struct mt_config *cfg, const struct conf_option *o,
    struct mt_cidr *list, size_t n)
{
	free(*cidrs_at(cfg, o));
	*cidrs_at(cfg, o) = list;
	*size_at(cfg, o->count_offset) = n;
}

static int
parse_mode(const char *text, unsigned *out)
{
	size_t		 i, n = strlen(text);
	unsigned	 v = 0;

	if (n < 3 || n > 4)
		return -1;
	for (i = 0; i < n; i++) {
		if (text[i] < '0' || text[i] > '7')
			return -1;
		v = v * 8 + (unsigned)(text[i] - '0');
	}
	if (v > 0777)
		return -1;
	*out = v;
	return 0;
}

/* Decimal integer, optional sign, nothing else.  -1 if not one. */
static int
parse_ll(const char *text, long long *out)
{
	char		*end;
	long long	 v;

	if (!((*text >= '0' && *text <= '9') ||
	    ((*text == '-' || *text == '+') &&
	    text[1] >= '0' && text[1] <= '9')))
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (*end != '\0' || errno == ERANGE)
		return -1;
	*out = v;
	return 0;
}

static int
parse_cidr_list(const char *text, struct mt_cidr **out, size_t *nout,
    char *why, size_t whylen)
{
	struct mt_cidr	*list;
	char		 item[INET6_ADDRSTRLEN + 8], reason[CONFIG_WHY_MAX];
	char		 esc[CONFIG_SHOW_MAX];
	const char	*p, *s, *e;
	size_t		 n, max;

	for (max = 1, p = text; *p != '\0'; p++)
		if (*p == ',')
			max++;
	for (p = text; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '\0') {
		*out = NULL;
		*nout = 0;
		return 0;
	}
	if (max > CONFIG_CIDR_MAX)
		return why_set(why, whylen, "more than %d networks",
		    CONFIG_CIDR_MAX);
	if ((list = calloc(max, sizeof(*list))) == NULL)
		return why_set(why, whylen, "out of memory");
	for (n = 0, p = text;; n++) {
		for (s = p; *s == ' ' || *s == '\t'; s++)
			;
		for (e = s; *e != '\0' && *e != ','; e++)
			;
		p = e;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e == s) {
			free(list);
			return why_set(why, whylen, "element %zu: empty",
			    n + 1);
		}
		if ((size_t)(e - s) >= sizeof(item)) {
			free(list);
			return why_set(why, whylen,
			    "element %zu: bad network: too long", n + 1);
		}
		memcpy(item, s, (size_t)(e - s));
		item[e - s] = '\0';
		if (mt_cidr_parse(item, &list[n], reason, sizeof(reason))
		    != 0) {
			free(list);
			return why_set(why, whylen,
			    "element %zu: bad network \"%s\": %s", n + 1,
			    show(esc, sizeof(esc), item), reason);
		}
		if (*p == '\0')
			break;
		p++;
	}
	*out = list;
	*nout = n + 1;
	return 0;
}

static int
name_lookup(const struct opt_name *names, const char *text, int *out)
{
	size_t	 i;

	for (i = 0; names[i].name != NULL; i++)
		if (strcasecmp(names[i].name, text) == 0) {
			*out = names[i].value;
			return 0;
		}
	return -1;
}

/* Apply a value given as text, as on the command line. */
static int
opt_set_text(struct mt_config *cfg, const struct conf_option *o,
    const char *text, char *why, size_t whylen)
{
	char		 esc[CONFIG_SHOW_MAX];
	struct mt_cidr	*list = NULL;
	long long	 ll;
	unsigned	 mode;
	size_t		 n = 0;
	int		 v;

	switch (o->type) {
	case OPT_STRING:
		return opt_set_string(cfg, o, text, why, whylen);
	case OPT_BOOL:
		if (strcasecmp(text, "true") == 0 ||
		    strcasecmp(text, "yes") == 0)
			*int_at(cfg, o) = 1;
		else if (strcasecmp(text, "false") == 0 ||
		    strcasecmp(text, "no") == 0)
			*int_at(cfg, o) = 0;
		else
			return why_set(why, whylen,
			    "\"%s\" is not a boolean (true, false, yes, no)",
			    show(esc, sizeof(esc), text));
		return 0;
	case OPT_INT:
	case OPT_MS:
	case OPT_COUNT:
	case OPT_SIZE:
		if (parse_ll(text, &ll) != 0)
			return why_set(why, whylen, "\"%s\" is not an integer",
			    show(esc, sizeof(esc), text));
		return opt_set_number(cfg, o, ll, why, whylen);
	case OPT_MODE:
		if (parse_mode(text, &mode) != 0)
			return why_set(why, whylen,
			    "bad value \"%s\": not an octal mode",
			    show(esc, sizeof(esc), text));
		*uns_at(cfg, o) = mode;
		return 0;
	case OPT_ENUM:
		if (name_lookup(o->names, text, &v) != 0)
			break;
		*int_at(cfg, o) = v;
		return 0;
	case OPT_LOG_LEVEL:
		if ((v = mt_log_level_parse(text)) < 0)
			break;
		*int_at(cfg, o) = v;
		return 0;
	case OPT_FACILITY:
		if ((v = mt_log_facility_parse(text)) < 0)
			break;
		*int_at(cfg, o) = v;
		return 0;
	case OPT_CIDRS:
		if (parse_cidr_list(text, &list, &n, why, whylen) != 0)
			return -1;
		opt_set_cidrs(cfg, o, list, n);
		return 0;
	}
	return why_set(why, whylen, "\"%s\" is not a valid value",
	    show(esc, sizeof(esc), text));
}

/* ------------------------------------------------------------ life cycle */

static void
config_free(struct mt_config *cfg)
{
	size_t	 i;

	for (i = 0; i < NOPTIONS; i++) {
		if (options[i].type == OPT_STRING)
			free(*str_at(cfg, &options[i]));
		else if (options[i].type == OPT_CIDRS)
			free(*cidrs_at(cfg, &options[i]));
	}
	free(cfg->path);
	free(cfg);
}

struct mt_config *
config_defaults(void)
{
	struct mt_config	*cfg;
	char			 why[CONFIG_WHY_MAX];
	size_t			 i;

	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return NULL;
	cfg->refs = 1;
	for (i = 0; i < NOPTIONS; i++) {
		/* Fails only on allocation: defaults are tested. */
		if (opt_set_text(cfg, &options[i], options[i].def, why,
		    sizeof(why)) != 0) {
			config_free(cfg);
			return NULL;
		}
	}
	return cfg;
}

struct mt_config *
config_ref(struct mt_config *cfg)
{
	if (cfg != NULL)
		__atomic_add_fetch(&cfg->refs, 1, __ATOMIC_RELAXED);
	return cfg;
}

void
config_unref(struct mt_config *cfg)
{
	if (cfg == NULL)
		return;
	if (__atomic_sub_fetch(&cfg->refs, 1, __ATOMIC_ACQ_REL) == 0)
		config_free(cfg);
}

int
config_set(struct mt_config *cfg, const char *key, const char *value,
    char *err, size_t errlen)
{
	const struct conf_option	*o;
	char			 why[CONFIG_WHY_MAX];
	char			 allowed[CONFIG_ALLOWED_MAX];
	char			 esc[CONFIG_SHOW_MAX];

	if (cfg == NULL || key == NULL) {
		fmt_error(err, errlen, "no option given");
		return -1;
	}
	if ((o = option_find(key)) == NULL) {
		show(esc, sizeof(esc), key);
		if (group_exists(key))
			fmt_error(err, errlen, "%s: is a group, not an option",
			    esc);
		else {
			keys_allowed(key, allowed, sizeof(allowed));
			fmt_error(err, errlen,
			    "%s: unknown option (allowed %s)", esc, allowed);
		}
		return -1;
	}
	if (value == NULL) {
		fmt_error(err, errlen, "%s: missing value", o->path);
		return -1;
	}
	if (opt_set_text(cfg, o, value, why, sizeof(why)) != 0) {
		fmt_error(err, errlen, "%s: %s (allowed: %s)", o->path, why,
		    opt_allowed(o, allowed, sizeof(allowed)));
		return -1;
	}
	return 0;
}

int
config_is_trusted(const struct mt_config *cfg, const struct sockaddr *sa)
{
	if (cfg == NULL)
		return 0;
	return mt_cidr_match_sockaddr(cfg->trusted, cfg->n_trusted, sa);
}

/* ------------------------------------------------------------ loading */

static void
ld_error(struct loader *ld, unsigned line, const char *key,
    const char *allowed, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
ld_error(struct loader *ld, unsigned line, const char *key,
    const char *allowed, const char *fmt, ...)
{
	char	 why[CONFIG_WHY_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (allowed != NULL)
		fmt_error(ld->err, ld->errlen, "%s:%u: %s: %s (allowed: %s)",
		    ld->path, line, key, why, allowed);
	else
		fmt_error(ld->err, ld->errlen, "%s:%u: %s: %s", ld->path, line,
		    key, why);
}

static const char *
lc_type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a floating-point number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "nothing";
	}
}

static const char *
opt_want(const struct conf_option *o)
{
	switch (o->type) {
	case OPT_BOOL:
		return "a boolean (true or false)";
	case OPT_INT:
	case OPT_MS:
	case OPT_COUNT:
	case OPT_SIZE:
		return "an integer";
	case OPT_MODE:
		return "a quoted octal string such as \"0640\"";
	case OPT_CIDRS:
		return "an array of strings";
	default:
		return "a string";
	}
}

/* Line n (1-based) of the text: start and length, or NULL. */
static const char *
text_line(const char *text, size_t len, unsigned n, size_t *linelen)
{
	const char	*p = text, *end = text + len, *nl;

	if (text == NULL || n == 0)
		return NULL;
	while (--n > 0) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return NULL;
		p = nl + 1;
	}
	nl = memchr(p, '\n', (size_t)(end - p));
	*linelen = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
	return p;
}

static int
is_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*';
}

/*
 * Find "name = value" (or ':') in [p, end), the name starting a word at or
 * after p; line is the start of the line.  Returns the start of the value,
 * or NULL.
 */
static const char *
find_assignment(const char *line, const char *p, const char *end,
    const char *name)
{
	size_t		 nlen = strlen(name);
	const char	*q;

	for (; p + nlen <= end; p++) {
		if (memcmp(p, name, nlen) != 0 ||
		    (p > line && is_name_char((unsigned char)p[-1])))
			continue;
		q = p + nlen;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (q >= end || (*q != '=' && *q != ':'))
			continue;
		q++;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		return q;
	}
	return NULL;
}

/*
 * libconfig 1.5 reads an integer literal without the L suffix into 32 bits
 * and silently truncates a larger one ("4294967296" becomes 0).  Look at
 * the literal on the setting's line: return -1, with the literal in lit,
 * when one is there and none of its occurrences has the value libconfig
 * produced.  0 when it matches or cannot be found.
 * XXX a heuristic on the source text: it needs "name = literal" on one
 * line, as every sensible file has.
 */
static int
literal_truncated(const struct loader *ld, const config_setting_t *s,
    char *lit, size_t litsz)
{
	const char	*line, *end, *p, *v;
	const char	*name = config_setting_name(s);
	char		 tok[32];
	size_t		 linelen, n;
	long long	 want = config_setting_get_int64(s), got;
	int		 bad = 0, hex;

	if (name == NULL || (line = text_line(ld->text, ld->len,
	    config_setting_source_line(s), &linelen)) == NULL)
		return 0;
	end = line + linelen;
	for (p = line; (v = find_assignment(line, p, end, name)) != NULL;
	    p = v) {
		n = 0;
		if (v < end && (*v == '-' || *v == '+'))
			tok[n++] = *v++;
		hex = v + 1 < end && v[0] == '0' &&
		    (v[1] == 'x' || v[1] == 'X');
		if (hex) {
			tok[n++] = *v++;
			tok[n++] = *v++;
		}
		while (v < end && n + 1 < sizeof(tok) &&
		    ((*v >= '0' && *v <= '9') || (hex &&
		    ((*v >= 'a' && *v <= 'f') || (*v >= 'A' && *v <= 'F')))))
			tok[n++] = *v++;
		tok[n] = '\0';
		if (n == 0 || (v < end && *v == 'L'))
			continue;
		errno = 0;
		got = strtoll(tok, NULL, hex ? 16 : 10);
		if (errno != ERANGE && got == want && got >= INT_MIN &&
		    got <= INT_MAX)
			return 0;
		if (!bad)
			snprintf(lit, litsz, "%s", tok);
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* Apply one setting that the table knows. */
static int
ld_apply(struct loader *ld, const struct conf_option *o,
    const config_setting_t *s, const char *key)
{
	char			 why[CONFIG_WHY_MAX];
	char			 buf[CONFIG_ALLOWED_MAX];
	char			 esc[CONFIG_SHOW_MAX];
	char			 lit[32];
	const config_setting_t	*e;
	struct mt_cidr		*list;
	const char		*str, *allowed;
	unsigned		 line = config_setting_source_line(s);
	int			 type = config_setting_type(s), i, n;

	allowed = opt_allowed(o, buf, sizeof(buf));
	switch (o->type) {
	case OPT_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			goto wrong_type;
		*int_at(ld->cfg, o) = config_setting_get_bool(s) ? 1 : 0;
		return 0;
	case OPT_INT:
	case OPT_MS:
	case OPT_COUNT:
	case OPT_SIZE:
		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
			goto wrong_type;
		if (type == CONFIG_TYPE_INT &&
		    literal_truncated(ld, s, lit, sizeof(lit)) != 0) {
			ld_error(ld, line, key, allowed,
			    "%s does not fit in 32 bits: write it as %sL",
			    lit, lit);
			return -1;
		}
		if (opt_set_number(ld->cfg, o, config_setting_get_int64(s),
		    why, sizeof(why)) != 0)
			goto bad_value;
		return 0;
	case OPT_CIDRS:
		if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
			goto wrong_type;
		n = config_setting_length(s);
		if (n > CONFIG_CIDR_MAX) {
			ld_error(ld, line, key, allowed,
			    "more than %d networks", CONFIG_CIDR_MAX);
			return -1;
		}
		if ((list = calloc(n > 0 ? (size_t)n : 1, sizeof(*list)))
		    == NULL) {
			ld_error(ld, line, key, NULL, "out of memory");
			return -1;
		}
		for (i = 0; i < n; i++) {
			e = config_setting_get_elem(s, (unsigned)i);
			line = config_setting_source_line(e);
			if (config_setting_type(e) != CONFIG_TYPE_STRING) {
				ld_error(ld, line, key, allowed,
				    "element %d: wrong type: got %s, want a "
				    "string", i + 1,
				    lc_type_name(config_setting_type(e)));
				free(list);
				return -1;
			}
			str = config_setting_get_string(e);
			if (mt_cidr_parse(str, &list[i], why, sizeof(why))
			    != 0) {
				ld_error(ld, line, key, allowed,
				    "element %d: bad network \"%s\": %s",
				    i + 1, show(esc, sizeof(esc), str), why);
				free(list);
				return -1;
			}
		}
		opt_set_cidrs(ld->cfg, o, list, (size_t)n);
		return 0;
	default:
		if (type != CONFIG_TYPE_STRING)
			goto wrong_type;
		if (opt_set_text(ld->cfg, o, config_setting_get_string(s),
		    why, sizeof(why)) != 0)
			goto bad_value;
		if (o->flags & OPTF_HOSTNAME)
			ld->host_id_line = *config_setting_get_string(s) ==
			    '\0' ? (int)line : -1;
		return 0;
	}

wrong_type:
	ld_error(ld, line, key, allowed, "wrong type: got %s, want %s",
	    lc_type_name(type), opt_want(o));
	return -1;
bad_value:
	ld_error(ld, line, key, allowed, "%s", why);
	return -1;
}

/* Check every setting below group against the table, in file order. */
static int
ld_walk(struct loader *ld, const config_setting_t *group, const char *prefix,
    int depth)
{
	const config_setting_t	*s;
	const struct conf_option	*o;
	const char		*name;
	char			 key[CONFIG_KEY_MAX];
	char			 allowed[CONFIG_ALLOWED_MAX];
	unsigned		 line;
	int			 i, n;

	n = config_setting_length(group);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(group, (unsigned)i);
		name = config_setting_name(s);
		line = config_setting_source_line(s);
		snprintf(key, sizeof(key), "%s%s%s", prefix,
		    *prefix != '\0' ? "." : "", name != NULL ? name : "?");
		if (config_setting_source_file(s) != NULL) {
			fmt_error(ld->err, ld->errlen, "%s:%u: %s: set in an "
			    "included file: mailtrail reads one file, "
			    "@include is not supported",
			    config_setting_source_file(s), line, key);
			return -1;
		}
		if ((o = option_find(key)) != NULL) {
			if (ld_apply(ld, o, s, key) != 0)
				return -1;
			continue;
		}
		if (group_exists(key) && depth < CONFIG_DEPTH_MAX) {
			if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
				ld_error(ld, line, key, NULL,
				    "wrong type: got %s, want a group "
				    "{ ... }",
				    lc_type_name(config_setting_type(s)));
				return -1;
			}
			if (ld_walk(ld, s, key, depth + 1) != 0)
				return -1;
			continue;
		}
		keys_allowed(key, allowed, sizeof(allowed));
		fmt_error(ld->err, ld->errlen,
		    "%s:%u: %s: unknown option (allowed %s)", ld->path, line,
		    key, allowed);
		return -1;
	}
	return 0;
}

/* Full path of a setting ("milter.socket"); 0, or -1 if it has none. */
static int
setting_path(const config_setting_t *s, char *buf, size_t bufsz)
{
	const config_setting_t	*chain[CONFIG_DEPTH_MAX];
	size_t			 n = 0, o = 0;
	int			 w;

	for (; s != NULL && config_setting_name(s) != NULL;
	    s = config_setting_parent(s)) {
		if (n == CONFIG_DEPTH_MAX)
			return -1;
		chain[n++] = s;
	}
	if (n == 0 || s == NULL || config_setting_parent(s) != NULL)
		return -1;	/* stopped at a list element */
	buf[0] = '\0';
	while (n-- > 0) {
		w = snprintf(buf + o, bufsz - o, "%s%s", o > 0 ? "." : "",
		    config_setting_name(chain[n]));
		if (w < 0 || (size_t)w >= bufsz - o)
			return -1;
		o += (size_t)w;
	}
	return 0;
}

/*
 * libconfig refuses a setting given twice as a parse error without naming
 * it.  It leaves the tree built so far, whose open groups are the chain of
 * last children from the root; the duplicate is a name written on the
 * error line that one of them already holds.  Fill key and first_line, or
 * return -1 when that cannot be worked out.
 */
static int
dup_describe(const struct loader *ld, const config_t *lc, char *key,
    size_t keysz, unsigned *first_line)
{
	const config_setting_t	*chain[CONFIG_DEPTH_MAX], *g, *last, *old;
	const char		*line, *end, *p, *q;
	char			 name[CONFIG_KEY_MAX];
	char			 seen[CONFIG_ALLOWED_MAX] = "";
	unsigned		 lineno = (unsigned)config_error_line(lc);
	size_t			 linelen, nchain = 0, nlen;
	int			 i, n, again;

	if (config_error_file(lc) != NULL || (line = text_line(ld->text,
	    ld->len, lineno, &linelen)) == NULL)
		return -1;
	for (g = config_root_setting(lc); g != NULL &&
	    nchain < CONFIG_DEPTH_MAX;) {
		chain[nchain++] = g;
		if ((n = config_setting_length(g)) == 0)
			break;
		last = config_setting_get_elem(g, (unsigned)n - 1);
		g = config_setting_is_group(last) ? last : NULL;
	}
	end = line + linelen;
	for (p = line; p < end; p++) {
		if (*p == '#' || (*p == '/' && p + 1 < end && p[1] == '/'))
			break;
		if (*p == '"') {
			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\')
					p++;
			continue;
		}
		if (!is_name_char((unsigned char)*p) ||
		    (p > line && is_name_char((unsigned char)p[-1])))
			continue;
		for (q = p; q < end && is_name_char((unsigned char)*q); q++)
			;
		nlen = (size_t)(q - p);
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (q >= end || (*q != '=' && *q != ':') ||
		    nlen >= sizeof(name))
			continue;
		memcpy(name, p, nlen);
		name[nlen] = '\0';
		/* Written twice on this very line? */
		again = strstr(seen, name) != NULL;
		if (strlen(seen) + nlen + 2 < sizeof(seen)) {
			strcat(seen, " ");
			strcat(seen, name);
			strcat(seen, " ");
		}
		for (i = (int)nchain - 1; i >= 0; i--) {
			old = config_setting_get_member(chain[i], name);
			if (old == NULL)
				continue;
			if (config_setting_source_line(old) >= lineno &&
			    !again)
				continue;
			if (setting_path(old, key, keysz) != 0)
				return -1;
			*first_line = config_setting_source_line(old);
			return 0;
		}
	}
	return -1;
}

/* Read the whole file into a NUL-terminated buffer (at most the cap). */
static char *
read_file(const char *path, size_t *lenp, char *err, size_t errlen)
{
	struct stat	 st;
	char		*buf;
	size_t		 len = 0;
	ssize_t		 r;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fmt_error(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		fmt_error(err, errlen, "%s: cannot open: %s", path,
		    strerror(EISDIR));
		close(fd);
		return NULL;
	}
	if ((buf = malloc(CONFIG_FILE_MAX + 1)) == NULL) {
		fmt_error(err, errlen, "%s: out of memory", path);
		close(fd);
		return NULL;
	}
	for (;;) {
		r = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			fmt_error(err, errlen, "%s: cannot read: %s", path,
			    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > CONFIG_FILE_MAX) {
			fmt_error(err, errlen,
			    "%s: larger than %d bytes: not a mailtrail "
			    "configuration", path, CONFIG_FILE_MAX);
			goto fail;
		}
	}
	close(fd);
	if (memchr(buf, '\0', len) != NULL) {
		fmt_error(err, errlen, "%s: contains a NUL byte", path);
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

struct mt_config *
config_load(const char *path, char *err, size_t errlen)
{
	struct loader	 ld;
	config_t	 lc;
	char		*text, key[CONFIG_KEY_MAX];
	char		 host[HOST_NAME_MAX_TEXT + 2], why[CONFIG_WHY_MAX];
	size_t		 len;
	unsigned	 first;
	int		 ok;

	fmt_error(err, errlen, "%s", "");
	if (path == NULL) {
		fmt_error(err, errlen, "no configuration file given");
		return NULL;
	}
	if ((text = read_file(path, &len, err, errlen)) == NULL)
		return NULL;
	memset(&ld, 0, sizeof(ld));
	ld.path = path;
	ld.text = text;
	ld.len = len;
	ld.err = err;
	ld.errlen = errlen;
	if ((ld.cfg = config_defaults()) == NULL) {
		fmt_error(err, errlen, "%s: out of memory", path);
		free(text);
		return NULL;
	}

	config_init(&lc);
	if (config_read_string(&lc, text) != CONFIG_TRUE) {
		ok = 0;
		if (config_error_text(&lc) != NULL &&
		    strcmp(config_error_text(&lc), "duplicate setting name")
		    == 0 && dup_describe(&ld, &lc, key, sizeof(key), &first)
		    == 0)
			fmt_error(err, errlen,
			    "%s:%d: %s: given twice (first at line %u)", path,
			    config_error_line(&lc), key, first);
		else
			fmt_error(err, errlen, "%s:%d: syntax error: %s",
			    config_error_file(&lc) != NULL ?
			    config_error_file(&lc) : path,
			    config_error_line(&lc),
			    config_error_text(&lc) != NULL ?
			    config_error_text(&lc) : "unknown error");
	} else
		ok = ld_walk(&ld, config_root_setting(&lc), "", 0) == 0;
	config_destroy(&lc);
	free(text);

	/* authres.authserv_id left to the host name, which cannot serve. */
	if (ok && ld.host_id_line >= 0 && host_authserv_id(host,
	    sizeof(host), why, sizeof(why)) != 0) {
		if (ld.host_id_line > 0)
			fmt_error(err, errlen, "%s:%d: authres.authserv_id: "
			    "\"\" stands for the host name, but %s; set it "
			    "(e.g. to the gateway's domain name)", path,
			    ld.host_id_line, why);
		else
			fmt_error(err, errlen, "%s: authres.authserv_id: not "
			    "set, and the host name cannot stand for it: %s; "
			    "set it (e.g. to the gateway's domain name)",
			    path, why);
		ok = 0;
	}
	if (ok && (ld.cfg->path = strdup(path)) == NULL) {
		fmt_error(err, errlen, "%s: out of memory", path);
		ok = 0;
	}
	if (!ok) {
		config_unref(ld.cfg);
		return NULL;
	}
	return ld.cfg;
}

/* ------------------------------------------------------------ dump */

static void
dump_string(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(fp, "\\%c", *s);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fprintf(fp, "\\x%02x", (unsigned char)*s);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}

static void
dump_name(FILE *fp, const char *const *names, int (*parse)(const char *),
    int value)
{
	size_t	 i;

	for (i = 0; names[i] != NULL; i++)
		if (parse(names[i]) == value) {
			dump_string(fp, names[i]);
			return;
		}
	fprintf(fp, "%d", value);	/* not reachable from a loaded file */
}

static void
dump_value(const struct mt_config *cfg, const struct conf_option *o, FILE *fp)
{
	const struct mt_cidr	*list;
	char			 net[INET6_ADDRSTRLEN + 8];
	size_t			 i, n, z;

	switch (o->type) {
	case OPT_STRING:
		dump_string(fp, CSTR(cfg, o) != NULL ? CSTR(cfg, o) : "");
		break;
	case OPT_BOOL:
		fputs(CINT(cfg, o) ? "true" : "false", fp);
		break;
	case OPT_INT:
	case OPT_MS:
		fprintf(fp, "%d", CINT(cfg, o));
		break;
	case OPT_COUNT:
	case OPT_SIZE:
		z = *size_at((struct mt_config *)cfg, o->offset);
		fprintf(fp, "%zu%s", z, z > INT_MAX ? "L" : "");
		break;
	case OPT_MODE:
		fprintf(fp, "\"%04o\"", *uns_at((struct mt_config *)cfg, o));
		break;
	case OPT_ENUM:
		for (i = 0; o->names[i].name != NULL; i++)
			if (o->names[i].value == CINT(cfg, o))
				break;
		if (o->names[i].name != NULL)
			dump_string(fp, o->names[i].name);
		else
			fprintf(fp, "%d", CINT(cfg, o));
		break;
	case OPT_LOG_LEVEL:
		dump_name(fp, level_names, mt_log_level_parse, CINT(cfg, o));
		break;
	case OPT_FACILITY:
		dump_name(fp, facility_names, mt_log_facility_parse,
		    CINT(cfg, o));
		break;
	case OPT_CIDRS:
		list = *cidrs_at((struct mt_config *)cfg, o);
		n = *size_at((struct mt_config *)cfg, o->count_offset);
		fputs("[", fp);
		for (i = 0; i < n; i++) {
			fputs(i > 0 ? ", " : " ", fp);
			if (mt_cidr_format(&list[i], net, sizeof(net)) == NULL)
				snprintf(net, sizeof(net), "?");
			dump_string(fp, net);
		}
		fputs(" ]", fp);
		break;
	}
}

void
config_dump(const struct mt_config *cfg, FILE *fp)
{
	const struct conf_option	*o;
	const char		*dot, *key;
	size_t			 i, glen, cur_len = 0;
	const char		*cur = NULL;	/* open group, or NULL */

	fputs("# mailtrail configuration: the effective value of every "
	    "option.\n# See mailtrail.conf(5).\n", fp);
	for (i = 0; i < NOPTIONS; i++) {
		o = &options[i];
		dot = strchr(o->path, '.');
		glen = dot != NULL ? (size_t)(dot - o->path) : 0;
		key = dot != NULL ? dot + 1 : o->path;
		if (cur != NULL && (glen != cur_len ||
		    strncmp(cur, o->path, glen) != 0)) {
			fputs("};\n", fp);
			cur = NULL;
		}
		if (cur == NULL && glen > 0) {
			fprintf(fp, "\n%.*s = {\n", (int)glen, o->path);
			cur = o->path;
			cur_len = glen;
		} else if (cur == NULL)
			fputs("\n", fp);
		fprintf(fp, "%s# %s\n%s%s = ", cur != NULL ? "\t" : "",
		    o->doc, cur != NULL ? "\t" : "", key);
		dump_value(cfg, o, fp);
		fputs(";\n", fp);
	}
	if (cur != NULL)
		fputs("};\n", fp);
}
