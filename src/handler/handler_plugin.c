/*
 * Kind `plugin`: POST an attempt's input to a remote plugin's action
 * endpoint, signed with Standard Webhooks.
 *
 *   handler: {"kind": "plugin", "url": "http://127.0.0.1:3100/actions/send-welcome-email",
 *             "timeout_ms"?: 10000, "max_response_bytes"?: N,
 *             "plugin_id"?: "<uuid>", "plugin_slug"?: "email-automation"}
 *   config:  {"secret": "whsec_..." | "v1:<sealed>" | [one or more of those],
 *             "api_key"?: "..." | "v1:<sealed>", "headers"?: {"Name": "value"}}
 *
 * Every attempt sends the input as compact JSON with Content-Type,
 * User-Agent, Accept, webhook-id (the execution id: stable when an attempt
 * is re-run after a crash; each retry attempt is its own execution and so
 * its own id), webhook-timestamp (now, unix seconds) and webhook-signature
 * (one "v1," entry per secret: several during a key rotation), plus
 * X-Api-Key when config.api_key is set.  plugin_id and plugin_slug are
 * labels for the registry and are not sent.  Other config members are
 * ignored (the action's config may carry the registry's own data).
 *
 * The secrets are opened from the secret box and decoded once, at open; the
 * state is immutable afterwards, so execute() runs from many workers at once.
 */
#include "base/alloc.h"
#include "base/time.h"
#include "handler/handler_http.h"
#include "handler/handler_internal.h"
#include "handler/handler_webhook.h"
#include "handler/http_client.h"
#include "handler/secret_box.h"
#include "handler/webhook_sign.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define URL_MAX 2048
#define LABEL_MAX 256

struct plugin_state {
    struct act_http_common common;
    char *url;
    struct act_webhook_key keys[ACT_WEBHOOK_MAX_SECRETS];
    size_t n_keys;
    bool send_event; /* payload "event": POST the whole event, not the input */
};

/* ---- validation ---- */

static int validate_url(const json_t *url, struct act_err *err)
{
    struct act_err e = {0};

    if (!url)
        return act_err_field(err, ACT_EUNPROC, "handler.url", "url is required");
    if (!json_is_string(url) || json_string_length(url) == 0 ||
        json_string_length(url) > URL_MAX)
        return act_err_field(err, ACT_EUNPROC, "handler.url",
                             "url must be a string of 1..%d bytes", URL_MAX);
    if (act_http_url_check(json_string_value(url), &e) < 0)
        return act_err_field(err, ACT_EUNPROC, "handler.url", "url: %s", e.msg);
    return ACT_OK;
}

static int validate_label(const json_t *handler, const char *name, struct act_err *err)
{
    const json_t *v = json_object_get(handler, name);
    char field[48];

    if (!v)
        return ACT_OK;
    snprintf(field, sizeof(field), "handler.%s", name);
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > LABEL_MAX)
        return act_err_field(err, ACT_EUNPROC, field, "%s must be a string of 1..%d bytes", name,
                             LABEL_MAX);
    return ACT_OK;
}

/* Decode config.secret into keys[]: required here (a plugin always signs),
 * otherwise the webhook kind's rules. */
static int load_keys(const json_t *config, struct act_webhook_key *keys, size_t *n_keys,
                     struct act_err *err)
{
    *n_keys = 0;
    if (!json_object_get(config, "secret"))
        return act_err_field(err, ACT_EUNPROC, "config.secret",
                             "secret is required (the plugin's whsec_ signing secret)");
    return act_webhook_load_keys(config, keys, n_keys, err);
}

static int plugin_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    static const char *const members[] = {"url", "timeout_ms", "max_response_bytes",
                                          "plugin_id", "plugin_slug", "payload", NULL};
    const json_t *payload = json_object_get(handler, "payload");
    struct act_webhook_key keys[ACT_WEBHOOK_MAX_SECRETS];
    size_t n_keys;
    int rc;

    if ((rc = act_handler_check_members(handler, members, err)) < 0 ||
        (rc = validate_url(json_object_get(handler, "url"), err)) < 0 ||
        (rc = validate_label(handler, "plugin_id", err)) < 0 ||
        (rc = validate_label(handler, "plugin_slug", err)) < 0 ||
        (rc = act_http_kind_validate_common(handler, config, err)) < 0)
        return rc;
    if (payload && (!json_is_string(payload) || (strcmp(json_string_value(payload), "input") &&
                                                 strcmp(json_string_value(payload), "event"))))
        return act_err_field(err, ACT_EUNPROC, "handler.payload",
                             "payload must be \"input\" or \"event\"");
    rc = load_keys(config, keys, &n_keys, err);
    OPENSSL_cleanse(keys, sizeof(keys));
    return rc;
}

/* ---- state ---- */

static void plugin_close(void *state)
{
    struct plugin_state *st = state;

    if (!st)
        return;
    act_http_kind_release_common(&st->common);
    act_free(st->url);
    OPENSSL_cleanse(st->keys, sizeof(st->keys));
    act_free(st);
}

static int plugin_open(const json_t *handler, const json_t *config, void **state,
                       struct act_err *err)
{
    struct plugin_state *st;
    int rc;

    *state = NULL;
    if ((rc = plugin_validate(handler, config, err)) < 0)
        return rc;
    st = act_xcalloc(1, sizeof(*st));
    st->url = act_xstrdup(json_string_value(json_object_get(handler, "url")));
    st->send_event = json_is_string(json_object_get(handler, "payload")) &&
                     strcmp(json_string_value(json_object_get(handler, "payload")), "event") == 0;
    if ((rc = load_keys(config, st->keys, &st->n_keys, err)) < 0 ||
        (rc = act_http_kind_open_common(handler, config, &st->common, err)) < 0) {
        plugin_close(st);
        return rc;
    }
    *state = st;
    return ACT_OK;
}

/* ---- one attempt ---- */

static int plugin_execute(void *state, const struct act_handler_call *call,
                          struct act_handler_result *res)
{
    const struct plugin_state *st = state;
    struct act_err err = {0};
    int64_t ts = act_time_now_us() / 1000000;
    char *sig = NULL, *id_line, *ts_line, *sig_line;
    size_t len;
    /* payload "event": the whole CloudEvent (event deliveries); else the input. */
    char *body = act_handler_dump(st->send_event && call->event ? call->event : call->input, &len);
    int rc;

    res->retry_after_ms = -1;
    const char *wid = call->root_id ? call->root_id : call->execution_id;
    if (act_webhook_sign_keys(wid, ts, body, len, st->keys, st->n_keys, &sig,
                              &err) < 0) {
        act_free(body);
        return act_handler_fail(res, ACT_EPLUGIN, "cannot sign the request: %s", err.msg);
    }
    id_line = act_xasprintf("webhook-id: %s", wid);
    ts_line = act_xasprintf("webhook-timestamp: %lld", (long long)ts);
    sig_line = act_xasprintf("webhook-signature: %s", sig);
    {
        const char *extra[] = {id_line, ts_line, sig_line, NULL};

        rc = act_http_kind_call(&st->common, call, "POST", st->url, extra, body, len, res);
    }
    act_free(id_line);
    act_free(ts_line);
    act_free(sig_line);
    act_free(sig);
    act_free(body);
    return rc;
}

const struct act_handler_ops act_handler_plugin_ops = {
    .kind = "plugin",
    .capabilities = "[\"sync\",\"timeout\",\"remote\",\"signed\",\"retry_after\"]",
    .schema =
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
        "\"type\":\"object\",\"required\":[\"kind\",\"url\"],\"additionalProperties\":false,"
        "\"properties\":{"
        "\"kind\":{\"const\":\"plugin\"},"
        "\"url\":{\"type\":\"string\",\"format\":\"uri\",\"pattern\":\"^[Hh][Tt][Tt][Pp][Ss]?://\","
        "\"maxLength\":2048,\"description\":\"the action endpoint; each attempt POSTs the input "
        "as JSON with Standard Webhooks headers (webhook-id = execution id)\"},"
        "\"timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":600000,"
        "\"default\":10000},"
        "\"max_response_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":67108864,"
        "\"default\":1048576},"
        "\"plugin_id\":{\"type\":\"string\",\"maxLength\":256},"
        "\"plugin_slug\":{\"type\":\"string\",\"maxLength\":256}},"
        "\"$defs\":{\"config\":{\"type\":\"object\",\"required\":[\"secret\"],\"properties\":{"
        "\"secret\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"array\",\"minItems\":1,"
        "\"maxItems\":8,\"items\":{\"type\":\"string\"}}],"
        "\"description\":\"whsec_<base64 key> or a sealed v1: value; several while rotating\"},"
        "\"api_key\":{\"type\":\"string\",\"description\":\"sent as X-Api-Key; may be sealed\"},"
        "\"headers\":{\"type\":\"object\",\"maxProperties\":64,"
        "\"additionalProperties\":{\"type\":\"string\"}}}}}}",
    .validate = plugin_validate,
    .open = plugin_open,
    .execute = plugin_execute,
    .close = plugin_close,
};
