/*
 * message.h - a message as the mailtrail command shows it.
 *
 * Two views of a journal message:
 *
 *   the whole record (show, export): the messages row, its connection,
 *   recipients, header edits, SPF results and DKIM signatures (schema 2),
 *   its delivery (schema 5: delivery.h) and the messages that continued
 *   it on a downstream gateway;
 *
 *   a summary line (find, tail): time, IDs, outcome, delivery states
 *   (schema 5), client, sender, first recipient, authentication results,
 *   subject.
 *
 * Both print as escaped text or as JSON.  The JSON of a whole record has
 * every column of the journal under its column name (times as ISO 8601
 * strings), so it follows the schema without a second list to maintain.
 *
 * Thread safety: single-threaded.
 */
#ifndef MAILTRAIL_CLI_MESSAGE_H
#define MAILTRAIL_CLI_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"
#include "cli/delivery.h"
#include "cli/filter.h"

struct cli_msg {
	struct cli_row	 *m;		/* messages row */
	struct cli_row	 *c;		/* connections row */
	struct cli_row	**rcpt;
	size_t		  n_rcpt;
	struct cli_row	**edits;
	size_t		  n_edits;
	struct cli_row	**spf;
	size_t		  n_spf;
	struct cli_row	**dkim;
	size_t		  n_dkim;
	struct cli_dlv	 *dlv;		/* delivery (schema 5), or NULL */
	struct cli_row	**children;	/* track_id, start_time */
	size_t		  n_children;
};

/* Prepared statements for loading many messages. */
struct cli_loader {
	struct cli	*cli;
	sqlite3_stmt	*msg, *conn, *rcpt, *edits, *spf, *dkim;
	sqlite3_stmt	*children;
	struct cli_dlv_ctx dlv;
	int		 has_dlv;
};

int	 cli_loader_init(struct cli_loader *ld, struct cli *cli);
void	 cli_loader_free(struct cli_loader *ld);

/* Load message row id.  0, 1 when it does not exist, -1 on error (printed). */
int	 cli_msg_load(struct cli_loader *ld, int64_t id, struct cli_msg **out);
void	 cli_msg_free(struct cli_msg *msg);

/* The whole record as JSON (new reference), NULL on allocation failure. */
json_t	*cli_msg_json(const struct cli *cli, const struct cli_msg *msg);

/* The whole record as text. */
void	 cli_msg_print(const struct cli *cli, const struct cli_msg *msg);

/* ---------------------------------------------------------------- summaries */

/*
 * The SELECT list and FROM clause of a summary query; the caller appends
 * " WHERE 1" and conditions.  Depends on what the journal holds.
 */
const char *cli_summary_select(const struct cli_journal *j);

/*
 * The same into q; with to (an exact address, borrowed) and a journal
 * with delivery, also "delivery_to": the state of that recipient, which
 * the list shows first (find --to: "did they get it?").
 */
void	 cli_summary_sql(struct cli_sql *q, const struct cli_journal *j,
	    const char *to);

struct cli_summary;

/*
 * Begin printing summaries: an aligned table, or with --json a document
 * {"count", "more", "messages": [...]}.  stream (tail): a row, or a JSON
 * Lines record, is printed as soon as it is added.  NULL on allocation
 * failure.
 */
struct cli_summary *cli_summary_begin(struct cli *cli, int stream);
/* Print one summary row (a row of cli_summary_select).  0 or -1. */
int	 cli_summary_add(struct cli_summary *s, const struct cli_row *row);
/*
 * Flush; with JSON (not stream) print the document, whose "more" says that
 * the limit cut the list.  Frees s.  0 or -1.
 */
int	 cli_summary_end(struct cli_summary *s, int more);

#endif
