/*
 * test_dsn.c - the bounce parser (dsn.c): hand-written reports of each
 * shape, hostile input, and the corpus of 591 real bounces.
 *
 * The corpus (../shared/corpus/bounces, or $MT_CORPUS/bounces) holds
 * Sisimai's expectations per bounced recipient.  A file is "fully right"
 * when:
 *  - the number of recipients equals the expected number, and for each
 *    recipient in order:
 *  - the enhanced status code equals the expected one; where Sisimai gives
 *    one of its internal pseudo codes (X.0.9YY, made up from its reason
 *    when the message has no precise code) only the class X must agree;
 *  - the SMTP reply code equals the expected one (where Sisimai found
 *    none, any code we find is accepted: there is nothing to compare);
 *  - permanent/temporary agrees with the class of the expected status
 *    (5 permanent, 4 temporary);
 *  - the kind agrees: Sisimai's "feedback" (ARF, Amazon SES complaints)
 *    is feedback, "vacation" (RFC 3834) autoreply, "delivered" a success,
 *    everything else a failure or delay.
 * The reason category (Sisimai's 35 reason names mapped once, in
 * sisimai_reasons[], to mailtrail's categories) is measured and guarded
 * separately: it is not part of "fully right".
 * The test fails when either count drops below the level reached
 * (CORPUS_MIN_FULL, CORPUS_MIN_REASON): a regression guard.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include <dirent.h>
#include <unistd.h>
#include <jansson.h>

#include "mailtrail/dsn.h"

/* Reached on the corpus; raise them when the parser improves. */
#define CORPUS_MIN_FULL		563
#define CORPUS_MIN_REASON	367

static const struct dsn_limits deflim = {
	DSN_DEFAULT_MAX_BYTES, 8, 64, "X-Mailtrail-ID"
};

static __attribute__((unused)) struct mt_bounce_rec *
parse(const char *msg)
{
	struct mt_bounce_rec *b = dsn_parse(msg, strlen(msg), &deflim);

	assert_non_null(b);
	return b;
}

static const char *
str(const struct mt_bytes *b)
{
	return b->data != NULL ? b->data : "";
}

/* ---------------------------------------------------------------- corpus */

static const struct {
	const char		*sisimai;
	enum mt_bounce_reason	 ours;
} sisimai_reasons[] = {
	{ "userunknown", MT_REASON_USER_UNKNOWN },
	{ "hasmoved", MT_REASON_USER_UNKNOWN },
	{ "mailboxfull", MT_REASON_MAILBOX_FULL },
	{ "hostunknown", MT_REASON_HOST_UNKNOWN },
	{ "notaccept", MT_REASON_HOST_UNKNOWN },
	{ "mesgtoobig", MT_REASON_MESSAGE_TOO_BIG },
	{ "exceedlimit", MT_REASON_MESSAGE_TOO_BIG },
	{ "spamdetected", MT_REASON_SPAM },
	{ "virusdetected", MT_REASON_SPAM },
	{ "contenterror", MT_REASON_SPAM },
	{ "filtered", MT_REASON_POLICY },
	{ "rejected", MT_REASON_POLICY },
	{ "blocked", MT_REASON_POLICY },
	{ "policyviolation", MT_REASON_POLICY },
	{ "requireptr", MT_REASON_POLICY },
	{ "norelaying", MT_REASON_POLICY },
	{ "badreputation", MT_REASON_POLICY },
	{ "toomanyconn", MT_REASON_POLICY },
	{ "speeding", MT_REASON_POLICY },
	{ "securityerror", MT_REASON_POLICY },
	{ "notcompliantrfc", MT_REASON_POLICY },
	{ "failedstarttls", MT_REASON_POLICY },
	{ "authfailure", MT_REASON_AUTH_FAILURE },
	{ "suspend", MT_REASON_SUSPENDED },
	{ "networkerror", MT_REASON_NETWORK },
	{ "expired", MT_REASON_EXPIRED },
	{ "systemerror", MT_REASON_SYSTEM },
	{ "systemfull", MT_REASON_SYSTEM },
	{ "mailererror", MT_REASON_SYSTEM },
	{ "syntaxerror", MT_REASON_SYSTEM },
	{ "onhold", MT_REASON_UNKNOWN },
	{ "undefined", MT_REASON_UNKNOWN },
	{ "delivered", MT_REASON_UNKNOWN },
	{ "feedback", MT_REASON_FEEDBACK },
	{ "vacation", MT_REASON_AUTOREPLY },
};

static int
map_reason(const char *s, enum mt_bounce_reason *out)
{
	size_t	 i;

	for (i = 0; i < sizeof(sisimai_reasons) / sizeof(sisimai_reasons[0]);
	    i++)
		if (strcmp(sisimai_reasons[i].sisimai, s) == 0) {
			*out = sisimai_reasons[i].ours;
			return 0;
		}
	return -1;
}

static const char *
corpus_dir(void)
{
	const char	*base = getenv("MT_CORPUS");
	const char	*top = getenv("top_srcdir");
	static char	 p[1024];

	if (base != NULL)
		snprintf(p, sizeof(p), "%s/bounces", base);
	else if (top != NULL) {
		/* A checkout beside shared/, or a worktree one level down. */
		snprintf(p, sizeof(p), "%s/../shared/corpus/bounces", top);
		if (access(p, R_OK) != 0)
			snprintf(p, sizeof(p),
			    "%s/../../shared/corpus/bounces", top);
	} else
		return NULL;
	return p;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE	*fp;
	char	*buf = NULL;
	long	 n;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 &&
	    fseek(fp, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) !=
	    NULL) {
		*len = fread(buf, 1, (size_t)n, fp);
		buf[*len] = '\0';
	}
	fclose(fp);
	return buf;
}

#define MAX_SOURCES	96

struct source {
	char	 name[48];
	unsigned files, right;
};

struct tally {
	struct source src[MAX_SOURCES];
	size_t	 nsrc;
	unsigned files, right, rcpts, reason_right;
};

static struct source *
source_of(struct tally *t, const char *file)
{
	char	 name[48];
	size_t	 l = strcspn(file, ".");
	size_t	 i;

	/* "lhost-postfix-01.eml" -> "lhost-postfix" */
	snprintf(name, sizeof(name), "%.*s", (int)l, file);
	if ((l = strlen(name)) > 0) {
		char *dash = strrchr(name, '-');

		if (dash != NULL && dash[1] >= '0' && dash[1] <= '9')
			*dash = '\0';
	}
	for (i = 0; i < t->nsrc; i++)
		if (strcmp(t->src[i].name, name) == 0)
			return &t->src[i];
	if (t->nsrc == MAX_SOURCES)
		return &t->src[MAX_SOURCES - 1];
	snprintf(t->src[t->nsrc].name, sizeof(t->src[0].name), "%s", name);
	return &t->src[t->nsrc++];
}

/* Compare one record with a file's expectation; "" when right, else why. */
static void
judge(const struct mt_bounce_rec *b, json_t *want,
    char *why, size_t whylen, unsigned *reason_right)
{
	json_t		*rcpts = json_object_get(want, "recipients"), *e;
	size_t		 n = json_array_size(rcpts), i;
	const char	*r0 = json_string_value(json_object_get(
			    json_array_get(rcpts, 0), "reason"));
	int		 arf = r0 != NULL && strcmp(r0, "feedback") == 0;
	int		 vac = r0 != NULL && strcmp(r0, "vacation") == 0;

	why[0] = '\0';
	if (arf && b->kind != MT_BOUNCE_FEEDBACK) {
		snprintf(why, whylen, "kind %s, want feedback",
		    mt_bounce_kind_name(b->kind));
		return;
	}
	if (vac && b->kind != MT_BOUNCE_AUTOREPLY) {
		snprintf(why, whylen, "kind %s, want autoreply",
		    mt_bounce_kind_name(b->kind));
		return;
	}
	if (!arf && !vac && (b->kind == MT_BOUNCE_NONE ||
	    b->kind == MT_BOUNCE_FEEDBACK || b->kind == MT_BOUNCE_AUTOREPLY)) {
		snprintf(why, whylen, "kind %s, want a delivery report",
		    mt_bounce_kind_name(b->kind));
		return;
	}
	if (b->n_rcpts != n)
		snprintf(why, whylen, "%zu recipients, want %zu", b->n_rcpts,
		    n);
	json_array_foreach(rcpts, i, e) {
		const char *ws = json_string_value(json_object_get(e,
		    "status"));
		const char *wr = json_string_value(json_object_get(e,
		    "replycode"));
		const char *wn = json_string_value(json_object_get(e,
		    "reason"));
		const struct mt_bounce_rcpt *r;
		enum mt_bounce_reason wreason;
		char	 gotrc[8];
		int	 pseudo;

		if (i >= b->n_rcpts)
			break;
		r = &b->rcpts[i];
		if (wn != NULL && map_reason(wn, &wreason) == 0 &&
		    wreason == r->reason)
			(*reason_right)++;
		if (why[0] != '\0')
			continue;
		if (ws == NULL)
			ws = "";
		if (wr == NULL)
			wr = "";
		pseudo = strlen(ws) >= 7 && strncmp(ws + 1, ".0.9", 4) == 0;
		if (ws[0] != '\0' && !(pseudo ? r->status.data != NULL &&
		    r->status.data[0] == ws[0] :
		    strcmp(str(&r->status), ws) == 0)) {
			snprintf(why, whylen, "rcpt %zu (%s): status \"%s\", "
			    "want \"%s\"", i + 1, str(&r->recipient),
			    str(&r->status), ws);
			continue;
		}
		snprintf(gotrc, sizeof(gotrc), "%d", r->reply_code);
		if (wr[0] != '\0' && strcmp(gotrc, wr) != 0) {
			snprintf(why, whylen, "rcpt %zu (%s): reply code %s, "
			    "want %s", i + 1, str(&r->recipient), gotrc, wr);
			continue;
		}
		if ((ws[0] == '5' && r->permanent != 1) ||
		    (ws[0] == '4' && r->permanent != 0)) {
			snprintf(why, whylen, "rcpt %zu: permanent %d, want %d",
			    i + 1, r->permanent, ws[0] == '5');
			continue;
		}
		if (wn != NULL && strcmp(wn, "delivered") == 0 &&
		    b->kind != MT_BOUNCE_SUCCESS) {
			snprintf(why, whylen, "kind %s, want success",
			    mt_bounce_kind_name(b->kind));
			continue;
		}
	}
}

static void
test_corpus(void **state)
{
	const char	*dir = corpus_dir();
	struct tally	*t;
	json_t		*root, *files, *want;
	json_error_t	 jerr;
	const char	*file;
	char		 path[2048], why[512];
	size_t		 i, len;
	unsigned	 parsed = 0;

	(void)state;
	if (dir == NULL) {
		printf("# MT_CORPUS and top_srcdir unset: corpus skipped\n");
		skip();
	}
	snprintf(path, sizeof(path), "%s/expected.json", dir);
	if ((root = json_load_file(path, 0, &jerr)) == NULL) {
		printf("# SKIP corpus not found (%s)\n", path);
		skip();
	}
	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	files = json_object_get(root, "files");
	json_object_foreach(files, file, want) {
		struct mt_bounce_rec *b;
		struct source *s = source_of(t, file);
		char	*msg;

		snprintf(path, sizeof(path), "%s/eml/%s", dir, file);
		if ((msg = slurp(path, &len)) == NULL) {
			printf("# miss %s: cannot read\n", file);
			t->files++;
			s->files++;
			continue;
		}
		b = dsn_parse(msg, len, &deflim);
		assert_non_null(b);
		parsed++;
		t->files++;
		s->files++;
		t->rcpts += (unsigned)json_array_size(json_object_get(want,
		    "recipients"));
		judge(b, want, why, sizeof(why), &t->reason_right);
		if (why[0] == '\0') {
			t->right++;
			s->right++;
		} else
			printf("# miss %s: %s\n", file, why);
		/* The CRLF copy must give the same record. */
		snprintf(path, sizeof(path), "%s/crlf/%s", dir, file);
		free(msg);
		if ((msg = slurp(path, &len)) != NULL) {
			struct mt_bounce_rec *c = dsn_parse(msg, len, &deflim);
			size_t	 k;

			assert_non_null(c);
			parsed++;
			if (c->n_rcpts != b->n_rcpts || c->kind != b->kind ||
			    c->content_hash != b->content_hash)
				fail_msg("crlf/%s: differs from eml/%s", file,
				    file);
			for (k = 0; k < c->n_rcpts; k++)
				if (strcmp(str(&c->rcpts[k].status),
				    str(&b->rcpts[k].status)) != 0 ||
				    c->rcpts[k].reply_code !=
				    b->rcpts[k].reply_code)
					fail_msg("crlf/%s: recipient %zu "
					    "differs", file, k + 1);
			bounce_rec_free(c);
			free(msg);
		}
		bounce_rec_free(b);
	}
	/* Ordinary messages are no reports. */
	snprintf(path, sizeof(path), "%s/not-bounce", dir);
	{
		DIR		*d = opendir(path);
		struct dirent	*de;

		while (d != NULL && (de = readdir(d)) != NULL) {
			struct mt_bounce_rec *b;
			char	*msg;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/not-bounce/%s", dir,
			    de->d_name);
			if ((msg = slurp(path, &len)) == NULL)
				continue;
			b = dsn_parse(msg, len, &deflim);
			assert_non_null(b);
			parsed++;
			if (b->kind != MT_BOUNCE_NONE)
				fail_msg("not-bounce/%s: kind %s, want none",
				    de->d_name, mt_bounce_kind_name(b->kind));
			bounce_rec_free(b);
			free(msg);
		}
		if (d != NULL)
			closedir(d);
	}
	printf("# per source: fully right / files\n");
	for (i = 0; i < t->nsrc; i++)
		printf("#   %-24s %3u/%-3u %5.1f%%\n", t->src[i].name,
		    t->src[i].right, t->src[i].files,
		    100.0 * t->src[i].right / t->src[i].files);
	printf("# fully right: %u/%u files (%.1f%%); reason category: %u/%u"
	    " recipients (%.1f%%)\n", t->right, t->files,
	    100.0 * t->right / t->files, t->reason_right, t->rcpts,
	    100.0 * t->reason_right / t->rcpts);
	printf("# corpus: bounces %u\n", parsed);
	if (t->right < CORPUS_MIN_FULL)
		fail_msg("fully right %u, was %u: a regression", t->right,
		    CORPUS_MIN_FULL);
	if (t->reason_right < CORPUS_MIN_REASON)
		fail_msg("reason category right %u, was %u: a regression",
		    t->reason_right, CORPUS_MIN_REASON);
	free(t);
	json_decref(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
	};

	dsn_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
