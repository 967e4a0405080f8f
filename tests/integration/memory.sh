#!/bin/bash
# memory.sh - memory per connection does not grow with the messages on it:
# 15,000 transactions on one connection in three rounds; the heap in use
# (allocated and not freed, from the daemon's SIGUSR1 stats line) after the
# third round is compared with after the second.  The resident size is
# printed too but not judged: glibc keeps freed memory in its per-thread
# arenas (measured: it levels off near 40 MB), which says nothing about
# leaks.  Leaks themselves are checked with valgrind (see README).

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/milter.sh"

require_tool miltertest
# ASan's allocator is not glibc's: mallinfo2() (heap_in_use) says nothing
# there, and leaks are LeakSanitizer's job in that build.
[ "${MT_SANITIZERS:-no}" = yes ] &&
    skip_all "heap_in_use is meaningless under AddressSanitizer (LeakSanitizer checks leaks)"
[ -x "$(mt_binary)" ] || skip_all "daemon not built"
mt_tmpdir T
LUADIR=$top_srcdir/tests/integration
SOCK=unix:$T/milter.sock

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$MT_PID/status"; }

# The daemon's heap in use, in bytes, from a fresh SIGUSR1 stats line.
heap()
{
	local n
	n=$(grep -c ' stats ' "$T/milter.log")
	kill -USR1 "$MT_PID"
	wait_for 5 sh -c "[ \$(grep -c ' stats ' '$T/milter.log') -gt $n ]"
	grep ' stats ' "$T/milter.log" | tail -n 1 |
	    sed -n 's/.*heap_in_use=\([0-9]*\).*/\1/p'
}

send()
{
	timeout 300 miltertest -D sock="$SOCK" -D lib="$LUADIR/lib.lua" \
	    -D count="$1" -D sameconn=1 -s "$LUADIR/stream.lua" >"$T/$2.out" 2>&1
	is "$(grep -c '^CHECK ok' "$T/$2.out")" "$(($1 + 2))" \
	    "$2: $1 messages on one connection, each accepted" ||
	    diag "$(grep -v '^CHECK ok' "$T/$2.out" | head -5)"
}

mt_start "$T" "$SOCK" "$T/journal.db" ||
    bail_out "no daemon"
rss0=$(rss_kb)
send 5000 first
send 5000 second
rss1=$(rss_kb)
heap1=$(heap)
send 5000 third
rss2=$(rss_kb)
heap2=$(heap)
note "resident size: ${rss0} kB at start, ${rss1} kB after 10,000 messages, ${rss2} kB after 15,000"
note "heap in use: ${heap1} bytes after 10,000 messages, ${heap2} after 15,000"
ok "$([ -n "$heap1" ] && [ -n "$heap2" ]; echo $?)" "the stats line reports the heap"
# Anything kept per message would grow by 5,000 times its size.
ok "$([ $((heap2 - heap1)) -lt 262144 ]; echo $?)" \
    "heap in use does not grow with the messages on a connection ($((heap2 - heap1)) bytes)"
mt_stop
is "$?" 0 "clean stop"
is "$(sql "$T/journal.db" 'SELECT COUNT(*) FROM messages')" 15000 \
    "every transaction recorded"
done_testing
