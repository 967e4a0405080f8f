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

#include "corpus.h"
#include "mailtrail/dsn.h"

/* Reached on the corpus; raise them when the parser improves. */
#define CORPUS_MIN_FULL		573
#define CORPUS_MIN_REASON	424

static const struct dsn_limits deflim = {
	DSN_DEFAULT_MAX_BYTES, 8, 64, "X-Mailtrail-ID"
};

static struct mt_bounce_rec *
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


/* ------------------------------------------------------------------- shapes */

#define TID	"01JE0Q3ZK8V9M2T4W6X8Y0Z1AB"

static const char dsn_postfix[] =
"From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
"To: alice@example.org\n"
"Subject: Undelivered Mail Returned to Sender\n"
"Message-ID: <bounce.1@mx.example.net>\n"
"MIME-Version: 1.0\n"
"Content-Type: multipart/report; report-type=delivery-status;\n"
"\tboundary=\"B1\"\n"
"\n"
"--B1\n"
"Content-Type: text/plain\n"
"\n"
"<bob@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1 ...\n"
"\n"
"--B1\n"
"Content-Type: message/delivery-status\n"
"\n"
"Reporting-MTA: dns; mx.example.net\n"
"X-Postfix-Queue-ID: 4XyZ1234\n"
"X-Postfix-Sender: rfc822; alice@example.org\n"
"Arrival-Date: Mon,  7 Dec 2026 10:00:00 +0000 (UTC)\n"
"\n"
"Final-Recipient: rfc822; <bob@example.com>\n"
"Original-Recipient: rfc822;bob@example.com\n"
"Action: failed\n"
"Status: 5.1.1\n"
"Remote-MTA: dns; mx.example.com\n"
"Diagnostic-Code: smtp; 550 5.1.1 <bob@example.com>: Recipient address\n"
"    rejected: User unknown in virtual mailbox table\n"
"Last-Attempt-Date: Mon,  7 Dec 2026 10:00:01 +0000 (UTC)\n"
"\n"
"--B1\n"
"Content-Type: text/rfc822-headers\n"
"\n"
"From: Alice <alice@example.org>\n"
"To: bob@example.com\n"
"Message-ID: <orig.1@example.org>\n"
"X-Mailtrail-ID: " TID "\n"
"\n"
"--B1--\n";

/* Two recipients: one failed, one delayed; Status derived from the
 * diagnostic; the delivery-status part base64-encoded. */
static const char dsn_two[] =
"From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>\n"
"To: alice@example.org\n"
"Subject: Delivery Status Notification\n"
"MIME-Version: 1.0\n"
"Content-Type: multipart/report; report-type=delivery-status; boundary=Z\n"
"\n"
"--Z\n"
"Content-Type: text/plain\n"
"\n"
"Some recipients failed.\n"
"--Z\n"
"Content-Type: message/delivery-status\n"
"Content-Transfer-Encoding: base64\n"
"\n"
/* Reporting-MTA: dns; mx.example.net / (blank) / Final-Recipient:
 * rfc822; carol@example.com / Action: failed / Diagnostic-Code: smtp; 552
 * 5.2.2 Mailbox full / (blank) / Final-Recipient: rfc822; dan@example.com /
 * Action: delayed / Status: 4.4.1 / Diagnostic-Code: smtp; 421 4.4.1
 * Connection timed out */
"UmVwb3J0aW5nLU1UQTogZG5zOyBteC5leGFtcGxlLm5ldAoKRmluYWwtUmVjaXBpZW50OiBy\n"
"ZmM4MjI7IGNhcm9sQGV4YW1wbGUuY29tCkFjdGlvbjogZmFpbGVkCkRpYWdub3N0aWMtQ29k\n"
"ZTogc210cDsgNTUyIDUuMi4yIE1haWxib3ggZnVsbAoKRmluYWwtUmVjaXBpZW50OiByZmM4\n"
"MjI7IGRhbkBleGFtcGxlLmNvbQpBY3Rpb246IGRlbGF5ZWQKU3RhdHVzOiA0LjQuMQpEaWFn\n"
"bm9zdGljLUNvZGU6IHNtdHA7IDQyMSA0LjQuMSBDb25uZWN0aW9uIHRpbWVkIG91dAo=\n"
"--Z--\n";

static const char dsn_delay[] =
"From: MAILER-DAEMON@mx.example.net\n"
"Subject: Delayed Mail (still being retried)\n"
"Content-Type: multipart/report; report-type=delivery-status; boundary=D\n"
"\n"
"--D\n"
"Content-Type: text/delivery-status\n"
"\n"
"Reporting-MTA: dns; mx.example.net\n"
"\n"
"Final-Recipient: rfc822; erin@example.com\n"
"Action: delayed\n"
"Status: 4.4.1\n"
"Will-Retry-Until: Tue, 8 Dec 2026 10:00:00 +0000\n"
"--D--\n";

static const char dsn_success[] =
"From: MAILER-DAEMON@mx.example.net\n"
"Subject: Successful Mail Delivery Report\n"
"Content-Type: multipart/report; report-type=delivery-status; boundary=S\n"
"\n"
"--S\n"
"Content-Type: message/global-delivery-status\n"
"\n"
"Reporting-MTA: dns; mx.example.net\n"
"\n"
"Final-Recipient: utf-8; j\xc3\xb6rg@example.com\n"
"Action: relayed\n"
"Status: 2.0.0\n"
"Diagnostic-Code: smtp; 250 2.0.0 Ok: queued\n"
"--S--\n";

static const char qmail[] =
"From: MAILER-DAEMON@mx.example.net\n"
"To: alice@example.org\n"
"Subject: failure notice\n"
"\n"
"Hi. This is the qmail-send program at mx.example.net.\n"
"I'm afraid I wasn't able to deliver your message to the following addresses.\n"
"This is a permanent error; I've given up. Sorry it didn't work out.\n"
"\n"
"<bob@example.com>:\n"
"Remote host said: 550 No such mailbox\n"
"\n"
"<carol@example.com>:\n"
"Remote host said: 552 5.2.2 Over quota\n"
"\n"
"--- Below this line is a copy of the message.\n"
"\n"
"From: alice@example.org\n"
"To: bob@example.com, carol@example.com\n"
"Message-ID: <orig.2@example.org>\n"
"\n"
"hello\n";

static const char exim[] =
"From: Mail Delivery System <Mailer-Daemon@mx.example.net>\n"
"To: alice@example.org\n"
"Subject: Mail delivery failed: returning message to sender\n"
"Auto-Submitted: auto-replied\n"
"\n"
"This message was created automatically by mail delivery software.\n"
"\n"
"A message that you sent could not be delivered to one or more of its\n"
"recipients. This is a permanent error. The following address(es) failed:\n"
"\n"
"  bob@example.com\n"
"    host mx.example.com [192.0.2.1]\n"
"    SMTP error from remote mail server after RCPT TO:<bob@example.com>:\n"
"    550 5.7.1 Relaying denied\n"
"\n"
"------ This is a copy of the message, including all the headers. ------\n"
"\n"
"From: alice@example.org\n"
"Message-Id: <orig.3@example.org>\n"
"X-Mailtrail-ID: " TID "\n";

static const char exchange[] =
"From: postmaster@corp.example\n"
"To: alice@example.org\n"
"Subject: Undeliverable: hello\n"
"\n"
"Delivery has failed to these recipients or groups:\n"
"\n"
"frank@corp.example\n"
"The email address you entered couldn't be found.\n"
"\n"
"Diagnostic information for administrators:\n"
"\n"
"Generating server: mail.corp.example\n"
"\n"
"frank@corp.example\n"
"Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound;"
" Recipient not found by SMTP address lookup'\n"
"\n"
"Original message headers:\n"
"\n"
"From: alice@example.org\n"
"Message-ID: <orig.4@example.org>\n";

static const char gmail[] =
"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
"To: alice@example.org\n"
"Subject: Delivery Status Notification (Failure)\n"
"\n"
"Delivery to the following recipient failed permanently:\n"
"\n"
"     gina@example.com\n"
"\n"
"Technical details of permanent failure:\n"
"The email account that you tried to reach does not exist.\n"
"550-5.1.1 The email account that you tried to reach does not exist.\n"
"550 5.1.1 https://support.google.com/mail/?p=NoSuchUser\n"
"\n"
"----- Original message -----\n"
"\n"
"Message-ID: <orig.5@example.org>\n"
"From: alice@example.org\n";

/* Sendmail: the DSN says "X-Unix; 67", the transcript has the reply. */
static const char sendmail[] =
"From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>\n"
"Subject: Returned mail: see transcript for details\n"
"Content-Type: multipart/report; report-type=delivery-status; boundary=T\n"
"\n"
"--T\n"
"\n"
"   ----- The following addresses had permanent fatal errors -----\n"
"<hank@example.com>\n"
"\n"
"   ----- Transcript of session follows -----\n"
"... while talking to mx.example.com.:\n"
">>> RCPT To:<hank@example.com>\n"
"<<< 550 5.1.1 <hank@example.com>... User unknown\n"
"--T\n"
"Content-Type: message/delivery-status\n"
"\n"
"Reporting-MTA: dns; mx.example.net\n"
"\n"
"Final-Recipient: RFC822; hank@example.com\n"
"Action: failed\n"
"Status: 5.1.1\n"
"Diagnostic-Code: X-Unix; 67\n"
"--T--\n";

static const char arf[] =
"From: fbl@isp.example\n"
"To: abuse@example.org\n"
"Subject: Abuse report\n"
"MIME-Version: 1.0\n"
"Content-Type: multipart/report; report-type=feedback-report; boundary=F\n"
"\n"
"--F\n"
"Content-Type: text/plain\n"
"\n"
"This is an abuse report.\n"
"--F\n"
"Content-Type: message/feedback-report\n"
"\n"
"Feedback-Type: abuse\n"
"Version: 1\n"
"Original-Rcpt-To: ivy@isp.example\n"
"\n"
"--F\n"
"Content-Type: message/rfc822\n"
"\n"
"From: news@example.org\n"
"To: ivy@isp.example\n"
"Message-ID: <orig.6@example.org>\n"
"\n"
"buy\n"
"--F--\n";

static const char vacation[] =
"From: jack@example.com\n"
"To: alice@example.org\n"
"Subject: Out of office\n"
"Auto-Submitted: auto-replied\n"
"\n"
"I am away until Monday.\n";

static const char ordinary[] =
"From: Alice <alice@example.org>\n"
"To: bob@example.com\n"
"Subject: =?UTF-8?B?44Gr44KD44KT44GT?=\n"
"Content-Type: text/plain; charset=UTF-8\n"
"\n"
"Could you send me the report? Write to kate@example.com.\n";

/* A forwarded bounce: our header quoted in the body text, the rest QP. */
static const char quoted[] =
"From: MAILER-DAEMON@mx.example.net\n"
"Subject: Returned mail: User unknown\n"
"Content-Type: text/plain; charset=us-ascii\n"
"Content-Transfer-Encoding: quoted-printable\n"
"\n"
"The following addresses had permanent fatal errors:\n"
"<liam@example.com>: 550 5.1.1 User unkno=\n"
"wn\n"
"\n"
"----- Original message -----\n"
"> X-Mailtrail-ID: " TID "\n"
"> Message-ID: <orig.7@example.org>\n";

struct shape {
	const char		*name;
	const char		*msg;
	enum mt_bounce_kind	 kind;
	const char		*format;
	size_t			 nrcpt;
	const char		*rcpt;		/* first recipient */
	const char		*status;
	int			 reply;
	int			 permanent;
	enum mt_bounce_reason	 reason;
	const char		*track_id;	/* "" = unset */
	const char		*message_id;
	const char		*queue_id;
};

static const struct shape shapes[] = {
	{ "postfix rfc3464", dsn_postfix, MT_BOUNCE_FAILURE, "rfc3464", 1,
	  "bob@example.com", "5.1.1", 550, 1, MT_REASON_USER_UNKNOWN, TID,
	  "<orig.1@example.org>", "4XyZ1234" },
	{ "two recipients, base64 part", dsn_two, MT_BOUNCE_FAILURE,
	  "rfc3464", 2, "carol@example.com", "5.2.2", 552, 1,
	  MT_REASON_MAILBOX_FULL, "", "", "" },
	{ "delay, text/delivery-status", dsn_delay, MT_BOUNCE_DELAY,
	  "rfc3464", 1, "erin@example.com", "4.4.1", 0, 0,
	  MT_REASON_DELAYED, "", "", "" },
	{ "success, global-delivery-status", dsn_success, MT_BOUNCE_SUCCESS,
	  "rfc3464", 1, "j\xc3\xb6rg@example.com", "2.0.0", 250, -1,
	  MT_REASON_UNKNOWN, "", "", "" },
	{ "qmail", qmail, MT_BOUNCE_FAILURE, "text", 2, "bob@example.com",
	  "5.0.0", 550, 1, MT_REASON_USER_UNKNOWN, "", "<orig.2@example.org>",
	  "" },
	{ "exim (auto-replied yet a bounce)", exim, MT_BOUNCE_FAILURE, "text",
	  1, "bob@example.com", "5.7.1", 550, 1, MT_REASON_POLICY, TID,
	  "<orig.3@example.org>", "" },
	{ "exchange", exchange, MT_BOUNCE_FAILURE, "text", 1,
	  "frank@corp.example", "5.1.10", 550, 1, MT_REASON_HOST_UNKNOWN, "",
	  "<orig.4@example.org>", "" },
	{ "gmail", gmail, MT_BOUNCE_FAILURE, "text", 1, "gina@example.com",
	  "5.1.1", 550, 1, MT_REASON_USER_UNKNOWN, "", "<orig.5@example.org>",
	  "" },
	{ "sendmail transcript", sendmail, MT_BOUNCE_FAILURE, "rfc3464", 1,
	  "hank@example.com", "5.1.1", 550, 1, MT_REASON_USER_UNKNOWN, "", "",
	  "" },
	{ "arf", arf, MT_BOUNCE_FEEDBACK, "arf", 1, "ivy@isp.example", "", 0,
	  0, MT_REASON_FEEDBACK, "", "<orig.6@example.org>", "" },
	{ "rfc3834 vacation", vacation, MT_BOUNCE_AUTOREPLY, "rfc3834", 1,
	  "jack@example.com", "", 0, 0, MT_REASON_AUTOREPLY, "", "", "" },
	{ "ordinary message", ordinary, MT_BOUNCE_NONE, "none", 0, NULL, NULL,
	  0, 0, MT_REASON_UNKNOWN, "", "", "" },
	{ "quoted headers, quoted-printable", quoted, MT_BOUNCE_FAILURE,
	  "text", 1, "liam@example.com", "5.1.1", 550, 1,
	  MT_REASON_USER_UNKNOWN, TID, "<orig.7@example.org>", "" },
};

static void
test_shapes(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		const struct shape *w = &shapes[i];
		struct mt_bounce_rec *b = parse(w->msg);
		const struct mt_bounce_rcpt *r = b->n_rcpts > 0 ? &b->rcpts[0] :
		    NULL;

		if (b->kind != w->kind)
			fail_msg("%s: kind %s, want %s", w->name,
			    mt_bounce_kind_name(b->kind),
			    mt_bounce_kind_name(w->kind));
		if (strcmp(b->format, w->format) != 0)
			fail_msg("%s: format %s, want %s", w->name, b->format,
			    w->format);
		if (b->n_rcpts != w->nrcpt)
			fail_msg("%s: %zu recipients, want %zu", w->name,
			    b->n_rcpts, w->nrcpt);
		if (strcmp(str(&b->orig_track_id), w->track_id) != 0)
			fail_msg("%s: tracking ID \"%s\", want \"%s\"", w->name,
			    str(&b->orig_track_id), w->track_id);
		if (strcmp(str(&b->orig_message_id), w->message_id) != 0)
			fail_msg("%s: Message-ID \"%s\", want \"%s\"", w->name,
			    str(&b->orig_message_id), w->message_id);
		if (strcmp(str(&b->orig_queue_id), w->queue_id) != 0)
			fail_msg("%s: queue ID \"%s\", want \"%s\"", w->name,
			    str(&b->orig_queue_id), w->queue_id);
		if (r == NULL) {
			bounce_rec_free(b);
			continue;
		}
		if (strcmp(str(&r->recipient), w->rcpt) != 0)
			fail_msg("%s: recipient \"%s\", want \"%s\"", w->name,
			    str(&r->recipient), w->rcpt);
		if (strcmp(str(&r->status), w->status) != 0)
			fail_msg("%s: status \"%s\", want \"%s\"", w->name,
			    str(&r->status), w->status);
		if (r->reply_code != w->reply)
			fail_msg("%s: reply %d, want %d", w->name,
			    r->reply_code, w->reply);
		if (r->permanent != w->permanent)
			fail_msg("%s: permanent %d, want %d", w->name,
			    r->permanent, w->permanent);
		if (r->reason != w->reason)
			fail_msg("%s: reason %s, want %s", w->name,
			    mt_bounce_reason_name(r->reason),
			    mt_bounce_reason_name(w->reason));
		bounce_rec_free(b);
	}
}

/* Details the table does not cover. */
static void
test_details(void **state)
{
	struct mt_bounce_rec *b;
	struct dsn_limits lim = deflim;

	(void)state;
	b = parse(dsn_postfix);
	assert_string_equal(str(&b->reporting_mta), "mx.example.net");
	assert_string_equal(str(&b->orig_from), "alice@example.org");
	assert_string_equal(str(&b->bounce_message_id),
	    "bounce.1@mx.example.net");
	assert_string_equal(str(&b->rcpts[0].orig_recipient),
	    "bob@example.com");
	assert_string_equal(str(&b->rcpts[0].action), "failed");
	assert_string_equal(str(&b->rcpts[0].remote_mta), "mx.example.com");
	/* A folded Diagnostic-Code is unfolded. */
	assert_string_equal(str(&b->rcpts[0].diagnostic),
	    "550 5.1.1 <bob@example.com>: Recipient address rejected: User "
	    "unknown in virtual mailbox table");
	assert_string_equal(str(&b->rcpts[0].last_attempt),
	    "Mon, 7 Dec 2026 10:00:01 +0000 (UTC)");
	assert_string_equal(str(&b->arrival_date),
	    "Mon, 7 Dec 2026 10:00:00 +0000 (UTC)");
	assert_int_equal(b->error.data == NULL, 1);
	bounce_rec_free(b);

	b = parse(dsn_two);
	assert_string_equal(str(&b->rcpts[1].recipient), "dan@example.com");
	assert_string_equal(str(&b->rcpts[1].status), "4.4.1");
	assert_int_equal(b->rcpts[1].reply_code, 421);
	assert_int_equal(b->rcpts[1].permanent, 0);
	assert_int_equal(b->rcpts[1].reason, MT_REASON_DELAYED);
	bounce_rec_free(b);

	/* The qmail report's second recipient. */
	b = parse(qmail);
	assert_string_equal(str(&b->rcpts[1].recipient), "carol@example.com");
	assert_string_equal(str(&b->rcpts[1].status), "5.2.2");
	assert_int_equal(b->rcpts[1].reply_code, 552);
	assert_int_equal(b->rcpts[1].reason, MT_REASON_MAILBOX_FULL);
	bounce_rec_free(b);

	/* Another tracking header name. */
	lim.tracking_header = "X-Trail";
	{
		const char msg[] = "From: MAILER-DAEMON@x.example\n"
		    "Subject: Undelivered Mail Returned to Sender\n\n"
		    "<m@example.com>: 550 5.1.1 unknown\n\n"
		    "--- Below this line is a copy of the message.\n\n"
		    "X-Mailtrail-ID: 01JE0Q3ZK8V9M2T4W6X8Y0Z1AC\n"
		    "X-Trail: " TID "\n";

		b = dsn_parse(msg, sizeof(msg) - 1, &lim);
		assert_non_null(b);
		assert_string_equal(str(&b->orig_track_id), TID);
		bounce_rec_free(b);
	}
	/* A malformed tracking value is not taken. */
	{
		const char msg[] = "From: MAILER-DAEMON@x.example\n"
		    "Subject: Undelivered Mail Returned to Sender\n\n"
		    "<m@example.com>: 550 5.1.1 unknown\n\n"
		    "X-Mailtrail-ID: not-an-id\n";

		b = parse(msg);
		assert_null(b->orig_track_id.data);
		bounce_rec_free(b);
	}
}

/* CRLF line ends give the same record and the same content hash. */
static void
test_crlf(void **state)
{
	const char	*src = dsn_postfix;
	char		*crlf;
	size_t		 i, o = 0, n = strlen(src);
	struct mt_bounce_rec *a, *b;

	(void)state;
	crlf = malloc(2 * n + 1);
	assert_non_null(crlf);
	for (i = 0; i < n; i++) {
		if (src[i] == '\n')
			crlf[o++] = '\r';
		crlf[o++] = src[i];
	}
	a = parse(src);
	b = dsn_parse(crlf, o, &deflim);
	assert_non_null(b);
	assert_int_equal(a->content_hash, b->content_hash);
	assert_int_equal(b->n_rcpts, 1);
	assert_string_equal(str(&b->rcpts[0].diagnostic),
	    str(&a->rcpts[0].diagnostic));
	assert_string_equal(str(&b->orig_track_id), TID);
	/* A different report, a different hash. */
	bounce_rec_free(b);
	b = parse(qmail);
	assert_true(a->content_hash != b->content_hash);
	bounce_rec_free(a);
	bounce_rec_free(b);
	free(crlf);
}

/* ------------------------------------------------------------ hostile input */

static void
test_bad_small(void **state)
{
	static const struct {
		const char	*name;
		const char	*msg;
		size_t		 len;
	} cases[] = {
		{ "empty", "", 0 },
		{ "one newline", "\n", 1 },
		{ "NULs", "From: MAILER-DAEMON@x\0\n\0Subject: \0\n\n\0\0", 25 },
		{ "no headers", "\n\n\n<a@b.example>: 550\n", 22 },
		{ "binary", "\xff\xfe\x00\x01\x80\x81\r\r\r\n--\n", 13 },
		{ "truncated MIME",
		  "From: MAILER-DAEMON@x.example\nSubject: Undeliverable\n"
		  "Content-Type: multipart/report; boundary=X\n\n--X\n"
		  "Content-Type: message/delivery-status\n\nFinal-Recip", 0 },
		{ "broken base64 and QP, bad charset",
		  "From: MAILER-DAEMON@x.example\nSubject: Undeliverable\n"
		  "Content-Type: multipart/report; boundary=X\n\n--X\n"
		  "Content-Type: text/plain; charset=x-none\n"
		  "Content-Transfer-Encoding: quoted-printable\n\n=ZZ=\n=\n--X\n"
		  "Content-Type: message/delivery-status\n"
		  "Content-Transfer-Encoding: base64\n\n!!@@##==\n--X--\n", 0 },
		{ "unterminated header", "From: MAILER-DAEMON@x.example\n"
		  "Subject: Undeliverable\nContent-Type: multipart/report; "
		  "boundary=\"", 0 },
		{ "field without value", "Content-Type: multipart/report; "
		  "boundary=X\n\n--X\nContent-Type: message/delivery-status\n\n"
		  "Final-Recipient:\nStatus:\nDiagnostic-Code: ;\n"
		  "Action:\n--X--\n", 0 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t	 len = cases[i].len != 0 ? cases[i].len :
		    strlen(cases[i].msg);
		struct mt_bounce_rec *b = dsn_parse(cases[i].msg, len, &deflim);

		if (b == NULL)
			fail_msg("%s: NULL record", cases[i].name);
		if (b->format == NULL)
			fail_msg("%s: no format", cases[i].name);
		bounce_rec_free(b);
	}
	/* NULL input is an empty message. */
	{
		struct mt_bounce_rec *b = dsn_parse(NULL, 10, NULL);

		assert_non_null(b);
		assert_int_equal(b->kind, MT_BOUNCE_NONE);
		bounce_rec_free(b);
	}
}

/* 50 MB: only max_bytes is read, the error says so, and it finishes. */
static void
test_huge(void **state)
{
	const char	 head[] = "From: MAILER-DAEMON@x.example\n"
	    "Subject: Undelivered Mail\n\n"
	    "The following address(es) failed:\n\n"
	    "<nina@example.com>: 550 5.1.1 unknown\n\n";
	size_t		 len = 50u * 1024 * 1024, i;
	char		*msg;
	struct mt_bounce_rec *b;

	(void)state;
	msg = malloc(len);
	assert_non_null(msg);
	memcpy(msg, head, sizeof(head) - 1);
	for (i = sizeof(head) - 1; i < len; i++)
		msg[i] = "x@y.example 550 \n"[i % 17];
	b = dsn_parse(msg, len, &deflim);
	assert_non_null(b);
	assert_int_equal(b->kind, MT_BOUNCE_FAILURE);
	assert_string_equal(str(&b->rcpts[0].recipient), "nina@example.com");
	assert_non_null(b->error.data);
	assert_non_null(strstr(b->error.data, "max_bytes"));
	assert_true(bounce_rec_mem(b) < 1024 * 1024);
	bounce_rec_free(b);
	free(msg);
}

/* 20,000 nested multiparts and 100,000 sibling parts: bounded. */
static void
test_nesting(void **state)
{
	const size_t	 depth = 20000, width = 100000;
	const char	 head[] = "From: MAILER-DAEMON@x.example\n"
	    "Subject: Undeliverable\nMIME-Version: 1.0\n";
	char		*msg, *p;
	size_t		 i, cap = depth * 96 + width * 64 + 4096;
	struct mt_bounce_rec *b;

	(void)state;
	msg = malloc(cap);
	assert_non_null(msg);
	p = msg + sprintf(msg, "%s", head);
	for (i = 0; i < depth; i++)
		p += sprintf(p, "Content-Type: multipart/mixed; boundary=\"b%zu\""
		    "\n\n--b%zu\n", i, i);
	p += sprintf(p, "Content-Type: text/plain\n\nhi\n");
	for (i = depth; i-- > 0;)
		p += sprintf(p, "--b%zu--\n", i);
	b = dsn_parse(msg, (size_t)(p - msg), &deflim);
	assert_non_null(b);
	assert_int_equal(b->kind, MT_BOUNCE_NONE);
	assert_non_null(b->error.data);
	bounce_rec_free(b);

	p = msg + sprintf(msg, "%sContent-Type: multipart/mixed; boundary=w"
	    "\n\n", head);
	for (i = 0; i < width; i++)
		p += sprintf(p, "--w\nContent-Type: text/plain\n\n"
		    "<o%zu@example.com>: 550\n", i);
	p += sprintf(p, "--w--\n");
	b = dsn_parse(msg, (size_t)(p - msg), &deflim);
	assert_non_null(b);
	assert_non_null(b->error.data);
	assert_true(b->n_rcpts <= MT_BOUNCE_MAX_RCPTS);
	bounce_rec_free(b);
	free(msg);
}

/* More recipients than MT_BOUNCE_MAX_RCPTS: kept up to it, rest counted. */
static void
test_many_rcpts(void **state)
{
	const size_t	 n = 1500;
	char		*msg, *p;
	size_t		 i;
	struct mt_bounce_rec *b;

	(void)state;
	msg = malloc(n * 80 + 1024);
	assert_non_null(msg);
	p = msg + sprintf(msg, "From: MAILER-DAEMON@x.example\n"
	    "Subject: Undelivered\nContent-Type: multipart/report; "
	    "boundary=M\n\n--M\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; x.example\n\n");
	for (i = 0; i < n; i++)
		p += sprintf(p, "Final-Recipient: rfc822; r%zu@example.com\n"
		    "Action: failed\nStatus: 5.1.1\n\n", i);
	p += sprintf(p, "--M--\n");
	b = dsn_parse(msg, (size_t)(p - msg), &deflim);
	assert_non_null(b);
	assert_int_equal(b->n_rcpts, MT_BOUNCE_MAX_RCPTS);
	assert_int_equal(b->n_rcpts_dropped, n - MT_BOUNCE_MAX_RCPTS);
	assert_string_equal(str(&b->rcpts[999].recipient), "r999@example.com");
	bounce_rec_free(b);
	free(msg);
}

static void
test_looks_like_bounce(void **state)
{
	static const struct {
		const char *mail_from, *ct, *from, *subject;
		int	 want;
	} cases[] = {
		{ "", NULL, NULL, NULL, 1 },
		{ "<>", NULL, NULL, NULL, 1 },
		{ "a@example.org", "multipart/report; report-type=x", NULL,
		  NULL, 1 },
		{ "a@example.org", NULL, "MAILER-DAEMON@mx.example", NULL, 1 },
		{ "a@example.org", NULL, NULL, "Undeliverable: hi", 1 },
		{ "a@example.org", "text/plain", "Alice <a@example.org>",
		  "Lunch?", 0 },
		{ NULL, NULL, NULL, NULL, 0 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (dsn_looks_like_bounce(cases[i].mail_from, cases[i].ct,
		    cases[i].from, cases[i].subject) != cases[i].want)
			fail_msg("case %zu: got %d, want %d", i,
			    !cases[i].want, cases[i].want);
}

/* ------------------------------------------------------------------- corpus */

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
	static char	 p[1024];

	return test_corpus_path(p, sizeof(p), "bounces") == 0 ? p : NULL;
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
	int		 is_arf = r0 != NULL && strcmp(r0, "feedback") == 0;
	int		 is_vac = r0 != NULL && strcmp(r0, "vacation") == 0;

	why[0] = '\0';
	if (is_arf && b->kind != MT_BOUNCE_FEEDBACK) {
		snprintf(why, whylen, "kind %s, want feedback",
		    mt_bounce_kind_name(b->kind));
		return;
	}
	if (is_vac && b->kind != MT_BOUNCE_AUTOREPLY) {
		snprintf(why, whylen, "kind %s, want autoreply",
		    mt_bounce_kind_name(b->kind));
		return;
	}
	if (!is_arf && !is_vac && (b->kind == MT_BOUNCE_NONE ||
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
		printf("# corpus: bounces skipped (not found)\n");
		skip();
	}
	snprintf(path, sizeof(path), "%s/expected.json", dir);
	if ((root = json_load_file(path, 0, &jerr)) == NULL) {
		printf("# SKIP corpus not found (%s)\n", path);
		printf("# corpus: bounces skipped (not found)\n");
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
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_details),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_bad_small),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_many_rcpts),
		cmocka_unit_test(test_looks_like_bounce),
		cmocka_unit_test(test_corpus),
	};

	dsn_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
