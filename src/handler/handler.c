/*
 * The handler registry: a fixed, ordered table of kinds (noop, echo, command,
 * native, plugin, platform), lookup by name, the top-level validation of an
 * action's `handler` object, the GET /v1/handlers description, and the small
 * helpers every kind shares (result release, one-line error messages,
 * compact JSON dumps).
 *
 * Invariants: the table is constant data, so every function here is safe from
 * any thread without locking.  The capability and schema texts of every kind
 * are valid JSON; act_handler_describe() treats a parse failure as a bug.
 */
#include "handler/handler.h"
#include "base/alloc.h"
#include "handler/handler_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const struct act_handler_ops *const registry[] = {
    &act_handler_noop_ops,
    &act_handler_echo_ops,
    &act_handler_command_ops,
    &act_handler_native_ops,
    &act_handler_plugin_ops,
    &act_handler_platform_ops,
    &act_handler_lua_ops,
    &act_handler_sql_ops,
    &act_handler_webhook_ops,
    &act_handler_email_ops,
    &act_handler_javascript_ops,
    &act_handler_python_ops,
    &act_handler_docker_ops,
    &act_handler_sms_ops,
    &act_handler_slack_ops,
    &act_handler_push_ops,
    &act_handler_graphql_ops,
    &act_handler_external_api_ops,
    &act_handler_serverless_aws_ops,
    &act_handler_serverless_azure_ops,
    NULL,
};

/* Seed 1's kinds that wait for a later issue: GET /v1/handlers shows them
 * with "available": false and the reason; act_handler_validate() rejects
 * them with the same reason. */
static const struct {
    const char *kind, *reason;
} planned[] = {
    {"grpc", "not built yet: needs protobuf descriptors and an HTTP/2 client (planned)"},
    {"web3", "not built yet: needs a JSON-RPC signer for blockchain transactions (planned)"},
};

const struct act_handler_ops *act_handler_find(const char *kind)
{
    if (!kind)
        return NULL;
    for (size_t i = 0; registry[i]; i++)
        if (strcmp(registry[i]->kind, kind) == 0)
            return registry[i];
    return NULL;
}

const struct act_handler_ops *const *act_handler_all(void)
{
    return registry;
}

int act_handler_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    const struct act_handler_ops *ops;
    const json_t *kind;

    /* Wrong shapes are malformed input (400); a kind we do not know, or a
     * spec the kind rejects, is well-formed but unprocessable (422). */
    if (!json_is_object(handler))
        return act_err_field(err, ACT_EINVAL, "handler", "handler must be an object");
    kind = json_object_get(handler, "kind");
    if (!kind)
        return act_err_field(err, ACT_EINVAL, "handler.kind", "handler kind is required");
    if (!json_is_string(kind))
        return act_err_field(err, ACT_EINVAL, "handler.kind", "handler kind must be a string");
    ops = act_handler_find(json_string_value(kind));
    for (size_t i = 0; !ops && i < sizeof(planned) / sizeof(planned[0]); i++)
        if (strcmp(planned[i].kind, json_string_value(kind)) == 0)
            return act_err_field(err, ACT_EUNPROC, "handler.kind", "handler kind '%s' is %s",
                                 planned[i].kind, planned[i].reason);
    if (!ops)
        return act_err_field(err, ACT_EUNPROC, "handler.kind", "unknown handler kind '%.64s'",
                             json_string_value(kind));
    if (config && !json_is_object(config))
        return act_err_field(err, ACT_EINVAL, "config", "config must be an object");
    return ops->validate(handler, config, err);
}

static json_t *parse_static(const char *kind, const char *what, const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);

    if (!v)
        ACT_BUG("handler kind '%s': %s is not JSON: %s", kind, what, jerr.text);
    return v;
}

json_t *act_handler_describe(void)
{
    json_t *items = json_array();

    for (size_t i = 0; registry[i]; i++) {
        const struct act_handler_ops *ops = registry[i];
        json_t *item = json_object();

        json_object_set_new(item, "kind", json_string(ops->kind));
        json_object_set_new(item, "capabilities",
                            parse_static(ops->kind, "capabilities", ops->capabilities));
        json_object_set_new(item, "schema", parse_static(ops->kind, "schema", ops->schema));
        json_object_set_new(item, "available", json_true());
        json_array_append_new(items, item);
    }
    /* Kinds seed 1 names that are not built yet: listed, so a client learns
     * they are planned and why they cannot be used, never accepted. */
    for (size_t i = 0; i < sizeof(planned) / sizeof(planned[0]); i++)
        json_array_append_new(items,
                              json_pack("{s:s,s:[],s:{},s:b,s:s}", "kind", planned[i].kind,
                                        "capabilities", "schema", "available", 0, "reason",
                                        planned[i].reason));
    return json_pack("{s:o}", "items", items);
}

void act_handler_result_release(struct act_handler_result *res)
{
    if (!res)
        return;
    json_decref(res->output);
    res->output = NULL;
    json_decref(res->error_detail);
    res->error_detail = NULL;
}

int act_handler_fail(struct act_handler_result *res, int code, const char *fmt, ...)
{
    char tmp[sizeof(res->error)];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(tmp))
        n = sizeof(tmp) - 1;
    act_handler_clean_text(res->error, sizeof(res->error), tmp, (size_t)n, true);
    return code;
}

int act_handler_check_members(const json_t *handler, const char *const *allowed,
                              struct act_err *err)
{
    const char *key;
    const json_t *val;

    json_object_foreach((json_t *)handler, key, val) {
        bool known = strcmp(key, "kind") == 0;

        for (size_t i = 0; !known && allowed && allowed[i]; i++)
            known = strcmp(key, allowed[i]) == 0;
        if (!known) {
            char field[64];

            snprintf(field, sizeof(field), "handler.%.48s", key);
            return act_err_field(err, ACT_EUNPROC, field, "unknown member '%.48s' for kind '%s'",
                                 key, json_string_value(json_object_get(handler, "kind")));
        }
        (void)val;
    }
    return ACT_OK;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid:
 * overlong forms, surrogates and code points above U+10FFFF are rejected. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    uint32_t cp;
    size_t n;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if (avail < n)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

size_t act_handler_clean_text(char *dst, size_t cap, const char *src, size_t len, bool one_line)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0, o = 0;

    while (i < len && o + 1 < cap) {
        size_t n = utf8_seq(s + i, len - i);
        bool ctrl = s[i] < 0x20 || s[i] == 0x7F;
        bool keep = !one_line && (s[i] == '\n' || s[i] == '\t');

        if (ctrl && !keep) {
            dst[o++] = ' ';
            i++;
        } else if (n == 0) {
            dst[o++] = '?';
            i++;
        } else if (o + n < cap) {
            memcpy(dst + o, s + i, n);
            o += n;
            i += n;
        } else {
            break;  /* never cut a character in half */
        }
    }
    dst[o] = '\0';
    return o;
}

char *act_handler_dump(const json_t *v, size_t *len)
{
    return act_json_text(v, len);
}

json_t *act_handler_scope(const struct act_handler_call *call)
{
    json_t *scope = json_object();

    if (call->event)
        json_object_set(scope, "event", (json_t *)call->event);
    json_object_set(scope, "input", (json_t *)call->input);
    json_object_set(scope, "config", (json_t *)call->config);
    json_object_set_new(scope, "execution",
                        json_pack("{s:s?, s:s?, s:i, s:s?}", "id", call->execution_id, "root_id",
                                  call->root_id, "attempt", call->attempt, "action",
                                  call->action_name));
    return scope;
}

struct sync_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    int rc;
};

static void on_sync_done(void *ud, int rc)
{
    struct sync_wait *w = ud;

    pthread_mutex_lock(&w->lock);
    w->rc = rc;
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

int act_handler_execute_sync(int (*start)(void *, const struct act_handler_call *,
                                          struct act_handler_result *, act_handler_done_fn *,
                                          void *),
                             void *state, const struct act_handler_call *call,
                             struct act_handler_result *res)
{
    struct sync_wait w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    int rc = start(state, call, res, on_sync_done, &w);

    if (rc < 0)
        return rc;
    pthread_mutex_lock(&w.lock);
    while (!w.done)
        pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
    return w.rc;
}
