/*
 * Condition evaluation and the one-line reasons behind a false result.
 *
 * Semantics (also in docs/internals/match.md):
 *   - every op except `exists` needs the field to be present; an absent
 *     field makes the leaf false ("field absent"), `ne` and `nin` included;
 *   - numbers compare numerically, integers and reals mixed; eq/ne/in/nin
 *     on other values use json_equal (so inside arrays and objects 1 and 1.0
 *     differ);
 *   - gt/gte/lt/lte compare two numbers, or two strings bytewise
 *     (lexicographic); any other pairing is false, with a reason naming the
 *     two kinds;
 *   - `contains`: a string field contains the string value as a substring,
 *     or an array field has an element equal (as eq) to the value;
 *   - `regex`: unanchored PCRE2 search with limits; the field must be a
 *     string; hitting a limit counts as no match;
 *   - an expression holds when the Lua expression yields true with `event`
 *     bound; false, another type, an error or a limit make it false with a
 *     reason (lua/lua.h act_lua_cond_eval, the thread's own lua_State).
 * Evaluation reads the event only, never allocates outside the Lua state
 * (reasons are formatted into caller or stack buffers) and is reentrant.
 * `why` is written only when the result is false.
 */
#include "lua/lua.h"
#include "match/match_internal.h"

#include <stdio.h>
#include <string.h>

#define VAL_SHOWN 72 /* bytes of a value shown in a reason */

static int num_cmp(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return (x > y) - (x < y);
    }
    double x = json_number_value(a), y = json_number_value(b);
    return (x > y) - (x < y);
}

static bool val_eq(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return num_cmp(a, b) == 0;
    return json_equal(a, b);
}

/* Order two numbers or two strings; false when they are not comparable. */
static bool val_cmp(const json_t *a, const json_t *b, int *res)
{
    if (json_is_number(a) && json_is_number(b)) {
        *res = num_cmp(a, b);
        return true;
    }
    if (json_is_string(a) && json_is_string(b)) {
        size_t la = json_string_length(a), lb = json_string_length(b);
        int r = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
        *res = r ? (r > 0) - (r < 0) : (la > lb) - (la < lb);
        return true;
    }
    return false;
}

static bool any_eq(const json_t *arr, const json_t *v)
{
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (val_eq(json_array_get(arr, i), v))
            return true;
    return false;
}

/* "condition data.tier eq 'premium'" */
static void describe(const struct act_cond *c, char *buf, size_t len)
{
    char val[VAL_SHOWN];

    switch (c->kind) {
    case ACT_COND_ALL: snprintf(buf, len, "all[%zu]", c->n_kids); return;
    case ACT_COND_ANY: snprintf(buf, len, "any[%zu]", c->n_kids); return;
    case ACT_COND_NOT: snprintf(buf, len, "not"); return;
    case ACT_COND_EXPR: snprintf(buf, len, "expression `%.120s`", c->expr); return;
    case ACT_COND_LEAF: break;
    }
    if (c->op == ACT_OP_EXISTS)
        snprintf(buf, len, "condition %s exists%s", c->path.text, c->want ? "" : " false");
    else
        snprintf(buf, len, "condition %s %s %s", c->path.text, act_cond_op_names[c->op],
                 act_match_fmt_value(c->value, val, sizeof(val)));
}

/* Write "<description>: <detail>" where detail is "got <value><note>". */
static bool leaf_false(const struct act_cond *c, const json_t *got, const char *note, char *why,
                       size_t wl)
{
    char desc[200], val[VAL_SHOWN];

    if (!why || !wl)
        return false;
    describe(c, desc, sizeof(desc));
    if (!got)
        snprintf(why, wl, "%s: %s", desc, note);
    else
        snprintf(why, wl, "%s: got %s%s", desc, act_match_fmt_value(got, val, sizeof(val)), note);
    act_match_trim_utf8(why);
    return false;
}

/* " (string vs number)" for a comparison between different kinds. */
static const char *kinds(const json_t *a, const json_t *b, char *buf, size_t len)
{
    snprintf(buf, len, " (%s vs %s)", act_match_json_kind(a), act_match_json_kind(b));
    return buf;
}

static bool leaf_cmp(const struct act_cond *c, const json_t *f, char *why, size_t wl)
{
    char note[48];
    int r = 0;
    bool ok;

    if (!val_cmp(f, c->value, &r))
        return leaf_false(c, f, kinds(f, c->value, note, sizeof(note)), why, wl);
    switch (c->op) {
    case ACT_OP_GT: ok = r > 0; break;
    case ACT_OP_GTE: ok = r >= 0; break;
    case ACT_OP_LT: ok = r < 0; break;
    default: ok = r <= 0; break;
    }
    return ok || leaf_false(c, f, "", why, wl);
}

static bool leaf_contains(const struct act_cond *c, const json_t *f, char *why, size_t wl)
{
    char note[48];

    if (json_is_array(f))
        return any_eq(f, c->value) || leaf_false(c, f, "", why, wl);
    if (!json_is_string(f))
        return leaf_false(c, f, " (not a string or array)", why, wl);
    if (!json_is_string(c->value))
        return leaf_false(c, f, kinds(f, c->value, note, sizeof(note)), why, wl);
    if (memmem(json_string_value(f), json_string_length(f), json_string_value(c->value),
               json_string_length(c->value)))
        return true;
    return leaf_false(c, f, "", why, wl);
}

static bool leaf_regex(const struct act_cond *c, const json_t *f, char *why, size_t wl)
{
    int rc;

    if (!json_is_string(f))
        return leaf_false(c, f, " (not a string)", why, wl);
    if (c->req_len && !act_match_contains(json_string_value(f), json_string_length(f), c->req,
                                            c->req_len))
        rc = 0; /* a literal every match needs is missing: skip PCRE2 */
    else
        rc = act_match_re_exec(c->re, json_string_value(f), json_string_length(f));
    if (rc == 1)
        return true;
    return leaf_false(c, f,
                      rc == 0 ? "" : rc == ACT_ETOOBIG ? " (regex limit hit)" : " (regex error)",
                      why, wl);
}

static bool leaf_eval(const struct act_cond *c, const json_t *ev, char *why, size_t wl)
{
    const json_t *f = act_match_jpath_get(&c->path, ev);

    if (c->op == ACT_OP_EXISTS) {
        if ((f != NULL) == c->want)
            return true;
        return leaf_false(c, NULL, c->want ? "field absent" : "field present", why, wl);
    }
    if (!f)
        return leaf_false(c, NULL, "field absent", why, wl);
    switch (c->op) {
    case ACT_OP_EQ: return val_eq(f, c->value) || leaf_false(c, f, "", why, wl);
    case ACT_OP_NE: return !val_eq(f, c->value) || leaf_false(c, f, "", why, wl);
    case ACT_OP_IN: return any_eq(c->value, f) || leaf_false(c, f, "", why, wl);
    case ACT_OP_NIN: return !any_eq(c->value, f) || leaf_false(c, f, "", why, wl);
    case ACT_OP_CONTAINS: return leaf_contains(c, f, why, wl);
    case ACT_OP_REGEX: return leaf_regex(c, f, why, wl);
    default: return leaf_cmp(c, f, why, wl);
    }
}

static bool eval(const struct act_cond *c, const json_t *ev, char *why, size_t wl);

/* Compound nodes, out of line so a leaf's frame has no reason buffer. */
static bool eval_any(const struct act_cond *c, const json_t *ev, char *why, size_t wl)
{
    char inner[256];

    inner[0] = '\0';
    for (size_t i = 0; i < c->n_kids; i++)
        if (eval(c->kids[i], ev, (why && i == 0) ? inner : NULL, sizeof(inner)))
            return true;
    if (why && wl) {
        snprintf(why, wl, "any: none of %zu held; first: %s", c->n_kids, inner);
        act_match_trim_utf8(why);
    }
    return false;
}

static bool eval_not(const struct act_cond *c, const json_t *ev, char *why, size_t wl)
{
    char inner[200];

    if (!eval(c->kids[0], ev, NULL, 0))
        return true;
    if (why && wl) {
        describe(c->kids[0], inner, sizeof(inner));
        snprintf(why, wl, "not: %s held", inner);
        act_match_trim_utf8(why);
    }
    return false;
}

static bool eval(const struct act_cond *c, const json_t *ev, char *why, size_t wl)
{
    switch (c->kind) {
    case ACT_COND_LEAF:
        return leaf_eval(c, ev, why, wl);
    case ACT_COND_ALL:
        for (size_t i = 0; i < c->n_kids; i++)
            if (!eval(c->kids[i], ev, why, wl))
                return false; /* the first failing member explains */
        return true;
    case ACT_COND_ANY:
        return eval_any(c, ev, why, wl);
    case ACT_COND_NOT:
        return eval_not(c, ev, why, wl);
    case ACT_COND_EXPR:
        return act_lua_cond_eval(c->expr, ev, 0, why, wl);
    }
    return false;
}

bool act_cond_eval(const struct act_cond *c, const json_t *event, char *why, size_t why_len)
{
    if (!c)
        return true;
    return eval(c, event, why, why_len);
}
