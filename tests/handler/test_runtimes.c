/*
 * handler: kinds javascript, python (handler_runtime.c) and docker
 * (handler_docker.c).  The runtimes run the real node and python3 on
 * handler modules this test writes to a temporary directory.  No Docker
 * engine runs here: the docker argv is checked exactly, and one execution
 * goes through an imitation of the docker CLI (a shell script given as
 * handler.runtime) that records its arguments and echoes stdin, which
 * exercises everything up to the CLI.
 */
#include "base/alloc.h"
#include "base/err.h"
#include "base/time.h"
#include "handler/handler.h"
#include "handler/handler_command.h"
#include "tap.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static json_t *js(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

    if (!v)
        diag("bad test JSON %s: %s", text, jerr.text);
    return v;
}

/* Write dir/name with `text` and `mode`; returns the path (static buffer
 * rotation of 4). */
static const char *put(const char *name, const char *text, mode_t mode)
{
    static char paths[4][256];
    static int k;
    char *p = paths[k++ % 4];
    FILE *f;

    snprintf(p, 256, "%s/%s", dir, name);
    f = fopen(p, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        diag("cannot write %s", p);
    chmod(p, mode);
    return p;
}

static int check(json_t *h, struct act_err *err)
{
    int rc;

    act_err_clear(err);
    rc = act_handler_validate(h, NULL, err);
    json_decref(h);
    return rc;
}

/* Open `spec`, run one attempt with `input`, close.  res is zeroed first. */
static int run(json_t *spec, const char *input, int64_t timeout_ms, struct act_handler_result *res,
               int64_t *ms)
{
    const struct act_handler_ops *ops =
        act_handler_find(json_string_value(json_object_get(spec, "kind")));
    json_t *cfg = js("{\"currency\": \"EUR\"}"), *event = js("{\"type\": \"shop.paid\"}");
    json_t *in = js(input);
    struct act_handler_call call = {.execution_id = "0190-exec-2", .root_id = "0190-exec-1",
                                    .attempt = 2, .action_name = "charge", .event = event,
                                    .input = in, .config = cfg, .timeout_ms = timeout_ms};
    struct act_err err = {0};
    void *state = NULL;
    int64_t t0;
    int rc;

    memset(res, 0, sizeof(*res));
    if ((rc = ops->open(spec, cfg, &state, &err)) < 0) {
        diag("open failed: %s (%s)", err.msg, err.field);
    } else {
        t0 = act_time_mono_us();
        rc = ops->execute(state, &call, res);
        if (ms)
            *ms = (act_time_mono_us() - t0) / 1000;
        ops->close(state);
    }
    json_decref(spec);
    json_decref(cfg);
    json_decref(event);
    json_decref(in);
    return rc;
}

static json_t *rt_spec(const char *kind, const char *module, const char *function)
{
    json_t *s = json_pack("{s:s,s:s}", "kind", kind, "module", module);

    if (function)
        json_object_set_new(s, "function", json_string(function));
    return s;
}

/* ---- runtimes ---- */

static const char js_module[] =
    "export async function handler(input, ctx) {\n"
    "  console.log('chatter that must not reach stdout');\n"
    "  await new Promise((r) => setTimeout(r, 5));\n"
    "  return { sum: input.a + input.b, ratio: 0.5, ok: true, none: null, list: [1, 'x'],\n"
    "           event: ctx.event.type, currency: ctx.config.currency, exec: ctx.execution };\n"
    "}\n"
    "export function boom() { throw new TypeError('card declined'); }\n"
    "export function refuse() { const e = new Error('bad card'); e.permanent = true; throw e; }\n"
    "export function later() { const e = new Error('busy'); e.retry_after_ms = 1500; throw e; }\n"
    "export function hang() { return new Promise(() => setInterval(() => {}, 1000)); }\n"
    "export function nothing() {}\n"
    "export function big() { return 10n; }\n";

static const char py_module[] =
    "import asyncio\n"
    "def handler(input, ctx):\n"
    "    print('chatter that must not reach stdout')\n"
    "    return {'sum': input['a'] + input['b'], 'ratio': 0.5, 'ok': True, 'none': None,\n"
    "            'list': [1, 'x'], 'event': ctx['event']['type'],\n"
    "            'currency': ctx['config']['currency'], 'exec': ctx['execution']}\n"
    "async def slow(input, ctx):\n"
    "    await asyncio.sleep(0.01)\n"
    "    return 42\n"
    "def boom(input, ctx):\n"
    "    raise ValueError('card declined')\n"
    "class Refused(Exception):\n"
    "    permanent = True\n"
    "def refuse(input, ctx):\n"
    "    raise Refused('bad card')\n"
    "class Busy(Exception):\n"
    "    retry_after_ms = 1500\n"
    "def later(input, ctx):\n"
    "    raise Busy('busy')\n"
    "def hang(input, ctx):\n"
    "    import time\n"
    "    while True: time.sleep(1)\n"
    "def nothing(input, ctx):\n"
    "    pass\n"
    "def big(input, ctx):\n"
    "    return {1, 2}\n";

static void test_argv(void)
{
    char **v;

    subtest("interpreter argv");
    v = act_runtime_argv("javascript", "/usr/bin/node", "/srv/h/pay.mjs", "charge");
    ok(v != NULL, "javascript argv");
    is_str(v[0], "/usr/bin/node", "argv[0] is the interpreter");
    is_str(v[1], "--input-type=module", "the runner is an ES module");
    is_str(v[2], "-e", "passed with -e");
    ok(v[3] && strstr(v[3], "import { pathToFileURL } from 'node:url';") == v[3],
       "argv[3] is the embedded runner");
    is_str(v[4], "--", "then --");
    is_str(v[5], "/srv/h/pay.mjs", "the module");
    is_str(v[6], "charge", "the function");
    ok(v[7] == NULL, "and nothing else");
    act_cmd_strv_free(v);
    v = act_runtime_argv("python", "/usr/bin/python3", "/srv/h/pay.py", "handler");
    ok(v != NULL, "python argv");
    is_str(v[0], "/usr/bin/python3", "argv[0] is the interpreter");
    is_str(v[1], "-I", "isolated mode");
    is_str(v[2], "-B", "no bytecode files");
    is_str(v[3], "-c", "the runner with -c");
    ok(v[4] && strstr(v[4], "import importlib.util, json, os, sys") == v[4],
       "argv[4] is the embedded runner");
    is_str(v[5], "/srv/h/pay.py", "the module");
    is_str(v[6], "handler", "the function");
    ok(v[7] == NULL, "and nothing else");
    act_cmd_strv_free(v);
    ok(act_runtime_argv("ruby", "/usr/bin/ruby", "/x.rb", "h") == NULL, "unknown kind: NULL");
}

static void test_runtime_validation(void)
{
    const char *mjs = put("v.mjs", "export function handler() {}\n", 0644);
    const char *py = put("v.py", "def handler(i, c): pass\n", 0644);
    const char *noexec = put("not-a-runtime", "#!/bin/sh\n", 0644);
    struct act_err err;
    char sub[300];
    json_t *h;

    subtest("runtime validation");
    is_int(check(rt_spec("javascript", mjs, NULL), &err), ACT_OK, "javascript, absolute module");
    is_int(check(rt_spec("python", py, "handler"), &err), ACT_OK, "python, absolute module");
    is_int(check(js("{\"kind\": \"javascript\"}"), &err), ACT_EUNPROC, "module missing");
    is_str(err.field, "handler.module", "field");
    is_int(check(rt_spec("javascript", "/nonexistent/h.mjs", NULL), &err), ACT_EUNPROC,
           "module that does not exist");
    is_str(err.field, "handler.module", "field");
    ok(strstr(err.msg, "module '/nonexistent/h.mjs' not found: No such file or directory") !=
           NULL,
       "message: %s", err.msg);
    is_int(check(rt_spec("javascript", py, NULL), &err), ACT_EUNPROC, "a .py module for node");
    ok(strstr(err.msg, "must be a file ending in .mjs, .js or .cjs") != NULL, "message: %s",
       err.msg);
    is_int(check(rt_spec("python", mjs, NULL), &err), ACT_EUNPROC, "a .mjs module for python");
    snprintf(sub, sizeof(sub), "%s/d.py", dir);
    mkdir(sub, 0755);
    is_int(check(rt_spec("python", sub, NULL), &err), ACT_EUNPROC, "a directory as module");
    ok(strstr(err.msg, "is not a regular file") != NULL, "message: %s", err.msg);

    h = rt_spec("javascript", "v.mjs", NULL);
    json_object_set_new(h, "cwd", json_string(dir));
    is_int(check(h, &err), ACT_OK, "a relative module resolves against cwd");
    h = rt_spec("javascript", "v.mjs", NULL);
    is_int(check(h, &err), ACT_EUNPROC, "without cwd it resolves against the daemon's");

    is_int(check(rt_spec("javascript", mjs, "not-a-name"), &err), ACT_EUNPROC, "bad function");
    is_str(err.field, "handler.function", "field");
    is_int(check(rt_spec("javascript", mjs, "$ok_1"), &err), ACT_OK, "$ in a JS name");
    is_int(check(rt_spec("python", py, "$no"), &err), ACT_EUNPROC, "$ in a Python name");
    is_int(check(rt_spec("python", py, ""), &err), ACT_EUNPROC, "empty function");

    h = rt_spec("python", py, NULL);
    json_object_set_new(h, "runtime", json_string("python3"));
    is_int(check(h, &err), ACT_EUNPROC, "relative runtime");
    is_str(err.field, "handler.runtime", "field");
    h = rt_spec("python", py, NULL);
    json_object_set_new(h, "runtime", json_string(noexec));
    is_int(check(h, &err), ACT_EUNPROC, "runtime that is not executable");
    ok(strstr(err.msg, "is not an executable file") != NULL, "message: %s", err.msg);
    h = rt_spec("javascript", mjs, NULL);
    json_object_set_new(h, "env", json_pack("{s:s}", "PATH", "/nonexistent"));
    is_int(check(h, &err), ACT_EUNPROC, "no node on the child's PATH");
    ok(strstr(err.msg, "no node interpreter found on PATH (/nonexistent)") != NULL,
       "message: %s", err.msg);
    is_str(err.field, "handler.runtime", "field");

    h = rt_spec("python", py, NULL);
    json_object_set_new(h, "argv", json_pack("[s]", "x"));
    is_int(check(h, &err), ACT_EUNPROC, "unknown member");
    is_str(err.field, "handler.argv", "field");
    h = rt_spec("python", py, NULL);
    json_object_set_new(h, "timeout_ms", json_integer(0));
    is_int(check(h, &err), ACT_EUNPROC, "timeout_ms 0");
    is_str(err.field, "handler.timeout_ms", "field");
    h = rt_spec("python", py, NULL);
    json_object_set_new(h, "seccomp", json_string("off"));
    is_int(check(h, &err), ACT_EUNPROC, "unknown seccomp profile");
    is_str(err.field, "handler.seccomp", "field");
}

/* The output every runtime's handler() returns for input {a: 2, b: 3}. */
static void check_typed(const char *kind, const json_t *out)
{
    json_t *want = js("{\"sum\": 5, \"ratio\": 0.5, \"ok\": true, \"none\": null, "
                      "\"list\": [1, \"x\"], \"event\": \"shop.paid\", \"currency\": \"EUR\", "
                      "\"exec\": {\"id\": \"0190-exec-2\", \"root_id\": \"0190-exec-1\", "
                      "\"attempt\": 2, \"action\": \"charge\"}}");
    char *got = out ? json_dumps(out, JSON_SORT_KEYS) : NULL;

    ok(out && json_equal(out, want), "%s: typed output with input, event, config, execution: %s",
       kind, got ? got : "null");
    free(got); /* jansson's allocator */
    json_decref(want);
}

static void run_kind(const char *kind, const char *module)
{
    struct act_handler_result res;
    int64_t ms = 0;
    json_t *s;
    int rc;

    is_int(run(rt_spec(kind, module, NULL), "{\"a\": 2, \"b\": 3}", 20000, &res, NULL), ACT_OK,
           "%s: handler succeeds: %s", kind, res.error);
    check_typed(kind, res.output);
    act_handler_result_release(&res);

    rc = run(rt_spec(kind, module, "boom"), "{}", 20000, &res, NULL);
    is_int(rc, ACT_EPLUGIN, "%s: a thrown error fails the attempt", kind);
    ok(strncmp(res.error, strcmp(kind, "python") == 0 ? "ValueError: card declined (at "
                                                      : "TypeError: card declined (at ",
               29) == 0,
       "%s: with the error as the message: %s", kind, res.error);
    ok(!res.permanent && res.retry_after_ms == -1, "%s: retried by policy", kind);
    is_int(json_integer_value(json_object_get(res.error_detail, "exit_status")), 70,
           "%s: exit status 70 in the detail", kind);
    act_handler_result_release(&res);

    rc = run(rt_spec(kind, module, "refuse"), "{}", 20000, &res, NULL);
    ok(rc == ACT_EPLUGIN && res.permanent && strstr(res.error, "bad card"),
       "%s: an error with permanent = true is permanent: %s", kind, res.error);
    act_handler_result_release(&res);
    rc = run(rt_spec(kind, module, "later"), "{}", 20000, &res, NULL);
    ok(rc == ACT_EPLUGIN && res.retry_after_ms == 1500 && strstr(res.error, "busy"),
       "%s: an error with retry_after_ms asks for that delay (%lld): %s", kind,
       (long long)res.retry_after_ms, res.error);
    act_handler_result_release(&res);

    rc = run(rt_spec(kind, module, "missing_fn"), "{}", 20000, &res, NULL);
    ok(rc == ACT_EPLUGIN && res.permanent && strstr(res.error, "no function 'missing_fn'"),
       "%s: a missing function is a permanent failure: %s", kind, res.error);
    act_handler_result_release(&res);

    rc = run(rt_spec(kind, module, "nothing"), "{}", 20000, &res, NULL);
    ok(rc == ACT_OK && res.output == NULL, "%s: no return value is a null output", kind);
    act_handler_result_release(&res);

    rc = run(rt_spec(kind, module, "big"), "{}", 20000, &res, NULL);
    ok(rc == ACT_EPLUGIN && strstr(res.error, "handler returned a value that is not JSON: "),
       "%s: a return value JSON cannot hold fails: %s", kind, res.error);
    act_handler_result_release(&res);

    s = rt_spec(kind, module, "hang");
    json_object_set_new(s, "timeout_ms", json_integer(700));
    rc = run(s, "{}", 20000, &res, &ms);
    ok(rc == ACT_ETIMEDOUT && ms < 5000, "%s: handler.timeout_ms 700 kills a hang (%lld ms): %s",
       kind, (long long)ms, res.error);
    is_str(res.error, "timed out after 700 ms", "%s: the message names the handler's limit", kind);
    act_handler_result_release(&res);
}

static void test_runtimes_run(void)
{
    const char *mjs = put("pay.mjs", js_module, 0644);
    const char *py = put("pay.py", py_module, 0644);
    const char *cjs = put("legacy.js", "module.exports.handler = (i) => ({ cjs: i.n * 2 });\n",
                          0644);
    struct act_handler_result res;
    int rc;

    subtest("javascript");
    run_kind("javascript", mjs);
    rc = run(rt_spec("javascript", cjs, NULL), "{\"n\": 21}", 20000, &res, NULL);
    ok(rc == ACT_OK && json_integer_value(json_object_get(res.output, "cjs")) == 42,
       "a CommonJS .js module works too: %s", res.error);
    act_handler_result_release(&res);

    subtest("python");
    run_kind("python", py);
    rc = run(rt_spec("python", py, "slow"), "{}", 20000, &res, NULL);
    ok(rc == ACT_OK && json_integer_value(res.output) == 42, "an async def is awaited: %s",
       res.error);
    act_handler_result_release(&res);
    rc = run(rt_spec("python", put("broken.py", "def handler(input, ctx)\n    return 1\n", 0644),
                     NULL),
             "{}", 20000, &res, NULL);
    is_str(res.error, "SyntaxError: expected ':' (broken.py, line 1)",
           "a module that does not compile fails with the SyntaxError");
    is_int(rc, ACT_EPLUGIN, "as a failed attempt");
    act_handler_result_release(&res);
}

/* ---- docker ---- */

static void test_image_names(void)
{
    static const char *const good[] = {
        "alpine", "alpine:3.19", "library/alpine", "ghcr.io/acme/pay:1.4.2",
        "localhost:5000/team/img", "registry.example.com:443/a/b/c:latest",
        "my_img__x-y.z", "a@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "ghcr.io/acme/pay:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        NULL};
    static const char *const bad[] = {
        "", "-it", "--privileged", "Alpine", "alpine:", ":tag", "alpine:-x", "a//b", "a/",
        "/a", "a b", "a;rm", "a..b", "a_-b", "alpine@sha256:xyz", "alpine@sha256:abc",
        "bad_host:5000x/img", ".hidden/img", "a:b:c", NULL};
    char long_name[300];

    subtest("docker image references");
    for (size_t i = 0; good[i]; i++)
        ok(act_docker_image_ok(good[i]), "valid: %s", good[i]);
    for (size_t i = 0; bad[i]; i++)
        ok(!act_docker_image_ok(bad[i]), "refused: '%s'", bad[i]);
    memset(long_name, 'a', 256);
    long_name[256] = '\0';
    ok(!act_docker_image_ok(long_name), "refused: 256 characters");
}

static void is_argv(char **got, const char *const *want, const char *name)
{
    size_t i = 0;

    while (got[i] && want[i] && strcmp(got[i], want[i]) == 0)
        i++;
    if (!ok(!got[i] && !want[i], "%s", name))
        diag("first difference at argv[%zu]: '%s', expected '%s'", i, got[i] ? got[i] : "(end)",
             want[i] ? want[i] : "(end)");
    act_cmd_strv_free(got);
}

/* `s` with newlines as " | ", for one-line test names. */
static const char *flat(const char *s)
{
    static char buf[1024];
    size_t n = 0;

    for (; *s && n < sizeof(buf) - 4; s++) {
        if (*s == '\n') {
            memcpy(buf + n, " | ", 3);
            n += 3;
        } else {
            buf[n++] = *s;
        }
    }
    buf[n] = '\0';
    return buf;
}

static void test_docker_argv(void)
{
    static const char *const minimal[] = {
        "/usr/bin/docker", "run", "--rm", "-i", "--name", "actiond-x-1-00000000",
        "--network", "none", "--memory", "256m", "--memory-swap", "256m", "--cpus", "1",
        "--pids-limit", "64", "--read-only", "--tmpfs", "/tmp:rw,noexec,nosuid,size=64m",
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--user", "65534:65534",
        "alpine:3.19", NULL};
    static const char *const full[] = {
        "docker", "run", "--rm", "-i", "--name", "n", "--network", "bridge", "--memory", "64m",
        "--memory-swap", "64m", "--cpus", "0.5", "--pids-limit", "16", "--read-only", "--tmpfs",
        "/tmp:rw,noexec,nosuid,size=64m", "--cap-drop", "ALL", "--security-opt",
        "no-new-privileges", "--user", "app:app", "--env", "API_TOKEN", "--env", "MODE",
        "ghcr.io/acme/pay:1.4", "node", "/app/main.js", "--flag", "$(rm -rf /)", NULL};
    static const char *const cpus2[] = {
        "docker", "run", "--rm", "-i", "--name", "n", "--network", "none", "--memory", "256m",
        "--memory-swap", "256m", "--cpus", "2", "--pids-limit", "64", "--read-only", "--tmpfs",
        "/tmp:rw,noexec,nosuid,size=64m", "--cap-drop", "ALL", "--security-opt",
        "no-new-privileges", "--user", "1000", "busybox", "--", "-x", NULL};
    json_t *h;

    subtest("docker argv");
    h = js("{\"kind\": \"docker\", \"image\": \"alpine:3.19\"}");
    is_argv(act_docker_argv(h, "/usr/bin/docker", "actiond-x-1-00000000"), minimal,
            "defaults: no network, 256 MiB without swap, 1 CPU, 64 pids, read-only, nobody");
    json_decref(h);
    h = js("{\"kind\": \"docker\", \"image\": \"ghcr.io/acme/pay:1.4\", "
           "\"args\": [\"node\", \"/app/main.js\", \"--flag\", \"$(rm -rf /)\"], "
           "\"memory_mb\": 64, \"cpus\": 0.5, \"pids_limit\": 16, \"network\": \"bridge\", "
           "\"user\": \"app:app\", \"env\": {\"API_TOKEN\": \"s3cret\", \"MODE\": \"prod\"}}");
    is_argv(act_docker_argv(h, "docker", "n"), full,
            "every member; env by name only, args verbatim after the image");
    json_decref(h);
    h = js("{\"kind\": \"docker\", \"image\": \"busybox\", \"cpus\": 2, \"user\": \"1000\", "
           "\"args\": [\"--\", \"-x\"]}");
    is_argv(act_docker_argv(h, "docker", "n"), cpus2, "integer cpus, numeric user, dash args");
    json_decref(h);
}

static void test_docker_validation(void)
{
    static const struct {
        const char *spec, *field, *name;
    } cases[] = {
        {"{\"kind\": \"docker\"}", "handler.image", "image missing"},
        {"{\"kind\": \"docker\", \"image\": \"--privileged\"}", "handler.image",
         "an image that is an option"},
        {"{\"kind\": \"docker\", \"image\": \"-v/:/host\"}", "handler.image",
         "an image starting with '-'"},
        {"{\"kind\": \"docker\", \"image\": \"Alpine\"}", "handler.image", "uppercase image"},
        {"{\"kind\": \"docker\", \"image\": 5}", "handler.image", "image a number"},
        {"{\"kind\": \"docker\", \"image\": \"a\", \"args\": \"ls\"}", "handler.args",
         "args a string"},
        {"{\"kind\": \"docker\", \"image\": \"a\", \"args\": [1]}", "handler.args[0]",
         "args[0] a number"},
        {"{\"kind\": \"docker\", \"image\": \"a\", \"memory_mb\": 5}", "handler.memory_mb",
         "memory under docker's minimum"},
        {"{\"kind\": \"docker\", \"image\": \"a\", \"cpus\": 0}", "handler.cpus", "0 cpus"},
        {"{\"kind\": \"docker\", \"image\": \"a\", \"cpus\": \"1\"}", "handler.cpus",
         "cpus a string"},
        {"{\"kind\": \"docker\", \"image\": \"a\", \"pids_limit\": 0}", "handler.pids_limit",
         "0 pids"},
        {"{\"kind\": \"docker\", \"image\": \"a\", \"network\": \"host\"}", "handler.network",
         "host network"},
        {"{\"kind\": \"docker\", \"image\": \"a\", \"user\": \"--privileged\"}", "handler.user",
         "a user that is an option"},
        {"{\"kind\": \"docker\", \"image\": \"a\", \"user\": \"0:0:0\"}", "handler.user",
         "user with two colons"},
        {"{\"kind\": \"docker\", \"image\": \"a\", \"env\": {\"DOCKER_HOST\": \"tcp://x\"}}",
         "handler.env.DOCKER_HOST", "env the CLI reads (DOCKER_HOST)"},
        {"{\"kind\": \"docker\", \"image\": \"a\", \"env\": {\"LD_PRELOAD\": \"/x.so\"}}",
         "handler.env.LD_PRELOAD", "env the CLI reads (LD_PRELOAD)"},
        {"{\"kind\": \"docker\", \"image\": \"a\", \"env\": {\"https_proxy\": \"x\"}}",
         "handler.env.https_proxy", "env the CLI reads (a proxy)"},
        {"{\"kind\": \"docker\", \"image\": \"a\", \"privileged\": true}", "handler.privileged",
         "unknown member"},
        {"{\"kind\": \"docker\", \"image\": \"a\", \"seccomp\": \"none\"}", "handler.seccomp",
         "no seccomp member: docker has its own"},
        {"{\"kind\": \"docker\", \"image\": \"a\", \"runtime\": \"docker\"}", "handler.runtime",
         "relative runtime"},
    };
    struct act_err err;

    subtest("docker validation");
    is_int(check(js("{\"kind\": \"docker\", \"image\": \"ghcr.io/acme/pay:1.4\", "
                    "\"args\": [\"run\"], \"memory_mb\": 512, \"cpus\": 1.5, "
                    "\"pids_limit\": 128, \"network\": \"bridge\", \"user\": \"1000:1000\", "
                    "\"env\": {\"MODE\": \"x\"}, \"timeout_ms\": 5000, "
                    "\"max_output_bytes\": 4096}"),
                 &err),
           ACT_OK, "a full valid spec: %s", err.msg);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = check(js(cases[i].spec), &err);

        ok(rc == ACT_EUNPROC && strcmp(err.field, cases[i].field) == 0,
           "refused: %s (%s: %s)", cases[i].name, err.field, err.msg);
    }
}

static const char imitation_cli[] =
    "#!/bin/sh\n"
    "# An imitation of the docker CLI (no engine runs here): records its\n"
    "# arguments, then behaves like a container that echoes its stdin.\n"
    "printf '%s\\n' \"$*\" >> \"$(dirname \"$0\")/calls\"\n"
    "[ \"$1\" = rm ] && exit 0\n"
    "for a; do last=$a; done\n"
    "[ \"$last\" = hang ] && exec sleep 30\n"
    "printf '{\"token_in_cli_env\": \"%s\", \"stdin\": ' \"$API_TOKEN\"\n"
    "cat\n"
    "printf '}'\n";

static char *read_all(const char *path)
{
    static char buf[8192];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

    buf[n > 0 ? n : 0] = '\0';
    if (fd >= 0)
        close(fd);
    return buf;
}

static void test_docker_imitation(void)
{
    const char *cli = put("docker", imitation_cli, 0755);
    struct act_handler_result res;
    char calls[256], *log;
    int64_t ms = 0;
    json_t *s;
    int rc;

    subtest("docker through an imitation CLI");
    snprintf(calls, sizeof(calls), "%s/calls", dir);
    s = json_pack("{s:s,s:s,s:s,s:[s],s:{s:s}}", "kind", "docker", "runtime", cli, "image",
                  "alpine:3.19", "args", "run", "env", "API_TOKEN", "s3cret");
    rc = run(s, "{\"n\": 1}", 20000, &res, NULL);
    is_int(rc, ACT_OK, "the attempt succeeds: %s", res.error);
    is_str(json_string_value(json_object_get(res.output, "token_in_cli_env")), "s3cret",
           "env values reach the CLI through its environment");
    is_int(json_integer_value(
               json_object_get(json_object_get(json_object_get(res.output, "stdin"), "input"), "n")),
           1, "stdin carries the command kind's document");
    log = read_all(calls);
    ok(strncmp(log, "run --rm -i --name actiond-0190-exec-2-2-", 41) == 0 &&
           strstr(log, " --env API_TOKEN alpine:3.19 run\n") && !strstr(log, "s3cret"),
       "the CLI got the argv (container named after execution and attempt), no secret: %s",
       flat(log));
    act_handler_result_release(&res);
    unlink(calls);

    s = json_pack("{s:s,s:s,s:s,s:[s],s:i}", "kind", "docker", "runtime", cli, "image",
                  "alpine", "args", "hang", "timeout_ms", 500);
    rc = run(s, "{}", 20000, &res, &ms);
    ok(rc == ACT_ETIMEDOUT && ms < 5000, "a hanging container times out (%lld ms)",
       (long long)ms);
    log = read_all(calls);
    {
        const char *name = strstr(log, "--name ");
        const char *rm = strstr(log, "\nrm -f ");
        size_t n = name ? strcspn(name + 7, " ") : 0;

        ok(name && rm && strncmp(rm + 7, name + 7, n) == 0 && rm[7 + n] == '\n',
           "and its container is removed with docker rm -f NAME: %s", flat(log));
    }
    act_handler_result_release(&res);
}

int main(void)
{
    char tmpl[] = "/tmp/actiond-rt-XXXXXX";

    if (!mkdtemp(tmpl)) {
        diag("mkdtemp failed");
        return 1;
    }
    snprintf(dir, sizeof(dir), "%s", tmpl);
    test_argv();
    test_runtime_validation();
    test_runtimes_run();
    test_image_names();
    test_docker_argv();
    test_docker_validation();
    test_docker_imitation();
    {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            diag("could not remove %s", dir);
    }
    return done_testing();
}
