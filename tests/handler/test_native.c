/*
 * handler: kind `native` and the plugin ABI, with the example plugin built
 * from plugins/native-example ($ACT_BUILD_DIR/plugins/native-example.so).
 */
#include "actiond/plugin.h"
#include "base/err.h"
#include "handler/handler.h"
#include "handler/handler_native.h"
#include "tap.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char plugin_path[4096];

static json_t *js(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

    if (!v)
        diag("bad test JSON %s: %s", text, jerr.text);
    return v;
}

static json_t *spec_for(const char *path, const char *options)
{
    json_t *spec = json_pack("{s:s,s:s}", "kind", "native", "path", path);

    if (options)
        json_object_set_new(spec, "options", js(options));
    return spec;
}

static int check(json_t *spec, struct act_err *err)
{
    int rc;

    act_err_clear(err);
    rc = act_handler_validate(spec, NULL, err);
    json_decref(spec);
    return rc;
}

static bool plugin_mapped(void)
{
    char line[4096];
    bool found = false;
    FILE *f = fopen("/proc/self/maps", "r");

    while (f && fgets(line, sizeof(line), f))
        found = found || strstr(line, "native-example.so") != NULL;
    if (f)
        fclose(f);
    return found;
}

static void test_abi(void)
{
    struct act_err err = {0};

    subtest("ABI version check");
    is_int(act_native_check_abi(ACT_PLUGIN_ABI_MAJOR, ACT_PLUGIN_ABI_MINOR, &err), ACT_OK,
           "the host's own version loads");
    is_int(act_native_check_abi(ACT_PLUGIN_ABI_MAJOR + 1, 0, &err), ACT_EUNPROC,
           "a newer major is refused");
    ok(strstr(err.msg, "plugin ABI 2.0") && strstr(err.msg, "host ABI 1.0"),
       "message names both versions: %s", err.msg);
    is_int(act_native_check_abi(0, 9, &err), ACT_EUNPROC, "an older major is refused");
    ok(strstr(err.msg, "0.9") && strstr(err.msg, "1.0"), "message names both: %s", err.msg);
    is_int(act_native_check_abi(ACT_PLUGIN_ABI_MAJOR, ACT_PLUGIN_ABI_MINOR + 1, &err), ACT_EUNPROC,
           "a higher minor is refused");
    ok(strstr(err.msg, "plugin ABI 1.1") && strstr(err.msg, "host ABI 1.0"),
       "message names both versions: %s", err.msg);
}

static void test_validate(void)
{
    struct act_err err;
    char buf[4200];
    Dl_info info;

    subtest("validation");
    is_int(check(spec_for(plugin_path, NULL), &err), ACT_OK, "the example plugin validates");
    is_int(check(spec_for(plugin_path, "{\"greeting\": \"hi\"}"), &err), ACT_OK,
           "with a known option");
    is_int(check(spec_for(plugin_path, "{\"colour\": \"red\"}"), &err), ACT_EUNPROC,
           "an option init() refuses is a 422");
    is_str(err.field, "handler.options", "field");
    ok(strstr(err.msg, "'example'") != NULL, "message names the plugin: %s", err.msg);
    is_int(check(spec_for(plugin_path, "{\"greeting\": 5}"), &err), ACT_EUNPROC,
           "a non-string option");
    is_str(err.field, "handler.options.greeting", "field");
    is_int(check(js("{\"kind\": \"native\"}"), &err), ACT_EUNPROC, "path missing");
    is_str(err.field, "handler.path", "field");
    is_int(check(js("{\"kind\": \"native\", \"path\": \"x.so\", \"entry\": \"f\"}"), &err),
           ACT_EUNPROC, "unknown member");
    is_str(err.field, "handler.entry", "field");
    is_int(check(spec_for("/nonexistent/plugin.so", NULL), &err), ACT_EUNPROC, "missing file");
    is_str(err.field, "handler.path", "field");
    ok(strstr(err.msg, "No such file") != NULL, "message: %s", err.msg);
    is_int(check(spec_for("/etc/hostname", NULL), &err), ACT_EUNPROC, "not a shared object");
    is_str(err.field, "handler.path", "field");
    if (dladdr((void *)json_object, &info) && info.dli_fname) {
        is_int(check(spec_for(info.dli_fname, NULL), &err), ACT_EUNPROC,
               "a library without the entry point");
        ok(strstr(err.msg, "act_plugin_entry") != NULL, "message: %s", err.msg);
    } else {
        skip("dladdr cannot name libjansson", "a library without the entry point");
    }

    /* A plugins dir resolves relative paths and confines every path. */
    snprintf(buf, sizeof(buf), "%s", plugin_path);
    *strrchr(buf, '/') = '\0';
    is_int(act_native_set_plugins_dir(buf, NULL), ACT_OK, "set the plugins dir");
    is_int(check(spec_for("native-example.so", NULL), &err), ACT_OK,
           "a relative path resolves against it");
    is_int(check(spec_for("../CMakeCache.txt", NULL), &err), ACT_EUNPROC, "escaping it is refused");
    ok(strstr(err.msg, "outside the plugins dir") != NULL, "message: %s", err.msg);
    is_int(act_native_set_plugins_dir("", NULL), ACT_OK, "reset");
}

static int run(void *state, const char *input, int attempt, struct act_handler_result *res)
{
    const struct act_handler_ops *ops = act_handler_find("native");
    json_t *in = js(input), *cfg = json_object();
    struct act_handler_call call = {.execution_id = "e-1", .attempt = attempt,
                                    .action_name = "greet", .event = NULL, .input = in,
                                    .config = cfg, .timeout_ms = 5000};
    int rc;

    memset(res, 0, sizeof(*res));
    rc = ops->execute(state, &call, res);
    json_decref(in);
    json_decref(cfg);
    return rc;
}

static void test_run(void)
{
    const struct act_handler_ops *ops = act_handler_find("native");
    json_t *spec = spec_for(plugin_path, "{\"greeting\": \"hi \\\"there\\\"\"}");
    struct act_handler_result res;
    struct act_err err = {0};
    void *state = NULL;
    json_t *want;

    subtest("load and run");
    is_int(ops->open(spec, NULL, &state, &err), ACT_OK, "open: %s", err.msg);
    if (!state) {
        json_decref(spec);
        return;
    }
    is_int(run(state, "{\"user\": {\"id\": 7}, \"fail\": false}", 3, &res), ACT_OK, "run succeeds");
    ok(json_is_true(json_object_get(res.output, "ok")), "output.ok");
    is_str(json_string_value(json_object_get(res.output, "greeting")), "hi \"there\"",
           "the greeting option, quoted correctly");
    is_int(json_integer_value(json_object_get(res.output, "attempt")), 3, "attempt passed");
    want = js("{\"user\": {\"id\": 7}, \"fail\": false}");
    ok(json_equal(json_object_get(res.output, "echo"), want), "output.echo is the input");
    json_decref(want);
    is_int(res.retry_after_ms, -1, "no delay asked");
    act_handler_result_release(&res);

    is_int(run(state, "{\"nested\": {\"fail\": true}, \"fail\": true}", 1, &res), ACT_EPLUGIN,
           "\"fail\": true fails");
    is_str(res.error, "example: failing on request (attempt 1)", "the plugin's message");
    ok(!res.permanent, "not permanent");
    ok(res.output == NULL, "no output on failure");
    act_handler_result_release(&res);
    is_int(run(state, "{\"fail\": true, \"permanent\": true}", 2, &res), ACT_EPLUGIN,
           "permanent failure");
    ok(res.permanent, "the plugin's permanent flag is carried");
    act_handler_result_release(&res);

    act_native_unload_all();
    ok(plugin_mapped(), "unload_all keeps a plugin an open action uses");
    is_int(run(state, "[1]", 1, &res), ACT_OK, "and it still runs");
    act_handler_result_release(&res);
    ops->close(state);
    json_decref(spec);
}

struct worker {
    void *state;
    int failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct act_handler_result res;

    for (int i = 0; i < 200; i++) {
        char input[64];

        snprintf(input, sizeof(input), "{\"i\": %d}", i);
        if (run(w->state, input, 1, &res) != ACT_OK ||
            json_integer_value(json_object_get(json_object_get(res.output, "echo"), "i")) != i)
            w->failures++;
        act_handler_result_release(&res);
    }
    return NULL;
}

static void test_concurrent_and_unload(void)
{
    const struct act_handler_ops *ops = act_handler_find("native");
    char dotted[4200];
    json_t *spec, *spec2;
    void *state = NULL, *state2 = NULL;
    struct worker w[4];
    pthread_t th[4];
    int failures = 0;

    subtest("concurrency, cache, unload");
    snprintf(dotted, sizeof(dotted), "%s", plugin_path);
    snprintf(strrchr(dotted, '/'), sizeof(dotted) - (size_t)(strrchr(dotted, '/') - dotted),
             "/./%s", strrchr(plugin_path, '/') + 1);
    spec = spec_for(plugin_path, NULL);
    spec2 = spec_for(dotted, NULL);
    is_int(ops->open(spec, NULL, &state, NULL), ACT_OK, "open");
    is_int(ops->open(spec2, NULL, &state2, NULL), ACT_OK, "open the same file spelled differently");
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.state = i % 2 ? state2 : state};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        failures += w[i].failures;
    }
    is_int(failures, 0, "800 concurrent runs on two states");
    ops->close(state);
    act_native_unload_all();
    ok(plugin_mapped(), "still loaded while the second state is open (one cache entry)");
    ops->close(state2);
    act_native_unload_all();
    ok(!plugin_mapped(), "unloaded once no action uses it");
    json_decref(spec);
    json_decref(spec2);
}

int main(void)
{
    const char *build = getenv("ACT_BUILD_DIR");

    test_abi();
    if (!build) {
        skip("ACT_BUILD_DIR is not set: cannot find plugins/native-example.so",
             "native plugin tests");
        return done_testing();
    }
    snprintf(plugin_path, sizeof(plugin_path), "%s/plugins/native-example.so", build);
    test_validate();
    test_run();
    test_concurrent_and_unload();
    act_native_unload_all();
    return done_testing();
}
