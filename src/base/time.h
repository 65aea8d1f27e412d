/*
 * Time and identifiers.  Times inside actiond are int64 microseconds since
 * the Unix epoch (wall clock) or since an arbitrary origin (monotonic);
 * the API shows them as RFC 3339 UTC strings with millisecond precision.
 * Ids are UUIDv7 (RFC 9562): 48-bit millisecond timestamp, so ids sort by
 * creation time, followed by a 12-bit counter and 62 random bits.
 */
#ifndef ACT_BASE_TIME_H
#define ACT_BASE_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACT_UUID_LEN 36 /* text form, without the NUL */

/* thread: any */
int64_t act_time_now_us(void);
int64_t act_time_mono_us(void);

/* "2026-11-22T00:50:23.123Z" into buf (>= 32 bytes).  Returns buf. thread: any */
char *act_time_format_rfc3339(int64_t us, char *buf, size_t len);

/* Parse an RFC 3339 timestamp (with 'Z' or a numeric offset, optional
 * fraction) into microseconds.  Returns 0 or ACT_EINVAL.  thread: any */
int act_time_parse_rfc3339(const char *s, int64_t *out_us);

/* Parse a duration "30s", "5m", "1h", "2d", "250ms" or a bare number of
 * milliseconds.  Returns 0 or ACT_EINVAL.  thread: any */
int act_duration_parse_ms(const char *s, int64_t *out_ms);

/* A new UUIDv7 in text form into out (>= 37 bytes).  thread: any */
void act_uuid_v7(char out[ACT_UUID_LEN + 1]);

/* True when s is a UUID in canonical text form (any version).  thread: any */
bool act_uuid_valid(const char *s);

/* Uniform random 64-bit value from a per-thread generator seeded from
 * getrandom(2).  Not for secrets.  thread: any */
uint64_t act_rand64(void);

/* Fill buf with n cryptographically strong random bytes.  thread: any */
void act_random_bytes(void *buf, size_t n);

#endif
