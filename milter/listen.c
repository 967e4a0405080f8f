/*
 * listen.c - TCP_NODELAY and permissions on the milter's listening socket.
 *
 * Why TCP_NODELAY: at end-of-message we send small packets back to back
 * (a header change, then the reply); with Nagle on, the second waits for the
 * MTA's delayed ACK, about 40 ms a message.  libmilter has no API for socket
 * options, so after smfi_opensocket() we look for listening TCP sockets
 * among our descriptors; sockets accepted later inherit the option.
 *
 * A unix: socket gets its permission bits from the umask in force when
 * libmilter binds it (listen_umask_for), and its owner through a
 * descriptor opened without following symlinks: nothing is chmod'ed or
 * chown'ed by path as root.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "listen.h"

int
listen_is_inet(const char *spec)
{
	return strncmp(spec, "inet:", 5) == 0 || strncmp(spec, "inet6:", 6) == 0;
}

const char *
listen_unix_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	if (strchr(spec, ':') == NULL)
		return spec;		/* libmilter treats a bare path as unix: */
	return NULL;
}

int
listen_set_nodelay(void)
{
	struct rlimit		 rl;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, maxfd, on = 1, acc, n = 0;

	maxfd = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536)
		maxfd = (int)rl.rlim_cur;
	for (fd = 0; fd < maxfd; fd++) {
		len = sizeof(acc);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) != 0 ||
		    !acc)
			continue;
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
			continue;
		if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    sizeof(on)) != 0)
			return -1;
		n++;
	}
	return n;
}

mode_t
listen_umask_for(unsigned mode)
{
	return (mode_t)(~mode & 0777);
}

int
listen_unix_perms(const char *path, unsigned mode, uid_t uid, gid_t gid)
{
	struct stat	 st;
	int		 fd, rc = -1, saved;

	if ((fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) != 0)
		goto out;
	if (!S_ISSOCK(st.st_mode) || (st.st_mode & 07777) != (mode & 07777)) {
		errno = EINVAL;
		goto out;
	}
	if (uid != (uid_t)-1 &&
	    fchownat(fd, "", uid, gid, AT_EMPTY_PATH) != 0)
		goto out;
	rc = 0;
out:
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

unsigned long
listen_raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
			return 0;
	}
	return rl.rlim_cur == RLIM_INFINITY ? (unsigned long)-1 :
	    (unsigned long)rl.rlim_cur;
}
