/*
 * trackid.h - unique, time-ordered tracking IDs.
 *
 * A tracking ID is 26 characters of Crockford base32 (0-9, A-Z without
 * I, L, O, U): 48 bits of milliseconds since the epoch followed by 80 random
 * bits.  IDs sort by creation time as plain strings, need no coordination
 * between gateways (80 random bits per millisecond), and are safe in a
 * header, a URL and a file name.  Within one process IDs are strictly
 * increasing: a second ID in the same millisecond adds a random step of
 * 1 .. 2^32 to the random part (so a neighbour's ID cannot be guessed from
 * one's own).
 * Thread-safe.
 */
#ifndef MAILTRAIL_TRACKID_H
#define MAILTRAIL_TRACKID_H

#include <stddef.h>
#include <stdint.h>

#define MT_TRACKID_LEN	26
#define MT_TRACKID_SIZE	(MT_TRACKID_LEN + 1)

/* Write a new ID into out (MT_TRACKID_SIZE bytes).  Returns 0, -1 if the
 * system's random source failed. */
int	 trackid_new(char out[MT_TRACKID_SIZE]);

/* Same, for a given time in microseconds (tests, benchmarks). */
int	 trackid_new_at(char out[MT_TRACKID_SIZE], int64_t now_us);

/* 1 when s[0..len) is a well-formed tracking ID (case-insensitive). */
int	 trackid_valid(const char *s, size_t len);

/* Milliseconds since the epoch encoded in a valid ID; -1 if invalid. */
int64_t	 trackid_time_ms(const char *s, size_t len);

#endif
