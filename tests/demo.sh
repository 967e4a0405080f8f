#!/bin/bash
# demo.sh BUILDDIR - mailtrail's main job, end to end, on this machine.
#
# Starts mailtrail-milter on its built-in defaults (only the socket and the
# journal are moved under ./_demo, and it follows the private Postfix's
# mail log), a private Postfix on a loopback port relaying to Postfix's
# smtp-sink (and, for one domain, to a sink that refuses every recipient),
# sends a few messages through them and prints what the journal recorded:
# what the gateway saw and where each message went afterwards.  Everything it starts is stopped at the
# end; the journal stays in ./_demo/journal.db for you to query.
# Run it through "./dev demo".


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
free_port SMTP_PORT
free_port SINK_PORT
free_port REFUSE_PORT
SOCK=unix:$D/milter.sock
JOURNAL=$D/journal.db

say() { printf '\n== %s\n' "$*"; }

say "starting smtp-sink on 127.0.0.1:$SINK_PORT"
sink_start "$D" "$SINK_PORT" || exit 1

say "starting smtp-sink on 127.0.0.1:$REFUSE_PORT, refusing every recipient (550)"
mkdir -p "$D/refuse" && chown postfix "$D/refuse"
smtp-sink -4 -u postfix -h refusing.sink.example -f rcpt \
    "127.0.0.1:$REFUSE_PORT" 16 >"$D/refuse.log" 2>&1 &
track_pid $!
wait_for 10 port_has_listener "$REFUSE_PORT" || exit 1

say "starting a private Postfix on 127.0.0.1:$SMTP_PORT (log: $D/postfix/maillog)"
pf_setup "$D/postfix" "$SMTP_PORT" "$SINK_PORT" "$SOCK" \
    "transport_maps = hash:$D/postfix/conf/transport" || exit 1
echo "nowhere.example smtp:[127.0.0.1]:$REFUSE_PORT" >"$D/postfix/conf/transport"
postmap -c "$D/postfix/conf" "hash:$D/postfix/conf/transport" || exit 1
pf_start "$D/postfix" || exit 1

say "starting mailtrail-milter (built-in defaults, socket $SOCK, following the log)"
# The socket must be reachable by Postfix's smtpd (user postfix).  SPF and
# DKIM stay on, as in the built-in defaults (the test harness turns them
# off); with no DNS, each check ends as temperror at its deadline.
mt_start "$D" "$SOCK" "$JOURNAL" -o milter.socket_mode=0666 \
    -o spf.enabled=true -o dkim.enabled=true \
    -o "delivery.maillog=$D/postfix/maillog" || exit 1

send()
{
	swaks --server 127.0.0.1 --port "$SMTP_PORT" --helo demo-client.example \
	    --silent 2 "$@" >>"$D/swaks.log" 2>&1
}

say "sending four messages"
send --from alice@example.org --to bob@example.net \
    --header "Subject: hello from the demo" \
    --header "Message-Id: <demo-1@example.org>"
echo "1. alice -> bob"
send --from carol@example.org --to "dave@example.net,$PF_REJECT_RCPT" \
    --header "Subject: one recipient refused" \
    --header "Message-Id: <demo-2@example.org>"
echo "2. carol -> dave and $PF_REJECT_RCPT (Postfix refuses the second)"
send --from relay@example.org --to erin@example.net \
    --header "Subject: from an upstream gateway" \
    --header "Message-Id: <demo-3@example.org>" \
    --header "X-Mailtrail-ID: 01JDZ3Q6X5K8N2T4V7W9Y0ABCD"
echo "3. relay -> erin, carrying an upstream tracking ID (127.0.0.1 is trusted)"
send --from frank@example.org --to gina@nowhere.example \
    --header "Subject: to a server that refuses it" \
    --header "Message-Id: <demo-4@example.org>"
echo "4. frank -> gina@nowhere.example (the next server refuses it: a bounce)"

pf_wait_queue_empty "$D/postfix" 30
# The daemon follows Postfix's log: wait until the last delivery is in.
bounced() {
	[ -n "$(sqlite3 -readonly "$JOURNAL" "SELECT 1 FROM delivery_events
	    WHERE status = 'bounced'" 2>/dev/null)" ]
}
wait_for 10 bounced
sleep 1

say "what the sink received (first lines of each message)"
for f in $(sink_files "$D"); do
	sink_message "$f" | sed -n '1,3p;/^Subject:/p' | sed 's/^/   /'
	echo
done

MT="$top_builddir/mailtrail"
say "mailtrail find --journal $JOURNAL   (every message, newest first)"
"$MT" --journal "$JOURNAL" find --no-color

qid=$(sqlite3 -readonly "$JOURNAL" "SELECT queue_id FROM messages
    WHERE message_id = '<demo-2@example.org>'")
say "mailtrail show $qid   (the message with the refused recipient)"
"$MT" --journal "$JOURNAL" show --no-color "$qid"

say "mailtrail show '<demo-4@example.org>'   (where it went: refused by the next server)"
"$MT" --journal "$JOURNAL" show --no-color '<demo-4@example.org>'

say "mailtrail find --status bounced"
"$MT" --journal "$JOURNAL" find --no-color --status bounced

say "the journal's tables, straight from SQLite: recipients"
sqlite3 -readonly -header -column "$JOURNAL" \
    "SELECT m.queue_id, r.address, r.status,
       IFNULL(r.enhanced_code, '') AS code, IFNULL(r.reply_text, '') AS reply
     FROM recipients r JOIN messages m ON m.id = r.message
     ORDER BY m.start_time, r.seq"

say "the journal's tables, straight from SQLite: delivery events"
sqlite3 -readonly -header -column "$JOURNAL" \
    "SELECT d.queue_id, d.recipient, d.status, IFNULL(d.dsn, '') AS dsn,
       IFNULL(d.relay, '') AS relay, IFNULL(m.track_id, '(not via the milter)')
       AS track_id
     FROM delivery_events d LEFT JOIN messages m ON m.id = d.message
     ORDER BY d.time, d.id"

say "Postfix's own log, for comparison"
grep -E "postfix/(cleanup|smtpd|smtp|bounce)\[.*(message-id=|reject:|status=|notification)" \
    "$D/postfix/maillog" | sed 's/^/   /'

echo
echo "The journal is kept in $JOURNAL: try"
echo "  $MT --journal $JOURNAL find"
echo "  $MT --journal $JOURNAL show <tracking ID, queue ID or Message-ID>"
mt_stop >/dev/null
_tap_done=1	# common.sh's exit handler: this is not a TAP test
_tap_planned=0
exit 0
