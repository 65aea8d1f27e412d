/*
 * The pure rules of the plugin registry (plugin.h "pure pieces"): slugs,
 * plugin bodies, registration bodies -- every rule with the exact 400 field
 * it reports -- and the required-field check of the dispatcher.
 */
#include "plugin/plugin.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *J(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!v) {
        fprintf(stderr, "bad test JSON: %s: %s\n", text, jerr.text);
        abort();
    }
    return v;
}

/* A registration of one action given as JSON text: expect a 400 on
 * `field` whose message contains `msg`. */
static void reg_fails(const char *body, const char *field, const char *msg, const char *name)
{
    json_t *b = J(body), *out = NULL;
    struct act_err err = {0};
    int rc = act_plugin_actions_normalize(b, &out, &err);

    is_int(rc, ACT_EINVAL, "%s: refused", name);
    is_str(err.field, field, "%s: field", name);
    ok(strstr(err.msg, msg) != NULL, "%s: message '%s' contains '%s'", name, err.msg, msg);
    ok(out == NULL, "%s: nothing built", name);
    json_decref(out);
    json_decref(b);
}

static void test_slugs(void)
{
    subtest("slugs");
    ok(act_plugin_slug_valid("email-automation"), "email-automation");
    ok(act_plugin_slug_valid("a"), "one character");
    ok(act_plugin_slug_valid("0abc-9"), "leading digit");
    ok(!act_plugin_slug_valid(""), "empty");
    ok(!act_plugin_slug_valid("-abc"), "leading dash");
    ok(!act_plugin_slug_valid("Email"), "upper case");
    ok(!act_plugin_slug_valid("a_b"), "underscore");
    ok(!act_plugin_slug_valid("a.b"), "dot");
    ok(!act_plugin_slug_valid("actions"), "reserved: actions");
    ok(!act_plugin_slug_valid("events"), "reserved: events");
    ok(act_plugin_slug_valid("abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc"),
       "63 characters");
    ok(!act_plugin_slug_valid("abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd"),
       "64 characters");
}

static void test_registration_ok(void)
{
    json_t *b = J("{\"actions\": [{\"action_type\": \"send_welcome_email\", \"title\": \"W\","
                  " \"category\": \"email\", \"required_fields\": [\"user_id\", \"email\"],"
                  " \"optional_fields\": [\"first_name\"], \"endpoint\": \"/actions/welcome\","
                  " \"retry_policy\": {\"max_retries\": 0}, \"timeout_ms\": 2500,"
                  " \"unknown\": 1},"
                  " {\"action_type\": \"send_cart-email\", \"title\": \"C\","
                  " \"required_fields\": []}]}");
    json_t *out = NULL, *a0, *a1;
    struct act_err err = {0};

    subtest("registration: valid");
    is_int(act_plugin_actions_normalize(b, &out, &err), ACT_OK, "valid body accepted (%s)",
           err.msg);
    is_int((int)json_array_size(out), 2, "two actions");
    a0 = json_array_get(out, 0);
    a1 = json_array_get(out, 1);
    is_str(json_string_value(json_object_get(a0, "endpoint")), "/actions/welcome", "endpoint kept");
    is_int(json_integer_value(json_object_get(a0, "timeout_ms")), 2500, "timeout_ms kept");
    ok(json_object_get(a0, "retry_policy") != NULL, "retry_policy kept");
    ok(json_object_get(a0, "unknown") == NULL, "unknown members dropped");
    is_str(json_string_value(json_object_get(a1, "endpoint")), "/actions/send-cart-email",
           "default endpoint: /actions/<type with - for _>");
    is_int((int)json_array_size(json_object_get(a1, "optional_fields")), 0,
           "optional_fields defaults to []");
    ok(json_object_get(a1, "category") == NULL, "no category invented");
    json_decref(out);
    json_decref(b);

    b = J("{\"actions\": []}");
    is_int(act_plugin_actions_normalize(b, &out, &err), ACT_OK, "an empty set is valid");
    is_int((int)json_array_size(out), 0, "empty");
    json_decref(out);
    json_decref(b);
}

static void test_registration_rules(void)
{
    subtest("registration: every rule names its field");
    reg_fails("[1]", "", "must be a JSON object", "body not an object");
    reg_fails("{}", "actions", "actions is required", "no actions");
    reg_fails("{\"actions\": {}}", "actions", "must be an array", "actions not an array");
    reg_fails("{\"actions\": [7]}", "actions[0]", "must be an object", "action not an object");
    reg_fails("{\"actions\": [{\"title\": \"T\", \"required_fields\": []}]}",
              "actions[0].action_type", "action_type is required", "missing action_type");
    reg_fails("{\"actions\": [{\"action_type\": \"\", \"title\": \"T\", \"required_fields\": []}]}",
              "actions[0].action_type", "action_type is required", "empty action_type");
    reg_fails("{\"actions\": [{\"action_type\": 5, \"title\": \"T\", \"required_fields\": []}]}",
              "actions[0].action_type", "must be a string", "action_type not a string");
    reg_fails("{\"actions\": [{\"action_type\": \"ok\", \"title\": \"T\", \"required_fields\": []},"
              " {\"action_type\": \"Send Email\", \"title\": \"T\", \"required_fields\": []}]}",
              "actions[1].action_type", "^[a-z0-9_-]+$", "action_type with capitals and space");
    reg_fails(
        "{\"actions\": [{\"action_type\": \"a.b\", \"title\": \"T\", \"required_fields\": []}]}",
        "actions[0].action_type", "^[a-z0-9_-]+$", "action_type with a dot");
    reg_fails("{\"actions\": [{\"action_type\": \"__webhook\", \"title\": \"T\","
              " \"required_fields\": []}]}",
              "actions[0].action_type", "reserved", "reserved action_type");
    reg_fails("{\"actions\": [{\"action_type\": "
              "\"a23456789012345678901234567890123456789012345678901234567\", \"title\": \"T\","
              " \"required_fields\": []}]}",
              "actions[0].action_type", "longer than 56", "action_type too long");
    reg_fails("{\"actions\": [{\"action_type\": \"a\", \"title\": \"T\", \"required_fields\": []},"
              " {\"action_type\": \"b\", \"title\": \"T\", \"required_fields\": []},"
              " {\"action_type\": \"a\", \"title\": \"T\", \"required_fields\": []}]}",
              "actions[2].action_type", "duplicate action_type (also actions[0])",
              "duplicate type");
    reg_fails("{\"actions\": [{\"action_type\": \"a\", \"required_fields\": []}]}",
              "actions[0].title", "actions[0] (a): title is required", "missing title");
    reg_fails("{\"actions\": [{\"action_type\": \"a\", \"title\": \"\", \"required_fields\": []}]}",
              "actions[0].title", "title is required", "empty title");
    reg_fails("{\"actions\": [{\"action_type\": \"a\", \"title\": [], \"required_fields\": []}]}",
              "actions[0].title", "must be a string", "title not a string");
    reg_fails("{\"actions\": [{\"action_type\": \"a\", \"title\": \"T\"}]}",
              "actions[0].required_fields", "required_fields is required", "no required_fields");
    reg_fails(
        "{\"actions\": [{\"action_type\": \"a\", \"title\": \"T\", \"required_fields\": \"x\"}]}",
        "actions[0].required_fields", "must be an array", "required_fields a string");
    reg_fails("{\"actions\": [{\"action_type\": \"a\", \"title\": \"T\","
              " \"required_fields\": [\"x\", 3]}]}",
              "actions[0].required_fields[1]", "must be a field name", "required field a number");
    reg_fails("{\"actions\": [{\"action_type\": \"a\", \"title\": \"T\","
              " \"required_fields\": [\"x\", \"x\"]}]}",
              "actions[0].required_fields[1]", "duplicate field 'x'", "required field twice");
    reg_fails("{\"actions\": [{\"action_type\": \"a\", \"title\": \"T\", \"required_fields\": [],"
              " \"optional_fields\": 1}]}",
              "actions[0].optional_fields", "must be an array", "optional_fields not an array");
    reg_fails(
        "{\"actions\": [{\"action_type\": \"a\", \"title\": \"T\", \"required_fields\": [\"x\"],"
        " \"optional_fields\": [\"x\"]}]}",
        "actions[0].optional_fields[0]", "already in required_fields", "field in both lists");
    reg_fails("{\"actions\": [{\"action_type\": \"a\", \"title\": \"T\", \"required_fields\": [],"
              " \"category\": 3}]}",
              "actions[0].category", "must be a string", "category not a string");
    reg_fails("{\"actions\": [{\"action_type\": \"a\", \"title\": \"T\", \"required_fields\": [],"
              " \"description\": false}]}",
              "actions[0].description", "must be a string", "description not a string");
    reg_fails("{\"actions\": [{\"action_type\": \"a\", \"title\": \"T\", \"required_fields\": [],"
              " \"endpoint\": \"actions/x\"}]}",
              "actions[0].endpoint", "starting with '/'", "relative endpoint");
    reg_fails("{\"actions\": [{\"action_type\": \"a\", \"title\": \"T\", \"required_fields\": [],"
              " \"endpoint\": \"/a b\"}]}",
              "actions[0].endpoint", "blanks", "endpoint with a blank");
    reg_fails("{\"actions\": [{\"action_type\": \"a\", \"title\": \"T\", \"required_fields\": [],"
              " \"retry_policy\": {\"max_retries\": -1}}]}",
              "actions[0].retry_policy.max_retries", "actions[0].retry_policy.max_retries",
              "retry_policy judged by the model");
    reg_fails("{\"actions\": [{\"action_type\": \"a\", \"title\": \"T\", \"required_fields\": [],"
              " \"retry_policy\": 3}]}",
              "actions[0].retry_policy", "retry_policy", "retry_policy not an object");
    reg_fails("{\"actions\": [{\"action_type\": \"a\", \"title\": \"T\", \"required_fields\": [],"
              " \"timeout_ms\": \"soon\"}]}",
              "actions[0].timeout_ms", "timeout_ms", "timeout_ms not a number");
    reg_fails("{\"actions\": [{\"action_type\": \"a\", \"title\": \"T\", \"required_fields\": [],"
              " \"timeout_ms\": 600001}]}",
              "actions[0].timeout_ms", "at most 600000", "timeout_ms over the HTTP kinds' cap");
    reg_fails("{\"actions\": [{\"action_type\": \"a\", \"title\": \"T\", \"required_fields\": [],"
              " \"input_schema\": 3}]}",
              "actions[0].input_schema", "input_schema", "input_schema not an object");
}

/* A plugin body: expect a 400 on field. */
static void plugin_fails(const char *body, const char *field, const char *name)
{
    json_t *b = J(body), *out = NULL;
    struct act_err err = {0};
    int rc = act_plugin_normalize(b, NULL, &out, &err);

    is_int(rc, ACT_EINVAL, "%s: refused", name);
    is_str(err.field, field, "%s: field (%s)", name, err.msg);
    json_decref(out);
    json_decref(b);
}

static void test_plugin_body(void)
{
    json_t *b, *out = NULL, *base;
    struct act_err err = {0};

    subtest("plugin bodies");
    b = J("{\"name\": \"Email\", \"slug\": \"email-automation\","
          " \"id\": \"87312788-DF51-4002-8ECA-9CFC3E3F7D8E\", \"api_endpoint\": "
          "\"http://127.0.0.1:3100\","
          " \"events\": [\"orders.*\", \"users.created\"], \"extra\": true}");
    is_int(act_plugin_normalize(b, NULL, &out, &err), ACT_OK, "valid plugin (%s)", err.msg);
    is_str(json_string_value(json_object_get(out, "id")), "87312788-df51-4002-8eca-9cfc3e3f7d8e",
           "id lower-cased");
    is_str(json_string_value(json_object_get(out, "tenant_id")), ACT_PLUGIN_DEFAULT_TENANT,
           "default tenant");
    is_str(json_string_value(json_object_get(out, "status")), "active", "default status");
    ok(json_is_null(json_object_get(out, "webhook_url")), "webhook_url null");
    ok(json_is_object(json_object_get(out, "config")), "config defaults to {}");
    ok(json_object_get(out, "extra") == NULL, "unknown members ignored");
    base = out;
    json_decref(b);
    b = J("{\"status\": \"inactive\"}");
    is_int(act_plugin_normalize(b, base, &out, &err), ACT_OK, "PATCH over a base");
    is_str(json_string_value(json_object_get(out, "status")), "inactive", "PATCH applied");
    is_str(json_string_value(json_object_get(out, "slug")), "email-automation", "base kept");
    json_decref(out);
    json_decref(base);
    json_decref(b);

    plugin_fails("{\"slug\": \"x\"}", "name", "missing name");
    plugin_fails("{\"name\": \"X\"}", "slug", "missing slug");
    plugin_fails("{\"name\": \"X\", \"slug\": \"Bad Slug\"}", "slug", "bad slug");
    plugin_fails("{\"name\": \"X\", \"slug\": \"events\"}", "slug", "reserved slug");
    plugin_fails("{\"name\": \"X\", \"slug\": \"x\", \"id\": \"nope\"}", "id", "bad id");
    plugin_fails("{\"name\": \"X\", \"slug\": \"x\", \"status\": \"on\"}", "status", "bad status");
    plugin_fails("{\"name\": \"X\", \"slug\": \"x\", \"api_endpoint\": \"ftp://h\"}",
                 "api_endpoint", "ftp endpoint");
    plugin_fails("{\"name\": \"X\", \"slug\": \"x\", \"api_endpoint\": \"http://\"}",
                 "api_endpoint", "endpoint without host");
    plugin_fails("{\"name\": \"X\", \"slug\": \"x\", \"webhook_url\": 5}", "webhook_url",
                 "webhook_url not a string");
    plugin_fails("{\"name\": \"X\", \"slug\": \"x\", \"events\": \"a.b\"}", "events",
                 "events not an array");
    plugin_fails("{\"name\": \"X\", \"slug\": \"x\", \"events\": [\"a.b\", \"re:(\"]}", "events[1]",
                 "bad event pattern");
    plugin_fails("{\"name\": \"X\", \"slug\": \"x\", \"config\": []}", "config", "config array");
    plugin_fails("{\"name\": \"X\", \"slug\": \"x\", \"metadata\": 1}", "metadata",
                 "metadata number");
    plugin_fails("{\"name\": \"X\", \"slug\": \"x\", \"secret\": \"hunter2\"}", "secret",
                 "secret not whsec_");
    plugin_fails("{\"name\": \"X\", \"slug\": \"x\", \"timeout_ms\": 0}", "timeout_ms",
                 "timeout_ms zero");
}

static void test_required(void)
{
    json_t *req = J("[\"user_id\", \"email\"]"), *p;
    struct act_err err = {0};

    subtest("required fields");
    p = J("{\"user_id\": \"u\", \"email\": \"e\"}");
    is_int(act_plugin_required_check(req, p, "send_welcome_email", &err), ACT_OK, "all present");
    json_decref(p);
    p = J("{\"user_id\": \"u\"}");
    is_int(act_plugin_required_check(req, p, "send_welcome_email", &err), ACT_EINVAL, "absent");
    is_str(err.msg, "Missing required field: email for action send_welcome_email",
           "the seed's message");
    is_str(err.field, "payload.email", "field");
    json_decref(p);
    p = J("{\"user_id\": null, \"email\": \"e\"}");
    is_int(act_plugin_required_check(req, p, "t", &err), ACT_EINVAL, "null is missing");
    is_str(err.msg, "Missing required field: user_id for action t", "null named");
    json_decref(p);
    p = J("{\"user_id\": \"\", \"email\": 0}");
    is_int(act_plugin_required_check(req, p, "t", &err), ACT_OK, "\"\" and 0 are present");
    json_decref(p);
    is_int(act_plugin_required_check(req, NULL, "t", &err), ACT_EINVAL, "no payload");
    json_decref(req);
}

int main(void)
{
    test_slugs();
    test_registration_ok();
    test_registration_rules();
    test_plugin_body();
    test_required();
    return done_testing();
}
