#!/bin/bash
# cli.sh - the mailtrail command on a journal filled by the real milter.
#
# mailtrail-milter runs on a unix: socket; miltertest plays the MTA with
# the scenarios of hostile.lua, basic.lua and cli.lua (a reused queue ID,
# a Message-ID sent twice, an IPv6 client, rejected recipients, escape
# sequences in Subject and From).  Then, while the daemon keeps running
# (readers beside the writer), every subcommand is run in text and JSON:
#
#   show     by tracking ID (any case), queue ID (reused: both, newest
#            first), Message-ID (with and without <>, sent twice), an
#            upstream parent ID; not found (exit 1); invalid IDs (exit 2)
#   find     each filter, limits, bad times and empty ranges (exit 2)
#   audit, stats, explain, export (JSON Lines and CSV)
#   tail     following new transactions sent while it runs
#   hostile  the raw ESC byte never reaches the output, on a pipe or a
#            pseudo-terminal (where only our own colour sequences appear)
#   journals missing, not SQLite, newer schema (exit 2); version 1
#            (readable, no SPF/DKIM); SPF and DKIM rows shaped as the
#            milter writes them (schema 2) for audit, find --spf, show
#   delivery rows shaped as the store writes them (schema 5), on a copy:
#            show's Delivery section and JSON, a queue ID known only from
#            the log, find --status and its DELIVERY column, stats,
#            export, tail following new events; hostile replies escaped
#   access   a group member reads a 0640 journal without root; others
#            get "Permission denied"; the journal is never modified
#   config   -c FILE reads journal.path; a bad file is an error

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/milter.sh"

require_tool miltertest sqlite3 python3
[ -x "$(mt_binary)" ] || skip_all "daemon not built"
MT=${MAILTRAIL:-$top_builddir/mailtrail}
[ -x "$MT" ] || skip_all "mailtrail not built"

mt_tmpdir T
LUADIR=$top_srcdir/tests/integration
DB=$T/journal.db
SOCK=unix:$T/milter.sock

# run ARGS...: mailtrail on the test journal; sets RC, OUT, ERR (files
# $T/out and $T/err keep the bytes).
run()
{
	"$MT" -j "$DB" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# run_on JOURNAL ARGS...
run_on()
{
	local db=$1
	shift
	"$MT" -j "$db" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# 0 when FILE holds no ESC byte.
no_esc()
{
	! LC_ALL=C grep -q $'\033' "$1"
}

json_ok()
{
	python3 -m json.tool <"$1" >/dev/null 2>&1
}

# jget FILE EXPR: a value from a JSON document, with Python (jq may be
# missing).  EXPR is Python on "d", e.g. d['messages'][0]['track_id'].
jget()
{
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1" 2>&1
}

lines()
{
	if [ -s "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi
}

id_of()
{
	sed -n "s/^ID $1 //p" "$T/lua.out" | head -n 1
}

# ---------------------------------------------------------------- fill
mt_start "$T" "$SOCK" "$DB" -o limits.max_recipients=1000 \
    -o milter.socket_mode=0660 || bail_out "daemon did not start"
: >"$T/lua.out"
for script in hostile basic cli; do
	timeout 120 miltertest -D sock="$SOCK" -D lib="$LUADIR/lib.lua" \
	    -s "$LUADIR/$script.lua" >>"$T/lua.out" 2>&1
	is "$?" 0 "miltertest ran $script.lua"
done
if grep -q "^CHECK fail" "$T/lua.out"; then
	diag "$(grep '^CHECK fail' "$T/lua.out")"
	fail "the milter accepted every scenario"
else
	pass "the milter accepted every scenario"
fi

FIRST=$(id_of first)
SECOND=$(id_of second)
FORGED=$(id_of forged)
HOSTILE=$(id_of hostile)
OLD=$(id_of reuse-old)
NEW=$(id_of reuse-new)
DUP1=$(id_of dup-1)
DUP2=$(id_of dup-2)
V6=$(id_of ipv6)
ESC=$(id_of escape)
TOTAL=$(sql "$DB" "SELECT count(*) FROM messages")
[ -n "$FIRST" ] && [ -n "$ESC" ] && [ -n "$NEW" ] ||
    bail_out "scenarios gave no tracking IDs: $(tail -n 20 "$T/lua.out")"

# ---------------------------------------------------------------- show
run show "$FIRST"
is "$RC" 0 "show by tracking ID: exit 0"
for want in "Message $FIRST" "Queue ID     4QA1B2C3D4" \
    "Client       192.0.2.10" "HELO         client.example.org" \
    "AUTH         PLAIN as alice" "MTA          mx.example.test smtpd" \
    "MAIL FROM    <alice@example.org> SIZE=321 BODY=8BITMIME" \
    "<blocked@example.net>  rejected 5.7.1 Recipient address rejected" \
    "= permanent: delivery not authorized, message refused" \
    "Subject      first message" "added X-Mailtrail-ID: $FIRST"; do
	case $OUT in
	*"$want"*) pass "show prints \"$want\"" ;;
	*) fail "show prints \"$want\""; diag "$OUT" ;;
	esac
done

run show --json "$FIRST"
is "$RC" 0 "show --json: exit 0"
ok "$(json_ok "$T/out"; echo $?)" "show --json is valid JSON"
is "$(jget "$T/out" "d['count'], d['kind'], d['messages'][0]['queue_id']")" \
    "1 tracking ID 4QA1B2C3D4" "show --json: one message, its queue ID"
is "$(jget "$T/out" "d['messages'][0]['connection']['helo'], d['messages'][0]['recipients'][1]['explain']")" \
    "client.example.org permanent: delivery not authorized, message refused" \
    "show --json: connection and explained recipient"

run show "$(echo "$FIRST" | tr 'A-Z' 'a-z')"
is "$RC" 0 "show accepts a tracking ID in lower case"

run show 4QA1B2C3D4
like "$RC:$OUT" "^0:Message $FIRST" "show by queue ID"

run show 4QREUSED01
is "$RC" 0 "show by a reused queue ID: exit 0"
like "$OUT" "2 messages match queue ID 4QREUSED01" "reused queue ID: says two match"
like "$OUT" "=== 1 of 2 =+.*=== 2 of 2 =+" "reused queue ID: both, separated"
first_shown=$(grep -m1 '^Message ' "$T/out" | cut -d' ' -f2)
is "$first_shown" "$NEW" "reused queue ID: newest first"
run show --json 4QREUSED01
is "$(jget "$T/out" "d['count'], d['messages'][0]['track_id'], d['messages'][1]['track_id']")" \
    "2 $NEW $OLD" "reused queue ID: JSON has both, newest first"
run show --since 2020-01-01 --until 2020-01-02 4QREUSED01
is "$RC" 1 "show with a time window that excludes the queue ID: exit 1"

run show "<dup@example.org>"
like "$RC:$OUT" "^0:2 messages match Message-ID" "show by a Message-ID sent twice"
run show --json dup@example.org
is "$(jget "$T/out" "d['count'], d['kind']")" "2 Message-ID" \
    "show by Message-ID without <>"
run show first@example.org
like "$RC:$OUT" "^0:Message $FIRST" "show by Message-ID"

run show 01JDB6Q5Z6Y3K9W2X4V8T0R1NM
is "$RC" 1 "show of an unknown tracking ID: exit 1"
like "$ERR" "no message with tracking ID 01JDB6Q5Z6Y3K9W2X4V8T0R1NM in journal" \
    "show of an unknown ID says so"
run show --json 01JDB6Q5Z6Y3K9W2X4V8T0R1NM
is "$RC:$(jget "$T/out" "d['count']")" "1:0" "show --json not found: exit 1, count 0"
run show 4QNOTHERE1
is "$RC" 1 "show of an unknown queue ID: exit 1"
run show nobody@nowhere.example
is "$RC" 1 "show of an unknown Message-ID: exit 1"
run show "bad id!"
is "$RC" 2 "show of something that is no ID: exit 2"
like "$ERR" "is not a tracking ID" "show explains what an ID looks like"
run show
is "$RC" 2 "show without an ID: exit 2"
run show "$FIRST" "$SECOND"
is "$RC" 2 "show with two IDs: exit 2"
run show --as bogus "$FIRST"
is "$RC" 2 "show --as bogus: exit 2"
run show --as queue 4QA1B2C3D4
is "$RC" 0 "show --as queue"

run show 01JDZ3Q6X5K8N2T4V7W9Y0ABCD
like "$RC:$OUT" "^0:01JDZ3Q6X5K8N2T4V7W9Y0ABCD is not a tracking ID of this gateway; 1 message arrived carrying it" \
    "show of an upstream tracking ID finds the message that carried it"

# ---------------------------------------------------------------- find
run find --limit 0
is "$RC" 0 "find: exit 0"
is "$(lines "$T/out")" "$((TOTAL + 1))" "find --limit 0 lists every message and a header"
is "$(sed -n 2p "$T/out" | awk '{print $2}')" "$ESC" "find lists the newest first"

check_find()
{
	local desc=$1 want=$2 got
	shift 2
	run find --json --limit 0 "$@"
	got=$(jget "$T/out" "' '.join(sorted(m['track_id'] for m in d['messages']))")
	want=$(echo $want | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')
	is "$got" "$want" "find $desc"
}
check_find "--from exact" "$FIRST" --from alice@example.org
check_find "--from in another case" "$FIRST" --from ALICE@Example.ORG
check_find "--from @domain" "$DUP1 $DUP2" --from @example.com
check_find "--from pattern" "$DUP1 $DUP2" --from 'carol.*@*'
check_find "--from <> (null sender)" "$SECOND" --from '<>'
check_find "--to" "$FIRST" --to blocked@example.net
check_find "--status rejected" "$FIRST $DUP1" --status rejected
check_find "--ip IPv6 network" "$V6" --ip 2001:db8::/32
check_find "--ip address" "$OLD" --ip 192.0.2.30
check_find "--helo" "$FIRST $SECOND" --helo CLIENT.example.org
check_find "--subject" "$DUP1 $DUP2" --subject report
check_find "--msgid" "$DUP1 $DUP2" --msgid dup@example.org
check_find "several filters" "$DUP1" --from @example.com --status rejected
run find --json --limit 0 --ip 192.0.2.0/24
is "$(jget "$T/out" "d['count']")" \
    "$(sql "$DB" "SELECT count(*) FROM messages m JOIN connections c ON c.id = m.conn_id WHERE c.client_addr LIKE '192.0.2.%'")" \
    "find --ip IPv4 network counts as the journal"
run find --ip 198.51.100.0/24
is "$RC" 1 "find with no match: exit 1"
run find --limit 2
is "$RC:$(lines "$T/out")" "0:3" "find --limit 2: two lines and a header"
like "$ERR" "the newest 2 shown" "find says the list was cut"
run find --json --limit 2
is "$(jget "$T/out" "d['count'], d['more']")" "2 True" "find --json --limit: more is true"
run find --since 1h --limit 0 --json
is "$(jget "$T/out" "d['count']")" "$TOTAL" "find --since 1h: everything"
run find --since 2030-01-01 --until 2030-01-02
is "$RC" 1 "find in a future window: exit 1"
run find --since 2026-13-01
is "$RC" 2 "find --since with month 13: exit 2"
like "$ERR" "month 13 out of range" "bad time: the message names the field"
run find --since 2h --until 3h
is "$RC" 2 "find with an empty time range: exit 2"
like "$ERR" "time range is empty" "empty range: says so"
run find --until soon
is "$RC" 2 "find --until garbage: exit 2"
run find --limit many
is "$RC" 2 "find --limit garbage: exit 2"
run find --frm x
is "$RC" 2 "find with an unknown option: exit 2"
run find alice@example.org
is "$RC" 2 "find with a stray argument: exit 2"
run find --status sent
like "$RC:$ERR" "^2:.*expected accepted, rejected" "find --status with a bad word"

# ---------------------------------------------------------------- hostile
for args in "show $HOSTILE" "show $ESC" "show --json $ESC" "find --limit 0" \
    "find --json --limit 0" "export --all" "export --all --format csv" \
    "find --subject URGENT"; do
	# shellcheck disable=SC2086
	run $args
	ok "$(no_esc "$T/out"; echo $?)" "$args: no raw ESC byte in the output"
done
run show "$ESC"
like "$OUT" 'Subject      \\x1b\]0;owned\\x07\\x1b\[2J\\x1b\[1;31mURGENT\\x1b\[0m caf\\xc3\\xa9 \\xff' \
    "a hostile Subject is printed escaped"
like "$OUT" 'From         \\x1b\[2J\\x1b\[31mAdmin' "a hostile From is printed escaped"
run show --json "$ESC"
is "$(jget "$T/out" "repr(d['messages'][0]['subject'])")" \
    "'\\x1b]0;owned\\x07\\x1b[2J\\x1b[1;31mURGENT\\x1b[0m café ÿ'" \
    "JSON keeps the hostile Subject's characters, escaped in the text"
# On a terminal colour is on: the only escape sequences are our SGR ones.
script -qec "'$MT' -j '$DB' show $ESC; '$MT' -j '$DB' find --limit 0" \
    /dev/null >"$T/tty.out" 2>&1
python3 - "$T/tty.out" <<'EOF'
import re, sys
data = open(sys.argv[1], 'rb').read()
rest = re.sub(rb'\x1b\[[0-9;]*m', b'', data)
sys.exit(0 if b'\x1b' not in rest and b'\x1b[' in data else 1)
EOF
ok $? "on a terminal only mailtrail's own colour sequences are printed"
script -qec "'$MT' -j '$DB' --no-color show $ESC" /dev/null >"$T/tty.out" 2>&1
ok "$(no_esc "$T/tty.out"; echo $?)" "--no-color on a terminal: no escape byte at all"

# ---------------------------------------------------------------- audit
run audit
is "$RC" 0 "audit: exit 0 (forged headers found)"
like "$OUT" "Forged headers removed \(3\)" "audit counts the three forged headers"
like "$OUT" "example.org +X-MAILTRAIL-ID +forged tracking header from an untrusted client +3 " \
    "audit groups them by the sender's domain"
run audit --by ip --json
ok "$(json_ok "$T/out"; echo $?)" "audit --json is valid JSON"
is "$(jget "$T/out" "d['forged']['total'], d['forged']['groups'][0]['ip'], d['forged']['groups'][0]['samples'][0]")" \
    "3 192.0.2.12 $FORGED" "audit --by ip: the client, with a sample tracking ID"
run audit --by helo
like "$OUT" "forger.example.org" "audit --by helo"
run audit --by asn
is "$RC" 2 "audit --by a bad key: exit 2"
run audit --since 2020-01-01 --until 2020-01-02
is "$RC" 1 "audit of an empty window: exit 1"
run audit --all --since 1h
is "$RC" 2 "audit --all with --since: exit 2"

# ---------------------------------------------------------------- stats
run stats
is "$RC" 0 "stats: exit 0"
like "$OUT" "Messages +$TOTAL: accepted" "stats counts the messages"
like "$OUT" "550 +5.1.1 +permanent: bad destination mailbox address" \
    "stats lists reject codes with their meaning"
run stats --json --every 1h
ok "$(json_ok "$T/out"; echo $?)" "stats --json is valid JSON"
is "$(jget "$T/out" "d['messages']['total'], d['recipients']['rejected'], len(d['intervals']) >= 1")" \
    "$TOTAL $(sql "$DB" "SELECT sum(rcpt_rejected) FROM messages") True" \
    "stats --json totals match the journal"
run stats --since 2020-01-01 --until 2020-01-02
is "$RC" 1 "stats of an empty window: exit 1"
run stats --every 0s
is "$RC" 2 "stats --every 0s: exit 2"

# ---------------------------------------------------------------- explain
run explain 550 5.1.1
like "$RC:$OUT" "^0:550  permanent  mailbox unavailable" "explain 550 5.1.1"
like "$OUT" "5.1.1  permanent  bad destination mailbox address" "explain the enhanced code"
run explain "451 4.7.1" --json
is "$RC:$(jget "$T/out" "d['reply']['kind'], d['enhanced']['summary']")" \
    "0:temporary delivery not authorized, message refused" "explain --json"
run explain 450 5.1.1
like "$OUT" "the reply code says temporary, the enhanced code permanent" \
    "explain notes codes that disagree"
run explain 5.7.99
is "$RC" 1 "explain of an unregistered detail: exit 1"
run explain 999
is "$RC" 2 "explain of a malformed code: exit 2"
run explain --list
is "$RC" 0 "explain --list"

# ---------------------------------------------------------------- export
run export --all
is "$RC:$(lines "$T/out")" "0:$TOTAL" "export: one JSON line per message"
python3 - "$T/out" <<'EOF'
import json, sys
for line in open(sys.argv[1], encoding='utf-8'):
    json.loads(line)
EOF
ok $? "export: every line is JSON"
run export --all --format csv
python3 - "$T/out" "$TOTAL" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))
sys.exit(0 if len(rows) == int(sys.argv[2]) + 1 and rows[0][1] == 'track_id'
    and all(len(r) == len(rows[0]) for r in rows) else 1)
EOF
ok $? "export --format csv: a header and one well-formed row per message"
run export --format xml
is "$RC" 2 "export --format xml: exit 2"
run export --since 2020-01-01 --until 2020-01-02
is "$RC" 1 "export of an empty window: exit 1"

# ---------------------------------------------------------------- tail
"$MT" -j "$DB" tail -n 0 --count 3 --json --from stream@example.org \
    >"$T/tail.json" 2>"$T/tail.err" &
TAIL_JSON=$!
track_pid "$TAIL_JSON"
"$MT" -j "$DB" tail -n 2 --count 1 >"$T/tail.txt" 2>&1 &
TAIL_TXT=$!
track_pid "$TAIL_TXT"
"$MT" -j "$DB" tail --from nobody@nowhere.example >"$T/tail.none" 2>&1 &
TAIL_NONE=$!
track_pid "$TAIL_NONE"
sleep 1
timeout 60 miltertest -D sock="$SOCK" -D lib="$LUADIR/lib.lua" -D count=3 \
    -s "$LUADIR/stream.lua" >"$T/stream.out" 2>&1
is "$?" 0 "three more messages sent while tail runs"
wait_for 20 sh -c "! kill -0 $TAIL_JSON 2>/dev/null"
wait "$TAIL_JSON"
is "$?" 0 "tail --count 3 exits 0 after three messages"
untrack_pid "$TAIL_JSON"
is "$(lines "$T/tail.json")" 3 "tail --json printed three lines"
python3 - "$T/tail.json" "$T/stream.out" <<'EOF'
import json, sys
got = [json.loads(l)['track_id'] for l in open(sys.argv[1])]
want = [l.split()[2] for l in open(sys.argv[2]) if l.startswith('ID msg')]
sys.exit(0 if got == want and len(got) == 3 else 1)
EOF
ok $? "tail printed the new messages, in order, as they were recorded"
wait_for 20 sh -c "! kill -0 $TAIL_TXT 2>/dev/null"
wait "$TAIL_TXT"
is "$?:$(lines "$T/tail.txt")" "0:3" "tail -n 2 --count 1: two earlier lines and one new"
like "$(tail -n 1 "$T/tail.txt")" "stream@example.org" "tail's new line is the new message"
untrack_pid "$TAIL_TXT"
kill -TERM "$TAIL_NONE"
wait "$TAIL_NONE"
is "$?:$(lines "$T/tail.none")" "0:0" "tail with a filter that matches nothing: silent, exit 0 on SIGTERM"
untrack_pid "$TAIL_NONE"
run tail --until 1h
is "$RC" 2 "tail --until: exit 2"

# A reader in a loop never makes the writer fail.
(for i in $(seq 1 40); do "$MT" -j "$DB" find --limit 0 >/dev/null 2>&1; done) &
LOOP=$!
track_pid "$LOOP"
timeout 60 miltertest -D sock="$SOCK" -D lib="$LUADIR/lib.lua" -D count=5 \
    -s "$LUADIR/stream.lua" >"$T/stream2.out" 2>&1
is "$?:$(grep -c '^CHECK ok' "$T/stream2.out")" "0:15" \
    "messages sent while readers query are all accepted"
wait "$LOOP"
untrack_pid "$LOOP"
is "$(sql "$DB" "SELECT count(*) FROM messages")" "$((TOTAL + 8))" \
    "and all recorded"

# ---------------------------------------------------------------- journals
run_on "$T/missing.db" find
like "$RC:$ERR" "^2:.*journal $T/missing.db does not exist" "missing journal: exit 2, named"
echo "not a database at all, just some text long enough to be read" >"$T/text.db"
run_on "$T/text.db" find
like "$RC:$ERR" "^2:.*is not an SQLite database" "not a database: exit 2"
sqlite3 "$DB" ".backup $T/new.db"
sqlite3 "$T/new.db" "PRAGMA user_version = 99"
run_on "$T/new.db" find
like "$RC:$ERR" "^2:.*has schema version 99, newer than this mailtrail \([0-9]+\); upgrade mailtrail" \
    "newer schema: exit 2, with both versions"

# Version 1: no SPF/DKIM tables or columns.
sqlite3 "$DB" ".backup $T/v1.db"
sqlite3 "$T/v1.db" "DROP TABLE spf_results; DROP TABLE dkim_signatures;
    ALTER TABLE messages DROP COLUMN spf_result;
    ALTER TABLE messages DROP COLUMN dkim_result;
    ALTER TABLE messages DROP COLUMN authres; PRAGMA user_version = 1"
run_on "$T/v1.db" show "$FIRST"
like "$RC:$OUT" "^0:.*not recorded \(journal schema version 1" "version 1 journal: show works, says no auth"
run_on "$T/v1.db" find --spf fail
like "$RC:$ERR" "^2:.*records no SPF or DKIM results" "version 1 journal: --spf is an error"
run_on "$T/v1.db" audit --json
is "$RC:$(jget "$T/out" "d['spf'], d['forged']['total']")" "0:None 3" \
    "version 1 journal: audit reports the forged headers only"

# SPF and DKIM rows as the milter records them (schema 2).
sqlite3 "$DB" ".backup $T/auth.db"
now_us=$(($(date +%s) * 1000000))
sqlite3 "$T/auth.db" "
INSERT INTO spf_results (message, identity, domain, result, mechanism, time)
  SELECT id, 'mailfrom', 'spf-fail.example', 'fail', '-all', $now_us
  FROM messages WHERE track_id IN ('$DUP1', '$DUP2');
INSERT INTO spf_results (message, identity, domain, result, time)
  SELECT id, 'helo', 'spf-temp.example', 'temperror', $now_us
  FROM messages WHERE track_id = '$ESC';
INSERT INTO dkim_signatures (message, seq, domain, selector, algorithm,
  key_bits, result, reason, time)
  SELECT id, 1, 'dkim-fail.example', 'sel', 'rsa-sha256', 2048, 'fail',
  'body hash did not verify', $now_us FROM messages WHERE track_id = '$FIRST';
UPDATE messages SET spf_result = 'fail' WHERE track_id IN ('$DUP1', '$DUP2');
UPDATE messages SET dkim_result = 'fail' WHERE track_id = '$FIRST';"
run_on "$T/auth.db" audit
like "$OUT" "spf-fail.example +mailfrom +fail +2 " "audit: SPF failures by domain"
like "$OUT" "spf-temp.example +helo +temperror +1 " "audit: SPF temperror of the HELO identity"
like "$OUT" "dkim-fail.example +fail +body hash did not verify +1 " "audit: DKIM failures by reason"
run_on "$T/auth.db" audit --json
is "$(jget "$T/out" "[g['count'] for g in d['spf']['groups'] if g['domain'] == 'spf-fail.example']")" \
    "[2]" "audit --json: SPF group count"
run_on "$T/auth.db" find --json --spf fail
is "$(jget "$T/out" "d['count']")" 2 "find --spf fail"
run_on "$T/auth.db" find --json --dkim fail
is "$(jget "$T/out" "d['messages'][0]['track_id']")" "$FIRST" "find --dkim fail"
run_on "$T/auth.db" show "$DUP1"
like "$OUT" "SPF          mailfrom spf-fail.example: fail \(-all\)" "show prints the SPF result"
run_on "$T/auth.db" show "$FIRST"
like "$OUT" "DKIM         d=dkim-fail.example s=sel rsa-sha256 2048 bits: fail \(body hash did not verify\)" \
    "show prints the DKIM signature and its reason"

# ---------------------------------------------------------------- delivery
# Rows as the store links them: "message" is the message's id.  The first
# message's accepted recipient is deferred, then sent and handed on; its
# rejected one stays rejected; ESC's first recipient bounces with a reply
# that carries escape sequences; a notice the MTA generated is log-only.
sqlite3 "$DB" ".backup $T/dlv.db"
t0=$(( ($(date +%s) - 3600) * 1000000 ))
R1=$(sql "$DB" "SELECT r.address FROM recipients r JOIN messages m ON m.id = r.message WHERE m.track_id = '$FIRST' AND r.status = 'accepted' ORDER BY r.seq LIMIT 1")
RE=$(sql "$DB" "SELECT r.address FROM recipients r JOIN messages m ON m.id = r.message WHERE m.track_id = '$ESC' AND r.status = 'accepted' ORDER BY r.seq LIMIT 1")
sqlite3 "$T/dlv.db" "
INSERT INTO delivery_events (message, queue_id, time, mta, recipient, status,
  relay, dsn, reply_code, reply, delay, delays, next_queue_id, source, line_hash)
  SELECT id, queue_id, $t0 + 1000000, 'postfix', '$R1', 'deferred',
  'mx.example.net[192.0.2.1]:25', '4.7.1', 451, '451 4.7.1 greylisted', 1,
  '0.1/0/0.2/0.7', NULL, 'ingest', 1 FROM messages WHERE track_id = '$FIRST';
INSERT INTO delivery_events (message, queue_id, time, mta, recipient, status,
  relay, dsn, reply_code, reply, delay, delays, next_queue_id, source, line_hash)
  SELECT id, queue_id, $t0 + 600000000, 'postfix', upper('$R1'), 'sent',
  'mx.example.net[192.0.2.1]:25', '2.0.0', 250,
  '250 2.0.0 Ok: queued as 9NEXT1', 600, '0.1/0/0.2/599', '9NEXT1', 'ingest',
  2 FROM messages WHERE track_id = '$FIRST';
INSERT INTO delivery_events (message, queue_id, time, mta, recipient, status,
  relay, dsn, reply_code, reply, delay, source, line_hash)
  SELECT id, IFNULL(queue_id, 'NOQ'), $t0 + 2000000, 'postfix', '$RE',
  'bounced', 'evil.example[203.0.113.1]:25', '5.1.1', 550,
  CAST(X'35353020352E312E31201B5D303B6F776E65641B5C1B5B324A207573657220756E6B6E6F776E' AS TEXT),
  2, 'ingest', 3 FROM messages WHERE track_id = '$ESC';
INSERT INTO delivery_events (message, queue_id, time, mta, recipient, status,
  relay, dsn, reply, delay, source, line_hash) VALUES
  (NULL, '9NDR01', $t0 + 3000000, 'postfix', 'alice@example.org', 'sent',
  'local', '2.0.0', 'delivered to mailbox', 0.1, 'ingest', 4);
INSERT INTO queue_events (message, queue_id, time, mta, kind, sender, nrcpt,
  source, line_hash) VALUES
  (NULL, '9NDR01', $t0 + 2500000, 'postfix', 'queued', '', 1, 'ingest', 5);
INSERT INTO log_positions (path, offset, updated, lines, unparsed, too_long)
  VALUES ('/var/log/mail.log', 4096, $t0, 40, 2, 0);" ||
    fail "delivery rows inserted"

run_on "$T/dlv.db" show "$FIRST"
for want in "Delivery  1 delivered, 1 pending, 1 rejected" \
    "<$R1>  delivered to mx.example.net (250 2.0.0 Ok: queued as 9NEXT1)" \
    "deferred via mx.example.net[192.0.2.1]:25, dsn 4.7.1, delay 1s (a/b/c/d 0.1/0/0.2/0.7)" \
    "= temporary: delivery not authorized" \
    "handed to mx.example.net[192.0.2.1]:25 as 9NEXT1" \
    "<blocked@example.net>  rejected at RCPT"; do
	case $OUT in
	*"$want"*) pass "show's Delivery prints \"$want\"" ;;
	*) fail "show's Delivery prints \"$want\""; diag "$OUT" ;;
	esac
done
run_on "$T/dlv.db" show --json "$FIRST"
is "$(jget "$T/out" "d['messages'][0]['delivery']['summary'], [r['state'] for r in d['messages'][0]['delivery']['recipients']][0], len(d['messages'][0]['delivery']['recipients'][0]['timeline'])")" \
    "1 delivered, 1 pending, 1 rejected delivered 2" "show --json: delivery, states, timeline"
run_on "$T/dlv.db" show "$ESC"
ok "$(no_esc "$T/out"; echo $?)" "a hostile reply in the timeline: no raw ESC byte"
like "$OUT" "bounced: 550 5.1.1 .x1b]0;owned.x1b" "the hostile reply, escaped"
run_on "$T/dlv.db" show 9NDR01
like "$RC:$OUT" "^0:Queue ID 9NDR01  known from the MTA's log only" "show of a log-only queue ID"
like "$OUT" "<alice@example.org>  delivered to local" "log-only queue ID: its delivery"
run_on "$T/dlv.db" show --json 9NDR01
is "$(jget "$T/out" "d['count'], d['log_only']['queue_id'], d['log_only']['counts']")" \
    "0 9NDR01 {'delivered': 1}" "show --json of a log-only queue ID"
run_on "$T/dlv.db" show 9NOPE9
is "$RC" 1 "a queue ID nobody knows: exit 1"

run_on "$T/dlv.db" find --json --limit 0 --status bounced
is "$(jget "$T/out" "d['count'], d['messages'][0]['track_id']")" "1 $ESC" "find --status bounced"
run_on "$T/dlv.db" find --json --limit 0 --status delivered --to "$R1"
is "$(jget "$T/out" "[m['track_id'] for m in d['messages']]")" "['$FIRST']" \
    "find --to --status delivered: did they get it?"
run_on "$T/dlv.db" find --to "$R1"
like "$OUT" "DELIVERY" "find's list has a DELIVERY column"
like "$OUT" "delivered \\(all: 1 delivered, 1 pending, 1 rejected\\)" \
    "find --to: that recipient's state first, then the message's"
run_on "$T/dlv.db" find --status pending --json --limit 0
ok "$([ "$(jget "$T/out" "d['count']")" -ge 1 ]; echo $?)" "find --status pending"
run find --status delivered
is "$RC" 1 "find --status delivered, nothing delivered yet: exit 1"

run_on "$T/dlv.db" stats --json --since 2h
is "$(jget "$T/out" "d['delivery']['events'], d['delivery']['by_status']['sent'], d['delivery']['finished'], d['delivery']['log_files'][0]['unparsed']")" \
    "4 2 3 2" "stats --json: delivery figures"
run_on "$T/dlv.db" stats --since 2h
like "$OUT" "Top bounce reasons" "stats: top bounce reasons"
ok "$(no_esc "$T/out"; echo $?)" "stats: no raw ESC byte"

run_on "$T/dlv.db" export --all --format csv
like "$(head -n 1 "$T/out")" ",delivery,delivery_states" "export csv: delivery columns"
run_on "$T/dlv.db" export --all
ok "$(python3 -c 'import json,sys
n = 0
for l in open(sys.argv[1]):
    d = json.loads(l)
    n += "delivery" in d
sys.exit(0 if n > 0 else 1)' "$T/out"; echo $?)" "export jsonl: each record carries its delivery"

"$MT" -j "$T/dlv.db" tail -n 0 --json --to "$R1" >"$T/tail.dlv" 2>&1 &
TAIL_DLV=$!
track_pid "$TAIL_DLV"
sleep 1
sqlite3 "$T/dlv.db" "INSERT INTO delivery_events (message, queue_id, time,
  mta, recipient, status, relay, dsn, reply, source, line_hash) VALUES
  (NULL, '9NEXT1', $t0 + 601000000, 'postfix', '$R1', 'sent', 'local',
  '2.0.0', 'delivered', 'ingest', 6),
  (NULL, '9OTHER', $t0 + 602000000, 'postfix', 'nobody@example.org', 'sent',
  'local', '2.0.0', 'delivered', 'ingest', 7);"
wait_for 10 sh -c "grep -q 9NEXT1 '$T/tail.dlv'"
kill "$TAIL_DLV" 2>/dev/null
wait "$TAIL_DLV" 2>/dev/null
untrack_pid "$TAIL_DLV"
is "$(python3 -c 'import json,sys
print([(d["record"], d["queue_id"]) for d in map(json.loads, open(sys.argv[1]))])' "$T/tail.dlv")" \
    "[('delivery', '9NEXT1')]" "tail prints a new delivery event that matches --to, only it"
run_on "$T/dlv.db" show "$FIRST"
like "$OUT" "9NEXT1 continues in this journal: sent via local" "show follows the hand-off into the next queue ID"

# ---------------------------------------------------------------- config
printf 'journal = {\n\tpath = "%s";\n};\n' "$DB" >"$T/m.conf"
"$MT" -c "$T/m.conf" find --limit 1 >"$T/out" 2>"$T/err"
is "$?" 0 "-c FILE reads journal.path"
printf 'journal = {\n\tpaht = "%s";\n};\n' "$DB" >"$T/bad.conf"
"$MT" -c "$T/bad.conf" find >"$T/out" 2>"$T/err"
like "$?:$(cat "$T/err")" "^2:.*bad.conf:2" "a bad configuration file: exit 2, file and line"
"$MT" -c "$T/nonexistent.conf" find >/dev/null 2>"$T/err"
is "$?" 2 "a missing configuration file: exit 2"

# ---------------------------------------------------------------- help
for cmd in show find tail audit stats explain export; do
	"$MT" "$cmd" --help >"$T/out" 2>&1
	like "$?:$(head -n 1 "$T/out")" "^0:usage: mailtrail $cmd" "$cmd --help"
	"$MT" help "$cmd" >"$T/out" 2>&1
	like "$?:$(head -n 1 "$T/out")" "^0:usage: mailtrail $cmd" "help $cmd"
done
"$MT" --help >/dev/null 2>&1
is "$?" 0 "mailtrail --help: exit 0"
"$MT" >/dev/null 2>&1
is "$?" 2 "mailtrail without a command: exit 2"
"$MT" frobnicate >/dev/null 2>&1
is "$?" 2 "an unknown command: exit 2"
"$MT" --version >"$T/out" 2>&1
like "$?:$(cat "$T/out")" "^0:mailtrail [0-9]" "mailtrail --version"

# ---------------------------------------------------------------- access
mt_stop
is "$?" 0 "daemon stops cleanly"
run find --limit 1
is "$RC" 0 "the journal reads after the daemon stopped"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	mkdir "$T/ro"
	cp "$DB" "$DB-wal" "$DB-shm" "$T/ro/" 2>/dev/null
	chgrp -R nogroup "$T/ro" && chmod 0750 "$T/ro" && chmod 0640 "$T/ro"/*
	before=$(cat "$T/ro"/* | sha256sum)
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$MT" -j "$T/ro/journal.db" find --limit 0 --json >"$T/out" 2>"$T/err"
	is "$?:$(jget "$T/out" "d['count']")" "0:$((TOTAL + 8))" \
	    "a member of the journal's group reads it without root"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$MT" -j "$T/ro/journal.db" show "$FIRST" >/dev/null 2>"$T/err"
	is "$?" 0 "and can show a message"
	setpriv --reuid=nobody --regid=65000 --clear-groups \
	    "$MT" -j "$T/ro/journal.db" find >/dev/null 2>"$T/err"
	like "$?:$(cat "$T/err")" "^2:.*cannot read journal .*Permission denied" \
	    "anyone else is refused, with the reason"
	is "$(cat "$T/ro"/* | sha256sum)" "$before" "reading never changed the journal"
else
	pass "# SKIP group access needs root and setpriv"
fi

done_testing
