/*
 * cmd_explain.c - "mailtrail explain CODE [ENHANCED]": what a code means.
 *
 * Accepts reply codes (550), enhanced status codes (5.1.1), both, or one
 * argument holding both as they appear in a log ("550 5.1.1" or
 * "550-5.1.1").  Prints the catalogue entries (smtpcodes.h), the class
 * and subject of an enhanced code, and notes when the two codes disagree.
 * --list prints the whole catalogue.  Needs no journal.
 *
 * Exit: 0 every code is in the catalogue, 1 a well-formed code is not
 * (its class is still explained), 2 a malformed code.
 *
 * Thread safety: single-threaded.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/smtpcodes.h"
#include "cli/cli.h"

#define LABEL_W	10

static const char help[] =
"usage: mailtrail explain CODE [ENHANCED]\n"
"       mailtrail explain --list\n"
"\n"
"Explain an SMTP reply code (RFC 5321: 550, 421, ...) and/or an enhanced\n"
"status code (RFC 3463 and IANA's registry: 5.1.1, 4.7.1, ...): whether it\n"
"is permanent or temporary, what it means, what usually causes it and what\n"
"to check.  \"mailtrail show\" annotates the codes it prints from the same\n"
"catalogue.  Examples:\n"
"\n"
"  mailtrail explain 550 5.1.1\n"
"  mailtrail explain 4.7.1\n"
"  mailtrail explain \"452 4.5.3\"\n"
"\n"
"Options:\n"
"  --list             print the whole catalogue\n";

enum {
	OPT_LIST = CLI_OPT_FIRST_LOCAL
};

struct codes {
	int		 reply;			/* 0 = none */
	int		 has_status;
	struct smtp_status status;
};

/* Split "550 5.1.1", "550-5.1.1" or single codes into *c.  0 or -1. */
static int
take_arg(const struct cli *cli, const char *arg, struct codes *c)
{
	const char	*p = arg, *tok;
	size_t		 len;
	int		 code;
	struct smtp_status st;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		tok = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' &&
		    !(p - tok == 3 && *p == '-'))
			p++;
		len = (size_t)(p - tok);
		if (*p == '-')
			p++;
		if (smtp_reply_parse(tok, len, &code) == 0) {
			if (c->reply != 0) {
				cli_usage_error(cli, "two reply codes given");
				return -1;
			}
			c->reply = code;
		} else if (smtp_status_parse(tok, len, &st) == 0) {
			if (c->has_status) {
				cli_usage_error(cli, "two enhanced status codes"
				    " given");
				return -1;
			}
			c->status = st;
			c->has_status = 1;
		} else {
			char *e = cli_esc(tok, len);

			cli_usage_error(cli, "\"%s\" is neither a reply code"
			    " (three digits, 2xx to 5xx) nor an enhanced status"
			    " code (class.subject.detail, class 2, 4 or 5)",
			    e != NULL ? e : "?");
			free(e);
			return -1;
		}
	}
	return 0;
}

static const char *
classes_text(unsigned classes, char *buf, size_t sz)
{
	size_t	 o = 0;
	int	 c;

	buf[0] = '\0';
	for (c = 2; c <= 5; c++)
		if (classes & SMTP_CLASS_BIT(c))
			o += (size_t)snprintf(buf + o, sz - o, "%s%d.X.X",
			    o > 0 ? ", " : "", c);
	return buf;
}

static int
explain_reply(const struct cli *cli, int code, json_t *doc)
{
	const struct smtp_reply_info *ri = smtp_reply_lookup(code);
	enum smtp_kind kind = smtp_reply_kind(code);
	json_t	*obj;

	if (cli->json) {
		obj = json_pack("{s:i, s:s, s:b}", "code", code, "kind",
		    smtp_kind_name(kind), "known", ri != NULL);
		if (ri != NULL) {
			json_object_set_new(obj, "summary",
			    json_string(ri->summary));
			json_object_set_new(obj, "meaning",
			    json_string(ri->meaning));
			json_object_set_new(obj, "causes",
			    json_string(ri->causes));
			json_object_set_new(obj, "check",
			    json_string(ri->check));
			json_object_set_new(obj, "reference",
			    json_string(ri->ref));
		} else
			json_object_set_new(obj, "meaning",
			    json_string(smtp_kind_meaning(kind)));
		json_object_set_new(doc, "reply", obj);
		return ri != NULL;
	}
	fprintf(cli->out, "%s%d%s  %s%s%s", cli_color_on(cli, CLI_C_BOLD),
	    code, cli_color_off(cli), cli_color_on(cli,
	    kind == SMTP_KIND_PERMANENT ? CLI_C_RED : kind ==
	    SMTP_KIND_TEMPORARY ? CLI_C_YELLOW : CLI_C_GREEN),
	    smtp_kind_name(kind), cli_color_off(cli));
	if (ri != NULL)
		fprintf(cli->out, "  %s  (%s)\n", ri->summary, ri->ref);
	else
		fprintf(cli->out, "  (not a registered reply code)\n");
	cli_print_wrapped(cli, "  ", "Kind", LABEL_W, smtp_kind_meaning(kind));
	if (ri != NULL) {
		cli_print_wrapped(cli, "  ", "Meaning", LABEL_W, ri->meaning);
		cli_print_wrapped(cli, "  ", "Causes", LABEL_W, ri->causes);
		cli_print_wrapped(cli, "  ", "Check", LABEL_W, ri->check);
	}
	return ri != NULL;
}

static int
explain_status(const struct cli *cli, const struct smtp_status *st,
    json_t *doc, json_t *notes)
{
	const struct smtp_status_info *si, *subj;
	enum smtp_kind kind = smtp_class_kind(st->cls);
	char	 code[32], buf[64], line[256];
	json_t	*obj;

	snprintf(code, sizeof(code), "%d.%d.%d", st->cls, st->subject,
	    st->detail);
	si = smtp_status_lookup(st->subject, st->detail);
	subj = smtp_subject_lookup(st->subject);
	if (si != NULL && !(si->classes & SMTP_CLASS_BIT(st->cls))) {
		snprintf(line, sizeof(line), "X.%d.%d is registered for %s"
		    " only; %s is unusual", st->subject, st->detail,
		    classes_text(si->classes, buf, sizeof(buf)), code);
		json_array_append_new(notes, json_string(line));
	}
	if (cli->json) {
		obj = json_pack("{s:s, s:i, s:i, s:i, s:s, s:b}", "code", code,
		    "class", st->cls, "subject", st->subject, "detail",
		    st->detail, "kind", smtp_kind_name(kind), "known",
		    si != NULL);
		json_object_set_new(obj, "class_meaning",
		    json_string(smtp_kind_meaning(kind)));
		if (subj != NULL)
			json_object_set_new(obj, "subject_summary",
			    json_string(subj->summary));
		if (si != NULL) {
			json_object_set_new(obj, "summary",
			    json_string(si->summary));
			json_object_set_new(obj, "meaning",
			    json_string(si->meaning));
			json_object_set_new(obj, "check",
			    json_string(si->check));
			json_object_set_new(obj, "reference",
			    json_string(si->ref));
		}
		json_object_set_new(doc, "enhanced", obj);
		return si != NULL;
	}
	fprintf(cli->out, "%s%s%s  %s%s%s", cli_color_on(cli, CLI_C_BOLD),
	    code, cli_color_off(cli), cli_color_on(cli,
	    kind == SMTP_KIND_PERMANENT ? CLI_C_RED : kind ==
	    SMTP_KIND_TEMPORARY ? CLI_C_YELLOW : CLI_C_GREEN),
	    smtp_kind_name(kind), cli_color_off(cli));
	if (si != NULL)
		fprintf(cli->out, "  %s  (%s)\n", si->summary, si->ref);
	else
		fprintf(cli->out, "  (detail %d of subject %d is not"
		    " registered)\n", st->detail, st->subject);
	snprintf(line, sizeof(line), "%d: %s", st->cls,
	    smtp_kind_meaning(kind));
	cli_print_wrapped(cli, "  ", "Class", LABEL_W, line);
	if (subj != NULL) {
		snprintf(line, sizeof(line), "%d: %s - %s", st->subject,
		    subj->summary, subj->meaning);
		cli_print_wrapped(cli, "  ", "Subject", LABEL_W, line);
	} else {
		snprintf(line, sizeof(line), "%d: not a registered subject"
		    " (0 to 7 are)", st->subject);
		cli_print_wrapped(cli, "  ", "Subject", LABEL_W, line);
	}
	if (si != NULL) {
		cli_print_wrapped(cli, "  ", "Meaning", LABEL_W, si->meaning);
		cli_print_wrapped(cli, "  ", "Check", LABEL_W, si->check);
	}
	return si != NULL;
}

static int
list_all(const struct cli *cli)
{
	const struct smtp_reply_info *ri;
	const struct smtp_status_info *si;
	json_t	*doc, *arr, *obj;
	char	 buf[64];
	size_t	 i;

	if (cli->json) {
		doc = json_object();
		arr = json_array();
		for (i = 0; (ri = smtp_reply_at(i)) != NULL; i++)
			json_array_append_new(arr, json_pack("{s:i, s:s, s:s,"
			    " s:s, s:s, s:s, s:s}", "code", ri->code, "kind",
			    smtp_kind_name(smtp_reply_kind(ri->code)),
			    "summary", ri->summary, "meaning", ri->meaning,
			    "causes", ri->causes, "check", ri->check,
			    "reference", ri->ref));
		json_object_set_new(doc, "reply_codes", arr);
		arr = json_array();
		for (i = 0; (si = smtp_status_at(i)) != NULL; i++) {
			if (si->detail < 0)
				snprintf(buf, sizeof(buf), "X.%d.XXX",
				    si->subject);
			else
				snprintf(buf, sizeof(buf), "X.%d.%d",
				    si->subject, si->detail);
			obj = json_pack("{s:s, s:s, s:s, s:s}", "code", buf,
			    "summary", si->summary, "meaning", si->meaning,
			    "reference", si->ref);
			if (si->check != NULL)
				json_object_set_new(obj, "check",
				    json_string(si->check));
			json_object_set_new(obj, "classes", json_string(
			    classes_text(si->classes, buf, sizeof(buf))));
			json_array_append_new(arr, obj);
		}
		json_object_set_new(doc, "enhanced_codes", arr);
		cli_json_print(cli, doc);
		json_decref(doc);
		return CLI_EXIT_FOUND;
	}
	fprintf(cli->out, "%sReply codes%s\n", cli_color_on(cli, CLI_C_BOLD),
	    cli_color_off(cli));
	for (i = 0; (ri = smtp_reply_at(i)) != NULL; i++)
		fprintf(cli->out, "  %d  %-12s %s\n", ri->code,
		    smtp_kind_name(smtp_reply_kind(ri->code)), ri->summary);
	fprintf(cli->out, "\n%sEnhanced status codes%s\n",
	    cli_color_on(cli, CLI_C_BOLD), cli_color_off(cli));
	for (i = 0; (si = smtp_status_at(i)) != NULL; i++) {
		if (si->detail < 0)
			fprintf(cli->out, "  %sX.%d.XXX  %s%s\n",
			    cli_color_on(cli, CLI_C_BOLD), si->subject,
			    si->summary, cli_color_off(cli));
		else {
			snprintf(buf, sizeof(buf), "X.%d.%d", si->subject,
			    si->detail);
			fprintf(cli->out, "  %-8s %s\n", buf, si->summary);
		}
	}
	return CLI_EXIT_FOUND;
}

int
cmd_explain(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "list",	no_argument,	NULL, OPT_LIST },
		{ NULL, 0, NULL, 0 }
	};
	struct codes	 c;
	json_t		*doc = NULL, *notes = NULL;
	int		 ch, done = 0, list = 0, known = 1, i;
	int		 rc = CLI_EXIT_ERROR;
	enum smtp_kind	 rk, sk;
	char		 line[256];

	memset(&c, 0, sizeof(c));
	while ((ch = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (cli_common_option(cli, ch, optarg, help, &done)) {
			if (done)
				return CLI_EXIT_FOUND;
			continue;
		}
		if (ch == OPT_LIST) {
			list = 1;
			continue;
		}
		return cli_bad_option(cli, ch, argv);
	}
	cli_setup_output(cli);
	if (list) {
		if (optind < argc)
			return cli_usage_error(cli, "--list takes no code");
		return list_all(cli);
	}
	if (optind >= argc)
		return cli_usage_error(cli, "which code? e.g. mailtrail explain"
		    " 550 5.1.1");
	if (argc - optind > 2)
		return cli_usage_error(cli, "at most a reply code and an"
		    " enhanced status code");
	for (i = optind; i < argc; i++)
		if (take_arg(cli, argv[i], &c) < 0)
			return CLI_EXIT_ERROR;
	if ((doc = json_object()) == NULL || (notes = json_array()) == NULL) {
		cli_error(cli, "out of memory");
		goto out;
	}
	if (c.reply != 0 && c.has_status) {
		rk = smtp_reply_kind(c.reply);
		sk = smtp_class_kind(c.status.cls);
		if (rk != sk && rk != SMTP_KIND_INTERMEDIATE) {
			snprintf(line, sizeof(line), "the reply code says %s,"
			    " the enhanced code %s: the reply code is what the"
			    " sending server acts on", smtp_kind_name(rk),
			    smtp_kind_name(sk));
			json_array_append_new(notes, json_string(line));
		}
	}
	if (c.reply != 0)
		known &= explain_reply(cli, c.reply, doc);
	if (c.has_status) {
		if (c.reply != 0 && !cli->json)
			fputc('\n', cli->out);
		known &= explain_status(cli, &c.status, doc, notes);
	}
	if (cli->json) {
		json_object_set_new(doc, "notes", notes);
		notes = NULL;
		cli_json_print(cli, doc);
	} else {
		size_t	 k;

		for (k = 0; k < json_array_size(notes); k++)
			cli_print_wrapped(cli, "", "Note:", 6,
			    json_string_value(json_array_get(notes, k)));
	}
	rc = known ? CLI_EXIT_FOUND : CLI_EXIT_NOTFOUND;
out:
	json_decref(notes);
	json_decref(doc);
	return rc;
}
