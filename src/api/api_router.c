/*
 * The router: method + path pattern -> route.
 *
 * A pattern is a '/'-separated list of literal segments and {name}
 * parameters; a parameter matches exactly one non-empty segment that is a
 * valid id (length and character set checked here, so handlers never see a
 * hostile id and an id like "a/b" or "x y" is a plain 404).  The table is
 * scanned in order and the first route whose pattern and method both match
 * wins; with a few dozen routes a linear scan costs well under a
 * microsecond.  When some pattern matches the path but no method does, the
 * answer is 405 and the Allow list names every method of the matching
 * patterns (each once, in table order).
 *
 * Pure: no libmicrohttpd and no engine, so the unit tests link it alone.
 */
#include "api/api_internal.h"

#include <stdio.h>
#include <string.h>

bool act_api_id_valid(const char *s, size_t len)
{
    static const char extra[] = "-._~:@+=,!$*'()";

    if (len == 0 || len > ACT_API_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

        if (!alnum && (c == '\0' || !strchr(extra, c)))
            return false;
    }
    return true;
}

/* Next segment of *p (which points just after a '/'): its start and length;
 * *p moves past it and its trailing '/'.  Returns false at the end. */
static bool next_segment(const char **p, const char **seg, size_t *len, bool *more)
{
    const char *s = *p;
    const char *slash;

    if (!s)
        return false;
    slash = strchr(s, '/');
    *seg = s;
    *len = slash ? (size_t)(slash - s) : strlen(s);
    *more = slash != NULL;
    *p = slash ? slash + 1 : NULL;
    return true;
}

/* Match `path` against `pattern`; params are filled only on a match. */
static bool pattern_match(const char *pattern, const char *path, struct act_api_params *params)
{
    const char *pp = pattern, *sp = path;
    const char *pseg, *sseg;
    size_t plen, slen;
    bool pmore, smore;
    struct act_api_params tmp;

    if (pattern[0] != '/' || path[0] != '/')
        return false;
    pp++;
    sp++;
    tmp.n = 0;
    while (next_segment(&pp, &pseg, &plen, &pmore)) {
        if (!next_segment(&sp, &sseg, &slen, &smore))
            return false;
        if (plen >= 2 && pseg[0] == '{' && pseg[plen - 1] == '}') {
            if (tmp.n >= ACT_API_MAX_PARAMS || !act_api_id_valid(sseg, slen))
                return false;
            snprintf(tmp.names[tmp.n], sizeof(tmp.names[0]), "%.*s", (int)(plen - 2), pseg + 1);
            memcpy(tmp.values[tmp.n], sseg, slen);
            tmp.values[tmp.n][slen] = '\0';
            tmp.n++;
        } else if (plen != slen || memcmp(pseg, sseg, plen) != 0) {
            return false;
        }
        if (pmore != smore)
            return false;
    }
    if (sp)
        return false;
    if (params)
        *params = tmp;
    return true;
}

/* Append `method` to the comma-separated `allow` unless already there. */
static void allow_add(char *allow, size_t allow_len, const char *method)
{
    size_t used = strlen(allow);
    size_t mlen = strlen(method);

    for (const char *p = allow; (p = strstr(p, method)) != NULL; p += mlen) {
        bool starts = p == allow || p[-1] == ' ';
        bool ends = p[mlen] == '\0' || p[mlen] == ',';

        if (starts && ends)
            return;
    }
    snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "", method);
}

enum act_api_route_result act_api_route_find(const struct act_api_route *routes, size_t n_routes,
                                             const char *method, const char *path, size_t *idx,
                                             struct act_api_params *params, char *allow,
                                             size_t allow_len)
{
    bool path_seen = false;

    if (allow && allow_len)
        allow[0] = '\0';
    if (params)
        params->n = 0;
    for (size_t i = 0; i < n_routes; i++) {
        if (!pattern_match(routes[i].pattern, path, NULL))
            continue;
        if (strcmp(routes[i].method, method) == 0) {
            pattern_match(routes[i].pattern, path, params);
            if (idx)
                *idx = i;
            return ACT_API_ROUTE_FOUND;
        }
        path_seen = true;
        if (allow && allow_len)
            allow_add(allow, allow_len, routes[i].method);
    }
    return path_seen ? ACT_API_ROUTE_NO_METHOD : ACT_API_ROUTE_NO_PATH;
}

const char *act_api_param(const struct act_api_params *params, const char *name)
{
    for (size_t i = 0; i < params->n; i++) {
        if (strcmp(params->names[i], name) == 0)
            return params->values[i];
    }
    return NULL;
}
