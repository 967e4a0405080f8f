#!/bin/bash
# dkim.sh - DKIM through the real daemon, keys served by a real DNS server.
#
# Messages are signed by a real signer we did not write (the opendkim
# binary in sign mode, tests/lib/dkimsign.sh); the public keys are served
# by the private unbound of tests/lib/dns.sh, and the daemon and miltertest
# run in its network namespace.  Checked: a good signature passes (RSA-2048,
# RSA-1024, ed25519); one body byte changed fails with "body hash
# mismatch"; a changed signed header fails the signature; an unknown
# selector gives "key not found"; a revoked key (p= empty); an RSA-512 key
# is policy (RFC 8301); two signatures (one good, one bad) are both
# recorded; unsigned mail is "none".  Each added Authentication-Results is
# read back field by field, and the dkim_signatures rows are checked.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/dns.sh"
. "$top_srcdir/tests/lib/milter.sh"
. "$top_srcdir/tests/lib/dkimsign.sh"

dns_require
require_tool miltertest sqlite3 python3
dkimsign_have_signer || skip_all "opendkim (sign mode) or openssl not installed"
BIN=$(mt_binary)
[ -x "$BIN" ] || skip_all "daemon not built"
mt_tmpdir T
LUADIR=$top_srcdir/tests/integration
SOCK=unix:$T/milter.sock
JOURNAL=$T/journal.db
AUTHSERV=mx.mailtrail.example
D=signer.example.com

# ---------------------------------------------------------------- keys, zone
for k in rsa2048 rsa1024 rsa512 ed25519; do
	dkimsign_genkey "$k" "$T/$k.key" || bail_out "cannot make a $k key"
done
{
	echo "k2048._domainkey.$D	TXT	$(cat "$T/rsa2048.key.txt")"
	echo "k1024._domainkey.$D	TXT	$(cat "$T/rsa1024.key.txt")"
	echo "k512._domainkey.$D	TXT	$(cat "$T/rsa512.key.txt")"
	echo "ked._domainkey.$D		TXT	$(cat "$T/ed25519.key.txt")"
	echo "revoked._domainkey.$D	TXT	v=DKIM1; k=rsa; p="
	echo "slow._domainkey.$D	TIMEOUT"
} >"$T/zone"
dns_start "$T/zone" || bail_out "DNS server did not start"

# ---------------------------------------------------------------- messages
base()
{
	printf 'From: Alice <alice@%s>\r\nTo: bob@example.net\r\nSubject: %s\r\nDate: Wed, 25 Nov 2026 12:00:00 +0000\r\nMessage-ID: <%s@%s>\r\n\r\nHello Bob,\r\nthis message is signed.\r\n' \
	    "$D" "$1" "$1" "$D" >"$T/$1.in"
}

# sign NAME KEY SELECTOR [CANON]: NAME.eml signed with KEY as SELECTOR
sign()
{
	base "$1"
	dkimsign_sign "$T/$2.key" "$D" "$3" "$T/$1.in" "$T/$1.eml" "${4:-}" ||
	    bail_out "signing $1 failed"
}

sign good rsa2048 k2048
sign good1024 rsa1024 k1024 relaxed/relaxed
sign goodeddsa ed25519 ked relaxed/relaxed
sign weak rsa512 k512
sign nokey rsa2048 nosuchselector
sign revoked rsa2048 revoked
sign slow rsa2048 slow
sign bodyhash rsa2048 k2048
sed -i 's/this message is signed/this message is signet/' "$T/bodyhash.eml"
sign header rsa2048 k2048
sed -i 's/^Subject: header/Subject: changed/' "$T/header.eml"
# Two signatures: a good one (k1024) on top of a bad one (no such key).
sign two rsa2048 nosuchselector
dkimsign_sign "$T/rsa1024.key" "$D" k1024 "$T/two.eml" "$T/two2.eml" \
    relaxed/relaxed || bail_out "second signature failed"
base unsigned
mv "$T/unsigned.in" "$T/unsigned.eml"

# ---------------------------------------------------------------- daemon
ip netns exec "$DNS_NS" "$BIN" -f -p "$SOCK" -j "$JOURNAL" \
    -o "authres.authserv_id=$AUTHSERV" -o spf.enabled=false \
    -o dkim.timeout=1500 >>"$T/milter.log" 2>&1 &
DPID=$!
track_pid "$DPID"
wait_for 15 test -S "$T/milter.sock" || bail_out "daemon did not start"

cat >"$T/cases" <<EOF
good		192.0.2.1 c.example a@$D $T/good.eml
good1024	192.0.2.1 c.example a@$D $T/good1024.eml
goodeddsa	192.0.2.1 c.example a@$D $T/goodeddsa.eml
weak		192.0.2.1 c.example a@$D $T/weak.eml
nokey		192.0.2.1 c.example a@$D $T/nokey.eml
revoked		192.0.2.1 c.example a@$D $T/revoked.eml
slow		192.0.2.1 c.example a@$D $T/slow.eml
bodyhash	192.0.2.1 c.example a@$D $T/bodyhash.eml
header		192.0.2.1 c.example a@$D $T/header.eml
two		192.0.2.1 c.example a@$D $T/two2.eml
unsigned	192.0.2.1 c.example a@$D $T/unsigned.eml
EOF
timeout 300 ip netns exec "$DNS_NS" miltertest -D sock="$SOCK" \
    -D lib="$LUADIR/lib.lua" -D cases="$T/cases" -s "$LUADIR/auth.lua" \
    >"$T/out" 2>&1
is "$?" 0 "miltertest ran"
if grep -q '^CHECK fail' "$T/out"; then
	diag "$(grep '^CHECK fail' "$T/out")"
	fail "miltertest checks"
fi

ar_of()
{
	python3 "$top_srcdir/tests/lib/authres.py" \
	    "$(sed -n "s/^AR $1 //p" "$T/out")" | grep '^dkim '
}
id_of() { sed -n "s/^ID $1 //p" "$T/out"; }
rows()
{
	sql "$JOURNAL" "SELECT s.result || '|' || IFNULL(s.reason, '') || '|' ||
	    IFNULL(s.domain, '') || '|' || IFNULL(s.selector, '') || '|' ||
	    IFNULL(s.algorithm, '') || '|' || IFNULL(s.key_bits, '')
	    FROM dkim_signatures s JOIN messages m ON m.id = s.message
	    WHERE m.track_id = '$(id_of "$1")' ORDER BY s.seq"
}

# check NAME RESULT REASON-REGEX [PROPERTY=VALUE ...]
check()
{
	local name=$1 result=$2 reason=$3 line p
	shift 3
	line=$(ar_of "$name" | sed -n 1p)
	is "$(echo "$line" | cut -d' ' -f2)" "$result" \
	    "$name: Authentication-Results dkim=$result"
	for p in "$@"; do
		ok "$(echo " $line " | grep -qF " $p "; echo $?)" \
		    "$name: Authentication-Results has $p" || diag "got: $line"
	done
	like "$(rows "$name" | head -n 1)" "^$result\\|$reason\\|" \
	    "$name: journal row $result ($reason)"
}

check good pass "" "header.d=$D" header.s=k2048
like "$(rows good)" "^pass\\|\\|$D\\|k2048\\|rsa-sha256\\|2048$" "good: d=, s=, a= and key size recorded"
hb=$(ar_of good | tr ' ' '\n' | sed -n 's/^header.b=//p')
is "${#hb}" 8 "good: header.b carries the first 8 characters of b="
check good1024 pass "" header.s=k1024
like "$(rows good1024)" "\\|1024$" "good1024: a 1024-bit key is enough (RFC 8301)"
check goodeddsa pass "" header.s=ked
like "$(rows goodeddsa)" "\\|ed25519-sha256\\|" "goodeddsa: ed25519-sha256 (RFC 8463)"
check weak policy "key too small.*" header.s=k512
check nokey permerror "key not found" header.s=nosuchselector
check revoked permerror "key revoked"
check slow temperror ".*"
check bodyhash fail "body hash mismatch"
check header fail "bad signature"
is "$(rows two | cut -d'|' -f1,4 | tr '\n' ' ')" "pass|k1024 permerror|nosuchselector " \
    "two: both signatures recorded, the good and the bad"
is "$(ar_of two | wc -l)" 2 "two: one dkim= per signature in Authentication-Results"
is "$(python3 "$top_srcdir/tests/lib/authres.py" "$(sed -n 's/^AR unsigned //p' "$T/out")" |
    grep '^dkim ' | cut -d' ' -f2)" none "unsigned: dkim=none"
is "$(sql "$JOURNAL" "SELECT dkim_result FROM messages WHERE track_id = '$(id_of unsigned)'")" \
    none "unsigned: journal dkim_result none"
is "$(sql "$JOURNAL" "SELECT dkim_result FROM messages WHERE track_id = '$(id_of bodyhash)'")" \
    fail "bodyhash: journal dkim_result fail"
is "$(python3 "$top_srcdir/tests/lib/authres.py" "$(sed -n 's/^AR good //p' "$T/out")" |
    sed -n 1p)" "authserv-id $AUTHSERV" "our authserv-id leads the header"

kill -TERM "$DPID"
wait "$DPID"
is "$?" 0 "daemon stops cleanly"
untrack_pid "$DPID"
done_testing
