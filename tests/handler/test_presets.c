/*
 * handler: the provider presets over the webhook machinery
 * (handler_preset_*.c): sms, slack, push, graphql, external_api,
 * serverless_aws, serverless_azure.
 *
 * Validation: each kind refuses bad specs and configs naming the field in
 * its own terms.  Request building: each kind is opened through its ops and
 * act_webhook_build() shows the request an attempt would send (URL, method,
 * headers, form or JSON body, auth) without a network; the answers are
 * covered end to end by tests/integration/test_providers.py against
 * loopback imitations of the providers.  Also the form/query encoder, the
 * response-header lookup used by interpret hooks, and the redaction of the
 * presets' secret config keys.
 */
#include "base/alloc.h"
#include "base/err.h"
#include "handler/aws_sigv4.h"
#include "handler/handler.h"
#include "handler/handler_webhook.h"
#include "handler/webhook_sign.h"
#include "model/model.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static json_t *js(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

    if (!v) {
        diag("bad test JSON %s: %s", text, jerr.text);
        abort();
    }
    return v;
}

static bool same(const json_t *v, const char *text)
{
    json_t *want = js(text);
    bool eq = json_equal(v, want);

    json_decref(want);
    return eq;
}

static bool same_text(const char *got, const char *text)
{
    json_t *v = got ? json_loads(got, JSON_DECODE_ANY, NULL) : NULL;
    bool eq = v && same(v, text);

    if (!eq)
        diag("got body %s", got ? got : "(none)");
    json_decref(v);
    return eq;
}

static int validate(const char *handler, const char *config, struct act_err *err)
{
    json_t *h = js(handler), *c = config ? js(config) : NULL;
    int rc;

    act_err_clear(err);
    rc = act_handler_validate(h, c, err);
    json_decref(h);
    json_decref(c);
    return rc;
}

/* ---- validation ---- */

#define TW "{\"account_sid\":\"AC0123456789abcdef0123456789abcdef\",\"auth_token\":\"tok\"}"
#define AWSC "{\"access_key_id\":\"AKIDEXAMPLE\",\"secret_access_key\":\"s3cr3t\"}"

static void test_validate(void)
{
    static const struct {
        const char *handler, *config, *field;
    } bad[] = {
        /* sms */
        {"{\"kind\":\"sms\",\"from\":\"+1\",\"body\":\"hi\"}", TW, "handler.to"},
        {"{\"kind\":\"sms\",\"to\":\"+1\",\"body\":\"hi\"}", TW, "handler.from"},
        {"{\"kind\":\"sms\",\"to\":\"+1\",\"from\":\"+2\",\"messaging_service_sid\":\"MG1\","
         "\"body\":\"hi\"}", TW, "handler.messaging_service_sid"},
        {"{\"kind\":\"sms\",\"to\":\"+1\",\"from\":\"+2\"}", TW, "handler.body"},
        {"{\"kind\":\"sms\",\"to\":\"{{ ( }}\",\"from\":\"+2\",\"body\":\"x\"}", TW,
         "handler.to"},
        {"{\"kind\":\"sms\",\"to\":\"+1\",\"from\":\"+2\",\"body\":\"x\",\"base_url\":"
         "\"ftp://h\"}", TW, "handler.base_url"},
        {"{\"kind\":\"sms\",\"to\":\"+1\",\"from\":\"+2\",\"body\":\"x\",\"base_url\":"
         "\"http://h/?a=1\"}", TW, "handler.base_url"},
        {"{\"kind\":\"sms\",\"to\":\"+1\",\"from\":\"+2\",\"body\":\"x\",\"media\":[]}", TW,
         "handler.media"},
        {"{\"kind\":\"sms\",\"to\":\"+1\",\"from\":\"+2\",\"body\":\"x\"}",
         "{\"auth_token\":\"t\"}", "config.account_sid"},
        {"{\"kind\":\"sms\",\"to\":\"+1\",\"from\":\"+2\",\"body\":\"x\"}",
         "{\"account_sid\":\"AC/../x\",\"auth_token\":\"t\"}", "config.account_sid"},
        {"{\"kind\":\"sms\",\"to\":\"+1\",\"from\":\"+2\",\"body\":\"x\"}",
         "{\"account_sid\":\"AC1\"}", "config.auth_token"},
        {"{\"kind\":\"sms\",\"to\":\"+1\",\"from\":\"+2\",\"body\":\"x\",\"status_callback\":"
         "\"nope\"}", TW, "handler.status_callback"},
        /* slack */
        {"{\"kind\":\"slack\",\"text\":\"hi\"}", "{}", "config.webhook_url"},
        {"{\"kind\":\"slack\",\"webhook_url\":\"http://h/x\"}", "{}", "handler.text"},
        {"{\"kind\":\"slack\",\"webhook_url\":\"http://h/x\",\"text\":\"a\"}",
         "{\"webhook_url\":\"http://h/y\"}", "handler.webhook_url"},
        {"{\"kind\":\"slack\",\"text\":\"a\"}", "{\"webhook_url\":\"gopher://h\"}",
         "config.webhook_url"},
        {"{\"kind\":\"slack\",\"webhook_url\":\"http://h/{{ input.x }}\",\"text\":\"a\"}", "{}",
         "handler.webhook_url"},
        {"{\"kind\":\"slack\",\"text\":\"a\",\"blocks\":{}}", "{\"webhook_url\":\"http://h/\"}",
         "handler.blocks"},
        {"{\"kind\":\"slack\",\"text\":7}", "{\"webhook_url\":\"http://h/\"}", "handler.text"},
        /* push */
        {"{\"kind\":\"push\",\"token\":\"t\",\"title\":\"x\"}", "{\"access_token\":\"a\"}",
         "handler.project_id"},
        {"{\"kind\":\"push\",\"project_id\":\"p/x\",\"token\":\"t\",\"title\":\"x\"}",
         "{\"access_token\":\"a\"}", "handler.project_id"},
        {"{\"kind\":\"push\",\"project_id\":\"p\",\"title\":\"x\"}", "{\"access_token\":\"a\"}",
         "handler.token"},
        {"{\"kind\":\"push\",\"project_id\":\"p\",\"token\":\"t\",\"topic\":\"n\","
         "\"title\":\"x\"}", "{\"access_token\":\"a\"}", "handler.topic"},
        {"{\"kind\":\"push\",\"project_id\":\"p\",\"token\":\"t\"}", "{\"access_token\":\"a\"}",
         "handler.title"},
        {"{\"kind\":\"push\",\"project_id\":\"p\",\"token\":\"t\",\"data\":{\"n\":1}}",
         "{\"access_token\":\"a\"}", "handler.data.n"},
        {"{\"kind\":\"push\",\"project_id\":\"p\",\"token\":\"t\",\"data\":{\"google.x\":\"1\"}}",
         "{\"access_token\":\"a\"}", "handler.data.google.x"},
        {"{\"kind\":\"push\",\"project_id\":\"p\",\"token\":\"t\",\"title\":\"x\"}", "{}",
         "config.access_token"},
        /* graphql */
        {"{\"kind\":\"graphql\",\"query\":\"{ a }\"}", NULL, "handler.url"},
        {"{\"kind\":\"graphql\",\"url\":\"http://h/g\"}", NULL, "handler.query"},
        {"{\"kind\":\"graphql\",\"url\":\"http://h/g\",\"query\":\"{ a }\",\"variables\":[1]}",
         NULL, "handler.variables"},
        {"{\"kind\":\"graphql\",\"url\":\"http://h/g\",\"query\":\"{ a }\",\"variables\":"
         "{\"n\":\"{{ ) }}\"}}", NULL, "handler.variables.n"},
        {"{\"kind\":\"graphql\",\"url\":\"http://h/g\",\"query\":\"{ a }\","
         "\"operation_name\":\"1x\"}", NULL, "handler.operation_name"},
        {"{\"kind\":\"graphql\",\"url\":\"http://h/g\",\"query\":\"{ a }\",\"headers\":"
         "{\"Authorization\":\"x\"}}", "{\"token\":\"t\"}", "handler.headers.Authorization"},
        {"{\"kind\":\"graphql\",\"url\":\"http://h/g\",\"query\":\"{ a }\"}", "{\"token\":\"\"}",
         "config.token"},
        /* external_api */
        {"{\"kind\":\"external_api\",\"url\":\"http://h/r\"}", NULL, "handler.method"},
        {"{\"kind\":\"external_api\",\"url\":\"http://h/r\",\"method\":\"TRACE\"}", NULL,
         "handler.method"},
        {"{\"kind\":\"external_api\",\"url\":\"http://h/r\",\"method\":\"GET\",\"body\":{}}",
         NULL, "handler.body"},
        {"{\"kind\":\"external_api\",\"url\":\"http://h/r\",\"method\":\"GET\",\"query\":"
         "{\"a\":{\"b\":1}}}", NULL, "handler.query.a"},
        {"{\"kind\":\"external_api\",\"url\":\"http://h/r\",\"method\":\"GET\",\"auth\":"
         "{\"type\":\"digest\"}}", NULL, "handler.auth.type"},
        {"{\"kind\":\"external_api\",\"url\":\"http://h/r\",\"method\":\"GET\",\"auth\":"
         "{\"type\":\"bearer\"}}", "{}", "config.token"},
        {"{\"kind\":\"external_api\",\"url\":\"http://h/r\",\"method\":\"GET\",\"auth\":"
         "{\"type\":\"basic\"}}", "{\"username\":\"u\"}", "config.password"},
        {"{\"kind\":\"external_api\",\"url\":\"http://h/r\",\"method\":\"GET\",\"auth\":"
         "{\"type\":\"basic\"}}", "{\"username\":\"u:x\",\"password\":\"p\"}",
         "config.username"},
        {"{\"kind\":\"external_api\",\"url\":\"http://h/r\",\"method\":\"GET\",\"auth\":"
         "{\"type\":\"api_key\",\"header\":\"Bad Name\"}}", "{\"api_key\":\"k\"}",
         "handler.auth.header"},
        {"{\"kind\":\"external_api\",\"url\":\"http://h/r\",\"method\":\"GET\",\"auth\":"
         "{\"type\":\"api_key\",\"header\":\"X-Key\"},\"headers\":{\"x-key\":\"v\"}}",
         "{\"api_key\":\"k\"}", "handler.headers.x-key"},
        {"{\"kind\":\"external_api\",\"url\":\"http://h/r\",\"method\":\"GET\",\"auth\":"
         "{\"type\":\"bearer\",\"header\":\"X\"}}", "{\"token\":\"t\"}", "handler.auth.header"},
        {"{\"kind\":\"external_api\",\"url\":\"http://h/r\",\"method\":\"POST\",\"body\":[1],"
         "\"encoding\":\"form\"}", NULL, "handler.body"},
        {"{\"kind\":\"external_api\",\"url\":\"http://h/r\",\"method\":\"POST\",\"encoding\":"
         "\"xml\"}", NULL, "handler.encoding"},
        /* serverless_aws */
        {"{\"kind\":\"serverless_aws\",\"region\":\"us-east-1\"}", AWSC, "handler.function"},
        {"{\"kind\":\"serverless_aws\",\"function\":\"f/../g\",\"region\":\"us-east-1\"}", AWSC,
         "handler.function"},
        {"{\"kind\":\"serverless_aws\",\"function\":\"f\"}", AWSC, "handler.region"},
        {"{\"kind\":\"serverless_aws\",\"function\":\"f\",\"region\":\"us east\"}", AWSC,
         "handler.region"},
        {"{\"kind\":\"serverless_aws\",\"function\":\"f\",\"region\":\"r\",\"qualifier\":"
         "\"a/b\"}", AWSC, "handler.qualifier"},
        {"{\"kind\":\"serverless_aws\",\"function\":\"f\",\"region\":\"r\","
         "\"invocation_type\":\"DryRun\"}", AWSC, "handler.invocation_type"},
        {"{\"kind\":\"serverless_aws\",\"function\":\"f\",\"region\":\"r\",\"endpoint\":"
         "\"http://h/?x\"}", AWSC, "handler.endpoint"},
        {"{\"kind\":\"serverless_aws\",\"function\":\"f\",\"region\":\"r\",\"payload\":"
         "\"{{ ( }}\"}", AWSC, "handler.payload"},
        {"{\"kind\":\"serverless_aws\",\"function\":\"f\",\"region\":\"r\"}",
         "{\"secret_access_key\":\"s\"}", "config.access_key_id"},
        {"{\"kind\":\"serverless_aws\",\"function\":\"f\",\"region\":\"r\"}",
         "{\"access_key_id\":\"AK\"}", "config.secret_access_key"},
        {"{\"kind\":\"serverless_aws\",\"function\":\"f\",\"region\":\"r\"}",
         "{\"access_key_id\":\"AK\",\"secret_access_key\":\"s\",\"session_token\":7}",
         "config.session_token"},
        /* serverless_azure */
        {"{\"kind\":\"serverless_azure\"}", "{\"function_key\":\"k\"}", "handler.url"},
        {"{\"kind\":\"serverless_azure\",\"url\":\"http://h/api/f\",\"method\":\"HEAD\"}",
         "{\"function_key\":\"k\"}", "handler.method"},
        {"{\"kind\":\"serverless_azure\",\"url\":\"http://h/api/f\",\"method\":\"GET\","
         "\"body\":1}", "{\"function_key\":\"k\"}", "handler.body"},
        {"{\"kind\":\"serverless_azure\",\"url\":\"http://h/api/f\"}", "{}",
         "config.function_key"},
        {"{\"kind\":\"serverless_azure\",\"url\":\"http://h/api/f\"}",
         "{\"function_key\":\"a\\nb\"}", "config.function_key"},
        {"{\"kind\":\"serverless_azure\",\"url\":\"http://h/api/f\",\"timeout_ms\":0}",
         "{\"function_key\":\"k\"}", "handler.timeout_ms"},
    };
    static const struct {
        const char *handler, *config;
    } good[] = {
        {"{\"kind\":\"sms\",\"to\":\"{{ input.phone }}\",\"messaging_service_sid\":\"MG1\","
         "\"body\":\"Hi {{ input.name }}\",\"timeout_ms\":5000}", TW},
        {"{\"kind\":\"slack\",\"blocks\":[{\"type\":\"section\"}],\"channel\":\"#ops\"}",
         "{\"webhook_url\":\"https://hooks.slack.com/services/T/B/x\"}"},
        {"{\"kind\":\"push\",\"project_id\":\"my-proj\",\"topic\":\"news\",\"data\":"
         "\"{{ input.data }}\"}", "{\"access_token\":\"ya29.x\"}"},
        {"{\"kind\":\"graphql\",\"url\":\"https://api.example.com/graphql\",\"query\":"
         "\"mutation Add($n: Int!) { add(n: $n) { id } }\",\"variables\":"
         "\"{{ input.vars }}\",\"operation_name\":\"Add\"}", NULL},
        {"{\"kind\":\"external_api\",\"url\":\"https://api.example.com/{{ input.path }}\","
         "\"method\":\"DELETE\",\"auth\":{\"type\":\"api_key\"}}", "{\"api_key\":\"k\"}"},
        {"{\"kind\":\"serverless_aws\",\"function\":\"arn:aws:lambda:us-east-1:123456789012:"
         "function:hello:$LATEST\",\"region\":\"us-east-1\",\"invocation_type\":\"Event\"}",
         AWSC},
        {"{\"kind\":\"serverless_azure\",\"url\":\"https://app.azurewebsites.net/api/fn\","
         "\"method\":\"GET\"}", "{\"function_key\":\"k\"}"},
    };
    struct act_err err;

    subtest("validate: fields named in each kind's terms");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = validate(bad[i].handler, bad[i].config, &err);

        ok(rc == ACT_EUNPROC, "refused: %s", bad[i].handler);
        is_str(err.field, bad[i].field, "field %s (%s)", bad[i].field, err.msg);
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        is_int(validate(good[i].handler, good[i].config, &err), ACT_OK, "accepted: %s (%s %s)",
               good[i].handler, err.field, err.msg);
}

/* ---- request building ---- */

struct built {
    void *state;
    const struct act_handler_ops *ops;
    struct act_webhook_req req;
    struct act_handler_result res;
    int rc;
};

/* Open `handler` with `config` and build one attempt's request. */
static int build(struct built *b, const char *handler, const char *config, const char *input)
{
    json_t *h = js(handler), *c = js(config ? config : "{}"), *in = js(input ? input : "{}");
    struct act_handler_call call = {.execution_id = "exec-2", .root_id = "exec-1", .attempt = 1,
                                    .action_name = "a", .input = in, .config = c,
                                    .timeout_ms = 1000};
    struct act_err err = {0};

    memset(b, 0, sizeof(*b));
    b->ops = act_handler_find(json_string_value(json_object_get(h, "kind")));
    if (!b->ops || b->ops->open(h, c, &b->state, &err) < 0) {
        diag("open %s: %s (%s)", handler, err.msg, err.field);
        b->rc = ACT_EINVAL;
    } else {
        b->rc = act_webhook_build(b->state, &call, &b->req, &b->res);
    }
    json_decref(h);
    json_decref(c);
    json_decref(in);
    return b->rc;
}

static void built_release(struct built *b)
{
    act_webhook_req_release(&b->req);
    act_handler_result_release(&b->res);
    if (b->state)
        b->ops->close(b->state);
}

static const char *hdr(const struct built *b, const char *name)
{
    const char *v = act_webhook_req_header(&b->req, name);

    return v ? v : "(absent)";
}

static void test_sms(void)
{
    struct built b;
    char *basic;

    subtest("sms: Twilio Messages, form-encoded, Basic auth");
    is_int(build(&b, "{\"kind\":\"sms\",\"to\":\"{{ input.phone }}\",\"from\":\"+15557654321\","
                     "\"body\":\"Hello {{ input.name }} & co!\",\"base_url\":"
                     "\"http://127.0.0.1:9/\"}", TW, "{\"phone\":\"+15551234567\",\"name\":\"Ada\"}"),
           ACT_OK, "built");
    is_str(b.req.url,
           "http://127.0.0.1:9/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/"
           "Messages.json", "the Messages URL under base_url");
    is_str(b.req.method, "POST", "POST");
    is_str(hdr(&b, "Content-Type"), "application/x-www-form-urlencoded", "form content type");
    is_str(b.req.body, "To=%2B15551234567&From=%2B15557654321&Body=Hello%20Ada%20%26%20co%21",
           "To, From, Body form-encoded in Twilio's names");
    basic = act_xasprintf("Basic %s", "QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjp0b2s=");
    is_str(hdr(&b, "Authorization"), basic, "Basic base64(account_sid:auth_token)");
    act_free(basic);
    is_str(hdr(&b, "webhook-id"), "(absent)", "no Standard Webhooks headers on a preset");
    built_release(&b);

    is_int(build(&b, "{\"kind\":\"sms\",\"to\":\"+1\",\"messaging_service_sid\":\"MG9\",\"body\":"
                     "\"x\",\"status_callback\":\"https://cb.example.com/s?id={{ execution.id }}\"}",
                 TW, NULL),
           ACT_OK, "messaging_service_sid and status_callback");
    is_str(b.req.url,
           "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/"
           "Messages.json", "the default base is api.twilio.com");
    is_str(b.req.body,
           "To=%2B1&MessagingServiceSid=MG9&Body=x&StatusCallback=https%3A%2F%2Fcb.example.com"
           "%2Fs%3Fid%3Dexec-2", "MessagingServiceSid and a rendered StatusCallback");
    built_release(&b);

    is_int(build(&b, "{\"kind\":\"sms\",\"to\":\"{{ input.who }}\",\"from\":\"+1\",\"body\":"
                     "\"x\"}", TW, "{\"who\":{\"a\":1}}"),
           ACT_EPLUGIN, "a to that renders to an object fails");
    ok(b.res.permanent, "permanently");
    ok(strncmp(b.res.error, "handler.to:", 11) == 0, "naming handler.to: %s", b.res.error);
    built_release(&b);
}

static void test_slack(void)
{
    struct built b;

    subtest("slack: incoming webhook, JSON");
    is_int(build(&b, "{\"kind\":\"slack\",\"text\":\"Deploy {{ input.n }} done\",\"channel\":"
                     "\"#ops\",\"blocks\":\"{{ input.blocks }}\"}",
                 "{\"webhook_url\":\"http://127.0.0.1:9/services/T0/B0/secret\"}",
                 "{\"n\":42,\"blocks\":[{\"type\":\"divider\"}]}"),
           ACT_OK, "built");
    is_str(b.req.url, "http://127.0.0.1:9/services/T0/B0/secret", "the URL from config");
    is_str(b.req.hostport, "127.0.0.1:9", "messages show only host:port");
    is_str(hdr(&b, "Content-Type"), "application/json", "JSON");
    ok(same_text(b.req.body, "{\"text\":\"Deploy 42 done\",\"channel\":\"#ops\","
                             "\"blocks\":[{\"type\":\"divider\"}]}"),
       "text rendered, blocks typed");
    is_str(hdr(&b, "Authorization"), "(absent)", "no auth header: the URL is the credential");
    built_release(&b);
}

static void test_push(void)
{
    struct built b;

    subtest("push: FCM HTTP v1, Bearer");
    is_int(build(&b, "{\"kind\":\"push\",\"project_id\":\"proj-1\",\"token\":"
                     "\"{{ input.device }}\",\"title\":\"Order {{ input.n }}\",\"body\":"
                     "\"shipped\",\"data\":{\"n\":\"{{ input.n }}\",\"k\":\"v\"},\"base_url\":"
                     "\"http://127.0.0.1:9\"}", "{\"access_token\":\"ya29.tok\"}",
                 "{\"device\":\"dev-1\",\"n\":7}"),
           ACT_OK, "built");
    is_str(b.req.url, "http://127.0.0.1:9/v1/projects/proj-1/messages:send", "messages:send");
    is_str(hdr(&b, "Authorization"), "Bearer ya29.tok", "Bearer access_token");
    ok(same_text(b.req.body, "{\"message\":{\"token\":\"dev-1\",\"notification\":{\"title\":"
                             "\"Order 7\",\"body\":\"shipped\"},\"data\":{\"n\":\"7\","
                             "\"k\":\"v\"}}}"),
       "the message shape; data values as strings");
    built_release(&b);

    is_int(build(&b, "{\"kind\":\"push\",\"project_id\":\"p\",\"topic\":\"news\",\"data\":"
                     "\"{{ input.d }}\"}", "{\"access_token\":\"t\"}", "{\"d\":[1]}"),
           ACT_EPLUGIN, "data rendering to a list fails");
    ok(strncmp(b.res.error, "handler.data:", 13) == 0, "naming handler.data: %s", b.res.error);
    built_release(&b);
    is_int(build(&b, "{\"kind\":\"push\",\"project_id\":\"p\",\"topic\":\"news\",\"title\":"
                     "\"t\"}", "{\"access_token\":\"t\"}", NULL),
           ACT_OK, "the default base URL");
    is_str(b.req.url, "https://fcm.googleapis.com/v1/projects/p/messages:send", "fcm.googleapis.com");
    built_release(&b);
}

static void test_graphql(void)
{
    struct built b;

    subtest("graphql: query, typed variables, operationName, Bearer");
    is_int(build(&b, "{\"kind\":\"graphql\",\"url\":\"http://127.0.0.1:9/graphql\",\"query\":"
                     "\"mutation Add($n: Int!, $tags: [String]) { add(n: $n) { id } }\","
                     "\"operation_name\":\"Add\",\"variables\":{\"n\":\"{{ input.n }}\","
                     "\"tags\":\"{{ input.tags }}\",\"note\":\"n={{ input.n }}\"},"
                     "\"headers\":{\"X-Trace\":\"{{ execution.id }}\"}}", "{\"token\":\"gq\"}",
                 "{\"n\":5,\"tags\":[\"a\",\"b\"]}"),
           ACT_OK, "built");
    is_str(b.req.method, "POST", "POST");
    ok(same_text(b.req.body, "{\"query\":\"mutation Add($n: Int!, $tags: [String]) { add(n: $n) "
                             "{ id } }\",\"operationName\":\"Add\",\"variables\":{\"n\":5,"
                             "\"tags\":[\"a\",\"b\"],\"note\":\"n=5\"}}"),
       "variables keep their types; the query is sent as written");
    is_str(hdr(&b, "Authorization"), "Bearer gq", "Bearer token");
    is_str(hdr(&b, "X-Trace"), "exec-2", "a templated header");
    built_release(&b);
}

static void test_external_api(void)
{
    struct built b;

    subtest("external_api: query encoding, auth kinds, bodies");
    is_int(build(&b, "{\"kind\":\"external_api\",\"url\":\"http://127.0.0.1:9/v1/items?x=1\","
                     "\"method\":\"GET\",\"query\":{\"q\":\"a b&c/é\",\"ids\":[1,2],\"n\":"
                     "\"{{ input.n }}\",\"skip\":\"{{ input.none }}\"},\"auth\":{\"type\":"
                     "\"api_key\",\"header\":\"X-Key\"}}", "{\"api_key\":\"k1\"}", "{\"n\":7}"),
           ACT_OK, "built a GET");
    is_str(b.req.url, "http://127.0.0.1:9/v1/items?x=1&q=a%20b%26c%2F%C3%A9&ids=1&ids=2&n=7",
           "query appended, percent-encoded; a list repeats; null left out");
    is_str(hdr(&b, "X-Key"), "k1", "the API key in its header");
    ok(b.req.body == NULL, "no body on GET");
    is_str(hdr(&b, "Content-Type"), "(absent)", "no content type without a body");
    built_release(&b);

    is_int(build(&b, "{\"kind\":\"external_api\",\"url\":\"http://127.0.0.1:9/r\",\"method\":"
                     "\"DELETE\",\"auth\":{\"type\":\"basic\"}}",
                 "{\"username\":\"u\",\"password\":\"p w\"}", NULL),
           ACT_OK, "built a DELETE without a body");
    is_str(b.req.method, "DELETE", "DELETE");
    ok(b.req.body == NULL, "no body member: no body (not the input)");
    is_str(hdr(&b, "Authorization"), "Basic dTpwIHc=", "Basic username:password");
    built_release(&b);

    is_int(build(&b, "{\"kind\":\"external_api\",\"url\":\"http://127.0.0.1:9/r\",\"method\":"
                     "\"POST\",\"encoding\":\"form\",\"body\":{\"amount\":\"{{ input.n }}\","
                     "\"currency\":\"eur\"},\"auth\":{\"type\":\"bearer\"}}",
                 "{\"token\":\"sk_1\"}", "{\"n\":250}"),
           ACT_OK, "built a form POST");
    is_str(b.req.body, "amount=250&currency=eur", "the form body");
    is_str(hdr(&b, "Authorization"), "Bearer sk_1", "Bearer");
    built_release(&b);

    is_int(build(&b, "{\"kind\":\"external_api\",\"url\":\"http://127.0.0.1:9/r\",\"method\":"
                     "\"GET\",\"query\":{\"q\":\"{{ input.o }}\"}}", NULL, "{\"o\":{\"a\":1}}"),
           ACT_EPLUGIN, "a query value rendering to an object fails");
    ok(strncmp(b.res.error, "handler.query.q:", 16) == 0 && b.res.permanent,
       "permanently, naming handler.query.q: %s", b.res.error);
    built_release(&b);
}

static void test_aws(void)
{
    struct built b;
    const char *auth, *date;
    char **again = NULL;
    struct act_err err = {0};

    subtest("serverless_aws: Lambda Invoke, SigV4");
    is_int(build(&b, "{\"kind\":\"serverless_aws\",\"function\":\"arn:aws:lambda:us-east-1:"
                     "123456789012:function:hello\",\"region\":\"us-east-1\",\"qualifier\":"
                     "\"prod\",\"invocation_type\":\"Event\",\"endpoint\":\"http://127.0.0.1:9/\"}",
                 "{\"access_key_id\":\"AKIDEXAMPLE\",\"secret_access_key\":\"s3cr3t\","
                 "\"session_token\":\"tok\"}", "{\"order\":1}"),
           ACT_OK, "built");
    is_str(b.req.url,
           "http://127.0.0.1:9/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A"
           "123456789012%3Afunction%3Ahello/invocations?Qualifier=prod",
           "the Invoke URL, the ARN percent-encoded, the qualifier as a query");
    ok(same_text(b.req.body, "{\"order\":1}"), "the payload defaults to the input");
    is_str(hdr(&b, "X-Amz-Invocation-Type"), "Event", "X-Amz-Invocation-Type");
    is_str(hdr(&b, "X-Amz-Security-Token"), "tok", "the session token is sent");
    date = hdr(&b, "X-Amz-Date");
    is_int(strlen(date), 16, "X-Amz-Date is YYYYMMDDTHHMMSSZ: %s", date);
    auth = hdr(&b, "Authorization");
    ok(strncmp(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 40) == 0,
       "Authorization is SigV4 with the access key: %s", auth);
    ok(strstr(auth, "/us-east-1/lambda/aws4_request") != NULL, "scoped to the region and lambda");
    ok(strstr(auth, "SignedHeaders=content-type;host;x-amz-date;x-amz-invocation-type;"
                    "x-amz-security-token,") != NULL,
       "Content-Type, Host and the X-Amz-* headers are signed");
    /* The hook signed the final request: signing it again at the same
     * instant gives the same Authorization. */
    {
        const char *lines[] = {"Content-Type: application/json", "X-Amz-Invocation-Type: Event",
                               NULL};
        struct act_sigv4_creds creds = {"AKIDEXAMPLE", "s3cr3t", "tok"};

        ok(act_sigv4_sign("POST", b.req.url, lines, b.req.body, b.req.body_len, "us-east-1",
                          "lambda", &creds, date, &again, &err) == ACT_OK, "re-sign");
        for (size_t i = 0; again && again[i]; i++)
            if (strncmp(again[i], "Authorization: ", 15) == 0)
                is_str(again[i] + 15, auth, "the signature covers the URL, headers and body sent");
        act_sigv4_free(again);
    }
    built_release(&b);

    is_int(build(&b, "{\"kind\":\"serverless_aws\",\"function\":\"hello\",\"region\":"
                     "\"eu-west-1\",\"payload\":{\"id\":\"{{ input.id }}\"}}", AWSC, "{\"id\":3}"),
           ACT_OK, "built with defaults");
    is_str(b.req.url,
           "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/hello/invocations",
           "the regional endpoint");
    is_str(hdr(&b, "X-Amz-Invocation-Type"), "RequestResponse", "RequestResponse by default");
    is_str(hdr(&b, "X-Amz-Security-Token"), "(absent)", "no token header without a token");
    ok(same_text(b.req.body, "{\"id\":3}"), "the payload template, typed");
    built_release(&b);
}

static void test_azure(void)
{
    struct built b;

    subtest("serverless_azure: function key");
    is_int(build(&b, "{\"kind\":\"serverless_azure\",\"url\":\"http://127.0.0.1:9/api/fn\","
                     "\"method\":\"PUT\",\"body\":{\"user\":\"{{ input.u }}\"}}",
                 "{\"function_key\":\"fk-1\"}", "{\"u\":\"ada\"}"),
           ACT_OK, "built");
    is_str(b.req.method, "PUT", "PUT");
    is_str(hdr(&b, "x-functions-key"), "fk-1", "x-functions-key");
    ok(same_text(b.req.body, "{\"user\":\"ada\"}"), "the body template");
    built_release(&b);
    is_int(build(&b, "{\"kind\":\"serverless_azure\",\"url\":\"http://127.0.0.1:9/api/fn\"}",
                 "{\"function_key\":\"fk-1\"}", "{\"u\":1}"),
           ACT_OK, "built with defaults");
    is_str(b.req.method, "POST", "POST by default");
    ok(same_text(b.req.body, "{\"u\":1}"), "the input by default");
    built_release(&b);
}

static void test_webhook_unchanged(void)
{
    struct built b;

    subtest("webhook: still Standard Webhooks");
    is_int(build(&b, "{\"kind\":\"webhook\",\"url\":\"http://127.0.0.1:9/h\"}",
                 "{\"secret\":\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}", "{\"a\":1}"),
           ACT_OK, "built");
    is_str(hdr(&b, "webhook-id"), "exec-1", "webhook-id is the root id");
    ok(strncmp(hdr(&b, "webhook-signature"), "v1,", 3) == 0, "signed");
    is_str(hdr(&b, "Content-Type"), "application/json", "JSON");
    built_release(&b);
}

/* ---- helpers ---- */

static void test_encoding(void)
{
    struct act_buf buf = {0};
    struct act_err err = {0};
    json_t *v = js("{\"a\":\"x y~\",\"b\":[1,true],\"c\":null,\"d\":1.5,\"\\u00e9\":\"=\"}");

    subtest("form and query encoding");
    is_int(act_webhook_form_encode(&buf, v, &err), ACT_OK, "encoded");
    is_str(buf.p, "a=x%20y~&b=1&b=true&d=1.5&%C3%A9=%3D", "RFC 3986 unreserved kept, the rest percent-encoded");
    act_free(buf.p);
    json_decref(v);
    memset(&buf, 0, sizeof(buf));
    v = js("{\"ok\":\"1\",\"nested\":{\"x\":1}}");
    is_int(act_webhook_form_encode(&buf, v, &err), ACT_EUNPROC, "an object value is refused");
    is_str(err.field, "nested", "naming the member");
    act_free(buf.p);
    json_decref(v);
}

static void test_answer_header(void)
{
    static const char head[] = "Content-Type: application/json\r\n"
                               "x-amz-function-error:  Unhandled \r\n"
                               "X-Amz-Executed-Version: 1\r\n\r\n";
    struct act_webhook_answer ans = {.status = 200, .body = "", .headers = head,
                                     .headers_len = sizeof(head) - 1};
    char out[64];

    subtest("answer headers for interpret hooks");
    ok(act_webhook_answer_header(&ans, "X-Amz-Function-Error", out, sizeof(out)),
       "found case-insensitively");
    is_str(out, "Unhandled", "trimmed");
    ok(!act_webhook_answer_header(&ans, "X-Amz-Function", out, sizeof(out)),
       "a prefix of a name does not match");
}

static void test_redaction(void)
{
    subtest("redaction of the presets' secrets");
    ok(act_key_is_secret("function_key"), "function_key");
    ok(act_key_is_secret("webhook_url"), "webhook_url");
    ok(act_key_is_secret("auth_token") && act_key_is_secret("access_token") &&
           act_key_is_secret("secret_access_key") && act_key_is_secret("session_token") &&
           act_key_is_secret("api_key") && act_key_is_secret("password"),
       "the other secret config keys");
}

int main(void)
{
    test_validate();
    test_sms();
    test_slack();
    test_push();
    test_graphql();
    test_external_api();
    test_aws();
    test_azure();
    test_webhook_unchanged();
    test_encoding();
    test_answer_header();
    test_redaction();
    return done_testing();
}
