/*
 * Declarations shared by the files of src/match/ and by nothing else.
 *
 *   match_pattern.c  pattern compile/match (segments, globs, `re:`)
 *   match_regex.c    PCRE2 with limits, per-thread match data, literal prefixes
 *   match_path.c     dotted JSON paths and the value printer used in reasons
 *   match_cond.c     condition compile; match_cond_eval.c evaluation and reasons
 *   match_map.c      the open-addressing hash map (sub ids, trie edges)
 *   match_index.c    the segment trie (design note there); match_lookup.c lookup/explain
 */
#ifndef ACT_MATCH_MATCH_INTERNAL_H
#define ACT_MATCH_MATCH_INTERNAL_H

#include "match/match.h"

#include <stdint.h>
#include <string.h>

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

/* ---- patterns ---- */

enum act_seg_kind { ACT_SEG_LIT, ACT_SEG_STAR, ACT_SEG_DSTAR, ACT_SEG_GLOB };

/* One segment of a compiled pattern.  `s` is NUL-terminated and points into
 * the pattern's own storage. */
struct act_seg {
    enum act_seg_kind kind;
    uint32_t len;
    const char *s;
};

/* A compiled pattern.  For a segment pattern, segs[] is the whole pattern
 * (runs of `**` collapsed into one).  For a `re:` pattern, `re` is set and
 * segs[] holds only the literal segments every match must start with (see
 * act_match_re_prefix), which the index uses to place it; n_segs may be 0. */
struct act_pattern {
    char *text;        /* as given, owned */
    pcre2_code *re;    /* `re:` patterns only */
    struct act_seg *segs;
    size_t n_segs;
    size_t n_dstar;    /* number of `**` segments after collapsing */
    char *store;       /* backing storage for segs[].s */
    char *req;         /* `re:` only: a literal every match contains, or NULL */
    size_t req_len;
};

/* Match one segment glob (`*`, `?`, `[...]`, literal bytes) against a whole
 * type segment.  `?` and bracket members are whole UTF-8 characters.
 * The glob must have been validated by the pattern compiler.  thread: any */
bool act_match_glob(const char *glob, size_t glen, const char *s, size_t slen);

/* ---- PCRE2 ---- */

/* Limits applied to every regex match through a shared pcre2_match_context. */
#define ACT_MATCH_RE_MATCH_LIMIT 100000u
#define ACT_MATCH_RE_DEPTH_LIMIT 1000u
#define ACT_MATCH_RE_HEAP_LIMIT_KIB 4096u

/* Compile `re` (len bytes) as UTF-8 PCRE2.  On failure writes a one-line
 * message ("missing closing parenthesis at offset 1") into msg and returns
 * ACT_EINVAL.  thread: any */
int act_match_re_compile(const char *re, size_t len, pcre2_code **out, char *msg,
                         size_t msg_len);

/* Run a compiled regex (unanchored search) over s.  Returns 1 on a match,
 * 0 on no match, ACT_ETOOBIG when a match, depth or heap limit was hit and
 * ACT_EINVAL for other PCRE2 errors (e.g. invalid UTF-8).  Uses a per-thread
 * match data block, so no allocation after a thread's first call.
 * thread: any */
int act_match_re_exec(const pcre2_code *re, const char *s, size_t len);

/* The literal text every match of `re` must start with, when `re` begins
 * with `^` and has no top-level alternation; conservative: returns 0 when
 * unsure.  Writes at most buf_len-1 bytes plus a NUL; returns the length.
 * thread: any */
size_t act_match_re_prefix(const char *re, size_t len, char *buf, size_t buf_len);

/* A literal run that every match of `re` contains (the longest one the
 * scanner can vouch for), or 0 when unsure.  Same conventions as
 * act_match_re_prefix.  thread: any */
size_t act_match_re_required(const char *re, size_t len, char *buf, size_t buf_len);

/* Whether needle occurs in hay: memmem without its set-up cost, for the
 * short subjects (event types, field values) the prefilters see.
 * thread: any */
static inline bool act_match_contains(const char *hay, size_t hl, const char *needle, size_t nl)
{
    if (nl == 0)
        return true;
    for (const char *p = hay, *end = hay + hl; nl <= (size_t)(end - p);) {
        const char *q = memchr(p, needle[0], (size_t)(end - p) - nl + 1);
        if (!q)
            return false;
        if (memcmp(q + 1, needle + 1, nl - 1) == 0)
            return true;
        p = q + 1;
    }
    return false;
}

/* ---- JSON paths and values ---- */

struct act_jpath_seg {
    const char *key; /* inside the path's text, not NUL-terminated: use len */
    size_t len;
    size_t index;    /* valid when is_index */
    bool is_index;   /* all digits: also addresses an array element */
};

/* A dotted path compiled once, resolved many times without allocation. */
struct act_jpath {
    char *text;
    struct act_jpath_seg *segs;
    size_t n_segs;
};

/* Compile a dotted path.  Rejects empty paths and empty segments, writing
 * the reason into msg.  thread: any */
int act_match_jpath_init(struct act_jpath *p, const char *text, char *msg, size_t msg_len);
/* Resolve against root (borrowed result, NULL when absent); no allocation.
 * thread: any */
const json_t *act_match_jpath_get(const struct act_jpath *p, const json_t *root);
/* Free what init allocated; the struct may be zeroed or never initialised
 * by a failed init.  thread: any */
void act_match_jpath_release(struct act_jpath *p);

/* Print a JSON value for a reason string: strings in single quotes with
 * control characters escaped, numbers and literals as JSON, arrays and
 * objects as compact JSON; truncated with "..." to fit.  Never writes a
 * newline.  Returns buf.  thread: any */
char *act_match_fmt_value(const json_t *v, char *buf, size_t len);

/* Cut a trailing incomplete UTF-8 sequence left by a truncating snprintf,
 * so reasons stay valid UTF-8 for JSON replies.  thread: any */
void act_match_trim_utf8(char *s);

/* "string", "number", "object", ... for reasons.  thread: any */
const char *act_match_json_kind(const json_t *v);

/* ---- conditions ---- */

/* ACT_COND_EXPR: a Lua expression (lua/lua.h), evaluated in the thread's sandbox. */
enum act_cond_kind { ACT_COND_ALL, ACT_COND_ANY, ACT_COND_NOT, ACT_COND_LEAF, ACT_COND_EXPR };

enum act_cond_op {
    ACT_OP_EQ,
    ACT_OP_NE,
    ACT_OP_GT,
    ACT_OP_GTE,
    ACT_OP_LT,
    ACT_OP_LTE,
    ACT_OP_IN,
    ACT_OP_NIN,
    ACT_OP_EXISTS,
    ACT_OP_CONTAINS,
    ACT_OP_REGEX,
};

/* Op names indexed by enum act_cond_op. */
extern const char *const act_cond_op_names[];

/* A compiled condition node.  An ALL node with no kids always holds (that is
 * what a NULL or JSON null spec compiles to). */
struct act_cond {
    enum act_cond_kind kind;
    struct act_cond **kids; /* ALL/ANY: n_kids >= 1 once compiled; NOT: one */
    size_t n_kids;
    /* leaves */
    enum act_cond_op op;
    struct act_jpath path;
    json_t *value;   /* deep copy; NULL for `exists` without a value */
    bool want;       /* `exists`: true = must be present */
    pcre2_code *re;  /* `regex` */
    char *req;       /* `regex`: a literal every match contains, or NULL */
    size_t req_len;
    char *expr;      /* ACT_COND_EXPR: the expression text */
};

/* ---- hash map ----
 * Open addressing with linear probing and backward-shift deletion, storing
 * only (hash, value): 16-byte slots keep probes within a cache line.  The
 * caller compares its own key on the value, visiting the values stored
 * under a hash with act_mmap_next; with 64-bit hashes that loop almost
 * always runs once.  Not thread-safe for writes; reads are reentrant. */
struct act_mslot {
    uint64_t hash; /* 0 = empty slot */
    void *val;
};

struct act_mmap {
    struct act_mslot *slots;
    size_t cap; /* power of two, or 0 */
    size_t n;
};

/* Hash of key bytes alone; combine with a tag through act_mmap_mix, which
 * never returns 0.  thread: any */
uint64_t act_mmap_hash_bytes(const char *key, size_t len);
uint64_t act_mmap_mix(uint64_t key_hash, uintptr_t tag);

/* An empty map (no allocation until the first put); release frees the slots,
 * never the values.  thread: writer */
void act_mmap_init(struct act_mmap *m);
void act_mmap_release(struct act_mmap *m);
/* The next value stored under `hash`, or NULL.  Start with *cursor = 0. */
void *act_mmap_next(const struct act_mmap *m, uint64_t hash, size_t *cursor);
/* Insert a value (duplicates allowed: the caller checks first). */
void act_mmap_put(struct act_mmap *m, uint64_t hash, void *val);
/* Remove the entry (hash, val); false when absent. */
bool act_mmap_del(struct act_mmap *m, uint64_t hash, const void *val);

/* ---- the index (design note in match_index.c) ---- */

struct act_msub;

/* Subscriptions reached through one node, in no particular order.  Most
 * nodes hold one sub, so cap == 1 keeps it inline (no array to chase);
 * cap == 0 is empty; cap >= 2 uses the array. */
struct act_svec {
    union {
        struct act_msub *one;
        struct act_msub **arr;
    } u;
    uint32_t n, cap;
};

static inline struct act_msub *const *act_svec_items(const struct act_svec *v)
{
    return v->cap == 1 ? &v->u.one : v->u.arr;
}

/* A pattern checked in full whenever lookup reaches its node: regexes, and
 * patterns with two or more `**`.  Shared by every sub with the same text. */
struct act_mresid {
    struct act_pattern *pat; /* owned */
    struct act_svec subs;
};

/* Field order matters: everything lookup reads when it visits a node sits
 * in the first 64 bytes, so a visit usually costs one cache line. */
struct act_mnode {
    uint32_t label_len;
    uint32_t n_lit;         /* literal children, kept in act_match_index.edges */
    uint32_t n_globs, n_resid;
    struct act_svec term;   /* subs whose pattern ends exactly here */
    /* Fast path: the sole literal child while n_lit has been 1 since it was
     * added (else NULL; the map is always authoritative), and the hash of its
     * label, so a non-matching segment is rejected without touching it. */
    struct act_mnode *only;
    uint64_t only_h;
    struct act_mnode *star, *dstar;
    /* colder: writers, globs, resid lists */
    struct act_mnode *parent;
    enum act_seg_kind edge; /* how parent reaches this node; LIT for the root */
    struct act_mnode **globs;
    struct act_mresid **resid;
    char label[];           /* literal or glob text of the edge from parent */
};

/* Where one pattern of a sub was filed: node->term, or resid->subs. */
struct act_mplace {
    struct act_mnode *node;
    struct act_mresid *resid;
};

struct act_msub {
    char *id;
    void *ud;
    int priority;
    uint64_t seq; /* insertion order; kept by replace */
    struct act_cond *cond;
    struct act_mplace *place;
    size_t n_place;
};

struct act_match_index {
    struct act_mnode *root;
    struct act_mmap subs;  /* id -> struct act_msub */
    struct act_mmap edges; /* (parent node, segment) -> literal child */
    uint64_t next_seq;
    size_t n_nodes;
};

/* The literal child of `parent` for segment s (seg_hash from
 * act_mmap_hash_bytes), or NULL.  thread: any */
static inline struct act_mnode *act_match_edge_get(const struct act_match_index *ix,
                                                   const struct act_mnode *parent,
                                                   uint64_t seg_hash, const char *s, size_t len)
{
    uint64_t h;
    size_t cur = 0;
    struct act_mnode *c;

    if (parent->only) {
        c = parent->only;
        return (parent->only_h == seg_hash && c->label_len == len && memcmp(c->label, s, len) == 0)
                   ? c
                   : NULL;
    }
    h = act_mmap_mix(seg_hash, (uintptr_t)parent);
    while ((c = act_mmap_next(&ix->edges, h, &cur)))
        if (c->parent == parent && c->label_len == len && memcmp(c->label, s, len) == 0)
            return c;
    return NULL;
}

#endif
