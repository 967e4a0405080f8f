# milter.sh - run the built mailtrail-milter for a test.
#
# Sourced after common.sh.
#
#   mt_binary			path of the daemon: $MT_MILTER, else
#				$top_builddir/mailtrail-milter
#   mt_start DIR SOCKET JOURNAL [ARG...]
#	start "mailtrail-milter -f -p SOCKET -j JOURNAL ARG..." (SPF and
#	DKIM off unless ARG turns them on again) in the
#	background, stderr and stdout appended to DIR/milter.log, and wait
#	(up to 15 s) until it listens on SOCKET (unix:/path or
#	inet:PORT@127.0.0.1).  ARG are passed as given, e.g. -o key=value.
#	Sets MT_PID.  Returns 1 (and prints the log) if it exits or never
#	listens.
#   mt_stop			SIGTERM, wait up to 15 s; returns the exit status,
#				or 124 if it had to be killed.
#   mt_kill9			SIGKILL, no goodbye.
#   mt_running			0 while the daemon we started is alive
#
# Invariant: only the PID we started is ever signalled; it is registered
# with track_pid so the exit trap removes it if a test fails.

MT_PID=
_mt_log=
_mt_sock=

mt_binary()
{
	echo "${MT_MILTER:-$top_builddir/mailtrail-milter}"
}

mt_running()
{
	[ -n "$MT_PID" ] && kill -0 "$MT_PID" 2>/dev/null
}

# 0 when the daemon MT_PID listens on the socket.
_mt_listening()
{
	local spec=$1 path port
	mt_running || return 2
	case $spec in
	unix:* | local:*)
		path=${spec#*:}
		[ -S "$path" ] || return 1
		ss -Hxlp 2>/dev/null | grep -F " $path " |
		    grep -q "pid=$MT_PID,"
		;;
	inet:*)
		port=${spec#inet:}
		port=${port%%@*}
		port_listeners "$port" | grep -qx "$MT_PID"
		;;
	*)
		return 1
		;;
	esac
}

mt_start()
{
	local dir=$1 sock=$2 journal=$3 bin i
	shift 3
	bin=$(mt_binary)
	if [ ! -x "$bin" ]; then
		diag "no daemon at $bin"
		return 1
	fi
	_mt_log=$dir/milter.log
	_mt_sock=$sock
	echo "=== $(date -u +%FT%T.%NZ) start: -f -p $sock -j $journal $*" \
	    >>"$_mt_log"
	# Tests stay hermetic: no SPF or DKIM lookups through the machine's
	# resolver unless a test turns them on (later -o options win); the
	# SPF/DKIM tests run against their own DNS server (tests/lib/dns.sh).
	"$bin" -f -p "$sock" -j "$journal" -o spf.enabled=false \
	    -o dkim.enabled=false "$@" >>"$_mt_log" 2>&1 &
	MT_PID=$!
	track_pid "$MT_PID"
	for ((i = 0; i < 150; i++)); do
		_mt_listening "$sock"
		case $? in
		0) return 0 ;;
		2) break ;;
		esac
		sleep 0.1
	done
	if mt_running; then
		diag "mailtrail-milter (pid $MT_PID) not listening on $sock after 15 s"
	else
		wait "$MT_PID"
		diag "mailtrail-milter exited with status $? at start"
	fi
	diag "$(tail -n 30 "$_mt_log")"
	return 1
}

mt_stop()
{
	local pid=$MT_PID i status
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 150; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		diag "mailtrail-milter (pid $pid) still running 15 s after SIGTERM; killing it"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		status=124
	else
		wait "$pid" 2>/dev/null
		status=$?
	fi
	untrack_pid "$pid"
	MT_PID=
	echo "=== $(date -u +%FT%T.%NZ) stopped: status $status" >>"$_mt_log"
	return "$status"
}

mt_kill9()
{
	local pid=$MT_PID
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	untrack_pid "$pid"
	MT_PID=
	echo "=== $(date -u +%FT%T.%NZ) killed with SIGKILL" >>"$_mt_log"
	return 0
}
