/* dkimv.c - being written. */
#include "mailtrail/dkimv.h"
