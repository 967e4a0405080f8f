#!/bin/bash
# ingest-bench.sh - "mailtrail ingest-log" on the Postfix mail log of a
# million messages, beside pflogsumm over the same file, and the daemon's
# commit latency while a backfill runs.
#
# cli_gen (tests/bench/cli_gen.c, with its "delivery" mix) writes a journal
# of INGEST_BENCH_MESSAGES messages over 30 days, as the milter would have
# recorded them, and the mail log a Postfix gateway wrote for the same
# messages: per message about 11 lines (connect, policyd-spf, smtpd
# client=, cleanup message-id=, opendkim, qmgr from=, disconnect, one
# delivery line per recipient - 88% sent at once over lmtp, 8% deferred by
# the remote smtp server then sent, 4% bounced with the bounce daemon's
# notification line - and qmgr removed).  Then, in one run:
#
#   1. ingest-log of the whole log into a copy of the journal: lines/s,
#      events stored and linked, transactions (count, mean and longest),
#      peak memory (max RSS, /usr/bin/time -v), CPU seconds (user and
#      system: the wall clock on a shared machine also counts the time
#      other processes held the CPUs);
#   2. pflogsumm over the same file (the Debian package; Perl), the
#      baseline: lines/s and the ratio;
#   3. ingest-log of the same file again: everything is a duplicate,
#      nothing is added (idempotence), and how fast that is;
#   4. ingest-log of the first tenth of the log into a fresh copy: its
#      peak memory next to the whole file's (memory must not grow with
#      the file);
#   5. the daemon's side: journal_bench submits durable message records
#      (durability full, 4 threads, INGEST_BENCH_RATE messages/s in all)
#      into a copy of the journal, alone, and again while ingest-log
#      backfills the log into the same file (stopped, by its PID, once
#      the live load is over); commit latency p50, p99 and maximum of
#      each, and submits not committed.
#
# Targets: at least 200,000 lines/s and faster than pflogsumm; memory
# bounded; the daemon's commit latency beside a backfill within its
# commit timeout (journal.commit_timeout, 5 s by default) with nothing
# lost.
#
# Environment:
#   INGEST_BENCH_MESSAGES   messages (default 1000000)
#   INGEST_BENCH_RATE       live messages per second for step 5 (default 200)
#   INGEST_BENCH_LIVE       live messages submitted in step 5 (default 3000)
#   INGEST_BENCH_DIR        where the files go (default: a new directory
#                           under ${TMPDIR:-/var/tmp}; about 8 GB for a
#                           million messages, copies included)
#   INGEST_BENCH_KEEP=1     keep the generated journal and log (and reuse
#                           them when the count matches)
#   top_srcdir, top_builddir   as set by make
#
# Not part of "make check": "make bench-ingest" runs it.  Processes it
# starts are ended by their recorded PIDs only.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
messages=${INGEST_BENCH_MESSAGES:-1000000}
rate=${INGEST_BENCH_RATE:-200}
live=${INGEST_BENCH_LIVE:-3000}
MT=$top_builddir/mailtrail
GEN=$top_builddir/tests/bench/cli_gen
JB=$top_builddir/tests/bench/journal_bench
TIME=/usr/bin/time

[ -x "$MT" ] || { echo "ingest-bench: build mailtrail first (make)" >&2; exit 2; }
for p in cli_gen journal_bench; do
	if [ ! -x "$top_builddir/tests/bench/$p" ]; then
		(cd "$top_builddir" && make "tests/bench/$p" >/dev/null) ||
		    { echo "ingest-bench: cannot build tests/bench/$p" >&2; exit 2; }
	fi
done
[ -x "$TIME" ] || { echo "ingest-bench: needs GNU time (apt-get install time)" >&2; exit 2; }
command -v pflogsumm >/dev/null ||
    { echo "ingest-bench: needs pflogsumm (apt-get install pflogsumm)" >&2; exit 2; }

if [ -n "${INGEST_BENCH_DIR:-}" ]; then
	dir=$INGEST_BENCH_DIR
	mkdir -p "$dir"
else
	dir=$(mktemp -d "${TMPDIR:-/var/tmp}/ingest-bench.XXXXXX")
fi
bg_pid=
cleanup()
{
	if [ -n "$bg_pid" ]; then
		kill "$bg_pid" 2>/dev/null || true
		wait "$bg_pid" 2>/dev/null || true
	fi
	rm -f "$dir"/work*.db* "$dir"/lat*.db* "$dir/tenth.log"
	if [ "${INGEST_BENCH_KEEP:-0}" != 1 ]; then
		rm -rf "$dir"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

db=$dir/journal.db
log=$dir/mail.log
# The generator writes UTC stamps; the parser reads classic stamps in TZ.
export TZ=UTC

# ---------------------------------------------------------------- data
if [ "${INGEST_BENCH_KEEP:-0}" = 1 ] && [ -f "$dir/samples" ] &&
    [ "$(cat "$dir/count" 2>/dev/null)" = "$messages" ]; then
	echo "# reusing the journal and log in $dir"
	# Schema 5 changed before release (its event indexes): a journal
	# generated before that would measure the old indexes.
	if [ -n "$(sqlite3 -readonly "$db" "SELECT name FROM sqlite_master
	    WHERE name = 'delivery_events_recipient'")" ]; then
		echo "ingest-bench: $db has the indexes of an earlier schema 5;" \
		    "remove $dir/count to generate it again" >&2
		exit 2
	fi
else
	echo "# generating $messages messages in $dir ..."
	t0=$EPOCHREALTIME
	"$GEN" "$db" "$log" "$messages" 30 1 delivery >"$dir/samples"
	t1=$EPOCHREALTIME
	echo "$messages" >"$dir/count"
	printf '# generated in %.0f s\n' "$(echo "$t1 - $t0" | bc)"
fi

# A fresh copy of the generated journal (its WAL is checkpointed).
fresh()
{
	rm -f "$1" "$1-wal" "$1-shm"
	cp "$db" "$1"
}

# From a "/usr/bin/time -v" report: seconds, max RSS in MB.
wall_s()
{
	awk -F': ' '/Elapsed \(wall clock\)/ {
		n = split($2, p, ":"); s = 0
		for (i = 1; i <= n; i++) s = s * 60 + p[i]
		printf "%.2f\n", s }' "$1"
}
# CPU seconds (user + system): on a shared machine the wall clock also
# counts the time others held the CPUs.
cpu_s()
{
	awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.1f\n", s }' "$1"
}
rss_mb()
{
	awk -F': ' '/Maximum resident set size/ { printf "%.1f\n", $2 / 1024 }' "$1"
}
# A number from ingest-log's --json output: json FILE total.lines
json()
{
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    d = d[k]
print(d if not isinstance(d, float) else "%.2f" % d)' "$1" "$2"
}
sql_count()
{
	sqlite3 -readonly "$1" "SELECT (SELECT count(*) FROM delivery_events) + (SELECT count(*) FROM queue_events)"
}
kv()
{
	sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" "$1"
}

lines=$(wc -l <"$log")
log_bytes=$(stat -c %s "$log")
echo "# load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# ingest-bench: $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)), $(stat -f -c %T "$dir") in $dir"
echo "# $messages messages; mail log: $lines lines ($(echo "scale=1; $lines / $messages" | bc) per message), $log_bytes bytes"
echo "# delivery lines: $(grep -c 'status=sent' "$log") sent, $(grep -c 'status=deferred' "$log") deferred, $(grep -c 'status=bounced' "$log") bounced"

# ---------------------------------------------------------------- 1. ingest
fresh "$dir/work.db"
sync
"$TIME" -v -o "$dir/time1" "$MT" ingest-log --json -j "$dir/work.db" "$log" \
    >"$dir/ingest1.json"
s1=$(json "$dir/ingest1.json" seconds)
lps1=$(json "$dir/ingest1.json" lines_per_second)
rss1=$(rss_mb "$dir/time1")
cpu1=$(cpu_s "$dir/time1")
stored=$(json "$dir/ingest1.json" total.stored)
linked=$(json "$dir/ingest1.json" total.linked)
txns=$(json "$dir/ingest1.json" transactions)
txn_mean=$(json "$dir/ingest1.json" transaction_ms_mean)
txn_max=$(json "$dir/ingest1.json" transaction_ms_max)

# ---------------------------------------------------------------- 2. pflogsumm
"$TIME" -v -o "$dir/time2" pflogsumm "$log" >"$dir/pflogsumm.out" 2>&1
s2=$(wall_s "$dir/time2")
lps2=$(echo "scale=0; $lines / $s2" | bc)
rss2=$(rss_mb "$dir/time2")
cpu2=$(cpu_s "$dir/time2")

# ---------------------------------------------------------------- 3. again
"$TIME" -v -o "$dir/time3" "$MT" ingest-log --json -j "$dir/work.db" "$log" \
    >"$dir/ingest3.json"
lps3=$(json "$dir/ingest3.json" lines_per_second)
stored3=$(json "$dir/ingest3.json" total.stored)
dup3=$(json "$dir/ingest3.json" total.duplicates)
rm -f "$dir/work.db" "$dir/work.db-wal" "$dir/work.db-shm"

# ---------------------------------------------------------------- 4. a tenth
head -n $((lines / 10)) "$log" >"$dir/tenth.log"
fresh "$dir/work2.db"
"$TIME" -v -o "$dir/time4" "$MT" ingest-log --json -j "$dir/work2.db" \
    "$dir/tenth.log" >"$dir/ingest4.json"
rss4=$(rss_mb "$dir/time4")
rm -f "$dir"/work2.db* "$dir/tenth.log"

# ---------------------------------------------------------------- 5. latency
fresh "$dir/lat1.db"
"$JB" full "$dir/lat1.db" "$live" 4 "$rate" >"$dir/lat1"
rm -f "$dir"/lat1.db*
fresh "$dir/lat2.db"
"$MT" ingest-log -j "$dir/lat2.db" "$log" >"$dir/ingest5.out" 2>&1 &
bg_pid=$!
sleep 3
"$JB" full "$dir/lat2.db" "$live" 4 "$rate" >"$dir/lat2"
if kill -0 "$bg_pid" 2>/dev/null; then
	overlap="the backfill ran throughout"
	# The live load is over: stop the backfill (its transactions are
	# whole; what it stored stays).
	kill "$bg_pid"
else
	overlap="WARNING: the backfill ended before the live load"
fi
wait "$bg_pid" || true
bg_pid=
backfilled=$(sql_count "$dir/lat2.db")
rm -f "$dir"/lat2.db*

# ---------------------------------------------------------------- report
echo
printf '%-44s %12s %10s %12s %8s\n' "" "lines/s" "seconds" "max RSS MB" "CPU s"
printf '%-44s %12.0f %10s %12s %8s\n' "mailtrail ingest-log" "$lps1" "$s1" "$rss1" "$cpu1"
printf '%-44s %12s %10s %12s %8s\n' "pflogsumm (same file, summary only)" "$lps2" "$s2" "$rss2" "$cpu2"
printf '%-44s %11.1fx\n' "ingest-log / pflogsumm" "$(echo "$lps1 / $lps2" | bc -l)"
printf '%-44s %12.0f %10s %12s %8s\n' "ingest-log again (all duplicates)" "$lps3" "$(json "$dir/ingest3.json" seconds)" "$(rss_mb "$dir/time3")" "$(cpu_s "$dir/time3")"
printf '%-44s %12s %10s %12s\n' "ingest-log of the first tenth" "" "" "$rss4"
echo
echo "# events stored: $stored, linked to a message: $linked ($(echo "scale=1; 100 * $linked / $stored" | bc)%)"
echo "# again: $stored3 stored, $dup3 duplicates ignored (want 0 and $stored)"
echo "# transactions: $txns, mean $txn_mean ms, longest $txn_max ms"
echo
echo "# the daemon's durable commits (journal_bench full, 4 threads, $rate msg/s, $live messages):"
printf '%-32s %10s %10s %10s %14s\n' "" "p50 ms" "p99 ms" "max ms" "not committed"
for f in lat1 lat2; do
	[ "$f" = lat1 ] && name="alone" || name="beside ingest-log"
	printf '%-32s %10.1f %10.1f %10.1f %14s\n' "$name" \
	    "$(echo "$(kv "$dir/$f" p50_us) / 1000" | bc -l)" \
	    "$(echo "$(kv "$dir/$f" p99_us) / 1000" | bc -l)" \
	    "$(echo "$(kv "$dir/$f" max_us) / 1000" | bc -l)" \
	    "$(kv "$dir/$f" not_committed)"
done
echo "# ($overlap; it stored $backfilled events by the end of the live load)"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
