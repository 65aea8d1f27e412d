/*
 * The engine end to end through its C API on a temporary data directory:
 * ingest -> match -> durable executions -> handlers -> retries -> dead
 * letters -> replay, plus priorities, concurrency and rate limits, cancel,
 * explain, metrics and recovery across close/open.
 */
#include "base/alloc.h"
#include "engine/engine.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char data_dir[256];

static json_t *J(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!v) {
        fprintf(stderr, "bad test JSON: %s: %s\n", text, jerr.text);
        abort();
    }
    return v;
}

static struct act_engine *open_engine(int workers)
{
    struct act_engine_conf conf = {.data_dir = data_dir, .sync_full = false, .workers = workers,
                                   .lease_grace_ms = 2000, .drain_timeout_ms = 5000};
    struct act_engine *e = NULL;
    struct act_err err = {0};
    if (act_engine_open(&conf, &e, &err) < 0) {
        fprintf(stderr, "open: %s\n", err.msg);
        abort();
    }
    return e;
}

/* Create an action from JSON text and return its id (static buffer per call site). */
static void create_action(struct act_engine *e, const char *body, char id[40])
{
    json_t *b = J(body), *out = NULL;
    struct act_err err = {0};
    int rc = act_engine_action_create(e, b, &out, &err);
    json_decref(b);
    if (rc < 0) {
        fprintf(stderr, "create action: %s (%s)\n", err.msg, err.field);
        abort();
    }
    snprintf(id, 40, "%s", json_string_value(json_object_get(out, "id")));
    json_decref(out);
}

static void subscribe(struct act_engine *e, const char *action_id, const char *patterns,
                      int priority)
{
    char body[512];
    json_t *b, *out = NULL;
    struct act_err err = {0};
    snprintf(body, sizeof(body), "{\"action_id\":\"%s\",\"event_patterns\":%s,\"priority\":%d}",
             action_id, patterns, priority);
    b = J(body);
    if (act_engine_sub_create(e, b, &out, &err) < 0) {
        fprintf(stderr, "subscribe: %s (%s)\n", err.msg, err.field);
        abort();
    }
    json_decref(b);
    json_decref(out);
}

/* Ingest one event (canonical form) and return the reply. */
static json_t *emit(struct act_engine *e, const char *event)
{
    json_t *ev = J(event), *reply = NULL;
    struct act_err err = {0};
    int rc = act_engine_ingest(e, &ev, 1, &reply, &err);
    json_decref(ev);
    if (rc < 0) {
        fprintf(stderr, "ingest: %s\n", err.msg);
        abort();
    }
    return reply;
}

static const char *first_exec(json_t *reply)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(reply, "executions"), 0), "id"));
}

static json_t *wait_final(struct act_engine *e, const char *id)
{
    json_t *out = NULL;
    struct act_err err = {0};
    if (act_engine_exec_wait(e, id, 20000, &out, &err) < 0)
        diag("wait %s: %s", id, err.msg);
    return out;
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void test_basic(struct act_engine *e)
{
    char a[40];
    json_t *r, *r2, *x, *exp;

    subtest("ingest, match, run, duplicate");
    create_action(e, "{\"name\":\"echo1\",\"handler\":{\"kind\":\"echo\"}}", a);
    subscribe(e, a, "[\"users.created\"]", 0);
    r = emit(e, "{\"id\":\"ev-1\",\"source\":\"/t\",\"type\":\"users.created\","
                "\"specversion\":\"1.0\",\"data\":{\"x\":1}}");
    is_int(json_array_size(json_object_get(r, "executions")), 1, "one execution created");
    ok(json_is_false(json_object_get(r, "duplicate")), "first delivery is not a duplicate");
    x = wait_final(e, first_exec(r));
    is_str(str(x, "status"), "succeeded", "echo execution succeeded");
    exp = J("{\"x\":1}");
    ok(json_equal(json_object_get(x, "output"), exp), "echo output is the event data");
    ok(json_equal(json_object_get(x, "input"), exp), "input is the event data");
    is_int(json_array_size(json_object_get(x, "lineage")), 1, "lineage has one attempt");
    json_decref(exp);
    json_decref(x);

    r2 = emit(e, "{\"id\":\"ev-1\",\"source\":\"/t\",\"type\":\"users.created\","
                 "\"specversion\":\"1.0\",\"data\":{\"x\":2}}");
    ok(json_is_true(json_object_get(r2, "duplicate")), "same source+id is a duplicate");
    is_str(str(r2, "event_id"), str(r, "event_id"), "duplicate answers the first event id");
    is_str(first_exec(r2), first_exec(r), "duplicate answers the same execution ids");
    json_decref(r2);
    json_decref(r);

    r = emit(e, "{\"id\":\"ev-2\",\"source\":\"/t\",\"type\":\"orders.paid\","
                "\"specversion\":\"1.0\",\"data\":{}}");
    is_int(json_array_size(json_object_get(r, "executions")), 0, "unmatched event: no executions");
    json_decref(r);
}

static void on_ingest_done(void *ud)
{
    __atomic_store_n((int *)ud, 1, __ATOMIC_RELEASE);
}

/* One event through act_engine_ingest_begin + act_engine_ingest_end_text:
 * the reply text, parsed (it must be JSON). */
static json_t *emit_text(struct act_engine *e, const char *event, char **text_out)
{
    json_t *ev = J(event), *parsed;
    struct act_ingest *h = NULL;
    struct act_err err = {0};
    int done = 0;
    char *text = NULL;
    size_t len = 0;

    if (act_engine_ingest_begin(e, &ev, 1, on_ingest_done, &done, &h, &err) < 0) {
        fprintf(stderr, "ingest_begin: %s\n", err.msg);
        abort();
    }
    while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE))
        usleep(1000);
    if (act_engine_ingest_end_text(h, &text, &len, &err) < 0) {
        fprintf(stderr, "ingest_end_text: %s\n", err.msg);
        abort();
    }
    json_decref(ev);
    ok(text && strlen(text) == len, "the reply text has the length given");
    parsed = json_loadb(text, len, 0, NULL);
    ok(parsed != NULL, "the reply text is JSON: %s", text);
    *text_out = text;
    return parsed;
}

/* The HTTP intake's reply text is the same document as the tree replies,
 * with ids that need JSON escaping, duplicates and unmatched events. */
static void test_reply_text(struct act_engine *e)
{
    static const char ev[] = "{\"id\":\"q\\\"b\\\\c\\nd\\u0001\",\"source\":\"/t\","
                             "\"type\":\"reply.x\",\"specversion\":\"1.0\",\"data\":{}}";
    char a[40], *text;
    json_t *first, *tree, *dup, *none;

    subtest("ingest replies as text");
    create_action(e, "{\"name\":\"reply_noop\",\"handler\":{\"kind\":\"noop\"}}", a);
    subscribe(e, a, "[\"reply.*\"]", 0);
    subscribe(e, a, "[\"reply.x\"]", 0);
    first = emit_text(e, ev, &text);
    act_free(text);
    is_int(json_array_size(json_object_get(first, "executions")), 2,
           "two subscriptions: two executions in the text reply");
    ok(json_is_false(json_object_get(first, "duplicate")), "first delivery: duplicate false");
    tree = emit(e, ev); /* a duplicate now, answered as a tree */
    dup = emit_text(e, ev, &text);
    act_free(text);
    ok(json_equal(dup, tree), "a duplicate's text reply equals its tree reply");
    ok(json_equal(json_object_get(first, "executions"), json_object_get(tree, "executions")),
       "and names the first delivery's executions");
    is_str(str(first, "event_id"), str(tree, "event_id"), "with the same event id");
    none = emit_text(e, "{\"type\":\"unmatched.x\",\"source\":\"/t\",\"data\":{}}", &text);
    ok(json_is_array(json_object_get(none, "executions")) &&
           json_array_size(json_object_get(none, "executions")) == 0 &&
           json_is_false(json_object_get(none, "duplicate")) && str(none, "event_id"),
       "an unmatched event: an event id and no executions: %s", text);
    act_free(text);
    json_decref(first);
    json_decref(tree);
    json_decref(dup);
    json_decref(none);
}

/* A claimed execution still waiting for the (single) worker is cancelled:
 * its handler must never run. */
static void test_cancel_queued(struct act_engine *e)
{
    char a[40], body[1024], file[300], buf[16384] = "";
    json_t *r[3], *x = NULL, *out = NULL;
    struct act_err err = {0};
    FILE *f;

    subtest("cancel of a claimed execution that has not started");
    snprintf(file, sizeof(file), "%s/ran.txt", data_dir);
    snprintf(body, sizeof(body),
             "{\"name\":\"queued\",\"handler\":{\"kind\":\"command\",\"argv\":[\"/bin/sh\",\"-c\","
             "\"sleep 0.3; cat >> %s; echo >> %s; echo null\"]}}",
             file, file);
    create_action(e, body, a);
    subscribe(e, a, "[\"queued.go\"]", 0);
    for (int i = 0; i < 3; i++) {
        char ev[160];
        snprintf(ev, sizeof(ev),
                 "{\"id\":\"q%d\",\"source\":\"/t\",\"type\":\"queued.go\",\"specversion\":\"1.0\","
                 "\"data\":{\"n\":\"run-%d\"}}",
                 i, i);
        r[i] = emit(e, ev);
    }
    ok(act_engine_exec_cancel(e, first_exec(r[2]), &out, &err) == 0, "cancel the third");
    json_decref(out);
    x = wait_final(e, first_exec(r[1]));
    json_decref(x);
    usleep(500000);
    act_engine_exec_get(e, first_exec(r[2]), &x, &err);
    is_str(str(x, "status"), "cancelled", "it stays cancelled");
    json_decref(x);
    if ((f = fopen(file, "r"))) {
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    ok(strstr(buf, "run-0") && strstr(buf, "run-1"), "the others ran");
    ok(!strstr(buf, "run-2"), "the cancelled one never ran its handler");
    for (int i = 0; i < 3; i++)
        json_decref(r[i]);
}

static void test_priority(struct act_engine *e)
{
    char lo[40], hi[40];
    json_t *r, *xl = NULL, *xh = NULL;

    subtest("priority order");
    create_action(e, "{\"name\":\"lo\",\"handler\":{\"kind\":\"command\",\"argv\":[\"/bin/sh\","
                     "\"-c\",\"sleep 0.05; echo {}\"]},\"priority\":0}",
                  lo);
    create_action(e, "{\"name\":\"hi\",\"handler\":{\"kind\":\"command\",\"argv\":[\"/bin/sh\","
                     "\"-c\",\"sleep 0.05; echo {}\"]},\"priority\":5}",
                  hi);
    subscribe(e, lo, "[\"prio.*\"]", 0);
    subscribe(e, hi, "[\"prio.**\"]", 0);
    r = emit(e, "{\"id\":\"p1\",\"source\":\"/t\",\"type\":\"prio.x\",\"specversion\":\"1.0\"}");
    is_int(json_array_size(json_object_get(r, "executions")), 2, "both actions matched");
    is_str(str(json_array_get(json_object_get(r, "executions"), 0), "action_id"), hi,
           "higher priority action listed first");
    for (size_t i = 0; i < 2; i++) {
        json_t *x = wait_final(e, str(json_array_get(json_object_get(r, "executions"), i), "id"));
        if (strcmp(str(x, "action_id"), hi) == 0)
            xh = x;
        else
            xl = x;
    }
    ok(strcmp(str(xh, "started_at"), str(xl, "started_at")) <= 0,
       "higher priority started first (%s vs %s)", str(xh, "started_at"), str(xl, "started_at"));
    json_decref(xl);
    json_decref(xh);
    json_decref(r);
}

static void test_retry_dead_replay(struct act_engine *e)
{
    char a[40];
    json_t *r, *x, *lin, *dl = NULL, *rep = NULL, *in, *x2;
    struct act_query q = {0};
    struct act_err err = {0};

    subtest("retries, dead letter, replay");
    create_action(e, "{\"name\":\"flaky\",\"handler\":{\"kind\":\"command\",\"argv\":[\"/bin/sh\","
                     "\"-c\",\"echo boom >&2; exit 3\"]},\"retry_policy\":{\"max_retries\":2,"
                     "\"backoff\":\"fixed\",\"initial_delay_ms\":20,\"max_delay_ms\":20,"
                     "\"jitter\":false}}",
                  a);
    subscribe(e, a, "[\"jobs.run\"]", 0);
    r = emit(e, "{\"id\":\"j1\",\"source\":\"/t\",\"type\":\"jobs.run\",\"specversion\":\"1.0\","
                "\"data\":{\"n\":1}}");
    x = wait_final(e, first_exec(r));
    is_str(str(x, "status"), "dead", "exhausted execution is dead");
    is_int(json_integer_value(json_object_get(x, "attempt")), 3, "1 attempt + 2 retries");
    lin = json_object_get(x, "lineage");
    is_int(json_array_size(lin), 3, "lineage lists three attempts");
    is_str(str(json_array_get(lin, 0), "status"), "failed", "attempt 1 failed");
    is_str(str(json_array_get(lin, 2), "status"), "dead", "attempt 3 dead");
    ok(str(x, "error") && strstr(str(x, "error"), "boom"), "error carries the stderr tail: %s",
       str(x, "error"));
    is_str(str(x, "parent_id"), str(json_array_get(lin, 1), "id"), "parent is attempt 2");

    q.action_id = a;
    ok(act_engine_dead_list(e, &q, &dl, &err) == 0, "dead letters listed");
    is_int(json_array_size(json_object_get(dl, "items")), 1, "one dead letter");
    in = J("{\"n\":42}");
    ok(act_engine_dead_replay(e, str(x, "id"), in, &rep, &err) == 0, "replay accepted");
    x2 = wait_final(e, str(rep, "execution_id"));
    is_str(str(x2, "status"), "dead", "replay of a broken action dies again");
    is_int(json_array_size(json_object_get(x2, "lineage")), 6,
           "the lineage holds the first run and the replay's three attempts");
    json_decref(x2);
    act_engine_exec_get(e, str(rep, "execution_id"), &x2, &err);
    is_str(str(x2, "parent_id"), str(x, "id"), "replay's parent is the dead execution");
    is_int(json_integer_value(json_object_get(x2, "attempt")), 1, "a replay starts a fresh budget");
    ok(json_equal(json_object_get(x2, "input"), in), "replay ran with the edited input");
    json_decref(x2);
    json_decref(rep);
    json_decref(in);
    json_decref(dl);
    json_decref(x);
    json_decref(r);
}

static void test_flow_control(struct act_engine *e)
{
    char a[40], b[40];
    json_t *r[3], *x[3], *out = NULL;
    struct act_err err = {0};
    int overlap = 0;

    subtest("max_concurrent and rate limit");
    create_action(e, "{\"name\":\"serial\",\"handler\":{\"kind\":\"command\",\"argv\":[\"/bin/sh\","
                     "\"-c\",\"sleep 0.1; echo null\"]},\"max_concurrent\":1}",
                  a);
    subscribe(e, a, "[\"serial.go\"]", 0);
    for (int i = 0; i < 3; i++) {
        char ev[128];
        snprintf(ev, sizeof(ev),
                 "{\"id\":\"s%d\",\"source\":\"/t\",\"type\":\"serial.go\",\"specversion\":\"1.0\"}",
                 i);
        r[i] = emit(e, ev);
    }
    for (int i = 0; i < 3; i++)
        x[i] = wait_final(e, first_exec(r[i]));
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            if (i != j && strcmp(str(x[i], "started_at"), str(x[j], "started_at")) < 0 &&
                strcmp(str(x[j], "started_at"), str(x[i], "finished_at")) < 0)
                overlap++;
    is_int(overlap, 0, "max_concurrent 1: no two runs overlap");
    for (int i = 0; i < 3; i++) {
        json_decref(x[i]);
        json_decref(r[i]);
    }

    create_action(e, "{\"name\":\"limited\",\"handler\":{\"kind\":\"noop\"},"
                     "\"rate_limit\":{\"per_minute\":2}}",
                  b);
    subscribe(e, b, "[\"limited.go\"]", 0);
    for (int i = 0; i < 3; i++) {
        char ev[128];
        snprintf(ev, sizeof(ev),
                 "{\"id\":\"l%d\",\"source\":\"/t\",\"type\":\"limited.go\",\"specversion\":\"1.0\"}",
                 i);
        r[i] = emit(e, ev);
    }
    x[0] = wait_final(e, first_exec(r[0]));
    x[1] = wait_final(e, first_exec(r[1]));
    usleep(300000);
    act_engine_exec_get(e, first_exec(r[2]), &x[2], &err);
    is_str(str(x[0], "status"), "succeeded", "first within the rate");
    is_str(str(x[1], "status"), "succeeded", "second within the rate");
    is_str(str(x[2], "status"), "pending", "third waits for a token");
    ok(act_engine_exec_cancel(e, first_exec(r[2]), &out, &err) == 0, "cancel the waiting one");
    is_str(str(out, "status"), "cancelled", "it is cancelled");
    json_decref(out);
    out = NULL;
    is_int(act_engine_exec_cancel(e, first_exec(r[0]), &out, &err), ACT_ESTATE,
           "cancelling a finished execution is refused");
    for (int i = 0; i < 3; i++) {
        json_decref(x[i]);
        json_decref(r[i]);
    }
}

static void test_explain_metrics_validation(struct act_engine *e)
{
    json_t *ev = J("{\"id\":\"x\",\"source\":\"/t\",\"type\":\"users.created\",\"data\":{}}");
    json_t *out = NULL, *list = NULL, *body;
    struct act_err err = {0};
    struct act_query q = {.limit = "2"};
    char a[40];

    subtest("explain, metrics, validation, pagination");
    ok(act_engine_explain(e, ev, &out, &err) == 0, "explain runs");
    is_int(json_array_size(json_object_get(out, "matched")), 1, "explain: one match");
    is_int(json_array_size(json_object_get(out, "considered")), 4,
           "explain considers every subscription");
    json_decref(out);
    json_decref(ev);

    create_action(e, "{\"name\":\"m\",\"handler\":{\"kind\":\"noop\"}}", a);
    for (int i = 0; i < 5; i++) {
        json_t *x = NULL, *in = J("{}");
        if (act_engine_action_execute(e, a, in, &out, &err) < 0)
            diag("execute: %s", err.msg);
        x = wait_final(e, str(out, "execution_id"));
        json_decref(x);
        json_decref(out);
        json_decref(in);
    }
    ok(act_engine_action_metrics(e, a, NULL, &out, &err) == 0, "metrics");
    is_int(json_integer_value(json_object_get(out, "count")), 5, "five finished attempts");
    ok(json_real_value(json_object_get(out, "success_rate")) == 1.0, "success rate 1");
    ok(json_is_real(json_object_get(out, "p99_ms")), "p99 present");
    json_decref(out);

    body = J("{\"name\":\"bad\",\"handler\":{\"kind\":\"noop\"},\"retry_policy\":"
             "{\"max_retries\":-1}}");
    is_int(act_engine_action_create(e, body, &out, &err), ACT_EINVAL, "negative retries refused");
    is_str(err.field, "retry_policy.max_retries", "error names the field");
    json_decref(body);
    body = J("{\"name\":\"m\",\"handler\":{\"kind\":\"noop\"}}");
    is_int(act_engine_action_create(e, body, &out, &err), ACT_ECONFLICT, "duplicate name: conflict");
    json_decref(body);
    body = J("{\"action_id\":\"01890000-0000-7000-8000-000000000000\",\"event_patterns\":[\"a\"]}");
    is_int(act_engine_sub_create(e, body, &out, &err), ACT_EUNPROC,
           "subscription to a missing action refused");
    json_decref(body);

    q.action_id = a;
    ok(act_engine_exec_list(e, &q, &list, &err) == 0, "list page 1");
    is_int(json_array_size(json_object_get(list, "items")), 2, "page holds limit items");
    ok(json_is_string(json_object_get(list, "next_cursor")), "next cursor given");
    {
        int seen = 2, pages = 1;
        json_t *page = list;
        while (json_is_string(json_object_get(page, "next_cursor")) && pages < 10) {
            json_t *next = NULL;
            q.cursor = str(page, "next_cursor");
            act_engine_exec_list(e, &q, &next, &err);
            if (page != list)
                json_decref(page);
            page = next;
            seen += (int)json_array_size(json_object_get(page, "items"));
            pages++;
        }
        is_int(seen, 5, "walking the cursor sees every execution once");
        if (page != list)
            json_decref(page);
    }
    json_decref(list);
}

static void test_docs_and_flow(struct act_engine *e)
{
    json_t *doc = J("{\"name\":\"Email\",\"status\":\"active\"}"), *out = NULL, *list = NULL;
    struct act_err err = {0};
    struct act_query q = {0};
    char a[40];

    subtest("documents, flow ids, waiting for one attempt");
    is_int(act_engine_doc_put(e, "plugin", "p-1", "email", doc, true, &err), 0, "doc inserted");
    is_int(act_engine_doc_put(e, "plugin", "p-2", "email", doc, true, &err), ACT_ECONFLICT,
           "a taken key is a conflict");
    ok(act_engine_doc_get_by_key(e, "plugin", "email", &out, &err) == 0, "found by key");
    is_str(str(out, "id"), "p-1", "by key gives the id");
    is_str(str(out, "name"), "Email", "with the document");
    json_decref(out);
    is_int(act_engine_doc_put(e, "plugin", "p-9", "x", doc, false, &err), ACT_ENOTFOUND,
           "updating a missing id");
    ok(act_engine_doc_list(e, "plugin", &list, &err) == 0 && json_array_size(list) == 1,
       "list holds one");
    json_decref(list);
    is_int(act_engine_doc_delete(e, "plugin", "p-1", &err), 0, "deleted");
    is_int(act_engine_doc_get(e, "plugin", "p-1", &out, &err), ACT_ENOTFOUND, "gone");
    json_decref(doc);

    create_action(e, "{\"name\":\"flowed\",\"handler\":{\"kind\":\"command\",\"argv\":"
                     "[\"/bin/false\"]},\"retry_policy\":{\"max_retries\":1,\"backoff\":\"fixed\","
                     "\"initial_delay_ms\":5000,\"max_delay_ms\":5000,\"jitter\":false}}",
                  a);
    ok(act_engine_action_execute_flow(e, a, NULL, "flow_123", &out, &err) == 0, "execute in a flow");
    {
        json_t *x = NULL;
        ok(act_engine_exec_wait_attempt(e, str(out, "execution_id"), 10000, &x, &err) == 0,
           "first attempt has an outcome");
        is_str(str(x, "status"), "failed", "it failed, a retry is scheduled");
        is_str(str(x, "flow_execution_id"), "flow_123", "flow id stored");
        json_decref(x);
    }
    json_decref(out);
    q.flow_execution_id = "flow_123";
    ok(act_engine_exec_list(e, &q, &list, &err) == 0, "list by flow id");
    is_int(json_array_size(json_object_get(list, "items")), 2, "the attempt and its scheduled retry");
    json_decref(list);
}

static void test_recovery(void)
{
    struct act_engine *e = open_engine(2);
    char a[40], xid[64];
    json_t *r, *x;

    subtest("a retry scheduled before close runs after open");
    create_action(e, "{\"name\":\"later\",\"handler\":{\"kind\":\"command\",\"argv\":[\"/bin/false\"]},"
                     "\"retry_policy\":{\"max_retries\":1,\"backoff\":\"fixed\",\"initial_delay_ms\":"
                     "800,\"max_delay_ms\":800,\"jitter\":false}}",
                  a);
    subscribe(e, a, "[\"later.go\"]", 0);
    r = emit(e, "{\"id\":\"r1\",\"source\":\"/t\",\"type\":\"later.go\",\"specversion\":\"1.0\"}");
    snprintf(xid, sizeof(xid), "%s", first_exec(r));
    usleep(300000); /* first attempt fails; retry waits 800 ms */
    act_engine_close(e);
    e = open_engine(2);
    x = wait_final(e, xid);
    is_str(str(x, "status"), "dead", "after reopen the retry ran and the execution is dead");
    is_int(json_integer_value(json_object_get(x, "attempt")), 2, "exactly two attempts");
    json_decref(x);
    json_decref(r);
    act_engine_close(e);
}

/* A handler that overruns timeout + grace loses its lease: the attempt is
 * failed by the reaper and the late result changes nothing. */
static void test_lease_expiry(void)
{
    const char *bd = getenv("ACT_BUILD_DIR");
    struct act_engine_conf conf = {.data_dir = data_dir, .workers = 2, .lease_grace_ms = 200};
    struct act_engine *e = NULL;
    struct act_err err = {0};
    char body[768], a[40];
    json_t *in, *out = NULL, *x = NULL, *x2 = NULL;

    subtest("lease expiry of a stuck handler");
    if (!bd) {
        skip("ACT_BUILD_DIR is not set (run through ctest)", "lease expiry");
        return;
    }
    if (act_engine_open(&conf, &e, &err) < 0)
        abort();
    snprintf(body, sizeof(body),
             "{\"name\":\"stuck\",\"timeout_ms\":100,\"handler\":{\"kind\":\"native\","
             "\"path\":\"%s/plugins/native-example.so\"},\"retry_policy\":{\"max_retries\":0}}",
             bd);
    create_action(e, body, a);
    in = J("{\"stall\": true}");
    ok(act_engine_action_execute(e, a, in, &out, &err) == 0, "execute a stalling handler");
    x = wait_final(e, str(out, "execution_id"));
    is_str(str(x, "status"), "dead", "the reaper failed it after timeout + grace");
    ok(str(x, "error") && strstr(str(x, "error"), "lease expired"), "error says the lease expired: %s",
       str(x, "error"));
    usleep(1800000); /* the handler returns now, 1.5 s after it started */
    act_engine_exec_get(e, str(out, "execution_id"), &x2, &err);
    is_str(str(x2, "status"), "dead", "the late result did not overwrite the outcome");
    ok(json_is_null(json_object_get(x2, "output")), "no output recorded from the late result");
    json_decref(x);
    json_decref(x2);
    json_decref(out);
    json_decref(in);
    act_engine_close(e);
}

int main(void)
{
    struct act_engine *e;

    snprintf(data_dir, sizeof(data_dir), "/tmp/act-engine-test-%d", (int)getpid());
    e = open_engine(4);
    test_basic(e);
    test_retry_dead_replay(e);
    test_flow_control(e);
    test_explain_metrics_validation(e);
    test_docs_and_flow(e);
    test_reply_text(e); /* last: its subscriptions would change explain's counts */
    act_engine_close(e);
    test_recovery();
    test_lease_expiry();
    e = open_engine(1); /* one worker: start order is dispatch order */
    test_priority(e);
    test_cancel_queued(e);
    act_engine_close(e);
    {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", data_dir);
        if (system(cmd) != 0)
            diag("could not remove %s", data_dir);
    }
    return done_testing();
}
