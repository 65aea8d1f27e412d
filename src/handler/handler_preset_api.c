/*
 * Provider presets for APIs, over the webhook machinery
 * (handler_webhook.h): kinds `graphql` (one operation with variables) and
 * `external_api` (a generic REST call).
 *
 *   graphql:      {"url", "query", "variables"? (templated, typed),
 *                  "operation_name"?, "headers"?}   config {"token"?} (Bearer)
 *                 POST {"query", "variables", "operationName"} as JSON.  The
 *                 query is sent as written, never rendered: values go in
 *                 variables.  HTTP 200 with a non-empty "errors" array is a
 *                 failure with the first message; otherwise output = "data".
 *   external_api: {"url", "method", "query"? (object -> URL query, templated,
 *                  percent-encoded), "headers"?, "body"?, "encoding"?:
 *                  "json"|"form", "auth"?: {"type": "bearer"|"basic"|"api_key",
 *                  "header"?: name (api_key; default X-Api-Key)}}
 *                 config {"token"} | {"username", "password"} | {"api_key"}
 *                 Output: the JSON answer, {"status", "body"} when not JSON.
 *
 * Without a body member external_api sends none (unlike webhook, which
 * sends the input): a REST call states what it sends.
 *
 * Invariants: the states are webhook states (immutable after open); the
 * graphql context (query text, operation name) is read-only after open.
 */
#include "base/alloc.h"
#include "handler/handler_internal.h"
#include "handler/handler_preset.h"
#include "handler/handler_webhook.h"
#include "handler/secret_box.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define GRAPHQL_QUERY_MAX 100000
#define QUERY_MEMBERS_MAX 64

/* ---- graphql ---- */

struct graphql_ctx {
    json_t *query;          /* the operation text, sent as is */
    json_t *operation_name; /* or NULL */
};

static void graphql_ctx_free(void *p)
{
    struct graphql_ctx *c = p;

    if (!c)
        return;
    json_decref(c->query);
    json_decref(c->operation_name);
    act_free(c);
}

/* Rendered {variables?} -> the GraphQL-over-HTTP request object. */
static json_t *graphql_shape(const void *ctx, const json_t *rendered, struct act_err *err)
{
    const struct graphql_ctx *c = ctx;
    const json_t *vars = json_object_get(rendered, "variables");
    json_t *out;

    if (vars && !json_is_object(vars) && !json_is_null(vars)) {
        act_err_field(err, ACT_EUNPROC, "variables", "variables must render to an object");
        return NULL;
    }
    out = json_pack("{s:O}", "query", c->query);
    if (c->operation_name)
        json_object_set(out, "operationName", c->operation_name);
    if (vars && json_is_object(vars))
        json_object_set(out, "variables", (json_t *)vars);
    return out;
}

/* 2xx: a JSON object; a non-empty "errors" fails with the first message,
 * otherwise the output is "data".  Other statuses: the webhook's rules. */
static int graphql_interpret(const void *ctx, const struct act_webhook_answer *ans,
                             struct act_handler_result *res)
{
    json_t *doc, *errors, *first, *data;
    const char *msg;
    char start[201];
    int rc;

    (void)ctx;
    if (ans->status < 200 || ans->status >= 300)
        return ACT_WEBHOOK_DEFAULT;
    doc = json_loadb(ans->body, ans->body_len, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        act_handler_clean_text(start, sizeof(start), ans->body,
                               ans->body_len < 200 ? ans->body_len : 200, true);
        res->error_detail = json_pack("{s:i,s:s}", "status", (int)ans->status, "body", start);
        return act_handler_fail(res, ACT_EPLUGIN, "graphql: HTTP %ld answer is not a JSON "
                                "object: %s", ans->status, start);
    }
    errors = json_object_get(doc, "errors");
    data = json_object_get(doc, "data");
    if (json_is_array(errors) && json_array_size(errors) > 0) {
        first = json_array_get(errors, 0);
        msg = json_string_value(json_object_get(first, "message"));
        res->error_detail = json_pack("{s:i,s:O}", "status", (int)ans->status, "errors", errors);
        if (data && !json_is_null(data))
            json_object_set(res->error_detail, "data", data);
        rc = act_handler_fail(res, ACT_EPLUGIN, "graphql error: %s",
                              msg ? msg : "(no message)");
        json_decref(doc);
        return rc;
    }
    res->output = data && !json_is_null(data) ? json_incref(data) : NULL;
    json_decref(doc);
    return ACT_OK;
}

/* A GraphQL name: a letter or '_', then letters, digits, '_'. */
static int check_operation_name(const json_t *v, struct act_err *err)
{
    const char *s = json_string_value(v);

    if (!v)
        return ACT_OK;
    if (!s || !s[0] || json_string_length(v) > 128 || isdigit((unsigned char)s[0]))
        return act_err_field(err, ACT_EUNPROC, "handler.operation_name",
                             "operation_name must be a GraphQL name of 1..128 characters");
    for (const char *c = s; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_')
            return act_err_field(err, ACT_EUNPROC, "handler.operation_name",
                                 "operation_name must be a GraphQL name ([_A-Za-z][_0-9A-Za-z]*)");
    return ACT_OK;
}

static int graphql_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    static const char *const members[] = {"url", "query", "variables", "operation_name",
                                          "headers", ACT_PRESET_LIMIT_MEMBERS, NULL};
    const json_t *query = json_object_get(handler, "query");
    const json_t *vars = json_object_get(handler, "variables");
    bool token = json_object_get(config, "token") != NULL;
    int rc;

    if ((rc = act_handler_check_members(handler, members, err)) < 0 ||
        (rc = act_webhook_check_url(json_object_get(handler, "url"), "handler.url", true,
                                    err)) < 0)
        return rc;
    if (!query)
        return act_err_field(err, ACT_EUNPROC, "handler.query", "query is required");
    if (!json_is_string(query) || json_string_length(query) == 0 ||
        json_string_length(query) > GRAPHQL_QUERY_MAX)
        return act_err_field(err, ACT_EUNPROC, "handler.query",
                             "query must be a string of 1..%d bytes", GRAPHQL_QUERY_MAX);
    if (vars && !json_is_object(vars) && !(json_is_string(vars) && act_webhook_has_template(vars)))
        return act_err_field(err, ACT_EUNPROC, "handler.variables",
                             "variables must be an object, or a template of one");
    if ((rc = act_webhook_check_template(vars, "handler.variables", err)) < 0 ||
        (rc = check_operation_name(json_object_get(handler, "operation_name"), err)) < 0 ||
        (rc = act_webhook_check_headers(json_object_get(handler, "headers"), "handler.headers",
                                        token ? "Authorization" : NULL, "config.token", err)) <
            0 ||
        (rc = act_webhook_check_limits(handler, err)) < 0)
        return rc;
    return act_webhook_config_secret(config, "token", false, NULL, err);
}

static int graphql_open(const json_t *handler, const json_t *config, void **state,
                        struct act_err *err)
{
    static const char *const pick[] = {"variables", NULL};
    const json_t *url = json_object_get(handler, "url");
    struct act_webhook_desc d = {.kind = "graphql", .method = "POST",
                                 .body_mode = ACT_WEBHOOK_BODY_TEMPLATE, .body_field = "handler",
                                 .shape = graphql_shape, .interpret = graphql_interpret,
                                 .ctx_free = graphql_ctx_free};
    struct graphql_ctx *c;
    char *token = NULL;
    int rc;

    *state = NULL;
    if ((rc = graphql_validate(handler, config, err)) < 0 ||
        (rc = act_webhook_config_secret(config, "token", false, &token, err)) < 0)
        return rc;
    d.ctx = c = act_xcalloc(1, sizeof(*c));
    c->query = json_deep_copy(json_object_get(handler, "query"));
    c->operation_name = json_deep_copy(json_object_get(handler, "operation_name"));
    if (act_webhook_has_template(url))
        d.url_tpl = json_deep_copy(url);
    else if ((rc = act_webhook_parse_url(json_string_value(url), &d.url, NULL, 0, err)) < 0)
        goto out;
    act_webhook_desc_limits(&d, handler);
    d.headers = json_deep_copy(json_object_get(handler, "headers"));
    d.body = act_preset_pick(handler, pick);
    if (token)
        d.auth_line = act_preset_bearer_line(token);
    rc = act_webhook_open_desc(&d, state, err);
out:
    act_webhook_desc_release(&d);
    act_secret_free(token);
    return rc;
}

const struct act_handler_ops act_handler_graphql_ops = {
    .kind = "graphql",
    .capabilities = "[\"async\",\"timeout\",\"remote\",\"retry_after\",\"egress_guard\"]",
    .schema =
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
        "\"description\":\"one GraphQL operation over HTTP POST (JSON); a 200 answer with "
        "errors fails with the first message; output: the data member\","
        "\"type\":\"object\",\"required\":[\"kind\",\"url\",\"query\"],"
        "\"additionalProperties\":false,"
        "\"properties\":{\"kind\":{\"const\":\"graphql\"},"
        "\"url\":{\"type\":\"string\",\"format\":\"uri\",\"maxLength\":2048},"
        "\"query\":{\"type\":\"string\",\"maxLength\":100000,\"description\":\"sent as "
        "written, never rendered: put values in variables\"},"
        "\"variables\":{\"type\":[\"object\",\"string\"],\"description\":\"templates "
        "allowed; a string that is one {{ expr }} keeps its type\"},"
        "\"operation_name\":{\"type\":\"string\",\"pattern\":\"^[_A-Za-z][_0-9A-Za-z]*$\"},"
        "\"headers\":{\"type\":\"object\",\"maxProperties\":64,"
        "\"additionalProperties\":{\"type\":\"string\"}}," ACT_PRESET_LIMITS_SCHEMA "},"
        "\"$defs\":{\"config\":{\"type\":\"object\",\"properties\":{\"token\":"
        "{\"type\":\"string\",\"description\":\"sent as Authorization: Bearer; secret, may "
        "be sealed (v1:...)\"}}}}}",
    .validate = graphql_validate,
    .open = graphql_open,
    .execute = act_webhook_execute,
    .close = act_webhook_close,
    .start = act_webhook_start,
};

/* ---- external_api ---- */

enum auth_type { AUTH_NONE, AUTH_BEARER, AUTH_BASIC, AUTH_API_KEY };

/* handler.auth -> its type and the header it owns ("Authorization" or the
 * API key header); checks that config holds what the type needs. */
static int check_auth(const json_t *handler, const json_t *config, enum auth_type *type,
                      const char **header, struct act_err *err)
{
    const json_t *auth = json_object_get(handler, "auth"), *h;
    const char *t, *k;
    char *user = NULL;
    bool colon;
    json_t *v;
    int rc;

    *type = AUTH_NONE;
    *header = NULL;
    if (!auth)
        return ACT_OK;
    if (!json_is_object(auth))
        return act_err_field(err, ACT_EUNPROC, "handler.auth",
                             "auth must be an object {\"type\": \"bearer\"|\"basic\"|\"api_key\"}");
    json_object_foreach((json_t *)auth, k, v)
        if (strcmp(k, "type") != 0 && strcmp(k, "header") != 0) {
            char field[96];

            snprintf(field, sizeof(field), "handler.auth.%.64s", k);
            return act_err_field(err, ACT_EUNPROC, field, "unknown member '%.64s' of auth", k);
        }
    t = json_string_value(json_object_get(auth, "type"));
    h = json_object_get(auth, "header");
    if (t && strcmp(t, "bearer") == 0)
        *type = AUTH_BEARER;
    else if (t && strcmp(t, "basic") == 0)
        *type = AUTH_BASIC;
    else if (t && strcmp(t, "api_key") == 0)
        *type = AUTH_API_KEY;
    else
        return act_err_field(err, ACT_EUNPROC, "handler.auth.type",
                             "auth.type must be bearer, basic or api_key");
    *header = "Authorization";
    if (h && *type != AUTH_API_KEY)
        return act_err_field(err, ACT_EUNPROC, "handler.auth.header",
                             "auth.header applies to type api_key only");
    if (*type == AUTH_API_KEY) {
        json_t *probe = json_string("x");
        char field[160];

        *header = h ? json_string_value(h) : "X-Api-Key";
        rc = h ? (json_is_string(h) ? act_http_header_check("handler.auth", *header, probe,
                                                            field, sizeof(field), err)
                                    : act_err_field(err, ACT_EUNPROC, "handler.auth.header",
                                                    "auth.header must be a header name"))
               : ACT_OK;
        json_decref(probe);
        if (rc < 0) {
            if (err)
                snprintf(err->field, sizeof(err->field), "handler.auth.header");
            return rc;
        }
        return act_webhook_config_secret(config, "api_key", true, NULL, err);
    }
    if (*type == AUTH_BEARER)
        return act_webhook_config_secret(config, "token", true, NULL, err);
    if ((rc = act_webhook_config_secret(config, "username", true, &user, err)) < 0)
        return rc;
    colon = strchr(user, ':') != NULL;
    act_secret_free(user);
    if (colon)
        return act_err_field(err, ACT_EUNPROC, "config.username",
                             "username may not contain ':' (Basic auth)");
    return act_webhook_config_secret(config, "password", true, NULL, err);
}

/* handler.query: an object of scalars, lists of scalars, or templates. */
static int check_query(const json_t *query, struct act_err *err)
{
    const char *k;
    json_t *v, *e;
    size_t i;
    int rc;

    if (!query)
        return ACT_OK;
    if (!json_is_object(query) || json_object_size(query) > QUERY_MEMBERS_MAX)
        return act_err_field(err, ACT_EUNPROC, "handler.query",
                             "query must be an object of at most %d members", QUERY_MEMBERS_MAX);
    json_object_foreach((json_t *)query, k, v) {
        char field[96];
        bool bad = json_is_object(v) || json_is_null(v);

        snprintf(field, sizeof(field), "handler.query.%.64s", k);
        if (!k[0])
            return act_err_field(err, ACT_EUNPROC, field, "query names may not be empty");
        if (json_is_array(v))
            json_array_foreach(v, i, e)
                bad = bad || json_is_object(e) || json_is_array(e) || json_is_null(e);
        if (bad)
            return act_err_field(err, ACT_EUNPROC, field,
                                 "a query value must be a string, number, boolean or a list of "
                                 "them");
        if ((rc = act_webhook_check_template(v, field, err)) < 0)
            return rc;
    }
    return ACT_OK;
}

static int check_method(const json_t *handler, struct act_err *err)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};
    const json_t *m = json_object_get(handler, "method");

    if (!m)
        return act_err_field(err, ACT_EUNPROC, "handler.method", "method is required");
    for (size_t i = 0; json_is_string(m) && methods[i]; i++)
        if (strcmp(json_string_value(m), methods[i]) == 0) {
            if (i == 0 && json_object_get(handler, "body"))
                return act_err_field(err, ACT_EUNPROC, "handler.body",
                                     "a GET request carries no body");
            return ACT_OK;
        }
    return act_err_field(err, ACT_EUNPROC, "handler.method",
                         "method must be one of GET, POST, PUT, PATCH, DELETE");
}

static int check_encoding(const json_t *handler, struct act_err *err)
{
    const json_t *enc = json_object_get(handler, "encoding");
    const json_t *body = json_object_get(handler, "body");
    const char *s = json_string_value(enc);

    if (!enc)
        return ACT_OK;
    if (!s || (strcmp(s, "json") != 0 && strcmp(s, "form") != 0))
        return act_err_field(err, ACT_EUNPROC, "handler.encoding",
                             "encoding must be json or form");
    if (strcmp(s, "form") == 0 && !json_is_object(body) &&
        !(json_is_string(body) && act_webhook_has_template(body)))
        return act_err_field(err, ACT_EUNPROC, "handler.body",
                             "a form body must be an object (or a template of one)");
    return ACT_OK;
}

static int external_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    static const char *const members[] = {"url", "method", "query", "headers", "body",
                                          "encoding", "auth", ACT_PRESET_LIMIT_MEMBERS, NULL};
    enum auth_type type;
    const char *owned;
    int rc;

    if ((rc = act_handler_check_members(handler, members, err)) < 0 ||
        (rc = act_webhook_check_url(json_object_get(handler, "url"), "handler.url", true,
                                    err)) < 0 ||
        (rc = check_method(handler, err)) < 0 ||
        (rc = check_query(json_object_get(handler, "query"), err)) < 0 ||
        (rc = check_auth(handler, config, &type, &owned, err)) < 0 ||
        (rc = act_webhook_check_headers(json_object_get(handler, "headers"), "handler.headers",
                                        owned, "handler.auth", err)) < 0 ||
        (rc = act_webhook_check_template(json_object_get(handler, "body"), "handler.body",
                                         err)) < 0 ||
        (rc = check_encoding(handler, err)) < 0)
        return rc;
    return act_webhook_check_limits(handler, err);
}

/* The auth header line for the type, from config's (maybe sealed) values. */
static int auth_line(const json_t *config, enum auth_type type, const char *header, char **out,
                     struct act_err *err)
{
    char *a = NULL, *b = NULL;
    int rc = ACT_OK;

    *out = NULL;
    switch (type) {
    case AUTH_NONE:
        break;
    case AUTH_BEARER:
        if ((rc = act_webhook_config_secret(config, "token", true, &a, err)) == ACT_OK)
            *out = act_preset_bearer_line(a);
        break;
    case AUTH_BASIC:
        if ((rc = act_webhook_config_secret(config, "username", true, &a, err)) == ACT_OK &&
            (rc = act_webhook_config_secret(config, "password", true, &b, err)) == ACT_OK)
            *out = act_preset_basic_line(a, b);
        break;
    case AUTH_API_KEY:
        if ((rc = act_webhook_config_secret(config, "api_key", true, &a, err)) == ACT_OK)
            *out = act_xasprintf("%s: %s", header, a);
        break;
    }
    act_secret_free(a);
    act_secret_free(b);
    return rc;
}

static int external_open(const json_t *handler, const json_t *config, void **state,
                         struct act_err *err)
{
    const json_t *url = json_object_get(handler, "url");
    const json_t *body = json_object_get(handler, "body");
    const char *enc = json_string_value(json_object_get(handler, "encoding"));
    struct act_webhook_desc d = {.kind = "external_api"};
    enum auth_type type;
    const char *owned;
    int rc;

    *state = NULL;
    if ((rc = external_validate(handler, config, err)) < 0 ||
        (rc = check_auth(handler, config, &type, &owned, err)) < 0 ||
        (rc = auth_line(config, type, owned, &d.auth_line, err)) < 0)
        goto out;
    snprintf(d.method, sizeof(d.method), "%s",
             json_string_value(json_object_get(handler, "method")));
    if (act_webhook_has_template(url))
        d.url_tpl = json_deep_copy(url);
    else if ((rc = act_webhook_parse_url(json_string_value(url), &d.url, NULL, 0, err)) < 0)
        goto out;
    act_webhook_desc_limits(&d, handler);
    d.query = json_deep_copy(json_object_get(handler, "query"));
    d.headers = json_deep_copy(json_object_get(handler, "headers"));
    d.body_mode = body ? ACT_WEBHOOK_BODY_TEMPLATE : ACT_WEBHOOK_BODY_NONE;
    d.body = json_deep_copy(body);
    d.encoding = enc && strcmp(enc, "form") == 0 ? ACT_WEBHOOK_FORM : ACT_WEBHOOK_JSON;
    rc = act_webhook_open_desc(&d, state, err);
out:
    act_webhook_desc_release(&d);
    return rc;
}

const struct act_handler_ops act_handler_external_api_ops = {
    .kind = "external_api",
    .capabilities = "[\"async\",\"timeout\",\"remote\",\"retry_after\",\"egress_guard\"]",
    .schema =
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
        "\"description\":\"a generic REST call; output: the JSON answer, {status, body} when "
        "it is not JSON\","
        "\"type\":\"object\",\"required\":[\"kind\",\"url\",\"method\"],"
        "\"additionalProperties\":false,"
        "\"properties\":{\"kind\":{\"const\":\"external_api\"},"
        "\"url\":{\"type\":\"string\",\"format\":\"uri\",\"maxLength\":2048},"
        "\"method\":{\"enum\":[\"GET\",\"POST\",\"PUT\",\"PATCH\",\"DELETE\"]},"
        "\"query\":{\"type\":\"object\",\"maxProperties\":64,\"description\":\"appended to "
        "the URL, percent-encoded; templates allowed; a list repeats the name\"},"
        "\"headers\":{\"type\":\"object\",\"maxProperties\":64,"
        "\"additionalProperties\":{\"type\":\"string\"}},"
        "\"body\":{\"description\":\"any JSON value (templates allowed); absent: no body\"},"
        "\"encoding\":{\"enum\":[\"json\",\"form\"],\"default\":\"json\"},"
        "\"auth\":{\"type\":\"object\",\"required\":[\"type\"],\"additionalProperties\":false,"
        "\"properties\":{\"type\":{\"enum\":[\"bearer\",\"basic\",\"api_key\"]},"
        "\"header\":{\"type\":\"string\",\"default\":\"X-Api-Key\"}}},"
        ACT_PRESET_LIMITS_SCHEMA "},"
        "\"$defs\":{\"config\":{\"type\":\"object\",\"properties\":{"
        "\"token\":{\"type\":\"string\",\"description\":\"auth bearer\"},"
        "\"username\":{\"type\":\"string\"},\"password\":{\"type\":\"string\"},"
        "\"api_key\":{\"type\":\"string\",\"description\":\"auth api_key\"}}}}}",
    .validate = external_validate,
    .open = external_open,
    .execute = act_webhook_execute,
    .close = act_webhook_close,
    .start = act_webhook_start,
};
