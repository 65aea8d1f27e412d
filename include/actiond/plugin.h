/*
 * actiond native plugin ABI (handler kind "native").
 *
 * A native plugin is a shared object that exports exactly one symbol,
 * act_plugin_entry(), returning a description of the plugin (struct
 * act_plugin).  The host (actiond) loads it with dlopen(RTLD_NOW|RTLD_LOCAL)
 * once per file, checks the ABI version, then for every action that names the
 * file calls init() once with the action's options, run() for every attempt
 * (possibly from several worker threads at once) and fini() when the action
 * is changed or deleted.  The object is never dlclose'd while the process runs.
 *
 * A plugin links nothing from the host: every host service arrives through
 * struct act_host_api, and data is exchanged as JSON *text* (UTF-8) so a
 * plugin needs no JSON library.  Build it against this header alone, with
 * -fvisibility=hidden, and mark the entry point with ACT_PLUGIN_EXPORT:
 *
 *     static const struct act_plugin plugin = {
 *         .abi_major = ACT_PLUGIN_ABI_MAJOR, .abi_minor = ACT_PLUGIN_ABI_MINOR,
 *         .size = sizeof(struct act_plugin),
 *         .name = "example", .version = "1.0.0",
 *         .init = my_init, .run = my_run, .fini = my_fini,
 *     };
 *     ACT_PLUGIN_EXPORT const struct act_plugin *act_plugin_entry(void) { return &plugin; }
 *
 * Versioning (STYLE.md 2.8): a breaking change bumps ACT_PLUGIN_ABI_MAJOR; an
 * appended struct member or host function bumps ACT_PLUGIN_ABI_MINOR.  The
 * host loads a plugin only when its abi_major equals the host's and its
 * abi_minor is not higher than the host's; a refusal names both versions.
 * Structs only grow at the end and carry their size, so either side reads a
 * member added after 1.0 only after ACT_HAS_MEMBER() says the other side
 * knows it.
 */
#ifndef ACTIOND_PLUGIN_H
#define ACTIOND_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ACT_PLUGIN_ABI_MAJOR 1 /* breaking change: bump major */
#define ACT_PLUGIN_ABI_MINOR 0 /* appended member or function: bump minor */

/* The exported symbol's name, for dlsym(). */
#define ACT_PLUGIN_ENTRY_SYMBOL "act_plugin_entry"

#if defined(__GNUC__)
#define ACT_PLUGIN_EXPORT __attribute__((visibility("default")))
#define ACT_PLUGIN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ACT_PLUGIN_EXPORT
#define ACT_PLUGIN_PRINTF(f, a)
#endif

/* True when the struct behind `p` (whose first-level member `size` holds the
 * size the other side built it with) contains member `m` of type T. */
#define ACT_HAS_MEMBER(p, T, m) ((p)->size >= offsetof(T, m) + sizeof(((T *)0)->m))

/* Log levels for act_host_api.log (the same numbers as the host's). */
enum act_plugin_log_level {
    ACT_PLUGIN_LOG_DEBUG = 0,
    ACT_PLUGIN_LOG_INFO = 1,
    ACT_PLUGIN_LOG_WARN = 2,
    ACT_PLUGIN_LOG_ERROR = 3,
};

/* Return values of init() and run(): 0 is success, any negative value a
 * failure.  ACT_PLUGIN_ERROR is the conventional one. */
enum act_plugin_status { ACT_PLUGIN_OK = 0, ACT_PLUGIN_ERROR = -1 };

/* One option of the action's handler spec ("options": {"k": "v"}), borrowed
 * for the duration of init(): copy what you keep. */
struct act_kv {
    const char *key;
    const char *value;
};

/* Host services, host -> plugin.  Valid for the life of the process; keep the
 * pointer init() receives.  Every function is safe from any thread. */
struct act_host_api {
    uint32_t size;      /* sizeof(struct act_host_api) as the host built it */
    uint32_t abi_minor; /* the host's ACT_PLUGIN_ABI_MINOR */
    /* Allocate n bytes; NULL on failure.  Memory handed to the host (the
     * result's output_json) must come from here. */
    void *(*alloc)(size_t n);
    /* Free memory from alloc(); NULL is allowed. */
    void (*free)(void *p);
    /* Write one log record (printf-style, one line) at an enum
     * act_plugin_log_level.  Never log secrets. */
    void (*log)(int level, const char *fmt, ...) ACT_PLUGIN_PRINTF(2, 3);
};

/* One attempt, host -> plugin.  Everything is borrowed for the call. */
struct act_plugin_call {
    uint32_t size;            /* sizeof(struct act_plugin_call) as the host built it */
    int32_t attempt;          /* 1 for the first attempt */
    const char *execution_id; /* stable across attempts: an idempotency key */
    const char *action_name;
    const char *input_json;   /* compact JSON text of the input, NUL-terminated */
    size_t input_len;         /* strlen(input_json) */
    const char *event_json;   /* the triggering event, or NULL (manual execution) */
    size_t event_len;         /* 0 when event_json is NULL */
    const char *config_json;  /* the action's config object as JSON text */
    size_t config_len;
    int64_t timeout_ms;       /* return within this; the host cannot interrupt run() */
};

/* What the attempt produced, plugin -> host.  The host zeroes it, then sets
 * `size`, retry_after_ms = -1 and an empty error before calling run(). */
struct act_plugin_result {
    uint32_t size;            /* sizeof(struct act_plugin_result) as the host built it */
    int32_t permanent;        /* on failure: non-zero means retrying cannot help */
    /* On success: the output as JSON text (any JSON value), allocated with
     * api->alloc; the host takes it and frees it with api->free.  NULL means
     * a null output.  May also be set on failure: the host frees it. */
    char *output_json;
    size_t output_len;        /* length of output_json; 0: the host uses strlen */
    int64_t retry_after_ms;   /* on failure: >= 0 asks for this retry delay; -1: policy */
    char error[512];          /* on failure: a one-line message, NUL-terminated */
};

/* Called once per action that uses the plugin, with the handler spec's
 * options (n_opt of them, opt may be NULL when n_opt is 0).  Store a
 * per-action state in *state (it is passed to run and fini).  Return 0, or a
 * negative value to refuse the options (the action then fails to open; log
 * the reason with api->log).  thread: any, never concurrently with run() or
 * fini() of the same state. */
typedef int act_plugin_init_fn(const struct act_host_api *api, const struct act_kv *opt,
                               size_t n_opt, void **state);

/* Run one attempt.  Return 0 with res->output_json set (or NULL for a null
 * output), or a negative value with res->error filled.  Called concurrently
 * from several worker threads with the same state: make it thread-safe.
 * Must return in call->timeout_ms; a late success is recorded as a timeout. */
typedef int act_plugin_run_fn(void *state, const struct act_plugin_call *call,
                              struct act_plugin_result *res);

/* Free the state from init().  No run() is in progress.  thread: any */
typedef void act_plugin_fini_fn(void *state);

/* The plugin's description, plugin -> host.  Static storage: the host reads
 * it for as long as the object stays loaded. */
struct act_plugin {
    uint32_t abi_major;  /* ACT_PLUGIN_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;  /* ACT_PLUGIN_ABI_MINOR the plugin was built with */
    uint32_t size;       /* sizeof(struct act_plugin) */
    const char *name;    /* short identifier, [a-z0-9_-] */
    const char *version; /* the plugin's own version, e.g. "1.2.0" */
    act_plugin_init_fn *init;
    act_plugin_run_fn *run;
    act_plugin_fini_fn *fini;
};

/* The only symbol a plugin exports.  Returns a pointer to static data; the
 * host calls it once, right after loading.  thread: any */
ACT_PLUGIN_EXPORT const struct act_plugin *act_plugin_entry(void);

#ifdef __cplusplus
}
#endif

#endif
