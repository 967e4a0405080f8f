#!/bin/bash
# dmarc-bench.sh - the daemon's CPU per message with DMARC on and off.
#
# In the private DNS namespace (tests/lib/dns.sh: unbound serving the
# zone), miltertest sends N signed messages (one per connection, client
# 192.0.2.1, SPF pass, DKIM pass, a _dmarc record with p=reject) to a fresh
# mailtrail-milter with SPF and DKIM on, once with dmarc.enabled = true and
# once false, RUNS times interleaved.  For each run: the daemon's CPU time
# (utime + stime of the whole process from /proc/PID/stat) per message and
# the wall time per message.  Prints one line per run and the medians.
#
# Usage (root): tests/bench/dmarc-bench.sh [N [RUNS]]   (default 300, 3)
# Not part of "make check": it measures.  Signals only what it started.

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/dns.sh"
. "$top_srcdir/tests/lib/dkimsign.sh"
. "$top_srcdir/tests/lib/milter.sh"

N=${1:-300}
RUNS=${2:-3}
dns_require
require_tool miltertest
dkimsign_have_signer || skip_all "opendkim (sign mode) or openssl not installed"
BIN=$(mt_binary)
[ -x "$BIN" ] || skip_all "daemon not built"
mt_tmpdir T
D=signer.example.com
dkimsign_genkey rsa2048 "$T/k.key" || bail_out "no key"
cat >"$T/zone" <<EOF
$D			TXT	v=spf1 ip4:192.0.2.0/24 -all
k._domainkey.$D		TXT	$(cat "$T/k.key.txt")
_dmarc.$D		TXT	v=DMARC1; p=reject
EOF
dns_start "$T/zone" || bail_out "DNS server did not start"
printf 'From: <alice@%s>\r\nTo: <bob@example.net>\r\nSubject: bench\r\nDate: Tue, 08 Dec 2026 01:00:00 +0000\r\nMessage-ID: <bench@example.test>\r\n\r\n%s\r\n' \
    "$D" "$(head -c 3000 /dev/zero | tr '\0' 'x' | fold -w 70)" >"$T/m.in"
dkimsign_sign "$T/k.key" "$D" k "$T/m.in" "$T/m.eml" || bail_out "sign"
for i in $(seq 1 "$N"); do
	echo "m$i 192.0.2.1 client.example alice@$D $T/m.eml"
done >"$T/cases"

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# run ON|OFF K: prints "dmarc=on run K: cpu_ms_per_msg wall_ms_per_msg"
run()
{
	local sock=unix:$T/m$2.sock j=$T/j$2-$1.db pid t0 t1 c0 c1 ok
	rm -f "$T/m$2.sock"
	ip netns exec "$DNS_NS" "$BIN" -f -p "$sock" -j "$j" \
	    -o authres.authserv_id=mx.bench.example -o spf.enabled=true \
	    -o dkim.enabled=true -o "dmarc.enabled=$([ "$1" = on ] &&
	    echo true || echo false)" >>"$T/milter.log" 2>&1 &
	pid=$!
	track_pid "$pid"
	wait_for 15 test -S "$T/m$2.sock" || bail_out "daemon did not start"
	c0=$(ticks "$pid")
	t0=$(date +%s%N)
	ip netns exec "$DNS_NS" miltertest -D sock="$sock" \
	    -D lib="$top_srcdir/tests/integration/lib.lua" -D cases="$T/cases" \
	    -s "$top_srcdir/tests/integration/auth.lua" >"$T/out$2-$1" 2>&1
	t1=$(date +%s%N)
	c1=$(ticks "$pid")
	kill -TERM "$pid"
	wait "$pid"
	untrack_pid "$pid"
	ok=$(grep -c "^AR " "$T/out$2-$1")
	awk -v c=$((c1 - c0)) -v hz="$HZ" -v w=$((t1 - t0)) -v n="$N" \
	    -v on="$1" -v k="$2" -v ok="$ok" 'BEGIN {
		printf "dmarc=%s run %d: %.3f cpu ms/msg  %.2f wall ms/msg  (%d of %d answered)\n",
		    on, k, c * 1000 / hz / n, w / 1e6 / n, ok, n }'
}

for k in $(seq 1 "$RUNS"); do
	run on "$k"
	run off "$k"
done | tee "$T/results"
for m in on off; do
	grep "^dmarc=$m " "$T/results" | awk '{ print $4 }' | sort -n |
	    awk -v m="$m" '{ v[NR] = $1 } END { printf "median dmarc=%s: %s cpu ms/msg\n", m, v[int((NR + 1) / 2)] }'
done
grep -c "dmarc=pass" "$T/out1-on" | sed 's/^/dmarc=pass headers in run 1 (on): /'
_tap_done=1
_tap_planned=0
