/*
 * handler: the seccomp profiles of the command family (proc_seccomp.c and
 * the child side in handler_command_proc.c).  Real filters, real processes:
 * python3 calls the denied system calls through ctypes, node runs a program
 * that uses threads, the file system and a subprocess, and a forked child
 * of this test installs a filter and makes a foreign-ABI system call.
 * Each denial is shown against the same program under "none", so a test
 * passes only because of the filter.
 */
#include "base/alloc.h"
#include "base/err.h"
#include "handler/handler.h"
#include "handler/proc_seccomp.h"
#include "tap.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static json_t *js(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

    if (!v)
        diag("bad test JSON %s: %s", text, jerr.text);
    return v;
}

/* Run `prog -c script` as kind command with handler.seccomp = profile
 * (NULL: the member absent).  Returns rc; *out gets the output (owned). */
static int run_prog(const char *prog, const char *script, const char *profile, json_t **out,
                    char *error, size_t error_len)
{
    const struct act_handler_ops *ops = act_handler_find("command");
    json_t *spec = json_pack("{s:s,s:[sss]}", "kind", "command", "argv", prog,
                             strcmp(prog, "node") == 0 ? "-e" : "-c", script);
    json_t *in = json_object(), *cfg = json_object();
    struct act_handler_call call = {.execution_id = "sc", .attempt = 1, .action_name = "sc",
                                    .input = in, .config = cfg, .timeout_ms = 20000};
    struct act_handler_result res;
    struct act_err err = {0};
    void *state = NULL;
    int rc;

    *out = NULL;
    if (profile)
        json_object_set_new(spec, "seccomp", json_string(profile));
    memset(&res, 0, sizeof(res));
    if ((rc = ops->open(spec, cfg, &state, &err)) < 0) {
        snprintf(error, error_len, "open: %s", err.msg);
    } else {
        rc = ops->execute(state, &call, &res);
        snprintf(error, error_len, "%s", res.error);
        *out = res.output;
        res.output = NULL;
        ops->close(state);
    }
    act_handler_result_release(&res);
    json_decref(spec);
    json_decref(in);
    json_decref(cfg);
    return rc;
}

static bool str_is(const json_t *v, const char *want)
{
    return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

/* [result, errno] of element `key` of an output object. */
static void pair(const json_t *out, const char *key, long long *r, long long *e)
{
    const json_t *p = json_object_get(out, key);

    *r = json_integer_value(json_array_get(p, 0));
    *e = json_integer_value(json_array_get(p, 1));
}

static void test_profiles(void)
{
    enum act_seccomp_profile p;
    struct act_seccomp *d = NULL, *nn = NULL, *none = (struct act_seccomp *)1;
    struct act_err err = {0};

    subtest("profiles");
    ok(act_seccomp_parse("default", &p) == ACT_OK && p == ACT_SECCOMP_DEFAULT, "default");
    ok(act_seccomp_parse("no_network", &p) == ACT_OK && p == ACT_SECCOMP_NO_NETWORK,
       "no_network");
    ok(act_seccomp_parse("none", &p) == ACT_OK && p == ACT_SECCOMP_NONE, "none");
    is_int(act_seccomp_parse("strict", &p), ACT_EINVAL, "unknown name refused");
    is_str(act_seccomp_name(ACT_SECCOMP_NO_NETWORK), "no_network", "name of a profile");
    is_int(act_seccomp_build(ACT_SECCOMP_NONE, &none, &err), ACT_OK, "none builds");
    ok(none == NULL && act_seccomp_prog(none) == NULL, "to no filter at all");
    is_int(act_seccomp_build(ACT_SECCOMP_DEFAULT, &d, &err), ACT_OK, "default builds: %s",
           err.msg);
    is_int(act_seccomp_build(ACT_SECCOMP_NO_NETWORK, &nn, &err), ACT_OK, "no_network builds");
    ok(act_seccomp_len(d) > 40 && act_seccomp_len(nn) > act_seccomp_len(d),
       "BPF programs of %u and %u instructions", act_seccomp_len(d), act_seccomp_len(nn));
    ok(act_seccomp_prog(d) && act_seccomp_prog(d)->len == act_seccomp_len(d),
       "the sock_fprog carries the length");
    act_seccomp_free(d);
    act_seccomp_free(nn);
}

/* A printf format: %d is SYS_keyctl of this architecture. */
#define PY_DENIED                                                                              \
    "import ctypes, json, os\n"                                                                \
    "libc = ctypes.CDLL(None, use_errno=True)\n"                                               \
    "def call(f, *a):\n"                                                                       \
    "    ctypes.set_errno(0)\n"                                                                \
    "    r = f(*a)\n"                                                                          \
    "    return [r, ctypes.get_errno()]\n"                                                     \
    "out = {'unshare': call(libc.unshare, 0x10000000),\n"                                      \
    "       'keyctl': call(libc.syscall, %d, 0, -3, 0),\n"                                    \
    "       'ptrace': call(libc.ptrace, 0, 0, None, None)}\n"                                  \
    "print(json.dumps(out))\n"

static void test_default_denies(void)
{
    json_t *out = NULL;
    char error[512], script[1024];
    long long r, e;
    int rc;

    subtest("default denies ptrace, unshare, keyctl with EPERM");
    snprintf(script, sizeof(script), PY_DENIED, (int)SYS_keyctl);
    rc = run_prog("python3", script, "none", &out, error, sizeof(error));
    is_int(rc, ACT_OK, "without a filter the program runs: %s", error);
    pair(out, "unshare", &r, &e);
    ok(r == 0, "unshare(CLONE_NEWUSER) succeeds without a filter (%lld, errno %lld)", r, e);
    pair(out, "keyctl", &r, &e);
    ok(r >= 0, "keyctl(GET_KEYRING_ID, session) succeeds without a filter (%lld, errno %lld)",
       r, e);
    pair(out, "ptrace", &r, &e);
    ok(r == 0, "ptrace(TRACEME) succeeds without a filter (%lld, errno %lld)", r, e);
    json_decref(out);

    rc = run_prog("python3", script, NULL, &out, error, sizeof(error));
    is_int(rc, ACT_OK, "under the default profile (member absent) the program runs: %s", error);
    pair(out, "unshare", &r, &e);
    ok(r == -1 && e == EPERM, "unshare fails with EPERM (%lld, errno %lld)", r, e);
    pair(out, "keyctl", &r, &e);
    ok(r == -1 && e == EPERM, "keyctl fails with EPERM (%lld, errno %lld)", r, e);
    pair(out, "ptrace", &r, &e);
    ok(r == -1 && e == EPERM, "ptrace fails with EPERM (%lld, errno %lld)", r, e);
    json_decref(out);
}

/* A printf format: %d is SYS_socket. */
#define PY_NET                                                                                 \
    "import json, socket\n"                                                                    \
    "def try_(fam):\n"                                                                         \
    "    try:\n"                                                                               \
    "        socket.socket(fam, socket.SOCK_STREAM).close()\n"                                 \
    "        return 0\n"                                                                       \
    "    except OSError as e:\n"                                                               \
    "        return e.errno\n"                                                                 \
    "import ctypes\n"                                                                          \
    "libc = ctypes.CDLL(None, use_errno=True)\n"                                               \
    "def raw(nr):\n"                                                                           \
    "    fd = libc.syscall(ctypes.c_long(nr), ctypes.c_long((1 << 32) | socket.AF_INET),\n"    \
    "                      ctypes.c_long(socket.SOCK_STREAM), ctypes.c_long(0))\n"            \
    "    return 0 if fd >= 0 else ctypes.get_errno()\n"                                        \
    "print(json.dumps({'inet': try_(socket.AF_INET), 'inet6': try_(socket.AF_INET6),\n"        \
    "                  'unix': try_(socket.AF_UNIX), 'high_bits': raw(%d)}))\n"

static void test_no_network(void)
{
    json_t *out = NULL;
    char error[512], script[2048];
    int rc;

    subtest("no_network denies AF_INET/AF_INET6 sockets, keeps AF_UNIX");
    snprintf(script, sizeof(script), PY_NET, (int)SYS_socket);
    rc = run_prog("python3", script, "default", &out, error, sizeof(error));
    is_int(rc, ACT_OK, "default: runs (%s)", error);
    ok(json_integer_value(json_object_get(out, "inet")) == 0 &&
           json_integer_value(json_object_get(out, "inet6")) == 0,
       "default: AF_INET and AF_INET6 sockets open");
    is_int(json_integer_value(json_object_get(out, "high_bits")), 0,
           "default: a raw socket() with AF_INET plus garbage in the upper 32 bits opens one");
    json_decref(out);
    rc = run_prog("python3", script, "no_network", &out, error, sizeof(error));
    is_int(rc, ACT_OK, "no_network: runs (%s)", error);
    is_int(json_integer_value(json_object_get(out, "inet")), EPERM,
           "no_network: socket(AF_INET) fails with EPERM");
    is_int(json_integer_value(json_object_get(out, "inet6")), EPERM,
           "no_network: socket(AF_INET6) fails with EPERM");
    is_int(json_integer_value(json_object_get(out, "unix")), 0, "no_network: AF_UNIX still works");
    is_int(json_integer_value(json_object_get(out, "high_bits")), EPERM,
           "no_network: the upper-bits trick is refused too (the rule compares 32 bits)");
    json_decref(out);

    rc = run_prog("python3", "import socket; socket.create_connection(('127.0.0.1', 9))",
                  "no_network", &out, error, sizeof(error));
    ok(rc == ACT_EPLUGIN && strstr(error, "PermissionError") && strstr(error, "Errno 1"),
       "a connect attempt fails with PermissionError: %s", error);
    json_decref(out);
}

#define PY_RUNS                                                                                \
    "import json, subprocess, threading\n"                                                     \
    "box = []\n"                                                                               \
    "t = threading.Thread(target=lambda: box.append(1)); t.start(); t.join()\n"                \
    "r = subprocess.run(['/bin/sh', '-c', 'echo child'], capture_output=True, text=True)\n"    \
    "print(json.dumps({'thread': box, 'child': r.stdout.strip()}))\n"

#define NODE_RUNS                                                                              \
    "const { Worker } = require('node:worker_threads');"                                       \
    "const fs = require('node:fs/promises');"                                                  \
    "const cp = require('node:child_process');"                                                \
    "(async () => {"                                                                           \
    "  const text = await fs.readFile('/etc/hostname', 'utf8');"                               \
    "  const w = await new Promise((ok, ko) => {"                                              \
    "    const wk = new Worker('require(\"node:worker_threads\").parentPort.postMessage(6*7)',"  \
    "                          { eval: true });"                                               \
    "    wk.on('message', ok); wk.on('error', ko); });"                                        \
    "  const child = cp.execFileSync('/bin/sh', ['-c', 'echo child']).toString().trim();"      \
    "  console.log(JSON.stringify({ read: text.length > 0, worker: w, child }));"              \
    "})();"

static void test_interpreters_run(void)
{
    json_t *out = NULL;
    char error[512];
    int rc;

    subtest("python3 and node still work under default and no_network");
    for (int i = 0; i < 2; i++) {
        const char *profile = i == 0 ? "default" : "no_network";

        rc = run_prog("python3", PY_RUNS, profile, &out, error, sizeof(error));
        ok(rc == ACT_OK &&
               json_integer_value(json_array_get(json_object_get(out, "thread"), 0)) == 1 &&
               str_is(json_object_get(out, "child"), "child"),
           "%s: python3 starts a thread and a subprocess (%s)", profile, error);
        json_decref(out);
        rc = run_prog("node", NODE_RUNS, profile, &out, error, sizeof(error));
        ok(rc == ACT_OK && json_is_true(json_object_get(out, "read")) &&
               json_integer_value(json_object_get(out, "worker")) == 42 &&
               str_is(json_object_get(out, "child"), "child"),
           "%s: node reads a file, runs a worker thread and a subprocess (%s)", profile, error);
        json_decref(out);
    }
}

#if defined(__x86_64__)
/* Fork a child that (optionally) installs `f`, then makes getpid() through
 * the i386 ABI (int 0x80, nr 20) or the x32 ABI (nr 39 | 0x40000000).
 * Returns the wait status. */
static int foreign_abi_child(const struct act_seccomp *f, bool x32)
{
    pid_t pid = fork();
    int status = 0;

    if (pid == 0) {
        long r;

        if (f && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                  prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, act_seccomp_prog(f), 0, 0) < 0))
            _exit(3);
        if (x32)
            __asm__ volatile("syscall" : "=a"(r) : "0"(39L | 0x40000000L) : "rcx", "r11", "memory");
        else
            __asm__ volatile("int $0x80" : "=a"(r) : "0"(20L) : "memory");
        (void)r;
        _exit(0);
    }
    waitpid(pid, &status, 0);
    return status;
}
#endif

static void test_arch_check(void)
{
    subtest("a foreign system call ABI kills the process");
#if defined(__x86_64__)
    struct act_seccomp *f = NULL;
    struct act_err err = {0};
    int st;

    if (act_seccomp_build(ACT_SECCOMP_DEFAULT, &f, &err) < 0) {
        ok(0, "build: %s", err.msg);
        return;
    }
    st = foreign_abi_child(NULL, false);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        skip("this kernel has no i386 emulation", "int 0x80 without a filter: status %d", st);
    } else {
        st = foreign_abi_child(f, false);
        ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
           "int 0x80 (i386 getpid) under the filter: SIGSYS (status %d)", st);
    }
    st = foreign_abi_child(f, true);
    ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
       "an x32 system call number under the filter: SIGSYS (status %d)", st);
    act_seccomp_free(f);
#else
    skip("x86_64 only", "i386 ABI");
    skip("x86_64 only", "x32 ABI");
#endif
}

static void test_validation(void)
{
    json_t *h = js("{\"kind\": \"command\", \"argv\": [\"x\"], \"seccomp\": \"strict\"}");
    struct act_err err = {0};

    subtest("validation");
    is_int(act_handler_validate(h, NULL, &err), ACT_EUNPROC, "unknown profile refused");
    is_str(err.field, "handler.seccomp", "field");
    ok(strstr(err.msg, "\"default\", \"no_network\" or \"none\"") != NULL, "message lists them: %s",
       err.msg);
    json_decref(h);
    h = js("{\"kind\": \"command\", \"argv\": [\"x\"], \"seccomp\": 1}");
    is_int(act_handler_validate(h, NULL, &err), ACT_EUNPROC, "a number refused");
    json_decref(h);
    h = js("{\"kind\": \"command\", \"argv\": [\"x\"], \"seccomp\": \"no_network\"}");
    is_int(act_handler_validate(h, NULL, &err), ACT_OK, "no_network accepted");
    json_decref(h);
}

int main(void)
{
    test_profiles();
    test_validation();
    test_default_denies();
    test_no_network();
    test_interpreters_run();
    test_arch_check();
    return done_testing();
}
