/*
 * The embedding API's lifecycle (open, close, options, version, logging) and
 * the glue every other embed file uses: errors into the caller's errbuf,
 * JSON text in and out.
 *
 * Naming: the public functions are actiond_*, not act_*.  Inside the tree
 * act_<module>_* names internal symbols, and several public nouns (action,
 * subscription, event, execution) are already internal modules
 * (act_action_normalize, act_event_normalize, act_exec_*), so a distinct
 * prefix keeps the two name spaces apart for good, and an embedder sees at
 * a glance which symbols are the supported API.  The one shared name is
 * `struct act_engine`: the public handle is the engine itself, opaque
 * outside src/engine/, so no wrapper struct and no extra indirection.
 *
 * Invariants: the public status codes equal the internal ones (asserted at
 * compile time below), so codes pass through unchanged; strings handed out
 * are allocated here with act_xmalloc and released with act_free, never
 * with a foreign allocator.
 */
#include "actiond/actiond.h"

#include "embed/embed_internal.h"

#include "base/alloc.h"
#include "base/log.h"
#include "engine/engine.h"

#include <stdio.h>
#include <string.h>

/* The public constants equal the internal ones (compared as int: they are
 * different enum types). */
#define SAME(pub, internal) _Static_assert((int)(pub) == (int)(internal), #pub " != " #internal)
SAME(ACTIOND_OK, ACT_OK);
SAME(ACTIOND_ENOMEM, ACT_ENOMEM);
SAME(ACTIOND_EINVAL, ACT_EINVAL);
SAME(ACTIOND_ENOTFOUND, ACT_ENOTFOUND);
SAME(ACTIOND_ECONFLICT, ACT_ECONFLICT);
SAME(ACTIOND_EIO, ACT_EIO);
SAME(ACTIOND_ETIMEDOUT, ACT_ETIMEDOUT);
SAME(ACTIOND_EPLUGIN, ACT_EPLUGIN);
SAME(ACTIOND_EUNPROC, ACT_EUNPROC);
SAME(ACTIOND_ETOOBIG, ACT_ETOOBIG);
SAME(ACTIOND_EBUSY, ACT_EBUSY);
SAME(ACTIOND_ESTATE, ACT_ESTATE);
SAME(ACTIOND_LOG_DEBUG, ACT_LOG_DEBUG);
SAME(ACTIOND_LOG_INFO, ACT_LOG_INFO);
SAME(ACTIOND_LOG_WARN, ACT_LOG_WARN);
SAME(ACTIOND_LOG_ERROR, ACT_LOG_ERROR);
SAME(ACTIOND_LOG_OFF, ACT_LOG_OFF);
#undef SAME

/* The smallest options struct accepted: one that knows data_dir. */
#define OPTIONS_MIN_SIZE (offsetof(struct actiond_options, data_dir) + sizeof(const char *))

/* True when the caller's options struct holds member `m`. */
#define HAS_OPT(o, m)                                                                              \
    ((o)->size >= offsetof(struct actiond_options, m) + sizeof(((struct actiond_options *)0)->m))

/* ---- glue ---- */

int act_embed_fail(const struct act_err *err, char *errbuf, size_t errlen)
{
    const char *msg = err->msg[0] ? err->msg : act_strerror(err->code);

    if (errbuf && errlen > 0) {
        if (err->field[0])
            snprintf(errbuf, errlen, "%s: %s", err->field, msg);
        else
            snprintf(errbuf, errlen, "%s", msg);
    }
    return err->code;
}

int act_embed_need(bool present, const char *name, struct act_err *err)
{
    if (present)
        return ACT_OK;
    return act_err_set(err, ACT_EINVAL, "%s is NULL", name);
}

/* True when `v` nests deeper than `left` levels. */
static bool too_deep(const json_t *v, int left)
{
    const json_t *x;

    if (!json_is_object(v) && !json_is_array(v))
        return false;
    if (left <= 0)
        return true;
    if (json_is_array(v)) {
        size_t i;
        json_array_foreach(v, i, x) {
            if (too_deep(x, left - 1))
                return true;
        }
        return false;
    }
    const char *k;
    json_object_foreach((json_t *)v, k, x) {
        if (too_deep(x, left - 1))
            return true;
    }
    return false;
}

int act_embed_parse(const char *text, const char *what, json_t **out, struct act_err *err)
{
    json_error_t je;
    json_t *v;

    *out = NULL;
    if (!text)
        return act_err_set(err, ACT_EINVAL, "%s is NULL", what);
    v = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!v)
        return act_err_set(err, ACT_EINVAL, "malformed %s JSON at line %d column %d: %s", what,
                           je.line, je.column, je.text);
    if (too_deep(v, ACT_EMBED_JSON_MAX_DEPTH)) {
        json_decref(v);
        return act_err_set(err, ACT_EINVAL, "malformed %s JSON: nesting deeper than %d levels",
                           what, ACT_EMBED_JSON_MAX_DEPTH);
    }
    *out = v;
    return ACT_OK;
}

/* A growable string for json_dump_callback. */
struct dump_buf {
    char *p;
    size_t len, cap;
};

static int dump_cb(const char *chunk, size_t size, void *ud)
{
    struct dump_buf *b = ud;

    if (b->len + size + 1 > b->cap) {
        while (b->len + size + 1 > b->cap)
            b->cap = b->cap ? b->cap * 2 : 256;
        b->p = act_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, chunk, size);
    b->len += size;
    b->p[b->len] = '\0';
    return 0;
}

char *act_embed_dump(const json_t *v)
{
    struct dump_buf b = {0};

    /* The callback cannot fail and every value is encodable with
     * JSON_ENCODE_ANY, so the only failure left is an invalid UTF-8 string,
     * which jansson never stores. */
    if (json_dump_callback(v, dump_cb, &b, JSON_COMPACT | JSON_ENCODE_ANY) < 0)
        ACT_BUG("cannot serialise a JSON value");
    if (!b.p)
        b.p = act_xstrdup("");
    return b.p;
}

void act_embed_give(json_t *v, char **out)
{
    if (out)
        *out = v ? act_embed_dump(v) : NULL;
    json_decref(v);
}

/* ---- process-wide ---- */

const char *actiond_version(void)
{
    return ACTIOND_VERSION_STRING;
}

const char *actiond_strerror(int code)
{
    return act_strerror(code);
}

void actiond_log_setup(int fd, int level)
{
    if (level < ACTIOND_LOG_DEBUG)
        level = ACTIOND_LOG_DEBUG;
    if (level > ACTIOND_LOG_OFF)
        level = ACTIOND_LOG_OFF;
    act_log_setup(fd, (enum act_log_level)level, ACT_LOG_LOGFMT);
}

void actiond_string_free(char *s)
{
    act_free(s);
}

/* ---- lifecycle ---- */

void actiond_options_init(struct actiond_options *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->size = sizeof(*opt);
    opt->sync_full = 1;
}

/* Translate the caller's options into the engine's, member by member as far
 * as the caller's struct reaches. */
static int options_to_conf(const struct actiond_options *opt, struct act_engine_conf *conf,
                           struct act_err *err)
{
    memset(conf, 0, sizeof(*conf));
    if (!opt)
        return act_err_set(err, ACT_EINVAL, "options are NULL");
    if (opt->size < OPTIONS_MIN_SIZE || opt->size > sizeof(*opt))
        return act_err_field(err, ACT_EINVAL, "size",
                             "%zu is not the size of a known struct actiond_options (%zu)",
                             opt->size, sizeof(*opt));
    if (!opt->data_dir || !opt->data_dir[0])
        return act_err_field(err, ACT_EINVAL, "data_dir", "is required");
    conf->data_dir = opt->data_dir;
    conf->sync_full = HAS_OPT(opt, sync_full) ? opt->sync_full != 0 : true;
    if (HAS_OPT(opt, workers)) {
        if (opt->workers < 0 || opt->workers > 1024)
            return act_err_field(err, ACT_EINVAL, "workers", "must be between 0 and 1024");
        conf->workers = opt->workers;
    }
    if (HAS_OPT(opt, drain_timeout_ms)) {
        if (opt->drain_timeout_ms < 0)
            return act_err_field(err, ACT_EINVAL, "drain_timeout_ms", "must be >= 0");
        conf->drain_timeout_ms = opt->drain_timeout_ms;
    }
    if (HAS_OPT(opt, max_batch_events)) {
        if (opt->max_batch_events < 0)
            return act_err_field(err, ACT_EINVAL, "max_batch_events", "must be >= 0");
        conf->max_batch_events = (size_t)opt->max_batch_events;
    }
    return ACT_OK;
}

int actiond_open(const struct actiond_options *opt, struct act_engine **out, char *errbuf,
                 size_t errlen)
{
    struct act_engine_conf conf;
    struct act_err err = {0};

    if (!out) {
        act_err_set(&err, ACT_EINVAL, "out is NULL");
        return act_embed_fail(&err, errbuf, errlen);
    }
    *out = NULL;
    if (options_to_conf(opt, &conf, &err) < 0 || act_engine_open(&conf, out, &err) < 0)
        return act_embed_fail(&err, errbuf, errlen);
    return ACTIOND_OK;
}

void actiond_close(struct act_engine *e)
{
    act_engine_close(e);
}
