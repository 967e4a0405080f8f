#!/bin/sh
# journal-bench.sh - throughput of the mailtrail journal on a real SQLite file.
#
# Writes synthetic message records (one connection and three recipients
# each) through the journal (journal.c + store_sqlite.c) with durability
# full and 1, 4 and 16 concurrent submitters, and with durability normal;
# and, in the same run, a baseline without the journal: plain SQLite
# inserts into the same schema, one transaction (with fsync) per message.
# Prints messages per second, the ratio to the baseline, store commits,
# records per commit, submit latency (full) and file bytes per message.
#
# Environment:
#   JOURNAL_BENCH_RECORDS  records per case (default 5000)
#   JOURNAL_BENCH_DIR      where the journals are written (default: a new
#                          directory under ${TMPDIR:-/var/tmp}); put it on
#                          the disk you care about: on tmpfs fsync is free
#   BENCH_BIN              a journal_bench binary to use; otherwise
#                          $top_builddir/tests/bench/journal_bench, else one
#                          is compiled from the sources with ${CC:-cc}
#   top_srcdir, top_builddir   as set by "make check"
#
# Not part of "make check": it measures, it does not test.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
records=${JOURNAL_BENCH_RECORDS:-5000}

work=$(mktemp -d "${TMPDIR:-/var/tmp}/journal-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
dir=${JOURNAL_BENCH_DIR:-$work}

# ---------------------------------------------------------------- the driver
bin=${BENCH_BIN:-}
if [ -z "$bin" ] && [ -x "$top_builddir/tests/bench/journal_bench" ]; then
	bin=$top_builddir/tests/bench/journal_bench
fi
if [ -z "$bin" ]; then
	if [ -f "$top_builddir/config.h" ]; then
		cp "$top_builddir/config.h" "$work/config.h"
	else
		version=$(sed -n 's/^AC_INIT(\[mailtrail\], \[\([^]]*\)\].*/\1/p' \
		    "$top_srcdir/configure.ac")
		printf '#define PACKAGE_NAME "mailtrail"\n#define PACKAGE_VERSION "%s"\n#define _GNU_SOURCE 1\n' \
		    "${version:-unknown}" >"$work/config.h"
	fi
	src=$top_srcdir/src
	# shellcheck disable=SC2046,SC2086
	${CC:-cc} -O2 -pthread -I"$work" -I"$top_srcdir/include" \
	    -o "$work/journal_bench" "$top_srcdir/tests/bench/journal_bench.c" \
	    "$src/journal.c" "$src/store_sqlite.c" "$src/schema.c" \
	    "$src/record.c" "$src/delivery.c" "$src/bytes.c" "$src/clock.c" \
	    "$src/escape.c" \
	    "$src/log.c" "$src/stats.c" $(pkg-config --cflags --libs sqlite3)
	bin=$work/journal_bench
fi

# ---------------------------------------------------------------- the runs
fstype=$(stat -f -c %T "$dir" 2>/dev/null || echo unknown)
echo "# journal-bench: $records records per case, 3 recipients each"
echo "# directory $dir ($fstype), $(nproc 2>/dev/null || echo '?') CPUs," \
    "SQLite $(pkg-config --modversion sqlite3 2>/dev/null || echo '?')"
[ "$fstype" = tmpfs ] && echo "# WARNING: tmpfs: fsync costs nothing here"

results=$work/results
: >"$results"
n=0
run() {	# mode threads
	n=$((n + 1))
	db=$dir/bench-$n.db
	rm -f "$db" "$db-wal" "$db-shm"
	"$bin" "$1" "$db" "$records" "$2" >>"$results"
	rm -f "$db" "$db-wal" "$db-shm"
}
run raw 1
run full 1
run full 4
run full 16
run normal 1
run normal 16

awk '
function field(name,    i, kv) {
	for (i = 1; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] == name)
			return kv[2]
	}
	return ""
}
{
	mode[NR] = field("mode"); thr[NR] = field("threads")
	rate[NR] = field("msg_per_s"); commits[NR] = field("commits")
	recs[NR] = field("records"); p50[NR] = field("p50_us")
	p99[NR] = field("p99_us"); bpm[NR] = field("bytes_per_msg")
	if (mode[NR] == "raw")
		base = rate[NR]
}
END {
	printf "%-22s %9s %8s %8s %11s %15s %9s\n", "case", "msg/s", "x raw",
	    "commits", "recs/commit", "p50/p99 ms", "bytes/msg"
	for (i = 1; i <= NR; i++) {
		if (mode[i] == "raw")
			name = "raw sqlite (baseline)"
		else
			name = sprintf("%s, %d submitter%s", mode[i], thr[i],
			    thr[i] > 1 ? "s" : "")
		lat = "-"
		if (mode[i] == "full")
			lat = sprintf("%.2f/%.2f", p50[i] / 1000, p99[i] / 1000)
		ratio = base > 0 ? rate[i] / base : 0
		printf "%-22s %9d %8.2f %8d %11.1f %15s %9d\n", name, rate[i],
		    ratio, commits[i], recs[i] / commits[i], lat, bpm[i]
	}
}' "$results"
