/* handler: the registry, top-level validation, describe, noop and echo. */
#include "base/err.h"
#include "handler/handler.h"
#include "tap.h"

#include <string.h>

static json_t *js(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

    if (!v)
        diag("bad test JSON %s: %s", text, jerr.text);
    return v;
}

/* Validate a handler spec given as text; returns the code, err filled. */
static int validate(const char *text, struct act_err *err)
{
    json_t *h = js(text);
    int rc;

    act_err_clear(err);
    rc = act_handler_validate(h, NULL, err);
    json_decref(h);
    return rc;
}

static void test_registry(void)
{
    const struct act_handler_ops *const *all = act_handler_all();
    const char *want[] = {"noop",     "echo", "command", "native", "plugin",
                          "platform", "lua",  "sql",     "webhook", "email",
                          "javascript", "python", "docker", "sms", "slack", "push",
                          "graphql", "external_api", "serverless_aws", "serverless_azure"};
    const size_t n_want = sizeof(want) / sizeof(want[0]);
    size_t n = 0;

    subtest("registry");
    while (all[n])
        n++;
    is_int(n, n_want, "every kind registered");
    for (size_t i = 0; i < n_want && i < n; i++) {
        is_str(all[i]->kind, want[i], "kind %zu in registration order", i);
        ok(act_handler_find(want[i]) == all[i], "find('%s') returns the registered ops", want[i]);
        ok(all[i]->validate && all[i]->open && all[i]->execute && all[i]->close,
           "'%s' fills every vtable slot", want[i]);
    }
    ok(act_handler_find("cobol") == NULL, "unknown kind is not found");
    ok(act_handler_find(NULL) == NULL, "NULL kind is not found");
}

static void test_describe(void)
{
    json_t *d = act_handler_describe();
    json_t *items = json_object_get(d, "items");
    size_t i, n_kinds;
    json_t *it;

    subtest("describe");
    ok(json_is_array(items), "describe has an items array");
    n_kinds = 0;
    while (act_handler_all()[n_kinds])
        n_kinds++;
    is_int(json_array_size(items), n_kinds + 2, "one item per kind, then grpc and web3");
    json_array_foreach(items, i, it) {
        const char *kind = json_string_value(json_object_get(it, "kind"));
        json_t *schema = json_object_get(it, "schema");

        if (i >= n_kinds) {
            /* planned kinds: shown, not usable, and the reason says why */
            ok(kind && !act_handler_find(kind), "planned '%s' is not registered", kind);
            ok(json_is_false(json_object_get(it, "available")), "'%s' is not available", kind);
            ok(strstr(json_string_value(json_object_get(it, "reason")), "not built yet") != NULL,
               "'%s' says why", kind);
            continue;
        }
        ok(kind && act_handler_find(kind), "item %zu names a registered kind", i);
        ok(json_is_array(json_object_get(it, "capabilities")) &&
               json_array_size(json_object_get(it, "capabilities")) > 0,
           "'%s' capabilities are a parsed, non-empty array", kind);
        ok(json_is_object(schema), "'%s' schema is a parsed object", kind);
        is_str(json_string_value(
                   json_object_get(json_object_get(json_object_get(schema, "properties"), "kind"),
                                   "const")),
               kind, "'%s' schema pins the kind", kind);
        ok(json_is_true(json_object_get(it, "available")), "'%s' is available", kind);
    }
    is_str(json_string_value(json_object_get(json_array_get(items, n_kinds), "kind")), "grpc",
           "grpc is listed");
    is_str(json_string_value(json_object_get(json_array_get(items, n_kinds + 1), "kind")), "web3",
           "web3 is listed");
    json_decref(d);
}

static void test_validate(void)
{
    struct act_err err;

    subtest("validate");
    is_int(validate("[]", &err), ACT_EINVAL, "handler array is malformed");
    is_str(err.field, "handler", "field names the handler");
    is_int(validate("{}", &err), ACT_EINVAL, "missing kind is malformed");
    is_str(err.field, "handler.kind", "field is handler.kind");
    is_int(validate("{\"kind\": 3}", &err), ACT_EINVAL, "numeric kind is malformed");
    is_str(err.field, "handler.kind", "field is handler.kind");
    is_int(validate("{\"kind\": \"grpc\"}", &err), ACT_EUNPROC, "planned kind grpc is refused");
    is_str(err.field, "handler.kind", "field is handler.kind");
    ok(strstr(err.msg, "not built yet") != NULL, "the message says grpc is not built yet: %s",
       err.msg);
    is_int(validate("{\"kind\": \"cobol\"}", &err), ACT_EUNPROC, "unknown kind is unprocessable");
    is_str(err.field, "handler.kind", "field is handler.kind");
    ok(strstr(err.msg, "'cobol'") != NULL, "message quotes the kind: %s", err.msg);
    is_int(validate("{\"kind\": \"noop\"}", &err), ACT_OK, "noop validates");
    is_int(validate("{\"kind\": \"echo\"}", &err), ACT_OK, "echo validates");
    is_int(validate("{\"kind\": \"noop\", \"argv\": []}", &err), ACT_EUNPROC,
           "noop rejects unknown members");
    is_str(err.field, "handler.argv", "field names the unknown member");
    is_int(validate("{\"kind\": \"echo\", \"x\": 1}", &err), ACT_EUNPROC,
           "echo rejects unknown members");
    is_str(err.field, "handler.x", "field names the unknown member");

    json_t *h = js("{\"kind\": \"noop\"}"), *cfg = js("[1]");
    act_err_clear(&err);
    is_int(act_handler_validate(h, cfg, &err), ACT_EINVAL, "config must be an object");
    is_str(err.field, "config", "field is config");
    json_decref(h);
    json_decref(cfg);
}

static void test_noop_echo(void)
{
    json_t *input = js("{\"a\": [1, 2, {\"b\": \"c\"}]}"), *cfg = json_object();
    json_t *spec = js("{\"kind\": \"echo\"}");
    struct act_handler_call call = {.execution_id = "e1", .attempt = 1, .action_name = "a",
                                    .input = input, .config = cfg, .timeout_ms = 1000};
    struct act_handler_result res;
    const struct act_handler_ops *ops;
    void *state = NULL;

    subtest("noop and echo");
    ops = act_handler_find("noop");
    memset(&res, 0, sizeof(res));
    is_int(ops->open(spec, cfg, &state, NULL), ACT_OK, "noop opens");
    is_int(ops->execute(state, &call, &res), ACT_OK, "noop succeeds");
    ok(res.output == NULL, "noop output is null");
    ops->close(state);

    ops = act_handler_find("echo");
    memset(&res, 0, sizeof(res));
    is_int(ops->open(spec, cfg, &state, NULL), ACT_OK, "echo opens");
    is_int(ops->execute(state, &call, &res), ACT_OK, "echo succeeds");
    ok(json_equal(res.output, input), "echo output equals the input");
    ok(res.output != input, "echo output is a copy, not the input itself");
    json_object_set_new(res.output, "changed", json_true());
    ok(json_object_get(input, "changed") == NULL, "changing the output leaves the input alone");
    act_handler_result_release(&res);
    ok(res.output == NULL && res.error_detail == NULL, "release clears the owned members");
    act_handler_result_release(&res); /* twice is harmless */
    ops->close(state);
    json_decref(input);
    json_decref(cfg);
    json_decref(spec);
}

static void test_fail(void)
{
    struct act_handler_result res;
    char big[2000];

    subtest("act_handler_fail");
    memset(&res, 0, sizeof(res));
    is_int(act_handler_fail(&res, ACT_EPLUGIN, "boom %d\nsecond\tline", 7), ACT_EPLUGIN,
           "returns the code");
    is_str(res.error, "boom 7 second line", "newlines and tabs become spaces");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    act_handler_fail(&res, ACT_EPLUGIN, "%s", big);
    is_int(strlen(res.error), sizeof(res.error) - 1, "long messages are truncated to fit");
    act_handler_fail(&res, ACT_EPLUGIN, "bad \xff byte \xc3\xa9");
    is_str(res.error, "bad ? byte \xc3\xa9", "invalid UTF-8 is replaced, valid kept");
}

int main(void)
{
    test_registry();
    test_describe();
    test_validate();
    test_noop_echo();
    test_fail();
    return done_testing();
}
