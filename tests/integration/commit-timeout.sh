#!/bin/bash
# commit-timeout.sh - a slow journal under steady mail (issue 11, defect 2):
# another process holds the journal's write lock for 4 s while durable
# commits time out after 1 s under on_error=tempfail.  Every message gets
# its answer within its bound (451 while the lock is held), and once the
# lock goes every record says what the MTA was told: "tempfailed", never a
# phantom "accepted".  The log line names the tracking ID and says that the
# record is delayed and how it will be recorded.  Needs miltertest, sqlite3.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/milter.sh"

require_tool miltertest sqlite3
[ -x "$(mt_binary)" ] || skip_all "daemon not built"
mt_tmpdir T
LUADIR=$top_srcdir/tests/integration
SOCK=unix:$T/milter.sock
J=$T/journal.db

# stream LABEL COUNT EXPECT: COUNT messages, one connection each.
stream()
{
	timeout 120 miltertest -D sock="$SOCK" -D lib="$LUADIR/lib.lua" \
	    -D count="$2" -D expect="$3" -s "$LUADIR/stream.lua" \
	    >"$T/$1.out" 2>&1
}
replies() { grep -c "^REPLY msg[0-9]* $2\$" "$T/$1.out"; }
jcount() { sql "$J" "SELECT count(*) FROM messages $1"; }

mt_start "$T" "$SOCK" "$J" -o journal.durability=full \
    -o journal.commit_timeout=1000 -o on_error=tempfail ||
    bail_out "daemon did not start"

stream before 2 continue
is "$(replies before continue)" 2 "before the lock: both messages accepted"

# Another process takes the write lock for 4 s (the daemon's own busy
# timeout is 5 s, so its writer waits it out and then commits).
rm -f "$T/locked"
printf 'BEGIN IMMEDIATE;\n.shell touch %s/locked\n.shell sleep 4\nCOMMIT;\n' \
    "$T" | sqlite3 "$J" >"$T/locker.out" 2>&1 &
LOCKER=$!
track_pid "$LOCKER"
wait_for 5 test -e "$T/locked" || bail_out "the lock holder did not start"

# A steady stream while the lock is held: 3 messages, one after another.
t0=$(date +%s%N)
stream during 3 any
ms=$((($(date +%s%N) - t0) / 1000000))
is "$(replies during tempfail)" 3 \
    "lock held: every message answered tempfail (451)"
ok "$([ "$ms" -lt 6000 ]; echo $?)" \
    "lock held: 3 answers within their 1 s bound each (${ms} ms in all)"

wait "$LOCKER"
untrack_pid "$LOCKER"
stream after 2 continue
is "$(replies after continue)" 2 "lock gone: messages accepted again"
sleep 1

is "$(jcount "")" 7 "every message has exactly one row (no duplicate)"
is "$(jcount "WHERE outcome = 'tempfailed'")" 3 \
    "the three answered 451 are recorded as tempfailed"
is "$(jcount "WHERE outcome = 'accepted'")" 4 \
    "no phantom acceptance: only the four accepted messages say accepted"
is "$(jcount "WHERE outcome = 'tempfailed' AND error LIKE '%timed out%'")" 3 \
    "their error says the commit timed out"

line=$(grep "journal commit timed out" "$T/milter.log" | head -n 1)
like "$line" "will be recorded as tempfailed" \
    "the log line says what will be recorded"
tid=$(printf '%s\n' "$line" | sed -n 's/.*: \([0-9A-Za-z]*\) conn=.*/\1/p')
is "$(jcount "WHERE track_id = '$tid' AND outcome = 'tempfailed'")" 1 \
    "the log line names the message's tracking ID ($tid)"
ok "$(grep -q "not stored" "$T/milter.log"; [ $? = 1 ]; echo $?)" \
    "nothing claims 'not stored' for records that were stored"

mt_stop
is "$?" 0 "clean stop"
done_testing
