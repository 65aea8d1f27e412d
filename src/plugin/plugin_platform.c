/*
 * The platform routing table: which platform API call each platform action
 * type makes.  This replaces the seed's hard-coded `switch` in
 * processAutomationEvent() with data.
 *
 * The table starts from the seed's 13 routes, with the seed's exact paths
 * and error messages, and the deployment's config file adds or overrides
 * entries (`platform.actions` in YAML, handed over as JSON text by the
 * config loader) or removes one (a null entry).  Entries are sorted by
 * action type, so lookups are a binary search and listings are stable.
 *
 * Invariant: every {name} placeholder of a route's path is in its
 * `require` list, so a call is never made with a hole in its URL.
 */
#include "plugin/plugin.h"

#include "base/alloc.h"
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 1024
#define MESSAGE_MAX 256

struct builtin {
    const char *type, *method, *path, *require, *message;
};

/* The seed's processAutomationEvent(), route for route. */
static const struct builtin builtins[] = {
    {"create_product", "POST", "/api/products", NULL, NULL},
    {"update_product", "PUT", "/api/products/{id}", "id", "Product ID required for update"},
    {"delete_product", "DELETE", "/api/products/{id}", "id", "Product ID required for deletion"},
    {"create_customer", "POST", "/api/customers", NULL, NULL},
    {"update_customer", "PUT", "/api/customers/{id}", "id", "Customer ID required for update"},
    {"create_order", "POST", "/api/orders", NULL, NULL},
    {"update_order_status", "PUT", "/api/orders/{id}/status", "id",
     "Order ID required for status update"},
    {"add_to_cart", "POST", "/api/mobile/cart/add", NULL, NULL},
    {"send_sms", "POST", "/api/notifications/sms", NULL, NULL},
    {"create_notification", "POST", "/api/notifications", NULL, NULL},
    {"create_task", "POST", "/api/tasks", NULL, NULL},
    {"assign_task", "PUT", "/api/tasks/{id}/assign", "id", "Task ID required for assignment"},
    {"send_email", "POST", "/api/notifications/email", NULL, NULL},
};

static void route_release(struct act_platform_route *r)
{
    act_free(r->action_type);
    act_free(r->method);
    act_free(r->path);
    act_free(r->message);
    json_decref(r->require);
    json_decref(r->retry_policy);
    memset(r, 0, sizeof(*r));
}

void act_platform_table_release(struct act_platform_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        route_release(&t->routes[i]);
    act_free(t->routes);
    t->routes = NULL;
    t->n = 0;
}

static bool type_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > ACT_PLUGIN_TYPE_MAX || strncmp(s, "__", 2) == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '-'))
            return false;
    return true;
}

/* Add every {name} of r->path to r->require.  ACT_EINVAL for a malformed
 * placeholder. */
static int path_placeholders(struct act_platform_route *r)
{
    const char *p = r->path;

    while ((p = strchr(p, '{')) != NULL) {
        const char *end = strchr(p, '}');
        json_t *name;
        bool have = false;
        size_t i;
        json_t *v;

        if (!end || end == p + 1)
            return ACT_EINVAL;
        for (const char *c = p + 1; c < end; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '_'))
                return ACT_EINVAL;
        name = json_stringn(p + 1, (size_t)(end - p - 1));
        json_array_foreach(r->require, i, v) have = have || json_equal(v, name);
        if (!have)
            json_array_append(r->require, name);
        json_decref(name);
        p = end + 1;
    }
    return ACT_OK;
}

static int entry_fail(struct act_err *err, const char *type, const char *member, const char *msg)
{
    char field[96];
    int n;

    if (member)
        n = snprintf(field, sizeof(field), "platform.actions.%.40s.%.30s", type, member);
    else
        n = snprintf(field, sizeof(field), "platform.actions.%.40s", type);
    (void)n;
    return act_err_field(err, ACT_EINVAL, field, "invalid %s: %s", field, msg);
}

static int get_method(const json_t *v, struct act_platform_route *r, struct act_err *err)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    const char *m = json_string_value(json_object_get(v, "method"));

    for (size_t i = 0; m && i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcasecmp(m, methods[i]) == 0) {
            r->method = act_xstrdup(methods[i]);
            return ACT_OK;
        }
    }
    return entry_fail(err, r->action_type, "method",
                      m ? "expected GET, POST, PUT, PATCH or DELETE" : "is required (a string)");
}

static int get_require(const json_t *v, struct act_platform_route *r, struct act_err *err)
{
    json_t *req = json_object_get(v, "require"), *msg = json_object_get(v, "message");
    size_t i;
    json_t *f;

    r->require = json_array();
    if (json_is_string(req)) {
        json_array_append(r->require, req);
    } else if (json_is_array(req)) {
        json_array_foreach(req, i, f)
        {
            if (!json_is_string(f) || json_string_length(f) == 0)
                return entry_fail(err, r->action_type, "require", "expected field names");
            json_array_append(r->require, f);
        }
    } else if (req && !json_is_null(req)) {
        return entry_fail(err, r->action_type, "require", "expected a field name or a list");
    }
    if (msg && !json_is_null(msg)) {
        if (!json_is_string(msg) || json_string_length(msg) == 0 ||
            json_string_length(msg) > MESSAGE_MAX)
            return entry_fail(err, r->action_type, "message", "expected a non-empty string");
        r->message = act_xstrdup(json_string_value(msg));
    }
    return ACT_OK;
}

/* retry_policy / timeout_ms: judged by the model as for any action. */
static int get_policy(const json_t *v, struct act_platform_route *r, struct act_err *err)
{
    json_t *rp = json_object_get(v, "retry_policy"), *to = json_object_get(v, "timeout_ms");
    json_t *probe = json_pack("{s:s, s:{s:s}}", "name", "probe", "handler", "kind", "noop");
    json_t *norm = NULL;
    struct act_err merr = {0};
    int rc;

    if (rp && !json_is_null(rp))
        json_object_set(probe, "retry_policy", rp);
    if (to && !json_is_null(to))
        json_object_set(probe, "timeout_ms", to);
    rc = act_action_normalize(probe, NULL, &norm, &merr);
    json_decref(probe);
    if (rc < 0) {
        json_decref(norm);
        return entry_fail(err, r->action_type, merr.field, merr.msg);
    }
    if (rp && !json_is_null(rp))
        r->retry_policy = json_incref(json_object_get(norm, "retry_policy"));
    if (to && !json_is_null(to))
        r->timeout_ms = json_integer_value(json_object_get(norm, "timeout_ms"));
    json_decref(norm);
    return ACT_OK;
}

static int entry_parse(const char *type, const json_t *v, struct act_platform_route *r,
                       struct act_err *err)
{
    static const char *const members[] = {"method",  "path",         "require",
                                          "message", "retry_policy", "timeout_ms"};
    const char *k;
    json_t *m;
    const char *path;

    r->action_type = act_xstrdup(type);
    if (!type_ok(type))
        return entry_fail(err, type, NULL, "an action type matches ^[a-z0-9_-]+$ (at most 56)");
    if (!json_is_object(v))
        return entry_fail(err, type, NULL, "expected a mapping {method, path, ...} or null");
    json_object_foreach((json_t *)v, k, m)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
            known = known || strcmp(k, members[i]) == 0;
        if (!known)
            return entry_fail(err, type, k, "unknown member");
    }
    if (get_method(v, r, err) < 0)
        return ACT_EINVAL;
    path = json_string_value(json_object_get(v, "path"));
    if (!path || path[0] != '/' || strlen(path) > PATH_MAX_LEN || strpbrk(path, " \t\r\n#"))
        return entry_fail(err, type, "path", "expected a path starting with '/', no blanks");
    r->path = act_xstrdup(path);
    if (get_require(v, r, err) < 0 || get_policy(v, r, err) < 0)
        return ACT_EINVAL;
    if (path_placeholders(r) < 0)
        return entry_fail(err, type, "path", "placeholders are {name} with letters, digits, _");
    return ACT_OK;
}

static void builtin_route(const struct builtin *b, struct act_platform_route *r)
{
    memset(r, 0, sizeof(*r));
    r->action_type = act_xstrdup(b->type);
    r->method = act_xstrdup(b->method);
    r->path = act_xstrdup(b->path);
    r->require = json_array();
    if (b->require)
        json_array_append_new(r->require, json_string(b->require));
    r->message = b->message ? act_xstrdup(b->message) : NULL;
    (void)path_placeholders(r);
}

static long table_index(const struct act_platform_table *t, const char *type)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->routes[i].action_type, type) == 0)
            return (long)i;
    return -1;
}

static int cmp_route(const void *a, const void *b)
{
    return strcmp(((const struct act_platform_route *)a)->action_type,
                  ((const struct act_platform_route *)b)->action_type);
}

/* Apply one config entry to the table: add, replace or (null) remove. */
static int table_apply(struct act_platform_table *t, const char *type, const json_t *v,
                       struct act_err *err)
{
    long at = table_index(t, type);
    struct act_platform_route r = {0};

    if (json_is_null(v)) {
        if (at >= 0) {
            route_release(&t->routes[at]);
            t->routes[at] = t->routes[--t->n];
        }
        return ACT_OK;
    }
    if (entry_parse(type, v, &r, err) < 0) {
        route_release(&r);
        return ACT_EINVAL;
    }
    if (at >= 0) {
        route_release(&t->routes[at]);
        t->routes[at] = r;
    } else {
        t->routes = act_xrealloc(t->routes, (t->n + 1) * sizeof(*t->routes));
        t->routes[t->n++] = r;
    }
    return ACT_OK;
}

int act_platform_table_load(const char *json_text, struct act_platform_table *t,
                            struct act_err *err)
{
    size_t nb = sizeof(builtins) / sizeof(builtins[0]);
    json_t *conf = NULL, *v;
    json_error_t jerr;
    const char *type;
    int rc = ACT_OK;

    t->routes = act_xcalloc(nb, sizeof(*t->routes));
    t->n = nb;
    for (size_t i = 0; i < nb; i++)
        builtin_route(&builtins[i], &t->routes[i]);
    if (json_text && *json_text) {
        conf = json_loads(json_text, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(conf) && !json_is_null(conf)) {
            rc = act_err_field(err, ACT_EINVAL, "platform.actions",
                               "invalid platform.actions: expected a mapping of action types%s%s",
                               conf ? "" : ": ", conf ? "" : jerr.text);
            goto out;
        }
        json_object_foreach(conf, type, v)
        {
            if ((rc = table_apply(t, type, v, err)) < 0)
                goto out;
        }
    }
    qsort(t->routes, t->n, sizeof(*t->routes), cmp_route);
out:
    json_decref(conf);
    if (rc < 0)
        act_platform_table_release(t);
    return rc;
}

const struct act_platform_route *act_platform_table_find(const struct act_platform_table *t,
                                                         const char *action_type)
{
    struct act_platform_route key = {.action_type = (char *)action_type};

    if (!action_type || !t->n)
        return NULL;
    return bsearch(&key, t->routes, t->n, sizeof(*t->routes), cmp_route);
}

int act_platform_route_check(const struct act_platform_route *r, const json_t *payload,
                             struct act_err *err)
{
    size_t i;
    json_t *f;

    json_array_foreach(r->require, i, f)
    {
        const char *name = json_string_value(f);
        json_t *v = json_object_get(payload, name);
        char field[160];

        if (v && !json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0))
            continue;
        snprintf(field, sizeof(field), "payload.%s", name);
        if (r->message)
            return act_err_field(err, ACT_EINVAL, field, "%s", r->message);
        return act_err_field(err, ACT_EINVAL, field, "Missing required field: %s for action %s",
                             name, r->action_type);
    }
    return ACT_OK;
}
