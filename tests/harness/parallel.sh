#!/bin/bash
# parallel.sh - a test of the test harness: two "./dev check" runs at once on
# one machine, with ports 25, 53 and 587 taken, must both pass.
#
#   make check-harness                 (in _build/; needs root; ~20 minutes)
#   bash tests/harness/parallel.sh [--host-network]
#
# What it does:
#   1. copies this source tree twice (the files git knows of, committed or
#      not, and untracked ones it does not ignore) into a temporary
#      directory: two clones with their own _build;
#   2. holds tcp:25, tcp:53, udp:53 and tcp:587 on every address with a
#      listener of its own (tests/lib/holdports.py), as a gateway's MTA,
#      DNS server and submission service would;
#   3. runs "./dev check" in both copies at once, and checks that both exit
#      0, that the last line of each is "N passed, 0 failed, N skipped",
#      and that the listener ran throughout.
#
# By default steps 2 and 3 run in a network namespace of their own (lo
# only): holding the machine's real ports 25 and 587 for twenty minutes
# could take them from a service restarting meanwhile, or fail another
# test run of the machine.  The suites then share that namespace (the same
# ports, the same loopback) and the machine's file system (/tmp, the
# Sendmail package cache, /etc/netns, the port reservations): what two
# runs at once share.  --host-network runs them on the machine's own
# network instead, holding those ports where they are free (for a
# dedicated test machine).
#
# The corpus: when this tree finds one (MT_CORPUS, else ../shared/corpus),
# both copies get it through MT_CORPUS.  MT_HARNESS_TIMEOUT bounds each
# suite (seconds, default 3600).  MT_HARNESS_CHECK replaces "./dev check"
# (a shell command run in each copy: to try this script quickly).  MT_KEEP_TMP=1 keeps the copies and their
# logs (they are kept anyway when a suite failed: see the last lines).
#
# Not part of "make check" nor CI: it runs the whole suite twice.

# ---------------------------------------------------------------- inside
# "parallel.sh --inner DIR": hold the ports, run both suites, write
# DIR/{a,b}.rc and DIR/{a,b}.out and DIR/holder.{out,alive}.  Runs without
# common.sh (no TAP here: the outer script reports); ends what it started
# by recorded PID.
if [ "${1:-}" = --inner ]; then
	dir=$2
	here=$(cd "$(dirname "$0")/../.." && pwd)
	[ "${3:-}" = --netns ] && ip link set lo up
	python3 "$here/tests/lib/holdports.py" tcp:25 tcp:53 udp:53 tcp:587 \
	    >"$dir/holder.out" 2>&1 &
	holder=$!
	for ((i = 0; i < 100; i++)); do
		grep -qx ready "$dir/holder.out" && break
		sleep 0.1
	done
	ss -Htlnu 'sport = :25 or sport = :53 or sport = :587' \
	    >"$dir/ports.before" 2>&1
	# stopped early: end what we started, by PID (timeout passes the
	# signal on to the suite it runs, whose tests clean up after
	# themselves)
	pids=
	trap 'kill -TERM $pids $holder 2>/dev/null; wait; exit 143' TERM INT HUP
	for c in a b; do
		(
			cd "$dir/$c" || exit 1
			exec env -u top_srcdir -u top_builddir -u MT_MILTER \
			    -u MT_TEST_OPTS timeout -k 60 "${MT_HARNESS_TIMEOUT:-3600}" \
			    sh -c "${MT_HARNESS_CHECK:-./dev check}"
		) >"$dir/$c.out" 2>&1 </dev/null &
		pids="$pids $!"
		echo "$!" >"$dir/$c.pid"
	done
	for c in a b; do
		wait "$(cat "$dir/$c.pid")"
		echo "$?" >"$dir/$c.rc"
	done
	if kill -0 "$holder" 2>/dev/null; then
		echo yes >"$dir/holder.alive"
	else
		echo no >"$dir/holder.alive"
	fi
	kill -TERM "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
	exit 0
fi

# ---------------------------------------------------------------- outside
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# run by hand or by make, not by a TAP driver: a failed test point fails
# the command
: "${MT_TAP_STRICT:=1}"
export MT_TAP_STRICT
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/postfix.sh"
. "$top_srcdir/tests/lib/sendmail.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (the suites start Postfix, Sendmail, namespaces)"
require_tool git tar python3 ss timeout unshare ip
netns=1
[ "${1:-}" = --host-network ] && netns=0

mt_tmpdir T
src=$(cd "$top_srcdir" && pwd)

# The Sendmail packages, once, while the network is the machine's: inside
# the namespace there is none, and the suites would skip their Sendmail
# tests.
sm_fetch || note "Sendmail packages unavailable ($SM_SKIP_REASON): its tests will skip"

corpus=${MT_CORPUS:-$src/../shared/corpus}
if [ -d "$corpus" ]; then
	MT_CORPUS=$(cd "$corpus" && pwd)
	export MT_CORPUS
	note "corpus: $MT_CORPUS"
else
	unset MT_CORPUS
	note "corpus: none beside this tree (both suites will say so)"
fi

for c in a b; do
	mkdir -p "$T/$c"
	git -C "$src" ls-files -z --cached --others --exclude-standard |
	    (cd "$src" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
	    tar -C "$src" --null -T - -cf - | tar -C "$T/$c" -xf -
	[ -x "$T/$c/dev" ] && [ -f "$T/$c/configure.ac" ]
	ok $? "copy $c of the source tree in $T/$c"
done

t0=$(elapsed_ms)
if [ "$netns" = 1 ]; then
	note "both suites in a network namespace of their own; ports 25, 53, 587 held there"
	unshare -n -- bash "$0" --inner "$T" --netns &
else
	note "both suites on the machine's network; ports 25, 53, 587 held where free"
	bash "$0" --inner "$T" &
fi
inner=$!
track_pid "$inner"
wait "$inner"
untrack_pid "$inner"
note "both suites took $((($(elapsed_ms) - t0) / 1000)) s"

note "ports while the suites ran:"
note "$(cat "$T/holder.out")"
note "$(cat "$T/ports.before")"
for p in 25 53 587; do
	grep -q ":$p " "$T/ports.before"
	ok $? "port $p was taken while the suites ran"
done
is "$(cat "$T/holder.alive" 2>/dev/null)" yes \
    "the listener holding them ran throughout (nothing killed it)"

failed=0
for c in a b; do
	rc=$(cat "$T/$c.rc" 2>/dev/null)
	last=$(tail -n 1 "$T/$c.out")
	note "suite $c: $(tail -n 2 "$T/$c.out" | head -n 1)"
	note "suite $c: $last"
	is "$rc" 0 "suite $c: ./dev check exits 0" || failed=1
	like "$last" '^[0-9]+ passed, 0 failed, [0-9]+ skipped$' \
	    "suite $c: its last line is the totals, nothing failed" || failed=1
	like "$(tail -n 2 "$T/$c.out" | head -n 1)" '^corpus: ' \
	    "suite $c: the corpus line comes just before the totals"
done
if [ "$failed" = 1 ]; then
	for c in a b; do
		diag "---- suite $c, failures:"
		diag "$(grep -E '^(FAIL|ERROR|# kept|---- )' "$T/$c.out" | head -n 40)"
	done
	MT_KEEP_TMP=1
fi
done_testing
