#!/bin/bash
# logfollow.sh - the daemon follows a mail log while this script writes it,
# rotates it by rename, truncates it (copytruncate) and restarts the
# daemon; every delivery line ends up in the journal exactly once.
#
# The log is a file of Postfix lines with RFC 3339 stamps (as Postfix's
# maillog_file or rsyslog write them), one delivery per line, each with its
# own queue ID.  "Exactly once" is checked with sqlite3: as many
# delivery_events rows as lines written, as many distinct queue IDs.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/milter.sh"

require_tool sqlite3 awk
[ -x "$(mt_binary)" ] || skip_all "daemon not built"
mt_tmpdir >/dev/null
T=$_mt_tmp
SOCK=unix:$T/milter.sock
DB=$T/journal.db
LOG=$T/postfix.log
N=0		# delivery lines written so far

# gen COUNT: COUNT delivery lines, each with a new queue ID, on stdout.
gen()
{
	awk -v from="$N" -v n="$1" 'BEGIN {
		for (i = from; i < from + n; i++)
			printf "2026-12-07T%02d:%02d:%02d.%06d+00:00 gw postfix/smtp[%d]: " \
			    "A%09X: to=<user%d@example.net>, relay=mx.example.net[192.0.2.25]:25, " \
			    "delay=0.2, delays=0.1/0/0.05/0.05, dsn=2.0.0, status=sent " \
			    "(250 2.0.0 Ok: queued as B%09X)\n", \
			    int(i / 3600) % 24, int(i / 60) % 60, i % 60, i % 1000000, \
			    1000 + i % 5000, i, i, i
	}'
	N=$((N + $1))
}

events()
{
	sqlite3 -readonly "$DB" "SELECT COUNT(*) FROM delivery_events" 2>/dev/null
}

distinct()
{
	sqlite3 -readonly "$DB" "SELECT COUNT(DISTINCT queue_id) FROM delivery_events" 2>/dev/null
}

# wait_events WANT: up to 20 s for the journal to hold WANT events.
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
	    -o delivery.maillog="$LOG" -o delivery.start=beginning \
	    -o delivery.poll_interval=50 -o delivery.batch_interval=50 \
	    -o delivery.batch_max=500 || bail_out "no daemon"
}

# --- lines appended while the daemon runs, some in two halves
gen 300 >"$LOG"
start
gen 200 >"$T/more"
head -c 1000 "$T/more" >>"$LOG"		# a partial line ...
sleep 0.3
tail -c +1001 "$T/more" >>"$LOG"	# ... finished later
printf 'not a mail line \001\377 at all\n' >>"$LOG"
head -c 70000 /dev/zero | tr '\0' x >>"$LOG"	# over MLOG_MAX_LINE
echo >>"$LOG"
gen 100 >>"$LOG"
wait_events "$N"
is "$(events)" "$N" "appended lines: $N events, a partial line waited for its end"

# --- rotation by rename: the old file keeps receiving lines for a while
mv "$LOG" "$LOG.1"
gen 100 >>"$LOG.1"
sleep 0.2
gen 250 >"$LOG"
sleep 0.5
gen 100 >>"$LOG"
wait_events "$N"
is "$(events)" "$N" "rename rotation: the old file read to its end, then the new one"

# --- copytruncate
cp "$LOG" "$LOG.2"
: >"$LOG"
gen 150 >>"$LOG"
wait_events "$N"
is "$(events)" "$N" "copytruncate: the file is read again from the start"

kill -USR1 "$MT_PID"
wait_for 5 grep -q "log_lines=" "$T/milter.log"
like "$(grep 'stats ' "$T/milter.log" | tail -n 1)" \
    "log_rotations=1 log_truncations=1 " \
    "SIGUSR1: the follower's counters (one rotation, one truncation)"

# --- a restart resumes without adding anything twice
mt_stop
is "$?" 0 "clean stop"
stopped=$(events)
gen 80 >>"$LOG"		# written while the daemon is down
start
wait_events "$N"
is "$(events)" "$N" "restart: the lines written meanwhile are read"
sleep 0.5
is "$(events)" "$N" "restart: nothing read twice"
is "$(distinct)" "$N" "every event once (distinct queue IDs = events)"

row=$(sqlite3 -readonly "$DB" "SELECT offset, lines, too_long, unparsed \
    FROM log_positions WHERE path = '$LOG'")
size=$(stat -c %s "$LOG")
like "$row" "^$size\|[0-9]+\|1\|[1-9][0-9]*$" \
    "log_positions: offset at the end of the file, one line too long, the garbage line unparsed"

# --- stop with lines not yet handed over: flushed at SIGTERM
gen 40 >>"$LOG"
mt_stop
is "$?" 0 "clean stop with pending lines"
is "$(events)" "$N" "SIGTERM hands the last batch over"
diag "events before the restart: $stopped, at the end: $(events)"

# --- SIGHUP with another delivery.maillog: the follower moves to it
LOG2=$T/other.log
gen 30 >"$LOG2"
printf 'delivery = { maillog = "%s"; start = "beginning"; poll_interval = 50; batch_interval = 50; };\n' \
    "$LOG" >"$T/mailtrail.conf"
mt_start "$T" "$SOCK" "$DB" -c "$T/mailtrail.conf" \
    -o journal.durability=normal || bail_out "no daemon"
sleep 0.3
printf 'delivery = { maillog = "%s"; start = "beginning"; poll_interval = 50; batch_interval = 50; };\n' \
    "$LOG2" >"$T/mailtrail.conf"
kill -HUP "$MT_PID"
wait_for 10 grep -q "log follower started: $LOG2" "$T/milter.log"
is "$?" 0 "reload: the follower restarts on the new file"
wait_events "$N"
is "$(events)" "$N" "reload: the new file's lines, the old file's not again"
mt_stop
is "$(sqlite3 -readonly "$DB" "SELECT COUNT(*) FROM log_positions")" 2 \
    "a stored position per file"
done_testing
