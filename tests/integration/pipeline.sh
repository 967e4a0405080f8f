#!/bin/bash
# pipeline.sh - sessions that end MAIL, RCPT, RSET, QUIT back to back and
# hang up: every transaction must reach the journal with its recipient.
#
# libmilter closes a connection as soon as it sees the MTA hang up, without
# reading the commands still queued.  Any step the milter runs without a
# reply ("no reply" flags) lets the MTA queue the next commands behind it,
# so a pipelined session's last transaction (or its recipients) could be
# lost.  mailtrail negotiates "no reply" only for header, end-of-header and
# body steps.  Two peers check it:
#
#   A. milter_client (tests/integration/milter_client.c), an MTA side of
#      the milter protocol that waits for a reply exactly where the milter
#      asked for one, as Postfix does: 50 connections, each MAIL, RCPT,
#      then ABORT and QUIT in one write and a close;
#   B. a real private Postfix, and an SMTP client that sends MAIL, RCPT,
#      RSET and QUIT in one write (PIPELINING) on 50 connections.
#
# Before the fix, A lost the transaction or its recipient in about half of
# the sessions.  Needs root for B (Postfix); A runs without.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/milter.sh"

require_tool sqlite3 ss
[ -x "$(mt_binary)" ] || skip_all "mailtrail-milter not built"
CLIENT=${top_builddir:-.}/tests/integration/milter_client
[ -x "$CLIENT" ] || skip_all "milter_client not built at $CLIENT"

N=50
mt_tmpdir T

# check_journal LABEL DB TAG FROM_PREFIX RCPT_PREFIX RCPT_DOMAIN
#	every one of the N transactions, with its recipient, at stage rcpt
check_journal()
{
	local label=$1 db=$2 tag=$3 fp=$4 rp=$5 rd=$6 got missing i
	is "$(sql "$db" 'PRAGMA integrity_check')" ok "$label: journal is sound"
	got=$(sql "$db" "SELECT count(*) FROM messages m JOIN connections c
	    ON c.id = m.conn_id WHERE c.helo LIKE '$tag-%'")
	is "$got" "$N" "$label: all $N transactions recorded"
	missing=
	for ((i = 1; i <= N; i++)); do
		got=$(sql "$db" "SELECT m.stage || '|' || m.outcome || '|' ||
		    group_concat(r.address) FROM messages m
		    JOIN connections c ON c.id = m.conn_id
		    LEFT JOIN recipients r ON r.message = m.id
		    WHERE c.helo = '$tag-$i.example.org'
		      AND m.mail_from = '$fp$i@example.org'
		    GROUP BY m.id")
		[ "$got" = "rcpt|aborted|$rp$i@$rd" ] ||
		    missing="$missing $i:${got:-absent}"
	done
	is "${missing:-none}" none \
	    "$label: each transaction at stage rcpt, aborted, with its recipient"
}

# ================================================================ A
SOCK=$T/milter.sock
DB=$T/journal-a.db
mt_start "$T" "unix:$SOCK" "$DB" || bail_out "daemon did not start"
out=$("$CLIENT" "unix:$SOCK" "$N" clienta 2>&1)
ok $? "A: $N pipelined sessions over the milter protocol" || diag "$out"
proto=$(sed -n 's/^negotiated protocol //p' <<<"$out")
note "A: negotiated protocol flags $proto (unix:, no_reply_flags=auto)"
# SMFIP_NR_CONN 0x1000 HELO 0x2000 MAIL 0x4000 RCPT 0x8000 DATA 0x10000
# UNKN 0x20000; EOH 0x40000 BODY 0x80000 HDR 0x80.
is "$(((proto & 0x3f000) == 0))" 1 \
    "A: no \"no reply\" flag for CONNECT, HELO, MAIL, RCPT, DATA, unknown"
is "$(((proto & 0xc0080) == 0xc0080))" 1 \
    "A: \"no reply\" kept for headers, end-of-headers and body on unix:"
mt_stop
is "$?" 0 "A: daemon exits cleanly"
check_journal A "$DB" clienta s r example.net

# ================================================================ B
if [ "$(id -u)" != 0 ] || ! command -v postfix >/dev/null ||
    ! command -v smtp-sink >/dev/null; then
	note "B skipped: needs root, postfix and smtp-sink"
	done_testing
	exit 0
fi
. "$top_srcdir/tests/lib/postfix.sh"

PF=$T/pf
SMTP_PORT='' SINK_PORT=''
free_port SMTP_PORT
free_port SINK_PORT
DB=$T/journal-b.db
sink_start "$T" "$SINK_PORT" || bail_out "smtp-sink did not start"
pf_setup "$PF" "$SMTP_PORT" "$SINK_PORT" "unix:$SOCK" ||
    bail_out "pf_setup failed"
pf_start "$PF" || bail_out "private Postfix did not start"
mt_start "$T" "unix:$SOCK" "$DB" -o milter.socket_mode=0666 ||
    bail_out "daemon did not start"

# One session: banner, EHLO, then MAIL, RCPT, RSET, QUIT in one write, and
# read until Postfix closes.
pipelined()
{
	local i=$1 fd line n=0
	exec {fd}<>"/dev/tcp/127.0.0.1/$SMTP_PORT" || return 1
	IFS= read -r -t 30 -u "$fd" line || { exec {fd}>&-; return 1; }
	printf 'EHLO clientb-%d.example.org\r\n' "$i" >&"$fd"
	while IFS= read -r -t 30 -u "$fd" line; do
		[[ $line =~ ^250\  ]] && break
	done
	printf 'MAIL FROM:<p%d@example.org>\r\nRCPT TO:<q%d@example.com>\r\nRSET\r\nQUIT\r\n' \
	    "$i" "$i" >&"$fd"
	while IFS= read -r -t 30 -u "$fd" line; do
		n=$((n + 1))
	done
	exec {fd}>&-
	[ "$n" -ge 4 ]
}

failed=0
for ((i = 1; i <= N; i++)); do
	pipelined "$i" || failed=$((failed + 1))
done
is "$failed" 0 "B: $N pipelined SMTP sessions answered by Postfix"
# Postfix tells the milter the session ended; let the daemon write it.
all_closed()
{
	[ "$(sql "$DB" "SELECT count(*) FROM connections
	    WHERE helo LIKE 'clientb-%' AND close_time IS NOT NULL")" = "$N" ]
}
wait_for 10 all_closed
mt_stop
is "$?" 0 "B: daemon exits cleanly"
check_journal B "$DB" clientb p q example.com

done_testing
