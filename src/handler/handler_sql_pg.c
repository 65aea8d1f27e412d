/*
 * The PostgreSQL backend of kind `sql` (libpq): one PGconn per pooled
 * connection, opened from the URI with client_encoding UTF8, a connect
 * timeout from the attempt's deadline and config.password when given.
 *
 * An attempt sends "BEGIN [READ ONLY]; SET LOCAL statement_timeout = N"
 * (N: statement_timeout_ms, or less when the attempt's deadline is nearer;
 * read-only transactions also run one SELECT so their mode can no longer be
 * changed), then each statement with PQsendQueryParams, its `$k` values as
 * text parameters whose types the server infers, in single-row mode so at
 * most max_rows rows are kept however many arrive, then COMMIT; any failure
 * rolls back.  Every wait polls the socket against the attempt's deadline:
 * past it the statement is cancelled (PQcancel) and the connection
 * discarded, so execute() returns in time even when the server does not.
 *
 * Values come back typed by column OID: int2/int4/int8/oid as integers,
 * float4/float8 as reals (NaN and infinities as strings), numeric as an
 * integer when integral and in range, else a real; bool, json and jsonb
 * parsed; everything else as its text form; SQL NULL as null.
 *
 * Invariants: a connection is used by one thread at a time; after run() it
 * is idle (no transaction open) or reported broken.  Notices are dropped
 * (libpq would print them on stderr).
 */
#include "base/alloc.h"
#include "base/time.h"
#include "handler/handler_internal.h"
#include "handler/handler_sql.h"

#include <errno.h>
#include <libpq-fe.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Type OIDs from PostgreSQL's pg_type.dat (stable across versions). */
#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_OID 26
#define OID_JSON 114
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700
#define OID_JSONB 3802

static void on_notice(void *ud, const char *msg)
{
    (void)ud;
    (void)msg;
}

/* The first line of a libpq message, without its "ERROR:  " style prefix. */
static void first_line(const char *msg, char *buf, size_t cap)
{
    size_t n;

    msg = msg ? msg : "";
    n = strcspn(msg, "\n");
    snprintf(buf, cap, "%.*s", (int)n, msg);
}

static int pg_connect(const struct act_sql_spec *s, int64_t deadline_us, void **conn,
                      struct act_handler_result *res)
{
    char timeout[24], line[512];
    const char *keys[6] = {"connect_timeout", "application_name", "client_encoding", "dbname"};
    const char *vals[6] = {timeout, "actiond", "UTF8", s->target};
    int64_t secs = act_sql_remaining_ms(deadline_us) / 1000;
    PGconn *c;
    int rc;

    snprintf(timeout, sizeof(timeout), "%lld", (long long)(secs < 2 ? 2 : secs));
    if (s->password) { /* after dbname: overrides a password in the URI */
        keys[4] = "password";
        vals[4] = s->password;
    }
    c = PQconnectdbParams(keys, vals, 1);
    if (!c)
        return act_sql_fail(s, res, ACT_ENOMEM, "postgresql: out of memory connecting");
    if (PQstatus(c) != CONNECTION_OK) {
        first_line(PQerrorMessage(c), line, sizeof(line));
        rc = act_sql_fail(s, res, ACT_EIO, "postgresql: cannot connect: %s", line);
        PQfinish(c);
        return rc;
    }
    PQsetNoticeProcessor(c, on_notice, NULL);
    *conn = c;
    return ACT_OK;
}

static bool pg_alive(void *conn)
{
    return PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) == PQTRANS_IDLE;
}

static void pg_disconnect(void *conn)
{
    PQfinish(conn);
}

/* Wait until a result can be read without blocking.  ACT_ETIMEDOUT when
 * the deadline passes first, ACT_EIO when the connection fails. */
static int wait_ready(PGconn *c, int64_t deadline_us)
{
    while (PQisBusy(c)) {
        struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
        int64_t left = (deadline_us - act_time_mono_us()) / 1000;
        int n;

        if (left <= 0)
            return ACT_ETIMEDOUT;
        n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (n < 0 && errno != EINTR)
            return ACT_EIO;
        if (n > 0 && !PQconsumeInput(c))
            return ACT_EIO;
    }
    return ACT_OK;
}

static json_t *value_json(const PGresult *r, int row, int col)
{
    const char *t = PQgetvalue(r, row, col);
    size_t len = (size_t)PQgetlength(r, row, col);
    char *end;

    if (PQgetisnull(r, row, col))
        return json_null();
    switch (PQftype(r, col)) {
    case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID:
        return json_integer(strtoll(t, NULL, 10));
    case OID_BOOL:
        return json_boolean(t[0] == 't');
    case OID_JSON: case OID_JSONB: {
        json_t *v = json_loadb(t, len, JSON_DECODE_ANY, NULL);
        return v ? v : json_stringn(t, len);
    }
    case OID_NUMERIC: {
        long long i;

        errno = 0;
        i = strtoll(t, &end, 10);
        if (*end == '\0' && errno == 0)
            return json_integer(i);
        __attribute__((fallthrough));
    }
    case OID_FLOAT4: case OID_FLOAT8: {
        double d = strtod(t, &end);
        if (*end == '\0' && isfinite(d))
            return json_real(d);
        return json_stringn(t, len); /* NaN, Infinity */
    }
    default:
        return json_stringn(t, len);
    }
}

static void add_rows(struct act_sql_run *run, const PGresult *r)
{
    int nf = PQnfields(r);

    for (int i = 0; i < PQntuples(r); i++) {
        json_t *row = json_object();

        for (int c = 0; c < nf; c++)
            json_object_set_new(row, PQfname(r, c), value_json(r, i, c));
        act_sql_add_row(run, row);
    }
}

/* The attempt's error from a failed result. */
static int result_error(struct act_sql_run *run, const PGresult *r, size_t idx, bool *broken)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *prim = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    char lb[32], line[512];
    int code = ACT_EPLUGIN;

    first_line(prim ? prim : PQresultErrorMessage(r), line, sizeof(line));
    act_sql_label(run->spec, idx, lb, sizeof(lb));
    act_sql_detail(run->spec, run->res, idx, state, line);
    state = state ? state : "";
    if (strcmp(state, "57014") == 0) {
        code = ACT_ETIMEDOUT;
    } else if (strncmp(state, "08", 2) == 0 || state[0] == '\0') {
        code = ACT_EIO;
        *broken = true;
    } else {
        /* syntax, access, data, integrity, read-only violation, unsupported */
        static const char *const permanent[] = {"42", "22", "23", "25", "0A", "2B", "44", NULL};
        for (const char *const *p = permanent; *p; p++)
            if (strncmp(state, *p, 2) == 0)
                run->res->permanent = true;
    }
    if (state[0])
        return act_sql_fail(run->spec, run->res, code, "%s: %s (SQLSTATE %s)", lb, line, state);
    return act_sql_fail(run->spec, run->res, code, "%s: %s", lb, line);
}

/* Rows changed by an INSERT, UPDATE, DELETE or MERGE (with or without
 * RETURNING); 0 for everything else (a SELECT's count is not a change). */
static int64_t changed(const PGresult *r)
{
    static const char *const dml[] = {"INSERT ", "UPDATE ", "DELETE ", "MERGE ", NULL};
    const char *status = PQcmdStatus((PGresult *)r);

    for (const char *const *d = dml; *d; d++)
        if (strncmp(status, *d, strlen(*d)) == 0)
            return strtoll(PQcmdTuples((PGresult *)r), NULL, 10);
    return 0;
}

/* Collect the results of one sent query.  `rows`: the query's rows become
 * the output rows.  Returns the first error (all results are drained). */
static int collect(PGconn *c, struct act_sql_run *run, size_t idx, bool rows, bool *broken)
{
    bool fresh = true;
    int rc = ACT_OK, wrc;
    PGresult *r;

    for (;;) {
        if ((wrc = wait_ready(c, run->deadline_us)) < 0) {
            char lb[32], line[512];

            *broken = true;
            if (wrc == ACT_ETIMEDOUT)
                return wrc; /* the caller cancels and reports */
            first_line(PQerrorMessage(c), line, sizeof(line));
            return act_sql_fail(run->spec, run->res, ACT_EIO, "%s: connection lost: %s",
                                act_sql_label(run->spec, idx, lb, sizeof(lb)), line);
        }
        if (!(r = PQgetResult(c)))
            break;
        switch (PQresultStatus(r)) {
        case PGRES_SINGLE_TUPLE:
        case PGRES_TUPLES_OK:
            if (rows && fresh && rc == ACT_OK) {
                json_decref(run->rows);
                run->rows = json_array();
                run->row_count = 0;
                fresh = false;
            }
            if (rows && rc == ACT_OK)
                add_rows(run, r);
            if (rows && PQresultStatus(r) == PGRES_TUPLES_OK)
                run->affected += changed(r);
            break;
        case PGRES_COMMAND_OK:
            if (rows)
                run->affected += changed(r);
            break;
        default:
            if (rc == ACT_OK)
                rc = result_error(run, r, idx, broken);
        }
        PQclear(r);
    }
    return rc;
}

static int send_ok(PGconn *c, struct act_sql_run *run, size_t idx, int sent, bool *broken)
{
    char lb[32], line[512];

    if (sent)
        return ACT_OK;
    *broken = true;
    first_line(PQerrorMessage(c), line, sizeof(line));
    return act_sql_fail(run->spec, run->res, ACT_EIO, "%s: %s",
                        act_sql_label(run->spec, idx, lb, sizeof(lb)), line);
}

/* BEGIN with the mode and the timeout.  1 when the connection was found
 * dead (nothing ran: the caller may reconnect and retry). */
static int begin(PGconn *c, struct act_sql_run *run, bool *broken)
{
    int64_t left = act_sql_remaining_ms(run->deadline_us);
    int64_t t = run->spec->statement_timeout_ms < left ? run->spec->statement_timeout_ms : left;
    char q[160];
    int rc;

    snprintf(q, sizeof(q), "BEGIN%s; SET LOCAL statement_timeout = %lld%s",
             run->spec->read_only ? " READ ONLY" : "", (long long)t,
             run->spec->read_only ? "; SELECT 1" : "");
    rc = send_ok(c, run, 0, PQsendQuery(c, q), broken);
    if (rc == ACT_OK)
        rc = collect(c, run, 0, false, broken);
    if (rc < 0 && PQstatus(c) != CONNECTION_OK)
        return 1;
    return rc;
}

static int run_stmt(PGconn *c, struct act_sql_run *run, size_t idx, bool *broken)
{
    const struct act_sql_stmt *ps = &run->spec->parsed.stmts[idx - 1];
    char **texts = act_xcalloc(ps->n_params + 1, sizeof(*texts));
    int rc;

    for (size_t k = 0; k < ps->n_params; k++)
        texts[k] = act_sql_value_text(run->values[ps->param[k]]);
    rc = send_ok(c, run, idx,
                 PQsendQueryParams(c, ps->text, (int)ps->n_params, NULL,
                                   (const char *const *)texts, NULL, NULL, 0),
                 broken);
    if (rc == ACT_OK) {
        PQsetSingleRowMode(c);
        rc = collect(c, run, idx, true, broken);
    }
    if (rc == ACT_OK && PQtransactionStatus(c) != PQTRANS_INTRANS)
        rc = act_sql_fail(run->spec, run->res, ACT_EUNPROC, "statement %zu ended the transaction",
                          idx);
    for (size_t k = 0; k < ps->n_params; k++)
        act_free(texts[k]);
    act_free(texts);
    return rc;
}

/* Give up on a statement the server has not answered by the deadline. */
static int timed_out(PGconn *c, struct act_sql_run *run, size_t idx)
{
    PGcancel *cancel = PQgetCancel(c);
    char errbuf[256], lb[32];

    if (cancel) {
        PQcancel(cancel, errbuf, sizeof(errbuf));
        PQfreeCancel(cancel);
    }
    return act_sql_fail(run->spec, run->res, ACT_ETIMEDOUT,
                        "%s: timed out: no answer by the action's deadline",
                        act_sql_label(run->spec, idx, lb, sizeof(lb)));
}

static int pg_run(void *conn, struct act_sql_run *run, bool *broken)
{
    PGconn *c = conn;
    size_t n = run->spec->parsed.n_stmts, i = 0;
    int rc;

    if ((rc = begin(c, run, broken)) != ACT_OK) {
        if (rc == ACT_ETIMEDOUT && *broken)
            rc = timed_out(c, run, 0);
        *broken = true;
        return rc;
    }
    while (rc == ACT_OK && i < n)
        rc = run_stmt(c, run, ++i, broken);
    if (rc == ACT_OK) {
        i = n + 1;
        rc = send_ok(c, run, i, PQsendQuery(c, "COMMIT"), broken);
        if (rc == ACT_OK)
            rc = collect(c, run, i, false, broken);
    }
    if (rc == ACT_ETIMEDOUT && *broken)
        return timed_out(c, run, i);
    if (rc < 0 && !*broken && PQtransactionStatus(c) != PQTRANS_IDLE) {
        PGresult *r = PQexec(c, "ROLLBACK");
        PQclear(r);
    }
    *broken = *broken || !pg_alive(c);
    return rc;
}

const struct act_sql_backend act_sql_pg_backend = {
    .connect = pg_connect,
    .run = pg_run,
    .alive = pg_alive,
    .disconnect = pg_disconnect,
};
