/*
 * Kind `email`, shared between its three files: handler_email_spec.c
 * (validation of the spec and config), handler_email_msg.c (addresses and
 * the RFC 5322 / MIME message) and handler_email.c (the state and the SMTP
 * attempts on the HTTP loop).  Nothing outside src/handler/ and the unit
 * tests includes this; the kind itself is reached through handler.h.
 *
 * The message model: addresses are ASCII (no SMTPUTF8), "local@domain" with
 * an optional display name in any UTF-8; header values never hold control
 * characters (CR or LF would be header injection); bodies are UTF-8 text.
 */
#ifndef ACT_HANDLER_HANDLER_EMAIL_H
#define ACT_HANDLER_HANDLER_EMAIL_H

#include "base/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACT_EMAIL_URL_MAX 2048
#define ACT_EMAIL_PATH_MAX 4096          /* handler.ca_file */
#define ACT_EMAIL_RCPT_MAX 100           /* to + cc + bcc, after rendering */
#define ACT_EMAIL_ADDR_MAX 320           /* one address with its display name, bytes */
#define ACT_EMAIL_SUBJECT_MAX 998        /* rendered subject, bytes */
#define ACT_EMAIL_BODY_MAX ((size_t)1 << 20) /* rendered text and html, bytes each */
#define ACT_EMAIL_TEMPLATE_MAX 65536     /* one string of the spec (bodies: BODY_MAX) */
#define ACT_EMAIL_CRED_MAX 1024          /* config.username / password, bytes */
#define ACT_EMAIL_TIMEOUT_DEFAULT_MS 30000
#define ACT_EMAIL_TIMEOUT_MAX_MS 600000

/* One mailbox: addr is "local@domain" (ASCII); name the display name
 * (UTF-8) or NULL.  Both owned. */
struct act_email_addr {
    char *name;
    char *addr;
};

/* A rendered message, ready to be built.  Everything owned (release with
 * act_email_msg_release); text/html NULL when absent (one is set). */
struct act_email_msg {
    struct act_email_addr from;
    struct act_email_addr reply_to;   /* addr NULL when absent */
    struct act_email_addr *rcpt;      /* to, then cc, then bcc */
    size_t n_to, n_cc, n_bcc;
    char *subject;
    char *text, *html;
    size_t text_len, html_len;
};

/* Parse one mailbox: "user@example.com", "Name <user@example.com>" or
 * "\"Name, Inc.\" <user@example.com>", at most ACT_EMAIL_ADDR_MAX bytes.
 * The address must have a plausible shape (a dot-atom local part of at most
 * 64 bytes, a domain of LDH labels with a dot, or a bracketed IP literal,
 * 254 bytes in all); a control character anywhere is refused (CR or LF as
 * header injection).  ACT_EUNPROC with err->field = `field`.  thread: any */
int act_email_addr_parse(const char *s, size_t len, const char *field,
                         struct act_email_addr *out, struct act_err *err);

/* Free the members of an address (not the struct).  thread: any */
void act_email_addr_release(struct act_email_addr *a);

/* Check a header value (subject): at most `max` bytes, no control
 * characters other than tab; CR or LF is reported as header injection.
 * ACT_EUNPROC naming `field`.  thread: any */
int act_email_check_header_text(const char *s, size_t len, size_t max, const char *field,
                                struct act_err *err);

/* Turn the rendered members {from, to, cc, bcc, reply_to, subject, text,
 * html} (strings; to/cc/bcc also arrays of strings, where a member may
 * itself be an array, flattened once) into *m, checking every address,
 * header value and limit.  Errors are ACT_EUNPROC with err->field relative
 * to the action ("handler.to[1]", "handler.subject").  On failure *m is
 * released.  thread: any */
int act_email_msg_fill(const json_t *spec, struct act_email_msg *m, struct act_err *err);

/* Free what act_email_msg_fill allocated.  thread: any */
void act_email_msg_release(struct act_email_msg *m);

/* The Message-ID for a root execution id: "<id@domain>" with the domain of
 * the From address; characters of id outside [A-Za-z0-9.-_] become '-'.
 * Heap string (act_free).  thread: any */
char *act_email_message_id(const char *root_id, const struct act_email_addr *from);

/* Build the message text (RFC 5322, CRLF line ends, every line at most 998
 * bytes): Date (from unix seconds `date_s`, UTC), From, To, Cc, Reply-To,
 * Subject, Message-ID, MIME-Version, then one text/plain or text/html part
 * or a multipart/alternative of both.  Bcc never appears.  Non-ASCII
 * subjects and display names become RFC 2047 encoded words (UTF-8, B);
 * bodies go as UTF-8 in quoted-printable, or base64 when mostly non-ASCII.
 * *out is a heap string (act_free) of *len bytes.  thread: any */
void act_email_build(const struct act_email_msg *m, const char *message_id, int64_t date_s,
                     char **out, size_t *len);

/* validate() of the kind: members, smtp_url, addresses or templates,
 * starttls, ca_file, timeout_ms, config credentials (a sealed password must
 * open).  ACT_EUNPROC with err->field.  thread: any */
int act_email_spec_validate(const json_t *handler, const json_t *config, struct act_err *err);

/* Parse smtp_url with CURLU: smtp or smtps, a host, an optional port, no
 * credentials, path, query or fragment.  The normalised URL into *out
 * (heap; NULL: only check), "host:port" into hostport (NULL: not wanted),
 * and whether it is smtps into *tls (may be NULL).  ACT_EUNPROC with field
 * "handler.smtp_url".  thread: any */
int act_email_parse_url(const char *url, char **out, char *hostport, size_t hp_cap, bool *tls,
                        struct act_err *err);

#endif
