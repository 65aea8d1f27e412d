/*
 * The one HTTP request helper of actionctl (libcurl easy interface), plus
 * the small URL and input-file helpers the commands share.
 *
 * A call either succeeds with a 2xx reply, or prints exactly one error
 * report to stderr and returns the exit status: CLI_EXIT_API when the
 * server answered (problem+json or any non-2xx), CLI_EXIT_CONN when it did
 * not (refused, DNS, timeout, TLS).  Replies are buffered whole, up to
 * MAX_REPLY bytes; bodies are serialized with json_dumpb into our own
 * allocations so nothing from jansson's allocator needs a raw free().
 */
#include "base/alloc.h"
#include "base/err.h"
#include "cli/cli.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#define MAX_REPLY (64u * 1024 * 1024)
#define CONNECT_TIMEOUT_MS 10000L
#define TOTAL_TIMEOUT_MS 120000L

struct sink {
    char *buf;
    size_t len, cap;
    bool overflow;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct sink *s = ud;
    size_t add = size * n;

    if (s->len + add + 1 > MAX_REPLY) {
        s->overflow = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (s->len + add + 1 > s->cap) {
        while (s->len + add + 1 > s->cap)
            s->cap = s->cap ? s->cap * 2 : 4096;
        s->buf = act_xrealloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, p, add);
    s->len += add;
    s->buf[s->len] = '\0';
    return add;
}

/* The body as compact JSON in our allocator; *len set. */
static char *dump_body(const json_t *body, size_t *len)
{
    size_t n = json_dumpb(body, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    char *buf = act_xmalloc(n + 1);

    *len = json_dumpb(body, buf, n, JSON_COMPACT | JSON_ENCODE_ANY);
    buf[*len] = '\0';
    return buf;
}

static struct curl_slist *headers_new(bool has_body)
{
    struct curl_slist *h = NULL;

    h = curl_slist_append(h, "Accept: application/json, application/problem+json");
    if (has_body)
        h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    if (!h)
        ACT_BUG("curl_slist_append failed");
    return h;
}

/* Perform the transfer; returns the curl code, fills status and sink. */
static CURLcode perform(const char *method, const char *url, const char *body, size_t body_len,
                        struct sink *s, long *status, char errbuf[CURL_ERROR_SIZE])
{
    struct curl_slist *hdrs = headers_new(body != NULL);
    CURL *h = curl_easy_init();
    CURLcode rc;

    if (!h)
        ACT_BUG("curl_easy_init failed");
    errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "actionctl/" CLI_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS);
    rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    return rc;
}

static int transport_error(const struct cli *c, CURLcode rc, const struct sink *s,
                           const char *errbuf)
{
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);

    if (s->overflow)
        return cli_fail(CLI_EXIT_API, "reply from %s is larger than %u bytes", c->url,
                        MAX_REPLY);
    if (rc == CURLE_COULDNT_CONNECT)
        return cli_fail(CLI_EXIT_CONN, "cannot connect to %s: %s (is actiond running?)", c->url,
                        why);
    return cli_fail(CLI_EXIT_CONN, "cannot reach %s: %s", c->url, why);
}

int cli_call(const struct cli *c, const char *method, const char *path, const json_t *body,
             struct cli_reply *reply)
{
    char errbuf[CURL_ERROR_SIZE];
    struct sink s = {0};
    char *url = act_xasprintf("%s%s", c->url, path), *text = NULL;
    size_t text_len = 0;
    CURLcode rc;
    int ret = 0;

    memset(reply, 0, sizeof(*reply));
    if (body)
        text = dump_body(body, &text_len);
    rc = perform(method, url, text, text_len, &s, &reply->status, errbuf);
    reply->body = s.buf ? s.buf : act_xstrdup("");
    reply->len = s.len;
    if (rc != CURLE_OK) {
        ret = transport_error(c, rc, &s, errbuf);
        goto out;
    }
    if (reply->len > 0)
        reply->json = json_loadb(reply->body, reply->len, JSON_DECODE_ANY, NULL);
    if (reply->status < 200 || reply->status > 299) {
        cli_print_problem(reply->status, reply->json, reply->body);
        ret = CLI_EXIT_API;
    }
out:
    act_free(text);
    act_free(url);
    return ret;
}

void cli_reply_release(struct cli_reply *r)
{
    json_decref(r->json);
    act_free(r->body);
    memset(r, 0, sizeof(*r));
}

int cli_run(const struct cli *c, const char *method, const char *path, const json_t *body,
            cli_show_fn *show)
{
    struct cli_reply r;
    int rc = cli_call(c, method, path, body, &r);

    if (rc == 0) {
        if (c->json || !r.json)
            cli_print_raw(&r);
        else
            rc = show(r.json);
    }
    cli_reply_release(&r);
    return rc;
}

char *cli_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = act_xmalloc(strlen(s) * 3 + 1), *o = out;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

char *cli_with_query(const char *path, const char *const *pairs, size_t n_pairs)
{
    char *url = act_xstrdup(path);
    char sep = '?';

    for (size_t i = 0; i < n_pairs; i++) {
        const char *name = pairs[2 * i], *val = pairs[2 * i + 1];
        char *esc, *next;

        if (!val)
            continue;
        esc = cli_escape(val);
        next = act_xasprintf("%s%c%s=%s", url, sep, name, esc);
        act_free(esc);
        act_free(url);
        url = next;
        sep = '&';
    }
    return url;
}

json_t *cli_load_json_file(const char *file)
{
    bool is_stdin = strcmp(file, "-") == 0;
    json_error_t je;
    json_t *j;

    j = is_stdin ? json_loadf(stdin, 0, &je) : json_load_file(file, 0, &je);
    if (j)
        return j;
    if (je.line > 0)
        cli_fail(CLI_EXIT_API, "%s: invalid JSON at line %d, column %d: %s",
                 is_stdin ? "stdin" : file, je.line, je.column, je.text);
    else
        cli_fail(CLI_EXIT_API, "%s: %s", is_stdin ? "stdin" : file, je.text);
    return NULL;
}
