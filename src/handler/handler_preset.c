/*
 * Helpers shared by the provider presets (handler_preset.h): checks of
 * identifier-like members, "exactly one of" member groups, body templates
 * picked from the spec, auth header lines and provider text.
 *
 * Invariants: nothing here keeps state; auth lines are heap strings the
 * caller wipes with act_secret_free, and the user:password buffer built for
 * Basic is wiped before it is freed.
 */
#include "base/alloc.h"
#include "handler/handler_preset.h"
#include "handler/secret_box.h"
#include "handler/webhook_sign.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int act_preset_ident(const json_t *obj, const char *prefix, const char *name, const char *extra,
                     size_t max, bool required, struct act_err *err)
{
    const json_t *v = json_object_get(obj, name);
    const char *s = json_string_value(v);
    char field[64];

    snprintf(field, sizeof(field), "%s.%s", prefix, name);
    if (!v)
        return required ? act_err_field(err, ACT_EUNPROC, field, "%s is required", name)
                        : ACT_OK;
    if (!s || json_string_length(v) == 0 || json_string_length(v) > max)
        return act_err_field(err, ACT_EUNPROC, field, "%s must be a string of 1..%zu bytes",
                             name, max);
    for (const char *c = s; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr(extra, *c))
            return act_err_field(err, ACT_EUNPROC, field,
                                 "%s may hold only letters, digits%s%s", name,
                                 extra[0] ? " and " : "", extra);
    return ACT_OK;
}

int act_preset_one_of(const json_t *handler, const char *const *names, struct act_err *err)
{
    const char *first = NULL;
    char field[64], list[160] = "";
    size_t n = 0;

    for (size_t i = 0; names[i]; i++) {
        size_t len = strlen(list);

        snprintf(list + len, sizeof(list) - len, "%s%s",
                 i == 0 ? "" : names[i + 1] ? ", " : " or ", names[i]);
    }
    for (size_t i = 0; names[i]; i++) {
        if (!json_object_get(handler, names[i]))
            continue;
        if (n++ == 0) {
            first = names[i];
            continue;
        }
        snprintf(field, sizeof(field), "handler.%s", names[i]);
        return act_err_field(err, ACT_EUNPROC, field, "give only one of %s, not %s and %s", list,
                             first, names[i]);
    }
    if (n == 0) {
        snprintf(field, sizeof(field), "handler.%s", names[0]);
        return act_err_field(err, ACT_EUNPROC, field, "one of %s is required", list);
    }
    return ACT_OK;
}

json_t *act_preset_pick(const json_t *handler, const char *const *names)
{
    json_t *out = json_object();

    for (size_t i = 0; names[i]; i++) {
        const json_t *v = json_object_get(handler, names[i]);

        if (v)
            json_object_set_new(out, names[i], json_deep_copy(v));
    }
    return out;
}

char *act_preset_basic_line(const char *user, const char *pass)
{
    char *pair = act_xasprintf("%s:%s", user, pass);
    char *b64 = act_b64_encode(pair, strlen(pair));
    char *line = act_xasprintf("Authorization: Basic %s", b64);

    act_secret_free(pair);
    act_secret_free(b64);
    return line;
}

char *act_preset_bearer_line(const char *token)
{
    return act_xasprintf("Authorization: Bearer %s", token);
}

json_t *act_preset_text(const json_t *v, const char *name, bool any, struct act_err *err)
{
    size_t len;
    char *text;
    json_t *out;

    if (json_is_string(v))
        return json_incref((json_t *)v);
    if (!v || json_is_null(v) || (!any && (json_is_object(v) || json_is_array(v)))) {
        act_err_field(err, ACT_EUNPROC, name, "rendered to %s, not text",
                      !v || json_is_null(v) ? "null" : json_is_object(v) ? "an object"
                                                                          : "an array");
        return NULL;
    }
    text = act_handler_dump(v, &len);
    out = json_stringn(text, len);
    act_free(text);
    return out;
}

int act_preset_url(const char *base, const char *path, const char *field, char **out,
                   struct act_err *err)
{
    char *text = act_xasprintf("%s%s", base, path);
    int rc = act_webhook_parse_url(text, out, NULL, 0, err);

    act_free(text);
    if (rc < 0 && err)
        snprintf(err->field, sizeof(err->field), "%s", field);
    return rc;
}
