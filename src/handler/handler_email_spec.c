/*
 * Kind `email`: checking a handler spec and config (handler_email.h), for
 * validate() at action creation and for open().
 *
 * What is checked where: smtp_url is never templated and is parsed here
 * with CURLU (smtp or smtps, a host, no credentials, path, query or
 * fragment: credentials belong in config, where they are redacted and may
 * be sealed).  A header field (from, reply_to, to/cc/bcc members, subject)
 * without templates is checked here as it will be sent (address shape, no
 * control characters); one with templates must compile, and is checked
 * again after each rendering (handler_email_msg.c).  Sizes and counts that
 * a client controls are capped.  config.password may be sealed ("v1:...")
 * and must open with this data directory's key.  Every error names its
 * field ("handler.to[2]", "config.password").
 */
#include "base/alloc.h"
#include "handler/handler_email.h"
#include "handler/handler_internal.h"
#include "handler/secret_box.h"
#include "lua/lua.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int act_email_parse_url(const char *url, char **out, char *hostport, size_t hp_cap, bool *tls,
                        struct act_err *err)
{
    static const char *const field = "handler.smtp_url";
    CURLU *u = NULL;
    char *norm = NULL, *host = NULL, *port = NULL, *scheme = NULL, *user = NULL, *path = NULL,
         *query = NULL, *frag = NULL;
    int rc = ACT_OK;

    if (!(u = curl_url()))
        return act_err_set(err, ACT_ENOMEM, "out of memory parsing a URL");
    if (strlen(url) > ACT_EMAIL_URL_MAX || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        rc = act_err_field(err, ACT_EUNPROC, field, "smtp_url does not parse");
    else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
             (strcasecmp(scheme, "smtp") != 0 && strcasecmp(scheme, "smtps") != 0))
        rc = act_err_field(err, ACT_EUNPROC, field, "smtp_url scheme must be smtp or smtps");
    else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0])
        rc = act_err_field(err, ACT_EUNPROC, field, "smtp_url has no host");
    else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
        rc = act_err_field(err, ACT_EUNPROC, field,
                           "smtp_url may not carry credentials: use config.username and "
                           "config.password");
    else if ((curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK && path[0] &&
              strcmp(path, "/") != 0) ||
             curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
             curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK)
        rc = act_err_field(err, ACT_EUNPROC, field,
                           "smtp_url takes no path, query or fragment (smtp://host:port)");
    else if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
             curl_url_get(u, CURLUPART_URL, &norm, 0) != CURLUE_OK)
        rc = act_err_field(err, ACT_EUNPROC, field, "smtp_url does not parse");
    if (rc == ACT_OK && hostport)
        snprintf(hostport, hp_cap, "%s:%s", host, port);
    if (rc == ACT_OK && out)
        *out = act_xstrdup(norm);
    if (rc == ACT_OK && tls)
        *tls = strcasecmp(scheme, "smtps") == 0;
    curl_free(norm);
    curl_free(host);
    curl_free(port);
    curl_free(scheme);
    curl_free(user);
    curl_free(path);
    curl_free(query);
    curl_free(frag);
    curl_url_cleanup(u);
    return rc;
}

/* A template must compile; its error is reported under `field`. */
static int check_template(const json_t *tpl, const char *field, struct act_err *err)
{
    int rc = act_template_check(tpl, err);

    if (rc < 0) {
        act_err_prefix_field(err, field);
        return rc == ACT_EBUSY ? rc : ACT_EUNPROC;
    }
    return ACT_OK;
}

enum what { ADDRESS, HEADER_TEXT, BODY };

/* One string of the spec: bounded; a template compiles, a literal is
 * checked as it will be sent. */
static int check_string(const json_t *v, const char *field, enum what what, struct act_err *err)
{
    size_t max = what == BODY ? ACT_EMAIL_BODY_MAX : ACT_EMAIL_TEMPLATE_MAX;
    struct act_email_addr a;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    int rc;

    if (!s)
        return act_err_field(err, ACT_EUNPROC, field, "must be a string");
    if (len > max)
        return act_err_field(err, ACT_EUNPROC, field, "over %zu bytes", max);
    if (strstr(s, "{{"))
        return check_template(v, field, err);
    if (what == ADDRESS) {
        if ((rc = act_email_addr_parse(s, len, field, &a, err)) < 0)
            return rc;
        act_email_addr_release(&a);
    } else if (what == HEADER_TEXT) {
        return act_email_check_header_text(s, len, ACT_EMAIL_SUBJECT_MAX, field, err);
    }
    return ACT_OK;
}

static int check_member(const json_t *handler, const char *name, enum what what, bool required,
                        struct act_err *err)
{
    const json_t *v = json_object_get(handler, name);
    char field[48];

    snprintf(field, sizeof(field), "handler.%s", name);
    if (!v) {
        if (required)
            return act_err_field(err, ACT_EUNPROC, field, "%s is required", name);
        return ACT_OK;
    }
    return check_string(v, field, what, err);
}

/* to/cc/bcc: an address (or a template), or an array of them; counts the
 * literal entries into *n. */
static int check_list(const json_t *handler, const char *name, size_t *n, struct act_err *err)
{
    const json_t *v = json_object_get(handler, name), *e;
    char field[48];
    size_t i;
    int rc;

    snprintf(field, sizeof(field), "handler.%s", name);
    if (!v)
        return ACT_OK;
    if (json_is_string(v)) {
        (*n)++;
        return check_string(v, field, ADDRESS, err);
    }
    if (!json_is_array(v) || json_array_size(v) == 0)
        return act_err_field(err, ACT_EUNPROC, field,
                             "%s must be an address or a non-empty array of addresses", name);
    json_array_foreach(v, i, e) {
        snprintf(field, sizeof(field), "handler.%s[%zu]", name, i);
        if ((rc = check_string(e, field, ADDRESS, err)) < 0)
            return rc;
        if (++*n > ACT_EMAIL_RCPT_MAX)
            return act_err_field(err, ACT_EUNPROC, field, "more than %d recipients",
                                 ACT_EMAIL_RCPT_MAX);
    }
    return ACT_OK;
}

static int check_transport(const json_t *handler, struct act_err *err)
{
    const json_t *url = json_object_get(handler, "smtp_url");
    const json_t *st = json_object_get(handler, "starttls");
    const json_t *ca = json_object_get(handler, "ca_file");
    const json_t *to = json_object_get(handler, "timeout_ms");
    bool tls = false;
    int rc;

    if (!url)
        return act_err_field(err, ACT_EUNPROC, "handler.smtp_url", "smtp_url is required");
    if (!json_is_string(url) || json_string_length(url) == 0)
        return act_err_field(err, ACT_EUNPROC, "handler.smtp_url",
                             "smtp_url must be a non-empty string");
    if (strstr(json_string_value(url), "{{"))
        return act_err_field(err, ACT_EUNPROC, "handler.smtp_url",
                             "smtp_url cannot be templated");
    if ((rc = act_email_parse_url(json_string_value(url), NULL, NULL, 0, &tls, err)) < 0)
        return rc;
    if (st) {
        const char *s = json_string_value(st);

        if (!s || (strcmp(s, "try") != 0 && strcmp(s, "required") != 0 &&
                   strcmp(s, "never") != 0))
            return act_err_field(err, ACT_EUNPROC, "handler.starttls",
                                 "starttls must be one of try, required, never");
        if (tls && strcmp(s, "never") == 0)
            return act_err_field(err, ACT_EUNPROC, "handler.starttls",
                                 "starttls 'never' contradicts smtps://, which is TLS from "
                                 "the start");
    }
    if (ca && (!json_is_string(ca) || json_string_value(ca)[0] != '/' ||
               json_string_length(ca) > ACT_EMAIL_PATH_MAX ||
               strlen(json_string_value(ca)) != json_string_length(ca)))
        return act_err_field(err, ACT_EUNPROC, "handler.ca_file",
                             "ca_file must be an absolute path of at most %d bytes",
                             ACT_EMAIL_PATH_MAX);
    if (to && (!json_is_integer(to) || json_integer_value(to) < 1 ||
               json_integer_value(to) > ACT_EMAIL_TIMEOUT_MAX_MS))
        return act_err_field(err, ACT_EUNPROC, "handler.timeout_ms",
                             "timeout_ms must be an integer in 1..%d", ACT_EMAIL_TIMEOUT_MAX_MS);
    return ACT_OK;
}

/* config.username and config.password: both or neither; the password may
 * be sealed and must open. */
static int check_credentials(const json_t *config, struct act_err *err)
{
    const json_t *user = json_object_get(config, "username");
    const json_t *pass = json_object_get(config, "password");
    char *plain = NULL;
    int rc;

    if (!user && !pass)
        return ACT_OK;
    if (!user || !json_is_string(user) || json_string_length(user) == 0 ||
        json_string_length(user) > ACT_EMAIL_CRED_MAX)
        return act_err_field(err, ACT_EUNPROC, "config.username",
                             "username must be a string of 1..%d bytes (with a password)",
                             ACT_EMAIL_CRED_MAX);
    if ((rc = act_email_check_header_text(json_string_value(user), json_string_length(user),
                                          ACT_EMAIL_CRED_MAX, "config.username", err)) < 0)
        return rc;
    if (!pass || !json_is_string(pass) || json_string_length(pass) == 0 ||
        json_string_length(pass) > 2 * ACT_EMAIL_CRED_MAX)
        return act_err_field(err, ACT_EUNPROC, "config.password",
                             "password must be a non-empty string (with a username)");
    if ((rc = act_http_kind_reveal(json_string_value(pass), "config.password", &plain, err)) < 0)
        return rc;
    rc = ACT_OK;
    for (const char *c = plain; *c && rc == ACT_OK; c++)
        if ((unsigned char)*c < 0x20)
            rc = act_err_field(err, ACT_EUNPROC, "config.password",
                               "password contains a control character");
    if (rc == ACT_OK && strlen(plain) > ACT_EMAIL_CRED_MAX)
        rc = act_err_field(err, ACT_EUNPROC, "config.password", "password is over %d bytes",
                           ACT_EMAIL_CRED_MAX);
    act_secret_free(plain);
    return rc;
}

int act_email_spec_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    static const char *const members[] = {"smtp_url", "from", "to", "cc", "bcc", "reply_to",
                                          "subject", "text", "html", "starttls", "ca_file",
                                          "timeout_ms", NULL};
    size_t n_rcpt = 0;
    int rc;

    if ((rc = act_handler_check_members(handler, members, err)) < 0 ||
        (rc = check_transport(handler, err)) < 0 ||
        (rc = check_member(handler, "from", ADDRESS, true, err)) < 0 ||
        (rc = check_member(handler, "reply_to", ADDRESS, false, err)) < 0 ||
        (rc = check_list(handler, "to", &n_rcpt, err)) < 0 ||
        (rc = check_list(handler, "cc", &n_rcpt, err)) < 0 ||
        (rc = check_list(handler, "bcc", &n_rcpt, err)) < 0 ||
        (rc = check_member(handler, "subject", HEADER_TEXT, true, err)) < 0 ||
        (rc = check_member(handler, "text", BODY, false, err)) < 0 ||
        (rc = check_member(handler, "html", BODY, false, err)) < 0)
        return rc;
    if (n_rcpt == 0)
        return act_err_field(err, ACT_EUNPROC, "handler.to",
                             "at least one recipient (to, cc or bcc) is required");
    if (n_rcpt > ACT_EMAIL_RCPT_MAX)
        return act_err_field(err, ACT_EUNPROC, "handler.to", "more than %d recipients",
                             ACT_EMAIL_RCPT_MAX);
    if (!json_object_get(handler, "text") && !json_object_get(handler, "html"))
        return act_err_field(err, ACT_EUNPROC, "handler.text", "text or html is required");
    return check_credentials(config, err);
}
