/*
 * handler: kind `command`.  The commands are /bin/sh -c scripts, only ever as
 * the argv of the handler under test.  SIGPIPE is deliberately NOT ignored
 * here: a child that does not read its stdin must not kill the test process.
 */
#include "base/alloc.h"
#include "base/err.h"
#include "base/time.h"
#include "handler/handler.h"
#include "tap.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static json_t *js(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

    if (!v)
        diag("bad test JSON %s: %s", text, jerr.text);
    return v;
}

/* A spec running `script` with /bin/sh -c, plus extra members ("" for none). */
static json_t *sh_spec(const char *script, const char *extra)
{
    json_t *spec = js(extra && extra[0] ? extra : "{}");

    json_object_set_new(spec, "kind", json_string("command"));
    json_object_set_new(spec, "argv", json_pack("[sss]", "/bin/sh", "-c", script));
    return spec;
}

/* Open, execute once, close.  res is zeroed first; *ms gets the duration. */
static int run_spec(json_t *spec, json_t *input, int64_t timeout_ms,
                    struct act_handler_result *res, int64_t *ms)
{
    const struct act_handler_ops *ops = act_handler_find("command");
    json_t *cfg = js("{\"region\": \"eu\"}"), *event = js("{\"type\": \"users.created\"}");
    struct act_handler_call call = {.execution_id = "0190-exec", .attempt = 2,
                                    .action_name = "send_welcome", .event = event,
                                    .input = input, .config = cfg, .timeout_ms = timeout_ms};
    struct act_err err = {0};
    void *state = NULL;
    int64_t t0;
    int rc;

    memset(res, 0, sizeof(*res));
    if ((rc = ops->open(spec, cfg, &state, &err)) < 0) {
        diag("open failed: %s (%s)", err.msg, err.field);
        json_decref(cfg);
        json_decref(event);
        return rc;
    }
    t0 = act_time_mono_us();
    rc = ops->execute(state, &call, res);
    if (ms)
        *ms = (act_time_mono_us() - t0) / 1000;
    ops->close(state);
    json_decref(cfg);
    json_decref(event);
    return rc;
}

static int run_script(const char *script, const char *extra, const char *input,
                      int64_t timeout_ms, struct act_handler_result *res, int64_t *ms)
{
    json_t *spec = sh_spec(script, extra), *in = js(input);
    int rc = run_spec(spec, in, timeout_ms, res, ms);

    json_decref(spec);
    json_decref(in);
    return rc;
}

static const char *detail_stderr(const struct act_handler_result *res)
{
    return json_string_value(json_object_get(res->error_detail, "stderr"));
}

static void test_json_roundtrip(void)
{
    struct act_handler_result res;
    json_t *out;

    subtest("stdin document and stdout JSON");
    is_int(run_script("cat", "", "{\"user\": 42}", 5000, &res, NULL), ACT_OK, "cat succeeds");
    out = res.output;
    ok(json_is_object(out), "output is the parsed stdin object");
    is_str(json_string_value(json_object_get(out, "execution_id")), "0190-exec", "execution_id");
    is_int(json_integer_value(json_object_get(out, "attempt")), 2, "attempt");
    is_str(json_string_value(json_object_get(out, "action")), "send_welcome", "action is the name");
    is_str(json_string_value(json_object_get(json_object_get(out, "event"), "type")),
           "users.created", "event");
    is_int(json_integer_value(json_object_get(json_object_get(out, "input"), "user")), 42, "input");
    is_str(json_string_value(json_object_get(json_object_get(out, "config"), "region")), "eu",
           "config");
    act_handler_result_release(&res);

    is_int(run_script("echo '{\"sent\": true, \"n\": [1,2]}'", "", "{}", 5000, &res, NULL), ACT_OK,
           "a script printing JSON succeeds");
    ok(json_is_true(json_object_get(res.output, "sent")), "its output is parsed");
    is_int(res.retry_after_ms, -1, "success asks for no retry delay");
    act_handler_result_release(&res);

    is_int(run_script("exit 0", "", "{}", 5000, &res, NULL), ACT_OK, "silent exit 0 succeeds");
    ok(res.output == NULL, "empty stdout is a null output");
    act_handler_result_release(&res);

    json_t *spec = js("{\"kind\": \"command\", \"argv\": [\"sh\", \"-c\", \"echo 7\"]}");
    json_t *in = json_object();
    is_int(run_spec(spec, in, 5000, &res, NULL), ACT_OK, "argv[0] without '/' is found on PATH");
    is_int(json_integer_value(res.output), 7, "scalar JSON output is accepted");
    act_handler_result_release(&res);
    json_decref(spec);
    json_decref(in);

    is_int(run_script("printf '\"%s\"' \"$(pwd)\"", "{\"cwd\": \"/tmp\"}", "{}", 5000, &res, NULL),
           ACT_OK, "cwd is applied");
    is_str(json_string_value(res.output), "/tmp", "the command ran in cwd");
    act_handler_result_release(&res);
}

static void test_failures(void)
{
    struct act_handler_result res;
    char script[256];

    subtest("failures");
    is_int(run_script("echo first >&2; echo 'last line' >&2; exit 3", "", "{}", 5000, &res, NULL),
           ACT_EPLUGIN, "non-zero exit fails");
    is_str(res.error, "exit status 3: first last line",
           "error has the status and stderr as one line");
    is_int(json_integer_value(json_object_get(res.error_detail, "exit_status")), 3,
           "detail has the exit status");
    is_str(detail_stderr(&res), "first\nlast line\n", "detail keeps stderr as written");
    ok(!res.permanent, "exit 3 is not permanent");
    is_int(res.retry_after_ms, -1, "exit 3 leaves the delay to the policy");
    act_handler_result_release(&res);

    snprintf(script, sizeof(script),
             "head -c 10000 /dev/zero | tr '\\0' x >&2; echo >&2; echo END >&2; exit 1");
    is_int(run_script(script, "", "{}", 5000, &res, NULL), ACT_EPLUGIN, "noisy failure");
    ok(strncmp(res.error, "exit status 1: xxx", 18) == 0, "error starts with the status");
    ok(strlen(res.error) <= 420 && strlen(res.error) >= 400, "only the stderr tail: %zu bytes",
       strlen(res.error));
    ok(strcmp(res.error + strlen(res.error) - 4, " END") == 0, "the tail ends the message");
    is_int(strlen(detail_stderr(&res)), 10005, "detail keeps the whole (small) stderr");
    act_handler_result_release(&res);

    is_int(run_script("echo hello", "", "{}", 5000, &res, NULL), ACT_EPLUGIN,
           "non-JSON stdout fails");
    ok(strncmp(res.error, "command produced invalid JSON on stdout: ", 41) == 0, "error: %s",
           res.error);
    ok(res.output == NULL, "no output on failure");
    act_handler_result_release(&res);

    is_int(run_script("kill -SEGV $$", "", "{}", 5000, &res, NULL), ACT_EPLUGIN,
           "death by signal fails");
    is_str(res.error, "killed by SIGSEGV", "error names the signal");
    is_str(json_string_value(json_object_get(res.error_detail, "signal")), "SIGSEGV",
           "detail names the signal");
    act_handler_result_release(&res);

    json_t *spec = js("{\"kind\": \"command\", \"argv\": [\"no-such-program-4711\"]}");
    json_t *in = json_object();
    is_int(run_spec(spec, in, 5000, &res, NULL), ACT_EPLUGIN, "missing program fails");
    is_str(res.error, "cannot execute 'no-such-program-4711': No such file or directory",
           "error names the program");
    act_handler_result_release(&res);
    json_decref(spec);
    json_decref(in);

    is_int(run_script("exit 0", "{\"cwd\": \"/nonexistent-dir-4711\"}", "{}", 5000, &res, NULL),
           ACT_EPLUGIN, "bad cwd fails");
    is_str(res.error, "cannot chdir to '/nonexistent-dir-4711': No such file or directory",
           "error names the directory");
    act_handler_result_release(&res);
}

static void test_exit_conventions(void)
{
    struct act_handler_result res;

    subtest("exit 75 and exit 64");
    is_int(run_script("echo '{\"retry_after_ms\": 1234}'; echo busy >&2; exit 75", "", "{}", 5000,
                      &res, NULL),
           ACT_EPLUGIN, "exit 75 fails");
    is_int(res.retry_after_ms, 1234, "exit 75 with retry_after_ms sets the delay");
    ok(!res.permanent, "exit 75 is not permanent");
    is_str(res.error, "exit status 75: busy", "error as usual");
    act_handler_result_release(&res);

    is_int(run_script("exit 75", "", "{}", 5000, &res, NULL), ACT_EPLUGIN, "bare exit 75 fails");
    is_int(res.retry_after_ms, -1, "without JSON the policy decides");
    act_handler_result_release(&res);

    is_int(run_script("echo '{\"retry_after_ms\": 99}'; exit 1", "", "{}", 5000, &res, NULL),
           ACT_EPLUGIN, "exit 1 fails");
    is_int(res.retry_after_ms, -1, "retry_after_ms counts only with exit 75");
    act_handler_result_release(&res);

    is_int(run_script("echo 'bad input' >&2; exit 64", "", "{}", 5000, &res, NULL), ACT_EPLUGIN,
           "exit 64 fails");
    ok(res.permanent, "exit 64 is permanent");
    act_handler_result_release(&res);
}

/* True when the process is gone or a zombie (PID 1 here may not reap). */
static int pid_dead(long pid)
{
    char path[64], buf[256];
    FILE *f;
    char *p;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if (!(f = fopen(path, "r")))
        return 1;
    p = fgets(buf, sizeof(buf), f);
    fclose(f);
    p = p ? strrchr(buf, ')') : NULL;
    return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static long read_pid(const char *dir, const char *name)
{
    char path[256], buf[32] = "";
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!(f = fopen(path, "r")))
        return -1;
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = '\0';
    fclose(f);
    return strtol(buf, NULL, 10);
}

static void test_timeout(void)
{
    struct act_handler_result res;
    char dir[] = "/tmp/act-cmd-XXXXXX", script[512];
    long child, grandchild;
    int64_t ms = 0;
    int dead = 0;

    subtest("timeout kills the process group");
    ok(mkdtemp(dir) != NULL, "temp dir");
    snprintf(script, sizeof(script),
             "sleep 30 & echo $! > %s/gc; echo $$ > %s/c; wait", dir, dir);
    is_int(run_script(script, "", "{}", 600, &res, &ms), ACT_ETIMEDOUT, "the call times out");
    is_str(res.error, "timed out after 600 ms", "error names the timeout");
    ok(ms >= 600 && ms < 2000, "returned near the timeout: %lld ms", (long long)ms);
    act_handler_result_release(&res);
    child = read_pid(dir, "c");
    grandchild = read_pid(dir, "gc");
    ok(child > 0 && grandchild > 0, "both pids recorded (%ld, %ld)", child, grandchild);
    for (int i = 0; i < 200 && !dead; i++) {
        dead = pid_dead(child) && pid_dead(grandchild);
        if (!dead)
            usleep(10000);
    }
    ok(dead, "the child and the sleeping grandchild are gone");

    /* A grandchild left running after a normal exit is killed as well. */
    snprintf(script, sizeof(script), "sleep 30 & echo $! > %s/gc2; exit 0", dir);
    is_int(run_script(script, "", "{}", 5000, &res, &ms), ACT_OK,
           "a command leaving a background child succeeds");
    ok(ms < 2000, "without waiting for the background child: %lld ms", (long long)ms);
    grandchild = read_pid(dir, "gc2");
    dead = 0;
    for (int i = 0; i < 200 && !dead; i++) {
        dead = grandchild > 0 && pid_dead(grandchild);
        if (!dead)
            usleep(10000);
    }
    ok(dead, "the background child is killed with the group");
    act_handler_result_release(&res);

    snprintf(script, sizeof(script), "rm -rf %s", dir);
    if (system(script) != 0)
        diag("cannot remove %s", dir);
}

static void test_output_cap(void)
{
    struct act_handler_result res;
    int64_t ms = 0;

    subtest("output cap");
    is_int(run_script("head -c 5000 /dev/zero", "{\"max_output_bytes\": 1000}", "{}", 5000, &res,
                      NULL),
           ACT_ETOOBIG, "stdout over the cap fails");
    is_str(res.error, "output over 1000 bytes", "error names the cap");
    act_handler_result_release(&res);

    is_int(run_script("exec yes", "", "{}", 10000, &res, &ms), ACT_ETOOBIG,
           "endless output hits the default cap");
    is_str(res.error, "output over 1048576 bytes", "default cap is 1 MiB");
    ok(ms < 5000, "the group is killed at once, not at the timeout: %lld ms", (long long)ms);
    act_handler_result_release(&res);

    is_int(run_script("printf '\"%s\"' $(head -c 998 /dev/zero | tr '\\0' a)",
                      "{\"max_output_bytes\": 1000}", "{}", 5000, &res, NULL),
           ACT_OK, "exactly the cap is fine");
    is_int(json_string_length(res.output), 998, "output intact");
    act_handler_result_release(&res);
}

static void test_big_stdin(void)
{
    struct act_handler_result res;
    size_t n = 2u << 20;
    char *big = act_xmalloc(n + 1);
    json_t *in, *spec;
    int64_t ms = 0;

    subtest("large stdin");
    memset(big, 'q', n);
    big[n] = '\0';
    in = json_pack("{s:s}", "blob", big);
    spec = sh_spec("cat", "{\"max_output_bytes\": 8388608}");
    is_int(run_spec(spec, in, 10000, &res, NULL), ACT_OK, "2 MiB through cat, no deadlock");
    is_int(json_string_length(json_object_get(json_object_get(res.output, "input"), "blob")), n,
           "all of it came back");
    act_handler_result_release(&res);
    json_decref(spec);

    spec = sh_spec("echo null", "");
    is_int(run_spec(spec, in, 10000, &res, &ms), ACT_OK,
           "a child that never reads its 2 MiB stdin still succeeds");
    ok(ms < 5000, "promptly: %lld ms (EPIPE and SIGPIPE absorbed)", (long long)ms);
    act_handler_result_release(&res);
    json_decref(spec);
    json_decref(in);
    act_free(big);
}

static void test_fds(void)
{
    struct act_handler_result res;
    int leak = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
    const char *list;
    int bad = 0, n = 0;

    subtest("fds");
    ok(leak >= 0 && dup2(leak, 40) == 40, "a non-CLOEXEC fd 40 is open in the parent");
    is_int(run_script("ls /proc/self/fd >&2; exit 1", "", "{}", 5000, &res, NULL), ACT_EPLUGIN,
           "fd listing ran");
    list = detail_stderr(&res);
    for (const char *p = list; p && *p;) {
        long fd = strtol(p, (char **)&p, 10);

        bad += fd > 3; /* 0-2 and the directory ls itself reads */
        n++;
        while (*p == '\n')
            p++;
    }
    ok(list && n >= 3 && bad == 0, "only fds 0-3 in the child (%d listed, %d extra): %s", n, bad,
       list ? list : "");
    act_handler_result_release(&res);
    close(40);
    close(leak);
}

static void test_env(void)
{
    struct act_handler_result res;
    const char *list;
    int bad = 0;

    subtest("environment allowlist");
    setenv("SECRET_TOKEN", "hunter2", 1);
    setenv("LANG", "C.UTF-8", 1);
    is_int(run_script("/usr/bin/env >&2; exit 1", "{\"env\": {\"FOO\": \"bar\"}}", "{}", 5000,
                      &res, NULL),
           ACT_EPLUGIN, "env listing ran");
    list = detail_stderr(&res);
    ok(list && strstr(list, "FOO=bar\n"), "the spec's env is set");
    ok(list && strstr(list, "LANG=C.UTF-8\n"), "LANG is passed through");
    ok(list && strstr(list, "PATH="), "PATH is passed through");
    ok(list && !strstr(list, "SECRET_TOKEN"), "other variables are not");
    for (const char *p = list; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "") {
        static const char *const allowed[] = {"PATH=", "HOME=", "LANG=", "TZ=", "FOO=", "PWD="};
        int known = 0;

        for (size_t i = 0; i < 6; i++)
            known |= strncmp(p, allowed[i], strlen(allowed[i])) == 0;
        bad += !known;
    }
    ok(bad == 0, "nothing beyond the allowlist (+ PWD from sh)");
    act_handler_result_release(&res);
    unsetenv("SECRET_TOKEN");
}

static void test_limits(void)
{
    struct act_handler_result res;
    char *text;

    subtest("rlimits, session, no_new_privs");
    is_int(run_script("echo \"[$(ulimit -n),$(ulimit -c),$(ulimit -f),$(ulimit -t)]\"", "", "{}",
                      4500, &res, NULL),
           ACT_OK, "ulimit report");
    text = json_dumps(res.output, JSON_COMPACT);
    is_str(text, "[256,0,131072,6]", "NOFILE 256, CORE 0, FSIZE 64 MiB, CPU ceil(4.5 s)+1");
    free(text);
    act_handler_result_release(&res);

    is_int(run_script("set -- $(cut -d' ' -f5,6 /proc/$$/stat); "
                      "echo \"[$$, $1, $2, $(awk '/^NoNewPrivs/{print $2}' /proc/self/status)]\"",
                      "", "{}", 5000, &res, NULL),
           ACT_OK, "session report");
    ok(json_integer_value(json_array_get(res.output, 0)) ==
               json_integer_value(json_array_get(res.output, 1)) &&
           json_integer_value(json_array_get(res.output, 0)) ==
               json_integer_value(json_array_get(res.output, 2)),
       "the child leads its own process group and session");
    is_int(json_integer_value(json_array_get(res.output, 3)), 1, "no_new_privs is set");
    act_handler_result_release(&res);
}

struct worker {
    void *state;
    int id, failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    const struct act_handler_ops *ops = act_handler_find("command");
    json_t *cfg = json_object();

    for (int i = 0; i < 8; i++) {
        json_t *in = json_pack("{s:i,s:i}", "thread", w->id, "i", i);
        struct act_handler_call call = {.execution_id = "x", .attempt = 1, .action_name = "a",
                                        .input = in, .config = cfg, .timeout_ms = 10000};
        struct act_handler_result res;

        memset(&res, 0, sizeof(res));
        if (ops->execute(w->state, &call, &res) != ACT_OK ||
            !json_equal(json_object_get(res.output, "input"), in))
            w->failures++;
        act_handler_result_release(&res);
        json_decref(in);
    }
    json_decref(cfg);
    return NULL;
}

static void test_concurrent(void)
{
    const struct act_handler_ops *ops = act_handler_find("command");
    json_t *spec = sh_spec("cat; echo working >&2", "");
    struct worker w[4];
    pthread_t th[4];
    void *state = NULL;
    int failures = 0;

    subtest("4 threads, one state");
    is_int(ops->open(spec, NULL, &state, NULL), ACT_OK, "open once");
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.state = state, .id = i};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        failures += w[i].failures;
    }
    is_int(failures, 0, "32 concurrent executions each got their own input back");
    ops->close(state);
    json_decref(spec);
}

/* Validate a spec given as text through the registry. */
static int check(const char *text, struct act_err *err)
{
    json_t *h = js(text);
    int rc;

    act_err_clear(err);
    rc = act_handler_validate(h, NULL, err);
    json_decref(h);
    return rc;
}

static void test_validation(void)
{
    struct act_err err;
    char *long_arg = act_xmalloc(4200);
    json_t *many = json_array(), *h;

    subtest("validation");
    is_int(check("{\"kind\": \"command\", \"argv\": [\"/bin/true\"]}", &err), ACT_OK, "valid");
    is_int(check("{\"kind\": \"command\", \"argv\": [\"/bin/x\"], \"env\": {\"A_1\": \"v\"}, "
                 "\"cwd\": \"/\", \"max_output_bytes\": 10}",
                 &err),
           ACT_OK, "valid with every member");
    is_int(check("{\"kind\": \"command\"}", &err), ACT_EUNPROC, "argv missing");
    is_str(err.field, "handler.argv", "field");
    is_int(check("{\"kind\": \"command\", \"argv\": \"ls\"}", &err), ACT_EUNPROC,
           "argv a string");
    is_str(err.field, "handler.argv", "field");
    is_int(check("{\"kind\": \"command\", \"argv\": []}", &err), ACT_EUNPROC, "argv empty");
    is_str(err.field, "handler.argv", "field");
    is_int(check("{\"kind\": \"command\", \"argv\": [\"/bin/echo\", 5]}", &err), ACT_EUNPROC,
           "argv[1] a number");
    is_str(err.field, "handler.argv[1]", "field names the element");
    is_int(check("{\"kind\": \"command\", \"argv\": [\"\"]}", &err), ACT_EUNPROC, "argv[0] empty");
    is_str(err.field, "handler.argv[0]", "field");

    memset(long_arg, 'a', 4097);
    long_arg[4097] = '\0';
    h = json_pack("{s:s,s:[ss]}", "kind", "command", "argv", "/bin/echo", long_arg);
    act_err_clear(&err);
    is_int(act_handler_validate(h, NULL, &err), ACT_EUNPROC, "argv[1] over 4096 bytes");
    is_str(err.field, "handler.argv[1]", "field");
    json_decref(h);
    for (int i = 0; i < 257; i++)
        json_array_append_new(many, json_string("x"));
    h = json_pack("{s:s,s:o}", "kind", "command", "argv", many);
    act_err_clear(&err);
    is_int(act_handler_validate(h, NULL, &err), ACT_EUNPROC, "257 argv entries");
    is_str(err.field, "handler.argv", "field");
    json_decref(h);
    act_free(long_arg);

    is_int(check("{\"kind\": \"command\", \"argv\": [\"x\"], \"shell\": true}", &err),
           ACT_EUNPROC, "unknown member");
    is_str(err.field, "handler.shell", "field");
    is_int(check("{\"kind\": \"command\", \"argv\": [\"x\"], \"env\": {\"1BAD\": \"v\"}}", &err),
           ACT_EUNPROC, "bad env name");
    is_str(err.field, "handler.env.1BAD", "field");
    is_int(check("{\"kind\": \"command\", \"argv\": [\"x\"], \"env\": {\"A\": 1}}", &err),
           ACT_EUNPROC, "non-string env value");
    is_str(err.field, "handler.env.A", "field");
    is_int(check("{\"kind\": \"command\", \"argv\": [\"x\"], \"cwd\": \"\"}", &err), ACT_EUNPROC,
           "empty cwd");
    is_str(err.field, "handler.cwd", "field");
    is_int(check("{\"kind\": \"command\", \"argv\": [\"x\"], \"max_output_bytes\": 0}", &err),
           ACT_EUNPROC, "zero output cap");
    is_str(err.field, "handler.max_output_bytes", "field");
    is_int(check("{\"kind\": \"comand\", \"argv\": [\"x\"]}", &err), ACT_EUNPROC, "typo in kind");
    is_str(err.field, "handler.kind", "field");
}

int main(void)
{
    test_validation();
    test_json_roundtrip();
    test_failures();
    test_exit_conventions();
    test_timeout();
    test_output_cap();
    test_big_stdin();
    test_fds();
    test_env();
    test_limits();
    test_concurrent();
    return done_testing();
}
