/*
 * What the command-family kinds share (handler_command.h): the common spec
 * members, the per-action state, PATH lookups and the meaning of a process
 * outcome.
 *
 * Conventions (docs/internals/handlers.md#protocol): exit 0 is success with
 * stdout as the output (empty: null); exit 75 (EX_TEMPFAIL) with a stdout
 * object holding "retry_after_ms" asks for that retry delay; exit 64
 * (EX_USAGE) is a permanent failure; any other failure is retried by policy.
 *
 * Everything here is either pure validation or works on a struct act_cmd
 * that is immutable after act_cmd_open_common(), so it runs from any thread;
 * the process itself is handler_command_proc.c's.
 */
#include "base/alloc.h"
#include "handler/handler_command.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#define ENV_MAX 256
#define ENV_VALUE_MAX 32768
#define OUTPUT_DEFAULT ((size_t)1 << 20)
#define OUTPUT_MAX ((size_t)64 << 20)
#define STDERR_KEEP ((size_t)64 << 10)
#define ERROR_TAIL 400
#define RETRY_AFTER_MAX_MS (7LL * 24 * 3600 * 1000)
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* ---- validation ---- */

int act_cmd_check_text(const json_t *v, const char *field, const char *what, size_t max,
                       struct act_err *err)
{
    size_t len;

    if (!json_is_string(v))
        return act_err_field(err, ACT_EUNPROC, field, "%s must be a string", what);
    len = json_string_length(v);
    if (len > max)
        return act_err_field(err, ACT_EUNPROC, field, "%s is longer than %zu bytes", what, max);
    if (memchr(json_string_value(v), '\0', len))
        return act_err_field(err, ACT_EUNPROC, field, "%s contains a NUL byte", what);
    return ACT_OK;
}

bool act_cmd_env_name_ok(const char *k)
{
    if (!(isalpha((unsigned char)k[0]) || k[0] == '_'))
        return false;
    for (const char *c = k + 1; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_'))
            return false;
    return strlen(k) <= 256;
}

static int validate_env(const json_t *env, struct act_err *err)
{
    const char *k;
    json_t *v;
    int rc;

    if (!env)
        return ACT_OK;
    if (!json_is_object(env))
        return act_err_field(err, ACT_EUNPROC, "handler.env", "env must be an object of strings");
    if (json_object_size(env) > ENV_MAX)
        return act_err_field(err, ACT_EUNPROC, "handler.env", "env has more than %d variables",
                             ENV_MAX);
    json_object_foreach((json_t *)env, k, v) {
        char field[96];

        snprintf(field, sizeof(field), "handler.env.%.64s", k);
        if (!act_cmd_env_name_ok(k))
            return act_err_field(err, ACT_EUNPROC, field,
                                 "env name '%.64s' is not [A-Za-z_][A-Za-z0-9_]*", k);
        if ((rc = act_cmd_check_text(v, field, "env value", ENV_VALUE_MAX, err)) < 0)
            return rc;
    }
    return ACT_OK;
}

static int validate_seccomp(const json_t *v, struct act_err *err)
{
    enum act_seccomp_profile p;

    if (!v)
        return ACT_OK;
    if (!json_is_string(v) || act_seccomp_parse(json_string_value(v), &p) < 0)
        return act_err_field(err, ACT_EUNPROC, "handler.seccomp",
                             "seccomp must be \"default\", \"no_network\" or \"none\"");
    return ACT_OK;
}

int act_cmd_validate_common(const json_t *handler, unsigned flags, struct act_err *err)
{
    const json_t *cwd = json_object_get(handler, "cwd");
    const json_t *max = json_object_get(handler, "max_output_bytes");
    const json_t *t = json_object_get(handler, "timeout_ms");
    int rc;

    if ((rc = validate_env(json_object_get(handler, "env"), err)) < 0)
        return rc;
    if (cwd) {
        if ((rc = act_cmd_check_text(cwd, "handler.cwd", "cwd", ACT_CMD_PATH_MAX, err)) < 0)
            return rc;
        if (json_string_length(cwd) == 0)
            return act_err_field(err, ACT_EUNPROC, "handler.cwd", "cwd must not be empty");
    }
    if (max && (!json_is_integer(max) || json_integer_value(max) < 1 ||
                (uint64_t)json_integer_value(max) > OUTPUT_MAX))
        return act_err_field(err, ACT_EUNPROC, "handler.max_output_bytes",
                             "max_output_bytes must be an integer in 1..%zu", OUTPUT_MAX);
    if (t && (!json_is_integer(t) || json_integer_value(t) < 1 ||
              json_integer_value(t) > ACT_CMD_TIMEOUT_MAX_MS))
        return act_err_field(err, ACT_EUNPROC, "handler.timeout_ms",
                             "timeout_ms must be an integer in 1..%lld", ACT_CMD_TIMEOUT_MAX_MS);
    if (flags & ACT_CMD_SECCOMP)
        return validate_seccomp(json_object_get(handler, "seccomp"), err);
    return ACT_OK;
}

/* ---- state ---- */

void act_cmd_strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        act_free(v[i]);
    act_free(v);
}

static bool listed(const char *const *names, const char *name)
{
    for (size_t i = 0; names && names[i]; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

/* The child's environment: PATH, HOME, LANG, TZ and `extra` from the daemon
 * unless the spec sets them, then the spec's env; PATH defaults to
 * DEFAULT_PATH. */
static char **build_env(const json_t *env, const char *const *extra)
{
    static const char *const allow[] = {"PATH", "HOME", "LANG", "TZ", NULL};
    size_t n = 0, n_extra = 0, cap;
    char **envp;
    const char *k;
    json_t *v;

    while (extra && extra[n_extra])
        n_extra++;
    cap = 6 + n_extra + json_object_size(env);
    envp = act_xcalloc(cap, sizeof(*envp));
    for (int pass = 0; pass < 2; pass++) {
        const char *const *names = pass == 0 ? allow : extra;

        for (size_t i = 0; names && names[i]; i++) {
            const char *val = getenv(names[i]);

            if (val && !json_object_get(env, names[i]) && (pass == 0 || !listed(allow, names[i])))
                envp[n++] = act_xasprintf("%s=%s", names[i], val);
        }
    }
    if (env)
        json_object_foreach((json_t *)env, k, v)
            envp[n++] = act_xasprintf("%s=%s", k, json_string_value(v));
    if (!act_cmd_env_get(envp, "PATH"))
        envp[n++] = act_xstrdup("PATH=" DEFAULT_PATH);
    return envp;
}

const char *act_cmd_env_get(char *const *envp, const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
            return envp[i] + len + 1;
    return NULL;
}

/* Empty and relative PATH entries are skipped: they would depend on the
 * working directory. */
char **act_cmd_exec_paths(const char *prog, char *const *envp)
{
    const char *path = act_cmd_env_get(envp, "PATH");
    size_t n = 0, cap = 2;
    char **out;

    if (strchr(prog, '/')) {
        out = act_xcalloc(2, sizeof(*out));
        out[0] = act_xstrdup(prog);
        return out;
    }
    if (!path)
        path = DEFAULT_PATH;
    for (const char *c = path; *c; c++)
        cap += *c == ':';
    out = act_xcalloc(cap, sizeof(*out));
    for (const char *seg = path; seg;) {
        const char *end = strchr(seg, ':');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);

        if (len > 0 && seg[0] == '/')
            out[n++] = act_xasprintf("%.*s/%s", (int)len, seg, prog);
        seg = end ? end + 1 : NULL;
    }
    return out;
}

char *act_cmd_which(const char *prog, char *const *envp)
{
    char **cand = act_cmd_exec_paths(prog, envp);
    char *found = NULL;

    for (size_t i = 0; cand[i] && !found; i++) {
        struct stat st;

        if (stat(cand[i], &st) == 0 && S_ISREG(st.st_mode) && access(cand[i], X_OK) == 0)
            found = act_xstrdup(cand[i]);
    }
    act_cmd_strv_free(cand);
    return found;
}

int act_cmd_open_common(const json_t *handler, unsigned flags, const char *const *extra_allow,
                        struct act_cmd *c, struct act_err *err)
{
    const json_t *cwd = json_object_get(handler, "cwd");
    const json_t *max = json_object_get(handler, "max_output_bytes");
    const json_t *t = json_object_get(handler, "timeout_ms");
    const json_t *sc = json_object_get(handler, "seccomp");
    int rc;

    memset(c, 0, sizeof(*c));
    c->profile = (flags & ACT_CMD_SECCOMP) ? ACT_SECCOMP_DEFAULT : ACT_SECCOMP_NONE;
    if ((flags & ACT_CMD_SECCOMP) && sc && act_seccomp_parse(json_string_value(sc), &c->profile) < 0)
        return act_err_field(err, ACT_EUNPROC, "handler.seccomp", "unknown seccomp profile");
    if ((rc = act_seccomp_build(c->profile, &c->seccomp, err)) < 0)
        return rc;
    c->envp = build_env(json_object_get(handler, "env"), extra_allow);
    c->cwd = cwd ? act_xstrdup(json_string_value(cwd)) : NULL;
    c->max_output = max ? (size_t)json_integer_value(max) : OUTPUT_DEFAULT;
    c->timeout_ms = t ? json_integer_value(t) : 0;
    return ACT_OK;
}

void act_cmd_release(struct act_cmd *c)
{
    if (!c)
        return;
    act_cmd_strv_free(c->argv);
    act_cmd_strv_free(c->envp);
    act_cmd_strv_free(c->exec_paths);
    act_free(c->cwd);
    act_seccomp_free(c->seccomp);
    memset(c, 0, sizeof(*c));
}

/* ---- one attempt ---- */

static void add_str(struct act_buf *b, const char *s)
{
    json_t *j = s ? json_string(s) : NULL; /* NULL also for invalid UTF-8 */

    act_buf_json(b, j);
    json_decref(j);
}

char *act_cmd_stdin_doc(const struct act_handler_call *call, size_t *len)
{
    struct act_buf b = {0};
    char num[32];

    act_buf_add(&b, "{\"execution_id\":", 16);
    add_str(&b, call->execution_id);
    snprintf(num, sizeof(num), ",\"attempt\":%d,\"action\":", call->attempt);
    act_buf_add(&b, num, strlen(num));
    add_str(&b, call->action_name);
    act_buf_add(&b, ",\"event\":", 9);
    act_buf_json(&b, call->event);
    act_buf_add(&b, ",\"input\":", 9);
    act_buf_json(&b, call->input);
    act_buf_add(&b, ",\"config\":", 10);
    if (call->config)
        act_buf_json(&b, call->config);
    else
        act_buf_add(&b, "{}", 2);
    act_buf_add(&b, "}\n", 2);
    *len = b.len;
    return b.p;
}

int64_t act_cmd_timeout(const struct act_cmd *c, const struct act_handler_call *call)
{
    int64_t t = call->timeout_ms > 0 ? call->timeout_ms : 1;

    if (c->timeout_ms > 0 && c->timeout_ms < t)
        t = c->timeout_ms;
    return t;
}

/* Bytes [start, end) of s as one clean line of at most ERROR_TAIL bytes:
 * leading and trailing spaces trimmed, never cut inside a UTF-8 character.
 * `from_end` keeps the last bytes, otherwise the first ones. */
static void one_line(const char *s, size_t start, size_t end, bool from_end, char *buf,
                     size_t cap)
{
    while (end > start && isspace((unsigned char)s[end - 1]))
        end--;
    while (start < end && isspace((unsigned char)s[start]))
        start++;
    if (end - start > ERROR_TAIL && from_end) {
        start = end - ERROR_TAIL;
        for (int k = 0; k < 3 && start < end && ((unsigned char)s[start] & 0xC0) == 0x80; k++)
            start++; /* do not begin inside a UTF-8 character */
        while (start < end && isspace((unsigned char)s[start]))
            start++;
    } else if (end - start > ERROR_TAIL) {
        end = start + ERROR_TAIL;
        for (int k = 0; k < 3 && end > start && ((unsigned char)s[end] & 0xC0) == 0x80; k++)
            end--; /* nor end inside one */
    }
    act_handler_clean_text(buf, cap, s + start, end - start, true);
}

/* The text after the last line of stderr that starts with `mark`, up to the
 * end of that line; false when there is none. */
static bool marked_line(const struct act_proc_outcome *oc, const char *mark, char *buf,
                        size_t cap)
{
    size_t mlen = strlen(mark);
    const char *s = oc->err_tail, *hit = NULL;

    for (const char *p = s; p && p + mlen <= s + oc->err_len;) {
        if ((p == s || p[-1] == '\n') && memcmp(p, mark, mlen) == 0)
            hit = p;
        p = memchr(p, '\n', oc->err_len - (size_t)(p - s));
        p = p ? p + 1 : NULL;
    }
    if (!hit)
        return false;
    const char *start = hit + mlen, *nl = memchr(start, '\n', oc->err_len - (size_t)(start - s));
    one_line(s, (size_t)(start - s), nl ? (size_t)(nl - s) : oc->err_len, false, buf, cap);
    return buf[0] != '\0';
}

/* error_detail: {<key>: <value>, "stderr": "<the kept tail>"}. */
static json_t *failure_detail(const struct act_proc_outcome *oc, const char *key, json_t *value)
{
    char *clean = act_xmalloc(oc->err_len + 1);
    json_t *d;

    act_handler_clean_text(clean, oc->err_len + 1, oc->err_tail, oc->err_len, false);
    d = json_pack("{s:o,s:s}", key, value, "stderr", clean);
    act_free(clean);
    return d;
}

static bool blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

static void exit_hints(const struct act_proc_outcome *oc, struct act_handler_result *res)
{
    json_t *out, *ra;

    if (oc->status == EX_USAGE)
        res->permanent = true;
    if (oc->status != EX_TEMPFAIL || blank(oc->out, oc->out_len))
        return;
    out = json_loadb(oc->out, oc->out_len, JSON_DECODE_ANY, NULL);
    ra = json_object_get(out, "retry_after_ms");
    if (json_is_integer(ra) && json_integer_value(ra) >= 0)
        res->retry_after_ms = json_integer_value(ra) > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS
                                                                          : json_integer_value(ra);
    json_decref(out);
}

static int exited(const struct act_cmd *c, const struct act_proc_outcome *oc,
                  struct act_handler_result *res)
{
    char tail[ERROR_TAIL + 8];
    json_error_t jerr;

    if (oc->status != 0) {
        exit_hints(oc, res);
        res->error_detail = failure_detail(oc, "exit_status", json_integer(oc->status));
        if (c->error_mark && marked_line(oc, c->error_mark, tail, sizeof(tail)))
            return act_handler_fail(res, ACT_EPLUGIN, "%s", tail);
        one_line(oc->err_tail, 0, oc->err_len, true, tail, sizeof(tail));
        if (tail[0])
            return act_handler_fail(res, ACT_EPLUGIN, "exit status %d: %s", oc->status, tail);
        return act_handler_fail(res, ACT_EPLUGIN, "exit status %d", oc->status);
    }
    if (blank(oc->out, oc->out_len)) {
        res->output = NULL;
        return ACT_OK;
    }
    res->output = json_loadb(oc->out, oc->out_len, JSON_DECODE_ANY, &jerr);
    if (!res->output)
        return act_handler_fail(res, ACT_EPLUGIN,
                                "command produced invalid JSON on stdout: %s at line %d column %d",
                                jerr.text, jerr.line, jerr.column);
    return ACT_OK;
}

static int signaled(const struct act_proc_outcome *oc, struct act_handler_result *res)
{
    const char *abbrev = sigabbrev_np(oc->status);
    char name[32], tail[ERROR_TAIL + 8];

    if (abbrev)
        snprintf(name, sizeof(name), "SIG%s", abbrev);
    else
        snprintf(name, sizeof(name), "signal %d", oc->status);
    res->error_detail = failure_detail(oc, "signal", json_string(name));
    one_line(oc->err_tail, 0, oc->err_len, true, tail, sizeof(tail));
    if (tail[0])
        return act_handler_fail(res, ACT_EPLUGIN, "killed by %s: %s", name, tail);
    return act_handler_fail(res, ACT_EPLUGIN, "killed by %s", name);
}

static int spawn_failed(const struct act_cmd *c, const char *argv0,
                        const struct act_proc_outcome *oc, struct act_handler_result *res)
{
    const char *why = strerrordesc_np(oc->status);

    if (strcmp(oc->step, "chdir") == 0)
        return act_handler_fail(res, ACT_EPLUGIN, "cannot chdir to '%s': %s", c->cwd, why);
    if (strcmp(oc->step, "seccomp") == 0)
        return act_handler_fail(res, ACT_EPLUGIN, "cannot install seccomp profile '%s': %s",
                                act_seccomp_name(c->profile), why);
    return act_handler_fail(res, ACT_EPLUGIN, "cannot %s '%s': %s",
                            strcmp(oc->step, "exec") == 0 ? "execute" : "set up", argv0, why);
}

static int interpret(const struct act_cmd *c, const char *argv0, int64_t timeout_ms,
                     const struct act_proc_outcome *oc, struct act_handler_result *res)
{
    switch (oc->end) {
    case ACT_PROC_EXITED:
        return exited(c, oc, res);
    case ACT_PROC_SIGNALED:
        return signaled(oc, res);
    case ACT_PROC_TIMEOUT:
        return act_handler_fail(res, ACT_ETIMEDOUT, "timed out after %lld ms",
                                (long long)timeout_ms);
    case ACT_PROC_OVERFLOW:
        return act_handler_fail(res, ACT_ETOOBIG, "output over %zu bytes", c->max_output);
    case ACT_PROC_SPAWN_FAILED:
        return spawn_failed(c, argv0, oc, res);
    }
    return act_handler_fail(res, ACT_EPLUGIN, "unknown process outcome");
}

int act_cmd_run(const struct act_cmd *c, const struct act_handler_call *call, char *const *argv,
                const char *in, size_t in_len, struct act_handler_result *res)
{
    struct act_proc_outcome oc;
    struct act_err err = {0};
    struct act_proc_spec sp = {
        .argv = argv ? argv : c->argv,
        .envp = c->envp,
        .exec_paths = c->exec_paths,
        .cwd = c->cwd,
        .stdin_data = in,
        .stdin_len = in_len,
        .timeout_ms = act_cmd_timeout(c, call),
        .max_stdout = c->max_output,
        .stderr_keep = STDERR_KEEP,
        .seccomp = act_seccomp_prog(c->seccomp),
    };
    int rc;

    res->retry_after_ms = -1;
    if ((rc = act_proc_run(&sp, &oc, &err)) < 0)
        return act_handler_fail(res, rc, "%s", err.msg);
    rc = interpret(c, sp.argv[0], sp.timeout_ms, &oc, res);
    act_proc_outcome_release(&oc);
    return rc;
}
