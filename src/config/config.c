/*
 * Daemon configuration: the key table and the layering of its sources.
 *
 * Every key is declared once, in `keys[]` below: YAML name (dots for
 * nesting), environment variable, flag, type, field, bounds, default and a
 * one-line description.  Defaults, the --help text and docs/configuration.md
 * all come from that table, so a key added here is automatically accepted
 * in every source.
 *
 * Load order (later wins): table defaults, the YAML file (config_yaml.c),
 * the ACTIOND_* environment, the command-line flags.  Each source feeds text
 * through the same act_conf_key_apply(), so a value means the same thing
 * whatever its source, and every error names the key and where the bad
 * value came from (flag, variable name or file:line:col).  The flags are
 * scanned first, before the file is read, so a mistyped option is reported
 * even when the file is broken and --config is found wherever it sits.
 *
 * Invariant: after a failed act_config_load the struct holds a mix of
 * sources and must not be used.
 */
#include "config/config.h"
#include "base/alloc.h"
#include "base/log.h"
#include "config/config_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIELD(m) offsetof(struct act_config, m), sizeof(((struct act_config *)0)->m)

/* Environment variable and flag naming the YAML file itself; not a key of
 * the file, so not in the table. */
#define CONFIG_ENV "ACTIOND_CONFIG"
#define CONFIG_FLAG "--config"

static const struct act_conf_key keys[] = {
    {"listen", "ACTIOND_LISTEN", "--listen", "HOST:PORT", ACT_CONF_T_LISTEN, FIELD(listen_host),
     0, 0, "127.0.0.1:8080", "address to listen on; :PORT means all IPv4 interfaces, [v6]:PORT"},
    {"data_dir", "ACTIOND_DATA_DIR", "--data-dir", "DIR", ACT_CONF_T_STR, FIELD(data_dir), 1, 0,
     "./var", "directory of the store (actiond.db); created if missing"},
    {"port_file", "ACTIOND_PORT_FILE", "--port-file", "FILE", ACT_CONF_T_STR, FIELD(port_file), 0,
     0, "", "write the bound port to FILE once listening (empty: do not)"},
    {"store.synchronous", "ACTIOND_STORE_SYNCHRONOUS", "--sync", "full|normal", ACT_CONF_T_SYNC,
     FIELD(sync_full), 0, 0, "full", "SQLite synchronous mode: full survives power loss"},
    {"engine.workers", "ACTIOND_ENGINE_WORKERS", "--workers", "N", ACT_CONF_T_INT, FIELD(workers),
     0, 1024, "0", "handler worker threads (0: automatic)"},
    {"engine.lease_grace_ms", "ACTIOND_ENGINE_LEASE_GRACE_MS", NULL, "MS", ACT_CONF_T_I64,
     FIELD(lease_grace_ms), 1, 3600000, "5000",
     "extra time past an action's timeout before a running execution is taken back"},
    {"engine.drain_timeout_ms", "ACTIOND_ENGINE_DRAIN_TIMEOUT_MS", NULL, "MS", ACT_CONF_T_I64,
     FIELD(drain_timeout_ms), 1, 3600000, "10000",
     "on shutdown, wait this long for running executions"},
    {"http.threads", "ACTIOND_HTTP_THREADS", "--http-threads", "N", ACT_CONF_T_INT,
     FIELD(http_threads), 0, 1024, "0", "HTTP thread pool size (0: automatic)"},
    {"http.max_body_bytes", "ACTIOND_HTTP_MAX_BODY_BYTES", "--max-body-bytes", "N",
     ACT_CONF_T_SIZE, FIELD(max_body_bytes), 1024, 1073741824, "1048576",
     "largest accepted request body (413 above)"},
    {"http.max_batch_events", "ACTIOND_HTTP_MAX_BATCH_EVENTS", "--max-batch-events", "N",
     ACT_CONF_T_SIZE, FIELD(max_batch_events), 1, 100000, "1000",
     "most events in one POST /v1/events (413 above)"},
    {"log.level", "ACTIOND_LOG_LEVEL", "--log-level", "debug|info|warn|error|off", ACT_CONF_T_LEVEL, FIELD(log_level),
     0, 0, "info", "least severe log level written"},
    {"log.format", "ACTIOND_LOG_FORMAT", "--log-format", "logfmt|json", ACT_CONF_T_FORMAT,
     FIELD(log_format), 0, 0, "logfmt", "log record format"},
    {"plugins.dir", "ACTIOND_PLUGINS_DIR", "--plugins-dir", "DIR", ACT_CONF_T_STR, FIELD(plugins_dir), 0, 0,
     "", "native plugins load from this directory only; relative paths resolve in it (empty: any path)"},
    {"plugins.http_timeout_ms", "ACTIOND_PLUGINS_HTTP_TIMEOUT_MS", NULL, "MS", ACT_CONF_T_I64,
     FIELD(plugins_http_timeout_ms), 100, 600000, "10000",
     "default timeout of a plugin or platform action call"},
    {"plugins.max_dispatch_events", "ACTIOND_PLUGINS_MAX_DISPATCH_EVENTS", "--max-dispatch-events",
     "N", ACT_CONF_T_SIZE, FIELD(plugins_max_dispatch), 1, 10000, "100",
     "most events in one POST /api/plugins/events/automation (413 above)"},
    {"platform.base_url", "ACTIOND_PLATFORM_BASE_URL", "--platform-base-url", "URL", ACT_CONF_T_URL,
     FIELD(platform_base_url), 0, 0, "", "base URL of the platform API called by platform actions"},
    {"platform.actions", "ACTIOND_PLATFORM_ACTIONS", NULL, "MAPPING", ACT_CONF_T_JSON,
     FIELD(platform_actions), 0, 0, "",
     "platform routes to add or override: type -> {method, path, require?, message?}"},
    {"egress.allow", "ACTIOND_EGRESS_ALLOW", "--egress-allow", "CIDRS", ACT_CONF_T_STR,
     FIELD(egress_allow), 0, 0, "",
     "comma-separated CIDRs webhook requests may reach although internal (loopback, private, "
     "link-local, metadata...); empty: public addresses only"},
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

const struct act_conf_key *act_conf_key_find(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

bool act_conf_is_section(const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < N_KEYS; i++)
        if (strncmp(keys[i].name, name, n) == 0 && keys[i].name[n] == '.')
            return true;
    return false;
}

static const struct act_conf_key *key_by_flag(const char *flag, size_t len)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (keys[i].flag && strlen(keys[i].flag) == len && memcmp(keys[i].flag, flag, len) == 0)
            return &keys[i];
    return NULL;
}

/* ---- value parsing ---- */

/* A decimal integer with optional sign and nothing else. */
static int parse_int64(const char *s, int64_t *out, char *why, size_t whylen)
{
    char *end = NULL;
    long long v;

    if (!*s || !(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9'))) {
        snprintf(why, whylen, "%s", *s ? "not an integer" : "empty value");
        return ACT_EINVAL;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (*end != '\0') {
        snprintf(why, whylen, "not an integer");
        return ACT_EINVAL;
    }
    if (errno == ERANGE) {
        snprintf(why, whylen, "out of range");
        return ACT_EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_bounded(const struct act_conf_key *k, const char *s, int64_t *out, char *why,
                         size_t whylen)
{
    if (parse_int64(s, out, why, whylen) < 0)
        return ACT_EINVAL;
    if (*out < k->min || *out > k->max) {
        snprintf(why, whylen, "out of range %" PRId64 "..%" PRId64, k->min, k->max);
        return ACT_EINVAL;
    }
    return 0;
}

/* The port of "HOST:PORT": 1 to 5 digits, 0..65535. */
static int parse_port(const char *s, int *port, char *why, size_t whylen)
{
    size_t n = strspn(s, "0123456789");
    long v;

    if (n == 0 || s[n] != '\0' || n > 5) {
        snprintf(why, whylen, "port must be a number 0..65535");
        return ACT_EINVAL;
    }
    v = strtol(s, NULL, 10);
    if (v > 65535) {
        snprintf(why, whylen, "port must be a number 0..65535");
        return ACT_EINVAL;
    }
    *port = (int)v;
    return 0;
}

/* listen: "HOST:PORT", ":PORT" (0.0.0.0) or "[v6]:PORT".  The host is kept
 * without brackets.  Host names are not resolved here. */
static int parse_listen(struct act_config *cfg, const char *s, char *why, size_t whylen)
{
    char host[sizeof(cfg->listen_host)];
    const char *colon, *hs = s;
    size_t hlen;
    int port;

    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':') {
            snprintf(why, whylen, "expected [IPV6]:PORT");
            return ACT_EINVAL;
        }
        hs = s + 1;
        hlen = (size_t)(rb - hs);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) {
            snprintf(why, whylen, "expected HOST:PORT");
            return ACT_EINVAL;
        }
        hlen = (size_t)(colon - s);
        if (memchr(s, ':', hlen)) {
            snprintf(why, whylen, "an IPv6 host needs brackets: [::1]:PORT");
            return ACT_EINVAL;
        }
    }
    if (hlen >= sizeof(host)) {
        snprintf(why, whylen, "host too long");
        return ACT_EINVAL;
    }
    memcpy(host, hs, hlen);
    host[hlen] = '\0';
    for (size_t i = 0; i < hlen; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c <= ' ' || c == 0x7f || c == '[' || c == ']' || c == '/') {
            snprintf(why, whylen, "invalid character in host");
            return ACT_EINVAL;
        }
    }
    if (s[0] == '[') {
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) != 1) {
            snprintf(why, whylen, "not an IPv6 address inside brackets");
            return ACT_EINVAL;
        }
    } else if (hlen == 0) {
        snprintf(host, sizeof(host), "0.0.0.0");
    }
    if (parse_port(colon + 1, &port, why, whylen) < 0)
        return ACT_EINVAL;
    memcpy(cfg->listen_host, host, sizeof(host));
    cfg->listen_port = port;
    return 0;
}

static int set_str(struct act_config *cfg, const struct act_conf_key *k, const char *val,
                   char *why, size_t whylen)
{
    size_t n = strlen(val);

    if ((int64_t)n < k->min) {
        snprintf(why, whylen, "must not be empty");
        return ACT_EINVAL;
    }
    if (n >= k->size) {
        snprintf(why, whylen, "longer than %zu bytes", k->size - 1);
        return ACT_EINVAL;
    }
    memcpy((char *)cfg + k->off, val, n + 1);
    return 0;
}

/* Store a bounded integer into an int, int64_t or size_t field. */
static int set_number(struct act_config *cfg, const struct act_conf_key *k, const char *val,
                      char *why, size_t whylen)
{
    char *field = (char *)cfg + k->off;
    int64_t v;

    if (parse_bounded(k, val, &v, why, whylen) < 0)
        return ACT_EINVAL;
    if (k->type == ACT_CONF_T_INT) {
        int iv = (int)v;
        memcpy(field, &iv, sizeof(iv));
    } else if (k->type == ACT_CONF_T_I64) {
        memcpy(field, &v, sizeof(v));
    } else {
        size_t sv = (size_t)v;
        memcpy(field, &sv, sizeof(sv));
    }
    return 0;
}

/* "" or http(s)://host... without blanks. */
static int set_url(struct act_config *cfg, const struct act_conf_key *k, const char *val,
                   char *why, size_t whylen)
{
    const char *host = strncmp(val, "http://", 7) == 0    ? val + 7
                       : strncmp(val, "https://", 8) == 0 ? val + 8
                                                          : NULL;

    if (*val && (!host || !*host || *host == '/' || strpbrk(val, " \t\r\n"))) {
        snprintf(why, whylen, "expected an http:// or https:// URL with a host");
        return ACT_EINVAL;
    }
    return set_str(cfg, k, val, why, whylen);
}

/* "" or the text of a JSON object (the YAML walk hands mappings over as
 * JSON); checked here, interpreted by its subsystem. */
static int set_json(struct act_config *cfg, const struct act_conf_key *k, const char *val,
                    char *why, size_t whylen)
{
    json_error_t jerr;
    json_t *v;

    if (*val) {
        v = json_loads(val, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(v)) {
            snprintf(why, whylen, "expected a mapping%s%.80s", v ? "" : ": ", v ? "" : jerr.text);
            json_decref(v);
            return ACT_EINVAL;
        }
        json_decref(v);
    }
    return set_str(cfg, k, val, why, whylen);
}

static int set_value(struct act_config *cfg, const struct act_conf_key *k, const char *val,
                     char *why, size_t whylen)
{
    int v;

    switch (k->type) {
    case ACT_CONF_T_STR:
        return set_str(cfg, k, val, why, whylen);
    case ACT_CONF_T_INT:
    case ACT_CONF_T_I64:
    case ACT_CONF_T_SIZE:
        return set_number(cfg, k, val, why, whylen);
    case ACT_CONF_T_SYNC:
        if (strcmp(val, "full") != 0 && strcmp(val, "normal") != 0)
            break;
        cfg->sync_full = strcmp(val, "full") == 0;
        return 0;
    case ACT_CONF_T_LEVEL:
        if ((v = act_log_level_parse(val)) < 0)
            break;
        cfg->log_level = v;
        return 0;
    case ACT_CONF_T_FORMAT:
        if ((v = act_log_format_parse(val)) < 0)
            break;
        cfg->log_format = v;
        return 0;
    case ACT_CONF_T_LISTEN:
        return parse_listen(cfg, val, why, whylen);
    case ACT_CONF_T_URL:
        return set_url(cfg, k, val, why, whylen);
    case ACT_CONF_T_JSON:
        return set_json(cfg, k, val, why, whylen);
    }
    snprintf(why, whylen, "expected one of %s", k->arg);
    return ACT_EINVAL;
}

int act_conf_key_apply(struct act_config *cfg, const struct act_conf_key *k, const char *val,
                       const char *src, struct act_err *err)
{
    char why[128];

    if (set_value(cfg, k, val, why, sizeof(why)) < 0)
        return act_err_field(err, ACT_EINVAL, k->name, "invalid %s '%.64s' (%s): %s", k->name,
                             val, src, why);
    return 0;
}

/* ---- sources ---- */

static void apply_defaults(struct act_config *cfg)
{
    struct act_err err = {0};

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < N_KEYS; i++)
        if (act_conf_key_apply(cfg, &keys[i], keys[i].def, "default", &err) < 0)
            ACT_BUG("config table: %s", err.msg);
}

static const char *env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);

    for (; envp && *envp; envp++)
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
            return *envp + n + 1;
    return NULL;
}

/* Environment values that are set but empty are ignored, as if unset. */
static int apply_env(struct act_config *cfg, char *const *envp, struct act_err *err)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        const char *v = env_get(envp, keys[i].env);
        if (v && *v && act_conf_key_apply(cfg, &keys[i], v, keys[i].env, err) < 0)
            return ACT_EINVAL;
    }
    return 0;
}

struct flag_val {
    const struct act_conf_key *key; /* NULL: --config */
    const char *flag;               /* as written, for messages */
    const char *val;
};

/* Split argv into (key, value) pairs without applying them.  Accepts
 * "--flag VALUE" and "--flag=VALUE"; -h/--help are left to the caller. */
static int scan_flags(int argc, char *const *argv, struct flag_val *out, size_t *n_out,
                      struct act_err *err)
{
    size_t n = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq;
        size_t len;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            continue;
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
            return act_err_set(err, ACT_EINVAL, "unexpected argument '%s'", a);
        eq = strchr(a, '=');
        len = eq ? (size_t)(eq - a) : strlen(a);
        out[n].flag = a;
        out[n].key = key_by_flag(a, len);
        if (!out[n].key && !(len == strlen(CONFIG_FLAG) && memcmp(a, CONFIG_FLAG, len) == 0))
            return act_err_set(err, ACT_EINVAL, "unknown option '%.*s'", (int)len, a);
        if (eq) {
            out[n].val = eq + 1;
        } else if (i + 1 < argc) {
            out[n].val = argv[++i];
        } else {
            return act_err_set(err, ACT_EINVAL, "option '%s' needs a value", a);
        }
        n++;
    }
    *n_out = n;
    return 0;
}

static int apply_flags(struct act_config *cfg, const struct flag_val *fv, size_t n,
                       struct act_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (fv[i].key && act_conf_key_apply(cfg, fv[i].key, fv[i].val, fv[i].key->flag, err) < 0)
            return ACT_EINVAL;
    return 0;
}

int act_config_load(struct act_config *cfg, int argc, char *const *argv, char *const *envp,
                    struct act_err *err)
{
    struct flag_val *fv = NULL;
    const char *path = NULL;
    size_t n_fv = 0;
    int rc;

    if (!envp)
        envp = environ;
    apply_defaults(cfg);
    fv = act_xcalloc(argc > 0 ? (size_t)argc : 1, sizeof(*fv));
    if ((rc = scan_flags(argc, argv, fv, &n_fv, err)) < 0)
        goto out;
    path = env_get(envp, CONFIG_ENV);
    for (size_t i = 0; i < n_fv; i++)
        if (!fv[i].key)
            path = fv[i].val;
    if (path && *path && (rc = act_conf_yaml_load(cfg, path, err)) < 0)
        goto out;
    if ((rc = apply_env(cfg, envp, err)) < 0)
        goto out;
    rc = apply_flags(cfg, fv, n_fv, err);
out:
    act_free(fv);
    return rc;
}

/* ---- usage ---- */

static char usage_buf[8192];
static pthread_once_t usage_once = PTHREAD_ONCE_INIT;

static void usage_append(size_t *off, const char *fmt, ...) ACT_PRINTF(2, 3);

static void usage_append(size_t *off, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*off >= sizeof(usage_buf))
        return;
    va_start(ap, fmt);
    n = vsnprintf(usage_buf + *off, sizeof(usage_buf) - *off, fmt, ap);
    va_end(ap);
    if (n > 0)
        *off += (size_t)n;
}

static void usage_build(void)
{
    size_t off = 0;

    usage_append(&off, "usage: actiond [options]\n\noptions:\n");
    usage_append(&off, "  --config FILE\n      YAML configuration file (env %s)\n", CONFIG_ENV);
    for (size_t i = 0; i < N_KEYS; i++) {
        if (!keys[i].flag)
            continue;
        usage_append(&off, "  %s %s\n      %s (default \"%s\"; key %s, env %s)\n", keys[i].flag,
                     keys[i].arg, keys[i].doc, keys[i].def, keys[i].name, keys[i].env);
    }
    usage_append(&off, "  -h, --help\n      print this help and exit\n");
    usage_append(&off, "\nfile and environment only:\n");
    for (size_t i = 0; i < N_KEYS; i++) {
        if (keys[i].flag)
            continue;
        usage_append(&off, "  %s %s\n      %s (default \"%s\"; env %s)\n", keys[i].name,
                     keys[i].arg, keys[i].doc, keys[i].def, keys[i].env);
    }
    usage_append(&off, "\nprecedence: flags > environment > file > defaults "
                       "(see docs/configuration.md)\n");
}

const char *act_config_usage(void)
{
    pthread_once(&usage_once, usage_build);
    return usage_buf;
}
