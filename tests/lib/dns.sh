# dns.sh - a private DNS for tests: a network namespace with its own
# resolv.conf and a real name server (unbound) serving the test's zone.
#
# Sourced after common.sh.  Needs root, ip(8) and unbound(8); call
# dns_require first: it skips the test when they are missing.
#
#   dns_require			skip_all unless the harness can run here
#   dns_start ZONEFILE		create the namespace (first time only),
#				write the server's files, start it on
#				127.0.0.1 and ::1 port 53 in the namespace,
#				and return once it answers from the zone (up
#				to 5 s).  1 (with the log) on failure.
#   dns_stop			stop the server: queries then meet "port
#				unreachable" (resolvers give up quickly)
#   dns_restart [ZONEFILE]	stop and start again, with a new zone if given
#   dns_exec CMD [ARG...]	run CMD inside the namespace, where
#				/etc/resolv.conf is ours (ip netns exec)
#   dns_resolv_conf TEXT	replace the namespace's resolv.conf
#				(default "nameserver 127.0.0.1" and
#				"options timeout:1 attempts:1")
#   dns_add_addr ADDR/PLEN	one more address on the namespace's lo
#   dns_query NAME TYPE [SERVER [SECS]]
#				one UDP query from inside the namespace, no
#				library involved; prints "rcode=R aa=A tc=T
#				an=N" or "timeout"
#   dns_cleanup			stop the server, delete the namespace and
#				/etc/netns/NAME (registered with at_exit by
#				dns_start); processes are ended by their
#				recorded PIDs only, never by namespace
#
# Variables set: DNS_NS (namespace name, mt-dns-PID), DNS_DIR (the server's
# files, inside the test's temporary directory), DNS_LOG, DNS_PID.  Fixed:
#   DNS_SERVER=127.0.0.1	where the server listens (also ::1)
#   DNS_SILENT=192.0.2.253	the same server seen from this address drops
#				every query: "nameserver $DNS_SILENT" makes
#				a resolver that never gets an answer
#   DNS_V4="192.0.2.1 198.51.100.1 203.0.113.1"  on lo, /24 each
#   DNS_V6="2001:db8::1"	on lo, /64
# (Clients in 127.0.0.0/8 or ::1 always pass SPF in libspf2: use these.)
#
# Zone file: one record a line, "NAME TYPE RDATA"; blank lines and lines
# starting with "#" are skipped; fields are separated by blanks.
#   - NAME with or without its final dot; "*.example.com" is a wildcard.
#     Names inside RDATA are absolute, with or without the final dot.
#   - TYPE is any type unbound reads in a zone file (A, AAAA, MX, TXT,
#     SPF, PTR, CNAME, NS, SRV, ...); RDATA is its zone-file text.
#   - TXT and SPF: RDATA starting with '"' is zone-file text, passed on
#     as is: one or more quoted strings with \" \\ and \DDD escapes (the
#     empty TXT is ""). Otherwise RDATA is the text itself, byte for byte
#     to the end of the line, cut into strings of 255 bytes.
#   - "NAME TIMEOUT": every query for NAME or a name below it, of any
#     type, is dropped (the client waits and times out).
#     "NAME SERVFAIL": answered with rcode SERVFAIL.
#     "NAME REFUSED": answered with rcode REFUSED.
#     "NAME TYPE TIMEOUT" (and SERVFAIL, REFUSED) is the same: the type
#     is not looked at.
#   - The data is one authoritative zone for the root: names not in the
#     file are NXDOMAIN, names without the type asked NODATA; CNAMEs are
#     followed inside the zone.  An NS record below the root makes a
#     delegation (the answer is a referral, NODATA to a stub resolver).
#     Nothing else is served: no defaults for localhost, test., reverse
#     zones; no recursion, no cache.
#
# Invariants: the server runs only inside our namespace; it is the only
# process we start there, tracked by PID; cleanup deletes the namespace
# and /etc/netns/NAME, leaving nothing in "ip netns list".

DNS_SERVER=127.0.0.1
DNS_SILENT=192.0.2.253
DNS_V4="192.0.2.1 198.51.100.1 203.0.113.1"
DNS_V6="2001:db8::1"
DNS_NS=
DNS_DIR=
DNS_LOG=
DNS_PID=
_dns_zone=

dns_require()
{
	[ "$(id -u)" = 0 ] || skip_all "needs root (network namespace)"
	require_tool ip unbound
	ip netns list >/dev/null 2>&1 ||
	    skip_all "network namespaces are not available here"
}

dns_exec()
{
	ip netns exec "$DNS_NS" "$@"
}

dns_resolv_conf()
{
	printf '%s\n' "$1" >"/etc/netns/$DNS_NS/resolv.conf"
}

dns_add_addr()
{
	case $1 in
	*:*)	ip -n "$DNS_NS" -6 addr add "$1" dev lo nodad ;;
	*)	ip -n "$DNS_NS" addr add "$1" dev lo ;;
	esac
}

# The namespace, its addresses and resolv.conf, the server's directory.
_dns_setup()
{
	local a i

	DNS_NS=mt-dns-$$
	for ((i = 1; i < 20; i++)); do
		[ -e "/run/netns/$DNS_NS" ] || break
		DNS_NS=mt-dns-$$-$i
	done
	ip netns add "$DNS_NS" || { DNS_NS=; return 1; }
	at_exit dns_cleanup
	ip -n "$DNS_NS" link set lo up || return 1
	for a in $DNS_V4; do
		dns_add_addr "$a/24" || return 1
	done
	dns_add_addr "$DNS_SILENT/32" || return 1
	for a in $DNS_V6; do
		dns_add_addr "$a/64" || return 1
	done
	# another test's cleanup may remove an empty /etc/netns meanwhile
	for ((i = 0; i < 3; i++)); do
		mkdir -p "/etc/netns/$DNS_NS" 2>/dev/null && break
	done
	dns_resolv_conf "nameserver $DNS_SERVER
options timeout:1 attempts:1" || return 1
	mt_tmpdir >/dev/null
	DNS_DIR=$_mt_tmp/dns
	DNS_LOG=$DNS_DIR/unbound.log
	mkdir -p "$DNS_DIR"
}

# ZONEFILE -> $DNS_DIR/zone.db (RFC 1035 master file) and
# $DNS_DIR/special.conf (unbound clauses for TIMEOUT, SERVFAIL, REFUSED).
_dns_translate()
{
	LC_ALL=C awk -v zone="$DNS_DIR/zone.db" -v special="$DNS_DIR/special.conf" '
	function esc(s,    out, i, c) {
		out = ""
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (c ~ /[ -~]/ && c != "\"" && c != "\\")
				out = out c
			else
				out = out sprintf("\\%03d", ord[c])
		}
		return out
	}
	function abs(n) { return n ~ /\.$/ ? n : n "." }
	function bad(why) {
		printf("%s:%d: %s\n", FILENAME, FNR, why) > "/dev/stderr"
		err = 1
	}
	BEGIN {
		for (i = 1; i < 256; i++)
			ord[sprintf("%c", i)] = i
		print "$ORIGIN ." > zone
		print "$TTL 300" > zone
		print ". IN SOA ns.invalid. hostmaster.invalid. 1 3600 600 86400 60" > zone
		print ". IN NS ns.invalid." > zone
		printf("") > special
	}
	{ sub(/\r$/, "") }
	/^[ \t]*(#|$)/ { next }
	{
		line = $0
		sub(/^[ \t]+/, "", line)
		name = abs($1)
		type = toupper($2)
		what = ""
		if (NF == 2 && type ~ /^(TIMEOUT|SERVFAIL|REFUSED)$/)
			what = type
		else if (NF == 3 && $3 ~ /^(TIMEOUT|SERVFAIL|REFUSED)$/)
			what = $3
		if (what == "TIMEOUT") {
			printf("\tlocal-zone: \"%s\" deny\n", name) > special
			next
		}
		if (what == "REFUSED") {
			printf("\tlocal-zone: \"%s\" always_refuse\n", name) > special
			next
		}
		if (what == "SERVFAIL") {
			# a secondary zone that never loads answers SERVFAIL
			servfail[name] = 1
			next
		}
		if (NF < 3 || type !~ /^[A-Z][A-Z0-9]*$/) {
			bad("want \"NAME TYPE RDATA\"")
			next
		}
		rest = line
		sub(/^[^ \t]+[ \t]+[^ \t]+[ \t]+/, "", rest)
		if ((type == "TXT" || type == "SPF") && rest !~ /^"/) {
			out = ""
			do {
				out = out (out == "" ? "" : " ") "\"" \
				    esc(substr(rest, 1, 255)) "\""
				rest = substr(rest, 256)
			} while (rest != "")
			rest = out
		}
		# the source line, for error messages of the server
		printf("%s IN %s %s ; %s:%d\n", name, type, rest, FILENAME,
		    FNR) > zone
	}
	END {
		for (n in servfail) {
			print "auth-zone:" > special
			printf("\tname: \"%s\"\n", n) > special
			print "\tprimary: 127.0.0.1@1" > special
			print "\tfor-downstream: yes" > special
			print "\tfor-upstream: no" > special
			print "\tfallback-enabled: no" > special
		}
		exit err
	}' "$1"
}

_dns_write_conf()
{
	local zone=$1

	_dns_translate "$zone" || return 1
	# local-zone lines belong to "server:", auth-zone blocks after it
	cat >"$DNS_DIR/unbound.conf" <<EOF
server:
	verbosity: 1
	log-queries: yes
	num-threads: 1
	interface: $DNS_SERVER
	interface: ::1
	interface: $DNS_SILENT
	port: 53
	do-ip4: yes
	do-ip6: yes
	do-udp: yes
	do-tcp: yes
	so-reuseport: no
	do-daemonize: no
	username: ""
	chroot: ""
	directory: "$DNS_DIR"
	pidfile: ""
	logfile: ""
	use-syslog: no
	log-time-ascii: yes
	module-config: "iterator"
	access-control: 127.0.0.0/8 allow
	access-control: ::1 allow
	access-control: $DNS_SILENT/32 deny
	do-not-query-localhost: no
	msg-cache-size: 0
	rrset-cache-size: 0
	key-cache-size: 0
	neg-cache-size: 0
	unblock-lan-zones: yes
	insecure-lan-zones: yes
	local-zone: "localhost." nodefault
	local-zone: "127.in-addr.arpa." nodefault
	local-zone: "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa." nodefault
	local-zone: "home.arpa." nodefault
	local-zone: "onion." nodefault
	local-zone: "test." nodefault
	local-zone: "invalid." nodefault
$(grep 'local-zone:' "$DNS_DIR/special.conf")
auth-zone:
	name: "."
	zonefile: "$DNS_DIR/zone.db"
	for-downstream: yes
	for-upstream: no
	fallback-enabled: no
$(grep -v 'local-zone:' "$DNS_DIR/special.conf")
remote-control:
	control-enable: no
EOF
	# unbound itself reports a bad file: dns_start shows its log
}

# NAME TYPE SERVER SECS: one query over UDP with bash's /dev/udp; run
# inside the namespace by dns_query.
_dns_udp()
{
	local name=${1%.} qtype=$2 server=$3 secs=$4 q label b
	local -a f

	export LC_ALL=C
	case ${qtype^^} in
	A) qtype=1 ;; NS) qtype=2 ;; CNAME) qtype=5 ;; SOA) qtype=6 ;;
	PTR) qtype=12 ;; MX) qtype=15 ;; TXT) qtype=16 ;; AAAA) qtype=28 ;;
	SRV) qtype=33 ;; SPF) qtype=99 ;; ANY) qtype=255 ;;
	esac
	q='\x6d\x74\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00'
	local IFS=.
	for label in $name; do
		q+=$(printf '\\x%02x' "${#label}")${label//\\/\\\\}
	done
	unset IFS
	q+=$(printf '\\x00\\x%02x\\x%02x\\x00\\x01' $((qtype >> 8)) \
	    $((qtype & 255)))
	exec 3<>"/dev/udp/$server/53" || { echo "error"; return 1; }
	printf '%b' "$q" >&3
	b=$(timeout "$secs" dd bs=65535 count=1 status=none <&3 |
	    od -An -tu1 -v -N12)
	exec 3>&-
	read -r -a f <<<"$b"
	if [ "${#f[@]}" -lt 12 ]; then
		echo "timeout"
		return 0
	fi
	echo "rcode=$((f[3] & 15)) aa=$(((f[2] >> 2) & 1)) tc=$(((f[2] >> 1) & 1)) an=$((f[6] * 256 + f[7]))"
}

dns_query()
{
	dns_exec bash -c "$(declare -f _dns_udp); _dns_udp \"\$@\"" _dns_udp \
	    "$1" "$2" "${3:-$DNS_SERVER}" "${4:-1}" 2>/dev/null |
	    tail -n 1
}

dns_start()
{
	local zone=$1 i got

	if [ ! -r "$zone" ]; then
		diag "dns_start: cannot read zone file '$zone'"
		return 1
	fi
	if [ -z "$DNS_NS" ]; then
		_dns_setup || { diag "dns_start: namespace setup failed"; return 1; }
	fi
	_dns_write_conf "$zone" || return 1
	ip netns exec "$DNS_NS" unbound -d -c "$DNS_DIR/unbound.conf" \
	    >>"$DNS_LOG" 2>&1 &
	DNS_PID=$!
	track_pid "$DNS_PID"
	# ready when the root's SOA comes back authoritative: the zone loaded
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$DNS_PID" 2>/dev/null; then
			diag "dns_start: unbound exited"
			break
		fi
		got=$(dns_query . SOA "$DNS_SERVER" 1)
		case $got in
		"rcode=0 aa=1 "*)
			_dns_zone=$zone
			return 0
			;;
		esac
		sleep 0.05
	done
	diag "dns_start: server not answering (last: ${got:-nothing})"
	diag "$(tail -n 20 "$DNS_LOG")"
	dns_stop
	return 1
}

dns_stop()
{
	if [ -n "$DNS_PID" ]; then
		kill_wait "$DNS_PID" 5
		untrack_pid "$DNS_PID"
		DNS_PID=
	fi
}

dns_restart()
{
	dns_stop
	dns_start "${1:-$_dns_zone}"
}

dns_cleanup()
{
	local p

	[ -n "$DNS_NS" ] || return 0
	dns_stop
	# What the test started in the namespace it tracked by PID, and the
	# exit trap ends it.  Nothing is killed by namespace: a process still
	# there is named, and keeps the namespace alive until it exits.
	p=$(ip netns pids "$DNS_NS" 2>/dev/null | tr '\n' ' ')
	[ -n "$p" ] && diag "dns_cleanup: still running in $DNS_NS: $p"
	ip netns delete "$DNS_NS" 2>/dev/null
	rm -rf "/etc/netns/$DNS_NS"
	rmdir /etc/netns 2>/dev/null
	DNS_NS=
}
