/*
 * A plain TAP producer for unit tests (STYLE.md 2.10).  A failure prints
 * `# at file:line` with expected and actual values.  done_testing() prints
 * the plan and returns the exit status for main().
 */
#ifndef ACT_TESTS_TAP_H
#define ACT_TESTS_TAP_H

#include <stddef.h>
#include <stdint.h>

int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int tap_is_int(int64_t got, int64_t want, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int tap_is_str(const char *got, const char *want, const char *file, int line, const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));
int tap_is_mem(const void *got, const void *want, size_t len, const char *file, int line,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void tap_skip(const char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tap_subtest(const char *name);
int tap_done(void);
int tap_failures(void);

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...)                                                                     \
    tap_is_int((int64_t)(got), (int64_t)(want), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define is_mem(got, want, len, ...) tap_is_mem((got), (want), (len), __FILE__, __LINE__, __VA_ARGS__)
#define skip(why, ...) tap_skip((why), __VA_ARGS__)
#define diag(...) tap_diag(__VA_ARGS__)
#define subtest(name) tap_subtest(name)
#define done_testing() tap_done()

#endif
