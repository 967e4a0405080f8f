/*
 * cmd_audit.c - "mailtrail audit": authentication failures in a window.
 *
 * Three sections, each grouped by the sender's domain, the client address
 * or the HELO name (--by), with counts, first and last seen and sample
 * tracking IDs (the first and the last of the group):
 *
 *   SPF results fail, softfail, permerror and temperror (per identity);
 *   DKIM signatures that did not pass, by result and reason;
 *   the forged headers the milter removed (tracking and
 *   Authentication-Results headers from untrusted clients);
 *   DMARC results fail, temperror and permerror, by the From: domain,
 *   with the reason in words (schema version 6 on).
 *
 * The queries follow the journal's partial indexes (spf_results_audit,
 * dkim_signatures_audit, header_edits_action) by repeating their
 * conditions, so only failures are read, never the passing majority; by
 * domain they do not even read the messages (sample tracking IDs are
 * looked up for the printed groups only).
 *
 * Thread safety: single-threaded.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/clock.h"
#include "cli/cli.h"
#include "cli/filter.h"
#include "cli/timeparse.h"

#define DEFAULT_WINDOW	(INT64_C(86400) * 1000000)
#define DEFAULT_GROUPS	50

static const char help[] =
"usage: mailtrail audit [--by domain|ip|helo|policy] [--since TIME]\n"
"                       [--until TIME]\n"
"                       [--all] [--limit N]\n"
"\n"
"The authentication-failure report for a time window (default: the last\n"
"24 hours): SPF fail, softfail, permerror and temperror results, DKIM\n"
"signatures that failed (by reason), and the forged headers the milter\n"
"removed, and DMARC fail, temperror and permerror results with their\n"
"reason, grouped by sender domain (the SPF identity's domain, the DKIM\n"
"signing domain d=, the MAIL FROM domain for forged headers, the From:\n"
"domain for DMARC), by client\n"
"address or by HELO name.  Each group gives its count, when it was first\n"
"and last seen and sample tracking IDs (the first and the last) to look at\n"
"with \"mailtrail show\".\n"
"\n"
"Options:\n"
"  --by KEY           domain (default), ip or helo; or policy: the DMARC\n"
"                     failures alone, by From: domain, p=reject domains\n"
"                     first, then your own (dmarc.local_domains), then\n"
"                     p=quarantine, then p=none, with the messages pct=\n"
"                     sampled out counted apart\n"
"  --since TIME       start of the window (2026-11-25, 2h, 3d, ...)\n"
"  --until TIME       end of the window (default now)\n"
"  --all              the whole journal\n"
"  --limit N          at most N groups per section (default 50; 0 for all)\n";

enum {
	OPT_BY = CLI_OPT_FIRST_LOCAL,
	OPT_ALL
};

enum by { BY_DOMAIN, BY_IP, BY_HELO, BY_POLICY };

static const char *const by_name[] = { "domain", "ip", "helo", "domain" };
static const char *const by_title[] = { "domain", "ip", "helo", "policy" };
static const char *const by_header[] = { "DOMAIN", "CLIENT", "HELO",
    "DOMAIN" };

struct section {
	const char	*title;		/* "SPF", ... */
	const char	*json_name;
	const char	*col2;		/* second and third grouping columns */
	const char	*col3;
	const char	*json2;
	const char	*json3;
};

static const struct section sections[] = {
	{ "SPF failures", "spf", "IDENTITY", "RESULT", "identity", "result" },
	{ "DKIM failures", "dkim", "RESULT", "REASON", "result", "reason" },
	{ "Forged headers removed", "forged", "HEADER", "REASON", "header",
	  "reason" },
	{ "DMARC failures", "dmarc", "RESULT", "REASON", "result", "reason" },
};
#define N_SECTIONS	(sizeof(sections) / sizeof(sections[0]))
#define SEC_DMARC	3

/* The grouping key's SQL expression for a section. */
static const char *
key_sql(int sec, enum by by)
{
	if (by == BY_IP)
		return "c.client_addr";
	if (by == BY_HELO)
		return "lower(c.helo)";
	switch (sec) {
	case 0:
		return "lower(s.domain)";
	case 1:
		return "lower(d.domain)";
	case SEC_DMARC:
		return "m.dmarc_from_domain";
	default:
		return "lower(CASE WHEN instr(m.mail_from, '@') > 0 THEN"
		    " substr(m.mail_from, instr(m.mail_from, '@') + 1)"
		    " ELSE m.mail_from END)";
	}
}

/*
 * The query of a section.  Samples are the first and last message row ids
 * of each group (ids grow with time); their tracking IDs are read only for
 * the groups printed, so the failures are never joined to messages unless
 * the grouping needs the connection (--by ip, --by helo).
 */
/*
 * --by policy: DMARC failures by From: domain and the policy that applied
 * (p=, sp= or np=): reject first, then the domains of local
 * (dmarc.local_domains: names checked to be LDH when the configuration was
 * read, so they are written into the SQL as they are), then quarantine,
 * then none; the messages pct= sampled out are counted apart.
 */
static char *
policy_sql(const char *local)
{
	static const char fmt[] =
	    "SELECT m.dmarc_from_domain, CASE WHEN m.dmarc_policy = 'reject'"
	    " THEN IFNULL(m.dmarc_policy_from, 'p') || '=reject' WHEN (%s)"
	    " THEN 'local' ELSE IFNULL(m.dmarc_policy_from, 'p') || '=' ||"
	    " IFNULL(m.dmarc_policy, '?') END, sum(m.dmarc_sampled_in = 0),"
	    " count(*), min(m.start_time), max(m.start_time), min(m.id),"
	    " max(m.id) FROM messages m"
	    " WHERE m.dmarc_result IS NOT NULL AND m.dmarc_result <> 'pass'"
	    " AND m.dmarc_result = 'fail' AND m.start_time >= ?1"
	    " AND m.start_time < ?2 GROUP BY 1, 2"
	    " ORDER BY min(CASE WHEN m.dmarc_policy = 'reject' THEN 0"
	    " WHEN (%s) THEN 1 WHEN m.dmarc_policy = 'quarantine' THEN 2"
	    " WHEN m.dmarc_policy = 'none' THEN 3 ELSE 4 END), 4 DESC, 1";
	char		*sql, *cond, *o;
	const char	*p, *q;
	size_t		 n, len;
	int		 k;

	len = 2 + 96 * (strlen(local) + 1);
	if ((cond = malloc(len)) == NULL)
		return NULL;
	o = cond + snprintf(cond, len, "0");
	for (p = local; *p != '\0'; p = q) {
		p += strspn(p, ", ");
		q = p + strcspn(p, ", ");
		if ((n = (size_t)(q - p)) == 0)
			continue;
		o += snprintf(o, len - (size_t)(o - cond), " OR"
		    " lower(m.dmarc_from_domain) = lower('%.*s') OR"
		    " lower(m.dmarc_from_domain) LIKE lower('%%.%.*s')",
		    (int)n, p, (int)n, p);
	}

	len = sizeof(fmt) + 2 * strlen(cond);
	if ((sql = malloc(len)) == NULL) {
		free(cond);
		return NULL;
	}
	k = snprintf(sql, len, fmt, cond, cond);
	free(cond);
	if (k < 0) {
		free(sql);
		return NULL;
	}
	return sql;
}

static char *
build_sql(int sec, enum by by)
{
	const char	*parts[4];
	char		*sql;
	size_t		 len, n, i, o;

	parts[0] = "SELECT ";
	parts[1] = key_sql(sec, by);
	switch (sec) {
	case 0:
		parts[2] = ", s.identity, s.result, count(*), min(s.time),"
		    " max(s.time), min(s.message), max(s.message)"
		    " FROM spf_results s";
		parts[3] = by == BY_DOMAIN ?
		    " WHERE s.result NOT IN ('pass', 'none', 'skipped')"
		    " AND s.result IN ('fail', 'softfail', 'permerror',"
		    " 'temperror') AND s.time >= ?1 AND s.time < ?2"
		    " GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3" :
		    " JOIN messages m ON m.id = s.message"
		    " JOIN connections c ON c.id = m.conn_id"
		    " WHERE s.result NOT IN ('pass', 'none', 'skipped')"
		    " AND s.result IN ('fail', 'softfail', 'permerror',"
		    " 'temperror') AND s.time >= ?1 AND s.time < ?2"
		    " GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3";
		break;
	case 1:
		parts[2] = ", d.result, d.reason, count(*), min(d.time),"
		    " max(d.time), min(d.message), max(d.message)"
		    " FROM dkim_signatures d";
		parts[3] = by == BY_DOMAIN ?
		    " WHERE d.result <> 'pass' AND d.time >= ?1 AND d.time < ?2"
		    " GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3" :
		    " JOIN messages m ON m.id = d.message"
		    " JOIN connections c ON c.id = m.conn_id"
		    " WHERE d.result <> 'pass' AND d.time >= ?1 AND d.time < ?2"
		    " GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3";
		break;
	case SEC_DMARC:
		/* The conditions of the messages_dmarc index, repeated. */
		parts[2] = ", m.dmarc_result, m.dmarc_reason_text, count(*),"
		    " min(m.start_time), max(m.start_time), min(m.id),"
		    " max(m.id) FROM messages m";
		parts[3] = by == BY_DOMAIN ?
		    " WHERE m.dmarc_result IS NOT NULL AND m.dmarc_result <>"
		    " 'pass' AND m.dmarc_result IN ('fail', 'temperror',"
		    " 'permerror') AND m.start_time >= ?1 AND m.start_time < ?2"
		    " GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3" :
		    " JOIN connections c ON c.id = m.conn_id"
		    " WHERE m.dmarc_result IS NOT NULL AND m.dmarc_result <>"
		    " 'pass' AND m.dmarc_result IN ('fail', 'temperror',"
		    " 'permerror') AND m.start_time >= ?1 AND m.start_time < ?2"
		    " GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3";
		break;
	default:
		parts[2] = ", min(e.name), e.reason, count(*),"
		    " min(m.start_time), max(m.start_time), min(e.message),"
		    " max(e.message)"
		    " FROM header_edits e JOIN messages m ON m.id = e.message"
		    " JOIN connections c ON c.id = m.conn_id";
		parts[3] = " WHERE e.action <> 'added' AND e.action = 'removed'"
		    " AND m.start_time >= ?1 AND m.start_time < ?2"
		    " GROUP BY 1, lower(e.name), 3 ORDER BY 4 DESC, 1, 2, 3";
		break;
	}
	for (i = 0, len = 1; i < 4; i++)
		len += strlen(parts[i]);
	if ((sql = malloc(len)) == NULL)
		return NULL;
	for (i = 0, o = 0; i < 4; i++) {
		n = strlen(parts[i]);
		memcpy(sql + o, parts[i], n);
		o += n;
	}
	sql[o] = '\0';
	return sql;
}

/* The tracking ID of message row id (escaped, or as JSON); "?" if gone. */
static char *
track_text(sqlite3_stmt *tid, int64_t id)
{
	char	*s;

	sqlite3_bind_int64(tid, 1, id);
	if (sqlite3_step(tid) == SQLITE_ROW)
		s = cli_esc(sqlite3_column_text(tid, 0),
		    (size_t)sqlite3_column_bytes(tid, 0));
	else
		s = strdup("?");
	sqlite3_reset(tid);
	return s;
}

static json_t *
track_json(sqlite3_stmt *tid, int64_t id)
{
	json_t	*j;

	sqlite3_bind_int64(tid, 1, id);
	if (sqlite3_step(tid) == SQLITE_ROW)
		j = cli_json_bytes(sqlite3_column_text(tid, 0),
		    (size_t)sqlite3_column_bytes(tid, 0));
	else
		j = json_null();
	sqlite3_reset(tid);
	return j;
}

static char *
esc_col(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return strdup("-");
	return cli_esc(sqlite3_column_text(st, col),
	    (size_t)sqlite3_column_bytes(st, col));
}

static json_t *
json_col(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	return cli_json_bytes(sqlite3_column_text(st, col),
	    (size_t)sqlite3_column_bytes(st, col));
}

/* One section; adds its total to *found.  0 or -1. */
static int
run_section(struct cli *cli, int sec, enum by by,
    const struct cli_filter *f, long limit, json_t *doc, int64_t *found)
{
	const struct section *s = &sections[sec];
	struct cli_table *t = NULL;
	sqlite3_stmt	*st = NULL, *tid = NULL;
	json_t		*groups = NULL, *g, *samples;
	const char	*headers[7];
	char		*cells[7] = { NULL }, *sql, first[CLI_TIME_SIZE];
	char		 last[CLI_TIME_SIZE], count[24], *a, *b;
	int64_t		 total = 0, n, first_id, last_id;
	long		 shown = 0;
	int		 rc, i, ret = -1, cut = 0;

	if ((sql = by == BY_POLICY ? policy_sql(cli->local_domains) :
	    build_sql(sec, by)) == NULL) {
		cli_error(cli, "out of memory");
		return -1;
	}
	rc = cli_prepare(cli, sql, &st);
	free(sql);
	if (rc < 0)
		return -1;
	if (cli_prepare(cli, "SELECT track_id FROM messages WHERE id = ?1",
	    &tid) < 0) {
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_bind_int64(st, 1, f->since);
	sqlite3_bind_int64(st, 2, f->until);
	if (cli->json) {
		if ((groups = json_array()) == NULL)
			goto out;
	} else {
		headers[0] = by_header[by];
		headers[1] = by == BY_POLICY ? "POLICY" : s->col2;
		headers[2] = by == BY_POLICY ? "SAMPLED OUT" : s->col3;
		headers[3] = "COUNT";
		headers[4] = "FIRST SEEN (UTC)";
		headers[5] = "LAST SEEN (UTC)";
		headers[6] = "SAMPLES";
		if ((t = cli_table_new(cli, 7, headers)) == NULL)
			goto out;
		cli_table_max(t, 0, 40);
		cli_table_max(t, 2, 40);
		cli_table_flex(t, 6);
		cli_table_indent(t, 2);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 3);
		total += n;
		if (limit > 0 && shown >= limit) {
			cut = 1;
			continue;
		}
		shown++;
		first_id = sqlite3_column_int64(st, 6);
		last_id = sqlite3_column_int64(st, 7);
		if (cli->json) {
			samples = json_array();
			json_array_append_new(samples, track_json(tid,
			    first_id));
			if (last_id != first_id)
				json_array_append_new(samples,
				    track_json(tid, last_id));
			g = json_object();
			json_object_set_new(g, by_name[by], json_col(st, 0));
			json_object_set_new(g, by == BY_POLICY ? "policy" :
			    s->json2, json_col(st, 1));
			json_object_set_new(g, by == BY_POLICY ? "sampled_out" :
			    s->json3, by == BY_POLICY ?
			    json_integer(sqlite3_column_int64(st, 2)) :
			    json_col(st, 2));
			json_object_set_new(g, "count", json_integer(n));
			json_object_set_new(g, "first_seen",
			    cli_json_time(sqlite3_column_int64(st, 4)));
			json_object_set_new(g, "last_seen",
			    cli_json_time(sqlite3_column_int64(st, 5)));
			json_object_set_new(g, "samples", samples);
			json_array_append_new(groups, g);
			continue;
		}
		cells[0] = esc_col(st, 0);
		cells[1] = esc_col(st, 1);
		cells[2] = esc_col(st, 2);
		snprintf(count, sizeof(count), "%" PRId64, n);
		cells[3] = strdup(count);
		cells[4] = strdup(cli_fmt_time(first, sizeof(first),
		    sqlite3_column_int64(st, 4), 0));
		cells[5] = strdup(cli_fmt_time(last, sizeof(last),
		    sqlite3_column_int64(st, 5), 0));
		a = track_text(tid, first_id);
		b = last_id != first_id ? track_text(tid, last_id) : NULL;
		if (a != NULL && (b != NULL || last_id == first_id)) {
			size_t	 len = strlen(a) + (b != NULL ? strlen(b) : 0) +
			    3;

			if ((cells[6] = malloc(len)) != NULL)
				snprintf(cells[6], len, "%s%s%s", a,
				    b != NULL ? ", " : "", b != NULL ? b : "");
		}
		free(a);
		free(b);
		for (i = 0; i < 7; i++)
			if (cells[i] == NULL)
				break;
		if (i < 7 || cli_table_add(t, (const char *const *)cells,
		    NULL) < 0) {
			cli_error(cli, "out of memory");
			goto out;
		}
		for (i = 0; i < 7; i++) {
			free(cells[i]);
			cells[i] = NULL;
		}
	}
	if (rc != SQLITE_DONE) {
		cli_db_error(cli, "reading failures");
		goto out;
	}
	*found += total;
	if (cli->json) {
		json_object_set_new(doc, s->json_name, json_pack("{s:I, s:b,"
		    " s:O}", "total", (json_int_t)total, "more", cut,
		    "groups", groups));
	} else {
		fprintf(cli->out, "\n%s%s%s (%" PRId64 ")\n",
		    cli_color_on(cli, CLI_C_BOLD), s->title,
		    cli_color_off(cli), total);
		if (total == 0)
			fprintf(cli->out, "  none\n");
		else {
			cli_table_flush(t);
			if (cut)
				fprintf(cli->out, "  (the %ld largest groups;"
				    " --limit N for more)\n", limit);
		}
	}
	ret = 0;
out:
	for (i = 0; i < 7; i++)
		free(cells[i]);
	json_decref(groups);
	cli_table_free(t);
	sqlite3_finalize(st);
	sqlite3_finalize(tid);
	return ret;
}

int
cmd_audit(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		CLI_WINDOW_LONGOPTS,
		{ "by",		required_argument, NULL, OPT_BY },
		{ "all",	no_argument,	   NULL, OPT_ALL },
		{ "limit",	required_argument, NULL, CLI_OPT_LIMIT },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_filter f;
	enum by		 by = BY_DOMAIN;
	json_t		*doc = NULL;
	char		 err[CLI_ERRLEN], t1[CLI_TIME_SIZE], t2[CLI_TIME_SIZE];
	char		 dur[32];
	int64_t		 found = 0;
	long		 limit;
	int		 ch, done = 0, r, rc = CLI_EXIT_ERROR, all = 0, sec;

	cli_filter_init(&f, mt_now_us());
	while ((ch = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (cli_common_option(cli, ch, optarg, help, &done)) {
			if (done) {
				rc = CLI_EXIT_FOUND;
				goto out;
			}
			continue;
		}
		if (ch == OPT_BY) {
			if (strcmp(optarg, "domain") == 0)
				by = BY_DOMAIN;
			else if (strcmp(optarg, "ip") == 0)
				by = BY_IP;
			else if (strcmp(optarg, "helo") == 0)
				by = BY_HELO;
			else if (strcmp(optarg, "policy") == 0)
				by = BY_POLICY;
			else {
				rc = cli_usage_error(cli, "--by %s: expected"
				    " domain, ip, helo or policy", optarg);
				goto out;
			}
			continue;
		}
		if (ch == OPT_ALL) {
			all = 1;
			continue;
		}
		if ((r = cli_filter_option(&f, ch, optarg, err,
		    sizeof(err))) < 0) {
			rc = cli_usage_error(cli, "%s", err);
			goto out;
		}
		if (r == 0) {
			rc = cli_bad_option(cli, ch, argv);
			goto out;
		}
	}
	if (optind < argc) {
		rc = cli_usage_error(cli, "unexpected argument \"%s\"",
		    argv[optind]);
		goto out;
	}
	if (all && f.has_since) {
		rc = cli_usage_error(cli, "--all and --since contradict each"
		    " other");
		goto out;
	}
	limit = f.has_limit ? f.limit : DEFAULT_GROUPS;
	cli_filter_window(&f, all, DEFAULT_WINDOW);
	if (cli_filter_check(&f, 1, err, sizeof(err)) < 0) {
		rc = cli_usage_error(cli, "%s", err);
		goto out;
	}
	cli_setup_output(cli);
	if (cli_open_journal(cli) < 0)
		goto out;
	if (cli->json) {
		doc = json_pack("{s:{s:o, s:o}, s:s}", "window", "since",
		    cli_json_time(f.since), "until", cli_json_time(f.until),
		    "by", by_title[by]);
		if (doc == NULL) {
			cli_error(cli, "out of memory");
			goto out;
		}
	} else {
		cli_fmt_time(t1, sizeof(t1), f.since, 0);
		cli_fmt_time(t2, sizeof(t2), f.until, 0);
		if (all)
			fprintf(cli->out, "%sAuthentication audit%s, the whole"
			    " journal (to %s), by %s\n",
			    cli_color_on(cli, CLI_C_BOLD), cli_color_off(cli),
			    t2, by_title[by]);
		else
			fprintf(cli->out, "%sAuthentication audit%s, %s .. %s"
			    " (%s), by %s\n", cli_color_on(cli, CLI_C_BOLD),
			    cli_color_off(cli), t1, t2,
			    cli_duration_format(dur, sizeof(dur),
			    f.until - f.since), by_title[by]);
	}
	for (sec = 0; sec < (int)N_SECTIONS; sec++) {
		/* --by policy: the DMARC section alone. */
		if (by == BY_POLICY && sec != SEC_DMARC)
			continue;
		if (sec == SEC_DMARC && !cli->j.has_dmarc) {
			/* A journal older than version 6: no section. */
			if (cli->json)
				json_object_set_new(doc, "dmarc", json_null());
			continue;
		}
		if (sec < 2 && !cli->j.has_auth) {
			if (cli->json)
				json_object_set_new(doc,
				    sections[sec].json_name, json_null());
			else
				fprintf(cli->out, "\n%s%s%s\n  not recorded"
				    " (journal schema version %d; SPF and DKIM"
				    " results are recorded from version 2 on)\n",
				    cli_color_on(cli, CLI_C_BOLD),
				    sections[sec].title, cli_color_off(cli),
				    cli->j.version);
			continue;
		}
		if (run_section(cli, sec, by, &f, limit, doc, &found) < 0)
			goto out;
	}
	if (cli->json) {
		json_object_set_new(doc, "total", json_integer(found));
		cli_json_print(cli, doc);
	}
	rc = found > 0 ? CLI_EXIT_FOUND : CLI_EXIT_NOTFOUND;
out:
	json_decref(doc);
	cli_filter_free(&f);
	return rc;
}
