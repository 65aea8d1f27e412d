/*
 * Conditions: every op (true, false and the reason), type mismatches,
 * missing fields, nested and array-index paths, all/any/not, limits and
 * invalid specs with the exact err->field and message.
 */
#include "base/err.h"
#include "match/match.h"
#include "tap.h"

#include <stdio.h>
#include <string.h>

static const char *EVENT =
    "{\"id\": \"e1\", \"source\": \"crm\", \"type\": \"users.created\", \"subject\": \"u/1\","
    " \"time\": \"2026-01-01T00:00:00Z\","
    " \"data\": {\"tier\": \"basic\", \"amount\": 50, \"ratio\": 0.5, \"count\": 3,"
    "  \"name\": \"Ada Lovelace\", \"email\": \"ada@example.com\", \"vip\": null,"
    "  \"tags\": [\"new\", \"eu\", 7, {\"k\": 1}], \"flags\": {\"beta\": true},"
    "  \"user\": {\"address\": {\"city\": \"Paris\"}}, \"items\": [{\"sku\": \"A1\"},"
    "  {\"sku\": \"B2\", \"qty\": 2}], \"zero\": {\"0\": \"key-zero\"}, \"nl\": \"a\\nb\"}}";

static json_t *event;

/* Compile spec (JSON text), evaluate, compare result and reason. */
static void check(const char *spec, int want, const char *why_want)
{
    json_error_t jerr;
    json_t *j = json_loads(spec, JSON_DECODE_ANY, &jerr);
    struct act_cond *c = NULL;
    struct act_err err = {0};
    char why[256] = "";

    if (!ok(j != NULL, "spec parses: %s", spec))
        return;
    if (!ok(act_cond_compile(j, &c, &err) == 0, "compiles: %s", spec)) {
        diag("%s: %s", err.field, err.msg);
        json_decref(j);
        return;
    }
    is_int(act_cond_eval(c, event, why, sizeof(why)), want, "%s -> %d", spec, want);
    is_str(why, want ? "" : why_want, "reason for %s", spec);
    is_int(act_cond_eval(c, event, NULL, 0), want, "same result without a reason buffer");
    act_cond_free(c);
    json_decref(j);
}

#define LEAF(f, op, v) "{\"field\": \"" f "\", \"op\": \"" op "\", \"value\": " v "}"

static void test_ops(void)
{
    check(LEAF("data.tier", "eq", "\"basic\""), 1, "");
    check(LEAF("data.tier", "eq", "\"premium\""), 0,
          "condition data.tier eq 'premium': got 'basic'");
    check(LEAF("data.amount", "eq", "50.0"), 1, ""); /* int and real mixed */
    check(LEAF("data.ratio", "eq", "0.5"), 1, "");
    check(LEAF("data.amount", "eq", "\"50\""), 0, "condition data.amount eq '50': got 50");
    check(LEAF("data.flags", "eq", "{\"beta\": true}"), 1, "");
    check(LEAF("data.flags", "eq", "{\"beta\": false}"), 0,
          "condition data.flags eq {\"beta\":false}: got {\"beta\":true}");
    check(LEAF("data.vip", "eq", "null"), 1, "");
    check(LEAF("data.items.1.qty", "eq", "2"), 1, "");

    check(LEAF("data.tier", "ne", "\"premium\""), 1, "");
    check(LEAF("data.tier", "ne", "\"basic\""), 0, "condition data.tier ne 'basic': got 'basic'");
    check(LEAF("data.amount", "ne", "\"x\""), 1, ""); /* different types are not equal */
    check(LEAF("data.nope", "ne", "1"), 0, "condition data.nope ne 1: field absent");

    check(LEAF("data.amount", "gt", "49.5"), 1, "");
    check(LEAF("data.amount", "gt", "50"), 0, "condition data.amount gt 50: got 50");
    check(LEAF("data.amount", "gte", "50"), 1, "");
    check(LEAF("data.amount", "gte", "100"), 0, "condition data.amount gte 100: got 50");
    check(LEAF("data.ratio", "lt", "1"), 1, "");
    check(LEAF("data.ratio", "lt", "0.5"), 0, "condition data.ratio lt 0.5: got 0.5");
    check(LEAF("data.count", "lte", "3.0"), 1, "");
    check(LEAF("data.count", "lte", "2"), 0, "condition data.count lte 2: got 3");
    check(LEAF("data.tier", "gt", "\"apple\""), 1, ""); /* strings: lexicographic */
    check(LEAF("data.tier", "lt", "\"basics\""), 1, "");
    check(LEAF("data.tier", "gte", "\"c\""), 0, "condition data.tier gte 'c': got 'basic'");
    check(LEAF("data.tier", "gt", "100"), 0,
          "condition data.tier gt 100: got 'basic' (string vs number)");
    check(LEAF("data.amount", "lt", "\"z\""), 0,
          "condition data.amount lt 'z': got 50 (number vs string)");
    check(LEAF("data.flags", "gte", "1"), 0,
          "condition data.flags gte 1: got {\"beta\":true} (object vs number)");

}

static void test_ops_sets(void)
{
    check(LEAF("data.tier", "in", "[\"gold\", \"basic\"]"), 1, "");
    check(LEAF("data.tier", "in", "[\"gold\", \"premium\"]"), 0,
          "condition data.tier in [\"gold\",\"premium\"]: got 'basic'");
    check(LEAF("data.amount", "in", "[1, 50.0]"), 1, "");
    check(LEAF("data.tier", "nin", "[\"gold\"]"), 1, "");
    check(LEAF("data.tier", "nin", "[\"basic\"]"), 0,
          "condition data.tier nin [\"basic\"]: got 'basic'");
    check(LEAF("data.nope", "nin", "[1]"), 0, "condition data.nope nin [1]: field absent");

    check("{\"field\": \"data.vip\", \"op\": \"exists\"}", 1, ""); /* null is present */
    check("{\"field\": \"data.nope\", \"op\": \"exists\"}", 0,
          "condition data.nope exists: field absent");
    check(LEAF("data.nope", "exists", "false"), 1, "");
    check(LEAF("data.tier", "exists", "false"), 0,
          "condition data.tier exists false: field present");
    check(LEAF("data.tier", "exists", "true"), 1, "");

}

static void test_ops_text(void)
{
    check(LEAF("data.name", "contains", "\"Love\""), 1, "");
    check(LEAF("data.name", "contains", "\"love\""), 0,
          "condition data.name contains 'love': got 'Ada Lovelace'");
    check(LEAF("data.tags", "contains", "\"eu\""), 1, "");
    check(LEAF("data.tags", "contains", "7.0"), 1, "");
    check(LEAF("data.tags", "contains", "{\"k\": 1}"), 1, "");
    check(LEAF("data.tags", "contains", "\"us\""), 0,
          "condition data.tags contains 'us': got [\"new\",\"eu\",7,{\"k\":1}]");
    check(LEAF("data.amount", "contains", "5"), 0,
          "condition data.amount contains 5: got 50 (not a string or array)");
    check(LEAF("data.name", "contains", "5"), 0,
          "condition data.name contains 5: got 'Ada Lovelace' (string vs number)");

    check(LEAF("data.email", "regex", "\"@example\\\\.com$\""), 1, "");
    check(LEAF("data.email", "regex", "\"^bob@\""), 0,
          "condition data.email regex '^bob@': got 'ada@example.com'");
    check(LEAF("data.amount", "regex", "\"5\""), 0,
          "condition data.amount regex '5': got 50 (not a string)");
    check(LEAF("data.nope", "regex", "\"x\""), 0, "condition data.nope regex 'x': field absent");
}

static void test_paths(void)
{
    check(LEAF("type", "eq", "\"users.created\""), 1, "");
    check(LEAF("source", "eq", "\"crm\""), 1, "");
    check(LEAF("subject", "eq", "\"u/1\""), 1, "");
    check(LEAF("id", "eq", "\"e1\""), 1, "");
    check(LEAF("time", "gte", "\"2026\""), 1, "");
    check(LEAF("data.user.address.city", "eq", "\"Paris\""), 1, "");
    check(LEAF("data.user.address.zip", "eq", "\"75001\""), 0,
          "condition data.user.address.zip eq '75001': field absent");
    check(LEAF("data.items.0.sku", "eq", "\"A1\""), 1, "");
    check(LEAF("data.items.1.sku", "eq", "\"B2\""), 1, "");
    check(LEAF("data.items.2.sku", "exists", "true"), 0,
          "condition data.items.2.sku exists: field absent");
    check(LEAF("data.items.01.sku", "exists", "false"), 1, ""); /* not a canonical index */
    check(LEAF("data.zero.0", "eq", "\"key-zero\""), 1, "");   /* "0" as an object key */
    check(LEAF("data.tier.x", "exists", "false"), 1, "");       /* through a string */

    is_str(json_string_value(act_json_path(event, "data.items.1.sku")), "B2",
           "act_json_path index");
    ok(act_json_path(event, "data") == json_object_get(event, "data"), "one segment");
    ok(act_json_path(event, "data..tier") == NULL, "empty segment resolves to nothing");
    ok(act_json_path(event, "") == NULL, "empty path resolves to nothing");
    ok(act_json_path(event, "data.tags.-1") == NULL, "negative index");
    ok(act_json_path(NULL, "a") == NULL, "NULL root");
}

static void test_logic(void)
{
    const char *prem = LEAF("data.tier", "eq", "\"premium\"");
    const char *big = LEAF("data.amount", "gte", "100");
    const char *basic = LEAF("data.tier", "eq", "\"basic\"");
    char spec[1024];

    snprintf(spec, sizeof(spec), "{\"all\": [%s, %s]}", basic, big);
    check(spec, 0, "condition data.amount gte 100: got 50");
    snprintf(spec, sizeof(spec), "{\"all\": [%s, {\"not\": %s}]}", basic, big);
    check(spec, 1, "");
    snprintf(spec, sizeof(spec), "{\"any\": [%s, %s]}", prem, big);
    check(spec, 0,
          "any: none of 2 held; first: condition data.tier eq 'premium': got 'basic'");
    snprintf(spec, sizeof(spec), "{\"any\": [%s, %s]}", prem, basic);
    check(spec, 1, "");
    snprintf(spec, sizeof(spec), "{\"not\": %s}", basic);
    check(spec, 0, "not: condition data.tier eq 'basic' held");
    snprintf(spec, sizeof(spec), "{\"not\": {\"all\": [%s]}}", basic);
    check(spec, 0, "not: all[1] held");
    /* the API.md example */
    snprintf(spec, sizeof(spec),
             "{\"all\": [%s, {\"any\": [%s, {\"field\": \"data.vip\", \"op\": \"exists\"}]}]}",
             prem, big);
    check(spec, 0, "condition data.tier eq 'premium': got 'basic'");
    snprintf(spec, sizeof(spec),
             "{\"all\": [%s, {\"any\": [%s, {\"field\": \"data.vip\", \"op\": \"exists\"}]}]}",
             basic, big);
    check(spec, 1, "");
}

static void test_null_and_reasons(void)
{
    struct act_cond *c = NULL;
    struct act_err err = {0};
    json_t *null = json_null(), *j;
    char why[16];

    ok(act_cond_compile(NULL, &c, &err) == 0 && c, "NULL spec compiles");
    ok(act_cond_eval(c, event, NULL, 0), "and always holds");
    act_cond_free(c);
    j = json_object();
    ok(act_cond_compile(null, &c, &err) == 0 && c, "JSON null compiles");
    ok(act_cond_eval(c, j, NULL, 0), "and always holds");
    json_decref(j);
    act_cond_free(c);
    ok(act_cond_eval(NULL, event, NULL, 0), "a NULL condition holds");

    j = json_loads(LEAF("data.tier", "eq", "\"premium\""), 0, NULL);
    ok(act_cond_compile(j, &c, &err) == 0, "compile");
    ok(!act_cond_eval(c, event, why, sizeof(why)), "false");
    is_str(why, "condition data.", "reason truncated to the buffer");
    act_cond_free(c);
    json_decref(j);

    /* Long values are cut, newlines escaped: reasons stay on one line. */
    check(LEAF("data.nl", "eq", "\"x\""), 0, "condition data.nl eq 'x': got 'a\\x0ab'");
    check(LEAF("data.name", "eq",
               "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
          0,
          "condition data.name eq 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...': got 'Ada Lovelace'");
}

/* Compile a spec that must fail, with this exact field and message. */
static void bad(const char *spec, const char *field, const char *msg)
{
    json_t *j = json_loads(spec, JSON_DECODE_ANY, NULL);
    struct act_cond *c = (struct act_cond *)1;
    struct act_err err = {0};

    if (!ok(j != NULL, "spec parses: %.60s", spec))
        return;
    is_int(act_cond_compile(j, &c, &err), ACT_EINVAL, "rejected: %.60s", spec);
    ok(c == NULL, "no tree on error");
    is_str(err.field, field, "field of %.60s", spec);
    is_str(err.msg, msg, "message of %.60s", spec);
    json_decref(j);
}

/* Lua expressions (lua/lua.h) as the whole spec and as nodes. */
static void test_expressions(void)
{
    check("\"event.data.tier == 'basic' and event.data.amount >= 50\"", 1, "");
    check("\"event.data.tier == 'premium'\"", 0, "expression `event.data.tier == 'premium'`: false");
    check("\"event.data.items[2].sku\"", 0, "expression `event.data.items[2].sku`: got string, "
                                             "not a boolean");
    check("\"event.data.nope.deeper == 1\"", 0,
          "expression `event.data.nope.deeper == 1`: error: expr:1: attempt to index a nil value "
          "(field 'nope')");
    check("\"#event.data.tags == 4 -- a trailing comment\"", 1, "");
    check("{\"all\": [" LEAF("data.tier", "eq", "\"basic\"") ", \"event.data.count > 5\"]}", 0,
          "expression `event.data.count > 5`: false");
    check("{\"any\": [\"event.data.count > 5\", \"event.type == 'users.created'\"]}", 1, "");
    check("{\"not\": \"event.data.flags.beta\"}", 0, "not: expression `event.data.flags.beta` held");
    check("\"(function() while true do end end)()\"", 0,
          "expression `(function() while true do end end)()`: error: lua: instruction budget of "
          "100000 exceeded");
}

static void test_invalid(void)
{
    char spec[16384];
    size_t n = 0;

    bad("{\"all\": [" LEAF("a", "eq", "1") ", " LEAF("b", "foo", "1") "]}", "all[1].op",
        "unknown op 'foo'");
    bad("{\"any\": [{\"not\": " LEAF("x", "in", "3") "}]}", "any[0].not.value",
        "op 'in' needs an array value");
    bad("{\"all\": [" LEAF("a", "eq", "1") ", {\"any\": [" LEAF("a", "nin", "{}") "]}]}",
        "all[1].any[0].value", "op 'nin' needs an array value");
    bad("{\"all\": {}}", "all", "must be an array");
    bad("{\"all\": []}", "all", "must not be empty");
    bad("{\"any\": [1]}", "any[0]", "condition must be an object");
    bad("[]", "", "condition must be an object");
    bad("\"event.data.tier ==\"", "",
        "expression: lua: expr:1: unexpected symbol near ')'");
    bad("{\"all\": [\"event.data.x >\"]}", "all[0]",
        "expression: lua: expr:1: unexpected symbol near ')'");
    bad("{}", "", "condition needs 'all', 'any', 'not' or 'field'");
    bad(LEAF("a..b", "eq", "1"), "field", "empty segment 2 in field path");
    bad(LEAF("", "eq", "1"), "field", "empty field path");
    bad("{\"field\": 1, \"op\": \"eq\", \"value\": 1}", "field", "must be a string");
    bad("{\"op\": \"eq\", \"value\": 1}", "field", "missing field");
    bad("{\"field\": \"a\", \"value\": 1}", "op", "missing op");
    bad("{\"field\": \"a\", \"op\": 3}", "op", "must be a string");
    bad("{\"field\": \"a\", \"op\": \"eq\"}", "value", "missing value for op 'eq'");
    bad(LEAF("a", "exists", "1"), "value", "op 'exists' takes true or false");
    bad(LEAF("a", "regex", "\"(\""), "value",
        "invalid regex: missing closing parenthesis at offset 1");
    bad(LEAF("a", "regex", "5"), "value", "op 'regex' needs a string value");
    bad(LEAF("a", "gt", "[1]"), "value", "op 'gt' needs a number or string value");
    bad(LEAF("a", "lte", "null"), "value", "op 'lte' needs a number or string value");
    bad("{\"field\": \"a\", \"op\": \"eq\", \"value\": 1, \"extra\": 2}", "extra",
        "unknown key 'extra'");
    bad("{\"all\": [" LEAF("a", "eq", "1") "], \"any\": []}", "any",
        "unexpected key 'any' next to 'all'");
    bad("{\"not\": {\"not\": " LEAF("a", "gt", "true") "}}", "not.not.value",
        "op 'gt' needs a number or string value");

    /* depth: 16 levels are fine, 17 are not */
    n = 0;
    for (int i = 0; i < 16; i++)
        n += (size_t)snprintf(spec + n, sizeof(spec) - n, "{\"not\": ");
    n += (size_t)snprintf(spec + n, sizeof(spec) - n, "%s", LEAF("a", "eq", "1"));
    for (int i = 0; i < 16; i++)
        n += (size_t)snprintf(spec + n, sizeof(spec) - n, "}");
    bad(spec, "not.not.not.not.not.not.not.not.not.not.not.not.not.not.not.not",
        "nested deeper than 16 levels");
    spec[strlen(spec) - 1] = '\0'; /* drop one "not": 16 levels are accepted */
    check(spec + 8, 1, "");         /* 15 negations of a false leaf */

    /* nodes: a root plus 255 leaves is the limit */
    n = (size_t)snprintf(spec, sizeof(spec), "{\"any\": [");
    for (int i = 0; i < 256; i++)
        n += (size_t)snprintf(spec + n, sizeof(spec) - n, "%s%s", i ? "," : "",
                              LEAF("a", "eq", "1"));
    snprintf(spec + n, sizeof(spec) - n, "]}");
    bad(spec, "any[255]", "more than 256 condition nodes");
}

int main(void)
{
    event = json_loads(EVENT, 0, NULL);
    if (!ok(event != NULL, "test event parses"))
        return done_testing();
    test_ops();
    test_ops_sets();
    test_ops_text();
    test_paths();
    test_logic();
    test_null_and_reasons();
    test_expressions();
    test_invalid();
    json_decref(event);
    return done_testing();
}
