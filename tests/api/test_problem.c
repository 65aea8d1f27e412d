/* api: problem+json bodies, the act_status -> HTTP mapping, reply helpers,
 * request-body JSON parsing and media types. */
#include "api/api_internal.h"
#include "base/alloc.h"
#include "tap.h"

#include <string.h>

static void test_mapping(void)
{
    is_int(act_api_status_from_code(ACT_EINVAL), 400, "EINVAL 400");
    is_int(act_api_status_from_code(ACT_ENOTFOUND), 404, "ENOTFOUND 404");
    is_int(act_api_status_from_code(ACT_ECONFLICT), 409, "ECONFLICT 409");
    is_int(act_api_status_from_code(ACT_EUNPROC), 422, "EUNPROC 422");
    is_int(act_api_status_from_code(ACT_ETOOBIG), 413, "ETOOBIG 413");
    is_int(act_api_status_from_code(ACT_EBUSY), 503, "EBUSY 503");
    is_int(act_api_status_from_code(ACT_ESTATE), 409, "ESTATE 409");
    is_int(act_api_status_from_code(ACT_EIO), 500, "EIO 500");
    is_int(act_api_status_from_code(ACT_ENOMEM), 500, "ENOMEM 500");
    is_int(act_api_status_from_code(ACT_EPLUGIN), 500, "EPLUGIN 500");
    is_int(act_api_status_from_code(-999), 500, "unknown code 500");

    is_str(act_api_problem_type(400), "https://actiond.dev/problems/invalid-input", "400 type");
    is_str(act_api_problem_type(404), "https://actiond.dev/problems/not-found", "404 type");
    is_str(act_api_problem_type(413), "https://actiond.dev/problems/payload-too-large", "413 type");
    is_str(act_api_problem_type(415), "https://actiond.dev/problems/unsupported-media-type",
           "415 type");
    is_str(act_api_problem_type(503), "https://actiond.dev/problems/unavailable", "503 type");
    is_str(act_api_problem_type(599), "https://actiond.dev/problems/internal",
           "unknown 5xx is internal");
    is_str(act_api_problem_title(405), "Method not allowed", "405 title");
}

static void test_problem_object(void)
{
    struct act_err err = {0};
    json_t *p;

    act_err_field(&err, ACT_EINVAL, "retry_policy.max_retries", "must be between %d and %d", 0,
                  100);
    p = act_api_problem_from_err(&err);
    is_str(json_string_value(json_object_get(p, "type")),
           "https://actiond.dev/problems/invalid-input", "type from EINVAL");
    is_str(json_string_value(json_object_get(p, "title")), "Invalid input", "title");
    is_int(json_integer_value(json_object_get(p, "status")), 400, "status member");
    is_str(json_string_value(json_object_get(p, "detail")), "must be between 0 and 100",
           "detail is the message");
    is_str(json_string_value(json_object_get(p, "field")), "retry_policy.max_retries",
           "field member");
    is_int(json_object_size(p), 5, "exactly five members");
    json_decref(p);

    act_err_set(&err, ACT_ESTATE, "execution 'x' already succeeded");
    p = act_api_problem_from_err(&err);
    is_int(json_integer_value(json_object_get(p, "status")), 409, "ESTATE status 409");
    is_str(json_string_value(json_object_get(p, "type")),
           "https://actiond.dev/problems/invalid-state", "ESTATE has its own type");
    ok(json_object_get(p, "field") == NULL, "no field when the error names none");
    json_decref(p);

    act_err_set(&err, ACT_ECONFLICT, "action name 'a' exists");
    p = act_api_problem_from_err(&err);
    is_str(json_string_value(json_object_get(p, "type")), "https://actiond.dev/problems/conflict",
           "ECONFLICT type");
    json_decref(p);

    act_err_clear(&err);
    err.code = ACT_ENOTFOUND;
    p = act_api_problem_from_err(&err);
    is_str(json_string_value(json_object_get(p, "detail")), "not found",
           "empty message falls back to act_strerror");
    json_decref(p);

    p = act_api_problem_new(400, "malformed-json", "bad \xff bytes", "");
    is_str(json_string_value(json_object_get(p, "type")),
           "https://actiond.dev/problems/malformed-json", "slug overrides the type");
    is_str(json_string_value(json_object_get(p, "detail")), "Invalid input",
           "non-UTF-8 detail replaced by the title");
    ok(json_object_get(p, "field") == NULL, "empty field omitted");
    json_decref(p);
}

static void test_replies(void)
{
    struct act_api_resp resp;
    struct act_err err = {0};

    memset(&resp, 0, sizeof(resp));
    act_api_reply_problem(&resp, 404, NULL, "id", "action '%s' not found", "a1");
    is_int(resp.status, 404, "reply_problem sets the status");
    is_str(resp.content_type, "application/problem+json", "problem content type");
    is_str(json_string_value(json_object_get(resp.body, "detail")), "action 'a1' not found",
           "formatted detail");
    is_str(json_string_value(json_object_get(resp.body, "field")), "id", "field");

    act_api_reply_json(&resp, 200, json_pack("{s:i}", "n", 1));
    is_int(resp.status, 200, "reply_json replaces the problem");
    ok(resp.content_type == NULL, "JSON replies use the default content type");
    is_int(json_integer_value(json_object_get(resp.body, "n")), 1, "body kept");

    act_api_reply_result(&resp, ACT_EIO, 200, json_object(), NULL);
    is_int(resp.status, 500, "error without sink: status from rc");

    act_err_set(&err, ACT_EUNPROC, "unknown handler kind 'x'");
    act_api_reply_result(&resp, ACT_EUNPROC, 200, NULL, &err);
    is_int(resp.status, 422, "EUNPROC result is 422");

    act_api_reply_created(&resp, "/v1/actions/", json_pack("{s:s}", "id", "abc"));
    is_int(resp.status, 201, "created is 201");
    is_str(resp.location, "/v1/actions/abc", "Location from the id");
    act_api_resp_release(&resp);
    ok(resp.body == NULL && resp.status == 0, "release zeroes");
}

static void test_json(void)
{
    struct act_err err = {0};
    json_t *v = NULL;
    char deep[300];
    size_t n = 0;
    char *s;

    is_int(act_api_json_parse("{\"a\": [1, 2]}", 13, false, &v, &err), 0, "object parses");
    ok(json_is_object(v), "object returned");
    json_decref(v);

    is_int(act_api_json_parse("{\"name\": ", 9, false, &v, &err), ACT_EINVAL, "truncated fails");
    ok(v == NULL, "no value on failure");
    ok(strncmp(err.msg, "malformed JSON at line 1 column ", 32) == 0, "message names line/column");
    is_str(err.field, "", "no field for malformed JSON");

    is_int(act_api_json_parse("{\"a\": 1, \"a\": 2}", 16, false, &v, &err), ACT_EINVAL,
           "duplicate keys rejected");
    ok(strstr(err.msg, "duplicate") != NULL, "message says duplicate");

    is_int(act_api_json_parse("{} x", 4, false, &v, &err), ACT_EINVAL, "trailing data rejected");
    is_int(act_api_json_parse("42", 2, false, &v, &err), ACT_EINVAL, "scalar rejected");
    is_int(act_api_json_parse("42", 2, true, &v, &err), 0, "scalar accepted with any");
    json_decref(v);
    is_int(act_api_json_parse("\"\xff\"", 3, true, &v, &err), ACT_EINVAL, "invalid UTF-8 rejected");

    for (int i = 0; i < 64; i++)
        deep[n++] = '[';
    for (int i = 0; i < 64; i++)
        deep[n++] = ']';
    is_int(act_api_json_parse(deep, n, false, &v, &err), 0, "64 levels accepted");
    json_decref(v);
    n = 0;
    for (int i = 0; i < 65; i++)
        deep[n++] = '[';
    for (int i = 0; i < 65; i++)
        deep[n++] = ']';
    is_int(act_api_json_parse(deep, n, false, &v, &err), ACT_EINVAL, "65 levels rejected");
    ok(strstr(err.msg, "nesting") != NULL, "message names the nesting");

    v = json_pack("{s:s,s:i}", "a", "\xc3\xa9t\xc3\xa9", "b", 2);
    s = act_api_json_dump(v, &n);
    is_str(s, "{\"a\":\"\xc3\xa9t\xc3\xa9\",\"b\":2}", "compact UTF-8 dump");
    is_int(n, strlen(s), "dump length");
    act_free(s);
    json_decref(v);
}

static void test_media(void)
{
    char mt[64];

    act_api_media_type("  Application/JSON ; charset=UTF-8", mt, sizeof(mt));
    is_str(mt, "application/json", "media type lowercased, params dropped");
    act_api_media_type(NULL, mt, sizeof(mt));
    is_str(mt, "", "NULL is empty");
    ok(act_api_media_is_json("application/json"), "application/json");
    ok(act_api_media_is_json("application/json; charset=utf-8"), "with charset");
    ok(act_api_media_is_json("application/cloudevents+json"), "cloudevents+json");
    ok(act_api_media_is_json("APPLICATION/CLOUDEVENTS-BATCH+JSON"), "batch, any case");
    ok(act_api_media_is_json("application/merge-patch+json"), "merge-patch+json");
    ok(!act_api_media_is_json("text/plain"), "text/plain is not JSON");
    ok(!act_api_media_is_json("application/x-www-form-urlencoded"), "form is not JSON");
    ok(!act_api_media_is_json("+json"), "bare suffix is not a media type");
    ok(!act_api_media_is_json("application/jsonx"), "jsonx is not JSON");
}

int main(void)
{
    test_mapping();
    test_problem_object();
    test_replies();
    test_json();
    test_media();
    return done_testing();
}
