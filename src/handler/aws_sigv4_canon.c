/*
 * SigV4 step 1: the canonical request (aws_sigv4.h).
 *
 *   METHOD \n canonical URI \n canonical query \n canonical headers \n
 *   signed headers \n hex(sha256(payload))
 *
 * Canonical URI (services other than S3): the path of the request-target is
 * normalised first -- empty segments ("//") and "." segments are dropped, a
 * ".." segment drops the segment before it (never above the root), and the
 * trailing "/" survives when the last segment of the input was empty, "."
 * or ".." (RFC 3986 5.2.4, which is also what libcurl does to a path before
 * sending it) -- and then every byte outside RFC 3986's unreserved set
 * (A-Z a-z 0-9 - . _ ~) of each segment is written %XX with upper-case hex.
 * The path's own %XX escapes are NOT decoded first, so a path that is
 * percent-encoded on the wire ends up encoded twice, as AWS documents for
 * every service but S3.
 *
 * Canonical query: the query is split at '&' (empty pieces skipped) and each
 * piece at its first '=' (none: the value is empty and the '=' is written
 * anyway); names and values are percent-decoded (a '%' not followed by two
 * hex digits stays literal, '+' stays '+') and re-encoded like a path
 * segment; pairs are sorted by encoded name, then encoded value (bytes).
 *
 * Canonical headers: names lower-cased; values with leading and trailing
 * blanks removed and every run of blanks (SP, HTAB) inside collapsed to one
 * space; sorted by name, lines of one name joined with ',' in input order;
 * every header given is signed.
 *
 * Invariants: input is borrowed; counts are capped (ACT_SIGV4_MAX_HEADERS,
 * ACT_SIGV4_MAX_QUERY_PARAMS); a header name must be an RFC 9110 token and
 * no value may hold CR, LF or another control byte besides HTAB, so nothing
 * signed here can smuggle a line into the request.  thread: any.
 */
#include "handler/aws_sigv4.h"

#include "base/alloc.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- a growable string ---- */

struct sbuf {
    char *p;
    size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = act_xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_ch(struct sbuf *b, char c)
{
    sb_add(b, &c, 1);
}

static char *sb_take(struct sbuf *b)
{
    char *p = b->p ? b->p : act_xstrdup("");

    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

/* ---- hashing and encoding ---- */

void act_sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int n = 0;

    EVP_Digest(len ? data : "", len, md, &n, EVP_sha256(), NULL);
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static void uri_encode(struct sbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c)) {
            sb_ch(b, (char)c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            sb_add(b, esc, 3);
        }
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..n) and encode the result: a heap string. */
static char *reencode(const char *s, size_t n)
{
    struct sbuf raw = {0}, enc = {0};
    char *out;

    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            sb_ch(&raw, (char)(hi * 16 + lo));
            i += 2;
        } else {
            sb_ch(&raw, s[i]);
        }
    }
    uri_encode(&enc, raw.p ? raw.p : "", raw.len);
    act_free(raw.p);
    out = sb_take(&enc);
    return out;
}

/* ---- canonical URI ---- */

static void canonical_uri(struct sbuf *b, const char *path, size_t n)
{
    const char **seg = NULL;
    size_t *seg_len = NULL, n_seg = 0;
    bool trailing = false;
    size_t i = 0;

    seg = act_xcalloc(n / 2 + 2, sizeof(*seg));
    seg_len = act_xcalloc(n / 2 + 2, sizeof(*seg_len));
    while (i <= n) {
        size_t start = i, len;
        while (i < n && path[i] != '/')
            i++;
        len = i - start;
        /* the last piece decides whether a '/' ends the path */
        trailing = i >= n && (len == 0 || (len == 1 && path[start] == '.') ||
                              (len == 2 && path[start] == '.' && path[start + 1] == '.'));
        if (len == 2 && path[start] == '.' && path[start + 1] == '.') {
            if (n_seg > 0)
                n_seg--;
        } else if (len > 0 && !(len == 1 && path[start] == '.')) {
            seg[n_seg] = path + start;
            seg_len[n_seg] = len;
            n_seg++;
        }
        i++; /* past the '/' (or past the end, which ends the loop) */
    }
    for (size_t k = 0; k < n_seg; k++) {
        sb_ch(b, '/');
        uri_encode(b, seg[k], seg_len[k]);
    }
    if (n_seg == 0 || trailing)
        sb_ch(b, '/');
    act_free(seg);
    act_free(seg_len);
}

/* ---- canonical query ---- */

struct qparam {
    char *name, *value;
};

static int cmp_param(const void *a, const void *b)
{
    const struct qparam *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c ? c : strcmp(x->value, y->value);
}

static int canonical_query(struct sbuf *b, const char *q, size_t n, struct act_err *err)
{
    struct qparam *params = NULL;
    size_t n_params = 0, i = 0;
    int rc = ACT_OK;

    params = act_xcalloc(ACT_SIGV4_MAX_QUERY_PARAMS, sizeof(*params));
    while (i < n) {
        size_t start = i, len, eq;
        while (i < n && q[i] != '&')
            i++;
        len = i - start;
        i++;
        if (len == 0)
            continue;
        if (n_params == ACT_SIGV4_MAX_QUERY_PARAMS) {
            rc = act_err_set(err, ACT_EINVAL, "more than %d query parameters",
                             ACT_SIGV4_MAX_QUERY_PARAMS);
            goto out;
        }
        for (eq = 0; eq < len && q[start + eq] != '='; eq++)
            ;
        params[n_params].name = reencode(q + start, eq);
        params[n_params].value =
            eq < len ? reencode(q + start + eq + 1, len - eq - 1) : act_xstrdup("");
        n_params++;
    }
    qsort(params, n_params, sizeof(*params), cmp_param);
    for (size_t k = 0; k < n_params; k++) {
        if (k)
            sb_ch(b, '&');
        sb_str(b, params[k].name);
        sb_ch(b, '=');
        sb_str(b, params[k].value);
    }
out:
    for (size_t k = 0; k < n_params; k++) {
        act_free(params[k].name);
        act_free(params[k].value);
    }
    act_free(params);
    return rc;
}

/* ---- canonical headers ---- */

struct hline {
    char *name;  /* lower case */
    char *value; /* trimmed, blanks collapsed */
    size_t order;
};

static int cmp_header(const void *a, const void *b)
{
    const struct hline *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static bool tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int parse_header(const char *line, size_t idx, struct hline *out, struct act_err *err)
{
    const char *colon = strchr(line, ':');
    struct sbuf v = {0};
    const char *p;
    bool blank = false;

    if (!colon || colon == line)
        return act_err_set(err, ACT_EINVAL, "header %zu: expected 'Name: value'", idx);
    for (p = line; p < colon; p++)
        if (!tchar((unsigned char)*p))
            return act_err_set(err, ACT_EINVAL, "header %zu: bad character in the name", idx);
    for (p = colon + 1; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return act_err_set(err, ACT_EINVAL, "header %zu: control character in the value",
                               idx);
    }
    for (p = colon + 1; *p; p++) {
        if (*p == ' ' || *p == '\t') {
            blank = true;
            continue;
        }
        if (blank && v.len)
            sb_ch(&v, ' ');
        blank = false;
        sb_ch(&v, *p);
    }
    out->name = act_xstrndup(line, (size_t)(colon - line));
    for (char *q = out->name; *q; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q - 'A' + 'a');
    out->value = sb_take(&v);
    out->order = idx;
    return ACT_OK;
}

/* ---- the canonical request ---- */

char *act_sigv4_canonical_request(const char *method, const char *target,
                                  const char *const *headers, const void *body, size_t body_len,
                                  char **signed_headers, struct act_err *err)
{
    struct sbuf b = {0}, sh = {0};
    struct hline *hl = NULL;
    size_t n_hl = 0, path_len;
    const char *qmark;
    char payload[65];
    char *out = NULL;

    if (signed_headers)
        *signed_headers = NULL;
    if (!method || !*method || strcspn(method, " \t\r\n") != strlen(method)) {
        act_err_set(err, ACT_EINVAL, "bad method");
        goto out;
    }
    if (!target || target[0] != '/') {
        act_err_set(err, ACT_EINVAL, "the request target must start with '/'");
        goto out;
    }
    for (const char *p = target; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f || c == '#') {
            act_err_set(err, ACT_EINVAL, "bad character in the request target");
            goto out;
        }
    }
    for (n_hl = 0; headers && headers[n_hl]; n_hl++)
        if (n_hl == ACT_SIGV4_MAX_HEADERS) {
            act_err_set(err, ACT_EINVAL, "more than %d headers", ACT_SIGV4_MAX_HEADERS);
            n_hl = 0;
            goto out;
        }
    hl = act_xcalloc(n_hl + 1, sizeof(*hl));
    for (size_t i = 0; i < n_hl; i++)
        if (parse_header(headers[i], i, &hl[i], err) < 0)
            goto out;
    qsort(hl, n_hl, sizeof(*hl), cmp_header);

    sb_str(&b, method);
    sb_ch(&b, '\n');
    qmark = strchr(target, '?');
    path_len = qmark ? (size_t)(qmark - target) : strlen(target);
    canonical_uri(&b, target, path_len);
    sb_ch(&b, '\n');
    if (qmark && canonical_query(&b, qmark + 1, strlen(qmark + 1), err) < 0)
        goto out;
    sb_ch(&b, '\n');
    for (size_t i = 0; i < n_hl; i++) {
        bool first = i == 0 || strcmp(hl[i].name, hl[i - 1].name) != 0;
        bool last = i + 1 == n_hl || strcmp(hl[i].name, hl[i + 1].name) != 0;
        if (first) {
            sb_str(&b, hl[i].name);
            sb_ch(&b, ':');
            if (sh.len)
                sb_ch(&sh, ';');
            sb_str(&sh, hl[i].name);
        } else {
            sb_ch(&b, ',');
        }
        sb_str(&b, hl[i].value);
        if (last)
            sb_ch(&b, '\n');
    }
    sb_ch(&b, '\n');
    sb_add(&b, sh.p ? sh.p : "", sh.len);
    sb_ch(&b, '\n');
    act_sigv4_sha256_hex(body, body_len, payload);
    sb_str(&b, payload);
    out = sb_take(&b);
    if (signed_headers)
        *signed_headers = sb_take(&sh);
out:
    for (size_t i = 0; hl && i < n_hl; i++) {
        act_free(hl[i].name);
        act_free(hl[i].value);
    }
    act_free(hl);
    act_free(b.p);
    act_free(sh.p);
    return out;
}
