/*
 * The engine: the one object every front end (HTTP API, embedding API,
 * CLI-less tests) drives.  It owns the store, the subscription index, the
 * single writer thread (group commit), the scheduler and the worker pool.
 *
 * All functions take and return jansson values; documents returned are new
 * references in the exact JSON shapes of ../shared/API.md.  Errors use
 * struct act_err with the status mapping of base/err.h (ACT_EINVAL 400,
 * ACT_ENOTFOUND 404, ACT_ECONFLICT 409, ACT_EUNPROC 422, ACT_ETOOBIG 413,
 * ACT_EBUSY 503, ACT_ESTATE 409) and err->field naming the input field.
 * A rejected call changes nothing.
 *
 * Thread contract: every function here is callable from any thread
 * concurrently (HTTP pool threads), except open/close.
 */
#ifndef ACT_ENGINE_ENGINE_H
#define ACT_ENGINE_ENGINE_H

#include "base/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct act_engine;

struct act_engine_conf {
    const char *data_dir;       /* created if missing; holds actiond.db */
    bool sync_full;             /* SQLite synchronous=FULL (default) or NORMAL */
    int workers;                /* handler worker threads; 0: default */
    size_t max_batch_events;    /* events per ingest call; 0: default 1000 */
    int64_t lease_grace_ms;     /* lease deadline = timeout_ms + grace; 0: default 5000 */
    int64_t drain_timeout_ms;   /* close(): wait this long for running work; 0: 10000 */
};

/* Query-string filters of the list routes, already split; NULL = absent.
 * The engine validates them (ACT_EINVAL, field = the parameter name). */
struct act_query {
    const char *limit, *cursor;
    const char *action_id, *status, *event_id, *since, *until; /* executions, dead letters */
    const char *category, *enabled, *q;                        /* actions */
    const char *flow_execution_id;
    const char *window;                                        /* metrics */
};

/* thread: init */
int act_engine_open(const struct act_engine_conf *conf, struct act_engine **out,
                    struct act_err *err);
/* Stop intake, let running executions finish (up to drain_timeout_ms), stop
 * threads, close the store.  Unfinished work stays in the store and resumes
 * on the next open.  thread: init */
void act_engine_close(struct act_engine *e);
/* True while the store is open and intake is accepted. */
bool act_engine_ready(struct act_engine *e);

/* ---- actions (API.md "Actions") ---- */
int act_engine_action_create(struct act_engine *e, const json_t *body, json_t **out,
                             struct act_err *err);
int act_engine_action_get(struct act_engine *e, const char *id, json_t **out, struct act_err *err);
int act_engine_action_list(struct act_engine *e, const struct act_query *q, json_t **out,
                           struct act_err *err);
/* merge: PATCH semantics; otherwise PUT (full replacement). */
int act_engine_action_update(struct act_engine *e, const char *id, const json_t *body, bool merge,
                             json_t **out, struct act_err *err);
int act_engine_action_delete(struct act_engine *e, const char *id, struct act_err *err);
/* Manual execute: *out = {"execution_id": "..."}; input NULL means {}. */
int act_engine_action_execute(struct act_engine *e, const char *id, const json_t *input,
                              json_t **out, struct act_err *err);
/* Manual execute with options: `flow_execution_id` (NULL: none) is stored
 * on the execution and its retries and is filterable in the executions
 * list.  *out = {"execution_id": "..."}. */
int act_engine_action_execute_flow(struct act_engine *e, const char *id, const json_t *input,
                                   const char *flow_execution_id, json_t **out,
                                   struct act_err *err);
int act_engine_action_metrics(struct act_engine *e, const char *id, const struct act_query *q,
                              json_t **out, struct act_err *err);

/* ---- subscriptions ---- */
int act_engine_sub_create(struct act_engine *e, const json_t *body, json_t **out,
                          struct act_err *err);
int act_engine_sub_get(struct act_engine *e, const char *id, json_t **out, struct act_err *err);
int act_engine_sub_list(struct act_engine *e, const struct act_query *q, json_t **out,
                        struct act_err *err);
int act_engine_sub_update(struct act_engine *e, const char *id, const json_t *body, bool merge,
                          json_t **out, struct act_err *err);
int act_engine_sub_delete(struct act_engine *e, const char *id, struct act_err *err);

/* ---- events ---- */
/* Persist `n` canonical events (act_event_normalize output) with their
 * executions in one transaction, then answer.  An event without "id" gets
 * its event id as "id" (added to the caller's object).  replies[i] is set for every
 * i: {"event_id", "duplicate", "executions": [{"id","action_id",
 * "subscription_id"}]}.  Returns only after the commit. */
int act_engine_ingest(struct act_engine *e, json_t *const *events, size_t n, json_t **replies,
                      struct act_err *err);

/* The same in two steps, for callers that must not block (the HTTP server
 * suspends the connection meanwhile).  begin matches the events, queues
 * them for the writer and returns; `done(ud)` is then called exactly once,
 * from the writer thread, after the commit (or the failure) — it must be
 * quick and must not call back into the engine.  Then end() collects the
 * replies (as act_engine_ingest) and frees the handle.  When begin fails
 * (batch too large, engine shutting down) it returns the error and `done`
 * is never called. */
struct act_ingest;
typedef void act_ingest_done_fn(void *ud);
int act_engine_ingest_begin(struct act_engine *e, json_t *const *events, size_t n,
                            act_ingest_done_fn *done, void *ud, struct act_ingest **out,
                            struct act_err *err);
int act_engine_ingest_end(struct act_ingest *h, json_t **replies, struct act_err *err);

/* Like act_engine_ingest_end, with each reply as compact JSON text instead
 * of a tree: texts[i] (heap, act_free; NULL when rc < 0) of length lens[i],
 * the same document act_engine_ingest_end would give.  The HTTP intake uses
 * it: building and dumping the trees was a fifth of its time.  Frees h.
 * thread: any */
int act_engine_ingest_end_text(struct act_ingest *h, char **texts, size_t *lens,
                               struct act_err *err);

int act_engine_event_get(struct act_engine *e, const char *id, json_t **out, struct act_err *err);
/* {"matched": [...], "considered": [...]}; stores nothing. */
int act_engine_explain(struct act_engine *e, const json_t *event, json_t **out,
                       struct act_err *err);

/* ---- executions ---- */
int act_engine_exec_list(struct act_engine *e, const struct act_query *q, json_t **out,
                         struct act_err *err);
int act_engine_exec_get(struct act_engine *e, const char *id, json_t **out, struct act_err *err);
/* Cancel a pending/scheduled execution (ACT_ESTATE when already terminal;
 * a running one is marked cancelled and its result is discarded). */
int act_engine_exec_cancel(struct act_engine *e, const char *id, json_t **out,
                           struct act_err *err);
/* Wait until the execution and its retries reach a final status
 * (succeeded, dead, cancelled) or timeout; *out is the last attempt. */
int act_engine_exec_wait(struct act_engine *e, const char *id, int64_t timeout_ms, json_t **out,
                         struct act_err *err);

/* Wait until this one attempt (not its retries) has an outcome: succeeded,
 * failed (a retry is scheduled: see next_attempt_at of the chain), dead or
 * cancelled; *out is the execution with its lineage.  ACT_ETIMEDOUT with
 * *out set to the current state when the time runs out. */
int act_engine_exec_wait_attempt(struct act_engine *e, const char *id, int64_t timeout_ms,
                                 json_t **out, struct act_err *err);

/* ---- documents ----
 * A small keyed document store for subsystems built on the engine (the
 * plugin registry): `kind` names the collection ("plugin"), `id` is the
 * primary key, `key` a unique secondary key (a slug; NULL for none).
 * Writes go through the writer (durable on return); ACT_ECONFLICT when the
 * key is taken by another id, ACT_ENOTFOUND on update/delete of a missing id.
 * Returned documents carry "id", "created_at", "updated_at". */
int act_engine_doc_put(struct act_engine *e, const char *kind, const char *id, const char *key,
                       const json_t *doc, bool insert, struct act_err *err);
int act_engine_doc_get(struct act_engine *e, const char *kind, const char *id, json_t **out,
                       struct act_err *err);
int act_engine_doc_get_by_key(struct act_engine *e, const char *kind, const char *key,
                              json_t **out, struct act_err *err);
/* All documents of a kind, oldest first: a JSON array (new reference). */
int act_engine_doc_list(struct act_engine *e, const char *kind, json_t **out, struct act_err *err);
int act_engine_doc_delete(struct act_engine *e, const char *kind, const char *id,
                          struct act_err *err);

/* ---- dead letters ---- */
int act_engine_dead_list(struct act_engine *e, const struct act_query *q, json_t **out,
                         struct act_err *err);
int act_engine_dead_get(struct act_engine *e, const char *id, json_t **out, struct act_err *err);
/* input NULL: replay with the original input.  *out = {"execution_id"}. */
int act_engine_dead_replay(struct act_engine *e, const char *id, const json_t *input, json_t **out,
                           struct act_err *err);
/* filter: {"action_id"?, "since"?, "until"?}.  *out = {"replayed": N}. */
int act_engine_dead_replay_bulk(struct act_engine *e, const json_t *filter, json_t **out,
                                struct act_err *err);

/* ---- service ---- */
/* Prometheus text exposition, names prefixed actiond_.  Caller frees with act_free. */
char *act_engine_prometheus(struct act_engine *e);

#endif
