/*
 * Query-string parameters of the list routes -> store filters, and the
 * `{"items", "next_cursor"}` page envelope shared by every v1 list.
 * Validation errors name the parameter (`field: "limit"`).
 */
#include "engine/engine_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT_DEFAULT 50
#define LIMIT_MAX 1000

static int parse_limit(const char *s, int *out, struct act_err *err)
{
    char *end;
    long v;

    *out = LIMIT_DEFAULT;
    if (!s)
        return ACT_OK;
    if (!isdigit((unsigned char)*s))
        return act_err_field(err, ACT_EINVAL, "limit", "limit must be an integer 1..%d", LIMIT_MAX);
    v = strtol(s, &end, 10);
    if (*end || v < 1 || v > LIMIT_MAX)
        return act_err_field(err, ACT_EINVAL, "limit", "limit must be an integer 1..%d", LIMIT_MAX);
    *out = (int)v;
    return ACT_OK;
}

static int parse_time(const char *s, const char *name, int64_t *out, struct act_err *err)
{
    *out = 0;
    if (!s)
        return ACT_OK;
    if (act_time_parse_rfc3339(s, out) < 0 || *out <= 0)
        return act_err_field(err, ACT_EINVAL, name, "%s must be an RFC 3339 time", name);
    return ACT_OK;
}

static int check_id(const char *s, const char *name, struct act_err *err)
{
    if (s && !act_uuid_valid(s))
        return act_err_field(err, ACT_EINVAL, name, "%s must be a UUID", name);
    return ACT_OK;
}

int act_query_filter(const struct act_query *q, struct act_store_filter *f, struct act_err *err)
{
    static const struct act_query empty;
    int rc;

    if (!q)
        q = &empty;
    memset(f, 0, sizeof(*f));
    f->status = -1;
    f->enabled = -1;
    if ((rc = parse_limit(q->limit, &f->limit, err)) < 0)
        return rc;
    if ((rc = check_id(q->cursor, "cursor", err)) < 0 ||
        (rc = check_id(q->action_id, "action_id", err)) < 0 ||
        (rc = check_id(q->event_id, "event_id", err)) < 0)
        return rc;
    if ((rc = parse_time(q->since, "since", &f->since, err)) < 0 ||
        (rc = parse_time(q->until, "until", &f->until, err)) < 0)
        return rc;
    if (q->status && (f->status = act_exec_status_parse(q->status)) < 0)
        return act_err_field(err, ACT_EINVAL, "status",
                             "status must be one of pending, scheduled, running, succeeded,"
                             " failed, dead, cancelled");
    if (q->enabled) {
        if (strcmp(q->enabled, "true") == 0)
            f->enabled = 1;
        else if (strcmp(q->enabled, "false") == 0)
            f->enabled = 0;
        else
            return act_err_field(err, ACT_EINVAL, "enabled", "enabled must be true or false");
    }
    if (q->q && strlen(q->q) > 256)
        return act_err_field(err, ACT_EINVAL, "q", "q is longer than 256 characters");
    if (q->category && strlen(q->category) > 256)
        return act_err_field(err, ACT_EINVAL, "category", "category is too long");
    if (q->flow_execution_id && strlen(q->flow_execution_id) > 256)
        return act_err_field(err, ACT_EINVAL, "flow_execution_id", "flow_execution_id is too long");
    f->cursor = q->cursor;
    f->action_id = q->action_id;
    f->event_id = q->event_id;
    f->flow_execution_id = q->flow_execution_id;
    f->category = q->category;
    f->q = q->q;
    return ACT_OK;
}

json_t *act_page(json_t *items, int limit, const char *cursor_key)
{
    json_t *next = json_null();

    if (json_array_size(items) > (size_t)limit) {
        json_array_remove(items, (size_t)limit);
        while (json_array_size(items) > (size_t)limit)
            json_array_remove(items, json_array_size(items) - 1);
        next = json_incref(json_object_get(json_array_get(items, (size_t)limit - 1), cursor_key));
    }
    return json_pack("{s:o, s:o}", "items", items, "next_cursor", next);
}

int act_engine_list(struct act_engine *e, act_store_list_fn *list, const struct act_query *q,
                    void (*each)(struct act_engine *e, json_t *item), json_t **out,
                    struct act_err *err)
{
    struct act_store_filter f;
    json_t *items = NULL, *it;
    size_t i;
    int rc;

    if ((rc = act_query_filter(q, &f, err)) < 0)
        return rc;
    if ((rc = list(e->store, &f, &items, err)) < 0)
        return rc;
    if (each)
        json_array_foreach(items, i, it)
            each(e, it);
    *out = act_page(items, f.limit, "id");
    return ACT_OK;
}
