/*
 * JSON -> Lua.  Objects and arrays reach scripts as userdata proxies that
 * resolve members on demand, so a condition reading `event.data.tier`
 * touches two members instead of converting the whole event.
 *
 * A proxy holds a borrowed json_t and the run generation it was made in;
 * the JSON outlives the run (it is the caller's), but the proxy may not:
 * act_lua_end bumps the generation and any later use is an error rather
 * than a read of freed memory.  Proxies are read-only (__newindex refuses),
 * their metatable is protected, and they support __index (object keys;
 * 1-based array indices), __len (array length, or member count), __pairs
 * (insertion order for objects), __eq (json_equal) and __tostring (compact
 * JSON).  Scalars are pushed as Lua values: null -> nil, integral reals ->
 * integers.
 *
 * act_lua_push_table converts a whole value into tables, for comparison
 * (bench_lua_cond) and nothing else.
 */
#include "base/alloc.h"
#include "lua/lua_internal.h"

#include <math.h>
#include <string.h>

const char act_lua_null_sentinel = 0;

struct lproxy {
    const json_t *j;
    uint32_t gen;
};

static const json_t *check_proxy(lua_State *L, int idx)
{
    struct act_lstate *S = act_lua_from(L);
    struct lproxy *p = lua_touserdata(L, idx);

    if (!p || lua_rawlen(L, idx) != sizeof(*p))
        luaL_error(L, "lua: not a JSON value");
    if (p->gen != S->gen)
        luaL_error(L, "lua: JSON value used after its run ended");
    return p->j;
}

static void push_number(lua_State *L, const json_t *v)
{
    double d;

    if (json_is_integer(v)) {
        lua_pushinteger(L, (lua_Integer)json_integer_value(v));
        return;
    }
    d = json_real_value(v);
    if (d == floor(d) && d >= -0x1p63 && d < 0x1p63)
        lua_pushinteger(L, (lua_Integer)d);
    else
        lua_pushnumber(L, d);
}

void act_lua_push_json(struct act_lstate *S, const json_t *v)
{
    lua_State *L = S->L;
    struct lproxy *p;

    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_TRUE: lua_pushboolean(L, 1); return;
    case JSON_FALSE: lua_pushboolean(L, 0); return;
    case JSON_INTEGER:
    case JSON_REAL: push_number(L, v); return;
    case JSON_STRING: lua_pushlstring(L, json_string_value(v), json_string_length(v)); return;
    case JSON_OBJECT:
    case JSON_ARRAY: break;
    default: lua_pushnil(L); return;
    }
    p = lua_newuserdatauv(L, sizeof(*p), 0);
    p->j = v;
    p->gen = S->gen;
    lua_rawgeti(L, LUA_REGISTRYINDEX, S->pmt_ref);
    lua_setmetatable(L, -2);
}

const json_t *act_lua_proxy_get(struct act_lstate *S, int idx)
{
    lua_State *L = S->L;
    struct lproxy *p = lua_touserdata(L, idx);
    bool same;

    if (!p || lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx))
        return NULL;
    lua_rawgeti(L, LUA_REGISTRYINDEX, S->pmt_ref);
    same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same && p->gen == S->gen ? p->j : NULL;
}

static int px_index(lua_State *L)
{
    const json_t *j = check_proxy(L, 1);
    struct act_lstate *S = act_lua_from(L);
    size_t len;
    const char *k;
    lua_Integer i;
    int isnum;

    if (json_is_object(j)) {
        if (lua_type(L, 2) != LUA_TSTRING)
            return 0;
        k = lua_tolstring(L, 2, &len);
        act_lua_push_json(S, json_object_getn(j, k, len));
        return 1;
    }
    i = lua_tointegerx(L, 2, &isnum);
    if (!isnum || i < 1 || (size_t)i > json_array_size(j))
        return 0;
    act_lua_push_json(S, json_array_get(j, (size_t)i - 1));
    return 1;
}

static int px_len(lua_State *L)
{
    const json_t *j = check_proxy(L, 1);

    lua_pushinteger(L, (lua_Integer)(json_is_object(j) ? json_object_size(j)
                                                       : json_array_size(j)));
    return 1;
}

/* The iterator of __pairs: (proxy, previous key) -> next key, value. */
static int px_next(lua_State *L)
{
    const json_t *j = check_proxy(L, 1);
    struct act_lstate *S = act_lua_from(L);
    void *it;

    if (json_is_array(j)) {
        lua_Integer i = lua_isnil(L, 2) ? 0 : luaL_checkinteger(L, 2);
        if (i < 0 || (size_t)i >= json_array_size(j))
            return 0;
        lua_pushinteger(L, i + 1);
        act_lua_push_json(S, json_array_get(j, (size_t)i));
        return 2;
    }
    if (lua_isnil(L, 2))
        it = json_object_iter((json_t *)j);
    else
        it = json_object_iter_next((json_t *)j,
                                   json_object_iter_at((json_t *)j, luaL_checkstring(L, 2)));
    if (!it)
        return 0;
    lua_pushstring(L, json_object_iter_key(it));
    act_lua_push_json(S, json_object_iter_value(it));
    return 2;
}

static int px_pairs(lua_State *L)
{
    check_proxy(L, 1);
    lua_pushcfunction(L, px_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int px_eq(lua_State *L)
{
    const json_t *a = check_proxy(L, 1), *b = check_proxy(L, 2);

    lua_pushboolean(L, a == b || json_equal(a, b));
    return 1;
}

static int dump_cb(const char *buf, size_t size, void *ud)
{
    luaL_addlstring(ud, buf, size);
    return 0;
}

static int px_tostring(lua_State *L)
{
    const json_t *j = check_proxy(L, 1);
    luaL_Buffer b;

    luaL_buffinit(L, &b);
    json_dump_callback(j, dump_cb, &b, JSON_COMPACT | JSON_ENCODE_ANY);
    luaL_pushresult(&b);
    return 1;
}

static int px_newindex(lua_State *L)
{
    return luaL_error(L, "lua: JSON values are read-only (copy into a table to change)");
}

int act_lua_proxy_init(lua_State *L)
{
    static const luaL_Reg meta[] = {
        {"__index", px_index}, {"__len", px_len},           {"__pairs", px_pairs},
        {"__eq", px_eq},       {"__tostring", px_tostring}, {"__newindex", px_newindex},
        {NULL, NULL},
    };

    luaL_newlib(L, meta);
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pushliteral(L, "json");
    lua_setfield(L, -2, "__name");
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

void act_lua_push_table(lua_State *L, const json_t *v, int depth)
{
    const char *k;
    json_t *m;
    size_t i;

    if (!v || depth > ACT_LUA_MAX_DEPTH) {
        lua_pushnil(L);
        return;
    }
    luaL_checkstack(L, 4, "json nesting");
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        lua_createtable(L, 0, (int)json_object_size(v));
        json_object_foreach((json_t *)v, k, m) {
            act_lua_push_table(L, m, depth + 1);
            lua_setfield(L, -2, k);
        }
        return;
    case JSON_ARRAY:
        lua_createtable(L, (int)json_array_size(v), 0);
        json_array_foreach(v, i, m) {
            act_lua_push_table(L, m, depth + 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        return;
    case JSON_TRUE:
    case JSON_FALSE: lua_pushboolean(L, json_is_true(v)); return;
    case JSON_INTEGER:
    case JSON_REAL: push_number(L, v); return;
    case JSON_STRING: lua_pushlstring(L, json_string_value(v), json_string_length(v)); return;
    default: lua_pushnil(L); return;
    }
}
