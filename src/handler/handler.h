/*
 * Handler kinds behind one vtable (STYLE.md 2.7).  The executor never
 * switches on kind: it looks the kind up once when an action is loaded,
 * opens a per-action state with the action's handler spec and config, and
 * calls execute() from worker threads.
 *
 * An action's handler spec is the JSON object `handler` of API.md
 * ({"kind": "command", "argv": [...]}); `config` is the action's config
 * object (may be empty).  validate() runs at action creation and update; a
 * failure is reported as HTTP 422 with err->field relative to the action
 * ("handler.argv", "config.x").
 */
#ifndef ACT_HANDLER_HANDLER_H
#define ACT_HANDLER_HANDLER_H

#include "base/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Everything a handler sees of one attempt.  All borrowed for the call. */
struct act_handler_call {
    const char *execution_id;
    const char *root_id;       /* the first attempt's id: constant across retries
                                * (webhook-id, idempotency keys) */
    int attempt;               /* 1 for the first attempt */
    const char *action_name;
    const json_t *action;      /* the stored action document */
    const json_t *event;       /* the event object, or NULL (manual execute) */
    const json_t *input;       /* never NULL */
    const json_t *config;      /* never NULL (empty object when absent) */
    int64_t timeout_ms;        /* > 0; the handler must give up by then */
};

/* What an attempt produced.  The executor zeroes it before the call. */
struct act_handler_result {
    json_t *output;            /* owned; on success (NULL means JSON null) */
    char error[512];           /* on failure: one line */
    json_t *error_detail;      /* owned, optional: structured detail */
    int64_t retry_after_ms;    /* >= 0: handler asks for this delay; -1: use policy */
    bool permanent;            /* failure that retrying cannot fix: dead-letter now */
};

/* Completion of an attempt started with ops->start: called exactly once,
 * from any thread, after `res` is filled; rc as execute() would return. */
typedef void act_handler_done_fn(void *ud, int rc);

struct act_handler_ops {
    const char *kind;
    /* JSON array text of capability names, e.g. ["sync","timeout","isolated"]. */
    const char *capabilities;
    /* JSON Schema text for the handler spec + config, shown by GET /v1/handlers. */
    const char *schema;
    /* Check a handler spec and config.  thread: any */
    int (*validate)(const json_t *handler, const json_t *config, struct act_err *err);
    /* Build per-action state (parsed argv, a dlopen'ed plugin, ...).  The spec
     * and config were validated.  thread: any */
    int (*open)(const json_t *handler, const json_t *config, void **state, struct act_err *err);
    /* Run one attempt.  Returns ACT_OK on success (res->output set) or a
     * negative code with res->error filled.  Must return by call->timeout_ms
     * (ACT_ETIMEDOUT).  Called concurrently from several workers with the same
     * state.  thread: worker */
    int (*execute)(void *state, const struct act_handler_call *call, struct act_handler_result *res);
    /* Free the state.  thread: any */
    void (*close)(void *state);
    /* Optional, for kinds that wait on the network without a thread each
     * (libcurl multi on an event loop): start one attempt and return at once.
     * Everything in `call` is borrowed for this call only (copy what you
     * keep); `res` stays valid until done(ud, rc) is called.  Returns ACT_OK
     * when started (done follows), or a negative code with res->error filled
     * (done is never called).  When NULL, execute() is used.  thread: worker */
    int (*start)(void *state, const struct act_handler_call *call, struct act_handler_result *res,
                 act_handler_done_fn *done, void *ud);
};

/* Find a registered kind; NULL when unknown.  thread: any */
const struct act_handler_ops *act_handler_find(const char *kind);

/* All registered kinds, NULL-terminated, in registration order.  thread: any */
const struct act_handler_ops *const *act_handler_all(void);

/* Validate an action's `handler` object: it must be an object with a string
 * `kind` naming a registered kind (unknown: ACT_EUNPROC, field
 * "handler.kind"), then the kind's validate().  thread: any */
int act_handler_validate(const json_t *handler, const json_t *config, struct act_err *err);

/* GET /v1/handlers body: {"items": [{"kind", "capabilities", "schema", "available"}]}.
 * New reference.  thread: any */
json_t *act_handler_describe(void);

/* Release a result's owned members (not the struct).  thread: any */
void act_handler_result_release(struct act_handler_result *res);

/* Set res->error printf-style and return `code`.  thread: any */
int act_handler_fail(struct act_handler_result *res, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
