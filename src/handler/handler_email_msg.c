/*
 * Kind `email`: the message itself (handler_email.h).  Parses and checks the
 * rendered addresses and header values, then builds the RFC 5322 text that
 * goes after SMTP DATA.
 *
 * Rules this file keeps:
 *  - nothing a template produced reaches a header unchecked: addresses are
 *    parsed into (display name, local@domain) and re-emitted by us; the
 *    subject and names may not hold control characters (CR or LF is refused
 *    as header injection, naming the field);
 *  - every output line ends in CRLF and is at most 998 bytes (RFC 5322
 *    2.1.1): headers are folded at 78 where they can be, non-ASCII text and
 *    subjects that cannot be folded become RFC 2047 encoded words (UTF-8,
 *    B encoding, at most 75 characters each), bodies are quoted-printable
 *    (76-character lines) or base64 (76-character lines);
 *  - a multipart boundary starts with "=_", which neither encoding can
 *    produce, so it never occurs inside a part;
 *  - Bcc recipients go into the envelope only, never into a header.
 *
 * SMTP dot-stuffing is libcurl's job (it escapes a leading "." on upload).
 * Everything here is pure computation on its arguments: thread: any.
 */
#include "base/alloc.h"
#include "handler/handler_email.h"
#include "handler/handler_internal.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define FOLD_AT 78
#define LINE_MAX_BYTES 998
#define EW_CHUNK 45   /* raw bytes per encoded word at most: 60 base64 chars + 12 = 72 */
#define B64_LINE 57   /* raw bytes per base64 body line: 76 chars */
#define QP_LINE 76

/* ---- addresses ---- */

static bool atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static bool ldh(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-';
}

/* A control character in s: CR/LF are injection, the others plain refusals. */
static int check_controls(const char *s, size_t len, bool allow_tab, const char *field,
                          struct act_err *err)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\r' || c == '\n')
            return act_err_field(err, ACT_EUNPROC, field,
                                 "value contains CR or LF (header injection refused)");
        if ((c < 0x20 && !(allow_tab && c == '\t')) || c == 0x7F)
            return act_err_field(err, ACT_EUNPROC, field, "value contains a control character");
    }
    return ACT_OK;
}

int act_email_check_header_text(const char *s, size_t len, size_t max, const char *field,
                                struct act_err *err)
{
    if (len > max)
        return act_err_field(err, ACT_EUNPROC, field, "value is over %zu bytes", max);
    return check_controls(s, len, true, field, err);
}

static int local_part_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(atext((unsigned char)s[i]) || (s[i] == '.' && s[i + 1] != '.')))
            return 0;
    return 1;
}

static int domain_ok(const char *s, size_t n)
{
    size_t label = 0;

    if (n >= 3 && s[0] == '[' && s[n - 1] == ']') {
        size_t i = 1;

        if (n > 7 && strncmp(s + 1, "IPv6:", 5) == 0)
            i = 6;
        for (; i < n - 1; i++)
            if (!strchr("0123456789abcdefABCDEF:.", s[i]))
                return 0;
        return 1;
    }
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
                return 0;
            label = 0;
        } else if (ldh((unsigned char)s[i])) {
            label++;
        } else {
            return 0;
        }
    }
    return 1;
}

/* Check "local@domain" (no brackets, no spaces). */
static int addr_spec_check(const char *a, size_t n, const char *field, struct act_err *err)
{
    const char *at = NULL;

    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)a[i] >= 0x80)
            return act_err_field(err, ACT_EUNPROC, field,
                                 "'%.64s': addresses must be ASCII (internationalised "
                                 "addresses are not supported)", a);
        if (a[i] == '@')
            at = a + i;
    }
    if (!at)
        return act_err_field(err, ACT_EUNPROC, field, "'%.64s' is not an email address (no @)",
                             a);
    if (n > 254)
        return act_err_field(err, ACT_EUNPROC, field, "address is over 254 bytes");
    if (!local_part_ok(a, (size_t)(at - a)))
        return act_err_field(err, ACT_EUNPROC, field,
                             "'%.64s' is not an email address (bad local part)", a);
    if (!domain_ok(at + 1, n - (size_t)(at + 1 - a)))
        return act_err_field(err, ACT_EUNPROC, field,
                             "'%.64s' is not an email address (bad domain)", a);
    return ACT_OK;
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* The display name: unquote a quoted string; empty means none. */
static char *display_name(const char *s, size_t n)
{
    char *out;
    size_t o = 0;

    trim(&s, &n);
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s++;
        n -= 2;
        out = act_xmalloc(n + 1);
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '\\' && i + 1 < n)
                i++;
            out[o++] = s[i];
        }
        out[o] = '\0';
    } else {
        out = act_xstrndup(s, n);
        o = n;
    }
    if (o == 0) {
        act_free(out);
        return NULL;
    }
    return out;
}

int act_email_addr_parse(const char *s, size_t len, const char *field,
                         struct act_email_addr *out, struct act_err *err)
{
    const char *a = s, *lt = NULL;
    size_t an = len;
    char *spec;
    int rc;

    memset(out, 0, sizeof(*out));
    if (len > ACT_EMAIL_ADDR_MAX)
        return act_err_field(err, ACT_EUNPROC, field, "address is over %d bytes",
                             ACT_EMAIL_ADDR_MAX);
    if ((rc = check_controls(s, len, false, field, err)) < 0)
        return rc;
    trim(&a, &an);
    if (an == 0)
        return act_err_field(err, ACT_EUNPROC, field, "address is empty");
    if (a[an - 1] == '>') {
        for (size_t i = an - 1; i-- > 0;)
            if (a[i] == '<') {
                lt = a + i;
                break;
            }
        if (!lt)
            return act_err_field(err, ACT_EUNPROC, field, "'%.64s': '>' without '<'", a);
        out->name = display_name(a, (size_t)(lt - a));
        an = (size_t)(a + an - 1 - (lt + 1));
        a = lt + 1;
        trim(&a, &an);
    }
    spec = act_xstrndup(a, an);
    if (an > 0 && spec[0] == '"')
        rc = act_err_field(err, ACT_EUNPROC, field,
                           "'%.64s': quoted local parts are not supported", spec);
    for (size_t i = 0; i < an && rc == ACT_OK; i++)
        if (strchr("<>,; \t()\\\"", spec[i])) {
            rc = act_err_field(err, ACT_EUNPROC, field,
                               "'%.64s' is not one email address (use an array for several "
                               "recipients)", spec);
            break;
        }
    if (rc == ACT_OK && (rc = addr_spec_check(spec, an, field, err)) == ACT_OK) {
        out->addr = spec;
        return ACT_OK;
    }
    act_free(spec);
    act_email_addr_release(out);
    return rc;
}

void act_email_addr_release(struct act_email_addr *a)
{
    if (!a)
        return;
    act_free(a->name);
    act_free(a->addr);
    a->name = a->addr = NULL;
}

/* ---- the rendered spec ---- */

/* Text of a rendered value: strings as is, null as NULL (absent), anything
 * else as compact JSON. */
static char *text_of(const json_t *v, size_t *len)
{
    *len = 0;
    if (!v || json_is_null(v))
        return NULL;
    if (json_is_string(v)) {
        *len = json_string_length(v);
        char *s = act_xmalloc(*len + 1);

        memcpy(s, json_string_value(v), *len);
        s[*len] = '\0';
        return s;
    }
    return act_handler_dump(v, len);
}

static int add_rcpt(struct act_email_msg *m, size_t *cap, const json_t *v, const char *field,
                    struct act_err *err)
{
    size_t n = m->n_to + m->n_cc + m->n_bcc;
    int rc;

    if (!json_is_string(v))
        return act_err_field(err, ACT_EUNPROC, field, "a recipient must be a string");
    if (n >= ACT_EMAIL_RCPT_MAX)
        return act_err_field(err, ACT_EUNPROC, field, "more than %d recipients",
                             ACT_EMAIL_RCPT_MAX);
    if (n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        m->rcpt = act_xrealloc(m->rcpt, *cap * sizeof(*m->rcpt));
    }
    if ((rc = act_email_addr_parse(json_string_value(v), json_string_length(v), field,
                                   &m->rcpt[n], err)) < 0)
        return rc;
    return ACT_OK;
}

/* One of to/cc/bcc: absent/null, a string, or an array whose members are
 * strings or arrays of strings (a template that yielded a list). */
static int add_list(struct act_email_msg *m, size_t *cap, const json_t *spec, const char *name,
                    size_t *count, struct act_err *err)
{
    const json_t *v = json_object_get(spec, name), *e, *e2;
    char field[96];
    size_t i, j;
    int rc = ACT_OK;

    snprintf(field, sizeof(field), "handler.%s", name);
    if (!v || json_is_null(v))
        return ACT_OK;
    if (json_is_string(v)) {
        if ((rc = add_rcpt(m, cap, v, field, err)) == ACT_OK)
            (*count)++;
        return rc;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, e) {
            snprintf(field, sizeof(field), "handler.%s[%zu]", name, i);
            if (json_is_array(e)) {
                json_array_foreach(e, j, e2) {
                    if ((rc = add_rcpt(m, cap, e2, field, err)) < 0)
                        break;
                    (*count)++;
                }
                if (rc < 0)
                    break;
                continue;
            }
            if ((rc = add_rcpt(m, cap, e, field, err)) < 0)
                break;
            (*count)++;
        }
        return rc;
    }
    return act_err_field(err, ACT_EUNPROC, field,
                         "%s must be an address or an array of addresses", name);
}

static int fill_one(const json_t *spec, const char *name, struct act_email_addr *out,
                    bool required, struct act_err *err)
{
    const json_t *v = json_object_get(spec, name);
    char field[48];

    snprintf(field, sizeof(field), "handler.%s", name);
    if (!v || json_is_null(v)) {
        if (required)
            return act_err_field(err, ACT_EUNPROC, field, "%s is required", name);
        return ACT_OK;
    }
    if (!json_is_string(v))
        return act_err_field(err, ACT_EUNPROC, field, "%s must be one address (a string)",
                             name);
    return act_email_addr_parse(json_string_value(v), json_string_length(v), field, out, err);
}

static int fill_body(const json_t *spec, const char *name, char **out, size_t *len,
                     struct act_err *err)
{
    char field[48];

    snprintf(field, sizeof(field), "handler.%s", name);
    *out = text_of(json_object_get(spec, name), len);
    if (*out && *len > ACT_EMAIL_BODY_MAX)
        return act_err_field(err, ACT_EUNPROC, field, "%s is over %zu bytes", name,
                             ACT_EMAIL_BODY_MAX);
    return ACT_OK;
}

int act_email_msg_fill(const json_t *spec, struct act_email_msg *m, struct act_err *err)
{
    size_t cap = 0, len = 0;
    int rc;

    memset(m, 0, sizeof(*m));
    if ((rc = fill_one(spec, "from", &m->from, true, err)) < 0 ||
        (rc = fill_one(spec, "reply_to", &m->reply_to, false, err)) < 0 ||
        (rc = add_list(m, &cap, spec, "to", &m->n_to, err)) < 0 ||
        (rc = add_list(m, &cap, spec, "cc", &m->n_cc, err)) < 0 ||
        (rc = add_list(m, &cap, spec, "bcc", &m->n_bcc, err)) < 0)
        goto out;
    if (m->n_to + m->n_cc + m->n_bcc == 0) {
        rc = act_err_field(err, ACT_EUNPROC, "handler.to",
                           "at least one recipient (to, cc or bcc) is required");
        goto out;
    }
    m->subject = text_of(json_object_get(spec, "subject"), &len);
    if (!m->subject)
        m->subject = act_xstrdup("");
    if ((rc = act_email_check_header_text(m->subject, len, ACT_EMAIL_SUBJECT_MAX,
                                          "handler.subject", err)) < 0 ||
        (rc = fill_body(spec, "text", &m->text, &m->text_len, err)) < 0 ||
        (rc = fill_body(spec, "html", &m->html, &m->html_len, err)) < 0)
        goto out;
    if (!m->text && !m->html)
        rc = act_err_field(err, ACT_EUNPROC, "handler.text", "text or html is required");
out:
    if (rc < 0)
        act_email_msg_release(m);
    return rc;
}

void act_email_msg_release(struct act_email_msg *m)
{
    if (!m)
        return;
    act_email_addr_release(&m->from);
    act_email_addr_release(&m->reply_to);
    for (size_t i = 0; i < m->n_to + m->n_cc + m->n_bcc; i++)
        act_email_addr_release(&m->rcpt[i]);
    act_free(m->rcpt);
    act_free(m->subject);
    act_free(m->text);
    act_free(m->html);
    memset(m, 0, sizeof(*m));
}

char *act_email_message_id(const char *root_id, const struct act_email_addr *from)
{
    const char *at = from && from->addr ? strrchr(from->addr, '@') : NULL;
    char *id = act_xstrdup(root_id && root_id[0] ? root_id : "unknown");
    char *out;

    for (char *c = id; *c; c++)
        if (!(ldh((unsigned char)*c) || *c == '.' || *c == '_'))
            *c = '-';
    out = act_xasprintf("<%s@%s>", id, at ? at + 1 : "actiond.invalid");
    act_free(id);
    return out;
}

/* ---- building ---- */

static void add(struct act_buf *b, const char *s)
{
    act_buf_add(b, s, strlen(s));
}

/* Bytes since the last line break. */
static size_t line_len(const struct act_buf *b)
{
    size_t i = b->len;

    while (i > 0 && b->p[i - 1] != '\n')
        i--;
    return b->len - i;
}

static void b64(struct act_buf *b, const char *s, size_t n)
{
    unsigned char out[4 * ((B64_LINE > EW_CHUNK ? B64_LINE : EW_CHUNK) / 3 + 1) + 1];
    int w = EVP_EncodeBlock(out, (const unsigned char *)s, (int)n);

    act_buf_add(b, (const char *)out, (size_t)w);
}

/* RFC 2047 encoded words for s, split at character boundaries, joined by
 * folding whitespace (which decoders drop between encoded words).  Each
 * word is at most 72 characters and sized so its line stays within 78. */
static void encoded_words(struct act_buf *b, const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t col = i > 0 ? 1 : line_len(b);
        size_t room = col + 12 < FOLD_AT ? (FOLD_AT - col - 12) / 4 * 3 : 0;
        size_t chunk = room < 12 ? 12 : room > EW_CHUNK ? EW_CHUNK : room;
        size_t k = n - i < chunk ? n - i : chunk;

        while (i + k < n && k > 1 && ((unsigned char)s[i + k] & 0xC0) == 0x80)
            k--; /* never split a character */
        if (i > 0)
            add(b, "\r\n ");
        add(b, "=?UTF-8?B?");
        b64(b, s + i, k);
        add(b, "?=");
        i += k;
    }
}

static bool plain_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x7F || ((unsigned char)s[i] < 0x20 && s[i] != '\t'))
            return false;
    return true;
}

/* A display name: a quoted string when ASCII, encoded words otherwise. */
static void phrase(struct act_buf *b, const char *name)
{
    size_t n = strlen(name);

    if (!plain_ascii(name, n) || strstr(name, "=?")) {
        encoded_words(b, name, n);
        return;
    }
    add(b, "\"");
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '"' || name[i] == '\\')
            add(b, "\\");
        act_buf_add(b, name + i, 1);
    }
    add(b, "\"");
}

static void mailbox(struct act_buf *b, const struct act_email_addr *a)
{
    if (!a->name) {
        add(b, a->addr);
        return;
    }
    phrase(b, a->name);
    add(b, " <");
    add(b, a->addr);
    add(b, ">");
}

/* "Name: a, b, c" folded between mailboxes. */
static void addr_header(struct act_buf *b, const char *hname, const struct act_email_addr *a,
                        size_t n)
{
    add(b, hname);
    add(b, ":");
    for (size_t i = 0; i < n; i++) {
        struct act_buf one = {0};

        mailbox(&one, &a[i]);
        if (i > 0)
            add(b, ",");
        /* The first line of this mailbox decides whether to fold first. */
        size_t first = strcspn(one.p, "\r");

        add(b, i > 0 && line_len(b) + 1 + first > FOLD_AT ? "\r\n " : " ");
        act_buf_add(b, one.p, one.len);
        act_free(one.p);
    }
    add(b, "\r\n");
}

static void subject_header(struct act_buf *b, const char *s)
{
    size_t n = strlen(s), longest = 0, run = 0;

    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == ' ')
            run = 0;
        else if (++run > longest)
            longest = run;
    }
    add(b, "Subject: ");
    if (!plain_ascii(s, n) || strstr(s, "=?") || 9 + longest + 1 > LINE_MAX_BYTES) {
        encoded_words(b, s, n);
        add(b, "\r\n");
        return;
    }
    /* Fold by inserting CRLF before a space: unfolding gives s back. */
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;

        while (j < n && s[j] != ' ')
            j++;
        if (s[i] == ' ' && line_len(b) + (j - i) > FOLD_AT && line_len(b) > 9)
            add(b, "\r\n");
        act_buf_add(b, s + i, j - i);
        i = j;
    }
    add(b, "\r\n");
}

static void date_header(struct act_buf *b, int64_t date_s)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)date_s;
    struct tm tm;
    char line[64];

    gmtime_r(&t, &tm);
    /* By hand: strftime's names follow the locale. */
    snprintf(line, sizeof(line), "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
             days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
             tm.tm_min, tm.tm_sec);
    add(b, line);
}

/* Body with every line break as CRLF. */
static char *crlf(const char *s, size_t n, size_t *out_len)
{
    char *o = act_xmalloc(2 * n + 1);
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r' || s[i] == '\n') {
            if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
                i++;
            o[k++] = '\r';
            o[k++] = '\n';
        } else {
            o[k++] = s[i];
        }
    }
    o[k] = '\0';
    *out_len = k;
    return o;
}

static void quoted_printable(struct act_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool eol = i + 1 == n || s[i + 1] == '\r'; /* CR is always CRLF here */
        char tok[3];
        size_t tn = 1;

        if (c == '\r' && i + 1 < n && s[i + 1] == '\n') {
            add(b, "\r\n");
            col = 0;
            i++;
            continue;
        }
        if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !eol)) {
            tok[0] = (char)c;
        } else {
            tok[0] = '=';
            tok[1] = hex[c >> 4];
            tok[2] = hex[c & 15];
            tn = 3;
        }
        if (col + tn > QP_LINE - 1) {
            add(b, "=\r\n"); /* soft break: the line stays within 76 */
            col = 0;
        }
        act_buf_add(b, tok, tn);
        col += tn;
    }
    if (col > 0)
        add(b, "=\r\n"); /* a soft break: the text did not end its last line */
}

static void base64_body(struct act_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i += B64_LINE) {
        b64(b, s + i, n - i < B64_LINE ? n - i : B64_LINE);
        add(b, "\r\n");
    }
}

/* Content-Type, Content-Transfer-Encoding, blank line, encoded body. */
static void part(struct act_buf *b, const char *type, const char *body, size_t len)
{
    size_t n, heavy = 0;
    char *norm = crlf(body, len, &n);

    for (size_t i = 0; i < n; i++)
        if ((unsigned char)norm[i] >= 0x80 || (norm[i] < 0x20 && !strchr("\r\n\t", norm[i])))
            heavy++;
    add(b, "Content-Type: ");
    add(b, type);
    add(b, "; charset=UTF-8\r\n");
    if (heavy * 3 > n) {
        add(b, "Content-Transfer-Encoding: base64\r\n\r\n");
        base64_body(b, norm, n);
    } else {
        add(b, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        quoted_printable(b, norm, n);
    }
    act_free(norm);
}

static uint64_t fnv1a(const char *s, uint64_t h)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void act_email_build(const struct act_email_msg *m, const char *message_id, int64_t date_s,
                     char **out, size_t *len)
{
    struct act_buf b = {0};

    date_header(&b, date_s);
    addr_header(&b, "From", &m->from, 1);
    if (m->n_to)
        addr_header(&b, "To", m->rcpt, m->n_to);
    else if (!m->n_cc)
        add(&b, "To: undisclosed-recipients:;\r\n");
    if (m->n_cc)
        addr_header(&b, "Cc", m->rcpt + m->n_to, m->n_cc);
    if (m->reply_to.addr)
        addr_header(&b, "Reply-To", &m->reply_to, 1);
    subject_header(&b, m->subject);
    add(&b, "Message-ID: ");
    add(&b, message_id);
    add(&b, "\r\nMIME-Version: 1.0\r\n");
    if (m->text && m->html) {
        char boundary[48];

        snprintf(boundary, sizeof(boundary), "=_actiond_%016llx",
                 (unsigned long long)fnv1a(message_id, 14695981039346656037ull ^
                                                           (uint64_t)date_s));
        add(&b, "Content-Type: multipart/alternative; boundary=\"");
        add(&b, boundary);
        add(&b, "\"\r\n\r\n--");
        add(&b, boundary);
        add(&b, "\r\n");
        /* The CRLF before a delimiter belongs to the delimiter (RFC 2046
         * 5.1.1), so each part's own last line break is kept. */
        part(&b, "text/plain", m->text, m->text_len);
        add(&b, "\r\n--");
        add(&b, boundary);
        add(&b, "\r\n");
        part(&b, "text/html", m->html, m->html_len);
        add(&b, "\r\n--");
        add(&b, boundary);
        add(&b, "--\r\n");
    } else if (m->text) {
        part(&b, "text/plain", m->text, m->text_len);
    } else {
        part(&b, "text/html", m->html, m->html_len);
    }
    *out = b.p;
    *len = b.len;
}
