/*
 * actiond embedding API: run the actiond engine inside your own C program.
 *
 * Open an engine on a data directory, register actions and subscriptions,
 * emit events and wait for the executions they cause, all in-process and
 * without HTTP.  The daemon (`actiond`) is this same engine with an HTTP
 * front end; both keep their state in `<data_dir>/actiond.db`, so a data
 * directory written through one is readable through the other (not at the
 * same time: one engine per data directory, enforced with a lock file).
 *
 * Data crosses this boundary as JSON *text* (UTF-8) in exactly the shapes of
 * the REST API (docs/openapi.json, "Actions", "Subscriptions", "Events",
 * "Executions"), so this header needs no JSON library.  For programs without
 * one, actiond_json_get() and actiond_json_get_str() read a member out of a
 * returned document by path ("executions[0].id").
 *
 * Conventions shared by every function below:
 *   - Status: an int, ACTIOND_OK (0) or a negative enum actiond_status, with
 *     the same meaning as the HTTP status noted next to each code.
 *   - Errors: when `errbuf` is not NULL and `errlen` > 0, a failing call
 *     writes a one-line message there, NUL-terminated and truncated to fit,
 *     prefixed with the offending input field when there is one
 *     ("retry_policy.max_retries: must be between 0 and 100").  On success
 *     errbuf is left untouched.  A rejected call changes nothing.
 *   - Ownership: `const char *` arguments are borrowed for the call.  Every
 *     `char **out_*` result is a new NUL-terminated string owned by the caller,
 *     to be released with actiond_string_free(); it is set to NULL when the
 *     call fails (except where a function says otherwise).  An `out_*`
 *     argument documented as optional may be NULL when the result is not
 *     wanted.
 *   - Memory: small internal allocations abort the process with a message
 *     when memory runs out (the daemon's policy); ACTIOND_ENOMEM is returned
 *     only for client-sized data.
 *   - Threads: an engine handle may be used from any number of threads at
 *     once ("thread: any"), except actiond_close(), which must not overlap
 *     any other call on the same handle.  Handlers run on the engine's own
 *     worker threads, never on the caller's.
 *
 * Link with libactiond.a and its dependencies (docs/embedding.md):
 *   pkg-config --libs libmicrohttpd jansson libpcre2-8 sqlite3 libfyaml libcrypto
 *   plus -lpthread -ldl -lm.
 */
#ifndef ACTIOND_ACTIOND_H
#define ACTIOND_ACTIOND_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header.  actiond_version() gives the library's. */
#define ACTIOND_VERSION_MAJOR 0
#define ACTIOND_VERSION_MINOR 1
#define ACTIOND_VERSION_PATCH 0
#define ACTIOND_VERSION_STRING "0.1.0"

/* Status codes.  The values are fixed: they equal the engine's internal
 * codes, and new codes are only ever appended (more negative). */
enum actiond_status {
    ACTIOND_OK = 0,
    ACTIOND_ENOMEM = -1,
    ACTIOND_EINVAL = -2,    /* malformed or invalid input (HTTP 400) */
    ACTIOND_ENOTFOUND = -3, /* unknown id, or no such member (HTTP 404) */
    ACTIOND_ECONFLICT = -4, /* duplicate name (HTTP 409) */
    ACTIOND_EIO = -5,       /* store or OS failure (HTTP 500) */
    ACTIOND_ETIMEDOUT = -6, /* a wait ran out of time */
    ACTIOND_EPLUGIN = -7,   /* a handler or plugin failed */
    ACTIOND_EUNPROC = -8,   /* well-formed but semantically invalid (HTTP 422) */
    ACTIOND_ETOOBIG = -9,   /* over a size or count limit (HTTP 413) */
    ACTIOND_EBUSY = -10,    /* data directory in use, or shutting down (HTTP 503) */
    ACTIOND_ESTATE = -11,   /* not allowed in the current state (HTTP 409) */
};

/* Log levels for actiond_log_setup(). */
enum actiond_log_level {
    ACTIOND_LOG_DEBUG = 0,
    ACTIOND_LOG_INFO = 1,
    ACTIOND_LOG_WARN = 2,
    ACTIOND_LOG_ERROR = 3,
    ACTIOND_LOG_OFF = 4,
};

/* The engine.  Opaque: only pointers to it cross this API. */
struct act_engine;

/*
 * Options for actiond_open().  Fill them with actiond_options_init() and
 * then set the members you need: `size` lets a newer library read an options
 * struct built against an older header (members past `size` take their
 * defaults).  Members are only ever appended.
 */
struct actiond_options {
    size_t size;             /* sizeof(struct actiond_options) as the caller knows it */
    const char *data_dir;    /* required; created (one level) if missing; read during
                                actiond_open() only */
    int sync_full;           /* nonzero: SQLite synchronous=FULL (init: 1); 0: NORMAL */
    int workers;             /* handler worker threads; 0: 2 x CPUs, at least 4 */
    long drain_timeout_ms;   /* how long actiond_close() lets running work finish;
                                0: 10000 */
    long max_batch_events;   /* events per actiond_emit() batch; 0: 1000 */
};

/* The library's version, "MAJOR.MINOR.PATCH".  Static string.  thread: any */
const char *actiond_version(void);

/* A short constant description of a status code ("not found").
 * Static string.  thread: any */
const char *actiond_strerror(int code);

/* Route the engine's log records (logfmt, one line each) to file descriptor
 * `fd` and drop those below `level` (enum actiond_log_level).  The default is
 * fd 2 at ACTIOND_LOG_INFO.  The setting is process-wide.  thread: call it
 * before opening any engine, never while one is open. */
void actiond_log_setup(int fd, int level);

/* Set `opt` to the defaults: size = sizeof(*opt), sync_full = 1, everything
 * else zero (data_dir NULL: set it before actiond_open).  thread: any */
void actiond_options_init(struct actiond_options *opt);

/*
 * Open an engine on opt->data_dir: open or create its store, load actions
 * and subscriptions, resume executions left unfinished by an earlier run,
 * and start the writer and worker threads.  On success *out is the engine,
 * to be released with actiond_close(); on failure *out is NULL.
 * Errors: ACTIOND_EINVAL (opt NULL, size unknown, data_dir missing, negative
 * counts), ACTIOND_EBUSY (another engine, in this process or another, has
 * the data directory open), ACTIOND_EIO (directory or database problems).
 * thread: any (each call opens a distinct engine)
 */
int actiond_open(const struct actiond_options *opt, struct act_engine **out, char *errbuf,
                 size_t errlen);

/*
 * Stop intake, let running executions finish (up to drain_timeout_ms), stop
 * the threads and close the store.  Work not finished stays in the store and
 * resumes at the next actiond_open() of the data directory.  Blocks until
 * the worker threads have exited, so a handler that is running when the
 * drain starts delays the return until it ends or times out.  `e` is invalid
 * afterwards; NULL is accepted.  thread: no other call on `e` may overlap.
 */
void actiond_close(struct act_engine *e);

/*
 * Create an action from its JSON description (the REST API's "Actions":
 * {"name", "handler": {"kind": ...}, "retry_policy"?, "timeout_ms"?, ...}).
 * *out_json (optional) is the stored action with its "id", every default
 * filled in and secrets in "config" redacted.
 * Errors: ACTIOND_EINVAL (malformed JSON, a bad field), ACTIOND_EUNPROC
 * (unknown handler kind, or a handler spec its kind rejects), ACTIOND_ECONFLICT
 * (the name is taken).  thread: any
 */
int actiond_action_create(struct act_engine *e, const char *json, char **out_json, char *errbuf,
                          size_t errlen);

/* The stored action `id` in *out_json.  ACTIOND_ENOTFOUND when unknown.
 * thread: any */
int actiond_action_get(struct act_engine *e, const char *id, char **out_json, char *errbuf,
                       size_t errlen);

/* Delete action `id` and its subscriptions.  Its executions that have not
 * finished are cancelled (a running attempt's result is discarded); finished
 * ones stay readable.  ACTIOND_ENOTFOUND when unknown.  thread: any */
int actiond_action_delete(struct act_engine *e, const char *id, char *errbuf, size_t errlen);

/*
 * Run action `id` once without an event, with `input_json` (a JSON object,
 * or NULL for {}) as its input.  *out_json (optional) is
 * {"execution_id": "..."}; wait for it with actiond_execution_wait().
 * thread: any
 */
int actiond_action_execute(struct act_engine *e, const char *id, const char *input_json,
                           char **out_json, char *errbuf, size_t errlen);

/*
 * Create a subscription (the REST API's "Subscriptions": {"action_id",
 * "event_patterns": [...], "conditions"?, "priority"?, "enabled"?}).
 * *out_json (optional) is the stored subscription with its "id".
 * Errors: ACTIOND_EINVAL (malformed JSON, bad pattern or condition, with the
 * field), ACTIOND_EUNPROC ("action_id: ...") when the action does not exist.
 * thread: any
 */
int actiond_subscription_create(struct act_engine *e, const char *json, char **out_json,
                                char *errbuf, size_t errlen);

/* Delete subscription `id`.  ACTIOND_ENOTFOUND when unknown.  thread: any */
int actiond_subscription_delete(struct act_engine *e, const char *id, char *errbuf,
                                size_t errlen);

/*
 * Emit one event or a batch and return once they and the executions they
 * trigger are durably stored (handlers run later, on the worker threads).
 *
 * `event_json` takes the forms of POST /v1/events: one event, either plain
 * {"type", "data"?, "id"?, "source"?, "subject"?, "time"?} or a CloudEvents
 * 1.0 structured object ("specversion": "1.0"); or a batch, given as a JSON
 * array of events or as {"events": [...]} (an object with "events" and no
 * "type").  Every event is validated and normalised exactly as over HTTP; a
 * batch is stored in one transaction.
 *
 * One event: *reply_json (optional) is {"event_id", "duplicate",
 * "executions": [{"id", "action_id", "subscription_id"}]}, and an invalid
 * event fails the call (ACTIOND_EINVAL with the field).  Emitting the same
 * source+id again creates nothing and answers the first reply with
 * "duplicate": true.
 *
 * A batch: *reply_json is {"results": [...]}, one entry per event in order;
 * an invalid member gets {"error": {"code", "message", "field"}} in its slot
 * ("field" prefixed "events[i]") without stopping the others, and the call
 * still returns ACTIOND_OK, so check each slot.  An empty batch is
 * ACTIOND_EINVAL; more valid events than max_batch_events ACTIOND_ETOOBIG.
 * thread: any
 */
int actiond_emit(struct act_engine *e, const char *event_json, char **reply_json, char *errbuf,
                 size_t errlen);

/* The current state of execution `id` (the REST API's "Executions": {"id",
 * "status", "attempt", "output", "error", "lineage", ...}) in
 * *execution_json.  ACTIOND_ENOTFOUND when unknown.  thread: any */
int actiond_execution_get(struct act_engine *e, const char *id, char **execution_json,
                          char *errbuf, size_t errlen);

/*
 * Wait up to `timeout_ms` (>= 0; 0 checks once) for execution `id` and its
 * retries to reach a final status ("succeeded", "dead" or "cancelled"), then
 * put the last attempt in *execution_json: its "output" is the handler's
 * result, "error" the last failure.  Returns ACTIOND_ETIMEDOUT when time runs
 * out; then, unlike other failures, *execution_json holds the latest
 * snapshot ("pending", "running", "scheduled", ...) and must be freed too.
 * ACTIOND_ENOTFOUND when unknown.  thread: any
 */
int actiond_execution_wait(struct act_engine *e, const char *id, long timeout_ms,
                           char **execution_json, char *errbuf, size_t errlen);

/* Release a string returned by this API.  NULL is accepted.  thread: any */
void actiond_string_free(char *s);

/*
 * Read one value out of a JSON document by `path`: member names separated
 * by '.', array indices in brackets ("executions[0].id", "output",
 * "results[1].error.field"); "" is the whole document.  *out_json is the
 * value as compact JSON text (a string keeps its quotes).
 * Errors: ACTIOND_EINVAL (malformed JSON or path), ACTIOND_ENOTFOUND (no such
 * member or index).  thread: any
 */
int actiond_json_get(const char *json, const char *path, char **out_json, char *errbuf,
                     size_t errlen);

/* Like actiond_json_get() for a string value: *out_str is its text, unquoted
 * and unescaped.  ACTIOND_EINVAL when the value is not a string.  (Text with
 * a \u0000 escape is refused as malformed, so the result never holds a NUL
 * before its end.)  thread: any */
int actiond_json_get_str(const char *json, const char *path, char **out_str, char *errbuf,
                         size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
