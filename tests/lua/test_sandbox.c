/*
 * The Lua sandbox: scripts, results, limits and escape attempts.
 */
#include "lua/lua.h"
#include "tap.h"

#include <stdio.h>
#include <string.h>

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v)
        diag("bad test JSON %s: %s", text, je.text);
    return v;
}

/* Run src with a small fixed scope; returns rc, fills out (may be NULL) and err. */
static int run(const char *src, const struct act_lua_limits *lim, json_t **out,
               struct act_err *err)
{
    json_t *event = J("{\"type\":\"t\",\"data\":{\"tier\":\"premium\",\"amount\":150,"
                      "\"ratio\":2.5,\"whole\":3.0,\"items\":[{\"sku\":\"A\"},{\"sku\":\"B\"}],"
                      "\"flag\":true,\"none\":null}}");
    json_t *input = J("{\"name\":\"Ada\",\"n\":[1,2,3]}");
    json_t *config = J("{\"greeting\":\"hi\"}");
    json_t *exe = J("{\"id\":\"e1\",\"attempt\":2,\"action\":\"welcome\"}");
    struct act_lua_scope sc = {event, input, config, exe};
    int rc;

    act_err_clear(err);
    rc = act_lua_run(src, strlen(src), "script", &sc, lim, out, err);
    json_decref(event);
    json_decref(input);
    json_decref(config);
    json_decref(exe);
    return rc;
}

/* The script's output as compact JSON text (static buffer), or "ERR: msg". */
static const char *result(const char *src)
{
    static char buf[1024];
    struct act_err err;
    json_t *out = NULL;
    char *s;

    if (run(src, NULL, &out, &err) < 0) {
        snprintf(buf, sizeof(buf), "ERR: %s", err.msg);
        return buf;
    }
    s = json_dumps(out ? out : json_null(), JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    snprintf(buf, sizeof(buf), "%s", s);
    free(s);
    json_decref(out);
    return buf;
}

/* The error of a script that must fail. */
static const char *failure(const char *src, const struct act_lua_limits *lim, int *code)
{
    static struct act_err err;
    json_t *out = NULL;
    int rc = run(src, lim, &out, &err);

    json_decref(out);
    if (code)
        *code = rc;
    if (rc == 0)
        return "(succeeded)";
    return err.msg;
}

static void has(const char *got, const char *want, const char *name)
{
    ok(strstr(got, want) != NULL, "%s: '%s' contains '%s'", name, got, want);
}

static void test_results(void)
{
    is_str(result("return 1 + 2"), "3", "integer");
    is_str(result("return 7 / 2"), "3.5", "float");
    is_str(result("return 'x' .. 1"), "\"x1\"", "string");
    is_str(result("return nil"), "null", "nil is null");
    is_str(result("local x = 1"), "null", "nothing returned is null");
    is_str(result("return {1, 2, 'three'}"), "[1,2,\"three\"]", "sequence -> array");
    is_str(result("return {a = 1, b = {c = true}}"), "{\"a\":1,\"b\":{\"c\":true}}", "object");
    is_str(result("return {[1] = 'a', [3] = 'c'}"), "{\"1\":\"a\",\"3\":\"c\"}",
           "holes make an object with numeric keys");
    is_str(result("return {}"), "{}", "empty table is an object");
    is_str(result("return {a = null}"), "{\"a\":null}", "the null sentinel");
    is_str(result("return input"), "{\"n\":[1,2,3],\"name\":\"Ada\"}", "a proxy is copied out");
    is_str(result("return {who = input.name, cfg = config.greeting, id = execution.id,"
                  " try = execution.attempt, act = execution.action}"),
           "{\"act\":\"welcome\",\"cfg\":\"hi\",\"id\":\"e1\",\"try\":2,\"who\":\"Ada\"}",
           "input, config and execution are bound");
    has(failure("return function() end", NULL, NULL), "cannot convert a function", "functions refused");
    has(failure("local t = {} t.self = t return t", NULL, NULL), "nested too deeply",
        "cycles refused");
    has(failure("return 0/0", NULL, NULL), "NaN", "NaN refused");
    has(failure("return {[true] = 1}", NULL, NULL), "boolean keys", "boolean keys refused");
    has(failure("return '\\xff'", NULL, NULL), "UTF-8", "invalid UTF-8 refused");
}

static void test_proxy(void)
{
    is_str(result("return event.data.tier"), "\"premium\"", "nested member");
    is_str(result("return math.type(event.data.amount)"), "\"integer\"", "integer stays integer");
    is_str(result("return math.type(event.data.whole)"), "\"integer\"",
           "integral real becomes an integer");
    is_str(result("return event.data.ratio * 2"), "5.0", "a real stays a float");
    is_str(result("return event.data.items[2].sku"), "\"B\"", "arrays are 1-based");
    is_str(result("return event.data.items[3] == nil and event.data.items[0] == nil"), "true",
           "out of range is nil");
    is_str(result("return #event.data.items"), "2", "# on an array");
    is_str(result("return event.data.none == nil and event.data.missing == nil"), "true",
           "null and absent are nil");
    is_str(result("local s = {} for i, v in ipairs(event.data.items) do s[#s + 1] = i .. v.sku "
                  "end return table.concat(s, ',')"),
           "\"1A,2B\"", "ipairs over an array proxy");
    is_str(result("local s = {} for k, v in pairs(event.data) do s[#s + 1] = k end "
                  "return table.concat(s, ',')"),
           "\"tier,amount,ratio,whole,items,flag,none\"", "pairs in insertion order");
    is_str(result("return tostring(event.data.items[1])"), "\"{\\\"sku\\\":\\\"A\\\"}\"",
           "tostring gives JSON");
    is_str(result("return event.data.items[1] == event.data.items[1]"), "true",
           "proxies compare by value");
    has(failure("event.data.tier = 'x'", NULL, NULL), "read-only", "proxies are read-only");
    has(failure("return getmetatable(event)", NULL, NULL), "", "getmetatable is harmless");
    is_str(result("return getmetatable(event)"), "\"locked\"", "proxy metatable is protected");
}

static void test_errors(void)
{
    int code = 0;

    is_str(failure("error('boom')", NULL, &code), "script:1: boom", "error(msg) with position");
    is_int(code, ACT_EPLUGIN, "runtime error is ACT_EPLUGIN");
    is_str(failure("error('plain', 0)", NULL, NULL), "plain", "error(msg, 0) verbatim");
    is_str(failure("error({})", NULL, NULL), "(error object is a table value)",
           "non-string error objects");
    has(failure("return (", NULL, &code), "lua: script:1:", "syntax error names the chunk");
    is_int(code, ACT_EUNPROC, "syntax error is ACT_EUNPROC");
    has(failure("local x = nil; return x.y", NULL, NULL), "attempt to index a nil value",
        "Lua's own message");
}

static void test_escapes(void)
{
    int code = 0;

    has(failure("return package.loadlib('libc.so.6', 'system')", NULL, NULL),
        "global 'package'", "package is absent");
    has(failure("return require('os')", NULL, NULL), "global 'require'", "require is absent");
    has(failure("return load('return 1')", NULL, NULL), "global 'load'", "load is absent");
    has(failure("return loadstring('return 1')", NULL, NULL), "global 'loadstring'",
        "loadstring is absent");
    has(failure("return dofile('/etc/passwd')", NULL, NULL), "global 'dofile'",
        "dofile is absent");
    has(failure("return string.dump(function() end)", NULL, NULL), "field 'dump'",
        "string.dump is absent");
    has(failure("local d = ('').dump return d(function() end)", NULL, NULL),
        "attempt to call a nil value", "string.dump is absent through string methods too");
    has(failure("\x1bLua\x54\x00", NULL, &code), "binary chunk", "bytecode is refused");
    is_int(code, ACT_EUNPROC, "bytecode refusal is a load error");
    has(failure("return os.execute('true')", NULL, NULL), "field 'execute'",
        "os.execute is absent");
    is_str(result("return type(os.time()) == 'number' and type(os.clock()) == 'number'"), "true",
           "os.time and os.clock remain");
    has(failure("return io.open('/etc/passwd')", NULL, NULL), "global 'io'", "io is absent");
    has(failure("return debug.getinfo(1)", NULL, NULL), "global 'debug'", "debug is absent");
    has(failure("collectgarbage()", NULL, NULL), "global 'collectgarbage'",
        "collectgarbage is absent");
    has(failure("x = 1", NULL, NULL), "globals are read-only", "globals are read-only");
    has(failure("_G.x = 1", NULL, NULL), "globals are read-only", "_G is the read-only env");
    has(failure("setmetatable(_G, {})", NULL, NULL), "protected metatable",
        "setmetatable on _G refused");
    has(failure("rawset(_G, 'x', 1)", NULL, NULL), "global 'rawset'", "rawset is absent");
    has(failure("string.upper = nil", NULL, NULL), "library tables are read-only",
        "library tables are read-only");
    has(failure("getmetatable('').__index = {}", NULL, NULL), "index a string value",
        "string metatable is protected");
    has(failure("setmetatable({}, {__gc = function() end})", NULL, NULL),
        "__gc metamethods are not allowed", "finalizers refused");
    is_str(result("return string.upper('abc') .. ('x'):rep(3)"), "\"ABCxxx\"",
           "string library still works, methods included");
}

static void test_limits(void)
{
    struct act_lua_limits small = {.max_instructions = 100000, .max_memory = 1 << 20,
                                   .timeout_ms = 60000};
    struct act_lua_limits quick = {.max_instructions = 1ull << 60, .timeout_ms = 100};
    struct act_lua_limits roomy = {.max_instructions = 1ull << 40, .max_memory = 1 << 20};
    struct act_lua_limits deep = {.max_memory = (size_t)256 << 20};
    int code = 0;

    is_str(failure("while true do end", &small, &code), "lua: instruction budget of 100000 exceeded",
           "infinite loop");
    is_int(code, ACT_ETOOBIG, "a limit is ACT_ETOOBIG");
    is_str(failure("while true do pcall(function() while true do end end) end", &small, NULL),
           "lua: instruction budget of 100000 exceeded", "pcall cannot swallow the budget");
    is_str(failure("return string.rep('x', 1 << 30)", &small, NULL),
           "lua: memory limit of 1048576 bytes exceeded", "string.rep memory bomb");
    is_str(failure("local t = {} for i = 1, 1e8 do t[i] = i end", &roomy, NULL),
           "lua: memory limit of 1048576 bytes exceeded", "growing table");
    is_str(result("return string.rep('', 1e18) .. (''):rep(1e18, '')"), "\"\"",
           "string.rep of empty pieces returns at once (no C loop the hook cannot stop)");
    is_str(result("return ('ab'):rep(3, '-')"), "\"ab-ab-ab\"", "string.rep still works");
    is_str(failure("local ok = pcall(string.rep, 'x', 1 << 30) return ok", &small, NULL),
           "lua: memory limit of 1048576 bytes exceeded", "pcall cannot swallow memory errors");
    has(failure("local function f(n) return 1 + f(n + 1) end return f(1)", &deep, NULL),
        "stack overflow", "deep recursion (with room for the stack)");
    is_str(failure("local function f(n) return 1 + f(n + 1) end return f(1)", &small, NULL),
           "lua: memory limit of 1048576 bytes exceeded", "deep recursion within a small cap");
    is_str(failure("while true do end", &quick, NULL), "lua: time limit of 100 ms exceeded",
           "wall-clock deadline");
    is_str(result("local s = 0 for i = 1, 1000 do s = s + i end return s"), "500500",
           "the state still works after the limits");
}

static void test_reuse(void)
{
    struct act_lua_stats st;
    struct act_err err;

    act_lua_thread_stats(&st);
    is_int(st.states_created, 1, "one state for all runs of this thread");
    for (int i = 0; i < 100; i++)
        (void)result("return event.data.amount + 1");
    act_lua_thread_stats(&st);
    is_int(st.states_created, 1, "still one state after 100 more runs");
    ok(st.n_cached > 0 && st.n_cached < 100, "chunks are cached (%zu)", st.n_cached);
    is_int(act_lua_check("return 1", 8, "script", &err), 0, "check compiles");
    is_int(act_lua_check("return +", 8, "script", &err), ACT_EUNPROC, "check finds syntax errors");
    has(err.msg, "lua: script:1:", "check message");
    act_lua_thread_release();
    act_lua_thread_stats(&st);
    is_int((int)st.mem_used, 0, "release frees the state");
    is_str(result("return 2"), "2", "a new state after release");
    act_lua_thread_release();
}

int main(void)
{
    test_results();
    test_proxy();
    test_errors();
    test_escapes();
    test_limits();
    test_reuse();
    return done_testing();
}
