/*
 * The per-thread sandboxed lua_State and the run protocol.
 *
 * Each thread gets one state on first use (a pthread key closes it when the
 * thread exits), so evaluations never pay for lua_newstate.  The state is
 * shared by every script, condition and template the thread runs, so
 * nothing a script does may outlive its run:
 *  - chunks run with _ENV = `env`, an empty table whose metatable sends
 *    reads to `vars` (the run's bindings: event, input, config, execution),
 *    then to `safe` (the whitelisted functions, read-only library proxies,
 *    _G = env, null) and refuses writes; every metatable scripts can reach
 *    is protected by __metatable, rawset is not offered, setmetatable
 *    refuses __gc (a finalizer could run outside any budget);
 *  - the string metatable is protected and string.dump is removed from the
 *    real string table (reachable through methods on strings);
 *  - the allocator counts bytes: during act_lua_call a growing allocation
 *    past run_limit is refused (Lua raises a memory error, after its own
 *    emergency collection); outside calls the cap is ACT_LUA_STATE_CAP;
 *  - a count hook charges `step` instructions per call against max_instr
 *    and checks the deadline; on a hit it sets `killed` and raises a plain
 *    string; the sandbox's pcall/xpcall re-raise while killed and for memory
 *    errors, so scripts cannot swallow a limit;
 *  - proxies carry the run generation; act_lua_end bumps it.
 * Everything here runs on the thread that owns the state: no locks.
 */
#include "base/alloc.h"
#include "base/time.h"
#include "lua/lua_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_key_t state_key;
static pthread_once_t state_once = PTHREAD_ONCE_INIT;
static _Thread_local struct act_lstate *tls_state;
static _Thread_local unsigned tls_created;

/* ---- allocator, panic, hook ---- */

static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct act_lstate *S = ud;
    size_t old = ptr ? osize : 0;

    if (nsize == 0) {
        act_free(ptr);
        S->mem_used -= old;
        return NULL;
    }
    if (nsize > old && S->mem_used + (nsize - old) > S->mem_limit) {
        S->mem_hit = true;
        return NULL;
    }
    ptr = act_xrealloc(ptr, nsize);
    if (nsize > old)
        S->mem_hit = false; /* a retry after the emergency collection worked */
    S->mem_used = S->mem_used - old + nsize;
    return ptr;
}

static int sb_panic(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    ACT_BUG("unprotected lua error: %s", msg ? msg : "(not a string)");
}

static void sb_kill(lua_State *L, struct act_lstate *S)
{
    S->killed = true;
    lua_pushstring(L, S->kill_msg);
    lua_error(L);
}

static void sb_hook(lua_State *L, lua_Debug *ar)
{
    struct act_lstate *S = act_lua_from(L);

    (void)ar;
    if (!S->in_run)
        return;
    S->used += (uint64_t)S->step;
    if (S->used > S->max_instr) {
        snprintf(S->kill_msg, sizeof(S->kill_msg), "lua: instruction budget of %llu exceeded",
                 (unsigned long long)S->max_instr);
        sb_kill(L, S);
    }
    if (act_time_mono_us() > S->deadline_us) {
        snprintf(S->kill_msg, sizeof(S->kill_msg), "lua: time limit of %lld ms exceeded",
                 (long long)S->timeout_ms);
        sb_kill(L, S);
    }
}

/* ---- sandboxed replacements ---- */

/* pcall/xpcall that catch script errors but not limits. */
static int sb_finish_pcall(lua_State *L, int status, int extra)
{
    struct act_lstate *S = act_lua_from(L);

    if (status == LUA_OK)
        return lua_gettop(L) - extra;
    if (S->killed || status == LUA_ERRMEM)
        return lua_error(L);
    lua_pushboolean(L, 0);
    lua_pushvalue(L, -2);
    return 2;
}

static int sb_pcall(lua_State *L)
{
    int n = lua_gettop(L);

    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    return sb_finish_pcall(L, lua_pcall(L, n - 1, LUA_MULTRET, 0), 0);
}

static int sb_xpcall(lua_State *L)
{
    int n = lua_gettop(L);

    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushboolean(L, 1);
    lua_pushvalue(L, 1);
    lua_rotate(L, 3, 2); /* msgh, true, f, args */
    return sb_finish_pcall(L, lua_pcall(L, n - 2, LUA_MULTRET, 2), 2);
}

static int sb_setmetatable(lua_State *L)
{
    int t = lua_type(L, 2);

    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (t == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "lua: __gc metamethods are not allowed");
        lua_pop(L, 1);
    }
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

/* string.rep: Lua's own loops n times even when every piece is empty,
 * inside C where neither the count hook nor the deadline can stop it
 * (string.rep('', 1e18) would never return).  Empty pieces give "" at once;
 * anything else allocates its whole result first, under the memory cap. */
static int sb_string_rep(lua_State *L)
{
    size_t l, lsep;

    luaL_checklstring(L, 1, &l);
    luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (l == 0 && lsep == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int sb_readonly(lua_State *L)
{
    const char *what = lua_tostring(L, lua_upvalueindex(1));
    const char *key = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?";

    return luaL_error(L, "lua: cannot assign '%s': %s", key, what);
}

/* ---- building the environment ---- */

/* Set the metatable {__index = table at idx, __newindex = refuse(what),
 * __metatable = "locked"} on the table on top of the stack. */
static void protect(lua_State *L, int idx, const char *what)
{
    idx = lua_absindex(L, idx);
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, idx);
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, what);
    lua_pushcclosure(L, sb_readonly, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

/* safe[name] = a read-only proxy of the library on top; pops it. */
static void add_library(lua_State *L, int safe, const char *name)
{
    lua_newtable(L);
    protect(L, -2, "library tables are read-only");
    lua_setfield(L, safe, name);
    lua_pop(L, 1);
}

static void copy_base(lua_State *L, int safe)
{
    static const char *const names[] = {
        "assert", "error",  "ipairs",   "next",   "pairs",   "select",       "tonumber",
        "tostring", "type", "rawequal", "rawlen", "rawget",  "getmetatable", "_VERSION",
    };

    lua_pushglobaltable(L);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        lua_getfield(L, -1, names[i]);
        lua_setfield(L, safe, names[i]);
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, sb_pcall);
    lua_setfield(L, safe, "pcall");
    lua_pushcfunction(L, sb_xpcall);
    lua_setfield(L, safe, "xpcall");
    lua_pushcfunction(L, sb_setmetatable);
    lua_setfield(L, safe, "setmetatable");
    lua_pushlightuserdata(L, (void *)&act_lua_null_sentinel);
    lua_setfield(L, safe, "null");
}

static void add_libraries(lua_State *L, int safe)
{
    luaL_requiref(L, "string", luaopen_string, 0);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_getfield(L, -1, "rep"); /* the original, as the wrapper's upvalue */
    lua_pushcclosure(L, sb_string_rep, 1);
    lua_setfield(L, -2, "rep");
    lua_pushliteral(L, "");        /* protect the string metatable */
    lua_getmetatable(L, -1);
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
    add_library(L, safe, "string");
    luaL_requiref(L, "table", luaopen_table, 0);
    add_library(L, safe, "table");
    luaL_requiref(L, "math", luaopen_math, 0);
    add_library(L, safe, "math");
    luaL_requiref(L, "utf8", luaopen_utf8, 0);
    add_library(L, safe, "utf8");
    luaL_requiref(L, "os", luaopen_os, 0);
    lua_createtable(L, 0, 2); /* os.time and os.clock only */
    lua_getfield(L, -2, "time");
    lua_setfield(L, -2, "time");
    lua_getfield(L, -2, "clock");
    lua_setfield(L, -2, "clock");
    add_library(L, safe, "os");
    lua_pop(L, 1);
}

/* env -> vars -> safe, references kept in the registry. */
static void build_env(struct act_lstate *S)
{
    lua_State *L = S->L;
    int safe, vars, env;

    luaL_requiref(L, "_G", luaopen_base, 0);
    lua_pop(L, 1);
    lua_newtable(L);
    safe = lua_gettop(L);
    copy_base(L, safe);
    add_libraries(L, safe);
    lua_newtable(L);
    vars = lua_gettop(L);
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, safe);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, vars);
    lua_newtable(L);
    env = lua_gettop(L);
    protect(L, vars, "globals are read-only (use a local)");
    lua_pushvalue(L, env);
    lua_setfield(L, safe, "_G");
    S->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    S->vars_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1); /* safe stays reachable through vars' metatable */
    lua_newtable(L);
    S->cache_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    S->pmt_ref = act_lua_proxy_init(L);
    for (int i = 0; i < 4; i++) {
        static const char *const keys[] = {"event", "input", "config", "execution"};
        lua_pushstring(L, keys[i]);
        S->key_ref[i] = luaL_ref(L, LUA_REGISTRYINDEX);
    }
}

static struct act_lstate *state_new(void)
{
    struct act_lstate *S = act_xcalloc(1, sizeof(*S));

    S->mem_limit = ACT_LUA_STATE_CAP;
    S->L = lua_newstate(sb_alloc, S);
    if (!S->L)
        ACT_BUG("lua_newstate failed");
    *(struct act_lstate **)lua_getextraspace(S->L) = S;
    lua_atpanic(S->L, sb_panic);
    lua_gc(S->L, LUA_GCGEN, 0, 0);
    build_env(S);
    return S;
}

static void state_free(struct act_lstate *S)
{
    if (!S)
        return;
    lua_close(S->L);
    for (size_t i = 0; i < ACT_LUA_ECACHE; i++)
        act_free(S->ecache[i].copy);
    act_free(S);
}

static void on_thread_exit(void *p)
{
    state_free(p);
    tls_state = NULL;
}

static void make_key(void)
{
    if (pthread_key_create(&state_key, on_thread_exit) != 0)
        ACT_BUG("pthread_key_create failed");
}

struct act_lstate *act_lua_state(void)
{
    if (tls_state)
        return tls_state;
    pthread_once(&state_once, make_key);
    tls_state = state_new();
    tls_created++;
    pthread_setspecific(state_key, tls_state);
    return tls_state;
}

void act_lua_thread_release(void)
{
    if (!tls_state)
        return;
    pthread_setspecific(state_key, NULL);
    state_free(tls_state);
    tls_state = NULL;
}

void act_lua_thread_stats(struct act_lua_stats *st)
{
    st->states_created = tls_created;
    st->n_cached = tls_state ? tls_state->n_cached : 0;
    st->mem_used = tls_state ? tls_state->mem_used : 0;
}

/* ---- chunks ---- */

int act_lua_load(struct act_lstate *S, const char *src, size_t len, const char *chunkname,
                 struct act_err *err)
{
    lua_State *L = S->L;
    char name[64];

    lua_rawgeti(L, LUA_REGISTRYINDEX, S->cache_ref);
    lua_pushlstring(L, src, len);
    if (lua_rawget(L, -2) == LUA_TFUNCTION) {
        lua_remove(L, -2);
        return ACT_OK;
    }
    lua_pop(L, 1);
    snprintf(name, sizeof(name), "=%s", chunkname ? chunkname : "lua");
    if (luaL_loadbufferx(L, src, len, name, "t") != LUA_OK) {
        act_err_set(err, ACT_EUNPROC, "lua: %s", lua_tostring(L, -1));
        lua_pop(L, 2);
        return ACT_EUNPROC;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, S->env_ref);
    lua_setupvalue(L, -2, 1); /* _ENV */
    if (S->n_cached >= ACT_LUA_CACHE_MAX) {
        lua_newtable(L);
        lua_rawseti(L, LUA_REGISTRYINDEX, S->cache_ref);
        lua_remove(L, -2);
        lua_rawgeti(L, LUA_REGISTRYINDEX, S->cache_ref);
        lua_insert(L, -2);
        S->n_cached = 0;
    }
    lua_pushlstring(L, src, len);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);
    S->n_cached++;
    lua_remove(L, -2);
    return ACT_OK;
}

/* ---- runs ---- */

/* vars[key i] = v (a proxy, or an eager table); nothing for NULL, which
 * act_lua_end left nil. */
static void bind(struct act_lstate *S, int i, const json_t *v, bool eager)
{
    lua_State *L = S->L;

    if (!v)
        return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, S->key_ref[i]);
    if (eager)
        act_lua_push_table(L, v, 0);
    else
        act_lua_push_json(S, v);
    lua_rawset(L, -3);
    S->bound |= 1u << i;
}

int act_lua_begin(struct act_lstate *S, const struct act_lua_scope *scope,
                  const struct act_lua_limits *lim, unsigned flags, struct act_err *err)
{
    static const struct act_lua_scope none;
    lua_State *L = S->L;

    if (S->in_run)
        return act_err_set(err, ACT_EBUSY, "lua: nested evaluation on one thread");
    if (!scope)
        scope = &none;
    S->in_run = true;
    S->killed = false;
    S->mem_hit = false;
    S->used = 0;
    S->max_instr = lim && lim->max_instructions ? lim->max_instructions
                                                : ACT_LUA_SCRIPT_INSTRUCTIONS;
    S->run_allow = lim && lim->max_memory ? lim->max_memory : ACT_LUA_SCRIPT_MEMORY;
    S->timeout_ms = lim && lim->timeout_ms > 0 ? lim->timeout_ms : ACT_LUA_SCRIPT_TIMEOUT_MS;
    S->step = S->max_instr < 1000 ? (int)S->max_instr : 1000;
    lua_rawgeti(L, LUA_REGISTRYINDEX, S->vars_ref);
    bind(S, 0, scope->event, flags & ACT_LUA_EAGER_TABLES);
    bind(S, 1, scope->input, false);
    bind(S, 2, scope->config, false);
    bind(S, 3, scope->execution, false);
    lua_pop(L, 1);
    S->run_limit = S->mem_used + S->run_allow;
    if (S->run_limit > ACT_LUA_STATE_CAP)
        S->run_limit = ACT_LUA_STATE_CAP;
    S->deadline_us = act_time_mono_us() + S->timeout_ms * 1000;
    lua_sethook(L, sb_hook, LUA_MASKCOUNT, S->step);
    return ACT_OK;
}

int act_lua_call(struct act_lstate *S, int nargs, int nres, struct act_err *err)
{
    lua_State *L = S->L;
    int st;

    S->mem_limit = S->run_limit;
    st = lua_pcall(L, nargs, nres, 0);
    S->mem_limit = ACT_LUA_STATE_CAP;
    if (st == LUA_OK)
        return ACT_OK;
    if (st == LUA_ERRMEM) {
        S->killed = true;
        snprintf(S->kill_msg, sizeof(S->kill_msg), "lua: memory limit of %zu bytes exceeded",
                 S->run_allow);
    }
    if (S->killed)
        act_err_set(err, ACT_ETOOBIG, "%s", S->kill_msg);
    else if (lua_type(L, -1) == LUA_TSTRING)
        act_err_set(err, ACT_EPLUGIN, "%s", lua_tostring(L, -1));
    else
        act_err_set(err, ACT_EPLUGIN, "(error object is a %s value)", luaL_typename(L, -1));
    lua_pop(L, 1);
    return S->killed ? ACT_ETOOBIG : ACT_EPLUGIN;
}

void act_lua_end(struct act_lstate *S)
{
    lua_State *L = S->L;

    lua_sethook(L, NULL, 0, 0);
    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, S->vars_ref);
    for (int i = 0; i < 4; i++) {
        if (!(S->bound & (1u << i)))
            continue;
        lua_rawgeti(L, LUA_REGISTRYINDEX, S->key_ref[i]);
        lua_pushnil(L);
        lua_rawset(L, -3);
    }
    S->bound = 0;
    lua_pop(L, 1);
    S->gen++;
    if (S->killed)
        lua_gc(L, LUA_GCCOLLECT);
    S->in_run = false;
}
