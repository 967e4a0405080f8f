#!/bin/bash
# config-check.sh - "mailtrail-milter -n": the shipped file is valid, bad
# files are refused with FILE:LINE: KEY, overrides are checked too.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/milter.sh"

BIN=$(mt_binary)
[ -x "$BIN" ] || skip_all "daemon not built"
mt_tmpdir >/dev/null
T=$_mt_tmp

out=$("$BIN" -n -c "$top_srcdir/etc/mailtrail.conf" 2>&1)
is "$?" 0 "the shipped etc/mailtrail.conf is valid"
like "$out" "configuration OK" "-n says so"
like "$out" 'header = "X-Mailtrail-ID"' "-n prints the effective values"

out=$("$BIN" -n -c /nonexistent/mailtrail.conf 2>&1)
is "$?" 78 "a missing file is a configuration error"
like "$out" "/nonexistent/mailtrail.conf" "the message names the file"

printf 'journal = {\n  path = "/tmp/x.db";\n  durabilty = "full";\n};\n' >"$T/typo.conf"
out=$("$BIN" -n -c "$T/typo.conf" 2>&1)
is "$?" 78 "an unknown key is refused"
like "$out" "typo.conf:3: journal.durabilty" "FILE:LINE: KEY of the unknown key"

printf 'on_error = "maybe";\n' >"$T/enum.conf"
out=$("$BIN" -n -c "$T/enum.conf" 2>&1)
is "$?" 78 "a bad value is refused"
like "$out" "enum.conf:1: on_error" "FILE:LINE: KEY of the bad value"

printf 'trusted_networks = [ "10.0.0.0/33" ];\n' >"$T/cidr.conf"
out=$("$BIN" -n -c "$T/cidr.conf" 2>&1)
is "$?" 78 "a bad network is refused"
like "$out" "cidr.conf:1: trusted_networks" "FILE:LINE: KEY of the bad network"

printf 'limits = { max_recipients = 0; };\n' >"$T/range.conf"
out=$("$BIN" -n -c "$T/range.conf" 2>&1)
is "$?" 78 "an out-of-range value is refused"
like "$out" "range.conf:1: limits.max_recipients" "FILE:LINE: KEY of the range error"

printf 'journal = { path = "/tmp/x.db" \n' >"$T/syntax.conf"
out=$("$BIN" -n -c "$T/syntax.conf" 2>&1)
is "$?" 78 "a syntax error is refused"
like "$out" "syntax.conf:[0-9]+" "the syntax error names the line"

out=$("$BIN" -n -o journal.durability=sometimes 2>&1)
is "$?" 78 "a bad -o value is refused"
like "$out" "journal.durability" "the -o error names the key"

out=$("$BIN" -n -o no.such.key=1 2>&1)
is "$?" 78 "an unknown -o key is refused"

out=$("$BIN" -n -p inet:8891@127.0.0.1 -j /tmp/j.db 2>&1)
is "$?" 0 "-p and -j set the socket and the journal"
like "$out" 'socket = "inet:8891@127.0.0.1"' "-p shows in the effective values"

# An authserv-id we could not match in a forged header is refused, naming
# the character (issue 11: '/', '=' and '?' are atext but end a token).
printf 'authres = {\n  authserv_id = "mx/1.example.org";\n};\n' >"$T/authserv.conf"
out=$("$BIN" -n -c "$T/authserv.conf" 2>&1)
is "$?" 78 "an authserv-id with '/' is refused"
like "$out" "authserv.conf:2: authres.authserv_id: .*character '/' not allowed" \
    "FILE:LINE: KEY and the character"
out=$("$BIN" -n -o 'authres.authserv_id=a=b' 2>&1)
is "$?" 78 "an authserv-id with '=' is refused (-o)"

# Left to the host name, on a host called "localhost": refused, not a
# silent "localhost" (a private UTS namespace; the machine's name is kept).
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	printf 'authres = {\n  authserv_id = "";\n};\n' >"$T/hostid.conf"
	out=$(unshare --uts sh -c 'hostname localhost &&
	    exec "$0" -n -c "$1"' "$BIN" "$T/hostid.conf" 2>&1)
	is "$?" 78 "authserv_id \"\" on a host called localhost is refused"
	like "$out" "hostid.conf:2: authres.authserv_id: .*localhost" \
	    "the error names the option and the host name"
	printf 'on_error = "accept";\n' >"$T/noid.conf"
	# hostname(1) refuses such a name; the kernel takes it.
	out=$(unshare --uts sh -c 'printf bad/name >/proc/sys/kernel/hostname &&
	    exec "$0" -n -c "$1"' "$BIN" "$T/noid.conf" 2>&1)
	is "$?" 78 "authserv_id unset on a host whose name has '/' is refused"
	like "$out" "noid.conf: authres.authserv_id: not set.*'/'" \
	    "the error says the host name cannot stand for it"
	out=$(unshare --uts sh -c 'hostname gw1.example.org &&
	    exec "$0" -n -c "$1"' "$BIN" "$T/noid.conf" 2>&1)
	is "$?" 0 "authserv_id unset on a host with a usable name is fine"
	like "$out" 'authserv_id = "gw1.example.org"' "the host name is used"
fi

out=$("$BIN" -x 2>&1)
is "$?" 64 "an unknown flag is a usage error"
done_testing
