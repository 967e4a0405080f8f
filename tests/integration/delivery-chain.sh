#!/bin/bash
# delivery-chain.sh - where the mail went after the gateway, through real
# Postfix instances.
#
#   swaks/bash client -> G: private Postfix + mailtrail-milter, following
#                        G's maillog_file (delivery.maillog)
#   G transport_maps:  ok.example    -> smtp-sink (accepts)
#                      slow.example  -> smtp-sink -r rcpt (451: deferred)
#                      bad.example   -> smtp-sink -f rcpt (550: bounced)
#                      back.example  -> smtp-sink (the senders' domain:
#                                       where G's own bounces go)
#                      chain.example -> R: a second private Postfix (no
#                                       milter) relaying to the first sink
#
# Checked in the journal and with the mailtrail command: each recipient's
# state (delivered, deferred, bounced) with its code, relay and reply; the
# bounce G generated, linked to the original through its log line; that
# bounce sent back through G with a null sender, parsed by the milter and
# linked to the original by our tracking header; the hand-off to R ("queued
# as") followed once R's log is ingested; a `postfix logrotate` under the
# running daemon and a daemon restart, after which every delivery line of
# G's logs is in the journal exactly once.
#
# Needs root, postfix, smtp-sink, swaks, sqlite3, ss; skips otherwise.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/postfix.sh"
. "$top_srcdir/tests/lib/milter.sh"

require_root
require_tool postfix postconf postmap smtp-sink swaks sqlite3 ss zcat
[ -x "$(mt_binary)" ] || skip_all "mailtrail-milter not built"
MT=${top_builddir}/mailtrail
[ -x "$MT" ] || skip_all "mailtrail not built"

HDR=X-Mailtrail-ID
mt_tmpdir T
G=$T/g R=$T/r
G_PORT='' R_PORT='' S_OK='' S_SLOW='' S_BAD='' S_BACK=''
for v in G_PORT R_PORT S_OK S_SLOW S_BAD S_BACK; do
	free_port "$v"
done
SOCK=$T/milter.sock
DB=$T/journal.db
TAG=$$.$RANDOM

# extra_sink NAME PORT [smtp-sink options]: an smtp-sink of our own
extra_sink()
{
	local name=$1 port=$2 pid
	shift 2
	mkdir -p "$T/$name" && chown postfix "$T/$name" || return 1
	smtp-sink -4 -u postfix -h "$name.sink.example" "$@" \
	    -d "$T/$name/%Y%m%d%H%M%S." "127.0.0.1:$port" 16 \
	    >"$T/$name.log" 2>&1 &
	pid=$!
	track_pid "$pid"
	wait_for 10 port_has_listener "$port" &&
	    [ "$(port_listeners "$port")" = "$pid" ]
}

journal()
{
	sql "$DB" "$1"
}

# The tracking ID and queue ID of the message with Message-ID <$1>.
track_of()
{
	journal "SELECT track_id FROM messages WHERE message_id = '<$1>'"
}
msgrow_of()
{
	journal "SELECT id FROM messages WHERE message_id = '<$1>'"
}

# ---------------------------------------------------------------- set up
extra_sink ok "$S_OK" || bail_out "sink ok did not start"
extra_sink slow "$S_SLOW" -r rcpt || bail_out "sink slow did not start"
extra_sink bad "$S_BAD" -f rcpt || bail_out "sink bad did not start"
extra_sink back "$S_BACK" || bail_out "sink back did not start"

pf_setup "$R" "$R_PORT" "$S_OK" "" || bail_out "pf_setup R failed"
pf_start "$R" || bail_out "Postfix R did not start"

pf_setup "$G" "$G_PORT" "$S_OK" "unix:$SOCK" \
    "transport_maps = hash:$G/conf/transport" \
    "maillog_file_compressor = gzip" ||
    bail_out "pf_setup G failed"
cat >"$G/conf/transport" <<EOF
ok.example	smtp:[127.0.0.1]:$S_OK
slow.example	smtp:[127.0.0.1]:$S_SLOW
bad.example	smtp:[127.0.0.1]:$S_BAD
back.example	smtp:[127.0.0.1]:$S_BACK
chain.example	smtp:[127.0.0.1]:$R_PORT
EOF
postmap -c "$G/conf" "hash:$G/conf/transport" || bail_out "postmap failed"
pf_start "$G" || bail_out "Postfix G did not start"

start_daemon()
{
	mt_start "$T" "unix:$SOCK" "$DB" -o milter.socket_mode=0666 \
	    -o "delivery.maillog=$G/maillog" -o delivery.start=beginning \
	    -o delivery.poll_interval=100
}
start_daemon || bail_out "mailtrail-milter did not start"

# send ID FROM RCPT... : one message with Message-ID <ID.TAG@client.example>
send()
{
	local id=$1 from=$2 to
	shift 2
	to=$(IFS=,; echo "$*")
	swaks --server "127.0.0.1:$G_PORT" --helo client.example \
	    --from "$from" --to "$to" \
	    --header "Message-Id: <$id.$TAG@client.example>" \
	    --header "Subject: delivery test $id" >"$T/swaks-$id.out" 2>&1
}

send one sender@back.example alice@ok.example
ok $? "one: accepted by G"
send two sender@back.example bob@slow.example
ok $? "two: accepted by G"
send three sender@back.example carol@bad.example
ok $? "three: accepted by G"
send mixed sender@back.example dave@ok.example erin@slow.example \
    frank@bad.example
ok $? "mixed: accepted by G"
send hop sender@back.example gina@chain.example
ok $? "hop: accepted by G"

# Wait for G's log: sent, deferred, bounced, and the NDR for "three".
delivered_all()
{
	[ "$(grep -c 'status=sent' "$G/maillog")" -ge 4 ] &&
	    [ "$(grep -c 'status=deferred' "$G/maillog")" -ge 2 ] &&
	    [ "$(grep -c 'status=bounced' "$G/maillog")" -ge 2 ] &&
	    grep -q 'sender non-delivery notification' "$G/maillog"
}
wait_for 60 delivered_all
ok $? "G logged deliveries, deferrals, bounces and its non-delivery notices"

# ... and the follower put them in the journal.
followed()
{
	[ "$(journal "SELECT count(*) FROM delivery_events
	    WHERE status = 'bounced'")" -ge 2 ]
}
wait_for 20 followed
ok $? "the follower recorded the bounces"

# ---------------------------------------------------------------- states
m1=$(msgrow_of "one.$TAG@client.example")
like "$(journal "SELECT status || '|' || dsn || '|' || relay FROM
    delivery_events WHERE message = $m1")" \
    "^sent\|2\.0\.0\|127\.0\.0\.1\[127\.0\.0\.1\]:$S_OK$" \
    "one: delivered, 2.0.0, with the relay"
m2=$(msgrow_of "two.$TAG@client.example")
like "$(journal "SELECT status || '|' || dsn || '|' || reply_code FROM
    delivery_events WHERE message = $m2 ORDER BY time LIMIT 1")" \
    '^deferred\|4\.[0-9.]+\|4[0-9][0-9]$' "two: deferred with a 4xx code"
m3=$(msgrow_of "three.$TAG@client.example")
like "$(journal "SELECT status || '|' || dsn || '|' || reply_code || '|' ||
    recipient FROM delivery_events WHERE message = $m3")" \
    '^bounced\|5\.[0-9.]+\|5[0-9][0-9]\|carol@bad\.example$' \
    "three: bounced with a 5xx code"
mm=$(msgrow_of "mixed.$TAG@client.example")
is "$(journal "SELECT group_concat(recipient || '=' || status, ' ') FROM
    (SELECT DISTINCT recipient, status FROM delivery_events
     WHERE message = $mm AND status <> 'deferred' ORDER BY recipient)")" \
    "dave@ok.example=sent frank@bad.example=bounced" \
    "mixed: one recipient delivered, one bounced"
is "$(journal "SELECT count(*) > 0 FROM delivery_events WHERE message = $mm
    AND recipient = 'erin@slow.example' AND status = 'deferred'")" 1 \
    "mixed: one recipient deferred"

# G's bounce for "three": linked by its log line, and known by queue ID.
q3=$(journal "SELECT queue_id FROM messages WHERE id = $m3")
ndr=$(journal "SELECT related_queue_id FROM queue_events
    WHERE message = $m3 AND kind = 'notify'")
like "$ndr" '^[0-9A-F]+$' "three: G's non-delivery notice $ndr linked to $q3"
"$MT" --journal "$DB" show "$ndr" >"$T/show-ndr.out" 2>&1
ok $? "show answers for the notice's queue ID (not a milter message)"
like "$(cat "$T/show-ndr.out")" "sent|delivered" "show: the notice was delivered"

"$MT" --journal "$DB" show "three.$TAG@client.example" >"$T/show3.out" 2>&1
ok $? "show three"
like "$(cat "$T/show3.out")" "bounced" "show three: bounced"
like "$(cat "$T/show3.out")" "5\.[0-9]\.[0-9]" "show three: the code"
"$MT" --journal "$DB" find --status bounced --since 1h >"$T/find.out" 2>&1
like "$(cat "$T/find.out")" "carol@bad\.example|three" \
    "find --status bounced lists message three"

# ---------------------------------------------------------------- the bounce back through G
f=$(grep -l -F "three.$TAG@client.example" "$T"/back/* 2>/dev/null | head -n 1)
ok "$([ -n "$f" ]; echo $?)" "G's bounce for three reached the senders' sink"
if [ -n "$f" ]; then
	sink_message "$f" >"$T/ndr.eml"
	swaks --server "127.0.0.1:$G_PORT" --helo mx.back.example \
	    --from '' --to sender@back.example --data "$T/ndr.eml" \
	    >"$T/swaks-ndr.out" 2>&1
	ok $? "the bounce is sent back through G with a null sender"
	linked()
	{
		[ -n "$(journal "SELECT 1 FROM bounces WHERE message = $m3")" ]
	}
	wait_for 20 linked
	is "$(journal "SELECT link || '|' || source FROM bounces
	    WHERE message = $m3")" "tracking-id|milter" \
	    "the milter parsed it and linked it by the tracking header"
	like "$(journal "SELECT r.recipient || '|' || r.status || '|' ||
	    r.permanent FROM bounce_recipients r JOIN bounces b
	    ON b.id = r.bounce WHERE b.message = $m3")" \
	    '^carol@bad\.example\|5\.[0-9.]+\|1$' \
	    "the bounce names the recipient, a 5.x.x code, permanent"
fi

# ---------------------------------------------------------------- the next hop
mh=$(msgrow_of "hop.$TAG@client.example")
rq=$(journal "SELECT next_queue_id FROM delivery_events WHERE message = $mh
    AND status = 'sent'")
like "$rq" '^[0-9A-F]+$' "hop: handed to R as $rq (queued as)"
pf_wait_queue_empty "$R" 30
"$MT" --journal "$DB" ingest-log "$R/maillog" >"$T/ingest-r.out" 2>&1
ok $? "R's log ingested"
is "$(journal "SELECT status FROM delivery_events WHERE queue_id = '$rq'
    AND recipient = 'gina@chain.example'")" sent \
    "hop: R delivered it (followed through the queue ID R logged)"
"$MT" --journal "$DB" show --json "hop.$TAG@client.example" >"$T/show-hop.json"
ok $? "show hop --json"
like "$(cat "$T/show-hop.json")" "\"$rq\"" "show hop: the hand-off names R's queue ID"
"$MT" --journal "$DB" show "hop.$TAG@client.example" >"$T/show-hop.out"
like "$(cat "$T/show-hop.out")" "$rq" "show hop: the text names R's queue ID too"

# ---------------------------------------------------------------- rotation and restart
postfix -c "$G/conf" logrotate >/dev/null 2>&1
ok $? "postfix logrotate under the running daemon"
send four sender@back.example henry@ok.example
ok $? "four: accepted after the rotation"
mt_stop
is "$?" 0 "daemon stops"
send five sender@back.example ida@ok.example
ok $? "five: accepted while the daemon is down (mail flows untracked)"
start_daemon || bail_out "mailtrail-milter did not restart"
send six sender@back.example jack@ok.example
ok $? "six: accepted after the restart"
six_seen()
{
	[ -n "$(journal "SELECT 1 FROM delivery_events
	    WHERE recipient = 'jack@ok.example' AND status = 'sent'")" ]
}
wait_for 30 six_seen
ok $? "six: delivery recorded after the restart"
# Every delivery line G wrote, in the live and the rotated files, is in
# the journal once.
want=$( { cat "$G"/maillog; for f in "$G"/maillog.*; do
	case $f in *.gz) zcat "$f" ;; *) cat "$f" ;; esac; done; } 2>/dev/null |
	grep -c ' status=\(sent\|deferred\|bounced\|expired\)')
got=$(journal "SELECT count(*) FROM delivery_events WHERE source = 'follower'")
is "$got" "$want" "every delivery line of G's logs, rotated or not, recorded once"
is "$(journal "SELECT count(*) FROM delivery_events
    WHERE recipient = 'ida@ok.example' AND status = 'sent'")" 1 \
    "five: its delivery, logged while the daemon was down, read on restart"

mt_stop
done_testing
