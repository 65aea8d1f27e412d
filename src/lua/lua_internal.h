/*
 * Shared by the files of src/lua/ only.
 *
 *   lua_state.c     the per-thread sandboxed state: allocator, hook, environment, chunk cache,
 *                   the run protocol (begin / call / end)
 *   lua_proxy.c     JSON -> Lua: lazy userdata proxies, and eager tables for comparison
 *   lua_json.c      Lua -> JSON with depth and size limits
 *   lua_run.c       scripts, expressions and conditions (the public entry points)
 *   lua_template.c  `{{ expr }}` templates
 *
 * A run is: act_lua_load (pushes the compiled chunk), act_lua_begin (binds the scope, arms the
 * limits), one or more act_lua_call, act_lua_end (unbinds, invalidates this run's proxies).
 */
#ifndef ACT_LUA_LUA_INTERNAL_H
#define ACT_LUA_LUA_INTERNAL_H

#include "lua/lua.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

/* The whole state may hold at most this much, runs included. */
#define ACT_LUA_STATE_CAP ((size_t)1 << 30)
/* Cached chunks per state; the cache is dropped whole when full. */
#define ACT_LUA_CACHE_MAX 512

/* A compiled expression found by the address of its text (conditions keep
 * their text at one address), verified against a copy of the text. */
#define ACT_LUA_ECACHE 64
struct act_lexpr_slot {
    const char *ptr;
    char *copy;          /* owned */
    size_t len;
    int ref;             /* the function in the registry */
};

struct act_lstate {
    lua_State *L;
    /* allocator */
    size_t mem_used;
    size_t mem_limit;    /* ACT_LUA_STATE_CAP outside act_lua_call */
    size_t run_limit;    /* mem_used at begin + the run's allowance */
    size_t run_allow;    /* the run's allowance, for messages */
    bool mem_hit;        /* the last growing allocation was refused */
    /* the current run */
    bool in_run;
    bool killed;         /* a limit was hit: pcall re-raises */
    uint64_t used, max_instr;
    int step;
    int64_t deadline_us, timeout_ms;
    uint32_t gen;        /* proxies of other generations are dead */
    char kill_msg[128];
    /* registry references */
    int env_ref, vars_ref, cache_ref, pmt_ref;
    int key_ref[4];      /* "event", "input", "config", "execution" */
    unsigned bound;      /* which of them the run bound (bit i: key_ref[i]) */
    size_t n_cached;
    struct act_lexpr_slot ecache[ACT_LUA_ECACHE];
};

/* The state from inside a C function or hook.  thread: the state's */
static inline struct act_lstate *act_lua_from(lua_State *L)
{
    return *(struct act_lstate **)lua_getextraspace(L);
}

/* The calling thread's state, created on first use.  thread: any */
struct act_lstate *act_lua_state(void);

/* Push the compiled chunk for src (from the cache, else compiled as text with
 * `chunkname` and cached).  A syntax error is ACT_EUNPROC with "lua: <msg>"
 * and nothing pushed.  thread: the state's */
int act_lua_load(struct act_lstate *S, const char *src, size_t len, const char *chunkname,
                 struct act_err *err);

/* Push the compiled chunk of the expression `expr` ("return (<expr>)",
 * chunk name "expr"); errors as act_lua_load, ACT_ETOOBIG over
 * ACT_LUA_MAX_EXPR.  thread: the state's */
int act_lua_expr_push(struct act_lstate *S, const char *expr, size_t len, struct act_err *err);

/* Start a run: refuse nesting (ACT_EBUSY), bind scope (NULL: all nil) with
 * proxies, or event as an eager table with ACT_LUA_EAGER_TABLES, and arm
 * the limits (NULL: script defaults; zero members: defaults).
 * thread: the state's */
int act_lua_begin(struct act_lstate *S, const struct act_lua_scope *scope,
                  const struct act_lua_limits *lim, unsigned flags, struct act_err *err);

/* Call the function below `nargs` arguments on the stack top in protected
 * mode under the run's limits, leaving `nres` results.  On failure nothing
 * is left, err has one line and the code is ACT_ETOOBIG for a limit,
 * ACT_EPLUGIN otherwise.  thread: the state's */
int act_lua_call(struct act_lstate *S, int nargs, int nres, struct act_err *err);

/* End the run: unbind the scope, invalidate its proxies, empty the stack,
 * collect garbage after a limit.  thread: the state's */
void act_lua_end(struct act_lstate *S);

/* Push a JSON value: nil, boolean, integer (also integral reals), float,
 * string, or a read-only proxy for objects and arrays valid until the run
 * ends.  v may be NULL (nil).  thread: the state's */
void act_lua_push_json(struct act_lstate *S, const json_t *v);

/* Push v converted whole into Lua tables (nulls dropped).  thread: the state's */
void act_lua_push_table(lua_State *L, const json_t *v, int depth);

/* The JSON value behind a live proxy at idx, or NULL when idx is not one.
 * thread: the state's */
const json_t *act_lua_proxy_get(struct act_lstate *S, int idx);

/* Create the proxy metatable and return its registry reference.
 * thread: the state's */
int act_lua_proxy_init(lua_State *L);

/* The sentinel pushed as the global `null`. */
extern const char act_lua_null_sentinel;

/* Convert the value at idx into JSON (rules in lua.h) without calling any
 * metamethod.  *out is a new reference.  ACT_EINVAL with a message naming
 * the path ("result.items[3]: cannot convert a function to JSON").
 * thread: the state's */
int act_lua_to_json(struct act_lstate *S, int idx, json_t **out, struct act_err *err);

/* Append the text form of the value at idx (template text rules in lua.h)
 * to a growable buffer; ACT_ETOOBIG past `max` bytes.  thread: the state's */
struct act_lbuf {
    char *p;
    size_t len, cap;
};
int act_lua_to_text(struct act_lstate *S, int idx, struct act_lbuf *b, size_t max,
                    struct act_err *err);
void act_lbuf_add(struct act_lbuf *b, const char *s, size_t n);

#endif
