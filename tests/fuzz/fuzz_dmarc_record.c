/*
 * fuzz_dmarc_record.c - fuzz target for the _dmarc record parser
 * (dmarc_record_parse).
 *
 * Built as fuzz_dsn.c is: with -DMT_LIBFUZZER by "make fuzz-dmarc-record",
 * a libFuzzer target under the address and undefined-behaviour sanitizers;
 * without it by "make check", a plain program replaying
 * tests/fuzz/corpus/dmarc_record/ with TAP output.
 *
 * The input is parsed as it is and with "v=DMARC1;" put in front (so the
 * fuzzer reaches the tags at once); a valid record is checked for what the
 * evaluator relies on: a p= policy, pct 0..100, sp=/np= from the closed
 * list, psd= one of u/y/n, the kept texts NUL-terminated within their
 * buffers, no tag both valid and ignored.
 *
 * Thread safety: single-threaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/dmarc.h"

#include "replay.h"


static void
check(const struct mt_dmarc_record *r, enum mt_dmarc_rec_status s)
{
	if (s != MT_DMARC_REC_OK && s != MT_DMARC_REC_NOT_DMARC &&
	    s != MT_DMARC_REC_INVALID)
		abort();
	if (s != MT_DMARC_REC_OK)
		return;
	if (r->p < MT_DMARC_P_NONE || r->p > MT_DMARC_P_REJECT ||
	    r->sp > MT_DMARC_P_REJECT || r->np > MT_DMARC_P_REJECT ||
	    r->psd > MT_DMARC_PSD_N || r->pct < 0 || r->pct > 100 ||
	    (r->testing != 0 && r->testing != 1) ||
	    (r->adkim_strict != 0 && r->adkim_strict != 1) ||
	    (r->aspf_strict != 0 && r->aspf_strict != 1))
		abort();
	if (memchr(r->rua, '\0', sizeof(r->rua)) == NULL ||
	    memchr(r->ruf, '\0', sizeof(r->ruf)) == NULL ||
	    memchr(r->fo, '\0', sizeof(r->fo)) == NULL ||
	    memchr(r->rf, '\0', sizeof(r->rf)) == NULL)
		abort();
	if ((r->seen & MT_DMARC_TAG_P) && r->p_implied)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_dmarc_record	 rec;
	char			*buf;
	char			 err[128];

	check(&rec, dmarc_record_parse(size == 0 ? "" : (const char *)data,
	    size, &rec, err, sizeof(err)));
	if ((buf = malloc(size + 9)) == NULL)
		return 0;
	memcpy(buf, "v=DMARC1;", 9);
	if (size > 0)
		memcpy(buf + 9, data, size);
	check(&rec, dmarc_record_parse(buf, size + 9, &rec, NULL, 0));
	free(buf);
	return 0;
}

FUZZ_REPLAY_MAIN("dmarc_record")
