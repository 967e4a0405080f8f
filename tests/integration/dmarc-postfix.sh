#!/bin/bash
# dmarc-postfix.sh - DMARC through a real Postfix, in the private DNS
# namespace: what the recipient sees and what the journal holds.
#
# Like auth-postfix.sh, the script starts the DNS harness and runs itself
# again inside the namespace, where the private Postfix, smtp-sink, the
# daemon and swaks run.  The client connects from 192.0.2.1 (outside
# trusted_networks).  Signatures come from the real signer (opendkim in
# sign mode) or, for an ESP signing mail From: another domain, from
# dkimsign_sign_exact.  One case a line: the From: domain, the envelope,
# the zone's records; at the sink, the dmarc= result of our
# Authentication-Results (read back by tests/lib/authres.py) with
# header.from and the policy; in the journal, the result, where the
# record was found, the tag that applied, the disposition, the reasons and
# the alignments.  Then enforcement: off by default (accepted), and with
# dmarc.enforce = reject a p=reject failure gets 550 with the configured
# text while a pass still goes through.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/dns.sh"
. "$top_srcdir/tests/lib/postfix.sh"
. "$top_srcdir/tests/lib/milter.sh"
. "$top_srcdir/tests/lib/dkimsign.sh"

AUTHSERV=mx.mailtrail.example
D=signer.example.com

if [ "${1:-}" != --inside ]; then
	dns_require
	require_tool postfix postconf postmap postqueue smtp-sink swaks sqlite3 python3
	dkimsign_have_signer || skip_all "opendkim (sign mode) or openssl not installed"
	[ -x "$(mt_binary)" ] || skip_all "daemon not built"
	mt_tmpdir T
	dkimsign_genkey rsa2048 "$T/k.key" || bail_out "no key"
	cat >"$T/zone" <<EOF
# The signer: DKIM key, SPF for the client's network, p=reject.
$D			TXT	v=spf1 ip4:192.0.2.0/24 -all
k._domainkey.$D		TXT	$(cat "$T/k.key.txt")
_dmarc.$D		TXT	v=DMARC1; p=reject
# Envelope domains: one that fails SPF, one that passes.
fail.example.org	TXT	v=spf1 -all
# SPF-only: the MAIL FROM domain is the From: domain.
spfonly.example		TXT	v=spf1 ip4:192.0.2.0/24 -all
_dmarc.spfonly.example	TXT	v=DMARC1; p=reject
# Each policy, failing.
_dmarc.pnone.example	TXT	v=DMARC1; p=none
_dmarc.pquar.example	TXT	v=DMARC1; p=quarantine
_dmarc.preject.example	TXT	v=DMARC1; p=reject
# sp= and np=: a subdomain that exists and one that does not.
_dmarc.spdom.example	TXT	v=DMARC1; p=reject; sp=quarantine; np=none
sub.spdom.example	A	192.0.2.80
# The tree walk: a record three labels up.
a.b.c.walk.example	A	192.0.2.81
_dmarc.walk.example	TXT	v=DMARC1; p=quarantine
# Alignment: relaxed passes a subdomain's SPF, strict does not.
mail.rel.example	TXT	v=spf1 ip4:192.0.2.0/24 -all
_dmarc.rel.example	TXT	v=DMARC1; p=reject
mail.strict.example	TXT	v=spf1 ip4:192.0.2.0/24 -all
_dmarc.strict.example	TXT	v=DMARC1; p=reject; aspf=s
# Strict, the From: domain a subdomain of the record's (envelope at the
# parent): strict wants the exact From: domain.
strict2.example		TXT	v=spf1 ip4:192.0.2.0/24 -all
sub.strict2.example	A	192.0.2.82
_dmarc.strict2.example	TXT	v=DMARC1; p=reject; aspf=s
# pct=0 and pct=50.
_dmarc.pct0.example	TXT	v=DMARC1; p=reject; pct=0
_dmarc.pct50.example	TXT	v=DMARC1; p=reject; pct=50
# A _dmarc lookup that times out, and one behind a CNAME.
_dmarc.slow.example	TIMEOUT
_dmarc.cname.example	CNAME	policy.target.example.
policy.target.example	TXT	v=DMARC1; p=quarantine
# The ESP case: brand.example's mail signed by $D, bounces to $D.
_dmarc.brand.example	TXT	v=DMARC1; p=reject
EOF
	dns_start "$T/zone" || bail_out "DNS server did not start"
	ip netns exec "$DNS_NS" bash "$0" --inside "$T"
	rc=$?
	_tap_done=1		# the inner run printed the plan and the results
	_tap_planned=0
	exit $rc
fi

# ---------------------------------------------------------------- inside
T=$2
PF=$T/pf
free_port SMTP_PORT
free_port SINK_PORT
SOCK=$T/milter.sock
JOURNAL=$T/journal.db

sink_start "$T" "$SINK_PORT" || bail_out "smtp-sink did not start"
pf_setup "$PF" "$SMTP_PORT" "$SINK_PORT" "unix:$SOCK" \
    "mynetworks = 127.0.0.0/8 192.0.2.0/24" 2>/dev/null || bail_out "pf_setup failed"

# start JOURNAL [OPTION...]: the daemon, DMARC with a short deadline
start()
{
	local j=$1
	shift
	mt_start "$T" "unix:$SOCK" "$j" -o milter.socket_mode=0666 \
	    -o "authres.authserv_id=$AUTHSERV" -o spf.enabled=true \
	    -o dkim.enabled=true -o spf.timeout=500 \
	    -o spf.deadline=3000 -o dmarc.timeout=1500 "$@" ||
	    bail_out "daemon did not start"
}
start "$JOURNAL"
pf_start "$PF" || bail_out "postfix did not start"

# msg NAME FROM [FROM2]: NAME.in with CRLF line ends
msg()
{
	{
		printf 'From: <%s>\r\n' "$2"
		[ -n "${3:-}" ] && printf 'From: <%s>\r\n' "$3"
		# A forged verdict claiming our authserv-id: it must not reach
		# the recipient (RFC 8601 section 5), dmarc= claims included.
		[ "$1" = preject ] && printf 'Authentication-Results: %s; dmarc=pass header.from=preject.example\r\n' "$AUTHSERV"
		printf 'To: <bob@example.net>\r\nSubject: %s\r\nDate: Tue, 08 Dec 2026 01:00:00 +0000\r\nMessage-ID: <%s@example.test>\r\n\r\nHello.\r\n' "$1" "$1"
	} >"$T/$1.in"
}
# plain NAME FROM [FROM2]: unsigned
plain() { msg "$@"; cp "$T/$1.in" "$T/$1.eml"; }
# signed NAME FROM: signed by the real signer as $D (From: must be in $D)
signed()
{
	msg "$1" "$2"
	dkimsign_sign "$T/k.key" "$D" k "$T/$1.in" "$T/$1.eml" || bail_out "sign $1"
}

# send NAME MAIL-FROM: swaks's output in NAME.swaks
send()
{
	swaks --server 127.0.0.1 --port "$SMTP_PORT" \
	    --local-interface 192.0.2.1 --helo client.example \
	    --from "$2" --to bob@example.net --data "$T/$1.eml" \
	    >"$T/$1.swaks" 2>&1
}

signed  dkim     "alice@$D"
plain   spf      "alice@spfonly.example"
plain   pnone    "x@pnone.example"
plain   pquar    "x@pquar.example"
plain   preject  "x@preject.example"
plain   sp       "x@sub.spdom.example"
plain   np       "x@nx.spdom.example"
plain   walk     "x@a.b.c.walk.example"
plain   relaxed  "x@rel.example"
plain   strict   "x@strict.example"
plain   strict2  "x@sub.strict2.example"
plain   pct0     "x@pct0.example"
plain   pct50    "x@pct50.example"
plain   slow     "x@slow.example"
plain   cname    "x@cname.example"
plain   twofrom  "x@preject.example" "y@pnone.example"
msg     esp      "news@brand.example"
dkimsign_sign_exact "$T/k.key" "$D" k "$T/esp.in" "$T/esp.eml" || bail_out "sign esp"

# NAME MAIL-FROM
cat >"$T/cases" <<EOF
dkim	bounce@fail.example.org
spf	bounce@spfonly.example
pnone	bounce@fail.example.org
pquar	bounce@fail.example.org
preject	bounce@fail.example.org
sp	bounce@fail.example.org
np	bounce@fail.example.org
walk	bounce@fail.example.org
relaxed	bounce@mail.rel.example
strict	bounce@mail.strict.example
strict2	bounce@strict2.example
pct0	bounce@fail.example.org
pct50	bounce@fail.example.org
slow	bounce@fail.example.org
cname	bounce@fail.example.org
twofrom	bounce@fail.example.org
esp	bounce@$D
EOF
while read -r name from; do
	send "$name" "$from"
	ok "$?" "$name: Postfix accepts the message (enforcement off by default)" ||
	    diag "$(cat "$T/$name.swaks")"
done <"$T/cases"
pf_wait_queue_empty "$PF" 60
ok "$?" "Postfix queue drained"
mt_stop
is "$?" 0 "daemon exits cleanly"

sink_of() { grep -l -a -F "Message-ID: <$1@example.test>" "$T"/sink/* 2>/dev/null | sed -n 1p; }
# The dmarc= result of our Authentication-Results at the sink, read back.
ar_dmarc()
{
	local f v
	f=$(sink_of "$1")
	[ -n "$f" ] || { echo "not delivered"; return; }
	v=$(sink_message "$f" | msg_headers /dev/stdin | tr -d '\r' |
	    grep -i "^Authentication-Results: $AUTHSERV;" | sed 's/^[^:]*: *//')
	python3 "$top_srcdir/tests/lib/authres.py" "$v" | grep '^dmarc '
}
# row NAME COLUMNS: the message's columns, '|' separated
row()
{
	sql "$JOURNAL" "SELECT $2 FROM messages
	    WHERE message_id = '<$1@example.test>'"
}
COLS="dmarc_result || '|' || IFNULL(dmarc_record_domain, '-') || '|' ||
    IFNULL(dmarc_policy_from, '-') || '|' || IFNULL(dmarc_policy, '-') ||
    '|' || IFNULL(dmarc_disposition, '-')"

# check NAME RESULT RECORD-DOMAIN TAG POLICY DISPOSITION REASONS [AR-PROPERTY...]
check()
{
	local name=$1 result=$2 want line p
	want="$2|$3|$4|$5|$6"
	shift 6
	local reasons=$1
	shift
	is "$(row "$name" "$COLS")" "$want" "$name: journal $want"
	is "$(row "$name" "IFNULL(dmarc_reasons, '')")" "$reasons" \
	    "$name: journal reasons \"$reasons\""
	line=$(ar_dmarc "$name")
	is "$(echo "$line" | cut -d' ' -f2)" "$result" \
	    "$name: Authentication-Results dmarc=$result at the sink"
	for p in "$@"; do
		ok "$(echo " $line " | grep -qF " $p "; echo $?)" \
		    "$name: Authentication-Results has $p" || diag "got: $line"
	done
}

check dkim pass "$D" p reject none "" "header.from=$D" polrec.p=reject
is "$(sql "$JOURNAL" "SELECT s.dmarc_align FROM dkim_signatures s JOIN messages m
    ON m.id = s.message WHERE m.message_id = '<dkim@example.test>'")" aligned \
    "dkim: the signature is recorded as aligned"
is "$(row dkim "dmarc_spf_align")" not-pass "dkim: SPF (fail) not the one that passed"
check spf pass spfonly.example p reject none "" header.from=spfonly.example
is "$(row spf "dmarc_spf_domain || '|' || dmarc_spf_align")" "spfonly.example|aligned" \
    "spf: the MAIL FROM domain aligned"
check pnone fail pnone.example p none none "no-auth,spf-fail" \
    header.from=pnone.example policy.dmarc=none
check pquar fail pquar.example p quarantine quarantine "no-auth,spf-fail" \
    polrec.p=quarantine policy.dmarc=quarantine
check preject fail preject.example p reject reject "no-auth,spf-fail" \
    polrec.p=reject policy.dmarc=reject
f=$(sink_of preject)
is "$(sink_message "$f" | msg_headers /dev/stdin | grep -c -i '^Authentication-Results:')" 1 \
    "preject: the forged dmarc=pass claiming $AUTHSERV is gone, ours alone"
is "$(sql "$JOURNAL" "SELECT e.value FROM header_edits e JOIN messages m ON m.id = e.message
    WHERE m.message_id = '<preject@example.test>' AND e.action = 'removed'")" \
    "$AUTHSERV; dmarc=pass header.from=preject.example" \
    "preject: the journal records the forged dmarc claim as removed"
check sp fail spdom.example sp quarantine quarantine "no-auth,spf-fail" \
    header.from=sub.spdom.example polrec.domain=spdom.example policy.dmarc=quarantine
check np fail spdom.example np none none "no-auth,spf-fail" \
    header.from=nx.spdom.example policy.dmarc=none
check walk fail walk.example p quarantine quarantine "no-auth,spf-fail" \
    header.from=a.b.c.walk.example polrec.domain=walk.example
check relaxed pass rel.example p reject none ""
is "$(row relaxed "dmarc_spf_domain || '|' || dmarc_spf_align || '|' || dmarc_aspf")" \
    "mail.rel.example|aligned|r" "relaxed: a subdomain's SPF aligns"
check strict fail strict.example p reject reject "no-auth,strict-mismatch" \
    header.from=strict.example
is "$(row strict "dmarc_spf_align || '|' || dmarc_aspf")" "strict-mismatch|s" \
    "strict: the same subdomain's SPF does not align under aspf=s"
check strict2 fail strict2.example p reject reject "no-auth,strict-mismatch" \
    header.from=sub.strict2.example
is "$(row strict2 "dmarc_spf_domain || '|' || dmarc_spf_align")" \
    "strict2.example|strict-mismatch" \
    "strict2: the record's own domain does not align with a subdomain From: under aspf=s"
check pct0 fail pct0.example p reject quarantine "no-auth,spf-fail" policy.dmarc=quarantine
is "$(row pct0 "dmarc_pct || '|' || dmarc_sampled_in")" "0|0" \
    "pct0: sampled out, the next lower policy applies"
s50=$(row pct50 "dmarc_sample")
want50=$([ "$s50" -lt 50 ] && echo "1|reject" || echo "0|quarantine")
is "$(row pct50 "dmarc_pct || '|' || dmarc_sampled_in")" "50|${want50%%|*}" \
    "pct50: sampled in exactly when the recorded draw ($s50) is below 50"
is "$(row pct50 "dmarc_disposition")" "${want50#*|}" "pct50: disposition follows the draw"
is "$(row pct50 "dmarc_sample")" "$(python3 - "$(row pct50 track_id)" <<'PY'
import sys
h = 2166136261
for c in sys.argv[1][10:].encode():
    h = ((h ^ c) * 16777619) & 0xffffffff
print(h % 100)
PY
)" "pct50: the draw is derived from the tracking ID (reproducible)"
check slow temperror - - - none "dns-temperror" header.from=slow.example
check cname fail cname.example p quarantine quarantine "no-auth,spf-fail" \
    header.from=cname.example
check twofrom permerror - - - none "bad-from"
is "$(row twofrom "dmarc_from_status || '|' || dmarc_from_count")" "multiple-fields|2" \
    "twofrom: two From: fields recorded as such"
check esp fail brand.example p reject reject "dkim-unaligned,spf-unaligned" \
    header.from=brand.example
is "$(sql "$JOURNAL" "SELECT s.result || '|' || s.domain || '|' || s.dmarc_align
    FROM dkim_signatures s JOIN messages m ON m.id = s.message
    WHERE m.message_id = '<esp@example.test>'")" "pass|$D|org-mismatch" \
    "esp: the ESP's own signature passes but is not aligned"
like "$(row esp dmarc_reason_text)" "$D" "esp: the reason names the ESP's domain"
is "$(sql "$JOURNAL" "SELECT COUNT(*) FROM messages WHERE outcome = 'accepted'")" 17 \
    "enforcement off: every message accepted"

# CLI over the same journal.
MT=$(dirname "$(mt_binary)")/mailtrail
if [ -x "$MT" ]; then
	"$MT" -j "$JOURNAL" show "$(row esp track_id)" >"$T/show.out" 2>&1
	like "$(cat "$T/show.out")" "DMARC +fail for From: brand.example" "show: DMARC result and From: domain"
	like "$(cat "$T/show.out")" "reason: .*$D" "show: the reason in words"
	"$MT" -j "$JOURNAL" find --dmarc temperror --since 1d >"$T/find.out" 2>&1
	is "$(grep -c "$(row slow track_id)" "$T/find.out")" 1 "find --dmarc temperror: the slow one"
	"$MT" -j "$JOURNAL" audit --since 1d >"$T/audit.out" 2>&1
	like "$(cat "$T/audit.out")" "DMARC failures" "audit: a DMARC section"
	like "$(cat "$T/audit.out")" "brand.example" "audit: the ESP case listed"
	# audit --by policy: p=reject domains, then ours (local_domains),
	# then p=quarantine, then p=none; pct= sampled out counted apart.
	printf 'dmarc = { local_domains = "pnone.example"; };\n' >"$T/cli.conf"
	"$MT" -c "$T/cli.conf" -j "$JOURNAL" --json audit --by policy --since 1d >"$T/policy.out" 2>&1
	is "$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))["dmarc"]["groups"]
print(" ".join("%s:%s:%s" % (g["domain"], g["policy"], g["sampled_out"]) for g in d))' "$T/policy.out")" \
	    "brand.example:p=reject:0 pct0.example:p=reject:1 pct50.example:p=reject:$([ "$s50" -lt 50 ] && echo 0 || echo 1) preject.example:p=reject:0 strict.example:p=reject:0 sub.strict2.example:p=reject:0 pnone.example:local:0 a.b.c.walk.example:p=quarantine:0 cname.example:p=quarantine:0 pquar.example:p=quarantine:0 sub.spdom.example:sp=quarantine:0 nx.spdom.example:np=none:0" \
	    "audit --by policy: reject first, then the local domain, then quarantine, then none; sampled out apart" ||
	    diag "$(cat "$T/policy.out")"
	"$MT" -j "$JOURNAL" --json stats --since 1d >"$T/stats.out" 2>&1
	is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["dmarc"]["fail"], d["dmarc"]["pass"], d["dmarc_reasons"]["no-auth"])' "$T/stats.out")" \
	    "12 3 11" "stats: DMARC per result and per class"
fi

# ---------------------------------------------------------------- enforcement
start "$T/enforce.db" -o dmarc.enforce=reject \
    -o 'dmarc.reject_reply=550 5.7.1 Rejected by the DMARC policy of %d: %r'
plain rej1 "x@preject.example"
send rej1 bounce@fail.example.org
ok "$([ "$?" != 0 ]; echo $?)" "enforce reject: Postfix refuses the p=reject failure"
like "$(tr -d '\r' <"$T/rej1.swaks")" "550[ -]5\\.7\\.1 Rejected by the DMARC policy of preject\\.example: " \
    "enforce reject: 550 5.7.1 with the configured text"
signed rej2 "alice@$D"
send rej2 bounce@fail.example.org
ok "$?" "enforce reject: a DMARC pass still goes through"
pf_wait_queue_empty "$PF" 30
mt_stop
is "$(sql "$T/enforce.db" "SELECT outcome || '|' || dmarc_action FROM messages
    WHERE message_id = '<rej1@example.test>'")" "rejected|reject" \
    "enforce reject: the journal says rejected"
is "$(sql "$T/enforce.db" "SELECT outcome || '|' || dmarc_action FROM messages
    WHERE message_id = '<rej2@example.test>'")" "accepted|none" \
    "enforce reject: the pass accepted"
is "$(sink_of rej1)" "" "enforce reject: nothing reached the sink"
done_testing
