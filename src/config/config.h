/*
 * Daemon configuration: defaults < YAML file < ACTIOND_* environment <
 * command-line flags.  The result is a plain struct, const after load;
 * runtime code never sees YAML.  Each key is declared once in a table in
 * config.c (name, type, default, bounds), which also generates the
 * reference in docs/configuration.md.
 */
#ifndef ACT_CONFIG_CONFIG_H
#define ACT_CONFIG_CONFIG_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct act_config {
    char listen_host[256];     /* listen: "127.0.0.1:8080" */
    int listen_port;
    char data_dir[4096];       /* data_dir: "./var" */
    char port_file[4096];      /* port_file: "" (write the bound port here) */
    bool sync_full;            /* store.synchronous: "full" | "normal" */
    int workers;               /* engine.workers: 0 = auto */
    int64_t lease_grace_ms;    /* engine.lease_grace_ms: 5000 */
    int64_t drain_timeout_ms;  /* engine.drain_timeout_ms: 10000 */
    int http_threads;          /* http.threads: 0 = auto */
    size_t max_body_bytes;     /* http.max_body_bytes: 1048576 */
    size_t max_batch_events;   /* http.max_batch_events: 1000 */
    int log_level;             /* log.level: info (enum act_log_level) */
    int log_format;            /* log.format: logfmt | json */
    char plugins_dir[4096];    /* plugins.dir: "" (native plugins allowed from here) */
    char platform_base_url[2048]; /* platform.base_url: "" (platform actions need it) */
    /* platform.actions: the YAML mapping of platform routes as JSON text
     * ("": the built-in routes only); src/plugin parses it. */
    char platform_actions[65536];
    int64_t plugins_http_timeout_ms;  /* plugins.http_timeout_ms: 10000 */
    size_t plugins_max_dispatch;      /* plugins.max_dispatch_events: 100 */
    char egress_allow[4096];   /* egress.allow: "" (CIDRs the webhook kind may reach
                                * beyond public addresses, comma-separated) */
};

/* Load: fill defaults, then the YAML file named by --config FILE (or
 * ACTIOND_CONFIG), then the environment `envp` (NULL: environ; ACTIOND_LISTEN,
 * ACTIOND_DATA_DIR, ACTIOND_STORE_SYNCHRONOUS, ...), then the flags of argv
 * (--listen HOST:PORT, --data-dir DIR, --sync full|normal, --workers N,
 * --log-level L, --log-format F, --port-file F, --max-body-bytes N,
 * --max-batch-events N, --platform-base-url URL, --max-dispatch-events N).  Errors name the key and, for the file,
 * file:line:col.  Returns ACT_EINVAL on any error.  thread: init */
int act_config_load(struct act_config *cfg, int argc, char *const *argv, char *const *envp,
                    struct act_err *err);

/* The usage text for --help.  thread: any */
const char *act_config_usage(void);

#endif
