/* model: retry-delay arithmetic (seed 1 section 3.3), table values and
 * properties over many random policies and attempts. */
#include "model/model.h"
#include "tap.h"

#include <limits.h>
#include <stdio.h>

/* splitmix64: a deterministic stream, so a failure reproduces. */
static uint64_t rng = 0x5eed5eed1234abcdull;

static uint64_t next_rand(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int64_t rand_between(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(next_rand() % (uint64_t)(hi - lo + 1));
}

static struct act_retry_policy pol(enum act_backoff b, int64_t initial, int64_t max, bool jitter)
{
    struct act_retry_policy p = {.max_retries = 3, .backoff = b, .initial_delay_ms = initial,
                                 .max_delay_ms = max, .jitter = jitter};
    return p;
}

/* The formula computed independently, in 128-bit arithmetic. */
static int64_t oracle(const struct act_retry_policy *p, int attempt)
{
    __int128 d = p->initial_delay_ms;

    if (p->backoff == ACT_BACKOFF_EXPONENTIAL)
        d = attempt - 1 >= 64 ? (d ? (__int128)INT64_MAX * 4 : 0) : d << (attempt - 1);
    else if (p->backoff == ACT_BACKOFF_LINEAR)
        d *= attempt;
    return d > p->max_delay_ms ? p->max_delay_ms : (int64_t)d;
}

static struct act_retry_policy random_policy(bool jitter)
{
    struct act_retry_policy p;
    int64_t initial;

    /* Half of the policies use small delays, so the uncapped region of the
     * curve is exercised as well as the cap. */
    if (next_rand() % 2)
        initial = rand_between(0, 5000);
    else
        initial = rand_between(0, ACT_DELAY_MAX_MS);
    p = pol((enum act_backoff)(next_rand() % 3), initial,
            rand_between(initial, ACT_DELAY_MAX_MS), jitter);
    return p;
}

static void test_table(void)
{
    struct act_retry_policy e = pol(ACT_BACKOFF_EXPONENTIAL, 1000, 60000, false);
    struct act_retry_policy l = pol(ACT_BACKOFF_LINEAR, 1000, 60000, false);
    struct act_retry_policy f = pol(ACT_BACKOFF_FIXED, 1000, 60000, false);
    static const int64_t exp_want[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};

    for (int a = 1; a <= 8; a++)
        is_int(act_retry_delay_ms(&e, a, 0), exp_want[a - 1], "exponential 1000ms attempt %d", a);
    is_int(act_retry_delay_ms(&e, 100, 0), 60000, "exponential attempt 100 capped, no overflow");
    is_int(act_retry_delay_ms(&e, INT_MAX, 0), 60000, "exponential attempt INT_MAX capped");
    for (int a = 1; a <= 3; a++)
        is_int(act_retry_delay_ms(&l, a, 0), 1000 * a, "linear 1000ms attempt %d", a);
    is_int(act_retry_delay_ms(&l, 61, 0), 60000, "linear capped at max_delay_ms");
    is_int(act_retry_delay_ms(&l, INT_MAX, 0), 60000, "linear attempt INT_MAX capped");
    is_int(act_retry_delay_ms(&f, 1, 0), 1000, "fixed attempt 1");
    is_int(act_retry_delay_ms(&f, 50, 0), 1000, "fixed attempt 50");
    is_int(act_retry_delay_ms(&e, 0, 0), 1000, "attempt 0 counts as the first");
    is_int(act_retry_delay_ms(&e, -7, 0), 1000, "negative attempt counts as the first");

    struct act_retry_policy big = pol(ACT_BACKOFF_EXPONENTIAL, ACT_DELAY_MAX_MS, ACT_DELAY_MAX_MS,
                                      false);
    is_int(act_retry_delay_ms(&big, 100, 0), ACT_DELAY_MAX_MS, "one week initial, attempt 100");
    struct act_retry_policy huge = pol(ACT_BACKOFF_LINEAR, INT64_MAX / 2, INT64_MAX, true);
    ok(act_retry_delay_ms(&huge, 100, UINT64_MAX) > 0, "unvalidated huge policy saturates");
    struct act_retry_policy zero = pol(ACT_BACKOFF_EXPONENTIAL, 0, 0, true);
    is_int(act_retry_delay_ms(&zero, 5, 12345), 0, "zero delay stays zero with jitter");
}

static void test_jitter_ends(void)
{
    struct act_retry_policy e = pol(ACT_BACKOFF_EXPONENTIAL, 1000, 60000, true);

    is_int(act_retry_delay_ms(&e, 1, 0), 1000, "jitter rnd 0: the base delay");
    is_int(act_retry_delay_ms(&e, 1, 250), 1250, "jitter rnd delay/4: base + delay/4");
    is_int(act_retry_delay_ms(&e, 1, 251), 1000, "jitter draws modulo delay/4 + 1");
    is_int(act_retry_delay_ms(&e, 3, 1000), 5000, "attempt 3: 4000 + 1000");
    is_int(act_retry_delay_ms(&e, 10, 15000), 75000, "capped 60000 + 15000");
    is_int(act_retry_delay_ms(&e, 10, 15001), 60000, "capped, rnd wraps to 0");
    struct act_retry_policy odd = pol(ACT_BACKOFF_FIXED, 7, 7, true);
    is_int(act_retry_delay_ms(&odd, 1, 1), 8, "7 // 4 = 1: 8 reachable");
    is_int(act_retry_delay_ms(&odd, 1, 2), 7, "7 // 4 = 1: never 9");
}

/* Without jitter: the exact formula, never above max, monotone in attempt
 * (constant for fixed). */
static void test_properties_plain(void)
{
    int n_formula = 0, n_cap = 0, n_mono = 0, n_const = 0;

    for (int i = 0; i < 4000; i++) {
        struct act_retry_policy p = random_policy(false);
        int64_t prev = -1;

        for (int a = 1; a <= 100; a++) {
            int64_t d = act_retry_delay_ms(&p, a, next_rand());
            if (d != oracle(&p, a) && n_formula++ == 0)
                diag("formula: backoff %d initial %lld max %lld attempt %d got %lld", p.backoff,
                     (long long)p.initial_delay_ms, (long long)p.max_delay_ms, a, (long long)d);
            n_cap += d > p.max_delay_ms || d < 0;
            n_mono += d < prev;
            n_const += p.backoff == ACT_BACKOFF_FIXED && d != p.initial_delay_ms;
            prev = d;
        }
    }
    is_int(n_formula, 0, "no jitter: exactly min(formula, max_delay_ms)");
    is_int(n_cap, 0, "no jitter: 0 <= delay <= max_delay_ms");
    is_int(n_mono, 0, "no jitter: non-decreasing in attempt");
    is_int(n_const, 0, "fixed: constant initial_delay_ms");
}

/* With jitter: base <= delay <= base + base/4, both ends reached. */
static void test_properties_jitter(void)
{
    int n_range = 0, n_low = 0, n_high = 0, n_tries = 0;

    for (int i = 0; i < 4000; i++) {
        struct act_retry_policy p = random_policy(true);
        int a = (int)rand_between(1, 100);
        int64_t base = oracle(&p, a);
        int64_t d = act_retry_delay_ms(&p, a, next_rand());

        if ((d < base || d > base + base / 4) && n_range++ == 0)
            diag("jitter: base %lld got %lld", (long long)base, (long long)d);
        n_low += act_retry_delay_ms(&p, a, 0) != base;
        n_high += act_retry_delay_ms(&p, a, (uint64_t)(base / 4)) != base + base / 4;
        n_tries++;
    }
    is_int(n_range, 0, "jitter: base <= delay <= base + base/4 (%d policies)", n_tries);
    is_int(n_low, 0, "jitter: rnd 0 gives the base");
    is_int(n_high, 0, "jitter: rnd base/4 gives base + base/4");
}

int main(void)
{
    test_table();
    test_jitter_ends();
    test_properties_plain();
    test_properties_jitter();
    return done_testing();
}
