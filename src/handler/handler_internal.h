/*
 * Shared by the files of src/handler/ only: the ops table of each kind (the
 * registry in handler.c lists them) and small helpers every kind uses.
 */
#ifndef ACT_HANDLER_HANDLER_INTERNAL_H
#define ACT_HANDLER_HANDLER_INTERNAL_H

#include "base/json_text.h"
#include "handler/handler.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern const struct act_handler_ops act_handler_noop_ops;
extern const struct act_handler_ops act_handler_echo_ops;
extern const struct act_handler_ops act_handler_command_ops;
extern const struct act_handler_ops act_handler_native_ops;
extern const struct act_handler_ops act_handler_plugin_ops;
extern const struct act_handler_ops act_handler_platform_ops;
extern const struct act_handler_ops act_handler_lua_ops;
extern const struct act_handler_ops act_handler_sql_ops;
extern const struct act_handler_ops act_handler_webhook_ops;
extern const struct act_handler_ops act_handler_email_ops;
extern const struct act_handler_ops act_handler_javascript_ops;
extern const struct act_handler_ops act_handler_python_ops;
extern const struct act_handler_ops act_handler_docker_ops;
extern const struct act_handler_ops act_handler_sms_ops;
extern const struct act_handler_ops act_handler_slack_ops;
extern const struct act_handler_ops act_handler_push_ops;
extern const struct act_handler_ops act_handler_graphql_ops;
extern const struct act_handler_ops act_handler_external_api_ops;
extern const struct act_handler_ops act_handler_serverless_aws_ops;
extern const struct act_handler_ops act_handler_serverless_azure_ops;

/* Check that every member of the handler object is "kind" or one of the
 * NULL-terminated `allowed` names; an unknown member is ACT_EUNPROC with
 * field "handler.<member>".  thread: any */
int act_handler_check_members(const json_t *handler, const char *const *allowed,
                              struct act_err *err);

/* Copy `len` bytes of `src` into `dst` (size `cap` > 0, always
 * NUL-terminated) as valid UTF-8: invalid bytes become '?', control
 * characters become spaces (with !one_line, newline and tab are kept), and a
 * multi-byte character is never cut in half.  Returns the number of bytes
 * written (without the NUL).  thread: any */
size_t act_handler_clean_text(char *dst, size_t cap, const char *src, size_t len, bool one_line);

/* The template scope of an attempt, a new object: {event (when there is
 * one), input, config, execution: {id, root_id, attempt, action}}; the
 * members are borrowed references of the call's values.  thread: any */
json_t *act_handler_scope(const struct act_handler_call *call);

/* execute() for kinds that only have start(): start the attempt and wait
 * for its done callback; returns what start or done returned.
 * thread: worker */
int act_handler_execute_sync(int (*start)(void *, const struct act_handler_call *,
                                          struct act_handler_result *, act_handler_done_fn *,
                                          void *),
                             void *state, const struct act_handler_call *call,
                             struct act_handler_result *res);

/* Compact JSON text of `v` (any value; NULL gives "null"), a new string the
 * caller frees with act_free; *len receives its length.  thread: any */
char *act_handler_dump(const json_t *v, size_t *len);

/* ---- subprocess runner (handler_command_proc.c), used by kind `command` ---- */

struct sock_fprog;

/* Everything needed to start one process, prepared before fork() so the child
 * only makes async-signal-safe calls.  All borrowed. */
struct act_proc_spec {
    char *const *argv;        /* argv[0] is shown in messages */
    char *const *envp;        /* the complete environment */
    char *const *exec_paths;  /* candidate files for argv[0], tried in order */
    const char *cwd;          /* NULL: inherit */
    const char *stdin_data;   /* written to the child's stdin, then closed */
    size_t stdin_len;
    int64_t timeout_ms;       /* > 0: wall clock limit from start to reap */
    size_t max_stdout;        /* more stdout than this kills the group */
    size_t stderr_keep;       /* bytes of stderr tail to keep */
    const struct sock_fprog *seccomp; /* NULL: none; else installed by the child
                                       * after no_new_privs (proc_seccomp.h) */
};

enum act_proc_end {
    ACT_PROC_EXITED = 0,   /* status: exit code */
    ACT_PROC_SIGNALED,     /* status: signal number */
    ACT_PROC_TIMEOUT,      /* deadline passed; the group was killed */
    ACT_PROC_OVERFLOW,     /* stdout over max_stdout; the group was killed */
    ACT_PROC_SPAWN_FAILED, /* status: errno; step: "chdir", "exec", "seccomp" or "setup" */
};

struct act_proc_outcome {
    enum act_proc_end end;
    int status;
    const char *step;      /* static string, for ACT_PROC_SPAWN_FAILED */
    char *out;             /* owned: stdout, NUL-terminated */
    size_t out_len;
    char *err_tail;        /* owned: the last stderr_keep bytes of stderr, NUL-terminated */
    size_t err_len;
};

/* Run a process in its own session with the rlimits, fd hygiene and no_new_privs
 * of docs/internals/handlers.md, feed it stdin, collect stdout and the stderr
 * tail until it exits, the deadline passes or stdout overflows, then SIGKILL
 * its whole process group and reap it.  Returns ACT_OK with *oc filled (release
 * it with act_proc_outcome_release), or ACT_EIO when pipes or fork fail.
 * SIGPIPE from writing stdin is blocked and consumed in the calling thread.
 * The caller must not ignore SIGCHLD nor reap children with waitpid(-1).
 * thread: any (several at once) */
int act_proc_run(const struct act_proc_spec *spec, struct act_proc_outcome *oc,
                 struct act_err *err);

/* Free the buffers of an outcome.  thread: any */
void act_proc_outcome_release(struct act_proc_outcome *oc);

/* ---- shared by the HTTP kinds (handler_http_kind.c; plugin, platform) ---- */

/* What both kinds take from their spec and config, built at open. */
struct act_http_common {
    int64_t timeout_ms;   /* handler.timeout_ms or the default */
    size_t max_response;  /* handler.max_response_bytes or the default */
    char **headers;       /* NULL-terminated "Name: value": User-Agent, Accept,
                           * X-Api-Key (opened), config.headers */
};

/* Check handler.timeout_ms, handler.max_response_bytes, config.headers and
 * config.api_key (a sealed value must open).  ACT_EUNPROC with err->field.
 * thread: any */
int act_http_kind_validate_common(const json_t *handler, const json_t *config,
                                  struct act_err *err);

/* Fill *c from a validated spec and config.  thread: any */
int act_http_kind_open_common(const json_t *handler, const json_t *config,
                              struct act_http_common *c, struct act_err *err);

/* Free what open_common allocated (the struct itself is the caller's).
 * thread: any */
void act_http_kind_release_common(struct act_http_common *c);

/* Open a config value that may be sealed ("v1:..."): a heap copy of the
 * plaintext into *out (free with act_secret_free).  `field` names it in
 * errors.  thread: any */
int act_http_kind_reveal(const char *value, const char *field, char **out, struct act_err *err);

/* Make one request for an attempt and turn the answer into *res: the
 * timeout is the smaller of c->timeout_ms and call->timeout_ms; `extra` adds
 * per-attempt header lines (NULL-terminated, or NULL); body NULL sends none,
 * otherwise it goes with Content-Type: application/json.  2xx is ACT_OK
 * with the parsed JSON body as output ({"body": text} when not JSON, null
 * when empty); everything else fails as docs/internals/http-handlers.md
 * says.  thread: worker */
int act_http_kind_call(const struct act_http_common *c, const struct act_handler_call *call,
                       const char *method, const char *url, const char *const *extra,
                       const char *body, size_t len, struct act_handler_result *res);

/* Header names for client-configured headers (handler_http_kind.c): a
 * token character (RFC 9110), and the names the request itself owns (Host,
 * Content-Length, Content-Type, User-Agent, the webhook-* signature headers,
 * ...) which configuration may not set.  thread: any */
bool act_http_header_tchar(unsigned char c);
bool act_http_header_reserved(const char *name);

#define ACT_HTTP_HEADER_VALUE_MAX 8192
/* One configured header: a token name that actiond does not own and a
 * string value without control characters, at most
 * ACT_HTTP_HEADER_VALUE_MAX bytes.  Fills `field` with "<prefix>.<name>"
 * (the field an error names).  ACT_EUNPROC on failure.  thread: any */
int act_http_header_check(const char *prefix, const char *name, const json_t *v, char *field,
                          size_t field_len, struct act_err *err);

#endif
