/*
 * Executions and dead letters: reading them, creating them by hand (manual
 * execute, replay), cancelling them, waiting for them, and resuming them
 * after a restart.
 *
 * Recovery runs once at open, before any thread starts: every execution not
 * final is put back in the scheduler.  `running` rows belong to a process
 * that died (the data directory lock guarantees it was not a live one), so
 * their lease is dropped and they run again: at-least-once, with the same
 * execution id for receivers to de-duplicate.  `scheduled` rows keep their
 * next_attempt_at.
 *
 * A replay is a new execution whose parent_id is the dead one; it starts a
 * fresh retry budget (attempt 1), and the dead letter records who replayed it.
 */
#include "engine/engine_internal.h"

#include "base/alloc.h"
#include "base/json_text.h"
#include "base/log.h"

#include <string.h>

#define ACT_LOG_MODULE "exec"

void act_engine_notify_done(struct act_engine *e)
{
    pthread_mutex_lock(&e->done_lock);
    e->done_gen++;
    pthread_cond_broadcast(&e->done_cond);
    pthread_mutex_unlock(&e->done_lock);
}

/* ---- recovery ---- */

struct recover_ctx {
    struct act_engine *e;
    json_t *event;                    /* last loaded event (rows come in id order) */
    char event_id[ACT_UUID_LEN + 1];
    size_t n_ready, n_scheduled, n_running, n_orphans;
    struct act_err *err;
};

static int recover_row(const struct act_exec_row *r, void *ud)
{
    struct recover_ctx *c = ud;
    struct act_engine *e = c->e;
    struct action_rt *a = act_catalog_action(e, r->action_id);
    struct item *it;

    if (!a) { /* its action was deleted: nothing can run it */
        c->n_orphans++;
        return e->store->ops->exec_cancel(e->store, r->id, act_time_now_us(), c->err) == ACT_EIO
                   ? ACT_EIO
                   : ACT_OK;
    }
    if (r->event_id[0] && strcmp(r->event_id, c->event_id) != 0) {
        json_decref(c->event);
        c->event = NULL;
        snprintf(c->event_id, sizeof(c->event_id), "%s", r->event_id);
        if (e->store->ops->event_get(e->store, r->event_id, &c->event, NULL, NULL) < 0)
            act_log_warn("execution %s: its event %s is missing", r->id, r->event_id);
    }
    it = act_xcalloc(1, sizeof(*it));
    snprintf(it->id, sizeof(it->id), "%s", r->id);
    snprintf(it->event_id, sizeof(it->event_id), "%s", r->event_id);
    snprintf(it->sub_id, sizeof(it->sub_id), "%s", r->subscription_id);
    snprintf(it->root_id, sizeof(it->root_id), "%s", r->root_id);
    it->action = act_action_rt_ref(a);
    it->event = r->event_id[0] ? json_incref(c->event) : NULL;
    it->input = r->input ? json_loads(r->input, JSON_DECODE_ANY, NULL) : NULL;
    it->flow_execution_id = r->flow_execution_id ? act_xstrdup(r->flow_execution_id) : NULL;
    it->attempt = r->attempt;
    it->priority = r->priority;
    it->seq = ++e->seq;
    it->queued_at = r->queued_at;
    if (r->status == ACT_EXEC_RUNNING) {
        int rc = e->store->ops->exec_release(e->store, r->id, c->err);
        if (rc < 0) {
            act_item_free(it);
            return rc;
        }
        c->n_running++;
        atomic_fetch_add(&e->n_recovered, 1);
    }
    if (r->status == ACT_EXEC_SCHEDULED && r->next_attempt_at > 0) {
        act_map_put(&e->items, it->id, it);
        act_sched_delay(e, it, r->next_attempt_at);
        c->n_scheduled++;
    } else {
        act_sched_add(e, it);
        c->n_ready++;
    }
    return ACT_OK;
}

int act_engine_recover(struct act_engine *e, struct act_err *err)
{
    struct recover_ctx c = {.e = e, .err = err};
    int rc;

    if ((rc = e->store->ops->begin(e->store, err)) < 0)
        return rc;
    rc = e->store->ops->execs_load_active(e->store, recover_row, &c, err);
    json_decref(c.event);
    if (rc < 0) {
        e->store->ops->rollback(e->store);
        return rc;
    }
    if ((rc = e->store->ops->commit(e->store, err)) < 0)
        return rc;
    if (c.n_ready + c.n_scheduled + c.n_running + c.n_orphans)
        act_log_info("recovered %zu pending, %zu scheduled, %zu interrupted executions"
                     " (%zu of deleted actions cancelled)",
                     c.n_ready, c.n_scheduled, c.n_running, c.n_orphans);
    return ACT_OK;
}

/* ---- reading ---- */

int act_engine_exec_get(struct act_engine *e, const char *id, json_t **out, struct act_err *err)
{
    return e->store->ops->exec_get(e->store, id, out, err);
}

int act_engine_exec_list(struct act_engine *e, const struct act_query *q, json_t **out,
                         struct act_err *err)
{
    return act_engine_list(e, e->store->ops->exec_list, q, NULL, out, err);
}

int act_engine_dead_get(struct act_engine *e, const char *id, json_t **out, struct act_err *err)
{
    return e->store->ops->dead_get(e->store, id, out, err);
}

int act_engine_dead_list(struct act_engine *e, const struct act_query *q, json_t **out,
                         struct act_err *err)
{
    return act_engine_list(e, e->store->ops->dead_list, q, NULL, out, err);
}

/* The last attempt of the chain through `id`, and whether it is final. */
static int chain_tail(struct act_engine *e, const char *id, json_t **last, bool *final,
                      struct act_err *err)
{
    json_t *lineage = NULL, *tail;
    int rc = e->store->ops->exec_lineage(e->store, id, &lineage, err);
    if (rc < 0)
        return rc;
    tail = json_array_get(lineage, json_array_size(lineage) - 1);
    if (!tail) {
        json_decref(lineage);
        return act_err_set(err, ACT_ENOTFOUND, "execution '%s' not found", id);
    }
    rc = act_engine_exec_get(e, json_string_value(json_object_get(tail, "id")), last, err);
    json_decref(lineage);
    if (rc < 0)
        return rc;
    *final = act_exec_status_final(act_exec_status_parse(
        json_string_value(json_object_get(*last, "status"))));
    return ACT_OK;
}

int act_engine_exec_wait(struct act_engine *e, const char *id, int64_t timeout_ms, json_t **out,
                         struct act_err *err)
{
    int64_t deadline = act_time_mono_us() + timeout_ms * 1000;
    bool final = false;
    int rc;

    *out = NULL;
    for (;;) {
        uint64_t gen;
        struct timespec ts;

        pthread_mutex_lock(&e->done_lock);
        gen = e->done_gen;
        pthread_mutex_unlock(&e->done_lock);
        json_decref(*out);
        *out = NULL;
        if ((rc = chain_tail(e, id, out, &final, err)) < 0)
            return rc;
        if (final)
            return ACT_OK;
        if (act_time_mono_us() >= deadline)
            return act_err_set(err, ACT_ETIMEDOUT, "execution '%s' is still %s", id,
                               json_string_value(json_object_get(*out, "status")));
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000; /* re-check at least every 20 ms (retries are timers) */
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&e->done_lock);
        if (e->done_gen == gen)
            pthread_cond_timedwait(&e->done_cond, &e->done_lock, &ts);
        pthread_mutex_unlock(&e->done_lock);
    }
}

int act_engine_exec_wait_attempt(struct act_engine *e, const char *id, int64_t timeout_ms,
                                 json_t **out, struct act_err *err)
{
    int64_t deadline = act_time_mono_us() + timeout_ms * 1000;
    int rc;

    *out = NULL;
    for (;;) {
        uint64_t gen;
        struct timespec ts;
        int status;

        pthread_mutex_lock(&e->done_lock);
        gen = e->done_gen;
        pthread_mutex_unlock(&e->done_lock);
        /* Poll the status alone; read the whole execution once it is due. */
        if ((rc = e->store->ops->exec_status(e->store, id, &status, err)) < 0)
            return rc;
        if (status >= ACT_EXEC_SUCCEEDED || act_time_mono_us() >= deadline) {
            if ((rc = act_engine_exec_get(e, id, out, err)) < 0)
                return rc;
            if (status >= ACT_EXEC_SUCCEEDED)
                return ACT_OK;
            return act_err_set(err, ACT_ETIMEDOUT, "execution '%s' is still %s", id,
                               act_exec_status_name(status));
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&e->done_lock);
        if (e->done_gen == gen)
            pthread_cond_timedwait(&e->done_cond, &e->done_lock, &ts);
        pthread_mutex_unlock(&e->done_lock);
    }
}

/* ---- cancel ---- */

static int cancel_fn(struct act_engine *e, void *arg, struct act_err *err)
{
    return e->store->ops->exec_cancel(e->store, (const char *)arg, act_time_now_us(), err);
}

static void cancel_after(struct act_engine *e, void *arg)
{
    struct item *it = act_map_get(&e->items, (const char *)arg);
    if (!it)
        return;
    if (it->state == ITEM_RUNNING) {
        it->cancel_requested = true; /* its completion will fail the CAS */
        return;
    }
    act_map_del(&e->items, it->id);
    it->state = ITEM_CANCELLED; /* freed when its heap or list reaches it */
}

int act_engine_exec_cancel(struct act_engine *e, const char *id, json_t **out,
                           struct act_err *err)
{
    char buf[ACT_UUID_LEN + 1];
    int rc;

    *out = NULL;
    if (!act_uuid_valid(id))
        return act_err_set(err, ACT_ENOTFOUND, "execution '%s' not found", id);
    snprintf(buf, sizeof(buf), "%s", id);
    if ((rc = act_engine_run_fn(e, cancel_fn, cancel_after, buf, err)) < 0)
        return rc;
    return act_engine_exec_get(e, id, out, err);
}

/* ---- new executions by hand: manual execute and replay ---- */

struct new_exec {
    const char *action_id;
    json_t *input;                    /* ref */
    json_t *event;                    /* ref or NULL */
    const char *event_id, *sub_id, *parent_id, *flow_execution_id;
    const char *replay_of;            /* dead letter to mark */
    struct item *it;                  /* owned by the scheduler after commit */
    char id[ACT_UUID_LEN + 1];        /* copy: the item may be gone by the time we answer */
};

static int new_exec_fn(struct act_engine *e, void *arg, struct act_err *err)
{
    struct new_exec *n = arg;
    struct action_rt *a = act_catalog_action(e, n->action_id);
    struct act_exec_rec x = {0};
    char *input;
    int rc;

    if (!a)
        return act_err_set(err, ACT_ENOTFOUND, "action '%s' not found", n->action_id);
    n->it = act_item_new(e, a);
    memcpy(n->id, n->it->id, sizeof(n->id));
    n->it->input = json_incref(n->input);
    n->it->event = json_incref(n->event);
    if (n->event_id)
        snprintf(n->it->event_id, sizeof(n->it->event_id), "%s", n->event_id);
    if (n->sub_id)
        snprintf(n->it->sub_id, sizeof(n->it->sub_id), "%s", n->sub_id);
    n->it->flow_execution_id = n->flow_execution_id ? act_xstrdup(n->flow_execution_id) : NULL;
    n->it->priority = a->spec.priority;
    input = act_json_text(n->input, NULL);
    x.id = n->it->id;
    x.action_id = a->id;
    x.event_id = n->event_id;
    x.subscription_id = n->sub_id;
    x.parent_id = n->parent_id;
    x.flow_execution_id = n->flow_execution_id;
    x.input = input;
    x.status = ACT_EXEC_PENDING;
    x.attempt = 1;
    x.priority = n->it->priority;
    x.queued_at = n->it->queued_at;
    rc = e->store->ops->exec_insert(e->store, &x, err);
    act_free(input);
    if (rc == ACT_OK && n->replay_of)
        rc = e->store->ops->dead_mark_replayed(e->store, n->replay_of, n->it->id, err);
    if (rc < 0) {
        act_item_free(n->it);
        n->it = NULL;
    }
    return rc;
}

static void new_exec_after(struct act_engine *e, void *arg)
{
    struct new_exec *n = arg;
    atomic_fetch_add(&n->it->action->flow->n_created, 1);
    atomic_fetch_add(&e->n_exec_created, 1);
    act_sched_add(e, n->it);
}

static int run_new_exec(struct act_engine *e, struct new_exec *n, json_t **out,
                        struct act_err *err)
{
    int rc = act_engine_run_fn(e, new_exec_fn, new_exec_after, n, err);
    if (rc == ACT_OK)
        *out = json_pack("{s:s}", "execution_id", n->id);
    return rc;
}

int act_engine_action_execute(struct act_engine *e, const char *id, const json_t *input,
                              json_t **out, struct act_err *err)
{
    return act_engine_action_execute_flow(e, id, input, NULL, out, err);
}

int act_engine_action_execute_flow(struct act_engine *e, const char *id, const json_t *input,
                                   const char *flow_execution_id, json_t **out,
                                   struct act_err *err)
{
    struct new_exec n = {0};
    int rc;

    *out = NULL;
    if (input && !json_is_object(input))
        return act_err_field(err, ACT_EINVAL, "input", "input must be an object");
    if (flow_execution_id && strlen(flow_execution_id) > 256)
        return act_err_field(err, ACT_EINVAL, "flow_execution_id",
                             "flow_execution_id is longer than 256 characters");
    n.action_id = id;
    n.flow_execution_id = flow_execution_id;
    n.input = input ? json_incref((json_t *)input) : json_object();
    rc = run_new_exec(e, &n, out, err);
    json_decref(n.input);
    return rc;
}

/* Describe the replay of one dead letter (strings borrowed from `dead`);
 * `input` NULL keeps the original input. */
static void replay_prepare(struct act_engine *e, const json_t *dead, const json_t *input,
                           struct new_exec *n)
{
    const json_t *x = json_object_get(dead, "execution");

    memset(n, 0, sizeof(*n));
    n->action_id = json_string_value(json_object_get(x, "action_id"));
    n->parent_id = json_string_value(json_object_get(x, "id"));
    n->replay_of = n->parent_id;
    n->event_id = json_string_value(json_object_get(x, "event_id"));
    n->sub_id = json_string_value(json_object_get(x, "subscription_id"));
    n->flow_execution_id = json_string_value(json_object_get(x, "flow_execution_id"));
    n->input = json_incref((json_t *)(input ? input : json_object_get(x, "input")));
    if (n->event_id)
        (void)e->store->ops->event_get(e->store, n->event_id, &n->event, NULL, NULL);
}

static void replay_release(struct new_exec *n)
{
    json_decref(n->input);
    json_decref(n->event);
}

static int replay_one(struct act_engine *e, const json_t *dead, const json_t *input, json_t **out,
                      struct act_err *err)
{
    struct new_exec n;
    int rc;

    replay_prepare(e, dead, input, &n);
    rc = run_new_exec(e, &n, out, err);
    replay_release(&n);
    return rc;
}

/* Many replays in one transaction: all or none. */
struct new_exec_batch {
    struct new_exec *v;
    size_t n;
};

static int batch_fn(struct act_engine *e, void *arg, struct act_err *err)
{
    struct new_exec_batch *b = arg;
    for (size_t i = 0; i < b->n; i++) {
        int rc = new_exec_fn(e, &b->v[i], err);
        if (rc < 0) {
            for (size_t j = 0; j < i; j++) { /* not scheduled yet: just free */
                act_item_free(b->v[j].it);
                b->v[j].it = NULL;
            }
            return rc;
        }
    }
    return ACT_OK;
}

static void batch_after(struct act_engine *e, void *arg)
{
    struct new_exec_batch *b = arg;
    for (size_t i = 0; i < b->n; i++)
        new_exec_after(e, &b->v[i]);
}

int act_engine_dead_replay(struct act_engine *e, const char *id, const json_t *input, json_t **out,
                           struct act_err *err)
{
    json_t *dead = NULL;
    int rc;

    *out = NULL;
    if (input && !json_is_object(input))
        return act_err_field(err, ACT_EINVAL, "input", "input must be an object");
    if ((rc = e->store->ops->dead_get(e->store, id, &dead, err)) < 0)
        return rc;
    rc = replay_one(e, dead, input, out, err);
    json_decref(dead);
    return rc;
}

#define BULK_REPLAY_MAX 1000

int act_engine_dead_replay_bulk(struct act_engine *e, const json_t *filter, json_t **out,
                                struct act_err *err)
{
    struct act_query q = {0};
    struct act_store_filter f;
    json_t *items = NULL, *d;
    const char *k;
    json_t *v;
    size_t i, n = 0;
    int rc;

    *out = NULL;
    if (filter && !json_is_object(filter))
        return act_err_set(err, ACT_EINVAL, "the body must be an object");
    json_object_foreach((json_t *)filter, k, v)
    {
        if (strcmp(k, "action_id") && strcmp(k, "since") && strcmp(k, "until"))
            return act_err_field(err, ACT_EINVAL, k, "unknown member '%s'", k);
        if (!json_is_string(v))
            return act_err_field(err, ACT_EINVAL, k, "%s must be a string", k);
    }
    q.action_id = json_string_value(json_object_get(filter, "action_id"));
    q.since = json_string_value(json_object_get(filter, "since"));
    q.until = json_string_value(json_object_get(filter, "until"));
    if ((rc = act_query_filter(&q, &f, err)) < 0)
        return rc;
    f.limit = BULK_REPLAY_MAX;
    f.unreplayed = true;
    if ((rc = e->store->ops->dead_list(e->store, &f, &items, err)) < 0)
        return rc;
    {
        struct new_exec_batch b = {act_xcalloc(json_array_size(items) + 1, sizeof(*b.v)), 0};
        json_array_foreach(items, i, d)
        {
            if (i >= BULK_REPLAY_MAX)
                break;
            replay_prepare(e, d, NULL, &b.v[b.n++]);
        }
        rc = b.n ? act_engine_run_fn(e, batch_fn, batch_after, &b, err) : ACT_OK;
        n = rc == ACT_OK ? b.n : 0;
        for (size_t j = 0; j < b.n; j++)
            replay_release(&b.v[j]);
        act_free(b.v);
    }
    json_decref(items);
    if (rc < 0)
        return rc;
    *out = json_pack("{s:I}", "replayed", (json_int_t)n);
    return ACT_OK;
}
