/*
 * The shared blocking HTTP client (http_client.h) on libcurl's easy API.
 *
 * One easy handle per thread, created on first use and stored in a
 * pthread key whose destructor frees it when the thread exits.  Between
 * requests the handle is curl_easy_reset(), which clears every option but
 * keeps the connection cache, so keep-alive connections to a plugin are
 * reused by the next call on the same worker.  curl_global_init runs once
 * (pthread_once) before the first handle exists.
 *
 * Every request sets the same safety options: CURLOPT_NOSIGNAL (worker
 * threads must not get SIGALRM), no redirects, no proxy (CURLOPT_PROXY ""
 * overrides the environment), http/https only, and an "Expect:" header so a
 * large body is sent without waiting for 100-continue.  The response body
 * goes into a buffer bounded by the request's cap; the write callback
 * returns 0 past it, which aborts the transfer with CURLE_WRITE_ERROR (and
 * CURLOPT_MAXFILESIZE refuses an announced oversized body up front).
 *
 * The error texts are built from what curl reports (CURLINFO_OS_ERRNO, the
 * connect time) rather than curl's own phrases, so they stay stable across
 * libcurl versions and name the host and port involved.
 */
#include "handler/http_client.h"

#include "base/alloc.h"
#include "base/time.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static pthread_key_t handle_key;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void free_handle(void *h)
{
    curl_easy_cleanup(h);
}

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (pthread_key_create(&handle_key, free_handle) != 0)
        ACT_BUG("pthread_key_create failed");
}

/* This thread's handle, reset for a new request; NULL when libcurl cannot
 * be initialised. */
static CURL *thread_handle(void)
{
    CURL *h;

    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return NULL;
    h = pthread_getspecific(handle_key);
    if (h) {
        curl_easy_reset(h);
        return h;
    }
    h = curl_easy_init();
    if (h && pthread_setspecific(handle_key, h) != 0) {
        curl_easy_cleanup(h);
        h = NULL;
    }
    return h;
}

void act_http_thread_cleanup(void)
{
    CURL *h;

    pthread_once(&global_once, global_init);
    h = pthread_getspecific(handle_key);
    if (h) {
        pthread_setspecific(handle_key, NULL);
        curl_easy_cleanup(h);
    }
}

/* ---- URLs ---- */

int act_http_url_check(const char *url, struct act_err *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = ACT_OK;

    if (!u)
        return act_err_set(err, ACT_ENOMEM, "out of memory parsing a URL");
    if (!url || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        rc = act_err_set(err, ACT_EINVAL, "URL does not parse");
    else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
             (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0))
        rc = act_err_set(err, ACT_EINVAL, "URL scheme must be http or https");
    else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0])
        rc = act_err_set(err, ACT_EINVAL, "URL has no host");
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* "host:port" of a URL for messages ("?" when it does not parse).  The
 * path and query are left out on purpose: they may carry tokens. */
static void host_port(const char *url, char *buf, size_t cap)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL;

    snprintf(buf, cap, "?");
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
        snprintf(buf, cap, "%s:%s", host, port);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
}

/* ---- callbacks ---- */

struct sink {
    char *p;
    size_t len, cap, max;
    bool over;
    bool has_retry_after;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb;

    if (n > s->max - s->len) {
        s->over = true;
        return 0; /* not n: curl aborts with CURLE_WRITE_ERROR */
    }
    if (s->cap - s->len < n + 1) {
        size_t cap = s->cap ? s->cap : 4096;

        while (cap - s->len < n + 1)
            cap *= 2;
        if (cap > s->max + 1)
            cap = s->max + 1;
        s->p = act_xrealloc(s->p, cap);
        s->cap = cap;
    }
    memcpy(s->p + s->len, data, n);
    s->len += n;
    s->p[s->len] = '\0';
    return n;
}

/* Notes whether the final response has a Retry-After header; the value is
 * parsed by libcurl (CURLINFO_RETRY_AFTER), which knows both forms. */
static size_t on_header(char *line, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb;

    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0)
        s->has_retry_after = false; /* a new (final or interim) response */
    else if (n >= 12 && strncasecmp(line, "retry-after:", 12) == 0)
        s->has_retry_after = true;
    return n;
}

/* ---- one request ---- */

static struct curl_slist *build_headers(const struct act_http_request *req)
{
    struct curl_slist *list = NULL, *next;

    for (size_t i = 0; req->headers && req->headers[i]; i++) {
        if (!(next = curl_slist_append(list, req->headers[i])))
            ACT_BUG("curl_slist_append: out of memory");
        list = next;
    }
    if (!(next = curl_slist_append(list, "Expect:")))
        ACT_BUG("curl_slist_append: out of memory");
    return next;
}

static int64_t connect_ms(const struct act_http_request *req)
{
    if (req->connect_timeout_ms > 0)
        return req->connect_timeout_ms < req->timeout_ms ? req->connect_timeout_ms
                                                         : req->timeout_ms;
    return req->timeout_ms < ACT_HTTP_CONNECT_TIMEOUT_MAX_MS ? req->timeout_ms
                                                             : ACT_HTTP_CONNECT_TIMEOUT_MAX_MS;
}

static void set_options(CURL *h, const struct act_http_request *req, struct curl_slist *hdrs,
                        struct sink *sink, char *errbuf)
{
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms(req));
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)sink->max);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, sink);
    if (req->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
    } else if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    if (strcmp(req->method, req->body ? "POST" : "GET") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
}

/* Turn a failed transfer into a status code and a message. */
static int transfer_error(CURL *h, CURLcode cc, const struct act_http_request *req,
                          const struct sink *sink, const char *errbuf, struct act_err *err)
{
    char hp[300];
    long os_errno = 0;
    curl_off_t connect_us = 0;
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);

    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
    host_port(req->url, hp, sizeof(hp));
    switch (cc) {
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        if (sink->over || cc == CURLE_FILESIZE_EXCEEDED)
            return act_err_set(err, ACT_ETOOBIG, "response over %zu bytes", sink->max);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        if (connect_us == 0 && connect_ms(req) < req->timeout_ms)
            return act_err_set(err, ACT_ETIMEDOUT, "connect to %s timed out after %lld ms", hp,
                               (long long)connect_ms(req));
        return act_err_set(err, ACT_ETIMEDOUT, "timed out after %lld ms",
                           (long long)req->timeout_ms);
    case CURLE_COULDNT_CONNECT:
        return act_err_set(err, ACT_EIO, "connect to %s failed: %s", hp,
                           os_errno ? strerror((int)os_errno) : why);
    case CURLE_COULDNT_RESOLVE_HOST:
        return act_err_set(err, ACT_EIO, "cannot resolve the host of %s", hp);
    case CURLE_URL_MALFORMAT:
        return act_err_set(err, ACT_EINVAL, "URL does not parse");
    case CURLE_UNSUPPORTED_PROTOCOL:
        if (connect_us == 0)
            return act_err_set(err, ACT_EINVAL, "URL scheme must be http or https");
        return act_err_set(err, ACT_EIO, "invalid HTTP response from %s: %s", hp, why);
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
        return act_err_set(err, ACT_EIO, "invalid HTTP response from %s: %s", hp, why);
    case CURLE_GOT_NOTHING:
        return act_err_set(err, ACT_EIO, "connection to %s closed without a response", hp);
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
        if (os_errno == ECONNRESET || os_errno == EPIPE)
            return act_err_set(err, ACT_EIO, "connection to %s reset by peer", hp);
        return act_err_set(err, ACT_EIO, "connection to %s failed: %s", hp, why);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return act_err_set(err, ACT_EIO, "TLS with %s failed: %s", hp, why);
    default:
        break;
    }
    return act_err_set(err, ACT_EIO, "request to %s failed: %s", hp, why);
}

static void collect_info(CURL *h, const struct sink *sink, struct act_http_response *res)
{
    char *ctype = NULL, *location = NULL;
    curl_off_t retry_after = 0;
    long n_connects = -1;

    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype)
        snprintf(res->content_type, sizeof(res->content_type), "%s", ctype);
    if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location)
        snprintf(res->location, sizeof(res->location), "%s", location);
    if (sink->has_retry_after &&
        curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after >= 0)
        res->retry_after_ms = retry_after > INT64_MAX / 1000 ? INT64_MAX : retry_after * 1000;
    if (curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &n_connects) == CURLE_OK)
        res->reused = n_connects == 0;
}

int act_http_request(const struct act_http_request *req, struct act_http_response *res,
                     struct act_err *err)
{
    int64_t t0 = act_time_mono_us();
    char errbuf[CURL_ERROR_SIZE] = "";
    struct sink sink = {0};
    struct curl_slist *hdrs;
    CURLcode cc;
    CURL *h;
    int rc = ACT_OK;

    memset(res, 0, sizeof(*res));
    res->retry_after_ms = -1;
    if (!req->method || !req->method[0] || !req->url || req->timeout_ms <= 0 ||
        req->timeout_ms > ACT_HTTP_TIMEOUT_MAX_MS)
        return act_err_set(err, ACT_EINVAL, "bad HTTP request arguments");
    if (!(h = thread_handle()))
        return act_err_set(err, ACT_EIO, "libcurl could not be initialised");
    sink.max = req->max_response ? req->max_response : ACT_HTTP_MAX_RESPONSE_DEFAULT;
    hdrs = build_headers(req);
    set_options(h, req, hdrs, &sink, errbuf);
    cc = curl_easy_perform(h);
    if (cc == CURLE_OK)
        collect_info(h, &sink, res);
    else
        rc = transfer_error(h, cc, req, &sink, errbuf, err);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);
    if (rc == ACT_OK) {
        res->body = sink.p ? sink.p : act_xstrdup("");
        res->body_len = sink.len;
    } else {
        act_free(sink.p);
    }
    res->latency_us = act_time_mono_us() - t0;
    return rc;
}

void act_http_response_release(struct act_http_response *res)
{
    if (!res)
        return;
    act_free(res->body);
    res->body = NULL;
    res->body_len = 0;
}
