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

int main(int argc, char **argv)
{
    size_t n_subs = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    size_t n_events = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
    size_t n_svc = n_subs / 100 > 20 ? n_subs / 100 : 20, n_lit = 0, n_lin, lin_done = 0;
    size_t idx_hits = 0, lin_hits = 0, mismatches = 0;
    struct sub *subs = act_xcalloc(n_subs, sizeof(*subs));
    char **lit = act_xcalloc(n_subs, sizeof(*lit));
    json_t **pool = act_xcalloc(EVENT_POOL, sizeof(*pool));
    const struct sub **want = act_xcalloc(n_subs + 1, sizeof(*want));
    struct act_match_index *ix = act_match_index_new();
    struct act_match_hits hits = {0};
    struct counts k = {0};
    long rss0, rss1;
    int64_t t0, w0, t_load, t_idx, w_idx, t_lin;
    char buf[128];

    if (n_subs < 20 || n_events < 1) {
        fprintf(stderr, "usage: bench_match [n_subs >= 20] [n_events >= 1]\n");
        return 2;
    }
    for (size_t i = 0; i < n_subs; i++) {
        snprintf(subs[i].id, sizeof(subs[i].id), "sub%zu", i % 100000000);
        gen_pattern(i, n_svc, buf, sizeof(buf), &k);
        if (strncmp(buf, "svc", 3) == 0 && !strchr(buf, '*') && !strchr(buf, '?'))
            lit[n_lit++] = act_xstrdup(buf);
        subs[i].patterns = json_pack("[s]", buf);
        subs[i].cond = gen_cond(&k);
        subs[i].prio = (int)rnd(3);
    }
    rss0 = rss_kib(); /* the JSON specs exist; now measure what the index adds */
    t0 = act_time_mono_us();
    for (size_t i = 0; i < n_subs; i++)
        if (act_match_index_add(ix, subs[i].id, subs[i].patterns, subs[i].cond, subs[i].prio,
                                &subs[i], NULL) < 0)
            ACT_BUG("add failed");
    t_load = act_time_mono_us() - t0;
    rss1 = rss_kib();
    for (size_t i = 0; i < EVENT_POOL; i++)
        pool[i] = gen_event(lit, n_lit, n_svc);

    /* index */
    w0 = act_time_mono_us();
    t0 = cpu_us();
    for (size_t e = 0; e < n_events; e++) {
        hits.n = 0;
        idx_hits += act_match_index_lookup(ix, pool[e % EVENT_POOL], &hits);
    }
    t_idx = cpu_us() - t0;
    w_idx = act_time_mono_us() - w0;

    /* linear scan of the same set, checked against the index */
    for (size_t i = 0; i < n_subs; i++)
        linear_compile(&subs[i]);
    n_lin = n_events / 500 > 200 ? n_events / 500 : 200;
    if (n_lin > n_events)
        n_lin = n_events;
    t_lin = 0;
    for (size_t e = 0; e < n_lin && t_lin < 2000000; e++) {
        const json_t *ev = pool[e % EVENT_POOL];
        size_t m;
        t0 = cpu_us();
        m = linear(subs, n_subs, ev, want);
        t_lin += cpu_us() - t0;
        lin_hits += m;
        lin_done++;
        hits.n = 0;
        bool same = act_match_index_lookup(ix, ev, &hits) == m;
        for (size_t i = 0; same && i < m; i++)
            same = hits.v[i].ud == want[i];
        mismatches += !same;
    }

    double idx_rate = (double)n_events / ((double)t_idx / 1e6);
    double lin_rate = (double)lin_done / ((double)t_lin / 1e6);
    printf("bench_match %zu %zu\n", n_subs, n_events);
    printf("  %-22s %zu (literal %zu, svc.*.created %zu, svc.** %zu, **.failed %zu, glob %zu,"
           " re: %zu; %zu with a condition)\n",
           "subscriptions", n_subs, k.literal, k.star, k.dstar, k.failed, k.glob, k.regex, k.cond);
    printf("  %-22s %.0f subs/s (%.1f ms)\n", "index load", (double)n_subs / ((double)t_load / 1e6),
           (double)t_load / 1e3);
    printf("  %-22s %.1f MiB (index %.1f MiB = %.0f bytes/sub; the rest is the bench's JSON)\n",
           "RSS after load", (double)rss1 / 1024.0, (double)(rss1 - rss0) / 1024.0,
           (double)(rss1 - rss0) * 1024.0 / (double)n_subs);
    printf("  %-22s %.2f (index) / %.2f (linear)\n", "matches/event",
           (double)idx_hits / (double)n_events, (double)lin_hits / (double)lin_done);
    printf("  %-22s %12.0f events/s  (%zu events, %.3f us/event CPU; wall %.0f events/s)\n",
           "index", idx_rate, n_events, (double)t_idx / (double)n_events,
           (double)n_events / ((double)w_idx / 1e6));
    printf("  %-22s %12.0f events/s  (%zu events, %.1f us/event)\n", "linear scan", lin_rate,
           lin_done, (double)t_lin / (double)lin_done);
    printf("  %-22s %12.1fx\n", "index / linear", idx_rate / lin_rate);
    printf("  %-22s %zu of %zu checked events\n", "result mismatches", mismatches, lin_done);

    act_match_hits_release(&hits);
    act_match_index_free(ix);
    for (size_t i = 0; i < n_subs; i++) {
        for (size_t p = 0; p < subs[i].n_pats; p++)
            act_pattern_free(subs[i].pats[p]);
        act_free(subs[i].pats);
        act_cond_free(subs[i].c);
        json_decref(subs[i].patterns);
        json_decref(subs[i].cond);
    }
    for (size_t i = 0; i < n_lit; i++)
        act_free(lit[i]);
    for (size_t i = 0; i < EVENT_POOL; i++)
        json_decref(pool[i]);
    act_free(pool);
    act_free(lit);
    act_free(want);
    act_free(subs);
    return mismatches ? 1 : 0;
}
