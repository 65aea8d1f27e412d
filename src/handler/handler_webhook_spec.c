/*
 * Kind `webhook`: checking a handler spec and config (handler_webhook.h),
 * for validate() at action creation and for open().
 *
 * What is checked where: a URL without templates is parsed with CURLU here
 * (http or https, a host); a templated URL must start with a literal
 * "http://" or "https://" and compile, and is parsed again after each
 * rendering.  Header names are tokens and not ones actiond sets itself;
 * values are strings without control characters (templates compile).
 * handler.body may be any JSON value; its templates must compile.  The
 * secrets (config.secret: a string or up to ACT_WEBHOOK_MAX_SECRETS, each
 * maybe sealed) must open and decode.  Every error names its field
 * ("handler.url", "handler.headers.X-Api", "config.secret[1]").
 *
 * The same checks, with the field names passed in, serve the provider
 * presets (handler_preset_*.c): URLs and base URLs, text members, header
 * objects, limits, config secrets.  The form/query encoder lives here too:
 * validation and the attempt share its rules.
 *
 * Invariants: nothing here keeps state; a revealed secret is wiped
 * (act_secret_free) before returning unless handed to the caller.
 */
#include "base/alloc.h"
#include "handler/handler_http.h"
#include "handler/handler_internal.h"
#include "handler/handler_webhook.h"
#include "handler/secret_box.h"
#include "lua/lua.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- templates and text ---- */

/* True when a string anywhere in v holds "{{". */
bool act_webhook_has_template(const json_t *v)
{
    const char *k;
    json_t *m;
    size_t i;

    if (json_is_string(v))
        return strstr(json_string_value(v), "{{") != NULL;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, m)
            if (act_webhook_has_template(m))
                return true;
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m)
            if (act_webhook_has_template(m))
                return true;
    }
    return false;
}

/* A template must compile; its error is reported under `field`. */
int act_webhook_check_template(const json_t *v, const char *field, struct act_err *err)
{
    int rc;

    if (!act_webhook_has_template(v))
        return ACT_OK;
    if ((rc = act_template_check(v, err)) < 0) {
        act_err_prefix_field(err, field);
        return rc == ACT_EBUSY ? rc : ACT_EUNPROC;
    }
    return ACT_OK;
}

int act_webhook_check_text(const json_t *handler, const char *name, bool required, size_t max,
                           struct act_err *err)
{
    const json_t *v = json_object_get(handler, name);
    char field[64];

    snprintf(field, sizeof(field), "handler.%s", name);
    if (!v)
        return required ? act_err_field(err, ACT_EUNPROC, field, "%s is required", name)
                        : ACT_OK;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
        return act_err_field(err, ACT_EUNPROC, field, "%s must be a string of 1..%zu bytes",
                             name, max);
    return act_webhook_check_template(v, field, err);
}

/* ---- URLs ---- */

/* Parse and normalise a URL with CURLU: http or https with a host.  The
 * normalised text into *out (NULL: only check), "host:port" into hostport.
 * A failure is ACT_EUNPROC with field "handler.url". */
int act_webhook_parse_url(const char *url, char **out, char *hostport, size_t hp_cap,
                          struct act_err *err)
{
    CURLU *u = NULL;
    char *norm = NULL, *host = NULL, *port = NULL, *scheme = NULL;
    int rc = ACT_OK;

    if (!(u = curl_url()))
        return act_err_set(err, ACT_ENOMEM, "out of memory parsing a URL");
    if (strlen(url) > ACT_WEBHOOK_URL_MAX || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        rc = act_err_field(err, ACT_EUNPROC, "handler.url", "url does not parse");
    else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
             (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0))
        rc = act_err_field(err, ACT_EUNPROC, "handler.url", "url scheme must be http or https");
    else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0])
        rc = act_err_field(err, ACT_EUNPROC, "handler.url", "url has no host");
    else if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
             curl_url_get(u, CURLUPART_URL, &norm, 0) != CURLUE_OK)
        rc = act_err_field(err, ACT_EUNPROC, "handler.url", "url does not parse");
    if (rc == ACT_OK && hostport)
        snprintf(hostport, hp_cap, "%s:%s", host, port);
    if (rc == ACT_OK && out)
        *out = act_xstrdup(norm);
    curl_free(norm);
    curl_free(host);
    curl_free(port);
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}

/* Re-point an error act_webhook_parse_url reported at "handler.url". */
static int refield(struct act_err *err, const char *field, int rc)
{
    if (err && rc < 0)
        snprintf(err->field, sizeof(err->field), "%s", field);
    return rc;
}

int act_webhook_check_url(const json_t *v, const char *field, bool allow_tpl,
                          struct act_err *err)
{
    const char *s = json_string_value(v);
    const char *name = strrchr(field, '.') ? strrchr(field, '.') + 1 : field;

    if (!v)
        return act_err_field(err, ACT_EUNPROC, field, "%s is required", name);
    if (!s || json_string_length(v) == 0 || json_string_length(v) > ACT_WEBHOOK_URL_MAX)
        return act_err_field(err, ACT_EUNPROC, field, "%s must be a string of 1..%d bytes", name,
                             ACT_WEBHOOK_URL_MAX);
    if (!strstr(s, "{{"))
        return refield(err, field, act_webhook_parse_url(s, NULL, NULL, 0, err));
    if (!allow_tpl)
        return act_err_field(err, ACT_EUNPROC, field, "%s may not hold templates", name);
    /* Templated: the scheme must be literal; the whole URL is checked per
     * attempt, after rendering. */
    if (strncasecmp(s, "http://", 7) != 0 && strncasecmp(s, "https://", 8) != 0)
        return act_err_field(err, ACT_EUNPROC, field,
                             "a templated %s must start with a literal http:// or https://",
                             name);
    return act_webhook_check_template(v, field, err);
}

int act_webhook_check_base_url(const json_t *v, const char *field, const char *def, char **out,
                               struct act_err *err)
{
    const char *name = strrchr(field, '.') ? strrchr(field, '.') + 1 : field;
    const char *s;
    char *norm = NULL;
    size_t len;
    int rc;

    if (out)
        *out = NULL;
    if (!v) {
        if (out)
            *out = act_xstrdup(def);
        return ACT_OK;
    }
    if ((rc = act_webhook_check_url(v, field, false, err)) < 0)
        return rc;
    s = json_string_value(v);
    if (strpbrk(s, "?#"))
        return act_err_field(err, ACT_EUNPROC, field, "%s may not have a query or fragment",
                             name);
    if ((rc = act_webhook_parse_url(s, &norm, NULL, 0, err)) < 0)
        return refield(err, field, rc);
    len = strlen(norm);
    while (len > 0 && norm[len - 1] == '/')
        norm[--len] = '\0';
    if (out)
        *out = norm;
    else
        act_free(norm);
    return ACT_OK;
}

/* ---- headers, limits, methods ---- */

int act_webhook_check_headers(const json_t *headers, const char *field, const char *owned,
                              const char *owner, struct act_err *err)
{
    const char *k;
    json_t *v;
    int rc;

    if (!headers)
        return ACT_OK;
    if (!json_is_object(headers))
        return act_err_field(err, ACT_EUNPROC, field, "headers must be an object of strings");
    if (json_object_size(headers) > ACT_WEBHOOK_HEADERS_MAX)
        return act_err_field(err, ACT_EUNPROC, field, "more than %d headers",
                             ACT_WEBHOOK_HEADERS_MAX);
    json_object_foreach((json_t *)headers, k, v) {
        char f[160];

        if ((rc = act_http_header_check(field, k, v, f, sizeof(f), err)) < 0)
            return rc;
        if (owned && strcasecmp(k, owned) == 0)
            return act_err_field(err, ACT_EUNPROC, f, "header '%.64s' comes from %s", k, owner);
        if ((rc = act_webhook_check_template(v, f, err)) < 0)
            return rc;
    }
    return ACT_OK;
}

static int check_range(const json_t *handler, const char *name, int64_t max, struct act_err *err)
{
    const json_t *v = json_object_get(handler, name);
    char field[48];

    if (!v)
        return ACT_OK;
    snprintf(field, sizeof(field), "handler.%s", name);
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max)
        return act_err_field(err, ACT_EUNPROC, field, "%s must be an integer in 1..%lld", name,
                             (long long)max);
    return ACT_OK;
}

int act_webhook_check_limits(const json_t *handler, struct act_err *err)
{
    int rc;

    if ((rc = check_range(handler, "timeout_ms", ACT_HTTP_KIND_TIMEOUT_MAX_MS, err)) < 0 ||
        (rc = check_range(handler, "connect_timeout_ms", ACT_HTTP_KIND_TIMEOUT_MAX_MS, err)) < 0)
        return rc;
    return check_range(handler, "max_response_bytes", ACT_HTTP_KIND_RESPONSE_MAX, err);
}

static int validate_method(const json_t *handler, struct act_err *err)
{
    static const char *const methods[] = {"POST", "PUT", "PATCH", "DELETE", "GET", NULL};
    const json_t *m = json_object_get(handler, "method");

    if (!m)
        return ACT_OK;
    for (size_t i = 0; json_is_string(m) && methods[i]; i++)
        if (strcmp(json_string_value(m), methods[i]) == 0) {
            if (i == 4 && json_object_get(handler, "body"))
                return act_err_field(err, ACT_EUNPROC, "handler.body",
                                     "a GET request carries no body");
            return ACT_OK;
        }
    return act_err_field(err, ACT_EUNPROC, "handler.method",
                         "method must be one of POST, PUT, PATCH, DELETE, GET");
}

/* ---- secrets ---- */

int act_webhook_config_secret(const json_t *config, const char *name, bool required, char **out,
                              struct act_err *err)
{
    const json_t *v = json_object_get(config, name);
    char field[64], *plain = NULL;
    int rc;

    if (out)
        *out = NULL;
    snprintf(field, sizeof(field), "config.%s", name);
    if (!v)
        return required ? act_err_field(err, ACT_EUNPROC, field, "%s is required", name)
                        : ACT_OK;
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > ACT_WEBHOOK_CONFIG_SECRET_MAX)
        return act_err_field(err, ACT_EUNPROC, field, "%s must be a string of 1..%d bytes", name,
                             ACT_WEBHOOK_CONFIG_SECRET_MAX);
    if ((rc = act_http_kind_reveal(json_string_value(v), field, &plain, err)) < 0)
        return rc;
    for (const char *c = plain; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            act_secret_free(plain);
            return act_err_field(err, ACT_EUNPROC, field, "%s contains a control character",
                                 name);
        }
    if (!plain[0]) {
        act_secret_free(plain);
        return act_err_field(err, ACT_EUNPROC, field, "%s is empty", name);
    }
    if (out)
        *out = plain;
    else
        act_secret_free(plain);
    return ACT_OK;
}

/* Open (when sealed) and decode one secret into *key. */
static int load_key(const json_t *v, const char *field, struct act_webhook_key *key,
                    struct act_err *err)
{
    struct act_err e = {0};
    char *plain = NULL;
    int rc;

    if (!json_is_string(v) || json_string_length(v) == 0)
        return act_err_field(err, ACT_EUNPROC, field, "secret must be a non-empty string");
    if ((rc = act_http_kind_reveal(json_string_value(v), field, &plain, err)) < 0)
        return rc;
    rc = act_webhook_key_parse(plain, key, &e);
    act_secret_free(plain);
    if (rc < 0)
        return act_err_field(err, ACT_EUNPROC, field, "%s", e.msg);
    return ACT_OK;
}

/* Decode config.secret (absent, a string, or an array of strings). */
int act_webhook_load_keys(const json_t *config, struct act_webhook_key *keys, size_t *n_keys,
                          struct act_err *err)
{
    const json_t *secret = json_object_get(config, "secret"), *v;
    size_t i;
    int rc;

    *n_keys = 0;
    if (!secret)
        return ACT_OK;
    if (json_is_string(secret)) {
        if ((rc = load_key(secret, "config.secret", &keys[0], err)) < 0)
            return rc;
        *n_keys = 1;
        return ACT_OK;
    }
    if (!json_is_array(secret) || json_array_size(secret) == 0 ||
        json_array_size(secret) > ACT_WEBHOOK_MAX_SECRETS)
        return act_err_field(err, ACT_EUNPROC, "config.secret",
                             "secret must be a string or an array of 1..%d strings",
                             ACT_WEBHOOK_MAX_SECRETS);
    json_array_foreach(secret, i, v) {
        char field[48];

        snprintf(field, sizeof(field), "config.secret[%zu]", i);
        if ((rc = load_key(v, field, &keys[i], err)) < 0)
            return rc;
        *n_keys = i + 1;
    }
    return ACT_OK;
}

/* ---- form and query encoding ---- */

void act_webhook_pct_encode(struct act_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[3] = {'%', hex[c >> 4], hex[c & 15]};

        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
            act_buf_add(b, (const char *)&c, 1);
        else
            act_buf_add(b, esc, 3);
    }
}

/* One name=value pair; ACT_EUNPROC for a value that has no form spelling. */
static int form_pair(struct act_buf *b, const char *k, const json_t *v)
{
    char num[64];
    const char *text = num;
    size_t len;

    if (json_is_string(v)) {
        text = json_string_value(v);
        len = json_string_length(v);
    } else if (json_is_integer(v)) {
        len = (size_t)snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        len = (size_t)snprintf(num, sizeof(num), "%.17g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        text = json_is_true(v) ? "true" : "false";
        len = strlen(text);
    } else {
        return ACT_EUNPROC;
    }
    if (b->len > 0)
        act_buf_add(b, "&", 1);
    act_webhook_pct_encode(b, k, strlen(k));
    act_buf_add(b, "=", 1);
    act_webhook_pct_encode(b, text, len);
    return ACT_OK;
}

int act_webhook_form_encode(struct act_buf *b, const json_t *obj, struct act_err *err)
{
    const char *k;
    json_t *v, *e;
    size_t i;

    if (!json_is_object(obj))
        return act_err_field(err, ACT_EUNPROC, "", "a form or query must be an object");
    json_object_foreach((json_t *)obj, k, v) {
        bool bad = false;

        if (json_is_null(v))
            continue;
        if (json_is_array(v)) {
            json_array_foreach(v, i, e)
                bad = bad || json_is_null(e) || form_pair(b, k, e) < 0;
        } else {
            bad = form_pair(b, k, v) < 0;
        }
        if (bad)
            return act_err_field(err, ACT_EUNPROC, k,
                                 "a form or query value must be a string, number, boolean or "
                                 "a list of them");
    }
    if (!b->p)
        act_buf_add(b, "", 0);
    return ACT_OK;
}

/* ---- kind `webhook` ---- */

/* handler.ca_file: an absolute path to a readable file (checked again by
 * libcurl at each attempt: a file removed later fails the attempt). */
static int check_ca_file(const json_t *v, struct act_err *err)
{
    const char *path = json_string_value(v);

    if (!v)
        return ACT_OK;
    if (!path || path[0] != '/' || strlen(path) > 4096)
        return act_err_field(err, ACT_EUNPROC, "handler.ca_file",
                             "ca_file must be an absolute path of at most 4096 bytes");
    if (access(path, R_OK) < 0)
        return act_err_field(err, ACT_EUNPROC, "handler.ca_file", "ca_file %.200s: %s", path,
                             strerror(errno));
    return ACT_OK;
}

int act_webhook_spec_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    static const char *const members[] = {"url",        "method",
                                          "headers",    "body",
                                          "timeout_ms", "connect_timeout_ms",
                                          "max_response_bytes", "ca_file",
                                          NULL};
    struct act_webhook_key keys[ACT_WEBHOOK_MAX_SECRETS];
    size_t n_keys;
    int rc;

    if ((rc = act_handler_check_members(handler, members, err)) < 0 ||
        (rc = act_webhook_check_url(json_object_get(handler, "url"), "handler.url", true, err)) <
            0 ||
        (rc = validate_method(handler, err)) < 0 ||
        (rc = act_webhook_check_headers(json_object_get(handler, "headers"), "handler.headers",
                                        NULL, NULL, err)) < 0 ||
        (rc = act_webhook_check_limits(handler, err)) < 0 ||
        (rc = act_webhook_check_template(json_object_get(handler, "body"), "handler.body",
                                         err)) < 0 ||
        (rc = check_ca_file(json_object_get(handler, "ca_file"), err)) < 0)
        return rc;
    rc = act_webhook_load_keys(config, keys, &n_keys, err);
    OPENSSL_cleanse(keys, sizeof(keys));
    return rc;
}
