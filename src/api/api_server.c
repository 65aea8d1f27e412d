/*
 * The HTTP server: libmicrohttpd glue, body accumulation, dispatch.
 *
 * Threading: libmicrohttpd runs an internal thread pool (conf->threads, 8 by
 * default), each thread with its own epoll set.  A handler runs on the pool
 * thread that owns the connection and may block for the engine's group
 * commit; while it blocks, that thread's other connections wait, which is
 * why the pool is larger than the core count: more threads are more
 * requests sharing one fsync.  Nothing here is shared between requests
 * except the read-only struct act_api and the lock-free counters.
 *
 * libmicrohttpd calls the access handler several times per request:
 *   1. first call (*con_cls == NULL): the headers are in.  We allocate the
 *      per-request state, route the request and check Content-Length
 *      against max_body_bytes; a body announced too large is answered 413
 *      at once (queueing a response before the body is read is allowed in
 *      this state, and libmicrohttpd then skips the body and closes);
 *   2. zero or more calls with *upload_data_size > 0: a body chunk, which
 *      we append (or, once over the limit, drop: a chunked body has no
 *      Content-Length to check up front, and a response cannot be queued
 *      mid-upload, so the 413 waits for the last call);
 *   3. a final call with *upload_data_size == 0: dispatch and respond.
 * The state is freed in the MHD_OPTION_NOTIFY_COMPLETED callback, which
 * runs for every request, including aborted ones.
 *
 * Every response is counted (api_stats.c) and logged at debug level with
 * method, path (never the query), status and duration.
 */
#include "api/api_internal.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/time.h"

#include <errno.h>
#include <microhttpd.h>
#include <sched.h>
#include <stdatomic.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACT_LOG_MODULE "api"

/* Per-request state, owned by libmicrohttpd's *con_cls slot. */
struct req_state {
    int64_t t0_us; /* monotonic, at the first call */
    enum act_api_route_result match;
    size_t route_idx;
    struct act_api_params params;
    char allow[64];
    char *body; /* act_try_malloc'ed; never over max_body_bytes */
    size_t len, cap;
    bool too_big;  /* the body went over the limit: answer 413 */
    bool oom;      /* the body could not be stored: answer 503 */
    bool answered; /* a response is queued */
    /* deferred reply: see act_api_defer */
    struct act_api *api;
    struct MHD_Connection *conn;
    void (*cont)(void *ud, struct act_api_resp *resp);
    void *cont_ud;
    atomic_int defer;  /* DEFER_NONE, _SUSPENDED (server side), _DONE (engine side) */
};

enum { DEFER_NONE = 0, DEFER_SUSPENDED = 1, DEFER_DONE = 2 };

void *act_api_defer(struct act_api_req *req, struct act_api_resp *resp,
                    void (*cont)(void *ud, struct act_api_resp *resp), void *ud)
{
    resp->cont = cont;
    resp->cont_ud = ud;
    return req->state;
}

void act_api_defer_cancel(struct act_api_resp *resp)
{
    resp->cont = NULL;
    resp->cont_ud = NULL;
}

/* The engine's completion callback: resume the connection if the server
 * suspended it already; otherwise the server sees DONE and resumes itself. */
void act_api_resume(void *tok)
{
    struct req_state *st = tok;
    struct MHD_Connection *conn = st->conn;
    if (atomic_exchange(&st->defer, DEFER_DONE) == DEFER_SUSPENDED)
        MHD_resume_connection(conn);
}

/* ---- responses ---- */

/* Copy `path` for a log line: printable ASCII only, bounded. */
static void log_path(const char *path, char *out, size_t len)
{
    size_t n = 0;

    for (; path && *path && n + 1 < len; path++) {
        unsigned char c = (unsigned char)*path;
        out[n++] = (c > ' ' && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
    }
    out[n] = '\0';
}

static void log_request(const char *method, const char *url, int status, int64_t dur_us)
{
    char path[256], kv[400];

    if (ACT_LOG_DEBUG < act_log_min_level)
        return;
    log_path(url, path, sizeof(path));
    snprintf(kv, sizeof(kv), "method=%s path=\"%s\" status=%d dur_us=%lld", method, path, status,
             (long long)dur_us);
    act_log_write(ACT_LOG_DEBUG, ACT_LOG_MODULE, kv, "request");
}

/* Serialise `resp`, queue it, count it, log it.  Releases `resp`. */
static enum MHD_Result send_resp(struct act_api *api, struct MHD_Connection *conn,
                                 const char *method, const char *url, struct req_state *st,
                                 struct act_api_resp *resp)
{
    struct MHD_Response *r;
    const char *ctype = resp->content_type;
    char *buf = NULL;
    size_t len = 0;
    enum MHD_Result ret;
    int64_t dur;

    if (resp->body) {
        buf = act_api_json_dump(resp->body, &len);
    } else if (resp->text) {
        buf = resp->text;
        len = resp->text_len;
        resp->text = NULL;
    }
    if (!ctype)
        ctype = resp->status >= 400 ? "application/problem+json" : "application/json";
    if (buf && len)
        r = MHD_create_response_from_buffer_with_free_callback(len, buf, act_free);
    else
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!r) {
        act_free(buf);
        act_api_resp_release(resp);
        return MHD_NO;
    }
    if (!(buf && len))
        act_free(buf);
    if (resp->status != 204)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (resp->location[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, resp->location);
    if (resp->allow[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
    if (resp->status >= 500) {
        const char *detail = json_string_value(json_object_get(resp->body, "detail"));
        char path[256];

        log_path(url, path, sizeof(path));
        act_log_warn("%s %s: %d %s", method, path, resp->status, detail ? detail : "");
    }
    ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    st->answered = true;
    dur = act_time_mono_us() - st->t0_us;
    act_api_stats_record(api->stats, st->match == ACT_API_ROUTE_FOUND ? (long)st->route_idx : -1,
                         resp->status, dur);
    log_request(method, url, resp->status, dur);
    act_api_resp_release(resp);
    return ret;
}

/* ---- the request body ---- */

static void body_drop(struct req_state *st)
{
    act_free(st->body);
    st->body = NULL;
    st->len = st->cap = 0;
}

/* Grow the body buffer to hold `need` bytes (need <= max).  False on OOM. */
static bool body_reserve(struct req_state *st, size_t need, size_t max)
{
    size_t cap = st->cap ? st->cap : 4096;
    char *nb;

    if (need <= st->cap)
        return true;
    while (cap < need)
        cap = cap > max / 2 ? max : cap * 2;
    if (cap < need)
        cap = need;
    if (!(nb = act_try_malloc(cap)))
        return false;
    if (st->len)
        memcpy(nb, st->body, st->len);
    act_free(st->body);
    st->body = nb;
    st->cap = cap;
    return true;
}

static void body_append(struct act_api *api, struct req_state *st, const char *data, size_t n)
{
    if (st->too_big || st->oom || st->answered)
        return;
    if (n > api->max_body_bytes - st->len) {
        st->too_big = true;
        body_drop(st);
        return;
    }
    if (!body_reserve(st, st->len + n, api->max_body_bytes)) {
        st->oom = true;
        body_drop(st);
        return;
    }
    memcpy(st->body + st->len, data, n);
    st->len += n;
}

/* ---- the access handler ---- */

/* First call: route, and check the announced body size.  Returns true when
 * a 413 must be sent right away. */
static bool begin(struct act_api *api, struct MHD_Connection *conn, const char *url,
                  const char *method, struct req_state *st)
{
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

    st->match = act_api_route_find(api->routes, api->n_routes, method, url, &st->route_idx,
                                   &st->params, st->allow, sizeof(st->allow));
    if (cl && *cl) {
        char *end = NULL;
        unsigned long long v;

        errno = 0;
        v = strtoull(cl, &end, 10);
        if (errno == 0 && end && *end == '\0' && v > api->max_body_bytes)
            return true;
        /* Reserve the announced size up front: one allocation, no copies. */
        if (errno == 0 && end && *end == '\0' && v > 0 && !body_reserve(st, (size_t)v, (size_t)v))
            st->oom = true;
    }
    return false;
}

static void dispatch(struct act_api *api, struct MHD_Connection *conn, const char *method,
                     const char *url, struct req_state *st, struct act_api_resp *resp)
{
    const struct act_api_route *route = &api->routes[st->route_idx];
    const char *ctype =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    struct act_api_req req;

    if ((route->flags & ACT_API_ROUTE_JSON) && ctype && !act_api_media_is_json(ctype)) {
        act_api_reply_problem(resp, 415, NULL, NULL,
                              "Content-Type '%s' is not accepted: send application/json", ctype);
        return;
    }
    memset(&req, 0, sizeof(req));
    req.state = st;
    req.api = api;
    req.engine = api->engine;
    req.conn = conn;
    req.method = method;
    req.path = url;
    req.route = route;
    req.params = st->params;
    req.body = st->len ? st->body : NULL;
    req.body_len = st->len;
    req.content_type = ctype;
    route->handler(&req, resp);
    if (resp->cont) /* deferred: the continuation sets the status */
        return;
    if (resp->status < 100 || resp->status > 599) {
        act_log_error("%s %s: the handler answered no status", method, route->pattern);
        act_api_reply_problem(resp, 500, NULL, NULL, "the server produced no answer");
    }
}

static enum MHD_Result respond(struct act_api *api, struct MHD_Connection *conn, const char *method,
                               const char *url, struct req_state *st)
{
    struct act_api_resp resp;

    memset(&resp, 0, sizeof(resp));
    if (st->match == ACT_API_ROUTE_NO_PATH) {
        act_api_reply_problem(&resp, 404, NULL, NULL, "no route for %s %s", method, url);
    } else if (st->match == ACT_API_ROUTE_NO_METHOD) {
        act_api_reply_problem(&resp, 405, NULL, NULL, "%s is not allowed here; allowed: %s", method,
                              st->allow);
        snprintf(resp.allow, sizeof(resp.allow), "%s", st->allow);
    } else if (st->too_big) {
        act_api_reply_problem(&resp, 413, NULL, NULL, "the request body exceeds %zu bytes",
                              api->max_body_bytes);
    } else if (st->oom) {
        act_api_reply_problem(&resp, 503, NULL, NULL, "out of memory storing the request body");
    } else {
        st->api = api;
        st->conn = conn;
        dispatch(api, conn, method, url, st, &resp);
        if (resp.cont) {
            /* Deferred: park the connection until the engine calls back. */
            st->cont = resp.cont;
            st->cont_ud = resp.cont_ud;
            atomic_fetch_add(&api->n_deferred, 1);
            MHD_suspend_connection(conn);
            /* NONE -> SUSPENDED, unless the engine was faster (DONE stays
             * DONE: the continuation checks it), then resume right away. */
            int expected = DEFER_NONE;
            if (!atomic_compare_exchange_strong(&st->defer, &expected, DEFER_SUSPENDED))
                MHD_resume_connection(conn);
            return MHD_YES;
        }
    }
    return send_resp(api, conn, method, url, st, &resp);
}

/* Called again after MHD_resume_connection: build the deferred answer. */
static enum MHD_Result respond_deferred(struct act_api *api, struct MHD_Connection *conn,
                                        const char *method, const char *url, struct req_state *st)
{
    struct act_api_resp resp;

    memset(&resp, 0, sizeof(resp));
    st->cont(st->cont_ud, &resp);
    st->cont = NULL;
    atomic_fetch_sub(&api->n_deferred, 1);
    return send_resp(api, conn, method, url, st, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct act_api *api = cls;
    struct req_state *st = *con_cls;

    (void)version;
    if (!st) {
        st = act_xcalloc(1, sizeof(*st));
        st->t0_us = act_time_mono_us();
        *con_cls = st;
        if (begin(api, conn, url, method, st)) {
            struct act_api_resp resp;

            memset(&resp, 0, sizeof(resp));
            act_api_reply_problem(&resp, 413, NULL, NULL,
                                  "the request body exceeds %zu bytes (Content-Length)",
                                  api->max_body_bytes);
            return send_resp(api, conn, method, url, st, &resp);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        body_append(api, st, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->answered)
        return MHD_YES;
    if (st->cont) {
        if (atomic_load(&st->defer) != DEFER_DONE)
            return MHD_YES; /* not our turn yet (a spurious call) */
        return respond_deferred(api, conn, method, url, st);
    }
    return respond(api, conn, method, url, st);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req_state *st = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (!st)
        return;
    if (st->cont) {
        /* The client left while its answer was deferred: the engine has
         * called back already (a suspended connection is only torn down
         * after it is resumed); build the answer and drop it. */
        struct act_api_resp resp;
        memset(&resp, 0, sizeof(resp));
        st->cont(st->cont_ud, &resp);
        act_api_resp_release(&resp);
        st->cont = NULL;
        atomic_fetch_sub(&st->api->n_deferred, 1);
    }
    act_free(st->body);
    act_free(st);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) ACT_PRINTF(2, 0);

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    act_log_warn("libmicrohttpd: %s", msg);
}

/* ---- lifecycle ---- */

/* Concatenate every resource's route table. */
static void routes_build(struct act_api *api)
{
    static const struct {
        const struct act_api_route *routes;
        const size_t *n;
    } tables[] = {
        {act_api_service_routes, &act_api_n_service_routes},
        {act_api_action_routes, &act_api_n_action_routes},
        {act_api_sub_routes, &act_api_n_sub_routes},
        {act_api_event_routes, &act_api_n_event_routes},
        {act_api_exec_routes, &act_api_n_exec_routes},
        {act_api_dead_routes, &act_api_n_dead_routes},
        {act_api_plugin_routes, &act_api_n_plugin_routes},
    };
    size_t total = 0, k = 0;

    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        total += *tables[t].n;
    api->routes = act_xcalloc(total, sizeof(*api->routes));
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        memcpy(api->routes + k, tables[t].routes, *tables[t].n * sizeof(*api->routes));
        k += *tables[t].n;
    }
    api->n_routes = total;
}

/* Resolve conf->host into a socket address (numeric or a name). */
static int resolve(const char *host, int port, struct sockaddr_storage *ss, struct act_err *err)
{
    struct addrinfo hints, *res = NULL;
    char portstr[16];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%d", port);
    rc = getaddrinfo(host && *host ? host : NULL, portstr, &hints, &res);
    if (rc != 0 || !res)
        return act_err_field(err, ACT_EINVAL, "listen", "cannot resolve listen host '%s': %s",
                             host ? host : "", gai_strerror(rc));
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return ACT_OK;
}

static void conf_defaults(struct act_api *api, const struct act_api_conf *conf)
{
    snprintf(api->host, sizeof(api->host), "%s", conf->host ? conf->host : "127.0.0.1");
    api->port = conf->port;
    api->threads = conf->threads > 0 ? conf->threads : ACT_API_DEFAULT_THREADS;
    api->max_body_bytes = conf->max_body_bytes ? conf->max_body_bytes : ACT_API_DEFAULT_MAX_BODY;
    api->max_batch_events =
        conf->max_batch_events ? conf->max_batch_events : ACT_API_DEFAULT_MAX_BATCH;
    api->connection_limit =
        conf->connection_limit > 0 ? conf->connection_limit : ACT_API_DEFAULT_CONN_LIMIT;
}

static void api_free(struct act_api *api)
{
    if (!api)
        return;
    act_api_stats_free(api->stats);
    act_free(api->routes);
    act_free(api->openapi);
    act_free(api);
}

int act_api_start(struct act_engine *e, const struct act_api_conf *conf, struct act_api **out,
                  struct act_err *err)
{
    struct act_api *api = act_xcalloc(1, sizeof(*api));
    struct sockaddr_storage ss;
    const union MHD_DaemonInfo *info;
    const char *src = NULL;
    unsigned flags;
    int rc;

    *out = NULL;
    api->engine = e;
    conf_defaults(api, conf);
    if (api->port < 0 || api->port > 65535) {
        rc = act_err_field(err, ACT_EINVAL, "listen", "listen port %d is out of range", api->port);
        goto fail;
    }
    if ((rc = resolve(api->host, api->port, &ss, err)) < 0)
        goto fail;
    routes_build(api);
    api->stats = act_api_stats_new(api->routes, api->n_routes);
    api->openapi = act_api_openapi_load(&api->openapi_len, &src);
    flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO | MHD_USE_ERROR_LOG |
            MHD_ALLOW_SUSPEND_RESUME;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    errno = 0;
    /* The logger goes first so that option errors are logged through it. */
    api->daemon = MHD_start_daemon(
        flags, (uint16_t)api->port, NULL, NULL, on_request, api, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, api, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)api->threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)api->connection_limit, MHD_OPTION_CONNECTION_TIMEOUT,
        120u, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_LISTEN_BACKLOG_SIZE,
        1024u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, api, MHD_OPTION_SOCK_ADDR,
        (const struct sockaddr *)&ss, MHD_OPTION_END);
    if (!api->daemon) {
        rc = act_err_field(err, ACT_EIO, "listen", "cannot listen on %s:%d: %s", api->host,
                           api->port, errno ? strerror(errno) : "libmicrohttpd refused to start");
        goto fail;
    }
    info = MHD_get_daemon_info(api->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (info && info->port)
        api->port = info->port;
    act_log_info("listening on %s:%d (%d threads, openapi from %s)", api->host, api->port,
                 api->threads, src);
    *out = api;
    return ACT_OK;
fail:
    api_free(api);
    return rc;
}

int act_api_port(const struct act_api *api)
{
    return api ? api->port : 0;
}

void act_api_stop(struct act_api *api)
{
    if (!api)
        return;
    if (api->daemon) {
        /* Stop accepting, then let parked requests get their answers:
         * libmicrohttpd must not stop with suspended connections. */
        int64_t deadline = act_time_mono_us() + 30 * 1000000LL;
        int fd = MHD_quiesce_daemon(api->daemon);
        while (atomic_load(&api->n_deferred) > 0 && act_time_mono_us() < deadline)
            sched_yield();
        MHD_stop_daemon(api->daemon);
        if (fd >= 0) /* closed only after the daemon stopped (libmicrohttpd's rule) */
            close(fd);
    }
    api_free(api);
}
