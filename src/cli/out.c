/*
 * out.c - what the mailtrail command prints: escaped text, aligned tables,
 * colour, wrapped paragraphs and JSON.
 *
 * Invariant: no byte from the journal reaches the terminal unescaped.
 * Text goes through mt_escape (printable ASCII stays, everything else
 * becomes \xHH), so a Subject carrying an escape sequence prints as
 * "\x1b]0;..." and cannot move the cursor or retitle the window.  Table
 * cells are therefore plain printable ASCII and their width is their
 * length.  Colour sequences are ours only, and only on a terminal.
 *
 * JSON is built with jansson.  Strings must be UTF-8 there, so bytes that
 * are not valid UTF-8 are given as the character of the same value
 * (U+0080..U+00FF), as mt_json_escape does; NUL and control characters are
 * escaped by jansson, DEL and the C1 controls (U+0080..U+009F) by
 * json_sink_write() below, on a terminal or not.  On a terminal JSON is
 * also printed ASCII-only (\uXXXX).
 *
 * Thread safety: single-threaded.
 */
#include <stdlib.h>
#include <string.h>

#include "mailtrail/clock.h"
#include "mailtrail/escape.h"
#include "cli/cli.h"

#define TABLE_BATCH	1000	/* rows buffered to size the columns */
#define COL_GAP		2

/* ---------------------------------------------------------------- colour */

const char *
cli_color_on(const struct cli *cli, enum cli_color c)
{
	if (!cli->color)
		return "";
	switch (c) {
	case CLI_C_BOLD:
		return "\033[1m";
	case CLI_C_DIM:
		return "\033[2m";
	case CLI_C_RED:
		return "\033[31m";
	case CLI_C_GREEN:
		return "\033[32m";
	case CLI_C_YELLOW:
		return "\033[33m";
	case CLI_C_CYAN:
		return "\033[36m";
	default:
		return "";
	}
}

const char *
cli_color_off(const struct cli *cli)
{
	return cli->color ? "\033[0m" : "";
}

/* ---------------------------------------------------------------- text */

char *
cli_esc(const void *s, size_t len)
{
	char	*out;
	size_t	 sz;

	if (s == NULL)
		return strdup("");
	sz = MT_ESCAPE_SIZE(len);
	if (sz < len || (out = malloc(sz)) == NULL)
		return NULL;
	return mt_escape(out, sz, s, len);
}

char *
cli_esc_val(const struct cli_val *v)
{
	char	 buf[64];

	if (v == NULL)
		return strdup("");
	switch (v->type) {
	case SQLITE_INTEGER:
		snprintf(buf, sizeof(buf), "%lld", (long long)v->i);
		return strdup(buf);
	case SQLITE_FLOAT:
		snprintf(buf, sizeof(buf), "%g", v->d);
		return strdup(buf);
	case SQLITE_TEXT:
	case SQLITE_BLOB:
		return cli_esc(v->s, v->len);
	default:
		return strdup("");
	}
}

const char *
cli_val_cstr(const struct cli_val *v)
{
	size_t	 i;

	if (v == NULL || v->type != SQLITE_TEXT)
		return NULL;
	for (i = 0; i < v->len; i++)
		if ((unsigned char)v->s[i] < 0x20 ||
		    (unsigned char)v->s[i] >= 0x7f)
			return NULL;
	return v->s;
}

char *
cli_fmt_time(char *out, size_t outsz, int64_t us, int precise)
{
	char	 iso[MT_ISO8601_SIZE];

	mt_iso8601(iso, sizeof(iso), us);
	if (!precise && strlen(iso) > 20) {
		/* "2026-11-25T14:32:36.123456Z" -> "2026-11-25T14:32:36Z" */
		iso[19] = 'Z';
		iso[20] = '\0';
	}
	snprintf(out, outsz, "%s", iso);
	return out;
}

void
cli_print_wrapped(const struct cli *cli, const char *indent,
    const char *label, size_t labelw, const char *text)
{
	size_t	 width, col, start, wlen, ind;
	const char *p, *w;

	width = cli->width > 0 ? (size_t)cli->width : 80;
	if (width > 100)
		width = 100;
	ind = strlen(indent) + labelw;
	fprintf(cli->out, "%s%-*s", indent, (int)labelw, label);
	if (width < ind + 20)
		width = ind + 20;
	col = ind;
	start = col;
	for (p = text; *p != '\0'; ) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (w = p; *w != '\0' && *w != ' '; w++)
			;
		wlen = (size_t)(w - p);
		if (col > start && col + 1 + wlen > width) {
			fprintf(cli->out, "\n%*s", (int)ind, "");
			col = ind;
		} else if (col > start) {
			fputc(' ', cli->out);
			col++;
		}
		fwrite(p, 1, wlen, cli->out);
		col += wlen;
		p = w;
	}
	fputc('\n', cli->out);
}

/* ---------------------------------------------------------------- tables */

struct table_row {
	char		**cells;
	enum cli_color	 *colors;
};

struct cli_table {
	const struct cli *cli;
	size_t		 ncols;
	char		**headers;
	size_t		*w;
	size_t		*maxw;
	size_t		*minw;
	int		 flex;
	size_t		 indent;
	int		 sized;		/* widths fixed by a first flush */
	int		 stream;
	int		 header;	/* print a header line */
	int		 header_done;
	struct table_row *rows;
	size_t		 nrows;
};

struct cli_table *
cli_table_new(const struct cli *cli, size_t ncols, const char *const *headers)
{
	struct cli_table *t;
	size_t		 i;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->cli = cli;
	t->ncols = ncols;
	t->flex = -1;
	t->header = headers != NULL;
	t->headers = calloc(ncols, sizeof(*t->headers));
	t->w = calloc(ncols, sizeof(*t->w));
	t->maxw = calloc(ncols, sizeof(*t->maxw));
	t->minw = calloc(ncols, sizeof(*t->minw));
	t->rows = calloc(TABLE_BATCH, sizeof(*t->rows));
	if (t->headers == NULL || t->w == NULL || t->maxw == NULL ||
	    t->minw == NULL || t->rows == NULL) {
		cli_table_free(t);
		return NULL;
	}
	for (i = 0; i < ncols; i++) {
		t->headers[i] = strdup(headers != NULL ? headers[i] : "");
		if (t->headers[i] == NULL) {
			cli_table_free(t);
			return NULL;
		}
	}
	return t;
}

void
cli_table_flex(struct cli_table *t, int col)
{
	t->flex = col;
}

void
cli_table_indent(struct cli_table *t, size_t n)
{
	t->indent = n;
}

void
cli_table_max(struct cli_table *t, size_t col, size_t width)
{
	if (col < t->ncols)
		t->maxw[col] = width;
}

void
cli_table_min(struct cli_table *t, size_t col, size_t width)
{
	if (col < t->ncols)
		t->minw[col] = width;
}

void
cli_table_stream(struct cli_table *t, int header)
{
	t->stream = 1;
	t->header = header;
}

static void
row_free(struct table_row *r, size_t ncols)
{
	size_t	 i;

	if (r->cells != NULL)
		for (i = 0; i < ncols; i++)
			free(r->cells[i]);
	free(r->cells);
	free(r->colors);
	r->cells = NULL;
	r->colors = NULL;
}

/* Fix the widths from the header, the buffered rows and the limits. */
static void
size_columns(struct cli_table *t)
{
	size_t	 i, r, len, total;
	int	 tty = t->cli->tty;

	for (i = 0; i < t->ncols; i++) {
		t->w[i] = t->header ? strlen(t->headers[i]) : 0;
		if (t->w[i] < t->minw[i])
			t->w[i] = t->minw[i];
		for (r = 0; r < t->nrows; r++) {
			len = strlen(t->rows[r].cells[i]);
			if (len > t->w[i])
				t->w[i] = len;
		}
		if (tty && t->maxw[i] > 0 && t->w[i] > t->maxw[i])
			t->w[i] = t->maxw[i];
	}
	if (tty && t->cli->width > 0 && t->flex >= 0 &&
	    (size_t)t->flex < t->ncols) {
		for (i = 0, total = t->indent; i < t->ncols; i++)
			total += t->w[i] + (i > 0 ? COL_GAP : 0);
		if (total > (size_t)t->cli->width) {
			len = total - (size_t)t->cli->width;
			t->w[t->flex] = t->w[t->flex] > len + 8 ?
			    t->w[t->flex] - len : 8;
		}
	}
	t->sized = 1;
}

static void
print_cell(struct cli_table *t, size_t i, const char *cell,
    enum cli_color color, int last)
{
	FILE	*fp = t->cli->out;
	size_t	 len = strlen(cell), shown = len;

	if (i == 0 && t->indent > 0)
		fprintf(fp, "%*s", (int)t->indent, "");
	if (i > 0 && !(last && len == 0))
		fprintf(fp, "%*s", COL_GAP, "");
	if (t->cli->tty && len > t->w[i])
		shown = t->w[i];
	if (color != CLI_C_NONE)
		fputs(cli_color_on(t->cli, color), fp);
	if (shown < len) {
		if (shown > 3) {
			fwrite(cell, 1, shown - 3, fp);
			fputs("...", fp);
		} else
			fwrite(cell, 1, shown, fp);
	} else
		fputs(cell, fp);
	if (color != CLI_C_NONE)
		fputs(cli_color_off(t->cli), fp);
	if (!last && shown < t->w[i])
		fprintf(fp, "%*s", (int)(t->w[i] - shown), "");
}

static void
print_header(struct cli_table *t)
{
	size_t	 i;

	if (!t->header || t->header_done)
		return;
	for (i = 0; i < t->ncols; i++)
		print_cell(t, i, t->headers[i], CLI_C_BOLD, i + 1 == t->ncols);
	fputc('\n', t->cli->out);
	t->header_done = 1;
}

void
cli_table_flush(struct cli_table *t)
{
	size_t	 r, i;

	if (t == NULL)
		return;
	if (!t->sized) {
		if (t->nrows == 0 && !t->stream)
			return;
		size_columns(t);
	}
	print_header(t);
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++)
			print_cell(t, i, t->rows[r].cells[i],
			    t->rows[r].colors != NULL ? t->rows[r].colors[i] :
			    CLI_C_NONE, i + 1 == t->ncols);
		fputc('\n', t->cli->out);
		row_free(&t->rows[r], t->ncols);
	}
	t->nrows = 0;
	if (t->stream)
		fflush(t->cli->out);
}

int
cli_table_add(struct cli_table *t, const char *const *cells,
    const enum cli_color *colors)
{
	struct table_row *r;
	size_t		 i;

	if (t->nrows == TABLE_BATCH)
		cli_table_flush(t);
	r = &t->rows[t->nrows];
	r->cells = calloc(t->ncols, sizeof(*r->cells));
	if (r->cells == NULL)
		return -1;
	if (colors != NULL) {
		if ((r->colors = calloc(t->ncols, sizeof(*r->colors))) == NULL) {
			row_free(r, t->ncols);
			return -1;
		}
		memcpy(r->colors, colors, t->ncols * sizeof(*r->colors));
	}
	for (i = 0; i < t->ncols; i++) {
		if ((r->cells[i] = strdup(cells[i] != NULL ? cells[i] : "")) ==
		    NULL) {
			row_free(r, t->ncols);
			return -1;
		}
	}
	t->nrows++;
	if (t->stream)
		cli_table_flush(t);
	return 0;
}

void
cli_table_free(struct cli_table *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows; i++)
		row_free(&t->rows[i], t->ncols);
	if (t->headers != NULL)
		for (i = 0; i < t->ncols; i++)
			free(t->headers[i]);
	free(t->headers);
	free(t->w);
	free(t->maxw);
	free(t->minw);
	free(t->rows);
	free(t);
}

/* ---------------------------------------------------------------- JSON */

char *
cli_csv_cell(const void *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = src;
	char	*out;
	size_t	 i, o = 0, seq, k;
	int	 ctl;

	/* Worst case: every byte as \xHH, a quote pair, apostrophe, NUL. */
	if (len > ((size_t)-1 - 8) / 4 || (out = malloc(len * 4 + 8)) == NULL)
		return NULL;
	out[o++] = '"';
	if (len > 0 && (s[0] == '=' || s[0] == '+' || s[0] == '-' ||
	    s[0] == '@'))
		out[o++] = '\'';
	for (i = 0; i < len; ) {
		seq = mt_utf8_seq(s + i, len - i);
		ctl = seq == 0 || s[i] < 0x20 || s[i] == 0x7f ||
		    (seq == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0);
		if (ctl) {
			/* One byte at a time, so C1 shows as \xc2\x9b. */
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[s[i] >> 4];
			out[o++] = hex[s[i] & 0xf];
			i++;
			continue;
		}
		if (s[i] == '"') {
			out[o++] = '"';
			out[o++] = '"';
		} else if (s[i] == '\\') {
			out[o++] = '\\';
			out[o++] = '\\';
		} else
			for (k = 0; k < seq; k++)
				out[o++] = (char)s[i + k];
		i += seq;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

json_t *
cli_json_bytes(const void *src, size_t len)
{
	const unsigned char *s = src;
	unsigned char	*buf;
	json_t		*j;
	size_t		 i, o, seq;

	if (s == NULL)
		return json_null();
	for (i = 0; i < len; i += seq)
		if ((seq = mt_utf8_seq(s + i, len - i)) == 0)
			break;
	if (i == len)
		return json_stringn((const char *)s, len);
	if (len > ((size_t)-1) / 2 || (buf = malloc(len * 2 + 1)) == NULL)
		return NULL;
	for (i = 0, o = 0; i < len; ) {
		if ((seq = mt_utf8_seq(s + i, len - i)) > 0) {
			memcpy(buf + o, s + i, seq);
			o += seq;
			i += seq;
		} else {
			/* The byte as U+0080..U+00FF. */
			buf[o++] = (unsigned char)(0xc0 | (s[i] >> 6));
			buf[o++] = (unsigned char)(0x80 | (s[i] & 0x3f));
			i++;
		}
	}
	j = json_stringn((const char *)buf, o);
	free(buf);
	return j;
}

json_t *
cli_json_time(int64_t us)
{
	char	 iso[MT_ISO8601_SIZE];

	return json_string(mt_iso8601(iso, sizeof(iso), us));
}

static int
is_time_column(const char *name)
{
	size_t	 len = strlen(name);

	return strcmp(name, "time") == 0 ||
	    (len > 5 && strcmp(name + len - 5, "_time") == 0);
}

json_t *
cli_json_val(const char *name, const struct cli_val *v)
{
	if (v == NULL)
		return json_null();
	switch (v->type) {
	case SQLITE_INTEGER:
		if (name != NULL && is_time_column(name))
			return cli_json_time(v->i);
		return json_integer((json_int_t)v->i);
	case SQLITE_FLOAT:
		return json_real(v->d);
	case SQLITE_TEXT:
	case SQLITE_BLOB:
		return cli_json_bytes(v->s, v->len);
	default:
		return json_null();
	}
}

json_t *
cli_json_row(const struct cli_row *row, const char *const *skip)
{
	json_t	*obj;
	size_t	 i, k;

	if ((obj = json_object()) == NULL)
		return NULL;
	for (i = 0; i < row->n; i++) {
		for (k = 0; skip != NULL && skip[k] != NULL; k++)
			if (strcmp(skip[k], row->names[i]) == 0)
				break;
		if (skip != NULL && skip[k] != NULL)
			continue;
		if (json_object_set_new(obj, row->names[i],
		    cli_json_val(row->names[i], &row->v[i])) < 0) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

/*
 * jansson's output, with DEL and the C1 controls (U+0080..U+009F, UTF-8
 * C2 80..C2 9F) written as \u escapes: valid JSON either way, but a raw
 * U+009B is a terminal's CSI for whoever pages or cats the output.  Such
 * bytes occur only inside strings (JSON's own syntax is ASCII), where the
 * escape means the same character.  A C2 may end one chunk and its
 * second byte start the next.
 */
struct json_sink {
	FILE	*fp;
	int	 held_c2;	/* a C2 byte not yet written */
};

static int
json_sink_write(const char *buf, size_t len, void *arg)
{
	struct json_sink	*k = arg;
	const unsigned char	*b = (const unsigned char *)buf;
	size_t			 i, run = 0;

	for (i = 0; i < len; i++) {
		if (k->held_c2) {
			k->held_c2 = 0;
			if (b[i] >= 0x80 && b[i] <= 0x9f) {
				fprintf(k->fp, "\\u%04x", b[i]);
				run = i + 1;
				continue;
			}
			fputc(0xc2, k->fp);
		}
		if (b[i] == 0xc2 || b[i] == 0x7f) {
			if (i > run)
				fwrite(b + run, 1, i - run, k->fp);
			run = i + 1;
			if (b[i] == 0x7f)
				fputs("\\u007f", k->fp);
			else
				k->held_c2 = 1;
		}
	}
	if (len > run)
		fwrite(b + run, 1, len - run, k->fp);
	return ferror(k->fp) ? -1 : 0;
}

static int
json_out(const struct cli *cli, json_t *doc, size_t flags)
{
	struct json_sink k = { cli->out, 0 };

	if (doc == NULL) {
		cli_error(cli, "out of memory building JSON");
		return -1;
	}
	if (json_dump_callback(doc, json_sink_write, &k, flags) < 0)
		return -1;
	if (k.held_c2)
		fputc(0xc2, cli->out);
	fputc('\n', cli->out);
	return 0;
}

int
cli_json_print(const struct cli *cli, json_t *doc)
{
	return json_out(cli, doc, cli->tty ? JSON_INDENT(2) |
	    JSON_ENSURE_ASCII : JSON_COMPACT);
}

int
cli_json_line(const struct cli *cli, json_t *doc)
{
	return json_out(cli, doc, JSON_COMPACT |
	    (cli->tty ? JSON_ENSURE_ASCII : 0));
}
