/*
 * The YAML configuration file, read with libfyaml into a document and walked
 * once; runtime code never sees YAML.
 *
 * Nested mappings become dotted key names ("engine:" / "workers: 4" is
 * engine.workers), except under a key of type ACT_CONF_T_JSON
 * (platform.actions), whose mapping is passed on whole as JSON text.
 * A top-level key may also be written flat
 * ("engine.workers: 4").  A mapping is descended into only when the key
 * table has keys under that section, so the walk is at most as deep as the
 * table.  Every scalar value goes through act_conf_key_apply(), the same
 * path as environment variables and flags.
 *
 * Positions: libfyaml 0.7 exposes marks through tokens, so a position is the
 * start of the value's scalar token, or of the key's when the value has no
 * token (an empty value, a mapping, a sequence).  Marks are 0-based; we print
 * 1-based line:col like compilers.  Parser errors are collected on a private
 * fy_diag (nothing is printed) and the first one is reported.
 */
#include "base/alloc.h"
#include "config/config_internal.h"

#include <errno.h>
#include <libfyaml.h>
#include <stdio.h>
#include <string.h>

struct walk {
    struct act_config *cfg;
    const char *path;
    struct act_err *err;
};

/* "path:line:col" of node n (or of fallback when n has no token). */
static void node_pos(const struct walk *w, struct fy_node *n, struct fy_node *fallback, char *buf,
                     size_t len)
{
    struct fy_token *t = n ? fy_node_get_scalar_token(n) : NULL;
    const struct fy_mark *m;

    if (!t && fallback)
        t = fy_node_get_scalar_token(fallback);
    m = t ? fy_token_start_mark(t) : NULL;
    if (m)
        snprintf(buf, len, "%s:%d:%d", w->path, m->line + 1, m->column + 1);
    else
        snprintf(buf, len, "%s", w->path);
}

/* A value that is absent, empty or a plain null (YAML 1.2 core schema:
 * "", "~", "null", "Null", "NULL") counts as "".  fy_node_is_null() is not
 * used: libfyaml 0.7 does not treat "~" as null. */
static bool node_is_empty(struct fy_node *n)
{
    static const char *const nulls[] = {"~", "null", "Null", "NULL"};
    const char *s;
    size_t len = 0;

    if (!n)
        return true;
    if (!fy_node_is_scalar(n) || fy_node_get_style(n) != FYNS_PLAIN)
        return false;
    if (!(s = fy_node_get_scalar(n, &len)) || len == 0)
        return true;
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        if (strlen(nulls[i]) == len && memcmp(s, nulls[i], len) == 0)
            return true;
    return false;
}

static int walk_mapping(struct walk *w, struct fy_node *map, const char *prefix);

/* A key whose value is a whole subtree (platform.actions): hand the
 * mapping over as JSON text.  Scalars become JSON strings (libfyaml's JSON
 * mode), numbers and booleans as written; the subsystem that reads the text
 * judges the types. */
static int walk_json(struct walk *w, const struct act_conf_key *k, const char *name,
                     struct fy_node *val, const char *pos)
{
    size_t cap = k->size; /* the field's size bounds the text anyway */
    char *text = act_xmalloc(cap);
    int n, rc;

    if (!fy_node_is_mapping(val)) {
        act_free(text);
        return act_err_field(w->err, ACT_EINVAL, name, "invalid %s (%s): expected a mapping",
                             name, pos);
    }
    n = fy_emit_node_to_buffer(val, FYECF_MODE_JSON_ONELINE | FYECF_NO_ENDING_NEWLINE, text,
                               cap - 1);
    if (n < 0 || (size_t)n >= cap) {
        act_free(text);
        return act_err_field(w->err, ACT_EINVAL, name,
                             "invalid %s (%s): larger than %zu bytes as JSON", name, pos, cap - 1);
    }
    text[n] = '\0';
    rc = act_conf_key_apply(w->cfg, k, text, pos, w->err);
    act_free(text);
    return rc;
}

static int walk_leaf(struct walk *w, const char *name, struct fy_node *key, struct fy_node *val)
{
    const struct act_conf_key *k = act_conf_key_find(name);
    char pos[4200];
    char *text = NULL;
    size_t len = 0;
    const char *s;
    int rc;

    if (!k) {
        node_pos(w, key, NULL, pos, sizeof(pos));
        return act_err_field(w->err, ACT_EINVAL, name, "unknown key '%s' (%s)", name, pos);
    }
    node_pos(w, val, key, pos, sizeof(pos));
    if (k->type == ACT_CONF_T_JSON && !node_is_empty(val))
        return walk_json(w, k, name, val, pos);
    if (!node_is_empty(val) && !fy_node_is_scalar(val))
        return act_err_field(w->err, ACT_EINVAL, name, "invalid %s (%s): expected a scalar value",
                             name, pos);
    s = node_is_empty(val) ? NULL : fy_node_get_scalar(val, &len);
    text = act_xstrndup(s ? s : "", s ? len : 0);
    if (strlen(text) != len) {
        rc = act_err_field(w->err, ACT_EINVAL, name, "invalid %s (%s): NUL byte in value", name,
                           pos);
    } else {
        rc = act_conf_key_apply(w->cfg, k, text, pos, w->err);
    }
    act_free(text);
    return rc;
}

static int walk_pair(struct walk *w, struct fy_node_pair *pair, const char *prefix)
{
    struct fy_node *key = fy_node_pair_key(pair), *val = fy_node_pair_value(pair);
    char name[128], pos[4200];
    const char *ks;
    size_t klen = 0;
    int n;

    ks = key && fy_node_is_scalar(key) ? fy_node_get_scalar(key, &klen) : NULL;
    if (!ks || klen == 0 || memchr(ks, '\0', klen)) {
        node_pos(w, key, NULL, pos, sizeof(pos));
        return act_err_set(w->err, ACT_EINVAL, "invalid key (%s): expected a plain name", pos);
    }
    n = snprintf(name, sizeof(name), "%s%s%.*s", prefix, *prefix ? "." : "", (int)klen, ks);
    if (n < 0 || (size_t)n >= sizeof(name)) {
        node_pos(w, key, NULL, pos, sizeof(pos));
        return act_err_set(w->err, ACT_EINVAL, "unknown key '%.64s...' (%s)", name, pos);
    }
    if (!act_conf_is_section(name))
        return walk_leaf(w, name, key, val);
    if (node_is_empty(val))
        return 0; /* "engine:" with nothing under it */
    if (!fy_node_is_mapping(val)) {
        node_pos(w, val, key, pos, sizeof(pos));
        return act_err_field(w->err, ACT_EINVAL, name, "invalid %s (%s): expected a mapping",
                             name, pos);
    }
    return walk_mapping(w, val, name);
}

static int walk_mapping(struct walk *w, struct fy_node *map, const char *prefix)
{
    struct fy_node_pair *pair;
    void *iter = NULL;
    int rc;

    while ((pair = fy_node_mapping_iterate(map, &iter)) != NULL)
        if ((rc = walk_pair(w, pair, prefix)) < 0)
            return rc;
    return 0;
}

/* Report the first collected parser error.  Returns 0 when none was
 * collected: fy_diag_got_error() is also true for an empty stream, which is
 * a valid (empty) configuration, so only collected errors count. */
static int parse_error(struct fy_diag *diag, const char *path, struct act_err *err)
{
    struct fy_diag_error *e;
    void *iter = NULL;

    while ((e = fy_diag_errors_iterate(diag, &iter)) != NULL)
        if (e->type >= FYET_ERROR)
            return act_err_set(err, ACT_EINVAL, "invalid YAML (%s:%d:%d): %s", path, e->line,
                               e->column, e->msg ? e->msg : "syntax error");
    return 0;
}

static struct fy_diag *diag_new(void)
{
    struct fy_diag_cfg dc;
    struct fy_diag *diag;

    fy_diag_cfg_default(&dc);
    dc.fp = NULL;
    dc.output_fn = NULL;
    dc.colorize = false;
    dc.level = FYET_ERROR;
    diag = fy_diag_create(&dc);
    if (!diag)
        ACT_BUG("fy_diag_create failed");
    fy_diag_set_collect_errors(diag, true);
    return diag;
}

int act_conf_yaml_load(struct act_config *cfg, const char *path, struct act_err *err)
{
    struct walk w = {.cfg = cfg, .path = path, .err = err};
    struct fy_parse_cfg pc = {0};
    struct fy_document *doc = NULL;
    struct fy_diag *diag = NULL;
    struct fy_node *root;
    FILE *fp = NULL;
    char pos[4200];
    int rc = 0;

    if (!(fp = fopen(path, "r")))
        return act_err_set(err, ACT_EINVAL, "cannot read config file '%s': %s", path,
                           strerror(errno));
    diag = diag_new();
    pc.flags = FYPCF_QUIET | FYPCF_RESOLVE_DOCUMENT;
    pc.diag = diag;
    doc = fy_document_build_from_fp(&pc, fp);
    if ((rc = parse_error(diag, path, err)) < 0)
        goto out;
    if (!doc && ferror(fp)) {
        rc = act_err_set(err, ACT_EINVAL, "cannot read config file '%s'", path);
        goto out;
    }
    /* No document and no error: the file is empty or only comments. */
    root = doc ? fy_document_root(doc) : NULL;
    if (node_is_empty(root))
        goto out;
    if (!fy_node_is_mapping(root)) {
        node_pos(&w, root, NULL, pos, sizeof(pos));
        rc = act_err_set(err, ACT_EINVAL, "invalid config (%s): the top level must be a mapping",
                         pos);
        goto out;
    }
    rc = walk_mapping(&w, root, "");
out:
    if (doc)
        fy_document_destroy(doc);
    fy_diag_destroy(diag);
    fclose(fp);
    return rc;
}
