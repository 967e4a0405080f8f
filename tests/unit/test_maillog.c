/*
 * test_maillog.c - the mail-log line parser: every kind of line, every
 * field, the frames and stamps, year inference, and bad input.
 *
 * Lines are written in Postfix 3.7 and Sendmail 8.17 formats, or copied
 * one by one from the corpus logs (../shared/corpus/maillog, named in the
 * case).  The whole corpus is compared in test_maillog_corpus.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "mailtrail/maillog.h"

/* 2023-06-01T00:00:00Z: the reference time of most cases. */
#define REF_US		(INT64_C(1685577600) * 1000000)

/*
 * A field a case does not name is not checked (NULL, 0).  NONE: the field
 * must be absent; ZERO: the number must be 0.
 */
static const char absent[] = "(absent)";
#define NONE	absent
#define ZERO	(-1)

struct want {
	const char	*name;
	const char	*line;
	enum mlog_kind	 kind;
	enum mlog_mta	 mta;
	const char	*time;		/* "YYYY-mm-ddTHH:MM:SS.uuuuuuZ" */
	const char	*program;
	const char	*queue_id;
	const char	*recipient;
	const char	*orig_recipient;
	const char	*relay;
	const char	*dsn;
	enum mlog_status status;
	const char	*status_word;
	const char	*reply;
	int		 reply_code;
	const char	*next_queue_id;
	const char	*sender;
	long long	 size;
	int		 nrcpt;
	const char	*message_id;
	const char	*client;
	const char	*related_queue_id;
	double		 delay;
	const char	*mailer;
};

static void
fmt_time(char *buf, size_t sz, int64_t us)
{
	time_t		 t = (time_t)(us / 1000000);
	struct tm	 tm;

	gmtime_r(&t, &tm);
	snprintf(buf, sz, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(us % 1000000));
}

static void
check_str(const char *name, const char *field, struct mlog_str got,
    const char *want)
{
	if (want == NULL)
		return;
	if (want == absent) {
		if (got.p != NULL)
			fail_msg("%s: %s: got \"%.*s\", want absent", name,
			    field, (int)got.len, got.p);
		return;
	}
	if (got.p == NULL)
		fail_msg("%s: %s: got absent, want \"%s\"", name, field, want);
	if (got.len != strlen(want) || memcmp(got.p, want, got.len) != 0)
		fail_msg("%s: %s: got \"%.*s\", want \"%s\"", name, field,
		    (int)got.len, got.p, want);
}

static void
check(const struct want *w, const struct mlog_event *ev)
{
	char	 t[64];

	if (ev->kind != w->kind)
		fail_msg("%s: kind: got %s, want %s", w->name,
		    mlog_kind_name(ev->kind), mlog_kind_name(w->kind));
	if (ev->mta != w->mta)
		fail_msg("%s: mta: got %s, want %s", w->name,
		    mlog_mta_name(ev->mta), mlog_mta_name(w->mta));
	if (w->time != NULL) {
		fmt_time(t, sizeof(t), ev->time_us);
		if (strcmp(t, w->time) != 0)
			fail_msg("%s: time: got %s, want %s", w->name, t,
			    w->time);
	}
	check_str(w->name, "program", ev->program, w->program);
	check_str(w->name, "queue_id", ev->queue_id, w->queue_id);
	check_str(w->name, "recipient", ev->recipient, w->recipient);
	check_str(w->name, "orig_recipient", ev->orig_recipient,
	    w->orig_recipient);
	check_str(w->name, "relay", ev->relay, w->relay);
	check_str(w->name, "dsn", ev->dsn, w->dsn);
	/* A delivery case that names no status does not check it. */
	if (ev->status != w->status && !(w->status == MLOG_STATUS_NONE &&
	    ev->kind == MLOG_DELIVERY))
		fail_msg("%s: status: got %s, want %s", w->name,
		    mlog_status_name(ev->status), mlog_status_name(w->status));
	check_str(w->name, "status_word", ev->status_word, w->status_word);
	check_str(w->name, "reply", ev->reply, w->reply);
	if (w->reply_code != 0 && ev->reply_code !=
	    (w->reply_code == ZERO ? 0 : w->reply_code))
		fail_msg("%s: reply_code: got %d, want %d", w->name,
		    ev->reply_code, w->reply_code);
	check_str(w->name, "next_queue_id", ev->next_queue_id,
	    w->next_queue_id);
	check_str(w->name, "sender", ev->sender, w->sender);
	if (w->size != 0 && ev->size != w->size)
		fail_msg("%s: size: got %lld, want %lld", w->name, ev->size,
		    w->size);
	if (w->nrcpt != 0 && ev->nrcpt != w->nrcpt)
		fail_msg("%s: nrcpt: got %d, want %d", w->name, ev->nrcpt,
		    w->nrcpt);
	check_str(w->name, "message_id", ev->message_id, w->message_id);
	check_str(w->name, "client", ev->client, w->client);
	check_str(w->name, "related_queue_id", ev->related_queue_id,
	    w->related_queue_id);
	if (w->delay != 0 && (ev->delay < w->delay - 1e-9 ||
	    ev->delay > w->delay + 1e-9))
		fail_msg("%s: delay: got %g, want %g", w->name, ev->delay,
		    w->delay);
	check_str(w->name, "mailer", ev->mailer, w->mailer);
}

static const struct want postfix_cases[] = {
	{ .name = "smtp sent, queued as (Postfix 3.7)",
	  .line = "Mar 14 10:00:01 mx1 postfix/smtp[4242]: 4ABC123DEF: "
	    "to=<bob@example.net>, relay=mx.example.net[192.0.2.7]:25, "
	    "delay=1.2, delays=0.1/0.02/0.5/0.58, dsn=2.0.0, status=sent "
	    "(250 2.0.0 Ok: queued as 9F00AA12B)",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_POSTFIX,
	  .time = "2023-03-14T10:00:01.000000Z", .program = "postfix/smtp",
	  .queue_id = "4ABC123DEF", .recipient = "bob@example.net",
	  .orig_recipient = NONE, .relay = "mx.example.net[192.0.2.7]:25",
	  .dsn = "2.0.0", .status = MLOG_STATUS_SENT,
	  .reply = "250 2.0.0 Ok: queued as 9F00AA12B", .reply_code = 250,
	  .next_queue_id = "9F00AA12B", .delay = 1.2, .mailer = "smtp" },
	{ .name = "smtp deferred, reply holding ')' and nested parentheses",
	  .line = "Mar 14 10:00:02 mx1 postfix/smtp[4242]: 4ABC123DEF: "
	    "to=<carol@example.org>, orig_to=<c@example.org>, "
	    "relay=mx.example.org[198.51.100.2]:25, delay=300, "
	    "delays=0.1/0/30/270, dsn=4.7.0, status=deferred (host "
	    "mx.example.org[198.51.100.2] said: 421 4.7.0 Try later :) (see "
	    "https://example.org/(why)) (in reply to end of DATA command))",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_POSTFIX,
	  .recipient = "carol@example.org", .orig_recipient = "c@example.org",
	  .dsn = "4.7.0", .status = MLOG_STATUS_DEFERRED,
	  .status_word = "deferred",
	  .reply = "host mx.example.org[198.51.100.2] said: 421 4.7.0 Try "
	    "later :) (see https://example.org/(why)) (in reply to end of "
	    "DATA command)", .reply_code = 421, .next_queue_id = NONE,
	  .delay = 300 },
	{ .name = "smtp bounced, 5xx said",
	  .line = "Mar 14 10:00:03 mx1 postfix/smtp[4243]: 4ABC123DEF: "
	    "to=<nobody@example.com>, relay=mx.example.com[203.0.113.9]:25, "
	    "delay=0.9, delays=0.01/0/0.4/0.49, dsn=5.1.1, status=bounced "
	    "(host mx.example.com[203.0.113.9] said: 550 5.1.1 <nobody@"
	    "example.com>: Recipient address rejected: User unknown (in "
	    "reply to RCPT TO command))",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_POSTFIX, .dsn = "5.1.1",
	  .status = MLOG_STATUS_BOUNCED, .reply_code = 550 },
	{ .name = "lmtp to dovecot, multi-instance name",
	  .line = "Mar 14 10:00:04 mx1 postfix-in/lmtp[77]: 7EE668039: "
	    "to=<admin@example.com>, relay=127.0.0.1[127.0.0.1]:2525, "
	    "delay=3.6, delays=0.2/0.02/0.04/3.3, dsn=2.0.0, status=sent "
	    "(250 2.0.0 Ok: queued as 153053D)",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_POSTFIX,
	  .program = "postfix-in/lmtp", .next_queue_id = "153053D",
	  .mailer = "lmtp" },
	{ .name = "local forwarded as",
	  .line = "Mar 14 10:00:05 mx1 postfix/local[99]: 0D7037A4: "
	    "to=<postfix@fangorn.example>, orig_to=<root>, relay=local, "
	    "delay=0.07, delays=0.04/0/0/0.03, dsn=2.0.0, status=sent "
	    "(forwarded as 4PbCHL0dnPz3tG3)",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_POSTFIX, .relay = "local",
	  .orig_recipient = "root", .next_queue_id = "4PbCHL0dnPz3tG3",
	  .reply_code = ZERO, .mailer = "local" },
	{ .name = "local bounced, unbracketed to=",
	  .line = "Mar 14 10:00:06 mx1 postfix/local[99]: 892A0205B6: "
	    "to=ghdsgfhdslfh@localhost, relay=local, delay=0.05, "
	    "delays=0.02/0/0/0.02, dsn=5.1.1, status=bounced (unknown user: "
	    "\"ghdsgfhdslfh\")",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_POSTFIX,
	  .recipient = "ghdsgfhdslfh@localhost", .status = MLOG_STATUS_BOUNCED,
	  .reply = "unknown user: \"ghdsgfhdslfh\"" },
	{ .name = "virtual",
	  .line = "Mar 14 10:00:07 mx1 postfix/virtual[5]: B657F2DB195D: "
	    "to=<postmaster@example.com>, relay=virtual, delay=0.52, "
	    "delays=0.51/0.01/0/0, dsn=2.0.0, status=sent (delivered to "
	    "maildir)",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_POSTFIX, .relay = "virtual",
	  .status = MLOG_STATUS_SENT, .reply = "delivered to maildir",
	  .mailer = "virtual" },
	{ .name = "pipe to dovecot (logsums, 10025 instance)",
	  .line = "2023-03-14T00:08:36.037498+01:00 mail postfix/pipe[1]: "
	    "4PbC4z6W5Qz3tG3: to=<user01.test@uhu-banane.net>, relay=dovecot, "
	    "delay=0.12, delays=0.03/0/0/0.08, dsn=2.0.0, status=sent "
	    "(delivered via dovecot service)",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_POSTFIX,
	  .time = "2023-03-13T23:08:36.037498Z",
	  .queue_id = "4PbC4z6W5Qz3tG3", .relay = "dovecot",
	  .next_queue_id = NONE, .mailer = "pipe" },
	{ .name = "error agent, deferred",
	  .line = "Mar 14 10:00:08 mx1 postfix/error[8]: 2DC5552A34: "
	    "to=<user@yahoo.example>, relay=none, delay=63495, "
	    "delays=63350/144/0/0, dsn=4.4.2, status=deferred (delivery "
	    "temporarily suspended: lost connection with mta7.example[98."
	    "136.216.22] while sending RCPT TO)",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_POSTFIX, .relay = "none",
	  .status = MLOG_STATUS_DEFERRED, .delay = 63495, .mailer = "error" },
	{ .name = "error agent, undeliverable-but-not-cached",
	  .line = "Mar 14 10:00:09 mx1 postfix/error[8]: 3E29030F8637E: "
	    "to=<user@yahoo.example>, relay=none, delay=0.01, "
	    "delays=0.01/0/0/0, dsn=5.1.1, status=undeliverable-but-not-"
	    "cached (User unknown in virtual alias table)",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_POSTFIX,
	  .status = MLOG_STATUS_UNDELIVERABLE,
	  .status_word = "undeliverable-but-not-cached" },
	{ .name = "retry agent",
	  .line = "Mar 14 10:00:10 mx1 postfix/retry[8]: 3E29030F8637E: "
	    "to=<u@example.com>, relay=none, delay=9000, "
	    "delays=9000/0/0/0, dsn=4.4.1, status=deferred (delivery "
	    "temporarily suspended: connect to mx.example.com[192.0.2.1]:25: "
	    "Connection refused)",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_POSTFIX,
	  .status = MLOG_STATUS_DEFERRED, .mailer = "retry" },
	{ .name = "discard agent",
	  .line = "Mar 14 10:00:11 mx1 postfix/discard[9]: 25F2E5E061: "
	    "to=<george@test.example.com>, relay=none, delay=0.05, "
	    "delays=0.05/0/0/0, dsn=2.0.0, status=sent (test.example.com)",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_POSTFIX,
	  .status = MLOG_STATUS_DISCARDED, .reply = "test.example.com" },
	{ .name = "probe: deliverable is not a delivery",
	  .line = "Mar 14 10:00:12 mx1 postfix/smtp[9]: 25F2E5E062: "
	    "to=<a@example.com>, relay=mx[192.0.2.1]:25, delay=0.5, "
	    "delays=0/0/0.2/0.3, dsn=2.1.5, status=deliverable (250 2.1.5 Ok)",
	  .kind = MLOG_IGNORED, .mta = MLOG_MTA_POSTFIX },
	{ .name = "smtp: tls= and conn_use= fields",
	  .line = "Mar 14 10:00:13 mx1 postfix/smtp[9]: 7EE668039: "
	    "to=<user@example.com>, relay=mail.example.com[1.2.3.4]:25, "
	    "conn_use=2, delay=3.6, delays=0.08/0.02/0.85/0.14, "
	    "tls=dane/!requiretls:nocertmatch, dsn=2.1.5, status=sent (250 "
	    "2.0.0 Ok: queued as 153053D)",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_POSTFIX, .dsn = "2.1.5",
	  .next_queue_id = "153053D" },
	{ .name = "amavis hop: reply names the next queue ID (logsums)",
	  .line = "2023-03-14T00:08:35.948639+01:00 mail postfix/amavis/smtp"
	    "[2]: 4PbC4x469Jz3tBr: to=<user01.test@uhu-banane.net>, orig_to="
	    "<frank@brehm-berlin.de>, relay=127.0.0.1[127.0.0.1]:10024, "
	    "delay=2.3, delays=0.1/0/0/2.2, dsn=2.0.0, status=sent (250 "
	    "2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as "
	    "4PbC4z6W5Qz3tG3)",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_POSTFIX,
	  .program = "postfix/amavis/smtp", .queue_id = "4PbC4x469Jz3tBr",
	  .orig_recipient = "frank@brehm-berlin.de",
	  .next_queue_id = "4PbC4z6W5Qz3tG3", .mailer = "smtp" },
	{ .name = "qmgr from= size= nrcpt=",
	  .line = "Mar 14 10:00:14 mx1 postfix/qmgr[3]: 0F5383D: "
	    "from=<owner-postfix-users@postfix.example>, size=5360, nrcpt=1 "
	    "(queue active)",
	  .kind = MLOG_QUEUED, .mta = MLOG_MTA_POSTFIX, .queue_id = "0F5383D",
	  .sender = "owner-postfix-users@postfix.example", .size = 5360,
	  .nrcpt = 1 },
	{ .name = "qmgr null sender",
	  .line = "Mar 14 10:00:15 mx1 postfix/qmgr[3]: 4F5C64474F: from=<>, "
	    "size=1315, nrcpt=12 (queue active)",
	  .kind = MLOG_QUEUED, .mta = MLOG_MTA_POSTFIX, .sender = "",
	  .size = 1315, .nrcpt = 12 },
	{ .name = "qmgr removed",
	  .line = "Mar 14 10:00:16 mx1 postfix/qmgr[3]: 0F5383D: removed",
	  .kind = MLOG_REMOVED, .mta = MLOG_MTA_POSTFIX,
	  .queue_id = "0F5383D" },
	{ .name = "qmgr expired",
	  .line = "Sep 30 20:46:08 smtpnode16 postfix-239.58.50.50/qmgr"
	    "[31214]: 23EBE3D5C0: from=<h-498b@h-5e67.com>, status=expired, "
	    "returned to sender",
	  .kind = MLOG_EXPIRED, .mta = MLOG_MTA_POSTFIX,
	  .time = "2022-09-30T20:46:08.000000Z", .sender = "h-498b@h-5e67.com",
	  .status = MLOG_STATUS_EXPIRED, .reply = "returned to sender" },
	{ .name = "bounce: sender non-delivery notification",
	  .line = "Sep 30 20:46:08 smtpnode16 postfix-239.58.50.50/bounce"
	    "[23567]: 23EBE3D5C0: sender non-delivery notification: "
	    "A7E673C067",
	  .kind = MLOG_NOTIFY, .mta = MLOG_MTA_POSTFIX,
	  .queue_id = "23EBE3D5C0", .related_queue_id = "A7E673C067",
	  .status_word = "sender non-delivery notification", .reply = NONE },
	{ .name = "bounce: delivery status notification",
	  .line = "Mar 14 10:00:17 mx1 postfix/bounce[5]: 65AFB8B5: sender "
	    "delivery status notification: 1DF35917",
	  .kind = MLOG_NOTIFY, .mta = MLOG_MTA_POSTFIX,
	  .related_queue_id = "1DF35917" },
	{ .name = "bounce: delay notification",
	  .line = "Mar 14 10:00:18 mx1 postfix/bounce[5]: 264FE1A18: sender "
	    "delay notification: 0A87A1A08",
	  .kind = MLOG_NOTIFY, .mta = MLOG_MTA_POSTFIX,
	  .related_queue_id = "0A87A1A08" },
	{ .name = "cleanup message-id",
	  .line = "Mar 14 10:00:19 mx1 postfix/cleanup[6]: 0F5383D: "
	    "message-id=<544D2523.30609@rhsoft.example>",
	  .kind = MLOG_MESSAGE_ID, .mta = MLOG_MTA_POSTFIX,
	  .message_id = "544D2523.30609@rhsoft.example" },
	{ .name = "cleanup empty message-id",
	  .line = "Mar 14 10:00:19 mx1 postfix/cleanup[6]: 4104E3D: "
	    "message-id=<>",
	  .kind = MLOG_MESSAGE_ID, .mta = MLOG_MTA_POSTFIX, .message_id = "" },
	{ .name = "smtpd client=",
	  .line = "Mar 14 10:00:20 mx1 postfix/smtpd[7]: 4104E3D: "
	    "client=static.example.com[61.238.241.86]",
	  .kind = MLOG_CLIENT, .mta = MLOG_MTA_POSTFIX,
	  .client = "static.example.com[61.238.241.86]",
	  .related_queue_id = NONE },
	{ .name = "smtpd client= with SASL and orig_queue_id (content filter)",
	  .line = "Oct 13 16:40:42 ucs postfix/smtpd[18581]: ED01244770: "
	    "client=localhost[127.0.0.1], orig_queue_id=4F5C64474F, "
	    "orig_client=unknown[28.55.140.112]",
	  .kind = MLOG_CLIENT, .mta = MLOG_MTA_POSTFIX,
	  .client = "localhost[127.0.0.1]", .related_queue_id = "4F5C64474F" },
	{ .name = "pickup uid= from=",
	  .line = "Mar 14 10:00:21 mx1 postfix/pickup[8]: D2FAE20586: uid=0 "
	    "from=<fail2ban>",
	  .kind = MLOG_CLIENT, .mta = MLOG_MTA_POSTFIX, .client = "uid=0",
	  .sender = "fail2ban" },
	{ .name = "NOQUEUE reject RCPT",
	  .line = "Mar 14 10:00:22 mx1 postfix/smtpd[7]: NOQUEUE: reject: "
	    "RCPT from unknown[192.0.2.99]: 554 5.7.1 <x@example.net>: Relay "
	    "access denied; from=<spam@example.biz> to=<x@example.net> "
	    "proto=ESMTP helo=<spammer>",
	  .kind = MLOG_REJECT, .mta = MLOG_MTA_POSTFIX, .queue_id = NONE,
	  .client = "unknown[192.0.2.99]",
	  .reply = "554 5.7.1 <x@example.net>: Relay access denied",
	  .reply_code = 554, .dsn = "5.7.1", .sender = "spam@example.biz",
	  .recipient = "x@example.net" },
	{ .name = "NOQUEUE reject, reply holding ';'",
	  .line = "Mar 14 10:00:23 mx1 postfix/smtpd[7]: NOQUEUE: reject: "
	    "RCPT from news.example[192.36.205.58]: 554 5.7.1 Service "
	    "unavailable; Helo command [news.example] blocked using "
	    "dbl.example; from=<mar@news.example> to=<u@example.com> "
	    "proto=ESMTP helo=<news.example>",
	  .kind = MLOG_REJECT, .mta = MLOG_MTA_POSTFIX,
	  .reply = "554 5.7.1 Service unavailable; Helo command [news."
	    "example] blocked using dbl.example", .recipient = "u@example.com" },
	{ .name = "NOQUEUE milter-reject",
	  .line = "Mar 14 10:00:24 mx1 postfix/smtpd[7]: NOQUEUE: "
	    "milter-reject: RCPT from relay.example[8.8.8.8]: 451 4.7.1 "
	    "Greylisting in action, please come back later; from=<s@example."
	    "com> to=<r@example.org> proto=ESMTP helo=<relay.example>",
	  .kind = MLOG_REJECT, .mta = MLOG_MTA_POSTFIX, .reply_code = 451,
	  .dsn = "4.7.1", .recipient = "r@example.org" },
	{ .name = "cleanup milter-reject with queue ID, no reply code "
	    "(youyo test-milter.log)",
	  .line = "2021-02-06T10:57:58+01:00 mail.server.com postfix/cleanup"
	    "[59586]: D6DDA23B0F: milter-reject: END-OF-MESSAGE from unknown"
	    "[99.88.77.66]: 4.7.1 Greylisting in action, try again later; "
	    "from=<user2@example.com> to=<some.dest@destdomain.com> "
	    "proto=ESMTP helo=<host.sender.domain>",
	  .kind = MLOG_REJECT, .mta = MLOG_MTA_POSTFIX,
	  .time = "2021-02-06T09:57:58.000000Z", .queue_id = "D6DDA23B0F",
	  .reply = "4.7.1 Greylisting in action, try again later",
	  .reply_code = ZERO, .dsn = "4.7.1", .client = "unknown[99.88.77.66]" },
	{ .name = "smtpd reject with a queue ID (a later RCPT of a transaction)",
	  .line = "Mar 14 10:00:24 mx1 postfix/smtpd[7]: 4ABC123DEF: reject: "
	    "RCPT from x.example[192.0.2.8]: 550 5.1.1 <no@example.com>: "
	    "Recipient address rejected: User unknown in local recipient "
	    "table; from=<s@example.org> to=<no@example.com> proto=ESMTP "
	    "helo=<x.example>",
	  .kind = MLOG_REJECT, .mta = MLOG_MTA_POSTFIX,
	  .queue_id = "4ABC123DEF", .recipient = "no@example.com",
	  .sender = "s@example.org", .reply_code = 550, .dsn = "5.1.1",
	  .client = "x.example[192.0.2.8]" },
	{ .name = "lmtp reply without a next queue ID",
	  .line = "Mar 14 10:00:24 mx1 postfix/lmtp[7]: AD6E41CDC05C: "
	    "to=<admin@example.com>, relay=sub1.example.com[private/dovecot-"
	    "lmtp], delay=0.15, delays=0.04/0/0.02/0.08, dsn=2.0.0, "
	    "status=sent (250 2.0.0 <admin@example.com> qYyyBMsl9FRuZQAAA15QOA "
	    "Saved)",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_POSTFIX,
	  .relay = "sub1.example.com[private/dovecot-lmtp]",
	  .next_queue_id = NONE, .reply_code = 250 },
	{ .name = "cleanup header reject (parse-syslog-mail cpan-rt-28807)",
	  .line = "Aug 13 16:06:58 host postfix/cleanup[1]: 8B7EF2BB7: "
	    "reject: header Date: Mon, 18 Jan 2038 19:07:11 +0800 from "
	    "unknown[192.168.7.245]; from=<b@easterndalek.example> "
	    "to=<service@exterminate.example> proto=ESMTP: Message content "
	    "rejected",
	  .kind = MLOG_REJECT, .mta = MLOG_MTA_POSTFIX,
	  .client = "unknown[192.168.7.245]",
	  .reply = "Message content rejected",
	  .recipient = "service@exterminate.example" },
	{ .name = "milter-hold is not tracked",
	  .line = "2021-02-19T14:32:14.976132+01:00 smtp01 postfix/cleanup"
	    "[52106] E89FA2DEDA: milter-hold: END-OF-MESSAGE from x[10.1.1.1]:"
	    " milter triggers HOLD action; from=<> to=<u@example.com> "
	    "proto=ESMTP helo=<x>",
	  .kind = MLOG_IGNORED, .mta = MLOG_MTA_POSTFIX,
	  .time = "2021-02-19T13:32:14.976132Z", .queue_id = "E89FA2DEDA" },
	{ .name = "no colon after [pid] (youyo test-milter.log)",
	  .line = "2021-02-19T14:32:14.936091+01:00 smtp01.example.org "
	    "postfix/smtpd[58176] E89FA2DEDA: client=srv05.source.com"
	    "[10.11.12.13]",
	  .kind = MLOG_CLIENT, .mta = MLOG_MTA_POSTFIX,
	  .program = "postfix/smtpd", .queue_id = "E89FA2DEDA",
	  .client = "srv05.source.com[10.11.12.13]" },
	{ .name = "smtp informational line with a queue ID",
	  .line = "Mar 14 10:00:25 mx1 postfix/smtp[9]: ED59C3D: host mail2."
	    "example.com[1.74.253.23] said: 450 4.7.1 Greylisted (in reply "
	    "to RCPT TO command)",
	  .kind = MLOG_IGNORED, .mta = MLOG_MTA_POSTFIX,
	  .queue_id = "ED59C3D" },
	{ .name = "unknown line with a queue ID",
	  .line = "Mar 14 10:00:26 mx1 postfix/qmgr[3]: 0F5383D: frobnicated "
	    "by a future release",
	  .kind = MLOG_UNPARSED, .mta = MLOG_MTA_POSTFIX,
	  .queue_id = "0F5383D" },
	{ .name = "connect from: no queue ID",
	  .line = "Mar 14 10:00:27 mx1 postfix/smtpd[7]: connect from "
	    "unknown[192.0.2.1]",
	  .kind = MLOG_IGNORED, .mta = MLOG_MTA_POSTFIX, .queue_id = NONE },
	{ .name = "warning: word that looks like an ID is not one",
	  .line = "Mar 14 10:00:28 mx1 postfix/smtpd[7]: warning: hostname "
	    "x does not resolve",
	  .kind = MLOG_IGNORED, .mta = MLOG_MTA_POSTFIX, .queue_id = NONE },
	{ .name = "postscreen",
	  .line = "Mar 14 10:00:29 mx1 postfix/postscreen[1]: CONNECT from "
	    "[192.0.2.5]:4242 to [192.0.2.1]:25",
	  .kind = MLOG_IGNORED, .mta = MLOG_MTA_POSTFIX },
	{ .name = "postsuper removed",
	  .line = "Mar 14 10:00:30 mx1 postfix/postsuper[1]: D4F2023DB: "
	    "removed",
	  .kind = MLOG_REMOVED, .mta = MLOG_MTA_POSTFIX },
	{ .name = "postsuper requeued",
	  .line = "Mar 14 10:00:30 mx1 postfix/postsuper[1]: D4F2023DB: "
	    "requeued",
	  .kind = MLOG_IGNORED, .mta = MLOG_MTA_POSTFIX },
	{ .name = "custom syslog_name, known daemon",
	  .line = "Mar 14 10:00:31 mx1 mx-out/qmgr[3]: 0F5383D: removed",
	  .kind = MLOG_REMOVED, .mta = MLOG_MTA_POSTFIX,
	  .program = "mx-out/qmgr" },
	{ .name = "maillog_file line (Postfix 3.7 postlog, day zero-padded)",
	  .line = "Mar 04 09:05:07 vm postfix/smtp[11532]: 4ABC12: to=<a@b."
	    "example>, relay=none, delay=0, delays=0/0/0/0, dsn=5.4.4, "
	    "status=bounced (Host or domain name not found)",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_POSTFIX,
	  .time = "2023-03-04T09:05:07.000000Z", .status = MLOG_STATUS_BOUNCED,
	  .reply_code = ZERO },
	{ .name = "syslog priority prefix",
	  .line = "<22>Mar 14 10:00:32 mx1 postfix/qmgr[3]: 0F5383D: removed",
	  .kind = MLOG_REMOVED, .mta = MLOG_MTA_POSTFIX,
	  .time = "2023-03-14T10:00:32.000000Z" },
	{ .name = "RFC 5424 frame",
	  .line = "<22>1 2023-03-14T10:00:00.5Z mx1 postfix/qmgr 1234 - - "
	    "0F5383D: removed",
	  .kind = MLOG_REMOVED, .mta = MLOG_MTA_POSTFIX,
	  .time = "2023-03-14T10:00:00.500000Z", .program = "postfix/qmgr",
	  .queue_id = "0F5383D" },
	{ .name = "RFC 5424 frame with structured data and BOM",
	  .line = "<22>1 2023-03-14T10:00:00Z mx1 sm-mta 100 - [meta x=\"a\\]"
	    " b\"][origin ip=\"192.0.2.1\"] \xef\xbb\xbf" "2ELA0060000100: done; "
	    "delay=00:00:01, ntries=1",
	  .kind = MLOG_REMOVED, .mta = MLOG_MTA_SENDMAIL,
	  .program = "sm-mta", .queue_id = "2ELA0060000100", .delay = 1 },
	{ .name = "RFC 5424 nil app",
	  .line = "<22>1 2023-03-14T10:00:00Z mx1 - - - - text",
	  .kind = MLOG_NOT_MAIL, .mta = MLOG_MTA_UNKNOWN },
	{ .name = "no host",
	  .line = "Mar 14 10:00:33 postfix/qmgr[3]: 0F5383D: removed",
	  .kind = MLOG_REMOVED, .mta = MLOG_MTA_POSTFIX,
	  .program = "postfix/qmgr" },
	{ .name = "CRLF line end (parse-syslog-mail custom-dsn)",
	  .line = "Mar 14 10:00:34 mx1 postfix/qmgr[3]: 0F5383D: removed\r",
	  .kind = MLOG_REMOVED, .mta = MLOG_MTA_POSTFIX },
	{ .name = "RFC 3339 Z with microseconds",
	  .line = "2023-12-31T23:59:59.999999Z mx1 postfix/qmgr[3]: 0F5383D: "
	    "removed",
	  .kind = MLOG_REMOVED, .time = "2023-12-31T23:59:59.999999Z",
	  .mta = MLOG_MTA_POSTFIX },
	{ .name = "RFC 3339 negative offset, milliseconds",
	  .line = "2023-12-31T20:00:00.5-05:00 mx1 postfix/qmgr[3]: 0F5383D: "
	    "removed",
	  .kind = MLOG_REMOVED, .time = "2024-01-01T01:00:00.500000Z",
	  .mta = MLOG_MTA_POSTFIX },
	{ .name = "RFC 3339 without offset: the parser's zone (UTC here)",
	  .line = "2023-07-01T12:00:00 mx1 postfix/qmgr[3]: 0F5383D: removed",
	  .kind = MLOG_REMOVED, .time = "2023-07-01T12:00:00.000000Z",
	  .mta = MLOG_MTA_POSTFIX },
};

static const struct want sendmail_cases[] = {
	{ .name = "from= (Sendmail 8.17)",
	  .line = "Mar 14 10:00:00 gw sm-mta[100]: 2ELA0060000100: "
	    "from=<alice@example.com>, size=1234, class=0, nrcpts=2, "
	    "msgid=<20230314.abc@example.com>, bodytype=8BITMIME, "
	    "proto=ESMTPS, daemon=MTA, tls_verify=NONE, auth=NONE, "
	    "relay=mail.example.com [192.0.2.10]",
	  .kind = MLOG_QUEUED, .mta = MLOG_MTA_SENDMAIL,
	  .program = "sm-mta", .queue_id = "2ELA0060000100",
	  .sender = "alice@example.com", .size = 1234, .nrcpt = 2,
	  .message_id = "20230314.abc@example.com",
	  .client = "mail.example.com [192.0.2.10]" },
	{ .name = "to= sent with reply",
	  .line = "Mar 14 10:00:01 gw sm-mta[101]: 2ELA0060000100: "
	    "to=<bob@example.net>, delay=00:00:01, xdelay=00:00:01, "
	    "mailer=esmtp, tls_verify=OK, pri=121234, relay=mx.example.net. "
	    "[198.51.100.5], dsn=2.0.0, stat=Sent (Ok: queued as 4QbC3t0x)",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_SENDMAIL,
	  .recipient = "bob@example.net",
	  .relay = "mx.example.net. [198.51.100.5]", .dsn = "2.0.0",
	  .status = MLOG_STATUS_SENT, .reply = "Ok: queued as 4QbC3t0x",
	  .reply_code = ZERO, .next_queue_id = "4QbC3t0x", .delay = 1,
	  .mailer = "esmtp" },
	{ .name = "to= sent to Sendmail: its queue ID in the reply "
	    "(parse-syslog-mail sendmail-plain)",
	  .line = "Jan  6 02:37:33 jupiter sendmail[811]: j061bW9V000809: "
	    "to=cpan-testers@perl.example, ctladdr=maddingue (1000/1000), "
	    "delay=00:00:01, xdelay=00:00:01, mailer=relay, pri=32039, "
	    "relay=[127.0.0.1] [127.0.0.1], dsn=2.0.0, stat=Sent "
	    "(j061bXn5000812 Message accepted for delivery)",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_SENDMAIL,
	  .recipient = "cpan-testers@perl.example", .mailer = "relay",
	  .status = MLOG_STATUS_SENT, .next_queue_id = "j061bXn5000812" },
	{ .name = "to= deferred with code",
	  .line = "Apr  2 00:15:25 mta001 sendmail[12566]: u31FFPtp032300: "
	    "to=<deferred1@example.com>, delay=00:00:15, xdelay=00:00:15, "
	    "mailer=esmtp, pri=34527, relay=[93.184.216.34] [93.184.216.34], "
	    "dsn=4.3.5, stat=Deferred: 451 4.3.5 Server configuration problem",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_SENDMAIL,
	  .status = MLOG_STATUS_DEFERRED,
	  .reply = "451 4.3.5 Server configuration problem",
	  .reply_code = 451, .delay = 15 },
	{ .name = "to= deferred, days in delay (sendmail-fluent-plugin)",
	  .line = "Apr  3 00:15:40 mta001 sendmail[12566]: u31FFPtp032300: "
	    "to=<deferred2@example.com>, delay=1+00:00:15, xdelay=00:00:15, "
	    "mailer=esmtp, pri=34527, relay=[93.184.216.34] [93.184.216.34], "
	    "dsn=4.3.5, stat=Deferred: Connection refused by mx.example.com.",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_SENDMAIL,
	  .status = MLOG_STATUS_DEFERRED, .delay = 86415, .reply_code = ZERO },
	{ .name = "to= user unknown: bounced",
	  .line = "Mar 14 10:00:02 gw sm-mta[102]: 2ELA0060000100: "
	    "to=<nobody@example.net>, delay=00:00:02, xdelay=00:00:01, "
	    "mailer=esmtp, pri=121234, relay=mx.example.net. [198.51.100.5], "
	    "dsn=5.1.1, stat=User unknown",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_SENDMAIL,
	  .status = MLOG_STATUS_BOUNCED, .status_word = "User",
	  .reply = "User unknown",
	  .dsn = "5.1.1" },
	{ .name = "to= refused, the remote's reply in reply= (Sendmail 8.17)",
	  .line = "Dec  7 23:19:10 gw sm-mta[27]: 6B7NJAJs000025: "
	    "to=<refused@remote.example>, delay=00:00:00, xdelay=00:00:00, "
	    "mailer=esmtp, pri=30186, relay=[127.0.0.1] [127.0.0.1], "
	    "dsn=5.3.0, reply=500 5.3.0 Error: command failed, "
	    "stat=Service unavailable",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_SENDMAIL,
	  .recipient = "refused@remote.example",
	  .status = MLOG_STATUS_BOUNCED, .status_word = "Service",
	  .reply = "500 5.3.0 Error: command failed", .reply_code = 500,
	  .dsn = "5.3.0" },
	{ .name = "to= deferred, reply= and stat= both carry the reply",
	  .line = "Dec  7 23:19:09 gw sm-mta[24]: 6B7NJ9r1000022: "
	    "to=<later@remote.example>, delay=00:00:00, xdelay=00:00:00, "
	    "mailer=esmtp, pri=30180, relay=[127.0.0.1] [127.0.0.1], "
	    "dsn=4.3.0, reply=450 4.3.0 Error: command failed, "
	    "stat=Deferred: 450 4.3.0 Error: command failed",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_SENDMAIL,
	  .status = MLOG_STATUS_DEFERRED,
	  .reply = "450 4.3.0 Error: command failed", .reply_code = 450 },
	{ .name = "to= service unavailable, no dsn",
	  .line = "Mar 14 10:00:03 gw sendmail[103]: 2ELA0060000101: "
	    "to=<x@example.net>, delay=00:00:02, mailer=esmtp, pri=1, "
	    "stat=Service unavailable",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_SENDMAIL,
	  .status = MLOG_STATUS_BOUNCED, .dsn = NONE },
	{ .name = "to= local mailer, no relay, bare Sent",
	  .line = "Apr  2 00:15:25 mta001 sendmail[32302]: u31FFPtp032300: "
	    "to=root@localhost.localdomain, ctladdr=root@localhost."
	    "localdomain (0/0), delay=00:00:00, xdelay=00:00:00, "
	    "mailer=local, pri=245938, dsn=2.0.0, stat=Sent",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_SENDMAIL,
	  .recipient = "root@localhost.localdomain", .relay = NONE,
	  .mailer = "local", .status = MLOG_STATUS_SENT, .reply = NONE },
	{ .name = "to= without stat= (parse-syslog-mail sendmail-done)",
	  .line = "Aug  8 12:28:48 ns2 sm-mta[13198]: j78ASk4e013165: "
	    "to=kweek@glurpp, delay=00:00:01, xdelay=00:00:01, "
	    "mailer=cyrusv2, pri=31046, relay=localhost, dsn=2.0.0",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_SENDMAIL,
	  .status = MLOG_STATUS_SENT, .relay = "localhost" },
	{ .name = "empty dsn= at the end, no stat= (found by fuzzing)",
	  .line = "Mar 14 10:00:00 gw sm-mta[1]: 2ELA0060000100: to=<a@b>, dsn=",
	  .kind = MLOG_UNPARSED, .mta = MLOG_MTA_SENDMAIL, .dsn = NONE },
	{ .name = "done; is the end of the queue file",
	  .line = "Aug  8 12:28:48 ns2 sm-mta[13198]: j78ASk4e013165: done; "
	    "delay=00:00:01, ntries=1",
	  .kind = MLOG_REMOVED, .mta = MLOG_MTA_SENDMAIL, .delay = 1 },
	{ .name = "DSN with its new queue ID",
	  .line = "May 20 04:07:05 mailhost sendmail[28499]: j4K970hV028494: "
	    "j4K975hV028499: DSN: Service unavailable",
	  .kind = MLOG_NOTIFY, .mta = MLOG_MTA_SENDMAIL,
	  .queue_id = "j4K970hV028494", .related_queue_id = "j4K975hV028499",
	  .status_word = "DSN", .reply = "Service unavailable" },
	{ .name = "return to sender",
	  .line = "May 20 06:48:50 mailhost sendmail[376]: j4EGMdrM030190: "
	    "j4IIMlJ5000376: return to sender: Cannot send message for 4 days",
	  .kind = MLOG_NOTIFY, .mta = MLOG_MTA_SENDMAIL,
	  .related_queue_id = "j4IIMlJ5000376" },
	{ .name = "postmaster notify",
	  .line = "May 20 04:14:47 mailhost sendmail[8953]: j4K9EjQ0008950: "
	    "j4K9ElQ0008953: postmaster notify: Data format error",
	  .kind = MLOG_NOTIFY, .mta = MLOG_MTA_SENDMAIL,
	  .related_queue_id = "j4K9ElQ0008953", .status_word = "postmaster notify",
	  .reply = "Data format error" },
	{ .name = "sender notify (delay warning)",
	  .line = "May 20 04:03:08 mailhost sendmail[12524]: j4K488I4001736: "
	    "j4K6MJcE012524: sender notify: Warning: could not send message "
	    "for past 4 hours",
	  .kind = MLOG_NOTIFY, .mta = MLOG_MTA_SENDMAIL,
	  .related_queue_id = "j4K6MJcE012524" },
	{ .name = "dead letter",
	  .line = "Mar 14 10:00:04 gw sm-mta[104]: 2ELA0060000102: Saved "
	    "message in /var/tmp/dead.letter",
	  .kind = MLOG_DEADLETTER, .mta = MLOG_MTA_SENDMAIL,
	  .queue_id = "2ELA0060000102", .reply = "/var/tmp/dead.letter" },
	{ .name = "ruleset reject (check_rcpt)",
	  .line = "Mar 14 10:00:05 gw sm-mta[105]: 2ELA0060000103: "
	    "ruleset=check_rcpt, arg1=<x@example.org>, relay=bad.example "
	    "[192.0.2.66], reject=550 5.7.1 <x@example.org>... Relaying "
	    "denied",
	  .kind = MLOG_REJECT, .mta = MLOG_MTA_SENDMAIL,
	  .recipient = "x@example.org", .client = "bad.example [192.0.2.66]",
	  .reply = "550 5.7.1 <x@example.org>... Relaying denied",
	  .reply_code = 550, .dsn = "5.7.1" },
	{ .name = "NOQUEUE ruleset reject",
	  .line = "Mar 14 10:00:06 gw sm-mta[106]: NOQUEUE: ruleset="
	    "check_mail, arg1=<s@nx.example>, relay=bad.example [192.0.2.66],"
	    " reject=553 5.1.8 <s@nx.example>... Domain of sender address "
	    "s@nx.example does not exist",
	  .kind = MLOG_REJECT, .mta = MLOG_MTA_SENDMAIL, .queue_id = NONE,
	  .sender = "s@nx.example", .reply_code = 553, .dsn = "5.1.8" },
	{ .name = "Milter reject",
	  .line = "Mar 14 10:00:07 gw sm-mta[107]: 2ELA0060000104: Milter: "
	    "to=<r@example.com>, reject=550 5.7.1 Command rejected",
	  .kind = MLOG_REJECT, .mta = MLOG_MTA_SENDMAIL,
	  .recipient = "r@example.com", .reply_code = 550 },
	{ .name = "User unknown at RCPT",
	  .line = "May 20 04:03:16 mailhost sendmail[27873]: j4K93AYX027873: "
	    "<nobody@example.edu>... User unknown",
	  .kind = MLOG_REJECT, .mta = MLOG_MTA_SENDMAIL,
	  .recipient = "nobody@example.edu", .reply = "User unknown" },
	{ .name = "Milter: no active filter",
	  .line = "Apr  2 00:15:25 mta001 sendmail[32300]: u31FFPtp032300: "
	    "Milter: no active filter",
	  .kind = MLOG_IGNORED, .mta = MLOG_MTA_SENDMAIL },
	{ .name = "STARTTLS without a queue ID",
	  .line = "Mar 14 10:00:08 gw sm-mta[108]: STARTTLS=client, relay="
	    "mx.example.net., version=TLSv1.3, verify=OK",
	  .kind = MLOG_IGNORED, .mta = MLOG_MTA_SENDMAIL, .queue_id = NONE },
	{ .name = "sm-msp-queue",
	  .line = "Mar 14 10:00:09 gw sm-msp-queue[109]: 2ELA0090000109: "
	    "to=root, ctladdr=root (0/0), delay=00:00:00, xdelay=00:00:00, "
	    "mailer=relay, pri=30000, relay=[127.0.0.1] [127.0.0.1], "
	    "dsn=2.0.0, stat=Sent (2ELA0090000110 Message accepted for "
	    "delivery)",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_SENDMAIL,
	  .program = "sm-msp-queue", .recipient = "root",
	  .next_queue_id = "2ELA0090000110" },
};

static const struct want other_cases[] = {
	{ .name = "another daemon",
	  .line = "Mar 14 10:00:00 mx1 dovecot: lmtp(28700): Connect from local",
	  .kind = MLOG_NOT_MAIL, .mta = MLOG_MTA_UNKNOWN,
	  .program = "dovecot", .queue_id = NONE },
	{ .name = "amavis",
	  .line = "Oct 13 16:40:42 ucs amavis[10410]: (10410-08) Passed SPAM, "
	    "Queue-ID: 4F5C64474F, queued_as: ED01244770",
	  .kind = MLOG_NOT_MAIL, .mta = MLOG_MTA_UNKNOWN },
	{ .name = "no stamp",
	  .line = "ir/)", .kind = MLOG_BAD_STAMP, .mta = MLOG_MTA_UNKNOWN,
	  .time = "1970-01-01T00:00:00.000000Z" },
	{ .name = "bad month",
	  .line = "Foo 14 10:00:00 mx1 postfix/qmgr[3]: 0F5383D: removed",
	  .kind = MLOG_BAD_STAMP, .mta = MLOG_MTA_UNKNOWN },
	{ .name = "hour 24",
	  .line = "Mar 14 24:00:00 mx1 postfix/qmgr[3]: 0F5383D: removed",
	  .kind = MLOG_BAD_STAMP, .mta = MLOG_MTA_UNKNOWN },
	{ .name = "RFC 3339 month 13",
	  .line = "2023-13-01T00:00:00Z mx1 postfix/qmgr[3]: 0F5383D: removed",
	  .kind = MLOG_BAD_STAMP, .mta = MLOG_MTA_UNKNOWN },
	{ .name = "truncated in the stamp",
	  .line = "Mar 14 10:0", .kind = MLOG_BAD_STAMP,
	  .mta = MLOG_MTA_UNKNOWN },
	{ .name = "truncated after the tag",
	  .line = "Mar 14 10:00:00 mx1 postfix/smtp[4", .kind = MLOG_IGNORED,
	  .mta = MLOG_MTA_POSTFIX, .queue_id = NONE },
	{ .name = "truncated in a delivery, before status=",
	  .line = "Mar 14 10:00:00 mx1 postfix/smtp[4]: 4ABC123DEF: to=<bob@ex",
	  .kind = MLOG_UNPARSED, .mta = MLOG_MTA_POSTFIX,
	  .queue_id = "4ABC123DEF" },
	{ .name = "truncated in the reply",
	  .line = "Mar 14 10:00:00 mx1 postfix/smtp[4]: 4ABC123DEF: "
	    "to=<bob@example.net>, relay=x[192.0.2.1]:25, delay=1, "
	    "delays=1/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queu",
	  .kind = MLOG_DELIVERY, .mta = MLOG_MTA_POSTFIX,
	  .reply = "250 2.0.0 Ok: queu", .next_queue_id = NONE },
	{ .name = "empty line", .line = "", .kind = MLOG_IGNORED,
	  .mta = MLOG_MTA_UNKNOWN },
	{ .name = "stamp only",
	  .line = "Mar 14 10:00:00", .kind = MLOG_BAD_STAMP,
	  .mta = MLOG_MTA_UNKNOWN },
	{ .name = "stamp and host only",
	  .line = "Mar 14 10:00:00 mx1 ", .kind = MLOG_NOT_MAIL,
	  .mta = MLOG_MTA_UNKNOWN },
	{ .name = "queue ID too long",
	  .line = "Mar 14 10:00:00 mx1 postfix/qmgr[3]: "
	    "0123456789ABCDEF0123456789ABCDEF0: removed",
	  .kind = MLOG_IGNORED, .mta = MLOG_MTA_POSTFIX, .queue_id = NONE },
};

static void
run_table(const struct want *t, size_t n)
{
	struct mlog_parser	*p;
	struct mlog_event	 ev;
	size_t			 i;

	for (i = 0; i < n; i++) {
		/* A fresh parser: no year carried from the case before. */
		p = mlog_parser_new(REF_US, 0);
		assert_non_null(p);
		mlog_parse(p, t[i].line, strlen(t[i].line), &ev);
		check(&t[i], &ev);
		mlog_parser_free(p);
	}
}

static void
test_postfix_lines(void **state)
{
	(void)state;
	run_table(postfix_cases, sizeof(postfix_cases) /
	    sizeof(postfix_cases[0]));
}

static void
test_sendmail_lines(void **state)
{
	(void)state;
	run_table(sendmail_cases, sizeof(sendmail_cases) /
	    sizeof(sendmail_cases[0]));
}

static void
test_other_lines(void **state)
{
	(void)state;
	run_table(other_cases, sizeof(other_cases) / sizeof(other_cases[0]));
}

/* Frame fields: host, program, pid. */
static void
test_frame(void **state)
{
	static const struct {
		const char	*line;
		const char	*host, *program;
		long		 pid;
	} cases[] = {
		{ "Mar 14 10:00:00 mx1 postfix/10025/smtpd[123]: connect from x",
		  "mx1", "postfix/10025/smtpd", 123 },
		{ "Mar 14 10:00:00 mx1 postfix/qmgr: 0F5383D: removed",
		  "mx1", "postfix/qmgr", -1 },
		{ "Mar 14 10:00:00 mx1 postfix/qmgr[x]: 0F5383D: removed",
		  "mx1", "postfix/qmgr", -1 },
		{ "Mar 14 10:00:00 postfix/qmgr[9]: 0F5383D: removed",
		  NONE, "postfix/qmgr", 9 },
		{ "Mar  4 10:00:00   mx1   sendmail[7]: x", "mx1", "sendmail", 7 },
	};
	struct mlog_parser	*p;
	struct mlog_event	 ev;
	size_t			 i;

	(void)state;
	p = mlog_parser_new(REF_US, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mlog_parse(p, cases[i].line, strlen(cases[i].line), &ev);
		check_str(cases[i].line, "host", ev.host, cases[i].host);
		check_str(cases[i].line, "program", ev.program,
		    cases[i].program);
		if (ev.pid != cases[i].pid)
			fail_msg("%s: pid: got %ld, want %ld", cases[i].line,
			    ev.pid, cases[i].pid);
	}
	mlog_parser_free(p);
}

/* Postfix delays=a/b/c/d. */
static void
test_delays(void **state)
{
	const char		*l = "Mar 14 10:00:00 mx1 postfix/smtp[1]: "
	    "4ABC12: to=<a@b>, relay=none, delay=11, delays=5.4/0.06/5.1/0.03,"
	    " dsn=2.0.0, status=sent (ok)";
	const char		*l2 = "Mar 14 10:00:00 mx1 postfix/smtp[1]: "
	    "4ABC12: to=<a@b>, relay=none, status=sent (ok)";
	struct mlog_parser	*p = mlog_parser_new(REF_US, 0);
	struct mlog_event	 ev;

	(void)state;
	assert_int_equal(mlog_parse(p, l, strlen(l), &ev), MLOG_DELIVERY);
	assert_true(ev.delays[0] > 5.39 && ev.delays[0] < 5.41);
	assert_true(ev.delays[1] > 0.059 && ev.delays[1] < 0.061);
	assert_true(ev.delays[2] > 5.09 && ev.delays[2] < 5.11);
	assert_true(ev.delays[3] > 0.029 && ev.delays[3] < 0.031);
	/* Postfix 2.x logs neither delays= nor dsn=. */
	assert_int_equal(mlog_parse(p, l2, strlen(l2), &ev), MLOG_DELIVERY);
	assert_true(ev.delays[0] == -1 && ev.delays[3] == -1);
	assert_true(ev.delay == -1);
	assert_null(ev.dsn.p);
	mlog_parser_free(p);
}

/* Several recipients on one Sendmail to= line. */
static void
test_multi_recipient(void **state)
{
	const char	*l = "Apr  2 00:15:25 mta001 sendmail[32302]: "
	    "u31FFPtp032300: to=<sent1@example.com>,\"Doe, J\" <j@example.com>,"
	    "plain@example.com, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, "
	    "pri=245938, relay=[93.184.216.34] [93.184.216.34], dsn=2.0.0, "
	    "stat=Sent (ok:  Message 40279894 accepted)";
	static const char *const want[] = {
		"sent1@example.com", "\"Doe, J\" <j@example.com>",
		"plain@example.com"
	};
	struct mlog_parser	*p = mlog_parser_new(REF_US, 0);
	struct mlog_event	 ev;
	uint64_t		 h, seen[3];
	unsigned		 n = 0, i;

	(void)state;
	assert_int_equal(mlog_parse(p, l, strlen(l), &ev), MLOG_DELIVERY);
	h = mlog_line_hash(l, strlen(l));
	do {
		if (n >= 3)
			fail_msg("more than 3 recipients");
		check_str("multi", "recipient", ev.recipient, want[n]);
		assert_int_equal(ev.rcpt_index, n);
		assert_int_equal(ev.status, MLOG_STATUS_SENT);
		check_str("multi", "relay", ev.relay,
		    "[93.184.216.34] [93.184.216.34]");
		seen[n] = mlog_event_hash(h, &ev);
		for (i = 0; i < n; i++)
			assert_true(seen[i] != seen[n]);
		n++;
	} while (mlog_next_recipient(&ev));
	assert_int_equal(n, 3);
	assert_true(seen[0] == h);
	/* Exhausted: nothing changes. */
	assert_int_equal(mlog_next_recipient(&ev), 0);
	check_str("multi", "recipient", ev.recipient, "plain@example.com");
	mlog_parser_free(p);
}

/* Year inference, New Year and the reference time. */
static void
test_year_inference(void **state)
{
	static const struct {
		const char	*line;
		const char	*want;
	} across[] = {
		{ "Dec 30 23:00:00 h postfix/qmgr[1]: 0F5383D: removed",
		  "2022-12-30T23:00:00.000000Z" },
		{ "Dec 31 23:59:59 h postfix/qmgr[1]: 0F5383D: removed",
		  "2022-12-31T23:59:59.000000Z" },
		{ "Jan  1 00:00:01 h postfix/qmgr[1]: 0F5383D: removed",
		  "2023-01-01T00:00:01.000000Z" },
		/* A line a little out of order keeps its year. */
		{ "Dec 31 23:59:58 h postfix/qmgr[1]: 0F5383D: removed",
		  "2022-12-31T23:59:58.000000Z" },
		{ "Jan  2 08:00:00 h postfix/qmgr[1]: 0F5383D: removed",
		  "2023-01-02T08:00:00.000000Z" },
	};
	struct mlog_parser	*p;
	struct mlog_event	 ev;
	char			 t[64];
	size_t			 i;
	/* The file was last written 2023-01-02 09:00 UTC. */
	int64_t			 ref = INT64_C(1672650000) * 1000000;
	const char		*l;

	(void)state;
	p = mlog_parser_new(ref, 0);
	for (i = 0; i < sizeof(across) / sizeof(across[0]); i++) {
		mlog_parse(p, across[i].line, strlen(across[i].line), &ev);
		fmt_time(t, sizeof(t), ev.time_us);
		if (strcmp(t, across[i].want) != 0)
			fail_msg("%s: got %s, want %s", across[i].line, t,
			    across[i].want);
	}
	mlog_parser_free(p);

	/* A stamp just after the reference (clock skew) is this year... */
	p = mlog_parser_new(ref, 0);
	l = "Jan  2 12:00:00 h postfix/qmgr[1]: 0F5383D: removed";
	mlog_parse(p, l, strlen(l), &ev);
	fmt_time(t, sizeof(t), ev.time_us);
	assert_string_equal(t, "2023-01-02T12:00:00.000000Z");
	mlog_parser_free(p);
	/* ...more than a day after it is last year. */
	p = mlog_parser_new(ref, 0);
	l = "Jan  4 12:00:00 h postfix/qmgr[1]: 0F5383D: removed";
	mlog_parse(p, l, strlen(l), &ev);
	fmt_time(t, sizeof(t), ev.time_us);
	assert_string_equal(t, "2022-01-04T12:00:00.000000Z");
	mlog_parser_free(p);

	/* Feb 29 in a leap year. */
	p = mlog_parser_new(INT64_C(1709251200) * 1000000, 0);
	l = "Feb 29 12:00:00 h postfix/qmgr[1]: 0F5383D: removed";
	mlog_parse(p, l, strlen(l), &ev);
	fmt_time(t, sizeof(t), ev.time_us);
	assert_string_equal(t, "2024-02-29T12:00:00.000000Z");
	mlog_parser_free(p);
}

/* Classic stamps in the log's zone; RFC 3339 carries its own. */
static void
test_time_zones(void **state)
{
	const char		*classic = "Jul  1 12:00:00 h postfix/qmgr[1]: "
	    "0F5383D: removed";
	const char		*iso = "2023-07-01T12:00:00+02:00 h "
	    "postfix/qmgr[1]: 0F5383D: removed";
	const char		*frac = "Jul  1 12:00:00.250 h postfix/qmgr[1]: "
	    "0F5383D: removed";
	struct mlog_parser	*p;
	struct mlog_event	 ev;
	char			 t[64];

	(void)state;
	p = mlog_parser_new(REF_US, 2 * 3600);	/* CEST */
	mlog_parse(p, classic, strlen(classic), &ev);
	fmt_time(t, sizeof(t), ev.time_us);
	assert_string_equal(t, "2022-07-01T10:00:00.000000Z");
	mlog_parse(p, iso, strlen(iso), &ev);
	fmt_time(t, sizeof(t), ev.time_us);
	assert_string_equal(t, "2023-07-01T10:00:00.000000Z");
	mlog_parser_free(p);

	p = mlog_parser_new(REF_US, -5 * 3600);
	mlog_parse(p, frac, strlen(frac), &ev);
	fmt_time(t, sizeof(t), ev.time_us);
	assert_string_equal(t, "2022-07-01T17:00:00.250000Z");
	mlog_parser_free(p);

	/* The process's zone: Europe/Berlin in summer and in winter. */
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	p = mlog_parser_new(REF_US, MLOG_TZ_LOCAL);
	mlog_parse(p, iso + 0, strlen(iso), &ev);
	mlog_parse(p, classic, strlen(classic), &ev);
	fmt_time(t, sizeof(t), ev.time_us);
	assert_string_equal(t, "2022-07-01T10:00:00.000000Z");
	classic = "Dec  1 12:00:00 h postfix/qmgr[1]: 0F5383D: removed";
	mlog_parse(p, classic, strlen(classic), &ev);
	fmt_time(t, sizeof(t), ev.time_us);
	assert_string_equal(t, "2022-12-01T11:00:00.000000Z");
	mlog_parser_free(p);
	unsetenv("TZ");
	tzset();
}

/* Bad input: NULs, 8-bit, overlong lines and fields, every prefix. */
static void
test_hostile(void **state)
{
	static const char base[] = "Mar 14 10:00:01 mx1 postfix/smtp[4242]: "
	    "4ABC123DEF: to=<bob@example.net>, orig_to=<b@example.net>, "
	    "relay=mx.example.net[192.0.2.7]:25, delay=1.2, "
	    "delays=0.1/0.02/0.5/0.58, dsn=2.0.0, status=sent "
	    "(250 2.0.0 Ok: queued as 9F00AA12B)";
	struct mlog_parser	*p = mlog_parser_new(REF_US, 0);
	struct mlog_event	 ev;
	char			*big, *copy;
	size_t			 n = sizeof(base) - 1, i, j;
	enum mlog_kind		 k;

	(void)state;
	/*
	 * Every prefix of a good line, in a buffer of exactly that size
	 * (ASan would catch a read past it).
	 */
	for (i = 0; i <= n; i++) {
		copy = malloc(i > 0 ? i : 1);
		memcpy(copy, base, i);
		k = mlog_parse(p, copy, i, &ev);
		if (i == n)
			assert_int_equal(k, MLOG_DELIVERY);
		free(copy);
	}
	/* Each byte replaced by NUL, 0xff, ',', '(' or ')'. */
	for (i = 0; i < n; i++) {
		static const char subst[] = { '\0', '\xff', ',', '(', ')' };

		copy = malloc(n);
		for (j = 0; j < sizeof(subst); j++) {
			memcpy(copy, base, n);
			copy[i] = subst[j];
			(void)mlog_parse(p, copy, n, &ev);
		}
		free(copy);
	}
	/* Over MLOG_MAX_LINE: not parsed. */
	big = malloc(MLOG_MAX_LINE + 2);
	memset(big, 'a', MLOG_MAX_LINE + 2);
	memcpy(big, base, n);
	assert_int_equal(mlog_parse(p, big, MLOG_MAX_LINE + 1, &ev),
	    MLOG_TOO_LONG);
	assert_int_equal(ev.time_us, 0);
	/* A field over MLOG_MAX_FIELD is cut and counted. */
	memcpy(big, "Mar 14 10:00:01 mx1 postfix/cleanup[1]: 4ABC123DEF: "
	    "message-id=<", 64);
	assert_int_equal(mlog_parse(p, big, MLOG_MAX_LINE, &ev),
	    MLOG_MESSAGE_ID);
	assert_int_equal(ev.message_id.len, MLOG_MAX_FIELD);
	assert_int_equal(ev.truncated, 1);
	free(big);
	mlog_parser_free(p);
}

/* The hash is stored: its values must never change. */
static void
test_hash(void **state)
{
	const char	*a = "Mar 14 10:00:16 mx1 postfix/qmgr[3]: 0F5383D: removed";
	uint64_t	 h1, h2;

	(void)state;
	h1 = mlog_line_hash(a, strlen(a));
	h2 = mlog_line_hash(a, strlen(a));
	assert_true(h1 == h2);
	assert_true(mlog_line_hash(a, strlen(a) - 1) != h1);
	assert_true(mlog_line_hash("", 0) != mlog_line_hash("\0", 1));
	assert_true(mlog_line_hash("a\0", 2) != mlog_line_hash("a", 1));
	/* Fixed values: a change here breaks every journal's idempotence. */
	if (mlog_line_hash("", 0) != UINT64_C(0xbd0ed0d08a42a70c) ||
	    h1 != UINT64_C(0x0176c7b88a8c0238))
		fail_msg("hash changed: got %016llx %016llx",
		    (unsigned long long)mlog_line_hash("", 0),
		    (unsigned long long)h1);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(mlog_status_name(MLOG_STATUS_SENT), "sent");
	assert_string_equal(mlog_status_name(MLOG_STATUS_DISCARDED),
	    "discarded");
	assert_string_equal(mlog_kind_name(MLOG_MESSAGE_ID), "message-id");
	assert_string_equal(mlog_kind_name(MLOG_DEADLETTER), "deadletter");
	assert_string_equal(mlog_mta_name(MLOG_MTA_SENDMAIL), "sendmail");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_postfix_lines),
		cmocka_unit_test(test_sendmail_lines),
		cmocka_unit_test(test_other_lines),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_delays),
		cmocka_unit_test(test_multi_recipient),
		cmocka_unit_test(test_year_inference),
		cmocka_unit_test(test_time_zones),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
