/*
 * The example native plugin (handler kind "native"), built against
 * include/actiond/plugin.h alone, with hidden visibility: its only exported
 * symbol is act_plugin_entry.
 *
 *   {"kind": "native", "path": "plugins/native-example.so",
 *    "options": {"greeting": "hello"}}
 *
 * run() answers {"ok": true, "plugin": "example", "attempt": N,
 * "greeting": "<option>" (when set), "echo": <input>} and fails with a
 * message when the input object has "fail": true (permanently when it also
 * has "permanent": true); with "stall": true it sleeps 1.5 s before answering,
 * ignoring its timeout, to stand in for a stuck handler (the engine's lease
 * tests use it).  It needs no JSON library: the input arrives as
 * JSON text, and a tiny scanner reads the top-level members it cares about.
 * The per-action state is immutable after init(), so concurrent runs are safe.
 */
#include <actiond/plugin.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct example_state {
    const struct act_host_api *api;
    char *greeting_json; /* the greeting as a JSON string literal, or NULL */
};

/* ---- a minimal scanner for the top level of a JSON object ---- */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Skip a string starting at the quote; returns the byte after it or NULL. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* Skip one value (the input is valid JSON: the host produced it). */
static const char *skip_value(const char *p, const char *end)
{
    int depth = 0;

    do {
        p = skip_ws(p, end);
        if (p >= end)
            return NULL;
        if (*p == '"') {
            if (!(p = skip_string(p, end)))
                return NULL;
            continue;
        }
        if (*p == '{' || *p == '[')
            depth++;
        else if (*p == '}' || *p == ']')
            depth--;
        else if (depth == 0) { /* scalar at top level: up to a delimiter */
            while (p < end && *p != ',' && *p != '}' && *p != ']')
                p++;
            return p;
        }
        p++;
    } while (depth > 0);
    return p;
}

/* True when the top-level object has member `key` whose value is literally
 * `true`. */
static bool member_is_true(const char *json, size_t len, const char *key)
{
    const char *p = json, *end = json + len;
    size_t klen = strlen(key);

    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return false;
    for (p++;;) {
        const char *k, *kend;

        p = skip_ws(p, end);
        if (p >= end || *p != '"')
            return false;
        k = p + 1;
        if (!(kend = skip_string(p, end)))
            return false;
        p = skip_ws(kend, end);
        if (p >= end || *p++ != ':')
            return false;
        p = skip_ws(p, end);
        if ((size_t)(kend - 1 - k) == klen && memcmp(k, key, klen) == 0)
            return (size_t)(end - p) >= 4 && memcmp(p, "true", 4) == 0;
        if (!(p = skip_value(p, end)))
            return false;
        p = skip_ws(p, end);
        if (p >= end || *p++ != ',')
            return false;
    }
}

/* ---- the plugin ---- */

/* Quote `s` as a JSON string with api->alloc; NULL on allocation failure. */
static char *json_quote(const struct act_host_api *api, const char *s)
{
    size_t n = strlen(s);
    char *out = api->alloc(n * 6 + 3), *o = out;

    if (!out)
        return NULL;
    *o++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *o++ = '\\';
            *o++ = (char)*c;
        } else if (*c < 0x20) {
            o += snprintf(o, 7, "\\u%04x", *c);
        } else {
            *o++ = (char)*c;
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

static int example_init(const struct act_host_api *api, const struct act_kv *opt, size_t n_opt,
                        void **state)
{
    struct example_state *st = api->alloc(sizeof(*st));

    if (!st)
        return ACT_PLUGIN_ERROR;
    st->api = api;
    st->greeting_json = NULL;
    for (size_t i = 0; i < n_opt; i++) {
        if (strcmp(opt[i].key, "greeting") != 0) {
            api->log(ACT_PLUGIN_LOG_WARN, "example: unknown option '%s'", opt[i].key);
            api->free(st->greeting_json);
            api->free(st);
            return ACT_PLUGIN_ERROR;
        }
        api->free(st->greeting_json);
        if (!(st->greeting_json = json_quote(api, opt[i].value))) {
            api->free(st);
            return ACT_PLUGIN_ERROR;
        }
    }
    *state = st;
    return ACT_PLUGIN_OK;
}

static int example_run(void *state, const struct act_plugin_call *call,
                       struct act_plugin_result *res)
{
    const struct example_state *st = state;
    const char *greeting = st->greeting_json ? st->greeting_json : "";
    size_t cap;
    int n;

    if (member_is_true(call->input_json, call->input_len, "stall")) {
        struct timespec ts = {1, 500000000};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    if (member_is_true(call->input_json, call->input_len, "fail")) {
        res->permanent = member_is_true(call->input_json, call->input_len, "permanent");
        snprintf(res->error, sizeof(res->error), "example: failing on request (attempt %d)",
                 (int)call->attempt);
        return ACT_PLUGIN_ERROR;
    }
    cap = call->input_len + strlen(greeting) + 96;
    if (!(res->output_json = st->api->alloc(cap))) {
        snprintf(res->error, sizeof(res->error), "example: out of memory");
        return ACT_PLUGIN_ERROR;
    }
    n = snprintf(res->output_json, cap, "{\"ok\":true,\"plugin\":\"example\",\"attempt\":%d%s%s,"
                 "\"echo\":%s}",
                 (int)call->attempt, st->greeting_json ? ",\"greeting\":" : "", greeting,
                 call->input_json);
    res->output_len = n > 0 ? (size_t)n : 0;
    return ACT_PLUGIN_OK;
}

static void example_fini(void *state)
{
    struct example_state *st = state;

    if (!st)
        return;
    st->api->free(st->greeting_json);
    st->api->free(st);
}

static const struct act_plugin example_plugin = {
    .abi_major = ACT_PLUGIN_ABI_MAJOR,
    .abi_minor = ACT_PLUGIN_ABI_MINOR,
    .size = sizeof(struct act_plugin),
    .name = "example",
    .version = "1.0.0",
    .init = example_init,
    .run = example_run,
    .fini = example_fini,
};

ACT_PLUGIN_EXPORT const struct act_plugin *act_plugin_entry(void)
{
    return &example_plugin;
}
