/*
 * The SQLite backend of kind `sql`: one sqlite3 handle per pooled
 * connection, opened read-write (never created: the file must exist) or,
 * with read_only, SQLITE_OPEN_READONLY plus PRAGMA query_only.
 *
 * An attempt is BEGIN IMMEDIATE (BEGIN for read_only), every statement in
 * order with its `?k` parameters bound through sqlite3_bind_*, then COMMIT;
 * any failure rolls the whole transaction back.  The statement timeout is a
 * progress handler that interrupts the VM once the statement's deadline
 * (statement_timeout_ms, or the attempt's deadline when sooner) has passed;
 * the busy timeout waits for other writers no longer than the attempt may.
 *
 * Invariants: a connection is used by one thread at a time (the pool hands
 * it out), so it is opened SQLITE_OPEN_NOMUTEX; after run() it is either in
 * autocommit mode (no transaction open) or reported broken.
 */
#include "base/alloc.h"
#include "base/time.h"
#include "handler/handler_internal.h"
#include "handler/handler_sql.h"

#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define PROGRESS_STEPS 1000 /* VM instructions between deadline checks */

struct lite {
    sqlite3 *db;
    int64_t stmt_deadline_us;  /* checked by on_progress */
    bool timed_out;
};

static int on_progress(void *ud)
{
    struct lite *l = ud;

    if (act_time_mono_us() < l->stmt_deadline_us)
        return 0;
    l->timed_out = true;
    return 1;
}

static int lite_connect(const struct act_sql_spec *s, int64_t deadline_us, void **conn,
                        struct act_handler_result *res)
{
    int flags = (s->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
                SQLITE_OPEN_NOMUTEX;
    struct lite *l = act_xcalloc(1, sizeof(*l));
    int rc;

    (void)deadline_us;
    if ((rc = sqlite3_open_v2(s->target, &l->db, flags, NULL)) != SQLITE_OK) {
        rc = act_sql_fail(s, res, ACT_EIO, "sqlite: cannot open '%s': %s", s->target,
                          l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
        sqlite3_close(l->db);
        act_free(l);
        return rc;
    }
    sqlite3_extended_result_codes(l->db, 1);
    if (s->read_only && sqlite3_exec(l->db, "PRAGMA query_only = 1", NULL, NULL, NULL)) {
        rc = act_sql_fail(s, res, ACT_EIO, "sqlite: '%s': %s", s->target, sqlite3_errmsg(l->db));
        sqlite3_close(l->db);
        act_free(l);
        return rc;
    }
    sqlite3_progress_handler(l->db, PROGRESS_STEPS, on_progress, l);
    *conn = l;
    return ACT_OK;
}

static bool lite_alive(void *conn)
{
    return sqlite3_get_autocommit(((struct lite *)conn)->db) != 0;
}

static void lite_disconnect(void *conn)
{
    struct lite *l = conn;

    if (!l)
        return;
    sqlite3_close_v2(l->db);
    act_free(l);
}

/* A column value as JSON: integers, reals, text, null; a blob as "\x<hex>"
 * (PostgreSQL's bytea text form). */
static json_t *column_json(sqlite3_stmt *st, int i)
{
    const unsigned char *p;
    int n = sqlite3_column_bytes(st, i);
    json_t *v;

    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        return json_integer(sqlite3_column_int64(st, i));
    case SQLITE_FLOAT: {
        double d = sqlite3_column_double(st, i);
        return isfinite(d) ? json_real(d) : json_string(d > 0 ? "Infinity" : "-Infinity");
    }
    case SQLITE_TEXT:
        p = sqlite3_column_text(st, i);
        n = sqlite3_column_bytes(st, i);
        if ((v = json_stringn((const char *)p, (size_t)n)))
            return v;
        {   /* not UTF-8: cleaned (invalid bytes become '?') */
            char *buf = act_xmalloc((size_t)n + 1);

            act_handler_clean_text(buf, (size_t)n + 1, (const char *)p, (size_t)n, false);
            v = json_string(buf);
            act_free(buf);
            return v;
        }
    case SQLITE_BLOB: {
        static const char hex[] = "0123456789abcdef";
        const unsigned char *b = sqlite3_column_blob(st, i);
        char *buf = act_xmalloc(2 * (size_t)n + 3);

        buf[0] = '\\';
        buf[1] = 'x';
        for (int k = 0; k < n; k++) {
            buf[2 + 2 * k] = hex[b[k] >> 4];
            buf[3 + 2 * k] = hex[b[k] & 15];
        }
        buf[2 + 2 * (size_t)n] = '\0';
        v = json_string(buf);
        act_free(buf);
        return v;
    }
    default:
        return json_null();
    }
}

/* Bind the statement's `?k` parameters from the run's values. */
static int bind_all(struct act_sql_run *run, const struct act_sql_stmt *ps, sqlite3_stmt *st,
                    size_t idx)
{
    int n = sqlite3_bind_parameter_count(st);

    for (int k = 1; k <= n; k++) {
        const char *name = sqlite3_bind_parameter_name(st, k);
        const json_t *v;
        char *text;
        int rc;

        if (!name)
            continue; /* a gap in ?k numbering */
        if (name[0] != '?' || (size_t)k > ps->n_params)
            return act_sql_fail(run->spec, run->res, ACT_EUNPROC,
                                "statement %zu: unsupported placeholder '%s'", idx, name);
        v = run->values[ps->param[k - 1]];
        if (json_is_integer(v))
            rc = sqlite3_bind_int64(st, k, json_integer_value(v));
        else if (json_is_real(v))
            rc = sqlite3_bind_double(st, k, json_real_value(v));
        else if (json_is_boolean(v))
            rc = sqlite3_bind_int(st, k, json_is_true(v));
        else if (!(text = act_sql_value_text(v)))
            rc = sqlite3_bind_null(st, k);
        else
            rc = sqlite3_bind_text(st, k, text, -1, act_free);
        if (rc != SQLITE_OK)
            return act_sql_fail(run->spec, run->res, ACT_EPLUGIN,
                                "statement %zu: binding :%s: %s", idx,
                                run->spec->parsed.names[ps->param[k - 1]], sqlite3_errstr(rc));
    }
    return ACT_OK;
}

/* Turn a failed sqlite call into the attempt's error. */
static int lite_error(struct lite *l, struct act_sql_run *run, size_t idx, int code)
{
    const char *msg = sqlite3_errmsg(l->db);
    int prim = code & 0xff;
    char lb[32];

    act_sql_label(run->spec, idx, lb, sizeof(lb));
    if (l->timed_out || prim == SQLITE_INTERRUPT)
        return act_sql_fail(run->spec, run->res, ACT_ETIMEDOUT,
                            "%s: timed out (statement_timeout_ms %lld or the action's timeout)",
                            lb, (long long)run->spec->statement_timeout_ms);
    act_sql_detail(run->spec, run->res, idx, NULL, msg);
    /* Errors in the SQL or the data do not go away by retrying. */
    run->res->permanent = prim == SQLITE_ERROR || prim == SQLITE_CONSTRAINT ||
                          prim == SQLITE_READONLY || prim == SQLITE_MISMATCH ||
                          prim == SQLITE_RANGE || prim == SQLITE_TOOBIG || prim == SQLITE_AUTH;
    return act_sql_fail(run->spec, run->res, prim == SQLITE_BUSY ? ACT_EBUSY : ACT_EPLUGIN,
                        "%s: %s (%s)", lb, msg, sqlite3_errstr(code));
}

/* Step one prepared statement to the end, collecting its rows. */
static int step_all(struct lite *l, struct act_sql_run *run, sqlite3_stmt *st, size_t idx)
{
    int ncol = sqlite3_column_count(st), rc;
    sqlite3_int64 before = sqlite3_total_changes64(l->db);

    if (ncol > 0) { /* returns rows: these become the output rows */
        json_decref(run->rows);
        run->rows = NULL;
        run->row_count = 0;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = json_object();

        for (int i = 0; i < ncol; i++)
            json_object_set_new(row, sqlite3_column_name(st, i), column_json(st, i));
        act_sql_add_row(run, row);
    }
    if (rc != SQLITE_DONE)
        return lite_error(l, run, idx, rc);
    if (ncol > 0 && !run->rows)
        run->rows = json_array();
    if (sqlite3_total_changes64(l->db) != before)
        run->affected += sqlite3_changes64(l->db);
    if (sqlite3_get_autocommit(l->db))
        return act_sql_fail(run->spec, run->res, ACT_EUNPROC,
                            "statement %zu ended the transaction", idx);
    return ACT_OK;
}

static int run_stmt(struct lite *l, struct act_sql_run *run, size_t idx)
{
    const struct act_sql_stmt *ps = &run->spec->parsed.stmts[idx - 1];
    const char *sql = ps->text, *tail = NULL;
    int64_t d = act_time_mono_us() + run->spec->statement_timeout_ms * 1000;
    sqlite3_stmt *st = NULL;
    int rc = ACT_OK;

    l->stmt_deadline_us = d < run->deadline_us ? d : run->deadline_us;
    while (rc == ACT_OK && *sql) {
        int src = sqlite3_prepare_v2(l->db, sql, -1, &st, &tail);

        if (src != SQLITE_OK)
            return lite_error(l, run, idx, src);
        if (!st) /* only space or comments left */
            break;
        if ((rc = bind_all(run, ps, st, idx)) == ACT_OK)
            rc = step_all(l, run, st, idx);
        sqlite3_finalize(st);
        sql = tail;
    }
    return rc;
}

static int lite_run(void *conn, struct act_sql_run *run, bool *broken)
{
    struct lite *l = conn;
    int64_t wait = act_sql_remaining_ms(run->deadline_us);
    int rc = ACT_OK;

    l->timed_out = false;
    l->stmt_deadline_us = run->deadline_us;
    sqlite3_busy_timeout(l->db, wait > INT_MAX ? INT_MAX : (int)wait);
    if ((rc = sqlite3_exec(l->db, run->spec->read_only ? "BEGIN" : "BEGIN IMMEDIATE", NULL,
                           NULL, NULL)) != SQLITE_OK) {
        rc = lite_error(l, run, 0, rc);
        *broken = !sqlite3_get_autocommit(l->db);
        return rc;
    }
    for (size_t i = 0; i < run->spec->parsed.n_stmts && rc == ACT_OK; i++)
        rc = run_stmt(l, run, i + 1);
    l->stmt_deadline_us = run->deadline_us;
    if (rc == ACT_OK && (rc = sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
        rc = lite_error(l, run, run->spec->parsed.n_stmts + 1, rc);
    if (rc < 0 && !sqlite3_get_autocommit(l->db)) {
        l->stmt_deadline_us = INT64_MAX; /* the rollback must not be interrupted */
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    }
    *broken = !sqlite3_get_autocommit(l->db);
    return rc;
}

const struct act_sql_backend act_sql_sqlite_backend = {
    .connect = lite_connect,
    .run = lite_run,
    .alive = lite_alive,
    .disconnect = lite_disconnect,
};
