/*
 * Events: one event given as plain JSON or as a CloudEvents 1.0
 * structured-mode object, validated and normalised into the canonical event
 * the engine stores and the matcher reads:
 *
 *   {"id", "source", "type", "specversion": "1.0", "time", "subject"?,
 *    "datacontenttype"?, "dataschema"?, "data", "data_base64"?, ext...}
 *
 * Invariants:
 *  - The form is chosen by the presence of "specversion": with it, the
 *    object is a CloudEvent (id, source and type required, specversion
 *    "1.0", any other member an extension attribute); without it, a plain
 *    event whose only members are type, data, id, source, subject, time,
 *    datacontenttype and dataschema.
 *  - "data" is always present (null when the event carries none or carries
 *    data_base64, which is kept verbatim after an alphabet check).
 *  - "time" is the client's string when it parses as RFC 3339, otherwise
 *    the receive time `now_us` formatted with milliseconds.
 *  - A null member counts as absent, as the CloudEvents JSON format says.
 *  - Attribute strings never hold control characters, so ids, sources and
 *    types are safe to log and to use as keys.
 */
#include "model/model.h"
#include "model/model_internal.h"

#include "base/time.h"

#include <stdio.h>
#include <string.h>

#define EXT_COUNT_MAX 32
#define EXT_NAME_MAX 20
#define TIME_TEXT_MAX 64
#define CONTENT_TYPE_MAX 256

static const char *const plain_members[] = {"type", "data", "id", "source", "subject", "time",
                                            "datacontenttype", "dataschema", NULL};
/* Members of a CloudEvent that are not extension attributes. */
static const char *const ce_members[] = {"specversion", "id", "source", "type", "subject", "time",
                                         "datacontenttype", "dataschema", "data", "data_base64",
                                         NULL};

static bool is_listed(const char *const *list, const char *key)
{
    for (; *list; list++)
        if (strcmp(*list, key) == 0)
            return true;
    return false;
}

/* A string attribute: 1..max bytes, no control characters.  `strict`
 * also refuses spaces and non-ASCII bytes (the event type). */
static int check_attr(const json_t *v, const char *field, size_t max, bool strict,
                      struct act_err *err)
{
    if (act_model_check_str(v, field, 1, max, err) < 0)
        return ACT_EINVAL;
    for (const unsigned char *p = (const unsigned char *)json_string_value(v); *p; p++) {
        if (strict && (*p <= 0x20 || *p >= 0x7f))
            return act_err_field(err, ACT_EINVAL, field,
                                 "must contain only printable ASCII characters without spaces");
        if (*p < 0x20 || *p == 0x7f)
            return act_err_field(err, ACT_EINVAL, field, "must not contain control characters");
    }
    return ACT_OK;
}

/* Copy the optional attribute `key` into doc after checking it. */
static int opt_attr(const json_t *in, const char *key, size_t max, json_t *doc,
                    struct act_err *err)
{
    json_t *v = act_model_member(in, key);

    if (!v)
        return ACT_OK;
    if (check_attr(v, key, max, false, err) < 0)
        return ACT_EINVAL;
    json_object_set_new(doc, key, json_copy(v));
    return ACT_OK;
}

/* id and source: required in a CloudEvent, defaulted in a plain event. */
static int get_identity(const json_t *in, bool ce, json_t *doc, struct act_err *err)
{
    json_t *id = act_model_member(in, "id");
    json_t *source = act_model_member(in, "source");

    if (id && check_attr(id, "id", ACT_EVENT_ATTR_MAX, false, err) < 0)
        return ACT_EINVAL;
    if (!id && ce)
        return act_err_field(err, ACT_EINVAL, "id", "is required");
    if (source && check_attr(source, "source", ACT_EVENT_ATTR_MAX, false, err) < 0)
        return ACT_EINVAL;
    if (!source && ce)
        return act_err_field(err, ACT_EINVAL, "source", "is required");
    if (id) /* absent: the engine assigns the event's own id */
        json_object_set_new(doc, "id", json_copy(id));
    json_object_set_new(doc, "source", source ? json_copy(source) : json_string("actiond"));
    return ACT_OK;
}

static int get_type(const json_t *in, json_t *doc, struct act_err *err)
{
    json_t *type = act_model_member(in, "type");

    if (!type)
        return act_err_field(err, ACT_EINVAL, "type", "is required");
    if (check_attr(type, "type", ACT_EVENT_TYPE_MAX, true, err) < 0)
        return ACT_EINVAL;
    json_object_set_new(doc, "type", json_copy(type));
    json_object_set_new(doc, "specversion", json_string("1.0"));
    return ACT_OK;
}

static int get_time(const json_t *in, int64_t now_us, json_t *doc, struct act_err *err)
{
    json_t *t = act_model_member(in, "time");
    char buf[40];
    int64_t us;

    if (!t) {
        json_object_set_new(doc, "time",
                            json_string(act_time_format_rfc3339(now_us, buf, sizeof(buf))));
        return ACT_OK;
    }
    if (act_model_check_str(t, "time", 1, TIME_TEXT_MAX, err) < 0)
        return ACT_EINVAL;
    if (act_time_parse_rfc3339(json_string_value(t), &us) < 0)
        return act_err_field(err, ACT_EINVAL, "time",
                             "must be an RFC 3339 timestamp (2026-01-31T12:00:00Z)");
    json_object_set_new(doc, "time", json_copy(t));
    return ACT_OK;
}

/* RFC 4648 base64: the 64-character alphabet, then at most two '='
 * padding characters, a padded text being a multiple of four long. */
static bool base64_ok(const char *s, size_t len)
{
    size_t i = 0, pad = 0;

    for (; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            break;
    }
    for (; i < len && s[i] == '='; i++)
        pad++;
    if (i != len || pad > 2)
        return false;
    return pad ? len % 4 == 0 : len % 4 != 1;
}

static int get_data(const json_t *in, bool ce, json_t *doc, struct act_err *err)
{
    json_t *data = act_model_member(in, "data");
    json_t *b64 = ce ? act_model_member(in, "data_base64") : NULL;

    if (b64) {
        if (data)
            return act_err_field(err, ACT_EINVAL, "data_base64",
                                 "must not be given together with data");
        if (act_model_check_str(b64, "data_base64", 0, SIZE_MAX, err) < 0)
            return ACT_EINVAL;
        if (!base64_ok(json_string_value(b64), json_string_length(b64)))
            return act_err_field(err, ACT_EINVAL, "data_base64", "must be valid base64");
    }
    /* Shared, not copied (a deep copy was a tenth of the intake): the
     * request document is only read and then released. */
    json_object_set_new(doc, "data", data ? json_incref(data) : json_null());
    if (b64)
        json_object_set_new(doc, "data_base64", json_copy(b64));
    return ACT_OK;
}

static bool ext_name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n < 1 || n > EXT_NAME_MAX)
        return false;
    for (; *name; name++)
        if (!((*name >= 'a' && *name <= 'z') || (*name >= '0' && *name <= '9')))
            return false;
    return true;
}

/* CloudEvents extension attributes: every member that is not a context
 * attribute or data. */
static int get_extensions(const json_t *in, json_t *doc, struct act_err *err)
{
    char field[ACT_MODEL_FIELD_LEN];
    size_t n_ext = 0;
    const char *key;
    json_t *v;

    json_object_foreach ((json_t *)in, key, v) {
        if (is_listed(ce_members, key) || json_is_null(v))
            continue;
        snprintf(field, sizeof(field), "%s", key);
        if (!ext_name_ok(key))
            return act_err_field(err, ACT_EINVAL, field,
                                 "extension attribute names must be 1 to %d lowercase letters "
                                 "or digits", EXT_NAME_MAX);
        if (++n_ext > EXT_COUNT_MAX)
            return act_err_field(err, ACT_EINVAL, field,
                                 "too many extension attributes (at most %d)", EXT_COUNT_MAX);
        if (json_is_string(v)) {
            if (check_attr(v, field, ACT_EVENT_ATTR_MAX, false, err) < 0)
                return ACT_EINVAL;
        } else if (!json_is_number(v) && !json_is_boolean(v)) {
            return act_err_field(err, ACT_EINVAL, field,
                                 "extension attribute must be a string, number or boolean");
        }
        json_object_set_new(doc, key, json_copy(v));
    }
    return ACT_OK;
}

static int check_form(const json_t *in, bool ce, struct act_err *err)
{
    const json_t *sv;

    if (!ce)
        return act_model_check_members(in, NULL, plain_members, NULL, err);
    sv = json_object_get(in, "specversion");
    if (!json_is_string(sv))
        return act_err_field(err, ACT_EINVAL, "specversion", "must be the string \"1.0\"");
    if (strcmp(json_string_value(sv), "1.0") != 0)
        return act_err_field(err, ACT_EINVAL, "specversion",
                             "unsupported specversion '%.32s': only \"1.0\" is accepted",
                             json_string_value(sv));
    return ACT_OK;
}

int act_event_normalize(const json_t *in, int64_t now_us, json_t **out, struct act_err *err)
{
    json_t *doc = NULL;
    bool ce;
    int rc;

    *out = NULL;
    if (!json_is_object(in))
        return act_err_field(err, ACT_EINVAL, "", "event must be a JSON object");
    ce = json_object_get(in, "specversion") != NULL;
    if ((rc = check_form(in, ce, err)) < 0)
        goto out;
    doc = json_object();
    if ((rc = get_identity(in, ce, doc, err)) < 0 || (rc = get_type(in, doc, err)) < 0 ||
        (rc = get_time(in, now_us, doc, err)) < 0 ||
        (rc = opt_attr(in, "subject", ACT_EVENT_ATTR_MAX, doc, err)) < 0 ||
        (rc = opt_attr(in, "datacontenttype", CONTENT_TYPE_MAX, doc, err)) < 0 ||
        (rc = opt_attr(in, "dataschema", ACT_EVENT_ATTR_MAX, doc, err)) < 0 ||
        (rc = get_data(in, ce, doc, err)) < 0)
        goto out;
    if (ce && (rc = get_extensions(in, doc, err)) < 0)
        goto out;
    *out = doc;
    doc = NULL;
out:
    json_decref(doc);
    return rc;
}
