/*
 * The store: the system of record behind one interface, so the engine never
 * speaks SQL.  SQLite (store_sqlite.c) is the embedded default; PostgreSQL
 * (one schema per tenant) plugs in behind the same ops later.
 *
 * Two sides with different thread contracts:
 *  - the write side (begin/commit, savepoints, every put/insert/update) is
 *    used by exactly one thread at a time: the engine's writer thread, which
 *    batches many operations into one transaction (group commit);
 *  - the read side (get/list/load) may be called from any thread at any time;
 *    a backend serves it from its own connection pool, and it sees committed
 *    data only.
 *
 * Records are passed as plain structs in and JSON documents out (the API
 * shapes), so a backend owns its own row encoding.  Every record carries its
 * tenant; until tenants land every record belongs to "admin".
 */
#ifndef ACT_STORE_STORE_H
#define ACT_STORE_STORE_H

#include "base/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Execution statuses as stored (API.md "Executions"). */
enum act_exec_status {
    ACT_EXEC_PENDING = 0,
    ACT_EXEC_SCHEDULED = 1,
    ACT_EXEC_RUNNING = 2,
    ACT_EXEC_SUCCEEDED = 3,
    ACT_EXEC_FAILED = 4,
    ACT_EXEC_DEAD = 5,
    ACT_EXEC_CANCELLED = 6,
};
#define ACT_EXEC_N_STATUS 7

/* "pending" ... "cancelled"; -1 from parse on unknown.  thread: any */
const char *act_exec_status_name(int status);
int act_exec_status_parse(const char *s);
static inline bool act_exec_status_final(int s)
{
    return s == ACT_EXEC_SUCCEEDED || s == ACT_EXEC_DEAD || s == ACT_EXEC_CANCELLED;
}

struct act_store_conf {
    const char *data_dir;
    bool sync_full;
    const char *tenant; /* "admin" */
};

/* A new execution row.  Strings are borrowed; NULL for SQL NULL. */
struct act_exec_rec {
    const char *id, *action_id, *event_id, *subscription_id, *parent_id;
    const char *root_id;      /* first attempt of the chain; NULL = this one */
    const char *flow_execution_id, *workflow_run_id;
    const char *input;        /* JSON text; NULL: the event's data */
    int status, attempt, priority;
    int64_t queued_at, next_attempt_at, started_at; /* us; 0: NULL */
    int64_t lease_token, lease_deadline;            /* running rows only */
};

/* The outcome of one attempt, written by compare-and-set on (id, token). */
struct act_exec_finish {
    const char *id;
    int64_t lease_token;
    int status;               /* succeeded, failed, dead */
    const char *output;       /* JSON text or NULL */
    const char *error;        /* one line or NULL */
    const char *error_detail; /* JSON text or NULL */
    int64_t started_at, finished_at;
};

/* An execution as the engine needs it to resume work after a restart. */
struct act_exec_row {
    char id[37], action_id[37], event_id[37], subscription_id[37], parent_id[37]; /* UUID text */
    char root_id[37];         /* "" = this one */
    char *flow_execution_id;  /* owned, may be NULL */
    char *input;              /* owned JSON text, NULL: the event's data */
    int status, attempt, priority;
    int64_t queued_at, next_attempt_at;
};

typedef int act_store_exec_fn(const struct act_exec_row *row, void *ud);
typedef int act_store_doc_fn(const char *id, json_t *doc, void *ud);

/* List filters, validated by the engine.  Zero/NULL = no filter. */
struct act_store_filter {
    const char *action_id, *event_id, *flow_execution_id, *category, *q;
    int status;               /* -1: any */
    int enabled;              /* -1: any */
    int64_t since, until;     /* us; 0: open */
    bool unreplayed;          /* dead letters: only those not replayed yet */
    const char *cursor;       /* opaque: the last id of the previous page */
    int limit;
};

struct act_store;

struct act_store_ops {
    const char *name;
    void (*close)(struct act_store *st);

    /* -- write side: one thread -- */
    int (*begin)(struct act_store *st, struct act_err *err);
    int (*commit)(struct act_store *st, struct act_err *err);
    void (*rollback)(struct act_store *st);
    int (*savepoint)(struct act_store *st);
    void (*release)(struct act_store *st);
    void (*rollback_to)(struct act_store *st);

    /* Insert or replace an action / subscription document.  insert: a new
     * record (ACT_ECONFLICT when the action name is taken by another id). */
    int (*action_put)(struct act_store *st, const char *id, const json_t *doc, bool insert,
                      int64_t now, struct act_err *err);
    int (*action_delete)(struct act_store *st, const char *id, struct act_err *err);
    int (*sub_put)(struct act_store *st, const char *id, const json_t *doc, bool insert,
                   int64_t now, struct act_err *err);
    int (*sub_delete)(struct act_store *st, const char *id, struct act_err *err);

    /* Insert an event.  When (source, client id) exists already (committed
     * or earlier in this transaction), returns ACT_ECONFLICT, copies the
     * existing event id into dup_id and sets *dup_execs to its first-attempt
     * executions [{"id","action_id","subscription_id"}] (new reference).
     * ev_text is `ev` serialised (the caller does it off the writer thread).
     * client_id false: the event's id is our own (`id`), nothing to
     * de-duplicate, no dedup index entry. */
    int (*event_insert)(struct act_store *st, const char *id, const json_t *ev,
                        const char *ev_text, bool client_id, int64_t now, char dup_id[40],
                        json_t **dup_execs, struct act_err *err);
    int (*exec_insert)(struct act_store *st, const struct act_exec_rec *x, struct act_err *err);
    /* pending/scheduled -> running with a lease. ACT_ENOTFOUND when not claimable. */
    int (*exec_claim)(struct act_store *st, const char *id, int64_t token, int64_t deadline,
                      int64_t started_at, struct act_err *err);
    /* running(id, token) -> f->status.  ACT_ENOTFOUND when the CAS fails. */
    int (*exec_finish)(struct act_store *st, const struct act_exec_finish *f, struct act_err *err);
    /* running -> pending (lease dropped: drain or recovery). */
    int (*exec_release)(struct act_store *st, const char *id, struct act_err *err);
    /* pending/scheduled/running -> cancelled.  ACT_ESTATE when final. */
    int (*exec_cancel)(struct act_store *st, const char *id, int64_t now, struct act_err *err);
    int (*dead_insert)(struct act_store *st, const char *exec_id, const char *action_id,
                       const char *reason, int64_t now, struct act_err *err);
    int (*dead_mark_replayed)(struct act_store *st, const char *exec_id, const char *replay_id,
                              struct act_err *err);

    /* Keyed documents (see act_engine_doc_put). */
    int (*doc_put)(struct act_store *st, const char *kind, const char *id, const char *key,
                   const json_t *doc, bool insert, int64_t now, struct act_err *err);
    int (*doc_delete)(struct act_store *st, const char *kind, const char *id, struct act_err *err);

    /* -- read side: any thread, committed data -- */
    int (*actions_load)(struct act_store *st, act_store_doc_fn *fn, void *ud, struct act_err *err);
    int (*subs_load)(struct act_store *st, act_store_doc_fn *fn, void *ud, struct act_err *err);
    /* Every execution not final, for resuming after a restart. */
    int (*execs_load_active)(struct act_store *st, act_store_exec_fn *fn, void *ud,
                             struct act_err *err);
    /* The stored event document (canonical event) and its received_at. */
    int (*event_get)(struct act_store *st, const char *id, json_t **doc, int64_t *received_at,
                     struct act_err *err);
    /* Ids of an event's first-attempt executions (for duplicate replies):
     * [{"id","action_id","subscription_id"}]. */
    int (*event_execs)(struct act_store *st, const char *event_id, json_t **out,
                       struct act_err *err);
    int (*action_get)(struct act_store *st, const char *id, json_t **out, struct act_err *err);
    int (*action_list)(struct act_store *st, const struct act_store_filter *f, json_t **items,
                       struct act_err *err);
    int (*sub_get)(struct act_store *st, const char *id, json_t **out, struct act_err *err);
    int (*sub_list)(struct act_store *st, const struct act_store_filter *f, json_t **items,
                    struct act_err *err);
    /* Just the status of an execution (cheap: for waiters that poll). */
    int (*exec_status)(struct act_store *st, const char *id, int *status, struct act_err *err);
    /* Execution document in API shape with its "lineage", both read in one
     * snapshot. */
    int (*exec_get)(struct act_store *st, const char *id, json_t **out, struct act_err *err);
    int (*exec_list)(struct act_store *st, const struct act_store_filter *f, json_t **items,
                     struct act_err *err);
    /* The retry chain through `id`: ancestors and descendants, oldest first:
     * [{"id","attempt","status","error"?}]. */
    int (*exec_lineage)(struct act_store *st, const char *id, json_t **out, struct act_err *err);
    /* Input of an execution as JSON (its own or its event's data). */
    int (*exec_input)(struct act_store *st, const char *id, json_t **out, struct act_err *err);
    int (*dead_get)(struct act_store *st, const char *exec_id, json_t **out, struct act_err *err);
    int (*dead_list)(struct act_store *st, const struct act_store_filter *f, json_t **items,
                     struct act_err *err);
    /* by_key: look `id_or_key` up as the key instead of the id. */
    int (*doc_get)(struct act_store *st, const char *kind, const char *id_or_key, bool by_key,
                   json_t **out, struct act_err *err);
    int (*doc_list)(struct act_store *st, const char *kind, json_t **out, struct act_err *err);
    /* Finished attempts of an action since `since` (us, 0 = all time):
     * counts per status and durations in ms (caller frees *durations). */
    int (*action_stats)(struct act_store *st, const char *action_id, int64_t since,
                        int64_t counts[ACT_EXEC_N_STATUS], double **durations, size_t *n,
                        int64_t *first_finished, struct act_err *err);
};

struct act_store {
    const struct act_store_ops *ops;
};

/* Open the SQLite backend in conf->data_dir (creates actiond.db, WAL mode,
 * synchronous FULL or NORMAL, schema migrations).  thread: init */
int act_store_sqlite_open(const struct act_store_conf *conf, struct act_store **out,
                          struct act_err *err);

#endif
