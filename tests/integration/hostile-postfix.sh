#!/bin/bash
# hostile-postfix.sh - hostile transactions through a real Postfix: a 1 MB
# header, 5,000 recipients in one transaction, escape sequences, bare CR,
# 8-bit and NUL bytes in header values.  Mail must keep flowing, the daemon
# must stay up with bounded memory, and what the journal stores must be
# the bytes Postfix passed on.  The daemon runs with on_error=tempfail: no
# message's content may pass for an internal failure (1,001 short header
# fields or 20 of 60 KB once gave 451 for ever).  DKIM is on (no message
# here is signed, so no key is looked up).

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/postfix.sh"
. "$top_srcdir/tests/lib/milter.sh"

require_root
require_tool postfix postconf postmap postqueue smtp-sink sqlite3 ss python3
[ -x "$(mt_binary)" ] || skip_all "mailtrail-milter not built at $(mt_binary)"

mt_tmpdir T
PF=$T/pf
free_port SMTP_PORT
free_port SINK_PORT
SOCK=$T/milter.sock
JOURNAL=$T/journal.db

journal() { sql "$JOURNAL" "$1"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$MT_PID/status"; }

sink_start "$T" "$SINK_PORT" || bail_out "smtp-sink did not start"
# Let all 5,000 recipients reach the milter (Postfix's default limit is
# 1,000, and its error limits would end the session after the excess).
pf_setup "$PF" "$SMTP_PORT" "$SINK_PORT" "unix:$SOCK" \
    "smtpd_recipient_limit = 10000" ||
    bail_out "pf_setup failed"
trap '' PIPE	# a session Postfix ends must fail the test, not kill it
mt_start "$T" "unix:$SOCK" "$JOURNAL" -o milter.socket_mode=0666 \
    -o 'trusted_networks=192.0.2.0/24' -o on_error=tempfail \
    -o dkim.enabled=true ||
    bail_out "daemon did not start"
pf_start "$PF" || bail_out "postfix did not start"
rss0=$(rss_kb)

# ---------------------------------------------------------------- 1 MB header
python3 - "$T/huge.eml" <<'EOF'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"From: a@example.org\r\nTo: b@example.net\r\n")
    f.write(b"Message-ID: <huge@example.org>\r\nSubject: huge header\r\n")
    f.write(b"X-Huge: " + b"A" * (1 << 20) + b"\r\n")
    f.write(b"\r\nbody\r\n")
EOF
smtp_open "$SMTP_PORT" && smtp_cmd "EHLO huge.example" &&
    smtp_cmd "MAIL FROM:<a@example.org>" && smtp_cmd "RCPT TO:<b@example.net>"
smtp_data "$T/huge.eml"
is "$SMTP_CODE" 250 "1 MB header: Postfix accepts the message"
smtp_close

# ---------------------------------------------------------------- header caps
# Over the DKIM verifier's caps (1,000 fields, 1 MiB): not verified, and
# accepted even under on_error=tempfail.
python3 - "$T/manyhdr.eml" "$T/wide.eml" <<'EOF'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"From: a@example.org\r\nMessage-ID: <manyhdr@example.org>\r\n")
    for i in range(1001):
        f.write(b"X-F: %07d\r\n" % i)
    f.write(b"\r\nbody\r\n")
with open(sys.argv[2], "wb") as f:
    f.write(b"From: a@example.org\r\nMessage-ID: <wide@example.org>\r\n")
    for i in range(20):
        f.write(b"X-Wide: " + b"W" * 60000 + b"\r\n")
    f.write(b"\r\nbody\r\n")
EOF
for mid in manyhdr wide; do
	smtp_open "$SMTP_PORT" && smtp_cmd "EHLO $mid.example" &&
	    smtp_cmd "MAIL FROM:<a@example.org>" &&
	    smtp_cmd "RCPT TO:<b@example.net>"
	smtp_data "$T/$mid.eml"
	is "$SMTP_CODE" 250 "$mid: accepted under on_error=tempfail (not 451)"
	smtp_close
done

# ---------------------------------------------------------------- 5,000 recipients
printf 'From: many@example.org\r\nMessage-ID: <many@example.org>\r\nSubject: many\r\n\r\nbody\r\n' >"$T/many.eml"
smtp_open "$SMTP_PORT" && smtp_cmd "EHLO many.example" &&
    smtp_cmd "MAIL FROM:<many@example.org>"
accepted=0
for i in $(seq 1 5000); do
	smtp_cmd "RCPT TO:<r$i@example.net>" && accepted=$((accepted + 1))
done
is "$accepted" 5000 "5,000 recipients: Postfix accepts each of them"
smtp_data "$T/many.eml"
is "$SMTP_CODE" 250 "5,000 recipients: Postfix accepts the message"
smtp_close

# ---------------------------------------------------------------- strange bytes
printf 'From: odd@example.org\r\nMessage-ID: <odd@example.org>\r\nSubject: \033]0;pwned\007 caf\303\251 \377 bare\rcr and nul\000end\r\nX-Mailtrail-ID: FORGED\r\n\r\nbody\r\n' >"$T/odd.eml"
smtp_open "$SMTP_PORT" && smtp_cmd "EHLO odd.example" &&
    smtp_cmd "MAIL FROM:<odd@example.org>" && smtp_cmd "RCPT TO:<c@example.net>"
smtp_data "$T/odd.eml"
is "$SMTP_CODE" 250 "escapes, bare CR, 8-bit and NUL: Postfix accepts the message"
smtp_close

pf_wait_queue_empty "$PF" 60
ok "$?" "Postfix queue drained"
mt_running
is "$?" 0 "the daemon is still running"
rss1=$(rss_kb)
note "daemon RSS: ${rss0} kB at start, ${rss1} kB after"
ok "$([ "$rss1" -lt $((rss0 + 65536)) ]; echo $?)" \
    "daemon memory stays bounded (grew $((rss1 - rss0)) kB, limit 64 MB)"

mt_stop
is "$?" 0 "daemon exits cleanly"

# Every message delivered carries our ID, which is in the journal.
for mid in huge many odd manyhdr wide; do
	f=$(grep -l -a -i -F "Message-ID: <$mid@example.org>" "$T"/sink/* | sed -n 1p)
	ok "$([ -n "$f" ]; echo $?)" "$mid: delivered to the sink"
	[ -n "$f" ] || continue
	id=$(sink_message "$f" | sed -n 's/^X-Mailtrail-ID: //p' | tr -d '\r')
	is "$(printf '%s\n' "$id" | grep -c .)" 1 "$mid: exactly one tracking header"
	is "$(journal "SELECT COUNT(*) FROM messages WHERE track_id = '$id'
	    AND outcome = 'accepted'")" 1 "$mid: recorded as accepted"
done

# Postfix passes a milter at most about 64 KB of one header (the milter
# protocol's packet size); mailtrail counts what it saw, stores none of it.
hb=$(journal "SELECT header_bytes FROM messages
    WHERE message_id = '<huge@example.org>'")
note "1 MB header: the milter saw $hb header bytes"
ok "$([ "$hb" -gt 10000 ] && [ "$hb" -lt 200000 ]; echo $?)" \
    "1 MB header: the part Postfix passed on is counted in the size"
is "$(journal "SELECT rcpt_accepted || '/' || rcpt_dropped FROM messages
    WHERE message_id = '<many@example.org>'")" "1000/4000" \
    "5,000 recipients: limits.max_recipients recorded, the rest counted"

# The Subject Postfix delivered and the one the journal holds are the same
# bytes (whatever Postfix did to the NUL and the bare CR).
f=$(grep -l -a -F "Message-ID: <odd@example.org>" "$T"/sink/* | sed -n 1p)
want=$(sink_message "$f" | python3 -c '
import sys
data = sys.stdin.buffer.read()
for line in data.split(b"\n"):
    if line.lower().startswith(b"subject:"):
        v = line[8:].rstrip(b"\r").strip(b" \t")
        sys.stdout.write(v.hex().upper())
        break')
is "$(journal "SELECT hex(subject) FROM messages
    WHERE message_id = '<odd@example.org>'")" "$want" \
    "strange bytes: the journal holds the Subject exactly as delivered"
is "$(journal "SELECT COUNT(*) FROM header_edits e JOIN messages m
    ON m.id = e.message WHERE m.message_id = '<odd@example.org>'
    AND e.action = 'removed' AND e.value = 'FORGED'")" 1 \
    "strange bytes: the forged tracking header was still removed"
# The caps hit are recorded as the reason DKIM was not verified.
is "$(journal "SELECT outcome || '|' || dkim_result || '|' || error
    FROM messages WHERE message_id = '<manyhdr@example.org>'")" \
    "accepted|none|DKIM not verified: too many headers" \
    "1,001 header fields: journal says DKIM was not verified, and why"
is "$(journal "SELECT outcome || '|' || dkim_result || '|' || error
    FROM messages WHERE message_id = '<wide@example.org>'")" \
    "accepted|none|DKIM not verified: header section too large" \
    "20 header fields of 60 KB: journal says DKIM was not verified, and why"
is "$(journal 'PRAGMA integrity_check')" ok "journal passes integrity_check"
done_testing
