/*
 * `{{ expr }}` templates: typed vs text rendering, recursion into objects
 * and arrays, scanning (quotes, braces), errors with the field path, and
 * check mode.
 */
#include "lua/lua.h"
#include "tap.h"

#include <stdio.h>
#include <string.h>

static json_t *scope;

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v)
        diag("bad test JSON %s: %s", text, je.text);
    return v;
}

/* Render the template given as JSON text; the result as compact JSON text,
 * or "ERR <field>: <msg>". */
static const char *render(const char *tpl_text)
{
    static char buf[1024];
    json_t *tpl = J(tpl_text), *out = NULL;
    struct act_err err = {0};
    char *s;

    if (act_template_render(tpl, scope, &out, &err) < 0) {
        snprintf(buf, sizeof(buf), "ERR %s: %s", err.field, err.msg);
    } else {
        s = json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
        snprintf(buf, sizeof(buf), "%s", s);
        free(s);
    }
    json_decref(out);
    json_decref(tpl);
    return buf;
}

static void test_typed(void)
{
    is_str(render("\"{{ event.data.amount }}\""), "150", "number stays a number");
    is_str(render("\"{{event.data.amount * 2}}\""), "300", "no spaces needed");
    is_str(render("\"{{ event.data.vip }}\""), "true", "boolean stays boolean");
    is_str(render("\"{{ event.data.email }}\""), "\"ada@example.com\"", "string");
    is_str(render("\"{{ event.data.missing }}\""), "null", "nil is null");
    is_str(render("\"{{ event.data.user }}\""), "{\"id\":7,\"name\":\"Ada\"}", "object");
    is_str(render("\"{{ event.data.tags }}\""), "[\"a\",\"b\"]", "array");
    is_str(render("\"{{ event }}\""),
           "{\"data\":{\"amount\":150,\"email\":\"ada@example.com\",\"tags\":[\"a\",\"b\"],"
           "\"user\":{\"id\":7,\"name\":\"Ada\"},\"vip\":true},\"type\":\"users.created\"}",
           "the whole event");
    is_str(render("\"{{ {a = {1, 2}} }}\""), "{\"a\":[1,2]}", "table constructor with }}");
    is_str(render("\"{{ input.n + 1 }}\""), "42", "input is bound");
    is_str(render("\"{{ config.region }}\""), "\"eu\"", "config is bound");
    is_str(render("\"{{ execution.attempt }}\""), "3", "execution is bound");
}

static void test_text(void)
{
    is_str(render("\"Hello {{ event.data.user.name }}!\""), "\"Hello Ada!\"", "text around");
    is_str(render("\"{{ event.data.amount }} EUR\""), "\"150 EUR\"", "number as text");
    is_str(render("\"{{ event.data.amount }}{{ event.data.vip }}\""), "\"150true\"",
           "two templates are text");
    is_str(render("\"[{{ event.data.missing }}]\""), "\"[]\"", "nil is empty text");
    is_str(render("\"u={{ event.data.user }}\""), "\"u={\\\"id\\\":7,\\\"name\\\":\\\"Ada\\\"}\"",
           "objects as compact JSON");
    is_str(render("\"{{ '}}' .. \\\"}}\\\" }} x\""), "\"}}}} x\"", "}} inside quotes");
    is_str(render("\"{{ 'it\\\\'s' }}!\""), "\"it's!\"", "escaped quote inside a string");
    is_str(render("\"no templates {here}\""), "\"no templates {here}\"", "plain strings copied");
    is_str(render("\" {{ 1 }}\""), "\" 1\"", "leading text makes text");
}

static void test_structures(void)
{
    is_str(render("{\"to\": \"{{ event.data.email }}\", \"n\": \"{{ event.data.amount }}\","
                  " \"list\": [\"{{ event.data.vip }}\", 5, null, \"x{{ 1 + 1 }}\"],"
                  " \"{{ keys }}\": \"not templated\"}"),
           "{\"list\":[true,5,null,\"x2\"],\"n\":150,\"to\":\"ada@example.com\","
           "\"{{ keys }}\":\"not templated\"}",
           "objects and arrays rendered member by member, keys untouched");
    is_str(render("7"), "7", "non-strings copied");
}

static void test_errors(void)
{
    json_t *tpl;
    struct act_err err = {0};
    json_t *out = NULL;

    is_str(render("{\"a\": {\"b\": [1, \"{{ event.data.user.name.x.y }}\"]}}"),
           "ERR a.b[1]: template `event.data.user.name.x.y`: expr:1: attempt to index a nil "
           "value (field 'x')",
           "runtime error names the path and expression");
    is_str(render("\"x {{ event\""), "ERR : template: unterminated '{{' at offset 2",
           "unterminated");
    is_str(render("{\"s\": \"{{   }}\"}"), "ERR s: template: empty expression at offset 0",
           "empty expression");
    is_str(render("\"{{ 1 + }}\""),
           "ERR : template `1 +`: lua: expr:1: unexpected symbol near ')'", "syntax error");
    is_str(render("\"{{ (function() while true do end end)() }}\""),
           "ERR : template `(function() while true do end end)()`: lua: instruction budget of "
           "1000000 exceeded",
           "runaway template");
    is_str(render("\"{{ function() end }}\""),
           "ERR : template `function() end`: lua: cannot convert a function to JSON",
           "unconvertible value");
    is_str(render("\"{{ x = 1 }}\""), "ERR : template `x = 1`: lua: expr:1: ')' expected near '='",
           "statements are not expressions");

    tpl = J("{\"ok\": \"{{ 1 }}\", \"bad\": [\"{{ ) }}\"]}");
    is_int(act_template_check(tpl, &err), ACT_EUNPROC, "check finds the syntax error");
    is_str(err.field, "bad[0]", "check names the field");
    json_decref(tpl);
    tpl = J("{\"ok\": \"{{ event.data.nothing.here }}\"}");
    is_int(act_template_check(tpl, &err), 0, "check does not run expressions");
    is_int(act_template_render(tpl, NULL, &out, &err), ACT_EPLUGIN, "render does");
    json_decref(tpl);
    is_int(act_template_render(NULL, NULL, &out, &err), 0, "NULL template renders");
    ok(json_is_null(out), "to null");
    json_decref(out);
}

int main(void)
{
    scope = J("{\"event\": {\"type\": \"users.created\", \"data\": {\"amount\": 150, \"vip\": true,"
              " \"email\": \"ada@example.com\", \"user\": {\"id\": 7, \"name\": \"Ada\"},"
              " \"tags\": [\"a\", \"b\"]}}, \"input\": {\"n\": 41}, \"config\": {\"region\": "
              "\"eu\"}, \"execution\": {\"id\": \"x\", \"attempt\": 3, \"action\": \"a\"}}");
    test_typed();
    test_text();
    test_structures();
    test_errors();
    json_decref(scope);
    act_lua_thread_release();
    return done_testing();
}
