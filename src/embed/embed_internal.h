/*
 * Helpers shared by the files of the embedding API (include/actiond/actiond.h):
 * the translation between the public conventions (JSON text, errbuf) and the
 * engine's (jansson values, struct act_err).  Serves src/embed/ only.
 */
#ifndef ACT_EMBED_EMBED_INTERNAL_H
#define ACT_EMBED_EMBED_INTERNAL_H

#include "base/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Nesting accepted in JSON text given to the API, as over HTTP
 * (ACT_API_JSON_MAX_DEPTH): later recursive walks rely on the bound. */
#define ACT_EMBED_JSON_MAX_DEPTH 64

/* Write `err` to errbuf as "field: message" (or "message"; the code's
 * description when there is none), truncated to errlen, when errbuf is not
 * NULL and errlen > 0.  Returns err->code.  thread: any */
int act_embed_fail(const struct act_err *err, char *errbuf, size_t errlen);

/* Parse `text` strictly, as the HTTP layer does: any JSON value, duplicate
 * members rejected, nothing after the value, at most
 * ACT_EMBED_JSON_MAX_DEPTH levels.  `what` names the argument in messages
 * ("action").  *out is a new reference, NULL on failure (ACT_EINVAL).
 * thread: any */
int act_embed_parse(const char *text, const char *what, json_t **out, struct act_err *err);

/* Compact JSON text of `v` (any value) in a new string released with
 * act_free (actiond_string_free).  thread: any */
char *act_embed_dump(const json_t *v);

/* Store `v` as text in *out when out is not NULL, then drop the reference
 * (takes ownership of v, which may be NULL: *out becomes NULL).
 * thread: any */
void act_embed_give(json_t *v, char **out);

/* ACT_OK when `present`; otherwise ACT_EINVAL with the message
 * "<name> is NULL" (a required pointer argument was NULL).  thread: any */
int act_embed_need(bool present, const char *name, struct act_err *err);

#endif
