/*
 * The OpenAPI document served at GET /openapi.json.
 *
 * The document is maintained by hand in docs/openapi.json (OpenAPI 3.1,
 * every route with its schemas and problem responses).  Embedding it at
 * build time would need a CMake step, so the server reads it once at start:
 * from the file named by $ACTIOND_OPENAPI, else docs/openapi.json relative
 * to the working directory (the repository root or an installed share
 * directory).  A document that cannot be read or does not parse is replaced
 * by a minimal valid one whose description says where to find the real
 * one, so the route never fails.
 */
#include "api/api_internal.h"

#include "base/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPENAPI_MAX_BYTES ((size_t)8 << 20)

static const char fallback[] =
    "{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"actiond\",\"version\":\"1\","
    "\"description\":\"The full document was not found: set ACTIOND_OPENAPI to the path of "
    "docs/openapi.json or start actiond from the source tree. The REST contract is "
    "shared/API.md.\"},\"paths\":{}}";

/* Read a whole file (at most OPENAPI_MAX_BYTES) or return NULL. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;

    if (!f)
        return NULL;
    for (;;) {
        size_t got;

        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 65536;
            if (cap > OPENAPI_MAX_BYTES + 4096)
                goto fail;
            buf = act_xrealloc(buf, cap);
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        goto fail;
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    fclose(f);
    act_free(buf);
    return NULL;
}

char *act_api_openapi_load(size_t *len, const char **src)
{
    const char *path = getenv("ACTIOND_OPENAPI");
    json_error_t je;
    json_t *doc;
    char *buf;

    if (!path || !*path)
        path = "docs/openapi.json";
    buf = read_file(path, len);
    if (buf) {
        doc = json_loadb(buf, *len, JSON_REJECT_DUPLICATES, &je);
        if (json_is_object(doc) && json_object_get(doc, "openapi")) {
            json_decref(doc);
            *src = path;
            return buf;
        }
        json_decref(doc);
        act_free(buf);
    }
    *src = "built-in fallback";
    *len = sizeof(fallback) - 1;
    return act_xstrdup(fallback);
}
