/*
 * listen.h - finishing touches on libmilter's listening socket.
 *
 * libmilter opens the socket but offers no handle to it.  These helpers
 * find it among the process's descriptors after smfi_opensocket().
 */
#ifndef MAILTRAIL_MILTER_LISTEN_H
#define MAILTRAIL_MILTER_LISTEN_H

#include <sys/types.h>

/* 1 for "inet:" and "inet6:" sockets, 0 for "unix:"/"local:". */
int	 listen_is_inet(const char *spec);

/* The file name of a unix: socket spec (borrowed), or NULL. */
const char *listen_unix_path(const char *spec);

/*
 * Set TCP_NODELAY on every listening TCP socket of the process (accepted
 * sockets inherit it).  Returns how many were set, -1 on error.
 */
int	 listen_set_nodelay(void);

/* chmod (and chown when uid != -1) a unix: socket.  0 or -1 (errno). */
int	 listen_unix_perms(const char *path, unsigned mode, uid_t uid,
	    gid_t gid);

#endif
