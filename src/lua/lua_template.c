/*
 * `{{ expr }}` templates over JSON values (lua.h act_template_render).
 *
 * Scanning: a template opens at "{{"; the expression runs to the first
 * "}}" that is outside a quoted string ('...' or "...", with backslash
 * escapes) and outside braces opened inside the expression, so table
 * constructors such as `{{ {a = {1}} }}` work.  An unterminated "{{" or an
 * empty expression is a template error.  A string that is exactly one
 * template is typed (the value converted to JSON); anything else is text.
 *
 * One render is one run of the thread's state: the scope is bound once and
 * every expression of the value shares the budget TPL_LIMITS.  Check mode
 * (act_template_check) only compiles.  err->field is the path of the string
 * inside the template value: "" for the root, "body.items[2]".
 */
#include "base/alloc.h"
#include "lua/lua_internal.h"

#include <stdio.h>
#include <string.h>

#define TPL_TEXT_MAX ((size_t)1 << 20)
#define TPL_SHOWN 60

static const struct act_lua_limits tpl_limits = {1000000ull, (size_t)16 << 20, 1000};

struct tctx {
    struct act_lstate *S;
    bool check;          /* compile only */
    char path[96];
    size_t plen;
    struct act_err *err;
};

struct tseg {
    size_t open, end;    /* "{{" offset; one past "}}" */
    size_t ex, ex_len;   /* the trimmed expression */
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t path_push(struct tctx *tx, const char *key, size_t index, bool is_index)
{
    size_t old = tx->plen;
    int n = is_index ? snprintf(tx->path + old, sizeof(tx->path) - old, "[%zu]", index)
                     : snprintf(tx->path + old, sizeof(tx->path) - old, "%s%.40s",
                                old ? "." : "", key);

    tx->plen = n < 0 ? old : old + (size_t)n;
    if (tx->plen >= sizeof(tx->path))
        tx->plen = sizeof(tx->path) - 1;
    return old;
}

static void path_pop(struct tctx *tx, size_t old)
{
    tx->plen = old;
    tx->path[old] = '\0';
}

/* Fail at the current path with "template `<expr>`: <msg>". */
static int tfail(struct tctx *tx, int code, const char *s, const struct tseg *g, const char *msg)
{
    size_t n = g->ex_len > TPL_SHOWN ? TPL_SHOWN : g->ex_len;

    while (n > 0 && n < g->ex_len && ((unsigned char)s[g->ex + n] & 0xC0) == 0x80)
        n--;
    return act_err_field(tx->err, code, tx->path, "template `%.*s%s`: %s", (int)n, s + g->ex,
                         n < g->ex_len ? "..." : "", msg);
}

/* Skip a quoted string starting at s[i] (the quote); returns the index after
 * the closing quote, or len when unterminated. */
static size_t skip_quoted(const char *s, size_t len, size_t i)
{
    char q = s[i++];

    while (i < len && s[i] != q)
        i += (s[i] == '\\' && i + 1 < len) ? 2 : 1;
    return i < len ? i + 1 : len;
}

/* Find the next template at or after `from`.  Returns 1 and fills g, 0 when
 * there is none, or ACT_EUNPROC for an unterminated or empty one. */
static int next_seg(struct tctx *tx, const char *s, size_t len, size_t from, struct tseg *g)
{
    const char *o = len > from ? memmem(s + from, len - from, "{{", 2) : NULL;
    size_t i, depth = 0;

    if (!o)
        return 0;
    g->open = (size_t)(o - s);
    for (i = g->open + 2; i < len; i++) {
        if (s[i] == '"' || s[i] == '\'') {
            i = skip_quoted(s, len, i) - 1;
        } else if (s[i] == '{') {
            depth++;
        } else if (s[i] == '}') {
            if (depth == 0 && i + 1 < len && s[i + 1] == '}')
                break;
            if (depth > 0)
                depth--;
        }
    }
    if (i >= len)
        return act_err_field(tx->err, ACT_EUNPROC, tx->path,
                             "template: unterminated '{{' at offset %zu", g->open);
    g->end = i + 2;
    g->ex = g->open + 2;
    g->ex_len = i - g->ex;
    while (g->ex_len && is_space(s[g->ex])) {
        g->ex++;
        g->ex_len--;
    }
    while (g->ex_len && is_space(s[g->ex + g->ex_len - 1]))
        g->ex_len--;
    if (g->ex_len == 0)
        return act_err_field(tx->err, ACT_EUNPROC, tx->path,
                             "template: empty expression at offset %zu", g->open);
    return 1;
}

/* Compile (and unless checking, run) one expression, leaving its value on
 * the stack when running. */
static int eval_seg(struct tctx *tx, const char *s, const struct tseg *g)
{
    struct act_err e = {0};
    int rc;

    if ((rc = act_lua_expr_push(tx->S, s + g->ex, g->ex_len, &e)) < 0)
        return tfail(tx, rc, s, g, e.msg);
    if (tx->check) {
        lua_pop(tx->S->L, 1);
        return ACT_OK;
    }
    if ((rc = act_lua_call(tx->S, 0, 1, &e)) < 0)
        return tfail(tx, rc, s, g, e.msg);
    return ACT_OK;
}

static int render_typed(struct tctx *tx, const char *s, const struct tseg *g, json_t **out)
{
    struct act_err e = {0};
    int rc;

    if ((rc = eval_seg(tx, s, g)) < 0 || tx->check)
        return rc;
    rc = act_lua_to_json(tx->S, -1, out, &e);
    lua_pop(tx->S->L, 1);
    return rc < 0 ? tfail(tx, ACT_EPLUGIN, s, g, e.msg) : ACT_OK;
}

static int render_text(struct tctx *tx, const char *s, size_t len, struct tseg g, json_t **out)
{
    struct act_lbuf b = {0};
    struct act_err e = {0};
    size_t from = 0;
    int rc;

    act_lbuf_add(&b, "", 0);
    do {
        act_lbuf_add(&b, s + from, g.open - from);
        if ((rc = eval_seg(tx, s, &g)) < 0)
            goto out;
        if (!tx->check) {
            rc = act_lua_to_text(tx->S, -1, &b, TPL_TEXT_MAX, &e);
            lua_pop(tx->S->L, 1);
            if (rc < 0) {
                rc = tfail(tx, rc == ACT_ETOOBIG ? rc : ACT_EPLUGIN, s, &g, e.msg);
                goto out;
            }
        }
        from = g.end;
    } while ((rc = next_seg(tx, s, len, from, &g)) == 1);
    if (rc < 0)
        goto out;
    act_lbuf_add(&b, s + from, len - from);
    if (!tx->check && !(*out = json_stringn(b.p, b.len)))
        rc = act_err_field(tx->err, ACT_EPLUGIN, tx->path, "template: result is not valid UTF-8");
out:
    act_free(b.p);
    return rc < 0 ? rc : ACT_OK;
}

static int render_string(struct tctx *tx, const json_t *str, json_t **out)
{
    const char *s = json_string_value(str);
    size_t len = json_string_length(str);
    struct tseg g;
    int rc = next_seg(tx, s, len, 0, &g);

    if (rc < 0)
        return rc;
    if (rc == 0) {
        *out = tx->check ? NULL : json_stringn(s, len);
        return ACT_OK;
    }
    if (g.open == 0 && g.end == len)
        return render_typed(tx, s, &g, out);
    return render_text(tx, s, len, g, out);
}

static int render(struct tctx *tx, const json_t *v, int depth, json_t **out);

static int render_object(struct tctx *tx, const json_t *v, int depth, json_t **out)
{
    json_t *obj = tx->check ? NULL : json_object(), *m, *r;
    const char *k;
    int rc = ACT_OK;

    json_object_foreach((json_t *)v, k, m) {
        size_t old = path_push(tx, k, 0, false);
        r = NULL;
        rc = render(tx, m, depth + 1, &r);
        path_pop(tx, old);
        if (rc < 0)
            break;
        if (obj)
            json_object_set_new(obj, k, r);
    }
    if (rc < 0)
        json_decref(obj);
    else
        *out = obj;
    return rc;
}

static int render_array(struct tctx *tx, const json_t *v, int depth, json_t **out)
{
    json_t *arr = tx->check ? NULL : json_array(), *m, *r;
    size_t i;
    int rc = ACT_OK;

    json_array_foreach(v, i, m) {
        size_t old = path_push(tx, NULL, i, true);
        r = NULL;
        rc = render(tx, m, depth + 1, &r);
        path_pop(tx, old);
        if (rc < 0)
            break;
        if (arr)
            json_array_append_new(arr, r);
    }
    if (rc < 0)
        json_decref(arr);
    else
        *out = arr;
    return rc;
}

static int render(struct tctx *tx, const json_t *v, int depth, json_t **out)
{
    *out = NULL;
    if (depth > ACT_LUA_MAX_DEPTH)
        return act_err_field(tx->err, ACT_EUNPROC, tx->path, "template nested too deeply");
    switch (json_typeof(v)) {
    case JSON_STRING: return render_string(tx, v, out);
    case JSON_OBJECT: return render_object(tx, v, depth, out);
    case JSON_ARRAY: return render_array(tx, v, depth, out);
    default:
        *out = tx->check ? NULL : json_deep_copy(v);
        return ACT_OK;
    }
}

int act_template_render(const json_t *tpl, const json_t *scope, json_t **out,
                        struct act_err *err)
{
    struct tctx tx = {.err = err};
    struct act_lua_scope sc = {
        .event = json_object_get(scope, "event"),
        .input = json_object_get(scope, "input"),
        .config = json_object_get(scope, "config"),
        .execution = json_object_get(scope, "execution"),
    };
    int rc;

    *out = NULL;
    tx.S = act_lua_state();
    if ((rc = act_lua_begin(tx.S, &sc, &tpl_limits, 0, err)) < 0)
        return rc;
    rc = tpl ? render(&tx, tpl, 0, out) : ACT_OK;
    act_lua_end(tx.S);
    if (rc == ACT_OK && !*out)
        *out = json_null();
    return rc;
}

int act_template_check(const json_t *tpl, struct act_err *err)
{
    struct tctx tx = {.err = err, .check = true};
    json_t *none = NULL;

    tx.S = act_lua_state();
    if (tx.S->in_run)
        return act_err_set(err, ACT_EBUSY, "lua: nested evaluation on one thread");
    return tpl ? render(&tx, tpl, 0, &none) : ACT_OK;
}
