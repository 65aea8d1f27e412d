/*
 * Engine lifecycle and the event intake.
 *
 * open: store -> catalog (actions, subscriptions, match index) -> recovery
 * of unfinished executions -> writer thread -> workers.  close: stop intake,
 * drain (running executions finish, queued ones go back to pending), join
 * the threads, close the store.
 *
 * Intake: events are matched on the caller's thread under the catalog read
 * lock (matching is reentrant, so API threads match in parallel), then the
 * whole request goes to the writer as one op and the caller waits for the
 * commit that makes the event and all its executions durable.
 */
#include "engine/engine_internal.h"

#include "base/alloc.h"
#include "base/json_text.h"
#include "base/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ACT_LOG_MODULE "engine"

#define DEFAULT_MAX_BATCH 1000

int64_t act_engine_new_token(void)
{
    int64_t t;
    do
        t = (int64_t)(act_rand64() >> 1);
    while (t == 0);
    return t;
}

bool act_engine_ready(struct act_engine *e)
{
    bool ok;
    pthread_mutex_lock(&e->wlock);
    ok = e->writer_running && !e->stopping && !e->broken;
    pthread_mutex_unlock(&e->wlock);
    return ok;
}

static void conf_defaults(struct act_engine_conf *c)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (!c->workers)
        c->workers = ncpu > 0 ? (int)(ncpu * 2 > 4 ? ncpu * 2 : 4) : 4;
    if (!c->max_batch_events)
        c->max_batch_events = DEFAULT_MAX_BATCH;
    if (!c->lease_grace_ms)
        c->lease_grace_ms = 5000;
    if (!c->drain_timeout_ms)
        c->drain_timeout_ms = 10000;
}

int act_engine_open(const struct act_engine_conf *conf, struct act_engine **out,
                    struct act_err *err)
{
    struct act_store_conf sc = {0};
    struct act_engine *e;
    int rc;

    *out = NULL;
    e = act_xcalloc(1, sizeof(*e));
    e->conf = *conf;
    conf_defaults(&e->conf);
    e->n_workers = e->conf.workers;
    /* Claimed executions queued for the workers: deep enough that fast
     * handlers never wait for a commit cycle, bounded so slow ones do not
     * hoard work.  Each counts against its action's max_concurrent. */
    e->max_inflight = (size_t)e->n_workers * 2048 > 8192 ? (size_t)e->n_workers * 2048 : 8192;
    e->delayed.by_due = true;
    pthread_rwlock_init(&e->cat_lock, NULL);
    pthread_mutex_init(&e->wlock, NULL);
    pthread_cond_init(&e->wcond, NULL);
    pthread_cond_init(&e->op_done, NULL);
    pthread_mutex_init(&e->qlock, NULL);
    pthread_cond_init(&e->qcond, NULL);
    pthread_mutex_init(&e->done_lock, NULL);
    pthread_cond_init(&e->done_cond, NULL);
    act_map_init(&e->actions);
    act_map_init(&e->subs);
    act_map_init(&e->flows);
    act_map_init(&e->items);
    e->index = act_match_index_new();

    sc.data_dir = conf->data_dir;
    sc.sync_full = conf->sync_full;
    sc.tenant = "admin";
    if ((rc = act_store_sqlite_open(&sc, &e->store, err)) < 0)
        goto fail;
    if ((rc = act_catalog_load(e, err)) < 0 || (rc = act_engine_recover(e, err)) < 0)
        goto fail;
    if ((rc = act_workers_start(e, err)) < 0)
        goto fail;
    if ((rc = act_writer_start(e, err)) < 0)
        goto fail;
    *out = e;
    return ACT_OK;
fail:
    act_engine_close(e);
    return rc;
}

static void free_scheduler(struct act_engine *e)
{
    size_t i = 0;
    const char *k;
    void *v;
    struct item *it;

    /* Every live item is in the items map; cancelled ones may linger in a
     * heap or blocked list only. */
    while ((it = act_heap_pop(&e->ready)))
        if (it->state == ITEM_CANCELLED)
            act_item_free(it);
    while ((it = act_heap_pop(&e->delayed)))
        if (it->state == ITEM_CANCELLED)
            act_item_free(it);
    for (struct flow *f = e->all_flows; f; f = f->next) {
        while ((it = f->blocked_head)) {
            f->blocked_head = it->next;
            if (it->state == ITEM_CANCELLED)
                act_item_free(it);
        }
    }
    while (act_map_next(&e->items, &i, &k, &v))
        act_item_free(v);
    act_map_release(&e->items);
    act_heap_release(&e->ready);
    act_heap_release(&e->delayed);
}

void act_engine_close(struct act_engine *e)
{
    if (!e)
        return;
    if (e->writer_running)
        act_writer_stop(e);
    if (e->workers)
        act_workers_stop(e);
    /* Completions that arrived after the writer stopped: unrecorded, their
     * rows stay running and are recovered at the next open. */
    for (struct op *op = e->ops_head, *next; op; op = next) {
        next = op->next;
        if (op->kind == OP_COMPLETE) {
            struct item *it = op->u.complete;
            if (it->state != ITEM_ABANDONED)
                act_map_del(&e->items, it->id);
            act_item_free(it);
        }
    }
    e->ops_head = e->ops_tail = NULL;
    /* Items still in a worker's hands when the drain timed out were handed
     * back above; the running list now only holds freed memory. */
    e->running_head = NULL;
    free_scheduler(e);
    if (e->store)
        e->store->ops->close(e->store);
    act_catalog_release(e);
    pthread_rwlock_destroy(&e->cat_lock);
    pthread_mutex_destroy(&e->wlock);
    pthread_cond_destroy(&e->wcond);
    pthread_cond_destroy(&e->op_done);
    pthread_mutex_destroy(&e->qlock);
    pthread_cond_destroy(&e->qcond);
    pthread_mutex_destroy(&e->done_lock);
    pthread_cond_destroy(&e->done_cond);
    act_free(e);
}

/* ---- intake ---- */

/* Match one event; the caller holds the catalog read lock. */
static void match_locked(struct act_engine *e, struct ingest_event *ev,
                         struct act_match_hits *hits)
{
    hits->n = 0;
    act_match_index_lookup(e->index, ev->event, hits);
    if (!hits->n)
        return;
    ev->hits = act_xcalloc(hits->n, sizeof(*ev->hits));
    for (size_t j = 0; j < hits->n; j++) {
        const struct sub_rt *s = hits->v[j].ud;
        struct action_rt *a = act_map_get(&e->actions, s->action_id);
        struct ingest_hit *h;

        if (!a || !a->spec.enabled)
            continue;
        h = &ev->hits[ev->n_hits++];
        h->action = act_action_rt_ref(a);
        memcpy(h->sub_id, s->id, sizeof(h->sub_id));
        h->priority = s->priority;
    }
    /* Run order is the effective priority (action + subscription), stable. */
    for (size_t i = 1; i < ev->n_hits; i++) {
        struct ingest_hit t = ev->hits[i];
        int pt = t.action->spec.priority + t.priority;
        size_t j = i;
        while (j > 0 && ev->hits[j - 1].action->spec.priority + ev->hits[j - 1].priority < pt) {
            ev->hits[j] = ev->hits[j - 1];
            j--;
        }
        ev->hits[j] = t;
    }
}

/* The 202 body of one event, built after the commit. */
static json_t *ingest_reply(struct ingest_event *ev)
{
    json_t *execs;

    if (ev->duplicate) {
        execs = ev->dup_execs ? ev->dup_execs : json_array();
        ev->dup_execs = NULL;
    } else {
        execs = json_array();
        for (size_t j = 0; j < ev->n_hits; j++) {
            const struct ingest_hit *h = &ev->hits[j];
            if (h->exec_id[0])
                json_array_append_new(execs, json_pack("{s:s, s:s, s:s}", "id", h->exec_id,
                                                       "action_id", h->action->id,
                                                       "subscription_id", h->sub_id));
        }
    }
    return json_pack("{s:s, s:b, s:o}", "event_id", ev->event_id, "duplicate", ev->duplicate,
                     "executions", execs);
}

/* ingest_reply() as text. */
static char *ingest_reply_text(struct ingest_event *ev, size_t *len)
{
    struct act_buf b = {0};
    bool first = true;

#define LIT(lit) act_buf_add(&b, (lit), sizeof(lit) - 1)
#define STR(s) act_buf_json_str(&b, (s), strlen(s))
    LIT("{\"event_id\":");
    STR(ev->event_id);
    if (ev->duplicate) {
        LIT(",\"duplicate\":true,\"executions\":");
        if (ev->dup_execs)
            act_buf_json(&b, ev->dup_execs);
        else
            LIT("[]");
    } else {
        LIT(",\"duplicate\":false,\"executions\":[");
        for (size_t j = 0; j < ev->n_hits; j++) {
            const struct ingest_hit *h = &ev->hits[j];

            if (!h->exec_id[0])
                continue;
            if (!first)
                LIT(",");
            LIT("{\"id\":");
            STR(h->exec_id);
            LIT(",\"action_id\":");
            STR(h->action->id);
            LIT(",\"subscription_id\":");
            STR(h->sub_id);
            LIT("}");
            first = false;
        }
        LIT("]");
    }
    LIT("}");
#undef LIT
#undef STR
    *len = b.len;
    return b.p;
}

struct act_ingest {
    struct act_engine *e;
    struct op op;
    struct ingest_event *evs;
    size_t n;
};

/* Match and serialise on the caller's thread; build the op. */
static int ingest_prepare(struct act_engine *e, json_t *const *events, size_t n,
                          struct act_ingest **out, struct act_err *err)
{
    struct act_match_hits hits = {0};
    struct act_ingest *h;

    *out = NULL;
    if (n > e->conf.max_batch_events)
        return act_err_field(err, ACT_ETOOBIG, "events", "batch of %zu events is over the limit of %zu",
                             n, e->conf.max_batch_events);
    h = act_xcalloc(1, sizeof(*h));
    h->e = e;
    h->n = n;
    h->evs = act_xcalloc(n ? n : 1, sizeof(*h->evs));
    for (size_t i = 0; i < n; i++) {
        struct ingest_event *ev = &h->evs[i];
        act_uuid_v7(ev->event_id);
        ev->client_id = json_object_get(events[i], "id") != NULL;
        if (!ev->client_id) /* unnamed: its CloudEvents id is our event id */
            json_object_set_new(events[i], "id", json_string(ev->event_id));
        ev->event = json_incref(events[i]);
        ev->text = act_json_text(events[i], NULL);
    }
    pthread_rwlock_rdlock(&e->cat_lock);
    for (size_t i = 0; i < n; i++)
        match_locked(e, &h->evs[i], &hits);
    pthread_rwlock_unlock(&e->cat_lock);
    act_match_hits_release(&hits);
    h->op.kind = OP_INGEST;
    h->op.u.ingest.evs = h->evs;
    h->op.u.ingest.n = n;
    *out = h;
    return ACT_OK;
}

static void ingest_free(struct act_ingest *h)
{
    for (size_t i = 0; i < h->n; i++) {
        struct ingest_event *ev = &h->evs[i];
        json_decref(ev->dup_execs);
        for (size_t j = 0; j < ev->n_hits; j++)
            act_action_rt_unref(ev->hits[j].action);
        act_free(ev->hits);
        act_free(ev->text);
        json_decref(ev->event);
    }
    act_free(h->evs);
    act_free(h);
}

int act_engine_ingest_begin(struct act_engine *e, json_t *const *events, size_t n,
                            act_ingest_done_fn *done, void *ud, struct act_ingest **out,
                            struct act_err *err)
{
    struct act_ingest *h;
    int rc = ingest_prepare(e, events, n, &h, err);

    *out = NULL;
    if (rc < 0)
        return rc;
    h->op.notify = done;
    h->op.notify_ud = ud;
    if ((rc = act_engine_submit_notify(e, &h->op, err)) < 0) {
        ingest_free(h);
        return rc;
    }
    *out = h;
    return ACT_OK;
}

int act_engine_ingest_end(struct act_ingest *h, json_t **replies, struct act_err *err)
{
    int rc = h->op.rc;

    for (size_t i = 0; i < h->n; i++)
        replies[i] = rc == ACT_OK ? ingest_reply(&h->evs[i]) : NULL;
    if (rc < 0 && err)
        *err = h->op.err;
    ingest_free(h);
    return rc;
}

int act_engine_ingest_end_text(struct act_ingest *h, char **texts, size_t *lens,
                               struct act_err *err)
{
    int rc = h->op.rc;

    for (size_t i = 0; i < h->n; i++) {
        texts[i] = rc == ACT_OK ? ingest_reply_text(&h->evs[i], &lens[i]) : NULL;
        if (rc < 0)
            lens[i] = 0;
    }
    if (rc < 0 && err)
        *err = h->op.err;
    ingest_free(h);
    return rc;
}

int act_engine_ingest(struct act_engine *e, json_t *const *events, size_t n, json_t **replies,
                      struct act_err *err)
{
    struct act_ingest *h;
    int rc;

    for (size_t i = 0; i < n; i++)
        replies[i] = NULL;
    if (n == 0)
        return ACT_OK;
    if ((rc = ingest_prepare(e, events, n, &h, err)) < 0)
        return rc;
    if ((rc = act_engine_submit(e, &h->op, err)) < 0) {
        ingest_free(h);
        return rc;
    }
    return act_engine_ingest_end(h, replies, err);
}

int act_engine_event_get(struct act_engine *e, const char *id, json_t **out, struct act_err *err)
{
    json_t *doc = NULL;
    struct act_query q = {.event_id = id, .limit = "1000"};
    json_t *execs = NULL;
    int64_t received = 0;
    char buf[40];
    int rc;

    *out = NULL;
    if (!act_uuid_valid(id))
        return act_err_set(err, ACT_ENOTFOUND, "event '%s' not found", id);
    if ((rc = e->store->ops->event_get(e->store, id, &doc, &received, err)) < 0)
        return rc;
    if ((rc = act_engine_exec_list(e, &q, &execs, err)) < 0) {
        json_decref(doc);
        return rc;
    }
    *out = json_pack("{s:s, s:o, s:s, s:O}", "event_id", id, "event", doc, "received_at",
                     act_time_format_rfc3339(received, buf, sizeof(buf)), "executions",
                     json_object_get(execs, "items"));
    json_decref(execs);
    return ACT_OK;
}

int act_engine_explain(struct act_engine *e, const json_t *event, json_t **out,
                       struct act_err *err)
{
    struct act_match_explain_row *rows = NULL;
    size_t n = 0, i = 0;
    json_t *matched = json_array(), *considered = json_array();
    const char *k;
    void *v;
    int rc;

    pthread_rwlock_rdlock(&e->cat_lock);
    rc = act_match_index_explain(e->index, event, &rows, &n);
    if (rc < 0) {
        pthread_rwlock_unlock(&e->cat_lock);
        json_decref(matched);
        json_decref(considered);
        return act_err_set(err, rc, "explain failed");
    }
    for (size_t j = 0; j < n; j++) {
        const struct sub_rt *s = rows[j].ud;
        const struct action_rt *a = act_map_get(&e->actions, s->action_id);
        bool ok = rows[j].matched && a && a->spec.enabled;
        char reason[300];

        snprintf(reason, sizeof(reason), "%s",
                 rows[j].matched ? (a ? "action is disabled" : "action is missing")
                                 : rows[j].reason);
        if (ok)
            json_array_append_new(matched, json_pack("{s:s, s:s}", "subscription_id", s->id,
                                                     "action_id", s->action_id));
        json_array_append_new(considered,
                              json_pack("{s:s, s:s, s:b, s:o}", "subscription_id", s->id,
                                        "action_id", s->action_id, "matched", ok, "reason",
                                        ok ? json_null() : json_string(reason)));
    }
    while (act_map_next(&e->subs, &i, &k, &v)) {
        const struct sub_rt *s = v;
        if (!s->enabled)
            json_array_append_new(considered,
                                  json_pack("{s:s, s:s, s:b, s:s}", "subscription_id", s->id,
                                            "action_id", s->action_id, "matched", 0, "reason",
                                            "subscription is disabled"));
    }
    pthread_rwlock_unlock(&e->cat_lock);
    act_free(rows);
    *out = json_pack("{s:o, s:o}", "matched", matched, "considered", considered);
    return ACT_OK;
}
