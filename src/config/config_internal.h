/*
 * Shared between config.c (the key table, value parsing, environment and
 * flags) and config_yaml.c (the YAML file walk).  Nothing outside
 * src/config/ includes this.
 */
#ifndef ACT_CONFIG_CONFIG_INTERNAL_H
#define ACT_CONFIG_CONFIG_INTERNAL_H

#include "base/err.h"
#include "config/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum act_conf_type {
    ACT_CONF_T_STR,    /* char[] field; min = minimum length (1: required) */
    ACT_CONF_T_INT,    /* int field, bounds min..max */
    ACT_CONF_T_I64,    /* int64_t field, bounds min..max */
    ACT_CONF_T_SIZE,   /* size_t field, bounds min..max */
    ACT_CONF_T_SYNC,   /* bool sync_full: "full" | "normal" */
    ACT_CONF_T_LEVEL,  /* int log_level: debug|info|warn|error|off */
    ACT_CONF_T_FORMAT, /* int log_format: logfmt|json */
    ACT_CONF_T_LISTEN, /* listen_host + listen_port: HOST:PORT, :PORT, [v6]:PORT */
    ACT_CONF_T_URL,    /* char[] field: "" or an http:// / https:// URL */
    ACT_CONF_T_JSON,   /* char[] field: JSON object text; in YAML a mapping */
};

/* One configuration key: the single source of its name, sources, default,
 * bounds and documentation. */
struct act_conf_key {
    const char *name; /* YAML path, dots for nesting: "engine.workers" */
    const char *env;  /* "ACTIOND_ENGINE_WORKERS" */
    const char *flag; /* "--workers", or NULL when the key has no flag */
    const char *arg;  /* metavariable for the usage text: "N", "DIR" */
    enum act_conf_type type;
    size_t off, size; /* offset and size of the field in struct act_config */
    int64_t min, max;
    const char *def;  /* default, in the same text form as the sources */
    const char *doc;  /* one line for --help */
};

/* The key named `name` (dotted), or NULL.  thread: any */
const struct act_conf_key *act_conf_key_find(const char *name);

/* True when some key lives under the section `name` ("engine").
 * thread: any */
bool act_conf_is_section(const char *name);

/* Parse `val` for key `k` and store it in cfg.  `src` names where the value
 * came from ("--workers", "ACTIOND_ENGINE_WORKERS", "file.yaml:3:12") and is
 * quoted in the error, whose field is the key name.  Returns 0 or
 * ACT_EINVAL.  thread: any (cfg is caller-owned) */
int act_conf_key_apply(struct act_config *cfg, const struct act_conf_key *k, const char *val,
                       const char *src, struct act_err *err);

/* Apply every key of the YAML file at `path` to cfg.  An empty file (or one
 * holding only comments) sets nothing.  Syntax errors, unknown keys and bad
 * values are reported with path:line:col.  Returns 0 or ACT_EINVAL.
 * thread: init */
int act_conf_yaml_load(struct act_config *cfg, const char *path, struct act_err *err);

#endif
