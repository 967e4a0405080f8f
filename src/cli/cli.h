/*
 * cli.h - shared state and helpers of the mailtrail command.
 *
 * The command is a set of subcommands (show, find, audit, stats, explain,
 * export, tail) over one read-only journal, and bounce, which reads a
 * message and may write it to the journal (--record).  main.c parses the
 * global options, resolves the journal path (--journal, else journal.path
 * from the configuration file) and calls a subcommand with its own arguments;
 * each subcommand opens the journal itself (explain needs none).
 *
 * Exit status, for every subcommand: 0 something was found (or done),
 * 1 nothing was found, 2 a usage error or a journal error.
 *
 * Modules: common.c (messages, common options, output set-up), db.c
 * (opening the journal, what it holds, SQL functions),
 * row.c (a result row copied out of SQLite), out.c (escaping, tables,
 * colour, JSON), filter.c (find's filters as SQL), timeparse.c, match.c,
 * message.c (loading and printing messages), delivery.c (what happened
 * after the gateway: the delivery tables and each recipient's state),
 * delivery_out.c (printing it), and cmd_*.c.
 *
 * Thread safety: the command is single-threaded; nothing here is shared.
 */
#ifndef MAILTRAIL_CLI_H
#define MAILTRAIL_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <sqlite3.h>

#define CLI_EXIT_FOUND		0
#define CLI_EXIT_NOTFOUND	1
#define CLI_EXIT_ERROR		2

#define CLI_ERRLEN		512

/* Long-only option codes shared by every subcommand. */
enum {
	CLI_OPT_JSON = 1000,
	CLI_OPT_NO_COLOR,
	CLI_OPT_FIRST_LOCAL = 1100	/* subcommands number theirs from here */
};

/* Options every subcommand accepts, spliced into its getopt_long table. */
#define CLI_COMMON_LONGOPTS \
	{ "config",	required_argument, NULL, 'c' }, \
	{ "journal",	required_argument, NULL, 'j' }, \
	{ "json",	no_argument,	   NULL, CLI_OPT_JSON }, \
	{ "no-color",	no_argument,	   NULL, CLI_OPT_NO_COLOR }, \
	{ "no-colour",	no_argument,	   NULL, CLI_OPT_NO_COLOR }, \
	{ "help",	no_argument,	   NULL, 'h' }
#define CLI_COMMON_SHORTOPTS	":c:j:h"

struct cli_dlv_ctx;

/* What a journal holds beyond version 1. */
struct cli_journal {
	sqlite3		*db;
	char		*path;
	int		 version;	/* PRAGMA user_version */
	int		 has_auth;	/* spf_results, dkim_signatures, messages.spf_result */
	int		 has_delivery;	/* the delivery tables of schema 5 */
	int		 has_dmarc;	/* the DMARC columns of schema 6 */
	struct cli_dlv_ctx *dlv_fn;	/* the delivery SQL functions' state */
};

struct cli {
	const char	*cmd;		/* "show", ...; for messages */
	const char	*config_path;	/* -c; NULL: the default file if any */
	const char	*journal_path;	/* --journal; wins over the config */
	int		 json;		/* --json */
	int		 no_color;	/* --no-color or NO_COLOR */
	int		 tty;		/* stdout is a terminal */
	int		 color;		/* colour on (tty && !no_color) */
	int		 width;		/* terminal columns; 0 when not a tty */
	FILE		*out;
	struct cli_journal j;		/* open after cli_open_journal */
	char		 tracking_header[72];	/* tracking.header, for show */
	char		 local_domains[512];	/* dmarc.local_domains, for
						   audit --by policy */
};

/* ---------------------------------------------------------------- common.c */

/* Print "mailtrail CMD: message" on stderr. */
void	 cli_error(const struct cli *cli, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * A usage error: the message, then "Try 'mailtrail CMD --help'." on
 * stderr.  Returns CLI_EXIT_ERROR, to be returned by the caller.
 */
int	 cli_usage_error(const struct cli *cli, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Handle an option common to all subcommands.  Returns 1 when ch was one
 * (help printed: *done set to 1), 0 when it is not a common option.
 */
int	 cli_common_option(struct cli *cli, int ch, const char *arg,
	    const char *help, int *done);

/*
 * Report an option getopt_long refused (ch is '?' or ':'); returns
 * CLI_EXIT_ERROR.
 */
int	 cli_bad_option(const struct cli *cli, int ch, char **argv);

/* Decide colour and width once the options are known. */
void	 cli_setup_output(struct cli *cli);

/* ---------------------------------------------------------------- db.c */

/*
 * Resolve the journal path and open it read-only (SQLITE_OPEN_READONLY,
 * busy timeout), checking that it is a mailtrail journal this build can
 * read.  On error prints a message naming the file and returns -1.
 */
int	 cli_open_journal(struct cli *cli);
void	 cli_close_journal(struct cli *cli);

/* The path the journal would be opened from, or NULL with err set. */
char	*cli_journal_path(struct cli *cli, char *err, size_t errlen);

/* Open path read-only into *j; -1 with a message naming the file. */
int	 cli_journal_open_path(struct cli_journal *j, const char *path,
	    char *err, size_t errlen);
void	 cli_journal_close(struct cli_journal *j);

/* 1 when the table (or table.column) exists. */
int	 cli_table_exists(sqlite3 *db, const char *table);
int	 cli_column_exists(sqlite3 *db, const char *table, const char *column);

/* Prepare SQL; on error prints "journal PATH: what: sqlite message". */
int	 cli_prepare(const struct cli *cli, const char *sql,
	    sqlite3_stmt **stmt);

/* Report a failed step or query. */
void	 cli_db_error(const struct cli *cli, const char *what);

/* ---------------------------------------------------------------- row.c */

struct cli_val {
	int		 type;		/* SQLITE_NULL, _INTEGER, _FLOAT, _TEXT, _BLOB */
	int64_t		 i;
	double		 d;
	char		*s;		/* TEXT/BLOB bytes + NUL, owned by the row */
	size_t		 len;
};

struct cli_row {
	size_t		 n;
	char		**names;
	struct cli_val	*v;
};

/* Copy the current row of stmt; NULL on allocation failure. */
struct cli_row *cli_row_copy(sqlite3_stmt *stmt);
void	 cli_row_free(struct cli_row *row);

/*
 * Step a bound statement to its end, copying every row: *out holds *n rows
 * (caller frees each with cli_row_free and the array with free, also after
 * a failure).  Resets stmt.  Returns 0, -1 out of memory, or the SQLite
 * error code of a failed step (> 0).
 */
int	 cli_rows_collect(sqlite3_stmt *stmt, struct cli_row ***out, size_t *n);

/* The value of column name; NULL when the row has no such column. */
const struct cli_val *cli_row_get(const struct cli_row *row, const char *name);

/* Convenience: 1 when the column exists and is not NULL. */
int	 cli_row_has(const struct cli_row *row, const char *name);
/*
 * An INTEGER column (def when absent, NULL, text or NaN); a REAL is
 * clamped to int64_t's range before conversion.
 */
int64_t	 cli_row_int(const struct cli_row *row, const char *name, int64_t def);
/*
 * A count or a size, clamped to 0 .. CLI_COUNT_MAX (2^53 - 1, exact in
 * JSON), so that sums of a few cannot overflow.
 */
#define CLI_COUNT_MAX		INT64_C(9007199254740991)
int64_t	 cli_row_count(const struct cli_row *row, const char *name,
	    int64_t def);
/*
 * A time column (microseconds since the epoch), clamped to 0 ..
 * CLI_TIME_MAX_US (the end of year 9999), so that differences of two
 * times cannot overflow and every one formats.
 */
#define CLI_TIME_MAX_US		INT64_C(253402300799999999)
int64_t	 cli_row_time(const struct cli_row *row, const char *name,
	    int64_t def);
/* Text (NUL-terminated, may hold NULs before len) or NULL. */
const char *cli_row_text(const struct cli_row *row, const char *name,
	    size_t *len);

/* ---------------------------------------------------------------- out.c */

enum cli_color {
	CLI_C_NONE = 0,
	CLI_C_BOLD,
	CLI_C_DIM,
	CLI_C_RED,
	CLI_C_GREEN,
	CLI_C_YELLOW,
	CLI_C_CYAN
};

/* The escape sequence to start (or, for CLI_C_NONE, reset) a colour;
 * "" when colour is off. */
const char *cli_color_on(const struct cli *cli, enum cli_color c);
const char *cli_color_off(const struct cli *cli);

/*
 * Escape a stranger's bytes for the terminal (mt_escape: printable ASCII
 * kept, everything else \xHH).  Returns a new string (caller frees), or
 * NULL on allocation failure.  cli_esc_val gives "" for NULL values.
 */
char	*cli_esc(const void *s, size_t len);
char	*cli_esc_val(const struct cli_val *v);

/* "2026-11-25T14:00:00Z" (precise: with microseconds). */
#define CLI_TIME_SIZE	40
char	*cli_fmt_time(char *out, size_t outsz, int64_t us, int precise);

/* Make a code string ("5.1.1") safe to use as a catalogue key: NULL when
 * v is not plain text. */
const char *cli_val_cstr(const struct cli_val *v);

/* A table: cells are plain printable ASCII (already escaped). */
struct cli_table;

struct cli_table *cli_table_new(const struct cli *cli, size_t ncols,
	    const char *const *headers);
/* The column shrunk (with "...") to fit the terminal; -1 for none. */
void	 cli_table_flex(struct cli_table *t, int col);
/* Cap a column's width on a terminal (0: no cap). */
void	 cli_table_max(struct cli_table *t, size_t col, size_t width);
/* Indent every line of the table by n spaces. */
void	 cli_table_indent(struct cli_table *t, size_t n);
/* Minimum widths for streaming tables (tail) that print row by row. */
void	 cli_table_min(struct cli_table *t, size_t col, size_t width);
/* Print each row as soon as it is added (widths from cli_table_min). */
void	 cli_table_stream(struct cli_table *t, int header);
/* Add a row (cells copied); colors may be NULL.  0 or -1 (memory). */
int	 cli_table_add(struct cli_table *t, const char *const *cells,
	    const enum cli_color *colors);
/* Print what is buffered; later rows keep the widths. */
void	 cli_table_flush(struct cli_table *t);
void	 cli_table_free(struct cli_table *t);

/* Print "label  text" with text wrapped to the width, indented. */
void	 cli_print_wrapped(const struct cli *cli, const char *indent,
	    const char *label, size_t labelw, const char *text);

/*
 * A CSV cell (RFC 4180) for bytes: always quoted, quotes doubled; valid
 * UTF-8 kept, control characters (C0, DEL, C1) and invalid bytes as \xHH,
 * backslash as \\; a cell that a spreadsheet would take for a formula
 * (starting with =, +, -, @) gets a leading apostrophe.  New string
 * (caller frees), NULL on allocation failure.
 */
char	*cli_csv_cell(const void *s, size_t len);

/* JSON: bytes as a string (invalid UTF-8 bytes become U+0080..U+00FF). */
json_t	*cli_json_bytes(const void *s, size_t len);
/* A value; integer columns named *time become ISO 8601 strings. */
json_t	*cli_json_val(const char *name, const struct cli_val *v);
/* A row as an object, without the columns listed in skip (NULL-ended). */
json_t	*cli_json_row(const struct cli_row *row, const char *const *skip);
json_t	*cli_json_time(int64_t us);
/* Print a document: pretty and ASCII-only on a terminal, else compact. */
int	 cli_json_print(const struct cli *cli, json_t *doc);
/* One JSON Lines record (compact, one line). */
int	 cli_json_line(const struct cli *cli, json_t *doc);

/* ---------------------------------------------------------------- commands */

int	 cmd_show(struct cli *cli, int argc, char **argv);
int	 cmd_find(struct cli *cli, int argc, char **argv);
int	 cmd_audit(struct cli *cli, int argc, char **argv);
int	 cmd_stats(struct cli *cli, int argc, char **argv);
int	 cmd_explain(struct cli *cli, int argc, char **argv);
int	 cmd_export(struct cli *cli, int argc, char **argv);
int	 cmd_tail(struct cli *cli, int argc, char **argv);
int	 cmd_ingest(struct cli *cli, int argc, char **argv);
int	 cmd_bounce(struct cli *cli, int argc, char **argv);

#endif
