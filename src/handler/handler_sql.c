/*
 * Kind `sql`: parameterised statements against a configured database, all
 * of handler.sql in one transaction, rows back as JSON.
 *
 *   {"kind": "sql", "dsn": "sqlite:/path/db" | "postgresql://user@host:5432/db",
 *    "sql": "INSERT INTO t(a, b) VALUES (:a, :input.b) RETURNING id",
 *    "params"?: {"a": ...}, "read_only"?: false, "statement_timeout_ms"?: 5000,
 *    "max_rows"?: 1000}
 *   config.password (optional, may be sealed "v1:..."): the PostgreSQL password
 *
 * This file owns the spec (validation, the immutable state built at open),
 * the values bound to placeholders, the connection pool and the output;
 * handler_sql_parse.c rewrites placeholders, handler_sql_sqlite.c and
 * handler_sql_pg.c talk to the databases.
 *
 * Placeholders: `:name` binds handler.params.name (its {{ }} templates
 * rendered by act_template_render first); `:input.a.b`,
 * `:event.data.x`, `:config.k` and `:execution.id|root_id|attempt|action`
 * look values up in the attempt (missing: NULL).  Values are always bound as
 * parameters, never spliced into the SQL text.
 *
 * The pool: idle connections of one action, guarded by a mutex.  A worker
 * takes one (or opens one) for an attempt and puts it back after, so an
 * action holds at most one connection per concurrently running worker; a
 * connection that failed is closed instead, and a pooled one found dead
 * before anything ran is replaced once.  Secrets (config.password and a
 * password inside the DSN) never reach a log or an error message: every
 * message goes through act_sql_fail(), which masks them.
 */
#include "base/alloc.h"
#include "base/time.h"
#include "handler/handler_internal.h"
#include "handler/handler_sql.h"
#include "handler/secret_box.h"
#include "lua/lua.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DSN_MAX 4096
#define PARAMS_MAX 256
#define TIMEOUT_DEFAULT_MS 5000
#define TIMEOUT_MAX_MS 3600000
#define ROWS_DEFAULT 1000
#define ROWS_MAX 100000
#define POOL_MAX 32

struct sql_state {
    struct act_sql_spec spec;
    const struct act_sql_backend *be;
    json_t *params;             /* handler.params (a copy) or NULL */
    bool templated;             /* params hold {{ }} templates */
    pthread_mutex_t lock;
    void *idle[POOL_MAX];       /* guarded by: lock */
    size_t n_idle;              /* guarded by: lock */
};

static const char *const lookup_roots[] = {"input", "event", "config", "execution", NULL};

/* ---- shared helpers (handler_sql.h) ---- */

/* Replace every occurrence of `secret` in buf (NUL-terminated, room for
 * cap bytes) with "***". */
static void mask(char *buf, size_t cap, const char *secret)
{
    size_t sl = secret ? strlen(secret) : 0;
    char *p = buf;

    if (sl == 0)
        return;
    while ((p = strstr(p, secret))) {
        size_t off = (size_t)(p - buf), tail = strlen(p + sl);

        if (off + 4 > cap) { /* no room for the mask: cut the text here */
            *p = '\0';
            break;
        }
        if (tail > cap - off - 4)
            tail = cap - off - 4;
        memmove(p + 3, p + sl, tail);
        p[3 + tail] = '\0';
        memcpy(p, "***", 3);
        p += 3;
    }
}

static void scrub(const struct act_sql_spec *s, char *buf, size_t cap)
{
    mask(buf, cap, s->password);
    mask(buf, cap, s->dsn_password);
}

int act_sql_fail(const struct act_sql_spec *s, struct act_handler_result *res, int code,
                 const char *fmt, ...)
{
    char msg[2048]; /* larger than res->error: a secret is masked before any cut */
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    scrub(s, msg, sizeof(msg));
    return act_handler_fail(res, code, "%s", msg);
}

void act_sql_detail(const struct act_sql_spec *s, struct act_handler_result *res, size_t stmt,
                    const char *sqlstate, const char *message)
{
    char msg[1024];

    snprintf(msg, sizeof(msg), "%s", message ? message : "");
    scrub(s, msg, sizeof(msg));
    json_decref(res->error_detail);
    res->error_detail = json_pack("{s:I, s:s}", "statement", (json_int_t)stmt, "message", msg);
    if (res->error_detail && sqlstate)
        json_object_set_new(res->error_detail, "sqlstate", json_string(sqlstate));
}

void act_sql_add_row(struct act_sql_run *run, json_t *row)
{
    if (!run->rows)
        run->rows = json_array();
    run->row_count++;
    if (json_array_size(run->rows) < run->spec->max_rows)
        json_array_append_new(run->rows, row);
    else
        json_decref(row);
}

char *act_sql_value_text(const json_t *v)
{
    char buf[64];

    switch (json_typeof(v)) {
    case JSON_STRING:
        return act_xstrndup(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return act_xstrdup(buf);
    case JSON_REAL:
        snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
        return act_xstrdup(buf);
    case JSON_TRUE:
        return act_xstrdup("true");
    case JSON_FALSE:
        return act_xstrdup("false");
    case JSON_NULL:
        return NULL;
    default: {
        size_t len;
        return act_handler_dump(v, &len);
    }
    }
}

const char *act_sql_label(const struct act_sql_spec *s, size_t idx, char *buf, size_t cap)
{
    if (idx == 0)
        snprintf(buf, cap, "begin");
    else if (idx > s->parsed.n_stmts)
        snprintf(buf, cap, "commit");
    else
        snprintf(buf, cap, "statement %zu", idx);
    return buf;
}

int64_t act_sql_remaining_ms(int64_t deadline_us)
{
    int64_t ms = (deadline_us - act_time_mono_us()) / 1000;

    return ms < 1 ? 1 : ms;
}

/* ---- validation ---- */

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static int dialect_of(const json_t *dsn, enum act_sql_dialect *d, struct act_err *err)
{
    const char *s = json_string_value(dsn);

    if (!dsn)
        return act_err_field(err, ACT_EUNPROC, "handler.dsn", "dsn is required");
    if (!s || json_string_length(dsn) == 0 || json_string_length(dsn) > DSN_MAX ||
        strlen(s) != json_string_length(dsn))
        return act_err_field(err, ACT_EUNPROC, "handler.dsn",
                             "dsn must be a non-empty string of at most %d bytes", DSN_MAX);
    if (has_prefix(s, "sqlite:")) {
        *d = ACT_SQL_SQLITE;
        if (s[7] == '\0')
            return act_err_field(err, ACT_EUNPROC, "handler.dsn",
                                 "dsn 'sqlite:' needs a file path (sqlite:/path/to/db)");
        return ACT_OK;
    }
    if (has_prefix(s, "postgresql://") || has_prefix(s, "postgres://")) {
        *d = ACT_SQL_PG;
        return ACT_OK;
    }
    return act_err_field(err, ACT_EUNPROC, "handler.dsn",
                         "dsn must start with 'sqlite:' or 'postgresql://'");
}

static int check_int(const json_t *handler, const char *name, int64_t max, struct act_err *err)
{
    const json_t *v = json_object_get(handler, name);
    char field[48];

    if (!v)
        return ACT_OK;
    snprintf(field, sizeof(field), "handler.%s", name);
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max)
        return act_err_field(err, ACT_EUNPROC, field, "%s must be an integer in 1..%lld", name,
                             (long long)max);
    return ACT_OK;
}

static bool is_lookup(const char *name)
{
    for (const char *const *r = lookup_roots; *r; r++) {
        size_t n = strlen(*r);

        if (strncmp(name, *r, n) == 0 && (name[n] == '\0' || name[n] == '.'))
            return true;
    }
    return false;
}

/* Every placeholder needs a source: handler.params or a lookup root. */
static int check_names(const struct act_sql_parsed *p, const json_t *params, struct act_err *err)
{
    for (size_t i = 0; i < p->n_names; i++)
        if (strcmp(p->names[i], "config.password") == 0 ||
            has_prefix(p->names[i], "config.password."))
            return act_err_field(err, ACT_EUNPROC, "handler.sql",
                                 "placeholder ':config.password' is not allowed: the password "
                                 "is for connecting only");
        else if (!json_object_get(params, p->names[i]) && !is_lookup(p->names[i]))
            return act_err_field(err, ACT_EUNPROC, "handler.params",
                                 "placeholder ':%.64s' has no value in params (or use "
                                 ":input.%.64s for the input)", p->names[i], p->names[i]);
    return ACT_OK;
}

static int validate_password(const json_t *config, struct act_err *err)
{
    const json_t *v = json_object_get(config, "password");
    char *plain = NULL;
    int rc;

    if (!v)
        return ACT_OK;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return act_err_field(err, ACT_EUNPROC, "config.password", "password must be a string");
    rc = act_http_kind_reveal(json_string_value(v), "config.password", &plain, err);
    act_secret_free(plain);
    return rc;
}

static int sql_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    static const char *const members[] = {"dsn", "sql", "params", "read_only",
                                          "statement_timeout_ms", "max_rows", NULL};
    const json_t *sql = json_object_get(handler, "sql");
    const json_t *params = json_object_get(handler, "params");
    const json_t *ro = json_object_get(handler, "read_only");
    struct act_sql_parsed parsed;
    enum act_sql_dialect d;
    int rc;

    if ((rc = act_handler_check_members(handler, members, err)) < 0 ||
        (rc = dialect_of(json_object_get(handler, "dsn"), &d, err)) < 0)
        return rc;
    if (!json_is_string(sql) || json_string_length(sql) == 0 ||
        strlen(json_string_value(sql)) != json_string_length(sql))
        return act_err_field(err, ACT_EUNPROC, "handler.sql", "sql must be a non-empty string");
    if (json_string_length(sql) > ACT_SQL_TEXT_MAX)
        return act_err_field(err, ACT_EUNPROC, "handler.sql", "sql is longer than %zu bytes",
                             ACT_SQL_TEXT_MAX);
    if (params && (!json_is_object(params) || json_object_size(params) > PARAMS_MAX))
        return act_err_field(err, ACT_EUNPROC, "handler.params",
                             "params must be an object of at most %d values", PARAMS_MAX);
    if (ro && !json_is_boolean(ro))
        return act_err_field(err, ACT_EUNPROC, "handler.read_only", "read_only must be a boolean");
    if ((rc = check_int(handler, "statement_timeout_ms", TIMEOUT_MAX_MS, err)) < 0 ||
        (rc = check_int(handler, "max_rows", ROWS_MAX, err)) < 0 ||
        (rc = validate_password(config, err)) < 0)
        return rc;
    if (params && (rc = act_template_check(params, err)) < 0) {
        act_err_prefix_field(err, "handler.params");
        return rc == ACT_EBUSY ? rc : ACT_EUNPROC;
    }
    if ((rc = act_sql_parse(json_string_value(sql), d, &parsed, err)) < 0)
        return rc;
    rc = check_names(&parsed, params, err);
    act_sql_parsed_release(&parsed);
    return rc;
}

/* ---- state ---- */

/* Does any string inside v hold "{{"? */
static bool has_template(const json_t *v)
{
    const char *k;
    json_t *m;
    size_t i;

    if (json_is_string(v))
        return strstr(json_string_value(v), "{{") != NULL;
    if (json_is_object(v))
        json_object_foreach((json_t *)v, k, m)
            if (has_template(m))
                return true;
    if (json_is_array(v))
        json_array_foreach(v, i, m)
            if (has_template(m))
                return true;
    return false;
}

/* The password of a postgresql://user:pass@host URI (raw, as written), for
 * redaction only: libpq reads it from the URI itself. */
static char *uri_password(const char *uri)
{
    const char *p = strstr(uri, "://"), *end, *at = NULL, *colon;

    if (!p)
        return NULL;
    p += 3;
    end = p + strcspn(p, "/?#");
    for (const char *c = p; c < end; c++)
        if (*c == '@')
            at = c;
    if (at) {
        colon = memchr(p, ':', (size_t)(at - p));
        if (colon && at > colon + 1)
            return act_xstrndup(colon + 1, (size_t)(at - colon - 1));
    }
    if ((p = strstr(uri, "password=")) && p[9]) /* ?password=... */
        return act_xstrndup(p + 9, strcspn(p + 9, "&#"));
    return NULL;
}

static void state_free(struct sql_state *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n_idle; i++)
        st->be->disconnect(st->idle[i]);
    pthread_mutex_destroy(&st->lock);
    act_sql_parsed_release(&st->spec.parsed);
    act_free(st->spec.target);
    act_secret_free(st->spec.password);
    act_secret_free(st->spec.dsn_password);
    json_decref(st->params);
    act_free(st);
}

static int sql_open(const json_t *handler, const json_t *config, void **state,
                    struct act_err *err)
{
    struct sql_state *st = act_xcalloc(1, sizeof(*st));
    const char *dsn = json_string_value(json_object_get(handler, "dsn"));
    const json_t *pw = json_object_get(config, "password");
    const json_t *v;
    int rc;

    *state = NULL;
    pthread_mutex_init(&st->lock, NULL);
    if ((rc = dialect_of(json_object_get(handler, "dsn"), &st->spec.dialect, err)) < 0)
        goto out;
    st->be = st->spec.dialect == ACT_SQL_PG ? &act_sql_pg_backend : &act_sql_sqlite_backend;
    if (st->spec.dialect == ACT_SQL_SQLITE) {
        st->spec.target = act_xstrdup(dsn + 7);
    } else {
        st->spec.target = act_xstrdup(dsn);
        st->spec.dsn_password = uri_password(dsn);
    }
    if (pw && (rc = act_http_kind_reveal(json_string_value(pw), "config.password",
                                         &st->spec.password, err)) < 0)
        goto out;
    if ((rc = act_sql_parse(json_string_value(json_object_get(handler, "sql")),
                            st->spec.dialect, &st->spec.parsed, err)) < 0)
        goto out;
    st->spec.read_only = json_is_true(json_object_get(handler, "read_only"));
    v = json_object_get(handler, "statement_timeout_ms");
    st->spec.statement_timeout_ms = v ? json_integer_value(v) : TIMEOUT_DEFAULT_MS;
    v = json_object_get(handler, "max_rows");
    st->spec.max_rows = v ? (size_t)json_integer_value(v) : ROWS_DEFAULT;
    if ((v = json_object_get(handler, "params"))) {
        st->params = json_deep_copy(v);
        st->templated = has_template(v);
    }
    *state = st;
    st = NULL;
out:
    state_free(st);
    return rc;
}

static void sql_close(void *state)
{
    state_free(state);
}

/* ---- one attempt ---- */

/* Follow a dotted path ("data.user.0.id") from root; NULL when absent. */
static const json_t *lookup_path(const json_t *v, const char *path)
{
    while (v && *path) {
        size_t n = strcspn(path, ".");
        char key[ACT_SQL_NAME_LEN_MAX + 1];

        memcpy(key, path, n);
        key[n] = '\0';
        if (json_is_object(v)) {
            v = json_object_get(v, key);
        } else if (json_is_array(v)) {
            char *endp;
            unsigned long idx = strtoul(key, &endp, 10);

            v = (*key && !*endp) ? json_array_get(v, idx) : NULL;
        } else {
            v = NULL;
        }
        path += n + (path[n] == '.');
    }
    return v;
}

/* A new reference to the value bound to `name`. */
static json_t *resolve(const json_t *params, const struct act_handler_call *call,
                       const char *name)
{
    const json_t *v = json_object_get(params, name);
    const char *rest;

    if (v)
        return json_incref((json_t *)v);
    if (has_prefix(name, "execution")) {
        rest = name[9] == '.' ? name + 10 : "";
        if (strcmp(rest, "id") == 0)
            return json_string(call->execution_id);
        if (strcmp(rest, "root_id") == 0)
            return json_string(call->root_id ? call->root_id : call->execution_id);
        if (strcmp(rest, "attempt") == 0)
            return json_integer(call->attempt);
        if (strcmp(rest, "action") == 0 && call->action_name)
            return json_string(call->action_name);
        return json_null();
    }
    for (const char *const *r = lookup_roots; *r; r++) {
        size_t n = strlen(*r);
        const json_t *root = strcmp(*r, "input") == 0   ? call->input
                             : strcmp(*r, "event") == 0 ? call->event
                                                        : call->config;

        if (strncmp(name, *r, n) == 0 && (name[n] == '\0' || name[n] == '.')) {
            v = lookup_path(root, name[n] ? name + n + 1 : "");
            break;
        }
    }
    return v ? json_incref((json_t *)v) : json_null();
}

static void *pool_take(struct sql_state *st)
{
    void *c = NULL;

    pthread_mutex_lock(&st->lock);
    if (st->n_idle > 0)
        c = st->idle[--st->n_idle];
    pthread_mutex_unlock(&st->lock);
    return c;
}

static void pool_put(struct sql_state *st, void *c)
{
    pthread_mutex_lock(&st->lock);
    if (st->n_idle < POOL_MAX) {
        st->idle[st->n_idle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&st->lock);
    if (c)
        st->be->disconnect(c);
}

/* Run on a pooled connection, or a new one; a pooled connection that turns
 * out dead before anything ran (run() returns 1) is replaced once. */
static int run_pooled(struct sql_state *st, struct act_sql_run *run)
{
    void *conn = pool_take(st);
    bool pooled = conn != NULL, broken = false;
    int rc;

    if (conn && !st->be->alive(conn)) {
        st->be->disconnect(conn);
        conn = NULL;
    }
    for (;;) {
        if (!conn && (rc = st->be->connect(&st->spec, run->deadline_us, &conn, run->res)) < 0)
            return rc;
        broken = false;
        rc = st->be->run(conn, run, &broken);
        if (rc != 1 || !pooled)
            break;
        st->be->disconnect(conn); /* stale: reconnect and try once more */
        conn = NULL;
        pooled = false;
        memset(run->res->error, 0, sizeof(run->res->error));
        json_decref(run->res->error_detail);
        run->res->error_detail = NULL;
        run->res->permanent = false;
    }
    if (rc == 1)
        rc = ACT_EIO;
    if (broken)
        st->be->disconnect(conn);
    else
        pool_put(st, conn);
    return rc;
}

/* The template scope {event, input, config, execution}; config without its
 * password, so no template can put it into a statement. */
static json_t *make_scope(const struct act_handler_call *call)
{
    json_t *scope = act_handler_scope(call), *cfg = json_copy((json_t *)call->config);

    json_object_del(cfg, "password");
    json_object_set_new(scope, "config", cfg ? cfg : json_object());
    return scope;
}

/* handler.params with its {{ }} templates rendered (a new reference), or
 * NULL with res filled. */
static json_t *render_params(struct sql_state *st, const struct act_handler_call *call,
                             struct act_handler_result *res, int *rc)
{
    json_t *scope, *out = NULL;
    struct act_err e = {0};

    if (!st->templated)
        return json_incref(st->params);
    scope = make_scope(call);
    if ((*rc = act_template_render(st->params, scope, &out, &e)) < 0)
        act_sql_fail(&st->spec, res, *rc, "params%s%s: %s", e.field[0] ? "." : "", e.field,
                     e.msg);
    json_decref(scope);
    return out;
}

static int sql_execute(void *state, const struct act_handler_call *call,
                       struct act_handler_result *res)
{
    struct sql_state *st = state;
    const struct act_sql_parsed *p = &st->spec.parsed;
    json_t **values = act_xcalloc(p->n_names + 1, sizeof(*values));
    struct act_sql_run run = {.spec = &st->spec, .values = values, .res = res};
    json_t *params = NULL;
    int rc = ACT_OK;

    if (st->params && !(params = render_params(st, call, res, &rc))) {
        act_free(values);
        return rc < 0 ? rc : act_sql_fail(&st->spec, res, ACT_EPLUGIN, "params: render failed");
    }
    for (size_t i = 0; i < p->n_names; i++)
        values[i] = resolve(params, call, p->names[i]);
    json_decref(params);
    run.deadline_us = act_time_mono_us() + (call->timeout_ms > 0 ? call->timeout_ms : 30000) * 1000;
    rc = run_pooled(st, &run);
    if (rc == ACT_OK) {
        res->output = json_pack("{s:o, s:I, s:I}", "rows", run.rows ? run.rows : json_array(),
                                "row_count", (json_int_t)run.row_count, "affected",
                                (json_int_t)run.affected);
        run.rows = NULL;
        if ((size_t)run.row_count > st->spec.max_rows)
            json_object_set_new(res->output, "truncated", json_true());
    }
    json_decref(run.rows);
    for (size_t i = 0; i < p->n_names; i++)
        json_decref(values[i]);
    act_free(values);
    return rc;
}

const struct act_handler_ops act_handler_sql_ops = {
    .kind = "sql",
    .capabilities = "[\"sync\",\"timeout\",\"transactional\",\"read_only\",\"sqlite\","
                    "\"postgresql\"]",
    .schema =
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
        "\"type\":\"object\",\"required\":[\"kind\",\"dsn\",\"sql\"],"
        "\"additionalProperties\":false,\"properties\":{"
        "\"kind\":{\"const\":\"sql\"},"
        "\"dsn\":{\"type\":\"string\",\"pattern\":\"^(sqlite:.+|postgres(ql)?://.*)$\","
        "\"description\":\"sqlite:PATH or a PostgreSQL URI; put the password in "
        "config.password\"},"
        "\"sql\":{\"type\":\"string\",\"minLength\":1,\"description\":\"statements separated "
        "by ';', run in one transaction; :name placeholders (params), :input.x, :event.x, "
        ":config.x, :execution.id\"},"
        "\"params\":{\"type\":\"object\",\"maxProperties\":256,\"description\":\"values of "
        ":name placeholders; strings may be {{ }} templates\"},"
        "\"read_only\":{\"type\":\"boolean\",\"default\":false},"
        "\"statement_timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":3600000,"
        "\"default\":5000},"
        "\"max_rows\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100000,\"default\":1000}},"
        "\"$defs\":{\"config\":{\"type\":\"object\",\"properties\":{\"password\":{\"type\":"
        "\"string\",\"description\":\"PostgreSQL password, plain or sealed (v1:...)\"}}}}}",
    .validate = sql_validate,
    .open = sql_open,
    .execute = sql_execute,
    .close = sql_close,
};
