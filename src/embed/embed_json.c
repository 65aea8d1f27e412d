/*
 * actiond_json_get() and actiond_json_get_str(): read one value out of a
 * document this API returned, for embedders without a JSON library (the
 * example needs nothing else to find an execution id and its output).
 *
 * Path syntax, deliberately tiny: member names separated by '.', array
 * indices in brackets, e.g. "executions[0].id" or "[2].error"; the empty
 * path is the whole document.  A member name runs to the next '.' or '[',
 * so names holding those characters cannot be addressed (none of the API's
 * documents has one; user data may, and a real JSON library is the answer
 * there).  A malformed path is ACT_EINVAL; a path that leads nowhere
 * (missing member, index out of range, indexing a non-array) ACT_ENOTFOUND,
 * the message naming the prefix that failed.
 */
#include "actiond/actiond.h"

#include "embed/embed_internal.h"

#include "base/alloc.h"

#include <stdint.h>
#include <string.h>

/* Parse the digits of an index at *p (just after '['), leave *p after ']'. */
static int parse_index(const char **p, const char *path, size_t *out, struct act_err *err)
{
    const char *s = *p;
    size_t n = 0;

    if (*s < '0' || *s > '9')
        return act_err_set(err, ACT_EINVAL, "path '%s': expected a digit after '['", path);
    for (; *s >= '0' && *s <= '9'; s++) {
        if (n > (SIZE_MAX - 9) / 10)
            return act_err_set(err, ACT_EINVAL, "path '%s': index too large", path);
        n = n * 10 + (size_t)(*s - '0');
    }
    if (*s != ']')
        return act_err_set(err, ACT_EINVAL, "path '%s': expected ']'", path);
    *p = s + 1;
    *out = n;
    return ACT_OK;
}

static int nothing_at(const char *path, const char *end, struct act_err *err)
{
    return act_err_set(err, ACT_ENOTFOUND, "path '%s': nothing at '%.*s'", path,
                       (int)(end - path), path);
}

/* Follow `path` from `doc`.  *out is borrowed from doc. */
static int walk(const json_t *doc, const char *path, const json_t **out, struct act_err *err)
{
    const json_t *v = doc;
    const char *p = path;
    size_t idx = 0, len;
    int rc;

    while (*p) {
        if (*p == '[') {
            p++;
            if ((rc = parse_index(&p, path, &idx, err)) < 0)
                return rc;
            if (!(v = json_array_get(v, idx))) /* NULL for a non-array too */
                return nothing_at(path, p, err);
        } else {
            len = strcspn(p, ".[");
            if (len == 0)
                return act_err_set(err, ACT_EINVAL, "path '%s': empty member name", path);
            if (!(v = json_object_getn(v, p, len))) /* NULL for a non-object too */
                return nothing_at(path, p + len, err);
            p += len;
        }
        if (*p == '.') {
            p++;
            if (*p == '\0' || *p == '.' || *p == '[')
                return act_err_set(err, ACT_EINVAL, "path '%s': expected a member name after '.'",
                                   path);
        } else if (*p != '\0' && *p != '[') {
            return act_err_set(err, ACT_EINVAL, "path '%s': expected '.' or '[' after ']'", path);
        }
    }
    *out = v;
    return ACT_OK;
}

/* Check the arguments, parse `json` into *doc (the caller releases it) and
 * walk `path`; *val is borrowed from *doc. */
static int lookup(const char *json, const char *path, void *out, json_t **doc,
                  const json_t **val, struct act_err *err)
{
    int rc;

    *doc = NULL;
    if ((rc = act_embed_need(out != NULL, "out", err)) < 0 ||
        (rc = act_embed_need(path != NULL, "path", err)) < 0 ||
        (rc = act_embed_parse(json, "document", doc, err)) < 0)
        return rc;
    return walk(*doc, path, val, err);
}

int actiond_json_get(const char *json, const char *path, char **out_json, char *errbuf,
                     size_t errlen)
{
    struct act_err err = {0};
    const json_t *val = NULL;
    json_t *doc = NULL;
    int rc;

    if (out_json)
        *out_json = NULL;
    if ((rc = lookup(json, path, out_json, &doc, &val, &err)) == ACT_OK)
        *out_json = act_embed_dump(val);
    json_decref(doc);
    return rc < 0 ? act_embed_fail(&err, errbuf, errlen) : ACTIOND_OK;
}

int actiond_json_get_str(const char *json, const char *path, char **out_str, char *errbuf,
                         size_t errlen)
{
    struct act_err err = {0};
    const json_t *val = NULL;
    json_t *doc = NULL;
    int rc;

    if (out_str)
        *out_str = NULL;
    if ((rc = lookup(json, path, out_str, &doc, &val, &err)) < 0)
        goto out;
    if (!json_is_string(val))
        rc = act_err_set(&err, ACT_EINVAL, "path '%s': not a string", path);
    else /* no embedded NUL: the parser refuses \u0000 */
        *out_str = act_xstrdup(json_string_value(val));
out:
    json_decref(doc);
    return rc < 0 ? act_embed_fail(&err, errbuf, errlen) : ACTIOND_OK;
}
