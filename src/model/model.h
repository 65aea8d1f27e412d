/*
 * The data model's rules: validation and normalisation of what clients send
 * (actions, subscriptions, events), default values, retry-delay arithmetic
 * and secret redaction.  Pure functions over jansson values, no I/O: the
 * engine and every front end (HTTP, embedding API, CLI) share them, so one
 * body gets the same answer everywhere.
 *
 * Errors: ACT_EINVAL (HTTP 400) for wrong types, missing or out-of-range
 * values, with err->field naming the dotted field ("retry_policy.max_retries",
 * "event_patterns[2]", "conditions.all[0].op"); ACT_EUNPROC (HTTP 422) for a
 * well-formed handler spec its kind rejects or an unknown kind.
 */
#ifndef ACT_MODEL_MODEL_H
#define ACT_MODEL_MODEL_H

#include "base/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Limits on client-controlled sizes and counts. */
#define ACT_NAME_MAX 128           /* action name, action_type, category */
#define ACT_DESCRIPTION_MAX 4096
#define ACT_FIELDS_MAX 256         /* required_fields / optional_fields entries */
#define ACT_MAX_RETRIES_MAX 100
#define ACT_DELAY_MAX_MS (7LL * 24 * 3600 * 1000) /* one week */
#define ACT_TIMEOUT_MAX_MS (24LL * 3600 * 1000)    /* one day */
#define ACT_PRIORITY_ABS_MAX 1000000
#define ACT_EVENT_TYPE_MAX 256
#define ACT_EVENT_ATTR_MAX 1024    /* id, source, subject lengths */

enum act_backoff { ACT_BACKOFF_FIXED = 0, ACT_BACKOFF_LINEAR = 1, ACT_BACKOFF_EXPONENTIAL = 2 };

/* Seed 1 section 3.3, exactly. */
struct act_retry_policy {
    int max_retries;           /* retries after the first attempt: 0..ACT_MAX_RETRIES_MAX */
    enum act_backoff backoff;
    int64_t initial_delay_ms;  /* 0..ACT_DELAY_MAX_MS */
    int64_t max_delay_ms;      /* initial_delay_ms..ACT_DELAY_MAX_MS */
    bool jitter;
};

/* Delay before the retry that follows failed attempt number `attempt`
 * (1-based): exponential initial*2^(attempt-1), linear initial*attempt,
 * fixed initial; capped at max_delay_ms; with jitter, plus a value drawn
 * uniformly from [0, delay/4] using `rnd`.  Never overflows.  thread: any */
int64_t act_retry_delay_ms(const struct act_retry_policy *p, int attempt, uint64_t rnd);

/* The parsed hot-path view of a canonical action document. */
struct act_action_spec {
    struct act_retry_policy retry;
    int64_t timeout_ms;
    int priority;
    int max_concurrent;        /* 0: unlimited */
    int64_t rate_per_minute;   /* 0: unlimited */
    int64_t rate_per_hour;     /* 0: unlimited */
    bool enabled;
};

/* Validate a client's action body and build the canonical document, every
 * field present with its default (API.md "Actions"): name, action_type,
 * category, description, handler, config, required_fields, optional_fields,
 * input_schema, retry_policy{max_retries, backoff, initial_delay_ms,
 * max_delay_ms, jitter}, timeout_ms, priority, max_concurrent (null = no
 * limit), rate_limit{per_minute, per_hour, key}, enabled.  Server-set members
 * (id, created_at, updated_at, health) are ignored.  With `base` (PATCH),
 * members of `body` replace those of `base` first (retry_policy and
 * rate_limit merge one level deep).  The handler kind validates `handler`
 * and `config`.  *out is a new reference.  thread: any */
int act_action_normalize(const json_t *body, const json_t *base, json_t **out,
                         struct act_err *err);

/* Fill `spec` from a canonical action document.  thread: any */
void act_action_spec_from_doc(const json_t *doc, struct act_action_spec *spec);

/* Validate a subscription body and build the canonical document:
 * action_id (UUID string, required; existence is the engine's check),
 * event_patterns (1..ACT_MATCH_MAX_PATTERNS strings, each compiled),
 * conditions (null or a compiled condition tree), priority (default 0),
 * enabled (default true).  `base` as for actions.  thread: any */
int act_subscription_normalize(const json_t *body, const json_t *base, json_t **out,
                               struct act_err *err);

/* Validate one event given as plain JSON ({"type", "data"?, "id"?, "source"?,
 * "subject"?, "time"?}) or a CloudEvents 1.0 structured-mode object
 * ("specversion" present: must be "1.0"; "id", "source", "type" required;
 * "data" or "data_base64"; extension attributes: lowercase alphanumeric
 * names <= 20 chars, string/number/boolean values) and build the canonical
 * event: {"id", "source", "type", "specversion": "1.0", "time",
 * "subject"?, "datacontenttype"?, "data", extensions...}.  A missing (or
 * null) id stays absent: the engine gives such an event its own event id as
 * its CloudEvents id, and skips duplicate detection for it (nothing can
 * repeat an id nobody sent).  A missing source becomes "actiond", a missing
 * time `now_us`.
 * type: 1..ACT_EVENT_TYPE_MAX printable chars without spaces.  *out is a new
 * reference; its `data` is in's data itself (a reference, not a copy), so
 * neither may be modified afterwards.  thread: any */
int act_event_normalize(const json_t *in, int64_t now_us, json_t **out, struct act_err *err);

/* True when a config key names a secret (secret, password, token, api_key,
 * apikey, authorization, private_key, credentials; case-insensitive,
 * substring).  thread: any */
bool act_key_is_secret(const char *key);

/* A deep copy of `v` with every secret-named member's value replaced by
 * "***" (recursively through objects and arrays).  New reference.
 * thread: any */
json_t *act_redact(const json_t *v);

#endif
