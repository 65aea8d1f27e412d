/*
 * Logging: one record per line, written with a single write(2) so threads
 * never interleave.  Format is logfmt (`ts=... level=warn mod=match msg="..."`)
 * or JSON, chosen once at start-up.  The level is checked before the
 * arguments are evaluated.  Never log secrets or URL queries.
 *
 * Each .c that logs defines ACT_LOG_MODULE after its includes.
 */
#ifndef ACT_BASE_LOG_H
#define ACT_BASE_LOG_H

#include "base/err.h"

enum act_log_level { ACT_LOG_DEBUG = 0, ACT_LOG_INFO = 1, ACT_LOG_WARN = 2, ACT_LOG_ERROR = 3,
                     ACT_LOG_OFF = 4 };
enum act_log_format { ACT_LOG_LOGFMT = 0, ACT_LOG_JSON = 1 };

extern int act_log_min_level;

/* Configure the sink.  fd is usually 2.  thread: init */
void act_log_setup(int fd, enum act_log_level level, enum act_log_format format);

/* Parse "debug|info|warn|error|off" / "logfmt|json"; -1 on unknown.  thread: any */
int act_log_level_parse(const char *s);
int act_log_format_parse(const char *s);

/* Write one record; `kv` is an optional pre-formatted logfmt tail of extra
 * fields (`action=x exec=y`), may be NULL.  thread: any */
void act_log_write(int level, const char *mod, const char *kv, const char *fmt, ...)
    ACT_PRINTF(4, 5);

#define act_log_at(lvl, ...)                                                                       \
    do {                                                                                           \
        if ((lvl) >= act_log_min_level)                                                            \
            act_log_write((lvl), ACT_LOG_MODULE, NULL, __VA_ARGS__);                               \
    } while (0)
#define act_log_debug(...) act_log_at(ACT_LOG_DEBUG, __VA_ARGS__)
#define act_log_info(...) act_log_at(ACT_LOG_INFO, __VA_ARGS__)
#define act_log_warn(...) act_log_at(ACT_LOG_WARN, __VA_ARGS__)
#define act_log_error(...) act_log_at(ACT_LOG_ERROR, __VA_ARGS__)

#endif
