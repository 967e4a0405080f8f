/*
 * log.c - the one logging module: syslog, or stderr in the foreground.
 *
 * The level and facility are plain ints read without a lock: a reload that
 * changes them races only with whether one line is written.  Lines to stderr
 * carry a UTC timestamp and are written with one write(2) so that threads
 * do not interleave within a line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "mailtrail/clock.h"
#include "mailtrail/log.h"

static int	 log_to_stderr = 1;
static int	 log_level = LOG_INFO;
static int	 log_facility = LOG_MAIL;
static char	 log_ident[64] = "mailtrail";

static const struct {
	const char	*name;
	int		 value;
} levels[] = {
	{ "err", LOG_ERR }, { "error", LOG_ERR }, { "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
}, facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

void
mt_log_open(const char *ident, int use_stderr, int facility)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_to_stderr = use_stderr;
	log_facility = facility;
	if (!use_stderr)
		openlog(log_ident, LOG_PID | LOG_NDELAY, facility);
}

void
mt_log_set(int level, int facility)
{
	/* read by every thread: a reload changes it under their feet */
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
	if (facility != log_facility && !log_to_stderr) {
		log_facility = facility;
		closelog();
		openlog(log_ident, LOG_PID | LOG_NDELAY, facility);
	}
	log_facility = facility;
}

void
mt_log_reopen(void)
{
	if (!log_to_stderr) {
		closelog();
		openlog(log_ident, LOG_PID | LOG_NDELAY, log_facility);
	}
}

int
mt_log_enabled(int level)
{
	return level <= __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

static const char *
level_name(int level)
{
	switch (level) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void
mt_vlog(int level, const char *fmt, va_list ap)
{
	char	 line[2048], stamp[MT_ISO8601_SIZE];
	int	 n, m;

	if (!mt_log_enabled(level))
		return;
	if (!log_to_stderr) {
		vsyslog(level, fmt, ap);
		return;
	}
	n = snprintf(line, sizeof(line), "%s %s[%ld]: %s: ",
	    mt_iso8601(stamp, sizeof(stamp), mt_now_us()), log_ident,
	    (long)getpid(), level_name(level));
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)write(STDERR_FILENO, line, (size_t)n);
}

void
mt_log(int level, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	mt_vlog(level, fmt, ap);
	va_end(ap);
}

int
mt_log_level_parse(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(name, levels[i].name) == 0)
			return levels[i].value;
	return -1;
}

int
mt_log_facility_parse(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcasecmp(name, facilities[i].name) == 0)
			return facilities[i].value;
	return -1;
}
