/*
 * test_dkimv.c - DKIM verification.
 *
 * Three parts:
 *   - messages signed at test time by the real signer (the opendkim binary,
 *     through tests/lib/dkimsign.sh) with RSA-2048/1024/512 and ed25519 keys
 *     made by openssl, the public keys served by a table resolver: pass,
 *     tampered body and header, missing, revoked, wrong and broken keys, DNS
 *     timeout and SERVFAIL, RFC 8301 policy, several signatures, the
 *     max_signatures bound, the leading-space contract (with an exact-bytes
 *     signer made of openssl alone), chunking, threads, and a timing of a
 *     4 KB message.  Skipped (with a message) when opendkim or openssl is
 *     not installed; MT_SLOW=1 makes the loops short (for valgrind).
 *   - error paths and call order without a signer.
 *   - the DKIM corpus (../shared/corpus/dkim, or $MT_CORPUS/dkim): every
 *     signature of every message, fed as a milter feeds them, printed as
 *     "expected vs got" rows (TAP comments) with totals.  Differences that
 *     RFC 8301 and RFC 6376 explain are listed in known[] (and in
 *     docs/dkim-vectors.md); any other difference fails, and so does a
 *     listed one that no longer happens.
 */
#include <sys/types.h>

#include <arpa/nameser.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "corpus.h"
#include "mailtrail/clock.h"
#include "mailtrail/dkimv.h"
#include "mailtrail/log.h"
#include "mailtrail/resolver.h"

#define TIMEOUT_MS	400	/* key lookups of one message, in these tests */
#define MAXSIGS		8

/* ------------------------------------------------------------ helpers */

struct buf {
	char	*data;
	size_t	 len;
};

static int
read_file(const char *path, struct buf *b)
{
	FILE	*f;
	long	 n;

	b->data = NULL;
	b->len = 0;
	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 ||
	    (b->data = malloc((size_t)n + 1)) == NULL ||
	    fread(b->data, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(b->data);
		b->data = NULL;
		return -1;
	}
	fclose(f);
	b->data[n] = '\0';
	b->len = (size_t)n;
	return 0;
}

static int
write_file(const char *path, const char *data, size_t len)
{
	FILE	*f;
	int	 rc = 0;

	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	if (fwrite(data, 1, len, f) != len)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* A copy with every bare LF made CRLF, as an MTA hands a message on. */
static struct buf
to_crlf(const char *p, size_t len)
{
	struct buf	 b;
	size_t		 i;

	b.data = malloc(2 * len + 1);
	assert_non_null(b.data);
	b.len = 0;
	for (i = 0; i < len; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			b.data[b.len++] = '\r';
		b.data[b.len++] = p[i];
	}
	b.data[b.len] = '\0';
	return b;
}

/* How header values reach dkimv_msg_header(). */
enum hdr_mode {
	HDR_LEADSPC,		/* exact bytes after the colon, "\n" folds */
	HDR_LEADSPC_CRLF,	/* the same with "\r\n" folds */
	HDR_NO_LEADSPC,		/* MTA ate one space, glue put one back */
	HDR_STRIPPED		/* MTA ate one space, passed on as it came */
};

struct hdr {
	char	*name;
	char	*value;
};

/*
 * Split a CRLF message as a milter sees it: header fields (name without
 * the white space before the colon, value from after the colon with folds
 * joined by "\n") and the body after the empty line.  A line that is
 * neither a field nor a continuation starts the body (as in Postfix).
 */
static size_t
split_message(const char *p, size_t len, enum hdr_mode mode, struct hdr **out,
    const char **body, size_t *bodylen)
{
	struct hdr	*h = NULL;
	size_t		 n = 0, cap = 0, pos = 0;

	*body = p + len;
	*bodylen = 0;
	while (pos < len) {
		const char	*line = p + pos, *eol, *colon;
		size_t		 ll, next;

		eol = memchr(line, '\n', len - pos);
		if (eol == NULL) {
			ll = len - pos;
			next = len;
		} else {
			ll = (size_t)(eol - line);
			next = pos + ll + 1;
			if (ll > 0 && line[ll - 1] == '\r')
				ll--;
		}
		if (ll == 0) {
			*body = p + next;
			*bodylen = len - next;
			break;
		}
		if ((line[0] == ' ' || line[0] == '\t') && n > 0) {
			struct hdr	*c = &h[n - 1];
			size_t		 vl = strlen(c->value);
			const char	*sep = mode == HDR_LEADSPC_CRLF ?
			    "\r\n" : "\n";

			c->value = realloc(c->value, vl + strlen(sep) + ll + 1);
			assert_non_null(c->value);
			memcpy(c->value + vl, sep, strlen(sep));
			memcpy(c->value + vl + strlen(sep), line, ll);
			c->value[vl + strlen(sep) + ll] = '\0';
			pos = next;
			continue;
		}
		colon = memchr(line, ':', ll);
		if (colon == NULL) {
			*body = line;
			*bodylen = len - pos;
			break;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			h = realloc(h, cap * sizeof(*h));
			assert_non_null(h);
		}
		{
			size_t	 nl = (size_t)(colon - line);
			size_t	 vo = nl + 1, vl;

			while (nl > 0 && (line[nl - 1] == ' ' ||
			    line[nl - 1] == '\t'))
				nl--;
			if ((mode == HDR_NO_LEADSPC ||
			    mode == HDR_STRIPPED) && vo < ll &&
			    line[vo] == ' ')
				vo++;
			vl = ll - vo;
			h[n].name = strndup(line, nl);
			h[n].value = malloc(vl + 2);
			assert_non_null(h[n].name);
			assert_non_null(h[n].value);
			if (mode == HDR_NO_LEADSPC) {
				h[n].value[0] = ' ';
				memcpy(h[n].value + 1, line + vo, vl);
				h[n].value[vl + 1] = '\0';
			} else {
				memcpy(h[n].value, line + vo, vl);
				h[n].value[vl] = '\0';
			}
			n++;
		}
		pos = next;
	}
	*out = h;
	return n;
}

static void
free_headers(struct hdr *h, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

/*
 * Verify raw message bytes (any line ends) as the milter glue would:
 * headers, end of headers, body in chunks of chunk bytes, end.
 */
static int
verify_raw(struct mt_dkimv *d, const char *raw, size_t rawlen,
    enum hdr_mode mode, size_t chunk, struct mt_dkim_sig *sigs, size_t max,
    size_t *nsigs)
{
	struct mt_dkimv_msg	*m;
	struct hdr		*h;
	struct buf		 crlf;
	const char		*body;
	size_t			 nh, bodylen, i, c;
	int			 rc;

	crlf = to_crlf(raw, rawlen);
	nh = split_message(crlf.data, crlf.len, mode, &h, &body, &bodylen);
	m = dkimv_msg_new(d, "TEST");
	assert_non_null(m);
	for (i = 0; i < nh; i++)
		(void)dkimv_msg_header(m, h[i].name, h[i].value);
	(void)dkimv_msg_eoh(m);
	for (i = 0; i < bodylen; i += c) {
		c = bodylen - i < chunk ? bodylen - i : chunk;
		(void)dkimv_msg_body(m, (const unsigned char *)body + i, c);
	}
	rc = dkimv_msg_end(m, sigs, max, nsigs);
	dkimv_msg_free(m);
	free_headers(h, nh);
	free(crlf.data);
	return rc;
}

static struct mt_dkimv *
verifier(struct mt_resolver *r, size_t max_sigs)
{
	struct mt_dkimv_opts	 o = { max_sigs, 1024, TIMEOUT_MS };
	struct mt_dkimv		*d;
	char			 err[256];

	d = dkimv_new(&o, r, err, sizeof(err));
	if (d == NULL)
		fail_msg("dkimv_new: %s", err);
	return d;
}

/* ------------------------------------------------------------ the signer */

struct fixture {
	int			 ready;		/* keys made, messages signed */
	int			 broken;	/* tools there, but it failed */
	char			 dir[256];
	char			 script[1024];
	struct mt_resolver	*r;
};

static struct fixture fx;

static const char *
script_path(void)
{
	const char	*top = getenv("top_srcdir");
	static char	 p[1024];
	const char	*tail = "/tests/unit/test_dkimv.c";
	size_t		 fl = strlen(__FILE__), tl = strlen(tail);

	if (top != NULL)
		snprintf(p, sizeof(p), "%s/tests/lib/dkimsign.sh", top);
	else if (fl > tl && strcmp(__FILE__ + fl - tl, tail) == 0)
		snprintf(p, sizeof(p), "%.*s/tests/lib/dkimsign.sh",
		    (int)(fl - tl), __FILE__);
	else
		snprintf(p, sizeof(p), "tests/lib/dkimsign.sh");
	return p;
}

static int
run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	char	 cmd[4096];
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		printf("# command failed (%d): %s\n", rc, cmd);
	return rc;
}

static int
add_key(const char *selector, const char *keyname)
{
	char		 path[512], name[256];
	struct buf	 b;
	int		 rc;

	snprintf(path, sizeof(path), "%s/%s.pem.txt", fx.dir, keyname);
	if (read_file(path, &b) != 0)
		return -1;
	while (b.len > 0 && (b.data[b.len - 1] == '\n' ||
	    b.data[b.len - 1] == '\r'))
		b.data[--b.len] = '\0';
	snprintf(name, sizeof(name), "%s._domainkey.example.com", selector);
	rc = resolver_table_add(fx.r, name, ns_t_txt, b.data);
	free(b.data);
	return rc;
}

/* A key record for selector: tags, then rsa2048's "p=...". */
static int
add_key_record(const char *selector, const char *tags)
{
	char		 path[512], name[256], rec[2048];
	const char	*pv;
	struct buf	 b;
	int		 rc;

	snprintf(path, sizeof(path), "%s/rsa2048.pem.txt", fx.dir);
	if (read_file(path, &b) != 0 || (pv = strstr(b.data, "p=")) == NULL)
		return -1;
	b.data[strcspn(b.data, "\r\n")] = '\0';
	snprintf(rec, sizeof(rec), "%s%s", tags, pv);
	snprintf(name, sizeof(name), "%s._domainkey.example.com", selector);
	rc = resolver_table_add(fx.r, name, ns_t_txt, rec);
	free(b.data);
	return rc;
}

/* sign KEY SELECTOR IN OUT [CANON] [ALG] inside the fixture's directory */
static int
sign(const char *key, const char *selector, const char *in, const char *out,
    const char *canon, const char *alg)
{
	return run("sh '%s' sign '%s/%s.pem' example.com '%s' '%s/%s' "
	    "'%s/%s' '%s' '%s'", fx.script, fx.dir, key, selector, fx.dir, in,
	    fx.dir, out, canon ? canon : "simple/simple", alg ? alg : "");
}

/* The independent exact-bytes signer (simple/simple, rsa-sha256). */
static int
sign_exact(const char *key, const char *selector, const char *in,
    const char *out)
{
	return run("sh '%s' sign-exact '%s/%s.pem' example.com '%s' '%s/%s' "
	    "'%s/%s'", fx.script, fx.dir, key, selector, fx.dir, in, fx.dir,
	    out);
}

static const char *const base_headers =
    "From: Alice Example <alice@example.com>\r\n"
    "To: Bob <bob@example.net>\r\n"
    "Subject: quarterly figures\r\n"
    "Date: Mon, 2 Dec 2024 10:00:00 +0000\r\n"
    "Message-ID: <figures-1@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n";

/* The base message: about 4 KB (headers and a 3.8 KB body). */
static void
make_base(const char *file, const char *headers, size_t lines)
{
	char	 path[512], *msg;
	size_t	 len, i;

	msg = malloc(8192);
	assert_non_null(msg);
	len = (size_t)snprintf(msg, 8192, "%s", headers);
	for (i = 0; i < lines; i++)
		len += (size_t)snprintf(msg + len, 8192 - len,
		    "Line %02zu of the figures: the quick brown fox jumps "
		    "over the dog.\r\n", i);
	snprintf(path, sizeof(path), "%s/%s", fx.dir, file);
	assert_int_equal(write_file(path, msg, len), 0);
	free(msg);
}

static int
fixture_setup(void **state)
{
	const char	*tmp = getenv("TMPDIR");
	static const char *const keys[] = { "rsa2048", "rsa1024", "rsa512",
	    "ed25519" };
	size_t		 i;

	(void)state;
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.script, sizeof(fx.script), "%s", script_path());
	if ((fx.r = resolver_new_table()) == NULL)
		return -1;
	if (system("command -v opendkim >/dev/null 2>&1 && "
	    "command -v openssl >/dev/null 2>&1") != 0) {
		printf("# opendkim or openssl not installed: signer cases "
		    "skipped\n");
		return 0;
	}
	if (access(fx.script, R_OK) != 0) {
		printf("# %s not found: signer cases skipped\n", fx.script);
		return 0;
	}
	fx.broken = 1;		/* until the end of this function */
	snprintf(fx.dir, sizeof(fx.dir), "%s/test_dkimv.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(fx.dir) == NULL) {
		printf("# mkdtemp %s: %s\n", fx.dir, strerror(errno));
		fx.dir[0] = '\0';
		return 0;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (run("sh '%s' genkey %s '%s/%s.pem'", fx.script, keys[i],
		    fx.dir, keys[i]) != 0)
			return 0;

	/* The key table: selectors under example.com. */
	if (add_key("s2048", "rsa2048") != 0 ||
	    add_key("s1024", "rsa1024") != 0 ||
	    add_key("s512", "rsa512") != 0 ||
	    add_key("sed", "ed25519") != 0 ||
	    add_key("wrongkey", "rsa1024") != 0 ||
	    resolver_table_add(fx.r, "revoked._domainkey.example.com",
	    ns_t_txt, "v=DKIM1; k=rsa; p=") != 0 ||
	    resolver_table_add(fx.r, "slow._domainkey.example.com",
	    ns_t_txt, "TIMEOUT") != 0 ||
	    resolver_table_add(fx.r, "slow2._domainkey.example.com",
	    ns_t_txt, "TIMEOUT") != 0 ||
	    resolver_table_add(fx.r, "broken._domainkey.example.com",
	    ns_t_txt, "SERVFAIL") != 0 ||
	    resolver_table_add(fx.r, "badkey._domainkey.example.com",
	    ns_t_txt, "v=DKIM1; k=rsa; p=AAAA") != 0 ||
	    resolver_table_add(fx.r, "nodata._domainkey.example.com",
	    ns_t_a, "192.0.2.1") != 0 ||
	    resolver_table_add(fx.r, "notdkim._domainkey.example.com",
	    ns_t_txt, "v=spf1 -all") != 0 ||
	    resolver_table_add_txt(fx.r, "emptytxt._domainkey.example.com",
	    (const char *const[]){ "" }, 1) != 0 ||
	    add_key_record("ktype", "v=DKIM1; k=foobar; ") != 0 ||
	    add_key_record("kservice", "v=DKIM1; s=chat; ") != 0 ||
	    add_key_record("khash", "v=DKIM1; h=sha1; ") != 0 ||
	    add_key_record("kunkhash", "v=DKIM1; h=md5; ") != 0 ||
	    add_key_record("kgran", "v=DKIM1; g=nobody; ") != 0 ||
	    add_key_record("ktesting", "v=DKIM1; t=y; n=notes; x9=new; ") !=
	    0 ||
	    add_key_record("kmulti", "v=DKIM1; ") != 0 ||
	    add_key_record("kmulti", "v=DKIM1; ") != 0) {
		printf("# the key table could not be filled\n");
		return 0;
	}

	make_base("base.eml", base_headers, 56);
	make_base("empty.eml", base_headers, 0);
	make_base("nospace.eml",
	    "From: Alice Example <alice@example.com>\r\n"
	    "To:\tBob <bob@example.net>\r\n"
	    "Subject:no space after the colon\r\n"
	    "Date:  Mon, 2 Dec 2024 10:00:00 +0000\r\n"
	    "\r\n", 56);
	fx.ready = 1;
	fx.broken = 0;
	return 0;
}

static int
fixture_teardown(void **state)
{
	(void)state;
	if (fx.dir[0] != '\0' && getenv("MT_KEEP_TMP") == NULL)
		(void)run("rm -rf '%s'", fx.dir);
	resolver_free(fx.r);
	return 0;
}

#define NEED_SIGNER() do {						\
	if (fx.broken)							\
		fail_msg("the signer fixture could not be made");	\
	if (!fx.ready) {						\
		printf("# signer not available: skipped\n");		\
		skip();							\
	}								\
} while (0)

/* Read a fixture file, apply a tamper, verify it. */
enum tamper { T_NONE, T_BODY, T_SUBJECT };

static int
verify_file(struct mt_dkimv *d, const char *file, enum tamper t,
    enum hdr_mode mode, size_t chunk, struct mt_dkim_sig *sigs, size_t max,
    size_t *nsigs)
{
	char		 path[512], *p;
	struct buf	 b;
	int		 rc;

	snprintf(path, sizeof(path), "%s/%s", fx.dir, file);
	if (read_file(path, &b) != 0)
		fail_msg("cannot read %s", path);
	if (t == T_BODY) {
		p = strstr(b.data, "Line 07");
		assert_non_null(p);
		p[5] = '9';		/* "Line 97": one byte */
	} else if (t == T_SUBJECT) {
		p = strstr(b.data, "quarterly figures");
		assert_non_null(p);
		p[0] = 'Q';
	}
	rc = verify_raw(d, b.data, b.len, mode, chunk, sigs, max, nsigs);
	free(b.data);
	return rc;
}

/* ------------------------------------------------------------ signer cases */

struct sign_case {
	const char		*name;
	const char		*base;		/* NULL: base.eml */
	const char		*key;		/* private key signed with */
	const char		*selector;	/* s= (the key table's) */
	const char		*canon;
	const char		*alg;		/* NULL: the key's default */
	enum tamper		 tamper;
	enum mt_dkim_result	 want;
	const char		*want_reason;
	int			 want_bits;
	const char		*want_alg;
};

#define SS	"simple/simple"
#define RR	"relaxed/relaxed"
#define RS	"relaxed/simple"
#define RSA	"rsa-sha256"
#define ED	"ed25519-sha256"

static const struct sign_case sign_cases[] = {
	{ "rsa2048 simple/simple", NULL,
	  "rsa2048", "s2048", SS, NULL, T_NONE,
	  MT_DKIM_PASS, "", 2048, RSA },
	{ "rsa2048 relaxed/relaxed", NULL,
	  "rsa2048", "s2048", RR, NULL, T_NONE,
	  MT_DKIM_PASS, "", 2048, RSA },
	{ "rsa2048 body byte changed", NULL,
	  "rsa2048", "s2048", SS, NULL, T_BODY,
	  MT_DKIM_FAIL, "body hash mismatch", 2048, RSA },
	{ "rsa2048 relaxed, body byte changed", NULL,
	  "rsa2048", "s2048", RR, NULL, T_BODY,
	  MT_DKIM_FAIL, "body hash mismatch", 2048, RSA },
	{ "rsa2048 signed Subject changed", NULL,
	  "rsa2048", "s2048", SS, NULL, T_SUBJECT,
	  MT_DKIM_FAIL, "bad signature", 2048, RSA },
	{ "rsa1024", NULL,
	  "rsa1024", "s1024", RS, NULL, T_NONE,
	  MT_DKIM_PASS, "", 1024, RSA },
	{ "rsa512: policy (RFC 8301)", NULL,
	  "rsa512", "s512", RR, NULL, T_NONE,
	  MT_DKIM_POLICY, "key too small (512 bits)", 512, RSA },
	{ "rsa512 tampered: fail, not policy", NULL,
	  "rsa512", "s512", RR, NULL, T_SUBJECT,
	  MT_DKIM_FAIL, "bad signature", 512, RSA },
	{ "rsa-sha1: policy (RFC 8301)", NULL,
	  "rsa2048", "s2048", SS, "rsa-sha1", T_NONE,
	  MT_DKIM_POLICY, "rsa-sha1 not accepted (RFC 8301)", 2048,
	  "rsa-sha1" },
	{ "ed25519", NULL,
	  "ed25519", "sed", RR, NULL, T_NONE,
	  MT_DKIM_PASS, "", 256, ED },
	{ "ed25519 body byte changed", NULL,
	  "ed25519", "sed", RR, NULL, T_BODY,
	  MT_DKIM_FAIL, "body hash mismatch", 256, ED },
	{ "ed25519 signed Subject changed", NULL,
	  "ed25519", "sed", RS, NULL, T_SUBJECT,
	  MT_DKIM_FAIL, "bad signature", 256, ED },
	{ "ed25519, unknown selector", NULL,
	  "ed25519", "nosuch", RR, NULL, T_NONE,
	  MT_DKIM_PERMERROR, "key not found", 0, ED },
	{ "unknown selector (NXDOMAIN)", NULL,
	  "rsa2048", "nosuch", SS, NULL, T_NONE,
	  MT_DKIM_PERMERROR, "key not found", 0, RSA },
	{ "selector without TXT (NODATA)", NULL,
	  "rsa2048", "nodata", SS, NULL, T_NONE,
	  MT_DKIM_PERMERROR, "key not found", 0, RSA },
	{ "revoked key (p= empty)", NULL,
	  "rsa2048", "revoked", SS, NULL, T_NONE,
	  MT_DKIM_PERMERROR, "key revoked", 0, RSA },
	{ "another key under the selector", NULL,
	  "rsa2048", "wrongkey", SS, NULL, T_NONE,
	  MT_DKIM_FAIL, "bad signature", 1024, RSA },
	{ "key record with bad key data", NULL,
	  "rsa2048", "badkey", SS, NULL, T_NONE,
	  MT_DKIM_PERMERROR, "key syntax error", 0, RSA },
	{ "empty key record", NULL,
	  "rsa2048", "emptytxt", SS, NULL, T_NONE,
	  MT_DKIM_PERMERROR, "key syntax error", 0, RSA },
	{ "TXT that is not a key", NULL,
	  "rsa2048", "notdkim", SS, NULL, T_NONE,
	  MT_DKIM_PERMERROR, "unsupported key version", 0, RSA },
	{ "key k=foobar", NULL,
	  "rsa2048", "ktype", SS, NULL, T_NONE,
	  MT_DKIM_PERMERROR, "unsupported key type", 0, RSA },
	{ "key s=chat", NULL,
	  "rsa2048", "kservice", SS, NULL, T_NONE,
	  MT_DKIM_PERMERROR, "key not for email", 0, RSA },
	{ "key h=sha1, signature sha256", NULL,
	  "rsa2048", "khash", SS, NULL, T_NONE,
	  MT_DKIM_PERMERROR, "key does not allow the hash", 0, RSA },
	{ "key h=md5", NULL,
	  "rsa2048", "kunkhash", SS, NULL, T_NONE,
	  MT_DKIM_PERMERROR, "unsupported key hash", 0, RSA },
	{ "key g=nobody (RFC 4871 only)", NULL,
	  "rsa2048", "kgran", SS, NULL, T_NONE,
	  MT_DKIM_PASS, "", 2048, RSA },
	{ "key t=y, notes, unknown tag", NULL,
	  "rsa2048", "ktesting", RR, NULL, T_NONE,
	  MT_DKIM_PASS, "", 2048, RSA },
	{ "two key records", NULL,
	  "rsa2048", "kmulti", SS, NULL, T_NONE,
	  MT_DKIM_PERMERROR, "multiple key records", 0, RSA },
	{ "empty body, simple", "empty.eml",
	  "rsa2048", "s2048", SS, NULL, T_NONE,
	  MT_DKIM_PASS, "", 2048, RSA },
	{ "empty body, relaxed", "empty.eml",
	  "rsa2048", "s2048", RR, NULL, T_NONE,
	  MT_DKIM_PASS, "", 2048, RSA },
	{ "empty body, ed25519", "empty.eml",
	  "ed25519", "sed", RR, NULL, T_NONE,
	  MT_DKIM_PASS, "", 256, ED },
	{ "key lookup times out", NULL,
	  "rsa2048", "slow", SS, NULL, T_NONE,
	  MT_DKIM_TEMPERROR, "key lookup timed out", 0, RSA },
	{ "key lookup SERVFAIL", NULL,
	  "rsa2048", "broken", SS, NULL, T_NONE,
	  MT_DKIM_TEMPERROR, "key lookup failed (SERVFAIL)", 0, RSA },
};

static void
test_signed_cases(void **state)
{
	struct mt_dkimv		*d;
	struct mt_dkim_sig	 sigs[MAXSIGS];
	size_t			 i, n;
	int			 rc, bad = 0;
	char			 out[64], path[512];
	struct buf		 b;

	(void)state;
	NEED_SIGNER();
	d = verifier(fx.r, 5);
	for (i = 0; i < sizeof(sign_cases) / sizeof(sign_cases[0]); i++) {
		const struct sign_case *c = &sign_cases[i];
		const char	*bv;

		snprintf(out, sizeof(out), "case%02zu.eml", i);
		if (sign(c->key, c->selector, c->base ? c->base : "base.eml",
		    out, c->canon, c->alg) != 0)
			fail_msg("%s: the signer failed", c->name);
		rc = verify_file(d, out, c->tamper, HDR_LEADSPC, 1000, sigs,
		    MAXSIGS, &n);
		if (rc != 1 || n != 1) {
			printf("# %s: got rc %d, %zu signatures, want 1, 1\n",
			    c->name, rc, n);
			bad++;
			continue;
		}
		printf("# %-36s %s (%s) a=%s bits=%d b=%s\n", c->name,
		    dkimv_result_name(sigs[0].result), sigs[0].reason,
		    sigs[0].algorithm, sigs[0].key_bits, sigs[0].header_b);
		if (sigs[0].result != c->want ||
		    strcmp(sigs[0].reason, c->want_reason) != 0) {
			printf("# %s: got %s \"%s\", want %s \"%s\"\n",
			    c->name, dkimv_result_name(sigs[0].result),
			    sigs[0].reason, dkimv_result_name(c->want),
			    c->want_reason);
			bad++;
		}
		if (sigs[0].key_bits != c->want_bits ||
		    strcmp(sigs[0].algorithm, c->want_alg) != 0) {
			printf("# %s: got %d bits %s, want %d bits %s\n",
			    c->name, sigs[0].key_bits, sigs[0].algorithm,
			    c->want_bits, c->want_alg);
			bad++;
		}
		if (strcmp(sigs[0].domain, "example.com") != 0 ||
		    strcmp(sigs[0].selector, c->selector) != 0 ||
		    strcmp(sigs[0].identity, "@example.com") != 0) {
			printf("# %s: got d=%s s=%s i=%s, want example.com "
			    "%s @example.com\n", c->name, sigs[0].domain,
			    sigs[0].selector, sigs[0].identity, c->selector);
			bad++;
		}
		/* header_b: the first 8 characters of the real b=. */
		snprintf(path, sizeof(path), "%s/%s", fx.dir, out);
		assert_int_equal(read_file(path, &b), 0);
		bv = strstr(b.data, " b=");
		if (bv == NULL)
			bv = strstr(b.data, "\tb=");
		assert_non_null(bv);
		if (strlen(sigs[0].header_b) != 8 ||
		    strncmp(bv + 3, sigs[0].header_b, 8) != 0) {
			printf("# %s: header_b got %s, want %.8s\n", c->name,
			    sigs[0].header_b, bv + 3);
			bad++;
		}
		free(b.data);
	}
	dkimv_free(d);
	if (bad)
		fail_msg("%d signer case check(s) failed", bad);
}

/* One good and one bad signature: both recorded, in header order. */
static void
test_two_signatures(void **state)
{
	struct mt_dkimv		*d;
	struct mt_dkim_sig	 sigs[MAXSIGS];
	struct mt_resolver_counters c0, c1;
	size_t			 n;
	int			 rc;

	(void)state;
	NEED_SIGNER();
	assert_int_equal(sign("rsa2048", "s2048", "base.eml", "one.eml",
	    "relaxed/relaxed", NULL), 0);
	assert_int_equal(sign("rsa2048", "wrongkey", "one.eml", "two.eml",
	    "relaxed/relaxed", NULL), 0);
	d = verifier(fx.r, 5);
	rc = verify_file(d, "two.eml", T_NONE, HDR_LEADSPC, 4096, sigs,
	    MAXSIGS, &n);
	assert_int_equal(rc, 1);
	assert_int_equal(n, 2);
	assert_string_equal(sigs[0].selector, "wrongkey");
	assert_int_equal(sigs[0].result, MT_DKIM_FAIL);
	assert_string_equal(sigs[0].reason, "bad signature");
	assert_string_equal(sigs[1].selector, "s2048");
	assert_int_equal(sigs[1].result, MT_DKIM_PASS);
	dkimv_free(d);

	/* max_signatures 1: the first (top) one only, and one lookup. */
	d = verifier(fx.r, 1);
	resolver_counters(fx.r, &c0);
	rc = verify_file(d, "two.eml", T_NONE, HDR_LEADSPC, 4096, sigs,
	    MAXSIGS, &n);
	resolver_counters(fx.r, &c1);
	assert_int_equal(rc, 1);
	assert_int_equal(n, 1);
	assert_string_equal(sigs[0].selector, "wrongkey");
	if (c1.queries - c0.queries != 1)
		fail_msg("max_signatures 1: got %llu key lookups, want 1",
		    (unsigned long long)(c1.queries - c0.queries));
	dkimv_free(d);

	/* The caller's max bounds the work and the results too. */
	d = verifier(fx.r, 5);
	resolver_counters(fx.r, &c0);
	rc = verify_file(d, "two.eml", T_NONE, HDR_LEADSPC, 4096, sigs, 1,
	    &n);
	resolver_counters(fx.r, &c1);
	assert_int_equal(rc, 1);
	assert_int_equal(n, 1);
	assert_string_equal(sigs[0].selector, "wrongkey");
	if (c1.queries - c0.queries != 1)
		fail_msg("max 1: got %llu key lookups, want 1",
		    (unsigned long long)(c1.queries - c0.queries));
	/* max 0: signed (1), nothing verified, nothing reported. */
	resolver_counters(fx.r, &c0);
	rc = verify_file(d, "two.eml", T_NONE, HDR_LEADSPC, 4096, NULL, 0,
	    &n);
	resolver_counters(fx.r, &c1);
	assert_int_equal(rc, 1);
	assert_int_equal(n, 0);
	assert_int_equal(c1.queries - c0.queries, 0);
	dkimv_free(d);
}

/* Three signatures whose lookups time out share one deadline. */
static void
test_shared_deadline(void **state)
{
	struct mt_dkimv		*d;
	struct mt_dkim_sig	 sigs[MAXSIGS];
	size_t			 n, i;
	int64_t			 t0, ms;

	(void)state;
	NEED_SIGNER();
	assert_int_equal(sign("rsa2048", "slow", "base.eml", "t1.eml",
	    NULL, NULL), 0);
	assert_int_equal(sign("rsa2048", "slow2", "t1.eml", "t2.eml",
	    NULL, NULL), 0);
	assert_int_equal(sign("rsa2048", "s2048", "t2.eml", "t3.eml",
	    NULL, NULL), 0);
	d = verifier(fx.r, 5);
	t0 = mt_mono_us();
	assert_int_equal(verify_file(d, "t3.eml", T_NONE, HDR_LEADSPC, 4096,
	    sigs, MAXSIGS, &n), 1);
	ms = (mt_mono_us() - t0) / 1000;
	printf("# three signatures, two keys timing out: %lld ms "
	    "(timeout %d ms)\n", (long long)ms, TIMEOUT_MS);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++)
		printf("#   %s: %s (%s)\n", sigs[i].selector,
		    dkimv_result_name(sigs[i].result), sigs[i].reason);
	assert_int_equal(sigs[0].result, MT_DKIM_PASS);
	assert_int_equal(sigs[1].result, MT_DKIM_TEMPERROR);
	assert_int_equal(sigs[2].result, MT_DKIM_TEMPERROR);
	/* After the deadline the last key is not even asked for. */
	if (ms > TIMEOUT_MS + TIMEOUT_MS / 2)
		fail_msg("got %lld ms, want about %d (one deadline)",
		    (long long)ms, TIMEOUT_MS);
	dkimv_free(d);
}

/*
 * The leading-space contract (dkimv.h): simple header canonicalization
 * over "Subject:x" or "To:<TAB>x" needs the exact bytes after the colon,
 * which libmilter gives only with SMFIP_HDR_LEADSPC; relaxed does not
 * care.  opendkim cannot make such a signature (it hashes "Name: " and
 * the value without its leading white space, in test mode as in a milter
 * without SMFIP_HDR_LEADSPC): the exact signer does.  Then the signer's
 * own loss: its simple/simple signature of that message does not match the
 * message's bytes.  Last, values fed without the space the MTA ate (and
 * not put back): every simple signature fails, even over "Name: value".
 */
static void
test_leading_space(void **state)
{
	static const struct {
		int			 exact;		/* which signer */
		const char		*file;
		const char		*canon;
		enum hdr_mode		 mode;
		enum mt_dkim_result	 want;
	} cases[] = {
		{ 1, "nospace.eml", SS, HDR_LEADSPC, MT_DKIM_PASS },
		{ 1, "nospace.eml", SS, HDR_LEADSPC_CRLF, MT_DKIM_PASS },
		{ 1, "nospace.eml", SS, HDR_NO_LEADSPC, MT_DKIM_FAIL },
		{ 1, "base.eml", SS, HDR_LEADSPC, MT_DKIM_PASS },
		{ 1, "base.eml", SS, HDR_NO_LEADSPC, MT_DKIM_PASS },
		{ 0, "nospace.eml", RS, HDR_NO_LEADSPC, MT_DKIM_PASS },
		{ 0, "nospace.eml", RS, HDR_LEADSPC, MT_DKIM_PASS },
		{ 0, "nospace.eml", SS, HDR_LEADSPC, MT_DKIM_FAIL },
		{ 0, "base.eml", SS, HDR_STRIPPED, MT_DKIM_FAIL },
		{ 0, "base.eml", RR, HDR_STRIPPED, MT_DKIM_PASS },
	};
	static const char *const mode_name[] = { "LEADSPC, \\n folds",
	    "LEADSPC, \\r\\n folds", "no LEADSPC (space put back)",
	    "no LEADSPC (value as it came)" };
	struct mt_dkimv		*d;
	struct mt_dkim_sig	 sigs[MAXSIGS];
	size_t			 i, n;
	char			 out[64];
	int			 bad = 0;

	(void)state;
	NEED_SIGNER();
	d = verifier(fx.r, 5);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(out, sizeof(out), "lead%zu.eml", i);
		if (cases[i].exact)
			assert_int_equal(sign_exact("rsa2048", "s2048",
			    cases[i].file, out), 0);
		else
			assert_int_equal(sign("rsa2048", "s2048",
			    cases[i].file, out, cases[i].canon, NULL), 0);
		assert_int_equal(verify_file(d, out, T_NONE, cases[i].mode,
		    512, sigs, MAXSIGS, &n), 1);
		assert_int_equal(n, 1);
		printf("# %s signer, %s, %s, %s: %s (%s)\n",
		    cases[i].exact ? "exact" : "opendkim", cases[i].file,
		    cases[i].canon, mode_name[cases[i].mode],
		    dkimv_result_name(sigs[0].result), sigs[0].reason);
		if (sigs[0].result != cases[i].want) {
			printf("# got %s, want %s\n",
			    dkimv_result_name(sigs[0].result),
			    dkimv_result_name(cases[i].want));
			bad++;
		}
	}
	dkimv_free(d);
	if (bad)
		fail_msg("%d leading-space case(s) wrong", bad);
}

/* Body chunk sizes do not change the result. */
static void
test_chunking(void **state)
{
	static const size_t sizes[] = { 1, 2, 7, 64, 1000, 65535 };
	struct mt_dkimv		*d;
	struct mt_dkim_sig	 sigs[MAXSIGS];
	size_t			 i, n;

	(void)state;
	NEED_SIGNER();
	assert_int_equal(sign("rsa2048", "s2048", "base.eml", "chunk.eml",
	    "relaxed/relaxed", NULL), 0);
	d = verifier(fx.r, 5);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(verify_file(d, "chunk.eml", T_NONE,
		    HDR_LEADSPC, sizes[i], sigs, MAXSIGS, &n), 1);
		assert_int_equal(n, 1);
		if (sigs[0].result != MT_DKIM_PASS)
			fail_msg("chunks of %zu: got %s (%s), want pass",
			    sizes[i], dkimv_result_name(sigs[0].result),
			    sigs[0].reason);
	}
	dkimv_free(d);
}

/* Many messages on several threads sharing one verifier and resolver. */
struct thread_arg {
	struct mt_dkimv		*d;
	struct buf		 msg;
	const struct mt_dkim_sig *ref;	/* the single-threaded results */
	int			 rounds;
	int			 wrong;
};

static void *
thread_main(void *p)
{
	struct thread_arg	*a = p;
	struct mt_dkim_sig	 sigs[MAXSIGS];
	size_t			 n;
	int			 i;

	for (i = 0; i < a->rounds; i++)
		if (verify_raw(a->d, a->msg.data, a->msg.len, HDR_LEADSPC,
		    4096, sigs, MAXSIGS, &n) != 1 || n != 3 ||
		    memcmp(sigs, a->ref, 3 * sizeof(sigs[0])) != 0)
			a->wrong++;
	return NULL;
}

static void
test_threads(void **state)
{
	struct thread_arg	 args[4];
	struct mt_dkim_sig	 ref[MAXSIGS];
	pthread_t		 th[4];
	struct mt_dkimv		*d;
	struct buf		 b;
	char			 path[512];
	size_t			 n;
	int			 i, rounds = getenv("MT_SLOW") ? 10 : 50;

	(void)state;
	NEED_SIGNER();
	/* pass (ed25519), permerror (an RSA key for an ed25519 signature),
	 * pass (RSA) */
	assert_int_equal(sign("rsa2048", "s2048", "base.eml", "th1.eml",
	    "relaxed/relaxed", NULL), 0);
	assert_int_equal(sign("ed25519", "wrongkey", "th1.eml", "th2.eml",
	    "relaxed/relaxed", NULL), 0);
	assert_int_equal(sign("ed25519", "sed", "th2.eml", "th3.eml",
	    "relaxed/simple", NULL), 0);
	snprintf(path, sizeof(path), "%s/th3.eml", fx.dir);
	d = verifier(fx.r, 5);
	assert_int_equal(read_file(path, &b), 0);
	memset(ref, 0, sizeof(ref));
	assert_int_equal(verify_raw(d, b.data, b.len, HDR_LEADSPC, 4096, ref,
	    MAXSIGS, &n), 1);
	free(b.data);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++)
		printf("# reference %d: %s %s (%s)\n", i, ref[i].selector,
		    dkimv_result_name(ref[i].result), ref[i].reason);
	assert_int_equal(ref[0].result, MT_DKIM_PASS);
	assert_int_not_equal(ref[1].result, MT_DKIM_PASS);
	assert_int_equal(ref[2].result, MT_DKIM_PASS);
	for (i = 0; i < 4; i++) {
		args[i].d = d;
		args[i].ref = ref;
		args[i].rounds = rounds;
		args[i].wrong = 0;
		assert_int_equal(read_file(path, &args[i].msg), 0);
		assert_int_equal(pthread_create(&th[i], NULL, thread_main,
		    &args[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		free(args[i].msg.data);
		if (args[i].wrong)
			fail_msg("thread %d: %d of %d messages wrong", i,
			    args[i].wrong, rounds);
	}
	dkimv_free(d);
}

static int64_t
cpu_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Time per message: a 4 KB message with one RSA-2048 signature, fed as the
 * glue feeds it (the test's own splitting included).  CPU time is the
 * figure to read; wall time depends on the machine's load.
 */
static void
test_timing(void **state)
{
	static const char *const canons[] = { "simple/simple",
	    "relaxed/relaxed" };
	struct mt_dkimv		*d;
	struct mt_dkim_sig	 sigs[MAXSIGS];
	struct buf		 b, crlf;
	char			 path[512], out[64];
	size_t			 i, n;
	int			 k, rounds = getenv("MT_SLOW") ? 20 : 1000;
	int64_t			 t0, c0, us, cpu;

	(void)state;
	NEED_SIGNER();
	d = verifier(fx.r, 5);
	for (i = 0; i < 2; i++) {
		snprintf(out, sizeof(out), "timing%zu.eml", i);
		assert_int_equal(sign("rsa2048", "s2048", "base.eml", out,
		    canons[i], NULL), 0);
		snprintf(path, sizeof(path), "%s/%s", fx.dir, out);
		assert_int_equal(read_file(path, &b), 0);
		crlf = to_crlf(b.data, b.len);
		t0 = mt_mono_us();
		c0 = cpu_us();
		for (k = 0; k < rounds; k++) {
			assert_int_equal(verify_raw(d, crlf.data, crlf.len,
			    HDR_LEADSPC, 65535, sigs, MAXSIGS, &n), 1);
			assert_int_equal(sigs[0].result, MT_DKIM_PASS);
		}
		cpu = cpu_us() - c0;
		us = mt_mono_us() - t0;
		printf("# timing: %zu-byte message, RSA-2048, %s: %.1f us CPU "
		    "(%.1f us wall) per message, %d messages\n", crlf.len,
		    canons[i], (double)cpu / rounds, (double)us / rounds,
		    rounds);
		free(crlf.data);
		free(b.data);
	}
	dkimv_free(d);
}

/* ------------------------------------------------------------ no signer */

static void
test_unsigned(void **state)
{
	struct mt_resolver	*r = resolver_new_table();
	struct mt_dkimv		*d = verifier(r, 5);
	struct mt_dkim_sig	 sigs[MAXSIGS];
	static const char	 msg[] = "From: a@example.com\r\n"
	    "Subject: hi\r\n\r\nbody\r\n";
	size_t			 n = 99;

	(void)state;
	assert_int_equal(verify_raw(d, msg, sizeof(msg) - 1, HDR_LEADSPC,
	    100, sigs, MAXSIGS, &n), 0);
	assert_int_equal(n, 0);
	/* No header at all, no body. */
	assert_int_equal(verify_raw(d, "\r\n", 2, HDR_LEADSPC, 100, sigs,
	    MAXSIGS, &n), 0);
	assert_int_equal(n, 0);
	dkimv_free(d);
	resolver_free(r);
}

/* Hand-made broken signatures: every one reported, none passes. */
static void
test_broken_signatures(void **state)
{
	static const struct {
		const char		*name;
		const char		*sig;
		enum mt_dkim_result	 want;
		const char		*reason;
	} cases[] = {
		{ "no d=", "v=1; a=rsa-sha256; s=x; h=from; bh=AAAA; b=AAAA",
		  MT_DKIM_NEUTRAL, "syntax error" },
		{ "no b=", "v=1; a=rsa-sha256; d=example.com; s=x; h=from; "
		  "bh=AAAA", MT_DKIM_NEUTRAL, "syntax error" },
		{ "a=rsa-md5", "v=1; a=rsa-md5; d=example.com; s=x; h=from; "
		  "bh=AAAA; b=AAAA", MT_DKIM_PERMERROR,
		  "unsupported algorithm" },
		{ "v=2", "v=2; a=rsa-sha256; d=example.com; s=x; h=from; "
		  "bh=AAAA; b=AAAA", MT_DKIM_PERMERROR, "unsupported version" },
		{ "From not signed", "v=1; a=rsa-sha256; d=example.com; s=x; "
		  "h=subject; bh=AAAA; b=AAAA", MT_DKIM_PERMERROR,
		  "From not signed" },
		{ "i= outside d=", "v=1; a=rsa-sha256; d=example.com; "
		  "i=@example.org; s=x; h=from; bh=AAAA; b=AAAA",
		  MT_DKIM_PERMERROR, "i= not within d=" },
		{ "expired", "v=1; a=rsa-sha256; d=example.com; s=x; h=from; "
		  "t=1000000000; x=1000000100; bh=AAAA; b=AAAA",
		  MT_DKIM_PERMERROR, "signature expired" },
		{ "c=future", "v=1; a=rsa-sha256; c=future; d=example.com; "
		  "s=x; h=from; bh=AAAA; b=AAAA", MT_DKIM_PERMERROR,
		  "unsupported canonicalization" },
		{ "garbage", "synerr", MT_DKIM_NEUTRAL, "syntax error" },
		{ "no such key", "v=1; a=rsa-sha256; d=example.com; s=x; "
		  "h=from; bh=AAAA; b=AAAA", MT_DKIM_PERMERROR,
		  "key not found" },
		{ "s= not a name", "v=1; a=rsa-sha256; d=example.com; "
		  "s=x!y; h=from; bh=AAAA; b=AAAA", MT_DKIM_PERMERROR,
		  "bad key name (s=, d=)" },
		{ "d= label > 63", "v=1; a=rsa-sha256; d=aaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com; s=x; "
		  "h=from; bh=AAAA; b=AAAA", MT_DKIM_PERMERROR,
		  "bad key name (s=, d=)" },
	};
	struct mt_resolver	*r = resolver_new_table();
	struct mt_dkimv		*d = verifier(r, 5);
	struct mt_dkim_sig	 sigs[MAXSIGS];
	struct mt_dkimv_msg	*m;
	size_t			 i, n;
	int			 bad = 0, rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		m = dkimv_msg_new(d, "T");
		assert_non_null(m);
		assert_int_equal(dkimv_msg_header(m, "DKIM-Signature",
		    cases[i].sig), 0);
		assert_int_equal(dkimv_msg_header(m, "From",
		    " a@example.com"), 0);
		assert_int_equal(dkimv_msg_header(m, "Subject", " x"), 0);
		assert_int_equal(dkimv_msg_eoh(m), 0);
		assert_int_equal(dkimv_msg_body(m,
		    (const unsigned char *)"x\r\n", 3), 0);
		rc = dkimv_msg_end(m, sigs, MAXSIGS, &n);
		dkimv_msg_free(m);
		if (rc != 1 || n != 1) {
			printf("# %s: got rc %d n %zu, want 1 1\n",
			    cases[i].name, rc, n);
			bad++;
			continue;
		}
		printf("# %-16s %s (%s)\n", cases[i].name,
		    dkimv_result_name(sigs[0].result), sigs[0].reason);
		if (sigs[0].result != cases[i].want ||
		    strcmp(sigs[0].reason, cases[i].reason) != 0) {
			printf("# %s: got %s \"%s\", want %s \"%s\"\n",
			    cases[i].name, dkimv_result_name(sigs[0].result),
			    sigs[0].reason, dkimv_result_name(cases[i].want),
			    cases[i].reason);
			bad++;
		}
	}
	dkimv_free(d);
	resolver_free(r);
	if (bad)
		fail_msg("%d broken-signature case(s) wrong", bad);
}

static void
test_header_limits(void **state)
{
	struct mt_resolver	*r = resolver_new_table();
	struct mt_dkimv		*d = verifier(r, 5);
	struct mt_dkim_sig	 sigs[MAXSIGS];
	struct mt_dkimv_msg	*m;
	char			*big;
	size_t			 i, n;
	int			 rc = 0;

	(void)state;
	/*
	 * Too many fields, none a signature: the message's result is "none"
	 * (0), not an internal failure (-1); the cap is reported.
	 */
	m = dkimv_msg_new(d, "T");
	assert_non_null(m);
	for (i = 0; i < MT_DKIMV_MAX_HEADERS && rc == 0; i++)
		rc = dkimv_msg_header(m, "X-Filler", " x");
	assert_int_equal(rc, 0);
	assert_null(dkimv_msg_limit(m));
	assert_int_equal(dkimv_msg_header(m, "X-Filler", " x"), 0);
	assert_int_equal(dkimv_msg_header(m, "X-Filler", " x"), 0);
	assert_int_equal(dkimv_msg_eoh(m), 0);
	assert_int_equal(dkimv_msg_body(m, (const unsigned char *)"x", 1),
	    0);
	n = 99;
	assert_int_equal(dkimv_msg_end(m, sigs, MAXSIGS, &n), 0);
	assert_int_equal(n, 0);
	assert_non_null(dkimv_msg_limit(m));
	assert_string_equal(dkimv_msg_limit(m), "too many headers");
	dkimv_msg_free(m);

	/*
	 * Too many fields with signatures (one before the cap, one after):
	 * each is permerror "not verified", with its own d= and s=.
	 */
	m = dkimv_msg_new(d, "T");
	assert_non_null(m);
	assert_int_equal(dkimv_msg_header(m, "DKIM-Signature", " v=1; "
	    "a=rsa-sha256; d=example.com;\n\ts=sel1; h=from; bh=AAAA; "
	    "b=ABCD\n\tEFGHIJ"), 0);
	for (i = 0; i < MT_DKIMV_MAX_HEADERS; i++)
		assert_int_equal(dkimv_msg_header(m, "X-Filler", " x"), 0);
	assert_int_equal(dkimv_msg_header(m, "dkim-signature", " v=1; "
	    "a=ed25519-sha256; d = example.org ; s=s2; bh=AAAA; b=AAAA"), 0);
	assert_int_equal(dkimv_msg_eoh(m), 0);
	assert_int_equal(dkimv_msg_end(m, sigs, MAXSIGS, &n), 1);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		assert_int_equal(sigs[i].result, MT_DKIM_PERMERROR);
		assert_string_equal(sigs[i].reason,
		    "not verified: too many headers");
	}
	assert_string_equal(sigs[0].domain, "example.com");
	assert_string_equal(sigs[0].selector, "sel1");
	assert_string_equal(sigs[0].algorithm, "rsa-sha256");
	assert_string_equal(sigs[0].header_b, "ABCDEFGH");
	assert_string_equal(sigs[1].domain, "example.org");
	assert_string_equal(sigs[1].selector, "s2");
	dkimv_msg_free(m);

	/* Too many bytes: one 1 MB field. */
	big = malloc(MT_DKIMV_MAX_HEADER_BYTES + 2);
	assert_non_null(big);
	memset(big, 'a', MT_DKIMV_MAX_HEADER_BYTES + 1);
	big[MT_DKIMV_MAX_HEADER_BYTES + 1] = '\0';
	m = dkimv_msg_new(d, "T");
	assert_non_null(m);
	assert_int_equal(dkimv_msg_header(m, "X-Big", big), 0);
	assert_int_equal(dkimv_msg_end(m, sigs, MAXSIGS, &n), 0);
	assert_string_equal(dkimv_msg_limit(m), "header section too large");
	dkimv_msg_free(m);

	/* Just under the byte cap is fine (and folded at every byte). */
	for (i = 0; i + 2 < 200000; i += 2) {
		big[i] = '\n';
		big[i + 1] = ' ';
	}
	big[200000] = '\0';
	m = dkimv_msg_new(d, "T");
	assert_non_null(m);
	assert_int_equal(dkimv_msg_header(m, "X-Folded", big), 0);
	assert_int_equal(dkimv_msg_header(m, "From", " a@example.com"), 0);
	assert_int_equal(dkimv_msg_end(m, sigs, MAXSIGS, &n), 0);
	dkimv_msg_free(m);
	free(big);
	dkimv_free(d);
	resolver_free(r);
}

/*
 * A sender who sends message after message over the caps gets at most one
 * log line per burst (STYLE 8), not one WARNING per message.
 */
static void
test_limit_logged_once(void **state)
{
	struct mt_resolver	*r = resolver_new_table();
	struct mt_dkimv		*d = verifier(r, 5);
	struct mt_dkim_sig	 sigs[MAXSIGS];
	struct mt_dkimv_msg	*m;
	char			 path[] = "/tmp/test_dkimv_log.XXXXXX", line[512];
	FILE			*f;
	size_t			 i, j, n;
	int			 fd, saved, lines = 0, warnings = 0;
	int			 internal = 0;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	(void)unlink(path);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	mt_log_open("test_dkimv", 1, LOG_MAIL);
	mt_log_set(LOG_DEBUG, LOG_MAIL);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	for (i = 0; i < 50; i++) {
		m = dkimv_msg_new(d, "T");
		assert_non_null(m);
		for (j = 0; j <= MT_DKIMV_MAX_HEADERS; j++)
			(void)dkimv_msg_header(m, "X-Filler", " x");
		if (dkimv_msg_end(m, sigs, MAXSIGS, &n) < 0)
			internal++;
		dkimv_msg_free(m);
	}
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	mt_log_set(LOG_INFO, LOG_MAIL);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	f = fdopen(fd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		printf("# log: %s", line);
		lines++;
		if (strstr(line, "warning") != NULL)
			warnings++;
	}
	fclose(f);
	dkimv_free(d);
	resolver_free(r);
	if (lines > 1 || warnings > 0 || internal > 0)
		fail_msg("50 messages over the cap: got %d log lines (%d "
		    "warnings) and %d internal failures, want at most 1 line "
		    "(no warning) and none", lines, warnings, internal);
}

static void
test_call_order(void **state)
{
	struct mt_resolver	*r = resolver_new_table();
	struct mt_dkimv		*d = verifier(r, 5);
	struct mt_dkim_sig	 sigs[MAXSIGS];
	struct mt_dkimv_msg	*m;
	size_t			 n;

	(void)state;
	/* A header after the end of headers stops verification. */
	m = dkimv_msg_new(d, "T");
	assert_int_equal(dkimv_msg_header(m, "From", " a@example.com"), 0);
	assert_int_equal(dkimv_msg_eoh(m), 0);
	assert_int_equal(dkimv_msg_eoh(m), 0);	/* twice: harmless */
	assert_int_equal(dkimv_msg_header(m, "To", " b@example.com"), 0);
	assert_int_equal(dkimv_msg_end(m, sigs, MAXSIGS, &n), 0);
	assert_string_equal(dkimv_msg_limit(m), "header after end of headers");
	/* After the end, a header is a caller's error. */
	assert_int_equal(dkimv_msg_header(m, "To", " b@example.com"), -1);
	dkimv_msg_free(m);

	/* Body without end of headers: the end of headers is implied. */
	m = dkimv_msg_new(d, "T");
	assert_int_equal(dkimv_msg_header(m, "From", " a@example.com"), 0);
	assert_int_equal(dkimv_msg_body(m, (const unsigned char *)"x\r\n",
	    3), 0);
	assert_int_equal(dkimv_msg_end(m, sigs, MAXSIGS, &n), 0);
	/* Ending twice is an error, reported. */
	assert_int_equal(dkimv_msg_end(m, sigs, MAXSIGS, &n), -1);
	assert_string_equal(sigs[0].reason, "verification already ended");
	assert_int_equal(dkimv_msg_body(m, (const unsigned char *)"x", 1),
	    -1);
	dkimv_msg_free(m);

	/* End without anything fed; odd arguments. */
	m = dkimv_msg_new(d, NULL);
	assert_non_null(m);
	assert_int_equal(dkimv_msg_header(m, NULL, " x"), 0);
	assert_int_equal(dkimv_msg_header(m, "", " x"), 0);
	assert_int_equal(dkimv_msg_header(m, "Bad\001Name", " x"), 0);
	assert_int_equal(dkimv_msg_end(m, NULL, 0, &n), 0);
	assert_int_equal(dkimv_msg_end(NULL, sigs, MAXSIGS, &n), -1);
	assert_int_equal(dkimv_msg_end(m, NULL, 3, &n), -1);
	dkimv_msg_free(m);

	assert_int_equal(dkimv_msg_header(NULL, "a", "b"), -1);
	assert_int_equal(dkimv_msg_eoh(NULL), -1);
	assert_int_equal(dkimv_msg_body(NULL, NULL, 0), -1);
	assert_null(dkimv_msg_new(NULL, "x"));
	dkimv_msg_free(NULL);
	dkimv_free(NULL);
	dkimv_free(d);
	resolver_free(r);
}

static void
test_new_errors(void **state)
{
	static const struct {
		struct mt_dkimv_opts	 o;
		const char		*want;
	} cases[] = {
		{ { 0, 1024, 1000 }, "max_signatures 0" },
		{ { 1001, 1024, 1000 }, "max_signatures 1001" },
		{ { 5, 1024, 0 }, "timeout_ms 0" },
		{ { 5, -1, 1000 }, "min_key_bits -1" },
		{ { 5, 20000, 1000 }, "min_key_bits 20000" },
	};
	struct mt_resolver	*r = resolver_new_table();
	struct mt_dkimv_opts	 ok = { 5, 1024, 1000 };
	struct mt_dkimv		*d;
	char			 err[256];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		d = dkimv_new(&cases[i].o, r, err, sizeof(err));
		if (d != NULL || strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: got %p \"%s\", want NULL and "
			    "\"%s\"", i, (void *)d, err, cases[i].want);
	}
	assert_null(dkimv_new(&ok, NULL, err, sizeof(err)));
	assert_null(dkimv_new(NULL, r, err, sizeof(err)));
	/* Two verifiers at once, each with its own library handle. */
	d = dkimv_new(&ok, r, err, sizeof(err));
	assert_non_null(d);
	dkimv_free(dkimv_new(&ok, r, err, sizeof(err)));
	dkimv_free(d);
	resolver_free(r);
}

static void
test_result_names(void **state)
{
	static const struct {
		enum mt_dkim_result	 r;
		const char		*name;
	} cases[] = {
		{ MT_DKIM_PASS, "pass" }, { MT_DKIM_FAIL, "fail" },
		{ MT_DKIM_NEUTRAL, "neutral" }, { MT_DKIM_POLICY, "policy" },
		{ MT_DKIM_TEMPERROR, "temperror" },
		{ MT_DKIM_PERMERROR, "permerror" },
		{ (enum mt_dkim_result)42, "permerror" },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(dkimv_result_name(cases[i].r), cases[i].name) != 0)
			fail_msg("result %d: got %s, want %s", cases[i].r,
			    dkimv_result_name(cases[i].r), cases[i].name);
}

/* ------------------------------------------------------------ corpus */

/*
 * Differences from the source's expectations that the RFCs explain
 * (docs/dkim-vectors.md has the same list).  sig -1: the message as a
 * whole (its best signature).  The source, Mail::DKIM in its default
 * (non-strict) mode, still accepts:
 *   - rsa-sha1 and RSA keys under 1024 bits, which RFC 8301 sections 3.1
 *     and 3.2 forbid to count as pass ("policy" here: the signature
 *     verified, the algorithm or key is refused);
 *   - signatures of the 2006 drafts: no v= tag (draft-ietf-dkim-base-01)
 *     or v=0.5 (-05); RFC 6376 section 3.5 makes v= required and "1" its
 *     only value, so these are "neutral (syntax error)" and "permerror
 *     (unsupported version)" here, whatever their key or hash;
 *   - RFC 4871's g= key tag, which RFC 6376 dropped (section 3.6.1 has no
 *     g=; unknown tags are ignored): a g= that does not match the signer
 *     no longer invalidates the key.
 */
struct known {
	const char	*file;
	int		 sig;
	const char	*got;		/* our result, as a source result */
	const char	*why;
};

#define SHA1	"rsa-sha1 (RFC 8301 3.1)"
#define SHA1S	"rsa-sha1, 512-bit key (RFC 8301 3.1, 3.2)"
#define SHA1SG	"rsa-sha1, 512-bit key (RFC 8301 3.1, 3.2); g= " \
		"ignored (RFC 6376 3.6.1)"
#define DRAFT	"draft signature without v= (RFC 6376 3.5)"
#define DRAFTK	"draft signature without v= (RFC 6376 3.5); 768-bit " \
		"key (RFC 8301 3.2)"
#define V05	"draft signature v=0.5 (RFC 6376 3.5)"

static const struct known known[] = {
	{ "mine_ietf01_1.txt", 0, "invalid", DRAFT },
	{ "mine_ietf01_2.txt", 0, "invalid", DRAFT },
	{ "mine_ietf01_3.txt", 0, "invalid", DRAFT },
	{ "mine_ietf01_4.txt", 0, "invalid", DRAFT },
	{ "mine_ietf05_1.txt", 0, "invalid", V05 },
	{ "good_ietf01_1.txt", 0, "invalid", DRAFTK },
	{ "good_ietf01_2.txt", 0, "invalid", DRAFTK },
	{ "good_rfc4871_3.txt", 0, "policy", SHA1S },
	{ "good_rfc4871_4.txt", 0, "policy", SHA1S },
	{ "good_1878523.txt", 0, "policy", SHA1S },
	{ "good_83176.txt", 0, "policy", SHA1 },
	{ "multiple_1.txt", -1, "invalid", DRAFTK },
	{ "multiple_2.txt", 1, "policy", SHA1 },
	{ "good_qp_1.txt", 0, "policy", SHA1S },
	{ "good_qp_2.txt", 0, "policy", SHA1S },
	{ "good_qp_3.txt", 0, "policy", SHA1S },
	{ "bad_ietf01_1.txt", 0, "invalid", DRAFTK },
	{ "bad_ietf01_2.txt", 0, "invalid", DRAFTK },
	{ "bad_ietf01_3.txt", 0, "invalid", DRAFTK },
	{ "bad_1.txt", 0, "invalid", DRAFTK },
	{ "no_body_1.txt", 0, "invalid", V05 },
	{ "no_body_2.txt", 0, "invalid", V05 },
	{ "no_body_3.txt", 0, "invalid", V05 },
	{ "goodkey_1.txt", 0, "policy", SHA1S },
	{ "goodkey_2.txt", 0, "policy", SHA1S },
	{ "goodkey_3.txt", 0, "policy", SHA1S },
	{ "goodkey_4.txt", 0, "policy", SHA1S },
	{ "badkey_8.txt", 0, "policy", SHA1SG },
	{ "badkey_9.txt", 0, "policy", SHA1SG },
	{ "badkey_12.txt", 0, "policy", SHA1SG },
	{ "badkey_13.txt", 0, "policy", SHA1SG },
};

static int	known_seen[sizeof(known) / sizeof(known[0])];

static const char *
family(enum mt_dkim_result r)
{
	switch (r) {
	case MT_DKIM_PASS:
		return "pass";
	case MT_DKIM_FAIL:
		return "fail";
	case MT_DKIM_POLICY:
		return "policy";
	default:
		return "invalid";	/* neutral, temperror, permerror */
	}
}

static const char *
corpus_dir(void)
{
	static char	 p[1024];

	return test_corpus_path(p, sizeof(p), "dkim") == 0 ? p : NULL;
}

/* Load a FAKE_DNS.dat-style file: "name rdata" per line. */
static int
load_dns(struct mt_resolver *r, const char *path)
{
	FILE	*f;
	char	 line[4096], *sp, *rd, *e;
	int	 n = 0;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		e = line + strlen(line);
		while (e > line && (e[-1] == '\n' || e[-1] == '\r' ||
		    e[-1] == ' '))
			*--e = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if ((sp = strpbrk(line, " \t")) == NULL)
			continue;
		*sp = '\0';
		rd = sp + 1;
		while (*rd == ' ' || *rd == '\t')
			rd++;
		if (strcmp(rd, "NXDOMAIN") == 0)
			continue;	/* the table's default */
		if (strncmp(rd, "~~", 2) == 0)
			rd = strstr(rd, "timed out") != NULL ? "TIMEOUT" :
			    "SERVFAIL";
		else if (strcmp(rd, "\"\"") == 0)
			rd = "";
		if (resolver_table_add(r, line, ns_t_txt, rd) != 0) {
			fclose(f);
			return -1;
		}
		n++;
	}
	fclose(f);
	return n;
}

struct totals {
	int	 sigs, agree, explained, unexplained, unchecked;
	int	 got[6];
};

/* Compare one result with the source's; print the verdict column. */
static void
judge(struct totals *t, const char *file, int sig, const char *got,
    const char *want, char *verdict, size_t vsz)
{
	size_t	 i;

	if (want == NULL) {
		t->unchecked++;
		snprintf(verdict, vsz, "(not checked by the source)");
		return;
	}
	if (strcmp(got, want) == 0) {
		t->agree++;
		snprintf(verdict, vsz, "same");
		return;
	}
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(known[i].file, file) == 0 && known[i].sig == sig &&
		    strcmp(known[i].got, got) == 0) {
			known_seen[i]++;
			t->explained++;
			snprintf(verdict, vsz, "known: %s", known[i].why);
			return;
		}
	t->unexplained++;
	snprintf(verdict, vsz, "UNEXPLAINED DIFFERENCE");
}

static void
print_totals(const char *what, const struct totals *t)
{
	printf("# %s: %d signatures, %d not checked by the source; %d "
	    "comparisons (per signature, or per message): %d as expected, "
	    "%d known differences (RFC 8301 / RFC 6376), %d unexplained\n",
	    what, t->sigs, t->unchecked, t->agree + t->explained +
	    t->unexplained, t->agree, t->explained, t->unexplained);
	printf("#   got: pass %d, fail %d, neutral %d, policy %d, "
	    "temperror %d, permerror %d\n", t->got[MT_DKIM_PASS],
	    t->got[MT_DKIM_FAIL], t->got[MT_DKIM_NEUTRAL],
	    t->got[MT_DKIM_POLICY], t->got[MT_DKIM_TEMPERROR],
	    t->got[MT_DKIM_PERMERROR]);
}

/*
 * docs/dkim-vectors.md must name every file of known[] in its "Known
 * differences" section.  Returns the number missing.
 */
static int
check_doc(void)
{
	const char	*top = getenv("top_srcdir");
	char		 path[1024], stem[64], *sec, *end;
	struct buf	 b;
	size_t		 i;
	int		 missing = 0;

	if (top == NULL) {
		printf("# top_srcdir unset: docs/dkim-vectors.md not checked\n");
		return 0;
	}
	snprintf(path, sizeof(path), "%s/docs/dkim-vectors.md", top);
	if (read_file(path, &b) != 0) {
		printf("# cannot read %s\n", path);
		return 1;
	}
	if ((sec = strstr(b.data, "\n## Known differences")) == NULL) {
		printf("# %s: no \"Known differences\" section\n", path);
		free(b.data);
		return 1;
	}
	if ((end = strstr(sec + 1, "\n## ")) != NULL)
		*end = '\0';
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		snprintf(stem, sizeof(stem), "`%.*s`",
		    (int)strcspn(known[i].file, "."), known[i].file);
		if (strstr(sec, stem) == NULL) {
			printf("# %s does not name %s under Known "
			    "differences\n", path, stem);
			missing++;
		}
	}
	free(b.data);
	return missing;
}

static void
test_corpus_mail_dkim(void **state)
{
	const char		*dir = corpus_dir();
	const char		*name = "dkim-mail-dkim";	/* "# corpus:" lines, read by ./dev */
	struct mt_resolver	*r;
	struct mt_dkimv		*d;
	struct mt_dkim_sig	 sigs[MAXSIGS];
	struct totals		 t;
	json_t			*root, *files, *e, *ps, *p;
	json_error_t		 jerr;
	const char		*file;
	char			 path[2048], verdict[160];
	size_t			 n, i, j;
	int			 rc;

	(void)state;
	if (dir == NULL) {
		printf("# MT_CORPUS and top_srcdir unset: corpus skipped\n");
		printf("# corpus: %s skipped (not found)\n", name);
		skip();
	}
	snprintf(path, sizeof(path), "%s/mail-dkim/expected.json", dir);
	if ((root = json_load_file(path, 0, &jerr)) == NULL) {
		printf("# SKIP corpus not found (%s)\n", path);
		printf("# corpus: %s skipped (not found)\n", name);
		skip();
	}
	memset(&t, 0, sizeof(t));
	memset(known_seen, 0, sizeof(known_seen));
	r = resolver_new_table();
	snprintf(path, sizeof(path), "%s/mail-dkim/FAKE_DNS.dat", dir);
	if (load_dns(r, path) <= 0)
		fail_msg("cannot load %s", path);
	d = verifier(r, MAXSIGS);
	files = json_object_get(root, "files");
	printf("# mail-dkim corpus: file, signature, d= s= a= key bits, "
	    "expected (Mail::DKIM; strict), got (reason), verdict\n");
	json_object_foreach(files, file, e) {
		const char	*want = json_string_value(json_object_get(e,
		    "expected"));
		const char	*strict = json_string_value(json_object_get(e,
		    "expected_strict_mode"));
		struct buf	 b;

		snprintf(path, sizeof(path), "%s/mail-dkim/corpus/%s", dir,
		    file);
		if (read_file(path, &b) != 0)
			fail_msg("cannot read %s", path);
		rc = verify_raw(d, b.data, b.len, HDR_LEADSPC, 100, sigs,
		    MAXSIGS, &n);
		free(b.data);
		ps = json_object_get(e, "per_signature");
		if (rc != 1) {
			const char *got = rc == 0 ? "none" : "error";

			judge(&t, file, -1, got, want, verdict,
			    sizeof(verdict));
			printf("# %-20s -  %-45s %-8s %-8s %s\n", file, "",
			    want, got, verdict);
			continue;
		}
		for (i = 0; i < n; i++) {
			const char	*w = NULL;
			char		 ident[128];

			t.sigs++;
			t.got[sigs[i].result]++;
			json_array_foreach(ps, j, p)
				if (json_integer_value(json_object_get(p,
				    "signature_index")) == (json_int_t)i)
					w = json_string_value(
					    json_object_get(p, "result"));
			if (w == NULL && json_array_size(ps) == 0 && n == 1)
				w = want;
			snprintf(ident, sizeof(ident), "%.32s %.32s %.16s %d",
			    sigs[i].domain, sigs[i].selector,
			    sigs[i].algorithm, sigs[i].key_bits);
			judge(&t, file, (int)i, family(sigs[i].result), w,
			    verdict, sizeof(verdict));
			printf("# %-20s %zu  %-45s %-8s %-8s %s (%s) %s\n",
			    file, i, ident, w ? w : "-",
			    strict ? strict : "", dkimv_result_name(
			    sigs[i].result), sigs[i].reason, verdict);
		}
		if (json_array_size(ps) == 0 && n > 1) {
			/* The message as a whole: its best signature. */
			const char	*best = "invalid";

			for (i = 0; i < n; i++) {
				const char *f = family(sigs[i].result);

				if (strcmp(f, "pass") == 0 ||
				    (strcmp(f, "policy") == 0 &&
				    strcmp(best, "pass") != 0) ||
				    (strcmp(f, "fail") == 0 &&
				    strcmp(best, "invalid") == 0))
					best = f;
			}
			judge(&t, file, -1, best, want, verdict,
			    sizeof(verdict));
			printf("# %-20s *  %-45s %-8s %-8s %s\n", file,
			    "(message: best signature)", want, best, verdict);
		}
	}
	print_totals("mail-dkim", &t);
	printf("# corpus: %s %zu\n", name, json_object_size(files));
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (known_seen[i] == 0) {
			printf("# known difference no longer seen: %s sig %d "
			    "%s (%s)\n", known[i].file, known[i].sig,
			    known[i].got, known[i].why);
			t.unexplained++;
		}
	t.unexplained += check_doc();
	dkimv_free(d);
	resolver_free(r);
	json_decref(root);
	if (t.unexplained)
		fail_msg("%d unexplained difference(s) in the mail-dkim "
		    "corpus", t.unexplained);
}

static void
test_corpus_dkimpy(void **state)
{
	const char		*dir = corpus_dir();
	const char		*name = "dkim-dkimpy";	/* "# corpus:" lines, read by ./dev */
	struct mt_resolver	*r;
	struct mt_dkimv		*d;
	struct mt_dkim_sig	 sigs[MAXSIGS];
	struct totals		 t;
	json_t			*root, *files, *e, *ss, *s;
	json_error_t		 jerr;
	const char		*file;
	char			 path[2048], verdict[160];
	size_t			 n, i;
	int			 rc;

	(void)state;
	if (dir == NULL) {
		printf("# MT_CORPUS and top_srcdir unset: corpus skipped\n");
		printf("# corpus: %s skipped (not found)\n", name);
		skip();
	}
	snprintf(path, sizeof(path), "%s/dkimpy/expected.json", dir);
	if ((root = json_load_file(path, 0, &jerr)) == NULL) {
		printf("# SKIP corpus not found (%s)\n", path);
		printf("# corpus: %s skipped (not found)\n", name);
		skip();
	}
	memset(&t, 0, sizeof(t));
	r = resolver_new_table();
	snprintf(path, sizeof(path), "%s/dkimpy/dns.txt", dir);
	if (load_dns(r, path) <= 0)
		fail_msg("cannot load %s", path);
	d = verifier(r, MAXSIGS);
	files = json_object_get(root, "files");
	printf("# dkimpy corpus: file, signature, d= s= a=, expected, got "
	    "(reason), verdict\n");
	json_object_foreach(files, file, e) {
		struct buf	 b;

		snprintf(path, sizeof(path), "%s/dkimpy/%s", dir, file);
		if (read_file(path, &b) != 0)
			fail_msg("cannot read %s", path);
		/* LF files: to_crlf() in verify_raw() makes them CRLF. */
		rc = verify_raw(d, b.data, b.len, HDR_LEADSPC, 333, sigs,
		    MAXSIGS, &n);
		free(b.data);
		ss = json_object_get(e, "signatures");
		if (rc != 1 || n != json_array_size(ss)) {
			printf("# %s: got rc %d with %zu signatures, want "
			    "1 with %zu\n", file, rc, n, json_array_size(ss));
			t.unexplained++;
			continue;
		}
		json_array_foreach(ss, i, s) {
			const char *w = json_string_value(json_object_get(s,
			    "expected"));
			const char *wd = json_string_value(json_object_get(s,
			    "d"));
			const char *ws = json_string_value(json_object_get(s,
			    "s"));
			const char *wa = json_string_value(json_object_get(s,
			    "a"));

			t.sigs++;
			t.got[sigs[i].result]++;
			judge(&t, file, (int)i, family(sigs[i].result), w,
			    verdict, sizeof(verdict));
			if (strcmp(sigs[i].domain, wd) != 0 ||
			    strcmp(sigs[i].selector, ws) != 0 ||
			    strcmp(sigs[i].algorithm, wa) != 0) {
				printf("# %s %zu: got d=%s s=%s a=%s, want "
				    "%s %s %s\n", file, i, sigs[i].domain,
				    sigs[i].selector, sigs[i].algorithm, wd,
				    ws, wa);
				t.unexplained++;
			}
			printf("# %-20s %zu  %-20s %-10s %-15s bits=%-4d %-6s "
			    "%s (%s) %s\n", file, i, sigs[i].domain,
			    sigs[i].selector, sigs[i].algorithm,
			    sigs[i].key_bits, w, dkimv_result_name(
			    sigs[i].result), sigs[i].reason, verdict);
		}
	}
	print_totals("dkimpy", &t);
	printf("# corpus: %s %zu\n", name, json_object_size(files));
	dkimv_free(d);
	resolver_free(r);
	json_decref(root);
	if (t.unexplained)
		fail_msg("%d unexplained difference(s) in the dkimpy corpus",
		    t.unexplained);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_names),
		cmocka_unit_test(test_new_errors),
		cmocka_unit_test(test_call_order),
		cmocka_unit_test(test_unsigned),
		cmocka_unit_test(test_broken_signatures),
		cmocka_unit_test(test_header_limits),
		cmocka_unit_test(test_limit_logged_once),
		cmocka_unit_test(test_signed_cases),
		cmocka_unit_test(test_two_signatures),
		cmocka_unit_test(test_shared_deadline),
		cmocka_unit_test(test_leading_space),
		cmocka_unit_test(test_chunking),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_timing),
		cmocka_unit_test(test_corpus_mail_dkim),
		cmocka_unit_test(test_corpus_dkimpy),
	};

	return cmocka_run_group_tests(tests, fixture_setup,
	    fixture_teardown);
}
