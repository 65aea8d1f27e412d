/*
 * The writer thread: group commit.
 *
 * Every change to the store goes through here as an `op`: ingests and
 * catalog changes from API threads (which wait for the answer), and
 * completions from workers (which do not wait).  Each loop turn takes every
 * queued op, opens one transaction, applies each op under its own savepoint
 * (so a failing op is undone alone), expires overdue leases, claims runnable
 * executions, commits once, and only then answers the waiters and hands the
 * claimed executions to the workers.  Under load a turn carries hundreds of
 * ops, so they share one fsync; when idle a single event costs one commit.
 *
 * A failed COMMIT leaves the engine unable to tell what is durable: it marks
 * itself broken (readyz 503, no more intake), answers every waiter of that
 * batch with an error (nothing in it was acknowledged), and a restart
 * recovers from the store.
 */
#include "engine/engine_internal.h"

#include "base/alloc.h"
#include "base/log.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define ACT_LOG_MODULE "writer"

#define REAP_INTERVAL_US 100000

/* Append under wlock; false when the writer takes no more work. */
static bool enqueue_locked(struct act_engine *e, struct op *op)
{
    if (e->stopping || e->broken || !e->writer_running)
        return false;
    op->next = NULL;
    op->done = false;
    if (e->ops_tail)
        e->ops_tail->next = op;
    else
        e->ops_head = op;
    e->ops_tail = op;
    pthread_cond_signal(&e->wcond);
    return true;
}

int act_engine_submit_notify(struct act_engine *e, struct op *op, struct act_err *err)
{
    bool ok;
    pthread_mutex_lock(&e->wlock);
    ok = enqueue_locked(e, op);
    pthread_mutex_unlock(&e->wlock);
    if (!ok)
        return act_err_set(err, ACT_EBUSY, "engine is %s",
                           e->broken ? "stopped after a store failure" : "shutting down");
    return ACT_OK;
}

int act_engine_submit(struct act_engine *e, struct op *op, struct act_err *err)
{
    pthread_mutex_lock(&e->wlock);
    if (!enqueue_locked(e, op)) {
        pthread_mutex_unlock(&e->wlock);
        return act_err_set(err, ACT_EBUSY, "engine is %s",
                           e->broken ? "stopped after a store failure" : "shutting down");
    }
    while (!op->done)
        pthread_cond_wait(&e->op_done, &e->wlock);
    pthread_mutex_unlock(&e->wlock);
    if (op->rc < 0 && err)
        *err = op->err;
    return op->rc;
}

void act_engine_submit_async(struct act_engine *e, struct op *op)
{
    pthread_mutex_lock(&e->wlock);
    op->next = NULL;
    if (e->ops_tail)
        e->ops_tail->next = op;
    else
        e->ops_head = op;
    e->ops_tail = op;
    pthread_cond_signal(&e->wcond);
    pthread_mutex_unlock(&e->wlock);
}

int act_engine_run_fn(struct act_engine *e, op_fn *fn, op_after_fn *after, void *arg,
                      struct act_err *err)
{
    struct op op;
    memset(&op, 0, sizeof(op));
    op.kind = OP_FN;
    op.u.fn.fn = fn;
    op.u.fn.after = after;
    op.u.fn.arg = arg;
    return act_engine_submit(e, &op, err);
}

/* ---- ingest ---- */

/* Undo the items of a failed ingest op, linked through `ilink` (`next`
 * already links claimed items for the workers). */
static void free_items(struct act_engine *e, struct item *list)
{
    while (list) {
        struct item *next = list->ilink;
        if (list->state == ITEM_RUNNING)
            act_sched_unclaim_new(e, list);
        act_item_free(list);
        list = next;
    }
}

static int ingest_one(struct act_engine *e, struct ingest_event *ev, int64_t now,
                      struct item **items, struct act_err *err)
{
    char dup_id[40];
    int rc;

    rc = e->store->ops->event_insert(e->store, ev->event_id, ev->event, ev->text, ev->client_id,
                                     now, dup_id, &ev->dup_execs, err);
    if (rc == ACT_ECONFLICT) {
        memcpy(ev->event_id, dup_id, sizeof(ev->event_id) - 1);
        ev->event_id[sizeof(ev->event_id) - 1] = 0;
        ev->duplicate = true;
        atomic_fetch_add(&e->n_duplicates, 1);
        return ACT_OK;
    }
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < ev->n_hits; i++) {
        struct ingest_hit *h = &ev->hits[i];
        struct act_exec_rec x = {0};
        struct item *it;

        h->exec_id[0] = '\0';
        if (h->action->deleted)
            continue;
        it = act_item_new(e, h->action);
        memcpy(it->event_id, ev->event_id, sizeof(it->event_id));
        memcpy(it->sub_id, h->sub_id, sizeof(it->sub_id));
        it->event = json_incref(ev->event);
        it->priority = h->action->spec.priority + h->priority;
        it->queued_at = now;
        x.id = it->id;
        x.action_id = h->action->id;
        x.event_id = ev->event_id;
        x.subscription_id = h->sub_id;
        x.status = ACT_EXEC_PENDING;
        x.attempt = 1;
        x.priority = it->priority;
        x.queued_at = now;
        if (!e->stopping && act_sched_claim_new(e, it, now)) {
            /* Runs right after this commit: write it as running already. */
            x.status = ACT_EXEC_RUNNING;
            x.lease_token = it->token;
            x.lease_deadline = act_sched_lease_deadline(e, it, now);
            x.started_at = now;
        }
        if ((rc = e->store->ops->exec_insert(e->store, &x, err)) < 0) {
            if (it->state == ITEM_RUNNING)
                act_sched_unclaim_new(e, it);
            act_item_free(it);
            return rc;
        }
        memcpy(h->exec_id, it->id, sizeof(h->exec_id));
        it->ilink = *items;
        *items = it;
    }
    return ACT_OK;
}

static int apply_ingest(struct act_engine *e, struct op *op, struct act_err *err)
{
    int64_t now = act_time_now_us();
    struct item *items = NULL, *rev = NULL;
    int rc;

    for (size_t i = 0; i < op->u.ingest.n; i++) {
        if ((rc = ingest_one(e, &op->u.ingest.evs[i], now, &items, err)) < 0) {
            for (size_t j = 0; j <= i; j++) {
                json_decref(op->u.ingest.evs[j].dup_execs);
                op->u.ingest.evs[j].dup_execs = NULL;
            }
            free_items(e, items);
            return rc;
        }
    }
    /* items was built newest first: restore creation order for FIFO. */
    while (items) {
        struct item *next = items->ilink;
        items->ilink = rev;
        rev = items;
        items = next;
    }
    while (rev) {
        struct item *next = rev->ilink;
        rev->ilink = NULL;
        atomic_fetch_add(&rev->action->flow->n_created, 1);
        atomic_fetch_add(&e->n_exec_created, 1);
        if (rev->state == ITEM_RUNNING) /* claimed at creation: starts after commit */
            act_map_put(&e->items, rev->id, rev);
        else
            act_sched_add(e, rev);
        rev = next;
    }
    atomic_fetch_add(&e->n_events, (long)op->u.ingest.n);
    return ACT_OK;
}

/* ---- the loop ---- */

static void apply_op(struct act_engine *e, struct op *op)
{
    struct act_store *st = e->store;

    if (op->kind == OP_COMPLETE) {
        /* No savepoint: a completion writes nothing that can fail alone.
         * The op lives inside the item, which this call frees: only locals. */
        struct act_err err = {0};
        if (act_sched_complete(e, op->u.complete, &err) < 0)
            act_log_error("recording a completion failed: %s", err.msg);
        return;
    }
    act_err_clear(&op->err);
    if (st->ops->savepoint(st) < 0) {
        op->rc = act_err_set(&op->err, ACT_EIO, "store: savepoint failed");
        return;
    }
    if (op->kind == OP_INGEST)
        op->rc = apply_ingest(e, op, &op->err);
    else
        op->rc = op->u.fn.fn(e, op->u.fn.arg, &op->err);
    if (op->rc < 0)
        st->ops->rollback_to(st);
    else
        st->ops->release(st);
}

/* Answer the waiters of a batch.  `waiters` holds the ops someone waits
 * for (never COMPLETE ops: those live in items freed while applying). */
static void finish_batch(struct act_engine *e, struct op *waiters, bool committed,
                         bool any_complete)
{
    struct op *op, *next;

    for (op = waiters; op; op = op->next)
        if (committed && op->kind == OP_FN && op->rc == ACT_OK && op->u.fn.after)
            op->u.fn.after(e, op->u.fn.arg);
    struct op *async = NULL;

    pthread_mutex_lock(&e->wlock);
    for (op = waiters; op; op = next) {
        next = op->next; /* a sync waiter may return as soon as done is set */
        if (!committed && op->rc == ACT_OK)
            op->rc = act_err_set(&op->err, ACT_EIO, "store: commit failed");
        if (op->notify) {
            op->next = async;
            async = op;
        } else {
            op->done = true;
        }
    }
    pthread_cond_broadcast(&e->op_done);
    pthread_mutex_unlock(&e->wlock);
    /* Async ops are notified outside the lock (the callback resumes an HTTP
     * connection); an op may be freed as soon as its callback ran. */
    for (op = async; op; op = next) {
        next = op->next;
        op->done = true;
        op->notify(op->notify_ud);
    }
    if (any_complete)
        act_engine_notify_done(e);
}

static bool dispatch_possible(struct act_engine *e, int64_t now)
{
    struct item *d = act_heap_peek(&e->delayed);
    if (e->stopping)
        return false;
    return (e->ready.n && e->inflight < e->max_inflight) || (d && d->due_us <= now);
}

static void process_batch(struct act_engine *e, struct op *batch, bool stopping)
{
    struct act_store *st = e->store;
    struct act_err err = {0};
    struct item *start = NULL;
    int64_t now = act_time_now_us(), mono = act_time_mono_us();
    bool reap = mono - e->last_reap_mono >= REAP_INTERVAL_US && e->running_head;
    bool any_complete = false;
    size_t n_ops = 0;
    struct op *op, *next, *waiters = NULL, **wtail = &waiters;

    if (!batch && !reap && (stopping || !dispatch_possible(e, now)))
        return;
    if (st->ops->begin(st, &err) < 0)
        goto broken;
    for (op = batch; op; op = next) {
        next = op->next; /* read first: applying a COMPLETE op frees it */
        if (op->kind == OP_COMPLETE) {
            any_complete = true;
        } else {
            *wtail = op;
            wtail = &op->next;
        }
        apply_op(e, op);
        n_ops++;
    }
    *wtail = NULL;
    if (reap) {
        e->last_reap_mono = mono;
        if (act_sched_reap(e, now, &err) < 0)
            act_log_error("lease reaper: %s", err.msg);
    }
    if (!stopping && act_sched_dispatch(e, now, &start, &err) < 0)
        act_log_error("dispatch: %s", err.msg);
    if (st->ops->commit(st, &err) < 0)
        goto broken;
    atomic_fetch_add(&e->n_batches, 1);
    atomic_fetch_add(&e->n_batch_ops, (long)n_ops);
    finish_batch(e, waiters, true, any_complete);
    act_workers_push(e, start);
    return;
broken:
    act_log_error("store failure, engine stops taking work: %s", err.msg);
    st->ops->rollback(st);
    pthread_mutex_lock(&e->wlock);
    e->broken = true;
    pthread_mutex_unlock(&e->wlock);
    if (!waiters) /* begin failed: nothing applied yet */
        for (op = batch; op; op = next) {
            next = op->next;
            if (op->kind != OP_COMPLETE) {
                *wtail = op;
                wtail = &op->next;
            }
        }
    *wtail = NULL;
    finish_batch(e, waiters, false, false);
}

static void wait_for_work(struct act_engine *e, int64_t now)
{
    int64_t wait_us = 50000; /* wake regularly for the lease reaper */
    int64_t due = act_sched_next_due(e, now);
    struct timespec ts;
    int64_t until;

    if (due >= 0 && due < wait_us)
        wait_us = due;
    if (wait_us <= 0)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    until = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 + wait_us;
    ts.tv_sec = until / 1000000;
    ts.tv_nsec = (until % 1000000) * 1000;
    pthread_cond_timedwait(&e->wcond, &e->wlock, &ts);
}

static void *writer_main(void *arg)
{
    struct act_engine *e = arg;
    int64_t drain_deadline = 0;

    pthread_setname_np(pthread_self(), "act-writer"); /* top -H, perf */
    for (;;) {
        struct op *batch;
        bool stopping;

        pthread_mutex_lock(&e->wlock);
        if (!e->ops_head && !e->stopping && !e->broken &&
            !dispatch_possible(e, act_time_now_us()))
            wait_for_work(e, act_time_now_us());
        batch = e->ops_head;
        e->ops_head = e->ops_tail = NULL;
        stopping = e->stopping;
        pthread_mutex_unlock(&e->wlock);

        if (e->broken) {
            struct op *w = NULL, **wt = &w, *next;
            for (struct op *op = batch; op; op = next) {
                next = op->next;
                if (op->kind == OP_COMPLETE) {
                    act_item_free(op->u.complete); /* unrecorded: recovered at restart */
                } else {
                    *wt = op;
                    wt = &op->next;
                }
            }
            *wt = NULL;
            finish_batch(e, w, false, false);
            if (stopping)
                break;
            continue;
        }
        process_batch(e, batch, stopping);
        if (stopping) {
            if (!drain_deadline)
                drain_deadline = act_time_mono_us() + e->conf.drain_timeout_ms * 1000;
            if (e->inflight == 0 || act_time_mono_us() > drain_deadline)
                break;
            if (!batch) {
                pthread_mutex_lock(&e->wlock);
                if (!e->ops_head)
                    wait_for_work(e, act_time_now_us());
                pthread_mutex_unlock(&e->wlock);
            }
        }
    }
    pthread_mutex_lock(&e->wlock);
    e->writer_running = false;
    /* Anything still queued (late completions) stays unrecorded: those rows
     * are still `running` in the store and are recovered on the next open. */
    struct op *rest = e->ops_head;
    e->ops_head = e->ops_tail = NULL;
    pthread_mutex_unlock(&e->wlock);
    for (struct op *op = rest, *next; op; op = next) {
        next = op->next;
        if (op->kind == OP_COMPLETE) {
            act_item_free(op->u.complete);
        } else {
            op->rc = act_err_set(&op->err, ACT_EBUSY, "engine is shutting down");
            if (op->notify) {
                op->done = true;
                op->notify(op->notify_ud);
                continue;
            }
            pthread_mutex_lock(&e->wlock);
            op->done = true;
            pthread_cond_broadcast(&e->op_done);
            pthread_mutex_unlock(&e->wlock);
        }
    }
    if (e->inflight)
        act_log_warn("drain timeout: %zu executions still running stay in the store as running and"
                     " resume after restart",
                     e->inflight);
    return NULL;
}

int act_writer_start(struct act_engine *e, struct act_err *err)
{
    e->writer_running = true;
    if (pthread_create(&e->writer, NULL, writer_main, e) != 0) {
        e->writer_running = false;
        return act_err_set(err, ACT_EIO, "engine: cannot start the writer thread: %s",
                           strerror(errno));
    }
    return ACT_OK;
}

void act_writer_stop(struct act_engine *e)
{
    pthread_mutex_lock(&e->wlock);
    e->stopping = true;
    pthread_cond_signal(&e->wcond);
    pthread_mutex_unlock(&e->wlock);
    act_workers_drain(e);
    pthread_join(e->writer, NULL);
}
