#!/bin/bash
# sendmail-ports.sh - the private Sendmail and the ports it must not take.
#
# 1. A port the instance must open is taken (by a listener of ours, as the
#    machine's own submission service took port 587 before the instance
#    stopped opening Sendmail's default MSA): sm_start fails, and sm_stop
#    then ends every process of the instance and nothing else.  An
#    unrelated process of ours (a sleep in our own namespaces) and the
#    listener survive; the test itself survives (it would not, were
#    cleanup to kill by namespace and take the host's for Sendmail's).
# 2. Ports 25 and 587 taken on every address (by us, or already by the
#    machine): the instance starts anyway and listens on its own loopback
#    port only.
#
# The test runs in a network namespace of its own (lo only), so that
# holding ports 25 and 587 cannot disturb the machine's services nor
# another test run.  Needs root and the Sendmail packages
# (tests/lib/sendmail.sh); skips otherwise.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
if [ "${1:-}" != --in-netns ] && [ "$(id -u)" = 0 ] &&
    command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1; then
	export top_srcdir
	exec unshare -n -- sh -c 'ip link set lo up && exec bash "$0" --in-netns' "$0"
fi
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/postfix.sh"
. "$top_srcdir/tests/lib/sendmail.sh"

[ "$(id -u)" = 0 ] ||
    skip_all "needs root (runs a private Sendmail in its own namespaces)"
require_tool ss python3 unshare ip
[ "${1:-}" = --in-netns ] || bail_out "could not enter a network namespace of its own"
sm_fetch || skip_all "$SM_SKIP_REASON"

mt_tmpdir T

instance_gone()
{
	[ -z "$(sm_ns_procs "$1")" ] && ! kill -0 "$2" 2>/dev/null
}

# ---------------------------------------------------------------- 1. taken
SMTP_PORT='' SINK_PORT='' TAKEN=''
free_port SMTP_PORT
free_port SINK_PORT
free_port TAKEN
hold_ports "tcp:$TAKEN" || bail_out "could not hold port $TAKEN"
HOLDER=$HOLD_PID
sleep 600 &
BYSTANDER=$!
track_pid "$BYSTANDER"

SM_EXTRA_DAEMON=$TAKEN sm_setup "$T/sm1" "$SMTP_PORT" "$SINK_PORT" "" ||
    bail_out "sm_setup failed"
t0=$(elapsed_ms)
sm_start "$T/sm1"
is "$?" 1 "sm_start fails when a port of the instance is taken ($TAKEN)"
like "$(grep -m 1 'cannot bind' "$T/sm1/maillog")" "daemon MTA2: cannot bind" \
    "... and Sendmail said why: cannot bind"
pid=$SM_PID pidns=$SM_PIDNS
like "$pidns" '^pid:\[[0-9]+\]$' "... its daemon ran in a PID namespace of its own"
note "sm_start gave up after $(($(elapsed_ms) - t0)) ms"
t0=$(elapsed_ms)
sm_stop "$T/sm1"
wait_for 10 instance_gone "$pidns" "$pid"
ok $? "sm_stop on the failure path leaves no process of the instance"
note "sm_stop took $(($(elapsed_ms) - t0)) ms"
kill -0 "$BYSTANDER" 2>/dev/null
ok $? "an unrelated process of ours survives sm_stop"
kill -0 "$HOLDER" 2>/dev/null
ok $? "the listener holding port $TAKEN survives sm_stop"
pass "the test itself survives sm_stop"

# ---------------------------------------------------------------- 2. 25, 587
hold_ports tcp:25 tcp:587 || bail_out "could not start the port holder"
note "$(grep -v '^ready' "$HOLD_OUT")"
for p in 25 587; do
	port_has_listener "$p"
	ok $? "port $p is taken (by us or by the machine)"
done
free_port SMTP_PORT
sm_setup "$T/sm2" "$SMTP_PORT" "$SINK_PORT" "" || bail_out "sm_setup failed"
sm_start "$T/sm2"
ok $? "the instance starts with ports 25 and 587 taken"
is "$(ss -Htlnp | grep -F "pid=$SM_PID," | awk '{ print $4 }' | sort | tr '\n' ' ')" \
    "127.0.0.1:$SMTP_PORT " "... and listens on its own loopback port only"
pid=$SM_PID pidns=$SM_PIDNS
sm_stop "$T/sm2"
wait_for 10 instance_gone "$pidns" "$pid"
ok $? "sm_stop leaves no process of the instance"
kill -0 "$BYSTANDER" 2>/dev/null
ok $? "the unrelated process still runs"
done_testing
