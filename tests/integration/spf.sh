#!/bin/bash
# spf.sh - SPF through the real daemon, against a real DNS server.
#
# The daemon and miltertest run inside a network namespace whose
# resolv.conf points at a private unbound (tests/lib/dns.sh) serving a zone
# with a record for every SPF result: pass (ip4, a, mx, include:), fail with
# exp=, softfail, neutral, none, permerror (more than 10 DNS lookups),
# temperror (a name whose server never answers), redirect=, the HELO
# identity and the null sender.  Each message's Authentication-Results is
# read back field by field, and the journal's spf_results rows checked.
# Then the DNS server is stopped mid-test: temperror within the deadline,
# and mail still flows.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/dns.sh"
. "$top_srcdir/tests/lib/milter.sh"

dns_require
require_tool miltertest sqlite3 python3
BIN=$(mt_binary)
[ -x "$BIN" ] || skip_all "daemon not built"
mt_tmpdir T
LUADIR=$top_srcdir/tests/integration
SOCK=unix:$T/milter.sock
JOURNAL=$T/journal.db
AUTHSERV=mx.mailtrail.example

{
	cat <<'EOF'
pass.example.com	TXT	v=spf1 ip4:192.0.2.0/24 -all
fail.example.com	TXT	v=spf1 -all exp=explain.example.com
explain.example.com	TXT	%{i} may not send mail for %{d}
soft.example.com	TXT	v=spf1 ~all
neutral.example.com	TXT	v=spf1 ?all
none.example.com	A	192.0.2.99
inc.example.com		TXT	v=spf1 include:pass.example.com -all
amech.example.com	TXT	v=spf1 a -all
amech.example.com	A	192.0.2.1
mxmech.example.com	TXT	v=spf1 mx -all
mxmech.example.com	MX	10 mx.mxmech.example.com
mx.mxmech.example.com	A	192.0.2.1
redir.example.com	TXT	v=spf1 redirect=fail.example.com
temp.example.com	TIMEOUT
helo.example.org	TXT	v=spf1 ip4:192.0.2.1 -all
badhelo.example.org	TXT	v=spf1 -all
v6.example.net		TXT	v=spf1 ip6:2001:db8::/32 -all
EOF
	# permerror: eleven DNS-querying mechanisms (RFC 7208 4.6.4 allows 10)
	printf 'perm.example.com\tTXT\tv=spf1'
	for i in $(seq 1 11); do printf ' a:h%d.example.com' "$i"; done
	printf ' -all\n'
	for i in $(seq 1 11); do printf 'h%d.example.com\tA\t198.51.100.%d\n' "$i" "$i"; done
} >"$T/zone"
dns_start "$T/zone" || bail_out "DNS server did not start"

DPID=
start_daemon()
{
	rm -f "$T/milter.sock"
	ip netns exec "$DNS_NS" "$BIN" -f -p "$SOCK" -j "$JOURNAL" \
	    -o "authres.authserv_id=$AUTHSERV" -o spf.timeout=500 \
	    -o spf.attempts=1 -o spf.deadline=2000 -o dkim.enabled=false \
	    -o 'trusted_networks=127.0.0.0/8' "$@" >>"$T/milter.log" 2>&1 &
	DPID=$!
	track_pid "$DPID"
	wait_for 15 test -S "$T/milter.sock" || bail_out "daemon did not start"
}

stop_daemon()
{
	kill -TERM "$DPID"
	wait "$DPID"
	local rc=$?
	untrack_pid "$DPID"
	return $rc
}

run_cases()
{
	timeout 300 ip netns exec "$DNS_NS" miltertest -D sock="$SOCK" -D lib="$LUADIR/lib.lua" \
	    -D cases="$1" -s "$LUADIR/auth.lua" >"$2" 2>&1
	is "$?" 0 "miltertest ran $(basename "$1")"
	if grep -q '^CHECK fail' "$2"; then
		diag "$(grep '^CHECK fail' "$2")"
		fail "miltertest checks"
	fi
}

# The parsed Authentication-Results of case NAME, one result a line.
ar_of()
{
	local v
	v=$(sed -n "s/^AR $1 //p" "$T/out")
	python3 "$top_srcdir/tests/lib/authres.py" "$v"
}

# check NAME RESULT [PROPERTY=VALUE...]: the spf= result and properties
check_spf()
{
	local name=$1 want=$2 line p
	shift 2
	line=$(ar_of "$name" | grep '^spf ')
	is "$(echo "$line" | cut -d' ' -f2)" "$want" "$name: Authentication-Results spf=$want"
	for p in "$@"; do
		ok "$(echo " $line " | grep -qF " $p "; echo $?)" \
		    "$name: Authentication-Results has $p" || diag "got: $line"
	done
}

id_of() { sed -n "s/^ID $1 //p" "$T/out"; }

spf_row()
{
	sql "$JOURNAL" "SELECT s.result || '|' || IFNULL(s.domain, '') FROM spf_results s
	    JOIN messages m ON m.id = s.message WHERE m.track_id = '$(id_of "$1")'
	    AND s.identity = '$2'"
}

start_daemon -o spf.received_spf_header=true
cat >"$T/cases" <<'EOF'
# name		client		helo			mail from
pass		192.0.2.1	helo.example.org	alice@pass.example.com
fail		192.0.2.1	helo.example.org	bob@fail.example.com
softfail	192.0.2.1	helo.example.org	carol@soft.example.com
neutral		192.0.2.1	helo.example.org	dave@neutral.example.com
none		192.0.2.1	helo.example.org	erin@none.example.com
include		192.0.2.1	helo.example.org	frank@inc.example.com
a		192.0.2.1	helo.example.org	gina@amech.example.com
mx		192.0.2.1	helo.example.org	hugo@mxmech.example.com
redirect	192.0.2.1	helo.example.org	ivan@redir.example.com
permerror	192.0.2.1	helo.example.org	judy@perm.example.com
temperror	192.0.2.1	helo.example.org	ken@temp.example.com
nullsender	192.0.2.1	helo.example.org	-
nullbadhelo	192.0.2.1	badhelo.example.org	-
ipv6		2001:db8::1	helo.example.org	lou@v6.example.net
outside		198.51.100.1	helo.example.org	mia@pass.example.com
trusted		127.0.0.1	helo.example.org	ned@fail.example.com
EOF
t0=$(date +%s%N)
run_cases "$T/cases" "$T/out"
note "16 messages with SPF took $(( ($(date +%s%N) - t0) / 1000000 )) ms"

is "$(ar_of pass | sed -n 1p)" "authserv-id $AUTHSERV" "our authserv-id leads the header"
check_spf pass pass smtp.mailfrom=alice@pass.example.com
check_spf fail fail smtp.mailfrom=bob@fail.example.com
check_spf softfail softfail smtp.mailfrom=carol@soft.example.com
check_spf neutral neutral
check_spf none none
check_spf include pass
check_spf a pass
check_spf mx pass
check_spf redirect fail
check_spf permerror permerror
check_spf temperror temperror
check_spf nullsender pass smtp.helo=helo.example.org
check_spf nullbadhelo fail smtp.helo=badhelo.example.org
check_spf ipv6 pass smtp.mailfrom=lou@v6.example.net
check_spf outside fail
is "$(ar_of trusted | grep -c '^spf ')" 0 "trusted client: no spf= (skipped)"
like "$(sed -n 's/^RSPF pass //p' "$T/out")" "^pass .*client-ip=192.0.2.1;" \
    "Received-SPF added when asked for"

# The journal: both identities, the domain, what decided, the explanation.
is "$(spf_row pass mailfrom)" "pass|pass.example.com" "journal: pass, MAIL FROM domain"
is "$(spf_row pass helo)" "pass|helo.example.org" "journal: HELO identity recorded too"
is "$(spf_row fail mailfrom)" "fail|fail.example.com" "journal: fail"
like "$(sql "$JOURNAL" "SELECT explanation FROM spf_results s JOIN messages m
    ON m.id = s.message WHERE m.track_id = '$(id_of fail)' AND identity = 'mailfrom'")" \
    "192.0.2.1 may not send mail for fail.example.com" "journal: the exp= explanation, expanded"
is "$(spf_row temperror mailfrom | cut -d'|' -f1)" temperror "journal: temperror"
ok "$([ "$(sql "$JOURNAL" "SELECT elapsed_us FROM spf_results s JOIN messages m
    ON m.id = s.message WHERE m.track_id = '$(id_of temperror)'
    AND identity = 'mailfrom'")" -le 2600000 ]; echo $?)" \
    "temperror within the deadline (2 s) plus slack"
is "$(spf_row nullsender mailfrom | cut -d'|' -f1)" pass "journal: null sender checked as postmaster@HELO"
is "$(sql "$JOURNAL" "SELECT s.result || '|' || s.skip_reason FROM spf_results s
    JOIN messages m ON m.id = s.message WHERE m.track_id = '$(id_of trusted)'
    AND identity = 'mailfrom'")" "skipped|trusted network" "journal: trusted client skipped, with the reason"
is "$(sql "$JOURNAL" "SELECT spf_result FROM messages WHERE track_id = '$(id_of fail)'")" \
    fail "journal: the message's SPF summary"
like "$(sql "$JOURNAL" "SELECT authres FROM messages WHERE track_id = '$(id_of pass)'")" \
    "^$AUTHSERV;" "journal: the Authentication-Results we added"
is "$(sql "$JOURNAL" "SELECT COUNT(*) FROM spf_results s JOIN messages m ON m.id = s.message
    WHERE m.track_id = '$(id_of permerror)' AND s.mechanism IS NOT NULL
    AND s.mechanism <> ''")" 2 "journal: what decided is recorded for both identities"

# ---------------------------------------------------------------- DNS dies
dns_stop
cat >"$T/cases2" <<'EOF'
deadpass	192.0.2.1	helo2.example.org	oscar@pass.example.com
deadtwo		192.0.2.1	helo3.example.org	pat@soft.example.com
EOF
t0=$(date +%s%N)
timeout 120 ip netns exec "$DNS_NS" miltertest -D sock="$SOCK" -D lib="$LUADIR/lib.lua" \
    -D cases="$T/cases2" -s "$LUADIR/auth.lua" >"$T/out" 2>&1
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$(grep -c '^CHECK ok' "$T/out")" 2 "DNS down: both messages accepted (mail flows)"
check_spf deadpass temperror
check_spf deadtwo temperror
note "two messages with the DNS server down took $ms ms"
ok "$([ "$ms" -lt 10000 ]; echo $?)" "DNS down: each evaluation bounded by its deadline"

stop_daemon
is "$?" 0 "daemon stops cleanly"
is "$(sql "$JOURNAL" 'PRAGMA integrity_check')" ok "journal is sound"
done_testing
