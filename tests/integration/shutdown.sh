#!/bin/bash
# shutdown.sh - SIGTERM with MTA sessions in flight (issue 11, defect 5).
#
# A: a slow client is mid-transaction (after RCPT) when SIGTERM comes; it
#    finishes within milter.shutdown_timeout: its end-of-message is
#    answered and its message journaled as accepted; a session that tries
#    to start meanwhile is refused at once (the MTA's default_action
#    applies), and the daemon then exits 0.
# B: a client holds its transaction open beyond the bound: the daemon
#    exits 0 within the bound (plus libmilter's accept timeout), and the
#    open transaction is journaled as aborted with the error "shutdown",
#    its connection record closed.
# Uses tests/integration/milter_client (-e: through end-of-message,
# -H: hold after RCPT).

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/milter.sh"

CLIENT=$top_builddir/tests/integration/milter_client
[ -x "$CLIENT" ] || skip_all "milter_client not built"
[ -x "$(mt_binary)" ] || skip_all "daemon not built"
require_tool sqlite3
mt_tmpdir T
SOCK=unix:$T/milter.sock
J=$T/journal.db

# msg TAG COLUMNS: the message row of the session whose HELO is TAG-1...
msg()
{
	sql "$J" "SELECT $2 FROM messages m JOIN connections c
	    ON c.id = m.conn_id WHERE c.helo = '$1-1.example.org'"
}

# stop_timed: SIGTERM, wait; sets STATUS and MS.
stop_timed()
{
	local t0=$(date +%s%N)
	kill -TERM "$MT_PID"
	wait "$MT_PID"
	STATUS=$?
	MS=$((($(date +%s%N) - t0) / 1000000))
	untrack_pid "$MT_PID"
	MT_PID=
}

# ------------------------------------------------------------------ A
mt_start "$T" "$SOCK" "$J" -o milter.shutdown_timeout=8000 ||
    bail_out "daemon did not start"
"$CLIENT" -e -H 2500 "$SOCK" 1 drain >"$T/a.out" 2>&1 &
CPID=$!
track_pid "$CPID"
wait_for 10 grep -q '^held 1' "$T/a.out" || bail_out "client A never held"
t0=$(date +%s%N)
kill -TERM "$MT_PID"
sleep 0.5
# A newcomer during the drain is turned away, not left hanging.
timeout 5 "$CLIENT" "$SOCK" 1 late >"$T/late.out" 2>&1
late=$?
ok "$([ "$late" = 1 ]; echo $?)" \
    "A: a session starting during the drain is refused at once (exit $late)"
wait "$CPID"
is "$?" 0 "A: the slow client's session completed after SIGTERM"
untrack_pid "$CPID"
like "$(cat "$T/a.out")" "eom 1 c" "A: its end-of-message was answered (continue)"
wait "$MT_PID"
st=$?
ms=$((($(date +%s%N) - t0) / 1000000))
untrack_pid "$MT_PID"
MT_PID=
is "$st" 0 "A: the daemon exits 0"
ok "$([ "$ms" -lt 15000 ]; echo $?)" "A: within the bound (${ms} ms)"
is "$(msg drain outcome)" accepted "A: the slow transaction is journaled, accepted"
is "$(sql "$J" "SELECT count(*) FROM connections WHERE helo LIKE 'late-%'")" 0 \
    "A: nothing recorded of the refused session"
like "$(cat "$T/milter.log")" "refusing new sessions, waiting up to 8000 ms for 1 open" \
    "A: the log says what the stop waits for"

# ------------------------------------------------------------------ B
mt_start "$T" "$SOCK" "$J" -o milter.shutdown_timeout=1500 ||
    bail_out "daemon did not start again"
"$CLIENT" -e -H 30000 "$SOCK" 1 cut >"$T/b.out" 2>&1 &
CPID=$!
track_pid "$CPID"
wait_for 10 grep -q '^held 1' "$T/b.out" || bail_out "client B never held"
sleep 0.3
stop_timed
is "$STATUS" 0 "B: the daemon exits 0 with a session still open"
ok "$([ "$MS" -ge 1500 ] && [ "$MS" -lt 10000 ]; echo $?)" \
    "B: it waited the bound, no longer (${MS} ms; 1500 + libmilter's accept timeout)"
is "$(msg cut outcome)" aborted "B: the cut-off transaction is journaled as aborted"
is "$(msg cut error)" shutdown "B: its error says shutdown"
is "$(sql "$J" "SELECT close_time IS NOT NULL FROM connections
    WHERE helo = 'cut-1.example.org'")" 1 "B: its connection record is closed"
like "$(cat "$T/milter.log")" "1 sessions cut off" "B: the log counts the cut-off sessions"
ok "$(grep -qiE 'AddressSanitizer|runtime error|Segmentation' "$T/milter.log"; [ $? = 1 ]; echo $?)" \
    "no crash or sanitizer report"
kill_wait "$CPID" 1
untrack_pid "$CPID"
done_testing
