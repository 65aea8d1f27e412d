/*
 * Kind `webhook` and the provider presets built on it, shared between
 * handler_webhook_spec.c (validation helpers), handler_webhook.c (the
 * state, the request building and the attempts on the HTTP loop) and the
 * preset files handler_preset_*.c (sms, slack, push, graphql, external_api,
 * serverless_aws, serverless_azure).  Nothing outside src/handler/ and its
 * tests includes this; the kinds themselves are reached through handler.h.
 *
 * A preset is a kind with its own validate() (fields named in its terms:
 * "handler.to", "config.auth_token") whose open() fills a struct
 * act_webhook_desc from its spec and hands it to act_webhook_open_desc();
 * from then on the attempt is the webhook's: one libcurl multi loop, the
 * egress guard, the timeouts, the response cap, 429/503 Retry-After, 410
 * and 3xx-not-followed handling.  What differs per provider is data in the
 * description (body encoding, an auth header, Standard Webhooks headers or
 * not) and three optional hooks: shape (rendered spec -> body), sign (after
 * the body and the headers are final: AWS SigV4) and interpret (the answer
 * -> the result: GraphQL errors, Lambda function errors, Slack's "ok").
 * docs/internals/webhook.md, section "Presets".
 */
#ifndef ACT_HANDLER_HANDLER_WEBHOOK_H
#define ACT_HANDLER_HANDLER_WEBHOOK_H

#include "base/err.h"
#include "handler/handler.h"
#include "handler/handler_internal.h"
#include "handler/webhook_sign.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define ACT_WEBHOOK_URL_MAX 2048
#define ACT_WEBHOOK_HEADERS_MAX 64
#define ACT_WEBHOOK_CONFIG_SECRET_MAX 8192 /* bytes of a config secret (sealed form) */

/* ---- the description a state is opened from ---- */

/* Where the body comes from.  (A GET never carries one.) */
enum act_webhook_body {
    ACT_WEBHOOK_BODY_INPUT = 0, /* the attempt's input */
    ACT_WEBHOOK_BODY_TEMPLATE,  /* desc.body rendered in the attempt's scope */
    ACT_WEBHOOK_BODY_NONE,      /* no body */
};

/* How the body value goes on the wire. */
enum act_webhook_encoding {
    ACT_WEBHOOK_JSON = 0, /* compact JSON, Content-Type: application/json */
    ACT_WEBHOOK_FORM,     /* an object as application/x-www-form-urlencoded */
};

/* One request as built for an attempt, before it goes to libcurl. */
struct act_webhook_req {
    char *url;          /* final URL (heap), normalised by CURLU */
    char hostport[300]; /* "host:port", for messages (no path or query: they may hold tokens) */
    const char *method; /* borrowed from the state */
    char **headers;     /* heap, NULL-terminated "Name: value" lines */
    size_t n_headers, cap_headers;
    char *body;         /* heap, or NULL: no body */
    size_t body_len;
};

/* What came back, for an interpret hook.  All borrowed for the call. */
struct act_webhook_answer {
    long status;
    const char *body;    /* NUL-terminated; "" when none */
    size_t body_len;
    const char *headers; /* the final response's header lines, "Name: value\r\n" each */
    size_t headers_len;
};

/* Returned by an interpret hook: handle the answer as kind `webhook` does. */
#define ACT_WEBHOOK_DEFAULT 1

/* Turn the rendered template (or the input, for ACT_WEBHOOK_BODY_INPUT) into
 * the body value: a new reference, or NULL with err (err->field relative to
 * desc.body_field; the failure is permanent).  thread: worker */
typedef json_t *act_webhook_shape_fn(const void *ctx, const json_t *rendered,
                                     struct act_err *err);

/* Run after the body and headers are final (add signature headers with
 * act_webhook_req_add).  ACT_OK, or a negative code with err.  thread: worker */
typedef int act_webhook_sign_fn(const void *ctx, struct act_webhook_req *req, struct act_err *err);

/* Decide an HTTP answer: ACT_OK with res->output set, a negative code with
 * res->error (act_handler_fail) and maybe res->error_detail, or
 * ACT_WEBHOOK_DEFAULT for the webhook's own handling.  thread: loop */
typedef int act_webhook_interpret_fn(const void *ctx, const struct act_webhook_answer *ans,
                                     struct act_handler_result *res);

/* Everything a webhook state is made of.  Heap members are owned by the
 * description and move into the state at act_webhook_open_desc(). */
struct act_webhook_desc {
    const char *kind;        /* static: the kind, for messages */
    char method[16];         /* "POST" when empty */
    char *url;               /* a static URL (heap), or NULL when url_tpl is set */
    json_t *url_tpl;         /* a templated URL (must render to an http(s) URL) */
    const char *url_field;   /* static: field of url errors; default "handler.url" */
    json_t *query;           /* object of name -> template, appended to the URL, or NULL */
    const char *query_field; /* static; default "handler.query" */
    json_t *headers;         /* object of name -> string (templates allowed), or NULL */
    const char *headers_field; /* static; default "handler.headers" */
    enum act_webhook_body body_mode;
    json_t *body;            /* the template for ACT_WEBHOOK_BODY_TEMPLATE */
    const char *body_field;  /* static: prefix of render errors; default "handler.body" */
    enum act_webhook_encoding encoding;
    char *auth_line;         /* secret heap "Authorization: Bearer ..." line, or NULL */
    bool standard_webhooks;  /* send webhook-id/-timestamp, and -signature with keys */
    struct act_webhook_key keys[ACT_WEBHOOK_MAX_SECRETS];
    size_t n_keys;
    int64_t timeout_ms, connect_timeout_ms; /* 0: default / min(10 s, timeout) */
    size_t max_response;     /* 0: the default (1 MiB) */
    char *ca_file;           /* heap: PEM file of CAs to trust instead of the system's, or NULL */
    act_webhook_shape_fn *shape;
    act_webhook_sign_fn *sign;
    act_webhook_interpret_fn *interpret;
    void *ctx;               /* handed to the hooks; freed with ctx_free at close */
    void (*ctx_free)(void *ctx);
};

/* Open a state from `d`, taking its heap members (also on failure, when
 * they are freed); *d is zeroed.  Acquires the shared HTTP loop.
 * thread: any */
int act_webhook_open_desc(struct act_webhook_desc *d, void **state, struct act_err *err);

/* Free the heap members of a description that was not opened (secrets are
 * wiped) and zero it.  thread: any */
void act_webhook_desc_release(struct act_webhook_desc *d);

/* Fill d's timeouts and response cap from handler.timeout_ms,
 * connect_timeout_ms and max_response_bytes (validated).  thread: any */
void act_webhook_desc_limits(struct act_webhook_desc *d, const json_t *handler);

/* The ops every preset shares with kind `webhook`.  thread: as handler.h */
int act_webhook_start(void *state, const struct act_handler_call *call,
                      struct act_handler_result *res, act_handler_done_fn *done, void *ud);
int act_webhook_execute(void *state, const struct act_handler_call *call,
                        struct act_handler_result *res);
void act_webhook_close(void *state);

/* Build the request of one attempt as start() would send it (templates,
 * query, body and encoding, headers, auth, Standard Webhooks headers, the
 * sign hook) without sending it; for start() and for tests.  ACT_OK, or a
 * negative code with res->error (res->permanent for a template that fails).
 * Release *req with act_webhook_req_release either way.  thread: worker */
int act_webhook_build(const void *state, const struct act_handler_call *call,
                      struct act_webhook_req *req, struct act_handler_result *res);

/* Append a header line (copied).  thread: the req's */
void act_webhook_req_add(struct act_webhook_req *req, const char *line);

/* The value of the first header `name` (case-insensitive) in req, or NULL.
 * thread: the req's */
const char *act_webhook_req_header(const struct act_webhook_req *req, const char *name);

/* Free what a req holds (header lines are wiped: they may hold secrets).
 * thread: any */
void act_webhook_req_release(struct act_webhook_req *req);

/* Copy the value of response header `name` (case-insensitive, the first
 * one) into out (capacity cap, trimmed); false when absent.  thread: any */
bool act_webhook_answer_header(const struct act_webhook_answer *ans, const char *name, char *out,
                               size_t cap);

/* ---- private to handler_webhook.c and handler_webhook_build.c ---- */

struct act_http_loop;

/* An open state: the description plus what open() derives from it.
 * Immutable after open, so attempts start from many workers at once. */
struct act_webhook_state {
    struct act_webhook_desc d;
    struct act_http_loop *loop;
    char hostport[300];  /* of d.url when it is static */
    char **headers;      /* NULL-terminated static lines: User-Agent, d.headers without templates */
    json_t *headers_tpl; /* the templated members of d.headers, or NULL */
};

/* ---- validation helpers (handler_webhook_spec.c) ---- */

/* validate() of kind `webhook`: members, url, method, headers, timeouts,
 * body templates, secrets; ACT_EUNPROC with err->field.  thread: any */
int act_webhook_spec_validate(const json_t *handler, const json_t *config, struct act_err *err);

/* Parse and normalise `url` with CURLU (numeric IPv4 spellings become
 * dotted quads): it must be http or https with a host.  The normalised text
 * into *out (heap, act_free; NULL: only check) and "host:port" into
 * hostport (capacity hp_cap; NULL: not wanted).  ACT_EUNPROC with field
 * "handler.url" otherwise.  thread: any */
int act_webhook_parse_url(const char *url, char **out, char *hostport, size_t hp_cap,
                          struct act_err *err);

/* Check a URL member `v` named `field`: required (absent: "is required"), a
 * string of 1..ACT_WEBHOOK_URL_MAX bytes; a static one must parse (as
 * act_webhook_parse_url); with templates (allowed only when allow_tpl) it
 * must start with a literal http:// or https:// and compile.  thread: any */
int act_webhook_check_url(const json_t *v, const char *field, bool allow_tpl,
                          struct act_err *err);

/* Check a base URL member (static http(s), a host, no query or fragment)
 * and return it normalised without trailing slashes in *out (heap; NULL:
 * only check).  Absent: *out = act_xstrdup(def).  thread: any */
int act_webhook_check_base_url(const json_t *v, const char *field, const char *def, char **out,
                               struct act_err *err);

/* True when some string inside v holds "{{".  thread: any */
bool act_webhook_has_template(const json_t *v);

/* When v holds templates, they must compile; an error is reported under
 * `field` ("handler.body" + ".a.b").  thread: any */
int act_webhook_check_template(const json_t *v, const char *field, struct act_err *err);

/* A text member handler.<name>: absent is fine unless `required`; else a
 * string of 1..max bytes (templates allowed and compiled).  thread: any */
int act_webhook_check_text(const json_t *handler, const char *name, bool required, size_t max,
                           struct act_err *err);

/* handler.timeout_ms, connect_timeout_ms and max_response_bytes, when
 * present, in range.  thread: any */
int act_webhook_check_limits(const json_t *handler, struct act_err *err);

/* handler.<member> as request headers: an object of at most
 * ACT_WEBHOOK_HEADERS_MAX string values (templates allowed), token names
 * that actiond does not set; `owned` (may be NULL) is one more name the
 * kind sets itself (its auth header), refused with "comes from <owner>".
 * thread: any */
int act_webhook_check_headers(const json_t *headers, const char *field, const char *owned,
                              const char *owner, struct act_err *err);

/* A config secret config.<name>: absent is ACT_OK with *out NULL unless
 * `required`; otherwise a non-empty string, opened when sealed ("v1:..."),
 * without control characters.  The plaintext into *out (free with
 * act_secret_free; NULL: only check).  thread: any */
int act_webhook_config_secret(const json_t *config, const char *name, bool required, char **out,
                              struct act_err *err);

/* Decode config.secret (absent: *n_keys = 0; a string; or an array of
 * 1..ACT_WEBHOOK_MAX_SECRETS strings, each maybe sealed) into keys.
 * ACT_EUNPROC naming the secret ("config.secret[1]").  thread: any */
int act_webhook_load_keys(const json_t *config, struct act_webhook_key *keys, size_t *n_keys,
                          struct act_err *err);

/* Append `s` (len bytes) percent-encoded: RFC 3986 unreserved characters
 * as is, every other byte as %XX.  thread: any */
void act_webhook_pct_encode(struct act_buf *b, const char *s, size_t len);

/* Append an object as name=value pairs joined by '&' (form bodies and URL
 * queries): strings as is, numbers and booleans as JSON text, null
 * skipped, an array as one pair per element; other values are ACT_EUNPROC
 * with err->field the member.  thread: any */
int act_webhook_form_encode(struct act_buf *b, const json_t *obj, struct act_err *err);

#endif
