#!/bin/bash
# cli-bench.sh - the mailtrail command on a million messages, next to grep
# over a Postfix mail log of the same messages.
#
# cli_gen writes a journal of CLI_BENCH_MESSAGES synthetic messages over 30
# days (about 3 recipients each, 5% of them rejected, 10% of messages
# failing SPF and 10% carrying a failing DKIM signature, 20,000 sender
# domains; see cli_gen.c) with the milter's schema, and the mail log a
# Postfix gateway with an SPF policy daemon and a DKIM verifier would have
# written for them.  Then, each as the median of CLI_BENCH_RUNS runs after
# one warm-up run (both files are in the page cache: this compares the
# work, not the disk), the wall time of the whole command, process start
# included:
#
#   show by tracking ID, by queue ID, by Message-ID   vs  grep -F for the
#       queue ID / the Message-ID over the log (one pass; in practice the
#       Message-ID search is followed by a second pass for the queue ID)
#   find --from one sender over all time              vs  grep -F "from=<..>"
#   find --from the busiest sender, --limit 0         vs  the same grep
#   audit over the whole window                       vs  one awk pass that
#       counts SPF failures per domain and DKIM failures per reason
#   stats over the whole window (for information)
#
# and the journal's size per message, with the share of each table and
# index (SQLite's dbstat).  Targets: every lookup under 50 ms, audit under
# 2 s, the journal under 1.5 KB per message.
#
# Environment:
#   CLI_BENCH_MESSAGES  messages (default 1000000)
#   CLI_BENCH_RUNS      runs per measurement (default 7)
#   CLI_BENCH_DIR       where the journal and log go (default: a new
#                       directory under ${TMPDIR:-/var/tmp}; about 3.5 GB
#                       for a million messages)
#   CLI_BENCH_KEEP=1    keep the files (and reuse them when the count
#                       matches)
#   CLI_BENCH_INDEX     extra SQL to apply to a copy of the journal and
#                       measure again (e.g. a candidate index)
#   top_srcdir, top_builddir   as set by make
#
# Not part of "make check": "make bench-cli" runs it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
messages=${CLI_BENCH_MESSAGES:-1000000}
runs=${CLI_BENCH_RUNS:-7}
MT=$top_builddir/mailtrail
GEN=$top_builddir/tests/bench/cli_gen

[ -x "$MT" ] || { echo "cli-bench: build mailtrail first (make)" >&2; exit 2; }
if [ ! -x "$GEN" ]; then
	(cd "$top_builddir" && make tests/bench/cli_gen >/dev/null) ||
	    { echo "cli-bench: cannot build tests/bench/cli_gen" >&2; exit 2; }
fi

if [ -n "${CLI_BENCH_DIR:-}" ]; then
	dir=$CLI_BENCH_DIR
	mkdir -p "$dir"
else
	dir=$(mktemp -d "${TMPDIR:-/var/tmp}/cli-bench.XXXXXX")
fi
if [ "${CLI_BENCH_KEEP:-0}" != 1 ]; then
	trap 'rm -rf "$dir"' EXIT INT TERM
fi
db=$dir/journal.db
log=$dir/mail.log

# ---------------------------------------------------------------- data
if [ "${CLI_BENCH_KEEP:-0}" = 1 ] && [ -f "$dir/samples" ] &&
    [ "$(cat "$dir/count" 2>/dev/null)" = "$messages" ]; then
	echo "# reusing the journal and log in $dir"
else
	echo "# generating $messages messages in $dir ..."
	t0=$EPOCHREALTIME
	"$GEN" "$db" "$log" "$messages" 30 1 >"$dir/samples"
	t1=$EPOCHREALTIME
	echo "$messages" >"$dir/count"
	printf '# generated in %.0f s\n' "$(echo "$t1 - $t0" | bc)"
fi
sample()
{
	sed -n "s/^sample $1 //p" "$dir/samples" | cut -d' ' -f1
}
track=$(sample track)
queue=$(sample queue)
msgid=$(sample msgid)
busiest=$(sample busiest_sender)
sender=$(sample sender)
busiest_n=$(sed -n 's/^sample busiest_sender [^ ]* //p' "$dir/samples")
sender_n=$(sqlite3 -readonly "$db" "SELECT count(*) FROM messages WHERE mail_from = '$sender' COLLATE NOCASE")
rcpt=$(sqlite3 -readonly "$db" "SELECT r.address FROM recipients r JOIN messages m ON m.id = r.message WHERE m.track_id = '$track' ORDER BY r.seq LIMIT 1")
rcpt_n=$(sqlite3 -readonly "$db" "SELECT count(DISTINCT message) FROM recipients WHERE address = '$rcpt' COLLATE NOCASE")

# ---------------------------------------------------------------- timing
# ms WALL: run "$@" once to warm up, then $runs times; print the median
# wall time in milliseconds (bash's EPOCHREALTIME: no fork to measure).
median_ms()
{
	local i t0 t1 times=()
	"$@" >/dev/null 2>&1 || true
	for ((i = 0; i < runs; i++)); do
		t0=$EPOCHREALTIME
		"$@" >/dev/null 2>&1 || true
		t1=$EPOCHREALTIME
		times+=("$(echo "($t1 - $t0) * 1000" | bc -l)")
	done
	printf '%s\n' "${times[@]}" | sort -n |
	    awk '{ a[NR] = $1 } END { printf "%.1f\n", a[int((NR + 1) / 2)] }'
}

# Not to /dev/null: GNU grep stops at the first match when its output is
# /dev/null, which would not be a search of the whole log.
grep_f()
{
	LC_ALL=C grep -F -- "$1" "$log" >"$dir/grep.out"
}

audit_log()
{
	LC_ALL=C awk '
	/Received-SPF: (Fail|Softfail|Permerror|Temperror)/ {
		d = $0; sub(/.*envelope-from=[^@]*@/, "", d); sub(/;.*/, "", d)
		spf[d]++
	}
	/ opendkim\[/ && !/successful|no signature/ {
		r = $0; sub(/^[^:]*:[^:]*:[^:]*: [^:]*: /, "", r); dkim[r]++
	}
	END { for (d in spf) n++; for (r in dkim) m++; print n, m }' "$log"
}

results=()
row()
{
	local name=$1 a=$2 b=$3 ratio
	if [ "$b" = "-" ]; then
		ratio="-"
	else
		ratio=$(echo "scale=0; $b / $a" | bc -l)x
	fi
	results+=("$(printf '%-44s %12s %12s %8s' "$name" "$a" "$b" "$ratio")")
}

run_set()
{
	local j=$1 a b
	a=$(median_ms "$MT" -j "$j" show "$track")
	b=$(median_ms grep_f "$queue")
	row "show by tracking ID  (grep: queue ID)" "$a" "$b"
	a=$(median_ms "$MT" -j "$j" show "$queue")
	row "show by queue ID     (grep: queue ID)" "$a" "$b"
	a=$(median_ms "$MT" -j "$j" show "$msgid")
	b=$(median_ms grep_f "message-id=$msgid")
	row "show by Message-ID   (grep: Message-ID)" "$a" "$b"
	a=$(median_ms "$MT" -j "$j" find --from "$sender")
	b=$(median_ms grep_f "from=<$sender>")
	row "find --from, $sender_n messages" "$a" "$b"
	a=$(median_ms "$MT" -j "$j" find --from "$busiest" --limit 0)
	b=$(median_ms grep_f "from=<$busiest>")
	row "find --from --limit 0, $busiest_n messages" "$a" "$b"
	a=$(median_ms "$MT" -j "$j" find --to "$rcpt")
	row "find --to, newest 50 of $rcpt_n messages" "$a" "-"
	a=$(median_ms "$MT" -j "$j" audit --all)
	b=$(median_ms audit_log)
	row "audit --all (grep: one awk pass)" "$a" "$b"
	a=$(median_ms "$MT" -j "$j" stats --all)
	row "stats --all" "$a" "-"
}

print_results()
{
	printf '%-44s %12s %12s %8s\n' "operation (median of $runs, ms)" \
	    "mailtrail" "grep" "ratio"
	printf '%s\n' "${results[@]}"
}

# ---------------------------------------------------------------- report
db_bytes=$(($(stat -c %s "$db") + $(stat -c %s "$db-wal" 2>/dev/null || echo 0)))
log_bytes=$(stat -c %s "$log")
rcpts=$(sqlite3 -readonly "$db" "SELECT count(*) FROM recipients")
rejected=$(sqlite3 -readonly "$db" "SELECT count(*) FROM recipients WHERE status = 'rejected'")
spf_fail=$(sqlite3 -readonly "$db" "SELECT count(*) FROM messages WHERE spf_result IN ('fail', 'softfail', 'permerror', 'temperror')")
domains=$(sqlite3 -readonly "$db" "SELECT count(DISTINCT domain) FROM spf_results WHERE identity = 'mailfrom'")

echo "# load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# cli-bench: $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)), $(stat -f -c %T "$dir") in $dir"
echo "# $messages messages, $rcpts recipients ($(echo "scale=2; $rcpts / $messages" | bc) per message, $(echo "scale=1; 100 * $rejected / $rcpts" | bc)% rejected), $domains sender domains, $(echo "scale=1; 100 * $spf_fail / $messages" | bc)% failing SPF"
echo "# journal: $db_bytes bytes, $((db_bytes / messages)) bytes per message (target < 1536)"
echo "# mail log: $log_bytes bytes, $((log_bytes / messages)) bytes per message"
echo "# samples: track $track, queue $queue, Message-ID $msgid"
echo "#          sender $sender ($sender_n messages), busiest $busiest ($busiest_n)"
if sqlite3 -readonly "$db" "SELECT 1 FROM dbstat LIMIT 1" >/dev/null 2>&1; then
	echo "# bytes per message by table and index (dbstat):"
	sqlite3 -readonly "$db" "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 12" |
	    awk -F'|' -v n="$messages" '{ printf "#   %-32s %6.0f\n", $1, $2 / n }'
fi
echo
run_set "$db"
print_results
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ -n "${CLI_BENCH_INDEX:-}" ]; then
	echo
	echo "# again with: $CLI_BENCH_INDEX"
	cp "$db" "$dir/indexed.db"
	sqlite3 "$dir/indexed.db" "$CLI_BENCH_INDEX"
	echo "# journal with it: $(($(stat -c %s "$dir/indexed.db") / messages)) bytes per message"
	results=()
	run_set "$dir/indexed.db"
	print_results
fi
