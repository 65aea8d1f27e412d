/*
 * The HTTP front end: libmicrohttpd in thread-pool mode (never the
 * single-thread epoll mode, which stalls at >= 256 connections), a router
 * and one file per resource (api_actions.c, api_events.c, ...).  Every 4xx
 * and 5xx body is application/problem+json naming the field at fault.
 */
#ifndef ACT_API_API_H
#define ACT_API_API_H

#include "base/err.h"
#include "engine/engine.h"

#include <stddef.h>
#include <stdint.h>

struct act_api_conf {
    const char *host;          /* "127.0.0.1" */
    int port;                  /* 0: pick a free port (read it back with act_api_port) */
    int threads;               /* MHD thread pool size; 0: default */
    size_t max_body_bytes;     /* 413 above this; 0: default 1 MiB */
    size_t max_batch_events;   /* 413 above this many events in one request; 0: 1000 */
    int connection_limit;      /* 0: default 4096 */
};

struct act_api;

/* Start serving.  thread: init */
int act_api_start(struct act_engine *e, const struct act_api_conf *conf, struct act_api **out,
                  struct act_err *err);
/* The bound port.  thread: any */
int act_api_port(const struct act_api *api);
/* Stop accepting, finish in-flight requests, free.  thread: init */
void act_api_stop(struct act_api *api);

#endif
