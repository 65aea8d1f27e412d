/*
 * handler: kind `sql` against real SQLite files (PostgreSQL is exercised by
 * tests/integration/test_sql.py against a real server): validation, the
 * placeholder lexer, typed values, one transaction for all statements,
 * read_only, the statement timeout, injection through a parameter, max_rows,
 * the connection pool under concurrent workers, secret masking.
 *
 * Includes handler/handler_sql.h (internal to src/handler/) to test the
 * lexer and the message masking directly.
 */
#include "base/alloc.h"
#include "base/err.h"
#include "handler/handler.h"
#include "handler/handler_sql.h"
#include "tap.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[64], g_db[128];

static json_t *js(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

    if (!v)
        diag("bad test JSON %s: %s", text, jerr.text);
    return v;
}

/* A sql spec on the test database: `sql` plus extra members ("" for none). */
static json_t *spec(const char *sql, const char *extra)
{
    json_t *s = js(extra && extra[0] ? extra : "{}");
    char dsn[160];

    snprintf(dsn, sizeof(dsn), "sqlite:%s", g_db);
    json_object_set_new(s, "kind", json_string("sql"));
    if (!json_object_get(s, "dsn"))
        json_object_set_new(s, "dsn", json_string(dsn));
    json_object_set_new(s, "sql", json_string(sql));
    return s;
}

static int execute(void *state, const char *input, int64_t timeout_ms,
                   struct act_handler_result *res)
{
    const struct act_handler_ops *ops = act_handler_find("sql");
    json_t *in = js(input ? input : "{}");
    json_t *cfg = js("{\"region\": \"eu\", \"password\": \"not-for-sql\"}");
    json_t *event = js("{\"type\": \"users.created\", \"data\": {\"tier\": \"gold\"}}");
    struct act_handler_call call = {.execution_id = "0190-exec", .root_id = "0190-root",
                                    .attempt = 2, .action_name = "store_user", .event = event,
                                    .input = in, .config = cfg, .timeout_ms = timeout_ms};
    int rc;

    memset(res, 0, sizeof(*res));
    rc = ops->execute(state, &call, res);
    json_decref(in);
    json_decref(cfg);
    json_decref(event);
    return rc;
}

/* Validate, open, execute once, close; takes `s`. */
static int run(json_t *s, const char *input, struct act_handler_result *res)
{
    const struct act_handler_ops *ops = act_handler_find("sql");
    json_t *cfg = js("{\"region\": \"eu\"}");
    struct act_err err = {0};
    void *state = NULL;
    int rc;

    memset(res, 0, sizeof(*res));
    if ((rc = ops->validate(s, cfg, &err)) < 0 || (rc = ops->open(s, cfg, &state, &err)) < 0) {
        diag("validate/open failed: %s (%s)", err.msg, err.field);
        snprintf(res->error, sizeof(res->error), "%s", err.msg);
    } else {
        rc = execute(state, input, 10000, res);
        ops->close(state);
    }
    json_decref(s);
    json_decref(cfg);
    return rc;
}

static void db_exec(const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;

    if (sqlite3_open(g_db, &db) != SQLITE_OK || sqlite3_exec(db, sql, NULL, NULL, &msg))
        diag("setup failed: %s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_close(db);
}

static long long db_count(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long n = -1;

    if (sqlite3_open(g_db, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static const char *out_str(const struct act_handler_result *res)
{
    static char buf[2048];
    char *t = res->output ? json_dumps(res->output, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

    snprintf(buf, sizeof(buf), "%s", t ? t : "(none)");
    free(t);
    return buf;
}

static void test_validate(void)
{
    static const struct {
        const char *spec, *field;
    } bad[] = {
        {"{\"kind\":\"sql\",\"sql\":\"SELECT 1\"}", "handler.dsn"},
        {"{\"kind\":\"sql\",\"dsn\":\"mysql://x\",\"sql\":\"SELECT 1\"}", "handler.dsn"},
        {"{\"kind\":\"sql\",\"dsn\":\"sqlite:\",\"sql\":\"SELECT 1\"}", "handler.dsn"},
        {"{\"kind\":\"sql\",\"dsn\":\"sqlite:/x\",\"sql\":\"\"}", "handler.sql"},
        {"{\"kind\":\"sql\",\"dsn\":\"sqlite:/x\",\"sql\":\" ; -- nothing\"}", "handler.sql"},
        {"{\"kind\":\"sql\",\"dsn\":\"sqlite:/x\",\"sql\":\"SELECT ?\"}", "handler.sql"},
        {"{\"kind\":\"sql\",\"dsn\":\"postgresql://h/d\",\"sql\":\"SELECT $1\"}", "handler.sql"},
        {"{\"kind\":\"sql\",\"dsn\":\"sqlite:/x\",\"sql\":\"SELECT 'open\"}", "handler.sql"},
        {"{\"kind\":\"sql\",\"dsn\":\"sqlite:/x\",\"sql\":\"SELECT 1; COMMIT; SELECT 2\"}",
         "handler.sql"},
        {"{\"kind\":\"sql\",\"dsn\":\"postgresql://h/d\",\"sql\":\"SET TRANSACTION READ WRITE\"}",
         "handler.sql"},
        {"{\"kind\":\"sql\",\"dsn\":\"sqlite:/x\",\"sql\":\"SELECT :a\"}", "handler.params"},
        {"{\"kind\":\"sql\",\"dsn\":\"sqlite:/x\",\"sql\":\"SELECT :config.password\"}",
         "handler.sql"},
        {"{\"kind\":\"sql\",\"dsn\":\"sqlite:/x\",\"sql\":\"SELECT 1\",\"params\":[1]}",
         "handler.params"},
        {"{\"kind\":\"sql\",\"dsn\":\"sqlite:/x\",\"sql\":\"SELECT 1\",\"read_only\":1}",
         "handler.read_only"},
        {"{\"kind\":\"sql\",\"dsn\":\"sqlite:/x\",\"sql\":\"SELECT 1\",\"max_rows\":0}",
         "handler.max_rows"},
        {"{\"kind\":\"sql\",\"dsn\":\"sqlite:/x\",\"sql\":\"SELECT 1\","
         "\"statement_timeout_ms\":\"5s\"}", "handler.statement_timeout_ms"},
        {"{\"kind\":\"sql\",\"dsn\":\"sqlite:/x\",\"sql\":\"SELECT 1\",\"table\":\"t\"}",
         "handler.table"},
        {"{\"kind\":\"sql\",\"dsn\":\"sqlite:/x\",\"sql\":\"SELECT :a\","
         "\"params\":{\"a\":\"{{ ) }}\"}}", "handler.params.a"},
    };
    static const char *const good[] = {
        /* validate never connects: neither the file nor the server exists */
        "{\"kind\":\"sql\",\"dsn\":\"sqlite:/nonexistent/dir/x.db\",\"sql\":\"SELECT :a, "
        ":input.user.id, :event.data.x, :config.k, :execution.id\",\"params\":{\"a\":1},"
        "\"read_only\":true,\"statement_timeout_ms\":100,\"max_rows\":5}",
        "{\"kind\":\"sql\",\"dsn\":\"postgresql://u@127.0.0.1:1/db\",\"sql\":\"SELECT "
        "a::int, $$ :x ; $$, ROLLBACK_ME FROM t; ROLLBACK TO SAVEPOINT s\"}",
    };
    const struct act_handler_ops *ops = act_handler_find("sql");

    ok(ops != NULL, "kind sql is registered");
    if (!ops)
        return;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *s = js(bad[i].spec);
        struct act_err err = {0};

        is_int(act_handler_validate(s, NULL, &err), ACT_EUNPROC, "bad spec %zu refused", i);
        is_str(err.field, bad[i].field, "bad spec %zu: field (%s)", i, err.msg);
        json_decref(s);
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        json_t *s = js(good[i]);
        struct act_err err = {0};

        is_int(act_handler_validate(s, NULL, &err), ACT_OK, "good spec %zu accepted (%s)", i,
               err.msg);
        json_decref(s);
    }
}

static void test_parse(void)
{
    struct act_sql_parsed p;
    struct act_err err = {0};
    int rc;

    rc = act_sql_parse("SELECT :a, ':b', \"c:d\", a::int, $tag$ :c; $tag$, :a, :input.x.0 -- :d\n"
                       "; /* ; :e */ ; SELECT E'\\' :f', :input.x.0",
                       ACT_SQL_PG, &p, &err);
    is_int(rc, ACT_OK, "pg: parsed (%s)", err.msg);
    is_int(p.n_stmts, 2, "pg: two statements, the empty one dropped");
    is_int(p.n_names, 2, "pg: two distinct names");
    if (rc == ACT_OK && p.n_stmts == 2 && p.n_names == 2) {
        is_str(p.stmts[0].text,
               "SELECT $1, ':b', \"c:d\", a::int, $tag$ :c; $tag$, $1, $2 -- :d\n",
               "pg: placeholders rewritten outside quotes, casts and comments only");
        is_str(p.names[0], "a", "pg: first name");
        is_str(p.names[1], "input.x.0", "pg: dotted name");
        is_str(p.stmts[1].text, " SELECT E'\\' :f', $1",
               "pg: second statement numbers its own parameters");
        is_int(p.stmts[1].n_params, 1, "pg: second statement has one parameter");
        is_int(p.stmts[1].param[0], 1, "pg: which is input.x.0");
    }
    act_sql_parsed_release(&p);

    rc = act_sql_parse("CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET c = :v; "
                       "DELETE FROM u; END; INSERT INTO [x:y] VALUES (:v)",
                       ACT_SQL_SQLITE, &p, &err);
    is_int(rc, ACT_OK, "sqlite: parsed (%s)", err.msg);
    is_int(p.n_stmts, 2, "sqlite: the trigger body stays one statement");
    if (rc == ACT_OK && p.n_stmts == 2) {
        is_str(p.stmts[0].text, "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET c = ?1; "
               "DELETE FROM u; END", "sqlite: trigger text");
        is_str(p.stmts[1].text, " INSERT INTO [x:y] VALUES (?1)", "sqlite: [ident] untouched");
    }
    act_sql_parsed_release(&p);
}

static void test_mask(void)
{
    struct act_sql_spec s = {.password = "hunter2", .dsn_password = "p%40ss"};
    struct act_handler_result res = {0};

    act_sql_fail(&s, &res, ACT_EIO, "auth for postgresql://u:p%%40ss@h failed: hunter2hunter2");
    is_str(res.error, "auth for postgresql://u:***@h failed: ******",
           "both passwords masked in messages");
    act_sql_detail(&s, &res, 3, "28P01", "password hunter2 rejected");
    is_str(json_string_value(json_object_get(res.error_detail, "message")),
           "password *** rejected", "and in the detail");
    act_handler_result_release(&res);
}

static void test_insert_select(void)
{
    struct act_handler_result res;
    json_t *row;
    int rc;

    db_exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b REAL, c INTEGER, d BLOB, n, "
            "j TEXT, f INTEGER, e TEXT)");
    rc = run(spec("INSERT INTO t(a, b, c, d, n, j, f, e) VALUES (:a, :b, :input.user.age, "
                  "x'00ff', :none, :obj, :flag, :execution.id) RETURNING id",
                  "{\"params\": {\"a\": \"Ada\", \"b\": 2.5, \"none\": null, "
                  "\"obj\": {\"k\": [1, 2]}, \"flag\": true}}"),
             "{\"user\": {\"age\": 36}}", &res);
    is_int(rc, ACT_OK, "insert succeeds (%s)", res.error);
    is_str(out_str(&res), "{\"affected\":1,\"row_count\":1,\"rows\":[{\"id\":1}]}",
           "RETURNING row, one row affected");
    act_handler_result_release(&res);

    rc = run(spec("SELECT a, b, c, d, n, json_extract(j, '$.k[1]') AS k2, f, e, "
                  ":input.missing AS m FROM t", "{\"read_only\": true}"),
             NULL, &res);
    is_int(rc, ACT_OK, "select succeeds (%s)", res.error);
    row = json_array_get(json_object_get(res.output, "rows"), 0);
    ok(json_is_string(json_object_get(row, "a")), "text is a string");
    ok(json_is_real(json_object_get(row, "b")) &&
           json_real_value(json_object_get(row, "b")) == 2.5, "real is a real");
    ok(json_is_integer(json_object_get(row, "c")) &&
           json_integer_value(json_object_get(row, "c")) == 36, "input lookup bound as integer");
    is_str(json_string_value(json_object_get(row, "d")), "\\x00ff", "blob as \\x hex");
    ok(json_is_null(json_object_get(row, "n")), "null is null");
    is_int(json_integer_value(json_object_get(row, "k2")), 2, "object bound as JSON text");
    is_int(json_integer_value(json_object_get(row, "f")), 1, "true bound as 1");
    is_str(json_string_value(json_object_get(row, "e")), "0190-exec", ":execution.id bound");
    ok(json_is_null(json_object_get(row, "m")), "a missing lookup binds NULL");
    is_int(json_integer_value(json_object_get(res.output, "affected")), 0, "select changes none");
    act_handler_result_release(&res);
}

static void test_templates(void)
{
    struct act_handler_result res;
    json_t *row;
    int rc;

    rc = run(spec("SELECT :tier AS tier, :age AS age, :mix AS mix, :obj AS obj, :pw AS pw, "
                  ":exec AS exec",
                  "{\"params\": {\"tier\": \"{{ event.data.tier }}\", "
                  "\"age\": \"{{ input.user.age + 1 }}\", \"mix\": \"tier={{ event.data.tier }}\", "
                  "\"obj\": \"{{ input.user }}\", \"pw\": \"{{ config.password }}\", "
                  "\"exec\": \"{{ execution.root_id }}/{{ execution.attempt }}\"}}"),
             "{\"user\": {\"age\": 36}}", &res);
    is_int(rc, ACT_OK, "templated params render (%s)", res.error);
    row = json_array_get(json_object_get(res.output, "rows"), 0);
    is_str(json_string_value(json_object_get(row, "tier")), "gold", "{{ event.data.tier }}");
    ok(json_is_integer(json_object_get(row, "age")) &&
           json_integer_value(json_object_get(row, "age")) == 37,
       "a whole-string template keeps its type (integer 37): %s", out_str(&res));
    is_str(json_string_value(json_object_get(row, "mix")), "tier=gold", "mixed text is text");
    is_str(json_string_value(json_object_get(row, "obj")), "{\"age\":36}",
           "an object value binds as JSON text");
    ok(json_is_null(json_object_get(row, "pw")), "config.password is not in the scope");
    is_str(json_string_value(json_object_get(row, "exec")), "0190-root/2", "execution scope");
    act_handler_result_release(&res);
}

static void test_transaction(void)
{
    struct act_handler_result res;
    int rc;

    db_exec("CREATE TABLE tx(v INTEGER)");
    rc = run(spec("INSERT INTO tx VALUES (1); INSERT INTO no_such_table VALUES (2)", ""), NULL,
             &res);
    ok(rc < 0, "failing second statement fails the attempt");
    ok(strstr(res.error, "statement 2") && strstr(res.error, "no such table"),
       "error names statement 2 and the database message: %s", res.error);
    ok(res.permanent, "an SQL error is permanent");
    is_int(json_integer_value(json_object_get(res.error_detail, "statement")), 2,
           "detail names statement 2");
    is_int(db_count("SELECT count(*) FROM tx"), 0, "first statement rolled back");
    act_handler_result_release(&res);

    rc = run(spec("INSERT INTO tx VALUES (1); INSERT INTO tx VALUES (2), (3); "
                  "SELECT v FROM tx ORDER BY v; UPDATE tx SET v = v + 10 WHERE v > 1", ""),
             NULL, &res);
    is_int(rc, ACT_OK, "four statements succeed (%s)", res.error);
    is_str(out_str(&res), "{\"affected\":5,\"row_count\":3,\"rows\":[{\"v\":1},{\"v\":2},{\"v\":3}]}",
           "rows of the last row-returning statement, changes summed");
    is_int(db_count("SELECT sum(v) FROM tx"), 1 + 12 + 13, "all of them committed");
    act_handler_result_release(&res);
}

static void test_read_only(void)
{
    struct act_handler_result res;
    int rc;

    rc = run(spec("DELETE FROM tx", "{\"read_only\": true}"), NULL, &res);
    ok(rc < 0, "read_only refuses a write");
    ok(strstr(res.error, "readonly") != NULL, "error says read-only: %s", res.error);
    ok(res.permanent, "a read-only violation is permanent");
    is_int(db_count("SELECT count(*) FROM tx"), 3, "nothing was deleted");
    act_handler_result_release(&res);

    rc = run(spec("PRAGMA query_only = 0; DELETE FROM tx", "{\"read_only\": true}"), NULL, &res);
    ok(rc < 0, "turning query_only off does not make the file writable");
    is_int(db_count("SELECT count(*) FROM tx"), 3, "still nothing deleted");
    act_handler_result_release(&res);
}

static void test_timeout(void)
{
    struct act_handler_result res;
    int rc;

    rc = run(spec("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                  "SELECT count(*) FROM c", "{\"statement_timeout_ms\": 200}"),
             NULL, &res);
    is_int(rc, ACT_ETIMEDOUT, "an endless recursive CTE times out");
    ok(strstr(res.error, "statement 1") && strstr(res.error, "timed out"),
       "error names the statement: %s", res.error);
    ok(!res.permanent, "a timeout is retried by policy");
    act_handler_result_release(&res);
}

static void test_injection(void)
{
    static const char evil[] = "x'); DROP TABLE t; --";
    struct act_handler_result res;
    json_t *s = spec("INSERT INTO t(a) VALUES (:a); SELECT a FROM t WHERE a = :a", "");
    int rc;

    json_object_set_new(s, "params", json_pack("{s:s}", "a", evil));
    rc = run(s, NULL, &res);
    is_int(rc, ACT_OK, "insert with a hostile value succeeds (%s)", res.error);
    is_str(json_string_value(json_object_get(
               json_array_get(json_object_get(res.output, "rows"), 0), "a")),
           evil, "the value came back as data");
    is_int(db_count("SELECT count(*) FROM t"), 2, "table t still exists with both rows");
    act_handler_result_release(&res);

    rc = run(spec("SELECT :input.q AS q", ""), "{\"q\": \"1; DELETE FROM t\"}", &res);
    is_str(json_string_value(json_object_get(
               json_array_get(json_object_get(res.output, "rows"), 0), "q")),
           "1; DELETE FROM t", "input value stays data too");
    is_int(db_count("SELECT count(*) FROM t"), 2, "nothing deleted");
    act_handler_result_release(&res);
}

static void test_limits_and_errors(void)
{
    struct act_handler_result res;
    char dsn[200];
    json_t *s;
    int rc;

    rc = run(spec("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10) "
                  "SELECT x FROM c", "{\"max_rows\": 3}"), NULL, &res);
    is_int(rc, ACT_OK, "a long result succeeds");
    is_int(json_array_size(json_object_get(res.output, "rows")), 3, "max_rows rows kept");
    is_int(json_integer_value(json_object_get(res.output, "row_count")), 10, "all rows counted");
    ok(json_is_true(json_object_get(res.output, "truncated")), "marked truncated");
    act_handler_result_release(&res);

    snprintf(dsn, sizeof(dsn), "sqlite:%s/missing.db", g_dir);
    s = spec("SELECT 1", "");
    json_object_set_new(s, "dsn", json_string(dsn));
    rc = run(s, NULL, &res);
    is_int(rc, ACT_EIO, "a missing database file is not created");
    ok(strstr(res.error, "cannot open") != NULL, "error says so: %s", res.error);
    ok(access(dsn + 7, F_OK) != 0, "and no file appeared");
    act_handler_result_release(&res);
}

struct worker_arg {
    void *state;
    int failures;
};

static void *worker(void *ud)
{
    struct worker_arg *w = ud;

    for (int i = 0; i < 25; i++) {
        struct act_handler_result res;

        if (execute(w->state, "{\"v\": 7}", 10000, &res) != ACT_OK) {
            w->failures++;
            diag("concurrent attempt failed: %s", res.error);
        }
        act_handler_result_release(&res);
    }
    return NULL;
}

static void test_pool(void)
{
    const struct act_handler_ops *ops = act_handler_find("sql");
    json_t *s = spec("INSERT INTO pool(v) VALUES (:input.v); SELECT count(*) AS n FROM pool", "");
    struct worker_arg w[4];
    pthread_t th[4];
    struct act_err err = {0};
    void *state = NULL;
    int failures = 0;

    db_exec("PRAGMA journal_mode = WAL; CREATE TABLE pool(v INTEGER)");
    if (ops->open(s, NULL, &state, &err) < 0) {
        ok(0, "open: %s", err.msg);
        json_decref(s);
        return;
    }
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker_arg){.state = state};
        pthread_create(&th[i], NULL, worker, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        failures += w[i].failures;
    }
    is_int(failures, 0, "100 attempts from 4 threads on one state all succeed");
    is_int(db_count("SELECT count(*) FROM pool WHERE v = 7"), 100, "and all committed");
    ops->close(state);
    json_decref(s);
}

int main(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/act-sql-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(g_db, sizeof(g_db), "%s/test.db", g_dir);
    test_validate();
    test_parse();
    test_mask();
    test_insert_select();
    test_templates();
    test_transaction();
    test_read_only();
    test_timeout();
    test_injection();
    test_limits_and_errors();
    test_pool();
    unlink(g_db);
    {
        char p[160];
        snprintf(p, sizeof(p), "%s-wal", g_db);
        unlink(p);
        snprintf(p, sizeof(p), "%s-shm", g_db);
        unlink(p);
    }
    rmdir(g_dir);
    return done_testing();
}
