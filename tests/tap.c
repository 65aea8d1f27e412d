/* The TAP producer behind tests/tap.h. */
#include "tap.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int n_tests, n_failed;

static void vline(int pass, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void vline(int pass, const char *fmt, va_list ap)
{
    printf("%sok %d - ", pass ? "" : "not ", ++n_tests);
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
}

int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(cond, fmt, ap);
    va_end(ap);
    if (!cond) {
        n_failed++;
        printf("#   at %s:%d\n", file, line);
    }
    return cond;
}

int tap_is_int(int64_t got, int64_t want, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    int pass = got == want;
    va_start(ap, fmt);
    vline(pass, fmt, ap);
    va_end(ap);
    if (!pass) {
        n_failed++;
        printf("#   at %s:%d\n#   got:      %lld\n#   expected: %lld\n", file, line, (long long)got,
               (long long)want);
    }
    return pass;
}

int tap_is_str(const char *got, const char *want, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    int pass = (got == NULL && want == NULL) || (got && want && strcmp(got, want) == 0);
    va_start(ap, fmt);
    vline(pass, fmt, ap);
    va_end(ap);
    if (!pass) {
        n_failed++;
        printf("#   at %s:%d\n#   got:      '%s'\n#   expected: '%s'\n", file, line,
               got ? got : "(null)", want ? want : "(null)");
    }
    return pass;
}

int tap_is_mem(const void *got, const void *want, size_t len, const char *file, int line,
               const char *fmt, ...)
{
    va_list ap;
    int pass = memcmp(got, want, len) == 0;
    va_start(ap, fmt);
    vline(pass, fmt, ap);
    va_end(ap);
    if (!pass) {
        n_failed++;
        printf("#   at %s:%d: %zu bytes differ\n", file, line, len);
    }
    return pass;
}

void tap_skip(const char *why, const char *fmt, ...)
{
    va_list ap;
    printf("ok %d - ", ++n_tests);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf(" # SKIP %s\n", why);
}

void tap_diag(const char *fmt, ...)
{
    va_list ap;
    fputs("# ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

void tap_subtest(const char *name)
{
    printf("# subtest: %s\n", name);
}

int tap_failures(void)
{
    return n_failed;
}

int tap_done(void)
{
    printf("1..%d\n", n_tests);
    if (n_failed)
        printf("# failed %d of %d\n", n_failed, n_tests);
    fflush(stdout);
    return n_failed ? 1 : 0;
}
