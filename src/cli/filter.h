/*
 * filter.h - the message filters of find, tail and export, as SQL.
 *
 * Options are parsed into a struct cli_filter, checked against the journal
 * (an SPF filter needs a journal that records SPF), and turned into a
 * WHERE clause over "messages m JOIN connections c" whose values are all
 * bound parameters: nothing a user types is ever spliced into SQL text.
 * Exact addresses use the journal's NOCASE indexes; patterns, CIDR
 * networks and subject substrings use SQL functions registered here, which
 * compare bytes exactly (NUL and 8-bit safe).
 *
 * A SQL text under construction (struct cli_sql) keeps its parameters
 * beside it and binds them on prepare.
 *
 * Thread safety: single-threaded.
 */
#ifndef MAILTRAIL_CLI_FILTER_H
#define MAILTRAIL_CLI_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "mailtrail/cidr.h"

#define CLI_SQL_MAXPARAMS	64

struct cli_sql_param {
	int		 type;		/* SQLITE_INTEGER or SQLITE_TEXT */
	int64_t		 i;
	const char	*s;		/* borrowed: lives as long as the filter */
};

struct cli_sql {
	char		*buf;
	size_t		 len;
	size_t		 cap;
	int		 failed;	/* an allocation failed or too many params */
	struct cli_sql_param p[CLI_SQL_MAXPARAMS];
	int		 np;
};

void	 cli_sql_init(struct cli_sql *q);
void	 cli_sql_free(struct cli_sql *q);
/* Append text (a constant: never a user's value). */
void	 cli_sql_add(struct cli_sql *q, const char *text);
/* Append "?N" bound to a value. */
void	 cli_sql_text(struct cli_sql *q, const char *s);
void	 cli_sql_int(struct cli_sql *q, int64_t v);
/* Prepare and bind.  Returns SQLITE_OK or an SQLite error code. */
int	 cli_sql_prepare(struct cli_sql *q, sqlite3 *db, sqlite3_stmt **stmt);

/* Bits of --status. */
#define CLI_ST_ACCEPTED		0x01
#define CLI_ST_TEMPFAILED	0x02
#define CLI_ST_ABORTED		0x04
#define CLI_ST_DISCONNECTED	0x08
#define CLI_ST_REJECTED		0x10	/* at least one rejected recipient */

#define CLI_FILTER_MAXLIST	8

struct cli_filter {
	char		*from;		/* pattern (cli_pattern form) */
	int		 from_kind;
	char		*to;
	int		 to_kind;
	char		*helo;
	int		 helo_kind;
	char		*subject;	/* substring */
	char		*msgid_with;	/* "<x>" */
	char		*msgid_without;	/* "x" */
	char		*ip;		/* an exact address */
	struct mt_cidr	 net;		/* or a network */
	int		 has_net;
	int64_t		 since;		/* microseconds; valid when has_since */
	int64_t		 until;		/* exclusive */
	int		 has_since;
	int		 has_until;
	unsigned	 status;	/* CLI_ST_* bits; 0 = any */
	unsigned	 dstatus;	/* CLI_DS_BIT(delivery state) bits */
	char		*spf[CLI_FILTER_MAXLIST];
	int		 n_spf;
	char		*dkim[CLI_FILTER_MAXLIST];
	int		 n_dkim;
	char		*dmarc[CLI_FILTER_MAXLIST];
	int		 n_dmarc;
	long		 limit;		/* 0 = none */
	int		 has_limit;
	int64_t		 now;		/* the clock relative times use */
};

/* Option codes of the shared filters (getopt_long "val"s). */
enum {
	CLI_OPT_FROM = 1200,
	CLI_OPT_TO,
	CLI_OPT_IP,
	CLI_OPT_HELO,
	CLI_OPT_SUBJECT,
	CLI_OPT_MSGID,
	CLI_OPT_SINCE,
	CLI_OPT_UNTIL,
	CLI_OPT_STATUS,
	CLI_OPT_SPF,
	CLI_OPT_DKIM,
	CLI_OPT_DMARC,
	CLI_OPT_LIMIT
};

#define CLI_FILTER_LONGOPTS \
	{ "from",	required_argument, NULL, CLI_OPT_FROM }, \
	{ "to",		required_argument, NULL, CLI_OPT_TO }, \
	{ "ip",		required_argument, NULL, CLI_OPT_IP }, \
	{ "helo",	required_argument, NULL, CLI_OPT_HELO }, \
	{ "subject",	required_argument, NULL, CLI_OPT_SUBJECT }, \
	{ "msgid",	required_argument, NULL, CLI_OPT_MSGID }, \
	{ "message-id",	required_argument, NULL, CLI_OPT_MSGID }, \
	{ "since",	required_argument, NULL, CLI_OPT_SINCE }, \
	{ "until",	required_argument, NULL, CLI_OPT_UNTIL }, \
	{ "status",	required_argument, NULL, CLI_OPT_STATUS }, \
	{ "spf",	required_argument, NULL, CLI_OPT_SPF }, \
	{ "dkim",	required_argument, NULL, CLI_OPT_DKIM }, \
	{ "dmarc",	required_argument, NULL, CLI_OPT_DMARC }, \
	{ "limit",	required_argument, NULL, CLI_OPT_LIMIT }

/* The time window options alone (audit, stats). */
#define CLI_WINDOW_LONGOPTS \
	{ "since",	required_argument, NULL, CLI_OPT_SINCE }, \
	{ "until",	required_argument, NULL, CLI_OPT_UNTIL }

void	 cli_filter_init(struct cli_filter *f, int64_t now_us);

/*
 * The window of audit, stats and export: without --since (and without
 * all), the last "back" microseconds; without --until, up to now.  With
 * all, the whole journal (since 0).
 */
void	 cli_filter_window(struct cli_filter *f, int all, int64_t back);
void	 cli_filter_free(struct cli_filter *f);

/*
 * Take one filter option.  Returns 1 when ch was a filter option and its
 * value is good, 0 when ch is not a filter option, -1 with the reason in
 * err ("--since 2026-13-01: month 13 out of range").
 */
int	 cli_filter_option(struct cli_filter *f, int ch, const char *arg,
	    char *err, size_t errlen);

/*
 * Check the filter as a whole against what the journal records: since
 * before until, SPF/DKIM filters need authentication tables.  0 or -1 with
 * err.
 */
int	 cli_filter_check(const struct cli_filter *f, int has_auth, char *err,
	    size_t errlen);

/*
 * Delivery states in --status need the delivery tables (schema 5).  0 or
 * -1 with err.  A message matches --status when its outcome is one of
 * the outcome words or any of its recipients is in one of the delivery
 * states (delivery.h).
 */
/* -1 with a message when --dmarc asks what the journal lacks. */
int	 cli_filter_check_dmarc(const struct cli_filter *f, int has_dmarc,
	    char *err, size_t errlen);

int	 cli_filter_check_delivery(const struct cli_filter *f,
	    int has_delivery, char *err, size_t errlen);

/* 1 when the conditions refer to the connection ("c."). */
int	 cli_filter_needs_conn(const struct cli_filter *f);

/* 1 when any filter other than the time window and limit is set. */
int	 cli_filter_narrows(const struct cli_filter *f);

/*
 * Append " AND ..." conditions for f to q (the query must have "messages
 * m JOIN connections c" and a WHERE clause already started).
 */
void	 cli_filter_where(const struct cli_filter *f, struct cli_sql *q);

/*
 * Register the SQL functions the conditions use (mt_match, mt_contains,
 * mt_in_net) on db; the network function reads f->net, so f must outlive
 * the statements.  0 or -1.
 */
int	 cli_filter_register(sqlite3 *db, const struct cli_filter *f);

#endif
