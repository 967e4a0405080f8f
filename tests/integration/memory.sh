#!/bin/bash
# memory.sh - memory per connection does not grow with the messages on it:
# 15,000 transactions on one connection in three rounds; the daemon's
# resident size after the third round is compared with after the second
# (by then SQLite's page cache, 2 MB, and the allocator's arenas have
# filled up).  Leaks themselves are checked with valgrind (see README).

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/milter.sh"

require_tool miltertest
[ -x "$(mt_binary)" ] || skip_all "daemon not built"
mt_tmpdir T
LUADIR=$top_srcdir/tests/integration
SOCK=unix:$T/milter.sock

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$MT_PID/status"; }

send()
{
	timeout 300 miltertest -D sock="$SOCK" -D lib="$LUADIR/lib.lua" \
	    -D count="$1" -D sameconn=1 -s "$LUADIR/stream.lua" >"$T/$2.out" 2>&1
	is "$(grep -c '^CHECK ok' "$T/$2.out")" "$(($1 + 2))" \
	    "$2: $1 messages on one connection, each accepted" ||
	    diag "$(grep -v '^CHECK ok' "$T/$2.out" | head -5)"
}

mt_start "$T" "$SOCK" "$T/journal.db" -o journal.durability=normal ||
    bail_out "no daemon"
rss0=$(rss_kb)
send 5000 first
send 5000 second
rss1=$(rss_kb)
send 5000 third
rss2=$(rss_kb)
note "resident size: ${rss0} kB at start, ${rss1} kB after 10,000 messages, ${rss2} kB after 15,000"
# Anything kept per message on a connection would grow by megabytes.
ok "$([ $((rss2 - rss1)) -lt 1024 ]; echo $?)" \
    "memory does not grow with the messages on a connection ($((rss2 - rss1)) kB)"
mt_stop
is "$?" 0 "clean stop"
is "$(sql "$T/journal.db" 'SELECT COUNT(*) FROM messages')" 15000 \
    "every transaction recorded"
done_testing
