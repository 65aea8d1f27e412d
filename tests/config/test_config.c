/* config: defaults, file, environment and flag layering; error positions;
 * value validation (integers, bounds, enums, listen addresses). */
#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "config/config.h"
#include "tap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *tmp_paths[32];
static int n_tmp;

/* Write `text` to a fresh file under /tmp; returns its path (static). */
static const char *yaml_file(const char *text)
{
    char tmpl[] = "/tmp/act_config_XXXXXX";
    int fd = mkstemp(tmpl);
    size_t len = strlen(text);

    if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
        perror("mkstemp/write");
        exit(2);
    }
    close(fd);
    tmp_paths[n_tmp] = act_xstrdup(tmpl);
    return tmp_paths[n_tmp++];
}

/* argv helper: NULL-terminated list of flags after argv[0]. */
static int load(struct act_config *cfg, char **env, struct act_err *err, ...)
{
    char *argv[32] = {"actiond"};
    int argc = 1;
    va_list ap;
    char *a;
    char *empty_env[] = {NULL};

    va_start(ap, err);
    while ((a = va_arg(ap, char *)) != NULL && argc < 31)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    act_err_clear(err);
    return act_config_load(cfg, argc, argv, env ? env : empty_env, err);
}

static void test_defaults(void)
{
    struct act_config cfg;
    struct act_err err = {0};

    is_int(load(&cfg, NULL, &err, NULL), 0, "no sources loads");
    is_str(cfg.listen_host, "127.0.0.1", "default host");
    is_int(cfg.listen_port, 8080, "default port");
    is_str(cfg.data_dir, "./var", "default data_dir");
    is_str(cfg.port_file, "", "default port_file empty");
    ok(cfg.sync_full, "default sync full");
    is_int(cfg.workers, 0, "default workers auto");
    is_int(cfg.lease_grace_ms, 5000, "default lease grace");
    is_int(cfg.drain_timeout_ms, 10000, "default drain timeout");
    is_int(cfg.http_threads, 0, "default http threads");
    is_int(cfg.max_body_bytes, 1048576, "default max body 1 MiB");
    is_int(cfg.max_batch_events, 1000, "default max batch");
    is_int(cfg.log_level, ACT_LOG_INFO, "default log level info");
    is_int(cfg.log_format, ACT_LOG_LOGFMT, "default log format logfmt");
    is_str(cfg.plugins_dir, "", "default plugins dir empty");
    ok(strstr(act_config_usage(), "--max-batch-events") != NULL, "usage lists flags");
    ok(strstr(act_config_usage(), "ACTIOND_ENGINE_DRAIN_TIMEOUT_MS") != NULL,
       "usage lists env-only keys");
}

static void test_file(void)
{
    struct act_config cfg;
    struct act_err err = {0};
    const char *path = yaml_file("# a comment\n"
                                 "listen: \"[::1]:9090\"\n"
                                 "data_dir: /srv/actiond\n"
                                 "port_file: /tmp/port\n"
                                 "store:\n"
                                 "  synchronous: normal\n"
                                 "engine:\n"
                                 "  workers: 8\n"
                                 "  lease_grace_ms: 250\n"
                                 "  drain_timeout_ms: 3000\n"
                                 "http: {threads: 3, max_body_bytes: 4096, max_batch_events: 7}\n"
                                 "log:\n"
                                 "  level: debug\n"
                                 "  format: json\n"
                                 "plugins.dir: /opt/plugins\n");

    is_int(load(&cfg, NULL, &err, "--config", path, NULL), 0, "file loads: %s", err.msg);
    is_str(cfg.listen_host, "::1", "file listen host without brackets");
    is_int(cfg.listen_port, 9090, "file listen port");
    is_str(cfg.data_dir, "/srv/actiond", "file data_dir");
    is_str(cfg.port_file, "/tmp/port", "file port_file");
    ok(!cfg.sync_full, "file store.synchronous normal");
    is_int(cfg.workers, 8, "file engine.workers");
    is_int(cfg.lease_grace_ms, 250, "file engine.lease_grace_ms");
    is_int(cfg.drain_timeout_ms, 3000, "file engine.drain_timeout_ms");
    is_int(cfg.http_threads, 3, "file flow mapping http.threads");
    is_int(cfg.max_body_bytes, 4096, "file http.max_body_bytes");
    is_int(cfg.max_batch_events, 7, "file http.max_batch_events");
    is_int(cfg.log_level, ACT_LOG_DEBUG, "file log.level");
    is_int(cfg.log_format, ACT_LOG_JSON, "file log.format");
    is_str(cfg.plugins_dir, "/opt/plugins", "flat dotted key plugins.dir");

    /* ACTIOND_CONFIG names the file when --config is absent. */
    char envcfg[300];
    snprintf(envcfg, sizeof(envcfg), "ACTIOND_CONFIG=%s", path);
    char *env[] = {envcfg, NULL};
    is_int(load(&cfg, env, &err, NULL), 0, "ACTIOND_CONFIG loads");
    is_int(cfg.workers, 8, "file from ACTIOND_CONFIG applied");

    is_int(load(&cfg, NULL, &err, "--config", yaml_file(""), NULL), 0, "empty file is fine");
    is_int(cfg.listen_port, 8080, "empty file keeps defaults");
    is_int(load(&cfg, NULL, &err, "--config", yaml_file("# nothing\nengine:\n"), NULL), 0,
           "comments and an empty section are fine");
    is_int(load(&cfg, NULL, &err, "--config", yaml_file("port_file: ~\nplugins: {dir: \"null\"}\n"),
                NULL),
           0, "null values load");
    is_str(cfg.port_file, "", "~ is the empty string");
    is_str(cfg.plugins_dir, "null", "a quoted \"null\" is a string");
    is_int(load(&cfg, NULL, &err, "--config", yaml_file("port_file: /x\nport_file2: 1\n"), NULL),
           ACT_EINVAL, "unknown key after a good one fails");
    ok(load(&cfg, NULL, &err, "--config", "/nonexistent/actiond.yaml", NULL) == ACT_EINVAL &&
           strstr(err.msg, "/nonexistent/actiond.yaml") != NULL,
       "missing file names the path: %s", err.msg);
}

static void test_precedence(void)
{
    struct act_config cfg;
    struct act_err err = {0};
    const char *path = yaml_file("engine:\n  workers: 2\nlog:\n  level: warn\n"
                                 "data_dir: /from/file\n");
    char *env[] = {"ACTIOND_ENGINE_WORKERS=5", "ACTIOND_DATA_DIR=/from/env",
                   "ACTIOND_LISTEN=", "UNRELATED=1", NULL};

    is_int(load(&cfg, env, &err, "--config", path, NULL), 0, "file + env loads");
    is_int(cfg.workers, 5, "env overrides file");
    is_str(cfg.data_dir, "/from/env", "env overrides file (string)");
    is_int(cfg.log_level, ACT_LOG_WARN, "file value kept when env is silent");
    is_int(cfg.listen_port, 8080, "empty env value is ignored");

    is_int(load(&cfg, env, &err, "--config", path, "--workers", "9", "--data-dir=/from/flag",
                NULL),
           0, "file + env + flags loads");
    is_int(cfg.workers, 9, "flag overrides env");
    is_str(cfg.data_dir, "/from/flag", "--flag=value form overrides env");
    is_int(cfg.log_level, ACT_LOG_WARN, "file value kept when flags are silent");

    is_int(load(&cfg, NULL, &err, "--workers", "3", "--workers", "4", NULL), 0, "repeated flag");
    is_int(cfg.workers, 4, "last flag wins");
    is_int(load(&cfg, NULL, &err, "--help", NULL), 0, "--help is left to the caller");
}

static void test_errors(void)
{
    struct act_config cfg;
    struct act_err err = {0};
    const char *path;

    path = yaml_file("listen: :8081\nengine:\n  workers: 2\n  wrkers: 3\n");
    is_int(load(&cfg, NULL, &err, "--config", path, NULL), ACT_EINVAL, "unknown key fails");
    ok(strstr(err.msg, "unknown key 'engine.wrkers'") != NULL, "names the dotted key: %s",
       err.msg);
    char want[300];
    snprintf(want, sizeof(want), "%s:4:3", path);
    ok(strstr(err.msg, want) != NULL, "unknown key at file:line:col (%s)", want);
    is_str(err.field, "engine.wrkers", "field is the key");

    path = yaml_file("store:\n  synchronous: fast\n");
    is_int(load(&cfg, NULL, &err, "--config", path, NULL), ACT_EINVAL, "bad enum in file fails");
    snprintf(want, sizeof(want), "%s:2:16", path);
    ok(strstr(err.msg, "store.synchronous") && strstr(err.msg, want) && strstr(err.msg, "fast"),
       "bad enum names key, value and %s: %s", want, err.msg);

    path = yaml_file("engine:\n  workers: many\n");
    is_int(load(&cfg, NULL, &err, "--config", path, NULL), ACT_EINVAL, "bad integer fails");
    ok(strstr(err.msg, "engine.workers") && strstr(err.msg, "not an integer"),
       "bad integer message: %s", err.msg);

    path = yaml_file("engine: 4\n");
    ok(load(&cfg, NULL, &err, "--config", path, NULL) == ACT_EINVAL &&
           strstr(err.msg, "expected a mapping"),
       "section given a scalar: %s", err.msg);
    path = yaml_file("listen: [1, 2]\n");
    ok(load(&cfg, NULL, &err, "--config", path, NULL) == ACT_EINVAL &&
           strstr(err.msg, "expected a scalar"),
       "leaf given a sequence: %s", err.msg);
    path = yaml_file("- 1\n- 2\n");
    ok(load(&cfg, NULL, &err, "--config", path, NULL) == ACT_EINVAL &&
           strstr(err.msg, "top level"),
       "top level sequence: %s", err.msg);
    path = yaml_file("listen: [1\nengine: 2\n");
    ok(load(&cfg, NULL, &err, "--config", path, NULL) == ACT_EINVAL &&
           strstr(err.msg, "invalid YAML") && strstr(err.msg, path),
       "syntax error names the file: %s", err.msg);
    path = yaml_file("data_dir: a\ndata_dir: b\n");
    ok(load(&cfg, NULL, &err, "--config", path, NULL) == ACT_EINVAL &&
           strstr(err.msg, ":2:1"),
       "duplicate key at line 2: %s", err.msg);
    path = yaml_file("data_dir:\n");
    ok(load(&cfg, NULL, &err, "--config", path, NULL) == ACT_EINVAL &&
           strstr(err.msg, "must not be empty"),
       "empty data_dir rejected: %s", err.msg);

    char *env[] = {"ACTIOND_LOG_LEVEL=loud", NULL};
    is_int(load(&cfg, env, &err, NULL), ACT_EINVAL, "bad enum in env fails");
    ok(strstr(err.msg, "log.level") && strstr(err.msg, "ACTIOND_LOG_LEVEL"),
       "env error names key and variable: %s", err.msg);

    is_int(load(&cfg, NULL, &err, "--sync", "sometimes", NULL), ACT_EINVAL, "bad enum flag");
    ok(strstr(err.msg, "--sync") != NULL, "flag error names the flag: %s", err.msg);
    is_int(load(&cfg, NULL, &err, "--log-format", "xml", NULL), ACT_EINVAL, "bad log format");
    is_int(load(&cfg, NULL, &err, "--workers", "12abc", NULL), ACT_EINVAL, "trailing junk");
    is_int(load(&cfg, NULL, &err, "--workers", "", NULL), ACT_EINVAL, "empty integer");
    is_int(load(&cfg, NULL, &err, "--max-body-bytes", "99999999999999999999999", NULL),
           ACT_EINVAL, "overflowing integer");

    is_int(load(&cfg, NULL, &err, "--frobnicate", "1", NULL), ACT_EINVAL, "unknown flag fails");
    ok(strstr(err.msg, "--frobnicate") != NULL, "names the flag: %s", err.msg);
    is_int(load(&cfg, NULL, &err, "--listen", NULL), ACT_EINVAL, "flag without value fails");
    is_int(load(&cfg, NULL, &err, "stray", NULL), ACT_EINVAL, "positional argument fails");
    is_int(load(&cfg, NULL, &err, "--listen", "x", "--bogus", NULL), ACT_EINVAL,
           "flags are all checked before any is applied");
    ok(strstr(err.msg, "--bogus") != NULL, "the unknown flag is reported: %s", err.msg);
}

static void test_bounds(void)
{
    struct act_config cfg;
    struct act_err err = {0};

    is_int(load(&cfg, NULL, &err, "--workers", "1024", NULL), 0, "workers at max");
    is_int(load(&cfg, NULL, &err, "--workers", "1025", NULL), ACT_EINVAL, "workers above max");
    ok(strstr(err.msg, "0..1024") != NULL, "bounds in message: %s", err.msg);
    is_int(load(&cfg, NULL, &err, "--workers", "-1", NULL), ACT_EINVAL, "negative workers");
    is_int(load(&cfg, NULL, &err, "--max-body-bytes", "1023", NULL), ACT_EINVAL,
           "body below min");
    is_int(load(&cfg, NULL, &err, "--max-body-bytes", "1073741824", NULL), 0, "body at max");
    is_int(cfg.max_body_bytes, 1073741824, "body stored as size_t");
    is_int(load(&cfg, NULL, &err, "--max-batch-events", "0", NULL), ACT_EINVAL, "batch zero");
    char *env[] = {"ACTIOND_ENGINE_DRAIN_TIMEOUT_MS=3600001", NULL};
    is_int(load(&cfg, env, &err, NULL), ACT_EINVAL, "drain timeout above max");
    char *env2[] = {"ACTIOND_ENGINE_LEASE_GRACE_MS=3600000", NULL};
    is_int(load(&cfg, env2, &err, NULL), 0, "lease grace at max");
    is_int(cfg.lease_grace_ms, 3600000, "int64 stored");
    char longdir[5000];
    memset(longdir, 'd', sizeof(longdir) - 1);
    longdir[sizeof(longdir) - 1] = '\0';
    is_int(load(&cfg, NULL, &err, "--data-dir", longdir, NULL), ACT_EINVAL, "data_dir too long");
}

static void listen_case(const char *in, const char *host, int port)
{
    struct act_config cfg;
    struct act_err err = {0};
    int rc = load(&cfg, NULL, &err, "--listen", in, NULL);

    if (!host) {
        ok(rc == ACT_EINVAL && strstr(err.msg, "--listen"), "listen '%s' rejected: %s", in,
           err.msg);
        return;
    }
    ok(rc == 0 && strcmp(cfg.listen_host, host) == 0 && cfg.listen_port == port,
       "listen '%s' -> host '%s' port %d (got '%s' %d %s)", in, host, port, cfg.listen_host,
       cfg.listen_port, err.msg);
}

static void test_listen(void)
{
    listen_case("127.0.0.1:8080", "127.0.0.1", 8080);
    listen_case("localhost:0", "localhost", 0);
    listen_case(":9000", "0.0.0.0", 9000);
    listen_case("[::1]:65535", "::1", 65535);
    listen_case("[::]:80", "::", 80);
    listen_case("0.0.0.0:1", "0.0.0.0", 1);
    listen_case("127.0.0.1", NULL, 0);
    listen_case("127.0.0.1:", NULL, 0);
    listen_case("127.0.0.1:65536", NULL, 0);
    listen_case("127.0.0.1:-1", NULL, 0);
    listen_case("127.0.0.1:80x", NULL, 0);
    listen_case("::1:8080", NULL, 0);
    listen_case("[::1]8080", NULL, 0);
    listen_case("[nothost]:80", NULL, 0);
    listen_case("bad host:80", NULL, 0);
    listen_case("", NULL, 0);
}

int main(void)
{
    test_defaults();
    test_file();
    test_precedence();
    test_errors();
    test_bounds();
    test_listen();
    for (int i = 0; i < n_tmp; i++) {
        unlink(tmp_paths[i]);
        act_free(tmp_paths[i]);
    }
    return done_testing();
}
