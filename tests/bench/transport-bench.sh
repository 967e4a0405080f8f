#!/bin/bash
# transport-bench.sh - what mailtrail-milter costs a real, private Postfix.
#
# smtp-source -> private Postfix (127.0.0.1 only) -> smtp-sink, with and
# without mailtrail-milter, over unix: and inet: sockets and with the
# options that change the transport (PITFALLS.md: "no reply" flags and
# TCP_NODELAY) or the journal (durability).  For each configuration it
# measures messages per second delivered to the sink, one message per SMTP
# session and ten messages per session, the daemon's CPU time per message
# (utime + stime of the whole process, all threads, from /proc/PID/stat),
# the whole machine's CPU time per message (from /proc/stat: it shows when
# other work on the machine disturbed a run) and the journal's bytes per
# message, and prints the median and the best of the runs with the ratio
# to Postfix without a milter, measured in the same run.
#
# The daemon runs with its built-in defaults (not the machine's
# configuration file) and the configuration's -o options; mt_start turns
# SPF and DKIM off, so that no test asks the machine's resolver: all rows
# but "unix-dkim" measure the transport and the journal, not the checks.
# (SPF would be skipped anyway: the loopback client is in the default
# trusted_networks; unsigned messages need no DKIM key lookup.)
#
# Method: runs are interleaved (run 1 of every configuration, then run 2,
# ...) so that a slow drift of the machine spreads over all of them.  Each
# run of each configuration starts a fresh daemon with a fresh journal and
# a fresh Postfix, sends a warm-up batch, then the two measured batches.
# A batch's time runs from starting smtp-source to the last delivery to
# the sink (the modification time of the sink's dump file, once the
# instance's maillog shows every "status=sent"), so it counts delivery,
# not just acceptance.  A run whose journal holds
# fewer messages than were sent, or whose maillog shows milter warnings, is
# flagged, and so is a batch whose messages reached the sink without the
# tracking header: Postfix passes mail untracked when it cannot reach the
# milter (default_action=accept), and that must not pass for a fast milter.
#
# Not part of "make check": it measures, it does not test.  Needs root (a
# private Postfix), postfix, smtp-source, smtp-sink, sqlite3, ss.  Uses
# loopback only; signals only the processes it started.

usage()
{
	cat <<EOF
usage: $0 [-hk] [-n runs] [-m messages] [-s sessions] [-l bytes]
	[-w warmup] [-c config,...] [-o results-file]
       $0 -t [-c config,...] results-file...

Measures mailtrail-milter's cost through a private Postfix: messages per
second delivered to smtp-sink (1 and 10 messages per SMTP session), the
ratio to Postfix without a milter, the daemon's CPU time per message and
the journal's bytes per message.  Prints the median of the runs.

  -n runs      runs of each configuration (default 3; env BENCH_RUNS)
  -m messages  messages per measured batch (default 2000)
  -s sessions  SMTP sessions in parallel (default 10)
  -l bytes     message body size, smtp-source -l (default 4096)
  -w warmup    warm-up messages before the batches of each run (default 200)
  -c list      configurations to run, comma-separated (default: all; the
               baseline always runs):
$(config_list | sed 's/^/                 /')
  -k           keep the temporary directory (maillogs, daemon logs, journals)
  -o file      also append the raw results (one line a batch) to file
  -t           print the table of earlier runs' raw results files (-o),
               pooled, and exit: runs made at different times, when the
               machine was busy, can be combined
  -h           this help

Environment:
  top_builddir  the build tree holding mailtrail-milter (default: ./_build
                if it exists, else the current directory)
  MT_MILTER     the daemon to run, overriding \$top_builddir/mailtrail-milter
  TMPDIR        where the Postfix queue and the journals go (default /tmp);
                use a real disk: on tmpfs fsync costs nothing

Example, from the source tree with a build in ./_build:
  sudo tests/bench/transport-bench.sh
  sudo top_builddir=/tmp/build tests/bench/transport-bench.sh -n 5 -m 4000
EOF
}

# ---------------------------------------------------------------- configurations
#
# name|transport|daemon options|description.  transport: none, unix or inet.

CONFIGS='baseline|none||Postfix alone, no milter
unix|unix||unix: defaults (NR flags on)
unix-nr-off|unix|-o milter.no_reply_flags=off|unix: no_reply_flags=off
inet|inet||inet: defaults (NODELAY, NR off)
inet-nodelay-off|inet|-o milter.tcp_nodelay=false|inet: tcp_nodelay=false
inet-nr-on|inet|-o milter.no_reply_flags=on|inet: no_reply_flags=on
unix-normal|unix|-o journal.durability=normal|unix: durability=normal
unix-dkim|unix|-o dkim.enabled=true|unix: DKIM on (its default)'

config_list()
{
	printf '%s\n' "$CONFIGS" | awk -F'|' '{ printf "%-17s %s\n", $1, $4 }'
}

config_field()		# NAME FIELD(2..4)
{
	printf '%s\n' "$CONFIGS" | awk -F'|' -v n="$1" -v f="$2" \
	    '$1 == n { print $f }'
}

# ---------------------------------------------------------------- the table

# print_table FILE...: the summary of raw result lines (see run_config),
# for the configurations in $configs that the files hold.
print_table()
{
	printf '%s\n' "$CONFIGS" | awk -v order="$configs" '
FILENAME == "-" {	# the configuration table
	split($0, f, "|")
	desc[f[1]] = f[4]
	next
}
function median(list,    a, n, t, i, j) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
	if (n == 0)
		return ""
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function best(list,    a, n, i, hi) {
	n = split(list, a, " ")
	hi = a[1]
	for (i = 2; i <= n; i++)
		if (a[i] + 0 > hi + 0) hi = a[i]
	return hi
}
function spread(list,    a, n, i, lo, hi, m) {	# (max - min) / median, %
	n = split(list, a, " ")
	lo = hi = a[1]
	for (i = 2; i <= n; i++) {
		if (a[i] + 0 < lo + 0) lo = a[i]
		if (a[i] + 0 > hi + 0) hi = a[i]
	}
	m = median(list)
	return m > 0 ? 100 * (hi - lo) / m : 0
}
{
	k = $1 SUBSEP $2
	rate[k] = rate[k] " " $4
	if ($5 != "-") cpu[k] = cpu[k] " " $5
	box[k] = box[k] " " $6
	if ($7 != "-" && $2 == 1) bpm[$1] = bpm[$1] " " $7
	if ($8 != "ok") flag[$1] = flag[$1] " " $8
	if ($1 == "baseline" && $2 == 1) runs++
}
END {
	printf "\n%-32s %-45s %-45s %6s\n", "", "  one message a session",
	    "  ten messages a session", "journal"
	printf "%-32s%s%s %6s\n", "configuration",
	    sprintf(" %6s %6s %6s %4s %6s %7s ", "msg/s", "x base", "best",
	    "rng%", "milter", "machine"),
	    sprintf(" %6s %6s %6s %4s %6s %7s ", "msg/s", "x base", "best",
	    "rng%", "milter", "machine"), "B/msg"
	m = split(order, names, " ")
	for (i = 1; i <= m; i++) {
		c = names[i]
		if (rate[c, 1] == "" && rate[c, 10] == "")
			continue
		line = sprintf("%-32s", desc[c])
		for (mode = 1; mode <= 10; mode += 9) {
			r = median(rate[c, mode])
			base = median(rate["baseline", mode])
			mc = cpu[c, mode] == "" ? "-" : \
			    sprintf("%.2f", median(cpu[c, mode]))
			line = line sprintf(" %6.0f %6.2f %6.0f %4.0f %6s %7.2f ",
			    r, (base > 0 ? r / base : 0), best(rate[c, mode]),
			    spread(rate[c, mode]), mc, median(box[c, mode]))
		}
		b = bpm[c] == "" ? "-" : sprintf("%d", median(bpm[c]))
		printf "%s %6s%s\n", line, b,
		    (flag[c] == "" ? "" : "  [!" flag[c] "]")
	}
	printf "\nmsg/s: delivered to smtp-sink, median of %d runs; x base:", runs
	printf " ratio of the medians to\nPostfix without a milter; best:"
	printf " the fastest run; rng%%: (max - min) / median; milter,\n"
	printf "machine: CPU ms per message (median), the daemon\047s (utime"
	printf " + stime, all threads)\nand the whole machine\047s (all"
	printf " processes, ours and others\047: a check on the run);\n"
	printf "journal: file bytes per message once the daemon has stopped.\n"
}' - "$@"
}

# ---------------------------------------------------------------- arguments

export LC_ALL=C		# "." in $EPOCHREALTIME, awk and date

runs=${BENCH_RUNS:-3}
messages=2000
sessions=10
length=4096
warmup=200
selected=
keep=0
save=
table_only=0
while getopts 'hkn:m:s:l:w:c:o:t' opt; do
	case $opt in
	h) usage; exit 0 ;;
	k) keep=1 ;;
	n) runs=$OPTARG ;;
	m) messages=$OPTARG ;;
	s) sessions=$OPTARG ;;
	l) length=$OPTARG ;;
	w) warmup=$OPTARG ;;
	c) selected=$OPTARG ;;
	o) save=$OPTARG ;;
	t) table_only=1 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if { [ "$table_only" = 1 ] && [ $# = 0 ]; } ||
    { [ "$table_only" = 0 ] && [ $# -gt 0 ]; }; then
	usage >&2
	exit 2
fi
for v in runs messages sessions length warmup; do
	if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
		echo "$0: $v must be a positive integer, got '${!v}'" >&2
		exit 2
	fi
done
# ten messages a session: whole smtp-source runs of SESSIONS * 10 messages
# (see send_batch)
per10=$((messages / (sessions * 10)))
if [ "$per10" -lt 1 ]; then
	echo "$0: -m $messages is less than ten messages for each of" \
	    "$sessions sessions" >&2
	exit 2
fi
messages10=$((per10 * sessions * 10))

configs=baseline
for c in $(printf '%s\n' "$CONFIGS" | cut -d'|' -f1); do
	[ "$c" = baseline ] && continue
	if [ -z "$selected" ] || [[ ,$selected, == *,$c,* ]]; then
		configs="$configs $c"
	fi
done
if [ -n "$selected" ]; then
	for c in ${selected//,/ }; do
		if [ -z "$(config_field "$c" 2)" ]; then
			echo "$0: unknown configuration '$c'; known:" >&2
			config_list >&2
			exit 2
		fi
	done
fi

if [ "$table_only" = 1 ]; then
	print_table "$@"
	exit
fi

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
if [ -z "${top_builddir:-}" ] && [ -d _build ]; then
	top_builddir=$(cd _build && pwd)
fi
: "${top_builddir:=$(pwd)}"
top_builddir=$(cd "$top_builddir" && pwd) || exit 2
export top_srcdir top_builddir

if [ "$(id -u)" != 0 ]; then
	echo "$0: needs root (it runs a private Postfix)" >&2
	exit 2
fi
for t in postfix postconf postmap postqueue smtp-source smtp-sink sqlite3 ss; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "$0: $t is not installed" >&2
		exit 2
	fi
done

# (checked before common.sh installs its exit trap, which keeps only the
# status 99 of bail_out)
if [ ! -x "${MT_MILTER:-$top_builddir/mailtrail-milter}" ]; then
	echo "$0: no daemon at ${MT_MILTER:-$top_builddir/mailtrail-milter};" \
	    "set top_builddir (or MT_MILTER)" >&2
	usage >&2
	exit 2
fi

# shellcheck source=../lib/common.sh
. "$top_srcdir/tests/lib/common.sh"
# shellcheck source=../lib/postfix.sh
. "$top_srcdir/tests/lib/postfix.sh"
# shellcheck source=../lib/milter.sh
. "$top_srcdir/tests/lib/milter.sh"

# This is a benchmark, not a TAP test: no plan line at exit.
# XXX reaches into common.sh's state; see the report for a lib change.
_tap_done=1
_tap_planned=0

[ "$keep" = 1 ] && export MT_KEEP_TMP=1

# ---------------------------------------------------------------- helpers

mt_tmpdir T
PF=$T/pf
RESULTS=$T/results
: >"$RESULTS"

SMTP_PORT='' SINK_PORT='' MILTER_PORT=''
free_port SMTP_PORT
free_port SINK_PORT
free_port MILTER_PORT
# The daemon's settings are its built-in defaults plus each
# configuration's -o options, whatever the machine's configuration file
# (SYSCONFDIR/mailtrail/mailtrail.conf) says.
MT_CONF=$T/mailtrail.conf
echo '# transport-bench: built-in defaults' >"$MT_CONF"
MT_HEADER=X-Mailtrail-ID	# tracking.header's default
FROM=from@example.org
RCPT=to@example.net
HELO=bench-client.example
CLK_TCK=$(getconf CLK_TCK)

# The sink appends every message to one dump file, truncated before each
# batch: its modification time is the time of the last delivery, to the
# file system's clock tick (Postfix's maillog_file has whole seconds only).
# The file lives on tmpfs when /dev/shm exists, so that the sink's writes
# do not share the disk with the journal's and the queue's fsyncs.
# (sink_start in postfix.sh dumps each message to a file of its own, more
# work for the sink, and names no single file to watch.)
bench_sink_pid=
bench_sink_start()
{
	local d
	if [ -d /dev/shm ] && d=$(mktemp -d /dev/shm/mailtrail-bench.XXXXXX)
	then
		at_exit rm -rf "$d"
	else
		d=$T/sinkdump
		mkdir -p "$d"
	fi
	SINK_DUMP=$d/dump
	if ! chown postfix "$d" || ! chmod 0755 "$d" || ! : >"$SINK_DUMP" ||
	    ! chown postfix "$SINK_DUMP"; then
		bail_out "cannot set up the sink's dump file $SINK_DUMP"
	fi
	if ! port_is_free "$SINK_PORT"; then
		bail_out "sink port $SINK_PORT is already taken"
	fi
	smtp-sink -4 -u postfix -h sink.mailtrail-test.example \
	    -D "$SINK_DUMP" "127.0.0.1:$SINK_PORT" 256 >"$T/sink.log" 2>&1 &
	bench_sink_pid=$!
	track_pid "$bench_sink_pid"
	wait_for 10 port_has_listener "$SINK_PORT" ||
	    bail_out "smtp-sink did not start: $(cat "$T/sink.log")"
	[ "$(port_listeners "$SINK_PORT")" = "$bench_sink_pid" ] ||
	    bail_out "sink port $SINK_PORT: listeners" \
	    "'$(port_listeners "$SINK_PORT" | tr '\n' ' ')', want only" \
	    "smtp-sink $bench_sink_pid"
}

bench_sink_stop()
{
	kill_wait "$bench_sink_pid" 5
	untrack_pid "$bench_sink_pid"
}

# Deliveries so far in this instance's maillog.
sent_count()
{
	grep -c ' status=sent ' "$PF/maillog"
}

# Wait until the maillog shows WANT deliveries; 1 on timeout, or as soon
# as a message was deferred or bounced (a retry would stall the batch).
wait_delivered()
{
	local want=$1 secs=$2 i
	for ((i = 0; i < secs * 20; i++)); do
		[ "$(sent_count)" -ge "$want" ] && return 0
		if grep -q -E ' status=(deferred|bounced) ' "$PF/maillog"; then
			diag "a message was deferred or bounced:"
			break
		fi
		sleep 0.05
	done
	diag "$(sent_count) of $want messages delivered after ${secs}s at most"
	diag "$(grep -E 'status=(deferred|bounced)|warning|error|fatal' \
	    "$PF/maillog" | tail -n 5)"
	return 1
}

# The time of the last delivery, in seconds since the epoch.
last_sent_time()
{
	stat -c %.9Y "$SINK_DUMP"
}

# utime + stime of a process, all threads, in clock ticks.
cpu_ticks()
{
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return 1; }
	stat=${stat##*) }
	# shellcheck disable=SC2086 # fields, split on purpose
	set -- $stat
	echo $((${12} + ${13}))
}

# Busy (non-idle, non-iowait) CPU time of the whole machine, in clock ticks:
# per message, a check on the run (other work on the machine shows up).
box_ticks()
{
	local user nice system irq softirq steal
	read -r _ user nice system _ _ irq softirq steal _ </proc/stat
	echo $((user + nice + system + irq + softirq + steal))
}

# Send one batch: MODE 1 (one message a session: smtp-source -s SESSIONS
# -m COUNT) or 10 (ten messages a session: smtp-source -d -s SESSIONS -m
# SESSIONS*10, run COUNT/(SESSIONS*10) times; with -d each session sends
# messages until the invocation's count is used up, ten each on average).
# One process per session would cost the client ~7 ms a session (fork,
# exec, loading Postfix's libraries): ~0.7 ms a message on a machine where
# Postfix itself needs ~4.5.  Returns smtp-source's failure.
send_batch()
{
	local mode=$1 count=$2 pids=() rc=0 p
	if [ "$mode" = 1 ]; then
		smtp-source -4 -s "$sessions" -m "$count" -l "$length" \
		    -M "$HELO" -f "$FROM" -t "$RCPT" "127.0.0.1:$SMTP_PORT" \
		    >>"$T/source.log" 2>&1 &
		pids=($!)
	else
		(
			for ((i = 0; i < count / (sessions * 10); i++)); do
				smtp-source -4 -d -s "$sessions" \
				    -m $((sessions * 10)) -l "$length" \
				    -M "$HELO" -f "$FROM" -t "$RCPT" \
				    "127.0.0.1:$SMTP_PORT" || exit 1
			done
		) >>"$T/source.log" 2>&1 &
		pids=($!)
	fi
	for p in "${pids[@]}"; do
		track_pid "$p"
	done
	for p in "${pids[@]}"; do
		wait "$p" || rc=1
		untrack_pid "$p"
	done
	[ "$rc" = 0 ] || diag "smtp-source failed: $(tail -n 3 "$T/source.log")"
	return $rc
}

# ---------------------------------------------------------------- one run

# run_config NAME RUN: prints nothing; appends result lines to $RESULTS:
#   NAME MODE RUN MSG_PER_S MILTER_CPU_MS MACHINE_CPU_MS BYTES_PER_MSG FLAG
run_config()
{
	local name=$1 run=$2 transport opts sock pf_sock journal mport
	local total=0 mode count t0 t1 c0 c1 rate line flag=ok
	local jcount bytes bpm cpu_ms b0 b1 box_ms hdrs
	transport=$(config_field "$name" 2)
	opts=$(config_field "$name" 3)
	[ -d "$PF" ] || [ "$run$name" = 1baseline ] ||
	    bail_out "work directory $T vanished (removed by someone else?)"

	# (pf_stop complains on stderr when there is no pid file yet)
	[ -f "$PF/queue/pid/master.pid" ] && pf_stop "$PF"
	journal=
	case $transport in
	unix)
		sock=unix:$T/milter.sock
		pf_sock=$sock
		;;
	inet)
		# the same port every time (free_port's ports are below the
		# ephemeral range; libmilter binds with SO_REUSEADDR)
		mport=$MILTER_PORT
		if ! port_is_free "$mport"; then
			bail_out "milter port $mport is taken:" \
			    "$(ss -Htanp "sport = :$mport" | head -n 3)"
		fi
		sock=inet:$mport@127.0.0.1
		pf_sock=inet:127.0.0.1:$mport
		;;
	*)
		sock=
		pf_sock=
		;;
	esac
	if [ -n "$sock" ]; then
		journal=$T/journal-$name-$run.db
		rm -f "$journal" "$journal-wal" "$journal-shm"
		# shellcheck disable=SC2086 # options, split on purpose
		mt_start "$T" "$sock" "$journal" -c "$MT_CONF" \
		    -o milter.socket_mode=0666 $opts || bail_out "mailtrail-milter did not start ($name)"
		if [ "$transport" = inet ] &&
		    [ "$(port_listeners "$mport")" != "$MT_PID" ]; then
			bail_out "milter port $mport: listeners" \
			    "'$(port_listeners "$mport" | tr '\n' ' ')'," \
			    "want only mailtrail-milter $MT_PID"
		fi
	fi
	pf_setup "$PF" "$SMTP_PORT" "$SINK_PORT" "$pf_sock" ||
	    bail_out "pf_setup failed"
	pf_start "$PF" || bail_out "private Postfix did not start ($name)"

	send_batch 1 "$warmup" || bail_out "warm-up failed ($name)"
	total=$((total + warmup))
	wait_delivered "$total" 120 || bail_out "warm-up not delivered ($name)"

	for mode in 1 10; do
		count=$messages
		[ "$mode" = 10 ] && count=$messages10
		sync
		sleep 0.5
		: >"$SINK_DUMP"
		c0=0
		[ -n "$sock" ] && c0=$(cpu_ticks "$MT_PID")
		b0=$(box_ticks)
		t0=$EPOCHREALTIME
		send_batch "$mode" "$count" || flag='source-failed'
		total=$((total + count))
		wait_delivered "$total" $((60 + count / 10)) ||
		    bail_out "batch not delivered ($name, $mode/session)"
		t1=$(last_sent_time)
		b1=$(box_ticks)
		box_ms=$(awk -v d=$((b1 - b0)) -v hz="$CLK_TCK" -v n="$count" \
		    'BEGIN { printf "%.2f", d * 1000 / hz / n }')
		cpu_ms=-
		if [ -n "$sock" ]; then
			c1=$(cpu_ticks "$MT_PID")
			hdrs=$(grep -c -i "^$MT_HEADER:" "$SINK_DUMP")
			if [ "$hdrs" != "$count" ]; then
				diag "$name run $run: $hdrs of $count messages" \
				    "reached the sink with $MT_HEADER"
				flag='header-missing'
			fi
			cpu_ms=$(awk -v d=$((c1 - c0)) -v hz="$CLK_TCK" \
			    -v n="$count" 'BEGIN { printf "%.3f", d * 1000 / hz / n }')
		fi
		rate=$(awk -v n="$count" -v a="$t0" -v b="$t1" \
		    'BEGIN { printf "%.1f", n / (b - a) }')
		line="$name $mode $run $rate $cpu_ms $box_ms"
		eval "res_$mode=\$line"
	done

	bpm=-
	if grep -q 'warning: .*[Mm]ilter' "$PF/maillog"; then
		diag "$name run $run: Postfix milter warnings:"
		diag "$(grep 'warning: .*[Mm]ilter' "$PF/maillog" | head -n 3)"
		flag='milter-warnings'
	fi
	pf_stop "$PF"
	if [ -n "$sock" ]; then
		mt_stop || diag "$name run $run: daemon exit status $?"
		jcount=$(sql "$journal" 'SELECT count(*) FROM messages')
		bytes=$(cat "$journal" "$journal-wal" 2>/dev/null | wc -c)
		if [ "$jcount" != "$total" ]; then
			diag "$name run $run: journal holds '$jcount' messages, want $total"
			flag='journal-short'
		fi
		[ "${jcount:-0}" -gt 0 ] &&
		    bpm=$(awk -v b="$bytes" -v n="$jcount" \
		    'BEGIN { printf "%d", b / n }')
		[ "$keep" = 1 ] || rm -f "$journal" "$journal-wal" "$journal-shm"
	fi
	# keep each run's maillog when asked (pf_setup truncates it)
	[ "$keep" = 1 ] && cp "$PF/maillog" "$T/maillog-$name-$run"
	for mode in 1 10; do
		line=res_$mode
		echo "${!line} $bpm $flag" >>"$RESULTS"
		# shellcheck disable=SC2086 # fields, split on purpose
		set -- ${!line}
		printf '# run %d/%d %-16s %2s/session %6s msg/s, CPU ms/msg: milter %5s, machine %5s; journal %s B/msg%s\n' \
		    "$run" "$runs" "$name" "$mode" "$4" "$5" "$6" "$bpm" \
		    "$([ "$flag" = ok ] || echo "  [$flag]")"
	done
}

# ---------------------------------------------------------------- the runs

echo "# transport-bench: $runs runs; batches of $messages messages (1 a session)" \
    "and $messages10 (10 a session), $sessions sessions, $length-byte bodies," \
    "$warmup warm-up"
echo "# Postfix $(postconf -d -h mail_version), $(mt_binary)," \
    "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# work directory $T ($(stat -f -c %T "$T"))"
[ "$(stat -f -c %T "$T")" = tmpfs ] &&
    echo "# WARNING: tmpfs: fsync costs nothing here; set TMPDIR to a disk"

bench_sink_start
t_start=$(elapsed_ms)
for ((run = 1; run <= runs; run++)); do
	for c in $configs; do
		run_config "$c" "$run"
	done
done
bench_sink_stop
echo "# finished in $((($(elapsed_ms) - t_start) / 1000)) s," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"

if [ -n "$save" ]; then
	cat "$RESULTS" >>"$save" && echo "# raw results appended to $save"
fi
print_table "$RESULTS"
