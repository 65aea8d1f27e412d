/*
 * Engine internals shared by the files of src/engine/.
 *
 * Threads and ownership:
 *  - API threads (any number) validate input, match events under the
 *    catalog read lock, then hand an `op` to the writer and wait for it.
 *  - The writer thread (engine_writer.c) owns the store's write side and the
 *    scheduler (engine_sched.c): the ready heap, the delayed heap, per-action
 *    flow state and every in-memory execution (`struct item`).  It batches
 *    all queued ops into one transaction (group commit), claims runnable
 *    executions in the same transaction, commits, then wakes the waiters and
 *    hands claimed items to the workers.
 *  - Worker threads (engine_worker.c) run handlers and send the outcome back
 *    to the writer as a COMPLETE op; they never touch the store.
 * The catalog (actions, subscriptions, the match index) changes only in the
 * writer thread, under the catalog write lock, after the change committed.
 */
#ifndef ACT_ENGINE_INTERNAL_H
#define ACT_ENGINE_INTERNAL_H

#include "base/map.h"
#include "base/time.h"
#include "engine/engine.h"
#include "handler/handler.h"
#include "match/match.h"
#include "model/model.h"
#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>

#define N_DURATION_BUCKETS 14
extern const double act_duration_bounds_ms[N_DURATION_BUCKETS - 1];

/* Per action id, shared by every version of the action; writer-owned except
 * the atomic counters, which /metrics reads from any thread. */
struct flow {
    char action_id[ACT_UUID_LEN + 1];
    char *name;                       /* latest name; guarded by catalog lock */
    int running;                      /* items in ITEM_RUNNING */
    struct item *blocked_head, *blocked_tail; /* waiting for max_concurrent */
    double tokens_min, tokens_hour;   /* token buckets */
    int64_t refill_us;                /* last refill (wall us) */
    bool buckets_init;
    atomic_long n_succeeded, n_failed, n_dead, n_created;
    atomic_long consecutive_failures;
    atomic_llong last_success_us, last_failure_us;
    atomic_long dur_buckets[N_DURATION_BUCKETS];
    char *disabled_reason;            /* set when the engine disabled the action; cat_lock */
    _Atomic double dur_sum_ms;
    struct flow *next;                /* all flows, freed at close */
};

/* One version of an action, refcounted: items keep the version they run. */
struct action_rt {
    atomic_int refs;
    char id[ACT_UUID_LEN + 1];
    char *name;
    json_t *doc;                      /* canonical document (no id/timestamps) */
    json_t *config;                   /* borrowed from doc */
    struct act_action_spec spec;
    const struct act_handler_ops *ops;
    void *hstate;
    struct flow *flow;
    bool deleted;                     /* set by the writer under the catalog lock */
};

struct sub_rt {
    char id[ACT_UUID_LEN + 1];
    char action_id[ACT_UUID_LEN + 1];
    int priority;
    bool enabled;
};

enum item_state {
    ITEM_READY,      /* in the ready heap */
    ITEM_DELAYED,    /* in the delayed heap (retry time or rate limit) */
    ITEM_BLOCKED,    /* in its flow's blocked list (max_concurrent) */
    ITEM_RUNNING,    /* claimed: queued for or inside a worker */
    ITEM_CANCELLED,  /* cancelled while in a heap or list: dropped when reached */
    ITEM_ABANDONED,  /* lease expired or cancelled while running: result discarded */
};

enum op_kind { OP_INGEST, OP_COMPLETE, OP_FN };

struct ingest_hit {
    struct action_rt *action;         /* ref */
    char sub_id[ACT_UUID_LEN + 1];
    int priority;
    char exec_id[ACT_UUID_LEN + 1];   /* set by the writer; "" when not created */
};

/* One event of an ingest op.  The caller prepares event, text and hits; the
 * writer fills event_id, duplicate and the hits' exec ids, and the caller
 * builds the JSON reply after the commit (off the writer thread). */
struct ingest_event {
    json_t *event;                    /* canonical event, ref */
    char *text;                       /* event serialised, owned */
    struct ingest_hit *hits;
    size_t n_hits;
    char event_id[ACT_UUID_LEN + 1];
    bool client_id;                   /* the client named the event (dedup applies) */
    bool duplicate;
    json_t *dup_execs;                /* duplicate: the first delivery's executions */
};

struct act_engine;
struct item;
typedef int op_fn(struct act_engine *e, void *arg, struct act_err *err);
typedef void op_after_fn(struct act_engine *e, void *arg);

struct op {
    enum op_kind kind;
    struct op *next;
    bool done;                        /* guarded by: e->wlock */
    void (*notify)(void *ud);         /* async submit: called once done is set */
    void *notify_ud;
    int rc;
    struct act_err err;
    union {
        struct {
            struct ingest_event *evs;
            size_t n;
        } ingest;
        struct item *complete;
        struct {
            op_fn *fn;                /* runs in the transaction */
            op_after_fn *after;       /* runs after a successful commit */
            void *arg;
        } fn;
    } u;
};

/* An execution the scheduler holds in memory (not final). */
struct item {
    char id[ACT_UUID_LEN + 1];
    char event_id[ACT_UUID_LEN + 1];
    char sub_id[ACT_UUID_LEN + 1];
    char root_id[ACT_UUID_LEN + 1];   /* first attempt of the chain; "" = this one */
    struct action_rt *action;         /* ref */
    json_t *event;                    /* ref, NULL for manual executions */
    json_t *input;                    /* ref; NULL: the event's data */
    char *flow_execution_id;
    int attempt, priority;
    uint64_t seq;
    int64_t due_us;                   /* delayed heap key */
    int64_t token;                    /* lease token while running */
    int64_t queued_at;
    enum item_state state;
    size_t heap_idx;
    struct item *next;                /* blocked list / claimed list / worker queue link */
    struct item *ilink;               /* an ingest op's own list */
    struct item *run_prev, *run_next; /* running list (lease reaper) */
    /* filled by the worker */
    atomic_llong started_us;          /* wall clock; 0 until the handler starts */
    int64_t started_mono, finished_us;
    int rc;
    struct act_handler_result res;
    char *out_text, *detail_text;     /* res.output / res.error_detail as JSON text,
                                       * made by complete() off the writer thread */
    bool released;                    /* drained before it started */
    atomic_bool cancel_requested;     /* cancelled while claimed (queued or running) */
    struct act_engine *engine;        /* for asynchronous completions */
    struct op cop;                    /* the COMPLETE op the worker sends */
};

struct heap {
    struct item **v;
    size_t n, cap;
    bool by_due;                      /* delayed heap: by due_us; else priority, seq */
};

struct act_engine {
    struct act_engine_conf conf;
    struct act_store *store;
    int n_workers;

    /* catalog: written by the writer thread only */
    pthread_rwlock_t cat_lock;
    struct act_match_index *index;    /* guarded by: cat_lock */
    struct act_map actions;           /* id -> struct action_rt * (current); cat_lock */
    struct act_map subs;              /* id -> struct sub_rt *; cat_lock */
    struct act_map flows;             /* action id -> struct flow *; cat_lock */
    struct flow *all_flows;

    /* writer */
    pthread_t writer;
    pthread_mutex_t wlock;
    pthread_cond_t wcond;             /* ops queued / stop */
    pthread_cond_t op_done;           /* an op finished */
    struct op *ops_head, *ops_tail;   /* guarded by: wlock */
    bool stopping;                    /* guarded by: wlock */
    bool broken;                      /* a commit failed: no more intake */
    bool writer_running;

    /* scheduler: writer thread only */
    struct heap ready, delayed;
    struct act_map items;             /* exec id -> struct item * (not final) */
    struct item *running_head;
    struct item *claimed_head, *claimed_tail; /* claimed at creation, not yet started */
    uint64_t seq;
    size_t inflight;                  /* items claimed and not yet completed */
    size_t max_inflight;
    int64_t last_reap_mono;

    /* workers */
    pthread_t *workers;
    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    struct item *q_head, *q_tail;     /* guarded by: qlock */
    bool q_stop;                      /* guarded by: qlock */
    bool draining;                    /* guarded by: qlock */

    /* completions, for act_engine_exec_wait */
    pthread_mutex_t done_lock;
    pthread_cond_t done_cond;
    uint64_t done_gen;                /* guarded by: done_lock */

    /* counters for /metrics */
    atomic_long n_events, n_duplicates, n_exec_created, n_recovered, n_lease_expired;
    atomic_long n_batches, n_batch_ops;
    atomic_long g_ready, g_delayed, g_running;
    atomic_long n_async;              /* attempts started with ops->start, not done yet */
};

/* engine_writer.c */
int act_engine_submit(struct act_engine *e, struct op *op, struct act_err *err);
void act_engine_submit_async(struct act_engine *e, struct op *op);
/* Queue a waitable op without waiting: op->notify(op->notify_ud) runs on
 * the writer thread when it is done.  Fails (no notify) when stopping. */
int act_engine_submit_notify(struct act_engine *e, struct op *op, struct act_err *err);
int act_engine_run_fn(struct act_engine *e, op_fn *fn, op_after_fn *after, void *arg,
                      struct act_err *err);
int act_writer_start(struct act_engine *e, struct act_err *err);
void act_writer_stop(struct act_engine *e);

/* engine_sched.c (writer thread) */
void act_heap_push(struct heap *h, struct item *it);
struct item *act_heap_pop(struct heap *h);
struct item *act_heap_peek(const struct heap *h);
void act_heap_release(struct heap *h);
struct item *act_item_new(struct act_engine *e, struct action_rt *a);
void act_item_free(struct item *it);
/* Put a new (pending) item in the scheduler and the items map. */
void act_sched_add(struct act_engine *e, struct item *it);
/* Put an item in the delayed heap until due_us. */
void act_sched_delay(struct act_engine *e, struct item *it, int64_t due_us);
/* Claim a just-created item when it may run at once (nothing of equal or
 * higher priority waits, flow control allows): memory only, the caller
 * inserts the row as running with it->token.  act_sched_unclaim_new undoes
 * it when that insert fails. */
bool act_sched_claim_new(struct act_engine *e, struct item *it, int64_t now);
void act_sched_unclaim_new(struct act_engine *e, struct item *it);
int64_t act_sched_lease_deadline(struct act_engine *e, const struct item *it, int64_t now);
/* Move due delayed items to ready; claim what may run now, in the open
 * transaction; the claimed items are appended to *start. */
int act_sched_dispatch(struct act_engine *e, int64_t now, struct item **start,
                       struct act_err *err);
/* An item left ITEM_RUNNING: account it and unblock a waiter of its flow. */
void act_sched_not_running(struct act_engine *e, struct item *it);
/* Expire running items whose handler overran timeout + grace. */
int act_sched_reap(struct act_engine *e, int64_t now, struct act_err *err);
/* Handle a worker's outcome inside the transaction. */
int act_sched_complete(struct act_engine *e, struct item *it, struct act_err *err);
/* Microseconds until the earliest delayed item (or -1). */
int64_t act_sched_next_due(struct act_engine *e, int64_t now);

/* engine_worker.c */
int act_workers_start(struct act_engine *e, struct act_err *err);
void act_workers_push(struct act_engine *e, struct item *list);
void act_workers_drain(struct act_engine *e);
void act_workers_stop(struct act_engine *e);

/* engine_catalog.c */
struct action_rt *act_action_rt_ref(struct action_rt *a);
void act_action_rt_unref(struct action_rt *a);
/* Current version of an action (borrowed; caller holds cat_lock or is the writer). */
struct action_rt *act_catalog_action(struct act_engine *e, const char *id);
int act_catalog_load(struct act_engine *e, struct act_err *err);
void act_catalog_release(struct act_engine *e);
json_t *act_action_health(const struct action_rt *a);
/* Disable an action because a handler said so (a webhook receiver answered
 * 410 Gone): store enabled=false in the open transaction and install the new
 * version at once, with `reason` as its health note.  thread: writer */
int act_catalog_disable(struct act_engine *e, struct action_rt *a, const char *reason,
                        struct act_err *err);

/* engine_exec.c */
int act_engine_recover(struct act_engine *e, struct act_err *err);
void act_engine_notify_done(struct act_engine *e);

/* engine_query.c */
int act_query_filter(const struct act_query *q, struct act_store_filter *f, struct act_err *err);
json_t *act_page(json_t *items, int limit, const char *cursor_key);
/* Every v1 list: query -> store filter -> one store list -> the page
 * envelope.  `each` (may be NULL) decorates every item before paging. */
typedef int act_store_list_fn(struct act_store *st, const struct act_store_filter *f,
                              json_t **items, struct act_err *err);
int act_engine_list(struct act_engine *e, act_store_list_fn *list, const struct act_query *q,
                    void (*each)(struct act_engine *e, json_t *item), json_t **out,
                    struct act_err *err);

/* engine.c: new execution ids, leases */
int64_t act_engine_new_token(void);

#endif
