/*
 * replay.h - the plain-program side of a fuzz target (tests/fuzz/README).
 *
 * Without -DMT_LIBFUZZER a target's main() calls fuzz_replay_main(), which
 * feeds LLVMFuzzerTestOneInput every file named on the command line (files
 * or folders), or else every file of tests/fuzz/corpus/NAME/ under
 * $top_srcdir, then an empty input and a one-byte one, and prints TAP.
 * Thread safety: single-threaded.
 */
#ifndef MAILTRAIL_FUZZ_REPLAY_H
#define MAILTRAIL_FUZZ_REPLAY_H

#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int	fuzz_replay_main(int argc, char *argv[], const char *name);

#ifndef MT_LIBFUZZER
#define FUZZ_REPLAY_MAIN(name)						\
int									\
main(int argc, char *argv[])						\
{									\
	return fuzz_replay_main(argc, argv, name);			\
}
#else
#define FUZZ_REPLAY_MAIN(name)
#endif

#endif
