/*
 * The HTTP handler kinds, `plugin` (a remote plugin's action endpoint,
 * signed with Standard Webhooks) and `platform` (a route of the platform's
 * own API, from a method and a path template).  The kinds themselves are
 * reached through handler.h (act_handler_find("plugin")); this header holds
 * their process-wide knobs and constants for the daemon, the plugin
 * registry and the tests.  docs/internals/http-handlers.md describes both.
 */
#ifndef ACT_HANDLER_HANDLER_HTTP_H
#define ACT_HANDLER_HANDLER_HTTP_H

#include <stdint.h>

/* The User-Agent of every request the HTTP kinds make. */
#define ACT_HTTP_USER_AGENT "actiond/0.1"

/* handler.timeout_ms: default and bounds (the action's own timeout still
 * applies: an attempt gives up at the smaller of the two). */
#define ACT_HTTP_KIND_TIMEOUT_DEFAULT_MS 10000
#define ACT_HTTP_KIND_TIMEOUT_MAX_MS 600000

/* handler.max_response_bytes: the cap on a response body; default 1 MiB. */
#define ACT_HTTP_KIND_RESPONSE_MAX ((int64_t)64 << 20)

/* Set the base URL that `platform` handlers without their own `base_url`
 * call (config platform.base_url, env ACTIOND_PLATFORM_BASE_URL), e.g.
 * "http://127.0.0.1:5173"; trailing slashes are dropped.  NULL or "" clears
 * it (such handlers then fail permanently: "no platform base URL
 * configured").  Returns ACT_OK, or ACT_EINVAL (and keeps the old value)
 * when the URL is not http(s) or has a query or fragment.  Takes effect for
 * the next attempt.  thread: any */
int act_platform_set_base_url(const char *url);

/* A copy of the current default base URL (heap, free with act_free), or
 * NULL when none is set.  thread: any */
char *act_platform_base_url(void);

#endif
