/*
 * Retry-delay arithmetic, seed 1 section 3.3 exactly:
 *
 *   exponential: initial * 2^(attempt-1)     linear: initial * attempt
 *   fixed:       initial
 *   delay = min(delay, max_delay_ms)
 *   jitter:      delay += randint(0, delay // 4)    (both ends inclusive)
 *
 * Invariants: the result is in [0, max_delay_ms + max_delay_ms/4] for any
 * policy and any attempt; nothing overflows, because the uncapped delay is
 * computed with saturation (2^99 * 1000 saturates to INT64_MAX and the cap
 * then brings it down).  The randomness comes in as `rnd` so callers and
 * tests choose it; uniformity over [0, delay/4] is rnd modulo the range,
 * whose bias is negligible for delays under 2^62.
 */
#include "model/model.h"

/* a * b for a, b >= 0, saturating at INT64_MAX. */
static int64_t mul_sat(int64_t a, int64_t b)
{
    if (a == 0 || b == 0)
        return 0;
    if (a > INT64_MAX / b)
        return INT64_MAX;
    return a * b;
}

/* a * 2^shift for a >= 0, shift >= 0, saturating at INT64_MAX. */
static int64_t shl_sat(int64_t a, int shift)
{
    if (a == 0)
        return 0;
    if (shift >= 63 || a > (INT64_MAX >> shift))
        return INT64_MAX;
    return a << shift;
}

static int64_t base_delay(const struct act_retry_policy *p, int attempt)
{
    int64_t initial = p->initial_delay_ms > 0 ? p->initial_delay_ms : 0;

    switch (p->backoff) {
    case ACT_BACKOFF_EXPONENTIAL:
        return shl_sat(initial, attempt - 1);
    case ACT_BACKOFF_LINEAR:
        return mul_sat(initial, attempt);
    case ACT_BACKOFF_FIXED:
        break;
    }
    return initial;
}

int64_t act_retry_delay_ms(const struct act_retry_policy *p, int attempt, uint64_t rnd)
{
    int64_t cap = p->max_delay_ms > 0 ? p->max_delay_ms : 0;
    int64_t delay, add;
    uint64_t range;

    if (attempt < 1)
        attempt = 1;
    delay = base_delay(p, attempt);
    if (delay > cap)
        delay = cap;
    if (!p->jitter)
        return delay;
    range = (uint64_t)(delay / 4);
    /* range + 1 cannot wrap: range <= INT64_MAX / 4.  The sum can only
     * overflow for an unvalidated policy with a cap near INT64_MAX. */
    add = (int64_t)(rnd % (range + 1));
    return delay > INT64_MAX - add ? INT64_MAX : delay + add;
}
