/*
 * Lua condition evaluations per second, one thread: the event exposed
 * through the lazy userdata proxy (what the matcher uses) against the same
 * event converted into a full Lua table before each evaluation, in the same
 * run.  The event is a typical order: a dozen scalar members, a customer
 * object and a list of items.
 *
 *   bench_lua_cond [evaluations [proxy]]   (default 500000; `proxy`: skip the table run)
 */
#include "base/time.h"
#include "lua/lua.h"

#include <stdio.h>
#include <stdlib.h>

#define EXPR "event.data.tier == 'premium' and event.data.amount >= 100"

static const char *EVENT =
    "{\"id\": \"0190a0b0-1234-7abc-8def-0123456789ab\", \"source\": \"shop\","
    " \"type\": \"orders.paid\", \"time\": \"2026-11-22T00:00:00Z\","
    " \"data\": {\"tier\": \"premium\", \"amount\": 150, \"currency\": \"EUR\","
    "  \"order_id\": \"o-123\", \"channel\": \"web\", \"coupon\": null, \"gift\": false,"
    "  \"country\": \"FR\", \"vat\": 20.0, \"notes\": \"leave at the door\","
    "  \"customer\": {\"id\": 42, \"email\": \"ada@example.com\", \"name\": \"Ada\","
    "   \"since\": \"2020-01-01\"},"
    "  \"items\": [{\"sku\": \"A1\", \"qty\": 1, \"price\": 100},"
    "   {\"sku\": \"B2\", \"qty\": 2, \"price\": 25}, {\"sku\": \"C3\", \"qty\": 1, \"price\": 0}]}}";

static double run(const json_t *ev, unsigned flags, long n, long *hits)
{
    int64_t t0 = act_time_mono_us();

    *hits = 0;
    for (long i = 0; i < n; i++)
        *hits += act_lua_cond_eval(EXPR, ev, flags, NULL, 0);
    return (double)(act_time_mono_us() - t0) / 1e6;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 500000, hits_p, hits_t;
    json_t *ev = json_loads(EVENT, 0, NULL);
    double tp, tt;

    if (!ev || n <= 0) {
        fprintf(stderr, "usage: bench_lua_cond [evaluations]\n");
        return 2;
    }
    run(ev, 0, n / 10 + 1, &hits_p); /* warm up: state, chunk cache */
    tp = run(ev, 0, n, &hits_p);
    hits_t = n;
    tt = argc > 2 ? tp : run(ev, ACT_LUA_EAGER_TABLES, n, &hits_t);
    printf("expression: %s\n", EXPR);
    printf("proxy: %ld evaluations in %.3f s = %.0f evals/s (%.3f us each)\n", n, tp, n / tp,
           tp * 1e6 / n);
    printf("table: %ld evaluations in %.3f s = %.0f evals/s (%.3f us each)\n", n, tt, n / tt,
           tt * 1e6 / n);
    printf("proxy/table speed-up: %.2fx\n", tt / tp);
    json_decref(ev);
    act_lua_thread_release();
    if (hits_p != n || hits_t != n) {
        fprintf(stderr, "wrong results: %ld and %ld of %ld true\n", hits_p, hits_t, n);
        return 1;
    }
    return 0;
}
