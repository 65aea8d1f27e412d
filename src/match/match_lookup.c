/*
 * The reader side of the index: lookup and explain (the trie and its
 * invariants are described at the top of match_index.c).
 *
 * A lookup (1) splits the type into segments and hashes each once, (2) walks
 * the trie with an explicit stack, collecting candidate subs, (3) sorts the
 * candidates by (priority desc, seq asc) and drops duplicates, (4) evaluates
 * conditions on what is left.  The segment, stack and candidate buffers
 * start on the C stack and move to the heap only for unusually long types
 * or very popular events, so a typical lookup allocates nothing except when
 * growing the caller's hit array.  Nothing shared is written: reentrant.
 */
#include "base/alloc.h"
#include "match/match_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STACK_SEGS 32
#define STACK_FRAMES 64
#define STACK_CANDS 64

struct tseg {
    const char *s;
    size_t len;
    uint64_t h;
};

struct frame {
    const struct act_mnode *n;
    size_t k;
};

/* A growable array that starts in caller-provided stack storage. */
struct sbuf {
    void *v;
    size_t n, cap, size;
    bool heap;
};

static void sbuf_grow(struct sbuf *b)
{
    void *nv = act_xmalloc(b->cap * 2 * b->size);

    memcpy(nv, b->v, b->n * b->size);
    if (b->heap)
        act_free(b->v);
    b->v = nv;
    b->cap *= 2;
    b->heap = true;
}

static inline void *sbuf_slot(struct sbuf *b)
{
    if (b->n == b->cap)
        sbuf_grow(b);
    return (char *)b->v + b->size * b->n++;
}

static void sbuf_release(struct sbuf *b)
{
    if (b->heap)
        act_free(b->v);
}

struct walk {
    const struct act_match_index *ix;
    const char *type;
    size_t tl;
    struct sbuf segs, stack, cands;
};

static void push(struct walk *w, const struct act_mnode *n, size_t k)
{
    struct frame *f = sbuf_slot(&w->stack);
    f->n = n;
    f->k = k;
}

static inline void add_all(struct walk *w, const struct act_svec *v)
{
    struct act_msub *const *items = act_svec_items(v);

    for (uint32_t i = 0; i < v->n; i++)
        *(const struct act_msub **)sbuf_slot(&w->cands) = items[i];
}

static void split(struct walk *w)
{
    size_t ts = 0;

    for (;;) { /* "" and "a." have an empty (last) segment, like the matcher */
        const char *dot = memchr(w->type + ts, '.', w->tl - ts);
        size_t te = dot ? (size_t)(dot - w->type) : w->tl;
        struct tseg *sg = sbuf_slot(&w->segs);
        sg->s = w->type + ts;
        sg->len = te - ts;
        sg->h = act_mmap_hash_bytes(sg->s, sg->len);
        if (!dot)
            break;
        ts = te + 1;
    }
}

/* Visit one (node, segment index) pair; see the design note for why each
 * pair is reached at most once. */
static void visit(struct walk *w, const struct act_mnode *n, size_t k)
{
    const struct tseg *segs = w->segs.v;
    size_t n_segs = w->segs.n;

    for (uint32_t i = 0; i < n->n_resid; i++)
        if (act_pattern_match(n->resid[i]->pat, w->type, w->tl))
            add_all(w, &n->resid[i]->subs);
    if (k == n_segs) {
        if (n->term.n)
            add_all(w, &n->term);
    } else {
        const struct tseg *sg = &segs[k];
        if (n->n_lit) {
            const struct act_mnode *c = act_match_edge_get(w->ix, n, sg->h, sg->s, sg->len);
            if (c)
                push(w, c, k + 1);
        }
        if (n->star)
            push(w, n->star, k + 1);
        for (uint32_t i = 0; i < n->n_globs; i++)
            if (act_match_glob(n->globs[i]->label, n->globs[i]->label_len, sg->s, sg->len))
                push(w, n->globs[i], k + 1);
    }
    if (n->dstar)
        for (size_t j = k; j <= n_segs; j++)
            push(w, n->dstar, j);
}

static int cand_cmp(const void *a, const void *b)
{
    const struct act_msub *x = *(const struct act_msub *const *)a;
    const struct act_msub *y = *(const struct act_msub *const *)b;

    if (x->priority != y->priority)
        return x->priority > y->priority ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static void sort_subs(const struct act_msub **v, size_t n)
{
    if (n > 16) {
        qsort(v, n, sizeof(*v), cand_cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) { /* small sets: insertion sort */
        const struct act_msub *x = v[i];
        size_t j = i;
        for (; j > 0 && cand_cmp(&v[j - 1], &x) > 0; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Collect, sort and dedupe the subs whose patterns match `type`; the result
 * is w->cands.  Returns the number of distinct candidates. */
static size_t candidates(struct walk *w)
{
    const struct act_msub **v;
    size_t n = 0;

    split(w);
    push(w, w->ix->root, 0);
    while (w->stack.n) {
        /* copy: visit() pushes into (and may move) the slot we pop */
        struct frame f = ((const struct frame *)w->stack.v)[--w->stack.n];
        visit(w, f.n, f.k);
    }
    v = w->cands.v;
    sort_subs(v, w->cands.n);
    for (size_t i = 0; i < w->cands.n; i++)
        if (!n || v[n - 1] != v[i])
            v[n++] = v[i];
    w->cands.n = n;
    return n;
}

#define WALK_INIT(w, ix_, t, tl_, segbuf, framebuf, candbuf)                                      \
    do {                                                                                           \
        (w).ix = (ix_);                                                                            \
        (w).type = (t);                                                                            \
        (w).tl = (tl_);                                                                            \
        (w).segs = (struct sbuf){segbuf, 0, STACK_SEGS, sizeof(struct tseg), false};               \
        (w).stack = (struct sbuf){framebuf, 0, STACK_FRAMES, sizeof(struct frame), false};         \
        (w).cands = (struct sbuf){candbuf, 0, STACK_CANDS, sizeof(void *), false};                 \
    } while (0)

static void walk_release(struct walk *w)
{
    sbuf_release(&w->segs);
    sbuf_release(&w->stack);
    sbuf_release(&w->cands);
}

static const json_t *event_type(const json_t *event)
{
    const json_t *t = json_is_object(event) ? json_object_getn(event, "type", 4) : NULL;
    return json_is_string(t) ? t : NULL;
}

size_t act_match_index_lookup(const struct act_match_index *ix, const json_t *event,
                              struct act_match_hits *out)
{
    struct tseg segbuf[STACK_SEGS];
    struct frame framebuf[STACK_FRAMES];
    const struct act_msub *candbuf[STACK_CANDS];
    const json_t *t = event_type(event);
    const struct act_msub **v;
    struct walk w;
    size_t n, added = 0;

    if (!t)
        return 0;
    WALK_INIT(w, ix, json_string_value(t), json_string_length(t), segbuf, framebuf, candbuf);
    n = candidates(&w);
    v = w.cands.v;
    for (size_t i = 0; i < n; i++) {
        if (v[i]->cond && !act_cond_eval(v[i]->cond, event, NULL, 0))
            continue;
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 8;
            out->v = act_xrealloc(out->v, out->cap * sizeof(*out->v));
        }
        out->v[out->n++] = (struct act_match_hit){v[i]->id, v[i]->ud, v[i]->priority};
        added++;
    }
    walk_release(&w);
    return added;
}

/* The explain row of one sub; cand says its patterns matched. */
static void explain_one(const struct act_msub *s, const json_t *event, const char *type_shown,
                        bool cand, struct act_match_explain_row *r)
{
    memset(r, 0, sizeof(*r));
    r->sub_id = s->id;
    r->ud = s->ud;
    if (!type_shown)
        snprintf(r->reason, sizeof(r->reason), "event has no type");
    else if (!cand)
        snprintf(r->reason, sizeof(r->reason), "no pattern matched %s", type_shown);
    else if (!s->cond || act_cond_eval(s->cond, event, r->reason, sizeof(r->reason)))
        r->matched = true;
    if (r->matched)
        r->reason[0] = '\0';
    act_match_trim_utf8(r->reason);
}

int act_match_index_explain(const struct act_match_index *ix, const json_t *event,
                            struct act_match_explain_row **rows, size_t *n_rows)
{
    struct tseg segbuf[STACK_SEGS];
    struct frame framebuf[STACK_FRAMES];
    const struct act_msub *candbuf[STACK_CANDS];
    const json_t *t = event_type(event);
    const struct act_msub **all, **cv = NULL;
    struct act_match_explain_row *tmp, *out;
    size_t n_all = 0, n_c = 0, m = 0;
    char shown[160];
    struct walk w;

    *rows = NULL;
    *n_rows = 0;
    if (!ix->subs.n)
        return ACT_OK;
    all = act_xcalloc(ix->subs.n, sizeof(*all));
    for (size_t i = 0; i < ix->subs.cap; i++)
        if (ix->subs.slots[i].hash)
            all[n_all++] = ix->subs.slots[i].val;
    sort_subs(all, n_all);
    WALK_INIT(w, ix, t ? json_string_value(t) : "", t ? json_string_length(t) : 0, segbuf,
              framebuf, candbuf);
    if (t) {
        n_c = candidates(&w);
        cv = w.cands.v;
        act_match_fmt_value(t, shown, sizeof(shown));
    }
    /* `all` and the candidates share one order, so one merge walk tells
     * which subs are candidates; then matched rows go first. */
    tmp = act_xcalloc(n_all, sizeof(*tmp));
    for (size_t i = 0, c = 0; i < n_all; i++) {
        bool cand = c < n_c && cv[c] == all[i];
        c += cand;
        explain_one(all[i], event, t ? shown : NULL, cand, &tmp[i]);
        m += tmp[i].matched;
    }
    out = act_xcalloc(n_all, sizeof(*out));
    for (size_t i = 0, a = 0, b = m; i < n_all; i++)
        out[tmp[i].matched ? a++ : b++] = tmp[i];
    act_free(tmp);
    walk_release(&w);
    act_free(all);
    *rows = out;
    *n_rows = n_all;
    return ACT_OK;
}

void act_match_hits_release(struct act_match_hits *h)
{
    if (!h)
        return;
    act_free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}
