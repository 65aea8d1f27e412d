/*
 * Kind `native`: run an in-process plugin through the versioned ABI of
 * include/actiond/plugin.h.
 *
 *   {"kind": "native", "path": "/abs/or/relative/file.so", "options"?: {"k": "v"}}
 *
 * Loading: the path is resolved (plugins dir, realpath) and the object is
 * dlopen'ed with RTLD_NOW|RTLD_LOCAL once per resolved file.  The process-wide
 * cache keeps every accepted plugin loaded until act_native_unload_all() at
 * shutdown, with a count of the open action states using it; dlclose never
 * happens under running code.  A file that fails a check (missing entry
 * point, ABI version, struct size) is dlclose'd at once and not cached, so a
 * fixed file can be tried again.  Replacing a loaded file in place needs a
 * restart: install new versions under new names.
 *
 * validate() loads the plugin and runs init() + fini() with the options, so a
 * bad file or bad options is a 422 when the action is created.  open() runs
 * init() once per action state; execute() calls run() from many workers at
 * once with that state (the plugin must be thread-safe); close() runs fini().
 *
 * Timeouts are cooperative: run() cannot be interrupted in-process, so a run
 * that returns after call->timeout_ms is recorded as ACT_ETIMEDOUT whatever it
 * produced.  Untrusted code belongs in kind `command`.
 */
#include "handler/handler_native.h"
#include "actiond/plugin.h"
#include "base/alloc.h"
#include "base/log.h"
#include "base/time.h"
#include "handler/handler_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define ACT_LOG_MODULE "native"

#define PATH_LEN_MAX 4096
#define OPTIONS_MAX 64
#define OPTION_VALUE_MAX 4096
#define RETRY_AFTER_MAX_MS (7LL * 24 * 3600 * 1000)

struct plugin_entry {
    struct plugin_entry *next;
    char *path;                      /* resolved path: the cache key */
    void *dl;
    const struct act_plugin *plugin; /* static data inside the object */
    int n_open;                      /* open action states; guarded by: cache_lock */
};

struct native_state {
    struct plugin_entry *entry;
    void *pstate;                    /* from the plugin's init() */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct plugin_entry *cache; /* guarded by: cache_lock */
static char plugins_dir[PATH_MAX]; /* set at init, read-only after */

/* ---- host API handed to plugins ---- */

static void *host_alloc(size_t n)
{
    return act_try_malloc(n);
}

static void host_free(void *p)
{
    act_free(p);
}

__attribute__((format(printf, 2, 3))) static void host_log(int level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    if (level < ACT_LOG_DEBUG)
        level = ACT_LOG_DEBUG;
    if (level > ACT_LOG_ERROR)
        level = ACT_LOG_ERROR;
    if (level < act_log_min_level)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    act_log_write(level, "plugin", NULL, "%s", buf);
}

static const struct act_host_api host_api = {
    .size = sizeof(struct act_host_api),
    .abi_minor = ACT_PLUGIN_ABI_MINOR,
    .alloc = host_alloc,
    .free = host_free,
    .log = host_log,
};

/* ---- versions, paths, loading ---- */

int act_native_check_abi(uint32_t major, uint32_t minor, struct act_err *err)
{
    if (major != ACT_PLUGIN_ABI_MAJOR)
        return act_err_set(err, ACT_EUNPROC,
                           "plugin ABI %u.%u is incompatible with host ABI %d.%d "
                           "(major versions differ)",
                           major, minor, ACT_PLUGIN_ABI_MAJOR, ACT_PLUGIN_ABI_MINOR);
    if (minor > ACT_PLUGIN_ABI_MINOR)
        return act_err_set(err, ACT_EUNPROC,
                           "plugin ABI %u.%u is newer than host ABI %d.%d "
                           "(the plugin needs a newer actiond)",
                           major, minor, ACT_PLUGIN_ABI_MAJOR, ACT_PLUGIN_ABI_MINOR);
    return ACT_OK;
}

int act_native_set_plugins_dir(const char *dir, struct act_err *err)
{
    size_t len = dir ? strlen(dir) : 0;

    if (len >= sizeof(plugins_dir))
        return act_err_set(err, ACT_EINVAL, "plugins dir is longer than %zu bytes",
                           sizeof(plugins_dir) - 1);
    memcpy(plugins_dir, dir ? dir : "", len + 1);
    return ACT_OK;
}

static int path_error(struct act_err *err, const char *path, const char *what)
{
    return act_err_field(err, ACT_EUNPROC, "handler.path", "plugin '%.128s': %s", path, what);
}

/* Resolve handler.path into `out` (PATH_MAX bytes): join with the plugins
 * dir when relative, follow symlinks, require a regular file inside the
 * plugins dir when one is set. */
static int resolve(const char *path, char *out, struct act_err *err)
{
    char joined[PATH_MAX + PATH_LEN_MAX + 2], dir[PATH_MAX];
    struct stat sb;
    size_t n;

    if (path[0] != '/' && plugins_dir[0])
        snprintf(joined, sizeof(joined), "%s/%s", plugins_dir, path);
    else
        snprintf(joined, sizeof(joined), "%s", path);
    if (!realpath(joined, out))
        return path_error(err, path, strerrordesc_np(errno));
    if (stat(out, &sb) < 0 || !S_ISREG(sb.st_mode))
        return path_error(err, path, "not a regular file");
    if (!plugins_dir[0])
        return ACT_OK;
    if (!realpath(plugins_dir, dir))
        return path_error(err, path, "the plugins dir does not exist");
    n = strlen(dir);
    if (strncmp(out, dir, n) != 0 || (out[n] != '/' && dir[n - 1] != '/'))
        return path_error(err, path, "outside the plugins dir");
    return ACT_OK;
}

/* The checks a loaded object must pass before anything else is called. */
static int check_plugin(const char *path, const struct act_plugin *p, struct act_err *err)
{
    struct act_err abi = {0};
    char msg[200];

    if (!p)
        return path_error(err, path, "act_plugin_entry() returned NULL");
    if (act_native_check_abi(p->abi_major, p->abi_minor, &abi) < 0)
        return path_error(err, path, abi.msg);
    if (!ACT_HAS_MEMBER(p, struct act_plugin, fini)) {
        snprintf(msg, sizeof(msg), "struct act_plugin of %u bytes is too small",
                 (unsigned)p->size);
        return path_error(err, path, msg);
    }
    if (!p->name || !p->name[0] || !p->run)
        return path_error(err, path, "struct act_plugin lacks a name or a run function");
    return ACT_OK;
}

typedef const struct act_plugin *entry_fn(void);

/* dlopen a resolved path and check it; a refused object is closed again. */
static int load_new(const char *real, const char *path, struct plugin_entry **out,
                    struct act_err *err)
{
    void *dl = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    entry_fn *entry;
    struct plugin_entry *e;
    const struct act_plugin *p;
    int rc;

    if (!dl)
        return path_error(err, path, dlerror());
    entry = (entry_fn *)dlsym(dl, ACT_PLUGIN_ENTRY_SYMBOL);
    if (!entry) {
        dlclose(dl);
        return path_error(err, path, "no exported act_plugin_entry symbol");
    }
    p = entry();
    if ((rc = check_plugin(path, p, err)) < 0) {
        dlclose(dl);
        return rc;
    }
    e = act_xcalloc(1, sizeof(*e));
    e->path = act_xstrdup(real);
    e->dl = dl;
    e->plugin = p;
    *out = e;
    return ACT_OK;
}

/* Find or load the plugin behind handler.path.  With `pin`, counts one more
 * open state.  The entry stays valid until act_native_unload_all(). */
static int acquire(const char *path, bool pin, struct plugin_entry **out, struct act_err *err)
{
    char real[PATH_MAX];
    struct plugin_entry *e;
    int rc = ACT_OK;

    *out = NULL;
    if ((rc = resolve(path, real, err)) < 0)
        return rc;
    pthread_mutex_lock(&cache_lock);
    for (e = cache; e; e = e->next)
        if (strcmp(e->path, real) == 0)
            break;
    if (!e) {
        if ((rc = load_new(real, path, &e, err)) < 0)
            goto out;
        e->next = cache;
        cache = e;
        act_log_info("loaded plugin '%s' %s from %s (ABI %u.%u)", e->plugin->name,
                     e->plugin->version ? e->plugin->version : "?", real,
                     e->plugin->abi_major, e->plugin->abi_minor);
    }
    if (pin)
        e->n_open++;
    *out = e;
out:
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

static void release(struct plugin_entry *e)
{
    pthread_mutex_lock(&cache_lock);
    e->n_open--;
    pthread_mutex_unlock(&cache_lock);
}

void act_native_unload_all(void)
{
    struct plugin_entry **pp;

    pthread_mutex_lock(&cache_lock);
    for (pp = &cache; *pp;) {
        struct plugin_entry *e = *pp;

        if (e->n_open > 0) {
            pp = &e->next;
            continue;
        }
        *pp = e->next;
        dlclose(e->dl);
        act_free(e->path);
        act_free(e);
    }
    pthread_mutex_unlock(&cache_lock);
}

/* ---- the kind ---- */

static int validate_spec(const json_t *handler, struct act_err *err)
{
    static const char *const members[] = {"path", "options", NULL};
    const json_t *path = json_object_get(handler, "path");
    const json_t *opts = json_object_get(handler, "options");
    const char *k;
    json_t *v;
    int rc;

    if ((rc = act_handler_check_members(handler, members, err)) < 0)
        return rc;
    if (!json_is_string(path) || json_string_length(path) == 0 ||
        json_string_length(path) > PATH_LEN_MAX ||
        strlen(json_string_value(path)) != json_string_length(path))
        return act_err_field(err, ACT_EUNPROC, "handler.path",
                             "path must be a non-empty string of at most %d bytes", PATH_LEN_MAX);
    if (!opts)
        return ACT_OK;
    if (!json_is_object(opts) || json_object_size(opts) > OPTIONS_MAX)
        return act_err_field(err, ACT_EUNPROC, "handler.options",
                             "options must be an object of at most %d strings", OPTIONS_MAX);
    json_object_foreach((json_t *)opts, k, v) {
        if (!json_is_string(v) || json_string_length(v) > OPTION_VALUE_MAX ||
            strlen(json_string_value(v)) != json_string_length(v)) {
            char field[96];

            snprintf(field, sizeof(field), "handler.options.%.64s", k);
            return act_err_field(err, ACT_EUNPROC, field,
                                 "option '%.64s' must be a string of at most %d bytes", k,
                                 OPTION_VALUE_MAX);
        }
    }
    return ACT_OK;
}

/* Run the plugin's init() with the spec's options. */
static int plugin_init(const struct plugin_entry *e, const json_t *handler, void **pstate,
                       struct act_err *err)
{
    const json_t *opts = json_object_get(handler, "options");
    struct act_kv kv[OPTIONS_MAX];
    size_t n = 0;
    const char *k;
    json_t *v;
    int rc;

    *pstate = NULL;
    if (!e->plugin->init)
        return ACT_OK;
    if (opts)
        json_object_foreach((json_t *)opts, k, v)
            kv[n++] = (struct act_kv){k, json_string_value(v)};
    rc = e->plugin->init(&host_api, n ? kv : NULL, n, pstate);
    if (rc < 0)
        return act_err_field(err, ACT_EUNPROC, "handler.options",
                             "plugin '%s' refused its options (init returned %d)",
                             e->plugin->name, rc);
    return ACT_OK;
}

static int native_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    struct plugin_entry *e;
    void *pstate;
    int rc;

    (void)config;
    if ((rc = validate_spec(handler, err)) < 0)
        return rc;
    if ((rc = acquire(json_string_value(json_object_get(handler, "path")), false, &e, err)) < 0)
        return rc;
    if ((rc = plugin_init(e, handler, &pstate, err)) < 0)
        return rc;
    if (e->plugin->fini)
        e->plugin->fini(pstate);
    return ACT_OK;
}

static int native_open(const json_t *handler, const json_t *config, void **state,
                       struct act_err *err)
{
    struct native_state *st;
    struct plugin_entry *e;
    void *pstate;
    int rc;

    (void)config;
    *state = NULL;
    if ((rc = validate_spec(handler, err)) < 0)
        return rc;
    if ((rc = acquire(json_string_value(json_object_get(handler, "path")), true, &e, err)) < 0)
        return rc;
    if ((rc = plugin_init(e, handler, &pstate, err)) < 0) {
        release(e);
        return rc;
    }
    st = act_xcalloc(1, sizeof(*st));
    st->entry = e;
    st->pstate = pstate;
    *state = st;
    return ACT_OK;
}

static void native_close(void *state)
{
    struct native_state *st = state;

    if (!st)
        return;
    if (st->entry->plugin->fini)
        st->entry->plugin->fini(st->pstate);
    release(st->entry);
    act_free(st);
}

/* Turn what run() produced into the handler result. */
static int take_result(const struct act_plugin *p, int rc, struct act_plugin_result *pr,
                       struct act_handler_result *res)
{
    json_error_t jerr;

    if (rc < 0) {
        pr->error[sizeof(pr->error) - 1] = '\0';
        res->permanent = pr->permanent != 0;
        if (pr->retry_after_ms >= 0)
            res->retry_after_ms =
                pr->retry_after_ms > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : pr->retry_after_ms;
        if (pr->error[0])
            return act_handler_fail(res, ACT_EPLUGIN, "%s", pr->error);
        return act_handler_fail(res, ACT_EPLUGIN, "plugin '%s' failed (run returned %d)", p->name,
                                rc);
    }
    if (!pr->output_json)
        return ACT_OK; /* null output */
    res->output = json_loadb(pr->output_json,
                             pr->output_len ? pr->output_len : strlen(pr->output_json),
                             JSON_DECODE_ANY, &jerr);
    if (!res->output)
        return act_handler_fail(res, ACT_EPLUGIN, "plugin '%s' produced invalid JSON: %s",
                                p->name, jerr.text);
    return ACT_OK;
}

static int native_execute(void *state, const struct act_handler_call *call,
                          struct act_handler_result *res)
{
    const struct native_state *st = state;
    const struct act_plugin *p = st->entry->plugin;
    struct act_plugin_call pc = {.size = sizeof(pc)};
    struct act_plugin_result pr;
    int64_t t0;
    int rc;

    pc.attempt = call->attempt;
    pc.execution_id = call->execution_id;
    pc.action_name = call->action_name;
    pc.input_json = act_handler_dump(call->input, &pc.input_len);
    if (call->event)
        pc.event_json = act_handler_dump(call->event, &pc.event_len);
    pc.config_json = call->config ? act_handler_dump(call->config, &pc.config_len)
                                  : act_xstrdup("{}");
    if (!call->config)
        pc.config_len = 2;
    pc.timeout_ms = call->timeout_ms;
    memset(&pr, 0, sizeof(pr));
    pr.size = sizeof(pr);
    pr.retry_after_ms = -1;
    res->retry_after_ms = -1;

    t0 = act_time_mono_us();
    rc = p->run(st->pstate, &pc, &pr);
    if ((act_time_mono_us() - t0) / 1000 > call->timeout_ms)
        rc = act_handler_fail(res, ACT_ETIMEDOUT, "timed out after %lld ms",
                              (long long)call->timeout_ms);
    else
        rc = take_result(p, rc, &pr, res);
    host_free(pr.output_json);
    act_free((char *)pc.input_json);
    act_free((char *)pc.event_json);
    act_free((char *)pc.config_json);
    return rc;
}

const struct act_handler_ops act_handler_native_ops = {
    .kind = "native",
    .capabilities = "[\"sync\",\"in_process\",\"cooperative_timeout\",\"options\"]",
    .schema =
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
        "\"type\":\"object\",\"required\":[\"kind\",\"path\"],\"additionalProperties\":false,"
        "\"properties\":{"
        "\"kind\":{\"const\":\"native\"},"
        "\"path\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096,"
        "\"description\":\"shared object exporting act_plugin_entry (include/actiond/plugin.h); "
        "relative paths resolve against plugins.dir when set\"},"
        "\"options\":{\"type\":\"object\",\"maxProperties\":64,"
        "\"additionalProperties\":{\"type\":\"string\",\"maxLength\":4096},"
        "\"description\":\"passed to the plugin's init() as key/value pairs\"}}}",
    .validate = native_validate,
    .open = native_open,
    .execute = native_execute,
    .close = native_close,
};
