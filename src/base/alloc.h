/*
 * Allocation.  act_x* abort with a message on OOM (redis, git), so ordinary
 * code has no dead branches; act_try_* return NULL and are used for
 * client-sized data together with configured limits.  act_free accepts NULL.
 * Raw malloc/free are used only in alloc.c.
 */
#ifndef ACT_BASE_ALLOC_H
#define ACT_BASE_ALLOC_H

#include <stddef.h>

void *act_xmalloc(size_t n);
void *act_xcalloc(size_t n, size_t size);
void *act_xrealloc(void *p, size_t n);
char *act_xstrdup(const char *s);
char *act_xstrndup(const char *s, size_t n);
/* printf into a fresh heap string. */
char *act_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *act_try_malloc(size_t n);
void act_free(void *p);

#endif
