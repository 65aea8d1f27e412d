/*
 * CloudEvents 1.0 HTTP binary mode -> a structured-mode event object.
 *
 * In binary mode the context attributes travel as headers and the body is
 * the event's data (CloudEvents HTTP protocol binding, section 3.1):
 *   - every `ce-<name>` header is the attribute <name>: header names are
 *     case-insensitive, attribute names are lowercase [a-z0-9]; values are
 *     percent-decoded (the binding percent-encodes bytes outside printable
 *     ASCII) and must then be UTF-8;
 *   - Content-Type is `datacontenttype`;
 *   - the body is `data`: parsed when the media type is JSON (any JSON
 *     value), kept as a string when it is UTF-8 text without NUL bytes,
 *     otherwise base64-encoded into `data_base64`.  No body, no data.
 * The attributes a body carries (data, data_base64, datacontenttype) are
 * refused as headers, and so is an attribute given twice, so one request
 * has exactly one reading.  Validation of the attributes themselves
 * (specversion, required id/source/type, extension names) is left to
 * act_event_normalize, which sees the result like any structured event.
 *
 * Pure: jansson only, so the unit tests link it without the engine.
 */
#include "api/api_internal.h"

#include "base/alloc.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decode `s`; a '%' not followed by two hex digits stays as is.
 * Returns a new heap string (act_free) and its length in *len. */
static char *percent_decode(const char *s, size_t *len)
{
    size_t n = strlen(s), o = 0;
    char *out = act_xmalloc(n + 1);

    for (size_t i = 0; i < n; i++) {
        int hi, lo;

        if (s[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
            (lo = hexval((unsigned char)s[i + 2])) >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    *len = o;
    return out;
}

static char *base64_encode(const unsigned char *p, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = act_xmalloc((len + 2) / 3 * 4 + 1);
    size_t o = 0, i = 0;

    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];

        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = tbl[v >> 6 & 63];
        out[o++] = tbl[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0u);

        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = i + 1 < len ? tbl[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

static bool reserved_attr(const char *name)
{
    return strcmp(name, "data") == 0 || strcmp(name, "data_base64") == 0 ||
           strcmp(name, "datacontenttype") == 0;
}

/* Add the attribute of one ce-* header to `ev`. */
static int add_attr(json_t *ev, const char *hname, const char *hvalue, struct act_err *err)
{
    char name[96], field[100];
    size_t n = 0, vlen;
    const char *p = hname + 3;
    char *val;
    json_t *js;

    for (; *p && n + 1 < sizeof(name); p++)
        name[n++] = (char)tolower((unsigned char)*p);
    name[n] = '\0';
    snprintf(field, sizeof(field), "ce-%s", name);
    if (n == 0 || *p)
        return act_err_field(err, ACT_EINVAL, field, "header '%s': invalid attribute name", hname);
    for (size_t i = 0; i < n; i++) {
        if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]))
            return act_err_field(err, ACT_EINVAL, field,
                                 "header '%s': attribute names are lowercase letters and digits",
                                 hname);
    }
    if (reserved_attr(name))
        return act_err_field(err, ACT_EINVAL, field,
                             "header '%s': '%s' comes from the body in binary mode", hname, name);
    if (json_object_get(ev, name))
        return act_err_field(err, ACT_EINVAL, field, "header '%s' given twice", hname);
    val = percent_decode(hvalue ? hvalue : "", &vlen);
    js = memchr(val, '\0', vlen) ? NULL : json_stringn(val, vlen);
    act_free(val);
    if (!js)
        return act_err_field(err, ACT_EINVAL, field, "header '%s': value is not UTF-8 text", hname);
    json_object_set_new(ev, name, js);
    return ACT_OK;
}

/* Set data / data_base64 from the body. */
static int add_data(json_t *ev, const char *ctype, const char *body, size_t len,
                    struct act_err *err)
{
    json_t *data = NULL;
    int rc;

    if (len == 0)
        return ACT_OK;
    if (ctype && act_api_media_is_json(ctype)) {
        if ((rc = act_api_json_parse(body, len, true, &data, err)) < 0) {
            if (err)
                memcpy(err->field, "data", sizeof("data"));
            return rc;
        }
        json_object_set_new(ev, "data", data);
        return ACT_OK;
    }
    if (!memchr(body, '\0', len) && (data = json_stringn(body, len)) != NULL) {
        json_object_set_new(ev, "data", data);
        return ACT_OK;
    }
    char *b64 = base64_encode((const unsigned char *)body, len);
    json_object_set_new(ev, "data_base64", json_string(b64));
    act_free(b64);
    return ACT_OK;
}

int act_api_ce_binary(const struct act_api_header *headers, size_t n_headers, const char *body,
                      size_t len, json_t **out, struct act_err *err)
{
    json_t *ev = json_object();
    const char *ctype = NULL;
    int rc = ACT_OK;

    *out = NULL;
    for (size_t i = 0; i < n_headers; i++) {
        const char *name = headers[i].name;

        if (!name)
            continue;
        if (strcasecmp(name, "content-type") == 0) {
            if (!ctype)
                ctype = headers[i].value;
        } else if (strncasecmp(name, "ce-", 3) == 0) {
            if ((rc = add_attr(ev, name, headers[i].value, err)) < 0)
                goto out;
        }
    }
    if (ctype && *ctype) {
        json_t *ct = json_string(ctype);

        if (!ct) {
            rc = act_err_field(err, ACT_EINVAL, "content-type", "Content-Type is not UTF-8 text");
            goto out;
        }
        json_object_set_new(ev, "datacontenttype", ct);
    }
    if ((rc = add_data(ev, ctype, body, len, err)) < 0)
        goto out;
    *out = ev;
    ev = NULL;
out:
    json_decref(ev);
    return rc;
}
