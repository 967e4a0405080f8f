/* spf.c - being written. */
#include "mailtrail/spf.h"
