/*
 * Kind `platform`: call a route of the platform's own API for an attempt.
 *
 *   handler: {"kind": "platform", "method": "PUT", "path": "/api/products/{id}",
 *             "base_url"?: "http://127.0.0.1:5173", "timeout_ms"?: 10000,
 *             "max_response_bytes"?: N,
 *             "missing_messages"?: {"id": "Product ID required for update"}}
 *   config:  {"api_key"?: "..." | "v1:<sealed>", "headers"?: {"Name": "value"}}
 *
 * Each `{name}` of the path template is replaced by the input's top-level
 * member `name` (a string, percent-encoded; a number or boolean as its JSON
 * text).  A placeholder whose member is absent, null or "" is a permanent
 * failure: the spec's missing_messages text for it, or "missing input member
 * 'name' for <path>".  The URL is the base URL (the spec's, else the process
 * default of act_platform_set_base_url) followed by the filled path.  The
 * input goes as the JSON body except for GET and DELETE.  Answers are read
 * as for `plugin` (handler_http_kind.c).
 *
 * The process default base URL is guarded by a mutex and copied for each
 * attempt, so it may change while attempts run; the per-action state is
 * immutable after open.
 */
#include "base/alloc.h"
#include "handler/handler_http.h"
#include "handler/handler_internal.h"
#include "handler/http_client.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define PATH_MAX_LEN 2048
#define URL_MAX 2048
#define NAME_MAX_LEN 64
#define MESSAGE_MAX 256

struct platform_state {
    struct act_http_common common;
    char *method;
    char *path;
    char *base_url;            /* NULL: the process default */
    json_t *missing_messages;  /* object or NULL; read-only after open */
    bool has_body;
};

static pthread_mutex_t base_lock = PTHREAD_MUTEX_INITIALIZER;
static char *default_base; /* guarded by: base_lock */

/* ---- base URL ---- */

/* A copy of url without trailing slashes, or NULL when it is not an
 * http(s) URL without query and fragment. */
static char *normalize_base(const char *url, struct act_err *err)
{
    size_t len;

    if (act_http_url_check(url, err) < 0)
        return NULL;
    if (strpbrk(url, "?#")) {
        act_err_set(err, ACT_EINVAL, "base URL must not have a query or fragment");
        return NULL;
    }
    len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        len--;
    return act_xstrndup(url, len);
}

int act_platform_set_base_url(const char *url)
{
    char *copy = NULL;

    if (url && url[0] && !(copy = normalize_base(url, NULL)))
        return ACT_EINVAL;
    pthread_mutex_lock(&base_lock);
    act_free(default_base);
    default_base = copy;
    pthread_mutex_unlock(&base_lock);
    return ACT_OK;
}

char *act_platform_base_url(void)
{
    char *copy;

    pthread_mutex_lock(&base_lock);
    copy = default_base ? act_xstrdup(default_base) : NULL;
    pthread_mutex_unlock(&base_lock);
    return copy;
}

/* ---- validation ---- */

static bool name_char(unsigned char c)
{
    return isalnum(c) || c == '_';
}

/* Check the template; when `names` is given, collect the placeholder names
 * into it (an array of strings). */
static int check_path(const json_t *path, json_t *names, struct act_err *err)
{
    const char *s;

    if (!path)
        return act_err_field(err, ACT_EUNPROC, "handler.path", "path is required");
    if (!json_is_string(path) || json_string_length(path) > PATH_MAX_LEN)
        return act_err_field(err, ACT_EUNPROC, "handler.path",
                             "path must be a string of at most %d bytes", PATH_MAX_LEN);
    s = json_string_value(path);
    if (s[0] != '/')
        return act_err_field(err, ACT_EUNPROC, "handler.path", "path must start with '/'");
    for (const char *c = s; *c; c++) {
        const char *end;

        if ((unsigned char)*c <= 0x20 || *c == 0x7F || *c == '#' || *c == '}')
            return act_err_field(err, ACT_EUNPROC, "handler.path",
                                 "path has a bad character at offset %td", c - s);
        if (*c != '{')
            continue;
        for (end = c + 1; name_char((unsigned char)*end); end++)
            ;
        if (*end != '}' || end == c + 1 || end - c - 1 > NAME_MAX_LEN)
            return act_err_field(err, ACT_EUNPROC, "handler.path",
                                 "placeholder at offset %td must be {name} with name "
                                 "[A-Za-z0-9_]{1,%d}",
                                 c - s, NAME_MAX_LEN);
        if (names)
            json_array_append_new(names, json_stringn(c + 1, (size_t)(end - c - 1)));
        c = end;
    }
    return ACT_OK;
}

static int check_method(const json_t *m, struct act_err *err)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};

    if (!m)
        return act_err_field(err, ACT_EUNPROC, "handler.method", "method is required");
    for (size_t i = 0; json_is_string(m) && methods[i]; i++)
        if (strcmp(json_string_value(m), methods[i]) == 0)
            return ACT_OK;
    return act_err_field(err, ACT_EUNPROC, "handler.method",
                         "method must be one of GET, POST, PUT, PATCH, DELETE");
}

static bool in_array(const json_t *names, const char *s)
{
    size_t i;
    json_t *v;

    json_array_foreach(names, i, v)
        if (strcmp(json_string_value(v), s) == 0)
            return true;
    return false;
}

static int check_messages(const json_t *msgs, const json_t *names, struct act_err *err)
{
    const char *k;
    json_t *v;

    if (!msgs)
        return ACT_OK;
    if (!json_is_object(msgs))
        return act_err_field(err, ACT_EUNPROC, "handler.missing_messages",
                             "missing_messages must be an object of strings");
    json_object_foreach((json_t *)msgs, k, v) {
        char field[96];

        snprintf(field, sizeof(field), "handler.missing_messages.%.64s", k);
        if (!in_array(names, k))
            return act_err_field(err, ACT_EUNPROC, field, "'%.64s' is not a placeholder of path",
                                 k);
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            json_string_length(v) > MESSAGE_MAX)
            return act_err_field(err, ACT_EUNPROC, field, "message must be a string of 1..%d bytes",
                                 MESSAGE_MAX);
    }
    return ACT_OK;
}

static int platform_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    static const char *const members[] = {"method", "path", "base_url", "timeout_ms",
                                          "max_response_bytes", "missing_messages", NULL};
    const json_t *base = json_object_get(handler, "base_url");
    json_t *names = json_array();
    int rc;

    if ((rc = act_handler_check_members(handler, members, err)) < 0 ||
        (rc = check_method(json_object_get(handler, "method"), err)) < 0 ||
        (rc = check_path(json_object_get(handler, "path"), names, err)) < 0 ||
        (rc = check_messages(json_object_get(handler, "missing_messages"), names, err)) < 0)
        goto out;
    if (base) {
        struct act_err e = {0};
        char *norm = json_is_string(base) && json_string_length(base) <= URL_MAX
                         ? normalize_base(json_string_value(base), &e)
                         : NULL;

        if (!norm) {
            rc = act_err_field(err, ACT_EUNPROC, "handler.base_url", "base_url: %s",
                               e.msg[0] ? e.msg : "must be a string");
            goto out;
        }
        act_free(norm);
    }
    rc = act_http_kind_validate_common(handler, config, err);
out:
    json_decref(names);
    return rc;
}

/* ---- state ---- */

static void platform_close(void *state)
{
    struct platform_state *st = state;

    if (!st)
        return;
    act_http_kind_release_common(&st->common);
    act_free(st->method);
    act_free(st->path);
    act_free(st->base_url);
    json_decref(st->missing_messages);
    act_free(st);
}

static int platform_open(const json_t *handler, const json_t *config, void **state,
                         struct act_err *err)
{
    const json_t *base = json_object_get(handler, "base_url");
    struct platform_state *st;
    int rc;

    *state = NULL;
    if ((rc = platform_validate(handler, config, err)) < 0)
        return rc;
    st = act_xcalloc(1, sizeof(*st));
    st->method = act_xstrdup(json_string_value(json_object_get(handler, "method")));
    st->path = act_xstrdup(json_string_value(json_object_get(handler, "path")));
    st->base_url = base ? normalize_base(json_string_value(base), NULL) : NULL;
    st->missing_messages = json_deep_copy(json_object_get(handler, "missing_messages"));
    st->has_body = strcmp(st->method, "GET") != 0 && strcmp(st->method, "DELETE") != 0;
    if ((rc = act_http_kind_open_common(handler, config, &st->common, err)) < 0) {
        platform_close(st);
        return rc;
    }
    *state = st;
    return ACT_OK;
}

/* ---- one attempt ---- */

static void add_escaped(struct act_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char enc[3] = {'%', hex[c >> 4], hex[c & 15]};

        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
            act_buf_add(b, (const char *)&s[i], 1);
        else
            act_buf_add(b, enc, 3);
    }
}

/* Append the value of placeholder `name` from the input; a failure fills
 * res (permanent) and returns its code. */
static int add_member(const struct platform_state *st, struct act_buf *b, const char *name,
                      const json_t *input, struct act_handler_result *res)
{
    const json_t *v = json_object_get(input, name);
    const char *msg;
    char *text;
    size_t len;

    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) {
        res->permanent = true;
        msg = json_string_value(json_object_get(st->missing_messages, name));
        if (msg)
            return act_handler_fail(res, ACT_EINVAL, "%s", msg);
        return act_handler_fail(res, ACT_EINVAL, "missing input member '%s' for %s", name,
                                st->path);
    }
    if (json_is_string(v)) {
        add_escaped(b, json_string_value(v), json_string_length(v));
        return ACT_OK;
    }
    if (!json_is_number(v) && !json_is_boolean(v)) {
        res->permanent = true;
        return act_handler_fail(res, ACT_EINVAL,
                                "input member '%s' for %s must be a string, number or boolean",
                                name, st->path);
    }
    text = act_handler_dump(v, &len);
    add_escaped(b, text, len);
    act_free(text);
    return ACT_OK;
}

/* base + the filled path into *url (heap). */
static int build_url(const struct platform_state *st, const char *base, const json_t *input,
                     char **url, struct act_handler_result *res)
{
    struct act_buf b = {0};
    const char *c = st->path;
    int rc;

    act_buf_add(&b, base, strlen(base));
    while (*c) {
        const char *open = strchr(c, '{'), *end;
        char name[NAME_MAX_LEN + 1];

        if (!open) {
            act_buf_add(&b, c, strlen(c));
            break;
        }
        act_buf_add(&b, c, (size_t)(open - c));
        end = strchr(open, '}'); /* validated: present */
        snprintf(name, sizeof(name), "%.*s", (int)(end - open - 1), open + 1);
        if ((rc = add_member(st, &b, name, input, res)) < 0) {
            act_free(b.p);
            return rc;
        }
        c = end + 1;
    }
    *url = b.p;
    return ACT_OK;
}

static int platform_execute(void *state, const struct act_handler_call *call,
                            struct act_handler_result *res)
{
    const struct platform_state *st = state;
    char *base = st->base_url ? act_xstrdup(st->base_url) : act_platform_base_url();
    char *url = NULL, *body = NULL;
    size_t len = 0;
    int rc;

    res->retry_after_ms = -1;
    if (!base) {
        res->permanent = true;
        return act_handler_fail(res, ACT_EINVAL,
                                "no platform base URL configured (platform.base_url)");
    }
    if ((rc = build_url(st, base, call->input, &url, res)) < 0)
        goto out;
    if (st->has_body)
        body = act_handler_dump(call->input, &len);
    rc = act_http_kind_call(&st->common, call, st->method, url, NULL, body, len, res);
out:
    act_free(body);
    act_free(url);
    act_free(base);
    return rc;
}

const struct act_handler_ops act_handler_platform_ops = {
    .kind = "platform",
    .capabilities = "[\"sync\",\"timeout\",\"remote\",\"retry_after\"]",
    .schema =
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
        "\"type\":\"object\",\"required\":[\"kind\",\"method\",\"path\"],"
        "\"additionalProperties\":false,\"properties\":{"
        "\"kind\":{\"const\":\"platform\"},"
        "\"method\":{\"enum\":[\"GET\",\"POST\",\"PUT\",\"PATCH\",\"DELETE\"]},"
        "\"path\":{\"type\":\"string\",\"pattern\":\"^/\",\"maxLength\":2048,"
        "\"description\":\"route template; {name} is replaced by the input's member name, "
        "percent-encoded\"},"
        "\"base_url\":{\"type\":\"string\",\"format\":\"uri\",\"maxLength\":2048,"
        "\"description\":\"default: config platform.base_url\"},"
        "\"timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":600000,"
        "\"default\":10000},"
        "\"max_response_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":67108864,"
        "\"default\":1048576},"
        "\"missing_messages\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\","
        "\"maxLength\":256},\"description\":\"error text per placeholder when the input lacks "
        "it\"}},"
        "\"$defs\":{\"config\":{\"type\":\"object\",\"properties\":{"
        "\"api_key\":{\"type\":\"string\",\"description\":\"sent as X-Api-Key; may be sealed\"},"
        "\"headers\":{\"type\":\"object\",\"maxProperties\":64,"
        "\"additionalProperties\":{\"type\":\"string\"}}}}}}",
    .validate = platform_validate,
    .open = platform_open,
    .execute = platform_execute,
    .close = platform_close,
};
