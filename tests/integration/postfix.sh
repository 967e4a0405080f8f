#!/bin/bash
# postfix.sh - mailtrail-milter behind a real, private Postfix.
#
# Scenario: smtp-sink <- private Postfix (127.0.0.1 only) <- swaks and a
# small bash SMTP client, with mailtrail-milter on a unix: socket in the
# test's temporary directory.  Checked at both ends: what the sink received
# (the tracking header, where it is, what was removed) and what the journal
# holds (the queue ID Postfix logged, client, HELO, envelope, the recipient
# Postfix rejected, several transactions on one connection, forged and
# trusted tracking headers).
#
# Two daemon runs against the same Postfix:
#   A. trusted_networks=192.0.2.0/24: the loopback client is untrusted, so
#      tracking headers it sends are forged and must be removed;
#   B. trusted_networks=127.0.0.0/8: a tracking header from the client is
#      an upstream hop's, kept and recorded as parent_id.
#
# (swaks replaces its own header only when the name is spelt as it spells
# it: "Message-Id".)
#
# Needs root, postfix, smtp-sink, swaks, sqlite3, ss; skips otherwise.
# MT_KEEP_TMP=1 keeps the temporary directory; MT_MILTER overrides the
# daemon's path; MT_TEST_OPTS adds daemon arguments (word-split).

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/postfix.sh"
. "$top_srcdir/tests/lib/milter.sh"

require_root
require_tool postfix postconf postmap postqueue smtp-sink swaks sqlite3 ss
[ -x "$(mt_binary)" ] || skip_all "mailtrail-milter not built at $(mt_binary)"

HDR=X-Mailtrail-ID
ID_RE='^[0-9A-HJKMNP-TV-Z]{26}$'
UPSTREAM_ID=01HZX3K4M5N6P7Q8R9S0T1V2W3
FORGED1=01HZX3K4M5N6P7Q8R9S0T1V2W4
FORGED2=forged-two
FORGED3='forged three, with spaces'

mt_tmpdir T
PF=$T/pf
SMTP_PORT='' SINK_PORT=''
free_port SMTP_PORT
free_port SINK_PORT
SOCK=$T/milter.sock
TAG=$$.$RANDOM

# ---------------------------------------------------------------- helpers

# The sink file holding the message with Message-ID <$1>.
sink_file_of()
{
	grep -l -i -F "Message-ID: <$1>" "$T"/sink/* 2>/dev/null | head -n 1
}

# Names of the header fields of a delivered message, in order.
header_names()
{
	msg_headers "$1" | sed 's/:.*//'
}

# Values of header NAME (case-insensitive), leading white space removed.
header_values()
{
	msg_headers "$1" | awk -v n="$2" '
	{ i = index($0, ":"); if (tolower(substr($0, 1, i - 1)) != tolower(n)) next
	  v = substr($0, i + 1); sub(/^[ \t]+/, "", v); print v }'
}

# Send a message file over a new session: smtp_one HELO FROM RCPT... FILE
# (several RCPTs allowed; FILE last).  Rejected RCPTs are fine.
smtp_one()
{
	local helo=$1 from=$2 args=("${@:3}") file r
	file=${args[-1]}
	unset 'args[-1]'
	smtp_open "$SMTP_PORT" || return 1
	smtp_cmd "EHLO $helo" || return 1
	smtp_cmd "MAIL FROM:<$from>" || return 1
	for r in "${args[@]}"; do
		smtp_cmd "RCPT TO:<$r>"
	done
	smtp_data "$file"
	local rc=$?
	smtp_close
	return $rc
}

# journal QUERY: one query against the current run's journal.
journal()
{
	sql "$JOURNAL" "$1"
}

# ---------------------------------------------------------------- set up

sink_start "$T" "$SINK_PORT" || bail_out "smtp-sink did not start"
pf_setup "$PF" "$SMTP_PORT" "$SINK_PORT" "unix:$SOCK" ||
    bail_out "pf_setup failed"
pf_start "$PF" || bail_out "private Postfix did not start"
note "Postfix $(postconf -c "$PF/conf" -h mail_version) on 127.0.0.1:$SMTP_PORT, sink on $SINK_PORT, milter unix:$SOCK"

# ================================================================ run A
JOURNAL=$T/journal-a.db
t0=$(elapsed_ms)
# shellcheck disable=SC2086
mt_start "$T" "unix:$SOCK" "$JOURNAL" -o milter.socket_mode=0666 \
    -o 'trusted_networks=192.0.2.0/24' $MT_TEST_OPTS ||
    bail_out "mailtrail-milter did not start"
note "run A: daemon listening after $(($(elapsed_ms) - t0)) ms"

# 1. swaks: one accepted and one rejected recipient in one transaction.
MID1=mt-1.$TAG@client.example
swaks --server "127.0.0.1:$SMTP_PORT" --helo helo-one.example \
    --from sender-one@example.org \
    --to "rcpt-one@example.com,$PF_REJECT_RCPT" \
    --header "Message-Id: <$MID1>" --header "Subject: mailtrail test one" \
    >"$T/swaks1.out" 2>&1
like "$(grep -F "<$PF_REJECT_RCPT>" "$T/swaks1.out" | grep '<\*\*' | head -n 1)" \
    "554 5\.7\.1 .*$PF_REJECT_TEXT" \
    "Postfix rejects $PF_REJECT_RCPT with the map's text"
like "$(grep 'queued as' "$T/swaks1.out")" 'queued as [0-9A-F]+' \
    "message 1 accepted by Postfix"

# 2+3. two transactions on one connection (bash SMTP client).
# (MIDn are also read as ${!mid})
MID2=mt-2.$TAG@client.example
# shellcheck disable=SC2034
MID3=mt-3.$TAG@client.example
for n in 2 3; do
	mid=MID$n
	printf '%s\n' "From: <sender-two@example.org>" \
	    "To: <rcpt-$n@example.com>" \
	    "Subject: mailtrail test $n" \
	    "Date: $(date -R)" \
	    "Message-ID: <${!mid}>" \
	    "" "body of message $n" >"$T/msg$n.eml"
done
qid2='' qid3=''
if smtp_open "$SMTP_PORT" && smtp_cmd "EHLO helo-two.example"; then
	smtp_cmd "MAIL FROM:<sender-two@example.org> BODY=8BITMIME" &&
	    smtp_cmd "RCPT TO:<rcpt-2@example.com>" &&
	    smtp_data "$T/msg2.eml" && qid2=${SMTP_REPLY##*queued as }
	smtp_cmd "MAIL FROM:<sender-two@example.org>" &&
	    smtp_cmd "RCPT TO:<rcpt-3a@example.com>" &&
	    smtp_cmd "RCPT TO:<rcpt-3b@example.com>" &&
	    smtp_data "$T/msg3.eml" && qid3=${SMTP_REPLY##*queued as }
	smtp_close
fi
like "$qid2 $qid3" '^[0-9A-F]+ [0-9A-F]+$' \
    "two messages accepted on one connection (queue IDs '$qid2' '$qid3')"

# 4. forged tracking headers from an untrusted client, interleaved with
#    others; one in lower case.
MID4=mt-4.$TAG@client.example
cat >"$T/msg4.eml" <<EOF
From: <forger@example.org>
To: <rcpt-4@example.com>
Subject: mailtrail test 4 (forged)
Date: $(date -R)
Message-ID: <$MID4>
X-A: first
$HDR: $FORGED1
X-B: second
x-mailtrail-id: $FORGED2
X-C: third,
 folded
$HDR: $FORGED3
X-D: fourth

body of message 4
EOF
smtp_one helo-four.example forger@example.org rcpt-4@example.com "$T/msg4.eml"
ok $? "forged message accepted by Postfix"

pf_wait_queue_empty "$PF" 60
ok $? "Postfix queue drained (run A)"
t0=$(elapsed_ms)
mt_stop
is "$?" 0 "daemon exits 0 on SIGTERM (run A)"
note "run A: daemon stopped $(($(elapsed_ms) - t0)) ms after SIGTERM"

# ---------------------------------------------------------------- checks A

is "$(journal 'PRAGMA user_version')" 6 "journal schema version 6"

# Each message at the sink: one tracking header, at the top, known to the
# journal with the queue ID Postfix logged.
for n in 1 2 3 4; do
	mid=MID$n
	f=$(sink_file_of "${!mid}")
	if [ -z "$f" ]; then
		fail "message $n reached the sink"
		continue
	fi
	pass "message $n reached the sink"
	sink_message "$f" >"$T/got$n.eml"
	ids=$(header_values "$T/got$n.eml" "$HDR")
	is "$(printf '%s\n' "$ids" | grep -c .)" 1 \
	    "message $n: exactly one $HDR header at the sink"
	is "$(header_names "$T/got$n.eml" | head -n 1)" "$HDR" \
	    "message $n: $HDR is the first header (above Postfix's Received:)"
	id=$(printf '%s\n' "$ids" | head -n 1)
	if ! like "$id" "$ID_RE" "message $n: tracking ID is 26 base32 characters"; then
		continue
	fi
	eval "ID$n=\$id"
	is "$(journal "SELECT count(*) FROM messages WHERE track_id = '$id'")" 1 \
	    "message $n: its ID is in the journal"
	qid_log=$(pf_queue_id_of "$PF" "${!mid}")
	qid_rcvd=$(header_values "$T/got$n.eml" Received | head -n 1 |
	    sed -n 's/.*(Postfix) with E\{0,1\}SMTP id \([0-9A-F]*\).*/\1/p')
	is "$qid_rcvd" "$qid_log" \
	    "message $n: Received: and maillog agree on queue ID $qid_log"
	is "$(journal "SELECT queue_id FROM messages WHERE track_id = '$id'")" \
	    "$qid_log" "message $n: journal has Postfix's queue ID"
	is "$(journal "SELECT outcome FROM messages WHERE track_id = '$id'")" \
	    accepted "message $n: outcome accepted"
	mid_re=${!mid}
	like "$(journal "SELECT message_id FROM messages WHERE track_id = '$id'")" \
	    "${mid_re//./\\.}" "message $n: Message-ID recorded"
	is "$(journal "SELECT c.client_addr FROM messages m JOIN connections c ON c.id = m.conn_id WHERE m.track_id = '$id'")" \
	    127.0.0.1 "message $n: client_addr 127.0.0.1"
done

is "$qid2" "$(pf_queue_id_of "$PF" "$MID2")" "SMTP reply and maillog agree (message 2)"

# Message 1: envelope, HELO, the rejected recipient.
if [ -n "$ID1" ]; then
	q="FROM messages WHERE track_id = '$ID1'"
	is "$(journal "SELECT mail_from $q")" sender-one@example.org \
	    "message 1: envelope sender"
	is "$(journal "SELECT c.helo FROM messages m JOIN connections c ON c.id = m.conn_id WHERE m.track_id = '$ID1'")" \
	    helo-one.example "message 1: HELO recorded"
	is "$(journal "SELECT rcpt_accepted || '/' || rcpt_rejected $q")" 1/1 \
	    "message 1: one recipient accepted, one rejected"
	r="FROM recipients r JOIN messages m ON m.id = r.message WHERE m.track_id = '$ID1'"
	is "$(journal "SELECT address || ' ' || status $r ORDER BY seq" | tr '\n' ';')" \
	    "rcpt-one@example.com accepted;$PF_REJECT_RCPT rejected;" \
	    "message 1: recipients in order with their status"
	is "$(journal "SELECT enhanced_code $r AND r.status = 'rejected'")" \
	    "$PF_REJECT_CODE" "message 1: rejected recipient's enhanced code"
	like "$(journal "SELECT reply_text $r AND r.status = 'rejected'")" \
	    "$PF_REJECT_TEXT" "message 1: rejected recipient's text from the map"
	is "$(journal "SELECT coalesce(reply_code, 'NULL') $r AND r.status = 'rejected'")" \
	    NULL "message 1: no reply code (Postfix gives none)"
	is "$(journal "SELECT subject $q")" "mailtrail test one" \
	    "message 1: Subject recorded"
fi

# Messages 2 and 3: one connection, two transactions.
if [ -n "$ID2" ] && [ -n "$ID3" ]; then
	is "$(journal "SELECT count(DISTINCT conn_id) || '/' || count(*) FROM messages WHERE track_id IN ('$ID2', '$ID3')")" \
	    1/2 "messages 2 and 3: two rows, one conn_id"
	is "$(journal "SELECT c.messages || ' ' || c.helo FROM connections c JOIN messages m ON m.conn_id = c.id WHERE m.track_id = '$ID2'")" \
	    "2 helo-two.example" "messages 2 and 3: connection counts 2 messages, HELO recorded"
	is "$(journal "SELECT mail_args FROM messages WHERE track_id = '$ID2'")" \
	    BODY=8BITMIME "message 2: MAIL FROM arguments"
	r="FROM recipients r JOIN messages m ON m.id = r.message WHERE m.track_id = '$ID3'"
	is "$(journal "SELECT address $r ORDER BY seq" | tr '\n' ' ')" \
	    "rcpt-3a@example.com rcpt-3b@example.com " "message 3: both recipients"
	x=$(journal "SELECT c.close_time IS NOT NULL AND c.close_time >= c.connect_time FROM connections c JOIN messages m ON m.conn_id = c.id WHERE m.track_id = '$ID3'")
	is "$x" 1 "messages 2 and 3: connection close time recorded"
fi

# Message 4: forged headers removed, everything else intact and in order.
if [ -n "$ID4" ]; then
	got=$(header_values "$T/got4.eml" "$HDR")
	is "$got" "$ID4" "message 4: only our $HDR remains"
	for v in "$FORGED1" "$FORGED2" "$FORGED3"; do
		! grep -q -F -- "$v" "$T/got4.eml"
		ok $? "message 4: forged value '$v' gone"
	done
	# What was sent minus the forged fields, and what arrived minus our
	# header and Postfix's Received:
	msg_headers "$T/msg4.eml" | grep -v -i "^$HDR:" >"$T/want4.hdr"
	msg_headers "$T/got4.eml" | sed 1d | grep -v '^Received:' >"$T/got4.hdr"
	if cmp -s "$T/want4.hdr" "$T/got4.hdr"; then
		pass "message 4: other headers intact and in order"
	else
		fail "message 4: other headers intact and in order"
		diag "$(diff "$T/want4.hdr" "$T/got4.hdr")"
	fi
	is "$(sed -n '/^$/,$p' "$T/got4.eml" | grep -c 'body of message 4')" 1 \
	    "message 4: body intact"
	e="FROM header_edits e JOIN messages m ON m.id = e.message WHERE m.track_id = '$ID4'"
	is "$(journal "SELECT count(*) $e AND e.action = 'removed'")" 3 \
	    "message 4: three header_edits rows 'removed'"
	is "$(journal "SELECT trim(value) $e AND e.action = 'removed' ORDER BY trim(value)" | tr '\n' '|')" \
	    "$(printf '%s\n' "$FORGED1" "$FORGED2" "$FORGED3" | LC_ALL=C sort | tr '\n' '|')" \
	    "message 4: the removed values are the forged ones"
	is "$(journal "SELECT count(*) $e AND e.action = 'removed' AND lower(e.name) <> lower('$HDR')")" \
	    0 "message 4: only $HDR headers removed"
	is "$(journal "SELECT coalesce(parent_id, '') FROM messages WHERE track_id = '$ID4'")" \
	    "" "message 4: no parent_id from an untrusted client"
	is "$(journal "SELECT c.trusted FROM connections c JOIN messages m ON m.conn_id = c.id WHERE m.track_id = '$ID4'")" \
	    0 "message 4: connection not trusted"
fi

is "$(journal 'PRAGMA integrity_check')" ok "journal A passes integrity_check"

# ================================================================ run B
JOURNAL=$T/journal-b.db
# shellcheck disable=SC2086
mt_start "$T" "unix:$SOCK" "$JOURNAL" -o milter.socket_mode=0666 \
    -o 'trusted_networks=127.0.0.0/8' $MT_TEST_OPTS ||
    bail_out "mailtrail-milter did not start (run B)"

MID5=mt-5.$TAG@client.example
cat >"$T/msg5.eml" <<EOF
From: <upstream@example.org>
To: <rcpt-5@example.com>
Subject: mailtrail test 5 (trusted upstream)
Date: $(date -R)
Message-ID: <$MID5>
$HDR: $UPSTREAM_ID
X-E: after the upstream header

body of message 5
EOF
smtp_one helo-five.example upstream@example.org rcpt-5@example.com "$T/msg5.eml"
ok $? "trusted message accepted by Postfix"
pf_wait_queue_empty "$PF" 60
ok $? "Postfix queue drained (run B)"
mt_stop
is "$?" 0 "daemon exits 0 on SIGTERM (run B)"

f=$(sink_file_of "$MID5")
if [ -n "$f" ]; then
	sink_message "$f" >"$T/got5.eml"
	vals=$(header_values "$T/got5.eml" "$HDR" | tr '\n' ' ')
	ID5=$(header_values "$T/got5.eml" "$HDR" | head -n 1)
	like "$vals" "^[0-9A-Z]{26} $UPSTREAM_ID \$" \
	    "message 5: ours at the top, the upstream $HDR kept"
	is "$(header_names "$T/got5.eml" | head -n 1)" "$HDR" \
	    "message 5: ours is the first header"
	if [[ $ID5 =~ $ID_RE ]]; then
		is "$(journal "SELECT parent_id FROM messages WHERE track_id = '$ID5'")" \
		    "$UPSTREAM_ID" "message 5: upstream ID recorded as parent_id"
		e="FROM header_edits e JOIN messages m ON m.id = e.message WHERE m.track_id = '$ID5'"
		is "$(journal "SELECT count(*) $e AND e.action = 'removed'")" 0 \
		    "message 5: nothing removed"
		is "$(journal "SELECT trim(value) $e AND e.action = 'kept'")" \
		    "$UPSTREAM_ID" "message 5: header_edits row 'kept'"
		is "$(journal "SELECT c.trusted FROM connections c JOIN messages m ON m.conn_id = c.id WHERE m.track_id = '$ID5'")" \
		    1 "message 5: connection trusted"
	else
		fail "message 5: a tracking ID was added (got '$ID5')"
	fi
else
	fail "message 5 reached the sink"
fi
is "$(journal 'PRAGMA integrity_check')" ok "journal B passes integrity_check"

# ---------------------------------------------------------------- the end
if grep -q 'warning: .*[Mm]ilter' "$PF/maillog"; then
	diag "Postfix milter warnings:"
	diag "$(grep 'warning: .*[Mm]ilter' "$PF/maillog" | head -n 10)"
fi
pf_stop "$PF"
sink_stop
note "whole run: $(elapsed_ms) ms"
done_testing
