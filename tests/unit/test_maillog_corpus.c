/*
 * test_maillog_corpus.c - the mail-log parser against real logs and the
 * expectations that come with them (../shared/corpus/maillog, read in
 * place; see its SOURCES.md and docs/maillog-corpus.md).
 *
 * Each log is parsed line by line and its events are gathered per queue
 * ID (sender, size, Message-ID, client, deliveries, notifications, links);
 * every expectation is one case, compared field by field.  A case with any
 * difference is a miss, printed as a TAP comment with the field, what we
 * got and what the corpus wants.  The known misses are counted per source
 * (MAX_MISSES) and explained in docs/maillog-corpus.md: a new miss fails
 * the test.  The corpus is $MT_CORPUS, else $top_srcdir/../shared/corpus;
 * without it the tests are skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <zlib.h>

#include "corpus.h"
#include "mailtrail/maillog.h"

#define LINE_MAX_READ	(MLOG_MAX_LINE + 2)

/* ---------------------------------------------------------------- gathering */

struct dlv {
	char		*qid, *to, *orig, *relay, *dsn, *next;
	enum mlog_status st;
	int		 used;		/* claimed by a lightmeter result */
};

struct queue {
	char		*qid;
	char		*client, *msgid, *from, *parent;
	long long	 size;
	int		 nrcpt;
	int		 removed, expired, rejects;
	char		*notify[16];
	int		 nnotify;
};

struct log {
	struct queue	*q;
	size_t		 nq, capq;
	struct dlv	*d;
	size_t		 nd, capd;
	size_t		 kinds[MLOG_REJECT + 1];
	size_t		 lines;
};

static char *
sdup(struct mlog_str s)
{
	char	*p;

	if (s.p == NULL)
		return NULL;
	p = malloc(s.len + 1);
	memcpy(p, s.p, s.len);
	p[s.len] = '\0';
	return p;
}

static struct queue *
queue_get(struct log *lg, const char *qid, size_t len)
{
	size_t	 i;

	for (i = lg->nq; i-- > 0;)
		if (strlen(lg->q[i].qid) == len &&
		    memcmp(lg->q[i].qid, qid, len) == 0)
			return &lg->q[i];
	if (lg->nq == lg->capq) {
		lg->capq = lg->capq ? lg->capq * 2 : 64;
		lg->q = realloc(lg->q, lg->capq * sizeof(*lg->q));
	}
	memset(&lg->q[lg->nq], 0, sizeof(lg->q[0]));
	lg->q[lg->nq].qid = sdup((struct mlog_str){ qid, len });
	lg->q[lg->nq].size = -1;
	lg->q[lg->nq].nrcpt = -1;
	return &lg->q[lg->nq++];
}

static struct queue *
queue_find(struct log *lg, const char *qid)
{
	size_t	 i;

	for (i = 0; i < lg->nq; i++)
		if (strcmp(lg->q[i].qid, qid) == 0)
			return &lg->q[i];
	return NULL;
}

static void
set_once(char **dst, struct mlog_str s)
{
	if (*dst == NULL)
		*dst = sdup(s);
}

static void
set_last(char **dst, struct mlog_str s)
{
	free(*dst);
	*dst = sdup(s);
}

static void
gather(struct log *lg, struct mlog_event *ev)
{
	struct queue	*q, *r;
	struct dlv	*d;
	char		*parent;

	lg->kinds[ev->kind]++;
	if (ev->queue_id.p == NULL)
		return;
	q = queue_get(lg, ev->queue_id.p, ev->queue_id.len);
	switch (ev->kind) {
	case MLOG_DELIVERY:
		do {
			if (lg->nd == lg->capd) {
				lg->capd = lg->capd ? lg->capd * 2 : 64;
				lg->d = realloc(lg->d, lg->capd * sizeof(*d));
			}
			d = &lg->d[lg->nd++];
			memset(d, 0, sizeof(*d));
			d->qid = strdup(q->qid);
			d->to = sdup(ev->recipient);
			d->orig = sdup(ev->orig_recipient);
			d->relay = sdup(ev->relay);
			d->dsn = sdup(ev->dsn);
			d->next = sdup(ev->next_queue_id);
			d->st = ev->status;
		} while (mlog_next_recipient(ev));
		break;
	/*
	 * The last line wins (a reused queue ID is a new message), except
	 * that pickup's local "from=<root>" yields to qmgr's qualified one.
	 */
	case MLOG_QUEUED:
		set_last(&q->from, ev->sender);
		q->size = ev->size;
		q->nrcpt = ev->nrcpt;
		if (ev->message_id.p != NULL)
			set_last(&q->msgid, ev->message_id);
		if (ev->client.p != NULL)
			set_last(&q->client, ev->client);
		break;
	case MLOG_CLIENT:
		set_last(&q->client, ev->client);
		if (q->from == NULL && ev->sender.p != NULL)
			q->from = sdup(ev->sender);
		break;
	case MLOG_MESSAGE_ID:
		set_last(&q->msgid, ev->message_id);
		break;
	case MLOG_REMOVED:
		q->removed = 1;
		break;
	case MLOG_EXPIRED:
		q->expired = 1;
		set_once(&q->from, ev->sender);
		break;
	case MLOG_NOTIFY:
		if (q->nnotify < 16)
			q->notify[q->nnotify++] = sdup(ev->related_queue_id);
		/* queue_get may move the array: keep the parent's name. */
		parent = strdup(q->qid);
		r = queue_get(lg, ev->related_queue_id.p,
		    ev->related_queue_id.len);
		free(r->parent);
		r->parent = parent;
		break;
	case MLOG_REJECT:
		q->rejects++;
		break;
	default:
		break;
	}
}

static void
log_free(struct log *lg)
{
	size_t	 i;
	int	 j;

	for (i = 0; i < lg->nq; i++) {
		free(lg->q[i].qid);
		free(lg->q[i].client);
		free(lg->q[i].msgid);
		free(lg->q[i].from);
		free(lg->q[i].parent);
		for (j = 0; j < lg->q[i].nnotify; j++)
			free(lg->q[i].notify[j]);
	}
	for (i = 0; i < lg->nd; i++) {
		free(lg->d[i].qid);
		free(lg->d[i].to);
		free(lg->d[i].orig);
		free(lg->d[i].relay);
		free(lg->d[i].dsn);
		free(lg->d[i].next);
	}
	free(lg->q);
	free(lg->d);
	memset(lg, 0, sizeof(*lg));
}

/* Parse a log (plain or .gz) into lg; -1 when it cannot be opened. */
static int
read_log(const char *path, struct log *lg)
{
	struct mlog_parser	*p;
	struct mlog_event	 ev;
	gzFile			 gz;
	char			*buf;
	size_t			 n;

	if ((gz = gzopen(path, "rb")) == NULL)
		return -1;
	/* Logs without a year: the corpus sources read them as 2020. */
	p = mlog_parser_new(INT64_C(1609459199) * 1000000, 0);
	buf = malloc(LINE_MAX_READ);
	while (gzgets(gz, buf, LINE_MAX_READ) != NULL) {
		n = strlen(buf);
		if (n > 0 && buf[n - 1] == '\n')
			n--;
		lg->lines++;
		mlog_parse(p, buf, n, &ev);
		gather(lg, &ev);
	}
	free(buf);
	gzclose(gz);
	mlog_parser_free(p);
	return 0;
}

/* ---------------------------------------------------------------- scoring */

static const char *
corpus_dir(void)
{
	static char	 p[1024];

	return test_corpus_path(p, sizeof(p), "maillog") == 0 ? p : NULL;
}

struct score {
	const char	*source;
	int		 cases, ok;
	int		 max_misses;	/* known, explained in the doc */
};

static int	 total_cases;
static int	 case_missed;
static char	 case_name[512];

static void
case_begin(struct score *sc, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(case_name, sizeof(case_name), fmt, ap);
	va_end(ap);
	case_missed = 0;
	sc->cases++;
	total_cases++;
}

static void
case_end(struct score *sc)
{
	if (!case_missed)
		sc->ok++;
}

/* Compare one field; NULL want means "not expected". */
static void
field(struct score *sc, const char *name, const char *got, const char *want)
{
	if (want == NULL && got == NULL)
		return;
	if (want != NULL && got != NULL && strcmp(want, got) == 0)
		return;
	printf("# miss %s %s: %s: got \"%s\", want \"%s\"\n", sc->source,
	    case_name, name, got != NULL ? got : "(none)",
	    want != NULL ? want : "(none)");
	case_missed = 1;
}

static void
field_ll(struct score *sc, const char *name, long long got, long long want)
{
	char	 g[32], w[32];

	if (got == want)
		return;
	snprintf(g, sizeof(g), "%lld", got);
	snprintf(w, sizeof(w), "%lld", want);
	field(sc, name, g, w);
}

static void
score_report(struct score *sc)
{
	printf("# maillog accuracy %s: %d/%d cases (%.1f%%), %d missed\n",
	    sc->source, sc->ok, sc->cases,
	    sc->cases ? 100.0 * sc->ok / sc->cases : 0.0, sc->cases - sc->ok);
	if (sc->cases - sc->ok > sc->max_misses)
		fail_msg("%s: %d misses, %d known", sc->source,
		    sc->cases - sc->ok, sc->max_misses);
}

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* "<a@b>" -> "a@b" into buf (the derived files keep the brackets). */
static const char *
unbracket(const char *s, char *buf, size_t sz)
{
	size_t	 n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		snprintf(buf, sz, "%.*s", (int)(n - 2), s + 1);
		return buf;
	}
	return s;
}

static const char *
status_of(enum mlog_status st)
{
	return st == MLOG_STATUS_NONE ? NULL : mlog_status_name(st);
}

/* The i-th delivery of qid in log order, or NULL. */
static struct dlv *
nth_delivery(struct log *lg, const char *qid, size_t i)
{
	size_t	 k;

	for (k = 0; k < lg->nd; k++)
		if (strcmp(lg->d[k].qid, qid) == 0 && i-- == 0)
			return &lg->d[k];
	return NULL;
}

static size_t
count_deliveries(struct log *lg, const char *qid)
{
	size_t	 k, n = 0;

	for (k = 0; k < lg->nd; k++)
		n += strcmp(lg->d[k].qid, qid) == 0;
	return n;
}

/* ---------------------------------------------------------------- sources */

/* A small cache: the derived summary names each file many times. */
static struct {
	char		 path[1024];
	struct log	 lg;
	int		 ok;
} cached;

static struct log *
log_for(const char *dir, const char *file)
{
	char	 path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (strcmp(path, cached.path) != 0) {
		log_free(&cached.lg);
		snprintf(cached.path, sizeof(cached.path), "%s", path);
		cached.ok = read_log(path, &cached.lg) == 0;
	}
	return cached.ok ? &cached.lg : NULL;
}

/* derived-queue-summary.jsonl: lightmeter, parse-syslog-mail, fluent. */
static void
derived_jsonl(const char *dir, struct score *scores, size_t nscores)
{
	char		 path[1024], *line = NULL, num[32];
	size_t		 cap = 0, i, j, nd;
	ssize_t		 n;
	FILE		*fp;
	json_t		*o, *ds, *d, *ns;
	json_error_t	 jerr;
	struct log	*lg = NULL;
	struct queue	*q;
	struct dlv	*got;
	struct score	*sc;
	const char	*file, *qid;

	snprintf(path, sizeof(path), "%s/derived-queue-summary.jsonl", dir);
	if ((fp = fopen(path, "r")) == NULL)
		fail_msg("cannot open %s", path);
	while ((n = getline(&line, &cap, fp)) > 0) {
		if ((o = json_loads(line, 0, &jerr)) == NULL)
			fail_msg("%s: %s", path, jerr.text);
		if ((file = jstr(o, "file")) == NULL) {
			json_decref(o);
			continue;
		}
		for (sc = NULL, i = 0; i < nscores; i++)
			if (strncmp(file, scores[i].source,
			    strlen(scores[i].source)) == 0)
				sc = &scores[i];
		if (sc == NULL || (lg = log_for(dir, file)) == NULL)
			fail_msg("%s: no log %s", path, file);
		qid = jstr(o, "qid");
		case_begin(sc, "%s %s", file, qid);
		q = queue_find(lg, qid);
		if (q == NULL) {
			field(sc, "queue", NULL, qid);
			case_end(sc);
			json_decref(o);
			continue;
		}
		field(sc, "from", q->from, jstr(o, "from"));
		field(sc, "message_id", q->msgid, jstr(o, "message_id"));
		if (json_is_integer(json_object_get(o, "size")))
			field_ll(sc, "size", q->size, json_integer_value(
			    json_object_get(o, "size")));
		if (json_is_integer(json_object_get(o, "nrcpt")))
			field_ll(sc, "nrcpt", q->nrcpt, json_integer_value(
			    json_object_get(o, "nrcpt")));
		/* Postfix pickup: the oracle writes "pickup", we "uid=N". */
		if (jstr(o, "client") != NULL &&
		    strcmp(jstr(o, "client"), "pickup") == 0) {
			if (q->client == NULL ||
			    strncmp(q->client, "uid=", 4) != 0)
				field(sc, "client", q->client, "uid=...");
		} else
			field(sc, "client", q->client, jstr(o, "client"));
		ds = json_object_get(o, "deliveries");
		nd = count_deliveries(lg, qid);
		field_ll(sc, "deliveries", (long long)nd,
		    (long long)json_array_size(ds));
		json_array_foreach(ds, j, d) {
			if ((got = nth_delivery(lg, qid, j)) == NULL)
				break;
			snprintf(num, sizeof(num), "to[%zu]", j);
			field(sc, num, got->to, jstr(d, "to"));
			field(sc, "orig_to", got->orig, jstr(d, "orig_to"));
			field(sc, "relay", got->relay, jstr(d, "relay"));
			field(sc, "dsn", got->dsn, jstr(d, "dsn"));
			field(sc, "status", status_of(got->st),
			    jstr(d, "status"));
			field(sc, "queued_as", got->next,
			    jstr(d, "queued_as"));
		}
		ns = json_object_get(o, "notification_qids");
		field_ll(sc, "notifications", q->nnotify,
		    (long long)json_array_size(ns));
		json_array_foreach(ns, j, d)
			if ((int)j < q->nnotify)
				field(sc, "notification", q->notify[j],
				    jstr(d, "qid"));
		field(sc, "parent", q->parent, jstr(o, "parent_qid"));
		field_ll(sc, "expired", q->expired,
		    json_is_true(json_object_get(o, "expired")));
		field_ll(sc, "removed", q->removed,
		    json_is_true(json_object_get(o, "removed")));
		field_ll(sc, "rejects", q->rejects,
		    (long long)json_array_size(json_object_get(o, "rejects")));
		case_end(sc);
		json_decref(o);
	}
	free(line);
	fclose(fp);
}

/* The "queues" summaries: postfix-logsums and youyo. */
static void
derived_queues(struct score *sc, struct log *lg, const char *jpath,
    const char *label)
{
	json_t		*root, *qs, *e, *rs, *r, *c;
	json_error_t	 jerr;
	const char	*qid;
	struct queue	*q;
	struct dlv	*got;
	char		 b1[1024], b2[1024], cl[1024];
	size_t		 j;

	if ((root = json_load_file(jpath, 0, &jerr)) == NULL)
		fail_msg("%s: %s", jpath, jerr.text);
	qs = json_object_get(root, "queues");
	json_object_foreach(qs, qid, e) {
		case_begin(sc, "%s %s", label, qid);
		if ((q = queue_find(lg, qid)) == NULL) {
			field(sc, "queue", NULL, qid);
			case_end(sc);
			continue;
		}
		field(sc, "from", q->from, unbracket(jstr(e, "from"), b1,
		    sizeof(b1)));
		field(sc, "message_id", q->msgid,
		    unbracket(jstr(e, "message_id"), b2, sizeof(b2)));
		if (json_is_integer(json_object_get(e, "size")))
			field_ll(sc, "size", q->size, json_integer_value(
			    json_object_get(e, "size")));
		if (json_is_integer(json_object_get(e, "nrcpt")))
			field_ll(sc, "nrcpt", q->nrcpt, json_integer_value(
			    json_object_get(e, "nrcpt")));
		if ((c = json_object_get(e, "client")) != NULL &&
		    jstr(c, "name") != NULL) {
			snprintf(cl, sizeof(cl), "%s[%s]", jstr(c, "name"),
			    jstr(c, "addr") != NULL ? jstr(c, "addr") : "");
			field(sc, "client", q->client, cl);
		}
		rs = json_object_get(e, "recipients");
		field_ll(sc, "deliveries", (long long)count_deliveries(lg, qid),
		    (long long)json_array_size(rs));
		json_array_foreach(rs, j, r) {
			if ((got = nth_delivery(lg, qid, j)) == NULL)
				break;
			field(sc, "to", got->to, unbracket(jstr(r, "to"), b1,
			    sizeof(b1)));
			field(sc, "orig_to", got->orig,
			    unbracket(jstr(r, "orig_to"), b2, sizeof(b2)));
			field(sc, "relay", got->relay, jstr(r, "relay"));
			field(sc, "dsn", got->dsn, jstr(r, "dsn"));
			field(sc, "status", status_of(got->st),
			    jstr(r, "status"));
			field(sc, "next_queue_id", got->next,
			    jstr(r, "next_queue_id"));
		}
		if (jstr(e, "ndr_queue_id") != NULL)
			field(sc, "ndr_queue_id", q->nnotify > 0 ?
			    q->notify[0] : NULL, jstr(e, "ndr_queue_id"));
		if (json_object_get(e, "removed") != NULL)
			field_ll(sc, "removed", q->removed,
			    json_is_true(json_object_get(e, "removed")));
		if (json_object_get(e, "milter") != NULL) {
			/* milter-reject is a reject; milter-hold is not. */
			field_ll(sc, "rejects", q->rejects,
			    strcmp(json_string_value(json_array_get(
			    json_object_get(e, "milter"), 0)),
			    "milter-reject") == 0);
		}
		case_end(sc);
	}
	json_decref(root);
}

/* postfix-grok-patterns: one message per case, fields by name. */
static void
grok_cases(const char *dir, struct score *sc)
{
	char		 path[1024], *line = NULL, daemon[64], *w, buf[8192];
	char		 code[16];
	size_t		 cap = 0, k;
	ssize_t		 n;
	FILE		*fp;
	json_t		*o, *res;
	json_error_t	 jerr;
	const char	*pat, *data, *file, *v;
	struct mlog_parser *p;
	struct mlog_event ev;
	char		*got;
	int		 len;

	snprintf(path, sizeof(path), "%s/postfix-grok-patterns/cases.jsonl",
	    dir);
	if ((fp = fopen(path, "r")) == NULL)
		fail_msg("cannot open %s", path);
	p = mlog_parser_new(0, 0);
	while ((n = getline(&line, &cap, fp)) > 0) {
		if ((o = json_loads(line, 0, &jerr)) == NULL)
			fail_msg("%s: %s", path, jerr.text);
		pat = jstr(o, "pattern");
		data = jstr(o, "data");
		file = jstr(o, "file");
		res = json_object_get(o, "results");
		/* "^%{POSTFIX_TRIVIAL_REWRITE}$" -> "trivial-rewrite" */
		if (pat == NULL || data == NULL ||
		    strncmp(pat, "^%{POSTFIX_", 11) != 0) {
			json_decref(o);
			continue;
		}
		snprintf(daemon, sizeof(daemon), "%s", pat + 11);
		if ((w = strchr(daemon, '}')) != NULL)
			*w = '\0';
		/* Sub-field patterns are not whole messages. */
		if (strcmp(daemon, "DELAYS") == 0 ||
		    strcmp(daemon, "RELAY") == 0 ||
		    strcmp(daemon, "TLS_FEATURES") == 0 ||
		    strcmp(daemon, "COMMAND_COUNTER_DATA") == 0) {
			json_decref(o);
			continue;
		}
		for (w = daemon; *w != '\0'; w++)
			*w = *w == '_' ? '-' : (char)(*w | 0x20);
		if (strcmp(daemon, "script") == 0)
			snprintf(daemon, sizeof(daemon), "postfix-script");
		len = snprintf(buf, sizeof(buf), "Mar 14 10:00:00 mx "
		    "postfix/%s[1]: %s", daemon, data);
		if (len < 0 || (size_t)len >= sizeof(buf)) {
			json_decref(o);
			continue;
		}
		case_begin(sc, "%s", file);
		mlog_parse(p, buf, (size_t)len, &ev);
		if (ev.mta != MLOG_MTA_POSTFIX)
			field(sc, "mta", mlog_mta_name(ev.mta), "postfix");
		got = sdup(ev.queue_id);
		v = jstr(res, "postfix_queueid");
		field(sc, "queue_id", got, v != NULL &&
		    strcmp(v, "NOQUEUE") != 0 ? v : NULL);
		free(got);
		if ((v = jstr(res, "postfix_status")) != NULL) {
			got = sdup(ev.status_word);
			field(sc, "status", got, v);
			free(got);
		}
		if ((v = jstr(res, "postfix_bounce_queueid")) != NULL) {
			got = sdup(ev.related_queue_id);
			field(sc, "bounce_queueid", got, v);
			free(got);
		}
		if ((v = jstr(res, "postfix_message-id")) != NULL) {
			got = sdup(ev.message_id);
			field(sc, "message_id", got, v);
			free(got);
		}
		if ((v = jstr(res, "postfix_relay_hostname")) != NULL &&
		    ev.kind == MLOG_DELIVERY) {
			got = sdup(ev.relay);
			k = strlen(v);
			if (got == NULL || strncmp(got, v, k) != 0 ||
			    got[k] != '[')
				field(sc, "relay host", got, v);
			free(got);
		}
		if ((v = jstr(res, "postfix_status_code")) != NULL &&
		    ev.kind == MLOG_REJECT) {
			snprintf(code, sizeof(code), "%d", ev.reply_code);
			field(sc, "reply_code", code, v);
		}
		if ((v = jstr(res, "postfix_status_code_enhanced")) != NULL &&
		    ev.kind == MLOG_REJECT) {
			got = sdup(ev.dsn);
			field(sc, "dsn", got, v);
			free(got);
		}
		/* A line with a queue ID must be understood. */
		if (ev.kind == MLOG_UNPARSED)
			field(sc, "kind", "unparsed", "a known kind");
		case_end(sc);
		json_decref(o);
	}
	mlog_parser_free(p);
	free(line);
	fclose(fp);
}

/* sendmail-fluent-plugin: one record per to= line. */
static void
fluent_cases(const char *dir, struct score *sc)
{
	char		 path[1024], *line = NULL, lpath[1024], *raw = NULL;
	char		 b[512];
	size_t		 cap = 0, rcap = 0, j;
	ssize_t		 n, rn;
	FILE		*fp, *lf;
	json_t		*o, *to, *t;
	json_error_t	 jerr;
	struct mlog_parser *p;
	struct mlog_event ev;
	const char	*canon;
	char		*got;

	snprintf(path, sizeof(path), "%s/sendmail-fluent-plugin/"
	    "expected.jsonl", dir);
	snprintf(lpath, sizeof(lpath), "%s/sendmail-fluent-plugin/"
	    "sendmail-multi-rcpt.log", dir);
	if ((fp = fopen(path, "r")) == NULL || (lf = fopen(lpath, "r")) ==
	    NULL)
		fail_msg("cannot open %s", path);
	p = mlog_parser_new(INT64_C(1459900000) * 1000000, 9 * 3600);
	while ((n = getline(&line, &cap, fp)) > 0) {
		if ((o = json_loads(line, 0, &jerr)) == NULL)
			fail_msg("%s: %s", path, jerr.text);
		/* The next to= line of the log is this record's. */
		do {
			if ((rn = getline(&raw, &rcap, lf)) <= 0)
				break;
			if (raw[rn - 1] == '\n')
				rn--;
		} while (mlog_parse(p, raw, (size_t)rn, &ev) != MLOG_DELIVERY);
		case_begin(sc, "%s to %s", jstr(o, "qid"), json_string_value(
		    json_array_get(json_object_get(o, "to"), 0)));
		if (ev.kind != MLOG_DELIVERY) {
			field(sc, "kind", mlog_kind_name(ev.kind), "delivery");
			case_end(sc);
			json_decref(o);
			continue;
		}
		got = sdup(ev.queue_id);
		field(sc, "queue_id", got, jstr(o, "qid"));
		free(got);
		got = sdup(ev.dsn);
		field(sc, "dsn", got, jstr(o, "dsn"));
		free(got);
		to = json_object_get(o, "to");
		j = 0;
		do {
			t = json_array_get(to, j++);
			got = sdup(ev.recipient);
			field(sc, "to", got, unbracket(json_string_value(t), b,
			    sizeof(b)));
			free(got);
		} while (mlog_next_recipient(&ev));
		field_ll(sc, "recipients", (long long)j,
		    (long long)json_array_size(to));
		/* sent_local is sent by the local mailer. */
		canon = jstr(o, "status_canonical");
		if (canon != NULL && strcmp(canon, "sent_local") == 0)
			canon = "sent";
		field(sc, "status", status_of(ev.status), canon);
		if (json_is_integer(json_object_get(o, "delay_in_sec")))
			field_ll(sc, "delay", (long long)ev.delay,
			    json_integer_value(json_object_get(o,
			    "delay_in_sec")));
		case_end(sc);
		json_decref(o);
	}
	mlog_parser_free(p);
	free(raw);
	free(line);
	fclose(lf);
	fclose(fp);
}

/* The queue whose delivery handed the message to qid (content filter). */
static struct queue *
upstream(struct log *lg, const char *qid)
{
	size_t	 k;

	for (k = 0; k < lg->nd; k++)
		if (lg->d[k].next != NULL && strcmp(lg->d[k].next, qid) == 0)
			return queue_find(lg, lg->d[k].qid);
	return NULL;
}

/* postfix-lightmeter/expected.json: the source's asserted results. */
static void
lightmeter_cases(const char *dir, struct score *sc)
{
	char		 path[1024], fname[512], *plus;
	json_t		*root, *files, *f, *rs, *r;
	json_error_t	 jerr;
	const char	*name, *rcpt, *st, *qid, *v;
	struct log	 lg;
	struct queue	*q, *u;
	struct dlv	*d;
	size_t		 i, k;
	int		 hops;

	snprintf(path, sizeof(path), "%s/postfix-lightmeter/expected.json",
	    dir);
	if ((root = json_load_file(path, 0, &jerr)) == NULL)
		fail_msg("%s: %s", path, jerr.text);
	files = json_object_get(root, "files");
	json_object_foreach(files, name, f) {
		rs = json_object_get(f, "results");
		if (json_array_size(rs) == 0)
			continue;
		memset(&lg, 0, sizeof(lg));
		/* "a.log+b.log": two servers' logs read as one. */
		snprintf(fname, sizeof(fname), "%s", name);
		for (v = fname; v != NULL; v = plus != NULL ? plus + 1 : NULL) {
			if ((plus = strchr(v, '+')) != NULL)
				*plus = '\0';
			snprintf(path, sizeof(path), "%s/postfix-lightmeter/"
			    "logs/%s", dir, v);
			if (read_log(path, &lg) < 0)
				fail_msg("cannot read %s", path);
		}
		json_array_foreach(rs, i, r) {
			case_begin(sc, "%s result %zu", name, i);
			rcpt = jstr(r, "recipient");
			st = jstr(r, "status");
			qid = jstr(r, "queue_id");
			q = NULL;
			if (st != NULL && strcmp(st, "expired") == 0) {
				q = qid != NULL ? queue_find(&lg, qid) : NULL;
				if (q == NULL || !q->expired)
					field(sc, "expired", NULL, qid);
			} else {
				/* The first unclaimed delivery that fits. */
				for (d = NULL, k = 0; k < lg.nd; k++) {
					if (lg.d[k].used ||
					    (rcpt != NULL && (lg.d[k].to ==
					    NULL || strcmp(lg.d[k].to, rcpt))) ||
					    (st != NULL && strcmp(status_of(
					    lg.d[k].st), st)) ||
					    (qid != NULL && strcmp(lg.d[k].qid,
					    qid)))
						continue;
					/* Not the hop into a content filter. */
					if (lg.d[k].next != NULL &&
					    lg.d[k].relay != NULL &&
					    strncmp(lg.d[k].relay, "127.", 4) ==
					    0 && qid == NULL)
						continue;
					d = &lg.d[k];
					break;
				}
				if (d == NULL) {
					field(sc, "delivery", NULL, rcpt != NULL
					    ? rcpt : st != NULL ? st : qid);
				} else {
					d->used = 1;
					q = queue_find(&lg, d->qid);
				}
			}
			/* Sender and Message-ID: this queue or upstream. */
			for (u = q, hops = 0; u != NULL && hops < 4; hops++) {
				if ((v = jstr(r, "sender")) != NULL &&
				    u->from != NULL && *u->from != '\0')
					break;
				if (v == NULL)
					break;
				u = upstream(&lg, u->qid);
			}
			if (q != NULL && (v = jstr(r, "sender")) != NULL)
				field(sc, "sender", u != NULL ? u->from : NULL,
				    v);
			if (q != NULL && (v = jstr(r, "message_id")) != NULL)
				field(sc, "message_id", q->msgid, v);
			if (q != NULL && json_object_get(r, "parent_queue_id")
			    != NULL)
				field(sc, "parent", q->parent,
				    jstr(r, "parent_queue_id"));
			case_end(sc);
		}
		log_free(&lg);
	}
	json_decref(root);
}

/* ---------------------------------------------------------------- tests */

static void
test_corpus(void **state)
{
	/* Known misses per source, each explained in docs/maillog-corpus.md. */
	struct score	 jl[] = {
		{ "postfix-lightmeter", 0, 0, 0 },
		{ "parse-syslog-mail", 0, 0, 3 },
		{ "sendmail-fluent-plugin", 0, 0, 0 },
	};
	struct score	 logsums = { "postfix-logsums", 0, 0, 0 };
	struct score	 youyo = { "youyo-postfix-log-parser", 0, 0, 0 };
	struct score	 grok = { "postfix-grok-patterns", 0, 0, 1 };
	struct score	 fluent = { "sendmail-fluent-plugin/expected", 0, 0, 0 };
	struct score	 lm = { "postfix-lightmeter/expected", 0, 0, 0 };
	static const char *const youyo_logs[][2] = {
		{ "test.log", "derived-test.json" },
		{ "test-iso8601.log", "derived-test-iso8601.json" },
		{ "test-milter.log", "derived-test-milter.json" },
	};
	const char	*dir = corpus_dir();
	char		 path[1024], jpath[1024];
	struct log	 lg;
	size_t		 i;
	FILE		*fp;

	(void)state;
	if (dir == NULL) {
		printf("# MT_CORPUS and top_srcdir unset: corpus skipped\n");
		printf("# corpus: maillog skipped (not found)\n");
		skip();
	}
	snprintf(path, sizeof(path), "%s/SOURCES.md", dir);
	if ((fp = fopen(path, "r")) == NULL) {
		printf("# SKIP corpus not found (%s)\n", path);
		printf("# corpus: maillog skipped (not found)\n");
		skip();
	}
	fclose(fp);
	total_cases = 0;

	derived_jsonl(dir, jl, sizeof(jl) / sizeof(jl[0]));
	log_free(&cached.lg);
	cached.path[0] = '\0';

	memset(&lg, 0, sizeof(lg));
	snprintf(path, sizeof(path), "%s/postfix-logsums/mail.log.gz", dir);
	if (read_log(path, &lg) < 0)
		fail_msg("cannot read %s", path);
	snprintf(jpath, sizeof(jpath), "%s/postfix-logsums/"
	    "derived-queue-summary.json", dir);
	derived_queues(&logsums, &lg, jpath, "mail.log.gz");
	log_free(&lg);

	for (i = 0; i < sizeof(youyo_logs) / sizeof(youyo_logs[0]); i++) {
		memset(&lg, 0, sizeof(lg));
		snprintf(path, sizeof(path), "%s/youyo-postfix-log-parser/%s",
		    dir, youyo_logs[i][0]);
		if (read_log(path, &lg) < 0)
			fail_msg("cannot read %s", path);
		snprintf(jpath, sizeof(jpath), "%s/youyo-postfix-log-parser/"
		    "%s", dir, youyo_logs[i][1]);
		derived_queues(&youyo, &lg, jpath, youyo_logs[i][0]);
		log_free(&lg);
	}
	grok_cases(dir, &grok);
	fluent_cases(dir, &fluent);
	lightmeter_cases(dir, &lm);

	printf("# corpus: maillog %d\n", total_cases);
	for (i = 0; i < sizeof(jl) / sizeof(jl[0]); i++)
		score_report(&jl[i]);
	score_report(&logsums);
	score_report(&youyo);
	score_report(&grok);
	score_report(&fluent);
	score_report(&lm);
}

/* The whole 3-day postfix-logsums log: every line, by kind. */
static void
test_corpus_volume(void **state)
{
	const char	*dir = corpus_dir();
	char		 path[1024];
	struct log	 lg;
	int		 k;

	(void)state;
	if (dir == NULL) {
		printf("# MT_CORPUS and top_srcdir unset: corpus skipped\n");
		printf("# corpus: maillog-volume skipped (not found)\n");
		skip();
	}
	memset(&lg, 0, sizeof(lg));
	snprintf(path, sizeof(path), "%s/postfix-logsums/mail.log.gz", dir);
	if (read_log(path, &lg) < 0) {
		printf("# SKIP corpus not found (%s)\n", path);
		printf("# corpus: maillog-volume skipped (not found)\n");
		skip();
	}
	printf("# corpus: maillog-volume %zu\n", lg.lines);
	printf("# mail.log.gz: %zu lines:", lg.lines);
	for (k = 0; k <= MLOG_REJECT; k++)
		if (lg.kinds[k] > 0)
			printf(" %s %zu", mlog_kind_name((enum mlog_kind)k),
			    lg.kinds[k]);
	printf("\n");
	assert_int_equal(lg.lines, 69861);
	/* Every Postfix line with a queue ID is understood. */
	assert_int_equal(lg.kinds[MLOG_UNPARSED], 0);
	assert_int_equal(lg.kinds[MLOG_BAD_STAMP], 0);
	assert_int_equal(lg.kinds[MLOG_DELIVERY], 365);
	assert_int_equal(lg.kinds[MLOG_REJECT], 116);
	log_free(&lg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_corpus_volume),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
