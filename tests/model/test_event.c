/* model: event normalisation, plain JSON and CloudEvents structured mode. */
#include "model/model.h"
#include "base/alloc.h"
#include "base/time.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1700000000123000LL /* 2023-11-14T22:13:20.123Z */

static json_t *J(const char *text)
{
    char *s = act_xstrdup(text);
    json_error_t e;
    json_t *v;

    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    v = json_loads(s, JSON_DECODE_ANY, &e);
    if (!v) {
        fprintf(stderr, "bad test JSON %s: %s\n", text, e.text);
        abort();
    }
    act_free(s);
    return v;
}

static json_t *norm_ok(json_t *in, const char *what)
{
    struct act_err err = {0};
    json_t *out = NULL;
    int rc = act_event_normalize(in, NOW, &out, &err);

    if (!ok(rc == 0 && out, "%s: accepted", what))
        diag("rc %d field '%s' msg '%s'", rc, err.field, err.msg);
    return out;
}

static void fail_json(json_t *in, const char *field, const char *msg, const char *what)
{
    struct act_err err = {0};
    json_t *out = (json_t *)1;

    is_int(act_event_normalize(in, NOW, &out, &err), ACT_EINVAL, "%s: 400", what);
    is_str(err.field, field, "%s: field", what);
    if (msg)
        is_str(err.msg, msg, "%s: message", what);
    ok(!out, "%s: no output", what);
}

static void fail(const char *text, const char *field, const char *msg)
{
    json_t *in = J(text);
    fail_json(in, field, msg, text);
    json_decref(in);
}

/* The member names of an object, comma-separated, in order. */
static void keys_of(const json_t *o, char *buf, size_t len)
{
    const char *key;
    json_t *v;
    size_t n = 0;

    buf[0] = '\0';
    json_object_foreach ((json_t *)o, key, v) {
        (void)v;
        n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "", key);
        if (n >= len)
            break;
    }
}

static void test_plain(void)
{
    json_t *in = J("{'type': 'users.created'}"), *out;
    char keys[256];

    out = norm_ok(in, "plain minimal");
    keys_of(out, keys, sizeof(keys));
    is_str(keys, "source,type,specversion,time,data", "canonical members in order");
    ok(!json_object_get(out, "id"), "missing id: absent (the engine assigns the event id)");
    is_str(json_string_value(json_object_get(out, "source")), "actiond", "missing source");
    is_str(json_string_value(json_object_get(out, "specversion")), "1.0", "specversion 1.0");
    is_str(json_string_value(json_object_get(out, "time")), "2023-11-14T22:13:20.123Z",
           "missing time: now, with milliseconds");
    ok(json_is_null(json_object_get(out, "data")), "missing data: null");
    json_decref(out);
    json_decref(in);

    in = J("{'type': 'orders.paid', 'id': 'o-1', 'source': 'shop', 'subject': 'order/1',"
           " 'time': '2026-01-31T12:00:00.5+01:00', 'datacontenttype': 'application/json',"
           " 'dataschema': 'https://example.com/s', 'data': {'amount': 5, 'items': [1, 2]}}");
    out = norm_ok(in, "plain full");
    keys_of(out, keys, sizeof(keys));
    is_str(keys, "id,source,type,specversion,time,subject,datacontenttype,dataschema,data",
           "full plain members in order");
    is_str(json_string_value(json_object_get(out, "time")), "2026-01-31T12:00:00.5+01:00",
           "client's time string kept as given");
    ok(json_equal(json_object_get(out, "data"), json_object_get(in, "data")), "data copied");
    is_str(json_string_value(json_object_get(out, "id")), "o-1", "id kept");
    json_decref(out);
    json_decref(in);

    in = J("{'type': 'a', 'id': null, 'subject': null, 'time': null}");
    out = norm_ok(in, "plain with nulls");
    ok(!json_object_get(out, "id"), "null id: absent");
    ok(!json_object_get(out, "subject"), "null subject: absent");
    json_decref(out);
    json_decref(in);
}

static void test_plain_invalid(void)
{
    char big[ACT_EVENT_ATTR_MAX + 64];

    fail("[1]", "", NULL);
    fail("{'data': {}}", "type", "is required");
    fail("{'type': null}", "type", "is required");
    fail("{'type': 5}", "type", "must be a string");
    fail("{'type': ''}", "type", NULL);
    fail("{'type': 'users created'}", "type", NULL);
    fail("{'type': 'users\\tcreated'}", "type", NULL);
    fail("{'type': 'caf\\u00e9'}", "type", NULL);
    fail("{'type': 'a', 'colour': 'red'}", "colour", "unknown member 'colour'");
    fail("{'type': 'a', 'traceparent': 'x'}", "traceparent", "unknown member 'traceparent'");
    fail("{'type': 'a', 'data_base64': 'aGk='}", "data_base64", NULL);
    fail("{'type': 'a', 'time': 'yesterday'}", "time", NULL);
    fail("{'type': 'a', 'time': '2026-01-31'}", "time", NULL);
    fail("{'type': 'a', 'time': 1700000000}", "time", "must be a string");
    fail("{'type': 'a', 'id': ''}", "id", NULL);
    fail("{'type': 'a', 'id': 7}", "id", "must be a string");
    fail("{'type': 'a', 'source': ''}", "source", NULL);
    fail("{'type': 'a', 'subject': 'x\\ny'}", "subject", NULL);
    fail("{'type': 'a', 'datacontenttype': 3}", "datacontenttype", NULL);

    /* Length limits: exactly the limit passes, one more fails. */
    json_t *in = J("{}"), *out;
    memset(big, 't', ACT_EVENT_TYPE_MAX);
    big[ACT_EVENT_TYPE_MAX] = '\0';
    json_object_set_new(in, "type", json_string(big));
    out = norm_ok(in, "type of ACT_EVENT_TYPE_MAX bytes");
    json_decref(out);
    big[ACT_EVENT_TYPE_MAX] = 't';
    big[ACT_EVENT_TYPE_MAX + 1] = '\0';
    json_object_set_new(in, "type", json_string(big));
    fail_json(in, "type", NULL, "type one byte too long");

    json_object_set_new(in, "type", json_string("a"));
    memset(big, 'i', ACT_EVENT_ATTR_MAX);
    big[ACT_EVENT_ATTR_MAX] = '\0';
    json_object_set_new(in, "id", json_string(big));
    json_object_set_new(in, "source", json_string(big));
    json_object_set_new(in, "subject", json_string(big));
    out = norm_ok(in, "id, source, subject at ACT_EVENT_ATTR_MAX");
    json_decref(out);
    big[ACT_EVENT_ATTR_MAX] = 'i';
    big[ACT_EVENT_ATTR_MAX + 1] = '\0';
    json_object_set_new(in, "subject", json_string(big));
    fail_json(in, "subject", NULL, "subject one byte too long");
    json_object_del(in, "subject");
    json_object_set_new(in, "source", json_string(big));
    fail_json(in, "source", NULL, "source one byte too long");
    json_object_del(in, "source");
    json_object_set_new(in, "id", json_string(big));
    fail_json(in, "id", NULL, "id one byte too long");
    json_object_set_new(in, "id", json_stringn("a\0b", 3));
    fail_json(in, "id", NULL, "id with a NUL byte");
    json_decref(in);
}

static void test_cloudevents(void)
{
    json_t *in, *out;
    char keys[256];

    in = J("{'specversion': '1.0', 'id': 'e1', 'source': '/billing', 'type': 'billing.paid',"
           " 'time': '2026-01-31T12:00:00Z', 'subject': 'inv/9',"
           " 'datacontenttype': 'application/json', 'data': {'amount': 100},"
           " 'traceparent': '00-abc-def-01', 'partitionkey': 'k1', 'count': 3, 'ratio': 0.5,"
           " 'sampled': true, 'dropped': null}");
    out = norm_ok(in, "CloudEvent with extensions");
    keys_of(out, keys, sizeof(keys));
    is_str(keys,
           "id,source,type,specversion,time,subject,datacontenttype,data,traceparent,"
           "partitionkey,count,ratio,sampled",
           "context attributes, data, then extensions (null ones dropped)");
    is_str(json_string_value(json_object_get(out, "traceparent")), "00-abc-def-01",
           "string extension kept");
    is_int(json_integer_value(json_object_get(out, "count")), 3, "integer extension kept");
    ok(json_is_true(json_object_get(out, "sampled")), "boolean extension kept");
    is_str(json_string_value(json_object_get(out, "source")), "/billing", "source kept");
    json_decref(out);
    json_decref(in);

    in = J("{'specversion': '1.0', 'id': 'e2', 'source': 's', 'type': 't'}");
    out = norm_ok(in, "CloudEvent without data");
    ok(json_is_null(json_object_get(out, "data")), "no data: null");
    is_str(json_string_value(json_object_get(out, "time")), "2023-11-14T22:13:20.123Z",
           "no time: now");
    json_decref(out);
    json_decref(in);

    fail("{'specversion': '0.3', 'id': 'e', 'source': 's', 'type': 't'}", "specversion", NULL);
    fail("{'specversion': 1.0, 'id': 'e', 'source': 's', 'type': 't'}", "specversion", NULL);
    fail("{'specversion': null, 'id': 'e', 'source': 's', 'type': 't'}", "specversion", NULL);
    fail("{'specversion': '1.0', 'source': 's', 'type': 't'}", "id", "is required");
    fail("{'specversion': '1.0', 'id': 'e', 'type': 't'}", "source", "is required");
    fail("{'specversion': '1.0', 'id': 'e', 'source': 's'}", "type", "is required");
    fail("{'specversion': '1.0', 'id': 'e', 'source': 's', 'type': 't', 'time': 'noon'}", "time",
         NULL);
    fail("{'specversion': '1.0', 'id': 'e', 'source': 's', 'type': 't', 'TraceParent': 'x'}",
         "TraceParent", NULL);
    fail("{'specversion': '1.0', 'id': 'e', 'source': 's', 'type': 't',"
         " 'abcdefghijklmnopqrstu': 'x'}",
         "abcdefghijklmnopqrstu", NULL);
    fail("{'specversion': '1.0', 'id': 'e', 'source': 's', 'type': 't', 'ext': {'a': 1}}", "ext",
         NULL);
    fail("{'specversion': '1.0', 'id': 'e', 'source': 's', 'type': 't', 'ext': [1]}", "ext", NULL);

    /* 32 extensions pass, 33 fail. */
    in = J("{'specversion': '1.0', 'id': 'e', 'source': 's', 'type': 't'}");
    for (int i = 0; i < 32; i++) {
        char name[16];
        snprintf(name, sizeof(name), "x%d", i);
        json_object_set_new(in, name, json_integer(i));
    }
    out = norm_ok(in, "32 extensions");
    json_decref(out);
    json_object_set_new(in, "x32", json_integer(32));
    fail_json(in, "x32", NULL, "33 extensions");
    json_decref(in);
}

static void test_base64(void)
{
    json_t *in, *out;

    in = J("{'specversion': '1.0', 'id': 'e', 'source': 's', 'type': 't',"
           " 'data_base64': 'aGVsbG8gd29ybGQ='}");
    out = norm_ok(in, "data_base64");
    is_str(json_string_value(json_object_get(out, "data_base64")), "aGVsbG8gd29ybGQ=",
           "data_base64 kept verbatim");
    ok(json_is_null(json_object_get(out, "data")), "data null beside data_base64");
    json_decref(out);
    json_decref(in);

    in = J("{'specversion': '1.0', 'id': 'e', 'source': 's', 'type': 't', 'data_base64': 'aGk'}");
    out = norm_ok(in, "unpadded base64");
    json_decref(out);
    json_decref(in);

    fail("{'specversion': '1.0', 'id': 'e', 'source': 's', 'type': 't', 'data_base64': 'a$b='}",
         "data_base64", NULL);
    fail("{'specversion': '1.0', 'id': 'e', 'source': 's', 'type': 't', 'data_base64': 'abcde'}",
         "data_base64", NULL);
    fail("{'specversion': '1.0', 'id': 'e', 'source': 's', 'type': 't', 'data_base64': 'a=b='}",
         "data_base64", NULL);
    fail("{'specversion': '1.0', 'id': 'e', 'source': 's', 'type': 't', 'data_base64': 'ab==='}",
         "data_base64", NULL);
    fail("{'specversion': '1.0', 'id': 'e', 'source': 's', 'type': 't', 'data_base64': 5}",
         "data_base64", NULL);
    fail("{'specversion': '1.0', 'id': 'e', 'source': 's', 'type': 't', 'data': 1,"
         " 'data_base64': 'aGk='}",
         "data_base64", NULL);
}

int main(void)
{
    test_plain();
    test_plain_invalid();
    test_cloudevents();
    test_base64();
    return done_testing();
}
