/*
 * Subscription matching: event-type patterns, conditions on the event, and
 * an index that finds the subscriptions an event matches without scanning
 * those that cannot match.
 *
 * The event seen by matching is a JSON object in the normalised form the
 * engine stores: {"id", "source", "type", "subject"?, "time"?, "data"?}.
 *
 * Patterns (API.md "Subscriptions"): the type is split on '.'; a pattern
 * segment is a literal, `*` (exactly one segment), `**` (zero or more
 * segments) or a glob within one segment (`user*`, `ord?r`, `[ab]x`);
 * a pattern starting with `re:` is a PCRE2 regex over the whole type,
 * compiled with match and depth limits.
 *
 * Conditions (API.md): JSON nodes {"all": [...]}, {"any": [...]},
 * {"not": node} and leaves {"field": "data.x.y", "op": OP, "value": V}
 * with OP one of eq ne gt gte lt lte in nin exists contains regex.
 * `field` is a dotted path into the event object.  null or absent
 * conditions always hold.  A string, as the whole conditions value or as
 * any node, is a Lua expression over `event` ("event.data.tier ==
 * 'premium'"), sandboxed as lua/lua.h describes: it holds when it yields
 * true; false, another type or an error make it false with a reason.
 *
 * Thread contract: compile/add/remove need exclusive access to the index
 * (the engine holds a write lock); lookup/explain/eval are reentrant and may
 * run concurrently from any number of threads on an unchanging index.
 */
#ifndef ACT_MATCH_MATCH_H
#define ACT_MATCH_MATCH_H

#include "base/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Limits on what a client can make us compile. */
#define ACT_MATCH_MAX_PATTERN_LEN 512
#define ACT_MATCH_MAX_PATTERNS 64     /* per subscription */
#define ACT_MATCH_MAX_COND_NODES 256  /* per subscription */
#define ACT_MATCH_MAX_COND_DEPTH 16

/* ---- patterns ---- */
struct act_pattern;

/* Compile one pattern.  On error returns ACT_EINVAL with a message naming
 * the pattern and the problem (e.g. "pattern 're:(': missing closing
 * parenthesis at offset 1").  thread: any */
int act_pattern_compile(const char *text, struct act_pattern **out, struct act_err *err);
bool act_pattern_match(const struct act_pattern *p, const char *type, size_t type_len);
void act_pattern_free(struct act_pattern *p);

/* ---- conditions ---- */
struct act_cond;

/* Compile a condition tree.  `spec` may be NULL or JSON null (always true);
 * expression strings are compiled in the calling thread's Lua state.
 * On error returns ACT_EINVAL with err->field set to the path of the bad
 * node relative to the conditions object, e.g. "all[1].op".  thread: any */
int act_cond_compile(const json_t *spec, struct act_cond **out, struct act_err *err);

/* Evaluate against an event object.  When `why` is not NULL and the result
 * is false, writes a one-line reason such as
 * "condition data.tier eq 'premium': got 'basic'".  thread: any */
bool act_cond_eval(const struct act_cond *c, const json_t *event, char *why, size_t why_len);
void act_cond_free(struct act_cond *c);

/* Resolve a dotted path ("data.user.id") in a JSON object; NULL when absent.
 * Array elements are addressed by a numeric segment ("data.items.0").
 * thread: any */
const json_t *act_json_path(const json_t *root, const char *path);

/* ---- index ---- */
struct act_match_index;

struct act_match_hit {
    const char *sub_id; /* borrowed from the index; valid until the sub is removed */
    void *ud;           /* as given to act_match_index_add */
    int priority;
};

struct act_match_hits {
    struct act_match_hit *v;
    size_t n, cap;
};

struct act_match_explain_row {
    const char *sub_id;
    void *ud;
    bool matched;
    char reason[256]; /* "" when matched; else why not */
};

struct act_match_index *act_match_index_new(void);
void act_match_index_free(struct act_match_index *ix);

/* Add (or replace, when `sub_id` exists) a subscription.  `patterns` is a
 * JSON array of 1..ACT_MATCH_MAX_PATTERNS strings; `conditions` may be NULL.
 * Validation errors return ACT_EINVAL with err->field "event_patterns[i]" or
 * "conditions.<path>" and leave the index unchanged.  thread: writer */
int act_match_index_add(struct act_match_index *ix, const char *sub_id, const json_t *patterns,
                        const json_t *conditions, int priority, void *ud, struct act_err *err);

/* Remove a subscription; ACT_ENOTFOUND when absent.  thread: writer */
int act_match_index_remove(struct act_match_index *ix, const char *sub_id);

size_t act_match_index_count(const struct act_match_index *ix);

/* Append to `out` every subscription whose patterns match the event's type
 * and whose conditions hold, each once, ordered by priority (higher first)
 * then by insertion order.  Returns the number appended.  thread: any */
size_t act_match_index_lookup(const struct act_match_index *ix, const json_t *event,
                              struct act_match_hits *out);

/* Every subscription in the index with whether it matches and why not
 * (pattern or condition), in the same order as lookup for the matched ones
 * followed by the rest.  Caller frees *rows with act_free.  thread: any */
int act_match_index_explain(const struct act_match_index *ix, const json_t *event,
                            struct act_match_explain_row **rows, size_t *n_rows);

void act_match_hits_release(struct act_match_hits *h);

#endif
