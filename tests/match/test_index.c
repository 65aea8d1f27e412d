/*
 * The index against a linear scan: many random subscription sets (literal,
 * `*`, `**`, globs, regexes with and without literal prefixes, multi-`**`,
 * conditions, priorities, replaces and removes) and random events must give
 * identical result lists in identical order.  Then add/replace/remove,
 * priority and insertion order, dedupe, validation errors that leave the
 * index unchanged, explain rows and trie pruning (through match_internal.h,
 * review note: only to read the node count).
 */
#include "base/alloc.h"
#include "base/err.h"
#include "match/match.h"
#include "match/match_internal.h"
#include "tap.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static const char *VOCAB[] = {"a", "b", "c", "ab", "ba"};
static const char *GLOBS[] = {"a*", "?", "[ab]", "*b", "[!a]*", "?b*", "[a-b]?"};
static const char *REGEXES[] = {
    "re:^a\\.",  "re:^a\\.b\\.", "re:b$",       "re:^(a|b)\\.", "re:^ab?\\.c",
    "re:^a\\.b|^c", "re:^c\\.[ab]+$", "re:\\.ab\\.", "re:^ba\\.(a|c)$", "re:^$",
};

static void gen_type(char *buf, size_t len)
{
    size_t n = 0, segs = rnd(5); /* 0 segments gives the empty type */

    buf[0] = '\0';
    for (size_t i = 0; i < segs; i++) {
        const char *s = rnd(30) ? VOCAB[rnd(5)] : ""; /* rare empty segments */
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? "." : "", s);
    }
}

static void gen_pattern(char *buf, size_t len)
{
    size_t n = 0, segs = 1 + rnd(4);

    if (rnd(10) == 0) {
        snprintf(buf, len, "%s", REGEXES[rnd(sizeof(REGEXES) / sizeof(*REGEXES))]);
        return;
    }
    for (size_t i = 0; i < segs; i++) {
        uint32_t r = rnd(100);
        const char *s = r < 50   ? VOCAB[rnd(5)]
                        : r < 63 ? "*"
                        : r < 78 ? "**"
                                 : GLOBS[rnd(sizeof(GLOBS) / sizeof(*GLOBS))];
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? "." : "", s);
    }
}

static json_t *gen_cond(void)
{
    static const char *ops[] = {"gte", "eq", "lt", "ne"};
    uint32_t r = rnd(10);

    if (r < 6)
        return NULL;
    if (r == 6)
        return json_pack("{s:s, s:s}", "field", "data.n", "op", "exists");
    if (r == 7)
        return json_pack("{s:[{s:s,s:s,s:i},{s:s,s:s,s:i}]}", "any", "field", "data.n", "op", "lt",
                         "value", (int)rnd(5), "field", "data.n", "op", "gt", "value",
                         5 + (int)rnd(5));
    return json_pack("{s:s, s:s, s:i}", "field", "data.n", "op", ops[rnd(4)], "value",
                     (int)rnd(10));
}

/* The model: what a linear scan sees. */
struct msub {
    char id[24];
    bool alive;
    int prio;
    uint64_t seq;
    struct act_pattern *pats[4];
    size_t n_pats;
    struct act_cond *cond;
    void *ud;
};

struct model {
    struct msub *v;
    size_t n;
    uint64_t seq;
};

static void msub_clear(struct msub *s)
{
    for (size_t i = 0; i < s->n_pats; i++)
        act_pattern_free(s->pats[i]);
    act_cond_free(s->cond);
    s->n_pats = 0;
    s->cond = NULL;
}

/* Add or replace sub `idx` in both the index and the model. */
static int put_sub(struct act_match_index *ix, struct model *m, size_t idx)
{
    struct msub *s = &m->v[idx];
    json_t *pats = json_array(), *cond = gen_cond();
    size_t n = 1 + rnd(3);
    char buf[128];
    int rc;

    msub_clear(s);
    for (size_t i = 0; i < n; i++) {
        gen_pattern(buf, sizeof(buf));
        json_array_append_new(pats, json_string(buf));
        if (act_pattern_compile(buf, &s->pats[s->n_pats], NULL) == 0)
            s->n_pats++;
    }
    if (act_cond_compile(cond, &s->cond, NULL) < 0)
        s->cond = NULL;
    s->prio = (int)rnd(4) - 1;
    s->ud = (void *)(uintptr_t)(idx + 1);
    if (!s->alive)
        s->seq = m->seq++;
    s->alive = true;
    rc = act_match_index_add(ix, s->id, pats, cond, s->prio, s->ud, NULL);
    json_decref(pats);
    json_decref(cond);
    return rc;
}

static int by_prio_seq(const void *a, const void *b)
{
    const struct msub *x = *(const struct msub *const *)a, *y = *(const struct msub *const *)b;
    if (x->prio != y->prio)
        return x->prio > y->prio ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Linear scan: every live sub, every pattern, then conditions; sorted. */
static size_t linear(const struct model *m, const json_t *ev, const struct msub **out)
{
    const char *type = json_string_value(json_object_get(ev, "type"));
    size_t n = 0;

    for (size_t i = 0; i < m->n; i++) {
        const struct msub *s = &m->v[i];
        bool hit = false;
        if (!s->alive)
            continue;
        for (size_t k = 0; k < s->n_pats && !hit; k++)
            hit = act_pattern_match(s->pats[k], type, strlen(type));
        if (hit && act_cond_eval(s->cond, ev, NULL, 0))
            out[n++] = s;
    }
    qsort(out, n, sizeof(*out), by_prio_seq);
    return n;
}

static json_t *gen_event(void)
{
    char type[64];

    gen_type(type, sizeof(type));
    if (rnd(5) == 0)
        return json_pack("{s:s, s:{}}", "type", type, "data");
    return json_pack("{s:s, s:{s:i}}", "type", type, "data", "n", (int)rnd(10));
}

/* Compare index and linear scan on n_events events; returns mismatches. */
static int compare(struct act_match_index *ix, const struct model *m, int n_events, size_t *hits)
{
    const struct msub **want = act_xcalloc(m->n + 1, sizeof(*want));
    struct act_match_hits got = {0};
    int bad = 0;

    for (int e = 0; e < n_events; e++) {
        json_t *ev = gen_event();
        size_t nw = linear(m, ev, want), ng;
        got.n = 0;
        ng = act_match_index_lookup(ix, ev, &got);
        bool same = ng == nw && got.n == nw;
        for (size_t i = 0; same && i < nw; i++)
            same = strcmp(got.v[i].sub_id, want[i]->id) == 0 && got.v[i].ud == want[i]->ud &&
                   got.v[i].priority == want[i]->prio;
        if (!same && bad++ == 0) {
            diag("mismatch for type '%s': index %zu hits, linear %zu",
                 json_string_value(json_object_get(ev, "type")), ng, nw);
            for (size_t i = 0; i < ng; i++)
                diag("  index: %s", got.v[i].sub_id);
            for (size_t i = 0; i < nw; i++)
                diag("  linear: %s", want[i]->id);
        }
        *hits += nw;
        json_decref(ev);
    }
    act_match_hits_release(&got);
    act_free(want);
    return bad;
}

static void test_random(void)
{
    size_t total_hits = 0, total_subs = 0;
    int bad_sets = 0;

    rng_state = 0x9e3779b97f4a7c15ull;
    diag("random sets, seed 0x9e3779b97f4a7c15");
    for (int set = 0; set < 120; set++) {
        struct act_match_index *ix = act_match_index_new();
        struct model m = {.n = 10 + rnd(150)};
        int bad = 0;

        m.v = act_xcalloc(m.n, sizeof(*m.v));
        for (size_t i = 0; i < m.n; i++) {
            snprintf(m.v[i].id, sizeof(m.v[i].id), "s%u", (unsigned)i);
            bad += put_sub(ix, &m, i) != 0;
        }
        bad += compare(ix, &m, 150, &total_hits);
        /* churn: replace some, remove some, re-add some removed ones */
        for (size_t k = 0; k < m.n / 2; k++) {
            size_t i = rnd((uint32_t)m.n);
            if (rnd(3) == 0 && m.v[i].alive) {
                bad += act_match_index_remove(ix, m.v[i].id) != 0;
                m.v[i].alive = false;
                msub_clear(&m.v[i]);
            } else {
                bad += put_sub(ix, &m, i) != 0;
            }
        }
        bad += compare(ix, &m, 150, &total_hits);
        size_t live = 0;
        for (size_t i = 0; i < m.n; i++)
            live += m.v[i].alive;
        bad += act_match_index_count(ix) != live;
        total_subs += m.n;
        bad_sets += bad != 0;
        for (size_t i = 0; i < m.n; i++) {
            if (m.v[i].alive)
                bad += act_match_index_remove(ix, m.v[i].id) != 0;
            msub_clear(&m.v[i]);
        }
        if (ix->n_nodes != 1 && bad_sets == 0) {
            diag("set %d: %zu trie nodes left after removing every sub", set, ix->n_nodes);
            bad_sets++;
        }
        act_free(m.v);
        act_match_index_free(ix);
    }
    is_int(bad_sets, 0, "120 random sets: index == linear scan (results and order)");
    ok(total_hits > 10000, "the random sets produce real matches (%zu hits, %zu subs)",
       total_hits, total_subs);
}

/* --- hand-written cases --- */

static int add(struct act_match_index *ix, const char *id, const char *pats, const char *cond,
               int prio, struct act_err *err)
{
    json_t *p = json_loads(pats, 0, NULL), *c = cond ? json_loads(cond, 0, NULL) : NULL;
    int rc = act_match_index_add(ix, id, p, c, prio, (void *)id, err);
    json_decref(p);
    json_decref(c);
    return rc;
}

/* Lookup and render the hits as "id,id,...". */
static const char *hits_of(struct act_match_index *ix, const char *event, char *buf, size_t len)
{
    json_t *ev = json_loads(event, 0, NULL);
    struct act_match_hits h = {0};
    size_t n = 0;

    act_match_index_lookup(ix, ev, &h);
    buf[0] = '\0';
    for (size_t i = 0; i < h.n && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? "," : "", h.v[i].sub_id);
    act_match_hits_release(&h);
    json_decref(ev);
    return buf;
}

#define EV(type) "{\"type\": \"" type "\", \"data\": {\"tier\": \"basic\", \"amount\": 50}}"

static void test_basics(void)
{
    struct act_match_index *ix = act_match_index_new();
    struct act_err err = {0};
    char b[256];

    is_int(add(ix, "s1", "[\"users.created\"]", NULL, 0, &err), 0, "add s1");
    is_int(add(ix, "s2", "[\"users.*\"]", NULL, 0, &err), 0, "add s2");
    is_str(hits_of(ix, EV("users.created"), b, sizeof(b)), "s1,s2", "both, insertion order");
    is_int(add(ix, "s1", "[\"orders.*\"]", NULL, 0, &err), 0, "replace s1");
    is_int(act_match_index_count(ix), 2, "replace does not add");
    is_str(hits_of(ix, EV("users.created"), b, sizeof(b)), "s2", "old pattern gone");
    is_str(hits_of(ix, EV("orders.paid"), b, sizeof(b)), "s1", "new pattern in");
    is_int(add(ix, "s1", "[\"users.created\"]", NULL, 0, &err), 0, "replace s1 back");
    is_str(hits_of(ix, EV("users.created"), b, sizeof(b)), "s1,s2",
           "replace keeps insertion order");
    is_int(act_match_index_remove(ix, "s1"), 0, "remove s1");
    is_int(act_match_index_remove(ix, "s1"), ACT_ENOTFOUND, "remove twice");
    is_int(act_match_index_remove(ix, "nope"), ACT_ENOTFOUND, "remove unknown");
    is_int(act_match_index_remove(ix, NULL), ACT_ENOTFOUND, "remove NULL");
    is_str(hits_of(ix, EV("users.created"), b, sizeof(b)), "s2", "s1 gone");

    is_int(add(ix, "low", "[\"users.created\"]", NULL, -5, &err), 0, "add low");
    is_int(add(ix, "high", "[\"users.created\"]", NULL, 10, &err), 0, "add high");
    is_int(add(ix, "mid", "[\"**\"]", NULL, 0, &err), 0, "add mid");
    is_str(hits_of(ix, EV("users.created"), b, sizeof(b)), "high,s2,mid,low",
           "priority desc, then insertion order");
    is_int(add(ix, "dup", "[\"users.*\", \"users.created\", \"**\", \"re:users\", \"user?.*\"]",
               NULL, 20, &err),
           0, "add a sub with five matching patterns");
    is_str(hits_of(ix, EV("users.created"), b, sizeof(b)), "dup,high,s2,mid,low",
           "matched through several patterns, listed once");
    is_int(add(ix, "cond", "[\"users.created\"]",
               "{\"field\": \"data.amount\", \"op\": \"gt\", \"value\": 10}", 30, &err),
           0, "add with a condition");
    is_int(add(ix, "nocond", "[\"users.created\"]",
               "{\"field\": \"data.tier\", \"op\": \"eq\", \"value\": \"premium\"}", 30, &err),
           0, "add with a failing condition");
    is_str(hits_of(ix, EV("users.created"), b, sizeof(b)), "cond,dup,high,s2,mid,low",
           "conditions filter candidates");
    is_str(hits_of(ix, "{\"data\": {}}", b, sizeof(b)), "", "no type, no hits");
    is_str(hits_of(ix, "{\"type\": 5}", b, sizeof(b)), "", "non-string type, no hits");

    /* hits are appended */
    json_t *ev = json_loads(EV("users.created"), 0, NULL);
    struct act_match_hits h = {0};
    is_int(act_match_index_lookup(ix, ev, &h), 6, "lookup returns the count");
    is_int(act_match_index_lookup(ix, ev, &h), 6, "second lookup appends");
    is_int(h.n, 12, "twelve hits in the array");
    is_str(h.v[6].sub_id, "cond", "appended after the first batch");
    ok(h.v[0].ud == (void *)"cond" || strcmp((const char *)h.v[0].ud, "cond") == 0, "ud passed");
    is_int(h.v[0].priority, 30, "priority passed");
    act_match_hits_release(&h);
    ok(h.v == NULL && h.n == 0, "release resets");
    json_decref(ev);
    act_match_index_free(ix);
    act_match_index_free(NULL);
}

static void bad_add(struct act_match_index *ix, const char *pats, const char *cond,
                    const char *field, const char *msg)
{
    struct act_err err = {0};
    size_t before = act_match_index_count(ix);
    char b[128];

    is_int(add(ix, "keep", pats, cond, 99, &err), ACT_EINVAL, "rejected: %s %s", pats,
           cond ? cond : "");
    is_str(err.field, field, "field");
    is_str(err.msg, msg, "message");
    is_int(act_match_index_count(ix), before, "count unchanged");
    is_str(hits_of(ix, EV("users.created"), b, sizeof(b)), "keep", "old version still matches");
}

static void test_validation(void)
{
    struct act_match_index *ix = act_match_index_new();
    char many[2048];
    size_t n = 0;

    ok(add(ix, "keep", "[\"users.*\"]", NULL, 0, NULL) == 0, "add keep");
    bad_add(ix, "{}", NULL, "event_patterns", "must be an array of strings");
    bad_add(ix, "[]", NULL, "event_patterns", "must not be empty");
    bad_add(ix, "[\"a\", 5]", NULL, "event_patterns[1]", "must be a string");
    bad_add(ix, "[\"a\", \"b\", \"a..b\"]", NULL, "event_patterns[2]",
            "pattern 'a..b': empty segment 2");
    bad_add(ix, "[\"re:(\"]", NULL, "event_patterns[0]",
            "pattern 're:(': missing closing parenthesis at offset 1");
    bad_add(ix, "[\"a\"]",
            "{\"all\": [{\"field\": \"a\", \"op\": \"eq\", \"value\": 1},"
            " {\"field\": \"b\", \"op\": \"foo\", \"value\": 1}]}",
            "conditions.all[1].op", "unknown op 'foo'");
    bad_add(ix, "[\"a\"]", "[1]", "conditions", "condition must be an object");
    n = (size_t)snprintf(many, sizeof(many), "[");
    for (int i = 0; i < ACT_MATCH_MAX_PATTERNS + 1; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, "%s\"p%d\"", i ? "," : "", i);
    snprintf(many + n, sizeof(many) - n, "]");
    bad_add(ix, many, NULL, "event_patterns", "more than 64 patterns");
    many[n - 6] = ']'; /* drop the last pattern: 64 is fine */
    many[n - 5] = '\0';
    ok(add(ix, "sixty-four", many, NULL, 0, NULL) == 0, "64 patterns accepted");
    ok(add(ix, "", "[\"a\"]", NULL, 0, NULL) == ACT_EINVAL, "empty id rejected");
    act_match_index_free(ix);
}

static void test_explain(void)
{
    struct act_match_index *ix = act_match_index_new();
    struct act_match_explain_row *rows = NULL;
    size_t n = 99;
    json_t *ev = json_loads(EV("users.created"), 0, NULL);

    is_int(act_match_index_explain(ix, ev, &rows, &n), 0, "explain on an empty index");
    ok(rows == NULL && n == 0, "no rows");
    add(ix, "del", "[\"users.deleted\"]", NULL, 50, NULL);
    add(ix, "prem", "[\"users.*\"]",
        "{\"field\": \"data.tier\", \"op\": \"eq\", \"value\": \"premium\"}", 40, NULL);
    add(ix, "a", "[\"users.created\"]", NULL, 0, NULL);
    add(ix, "b", "[\"**\"]", NULL, 5, NULL);
    add(ix, "vip", "[\"users.*\"]", "{\"field\": \"data.vip\", \"op\": \"exists\"}", 0, NULL);
    is_int(act_match_index_explain(ix, ev, &rows, &n), 0, "explain");
    is_int(n, 5, "a row per subscription");
    is_str(rows[0].sub_id, "b", "matched first, in lookup order");
    ok(rows[0].matched && rows[0].reason[0] == '\0', "matched row has no reason");
    is_str(rows[1].sub_id, "a", "second match");
    ok(rows[1].matched, "a matched");
    ok(strcmp((const char *)rows[1].ud, "a") == 0, "ud in the row");
    is_str(rows[2].sub_id, "del", "then the rest, by priority");
    ok(!rows[2].matched, "del did not match");
    is_str(rows[2].reason, "no pattern matched 'users.created'", "pattern reason");
    is_str(rows[3].sub_id, "prem", "prem");
    is_str(rows[3].reason, "condition data.tier eq 'premium': got 'basic'", "condition reason");
    is_str(rows[4].sub_id, "vip", "vip last (same priority as a, added later)");
    is_str(rows[4].reason, "condition data.vip exists: field absent", "exists reason");
    act_free(rows);

    json_decref(ev);
    ev = json_loads("{\"data\": {}}", 0, NULL);
    is_int(act_match_index_explain(ix, ev, &rows, &n), 0, "explain without a type");
    is_int(n, 5, "still a row per subscription");
    is_str(rows[0].reason, "event has no type", "reason");
    act_free(rows);
    json_decref(ev);
    act_match_index_free(ix);
}

/* Ids i (as "s<i>") for which keep(i) holds, comma-separated. */
static const char *ids_where(bool (*keep)(int), int n, char *buf, size_t len)
{
    size_t o = 0;

    buf[0] = '\0';
    for (int i = 0; i < n && o < len; i++)
        if (keep(i))
            o += (size_t)snprintf(buf + o, len - o, "%ss%d", o ? "," : "", i);
    return buf;
}

/* svc3.entity3.created is matched by "svc3.entity3.created" (i == 3),
 * "svc<i%4>.**" and "re:^svc<i%13>\." */
static bool hit_all(int i)
{
    return i == 3 || i % 4 == 3 || i % 13 == 3;
}

static bool hit_odd(int i)
{
    return i % 2 && hit_all(i);
}

static void test_pruning(void)
{
    struct act_match_index *ix = act_match_index_new();
    static char b[8192], want[8192];
    char id[32], pats[256];

    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "s%d", i);
        snprintf(pats, sizeof(pats),
                 "[\"svc%d.entity%d.created\", \"svc%d.*.x\", \"svc%d.**\", \"u?%d.[ab].c\","
                 " \"re:^svc%d\\\\.\", \"a.**.b.**.%d\", \"shared.pattern\"]",
                 i % 7, i, i % 5, i % 4, i % 11, i % 13, i % 17);
        add(ix, id, pats, NULL, 0, NULL);
    }
    is_int(act_match_index_count(ix), 1000, "1000 subs");
    ok(ix->n_nodes > 1000, "trie has %zu nodes", ix->n_nodes);
    is_str(hits_of(ix, EV("svc3.entity3.created"), b, sizeof(b)),
           ids_where(hit_all, 1000, want, sizeof(want)), "literal, svc3.** and the regex");
    is_str(hits_of(ix, EV("a.x.b.y.16"), b, sizeof(b)), "s16,s33,s50,s67,s84,s101,s118,s135,s152,"
           "s169,s186,s203,s220,s237,s254,s271,s288,s305,s322,s339,s356,s373,s390,s407,s424,s441,"
           "s458,s475,s492,s509,s526,s543,s560,s577,s594,s611,s628,s645,s662,s679,s696,s713,s730,"
           "s747,s764,s781,s798,s815,s832,s849,s866,s883,s900,s917,s934,s951,s968,s985",
           "a.**.b.**.16 (a resid entry shared by equal texts)");
    for (int i = 0; i < 1000; i += 2) {
        snprintf(id, sizeof(id), "s%d", i);
        act_match_index_remove(ix, id);
    }
    is_str(hits_of(ix, EV("svc3.entity3.created"), b, sizeof(b)),
           ids_where(hit_odd, 1000, want, sizeof(want)), "after removing even ids");
    for (int i = 1; i < 1000; i += 2) {
        snprintf(id, sizeof(id), "s%d", i);
        act_match_index_remove(ix, id);
    }
    is_int(act_match_index_count(ix), 0, "empty");
    is_int(ix->n_nodes, 1, "trie pruned back to the root");
    is_int(ix->edges.n, 0, "no literal edges left");
    act_match_index_free(ix);
}

/* Lookups are reentrant: four threads on one index see what one thread sees
 * (regex patterns included: PCRE2 match data is per thread). */
struct reader {
    struct act_match_index *ix;
    json_t **events;
    size_t n_events, *want, bad;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    struct act_match_hits h = {0};

    for (int round = 0; round < 20; round++)
        for (size_t e = 0; e < r->n_events; e++) {
            h.n = 0;
            r->bad += act_match_index_lookup(r->ix, r->events[e], &h) != r->want[e];
        }
    act_match_hits_release(&h);
    return NULL;
}

static void test_threads(void)
{
    struct act_match_index *ix = act_match_index_new();
    json_t *events[200];
    size_t want[200], bad = 0;
    struct reader r[4];
    pthread_t th[4];
    struct model m = {.n = 300};
    struct act_match_hits h = {0};

    rng_state = 0x1234567887654321ull;
    m.v = act_xcalloc(m.n, sizeof(*m.v));
    for (size_t i = 0; i < m.n; i++) {
        snprintf(m.v[i].id, sizeof(m.v[i].id), "t%u", (unsigned)i);
        put_sub(ix, &m, i);
    }
    for (size_t e = 0; e < 200; e++) {
        events[e] = gen_event();
        h.n = 0;
        want[e] = act_match_index_lookup(ix, events[e], &h);
    }
    for (int t = 0; t < 4; t++) {
        r[t] = (struct reader){ix, events, 200, want, 0};
        pthread_create(&th[t], NULL, reader_main, &r[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        bad += r[t].bad;
    }
    is_int(bad, 0, "4 threads x 4000 lookups agree with the single-thread results");
    for (size_t e = 0; e < 200; e++)
        json_decref(events[e]);
    for (size_t i = 0; i < m.n; i++)
        msub_clear(&m.v[i]);
    act_free(m.v);
    act_match_hits_release(&h);
    act_match_index_free(ix);
}

int main(void)
{
    test_basics();
    test_validation();
    test_explain();
    test_pruning();
    test_random();
    test_threads();
    return done_testing();
}
