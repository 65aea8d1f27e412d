/*
 * sqlite_ceiling: the storage ceiling for bench/e2e.sh.
 *
 * How many jobs per second SQLite itself can record on this machine when
 * they are written the way the engine writes them: WAL, the store's own
 * table definitions (text UUIDv7 keys, WITHOUT ROWID, the same indexes),
 * group commit of BATCH jobs per transaction, and each job written as one
 * INSERT into executions when it is created and one UPDATE when it
 * finishes.  Transaction k inserts batch k and finishes batch k-1, which is
 * what a group-committing writer does under steady load (the finish of a
 * job lands in a later commit than its creation).
 *
 * Mode `exec` writes exactly that (1 insert + 1 update per job).  Mode
 * `job` also inserts the event row of each job (events table, ~180-byte
 * JSON document), so it is the cost of the minimum the engine has to
 * store; the engine additionally claims each execution (one more UPDATE),
 * so neither mode is reachable by it, by construction.
 *
 * Single thread, prepared statements, no HTTP, no JSON parsing: nothing but
 * SQLite and the disk.  The database file is deleted and recreated first.
 *
 * Output: one line of key=value pairs, e.g.
 *   sqlite_ceiling mode=exec sync=NORMAL jobs=300000 batch=1000 secs=1.234 jobs_per_s=243000
 */
#include "base/alloc.h"
#include "base/time.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The store's definitions of the two tables a job touches (src/store). */
static const char *const schema_sql =
    "CREATE TABLE events(id TEXT PRIMARY KEY, tenant TEXT NOT NULL,"
    " source TEXT NOT NULL, ce_id TEXT NOT NULL, type TEXT NOT NULL, doc TEXT NOT NULL,"
    " received_at INTEGER NOT NULL, UNIQUE(tenant, source, ce_id)) WITHOUT ROWID;"
    "CREATE TABLE executions(id TEXT PRIMARY KEY, tenant TEXT NOT NULL,"
    " action_id TEXT NOT NULL, event_id TEXT, subscription_id TEXT, parent_id TEXT,"
    " workflow_run_id TEXT, flow_execution_id TEXT, status INTEGER NOT NULL,"
    " attempt INTEGER NOT NULL, priority INTEGER NOT NULL, input TEXT, output TEXT,"
    " error TEXT, error_detail TEXT, queued_at INTEGER NOT NULL, started_at INTEGER,"
    " finished_at INTEGER, next_attempt_at INTEGER, lease_token INTEGER,"
    " lease_deadline INTEGER) WITHOUT ROWID;"
    "CREATE INDEX execs_action ON executions(action_id, id);"
    "CREATE INDEX execs_event ON executions(event_id) WHERE event_id IS NOT NULL;"
    "CREATE INDEX execs_parent ON executions(parent_id) WHERE parent_id IS NOT NULL;"
    "CREATE INDEX execs_flow ON executions(flow_execution_id)"
    " WHERE flow_execution_id IS NOT NULL;";

static const char *const event_sql =
    "INSERT OR IGNORE INTO events(id, tenant, source, ce_id, type, doc, received_at)"
    " VALUES(?1, 'admin', 'actiond', ?2, 'bench.e', ?3, ?4)";
static const char *const exec_sql =
    "INSERT INTO executions(id, tenant, action_id, event_id, subscription_id, status, attempt,"
    " priority, queued_at) VALUES(?1, 'admin', ?2, ?3, ?4, 0, 1, 0, ?5)";
static const char *const finish_sql =
    "UPDATE executions SET status = 3, output = 'null', started_at = ?2, finished_at = ?2,"
    " lease_token = NULL, lease_deadline = NULL WHERE id = ?1";

struct ceiling {
    sqlite3 *db;
    sqlite3_stmt *ev, *ex, *fin;
    bool with_event;
    char action_id[ACT_UUID_LEN + 1], sub_id[ACT_UUID_LEN + 1];
    char (*ids)[ACT_UUID_LEN + 1]; /* the batch inserted by the previous transaction */
    size_t n_ids;
};

static void die_sql(sqlite3 *db, const char *what)
{
    fprintf(stderr, "sqlite_ceiling: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

static void step_reset(struct ceiling *c, sqlite3_stmt *q, const char *what)
{
    if (sqlite3_step(q) != SQLITE_DONE)
        die_sql(c->db, what);
    sqlite3_reset(q);
}

/* Insert one job (event row when asked, execution row); its execution id
 * goes into `id_out` for the next transaction to finish. */
static void insert_job(struct ceiling *c, uint64_t i, char id_out[ACT_UUID_LEN + 1])
{
    char ev_id[ACT_UUID_LEN + 1], ce_id[ACT_UUID_LEN + 1], doc[320];
    int64_t now = act_time_now_us();

    act_uuid_v7(ev_id);
    act_uuid_v7(id_out);
    if (c->with_event) {
        act_uuid_v7(ce_id);
        snprintf(doc, sizeof(doc),
                 "{\"id\":\"%s\",\"source\":\"actiond\",\"type\":\"bench.e\",\"specversion\":"
                 "\"1.0\",\"time\":\"2026-01-01T00:00:00.000Z\",\"data\":{\"i\":%llu,"
                 "\"user\":\"u-%05llu\",\"amount\":%llu}}",
                 ce_id, (unsigned long long)i, (unsigned long long)(i % 100000),
                 (unsigned long long)(i * 7 % 1000));
        sqlite3_bind_text(c->ev, 1, ev_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(c->ev, 2, ce_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(c->ev, 3, doc, -1, SQLITE_STATIC);
        sqlite3_bind_int64(c->ev, 4, now);
        step_reset(c, c->ev, "insert event");
    }
    sqlite3_bind_text(c->ex, 1, id_out, -1, SQLITE_STATIC);
    sqlite3_bind_text(c->ex, 2, c->action_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(c->ex, 3, ev_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(c->ex, 4, c->sub_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(c->ex, 5, now);
    step_reset(c, c->ex, "insert execution");
}

/* One group commit: finish the previous batch, insert `n` new jobs. */
static void one_txn(struct ceiling *c, uint64_t first, size_t n,
                    char (*next_ids)[ACT_UUID_LEN + 1])
{
    int64_t now = act_time_now_us();

    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        die_sql(c->db, "begin");
    for (size_t k = 0; k < c->n_ids; k++) {
        sqlite3_bind_text(c->fin, 1, c->ids[k], -1, SQLITE_STATIC);
        sqlite3_bind_int64(c->fin, 2, now);
        step_reset(c, c->fin, "finish execution");
    }
    for (size_t k = 0; k < n; k++)
        insert_job(c, first + k, next_ids[k]);
    if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        die_sql(c->db, "commit");
}

static void open_db(struct ceiling *c, const char *path, const char *sync)
{
    char pragmas[200], *wal = act_xasprintf("%s-wal", path), *shm = act_xasprintf("%s-shm", path);

    unlink(path);
    unlink(wal);
    unlink(shm);
    act_free(wal);
    act_free(shm);
    if (sqlite3_open(path, &c->db) != SQLITE_OK)
        die_sql(c->db, "open");
    /* The pragmas the store sets (store_sqlite.c). */
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=OFF;"
             " PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY;",
             sync);
    if (sqlite3_exec(c->db, pragmas, NULL, NULL, NULL) != SQLITE_OK)
        die_sql(c->db, "pragmas");
    if (sqlite3_exec(c->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK)
        die_sql(c->db, "schema");
    if (sqlite3_prepare_v2(c->db, event_sql, -1, &c->ev, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->db, exec_sql, -1, &c->ex, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->db, finish_sql, -1, &c->fin, NULL) != SQLITE_OK)
        die_sql(c->db, "prepare");
}

static void usage(void)
{
    fprintf(stderr, "usage: sqlite_ceiling DB_PATH exec|job NORMAL|FULL JOBS [BATCH]\n"
                    "  exec: 1 execution insert + 1 update per job; job: also the event row\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct ceiling c;
    char *end = NULL;
    unsigned long long jobs, batch = 1000, done = 0;
    int64_t t0, t1;

    if (argc < 5 || argc > 6)
        usage();
    memset(&c, 0, sizeof(c));
    if (strcmp(argv[2], "exec") != 0 && strcmp(argv[2], "job") != 0)
        usage();
    if (strcmp(argv[3], "NORMAL") != 0 && strcmp(argv[3], "FULL") != 0)
        usage();
    c.with_event = strcmp(argv[2], "job") == 0;
    jobs = strtoull(argv[4], &end, 10);
    if (!*argv[4] || *end || jobs == 0)
        usage();
    if (argc == 6) {
        batch = strtoull(argv[5], &end, 10);
        if (!*argv[5] || *end || batch == 0 || batch > 100000)
            usage();
    }
    open_db(&c, argv[1], argv[3]);
    act_uuid_v7(c.action_id);
    act_uuid_v7(c.sub_id);
    c.ids = act_xcalloc(batch, sizeof(*c.ids));
    char(*next)[ACT_UUID_LEN + 1] = act_xcalloc(batch, sizeof(*next));

    t0 = act_time_mono_us();
    while (done < jobs || c.n_ids > 0) {
        size_t n = (size_t)(jobs - done < batch ? jobs - done : batch);
        char(*swap)[ACT_UUID_LEN + 1];

        one_txn(&c, done, n, next);
        done += n;
        swap = c.ids;
        c.ids = next;
        next = swap;
        c.n_ids = n;
    }
    t1 = act_time_mono_us();

    double secs = (double)(t1 - t0) / 1e6;
    printf("sqlite_ceiling mode=%s sync=%s jobs=%llu batch=%llu secs=%.3f jobs_per_s=%.0f\n",
           argv[2], argv[3], jobs, batch, secs, (double)jobs / secs);
    sqlite3_finalize(c.ev);
    sqlite3_finalize(c.ex);
    sqlite3_finalize(c.fin);
    sqlite3_close(c.db);
    act_free(c.ids);
    act_free(next);
    return 0;
}
