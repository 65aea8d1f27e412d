/*
 * An HTTP event loop on libcurl's multi interface: one thread drives every
 * transfer submitted to it, so a thousand requests waiting on the network
 * cost a thousand easy handles, not a thousand threads.
 *
 * The loop is shared: kinds acquire it when a handler state opens and
 * release it when the state closes; the thread starts with the first
 * reference and stops with the last.  Its multi handle keeps a connection
 * cache (CURLMOPT_MAXCONNECTS), so requests to the same host reuse
 * kept-alive connections whoever submitted them.
 *
 * Per host (scheme://host:port of the URL) at most
 * ACT_HTTP_LOOP_MAX_HOST_CONNECTIONS transfers run; with HTTP/1.1 each
 * carries one connection, so this is the per-host in-flight cap.  The
 * transfers beyond it wait in the loop's own per-host queue, not inside
 * libcurl: libcurl 7.88 walks its pending list on every removal, which made
 * a backlog of thousands quadratic (47 % of the loop's time in
 * curl_multi_remove_handle at 2,500 deliveries/s).  A waiting transfer's
 * timeout runs from submit: it starts with what is left of timeout_ms.
 *
 * A transfer is a caller-owned struct act_http_xfer with a configured easy
 * handle.  submit() queues it under a lock and wakes the loop
 * (curl_multi_wakeup); the loop adds it to the multi handle and, when it
 * ends, removes it and calls on_done exactly once, on the loop thread.
 * cancel() ends every transfer of one owner (queued or running) with
 * CURLE_ABORTED_BY_CALLBACK and returns after their on_done calls.
 */
#ifndef ACT_HANDLER_HTTP_LOOP_H
#define ACT_HANDLER_HTTP_LOOP_H

#include "base/err.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACT_HTTP_LOOP_MAX_HOST_CONNECTIONS 64 /* per host: the running cap */
#define ACT_HTTP_LOOP_MAX_CONNECTS 256        /* idle connections kept alive */
#define ACT_HTTP_LOOP_EASY_POOL 1024          /* recycled easy handles kept */

struct act_http_loop;
struct act_http_xfer;
struct act_http_host;

/* A transfer ended: cc is its libcurl result (CURLE_ABORTED_BY_CALLBACK
 * when cancelled).  The easy handle is out of the multi handle, so the
 * callee may read its info, then free it and the xfer.  Runs on the loop
 * thread, except for a transfer cancelled before the loop picked it up,
 * which ends on the thread calling cancel() or release().  Must be quick
 * and must not call act_http_loop_release. */
typedef void act_http_xfer_done_fn(struct act_http_xfer *x, CURLcode cc);

/* One transfer, embedded in the caller's attempt state.  Fill easy, owner
 * and on_done; the rest belongs to the loop. */
struct act_http_xfer {
    CURL *easy;                    /* configured by the caller; never freed by the loop */
    const void *owner;             /* the cancel group (e.g. the handler state) */
    act_http_xfer_done_fn *on_done;
    int64_t timeout_ms;            /* > 0: total time from submit, queueing included
                                    * (the loop sets CURLOPT_TIMEOUT_MS to what is left
                                    * when the transfer starts); 0: the easy's own */
    bool waited_out;               /* set by the loop: timed out while waiting for the
                                    * host's cap, before it was sent at all */
    /* loop-private */
    struct act_http_xfer *prev, *next;
    struct act_http_host *host;
    int64_t submitted_us;
};

/* A reference to the shared loop, starting its thread when it is the
 * first; ACT_EIO when libcurl or the thread cannot start.  Pair with
 * act_http_loop_release.  thread: any */
int act_http_loop_acquire(struct act_http_loop **out, struct act_err *err);

/* Drop a reference; the last one cancels whatever is still queued or
 * running (each on_done is called), stops the thread and frees the loop.
 * Must not be called from the loop thread.  thread: any */
void act_http_loop_release(struct act_http_loop *l);

/* Hand a transfer to the loop; on_done follows exactly once.  Never fails.
 * The caller must hold a reference to the loop.  thread: any */
void act_http_loop_submit(struct act_http_loop *l, struct act_http_xfer *x);

/* End every transfer whose owner is `owner`, queued or running, with
 * CURLE_ABORTED_BY_CALLBACK, and return after their on_done calls.
 * Transfers of other owners are untouched.  Called from the loop thread
 * (inside an on_done) it runs inline.  thread: any */
void act_http_loop_cancel(struct act_http_loop *l, const void *owner);

/* An easy handle for a transfer on this loop: a recycled one (reset to
 * libcurl's defaults) or a new one; NULL when libcurl cannot make one.
 * Recycling spares each transfer libcurl's handle set-up and its buffers,
 * which were a third of the loop thread's time as cross-thread frees.
 * thread: any */
CURL *act_http_loop_easy_get(struct act_http_loop *l);

/* Give a handle back for reuse (or free it when the pool is full); NULL is
 * ignored.  The handle must be out of the multi handle (as it is in
 * on_done).  thread: any */
void act_http_loop_easy_put(struct act_http_loop *l, CURL *easy);

/* Number of transfers submitted and not yet done (for tests and stats).
 * thread: any */
size_t act_http_loop_in_flight(struct act_http_loop *l);

#endif
