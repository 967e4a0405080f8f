#!/bin/bash
# ingest.sh - "mailtrail ingest-log": a small Postfix log into a journal
# holding the messages it speaks of.
#
#   plain file     events stored and linked to the right messages (a
#                  reused queue ID included), counts per file
#   again          the same file, its gzip copy and standard input add
#                  nothing (duplicates counted)
#   bounds         a line over 64 KiB is skipped and counted, the next
#                  line is read; a last line without a newline is read
#   errors         a missing file (exit 2, the others still read), a
#                  missing journal (exit 2, not created)
#   --json         the summary document
#   volume         15,000 events in many chunks and short transactions
#                  (the reading thread runs ahead of the writing one):
#                  all stored, in the file's order, none twice

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"

require_tool sqlite3 python3 gzip
MT=${MAILTRAIL:-$top_builddir/mailtrail}
[ -x "$MT" ] || skip_all "mailtrail not built"
mt_tmpdir >/dev/null
T=$_mt_tmp
export TZ=UTC

J=$T/journal.db
: >"$J"
# An empty input creates the schema (the journal file exists, empty).
"$MT" ingest-log -j "$J" - </dev/null >/dev/null
is "$?" 0 "an empty journal file gets the schema"
is "$(sql "$J" 'PRAGMA user_version')" 6 "schema version 6"

# Two messages share the short queue ID A1B2C3D4E5, five days apart (2025-11-20
# and 2025-11-25); a third has F0E1D2C3B4.
sqlite3 "$J" "
INSERT INTO connections (id, conn_uid, connect_time) VALUES (1, 'C1', 0);
INSERT INTO messages (id, track_id, conn_id, start_time, stage, outcome,
  queue_id, message_id) VALUES
 (1, 'T1', 1, strftime('%s', '2025-11-20 10:00:00') * 1000000, 'eom',
  'accepted', 'A1B2C3D4E5', '<one@example.org>'),
 (2, 'T2', 1, strftime('%s', '2025-11-25 10:00:00') * 1000000 + 500000,
  'eom', 'accepted', 'A1B2C3D4E5', '<two@example.org>'),
 (3, 'T3', 1, strftime('%s', '2025-11-25 11:00:00') * 1000000, 'eom',
  'accepted', 'F0E1D2C3B4', '<three@example.org>');"

L=$T/mail.log
{
	echo '2025-11-20T10:00:00.100000+00:00 mx1 postfix/cleanup[300]: A1B2C3D4E5: message-id=<one@example.org>'
	echo '2025-11-20T10:00:00.200000+00:00 mx1 postfix/qmgr[901]: A1B2C3D4E5: from=<a@example.org>, size=1234, nrcpt=1 (queue active)'
	echo '2025-11-20T10:00:01.000000+00:00 mx1 postfix/smtp[400]: A1B2C3D4E5: to=<x@example.net>, relay=mx.example.net[192.0.2.7]:25, delay=0.9, delays=0.1/0/0.3/0.5, dsn=4.7.0, status=deferred (host mx.example.net[192.0.2.7] said: 450 4.7.0 Greylisted (in reply to RCPT TO command))'
	echo '2025-11-20T10:20:01.000000+00:00 mx1 postfix/smtp[400]: A1B2C3D4E5: to=<x@example.net>, relay=mx.example.net[192.0.2.7]:25, delay=1200, delays=1199/0/0.3/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9F8E7D6C5B)'
	echo '2025-11-20T10:20:01.100000+00:00 mx1 postfix/qmgr[901]: A1B2C3D4E5: removed'
	echo '2025-11-22T08:00:00.000000+00:00 mx1 sshd[77]: Accepted publickey for root'
	# Logged half a second before the milter's start time.
	echo '2025-11-25T10:00:00.000000+00:00 mx1 postfix/cleanup[300]: A1B2C3D4E5: message-id=<two@example.org>'
	echo '2025-11-25T10:00:02.000000+00:00 mx1 postfix/smtp[400]: A1B2C3D4E5: to=<y@example.net>, relay=mx.example.net[192.0.2.7]:25, delay=1.5, delays=0.1/0/0.4/1, dsn=5.1.1, status=bounced (host mx.example.net[192.0.2.7] said: 550 5.1.1 <y@example.net>: User unknown (in reply to RCPT TO command))'
	printf '2025-11-25T10:00:03.000000+00:00 mx1 postfix/smtp[400]: F0E1D2C3B4: to=<%s@example.net>, status=sent\n' "$(head -c 70000 /dev/zero | tr '\0' z)"
	echo '2025-11-25T11:00:01.000000+00:00 mx1 postfix/lmtp[500]: F0E1D2C3B4: to=<z@example.com>, relay=store[10.0.0.5]:24, delay=0.2, delays=0.1/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 Saved)'
	echo '2025-11-25T11:00:01.100000+00:00 mx1 postfix/smtpd[200]: NOQUEUE: reject: RCPT from x[192.0.2.9]: 554 5.7.1 <q@example.com>: Relay access denied; from=<s@example.org> to=<q@example.com> proto=ESMTP helo=<x>'
	printf '2025-11-25T11:00:02.000000+00:00 mx1 postfix/qmgr[901]: F0E1D2C3B4: removed'
} >"$L"

out=$("$MT" ingest-log -j "$J" "$L" 2>&1)
is "$?" 0 "ingest-log of a plain file"
like "$out" "12 lines, 9 events stored \\(9 linked to messages\\), 0 duplicates ignored, 0 unparsed, 1 too long" "the counts"
is "$(sql "$J" "SELECT group_concat(status || '>' || message, ' ') FROM (SELECT * FROM delivery_events ORDER BY time)")" \
    "deferred>1 sent>1 bounced>2 sent>3" "deliveries linked by queue ID within the window (reused queue ID)"
is "$(sql "$J" "SELECT group_concat(kind || '>' || message, ' ') FROM (SELECT * FROM queue_events ORDER BY time)")" \
    "message-id>1 queued>1 removed>1 message-id>2 removed>3" "queue events linked; the last line has no newline"
is "$(sql "$J" "SELECT delays || ' ' || next_queue_id || ' ' || source FROM delivery_events WHERE next_queue_id IS NOT NULL")" \
    "1199/0/0.3/0.5 9F8E7D6C5B ingest" "delays and the next queue ID"

gzip -c "$L" >"$T/mail.log.1.gz"
out=$("$MT" ingest-log -j "$J" "$L" "$T/mail.log.1.gz" 2>&1)
is "$?" 0 "again, plain and gzip"
like "$out" "mail.log.1.gz: 12 lines, 0 events stored .* 9 duplicates ignored" "the gzip copy adds nothing"
like "$out" "total: 24 lines, 0 events stored .* 18 duplicates ignored" "a total line for several files"
out=$(cat "$T/mail.log.1.gz" | "$MT" ingest-log -j "$J" - 2>&1)
is "$?" 0 "standard input (gzip)"
like "$out" "^-: 12 lines, 0 events stored" "standard input adds nothing"
is "$(sql "$J" "SELECT (SELECT count(*) FROM delivery_events) + (SELECT count(*) FROM queue_events)")" 9 \
    "still 9 events"

out=$("$MT" ingest-log -j "$J" "$T/nonexistent.log" "$L" 2>&1)
is "$?" 2 "a missing file: exit 2"
like "$out" "nonexistent.log: No such file or directory" "the message names it"
like "$out" "mail.log: 12 lines" "the other file is still read"

out=$("$MT" ingest-log -j "$T/none.db" "$L" 2>&1)
is "$?" 2 "a missing journal: exit 2"
like "$out" "none.db" "the message names it"
[ ! -e "$T/none.db" ]
is "$?" 0 "a missing journal is not created"

out=$("$MT" ingest-log -j "$J" --json "$L" 2>/dev/null)
is "$?" 0 "--json"
is "$(python3 -c 'import json, sys; d = json.load(sys.stdin); f = d["files"][0]; print(f["lines"], f["stored"], f["duplicates"], f["too_long"], d["total"]["lines"], f["ok"])' <<<"$out")" \
    "12 0 9 1 12 True" "the JSON summary"

# 3,000 queue IDs, five events each, in time order: far more than one
# hand-over between the threads (256 events) or one transaction.
V=$T/volume.log
awk 'BEGIN {
	for (i = 0; i < 3000; i++) {
		q = sprintf("%010X", 3735928559 + i)
		t = sprintf("2025-11-26T%02d:%02d:%02d", int(i / 3600), int(i / 60) % 60, i % 60)
		printf "%s.100000+00:00 mx1 postfix/qmgr[901]: %s: from=<s%d@example.org>, size=100, nrcpt=3 (queue active)\n", t, q, i
		for (r = 0; r < 3; r++)
			printf "%s.%d00000+00:00 mx1 postfix/smtp[400]: %s: to=<r%d@example.net>, relay=mx.example.net[192.0.2.7]:25, delay=0.%d, delays=0.1/0/0.%d/0, dsn=2.0.0, status=sent (250 2.0.0 Ok)\n", t, r + 2, q, r, r + 1, r
		printf "%s.900000+00:00 mx1 postfix/qmgr[901]: %s: removed\n", t, q
	}
}' >"$V"
out=$("$MT" ingest-log -j "$J" --json --txn-ms 5 "$V" 2>/dev/null)
is "$?" 0 "ingest-log of 15,000 events"
is "$(python3 -c 'import json, sys; d = json.load(sys.stdin); f = d["files"][0]; print(f["lines"], f["events"], f["stored"], f["duplicates"], d["transactions"] > 1)' <<<"$out")" \
    "15000 15000 15000 0 True" "every event stored once, in several transactions"
is "$(sql "$J" "SELECT count(*) FROM delivery_events WHERE queue_id LIKE '00DEAD%'")" 9000 "the deliveries"
is "$(sql "$J" "SELECT count(*) FROM (SELECT time, lag(time) OVER (ORDER BY id) AS prev
    FROM delivery_events WHERE queue_id LIKE '00DEAD%') WHERE time < prev")" 0 \
    "stored in the order of the file"
is "$(sql "$J" "SELECT count(*) FROM delivery_events WHERE queue_id = '00DEADBEF0' AND delays = '0.1/0/0.2/0'")" 1 \
    "delays as written"
out=$("$MT" ingest-log -j "$J" --json "$V" 2>/dev/null)
is "$(python3 -c 'import json, sys; d = json.load(sys.stdin); f = d["files"][0]; print(f["stored"], f["duplicates"])' <<<"$out")" \
    "0 15000" "again: nothing stored"

out=$("$MT" ingest-log -j "$J" 2>&1)
is "$?" 2 "no file: a usage error"
out=$("$MT" ingest-log --help)
is "$?" 0 "--help"
like "$out" "usage: mailtrail ingest-log" "the help"
done_testing
