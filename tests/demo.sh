#!/bin/bash
# demo.sh BUILDDIR - mailtrail's main job, end to end, on this machine.
#
# Starts mailtrail-milter on its built-in defaults (only the socket and the
# journal are moved under ./_demo), a private Postfix on a loopback port
# relaying to Postfix's smtp-sink, sends a few messages through them and
# prints what the journal recorded.  Everything it starts is stopped at the
# end; the journal stays in ./_demo/journal.db for you to query.
# Run it through "./dev demo".

set -u
top_builddir=${1:?usage: demo.sh BUILDDIR}
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
export top_srcdir top_builddir
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/postfix.sh"
. "$top_srcdir/tests/lib/milter.sh"

if [ "$(id -u)" != 0 ]; then
	echo "demo: Postfix must be started as root: run ./dev demo as root" >&2
	exit 1
fi
for t in postfix smtp-sink swaks sqlite3 ss; do
	command -v "$t" >/dev/null || { echo "demo: $t missing" >&2; exit 1; }
done

D=$top_srcdir/_demo
rm -rf "$D"
mkdir -p "$D"
chmod 0755 "$D"
SMTP_PORT=$(free_port)
SINK_PORT=$(free_port)
SOCK=unix:$D/milter.sock
JOURNAL=$D/journal.db

say() { printf '\n== %s\n' "$*"; }

say "starting smtp-sink on 127.0.0.1:$SINK_PORT"
sink_start "$D" "$SINK_PORT" || exit 1

say "starting mailtrail-milter (built-in defaults, socket $SOCK)"
# The socket must be reachable by Postfix's smtpd (user postfix).
mt_start "$D" "$SOCK" "$JOURNAL" -o milter.socket_mode=0666 || exit 1

say "starting a private Postfix on 127.0.0.1:$SMTP_PORT"
pf_setup "$D/postfix" "$SMTP_PORT" "$SINK_PORT" "$SOCK" || exit 1
pf_start "$D/postfix" || exit 1

send()
{
	swaks --server 127.0.0.1 --port "$SMTP_PORT" --helo demo-client.example \
	    --silent 2 "$@" >>"$D/swaks.log" 2>&1
}

say "sending three messages"
send --from alice@example.org --to bob@example.net \
    --header "Subject: hello from the demo" \
    --header "Message-ID: <demo-1@example.org>"
echo "1. alice -> bob"
send --from carol@example.org --to "dave@example.net,$PF_REJECT_RCPT" \
    --header "Subject: one recipient refused" \
    --header "Message-ID: <demo-2@example.org>"
echo "2. carol -> dave and $PF_REJECT_RCPT (Postfix refuses the second)"
send --from relay@example.org --to erin@example.net \
    --header "Subject: from an upstream gateway" \
    --header "Message-ID: <demo-3@example.org>" \
    --header "X-Mailtrail-ID: 01JDZ3Q6X5K8N2T4V7W9Y0ABCD"
echo "3. relay -> erin, carrying an upstream tracking ID (127.0.0.1 is trusted)"

pf_wait_queue_empty "$D/postfix" 30

say "what the sink received (first lines of each message)"
for f in $(sink_files "$D"); do
	sink_message "$f" | sed -n '1,3p;/^Subject:/p' | sed 's/^/   /'
	echo
done

say "the journal: messages"
sqlite3 -readonly -header -column "$JOURNAL" \
    "SELECT m.track_id, m.queue_id, c.client_addr AS client, c.helo,
       m.mail_from, m.subject, m.outcome, IFNULL(m.parent_id, '') AS parent
     FROM messages m JOIN connections c ON c.id = m.conn_id
     ORDER BY m.start_time"

say "the journal: recipients"
sqlite3 -readonly -header -column "$JOURNAL" \
    "SELECT m.queue_id, r.address, r.status,
       IFNULL(r.enhanced_code, '') AS code, IFNULL(r.reply_text, '') AS reply
     FROM recipients r JOIN messages m ON m.id = r.message
     ORDER BY m.start_time, r.seq"

say "the journal: header edits"
sqlite3 -readonly -header -column "$JOURNAL" \
    "SELECT m.queue_id, e.action, e.name, e.value
     FROM header_edits e JOIN messages m ON m.id = e.message
     ORDER BY m.start_time, e.id"

say "Postfix's own log, for comparison"
grep -E "postfix/(cleanup|smtpd)\[.*(message-id=|reject:)" \
    "$D/postfix/maillog" | sed 's/^/   /'

echo
echo "The journal is kept in $JOURNAL (query it with sqlite3 -readonly)."
mt_stop >/dev/null
exit 0
