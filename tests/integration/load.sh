#!/bin/bash
# load.sh - 1,000 MTA sessions open at once (issue 11, "Load and faults").
#
# The daemon starts with a soft open-files limit of 256, as a careless init
# system may give it; it raises the soft limit to the hard one and logs it.
# Then tests/integration/milter_client opens 1,000 sessions at once (each
# through RCPT), keeps them all open, and finishes each with a message:
# none may be refused or broken for lack of descriptors or threads, the
# daemon survives, every message is journaled, and mail after the burst is
# journaled too.  Then the same burst against a daemon whose hard limit is
# 300: the sessions over its cap are refused cleanly at once.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/milter.sh"

N=${MT_LOAD_SESSIONS:-1000}
CLIENT=$top_builddir/tests/integration/milter_client
[ -x "$CLIENT" ] || skip_all "milter_client not built"
[ -x "$(mt_binary)" ] || skip_all "daemon not built"
require_tool sqlite3
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] || [ "$hard" -ge $((N + 200)) ] ||
    skip_all "hard open-files limit $hard is below $N sessions"
mt_tmpdir T
SOCK=unix:$T/milter.sock
J=$T/journal.db

count() { sql "$J" "SELECT count(*) FROM messages m JOIN connections c
    ON c.id = m.conn_id WHERE c.helo LIKE '$1-%' AND m.outcome = 'accepted'"; }

ulimit -Sn 256
mt_start "$T" "$SOCK" "$J" -o milter.backlog=128 ||
    bail_out "daemon did not start"
ulimit -Sn "$hard"
like "$(grep 'open files limit' "$T/milter.log")" "open files limit: $hard" \
    "the soft open-files limit is raised to the hard one ($hard) and logged"

t0=$(date +%s%N)
timeout 120 "$CLIENT" -e -c "$N" "$SOCK" 1 burst >"$T/burst.out" 2>"$T/burst.err" &
CPID=$!
track_pid "$CPID"
peak=0
while kill -0 "$CPID" 2>/dev/null; do
	th=$(awk '/^Threads:/ { print $2 }' "/proc/$MT_PID/status" 2>/dev/null)
	[ -n "$th" ] && [ "$th" -gt "$peak" ] && peak=$th
	sleep 0.2
done
wait "$CPID"
st=$?
untrack_pid "$CPID"
ms=$((($(date +%s%N) - t0) / 1000000))
is "$st" 0 "$N sessions at once: every one completed" ||
    diag "$(tail -n 5 "$T/burst.err")"
like "$(cat "$T/burst.out")" "opened $N of $N" "all $N were open at the same time"
is "$(grep -c '^eom [0-9]* c$' "$T/burst.out")" "$N" \
    "every end-of-message answered continue"
note "burst: $N sessions in ${ms} ms, daemon threads at most $peak"
ok "$([ "$peak" -lt 200 ]; echo $?)" "daemon threads stay bounded (peak $peak)"
mt_running
is "$?" 0 "the daemon survived the burst"
sleep 1
is "$(count burst)" "$N" "every message of the burst is journaled"

timeout 60 "$CLIENT" -e "$SOCK" 5 after >"$T/after.out" 2>&1
is "$?" 0 "mail after the burst flows"
sleep 1
is "$(count after)" 5 "and is journaled"
ok "$(grep -qiE 'too many open files|EMFILE' "$T/milter.log"; [ $? = 1 ]; echo $?)" \
    "no descriptor exhaustion in the log"
mt_stop
is "$?" 0 "clean stop"

# ------------------------------------------------ a hard limit of 300
# Beyond the session cap (the limit less a reserve) sessions are refused
# at negotiation, at once: no hang, no spinning listener; the sessions
# taken in are served and journaled, and mail flows after the burst.
REAL=$(mt_binary)
cat >"$T/lowfd.sh" <<EOS
#!/bin/sh
ulimit -n 300
exec "$REAL" "\$@"
EOS
chmod +x "$T/lowfd.sh"
MT_MILTER=$T/lowfd.sh mt_start "$T" "$SOCK" "$T/low.db" -o milter.backlog=128 ||
    bail_out "daemon did not start under a limit of 300"
J=$T/low.db
like "$(grep 'open files limit' "$T/milter.log" | tail -n 1)" \
    "open files limit: 300, at most 236 MTA sessions" \
    "limit 300: the session cap is logged"
timeout 120 "$CLIENT" -e -c "$N" "$SOCK" 1 capped >"$T/capped.out" 2>"$T/capped.err"
st=$?
ok "$([ "$st" != 124 ]; echo $?)" "limit 300: the burst ends, nothing hangs (exit $st)"
opened=$(sed -n 's/^opened \([0-9]*\) of .*/\1/p' "$T/capped.out")
ok "$([ -n "$opened" ] && [ "$opened" -ge 200 ] && [ "$opened" -le 236 ]; echo $?)" \
    "limit 300: sessions up to the cap are taken in ($opened), the rest refused"
is "$(grep -c '^eom [0-9]* c$' "$T/capped.out")" "$opened" \
    "limit 300: every session taken in is answered"
mt_running
is "$?" 0 "limit 300: the daemon survived"
sleep 1
is "$(count capped)" "$opened" "limit 300: every message taken in is journaled"
timeout 60 "$CLIENT" -e "$SOCK" 5 lowafter >/dev/null 2>&1
is "$?" 0 "limit 300: mail after the burst flows"
mt_stop
is "$?" 0 "clean stop"
like "$(tail -n 3 "$T/milter.log")" "sessions_refused=[1-9]" \
    "limit 300: the refusals are counted"
done_testing
