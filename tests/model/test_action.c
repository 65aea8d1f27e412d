/* model: action validation, defaults, PATCH merge and the spec view. */
#include "model/model.h"
#include "base/alloc.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* JSON from text written with single quotes, for readable literals. */
static json_t *J(const char *text)
{
    char *s = act_xstrdup(text);
    json_error_t e;
    json_t *v;

    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    v = json_loads(s, JSON_DECODE_ANY, &e);
    if (!v) {
        fprintf(stderr, "bad test JSON %s: %s\n", text, e.text);
        abort();
    }
    act_free(s);
    return v;
}

static char *dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

#define MIN "'name': 'a1', 'handler': {'kind': 'noop'}"

/* Normalize `body` (no base) and check the code, field and, when `msg` is
 * not NULL, the message. */
static void expect_fail(const char *body, int code, const char *field, const char *msg)
{
    struct act_err err = {0};
    json_t *in = J(body), *out = (json_t *)1;
    int rc = act_action_normalize(in, NULL, &out, &err);

    is_int(rc, code, "%s: rc", body);
    is_str(err.field, field, "%s: field", body);
    if (msg)
        is_str(err.msg, msg, "%s: message", body);
    ok(out == NULL, "%s: no output", body);
    json_decref(in);
}

static json_t *normalize_ok(const char *body)
{
    struct act_err err = {0};
    json_t *in = J(body), *out = NULL;
    int rc = act_action_normalize(in, NULL, &out, &err);

    if (!ok(rc == 0 && out, "%s: accepted", body))
        diag("rc %d field '%s' msg '%s'", rc, err.field, err.msg);
    json_decref(in);
    return out;
}

static void test_defaults(void)
{
    json_t *out = normalize_ok("{" MIN "}");
    char *s = dump(out);

    is_str(s,
           "{\"name\":\"a1\",\"action_type\":\"custom\",\"category\":\"custom\","
           "\"description\":\"\",\"handler\":{\"kind\":\"noop\"},\"config\":{},"
           "\"required_fields\":[],\"optional_fields\":[],\"input_schema\":null,"
           "\"retry_policy\":{\"max_retries\":3,\"backoff\":\"exponential\","
           "\"initial_delay_ms\":1000,\"max_delay_ms\":60000,\"jitter\":true},"
           "\"timeout_ms\":30000,\"priority\":0,\"max_concurrent\":null,"
           "\"rate_limit\":{\"per_minute\":null,\"per_hour\":null,\"key\":null},\"enabled\":true}",
           "every member present with its default, in API order");
    free(s);
    json_decref(out);

    out = normalize_ok("{" MIN ", 'action_type': 'email'}");
    is_str(json_string_value(json_object_get(out, "category")), "email",
           "category defaults to action_type");
    json_decref(out);

    out = normalize_ok("{" MIN ", 'id': 'x', 'created_at': 'y', 'updated_at': 1, 'health': {},"
                       " 'tenant': 'admin'}");
    ok(out && !json_object_get(out, "id") && !json_object_get(out, "created_at") &&
           !json_object_get(out, "updated_at") && !json_object_get(out, "health") &&
           !json_object_get(out, "tenant"),
       "server-set members are ignored and not copied");
    json_decref(out);

    out = normalize_ok("{" MIN ", 'timeout_ms': null, 'retry_policy': {'backoff': null},"
                       " 'enabled': null, 'description': null}");
    is_int(json_integer_value(json_object_get(out, "timeout_ms")), 30000, "null takes the default");
    is_str(json_string_value(json_object_get(json_object_get(out, "retry_policy"), "backoff")),
           "exponential", "nested null takes the default");
    ok(json_is_true(json_object_get(out, "enabled")), "enabled null: true");
    json_decref(out);
}

static void test_full_round_trip(void)
{
    const char *text =
        "{'name': 'send_welcome_email', 'action_type': 'email', 'category': 'mail',"
        " 'description': 'welcome', 'handler': {'kind': 'echo'},"
        " 'config': {'from': 'noreply@example.com'},"
        " 'required_fields': ['user_id', 'email'], 'optional_fields': ['first_name'],"
        " 'input_schema': {'type': 'object'},"
        " 'retry_policy': {'max_retries': 5, 'backoff': 'linear', 'initial_delay_ms': 0,"
        " 'max_delay_ms': 604800000, 'jitter': false},"
        " 'timeout_ms': 86400000, 'priority': -1000000, 'max_concurrent': 10,"
        " 'rate_limit': {'per_minute': 600, 'per_hour': 1000000000, 'key': 'data.user_id'},"
        " 'enabled': false}";
    json_t *in = J(text), *out = normalize_ok(text);
    struct act_action_spec spec;

    ok(json_equal(in, out), "a full valid body at the limits is its own canonical form");
    act_action_spec_from_doc(out, &spec);
    is_int(spec.retry.max_retries, 5, "spec max_retries");
    is_int(spec.retry.backoff, ACT_BACKOFF_LINEAR, "spec backoff");
    is_int(spec.retry.initial_delay_ms, 0, "spec initial");
    is_int(spec.retry.max_delay_ms, ACT_DELAY_MAX_MS, "spec max delay");
    ok(!spec.retry.jitter, "spec jitter");
    is_int(spec.timeout_ms, ACT_TIMEOUT_MAX_MS, "spec timeout");
    is_int(spec.priority, -ACT_PRIORITY_ABS_MAX, "spec priority");
    is_int(spec.max_concurrent, 10, "spec max_concurrent");
    is_int(spec.rate_per_minute, 600, "spec per_minute");
    is_int(spec.rate_per_hour, 1000000000, "spec per_hour");
    ok(!spec.enabled, "spec enabled");
    json_decref(in);
    json_decref(out);

    out = normalize_ok("{" MIN ", 'retry_policy': {'backoff': 'fixed'}}");
    act_action_spec_from_doc(out, &spec);
    is_int(spec.retry.backoff, ACT_BACKOFF_FIXED, "defaults spec: fixed");
    is_int(spec.retry.max_retries, 3, "defaults spec: 3 retries");
    is_int(spec.retry.initial_delay_ms, 1000, "defaults spec: 1000 ms");
    is_int(spec.retry.max_delay_ms, 60000, "defaults spec: 60000 ms");
    ok(spec.retry.jitter, "defaults spec: jitter");
    is_int(spec.timeout_ms, 30000, "defaults spec: timeout");
    is_int(spec.max_concurrent, 0, "null max_concurrent: 0 (unlimited)");
    is_int(spec.rate_per_minute, 0, "null per_minute: 0");
    is_int(spec.rate_per_hour, 0, "null per_hour: 0");
    ok(spec.enabled, "defaults spec: enabled");
    json_decref(out);
}

static void test_invalid_top(void)
{
    expect_fail("[]", ACT_EINVAL, "", NULL);
    expect_fail("{'handler': {'kind': 'noop'}}", ACT_EINVAL, "name", "is required");
    expect_fail("{'name': 5, 'handler': {'kind': 'noop'}}", ACT_EINVAL, "name",
                "must be a string");
    expect_fail("{'name': '', 'handler': {'kind': 'noop'}}", ACT_EINVAL, "name", NULL);
    expect_fail("{'name': 'has space', 'handler': {'kind': 'noop'}}", ACT_EINVAL, "name", NULL);
    expect_fail("{'name': 'caf\\u00e9', 'handler': {'kind': 'noop'}}", ACT_EINVAL, "name", NULL);
    expect_fail("{" MIN ", 'color': 'red'}", ACT_EINVAL, "color", "unknown member 'color'");
    expect_fail("{" MIN ", 'action_type': 7}", ACT_EINVAL, "action_type", "must be a string");
    expect_fail("{" MIN ", 'category': ''}", ACT_EINVAL, "category", NULL);
    expect_fail("{" MIN ", 'description': ['x']}", ACT_EINVAL, "description", NULL);
    expect_fail("{'name': 'a'}", ACT_EINVAL, "handler", "is required");
    expect_fail("{'name': 'a', 'handler': 'noop'}", ACT_EINVAL, "handler", "must be an object");
    expect_fail("{'name': 'a', 'handler': {}}", ACT_EINVAL, "handler.kind", "is required");
    expect_fail("{'name': 'a', 'handler': {'kind': 3}}", ACT_EINVAL, "handler.kind", NULL);
    expect_fail("{'name': 'a', 'handler': {'kind': 'teleport'}}", ACT_EUNPROC, "handler.kind",
                NULL);
    expect_fail("{" MIN ", 'config': []}", ACT_EINVAL, "config", "must be an object");
    expect_fail("{" MIN ", 'required_fields': 'a'}", ACT_EINVAL, "required_fields", NULL);
    expect_fail("{" MIN ", 'required_fields': ['a', 1]}", ACT_EINVAL, "required_fields[1]",
                "must be a string");
    expect_fail("{" MIN ", 'required_fields': ['a', 'a']}", ACT_EINVAL, "required_fields[1]",
                NULL);
    expect_fail("{" MIN ", 'optional_fields': ['']}", ACT_EINVAL, "optional_fields[0]", NULL);
    expect_fail("{" MIN ", 'required_fields': ['x'], 'optional_fields': ['y', 'x']}", ACT_EINVAL,
                "optional_fields[1]", NULL);
    expect_fail("{" MIN ", 'input_schema': 5}", ACT_EINVAL, "input_schema", NULL);
    expect_fail("{" MIN ", 'timeout_ms': 0}", ACT_EINVAL, "timeout_ms", NULL);
    expect_fail("{" MIN ", 'timeout_ms': 86400001}", ACT_EINVAL, "timeout_ms", NULL);
    expect_fail("{" MIN ", 'timeout_ms': 9223372036854775807}", ACT_EINVAL, "timeout_ms", NULL);
    expect_fail("{" MIN ", 'timeout_ms': 1e30}", ACT_EINVAL, "timeout_ms", "must be an integer");
    expect_fail("{" MIN ", 'priority': 1000001}", ACT_EINVAL, "priority", NULL);
    expect_fail("{" MIN ", 'priority': -1000001}", ACT_EINVAL, "priority", NULL);
    expect_fail("{" MIN ", 'max_concurrent': 0}", ACT_EINVAL, "max_concurrent", NULL);
    expect_fail("{" MIN ", 'max_concurrent': 100001}", ACT_EINVAL, "max_concurrent", NULL);
    expect_fail("{" MIN ", 'enabled': 'true'}", ACT_EINVAL, "enabled", "must be a boolean");
    expect_fail("{" MIN ", 'enabled': 1}", ACT_EINVAL, "enabled", "must be a boolean");
}

static void test_invalid_nested(void)
{
    expect_fail("{" MIN ", 'retry_policy': 5}", ACT_EINVAL, "retry_policy", "must be an object");
    expect_fail("{" MIN ", 'retry_policy': {'backoff': 'quadratic'}}", ACT_EINVAL,
                "retry_policy.backoff", NULL);
    expect_fail("{" MIN ", 'retry_policy': {'backoff': 2}}", ACT_EINVAL, "retry_policy.backoff",
                "must be a string");
    expect_fail("{" MIN ", 'retry_policy': {'max_retries': -1}}", ACT_EINVAL,
                "retry_policy.max_retries", "must be between 0 and 100");
    expect_fail("{" MIN ", 'retry_policy': {'max_retries': 101}}", ACT_EINVAL,
                "retry_policy.max_retries", "must be between 0 and 100");
    expect_fail("{" MIN ", 'retry_policy': {'max_retries': 3.5}}", ACT_EINVAL,
                "retry_policy.max_retries", "must be an integer");
    expect_fail("{" MIN ", 'retry_policy': {'max_retries': 3.0}}", ACT_EINVAL,
                "retry_policy.max_retries", "must be an integer");
    expect_fail("{" MIN ", 'retry_policy': {'max_retries': '3'}}", ACT_EINVAL,
                "retry_policy.max_retries", "must be an integer");
    expect_fail("{" MIN ", 'retry_policy': {'max_retries': true}}", ACT_EINVAL,
                "retry_policy.max_retries", "must be an integer");
    expect_fail("{" MIN ", 'retry_policy': {'initial_delay_ms': -1}}", ACT_EINVAL,
                "retry_policy.initial_delay_ms", NULL);
    expect_fail("{" MIN ", 'retry_policy': {'initial_delay_ms': 604800001,"
                " 'max_delay_ms': 604800001}}",
                ACT_EINVAL, "retry_policy.initial_delay_ms", NULL);
    expect_fail("{" MIN ", 'retry_policy': {'initial_delay_ms': 5000, 'max_delay_ms': 4999}}",
                ACT_EINVAL, "retry_policy.max_delay_ms", NULL);
    expect_fail("{" MIN ", 'retry_policy': {'initial_delay_ms': 61000}}", ACT_EINVAL,
                "retry_policy.max_delay_ms", "must be >= initial_delay_ms (61000)");
    expect_fail("{" MIN ", 'retry_policy': {'jitter': 'yes'}}", ACT_EINVAL, "retry_policy.jitter",
                "must be a boolean");
    expect_fail("{" MIN ", 'retry_policy': {'tries': 3}}", ACT_EINVAL, "retry_policy.tries",
                "unknown member 'tries'");
    expect_fail("{" MIN ", 'rate_limit': []}", ACT_EINVAL, "rate_limit", NULL);
    expect_fail("{" MIN ", 'rate_limit': {'per_minute': 0}}", ACT_EINVAL, "rate_limit.per_minute",
                NULL);
    expect_fail("{" MIN ", 'rate_limit': {'per_hour': -5}}", ACT_EINVAL, "rate_limit.per_hour",
                NULL);
    expect_fail("{" MIN ", 'rate_limit': {'per_hour': 1000000001}}", ACT_EINVAL,
                "rate_limit.per_hour", NULL);
    expect_fail("{" MIN ", 'rate_limit': {'key': 5}}", ACT_EINVAL, "rate_limit.key", NULL);
    expect_fail("{" MIN ", 'rate_limit': {'burst': 5}}", ACT_EINVAL, "rate_limit.burst",
                "unknown member 'burst'");
}

static void test_limits(void)
{
    char name[ACT_NAME_MAX + 2], body[4096 + 256];
    json_t *out;

    memset(name, 'n', sizeof(name));
    name[ACT_NAME_MAX] = '\0';
    snprintf(body, sizeof(body), "{'name': '%s', 'handler': {'kind': 'noop'}}", name);
    out = normalize_ok(body);
    json_decref(out);
    name[ACT_NAME_MAX] = 'n';
    name[ACT_NAME_MAX + 1] = '\0';
    snprintf(body, sizeof(body), "{'name': '%s', 'handler': {'kind': 'noop'}}", name);
    expect_fail(body, ACT_EINVAL, "name", NULL);
    out = normalize_ok("{'name': 'Az09_.:-', 'handler': {'kind': 'noop'}}");
    ok(out != NULL, "every allowed name character");
    json_decref(out);

    /* More than ACT_FIELDS_MAX entries. */
    json_t *in = J("{" MIN "}"), *list = json_array();
    struct act_err err = {0};
    for (int i = 0; i <= ACT_FIELDS_MAX; i++) {
        char f[16];
        snprintf(f, sizeof(f), "f%d", i);
        json_array_append_new(list, json_string(f));
    }
    json_object_set_new(in, "required_fields", list);
    is_int(act_action_normalize(in, NULL, &out, &err), ACT_EINVAL, "257 required_fields refused");
    is_str(err.field, "required_fields", "field names the list");
    json_array_remove(list, 0);
    is_int(act_action_normalize(in, NULL, &out, &err), 0, "256 required_fields accepted");
    json_decref(out);

    /* A NUL byte inside a string. */
    json_object_set_new(in, "description", json_stringn("a\0b", 3));
    is_int(act_action_normalize(in, NULL, &out, &err), ACT_EINVAL, "NUL in description refused");
    is_str(err.field, "description", "field description");
    is_int(act_action_normalize(in, NULL, &out, NULL), ACT_EINVAL, "NULL err sink is fine");
    json_decref(in);
}

static void test_handler_kind(void)
{
    struct act_err err = {0};
    json_t *in = J("{'name': 'a', 'handler': {'kind': 'command'}}"), *out = NULL;
    int rc = act_action_normalize(in, NULL, &out, &err);

    /* The kind judges its own spec: a command with no argv is a 422. */
    is_int(rc, ACT_EUNPROC, "command without argv: 422");
    is_str(err.field, "handler.argv", "the kind names its member");
    json_decref(in);

    out = normalize_ok("{'name': 'a', 'handler': {'kind': 'command', 'argv': ['true']}}");
    ok(out != NULL, "a command with argv is accepted by its kind");
    json_decref(out);

    /* A 400 wins over the kind's 422: the kind runs last. */
    expect_fail("{'name': 'a', 'handler': {'kind': 'teleport'}, 'timeout_ms': -1}", ACT_EINVAL,
                "timeout_ms", NULL);
}

/* PATCH: `patch` over the canonical form of `base_text`. */
static json_t *patch(const char *base_text, const char *patch_text, int want_rc,
                     struct act_err *err)
{
    json_t *base = normalize_ok(base_text), *body = J(patch_text), *out = NULL;
    json_t *before;
    int rc;

    json_object_set_new(base, "id", json_string("0190a0b0-0000-7000-8000-000000000000"));
    json_object_set_new(base, "created_at", json_string("2026-01-01T00:00:00.000Z"));
    before = json_deep_copy(base);
    rc = act_action_normalize(body, base, &out, err);
    is_int(rc, want_rc, "PATCH %s: rc", patch_text);
    ok(json_equal(base, before), "PATCH %s: base untouched", patch_text);
    json_decref(before);
    json_decref(base);
    json_decref(body);
    return out;
}

static void test_patch(void)
{
    const char *base = "{" MIN ", 'config': {'a': 1, 'b': 2}, 'max_concurrent': 5,"
                       " 'retry_policy': {'max_retries': 7, 'backoff': 'linear'},"
                       " 'rate_limit': {'per_minute': 60, 'key': 'data.k'}}";
    struct act_err err = {0};
    json_t *out, *rp, *rl;

    out = patch(base, "{'retry_policy': {'max_retries': 1}, 'rate_limit': {'per_hour': 100}}", 0,
                &err);
    rp = json_object_get(out, "retry_policy");
    rl = json_object_get(out, "rate_limit");
    is_int(json_integer_value(json_object_get(rp, "max_retries")), 1, "retry member replaced");
    is_str(json_string_value(json_object_get(rp, "backoff")), "linear",
           "other retry members kept (one-level merge)");
    is_int(json_integer_value(json_object_get(rl, "per_minute")), 60, "per_minute kept");
    is_int(json_integer_value(json_object_get(rl, "per_hour")), 100, "per_hour set");
    is_str(json_string_value(json_object_get(rl, "key")), "data.k", "key kept");
    is_str(json_string_value(json_object_get(out, "name")), "a1", "name kept");
    ok(!json_object_get(out, "id"), "server-set members of the base are not copied");
    json_decref(out);

    out = patch(base, "{'config': {'c': 3}, 'max_concurrent': null}", 0, &err);
    json_t *want = J("{'c': 3}");
    ok(json_equal(json_object_get(out, "config"), want), "config is replaced whole, not merged");
    json_decref(want);
    ok(json_is_null(json_object_get(out, "max_concurrent")), "null unsets max_concurrent");
    json_decref(out);

    out = patch(base, "{'retry_policy': null, 'rate_limit': {'per_minute': null}}", 0, &err);
    rp = json_object_get(out, "retry_policy");
    is_int(json_integer_value(json_object_get(rp, "max_retries")), 3,
           "retry_policy null: defaults again");
    ok(json_is_null(json_object_get(json_object_get(out, "rate_limit"), "per_minute")),
       "nested null unsets per_minute");
    json_decref(out);

    out = patch(base, "{'retry_policy': {'initial_delay_ms': 120000}}", ACT_EINVAL, &err);
    ok(!out, "merged result validated: no output");
    is_str(err.field, "retry_policy.max_delay_ms", "merged result violates max >= initial");
    out = patch(base, "{'retry_policy': {'initial_delay_ms': 120000, 'max_delay_ms': 120000}}", 0,
                &err);
    ok(out != NULL, "both changed together: accepted");
    json_decref(out);

    out = patch(base, "{'colour': 1}", ACT_EINVAL, &err);
    is_str(err.field, "colour", "PATCH unknown member named");
    out = patch(base, "{'retry_policy': {'max_retries': '9'}}", ACT_EINVAL, &err);
    is_str(err.field, "retry_policy.max_retries", "PATCH type error named");
    out = patch(base, "{'name': null}", ACT_EINVAL, &err);
    is_str(err.field, "name", "PATCH cannot unset a required member");
    out = patch(base, "{'handler': {'kind': 'teleport'}}", ACT_EUNPROC, &err);
    is_str(err.field, "handler.kind", "PATCH handler judged by its kind");

    /* A base member outside the model (older schema) is dropped, not refused. */
    json_t *b = normalize_ok("{" MIN "}"), *body = J("{'priority': 4}");
    json_object_set_new(b, "legacy", json_true());
    is_int(act_action_normalize(body, b, &out, &err), 0, "unknown base member tolerated");
    ok(out && !json_object_get(out, "legacy"), "and dropped");
    is_int(json_integer_value(json_object_get(out, "priority")), 4, "priority patched");
    json_decref(out);
    json_decref(b);
    json_decref(body);
}

int main(void)
{
    test_defaults();
    test_full_round_trip();
    test_invalid_top();
    test_invalid_nested();
    test_limits();
    test_handler_kind();
    test_patch();
    return done_testing();
}
