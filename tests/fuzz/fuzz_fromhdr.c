/*
 * fuzz_fromhdr.c - fuzz target for the From: parser (fromhdr_parse).
 *
 * Built as fuzz_dsn.c is: with -DMT_LIBFUZZER by "make fuzz-fromhdr", a
 * libFuzzer target under the address and undefined-behaviour sanitizers;
 * without it by "make check", a plain program replaying
 * tests/fuzz/corpus/fromhdr/ with TAP output.
 *
 * Each input is parsed whole and as two From: fields split at its first
 * newline; the result is checked for what DMARC relies on: a status from
 * the closed list; on OK a domain that is 1..253 lowercase LDH octets with
 * no empty label and no trailing dot; otherwise an empty domain; an offset
 * within the value.
 *
 * Thread safety: single-threaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/fromhdr.h"

#include "replay.h"


static void
check(const struct mt_from_result *r, enum mt_from_status s, size_t len)
{
	size_t	 i, n;

	if (s != r->status || fromhdr_status_name(s) == NULL ||
	    r->offset > len)
		abort();
	n = strnlen(r->domain, sizeof(r->domain));
	if (n == sizeof(r->domain))
		abort();
	if (s != MT_FROM_OK) {
		if (n != 0)
			abort();
		return;
	}
	if (n == 0 || n > MT_FROM_DOMAIN_MAX || r->domain[0] == '.' ||
	    r->domain[n - 1] == '.' || strstr(r->domain, "..") != NULL)
		abort();
	for (i = 0; i < n; i++)
		if (!((r->domain[i] >= 'a' && r->domain[i] <= 'z') ||
		    (r->domain[i] >= '0' && r->domain[i] <= '9') ||
		    r->domain[i] == '-' || r->domain[i] == '.'))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_from_result	 res;
	struct mt_from_value	 v[2];
	const char		*p = (const char *)data;
	const char		*nl = memchr(p, '\n', size);
	enum mt_from_status	 s;

	s = fromhdr_parse(size == 0 ? "" : p, size, &res);
	check(&res, s, size);
	v[0].data = p;
	v[0].len = nl != NULL ? (size_t)(nl - p) : size;
	v[1].data = nl != NULL ? nl + 1 : p;
	v[1].len = nl != NULL ? size - v[0].len - 1 : 0;
	s = fromhdr_domain(v, nl != NULL ? 2 : 1, &res);
	if (nl != NULL && s != MT_FROM_MULTIPLE_FIELDS)
		abort();
	if (nl == NULL)
		check(&res, s, size);
	return 0;
}

FUZZ_REPLAY_MAIN("fromhdr")
