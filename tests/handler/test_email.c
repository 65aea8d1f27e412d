/*
 * handler: kind `email` (handler_email.c, handler_email_spec.c,
 * handler_email_msg.c).
 *
 * Parts: validation (every rule names its field), address parsing, the
 * message text (headers, encoded words, folding, quoted-printable and
 * base64 bodies, multipart/alternative, Bcc kept out, line limits) checked
 * by decoding it back, the rendered-message checks (header injection,
 * recipient lists that templates turn into arrays, limits), and attempts
 * through the vtable against a scripted SMTP imitation on 127.0.0.1 run
 * by this test: template rendering from the event, a Message-ID that stays
 * the same across retries of one execution, 550 as a permanent failure and
 * 451 as a retryable one, injection refused before any connection, the
 * egress guard.  The real SMTP server (aiosmtpd, with STARTTLS and AUTH) is
 * met in tests/integration/test_email.py.
 */
#include "base/alloc.h"
#include "base/err.h"
#include "handler/handler.h"
#include "handler/handler_email.h"
#include "handler/secret_box.h"
#include "handler/ssrf.h"
#include "lua/lua.h"
#include "tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- helpers ---- */

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);

    if (!v)
        diag("bad JSON in test: %s: %s", text, e.text);
    return v;
}

/* Validate a spec (JSON text) with config (JSON text or NULL); returns rc
 * and fills err. */
static int check(const char *spec, const char *config, struct act_err *err)
{
    json_t *h = J(spec), *c = config ? J(config) : json_object();
    int rc;

    memset(err, 0, sizeof(*err));
    rc = act_handler_validate(h, c, err);
    json_decref(h);
    json_decref(c);
    return rc;
}

#define BASE "\"kind\":\"email\",\"smtp_url\":\"smtp://127.0.0.1:2525\",\"from\":\"a@example.com\""

static void rejects(const char *spec, const char *config, const char *field, const char *words,
                    const char *name)
{
    struct act_err err;
    int rc = check(spec, config, &err);

    ok(rc == ACT_EUNPROC && strcmp(err.field, field) == 0 && strstr(err.msg, words), "%s", name);
    if (rc != ACT_EUNPROC || strcmp(err.field, field) != 0 || !strstr(err.msg, words))
        diag("rc %d field '%s' msg '%s'", rc, err.field, err.msg);
}

/* Build a message from rendered members (JSON text) at date 0. */
static char *build(const char *members, const char *root, size_t *len)
{
    struct act_email_msg m;
    struct act_err err = {0};
    json_t *spec = J(members);
    char *id, *out = NULL;

    if (act_email_msg_fill(spec, &m, &err) < 0) {
        diag("fill: %s: %s", err.field, err.msg);
        json_decref(spec);
        return act_xstrdup("");
    }
    id = act_email_message_id(root, &m.from);
    act_email_build(&m, id, 0, &out, len);
    act_free(id);
    act_email_msg_release(&m);
    json_decref(spec);
    return out;
}

/* Every line ends in CRLF (no bare CR or LF) and is at most `max` bytes. */
static bool lines_ok(const char *s, size_t max)
{
    size_t col = 0;

    for (; *s; s++) {
        if (*s == '\r') {
            if (s[1] != '\n')
                return false;
            s++;
            col = 0;
        } else if (*s == '\n') {
            return false;
        } else if (++col > max) {
            return false;
        }
    }
    return true;
}

/* The value of header `name` (unfolded), or "" (static buffer). */
static const char *header(const char *msg, const char *name)
{
    static char out[8192];
    size_t n = strlen(name), o = 0;
    const char *end = strstr(msg, "\r\n\r\n");

    out[0] = '\0';
    for (const char *l = msg; l && l < end; l = strstr(l, "\r\n") ? strstr(l, "\r\n") + 2 : NULL) {
        if (strncasecmp(l, name, n) != 0 || l[n] != ':')
            continue;
        for (const char *c = l + n + 1; c < end; c++) {
            if (c[0] == '\r' && c[1] == '\n' && c[2] != ' ' && c[2] != '\t')
                break;
            if (c[0] == '\r' && c[1] == '\n') {
                c++;
                continue;
            }
            if (o + 1 < sizeof(out))
                out[o++] = *c;
        }
        out[o] = '\0';
        return out[0] == ' ' ? out + 1 : out;
    }
    return out;
}

static char *b64_decode(const char *s, size_t n, size_t *out_len)
{
    unsigned char *out = act_xmalloc(n + 1);
    int w = n ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)n) : 0;

    if (w < 0)
        w = 0;
    while (n > 0 && s[n - 1] == '=' && w > 0)
        n--, w--;
    out[w] = '\0';
    *out_len = (size_t)w;
    return (char *)out;
}

/* Decode every =?UTF-8?B?...?= word of an unfolded header value, dropping
 * the whitespace between adjacent words (RFC 2047 6.2). */
static char *decode_words(const char *v)
{
    char *out = act_xcalloc(1, strlen(v) + 1);
    size_t o = 0;

    while (*v) {
        const char *end;

        if (strncmp(v, "=?UTF-8?B?", 10) == 0 && (end = strstr(v + 10, "?="))) {
            size_t n;
            char *d = b64_decode(v + 10, (size_t)(end - v - 10), &n);

            memcpy(out + o, d, n);
            o += n;
            act_free(d);
            v = end + 2;
            if (*v == ' ' && strncmp(v + 1, "=?UTF-8?B?", 10) == 0)
                v++;
        } else {
            out[o++] = *v++;
        }
    }
    out[o] = '\0';
    return out;
}

static char *qp_decode(const char *s, size_t n)
{
    char *out = act_xmalloc(n + 1);
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=' && i + 2 < n + 1 && s[i + 1] == '\r' && s[i + 2] == '\n') {
            i += 2;
        } else if (s[i] == '=' && i + 2 < n) {
            char hex[3] = {s[i + 1], s[i + 2], 0};

            out[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* The encoded body of the part with Content-Type `type`: from after its
 * blank line to the next delimiter ("\r\n--=_") or the end. */
static const char *part_body(const char *msg, const char *type, size_t *n, char *cte,
                             size_t cte_cap)
{
    const char *p = strstr(msg, type), *start, *end;

    if (!p || !(start = strstr(p, "\r\n\r\n")))
        return NULL;
    snprintf(cte, cte_cap, "%s",
             strstr(p, "Content-Transfer-Encoding: quoted-printable") &&
                     strstr(p, "Content-Transfer-Encoding: quoted-printable") < start
                 ? "qp"
                 : "base64");
    start += 4;
    end = strstr(start, "\r\n--=_");
    *n = end ? (size_t)(end - start) : strlen(start);
    return start;
}

/* The decoded text of a part. */
static char *part_text(const char *msg, const char *type)
{
    char cte[16];
    size_t n, len;
    const char *b = part_body(msg, type, &n, cte, sizeof(cte));
    char *flat, *out;
    size_t k = 0;

    if (!b)
        return act_xstrdup("(no part)");
    if (strcmp(cte, "qp") == 0)
        return qp_decode(b, n);
    flat = act_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        if (b[i] != '\r' && b[i] != '\n')
            flat[k++] = b[i];
    out = b64_decode(flat, k, &len);
    act_free(flat);
    return out;
}

/* ---- validation ---- */

static void test_validate(void)
{
    struct act_err err;
    char spec[8192];
    size_t o;

    subtest("validate");
    ok(check("{" BASE ",\"to\":\"b@example.com\",\"subject\":\"hi\",\"text\":\"x\"}", NULL, &err) ==
           ACT_OK,
       "a minimal spec is accepted");
    ok(check("{" BASE ",\"to\":[\"{{ event.data.to }}\",\"Zoë <z@example.com>\"],\"cc\":"
             "\"c@example.com\",\"bcc\":[\"d@example.com\"],\"reply_to\":\"r@example.com\","
             "\"subject\":\"Order {{ event.data.id }}\",\"html\":\"<b>{{ input.x }}</b>\","
             "\"starttls\":\"required\",\"ca_file\":\"/etc/ssl/ca.pem\",\"timeout_ms\":5000}",
             "{\"username\":\"u\",\"password\":\"p\"}", &err) == ACT_OK,
       "a full spec with templates and credentials is accepted");
    ok(check("{\"kind\":\"email\",\"smtp_url\":\"smtps://mail.example.com\",\"from\":"
             "\"a@example.com\",\"bcc\":\"b@example.com\",\"subject\":\"\",\"text\":\"x\"}",
             NULL, &err) == ACT_OK,
       "smtps:// with only a bcc recipient and an empty subject is accepted");

    rejects("{\"kind\":\"email\",\"from\":\"a@example.com\",\"to\":\"b@example.com\",\"subject\":"
            "\"s\",\"text\":\"t\"}",
            NULL, "handler.smtp_url", "required", "smtp_url is required");
    rejects("{\"kind\":\"email\",\"smtp_url\":\"http://127.0.0.1\",\"from\":\"a@example.com\","
            "\"to\":\"b@example.com\",\"subject\":\"s\",\"text\":\"t\"}",
            NULL, "handler.smtp_url", "smtp or smtps", "an http URL is refused");
    rejects("{\"kind\":\"email\",\"smtp_url\":\"smtp://u:pw@127.0.0.1\",\"from\":"
            "\"a@example.com\",\"to\":\"b@example.com\",\"subject\":\"s\",\"text\":\"t\"}",
            NULL, "handler.smtp_url", "credentials", "credentials in the URL are refused");
    rejects("{\"kind\":\"email\",\"smtp_url\":\"smtp://127.0.0.1/x?y\",\"from\":"
            "\"a@example.com\",\"to\":\"b@example.com\",\"subject\":\"s\",\"text\":\"t\"}",
            NULL, "handler.smtp_url", "no path", "a path or query is refused");
    rejects("{\"kind\":\"email\",\"smtp_url\":\"smtp://{{ event.host }}\",\"from\":"
            "\"a@example.com\",\"to\":\"b@example.com\",\"subject\":\"s\",\"text\":\"t\"}",
            NULL, "handler.smtp_url", "cannot be templated", "a templated URL is refused");
    rejects("{" BASE ",\"to\":\"b@example.com\",\"subject\":\"s\",\"text\":\"t\",\"sender\":1}",
            NULL, "handler.sender", "unknown member", "an unknown member is refused");
    rejects("{\"kind\":\"email\",\"smtp_url\":\"smtp://127.0.0.1\",\"to\":\"b@example.com\","
            "\"subject\":\"s\",\"text\":\"t\"}",
            NULL, "handler.from", "required", "from is required");
    rejects("{\"kind\":\"email\",\"smtp_url\":\"smtp://127.0.0.1\",\"from\":\"nobody\","
            "\"to\":\"b@example.com\",\"subject\":\"s\",\"text\":\"t\"}",
            NULL, "handler.from", "not an email address", "a from without @ is refused");
    rejects("{" BASE ",\"subject\":\"s\",\"text\":\"t\"}", NULL, "handler.to",
            "at least one recipient", "a spec without recipients is refused");
    rejects("{" BASE ",\"to\":[\"b@example.com\",\"b@@example.com\"],\"subject\":\"s\","
            "\"text\":\"t\"}",
            NULL, "handler.to[1]", "not an email address", "a bad list member names its index");
    rejects("{" BASE ",\"to\":\"b@example.com, c@example.com\",\"subject\":\"s\",\"text\":\"t\"}",
            NULL, "handler.to", "use an array", "a comma list in one string is refused");
    rejects("{" BASE ",\"to\":[],\"subject\":\"s\",\"text\":\"t\"}", NULL, "handler.to",
            "non-empty array", "an empty recipient array is refused");
    rejects("{" BASE ",\"to\":\"b@example.com\",\"cc\":7,\"subject\":\"s\",\"text\":\"t\"}", NULL,
            "handler.cc", "address or", "a number as cc is refused");
    rejects("{" BASE ",\"to\":\"b@example.com\",\"reply_to\":\"x@y\\r\\nBcc: evil@example.com\","
            "\"subject\":\"s\",\"text\":\"t\"}",
            NULL, "handler.reply_to", "header injection", "CR/LF in reply_to is injection");
    rejects("{" BASE ",\"to\":\"b@example.com\",\"subject\":\"hi\\r\\nBcc: evil@example.com\","
            "\"text\":\"t\"}",
            NULL, "handler.subject", "header injection", "CR/LF in a literal subject is injection");
    rejects("{" BASE ",\"to\":\"b@example.com\",\"text\":\"t\"}", NULL, "handler.subject",
            "required", "subject is required");
    rejects("{" BASE ",\"to\":\"b@example.com\",\"subject\":\"s\"}", NULL, "handler.text",
            "text or html", "a spec without text or html is refused");
    rejects("{" BASE ",\"to\":\"b@example.com\",\"subject\":\"{{ event. }}\",\"text\":\"t\"}",
            NULL, "handler.subject", "", "a template that does not compile names its field");
    rejects("{" BASE ",\"to\":\"b@example.com\",\"subject\":\"s\",\"text\":\"t\",\"starttls\":"
            "\"maybe\"}",
            NULL, "handler.starttls", "try, required, never", "an unknown starttls is refused");
    rejects("{\"kind\":\"email\",\"smtp_url\":\"smtps://127.0.0.1\",\"from\":\"a@example.com\","
            "\"to\":\"b@example.com\",\"subject\":\"s\",\"text\":\"t\",\"starttls\":\"never\"}",
            NULL, "handler.starttls", "contradicts", "starttls never with smtps is refused");
    rejects("{" BASE ",\"to\":\"b@example.com\",\"subject\":\"s\",\"text\":\"t\",\"ca_file\":"
            "\"ca.pem\"}",
            NULL, "handler.ca_file", "absolute path", "a relative ca_file is refused");
    rejects("{" BASE ",\"to\":\"b@example.com\",\"subject\":\"s\",\"text\":\"t\",\"timeout_ms\":0}",
            NULL, "handler.timeout_ms", "1..600000", "timeout_ms 0 is refused");
    rejects("{" BASE ",\"to\":\"b@example.com\",\"subject\":\"s\",\"text\":\"t\"}",
            "{\"username\":\"u\"}", "config.password", "with a username",
            "a username without a password is refused");
    rejects("{" BASE ",\"to\":\"b@example.com\",\"subject\":\"s\",\"text\":\"t\"}",
            "{\"password\":\"p\"}", "config.username", "with a password",
            "a password without a username is refused");
    rejects("{" BASE ",\"to\":\"b@example.com\",\"subject\":\"s\",\"text\":\"t\"}",
            "{\"username\":\"u\",\"password\":\"v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
            "config.password", "", "a sealed password that does not open is refused");

    /* 101 literal recipients. */
    o = (size_t)snprintf(spec, sizeof(spec), "{" BASE ",\"subject\":\"s\",\"text\":\"t\",\"to\":[");
    for (int i = 0; i <= ACT_EMAIL_RCPT_MAX; i++)
        o += (size_t)snprintf(spec + o, sizeof(spec) - o, "%s\"u%d@example.com\"", i ? "," : "",
                              i);
    snprintf(spec + o, sizeof(spec) - o, "]}");
    rejects(spec, NULL, "handler.to[100]", "more than 100", "101 recipients are refused");
}

static void test_sealed_password(void)
{
    char dir[] = "/tmp/act-email-XXXXXX", *sealed = NULL, cfg[512];
    struct act_err err = {0};

    subtest("sealed password");
    if (!mkdtemp(dir) || act_secret_box_init(dir, &err) < 0 ||
        act_secret_box_seal("hunter2", &sealed, &err) < 0) {
        skip("secret box unavailable", "sealed password opens");
        return;
    }
    snprintf(cfg, sizeof(cfg), "{\"username\":\"u\",\"password\":\"%s\"}", sealed);
    ok(check("{" BASE ",\"to\":\"b@example.com\",\"subject\":\"s\",\"text\":\"t\"}", cfg, &err) ==
           ACT_OK,
       "a sealed password that opens is accepted");
    sealed[strlen(sealed) - 3] ^= 1; /* tamper */
    snprintf(cfg, sizeof(cfg), "{\"username\":\"u\",\"password\":\"%s\"}", sealed);
    rejects("{" BASE ",\"to\":\"b@example.com\",\"subject\":\"s\",\"text\":\"t\"}", cfg,
            "config.password", "", "a tampered sealed password is refused");
    act_free(sealed);
    act_secret_box_release();
    {
        char path[600];

        snprintf(path, sizeof(path), "%s/%s", dir, ACT_SECRET_KEY_FILE);
        unlink(path);
        rmdir(dir);
    }
}

/* ---- addresses ---- */

static void addr_is(const char *in, const char *name, const char *addr)
{
    struct act_email_addr a;
    struct act_err err = {0};
    int rc = act_email_addr_parse(in, strlen(in), "handler.to", &a, &err);

    ok(rc == ACT_OK && strcmp(a.addr, addr) == 0 &&
           ((!name && !a.name) || (name && a.name && strcmp(a.name, name) == 0)),
       "parse '%s'", in);
    if (rc != ACT_OK)
        diag("%s", err.msg);
    else if (strcmp(a.addr, addr) != 0 || (name && (!a.name || strcmp(a.name, name) != 0)))
        diag("got name '%s' addr '%s'", a.name ? a.name : "(null)", a.addr);
    act_email_addr_release(&a);
}

static void addr_bad(const char *in, const char *words)
{
    struct act_email_addr a;
    struct act_err err = {0};
    int rc = act_email_addr_parse(in, strlen(in), "handler.to", &a, &err);
    char shown[128];
    size_t o = 0;

    /* The test name on one line: CR, LF and tab spelled out. */
    for (const char *c = in; *c && o + 3 < sizeof(shown); c++) {
        const char *esc = *c == '\r' ? "\\r" : *c == '\n' ? "\\n" : *c == '\t' ? "\\t" : NULL;

        if (esc) {
            memcpy(shown + o, esc, 2);
            o += 2;
        } else {
            shown[o++] = *c;
        }
    }
    shown[o] = '\0';
    ok(rc == ACT_EUNPROC && strcmp(err.field, "handler.to") == 0 && strstr(err.msg, words),
       "refuse '%s' (%s)", shown, words);
    if (rc != ACT_EUNPROC || !strstr(err.msg, words))
        diag("rc %d msg '%s'", rc, err.msg);
}

static void test_addresses(void)
{
    subtest("addresses");
    addr_is("user@example.com", NULL, "user@example.com");
    addr_is("  user@example.com ", NULL, "user@example.com");
    addr_is("Ann Lee <ann@example.com>", "Ann Lee", "ann@example.com");
    addr_is("\"Doe, John\" <j.doe+tag@mail.example.org>", "Doe, John",
            "j.doe+tag@mail.example.org");
    addr_is("\"Say \\\"hi\\\"\" <x@example.com>", "Say \"hi\"", "x@example.com");
    addr_is("Zoë Ω <z@example.com>", "Zoë Ω", "z@example.com");
    addr_is("<bare@example.com>", NULL, "bare@example.com");
    addr_is("ops@[192.0.2.1]", NULL, "ops@[192.0.2.1]");
    addr_is("root@mailhost", NULL, "root@mailhost");
    addr_bad("", "empty");
    addr_bad("no-at.example.com", "no @");
    addr_bad("a@@example.com", "not an email address");
    addr_bad(".a@example.com", "bad local part");
    addr_bad("a..b@example.com", "bad local part");
    addr_bad("a@-example.com", "bad domain");
    addr_bad("a@example..com", "bad domain");
    addr_bad("a b@example.com", "one email address");
    addr_bad("a@example.com>", "'>' without '<'");
    addr_bad("ä@example.com", "must be ASCII");
    addr_bad("\"q\"@example.com", "quoted local parts");
    addr_bad("a@example.com\r\nBcc: evil@example.com", "header injection");
    addr_bad("Evil\n <a@example.com>", "header injection");
    addr_bad("a\t@example.com", "control character");
}

/* ---- the message ---- */

static void test_message_basic(void)
{
    size_t len;
    char *m = build("{\"from\":\"Shop <shop@example.com>\",\"to\":[\"Ann <ann@example.com>\","
                    "\"bob@example.com\"],\"cc\":\"carol@example.com\",\"bcc\":"
                    "\"hidden@example.com\",\"reply_to\":\"help@example.com\",\"subject\":"
                    "\"Your order\",\"text\":\"Hello Ann\\nTotal = 5\\n\"}",
                    "01a2-root/1", &len);
    char *text;

    subtest("message: headers and a text body");
    is_str(header(m, "Date"), "Thu, 01 Jan 1970 00:00:00 +0000", "Date in RFC 5322 form, UTC");
    is_str(header(m, "From"), "\"Shop\" <shop@example.com>", "From with its display name");
    is_str(header(m, "To"), "\"Ann\" <ann@example.com>, bob@example.com", "To lists both");
    is_str(header(m, "Cc"), "carol@example.com", "Cc");
    is_str(header(m, "Reply-To"), "help@example.com", "Reply-To");
    is_str(header(m, "Subject"), "Your order", "an ASCII subject goes as is");
    is_str(header(m, "Message-ID"), "<01a2-root-1@example.com>",
           "Message-ID from the root id (unsafe characters replaced) at the From domain");
    is_str(header(m, "MIME-Version"), "1.0", "MIME-Version");
    is_str(header(m, "Content-Type"), "text/plain; charset=UTF-8", "one text/plain part");
    ok(!strstr(m, "hidden@example.com") && !strstr(m, "Bcc"), "the Bcc recipient is in no header");
    ok(lines_ok(m, 998), "CRLF line ends, lines within 998 bytes");
    text = part_text(m, "text/plain");
    is_str(text, "Hello Ann\r\nTotal = 5\r\n", "the text decodes back, line ends as CRLF");
    ok(strstr(m, "Total =3D 5"), "'=' is quoted-printable encoded");
    act_free(text);
    act_free(m);

    m = build("{\"from\":\"a@example.com\",\"bcc\":\"b@example.com\",\"subject\":\"x\","
              "\"html\":\"<p>hi</p>\"}",
              "r", &len);
    is_str(header(m, "To"), "undisclosed-recipients:;", "only Bcc: To is undisclosed-recipients");
    is_str(header(m, "Content-Type"), "text/html; charset=UTF-8", "html alone: one text/html part");
    act_free(m);
}

static void test_message_encoding(void)
{
    char subject[4096], body[8192], members[16384], *m, *d, *t;
    size_t len, o = 0;

    subtest("message: encoded words, folding, bodies");
    m = build("{\"from\":\"Zoë Müller <z@example.com>\",\"to\":\"b@example.com\",\"subject\":"
              "\"Grüße\",\"text\":\"x\"}",
              "r", &len);
    is_str(header(m, "Subject"), "=?UTF-8?B?R3LDvMOfZQ==?=",
           "a non-ASCII subject is an encoded word");
    d = decode_words(header(m, "From"));
    is_str(d, "Zoë Müller <z@example.com>", "a non-ASCII display name decodes back");
    act_free(d);
    act_free(m);

    m = build("{\"from\":\"a@example.com\",\"to\":\"b@example.com\",\"subject\":\"cost =?x?= "
              "here\",\"text\":\"x\"}",
              "r", &len);
    ok(strstr(m, "Subject: =?UTF-8?B?"), "an ASCII subject holding '=?' is encoded too");
    d = decode_words(header(m, "Subject"));
    is_str(d, "cost =?x?= here", "and decodes back");
    act_free(d);
    act_free(m);

    /* A long non-ASCII subject: many encoded words, each within 75. */
    for (int i = 0; i < 300; i++)
        o += (size_t)snprintf(subject + o, sizeof(subject) - o, "é");
    snprintf(members, sizeof(members),
             "{\"from\":\"a@example.com\",\"to\":\"b@example.com\",\"subject\":\"%s\","
             "\"text\":\"x\"}",
             subject);
    m = build(members, "r", &len);
    ok(lines_ok(m, 78), "a 600-byte non-ASCII subject folds into lines within 78");
    d = decode_words(header(m, "Subject"));
    is_str(d, subject, "its encoded words decode back (no character split)");
    act_free(d);
    act_free(m);

    /* A long ASCII subject folds at spaces and unfolds to itself. */
    o = 0;
    for (int i = 0; i < 40; i++)
        o += (size_t)snprintf(subject + o, sizeof(subject) - o, "%sword%d", i ? " " : "", i);
    snprintf(members, sizeof(members),
             "{\"from\":\"a@example.com\",\"to\":\"b@example.com\",\"subject\":\"%s\","
             "\"text\":\"x\"}",
             subject);
    m = build(members, "r", &len);
    ok(lines_ok(m, 78), "a long ASCII subject is folded within 78");
    is_str(header(m, "Subject"), subject, "and unfolds to the same text");
    act_free(m);

    /* A body line of 3000 bytes, trailing spaces, '=' and UTF-8. */
    o = 0;
    for (int i = 0; i < 300; i++)
        o += (size_t)snprintf(body + o, sizeof(body) - o, "0123456789");
    o += (size_t)snprintf(body + o, sizeof(body) - o,
                          "\\nend with spaces   \\na=b \\u00e9t\\u00e9\\n.");
    snprintf(members, sizeof(members),
             "{\"from\":\"a@example.com\",\"to\":\"b@example.com\",\"subject\":\"s\","
             "\"text\":\"%s\"}",
             body);
    m = build(members, "r", &len);
    ok(lines_ok(m, 76), "quoted-printable lines stay within 76");
    t = part_text(m, "text/plain");
    ok(strlen(t) == 3000 + 2 + 18 + 2 + 9 + 2 + 1 &&
           strstr(t, "\r\nend with spaces   \r\na=b été\r\n.") && t[strlen(t) - 1] == '.',
       "the body decodes back exactly (trailing spaces, '=', UTF-8, no added line break)");
    ok(strstr(m, "spaces  =20\r\n"), "a trailing space is encoded");
    act_free(t);
    act_free(m);

    /* Mostly non-ASCII: base64. */
    m = build("{\"from\":\"a@example.com\",\"to\":\"b@example.com\",\"subject\":\"s\",\"text\":"
              "\"\\u65e5\\u672c\\u8a9e\\u306e\\u30c6\\u30ad\\u30b9\\u30c8\\n\\u65e5\\u672c\\u8a9e"
              "\"}",
              "r", &len);
    ok(strstr(m, "Content-Transfer-Encoding: base64"), "a mostly non-ASCII body goes as base64");
    t = part_text(m, "text/plain");
    is_str(t, "日本語のテキスト\r\n日本語", "and decodes back");
    act_free(t);
    act_free(m);
}

static void test_message_multipart(void)
{
    size_t len;
    char *m = build("{\"from\":\"a@example.com\",\"to\":\"b@example.com\",\"subject\":\"s\","
                    "\"text\":\"plain\\n\",\"html\":\"<p>rich</p>\"}",
                    "root", &len);
    const char *ct = header(m, "Content-Type"), *bd;
    char boundary[128], *t;

    subtest("message: multipart/alternative");
    ok(strncmp(ct, "multipart/alternative; boundary=\"=_", 35) == 0,
       "text + html: multipart/alternative with a '=_' boundary");
    bd = strstr(ct, "boundary=\"");
    snprintf(boundary, sizeof(boundary), "%.*s", (int)strcspn(bd + 10, "\""), bd + 10);
    {
        char open[160], close[160];
        const char *a, *b, *c;

        snprintf(open, sizeof(open), "\r\n--%s\r\n", boundary);
        snprintf(close, sizeof(close), "\r\n--%s--\r\n", boundary);
        a = strstr(m, open);
        b = a ? strstr(a + 1, open) : NULL;
        c = b ? strstr(b, close) : NULL;
        ok(a && b && c && strstr(a, "text/plain") < b && strstr(b, "text/html") < c,
           "two delimiters and a close, text first then html");
    }
    t = part_text(m, "text/plain");
    is_str(t, "plain\r\n", "the text part keeps its own final line break");
    act_free(t);
    t = part_text(m, "text/html");
    is_str(t, "<p>rich</p>", "the html part decodes back");
    act_free(t);
    ok(lines_ok(m, 998), "line rules hold");
    act_free(m);
}

static void fill_bad(const char *members, const char *field, const char *words, const char *name)
{
    struct act_email_msg m;
    struct act_err err = {0};
    json_t *spec = J(members);
    int rc = act_email_msg_fill(spec, &m, &err);

    ok(rc == ACT_EUNPROC && strcmp(err.field, field) == 0 && strstr(err.msg, words), "%s", name);
    if (rc != ACT_EUNPROC || strcmp(err.field, field) != 0 || !strstr(err.msg, words))
        diag("rc %d field '%s' msg '%s'", rc, err.field, err.msg);
    json_decref(spec);
}

static void test_rendered(void)
{
    struct act_email_msg m;
    struct act_err err = {0};
    json_t *spec, *big;
    char *s;
    int rc;

    subtest("rendered values");
    spec = J("{\"from\":\"a@example.com\",\"to\":[[\"x@example.com\",\"y@example.com\"],"
             "\"z@example.com\"],\"bcc\":[\"w@example.com\"],\"subject\":42,\"text\":null,"
             "\"html\":\"<i>h</i>\"}");
    rc = act_email_msg_fill(spec, &m, &err);
    ok(rc == ACT_OK && m.n_to == 3 && m.n_bcc == 1 && strcmp(m.rcpt[1].addr, "y@example.com") == 0,
       "a template that yielded an array is flattened into the list");
    ok(rc == ACT_OK && strcmp(m.subject, "42") == 0, "a number subject is its JSON text");
    ok(rc == ACT_OK && !m.text && m.html, "a null text is absent");
    if (rc == ACT_OK)
        act_email_msg_release(&m);
    json_decref(spec);

    fill_bad("{\"from\":\"a@example.com\",\"to\":\"b@example.com\",\"subject\":\"hi\\r\\nBcc: "
             "evil@example.com\",\"text\":\"t\"}",
             "handler.subject", "header injection", "a rendered subject with CR/LF is refused");
    fill_bad("{\"from\":\"a@example.com\",\"to\":[\"b@example.com\",[\"c@example.com\",7]],"
             "\"subject\":\"s\",\"text\":\"t\"}",
             "handler.to[1]", "must be a string", "a non-string inside a rendered list is refused");
    fill_bad("{\"from\":\"a@example.com\",\"to\":null,\"subject\":\"s\",\"text\":\"t\"}",
             "handler.to", "at least one recipient", "all lists rendered empty is refused");
    fill_bad("{\"from\":\"a@example.com\",\"to\":\"b@example.com\",\"subject\":\"s\","
             "\"text\":null,\"html\":null}",
             "handler.text", "text or html", "text and html both null is refused");
    fill_bad("{\"from\":[\"a@example.com\"],\"to\":\"b@example.com\",\"subject\":\"s\","
             "\"text\":\"t\"}",
             "handler.from", "one address", "from rendered to an array is refused");

    big = json_array();
    for (int i = 0; i <= ACT_EMAIL_RCPT_MAX; i++) {
        char a[32];

        snprintf(a, sizeof(a), "u%d@example.com", i);
        json_array_append_new(big, json_string(a));
    }
    spec = json_pack("{s:s,s:[o],s:s,s:s}", "from", "a@example.com", "to", big, "subject", "s",
                     "text", "t");
    rc = act_email_msg_fill(spec, &m, &err);
    ok(rc == ACT_EUNPROC && strstr(err.msg, "more than 100"),
       "a template list of 101 recipients is refused");
    json_decref(spec);

    s = act_xmalloc(ACT_EMAIL_SUBJECT_MAX + 2);
    memset(s, 'a', ACT_EMAIL_SUBJECT_MAX + 1);
    s[ACT_EMAIL_SUBJECT_MAX + 1] = '\0';
    spec = json_pack("{s:s,s:s,s:s,s:s}", "from", "a@example.com", "to", "b@example.com",
                     "subject", s, "text", "t");
    rc = act_email_msg_fill(spec, &m, &err);
    ok(rc == ACT_EUNPROC && strcmp(err.field, "handler.subject") == 0,
       "a subject over %d bytes is refused", ACT_EMAIL_SUBJECT_MAX);
    json_decref(spec);
    act_free(s);
}

/* ---- attempts against a scripted SMTP imitation ---- */

static struct {
    int fd, port;
    pthread_t thr;
    atomic_int stop, sessions;
    pthread_mutex_t lock;
    char *last;          /* the last message received (guarded by lock) */
    char rcpts[1024];    /* RCPT addresses of the last session, space-separated */
} S = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void say(int fd, const char *s)
{
    (void)!send(fd, s, strlen(s), MSG_NOSIGNAL);
}

/* Read one CRLF line into line (cap); false on EOF or stop. */
static bool read_line(int fd, char *buf, size_t *have, char *line, size_t cap)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    for (;;) {
        char *eol = memchr(buf, '\n', *have);

        if (eol) {
            size_t n = (size_t)(eol - buf) + 1;

            snprintf(line, cap, "%.*s", (int)(n >= 2 ? n - 2 : 0), buf);
            memmove(buf, buf + n, *have - n);
            *have -= n;
            return true;
        }
        if (*have >= 65536 || atomic_load(&S.stop))
            return false;
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t r = recv(fd, buf + *have, 65536 - *have, 0);

        if (r <= 0)
            return false;
        *have += (size_t)r;
    }
}

/* One session: 220, EHLO without STARTTLS, MAIL, RCPT (reject@ -> 550,
 * busy@ -> 451), DATA up to ".", QUIT. */
static void session(int fd)
{
    char *buf = act_xmalloc(65536), line[2048];
    size_t have = 0;

    say(fd, "220 imitation ESMTP\r\n");
    pthread_mutex_lock(&S.lock);
    S.rcpts[0] = '\0';
    pthread_mutex_unlock(&S.lock);
    while (read_line(fd, buf, &have, line, sizeof(line))) {
        if (strncasecmp(line, "EHLO", 4) == 0) {
            say(fd, "250-imitation\r\n250 8BITMIME\r\n");
        } else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
            say(fd, "250 OK\r\n");
        } else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
            pthread_mutex_lock(&S.lock);
            size_t used = strlen(S.rcpts), n = strlen(line + 8);

            if (n + 1 < sizeof(S.rcpts) - used) { /* keep what fits */
                memcpy(S.rcpts + used, line + 8, n);
                memcpy(S.rcpts + used + n, " ", 2);
            }
            pthread_mutex_unlock(&S.lock);
            if (strstr(line, "<reject@"))
                say(fd, "550 5.1.1 <reject@example.com>: mailbox unavailable\r\n");
            else if (strstr(line, "<busy@"))
                say(fd, "451 4.3.0 try again later\r\n");
            else
                say(fd, "250 OK\r\n");
        } else if (strcasecmp(line, "DATA") == 0) {
            size_t cap = 4096, n = 0;
            char *msg = act_xmalloc(cap);

            say(fd, "354 go ahead\r\n");
            while (read_line(fd, buf, &have, line, sizeof(line)) && strcmp(line, ".") != 0) {
                size_t l = strlen(line);

                while (n + l + 3 > cap)
                    msg = act_xrealloc(msg, cap *= 2);
                memcpy(msg + n, line, l);
                memcpy(msg + n + l, "\r\n", 2);
                n += l + 2;
            }
            msg[n] = '\0';
            pthread_mutex_lock(&S.lock);
            act_free(S.last);
            S.last = msg;
            pthread_mutex_unlock(&S.lock);
            say(fd, "250 2.0.0 queued\r\n");
        } else if (strcasecmp(line, "QUIT") == 0) {
            say(fd, "221 bye\r\n");
            break;
        } else if (strcasecmp(line, "RSET") == 0 || strcasecmp(line, "NOOP") == 0) {
            say(fd, "250 OK\r\n");
        } else {
            say(fd, "500 unknown command\r\n");
        }
    }
    act_free(buf);
}

static void *server_main(void *arg)
{
    struct pollfd p = {.fd = S.fd, .events = POLLIN};

    (void)arg;
    while (!atomic_load(&S.stop)) {
        int c;

        if (poll(&p, 1, 50) <= 0 || (c = accept(S.fd, NULL, NULL)) < 0)
            continue;
        atomic_fetch_add(&S.sessions, 1);
        session(c);
        close(c);
    }
    return NULL;
}

static int server_start(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);

    S.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (S.fd < 0 || bind(S.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(S.fd, 16) < 0 ||
        getsockname(S.fd, (struct sockaddr *)&sa, &sl) < 0)
        return -1;
    S.port = ntohs(sa.sin_port);
    return pthread_create(&S.thr, NULL, server_main, NULL) == 0 ? 0 : -1;
}

static void server_stop(void)
{
    atomic_store(&S.stop, 1);
    pthread_join(S.thr, NULL);
    close(S.fd);
    act_free(S.last);
}

static char *last_message(void)
{
    char *m;

    pthread_mutex_lock(&S.lock);
    m = act_xstrdup(S.last ? S.last : "");
    pthread_mutex_unlock(&S.lock);
    return m;
}

#define SPEC_T                                                                                  \
    "{\"kind\":\"email\",\"smtp_url\":\"smtp://127.0.0.1:%d\",\"from\":\"Shop "               \
    "<shop@example.com>\",\"to\":\"{{ event.data.emails }}\",\"cc\":\"{{ event.data.cc }}\","  \
    "\"subject\":\"Order {{ event.data.id }} for {{ event.data.name }}\","                     \
    "\"text\":\"Hi {{ event.data.name }}, total {{ event.data.total }}\","                     \
    "\"html\":\"<p>{{ event.data.name }}</p>\",\"starttls\":\"never\"}"

struct run {
    int rc;
    struct act_handler_result res;
};

/* Open SPEC_T for `port`, run one attempt with the event (JSON text). */
static void run_one(int port, const char *event_text, const char *exec_id,
                    const char *root_id, int attempt, struct run *out)
{
    const struct act_handler_ops *ops = act_handler_find("email");
    char spec[4096];
    json_t *h, *config = json_object(), *event = J(event_text), *input;
    struct act_err err = {0};
    void *st = NULL;
    struct act_handler_call call = {0};

    snprintf(spec, sizeof(spec), SPEC_T, port);
    h = J(spec);
    input = json_incref(json_object_get(event, "data"));
    memset(out, 0, sizeof(*out));
    if ((out->rc = ops->open(h, config, &st, &err)) < 0) {
        snprintf(out->res.error, sizeof(out->res.error), "open: %s: %s", err.field, err.msg);
    } else {
        call.execution_id = exec_id;
        call.root_id = root_id;
        call.attempt = attempt;
        call.action_name = "mail";
        call.event = event;
        call.input = input;
        call.config = config;
        call.timeout_ms = 10000;
        out->rc = ops->execute(st, &call, &out->res);
        ops->close(st);
    }
    json_decref(h);
    json_decref(config);
    json_decref(event);
    json_decref(input);
}

static void test_attempts(void)
{
    struct run r;
    char *m;
    int before;

    subtest("attempts against a scripted SMTP imitation");
    if (server_start() < 0) {
        skip("cannot listen on 127.0.0.1", "attempts");
        return;
    }
    act_ssrf_set_allow("127.0.0.0/8", NULL);

    run_one(S.port,
            "{\"type\":\"order.paid\",\"data\":{\"id\":42,\"name\":\"Ann\",\"total\":9.5,"
            "\"emails\":[\"ann@example.com\",\"Bob <bob@example.com>\"],\"cc\":null}}",
            "exec-1", "root-1", 1, &r);
    ok(r.rc == ACT_OK, "an attempt succeeds");
    if (r.rc != ACT_OK)
        diag("%s", r.res.error);
    m = last_message();
    is_str(header(m, "Subject"), "Order 42 for Ann", "the subject is rendered from the event");
    is_str(header(m, "To"), "ann@example.com, \"Bob\" <bob@example.com>",
           "a template yielding an array fills To");
    ok(!strstr(m, "\r\nCc:"), "a cc rendered null adds no Cc header");
    ok(strstr(m, "Hi Ann, total 9.5") != NULL, "the text body is rendered");
    is_str(header(m, "Message-ID"), "<root-1@example.com>", "Message-ID from the root id");
    ok(strstr(S.rcpts, "<ann@example.com>") && strstr(S.rcpts, "<bob@example.com>"),
       "the envelope names both recipients");
    {
        json_t *o = r.res.output;

        ok(json_is_object(o) &&
               strcmp(json_string_value(json_object_get(o, "message_id")),
                      "<root-1@example.com>") == 0 &&
               json_array_size(json_object_get(o, "accepted")) == 2 &&
               json_integer_value(json_object_get(o, "smtp_status")) == 250,
           "output {message_id, accepted, smtp_status: 250}");
    }
    act_free(m);
    act_handler_result_release(&r.res);

    run_one(S.port,
            "{\"type\":\"order.paid\",\"data\":{\"id\":42,\"name\":\"Ann\",\"total\":9.5,"
            "\"emails\":\"ann@example.com\"}}",
            "exec-2", "root-1", 2, &r);
    m = last_message();
    ok(r.rc == ACT_OK && strcmp(header(m, "Message-ID"), "<root-1@example.com>") == 0,
       "a retry (attempt 2, another execution id) carries the same Message-ID");
    act_free(m);
    act_handler_result_release(&r.res);

    run_one(S.port,
            "{\"data\":{\"id\":1,\"name\":\"A\",\"emails\":[\"ok@example.com\","
            "\"reject@example.com\"]}}",
            "exec-3", "root-3", 1, &r);
    ok(r.rc < 0 && r.res.permanent, "550 from the server is a permanent failure");
    ok(strstr(r.res.error, "550 5.1.1 <reject@example.com>: mailbox unavailable") &&
           strstr(r.res.error, "127.0.0.1:"),
       "the error names the server and its reply: %s", r.res.error);
    ok(json_integer_value(json_object_get(r.res.error_detail, "smtp_status")) == 550,
       "error_detail.smtp_status is 550");
    act_handler_result_release(&r.res);

    run_one(S.port, "{\"data\":{\"id\":1,\"name\":\"A\",\"emails\":\"busy@example.com\"}}",
            "exec-4", "root-4", 1, &r);
    ok(r.rc < 0 && !r.res.permanent && strstr(r.res.error, "451 4.3.0 try again later"),
       "451 is a retryable failure naming the reply: %s", r.res.error);
    act_handler_result_release(&r.res);

    before = atomic_load(&S.sessions);
    run_one(S.port,
            "{\"data\":{\"id\":1,\"name\":\"A\\r\\nBcc: evil@example.com\",\"emails\":"
            "\"ann@example.com\"}}",
            "exec-5", "root-5", 1, &r);
    ok(r.rc < 0 && r.res.permanent && strncmp(r.res.error, "handler.subject:", 16) == 0 &&
           strstr(r.res.error, "header injection"),
       "CR/LF from the event in the subject: permanent, naming the field: %s", r.res.error);
    is_int(atomic_load(&S.sessions), before, "and no SMTP session was opened");
    act_handler_result_release(&r.res);

    run_one(S.port, "{\"data\":{\"id\":1,\"name\":\"A\",\"emails\":\"not-an-address\"}}",
            "exec-6", "root-6", 1, &r);
    ok(r.rc < 0 && r.res.permanent && strstr(r.res.error, "handler.to:") &&
           strstr(r.res.error, "not an email address"),
       "a rendered bad address: permanent, naming handler.to: %s", r.res.error);
    act_handler_result_release(&r.res);

    run_one(S.port, "{\"data\":{\"id\":1,\"name\":\"A\",\"emails\":{\"x\":1}}}",
            "exec-7", "root-7", 1, &r);
    ok(r.rc < 0 && r.res.permanent && strstr(r.res.error, "handler.to"),
       "a rendered object as to: permanent: %s", r.res.error);
    act_handler_result_release(&r.res);

    /* The egress guard: without the allow list loopback is refused. */
    act_ssrf_set_allow(NULL, NULL);
    before = atomic_load(&S.sessions);
    run_one(S.port, "{\"data\":{\"id\":1,\"name\":\"A\",\"emails\":\"ann@example.com\"}}",
            "exec-8", "root-8", 1, &r);
    ok(r.rc < 0 && r.res.permanent &&
           strcmp(r.res.error, "refused 127.0.0.1: loopback (egress.allow does not admit it)") ==
               0,
       "loopback without egress.allow is refused, permanently: %s", r.res.error);
    is_int(atomic_load(&S.sessions), before, "without a connection");
    act_handler_result_release(&r.res);
    act_ssrf_set_allow("127.0.0.0/8", NULL);

    server_stop();
    /* Nothing listens any more: a connection failure is retryable. */
    run_one(S.port, "{\"data\":{\"id\":1,\"name\":\"A\",\"emails\":\"ann@example.com\"}}",
            "exec-9", "root-9", 1, &r);
    ok(r.rc < 0 && !r.res.permanent && strstr(r.res.error, "connect to 127.0.0.1:"),
       "a refused connection is retryable: %s", r.res.error);
    act_handler_result_release(&r.res);
}

int main(void)
{
    test_validate();
    test_sealed_password();
    test_addresses();
    test_message_basic();
    test_message_encoding();
    test_message_multipart();
    test_rendered();
    test_attempts();
    act_lua_thread_release(); /* the templates ran on this thread */
    return done_testing();
}
