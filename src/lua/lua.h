/*
 * Lua 5.4 (Debian's liblua5.4) as actiond's expression and script language:
 * the `lua` handler kind, subscription conditions in expression form and
 * `{{ ... }}` templates in handler configs (docs/internals/lua.md).
 *
 * Every evaluation runs in a sandbox:
 *  - one lua_State per thread, created on first use and reused, so a run
 *    never creates a state (freed when the thread exits, or by
 *    act_lua_thread_release);
 *  - a whitelisted environment: assert error ipairs next pairs pcall xpcall
 *    select tonumber tostring type rawequal rawlen rawget getmetatable
 *    setmetatable (no __gc), string (without dump), table, math, utf8 and
 *    os.time/os.clock.  No io, os beyond the clock, package, require, load,
 *    loadstring, dofile, debug, string.dump, collectgarbage, coroutine;
 *  - globals and library tables are read-only (assigning one is an error;
 *    scripts use locals);
 *  - text chunks only (a binary chunk is refused by the loader);
 *  - an instruction budget (a count hook) with a wall-clock deadline checked
 *    in the same hook, and a memory cap through the state's allocator; once
 *    a limit is hit, pcall cannot catch it;
 *  - compiled chunks are cached per state, keyed by their source text.
 *
 * JSON values reach scripts as read-only userdata proxies resolved on
 * demand: objects index by key (`event.data.tier`), arrays by 1-based
 * integer (`event.data.items[1]`), `#`, `pairs` and `ipairs` work, JSON
 * null and absent members are nil, integral numbers are integers.  Values
 * going back to JSON: nil -> null (also the global `null`), booleans,
 * integers, floats, strings, proxies (copied), tables whose keys are exactly
 * 1..n -> arrays, other tables -> objects (an empty table -> {}); at most
 * ACT_LUA_MAX_DEPTH levels and ACT_LUA_MAX_NODES values.
 *
 * Errors are one line: a script's own `error("x")` gives "script:3: x"
 * (error("x", 0) gives "x"); a limit gives "lua: instruction budget of N
 * exceeded", "lua: memory limit of N bytes exceeded" or "lua: time limit of
 * N ms exceeded".
 */
#ifndef ACT_LUA_LUA_H
#define ACT_LUA_LUA_H

#include "base/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACT_LUA_MAX_DEPTH 64        /* nesting of a converted result */
#define ACT_LUA_MAX_NODES 100000    /* values in a converted result */
#define ACT_LUA_MAX_SOURCE (1 << 20) /* bytes of a script */
#define ACT_LUA_MAX_EXPR 4096       /* bytes of one condition or template expression */

/* Limits of one run.  Zeroed members take the defaults below. */
struct act_lua_limits {
    uint64_t max_instructions; /* VM instructions, counted in steps of up to 1000 */
    size_t max_memory;         /* bytes the run may allocate beyond what the state held */
    int64_t timeout_ms;        /* wall clock */
};

#define ACT_LUA_SCRIPT_INSTRUCTIONS 10000000ull
#define ACT_LUA_SCRIPT_MEMORY ((size_t)16 << 20)
#define ACT_LUA_SCRIPT_TIMEOUT_MS 10000
#define ACT_LUA_EXPR_INSTRUCTIONS 100000ull /* conditions and templates */
#define ACT_LUA_EXPR_MEMORY ((size_t)4 << 20)
#define ACT_LUA_EXPR_TIMEOUT_MS 250

/* What a script sees besides the sandbox.  All borrowed; NULL binds nil. */
struct act_lua_scope {
    const json_t *event;
    const json_t *input;
    const json_t *config;
    const json_t *execution; /* {"id", "attempt", "action"} */
};

/* Compile a script (`chunkname` names it in messages, e.g. "script") without
 * running it.  A syntax error is ACT_EUNPROC with the Lua message ("lua:
 * script:1: unexpected symbol near 'x'"); ACT_ETOOBIG over
 * ACT_LUA_MAX_SOURCE.  Caches the chunk.  thread: any */
int act_lua_check(const char *src, size_t len, const char *chunkname, struct act_err *err);

/* Run a script with `scope` bound to the globals of the same names and turn
 * what it returns into JSON (*out, a new reference; NULL for nothing/nil).
 * A runtime error or a limit is ACT_EPLUGIN with the message in err;
 * ACT_ETOOBIG when a limit was hit (budget, memory, time: see the message),
 * ACT_EUNPROC for a syntax error.  `lim` may be NULL (script defaults).
 * thread: any */
int act_lua_run(const char *src, size_t len, const char *chunkname,
                const struct act_lua_scope *scope, const struct act_lua_limits *lim, json_t **out,
                struct act_err *err);

/* Compile `expr` as a Lua expression (`return (<expr>)`) to check it.
 * Errors as act_lua_check, with chunk name "expr".  thread: any */
int act_lua_expr_check(const char *expr, size_t len, struct act_err *err);

/* How act_lua_cond_eval exposes the event: the lazy proxy (default) or a
 * full Lua table built before each evaluation (for comparison in benches). */
enum act_lua_cond_flags { ACT_LUA_EAGER_TABLES = 1u << 0 };

/* Evaluate a condition expression with `event` bound (expression defaults
 * for limits).  Returns true only when the expression yields the boolean
 * true; otherwise false, and when `why` is not NULL a one-line reason
 * ("expression `event.data.x > 1`: false", "...: got number, not a boolean",
 * "...: error: expr:1: attempt to index a nil value (field 'data')").
 * thread: any */
bool act_lua_cond_eval(const char *expr, const json_t *event, unsigned flags, char *why,
                       size_t why_len);

/* Render a template: strings that are exactly one `{{ expr }}` become the
 * expression's value, typed (number, boolean, object, null...); strings that
 * mix text and `{{ expr }}` become text (strings as is, nil as "", numbers
 * and booleans as JSON, tables and proxies as compact JSON); strings
 * without `{{` are copied; objects and arrays are rendered member by member
 * (keys are never templated); other values are copied.  `scope` is an
 * object whose members `event`, `input`, `config` and `execution` are bound
 * (absent ones are nil); it may be NULL.  Expressions may not contain `}}`
 * outside quotes or braces.  All expressions of one call share one budget:
 * 1,000,000 instructions, 16 MiB, 1 s.
 * *out is a new reference on success.  Errors: ACT_EUNPROC for a template
 * that does not parse or compile, ACT_EPLUGIN when an expression fails, with
 * err->field the path inside tpl ("body.items[2]"; "" for the root) and the
 * message naming the expression.  Used by the webhook, email and sql kinds.
 * thread: any */
int act_template_render(const json_t *tpl, const json_t *scope, json_t **out,
                        struct act_err *err);

/* Check that every template in tpl parses and compiles, without running
 * anything; errors as act_template_render.  For validate().  thread: any */
int act_template_check(const json_t *tpl, struct act_err *err);

/* Close the calling thread's Lua state now (it is otherwise closed when the
 * thread exits).  The next evaluation on this thread makes a new one.
 * thread: any */
void act_lua_thread_release(void);

/* Statistics of the calling thread's state, for tests: states created by
 * this thread so far (0 or 1 until released), cached chunks, bytes held. */
struct act_lua_stats {
    unsigned states_created;
    size_t n_cached;
    size_t mem_used;
};
void act_lua_thread_stats(struct act_lua_stats *st);

#endif
