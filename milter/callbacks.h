/*
 * callbacks.h - the libmilter glue: callbacks in, core calls out.
 *
 * main.c owns the daemon's shared state and lends it to the callbacks
 * through the functions below; callbacks.c owns the smfiDesc.
 */
#ifndef MAILTRAIL_MILTER_CALLBACKS_H
#define MAILTRAIL_MILTER_CALLBACKS_H

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

#endif
