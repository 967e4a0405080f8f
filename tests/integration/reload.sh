#!/bin/bash
# reload.sh - SIGHUP reloads the configuration without dropping mail: new
# connections use the new values, a broken file is refused and the running
# configuration kept, options read only at start-up are named in a warning.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/milter.sh"

require_tool miltertest sqlite3
[ -x "$(mt_binary)" ] || skip_all "daemon not built"
mt_tmpdir >/dev/null
T=$_mt_tmp
LUADIR=$top_srcdir/tests/integration
SOCK=unix:$T/milter.sock
CONF=$T/mailtrail.conf

write_conf()
{
	printf 'tracking = { header = "%s"; };\nmilter = { backlog = %d; };\n' \
	    "$1" "$2" >"$CONF"
}

send()
{
	local label=$1 hdr=$2
	timeout 60 miltertest -D sock="$SOCK" -D lib="$LUADIR/lib.lua" \
	    -D hdr="$hdr" -D count=1 -s "$LUADIR/stream.lua" >"$T/$label.out" 2>&1
	is "$(grep -c '^CHECK ok' "$T/$label.out")" 3 "$label: tagged with $hdr" ||
	    diag "$(grep -v '^CHECK ok' "$T/$label.out")"
}

write_conf X-Trail-One 64
mt_start "$T" "$SOCK" "$T/journal.db" -c "$CONF" || bail_out "no daemon"
send before X-Trail-One

write_conf X-Trail-Two 32
kill -HUP "$MT_PID"
wait_for 10 grep -q "configuration reloaded" "$T/milter.log"
is "$?" 0 "SIGHUP: the configuration is reloaded"
like "$(cat "$T/milter.log")" "milter.backlog changed; it takes effect at the next restart" \
    "a start-up option that changed is named in a warning"
send after X-Trail-Two

printf 'tracking = { header = ; };\n' >"$CONF"
kill -HUP "$MT_PID"
wait_for 10 grep -q "reload failed" "$T/milter.log"
is "$?" 0 "a broken file is refused on reload"
send kept X-Trail-Two
mt_running
is "$?" 0 "the daemon keeps running"

mt_stop
is "$?" 0 "clean stop"
is "$(sqlite3 -readonly "$T/journal.db" 'SELECT COUNT(*) FROM messages')" 3 \
    "all three messages in the journal"
done_testing
