/*
 * Compact JSON text of a jansson value, written in one pass into a growing
 * buffer — the same bytes as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)
 * (tests/base/test_json_text.c compares them on random documents), at a
 * fraction of the cost: jansson decodes every string character by
 * character to decide on escapes and copies its own buffer at the end,
 * which made serialising events for the store a third of the HTTP intake.
 *
 * Strings are jansson's, so valid UTF-8: only '"', '\\' and control
 * characters are escaped (\b \f \n \r \t, else \u00XX); integers as
 * "%lld"; reals as jansson writes them ("%.17g", a ".0" added when neither
 * '.' nor an exponent shows, the exponent without '+' or leading zeros).
 * Not thread-safe per buffer; any number of buffers at once.
 */
#ifndef ACT_BASE_JSON_TEXT_H
#define ACT_BASE_JSON_TEXT_H

#include <jansson.h>
#include <stddef.h>

/* A growable byte buffer; p is NUL-terminated once anything was added.
 * Start zeroed; free p with act_free. */
struct act_buf {
    char *p;
    size_t len, cap;
};

/* Append n bytes.  thread: the buffer's */
void act_buf_add(struct act_buf *b, const char *s, size_t n);

/* Append s (len bytes of UTF-8) as a JSON string.  thread: the buffer's */
void act_buf_json_str(struct act_buf *b, const char *s, size_t len);

/* Append the compact JSON text of v (NULL appends "null").  thread: the buffer's */
void act_buf_json(struct act_buf *b, const json_t *v);

/* The compact JSON text of v as a new string (act_free), its length in
 * *len when len is not NULL.  thread: any */
char *act_json_text(const json_t *v, size_t *len);

#endif
