/* model: subscription validation, defaults and PATCH merge. */
#include "model/model.h"
#include "base/alloc.h"
#include "match/match.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AID "0190a0b0-1234-7abc-8def-0123456789ab"

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

static void expect_fail(const char *body, const char *field, const char *msg)
{
    struct act_err err = {0};
    json_t *in = J(body), *out = (json_t *)1;

    is_int(act_subscription_normalize(in, NULL, &out, &err), ACT_EINVAL, "%s: 400", body);
    is_str(err.field, field, "%s: field", body);
    if (msg)
        is_str(err.msg, msg, "%s: message", body);
    ok(!out, "%s: no output", body);
    json_decref(in);
}

static void test_defaults(void)
{
    struct act_err err = {0};
    json_t *in = J("{'action_id': '" AID "', 'event_patterns': ['users.created'],"
                   " 'id': 'x', 'created_at': 'y', 'updated_at': 'z', 'tenant': 't'}");
    json_t *out = NULL;
    char *s;

    is_int(act_subscription_normalize(in, NULL, &out, &err), 0, "minimal body accepted");
    s = json_dumps(out, JSON_COMPACT);
    is_str(s,
           "{\"action_id\":\"" AID "\",\"event_patterns\":[\"users.created\"],"
           "\"conditions\":null,\"priority\":0,\"enabled\":true}",
           "canonical form with defaults, server-set members dropped");
    free(s);
    json_decref(out);
    json_decref(in);

    const char *full = "{'action_id': '" AID "', 'event_patterns': ['users.created', 'orders.*',"
                       " '**.failed', 're:^billing\\\\.(paid|refunded)$'],"
                       " 'conditions': {'all': [{'field': 'data.tier', 'op': 'eq',"
                       " 'value': 'premium'}]}, 'priority': 10, 'enabled': false}";
    in = J(full);
    is_int(act_subscription_normalize(in, NULL, &out, &err), 0, "API.md example accepted");
    if (!ok(json_equal(in, out), "full body is its own canonical form"))
        diag("err %s %s", err.field, err.msg);
    json_decref(out);
    json_decref(in);
}

static void test_invalid(void)
{
    char body[8192];
    size_t n;

    expect_fail("[]", "", NULL);
    expect_fail("{'event_patterns': ['a']}", "action_id", "is required");
    expect_fail("{'action_id': 5, 'event_patterns': ['a']}", "action_id", "must be a string");
    expect_fail("{'action_id': 'not-a-uuid', 'event_patterns': ['a']}", "action_id",
                "must be a UUID");
    expect_fail("{'action_id': '" AID "'}", "event_patterns", "is required");
    expect_fail("{'action_id': '" AID "', 'event_patterns': 'a.b'}", "event_patterns", NULL);
    expect_fail("{'action_id': '" AID "', 'event_patterns': []}", "event_patterns", NULL);
    expect_fail("{'action_id': '" AID "', 'event_patterns': ['a', 7]}", "event_patterns[1]",
                "must be a string");
    expect_fail("{'action_id': '" AID "', 'event_patterns': ['a', '']}", "event_patterns[1]",
                NULL);
    expect_fail("{'action_id': '" AID "', 'event_patterns': ['a', 're:(']}", "event_patterns[1]",
                NULL);
    expect_fail("{'action_id': '" AID "', 'event_patterns': ['a'], 'conditions': [1]}",
                "conditions", NULL);
    expect_fail("{'action_id': '" AID "', 'event_patterns': ['a'],"
                " 'conditions': 'event.data.tier == = 1'}",
                "conditions", NULL);
    expect_fail("{'action_id': '" AID "', 'event_patterns': ['a'], 'priority': 1.5}", "priority",
                "must be an integer");
    expect_fail("{'action_id': '" AID "', 'event_patterns': ['a'], 'priority': 2000000}",
                "priority", NULL);
    expect_fail("{'action_id': '" AID "', 'event_patterns': ['a'], 'enabled': 0}", "enabled",
                "must be a boolean");
    expect_fail("{'action_id': '" AID "', 'event_patterns': ['a'], 'pattern': 'x'}", "pattern",
                "unknown member 'pattern'");

    /* One pattern over the count limit. */
    n = (size_t)snprintf(body, sizeof(body), "{'action_id': '" AID "', 'event_patterns': [");
    for (int i = 0; i <= ACT_MATCH_MAX_PATTERNS; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "%s'p%d'", i ? ", " : "", i);
    snprintf(body + n, sizeof(body) - n, "]}");
    expect_fail(body, "event_patterns", NULL);
}

static void test_conditions(void)
{
    struct act_err err = {0};
    json_t *in, *out = NULL;

    /* The matcher's field is relative to the conditions object. */
    in = J("{'action_id': '" AID "', 'event_patterns': ['a'],"
           " 'conditions': {'all': [{'field': 'data.x', 'op': 'eq', 'value': 1},"
           " {'field': 'data.y', 'op': 'frobnicate', 'value': 1}]}}");
    is_int(act_subscription_normalize(in, NULL, &out, &err), ACT_EINVAL, "bad op refused");
    is_str(err.field, "conditions.all[1].op", "matcher's field prefixed with conditions.");
    json_decref(in);

    /* A matcher error on the root node has no field of its own. */
    in = J("{'action_id': '" AID "', 'event_patterns': ['a'], 'conditions': {'bogus': 1}}");
    is_int(act_subscription_normalize(in, NULL, &out, &err), ACT_EINVAL, "bad root node refused");
    is_str(err.field, "conditions", "root error: field conditions");
    json_decref(in);

    in = J("{'action_id': '" AID "', 'event_patterns': ['a'],"
           " 'conditions': 'event.data.x == 1 and event.data.y ~= nil'}");
    is_int(act_subscription_normalize(in, NULL, &out, &err), 0, "expression conditions accepted");
    is_str(json_string_value(json_object_get(out, "conditions")),
           "event.data.x == 1 and event.data.y ~= nil", "expression kept as given");
    json_decref(out);
    json_decref(in);

    in = J("{'action_id': '" AID "', 'event_patterns': ['a'], 'conditions': 'event.data.x =='}");
    is_int(act_subscription_normalize(in, NULL, &out, &err), ACT_EINVAL,
           "expression syntax error 400");
    is_str(err.field, "conditions", "field conditions");
    ok(strstr(err.msg, "unexpected symbol") != NULL, "Lua's message ('%s')", err.msg);
    json_decref(in);

    in = J("{'action_id': '" AID "', 'event_patterns': ['a'], 'conditions': 5}");
    is_int(act_subscription_normalize(in, NULL, &out, &err), ACT_EINVAL, "number conditions 400");
    json_decref(in);

    in = J("{'action_id': '" AID "', 'event_patterns': ['a'], 'conditions': null}");
    is_int(act_subscription_normalize(in, NULL, &out, &err), 0, "null conditions accepted");
    ok(json_is_null(json_object_get(out, "conditions")), "null kept");
    json_decref(out);
    json_decref(in);
}

static void test_patch(void)
{
    struct act_err err = {0};
    json_t *base_in = J("{'action_id': '" AID "', 'event_patterns': ['a.*', 'b'],"
                        " 'conditions': {'all': [{'field': 'data.x', 'op': 'eq', 'value': 1}]},"
                        " 'priority': 3}");
    json_t *base = NULL, *body, *out = NULL, *before;

    is_int(act_subscription_normalize(base_in, NULL, &base, &err), 0, "base normalized");
    json_object_set_new(base, "id", json_string(AID));
    before = json_deep_copy(base);

    body = J("{'event_patterns': ['c'], 'enabled': false}");
    is_int(act_subscription_normalize(body, base, &out, &err), 0, "PATCH accepted");
    is_int(json_array_size(json_object_get(out, "event_patterns")), 1, "patterns replaced whole");
    is_int(json_integer_value(json_object_get(out, "priority")), 3, "priority kept");
    ok(json_is_object(json_object_get(out, "conditions")), "conditions kept");
    ok(json_is_false(json_object_get(out, "enabled")), "enabled patched");
    ok(!json_object_get(out, "id"), "id not copied");
    ok(json_equal(base, before), "base untouched");
    json_decref(out);
    json_decref(body);

    body = J("{'conditions': null, 'priority': null}");
    is_int(act_subscription_normalize(body, base, &out, &err), 0, "PATCH with nulls accepted");
    ok(json_is_null(json_object_get(out, "conditions")), "null unsets conditions");
    is_int(json_integer_value(json_object_get(out, "priority")), 0, "null priority: default");
    json_decref(out);
    json_decref(body);

    body = J("{'event_patterns': ['re:(']}");
    is_int(act_subscription_normalize(body, base, &out, &err), ACT_EINVAL, "PATCH revalidates");
    is_str(err.field, "event_patterns[0]", "PATCH bad pattern field");
    json_decref(body);

    body = J("{'action': 'x'}");
    is_int(act_subscription_normalize(body, base, &out, &err), ACT_EINVAL, "PATCH unknown member");
    is_str(err.field, "action", "PATCH unknown member named");
    json_decref(body);

    body = J("{'action_id': null}");
    is_int(act_subscription_normalize(body, base, &out, &err), ACT_EINVAL, "cannot unset id");
    is_str(err.field, "action_id", "action_id is required");
    json_decref(body);

    json_decref(before);
    json_decref(base);
    json_decref(base_in);
}

int main(void)
{
    test_defaults();
    test_invalid();
    test_conditions();
    test_patch();
    return done_testing();
}
