/* Error sink helpers: formatting into the fixed-size struct act_err. */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int act_err_set(struct act_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    err->code = code;
    err->field[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

int act_err_field(struct act_err *err, int code, const char *field, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

int act_err_prefix_field(struct act_err *err, const char *prefix)
{
    char tmp[sizeof(err->field)];
    size_t n;

    if (!err)
        return ACT_EINVAL;
    /* Build "prefix.field" by hand: truncation at the buffer end is fine. */
    n = strlen(prefix);
    if (n > sizeof(tmp) - 1)
        n = sizeof(tmp) - 1;
    memcpy(tmp, prefix, n);
    if (err->field[0] && n + 1 < sizeof(tmp)) {
        size_t m = strlen(err->field);
        tmp[n++] = '.';
        if (m > sizeof(tmp) - 1 - n)
            m = sizeof(tmp) - 1 - n;
        memcpy(tmp + n, err->field, m);
        n += m;
    }
    tmp[n] = '\0';
    memcpy(err->field, tmp, n + 1);
    return err->code;
}

void act_err_clear(struct act_err *err)
{
    if (!err)
        return;
    err->code = ACT_OK;
    err->field[0] = '\0';
    err->msg[0] = '\0';
}

const char *act_strerror(int code)
{
    switch (code) {
    case ACT_OK: return "ok";
    case ACT_ENOMEM: return "out of memory";
    case ACT_EINVAL: return "invalid input";
    case ACT_ENOTFOUND: return "not found";
    case ACT_ECONFLICT: return "conflict";
    case ACT_EIO: return "i/o error";
    case ACT_ETIMEDOUT: return "timed out";
    case ACT_EPLUGIN: return "handler failed";
    case ACT_EUNPROC: return "unprocessable";
    case ACT_ETOOBIG: return "too large";
    case ACT_EBUSY: return "not ready";
    case ACT_ESTATE: return "invalid state";
    }
    return "unknown error";
}

void act_bug_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "BUG at %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
