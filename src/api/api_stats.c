/*
 * HTTP request counters and latency histograms for /metrics.
 *
 * One slot per route (plus one for requests no route matched) holds a
 * counter per status code and a latency histogram.  Every pool thread
 * records into the same slots with relaxed atomic adds: no lock on the
 * request path, and a scrape may see a request counted in one series and
 * not yet in another, which Prometheus tolerates.  Status codes come from
 * a fixed list (everything else is counted as code="other") and unmatched
 * requests share route="unmatched", so a client cannot grow the label set.
 *
 * Series: actiond_http_requests_total{method,route,code} and
 * actiond_http_request_duration_seconds{method,route} (histogram).
 */
#include "api/api_internal.h"

#include "base/alloc.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static const int codes[] = {200, 201, 202, 204, 400, 401, 403, 404, 405,
                            409, 411, 413, 415, 422, 429, 500, 503};
#define N_CODES (sizeof(codes) / sizeof(codes[0]) + 1) /* the last slot: "other" */

/* Upper bounds in microseconds; +Inf is the total count. */
static const int64_t bounds_us[] = {250,   500,    1000,   2500,   5000,    10000,   25000,
                                    50000, 100000, 250000, 500000, 1000000, 2500000, 10000000};
#define N_BUCKETS (sizeof(bounds_us) / sizeof(bounds_us[0]))

struct route_slot {
    atomic_uint_fast64_t by_code[N_CODES];
    atomic_uint_fast64_t buckets[N_BUCKETS]; /* per bucket, made cumulative when rendered */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us;
};

struct act_api_stats {
    const struct act_api_route *routes;
    size_t n_routes;
    struct route_slot *slots; /* n_routes + 1; the last one is "unmatched" */
};

struct act_api_stats *act_api_stats_new(const struct act_api_route *routes, size_t n_routes)
{
    struct act_api_stats *s = act_xcalloc(1, sizeof(*s));

    s->routes = routes;
    s->n_routes = n_routes;
    s->slots = act_xcalloc(n_routes + 1, sizeof(*s->slots));
    for (size_t i = 0; i <= n_routes; i++) {
        struct route_slot *r = &s->slots[i];

        for (size_t c = 0; c < N_CODES; c++)
            atomic_init(&r->by_code[c], 0);
        for (size_t b = 0; b < N_BUCKETS; b++)
            atomic_init(&r->buckets[b], 0);
        atomic_init(&r->count, 0);
        atomic_init(&r->sum_us, 0);
    }
    return s;
}

void act_api_stats_free(struct act_api_stats *stats)
{
    if (!stats)
        return;
    act_free(stats->slots);
    act_free(stats);
}

static size_t code_slot(int status)
{
    for (size_t c = 0; c < N_CODES - 1; c++) {
        if (codes[c] == status)
            return c;
    }
    return N_CODES - 1;
}

void act_api_stats_record(struct act_api_stats *stats, long route_idx, int status,
                          int64_t duration_us)
{
    struct route_slot *r;
    size_t b = 0;

    if (!stats)
        return;
    if (route_idx < 0 || (size_t)route_idx >= stats->n_routes)
        route_idx = (long)stats->n_routes;
    if (duration_us < 0)
        duration_us = 0;
    r = &stats->slots[route_idx];
    atomic_fetch_add_explicit(&r->by_code[code_slot(status)], 1, memory_order_relaxed);
    while (b < N_BUCKETS && duration_us > bounds_us[b])
        b++;
    if (b < N_BUCKETS)
        atomic_fetch_add_explicit(&r->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->sum_us, (uint_fast64_t)duration_us, memory_order_relaxed);
}

struct text_buf {
    char *p;
    size_t len, cap;
};

static void tb_printf(struct text_buf *tb, const char *fmt, ...) ACT_PRINTF(2, 3);

static void tb_printf(struct text_buf *tb, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        size_t room = tb->cap - tb->len;

        va_start(ap, fmt);
        n = vsnprintf(tb->p + tb->len, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < room) {
            tb->len += (size_t)n;
            return;
        }
        tb->cap = tb->cap * 2 + (size_t)n + 1;
        tb->p = act_xrealloc(tb->p, tb->cap);
    }
}

static void labels(const struct act_api_stats *s, size_t i, char *out, size_t len)
{
    if (i < s->n_routes)
        snprintf(out, len, "method=\"%s\",route=\"%s\"", s->routes[i].method, s->routes[i].pattern);
    else
        snprintf(out, len, "method=\"\",route=\"unmatched\"");
}

static void render_counts(const struct act_api_stats *s, struct text_buf *tb)
{
    char lab[256];

    tb_printf(tb, "# HELP actiond_http_requests_total HTTP requests answered, by route and "
                  "status code.\n# TYPE actiond_http_requests_total counter\n");
    for (size_t i = 0; i <= s->n_routes; i++) {
        labels(s, i, lab, sizeof(lab));
        for (size_t c = 0; c < N_CODES; c++) {
            uint64_t v = atomic_load_explicit(&s->slots[i].by_code[c], memory_order_relaxed);

            if (!v)
                continue;
            if (c < N_CODES - 1)
                tb_printf(tb, "actiond_http_requests_total{%s,code=\"%d\"} %llu\n", lab, codes[c],
                          (unsigned long long)v);
            else
                tb_printf(tb, "actiond_http_requests_total{%s,code=\"other\"} %llu\n", lab,
                          (unsigned long long)v);
        }
    }
}

static void render_histograms(const struct act_api_stats *s, struct text_buf *tb)
{
    char lab[256];

    tb_printf(tb, "# HELP actiond_http_request_duration_seconds Time from the request line to "
                  "the queued response.\n# TYPE actiond_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= s->n_routes; i++) {
        const struct route_slot *r = &s->slots[i];
        uint64_t count = atomic_load_explicit(&r->count, memory_order_relaxed);
        uint64_t cum = 0;

        if (!count)
            continue;
        labels(s, i, lab, sizeof(lab));
        for (size_t b = 0; b < N_BUCKETS; b++) {
            cum += atomic_load_explicit(&r->buckets[b], memory_order_relaxed);
            tb_printf(tb, "actiond_http_request_duration_seconds_bucket{%s,le=\"%g\"} %llu\n", lab,
                      (double)bounds_us[b] / 1e6, (unsigned long long)cum);
        }
        if (cum > count)
            count = cum;
        tb_printf(tb, "actiond_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n", lab,
                  (unsigned long long)count);
        tb_printf(tb, "actiond_http_request_duration_seconds_sum{%s} %.6f\n", lab,
                  (double)atomic_load_explicit(&r->sum_us, memory_order_relaxed) / 1e6);
        tb_printf(tb, "actiond_http_request_duration_seconds_count{%s} %llu\n", lab,
                  (unsigned long long)count);
    }
}

char *act_api_stats_prometheus(const struct act_api_stats *stats)
{
    struct text_buf tb = {act_xmalloc(4096), 0, 4096};

    tb.p[0] = '\0';
    if (stats) {
        render_counts(stats, &tb);
        render_histograms(stats, &tb);
    }
    return tb.p;
}
