/* Clocks, RFC 3339, durations, UUIDv7 and random numbers. */
#include "base/time.h"
#include "base/err.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

int64_t act_time_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t act_time_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* v in exactly n decimal digits (0 <= v < 10^n). */
static void put_digits(char *p, int v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

char *act_time_format_rfc3339(int64_t us, char *buf, size_t len)
{
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    int ms = (int)((us % 1000000) / 1000);

    if (us < 0) {
        secs = 0;
        ms = 0;
    }
    gmtime_r(&secs, &tm);
    if (len >= 25 && tm.tm_year + 1900 >= 0 && tm.tm_year + 1900 <= 9999) {
        /* By hand: this runs for every event and execution, and snprintf
         * with seven conversions cost more than the rest of the call. */
        put_digits(buf, tm.tm_year + 1900, 4);
        buf[4] = '-';
        put_digits(buf + 5, tm.tm_mon + 1, 2);
        buf[7] = '-';
        put_digits(buf + 8, tm.tm_mday, 2);
        buf[10] = 'T';
        put_digits(buf + 11, tm.tm_hour, 2);
        buf[13] = ':';
        put_digits(buf + 14, tm.tm_min, 2);
        buf[16] = ':';
        put_digits(buf + 17, tm.tm_sec, 2);
        buf[19] = '.';
        put_digits(buf + 20, ms, 3);
        buf[23] = 'Z';
        buf[24] = '\0';
        return buf;
    }
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return buf;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's
 * civil-from-days inverse, written from the published description). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int act_time_parse_rfc3339(const char *s, int64_t *out_us)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0;
    int64_t frac = 0, scale = 1000000;
    const char *p = s;

    if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
        digits(&p, 2, &d) < 0)
        return ACT_EINVAL;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return ACT_EINVAL;
    p++;
    if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0 || *p++ != ':' ||
        digits(&p, 2, &sec) < 0)
        return ACT_EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return ACT_EINVAL;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return ACT_EINVAL;
        while (isdigit((unsigned char)*p)) {
            if (scale > 1) {
                scale /= 10;
                frac += (*p - '0') * scale;
            }
            p++;
        }
    }
    int sign = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        p++;
        if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0)
            return ACT_EINVAL;
    } else {
        return ACT_EINVAL;
    }
    if (*p)
        return ACT_EINVAL;
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    t -= sign * (oh * 3600 + om * 60);
    *out_us = t * 1000000 + frac;
    return ACT_OK;
}

int act_duration_parse_ms(const char *s, int64_t *out_ms)
{
    char *end;
    long long v;

    if (!s || !isdigit((unsigned char)*s))
        return ACT_EINVAL;
    v = strtoll(s, &end, 10);
    if (v < 0 || v > 100LL * 365 * 86400 * 1000)
        return ACT_EINVAL;
    if (*end == '\0' || strcmp(end, "ms") == 0)
        *out_ms = v;
    else if (strcmp(end, "s") == 0)
        *out_ms = v * 1000;
    else if (strcmp(end, "m") == 0)
        *out_ms = v * 60000;
    else if (strcmp(end, "h") == 0)
        *out_ms = v * 3600000;
    else if (strcmp(end, "d") == 0)
        *out_ms = v * 86400000;
    else
        return ACT_EINVAL;
    return ACT_OK;
}

static __thread uint64_t rng_state[2];
static __thread int rng_seeded;

uint64_t act_rand64(void)
{
    /* xorshift128+ */
    if (!rng_seeded) {
        act_random_bytes(rng_state, sizeof(rng_state));
        if (!rng_state[0] && !rng_state[1])
            rng_state[0] = 0x9e3779b97f4a7c15ull;
        rng_seeded = 1;
    }
    uint64_t s1 = rng_state[0];
    const uint64_t s0 = rng_state[1];
    rng_state[0] = s0;
    s1 ^= s1 << 23;
    rng_state[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return rng_state[1] + s0;
}

void act_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r <= 0)
            continue;
        p += r;
        n -= (size_t)r;
    }
}

/* Monotonic within the process: the 12-bit rand_a field is a counter that
 * restarts at a random value each new millisecond (RFC 9562 method 1). */
static pthread_mutex_t uuid_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t uuid_last_ms;
static uint32_t uuid_counter;

void act_uuid_v7(char out[ACT_UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    uint64_t ms = (uint64_t)(act_time_now_us() / 1000);
    uint64_t r1 = act_rand64(), r2 = act_rand64();
    uint32_t ctr;
    size_t o = 0;

    /* Ids must be unique, not secret: the per-thread generator (seeded from
     * getrandom) gives the 62 random bits without a syscall per id. */
    memcpy(b + 8, &r1, 8);
    pthread_mutex_lock(&uuid_lock);
    if (ms <= uuid_last_ms) {
        ms = uuid_last_ms;
        if (++uuid_counter > 0xfff) {
            ms = ++uuid_last_ms;
            uuid_counter = 0;
        }
    } else {
        uuid_last_ms = ms;
        uuid_counter = (uint32_t)(r2 & 0x7ff); /* leave headroom */
    }
    ctr = uuid_counter;
    pthread_mutex_unlock(&uuid_lock);

    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)(0x70 | ((ctr >> 8) & 0x0f));
    b[7] = (unsigned char)(ctr & 0xff);
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

bool act_uuid_valid(const char *s)
{
    if (!s || strlen(s) != ACT_UUID_LEN)
        return false;
    for (int i = 0; i < ACT_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}
