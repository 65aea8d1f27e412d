/*
 * libFuzzer target for the expression and template parser (src/lua/):
 * the input is used as a template string (checked, then rendered against
 * a small scope) and as a condition expression (compiled, then evaluated).
 * Everything runs in the sandbox with its budgets, so a generated infinite
 * loop or allocation bomb ends in an error, not a hang.  Any crash, leak or
 * sanitizer report is a bug.  Built and run by fuzz/run.sh.
 */
#include "lua/lua.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *scope;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct act_err err;
    json_t *tpl, *out = NULL;
    char expr[ACT_LUA_MAX_EXPR + 1];

    if (!scope)
        scope = json_loads("{\"event\": {\"type\": \"t\", \"data\": {\"a\": 1, \"s\": \"x\","
                           " \"l\": [1, 2, {\"k\": null}]}}, \"input\": {\"n\": 2},"
                           " \"config\": {}, \"execution\": {\"id\": \"e\", \"attempt\": 1}}",
                           0, NULL);
    tpl = json_stringn((const char *)data, size); /* NULL unless valid UTF-8 */
    if (tpl) {
        if (act_template_check(tpl, &err) == 0 && act_template_render(tpl, scope, &out, &err) == 0)
            json_decref(out);
        json_decref(tpl);
    }
    if (size <= ACT_LUA_MAX_EXPR && !memchr(data, '\0', size)) {
        memcpy(expr, data, size);
        expr[size] = '\0';
        if (act_lua_expr_check(expr, size, &err) == 0) {
            char why[256];
            (void)act_lua_cond_eval(expr, json_object_get(scope, "event"), 0, why, sizeof(why));
        }
    }
    return 0;
}
