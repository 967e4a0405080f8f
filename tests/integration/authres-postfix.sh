#!/bin/bash
# authres-postfix.sh - forged Authentication-Results through a real Postfix.
#
# A client outside trusted_networks sends headers claiming our authserv-id
# ("...; dkim=pass"), interleaved with an Authentication-Results of another
# host and other headers: at the sink, ours are gone (RFC 8601 section 5),
# the other host's is kept, everything else is intact and in order, and the
# journal records each removal.  From a trusted client the same headers
# are kept.  SPF and DKIM are off here (no DNS); the removal does not
# depend on them.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/postfix.sh"
. "$top_srcdir/tests/lib/milter.sh"

require_root
require_tool postfix postconf postmap postqueue smtp-sink sqlite3 ss
[ -x "$(mt_binary)" ] || skip_all "mailtrail-milter not built at $(mt_binary)"

mt_tmpdir T
PF=$T/pf
free_port SMTP_PORT
free_port SINK_PORT
SOCK=$T/milter.sock
AUTHSERV=mx.mailtrail-test.example

sink_start "$T" "$SINK_PORT" || bail_out "smtp-sink did not start"
pf_setup "$PF" "$SMTP_PORT" "$SINK_PORT" "unix:$SOCK" || bail_out "pf_setup failed"
pf_start "$PF" || bail_out "postfix did not start"

# msg FILE MESSAGE-ID
msg()
{
	cat >"$1" <<EOF
From: <forger@example.org>
To: <victim@example.com>
Subject: forged Authentication-Results
Message-ID: <$2>
Authentication-Results: $AUTHSERV; dkim=pass header.d=bank.example
X-A: first
Authentication-Results: other.example; spf=pass smtp.mailfrom=example.org
X-B: second
authentication-results: (comment) MX.MAILTRAIL-TEST.EXAMPLE;
 spf=pass smtp.mailfrom=bank.example
Authentication-Results: $AUTHSERV.evil.example; dkim=pass
X-C: third

body
EOF
}

send()
{
	smtp_open "$SMTP_PORT" && smtp_cmd "EHLO forger.example" &&
	    smtp_cmd "MAIL FROM:<forger@example.org>" &&
	    smtp_cmd "RCPT TO:<victim@example.com>" && smtp_data "$1"
	local rc=$?
	smtp_close
	return $rc
}

sink_file_of() { grep -l -a -F "Message-ID: <$1>" "$T"/sink/* 2>/dev/null | sed -n 1p; }

# ---------------------------------------------------------------- untrusted
mt_start "$T" "unix:$SOCK" "$T/a.db" -o milter.socket_mode=0666 \
    -o "authres.authserv_id=$AUTHSERV" -o 'trusted_networks=192.0.2.0/24' ||
    bail_out "daemon did not start"
msg "$T/a.eml" "ar-untrusted@example.org"
send "$T/a.eml"
ok "$?" "untrusted: Postfix accepts the message"
pf_wait_queue_empty "$PF" 30
mt_stop
f=$(sink_file_of ar-untrusted@example.org)
ok "$([ -n "$f" ]; echo $?)" "untrusted: delivered"
got=$(sink_message "$f" | msg_headers /dev/stdin | grep -i -E '^(Authentication-Results|X-[ABC]):' | tr -d '\r')
want="X-A: first
Authentication-Results: other.example; spf=pass smtp.mailfrom=example.org
X-B: second
Authentication-Results: $AUTHSERV.evil.example; dkim=pass
X-C: third"
is "$got" "$want" "untrusted: both headers claiming $AUTHSERV are gone, the rest intact and in order"
is "$(sql "$T/a.db" "SELECT e.idx || '|' || e.value FROM header_edits e
    WHERE e.action = 'removed' ORDER BY e.id" | tr -d '\n')" \
    "1|$AUTHSERV; dkim=pass header.d=bank.example3|(comment) MX.MAILTRAIL-TEST.EXAMPLE; spf=pass smtp.mailfrom=bank.example" \
    "untrusted: the journal records both removals with their index"

# ---------------------------------------------------------------- trusted
mt_start "$T" "unix:$SOCK" "$T/b.db" -o milter.socket_mode=0666 \
    -o "authres.authserv_id=$AUTHSERV" || bail_out "daemon did not start"
msg "$T/b.eml" "ar-trusted@example.org"
send "$T/b.eml"
ok "$?" "trusted: Postfix accepts the message"
pf_wait_queue_empty "$PF" 30
mt_stop
f=$(sink_file_of ar-trusted@example.org)
is "$(sink_message "$f" | msg_headers /dev/stdin | grep -c -i '^Authentication-Results:')" 4 \
    "trusted: all four Authentication-Results kept"
is "$(sql "$T/b.db" "SELECT COUNT(*) FROM header_edits WHERE action = 'kept'
    AND name LIKE 'Authentication-Results' COLLATE NOCASE")" 2 \
    "trusted: the two claiming our authserv-id recorded as kept"
done_testing
