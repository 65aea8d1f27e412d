/*
 * docs/openapi.json stays true to the code: every route of every resource
 * table is documented (method + path), and every documented operation is
 * served by some route.
 */
#include "api/api_internal.h"
#include "tap.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const struct act_api_route *routes;
    const size_t *n;
} tables[] = {
    {act_api_service_routes, &act_api_n_service_routes},
    {act_api_action_routes, &act_api_n_action_routes},
    {act_api_sub_routes, &act_api_n_sub_routes},
    {act_api_event_routes, &act_api_n_event_routes},
    {act_api_exec_routes, &act_api_n_exec_routes},
    {act_api_dead_routes, &act_api_n_dead_routes},
    {act_api_plugin_routes, &act_api_n_plugin_routes},
};

static void lower(const char *in, char *out, size_t len)
{
    size_t i = 0;
    for (; in[i] && i + 1 < len; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

static bool routed(const char *method, const char *path)
{
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (size_t i = 0; i < *tables[t].n; i++)
            if (strcmp(tables[t].routes[i].pattern, path) == 0 &&
                strcasecmp(tables[t].routes[i].method, method) == 0)
                return true;
    return false;
}

int main(void)
{
    json_error_t jerr;
    json_t *doc = json_load_file("docs/openapi.json", 0, &jerr), *paths, *item;
    const char *path, *method;
    size_t missing = 0, extra = 0;
    char m[16];

    if (!ok(doc != NULL, "docs/openapi.json parses (%s)", doc ? "ok" : jerr.text))
        return done_testing();
    paths = json_object_get(doc, "paths");
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        for (size_t i = 0; i < *tables[t].n; i++) {
            const struct act_api_route *r = &tables[t].routes[i];
            lower(r->method, m, sizeof(m));
            if (!json_object_get(json_object_get(paths, r->pattern), m)) {
                diag("undocumented route: %s %s", r->method, r->pattern);
                missing++;
            }
        }
    }
    is_int(missing, 0, "every route is in docs/openapi.json");
    json_object_foreach(paths, path, item)
    {
        json_t *op;
        json_object_foreach(item, method, op)
        {
            if (strcmp(method, "parameters") == 0 || strcmp(method, "summary") == 0)
                continue;
            if (!routed(method, path)) {
                diag("documented but not routed: %s %s", method, path);
                extra++;
            }
        }
    }
    is_int(extra, 0, "every documented operation is routed");
    json_decref(doc);
    return done_testing();
}
