/*
 * Compact JSON text in one pass (json_text.h).  Recursion follows the
 * document's depth, which jansson's parser already bounds (2,048 levels).
 */
#include "base/json_text.h"

#include "base/alloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void act_buf_add(struct act_buf *b, const char *s, size_t n)
{
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap ? b->cap : 256;

        while (cap - b->len < n + 1)
            cap *= 2;
        b->p = act_xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

#define ADD_LIT(b, lit) act_buf_add((b), (lit), sizeof(lit) - 1)

void act_buf_json_str(struct act_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0;

    ADD_LIT(b, "\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6];

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        act_buf_add(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': ADD_LIT(b, "\\\""); break;
        case '\\': ADD_LIT(b, "\\\\"); break;
        case '\b': ADD_LIT(b, "\\b"); break;
        case '\f': ADD_LIT(b, "\\f"); break;
        case '\n': ADD_LIT(b, "\\n"); break;
        case '\r': ADD_LIT(b, "\\r"); break;
        case '\t': ADD_LIT(b, "\\t"); break;
        default:
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            act_buf_add(b, esc, 6);
        }
    }
    act_buf_add(b, s + run, len - run);
    ADD_LIT(b, "\"");
}

static void put_integer(struct act_buf *b, json_int_t v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    act_buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* As jansson's jsonp_dtostr with its default precision. */
static void put_real(struct act_buf *b, double v)
{
    char tmp[64], *e;
    int n = snprintf(tmp, sizeof(tmp) - 2, "%.17g", v);
    size_t len;

    if (n < 0)
        n = 0;
    len = (size_t)n;
    for (size_t i = 0; i < len; i++)
        if (tmp[i] == ',') /* a locale's decimal comma */
            tmp[i] = '.';
    if (!memchr(tmp, '.', len) && !memchr(tmp, 'e', len)) {
        memcpy(tmp + len, ".0", 3);
        len += 2;
    }
    if ((e = memchr(tmp, 'e', len))) {
        char *start = e + 1, *end;

        if (*start == '+') { /* drop it */
            memmove(start, start + 1, len - (size_t)(start + 1 - tmp) + 1);
            len--;
        } else if (*start == '-') {
            start++;
        }
        end = start;
        while (*end == '0' && end[1])
            end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - tmp) + 1);
            len -= (size_t)(end - start);
        }
    }
    act_buf_add(b, tmp, len);
}

void act_buf_json(struct act_buf *b, const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_OBJECT: {
        const char *k;
        size_t klen;
        json_t *m;
        int first = 1;

        ADD_LIT(b, "{");
        json_object_keylen_foreach ((json_t *)v, k, klen, m) {
            if (!first)
                ADD_LIT(b, ",");
            first = 0;
            act_buf_json_str(b, k, klen);
            ADD_LIT(b, ":");
            act_buf_json(b, m);
        }
        ADD_LIT(b, "}");
        break;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);

        ADD_LIT(b, "[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                ADD_LIT(b, ",");
            act_buf_json(b, json_array_get(v, i));
        }
        ADD_LIT(b, "]");
        break;
    }
    case JSON_STRING:
        act_buf_json_str(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        put_integer(b, json_integer_value(v));
        break;
    case JSON_REAL:
        put_real(b, json_real_value(v));
        break;
    case JSON_TRUE:
        ADD_LIT(b, "true");
        break;
    case JSON_FALSE:
        ADD_LIT(b, "false");
        break;
    case JSON_NULL:
    default:
        ADD_LIT(b, "null");
        break;
    }
}

char *act_json_text(const json_t *v, size_t *len)
{
    struct act_buf b = {0};

    act_buf_json(&b, v);
    if (len)
        *len = b.len;
    return b.p;
}
