/*
 * Service routes: /livez, /readyz, /metrics, /openapi.json, /v1/handlers.
 *
 * /livez answers as long as the HTTP threads run; /readyz asks the engine
 * (store open, intake accepted) so a load balancer stops sending during
 * start-up and shutdown.  /metrics is the engine's Prometheus text followed
 * by this layer's HTTP counters (api_stats.c); the two sets never share a
 * metric name.  /openapi.json serves the document loaded at start.
 */
#include "api/api_internal.h"

#include "base/alloc.h"
#include "handler/handler.h"

#include <string.h>

static void on_livez(struct act_api_req *req, struct act_api_resp *resp)
{
    (void)req;
    act_api_reply_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

static void on_readyz(struct act_api_req *req, struct act_api_resp *resp)
{
    if (!act_engine_ready(req->engine)) {
        act_api_reply_problem(resp, 503, NULL, NULL,
                              "not ready: the store is not open or intake is stopped");
        return;
    }
    act_api_reply_json(resp, 200, json_pack("{s:s}", "status", "ready"));
}

static void on_metrics(struct act_api_req *req, struct act_api_resp *resp)
{
    char *engine = act_engine_prometheus(req->engine);
    char *http = act_api_stats_prometheus(req->api->stats);
    size_t elen = engine ? strlen(engine) : 0, hlen = strlen(http);
    char *text = act_xmalloc(elen + hlen + 2);
    size_t n = 0;

    if (elen) {
        memcpy(text, engine, elen);
        n = elen;
        if (text[n - 1] != '\n')
            text[n++] = '\n';
    }
    memcpy(text + n, http, hlen);
    n += hlen;
    text[n] = '\0';
    act_free(engine);
    act_free(http);
    act_api_reply_json(resp, 200, NULL);
    resp->text = text;
    resp->text_len = n;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static void on_openapi(struct act_api_req *req, struct act_api_resp *resp)
{
    const struct act_api *api = req->api;

    act_api_reply_json(resp, 200, NULL);
    resp->text = act_xmalloc(api->openapi_len + 1);
    memcpy(resp->text, api->openapi, api->openapi_len);
    resp->text[api->openapi_len] = '\0';
    resp->text_len = api->openapi_len;
    resp->content_type = "application/json";
}

static void on_handlers(struct act_api_req *req, struct act_api_resp *resp)
{
    (void)req;
    act_api_reply_json(resp, 200, act_handler_describe());
}

const struct act_api_route act_api_service_routes[] = {
    {"GET", "/livez", on_livez, 0},          {"GET", "/readyz", on_readyz, 0},
    {"GET", "/metrics", on_metrics, 0},      {"GET", "/openapi.json", on_openapi, 0},
    {"GET", "/v1/handlers", on_handlers, 0},
};
const size_t act_api_n_service_routes =
    sizeof(act_api_service_routes) / sizeof(act_api_service_routes[0]);
