#!/bin/bash
# delivery-postfix.sh - what happened after the gateway, through a real
# Postfix: the daemon's log follower reads the instance's maillog_file and
# a returning bounce is parsed at end-of-message.
#
# Scenario: a private Postfix (127.0.0.1 only) with mailtrail-milter on a
# unix: socket; transport_maps send ok.example to an smtp-sink answering
# 250, hard.example to one answering 5xx to RCPT and soft.example to one
# answering 4xx.  Three messages go in with swaks.  Checked in the journal
# with sqlite3: each message's delivery events (sent, bounced, deferred),
# linked to the message the milter recorded; the non-delivery notice
# Postfix generated for the hard bounce (a queue event linked to it); then
# a DSN arriving from outside (null sender, multipart/report, the returned
# headers carrying the first message's tracking ID) recorded as a bounce
# linked to that message by its tracking ID, with its recipient's status.
#
# Needs root, postfix, smtp-sink, swaks, sqlite3, ss; skips otherwise.
# MT_KEEP_TMP=1 keeps the temporary directory.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/postfix.sh"
. "$top_srcdir/tests/lib/milter.sh"

require_root
require_tool postfix postconf postmap postqueue smtp-sink swaks sqlite3 ss
[ -x "$(mt_binary)" ] || skip_all "mailtrail-milter not built at $(mt_binary)"

mt_tmpdir T
PF=$T/pf
SMTP_PORT='' SINK_OK='' SINK_HARD='' SINK_SOFT=''
free_port SMTP_PORT
free_port SINK_OK
free_port SINK_HARD
free_port SINK_SOFT
SOCK=$T/milter.sock
DB=$T/journal.db
TAG=$$.$RANDOM

q()
{
	sqlite3 -readonly "$DB" "$1" 2>/dev/null
}

# wait_q SECONDS SQL WANT: until the query answers WANT.
wait_q()
{
	local secs=$1 sql=$2 want=$3 i
	for ((i = 0; i < secs * 10; i++)); do
		[ "$(q "$sql")" = "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

# An extra smtp-sink refusing RCPT: -f (5xx) or -r (4xx).
refusing_sink()
{
	local flag=$1 port=$2
	smtp-sink -4 -u postfix "$flag" rcpt -h "refuse$flag.example" \
	    "127.0.0.1:$port" 16 >"$T/sink$flag.log" 2>&1 &
	track_pid $!
	wait_for 10 port_has_listener "$port" ||
	    bail_out "smtp-sink $flag did not start: $(cat "$T/sink$flag.log")"
}

# ---------------------------------------------------------------- set up
printf '%s\n' "ok.example smtp:[127.0.0.1]:$SINK_OK" \
    "hard.example smtp:[127.0.0.1]:$SINK_HARD" \
    "soft.example smtp:[127.0.0.1]:$SINK_SOFT" >"$T/transport"
pf_setup "$PF" "$SMTP_PORT" "$SINK_OK" "unix:$SOCK" \
    "transport_maps = texthash:$T/transport" ||
    bail_out "pf_setup failed"
sink_start "$T" "$SINK_OK" || bail_out "smtp-sink did not start"
refusing_sink -f "$SINK_HARD"
refusing_sink -r "$SINK_SOFT"
mt_start "$T" "unix:$SOCK" "$DB" -o milter.socket_mode=0666 \
    -o journal.durability=normal -o delivery.maillog="$PF/maillog" \
    -o delivery.start=beginning -o delivery.poll_interval=100 \
    -o delivery.batch_interval=100 ||
    bail_out "mailtrail-milter did not start"
pf_start "$PF" || bail_out "private Postfix did not start"
note "Postfix $(postconf -c "$PF/conf" -h mail_version) on 127.0.0.1:$SMTP_PORT; sinks 250 $SINK_OK, 5xx $SINK_HARD, 4xx $SINK_SOFT"

# ---------------------------------------------------------------- three messages
for dom in ok hard soft; do
	swaks --server "127.0.0.1:$SMTP_PORT" --helo client.example \
	    --from sender@origin.example --to "user@$dom.example" \
	    --header "Message-Id: <$dom.$TAG@origin.example>" \
	    --header "Subject: delivery test $dom" >"$T/swaks-$dom.out" 2>&1
	like "$(grep 'queued as' "$T/swaks-$dom.out")" 'queued as [0-9A-F]+' \
	    "$dom: accepted by Postfix"
done

# The status of the first delivery event linked to message <$1.TAG@...>.
linked_status()
{
	q "SELECT d.status FROM delivery_events d JOIN messages m
	    ON d.message = m.id
	    WHERE m.message_id = '<$1.$TAG@origin.example>'
	    ORDER BY d.time, d.id LIMIT 1"
}

wait_q 30 "SELECT COUNT(*) FROM delivery_events d JOIN messages m
    ON d.message = m.id WHERE m.message_id = '<ok.$TAG@origin.example>'
    AND d.status = 'sent'" 1
is "$(linked_status ok)" sent "ok.example: delivered, linked to its message"
wait_q 30 "SELECT COUNT(*) FROM delivery_events d JOIN messages m
    ON d.message = m.id WHERE m.message_id = '<hard.$TAG@origin.example>'
    AND d.status = 'bounced'" 1
is "$(linked_status hard)" bounced "hard.example: bounced (5xx), linked"
is "$(q "SELECT d.reply_code || ' ' || d.dsn FROM delivery_events d
    JOIN messages m ON d.message = m.id
    WHERE m.message_id = '<hard.$TAG@origin.example>'")" "500 5.3.0" \
    "hard.example: the reply code and status smtp-sink gave are kept" ||
    diag "$(grep 'hard.example' "$PF/maillog" | tail -n 2)"
wait_q 30 "SELECT COUNT(*) > 0 FROM delivery_events d JOIN messages m
    ON d.message = m.id WHERE m.message_id = '<soft.$TAG@origin.example>'
    AND d.status = 'deferred'" 1
is "$(linked_status soft)" deferred "soft.example: deferred (4xx), linked"
wait_q 30 "SELECT COUNT(*) FROM queue_events e JOIN messages m
    ON e.message = m.id WHERE m.message_id = '<hard.$TAG@origin.example>'
    AND e.kind = 'notify' AND e.related_queue_id IS NOT NULL" 1
is "$?" 0 "hard.example: Postfix's own non-delivery notice is linked" ||
    diag "$(q "SELECT kind, queue_id, related_queue_id FROM queue_events")"

# ---------------------------------------------------------------- postfix logrotate
# The file is renamed and compressed; the next line creates a new one.
postfix -c "$PF/conf" logrotate >"$T/logrotate.out" 2>&1
is "$?" 0 "postfix logrotate"
swaks --server "127.0.0.1:$SMTP_PORT" --helo client.example \
    --from sender@origin.example --to user@ok.example \
    --header "Message-Id: <rot.$TAG@origin.example>" \
    --header "Subject: after logrotate" >"$T/swaks-rot.out" 2>&1
wait_q 30 "SELECT COUNT(*) FROM delivery_events d JOIN messages m
    ON d.message = m.id WHERE m.message_id = '<rot.$TAG@origin.example>'
    AND d.status = 'sent'" 1
is "$?" 0 "after postfix logrotate: the new file is followed" ||
    diag "$(ls -l "$PF"; grep 'log follower' "$T/milter.log")"

# postlogd creates the new file mode 0600 (root): a milter running as its
# own user could not read it.  The documented rotation keeps the mode:
# rename, create the file 0640 for the milter's group, postfix reload.
like "$(stat -c %a "$PF/maillog")" '^600$' \
    "the file postlogd created after logrotate is mode 0600"
mv "$PF/maillog" "$PF/maillog.1"
install -m 0640 -o root -g postfix /dev/null "$PF/maillog"
postfix -c "$PF/conf" reload >/dev/null 2>&1
swaks --server "127.0.0.1:$SMTP_PORT" --helo client.example \
    --from sender@origin.example --to user@ok.example \
    --header "Message-Id: <rot2.$TAG@origin.example>" \
    --header "Subject: after rename and reload" >"$T/swaks-rot2.out" 2>&1
wait_q 30 "SELECT COUNT(*) FROM delivery_events d JOIN messages m
    ON d.message = m.id WHERE m.message_id = '<rot2.$TAG@origin.example>'
    AND d.status = 'sent'" 1
is "$?" 0 "rename, create 0640, postfix reload: the new file is followed"
is "$(stat -c %a "$PF/maillog")" 640 "and keeps the mode it was created with"

# ---------------------------------------------------------------- a returning bounce
TRACK=$(q "SELECT track_id FROM messages
    WHERE message_id = '<ok.$TAG@origin.example>'")
like "$TRACK" '^[0-9A-Z]{26}$' "the first message's tracking ID"
cat >"$T/dsn.eml" <<EOF
From: MAILER-DAEMON@mx.remote.example (Mail Delivery System)
To: sender@origin.example
Subject: Undelivered Mail Returned to Sender
Message-Id: <dsn.$TAG@mx.remote.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="BND.$TAG"

This is a MIME-encapsulated message.

--BND.$TAG
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.remote.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<user@ok.example>: host mx.ok.example[192.0.2.80] said: 550 5.1.1
    <user@ok.example>: Recipient address rejected: User unknown (in reply
    to RCPT TO command)

--BND.$TAG
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.remote.example
X-Postfix-Queue-ID: 4XR7Z1Q2W3
Arrival-Date: Mon,  7 Dec 2026 22:00:00 +0000 (UTC)

Final-Recipient: rfc822; user@ok.example
Original-Recipient: rfc822;user@ok.example
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.ok.example
Diagnostic-Code: smtp; 550 5.1.1 <user@ok.example>: Recipient address
    rejected: User unknown

--BND.$TAG
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

X-Mailtrail-ID: $TRACK
From: sender@origin.example
To: user@ok.example
Message-Id: <ok.$TAG@origin.example>
Subject: delivery test ok

--BND.$TAG--
EOF
swaks --server "127.0.0.1:$SMTP_PORT" --helo mx.remote.example \
    --from '<>' --to sender@origin.example --data "$T/dsn.eml" \
    >"$T/swaks-dsn.out" 2>&1
like "$(grep 'queued as' "$T/swaks-dsn.out")" 'queued as [0-9A-F]+' \
    "the bounce is accepted by Postfix (mail flows)"
wait_q 20 "SELECT COUNT(*) FROM bounces WHERE source = 'milter'" 1
is "$?" 0 "the bounce is recorded at end-of-message"
is "$(q "SELECT b.link || ' ' || m.track_id FROM bounces b
    JOIN messages m ON b.message = m.id WHERE b.source = 'milter'")" \
    "tracking-id $TRACK" "linked to the original message by its tracking ID"
BOUNCE_TRACK=$(q "SELECT track_id FROM messages
    WHERE message_id = '<dsn.$TAG@mx.remote.example>'")
is "$(q "SELECT bounce_track_id FROM bounces WHERE source = 'milter'")" \
    "$BOUNCE_TRACK" "bounce_track_id is the report's own tracking ID"
is "$(q "SELECT r.recipient || ' ' || r.status || ' ' || r.reply_code
    FROM bounce_recipients r JOIN bounces b ON r.bounce = b.id
    WHERE b.source = 'milter'")" "user@ok.example 5.1.1 550" \
    "the reported recipient, its status and reply code"

kill -USR1 "$MT_PID"
wait_for 5 grep -q "bounces_recorded=1 " "$T/milter.log"
is "$?" 0 "SIGUSR1: bounces_recorded=1"
like "$(grep 'stats ' "$T/milter.log" | tail -n 1)" 'log_events=[1-9]' \
    "SIGUSR1: the follower's events"

pf_stop "$PF"
mt_stop
is "$?" 0 "clean stop"
done_testing
