/*
 * milter_client.c - a minimal MTA side of the milter protocol, for tests.
 *
 * It behaves as Postfix does with a milter that negotiated "no reply"
 * flags: it waits for a reply only for the steps the milter did not mark
 * SMFIP_NR_*, and sends what follows at once.  Each connection it opens:
 *
 *	option negotiation, CONNECT, HELO, MAIL <sN@example.org>,
 *	RCPT <rN@example.net>, then ABORT and QUIT in one write, and closes.
 *
 * That is the end of a session whose client pipelined MAIL, RCPT, RSET and
 * QUIT and hung up: the case where libmilter, seeing the hang-up, may close
 * without reading what is still queued.
 *
 *	milter_client [-e] [-H ms] [-c N] SOCKET COUNT [TAG]
 *
 * SOCKET is unix:/path or inet:PORT@127.0.0.1.  It prints the protocol flags
 * the milter negotiated ("negotiated protocol 0x...") and one line per
 * connection; exit 0 when every exchange completed, 1 otherwise.  TAG (a
 * word) goes into the HELO name, so a test can find its rows.
 *
 *	-e	finish each transaction with DATA, two headers, a body and
 *		end-of-message (waiting for the final reply, printed as
 *		"eom N REPLY") instead of RSET and QUIT; then QUIT.
 *	-H ms	hold each session that long after RCPT (a slow client:
 *		"held N" is printed when the hold begins).
 *	-c N	concurrency: open N sessions at once (each up to RCPT),
 *		keep them all open, then finish them one by one; prints
 *		"opened X of N" and counts the sessions refused or broken.
 *		COUNT rounds of N.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#define BUF_MAX	65536

struct pkt {
	unsigned char	 buf[BUF_MAX];
	size_t		 len;
};

static void
pkt_start(struct pkt *p)
{
	p->len = 0;
}

/* Append one packet: 4-byte length, command, data. */
static int
pkt_add(struct pkt *p, char cmd, const void *data, size_t len)
{
	uint32_t	 n = htonl((uint32_t)(len + 1));

	if (p->len + 5 + len > sizeof(p->buf))
		return -1;
	memcpy(p->buf + p->len, &n, 4);
	p->buf[p->len + 4] = (unsigned char)cmd;
	if (len > 0)
		memcpy(p->buf + p->len + 5, data, len);
	p->len += 5 + len;
	return 0;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
read_all(int fd, void *buf, size_t len)
{
	unsigned char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = read(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read one reply packet: its command in *cmd, data in buf (cut to size). */
static int
read_reply(int fd, char *cmd, unsigned char *buf, size_t size, size_t *len)
{
	uint32_t	 n;
	unsigned char	 c, skip[256];
	size_t		 want, got = 0, chunk;

	if (read_all(fd, &n, 4) < 0)
		return -1;
	n = ntohl(n);
	if (n < 1 || n > BUF_MAX || read_all(fd, &c, 1) < 0)
		return -1;
	want = n - 1;
	*cmd = (char)c;
	while (got < want) {
		chunk = want - got;
		if (got < size) {
			if (chunk > size - got)
				chunk = size - got;
			if (read_all(fd, buf + got, chunk) < 0)
				return -1;
		} else {
			if (chunk > sizeof(skip))
				chunk = sizeof(skip);
			if (read_all(fd, skip, chunk) < 0)
				return -1;
		}
		got += chunk;
	}
	*len = want < size ? want : size;
	return 0;
}

static int
connect_to(const char *spec)
{
	struct sockaddr_un	 sun;
	struct sockaddr_in	 sin;
	const char		*at;
	int			 fd;

	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
		    strchr(spec, ':') + 1);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	if (strncmp(spec, "inet:", 5) == 0) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)atoi(spec + 5));
		at = strchr(spec, '@');
		if (inet_pton(AF_INET, at != NULL ? at + 1 : "127.0.0.1",
		    &sin.sin_addr) != 1)
			return -1;
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	errno = EINVAL;
	return -1;
}

/* Send p; wait for one reply unless the milter said "no reply" (nr). */
static int
step(int fd, struct pkt *p, unsigned long proto, unsigned long nr,
    const char *what)
{
	unsigned char	 buf[512];
	size_t		 len;
	char		 cmd;

	if (write_all(fd, p->buf, p->len) < 0) {
		fprintf(stderr, "milter_client: %s: write: %s\n", what,
		    strerror(errno));
		return -1;
	}
	if ((proto & nr) != 0)
		return 0;
	if (read_reply(fd, &cmd, buf, sizeof(buf), &len) < 0) {
		fprintf(stderr, "milter_client: %s: no reply\n", what);
		return -1;
	}
	if (cmd != SMFIR_CONTINUE) {
		fprintf(stderr, "milter_client: %s: reply '%c', want 'c'\n",
		    what, cmd);
		return -1;
	}
	return 0;
}

static int	 opt_eom, opt_hold_ms;

static void
sleep_ms(int ms)
{
	struct timespec	 ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Open a session up to RCPT; returns its descriptor, -1 on failure. */
static int
session_open(const char *spec, int i, const char *tag,
    unsigned long *negotiated)
{
	static struct pkt p;
	unsigned char	 buf[512];
	char		 text[256], cmd;
	uint32_t	 opt[3];
	unsigned long	 proto;
	size_t		 len, n;
	int		 fd;

	if ((fd = connect_to(spec)) < 0) {
		fprintf(stderr, "milter_client: connect %s: %s\n", spec,
		    strerror(errno));
		return -1;
	}
	/* Offer everything Postfix offers, "no reply" on every step. */
	opt[0] = htonl(SMFI_PROT_VERSION);
	opt[1] = htonl(SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST);
	opt[2] = htonl(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL |
	    SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_EOH |
	    SMFIP_NR_BODY | SMFIP_NR_HDR | SMFIP_RCPT_REJ |
	    SMFIP_HDR_LEADSPC | SMFIP_SKIP);
	pkt_start(&p);
	pkt_add(&p, SMFIC_OPTNEG, opt, sizeof(opt));
	if (write_all(fd, p.buf, p.len) < 0 ||
	    read_reply(fd, &cmd, buf, sizeof(buf), &len) < 0 ||
	    cmd != SMFIC_OPTNEG || len < 12) {
		fprintf(stderr, "milter_client: option negotiation failed\n");
		close(fd);
		return -1;
	}
	memcpy(opt, buf, sizeof(opt));
	proto = ntohl(opt[2]);
	*negotiated = proto;

	/* CONNECT: host name, family, port, address. */
	pkt_start(&p);
	n = (size_t)snprintf(text, sizeof(text), "client%d.example.org", i);
	memcpy(buf, text, n + 1);
	len = n + 1;
	buf[len++] = '4';
	buf[len++] = 0x30;		/* port 12345 */
	buf[len++] = 0x39;
	memcpy(buf + len, "192.0.2.77", 11);
	len += 11;
	pkt_add(&p, SMFIC_CONNECT, buf, len);
	if (step(fd, &p, proto, SMFIP_NR_CONN, "connect") < 0)
		goto fail;

	pkt_start(&p);
	n = (size_t)snprintf(text, sizeof(text), "%s-%d.example.org", tag, i);
	pkt_add(&p, SMFIC_HELO, text, n + 1);
	if ((proto & SMFIP_NOHELO) == 0 &&
	    step(fd, &p, proto, SMFIP_NR_HELO, "helo") < 0)
		goto fail;

	pkt_start(&p);
	n = (size_t)snprintf(text, sizeof(text), "<s%d@example.org>", i);
	pkt_add(&p, SMFIC_MAIL, text, n + 1);
	if (step(fd, &p, proto, SMFIP_NR_MAIL, "mail") < 0)
		goto fail;

	pkt_start(&p);
	n = (size_t)snprintf(text, sizeof(text), "<r%d@example.net>", i);
	pkt_add(&p, SMFIC_RCPT, text, n + 1);
	if (step(fd, &p, proto, SMFIP_NR_RCPT, "rcpt") < 0)
		goto fail;
	return fd;

fail:
	close(fd);
	return -1;
}

/* DATA, headers, body, end-of-message; the final reply's command. */
static int
send_message(int fd, int i, unsigned long proto, char *final)
{
	static struct pkt p;
	unsigned char	 buf[512];
	char		 text[256], cmd;
	size_t		 len, n;

	pkt_start(&p);
	pkt_add(&p, SMFIC_DATA, NULL, 0);
	if (step(fd, &p, proto, SMFIP_NR_DATA, "data") < 0)
		return -1;
	pkt_start(&p);
	n = (size_t)snprintf(text, sizeof(text), "Message-ID%c <client-%d@"
	    "example.org>", '\0', i);
	pkt_add(&p, SMFIC_HEADER, text, n + 1);
	if (step(fd, &p, proto, SMFIP_NR_HDR, "header") < 0)
		return -1;
	pkt_start(&p);
	n = (size_t)snprintf(text, sizeof(text), "Subject%c client %d", '\0',
	    i);
	pkt_add(&p, SMFIC_HEADER, text, n + 1);
	if (step(fd, &p, proto, SMFIP_NR_HDR, "header") < 0)
		return -1;
	pkt_start(&p);
	pkt_add(&p, SMFIC_EOH, NULL, 0);
	if (step(fd, &p, proto, SMFIP_NR_EOH, "eoh") < 0)
		return -1;
	pkt_start(&p);
	pkt_add(&p, SMFIC_BODY, "hello\r\n", 7);
	if (step(fd, &p, proto, SMFIP_NR_BODY, "body") < 0)
		return -1;
	pkt_start(&p);
	pkt_add(&p, SMFIC_BODYEOB, NULL, 0);
	if (write_all(fd, p.buf, p.len) < 0)
		return -1;
	/* Header changes come first, then the final reply. */
	for (;;) {
		if (read_reply(fd, &cmd, buf, sizeof(buf), &len) < 0)
			return -1;
		if (cmd == SMFIR_CONTINUE || cmd == SMFIR_ACCEPT ||
		    cmd == SMFIR_TEMPFAIL || cmd == SMFIR_REJECT ||
		    cmd == SMFIR_REPLYCODE || cmd == SMFIR_DISCARD) {
			*final = cmd;
			return 0;
		}
	}
}

/* Finish a session opened by session_open; closes fd. */
static int
session_finish(int fd, int i, unsigned long proto)
{
	static struct pkt p;
	char		 final;

	if (opt_hold_ms > 0) {
		printf("held %d\n", i);
		fflush(stdout);
		sleep_ms(opt_hold_ms);
	}
	if (opt_eom) {
		if (send_message(fd, i, proto, &final) < 0) {
			fprintf(stderr, "milter_client: session %d: "
			    "end-of-message: no reply\n", i);
			close(fd);
			return -1;
		}
		printf("eom %d %c\n", i, final);
		pkt_start(&p);
		pkt_add(&p, SMFIC_QUIT, NULL, 0);
	} else {
		/* RSET and QUIT from the client, then the hang-up. */
		pkt_start(&p);
		pkt_add(&p, SMFIC_ABORT, NULL, 0);
		pkt_add(&p, SMFIC_QUIT, NULL, 0);
	}
	if (write_all(fd, p.buf, p.len) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
session(const char *spec, int i, const char *tag, unsigned long *negotiated)
{
	int	 fd;

	if ((fd = session_open(spec, i, tag, negotiated)) < 0)
		return -1;
	return session_finish(fd, i, *negotiated);
}

/* N sessions open at once, then finished; returns how many failed. */
static int
concurrent(const char *spec, int n, const char *tag,
    unsigned long *negotiated)
{
	int	*fds, i, opened = 0, failed = 0;

	if ((fds = calloc((size_t)n, sizeof(*fds))) == NULL)
		return n;
	for (i = 0; i < n; i++)
		if ((fds[i] = session_open(spec, i + 1, tag, negotiated)) >= 0)
			opened++;
	printf("opened %d of %d\n", opened, n);
	fflush(stdout);
	for (i = 0; i < n; i++) {
		if (fds[i] < 0)
			failed++;
		else if (session_finish(fds[i], i + 1, *negotiated) < 0)
			failed++;
	}
	free(fds);
	return failed;
}

int
main(int argc, char *argv[])
{
	unsigned long	 negotiated = 0;
	int		 i, ch, count, failed = 0, conc = 0;
	const char	*tag;

	while ((ch = getopt(argc, argv, "c:eH:")) != -1) {
		switch (ch) {
		case 'c':
			conc = atoi(optarg);
			break;
		case 'e':
			opt_eom = 1;
			break;
		case 'H':
			opt_hold_ms = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	argc -= optind - 1;
	argv += optind - 1;
	if (argc < 3 || (count = atoi(argv[2])) <= 0) {
usage:
		fprintf(stderr, "usage: milter_client [-e] [-H ms] [-c N] "
		    "SOCKET COUNT [TAG]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	tag = argc > 3 ? argv[3] : "pipeline";
	for (i = 1; i <= count; i++) {
		if (conc > 0)
			failed += concurrent(argv[1], conc, tag, &negotiated);
		else if (session(argv[1], i, tag, &negotiated) < 0)
			failed++;
		if (i == 1)
			printf("negotiated protocol 0x%08lx\n", negotiated);
	}
	printf("sessions %d failed %d\n", conc > 0 ? count * conc : count,
	    failed);
	return failed == 0 ? 0 : 1;
}
