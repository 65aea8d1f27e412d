/*
 * The registry on a real engine in a temporary data directory: plugin
 * CRUD and secrets, registration replacing the set atomically (a bad
 * request changes nothing), the core actions behind plugins and platform
 * routes, dispatcher resolution (plugin_id, platform, single-plugin
 * fallback, ambiguity, inactive plugins, required fields, the batch cap),
 * webhook subscriptions and persistence across a reopen.
 *
 * Plugin endpoints point at a closed loopback port: these tests look at
 * resolution and bookkeeping, not at HTTP (the integration test does).
 */
#include "base/alloc.h"
#include "engine/engine.h"
#include "handler/secret_box.h"
#include "plugin/plugin.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PID1 "87312788-df51-4002-8eca-9cfc3e3f7d8e"
#define DEAD_URL "http://127.0.0.1:9"

static char data_dir[256];

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

static struct act_engine *open_engine(void)
{
    struct act_engine_conf conf = {.data_dir = data_dir,
                                   .sync_full = false,
                                   .workers = 2,
                                   .lease_grace_ms = 2000,
                                   .drain_timeout_ms = 2000};
    struct act_engine *e = NULL;
    struct act_err err = {0};

    if (act_engine_open(&conf, &e, &err) < 0) {
        fprintf(stderr, "open: %s\n", err.msg);
        abort();
    }
    return e;
}

static struct act_plugins *open_registry(struct act_engine *e)
{
    struct act_plugins_conf pc = {.http_timeout_ms = 1000, .max_dispatch_events = 5};
    struct act_plugins *p = NULL;
    struct act_err err = {0};

    if (act_plugins_open(e, &pc, &p, &err) < 0) {
        fprintf(stderr, "plugins: %s (%s)\n", err.msg, err.field);
        abort();
    }
    return p;
}

/* How many core actions have names starting with `prefix`. */
static int count_actions(struct act_engine *e, const char *prefix)
{
    struct act_query q = {.q = prefix, .limit = "1000"};
    struct act_err err = {0};
    json_t *out = NULL, *it;
    size_t i;
    int n = 0;

    if (act_engine_action_list(e, &q, &out, &err) < 0)
        return -1;
    json_array_foreach(json_object_get(out, "items"), i, it) n +=
        strncmp(json_string_value(json_object_get(it, "name")), prefix, strlen(prefix)) == 0;
    json_decref(out);
    return n;
}

static int create(struct act_plugins *p, const char *body, json_t **out, struct act_err *err)
{
    json_t *b = J(body);
    int rc = act_plugins_create(p, b, out, err);
    json_decref(b);
    return rc;
}

static int reg(struct act_plugins *p, const char *slug, const char *body, struct act_err *err)
{
    json_t *b = J(body), *out = NULL;
    int rc = act_plugins_register_actions(p, slug, b, &out, err);
    json_decref(out);
    json_decref(b);
    return rc;
}

/* Dispatch one event in async mode; returns the result entry (new ref). */
static json_t *dispatch1(struct act_plugins *p, const char *event)
{
    char body[1024];
    json_t *b, *out = NULL, *r;
    struct act_err err = {0};

    snprintf(body, sizeof(body), "{\"flow_execution_id\": \"t\", \"events\": [%s]}", event);
    b = J(body);
    if (act_plugins_dispatch(p, b, true, &out, &err) < 0) {
        fprintf(stderr, "dispatch: %s\n", err.msg);
        abort();
    }
    r = json_incref(json_array_get(json_object_get(out, "results"), 0));
    json_decref(out);
    json_decref(b);
    return r;
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "(null)";
}

static void test_crud(struct act_engine *e, struct act_plugins *p)
{
    struct act_err err = {0};
    json_t *out = NULL, *stored = NULL;
    const char *secret;

    subtest("plugins: create, secrets, conflicts");
    is_int(count_actions(e, "platform."), 13, "13 platform core actions");
    is_int(create(p,
                  "{\"id\": \"" PID1 "\", \"name\": \"Email Automation Plugin\","
                  " \"slug\": \"email-automation\", \"api_endpoint\": \"" DEAD_URL "\","
                  " \"api_key\": \"key-0123456789abcdef\"}",
                  &out, &err),
           ACT_OK, "created (%s)", err.msg);
    is_str(str(out, "id"), PID1, "client-supplied id kept");
    secret = str(out, "secret");
    ok(strncmp(secret, "whsec_", 6) == 0 && strlen(secret) > 40, "secret shown in full once");
    ok(strstr(str(out, "api_key"), "\xe2\x80\xa6") != NULL, "api_key masked");
    is_str(str(out, "tenant_id"), ACT_PLUGIN_DEFAULT_TENANT, "default tenant");
    json_decref(out);
    is_int(act_engine_doc_get(e, "plugin", PID1, &stored, &err), ACT_OK, "stored");
    ok(act_secret_is_sealed(str(stored, "secret")), "secret sealed at rest");
    ok(act_secret_is_sealed(str(stored, "api_key")), "api_key sealed at rest");
    json_decref(stored);
    is_int(act_plugins_get(p, "email-automation", &out, &err), ACT_OK, "get");
    ok(strstr(str(out, "secret"), "\xe2\x80\xa6") != NULL, "secret masked afterwards");
    json_decref(out);
    is_int(create(p, "{\"name\": \"X\", \"slug\": \"email-automation\"}", &out, &err),
           ACT_ECONFLICT, "duplicate slug");
    is_str(err.field, "slug", "field slug");
    is_int(create(p, "{\"id\": \"" PID1 "\", \"name\": \"X\", \"slug\": \"other\"}", &out, &err),
           ACT_ECONFLICT, "duplicate id");
    is_str(err.field, "id", "field id");
    is_int(act_plugins_get(p, "nope", &out, &err), ACT_ENOTFOUND, "unknown slug");
}

static void test_register(struct act_engine *e, struct act_plugins *p)
{
    struct act_err err = {0};
    json_t *out = NULL, *list;
    char before[64], after[64];

    subtest("register-actions replaces the set, atomically");
    is_int(reg(p, "email-automation",
               "{\"actions\": [{\"action_type\": \"a\", \"title\": \"A\", \"required_fields\": []},"
               " {\"action_type\": \"b\", \"title\": \"B\", \"required_fields\": [\"x\"],"
               "  \"category\": \"email\"}]}",
               &err),
           ACT_OK, "registered a, b (%s)", err.msg);
    is_int(count_actions(e, "plugin.email-automation."), 2, "two core actions");
    act_plugins_get(p, "email-automation", &out, &err);
    list = json_object_get(json_object_get(out, "registered_actions"), "actions");
    snprintf(before, sizeof(before), "%s", str(json_array_get(list, 1), "action_id"));
    json_decref(out);

    is_int(reg(p, "email-automation",
               "{\"actions\": [{\"action_type\": \"c\", \"title\": \"C\", \"required_fields\": []},"
               " {\"action_type\": \"b\", \"title\": 5, \"required_fields\": []}]}",
               &err),
           ACT_EINVAL, "an invalid second action rejects the request");
    is_str(err.field, "actions[1].title", "naming action and field");
    is_int(count_actions(e, "plugin.email-automation."), 2, "no core action changed");
    ok(count_actions(e, "plugin.email-automation.c") == 0, "c was not created");

    is_int(
        reg(p, "email-automation",
            "{\"actions\": [{\"action_type\": \"b\", \"title\": \"B2\", \"required_fields\": []},"
            " {\"action_type\": \"c\", \"title\": \"C\", \"required_fields\": []}]}",
            &err),
        ACT_OK, "registered b, c");
    is_int(count_actions(e, "plugin.email-automation."), 2, "a removed, c added");
    is_int(count_actions(e, "plugin.email-automation.a"), 0, "a gone");
    act_plugins_get(p, "email-automation", &out, &err);
    list = json_object_get(json_object_get(out, "registered_actions"), "actions");
    snprintf(after, sizeof(after), "%s", str(json_array_get(list, 0), "action_id"));
    is_str(after, before, "b kept its core action id");
    is_str(str(json_array_get(list, 0), "title"), "B2", "b updated");
    json_decref(out);
    is_int(reg(p, "nope", "{\"actions\": []}", &err), ACT_ENOTFOUND, "unknown slug: 404");
}

static void test_resolution(struct act_plugins *p)
{
    struct act_err err = {0};
    json_t *r, *out = NULL, *b;

    subtest("dispatcher resolution");
    r = dispatch1(p, "{\"action_type\": \"c\", \"payload\": {}}");
    is_str(str(r, "plugin_id"), PID1, "single plugin found without plugin_id");
    ok(json_is_string(json_object_get(r, "execution_id")), "execution started");
    json_decref(r);
    r = dispatch1(p, "{\"action_type\": \"b\", \"plugin_id\": \"" PID1 "\", \"payload\": {}}");
    ok(json_is_string(json_object_get(r, "execution_id")), "with plugin_id");
    json_decref(r);
    r = dispatch1(
        p, "{\"action_type\": \"b\", \"plugin_id\": \"00000000-0000-0000-0000-000000000000\"}");
    is_str(str(r, "error"),
           "Plugin action not found: b for plugin 00000000-0000-0000-0000-000000000000",
           "unknown plugin_id");
    ok(json_is_null(json_object_get(r, "execution_id")), "nothing started");
    json_decref(r);
    r = dispatch1(p, "{\"action_type\": \"zzz\"}");
    is_str(str(r, "error"), "Unknown action type: zzz", "unknown type");
    json_decref(r);
    r = dispatch1(p, "{\"action_type\": \"update_product\", \"payload\": {\"name\": \"n\"}}");
    is_str(str(r, "error"), "Product ID required for update", "platform require");
    json_decref(r);
    r = dispatch1(p, "{\"action_type\": \"create_product\", \"payload\": {\"name\": \"n\"}}");
    ok(json_is_string(json_object_get(r, "execution_id")), "platform action started");
    ok(json_object_get(r, "plugin_id") == NULL, "no plugin_id for platform");
    json_decref(r);
    r = dispatch1(p, "{\"action_type\": \"c\", \"payload\": [1]}");
    is_str(str(r, "error"), "payload must be an object", "payload type");
    json_decref(r);

    is_int(create(p,
                  "{\"name\": \"Other\", \"slug\": \"other\", \"api_endpoint\": \"" DEAD_URL "\","
                  " \"registered_actions\": {\"actions\": [{\"action_type\": \"c\","
                  " \"title\": \"C\", \"required_fields\": [\"who\"]}]}}",
                  &out, &err),
           ACT_OK, "second plugin registering c at creation (%s)", err.msg);
    json_decref(out);
    r = dispatch1(p, "{\"action_type\": \"c\", \"payload\": {}}");
    ok(strstr(str(r, "error"), "registered by several plugins") &&
           strstr(str(r, "error"), "email-automation") && strstr(str(r, "error"), "other") &&
           strstr(str(r, "error"), "plugin_id"),
       "ambiguous: names both and asks for plugin_id (%s)", str(r, "error"));
    json_decref(r);
    b = J("{\"status\": \"inactive\"}");
    is_int(act_plugins_update(p, "email-automation", b, true, &out, &err), ACT_OK,
           "deactivate email-automation");
    json_decref(out);
    json_decref(b);
    r = dispatch1(p, "{\"action_type\": \"c\", \"payload\": {}}");
    is_str(str(r, "error"), "Missing required field: who for action c",
           "inactive plugin ignored: 'other' resolved, its required field checked");
    json_decref(r);
    r = dispatch1(p, "{\"action_type\": \"b\", \"plugin_id\": \"" PID1 "\"}");
    ok(strstr(str(r, "error"), "Plugin action not found") != NULL, "inactive: not found by id");
    json_decref(r);
    b = J("{\"status\": \"active\"}");
    is_int(act_plugins_update(p, "email-automation", b, true, &out, &err), ACT_OK, "reactivate");
    json_decref(out);
    json_decref(b);

    b = J("{\"events\": [{}, {}, {}, {}, {}, {}]}");
    is_int(act_plugins_dispatch(p, b, true, &out, &err), ACT_ETOOBIG, "over the cap: 413");
    is_str(err.field, "events", "field events");
    json_decref(b);
    b = J("{\"events\": {}}");
    is_int(act_plugins_dispatch(p, b, false, &out, &err), ACT_EINVAL, "events not an array");
    json_decref(b);
    b = J("{\"flow_execution_id\": 5, \"events\": []}");
    is_int(act_plugins_dispatch(p, b, false, &out, &err), ACT_EINVAL, "flow id not a string");
    is_str(err.field, "flow_execution_id", "field flow_execution_id");
    json_decref(b);
}

static void test_webhook(struct act_engine *e, struct act_plugins *p)
{
    struct act_err err = {0};
    json_t *out = NULL, *b, *subs = NULL;
    struct act_query q = {0};
    int n0;

    subtest("webhook subscription follows the plugin");
    act_engine_sub_list(e, &q, &subs, &err);
    n0 = (int)json_array_size(json_object_get(subs, "items"));
    json_decref(subs);
    b = J("{\"webhook_url\": \"" DEAD_URL "/hook\", \"events\": [\"orders.*\"]}");
    is_int(act_plugins_update(p, "other", b, true, &out, &err), ACT_OK, "webhook set (%s)",
           err.msg);
    json_decref(out);
    json_decref(b);
    is_int(count_actions(e, "plugin.other.__webhook"), 1, "webhook core action");
    act_engine_sub_list(e, &q, &subs, &err);
    is_int((int)json_array_size(json_object_get(subs, "items")), n0 + 1, "one subscription");
    json_decref(subs);
    b = J("{\"type\": \"orders.created\", \"data\": {\"id\": 1}}");
    is_int(act_plugins_event_ingest(p, b, &out, &err), ACT_OK, "event ingested");
    is_int((int)json_array_size(json_object_get(out, "deliveries")), 1, "one delivery");
    is_str(str(json_array_get(json_object_get(out, "deliveries"), 0), "plugin_slug"), "other",
           "to the subscribed plugin");
    json_decref(out);
    json_decref(b);
    b = J("{\"type\": \"users.created\"}");
    is_int(act_plugins_event_ingest(p, b, &out, &err), ACT_OK, "unmatched event ingested");
    is_int((int)json_array_size(json_object_get(out, "deliveries")), 0, "no delivery");
    json_decref(out);
    json_decref(b);
    b = J("{\"events\": []}");
    is_int(act_plugins_update(p, "other", b, true, &out, &err), ACT_OK, "events cleared");
    json_decref(out);
    json_decref(b);
    is_int(count_actions(e, "plugin.other.__webhook"), 0, "webhook action removed");
    act_engine_sub_list(e, &q, &subs, &err);
    is_int((int)json_array_size(json_object_get(subs, "items")), n0, "subscription removed");
    json_decref(subs);
}

static void test_update_rules(struct act_plugins *p)
{
    struct act_err err = {0};
    json_t *out = NULL, *b;

    subtest("updates");
    b = J("{\"slug\": \"renamed\"}");
    is_int(act_plugins_update(p, "other", b, true, &out, &err), ACT_EINVAL, "slug is fixed");
    is_str(err.field, "slug", "field slug");
    json_decref(b);
    b = J("{\"id\": \"" PID1 "\", \"name\": \"Email Automation Plugin\","
          " \"api_endpoint\": \"" DEAD_URL "/v2\", \"secret\": \"whsec_\xe2\x80\xa6"
          "abcd\"}");
    is_int(act_plugins_update(p, NULL, b, false, &out, &err), ACT_OK,
           "PUT /api/plugins by body id, masked secret sent back (%s)", err.msg);
    is_str(str(out, "api_endpoint"), DEAD_URL "/v2", "endpoint replaced");
    ok(json_object_get(out, "secret") && strstr(str(out, "secret"), "\xe2\x80\xa6"),
       "secret kept (still masked)");
    is_int((int)json_array_size(
               json_object_get(json_object_get(out, "registered_actions"), "actions")),
           2, "registered actions kept by PUT");
    json_decref(out);
    json_decref(b);
    b = J("{\"name\": \"x\"}");
    is_int(act_plugins_update(p, NULL, b, true, &out, &err), ACT_EINVAL, "no id or slug");
    json_decref(b);
}

int main(void)
{
    struct act_engine *e;
    struct act_plugins *p;
    struct act_err err = {0};
    json_t *out = NULL;

    snprintf(data_dir, sizeof(data_dir), "/tmp/act-plugin-test-%ld", (long)getpid());
    mkdir(data_dir, 0700);
    if (act_secret_box_init(data_dir, &err) < 0) {
        fprintf(stderr, "secret box: %s\n", err.msg);
        return 1;
    }
    e = open_engine();
    p = open_registry(e);
    ok(act_plugins_current() == p, "process registry set");
    test_crud(e, p);
    test_register(e, p);
    test_resolution(p);
    test_webhook(e, p);
    test_update_rules(p);

    subtest("persistence");
    act_plugins_close(p);
    ok(act_plugins_current() == NULL, "process registry cleared");
    act_engine_close(e);
    e = open_engine();
    p = open_registry(e);
    is_int(act_plugins_list(p, NULL, &out, &err), ACT_OK, "list after reopen");
    is_int((int)json_integer_value(json_object_get(out, "count")), 2, "two plugins");
    json_decref(out);
    is_int(count_actions(e, "platform."), 13, "platform actions not duplicated");
    is_int(count_actions(e, "plugin.email-automation."), 2, "plugin actions not duplicated");
    is_int(act_plugins_delete(p, "email-automation", &err), ACT_OK, "delete");
    is_int(count_actions(e, "plugin.email-automation."), 0, "its core actions are gone");
    is_int(act_plugins_delete(p, "email-automation", &err), ACT_ENOTFOUND, "delete twice");
    act_plugins_close(p);
    act_engine_close(e);
    act_secret_box_release();
    {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", data_dir);
        if (system(cmd) != 0)
            diag("could not remove %s", data_dir);
    }
    return done_testing();
}
