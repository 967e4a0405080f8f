/* resolver.c - being written. */
#include "mailtrail/resolver.h"
