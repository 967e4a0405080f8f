/*
 * delivery.c - log-event batches and bounce records (see delivery.h).
 *
 * Pure data: copies with caps, memory accounting, names.  Nothing here
 * parses or stores.  Thread safety: none per object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/delivery.h"

/* Every mt_bytes member of a log event, for copy, clear and accounting. */
#define EVENT_BYTES(X) \
	X(host) X(program) X(queue_id) X(recipient) X(orig_recipient) \
	X(relay) X(dsn) X(reply) X(next_queue_id) X(mailer) X(sender) \
	X(message_id) X(client) X(related_queue_id)

/*
 * A batch's values live in slabs: the first small (a follower's batch
 * holds a few events), each next one twice as large up to SLAB_MAX, or as
 * large as one event needs.
 */
#define SLAB_MIN	4096
#define SLAB_MAX	(64 * 1024)

struct mt_log_slab {
	struct mt_log_slab *next;
	size_t		 size, used;
	char		 data[];
};

#define BOUNCE_BYTES(X) \
	X(bounce_track_id) X(reporting_mta) X(bounce_from) \
	X(bounce_message_id) X(bounce_subject) X(orig_track_id) \
	X(orig_message_id) X(orig_queue_id) X(orig_from) X(arrival_date) \
	X(error)

#define RCPT_BYTES(X) \
	X(recipient) X(orig_recipient) X(action) X(status) X(remote_mta) \
	X(diagnostic) X(last_attempt)

static void
event_clear(struct mt_log_event *e)
{
	if (e->block != NULL) {
		/* In the batch's slabs: freed with them. */
		e->block = NULL;
#define FORGET(f) e->f.data = NULL; e->f.len = 0;
		EVENT_BYTES(FORGET)
		FORGET(delays_text)
#undef FORGET
		return;
	}
#define CLEAR(f) mt_bytes_clear(&e->f);
	EVENT_BYTES(CLEAR)
	CLEAR(delays_text)
#undef CLEAR
}

/* size bytes in the batch's newest slab, or a new one; NULL no memory. */
static char *
slab_alloc(struct mt_log_batch *b, size_t size)
{
	struct mt_log_slab *sl = b->slabs;
	size_t		 want;

	if (sl == NULL || sl->size - sl->used < size) {
		want = sl == NULL ? SLAB_MIN : sl->size * 2;
		if (want > SLAB_MAX)
			want = SLAB_MAX;
		if (want < size)
			want = size;
		if ((sl = malloc(sizeof(*sl) + want)) == NULL)
			return NULL;
		sl->size = want;
		sl->used = 0;
		sl->next = b->slabs;
		b->slabs = sl;
	}
	sl->used += size;
	return sl->data + sl->used - size;
}

struct mt_log_batch *
log_batch_new(enum mt_event_source source)
{
	struct mt_log_batch *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->source = source;
	return b;
}

/* The bytes a slice takes in an event's block: capped, with a NUL. */
static size_t
slice_size(const struct mlog_str *src)
{
	if (src->p == NULL)
		return 0;
	return (src->len > MT_LOG_VALUE_MAX ? MT_LOG_VALUE_MAX : src->len) + 1;
}

/* Copy a slice, capped, into the block at *p (see slice_size). */
static void
copy_str(struct mt_bytes *dst, const struct mlog_str *src, char **p)
{
	size_t	 len;

	if (src->p == NULL)
		return;
	len = src->len > MT_LOG_VALUE_MAX ? MT_LOG_VALUE_MAX : src->len;
	if (len > 0)
		memcpy(*p, src->p, len);
	(*p)[len] = '\0';
	dst->data = *p;
	dst->len = len;
	*p += len + 1;
}

size_t
log_delays_format(char *out, size_t outsz, const double d[4])
{
	int	 n;

	if (d[0] < 0)
		return 0;
	n = snprintf(out, outsz, "%g/%g/%g/%g", d[0], d[1] < 0 ? 0 : d[1],
	    d[2] < 0 ? 0 : d[2], d[3] < 0 ? 0 : d[3]);
	return n > 0 && (size_t)n < outsz ? (size_t)n : 0;
}

int
log_batch_add(struct mt_log_batch *b, const struct mlog_event *ev,
    uint64_t line_hash)
{
	struct mt_log_event	*e, *grown;
	struct mlog_str		 delays;
	size_t			 ncap, size = 0, dlen;
	char			*p, dbuf[128];

	if (ev->kind < MLOG_DELIVERY || ev->kind > MLOG_DEADLETTER ||
	    ev->queue_id.p == NULL)
		return 1;
	if (b->n == b->cap) {
		ncap = b->cap == 0 ? 64 : b->cap * 2;
		if ((grown = realloc(b->ev, ncap * sizeof(*grown))) == NULL)
			return -1;
		b->ev = grown;
		b->cap = ncap;
	}
	e = &b->ev[b->n];
	memset(e, 0, sizeof(*e));
	e->kind = ev->kind;
	e->mta = ev->mta;
	e->time_us = ev->time_us;
	e->line_hash = line_hash;
	e->status = ev->status;
	e->reply_code = ev->reply_code;
	e->delay = ev->delay;
	memcpy(e->delays, ev->delays, sizeof(e->delays));
	e->size = ev->size;
	e->nrcpt = ev->nrcpt;
#define SIZE(f) size += slice_size(&ev->f);
	EVENT_BYTES(SIZE)
#undef SIZE
	delays.p = NULL;
	delays.len = 0;
	if (ev->kind == MLOG_DELIVERY && (dlen = log_delays_format(dbuf,
	    sizeof(dbuf), ev->delays)) > 0) {
		delays.p = dbuf;
		delays.len = dlen;
		size += dlen + 1;
	}
	if ((e->block = slab_alloc(b, size)) == NULL)
		return -1;
	p = e->block;
#define COPY(f) copy_str(&e->f, &ev->f, &p);
	EVENT_BYTES(COPY)
#undef COPY
	copy_str(&e->delays_text, &delays, &p);
	b->n++;
	return 0;
}

int
log_batch_set_position(struct mt_log_batch *b,
    const struct mt_log_position *pos)
{
	struct mt_bytes	 path = { NULL, 0 };

	if (pos->path.data != NULL && mt_bytes_set(&path, pos->path.data,
	    pos->path.len, pos->path.len) < 0)
		return -1;
	mt_bytes_clear(&b->pos.path);
	b->pos = *pos;
	b->pos.path = path;
	b->has_position = 1;
	return 0;
}

size_t
log_batch_mem(const struct mt_log_batch *b)
{
	const struct mt_log_slab *sl;
	size_t	 mem = sizeof(*b) + b->cap * sizeof(*b->ev) + b->pos.path.len;
	size_t	 i;

	for (sl = b->slabs; sl != NULL; sl = sl->next)
		mem += sizeof(*sl) + sl->size;
	for (i = 0; i < b->n; i++) {
		if (b->ev[i].block != NULL)
			continue;	/* counted with the slabs */
#define ADD(f) mem += b->ev[i].f.len;
		EVENT_BYTES(ADD)
		ADD(delays_text)
#undef ADD
	}
	return mem;
}

void
log_batch_free(struct mt_log_batch *b)
{
	size_t	 i;
	struct mt_log_slab *sl, *next;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++)
		event_clear(&b->ev[i]);
	for (sl = b->slabs; sl != NULL; sl = next) {
		next = sl->next;
		free(sl);
	}
	free(b->ev);
	mt_bytes_clear(&b->pos.path);
	free(b);
}

struct mt_bounce_rec *
bounce_rec_new(enum mt_event_source source)
{
	struct mt_bounce_rec *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->source = source;
	b->format = "unknown";
	return b;
}

struct mt_bounce_rcpt *
bounce_rec_add_rcpt(struct mt_bounce_rec *b)
{
	struct mt_bounce_rcpt	*grown, *r;

	if (b->n_rcpts >= MT_BOUNCE_MAX_RCPTS) {
		b->n_rcpts_dropped++;
		return NULL;
	}
	grown = realloc(b->rcpts, (b->n_rcpts + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	b->rcpts = grown;
	r = &b->rcpts[b->n_rcpts++];
	memset(r, 0, sizeof(*r));
	r->permanent = -1;
	return r;
}

size_t
bounce_rec_mem(const struct mt_bounce_rec *b)
{
	size_t	 mem = sizeof(*b) + b->n_rcpts * sizeof(*b->rcpts);
	size_t	 i;

#define ADD(f) mem += b->f.len;
	BOUNCE_BYTES(ADD)
#undef ADD
	for (i = 0; i < b->n_rcpts; i++) {
#define ADDR(f) mem += b->rcpts[i].f.len;
		RCPT_BYTES(ADDR)
#undef ADDR
	}
	return mem;
}

void
bounce_rec_free(struct mt_bounce_rec *b)
{
	size_t	 i;

	if (b == NULL)
		return;
#define CLEAR(f) mt_bytes_clear(&b->f);
	BOUNCE_BYTES(CLEAR)
#undef CLEAR
	for (i = 0; i < b->n_rcpts; i++) {
#define CLEARR(f) mt_bytes_clear(&b->rcpts[i].f);
		RCPT_BYTES(CLEARR)
#undef CLEARR
	}
	free(b->rcpts);
	free(b);
}

static const struct {
	const char	*name;
	const char	*text;
} reasons[] = {
	[MT_REASON_UNKNOWN] = { "unknown", "the report gives no reason we know" },
	[MT_REASON_USER_UNKNOWN] = { "user-unknown",
	    "the mailbox does not exist" },
	[MT_REASON_MAILBOX_FULL] = { "mailbox-full",
	    "the mailbox is full" },
	[MT_REASON_HOST_UNKNOWN] = { "host-unknown",
	    "the domain or its mail server does not exist" },
	[MT_REASON_MESSAGE_TOO_BIG] = { "too-big",
	    "the message is larger than the receiver accepts" },
	[MT_REASON_SPAM] = { "spam",
	    "the receiver judged the content to be spam" },
	[MT_REASON_POLICY] = { "policy",
	    "refused by the receiver's policy (relaying, block list, rate)" },
	[MT_REASON_AUTH_FAILURE] = { "auth-failure",
	    "the message failed the receiver's SPF, DKIM or DMARC checks" },
	[MT_REASON_SUSPENDED] = { "suspended",
	    "the mailbox is disabled or suspended" },
	[MT_REASON_NETWORK] = { "network",
	    "the receiver could not be reached (connection, timeout)" },
	[MT_REASON_EXPIRED] = { "expired",
	    "the sending server gave up retrying" },
	[MT_REASON_SYSTEM] = { "system",
	    "an error on the receiving system" },
	[MT_REASON_DELAYED] = { "delayed",
	    "a delay warning: still being retried" },
	[MT_REASON_FEEDBACK] = { "feedback",
	    "an abuse/feedback report, not a delivery failure" },
	[MT_REASON_AUTOREPLY] = { "autoreply",
	    "an automatic reply (vacation), not a delivery failure" },
};

const char *
mt_bounce_reason_name(enum mt_bounce_reason r)
{
	if ((size_t)r >= sizeof(reasons) / sizeof(reasons[0]))
		r = MT_REASON_UNKNOWN;
	return reasons[r].name;
}

const char *
mt_bounce_reason_text(enum mt_bounce_reason r)
{
	if ((size_t)r >= sizeof(reasons) / sizeof(reasons[0]))
		r = MT_REASON_UNKNOWN;
	return reasons[r].text;
}

const char *
mt_bounce_kind_name(enum mt_bounce_kind k)
{
	switch (k) {
	case MT_BOUNCE_FAILURE:
		return "failure";
	case MT_BOUNCE_DELAY:
		return "delay";
	case MT_BOUNCE_SUCCESS:
		return "success";
	case MT_BOUNCE_FEEDBACK:
		return "feedback";
	case MT_BOUNCE_AUTOREPLY:
		return "autoreply";
	case MT_BOUNCE_NONE:
		break;
	}
	return "none";
}

const char *
mt_event_source_name(enum mt_event_source s)
{
	switch (s) {
	case MT_SOURCE_FOLLOWER:
		return "follower";
	case MT_SOURCE_INGEST:
		return "ingest";
	case MT_SOURCE_MILTER:
		return "milter";
	case MT_SOURCE_COMMAND:
		return "command";
	}
	return "follower";
}
