#!/bin/bash
# delivery-sendmail.sh - where the mail went after the gateway, through a
# real, private Sendmail whose log the daemon follows.
#
# Scenario: bash SMTP client -> private Sendmail 8.17 (tests/lib/sendmail.sh,
# logging through our syslog receiver to SM/maillog) with mailtrail-milter on
# a unix: socket and delivery.maillog = SM/maillog.  Sendmail relays
# everything to one loopback port, where three smtp-sinks take turns:
#   1. one that accepts:            message "sent"     -> stat=Sent
#   2. one that answers RCPT 4xx:   message "later"    -> stat=Deferred
#   3. one that answers RCPT 5xx:   message "refused"  -> a bounce, and the
#                                   DSN Sendmail generates (its own queue ID)
# Checked in the journal: each message's delivery events linked to the
# milter's record by Sendmail's queue ID, with status, DSN code and relay;
# the DSN's queue ID recorded as the notice of the refused message; and
# the mailtrail command's answer.
#
# Skips when not root or when Sendmail's packages can be neither downloaded
# nor found in the cache (tests/lib/sendmail.sh).

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/postfix.sh"
. "$top_srcdir/tests/lib/milter.sh"
. "$top_srcdir/tests/lib/sendmail.sh"

[ "$(id -u)" = 0 ] ||
    skip_all "needs root (runs a private Sendmail in its own namespaces)"
require_tool smtp-sink sqlite3 ss
[ -x "$(mt_binary)" ] || skip_all "mailtrail-milter not built at $(mt_binary)"
MT=$top_builddir/mailtrail
[ -x "$MT" ] || skip_all "mailtrail not built"
sm_fetch || skip_all "$SM_SKIP_REASON"

mt_tmpdir T
SM=$T/sm
SMTP_PORT='' SINK_PORT=''
free_port SMTP_PORT
free_port SINK_PORT
SOCK=$T/milter.sock
DB=$T/journal.db
TAG=smd.$$.$RANDOM
_sk_pid=

journal()
{
	sql "$DB" "$1"
}

# sink [smtp-sink options]: (re)start the sink on SINK_PORT
sink()
{
	if [ -n "$_sk_pid" ]; then
		kill_wait "$_sk_pid" 5
		untrack_pid "$_sk_pid"
		_sk_pid=
		wait_for 10 port_is_free "$SINK_PORT" || return 1
	fi
	mkdir -p "$T/sink" && chown postfix "$T/sink" || return 1
	smtp-sink -4 -u postfix -h sink.sendmail-test.example "$@" \
	    -d "$T/sink/%Y%m%d%H%M%S." "127.0.0.1:$SINK_PORT" 16 \
	    >>"$T/sink.log" 2>&1 &
	_sk_pid=$!
	track_pid "$_sk_pid"
	wait_for 10 port_has_listener "$SINK_PORT" &&
	    [ "$(port_listeners "$SINK_PORT")" = "$_sk_pid" ]
}

# send NAME: one message, Message-ID <NAME.TAG@client.example>; prints the
# queue ID Sendmail answered
send()
{
	local name=$1 f=$T/$1.eml
	printf '%s\n' "From: <sender@client.example>" "To: <$name@remote.example>" \
	    "Subject: delivery test $name" "Date: $(date -R)" \
	    "Message-ID: <$name.$TAG@client.example>" "" "body" >"$f"
	smtp_open "$SMTP_PORT" && smtp_cmd "EHLO client.example" &&
	    smtp_cmd "MAIL FROM:<sender@client.example>" &&
	    smtp_cmd "RCPT TO:<$name@remote.example>" && smtp_data "$f" ||
	    { smtp_close; return 1; }
	echo "$SMTP_REPLY" | awk '{ print $3 }'
	smtp_close >/dev/null
}

msgrow()
{
	journal "SELECT id FROM messages WHERE message_id = '<$1.$TAG@client.example>'"
}

# ---------------------------------------------------------------- set up
sink || bail_out "smtp-sink did not start"
sm_setup "$SM" "$SMTP_PORT" "$SINK_PORT" "local:$SOCK" ||
    bail_out "sm_setup failed"
mt_start "$T" "unix:$SOCK" "$DB" -o "delivery.maillog=$SM/maillog" \
    -o delivery.start=beginning -o delivery.poll_interval=100 ||
    bail_out "mailtrail-milter did not start"
sm_start "$SM" || bail_out "private Sendmail did not start"

# ---------------------------------------------------------------- 1. sent
q1=$(send sent)
like "$q1" '^[0-9A-Za-z]{14}$' "sent: accepted by Sendmail as $q1"
sm_wait_queue_empty "$SM" 30
have_status()	# QUEUEID STATUS
{
	[ -n "$(journal "SELECT 1 FROM delivery_events WHERE queue_id = '$1'
	    AND status = '$2'")" ]
}
wait_for 20 have_status "$q1" sent
m1=$(msgrow sent)
is "$(journal "SELECT status || '|' || dsn || '|' || mta || '|' ||
    recipient FROM delivery_events WHERE message = $m1")" \
    "sent|2.0.0|sendmail|sent@remote.example" \
    "sent: Sendmail's stat=Sent linked to the milter's message by queue ID"
like "$(journal "SELECT relay FROM delivery_events WHERE message = $m1")" \
    "127\.0\.0\.1" "sent: the relay is recorded"

# ---------------------------------------------------------------- 2. deferred
sink -r rcpt || bail_out "the 4xx sink did not start"
q2=$(send later)
like "$q2" '^[0-9A-Za-z]{14}$' "later: accepted by Sendmail as $q2"
wait_for 30 have_status "$q2" deferred
ok $? "later: a deferral recorded"
like "$(journal "SELECT dsn || '|' || reply_code FROM delivery_events
    WHERE queue_id = '$q2' AND status = 'deferred' LIMIT 1")" \
    '^4\.[0-9.]+\|4[0-9][0-9]$' "later: deferred with a 4.x.x code and the 4xx reply"
"$MT" --journal "$DB" show --json "later.$TAG@client.example" >"$T/later.json"
like "$(tr -d ' \n' <"$T/later.json")" '"state":"deferred"' \
    "later: show says deferred"

# ---------------------------------------------------------------- 3. bounced
sink -f rcpt || bail_out "the 5xx sink did not start"
q3=$(send refused)
like "$q3" '^[0-9A-Za-z]{14}$' "refused: accepted by Sendmail as $q3"
wait_for 30 have_status "$q3" bounced
ok $? "refused: a bounce recorded"
m3=$(msgrow refused)
like "$(journal "SELECT dsn || '|' || reply_code FROM delivery_events
    WHERE message = $m3 AND status = 'bounced'")" '^5\.[0-9.]+\|5[0-9][0-9]$' \
    "refused: bounced with a 5.x.x code and the 5xx reply"
notice()
{
	[ -n "$(journal "SELECT related_queue_id FROM queue_events
	    WHERE queue_id = '$q3' AND kind = 'notify'")" ]
}
wait_for 20 notice
like "$(journal "SELECT related_queue_id FROM queue_events
    WHERE queue_id = '$q3' AND kind = 'notify'")" '^[0-9A-Za-z]{14}$' \
    "refused: the DSN Sendmail generated is recorded with its queue ID"
"$MT" --journal "$DB" find --status bounced --since 1h >"$T/find.out" 2>&1
like "$(cat "$T/find.out")" "refused@remote\.example" \
    "find --status bounced lists it"
sm_wait_queue_empty "$SM" 30
sleep 1
is "$(journal "SELECT count(*) FROM delivery_events")" \
    "$(grep -c ' to=.*, stat=' "$SM/maillog")" \
    "every delivery line of Sendmail's log recorded once"

mt_stop
is "$?" 0 "daemon exits cleanly"
done_testing
