/*
 * Dotted JSON paths ("data.user.id", "data.items.0") and the value printer
 * used in one-line reasons.
 *
 * A segment is looked up as an object key when the current value is an
 * object (so a key "0" works) and as an index when it is an array and the
 * segment is a canonical decimal number ("0", "17", not "01").  A key that
 * itself contains '.' cannot be addressed.  Empty segments never resolve.
 * Resolution only reads the JSON, never allocates and is reentrant.
 */
#include "base/alloc.h"
#include "match/match_internal.h"

#include <stdio.h>
#include <string.h>

/* Canonical decimal array index of at most 9 digits. */
static bool parse_index(const char *s, size_t n, size_t *out)
{
    size_t v = 0;

    if (n == 0 || n > 9 || (n > 1 && s[0] == '0'))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

static const json_t *step(const json_t *cur, const char *k, size_t n)
{
    size_t idx;

    if (n == 0)
        return NULL;
    if (json_is_object(cur))
        return json_object_getn(cur, k, n);
    if (json_is_array(cur) && parse_index(k, n, &idx))
        return json_array_get(cur, idx);
    return NULL;
}

const json_t *act_json_path(const json_t *root, const char *path)
{
    const json_t *cur = root;
    const char *s = path;

    if (!root || !path)
        return NULL;
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (!(cur = step(cur, s, n)))
            return NULL;
        if (!dot)
            return cur;
        s = dot + 1;
    }
}

int act_match_jpath_init(struct act_jpath *p, const char *text, char *msg, size_t msg_len)
{
    size_t len = strlen(text), n = 1, start = 0;

    memset(p, 0, sizeof(*p));
    if (len == 0) {
        snprintf(msg, msg_len, "empty field path");
        return ACT_EINVAL;
    }
    for (size_t i = 0; i < len; i++)
        n += text[i] == '.';
    p->text = act_xstrdup(text);
    p->segs = act_xcalloc(n, sizeof(*p->segs));
    for (size_t i = 0; i <= len; i++) {
        struct act_jpath_seg *sg;
        if (i < len && p->text[i] != '.')
            continue;
        if (i == start) {
            snprintf(msg, msg_len, "empty segment %zu in field path", p->n_segs + 1);
            act_match_jpath_release(p);
            return ACT_EINVAL;
        }
        sg = &p->segs[p->n_segs++];
        sg->key = p->text + start;
        sg->len = i - start;
        sg->is_index = parse_index(sg->key, sg->len, &sg->index);
        start = i + 1;
    }
    /* keys are read with explicit lengths, so the text stays intact */
    return ACT_OK;
}

const json_t *act_match_jpath_get(const struct act_jpath *p, const json_t *root)
{
    const json_t *cur = root;

    for (size_t i = 0; i < p->n_segs && cur; i++) {
        const struct act_jpath_seg *sg = &p->segs[i];
        if (json_is_object(cur))
            cur = json_object_getn(cur, sg->key, sg->len);
        else if (json_is_array(cur) && sg->is_index)
            cur = json_array_get(cur, sg->index);
        else
            cur = NULL;
    }
    return cur;
}

void act_match_jpath_release(struct act_jpath *p)
{
    act_free(p->segs);
    act_free(p->text);
    memset(p, 0, sizeof(*p));
}

const char *act_match_json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

/* 'text' with quotes, backslashes and control bytes escaped; "...'" when
 * cut.  UTF-8 sequences are copied whole, so a cut never splits one. */
static char *fmt_string(const char *s, size_t n, char *buf, size_t len)
{
    size_t o = 0, room = len - 5; /* keep space for "...'" and the NUL */

    buf[o++] = '\'';
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        const char *src = esc;
        size_t k = 1;
        if (c == '\'' || c == '\\')
            k = (size_t)snprintf(esc, sizeof(esc), "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            k = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", c);
        else {
            src = s + i;
            while (c >= 0xc0 && k < 4 && i + k < n && ((unsigned char)s[i + k] & 0xc0) == 0x80)
                k++;
        }
        if (o + k > room) {
            memcpy(buf + o, "...'", 5);
            return buf;
        }
        memcpy(buf + o, src, k);
        o += k;
        i += src == esc ? 1 : k;
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

void act_match_trim_utf8(char *s)
{
    size_t n = strlen(s), k = 0;

    /* walk back over continuation bytes to the last lead byte */
    while (k < n && k < 4 && ((unsigned char)s[n - 1 - k] & 0xc0) == 0x80)
        k++;
    if (k < n) {
        unsigned char lead = (unsigned char)s[n - 1 - k];
        size_t want = lead < 0x80 ? 1 : (lead >> 5) == 6 ? 2 : (lead >> 4) == 14 ? 3 : 4;
        if (lead >= 0x80 && want != k + 1)
            s[n - 1 - k] = '\0';
    }
}

char *act_match_fmt_value(const json_t *v, char *buf, size_t len)
{
    size_t n;

    if (len < 8) {
        if (len)
            buf[0] = '\0';
        return buf;
    }
    switch (json_typeof(v)) {
    case JSON_STRING:
        return fmt_string(json_string_value(v), json_string_length(v), buf, len);
    case JSON_INTEGER:
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    case JSON_REAL:
        snprintf(buf, len, "%.15g", json_real_value(v));
        return buf;
    case JSON_TRUE: snprintf(buf, len, "true"); return buf;
    case JSON_FALSE: snprintf(buf, len, "false"); return buf;
    case JSON_NULL: snprintf(buf, len, "null"); return buf;
    case JSON_OBJECT:
    case JSON_ARRAY:
        break;
    }
    /* Compact JSON escapes newlines, so the result stays on one line. */
    n = json_dumpb(v, buf, len - 1, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
    if (n == 0)
        snprintf(buf, len, "%s", act_match_json_kind(v));
    else if (n > len - 1)
        memcpy(buf + len - 4, "...", 4);
    else
        buf[n] = '\0';
    return buf;
}
