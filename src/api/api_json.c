/*
 * JSON in and out of the HTTP layer.
 *
 * Parsing is strict: jansson with JSON_REJECT_DUPLICATES (a body with two
 * "name" members is ambiguous, and engines disagree on which wins), no NUL
 * escapes, nothing after the value, and a nesting limit of
 * ACT_API_JSON_MAX_DEPTH checked after the parse (jansson itself stops at
 * 2048 levels, which bounds the parser's recursion; ours bounds what every
 * later recursive walk - condition compiler, redaction, storage - sees).
 * Errors name the line and column, as clients fix bodies by position.
 *
 * Serialising uses json_dump_callback into our own buffer so the bytes
 * handed to libmicrohttpd are released with act_free, never a foreign free.
 */
#include "api/api_internal.h"

#include "base/alloc.h"
#include "base/json_text.h"

#include <ctype.h>
#include <string.h>

/* True when `v` nests deeper than `left` levels. */
static bool too_deep(const json_t *v, int left)
{
    if (!json_is_object(v) && !json_is_array(v))
        return false;
    if (left <= 0)
        return true;
    if (json_is_array(v)) {
        size_t i;
        const json_t *x;

        json_array_foreach(v, i, x) {
            if (too_deep(x, left - 1))
                return true;
        }
        return false;
    }
    const char *k;
    const json_t *x;
    json_object_foreach((json_t *)v, k, x) {
        if (too_deep(x, left - 1))
            return true;
    }
    return false;
}

int act_api_json_parse(const char *buf, size_t len, bool any, json_t **out, struct act_err *err)
{
    json_error_t je;
    json_t *v;

    *out = NULL;
    v = json_loadb(buf ? buf : "", buf ? len : 0,
                   JSON_REJECT_DUPLICATES | (any ? JSON_DECODE_ANY : 0), &je);
    if (!v)
        return act_err_set(err, ACT_EINVAL, "malformed JSON at line %d column %d: %s", je.line,
                           je.column, je.text);
    if (too_deep(v, ACT_API_JSON_MAX_DEPTH)) {
        json_decref(v);
        return act_err_set(err, ACT_EINVAL, "malformed JSON: nesting deeper than %d levels",
                           ACT_API_JSON_MAX_DEPTH);
    }
    *out = v;
    return ACT_OK;
}

void act_api_media_type(const char *content_type, char *out, size_t len)
{
    size_t n = 0;
    const char *p = content_type ? content_type : "";

    if (len == 0)
        return;
    while (*p == ' ' || *p == '\t')
        p++;
    for (; *p && *p != ';' && n + 1 < len; p++)
        out[n++] = (char)tolower((unsigned char)*p);
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
        n--;
    out[n] = '\0';
}

bool act_api_media_is_json(const char *content_type)
{
    char mt[128];
    size_t n;

    act_api_media_type(content_type, mt, sizeof(mt));
    if (strcmp(mt, "application/json") == 0)
        return true;
    n = strlen(mt);
    return n > 5 && strcmp(mt + n - 5, "+json") == 0 && strchr(mt, '/') != NULL;
}

char *act_api_json_dump(const json_t *v, size_t *len)
{
    return act_json_text(v, len);
}
