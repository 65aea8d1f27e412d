/*
 * Provider presets for serverless functions, over the webhook machinery
 * (handler_webhook.h): kinds `serverless_aws` (Lambda Invoke, signed with
 * AWS Signature Version 4, aws_sigv4.h) and `serverless_azure` (an HTTP
 * triggered Azure Function with a function key).
 *
 *   serverless_aws:   {"function" (name or ARN), "region", "qualifier"?,
 *                      "invocation_type"?: "RequestResponse"|"Event",
 *                      "payload"? (template; default the input),
 *                      "endpoint"? (default https://lambda.{region}.amazonaws.com)}
 *                     config {"access_key_id", "secret_access_key", "session_token"?}
 *     POST {endpoint}/2015-03-31/functions/{function, percent-encoded}/invocations
 *     [?Qualifier=q] with X-Amz-Invocation-Type; the sign hook adds X-Amz-Date,
 *     X-Amz-Security-Token (with a session token) and Authorization, signing
 *     Host, Content-Type and the X-Amz-* headers for service "lambda".
 *     Output: the function's JSON result; {"status": 202} for Event.  A
 *     200 with X-Amz-Function-Error fails with the function's errorMessage.
 *   serverless_azure: {"url", "method"? = POST, "body"? (default the input)}
 *                     config {"function_key"} sent as x-functions-key.
 *     Output: the JSON answer.
 *
 * Invariants: the states are webhook states (immutable after open); the
 * AWS credentials live in the context and are wiped at close.
 */
#include "base/alloc.h"
#include "handler/aws_sigv4.h"
#include "handler/handler_internal.h"
#include "handler/handler_preset.h"
#include "handler/handler_webhook.h"
#include "handler/secret_box.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define FUNCTION_MAX 170 /* Lambda's FunctionName limit */
#define DETAIL_MAX 4096

/* ---- serverless_aws ---- */

struct aws_ctx {
    char region[40];
    char *access_key_id, *secret_access_key, *session_token; /* plaintext, wiped at close */
};

static void aws_ctx_free(void *p)
{
    struct aws_ctx *c = p;

    if (!c)
        return;
    act_secret_free(c->access_key_id);
    act_secret_free(c->secret_access_key);
    act_secret_free(c->session_token);
    act_free(c);
}

/* Sign Content-Type and the X-Amz-* headers (and Host, from the URL). */
static int aws_sign(const void *ctx, struct act_webhook_req *req, struct act_err *err)
{
    const struct aws_ctx *c = ctx;
    struct act_sigv4_creds creds = {c->access_key_id, c->secret_access_key, c->session_token};
    const char **lines = act_xcalloc(req->n_headers + 1, sizeof(*lines));
    char **add = NULL;
    size_t n = 0;
    int rc;

    for (size_t i = 0; i < req->n_headers; i++)
        if (strncasecmp(req->headers[i], "content-type:", 13) == 0 ||
            strncasecmp(req->headers[i], "x-amz-", 6) == 0)
            lines[n++] = req->headers[i];
    rc = act_sigv4_sign(req->method, req->url, lines, req->body, req->body_len, c->region,
                        "lambda", &creds, NULL, &add, err);
    act_free(lines);
    if (rc < 0)
        return rc;
    for (size_t i = 0; add[i]; i++)
        act_webhook_req_add(req, add[i]);
    act_sigv4_free(add);
    return ACT_OK;
}

/* Lambda's answer: 200 with X-Amz-Function-Error is the function failing;
 * 202 is an accepted Event invocation; otherwise the webhook's rules. */
static int aws_interpret(const void *ctx, const struct act_webhook_answer *ans,
                         struct act_handler_result *res)
{
    char fe[64], msg[300] = "";
    json_t *payload;
    const char *em, *et;
    int rc;

    (void)ctx;
    if (ans->status == 202) {
        res->output = json_pack("{s:i}", "status", 202);
        return ACT_OK;
    }
    if (ans->status < 200 || ans->status >= 300 ||
        !act_webhook_answer_header(ans, "X-Amz-Function-Error", fe, sizeof(fe)))
        return ACT_WEBHOOK_DEFAULT;
    payload = json_loadb(ans->body, ans->body_len, JSON_DECODE_ANY, NULL);
    em = json_string_value(json_object_get(payload, "errorMessage"));
    et = json_string_value(json_object_get(payload, "errorType"));
    if (em)
        snprintf(msg, sizeof(msg), "%s%s%s", et ? et : "", et ? ": " : "", em);
    else
        act_handler_clean_text(msg, sizeof(msg), ans->body,
                               ans->body_len < 200 ? ans->body_len : 200, true);
    res->error_detail = json_pack("{s:i,s:s}", "status", (int)ans->status, "function_error", fe);
    if (payload && ans->body_len <= DETAIL_MAX)
        json_object_set(res->error_detail, "payload", payload);
    rc = act_handler_fail(res, ACT_EPLUGIN, "lambda function error (%s): %s", fe,
                          msg[0] ? msg : "(no message)");
    json_decref(payload);
    return rc;
}

static int aws_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    static const char *const members[] = {"function", "region", "qualifier",
                                          "invocation_type", "payload", "endpoint",
                                          ACT_PRESET_LIMIT_MEMBERS, NULL};
    const char *it = json_string_value(json_object_get(handler, "invocation_type"));
    char *key = NULL;
    int rc;

    if ((rc = act_handler_check_members(handler, members, err)) < 0 ||
        (rc = act_preset_ident(handler, "handler", "function", "-_:$.", FUNCTION_MAX, true,
                               err)) < 0 ||
        (rc = act_preset_ident(handler, "handler", "region", "-", 32, true, err)) < 0 ||
        (rc = act_preset_ident(handler, "handler", "qualifier", "-_$", 128, false, err)) < 0 ||
        (rc = act_webhook_check_template(json_object_get(handler, "payload"), "handler.payload",
                                         err)) < 0 ||
        (rc = act_webhook_check_base_url(json_object_get(handler, "endpoint"),
                                         "handler.endpoint", NULL, NULL, err)) < 0 ||
        (rc = act_webhook_check_limits(handler, err)) < 0)
        return rc;
    if (json_object_get(handler, "invocation_type") &&
        (!it || (strcmp(it, "RequestResponse") != 0 && strcmp(it, "Event") != 0)))
        return act_err_field(err, ACT_EUNPROC, "handler.invocation_type",
                             "invocation_type must be RequestResponse or Event");
    if ((rc = act_webhook_config_secret(config, "access_key_id", true, &key, err)) < 0)
        return rc;
    for (const char *c = key; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')) ||
            c - key >= 128) {
            act_secret_free(key);
            return act_err_field(err, ACT_EUNPROC, "config.access_key_id",
                                 "access_key_id must be 1..128 letters and digits (AKIA...)");
        }
    act_secret_free(key);
    if ((rc = act_webhook_config_secret(config, "secret_access_key", true, NULL, err)) < 0)
        return rc;
    return act_webhook_config_secret(config, "session_token", false, NULL, err);
}

/* {base}/2015-03-31/functions/{function}/invocations[?Qualifier=q]: the
 * name is percent-encoded (':' of an ARN becomes %3A), as AWS's SDKs do. */
static int aws_url(const json_t *handler, const char *base, char **out, struct act_err *err)
{
    const char *fn = json_string_value(json_object_get(handler, "function"));
    const char *q = json_string_value(json_object_get(handler, "qualifier"));
    struct act_buf path = {0};
    int rc;

    act_buf_add(&path, "/2015-03-31/functions/", 22);
    act_webhook_pct_encode(&path, fn, strlen(fn));
    act_buf_add(&path, "/invocations", 12);
    if (q) {
        act_buf_add(&path, "?Qualifier=", 11);
        act_webhook_pct_encode(&path, q, strlen(q));
    }
    rc = act_preset_url(base, path.p, "handler.endpoint", out, err);
    act_free(path.p);
    return rc;
}

static int aws_open(const json_t *handler, const json_t *config, void **state,
                    struct act_err *err)
{
    const char *region = json_string_value(json_object_get(handler, "region"));
    const char *it = json_string_value(json_object_get(handler, "invocation_type"));
    const json_t *payload = json_object_get(handler, "payload");
    struct act_webhook_desc d = {.kind = "serverless_aws", .method = "POST",
                                 .url_field = "handler.endpoint", .body_field = "handler.payload",
                                 .sign = aws_sign, .interpret = aws_interpret,
                                 .ctx_free = aws_ctx_free};
    struct aws_ctx *c;
    char *def = NULL, *base = NULL;
    int rc;

    *state = NULL;
    if ((rc = aws_validate(handler, config, err)) < 0)
        return rc;
    d.ctx = c = act_xcalloc(1, sizeof(*c));
    snprintf(c->region, sizeof(c->region), "%s", region);
    def = act_xasprintf("https://lambda.%s.amazonaws.com", region);
    if ((rc = act_webhook_check_base_url(json_object_get(handler, "endpoint"),
                                         "handler.endpoint", def, &base, err)) < 0 ||
        (rc = aws_url(handler, base, &d.url, err)) < 0 ||
        (rc = act_webhook_config_secret(config, "access_key_id", true, &c->access_key_id,
                                        err)) < 0 ||
        (rc = act_webhook_config_secret(config, "secret_access_key", true,
                                        &c->secret_access_key, err)) < 0 ||
        (rc = act_webhook_config_secret(config, "session_token", false, &c->session_token,
                                        err)) < 0)
        goto out;
    act_webhook_desc_limits(&d, handler);
    d.headers = json_pack("{s:s}", "X-Amz-Invocation-Type", it ? it : "RequestResponse");
    d.body_mode = payload ? ACT_WEBHOOK_BODY_TEMPLATE : ACT_WEBHOOK_BODY_INPUT;
    d.body = json_deep_copy(payload);
    rc = act_webhook_open_desc(&d, state, err);
out:
    act_webhook_desc_release(&d);
    act_free(def);
    act_free(base);
    return rc;
}

const struct act_handler_ops act_handler_serverless_aws_ops = {
    .kind = "serverless_aws",
    .capabilities = "[\"async\",\"timeout\",\"remote\",\"signed\",\"retry_after\","
                    "\"egress_guard\"]",
    .schema =
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
        "\"description\":\"AWS Lambda Invoke, signed with Signature Version 4; output: the "
        "function's result, {\\\"status\\\": 202} for Event\","
        "\"type\":\"object\",\"required\":[\"kind\",\"function\",\"region\"],"
        "\"additionalProperties\":false,"
        "\"properties\":{\"kind\":{\"const\":\"serverless_aws\"},"
        "\"function\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9_:$.-]{1,170}$\","
        "\"description\":\"name, partial or full ARN\"},"
        "\"region\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9-]{1,32}$\"},"
        "\"qualifier\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9$_-]{1,128}$\"},"
        "\"invocation_type\":{\"enum\":[\"RequestResponse\",\"Event\"],"
        "\"default\":\"RequestResponse\"},"
        "\"payload\":{\"description\":\"any JSON value (templates allowed); default: the "
        "input\"},"
        "\"endpoint\":{\"type\":\"string\",\"format\":\"uri\",\"description\":\"default "
        "https://lambda.{region}.amazonaws.com\"}," ACT_PRESET_LIMITS_SCHEMA "},"
        "\"$defs\":{\"config\":{\"type\":\"object\",\"required\":[\"access_key_id\","
        "\"secret_access_key\"],\"properties\":{\"access_key_id\":{\"type\":\"string\"},"
        "\"secret_access_key\":{\"type\":\"string\",\"description\":\"secret; may be sealed "
        "(v1:...)\"},\"session_token\":{\"type\":\"string\"}}}}}",
    .validate = aws_validate,
    .open = aws_open,
    .execute = act_webhook_execute,
    .close = act_webhook_close,
    .start = act_webhook_start,
};

/* ---- serverless_azure ---- */

static int azure_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    static const char *const members[] = {"url", "method", "body", ACT_PRESET_LIMIT_MEMBERS,
                                          NULL};
    static const char *const methods[] = {"POST", "PUT", "PATCH", "DELETE", "GET", NULL};
    const json_t *m = json_object_get(handler, "method");
    bool known = !m;
    int rc;

    if ((rc = act_handler_check_members(handler, members, err)) < 0 ||
        (rc = act_webhook_check_url(json_object_get(handler, "url"), "handler.url", true,
                                    err)) < 0)
        return rc;
    for (size_t i = 0; !known && json_is_string(m) && methods[i]; i++)
        known = strcmp(json_string_value(m), methods[i]) == 0;
    if (!known)
        return act_err_field(err, ACT_EUNPROC, "handler.method",
                             "method must be one of POST, PUT, PATCH, DELETE, GET");
    if (m && strcmp(json_string_value(m), "GET") == 0 && json_object_get(handler, "body"))
        return act_err_field(err, ACT_EUNPROC, "handler.body", "a GET request carries no body");
    if ((rc = act_webhook_check_template(json_object_get(handler, "body"), "handler.body",
                                         err)) < 0 ||
        (rc = act_webhook_check_limits(handler, err)) < 0)
        return rc;
    return act_webhook_config_secret(config, "function_key", true, NULL, err);
}

static int azure_open(const json_t *handler, const json_t *config, void **state,
                      struct act_err *err)
{
    const json_t *url = json_object_get(handler, "url");
    const json_t *m = json_object_get(handler, "method");
    const json_t *body = json_object_get(handler, "body");
    struct act_webhook_desc d = {.kind = "serverless_azure"};
    char *key = NULL;
    int rc;

    *state = NULL;
    if ((rc = azure_validate(handler, config, err)) < 0 ||
        (rc = act_webhook_config_secret(config, "function_key", true, &key, err)) < 0)
        return rc;
    snprintf(d.method, sizeof(d.method), "%s", m ? json_string_value(m) : "POST");
    if (act_webhook_has_template(url))
        d.url_tpl = json_deep_copy(url);
    else if ((rc = act_webhook_parse_url(json_string_value(url), &d.url, NULL, 0, err)) < 0)
        goto out;
    act_webhook_desc_limits(&d, handler);
    d.body_mode = body ? ACT_WEBHOOK_BODY_TEMPLATE : ACT_WEBHOOK_BODY_INPUT;
    d.body = json_deep_copy(body);
    d.auth_line = act_xasprintf("x-functions-key: %s", key);
    rc = act_webhook_open_desc(&d, state, err);
out:
    act_webhook_desc_release(&d);
    act_secret_free(key);
    return rc;
}

const struct act_handler_ops act_handler_serverless_azure_ops = {
    .kind = "serverless_azure",
    .capabilities = "[\"async\",\"timeout\",\"remote\",\"retry_after\",\"egress_guard\"]",
    .schema =
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
        "\"description\":\"an HTTP-triggered Azure Function, authorised with a function key "
        "(x-functions-key); output: the JSON answer\","
        "\"type\":\"object\",\"required\":[\"kind\",\"url\"],\"additionalProperties\":false,"
        "\"properties\":{\"kind\":{\"const\":\"serverless_azure\"},"
        "\"url\":{\"type\":\"string\",\"format\":\"uri\",\"maxLength\":2048,"
        "\"description\":\"https://{app}.azurewebsites.net/api/{function}\"},"
        "\"method\":{\"enum\":[\"POST\",\"PUT\",\"PATCH\",\"DELETE\",\"GET\"],"
        "\"default\":\"POST\"},"
        "\"body\":{\"description\":\"any JSON value (templates allowed); default: the "
        "input\"}," ACT_PRESET_LIMITS_SCHEMA "},"
        "\"$defs\":{\"config\":{\"type\":\"object\",\"required\":[\"function_key\"],"
        "\"properties\":{\"function_key\":{\"type\":\"string\",\"description\":\"secret; "
        "may be sealed (v1:...)\"}}}}}",
    .validate = azure_validate,
    .open = azure_open,
    .execute = act_webhook_execute,
    .close = act_webhook_close,
    .start = act_webhook_start,
};
