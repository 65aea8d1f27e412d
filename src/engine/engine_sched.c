/*
 * The scheduler: which execution runs next, and what happens after.
 *
 * Everything here runs on the writer thread, inside the writer's open
 * transaction, so in-memory state and the store change together and no lock
 * is needed.  Structures:
 *  - the ready heap, ordered by priority (higher first) then by sequence
 *    (FIFO), holds executions that may run as soon as flow control allows;
 *  - the delayed heap, ordered by due time, holds retries waiting for their
 *    next_attempt_at (persisted, so they survive restarts) and executions
 *    waiting for a rate-limit token (in memory only; still `pending` in the
 *    store);
 *  - each action's flow holds a FIFO of executions blocked by
 *    max_concurrent, released one per finished execution;
 *  - the running list holds claimed executions, checked by the lease reaper.
 *
 * Claiming writes status=running with a random lease token and a deadline;
 * finishing is a compare-and-set on (id, token).  An execution whose handler
 * overran timeout_ms + lease grace is failed by the reaper (and retried by
 * policy); if the handler returns later, its CAS fails and the result is
 * dropped, so no execution is ever completed twice.
 */
#include "engine/engine_internal.h"

#include "base/alloc.h"
#include "base/json_text.h"
#include "base/log.h"

#include <math.h>
#include <string.h>

#define ACT_LOG_MODULE "sched"

const double act_duration_bounds_ms[N_DURATION_BUCKETS - 1] = {
    0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 30000};

/* ---- heaps ---- */

static bool before(const struct heap *h, const struct item *a, const struct item *b)
{
    if (h->by_due)
        return a->due_us < b->due_us || (a->due_us == b->due_us && a->seq < b->seq);
    if (a->priority != b->priority)
        return a->priority > b->priority;
    return a->seq < b->seq;
}

static void swap(struct heap *h, size_t i, size_t j)
{
    struct item *t = h->v[i];
    h->v[i] = h->v[j];
    h->v[j] = t;
    h->v[i]->heap_idx = i;
    h->v[j]->heap_idx = j;
}

void act_heap_push(struct heap *h, struct item *it)
{
    size_t i;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 256;
        h->v = act_xrealloc(h->v, h->cap * sizeof(*h->v));
    }
    i = h->n++;
    h->v[i] = it;
    it->heap_idx = i;
    while (i > 0 && before(h, h->v[i], h->v[(i - 1) / 2])) {
        swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

struct item *act_heap_peek(const struct heap *h)
{
    return h->n ? h->v[0] : NULL;
}

struct item *act_heap_pop(struct heap *h)
{
    struct item *top;
    size_t i = 0;

    if (!h->n)
        return NULL;
    top = h->v[0];
    h->v[0] = h->v[--h->n];
    h->v[0]->heap_idx = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && before(h, h->v[l], h->v[m]))
            m = l;
        if (r < h->n && before(h, h->v[r], h->v[m]))
            m = r;
        if (m == i)
            break;
        swap(h, i, m);
        i = m;
    }
    return top;
}

void act_heap_release(struct heap *h)
{
    act_free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}

/* ---- items ---- */

struct item *act_item_new(struct act_engine *e, struct action_rt *a)
{
    struct item *it = act_xcalloc(1, sizeof(*it));
    act_uuid_v7(it->id);
    it->action = act_action_rt_ref(a);
    it->attempt = 1;
    it->seq = ++e->seq;
    it->queued_at = act_time_now_us();
    return it;
}

void act_item_free(struct item *it)
{
    if (!it)
        return;
    act_action_rt_unref(it->action);
    json_decref(it->event);
    json_decref(it->input);
    act_free(it->flow_execution_id);
    act_handler_result_release(&it->res);
    act_free(it->out_text);
    act_free(it->detail_text);
    act_free(it);
}

void act_sched_add(struct act_engine *e, struct item *it)
{
    act_map_put(&e->items, it->id, it);
    it->state = ITEM_READY;
    act_heap_push(&e->ready, it);
}

void act_sched_delay(struct act_engine *e, struct item *it, int64_t due_us)
{
    it->due_us = due_us;
    it->state = ITEM_DELAYED;
    act_heap_push(&e->delayed, it);
}

int64_t act_sched_next_due(struct act_engine *e, int64_t now)
{
    struct item *it = act_heap_peek(&e->delayed);
    if (!it)
        return -1;
    return it->due_us > now ? it->due_us - now : 0;
}

/* ---- flow control ---- */

static void running_link(struct act_engine *e, struct item *it)
{
    it->run_prev = NULL;
    it->run_next = e->running_head;
    if (e->running_head)
        e->running_head->run_prev = it;
    e->running_head = it;
}

static void running_unlink(struct act_engine *e, struct item *it)
{
    if (it->run_prev)
        it->run_prev->run_next = it->run_next;
    else if (e->running_head == it)
        e->running_head = it->run_next;
    if (it->run_next)
        it->run_next->run_prev = it->run_prev;
    it->run_prev = it->run_next = NULL;
}

/* Token buckets: per_minute holds up to per_minute tokens refilled
 * continuously at per_minute/60 s; the same for per_hour.  Returns 0 when a
 * token was taken, else the microseconds until one is available. */
static int64_t take_token(struct flow *f, const struct act_action_spec *spec, int64_t now)
{
    double dt;
    int64_t wait = 0;

    if (!spec->rate_per_minute && !spec->rate_per_hour)
        return 0;
    if (!f->buckets_init) {
        f->tokens_min = (double)spec->rate_per_minute;
        f->tokens_hour = (double)spec->rate_per_hour;
        f->refill_us = now;
        f->buckets_init = true;
    }
    dt = (double)(now - f->refill_us) / 1e6;
    f->refill_us = now;
    if (spec->rate_per_minute) {
        f->tokens_min = fmin((double)spec->rate_per_minute,
                             f->tokens_min + dt * (double)spec->rate_per_minute / 60.0);
        if (f->tokens_min < 1.0)
            wait = (int64_t)ceil((1.0 - f->tokens_min) * 60e6 / (double)spec->rate_per_minute);
    }
    if (spec->rate_per_hour) {
        f->tokens_hour = fmin((double)spec->rate_per_hour,
                              f->tokens_hour + dt * (double)spec->rate_per_hour / 3600.0);
        if (f->tokens_hour < 1.0) {
            int64_t w = (int64_t)ceil((1.0 - f->tokens_hour) * 3600e6 / (double)spec->rate_per_hour);
            if (w > wait)
                wait = w;
        }
    }
    if (wait > 0)
        return wait;
    if (spec->rate_per_minute)
        f->tokens_min -= 1.0;
    if (spec->rate_per_hour)
        f->tokens_hour -= 1.0;
    return 0;
}

void act_sched_not_running(struct act_engine *e, struct item *it)
{
    struct flow *f = it->action->flow;
    struct item *b;

    running_unlink(e, it);
    f->running--;
    atomic_fetch_sub(&e->g_running, 1);
    /* Release the oldest blocked execution that was not cancelled meanwhile. */
    while ((b = f->blocked_head)) {
        f->blocked_head = b->next;
        if (!f->blocked_head)
            f->blocked_tail = NULL;
        b->next = NULL;
        if (b->state == ITEM_CANCELLED) {
            act_item_free(b);
            continue;
        }
        b->state = ITEM_READY;
        act_heap_push(&e->ready, b);
        break;
    }
}

/* Switch a queued item to the action's current version (config updates apply
 * to executions that have not started).  Returns false when the action is gone. */
static bool refresh_action(struct act_engine *e, struct item *it)
{
    struct action_rt *cur = act_catalog_action(e, it->action->id);
    if (!cur)
        return false;
    if (cur != it->action) {
        act_action_rt_unref(it->action);
        it->action = act_action_rt_ref(cur);
    }
    return true;
}

int64_t act_sched_lease_deadline(struct act_engine *e, const struct item *it, int64_t now)
{
    /* The store deadline also covers time queued for a worker. */
    return now + (it->action->spec.timeout_ms + e->conf.lease_grace_ms) * 1000 + 60 * 1000000LL;
}

/* The in-memory half of a claim. */
static void claim_mem(struct act_engine *e, struct item *it)
{
    it->token = act_engine_new_token();
    it->state = ITEM_RUNNING;
    atomic_store(&it->started_us, 0);
    it->action->flow->running++;
    atomic_fetch_add(&e->g_running, 1);
    e->inflight++;
    running_link(e, it);
}

static int claim(struct act_engine *e, struct item *it, int64_t now, struct act_err *err)
{
    int64_t token = act_engine_new_token();
    int rc = e->store->ops->exec_claim(e->store, it->id, token,
                                       act_sched_lease_deadline(e, it, now), now, err);
    if (rc < 0)
        return rc;
    claim_mem(e, it);
    it->token = token;
    return ACT_OK;
}

bool act_sched_claim_new(struct act_engine *e, struct item *it, int64_t now)
{
    const struct item *top = act_heap_peek(&e->ready);
    struct flow *f = it->action->flow;

    if (e->inflight >= e->max_inflight || (top && top->priority >= it->priority))
        return false;
    if (it->action->spec.max_concurrent && f->running >= it->action->spec.max_concurrent)
        return false;
    if (take_token(f, &it->action->spec, now) > 0)
        return false;
    claim_mem(e, it);
    it->next = NULL;
    if (e->claimed_tail)
        e->claimed_tail->next = it;
    else
        e->claimed_head = it;
    e->claimed_tail = it;
    return true;
}

void act_sched_unclaim_new(struct act_engine *e, struct item *it)
{
    struct item **pp = &e->claimed_head, *prev = NULL;

    while (*pp && *pp != it) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = it->next;
        if (e->claimed_tail == it)
            e->claimed_tail = prev;
    }
    it->next = NULL;
    running_unlink(e, it);
    it->action->flow->running--;
    atomic_fetch_sub(&e->g_running, 1);
    e->inflight--;
    it->state = ITEM_READY;
}

static void drop(struct act_engine *e, struct item *it)
{
    act_map_del(&e->items, it->id);
    act_item_free(it);
}

int act_sched_dispatch(struct act_engine *e, int64_t now, struct item **start,
                       struct act_err *err)
{
    struct item *it, *tail = e->claimed_tail;
    int rc;

    /* Executions claimed as they were created go first. */
    *start = e->claimed_head;
    e->claimed_head = e->claimed_tail = NULL;

    while ((it = act_heap_peek(&e->delayed)) && it->due_us <= now) {
        act_heap_pop(&e->delayed);
        if (it->state == ITEM_CANCELLED) {
            act_item_free(it);
            continue;
        }
        it->state = ITEM_READY;
        act_heap_push(&e->ready, it);
    }
    while (e->inflight < e->max_inflight && (it = act_heap_pop(&e->ready))) {
        struct flow *f;
        int64_t wait;

        if (it->state == ITEM_CANCELLED) {
            act_item_free(it);
            continue;
        }
        if (!refresh_action(e, it)) {
            (void)e->store->ops->exec_cancel(e->store, it->id, now, NULL);
            drop(e, it);
            continue;
        }
        f = it->action->flow;
        if (it->action->spec.max_concurrent && f->running >= it->action->spec.max_concurrent) {
            it->state = ITEM_BLOCKED;
            it->next = NULL;
            if (f->blocked_tail)
                f->blocked_tail->next = it;
            else
                f->blocked_head = it;
            f->blocked_tail = it;
            continue;
        }
        if ((wait = take_token(f, &it->action->spec, now)) > 0) {
            act_sched_delay(e, it, now + wait);
            continue;
        }
        if ((rc = claim(e, it, now, err)) < 0) {
            if (rc != ACT_ENOTFOUND)
                return rc;
            drop(e, it); /* cancelled in the store meanwhile */
            continue;
        }
        it->next = NULL;
        if (tail)
            tail->next = it;
        else
            *start = it;
        tail = it;
    }
    atomic_store(&e->g_ready, (long)e->ready.n);
    atomic_store(&e->g_delayed, (long)e->delayed.n);
    return ACT_OK;
}

/* ---- outcomes ---- */

static void record_stats(struct flow *f, int status, double ms)
{
    int b = 0;

    if (status == ACT_EXEC_SUCCEEDED) {
        atomic_fetch_add(&f->n_succeeded, 1);
        atomic_store(&f->consecutive_failures, 0);
        atomic_store(&f->last_success_us, act_time_now_us());
    } else {
        atomic_fetch_add(status == ACT_EXEC_DEAD ? &f->n_dead : &f->n_failed, 1);
        atomic_fetch_add(&f->consecutive_failures, 1);
        atomic_store(&f->last_failure_us, act_time_now_us());
    }
    while (b < N_DURATION_BUCKETS - 1 && ms > act_duration_bounds_ms[b])
        b++;
    atomic_fetch_add(&f->dur_buckets[b], 1);
    /* _Atomic double has no fetch_add: a CAS loop. */
    double old = atomic_load(&f->dur_sum_ms);
    while (!atomic_compare_exchange_weak(&f->dur_sum_ms, &old, old + ms))
        ;
}

/* Insert the next attempt of a failed execution, due after `delay_ms`. */
static int schedule_retry(struct act_engine *e, struct item *it, int64_t delay_ms, int64_t now,
                          struct act_err *err)
{
    struct item *r = act_item_new(e, it->action);
    struct act_exec_rec x = {0};
    char *input = it->input ? act_json_text(it->input, NULL) : NULL;
    int rc;

    memcpy(r->event_id, it->event_id, sizeof(r->event_id));
    memcpy(r->sub_id, it->sub_id, sizeof(r->sub_id));
    memcpy(r->root_id, it->root_id[0] ? it->root_id : it->id, sizeof(r->root_id));
    r->event = json_incref(it->event);
    r->input = json_incref(it->input);
    r->flow_execution_id = it->flow_execution_id ? act_xstrdup(it->flow_execution_id) : NULL;
    r->attempt = it->attempt + 1;
    r->priority = it->priority;
    x.id = r->id;
    x.action_id = it->action->id;
    x.event_id = it->event_id[0] ? it->event_id : NULL;
    x.subscription_id = it->sub_id[0] ? it->sub_id : NULL;
    x.parent_id = it->id;
    x.root_id = r->root_id;
    x.flow_execution_id = r->flow_execution_id;
    x.input = input;
    x.status = ACT_EXEC_SCHEDULED;
    x.attempt = r->attempt;
    x.priority = r->priority;
    x.queued_at = now;
    x.next_attempt_at = now + delay_ms * 1000;
    rc = e->store->ops->exec_insert(e->store, &x, err);
    act_free(input);
    if (rc < 0) {
        act_item_free(r);
        return rc;
    }
    atomic_fetch_add(&e->n_exec_created, 1);
    atomic_fetch_add(&it->action->flow->n_created, 1);
    act_map_put(&e->items, r->id, r);
    act_sched_delay(e, r, x.next_attempt_at);
    return ACT_OK;
}

/* Write the outcome of one attempt and decide what follows: done, a retry,
 * or the dead-letter queue.  ACT_ENOTFOUND: the lease was lost (cancelled or
 * expired), nothing written. */
static int finish_attempt(struct act_engine *e, struct item *it, bool ok, const char *error,
                          int64_t retry_after_ms, bool permanent, int64_t now,
                          struct act_err *err)
{
    const struct act_retry_policy *rp = &it->action->spec.retry;
    struct act_exec_finish f = {0};
    bool retry = !ok && !permanent && it->attempt <= rp->max_retries;
    char *out = NULL, *detail = NULL;
    int64_t started = atomic_load(&it->started_us);
    int rc;

    f.id = it->id;
    f.lease_token = it->token;
    f.status = ok ? ACT_EXEC_SUCCEEDED : retry ? ACT_EXEC_FAILED : ACT_EXEC_DEAD;
    /* complete() serialised the result on its thread; an item finished
     * another way (cancelled, lease lost, drained) has no texts. */
    if (ok && !it->out_text && it->res.output && !json_is_null(it->res.output))
        out = act_json_text(it->res.output, NULL);
    if (!it->detail_text && it->res.error_detail)
        detail = act_json_text(it->res.error_detail, NULL);
    f.output = it->out_text && ok ? it->out_text : out ? out : ok ? "null" : NULL;
    f.error = ok ? NULL : error;
    f.error_detail = it->detail_text ? it->detail_text : detail;
    f.started_at = started;
    f.finished_at = it->finished_us ? it->finished_us : now;
    rc = e->store->ops->exec_finish(e->store, &f, err);
    act_free(out);
    act_free(detail);
    if (rc < 0)
        return rc;
    if (retry) {
        int64_t delay = retry_after_ms >= 0 ? retry_after_ms
                                            : act_retry_delay_ms(rp, it->attempt, act_rand64());
        rc = schedule_retry(e, it, delay, now, err);
    } else if (!ok) {
        rc = e->store->ops->dead_insert(e->store, it->id, it->action->id,
                                        permanent ? "permanent failure" : "retries exhausted", now,
                                        err);
        /* A handler may ask for its action to stop (a receiver that is Gone). */
        if (rc == ACT_OK && permanent &&
            json_is_true(json_object_get(it->res.error_detail, "disable"))) {
            char why[300];
            snprintf(why, sizeof(why), "disabled after execution %s: %s", it->id, error);
            rc = act_catalog_disable(e, it->action, why, err);
        }
    }
    if (rc < 0)
        return rc;
    record_stats(it->action->flow, f.status,
                 started ? (double)(f.finished_at - started) / 1000.0 : 0.0);
    return ACT_OK;
}

int act_sched_complete(struct act_engine *e, struct item *it, struct act_err *err)
{
    int64_t now = act_time_now_us();
    int rc;

    e->inflight--;
    if (it->state == ITEM_ABANDONED) { /* the reaper settled it already */
        act_item_free(it);
        return ACT_OK;
    }
    if (it->released) { /* drained before it started: back to pending */
        rc = e->store->ops->exec_release(e->store, it->id, err);
        act_sched_not_running(e, it);
        drop(e, it);
        return rc;
    }
    rc = finish_attempt(e, it, it->rc == ACT_OK, it->res.error[0] ? it->res.error : "failed",
                        it->res.retry_after_ms, it->res.permanent, now, err);
    if (rc == ACT_ENOTFOUND) /* cancelled while running: result dropped */
        rc = ACT_OK;
    act_sched_not_running(e, it);
    drop(e, it);
    return rc;
}

int act_sched_reap(struct act_engine *e, int64_t now, struct act_err *err)
{
    struct item *it, *next;
    char msg[160];
    int rc;

    for (it = e->running_head; it; it = next) {
        int64_t started = atomic_load(&it->started_us);
        int64_t limit = (it->action->spec.timeout_ms + e->conf.lease_grace_ms) * 1000;
        next = it->run_next;
        if (!started || now - started < limit)
            continue;
        snprintf(msg, sizeof(msg), "lease expired: handler still running %lld ms after start",
                 (long long)((now - started) / 1000));
        act_log_warn("execution %s of action '%s': %s", it->id, it->action->name, msg);
        rc = finish_attempt(e, it, false, msg, -1, false, now, err);
        if (rc < 0 && rc != ACT_ENOTFOUND)
            return rc;
        atomic_fetch_add(&e->n_lease_expired, 1);
        act_sched_not_running(e, it);
        act_map_del(&e->items, it->id);
        it->state = ITEM_ABANDONED; /* freed when the worker gives it back */
    }
    return ACT_OK;
}
