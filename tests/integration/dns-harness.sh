#!/bin/bash
# dns-harness.sh - the hermetic DNS of tests/lib/dns.sh, and the system
# resolver of src/resolver.c talking to it.
#
# First the harness itself: it starts quickly, serves the zone file's
# records (A, AAAA, TXT in both spellings, CNAME, wildcard, PTR), answers
# NXDOMAIN and NODATA, drops TIMEOUT names, fails SERVFAIL and REFUSED
# names, reaches glibc through the namespace's resolv.conf, reports a bad
# zone file, restarts, and leaves nothing behind.  Then resolver_probe
# (tests/integration/resolver_probe.c) asks through resolver_new() and
# resolver_query(): answers, NXDOMAIN with its message, NODATA, SERVFAIL,
# timeouts bounded by timeout_ms x attempts and by the deadline, a silent
# first server, an IPv6 server, TCP after truncation and with use-vc, an
# answer larger than the buffer, no caching, and a stopped server.
#
# Needs root, ip(8) and unbound; resolver_probe is taken from the build
# tree or compiled from the sources with cc.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/dns.sh"

dns_require
mt_tmpdir T

# ---------------------------------------------------------------- the zone
LONG=$(printf 'x%.0s' {1..600})		# 600 bytes: 3 strings, TC over UDP
HUGE=$(printf 'y%.0s' {1..3000})
cat >"$T/zone" <<EOF
# a zone for the harness test
example.com		A	192.0.2.1
example.com		AAAA	2001:db8::1
example.com		MX	10 mx.example.com
example.com		TXT	v=spf1 ip4:192.0.2.0/24 -all
mx.example.com.		A	192.0.2.25
quoted.example.com	TXT	"v=spf1 " "-all"
empty.example.com	TXT	""
utf8.example.com	TXT	$(printf 'caf\303\251 \001')
odd.example.com		TXT	say "hi" \\ back;	tab
www.example.com		CNAME	example.com
*.wild.example.org	TXT	wildcard
1.2.0.192.in-addr.arpa	PTR	mail.example.com
long.example.com	TXT	$LONG
huge.example.com	TXT	$HUGE
spf.example.net		SPF	v=spf1 -all
foo.test		A	192.0.2.7
dead.example.com	TIMEOUT
sf.example.com		SERVFAIL
ref.example.com		TXT	REFUSED
EOF

# ---------------------------------------------------------------- harness
host_rc=$(cksum </etc/resolv.conf 2>&1)
t0=$(date +%s%N)
dns_start "$T/zone" || bail_out "the DNS harness did not start"
start_ms=$((($(date +%s%N) - t0) / 1000000))
note "harness start: $start_ms ms (namespace $DNS_NS)"
ok "$([ "$start_ms" -lt 5000 ]; echo $?)" "harness starts in under 5 s ($start_ms ms)"
ok "$(ip netns list | grep -qw "$DNS_NS"; echo $?)" "namespace exists"
like "$(ip -n "$DNS_NS" addr show dev lo)" "192\.0\.2\.1/24.*2001:db8::1/64" \
    "test addresses on lo"

is "$(dns_query example.com A)" "rcode=0 aa=1 tc=0 an=1" "A answers"
is "$(dns_query example.com TXT)" "rcode=0 aa=1 tc=0 an=1" "TXT answers"
is "$(dns_query nope.example.com A)" "rcode=3 aa=1 tc=0 an=0" \
    "unknown name: NXDOMAIN"
is "$(dns_query mx.example.com TXT)" "rcode=0 aa=1 tc=0 an=0" \
    "known name, other type: NODATA"
is "$(dns_query foo.test A)" "rcode=0 aa=1 tc=0 an=1" \
    "names under test. are served too"
is "$(dns_query x.wild.example.org TXT)" "rcode=0 aa=1 tc=0 an=1" \
    "wildcard"
is "$(dns_query 1.2.0.192.in-addr.arpa PTR)" "rcode=0 aa=1 tc=0 an=1" \
    "PTR in a documentation reverse zone"
is "$(dns_query long.example.com TXT)" "rcode=0 aa=1 tc=1 an=0" \
    "600-byte TXT is truncated over UDP"
t1=$(date +%s%N)
is "$(dns_query a.dead.example.com TXT "$DNS_SERVER" 1)" "timeout" \
    "TIMEOUT name (and below) is never answered"
note "dropped query gave up after $((($(date +%s%N) - t1) / 1000000)) ms"
is "$(dns_query sf.example.com A)" "rcode=2 aa=1 tc=0 an=0" "SERVFAIL name"
is "$(dns_query ref.example.com TXT)" "rcode=5 aa=1 tc=0 an=0" "REFUSED name"
is "$(dns_query example.com A "$DNS_SILENT")" "timeout" \
    "the silent address never answers"
is "$(dns_exec getent ahostsv4 example.com | awk 'NR == 1 {print $1}')" \
    "192.0.2.1" "glibc in the namespace reads our resolv.conf (A)"
is "$(dns_exec getent ahostsv6 example.com | awk 'NR == 1 {print $1}')" \
    "2001:db8::1" "glibc in the namespace reads our resolv.conf (AAAA)"
is "$(cksum </etc/resolv.conf 2>&1)" "$host_rc" \
    "the host's resolv.conf is untouched"

# a bad zone file is reported, and the previous zone comes back
printf 'example.com A\n' >"$T/bad.zone"
dns_restart "$T/bad.zone" 2>"$T/bad.err" >"$T/bad.out"
ok "$([ $? != 0 ]; echo $?)" "a line without rdata fails dns_start"
like "$(cat "$T/bad.err" "$T/bad.out")" "bad.zone:1: want" \
    "the error names the file and line"
t0=$(date +%s%N)
dns_restart "$T/zone" || bail_out "restart failed"
note "harness restart: $((($(date +%s%N) - t0) / 1000000)) ms"
is "$(dns_query example.com A)" "rcode=0 aa=1 tc=0 an=1" "answers after restart"

# ---------------------------------------------------------------- resolver
PROBE=$top_builddir/tests/integration/resolver_probe
if [ ! -x "$PROBE" ]; then
	PROBE=$T/resolver_probe
	cc -O2 -pthread -I"$top_srcdir/include" -o "$PROBE" \
	    "$top_srcdir/tests/integration/resolver_probe.c" \
	    "$top_srcdir/src/resolver.c" "$top_srcdir/src/clock.c" \
	    -lresolv 2>"$T/cc.err" || PROBE=
fi
if [ -z "$PROBE" ]; then
	diag "$(cat "$T/cc.err")"
	skip_rest=1
fi

# probe ARGS...: prints the probe's output; PROBE_LINE the first line,
# PROBE_MS its elapsed time
probe()
{
	PROBE_OUT=$(dns_exec "$PROBE" "$@" 2>&1)
	PROBE_LINE=${PROBE_OUT%%$'\n'*}
	PROBE_MS=${PROBE_LINE##*elapsed_ms=}
	PROBE_REST=${PROBE_OUT#*$'\n'}
	[ "$PROBE_REST" = "$PROBE_OUT" ] && PROBE_REST=
}

# between LO HI DESC: PROBE_MS in [LO, HI]
between()
{
	ok "$([ "$PROBE_MS" -ge "$1" ] && [ "$PROBE_MS" -le "$2" ]; echo $?)" \
	    "$3 (${PROBE_MS} ms, want $1..$2)"
}

status_of() { echo "${PROBE_LINE%% elapsed_ms=*}"; }

if [ "${skip_rest:-0}" = 1 ]; then
	dns_cleanup
	done_testing
	exit 0
fi

probe example.com TXT
is "$(status_of)" "status=ok rcode=0 answers=1" "resolver: TXT answers"
is "$PROBE_REST" "example.com TXT v=spf1 ip4:192.0.2.0/24 -all" \
    "resolver: TXT text"
probe quoted.example.com TXT
is "$PROBE_REST" "quoted.example.com TXT v=spf1 -all" \
    "resolver: TXT of two strings"
probe empty.example.com TXT
is "$(status_of)" "status=ok rcode=0 answers=1" "resolver: empty TXT"
probe odd.example.com TXT
is "$PROBE_REST" "odd.example.com TXT say \"hi\" \\ back;	tab" \
    "resolver: quotes, backslash and tab kept"
probe utf8.example.com TXT
is "$PROBE_REST" "utf8.example.com TXT $(printf 'caf\303\251 \001')" \
    "resolver: 8-bit and control bytes kept"
probe www.example.com A
is "$PROBE_OUT" "status=ok rcode=0 answers=2 elapsed_ms=$PROBE_MS
www.example.com CNAME example.com
example.com A 192.0.2.1" "resolver: CNAME chain"
probe example.com MX
is "$PROBE_REST" "example.com MX 10 mx.example.com" "resolver: MX"
probe EXAMPLE.COM. AAAA
is "$PROBE_REST" "EXAMPLE.COM AAAA 2001:db8::1" \
    "resolver: upper case with final dot, AAAA"
probe spf.example.net SPF
is "$PROBE_REST" "spf.example.net SPF v=spf1 -all" "resolver: type SPF"
probe 1.2.0.192.in-addr.arpa PTR
is "$PROBE_REST" "1.2.0.192.in-addr.arpa PTR mail.example.com" \
    "resolver: PTR"
probe nope.example.com TXT
is "$(status_of)" "status=nxdomain rcode=3 answers=0" \
    "resolver: NXDOMAIN comes with its message"
probe mx.example.com TXT
is "$(status_of)" "status=ok rcode=0 answers=0" \
    "resolver: NODATA is OK with no answers"
probe -t 2000 sf.example.com TXT
is "$(status_of)" "status=servfail rcode=-1 answers=0" "resolver: SERVFAIL"
between 0 500 "resolver: SERVFAIL is immediate"
probe -t 2000 ref.example.com TXT
is "$(status_of)" "status=servfail rcode=-1 answers=0" \
    "resolver: REFUSED counts as SERVFAIL"

# truncation: TCP with a fresh try
probe long.example.com TXT
is "$(status_of)" "status=ok rcode=0 answers=1" \
    "resolver: truncated over UDP, asked again over TCP"
is "${#PROBE_REST}" "$((${#LONG} + 21))" "resolver: all 600 bytes of text"
dns_resolv_conf "nameserver $DNS_SERVER
options edns0"
probe huge.example.com TXT
is "$(status_of)" "status=ok rcode=0 answers=1" \
    "resolver: 3000-byte TXT with edns0 (UDP 1232, then TCP)"
probe -b 1000 huge.example.com TXT
is "$(status_of)" "status=error rcode=-1 answers=0" \
    "resolver: answer larger than the buffer is an error"
dns_resolv_conf "nameserver $DNS_SERVER
options use-vc"
probe example.com TXT
is "$(status_of)" "status=ok rcode=0 answers=1" "resolver: use-vc (TCP only)"
dns_resolv_conf "nameserver ::1"
probe example.com A
is "$(status_of)" "status=ok rcode=0 answers=1" "resolver: IPv6 name server"

# timeouts
dns_resolv_conf "nameserver $DNS_SERVER"
probe -t 400 -a 2 dead.example.com TXT
is "$(status_of)" "status=timeout rcode=-1 answers=0" \
    "resolver: dropped query times out"
between 780 1300 "resolver: timeout is timeout_ms x attempts"
probe -t 3000 -a 2 -d 500 dead.example.com TXT
is "$(status_of)" "status=timeout rcode=-1 answers=0" \
    "resolver: deadline shorter than the timeout"
between 480 1000 "resolver: the deadline is honoured"
probe -t 300 -a 1 -d 10000 dead.example.com TXT
between 280 800 "resolver: a far deadline does not stretch the timeout"
dns_resolv_conf "nameserver $DNS_SILENT"
probe -t 300 -a 3 example.com A
is "$(status_of)" "status=timeout rcode=-1 answers=0" \
    "resolver: silent server times out"
between 880 1500 "resolver: silent server, 3 x 300 ms"
dns_resolv_conf "nameserver $DNS_SILENT
nameserver $DNS_SERVER"
probe -t 300 -a 2 example.com A
is "$(status_of)" "status=ok rcode=0 answers=1" \
    "resolver: second server answers when the first is silent"
between 280 800 "resolver: after one try at the first"
dns_resolv_conf "nameserver $DNS_SERVER
options timeout:1 attempts:1"

# no cache anywhere: both queries reach the server
before=$(grep -c ' cache.example.com. A IN' "$DNS_LOG")
probe cache.example.com A
probe cache.example.com A
after=$(grep -c ' cache.example.com. A IN' "$DNS_LOG")
is "$((after - before))" 2 "resolver: nothing cached (server saw both queries)"

# the server goes away
t0=$(date +%s%N)
dns_stop
note "harness stop: $((($(date +%s%N) - t0) / 1000000)) ms"
probe -t 1000 -a 2 example.com A
is "$(status_of)" "status=timeout rcode=-1 answers=0" \
    "resolver: stopped server gives a timeout"
between 0 500 "resolver: port unreachable ends it early"
dns_restart || bail_out "restart failed"
probe example.com A
is "$(status_of)" "status=ok rcode=0 answers=1" "resolver: server back"

# ---------------------------------------------------------------- cleanup
ns=$DNS_NS
dns_cleanup
ok "$(ip netns list | grep -qw "$ns"; [ $? = 1 ]; echo $?)" \
    "cleanup deletes the namespace"
ok "$([ ! -e "/etc/netns/$ns" ]; echo $?)" "cleanup removes /etc/netns/$ns"
done_testing
