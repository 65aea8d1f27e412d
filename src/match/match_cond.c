/*
 * Condition trees: compile a JSON spec into struct act_cond.
 *
 * Grammar (API.md "Subscriptions"):
 *   node := {"all": [node, ...]} | {"any": [node, ...]} | {"not": node}
 *         | {"field": PATH, "op": OP, "value"?: V}
 *         | "<Lua expression>"
 * A compound node has exactly one key; a leaf has only field/op/value.
 * A string (the whole conditions value, or any node) is a Lua expression
 * over `event` (lua/lua.h), compiled here in the calling thread's sandbox
 * to check its syntax; a syntax error is the node's error.
 * Everything a client could get wrong is checked here, once, so evaluation
 * (match_cond_eval.c) never meets a malformed tree:
 *   - value types per op: `in`/`nin` need an array, `gt`/`gte`/`lt`/`lte` a
 *     number or string, `regex` a string that PCRE2 compiles, `exists` an
 *     optional boolean, the others any JSON value;
 *   - at most ACT_MATCH_MAX_COND_NODES nodes, ACT_MATCH_MAX_COND_DEPTH levels.
 * Errors carry err->field: the path of the bad node relative to the
 * conditions object ("all[1].op", "any[0].not.value", "" for the root).
 * The spec is borrowed; the compiled tree holds deep copies of values.
 */
#include "base/alloc.h"
#include "lua/lua.h"
#include "match/match_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_FIELD_LEN 256

const char *const act_cond_op_names[] = {
    [ACT_OP_EQ] = "eq",         [ACT_OP_NE] = "ne",         [ACT_OP_GT] = "gt",
    [ACT_OP_GTE] = "gte",       [ACT_OP_LT] = "lt",         [ACT_OP_LTE] = "lte",
    [ACT_OP_IN] = "in",         [ACT_OP_NIN] = "nin",       [ACT_OP_EXISTS] = "exists",
    [ACT_OP_CONTAINS] = "contains", [ACT_OP_REGEX] = "regex",
};

struct cctx {
    size_t n_nodes;
    size_t plen;
    char path[256];
    struct act_err *err;
};

static size_t push_key(struct cctx *cx, const char *key)
{
    size_t old = cx->plen;
    int n = snprintf(cx->path + old, sizeof(cx->path) - old, "%s%s", old ? "." : "", key);
    cx->plen = n < 0 ? old : old + (size_t)n;
    if (cx->plen >= sizeof(cx->path))
        cx->plen = sizeof(cx->path) - 1;
    return old;
}

static size_t push_index(struct cctx *cx, size_t i)
{
    size_t old = cx->plen;
    int n = snprintf(cx->path + old, sizeof(cx->path) - old, "[%zu]", i);
    cx->plen = n < 0 ? old : old + (size_t)n;
    if (cx->plen >= sizeof(cx->path))
        cx->plen = sizeof(cx->path) - 1;
    return old;
}

static void pop(struct cctx *cx, size_t old)
{
    cx->plen = old;
    cx->path[old] = '\0';
}

/* Fail at the current path, or at path.key when key is not NULL. */
static int fail(struct cctx *cx, const char *key, const char *fmt, ...) ACT_PRINTF(3, 4);
static int fail(struct cctx *cx, const char *key, const char *fmt, ...)
{
    char msg[200];
    size_t old = cx->plen;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (key)
        push_key(cx, key);
    act_err_field(cx->err, ACT_EINVAL, cx->path, "%s", msg);
    if (cx->err) { /* a cut key name must not leave half a UTF-8 character */
        act_match_trim_utf8(cx->err->field);
        act_match_trim_utf8(cx->err->msg);
    }
    pop(cx, old);
    return ACT_EINVAL;
}

static int compile_node(struct cctx *cx, const json_t *j, int depth, struct act_cond **out);

static int parse_op(struct cctx *cx, const json_t *j, enum act_cond_op *op)
{
    const json_t *o = json_object_get(j, "op");
    const char *s;

    if (!o)
        return fail(cx, "op", "missing op");
    if (!json_is_string(o))
        return fail(cx, "op", "must be a string");
    s = json_string_value(o);
    for (size_t i = 0; i < sizeof(act_cond_op_names) / sizeof(act_cond_op_names[0]); i++) {
        if (strcmp(s, act_cond_op_names[i]) == 0) {
            *op = (enum act_cond_op)i;
            return ACT_OK;
        }
    }
    return fail(cx, "op", "unknown op '%.60s'", s);
}

/* Check and keep the value a leaf's op needs. */
static int parse_value(struct cctx *cx, const json_t *j, struct act_cond *c)
{
    const json_t *v = json_object_get(j, "value");
    const char *op = act_cond_op_names[c->op];
    char msg[200];

    if (c->op == ACT_OP_EXISTS) {
        if (v && !json_is_boolean(v))
            return fail(cx, "value", "op 'exists' takes true or false");
        c->want = !v || json_is_true(v);
        return ACT_OK;
    }
    if (!v)
        return fail(cx, "value", "missing value for op '%s'", op);
    switch (c->op) {
    case ACT_OP_IN:
    case ACT_OP_NIN:
        if (!json_is_array(v))
            return fail(cx, "value", "op '%s' needs an array value", op);
        break;
    case ACT_OP_GT:
    case ACT_OP_GTE:
    case ACT_OP_LT:
    case ACT_OP_LTE:
        if (!json_is_number(v) && !json_is_string(v))
            return fail(cx, "value", "op '%s' needs a number or string value", op);
        break;
    case ACT_OP_REGEX:
        if (!json_is_string(v))
            return fail(cx, "value", "op 'regex' needs a string value");
        if (json_string_length(v) > ACT_MATCH_MAX_PATTERN_LEN)
            return fail(cx, "value", "regex longer than %d bytes", ACT_MATCH_MAX_PATTERN_LEN);
        if (act_match_re_compile(json_string_value(v), json_string_length(v), &c->re, msg,
                                 sizeof(msg)) < 0)
            return fail(cx, "value", "invalid regex: %s", msg);
        c->req = act_xmalloc(json_string_length(v) + 1);
        c->req_len = act_match_re_required(json_string_value(v), json_string_length(v), c->req,
                                           json_string_length(v) + 1);
        break;
    default:
        break;
    }
    c->value = json_deep_copy(v);
    if (!c->value)
        ACT_BUG("json_deep_copy failed");
    return ACT_OK;
}

static int compile_leaf(struct cctx *cx, const json_t *j, struct act_cond *c)
{
    const json_t *f = json_object_get(j, "field");
    const char *key;
    const json_t *v;
    char msg[160];
    int rc;

    c->kind = ACT_COND_LEAF;
    json_object_foreach ((json_t *)j, key, v) {
        if (strcmp(key, "field") && strcmp(key, "op") && strcmp(key, "value"))
            return fail(cx, key, "unknown key '%.60s'", key);
    }
    if (!f)
        return fail(cx, "field", "missing field");
    if (!json_is_string(f))
        return fail(cx, "field", "must be a string");
    if (json_string_length(f) > MAX_FIELD_LEN)
        return fail(cx, "field", "longer than %d bytes", MAX_FIELD_LEN);
    if (strlen(json_string_value(f)) != json_string_length(f))
        return fail(cx, "field", "contains a NUL byte");
    if (act_match_jpath_init(&c->path, json_string_value(f), msg, sizeof(msg)) < 0)
        return fail(cx, "field", "%s", msg);
    if ((rc = parse_op(cx, j, &c->op)) < 0)
        return rc;
    return parse_value(cx, j, c);
}

static int compile_list(struct cctx *cx, const char *key, const json_t *arr, int depth,
                        struct act_cond *c)
{
    size_t old = push_key(cx, key), n = json_array_size(arr);
    int rc = ACT_OK;

    if (!json_is_array(arr))
        rc = fail(cx, NULL, "must be an array");
    else if (n == 0)
        rc = fail(cx, NULL, "must not be empty");
    if (rc < 0)
        goto out;
    c->kids = act_xcalloc(n, sizeof(*c->kids));
    for (size_t i = 0; i < n; i++) {
        size_t mark = push_index(cx, i);
        rc = compile_node(cx, json_array_get(arr, i), depth + 1, &c->kids[c->n_kids]);
        pop(cx, mark);
        if (rc < 0)
            goto out;
        c->n_kids++;
    }
out:
    pop(cx, old);
    return rc;
}

static int compile_compound(struct cctx *cx, const json_t *j, const char *key, int depth,
                            struct act_cond *c)
{
    const json_t *sub = json_object_get(j, key);
    const char *k;
    const json_t *v;
    size_t old;
    int rc;

    json_object_foreach ((json_t *)j, k, v) {
        if (strcmp(k, key))
            return fail(cx, k, "unexpected key '%.60s' next to '%s'", k, key);
    }
    if (strcmp(key, "not") != 0) {
        c->kind = key[1] == 'l' ? ACT_COND_ALL : ACT_COND_ANY;
        return compile_list(cx, key, sub, depth, c);
    }
    c->kind = ACT_COND_NOT;
    c->kids = act_xcalloc(1, sizeof(*c->kids));
    old = push_key(cx, "not");
    rc = compile_node(cx, sub, depth + 1, &c->kids[0]);
    pop(cx, old);
    if (rc == ACT_OK)
        c->n_kids = 1;
    return rc;
}

static int compile_expr(struct cctx *cx, const json_t *j, struct act_cond *c)
{
    struct act_err e = {0};

    c->kind = ACT_COND_EXPR;
    if (act_lua_expr_check(json_string_value(j), json_string_length(j), &e) < 0)
        return fail(cx, NULL, "expression: %s", e.msg);
    c->expr = act_xstrndup(json_string_value(j), json_string_length(j));
    return ACT_OK;
}

static int compile_node(struct cctx *cx, const json_t *j, int depth, struct act_cond **out)
{
    struct act_cond *c = NULL;
    const char *key = NULL;
    int rc;

    *out = NULL;
    if (++cx->n_nodes > ACT_MATCH_MAX_COND_NODES)
        return fail(cx, NULL, "more than %d condition nodes", ACT_MATCH_MAX_COND_NODES);
    if (depth > ACT_MATCH_MAX_COND_DEPTH)
        return fail(cx, NULL, "nested deeper than %d levels", ACT_MATCH_MAX_COND_DEPTH);
    if (json_is_string(j)) {
        c = act_xcalloc(1, sizeof(*c));
        rc = compile_expr(cx, j, c);
        goto out_node;
    }
    if (!json_is_object(j))
        return fail(cx, NULL, "condition must be an object");
    if (json_object_get(j, "all"))
        key = "all";
    else if (json_object_get(j, "any"))
        key = "any";
    else if (json_object_get(j, "not"))
        key = "not";
    else if (!json_object_get(j, "field") && !json_object_get(j, "op"))
        return fail(cx, NULL, "condition needs 'all', 'any', 'not' or 'field'");
    c = act_xcalloc(1, sizeof(*c));
    rc = key ? compile_compound(cx, j, key, depth, c) : compile_leaf(cx, j, c);
out_node:
    if (rc < 0)
        goto out;
    *out = c;
    c = NULL;
out:
    act_cond_free(c);
    return rc;
}

int act_cond_compile(const json_t *spec, struct act_cond **out, struct act_err *err)
{
    struct cctx cx = {.err = err};

    *out = NULL;
    if (!spec || json_is_null(spec)) {
        *out = act_xcalloc(1, sizeof(**out)); /* ALL of nothing: always true */
        return ACT_OK;
    }
    return compile_node(&cx, spec, 1, out);
}

void act_cond_free(struct act_cond *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_kids; i++)
        act_cond_free(c->kids[i]);
    act_free(c->kids);
    act_match_jpath_release(&c->path);
    json_decref(c->value);
    pcre2_code_free(c->re);
    act_free(c->req);
    act_free(c->expr);
    act_free(c);
}
