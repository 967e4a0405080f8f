/*
 * auth.h - the authentication unit: SPF, DKIM and DMARC for one message,
 * and the one results structure everything else reads.
 *
 * txn.c feeds a struct mt_auth_msg the headers and body of a message and,
 * at end-of-message, the envelope facts; auth_msg_end() runs SPF (both
 * identities), finishes DKIM, then DMARC from those two, into a struct
 * mt_auth_results.  That structure is what the record carries
 * (mt_msg_rec.auth), what auth_header() turns into Authentication-Results
 * and Received-SPF, and what the store writes.  A new method is a field
 * here, its evaluation in auth.c, its fragment in auth_header() and its
 * columns in the store: txn.c and the milter glue do not change.
 *
 * Ownership: auth_msg_new()'s object belongs to the transaction (free it
 * at end-of-message, abort or close); the results are owned by the record
 * and released by auth_results_clear().  Not thread-safe per object; the
 * evaluators and the resolver in struct mt_auth_env are shared and
 * thread-safe.
 */
#ifndef MAILTRAIL_AUTH_H
#define MAILTRAIL_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "mailtrail/dkimv.h"
#include "mailtrail/dmarc.h"
#include "mailtrail/fromhdr.h"
#include "mailtrail/resolver.h"
#include "mailtrail/spf.h"

struct mt_config;

/* From: field values kept per message; more are counted, not kept. */
#define MT_AUTH_FROM_MAX	4

/* One SPF identity checked (or skipped). */
struct mt_spf_rec {
	enum mt_spf_identity identity;
	int		 skipped;	/* not evaluated: skip_reason says why */
	const char	*skip_reason;	/* static text */
	struct mt_spf_outcome outcome;	/* when evaluated */
	int64_t		 time_us;
};

/* What DMARC enforcement asks of the MTA (dmarc.enforce). */
enum mt_auth_action {
	MT_AUTH_ACT_NONE = 0,		/* let it through (the default) */
	MT_AUTH_ACT_QUARANTINE,		/* smfi_quarantine */
	MT_AUTH_ACT_REJECT		/* 5xx with dmarc.reject_reply */
};

/* The results of one message's authentication. */
struct mt_auth_results {
	struct mt_spf_rec spf[2];	/* MAIL FROM, HELO */
	size_t		 n_spf;
	struct mt_dkim_sig *dkim;	/* verified signatures (owned) */
	size_t		 n_dkim;
	int		 dkim_done;	/* verification ran (n_dkim 0 = "none") */
	struct mt_dmarc_outcome *dmarc;	/* owned; NULL: not evaluated */
	unsigned	 dmarc_sample;	/* the sampling draw, 0..99 */
	size_t		 n_from;	/* From: fields seen (past the cap too) */
	enum mt_auth_action action;	/* what enforcement decided */
};

/* The shared handles (borrowed; NULL turns that method off). */
struct mt_auth_env {
	struct mt_spf	*spf;
	struct mt_dkimv	*dkimv;
	struct mt_resolver *resolver;	/* DMARC's lookups */
};

/* Envelope facts at end-of-message (borrowed, NUL-terminated or NULL). */
struct mt_auth_facts {
	const char	*client_addr;
	const char	*helo;
	const char	*mail_from;	/* "" for the null sender */
	const char	*track_id;	/* the sampling draw comes from it */
	const char	*skip_spf;	/* why SPF is skipped, or NULL */
	/* The connection's HELO result, reused while the name is the same. */
	int		*helo_spf_done;
	struct mt_spf_outcome *helo_spf;
};

struct mt_auth_msg;

/*
 * A new evaluation for the message track_id under cfg (borrowed, must
 * outlive the object).  NULL on allocation failure.
 */
struct mt_auth_msg *auth_msg_new(const struct mt_config *cfg,
	    const struct mt_auth_env *env, const char *track_id);

/* One header (value as libmilter gives it, leading space included). */
void	 auth_msg_header(struct mt_auth_msg *a, const char *name,
	    const char *value);
void	 auth_msg_eoh(struct mt_auth_msg *a);
void	 auth_msg_body(struct mt_auth_msg *a, const unsigned char *chunk,
	    size_t len);

/*
 * End of message: evaluate into out (zeroed by the caller).  Returns 0, or
 * -1 when something failed inside mailtrail (*why says what, static text;
 * whatever could be evaluated is in out).  *note, when not NULL on return,
 * is a fact for messages.error that is not a failure (static or in
 * notebuf).
 */
int	 auth_msg_end(struct mt_auth_msg *a, const struct mt_auth_facts *f,
	    struct mt_auth_results *out, const char **why, char *notebuf,
	    size_t notelen, const char **note);

/* Free.  NULL is a no-op. */
void	 auth_msg_free(struct mt_auth_msg *a);

/*
 * The SPF identity that speaks for the message (MAIL FROM; HELO for the
 * null sender), or NULL; *helo says which.
 */
const struct mt_spf_outcome *auth_spf_primary(const struct mt_auth_results *r,
	    int null_sender, int *helo);

/*
 * Authentication-Results (and, when received_spf, Received-SPF) values for
 * r.  *ar and *rspf are malloc'd (caller frees) or NULL when there is
 * nothing to say.  Returns 0, -1 when a value did not fit or memory ran
 * out (*ar then NULL).
 */
int	 auth_header(const struct mt_auth_results *r, const char *authserv_id,
	    int received_spf, const char *client_addr, const char *mail_from,
	    const char *helo, char **ar, char **rspf);

/* The SMTP reply for MT_AUTH_ACT_REJECT, from dmarc.reject_reply's
 * template ("%d" the From: domain, "%r" the result in words). */
void	 auth_reject_text(const struct mt_auth_results *r, const char *tmpl,
	    char *out, size_t outsz);

/* Free what r holds (not r). */
void	 auth_results_clear(struct mt_auth_results *r);

/* Approximate bytes held by r (for queue accounting). */
size_t	 auth_results_mem(const struct mt_auth_results *r);

/* The sampling draw for a tracking ID: 0..99, the same for the same ID. */
unsigned auth_sample(const char *track_id);

/* Process-wide counters. */
struct auth_counters {
	unsigned long long spf_checks;
	unsigned long long dkim_messages;
	unsigned long long dmarc_checks;
	unsigned long long dmarc_fail;
	unsigned long long dmarc_enforced;
};
void	 auth_counters(struct auth_counters *out);

#endif
