/*
 * callbacks.h - the libmilter glue: callbacks in, core calls out.
 *
 * main.c owns the daemon's shared state and lends it to the callbacks
 * through the functions below; callbacks.c owns the smfiDesc.
 */
#ifndef MAILTRAIL_MILTER_CALLBACKS_H
#define MAILTRAIL_MILTER_CALLBACKS_H

#include <stddef.h>
#include <stdint.h>

#include <libmilter/mfapi.h>

#include "mailtrail/config.h"
#include "mailtrail/journal.h"

/* Implemented in main.c. */
struct mt_config *daemon_config_get(void);	/* a new reference */
struct journal	 *daemon_journal(void);		/* borrowed */
struct mt_ctx;
const struct mt_ctx *daemon_ctx(void);		/* borrowed */
int		  daemon_socket_is_inet(void);

/* The filter description to pass to smfi_register. */
struct smfiDesc	 *callbacks_desc(void);

/*
 * Shutdown, step 1 (while libmilter still runs): refuse new sessions and
 * wait up to timeout_ms for the open ones to end.  Returns how many are
 * still open.
 */
size_t		  callbacks_drain(int timeout_ms);

/*
 * Step 2 (libmilter stopped): close the gate, so that no callback enters
 * any more, and wait up to timeout_ms for the running ones to leave; then
 * cut off the sessions still open (an open transaction is journaled as
 * aborted, "shutdown"; the connection record is written) and free them.
 * 0, with *cut_off set; -1 when callbacks still run (then nothing shared
 * may be freed).
 */
int		  callbacks_close(int timeout_ms, size_t *cut_off);

/* Sessions open now. */
size_t		  callbacks_sessions(void);

/* Refuse sessions beyond max open at once (0: no cap). */
void		  callbacks_set_max_sessions(size_t max);

/* Sessions refused so far (stopping, or over the cap). */
uint64_t	  callbacks_refused(void);

#endif
