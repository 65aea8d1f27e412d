/*
 * The platform routing table: the seed's 13 built-in routes with their
 * exact paths and messages, configuration overrides, additions and
 * removals, the errors of a bad table, and the required-field checks.
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

struct expect {
    const char *type, *method, *path, *message;
};

/* The seed's processAutomationEvent(), case by case. */
static const struct expect seed[] = {
    {"create_product", "POST", "/api/products", NULL},
    {"update_product", "PUT", "/api/products/{id}", "Product ID required for update"},
    {"delete_product", "DELETE", "/api/products/{id}", "Product ID required for deletion"},
    {"create_customer", "POST", "/api/customers", NULL},
    {"update_customer", "PUT", "/api/customers/{id}", "Customer ID required for update"},
    {"create_order", "POST", "/api/orders", NULL},
    {"update_order_status", "PUT", "/api/orders/{id}/status",
     "Order ID required for status update"},
    {"add_to_cart", "POST", "/api/mobile/cart/add", NULL},
    {"send_sms", "POST", "/api/notifications/sms", NULL},
    {"create_notification", "POST", "/api/notifications", NULL},
    {"create_task", "POST", "/api/tasks", NULL},
    {"assign_task", "PUT", "/api/tasks/{id}/assign", "Task ID required for assignment"},
    {"send_email", "POST", "/api/notifications/email", NULL},
};

static void check_msg(const struct act_platform_route *r, const char *payload, int want_rc,
                      const char *want_msg, const char *name)
{
    json_t *p = J(payload);
    struct act_err err = {0};

    is_int(act_platform_route_check(r, p, &err), want_rc, "%s: outcome", name);
    if (want_msg)
        is_str(err.msg, want_msg, "%s: message", name);
    json_decref(p);
}

static void test_builtins(void)
{
    struct act_platform_table t = {0};
    struct act_err err = {0};
    const struct act_platform_route *r;

    subtest("built-in routes");
    is_int(act_platform_table_load(NULL, &t, &err), ACT_OK, "loads without config");
    is_int((int)t.n, 13, "13 routes");
    for (size_t i = 0; i < sizeof(seed) / sizeof(seed[0]); i++) {
        r = act_platform_table_find(&t, seed[i].type);
        if (!ok(r != NULL, "%s present", seed[i].type))
            continue;
        is_str(r->method, seed[i].method, "%s method", seed[i].type);
        is_str(r->path, seed[i].path, "%s path", seed[i].type);
        if (seed[i].message) {
            check_msg(r, "{\"name\": \"x\"}", ACT_EINVAL, seed[i].message, seed[i].type);
            check_msg(r, "{\"id\": null}", ACT_EINVAL, seed[i].message, seed[i].type);
            check_msg(r, "{\"id\": \"\"}", ACT_EINVAL, seed[i].message, seed[i].type);
            check_msg(r, "{\"id\": 42}", ACT_OK, NULL, seed[i].type);
        } else {
            check_msg(r, "{}", ACT_OK, NULL, seed[i].type);
        }
    }
    ok(act_platform_table_find(&t, "send_welcome_email") == NULL, "a plugin type is not platform");
    ok(act_platform_table_find(&t, NULL) == NULL, "NULL type");
    act_platform_table_release(&t);
    is_int((int)t.n, 0, "released");
}

static void test_overrides(void)
{
    struct act_platform_table t = {0};
    struct act_err err = {0};
    const struct act_platform_route *r;
    const char *conf =
        "{\"update_product\": {\"method\": \"patch\", \"path\": \"/v2/products/{id}\","
        "  \"require\": \"id\", \"message\": \"need an id\"},"
        " \"delete_product\": null,"
        " \"refund_order\": {\"method\": \"POST\", \"path\": "
        "\"/api/orders/{order_id}/refunds/{kind}\","
        "  \"require\": [\"amount\"], \"timeout_ms\": 2500, \"retry_policy\": {\"max_retries\": "
        "0}}}";

    subtest("configuration overrides");
    is_int(act_platform_table_load(conf, &t, &err), ACT_OK, "loads (%s)", err.msg);
    is_int((int)t.n, 13, "13 - 1 removed + 1 added");
    r = act_platform_table_find(&t, "update_product");
    is_str(r->method, "PATCH", "method overridden and upper-cased");
    is_str(r->path, "/v2/products/{id}", "path overridden");
    check_msg(r, "{}", ACT_EINVAL, "need an id", "override message");
    ok(act_platform_table_find(&t, "delete_product") == NULL, "null removes a route");
    r = act_platform_table_find(&t, "refund_order");
    if (ok(r != NULL, "route added")) {
        is_int((int)json_array_size(r->require), 3, "require + both placeholders");
        is_int((int)r->timeout_ms, 2500, "timeout_ms");
        is_int((int)json_integer_value(json_object_get(r->retry_policy, "max_retries")), 0,
               "retry_policy normalized");
        check_msg(r, "{\"amount\": 1, \"order_id\": \"o\"}", ACT_EINVAL,
                  "Missing required field: kind for action refund_order",
                  "placeholder required, generic message");
        check_msg(r, "{\"amount\": 1, \"order_id\": \"o\", \"kind\": \"full\"}", ACT_OK, NULL,
                  "all present");
    }
    ok(act_platform_table_find(&t, "create_product") != NULL, "others kept");
    act_platform_table_release(&t);
}

static void bad_table(const char *conf, const char *field, const char *name)
{
    struct act_platform_table t = {0};
    struct act_err err = {0};

    is_int(act_platform_table_load(conf, &t, &err), ACT_EINVAL, "%s: refused", name);
    is_str(err.field, field, "%s: field (%s)", name, err.msg);
    ok(t.n == 0 && t.routes == NULL, "%s: nothing left allocated", name);
}

static void test_errors(void)
{
    subtest("bad tables");
    bad_table("[1]", "platform.actions", "not a mapping");
    bad_table("{\"x\":", "platform.actions", "not JSON");
    bad_table("{\"Bad Type\": {\"method\": \"GET\", \"path\": \"/x\"}}",
              "platform.actions.Bad Type", "bad action type");
    bad_table("{\"x\": 5}", "platform.actions.x", "entry not a mapping");
    bad_table("{\"x\": {\"path\": \"/x\"}}", "platform.actions.x.method", "no method");
    bad_table("{\"x\": {\"method\": \"FETCH\", \"path\": \"/x\"}}", "platform.actions.x.method",
              "bad method");
    bad_table("{\"x\": {\"method\": \"GET\"}}", "platform.actions.x.path", "no path");
    bad_table("{\"x\": {\"method\": \"GET\", \"path\": \"x\"}}", "platform.actions.x.path",
              "relative path");
    bad_table("{\"x\": {\"method\": \"GET\", \"path\": \"/a/{b c}\"}}", "platform.actions.x.path",
              "bad placeholder");
    bad_table("{\"x\": {\"method\": \"GET\", \"path\": \"/a/{b\"}}", "platform.actions.x.path",
              "unclosed placeholder");
    bad_table("{\"x\": {\"method\": \"GET\", \"path\": \"/a\", \"require\": 5}}",
              "platform.actions.x.require", "require a number");
    bad_table("{\"x\": {\"method\": \"GET\", \"path\": \"/a\", \"message\": \"\"}}",
              "platform.actions.x.message", "empty message");
    bad_table("{\"x\": {\"method\": \"GET\", \"path\": \"/a\", \"verb\": \"x\"}}",
              "platform.actions.x.verb", "unknown member");
    bad_table("{\"x\": {\"method\": \"GET\", \"path\": \"/a\", \"retry_policy\": "
              "{\"max_retries\": 1000}}}",
              "platform.actions.x.retry_policy.max_retries", "retry policy judged by the model");
}

int main(void)
{
    test_builtins();
    test_overrides();
    test_errors();
    return done_testing();
}
