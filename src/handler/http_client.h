/*
 * A blocking HTTP/1.1 client for handler kinds that call remote endpoints
 * (`plugin`, `platform`) and for the plugin registry's connectivity test.
 *
 * Built on one libcurl easy handle per calling thread, kept between calls
 * (reset, not freed), so a worker that calls the same endpoint again reuses
 * the kept-alive connection.  Every request: no redirects followed, no
 * proxy (environment variables ignored), http and https only, no signals,
 * a connect timeout and a total timeout, and a cap on the response body
 * (exceeding it aborts the transfer).  Errors say what happened in words an
 * operator can act on: "connect to 127.0.0.1:9 failed: Connection refused",
 * "timed out after 10000 ms", "connection to 127.0.0.1:8080 reset by peer",
 * "response over 1048576 bytes".
 */
#ifndef ACT_HANDLER_HTTP_CLIENT_H
#define ACT_HANDLER_HTTP_CLIENT_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACT_HTTP_MAX_RESPONSE_DEFAULT ((size_t)1 << 20)
#define ACT_HTTP_CONNECT_TIMEOUT_MAX_MS 10000
#define ACT_HTTP_TIMEOUT_MAX_MS (24LL * 3600 * 1000)

/* One request.  All members borrowed for the call. */
struct act_http_request {
    const char *method;          /* "GET", "POST", "PUT", "PATCH", "DELETE", ... */
    const char *url;             /* absolute http:// or https:// URL */
    const char *const *headers;  /* NULL-terminated "Name: value" lines, or NULL */
    const char *body;            /* NULL: no body (and no Content-Length) */
    size_t body_len;
    int64_t timeout_ms;          /* total, 1..ACT_HTTP_TIMEOUT_MAX_MS */
    int64_t connect_timeout_ms;  /* 0: min(timeout_ms, ACT_HTTP_CONNECT_TIMEOUT_MAX_MS) */
    size_t max_response;         /* body cap; 0: ACT_HTTP_MAX_RESPONSE_DEFAULT */
};

/* What came back.  Zero it before the call; release with
 * act_http_response_release. */
struct act_http_response {
    long status;                 /* HTTP status, 0 when no response was read */
    char *body;                  /* owned, NUL-terminated (also when empty) */
    size_t body_len;
    int64_t latency_us;          /* from the start of the call to its end */
    int64_t retry_after_ms;      /* the Retry-After header (seconds or date), -1: none */
    char content_type[128];      /* the Content-Type header, "" when none */
    char location[512];          /* the Location header of a 3xx, "" when none */
    bool reused;                 /* the request went over a kept-alive connection */
};

/* Perform one request and wait for the whole response.  Any HTTP status is
 * ACT_OK (res->status tells); errors are about the transport:
 *   ACT_EINVAL     bad arguments, a URL that does not parse or is not http(s);
 *   ACT_ETIMEDOUT  "timed out after N ms" (or "connect to H:P timed out after N ms");
 *   ACT_ETOOBIG    "response over N bytes";
 *   ACT_EIO        connection refused, reset, DNS, TLS, or a reply that is not HTTP;
 * with err->msg saying which.  res->latency_us is set in every case.
 * Uses (and keeps) this thread's handle; not reentrant from callbacks.
 * thread: any (each thread its own handle) */
int act_http_request(const struct act_http_request *req, struct act_http_response *res,
                     struct act_err *err);

/* Free the response's body.  thread: any */
void act_http_response_release(struct act_http_response *res);

/* Free this thread's handle and its connections now (threads that exit
 * release theirs automatically).  thread: any */
void act_http_thread_cleanup(void);

/* Check that `url` parses as an absolute http:// or https:// URL with a host;
 * ACT_EINVAL with a message otherwise.  thread: any */
int act_http_url_check(const char *url, struct act_err *err);

#endif
