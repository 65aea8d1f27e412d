/*
 * actiond: the daemon entry point.  Wiring only: configuration, logging,
 * the handler kinds' process settings (platform base URL, secret box), the
 * engine, the plugin registry, the HTTP API, the port file and the signal
 * wait.  No logic
 * that a test would want to reach lives here.
 *
 * Signals: SIGTERM and SIGINT are blocked before any thread starts, so every
 * thread the engine and libmicrohttpd create inherits the mask and the main
 * thread alone receives them, synchronously, through sigwait().  After the
 * first one the signals stay blocked: a second Ctrl-C does not cut the drain
 * short (the drain is bounded by engine.drain_timeout_ms).  SIGPIPE is
 * ignored so a client closing its socket surfaces as EPIPE, not death.
 *
 * Exit status: 0 after a clean stop, 1 with one line on stderr for a
 * configuration or start-up error (before logging is the only channel, and
 * scripts read stderr).
 */
#include "api/api.h"
#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "config/config.h"
#include "engine/engine.h"
#include "handler/handler_http.h"
#include "handler/handler_native.h"
#include "handler/secret_box.h"
#include "handler/ssrf.h"
#include "plugin/plugin.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ACT_LOG_MODULE "daemon"

/* Create `dir` and its missing parents (mkdir -p).  Returns 0 or -errno. */
static int mkdir_p(const char *dir)
{
    char *path = act_xstrdup(dir);
    struct stat st;
    int rc = 0;

    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            rc = -errno;
        *p = '/';
        if (rc < 0)
            goto out;
    }
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        rc = -errno;
    else if (stat(path, &st) < 0)
        rc = -errno;
    else if (!S_ISDIR(st.st_mode))
        rc = -ENOTDIR;
out:
    act_free(path);
    return rc;
}

/* Write "PORT\n" to `path` through a temporary file in the same directory
 * and rename(2), so a reader sees either no file or the whole line. */
static int write_port_file(const char *path, int port)
{
    char *tmp = act_xasprintf("%s.tmp.%ld", path, (long)getpid());
    char line[16];
    int fd = -1, n, rc = 0;

    n = snprintf(line, sizeof(line), "%d\n", port);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, line, (size_t)n) != n || close(fd) < 0) {
        rc = -errno;
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) < 0) {
        rc = -errno;
        unlink(tmp);
    }
out:
    act_free(tmp);
    return rc;
}

/* `s` as a logfmt value: bare when it is a plain word, else quoted with
 * '"' and '\\' escaped.  Caller frees. */
static char *logfmt_value(const char *s)
{
    size_t n = 0;
    char *q, *o;

    if (*s && !strpbrk(s, " \t\"\\=\n"))
        return act_xstrdup(s);
    for (const char *p = s; *p; p++)
        n += (*p == '"' || *p == '\\') ? 2 : 1;
    q = o = act_xmalloc(n + 3);
    *o++ = '"';
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            *o++ = '\\';
        *o++ = *p;
    }
    *o++ = '"';
    *o = '\0';
    return q;
}

static void log_listening(const struct act_config *cfg, int port)
{
    char *host = logfmt_value(cfg->listen_host), *dir = logfmt_value(cfg->data_dir);
    char *kv = act_xasprintf("host=%s port=%d data_dir=%s sync=%s", host, port, dir,
                             cfg->sync_full ? "full" : "normal");

    /* act_log_info() has no kv tail, so check the level by hand. */
    if (ACT_LOG_INFO >= act_log_min_level)
        act_log_write(ACT_LOG_INFO, ACT_LOG_MODULE, kv, "listening");
    act_free(kv);
    act_free(dir);
    act_free(host);
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

/* Process-wide settings the handler kinds read, before any action opens:
 * the platform base URL and the secret box key (data_dir/secret.key). */
static int start_handlers(const struct act_config *cfg)
{
    struct act_err err = {0};

    if (act_native_set_plugins_dir(cfg->plugins_dir, &err) < 0) {
        fprintf(stderr, "actiond: plugins.dir: %s\n", err.msg);
        return ACT_EINVAL;
    }
    if (act_platform_set_base_url(cfg->platform_base_url) < 0) {
        fprintf(stderr, "actiond: platform.base_url '%s': not an http(s) URL without query\n",
                cfg->platform_base_url);
        return ACT_EINVAL;
    }
    if (act_secret_box_init(cfg->data_dir, &err) < 0) {
        fprintf(stderr, "actiond: secret box: %s\n", err.msg);
        return ACT_EIO;
    }
    if (act_ssrf_set_allow(cfg->egress_allow, &err) < 0) {
        fprintf(stderr, "actiond: %s\n", err.msg);
        return ACT_EINVAL;
    }
    return 0;
}

/* The plugin registry on the open engine. */
static int start_plugins(const struct act_config *cfg, struct act_engine *engine,
                         struct act_plugins **plugins)
{
    struct act_plugins_conf pc = {
        .platform_actions_json = cfg->platform_actions,
        .http_timeout_ms = cfg->plugins_http_timeout_ms,
        .max_dispatch_events = cfg->plugins_max_dispatch,
    };
    struct act_err err = {0};
    int rc;

    if ((rc = act_plugins_open(engine, &pc, plugins, &err)) < 0)
        fprintf(stderr, "actiond: plugin registry: %s%s%s\n", err.msg,
                err.field[0] ? " field " : "", err.field);
    return rc;
}

/* Open the engine, the plugin registry and start the API.  On failure
 * prints one line and leaves nothing running. */
static int start(const struct act_config *cfg, struct act_engine **engine,
                 struct act_plugins **plugins, struct act_api **api)
{
    struct act_engine_conf ec = {
        .data_dir = cfg->data_dir,
        .sync_full = cfg->sync_full,
        .workers = cfg->workers,
        .max_batch_events = cfg->max_batch_events,
        .lease_grace_ms = cfg->lease_grace_ms,
        .drain_timeout_ms = cfg->drain_timeout_ms,
    };
    struct act_api_conf ac = {
        .host = cfg->listen_host,
        .port = cfg->listen_port,
        .threads = cfg->http_threads,
        .max_body_bytes = cfg->max_body_bytes,
        .max_batch_events = cfg->max_batch_events,
    };
    struct act_err err = {0};
    bool v6 = strchr(cfg->listen_host, ':') != NULL;
    int rc;

    if ((rc = mkdir_p(cfg->data_dir)) < 0) {
        fprintf(stderr, "actiond: cannot create data_dir '%s': %s\n", cfg->data_dir,
                strerror(-rc));
        return ACT_EIO;
    }
    if ((rc = start_handlers(cfg)) < 0)
        return rc;
    if ((rc = act_engine_open(&ec, engine, &err)) < 0) {
        fprintf(stderr, "actiond: cannot open the engine in '%s': %s\n", cfg->data_dir, err.msg);
        return rc;
    }
    if ((rc = start_plugins(cfg, *engine, plugins)) < 0)
        goto fail;
    if ((rc = act_api_start(*engine, &ac, api, &err)) < 0) {
        fprintf(stderr, "actiond: cannot listen on %s%s%s:%d: %s\n", v6 ? "[" : "",
                cfg->listen_host, v6 ? "]" : "", cfg->listen_port, err.msg);
        goto fail;
    }
    return 0;
fail:
    act_plugins_close(*plugins);
    *plugins = NULL;
    act_engine_close(*engine);
    *engine = NULL;
    return rc;
}

int main(int argc, char **argv)
{
    struct act_config cfg;
    struct act_err err = {0};
    struct act_engine *engine = NULL;
    struct act_plugins *plugins = NULL;
    struct act_api *api = NULL;
    sigset_t sigs;
    int port, sig = 0, rc;

    if (wants_help(argc, argv)) {
        fputs(act_config_usage(), stdout);
        return 0;
    }
    if (act_config_load(&cfg, argc, argv, NULL, &err) < 0) {
        fprintf(stderr, "actiond: %s (see actiond --help)\n", err.msg);
        return 1;
    }
    act_log_setup(2, (enum act_log_level)cfg.log_level, (enum act_log_format)cfg.log_format);
    signal(SIGPIPE, SIG_IGN);
    /* Block before any thread exists so all of them inherit the mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if (start(&cfg, &engine, &plugins, &api) < 0)
        return 1;
    port = act_api_port(api);
    if (cfg.port_file[0] && (rc = write_port_file(cfg.port_file, port)) < 0) {
        fprintf(stderr, "actiond: cannot write port_file '%s': %s\n", cfg.port_file,
                strerror(-rc));
        act_api_stop(api);
        act_plugins_close(plugins);
        act_engine_close(engine);
        return 1;
    }
    log_listening(&cfg, port);

    while (sigwait(&sigs, &sig) != 0)
        ;
    act_log_info("stopping on %s", sig == SIGINT ? "SIGINT" : "SIGTERM");
    act_api_stop(api);       /* stop accepting, finish in-flight requests */
    act_plugins_close(plugins); /* no request uses the registry any more */
    act_engine_close(engine); /* drain running executions, close the store */
    act_native_unload_all();
    act_secret_box_release();
    if (cfg.port_file[0])
        unlink(cfg.port_file); /* a stale port must not mislead the next reader */
    act_log_info("stopped");
    return 0;
}
