/*
 * main.c - mailtrail-milter: arguments, configuration, daemon life.
 *
 * Start-up order matters: parse and check the configuration; open the
 * milter socket (possibly as root); detach; write the pid file; drop
 * privileges; open the journal (so its files belong to the unprivileged
 * user); then hand the thread over to libmilter.  Threads are only started
 * after the fork.
 *
 * Signals: one thread of our own takes them all: SIGHUP (reload the
 * configuration, reopen logs), SIGUSR1 (log counters), SIGTERM and SIGINT
 * (stop).  libmilter's signal thread never sees one (see sigwait below):
 * once libmilter is told to stop its workers serve no session any more, so
 * we drain first.  Shared state here is the current configuration snapshot
 * (swapped whole under a lock) and the journal (its pointer under the same
 * lock, so that SIGUSR1 never reads a journal being closed).
 *
 * Stopping (SIGTERM, SIGINT): new sessions are refused (the MTA applies its
 * default_action), the open ones get milter.shutdown_timeout to end, then
 * smfi_stop(); once smfi_main() returns the callbacks' gate is closed,
 * the running callbacks are waited for (bounded by their own deadlines),
 * the sessions still open are journaled as cut off, and only then are the
 * journal, SPF, DKIM and the resolver freed (callbacks.c).
 *
 * The log follower (delivery.maillog) is started once the journal is open
 * and stopped, its last batch handed over, before the journal closes; a
 * reload that changes its options stops it and starts it again.  Its
 * handle is guarded by follower_lock, which the signal thread (reload,
 * counters) and the main thread (shutdown) take.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "mailtrail/config.h"
#include "mailtrail/dkimv.h"
#include "mailtrail/dsn.h"
#include "mailtrail/journal.h"
#include "mailtrail/log.h"
#include "mailtrail/logfollow.h"
#include "mailtrail/maillog.h"
#include "mailtrail/resolver.h"
#include "mailtrail/spf.h"
#include "mailtrail/store.h"
#include "mailtrail/txn.h"
#include "callbacks.h"
#include "listen.h"

#define DEFAULT_CONFIG	SYSCONFDIR "/mailtrail/mailtrail.conf"
#define MAX_OVERRIDES	64
#define FD_RESERVE	64	/* descriptors kept from MTA sessions */

static struct {
	pthread_mutex_t		 lock;
	struct mt_config	*cfg;
	struct journal		*journal;
	int			 is_inet;
	const char		*config_path;	/* NULL: built-in defaults */
	const char		*overrides[MAX_OVERRIDES];	/* "key=value" */
	int			 n_overrides;
	struct mt_store_sqlite_opts store_opts;
	struct mt_resolver	*resolver;
	struct mt_ctx		 ctx;		/* journal, spf, dkimv */
	pthread_mutex_t		 follower_lock;
	struct logfollow	*follower;	/* NULL: none running */
	int			 stopping;	/* no new follower */
} state = { .lock = PTHREAD_MUTEX_INITIALIZER,
	    .follower_lock = PTHREAD_MUTEX_INITIALIZER };

const struct mt_ctx *
daemon_ctx(void)
{
	return &state.ctx;
}

struct mt_config *
daemon_config_get(void)
{
	struct mt_config *cfg;

	pthread_mutex_lock(&state.lock);
	cfg = config_ref(state.cfg);
	pthread_mutex_unlock(&state.lock);
	return cfg;
}

struct journal *
daemon_journal(void)
{
	struct journal	*j;

	pthread_mutex_lock(&state.lock);
	j = state.journal;
	pthread_mutex_unlock(&state.lock);
	return j;
}

int
daemon_socket_is_inet(void)
{
	return state.is_inet;
}

/*
 * libmilter's signal thread waits for SIGHUP, SIGTERM and SIGINT and stops
 * at once on any of them.  We want SIGHUP to reload and SIGTERM to drain
 * the sessions first, so this definition of sigwait(), which the dynamic
 * linker gives libmilter in place of the C library's, waits for the same
 * set minus those three (that is, for nothing); our own signal thread
 * takes them with sigwaitinfo(), a different symbol, and calls smfi_stop()
 * when the sessions are drained.
 */
int
sigwait(const sigset_t *set, int *sig)
{
	sigset_t	 mine = *set;
	int		 s;

	sigdelset(&mine, SIGHUP);
	sigdelset(&mine, SIGTERM);
	sigdelset(&mine, SIGINT);
	do
		s = sigwaitinfo(&mine, NULL);
	while (s < 0 && errno == EINTR);
	if (s < 0)
		return errno;
	*sig = s;
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: mailtrail-milter [-fnV] [-c file] [-p socket] [-j journal]"
	    " [-o key=value] ...\n"
	    "  -c file     configuration file (default %s;\n"
	    "              built-in defaults when it does not exist)\n"
	    "  -f          stay in the foreground and log to stderr\n"
	    "  -n          check the configuration, print it and exit\n"
	    "  -p socket   milter socket (milter.socket), e.g. "
	    "unix:/run/mailtrail/milter.sock\n"
	    "  -j journal  journal file (journal.path)\n"
	    "  -o key=val  set any option, e.g. -o journal.durability=normal\n"
	    "  -V          print the version and exit\n", DEFAULT_CONFIG);
	exit(EX_USAGE);
}

/* Load the file (or defaults) and apply the command-line overrides. */
static struct mt_config *
load_config(char *err, size_t errlen)
{
	struct mt_config *cfg;
	char		 key[128];
	const char	*eq;
	size_t		 klen;
	int		 i;

	if (state.config_path != NULL)
		cfg = config_load(state.config_path, err, errlen);
	else if ((cfg = config_defaults()) == NULL)
		snprintf(err, errlen, "out of memory");
	if (cfg == NULL)
		return NULL;
	for (i = 0; i < state.n_overrides; i++) {
		eq = strchr(state.overrides[i], '=');
		klen = eq == NULL ? 0 : (size_t)(eq - state.overrides[i]);
		if (eq == NULL || klen == 0 || klen >= sizeof(key)) {
			snprintf(err, errlen, "-o %s: expected key=value",
			    state.overrides[i]);
			config_unref(cfg);
			return NULL;
		}
		memcpy(key, state.overrides[i], klen);
		key[klen] = '\0';
		if (config_set(cfg, key, eq + 1, err, errlen) != 0) {
			config_unref(cfg);
			return NULL;
		}
	}
	return cfg;
}

/* The follower's options, from the configuration. */
static int
follower_opts(const struct mt_config *cfg, struct logfollow_opts *o)
{
	int	 local, off;

	memset(o, 0, sizeof(*o));
	o->path = cfg->maillog;
	o->poll_ms = cfg->maillog_poll_ms;
	o->batch_ms = cfg->maillog_batch_ms;
	o->batch_max = cfg->maillog_batch_max;
	o->start_at_end = cfg->maillog_start == MT_LOG_START_END;
	if (config_tz_parse(cfg->maillog_tz, &local, &off) != 0)
		local = 1;	/* not reachable: validated at load */
	o->tz_offset_s = local ? MLOG_TZ_LOCAL : off;
	o->journal = state.journal;
	o->db_path = state.store_opts.path;
	return cfg->maillog[0] != '\0';
}

/* Start the follower the configuration asks for (follower_lock held). */
static void
follower_start_locked(const struct mt_config *cfg)
{
	struct logfollow_opts	 o;
	struct logfollow	*lf;
	char			 err[512];

	if (state.stopping || !follower_opts(cfg, &o))
		return;
	if ((lf = logfollow_new(&o, err, sizeof(err))) == NULL ||
	    logfollow_start(lf, err, sizeof(err)) != 0) {
		/* Mail flows on without delivery events. */
		mt_log(LOG_ERR, "%s: delivery events are not recorded", err);
		logfollow_stop(lf);
		return;
	}
	state.follower = lf;
	mt_log(LOG_NOTICE, "log follower started: %s (poll %d ms)",
	    cfg->maillog, cfg->maillog_poll_ms);
}

/* Stop the follower, hand over its last batch and wait for the commit. */
static void
follower_stop_locked(void)
{
	if (state.follower == NULL)
		return;
	logfollow_stop(state.follower);
	state.follower = NULL;
	journal_flush(state.journal);
}

/* 1 when the follower must be started again for the new configuration. */
static int
follower_changed(const struct mt_config *old, const struct mt_config *new)
{
	return strcmp(old->maillog, new->maillog) != 0 ||
	    strcmp(old->maillog_tz, new->maillog_tz) != 0 ||
	    old->maillog_poll_ms != new->maillog_poll_ms ||
	    old->maillog_start != new->maillog_start ||
	    old->maillog_batch_ms != new->maillog_batch_ms ||
	    old->maillog_batch_max != new->maillog_batch_max;
}

static void
log_counters(void)
{
	struct txn_counters	 t;
	struct journal_counters	 j;
	struct logfollow_counters f;
	struct mallinfo2	 mi;

	memset(&f, 0, sizeof(f));
	pthread_mutex_lock(&state.follower_lock);
	if (state.follower != NULL)
		logfollow_counters(state.follower, &f);
	pthread_mutex_unlock(&state.follower_lock);
	txn_counters(&t);
	mi = mallinfo2();
	memset(&j, 0, sizeof(j));
	pthread_mutex_lock(&state.lock);
	if (state.journal != NULL)
		journal_counters(state.journal, &j);
	pthread_mutex_unlock(&state.lock);
	mt_log(LOG_INFO, "stats connections=%llu messages=%llu "
	    "truncations=%llu alloc_failures=%llu journal_errors=%llu "
	    "forged_removed=%llu forged_authres_removed=%llu spf_checks=%llu "
	    "dkim_messages=%llu dmarc_checks=%llu dmarc_fail=%llu "
	    "dmarc_enforced=%llu edit_failures=%llu committed=%llu commits=%llu "
	    "refused_full=%llu failed=%llu timeouts=%llu revised=%llu "
	    "queued=%llu sessions_open=%zu sessions_refused=%llu "
	    "bounces_seen=%llu bounces_recorded=%llu bounces_not_report=%llu "
	    "bounces_truncated=%llu bounce_errors=%llu log_lines=%llu log_events=%llu "
	    "log_unparsed=%llu log_too_long=%llu log_rotations=%llu "
	    "log_truncations=%llu log_errors=%llu log_refused=%llu "
	    "log_offset=%lld log_lag_ms=%lld heap_in_use=%zu",
	    t.connections, t.messages, t.truncations, t.alloc_failures,
	    t.journal_errors, t.forged_removed, t.forged_authres_removed,
	    t.spf_checks, t.dkim_messages, t.dmarc_checks, t.dmarc_fail,
	    t.dmarc_enforced, t.edit_failures,
	    (unsigned long long)j.committed, (unsigned long long)j.commits,
	    (unsigned long long)j.refused_full, (unsigned long long)j.failed,
	    (unsigned long long)j.timeouts, (unsigned long long)j.revised,
	    (unsigned long long)j.queued, callbacks_sessions(),
	    (unsigned long long)callbacks_refused(),
	    t.bounces_seen, t.bounces_recorded, t.bounces_not_report,
	    t.bounces_truncated,
	    t.bounce_errors,
	    (unsigned long long)f.lines, (unsigned long long)f.events,
	    (unsigned long long)f.unparsed, (unsigned long long)f.too_long,
	    (unsigned long long)f.rotations, (unsigned long long)f.truncations,
	    (unsigned long long)f.errors, (unsigned long long)f.refused,
	    (long long)f.offset, (long long)(f.lag_us / 1000),
	    mi.uordblks + mi.hblkhd);
}

/* Options that only take effect at start-up. */
static void
warn_restart_needed(const struct mt_config *old, const struct mt_config *new)
{
#define DIFF_STR(f, name) \
	if (strcmp(old->f, new->f) != 0) \
		mt_log(LOG_WARNING, "reload: %s changed; it takes effect " \
		    "at the next restart", name);
#define DIFF_NUM(f, name) \
	if (old->f != new->f) \
		mt_log(LOG_WARNING, "reload: %s changed; it takes effect " \
		    "at the next restart", name);
	DIFF_STR(socket, "milter.socket");
	DIFF_STR(user, "milter.user");
	DIFF_STR(group, "milter.group");
	DIFF_STR(pid_file, "milter.pid_file");
	DIFF_STR(journal_path, "journal.path");
	DIFF_NUM(socket_mode, "milter.socket_mode");
	DIFF_NUM(tcp_nodelay, "milter.tcp_nodelay");
	DIFF_NUM(milter_timeout, "milter.timeout");
	DIFF_NUM(backlog, "milter.backlog");
	DIFF_NUM(durability, "journal.durability");
	DIFF_NUM(commit_interval_ms, "journal.commit_interval");
	DIFF_NUM(commit_timeout_ms, "journal.commit_timeout");
	DIFF_NUM(queue_max_records, "journal.queue_max_records");
	DIFF_NUM(queue_max_bytes, "journal.queue_max_bytes");
	DIFF_NUM(journal_mode, "journal.mode");
	DIFF_NUM(spf_timeout_ms, "spf.timeout");
	DIFF_NUM(spf_attempts, "spf.attempts");
	DIFF_NUM(spf_deadline_ms, "spf.deadline");
	DIFF_NUM(dkim_timeout_ms, "dkim.timeout");
	DIFF_NUM(dkim_min_key_bits, "dkim.min_key_bits");
#undef DIFF_STR
#undef DIFF_NUM
}

static void
reload(void)
{
	struct mt_config *cfg, *old;
	char		 err[512];

	mt_log_reopen();
	if ((cfg = load_config(err, sizeof(err))) == NULL) {
		mt_log(LOG_ERR, "reload failed, keeping the running "
		    "configuration: %s", err);
		return;
	}
	pthread_mutex_lock(&state.lock);
	old = state.cfg;
	state.cfg = cfg;
	pthread_mutex_unlock(&state.lock);
	warn_restart_needed(old, cfg);
	mt_log_set(cfg->log_level, cfg->log_facility);
	if (follower_changed(old, cfg)) {
		pthread_mutex_lock(&state.follower_lock);
		follower_stop_locked();
		follower_start_locked(cfg);
		pthread_mutex_unlock(&state.follower_lock);
	}
	config_unref(old);
	mt_log(LOG_NOTICE, "configuration reloaded from %s",
	    state.config_path != NULL ? state.config_path :
	    "built-in defaults");
}

/*
 * Set before smfi_stop().  A stop that comes before smfi_main() has set up
 * its listener (a SIGTERM right after start) makes smfi_main() return a
 * failure, as libmilter's stop closes the listening socket: that is still a
 * clean stop.
 */
static int	 stop_requested;

/* SIGTERM or SIGINT: drain the sessions, then let libmilter stop. */
static void
begin_stop(int sig)
{
	struct mt_config *cfg = daemon_config_get();
	int		 ms = cfg->shutdown_timeout_ms;
	size_t		 open = callbacks_sessions(), left;

	config_unref(cfg);
	mt_log(LOG_NOTICE, "stopping (SIG%s): refusing new sessions, waiting "
	    "up to %d ms for %zu open", sig == SIGINT ? "INT" : "TERM", ms,
	    open);
	left = callbacks_drain(ms);
	if (left > 0)
		mt_log(LOG_WARNING, "stopping: %zu sessions still open after "
		    "%d ms; they are cut off", left, ms);
	__atomic_store_n(&stop_requested, 1, __ATOMIC_SEQ_CST);
	smfi_stop();
}

static void *
signal_thread(void *arg)
{
	sigset_t	*set = arg;
	int		 sig, stopping = 0;

	for (;;) {
		sig = sigwaitinfo(set, NULL);
		if (sig == SIGHUP)
			reload();
		else if (sig == SIGUSR1)
			log_counters();
		else if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
			stopping = 1;
			begin_stop(sig);
		}
	}
	return NULL;
}

static struct mt_store *
open_store(void *arg, char *err, size_t errlen)
{
	return store_sqlite_open(arg, err, errlen);
}

/*
 * The resolver and the SPF and DKIM evaluators, shared by all connections.
 * They are built even when spf.enabled / dkim.enabled are off, so that a
 * reload can turn the checks on; their timeouts are read here only.
 */
static int
open_auth(const struct mt_config *cfg, char *err, size_t errlen)
{
	struct mt_resolver_opts	 ro;
	struct mt_spf_opts	 so;
	struct mt_dkimv_opts	 dko;

	ro.timeout_ms = cfg->spf_timeout_ms;
	ro.attempts = cfg->spf_attempts;
	if ((state.resolver = resolver_new(&ro, err, errlen)) == NULL)
		return -1;
	state.ctx.resolver = state.resolver;	/* DMARC's lookups */
	so.deadline_ms = cfg->spf_deadline_ms;
	so.receiver = cfg->authserv_id;
	if ((state.ctx.spf = spf_new(&so, state.resolver, err, errlen)) ==
	    NULL)
		return -1;
	dko.max_signatures = 50;	/* the per-message cap is the config's */
	dko.min_key_bits = cfg->dkim_min_key_bits;
	dko.timeout_ms = cfg->dkim_timeout_ms;
	if ((state.ctx.dkimv = dkimv_new(&dko, state.resolver, err,
	    errlen)) == NULL)
		return -1;
	return 0;
}

/*
 * The pid file.  Written as root before the privilege drop, so it must not
 * be a way to write anywhere else: opened O_NOFOLLOW (a symlink is
 * refused, its target untouched), it must be a regular file with one
 * link, and it is locked (a second daemon on the same file refuses to
 * start) and kept open for the daemon's life.  It is given to milter.user
 * (fchown).  At exit it is removed; that needs its directory to be
 * writable by milter.user (/run/mailtrail in the service unit); where it is
 * not, the file is emptied instead, so that it never names a dead process.
 */
static struct {
	int	 fd;
	char	 path[4096];
} pidf = { .fd = -1 };

static int
write_pid_file(const char *path, uid_t uid, gid_t gid)
{
	struct stat	 st;
	char		 buf[32];
	int		 fd, n;

	if (path[0] == '\0')
		return 0;
	if (strlen(path) >= sizeof(pidf.path)) {
		mt_log(LOG_ERR, "pid file %s: name too long", path);
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK, 0644);
	if (fd < 0) {
		mt_log(LOG_ERR, "cannot write pid file %s: %s%s", path,
		    strerror(errno), errno == ELOOP ? " (a symbolic link: "
		    "refused)" : "");
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		mt_log(LOG_ERR, "pid file %s: not a regular file with one "
		    "link: refused", path);
		close(fd);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		mt_log(LOG_ERR, "pid file %s is locked: another "
		    "mailtrail-milter runs", path);
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || write(fd, buf, (size_t)n) != n ||
	    (uid != (uid_t)-1 && fchown(fd, uid, gid) != 0)) {
		mt_log(LOG_ERR, "cannot write pid file %s: %s", path,
		    strerror(errno));
		close(fd);
		(void)unlink(path);
		return -1;
	}
	pidf.fd = fd;
	snprintf(pidf.path, sizeof(pidf.path), "%s", path);
	return 0;
}

/* After the privilege drop: say now if the pid file cannot be removed. */
static void
check_pid_file_dir(void)
{
	char	 dir[sizeof(pidf.path)], *slash;

	if (pidf.fd < 0)
		return;
	snprintf(dir, sizeof(dir), "%s", pidf.path);
	if ((slash = strrchr(dir, '/')) == NULL)
		return;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (access(dir, W_OK) != 0)
		mt_log(LOG_WARNING, "pid file %s: its directory is not "
		    "writable by this user; the file will be emptied at exit, "
		    "not removed (use a directory of the user's, e.g. "
		    "/run/mailtrail)", pidf.path);
}

/* At exit: remove the pid file, or at least empty it. */
static void
remove_pid_file(void)
{
	if (pidf.fd < 0)
		return;
	if (unlink(pidf.path) != 0 && ftruncate(pidf.fd, 0) != 0)
		mt_log(LOG_WARNING, "cannot remove or empty pid file %s: %s",
		    pidf.path, strerror(errno));
	close(pidf.fd);
	pidf.fd = -1;
}

/* How long a callback may run: its own bounds, plus slack. */
static int
callback_bound_ms(void)
{
	struct mt_config *cfg = daemon_config_get();
	int		 ms;

	ms = cfg->commit_timeout_ms + cfg->spf_deadline_ms +
	    cfg->dkim_timeout_ms + (cfg->dmarc_enabled ?
	    cfg->dmarc_timeout_ms : 0) + 2000;
	config_unref(cfg);
	return ms;
}

/* Resolve user/group; *uid stays -1 when there is nothing to drop to. */
static int
lookup_user(const struct mt_config *cfg, uid_t *uid, gid_t *gid)
{
	struct passwd	*pw;
	struct group	*gr;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (cfg->user[0] == '\0' || getuid() != 0)
		return 0;
	if ((pw = getpwnam(cfg->user)) == NULL) {
		fprintf(stderr, "mailtrail-milter: milter.user: no such user "
		    "\"%s\"\n", cfg->user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (cfg->group[0] != '\0') {
		if ((gr = getgrnam(cfg->group)) == NULL) {
			fprintf(stderr, "mailtrail-milter: milter.group: no "
			    "such group \"%s\"\n", cfg->group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

static int
drop_privileges(const struct mt_config *cfg, uid_t uid, gid_t gid)
{
	if (uid == (uid_t)-1) {
		if (getuid() == 0)
			mt_log(LOG_WARNING, "running as root: set milter.user "
			    "to drop privileges");
		return 0;
	}
	if (initgroups(cfg->user, gid) != 0 || setgid(gid) != 0 ||
	    setuid(uid) != 0) {
		mt_log(LOG_ERR, "cannot drop privileges to %s: %s", cfg->user,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
detach(void)
{
	pid_t	 pid;
	int	 fd;

	if ((pid = fork()) < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (chdir("/") != 0)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct mt_config	*cfg;
	struct journal_opts	 jo;
	struct stat		 st;
	const char		*unix_path;
	char			 err[512];
	sigset_t		 sigs;
	pthread_t		 tid;
	uid_t			 uid;
	gid_t			 gid;
	int			 ch, foreground = 0, check = 0, rc, n = 0;
	unsigned long		 nofile, max_sessions;
	mode_t			 old_umask;

	while ((ch = getopt(argc, argv, "c:fj:no:p:V")) != -1) {
		switch (ch) {
		case 'c':
			state.config_path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'p':
		case 'j':
		case 'o':
			if (state.n_overrides == MAX_OVERRIDES) {
				fprintf(stderr, "mailtrail-milter: too many "
				    "overrides\n");
				return EX_USAGE;
			}
			if (ch == 'o')
				state.overrides[state.n_overrides++] = optarg;
			else {
				const char *key = ch == 'p' ? "milter.socket=" :
				    "journal.path=";
				char *kv = malloc(strlen(key) + strlen(optarg) + 1);

				if (kv == NULL)
					return EX_OSERR;
				strcpy(kv, key);
				strcat(kv, optarg);
				state.overrides[state.n_overrides++] = kv;
			}
			break;
		case 'V':
			printf("mailtrail-milter %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (state.config_path == NULL && stat(DEFAULT_CONFIG, &st) == 0)
		state.config_path = DEFAULT_CONFIG;

	if ((cfg = load_config(err, sizeof(err))) == NULL) {
		fprintf(stderr, "mailtrail-milter: %s\n", err);
		return EX_CONFIG;
	}
	if (check) {
		config_dump(cfg, stdout);
		fprintf(stderr, "mailtrail-milter: %s: configuration OK\n",
		    state.config_path != NULL ? state.config_path :
		    "built-in defaults");
		config_unref(cfg);
		return 0;
	}
	state.cfg = cfg;
	state.is_inet = listen_is_inet(cfg->socket);
	mt_log_open("mailtrail-milter", foreground, cfg->log_facility);
	mt_log_set(cfg->log_level, cfg->log_facility);
	if (lookup_user(cfg, &uid, &gid) != 0)
		return EX_CONFIG;

	/* The socket, possibly as root. */
	if (smfi_setconn(cfg->socket) != MI_SUCCESS ||
	    smfi_settimeout(cfg->milter_timeout) != MI_SUCCESS ||
	    smfi_setbacklog(cfg->backlog) != MI_SUCCESS ||
	    smfi_register(*callbacks_desc()) != MI_SUCCESS) {
		fprintf(stderr, "mailtrail-milter: cannot set up libmilter "
		    "for %s\n", cfg->socket);
		return EX_SOFTWARE;
	}
	/* A unix: socket is born with milter.socket_mode's bits. */
	old_umask = umask(listen_umask_for(cfg->socket_mode));
	rc = smfi_opensocket(true);
	umask(old_umask);
	if (rc != MI_SUCCESS) {
		fprintf(stderr, "mailtrail-milter: cannot open milter socket "
		    "%s: %s\n", cfg->socket, strerror(errno));
		return EX_UNAVAILABLE;
	}
	if (state.is_inet && cfg->tcp_nodelay &&
	    (n = listen_set_nodelay()) <= 0)
		fprintf(stderr, "mailtrail-milter: warning: TCP_NODELAY not "
		    "set on %s (%d sockets)\n", cfg->socket, n);
	if ((unix_path = listen_unix_path(cfg->socket)) != NULL &&
	    listen_unix_perms(unix_path, cfg->socket_mode, uid, gid) != 0) {
		fprintf(stderr, "mailtrail-milter: cannot set permissions on "
		    "%s: %s\n", unix_path, strerror(errno));
		return EX_NOPERM;
	}

	if (!foreground && detach() != 0) {
		fprintf(stderr, "mailtrail-milter: cannot detach: %s\n",
		    strerror(errno));
		return EX_OSERR;
	}
	if (write_pid_file(cfg->pid_file, uid, gid) != 0)
		return EX_CANTCREAT;
	if (drop_privileges(cfg, uid, gid) != 0) {
		remove_pid_file();
		return EX_NOPERM;
	}
	check_pid_file_dir();
	/*
	 * Each MTA session holds a descriptor: raise the soft limit and cap
	 * the sessions below it, keeping a reserve for the journal, DNS, the
	 * log follower and sessions being refused.
	 */
	nofile = listen_raise_nofile();
	max_sessions = nofile > 2 * FD_RESERVE ? nofile - FD_RESERVE :
	    nofile / 2;
	if (max_sessions > 1000000)
		max_sessions = 1000000;
	callbacks_set_max_sessions(max_sessions);
	mt_log(LOG_INFO, "open files limit: %lu, at most %lu MTA sessions at "
	    "once", nofile, max_sessions);

	/*
	 * Signals: block them all before any thread exists, so that only the
	 * threads waiting for them (libmilter's for SIGTERM and SIGINT, ours
	 * for SIGHUP and SIGUSR1) ever receive them.
	 */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	/* Before any thread: GMime's set-up is not thread-safe. */
	dsn_init();

	/* The journal, as the unprivileged user.  The path is copied: a
	 * reload frees the configuration it came from. */
	if ((state.store_opts.path = strdup(cfg->journal_path)) == NULL) {
		remove_pid_file();
		return EX_OSERR;
	}
	state.store_opts.synchronous_full =
	    cfg->durability == MT_DURABILITY_FULL;
	state.store_opts.mode = cfg->journal_mode;
	state.store_opts.busy_timeout_ms = 5000;
	memset(&jo, 0, sizeof(jo));
	jo.open_store = open_store;
	jo.open_arg = &state.store_opts;
	jo.durable = cfg->durability == MT_DURABILITY_FULL;
	jo.commit_interval_ms = cfg->commit_interval_ms;
	jo.commit_timeout_ms = cfg->commit_timeout_ms;
	jo.max_records = cfg->queue_max_records;
	jo.max_bytes = cfg->queue_max_bytes;
	jo.max_batch = 256;
	if ((state.journal = journal_open(&jo, err, sizeof(err))) == NULL) {
		mt_log(LOG_ERR, "cannot open the journal: %s", err);
		if (!foreground)
			fprintf(stderr, "mailtrail-milter: cannot open the "
			    "journal: %s\n", err);
		remove_pid_file();
		return EX_CANTCREAT;
	}
	state.ctx.journal = state.journal;
	if (open_auth(cfg, err, sizeof(err)) != 0) {
		mt_log(LOG_ERR, "%s", err);
		journal_close(state.journal);
		remove_pid_file();
		return EX_SOFTWARE;
	}
	/* Before the signal thread exists: a reload may free cfg. */
	pthread_mutex_lock(&state.follower_lock);
	follower_start_locked(cfg);
	pthread_mutex_unlock(&state.follower_lock);
	if (pthread_create(&tid, NULL, signal_thread, &sigs) != 0) {
		mt_log(LOG_ERR, "cannot start the signal thread");
		follower_stop_locked();
		journal_close(state.journal);
		remove_pid_file();
		return EX_OSERR;
	}
	pthread_detach(tid);

	mt_log(LOG_NOTICE, "mailtrail-milter %s starting: socket=%s "
	    "journal=%s durability=%s config=%s", PACKAGE_VERSION, cfg->socket,
	    cfg->journal_path, jo.durable ? "full" : "normal",
	    state.config_path != NULL ? state.config_path :
	    "built-in defaults");
	rc = smfi_main();
	if (rc != MI_SUCCESS &&
	    __atomic_load_n(&stop_requested, __ATOMIC_SEQ_CST))
		rc = MI_SUCCESS;

	/*
	 * libmilter serves no session any more, but a worker may still be
	 * inside a callback: close the gate and wait for it (its own bounds:
	 * DNS deadlines, the commit timeout), then cut off what is still open.
	 */
	{
		size_t	 cut = 0;
		int	 bound = callback_bound_ms();

		if (callbacks_close(bound, &cut) != 0) {
			mt_log(LOG_ERR, "stopping: callbacks still running "
			    "after %d ms; exiting without freeing shared "
			    "state", bound);
			journal_flush(daemon_journal());
			remove_pid_file();
			return EX_SOFTWARE;
		}
		if (cut > 0)
			mt_log(LOG_NOTICE, "stopping: %zu sessions cut off, "
			    "their open transactions journaled as aborted "
			    "(shutdown)", cut);
	}
	pthread_mutex_lock(&state.follower_lock);
	state.stopping = 1;
	if (state.follower != NULL)
		mt_log(LOG_NOTICE, "stopping: the log follower hands over "
		    "its last lines");
	follower_stop_locked();
	pthread_mutex_unlock(&state.follower_lock);
	mt_log(LOG_NOTICE, "stopping: flushing the journal");
	{
		struct journal *j;

		pthread_mutex_lock(&state.lock);
		j = state.journal;
		state.journal = NULL;
		pthread_mutex_unlock(&state.lock);
		journal_close(j);
	}
	spf_free(state.ctx.spf);
	dkimv_free(state.ctx.dkimv);
	resolver_free(state.resolver);
	{
		struct txn_counters t;

		txn_counters(&t);
		mt_log(LOG_NOTICE, "stopped: connections=%llu messages=%llu "
		    "journal_errors=%llu sessions_refused=%llu", t.connections,
		    t.messages, t.journal_errors,
		    (unsigned long long)callbacks_refused());
	}
	remove_pid_file();
	return rc == MI_SUCCESS ? 0 : EX_SOFTWARE;
}
