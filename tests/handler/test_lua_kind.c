/*
 * Kind `lua` through the handler vtable: validation (fields and Lua's
 * messages), scripts from source and file, the bindings, failures and
 * which of them are permanent.
 */
#include "handler/handler.h"
#include "lua/lua.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    if (!v)
        diag("bad test JSON %s: %s", text, je.text);
    return v;
}

static int validate(const char *spec, struct act_err *err)
{
    json_t *h = J(spec);
    int rc;

    act_err_clear(err);
    rc = act_handler_validate(h, NULL, err);
    json_decref(h);
    return rc;
}

static void test_validate(void)
{
    struct act_err err;

    is_int(validate("{\"kind\": \"lua\", \"source\": \"return input\"}", &err), 0, "source ok");
    is_int(validate("{\"kind\": \"lua\", \"source\": \"return (\"}", &err), ACT_EUNPROC,
           "syntax error is 422");
    is_str(err.field, "handler.source", "field handler.source");
    ok(strstr(err.msg, "script:1:") && strstr(err.msg, "unexpected symbol"),
       "Lua's message: %s", err.msg);
    is_int(validate("{\"kind\": \"lua\"}", &err), ACT_EUNPROC, "neither source nor file");
    is_str(err.field, "handler.source", "field handler.source");
    is_int(validate("{\"kind\": \"lua\", \"source\": \"\", \"file\": \"a.lua\"}", &err),
           ACT_EUNPROC, "both source and file");
    is_int(validate("{\"kind\": \"lua\", \"source\": 5}", &err), ACT_EUNPROC, "source not text");
    is_int(validate("{\"kind\": \"lua\", \"file\": \"/etc/passwd\"}", &err), ACT_EUNPROC,
           "a file must end in .lua");
    is_str(err.field, "handler.file", "field handler.file");
    is_int(validate("{\"kind\": \"lua\", \"file\": \"/nonexistent/x.lua\"}", &err), ACT_EUNPROC,
           "missing file");
    ok(strstr(err.msg, "cannot read") != NULL, "says it cannot read: %s", err.msg);
    is_int(validate("{\"kind\": \"lua\", \"source\": \"\", \"max_instructions\": 10}", &err),
           ACT_EUNPROC, "budget below the minimum");
    is_str(err.field, "handler.max_instructions", "field handler.max_instructions");
    is_int(validate("{\"kind\": \"lua\", \"source\": \"\", \"max_memory_bytes\": 1e12}", &err),
           ACT_EUNPROC, "memory not an integer");
    is_str(err.field, "handler.max_memory_bytes", "field handler.max_memory_bytes");
    is_int(validate("{\"kind\": \"lua\", \"source\": \"\", \"argv\": []}", &err), ACT_EUNPROC,
           "unknown member");
    is_str(err.field, "handler.argv", "field handler.argv");
}

/* Open spec, run one attempt; returns rc and fills res. */
static int run(const char *spec, const char *input, int64_t timeout_ms,
               struct act_handler_result *res)
{
    const struct act_handler_ops *ops = act_handler_find("lua");
    json_t *h = J(spec), *in = J(input), *cfg = J("{\"region\": \"eu\"}");
    json_t *ev = J("{\"type\": \"users.created\", \"data\": {\"tier\": \"premium\"}}");
    struct act_handler_call call = {.execution_id = "ex-1", .root_id = "ex-1", .attempt = 2,
                                    .action_name = "welcome", .event = ev, .input = in,
                                    .config = cfg, .timeout_ms = timeout_ms};
    struct act_err err = {0};
    void *st = NULL;
    int rc;

    memset(res, 0, sizeof(*res));
    if ((rc = ops->open(h, cfg, &st, &err)) == 0) {
        rc = ops->execute(st, &call, res);
        ops->close(st);
    } else {
        diag("open: %s", err.msg);
    }
    json_decref(h);
    json_decref(in);
    json_decref(cfg);
    json_decref(ev);
    return rc;
}

static void test_execute(void)
{
    struct act_handler_result res;
    char *s;

    is_int(run("{\"kind\": \"lua\", \"source\": \"return {hello = input.name, tier = "
               "event.data.tier, region = config.region, id = execution.id, attempt = "
               "execution.attempt, action = execution.action}\"}",
               "{\"name\": \"Ada\"}", 5000, &res),
           0, "script succeeds");
    s = json_dumps(res.output, JSON_COMPACT | JSON_SORT_KEYS);
    is_str(s, "{\"action\":\"welcome\",\"attempt\":2,\"hello\":\"Ada\",\"id\":\"ex-1\","
              "\"region\":\"eu\",\"tier\":\"premium\"}",
           "output from every binding");
    free(s);
    act_handler_result_release(&res);

    is_int(run("{\"kind\": \"lua\", \"source\": \"error('no such user: ' .. input.name, 0)\"}",
               "{\"name\": \"Bob\"}", 5000, &res),
           ACT_EPLUGIN, "error() fails the attempt");
    is_str(res.error, "no such user: Bob", "with the message");
    ok(!res.permanent, "a script error is retried by policy");
    act_handler_result_release(&res);

    is_int(run("{\"kind\": \"lua\", \"source\": \"while true do end\", \"max_instructions\": 5000}",
               "{}", 5000, &res),
           ACT_EPLUGIN, "runaway script fails");
    is_str(res.error, "lua: instruction budget of 5000 exceeded", "budget message");
    ok(res.permanent, "a budget overrun is permanent");
    act_handler_result_release(&res);

    is_int(run("{\"kind\": \"lua\", \"source\": \"local t = {} for i = 1, 1e9 do t[i] = i end\","
               " \"max_memory_bytes\": 1048576}",
               "{}", 5000, &res),
           ACT_EPLUGIN, "memory hog fails");
    is_str(res.error, "lua: memory limit of 1048576 bytes exceeded", "memory message");
    act_handler_result_release(&res);

    is_int(run("{\"kind\": \"lua\", \"source\": \"while true do end\", \"max_instructions\": "
               "10000000000}",
               "{}", 50, &res),
           ACT_ETIMEDOUT, "the attempt timeout is the wall-clock limit");
    is_str(res.error, "lua: time limit of 50 ms exceeded", "time message");
    ok(!res.permanent, "a timeout is retried");
    act_handler_result_release(&res);
}

static void test_file(void)
{
    char path[] = "/tmp/act-lua-XXXXXX.lua";
    struct act_handler_result res;
    char spec[256];
    int fd = mkstemps(path, 4);
    const char *src = "local n = input.n\nreturn {n * 2, n * 3}\n";

    if (!ok(fd >= 0, "temp script"))
        return;
    if (write(fd, src, strlen(src)) != (ssize_t)strlen(src))
        diag("short write");
    close(fd);
    snprintf(spec, sizeof(spec), "{\"kind\": \"lua\", \"file\": \"%s\"}", path);
    is_int(run(spec, "{\"n\": 7}", 5000, &res), 0, "script from a file");
    {
        char *s = json_dumps(res.output, JSON_COMPACT);
        is_str(s, "[14,21]", "its output");
        free(s);
    }
    act_handler_result_release(&res);
    unlink(path);
}

static void test_describe(void)
{
    json_t *d = act_handler_describe(), *it;
    size_t i;
    bool found = false;

    json_array_foreach(json_object_get(d, "items"), i, it) {
        if (strcmp(json_string_value(json_object_get(it, "kind")), "lua") == 0)
            found = json_is_object(json_object_get(it, "schema"));
    }
    ok(found, "GET /v1/handlers lists lua with its schema");
    json_decref(d);
}

int main(void)
{
    test_validate();
    test_execute();
    test_file();
    test_describe();
    act_lua_thread_release();
    return done_testing();
}
