/*
 * Error codes and the caller-owned error sink.
 *
 * Every fallible function returns an int: ACT_OK (0) or a negative
 * enum act_status.  It may also fill a caller-owned struct act_err with a
 * message (git style: lowercase, no period, the failure first) and, for
 * input validation, the dotted name of the offending field, which the HTTP
 * layer turns into the `field` member of an application/problem+json body.
 * struct act_err never allocates, so it is usable during OOM.  `err` may be
 * NULL everywhere; it is left untouched on success.
 */
#ifndef ACT_BASE_ERR_H
#define ACT_BASE_ERR_H

#include <stddef.h>

#if defined(__GNUC__)
#define ACT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ACT_MUST_CHECK __attribute__((warn_unused_result))
#define ACT_NORETURN __attribute__((noreturn))
#else
#define ACT_PRINTF(f, a)
#define ACT_MUST_CHECK
#define ACT_NORETURN
#endif

enum act_status {
    ACT_OK = 0,
    ACT_ENOMEM = -1,
    ACT_EINVAL = -2,     /* malformed or invalid input (HTTP 400) */
    ACT_ENOTFOUND = -3,  /* HTTP 404 */
    ACT_ECONFLICT = -4,  /* HTTP 409 */
    ACT_EIO = -5,        /* store or OS failure (HTTP 500) */
    ACT_ETIMEDOUT = -6,
    ACT_EPLUGIN = -7,    /* a handler or plugin failed */
    ACT_EUNPROC = -8,    /* well-formed but semantically invalid (HTTP 422) */
    ACT_ETOOBIG = -9,    /* over a configured size or count limit (HTTP 413) */
    ACT_EBUSY = -10,     /* not ready / shutting down (HTTP 503) */
    ACT_ESTATE = -11,    /* operation not allowed in the current state (HTTP 409) */
};

struct act_err {
    int code;
    char field[96]; /* dotted path of the offending input field, or "" */
    char msg[240];
};

/* Set code and message (printf-style); clears field.  Returns `code`.
 * thread: any */
int act_err_set(struct act_err *err, int code, const char *fmt, ...) ACT_PRINTF(3, 4);

/* Like act_err_set, and records the offending field.  Returns `code`.
 * thread: any */
int act_err_field(struct act_err *err, int code, const char *field, const char *fmt, ...)
    ACT_PRINTF(4, 5);

/* Prefix the existing message and field with `prefix` ("actions[2]"):
 * field becomes "prefix.field" (or "prefix" when empty).  Returns err->code.
 * thread: any */
int act_err_prefix_field(struct act_err *err, const char *prefix);

/* Reset to ACT_OK with empty message and field.  thread: any */
void act_err_clear(struct act_err *err);

/* A short constant description of a status code.  thread: any */
const char *act_strerror(int code);

/* Abort with file and line: an invariant was broken (git BUG). */
#define ACT_BUG(...) act_bug_at(__FILE__, __LINE__, __VA_ARGS__)
ACT_NORETURN void act_bug_at(const char *file, int line, const char *fmt, ...) ACT_PRINTF(3, 4);

#endif
