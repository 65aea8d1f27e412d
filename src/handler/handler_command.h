/*
 * The command family: kinds that run one process per attempt through the
 * subprocess runner (act_proc_run) and speak JSON on stdin/stdout:
 * `command` (handler_command.c), `javascript` and `python`
 * (handler_runtime.c), `docker` (handler_docker.c).
 *
 * handler_command_run.c holds what they share: validation of the common
 * members (env, cwd, max_output_bytes, timeout_ms, seccomp), the per-action
 * state built at open (struct act_cmd: environment, candidate paths, the
 * compiled seccomp filter), PATH lookups, and act_cmd_run(), which runs one
 * attempt and turns the process outcome into a result (exit codes, stdout
 * JSON, the error text; docs/internals/handlers.md#protocol).
 *
 * Folder-private (src/handler/ and its unit tests).  A struct act_cmd is
 * immutable after open, so attempts run from many workers at once.
 */
#ifndef ACT_HANDLER_HANDLER_COMMAND_H
#define ACT_HANDLER_HANDLER_COMMAND_H

#include "handler/handler_internal.h"
#include "handler/proc_seccomp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACT_CMD_TIMEOUT_MAX_MS 86400000LL /* one day, as an action's timeout_ms */
#define ACT_CMD_PATH_MAX 4096             /* cwd, module, runtime */

enum act_cmd_flags {
    ACT_CMD_SECCOMP = 1u << 0, /* the kind accepts handler.seccomp */
};

/* Per-action state of a command-family kind. */
struct act_cmd {
    char **argv;                   /* NULL-terminated; filled by the kind */
    char **envp;                   /* the child's complete environment */
    char **exec_paths;             /* candidates for argv[0]; filled by the kind */
    char *cwd;                     /* NULL: the daemon's */
    size_t max_output;             /* handler.max_output_bytes or 1 MiB */
    int64_t timeout_ms;            /* handler.timeout_ms; 0: the action's alone */
    enum act_seccomp_profile profile;
    struct act_seccomp *seccomp;   /* compiled profile; NULL for "none" */
    /* When set (static text): a failed run whose stderr has a line starting
     * with this mark fails with the rest of the last such line as its error,
     * instead of "exit status N: <stderr tail>" (the runtimes' runners
     * print the exception there). */
    const char *error_mark;
};

/* Check that `v` is a string of at most `max` bytes without NUL; errors
 * name `field` and call it `what`.  thread: any */
int act_cmd_check_text(const json_t *v, const char *field, const char *what, size_t max,
                       struct act_err *err);

/* [A-Za-z_][A-Za-z0-9_]*, at most 256 bytes.  thread: any */
bool act_cmd_env_name_ok(const char *name);

/* Validate the common members a kind allows: env, cwd, max_output_bytes,
 * timeout_ms and, with ACT_CMD_SECCOMP, seccomp.  Absent members are fine.
 * The caller checks the member list itself (act_handler_check_members).
 * ACT_EUNPROC with err->field.  thread: any */
int act_cmd_validate_common(const json_t *handler, unsigned flags, struct act_err *err);

/* Fill the common part of *c from a validated spec: envp (the daemon's
 * PATH, HOME, LANG, TZ and the `extra_allow` names (NULL-terminated or
 * NULL), then handler.env), cwd, max_output, timeout_ms, the seccomp profile
 * (default "default" with ACT_CMD_SECCOMP, else "none") and its compiled
 * filter.  On failure *c holds nothing to release.  thread: any */
int act_cmd_open_common(const json_t *handler, unsigned flags, const char *const *extra_allow,
                        struct act_cmd *c, struct act_err *err);

/* Free what *c owns (argv, envp, exec_paths, cwd, seccomp) and zero it.
 * thread: any */
void act_cmd_release(struct act_cmd *c);

/* The value of `name` in a NULL-terminated "K=V" array, or NULL.  thread: any */
const char *act_cmd_env_get(char *const *envp, const char *name);

/* Candidate files for `prog`: itself when it holds a '/', else each
 * absolute entry of envp's PATH (or the default PATH) joined with it.
 * NULL-terminated, free with act_cmd_strv_free.  thread: any */
char **act_cmd_exec_paths(const char *prog, char *const *envp);

/* The first candidate of act_cmd_exec_paths() that is an executable
 * regular file (new string), or NULL.  thread: any */
char *act_cmd_which(const char *prog, char *const *envp);

/* Free a NULL-terminated array of strings (NULL is fine).  thread: any */
void act_cmd_strv_free(char **v);

/* The stdin document of kind `command`: {"execution_id", "attempt",
 * "action", "event", "input", "config"} and a newline; *len gets its length.
 * Free with act_free.  thread: any */
char *act_cmd_stdin_doc(const struct act_handler_call *call, size_t *len);

/* The attempt's deadline: call->timeout_ms, lowered to c->timeout_ms when
 * that is set and smaller; at least 1.  thread: any */
int64_t act_cmd_timeout(const struct act_cmd *c, const struct act_handler_call *call);

/* Run one attempt: `argv` (NULL: c->argv; argv[0] is looked up in
 * c->exec_paths) with `in` on stdin, under c's limits and seccomp filter,
 * and interpret the outcome into *res (retry_after_ms is set to -1 first).
 * Returns ACT_OK or the negative code res->error explains.  thread: worker */
int act_cmd_run(const struct act_cmd *c, const struct act_handler_call *call, char *const *argv,
                const char *in, size_t in_len, struct act_handler_result *res);

/* ---- javascript and python (handler_runtime.c) ---- */

/* The interpreter argv of a runtime kind ("javascript" or "python") with
 * the embedded runner: {interp, flags..., "-e"|"-c", <runner source>, "--"?,
 * module, function, NULL}.  NULL for another kind.  Free with
 * act_cmd_strv_free.  thread: any */
char **act_runtime_argv(const char *kind, const char *interp, const char *module,
                        const char *function);

/* ---- docker (handler_docker.c) ---- */

/* Whether `image` is a valid image reference
 * ([registry[:port]/]path[:tag][@algo:hex], lowercase path components, at
 * most 255 bytes); it never begins with '-'.  thread: any */
bool act_docker_image_ok(const char *image);

/* The `docker run` argv of a validated docker spec: `docker` is the CLI's
 * path (argv[0]) and `name` the container name of this attempt.  Spec env
 * variables are passed as "--env NAME" (docker reads the value from its own
 * environment, so values never show in the process list).
 * NULL-terminated; free with act_cmd_strv_free.  thread: any */
char **act_docker_argv(const json_t *handler, const char *docker, const char *name);

#endif
