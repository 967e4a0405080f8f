/*
 * sdjournal.c - the MTA's log read from the systemd journal (see
 * sdjournal.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-journal.h>

#include "mailtrail/maillog.h"
#include "mailtrail/sdjournal.h"

struct sdj_reader {
	sd_journal	*j;
	char		*buf;		/* MLOG_MAX_LINE + 1 */
};

int
sdj_is_spec(const char *spec)
{
	return spec != NULL &&
	    strncmp(spec, SDJ_PREFIX, sizeof(SDJ_PREFIX) - 1) == 0;
}

int
sdj_check_spec(const char *spec, char *err, size_t errlen)
{
	const char	*rest;

	if (!sdj_is_spec(spec)) {
		snprintf(err, errlen, "not a systemd journal source (want "
		    "\"%s\" or \"%s/DIRECTORY\")", SDJ_PREFIX, SDJ_PREFIX);
		return -1;
	}
	rest = spec + sizeof(SDJ_PREFIX) - 1;
	if (rest[0] != '\0' && rest[0] != '/') {
		snprintf(err, errlen, "after \"%s\" comes nothing (this "
		    "machine's journal) or an absolute path", SDJ_PREFIX);
		return -1;
	}
	return 0;
}

static int
sd_err(char *err, size_t errlen, const char *what, int rc)
{
	snprintf(err, errlen, "%s: %s", what, strerror(rc < 0 ? -rc : rc));
	return -1;
}

struct sdj_reader *
sdj_reader_open(const char *spec, char *err, size_t errlen)
{
	struct sdj_reader	*r;
	struct stat		 st;
	const char		*path, *files[2];
	int			 rc;

	if (sdj_check_spec(spec, err, errlen) != 0)
		return NULL;
	path = spec + sizeof(SDJ_PREFIX) - 1;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->buf = malloc(MLOG_MAX_LINE + 1)) == NULL) {
		free(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (path[0] == '\0')
		rc = sd_journal_open(&r->j, SD_JOURNAL_LOCAL_ONLY);
	else if (stat(path, &st) != 0) {
		rc = -errno;
	} else if (S_ISDIR(st.st_mode)) {
		rc = sd_journal_open_directory(&r->j, path, 0);
	} else {
		files[0] = path;
		files[1] = NULL;
		rc = sd_journal_open_files(&r->j, files, 0);
	}
	if (rc < 0) {
		sd_err(err, errlen, path[0] != '\0' ? path :
		    "the systemd journal", rc);
		goto fail;
	}
	/* Postfix and Sendmail log to the mail facility. */
	if ((rc = sd_journal_add_match(r->j, "SYSLOG_FACILITY=2", 0)) < 0) {
		sd_err(err, errlen, "sd_journal_add_match", rc);
		goto fail;
	}
	/* Fields up to a line's bound, not sd-journal's default 64 KiB. */
	(void)sd_journal_set_data_threshold(r->j, MLOG_MAX_LINE + 1);
	if ((rc = sd_journal_seek_head(r->j)) < 0) {
		sd_err(err, errlen, "sd_journal_seek_head", rc);
		goto fail;
	}
	return r;
fail:
	sdj_reader_close(r);
	return NULL;
}

void
sdj_reader_close(struct sdj_reader *r)
{
	if (r == NULL)
		return;
	if (r->j != NULL)
		sd_journal_close(r->j);
	free(r->buf);
	free(r);
}

int
sdj_reader_seek_head(struct sdj_reader *r, char *err, size_t errlen)
{
	int	 rc;

	if ((rc = sd_journal_seek_head(r->j)) < 0)
		return sd_err(err, errlen, "sd_journal_seek_head", rc);
	return 0;
}

int
sdj_reader_seek_tail(struct sdj_reader *r, char *err, size_t errlen)
{
	int	 rc;

	/*
	 * After seek_tail, next() would return nothing until the journal
	 * grows, but previous() is needed first to settle on the last
	 * entry; then next() returns only what comes after it.
	 */
	if ((rc = sd_journal_seek_tail(r->j)) < 0)
		return sd_err(err, errlen, "sd_journal_seek_tail", rc);
	if ((rc = sd_journal_previous(r->j)) < 0)
		return sd_err(err, errlen, "sd_journal_previous", rc);
	return 0;
}

int
sdj_reader_seek_time(struct sdj_reader *r, int64_t time_us, char *err,
    size_t errlen)
{
	int	 rc;

	if (time_us < 0)
		time_us = 0;
	if ((rc = sd_journal_seek_realtime_usec(r->j, (uint64_t)time_us)) < 0)
		return sd_err(err, errlen, "sd_journal_seek_realtime_usec", rc);
	return 0;
}

/*
 * A field's value (after "NAME="), or NULL when the entry has none.  The
 * value lives in sd-journal's mapping until the next call.
 */
static const char *
field(sd_journal *j, const char *name, size_t *len)
{
	const void	*d;
	size_t		 l, nl = strlen(name);

	if (sd_journal_get_data(j, name, &d, &l) < 0 || l <= nl ||
	    ((const char *)d)[nl] != '=') {
		*len = 0;
		return NULL;
	}
	*len = l - nl - 1;
	return (const char *)d + nl + 1;
}

/* Append s[0..len) to the frame, with spaces, controls and ':' as '_'. */
static size_t
put_word(char *out, size_t at, size_t max, const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len && at < max; i++) {
		unsigned char c = (unsigned char)s[i];
		out[at++] = c <= ' ' || c == 0x7f || c == '[' || c == ']' ||
		    c == ':' ? '_' : (char)c;
	}
	return at;
}

int
sdj_reader_next(struct sdj_reader *r, struct sdj_entry *e, char *err,
    size_t errlen)
{
	const char	*host, *ident, *pid, *msg;
	size_t		 hlen, ilen, plen, mlen, at;
	uint64_t	 rt;
	time_t		 secs;
	struct tm	 tm;
	int		 rc, n;

	memset(e, 0, sizeof(*e));
	if ((rc = sd_journal_next(r->j)) < 0)
		return sd_err(err, errlen, "sd_journal_next", rc);
	if (rc == 0)
		return 0;
	if ((rc = sd_journal_get_realtime_usec(r->j, &rt)) < 0)
		return sd_err(err, errlen, "sd_journal_get_realtime_usec", rc);
	e->time_us = rt > INT64_MAX ? INT64_MAX : (int64_t)rt;

	/* Each value is copied before the next get_data call moves the map. */
	secs = (time_t)(rt / 1000000);
	if (gmtime_r(&secs, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	n = snprintf(r->buf, MLOG_MAX_LINE + 1,
	    "%04d-%02d-%02dT%02d:%02d:%02d.%06u+00:00 ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (unsigned)(rt % 1000000));
	at = (size_t)n;
	if ((host = field(r->j, "_HOSTNAME", &hlen)) != NULL && hlen > 0) {
		at = put_word(r->buf, at, at + 255, host, hlen);
		r->buf[at++] = ' ';
	}
	if ((ident = field(r->j, "SYSLOG_IDENTIFIER", &ilen)) == NULL ||
	    ilen == 0) {
		ident = "-";
		ilen = 1;
	}
	at = put_word(r->buf, at, at + 255, ident, ilen);
	if ((pid = field(r->j, "SYSLOG_PID", &plen)) == NULL || plen == 0)
		pid = field(r->j, "_PID", &plen);
	if (pid != NULL && plen > 0 && plen < 16) {
		r->buf[at++] = '[';
		at = put_word(r->buf, at, at + 15, pid, plen);
		r->buf[at++] = ']';
	}
	r->buf[at++] = ':';
	r->buf[at++] = ' ';
	if ((msg = field(r->j, "MESSAGE", &mlen)) == NULL)
		mlen = 0;
	if (at + mlen > MLOG_MAX_LINE) {
		e->too_long = 1;
		e->len = at + mlen;
		return 1;
	}
	if (mlen > 0)
		memcpy(r->buf + at, msg, mlen);
	at += mlen;
	/* A message with a newline is one line here, as in a syslog file. */
	for (size_t i = 0; i < at; i++)
		if (r->buf[i] == '\n' || r->buf[i] == '\0')
			r->buf[i] = ' ';
	r->buf[at] = '\0';
	e->line = r->buf;
	e->len = at;
	return 1;
}

int
sdj_reader_wait(struct sdj_reader *r, int timeout_ms)
{
	int	 rc;

	rc = sd_journal_wait(r->j, timeout_ms < 0 ? (uint64_t)-1 :
	    (uint64_t)timeout_ms * 1000);
	if (rc < 0)
		return -1;
	return rc == SD_JOURNAL_NOP ? 0 : 1;
}
