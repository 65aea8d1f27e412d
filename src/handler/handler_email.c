/*
 * Kind `email`: send an attempt as one message over SMTP (smtp:// with
 * STARTTLS, or smtps://) through libcurl, without a thread per message.
 *
 *   handler: {"kind": "email", "smtp_url": "smtp://mail.example.com:587",
 *             "from": "...", "to": "a@x" | [...], "cc"?: ..., "bcc"?: ...,
 *             "reply_to"?: "...", "subject": "...", "text"?: "...",
 *             "html"?: "...", "starttls"?: "try" | "required" | "never",
 *             "ca_file"?: "/path/ca.pem", "timeout_ms"?: 30000}
 *   config:  {"username"?: "...", "password"?: "..." | "v1:<sealed>"}
 *
 * start() runs on a worker: it renders the templated members (one
 * act_template_render over {from, to, ..., html} with scope {event, input,
 * config, execution}), checks the result (handler_email_msg.c: addresses,
 * no CR/LF in headers, limits), builds the RFC 5322 message with a
 * Message-ID made from the root execution id (so every retry of one
 * execution carries the same Message-ID and receivers can drop duplicates),
 * configures a libcurl easy handle (MAIL FROM, RCPT TO for to+cc+bcc, the
 * message uploaded after DATA) and submits it to the shared HTTP loop
 * (http_loop.h).  The loop thread later calls on_xfer_done, which turns the
 * outcome into the result and calls done(ud, rc).
 *
 * Outcomes (docs/handlers/email.md):
 *   250 after DATA   success: {"message_id", "accepted": [envelope
 *                    recipients], "smtp_status": 250}
 *   5xx reply        permanent failure "<host:port> answered <reply>
 *                    (<curl's stage>)": 550 mailbox unavailable, 535 auth
 *                    failed, 530 STARTTLS first, ...
 *   4xx reply        retryable failure, same text
 *   rendering        permanent: the same event renders the same way
 *   refused          permanent, from the SSRF guard (ssrf.h)
 *   transport        connect, DNS, TLS, timeouts: retryable (a ca_file that
 *                    cannot be read, or STARTTLS missing when required, is
 *                    permanent)
 *
 * TLS: smtps:// is TLS from the start; smtp:// upgrades with STARTTLS when
 * the server offers it ("try", the default) or fails without it
 * ("required"; the default when config has credentials, so a password is
 * never sent in clear unless the spec says "try" or "never" itself).  The
 * peer is always verified, against ca_file when given.  One SMTP session
 * per message (no connection reuse), no proxy, the SSRF guard on every
 * socket.  Secrets: the password is opened at open(), kept in the state
 * and wiped at close; it is never logged nor put in an error.
 *
 * Invariants: the state is immutable after open, so start() runs from many
 * workers at once; an attempt owns its easy handle, lists and message until
 * on_xfer_done frees them; close() cancels the state's transfers through the
 * loop (their done callbacks run) before freeing the state.
 */
#include "base/alloc.h"
#include "base/time.h"
#include "handler/handler_email.h"
#include "handler/handler_internal.h"
#include "handler/http_loop.h"
#include "handler/secret_box.h"
#include "handler/ssrf.h"
#include "lua/lua.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CONNECT_TIMEOUT_MS 10000
#define REPLY_MAX 400

static const char *const tpl_members[] = {"from", "to",      "cc",   "bcc",
                                          "reply_to", "subject", "text", "html", NULL};

struct email_state {
    struct act_http_loop *loop;
    char *url;             /* normalised smtp_url */
    char hostport[300];    /* for messages */
    long use_ssl;          /* CURLUSESSL_* */
    char *ca_file;         /* NULL: the system's trust store */
    char *username;        /* NULL: no AUTH */
    char *password;        /* plaintext (opened if sealed); wiped at close */
    int64_t timeout_ms;
    json_t *tpl;           /* the message members of the spec */
    bool templated;        /* some string of tpl holds "{{" */
};

struct attempt {
    struct act_http_xfer xfer; /* first: on_xfer_done casts back */
    const struct email_state *st;
    struct act_handler_result *res;
    act_handler_done_fn *done;
    void *ud;
    char *mail_from;            /* "<addr>" */
    struct curl_slist *rcpts;   /* "<addr>" each */
    json_t *accepted;           /* the envelope recipients, for the output */
    char *message_id;
    char *msg;
    size_t msg_len, msg_off;
    int64_t timeout_ms, connect_ms;
    char cur[REPLY_MAX];        /* the reply being read (multi-line joined) */
    char reply[REPLY_MAX];      /* the last complete 4xx/5xx reply (a failure is
                                 * followed by QUIT and its 221) */
    bool in_reply;
    struct act_ssrf_guard guard;
    char errbuf[CURL_ERROR_SIZE];
};

/* ---- state ---- */

static void email_close(void *state)
{
    struct email_state *st = state;

    if (!st)
        return;
    if (st->loop) {
        act_http_loop_cancel(st->loop, st); /* every in-flight attempt ends first */
        act_http_loop_release(st->loop);
    }
    act_free(st->url);
    act_free(st->ca_file);
    act_free(st->username);
    act_secret_free(st->password);
    json_decref(st->tpl);
    act_free(st);
}

static bool has_template(const json_t *v)
{
    const json_t *e;
    size_t i;

    if (json_is_string(v))
        return strstr(json_string_value(v), "{{") != NULL;
    json_array_foreach(v, i, e)
        if (has_template(e))
            return true;
    return false;
}

static long use_ssl_of(const json_t *handler, bool smtps, bool credentials)
{
    const char *s = json_string_value(json_object_get(handler, "starttls"));

    if (smtps)
        return (long)CURLUSESSL_ALL;
    if (!s)
        return credentials ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY;
    if (strcmp(s, "never") == 0)
        return (long)CURLUSESSL_NONE;
    return strcmp(s, "required") == 0 ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY;
}

static int email_open(const json_t *handler, const json_t *config, void **state,
                      struct act_err *err)
{
    const json_t *pass = json_object_get(config, "password");
    const json_t *ca = json_object_get(handler, "ca_file");
    const json_t *to = json_object_get(handler, "timeout_ms");
    struct email_state *st;
    bool smtps = false;
    int rc;

    *state = NULL;
    if ((rc = act_email_spec_validate(handler, config, err)) < 0)
        return rc;
    st = act_xcalloc(1, sizeof(*st));
    st->timeout_ms = to ? (int64_t)json_integer_value(to) : ACT_EMAIL_TIMEOUT_DEFAULT_MS;
    st->ca_file = ca ? act_xstrdup(json_string_value(ca)) : NULL;
    st->tpl = json_object();
    for (size_t i = 0; tpl_members[i]; i++) {
        const json_t *v = json_object_get(handler, tpl_members[i]);

        if (v)
            json_object_set_new(st->tpl, tpl_members[i], json_deep_copy(v));
        st->templated = st->templated || has_template(v);
    }
    if (pass) {
        st->username = act_xstrdup(json_string_value(json_object_get(config, "username")));
        rc = act_http_kind_reveal(json_string_value(pass), "config.password", &st->password,
                                  err);
    }
    if (rc < 0 ||
        (rc = act_email_parse_url(json_string_value(json_object_get(handler, "smtp_url")),
                                  &st->url, st->hostport, sizeof(st->hostport), &smtps, err)) <
            0 ||
        (rc = act_http_loop_acquire(&st->loop, err)) < 0) {
        email_close(st);
        return rc;
    }
    st->use_ssl = use_ssl_of(handler, smtps, st->password != NULL);
    *state = st;
    return ACT_OK;
}

/* ---- the SMTP conversation ---- */

/* libcurl hands every SMTP reply line to the header callback: keep the
 * last complete error reply ("550 5.1.1 <x@y>: mailbox unavailable"),
 * joining the lines of a multi-line one. */
static size_t on_reply_line(char *line, size_t size, size_t nmemb, void *ud)
{
    struct attempt *a = ud;
    size_t n = size * nmemb, len, used;
    bool more = n >= 4 && line[3] == '-';

    len = n;
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;
    if (!a->in_reply)
        a->cur[0] = '\0';
    used = strlen(a->cur);
    if (used > 0 && used + 1 < sizeof(a->cur))
        a->cur[used++] = ' ';
    if (used < sizeof(a->cur))
        act_handler_clean_text(a->cur + used, sizeof(a->cur) - used, line, len, true);
    a->in_reply = more;
    if (!more && (a->cur[0] == '4' || a->cur[0] == '5'))
        memcpy(a->reply, a->cur, sizeof(a->reply));
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct attempt *a = ud;
    size_t n = size * nmemb, left = a->msg_len - a->msg_off;

    if (n > left)
        n = left;
    memcpy(buf, a->msg + a->msg_off, n);
    a->msg_off += n;
    return n;
}

/* The server refused: its reply and libcurl's account of the step
 * ("RCPT failed: 550", "Login denied"). */
static int reply_failure(struct attempt *a, long code, const char *stage)
{
    struct act_handler_result *res = a->res;

    res->permanent = code >= 500; /* 5xx: the server refuses; 4xx: try again later */
    res->error_detail = json_pack("{s:i,s:s,s:s}", "smtp_status", (int)code, "reply", a->reply,
                                  "stage", stage);
    return act_handler_fail(res, ACT_EPLUGIN, "%s answered %s (%s)", a->st->hostport,
                            a->reply[0] ? a->reply : "an error", stage);
}

/* A transfer that ended without a message accepted. */
static int smtp_failure(struct attempt *a, CURL *h, CURLcode cc)
{
    struct act_handler_result *res = a->res;
    const char *hp = a->st->hostport, *why = a->errbuf[0] ? a->errbuf : curl_easy_strerror(cc);
    curl_off_t connect_us = 0;
    long code = 0, os_errno = 0;

    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
    if (a->guard.n_refused > 0 && cc == CURLE_COULDNT_CONNECT) {
        res->permanent = true; /* policy, not luck: retrying cannot help */
        return act_handler_fail(res, ACT_EPLUGIN, "%s", a->guard.refused);
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK)
        return act_handler_fail(res, ACT_EPLUGIN, "cancelled: the email handler was closed");
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        if (a->xfer.waited_out)
            return act_handler_fail(res, ACT_ETIMEDOUT,
                                    "timed out after %lld ms waiting for one of the %d connections "
                                    "to %s", (long long)a->timeout_ms,
                                    ACT_HTTP_LOOP_MAX_HOST_CONNECTIONS, hp);
        if (connect_us == 0 && a->connect_ms < a->timeout_ms)
            return act_handler_fail(res, ACT_ETIMEDOUT, "connect to %s timed out after %lld ms",
                                    hp, (long long)a->connect_ms);
        return act_handler_fail(res, ACT_ETIMEDOUT, "timed out after %lld ms",
                                (long long)a->timeout_ms);
    }
    if (code >= 400 && code < 600)
        return reply_failure(a, code, why);
    switch (cc) {
    case CURLE_USE_SSL_FAILED:
        res->permanent = true;
        return act_handler_fail(res, ACT_EPLUGIN,
                                "%s does not offer STARTTLS and starttls is required (%s)", hp,
                                why);
    case CURLE_SSL_CACERT_BADFILE:
        res->permanent = true;
        return act_handler_fail(res, ACT_EPLUGIN, "ca_file cannot be used: %s", why);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
        return act_handler_fail(res, ACT_EPLUGIN, "TLS with %s failed: %s", hp, why);
    case CURLE_LOGIN_DENIED:
        res->permanent = true;
        return act_handler_fail(res, ACT_EPLUGIN, "%s refused the login (%s)", hp, why);
    case CURLE_COULDNT_CONNECT:
        return act_handler_fail(res, ACT_EPLUGIN, "connect to %s failed: %s", hp,
                                os_errno ? strerror((int)os_errno) : why);
    case CURLE_COULDNT_RESOLVE_HOST:
        return act_handler_fail(res, ACT_EPLUGIN, "cannot resolve the host of %s", hp);
    case CURLE_GOT_NOTHING:
        return act_handler_fail(res, ACT_EPLUGIN, "connection to %s closed without a reply", hp);
    default:
        break;
    }
    if (os_errno == ECONNRESET || os_errno == EPIPE)
        return act_handler_fail(res, ACT_EPLUGIN, "connection to %s reset by peer", hp);
    return act_handler_fail(res, ACT_EPLUGIN, "SMTP to %s failed: %s", hp, why);
}

static void attempt_free(struct attempt *a)
{
    act_http_loop_easy_put(a->st->loop, a->xfer.easy);
    curl_slist_free_all(a->rcpts);
    json_decref(a->accepted);
    act_free(a->mail_from);
    act_free(a->message_id);
    act_free(a->msg);
    act_free(a);
}

/* The loop says the transfer ended: fill the result, free, report. */
static void on_xfer_done(struct act_http_xfer *x, CURLcode cc)
{
    struct attempt *a = (struct attempt *)x;
    act_handler_done_fn *done = a->done;
    void *ud = a->ud;
    long code = 0;
    int rc = ACT_OK;

    if (cc == CURLE_OK) {
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        a->res->output = json_pack("{s:s,s:O,s:i}", "message_id", a->message_id, "accepted",
                                   a->accepted, "smtp_status", (int)code);
    } else {
        rc = smtp_failure(a, x->easy, cc);
    }
    attempt_free(a);
    done(ud, rc);
}

/* ---- one attempt ---- */

/* What went wrong with the rendered message is the event's doing, not
 * luck: the same event renders the same way, so the failure is permanent. */
static int message_failed(struct attempt *a, struct act_err *e)
{
    a->res->permanent = true;
    return act_handler_fail(a->res, ACT_EPLUGIN, "%s: %s", e->field[0] ? e->field : "handler",
                            e->msg);
}

/* Render, check and build the message; fill the envelope. */
static int prepare(struct attempt *a, const struct act_handler_call *call)
{
    const struct email_state *st = a->st;
    const char *root = call->root_id && call->root_id[0] ? call->root_id : call->execution_id;
    struct act_email_msg m;
    struct act_err e = {0};
    json_t *spec = NULL, *scope;
    size_t n;

    if (st->templated) {
        scope = act_handler_scope(call);
        if (act_template_render(st->tpl, scope, &spec, &e) < 0) {
            json_decref(scope);
            act_err_prefix_field(&e, "handler");
            return message_failed(a, &e);
        }
        json_decref(scope);
    } else {
        spec = json_incref(st->tpl);
    }
    if (act_email_msg_fill(spec, &m, &e) < 0) {
        json_decref(spec);
        return message_failed(a, &e);
    }
    json_decref(spec);
    a->message_id = act_email_message_id(root, &m.from);
    act_email_build(&m, a->message_id, act_time_now_us() / 1000000, &a->msg, &a->msg_len);
    a->mail_from = act_xasprintf("<%s>", m.from.addr);
    a->accepted = json_array();
    n = m.n_to + m.n_cc + m.n_bcc;
    for (size_t i = 0; i < n; i++) {
        char *r = act_xasprintf("<%s>", m.rcpt[i].addr);
        struct curl_slist *next = curl_slist_append(a->rcpts, r);

        act_free(r);
        if (!next)
            ACT_BUG("curl_slist_append: out of memory");
        a->rcpts = next;
        json_array_append_new(a->accepted, json_string(m.rcpt[i].addr));
    }
    act_email_msg_release(&m);
    return ACT_OK;
}

static void set_options(struct attempt *a)
{
    const struct email_state *st = a->st;
    CURL *h = a->xfer.easy;

    curl_easy_setopt(h, CURLOPT_URL, st->url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, a->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)a->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)a->connect_ms);
    curl_easy_setopt(h, CURLOPT_USE_SSL, st->use_ssl);
    if (st->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, st->ca_file);
    if (st->username) {
        curl_easy_setopt(h, CURLOPT_USERNAME, st->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, st->password);
    }
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, a->mail_from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, a->rcpts);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)a->msg_len);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, a);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_reply_line);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
    act_ssrf_guard_install(h, &a->guard);
}

static int email_start(void *state, const struct act_handler_call *call,
                       struct act_handler_result *res, act_handler_done_fn *done, void *ud)
{
    const struct email_state *st = state;
    struct attempt *a = act_xcalloc(1, sizeof(*a));
    int rc;

    res->retry_after_ms = -1;
    a->st = st;
    a->res = res;
    a->done = done;
    a->ud = ud;
    a->timeout_ms = st->timeout_ms;
    if (call->timeout_ms > 0 && call->timeout_ms < a->timeout_ms)
        a->timeout_ms = call->timeout_ms;
    a->connect_ms = a->timeout_ms < CONNECT_TIMEOUT_MS ? a->timeout_ms : CONNECT_TIMEOUT_MS;
    if ((rc = prepare(a, call)) < 0) {
        attempt_free(a);
        return rc;
    }
    if (!(a->xfer.easy = act_http_loop_easy_get(st->loop))) {
        attempt_free(a);
        return act_handler_fail(res, ACT_EIO, "libcurl could not create a handle");
    }
    set_options(a);
    a->xfer.owner = st;
    a->xfer.on_done = on_xfer_done;
    a->xfer.timeout_ms = a->timeout_ms; /* waiting for a connection counts */
    act_http_loop_submit(st->loop, &a->xfer);
    return ACT_OK;
}

static int email_execute(void *state, const struct act_handler_call *call,
                         struct act_handler_result *res)
{
    return act_handler_execute_sync(email_start, state, call, res);
}

#define ADDR_SCHEMA "{\"type\":\"string\",\"maxLength\":65536}"
#define LIST_SCHEMA                                                                             \
    "{\"oneOf\":[" ADDR_SCHEMA ",{\"type\":\"array\",\"minItems\":1,\"maxItems\":100,"          \
    "\"items\":" ADDR_SCHEMA "}]}"

const struct act_handler_ops act_handler_email_ops = {
    .kind = "email",
    .capabilities = "[\"async\",\"timeout\",\"remote\",\"templates\",\"egress_guard\"]",
    .schema =
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
        "\"type\":\"object\",\"required\":[\"kind\",\"smtp_url\",\"from\",\"subject\"],"
        "\"additionalProperties\":false,"
        "\"anyOf\":[{\"required\":[\"to\"]},{\"required\":[\"cc\"]},{\"required\":[\"bcc\"]}],"
        "\"properties\":{"
        "\"kind\":{\"const\":\"email\"},"
        "\"smtp_url\":{\"type\":\"string\",\"pattern\":\"^[Ss][Mm][Tt][Pp][Ss]?://\","
        "\"maxLength\":2048,\"description\":\"smtp://host[:25] (STARTTLS per starttls) or "
        "smtps://host[:465] (TLS from the start); the connected address must pass the egress "
        "guard (egress.allow)\"},"
        "\"from\":{\"type\":\"string\",\"maxLength\":65536,"
        "\"description\":\"user@example.com or Name <user@example.com>; may hold {{ }}\"},"
        "\"to\":" LIST_SCHEMA ",\"cc\":" LIST_SCHEMA ",\"bcc\":" LIST_SCHEMA ","
        "\"reply_to\":" ADDR_SCHEMA ","
        "\"subject\":{\"type\":\"string\",\"maxLength\":65536,"
        "\"description\":\"rendered at most 998 bytes, no CR/LF\"},"
        "\"text\":{\"type\":\"string\",\"maxLength\":1048576},"
        "\"html\":{\"type\":\"string\",\"maxLength\":1048576},"
        "\"starttls\":{\"enum\":[\"try\",\"required\",\"never\"],"
        "\"description\":\"smtp:// only; default try, or required when config has "
        "credentials\"},"
        "\"ca_file\":{\"type\":\"string\",\"pattern\":\"^/\",\"maxLength\":4096,"
        "\"description\":\"PEM file of trusted CAs instead of the system store\"},"
        "\"timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":600000,"
        "\"default\":30000}},"
        "\"$defs\":{\"config\":{\"type\":\"object\",\"properties\":{"
        "\"username\":{\"type\":\"string\",\"maxLength\":1024},"
        "\"password\":{\"type\":\"string\",\"description\":\"plain or a sealed v1: value; "
        "redacted in API output\"}}}}}",
    .validate = act_email_spec_validate,
    .open = email_open,
    .execute = email_execute,
    .close = email_close,
    .start = email_start,
};
