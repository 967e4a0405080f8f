#!/bin/bash
# files.sh - the daemon's files and privileges (issue 11, defect 6).
#
# - A pid file path that is a symbolic link is refused; its target is
#   untouched.
# - With milter.user set, the pid file is written before the privilege
#   drop, handed to the user, and removed at exit when its directory is the
#   user's; in a root-owned directory it is emptied at exit (never a stale
#   PID) and the daemon warns at start.
# - The unix: socket has milter.socket_mode's bits and belongs to the user.
# - An existing journal with mode 0644 under journal.mode = 0640 is fixed
#   when the daemon may change it, refused with a clear error when not.
# Needs root (skips otherwise) and the "nobody" account.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/milter.sh"

require_root
require_tool sqlite3 stat
id nobody >/dev/null 2>&1 || skip_all "no user nobody"
[ -x "$(mt_binary)" ] || skip_all "daemon not built"
mt_tmpdir T
SOCK=unix:$T/milter.sock
NOBODY_GROUP=$(id -gn nobody)

# start_refused LOG ARG...: start the daemon, expect it to exit by itself
# within 10 s; sets st to its exit status (0 if it ran and was stopped).
start_refused()
{
	local log=$1 p
	shift
	"$(mt_binary)" -f -p "$SOCK" -o spf.enabled=false \
	    -o dkim.enabled=false "$@" >"$log" 2>&1 &
	p=$!
	track_pid "$p"
	wait_for 10 sh -c "! kill -0 $p 2>/dev/null"
	if kill -0 "$p" 2>/dev/null; then
		kill -TERM "$p"
		wait "$p"
		st=0
	else
		wait "$p"
		st=$?
	fi
	untrack_pid "$p"
}

# -------------------------------------------------------- symlinked pid file
echo precious >"$T/target"
ln -s "$T/target" "$T/pid.link"
start_refused "$T/link.log" -j "$T/j0.db" -o milter.pid_file="$T/pid.link"
ok "$([ "$st" != 0 ]; echo $?)" "symlinked pid file: the daemon refuses to start (exit $st)"
is "$(cat "$T/target")" precious "symlinked pid file: the link's target is untouched"
like "$(cat "$T/link.log")" "symbolic link" "symlinked pid file: the error says why"

# -------------------------------------------------------- pid file, socket, as nobody
mkdir -p "$T/run" "$T/jdir"
chown nobody:"$NOBODY_GROUP" "$T/run" "$T/jdir"
mt_start "$T" "$SOCK" "$T/jdir/journal.db" -o milter.user=nobody \
    -o milter.pid_file="$T/run/milter.pid" -o milter.socket_mode=0660 ||
    bail_out "daemon did not start as nobody"
is "$(cat "$T/run/milter.pid")" "$MT_PID" "pid file: holds the daemon's PID"
is "$(stat -c %U "$T/run/milter.pid")" nobody "pid file: handed to milter.user"
is "$(stat -c '%a %U %G' "$T/milter.sock")" "660 nobody $NOBODY_GROUP" \
    "socket: milter.socket_mode bits, owned by milter.user"
is "$(stat -c %U "$T/jdir/journal.db")" nobody "journal: created by milter.user"
mt_stop
is "$?" 0 "clean stop as nobody"
ok "$([ ! -e "$T/run/milter.pid" ]; echo $?)" \
    "pid file: removed at exit, after the privilege drop"

# A pid file in a root-owned directory cannot be removed by nobody: it is
# emptied, so it never names a dead process.
mkdir -p "$T/rootrun"
chmod 0755 "$T/rootrun"
mt_start "$T" "$SOCK" "$T/jdir/journal.db" -o milter.user=nobody \
    -o milter.pid_file="$T/rootrun/milter.pid" ||
    bail_out "daemon did not start with a root-owned pid directory"
like "$(cat "$T/milter.log")" "will be emptied at exit" \
    "root-owned pid directory: the daemon warns at start"
mt_stop
is "$?" 0 "clean stop"
ok "$([ ! -s "$T/rootrun/milter.pid" ]; echo $?)" \
    "root-owned pid directory: no stale PID left behind"

# -------------------------------------------------------- journal mode
J=$T/mode.db
mt_start "$T" "$SOCK" "$J" -o journal.mode=0640 || bail_out "no start"
mt_stop
chmod 0644 "$J"
mt_start "$T" "$SOCK" "$J" -o journal.mode=0640 ||
    bail_out "daemon refused a journal it may fix"
is "$(stat -c %a "$J")" 640 "existing 0644 journal, journal.mode 0640: fixed at open"
mt_stop

# Owned by root, opened as nobody: it cannot be fixed, so it is refused.
chown root:root "$T/jdir/journal.db"
chmod 0644 "$T/jdir/journal.db"
rm -f "$T/jdir/journal.db-wal" "$T/jdir/journal.db-shm"
start_refused "$T/refuse.log" -j "$T/jdir/journal.db" -o milter.user=nobody \
    -o journal.mode=0640
ok "$([ "$st" != 0 ]; echo $?)" "a 0644 journal nobody may not fix: refused (exit $st)"
like "$(cat "$T/refuse.log")" "mode 0644, more open than journal.mode 0640" \
    "the refusal names the modes"
is "$(stat -c %a "$T/jdir/journal.db")" 644 "the refused journal is left alone"
done_testing
