/*
 * sdjournal.h - the MTA's log read from the systemd journal.
 *
 * On a Debian 12 host where neither rsyslog nor Postfix's maillog_file is
 * set up, Postfix's syslog lines go only to the systemd journal.  A source
 * written "systemd-journal:" (the local machine's journal, as journalctl
 * reads it), "systemd-journal:/DIR" (the journal files of a directory, e.g.
 * /var/log/journal or a copy of it) or "systemd-journal:/FILE.journal" (one
 * file) is read through libsystemd's sd-journal.  Only entries of the mail
 * facility (SYSLOG_FACILITY=2) are read: that is where Postfix and
 * Sendmail log.
 *
 * Each entry becomes the line rsyslog would have written with an RFC 3339
 * stamp, in UTC with microseconds:
 *	2026-12-08T10:00:00.123456+00:00 HOST IDENT[PID]: MESSAGE
 * (HOST from _HOSTNAME, IDENT from SYSLOG_IDENTIFIER, PID from SYSLOG_PID
 * or _PID, the time from the entry's __REALTIME_TIMESTAMP), so the same
 * parser (maillog.h) reads it and the same entry always gives the same
 * line, hence the same event identity: reading an entry twice stores it
 * once.  An entry read from the journal and the same message read from a
 * syslog file are different lines: follow one source, not both.
 *
 * Positions are times: an entry's __REALTIME_TIMESTAMP in microseconds.
 * sdj_reader_seek_time() goes to the first entry at or after a time, so a
 * reader resumed at the time of the last entry it handed over reads that
 * entry (and any other of the same microsecond) again; they are
 * duplicates and are ignored by the store.
 *
 * Bounds: an entry whose line would be longer than MLOG_MAX_LINE is not
 * returned as a line (too_long is set); a field is read up to that size.
 *
 * Thread safety: a reader belongs to one thread (sd-journal's own rule).
 */
#ifndef MAILTRAIL_SDJOURNAL_H
#define MAILTRAIL_SDJOURNAL_H

#include <stddef.h>
#include <stdint.h>

#define SDJ_PREFIX	"systemd-journal:"

struct sdj_reader;

/* 1 when spec names a systemd journal source, else 0. */
int	 sdj_is_spec(const char *spec);

/*
 * Check a source's syntax without opening it (configuration checks):
 * 0, or -1 with a message in err (not a systemd-journal: spec, a relative
 * path, or this build has no sd-journal support).
 */
int	 sdj_check_spec(const char *spec, char *err, size_t errlen);

/*
 * Open a source (positioned before its first entry).  NULL with a message
 * in err: not a spec, no sd-journal support in this build, or the journal
 * could not be opened.
 */
struct sdj_reader *sdj_reader_open(const char *spec, char *err,
	    size_t errlen);
void	 sdj_reader_close(struct sdj_reader *r);

/* Position before the first entry, after the last one, or before the
 * first entry at or after time_us.  0, or -1 with a message in err. */
int	 sdj_reader_seek_head(struct sdj_reader *r, char *err, size_t errlen);
int	 sdj_reader_seek_tail(struct sdj_reader *r, char *err, size_t errlen);
int	 sdj_reader_seek_time(struct sdj_reader *r, int64_t time_us,
	    char *err, size_t errlen);

struct sdj_entry {
	const char	*line;		/* NULL when too_long; valid until the next call */
	size_t		 len;
	int64_t		 time_us;	/* __REALTIME_TIMESTAMP */
	int		 too_long;
};

/*
 * The next mail entry: 1 (*e filled), 0 at the end for now, -1 on error
 * (message in err).
 */
int	 sdj_reader_next(struct sdj_reader *r, struct sdj_entry *e,
	    char *err, size_t errlen);

/*
 * Wait up to timeout_ms for the journal to change (new entries, new or
 * rotated files).  1 changed, 0 timed out, -1 error.
 */
int	 sdj_reader_wait(struct sdj_reader *r, int timeout_ms);

#endif
