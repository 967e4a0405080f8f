/* authres.c - being written. */
#include "mailtrail/authres.h"
