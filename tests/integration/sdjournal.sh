#!/bin/bash
# sdjournal.sh - the daemon reads Postfix's log from systemd journal files
# (delivery.maillog = "systemd-journal:DIR"), as on a Debian 12 host where
# Postfix logs only to journald.
#
# No journald runs: the journal files are written by systemd-journal-remote
# from entries in journald's export format, the way journald would store
# Postfix's syslog lines (SYSLOG_FACILITY=2, SYSLOG_IDENTIFIER=postfix/smtp,
# SYSLOG_PID, MESSAGE).  Entries are appended while the daemon runs, a
# second file appears (as after journald rotates), other facilities' entries
# are skipped, the daemon is restarted: every delivery ends up in the
# journal exactly once, with its fields.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/milter.sh"

require_tool sqlite3 awk python3
REMOTE=/lib/systemd/systemd-journal-remote
[ -x "$REMOTE" ] || skip_all "systemd-journal-remote not installed (Debian package systemd-journal-remote)"
[ -x "$(mt_binary)" ] || skip_all "daemon not built"
mt_tmpdir >/dev/null
T=$_mt_tmp
SOCK=unix:$T/milter.sock
DB=$T/journal.db
JD=$T/journal-files
mkdir -p "$JD"
N=0		# delivery entries written so far
BASE=1796000000000000	# 2026-12-01, microseconds

# entries COUNT [FACILITY]: COUNT journal entries in export format, each a
# Postfix delivery line with its own queue ID, one second apart.
entries()
{
	python3 - "$N" "$1" "${2:-2}" <<'EOF'
import sys
start, n, fac = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
base = 1796000000000000
out = sys.stdout
for i in range(start, start + n):
    msg = ("A%09X: to=<user%d@example.net>, relay=mx.example.net[192.0.2.25]:25, "
           "delay=0.2, delays=0.1/0/0.05/0.05, dsn=2.0.0, status=sent "
           "(250 2.0.0 Ok: queued as B%09X)" % (i, i, i))
    t = base + i * 1000000
    out.write("__CURSOR=s=0;i=%x\n__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n"
              "_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=gw1\n"
              "SYSLOG_FACILITY=%s\nSYSLOG_IDENTIFIER=postfix/smtp\nSYSLOG_PID=%d\n"
              "_PID=%d\nPRIORITY=6\nMESSAGE=%s\n\n"
              % (i + 1, t, i + 1, fac, 1000 + i % 5000, 1000 + i % 5000, msg))
EOF
	[ "${2:-2}" = 2 ] && N=$((N + $1))
}

# append FILE COUNT [FACILITY]: write entries into a journal file.
append()
{
	entries "$2" "$3" >"$T/export.txt"
	"$REMOTE" -o "$1" "$T/export.txt" 2>>"$T/remote.log" ||
	    bail_out "systemd-journal-remote failed: $(tail -n 3 "$T/remote.log")"
}

events()
{
	sqlite3 -readonly "$DB" "SELECT COUNT(*) FROM delivery_events" 2>/dev/null
}

distinct()
{
	sqlite3 -readonly "$DB" "SELECT COUNT(DISTINCT queue_id) FROM delivery_events" 2>/dev/null
}

wait_events()
{
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(events)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

start()
{
	mt_start "$T" "$SOCK" "$DB" -o journal.durability=normal \
	    -o delivery.maillog="systemd-journal:$JD" "$@" \
	    -o delivery.poll_interval=50 -o delivery.batch_interval=50 \
	    -o delivery.batch_max=200 || bail_out "no daemon"
}

# --- the configuration check knows the source
out=$("$(mt_binary)" -n -o delivery.maillog=systemd-journal:relative 2>&1)
like "$out" "absolute path" "a relative journal directory is refused with a reason"
out=$("$(mt_binary)" -n -o delivery.maillog=systemd-journal: 2>&1)
is "$?" 0 "\"systemd-journal:\" (this machine's journal) is accepted"

# --- entries present at start, then appended while the daemon runs
append "$JD/system.journal" 300
append "$JD/system.journal" 50 3		# daemon facility: not mail
start -o delivery.start=beginning
wait_events "$N"
is "$(events)" "$N" "entries present at start: $N events (other facilities skipped)"
append "$JD/system.journal" 200
wait_events "$N"
is "$(events)" "$N" "entries appended while running are read ($N)"

row=$(sqlite3 -readonly "$DB" "SELECT queue_id, recipient, relay, dsn, \
    status, reply FROM delivery_events WHERE queue_id = 'A00000001F'")
is "$row" "A00000001F|user31@example.net|mx.example.net[192.0.2.25]:25|2.0.0|sent|250 2.0.0 Ok: queued as B00000001F" \
    "an entry's fields: queue ID, recipient, relay, DSN, status, reply"
t=$(sqlite3 -readonly "$DB" "SELECT time FROM delivery_events WHERE queue_id = 'A00000001F'")
is "$t" "$((BASE + 31 * 1000000))" "the event's time is the entry's __REALTIME_TIMESTAMP"

# --- a new file in the directory (journald rotated or a new boot)
append "$JD/system@0001-0002.journal" 150
wait_events "$N"
is "$(events)" "$N" "a new journal file in the directory is read ($N)"

# --- a restart resumes without loss or duplicate
mt_stop
is "$?" 0 "clean stop"
append "$JD/system@0001-0002.journal" 80	# written while down
start
wait_events "$N"
is "$(events)" "$N" "restart: the entries written meanwhile are read"
sleep 0.5
is "$(events)" "$N" "restart: nothing read twice"
is "$(distinct)" "$N" "every event once (distinct queue IDs = events)"
pos=$(sqlite3 -readonly "$DB" "SELECT offset FROM log_positions WHERE path = 'systemd-journal:$JD'")
is "$pos" "$((BASE + (N - 1) * 1000000))" "the stored position is the last entry's time"

kill -USR1 "$MT_PID"
wait_for 5 grep -q "log_lines=" "$T/milter.log"
like "$(grep 'stats ' "$T/milter.log" | tail -n 1)" "log_lines=[1-9]" \
    "SIGUSR1: the follower's counters"
mt_stop

# --- delivery.start = end on a first run: what is already there is skipped
rm -f "$DB" "$DB"-*
start -o delivery.start=end
sleep 0.5
append "$JD/system.journal" 40
indir=$N		# every delivery entry written into $JD
wait_events 40
is "$(events)" 40 "start=end: only the entries after the start are read"
mt_stop

# --- a missing directory is retried, not fatal
rm -f "$DB" "$DB"-*
JD=$T/not-yet
start -o delivery.start=beginning
sleep 0.3
mkdir -p "$JD"
append "$JD/system.journal" 25
wait_events 25
is "$(events)" 25 "a journal directory that appears later is read whole"
mt_stop

# --- mailtrail ingest-log systemd-journal:DIR: the same entries, backfilled
CLI=$(dirname "$(mt_binary)")/mailtrail
JD=$T/journal-files
want=$(sqlite3 -readonly "$DB" "SELECT COUNT(*) FROM delivery_events")
out=$("$CLI" ingest-log --journal "$DB" --json "systemd-journal:$JD")
is "$?" 0 "ingest-log systemd-journal:DIR: exit 0"
like "$out" '"stored":'"$indir"',"duplicates":0,' \
    "ingest-log systemd-journal:DIR: every delivery entry stored ($indir)"
is "$(events)" "$((want + indir))" "the journal holds them beside the follower's"
out=$("$CLI" ingest-log --journal "$DB" --json "systemd-journal:$JD")
like "$out" '"stored":0,"duplicates":'"$indir"',' \
    "ingest-log again: nothing stored twice"
out=$("$CLI" ingest-log --journal "$DB" "systemd-journal:relative" 2>&1)
is "$?" 2 "ingest-log systemd-journal:relative: exit 2"
like "$out" "absolute path" "... with the reason"

done_testing
