/*
 * Measurements: per-action metrics (from the store, so they cover any
 * window and survive restarts) and the Prometheus text exposition (from
 * in-memory counters, cheap to scrape).
 *
 * Per-action metrics count finished attempts: `count` = succeeded + failed
 * (an attempt that failed and was retried) + dead (the last attempt of an
 * exhausted execution).  Percentiles are nearest-rank over the durations of
 * those attempts.  `per_minute` is count divided by the window in minutes;
 * for all time, the window runs from the first finished attempt to now
 * (at least one minute).
 */
#include "engine/engine_internal.h"

#include "base/alloc.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static json_t *pct(const double *v, size_t n, double p)
{
    size_t rank;
    if (!n)
        return json_null();
    rank = (size_t)ceil(p / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    return json_real(round(v[rank - 1] * 1000.0) / 1000.0);
}

int act_engine_action_metrics(struct act_engine *e, const char *id, const struct act_query *q,
                              json_t **out, struct act_err *err)
{
    int64_t counts[ACT_EXEC_N_STATUS], first = 0, window_ms = 0, now = act_time_now_us();
    double *d = NULL, sum = 0, minutes;
    size_t n = 0;
    json_t *action = NULL;
    int64_t count;
    int rc;

    *out = NULL;
    if (q && q->window && (act_duration_parse_ms(q->window, &window_ms) < 0 || window_ms <= 0))
        return act_err_field(err, ACT_EINVAL, "window",
                             "window must be a duration such as 15m, 1h or 7d");
    if ((rc = e->store->ops->action_get(e->store, id, &action, err)) < 0)
        return rc;
    json_decref(action);
    rc = e->store->ops->action_stats(e->store, id, window_ms ? now - window_ms * 1000 : 0, counts,
                                     &d, &n, &first, err);
    if (rc < 0)
        return rc;
    qsort(d, n, sizeof(*d), cmp_double);
    for (size_t i = 0; i < n; i++)
        sum += d[i];
    count = counts[ACT_EXEC_SUCCEEDED] + counts[ACT_EXEC_FAILED] + counts[ACT_EXEC_DEAD];
    if (window_ms)
        minutes = (double)window_ms / 60000.0;
    else
        minutes = first ? fmax(1.0, (double)(now - first) / 60e6) : 1.0;
    *out = json_pack("{s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:f, s:o}", "count",
                     (json_int_t)count, "succeeded", (json_int_t)counts[ACT_EXEC_SUCCEEDED],
                     "failed", (json_int_t)counts[ACT_EXEC_FAILED], "dead",
                     (json_int_t)counts[ACT_EXEC_DEAD], "success_rate",
                     count ? json_real((double)counts[ACT_EXEC_SUCCEEDED] / (double)count)
                           : json_null(),
                     "avg_ms", n ? json_real(round(sum / (double)n * 1000.0) / 1000.0) : json_null(),
                     "p50_ms", pct(d, n, 50), "p95_ms", pct(d, n, 95), "p99_ms", pct(d, n, 99),
                     "per_minute", round((double)count / minutes * 100.0) / 100.0, "window",
                     q && q->window ? json_string(q->window) : json_string("all"));
    act_free(d);
    return ACT_OK;
}

/* ---- Prometheus ---- */

struct textbuf {
    char *p;
    size_t len, cap;
};

static void tb_printf(struct textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(struct textbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (size_t)(n > 0 ? n : 0);
        b->p = act_xrealloc(b->p, b->cap);
    }
}

/* Label values escape backslash, quote and newline. */
static void label(char *dst, size_t cap, const char *s)
{
    size_t o = 0;
    for (; s && *s && o + 3 < cap; s++) {
        if (*s == '\\' || *s == '"') {
            dst[o++] = '\\';
            dst[o++] = *s;
        } else if (*s == '\n') {
            dst[o++] = '\\';
            dst[o++] = 'n';
        } else {
            dst[o++] = *s;
        }
    }
    dst[o] = '\0';
}

/* One metric family over every live action: Prometheus wants the samples
 * of a family together, after its TYPE line.  Caller holds cat_lock. */
enum family { FAM_ATTEMPTS, FAM_CREATED, FAM_DURATION };

static void family(struct act_engine *e, struct textbuf *b, enum family fam)
{
    static const char *const status[] = {"succeeded", "failed", "dead"};
    char name[300];

    for (const struct flow *f = e->all_flows; f; f = f->next) {
        long cum = 0;
        if (!f->name || !act_map_get(&e->actions, f->action_id))
            continue;
        label(name, sizeof(name), f->name);
        if (fam == FAM_ATTEMPTS) {
            long v[3] = {atomic_load(&f->n_succeeded), atomic_load(&f->n_failed),
                         atomic_load(&f->n_dead)};
            for (int i = 0; i < 3; i++)
                tb_printf(b, "actiond_action_attempts_total{action=\"%s\",status=\"%s\"} %ld\n",
                          name, status[i], v[i]);
        } else if (fam == FAM_CREATED) {
            tb_printf(b, "actiond_action_executions_created_total{action=\"%s\"} %ld\n", name,
                      atomic_load(&f->n_created));
        } else {
            for (int i = 0; i < N_DURATION_BUCKETS; i++) {
                char le[32];
                cum += atomic_load(&f->dur_buckets[i]);
                if (i < N_DURATION_BUCKETS - 1)
                    snprintf(le, sizeof(le), "%g", act_duration_bounds_ms[i] / 1000.0);
                else
                    snprintf(le, sizeof(le), "+Inf");
                tb_printf(b, "actiond_action_duration_seconds_bucket{action=\"%s\",le=\"%s\"} %ld\n",
                          name, le, cum);
            }
            tb_printf(b, "actiond_action_duration_seconds_sum{action=\"%s\"} %.6f\n", name,
                      atomic_load(&f->dur_sum_ms) / 1000.0);
            tb_printf(b, "actiond_action_duration_seconds_count{action=\"%s\"} %ld\n", name, cum);
        }
    }
}

char *act_engine_prometheus(struct act_engine *e)
{
    struct textbuf b = {act_xmalloc(4096), 0, 4096};
    long batches = atomic_load(&e->n_batches);

    tb_printf(&b, "# HELP actiond_events_received_total Events accepted (duplicates included).\n"
                  "# TYPE actiond_events_received_total counter\n"
                  "actiond_events_received_total %ld\n",
              atomic_load(&e->n_events));
    tb_printf(&b, "# TYPE actiond_events_duplicate_total counter\n"
                  "actiond_events_duplicate_total %ld\n",
              atomic_load(&e->n_duplicates));
    tb_printf(&b, "# TYPE actiond_executions_created_total counter\n"
                  "actiond_executions_created_total %ld\n",
              atomic_load(&e->n_exec_created));
    tb_printf(&b, "# TYPE actiond_executions_recovered_total counter\n"
                  "actiond_executions_recovered_total %ld\n",
              atomic_load(&e->n_recovered));
    tb_printf(&b, "# TYPE actiond_leases_expired_total counter\n"
                  "actiond_leases_expired_total %ld\n",
              atomic_load(&e->n_lease_expired));
    tb_printf(&b, "# HELP actiond_commits_total Store transactions (group commits).\n"
                  "# TYPE actiond_commits_total counter\nactiond_commits_total %ld\n",
              batches);
    tb_printf(&b, "# TYPE actiond_commit_ops_total counter\nactiond_commit_ops_total %ld\n",
              atomic_load(&e->n_batch_ops));
    tb_printf(&b, "# TYPE actiond_executions_ready gauge\nactiond_executions_ready %ld\n",
              atomic_load(&e->g_ready));
    tb_printf(&b, "# TYPE actiond_executions_delayed gauge\nactiond_executions_delayed %ld\n",
              atomic_load(&e->g_delayed));
    tb_printf(&b, "# TYPE actiond_executions_running gauge\nactiond_executions_running %ld\n",
              atomic_load(&e->g_running));
    pthread_rwlock_rdlock(&e->cat_lock);
    tb_printf(&b, "# HELP actiond_action_attempts_total Finished attempts by action and outcome.\n"
                  "# TYPE actiond_action_attempts_total counter\n");
    family(e, &b, FAM_ATTEMPTS);
    tb_printf(&b, "# TYPE actiond_action_executions_created_total counter\n");
    family(e, &b, FAM_CREATED);
    tb_printf(&b, "# HELP actiond_action_duration_seconds Handler run time of finished attempts.\n"
                  "# TYPE actiond_action_duration_seconds histogram\n");
    family(e, &b, FAM_DURATION);
    pthread_rwlock_unlock(&e->cat_lock);
    return b.p;
}
