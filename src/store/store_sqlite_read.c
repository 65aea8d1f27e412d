/*
 * SQLite backend: the read side.  Every function borrows a pooled read
 * connection, prepares its statement (SQLite caches the parse), and returns
 * committed data as JSON documents in the API's shapes.  Lists use keyset
 * pagination on the UUIDv7 id: ids sort by creation time, so "newest first"
 * is `ORDER BY id DESC` and the cursor is the last id returned.
 */
#include "store/store_sqlite_internal.h"

#include "base/alloc.h"
#include "base/time.h"

#include <stdio.h>
#include <string.h>

static struct sqlite_store *S(struct act_store *st)
{
    return (struct sqlite_store *)st;
}

/* A growable SQL text with positional binds collected beside it. */
struct qb {
    char sql[2048];
    size_t len;
    const char *texts[16];
    int64_t ints[16];
    int kinds[16]; /* 0 text, 1 int */
    int n;
};

static void qb_add(struct qb *b, const char *frag)
{
    int n = snprintf(b->sql + b->len, sizeof(b->sql) - b->len, "%s", frag);
    if (n > 0)
        b->len += (size_t)n;
    if (b->len >= sizeof(b->sql))
        ACT_BUG("query too long");
}

static void qb_text(struct qb *b, const char *frag, const char *v)
{
    qb_add(b, frag);
    b->kinds[b->n] = 0;
    b->texts[b->n++] = v;
}

static void qb_int(struct qb *b, const char *frag, int64_t v)
{
    qb_add(b, frag);
    b->kinds[b->n] = 1;
    b->ints[b->n++] = v;
}

static int qb_prepare(struct qb *b, sqlite3 *db, sqlite3_stmt **st, struct act_err *err)
{
    if (sqlite3_prepare_v2(db, b->sql, (int)b->len, st, NULL) != SQLITE_OK)
        return act_sqlite_fail(db, err, "prepare");
    for (int i = 0; i < b->n; i++) {
        if (b->kinds[i])
            sqlite3_bind_int64(*st, i + 1, b->ints[i]);
        else
            sqlite3_bind_text(*st, i + 1, b->texts[i], -1, SQLITE_STATIC);
    }
    return ACT_OK;
}

static json_t *col_json(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    json_t *v;
    if (!t)
        return json_null();
    v = json_loads(t, JSON_DECODE_ANY, NULL);
    return v ? v : json_string(t);
}

static json_t *col_str(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? json_string(t) : json_null();
}

static json_t *col_time(sqlite3_stmt *st, int i)
{
    char buf[40];
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return json_null();
    return json_string(act_time_format_rfc3339(sqlite3_column_int64(st, i), buf, sizeof(buf)));
}

/* ---- documents: actions and subscriptions ---- */

static json_t *doc_row(sqlite3_stmt *st)
{
    json_t *doc = col_json(st, 1);
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = json_object();
    }
    json_object_set_new(doc, "id", col_str(st, 0));
    json_object_set_new(doc, "created_at", col_time(st, 2));
    json_object_set_new(doc, "updated_at", col_time(st, 3));
    return doc;
}

typedef json_t *row_fn(sqlite3_stmt *st);

/* Run a built query on `db` and collect rows. */
static int run_list_on(sqlite3 *db, struct qb *b, row_fn *fn, json_t **items, struct act_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *items = NULL;
    if ((rc = qb_prepare(b, db, &st, err)) < 0)
        goto out;
    *items = json_array();
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(*items, fn(st));
    if (rc != SQLITE_DONE) {
        rc = act_sqlite_fail(db, err, "list");
        json_decref(*items);
        *items = NULL;
        goto out;
    }
    rc = ACT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* Run a built query on a pooled connection (limit+1 fetched by the caller's SQL). */
static int run_list(struct sqlite_store *s, struct qb *b, row_fn *fn, json_t **items,
                    struct act_err *err)
{
    sqlite3 *db = act_sqlite_read_get(s, err);
    int rc;

    *items = NULL;
    if (!db)
        return err ? err->code : ACT_EIO;
    rc = run_list_on(db, b, fn, items, err);
    act_sqlite_read_put(s, db);
    return rc;
}

static int get_one(struct sqlite_store *s, struct qb *b, row_fn *fn, const char *what,
                   const char *id, json_t **out, struct act_err *err)
{
    json_t *items = NULL;
    int rc = run_list(s, b, fn, &items, err);
    *out = NULL;
    if (rc < 0)
        return rc;
    if (json_array_size(items) == 0) {
        json_decref(items);
        return act_err_set(err, ACT_ENOTFOUND, "%s '%s' not found", what, id);
    }
    *out = json_incref(json_array_get(items, 0));
    json_decref(items);
    return ACT_OK;
}

static int load_docs(struct sqlite_store *s, const char *table, act_store_doc_fn *fn, void *ud,
                     struct act_err *err)
{
    struct qb b = {0};
    json_t *items = NULL;
    size_t i;
    json_t *doc;
    int rc;

    qb_add(&b, "SELECT id, doc, created_at, updated_at FROM ");
    qb_add(&b, table);
    qb_text(&b, " WHERE tenant = ? ORDER BY id", s->tenant);
    if ((rc = run_list(s, &b, doc_row, &items, err)) < 0)
        return rc;
    json_array_foreach(items, i, doc)
    {
        if ((rc = fn(json_string_value(json_object_get(doc, "id")), doc, ud)) < 0)
            break;
    }
    json_decref(items);
    return rc < 0 ? rc : ACT_OK;
}

static int r_actions_load(struct act_store *st, act_store_doc_fn *fn, void *ud,
                          struct act_err *err)
{
    return load_docs(S(st), "actions", fn, ud, err);
}

static int r_subs_load(struct act_store *st, act_store_doc_fn *fn, void *ud, struct act_err *err)
{
    return load_docs(S(st), "subscriptions", fn, ud, err);
}

static int r_action_get(struct act_store *st, const char *id, json_t **out, struct act_err *err)
{
    struct qb b = {0};
    qb_text(&b, "SELECT id, doc, created_at, updated_at FROM actions WHERE id = ?", id);
    qb_text(&b, " AND tenant = ?", S(st)->tenant);
    return get_one(S(st), &b, doc_row, "action", id, out, err);
}

static int r_sub_get(struct act_store *st, const char *id, json_t **out, struct act_err *err)
{
    struct qb b = {0};
    qb_text(&b, "SELECT id, doc, created_at, updated_at FROM subscriptions WHERE id = ?", id);
    qb_text(&b, " AND tenant = ?", S(st)->tenant);
    return get_one(S(st), &b, doc_row, "subscription", id, out, err);
}

static int r_action_list(struct act_store *st, const struct act_store_filter *f, json_t **items,
                         struct act_err *err)
{
    struct qb b = {0};
    qb_text(&b, "SELECT id, doc, created_at, updated_at FROM actions WHERE tenant = ?",
            S(st)->tenant);
    if (f->category)
        qb_text(&b, " AND doc ->> '$.category' = ?", f->category);
    if (f->enabled >= 0)
        qb_int(&b, " AND doc ->> '$.enabled' = ?", f->enabled);
    if (f->q)
    {
        qb_text(&b, " AND (instr(name, ?) > 0", f->q);
        qb_text(&b, " OR instr(doc ->> '$.description', ?) > 0)", f->q);
    }
    if (f->cursor)
        qb_text(&b, " AND id > ?", f->cursor);
    qb_int(&b, " ORDER BY id LIMIT ?", f->limit + 1);
    return run_list(S(st), &b, doc_row, items, err);
}

static int r_sub_list(struct act_store *st, const struct act_store_filter *f, json_t **items,
                      struct act_err *err)
{
    struct qb b = {0};
    qb_text(&b, "SELECT id, doc, created_at, updated_at FROM subscriptions WHERE tenant = ?",
            S(st)->tenant);
    if (f->action_id)
        qb_text(&b, " AND action_id = ?", f->action_id);
    if (f->cursor)
        qb_text(&b, " AND id > ?", f->cursor);
    qb_int(&b, " ORDER BY id LIMIT ?", f->limit + 1);
    return run_list(S(st), &b, doc_row, items, err);
}

/* ---- events ---- */

static int r_event_get(struct act_store *st, const char *id, json_t **doc, int64_t *received_at,
                       struct act_err *err)
{
    struct sqlite_store *s = S(st);
    sqlite3 *db = act_sqlite_read_get(s, err);
    sqlite3_stmt *q = NULL;
    int rc;

    *doc = NULL;
    if (!db)
        return err ? err->code : ACT_EIO;
    rc = sqlite3_prepare_v2(db, "SELECT doc, received_at FROM events WHERE id = ? AND tenant = ?",
                            -1, &q, NULL);
    if (rc != SQLITE_OK) {
        rc = act_sqlite_fail(db, err, "prepare");
        goto out;
    }
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, s->tenant, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *doc = col_json(q, 0);
        if (received_at)
            *received_at = sqlite3_column_int64(q, 1);
        rc = ACT_OK;
    } else if (rc == SQLITE_DONE) {
        rc = act_err_set(err, ACT_ENOTFOUND, "event '%s' not found", id);
    } else {
        rc = act_sqlite_fail(db, err, "event");
    }
out:
    sqlite3_finalize(q);
    act_sqlite_read_put(s, db);
    return rc;
}

static json_t *exec_ref_row(sqlite3_stmt *st)
{
    return json_pack("{s:o, s:o, s:o}", "id", col_str(st, 0), "action_id", col_str(st, 1),
                     "subscription_id", col_str(st, 2));
}

static int r_event_execs(struct act_store *st, const char *event_id, json_t **out,
                         struct act_err *err)
{
    struct qb b = {0};
    qb_text(&b,
            "SELECT id, action_id, subscription_id FROM executions WHERE event_id = ?"
            " AND parent_id IS NULL",
            event_id);
    qb_text(&b, " AND tenant = ? ORDER BY id", S(st)->tenant);
    return run_list(S(st), &b, exec_ref_row, out, err);
}

/* ---- executions ---- */

#define EXEC_COLS                                                                                  \
    "x.id, x.action_id, x.event_id, x.subscription_id, x.parent_id, x.workflow_run_id,"            \
    " x.flow_execution_id, x.status, x.attempt, x.priority,"                                       \
    " COALESCE(x.input, e.doc -> '$.data'), x.output, x.error, x.error_detail, x.queued_at,"       \
    " x.started_at, x.finished_at, x.next_attempt_at"
#define EXEC_FROM " FROM executions x LEFT JOIN events e ON e.id = x.event_id"

static json_t *exec_row_at(sqlite3_stmt *st, int c)
{
    json_t *o = json_object();
    json_t *dur = json_null();

    json_object_set_new(o, "id", col_str(st, c + 0));
    json_object_set_new(o, "action_id", col_str(st, c + 1));
    json_object_set_new(o, "event_id", col_str(st, c + 2));
    json_object_set_new(o, "subscription_id", col_str(st, c + 3));
    json_object_set_new(o, "parent_id", col_str(st, c + 4));
    json_object_set_new(o, "workflow_run_id", col_str(st, c + 5));
    json_object_set_new(o, "flow_execution_id", col_str(st, c + 6));
    json_object_set_new(o, "status", json_string(act_exec_status_name(sqlite3_column_int(st, c + 7))));
    json_object_set_new(o, "attempt", json_integer(sqlite3_column_int(st, c + 8)));
    json_object_set_new(o, "priority", json_integer(sqlite3_column_int(st, c + 9)));
    json_object_set_new(o, "input", sqlite3_column_type(st, c + 10) == SQLITE_NULL ? json_object()
                                                                               : col_json(st, c + 10));
    json_object_set_new(o, "output", col_json(st, c + 11));
    json_object_set_new(o, "error", col_str(st, c + 12));
    json_object_set_new(o, "error_detail", col_json(st, c + 13));
    json_object_set_new(o, "queued_at", col_time(st, c + 14));
    json_object_set_new(o, "started_at", col_time(st, c + 15));
    json_object_set_new(o, "finished_at", col_time(st, c + 16));
    if (sqlite3_column_type(st, c + 15) != SQLITE_NULL && sqlite3_column_type(st, c + 16) != SQLITE_NULL)
        dur = json_integer((sqlite3_column_int64(st, c + 16) - sqlite3_column_int64(st, c + 15)) / 1000);
    json_object_set_new(o, "duration_ms", dur);
    json_object_set_new(o, "next_attempt_at", col_time(st, c + 17));
    return o;
}

static json_t *exec_row(sqlite3_stmt *st)
{
    return exec_row_at(st, 0);
}

static json_t *lineage_row(sqlite3_stmt *st);

/* The retry chain through `id` (see r_exec_lineage). */
static void lineage_query(struct qb *b, const char *id)
{
    qb_text(b,
            "WITH RECURSIVE up(id, parent_id) AS ("
            " SELECT id, parent_id FROM executions WHERE id = ?"
            " UNION ALL SELECT x.id, x.parent_id FROM executions x JOIN up ON x.id = up.parent_id),"
            " root(id) AS (SELECT id FROM up WHERE parent_id IS NULL),"
            " down(id) AS (SELECT id FROM root"
            " UNION ALL SELECT x.id FROM executions x JOIN down ON x.parent_id = down.id)"
            " SELECT x.id, x.attempt, x.status, x.error FROM executions x"
            " WHERE x.id IN (SELECT id FROM down) ORDER BY x.id LIMIT 1000",
            id);
}

/* The execution and its lineage in one read transaction, so both come from
 * the same snapshot (a chain never looks final while its row does not). */
static int r_exec_get(struct act_store *st, const char *id, json_t **out, struct act_err *err)
{
    struct sqlite_store *s = S(st);
    sqlite3 *db = act_sqlite_read_get(s, err);
    struct qb b = {0}, l = {0};
    json_t *items = NULL, *lineage = NULL;
    int rc;

    *out = NULL;
    if (!db)
        return err ? err->code : ACT_EIO;
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        rc = act_sqlite_fail(db, err, "begin");
        goto out;
    }
    qb_text(&b, "SELECT " EXEC_COLS EXEC_FROM " WHERE x.id = ?", id);
    qb_text(&b, " AND x.tenant = ?", s->tenant);
    rc = run_list_on(db, &b, exec_row, &items, err);
    if (rc == ACT_OK && json_array_size(items) == 0)
        rc = act_err_set(err, ACT_ENOTFOUND, "execution '%s' not found", id);
    if (rc == ACT_OK) {
        lineage_query(&l, id);
        if ((rc = run_list_on(db, &l, lineage_row, &lineage, err)) == ACT_OK) {
            *out = json_incref(json_array_get(items, 0));
            json_object_set_new(*out, "lineage", lineage);
        }
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
out:
    json_decref(items);
    act_sqlite_read_put(s, db);
    return rc;
}

static int r_exec_status(struct act_store *st, const char *id, int *status, struct act_err *err)
{
    struct sqlite_store *s = S(st);
    sqlite3 *db = act_sqlite_read_get(s, err);
    sqlite3_stmt *q = NULL;
    int rc;

    if (!db)
        return err ? err->code : ACT_EIO;
    rc = sqlite3_prepare_v2(db, "SELECT status FROM executions WHERE id = ? AND tenant = ?", -1, &q,
                            NULL);
    if (rc != SQLITE_OK) {
        rc = act_sqlite_fail(db, err, "prepare");
        goto out;
    }
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, s->tenant, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *status = sqlite3_column_int(q, 0);
        rc = ACT_OK;
    } else if (rc == SQLITE_DONE) {
        rc = act_err_set(err, ACT_ENOTFOUND, "execution '%s' not found", id);
    } else {
        rc = act_sqlite_fail(db, err, "status");
    }
out:
    sqlite3_finalize(q);
    act_sqlite_read_put(s, db);
    return rc;
}

static int r_exec_list(struct act_store *st, const struct act_store_filter *f, json_t **items,
                       struct act_err *err)
{
    struct qb b = {0};
    qb_text(&b, "SELECT " EXEC_COLS EXEC_FROM " WHERE x.tenant = ?", S(st)->tenant);
    if (f->action_id)
        qb_text(&b, " AND x.action_id = ?", f->action_id);
    if (f->event_id)
        qb_text(&b, " AND x.event_id = ?", f->event_id);
    if (f->flow_execution_id)
        qb_text(&b, " AND x.flow_execution_id = ?", f->flow_execution_id);
    if (f->status >= 0)
        qb_int(&b, " AND x.status = ?", f->status);
    if (f->since)
        qb_int(&b, " AND x.queued_at >= ?", f->since);
    if (f->until)
        qb_int(&b, " AND x.queued_at < ?", f->until);
    if (f->cursor)
        qb_text(&b, " AND x.id < ?", f->cursor);
    qb_int(&b, " ORDER BY x.id DESC LIMIT ?", f->limit + 1);
    return run_list(S(st), &b, exec_row, items, err);
}

static json_t *lineage_row(sqlite3_stmt *st)
{
    json_t *o = json_pack("{s:o, s:i, s:s}", "id", col_str(st, 0), "attempt",
                          sqlite3_column_int(st, 1), "status",
                          act_exec_status_name(sqlite3_column_int(st, 2)));
    if (sqlite3_column_type(st, 3) != SQLITE_NULL)
        json_object_set_new(o, "error", col_str(st, 3));
    return o;
}

/* The chain is linear (each attempt has at most one retry child, replays
 * add children of a dead attempt): walk up to the root, then down. */
static int r_exec_lineage(struct act_store *st, const char *id, json_t **out, struct act_err *err)
{
    struct qb b = {0};
    lineage_query(&b, id);
    return run_list(S(st), &b, lineage_row, out, err);
}

static json_t *input_row(sqlite3_stmt *st)
{
    return sqlite3_column_type(st, 0) == SQLITE_NULL ? json_object() : col_json(st, 0);
}

static int r_exec_input(struct act_store *st, const char *id, json_t **out, struct act_err *err)
{
    struct qb b = {0};
    qb_text(&b, "SELECT COALESCE(x.input, e.doc -> '$.data')" EXEC_FROM " WHERE x.id = ?", id);
    return get_one(S(st), &b, input_row, "execution", id, out, err);
}

/* ---- dead letters ---- */

#define DEAD_COLS "d.execution_id, d.action_id, d.reason, d.created_at, d.replayed_by, " EXEC_COLS
#define DEAD_FROM " FROM dead_letters d JOIN executions x ON x.id = d.execution_id" \
                  " LEFT JOIN events e ON e.id = x.event_id"

static json_t *dead_row(sqlite3_stmt *st)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", col_str(st, 0));
    json_object_set_new(o, "execution_id", col_str(st, 0));
    json_object_set_new(o, "action_id", col_str(st, 1));
    json_object_set_new(o, "reason", col_str(st, 2));
    json_object_set_new(o, "created_at", col_time(st, 3));
    json_object_set_new(o, "replayed_by", col_str(st, 4));
    json_object_set_new(o, "execution", exec_row_at(st, 5));
    return o;
}

static int r_dead_get(struct act_store *st, const char *id, json_t **out, struct act_err *err)
{
    struct qb b = {0};
    qb_text(&b, "SELECT " DEAD_COLS DEAD_FROM " WHERE d.execution_id = ?", id);
    qb_text(&b, " AND d.tenant = ?", S(st)->tenant);
    return get_one(S(st), &b, dead_row, "dead letter", id, out, err);
}

static int r_dead_list(struct act_store *st, const struct act_store_filter *f, json_t **items,
                       struct act_err *err)
{
    struct qb b = {0};
    qb_text(&b, "SELECT " DEAD_COLS DEAD_FROM " WHERE d.tenant = ?", S(st)->tenant);
    if (f->action_id)
        qb_text(&b, " AND d.action_id = ?", f->action_id);
    if (f->since)
        qb_int(&b, " AND d.created_at >= ?", f->since);
    if (f->until)
        qb_int(&b, " AND d.created_at < ?", f->until);
    if (f->unreplayed)
        qb_add(&b, " AND d.replayed_by IS NULL");
    if (f->cursor)
        qb_text(&b, " AND d.execution_id < ?", f->cursor);
    qb_int(&b, " ORDER BY d.execution_id DESC LIMIT ?", f->limit + 1);
    return run_list(S(st), &b, dead_row, items, err);
}

/* ---- documents ---- */

static json_t *kdoc_row(sqlite3_stmt *st)
{
    return doc_row(st);
}

static int r_doc_get(struct act_store *st, const char *kind, const char *id_or_key, bool by_key,
                     json_t **out, struct act_err *err)
{
    struct qb b = {0};
    qb_text(&b, "SELECT id, doc, created_at, updated_at FROM docs WHERE kind = ?", kind);
    qb_text(&b, " AND tenant = ?", S(st)->tenant);
    qb_text(&b, by_key ? " AND key = ?" : " AND id = ?", id_or_key);
    return get_one(S(st), &b, kdoc_row, kind, id_or_key, out, err);
}

static int r_doc_list(struct act_store *st, const char *kind, json_t **out, struct act_err *err)
{
    struct qb b = {0};
    qb_text(&b, "SELECT id, doc, created_at, updated_at FROM docs WHERE kind = ?", kind);
    qb_text(&b, " AND tenant = ? ORDER BY created_at, id", S(st)->tenant);
    return run_list(S(st), &b, kdoc_row, out, err);
}

/* ---- metrics ---- */

static int r_action_stats(struct act_store *st, const char *action_id, int64_t since,
                          int64_t counts[ACT_EXEC_N_STATUS], double **durations, size_t *n,
                          int64_t *first_finished, struct act_err *err)
{
    struct sqlite_store *s = S(st);
    sqlite3 *db = act_sqlite_read_get(s, err);
    sqlite3_stmt *q = NULL;
    size_t cap = 256;
    int rc;

    memset(counts, 0, sizeof(int64_t) * ACT_EXEC_N_STATUS);
    *durations = NULL;
    *n = 0;
    *first_finished = 0;
    if (!db)
        return err ? err->code : ACT_EIO;
    rc = sqlite3_prepare_v2(db,
                            "SELECT status, started_at, finished_at FROM executions"
                            " WHERE action_id = ?1 AND tenant = ?2 AND finished_at IS NOT NULL"
                            " AND finished_at >= ?3 AND status IN (3, 4, 5)",
                            -1, &q, NULL);
    if (rc != SQLITE_OK) {
        rc = act_sqlite_fail(db, err, "prepare");
        goto out;
    }
    sqlite3_bind_text(q, 1, action_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, s->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, since);
    *durations = act_xmalloc(cap * sizeof(double));
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int status = sqlite3_column_int(q, 0);
        int64_t fin = sqlite3_column_int64(q, 2);
        counts[status]++;
        if (!*first_finished || fin < *first_finished)
            *first_finished = fin;
        if (sqlite3_column_type(q, 1) == SQLITE_NULL)
            continue;
        if (*n == cap) {
            cap *= 2;
            *durations = act_xrealloc(*durations, cap * sizeof(double));
        }
        (*durations)[(*n)++] = (double)(fin - sqlite3_column_int64(q, 1)) / 1000.0;
    }
    rc = rc == SQLITE_DONE ? ACT_OK : act_sqlite_fail(db, err, "stats");
out:
    sqlite3_finalize(q);
    act_sqlite_read_put(s, db);
    return rc;
}

/* ---- recovery ---- */

static int r_execs_load_active(struct act_store *st, act_store_exec_fn *fn, void *ud,
                               struct act_err *err)
{
    struct sqlite_store *s = S(st);
    sqlite3 *db = act_sqlite_read_get(s, err);
    sqlite3_stmt *q = NULL;
    int rc;

    if (!db)
        return err ? err->code : ACT_EIO;
    rc = sqlite3_prepare_v2(db,
                            "SELECT id, action_id, event_id, subscription_id, parent_id,"
                            " flow_execution_id, input, status, attempt, priority, queued_at,"
                            " next_attempt_at, root_id FROM executions WHERE status < 3"
                            " AND tenant = ?"
                            " ORDER BY id",
                            -1, &q, NULL);
    if (rc != SQLITE_OK) {
        rc = act_sqlite_fail(db, err, "prepare");
        goto out;
    }
    sqlite3_bind_text(q, 1, s->tenant, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct act_exec_row r;
        const char *t;
        memset(&r, 0, sizeof(r));
#define COPY(field, col)                                                                           \
    t = (const char *)sqlite3_column_text(q, col);                                                 \
    snprintf(r.field, sizeof(r.field), "%s", t ? t : "")
        COPY(id, 0);
        COPY(action_id, 1);
        COPY(event_id, 2);
        COPY(subscription_id, 3);
        COPY(parent_id, 4);
        COPY(root_id, 12);
#undef COPY
        t = (const char *)sqlite3_column_text(q, 5);
        r.flow_execution_id = t ? act_xstrdup(t) : NULL;
        t = (const char *)sqlite3_column_text(q, 6);
        r.input = t ? act_xstrdup(t) : NULL;
        r.status = sqlite3_column_int(q, 7);
        r.attempt = sqlite3_column_int(q, 8);
        r.priority = sqlite3_column_int(q, 9);
        r.queued_at = sqlite3_column_int64(q, 10);
        r.next_attempt_at = sqlite3_column_int64(q, 11);
        rc = fn(&r, ud);
        act_free(r.flow_execution_id);
        act_free(r.input);
        if (rc < 0)
            goto out;
    }
    rc = rc == SQLITE_DONE ? ACT_OK : act_sqlite_fail(db, err, "load");
out:
    sqlite3_finalize(q);
    act_sqlite_read_put(s, db);
    return rc;
}

void act_sqlite_read_ops(struct act_store_ops *ops)
{
    ops->actions_load = r_actions_load;
    ops->subs_load = r_subs_load;
    ops->execs_load_active = r_execs_load_active;
    ops->event_get = r_event_get;
    ops->event_execs = r_event_execs;
    ops->action_get = r_action_get;
    ops->action_list = r_action_list;
    ops->sub_get = r_sub_get;
    ops->sub_list = r_sub_list;
    ops->exec_get = r_exec_get;
    ops->exec_status = r_exec_status;
    ops->exec_list = r_exec_list;
    ops->exec_lineage = r_exec_lineage;
    ops->exec_input = r_exec_input;
    ops->dead_get = r_dead_get;
    ops->dead_list = r_dead_list;
    ops->action_stats = r_action_stats;
    ops->doc_get = r_doc_get;
    ops->doc_list = r_doc_list;
}

static const char *const status_names[ACT_EXEC_N_STATUS] = {
    "pending", "scheduled", "running", "succeeded", "failed", "dead", "cancelled"};

const char *act_exec_status_name(int status)
{
    if (status < 0 || status >= ACT_EXEC_N_STATUS)
        return "unknown";
    return status_names[status];
}

int act_exec_status_parse(const char *s)
{
    for (int i = 0; i < ACT_EXEC_N_STATUS; i++)
        if (strcmp(s, status_names[i]) == 0)
            return i;
    return -1;
}
