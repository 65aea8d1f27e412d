/* model: secret key detection and redaction. */
#include "model/model.h"
#include "base/alloc.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void test_keys(void)
{
    static const char *const secret[] = {
        "secret",       "webhook_secret", "client_secret", "password",   "DB_PASSWORD",
        "token",        "accessToken",    "refresh_token", "api_key",    "API_KEY",
        "x-api-key",    "apikey",         "ApiKey",        "Authorization", "private_key",
        "Private-Key",  "credentials",    "gcpCredentials", "SECRET",
    };
    static const char *const plain[] = {
        "from", "url", "name", "api", "key", "private", "author", "pass", "credential", "",
        "secre", "tok",
    };

    for (size_t i = 0; i < sizeof(secret) / sizeof(*secret); i++)
        ok(act_key_is_secret(secret[i]), "'%s' is secret", secret[i]);
    for (size_t i = 0; i < sizeof(plain) / sizeof(*plain); i++)
        ok(!act_key_is_secret(plain[i]), "'%s' is not secret", plain[i]);
    ok(!act_key_is_secret(NULL), "NULL is not secret");
}

static void test_redact(void)
{
    json_t *in = J("{'from': 'a@b', 'password': 'hunter2', 'nested': {'api_key': 'k', 'n': 1,"
                   " 'list': [{'token': 't'}, 'token', 3]}, 'Credentials': {'user': 'u'},"
                   " 'tokens': [1, 2], 'secret': null}");
    json_t *before = json_deep_copy(in);
    json_t *want = J("{'from': 'a@b', 'password': '***', 'nested': {'api_key': '***', 'n': 1,"
                     " 'list': [{'token': '***'}, 'token', 3]}, 'Credentials': '***',"
                     " 'tokens': '***', 'secret': '***'}");
    json_t *out = act_redact(in);

    ok(json_equal(out, want), "secret-named values replaced at any depth, others copied");
    ok(json_equal(in, before), "input untouched");
    ok(json_object_get(out, "nested") != json_object_get(in, "nested"), "a deep copy");
    json_decref(out);

    out = act_redact(json_object_get(in, "nested"));
    is_str(json_string_value(json_object_get(out, "api_key")), "***", "works on any object");
    json_decref(out);

    json_t *arr = J("[{'password': 1}, 2]");
    out = act_redact(arr);
    is_str(json_string_value(json_object_get(json_array_get(out, 0), "password")), "***",
           "through top-level arrays");
    json_decref(out);
    json_decref(arr);

    json_t *scalar = json_string("token");
    out = act_redact(scalar);
    ok(json_equal(out, scalar), "a scalar is copied as is");
    json_decref(out);
    json_decref(scalar);

    /* A key with a NUL byte could hide "password" from a C-string test. */
    json_t *nul = json_object();
    json_object_setn_new(nul, "x\0password", 10, json_string("p"));
    out = act_redact(nul);
    is_str(json_string_value(json_object_getn(out, "x\0password", 10)), "***",
           "a key with a NUL byte is redacted");
    json_decref(out);
    json_decref(nul);

    /* A password inside a URL (a PostgreSQL DSN, say) is masked wherever it is. */
    {
        static const char *const cases[][2] = {
            {"postgresql://app:s3cr:et@127.0.0.1:5432/db", "postgresql://app:***@127.0.0.1:5432/db"},
            {"https://user:pw@example.com/p?q=a@b", "https://user:***@example.com/p?q=a@b"},
            {"postgresql://app@127.0.0.1/db", "postgresql://app@127.0.0.1/db"},
            {"sqlite:/var/db.sqlite", "sqlite:/var/db.sqlite"},
            {"mailto:a@b.c", "mailto:a@b.c"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            json_t *h = json_pack("{s:s}", "dsn", cases[i][0]), *r = act_redact(h);
            is_str(json_string_value(json_object_get(r, "dsn")), cases[i][1], "url %zu: %s", i,
                   cases[i][1]);
            json_decref(r);
            json_decref(h);
        }
    }

    ok(act_redact(NULL) == NULL, "NULL in, NULL out");
    json_decref(in);
    json_decref(before);
    json_decref(want);
}

int main(void)
{
    test_keys();
    test_redact();
    return done_testing();
}
