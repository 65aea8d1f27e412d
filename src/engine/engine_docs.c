/*
 * Keyed documents for subsystems built on the engine (the plugin registry
 * keeps its plugins here).  Writes go through the writer thread like every
 * other change, so a document is durable when the call returns; reads go to
 * the store's read side.
 */
#include "engine/engine_internal.h"

#include <string.h>

#define DOC_KIND_MAX 32
#define DOC_KEY_MAX 256

struct doc_change {
    const char *kind, *id, *key;
    const json_t *doc;
    bool insert, del;
};

static int doc_fn(struct act_engine *e, void *arg, struct act_err *err)
{
    struct doc_change *c = arg;
    int64_t now = act_time_now_us();

    if (c->del)
        return e->store->ops->doc_delete(e->store, c->kind, c->id, err);
    return e->store->ops->doc_put(e->store, c->kind, c->id, c->key, c->doc, c->insert, now, err);
}

static int check_names(const char *kind, const char *id, const char *key, struct act_err *err)
{
    if (!kind || !*kind || strlen(kind) > DOC_KIND_MAX)
        return act_err_set(err, ACT_EINVAL, "document kind must be 1..%d characters", DOC_KIND_MAX);
    if (!id || !*id || strlen(id) > DOC_KEY_MAX)
        return act_err_field(err, ACT_EINVAL, "id", "id must be 1..%d characters", DOC_KEY_MAX);
    if (key && strlen(key) > DOC_KEY_MAX)
        return act_err_set(err, ACT_EINVAL, "key must be at most %d characters", DOC_KEY_MAX);
    return ACT_OK;
}

int act_engine_doc_put(struct act_engine *e, const char *kind, const char *id, const char *key,
                       const json_t *doc, bool insert, struct act_err *err)
{
    struct doc_change c = {kind, id, key, doc, insert, false};
    int rc = check_names(kind, id, key, err);
    if (rc < 0)
        return rc;
    if (!json_is_object(doc))
        return act_err_set(err, ACT_EINVAL, "document must be an object");
    return act_engine_run_fn(e, doc_fn, NULL, &c, err);
}

int act_engine_doc_delete(struct act_engine *e, const char *kind, const char *id,
                          struct act_err *err)
{
    struct doc_change c = {kind, id, NULL, NULL, false, true};
    int rc = check_names(kind, id, NULL, err);
    if (rc < 0)
        return rc;
    return act_engine_run_fn(e, doc_fn, NULL, &c, err);
}

int act_engine_doc_get(struct act_engine *e, const char *kind, const char *id, json_t **out,
                       struct act_err *err)
{
    *out = NULL;
    return e->store->ops->doc_get(e->store, kind, id, false, out, err);
}

int act_engine_doc_get_by_key(struct act_engine *e, const char *kind, const char *key,
                              json_t **out, struct act_err *err)
{
    *out = NULL;
    return e->store->ops->doc_get(e->store, kind, key, true, out, err);
}

int act_engine_doc_list(struct act_engine *e, const char *kind, json_t **out, struct act_err *err)
{
    *out = NULL;
    return e->store->ops->doc_list(e->store, kind, out, err);
}
