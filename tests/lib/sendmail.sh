# sendmail.sh - a private Sendmail instance, and the scenario that the
# Sendmail and MTA comparison tests run through it and through Postfix.
#
# Sourced after common.sh and postfix.sh (for the sink and the SMTP client).
# Debian's sendmail packages conflict with the installed Postfix, so they are
# not installed: "apt-get download" fetches them once into a cache and
# "dpkg -x" unpacks them there; nothing is written outside the cache and the
# test's own directory.  The instance runs as root in private mount and UTS
# namespaces (unshare -m -u), where
#   - the host name is SM_HOSTNAME and a private /etc/hosts resolves it:
#     Sendmail stalls 60 s at start when it cannot qualify its host name;
#   - /dev is a small tmpfs holding the usual device nodes (bind-mounted
#     from the real /dev) and a /dev/log that is our syslog receiver's
#     socket: Sendmail logs only to syslog, and the test reads its queue IDs
#     from its log.  The host's /dev/log (if any) is not touched;
#   - the system's Cyrus SASL plugin directory is replaced by one holding
#     the PLAIN, LOGIN and sasldb plugins, Sendmail.conf and a sasldb with
#     one user: Sendmail clears its environment, so SASL_PATH and
#     SASL_CONF_PATH cannot point it elsewhere.
# The sendmail binary is a copy without its setgid bit (the loader ignores
# LD_LIBRARY_PATH for setgid programs; the cache's libwrap and liblockfile
# are found through it).
#
# Stopping: the instance also has its own PID namespace (unshare -p --fork
# --kill-child), whose init is the Sendmail daemon itself.  We record two
# PIDs, both of processes we started: unshare (our child) and the daemon
# (unshare's only child, read from /proc/PID/task/PID/children).  sm_stop
# sends SIGTERM, then SIGKILL, to the daemon; when a namespace's init ends,
# the kernel kills every process left in that namespace (SMTP sessions,
# deliveries), so nothing is ever looked up or killed by a property such
# as a namespace.  If the daemon's PID was never learnt, killing unshare
# does the same (--kill-child: its child gets SIGKILL).  Neither path can
# reach a process outside the instance.
#
#   sm_fetch			make the cache ready (download when needed);
#				1 with SM_SKIP_REASON set when it cannot
#   sm_setup DIR SMTP_PORT SINK_PORT MILTER_SOCKET
#	lay out an instance in DIR: DIR/sendmail.mc (from etc/sendmail.mc
#	for the milter lines, the socket replaced by MILTER_SOCKET, spelt the
#	Sendmail way "local:/path"; empty for no milter), DIR/sendmail.cf,
#	DIR/queue, DIR/tls (a throwaway self-signed certificate), DIR/sasl2.
#	Sendmail listens on 127.0.0.1:SMTP_PORT as daemon "MTA", relays
#	everything to [127.0.0.1]:SINK_PORT (mailer esmtp), treats
#	SM_LOCAL_DOMAIN as local (so SM_REJECT_RCPT, a user that does not
#	exist, gets "550 5.1.1 User unknown"), offers STARTTLS and AUTH PLAIN
#	LOGIN (user SCN_SASL_USER, password SCN_SASL_PASS).
#   sm_start DIR / sm_stop DIR
#	sm_start returns 1 (after printing why) when the daemon does not
#	listen on SMTP_PORT alone within 15 s; sm_stop (also registered
#	with at_exit) ends what sm_start started, on either path.  SM_PID
#	is the daemon's PID, SM_PIDNS its PID namespace (for checks only).
#   sm_idle			0 when the daemon has no child (no session,
#				no delivery under way)
#   sm_ns_procs PIDNS		the processes in PID namespace PIDNS (for
#				checks only)
#   sm_wait_queue_empty DIR [SECONDS]
#   sm_queue_ids DIR		"QUEUEID <message-id>" lines from DIR/maillog
#   sm_queue_id_of DIR MSGID	the queue ID of that Message-ID (no <>)
#   sm_version			Sendmail's version, e.g. 8.17.1.9
#
# The scenario (also run through Postfix by mta-compare.sh):
#   scn_tls_cert DIR		DIR/cert.pem and DIR/key.pem (self-signed)
#   scn_sasl_dir DIR OWNER APP [REALM]
#				DIR with the SASL plugins, APP.conf and a
#				sasldb (owned by OWNER) holding the test user
#				in REALM (default SCN_SASL_REALM)
#   scn_run PORT OUTDIR TAG REJECT_RCPT
#	session A (plain text, bash client): EHLO, two transactions, the
#	first with an accepted recipient and REJECT_RCPT; session B: EHLO,
#	STARTTLS, EHLO, AUTH PLAIN, one transaction.  Message-IDs are
#	<scn-N.TAG@client.example> (N = 1, 2, 3); the SMTP replies are in
#	OUTDIR/replies as "NAME CODE TEXT" lines (NAME: reject, queued1,
#	queued2, queued3, starttls, auth, tls).
#   scn_journal_dump JOURNAL	the journal as text, one line per row, with
#				what differs between MTAs and runs left out
#				(see the function)
#
# Needs: root, apt-get (with its lists, for the first download), dpkg, m4,
# openssl, python3, unshare, flock.  MT_SENDMAIL_CACHE overrides the cache
# directory (default /var/cache/mailtrail-test/sendmail).

SM_CACHE=${MT_SENDMAIL_CACHE:-/var/cache/mailtrail-test/sendmail}
SM_PACKAGES="sendmail-bin sendmail-cf libwrap0 liblockfile1 sasl2-bin
libsasl2-modules libsasl2-modules-db"
# shellcheck disable=SC2034 # the variables are read by the tests
SM_HOSTNAME=sm.mailtrail-test.example
SM_LOCAL_DOMAIN=local.mailtrail-test.example
SM_REJECT_RCPT=nobody-here@$SM_LOCAL_DOMAIN
SCN_SASL_USER=mtuser
SCN_SASL_PASS=mailtrail-test-secret
SCN_SASL_REALM=mailtrail-test.example
SM_ROOT=
SM_SKIP_REASON=
SM_PYTHON=

SM_PID=			# the daemon: init of the instance's PID namespace
SM_PIDNS=		# that namespace ("pid:[INODE]"), for checks only
_sm_unshare_pid=	# unshare, our child; SM_PID is its only child
_sm_up=			# 1 once sm_start succeeded
_sm_syslog_pid=

# ---------------------------------------------------------------- packages

# The candidate versions of the packages, from the local APT lists (no
# network): the cache is current when its stamp holds the same line.  The
# lists are read at most once a day (apt-cache takes a second or two).
_sm_wanted()
{
	# shellcheck disable=SC2086
	apt-cache policy $SM_PACKAGES 2>/dev/null |
	    awk -v want="${SM_PACKAGES//$'\n'/ }" '
	/^[^ ]/ { p = $1; sub(/:$/, "", p) }
	/^ *Candidate:/ && $2 != "(none)" { v[p] = $2 }
	END {
		n = split(want, w, " ")
		for (i = 1; i <= n; i++) {
			if (!(w[i] in v))
				exit 1
			out = out (i > 1 ? " " : "") w[i] "=" v[w[i]]
		}
		print out
	}'
}

_sm_download()
{
	local dl=$1 p
	mkdir -p "$dl" || return 1
	# apt fetches as the unprivileged _apt user where it can
	chown _apt "$dl" 2>/dev/null
	# shellcheck disable=SC2086 # a list of names
	(cd "$dl" && apt-get download -q $SM_PACKAGES) >"$dl.log" 2>&1 ||
	    return 1
	for p in "$dl"/*.deb; do
		dpkg -x "$p" "$dl/root" || return 1
	done
	return 0
}

sm_fetch()
{
	local want have lock dl rc t
	SM_SKIP_REASON=
	for t in apt-get apt-cache dpkg m4 openssl unshare flock; do
		if ! command -v "$t" >/dev/null 2>&1; then
			SM_SKIP_REASON="$t not installed"
			[ "$t" = m4 ] && SM_SKIP_REASON="m4 not installed (Debian package m4)"
			return 1
		fi
	done
	SM_PYTHON=$(command -v python3)
	[ -x /usr/bin/python3 ] && SM_PYTHON=/usr/bin/python3
	if [ -z "$SM_PYTHON" ]; then
		SM_SKIP_REASON="python3 not installed"
		return 1
	fi
	mkdir -p "$SM_CACHE" || {
		SM_SKIP_REASON="cannot create $SM_CACHE"
		return 1
	}
	lock=$SM_CACHE/.lock
	exec {_sm_lockfd}>"$lock"
	flock -w 300 "$_sm_lockfd"
	have=$(cat "$SM_CACHE/stamp" 2>/dev/null)
	if [ -n "$have" ] && [ -d "$SM_CACHE/root" ] &&
	    [ -n "$(find "$SM_CACHE/stamp" -mmin -1440 2>/dev/null)" ]; then
		want=$have
	else
		want=$(_sm_wanted) || want=
	fi
	rc=0
	if [ -z "$want" ]; then
		# No APT lists: a cache from an earlier run still does.
		if [ -z "$have" ]; then
			SM_SKIP_REASON="sendmail packages not in the APT lists (run apt-get update)"
			rc=1
		fi
	elif [ "$want" = "$have" ]; then
		touch "$SM_CACHE/stamp"
	else
		dl=$SM_CACHE/dl.$$
		rm -rf "$dl" "$dl.log"
		if _sm_download "$dl"; then
			rm -rf "$SM_CACHE/root"
			mv "$dl/root" "$SM_CACHE/root" &&
			    printf '%s\n' "$want" >"$SM_CACHE/stamp"
			rm -rf "$dl" "$dl.log"
		elif [ -n "$have" ]; then
			diag "apt-get download failed; using the cached $have"
			rm -rf "$dl" "$dl.log"
		else
			SM_SKIP_REASON="apt-get download of the sendmail packages failed: $(tail -n 1 "$dl.log" 2>/dev/null)"
			rm -rf "$dl" "$dl.log"
			rc=1
		fi
	fi
	flock -u "$_sm_lockfd"
	exec {_sm_lockfd}>&-
	[ "$rc" = 0 ] || return 1
	SM_ROOT=$SM_CACHE/root
	if [ ! -x "$SM_ROOT/usr/libexec/sendmail/sendmail" ] ||
	    [ ! -r "$SM_ROOT/usr/share/sendmail/cf/m4/cf.m4" ]; then
		SM_SKIP_REASON="the cache $SM_CACHE holds no usable sendmail"
		return 1
	fi
	if [ -z "$(_sm_sasl_sysdir)" ]; then
		SM_SKIP_REASON="no Cyrus SASL plugin directory (libsasl2-modules-db)"
		return 1
	fi
	return 0
}

# The upstream version of the cached sendmail-bin package.  (Not from
# "sendmail -d0.1": outside the namespaces it would stall 60 s on the host
# name.)
sm_version()
{
	sed -n 's/.*sendmail-bin=\([0-9.]*\).*/\1/p' "$SM_CACHE/stamp"
}

# The directory the system's libsasl2 loads its plugins from (and reads
# APP.conf from): the library's own directory + /sasl2.
_sm_sasl_sysdir()
{
	local lib dir
	lib=$(ldconfig -p 2>/dev/null |
	    awk '$1 == "libsasl2.so.2" { print $NF; exit }')
	[ -n "$lib" ] || return 0
	dir=$(dirname "$(readlink -f "$lib")")/sasl2
	[ -d "$dir" ] && echo "$dir"
}

# ---------------------------------------------------------------- scenario files

scn_tls_cert()
{
	local dir=$1
	mkdir -p "$dir" || return 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -days 2 -subj "/CN=$SM_HOSTNAME" \
	    -keyout "$dir/key.pem" -out "$dir/cert.pem" >"$dir/openssl.log" 2>&1 ||
	    { diag "openssl: $(cat "$dir/openssl.log")"; return 1; }
	chmod 0600 "$dir/key.pem"
	chmod 0644 "$dir/cert.pem"
}

# scn_sasl_dir DIR OWNER APP [REALM]: a plugin directory for libsasl2 with
# APP.conf (Sendmail reads Sendmail.conf, Postfix's smtpd smtpd.conf) and a
# sasldb.
scn_sasl_dir()
{
	local dir=$1 owner=$2 app=$3 realm=${4:-$SCN_SASL_REALM}
	local lib=$SM_ROOT/usr/lib/x86_64-linux-gnu/sasl2
	mkdir -p "$dir" || return 1
	cp -P "$lib"/libplain.so* "$lib"/liblogin.so* "$lib"/libsasldb.so* \
	    "$dir"/ || return 1
	cat >"$dir/$app.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $dir/sasldb2
mech_list: PLAIN LOGIN
EOF
	printf '%s' "$SCN_SASL_PASS" |
	    LD_LIBRARY_PATH=$SM_ROOT/usr/lib/x86_64-linux-gnu \
	    SASL_PATH=$dir "$SM_ROOT/usr/sbin/saslpasswd2" -f "$dir/sasldb2" \
	    -c -p -u "$realm" "$SCN_SASL_USER" || return 1
	chown "$owner" "$dir/sasldb2" && chmod 0600 "$dir/sasldb2"
}

# ---------------------------------------------------------------- the instance

sm_setup()
{
	local dir=$1 smtp_port=$2 sink_port=$3 milter=$4 cf sysdir extra
	cf=$SM_ROOT/usr/share/sendmail/cf
	sysdir=$(_sm_sasl_sysdir)

	mkdir -p "$dir/queue" "$dir/devstash" || return 1
	chmod 0755 "$dir"
	chmod 0700 "$dir/queue"
	echo "$smtp_port" >"$dir/port"
	install -m 0755 "$SM_ROOT/usr/libexec/sendmail/sendmail" \
	    "$dir/sendmail" || return 1
	scn_tls_cert "$dir/tls" || return 1
	scn_sasl_dir "$dir/sasl2" root Sendmail || return 1

	printf '127.0.0.1\tlocalhost %s\n' "$SM_HOSTNAME" >"$dir/hosts"
	printf 'hosts\tfiles\naliases\tfiles\n' >"$dir/service.switch"
	printf 'postmaster: root\n' >"$dir/aliases"

	# The milter lines as postmasters get them, with our socket.
	: >"$dir/mailtrail.m4"
	if [ -n "$milter" ]; then
		if [ ! -r "$top_srcdir/etc/sendmail.mc" ]; then
			diag "no $top_srcdir/etc/sendmail.mc"
			return 1
		fi
		sed "s|S=[a-z]*:[^,']*|S=$milter|" "$top_srcdir/etc/sendmail.mc" \
		    >"$dir/mailtrail.m4"
	fi

	# SM_EXTRA_DAEMON=PORT: one more daemon, on 127.0.0.1:PORT, opened
	# before the MTA's (for tests of a start that fails to bind)
	extra=
	if [ -n "${SM_EXTRA_DAEMON:-}" ]; then
		extra="DAEMON_OPTIONS(\`Family=inet, Name=MTA2, Port=$SM_EXTRA_DAEMON, Addr=127.0.0.1')"
	fi
	sed -e "s|@DIR@|$dir|g" -e "s|@HOST@|$SM_HOSTNAME|g" \
	    -e "s|@PORT@|$smtp_port|g" -e "s|@SINKPORT@|$sink_port|g" \
	    -e "s|@LOCALDOMAIN@|$SM_LOCAL_DOMAIN|g" \
	    -e "s|@REALM@|$SCN_SASL_REALM|g" \
	    -e "s|@EXTRA@|$extra|" \
	    >"$dir/sendmail.mc" <<'EOF'
divert(-1)
# Private Sendmail instance for mailtrail's tests; generated by
# tests/lib/sendmail.sh.  Do not use as a template for production.
divert(0)dnl
OSTYPE(`linux')dnl
define(`confCF_VERSION', `mailtrail-test')dnl
define(`confDOMAIN_NAME', `@HOST@')dnl
define(`QUEUE_DIR', `@DIR@/queue')dnl
define(`confPID_FILE', `@DIR@/sendmail.pid')dnl
define(`STATUS_FILE', `@DIR@/statistics')dnl
define(`ALIAS_FILE', `stab:@DIR@/aliases')dnl
define(`HELP_FILE', `')dnl
define(`confHOST_STATUS_DIRECTORY', `')dnl
define(`confSERVICE_SWITCH_FILE', `@DIR@/service.switch')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
define(`confDONT_BLAME_SENDMAIL', `TrustStickyBit')dnl
define(`confLOG_LEVEL', `9')dnl
define(`confMILTER_LOG_LEVEL', `9')dnl
define(`confTO_IDENT', `0')dnl
define(`confDELIVERY_MODE', `background')dnl
define(`SMART_HOST', `esmtp:[127.0.0.1]')dnl
define(`ESMTP_MAILER_ARGS', `TCP $h @SINKPORT@')dnl
define(`confCACERT_PATH', `@DIR@/tls')dnl
define(`confCACERT', `@DIR@/tls/cert.pem')dnl
define(`confSERVER_CERT', `@DIR@/tls/cert.pem')dnl
define(`confSERVER_KEY', `@DIR@/tls/key.pem')dnl
define(`confAUTH_MECHANISMS', `PLAIN LOGIN')dnl
define(`confAUTH_REALM', `@REALM@')dnl
TRUST_AUTH_MECH(`PLAIN LOGIN')dnl
FEATURE(`nocanonify')dnl
FEATURE(`accept_unresolvable_domains')dnl
LOCAL_DOMAIN(`@LOCALDOMAIN@')dnl
dnl Only the daemon below: no default MSA on port 587 of every address,
dnl which would collide with the machine's submission service or another
dnl test run.
FEATURE(`no_default_msa')dnl
@EXTRA@dnl
DAEMON_OPTIONS(`Family=inet, Name=MTA, Port=@PORT@, Addr=127.0.0.1')dnl
include(`@DIR@/mailtrail.m4')dnl
MAILER(`local')dnl
MAILER(`smtp')dnl
EOF
	if ! m4 -D_CF_DIR_="$cf/" "$cf/m4/cf.m4" "$dir/sendmail.mc" \
	    >"$dir/sendmail.cf" 2>"$dir/m4.log" || [ -s "$dir/m4.log" ]; then
		diag "m4 failed to build sendmail.cf:"
		diag "$(cat "$dir/m4.log")"
		return 1
	fi

	# What runs inside the namespaces (see the top of this file).
	cat >"$dir/ns-start.sh" <<EOF
set -e
D='$dir'
hostname '$SM_HOSTNAME'
mount --bind "\$D/hosts" /etc/hosts
mount --bind /dev "\$D/devstash"
mount -t tmpfs -o mode=0755,size=64k mailtrail-dev /dev
for n in null zero full random urandom tty; do
	[ -e "\$D/devstash/\$n" ] || continue
	: >"/dev/\$n"
	mount --bind "\$D/devstash/\$n" "/dev/\$n"
done
umount -l "\$D/devstash"
ln -s /proc/self/fd /dev/fd
ln -s fd/0 /dev/stdin
ln -s fd/1 /dev/stdout
ln -s fd/2 /dev/stderr
: >/dev/log
mount --bind "\$D/log.sock" /dev/log
mount --bind "\$D/sasl2" '$sysdir'
export LD_LIBRARY_PATH='$SM_ROOT/usr/lib/x86_64-linux-gnu:$SM_ROOT/usr/lib'
exec "\$D/sendmail" -C "\$D/sendmail.cf" -bD -L sm-mta
EOF

	cat >"$dir/syslogd.py" <<'EOF'
# A syslog receiver for one test: datagrams on a unix socket, one line
# each (priority and all) appended to a file.
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(out, 'ab', buffering=0) as f:
    while True:
        d = s.recv(65536)
        f.write(d.rstrip(b'\0\n') + b'\n')
EOF
	return 0
}

# The PID of the only child of PID (unshare's forked child), or nothing.
_sm_child_of()
{
	local c
	c=$(cat "/proc/$1/task/$1/children" 2>/dev/null) || return 1
	c=${c%% }
	case $c in
	'' | *' '*) return 1 ;;		# none yet (or, impossibly, several)
	esac
	echo "$c"
}

sm_start()
{
	local dir=$1 port listeners end
	port=$(cat "$dir/port")
	if ! port_is_free "$port"; then
		diag "port $port is already taken: $(ss -Htlnp "sport = :$port")"
		return 1
	fi
	rm -f "$dir/log.sock"
	: >"$dir/maillog"
	"$SM_PYTHON" "$dir/syslogd.py" "$dir/log.sock" "$dir/maillog" \
	    >"$dir/syslogd.out" 2>&1 &
	_sm_syslog_pid=$!
	track_pid "$_sm_syslog_pid"
	at_exit sm_stop "$dir"
	if ! wait_for 10 test -S "$dir/log.sock"; then
		diag "syslog receiver did not start: $(cat "$dir/syslogd.out")"
		return 1
	fi
	# (unshare blocks SIGTERM while it waits for its child: sm_stop
	# ends the child, or sends SIGKILL)
	unshare -m -u -p --fork --kill-child --propagation private \
	    sh "$dir/ns-start.sh" >"$dir/start.out" 2>&1 </dev/null &
	_sm_unshare_pid=$!
	track_pid "$_sm_unshare_pid"
	if ! SM_PID=$(wait_for 5 _sm_child_of "$_sm_unshare_pid"); then
		SM_PID=
		diag "unshare (pid $_sm_unshare_pid) started no process:"
		diag "$(cat "$dir/start.out")"
		return 1
	fi
	SM_PIDNS=$(readlink "/proc/$SM_PID/ns/pid" 2>/dev/null)
	if [ -z "$SM_PIDNS" ] || [ "$SM_PIDNS" = "$(readlink /proc/self/ns/pid)" ]; then
		diag "Sendmail's process $SM_PID is not in a PID namespace of its own"
		return 1
	fi
	# (Sendmail does not exit when it cannot bind: it retries every 5 s)
	end=$((SECONDS + 15))
	while [ "$SECONDS" -lt "$end" ]; do
		port_has_listener "$port" && break
		kill -0 "$SM_PID" 2>/dev/null || break
		grep -q 'cannot bind' "$dir/maillog" && break
		sleep 0.1
	done
	listeners=$(port_listeners "$port" | tr '\n' ' ')
	if [ "$listeners" != "$SM_PID " ]; then
		diag "sendmail did not start (port $port: listeners '$listeners', want $SM_PID):"
		diag "$(cat "$dir/start.out")"
		diag "$(tail -n 20 "$dir/maillog")"
		return 1
	fi
	_sm_up=1
	return 0
}

sm_stop()
{
	local dir=$1
	# The daemon is its PID namespace's init: when it ends, the kernel
	# ends the sessions and deliveries it left behind.  One that never
	# got its port is retrying it and notices SIGTERM only afterwards:
	# it gets a second.
	if [ -n "$SM_PID" ]; then
		kill_wait "$SM_PID" "$([ "$_sm_up" = 1 ] && echo 10 || echo 1)"
		SM_PID=
	fi
	_sm_up=
	# unshare exits with its child; if it does not (the daemon's PID was
	# never learnt), SIGKILL, and --kill-child takes the child with it.
	if [ -n "$_sm_unshare_pid" ]; then
		if ! wait_for 2 _sm_gone "$_sm_unshare_pid"; then
			kill -KILL "$_sm_unshare_pid" 2>/dev/null
		fi
		wait "$_sm_unshare_pid" 2>/dev/null
		untrack_pid "$_sm_unshare_pid"
		_sm_unshare_pid=
	fi
	if [ -n "$_sm_syslog_pid" ]; then
		kill_wait "$_sm_syslog_pid" 5
		untrack_pid "$_sm_syslog_pid"
		_sm_syslog_pid=
	fi
	return 0
}

# 0 when PID (our child) has exited (a zombie counts as gone).
_sm_gone()
{
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$state" ] || [ "$state" = Z ]
}

# sm_ns_procs PIDNS: the PIDs of the processes in that PID namespace, for
# checks that an instance left nothing behind.  Read only: nothing is ever
# killed by namespace.
sm_ns_procs()
{
	[ -n "$1" ] || return 0
	ls -l /proc/[0-9]*/ns/pid 2>/dev/null | grep -F -e "-> $1" |
	    sed 's|.* /proc/\([0-9]*\)/ns/pid -> .*|\1|' | tr '\n' ' '
}

# 0 when the instance runs no process but the daemon: orphans in a PID
# namespace become its init's children, so no child means no session and
# no delivery under way.
sm_idle()
{
	[ -n "$SM_PID" ] || return 0
	[ -z "$(tr -d ' \n' <"/proc/$SM_PID/task/$SM_PID/children" 2>/dev/null)" ]
}

_sm_queue_empty()
{
	[ -z "$(find "$1/queue" -type f \( -name 'qf*' -o -name 'df*' \) 2>/dev/null)" ]
}

sm_wait_queue_empty()
{
	local dir=$1 secs=${2:-60}
	if wait_for "$secs" _sm_queue_empty "$dir"; then
		return 0
	fi
	diag "queue of $dir not empty after ${secs}s:"
	diag "$(ls -l "$dir/queue")"
	diag "$(tail -n 20 "$dir/maillog")"
	return 1
}

# "QUEUEID <message-id>" per message Sendmail received, in log order.
sm_queue_ids()
{
	sed -n 's/.* sm-mta\[[0-9]*\]: \([0-9A-Za-z]*\): from=.*, msgid=\(<[^>]*>\).*/\1 \2/p' \
	    "$1/maillog"
}

sm_queue_id_of()
{
	sm_queue_ids "$1" | awk -v m="<$2>" '$2 == m { print $1 }'
}

# ---------------------------------------------------------------- the scenario

SCN_DATE="Wed, 25 Nov 2026 12:00:00 +0000"

_scn_message()
{
	local file=$1 n=$2 tag=$3 from=$4 to=$5
	printf '%s\n' "From: <$from>" "To: <$to>" \
	    "Subject: mailtrail scenario message $n" "Date: $SCN_DATE" \
	    "Message-ID: <scn-$n.$tag@client.example>" "" \
	    "Body of scenario message $n." >"$file"
}

_scn_tls_client()
{
	cat >"$1" <<'EOF'
# scenario session B: STARTTLS, AUTH PLAIN, one message.  Prints the
# replies as "NAME CODE TEXT" lines and the TLS facts as "tls VERSION CIPHER
# BITS".
import smtplib, ssl, sys
port, helo, user, password, sender, rcpt, path = sys.argv[1:8]
def out(name, reply):
    code, text = reply
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    print(name, code, text.replace('\n', ' '), flush=True)
s = smtplib.SMTP('127.0.0.1', int(port), local_hostname=helo, timeout=30)
s.ehlo()
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
out('starttls', s.starttls(context=ctx))
v = s.sock.cipher()
print('tls', s.sock.version(), v[0], v[2], flush=True)
s.ehlo()
s.user, s.password = user, password
out('auth', s.auth('PLAIN', s.auth_plain))
out('mail3', s.mail(sender))
out('rcpt3', s.rcpt(rcpt))
with open(path, 'rb') as f:
    data = f.read().replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
out('queued3', s.data(data))
s.quit()
EOF
}

scn_run()
{
	local port=$1 out=$2 tag=$3 reject=$4 r
	mkdir -p "$out" || return 1
	: >"$out/replies"
	_scn_message "$out/msg1.eml" 1 "$tag" sender-a@example.org rcpt-a1@example.com
	_scn_message "$out/msg2.eml" 2 "$tag" sender-a@example.org rcpt-a2@example.com
	_scn_message "$out/msg3.eml" 3 "$tag" sender-b@example.org rcpt-b@example.com

	# Session A: two transactions, a rejected recipient in the first.
	if smtp_open "$port" && smtp_cmd "EHLO helo-a.example"; then
		smtp_cmd "MAIL FROM:<sender-a@example.org> BODY=8BITMIME"
		smtp_cmd "RCPT TO:<rcpt-a1@example.com>"
		smtp_cmd "RCPT TO:<$reject>"
		echo "reject $SMTP_CODE ${SMTP_REPLY:4}" >>"$out/replies"
		smtp_data "$out/msg1.eml"
		echo "queued1 $SMTP_CODE ${SMTP_REPLY:4}" >>"$out/replies"
		smtp_cmd "MAIL FROM:<sender-a@example.org>"
		smtp_cmd "RCPT TO:<rcpt-a2@example.com>"
		smtp_data "$out/msg2.eml"
		echo "queued2 $SMTP_CODE ${SMTP_REPLY:4}" >>"$out/replies"
		smtp_close
	else
		echo "sessionA $SMTP_CODE ${SMTP_REPLY:4}" >>"$out/replies"
	fi

	# Session B: STARTTLS and SMTP AUTH.
	_scn_tls_client "$out/tls-client.py"
	"$SM_PYTHON" "$out/tls-client.py" "$port" helo-b.example \
	    "$SCN_SASL_USER" "$SCN_SASL_PASS" sender-b@example.org \
	    rcpt-b@example.com "$out/msg3.eml" >>"$out/replies" \
	    2>"$out/tls-client.err"
	r=$?
	[ "$r" = 0 ] || diag "TLS session: $(tail -n 3 "$out/tls-client.err")"
	return "$r"
}

# scn_reply OUTDIR NAME: "CODE TEXT" of that reply.
scn_reply()
{
	sed -n "s/^$2 //p" "$1/replies" | head -n 1
}

# Columns left out of the comparison, per table ("table.column"):
#   IDs, times and ports differ between any two runs; the MTA's host,
#   daemon name and version and its queue IDs differ between MTAs (the
#   dump shows whether a queue ID was recorded, and the tests compare each
#   with its MTA's log).  A rejected recipient's reply code and text are the MTA's own words
#   (Postfix passes no code and prefixes "Recipient address rejected:");
#   the enhanced status code is compared.  messages.mta_size is the MTA's
#   own count (Sendmail sends {msg_size}, Postfix nothing).
SCN_IGNORE="connections.id connections.conn_uid connections.connect_time
connections.close_time connections.client_port connections.mta_host
connections.mta_daemon connections.mta_version
messages.id messages.track_id messages.conn_id messages.start_time
messages.end_time messages.queue_id messages.mta_size
recipients.id recipients.message recipients.time recipients.reply_code
recipients.reply_text
header_edits.id header_edits.message header_edits.value"

# The comparable columns of TABLE as one SQL expression: "col=value ..."
# with NULL and '' told apart.
_scn_columns()
{
	local db=$1 table=$2 col expr=
	for col in $(sql "$db" "SELECT name FROM pragma_table_info('$table')"); do
		case " ${SCN_IGNORE//$'\n'/ } " in *" $table.$col "*) continue ;; esac
		# per-message tables: any id, time or duration column
		case $col in id | message | time | elapsed_us) continue ;; esac
		expr="$expr || ' $col=' || quote(t.$col)"
	done
	echo "''${expr}"
}

scn_journal_dump()
{
	local db=$1 table
	sql "$db" "SELECT 'conn ' || row_number() OVER (ORDER BY t.connect_time)
	    || ' port_known=' || coalesce(t.client_port > 0, 0)
	    || ' closed=' || (t.close_time IS NOT NULL)
	    || $(_scn_columns "$db" connections)
	    FROM connections t ORDER BY t.connect_time"
	# messages numbered in time order; each names its connection by number
	sql "$db" "WITH c AS (SELECT id, row_number() OVER
	    (ORDER BY connect_time) AS n FROM connections)
	    SELECT 'msg ' || row_number() OVER (ORDER BY t.start_time)
	    || ' conn=' || c.n
	    || ' queue_id_known=' || coalesce(t.queue_id <> '', 0)
	    || $(_scn_columns "$db" messages)
	    FROM messages t JOIN c ON c.id = t.conn_id ORDER BY t.start_time"
	for table in $(sql "$db" "SELECT m.name FROM sqlite_master m
	    WHERE m.type = 'table' AND EXISTS (SELECT 1 FROM
	    pragma_table_info(m.name) p WHERE p.name = 'message')
	    ORDER BY m.name"); do
		sql "$db" "WITH m AS (SELECT id, track_id, row_number() OVER
		    (ORDER BY start_time) AS n FROM messages)
		    SELECT '$table msg=' || m.n
		    $( [ "$table" = header_edits ] && echo "|| ' value=' || CASE WHEN trim(t.value) = m.track_id THEN '<its tracking ID>' ELSE quote(t.value) END" )
		    || $(_scn_columns "$db" "$table")
		    FROM $table t JOIN m ON m.id = t.message
		    ORDER BY m.n, t.id"
	done
}
