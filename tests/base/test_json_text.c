/*
 * act_json_text (src/base/json_text.c) writes the same bytes as jansson's
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY): fixed edge cases (escapes,
 * embedded NULs, integer limits, reals and their exponents), then 3,000
 * random documents.
 */
#include "base/alloc.h"
#include "base/json_text.h"
#include "tap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int same(const json_t *v, const char *what)
{
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t len = 0;
    char *got = act_json_text(v, &len);
    int eq = want && got && strcmp(want, got) == 0 && len == strlen(want);

    if (!eq && what)
        diag("%s: want %s got %s", what, want ? want : "(null)", got ? got : "(null)");
    free(want);
    act_free(got);
    return eq;
}

static void test_fixed(void)
{
    static const double reals[] = {0.1,  1e20, 1e-7, 123456789.123, -0.0, 5e-324,
                                   1.7976931348623157e308, 2.5, -3e100, 1e16, 100.0};
    static const json_int_t ints[] = {0, 1, -1, 42, INT64_MAX, INT64_MIN, 1000000007};
    char all[128];
    json_t *v;

    subtest("fixed cases");
    for (int i = 0; i < 127; i++)
        all[i] = (char)(i + 1);
    all[127] = '\0';
    v = json_string(all);
    ok(same(v, "ascii 1..127"), "every ASCII byte, escaped as jansson does");
    json_decref(v);
    v = json_stringn("a\0b", 3);
    ok(same(v, "nul"), "an embedded NUL");
    json_decref(v);
    v = json_string("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \"q\" \\ /");
    ok(same(v, "utf8"), "multi-byte UTF-8, quotes, backslash, slash");
    json_decref(v);
    for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
        char name[40];

        snprintf(name, sizeof(name), "real %g", reals[i]);
        v = json_real(reals[i]);
        ok(same(v, name), "%s", name);
        json_decref(v);
    }
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        v = json_integer(ints[i]);
        ok(same(v, "integer"), "integer %lld", (long long)ints[i]);
        json_decref(v);
    }
    v = json_object();
    json_object_setn_new(v, "k\0ey", 4, json_true());
    json_object_set_new(v, "a\"b", json_false());
    json_object_set_new(v, "n", json_null());
    json_object_set_new(v, "e", json_object());
    json_object_set_new(v, "l", json_array());
    ok(same(v, "object"), "object keys with NUL and quote, empty containers, literals");
    json_decref(v);
    {
        char *t = act_json_text(NULL, NULL);

        is_str(t, "null", "NULL writes null");
        act_free(t);
    }
}

static json_t *random_value(int depth)
{
    int kind = rand() % (depth > 4 ? 5 : 7);

    switch (kind) {
    case 0: return json_integer((json_int_t)((uint64_t)rand() << 33 ^ (uint64_t)rand()) *
                                (rand() % 2 ? 1 : -1));
    case 1: return json_real((double)(rand() - RAND_MAX / 2) / (rand() % 1000 + 1) *
                             (rand() % 3 == 0 ? 1e30 : rand() % 3 == 0 ? 1e-30 : 1));
    case 2: {
        char s[40];
        size_t n = (size_t)(rand() % 39);

        for (size_t i = 0; i < n; i++) /* ASCII incl. controls; UTF-8 below */
            s[i] = (char)(rand() % 127 + 1);
        s[n] = '\0';
        if (rand() % 4 == 0)
            return json_string("\xce\xb1\xce\xb2\xce\xb3 \xe6\x97\xa5\xe6\x9c\xac");
        return json_string(s);
    }
    case 3: return json_boolean(rand() % 2);
    case 4: return json_null();
    case 5: {
        json_t *a = json_array();
        int n = rand() % 5;

        for (int i = 0; i < n; i++)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        int n = rand() % 5;

        for (int i = 0; i < n; i++) {
            char k[16];

            snprintf(k, sizeof(k), "k%d%c", rand() % 100, (char)(rand() % 94 + 33));
            json_object_set_new(o, k, random_value(depth + 1));
        }
        return o;
    }
    }
}

static void test_random(void)
{
    int bad = 0;

    subtest("random documents");
    srand(11);
    for (int i = 0; i < 3000; i++) {
        json_t *v = random_value(0);

        bad += !same(v, bad < 3 ? "random" : NULL);
        json_decref(v);
    }
    is_int(bad, 0, "3,000 random documents: the same bytes as json_dumps");
}

int main(void)
{
    test_fixed();
    test_random();
    return done_testing();
}
