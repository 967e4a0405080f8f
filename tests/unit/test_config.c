/*
 * test_config.c - unit tests of config.c.
 *
 * Covers: the built-in defaults; loading a complete valid file; every class
 * of load error (a table of file contents and the exact "FILE:LINE: KEY:"
 * message start, plus missing, unreadable, oversized and NUL-carrying
 * files); config_set parsing from text; the dump -> load -> dump round
 * trip; etc/mailtrail.conf loading to the defaults; the option table
 * cross-checked against etc/mailtrail.conf and man/mailtrail.conf.5
 * (names, descriptions, defaults, bounds); trusted-network matching for
 * IPv4, IPv6 and IPv4-mapped clients; reference counting, across threads.
 *
 * Fixtures are written to a private directory under $TMPDIR (or /tmp),
 * removed at the end.  The documentation checks need $top_srcdir (exported
 * by "make check") and are skipped without it.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "mailtrail/config.h"

static char	 tmpdir[PATH_MAX];

/* ------------------------------------------------------------ helpers */

static const char *
fixture_path(const char *name)
{
	static char	 path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

/* Write a fixture file; returns its path (static buffer). */
static const char *
write_fixture(const char *name, const char *text, size_t len)
{
	const char	*path = fixture_path(name);
	FILE		*fp;

	if ((fp = fopen(path, "w")) == NULL)
		fail_msg("cannot create %s: %s", path, strerror(errno));
	if (len > 0 && fwrite(text, 1, len, fp) != len)
		fail_msg("cannot write %s", path);
	if (fclose(fp) != 0)
		fail_msg("cannot close %s", path);
	return path;
}

static const char *
write_conf(const char *text)
{
	return write_fixture("case.conf", text, strlen(text));
}

/* The dump of cfg as a string; caller frees. */
static char *
dump_string(const struct mt_config *cfg)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		fail_msg("open_memstream: %s", strerror(errno));
	config_dump(cfg, fp);
	fclose(fp);
	return buf;
}

/* A whole file into a string; NULL if it cannot be read. */
static char *
slurp(const char *path)
{
	FILE	*fp;
	char	*buf;
	long	 n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	if (n < 0 || (buf = malloc((size_t)n + 1)) == NULL) {
		fclose(fp);
		return NULL;
	}
	if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		fclose(fp);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* Path of a file in the source tree, or NULL when top_srcdir is unset. */
static const char *
srcdir_file(const char *rel, char *buf, size_t bufsz)
{
	const char	*top = getenv("top_srcdir");

	if (top == NULL || *top == '\0')
		return NULL;
	snprintf(buf, bufsz, "%s/%s", top, rel);
	return buf;
}

static const char *
expected_hostname(char *buf, size_t bufsz)
{
	if (gethostname(buf, bufsz) != 0 || buf[0] == '\0')
		snprintf(buf, bufsz, "localhost");
	buf[bufsz - 1] = '\0';
	return buf;
}

static int
setup_tmpdir(void **state)
{
	const char	*base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/mt-test-config-XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "mkdtemp %s: %s\n", tmpdir, strerror(errno));
		return -1;
	}
	return 0;
}

static int
teardown_tmpdir(void **state)
{
	static const char *const names[] = {
		"case.conf", "full.conf", "dump1.conf", "inc.conf",
		"main.conf", "big.conf", "nul.conf", "unreadable.conf",
		"subdir", NULL
	};
	size_t	 i;

	for (i = 0; names[i] != NULL; i++) {
		if (unlink(fixture_path(names[i])) != 0 && errno == EISDIR)
			rmdir(fixture_path(names[i]));
		rmdir(fixture_path(names[i]));
	}
	if (rmdir(tmpdir) != 0)
		fprintf(stderr, "rmdir %s: %s\n", tmpdir, strerror(errno));
	return 0;
}

/* ------------------------------------------------------------ defaults */

static void
test_defaults(void **state)
{
	struct mt_config	*cfg;
	char			 host[256];

	cfg = config_defaults();
	assert_non_null(cfg);
	assert_null(cfg->path);
	assert_int_equal(cfg->refs, 1);
	assert_string_equal(cfg->socket, "unix:/run/mailtrail/milter.sock");
	assert_int_equal(cfg->socket_mode, 0660);
	assert_int_equal(cfg->no_reply, MT_NOREPLY_AUTO);
	assert_int_equal(cfg->tcp_nodelay, 1);
	assert_int_equal(cfg->milter_timeout, 7210);
	assert_int_equal(cfg->backlog, 64);
	assert_string_equal(cfg->user, "");
	assert_string_equal(cfg->group, "");
	assert_string_equal(cfg->pid_file, "");
	assert_string_equal(cfg->journal_path, "/var/lib/mailtrail/journal.db");
	assert_int_equal(cfg->durability, MT_DURABILITY_FULL);
	assert_int_equal(cfg->commit_interval_ms, 200);
	assert_int_equal(cfg->commit_timeout_ms, 5000);
	assert_int_equal(cfg->queue_max_records, 10000);
	assert_int_equal(cfg->queue_max_bytes, 67108864);
	assert_int_equal(cfg->journal_mode, 0640);
	assert_string_equal(cfg->tracking_header, "X-Mailtrail-ID");
	assert_string_equal(cfg->authserv_id,
	    expected_hostname(host, sizeof(host)));
	assert_int_equal(cfg->n_trusted, 2);
	assert_non_null(cfg->trusted);
	assert_int_equal(cfg->trusted[0].family, AF_INET);
	assert_int_equal(cfg->trusted[0].prefix, 8);
	assert_int_equal(cfg->trusted[1].family, AF_INET6);
	assert_int_equal(cfg->trusted[1].prefix, 128);
	assert_int_equal(cfg->on_error, MT_ON_ERROR_ACCEPT);
	assert_int_equal(cfg->record_subject, 1);
	assert_int_equal(cfg->max_value_length, 4096);
	assert_int_equal(cfg->max_recipients, 1000);
	assert_int_equal(cfg->max_unknown_commands, 20);
	assert_int_equal(cfg->max_header_edits, 50);
	assert_int_equal(cfg->log_level, LOG_INFO);
	assert_int_equal(cfg->log_facility, LOG_MAIL);
	config_unref(cfg);
}

static void
test_option_table(void **state)
{
	size_t		 i, j, n = config_option_count();
	const char	*p, *q, *dot;
	size_t		 glen;

	assert_true(n >= 27);
	assert_null(config_option_path(n));
	assert_null(config_option_path((size_t)-1));
	for (i = 0; i < n; i++) {
		p = config_option_path(i);
		assert_non_null(p);
		/* "key" or "group.key". */
		dot = strchr(p, '.');
		if (dot != NULL && strchr(dot + 1, '.') != NULL)
			fail_msg("%s: nested deeper than one group", p);
		for (j = 0; j < i; j++)
			if (strcmp(p, config_option_path(j)) == 0)
				fail_msg("%s: defined twice", p);
		/* A group's options are contiguous. */
		if (dot == NULL || i == 0)
			continue;
		glen = (size_t)(dot - p) + 1;
		q = config_option_path(i - 1);
		if (strncmp(q, p, glen) == 0)
			continue;
		for (j = 0; j + 1 < i; j++)
			if (strncmp(config_option_path(j), p, glen) == 0)
				fail_msg("%s: group split in the table", p);
	}
}

/* ------------------------------------------------------------ valid files */

static const char full_conf[] =
    "# every option, none at its default\n"
    "milter = {\n"
    "\tsocket = \"inet:8891@127.0.0.1\";\n"
    "\tsocket_mode = \"0600\";\n"
    "\tno_reply_flags = \"off\";\n"
    "\ttcp_nodelay = false;\n"
    "\ttimeout = 300;  // seconds\n"
    "\tbacklog = 0x80;\n"
    "\tuser = \"mailtrail\";\n"
    "\tgroup = \"postfix\";\n"
    "\tpid_file = \"/run/mailtrail/milter.pid\";\n"
    "};\n"
    "journal:\n"
    "{\n"
    "\tpath = \"/srv/journal.db\";\n"
    "\tdurability = \"normal\";\n"
    "\tcommit_interval = 50;\n"
    "\tcommit_timeout = 1000;\n"
    "\tqueue_max_records = 5000000;\n"
    "\tqueue_max_bytes = 8589934592L;\n"
    "\tmode = \"0600\";\n"
    "};\n"
    "/* C comments\n   too */\n"
    "tracking = { header = \"X-Trace\"; };\nauthres = { authserv_id = \"mx.example.com\"; };\n"
    "trusted_networks = ( \"192.0.2.0/24\", \"2001:db8::/32\",\n"
    "    \"198.51.100.7\" );\n"
    "on_error: \"tempfail\";\n"
    "capture = { subject = false; };\n"
    "limits = {\n"
    "\tmax_value_length = 1048576;\n"
    "\tmax_recipients = 1;\n"
    "\tmax_unknown_commands = 0;\n"
    "\tmax_header_edits = 10000;\n"
    "};\n"
    "log = { level = \"debug\"; facility = \"local5\"; };\n";

static void
test_load_full(void **state)
{
	struct mt_config	*cfg;
	const char		*path = write_fixture("full.conf", full_conf,
				    strlen(full_conf));
	char			 err[512];

	cfg = config_load(path, err, sizeof(err));
	if (cfg == NULL)
		fail_msg("load: got error \"%s\", want success", err);
	assert_string_equal(cfg->path, path);
	assert_int_equal(cfg->refs, 1);
	assert_string_equal(cfg->socket, "inet:8891@127.0.0.1");
	assert_int_equal(cfg->socket_mode, 0600);
	assert_int_equal(cfg->no_reply, MT_NOREPLY_OFF);
	assert_int_equal(cfg->tcp_nodelay, 0);
	assert_int_equal(cfg->milter_timeout, 300);
	assert_int_equal(cfg->backlog, 128);
	assert_string_equal(cfg->user, "mailtrail");
	assert_string_equal(cfg->group, "postfix");
	assert_string_equal(cfg->pid_file, "/run/mailtrail/milter.pid");
	assert_string_equal(cfg->journal_path, "/srv/journal.db");
	assert_int_equal(cfg->durability, MT_DURABILITY_NORMAL);
	assert_int_equal(cfg->commit_interval_ms, 50);
	assert_int_equal(cfg->commit_timeout_ms, 1000);
	assert_int_equal(cfg->queue_max_records, 5000000);
	assert_true(cfg->queue_max_bytes == (size_t)8589934592ULL);
	assert_int_equal(cfg->journal_mode, 0600);
	assert_string_equal(cfg->tracking_header, "X-Trace");
	assert_string_equal(cfg->authserv_id, "mx.example.com");
	assert_int_equal(cfg->n_trusted, 3);
	assert_int_equal(cfg->on_error, MT_ON_ERROR_TEMPFAIL);
	assert_int_equal(cfg->record_subject, 0);
	assert_int_equal(cfg->max_value_length, 1048576);
	assert_int_equal(cfg->max_recipients, 1);
	assert_int_equal(cfg->max_unknown_commands, 0);
	assert_int_equal(cfg->max_header_edits, 10000);
	assert_int_equal(cfg->log_level, LOG_DEBUG);
	assert_int_equal(cfg->log_facility, LOG_LOCAL5);
	config_unref(cfg);
}

/* Files that only differ from the defaults in form: same dump. */
static void
test_load_equivalent_to_defaults(void **state)
{
	static const char *const texts[] = {
		"",
		"# nothing but a comment\n",
		"\n\n   \n",
		"milter = { };\njournal = { };\n",
		"trusted_networks = [ \"127.0.0.1/8\", \"0:0::1\" ];\n",
		"log = { level = \"INFO\"; facility = \"MAIL\"; };\n",
		"journal = { queue_max_bytes = 67108864L; mode = \"640\"; };\n",
		"journal = { durability = \"Full\"; };\n",
		"milter = { timeout = 0x1C2A; };\n",
	};
	struct mt_config	*def, *cfg;
	char			*want, *got, err[512];
	size_t			 i;

	def = config_defaults();
	assert_non_null(def);
	want = dump_string(def);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		cfg = config_load(write_conf(texts[i]), err, sizeof(err));
		if (cfg == NULL)
			fail_msg("case %zu: got error \"%s\", want success",
			    i, err);
		got = dump_string(cfg);
		if (strcmp(got, want) != 0)
			fail_msg("case %zu: dump differs from the defaults:\n"
			    "%s", i, got);
		free(got);
		config_unref(cfg);
	}
	free(want);
	config_unref(def);
}

/* ------------------------------------------------------------ load errors */

struct error_case {
	const char	*name;
	const char	*text;
	const char	*want;	/* what follows the file name in the error */
};

#define LONG65	\
	"X-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LONG256	\
	"a123456789a123456789a123456789a123456789a123456789" \
	"a123456789a123456789a123456789a123456789a123456789" \
	"a123456789a123456789a123456789a123456789a123456789" \
	"a123456789a123456789a123456789a123456789a123456789" \
	"a123456789a123456789a123456789a123456789a123456789" \
	"a12345"

static const struct error_case error_cases[] = {
	/* Unknown keys and groups, anywhere. */
	{ "unknown top-level key",
	  "on_error = \"accept\";\nfrobnicate = 1;\n",
	  ":2: frobnicate: unknown option (allowed at top level: milter, "
	  "journal, tracking, authres, spf, dkim, dmarc, trusted_networks, "
	  "on_error, "
	  "capture, limits, delivery, log)" },
	{ "unknown group",
	  "\nmiltr = { socket = \"unix:/x\"; };\n",
	  ":2: miltr: unknown option (allowed at top level:" },
	{ "unknown key in a group",
	  "milter = {\n  socket = \"unix:/x\";\n  sokcet = \"unix:/y\";\n};\n",
	  ":3: milter.sokcet: unknown option (allowed in milter: socket, "
	  "socket_mode, no_reply_flags, tcp_nodelay, timeout, shutdown_timeout, backlog, user, "
	  "group, pid_file)" },
	{ "unknown nested group",
	  "milter = {\n  extra = { a = 1; };\n};\n",
	  ":2: milter.extra: unknown option (allowed in milter:" },
	{ "option in the wrong group",
	  "journal = { socket = \"unix:/x\"; };\n",
	  ":1: journal.socket: unknown option (allowed in journal: path," },
	{ "top-level option inside a group",
	  "milter = { on_error = \"accept\"; };\n",
	  ":1: milter.on_error: unknown option" },
	{ "group option at top level",
	  "socket = \"unix:/x\";\n",
	  ":1: socket: unknown option" },
	{ "first unknown key by line",
	  "log = {\n  levle = \"info\";\n};\nzzz = 1;\n",
	  ":2: log.levle: unknown option" },
	{ "bad value before an unknown key",
	  "milter = { timeout = 0; };\nbogus = 1;\n",
	  ":1: milter.timeout: 0 is out of range (allowed: 1..86400)" },
	{ "unknown key before a bad value",
	  "journal = {\n  pth = \"/x\";\n  mode = 640;\n};\n",
	  ":2: journal.pth: unknown option" },

	/* Wrong types. */
	{ "string for an integer",
	  "milter = {\n  timeout = \"30\";\n};\n",
	  ":2: milter.timeout: wrong type: got a string, want an integer "
	  "(allowed: 1..86400)" },
	{ "float for an integer",
	  "limits = { max_recipients = 10.5; };\n",
	  ":1: limits.max_recipients: wrong type: got a floating-point "
	  "number, want an integer (allowed: 1..100000)" },
	{ "boolean for an integer",
	  "milter = { backlog = true; };\n",
	  ":1: milter.backlog: wrong type: got a boolean, want an integer" },
	{ "integer for a string",
	  "journal = { path = 5; };\n",
	  ":1: journal.path: wrong type: got an integer, want a string" },
	{ "string for a boolean",
	  "capture = { subject = \"yes\"; };\n",
	  ":1: capture.subject: wrong type: got a string, want a boolean "
	  "(true or false) (allowed: true, false)" },
	{ "integer for a boolean",
	  "milter = { tcp_nodelay = 1; };\n",
	  ":1: milter.tcp_nodelay: wrong type: got an integer, want a "
	  "boolean" },
	{ "integer for a mode",
	  "journal = { mode = 0640; };\n",
	  ":1: journal.mode: wrong type: got an integer, want a quoted octal "
	  "string such as \"0640\"" },
	{ "integer for a name",
	  "on_error = 1;\n",
	  ":1: on_error: wrong type: got an integer, want a string (allowed: "
	  "accept, tempfail)" },
	{ "string for a network list",
	  "trusted_networks = \"10.0.0.0/8\";\n",
	  ":1: trusted_networks: wrong type: got a string, want an array of "
	  "strings" },
	{ "integer in a network list",
	  "trusted_networks = ( \"10.0.0.0/8\",\n  5 );\n",
	  ":2: trusted_networks: element 2: wrong type: got an integer, want "
	  "a string" },
	{ "group in a network list",
	  "trusted_networks = ( { a = 1; } );\n",
	  ":1: trusted_networks: element 1: wrong type: got a group, want a "
	  "string" },
	{ "array for a string",
	  "tracking = { header = [ \"X\" ]; };\n",
	  ":1: tracking.header: wrong type: got an array, want a string" },
	{ "list for a name",
	  "log = { level = ( \"info\" ); };\n",
	  ":1: log.level: wrong type: got a list, want a string" },
	{ "value for a group",
	  "journal = \"/var/lib/x\";\n",
	  ":1: journal: wrong type: got a string, want a group" },
	{ "group for a value",
	  "on_error = { x = 1; };\n",
	  ":1: on_error: wrong type: got a group, want a string" },

	/* Bounds. */
	{ "int below range",
	  "milter = { timeout = 0; };\n",
	  ":1: milter.timeout: 0 is out of range (allowed: 1..86400)" },
	{ "int above range",
	  "milter = { backlog = 65536; };\n",
	  ":1: milter.backlog: 65536 is out of range (allowed: 1..65535)" },
	{ "negative count",
	  "limits = { max_unknown_commands = -1; };\n",
	  ":1: limits.max_unknown_commands: -1 is out of range (allowed: "
	  "0..1000)" },
	{ "ms above range",
	  "journal = { commit_timeout = 250001; };\n",
	  ":1: journal.commit_timeout: 250001 is out of range (allowed: "
	  "10..250000)" },
	{ "ms below range",
	  "journal = { commit_interval = 0; };\n",
	  ":1: journal.commit_interval: 0 is out of range (allowed: "
	  "1..60000)" },
	{ "size above range",
	  "journal = { queue_max_bytes = 8589934593L; };\n",
	  ":1: journal.queue_max_bytes: 8589934593 is out of range (allowed: "
	  "65536..8589934592)" },
	{ "size below range",
	  "journal = { queue_max_bytes = 65535; };\n",
	  ":1: journal.queue_max_bytes: 65535 is out of range" },
	{ "value length above range",
	  "limits = { max_value_length = 1048577; };\n",
	  ":1: limits.max_value_length: 1048577 is out of range (allowed: "
	  "64..1048576)" },
	{ "64-bit value for an int option",
	  "milter = { timeout = 4294967297L; };\n",
	  ":1: milter.timeout: 4294967297 is out of range" },
	{ "large literal without L",
	  "journal = {\n  queue_max_bytes = 4295032832;\n};\n",
	  ":2: journal.queue_max_bytes: 4295032832 does not fit in 32 bits: "
	  "write it as 4295032832L (allowed: 65536..8589934592)" },
	{ "huge literal without L",
	  "limits = { max_recipients = 99999999999999999999; };\n",
	  ":1: limits.max_recipients: 99999999999999999999 does not fit in "
	  "32 bits" },
	{ "large hex literal without L",
	  "milter = { timeout = 0x100000010; };\n",
	  ":1: milter.timeout: 0x100000010 does not fit in 32 bits" },

	/* Names. */
	{ "bad durability",
	  "journal = { durability = \"sometimes\"; };\n",
	  ":1: journal.durability: \"sometimes\" is not a valid value "
	  "(allowed: full, normal)" },
	{ "bad on_error",
	  "on_error = \"reject\";\n",
	  ":1: on_error: \"reject\" is not a valid value (allowed: accept, "
	  "tempfail)" },
	{ "bad no_reply_flags",
	  "milter = { no_reply_flags = \"maybe\"; };\n",
	  ":1: milter.no_reply_flags: \"maybe\" is not a valid value "
	  "(allowed: auto, on, off)" },
	{ "bad log level",
	  "log = { level = \"verbose\"; };\n",
	  ":1: log.level: \"verbose\" is not a valid value (allowed: err, "
	  "warning, notice, info, debug)" },
	{ "bad facility",
	  "log = { facility = \"local8\"; };\n",
	  ":1: log.facility: \"local8\" is not a valid value (allowed: mail, "
	  "daemon, user, local0, local1," },
	{ "mode with a non-octal digit",
	  "journal = { mode = \"0999\"; };\n",
	  ":1: journal.mode: bad value \"0999\": not an octal mode (allowed: "
	  "an octal string from \"0000\" to \"0777\")" },
	{ "mode with special bits",
	  "milter = { socket_mode = \"4755\"; };\n",
	  ":1: milter.socket_mode: bad value \"4755\": not an octal mode" },
	{ "mode too short",
	  "journal = { mode = \"64\"; };\n",
	  ":1: journal.mode: bad value \"64\": not an octal mode" },
	{ "mode symbolic",
	  "journal = { mode = \"u=rw\"; };\n",
	  ":1: journal.mode: bad value \"u=rw\": not an octal mode" },

	/* Checked strings. */
	{ "socket of unknown type",
	  "milter = { socket = \"tcp:25@host\"; };\n",
	  ":1: milter.socket: bad value \"tcp:25@host\": unknown socket type "
	  "(allowed: unix:/PATH," },
	{ "socket port zero",
	  "milter = { socket = \"inet:0@127.0.0.1\"; };\n",
	  ":1: milter.socket: bad value \"inet:0@127.0.0.1\": bad port" },
	{ "socket port too large",
	  "milter = { socket = \"inet:65536@127.0.0.1\"; };\n",
	  ":1: milter.socket: bad value \"inet:65536@127.0.0.1\": bad port" },
	{ "socket port not a number",
	  "milter = { socket = \"inet:smtp@127.0.0.1\"; };\n",
	  ":1: milter.socket: bad value \"inet:smtp@127.0.0.1\": bad port" },
	{ "socket port missing",
	  "milter = { socket = \"inet6:@::1\"; };\n",
	  ":1: milter.socket: bad value \"inet6:@::1\": bad port" },
	{ "socket empty host",
	  "milter = { socket = \"inet:8891@\"; };\n",
	  ":1: milter.socket: bad value \"inet:8891@\": empty host" },
	{ "socket host with a space",
	  "milter = { socket = \"inet:8891@local host\"; };\n",
	  ":1: milter.socket: bad value \"inet:8891@local host\": bad "
	  "character in host" },
	{ "socket relative path",
	  "milter = { socket = \"unix:milter.sock\"; };\n",
	  ":1: milter.socket: bad value \"unix:milter.sock\": a unix: socket "
	  "needs an absolute path" },
	{ "socket path too long",
	  "milter = { socket = \"unix:/" LONG256 "\"; };\n",
	  ":1: milter.socket: bad value \"unix:/a123456789" },
	{ "header with a space",
	  "tracking = { header = \"X Bad\"; };\n",
	  ":1: tracking.header: bad value \"X Bad\": character not allowed "
	  "in a header name (allowed: a header field name" },
	{ "header with a colon",
	  "tracking = { header = \"X:Bad\"; };\n",
	  ":1: tracking.header: bad value \"X:Bad\": character not allowed" },
	{ "header empty",
	  "tracking = { header = \"\"; };\n",
	  ":1: tracking.header: bad value \"\": empty header name" },
	{ "header too long",
	  "tracking = { header = \"" LONG65 "\"; };\n",
	  ":1: tracking.header: bad value \"" LONG65 "\": header name too "
	  "long" },
	{ "header 8-bit",
	  "tracking = { header = \"X-\xc3\xa9t\xc3\xa9\"; };\n",
	  ":1: tracking.header: bad value \"X-\\xc3\\xa9t\\xc3\\xa9\": "
	  "character not allowed" },
	{ "authserv-id leading dot",
	  "authres = { authserv_id = \".example.com\"; };\n",
	  ":1: authres.authserv_id: bad value \".example.com\": leading or "
	  "trailing dot" },
	{ "authserv-id trailing dot",
	  "authres = { authserv_id = \"example.com.\"; };\n",
	  ":1: authres.authserv_id: bad value \"example.com.\": leading or "
	  "trailing dot" },
	{ "authserv-id double dot",
	  "authres = { authserv_id = \"mx..example.com\"; };\n",
	  ":1: authres.authserv_id: bad value \"mx..example.com\": two dots" },
	{ "authserv-id space",
	  "authres = { authserv_id = \"mx example\"; };\n",
	  ":1: authres.authserv_id: bad value \"mx example\": white space not "
	  "allowed" },
	{ "authserv-id at sign",
	  "authres = { authserv_id = \"mx@example.com\"; };\n",
	  ":1: authres.authserv_id: bad value \"mx@example.com\": character "
	  "'@' not allowed" },
	{ "authserv-id slash",
	  "authres = { authserv_id = \"mx/1.example.org\"; };\n",
	  ":1: authres.authserv_id: bad value \"mx/1.example.org\": character "
	  "'/' not allowed" },
	{ "authserv-id too long",
	  "authres = { authserv_id = \"" LONG256 "\"; };\n",
	  ":1: authres.authserv_id: bad value \"a123456789" },
	{ "pid file relative",
	  "milter = { pid_file = \"run/milter.pid\"; };\n",
	  ":1: milter.pid_file: bad value \"run/milter.pid\": not an absolute "
	  "path" },
	{ "journal path empty",
	  "journal = { path = \"\"; };\n",
	  ":1: journal.path: bad value \"\": must not be empty" },
	{ "user with a space",
	  "milter = { user = \"mail trail\"; };\n",
	  ":1: milter.user: bad value \"mail trail\": bad character in name" },
	{ "control character in a string",
	  "journal = { path = \"/tmp/a\\tb\"; };\n",
	  ":1: journal.path: bad value \"/tmp/a\\x09b\": contains a control "
	  "character" },

	/* Networks. */
	{ "network prefix too long",
	  "trusted_networks = [ \"10.0.0.0/8\",\n  \"10.0.0.0/33\" ];\n",
	  ":2: trusted_networks: element 2: bad network \"10.0.0.0/33\": "
	  "prefix length out of range (0..32 for IPv4) (allowed: IPv4 or "
	  "IPv6 networks" },
	{ "v6 network prefix too long",
	  "trusted_networks = [ \"::1/129\" ];\n",
	  ":1: trusted_networks: element 1: bad network \"::1/129\": prefix "
	  "length out of range" },
	{ "network with garbage",
	  "trusted_networks = [ \"10.0.0.0/8 x\" ];\n",
	  ":1: trusted_networks: element 1: bad network \"10.0.0.0/8 x\": "
	  "garbage" },
	{ "network given as a name",
	  "trusted_networks = [ \"example.com\" ];\n",
	  ":1: trusted_networks: element 1: bad network \"example.com\": not "
	  "an IPv4 address" },
	{ "network empty",
	  "trusted_networks = [ \"\" ];\n",
	  ":1: trusted_networks: element 1: bad network \"\": empty" },

	/* Given twice. */
	{ "top-level option twice",
	  "on_error = \"accept\";\non_error = \"tempfail\";\n",
	  ":2: on_error: given twice (first at line 1)" },
	{ "option twice in a group",
	  "milter = {\n  timeout = 5;\n  backlog = 3;\n  timeout = 6;\n};\n",
	  ":4: milter.timeout: given twice (first at line 2)" },
	{ "group twice",
	  "log = { level = \"info\"; };\nlog = { facility = \"mail\"; };\n",
	  ":2: log: given twice (first at line 1)" },
	{ "group twice after another group",
	  "milter = { timeout = 5; };\njournal = { path = \"/a\"; };\n"
	  "milter = { backlog = 1; };\n",
	  ":3: milter: given twice (first at line 1)" },
	{ "option twice on one line",
	  "milter = { backlog = 3; backlog = 4; };\n",
	  ":1: milter.backlog: given twice (first at line 1)" },
	{ "same name in two groups, twice in the second",
	  "journal = {\n  path = \"/a\";\n};\nmilter = {\n  path = \"/b\";\n"
	  "  path = \"/c\";\n};\n",
	  ":6: milter.path: given twice (first at line 5)" },

	/* libconfig's own errors. */
	{ "missing value",
	  "milter = { socket = ; };\n",
	  ":1: syntax error: syntax error" },
	{ "unterminated string",
	  "journal = {\n  path = \"/x;\n};\n",
	  ":4: syntax error: syntax error" },
	{ "missing closing brace",
	  "milter = {\n  backlog = 3;\n",
	  ":3: syntax error: syntax error" },
	{ "include of a missing file",
	  "@include \"/nonexistent/mailtrail/x.conf\"\n",
	  ":1: syntax error: cannot open include file" },
};

static void
test_load_errors(void **state)
{
	const struct error_case	*c;
	struct mt_config	*cfg;
	const char		*path;
	char			 err[1024];
	size_t			 i, plen;

	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		c = &error_cases[i];
		path = write_conf(c->text);
		plen = strlen(path);
		memset(err, 'x', sizeof(err));
		err[sizeof(err) - 1] = '\0';
		cfg = config_load(path, err, sizeof(err));
		if (cfg != NULL) {
			config_unref(cfg);
			fail_msg("%s: got success, want error \"FILE%s\"",
			    c->name, c->want);
		}
		if (strncmp(err, path, plen) != 0 ||
		    strncmp(err + plen, c->want, strlen(c->want)) != 0)
			fail_msg("%s:\n  got  \"%s\"\n  want \"FILE%s...\"",
			    c->name, err, c->want);
	}
}

/* An included file is refused even when it is readable and valid. */
static void
test_load_include(void **state)
{
	static const char inc_text[] = "on_error = \"accept\";\n";
	char		 main_text[PATH_MAX + 64], err[1024];
	char		 want[PATH_MAX + 64];
	const char	*path;
	struct mt_config *cfg;

	/* The error names the included file and its own line. */
	path = write_fixture("inc.conf", inc_text, strlen(inc_text));
	snprintf(want, sizeof(want), "%s:1: on_error: set in an included "
	    "file: mailtrail reads one file, @include is not supported", path);
	snprintf(main_text, sizeof(main_text),
	    "log = { level = \"info\"; };\n@include \"%s\"\n", path);
	path = write_fixture("main.conf", main_text, strlen(main_text));
	cfg = config_load(path, err, sizeof(err));
	if (cfg != NULL) {
		config_unref(cfg);
		fail_msg("got success, want an include error");
	}
	if (strcmp(err, want) != 0)
		fail_msg("got \"%s\", want \"%s\"", err, want);
}

static void
test_load_file_errors(void **state)
{
	static const char nul_text[] = "on_error = \"accept\";\n\0junk = 1;\n";
	char		 err[1024], want[PATH_MAX + 128], *big;
	const char	*path;
	struct mt_config *cfg;
	size_t		 i, n;

	/* Missing. */
	path = fixture_path("does-not-exist.conf");
	assert_null(config_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: cannot open: %s", path,
	    strerror(ENOENT));
	assert_string_equal(err, want);

	/* A directory. */
	path = fixture_path("subdir");
	assert_int_equal(mkdir(path, 0700), 0);
	assert_null(config_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: cannot open: %s", path,
	    strerror(EISDIR));
	assert_string_equal(err, want);

	/* Unreadable (root reads anything: only check as a normal user). */
	path = write_fixture("unreadable.conf", "", 0);
	assert_int_equal(chmod(path, 0), 0);
	if (geteuid() != 0) {
		assert_null(config_load(path, err, sizeof(err)));
		snprintf(want, sizeof(want), "%s: cannot open: %s", path,
		    strerror(EACCES));
		assert_string_equal(err, want);
	}

	/* A NUL byte would end libconfig's text early. */
	path = write_fixture("nul.conf", nul_text, sizeof(nul_text) - 1);
	assert_null(config_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: contains a NUL byte", path);
	assert_string_equal(err, want);

	/* Over the size cap (1 MiB): comments only, otherwise valid. */
	n = 1024 * 1024 + 1;
	big = malloc(n);
	assert_non_null(big);
	for (i = 0; i < n; i++)
		big[i] = (i % 64 == 63) ? '\n' : (i % 64 == 0 ? '#' : 'c');
	path = write_fixture("big.conf", big, n);
	assert_null(config_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "larger than 1048576 bytes"));
	/* Exactly at the cap is fine. */
	path = write_fixture("big.conf", big, n - 1);
	cfg = config_load(path, err, sizeof(err));
	if (cfg == NULL)
		fail_msg("1 MiB of comments: got \"%s\", want success", err);
	config_unref(cfg);
	free(big);

	/* No path; no room for a message. */
	assert_null(config_load(NULL, err, sizeof(err)));
	assert_string_equal(err, "no configuration file given");
	assert_null(config_load(fixture_path("does-not-exist.conf"), NULL, 0));
	assert_null(config_load(write_conf("bogus = 1;\n"), NULL, 0));
	assert_null(config_load(write_conf("bogus = 1;\n"), err, 1));
	assert_string_equal(err, "");
}

/* ------------------------------------------------------------ config_set */

struct set_case {
	const char	*key;
	const char	*value;
	const char	*want;	/* a line of the dump, or the error start */
	int		 ok;
};

static const struct set_case set_cases[] = {
	{ "journal.path", "/x", "\tpath = \"/x\";\n", 1 },
	{ "journal.path", "relative.db", "\tpath = \"relative.db\";\n", 1 },
	{ "journal.path", "", "journal.path: bad value \"\": must not be empty",
	  0 },
	{ "milter.socket", "inet:8891@127.0.0.1",
	  "\tsocket = \"inet:8891@127.0.0.1\";\n", 1 },
	{ "milter.socket", "inet6:8891@::1", "\tsocket = \"inet6:8891@::1\";\n",
	  1 },
	{ "milter.socket", "inet:8891", "\tsocket = \"inet:8891\";\n", 1 },
	{ "milter.socket", "local:/run/m.sock",
	  "\tsocket = \"local:/run/m.sock\";\n", 1 },
	{ "milter.socket", "inet:65535@h", "\tsocket = \"inet:65535@h\";\n",
	  1 },
	{ "milter.socket", "inet:8891@127.0.0.1 ",
	  "milter.socket: bad value \"inet:8891@127.0.0.1 \": bad character "
	  "in host (allowed: unix:/PATH", 0 },
	{ "milter.timeout", "30", "\ttimeout = 30;\n", 1 },
	{ "milter.timeout", "+30", "\ttimeout = 30;\n", 1 },
	{ "milter.timeout", "86400", "\ttimeout = 86400;\n", 1 },
	{ "milter.timeout", "30s",
	  "milter.timeout: \"30s\" is not an integer (allowed: 1..86400)", 0 },
	{ "milter.timeout", "", "milter.timeout: \"\" is not an integer", 0 },
	{ "milter.timeout", " 30", "milter.timeout: \" 30\" is not an integer",
	  0 },
	{ "milter.timeout", "0x10", "milter.timeout: \"0x10\" is not an "
	  "integer", 0 },
	{ "milter.timeout", "0",
	  "milter.timeout: 0 is out of range (allowed: 1..86400)", 0 },
	{ "milter.timeout", "86401", "milter.timeout: 86401 is out of range",
	  0 },
	{ "milter.timeout", "99999999999999999999",
	  "milter.timeout: \"99999999999999999999\" is not an integer", 0 },
	{ "journal.queue_max_bytes", "8589934592",
	  "\tqueue_max_bytes = 8589934592L;\n", 1 },
	{ "journal.queue_max_bytes", "2147483647",
	  "\tqueue_max_bytes = 2147483647;\n", 1 },
	{ "journal.queue_max_bytes", "2147483648",
	  "\tqueue_max_bytes = 2147483648L;\n", 1 },
	{ "journal.queue_max_bytes", "-1",
	  "journal.queue_max_bytes: -1 is out of range", 0 },
	{ "limits.max_unknown_commands", "0", "\tmax_unknown_commands = 0;\n",
	  1 },
	{ "capture.subject", "no", "\tsubject = false;\n", 1 },
	{ "capture.subject", "YES", "\tsubject = true;\n", 1 },
	{ "capture.subject", "false", "\tsubject = false;\n", 1 },
	{ "capture.subject", "True", "\tsubject = true;\n", 1 },
	{ "capture.subject", "1", "capture.subject: \"1\" is not a boolean "
	  "(true, false, yes, no) (allowed: true, false)", 0 },
	{ "milter.tcp_nodelay", "maybe", "milter.tcp_nodelay: \"maybe\" is not "
	  "a boolean", 0 },
	{ "journal.durability", "normal", "\tdurability = \"normal\";\n", 1 },
	{ "journal.durability", "NORMAL", "\tdurability = \"normal\";\n", 1 },
	{ "journal.durability", "fast", "journal.durability: \"fast\" is not a "
	  "valid value (allowed: full, normal)", 0 },
	{ "milter.no_reply_flags", "off", "\tno_reply_flags = \"off\";\n", 1 },
	{ "on_error", "tempfail", "\non_error = \"tempfail\";\n", 1 },
	{ "milter.socket_mode", "0600", "\tsocket_mode = \"0600\";\n", 1 },
	{ "milter.socket_mode", "600", "\tsocket_mode = \"0600\";\n", 1 },
	{ "milter.socket_mode", "0000", "\tsocket_mode = \"0000\";\n", 1 },
	{ "milter.socket_mode", "0800", "milter.socket_mode: bad value "
	  "\"0800\": not an octal mode", 0 },
	{ "milter.socket_mode", "rw-r-----", "milter.socket_mode: bad value "
	  "\"rw-r-----\": not an octal mode", 0 },
	{ "trusted_networks", "10.0.0.0/8, 2001:db8::/32",
	  "\ntrusted_networks = [ \"10.0.0.0/8\", \"2001:db8::/32\" ];\n", 1 },
	{ "trusted_networks", "", "\ntrusted_networks = [ ];\n", 1 },
	{ "trusted_networks", "  ", "\ntrusted_networks = [ ];\n", 1 },
	{ "trusted_networks", " 192.0.2.1 ,\t::ffff:0:0/96",
	  "\ntrusted_networks = [ \"192.0.2.1/32\", \"::ffff:0.0.0.0/96\" ];\n",
	  1 },
	{ "trusted_networks", "10.0.0.0/8,,10.1.0.0/16",
	  "trusted_networks: element 2: empty (allowed: IPv4 or IPv6", 0 },
	{ "trusted_networks", "10.0.0.0/8,",
	  "trusted_networks: element 2: empty", 0 },
	{ "trusted_networks", "10.0.0.0/8,bad",
	  "trusted_networks: element 2: bad network \"bad\": not an IPv4 "
	  "address", 0 },
	{ "trusted_networks", "10.0.0.0/8 192.168.0.0/16",
	  "trusted_networks: element 1: bad network \"10.0.0.0/8 "
	  "192.168.0.0/16\": garbage", 0 },
	{ "log.level", "debug", "\tlevel = \"debug\";\n", 1 },
	{ "log.level", "error", "\tlevel = \"err\";\n", 1 },
	{ "log.level", "loud", "log.level: \"loud\" is not a valid value "
	  "(allowed: err, warning, notice, info, debug)", 0 },
	{ "log.facility", "local3", "\tfacility = \"local3\";\n", 1 },
	{ "log.facility", "kern", "log.facility: \"kern\" is not a valid "
	  "value", 0 },
	{ "tracking.header", "X-Trace", "\theader = \"X-Trace\";\n", 1 },
	{ "tracking.header", "X Trace", "tracking.header: bad value "
	  "\"X Trace\": character not allowed in a header name", 0 },
	{ "authres.authserv_id", "mx.example.com",
	  "\tauthserv_id = \"mx.example.com\";\n", 1 },
	{ "authres.authserv_id", "a!#$%&'*+-^_`{|}~z",
	  "\tauthserv_id = \"a!#$%&'*+-^_`{|}~z\";\n", 1 },
	/* atext, but not token characters: never matched, so refused. */
	{ "authres.authserv_id", "mx/1.example.org", "authres.authserv_id: "
	  "bad value \"mx/1.example.org\": character '/' not allowed", 0 },
	{ "authres.authserv_id", "a=b", "authres.authserv_id: bad value "
	  "\"a=b\": character '=' not allowed", 0 },
	{ "authres.authserv_id", "gw?x", "authres.authserv_id: bad value "
	  "\"gw?x\": character '?' not allowed", 0 },
	{ "milter.pid_file", "/run/m.pid", "\tpid_file = \"/run/m.pid\";\n",
	  1 },
	{ "milter.user", "mailtrail", "\tuser = \"mailtrail\";\n", 1 },
	{ "milter.group", "a:b", "milter.group: bad value \"a:b\": bad "
	  "character in name", 0 },
	{ "journal.path", "/tmp/a\nb", "journal.path: bad value "
	  "\"/tmp/a\\x0ab\": contains a control character", 0 },
	{ "milter.sokcet", "unix:/x", "milter.sokcet: unknown option (allowed "
	  "in milter: socket, socket_mode,", 0 },
	{ "nope", "1", "nope: unknown option (allowed at top level: milter, "
	  "journal,", 0 },
	{ "milter", "x", "milter: is a group, not an option", 0 },
	{ "milter.", "x", "milter.: unknown option", 0 },
	{ "", "x", ": unknown option", 0 },
	{ "journal.path", NULL, "journal.path: missing value", 0 },
};

static void
test_set(void **state)
{
	const struct set_case	*c;
	struct mt_config	*cfg;
	char			 err[1024], *dump;
	size_t			 i;
	int			 r;

	for (i = 0; i < sizeof(set_cases) / sizeof(set_cases[0]); i++) {
		c = &set_cases[i];
		cfg = config_defaults();
		assert_non_null(cfg);
		err[0] = '\0';
		r = config_set(cfg, c->key, c->value, err, sizeof(err));
		if (c->ok) {
			if (r != 0)
				fail_msg("set %s=%s: got error \"%s\", want "
				    "success", c->key, c->value, err);
			dump = dump_string(cfg);
			if (strstr(dump, c->want) == NULL)
				fail_msg("set %s=%s: dump lacks \"%s\":\n%s",
				    c->key, c->value, c->want, dump);
			free(dump);
		} else {
			if (r == 0)
				fail_msg("set %s=%s: got success, want \"%s\"",
				    c->key, c->value ? c->value : "(null)",
				    c->want);
			if (strncmp(err, c->want, strlen(c->want)) != 0)
				fail_msg("set %s=%s:\n  got  \"%s\"\n  want "
				    "\"%s...\"", c->key,
				    c->value ? c->value : "(null)", err,
				    c->want);
		}
		config_unref(cfg);
	}
}

static void
test_set_fields(void **state)
{
	struct mt_config	*cfg = config_defaults();
	char			 err[512], host[256];

	assert_non_null(cfg);
	assert_int_equal(config_set(cfg, "authres.authserv_id", "mx.test",
	    err, sizeof(err)), 0);
	assert_string_equal(cfg->authserv_id, "mx.test");
	/* "" stands for the host name. */
	assert_int_equal(config_set(cfg, "authres.authserv_id", "", err,
	    sizeof(err)), 0);
	assert_string_equal(cfg->authserv_id,
	    expected_hostname(host, sizeof(host)));
	assert_int_equal(config_set(cfg, "trusted_networks", "", err,
	    sizeof(err)), 0);
	assert_int_equal(cfg->n_trusted, 0);
	assert_int_equal(config_set(cfg, "trusted_networks",
	    "192.0.2.0/24,198.51.100.0/24,2001:db8::/32", err, sizeof(err)), 0);
	assert_int_equal(cfg->n_trusted, 3);
	assert_int_equal(config_set(cfg, "milter.socket_mode", "0751", err,
	    sizeof(err)), 0);
	assert_int_equal(cfg->socket_mode, 0751);
	assert_int_equal(config_set(cfg, "log.facility", "daemon", err,
	    sizeof(err)), 0);
	assert_int_equal(cfg->log_facility, LOG_DAEMON);
	assert_int_equal(config_set(cfg, "limits.max_recipients", "100000",
	    err, sizeof(err)), 0);
	assert_int_equal(cfg->max_recipients, 100000);
	/* A failed set leaves the old value. */
	assert_int_equal(config_set(cfg, "limits.max_recipients", "100001",
	    err, sizeof(err)), -1);
	assert_int_equal(cfg->max_recipients, 100000);
	assert_int_equal(config_set(cfg, "trusted_networks", "10.0.0.0/8,x",
	    err, sizeof(err)), -1);
	assert_int_equal(cfg->n_trusted, 3);
	assert_int_equal(config_set(cfg, "journal.path", "", err,
	    sizeof(err)), -1);
	assert_string_equal(cfg->journal_path, "/var/lib/mailtrail/journal.db");
	/* Odd arguments. */
	assert_int_equal(config_set(cfg, NULL, "x", err, sizeof(err)), -1);
	assert_string_equal(err, "no option given");
	assert_int_equal(config_set(NULL, "journal.path", "/x", err,
	    sizeof(err)), -1);
	assert_int_equal(config_set(cfg, "journal.path", "/x", NULL, 0), 0);
	assert_int_equal(config_set(cfg, "nope", "/x", NULL, 0), -1);
	config_unref(cfg);
}

/* ------------------------------------------------------------ round trip */

static void
check_round_trip(struct mt_config *cfg, const char *what)
{
	struct mt_config	*back;
	char			*first, *second, err[1024];
	const char		*path;

	first = dump_string(cfg);
	path = write_fixture("dump1.conf", first, strlen(first));
	back = config_load(path, err, sizeof(err));
	if (back == NULL)
		fail_msg("%s: dump does not load: %s\n%s", what, err, first);
	second = dump_string(back);
	if (strcmp(first, second) != 0)
		fail_msg("%s: dump changed on reload:\n--- first\n%s\n"
		    "--- second\n%s", what, first, second);
	free(first);
	free(second);
	config_unref(back);
}

static void
test_round_trip(void **state)
{
	static const char *const sets[][2] = {
		{ "milter.socket", "inet6:8891@[::1]" },
		{ "milter.socket_mode", "0606" },
		{ "milter.no_reply_flags", "on" },
		{ "milter.tcp_nodelay", "no" },
		{ "milter.timeout", "1" },
		{ "milter.backlog", "65535" },
		{ "milter.user", "mt" },
		{ "milter.group", "mail" },
		{ "milter.pid_file", "/run/\"quoted\" \\back\\slash.pid" },
		{ "journal.path", "/var/lib/jour nal/\xc3\xa9t\xc3\xa9.db" },
		{ "journal.durability", "normal" },
		{ "journal.commit_interval", "60000" },
		{ "journal.commit_timeout", "10" },
		{ "journal.queue_max_records", "10000000" },
		{ "journal.queue_max_bytes", "8589934592" },
		{ "journal.mode", "0000" },
		{ "tracking.header", "X-!#$%&'*+-.^_`|~\"\\" },
		{ "authres.authserv_id", "a.b.c" },
		{ "trusted_networks", "0.0.0.0/0, ::/0, ::ffff:10.0.0.0/104, "
		    "fe80::1" },
		{ "on_error", "tempfail" },
		{ "capture.subject", "false" },
		{ "limits.max_value_length", "64" },
		{ "limits.max_recipients", "1" },
		{ "limits.max_unknown_commands", "0" },
		{ "limits.max_header_edits", "1" },
		{ "log.level", "warning" },
		{ "log.facility", "local7" },
	};
	struct mt_config	*cfg;
	char			 err[512];
	size_t			 i;

	cfg = config_defaults();
	assert_non_null(cfg);
	check_round_trip(cfg, "defaults");
	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		if (config_set(cfg, sets[i][0], sets[i][1], err,
		    sizeof(err)) != 0)
			fail_msg("set %s: %s", sets[i][0], err);
	check_round_trip(cfg, "every option changed");
	assert_int_equal(config_set(cfg, "trusted_networks", "", err,
	    sizeof(err)), 0);
	check_round_trip(cfg, "no trusted networks");
	config_unref(cfg);
}

/* ------------------------------------------------------------ documents */

static void
test_etc_file_is_defaults(void **state)
{
	char			 path[PATH_MAX], err[1024], *want, *got;
	struct mt_config	*def, *cfg;

	if (srcdir_file("etc/mailtrail.conf", path, sizeof(path)) == NULL) {
		print_message("top_srcdir unset: skipped\n");
		skip();
	}
	cfg = config_load(path, err, sizeof(err));
	if (cfg == NULL)
		fail_msg("%s does not load: %s", path, err);
	def = config_defaults();
	assert_non_null(def);
	want = dump_string(def);
	got = dump_string(cfg);
	if (strcmp(want, got) != 0)
		fail_msg("%s differs from the defaults:\n--- defaults\n%s\n"
		    "--- file\n%s", path, want, got);
	free(want);
	free(got);
	config_unref(def);
	config_unref(cfg);
}

/* Trim leading white space. */
static const char *
skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/*
 * etc/mailtrail.conf sets every option explicitly, and carries the
 * description of each (the comment line config_dump writes above it).
 */
static void
test_etc_file_documents_every_option(void **state)
{
	char		 path[PATH_MAX], *text, *dump, *line, *next;
	config_t	 lc;
	size_t		 i, n = config_option_count();
	const char	*l, *nl;
	struct mt_config *def;

	if (srcdir_file("etc/mailtrail.conf", path, sizeof(path)) == NULL) {
		print_message("top_srcdir unset: skipped\n");
		skip();
	}
	config_init(&lc);
	if (config_read_file(&lc, path) != CONFIG_TRUE)
		fail_msg("%s:%d: %s", path, config_error_line(&lc),
		    config_error_text(&lc));
	for (i = 0; i < n; i++)
		if (config_lookup(&lc, config_option_path(i)) == NULL)
			fail_msg("%s does not set %s", path,
			    config_option_path(i));
	config_destroy(&lc);

	text = slurp(path);
	assert_non_null(text);
	def = config_defaults();
	assert_non_null(def);
	dump = dump_string(def);
	/* A description: a comment line followed by a setting. */
	for (line = dump; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		l = skip_ws(line);
		if (*l != '#' || next == NULL || *skip_ws(next) == '#' ||
		    *skip_ws(next) == '\n' || *skip_ws(next) == '\0')
			continue;
		/* The same line, at any indentation, in the file. */
		nl = text;
		while ((nl = strstr(nl, l)) != NULL) {
			if (nl[strlen(l)] == '\n' && (nl == text ||
			    nl[-1] == '\t' || nl[-1] == '\n' || nl[-1] == ' '))
				break;
			nl++;
		}
		if (nl == NULL)
			fail_msg("%s lacks the description line \"%s\"", path,
			    l);
	}
	free(dump);
	free(text);
	config_unref(def);
}

/*
 * The man page with its font and character escapes undone, so that values
 * can be compared with the dump.
 */
static char *
man_plain(const char *path)
{
	static const char *const repl[][2] = {
		{ "\\fB", "" }, { "\\fI", "" }, { "\\fR", "" }, { "\\fP", "" },
		{ "\\&", "" }, { "\\-", "-" }, { "\\(dq", "\"" },
		{ "\\(aq", "'" }, { "\\(ga", "`" }, { "\\(lq", "\"" },
		{ "\\(rq", "\"" }, { "\\e", "\\" },
	};
	char	*text, *out, *o;
	const char *p;
	size_t	 i;

	if ((text = slurp(path)) == NULL)
		return NULL;
	out = malloc(strlen(text) + 1);
	assert_non_null(out);
	for (p = text, o = out; *p != '\0';) {
		for (i = 0; i < sizeof(repl) / sizeof(repl[0]); i++)
			if (strncmp(p, repl[i][0], strlen(repl[i][0])) == 0)
				break;
		if (i < sizeof(repl) / sizeof(repl[0])) {
			memcpy(o, repl[i][1], strlen(repl[i][1]));
			o += strlen(repl[i][1]);
			p += strlen(repl[i][0]);
		} else
			*o++ = *p++;
	}
	*o = '\0';
	free(text);
	return out;
}

/* The section of text from a ".SH NAME" line to the next ".SH". */
static char *
man_section(const char *text, const char *name)
{
	char		 head[64];
	const char	*s, *e;
	char		*out;

	snprintf(head, sizeof(head), "\n.SH %s\n", name);
	if ((s = strstr(text, head)) == NULL)
		return NULL;
	s += strlen(head);
	if ((e = strstr(s, "\n.SH ")) == NULL)
		e = s + strlen(s);
	out = strndup(s, (size_t)(e - s));
	assert_non_null(out);
	return out;
}

/* The ".TP / .B path" paragraph of an option, up to the next one. */
static char *
man_option(const char *options, const char *path)
{
	char		 head[128];
	const char	*s, *e, *e2;
	char		*out;

	snprintf(head, sizeof(head), ".TP\n.B %s\n", path);
	if ((s = strstr(options, head)) == NULL)
		return NULL;
	s += strlen(head);
	/*
	 * The next option starts with ".TP\n.B "; nested lists use
	 * ".TP\n.BI", which does not match.
	 */
	if ((e = strstr(s, ".TP\n.B ")) == NULL)
		e = s + strlen(s);
	if ((e2 = strstr(s, "\n.SS ")) != NULL && e2 < e)
		e = e2;
	out = strndup(s, (size_t)(e - s));
	assert_non_null(out);
	return out;
}

/* The value the dump of the defaults shows for an option. */
static char *
dump_value(const char *dump, const char *path)
{
	const char	*dot = strchr(path, '.'), *key, *s, *e;
	char		 find[128];

	key = dot != NULL ? dot + 1 : path;
	snprintf(find, sizeof(find), "\n%s%s = ", dot != NULL ? "\t" : "",
	    key);
	/* Keys repeat across groups ("path"): start at the group. */
	s = dump;
	if (dot != NULL) {
		snprintf(find, sizeof(find), "\n%.*s = {\n", (int)(dot - path),
		    path);
		if ((s = strstr(dump, find)) == NULL)
			return NULL;
		snprintf(find, sizeof(find), "\n\t%s = ", key);
	}
	if ((s = strstr(s, find)) == NULL)
		return NULL;
	s += strlen(find);
	if ((e = strstr(s, ";\n")) == NULL)
		return NULL;
	return strndup(s, (size_t)(e - s));
}

static int
has_word(const char *text, const char *word)
{
	const char	*p = text;
	size_t		 n = strlen(word);

	while ((p = strstr(p, word)) != NULL) {
		if ((p == text || !(p[-1] >= 'a' && p[-1] <= 'z')) &&
		    !((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' &&
		    p[n] <= '9') || p[n] == '_'))
			return 1;
		p++;
	}
	return 0;
}

/*
 * man/mailtrail.conf.5 describes every option of the table, and only
 * those, with the default the code has and the bounds or names it
 * accepts; the restart-only options are named under RELOADING.
 */
static void
test_man_page_matches_table(void **state)
{
	static const char *const restart_only[] = {
		"milter.socket", "milter.user", "milter.group",
		"milter.pid_file", "journal.path", "journal.durability",
		"spf.timeout", "spf.attempts", "spf.deadline", "dkim.timeout",
		NULL
	};
	char		 path[PATH_MAX], err[1024], word[64];
	char		*text, *options, *reload, *para, *value, *dump;
	char		*allowed;
	const char	*opt, *p, *q;
	struct mt_config *def;
	size_t		 i, j, n = config_option_count();

	if (srcdir_file("man/mailtrail.conf.5", path, sizeof(path)) == NULL) {
		print_message("top_srcdir unset: skipped\n");
		skip();
	}
	text = man_plain(path);
	if (text == NULL)
		fail_msg("cannot read %s", path);
	options = man_section(text, "OPTIONS");
	reload = man_section(text, "RELOADING");
	assert_non_null(options);
	assert_non_null(reload);
	def = config_defaults();
	assert_non_null(def);
	dump = dump_string(def);

	for (i = 0; i < n; i++) {
		opt = config_option_path(i);
		if ((para = man_option(options, opt)) == NULL)
			fail_msg("%s: no \".TP/.B %s\" entry under OPTIONS",
			    path, opt);
		/* The default, as the dump writes it. */
		value = dump_value(dump, opt);
		assert_non_null(value);
		if (strcmp(opt, "authres.authserv_id") == 0) {
			free(value);
			value = strdup("\"\"");	/* the dump has the host */
		}
		snprintf(err, sizeof(err), "Default: %s", value);
		if (strstr(para, err) == NULL)
			fail_msg("%s: %s: want \"%s\" in:\n%s", path, opt, err,
			    para);
		free(value);

		/* The bounds or names config_set reports. */
		assert_int_equal(config_set(def, opt, "\001", err,
		    sizeof(err)), -1);
		if ((p = strstr(err, "(allowed: ")) == NULL)
			fail_msg("%s: no allowed list in \"%s\"", opt, err);
		allowed = strdup(p + strlen("(allowed: "));
		assert_non_null(allowed);
		allowed[strlen(allowed) - 1] = '\0';	/* the ")" */
		if (strspn(allowed, "-0123456789.") == strlen(allowed)) {
			if (strstr(para, allowed) == NULL)
				fail_msg("%s: %s: want range \"%s\" in:\n%s",
				    path, opt, allowed, para);
		} else if (strspn(allowed,
		    "abcdefghijklmnopqrstuvwxyz0123456789, ") ==
		    strlen(allowed)) {
			for (p = allowed; *p != '\0'; p = q) {
				q = p + strcspn(p, ",");
				snprintf(word, sizeof(word), "%.*s",
				    (int)(q - p), p);
				if (!has_word(para, word))
					fail_msg("%s: %s: want name \"%s\" "
					    "in:\n%s", path, opt, word, para);
				q += strspn(q, ", ");
			}
		}
		free(allowed);
		free(para);
	}

	/* Every option entry names an option of the table. */
	for (p = options; (p = strstr(p, ".TP\n.B ")) != NULL; p = q) {
		p += strlen(".TP\n.B ");
		q = p + strcspn(p, "\n");
		snprintf(word, sizeof(word), "%.*s", (int)(q - p), p);
		for (j = 0; j < n; j++)
			if (strcmp(word, config_option_path(j)) == 0)
				break;
		if (j == n)
			fail_msg("%s: documents \"%s\", which the table lacks",
			    path, word);
	}

	for (i = 0; restart_only[i] != NULL; i++)
		if (strstr(reload, restart_only[i]) == NULL)
			fail_msg("%s: RELOADING does not name %s", path,
			    restart_only[i]);

	free(dump);
	free(reload);
	free(options);
	free(text);
	config_unref(def);
}

/* ------------------------------------------------------------ trust */

static int
trusted(const struct mt_config *cfg, const char *addr)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	else
		fail_msg("bad test address %s", addr);
	return config_is_trusted(cfg, (const struct sockaddr *)&ss);
}

struct trust_case {
	const char	*addr;
	int		 want;
};

static void
test_trusted(void **state)
{
	static const struct trust_case defaults[] = {
		{ "127.0.0.1", 1 }, { "127.255.0.9", 1 }, { "::1", 1 },
		{ "::ffff:127.0.0.1", 1 }, { "128.0.0.1", 0 }, { "::2", 0 },
		{ "192.0.2.1", 0 }, { "::ffff:192.0.2.1", 0 },
	};
	static const struct trust_case custom[] = {
		{ "192.0.2.7", 1 }, { "192.0.3.7", 0 },
		{ "2001:db8::1", 1 }, { "2001:db8:ffff:ffff::1", 1 },
		{ "2001:db9::1", 0 }, { "::ffff:192.0.2.9", 1 },
		{ "::ffff:198.51.100.1", 0 }, { "198.51.100.77", 1 },
		{ "198.51.100.78", 0 }, { "127.0.0.1", 0 }, { "::1", 0 },
	};
	struct mt_config	*cfg;
	struct sockaddr_un	 sun;
	char			 err[512];
	size_t			 i;
	int			 got;

	cfg = config_defaults();
	assert_non_null(cfg);
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		got = trusted(cfg, defaults[i].addr);
		if (got != defaults[i].want)
			fail_msg("defaults: %s: got %d, want %d",
			    defaults[i].addr, got, defaults[i].want);
	}
	if (config_set(cfg, "trusted_networks",
	    "192.0.2.0/24, 2001:db8::/32, 198.51.100.77", err,
	    sizeof(err)) != 0)
		fail_msg("set: %s", err);
	for (i = 0; i < sizeof(custom) / sizeof(custom[0]); i++) {
		got = trusted(cfg, custom[i].addr);
		if (got != custom[i].want)
			fail_msg("custom: %s: got %d, want %d",
			    custom[i].addr, got, custom[i].want);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_int_equal(config_is_trusted(cfg,
	    (const struct sockaddr *)&sun), 0);
	assert_int_equal(config_is_trusted(cfg, NULL), 0);
	assert_int_equal(config_is_trusted(NULL, NULL), 0);
	assert_int_equal(config_set(cfg, "trusted_networks", "", err,
	    sizeof(err)), 0);
	assert_int_equal(trusted(cfg, "127.0.0.1"), 0);
	assert_int_equal(trusted(cfg, "::1"), 0);
	config_unref(cfg);
}

/* ------------------------------------------------------------ references */

#define REF_THREADS	4
#define REF_ROUNDS	100000

static void *
ref_worker(void *arg)
{
	struct mt_config	*cfg = arg;
	int			 i;

	for (i = 0; i < REF_ROUNDS; i++) {
		if (config_ref(cfg) != cfg)
			return (void *)1;
		config_unref(cfg);
	}
	return NULL;
}

static void
test_refcount(void **state)
{
	struct mt_config	*cfg, *cfg2;
	pthread_t		 th[REF_THREADS];
	void			*ret;
	char			 err[512];
	int			 i;

	config_unref(NULL);
	assert_null(config_ref(NULL));

	cfg = config_defaults();
	assert_non_null(cfg);
	assert_ptr_equal(config_ref(cfg), cfg);
	assert_int_equal(cfg->refs, 2);
	config_unref(cfg);
	assert_int_equal(cfg->refs, 1);

	/* Concurrent ref/unref pairs leave the count where it was. */
	for (i = 0; i < REF_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, ref_worker, cfg),
		    0);
	for (i = 0; i < REF_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_null(ret);
	}
	assert_int_equal(cfg->refs, 1);
	/* The last reference frees everything (valgrind/ASan check it). */
	config_unref(cfg);

	/* A loaded snapshot outlives the "reload" that replaces it. */
	cfg = config_load(write_fixture("full.conf", full_conf,
	    strlen(full_conf)), err, sizeof(err));
	if (cfg == NULL)
		fail_msg("load: %s", err);
	cfg2 = config_ref(cfg);		/* a connection holds it */
	config_unref(cfg);		/* the daemon swaps it out */
	assert_string_equal(cfg2->journal_path, "/srv/journal.db");
	assert_int_equal(cfg2->n_trusted, 3);
	config_unref(cfg2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_option_table),
		cmocka_unit_test(test_load_full),
		cmocka_unit_test(test_load_equivalent_to_defaults),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_include),
		cmocka_unit_test(test_load_file_errors),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_set_fields),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_etc_file_is_defaults),
		cmocka_unit_test(test_etc_file_documents_every_option),
		cmocka_unit_test(test_man_page_matches_table),
		cmocka_unit_test(test_trusted),
		cmocka_unit_test(test_refcount),
	};

	return cmocka_run_group_tests_name("config", tests, setup_tmpdir,
	    teardown_tmpdir);
}
