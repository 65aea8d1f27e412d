/*
 * Typed member getters for the model's validators (see model_internal.h).
 *
 * Invariants: every error is ACT_EINVAL with err->field set to the full
 * dotted name of the member at fault and a short message in the API's
 * voice ("must be an integer", "must be between 0 and 100"); nothing here
 * allocates, and every string handed out is borrowed from the input.
 *
 * jansson types are taken literally: 3.0 is a real, not an integer, and
 * true/false are not integers either, so `"max_retries": 3.0` is refused
 * rather than truncated.
 */
#include "model/model_internal.h"

#include <stdio.h>
#include <string.h>

char *act_model_field(char *buf, size_t len, const char *prefix, const char *key)
{
    if (prefix && *prefix)
        snprintf(buf, len, "%s.%s", prefix, key);
    else
        snprintf(buf, len, "%s", key);
    return buf;
}

json_t *act_model_member(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return json_is_null(v) ? NULL : v;
}

static bool in_list(const char *const *list, const char *key)
{
    if (!list)
        return false;
    for (; *list; list++)
        if (strcmp(*list, key) == 0)
            return true;
    return false;
}

int act_model_check_members(const json_t *obj, const char *prefix, const char *const *allowed,
                            const char *const *ignored, struct act_err *err)
{
    char field[ACT_MODEL_FIELD_LEN];
    const char *key;
    json_t *v;

    json_object_foreach ((json_t *)obj, key, v) {
        (void)v;
        if (in_list(allowed, key) || in_list(ignored, key))
            continue;
        return act_err_field(err, ACT_EINVAL, act_model_field(field, sizeof(field), prefix, key),
                             "unknown member '%.64s'", key);
    }
    return ACT_OK;
}

static int check_range(int64_t v, int64_t lo, int64_t hi, const char *field, struct act_err *err)
{
    if (v < lo || v > hi)
        return act_err_field(err, ACT_EINVAL, field, "must be between %lld and %lld",
                             (long long)lo, (long long)hi);
    return ACT_OK;
}

int act_model_int(const json_t *obj, const char *prefix, const char *key, int64_t lo, int64_t hi,
                  int64_t def, int64_t *out, struct act_err *err)
{
    bool present;
    int rc;

    if ((rc = act_model_opt_int(obj, prefix, key, lo, hi, out, &present, err)) < 0)
        return rc;
    if (!present)
        *out = def;
    return ACT_OK;
}

int act_model_opt_int(const json_t *obj, const char *prefix, const char *key, int64_t lo,
                      int64_t hi, int64_t *out, bool *present, struct act_err *err)
{
    char field[ACT_MODEL_FIELD_LEN];
    json_t *v = act_model_member(obj, key);
    int64_t n;

    *out = 0;
    *present = false;
    if (!v)
        return ACT_OK;
    act_model_field(field, sizeof(field), prefix, key);
    if (!json_is_integer(v))
        return act_err_field(err, ACT_EINVAL, field, "must be an integer");
    n = (int64_t)json_integer_value(v);
    if (check_range(n, lo, hi, field, err) < 0)
        return ACT_EINVAL;
    *out = n;
    *present = true;
    return ACT_OK;
}

int act_model_bool(const json_t *obj, const char *prefix, const char *key, bool def, bool *out,
                   struct act_err *err)
{
    char field[ACT_MODEL_FIELD_LEN];
    json_t *v = act_model_member(obj, key);

    *out = def;
    if (!v)
        return ACT_OK;
    if (!json_is_boolean(v))
        return act_err_field(err, ACT_EINVAL, act_model_field(field, sizeof(field), prefix, key),
                             "must be a boolean");
    *out = json_is_true(v);
    return ACT_OK;
}

int act_model_check_str(const json_t *v, const char *field, size_t min_len, size_t max_len,
                        struct act_err *err)
{
    size_t len;

    if (!json_is_string(v))
        return act_err_field(err, ACT_EINVAL, field, "must be a string");
    len = json_string_length(v);
    if (len < min_len && min_len == 1)
        return act_err_field(err, ACT_EINVAL, field, "must not be empty");
    if (len < min_len)
        return act_err_field(err, ACT_EINVAL, field, "must be at least %zu bytes", min_len);
    if (len > max_len)
        return act_err_field(err, ACT_EINVAL, field, "must be at most %zu bytes", max_len);
    /* jansson strings may carry NUL bytes (json_stringn, \u0000): refuse
     * them, every consumer treats these values as C strings. */
    if (strlen(json_string_value(v)) != len)
        return act_err_field(err, ACT_EINVAL, field, "must not contain NUL bytes");
    return ACT_OK;
}

int act_model_str(const json_t *obj, const char *prefix, const char *key, size_t min_len,
                  size_t max_len, const char *def, const char **out, struct act_err *err)
{
    char field[ACT_MODEL_FIELD_LEN];
    json_t *v = act_model_member(obj, key);

    *out = def;
    act_model_field(field, sizeof(field), prefix, key);
    if (!v) {
        if (!def)
            return act_err_field(err, ACT_EINVAL, field, "is required");
        return ACT_OK;
    }
    if (act_model_check_str(v, field, min_len, max_len, err) < 0)
        return ACT_EINVAL;
    *out = json_string_value(v);
    return ACT_OK;
}
