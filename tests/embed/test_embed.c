/*
 * The embedding API (include/actiond/actiond.h) through its public header
 * alone: no jansson, no internal header, exactly what an embedder sees.
 *
 * Covers the example's flow (open, action, subscription, emit, wait,
 * output), argument and input errors with their codes and field-prefixed
 * messages, batches with an invalid member, duplicate events, manual
 * execution, deletes, a wait that times out on a long command, concurrent
 * callers, reopening the data directory, the JSON path helpers, and the
 * example binary itself (via $ACT_BUILD_DIR).
 */
#define _POSIX_C_SOURCE 200809L

#include "actiond/actiond.h"
#include "tap.h"

#include <dirent.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char data_dir[512];
static char errbuf[256];

/* ---- helpers ---- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void remove_dir(const char *dir)
{
    struct dirent *de;
    DIR *d = opendir(dir);

    if (d) {
        while ((de = readdir(d)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
    }
    rmdir(dir);
}

/* The string at `path` of `json`, or NULL; free with actiond_string_free. */
static char *str_at(const char *json, const char *path)
{
    char *s = NULL;
    if (!json || actiond_json_get_str(json, path, &s, NULL, 0) < 0)
        return NULL;
    return s;
}

/* Compare the compact JSON text at `path` with `want`. */
static void json_at_is(const char *json, const char *path, const char *want, const char *name)
{
    char *got = NULL;
    if (json)
        actiond_json_get(json, path, &got, NULL, 0);
    is_str(got, want, "%s", name);
    actiond_string_free(got);
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static struct act_engine *open_engine(void)
{
    struct actiond_options opt;
    struct act_engine *e = NULL;
    int rc;

    actiond_options_init(&opt);
    opt.data_dir = data_dir;
    opt.sync_full = 0;
    opt.workers = 4;
    rc = actiond_open(&opt, &e, errbuf, sizeof(errbuf));
    if (rc < 0) {
        diag("open: %s", errbuf);
        exit(1);
    }
    return e;
}

/* Create an action and return its id (caller frees). */
static char *create_action(struct act_engine *e, const char *json)
{
    char *out = NULL, *id;
    if (actiond_action_create(e, json, &out, errbuf, sizeof(errbuf)) < 0) {
        diag("create action: %s", errbuf);
        return NULL;
    }
    id = str_at(out, "id");
    actiond_string_free(out);
    return id;
}

static int subscribe(struct act_engine *e, const char *action_id, const char *pattern)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"action_id\":\"%s\",\"event_patterns\":[\"%s\"]}",
             action_id ? action_id : "", pattern);
    return actiond_subscription_create(e, body, NULL, errbuf, sizeof(errbuf));
}

/* Wait for an execution and return its final document (caller frees). */
static char *wait_exec(struct act_engine *e, const char *id)
{
    char *x = NULL;
    if (!id || actiond_execution_wait(e, id, 20000, &x, errbuf, sizeof(errbuf)) < 0) {
        diag("wait %s: %s", id ? id : "(null)", errbuf);
        actiond_string_free(x);
        return NULL;
    }
    return x;
}

/* ---- tests ---- */

static void test_version_and_options(void)
{
    struct actiond_options opt;
    struct act_engine *e = (struct act_engine *)&opt; /* must be reset to NULL */
    int rc;

    subtest("version, strerror, option checks");
    is_str(actiond_version(), ACTIOND_VERSION_STRING, "library version matches the header");
    is_str(actiond_strerror(ACTIOND_ENOTFOUND), "not found", "strerror");

    rc = actiond_open(NULL, &e, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_EINVAL, "NULL options are refused");
    ok(e == NULL, "*out is NULL on failure");

    actiond_options_init(&opt);
    is_int(opt.size, sizeof(opt), "options_init sets the size");
    is_int(opt.sync_full, 1, "options_init defaults to synchronous=FULL");
    rc = actiond_open(&opt, &e, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_EINVAL, "a missing data_dir is refused");
    is_str(errbuf, "data_dir: is required", "the message names the field");

    opt.data_dir = data_dir;
    opt.size = sizeof(opt) + 8;
    rc = actiond_open(&opt, &e, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_EINVAL, "an unknown (larger) options size is refused");
    ok(starts_with(errbuf, "size: "), "the message names size: %s", errbuf);

    opt.size = sizeof(opt);
    opt.workers = -1;
    rc = actiond_open(&opt, &e, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_EINVAL, "negative workers are refused");
    ok(starts_with(errbuf, "workers: "), "the message names workers: %s", errbuf);
}

/* The example's flow.  Returns the action id (caller frees). */
static char *test_flow(struct act_engine *e)
{
    char *action = NULL, *id, *reply = NULL, *exec_id, *x, *x2 = NULL;
    int rc;

    subtest("action, subscription, emit, wait");
    rc = actiond_action_create(e, "{\"name\":\"hello\",\"handler\":{\"kind\":\"echo\"}}", &action,
                               errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_OK, "create the echo action");
    id = str_at(action, "id");
    ok(id && strlen(id) == 36, "the stored action has a UUID id");
    json_at_is(action, "retry_policy.max_retries", "3", "defaults are filled in");
    json_at_is(action, "handler", "{\"kind\":\"echo\"}", "the handler is kept");
    actiond_string_free(action);

    is_int(subscribe(e, id, "users.created"), ACTIOND_OK, "subscribe to users.created");
    rc = actiond_emit(e, "{\"type\":\"users.created\",\"data\":{\"user\":\"ada\"}}", &reply,
                      errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_OK, "emit one event");
    json_at_is(reply, "duplicate", "false", "not a duplicate");
    exec_id = str_at(reply, "executions[0].id");
    ok(exec_id != NULL, "the event triggered an execution");
    json_at_is(reply, "executions[1]", NULL, "exactly one");
    x = wait_exec(e, exec_id);
    json_at_is(x, "status", "\"succeeded\"", "the execution succeeded");
    json_at_is(x, "output", "{\"user\":\"ada\"}", "echo returned the event data");
    rc = actiond_execution_get(e, exec_id, &x2, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_OK, "execution_get");
    json_at_is(x2, "status", "\"succeeded\"", "execution_get sees the final status");
    actiond_string_free(x2);
    actiond_string_free(x);
    actiond_string_free(exec_id);
    actiond_string_free(reply);

    rc = actiond_emit(e, "{\"type\":\"users.deleted\"}", NULL, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_OK, "an event nobody subscribed to is accepted, reply not wanted");
    return id;
}

static void test_bad_input(struct act_engine *e, const char *action_id)
{
    char *out = (char *)"sentinel";
    int rc;

    subtest("bad actions and subscriptions: codes and fields");
    rc = actiond_action_create(e, "{\"name\": \"x\",", &out, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_EINVAL, "malformed JSON is EINVAL");
    ok(strstr(errbuf, "malformed action JSON at line 1") != NULL, "message: %s", errbuf);
    ok(out == NULL, "*out_json is NULL on failure");

    rc = actiond_action_create(e, "{\"name\":\"a\",\"name\":\"b\",\"handler\":{\"kind\":\"echo\"}}",
                               NULL, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_EINVAL, "duplicate members are refused, as over HTTP");

    {
        char deep[200];
        size_t i = 0;
        for (; i < 65; i++)
            deep[i] = '[';
        for (; i < 130; i++)
            deep[i] = ']';
        deep[i] = '\0';
        rc = actiond_emit(e, deep, NULL, errbuf, sizeof(errbuf));
        is_int(rc, ACTIOND_EINVAL, "JSON nested over 64 levels is refused");
        ok(strstr(errbuf, "nesting deeper than 64") != NULL, "message: %s", errbuf);
    }

    rc = actiond_action_create(e, "{\"name\":\"k\",\"handler\":{\"kind\":\"teleport\"}}", NULL,
                               errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_EUNPROC, "an unknown handler kind is the 422 code");
    ok(starts_with(errbuf, "handler.kind: "), "the message names handler.kind: %s", errbuf);

    rc = actiond_action_create(e,
                               "{\"name\":\"r\",\"handler\":{\"kind\":\"echo\"},"
                               "\"retry_policy\":{\"max_retries\":-1}}",
                               NULL, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_EINVAL, "a negative max_retries is EINVAL");
    ok(starts_with(errbuf, "retry_policy.max_retries: "), "dotted field: %s", errbuf);

    rc = actiond_action_create(e, "{\"name\":\"hello\",\"handler\":{\"kind\":\"echo\"}}", NULL,
                               errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_ECONFLICT, "a taken name is a conflict");

    rc = subscribe(e, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "x.y");
    is_int(rc, ACTIOND_EUNPROC, "a subscription to a missing action is refused");
    ok(starts_with(errbuf, "action_id: "), "the message names action_id: %s", errbuf);
    rc = subscribe(e, action_id, "a..b");
    is_int(rc, ACTIOND_EINVAL, "a bad pattern is EINVAL");
    ok(starts_with(errbuf, "event_patterns[0]"), "the field is the pattern: %s", errbuf);

}

static void test_bad_emit_and_lookup(struct act_engine *e, const char *action_id)
{
    char *out = NULL;
    int rc;

    subtest("bad events, errbuf handling, unknown ids");
    rc = actiond_emit(e, "{\"data\":{}}", NULL, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_EINVAL, "an event without type is EINVAL");
    ok(starts_with(errbuf, "type: "), "the message names type: %s", errbuf);
    rc = actiond_emit(e, "[]", NULL, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_EINVAL, "an empty batch is EINVAL");
    ok(starts_with(errbuf, "events: "), "field events: %s", errbuf);
    rc = actiond_emit(e, "{\"events\": 3}", NULL, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_EINVAL, "events must be an array");
    rc = actiond_emit(e, NULL, NULL, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_EINVAL, "NULL text is EINVAL");
    rc = actiond_emit(NULL, "{\"type\":\"a\"}", NULL, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_EINVAL, "a NULL engine is EINVAL");
    is_str(errbuf, "engine is NULL", "and says so");

    {
        char small[8];
        memset(small, 'x', sizeof(small));
        rc = actiond_emit(e, "{", NULL, small, sizeof(small));
        is_int(rc, ACTIOND_EINVAL, "error with a small errbuf");
        is_int(strlen(small), 7, "the message is truncated and terminated");
    }
    is_int(actiond_emit(e, "{", NULL, NULL, 0), ACTIOND_EINVAL, "errbuf may be NULL");

    snprintf(errbuf, sizeof(errbuf), "untouched");
    rc = actiond_action_get(e, action_id, &out, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_OK, "action_get");
    is_str(errbuf, "untouched", "errbuf is left alone on success");
    actiond_string_free(out);
    rc = actiond_action_get(e, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", &out, errbuf,
                            sizeof(errbuf));
    is_int(rc, ACTIOND_ENOTFOUND, "an unknown action is ENOTFOUND");
    rc = actiond_execution_get(e, "nope", &out, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_ENOTFOUND, "an unknown execution is ENOTFOUND");
}

static void test_batch(struct act_engine *e)
{
    char *reply = NULL, *x1 = NULL, *x3 = NULL, *id1, *id3;
    int rc;

    subtest("batch emit with an invalid member");
    rc = actiond_emit(e,
                      "[{\"type\":\"users.created\",\"data\":{\"n\":1}},"
                      " {\"type\":\"has space\"},"
                      " {\"type\":\"users.created\",\"data\":{\"n\":3}}]",
                      &reply, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_OK, "the batch is accepted");
    id1 = str_at(reply, "results[0].executions[0].id");
    id3 = str_at(reply, "results[2].executions[0].id");
    ok(id1 && id3 && strcmp(id1, id3) != 0, "members 0 and 2 triggered executions");
    json_at_is(reply, "results[1].error.code", "-2", "member 1 failed with EINVAL");
    json_at_is(reply, "results[1].error.field", "\"events[1].type\"", "its field is prefixed");
    json_at_is(reply, "results[3]", NULL, "one result per member");
    x1 = wait_exec(e, id1);
    x3 = wait_exec(e, id3);
    json_at_is(x1, "output", "{\"n\":1}", "member 0 ran with its data");
    json_at_is(x3, "output", "{\"n\":3}", "member 2 ran with its data");
    actiond_string_free(x1);
    actiond_string_free(x3);
    actiond_string_free(id1);
    actiond_string_free(id3);
    actiond_string_free(reply);

    rc = actiond_emit(e, "{\"events\":[{\"type\":\"users.created\"},{\"type\":\"other\"}]}", &reply,
                      errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_OK, "the {\"events\": [...]} form is a batch too");
    json_at_is(reply, "results[0].executions[1]", NULL, "the first matched once");
    json_at_is(reply, "results[1].executions", "[]", "the second matched nothing");
    actiond_string_free(reply);
}

static void test_duplicate(struct act_engine *e)
{
    const char *ev = "{\"id\":\"order-7\",\"source\":\"/shop\",\"type\":\"users.created\"}";
    char *r1 = NULL, *r2 = NULL, *a, *b;

    subtest("duplicate detection");
    is_int(actiond_emit(e, ev, &r1, errbuf, sizeof(errbuf)), ACTIOND_OK, "first delivery");
    is_int(actiond_emit(e, ev, &r2, errbuf, sizeof(errbuf)), ACTIOND_OK, "second delivery");
    json_at_is(r1, "duplicate", "false", "the first is new");
    json_at_is(r2, "duplicate", "true", "the second is a duplicate");
    a = str_at(r1, "executions[0].id");
    b = str_at(r2, "executions[0].id");
    ok(a && b && strcmp(a, b) == 0, "the duplicate answers the first execution, creates none");
    actiond_string_free(a);
    actiond_string_free(b);
    actiond_string_free(r1);
    actiond_string_free(r2);
}

static void test_execute_and_delete(struct act_engine *e)
{
    char *id, *out = NULL, *xid, *x, *sub = NULL, *sub_id;
    int rc;

    subtest("manual execute, deletes");
    id = create_action(e, "{\"name\":\"manual\",\"handler\":{\"kind\":\"echo\"}}");
    rc = actiond_action_execute(e, id, "{\"k\":\"v\"}", &out, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_OK, "execute with input");
    xid = str_at(out, "execution_id");
    x = wait_exec(e, xid);
    json_at_is(x, "output", "{\"k\":\"v\"}", "the input reached the handler");
    actiond_string_free(x);
    actiond_string_free(xid);
    actiond_string_free(out);
    rc = actiond_action_execute(e, id, "[1]", &out, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_EINVAL, "input must be an object");
    is_str(errbuf, "input: must be an object", "and the message says so");

    rc = actiond_subscription_create(e, "{\"action_id\":\"x\",\"event_patterns\":[\"m.*\"]}", NULL,
                                     errbuf, sizeof(errbuf));
    ok(rc < 0, "a malformed action_id is refused");
    {
        char body[200];
        snprintf(body, sizeof(body), "{\"action_id\":\"%s\",\"event_patterns\":[\"m.*\"]}", id);
        rc = actiond_subscription_create(e, body, &sub, errbuf, sizeof(errbuf));
    }
    is_int(rc, ACTIOND_OK, "subscribe");
    sub_id = str_at(sub, "id");
    is_int(actiond_subscription_delete(e, sub_id, errbuf, sizeof(errbuf)), ACTIOND_OK,
           "delete the subscription");
    is_int(actiond_subscription_delete(e, sub_id, errbuf, sizeof(errbuf)), ACTIOND_ENOTFOUND,
           "deleting it again is ENOTFOUND");
    rc = actiond_emit(e, "{\"type\":\"m.x\"}", &out, errbuf, sizeof(errbuf));
    json_at_is(out, "executions", "[]", "a deleted subscription matches nothing");
    actiond_string_free(out);
    is_int(actiond_action_delete(e, id, errbuf, sizeof(errbuf)), ACTIOND_OK, "delete the action");
    is_int(actiond_action_get(e, id, &out, errbuf, sizeof(errbuf)), ACTIOND_ENOTFOUND,
           "a deleted action is gone");
    actiond_string_free(sub_id);
    actiond_string_free(sub);
    actiond_string_free(id);
}

static void test_json_helpers(void)
{
    const char *doc = "{\"a\":{\"b\":[10,{\"c\":\"x\\\"y\"}]},\"n\":null}";
    char *out = NULL;

    subtest("json path helpers");
    json_at_is(doc, "a.b[0]", "10", "member then index");
    json_at_is(doc, "a.b[1].c", "\"x\\\"y\"", "a string keeps its quotes and escapes");
    json_at_is(doc, "n", "null", "null is a value");
    json_at_is("[1,[2,3]]", "[1][0]", "2", "indices chain");
    json_at_is(doc, "", "{\"a\":{\"b\":[10,{\"c\":\"x\\\"y\"}]},\"n\":null}", "\"\" is the document");
    is_int(actiond_json_get_str(doc, "a.b[1].c", &out, errbuf, sizeof(errbuf)), ACTIOND_OK,
           "get_str");
    is_str(out, "x\"y", "unquoted and unescaped");
    actiond_string_free(out);
    is_int(actiond_json_get_str(doc, "a.b[0]", &out, errbuf, sizeof(errbuf)), ACTIOND_EINVAL,
           "get_str on a number");
    ok(out == NULL, "*out_str NULL on failure");
    is_int(actiond_json_get(doc, "a.b[2]", &out, errbuf, sizeof(errbuf)), ACTIOND_ENOTFOUND,
           "index out of range");
    is_str(errbuf, "path 'a.b[2]': nothing at 'a.b[2]'", "names the failing prefix");
    is_int(actiond_json_get(doc, "a.zz.c", &out, errbuf, sizeof(errbuf)), ACTIOND_ENOTFOUND,
           "missing member");
    is_str(errbuf, "path 'a.zz.c': nothing at 'a.zz'", "names the failing prefix");
    is_int(actiond_json_get(doc, "a[0]", &out, errbuf, sizeof(errbuf)), ACTIOND_ENOTFOUND,
           "indexing an object");
    is_int(actiond_json_get(doc, "a..b", &out, errbuf, sizeof(errbuf)), ACTIOND_EINVAL, "a..b");
    is_int(actiond_json_get(doc, "a.", &out, errbuf, sizeof(errbuf)), ACTIOND_EINVAL, "a.");
    is_int(actiond_json_get(doc, "a.b[x]", &out, errbuf, sizeof(errbuf)), ACTIOND_EINVAL, "[x]");
    is_int(actiond_json_get(doc, "a.b[0]z", &out, errbuf, sizeof(errbuf)), ACTIOND_EINVAL,
           "junk after ]");
    is_int(actiond_json_get("{\"a\":\"\\u0000\"}", "a", &out, errbuf, sizeof(errbuf)),
           ACTIOND_EINVAL, "a NUL escape is malformed");
    is_int(actiond_json_get("{}", "a", NULL, errbuf, sizeof(errbuf)), ACTIOND_EINVAL,
           "out is required");
}

/* Returns the id of the execution that is still running. */
static char *test_wait_timeout(struct act_engine *e)
{
    char *id, *reply = NULL, *xid, *x = NULL;
    long long t0, dt;
    int rc;

    subtest("wait times out on a never-finishing execution");
    id = create_action(e, "{\"name\":\"slow\",\"handler\":{\"kind\":\"command\","
                          "\"argv\":[\"/bin/sleep\",\"5\"]},\"timeout_ms\":10000}");
    ok(id != NULL, "create a command action running sleep 5");
    is_int(subscribe(e, id, "slow.job"), ACTIOND_OK, "subscribe");
    actiond_emit(e, "{\"type\":\"slow.job\"}", &reply, errbuf, sizeof(errbuf));
    xid = str_at(reply, "executions[0].id");
    ok(xid != NULL, "the event triggered it");
    t0 = now_ms();
    rc = actiond_execution_wait(e, xid, 100, &x, errbuf, sizeof(errbuf));
    dt = now_ms() - t0;
    is_int(rc, ACTIOND_ETIMEDOUT, "the wait times out");
    ok(dt >= 90 && dt < 3000, "after about 100 ms (%lld ms)", dt);
    ok(strstr(errbuf, "is still") != NULL, "the message says what it is doing: %s", errbuf);
    {
        char *st = str_at(x, "status");
        ok(st && (strcmp(st, "running") == 0 || strcmp(st, "pending") == 0),
           "the latest snapshot comes back on timeout (status %s)", st ? st : "(none)");
        actiond_string_free(st);
    }
    actiond_string_free(x);
    rc = actiond_execution_wait(e, xid, -1, &x, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_EINVAL, "a negative timeout is EINVAL");
    is_str(errbuf, "timeout_ms: must be >= 0", "and names timeout_ms");
    actiond_string_free(reply);
    actiond_string_free(id);
    return xid;
}

struct worker_arg {
    struct act_engine *e;
    int n_ok;
};

/* Emit and wait from several threads at once (thread: any). */
static void *concurrent_worker(void *p)
{
    struct worker_arg *w = p;
    char err[256];

    for (int i = 0; i < 10; i++) {
        char *reply = NULL, *xid, *x = NULL, *st;
        if (actiond_emit(w->e, "{\"type\":\"users.created\",\"data\":{}}", &reply, err,
                         sizeof(err)) < 0)
            continue;
        xid = str_at(reply, "executions[0].id");
        if (xid && actiond_execution_wait(w->e, xid, 20000, &x, err, sizeof(err)) == 0) {
            st = str_at(x, "status");
            w->n_ok += st && strcmp(st, "succeeded") == 0;
            actiond_string_free(st);
        }
        actiond_string_free(x);
        actiond_string_free(xid);
        actiond_string_free(reply);
    }
    return NULL;
}

static void test_concurrent(struct act_engine *e)
{
    pthread_t t[4];
    struct worker_arg w[4];
    int total = 0;

    subtest("concurrent callers");
    for (int i = 0; i < 4; i++) {
        w[i].e = e;
        w[i].n_ok = 0;
        pthread_create(&t[i], NULL, concurrent_worker, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        total += w[i].n_ok;
    }
    is_int(total, 40, "4 threads x 10 emits all succeeded");
}

static void test_reopen(const char *action_id, const char *slow_exec)
{
    struct act_engine *e, *e2 = NULL;
    struct actiond_options opt;
    char *out = NULL, *reply = NULL, *xid, *x;
    int rc;

    subtest("reopen the data directory");
    e = open_engine();
    actiond_options_init(&opt);
    opt.data_dir = data_dir;
    rc = actiond_open(&opt, &e2, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_EBUSY, "a second engine on the same directory is refused");
    ok(e2 == NULL, "and gives no handle");

    rc = actiond_action_get(e, action_id, &out, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_OK, "the action survived the restart");
    json_at_is(out, "name", "\"hello\"", "with its name");
    actiond_string_free(out);
    actiond_emit(e, "{\"type\":\"users.created\",\"data\":{\"again\":true}}", &reply, errbuf,
                 sizeof(errbuf));
    xid = str_at(reply, "executions[0].id");
    x = wait_exec(e, xid);
    json_at_is(x, "output", "{\"again\":true}", "so did its subscription");
    actiond_string_free(x);
    actiond_string_free(xid);
    actiond_string_free(reply);
    rc = actiond_execution_get(e, slow_exec, &out, errbuf, sizeof(errbuf));
    is_int(rc, ACTIOND_OK, "the slow execution is still known");
    actiond_string_free(out);
    actiond_close(e);
}

/* Run the example binary and check its exit status and output. */
static void test_example(void)
{
    const char *dir = getenv("ACT_BUILD_DIR");
    char path[1024], buf[4096];
    char *argv[2];
    posix_spawn_file_actions_t fa;
    int fds[2], status = -1;
    size_t len = 0;
    ssize_t n;
    pid_t pid;

    subtest("examples/embed_hello.c");
    if (!dir) {
        skip("ACT_BUILD_DIR is not set (run through ctest)", "example runs");
        return;
    }
    snprintf(path, sizeof(path), "%s/example_embed_hello", dir);
    if (access(path, X_OK) != 0) {
        skip("example_embed_hello is not built (ACT_MODULES restricts the build)",
             "example runs");
        return;
    }
    argv[0] = path;
    argv[1] = NULL;
    if (pipe(fds) < 0) {
        ok(0, "pipe");
        return;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    if (posix_spawn(&pid, path, &fa, NULL, argv, environ) != 0) {
        ok(0, "spawn %s", path);
        posix_spawn_file_actions_destroy(&fa);
        close(fds[0]);
        close(fds[1]);
        return;
    }
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    while (len < sizeof(buf) - 1 && (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    close(fds[0]);
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the example exits 0");
    ok(strstr(buf, " succeeded\n") != NULL, "it reports the execution succeeded");
    ok(strstr(buf, "output: {\"user\":\"ada\"}\n") != NULL, "it prints the echoed output");
    if (tap_failures())
        diag("example output: %s", buf);
}

int main(void)
{
    struct act_engine *e;
    char *action_id, *slow;
    const char *tmp = getenv("TMPDIR");

    snprintf(data_dir, sizeof(data_dir), "%s/test_embed.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(data_dir)) {
        perror("mkdtemp");
        return 1;
    }
    actiond_log_setup(2, ACTIOND_LOG_ERROR);
    test_version_and_options();
    test_json_helpers();
    e = open_engine();
    action_id = test_flow(e);
    test_bad_input(e, action_id);
    test_bad_emit_and_lookup(e, action_id);
    test_batch(e);
    test_duplicate(e);
    test_execute_and_delete(e);
    test_concurrent(e);
    slow = test_wait_timeout(e);
    actiond_close(e); /* waits for sleep 5 to finish */
    test_reopen(action_id, slow);
    actiond_string_free(slow);
    actiond_string_free(action_id);
    remove_dir(data_dir);
    test_example();
    return done_testing();
}
