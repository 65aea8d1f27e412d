/*
 * The registry's configuration keys through the real loader: platform.base_url
 * (file, ACTIOND_PLATFORM_BASE_URL, --platform-base-url), plugins.* and the
 * platform.actions YAML mapping, handed over as JSON text and parsed into
 * the routing table.
 */
#include "base/alloc.h"
#include "config/config.h"
#include "plugin/plugin.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[256];

static void write_file(const char *text)
{
    FILE *f = fopen(path, "w");

    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        abort();
    }
}

/* Load with --config path plus `extra` flags and `envp`. */
static int load(struct act_config *cfg, const char *flag, const char *val, char *const *envp,
                struct act_err *err)
{
    char *argv[6] = {"actiond", "--config", path, NULL, NULL, NULL};
    int argc = 3;

    if (flag) {
        argv[argc++] = (char *)flag;
        argv[argc++] = (char *)val;
    }
    return act_config_load(cfg, argc, argv, envp, err);
}

static void test_defaults(struct act_config *cfg)
{
    char *env[] = {NULL};
    struct act_err err = {0};

    subtest("defaults");
    write_file("# nothing\n");
    is_int(load(cfg, NULL, NULL, env, &err), ACT_OK, "empty file");
    is_str(cfg->platform_base_url, "", "no base URL");
    is_str(cfg->platform_actions, "", "no route overrides");
    is_int(cfg->plugins_http_timeout_ms, 10000, "plugins.http_timeout_ms 10000");
    is_int((int)cfg->plugins_max_dispatch, 100, "plugins.max_dispatch_events 100");
}

static void test_yaml_mapping(struct act_config *cfg)
{
    char *env[] = {NULL};
    struct act_err err = {0};
    struct act_platform_table t = {0};
    const struct act_platform_route *r;

    subtest("platform.actions from YAML");
    write_file("platform:\n"
               "  base_url: http://127.0.0.1:5173\n"
               "  actions:\n"
               "    update_product: {method: PATCH, path: \"/v2/products/{id}\", require: id,\n"
               "                     message: \"Product ID required for update\"}\n"
               "    refund_order:\n"
               "      method: post\n"
               "      path: /api/orders/{id}/refunds\n"
               "      require: [id, amount]\n"
               "      timeout_ms: 2500\n"
               "      retry_policy: {max_retries: 0, jitter: false}\n"
               "    delete_product:\n"
               "plugins:\n"
               "  http_timeout_ms: 5000\n"
               "  max_dispatch_events: 7\n");
    is_int(load(cfg, NULL, NULL, env, &err), ACT_OK, "loads (%s)", err.msg);
    is_str(cfg->platform_base_url, "http://127.0.0.1:5173", "base URL from the file");
    is_int(cfg->plugins_http_timeout_ms, 5000, "http_timeout_ms from the file");
    is_int((int)cfg->plugins_max_dispatch, 7, "max_dispatch_events from the file");
    ok(cfg->platform_actions[0] == '{', "the mapping arrives as JSON text");
    is_int(act_platform_table_load(cfg->platform_actions, &t, &err), ACT_OK,
           "the routing table accepts it (%s)", err.msg);
    r = act_platform_table_find(&t, "update_product");
    ok(r && strcmp(r->method, "PATCH") == 0 && strcmp(r->path, "/v2/products/{id}") == 0,
       "override applied");
    r = act_platform_table_find(&t, "refund_order");
    ok(r && r->timeout_ms == 2500 && json_array_size(r->require) == 2, "added route, numbers "
                                                                       "kept as numbers");
    ok(r && json_is_false(json_object_get(r->retry_policy, "jitter")), "booleans kept");
    ok(act_platform_table_find(&t, "delete_product") == NULL, "an empty entry removes a route");
    act_platform_table_release(&t);
}

static void test_sources(struct act_config *cfg)
{
    char *env[] = {
        "ACTIOND_PLATFORM_BASE_URL=https://shop.internal:8443",
        "ACTIOND_PLATFORM_ACTIONS={\"ping\": {\"method\": \"GET\", \"path\": \"/ping\"}}", NULL};
    char *none[] = {NULL};
    struct act_err err = {0};

    subtest("environment and flags");
    write_file("platform: {base_url: \"http://file\"}\n");
    is_int(load(cfg, NULL, NULL, env, &err), ACT_OK, "env loads (%s)", err.msg);
    is_str(cfg->platform_base_url, "https://shop.internal:8443", "env beats the file");
    ok(strstr(cfg->platform_actions, "\"ping\"") != NULL, "ACTIOND_PLATFORM_ACTIONS as JSON");
    is_int(load(cfg, "--platform-base-url", "http://127.0.0.1:1", env, &err), ACT_OK, "flag");
    is_str(cfg->platform_base_url, "http://127.0.0.1:1", "the flag beats env");
    is_int(load(cfg, "--max-dispatch-events", "250", none, &err), ACT_OK, "dispatch cap flag");
    is_int((int)cfg->plugins_max_dispatch, 250, "--max-dispatch-events");
}

static void test_errors(struct act_config *cfg)
{
    char *none[] = {NULL};
    char *badenv[] = {"ACTIOND_PLATFORM_ACTIONS=[1,2]", NULL};
    struct act_err err = {0};

    subtest("errors");
    write_file("platform:\n  base_url: ftp://x\n");
    is_int(load(cfg, NULL, NULL, none, &err), ACT_EINVAL, "ftp base URL refused");
    is_str(err.field, "platform.base_url", "names the key");
    ok(strstr(err.msg, ":2:13") != NULL, "and the position (%s)", err.msg);
    write_file("platform:\n  actions: create_product\n");
    is_int(load(cfg, NULL, NULL, none, &err), ACT_EINVAL, "a scalar is not a mapping");
    is_str(err.field, "platform.actions", "names the key");
    write_file("platform:\n  actions: [a, b]\n");
    is_int(load(cfg, NULL, NULL, none, &err), ACT_EINVAL, "a sequence is not a mapping");
    write_file("");
    is_int(load(cfg, NULL, NULL, badenv, &err), ACT_EINVAL, "env JSON that is not an object");
    is_str(err.field, "platform.actions", "names the key");
    is_int(load(cfg, "--platform-base-url", "http:///nohost", none, &err), ACT_EINVAL,
           "URL without a host");
    write_file("plugins: {http_timeout_ms: 50}\n");
    is_int(load(cfg, NULL, NULL, none, &err), ACT_EINVAL, "timeout below 100 ms");
}

int main(void)
{
    struct act_config *cfg = act_xmalloc(sizeof(*cfg)); /* 70 KiB: not on the stack */

    snprintf(path, sizeof(path), "/tmp/act-plugin-conf-%ld.yaml", (long)getpid());
    test_defaults(cfg);
    test_yaml_mapping(cfg);
    test_sources(cfg);
    test_errors(cfg);
    unlink(path);
    act_free(cfg);
    return done_testing();
}
