/*
 * The engine alone, without HTTP: ingest N events in batches through the
 * C API (one noop action subscribed to `bench.*`), wait until every
 * execution finished, report events/s and the time split.  Meant for
 * `valgrind --tool=callgrind --separate-threads=yes` too, which counts
 * instructions per event repeatably on a shared, noisy machine:
 *
 *   build/bench_engine_ingest [events] [batch] [normal|full]
 *   valgrind --tool=callgrind --separate-threads=yes build/bench_engine_ingest 20000 100
 *
 * With BENCH_WEBHOOK_URL set (e.g. an nginx answering 204 on loopback, see
 * bench/nginx_204.conf) the action is a signed `webhook` to that URL instead
 * of noop, and loopback is admitted by the egress guard: the cost of a
 * delivery per thread, without the HTTP intake.
 */
#include "base/time.h"
#include "engine/engine.h"
#include "handler/ssrf.h"
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *J(const char *s)
{
    json_t *v = json_loads(s, 0, NULL);
    if (!v)
        abort();
    return v;
}

static long succeeded(struct act_engine *e)
{
    char *text = act_engine_prometheus(e);
    const char *p = strstr(text, "status=\"succeeded\"} ");
    long n = p ? atol(p + strlen("status=\"succeeded\"} ")) : 0;
    free(text);
    return n;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    long batch = argc > 2 ? atol(argv[2]) : 100;
    int full = argc > 3 && strcmp(argv[3], "full") == 0;
    char dir[128], cmd[200];
    struct act_engine_conf conf = {.sync_full = full};
    struct act_engine *e = NULL;
    struct act_err err = {0};
    json_t *b, *out = NULL, **evs, **replies;
    int64_t t0, t1, t2;

    if (n <= 0 || batch <= 0 || batch > 1000)
        return fprintf(stderr, "usage: %s [events] [batch 1..1000] [normal|full]\n", argv[0]), 64;
    snprintf(dir, sizeof(dir), "/tmp/act-bench-ingest-%d", (int)getpid());
    conf.data_dir = dir;
    if (act_engine_open(&conf, &e, &err) < 0)
        return fprintf(stderr, "open: %s\n", err.msg), 1;
    if (getenv("BENCH_WEBHOOK_URL")) {
        if (act_ssrf_set_allow("127.0.0.0/8", &err) < 0)
            return fprintf(stderr, "egress: %s\n", err.msg), 1;
        b = json_pack("{s:s, s:{s:s, s:s}, s:{s:s}}", "name", "n", "handler", "kind", "webhook",
                      "url", getenv("BENCH_WEBHOOK_URL"), "config", "secret",
                      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    } else {
        b = J("{\"name\":\"n\",\"handler\":{\"kind\":\"noop\"}}");
    }
    if (act_engine_action_create(e, b, &out, &err) < 0)
        return fprintf(stderr, "action: %s\n", err.msg), 1;
    json_decref(b);
    b = json_pack("{s:s, s:[s]}", "action_id", json_string_value(json_object_get(out, "id")),
                  "event_patterns", "bench.*");
    json_decref(out);
    if (act_engine_sub_create(e, b, &out, &err) < 0)
        return fprintf(stderr, "subscription: %s\n", err.msg), 1;
    json_decref(b);
    json_decref(out);

    evs = calloc((size_t)batch, sizeof(*evs));
    replies = calloc((size_t)batch, sizeof(*replies));
    t0 = act_time_mono_us();
    for (long done = 0; done < n; done += batch) {
        long k = n - done < batch ? n - done : batch;
        for (long i = 0; i < k; i++) {
            json_t *raw = json_pack("{s:s, s:{s:I, s:s}}", "type", "bench.created", "data", "i",
                                    (json_int_t)(done + i), "user", "someone@example.com");
            if (act_event_normalize(raw, act_time_now_us(), &evs[i], &err) < 0)
                return fprintf(stderr, "event: %s\n", err.msg), 1;
            json_decref(raw);
        }
        if (act_engine_ingest(e, evs, (size_t)k, replies, &err) < 0)
            return fprintf(stderr, "ingest: %s\n", err.msg), 1;
        for (long i = 0; i < k; i++) {
            json_decref(evs[i]);
            json_decref(replies[i]);
        }
    }
    t1 = act_time_mono_us();
    while (succeeded(e) < n)
        usleep(1000);
    t2 = act_time_mono_us();
    printf("events=%ld batch=%ld sync=%s ingest_s=%.3f total_s=%.3f actions_per_s=%.0f\n", n, batch,
           full ? "full" : "normal", (double)(t1 - t0) / 1e6, (double)(t2 - t0) / 1e6,
           (double)n / ((double)(t2 - t0) / 1e6));
    act_engine_close(e);
    free(evs);
    free(replies);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
