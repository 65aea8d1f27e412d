/*
 * Shared between store_sqlite.c (open, schema, write side) and
 * store_sqlite_read.c (read side).  Not for use outside src/store/.
 */
#ifndef ACT_STORE_SQLITE_INTERNAL_H
#define ACT_STORE_SQLITE_INTERNAL_H

#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>

enum wstmt {
    W_BEGIN, W_COMMIT, W_ROLLBACK, W_SAVEPOINT, W_RELEASE, W_ROLLBACK_TO,
    W_ACTION_INSERT, W_ACTION_UPDATE, W_ACTION_DELETE, W_ACTION_NAME_OWNER,
    W_SUB_INSERT, W_SUB_UPDATE, W_SUB_DELETE, W_SUBS_OF_ACTION_DELETE,
    W_EVENT_INSERT, W_EVENT_FIND, W_EVENT_EXECS,
    W_EXEC_INSERT, W_EXEC_CLAIM, W_EXEC_FINISH, W_EXEC_RELEASE, W_EXEC_CANCEL, W_EXEC_STATUS,
    W_DEAD_INSERT, W_DEAD_REPLAYED,
    W_DOC_INSERT, W_DOC_UPDATE, W_DOC_DELETE,
    W_N
};

struct read_conn {
    sqlite3 *db;
    struct read_conn *next;
};

struct sqlite_store {
    struct act_store base;
    char *path;
    char *tenant;
    int lock_fd;                /* flock'ed actiond.lock, -1 when not held */
    sqlite3 *wdb;               /* writer connection: one thread at a time */
    sqlite3_stmt *w[W_N];
    /* Checkpoints run on their own thread and connection, so the writer
     * never copies WAL pages into the database inside a commit. */
    pthread_t ckpt_thread;
    pthread_mutex_t ckpt_lock;
    pthread_cond_t ckpt_cond;
    bool ckpt_running, ckpt_stop; /* guarded by: ckpt_lock */
    pthread_mutex_t pool_lock;
    struct read_conn *pool;     /* free read connections; guarded by: pool_lock */
};

/* Borrow / return a read connection.  thread: any */
sqlite3 *act_sqlite_read_get(struct sqlite_store *s, struct act_err *err);
void act_sqlite_read_put(struct sqlite_store *s, sqlite3 *db);

/* Map a SQLite failure on `db` to ACT_EIO with its message.  thread: any */
int act_sqlite_fail(sqlite3 *db, struct act_err *err, const char *what);

/* Bind a NUL-terminated string or NULL.  thread: any */
int act_sqlite_bind_text(sqlite3_stmt *st, int i, const char *s);

/* Fill the read-side members of `ops`.  thread: init */
void act_sqlite_read_ops(struct act_store_ops *ops);

#endif
