/*
 * The embedding API's resource calls: actions, subscriptions, executions.
 *
 * Each call is the same three steps: check the pointers the engine would
 * dereference, parse the caller's JSON text (strictly, as the HTTP layer
 * does), call the engine, and hand the reply back as text.  Validation and
 * defaults belong to the engine and model, so an embedder gets exactly the
 * answers an HTTP client gets.  Every out-string is set (to a string or
 * NULL) on every path, so the caller can free it unconditionally.
 */
#include "actiond/actiond.h"

#include "embed/embed_internal.h"

#include "engine/engine.h"

/* Longer waits are clamped to this (about 31 years). */
#define WAIT_MAX_MS 1000000000000L

/* The engine calls that take a parsed body. */
typedef int body_fn(struct act_engine *e, const json_t *body, json_t **out, struct act_err *err);
/* The engine calls that take an id. */
typedef int id_fn(struct act_engine *e, const char *id, json_t **out, struct act_err *err);

/* Parse `json` and pass it to `fn`. */
static int call_body(struct act_engine *e, const char *json, const char *what, body_fn *fn,
                     char **out_json, char *errbuf, size_t errlen)
{
    struct act_err err = {0};
    json_t *body = NULL, *out = NULL;
    int rc;

    if (out_json)
        *out_json = NULL;
    if ((rc = act_embed_need(e != NULL, "engine", &err)) < 0 ||
        (rc = act_embed_parse(json, what, &body, &err)) < 0)
        goto out;
    rc = fn(e, body, &out, &err);
out:
    json_decref(body);
    if (rc < 0) {
        json_decref(out);
        return act_embed_fail(&err, errbuf, errlen);
    }
    act_embed_give(out, out_json);
    return ACTIOND_OK;
}

/* Pass `id` to `fn`.  `out_json` is required when `required`. */
static int call_id(struct act_engine *e, const char *id, id_fn *fn, char **out_json,
                   bool required, char *errbuf, size_t errlen)
{
    struct act_err err = {0};
    json_t *out = NULL;
    int rc;

    if (out_json)
        *out_json = NULL;
    if ((rc = act_embed_need(e != NULL, "engine", &err)) < 0 ||
        (rc = act_embed_need(id != NULL, "id", &err)) < 0 ||
        (rc = act_embed_need(out_json || !required, "out_json", &err)) < 0)
        return act_embed_fail(&err, errbuf, errlen);
    if ((rc = fn(e, id, &out, &err)) < 0) {
        json_decref(out);
        return act_embed_fail(&err, errbuf, errlen);
    }
    act_embed_give(out, out_json);
    return ACTIOND_OK;
}

/* ---- actions ---- */

int actiond_action_create(struct act_engine *e, const char *json, char **out_json, char *errbuf,
                          size_t errlen)
{
    return call_body(e, json, "action", act_engine_action_create, out_json, errbuf, errlen);
}

int actiond_action_get(struct act_engine *e, const char *id, char **out_json, char *errbuf,
                       size_t errlen)
{
    return call_id(e, id, act_engine_action_get, out_json, true, errbuf, errlen);
}

/* act_engine_action_delete in the shape of id_fn. */
static int action_delete(struct act_engine *e, const char *id, json_t **out, struct act_err *err)
{
    *out = NULL;
    return act_engine_action_delete(e, id, err);
}

int actiond_action_delete(struct act_engine *e, const char *id, char *errbuf, size_t errlen)
{
    return call_id(e, id, action_delete, NULL, false, errbuf, errlen);
}

int actiond_action_execute(struct act_engine *e, const char *id, const char *input_json,
                           char **out_json, char *errbuf, size_t errlen)
{
    struct act_err err = {0};
    json_t *input = NULL, *out = NULL;
    int rc;

    if (out_json)
        *out_json = NULL;
    if ((rc = act_embed_need(e != NULL, "engine", &err)) < 0 ||
        (rc = act_embed_need(id != NULL, "id", &err)) < 0)
        goto out;
    if (input_json && (rc = act_embed_parse(input_json, "input", &input, &err)) < 0)
        goto out;
    if (input && !json_is_object(input)) {
        rc = act_err_field(&err, ACT_EINVAL, "input", "must be an object");
        goto out;
    }
    rc = act_engine_action_execute(e, id, input, &out, &err);
out:
    json_decref(input);
    if (rc < 0) {
        json_decref(out);
        return act_embed_fail(&err, errbuf, errlen);
    }
    act_embed_give(out, out_json);
    return ACTIOND_OK;
}

/* ---- subscriptions ---- */

int actiond_subscription_create(struct act_engine *e, const char *json, char **out_json,
                                char *errbuf, size_t errlen)
{
    return call_body(e, json, "subscription", act_engine_sub_create, out_json, errbuf, errlen);
}

/* act_engine_sub_delete in the shape of id_fn. */
static int sub_delete(struct act_engine *e, const char *id, json_t **out, struct act_err *err)
{
    *out = NULL;
    return act_engine_sub_delete(e, id, err);
}

int actiond_subscription_delete(struct act_engine *e, const char *id, char *errbuf,
                                size_t errlen)
{
    return call_id(e, id, sub_delete, NULL, false, errbuf, errlen);
}

/* ---- executions ---- */

int actiond_execution_get(struct act_engine *e, const char *id, char **execution_json,
                          char *errbuf, size_t errlen)
{
    return call_id(e, id, act_engine_exec_get, execution_json, true, errbuf, errlen);
}

int actiond_execution_wait(struct act_engine *e, const char *id, long timeout_ms,
                           char **execution_json, char *errbuf, size_t errlen)
{
    struct act_err err = {0};
    json_t *out = NULL;
    int rc;

    if (execution_json)
        *execution_json = NULL;
    if ((rc = act_embed_need(e != NULL, "engine", &err)) < 0 ||
        (rc = act_embed_need(id != NULL, "id", &err)) < 0 ||
        (rc = act_embed_need(execution_json != NULL, "execution_json", &err)) < 0)
        return act_embed_fail(&err, errbuf, errlen);
    if (timeout_ms < 0) {
        act_err_field(&err, ACT_EINVAL, "timeout_ms", "must be >= 0");
        return act_embed_fail(&err, errbuf, errlen);
    }
    if (timeout_ms > WAIT_MAX_MS) /* the engine's deadline arithmetic is in microseconds */
        timeout_ms = WAIT_MAX_MS;
    rc = act_engine_exec_wait(e, id, (int64_t)timeout_ms, &out, &err);
    if (rc == ACT_ETIMEDOUT) {
        /* The documented exception: the latest snapshot goes out too. */
        act_embed_give(out, execution_json);
        return act_embed_fail(&err, errbuf, errlen);
    }
    if (rc < 0) {
        json_decref(out);
        return act_embed_fail(&err, errbuf, errlen);
    }
    act_embed_give(out, execution_json);
    return ACTIOND_OK;
}
