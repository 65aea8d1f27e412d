/*
 * Provider presets for messages, over the webhook machinery
 * (handler_webhook.h): kinds `sms` (Twilio's Messages API), `slack` (an
 * incoming webhook) and `push` (Firebase Cloud Messaging, HTTP v1).
 *
 *   sms:   {"to", "from" | "messaging_service_sid", "body", "status_callback"?,
 *           "base_url"? = https://api.twilio.com}
 *          config {"account_sid", "auth_token"}
 *          POST {base}/2010-04-01/Accounts/{sid}/Messages.json, form-encoded
 *          To, From | MessagingServiceSid, Body, StatusCallback; Basic sid:token.
 *   slack: {"webhook_url"? (else config.webhook_url), "text"?, "blocks"?,
 *           "channel"?, "username"?, "icon_emoji"?}  (text or blocks)
 *          POST the JSON; Slack answers 200 "ok" (output {"ok": true}) or a
 *          4xx text ("invalid_payload", "no_text"): a permanent failure.
 *   push:  {"project_id", "token" | "topic" | "condition", "title"?, "body"?,
 *           "data"? (object of strings), "base_url"? = https://fcm.googleapis.com}
 *          config {"access_token"} (Bearer; obtaining it from a service
 *          account is out of scope)
 *          POST {base}/v1/projects/{project_id}/messages:send {"message": {...}}.
 *
 * Text members are templates (scope {event, input, config, execution}); the
 * spec members are rendered as one object and a shape hook maps them to the
 * provider's names, so a failing template is reported as "handler.to".
 * Validation names fields in each kind's own terms.  docs/handlers/providers.md.
 *
 * Invariants: the states are webhook states (immutable after open);
 * credentials live only in the state's auth line or URL and are wiped at
 * close.
 */
#include "base/alloc.h"
#include "handler/handler_internal.h"
#include "handler/handler_preset.h"
#include "handler/handler_webhook.h"
#include "handler/secret_box.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define TEXT_MAX 4096
#define SMS_BODY_MAX 1600      /* Twilio's limit for one message body */
#define SLACK_TEXT_MAX 40000   /* Slack truncates text beyond this */
#define SLACK_BLOCKS_MAX 50
#define PUSH_DATA_MAX 100

/* ---- sms ---- */

static const char *const sms_members[] = {"to", "from", "messaging_service_sid", "body",
                                          "status_callback"};

/* Rendered {to, from, ...} -> Twilio's form names. */
static json_t *sms_shape(const void *ctx, const json_t *rendered, struct act_err *err)
{
    static const char *const wire[] = {"To", "From", "MessagingServiceSid", "Body",
                                       "StatusCallback"};
    json_t *out = json_object();

    (void)ctx;
    for (size_t i = 0; i < sizeof(wire) / sizeof(wire[0]); i++) {
        const json_t *v = json_object_get(rendered, sms_members[i]);
        json_t *text;

        if (!v)
            continue;
        if (!(text = act_preset_text(v, sms_members[i], false, err))) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, wire[i], text);
    }
    return out;
}

static int sms_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    static const char *const members[] = {"to", "from", "messaging_service_sid", "body",
                                          "status_callback", "base_url",
                                          ACT_PRESET_LIMIT_MEMBERS, NULL};
    static const char *const senders[] = {"from", "messaging_service_sid", NULL};
    char *sid = NULL;
    int rc;

    if ((rc = act_handler_check_members(handler, members, err)) < 0 ||
        (rc = act_webhook_check_text(handler, "to", true, 256, err)) < 0 ||
        (rc = act_preset_one_of(handler, senders, err)) < 0 ||
        (rc = act_webhook_check_text(handler, "from", false, 256, err)) < 0 ||
        (rc = act_preset_ident(handler, "handler", "messaging_service_sid", "", 64, false,
                               err)) < 0 ||
        (rc = act_webhook_check_text(handler, "body", true, SMS_BODY_MAX, err)) < 0 ||
        (rc = act_webhook_check_base_url(json_object_get(handler, "base_url"),
                                         "handler.base_url", NULL, NULL, err)) < 0 ||
        (rc = act_webhook_check_limits(handler, err)) < 0)
        return rc;
    if (json_object_get(handler, "status_callback") &&
        (rc = act_webhook_check_url(json_object_get(handler, "status_callback"),
                                    "handler.status_callback", true, err)) < 0)
        return rc;
    if ((rc = act_webhook_config_secret(config, "account_sid", true, &sid, err)) < 0)
        return rc;
    for (const char *c = sid; *c; c++)
        if (!isalnum((unsigned char)*c) || c - sid >= 64) {
            act_secret_free(sid);
            return act_err_field(err, ACT_EUNPROC, "config.account_sid",
                                 "account_sid must be 1..64 letters and digits (AC...)");
        }
    act_secret_free(sid);
    return act_webhook_config_secret(config, "auth_token", true, NULL, err);
}

static int sms_open(const json_t *handler, const json_t *config, void **state,
                    struct act_err *err)
{
    static const char *const pick[] = {"to", "from", "messaging_service_sid", "body",
                                       "status_callback", NULL};
    struct act_webhook_desc d = {.kind = "sms", .method = "POST",
                                 .body_mode = ACT_WEBHOOK_BODY_TEMPLATE, .body_field = "handler",
                                 .encoding = ACT_WEBHOOK_FORM, .shape = sms_shape};
    char *base = NULL, *sid = NULL, *token = NULL, *path;
    int rc;

    *state = NULL;
    if ((rc = sms_validate(handler, config, err)) < 0 ||
        (rc = act_webhook_check_base_url(json_object_get(handler, "base_url"),
                                         "handler.base_url", "https://api.twilio.com", &base,
                                         err)) < 0 ||
        (rc = act_webhook_config_secret(config, "account_sid", true, &sid, err)) < 0 ||
        (rc = act_webhook_config_secret(config, "auth_token", true, &token, err)) < 0)
        goto out;
    path = act_xasprintf("/2010-04-01/Accounts/%s/Messages.json", sid);
    rc = act_preset_url(base, path, "handler.base_url", &d.url, err);
    act_free(path);
    if (rc < 0)
        goto out;
    act_webhook_desc_limits(&d, handler);
    d.body = act_preset_pick(handler, pick);
    d.auth_line = act_preset_basic_line(sid, token);
    rc = act_webhook_open_desc(&d, state, err);
out:
    act_webhook_desc_release(&d);
    act_free(base);
    act_secret_free(sid);
    act_secret_free(token);
    return rc;
}

const struct act_handler_ops act_handler_sms_ops = {
    .kind = "sms",
    .capabilities = "[\"async\",\"timeout\",\"remote\",\"retry_after\",\"egress_guard\"]",
    .schema =
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
        "\"description\":\"a text message through Twilio's Messages API (POST form-encoded, "
        "Basic account_sid:auth_token); output: Twilio's JSON (sid, status)\","
        "\"type\":\"object\",\"required\":[\"kind\",\"to\",\"body\"],"
        "\"additionalProperties\":false,"
        "\"properties\":{\"kind\":{\"const\":\"sms\"},"
        "\"to\":{\"type\":\"string\",\"maxLength\":256,\"description\":\"E.164 number; "
        "templates allowed\"},"
        "\"from\":{\"type\":\"string\",\"maxLength\":256},"
        "\"messaging_service_sid\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9]{1,64}$\"},"
        "\"body\":{\"type\":\"string\",\"maxLength\":1600},"
        "\"status_callback\":{\"type\":\"string\",\"format\":\"uri\"},"
        "\"base_url\":{\"type\":\"string\",\"format\":\"uri\",\"default\":"
        "\"https://api.twilio.com\"},"
        ACT_PRESET_LIMITS_SCHEMA "},"
        "\"oneOf\":[{\"required\":[\"from\"]},{\"required\":[\"messaging_service_sid\"]}],"
        "\"$defs\":{\"config\":{\"type\":\"object\",\"required\":[\"account_sid\","
        "\"auth_token\"],\"properties\":{\"account_sid\":{\"type\":\"string\"},"
        "\"auth_token\":{\"type\":\"string\",\"description\":\"secret; may be sealed "
        "(v1:...)\"}}}}}",
    .validate = sms_validate,
    .open = sms_open,
    .execute = act_webhook_execute,
    .close = act_webhook_close,
    .start = act_webhook_start,
};

/* ---- slack ---- */

static bool only_space(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

/* Slack answers 200 "ok", or a 4xx whose text names the problem
 * ("invalid_payload", "no_text", "channel_not_found", "invalid_token"):
 * those will not get better by retrying. */
static int slack_interpret(const void *ctx, const struct act_webhook_answer *ans,
                           struct act_handler_result *res)
{
    char text[256];
    size_t skip = 0;

    (void)ctx;
    while (skip < ans->body_len && isspace((unsigned char)ans->body[skip]))
        skip++;
    if (ans->status >= 200 && ans->status < 300) {
        if (ans->body_len - skip >= 2 && strncmp(ans->body + skip, "ok", 2) == 0 &&
            only_space(ans->body + skip + 2, ans->body_len - skip - 2)) {
            res->output = json_pack("{s:b}", "ok", 1);
            return ACT_OK;
        }
        return ACT_WEBHOOK_DEFAULT;
    }
    if (ans->status != 400 && ans->status != 403 && ans->status != 404)
        return ACT_WEBHOOK_DEFAULT; /* 3xx, 410, 429, 5xx: the webhook's rules */
    act_handler_clean_text(text, sizeof(text), ans->body + skip, ans->body_len - skip, true);
    res->permanent = true;
    res->error_detail = json_pack("{s:i,s:s}", "status", (int)ans->status, "body", text);
    return act_handler_fail(res, ACT_EPLUGIN, "HTTP %ld: %s", ans->status,
                            text[0] ? text : "(empty answer)");
}

static int slack_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    static const char *const members[] = {"webhook_url", "text", "blocks", "channel",
                                          "username", "icon_emoji", ACT_PRESET_LIMIT_MEMBERS,
                                          NULL};
    const json_t *in_spec = json_object_get(handler, "webhook_url");
    const json_t *blocks = json_object_get(handler, "blocks");
    char *url = NULL;
    int rc;

    if ((rc = act_handler_check_members(handler, members, err)) < 0 ||
        (rc = act_webhook_check_text(handler, "text", false, SLACK_TEXT_MAX, err)) < 0 ||
        (rc = act_webhook_check_text(handler, "channel", false, 256, err)) < 0 ||
        (rc = act_webhook_check_text(handler, "username", false, 256, err)) < 0 ||
        (rc = act_webhook_check_text(handler, "icon_emoji", false, 256, err)) < 0 ||
        (rc = act_webhook_check_limits(handler, err)) < 0)
        return rc;
    if (blocks && !(json_is_array(blocks) && json_array_size(blocks) <= SLACK_BLOCKS_MAX) &&
        !(json_is_string(blocks) && act_webhook_has_template(blocks)))
        return act_err_field(err, ACT_EUNPROC, "handler.blocks",
                             "blocks must be an array of at most %d blocks, or a template",
                             SLACK_BLOCKS_MAX);
    if ((rc = act_webhook_check_template(blocks, "handler.blocks", err)) < 0)
        return rc;
    if (!blocks && !json_object_get(handler, "text"))
        return act_err_field(err, ACT_EUNPROC, "handler.text", "text or blocks is required");
    if (in_spec && json_object_get(config, "webhook_url"))
        return act_err_field(err, ACT_EUNPROC, "handler.webhook_url",
                             "give webhook_url in handler or in config, not both");
    if (in_spec)
        return act_webhook_check_url(in_spec, "handler.webhook_url", false, err);
    if (!json_object_get(config, "webhook_url"))
        return act_err_field(err, ACT_EUNPROC, "config.webhook_url",
                             "webhook_url is required (in config: it holds the token)");
    if ((rc = act_webhook_config_secret(config, "webhook_url", true, &url, err)) < 0)
        return rc;
    rc = act_webhook_parse_url(url, NULL, NULL, 0, err);
    act_secret_free(url);
    if (rc < 0 && err)
        snprintf(err->field, sizeof(err->field), "config.webhook_url");
    return rc;
}

static int slack_open(const json_t *handler, const json_t *config, void **state,
                      struct act_err *err)
{
    static const char *const pick[] = {"text", "blocks", "channel", "username", "icon_emoji",
                                       NULL};
    struct act_webhook_desc d = {.kind = "slack", .method = "POST",
                                 .url_field = "handler.webhook_url",
                                 .body_mode = ACT_WEBHOOK_BODY_TEMPLATE, .body_field = "handler",
                                 .interpret = slack_interpret};
    const json_t *in_spec = json_object_get(handler, "webhook_url");
    char *url = NULL;
    int rc;

    *state = NULL;
    if ((rc = slack_validate(handler, config, err)) < 0)
        return rc;
    if (in_spec)
        url = act_xstrdup(json_string_value(in_spec));
    else if ((rc = act_webhook_config_secret(config, "webhook_url", true, &url, err)) < 0)
        return rc;
    rc = act_webhook_parse_url(url, &d.url, NULL, 0, err);
    act_secret_free(url);
    if (rc < 0)
        return rc;
    act_webhook_desc_limits(&d, handler);
    d.body = act_preset_pick(handler, pick);
    return act_webhook_open_desc(&d, state, err);
}

const struct act_handler_ops act_handler_slack_ops = {
    .kind = "slack",
    .capabilities = "[\"async\",\"timeout\",\"remote\",\"retry_after\",\"egress_guard\"]",
    .schema =
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
        "\"description\":\"a message to a Slack incoming webhook (POST JSON); output "
        "{\\\"ok\\\": true}\","
        "\"type\":\"object\",\"required\":[\"kind\"],\"additionalProperties\":false,"
        "\"properties\":{\"kind\":{\"const\":\"slack\"},"
        "\"webhook_url\":{\"type\":\"string\",\"format\":\"uri\",\"description\":\"better in "
        "config.webhook_url (it holds the token; redacted in API output)\"},"
        "\"text\":{\"type\":\"string\",\"maxLength\":40000},"
        "\"blocks\":{\"type\":[\"array\",\"string\"],\"maxItems\":50},"
        "\"channel\":{\"type\":\"string\"},\"username\":{\"type\":\"string\"},"
        "\"icon_emoji\":{\"type\":\"string\"},"
        ACT_PRESET_LIMITS_SCHEMA "},"
        "\"anyOf\":[{\"required\":[\"text\"]},{\"required\":[\"blocks\"]}],"
        "\"$defs\":{\"config\":{\"type\":\"object\",\"properties\":{\"webhook_url\":"
        "{\"type\":\"string\",\"description\":\"secret; may be sealed (v1:...)\"}}}}}",
    .validate = slack_validate,
    .open = slack_open,
    .execute = act_webhook_execute,
    .close = act_webhook_close,
    .start = act_webhook_start,
};

/* ---- push ---- */

/* Keys FCM reserves inside data. */
static bool fcm_reserved(const char *k)
{
    return strcmp(k, "from") == 0 || strcmp(k, "notification") == 0 ||
           strcmp(k, "message_type") == 0 || strncmp(k, "google", 6) == 0 ||
           strncmp(k, "gcm", 3) == 0;
}

/* data values become strings (FCM takes only strings). */
static json_t *push_data(const json_t *data, struct act_err *err)
{
    json_t *out = json_object(), *v, *text;
    const char *k;

    if (!json_is_object(data) || json_object_size(data) > PUSH_DATA_MAX) {
        json_decref(out);
        act_err_field(err, ACT_EUNPROC, "data",
                      "data must render to an object of at most %d members", PUSH_DATA_MAX);
        return NULL;
    }
    json_object_foreach((json_t *)data, k, v) {
        char field[96];

        snprintf(field, sizeof(field), "data.%.64s", k);
        if (fcm_reserved(k)) {
            json_decref(out);
            act_err_field(err, ACT_EUNPROC, field, "key '%.64s' is reserved by FCM", k);
            return NULL;
        }
        if (!(text = act_preset_text(v, field, true, err))) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, k, text);
    }
    return out;
}

/* Rendered {token|topic|condition, title, body, data} -> {"message": ...}. */
static json_t *push_shape(const void *ctx, const json_t *rendered, struct act_err *err)
{
    static const char *const targets[] = {"token", "topic", "condition"};
    json_t *msg = json_object(), *note = json_object(), *v;

    (void)ctx;
    for (size_t i = 0; i < 3; i++)
        if ((v = json_object_get(rendered, targets[i]))) {
            json_t *text = act_preset_text(v, targets[i], false, err);

            if (!text)
                goto fail;
            json_object_set_new(msg, targets[i], text);
        }
    for (size_t i = 0; i < 2; i++) {
        const char *name = i == 0 ? "title" : "body";
        json_t *text;

        if (!(v = json_object_get(rendered, name)))
            continue;
        if (!(text = act_preset_text(v, name, false, err)))
            goto fail;
        json_object_set_new(note, name, text);
    }
    if (json_object_size(note) > 0)
        json_object_set(msg, "notification", note);
    if ((v = json_object_get(rendered, "data"))) {
        json_t *data = push_data(v, err);

        if (!data)
            goto fail;
        json_object_set_new(msg, "data", data);
    }
    json_decref(note);
    return json_pack("{s:o}", "message", msg);
fail:
    json_decref(note);
    json_decref(msg);
    return NULL;
}

static int validate_data(const json_t *data, struct act_err *err)
{
    const char *k;
    json_t *v;
    int rc;

    if (!data)
        return ACT_OK;
    if (json_is_string(data) && act_webhook_has_template(data))
        return act_webhook_check_template(data, "handler.data", err);
    if (!json_is_object(data) || json_object_size(data) > PUSH_DATA_MAX)
        return act_err_field(err, ACT_EUNPROC, "handler.data",
                             "data must be an object of at most %d strings, or a template",
                             PUSH_DATA_MAX);
    json_object_foreach((json_t *)data, k, v) {
        char field[96];

        snprintf(field, sizeof(field), "handler.data.%.64s", k);
        if (fcm_reserved(k))
            return act_err_field(err, ACT_EUNPROC, field, "key '%.64s' is reserved by FCM", k);
        if (!json_is_string(v) || json_string_length(v) > TEXT_MAX)
            return act_err_field(err, ACT_EUNPROC, field,
                                 "data values must be strings of at most %d bytes", TEXT_MAX);
        if ((rc = act_webhook_check_template(v, field, err)) < 0)
            return rc;
    }
    return ACT_OK;
}

static int push_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    static const char *const members[] = {"project_id", "token", "topic", "condition",
                                          "title", "body", "data", "base_url",
                                          ACT_PRESET_LIMIT_MEMBERS, NULL};
    static const char *const targets[] = {"token", "topic", "condition", NULL};
    int rc;

    if ((rc = act_handler_check_members(handler, members, err)) < 0 ||
        (rc = act_preset_ident(handler, "handler", "project_id", "-._:", 128, true, err)) < 0 ||
        (rc = act_preset_one_of(handler, targets, err)) < 0 ||
        (rc = act_webhook_check_text(handler, "token", false, TEXT_MAX, err)) < 0 ||
        (rc = act_webhook_check_text(handler, "topic", false, 900, err)) < 0 ||
        (rc = act_webhook_check_text(handler, "condition", false, 1024, err)) < 0 ||
        (rc = act_webhook_check_text(handler, "title", false, TEXT_MAX, err)) < 0 ||
        (rc = act_webhook_check_text(handler, "body", false, TEXT_MAX, err)) < 0 ||
        (rc = validate_data(json_object_get(handler, "data"), err)) < 0 ||
        (rc = act_webhook_check_base_url(json_object_get(handler, "base_url"),
                                         "handler.base_url", NULL, NULL, err)) < 0 ||
        (rc = act_webhook_check_limits(handler, err)) < 0)
        return rc;
    if (!json_object_get(handler, "title") && !json_object_get(handler, "body") &&
        !json_object_get(handler, "data"))
        return act_err_field(err, ACT_EUNPROC, "handler.title",
                             "a push needs a title, a body or data");
    return act_webhook_config_secret(config, "access_token", true, NULL, err);
}

static int push_open(const json_t *handler, const json_t *config, void **state,
                     struct act_err *err)
{
    static const char *const pick[] = {"token", "topic", "condition", "title", "body", "data",
                                       NULL};
    struct act_webhook_desc d = {.kind = "push", .method = "POST",
                                 .body_mode = ACT_WEBHOOK_BODY_TEMPLATE, .body_field = "handler",
                                 .shape = push_shape};
    char *base = NULL, *token = NULL, *path;
    int rc;

    *state = NULL;
    if ((rc = push_validate(handler, config, err)) < 0 ||
        (rc = act_webhook_check_base_url(json_object_get(handler, "base_url"),
                                         "handler.base_url", "https://fcm.googleapis.com", &base,
                                         err)) < 0 ||
        (rc = act_webhook_config_secret(config, "access_token", true, &token, err)) < 0)
        goto out;
    path = act_xasprintf("/v1/projects/%s/messages:send",
                         json_string_value(json_object_get(handler, "project_id")));
    rc = act_preset_url(base, path, "handler.project_id", &d.url, err);
    act_free(path);
    if (rc < 0)
        goto out;
    act_webhook_desc_limits(&d, handler);
    d.body = act_preset_pick(handler, pick);
    d.auth_line = act_preset_bearer_line(token);
    rc = act_webhook_open_desc(&d, state, err);
out:
    act_webhook_desc_release(&d);
    act_free(base);
    act_secret_free(token);
    return rc;
}

const struct act_handler_ops act_handler_push_ops = {
    .kind = "push",
    .capabilities = "[\"async\",\"timeout\",\"remote\",\"retry_after\",\"egress_guard\"]",
    .schema =
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
        "\"description\":\"a push notification through Firebase Cloud Messaging HTTP v1 "
        "(Bearer config.access_token: an OAuth2 token obtained elsewhere); output "
        "{\\\"name\\\": message id}\","
        "\"type\":\"object\",\"required\":[\"kind\",\"project_id\"],"
        "\"additionalProperties\":false,"
        "\"properties\":{\"kind\":{\"const\":\"push\"},"
        "\"project_id\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9._:-]{1,128}$\"},"
        "\"token\":{\"type\":\"string\"},\"topic\":{\"type\":\"string\"},"
        "\"condition\":{\"type\":\"string\"},"
        "\"title\":{\"type\":\"string\"},\"body\":{\"type\":\"string\"},"
        "\"data\":{\"type\":[\"object\",\"string\"],\"maxProperties\":100,"
        "\"additionalProperties\":{\"type\":\"string\"}},"
        "\"base_url\":{\"type\":\"string\",\"format\":\"uri\",\"default\":"
        "\"https://fcm.googleapis.com\"},"
        ACT_PRESET_LIMITS_SCHEMA "},"
        "\"oneOf\":[{\"required\":[\"token\"]},{\"required\":[\"topic\"]},"
        "{\"required\":[\"condition\"]}],"
        "\"$defs\":{\"config\":{\"type\":\"object\",\"required\":[\"access_token\"],"
        "\"properties\":{\"access_token\":{\"type\":\"string\",\"description\":\"OAuth2 "
        "access token; secret, may be sealed (v1:...)\"}}}}}",
    .validate = push_validate,
    .open = push_open,
    .execute = act_webhook_execute,
    .close = act_webhook_close,
    .start = act_webhook_start,
};
