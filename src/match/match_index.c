/*
 * The subscription index: a segment trie over event types.
 *
 * How matching works (read this before changing the index)
 * --------------------------------------------------------
 * An event type "svc17.entity3.created" is split on '.' into segments.
 * Every subscription pattern is filed in a trie whose edges are pattern
 * segments:
 *
 *   root --"svc17"--> n1 --"entity3"--> n2 --"created"--> n3   term: [s1, s4]
 *     |                 `--*--> n4 --"created"--> n5            term: [s2]
 *     |--"svc3"--> n6 --**--> n7                                term: [s3]
 *     |--**--> n8 --"failed"--> n9                              term: [s5]
 *     |--glob "us?r*"--> n10 ...
 *     `--resid: ["re:\\.audit$"]                    (the fallback list)
 *
 * A node has
 *   - literal children, all of them in ONE hash map for the whole index keyed
 *     by (parent node, segment bytes), so a step costs one probe however many
 *     siblings there are (a node whose single literal child was added alone
 *     also keeps it in `only`, compared by hash inside the parent's cache
 *     line: `**.failed` then costs no probe at positions that are not
 *     "failed");
 *   - at most one `*` child and one `**` child;
 *   - glob children (`user*`, `ord?r`, `[ab]x`), each tried against the
 *     event's segment at that depth; equal glob texts share one child;
 *   - `term`: the subs whose pattern ends at this node;
 *   - `resid`: patterns checked in full (act_pattern_match on the whole type)
 *     when lookup reaches the node.  Two kinds land here: `re:` regexes,
 *     filed under the complete literal segments the regex forces at the start
 *     (`re:^billing\.(paid|refunded)$` sits under "billing"; see
 *     act_match_re_prefix), and patterns with two or more `**`, filed at the
 *     node of their segments before the first `**` (`a.**.b.**` under "a").
 *     The root's resid list is the FALLBACK LIST: regexes without a literal
 *     first segment and multi-`**` patterns starting with `**` are checked for
 *     every event, as are the root's glob children against the first
 *     segment.  Equal pattern texts share one resid entry, so a popular
 *     fallback pattern costs one check per event, not one per sub, and a
 *     regex first looks for a literal every match contains (memchr/memcmp)
 *     before PCRE2 runs.
 *
 * Lookup walks the trie with an explicit stack of (node, segment index):
 * a literal child by hash, the `*` child, matching glob children, each
 * consume one segment; a `**` child is entered at every index from here to
 * the end (zero or more segments); `term` is collected when all segments
 * are consumed and `resid` entries are checked whenever a node is reached.
 *
 * Invariants that keep lookup linear and duplicate-free:
 *   - a trie path holds at most one `**` edge (a pattern with more goes to a
 *     resid list, and runs of `**` collapse at compile), so each (node,
 *     index) pair is visited at most once and the walk costs
 *     O(segments x nodes actually reached);
 *   - resid lists only live on nodes with no `**` above them, so they are
 *     reached at most once per event;
 *   - nodes without term, resid or children are pruned on removal.
 * Cost per event therefore depends on the type and on the subscriptions
 * that can match it, plus the fallback list, never on the number of
 * subscriptions filed elsewhere.
 *
 * A sub matched through several patterns appears once: candidates are
 * collected as pointers, sorted by (priority desc, seq asc) and adjacent
 * duplicates dropped; conditions are then evaluated on the survivors only.
 * seq is assigned at first add and kept on replace, so "insertion order"
 * is stable.  Lookup writes nothing shared (no visited flags on nodes), so
 * any number of threads may look up concurrently; it allocates only when an
 * event reaches more than a few dozen frames or candidates (stack buffers
 * first).  Writers (add/remove) need exclusive access.
 *
 * This file holds the writer side: add, replace, remove, free.  The reader
 * side is match_lookup.c.
 */
#include "base/alloc.h"
#include "match/match_internal.h"

#include <stdio.h>
#include <string.h>

/* ---- vectors ---- */

static void svec_push(struct act_svec *v, struct act_msub *s)
{
    if (v->cap == 0) {
        v->u.one = s;
        v->cap = v->n = 1;
        return;
    }
    if (v->cap == 1) { /* second member: move to an array */
        struct act_msub *first = v->u.one;
        v->u.arr = act_xmalloc(2 * sizeof(*v->u.arr));
        v->u.arr[0] = first;
        v->cap = 2;
    } else if (v->n == v->cap) {
        v->cap *= 2;
        v->u.arr = act_xrealloc(v->u.arr, v->cap * sizeof(*v->u.arr));
    }
    v->u.arr[v->n++] = s;
}

/* Remove one occurrence of s (order inside a node does not matter). */
static void svec_remove(struct act_svec *v, const struct act_msub *s)
{
    if (v->cap == 1) {
        if (v->u.one == s)
            v->n = v->cap = 0, v->u.one = NULL;
        return;
    }
    for (uint32_t i = 0; i < v->n; i++) {
        if (v->u.arr[i] == s) {
            v->u.arr[i] = v->u.arr[--v->n];
            break;
        }
    }
    if (!v->n && v->cap) {
        act_free(v->u.arr);
        v->u.arr = NULL;
        v->cap = 0;
    }
}

/* ---- nodes ---- */

static struct act_mnode *node_new(struct act_match_index *ix, struct act_mnode *parent,
                                  enum act_seg_kind edge, const char *label, size_t len)
{
    struct act_mnode *n = act_xcalloc(1, sizeof(*n) + len + 1);

    n->parent = parent;
    n->edge = edge;
    n->label_len = (uint32_t)len;
    memcpy(n->label, label, len);
    ix->n_nodes++;
    return n;
}

static uint64_t edge_hash(const struct act_mnode *parent, const char *s, size_t len)
{
    return act_mmap_mix(act_mmap_hash_bytes(s, len), (uintptr_t)parent);
}

static uint64_t id_hash(const char *id, size_t len)
{
    return act_mmap_mix(act_mmap_hash_bytes(id, len), 0);
}

static struct act_msub *sub_get(const struct act_match_index *ix, const char *id, size_t len,
                                uint64_t h)
{
    size_t cur = 0;
    struct act_msub *s;

    while ((s = act_mmap_next(&ix->subs, h, &cur)))
        if (strncmp(s->id, id, len) == 0 && s->id[len] == '\0')
            return s;
    return NULL;
}

static struct act_mnode *child_add(struct act_match_index *ix, struct act_mnode *n,
                                   const struct act_seg *sg)
{
    struct act_mnode *c;

    switch (sg->kind) {
    case ACT_SEG_STAR:
        return n->star ? n->star : (n->star = node_new(ix, n, ACT_SEG_STAR, "", 0));
    case ACT_SEG_DSTAR:
        return n->dstar ? n->dstar : (n->dstar = node_new(ix, n, ACT_SEG_DSTAR, "", 0));
    case ACT_SEG_GLOB:
        for (uint32_t i = 0; i < n->n_globs; i++)
            if (n->globs[i]->label_len == sg->len && !memcmp(n->globs[i]->label, sg->s, sg->len))
                return n->globs[i];
        n->globs = act_xrealloc(n->globs, (n->n_globs + 1) * sizeof(*n->globs));
        return n->globs[n->n_globs++] = node_new(ix, n, ACT_SEG_GLOB, sg->s, sg->len);
    case ACT_SEG_LIT:
        break;
    }
    if ((c = act_match_edge_get(ix, n, act_mmap_hash_bytes(sg->s, sg->len), sg->s, sg->len)))
        return c;
    c = node_new(ix, n, ACT_SEG_LIT, sg->s, sg->len);
    act_mmap_put(&ix->edges, edge_hash(n, sg->s, sg->len), c);
    /* Keep the single-child fast path only while there is one child. */
    n->only = ++n->n_lit == 1 ? c : NULL;
    n->only_h = act_mmap_hash_bytes(sg->s, sg->len);
    return c;
}

static bool node_empty(const struct act_mnode *n)
{
    return !n->term.n && !n->n_resid && !n->n_lit && !n->n_globs && !n->star && !n->dstar;
}

/* Unlink an empty node from its parent and free it. */
static void node_detach_free(struct act_match_index *ix, struct act_mnode *n)
{
    struct act_mnode *p = n->parent;

    switch (n->edge) {
    case ACT_SEG_STAR: p->star = NULL; break;
    case ACT_SEG_DSTAR: p->dstar = NULL; break;
    case ACT_SEG_GLOB:
        for (uint32_t i = 0; i < p->n_globs; i++)
            if (p->globs[i] == n)
                p->globs[i] = p->globs[--p->n_globs];
        if (!p->n_globs) {
            act_free(p->globs);
            p->globs = NULL;
        }
        break;
    case ACT_SEG_LIT:
        act_mmap_del(&ix->edges, edge_hash(p, n->label, n->label_len), n);
        p->n_lit--;
        p->only = NULL; /* the map finds any remaining sibling */
        break;
    }
    act_free(n->resid);
    act_free(n);
    ix->n_nodes--;
}

static void prune(struct act_match_index *ix, struct act_mnode *n)
{
    while (n != ix->root && node_empty(n)) {
        struct act_mnode *p = n->parent;
        node_detach_free(ix, n);
        n = p;
    }
}

/* ---- placing patterns ---- */

/* File pattern p of sub s; takes ownership of p. */
static void place(struct act_match_index *ix, struct act_msub *s, struct act_pattern *p,
                  struct act_mplace *pl)
{
    struct act_mnode *n = ix->root;
    size_t upto = p->n_segs;
    bool full = p->re || p->n_dstar > 1;
    struct act_mresid *r = NULL;

    if (!p->re && p->n_dstar > 1)
        for (upto = 0; p->segs[upto].kind != ACT_SEG_DSTAR; upto++)
            ;
    for (size_t i = 0; i < upto; i++)
        n = child_add(ix, n, &p->segs[i]);
    pl->node = n;
    pl->resid = NULL;
    if (!full) {
        svec_push(&n->term, s);
        act_pattern_free(p);
        return;
    }
    for (uint32_t i = 0; i < n->n_resid && !r; i++)
        if (strcmp(n->resid[i]->pat->text, p->text) == 0)
            r = n->resid[i];
    if (r) {
        act_pattern_free(p);
    } else {
        r = act_xcalloc(1, sizeof(*r));
        r->pat = p;
        n->resid = act_xrealloc(n->resid, (n->n_resid + 1) * sizeof(*n->resid));
        n->resid[n->n_resid++] = r;
    }
    svec_push(&r->subs, s);
    pl->resid = r;
}

static void unplace(struct act_match_index *ix, struct act_msub *s, const struct act_mplace *pl)
{
    struct act_mnode *n = pl->node;
    struct act_mresid *r = pl->resid;

    if (!r) {
        svec_remove(&n->term, s);
    } else {
        svec_remove(&r->subs, s);
        if (!r->subs.n) {
            for (uint32_t i = 0; i < n->n_resid; i++)
                if (n->resid[i] == r)
                    n->resid[i] = n->resid[--n->n_resid];
            act_pattern_free(r->pat);
            act_free(r);
        }
    }
    prune(ix, n);
}

static void sub_unplace_all(struct act_match_index *ix, struct act_msub *s)
{
    for (size_t i = 0; i < s->n_place; i++)
        unplace(ix, s, &s->place[i]);
    act_free(s->place);
    s->place = NULL;
    s->n_place = 0;
}

static void sub_free(struct act_msub *s)
{
    if (!s)
        return;
    act_cond_free(s->cond);
    act_free(s->place);
    act_free(s->id);
    act_free(s);
}

/* ---- public API ---- */

struct act_match_index *act_match_index_new(void)
{
    struct act_match_index *ix = act_xcalloc(1, sizeof(*ix));

    act_mmap_init(&ix->subs);
    act_mmap_init(&ix->edges);
    ix->root = node_new(ix, NULL, ACT_SEG_LIT, "", 0);
    return ix;
}

void act_match_index_free(struct act_match_index *ix)
{
    if (!ix)
        return;
    /* Unfiling every sub prunes the trie back to the bare root. */
    for (size_t i = 0; i < ix->subs.cap; i++) {
        struct act_msub *s = ix->subs.slots[i].hash ? ix->subs.slots[i].val : NULL;
        if (s) {
            sub_unplace_all(ix, s);
            sub_free(s);
        }
    }
    act_free(ix->root->resid);
    act_free(ix->root);
    act_mmap_release(&ix->subs);
    act_mmap_release(&ix->edges);
    act_free(ix);
}

/* Compile every pattern of a subscription; on error *pats is freed. */
static int compile_patterns(const json_t *patterns, struct act_pattern ***pats, size_t *n_pats,
                            struct act_err *err)
{
    size_t n = json_array_size(patterns);
    struct act_pattern **v = NULL;
    char where[40];
    int rc = ACT_OK;

    *pats = NULL;
    *n_pats = 0;
    if (!json_is_array(patterns))
        return act_err_field(err, ACT_EINVAL, "event_patterns", "must be an array of strings");
    if (n == 0)
        return act_err_field(err, ACT_EINVAL, "event_patterns", "must not be empty");
    if (n > ACT_MATCH_MAX_PATTERNS)
        return act_err_field(err, ACT_EINVAL, "event_patterns", "more than %d patterns",
                             ACT_MATCH_MAX_PATTERNS);
    v = act_xcalloc(n, sizeof(*v));
    for (size_t i = 0; i < n && rc == ACT_OK; i++) {
        const json_t *p = json_array_get(patterns, i);
        snprintf(where, sizeof(where), "event_patterns[%zu]", i);
        if (!json_is_string(p))
            rc = act_err_field(err, ACT_EINVAL, where, "must be a string");
        else if (strlen(json_string_value(p)) != json_string_length(p))
            rc = act_err_field(err, ACT_EINVAL, where, "contains a NUL byte");
        else if ((rc = act_pattern_compile(json_string_value(p), &v[i], err)) < 0)
            act_err_prefix_field(err, where);
    }
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            act_pattern_free(v[i]);
        act_free(v);
        return rc;
    }
    *pats = v;
    *n_pats = n;
    return ACT_OK;
}

int act_match_index_add(struct act_match_index *ix, const char *sub_id, const json_t *patterns,
                        const json_t *conditions, int priority, void *ud, struct act_err *err)
{
    struct act_pattern **pats = NULL;
    struct act_cond *cond = NULL;
    struct act_msub *s;
    size_t n_pats = 0, len;
    uint64_t h;
    int rc;

    if (!sub_id || !*sub_id)
        return act_err_field(err, ACT_EINVAL, "id", "subscription id is empty");
    if ((rc = compile_patterns(patterns, &pats, &n_pats, err)) < 0)
        return rc;
    if ((rc = act_cond_compile(conditions, &cond, err)) < 0) {
        act_err_prefix_field(err, "conditions");
        for (size_t i = 0; i < n_pats; i++)
            act_pattern_free(pats[i]);
        act_free(pats);
        return rc;
    }
    /* Everything validated: from here on the index changes and cannot fail. */
    len = strlen(sub_id);
    h = id_hash(sub_id, len);
    if ((s = sub_get(ix, sub_id, len, h))) {
        sub_unplace_all(ix, s);
        act_cond_free(s->cond);
    } else {
        s = act_xcalloc(1, sizeof(*s));
        s->id = act_xstrdup(sub_id);
        s->seq = ix->next_seq++;
        act_mmap_put(&ix->subs, h, s);
    }
    s->ud = ud;
    s->priority = priority;
    s->cond = cond;
    s->place = act_xcalloc(n_pats, sizeof(*s->place));
    s->n_place = n_pats;
    for (size_t i = 0; i < n_pats; i++)
        place(ix, s, pats[i], &s->place[i]);
    act_free(pats);
    return ACT_OK;
}

int act_match_index_remove(struct act_match_index *ix, const char *sub_id)
{
    size_t len = sub_id ? strlen(sub_id) : 0;
    uint64_t h = id_hash(sub_id ? sub_id : "", len);
    struct act_msub *s = sub_id ? sub_get(ix, sub_id, len, h) : NULL;

    if (!s)
        return ACT_ENOTFOUND;
    act_mmap_del(&ix->subs, h, s);
    sub_unplace_all(ix, s);
    sub_free(s);
    return ACT_OK;
}

size_t act_match_index_count(const struct act_match_index *ix)
{
    return ix->subs.n;
}
