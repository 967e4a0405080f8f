#!/bin/bash
# sendmail.sh - mailtrail-milter behind a real, private Sendmail.
#
# Scenario: smtp-sink <- private Sendmail 8.17 from Debian's packages
# (127.0.0.1 only, its INPUT_MAIL_FILTER and macro lists taken from
# etc/sendmail.mc) <- a bash SMTP client and a Python STARTTLS client, with
# mailtrail-milter on a unix: socket in the test's temporary directory.
#   session A: two transactions on one connection, the first with a
#              recipient Sendmail rejects (an unknown local user:
#              "550 5.1.1 User unknown");
#   session B: STARTTLS, AUTH PLAIN, one transaction.
# Checked at both ends and against Sendmail's own log: the sink receives the
# tracking header; the journal holds Sendmail's queue IDs (the ones in its
# log and its SMTP replies, a new one for each transaction), the client,
# HELO, TLS and AUTH facts, the rejected recipient with its code, enhanced
# status and text.  Then Sendmail-shaped macro sequences through miltertest
# (sendmail-shapes.lua), and the fail-open choice of etc/sendmail.mc: with
# the daemon stopped, Sendmail delivers the mail untracked.
#
# Sendmail is not installed: tests/lib/sendmail.sh downloads the packages
# once into a cache and runs the instance in private namespaces.  Skips when
# not root, or when the packages can be neither downloaded nor found in the
# cache.  MT_KEEP_TMP=1 keeps the temporary directory; MT_MILTER overrides
# the daemon's path; MT_TEST_OPTS adds daemon arguments (word-split).

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/postfix.sh"
. "$top_srcdir/tests/lib/milter.sh"
. "$top_srcdir/tests/lib/sendmail.sh"

[ "$(id -u)" = 0 ] ||
    skip_all "needs root (runs a private Sendmail in its own namespaces)"
require_tool smtp-sink sqlite3 ss
[ -x "$(mt_binary)" ] || skip_all "mailtrail-milter not built at $(mt_binary)"
t0=$(elapsed_ms)
sm_fetch || skip_all "$SM_SKIP_REASON"
fetch_ms=$(($(elapsed_ms) - t0))

HDR=X-Mailtrail-ID
ID_RE='^[0-9A-HJKMNP-TV-Z]{26}$'
QID_RE='^[0-9A-Za-z]{14}$'

mt_tmpdir T
SM=$T/sm
SMTP_PORT='' SINK_PORT=''
free_port SMTP_PORT
free_port SINK_PORT
SOCK=$T/milter.sock
JOURNAL=$T/journal.db
TAG=sm.$$.$RANDOM

journal()
{
	sql "$JOURNAL" "$1"
}

# The sink file holding the message with Message-ID <$1>.
sink_file_of()
{
	grep -l -i -F "Message-ID: <$1>" "$T"/sink/* 2>/dev/null | head -n 1
}

header_values()
{
	msg_headers "$1" | awk -v n="$2" '
	{ i = index($0, ":"); if (tolower(substr($0, 1, i - 1)) != tolower(n)) next
	  v = substr($0, i + 1); sub(/^[ \t]+/, "", v); print v }'
}

# One field of Sendmail's log line "QID: KEY=VALUE, ...": sm_log_field QID KEY
sm_log_field()
{
	sed -n "s/.* sm-mta\[[0-9]*\]: $1: .*[ ,]$2=\([^,]*\).*/\1/p" \
	    "$SM/maillog" | head -n 1
}

# ---------------------------------------------------------------- set up

sink_start "$T" "$SINK_PORT" || bail_out "smtp-sink did not start"
sm_setup "$SM" "$SMTP_PORT" "$SINK_PORT" "local:$SOCK" ||
    bail_out "sm_setup failed"
ok $? "sendmail.cf built with m4 from etc/sendmail.mc"
SMV=$(sm_version)
like "$(grep '^Xmailtrail' "$SM/sendmail.cf")" "^Xmailtrail, S=local:$SOCK, T=C:" \
    "sendmail.cf: the milter from etc/sendmail.mc, without F= (fail open)"
like "$(grep '^O Milter.macros.eom' "$SM/sendmail.cf")" '^O Milter.macros.eom=i, \{msg_size\}' \
    "sendmail.cf: the macro lists from etc/sendmail.mc"
is "$(grep '^O DaemonPortOptions' "$SM/sendmail.cf")" \
    "O DaemonPortOptions=Family=inet, Name=MTA, Port=$SMTP_PORT, Addr=127.0.0.1" \
    "sendmail.cf: one daemon, on our loopback port (no default MSA on 587)"

# shellcheck disable=SC2086
mt_start "$T" "unix:$SOCK" "$JOURNAL" $MT_TEST_OPTS ||
    bail_out "mailtrail-milter did not start"
t0=$(elapsed_ms)
sm_start "$SM" || bail_out "private Sendmail did not start"
start_ms=$(($(elapsed_ms) - t0))
note "Sendmail $SMV on 127.0.0.1:$SMTP_PORT (started in $start_ms ms; packages ready in $fetch_ms ms), sink on $SINK_PORT, milter unix:$SOCK"
like "$(grep 'starting daemon' "$SM/maillog")" "starting daemon \($SMV\)" \
    "Sendmail logs to our syslog receiver"

# ================================================================ the scenario
t0=$(elapsed_ms)
scn_run "$SMTP_PORT" "$T/scn" "$TAG" "$SM_REJECT_RCPT"
ok $? "scenario sessions ran"
note "scenario: $(($(elapsed_ms) - t0)) ms"
R=$T/scn
like "$(scn_reply "$R" reject)" "^550 5\.1\.1 <$SM_REJECT_RCPT>\.\.\. User unknown\$" \
    "Sendmail rejects $SM_REJECT_RCPT: 550 5.1.1 User unknown"
for n in 1 2 3; do
	r=$(scn_reply "$R" "queued$n")
	qid=$(echo "$r" | awk '$1 == 250 { print $3 }')
	like "$qid" "$QID_RE" "message $n accepted by Sendmail ($r)"
	eval "QR$n=\$qid"
done
like "$(scn_reply "$R" starttls)" '^220 ' "STARTTLS accepted"
like "$(scn_reply "$R" auth)" '^235 ' "AUTH PLAIN accepted"
read -r _ TLS_VERSION TLS_CIPHER TLS_BITS <<<"$(grep '^tls ' "$R/replies")"

sm_wait_queue_empty "$SM" 30
ok $? "Sendmail's queue drained"
wait_for 10 sm_idle

# ---------------------------------------------------------------- at the sink

for n in 1 2 3; do
	mid=scn-$n.$TAG@client.example
	f=$(sink_file_of "$mid")
	if [ -z "$f" ]; then
		fail "message $n reached the sink"
		continue
	fi
	pass "message $n reached the sink"
	sink_message "$f" >"$T/got$n.eml"
	ids=$(header_values "$T/got$n.eml" "$HDR")
	is "$(printf '%s\n' "$ids" | grep -c .)" 1 \
	    "message $n: exactly one $HDR header at the sink"
	is "$(msg_headers "$T/got$n.eml" | head -n 1 | sed 's/:.*//')" "$HDR" \
	    "message $n: $HDR is the first header (above Sendmail's Received:)"
	id=$(printf '%s\n' "$ids" | head -n 1)
	like "$id" "$ID_RE" "message $n: tracking ID is 26 base32 characters" ||
	    continue
	eval "ID$n=\$id"
done

# ---------------------------------------------------------------- the journal

is "$(journal 'PRAGMA integrity_check')" ok "journal passes integrity_check"
for n in 1 2 3; do
	id=ID$n qr=QR$n
	id=${!id} qr=${!qr}
	[ -n "$id" ] || { fail "message $n: no tracking ID to look up"; continue; }
	q="FROM messages WHERE track_id = '$id'"
	qlog=$(sm_queue_id_of "$SM" "scn-$n.$TAG@client.example")
	is "$qlog" "$qr" "message $n: Sendmail's log and SMTP reply agree on queue ID $qr"
	is "$(journal "SELECT queue_id $q")" "$qlog" \
	    "message $n: journal has Sendmail's queue ID"
	like "$(grep -F "$qlog: Milter (mailtrail) insert (0): header: $HDR: " "$SM/maillog")" \
	    ": +$id\$" "message $n: Sendmail's log shows our header with the journal's ID"
	is "$(journal "SELECT outcome || ' ' || stage $q")" "accepted eom" \
	    "message $n: outcome accepted at eom"
	is "$(journal "SELECT message_id $q")" "<scn-$n.$TAG@client.example>" \
	    "message $n: Message-ID recorded"
	is "$(journal "SELECT rcpt_accepted $q")" "$(sm_log_field "$qlog" nrcpts)" \
	    "message $n: accepted recipients = Sendmail's nrcpts"
done

# Session A: one connection, two transactions, two queue IDs.
if [ -n "$ID1" ] && [ -n "$ID2" ]; then
	c="FROM connections c JOIN messages m ON m.conn_id = c.id WHERE m.track_id = '$ID1'"
	is "$(journal "SELECT count(DISTINCT conn_id) || '/' || count(DISTINCT queue_id) FROM messages WHERE track_id IN ('$ID1', '$ID2')")" \
	    1/2 "session A: one connection, a queue ID per transaction"
	is "$(journal "SELECT c.messages || ' ' || c.helo $c")" "2 helo-a.example" \
	    "session A: the connection counts 2 messages; HELO recorded"
	is "$(journal "SELECT c.client_addr || ' ' || c.client_name || ' ' || c.client_ptr || ' ' || c.client_resolve || ' ' || (c.client_port > 0) $c")" \
	    "127.0.0.1 localhost localhost OK 1" \
	    "session A: client address, port, names and lookup result"
	is "$(journal "SELECT c.mta_host || ' ' || c.mta_daemon || ' ' || c.mta_version $c")" \
	    "$SM_HOSTNAME MTA $SMV" "session A: MTA host, daemon name and version"
	is "$(journal "SELECT quote(c.tls_version) || ' ' || quote(c.auth_type) $c")" \
	    "NULL NULL" "session A: no TLS, no AUTH"
	is "$(journal "SELECT mail_from || ' ' || mail_args FROM messages WHERE track_id = '$ID1'")" \
	    "sender-a@example.org BODY=8BITMIME" "message 1: envelope sender and its ESMTP argument"
	is "$(journal "SELECT rcpt_accepted || '/' || rcpt_rejected FROM messages WHERE track_id = '$ID1'")" \
	    1/1 "message 1: one recipient accepted, one rejected"
	r="FROM recipients r JOIN messages m ON m.id = r.message WHERE m.track_id = '$ID1'"
	is "$(journal "SELECT address || ' ' || status $r ORDER BY seq" | tr '\n' ';')" \
	    "rcpt-a1@example.com accepted;$SM_REJECT_RCPT rejected;" \
	    "message 1: recipients in order with their status"
	is "$(journal "SELECT reply_code || '|' || enhanced_code || '|' || reply_text $r AND r.status = 'rejected'")" \
	    "550|5.1.1|User unknown" \
	    "message 1: rejected recipient's code, enhanced status and text"
	like "$(grep -F "$QR1: <$SM_REJECT_RCPT>... User unknown" "$SM/maillog")" . \
	    "message 1: Sendmail's log has the same rejection"
	is "$(journal "SELECT rcpt_rejected FROM messages WHERE track_id = '$ID2'")" \
	    0 "message 2: no rejected recipient carried over from message 1"
fi

# Session B: TLS and AUTH facts, as the client saw them and Sendmail logged.
if [ -n "$ID3" ]; then
	c="FROM connections c JOIN messages m ON m.conn_id = c.id WHERE m.track_id = '$ID3'"
	tlslog=$(grep 'STARTTLS=server' "$SM/maillog" | tail -n 1)
	authlog=$(grep 'AUTH=server' "$SM/maillog" | tail -n 1)
	is "$(journal "SELECT c.helo $c")" helo-b.example "session B: HELO after STARTTLS"
	is "$(journal "SELECT c.tls_version $c")" "$TLS_VERSION" \
	    "session B: TLS version $TLS_VERSION, as the client saw it"
	like "$tlslog" "version=$TLS_VERSION, .*cipher=$TLS_CIPHER, bits=$TLS_BITS/" \
	    "session B: ... and as Sendmail logged it"
	is "$(journal "SELECT c.tls_cipher || ' ' || c.tls_bits $c")" \
	    "$TLS_CIPHER $TLS_BITS" "session B: cipher and bits"
	is "$(journal "SELECT quote(c.tls_cert_subject) || ' ' || quote(c.tls_cert_issuer) $c")" \
	    "NULL NULL" \
	    "session B: no client certificate, no subject or issuer (Sendmail sends them empty)"
	is "$(journal "SELECT c.auth_type || ' ' || c.auth_authen $c")" \
	    "PLAIN $SCN_SASL_USER" "session B: AUTH mechanism and user"
	like "$authlog" "authid=$SCN_SASL_USER, mech=PLAIN," \
	    "session B: ... as Sendmail logged them"
	is "$(journal "SELECT count(DISTINCT conn_id) FROM messages WHERE track_id IN ('$ID1', '$ID3')")" \
	    2 "session B is a connection of its own"
fi

# ================================================================ Sendmail's shapes
# miltertest replays macro sequences as Sendmail sends them (see the
# script); the shell checks what the journal made of them.
if command -v miltertest >/dev/null 2>&1; then
	out=$T/shapes.out
	timeout 60 miltertest -D sock="unix:$SOCK" \
	    -D lib="$top_srcdir/tests/integration/lib.lua" \
	    -s "$top_srcdir/tests/integration/sendmail-shapes.lua" >"$out" 2>&1
	is "$?" 0 "miltertest ran sendmail-shapes.lua"
	while IFS= read -r line; do
		case $line in
		"CHECK ok "*) ok 0 "shapes: ${line#CHECK ok }" ;;
		"CHECK fail "*) ok 1 "shapes: ${line#CHECK fail }" ;;
		esac
	done <"$out"
	grep -q '^CHECK' "$out" || { diag "$(cat "$out")"; fail "shapes: no checks ran"; }
	shape_id()
	{
		sed -n "s/^ID $1 //p" "$out"
	}
	s1=$(shape_id provisional) s2=$(shape_id second) s3=$(shape_id last-rejected)
	s4=$(shape_id tls-at-mail)
	is "$(journal "SELECT queue_id FROM messages WHERE track_id = '$s1'") $(journal "SELECT queue_id FROM messages WHERE track_id = '$s2'")" \
	    "7AQB0001000001 7AQB0002000002" \
	    "shapes: the queue ID from MAIL wins over the provisional one; a new one per transaction"
	r="FROM recipients r JOIN messages m ON m.id = r.message WHERE m.track_id = '$s3'"
	is "$(journal "SELECT address || '|' || status || '|' || coalesce(reply_code, '') || '|' || coalesce(enhanced_code, '') || '|' || coalesce(reply_text, '') $r ORDER BY seq" | tr '\n' ';')" \
	    "ok@example.com|accepted|||;nobody@local.example|rejected|550|5.1.1|User unknown;" \
	    "shapes: last recipient rejected; the accepted one keeps no error"
	is "$(journal "SELECT reply_code || '|' || enhanced_code || '|' || reply_text FROM recipients r JOIN messages m ON m.id = r.message WHERE m.track_id = '$s2' AND r.status = 'rejected'")" \
	    "452|4.5.3|Too many recipients" \
	    "shapes: a temporary rejection (452 4.5.3)"
	c="FROM connections c JOIN messages m ON m.conn_id = c.id WHERE m.track_id = '$s4'"
	is "$(journal "SELECT c.tls_version || ' ' || c.tls_cipher || ' ' || c.tls_bits || ' ' || c.auth_type || ' ' || c.auth_authen $c")" \
	    "TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384 256 LOGIN bob" \
	    "shapes: TLS facts sent only at MAIL, AUTH at MAIL"
else
	note "miltertest not installed: Sendmail-shaped macro sequences not replayed"
fi

# ================================================================ fail open
t0=$(elapsed_ms)
mt_stop
is "$?" 0 "daemon exits 0 on SIGTERM"
note "daemon stopped $(($(elapsed_ms) - t0)) ms after SIGTERM"
MIDX=scn-open.$TAG@client.example
printf '%s\n' "From: <sender-c@example.org>" "To: <rcpt-c@example.com>" \
    "Subject: mailtrail down" "Message-ID: <$MIDX>" "" "untracked" >"$T/open.eml"
qid=''
if smtp_open "$SMTP_PORT" && smtp_cmd "EHLO helo-c.example" &&
    smtp_cmd "MAIL FROM:<sender-c@example.org>" &&
    smtp_cmd "RCPT TO:<rcpt-c@example.com>" && smtp_data "$T/open.eml"; then
	qid=$(echo "$SMTP_REPLY" | awk '{ print $3 }')
fi
smtp_close
like "$qid" "$QID_RE" "with the daemon stopped, Sendmail still accepts mail (no F= flag)"
sm_wait_queue_empty "$SM" 30
f=$(sink_file_of "$MIDX")
if [ -n "$f" ]; then
	is "$(header_values "$f" "$HDR" | grep -c .)" 0 \
	    "... and delivers it, untracked"
else
	fail "... and delivers it, untracked"
fi
like "$(grep -F "$qid: Milter (mailtrail): " "$SM/maillog" | head -n 1)" \
    "error connecting to filter|to error state" \
    "... and logs that the filter is unavailable"

# ---------------------------------------------------------------- the end
errs=$(grep 'Milter (mailtrail): to error state' "$SM/maillog" | grep -v -F "$qid: ")
is "$errs" "" "no milter errors in Sendmail's log while the daemon ran"
sm_pid=$SM_PID pidns=$SM_PIDNS
sm_stop "$SM"
like "$pidns" '^pid:\[[0-9]+\]$' "Sendmail ran in a PID namespace of its own ($pidns)"
# Killed processes may take a moment to be reaped on a loaded machine.
for i in 1 2 3 4 5 6 7 8 9 10; do
	[ -z "$(sm_ns_procs "$pidns")" ] && ! kill -0 "$sm_pid" 2>/dev/null && break
	sleep 0.5
done
is "$(sm_ns_procs "$pidns")" "" "no Sendmail process left after sm_stop"
sink_stop
note "whole run: $(elapsed_ms) ms"
done_testing
