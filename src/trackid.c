/*
 * trackid.c - unique, time-ordered tracking IDs (see trackid.h).
 *
 * Layout: 10 base32 characters of milliseconds since the epoch (48 bits),
 * then 16 characters of an 80-bit random part.  Within a process the last
 * (time, random) pair is remembered under a mutex; an ID in the same or an
 * earlier millisecond (clock stepped back) reuses the last time and adds a
 * random step of 1 .. 2^32 (from getrandom(2)) to the random part, so IDs
 * from one process are strictly increasing, and an ID does not give away
 * its neighbour's (a step of one did: the next ID was this one plus one).
 * A fresh millisecond starts at random with the top bit clear, which
 * leaves room for 2^47 steps before the part could overflow (then the
 * time moves on by a millisecond).  Across processes and gateways
 * uniqueness rests on the 80 random bits.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include "mailtrail/clock.h"
#include "mailtrail/trackid.h"

static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static pthread_mutex_t	 id_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t		 last_ms;
static uint16_t		 last_hi;	/* top 16 of the 80 random bits */
static uint64_t		 last_lo;	/* low 64 */

static int
fill_random(void *buf, size_t len)
{
	unsigned char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
trackid_new_at(char out[MT_TRACKID_SIZE], int64_t now_us)
{
	unsigned char	 rnd[10];
	uint32_t	 step;
	uint64_t	 ms, lo;
	uint16_t	 hi;
	int		 i;

	ms = now_us < 0 ? 0 : (uint64_t)now_us / 1000;
	ms &= (((uint64_t)1) << 48) - 1;

	pthread_mutex_lock(&id_lock);
	if (ms <= last_ms && (last_ms != 0 || last_lo != 0 || last_hi != 0)) {
		if (fill_random(&step, sizeof(step)) == -1) {
			pthread_mutex_unlock(&id_lock);
			return -1;
		}
		ms = last_ms;
		lo = last_lo + (uint64_t)step + 1;
		hi = last_hi;
		if (lo < last_lo && ++hi == 0) {
			/* The part is spent: move on a millisecond. */
			ms++;
			hi = (uint16_t)(step >> 17);
		}
	} else {
		if (fill_random(rnd, sizeof(rnd)) == -1) {
			pthread_mutex_unlock(&id_lock);
			return -1;
		}
		hi = (uint16_t)(rnd[0] << 8 | rnd[1]);
		lo = 0;
		for (i = 2; i < 10; i++)
			lo = lo << 8 | rnd[i];
		/* Leave room to count up within this millisecond. */
		hi &= 0x7fff;
	}
	last_ms = ms;
	last_hi = hi;
	last_lo = lo;
	pthread_mutex_unlock(&id_lock);

	/* 48-bit time: 10 characters, 5 bits each (top 2 bits zero). */
	for (i = 9; i >= 0; i--) {
		out[i] = b32[ms & 31];
		ms >>= 5;
	}
	/* 80-bit random part: 16 characters. */
	for (i = 25; i >= 10; i--) {
		out[i] = b32[lo & 31];
		lo = lo >> 5 | (uint64_t)(hi & 31) << 59;
		hi >>= 5;
	}
	out[MT_TRACKID_LEN] = '\0';
	return 0;
}

int
trackid_new(char out[MT_TRACKID_SIZE])
{
	return trackid_new_at(out, mt_now_us());
}

static int
b32_value(char c)
{
	const char	*p;

	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	if (c == '\0' || (p = strchr(b32, c)) == NULL)
		return -1;
	return (int)(p - b32);
}

int
trackid_valid(const char *s, size_t len)
{
	size_t	 i;

	if (s == NULL || len != MT_TRACKID_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (b32_value(s[i]) < 0)
			return 0;
	/* 48 bits of time in 50: the first character is 0-7. */
	return b32_value(s[0]) < 8;
}

int64_t
trackid_time_ms(const char *s, size_t len)
{
	int64_t	 ms = 0;
	int	 i;

	if (!trackid_valid(s, len))
		return -1;
	for (i = 0; i < 10; i++)
		ms = ms << 5 | b32_value(s[i]);
	return ms;
}
