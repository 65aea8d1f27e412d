/*
 * Kind `lua`: run a Lua 5.4 script in the sandbox of lua/lua.h.
 *
 *   {"kind": "lua", "source": "return {greeting = 'hi ' .. input.name}"}
 *   {"kind": "lua", "file": "scripts/welcome.lua",
 *    "max_instructions": 10000000, "max_memory_bytes": 16777216}
 *
 * The script sees `input`, `event` (nil for a manual execution), `config`
 * and `execution` ({id, attempt, action}) and returns the output.  A runtime
 * error (`error(msg)`) fails the attempt with the message and is retried by
 * policy; an instruction-budget or memory overrun is permanent (the same
 * input would overrun again); the wall-clock limit is the attempt's timeout
 * and fails with ACT_ETIMEDOUT.
 *
 * validate() compiles the chunk, so a syntax error is a 422 naming
 * handler.source (or handler.file) with Lua's message.  A file must end in
 * ".lua" (so an action cannot have arbitrary files compiled and quoted back
 * in syntax errors) and is read once at open; a changed file takes effect
 * when the action is reloaded.  The state is immutable after open; every
 * worker thread runs scripts in its own lua_State.
 */
#include "base/alloc.h"
#include "handler/handler_internal.h"
#include "lua/lua.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define INSTR_MIN 1000ull
#define INSTR_MAX 10000000000ull
#define MEM_MIN ((size_t)64 << 10)
#define MEM_MAX ((size_t)512 << 20)
#define FILE_PATH_MAX 4096

struct lua_hstate {
    char *src;
    size_t len;
    char chunkname[64];
    struct act_lua_limits lim;
};

/* Read a whole script file into *out (NUL-terminated). */
static int read_script(const char *path, char **out, size_t *len, struct act_err *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, got;
    int rc = ACT_OK;

    *out = NULL;
    if (!f)
        return act_err_field(err, ACT_EUNPROC, "handler.file", "cannot read '%.200s': %s", path,
                             strerror(errno));
    buf = act_xmalloc(ACT_LUA_MAX_SOURCE + 2);
    while ((got = fread(buf + n, 1, ACT_LUA_MAX_SOURCE + 1 - n, f)) > 0)
        n += got;
    if (ferror(f))
        rc = act_err_field(err, ACT_EUNPROC, "handler.file", "cannot read '%.200s'", path);
    else if (n > ACT_LUA_MAX_SOURCE)
        rc = act_err_field(err, ACT_EUNPROC, "handler.file", "'%.200s' is larger than %d bytes",
                           path, ACT_LUA_MAX_SOURCE);
    fclose(f);
    if (rc < 0) {
        act_free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return ACT_OK;
}

static int check_limit(const json_t *h, const char *name, uint64_t lo, uint64_t hi, uint64_t *out,
                       struct act_err *err)
{
    const json_t *v = json_object_get(h, name);
    char field[48];

    if (!v)
        return ACT_OK;
    snprintf(field, sizeof(field), "handler.%s", name);
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) < lo || (uint64_t)json_integer_value(v) > hi)
        return act_err_field(err, ACT_EUNPROC, field, "%s must be an integer in %llu..%llu", name,
                             (unsigned long long)lo, (unsigned long long)hi);
    *out = (uint64_t)json_integer_value(v);
    return ACT_OK;
}

/* Validate the spec and load the source (from `source` or `file`). */
static int load_spec(const json_t *h, struct lua_hstate *st, struct act_err *err)
{
    static const char *const allowed[] = {"source", "file", "max_instructions",
                                          "max_memory_bytes", NULL};
    const json_t *src = json_object_get(h, "source"), *file = json_object_get(h, "file");
    const char *field = src ? "handler.source" : "handler.file", *path, *base;
    uint64_t instr = ACT_LUA_SCRIPT_INSTRUCTIONS, mem = ACT_LUA_SCRIPT_MEMORY;
    struct act_err e = {0};
    int rc;

    if ((rc = act_handler_check_members(h, allowed, err)) < 0 ||
        (rc = check_limit(h, "max_instructions", INSTR_MIN, INSTR_MAX, &instr, err)) < 0 ||
        (rc = check_limit(h, "max_memory_bytes", MEM_MIN, MEM_MAX, &mem, err)) < 0)
        return rc;
    st->lim.max_instructions = instr;
    st->lim.max_memory = (size_t)mem;
    if (!src == !file)
        return act_err_field(err, ACT_EUNPROC, src ? "handler.file" : "handler.source",
                             "give exactly one of source and file");
    if (src) {
        if (!json_is_string(src) || json_string_length(src) > ACT_LUA_MAX_SOURCE)
            return act_err_field(err, ACT_EUNPROC, field, "source must be a string of at most %d "
                                 "bytes", ACT_LUA_MAX_SOURCE);
        st->len = json_string_length(src);
        st->src = act_xstrndup(json_string_value(src), st->len);
        snprintf(st->chunkname, sizeof(st->chunkname), "script");
    } else {
        path = json_string_value(file);
        if (!path || json_string_length(file) == 0 || json_string_length(file) > FILE_PATH_MAX ||
            strlen(path) != json_string_length(file) || json_string_length(file) < 5 ||
            strcmp(path + json_string_length(file) - 4, ".lua") != 0)
            return act_err_field(err, ACT_EUNPROC, field, "file must be a path ending in .lua");
        if ((rc = read_script(path, &st->src, &st->len, err)) < 0)
            return rc;
        base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        snprintf(st->chunkname, sizeof(st->chunkname), "%.60s", base);
    }
    if ((rc = act_lua_check(st->src, st->len, st->chunkname, &e)) < 0)
        return act_err_field(err, ACT_EUNPROC, field, "%s", e.msg);
    return ACT_OK;
}

static void lua_close_state(void *state)
{
    struct lua_hstate *st = state;

    if (!st)
        return;
    act_free(st->src);
    act_free(st);
}

static int lua_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    struct lua_hstate st = {0};
    int rc;

    (void)config;
    rc = load_spec(handler, &st, err);
    act_free(st.src);
    return rc;
}

static int lua_open(const json_t *handler, const json_t *config, void **state,
                    struct act_err *err)
{
    struct lua_hstate *st = act_xcalloc(1, sizeof(*st));
    int rc;

    (void)config;
    *state = NULL;
    if ((rc = load_spec(handler, st, err)) < 0) {
        lua_close_state(st);
        return rc;
    }
    *state = st;
    return ACT_OK;
}

static int lua_execute(void *state, const struct act_handler_call *call,
                       struct act_handler_result *res)
{
    const struct lua_hstate *st = state;
    struct act_lua_limits lim = st->lim;
    struct act_err err = {0};
    json_t *exe = json_object();
    struct act_lua_scope scope = {call->event, call->input, call->config, exe};
    int rc;

    res->retry_after_ms = -1;
    json_object_set_new(exe, "id", call->execution_id ? json_string(call->execution_id)
                                                      : json_null());
    json_object_set_new(exe, "attempt", json_integer(call->attempt));
    json_object_set_new(exe, "action", call->action_name ? json_string(call->action_name)
                                                         : json_null());
    lim.timeout_ms = call->timeout_ms > 0 ? call->timeout_ms : ACT_LUA_SCRIPT_TIMEOUT_MS;
    rc = act_lua_run(st->src, st->len, st->chunkname, &scope, &lim, &res->output, &err);
    json_decref(exe);
    if (rc == ACT_OK)
        return ACT_OK;
    if (rc == ACT_ETOOBIG && strncmp(err.msg, "lua: time limit", 15) == 0)
        return act_handler_fail(res, ACT_ETIMEDOUT, "%s", err.msg);
    res->permanent = rc == ACT_ETOOBIG || rc == ACT_EUNPROC;
    return act_handler_fail(res, ACT_EPLUGIN, "%s", err.msg);
}

const struct act_handler_ops act_handler_lua_ops = {
    .kind = "lua",
    .capabilities = "[\"sync\",\"in_process\",\"sandboxed\",\"timeout\",\"instruction_budget\","
                    "\"memory_limit\"]",
    .schema =
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
        "\"type\":\"object\",\"required\":[\"kind\"],\"additionalProperties\":false,"
        "\"oneOf\":[{\"required\":[\"source\"]},{\"required\":[\"file\"]}],"
        "\"properties\":{\"kind\":{\"const\":\"lua\"},"
        "\"source\":{\"type\":\"string\",\"maxLength\":1048576,"
        "\"description\":\"Lua 5.4 chunk; sees input, event, config, execution; returns the "
        "output\"},"
        "\"file\":{\"type\":\"string\",\"pattern\":\"\\\\.lua$\"},"
        "\"max_instructions\":{\"type\":\"integer\",\"minimum\":1000,\"maximum\":10000000000,"
        "\"default\":10000000},"
        "\"max_memory_bytes\":{\"type\":\"integer\",\"minimum\":65536,\"maximum\":536870912,"
        "\"default\":16777216}}}",
    .validate = lua_validate,
    .open = lua_open,
    .execute = lua_execute,
    .close = lua_close_state,
};
