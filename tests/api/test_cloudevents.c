/* api: CloudEvents binary mode, headers -> a structured event object. */
#include "api/api_internal.h"
#include "tap.h"

#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *str(const json_t *ev, const char *key)
{
    return json_string_value(json_object_get(ev, key));
}

static void test_json_body(void)
{
    const struct act_api_header h[] = {
        {"Host", "localhost"},
        {"CE-SpecVersion", "1.0"},
        {"ce-id", "evt-1"},
        {"Ce-Source", "/orders"},
        {"ce-type", "orders.created"},
        {"ce-subject", "order/42"},
        {"ce-time", "2026-01-02T03:04:05Z"},
        {"ce-TraceParent", "00-abc"},
        {"Content-Type", "application/json; charset=utf-8"},
        {"Content-Length", "12"},
    };
    struct act_err err = {0};
    json_t *ev = NULL;

    is_int(act_api_ce_binary(h, N(h), "{\"amount\":5}", 12, &ev, &err), 0, "JSON binary event");
    is_str(str(ev, "specversion"), "1.0", "specversion");
    is_str(str(ev, "id"), "evt-1", "id");
    is_str(str(ev, "source"), "/orders", "source (mixed-case header)");
    is_str(str(ev, "type"), "orders.created", "type");
    is_str(str(ev, "subject"), "order/42", "subject");
    is_str(str(ev, "time"), "2026-01-02T03:04:05Z", "time");
    is_str(str(ev, "traceparent"), "00-abc", "extension name lowercased");
    is_str(str(ev, "datacontenttype"), "application/json; charset=utf-8",
           "Content-Type becomes datacontenttype");
    is_int(json_integer_value(json_object_get(json_object_get(ev, "data"), "amount")), 5,
           "JSON body parsed into data");
    ok(json_object_get(ev, "host") == NULL && json_object_get(ev, "content-length") == NULL,
       "non-ce headers are not attributes");
    is_int(json_object_size(ev), 9, "nothing else added");
    json_decref(ev);
}

static void test_text_and_binary(void)
{
    const struct act_api_header text[] = {
        {"ce-specversion", "1.0"},      {"ce-id", "1"}, {"ce-source", "s"}, {"ce-type", "t"},
        {"content-type", "text/plain"},
    };
    const struct act_api_header none[] = {
        {"ce-specversion", "1.0"},
        {"ce-id", "1"},
        {"ce-source", "s"},
        {"ce-type", "t"},
    };
    struct act_err err = {0};
    json_t *ev = NULL;

    is_int(act_api_ce_binary(text, N(text), "hello w\xc3\xb6rld", 12, &ev, &err), 0, "text body");
    is_str(str(ev, "data"), "hello w\xc3\xb6rld", "UTF-8 text kept as a string");
    is_str(str(ev, "datacontenttype"), "text/plain", "datacontenttype");
    json_decref(ev);

    is_int(act_api_ce_binary(text, N(text), "{not json", 9, &ev, &err), 0,
           "JSON-looking text is not parsed when the type is not JSON");
    is_str(str(ev, "data"), "{not json", "kept verbatim");
    json_decref(ev);

    is_int(act_api_ce_binary(text, N(text), "\x00\x01\xff\xfe", 4, &ev, &err), 0, "binary body");
    ok(json_object_get(ev, "data") == NULL, "no data member");
    is_str(str(ev, "data_base64"), "AAH//g==", "base64 with padding");
    json_decref(ev);

    is_int(act_api_ce_binary(text, N(text), "ab\0c", 4, &ev, &err), 0, "text with NUL");
    is_str(str(ev, "data_base64"), "YWIAYw==", "NUL makes it binary");
    json_decref(ev);

    is_int(act_api_ce_binary(text, N(text), "abc", 3, &ev, &err), 0, "three bytes");
    is_str(str(ev, "data"), "abc", "ascii text");
    json_decref(ev);

    is_int(act_api_ce_binary(none, N(none), NULL, 0, &ev, &err), 0, "no body");
    ok(json_object_get(ev, "data") == NULL && json_object_get(ev, "data_base64") == NULL,
       "no body, no data");
    ok(json_object_get(ev, "datacontenttype") == NULL, "no Content-Type, no datacontenttype");
    json_decref(ev);

    is_int(act_api_ce_binary(none, N(none), "\xc3", 1, &ev, &err), 0, "truncated UTF-8");
    is_str(str(ev, "data_base64"), "ww==", "one byte, two pads");
    json_decref(ev);
}

static void test_percent(void)
{
    const struct act_api_header h[] = {
        {"ce-specversion", "1.0"},
        {"ce-id", "a%20b%e2%82%ac"},
        {"ce-source", "100%"},
        {"ce-type", "t%zz"},
    };
    const struct act_api_header bad[] = {
        {"ce-specversion", "1.0"},
        {"ce-id", "%ff"},
    };
    struct act_err err = {0};
    json_t *ev = NULL;

    is_int(act_api_ce_binary(h, N(h), NULL, 0, &ev, &err), 0, "percent-encoded values");
    is_str(str(ev, "id"), "a b\xe2\x82\xac", "decoded to UTF-8");
    is_str(str(ev, "source"), "100%", "a lone %% stays");
    is_str(str(ev, "type"), "t%zz", "%% without hex stays");
    json_decref(ev);

    is_int(act_api_ce_binary(bad, N(bad), NULL, 0, &ev, &err), ACT_EINVAL,
           "decoded value must be UTF-8");
    is_str(err.field, "ce-id", "field names the header");
    ok(ev == NULL, "no event on failure");
}

static void test_errors(void)
{
    const struct act_api_header dup[] = {
        {"ce-specversion", "1.0"},
        {"ce-id", "1"},
        {"CE-ID", "2"},
    };
    const struct act_api_header reserved[] = {
        {"ce-specversion", "1.0"},
        {"ce-datacontenttype", "text/plain"},
    };
    const struct act_api_header badname[] = {
        {"ce-specversion", "1.0"},
        {"ce-my_ext", "x"},
    };
    const struct act_api_header empty[] = {
        {"ce-", "x"},
    };
    const struct act_api_header json[] = {
        {"ce-specversion", "1.0"},
        {"content-type", "application/cloudevents+json"},
    };
    struct act_err err = {0};
    json_t *ev = NULL;

    is_int(act_api_ce_binary(dup, N(dup), NULL, 0, &ev, &err), ACT_EINVAL, "attribute twice");
    is_str(err.field, "ce-id", "field of the duplicate");
    is_int(act_api_ce_binary(reserved, N(reserved), NULL, 0, &ev, &err), ACT_EINVAL,
           "datacontenttype header refused");
    is_str(err.field, "ce-datacontenttype", "field of the reserved header");
    is_int(act_api_ce_binary(badname, N(badname), NULL, 0, &ev, &err), ACT_EINVAL,
           "underscore in a name refused");
    is_str(err.field, "ce-my_ext", "field of the bad name");
    is_int(act_api_ce_binary(empty, N(empty), NULL, 0, &ev, &err), ACT_EINVAL, "empty name");
    is_int(act_api_ce_binary(json, N(json), "{\"a\":", 5, &ev, &err), ACT_EINVAL,
           "bad JSON data refused");
    is_str(err.field, "data", "field is data");
    ok(strncmp(err.msg, "malformed JSON at line 1", 24) == 0, "message has the position");
    is_int(act_api_ce_binary(json, N(json), "true", 4, &ev, &err), 0, "scalar JSON data");
    ok(json_is_true(json_object_get(ev, "data")), "data is true");
    json_decref(ev);
}

int main(void)
{
    test_json_body();
    test_text_and_binary();
    test_percent();
    test_errors();
    return done_testing();
}
