/*
 * fuzz_dsn.c - fuzz target for the bounce parser (dsn_parse).
 *
 * Built two ways from this one file:
 *  - with -DMT_LIBFUZZER by "make fuzz-dsn": a libFuzzer target under
 *    clang's address and undefined-behaviour sanitizers;
 *  - without it by "make check": a plain program that replays every file
 *    of tests/fuzz/corpus/dsn/ (or the files and folders given as
 *    arguments) through the same entry point and prints TAP, so the target
 *    is compiled and exercised in every test run.
 *
 * Each input is parsed with small limits (so depth and part limits are
 * reached often) and with the defaults; the record is checked for the
 * invariants callers rely on (values NUL-terminated within their length,
 * recipients within the cap, a kind and a format), then freed.
 *
 * Thread safety: single-threaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/dsn.h"

#include "replay.h"


static void
check_bytes(const struct mt_bytes *b)
{
	if (b->data != NULL && (b->len > MT_BOUNCE_VALUE_MAX ||
	    b->data[b->len] != '\0'))
		abort();
}

static void
check(const struct mt_bounce_rec *r)
{
	size_t	 i;

	if (r->format == NULL || r->n_rcpts > MT_BOUNCE_MAX_RCPTS ||
	    mt_bounce_kind_name(r->kind) == NULL)
		abort();
	check_bytes(&r->reporting_mta);
	check_bytes(&r->orig_message_id);
	check_bytes(&r->orig_track_id);
	check_bytes(&r->orig_queue_id);
	check_bytes(&r->orig_from);
	for (i = 0; i < r->n_rcpts; i++) {
		check_bytes(&r->rcpts[i].recipient);
		check_bytes(&r->rcpts[i].status);
		check_bytes(&r->rcpts[i].diagnostic);
		if (r->rcpts[i].permanent < -1 || r->rcpts[i].permanent > 1 ||
		    mt_bounce_reason_name(r->rcpts[i].reason) == NULL)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dsn_limits small = { 4096, 3, 8, "X-Mailtrail-ID" };
	struct mt_bounce_rec *r;

	dsn_init();
	if ((r = dsn_parse((const char *)data, size, NULL)) != NULL) {
		check(r);
		bounce_rec_free(r);
	}
	if ((r = dsn_parse((const char *)data, size, &small)) != NULL) {
		check(r);
		bounce_rec_free(r);
	}
	return 0;
}

FUZZ_REPLAY_MAIN("dsn")
