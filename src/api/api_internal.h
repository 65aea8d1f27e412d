/*
 * Internals of the HTTP front end, shared by the files of src/api/ only.
 *
 * Layering inside the folder: the pure pieces (router, problem mapping,
 * JSON parsing, CloudEvents binary-mode mapping, HTTP counters, the OpenAPI
 * loader) reference neither the engine nor libmicrohttpd's connection
 * state, so unit tests link them without the engine.  Request helpers
 * (api_request.c) read from the libmicrohttpd connection; the resource
 * files (api_actions.c, api_events.c, ...) call the engine; api_server.c
 * glues everything to libmicrohttpd.
 *
 * A handler receives a struct act_api_req (borrowed for the call) and fills
 * a struct act_api_resp; it never touches the socket.  The server
 * serialises the response, adds headers and counts it.
 */
#ifndef ACT_API_API_INTERNAL_H
#define ACT_API_API_INTERNAL_H

#include "api/api.h"
#include "base/err.h"
#include "engine/engine.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct MHD_Connection;
struct MHD_Daemon;

#define ACT_API_ID_MAX 128        /* longest id accepted in a path */
#define ACT_API_MAX_PARAMS 4      /* path parameters per route */
#define ACT_API_JSON_MAX_DEPTH 64 /* nesting accepted in request bodies */
#define ACT_API_PROBLEM_BASE "https://actiond.dev/problems/"

/* Defaults for the zero fields of struct act_api_conf. */
#define ACT_API_DEFAULT_THREADS 8
#define ACT_API_DEFAULT_MAX_BODY ((size_t)1 << 20)
#define ACT_API_DEFAULT_MAX_BATCH 1000
#define ACT_API_DEFAULT_CONN_LIMIT 4096

struct act_api_req;
struct act_api_resp;
struct act_api_stats;

/* A route's handler: read `req`, fill `resp` (status and body).  thread: any
 * (an MHD pool thread) */
typedef void act_api_handler_fn(struct act_api_req *req, struct act_api_resp *resp);

enum act_api_route_flags {
    /* The route takes a JSON body: 415 when a Content-Type is present and is
     * not JSON (application/json or any +json type). */
    ACT_API_ROUTE_JSON = 1u << 0,
};

struct act_api_route {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* "/v1/actions/{id}/execute"; {name} is one segment */
    act_api_handler_fn *handler;
    unsigned flags; /* enum act_api_route_flags */
};

/* Path parameters captured by the router; values are copies. */
struct act_api_params {
    size_t n;
    char names[ACT_API_MAX_PARAMS][32];
    char values[ACT_API_MAX_PARAMS][ACT_API_ID_MAX + 1];
};

/* The server, shared read-only by every pool thread after start. */
struct act_api {
    struct MHD_Daemon *daemon;
    struct act_engine *engine;
    char host[256];
    int port;
    int threads;
    size_t max_body_bytes;
    size_t max_batch_events;
    int connection_limit;
    struct act_api_route *routes; /* every resource's table, concatenated */
    size_t n_routes;
    struct act_api_stats *stats;
    atomic_int n_deferred; /* suspended connections waiting for the engine */
    char *openapi; /* the OpenAPI document served at /openapi.json */
    size_t openapi_len;
};

/* One request as a handler sees it.  Everything is borrowed for the call. */
struct act_api_req {
    void *state;                 /* the server's per-request state (for act_api_defer) */
    struct act_api *api;
    struct act_engine *engine;
    struct MHD_Connection *conn; /* NULL when driven by a unit test */
    const char *method;
    const char *path; /* decoded, without the query string */
    const struct act_api_route *route;
    struct act_api_params params;
    const char *body; /* not NUL-terminated; NULL when empty */
    size_t body_len;
    const char *content_type; /* NULL when the header is absent */
};

/* What a handler answers.  Exactly one of body / text is set (or neither,
 * for 204). */
struct act_api_resp {
    int status;
    json_t *body; /* owned; served as JSON */
    char *text;   /* owned (act_free); served as-is */
    size_t text_len;
    const char *content_type; /* static string; NULL: application/json */
    char location[192];       /* Location header when non-empty */
    char allow[64];           /* Allow header when non-empty */
    /* Deferred reply (act_api_defer): the server suspends the connection and
     * calls cont(cont_ud, resp) once resumed, to fill this response. */
    void (*cont)(void *ud, struct act_api_resp *resp);
    void *cont_ud;
};

/* ---- deferred replies (api_server.c) ----
 * A handler that waits for the engine without blocking its pool thread:
 *   tok = act_api_defer(req, resp, finish, ctx);
 *   rc = act_engine_ingest_begin(..., act_api_resume, tok, ...);
 *   on rc < 0: act_api_defer_cancel(resp) and answer the error as usual.
 * The server suspends the connection when the handler returns; the engine's
 * act_api_resume(tok) (from any thread, before or after the suspension)
 * resumes it, and finish(ctx, resp) then builds the answer on a pool
 * thread and frees ctx.  thread: any */
void *act_api_defer(struct act_api_req *req, struct act_api_resp *resp,
                    void (*cont)(void *ud, struct act_api_resp *resp), void *ud);
void act_api_defer_cancel(struct act_api_resp *resp);
void act_api_resume(void *tok);

/* ---- router (api_router.c) ---- */

enum act_api_route_result {
    ACT_API_ROUTE_FOUND = 0,
    ACT_API_ROUTE_NO_PATH = 1,   /* 404 */
    ACT_API_ROUTE_NO_METHOD = 2, /* 405; `allow` lists the methods of the path */
};

/* Find the route for method + path in `routes` (first match in table
 * order).  A {param} segment matches one non-empty segment that is a valid
 * id (act_api_id_valid); its decoded value goes to `params`.  On FOUND,
 * *idx is the route's index.  On NO_METHOD, `allow` receives the methods
 * accepted for the path ("GET, PUT"); it is always NUL-terminated.
 * thread: any */
enum act_api_route_result act_api_route_find(const struct act_api_route *routes, size_t n_routes,
                                             const char *method, const char *path, size_t *idx,
                                             struct act_api_params *params, char *allow,
                                             size_t allow_len);

/* A path parameter by name, or NULL.  thread: any */
const char *act_api_param(const struct act_api_params *params, const char *name);

/* True when s[0..len) may be an id in a path: 1..ACT_API_ID_MAX bytes of
 * letters, digits and -._~:@+=,!$*'() .  thread: any */
bool act_api_id_valid(const char *s, size_t len);

/* ---- problems and replies (api_problem.c) ---- */

/* HTTP status for an act_status code: EINVAL 400, ENOTFOUND 404,
 * ECONFLICT 409, EUNPROC 422, ETOOBIG 413, EBUSY 503, ESTATE 409, anything
 * else 500.  thread: any */
int act_api_status_from_code(int code);

/* The problem type URI for an HTTP status, e.g.
 * "https://actiond.dev/problems/not-found".  thread: any */
const char *act_api_problem_type(int status);

/* The short title for an HTTP status ("Not found").  thread: any */
const char *act_api_problem_title(int status);

/* A problem object {type, title, status, detail, field?}.  `slug` overrides
 * the type derived from the status ("malformed-json"); NULL or "" field is
 * omitted.  New reference.  thread: any */
json_t *act_api_problem_new(int status, const char *slug, const char *detail, const char *field);

/* The problem object for an engine or model error.  New reference.
 * thread: any */
json_t *act_api_problem_from_err(const struct act_err *err);

/* Answer `status` with `body` (takes ownership; NULL sends no body).
 * thread: any */
void act_api_reply_json(struct act_api_resp *resp, int status, json_t *body);
/* Answer JSON already in text form (heap, taken: freed with act_free). */
void act_api_reply_text(struct act_api_resp *resp, int status, char *text, size_t len);

/* Answer with a problem.  thread: any */
void act_api_reply_problem(struct act_api_resp *resp, int status, const char *slug,
                           const char *field, const char *fmt, ...) ACT_PRINTF(5, 6);

/* Answer with the problem for `err`.  thread: any */
void act_api_reply_err(struct act_api_resp *resp, const struct act_err *err);

/* The common tail of a handler: on rc < 0 answer the problem for `err`,
 * else answer `status` with `out` (takes ownership of `out` either way).
 * thread: any */
void act_api_reply_result(struct act_api_resp *resp, int rc, int status, json_t *out,
                          const struct act_err *err);

/* 201 with `doc` (takes ownership) and Location: <prefix><doc.id>.
 * thread: any */
void act_api_reply_created(struct act_api_resp *resp, const char *prefix, json_t *doc);

/* Free what a response owns and zero it.  thread: any */
void act_api_resp_release(struct act_api_resp *resp);

/* ---- JSON (api_json.c) ---- */

/* Parse a request body: UTF-8 JSON, duplicate keys rejected, at most
 * ACT_API_JSON_MAX_DEPTH levels deep, nothing after the value.  With
 * `any`, a scalar top-level value is accepted, else only objects and
 * arrays.  Errors are ACT_EINVAL without a field; the message reads
 * "malformed JSON at line 1 column 9: ...".  *out is a new reference.
 * thread: any */
int act_api_json_parse(const char *buf, size_t len, bool any, json_t **out, struct act_err *err);

/* Copy the media type of a Content-Type value, lowercased and without
 * parameters or surrounding blanks, into out (always NUL-terminated).
 * thread: any */
void act_api_media_type(const char *content_type, char *out, size_t len);

/* True for application/json and any type with a +json suffix
 * (application/cloudevents+json, application/merge-patch+json, ...).
 * thread: any */
bool act_api_media_is_json(const char *content_type);

/* Serialise compactly into a fresh buffer (act_free); *len gets its
 * length.  thread: any */
char *act_api_json_dump(const json_t *v, size_t *len);

/* ---- CloudEvents binary mode (api_cloudevents.c) ---- */

struct act_api_header {
    const char *name; /* any case */
    const char *value;
};

/* Build a structured-mode CloudEvent from a binary-mode request: ce-*
 * headers become attributes (ce-id -> id, ce-myext -> myext; names
 * lowercased, values percent-decoded), Content-Type becomes
 * datacontenttype and the body becomes `data`: parsed JSON when the media
 * type is JSON, a string when the body is UTF-8 text without NUL bytes,
 * else `data_base64`.  An empty body gives no data.  Errors: ACT_EINVAL
 * with field "ce-<name>" for a bad header, "data" for a JSON body that does
 * not parse.  The result still goes through act_event_normalize.  *out is a
 * new reference.  thread: any */
int act_api_ce_binary(const struct act_api_header *headers, size_t n_headers, const char *body,
                      size_t len, json_t **out, struct act_err *err);

/* ---- HTTP counters (api_stats.c) ---- */

/* Counters and latency histograms per route and status code.  `routes` is
 * borrowed and must outlive the stats.  thread: init */
struct act_api_stats *act_api_stats_new(const struct act_api_route *routes, size_t n_routes);
void act_api_stats_free(struct act_api_stats *stats);

/* Count one request.  route_idx < 0 means no route matched.  Lock-free.
 * thread: any */
void act_api_stats_record(struct act_api_stats *stats, long route_idx, int status,
                          int64_t duration_us);

/* Prometheus text for actiond_http_requests_total{route,code} and
 * actiond_http_request_duration_seconds{route}.  Caller frees with
 * act_free.  thread: any */
char *act_api_stats_prometheus(const struct act_api_stats *stats);

/* ---- OpenAPI document (api_openapi.c) ---- */

/* Read the OpenAPI document from $ACTIOND_OPENAPI, else docs/openapi.json
 * relative to the working directory; when neither reads and parses, a
 * minimal document saying so.  *src names where it came from (static).
 * Caller frees with act_free.  thread: init */
char *act_api_openapi_load(size_t *len, const char **src);

/* ---- request helpers (api_request.c) ---- */

/* A query-string argument or request header, or NULL.  thread: any */
const char *act_api_query(const struct act_api_req *req, const char *name);
const char *act_api_header(const struct act_api_req *req, const char *name);

/* Fill every member of `q` from the query string.  thread: any */
void act_api_query_fill(const struct act_api_req *req, struct act_query *q);

/* Parse the body as a JSON object or array into *out.  An empty body gives
 * NULL when `optional`, else a 400; malformed JSON is a 400 of type
 * malformed-json without a field.  On failure the problem is already in
 * `resp` and a negative code is returned.  thread: any */
int act_api_body_json(const struct act_api_req *req, struct act_api_resp *resp, bool optional,
                      json_t **out);

/* Parse the body as a JSON object into *out.  An empty body gives NULL
 * when `optional`, else a 400.  On failure the problem is already in
 * `resp` and a negative code is returned.  thread: any */
int act_api_body_object(const struct act_api_req *req, struct act_api_resp *resp, bool optional,
                        json_t **out);

/* Read the optional body {"input": ...} of execute and replay: *body is
 * the parsed object (caller decrefs; NULL when empty), *input borrows its
 * "input" member (NULL when absent or null).  Other members are a 400.
 * On failure the problem is already in `resp`.  thread: any */
int act_api_body_input(const struct act_api_req *req, struct act_api_resp *resp, json_t **body,
                       const json_t **input);

/* Every request header as name/value pairs (borrowed from the
 * connection, valid for the request); *n gets the count.  Caller frees the
 * array with act_free.  thread: any */
struct act_api_header *act_api_headers_collect(const struct act_api_req *req, size_t *n);

/* ---- resource tables (one per resource file) ---- */

extern const struct act_api_route act_api_action_routes[];
extern const size_t act_api_n_action_routes;
extern const struct act_api_route act_api_sub_routes[];
extern const size_t act_api_n_sub_routes;
extern const struct act_api_route act_api_event_routes[];
extern const size_t act_api_n_event_routes;
extern const struct act_api_route act_api_exec_routes[];
extern const size_t act_api_n_exec_routes;
extern const struct act_api_route act_api_dead_routes[];
extern const size_t act_api_n_dead_routes;
extern const struct act_api_route act_api_service_routes[];
extern const size_t act_api_n_service_routes;
extern const struct act_api_route act_api_plugin_routes[];
extern const size_t act_api_n_plugin_routes;

#endif
