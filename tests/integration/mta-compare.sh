#!/bin/bash
# mta-compare.sh - the same SMTP sessions through a private Postfix and a
# private Sendmail: the journal records must differ only where the MTAs do.
#
# Both MTAs relay to one smtp-sink; each has its own mailtrail-milter (own
# unix: socket, own journal) so that each journal holds one MTA's records.
# Both are set up alike: TLS with the same throwaway certificate, AUTH
# PLAIN with the same sasldb user, and the same recipient refused with
# "550 5.1.1 User unknown" (Sendmail: an unknown local user; Postfix: a
# check_recipient_access entry).  The scenario (tests/lib/sendmail.sh,
# scn_run): one plain-text session with two transactions, the first with
# the refused recipient; one session with STARTTLS and AUTH.
#
# Each journal is dumped as text, one line per row (connections, messages,
# recipients, header edits, and any later per-message table), with the
# columns that differ between runs or MTAs left out: IDs, times, ports, the
# MTA's host, daemon name and version, queue IDs (each is checked against
# its MTA's log instead), and a rejected recipient's reply code and text
# (the MTAs' own words: Postfix passes no code, and its text starts with
# "Recipient address rejected:").  The two dumps must be equal; a
# unified diff is printed when they are not.  The left-out values are
# printed side by side as notes.
#
# Needs what postfix.sh and sendmail.sh need; skips otherwise.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/postfix.sh"
. "$top_srcdir/tests/lib/milter.sh"
. "$top_srcdir/tests/lib/sendmail.sh"

require_root
require_tool postfix postconf postmap postqueue smtp-sink sqlite3 ss
[ -x "$(mt_binary)" ] || skip_all "mailtrail-milter not built at $(mt_binary)"
sm_fetch || skip_all "$SM_SKIP_REASON"

mt_tmpdir T
PF=$T/pf
SM=$T/sm
PF_PORT='' SM_PORT='' SINK_PORT=''
free_port PF_PORT
free_port SM_PORT
free_port SINK_PORT
TAG=cmp.$$.$RANDOM

# The same refusal from Postfix as from Sendmail.
PF_REJECT_RCPT=$SM_REJECT_RCPT
PF_REJECT_CODE=5.1.1
PF_REJECT_TEXT="User unknown"

# pf_start runs "postfix -c DIR start": run that one command in a private
# mount namespace where the system's SASL plugin directory is replaced by
# PF_SASL_DIR (the PLAIN, LOGIN and sasldb plugins; libsasl2-modules need
# not be installed).  The daemons Postfix starts stay in that namespace;
# every other postfix command runs as usual.
PF_SASL_DIR=
postfix()
{
	if [ "$3" = start ] && [ -n "$PF_SASL_DIR" ]; then
		# shellcheck disable=SC2016 # expanded by that sh
		unshare -m --propagation private sh -c \
		    'mount --bind "$1" "$2" && shift 2 && exec postfix "$@"' \
		    sh "$PF_SASL_DIR" "$(_sm_sasl_sysdir)" "$@"
	else
		command postfix "$@"
	fi
}

# ---------------------------------------------------------------- set up

sink_start "$T" "$SINK_PORT" || bail_out "smtp-sink did not start"

scn_tls_cert "$T/pftls" || bail_out "no TLS certificate"
PF_SASL_DIR=$T/pfsasl
# (in the realm Postfix uses by default, its host name: so it reports the
# user name as Sendmail does, without "@realm")
scn_sasl_dir "$PF_SASL_DIR" postfix smtpd "$PF_HOSTNAME" ||
    bail_out "no sasldb for Postfix"
pf_setup "$PF" "$PF_PORT" "$SINK_PORT" "unix:$T/pf-milter.sock" \
    "smtpd_tls_security_level = may" \
    "smtpd_tls_cert_file = $T/pftls/cert.pem" \
    "smtpd_tls_key_file = $T/pftls/key.pem" \
    "smtpd_sasl_auth_enable = yes" \
    "smtpd_sasl_type = cyrus" \
    "smtpd_sasl_path = smtpd" \
    "access_map_reject_code = 550" ||
    bail_out "pf_setup failed"
# smtpd needs tlsmgr for its TLS keys (pf_setup's master.cf has none), and
# Debian's Postfix reads its SASL settings from $config_directory/sasl.
echo "tlsmgr    unix  -       -       n       1000?   1       tlsmgr" \
    >>"$PF/conf/master.cf"
if ! mkdir -p "$PF/conf/sasl" ||
    ! cp "$PF_SASL_DIR/smtpd.conf" "$PF/conf/sasl/"; then
	bail_out "no smtpd.conf for Postfix"
fi
sm_setup "$SM" "$SM_PORT" "$SINK_PORT" "local:$T/sm-milter.sock" ||
    bail_out "sm_setup failed"

# Two daemons: one per MTA, each with its journal.
# shellcheck disable=SC2086
mt_start "$T" "unix:$T/pf-milter.sock" "$T/journal-pf.db" \
    -o milter.socket_mode=0666 $MT_TEST_OPTS ||
    bail_out "mailtrail-milter (Postfix's) did not start"
PF_MT=$MT_PID
# shellcheck disable=SC2086
mt_start "$T" "unix:$T/sm-milter.sock" "$T/journal-sm.db" $MT_TEST_OPTS ||
    bail_out "mailtrail-milter (Sendmail's) did not start"
SM_MT=$MT_PID

pf_start "$PF" || bail_out "private Postfix did not start"
sm_start "$SM" || bail_out "private Sendmail did not start"
note "Postfix $(postconf -c "$PF/conf" -h mail_version) on $PF_PORT, Sendmail $(sm_version) on $SM_PORT, sink on $SINK_PORT"

# ---------------------------------------------------------------- the scenario

scn_run "$PF_PORT" "$T/scn-pf" "$TAG" "$PF_REJECT_RCPT"
ok $? "scenario ran through Postfix"
scn_run "$SM_PORT" "$T/scn-sm" "$TAG" "$SM_REJECT_RCPT"
ok $? "scenario ran through Sendmail"
for mta in pf sm; do
	like "$(scn_reply "$T/scn-$mta" reject)" '^550 5\.1\.1 .*User unknown$' \
	    "$mta: the recipient is refused with 550 5.1.1 User unknown"
	like "$(scn_reply "$T/scn-$mta" auth)" '^235 ' "$mta: AUTH PLAIN accepted"
done
is "$(grep '^tls ' "$T/scn-pf/replies")" "$(grep '^tls ' "$T/scn-sm/replies")" \
    "the client negotiated the same TLS with both"

pf_wait_queue_empty "$PF" 60
ok $? "Postfix's queue drained"
sm_wait_queue_empty "$SM" 60
ok $? "Sendmail's queue drained"
wait_for 10 sm_idle

# Both daemons end together: each takes ~5 s to notice SIGTERM.
kill -TERM "$PF_MT" "$SM_MT" 2>/dev/null
mt_stop
is "$?" 0 "Sendmail's daemon exits 0"
MT_PID=$PF_MT
mt_stop
is "$?" 0 "Postfix's daemon exits 0"

# ---------------------------------------------------------------- queue IDs

# Each journal's queue IDs are its MTA's, as logged.
for n in 1 2 3; do
	mid=scn-$n.$TAG@client.example
	is "$(sql "$T/journal-pf.db" "SELECT queue_id FROM messages WHERE message_id = '<$mid>'")" \
	    "$(pf_queue_id_of "$PF" "$mid")" "message $n: Postfix's journal has its queue ID"
	is "$(sql "$T/journal-sm.db" "SELECT queue_id FROM messages WHERE message_id = '<$mid>'")" \
	    "$(sm_queue_id_of "$SM" "$mid")" "message $n: Sendmail's journal has its queue ID"
	is "$(grep -l -F "Message-ID: <$mid>" "$T"/sink/* 2>/dev/null |
	    xargs -r grep -l -i '^X-Mailtrail-ID: ' | wc -l)" 2 \
	    "message $n: both copies reached the sink with a tracking header"
done

# ---------------------------------------------------------------- the records

scn_journal_dump "$T/journal-pf.db" >"$T/pf.dump"
scn_journal_dump "$T/journal-sm.db" >"$T/sm.dump"
is "$(grep -c '^conn ' "$T/sm.dump") $(grep -c '^msg ' "$T/sm.dump") $(grep -c '^recipients ' "$T/sm.dump")" \
    "2 3 4" "Sendmail's journal: 2 connections, 3 messages, 4 recipients"
if diff -u --label postfix --label sendmail "$T/pf.dump" "$T/sm.dump" \
    >"$T/dump.diff"; then
	pass "the journal records are the same, but for what the MTAs differ in"
else
	fail "the journal records are the same, but for what the MTAs differ in"
	diag "$(cat "$T/dump.diff")"
fi

# What was left out, side by side.
for db in pf sm; do
	note "$db: $(sql "$T/journal-$db.db" "SELECT 'mta ' || quote(mta_host) || ' ' || quote(mta_daemon) || ' ' || quote(mta_version) FROM connections LIMIT 1")"
	note "$db: $(sql "$T/journal-$db.db" "SELECT 'rejected: ' || quote(reply_code) || ' ' || quote(reply_text) FROM recipients WHERE status = 'rejected'")"
	note "$db: $(sql "$T/journal-$db.db" "SELECT 'headers/bytes/size ' || group_concat(n_headers || '/' || header_bytes || '/' || size, ' ') FROM (SELECT * FROM messages ORDER BY start_time)")"
done

pf_stop "$PF"
sm_stop "$SM"
sink_stop
note "whole run: $(elapsed_ms) ms"
done_testing
