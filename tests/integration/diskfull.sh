#!/bin/bash
# diskfull.sh - the journal's disk fills up: mail keeps flowing under
# on_error, the failure is logged once per burst with a counter, nothing
# committed before is lost, and the journal recovers when space returns.
#
# The journal lives on a 1 MB tmpfs mounted in a private mount namespace
# (unshare -m) that only the daemon sees; the test fills it through
# /proc/PID/root.  Needs root, unshare and miltertest.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/milter.sh"

require_root
require_tool miltertest sqlite3 unshare nsenter
BIN=$(mt_binary)
[ -x "$BIN" ] || skip_all "daemon not built"
mt_tmpdir >/dev/null
T=$_mt_tmp
LUADIR=$top_srcdir/tests/integration
SOCK=unix:$T/milter.sock
J=$T/jdir
mkdir -p "$J"
unshare -m true 2>/dev/null || skip_all "cannot create a mount namespace here"

PID=
start_daemon()
{
	rm -f "$T/milter.sock"
	unshare -m --propagation private sh -c \
	    "mount -t tmpfs -o size=1m,mode=0755 tmpfs '$J' &&
	     exec '$BIN' -f -p '$SOCK' -j '$J/journal.db' \
	     -o journal.commit_timeout=2000 -o spf.enabled=false -o dkim.enabled=false $*" >>"$T/milter.log" 2>&1 &
	PID=$!
	track_pid "$PID"
	wait_for 15 test -S "$T/milter.sock" || bail_out "daemon did not start"
}

stop_daemon()
{
	kill -TERM "$PID"
	wait "$PID"
	local rc=$?
	untrack_pid "$PID"
	return $rc
}

# stream LABEL COUNT EXPECT: send COUNT messages, record the CHECK lines.
stream()
{
	local label=$1 n=$2 want=$3 out=$T/$1.out line
	timeout 120 miltertest -D sock="$SOCK" -D lib="$LUADIR/lib.lua" \
	    -D count="$n" -D expect="$want" -s "$LUADIR/stream.lua" >"$out" 2>&1
	is "$?" 0 "$label: miltertest ran"
	is "$(grep -c '^CHECK ok' "$out")" "$((n * 3))" \
	    "$label: every check passed" ||
	    diag "$(grep -v '^CHECK ok' "$out" | head)"
}

ids_of() { sed -n 's/^ID msg[0-9]* //p' "$T/$1.out"; }

# SQL on the journal, read inside the daemon's mount namespace.
jsql()
{
	nsenter -t "$PID" -m sqlite3 -readonly -cmd '.timeout 5000' \
	    "$J/journal.db" "$1"
}

recorded() { [ "$(jsql "SELECT COUNT(*) FROM messages WHERE track_id = '$1'")" = 1 ]; }

in_journal()
{
	local id n=0
	for id in $(ids_of "$1"); do
		recorded "$id" && n=$((n + 1))
	done
	echo "$n"
}

# Under on_error=tempfail every message is recorded or refused: count the
# messages that were let through without a record.
accepted_unrecorded()
{
	local i id reply n=0
	for i in $(seq 1 "$2"); do
		reply=$(sed -n "s/^REPLY msg$i //p" "$T/$1.out")
		id=$(sed -n "s/^ID msg$i //p" "$T/$1.out")
		if [ "$reply" = continue ] && ! recorded "$id"; then
			n=$((n + 1))
		fi
	done
	echo "$n"
}

fill_disk()
{
	dd if=/dev/zero of="/proc/$PID/root$J/fill" bs=4k 2>/dev/null
	sync
}

# ---------------------------------------------------------------- on_error=accept
start_daemon
stream before 3 continue
is "$(in_journal before)" 3 "before: the three messages are in the journal"

fill_disk
stream full 6 continue
# SQLite reuses the space its WAL already holds, so some commits may still
# succeed on a full disk: what matters is that every message passed.
n=$(in_journal full)
ok "$([ "$n" -lt 6 ]; echo $?)" \
    "disk full: messages pass, $((6 - n)) of 6 unrecorded (on_error=accept)"
errors=$(grep -c "error: .*journal" "$T/milter.log")
ok "$([ "$errors" -ge 1 ] && [ "$errors" -le 3 ]; echo $?)" \
    "disk full: logged once per burst, not per message ($errors lines)"
like "$(grep "error: .*journal" "$T/milter.log" | tail -n 1)" "total=[0-9]+" \
    "the log line carries a counter"
kill -0 "$PID" 2>/dev/null
is "$?" 0 "the daemon is still running"

rm -f "/proc/$PID/root$J/fill"
sleep 6		# the writer retries the store after its backoff (at most 5 s)
stream after 3 continue
is "$(in_journal after)" 3 "space back: new messages are recorded again"
is "$(in_journal before)" 3 "nothing committed before the failure was lost"
is "$(jsql 'PRAGMA integrity_check')" \
    ok "the journal is sound"
kill -USR1 "$PID"
sleep 0.5
like "$(grep "stats " "$T/milter.log" | tail -n 1)" "journal_errors=[1-9]" \
    "SIGUSR1 logs the counters, journal errors included"
stop_daemon
is "$?" 0 "clean stop"

# ---------------------------------------------------------------- on_error=tempfail
start_daemon -o on_error=tempfail
stream tf-before 2 continue
fill_disk
stream tf-full 6 any
is "$(accepted_unrecorded tf-full 6)" 0 \
    "disk full, on_error=tempfail: no message passed without its record"
ok "$(grep -q '^REPLY msg1 tempfail' "$T/tf-full.out"; echo $?)" \
    "disk full, on_error=tempfail: the first message after the disk filled was refused"
rm -f "/proc/$PID/root$J/fill"
stop_daemon
is "$?" 0 "clean stop after tempfail"
done_testing
