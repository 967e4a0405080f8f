#!/bin/bash
# crash.sh - SIGKILL mailtrail-milter under load; nothing accepted is lost.
#
# Scenario: smtp-source sends a stream of messages (default 200, four
# sessions at a time) through a private Postfix to smtp-sink, with
# mailtrail-milter on a unix: socket and journal.durability = full.  In the
# middle of the stream the daemon is killed with SIGKILL (twice by default)
# and started again on the same journal.  While it is down Postfix lets
# mail through untracked (default_action=accept) and reconnects on the next
# SMTP session.
#
# Checked when the stream has ended and the queue is empty:
#   - every message sent was delivered (mail flow first);
#   - every delivered message carrying an X-Mailtrail-ID has that ID in the
#     journal, with the queue ID Postfix gave it: the header is added at
#     end-of-message, before our reply, and with durability full the row is
#     committed before we reply, so a delivered ID with no row is a lost
#     record;
#   - the journal, copied right after each kill and at the end, passes
#     PRAGMA integrity_check.
# Then, when gdb is installed, one more kill at the worst moment: right
# after the daemon has sent its header to Postfix, before its reply.
# The counts (delivered, tagged, in journal, untagged) are printed as TAP
# comments.
#
# Tunables: CRASH_MESSAGES (200), CRASH_BATCH (10 messages per smtp-source
# run), CRASH_KILLS (2), MT_KEEP_TMP, MT_MILTER, MT_TEST_OPTS as in
# postfix.sh.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/postfix.sh"
. "$top_srcdir/tests/lib/milter.sh"

require_root
require_tool postfix postconf postmap postqueue smtp-sink smtp-source sqlite3 ss
[ -x "$(mt_binary)" ] || skip_all "mailtrail-milter not built at $(mt_binary)"

HDR=X-Mailtrail-ID
MESSAGES=${CRASH_MESSAGES:-200}
BATCH=${CRASH_BATCH:-10}
KILLS=${CRASH_KILLS:-2}

mt_tmpdir T
PF=$T/pf
SMTP_PORT='' SINK_PORT=''
free_port SMTP_PORT
free_port SINK_PORT
SOCK=$T/milter.sock
JOURNAL=$T/journal.db
MT_ARGS=(-o milter.socket_mode=0666 -o journal.durability=full)
# shellcheck disable=SC2206
MT_ARGS+=($MT_TEST_OPTS)

# Messages Postfix has accepted so far (cleanup logs one line each).
accepted_count()
{
	grep -c 'postfix/cleanup\[[0-9]*\]: [0-9A-Za-z]*: message-id=' \
	    "$PF/maillog"
}

# Copy the journal (with its WAL, as a crash leaves it) and check the copy,
# so the check itself cannot repair or disturb the live file.
check_copy()
{
	local d=$T/copy.$1 f
	[ -f "$JOURNAL" ] || { echo "no journal at $JOURNAL"; return 1; }
	mkdir -p "$d"
	for f in "$JOURNAL" "$JOURNAL-wal"; do
		[ -f "$f" ] && cp "$f" "$d/"
	done
	sqlite3 -cmd '.timeout 5000' "$d/$(basename "$JOURNAL")" 'PRAGMA integrity_check' 2>&1
}

sink_start "$T" "$SINK_PORT" || bail_out "smtp-sink did not start"
pf_setup "$PF" "$SMTP_PORT" "$SINK_PORT" "unix:$SOCK" ||
    bail_out "pf_setup failed"
pf_start "$PF" || bail_out "private Postfix did not start"
mt_start "$T" "unix:$SOCK" "$JOURNAL" "${MT_ARGS[@]}" ||
    bail_out "mailtrail-milter did not start"

# ---------------------------------------------------------------- the stream
# Batches of smtp-source runs with a short pause between them, so the stream
# lasts a few seconds and the kills fall inside it.
t_stream=$(elapsed_ms)
(
	# stopped by the exit trap: take the running smtp-source along
	child=
	trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 143' TERM
	sent=0
	while [ "$sent" -lt "$MESSAGES" ]; do
		n=$BATCH
		[ $((sent + n)) -gt "$MESSAGES" ] && n=$((MESSAGES - sent))
		smtp-source -4 -s 4 -m "$n" -l 2048 -M crash-client.example \
		    -f sender@crash.example -t rcpt@crash.example \
		    -S "mailtrail crash test" "127.0.0.1:$SMTP_PORT" &
		child=$!
		wait "$child" ||
		    echo "smtp-source failed after $sent messages (status $?)"
		child=
		sent=$((sent + n))
		sleep 0.15
	done
) >"$T/stream.log" 2>&1 &
STREAM_PID=$!
track_pid "$STREAM_PID"

restarts=()
for ((k = 1; k <= KILLS; k++)); do
	at=$((MESSAGES * k / (KILLS + 1)))
	for ((i = 0; i < 6000; i++)); do
		[ "$(accepted_count)" -ge "$at" ] && break
		kill -0 "$STREAM_PID" 2>/dev/null || break
		sleep 0.01
	done
	if ! kill -0 "$STREAM_PID" 2>/dev/null; then
		fail "kill $k: stream still running at ~$at messages"
		break
	fi
	n_at_kill=$(accepted_count)
	mt_kill9
	pass "kill $k: SIGKILL after $n_at_kill accepted messages, stream running"
	is "$(check_copy "$k")" ok "kill $k: journal as the crash left it passes integrity_check"
	sleep 0.5
	t0=$(elapsed_ms)
	if ! mt_start "$T" "unix:$SOCK" "$JOURNAL" "${MT_ARGS[@]}"; then
		bail_out "kill $k: mailtrail-milter did not start again"
	fi
	note "kill $k: down from $n_at_kill to $(accepted_count) accepted; restart took $(($(elapsed_ms) - t0)) ms"
	restarts+=("$(($(date +%s%N) / 1000))")
done

wait "$STREAM_PID"
untrack_pid "$STREAM_PID"
is "$(cat "$T/stream.log")" "" "smtp-source sent all $MESSAGES messages without error"
note "stream took $(($(elapsed_ms) - t_stream)) ms"
pf_wait_queue_empty "$PF" 120
ok $? "Postfix queue drained"
t0=$(elapsed_ms)
mt_stop
is "$?" 0 "daemon exits 0 on SIGTERM"
note "daemon stopped $(($(elapsed_ms) - t0)) ms after SIGTERM"

# ---------------------------------------------------------------- the checks
: >"$T/tagged"
: >"$T/untagged"
: >"$T/pairs"		# "ID QUEUEID" of each tagged message at the sink
delivered=0
for f in $(sink_files "$T"); do
	delivered=$((delivered + 1))
	sink_message "$f" >"$T/m"
	id=$(msg_headers "$T/m" | sed -n "s/^$HDR:[[:space:]]*//Ip" | head -n 1)
	qid=$(msg_headers "$T/m" | sed -n 's/^Received:.*(Postfix) with E\{0,1\}SMTP id \([0-9A-F]*\).*/\1/p' | head -n 1)
	if [ -n "$id" ]; then
		echo "$id" >>"$T/tagged"
		echo "$id $qid" >>"$T/pairs"
	else
		echo "$qid" >>"$T/untagged"
	fi
done
n_tagged=$(grep -c . "$T/tagged")
n_untagged=$(grep -c . "$T/untagged")
is "$delivered" "$MESSAGES" "every message sent was delivered"

sql "$JOURNAL" 'SELECT track_id FROM messages' | sort >"$T/journal.ids"
sql "$JOURNAL" "SELECT track_id || ' ' || coalesce(queue_id, '') FROM messages" |
    sort >"$T/journal.pairs"
sort "$T/tagged" >"$T/tagged.sorted"
missing=$(comm -23 "$T/tagged.sorted" "$T/journal.ids")
n_in_journal=$(comm -12 "$T/tagged.sorted" "$T/journal.ids" | grep -c .)
is "$(printf '%s' "$missing" | grep -c .)" 0 \
    "every delivered tracking ID is in the journal"
[ -n "$missing" ] && diag "delivered but not journaled: $(echo "$missing" | head -n 10 | tr '\n' ' ')"
is "$(sort -u "$T/tagged" | grep -c .)" "$n_tagged" "tracking IDs are unique"
wrong_qid=$(sort "$T/pairs" | comm -23 - "$T/journal.pairs")
is "$(printf '%s' "$wrong_qid" | grep -c .)" 0 \
    "every delivered tracking ID has the queue ID Postfix gave the message"
[ -n "$wrong_qid" ] && diag "at the sink (ID QUEUEID) but not so in the journal: $(echo "$wrong_qid" | head -n 5 | tr '\n' ';')"
ok $((n_tagged > 0 ? 0 : 1)) "some messages were tracked"

# Tracking resumed after each restart: a message started after it.
for ((k = 0; k < ${#restarts[@]}; k++)); do
	after=$(sql "$JOURNAL" "SELECT count(*) FROM messages WHERE start_time > ${restarts[$k]}")
	ok $((after > 0 ? 0 : 1)) "messages tracked after restart $((k + 1)) ($after)"
done

is "$(sql "$JOURNAL" 'PRAGMA integrity_check')" ok "journal passes integrity_check at the end"
n_rows=$(sql "$JOURNAL" 'SELECT count(*) FROM messages')
n_acc=$(sql "$JOURNAL" "SELECT count(*) FROM messages WHERE outcome = 'accepted'")
n_milter_warn=$(grep -c "warning: milter unix:" "$PF/maillog")
n_refused=$(grep -c "warning: connect to Milter service" "$PF/maillog")

note "delivered:             $delivered"
note "tagged:                $n_tagged"
note "tagged, in journal:    $n_in_journal"
note "untagged (milter down or killed mid-message): $n_untagged"
note "journal message rows:  $n_rows ($n_acc accepted)"
note "Postfix sessions cut by a kill (warning: milter ...): $n_milter_warn"
note "Postfix connects refused while down: $n_refused"

# ---------------------------------------------------------------- the worst moment
# Kill the daemon deterministically just after it has handed its tracking
# header to Postfix (smfi_insheader has returned) and before it answers
# end-of-message.  Postfix has applied the header by then and, with
# default_action=accept, delivers the message when the milter vanishes.
# So if the message arrives tagged, its record must already be committed.
if command -v gdb >/dev/null 2>&1; then
	mt_start "$T" "unix:$SOCK" "$JOURNAL" "${MT_ARGS[@]}" ||
	    bail_out "mailtrail-milter did not start (worst moment)"
	timeout 60 gdb -q -batch -p "$MT_PID" \
	    -ex 'set pagination off' -ex 'set confirm off' \
	    -ex 'handle SIGPIPE nostop noprint pass' \
	    -ex 'break smfi_insheader' -ex 'echo ARMED\n' \
	    -ex 'continue' -ex 'finish' -ex 'kill' \
	    >"$T/gdb.out" 2>&1 &
	GDB_PID=$!
	track_pid "$GDB_PID"
	if wait_for 30 grep -q '^ARMED' "$T/gdb.out"; then
		MIDW=worst.$$.$RANDOM@crash-client.example
		printf '%s\n' "From: <sender@crash.example>" \
		    "To: <rcpt@crash.example>" "Subject: killed at the worst moment" \
		    "Message-ID: <$MIDW>" "" "body" >"$T/worst.eml"
		smtp_open "$SMTP_PORT" && smtp_cmd "EHLO worst.example" &&
		    smtp_cmd "MAIL FROM:<sender@crash.example>" &&
		    smtp_cmd "RCPT TO:<rcpt@crash.example>" &&
		    smtp_data "$T/worst.eml"
		like "$SMTP_CODE $SMTP_REPLY" '^250 ' \
		    "worst moment: Postfix accepts the message when the milter dies"
		smtp_close
		{ wait "$GDB_PID"; } 2>/dev/null
		untrack_pid "$GDB_PID"
		if mt_running; then
			fail "worst moment: gdb stopped the daemon after smfi_insheader"
			diag "$(tail -n 20 "$T/gdb.out")"
			mt_kill9
		else
			pass "worst moment: daemon killed right after smfi_insheader returned"
			{ wait "$MT_PID"; } 2>/dev/null
			untrack_pid "$MT_PID"
			MT_PID=
		fi
		pf_wait_queue_empty "$PF" 60
		f=$(grep -l -F "<$MIDW>" "$T"/sink/* 2>/dev/null | head -n 1)
		if [ -z "$f" ]; then
			fail "worst moment: message delivered"
		else
			pass "worst moment: message delivered"
			sink_message "$f" >"$T/m"
			id=$(msg_headers "$T/m" | sed -n "s/^$HDR:[[:space:]]*//Ip" | head -n 1)
			if [ -z "$id" ]; then
				pass "worst moment: delivered untagged, no record needed"
			elif [[ $id =~ ^[0-9A-Z]{26}$ ]]; then
				is "$(sql "$JOURNAL" "SELECT count(*) FROM messages WHERE track_id = '$id'")" 1 \
				    "worst moment: delivered with tracking ID $id, which is in the journal"
			else
				fail "worst moment: malformed tracking header '$id'"
			fi
		fi
		is "$(check_copy worst)" ok "worst moment: journal passes integrity_check"
	else
		fail "worst moment: gdb attached to the daemon"
		diag "$(cat "$T/gdb.out")"
	fi
else
	note "gdb not installed: worst-moment kill skipped"
fi

pf_stop "$PF"
sink_stop
note "whole run: $(elapsed_ms) ms"
done_testing
