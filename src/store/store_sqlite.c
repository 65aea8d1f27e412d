/*
 * SQLite backend: open, schema, and the write side.
 *
 * Durability model.  The database runs in WAL mode with synchronous=FULL by
 * default, so a COMMIT returns only after the WAL is fsync'ed: "accepted
 * means durable".  synchronous=NORMAL (an option) can lose the last
 * transactions on power loss, never on a process crash.  Throughput comes
 * from group commit: the engine's single writer thread wraps many events,
 * claims and completions in one transaction, so they share one fsync.
 * Every operation inside a batch runs under a SAVEPOINT, so one failing
 * operation is rolled back alone and the rest of the batch commits.
 *
 * Checkpoints.  Auto-checkpointing is off on the writer connection (it
 * would copy WAL pages into the database inside whichever commit crosses
 * the threshold); a checkpoint thread with its own connection runs a
 * PASSIVE checkpoint every 200 ms when the WAL has grown, concurrently with
 * the writer, and a TRUNCATE checkpoint at close.
 *
 * Concurrency.  The writer connection belongs to the engine's writer thread.
 * Readers take a connection from a small pool; WAL gives them a consistent
 * snapshot of committed data without blocking the writer.  A lock file
 * (flock) keeps a second daemon off the same data directory, which is what
 * lets recovery treat every `running` row found at start-up as abandoned.
 */
#include "store/store_sqlite_internal.h"

#include "base/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS actions(id TEXT PRIMARY KEY, tenant TEXT NOT NULL,"
    " name TEXT NOT NULL, doc TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL, UNIQUE(tenant, name));"
    "CREATE TABLE IF NOT EXISTS subscriptions(id TEXT PRIMARY KEY, tenant TEXT NOT NULL,"
    " action_id TEXT NOT NULL, doc TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS subs_action ON subscriptions(action_id);"
    "CREATE TABLE IF NOT EXISTS events(id TEXT PRIMARY KEY, tenant TEXT NOT NULL,"
    " source TEXT NOT NULL, ce_id TEXT, type TEXT NOT NULL, doc TEXT NOT NULL,"
    " received_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX IF NOT EXISTS events_dedup ON events(tenant, source, ce_id)"
    " WHERE ce_id IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS executions(id TEXT PRIMARY KEY, tenant TEXT NOT NULL,"
    " action_id TEXT NOT NULL, event_id TEXT, subscription_id TEXT, parent_id TEXT,"
    " workflow_run_id TEXT, flow_execution_id TEXT, root_id TEXT, status INTEGER NOT NULL,"
    " attempt INTEGER NOT NULL, priority INTEGER NOT NULL, input TEXT, output TEXT,"
    " error TEXT, error_detail TEXT, queued_at INTEGER NOT NULL, started_at INTEGER,"
    " finished_at INTEGER, next_attempt_at INTEGER, lease_token INTEGER,"
    " lease_deadline INTEGER);"
    "CREATE INDEX IF NOT EXISTS execs_action ON executions(action_id, id);"
    "CREATE INDEX IF NOT EXISTS execs_event ON executions(event_id) WHERE event_id IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS execs_parent ON executions(parent_id)"
    " WHERE parent_id IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS execs_flow ON executions(flow_execution_id)"
    " WHERE flow_execution_id IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS dead_letters(execution_id TEXT PRIMARY KEY,"
    " tenant TEXT NOT NULL, action_id TEXT NOT NULL, reason TEXT,"
    " created_at INTEGER NOT NULL, replayed_by TEXT);"
    "CREATE INDEX IF NOT EXISTS dead_action ON dead_letters(action_id, created_at);"
    "CREATE TABLE IF NOT EXISTS docs(kind TEXT NOT NULL, tenant TEXT NOT NULL, id TEXT NOT NULL,"
    " key TEXT, doc TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    " PRIMARY KEY(kind, tenant, id), UNIQUE(kind, tenant, key));"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', '1');";

static const char *const wsql[W_N] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    [W_SAVEPOINT] = "SAVEPOINT op",
    [W_RELEASE] = "RELEASE op",
    [W_ROLLBACK_TO] = "ROLLBACK TO op",
    [W_ACTION_INSERT] = "INSERT INTO actions(id, tenant, name, doc, created_at, updated_at)"
                        " VALUES(?1, ?2, ?3, ?4, ?5, ?5)",
    [W_ACTION_UPDATE] = "UPDATE actions SET name = ?3, doc = ?4, updated_at = ?5"
                        " WHERE id = ?1 AND tenant = ?2",
    [W_ACTION_DELETE] = "DELETE FROM actions WHERE id = ?1 AND tenant = ?2",
    [W_ACTION_NAME_OWNER] = "SELECT id FROM actions WHERE tenant = ?1 AND name = ?2",
    [W_SUB_INSERT] = "INSERT INTO subscriptions(id, tenant, action_id, doc, created_at, updated_at)"
                     " VALUES(?1, ?2, ?3, ?4, ?5, ?5)",
    [W_SUB_UPDATE] = "UPDATE subscriptions SET action_id = ?3, doc = ?4, updated_at = ?5"
                     " WHERE id = ?1 AND tenant = ?2",
    [W_SUB_DELETE] = "DELETE FROM subscriptions WHERE id = ?1 AND tenant = ?2",
    [W_SUBS_OF_ACTION_DELETE] = "DELETE FROM subscriptions WHERE action_id = ?1 AND tenant = ?2",
    [W_EVENT_INSERT] = "INSERT OR IGNORE INTO events(id, tenant, source, ce_id, type, doc,"
                       " received_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [W_EVENT_FIND] = "SELECT id FROM events WHERE tenant = ?1 AND source = ?2 AND ce_id = ?3",
    [W_EVENT_EXECS] = "SELECT id, action_id, subscription_id FROM executions WHERE event_id = ?1"
                      " AND parent_id IS NULL ORDER BY id",
    [W_EXEC_INSERT] =
        "INSERT INTO executions(id, tenant, action_id, event_id, subscription_id, parent_id,"
        " workflow_run_id, flow_execution_id, status, attempt, priority, input, queued_at,"
        " started_at, next_attempt_at, lease_token, lease_deadline, root_id)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    [W_EXEC_CLAIM] = "UPDATE executions SET status = 2, lease_token = ?2, lease_deadline = ?3,"
                     " started_at = ?4, next_attempt_at = NULL WHERE id = ?1 AND status < 2",
    [W_EXEC_FINISH] = "UPDATE executions SET status = ?3, output = ?4, error = ?5,"
                      " error_detail = ?6, started_at = ?7, finished_at = ?8, lease_token = NULL,"
                      " lease_deadline = NULL WHERE id = ?1 AND lease_token = ?2 AND status = 2",
    [W_EXEC_RELEASE] = "UPDATE executions SET status = 0, lease_token = NULL,"
                       " lease_deadline = NULL, started_at = NULL WHERE id = ?1 AND status = 2",
    [W_EXEC_CANCEL] = "UPDATE executions SET status = 6, finished_at = ?2, lease_token = NULL,"
                      " lease_deadline = NULL WHERE id = ?1 AND status < 3",
    [W_EXEC_STATUS] = "SELECT status FROM executions WHERE id = ?1",
    [W_DEAD_INSERT] = "INSERT OR REPLACE INTO dead_letters(execution_id, tenant, action_id,"
                      " reason, created_at) VALUES(?1, ?2, ?3, ?4, ?5)",
    [W_DEAD_REPLAYED] = "UPDATE dead_letters SET replayed_by = ?2 WHERE execution_id = ?1",
    [W_DOC_INSERT] = "INSERT INTO docs(kind, tenant, id, key, doc, created_at, updated_at)"
                     " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6)",
    [W_DOC_UPDATE] = "UPDATE docs SET key = ?4, doc = ?5, updated_at = ?6"
                     " WHERE kind = ?1 AND tenant = ?2 AND id = ?3",
    [W_DOC_DELETE] = "DELETE FROM docs WHERE kind = ?1 AND tenant = ?2 AND id = ?3",
};

int act_sqlite_fail(sqlite3 *db, struct act_err *err, const char *what)
{
    return act_err_set(err, ACT_EIO, "store: %s: %s", what, sqlite3_errmsg(db));
}

int act_sqlite_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (!s)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static int bind_opt_int(sqlite3_stmt *st, int i, int64_t v)
{
    if (!v)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_int64(st, i, v);
}

/* Run a prepared writer statement to completion; returns the step result. */
static int wstep(struct sqlite_store *s, enum wstmt k)
{
    int rc = sqlite3_step(s->w[k]);
    if (rc == SQLITE_ROW)
        return rc;
    sqlite3_reset(s->w[k]);
    sqlite3_clear_bindings(s->w[k]);
    return rc;
}

static void wdone(struct sqlite_store *s, enum wstmt k)
{
    sqlite3_reset(s->w[k]);
    sqlite3_clear_bindings(s->w[k]);
}

static int simple(struct sqlite_store *s, enum wstmt k, struct act_err *err, const char *what)
{
    int rc = wstep(s, k);
    if (rc != SQLITE_DONE)
        return act_sqlite_fail(s->wdb, err, what);
    return ACT_OK;
}

static struct sqlite_store *S(struct act_store *st)
{
    return (struct sqlite_store *)st;
}

static int s_begin(struct act_store *st, struct act_err *err)
{
    return simple(S(st), W_BEGIN, err, "begin");
}

static int s_commit(struct act_store *st, struct act_err *err)
{
    return simple(S(st), W_COMMIT, err, "commit");
}

static void s_rollback(struct act_store *st)
{
    (void)wstep(S(st), W_ROLLBACK);
}

static int s_savepoint(struct act_store *st)
{
    return wstep(S(st), W_SAVEPOINT) == SQLITE_DONE ? ACT_OK : ACT_EIO;
}

static void s_release(struct act_store *st)
{
    (void)wstep(S(st), W_RELEASE);
}

static void s_rollback_to(struct act_store *st)
{
    (void)wstep(S(st), W_ROLLBACK_TO);
    (void)wstep(S(st), W_RELEASE);
}

static int doc_put(struct sqlite_store *s, enum wstmt ins, enum wstmt upd, const char *id,
                   const char *key, const json_t *doc, bool insert, int64_t now,
                   struct act_err *err)
{
    enum wstmt k = insert ? ins : upd;
    char *text = json_dumps(doc, JSON_COMPACT);
    sqlite3_stmt *q = s->w[k];
    int rc;

    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, s->tenant, -1, SQLITE_STATIC);
    act_sqlite_bind_text(q, 3, key);
    sqlite3_bind_text(q, 4, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, now);
    rc = wstep(s, k);
    act_free(text);
    if (rc == SQLITE_CONSTRAINT)
        return act_err_field(err, ACT_ECONFLICT, "name", "name '%s' is already taken", key);
    if (rc != SQLITE_DONE)
        return act_sqlite_fail(s->wdb, err, "put");
    if (!insert && sqlite3_changes(s->wdb) == 0)
        return act_err_set(err, ACT_ENOTFOUND, "'%s' not found", id);
    return ACT_OK;
}

static int s_action_put(struct act_store *st, const char *id, const json_t *doc, bool insert,
                        int64_t now, struct act_err *err)
{
    const char *name = json_string_value(json_object_get(doc, "name"));
    return doc_put(S(st), W_ACTION_INSERT, W_ACTION_UPDATE, id, name, doc, insert, now, err);
}

static int s_sub_put(struct act_store *st, const char *id, const json_t *doc, bool insert,
                     int64_t now, struct act_err *err)
{
    const char *action_id = json_string_value(json_object_get(doc, "action_id"));
    int rc = doc_put(S(st), W_SUB_INSERT, W_SUB_UPDATE, id, action_id, doc, insert, now, err);
    if (rc == ACT_ECONFLICT) /* no unique key on subscriptions besides the id */
        return act_err_set(err, ACT_ECONFLICT, "subscription '%s' exists", id);
    return rc;
}

static int delete_by_id(struct sqlite_store *s, enum wstmt k, const char *id, struct act_err *err)
{
    sqlite3_bind_text(s->w[k], 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->w[k], 2, s->tenant, -1, SQLITE_STATIC);
    if (wstep(s, k) != SQLITE_DONE)
        return act_sqlite_fail(s->wdb, err, "delete");
    return sqlite3_changes(s->wdb) ? ACT_OK : act_err_set(err, ACT_ENOTFOUND, "'%s' not found", id);
}

static int s_action_delete(struct act_store *st, const char *id, struct act_err *err)
{
    int rc = delete_by_id(S(st), W_ACTION_DELETE, id, err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(S(st)->w[W_SUBS_OF_ACTION_DELETE], 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(S(st)->w[W_SUBS_OF_ACTION_DELETE], 2, S(st)->tenant, -1, SQLITE_STATIC);
    return simple(S(st), W_SUBS_OF_ACTION_DELETE, err, "delete subscriptions");
}

static int s_sub_delete(struct act_store *st, const char *id, struct act_err *err)
{
    return delete_by_id(S(st), W_SUB_DELETE, id, err);
}

static int s_event_insert(struct act_store *st, const char *id, const json_t *ev,
                          const char *text, bool client_id, int64_t now, char dup_id[40],
                          json_t **dup_execs, struct act_err *err)
{
    struct sqlite_store *s = S(st);
    sqlite3_stmt *q = s->w[W_EVENT_INSERT];
    const char *source = json_string_value(json_object_get(ev, "source"));
    const char *ce_id = json_string_value(json_object_get(ev, "id"));
    const char *type = json_string_value(json_object_get(ev, "type"));
    int rc;

    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, s->tenant, -1, SQLITE_STATIC);
    act_sqlite_bind_text(q, 3, source ? source : "");
    act_sqlite_bind_text(q, 4, client_id ? ce_id : NULL);
    act_sqlite_bind_text(q, 5, type ? type : "");
    sqlite3_bind_text(q, 6, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, now);
    rc = wstep(s, W_EVENT_INSERT);
    if (rc != SQLITE_DONE)
        return act_sqlite_fail(s->wdb, err, "insert event");
    if (sqlite3_changes(s->wdb) == 1 || !client_id)
        return ACT_OK;
    /* Ignored: the (source, id) pair exists; report the first event's id. */
    q = s->w[W_EVENT_FIND];
    sqlite3_bind_text(q, 1, s->tenant, -1, SQLITE_STATIC);
    act_sqlite_bind_text(q, 2, source ? source : "");
    act_sqlite_bind_text(q, 3, ce_id ? ce_id : id);
    rc = wstep(s, W_EVENT_FIND);
    if (rc != SQLITE_ROW) {
        wdone(s, W_EVENT_FIND);
        return act_sqlite_fail(s->wdb, err, "find duplicate event");
    }
    snprintf(dup_id, 40, "%s", (const char *)sqlite3_column_text(q, 0));
    wdone(s, W_EVENT_FIND);
    q = s->w[W_EVENT_EXECS];
    sqlite3_bind_text(q, 1, dup_id, -1, SQLITE_STATIC);
    *dup_execs = json_array();
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        json_array_append_new(*dup_execs,
                              json_pack("{s:s, s:s, s:s?}", "id", sqlite3_column_text(q, 0),
                                        "action_id", sqlite3_column_text(q, 1), "subscription_id",
                                        sqlite3_column_text(q, 2)));
    wdone(s, W_EVENT_EXECS);
    return ACT_ECONFLICT;
}

static int s_exec_insert(struct act_store *st, const struct act_exec_rec *x, struct act_err *err)
{
    struct sqlite_store *s = S(st);
    sqlite3_stmt *q = s->w[W_EXEC_INSERT];

    sqlite3_bind_text(q, 1, x->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, s->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, x->action_id, -1, SQLITE_STATIC);
    act_sqlite_bind_text(q, 4, x->event_id);
    act_sqlite_bind_text(q, 5, x->subscription_id);
    act_sqlite_bind_text(q, 6, x->parent_id);
    act_sqlite_bind_text(q, 7, x->workflow_run_id);
    act_sqlite_bind_text(q, 8, x->flow_execution_id);
    sqlite3_bind_int(q, 9, x->status);
    sqlite3_bind_int(q, 10, x->attempt);
    sqlite3_bind_int(q, 11, x->priority);
    act_sqlite_bind_text(q, 12, x->input);
    sqlite3_bind_int64(q, 13, x->queued_at);
    bind_opt_int(q, 14, x->started_at);
    bind_opt_int(q, 15, x->next_attempt_at);
    bind_opt_int(q, 16, x->lease_token);
    bind_opt_int(q, 17, x->lease_deadline);
    act_sqlite_bind_text(q, 18, x->root_id);
    if (wstep(s, W_EXEC_INSERT) != SQLITE_DONE)
        return act_sqlite_fail(s->wdb, err, "insert execution");
    return ACT_OK;
}

static int s_exec_claim(struct act_store *st, const char *id, int64_t token, int64_t deadline,
                        int64_t started_at, struct act_err *err)
{
    struct sqlite_store *s = S(st);
    sqlite3_stmt *q = s->w[W_EXEC_CLAIM];

    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, token);
    sqlite3_bind_int64(q, 3, deadline);
    sqlite3_bind_int64(q, 4, started_at);
    if (wstep(s, W_EXEC_CLAIM) != SQLITE_DONE)
        return act_sqlite_fail(s->wdb, err, "claim");
    if (sqlite3_changes(s->wdb) == 0)
        return act_err_set(err, ACT_ENOTFOUND, "execution '%s' is not claimable", id);
    return ACT_OK;
}

static int s_exec_finish(struct act_store *st, const struct act_exec_finish *f,
                         struct act_err *err)
{
    struct sqlite_store *s = S(st);
    sqlite3_stmt *q = s->w[W_EXEC_FINISH];

    sqlite3_bind_text(q, 1, f->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, f->lease_token);
    sqlite3_bind_int(q, 3, f->status);
    act_sqlite_bind_text(q, 4, f->output);
    act_sqlite_bind_text(q, 5, f->error);
    act_sqlite_bind_text(q, 6, f->error_detail);
    bind_opt_int(q, 7, f->started_at);
    sqlite3_bind_int64(q, 8, f->finished_at);
    if (wstep(s, W_EXEC_FINISH) != SQLITE_DONE)
        return act_sqlite_fail(s->wdb, err, "finish");
    if (sqlite3_changes(s->wdb) == 0)
        return act_err_set(err, ACT_ENOTFOUND, "execution '%s': lease lost", f->id);
    return ACT_OK;
}

static int s_exec_release(struct act_store *st, const char *id, struct act_err *err)
{
    struct sqlite_store *s = S(st);
    sqlite3_bind_text(s->w[W_EXEC_RELEASE], 1, id, -1, SQLITE_STATIC);
    return simple(s, W_EXEC_RELEASE, err, "release");
}

static int s_exec_cancel(struct act_store *st, const char *id, int64_t now, struct act_err *err)
{
    struct sqlite_store *s = S(st);
    sqlite3_stmt *q = s->w[W_EXEC_CANCEL];
    int rc;

    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now);
    if (wstep(s, W_EXEC_CANCEL) != SQLITE_DONE)
        return act_sqlite_fail(s->wdb, err, "cancel");
    if (sqlite3_changes(s->wdb) == 1)
        return ACT_OK;
    q = s->w[W_EXEC_STATUS];
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    rc = wstep(s, W_EXEC_STATUS);
    if (rc != SQLITE_ROW) {
        wdone(s, W_EXEC_STATUS);
        return act_err_set(err, ACT_ENOTFOUND, "execution '%s' not found", id);
    }
    rc = sqlite3_column_int(q, 0);
    wdone(s, W_EXEC_STATUS);
    return act_err_set(err, ACT_ESTATE, "execution '%s' is already %s", id,
                       act_exec_status_name(rc));
}

static int s_dead_insert(struct act_store *st, const char *exec_id, const char *action_id,
                         const char *reason, int64_t now, struct act_err *err)
{
    struct sqlite_store *s = S(st);
    sqlite3_stmt *q = s->w[W_DEAD_INSERT];

    sqlite3_bind_text(q, 1, exec_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, s->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, action_id, -1, SQLITE_STATIC);
    act_sqlite_bind_text(q, 4, reason);
    sqlite3_bind_int64(q, 5, now);
    return simple(s, W_DEAD_INSERT, err, "insert dead letter");
}

static int s_dead_mark_replayed(struct act_store *st, const char *exec_id, const char *replay_id,
                                struct act_err *err)
{
    struct sqlite_store *s = S(st);
    sqlite3_bind_text(s->w[W_DEAD_REPLAYED], 1, exec_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->w[W_DEAD_REPLAYED], 2, replay_id, -1, SQLITE_STATIC);
    return simple(s, W_DEAD_REPLAYED, err, "mark replayed");
}

static int s_doc_put(struct act_store *st, const char *kind, const char *id, const char *key,
                     const json_t *doc, bool insert, int64_t now, struct act_err *err)
{
    struct sqlite_store *s = S(st);
    enum wstmt k = insert ? W_DOC_INSERT : W_DOC_UPDATE;
    sqlite3_stmt *q = s->w[k];
    char *text = json_dumps(doc, JSON_COMPACT);
    int rc;

    sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, s->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, id, -1, SQLITE_STATIC);
    act_sqlite_bind_text(q, 4, key);
    sqlite3_bind_text(q, 5, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, now);
    rc = wstep(s, k);
    act_free(text);
    if (rc == SQLITE_CONSTRAINT)
        return act_err_set(err, ACT_ECONFLICT, "%s '%s' exists already", kind, key ? key : id);
    if (rc != SQLITE_DONE)
        return act_sqlite_fail(s->wdb, err, "put document");
    if (!insert && sqlite3_changes(s->wdb) == 0)
        return act_err_set(err, ACT_ENOTFOUND, "%s '%s' not found", kind, id);
    return ACT_OK;
}

static int s_doc_delete(struct act_store *st, const char *kind, const char *id,
                        struct act_err *err)
{
    struct sqlite_store *s = S(st);
    sqlite3_stmt *q = s->w[W_DOC_DELETE];

    sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, s->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, id, -1, SQLITE_STATIC);
    if (wstep(s, W_DOC_DELETE) != SQLITE_DONE)
        return act_sqlite_fail(s->wdb, err, "delete document");
    return sqlite3_changes(s->wdb) ? ACT_OK
                                   : act_err_set(err, ACT_ENOTFOUND, "%s '%s' not found", kind, id);
}

static void ckpt_stop(struct sqlite_store *s)
{
    if (!s->ckpt_running)
        return;
    pthread_mutex_lock(&s->ckpt_lock);
    s->ckpt_stop = true;
    pthread_cond_signal(&s->ckpt_cond);
    pthread_mutex_unlock(&s->ckpt_lock);
    pthread_join(s->ckpt_thread, NULL);
    s->ckpt_running = false;
}

static void s_close(struct act_store *st)
{
    struct sqlite_store *s = S(st);
    struct read_conn *c, *next;

    if (!s)
        return;
    ckpt_stop(s);
    for (int i = 0; i < W_N; i++)
        sqlite3_finalize(s->w[i]);
    if (s->wdb) {
        /* Checkpoint so the WAL does not grow across restarts. */
        sqlite3_wal_checkpoint_v2(s->wdb, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        sqlite3_close_v2(s->wdb);
    }
    for (c = s->pool; c; c = next) {
        next = c->next;
        sqlite3_close_v2(c->db);
        act_free(c);
    }
    pthread_mutex_destroy(&s->pool_lock);
    pthread_mutex_destroy(&s->ckpt_lock);
    pthread_cond_destroy(&s->ckpt_cond);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    act_free(s->path);
    act_free(s->tenant);
    act_free(s);
}

static int open_conn(const char *path, bool sync_full, sqlite3 **out, struct act_err *err);

static void *ckpt_main(void *arg)
{
    struct sqlite_store *s = arg;
    sqlite3 *db = NULL;
    struct timespec ts;

    pthread_setname_np(pthread_self(), "act-ckpt"); /* top -H, perf */
    if (open_conn(s->path, false, &db, NULL) < 0)
        return NULL;
    pthread_mutex_lock(&s->ckpt_lock);
    while (!s->ckpt_stop) {
        int wal_frames = 0, done = 0;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->ckpt_cond, &s->ckpt_lock, &ts);
        if (s->ckpt_stop)
            break;
        pthread_mutex_unlock(&s->ckpt_lock);
        sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &done);
        pthread_mutex_lock(&s->ckpt_lock);
    }
    pthread_mutex_unlock(&s->ckpt_lock);
    sqlite3_close_v2(db);
    return NULL;
}

static int open_conn(const char *path, bool sync_full, sqlite3 **out, struct act_err *err)
{
    sqlite3 *db = NULL;
    char pragmas[256];
    int rc = sqlite3_open_v2(path, &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        rc = act_err_set(err, ACT_EIO, "store: cannot open '%s': %s", path,
                         db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return rc;
    }
    sqlite3_busy_timeout(db, 10000);
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=OFF;"
             " PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY;",
             sync_full ? "FULL" : "NORMAL");
    if (sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
        rc = act_sqlite_fail(db, err, "pragmas");
        sqlite3_close_v2(db);
        return rc;
    }
    *out = db;
    return ACT_OK;
}

sqlite3 *act_sqlite_read_get(struct sqlite_store *s, struct act_err *err)
{
    struct read_conn *c;
    sqlite3 *db = NULL;

    pthread_mutex_lock(&s->pool_lock);
    c = s->pool;
    if (c)
        s->pool = c->next;
    pthread_mutex_unlock(&s->pool_lock);
    if (c) {
        db = c->db;
        act_free(c);
        return db;
    }
    if (open_conn(s->path, false, &db, err) < 0)
        return NULL;
    return db;
}

void act_sqlite_read_put(struct sqlite_store *s, sqlite3 *db)
{
    struct read_conn *c = act_xmalloc(sizeof(*c));
    c->db = db;
    pthread_mutex_lock(&s->pool_lock);
    c->next = s->pool;
    s->pool = c;
    pthread_mutex_unlock(&s->pool_lock);
}

/* Keep a second process off this data directory for our lifetime. */
static int lock_data_dir(const char *dir, int *out_fd, struct act_err *err)
{
    char path[4200];
    int fd;

    snprintf(path, sizeof(path), "%s/actiond.lock", dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return act_err_set(err, ACT_EIO, "store: cannot open '%s': %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        return act_err_set(err, ACT_EBUSY, "store: data directory '%s' is in use by another process",
                           dir);
    }
    *out_fd = fd; /* stays open (and locked) until the store closes */
    return ACT_OK;
}

/* Process-wide SQLite settings, before its first use: no memory statistics
 * (they put a global mutex on every allocation).  Fails harmlessly when an
 * embedding program initialised SQLite already. */
static void sqlite_global_config(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int act_store_sqlite_open(const struct act_store_conf *conf, struct act_store **out,
                          struct act_err *err)
{
    static struct act_store_ops ops;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct sqlite_store *s;
    char *errmsg = NULL;
    int rc, lock_fd = -1;

    *out = NULL;
    pthread_once(&once, sqlite_global_config);
    if (mkdir(conf->data_dir, 0755) < 0 && errno != EEXIST)
        return act_err_set(err, ACT_EIO, "store: cannot create '%s': %s", conf->data_dir,
                           strerror(errno));
    if ((rc = lock_data_dir(conf->data_dir, &lock_fd, err)) < 0)
        return rc;
    if (!ops.name) {
        ops = (struct act_store_ops){
            .name = "sqlite", .close = s_close, .begin = s_begin, .commit = s_commit,
            .rollback = s_rollback, .savepoint = s_savepoint, .release = s_release,
            .rollback_to = s_rollback_to, .action_put = s_action_put,
            .action_delete = s_action_delete, .sub_put = s_sub_put, .sub_delete = s_sub_delete,
            .event_insert = s_event_insert, .exec_insert = s_exec_insert,
            .exec_claim = s_exec_claim, .exec_finish = s_exec_finish,
            .exec_release = s_exec_release, .exec_cancel = s_exec_cancel,
            .dead_insert = s_dead_insert, .dead_mark_replayed = s_dead_mark_replayed,
            .doc_put = s_doc_put, .doc_delete = s_doc_delete,
        };
        act_sqlite_read_ops(&ops);
    }
    s = act_xcalloc(1, sizeof(*s));
    s->base.ops = &ops;
    s->lock_fd = lock_fd;
    s->path = act_xasprintf("%s/actiond.db", conf->data_dir);
    s->tenant = act_xstrdup(conf->tenant ? conf->tenant : "admin");
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_mutex_init(&s->ckpt_lock, NULL);
    pthread_cond_init(&s->ckpt_cond, NULL);
    if ((rc = open_conn(s->path, conf->sync_full, &s->wdb, err)) < 0)
        goto fail;
    /* Bigger lookaside: the writer's statements allocate many small objects. */
    sqlite3_db_config(s->wdb, SQLITE_DBCONFIG_LOOKASIDE, NULL, 512, 2048);
    sqlite3_wal_autocheckpoint(s->wdb, 0);
    if (sqlite3_exec(s->wdb, schema_sql, NULL, NULL, &errmsg) != SQLITE_OK) {
        rc = act_err_set(err, ACT_EIO, "store: schema: %s", errmsg ? errmsg : "?");
        sqlite3_free(errmsg);
        goto fail;
    }
    for (int i = 0; i < W_N; i++) {
        if (sqlite3_prepare_v3(s->wdb, wsql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->w[i], NULL) !=
            SQLITE_OK) {
            rc = act_sqlite_fail(s->wdb, err, wsql[i]);
            goto fail;
        }
    }
    if (pthread_create(&s->ckpt_thread, NULL, ckpt_main, s) == 0)
        s->ckpt_running = true;
    else /* fall back to checkpoints inside commits */
        sqlite3_wal_autocheckpoint(s->wdb, 1000);
    *out = &s->base;
    return ACT_OK;
fail:
    s_close(&s->base);
    return rc;
}
