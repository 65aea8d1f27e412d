/*
 * Kind `command`: run a program (no shell) for every attempt, JSON in on
 * stdin, JSON out on stdout.
 *
 *   {"kind": "command", "argv": ["prog", "arg", ...], "env"?: {"K": "V"},
 *    "cwd"?: "dir", "max_output_bytes"?: N}
 *
 * This file owns the spec (validation, the per-action state built once at
 * open) and the meaning of an outcome (exit codes, stdout JSON, the error
 * text); handler_command_proc.c owns the process itself.  The state is
 * immutable after open, so execute() runs from many workers at once without
 * locks; each attempt has its own pipes and child.
 *
 * Conventions (docs/internals/handlers.md): exit 0 is success with stdout as
 * the output (empty: null); exit 75 (EX_TEMPFAIL) with a stdout object
 * holding "retry_after_ms" asks for that retry delay; exit 64 (EX_USAGE) is a
 * permanent failure; any other failure is retried by policy.
 */
#include "base/alloc.h"
#include "handler/handler_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#define ARGV_MAX 256
#define ARG_LEN_MAX 4096
#define ENV_MAX 256
#define ENV_VALUE_MAX 32768
#define CWD_LEN_MAX 4096
#define OUTPUT_DEFAULT ((size_t)1 << 20)
#define OUTPUT_MAX ((size_t)64 << 20)
#define STDERR_KEEP ((size_t)64 << 10)
#define ERROR_TAIL 400
#define RETRY_AFTER_MAX_MS (7LL * 24 * 3600 * 1000)
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

struct cmd_state {
    char **argv;        /* NULL-terminated copies */
    char **envp;        /* allowlisted daemon variables + the spec's env */
    char **exec_paths;  /* where argv[0] may live, in PATH order */
    char *cwd;          /* NULL: the daemon's */
    size_t max_output;
};

/* ---- validation ---- */

static int check_text(const json_t *v, const char *field, const char *what, size_t max,
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

static int validate_argv(const json_t *argv, struct act_err *err)
{
    const json_t *a;
    size_t i;
    int rc;

    if (!argv)
        return act_err_field(err, ACT_EUNPROC, "handler.argv", "argv is required");
    if (!json_is_array(argv))
        return act_err_field(err, ACT_EUNPROC, "handler.argv", "argv must be an array of strings");
    if (json_array_size(argv) == 0)
        return act_err_field(err, ACT_EUNPROC, "handler.argv", "argv must not be empty");
    if (json_array_size(argv) > ARGV_MAX)
        return act_err_field(err, ACT_EUNPROC, "handler.argv", "argv has more than %d entries",
                             ARGV_MAX);
    json_array_foreach(argv, i, a) {
        char field[48], what[32];

        snprintf(field, sizeof(field), "handler.argv[%zu]", i);
        snprintf(what, sizeof(what), "argv[%zu]", i);
        if ((rc = check_text(a, field, what, ARG_LEN_MAX, err)) < 0)
            return rc;
        if (i == 0 && json_string_length(a) == 0)
            return act_err_field(err, ACT_EUNPROC, field, "argv[0] must not be empty");
    }
    return ACT_OK;
}

static bool env_name_ok(const char *k)
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
        if (!env_name_ok(k))
            return act_err_field(err, ACT_EUNPROC, field,
                                 "env name '%.64s' is not [A-Za-z_][A-Za-z0-9_]*", k);
        if ((rc = check_text(v, field, "env value", ENV_VALUE_MAX, err)) < 0)
            return rc;
    }
    return ACT_OK;
}

static int validate_misc(const json_t *handler, struct act_err *err)
{
    const json_t *cwd = json_object_get(handler, "cwd");
    const json_t *max = json_object_get(handler, "max_output_bytes");
    int rc;

    if (cwd) {
        if ((rc = check_text(cwd, "handler.cwd", "cwd", CWD_LEN_MAX, err)) < 0)
            return rc;
        if (json_string_length(cwd) == 0)
            return act_err_field(err, ACT_EUNPROC, "handler.cwd", "cwd must not be empty");
    }
    if (max && (!json_is_integer(max) || json_integer_value(max) < 1 ||
                (uint64_t)json_integer_value(max) > OUTPUT_MAX))
        return act_err_field(err, ACT_EUNPROC, "handler.max_output_bytes",
                             "max_output_bytes must be an integer in 1..%zu", OUTPUT_MAX);
    return ACT_OK;
}

static int cmd_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    static const char *const members[] = {"argv", "env", "cwd", "max_output_bytes", NULL};
    int rc;

    (void)config; /* any object: it is handed to the command on stdin */
    if ((rc = act_handler_check_members(handler, members, err)) < 0)
        return rc;
    if ((rc = validate_argv(json_object_get(handler, "argv"), err)) < 0)
        return rc;
    if ((rc = validate_env(json_object_get(handler, "env"), err)) < 0)
        return rc;
    return validate_misc(handler, err);
}

/* ---- state ---- */

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        act_free(v[i]);
    act_free(v);
}

/* The child's environment: PATH, HOME, LANG and TZ from the daemon unless
 * the spec sets them, then the spec's env; PATH defaults to DEFAULT_PATH. */
static char **build_env(const json_t *env)
{
    static const char *const allow[] = {"PATH", "HOME", "LANG", "TZ"};
    size_t n = 0, cap = 6 + json_object_size(env);
    char **envp = act_xcalloc(cap, sizeof(*envp));
    bool has_path = json_object_get(env, "PATH") != NULL;
    const char *k;
    json_t *v;

    for (size_t i = 0; i < sizeof(allow) / sizeof(allow[0]); i++) {
        const char *val = getenv(allow[i]);

        if (!val || json_object_get(env, allow[i]))
            continue;
        envp[n++] = act_xasprintf("%s=%s", allow[i], val);
        has_path = has_path || i == 0;
    }
    if (env)
        json_object_foreach((json_t *)env, k, v)
            envp[n++] = act_xasprintf("%s=%s", k, json_string_value(v));
    if (!has_path)
        envp[n++] = act_xstrdup("PATH=" DEFAULT_PATH);
    return envp;
}

/* Candidate files for argv[0]: itself when it holds a '/', else each
 * absolute PATH entry joined with it (empty and relative entries are skipped:
 * they would depend on the working directory). */
static char **build_exec_paths(const char *prog, char *const *envp)
{
    const char *path = DEFAULT_PATH;
    size_t n = 0, cap = 2;
    char **out;

    if (strchr(prog, '/')) {
        out = act_xcalloc(2, sizeof(*out));
        out[0] = act_xstrdup(prog);
        return out;
    }
    for (size_t i = 0; envp[i]; i++)
        if (strncmp(envp[i], "PATH=", 5) == 0)
            path = envp[i] + 5;
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

static void cmd_close(void *state)
{
    struct cmd_state *st = state;

    if (!st)
        return;
    free_strv(st->argv);
    free_strv(st->envp);
    free_strv(st->exec_paths);
    act_free(st->cwd);
    act_free(st);
}

static int cmd_open(const json_t *handler, const json_t *config, void **state,
                    struct act_err *err)
{
    const json_t *argv = json_object_get(handler, "argv");
    const json_t *cwd = json_object_get(handler, "cwd");
    const json_t *max = json_object_get(handler, "max_output_bytes");
    struct cmd_state *st;
    int rc;

    *state = NULL;
    if ((rc = cmd_validate(handler, config, err)) < 0)
        return rc;
    st = act_xcalloc(1, sizeof(*st));
    st->argv = act_xcalloc(json_array_size(argv) + 1, sizeof(*st->argv));
    for (size_t i = 0; i < json_array_size(argv); i++)
        st->argv[i] = act_xstrdup(json_string_value(json_array_get(argv, i)));
    st->envp = build_env(json_object_get(handler, "env"));
    st->exec_paths = build_exec_paths(st->argv[0], st->envp);
    st->cwd = cwd ? act_xstrdup(json_string_value(cwd)) : NULL;
    st->max_output = max ? (size_t)json_integer_value(max) : OUTPUT_DEFAULT;
    *state = st;
    return ACT_OK;
}

/* ---- one attempt ---- */

static void add_str(struct act_hbuf *b, const char *s)
{
    json_t *j = s ? json_string(s) : NULL; /* NULL also for invalid UTF-8 */

    act_hbuf_json(b, j);
    json_decref(j);
}

/* {"execution_id","attempt","action","event","input","config"} + "\n",
 * serialized straight into one buffer. */
static char *stdin_doc(const struct act_handler_call *call, size_t *len)
{
    struct act_hbuf b = {0};
    char num[32];

    act_hbuf_add(&b, "{\"execution_id\":", 16);
    add_str(&b, call->execution_id);
    snprintf(num, sizeof(num), ",\"attempt\":%d,\"action\":", call->attempt);
    act_hbuf_add(&b, num, strlen(num));
    add_str(&b, call->action_name);
    act_hbuf_add(&b, ",\"event\":", 9);
    act_hbuf_json(&b, call->event);
    act_hbuf_add(&b, ",\"input\":", 9);
    act_hbuf_json(&b, call->input);
    act_hbuf_add(&b, ",\"config\":", 10);
    if (call->config)
        act_hbuf_json(&b, call->config);
    else
        act_hbuf_add(&b, "{}", 2);
    act_hbuf_add(&b, "}\n", 2);
    *len = b.len;
    return b.p;
}

/* The last ERROR_TAIL bytes of stderr, trimmed, as one line. */
static void stderr_line(const struct act_proc_outcome *oc, char *buf, size_t cap)
{
    const char *s = oc->err_tail;
    size_t end = oc->err_len, start;

    while (end > 0 && isspace((unsigned char)s[end - 1]))
        end--;
    start = end > ERROR_TAIL ? end - ERROR_TAIL : 0;
    for (int k = 0; k < 3 && start < end && ((unsigned char)s[start] & 0xC0) == 0x80; k++)
        start++; /* do not begin inside a UTF-8 character */
    while (start < end && isspace((unsigned char)s[start]))
        start++;
    act_handler_clean_text(buf, cap, s + start, end - start, true);
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

static int exited(const struct act_proc_outcome *oc, struct act_handler_result *res)
{
    char tail[ERROR_TAIL + 8];
    json_error_t jerr;

    if (oc->status != 0) {
        exit_hints(oc, res);
        res->error_detail = failure_detail(oc, "exit_status", json_integer(oc->status));
        stderr_line(oc, tail, sizeof(tail));
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
    stderr_line(oc, tail, sizeof(tail));
    if (tail[0])
        return act_handler_fail(res, ACT_EPLUGIN, "killed by %s: %s", name, tail);
    return act_handler_fail(res, ACT_EPLUGIN, "killed by %s", name);
}

static int interpret(const struct cmd_state *st, const struct act_handler_call *call,
                     const struct act_proc_outcome *oc, struct act_handler_result *res)
{
    switch (oc->end) {
    case ACT_PROC_EXITED:
        return exited(oc, res);
    case ACT_PROC_SIGNALED:
        return signaled(oc, res);
    case ACT_PROC_TIMEOUT:
        return act_handler_fail(res, ACT_ETIMEDOUT, "timed out after %lld ms",
                                (long long)call->timeout_ms);
    case ACT_PROC_OVERFLOW:
        return act_handler_fail(res, ACT_ETOOBIG, "output over %zu bytes", st->max_output);
    case ACT_PROC_SPAWN_FAILED:
        if (strcmp(oc->step, "chdir") == 0)
            return act_handler_fail(res, ACT_EPLUGIN, "cannot chdir to '%s': %s", st->cwd,
                                    strerrordesc_np(oc->status));
        return act_handler_fail(res, ACT_EPLUGIN, "cannot %s '%s': %s",
                                strcmp(oc->step, "exec") == 0 ? "execute" : "set up", st->argv[0],
                                strerrordesc_np(oc->status));
    }
    return act_handler_fail(res, ACT_EPLUGIN, "unknown process outcome");
}

static int cmd_execute(void *state, const struct act_handler_call *call,
                       struct act_handler_result *res)
{
    const struct cmd_state *st = state;
    struct act_proc_outcome oc;
    struct act_err err = {0};
    struct act_proc_spec sp = {
        .argv = st->argv,
        .envp = st->envp,
        .exec_paths = st->exec_paths,
        .cwd = st->cwd,
        .timeout_ms = call->timeout_ms > 0 ? call->timeout_ms : 1,
        .max_stdout = st->max_output,
        .stderr_keep = STDERR_KEEP,
    };
    char *doc = stdin_doc(call, &sp.stdin_len);
    int rc;

    res->retry_after_ms = -1;
    sp.stdin_data = doc;
    rc = act_proc_run(&sp, &oc, &err);
    act_free(doc);
    if (rc < 0)
        return act_handler_fail(res, rc, "%s", err.msg);
    rc = interpret(st, call, &oc, res);
    act_proc_outcome_release(&oc);
    return rc;
}

const struct act_handler_ops act_handler_command_ops = {
    .kind = "command",
    .capabilities = "[\"sync\",\"timeout\",\"isolated\",\"json_stdio\",\"retry_after\"]",
    .schema =
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
        "\"type\":\"object\",\"required\":[\"kind\",\"argv\"],\"additionalProperties\":false,"
        "\"properties\":{"
        "\"kind\":{\"const\":\"command\"},"
        "\"argv\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":256,"
        "\"prefixItems\":[{\"type\":\"string\",\"minLength\":1}],"
        "\"items\":{\"type\":\"string\",\"maxLength\":4096},"
        "\"description\":\"program and arguments, run without a shell; stdin gets "
        "{execution_id, attempt, action, event, input, config}, stdout is the JSON output\"},"
        "\"env\":{\"type\":\"object\",\"maxProperties\":256,"
        "\"propertyNames\":{\"pattern\":\"^[A-Za-z_][A-Za-z0-9_]*$\"},"
        "\"additionalProperties\":{\"type\":\"string\"},"
        "\"description\":\"added to PATH, HOME, LANG and TZ of the daemon\"},"
        "\"cwd\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096},"
        "\"max_output_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":67108864,"
        "\"default\":1048576}}}",
    .validate = cmd_validate,
    .open = cmd_open,
    .execute = cmd_execute,
    .close = cmd_close,
};
