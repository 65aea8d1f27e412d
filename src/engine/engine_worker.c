/*
 * The worker pool: threads that run handlers.
 *
 * The writer hands over claimed executions in FIFO order through a locked
 * queue; a worker builds the handler call (input is the event's data unless
 * the execution carries its own), runs it with the action's timeout, and
 * sends the item back to the writer as a COMPLETE op embedded in the item,
 * so a completion costs no allocation.  Workers never touch the store.
 * While draining (shutdown), items not yet started are handed back marked
 * `released`, and the writer returns them to `pending`.
 */
#include "engine/engine_internal.h"

#include "base/alloc.h"
#include "base/json_text.h"
#include "base/log.h"

#include <string.h>
#include <unistd.h>

#define ACT_LOG_MODULE "worker"

/* Drop what a finished attempt no longer needs, then hand it to the writer. */
static void complete(struct act_engine *e, struct item *it)
{
    it->finished_us = act_time_now_us();
    /* Serialise the result here rather than on the writer thread, the
     * engine's bottleneck. */
    if (it->rc == ACT_OK && it->res.output && !json_is_null(it->res.output))
        it->out_text = act_json_text(it->res.output, NULL);
    if (it->res.error_detail)
        it->detail_text = act_json_text(it->res.error_detail, NULL);
    if (it->rc == ACT_OK) {
        /* Success needs no retry: drop the event here, off the writer thread
         * (the last reference often frees the whole event document). */
        json_decref(it->event);
        it->event = NULL;
        json_decref(it->input);
        it->input = NULL;
    }
    memset(&it->cop, 0, sizeof(it->cop));
    it->cop.kind = OP_COMPLETE;
    it->cop.u.complete = it;
    act_engine_submit_async(e, &it->cop);
}

/* ops->start finished an attempt (any thread). */
static void on_async_done(void *ud, int rc)
{
    struct item *it = ud;
    struct act_engine *e = it->engine;

    it->rc = rc;
    if (rc < 0 && !it->res.error[0])
        act_handler_fail(&it->res, rc, "%s", act_strerror(rc));
    complete(e, it);
    atomic_fetch_sub(&e->n_async, 1); /* last: close() may free the engine after this */
}

/* Run one attempt; false when it continues asynchronously. */
static bool run_item(struct act_engine *e, struct item *it)
{
    struct action_rt *a = it->action;
    struct act_handler_call call = {0};
    const json_t *input = it->input;

    if (!input) {
        input = it->event ? json_object_get(it->event, "data") : NULL;
        if (!input) /* kept in the item: an async attempt outlives this call */
            input = it->input = json_object();
    }
    if (atomic_load(&it->cancel_requested)) {
        /* Cancelled while it waited for a worker: never start it.  The
         * completion's compare-and-set fails and changes nothing. */
        it->rc = act_handler_fail(&it->res, ACT_ESTATE, "cancelled before it started");
        return true;
    }
    call.execution_id = it->id;
    call.root_id = it->root_id[0] ? it->root_id : it->id;
    call.attempt = it->attempt;
    call.action_name = a->name;
    call.action = a->doc;
    call.event = it->event;
    call.input = input;
    call.config = a->config;
    call.timeout_ms = a->spec.timeout_ms;
    memset(&it->res, 0, sizeof(it->res));
    it->res.retry_after_ms = -1;
    atomic_store(&it->started_us, act_time_now_us());
    it->started_mono = act_time_mono_us();
    if (a->ops && a->ops->start) {
        it->engine = e;
        atomic_fetch_add(&e->n_async, 1);
        int src = a->ops->start(a->hstate, &call, &it->res, on_async_done, it);
        if (src == ACT_OK) /* `it` may be completed (and freed) already: do not touch it */
            return false;
        atomic_fetch_sub(&e->n_async, 1);
        it->rc = src;
    } else if (a->ops) {
        it->rc = a->ops->execute(a->hstate, &call, &it->res);
    } else { /* the handler could not be opened when the action was loaded */
        it->rc = act_handler_fail(&it->res, ACT_EPLUGIN, "handler of action '%s' is unavailable",
                                  a->name);
    }
    if (it->rc < 0 && !it->res.error[0])
        act_handler_fail(&it->res, it->rc, "%s", act_strerror(it->rc));
    return true;
}

static void *worker_main(void *arg)
{
    struct act_engine *e = arg;
    struct item *it;
    bool drain;

    pthread_setname_np(pthread_self(), "act-worker"); /* top -H, perf */
    for (;;) {
        pthread_mutex_lock(&e->qlock);
        while (!e->q_head && !e->q_stop)
            pthread_cond_wait(&e->qcond, &e->qlock);
        if (!e->q_head) {
            pthread_mutex_unlock(&e->qlock);
            break;
        }
        it = e->q_head;
        e->q_head = it->next;
        if (!e->q_head)
            e->q_tail = NULL;
        drain = e->draining;
        pthread_mutex_unlock(&e->qlock);
        it->next = NULL;

        if (drain) {
            it->released = true;
        } else if (!run_item(e, it)) {
            continue; /* started asynchronously: on_async_done completes it */
        }
        if (drain) {
            memset(&it->cop, 0, sizeof(it->cop));
            it->cop.kind = OP_COMPLETE;
            it->cop.u.complete = it;
            act_engine_submit_async(e, &it->cop);
        } else {
            complete(e, it);
        }
    }
    return NULL;
}

int act_workers_start(struct act_engine *e, struct act_err *err)
{
    e->workers = act_xcalloc((size_t)e->n_workers, sizeof(*e->workers));
    for (int i = 0; i < e->n_workers; i++) {
        if (pthread_create(&e->workers[i], NULL, worker_main, e) != 0) {
            e->n_workers = i;
            return act_err_set(err, ACT_EIO, "engine: cannot start worker thread %d", i);
        }
    }
    return ACT_OK;
}

void act_workers_push(struct act_engine *e, struct item *list)
{
    struct item *tail = list;
    size_t n = 1;

    if (!list)
        return;
    while (tail->next) {
        tail = tail->next;
        n++;
    }
    pthread_mutex_lock(&e->qlock);
    if (e->q_tail)
        e->q_tail->next = list;
    else
        e->q_head = list;
    e->q_tail = tail;
    if (n == 1)
        pthread_cond_signal(&e->qcond);
    else
        pthread_cond_broadcast(&e->qcond);
    pthread_mutex_unlock(&e->qlock);
}

void act_workers_drain(struct act_engine *e)
{
    pthread_mutex_lock(&e->qlock);
    e->draining = true;
    pthread_cond_broadcast(&e->qcond);
    pthread_mutex_unlock(&e->qlock);
}

void act_workers_stop(struct act_engine *e)
{
    pthread_mutex_lock(&e->qlock);
    e->q_stop = true;
    pthread_cond_broadcast(&e->qcond);
    pthread_mutex_unlock(&e->qlock);
    for (int i = 0; i < e->n_workers; i++)
        pthread_join(e->workers[i], NULL);
    act_free(e->workers);
    e->workers = NULL;
    /* Asynchronous attempts finish within their timeouts; their completions
     * land in the op queue, which close() empties next. */
    while (atomic_load(&e->n_async) > 0)
        usleep(1000);
}
