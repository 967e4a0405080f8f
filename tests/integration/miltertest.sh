#!/bin/bash
# miltertest.sh - drive the real daemon with miltertest, a milter client we
# did not write, then check what the journal recorded.
#
# Scenarios (basic.lua): two messages on one connection with a recipient
# the MTA rejected, an aborted transaction, forged tracking headers from an
# untrusted client interleaved with genuine ones, a trusted upstream ID kept
# as the parent, hostile input (5,000 recipients, escapes, CR/LF, 8-bit
# bytes, a 60 KB header), an unknown command and an abrupt disconnect.
# Run over a unix: socket ("no reply" flags negotiated) and an inet: one.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/milter.sh"

require_tool miltertest sqlite3
[ -x "$(mt_binary)" ] || skip_all "daemon not built"

mt_tmpdir >/dev/null
T=$_mt_tmp
LUADIR=$top_srcdir/tests/integration

run_scenarios()
{
	local label=$1 sock=$2 journal=$3 out line
	shift 3
	mt_start "$T" "$sock" "$journal" -o limits.max_recipients=1000 "$@" ||
	    bail_out "$label: daemon did not start"
	out=$T/$label.out
	: >"$out"
	# hostile.lua first: basic.lua ends by checking the daemon still answers.
	for script in hostile basic; do
		timeout 120 miltertest -D sock="$sock" -D lib="$LUADIR/lib.lua" \
		    -s "$LUADIR/$script.lua" >>"$out" 2>&1
		is "$?" 0 "$label: miltertest ran $script.lua"
	done
	while IFS= read -r line; do
		case $line in
		"CHECK ok "*) ok 0 "$label: ${line#CHECK ok }" ;;
		"CHECK fail "*) ok 1 "$label: ${line#CHECK fail }" ;;
		esac
	done <"$out"
	grep -q "^CHECK" "$out" || { diag "$(cat "$out")"; fail "$label: no checks ran"; }
	mt_stop
	is "$?" 0 "$label: daemon exits cleanly on SIGTERM"
}

id_of()
{
	sed -n "s/^ID $2 //p" "$T/$1.out"
}

check_journal()
{
	local label=$1 db=$2 id1 id2 idf idt idh ida got

	id1=$(id_of "$label" first)
	id2=$(id_of "$label" second)
	idf=$(id_of "$label" forged)
	idt=$(id_of "$label" trusted)
	idh=$(id_of "$label" hostile)
	ida=$(id_of "$label" after-abort)

	is "$(sql "$db" 'PRAGMA integrity_check')" ok "$label: journal is sound"

	# Two messages, one connection, with the facts from the macros.
	got=$(sql "$db" "SELECT m.queue_id, m.mail_from, m.mail_args,
	    m.message_id, m.subject, c.client_addr, c.helo, c.client_ptr,
	    c.mta_host, c.auth_type, c.auth_authen, m.outcome, m.stage
	    FROM messages m JOIN connections c ON c.id = m.conn_id
	    WHERE m.track_id = '$id1'")
	is "$got" "4QA1B2C3D4|alice@example.org|SIZE=321 BODY=8BITMIME|<first@example.org>|first message|192.0.2.10|client.example.org|client.example.org|mx.example.test|PLAIN|alice|accepted|eom" \
	    "$label: first message recorded with envelope, headers and connection"
	is "$(sql "$db" "SELECT queue_id || '|' || mail_from FROM messages
	    WHERE track_id = '$id2'")" "4QA1B2C3D5|" \
	    "$label: second message has its own queue ID and the null sender"
	is "$(sql "$db" "SELECT COUNT(DISTINCT conn_id) FROM messages
	    WHERE track_id IN ('$id1', '$id2')")" 1 \
	    "$label: both messages on one connection"
	is "$(sql "$db" "SELECT messages FROM connections c JOIN messages m
	    ON m.conn_id = c.id WHERE m.track_id = '$id1'")" 2 \
	    "$label: the connection counts two transactions"

	# Recipients: one rejected, with Postfix's status and text.
	got=$(sql "$db" "SELECT r.seq, r.address, r.status,
	    IFNULL(r.reply_code, '-'), IFNULL(r.enhanced_code, '-'),
	    IFNULL(r.reply_text, '-') FROM recipients r JOIN messages m
	    ON m.id = r.message WHERE m.track_id = '$id1' ORDER BY r.seq")
	is "$got" "1|bob@example.net|accepted|-|-|-
2|blocked@example.net|rejected|-|5.7.1|Recipient address rejected: Access denied
3|carol@example.net|accepted|-|-|-" "$label: recipients, the rejected one with code and text"
	is "$(sql "$db" "SELECT rcpt_accepted || '/' || rcpt_rejected
	    FROM messages WHERE track_id = '$id1'")" "2/1" \
	    "$label: recipient counts"

	# The aborted transaction, with the stage it reached.
	is "$(sql "$db" "SELECT m.outcome || '|' || m.stage FROM messages m
	    JOIN messages a ON a.conn_id = m.conn_id
	    WHERE a.track_id = '$ida' AND m.track_id <> '$ida'")" \
	    "aborted|rcpt" "$label: aborted transaction recorded with its stage"

	# Forged tracking headers: three removed, values kept as evidence.
	got=$(sql "$db" "SELECT e.action, e.idx, e.value FROM header_edits e
	    JOIN messages m ON m.id = e.message WHERE m.track_id = '$idf'
	    AND e.name = 'X-Mailtrail-ID' COLLATE NOCASE ORDER BY e.id")
	is "$got" "removed|1|FORGED0000000000000000000A
removed|2|FORGED0000000000000000000B
removed|3|FORGED0000000000000000000C" "$label: three forged headers recorded as removed"
	is "$(sql "$db" "SELECT IFNULL(parent_id, '-') FROM messages
	    WHERE track_id = '$idf'")" "-" \
	    "$label: a forged ID never becomes the parent"

	# Trusted upstream ID kept as the parent.
	is "$(sql "$db" "SELECT parent_id FROM messages
	    WHERE track_id = '$idt'")" "01JDZ3Q6X5K8N2T4V7W9Y0ABCD" \
	    "$label: trusted upstream tracking ID recorded as parent"

	# Hostile input: capped, stored exactly, never interpreted.
	is "$(sql "$db" "SELECT rcpt_accepted || '/' || rcpt_dropped
	    FROM messages WHERE track_id = '$idh'")" "1000/4000" \
	    "$label: 5,000 recipients: 1,000 recorded, 4,000 counted"
	is "$(sql "$db" "SELECT hex(subject) FROM messages
	    WHERE track_id = '$idh'")" \
	    "$(printf '\033]0;pwned\007 caf\303\251 \377\r\n\tend' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" \
	    "$label: hostile subject stored byte for byte"
	is "$(sql "$db" "SELECT hex(mail_from) FROM messages
	    WHERE track_id = '$idh'")" \
	    "$(printf 'h\r\nx@example.org' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" \
	    "$label: CR/LF inside MAIL FROM stored exactly"
	is "$(sql "$db" "SELECT header_bytes > 900 FROM messages
	    WHERE track_id = '$idh'")" 1 "$label: the long header counted in the size"

	# The unknown command and the dropped connection.
	is "$(sql "$db" "SELECT unknown_count || '|' || unknown_cmds
	    FROM connections WHERE helo = 'dropper.example.org'")" \
	    "1|XYZZY magic" "$label: unknown command recorded"
	# libmilter sends an abort when the connection drops mid-message.
	like "$(sql "$db" "SELECT m.outcome || '|' || m.stage FROM messages m
	    JOIN connections c ON c.id = m.conn_id
	    WHERE c.helo = 'dropper.example.org'")" "^(aborted|disconnected)\|header$" \
	    "$label: transaction cut by a disconnect recorded with its stage"
	is "$(sql "$db" "SELECT COUNT(*) FROM connections
	    WHERE close_time IS NULL")" 0 "$label: every connection closed"
	is "$(sql "$db" "SELECT COUNT(*) FROM messages")" 9 \
	    "$label: nine transactions in all"
}

run_scenarios unix "unix:$T/milter.sock" "$T/unix.db" \
    -o milter.socket_mode=0660
check_journal unix "$T/unix.db"

port=$(free_port)
run_scenarios inet "inet:$port@127.0.0.1" "$T/inet.db"
check_journal inet "$T/inet.db"

# The daemon said nothing alarming.
if grep -E ": error: |assert|Sanitizer" "$T/milter.log" >/dev/null; then
	diag "$(grep -E ": error: |assert|Sanitizer" "$T/milter.log" | head)"
	fail "daemon log has errors"
else
	pass "daemon log has no errors"
fi
done_testing
