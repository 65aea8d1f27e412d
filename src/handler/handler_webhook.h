/*
 * Kind `webhook`, shared between its two files: handler_webhook_spec.c
 * (validation of the spec and config) and handler_webhook.c (the state and
 * the attempts on the HTTP loop).  Nothing outside src/handler/ includes
 * this; the kind itself is reached through handler.h.
 */
#ifndef ACT_HANDLER_HANDLER_WEBHOOK_H
#define ACT_HANDLER_HANDLER_WEBHOOK_H

#include "base/err.h"
#include "handler/webhook_sign.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define ACT_WEBHOOK_URL_MAX 2048

/* validate() of the kind: members, url, method, headers, timeouts, body
 * templates, secrets; ACT_EUNPROC with err->field.  thread: any */
int act_webhook_spec_validate(const json_t *handler, const json_t *config, struct act_err *err);

/* Parse and normalise `url` with CURLU (numeric IPv4 spellings become
 * dotted quads): it must be http or https with a host.  The normalised text
 * into *out (heap, act_free; NULL: only check) and "host:port" into
 * hostport (capacity hp_cap; NULL: not wanted).  ACT_EUNPROC with field
 * "handler.url" otherwise.  thread: any */
int act_webhook_parse_url(const char *url, char **out, char *hostport, size_t hp_cap,
                          struct act_err *err);

/* True when some string inside v holds "{{".  thread: any */
bool act_webhook_has_template(const json_t *v);

/* Decode config.secret (absent: *n_keys = 0; a string; or an array of
 * 1..ACT_WEBHOOK_MAX_SECRETS strings, each maybe sealed) into keys.
 * ACT_EUNPROC naming the secret ("config.secret[1]").  thread: any */
int act_webhook_load_keys(const json_t *config, struct act_webhook_key *keys, size_t *n_keys,
                          struct act_err *err);

#endif
