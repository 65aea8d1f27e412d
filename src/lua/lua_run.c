/*
 * The entry points for scripts, expressions and conditions (lua.h).
 *
 * Each call uses the calling thread's state (lua_state.c) for exactly one
 * run and leaves its stack empty.  An expression is compiled as the chunk
 * "return (<expr>)", or "return (<expr>\n)" when it holds "--" (so a
 * trailing comment cannot swallow the parenthesis), and the
 * wrapped text is the cache key, so a condition evaluated per event is
 * compiled once per thread.
 */
#include "base/alloc.h"
#include "lua/lua_internal.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define EXPR_HEAD "return ("
#define EXPR_TAIL "\n)"
#define EXPR_WRAPPED (ACT_LUA_MAX_EXPR + sizeof(EXPR_HEAD) + sizeof(EXPR_TAIL))
#define WHY_EXPR_SHOWN 80

static int state_for(struct act_lstate **out, struct act_err *err)
{
    *out = act_lua_state();
    if ((*out)->in_run)
        return act_err_set(err, ACT_EBUSY, "lua: nested evaluation on one thread");
    return ACT_OK;
}

int act_lua_check(const char *src, size_t len, const char *chunkname, struct act_err *err)
{
    struct act_lstate *S;
    int rc;

    if (len > ACT_LUA_MAX_SOURCE)
        return act_err_set(err, ACT_ETOOBIG, "lua: script longer than %d bytes",
                           ACT_LUA_MAX_SOURCE);
    if ((rc = state_for(&S, err)) < 0)
        return rc;
    if ((rc = act_lua_load(S, src, len, chunkname, err)) < 0)
        return rc;
    lua_pop(S->L, 1);
    return ACT_OK;
}

int act_lua_run(const char *src, size_t len, const char *chunkname,
                const struct act_lua_scope *scope, const struct act_lua_limits *lim, json_t **out,
                struct act_err *err)
{
    struct act_lstate *S;
    int rc;

    *out = NULL;
    if (len > ACT_LUA_MAX_SOURCE)
        return act_err_set(err, ACT_ETOOBIG, "lua: script longer than %d bytes",
                           ACT_LUA_MAX_SOURCE);
    if ((rc = state_for(&S, err)) < 0)
        return rc;
    if ((rc = act_lua_load(S, src, len, chunkname, err)) < 0)
        return rc;
    if ((rc = act_lua_begin(S, scope, lim, 0, err)) < 0) {
        lua_pop(S->L, 1);
        return rc;
    }
    if ((rc = act_lua_call(S, 0, 1, err)) == ACT_OK) {
        json_t *v = NULL;
        if ((rc = act_lua_to_json(S, -1, &v, err)) == ACT_OK && !json_is_null(v))
            *out = v;
        else
            json_decref(v);
        if (rc < 0)
            rc = ACT_EPLUGIN; /* an unconvertible result is the script's failure */
    }
    act_lua_end(S);
    return rc;
}

/* Wrap expr into buf; ACT_ETOOBIG / ACT_EUNPROC with a message when it
 * cannot be an expression. */
static int wrap(const char *expr, size_t len, char *buf, size_t *out_len, struct act_err *err)
{
    const char *tail;

    if (len > ACT_LUA_MAX_EXPR)
        return act_err_set(err, ACT_ETOOBIG, "lua: expression longer than %d bytes",
                           ACT_LUA_MAX_EXPR);
    if (memchr(expr, '\0', len))
        return act_err_set(err, ACT_EUNPROC, "lua: expression contains a NUL byte");
    /* The newline only when a comment needs it: otherwise Lua would report
     * runtime errors on line 2, where the expression ends. */
    tail = memmem(expr, len, "--", 2) ? EXPR_TAIL : &EXPR_TAIL[1];
    memcpy(buf, EXPR_HEAD, sizeof(EXPR_HEAD) - 1);
    memcpy(buf + sizeof(EXPR_HEAD) - 1, expr, len);
    memcpy(buf + sizeof(EXPR_HEAD) - 1 + len, tail, strlen(tail) + 1);
    *out_len = sizeof(EXPR_HEAD) - 1 + len + strlen(tail);
    return ACT_OK;
}

int act_lua_expr_check(const char *expr, size_t len, struct act_err *err)
{
    char buf[EXPR_WRAPPED];
    size_t n;
    int rc;

    if ((rc = wrap(expr, len, buf, &n, err)) < 0)
        return rc;
    return act_lua_check(buf, n, "expr", err);
}

int act_lua_expr_push(struct act_lstate *S, const char *expr, size_t len, struct act_err *err)
{
    char buf[EXPR_WRAPPED];
    size_t n;
    int rc;

    if ((rc = wrap(expr, len, buf, &n, err)) < 0)
        return rc;
    return act_lua_load(S, buf, n, "expr", err);
}

/* Drop a trailing incomplete UTF-8 sequence left by a truncating snprintf. */
static void trim_utf8(char *s)
{
    size_t n = strlen(s), i = n, k;

    while (i > 0 && n - i < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0 || !((unsigned char)s[i - 1] & 0x80))
        return;
    k = ((unsigned char)s[i - 1] & 0xE0) == 0xC0   ? 2
        : ((unsigned char)s[i - 1] & 0xF0) == 0xE0 ? 3
                                                   : 4;
    if (n - (i - 1) < k)
        s[i - 1] = '\0';
}

/* A false result with the reason "expression `<expr>`: <detail>". */
static bool cond_false(const char *expr, char *why, size_t wl, const char *fmt, ...)
    ACT_PRINTF(4, 5);
static bool cond_false(const char *expr, char *why, size_t wl, const char *fmt, ...)
{
    char shown[WHY_EXPR_SHOWN + 4];
    size_t n = strlen(expr), cut;
    va_list ap;

    if (!why || !wl)
        return false;
    if (n > WHY_EXPR_SHOWN) {
        cut = WHY_EXPR_SHOWN;
        while (cut > 0 && ((unsigned char)expr[cut] & 0xC0) == 0x80)
            cut--;
        memcpy(shown, expr, cut);
        memcpy(shown + cut, "...", 4);
    } else {
        memcpy(shown, expr, n + 1);
    }
    for (char *p = shown; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    snprintf(why, wl, "expression `%s`: ", shown);
    n = strlen(why);
    va_start(ap, fmt);
    vsnprintf(why + n, wl - n, fmt, ap);
    va_end(ap);
    for (char *p = why; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    trim_utf8(why);
    return false;
}

/* Push the compiled expression found by the address of its text, compiling
 * and remembering it on a miss. */
static int expr_push_cached(struct act_lstate *S, const char *expr, struct act_err *err)
{
    struct act_lexpr_slot *sl = &S->ecache[((uintptr_t)expr >> 4) % ACT_LUA_ECACHE];
    size_t len = strlen(expr);
    int rc;

    if (sl->ptr == expr && sl->len == len && memcmp(sl->copy, expr, len) == 0) {
        lua_rawgeti(S->L, LUA_REGISTRYINDEX, sl->ref);
        return ACT_OK;
    }
    if ((rc = act_lua_expr_push(S, expr, len, err)) < 0)
        return rc;
    if (sl->copy)
        luaL_unref(S->L, LUA_REGISTRYINDEX, sl->ref);
    act_free(sl->copy);
    lua_pushvalue(S->L, -1);
    sl->ref = luaL_ref(S->L, LUA_REGISTRYINDEX);
    sl->copy = act_xstrndup(expr, len);
    sl->ptr = expr;
    sl->len = len;
    return ACT_OK;
}

bool act_lua_cond_eval(const char *expr, const json_t *event, unsigned flags, char *why,
                       size_t why_len)
{
    static const struct act_lua_limits lim = {
        ACT_LUA_EXPR_INSTRUCTIONS, ACT_LUA_EXPR_MEMORY, ACT_LUA_EXPR_TIMEOUT_MS};
    struct act_lua_scope scope = {.event = event};
    struct act_err err = {0};
    struct act_lstate *S;
    bool res = false;
    int t;

    if (state_for(&S, &err) < 0 || expr_push_cached(S, expr, &err) < 0)
        return cond_false(expr, why, why_len, "error: %s", err.msg);
    if (act_lua_begin(S, &scope, &lim, flags, &err) < 0) {
        lua_pop(S->L, 1);
        return cond_false(expr, why, why_len, "error: %s", err.msg);
    }
    if (act_lua_call(S, 0, 1, &err) < 0) {
        act_lua_end(S);
        return cond_false(expr, why, why_len, "error: %s", err.msg);
    }
    t = lua_type(S->L, -1);
    if (t == LUA_TBOOLEAN)
        res = lua_toboolean(S->L, -1);
    act_lua_end(S);
    if (t != LUA_TBOOLEAN)
        return cond_false(expr, why, why_len, "got %s, not a boolean",
                          t == LUA_TUSERDATA ? "a JSON value" : lua_typename(S->L, t));
    return res || cond_false(expr, why, why_len, "%s", "false");
}
