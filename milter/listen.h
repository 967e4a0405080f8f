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

/*
 * The umask that makes a unix: socket bound under it have exactly mode's
 * permission bits (set it around smfi_opensocket(): the socket is never
 * reachable with looser bits, and nothing is chmod'ed by path as root).
 */
mode_t	 listen_umask_for(unsigned mode);

/*
 * Give a unix: socket to uid:gid (nothing when uid is -1) without
 * following a symlink: the path is opened O_PATH|O_NOFOLLOW, must be a
 * socket, and is changed through that descriptor.  Its permission bits are
 * checked against mode.  0 or -1 (errno; EINVAL: not a socket, or its
 * bits differ).
 */
int	 listen_unix_perms(const char *path, unsigned mode, uid_t uid,
	    gid_t gid);

/*
 * Raise the soft RLIMIT_NOFILE to the hard limit (each MTA session holds a
 * descriptor).  Returns the soft limit now in force (0 if unknown).
 */
unsigned long listen_raise_nofile(void);

#endif
