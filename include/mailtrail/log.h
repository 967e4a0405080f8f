/*
 * log.h - the one logging module.
 *
 * Lines are records: an optional subject (tracking ID or connection ID, then
 * the queue ID when known) followed by key=value fields.  Values that came
 * from SMTP must pass through escape.h before they reach a log line.  Output
 * goes to syslog, or to stderr in foreground mode.  Thread-safe.
 */
#ifndef MAILTRAIL_LOG_H
#define MAILTRAIL_LOG_H

#include <stdarg.h>
#include <syslog.h>

/* Levels are syslog's: LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG. */

/* Start logging as ident: to stderr when use_stderr, else to syslog. */
void	 mt_log_open(const char *ident, int use_stderr, int facility);

/* Change the threshold and facility (on reload); lines above level drop. */
void	 mt_log_set(int level, int facility);

/* Reopen the syslog connection (SIGHUP). */
void	 mt_log_reopen(void);

/* 1 when a line at level would be written. */
int	 mt_log_enabled(int level);

void	 mt_log(int level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 mt_vlog(int level, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));

/* Parse "err", "warning", "notice", "info", "debug"; -1 if unknown. */
int	 mt_log_level_parse(const char *name);
/* Parse "mail", "daemon", "local0".."local7", "user"; -1 if unknown. */
int	 mt_log_facility_parse(const char *name);

#endif
