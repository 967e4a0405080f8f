# common.sh - TAP output and housekeeping for mailtrail's shell tests.
#
# Sourced by the scripts in tests/integration/.  Gives:
#   plan N / done_testing          the TAP plan, first or last
#   ok COND DESC / pass / fail     one test point; diag/note write "# ..." lines
#   is GOT WANT DESC               equality, with "got X, want Y" on failure
#   like GOT REGEX DESC            extended-regex match
#   skip_all REASON                "1..0 # SKIP REASON", exit 0
#   bail_out REASON                "Bail out! REASON", exit 99 (hard error)
#   require_root, require_tool     skip_all when the test cannot run here
#   mt_tmpdir VAR                  a private temporary directory, removed at exit
#   track_pid PID / untrack_pid    PIDs this test started; killed at exit
#   at_exit CMD                    extra cleanup, run in reverse order
#   free_port VAR                  a loopback TCP port nobody listens on,
#                                  reserved against other test runs
#   hold_ports SPEC...             hold tcp:PORT / udp:PORT as a machine's
#                                  own service would (HOLD_PID, tracked)
#   wait_for SECONDS CMD...        poll until CMD succeeds
#   elapsed_ms                     milliseconds since the script started
#
# Invariants: cleanup kills only the PIDs the test recorded, never by name;
# the exit status is 0 when the TAP output is complete (failures are "not
# ok" lines, counted by the TAP driver), 1 when the plan does not match the
# test points run, 99 after "Bail out!".  MT_TAP_STRICT=1 also exits 1 when
# a test point failed.
#
# Variables read: top_srcdir, top_builddir (exported by "make check"); when
# absent they are guessed from the script's location and the current
# directory.  MT_KEEP_TMP=1 keeps the temporary directory for inspection.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
export top_srcdir top_builddir

_tap_n=0		# test points emitted
_tap_failed=0		# of which failed
_tap_planned=	# the number from plan, if given first
_tap_done=0		# plan already printed at the end
_mt_pids=		# PIDs to kill at exit
_mt_exit_cmds=()	# cleanup commands, run last-in first-out
_mt_t0=$(date +%s%N)

# Sanitizer builds (./configure --enable-sanitizers; "make check" exports
# MT_SANITIZERS=yes and the ASAN_OPTIONS/UBSAN_OPTIONS below): every
# instrumented program this test starts -- the daemon in the background
# too, whose exit status nobody reads -- writes its AddressSanitizer,
# LeakSanitizer or UndefinedBehaviorSanitizer report into a directory of
# this test's own; at exit each report becomes a failed test point (with
# its first lines as diagnostics), so a sanitizer finding fails the test
# that provoked it.
_mt_san_dir=
if [ "${MT_SANITIZERS:-no}" = yes ]; then
	_mt_san_dir=$(mktemp -d "${TMPDIR:-/tmp}/mt-san.XXXXXX")
	MT_SAN_OPTS="halt_on_error=1:abort_on_error=0:exitcode=23:print_stacktrace=1"
	export ASAN_OPTIONS="${ASAN_OPTIONS:-$MT_SAN_OPTS:detect_leaks=1:disable_coredump=1}:log_path=$_mt_san_dir/asan"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-$MT_SAN_OPTS}:log_path=$_mt_san_dir/ubsan"
fi

# One failed test point per sanitizer report found (called at exit).
_mt_san_reports()
{
	local f
	[ -n "$_mt_san_dir" ] && [ -d "$_mt_san_dir" ] || return 0
	for f in "$_mt_san_dir"/*; do
		[ -f "$f" ] || continue
		echo "not ok $((++_tap_n)) - sanitizer report ${f##*/}"
		_tap_failed=$((_tap_failed + 1))
		sed -n '1,40s/^/# /p' "$f"
	done
	rm -rf "$_mt_san_dir"
}

plan()
{
	_tap_planned=$1
	echo "1..$1"
}

done_testing()
{
	if [ -z "$_tap_planned" ]; then
		echo "1..$_tap_n"
		_tap_planned=$_tap_n
	fi
	_tap_done=1
}

diag()
{
	local line
	printf '%s\n' "$*" | while IFS= read -r line; do
		printf '# %s\n' "$line"
	done
}

note()
{
	diag "$@"
}

# ok STATUS DESCRIPTION: STATUS is a shell truth value (0 = pass), so
# "ok $? desc" and "ok $(( a == b ? 0 : 1 )) desc" both work.
ok()
{
	local status=$1
	shift
	_tap_n=$((_tap_n + 1))
	if [ "$status" = 0 ]; then
		echo "ok $_tap_n - $*"
		return 0
	fi
	echo "not ok $_tap_n - $*"
	_tap_failed=$((_tap_failed + 1))
	return 1
}

pass()
{
	ok 0 "$@"
}

fail()
{
	ok 1 "$@"
}

is()
{
	local got=$1 want=$2
	shift 2
	if [ "$got" = "$want" ]; then
		ok 0 "$@"
		return 0
	fi
	ok 1 "$@"
	diag "got '$got', want '$want'"
	return 1
}

like()
{
	local got=$1 re=$2
	shift 2
	if [[ $got =~ $re ]]; then
		ok 0 "$@"
		return 0
	fi
	ok 1 "$@"
	diag "got '$got', want a match for /$re/"
	return 1
}

skip_all()
{
	echo "1..0 # SKIP $*"
	_tap_done=1
	_tap_planned=0
	exit 0
}

bail_out()
{
	echo "Bail out! $*"
	_tap_failed=$((_tap_failed + 1))
	_tap_done=1
	exit 99
}

require_root()
{
	[ "$(id -u)" = 0 ] || skip_all "needs root (runs a private Postfix)"
}

require_tool()
{
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || skip_all "$t not installed"
	done
}

track_pid()
{
	_mt_pids="$_mt_pids $1"
}

untrack_pid()
{
	local p rest=
	for p in $_mt_pids; do
		[ "$p" = "$1" ] || rest="$rest $p"
	done
	_mt_pids=$rest
}

at_exit()
{
	_mt_exit_cmds+=("$*")
}

# Kill one PID we started: TERM, up to $2 seconds (default 5), then KILL.
kill_wait()
{
	local pid=$1 secs=${2:-5} i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

_mt_cleanup()
{
	local status=$? i p
	trap - EXIT INT TERM HUP
	for ((i = ${#_mt_exit_cmds[@]} - 1; i >= 0; i--)); do
		eval "${_mt_exit_cmds[$i]}" >/dev/null 2>&1
	done
	for p in $_mt_pids; do
		kill_wait "$p" 5
	done
	_port_release
	if [ -n "$_mt_tmp" ] && [ -d "$_mt_tmp" ]; then
		if [ "${MT_KEEP_TMP:-0}" = 1 ] || { [ "$_tap_failed" -gt 0 ] &&
		    [ "${MT_KEEP_TMP_ON_FAIL:-0}" = 1 ]; }; then
			echo "# kept $_mt_tmp"
		else
			# a process that was just stopped may still have
			# been writing: try again once
			rm -rf "$_mt_tmp" 2>/dev/null ||
			    { sleep 1; rm -rf "$_mt_tmp"; }
		fi
	fi
	if [ -n "$_mt_signal" ]; then
		[ "$_tap_done" = 1 ] || echo "Bail out! interrupted by SIG$_mt_signal"
		exit "$status"
	fi
	_mt_san_reports
	if [ "$_tap_done" = 0 ]; then
		done_testing
	fi
	if [ "$status" = 99 ]; then
		exit 99
	fi
	# Failures are in the TAP stream; the driver counts them.  A non-zero
	# status would make automake's driver report an ERROR on top of each
	# FAIL, so it is kept for a broken run (plan mismatch), or for every
	# failure when MT_TAP_STRICT=1 (running a script by hand).
	if [ "$_tap_planned" != "$_tap_n" ]; then
		exit 1
	fi
	if [ "$_tap_failed" -gt 0 ] && [ "${MT_TAP_STRICT:-0}" = 1 ]; then
		exit 1
	fi
	exit 0
}
trap _mt_cleanup EXIT
_mt_signal=
trap '_mt_signal=INT; exit 130' INT
trap '_mt_signal=TERM; exit 143' TERM
trap '_mt_signal=HUP; exit 129' HUP

# mt_tmpdir VAR: a temporary directory for this run, its path stored in
# VAR.  Without VAR the path is printed, but then the call must not run in
# a subshell (the exit trap must learn the path): "mt_tmpdir >/dev/null;
# T=$_mt_tmp", not "T=$(mt_tmpdir)".  World-searchable, since the postfix
# user must reach the sink dump directory and the milter socket inside it.
mt_tmpdir()
{
	if [ -z "$_mt_tmp" ]; then
		_mt_tmp=$(mktemp -d "${TMPDIR:-/tmp}/mailtrail-test.XXXXXX") ||
		    bail_out "mktemp failed"
		chmod 0755 "$_mt_tmp"
	fi
	if [ -n "$1" ]; then
		printf -v "$1" '%s' "$_mt_tmp"
	else
		echo "$_mt_tmp"		# old form: "mt_tmpdir >/dev/null; T=$_mt_tmp"
	fi
}

# 0 when nothing listens on TCP PORT at any address.  A bound-but-listening
# socket is what matters: Postfix's master uses SO_REUSEPORT, so binding a
# taken port succeeds silently and the kernel then splits the connections.
port_is_free()
{
	local port=$1
	[ -z "$(ss -Htln "sport = :$port" 2>/dev/null)" ] || return 1
	# also refuse ports with a live connection to them (e.g. a listener in
	# another network namespace is invisible, but a client is not)
	[ -z "$(ss -Htn state established "sport = :$port" 2>/dev/null)" ]
}

# free_port VAR: a free port from 20000-32767 (below the ephemeral range),
# chosen at random, checked and reserved, stored in VAR (printed without
# VAR).  The reservation is a file MT_PORT_DIR/PORT holding this test's
# PID, created exclusively and removed at exit: two test runs at once on
# one machine never pick the same port, even between the check and the
# moment the port is bound (a port whose file exists is skipped; one left
# by a test that was killed stays skipped until a test with the same PID
# ends).  Other programs may still take a port meanwhile: the start
# functions check again that the listener on the port is theirs.
MT_PORT_DIR=${MT_PORT_DIR:-/tmp/mailtrail-test-ports}

_port_reserve()
{
	if [ ! -d "$MT_PORT_DIR" ]; then
		mkdir -p "$MT_PORT_DIR" 2>/dev/null &&
		    chmod 1777 "$MT_PORT_DIR" 2>/dev/null
	fi
	# without a writable directory, the check alone (as before)
	[ -w "$MT_PORT_DIR" ] || return 0
	(set -o noclobber; echo "$$" >"$MT_PORT_DIR/$1") 2>/dev/null
}

# At exit: the reservations of this test (also those made in subshells).
_port_release()
{
	local f
	[ -d "$MT_PORT_DIR" ] || return 0
	for f in $(grep -lx "$$" "$MT_PORT_DIR"/[0-9]* 2>/dev/null); do
		rm -f "$f"
	done
}

free_port()
{
	local i port
	for ((i = 0; i < 200; i++)); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
		case " $_mt_ports " in *" $port "*) continue ;; esac
		if port_is_free "$port" && _port_reserve "$port"; then
			_mt_ports="$_mt_ports $port"
			if [ -n "$1" ]; then
				printf -v "$1" '%s' "$port"
			else
				echo "$port"	# old form, in $(...): not remembered
			fi
			return 0
		fi
	done
	bail_out "no free TCP port found"
}

# hold_ports SPEC...: a process of ours holding each tcp:PORT / udp:PORT on
# every address (tests/lib/holdports.py), as the machine's own services
# would; a port someone else holds already is just as good.  Sets HOLD_PID
# (tracked: killed at exit) and HOLD_OUT (its "held ..."/"taken ..."
# lines).  1 when it did not get ready.
HOLD_PID=
HOLD_OUT=
hold_ports()
{
	local t
	t=$_mt_tmp
	[ -n "$t" ] || mt_tmpdir t
	HOLD_OUT=$t/holdports.$RANDOM.out
	python3 "$top_srcdir/tests/lib/holdports.py" "$@" >"$HOLD_OUT" 2>&1 &
	HOLD_PID=$!
	track_pid "$HOLD_PID"
	wait_for 10 grep -qx ready "$HOLD_OUT" && return 0
	diag "holdports.py did not get ready: $(cat "$HOLD_OUT")"
	return 1
}

# PIDs of the processes listening on TCP PORT, one a line.
port_listeners()
{
	ss -Htlnp "sport = :$1" 2>/dev/null |
	    grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u
}

port_has_listener()
{
	! port_is_free "$1"
}

# wait_for SECONDS CMD [ARGS...]: poll CMD every 0.1 s; 0 when it succeeded.
wait_for()
{
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

elapsed_ms()
{
	echo $((($(date +%s%N) - _mt_t0) / 1000000))
}

# sql DB QUERY: run one query with sqlite3, read-only, '|' separated, with a
# busy timeout so a live writer does not make it fail.
sql()
{
	sqlite3 -readonly -cmd '.timeout 5000' "$1" "$2"
}
