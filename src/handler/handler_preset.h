/*
 * Small helpers the provider presets share (handler_preset.c), on top of
 * the webhook's validation helpers (handler_webhook.h): identifier-like
 * members, picking spec members into a body template, auth header lines,
 * and turning rendered values into provider text.  Used only by
 * handler_preset_*.c.
 */
#ifndef ACT_HANDLER_HANDLER_PRESET_H
#define ACT_HANDLER_HANDLER_PRESET_H

#include "base/err.h"
#include "handler/handler_webhook.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The spec members every preset accepts besides its own, and their JSON
 * Schema properties (for the ops' schema texts). */
#define ACT_PRESET_LIMIT_MEMBERS "timeout_ms", "connect_timeout_ms", "max_response_bytes"
#define ACT_PRESET_LIMITS_SCHEMA                                                              \
    "\"timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":600000,"                \
    "\"default\":10000},"                                                                     \
    "\"connect_timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":600000},"       \
    "\"max_response_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":67108864,"      \
    "\"default\":1048576}"

/* A static identifier-like string obj.<name> (field "<prefix>.<name>"):
 * 1..max bytes of letters, digits and the characters in `extra`; absent is
 * fine unless `required`.  Templates are not allowed.  thread: any */
int act_preset_ident(const json_t *obj, const char *prefix, const char *name, const char *extra,
                     size_t max, bool required, struct act_err *err);

/* Exactly one of the NULL-terminated member names is present in handler;
 * none: ACT_EUNPROC on the first ("handler.token": "one of token, topic or
 * condition is required"); two: on the second.  thread: any */
int act_preset_one_of(const json_t *handler, const char *const *names, struct act_err *err);

/* A new object with the members of handler named in `names` (deep copies;
 * absent ones are left out).  thread: any */
json_t *act_preset_pick(const json_t *handler, const char *const *names);

/* "Authorization: Basic base64(user:pass)" and "Authorization: Bearer
 * token" as heap strings (free with act_secret_free).  thread: any */
char *act_preset_basic_line(const char *user, const char *pass);
char *act_preset_bearer_line(const char *token);

/* A rendered value as provider text: strings as is, numbers and booleans
 * as JSON text; NULL with err (field `name`) for null, objects and arrays
 * unless `any`, when they become compact JSON text.  New reference.
 * thread: any */
json_t *act_preset_text(const json_t *v, const char *name, bool any, struct act_err *err);

/* "<base><path>" parsed and normalised into *out; the error names `field`.
 * thread: any */
int act_preset_url(const char *base, const char *path, const char *field, char **out,
                   struct act_err *err);

#endif
