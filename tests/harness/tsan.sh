#!/bin/bash
# tsan.sh - the daemon under ThreadSanitizer and concurrent load.
#
#   bash tests/harness/tsan.sh [SESSIONS [PARALLEL]]    (root; ~5 minutes)
#   make check-tsan                                      (in _build/)
#
# Builds mailtrail-milter with -fsanitize=thread in _build-tsan/ beside
# the source tree (configured once: CFLAGS='-fsanitize=thread -g -O1',
# --disable-werror: gcc's -Wmaybe-uninitialized misfires at -O1 with TSan),
# starts it behind a private Postfix (tests/lib/postfix.sh) relaying to
# smtp-sink, and sends SESSIONS (default 600) SMTP sessions, PARALLEL
# (default 40) at a time, from a python smtplib loop: one to three
# messages a session, two recipients each (one of them refused by
# Postfix), some sessions aborted with RSET or cut without QUIT.  During
# the load it reads the counters (SIGUSR1) and reloads the configuration
# (SIGHUP) a few times, then stops the daemon with SIGTERM while sessions
# are still open.  Each TSan report of the daemon (TSAN_OPTIONS log_path,
# one file per process) is listed with its first frames: the test fails
# when there is one.  Also checked: every message Postfix accepted is in
# the journal, and the daemon exits cleanly.
#
# Not part of "make check" nor CI: the TSan build and the load take
# minutes.  MT_KEEP_TMP=1 keeps the reports (else they are printed whole
# as TAP comments).
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
SESSIONS=${1:-600}
PARALLEL=${2:-40}
TSAN_BUILD=${MT_TSAN_BUILD:-$top_srcdir/_build-tsan}

. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/postfix.sh"
. "$top_srcdir/tests/lib/milter.sh"

require_root
require_tool postfix postconf smtp-sink python3 sqlite3 ss

# ---------------------------------------------------------------- build
if [ ! -x "$TSAN_BUILD/mailtrail-milter" ] ||
    [ -n "$(find "$top_srcdir/src" "$top_srcdir/milter" \
    "$top_srcdir/include" -newer "$TSAN_BUILD/mailtrail-milter" \
    -name '*.[ch]' 2>/dev/null | head -n 1)" ]; then
	mkdir -p "$TSAN_BUILD"
	(cd "$TSAN_BUILD" &&
	    { [ -f Makefile ] || "$top_srcdir/configure" -q --disable-werror \
	    CFLAGS='-fsanitize=thread -g -O1' LDFLAGS=-fsanitize=thread; } &&
	    make -j2 mailtrail-milter) >"$TSAN_BUILD.log" 2>&1 ||
	    bail_out "TSan build failed: see $TSAN_BUILD.log"
fi
export MT_MILTER=$TSAN_BUILD/mailtrail-milter

mt_tmpdir T
PF=$T/pf
SMTP_PORT='' SINK_PORT=''
free_port SMTP_PORT
free_port SINK_PORT
SOCK=$T/milter.sock
JOURNAL=$T/journal.db
mkdir -p "$T/tsan"
# second_deadlock_stack: both stacks of a lock-order report;
# halt_on_error=0: keep going and report everything; exitcode=0: the
# daemon's exit status stays its own (the reports are counted below);
# tests/harness/tsan.supp: libmilter's own shutdown, explained there.
export TSAN_OPTIONS="log_path=$T/tsan/report halt_on_error=0 second_deadlock_stack=1 history_size=4 exitcode=0 suppressions=$top_srcdir/tests/harness/tsan.supp"

sink_start "$T" "$SINK_PORT" || bail_out "smtp-sink did not start"
pf_setup "$PF" "$SMTP_PORT" "$SINK_PORT" "unix:$SOCK" \
    "default_process_limit = $((PARALLEL + 20))" ||
    bail_out "pf_setup failed"
pf_start "$PF" || bail_out "private Postfix did not start"
mt_start "$T" "unix:$SOCK" "$JOURNAL" -o milter.socket_mode=0666 \
    -o journal.durability=full || bail_out "the TSan daemon did not start"
note "TSan daemon pid $MT_PID; $SESSIONS sessions, $PARALLEL at a time, Postfix on 127.0.0.1:$SMTP_PORT"

# ---------------------------------------------------------------- load
cat >"$T/load.py" <<'EOF'
import smtplib, sys, random, threading
from concurrent.futures import ThreadPoolExecutor
port, sessions, parallel, reject = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lock = threading.Lock()
sent = [0, 0]          # messages accepted, sessions that failed
def session(i):
    rnd = random.Random(i)
    try:
        s = smtplib.SMTP('127.0.0.1', port, timeout=120)
        s.ehlo('client%d.example.org' % i)
        n = 0
        for k in range(rnd.randint(1, 3)):
            frm = 'sender%d@example.org' % i
            rcpts = ['rcpt%d-%d@example.net' % (i, k), reject]
            if rnd.random() < 0.1:
                s.mail(frm); s.rcpt(rcpts[0]); s.rset()
                continue
            body = ('From: <%s>\r\nTo: <%s>\r\nSubject: tsan %d/%d\r\n'
                    'Message-ID: <tsan-%d-%d@example.org>\r\n'
                    'Authentication-Results: gw.example.org; spf=pass\r\n\r\n'
                    % (frm, rcpts[0], i, k, i, k)) + ('line\r\n' * rnd.randint(1, 200))
            try:
                s.sendmail(frm, rcpts, body)
                n += 1
            except smtplib.SMTPRecipientsRefused:
                pass
        if rnd.random() < 0.1:
            s.sock.close()      # hang up without QUIT
        else:
            s.quit()
        with lock:
            sent[0] += n
    except Exception as e:
        with lock:
            sent[1] += 1
        print('session %d: %s' % (i, e), file=sys.stderr)
with ThreadPoolExecutor(parallel) as ex:
    list(ex.map(session, range(sessions)))
print(sent[0], sent[1])
EOF
t0=$(elapsed_ms)
python3 "$T/load.py" "$SMTP_PORT" "$SESSIONS" "$PARALLEL" \
    "$PF_REJECT_RCPT" >"$T/load.out" 2>"$T/load.err" &
LOAD=$!
track_pid "$LOAD"
for i in 1 2 3 4 5 6; do
	sleep 3
	kill -0 "$LOAD" 2>/dev/null || break
	kill -USR1 "$MT_PID" 2>/dev/null
	[ $((i % 2)) = 0 ] && kill -HUP "$MT_PID" 2>/dev/null
done
wait "$LOAD"
untrack_pid "$LOAD"
read -r accepted failed <"$T/load.out"
note "load: ${accepted:-?} messages accepted by Postfix, ${failed:-?} sessions failed, $(( ($(elapsed_ms) - t0) / 1000 )) s"
[ "${failed:-1}" = 0 ] || diag "$(head -n 5 "$T/load.err")"
ok "$([ -n "$accepted" ] && [ "$accepted" -gt 0 ]; echo $?)" \
    "Postfix accepted messages through the TSan daemon"

# The last sessions while the daemon stops: it must wait for them.
python3 "$T/load.py" "$SMTP_PORT" 20 20 "$PF_REJECT_RCPT" \
    >"$T/load2.out" 2>&1 &
LOAD=$!
track_pid "$LOAD"
sleep 1
mt_stop
is "$?" 0 "the daemon stops cleanly (SIGTERM during sessions)"
wait "$LOAD" 2>/dev/null
untrack_pid "$LOAD"

n=$(sql "$JOURNAL" "SELECT COUNT(*) FROM messages WHERE outcome = 'accepted'")
note "journal: $n accepted messages"
ok "$([ -n "$accepted" ] && [ "${n:-0}" -ge "$accepted" ]; echo $?)" \
    "every message Postfix accepted during the load is in the journal ($n >= ${accepted:-?})"

# ---------------------------------------------------------------- reports
reports=$(ls "$T"/tsan/report* 2>/dev/null)
count=$(cat $reports /dev/null | grep -c '^WARNING: ThreadSanitizer')
note "ThreadSanitizer: $count reports"
# one line per report: its kind and first two frames in our code
cat $reports /dev/null | awk '
	/^WARNING: ThreadSanitizer/ { kind = $0; sub(/.*ThreadSanitizer: /, "", kind); sub(/ \(pid=.*/, "", kind); n = 0; want = 1; next }
	want && /#[0-9]+ / && /(src|milter)\// { f[++n] = $2 " " $3; if (n == 2) { print "# " kind ": " f[1] " <- " f[2]; want = 0 } }
' | sort | uniq -c | sed 's/^/# /'
if [ "${MT_KEEP_TMP:-0}" != 1 ] && [ "$count" -gt 0 ]; then
	cat $reports | sed 's/^/# /' | head -n 400
fi
is "$count" 0 "no ThreadSanitizer reports"
done_testing
