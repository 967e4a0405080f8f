/*
 * row.c - one result row, copied out of SQLite with its column names.
 *
 * Output code asks for columns by name, so it works on every schema
 * version (a column a journal lacks is simply absent) and JSON output can
 * carry every column of a table without listing them.  TEXT values are
 * copied with their exact byte length (sqlite3_column_bytes), NUL and
 * 8-bit included, and NUL-terminated for convenience.  Numbers are
 * checked as they are read (cli_row_int, cli_row_time): a journal may be
 * damaged or hostile, and a REAL or an absurd value where an INTEGER
 * belongs must not reach arithmetic unclamped.
 *
 * Thread safety: a row belongs to one caller.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

void
cli_row_free(struct cli_row *row)
{
	size_t	 i;

	if (row == NULL)
		return;
	for (i = 0; i < row->n; i++) {
		free(row->names[i]);
		free(row->v[i].s);
	}
	free(row->names);
	free(row->v);
	free(row);
}

struct cli_row *
cli_row_copy(sqlite3_stmt *stmt)
{
	struct cli_row	*row;
	const void	*p;
	const char	*name;
	size_t		 i, n;

	if ((row = calloc(1, sizeof(*row))) == NULL)
		return NULL;
	n = (size_t)sqlite3_column_count(stmt);
	row->names = calloc(n > 0 ? n : 1, sizeof(*row->names));
	row->v = calloc(n > 0 ? n : 1, sizeof(*row->v));
	if (row->names == NULL || row->v == NULL)
		goto fail;
	for (i = 0; i < n; i++, row->n++) {
		name = sqlite3_column_name(stmt, (int)i);
		if ((row->names[i] = strdup(name != NULL ? name : "")) == NULL)
			goto fail;
		row->v[i].type = sqlite3_column_type(stmt, (int)i);
		switch (row->v[i].type) {
		case SQLITE_INTEGER:
			row->v[i].i = sqlite3_column_int64(stmt, (int)i);
			break;
		case SQLITE_FLOAT:
			row->v[i].d = sqlite3_column_double(stmt, (int)i);
			break;
		case SQLITE_TEXT:
		case SQLITE_BLOB:
			/* Text pointer first, then its size (SQLite's rule). */
			p = row->v[i].type == SQLITE_TEXT ?
			    (const void *)sqlite3_column_text(stmt, (int)i) :
			    sqlite3_column_blob(stmt, (int)i);
			row->v[i].len = (size_t)sqlite3_column_bytes(stmt,
			    (int)i);
			if ((row->v[i].s = malloc(row->v[i].len + 1)) == NULL)
				goto fail;
			if (row->v[i].len > 0)
				memcpy(row->v[i].s, p, row->v[i].len);
			row->v[i].s[row->v[i].len] = '\0';
			break;
		default:
			break;
		}
	}
	return row;

fail:
	cli_row_free(row);
	return NULL;
}

const struct cli_val *
cli_row_get(const struct cli_row *row, const char *name)
{
	size_t	 i;

	if (row == NULL)
		return NULL;
	for (i = 0; i < row->n; i++)
		if (strcmp(row->names[i], name) == 0)
			return &row->v[i];
	return NULL;
}

int
cli_row_has(const struct cli_row *row, const char *name)
{
	const struct cli_val *v = cli_row_get(row, name);

	return v != NULL && v->type != SQLITE_NULL;
}

int64_t
cli_row_int(const struct cli_row *row, const char *name, int64_t def)
{
	const struct cli_val *v = cli_row_get(row, name);

	if (v == NULL)
		return def;
	if (v->type == SQLITE_INTEGER)
		return v->i;
	if (v->type != SQLITE_FLOAT || isnan(v->d))
		return def;
	/*
	 * A REAL where an INTEGER belongs (a damaged or hand-made journal):
	 * converting one outside int64_t's range is undefined behaviour, so
	 * clamp first.  2^63 is exact as a double; every double below it
	 * converts.
	 */
	if (v->d >= 9223372036854775808.0)
		return INT64_MAX;
	if (v->d <= -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)v->d;
}

int64_t
cli_row_count(const struct cli_row *row, const char *name, int64_t def)
{
	int64_t	 n = cli_row_int(row, name, def);

	if (n < 0)
		return 0;
	if (n > CLI_COUNT_MAX)
		return CLI_COUNT_MAX;
	return n;
}

int64_t
cli_row_time(const struct cli_row *row, const char *name, int64_t def)
{
	int64_t	 t = cli_row_int(row, name, def);

	if (t < 0)
		return 0;
	if (t > CLI_TIME_MAX_US)
		return CLI_TIME_MAX_US;
	return t;
}

const char *
cli_row_text(const struct cli_row *row, const char *name, size_t *len)
{
	const struct cli_val *v = cli_row_get(row, name);

	if (v == NULL || (v->type != SQLITE_TEXT && v->type != SQLITE_BLOB)) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = v->len;
	return v->s;
}

int
cli_rows_collect(sqlite3_stmt *stmt, struct cli_row ***out, size_t *n)
{
	struct cli_row	**rows = NULL, **nr, *row;
	size_t		 cap = 0;
	int		 rc;

	*out = NULL;
	*n = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			if ((nr = realloc(rows, cap * sizeof(*rows))) == NULL) {
				rc = -1;
				break;
			}
			rows = nr;
		}
		if ((row = cli_row_copy(stmt)) == NULL) {
			rc = -1;
			break;
		}
		rows[(*n)++] = row;
	}
	*out = rows;
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : rc;
}
