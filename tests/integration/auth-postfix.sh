#!/bin/bash
# auth-postfix.sh - SPF and DKIM through a real Postfix, in the private DNS
# namespace: what the recipient finally sees.
#
# The script starts the DNS harness, then runs itself again inside the
# namespace, where the private Postfix, smtp-sink, the daemon and swaks
# all run (so the daemon resolves through the namespace's resolv.conf).
# The client connects from 192.0.2.1 (libspf2 passes loopback clients).
# At the sink: our Authentication-Results on top, with spf= and dkim= as
# the zone and the signatures say, a forged one claiming our authserv-id
# gone; in the journal: the same results.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/dns.sh"
. "$top_srcdir/tests/lib/postfix.sh"
. "$top_srcdir/tests/lib/milter.sh"
. "$top_srcdir/tests/lib/dkimsign.sh"

AUTHSERV=mx.mailtrail.example
D=signer.example.com

if [ "${1:-}" != --inside ]; then
	dns_require
	require_tool postfix postconf postmap postqueue smtp-sink swaks sqlite3 python3
	dkimsign_have_signer || skip_all "opendkim (sign mode) or openssl not installed"
	[ -x "$(mt_binary)" ] || skip_all "daemon not built"
	mt_tmpdir T
	dkimsign_genkey rsa2048 "$T/k.key" || bail_out "no key"
	cat >"$T/zone" <<EOF
$D			TXT	v=spf1 ip4:192.0.2.0/24 -all
k._domainkey.$D		TXT	$(cat "$T/k.key.txt")
fail.example.org	TXT	v=spf1 -all
EOF
	dns_start "$T/zone" || bail_out "DNS server did not start"
	ip netns exec "$DNS_NS" bash "$0" --inside "$T"
	rc=$?
	_tap_done=1		# the inner run printed the plan and the results
	_tap_planned=0
	exit $rc
fi

# ---------------------------------------------------------------- inside
T=$2
PF=$T/pf
free_port SMTP_PORT
free_port SINK_PORT
SOCK=$T/milter.sock
JOURNAL=$T/journal.db

sink_start "$T" "$SINK_PORT" || bail_out "smtp-sink did not start"
pf_setup "$PF" "$SMTP_PORT" "$SINK_PORT" "unix:$SOCK" \
    "mynetworks = 127.0.0.0/8 192.0.2.0/24" 2>/dev/null || bail_out "pf_setup failed"
mt_start "$T" "unix:$SOCK" "$JOURNAL" -o milter.socket_mode=0666 \
    -o "authres.authserv_id=$AUTHSERV" -o spf.enabled=true \
    -o dkim.enabled=true -o spf.timeout=500 -o spf.deadline=3000 ||
    bail_out "daemon did not start"
pf_start "$PF" || bail_out "postfix did not start"

# msg NAME: a message from alice@$D (the signer signs only its domain's
# mail), with a forged Authentication-Results claiming our authserv-id
msg()
{
	printf 'From: <alice@%s>\r\nTo: <bob@example.net>\r\nSubject: %s\r\nMessage-ID: <%s@example.test>\r\nAuthentication-Results: %s; dkim=pass header.d=bank.example\r\n\r\nHello.\r\n' \
	    "$D" "$1" "$1" "$AUTHSERV" >"$T/$1.in"
}

send()
{
	swaks --server 127.0.0.1 --port "$SMTP_PORT" \
	    --local-interface 192.0.2.1 --helo client.example \
	    --from "$2" --to bob@example.net --data "$T/$1.eml" \
	    --silent 2 >>"$T/swaks.log" 2>&1
}

msg good
dkimsign_sign "$T/k.key" "$D" k "$T/good.in" "$T/good.eml" || bail_out "sign"
msg bad
dkimsign_sign "$T/k.key" "$D" k "$T/bad.in" "$T/bad.eml" || bail_out "sign"
sed -i 's/^Hello\./Hello!/' "$T/bad.eml"

send good "alice@$D"
ok "$?" "good: Postfix accepts the message"
send bad "mallory@fail.example.org"
ok "$?" "bad: Postfix accepts the message"
pf_wait_queue_empty "$PF" 30
ok "$?" "Postfix queue drained"

sink_of() { grep -l -a -F "Message-ID: <$1@example.test>" "$T"/sink/* 2>/dev/null | sed -n 1p; }
# The Authentication-Results fields of a delivered message, unfolded.
ar_fields() { sink_message "$1" | msg_headers /dev/stdin | tr -d '\r' | grep -i '^Authentication-Results:'; }

for name in good bad; do
	f=$(sink_of "$name")
	ok "$([ -n "$f" ]; echo $?)" "$name: delivered"
	first=$(sink_message "$f" | msg_headers /dev/stdin | sed -n 1p | tr -d '\r')
	like "$first" "^Authentication-Results: $AUTHSERV;" \
	    "$name: our Authentication-Results is the first header"
	is "$(ar_fields "$f" | grep -c 'bank.example')" 0 \
	    "$name: the forged Authentication-Results claiming $AUTHSERV is gone"
	is "$(ar_fields "$f" | wc -l)" 1 "$name: exactly one Authentication-Results"
	eval "AR_$name=\$(python3 \"\$top_srcdir/tests/lib/authres.py\" \"\$(ar_fields \"\$f\" | sed 's/^[^:]*: *//')\")"
done
like "$AR_good" "spf pass (reason=[^ ]* )?smtp.mailfrom=alice@$D" "good: spf=pass smtp.mailfrom at the recipient"
like "$AR_good" "dkim pass header.d=$D header.s=k header.b=" "good: dkim=pass header.d, header.s, header.b at the recipient"
like "$AR_bad" "spf fail reason=[^ ]* smtp.mailfrom=mallory@fail.example.org" "bad: spf=fail at the recipient"
like "$AR_bad" "dkim fail reason=body hash mismatch header.d=$D" "bad: dkim=fail (body hash mismatch) at the recipient"

mt_stop
is "$?" 0 "daemon exits cleanly"
is "$(sql "$JOURNAL" "SELECT m.spf_result || '|' || m.dkim_result || '|' || c.client_addr
    FROM messages m JOIN connections c ON c.id = m.conn_id
    WHERE m.message_id = '<good@example.test>'")" "pass|pass|192.0.2.1" \
    "journal: good message, client 192.0.2.1, spf and dkim pass"
is "$(sql "$JOURNAL" "SELECT m.spf_result || '|' || m.dkim_result FROM messages m
    WHERE m.message_id = '<bad@example.test>'")" "fail|fail" "journal: bad message fails both"
is "$(sql "$JOURNAL" "SELECT COUNT(*) FROM header_edits WHERE action = 'removed'
    AND name = 'Authentication-Results'")" 2 "journal: both forged headers recorded as removed"
done_testing
