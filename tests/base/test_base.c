/* base: errors, time parsing/formatting, durations, UUIDv7. */
#include "base/alloc.h"
#include "base/err.h"
#include "base/map.h"
#include "base/time.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void test_err(void)
{
    struct act_err err = {0};
    is_int(act_err_field(&err, ACT_EINVAL, "max_retries", "must be >= %d", 0), ACT_EINVAL,
           "act_err_field returns the code");
    is_str(err.field, "max_retries", "field recorded");
    is_str(err.msg, "must be >= 0", "message formatted");
    act_err_prefix_field(&err, "retry_policy");
    is_str(err.field, "retry_policy.max_retries", "prefix joins with a dot");
    is_int(act_err_set(NULL, ACT_EIO, "x"), ACT_EIO, "NULL sink is allowed");
}

static void test_time(void)
{
    char buf[40];
    int64_t us = 0;
    is_int(act_time_parse_rfc3339("2026-11-22T00:50:23.123Z", &us), 0, "parse Z form");
    is_str(act_time_format_rfc3339(us, buf, sizeof(buf)), "2026-11-22T00:50:23.123Z",
           "format round-trips");
    {
        /* the hand-written formatter against strftime-style reference text */
        int bad = 0;

        srand(7);
        for (int i = 0; i < 20000; i++) {
            int64_t t = ((int64_t)rand() << 31 | rand()) % 253402300800000000LL; /* < year 10000 */
            time_t secs = (time_t)(t / 1000000);
            struct tm tm;
            char want[96];

            gmtime_r(&secs, &tm);
            snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (int)((t % 1000000) / 1000));
            bad += strcmp(act_time_format_rfc3339(t, buf, sizeof(buf)), want) != 0;
        }
        is_int(bad, 0, "rfc3339 formatting matches the reference for 20,000 random instants");
        is_str(act_time_format_rfc3339(-5, buf, sizeof(buf)), "1970-01-01T00:00:00.000Z",
               "negative instants format as the epoch");
    }
    is_int(act_time_parse_rfc3339("1970-01-01T01:00:00+01:00", &us), 0, "parse offset");
    is_int(us, 0, "offset applied");
    ok(act_time_parse_rfc3339("2026-13-01T00:00:00Z", &us) < 0, "month 13 rejected");
    ok(act_time_parse_rfc3339("2026-01-01", &us) < 0, "date only rejected");
    ok(act_time_parse_rfc3339("2026-01-01T00:00:00Zjunk", &us) < 0, "trailing junk rejected");

    int64_t ms = 0;
    is_int(act_duration_parse_ms("1h", &ms), 0, "1h parses");
    is_int(ms, 3600000, "1h is 3600000 ms");
    is_int(act_duration_parse_ms("250", &ms), 0, "bare number parses");
    is_int(ms, 250, "bare number is ms");
    ok(act_duration_parse_ms("1y", &ms) < 0, "unknown unit rejected");
    ok(act_duration_parse_ms("-5s", &ms) < 0, "negative rejected");
}

static void test_uuid(void)
{
    char a[ACT_UUID_LEN + 1], b[ACT_UUID_LEN + 1];
    int sorted = 1;
    act_uuid_v7(a);
    ok(act_uuid_valid(a), "uuid v7 is a valid uuid: %s", a);
    is_int(a[14], '7', "version nibble is 7");
    ok(strchr("89ab", a[19]) != NULL, "variant bits are 10");
    for (int i = 0; i < 10000; i++) {
        act_uuid_v7(b);
        if (strcmp(a, b) >= 0)
            sorted = 0;
        memcpy(a, b, sizeof(a));
    }
    ok(sorted, "10000 consecutive ids are strictly increasing");
    ok(!act_uuid_valid("not-a-uuid"), "garbage is not a uuid");
}

static void test_map(void)
{
    struct act_map m;
    char key[32];
    int vals[5000], bad = 0;
    size_t i = 0, seen = 0;
    const char *k;
    void *v;

    act_map_init(&m);
    for (int j = 0; j < 5000; j++) {
        vals[j] = j;
        snprintf(key, sizeof(key), "k%d", j);
        act_map_put(&m, key, &vals[j]);
    }
    for (int j = 0; j < 5000; j += 2) {
        snprintf(key, sizeof(key), "k%d", j);
        if (act_map_del(&m, key) != &vals[j])
            bad++;
    }
    for (int j = 0; j < 5000; j++) {
        snprintf(key, sizeof(key), "k%d", j);
        v = act_map_get(&m, key);
        if ((j % 2 == 0 && v) || (j % 2 == 1 && v != &vals[j]))
            bad++;
    }
    is_int(bad, 0, "5000 inserts, 2500 deletes, lookups consistent");
    while (act_map_next(&m, &i, &k, &v))
        seen++;
    is_int(seen, 2500, "iteration sees the live entries once");
    ok(act_map_put(&m, "k1", NULL) == &vals[1], "replace returns the previous value");
    act_map_release(&m);
}

int main(void)
{
    test_map();
    test_err();
    test_time();
    test_uuid();
    return done_testing();
}
