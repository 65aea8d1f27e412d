/*
 * Lua -> JSON, for script results and typed templates, and the text form
 * used when a template mixes text and expressions.
 *
 * Conversion never calls a metamethod (it runs outside protected mode,
 * after the run's call returned): tables are walked with lua_next and
 * lua_rawgeti, and keys are formatted with snprintf rather than
 * lua_tolstring, which would convert numbers in place and break lua_next.
 * Rules (lua.h): a table whose keys are exactly the integers 1..n is an
 * array; otherwise every key must be a string or a number (numbers become
 * their decimal text) and the table is an object; an empty table is {}.
 * Depth is capped at ACT_LUA_MAX_DEPTH (which also stops cycles) and the
 * value count at ACT_LUA_MAX_NODES.  Strings must be valid UTF-8.
 */
#include "base/alloc.h"
#include "lua/lua_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct conv {
    struct act_lstate *S;
    size_t n_nodes;
    char path[128];
    size_t plen;
    struct act_err *err;
};

static int conv_fail(struct conv *cx, const char *what)
{
    return act_err_set(cx->err, ACT_EINVAL, "lua: %s%s%s", cx->path, cx->plen ? ": " : "",
                       what);
}

static size_t path_grow(struct conv *cx, size_t old, int n)
{
    cx->plen = n < 0 ? old : old + (size_t)n;
    if (cx->plen >= sizeof(cx->path))
        cx->plen = sizeof(cx->path) - 1;
    return old;
}

static size_t path_key(struct conv *cx, const char *key)
{
    size_t old = cx->plen;

    return path_grow(cx, old, snprintf(cx->path + old, sizeof(cx->path) - old, "%s%.40s",
                                       old ? "." : "", key));
}

static size_t path_index(struct conv *cx, size_t i)
{
    size_t old = cx->plen;

    return path_grow(cx, old, snprintf(cx->path + old, sizeof(cx->path) - old, "[%zu]", i));
}

static void path_pop(struct conv *cx, size_t old)
{
    cx->plen = old;
    cx->path[old] = '\0';
}

static int conv_value(struct conv *cx, int idx, int depth, json_t **out);

/* 1..n with no other key: n; otherwise 0 (also for an empty table). */
static size_t array_len(lua_State *L, int idx)
{
    size_t n = 0;
    lua_Integer max = 0;

    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) {
            lua_pop(L, 1);
            return 0;
        }
        if (lua_tointeger(L, -1) > max)
            max = lua_tointeger(L, -1);
        n++;
    }
    return (lua_Integer)n == max ? n : 0;
}

static int conv_array(struct conv *cx, int idx, size_t n, int depth, json_t **out)
{
    lua_State *L = cx->S->L;
    json_t *arr = json_array();
    int rc = ACT_OK;

    for (size_t i = 1; i <= n && rc == ACT_OK; i++) {
        size_t old = path_index(cx, i);
        json_t *v = NULL;
        lua_rawgeti(L, idx, (lua_Integer)i);
        rc = conv_value(cx, lua_gettop(L), depth + 1, &v);
        lua_pop(L, 1);
        if (rc == ACT_OK)
            json_array_append_new(arr, v);
        path_pop(cx, old);
    }
    if (rc < 0)
        json_decref(arr);
    else
        *out = arr;
    return rc;
}

static int key_text(struct conv *cx, int k, char *buf, size_t len, const char **key)
{
    lua_State *L = cx->S->L;

    if (lua_type(L, k) == LUA_TSTRING) {
        *key = lua_tostring(L, k);
        return ACT_OK;
    }
    if (lua_isinteger(L, k))
        snprintf(buf, len, "%lld", (long long)lua_tointeger(L, k));
    else if (lua_type(L, k) == LUA_TNUMBER)
        snprintf(buf, len, "%.14g", lua_tonumber(L, k));
    else
        return conv_fail(cx, lua_type(L, k) == LUA_TBOOLEAN
                                 ? "cannot convert a table with boolean keys to JSON"
                                 : "cannot convert a table with non-string keys to JSON");
    *key = buf;
    return ACT_OK;
}

static int conv_object(struct conv *cx, int idx, int depth, json_t **out)
{
    lua_State *L = cx->S->L;
    json_t *obj = json_object();
    int top = lua_gettop(L), rc = ACT_OK;

    lua_pushnil(L);
    while (rc == ACT_OK && lua_next(L, idx)) {
        char buf[48];
        const char *key = NULL;
        json_t *v = NULL;

        if ((rc = key_text(cx, lua_gettop(L) - 1, buf, sizeof(buf), &key)) == ACT_OK) {
            size_t old = path_key(cx, key);
            rc = conv_value(cx, lua_gettop(L), depth + 1, &v);
            path_pop(cx, old);
        }
        lua_pop(L, 1);
        if (rc == ACT_OK && json_object_set_new(obj, key, v) < 0)
            rc = conv_fail(cx, "table key is not valid UTF-8");
    }
    if (rc < 0) {
        lua_settop(L, top); /* drop the key lua_next left */
        json_decref(obj);
    } else {
        *out = obj;
    }
    return rc;
}

static int conv_table(struct conv *cx, int idx, int depth, json_t **out)
{
    size_t n;

    if (depth > ACT_LUA_MAX_DEPTH)
        return conv_fail(cx, "nested too deeply (or a cycle) for JSON");
    luaL_checkstack(cx->S->L, 8, "json conversion");
    n = array_len(cx->S->L, idx);
    return n ? conv_array(cx, idx, n, depth, out) : conv_object(cx, idx, depth, out);
}

static int conv_value(struct conv *cx, int idx, int depth, json_t **out)
{
    lua_State *L = cx->S->L;
    const json_t *j;
    size_t len;
    const char *s;

    if (++cx->n_nodes > ACT_LUA_MAX_NODES)
        return conv_fail(cx, "more values than JSON output allows");
    switch (lua_type(L, idx)) {
    case LUA_TNIL: *out = json_null(); return ACT_OK;
    case LUA_TBOOLEAN: *out = json_boolean(lua_toboolean(L, idx)); return ACT_OK;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            *out = json_integer((json_int_t)lua_tointeger(L, idx));
            return ACT_OK;
        }
        if (!isfinite(lua_tonumber(L, idx)))
            return conv_fail(cx, "cannot convert NaN or infinity to JSON");
        *out = json_real(lua_tonumber(L, idx));
        return ACT_OK;
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        *out = json_stringn(s, len);
        return *out ? ACT_OK : conv_fail(cx, "string is not valid UTF-8");
    case LUA_TTABLE: return conv_table(cx, idx, depth, out);
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == &act_lua_null_sentinel) {
            *out = json_null();
            return ACT_OK;
        }
        break;
    case LUA_TUSERDATA:
        if ((j = act_lua_proxy_get(cx->S, idx))) {
            *out = json_deep_copy(j);
            return ACT_OK;
        }
        break;
    default: break;
    }
    return conv_fail(cx, lua_type(L, idx) == LUA_TFUNCTION ? "cannot convert a function to JSON"
                                                          : "cannot convert this value to JSON");
}

int act_lua_to_json(struct act_lstate *S, int idx, json_t **out, struct act_err *err)
{
    struct conv cx = {.S = S, .err = err};

    *out = NULL;
    return conv_value(&cx, lua_absindex(S->L, idx), 0, out);
}

void act_lbuf_add(struct act_lbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = act_xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static int lbuf_cb(const char *buf, size_t size, void *ud)
{
    act_lbuf_add(ud, buf, size);
    return 0;
}

int act_lua_to_text(struct act_lstate *S, int idx, struct act_lbuf *b, size_t max,
                    struct act_err *err)
{
    lua_State *L = S->L;
    json_t *v = NULL;
    size_t len;
    const char *s;
    int rc;

    switch (lua_type(L, idx)) {
    case LUA_TNIL: return ACT_OK;
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        if (b->len + len > max)
            return act_err_set(err, ACT_ETOOBIG, "lua: template text over %zu bytes", max);
        act_lbuf_add(b, s, len);
        return ACT_OK;
    default: break;
    }
    if ((rc = act_lua_to_json(S, idx, &v, err)) < 0)
        return rc;
    if (json_is_null(v)) {
        json_decref(v);
        return ACT_OK;
    }
    len = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    if (b->len + len > max) {
        json_decref(v);
        return act_err_set(err, ACT_ETOOBIG, "lua: template text over %zu bytes", max);
    }
    json_dump_callback(v, lbuf_cb, b, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    return ACT_OK;
}
