/*
 * cli_gen.c - a journal of synthetic messages shaped like a gateway's
 * traffic, and the Postfix mail log of the same messages, for
 * tests/bench/cli-bench.sh.
 *
 *   cli_gen JOURNAL MAILLOG MESSAGES [DAYS] [SEED] [MIX]
 *
 * The journal is created with the core's schema (schema_migrate), so it is
 * the milter's, and filled in time order as the milter would fill it: one
 * connection per one to three messages, about three recipients per message
 * (5% of them rejected by the MTA, with Postfix's codes and texts), 20,000
 * sender domains with a few sending hosts each and Zipf-like popularity,
 * SPF results for the MAIL FROM and HELO identities (10% of messages fail
 * SPF: fail, softfail, permerror, temperror), DKIM signatures on 75% of
 * messages (10% of messages carry a failing one), the Authentication-Results
 * and tracking headers the milter adds, and a few forged headers removed.
 * Values have realistic lengths (Message-IDs, From, Date, Subject, TLS).
 *
 * The mail log has, per message, what a Postfix gateway with an SPF policy
 * daemon and a DKIM verifier logs: connect, client, policyd-spf
 * Received-SPF, cleanup message-id, opendkim, qmgr from, one delivery line
 * per accepted recipient, NOQUEUE reject lines for rejected ones, removed
 * and disconnect.
 *
 * MIX "delivery" (for tests/bench/ingest-bench.sh) varies the delivery
 * lines as an outbound gateway sees them: about 88% of recipients are
 * delivered at once (lmtp, status=sent), 8% are deferred by the remote
 * smtp server first and sent on a retry, 4% bounce (status=bounced,
 * then the bounce daemon's "sender non-delivery notification" line).
 * Without MIX the log is the one cli-bench.sh has always used.
 *
 * Prints "sample" lines the benchmark script uses (a tracking ID, queue ID
 * and Message-ID of a message in the middle, the busiest sender and an
 * ordinary one).  Deterministic for a seed, except the random part of
 * tracking IDs.
 *
 * Not part of the product: a benchmark tool; no error recovery beyond a
 * message and exit 1.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailtrail/schema.h"
#include "mailtrail/trackid.h"

#define N_DOMAINS	20000
#define N_LOCALS	400
#define N_USERS		5000
#define BATCH		20000

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * UINT64_C(2685821657736338717);
}

static unsigned
rnd_below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static double
rnd_unit(void)
{
	return (double)(rnd() >> 11) / (double)(UINT64_C(1) << 53);
}

/* A Zipf-like choice among n (cumulative weights 1/(k+q)^s). */
struct zipf {
	double	*cdf;
	unsigned n;
};

static void
zipf_init(struct zipf *z, unsigned n, double q, double s)
{
	double	 sum = 0;
	unsigned k;

	z->n = n;
	if ((z->cdf = malloc(n * sizeof(double))) == NULL) {
		fprintf(stderr, "cli_gen: out of memory\n");
		exit(1);
	}
	for (k = 0; k < n; k++) {
		sum += 1.0 / pow((double)k + q, s);
		z->cdf[k] = sum;
	}
	for (k = 0; k < n; k++)
		z->cdf[k] /= sum;
}

static unsigned
zipf_pick(const struct zipf *z)
{
	double	 u = rnd_unit();
	unsigned lo = 0, hi = z->n - 1, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (z->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const char *const words[] = {
	"north", "wind", "blue", "river", "stone", "bright", "cloud", "data",
	"green", "field", "silver", "lake", "harbor", "peak", "maple", "cedar",
	"global", "metro", "alpha", "nova", "prime", "urban", "coast", "delta",
	"summit", "pixel", "orbit", "vertex", "iron", "oak", "swift", "quant",
};
static const char *const tlds[] = { "com", "net", "org", "de", "fr", "io",
    "co.uk", "nl", "it", "es" };
static const char *const locals[] = { "info", "noreply", "newsletter",
    "billing", "support", "sales", "no-reply", "notifications", "hr",
    "orders" };
static const char *const first[] = { "john", "mary", "peter", "anna",
    "li", "maria", "ahmed", "sofia", "lucas", "emma", "noah", "olga" };
static const char *const last[] = { "smith", "mueller", "rossi", "garcia",
    "chen", "dubois", "kowalski", "jansen", "silva", "novak" };
static const char *const local_domains[] = { "example.com", "example.net",
    "corp.example.org", "sales.example.com", "example.edu" };
static const char *const subj[] = { "Invoice", "Your order", "Meeting",
    "Re: project update", "Newsletter", "Quarterly report", "Password reset",
    "Fwd: contract draft", "Shipping confirmation", "Welcome to",
    "Reminder:", "Action required:", "Re: Re: budget", "Team offsite",
    "Statement for", "Security alert" };
static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const wdays[] = { "Thu", "Fri", "Sat", "Sun", "Mon",
    "Tue", "Wed" };

struct domain {
	char	 name[48];
	unsigned ip[4];		/* up to 4 sending hosts */
	unsigned n_ip;
	int	 signs;		/* signs with DKIM */
	char	 selector[16];
};

static struct domain *domains;

struct stmts {
	sqlite3_stmt *conn, *msg, *rcpt, *edit, *spf, *dkim;
};

static void
die_db(sqlite3 *db, const char *what)
{
	fprintf(stderr, "cli_gen: %s: %s\n", what, sqlite3_errmsg(db));
	exit(1);
}

static void
step(sqlite3 *db, sqlite3_stmt *st, const char *what)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		die_db(db, what);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void
bind_s(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static void
ip_text(unsigned ip, char *out, size_t sz)
{
	snprintf(out, sz, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255,
	    (ip >> 8) & 255, ip & 255);
}

/* "Nov 25 14:00:00" for a syslog line. */
static void
syslog_time(int64_t us, char *out, size_t sz)
{
	time_t	 t = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, sz, "%s %2d %02d:%02d:%02d", months[tm.tm_mon],
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
rfc5322_date(int64_t us, char *out, size_t sz)
{
	time_t	 t = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, sz, "%s, %d %s %d %02d:%02d:%02d +0000",
	    wdays[(t / 86400) % 7], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
make_domains(void)
{
	unsigned k, i;

	if ((domains = calloc(N_DOMAINS, sizeof(*domains))) == NULL) {
		fprintf(stderr, "cli_gen: out of memory\n");
		exit(1);
	}
	for (k = 0; k < N_DOMAINS; k++) {
		struct domain *d = &domains[k];

		snprintf(d->name, sizeof(d->name), "%s%s%u.%s",
		    words[rnd_below(32)], words[rnd_below(32)], k,
		    tlds[rnd_below(10)]);
		d->n_ip = 1 + rnd_below(4);
		for (i = 0; i < d->n_ip; i++)
			d->ip[i] = ((20 + rnd_below(200)) << 24) |
			    (rnd_below(256) << 16) | (rnd_below(256) << 8) |
			    (1 + rnd_below(254));
		d->signs = rnd_below(100) < 80;
		snprintf(d->selector, sizeof(d->selector), "%s%u",
		    rnd_below(2) ? "s" : "mail", 2020 + rnd_below(6));
	}
}

int
main(int argc, char *argv[])
{
	struct zipf	 zdom, zloc, zuser, zsubj;
	struct stmts	 s;
	sqlite3		*db;
	FILE		*log;
	char		 err[256], track[MT_TRACKID_SIZE], conn_uid[MT_TRACKID_SIZE];
	char		 from[128], qid[16], msgid[128], hdr_from[160];
	char		 date[48], subject[160], ip[20], host[96], rcpt[96];
	char		 authres[512], tsys[32], ab[16], hb[12];
	char		 mid_track[MT_TRACKID_SIZE] = "", mid_qid[16] = "";
	char		 mid_msgid[128] = "", any_sender[128] = "";
	const char	*spf_res, *spf_mech, *dkim_res, *dkim_reason;
	unsigned long	 n, i, conn_left = 0, conn_no = 0, n_rcpt_total = 0;
	unsigned long	*sender_count = NULL;
	unsigned	 days, seed, dom = 0, ipidx = 0, k, nr, acc, rej;
	int		 mix = 0, bounced;
	int64_t		 t_try;
	char		 tsys2[32];
	unsigned	 smtpd_pid = 1000, best_dom = 0, best_loc = 0;
	int64_t		 t_begin, t_step, t, t_end, conn_id = 0, msg_id = 0;
	int		 tls = 0, auth = 0, dkim_fail, spf_fail, forged;
	unsigned	 loc, sel;
	unsigned long	 best = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: cli_gen JOURNAL MAILLOG MESSAGES"
		    " [DAYS] [SEED] [delivery]\n");
		return 2;
	}
	n = strtoul(argv[3], NULL, 10);
	days = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 30;
	seed = argc > 5 ? (unsigned)strtoul(argv[5], NULL, 10) : 1;
	mix = argc > 6 && strcmp(argv[6], "delivery") == 0;
	if (n == 0 || days == 0) {
		fprintf(stderr, "cli_gen: bad MESSAGES or DAYS\n");
		return 2;
	}
	rng_state = UINT64_C(0x9e3779b97f4a7c15) ^ ((uint64_t)seed << 17);
	make_domains();
	zipf_init(&zdom, N_DOMAINS, 3.0, 1.05);
	zipf_init(&zloc, N_LOCALS, 1.0, 1.2);
	zipf_init(&zuser, N_USERS, 10.0, 0.9);
	zipf_init(&zsubj, 16, 1.0, 0.5);
	sender_count = calloc((size_t)N_DOMAINS * 16, sizeof(*sender_count));
	if (sender_count == NULL)
		return 1;

	remove(argv[1]);
	if (sqlite3_open(argv[1], &db) != SQLITE_OK)
		die_db(db, "open");
	if (schema_migrate(db, err, sizeof(err)) != 0) {
		fprintf(stderr, "cli_gen: %s\n", err);
		return 1;
	}
	sqlite3_exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
	    " PRAGMA cache_size=-262144", NULL, NULL, NULL);
	if ((log = fopen(argv[2], "w")) == NULL) {
		perror(argv[2]);
		return 1;
	}
	setvbuf(log, NULL, _IOFBF, 1 << 20);

#define PREP(st, sql) \
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) \
		die_db(db, "prepare")
	PREP(s.conn, "INSERT INTO connections (id, conn_uid, connect_time,"
	    " close_time, client_addr, client_port, client_name, client_ptr,"
	    " client_resolve, helo, tls_version, tls_cipher, tls_bits,"
	    " auth_type, auth_authen, mta_host, mta_daemon, mta_version,"
	    " trusted, messages) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
	    " ?10, ?11, ?12, ?13, ?14, ?15, 'mx1.example.net', 'smtpd',"
	    " 'Postfix 3.7.11', 0, ?16)");
	PREP(s.msg, "INSERT INTO messages (id, track_id, conn_id, start_time,"
	    " end_time, stage, outcome, mail_from, mail_args, queue_id,"
	    " message_id, hdr_from, hdr_date, subject, header_bytes,"
	    " body_bytes, size, n_headers, rcpt_accepted, rcpt_rejected,"
	    " rcpt_dropped, edits_dropped, truncations, spf_result,"
	    " dkim_result, authres) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
	    " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, 0, 0,"
	    " 0, ?21, ?22, ?23)");
	PREP(s.rcpt, "INSERT INTO recipients (message, seq, time, address,"
	    " args, status, reply_code, enhanced_code, reply_text) VALUES"
	    " (?1, ?2, ?3, ?4, NULL, ?5, NULL, ?6, ?7)");
	PREP(s.edit, "INSERT INTO header_edits (message, action, name, value,"
	    " idx, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	PREP(s.spf, "INSERT INTO spf_results (message, identity, domain,"
	    " result, mechanism, explanation, skip_reason, elapsed_us, time)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8)");
	PREP(s.dkim, "INSERT INTO dkim_signatures (message, seq, domain,"
	    " selector, algorithm, identity, key_bits, result, reason,"
	    " header_b, time) VALUES (?1, ?2, ?3, ?4, 'rsa-sha256', NULL,"
	    " ?5, ?6, ?7, ?8, ?9)");

	t_begin = ((int64_t)time(NULL) - (int64_t)days * 86400) * 1000000;
	t_step = (int64_t)days * 86400 * 1000000 / (int64_t)n;
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (i = 0; i < n; i++) {
		t = t_begin + (int64_t)i * t_step +
		    (int64_t)rnd_below((unsigned)(t_step / 2 + 1));
		syslog_time(t, tsys, sizeof(tsys));
		if (conn_left == 0) {
			/* A new connection: one to three messages. */
			k = rnd_below(100);
			conn_left = k < 80 ? 1 : k < 92 ? 2 : 3;
			dom = zipf_pick(&zdom);
			ipidx = rnd_below(domains[dom].n_ip);
			ip_text(domains[dom].ip[ipidx], ip, sizeof(ip));
			if (rnd_below(100) < 10)
				snprintf(host, sizeof(host), "unknown");
			else
				snprintf(host, sizeof(host), "mail%u.%s",
				    ipidx + 1, domains[dom].name);
			tls = rnd_below(100) < 80;
			auth = rnd_below(100) < 2;
			trackid_new_at(conn_uid, t - 200000);
			conn_id = (int64_t)++conn_no;
			smtpd_pid = 1000 + rnd_below(30000);
			sqlite3_bind_int64(s.conn, 1, conn_id);
			bind_s(s.conn, 2, conn_uid);
			sqlite3_bind_int64(s.conn, 3, t - 200000);
			sqlite3_bind_int64(s.conn, 4, t + (int64_t)conn_left *
			    900000);
			bind_s(s.conn, 5, ip);
			sqlite3_bind_int(s.conn, 6, 1024 + (int)rnd_below(60000));
			bind_s(s.conn, 7, host);
			bind_s(s.conn, 8, strcmp(host, "unknown") == 0 ? NULL :
			    host);
			bind_s(s.conn, 9, strcmp(host, "unknown") == 0 ? "FAIL" :
			    "OK");
			snprintf(hdr_from, sizeof(hdr_from), "mail%u.%s",
			    ipidx + 1, domains[dom].name);
			bind_s(s.conn, 10, hdr_from);
			if (tls) {
				bind_s(s.conn, 11, rnd_below(4) ? "TLSv1.3" :
				    "TLSv1.2");
				bind_s(s.conn, 12, "TLS_AES_256_GCM_SHA384");
				sqlite3_bind_int(s.conn, 13, 256);
			}
			if (auth) {
				bind_s(s.conn, 14, "PLAIN");
				snprintf(rcpt, sizeof(rcpt), "user%u",
				    rnd_below(500));
				bind_s(s.conn, 15, rcpt);
			}
			sqlite3_bind_int64(s.conn, 16, (int64_t)conn_left);
			step(db, s.conn, "insert connection");
			fprintf(log, "%s mx1 postfix/smtpd[%u]: connect from"
			    " %s[%s]\n", tsys, smtpd_pid, host, ip);
		}
		conn_left--;

		/* The sender. */
		loc = zipf_pick(&zloc);
		if (loc < 10)
			snprintf(from, sizeof(from), "%s@%s", locals[loc],
			    domains[dom].name);
		else if (loc < 130)
			snprintf(from, sizeof(from), "%s.%s@%s",
			    first[loc % 12], last[(loc / 12) % 10],
			    domains[dom].name);
		else
			snprintf(from, sizeof(from), "u%u@%s", loc,
			    domains[dom].name);
		if (loc < 16 && ++sender_count[(size_t)dom * 16 + loc] > best) {
			best = sender_count[(size_t)dom * 16 + loc];
			best_dom = dom;
			best_loc = loc;
		}
		if (i == n / 3)
			snprintf(any_sender, sizeof(any_sender), "%s", from);
		trackid_new_at(track, t);
		msg_id = (int64_t)i + 1;

		/* Recipients: about 3, 5% rejected. */
		k = rnd_below(100);
		nr = k < 40 ? 1 : k < 60 ? 2 : k < 72 ? 3 : k < 80 ? 4 :
		    k < 87 ? 5 : k < 92 ? 6 : k < 96 ? 8 : 12;
		acc = rej = 0;
		snprintf(qid, sizeof(qid), "%05X%05X",
		    (unsigned)((t / 1) & 0xfffff), rnd_below(0xfffff));
		for (k = 0; k < nr; k++) {
			unsigned u = zipf_pick(&zuser);
			unsigned r = rnd_below(1000);
			const char *st = "accepted", *enh = NULL, *text = NULL;
			const char *code = NULL;

			snprintf(rcpt, sizeof(rcpt), "%s.%s%u@%s",
			    first[u % 12], last[(u / 12) % 10], u,
			    local_domains[u % 5]);
			if (r < 50) {
				st = "rejected";
				if (r < 30) {
					code = "550";
					enh = "5.1.1";
					text = "Recipient address rejected:"
					    " User unknown in virtual mailbox"
					    " table";
				} else if (r < 40) {
					code = "450";
					enh = "4.2.0";
					text = "Recipient address rejected:"
					    " Greylisted, see"
					    " https://postgrey.example/help";
				} else if (r < 45) {
					code = "554";
					enh = "5.7.1";
					text = "Relay access denied";
				} else {
					code = "450";
					enh = "4.1.8";
					text = "Sender address rejected: Domain"
					    " not found";
				}
				rej++;
				fprintf(log, "%s mx1 postfix/smtpd[%u]: NOQUEUE:"
				    " reject: RCPT from %s[%s]: %s %s <%s>: %s;"
				    " from=<%s> to=<%s> proto=ESMTP helo=<%s>\n",
				    tsys, smtpd_pid, host, ip, code, enh, rcpt,
				    text, from, rcpt, hdr_from);
			} else
				acc++;
			sqlite3_bind_int64(s.rcpt, 1, msg_id);
			sqlite3_bind_int(s.rcpt, 2, (int)k + 1);
			sqlite3_bind_int64(s.rcpt, 3, t + (int64_t)k * 20000);
			bind_s(s.rcpt, 4, rcpt);
			bind_s(s.rcpt, 5, st);
			bind_s(s.rcpt, 6, enh);
			bind_s(s.rcpt, 7, text);
			step(db, s.rcpt, "insert recipient");
			n_rcpt_total++;
		}

		/* SPF: 10% of messages fail the MAIL FROM check. */
		k = rnd_below(1000);
		spf_fail = k < 100;
		spf_res = k < 40 ? "fail" : k < 80 ? "softfail" : k < 90 ?
		    "permerror" : k < 100 ? "temperror" : k < 850 ? "pass" :
		    k < 950 ? "none" : "neutral";
		spf_mech = strcmp(spf_res, "pass") == 0 ? "ip4" :
		    strcmp(spf_res, "fail") == 0 ? "-all" :
		    strcmp(spf_res, "softfail") == 0 ? "~all" :
		    strcmp(spf_res, "neutral") == 0 ? "?all" : NULL;
		/* DKIM: 75% signed; 10% of messages carry a failing one. */
		k = rnd_below(1000);
		dkim_fail = k < 100;
		dkim_res = dkim_fail ? "fail" : k < 750 ? "pass" : "none";
		dkim_reason = NULL;
		if (dkim_fail) {
			unsigned r = rnd_below(100);

			dkim_reason = r < 50 ? "body hash did not verify" :
			    r < 75 ? "signature did not verify" : r < 90 ?
			    "key not found" : "key query timed out";
			if (r >= 75)
				dkim_res = r < 90 ? "permerror" : "temperror";
		}
		forged = rnd_below(1000) < 2;
		fprintf(log, "%s mx1 policyd-spf[%u]: prepend Received-SPF:"
		    " %c%s (mailfrom) identity=mailfrom; client-ip=%s;"
		    " helo=%s; envelope-from=%s; receiver=<UNKNOWN>\n", tsys,
		    2000 + smtpd_pid % 97, spf_res[0] - 32, spf_res + 1, ip,
		    hdr_from, from);

		if (acc == 0) {
			/* Every recipient refused: no DATA, no queue ID. */
			t_end = t + (int64_t)nr * 20000 + 5000;
			sqlite3_bind_int64(s.msg, 1, msg_id);
			bind_s(s.msg, 2, track);
			sqlite3_bind_int64(s.msg, 3, conn_id);
			sqlite3_bind_int64(s.msg, 4, t);
			sqlite3_bind_int64(s.msg, 5, t_end);
			bind_s(s.msg, 6, "rcpt");
			bind_s(s.msg, 7, "aborted");
			bind_s(s.msg, 8, from);
			sqlite3_bind_int(s.msg, 19, 0);
			sqlite3_bind_int(s.msg, 20, (int)rej);
			bind_s(s.msg, 21, spf_res);
			step(db, s.msg, "insert message");
		} else {
			unsigned hbytes = 1200 + rnd_below(2800);
			unsigned bbytes = (unsigned)(2000 *
			    exp(rnd_unit() * 4.5));

			t_end = t + 150000 + (int64_t)rnd_below(3000000);
			snprintf(msgid, sizeof(msgid), "<%" PRId64 ".%08X%04X@%s>",
			    t / 1000000, (unsigned)rnd(), rnd_below(0xffff),
			    rnd_below(3) ? domains[dom].name : "mail.gmail.com");
			if (loc < 10)
				snprintf(hdr_from, sizeof(hdr_from), "\"%s%s\""
				    " <%s>", words[dom % 32], " Team", from);
			else
				snprintf(hdr_from, sizeof(hdr_from), "\"%s %s\""
				    " <%s>", first[loc % 12],
				    last[(loc / 12) % 10], from);
			rfc5322_date(t - 2000000, date, sizeof(date));
			sel = zipf_pick(&zsubj);
			snprintf(subject, sizeof(subject), "%s %s %u%s",
			    subj[sel], words[rnd_below(32)], rnd_below(100000),
			    rnd_below(4) == 0 ? " - please review before"
			    " Friday" : "");
			snprintf(ab, sizeof(ab), "%08X", (unsigned)rnd());
			snprintf(authres, sizeof(authres), "mx1.example.net;"
			    " spf=%s smtp.mailfrom=%s%s%s%s%s%s", spf_res,
			    from, strcmp(dkim_res, "none") == 0 ? "" :
			    "; dkim=", strcmp(dkim_res, "none") == 0 ? "" :
			    dkim_res, strcmp(dkim_res, "none") == 0 ? "" :
			    " header.d=", strcmp(dkim_res, "none") == 0 ? "" :
			    domains[dom].name, strcmp(dkim_res, "none") == 0 ?
			    "" : " header.b=");
			if (strcmp(dkim_res, "none") != 0) {
				snprintf(hb, sizeof(hb), "%.8s", ab);
				strncat(authres, hb, sizeof(authres) -
				    strlen(authres) - 1);
			}
			sqlite3_bind_int64(s.msg, 1, msg_id);
			bind_s(s.msg, 2, track);
			sqlite3_bind_int64(s.msg, 3, conn_id);
			sqlite3_bind_int64(s.msg, 4, t);
			sqlite3_bind_int64(s.msg, 5, t_end);
			bind_s(s.msg, 6, "eom");
			bind_s(s.msg, 7, "accepted");
			bind_s(s.msg, 8, from);
			snprintf(rcpt, sizeof(rcpt), "SIZE=%u BODY=8BITMIME",
			    hbytes + bbytes);
			bind_s(s.msg, 9, rnd_below(2) ? rcpt : NULL);
			bind_s(s.msg, 10, qid);
			bind_s(s.msg, 11, msgid);
			bind_s(s.msg, 12, hdr_from);
			bind_s(s.msg, 13, date);
			bind_s(s.msg, 14, subject);
			sqlite3_bind_int(s.msg, 15, (int)hbytes);
			sqlite3_bind_int(s.msg, 16, (int)bbytes);
			sqlite3_bind_int(s.msg, 17, (int)(hbytes + bbytes));
			sqlite3_bind_int(s.msg, 18, 12 + (int)rnd_below(20));
			sqlite3_bind_int(s.msg, 19, (int)acc);
			sqlite3_bind_int(s.msg, 20, (int)rej);
			bind_s(s.msg, 21, spf_res);
			bind_s(s.msg, 22, dkim_res);
			bind_s(s.msg, 23, authres);
			step(db, s.msg, "insert message");

			/* A rare forgery removed (our own headers are the
			 * message row's track_id and authres). */
			if (forged) {
				sqlite3_bind_int64(s.edit, 1, msg_id);
				bind_s(s.edit, 2, "removed");
				bind_s(s.edit, 3, rnd_below(2) ?
				    "X-Mailtrail-ID" : "Authentication-Results");
				bind_s(s.edit, 4, "mx1.example.net; spf=pass"
				    " smtp.mailfrom=ceo@example.com");
				sqlite3_bind_int(s.edit, 5, 1);
				bind_s(s.edit, 6, "forged header from an"
				    " untrusted client");
				step(db, s.edit, "insert edit");
			}

			/* DKIM signatures. */
			if (strcmp(dkim_res, "none") != 0) {
				/* A second (passing) signature would make the
				 * message's summary pass: only on good ones. */
				unsigned nsig = !dkim_fail &&
				    rnd_below(100) < 15 ? 2 : 1;

				for (k = 0; k < nsig; k++) {
					int bad = k == 0 && dkim_fail;

					sqlite3_bind_int64(s.dkim, 1, msg_id);
					sqlite3_bind_int(s.dkim, 2, (int)k + 1);
					bind_s(s.dkim, 3, k == 0 ?
					    domains[dom].name : "esp-mailer.example");
					bind_s(s.dkim, 4, domains[dom].selector);
					sqlite3_bind_int(s.dkim, 5,
					    rnd_below(5) ? 2048 : 1024);
					bind_s(s.dkim, 6, bad ? dkim_res : "pass");
					bind_s(s.dkim, 7, bad ? dkim_reason : NULL);
					bind_s(s.dkim, 8, ab);
					sqlite3_bind_int64(s.dkim, 9, t_end - 1000);
					step(db, s.dkim, "insert dkim");
				}
			}
			fprintf(log, "%s mx1 postfix/smtpd[%u]: %s: client="
			    "%s[%s]\n", tsys, smtpd_pid, qid, host, ip);
			fprintf(log, "%s mx1 postfix/cleanup[%u]: %s:"
			    " message-id=%s\n", tsys, 3000 + smtpd_pid % 89,
			    qid, msgid);
			fprintf(log, "%s mx1 opendkim[812]: %s: %s\n", tsys, qid,
			    strcmp(dkim_res, "none") == 0 ? "no signature data" :
			    strcmp(dkim_res, "pass") == 0 ?
			    "DKIM verification successful" :
			    dkim_reason != NULL ? dkim_reason : "bad signature");
			fprintf(log, "%s mx1 postfix/qmgr[901]: %s: from=<%s>,"
			    " size=%u, nrcpt=%u (queue active)\n", tsys, qid,
			    from, hbytes + bbytes, acc);
			syslog_time(t_end + 400000, tsys, sizeof(tsys));
			fprintf(log, "%s mx1 postfix/smtpd[%u]: disconnect from"
			    " %s[%s] ehlo=%d%s mail=1 rcpt=%u/%u data=1 quit=1"
			    " commands=%u\n", tsys, smtpd_pid, host, ip,
			    tls ? 2 : 1, tls ? " starttls=1" : "", acc, nr,
			    5 + nr + (tls ? 2 : 0));
			bounced = 0;
			for (k = 0; mix && k < acc; k++) {
				unsigned r = rnd_below(100);

				if (r < 88) {
					fprintf(log, "%s mx1 postfix/lmtp[%u]:"
					    " %s: to=<rcpt%u@%s>, relay="
					    "mailstore.example.net[10.1.0.5]:24,"
					    " delay=0.%u, delays=0.1/0/0.01/0.2,"
					    " dsn=2.0.0, status=sent (250 2.0.0"
					    " <rcpt%u@%s> %08X Saved)\n", tsys,
					    4000 + smtpd_pid % 53, qid, k,
					    local_domains[k % 5],
					    2 + rnd_below(8), k,
					    local_domains[k % 5],
					    (unsigned)rnd());
					continue;
				}
				if (r < 96) {
					fprintf(log, "%s mx1 postfix/smtp[%u]:"
					    " %s: to=<rcpt%u@%s>, relay=mx.%s"
					    "[192.0.2.%u]:25, delay=0.9,"
					    " delays=0.1/0/0.6/0.2, dsn=4.7.0,"
					    " status=deferred (host mx.%s"
					    "[192.0.2.%u] said: 450 4.7.0"
					    " Greylisted, try again later (in"
					    " reply to RCPT TO command))\n", tsys,
					    5000 + smtpd_pid % 61, qid, k,
					    domains[(dom + k) % N_DOMAINS].name,
					    domains[(dom + k) % N_DOMAINS].name,
					    1 + k, domains[(dom + k) %
					    N_DOMAINS].name, 1 + k);
					t_try = t_end + 400000 +
					    (int64_t)(1 + rnd_below(2)) * 1000000;
					syslog_time(t_try, tsys2, sizeof(tsys2));
					fprintf(log, "%s mx1 postfix/smtp[%u]:"
					    " %s: to=<rcpt%u@%s>, relay=mx.%s"
					    "[192.0.2.%u]:25, delay=2.1,"
					    " delays=1.2/0/0.6/0.3, dsn=2.0.0,"
					    " status=sent (250 2.0.0 Ok: queued"
					    " as %05X%05X)\n", tsys2,
					    5000 + smtpd_pid % 61, qid, k,
					    domains[(dom + k) % N_DOMAINS].name,
					    domains[(dom + k) % N_DOMAINS].name,
					    1 + k, rnd_below(0xfffff),
					    rnd_below(0xfffff));
					continue;
				}
				bounced++;
				fprintf(log, "%s mx1 postfix/smtp[%u]: %s:"
				    " to=<rcpt%u@%s>, relay=mx.%s[192.0.2.%u]"
				    ":25, delay=0.8, delays=0.1/0/0.5/0.2,"
				    " dsn=5.1.1, status=bounced (host mx.%s"
				    "[192.0.2.%u] said: 550 5.1.1 <rcpt%u@%s>:"
				    " Recipient address rejected: User unknown"
				    " (in reply to RCPT TO command))\n", tsys,
				    5000 + smtpd_pid % 61, qid, k,
				    domains[(dom + k) % N_DOMAINS].name,
				    domains[(dom + k) % N_DOMAINS].name, 1 + k,
				    domains[(dom + k) % N_DOMAINS].name, 1 + k,
				    k, domains[(dom + k) % N_DOMAINS].name);
			}
			if (bounced > 0)
				fprintf(log, "%s mx1 postfix/bounce[%u]: %s:"
				    " sender non-delivery notification:"
				    " %05X%05X\n", tsys, 6000 + smtpd_pid % 7,
				    qid, rnd_below(0xfffff), rnd_below(0xfffff));
			for (k = 0; !mix && k < acc; k++)
				fprintf(log, "%s mx1 postfix/lmtp[%u]: %s:"
				    " to=<rcpt%u@%s>, relay=mailstore.example."
				    "net[10.1.0.5]:24, delay=0.%u, delays=0.1/"
				    "0/0.01/0.2, dsn=2.0.0, status=sent (250"
				    " 2.0.0 <rcpt%u@%s> %08X Saved)\n", tsys,
				    4000 + smtpd_pid % 53, qid, k,
				    local_domains[k % 5], 2 + rnd_below(8), k,
				    local_domains[k % 5], (unsigned)rnd());
			if (mix) {
				/* After the last retry. */
				t_try = t_end + 3400000;
				syslog_time(t_try, tsys, sizeof(tsys));
			}
			fprintf(log, "%s mx1 postfix/qmgr[901]: %s: removed\n",
			    tsys, qid);
			if (i == n / 2) {
				snprintf(mid_track, sizeof(mid_track), "%s",
				    track);
				snprintf(mid_qid, sizeof(mid_qid), "%s", qid);
				snprintf(mid_msgid, sizeof(mid_msgid), "%s",
				    msgid);
			}
		}
		/* If the middle one was refused, take the next accepted. */
		if (mid_track[0] == '\0' && i > n / 2 && acc > 0) {
			snprintf(mid_track, sizeof(mid_track), "%s", track);
			snprintf(mid_qid, sizeof(mid_qid), "%s", qid);
			snprintf(mid_msgid, sizeof(mid_msgid), "%s", msgid);
		}

		/* SPF rows for MAIL FROM and HELO. */
		sqlite3_bind_int64(s.spf, 1, msg_id);
		bind_s(s.spf, 2, "mailfrom");
		bind_s(s.spf, 3, domains[dom].name);
		bind_s(s.spf, 4, spf_res);
		bind_s(s.spf, 5, spf_mech);
		bind_s(s.spf, 6, spf_fail && rnd_below(10) == 0 ?
		    "See https://spf.example/why.html?s=%{S}" : NULL);
		sqlite3_bind_int(s.spf, 7, 800 + (int)rnd_below(40000));
		sqlite3_bind_int64(s.spf, 8, t + 1000);
		step(db, s.spf, "insert spf");
		snprintf(host, sizeof(host), "mail%u.%s", ipidx + 1,
		    domains[dom].name);
		sqlite3_bind_int64(s.spf, 1, msg_id);
		bind_s(s.spf, 2, "helo");
		bind_s(s.spf, 3, host);
		bind_s(s.spf, 4, rnd_below(100) < 70 ? "none" : "pass");
		sqlite3_bind_int(s.spf, 7, 500 + (int)rnd_below(20000));
		sqlite3_bind_int64(s.spf, 8, t + 500);
		step(db, s.spf, "insert spf");

		if ((i + 1) % BATCH == 0) {
			sqlite3_exec(db, "COMMIT; BEGIN", NULL, NULL, NULL);
			if ((i + 1) % (BATCH * 10) == 0)
				fprintf(stderr, "  %lu messages\r", i + 1);
		}
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		die_db(db, "commit");
	sqlite3_finalize(s.conn);
	sqlite3_finalize(s.msg);
	sqlite3_finalize(s.rcpt);
	sqlite3_finalize(s.edit);
	sqlite3_finalize(s.spf);
	sqlite3_finalize(s.dkim);
	sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	sqlite3_close(db);
	if (fclose(log) != 0) {
		perror(argv[2]);
		return 1;
	}
	if (best_loc < 10)
		snprintf(from, sizeof(from), "%s@%s", locals[best_loc],
		    domains[best_dom].name);
	else
		snprintf(from, sizeof(from), "%s.%s@%s", first[best_loc % 12],
		    last[(best_loc / 12) % 10], domains[best_dom].name);
	printf("sample track %s\n", mid_track);
	printf("sample queue %s\n", mid_qid);
	printf("sample msgid %s\n", mid_msgid);
	printf("sample busiest_sender %s %lu\n", from, best);
	printf("sample sender %s\n", any_sender);
	printf("sample recipients %lu\n", n_rcpt_total);
	return 0;
}
