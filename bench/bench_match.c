/*
 * bench_match [n_subs] [n_events]: the subscription index against a linear
 * scan of the same subscriptions, in the same run.
 *
 * Subscriptions (defaults: 10,000): mostly literal types
 * `svc17.entity3.created`, some `svc5.*.created`, `svc3.**`, two
 * `**.failed`, globs (`svc4.entity1*.updated`, `svc1?.entity7.*`), ten
 * `re:` (eight with a literal first segment, two in the fallback list); 30%
 * carry a simple condition.  Events (default 1,000,000 lookups over a pool
 * of 8,192 prepared events) mostly take the type of some literal
 * subscription, so a few subscriptions match each one.
 *
 * The linear scan is what one would write without an index: compile every
 * pattern and condition once, then for each event test every subscription's
 * patterns, evaluate the conditions of those that match and sort by
 * priority.  It runs on fewer events (n_events / 500, at least 200, at most
 * ~2 s) and its rate is scaled per event.  Both produce the same result
 * lists; the bench checks that on every linear event and reports mismatches.
 * RSS (VmRSS) is read after loading the index.  Nothing is asserted: the
 * numbers go in docs/internals/match.md.
 */
#include "base/alloc.h"
#include "base/time.h"
#include "match/match.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENT_POOL 1024
#define N_ENTITIES 50

static const char *VERBS[] = {"created", "updated", "deleted", "failed", "archived"};

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

struct sub {
    char id[16];
    int prio;
    json_t *patterns;
    json_t *cond;
    struct act_pattern **pats; /* linear scan */
    size_t n_pats;
    struct act_cond *c;
};

struct counts {
    size_t literal, star, dstar, failed, glob, regex, cond;
};

/* One pattern text for sub i; `lit_types` collects literal types for events. */
static void gen_pattern(size_t i, size_t n_svc, char *buf, size_t len, struct counts *k)
{
    uint32_t s = rnd((uint32_t)n_svc), e = rnd(N_ENTITIES), r = rnd(1000);
    const char *verb = VERBS[rnd(5)];

    if (i < 2) {
        snprintf(buf, len, "**.failed");
        k->failed++;
    } else if (i < 12) {
        if (i < 10)
            snprintf(buf, len, "re:^svc%u\\.entity[0-9]+\\.(created|deleted)$", s);
        else if (i == 10)
            snprintf(buf, len, "re:\\.entity4[0-9]\\.archived$");
        else
            snprintf(buf, len, "re:^svc(1|2)[0-9]\\.entity7\\.");
        k->regex++;
    } else if (r < 30) {
        snprintf(buf, len, "svc%u.*.created", s);
        k->star++;
    } else if (r < 35) {
        snprintf(buf, len, "svc%u.**", s);
        k->dstar++;
    } else if (r < 50) {
        snprintf(buf, len, "svc%u.entity1*.updated", s);
        k->glob++;
    } else if (r < 52) {
        snprintf(buf, len, "svc1?.entity%u.*", e);
        k->glob++;
    } else {
        snprintf(buf, len, "svc%u.entity%u.%s", s, e, verb);
        k->literal++;
    }
}

static json_t *gen_cond(struct counts *k)
{
    if (rnd(10) >= 3)
        return NULL;
    k->cond++;
    if (rnd(2))
        return json_pack("{s:s, s:s, s:i}", "field", "data.amount", "op", "gte", "value",
                         (int)rnd(1000));
    return json_pack("{s:s, s:s, s:s}", "field", "data.tier", "op", "eq", "value", "premium");
}

static json_t *gen_event(char **lit, size_t n_lit, size_t n_svc)
{
    char type[96];

    if (n_lit && rnd(10) < 9)
        snprintf(type, sizeof(type), "%s", lit[rnd((uint32_t)n_lit)]);
    else
        snprintf(type, sizeof(type), "svc%u.entity%u.%s", rnd((uint32_t)n_svc), rnd(N_ENTITIES),
                 VERBS[rnd(5)]);
    return json_pack("{s:s, s:s, s:s, s:{s:i, s:s, s:{s:i}}}", "id", "e", "source", "bench", "type",
                     type, "data", "amount", (int)rnd(1000), "tier", rnd(2) ? "premium" : "basic",
                     "user", "id", (int)rnd(100000));
}

/* CPU time of this process in microseconds: the machine may be shared, and
 * "events/s on one core" is about the core's time, not the wall clock. */
static int64_t cpu_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long rss_kib(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    if (!fp)
        return -1;
    while (fgets(line, sizeof(line), fp))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    fclose(fp);
    return kib;
}

static int by_prio(const void *a, const void *b)
{
    const struct sub *x = *(const struct sub *const *)a, *y = *(const struct sub *const *)b;
    if (x->prio != y->prio)
        return x->prio > y->prio ? -1 : 1;
    return (x > y) - (x < y); /* array order is insertion order */
}

/* The linear scan for one event; returns the number of hits in out. */
static size_t linear(struct sub *subs, size_t n, const json_t *ev, const struct sub **out)
{
    const json_t *t = json_object_get(ev, "type");
    const char *type = json_string_value(t);
    size_t tl = json_string_length(t), m = 0;

    for (size_t i = 0; i < n; i++) {
        bool hit = false;
        for (size_t k = 0; k < subs[i].n_pats && !hit; k++)
            hit = act_pattern_match(subs[i].pats[k], type, tl);
        if (hit && act_cond_eval(subs[i].c, ev, NULL, 0))
            out[m++] = &subs[i];
    }
    qsort(out, m, sizeof(*out), by_prio);
    return m;
}

static void linear_compile(struct sub *s)
{
    s->n_pats = json_array_size(s->patterns);
    s->pats = act_xcalloc(s->n_pats, sizeof(*s->pats));
    for (size_t k = 0; k < s->n_pats; k++)
        if (act_pattern_compile(json_string_value(json_array_get(s->patterns, k)), &s->pats[k],
                                NULL) < 0)
            ACT_BUG("pattern does not compile");
    if (act_cond_compile(s->cond, &s->c, NULL) < 0)
        ACT_BUG("condition does not compile");
}

/* Everything one run needs and measures. */
struct bench {
    size_t n_subs, n_events, n_svc, n_lit;
    struct sub *subs;
    char **lit;                /* literal types, to draw event types from */
    json_t *pool[EVENT_POOL];
    struct act_match_index *ix;
    struct act_match_hits hits;
    struct counts k;
    long rss0, rss1;
    int64_t t_load, t_idx, w_idx, t_lin;
    size_t idx_hits, lin_hits, lin_done, mismatches;
};

static void setup(struct bench *b)
{
    char buf[128];
    int64_t t0;

    b->subs = act_xcalloc(b->n_subs, sizeof(*b->subs));
    b->lit = act_xcalloc(b->n_subs, sizeof(*b->lit));
    for (size_t i = 0; i < b->n_subs; i++) {
        struct sub *s = &b->subs[i];
        snprintf(s->id, sizeof(s->id), "sub%zu", i % 100000000);
        gen_pattern(i, b->n_svc, buf, sizeof(buf), &b->k);
        if (strncmp(buf, "svc", 3) == 0 && !strchr(buf, '*') && !strchr(buf, '?'))
            b->lit[b->n_lit++] = act_xstrdup(buf);
        s->patterns = json_pack("[s]", buf);
        s->cond = gen_cond(&b->k);
        s->prio = (int)rnd(3);
    }
    b->rss0 = rss_kib(); /* the JSON specs exist; now measure what the index adds */
    b->ix = act_match_index_new();
    t0 = act_time_mono_us();
    for (size_t i = 0; i < b->n_subs; i++) {
        struct sub *s = &b->subs[i];
        if (act_match_index_add(b->ix, s->id, s->patterns, s->cond, s->prio, s, NULL) < 0)
            ACT_BUG("add failed");
    }
    b->t_load = act_time_mono_us() - t0;
    b->rss1 = rss_kib();
    for (size_t i = 0; i < EVENT_POOL; i++)
        b->pool[i] = gen_event(b->lit, b->n_lit, b->n_svc);
}

static void run_index(struct bench *b)
{
    int64_t w0 = act_time_mono_us(), t0 = cpu_us();

    for (size_t e = 0; e < b->n_events; e++) {
        b->hits.n = 0;
        b->idx_hits += act_match_index_lookup(b->ix, b->pool[e % EVENT_POOL], &b->hits);
    }
    b->t_idx = cpu_us() - t0;
    b->w_idx = act_time_mono_us() - w0;
}

/* The linear scan of the same set on fewer events, each checked against
 * the index (same subs, same order). */
static void run_linear(struct bench *b)
{
    const struct sub **want = act_xcalloc(b->n_subs + 1, sizeof(*want));
    size_t n_lin = b->n_events / 500 > 200 ? b->n_events / 500 : 200;

    for (size_t i = 0; i < b->n_subs; i++)
        linear_compile(&b->subs[i]);
    if (n_lin > b->n_events)
        n_lin = b->n_events;
    for (size_t e = 0; e < n_lin && b->t_lin < 2000000; e++) {
        const json_t *ev = b->pool[e % EVENT_POOL];
        int64_t t0 = cpu_us();
        size_t m = linear(b->subs, b->n_subs, ev, want);
        bool same;
        b->t_lin += cpu_us() - t0;
        b->lin_hits += m;
        b->lin_done++;
        b->hits.n = 0;
        same = act_match_index_lookup(b->ix, ev, &b->hits) == m;
        for (size_t i = 0; same && i < m; i++)
            same = b->hits.v[i].ud == want[i];
        b->mismatches += !same;
    }
    act_free(want);
}

static void report(const struct bench *b)
{
    double idx_rate = (double)b->n_events / ((double)b->t_idx / 1e6);
    double lin_rate = (double)b->lin_done / ((double)b->t_lin / 1e6);
    const struct counts *k = &b->k;

    printf("bench_match %zu %zu\n", b->n_subs, b->n_events);
    printf("  %-22s %zu (literal %zu, svc.*.created %zu, svc.** %zu, **.failed %zu, glob %zu,"
           " re: %zu; %zu with a condition)\n",
           "subscriptions", b->n_subs, k->literal, k->star, k->dstar, k->failed, k->glob, k->regex,
           k->cond);
    printf("  %-22s %.0f subs/s (%.1f ms)\n", "index load",
           (double)b->n_subs / ((double)b->t_load / 1e6), (double)b->t_load / 1e3);
    printf("  %-22s %.1f MiB (index %.1f MiB = %.0f bytes/sub; the rest is the bench's JSON)\n",
           "RSS after load", (double)b->rss1 / 1024.0, (double)(b->rss1 - b->rss0) / 1024.0,
           (double)(b->rss1 - b->rss0) * 1024.0 / (double)b->n_subs);
    printf("  %-22s %.2f (index) / %.2f (linear)\n", "matches/event",
           (double)b->idx_hits / (double)b->n_events, (double)b->lin_hits / (double)b->lin_done);
    printf("  %-22s %12.0f events/s  (%zu events, %.3f us/event CPU; wall %.0f events/s)\n",
           "index", idx_rate, b->n_events, (double)b->t_idx / (double)b->n_events,
           (double)b->n_events / ((double)b->w_idx / 1e6));
    printf("  %-22s %12.0f events/s  (%zu events, %.1f us/event)\n", "linear scan", lin_rate,
           b->lin_done, (double)b->t_lin / (double)b->lin_done);
    printf("  %-22s %12.1fx\n", "index / linear", idx_rate / lin_rate);
    printf("  %-22s %zu of %zu checked events\n", "result mismatches", b->mismatches,
           b->lin_done);
}

static void teardown(struct bench *b)
{
    act_match_hits_release(&b->hits);
    act_match_index_free(b->ix);
    for (size_t i = 0; i < b->n_subs; i++) {
        struct sub *s = &b->subs[i];
        for (size_t p = 0; p < s->n_pats; p++)
            act_pattern_free(s->pats[p]);
        act_free(s->pats);
        act_cond_free(s->c);
        json_decref(s->patterns);
        json_decref(s->cond);
    }
    for (size_t i = 0; i < b->n_lit; i++)
        act_free(b->lit[i]);
    for (size_t i = 0; i < EVENT_POOL; i++)
        json_decref(b->pool[i]);
    act_free(b->lit);
    act_free(b->subs);
}

int main(int argc, char **argv)
{
    static struct bench b;
    int rc;

    b.n_subs = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    b.n_events = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
    if (b.n_subs < 20 || b.n_events < 1) {
        fprintf(stderr, "usage: bench_match [n_subs >= 20] [n_events >= 1]\n");
        return 2;
    }
    b.n_svc = b.n_subs / 100 > 20 ? b.n_subs / 100 : 20;
    setup(&b);
    run_index(&b);
    run_linear(&b);
    report(&b);
    rc = b.mismatches ? 1 : 0;
    teardown(&b);
    return rc;
}
