#!/bin/bash
# cmocka-tap.sh TEST [ARG...] - run a cmocka test program with TAP output.
#
# cmocka 1.1 writes a skipped test as "not ok N # SKIP", which automake's
# TAP driver counts as a failure; TAP says "ok N # SKIP".  The test's exit
# status is kept.
CMOCKA_MESSAGE_OUTPUT=TAP
export CMOCKA_MESSAGE_OUTPUT
"$@" | sed -u -e 's/^not ok \([0-9][0-9]*\)\( - [^#]*\)\{0,1\} # SKIP/ok \1\2 # SKIP/'
exit "${PIPESTATUS[0]}"
