/* api: the router (path parameters, 404 vs 405 with Allow, id validation)
 * and the HTTP counters rendered for /metrics. */
#include "api/api_internal.h"
#include "base/alloc.h"
#include "tap.h"

#include <string.h>

static void h_a(struct act_api_req *req, struct act_api_resp *resp)
{
    (void)req;
    resp->status = 200;
}

static const struct act_api_route routes[] = {
    {"GET", "/livez", h_a, 0},
    {"POST", "/v1/actions", h_a, ACT_API_ROUTE_JSON},
    {"GET", "/v1/actions", h_a, 0},
    {"GET", "/v1/actions/{id}", h_a, 0},
    {"PUT", "/v1/actions/{id}", h_a, ACT_API_ROUTE_JSON},
    {"DELETE", "/v1/actions/{id}", h_a, 0},
    {"POST", "/v1/actions/{id}/execute", h_a, ACT_API_ROUTE_JSON},
    {"GET", "/v1/dead-letters", h_a, 0},
    {"POST", "/v1/dead-letters/replay", h_a, 0},
    {"GET", "/v1/dead-letters/{id}", h_a, 0},
    {"POST", "/v1/dead-letters/{id}/replay", h_a, 0},
    {"GET", "/v1/things/{a}/sub/{b}", h_a, 0},
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static enum act_api_route_result find(const char *method, const char *path, size_t *idx,
                                      struct act_api_params *p, char *allow)
{
    return act_api_route_find(routes, N_ROUTES, method, path, idx, p, allow, 64);
}

static void test_match(void)
{
    struct act_api_params p;
    char allow[64];
    size_t idx = 999;

    is_int(find("GET", "/livez", &idx, &p, allow), ACT_API_ROUTE_FOUND, "literal route found");
    is_int(idx, 0, "index of /livez");
    is_int(p.n, 0, "no params on a literal route");

    is_int(find("POST", "/v1/actions", &idx, &p, allow), ACT_API_ROUTE_FOUND, "POST collection");
    is_int(idx, 1, "POST picks the POST route");
    is_int(find("GET", "/v1/actions", &idx, &p, allow), ACT_API_ROUTE_FOUND, "GET collection");
    is_int(idx, 2, "GET picks the GET route");

    is_int(find("GET", "/v1/actions/0190a0c4-1b2c-7d3e-8f40-123456789abc", &idx, &p, allow),
           ACT_API_ROUTE_FOUND, "item route found");
    is_int(idx, 3, "item route index");
    is_str(act_api_param(&p, "id"), "0190a0c4-1b2c-7d3e-8f40-123456789abc", "id captured");
    ok(act_api_param(&p, "nope") == NULL, "unknown param is NULL");

    is_int(find("POST", "/v1/actions/abc/execute", &idx, &p, allow), ACT_API_ROUTE_FOUND,
           "nested route found");
    is_int(idx, 6, "execute route index");
    is_str(act_api_param(&p, "id"), "abc", "id captured before a literal tail");

    is_int(find("GET", "/v1/things/x1/sub/y2", &idx, &p, allow), ACT_API_ROUTE_FOUND, "two params");
    is_int(p.n, 2, "two params captured");
    is_str(act_api_param(&p, "a"), "x1", "first param");
    is_str(act_api_param(&p, "b"), "y2", "second param");

    is_int(find("POST", "/v1/dead-letters/replay", &idx, &p, allow), ACT_API_ROUTE_FOUND,
           "bulk replay literal");
    is_int(idx, 8, "literal route wins for POST");
    is_int(find("GET", "/v1/dead-letters/replay", &idx, &p, allow), ACT_API_ROUTE_FOUND,
           "GET of an id that reads 'replay'");
    is_int(idx, 9, "GET goes to the {id} route");
    is_int(find("POST", "/v1/dead-letters/d1/replay", &idx, &p, allow), ACT_API_ROUTE_FOUND,
           "replay one");
    is_str(act_api_param(&p, "id"), "d1", "dead letter id");
}

static void test_not_found(void)
{
    struct act_api_params p;
    char allow[64];
    size_t idx;

    is_int(find("GET", "/v1/nothing", &idx, &p, allow), ACT_API_ROUTE_NO_PATH, "unknown path 404");
    is_int(find("GET", "/v1/actions/", &idx, &p, allow), ACT_API_ROUTE_NO_PATH,
           "trailing slash (empty id) is 404");
    is_int(find("GET", "/v1/actions/a/b", &idx, &p, allow), ACT_API_ROUTE_NO_PATH,
           "extra segment is 404");
    is_int(find("GET", "/v1/action", &idx, &p, allow), ACT_API_ROUTE_NO_PATH, "prefix is 404");
    is_int(find("GET", "/v1/actionsx", &idx, &p, allow), ACT_API_ROUTE_NO_PATH,
           "longer literal is 404");
    is_int(find("GET", "", &idx, &p, allow), ACT_API_ROUTE_NO_PATH, "empty path is 404");
    is_int(find("GET", "/", &idx, &p, allow), ACT_API_ROUTE_NO_PATH, "root is 404");
    is_int(find("GET", "//livez", &idx, &p, allow), ACT_API_ROUTE_NO_PATH, "double slash is 404");
    is_int(find("GET", "/v1/actions/a b", &idx, &p, allow), ACT_API_ROUTE_NO_PATH,
           "space in id is 404");
    is_int(find("GET", "/v1/actions/a\"b", &idx, &p, allow), ACT_API_ROUTE_NO_PATH,
           "quote in id is 404");

    char longid[200];
    memset(longid, 0, sizeof(longid));
    memcpy(longid, "/v1/actions/", 12);
    memset(longid + 12, 'a', 128);
    is_int(find("GET", longid, &idx, &p, allow), ACT_API_ROUTE_FOUND, "128-char id accepted");
    longid[12 + 128] = 'a';
    is_int(find("GET", longid, &idx, &p, allow), ACT_API_ROUTE_NO_PATH, "129-char id is 404");
}

static void test_method(void)
{
    struct act_api_params p;
    char allow[64];
    size_t idx;

    is_int(find("DELETE", "/v1/actions", &idx, &p, allow), ACT_API_ROUTE_NO_METHOD,
           "known path, wrong method: 405");
    is_str(allow, "POST, GET", "Allow lists the collection's methods");
    is_int(find("PATCH", "/v1/actions/x", &idx, &p, allow), ACT_API_ROUTE_NO_METHOD,
           "PATCH not in the table: 405");
    is_str(allow, "GET, PUT, DELETE", "Allow lists the item's methods");
    is_int(find("GET", "/v1/actions/x/execute", &idx, &p, allow), ACT_API_ROUTE_NO_METHOD,
           "GET on execute: 405");
    is_str(allow, "POST", "Allow: POST");
    is_int(find("POST", "/v1/dead-letters/d1", &idx, &p, allow), ACT_API_ROUTE_NO_METHOD,
           "POST on a dead letter: 405");
    is_str(allow, "GET", "Allow: GET");
    is_int(find("POST", "/livez", &idx, &p, allow), ACT_API_ROUTE_NO_METHOD, "POST /livez: 405");
    is_str(allow, "GET", "Allow: GET for livez");
    is_int(find("get", "/livez", &idx, &p, allow), ACT_API_ROUTE_NO_METHOD,
           "methods are case-sensitive (RFC 9110)");
}

static void test_ids(void)
{
    ok(act_api_id_valid("0190a0c4-1b2c-7d3e-8f40-123456789abc", 36), "uuid valid");
    ok(act_api_id_valid("evt:1@src+x=y,z!$*'()~._", strlen("evt:1@src+x=y,z!$*'()~._")),
       "safe punctuation valid");
    ok(!act_api_id_valid("", 0), "empty invalid");
    ok(!act_api_id_valid("a/b", 3), "slash invalid");
    ok(!act_api_id_valid("a%2f", 4), "percent invalid");
    ok(!act_api_id_valid("a?b", 3), "question mark invalid");
    ok(!act_api_id_valid("caf\xc3\xa9", 5), "non-ASCII invalid");
    ok(!act_api_id_valid("a\0b", 3), "NUL invalid");
}

static void test_stats(void)
{
    struct act_api_stats *s = act_api_stats_new(routes, N_ROUTES);
    char *text;

    act_api_stats_record(s, 1, 201, 300);
    act_api_stats_record(s, 1, 201, 2000000);
    act_api_stats_record(s, 1, 409, 100);
    act_api_stats_record(s, -1, 404, 50);
    act_api_stats_record(s, 0, 299, 50);
    text = act_api_stats_prometheus(s);
    ok(strstr(text, "# TYPE actiond_http_requests_total counter\n") != NULL, "counter TYPE line");
    ok(strstr(text, "actiond_http_requests_total{method=\"POST\",route=\"/v1/actions\","
                    "code=\"201\"} 2\n") != NULL,
       "201 counted twice for POST /v1/actions");
    ok(strstr(text, "actiond_http_requests_total{method=\"POST\",route=\"/v1/actions\","
                    "code=\"409\"} 1\n") != NULL,
       "409 counted once");
    ok(strstr(text, "route=\"unmatched\",code=\"404\"} 1\n") != NULL, "unmatched route counted");
    ok(strstr(text, "route=\"/livez\",code=\"other\"} 1\n") != NULL, "odd status is 'other'");
    ok(strstr(text, "actiond_http_request_duration_seconds_bucket{method=\"POST\","
                    "route=\"/v1/actions\",le=\"0.0005\"} 2\n") != NULL,
       "two requests within 0.5 ms (cumulative)");
    ok(strstr(text, "actiond_http_request_duration_seconds_bucket{method=\"POST\","
                    "route=\"/v1/actions\",le=\"+Inf\"} 3\n") != NULL,
       "+Inf bucket is the count");
    ok(strstr(text, "actiond_http_request_duration_seconds_count{method=\"POST\","
                    "route=\"/v1/actions\"} 3\n") != NULL,
       "count series");
    ok(strstr(text, "route=\"/v1/actions/{id}\"") == NULL, "idle routes are not rendered");
    act_free(text);
    act_api_stats_free(s);
}

int main(void)
{
    test_match();
    test_not_found();
    test_method();
    test_ids();
    test_stats();
    return done_testing();
}
