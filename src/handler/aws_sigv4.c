/*
 * SigV4 steps 2 and 3 and the signer itself (aws_sigv4.h); step 1, the
 * canonical request, is in aws_sigv4_canon.c.
 *
 * act_sigv4_sign() parses the URL (http or https only, no user info, an
 * ASCII URL that is already percent-encoded: a space or a byte >= 0x80 is
 * refused because libcurl would send it differently from what was signed),
 * derives the Host header the way libcurl writes it (the port only when it
 * is not the scheme's default), appends Host, X-Amz-Date and, with a
 * session token, X-Amz-Security-Token to the caller's headers, and signs
 * them all.  Headers the signer owns may not come from the caller, so a
 * template can never overwrite the date, token or Authorization.
 *
 * Invariants: the derived keys live on the stack and the "AWS4"+secret text
 * on the heap only while signing; all are wiped with OPENSSL_cleanse before
 * they go.  Messages never contain the secret or the token.  Everything
 * written into a header line is checked to hold no CR, LF or other control
 * byte.  thread: any.
 */
#include "handler/aws_sigv4.h"

#include "base/alloc.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define KEY_LEN 32

/* ---- string to sign and signature ---- */

static bool amz_date_ok(const char *d)
{
    if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
        return false;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (d[i] < '0' || d[i] > '9'))
            return false;
    return true;
}

/* Region and service travel in the credential scope: keep them plain. */
static bool scope_part_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return false;
    return true;
}

char *act_sigv4_string_to_sign(const char *amz_date, const char *region, const char *service,
                               const char *canonical_request)
{
    char hash[65];

    if (!amz_date_ok(amz_date) || !region || !service || !canonical_request)
        return NULL;
    act_sigv4_sha256_hex(canonical_request, strlen(canonical_request), hash);
    return act_xasprintf(ACT_SIGV4_ALGORITHM "\n%s\n%.8s/%s/%s/aws4_request\n%s", amz_date,
                         amz_date, region, service, hash);
}

static void hmac_step(const unsigned char *key, size_t key_len, const char *msg,
                      unsigned char out[KEY_LEN])
{
    unsigned int n = KEY_LEN;

    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out, &n);
}

int act_sigv4_signature(const char *secret_access_key, const char *date, const char *region,
                        const char *service, const char *string_to_sign, char sig_hex[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char k1[KEY_LEN], k2[KEY_LEN], mac[KEY_LEN];
    char *seed;
    size_t seed_len;

    sig_hex[0] = '\0';
    if (!secret_access_key || !*secret_access_key || !date || !*date || !region || !*region ||
        !service || !*service || !string_to_sign)
        return ACT_EINVAL;
    seed = act_xasprintf("AWS4%s", secret_access_key);
    seed_len = strlen(seed);
    hmac_step((const unsigned char *)seed, seed_len, date, k1); /* kDate */
    OPENSSL_cleanse(seed, seed_len);
    act_free(seed);
    hmac_step(k1, KEY_LEN, region, k2);                         /* kRegion */
    hmac_step(k2, KEY_LEN, service, k1);                        /* kService */
    hmac_step(k1, KEY_LEN, "aws4_request", k2);                 /* kSigning */
    hmac_step(k2, KEY_LEN, string_to_sign, mac);
    OPENSSL_cleanse(k1, sizeof(k1));
    OPENSSL_cleanse(k2, sizeof(k2));
    for (size_t i = 0; i < KEY_LEN; i++) {
        sig_hex[2 * i] = hex[mac[i] >> 4];
        sig_hex[2 * i + 1] = hex[mac[i] & 15];
    }
    sig_hex[64] = '\0';
    return ACT_OK;
}

/* ---- URL ---- */

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_';
}

/* Split url into the Host header value and the request target. */
static int parse_url(const char *url, char **host_hdr, char **target, struct act_err *err)
{
    const char *p, *auth, *auth_end, *host_end, *frag;
    bool https;
    long port = -1;

    *host_hdr = *target = NULL;
    if (!url || !*url)
        return act_err_set(err, ACT_EINVAL, "url is empty");
    if (strlen(url) > ACT_SIGV4_MAX_URL)
        return act_err_set(err, ACT_EINVAL, "url is longer than %d bytes", ACT_SIGV4_MAX_URL);
    for (p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return act_err_set(err, ACT_EINVAL,
                               "url must be percent-encoded ASCII without spaces");
    if (strncasecmp(url, "https://", 8) == 0) {
        https = true;
        auth = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        https = false;
        auth = url + 7;
    } else {
        return act_err_set(err, ACT_EINVAL, "url must start with http:// or https://");
    }
    auth_end = auth + strcspn(auth, "/?#");
    if (memchr(auth, '@', (size_t)(auth_end - auth)))
        return act_err_set(err, ACT_EINVAL, "url must not carry user info");
    if (*auth == '[') {
        host_end = memchr(auth, ']', (size_t)(auth_end - auth));
        if (!host_end || host_end == auth + 1)
            return act_err_set(err, ACT_EINVAL, "url has a bad IPv6 host");
        for (p = auth + 1; p < host_end; p++)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
                  (*p >= 'A' && *p <= 'F') || *p == ':' || *p == '.'))
                return act_err_set(err, ACT_EINVAL, "url has a bad IPv6 host");
        host_end++;
    } else {
        for (host_end = auth; host_end < auth_end && *host_end != ':'; host_end++)
            if (!host_char(*host_end))
                return act_err_set(err, ACT_EINVAL, "url has a bad host");
        if (host_end == auth)
            return act_err_set(err, ACT_EINVAL, "url has no host");
    }
    if (host_end < auth_end) {
        if (*host_end != ':' || host_end + 1 == auth_end || auth_end - host_end > 6)
            return act_err_set(err, ACT_EINVAL, "url has a bad port");
        port = 0;
        for (p = host_end + 1; p < auth_end; p++) {
            if (*p < '0' || *p > '9')
                return act_err_set(err, ACT_EINVAL, "url has a bad port");
            port = port * 10 + (*p - '0');
        }
        if (port < 1 || port > 65535)
            return act_err_set(err, ACT_EINVAL, "url has a bad port");
    }
    if (port < 0 || port == (https ? 443 : 80))
        *host_hdr = act_xstrndup(auth, (size_t)(host_end - auth));
    else
        *host_hdr = act_xasprintf("%.*s:%ld", (int)(host_end - auth), auth, port);
    frag = auth_end + strcspn(auth_end, "#");
    if (*auth_end == '/')
        *target = act_xstrndup(auth_end, (size_t)(frag - auth_end));
    else
        *target = act_xasprintf("/%.*s", (int)(frag - auth_end), auth_end);
    return ACT_OK;
}

/* ---- the signer ---- */

static bool header_is(const char *line, const char *name)
{
    size_t n = strlen(name);

    return strncasecmp(line, name, n) == 0 && line[n] == ':';
}

static bool visible_ascii(const char *s, const char *forbid)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || strchr(forbid, *s))
            return false;
    return true;
}

int act_sigv4_sign(const char *method, const char *url, const char *const *headers,
                   const void *body, size_t body_len, const char *region, const char *service,
                   const struct act_sigv4_creds *creds, const char *amz_date, char ***out,
                   struct act_err *err)
{
    static const char *const owned[] = {"host", "x-amz-date", "x-amz-security-token",
                                        "authorization"};
    const char **all = NULL;
    char *host = NULL, *host_line = NULL, *target = NULL, *creq = NULL, *sts = NULL;
    char *signed_headers = NULL;
    char *lines[4] = {NULL, NULL, NULL, NULL};
    char date_now[17], date8[9], sig[65];
    const char *token;
    size_t n_in = 0, n_all = 0, n_lines = 0;
    int rc;

    *out = NULL;
    if (!creds || !creds->access_key_id || !*creds->access_key_id ||
        !visible_ascii(creds->access_key_id, ",/=") || !creds->secret_access_key ||
        !*creds->secret_access_key) {
        rc = act_err_set(err, ACT_EINVAL, "missing or malformed access key");
        goto out;
    }
    token = creds->session_token && *creds->session_token ? creds->session_token : NULL;
    if (token && !visible_ascii(token, "")) {
        rc = act_err_set(err, ACT_EINVAL, "malformed session token");
        goto out;
    }
    if (!scope_part_ok(region) || !scope_part_ok(service)) {
        rc = act_err_set(err, ACT_EINVAL, "region and service must be non-empty [A-Za-z0-9._-]");
        goto out;
    }
    if (!amz_date) {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(date_now, sizeof(date_now), "%Y%m%dT%H%M%SZ", &tm);
        amz_date = date_now;
    } else if (!amz_date_ok(amz_date)) {
        rc = act_err_set(err, ACT_EINVAL, "amz_date must be YYYYMMDDTHHMMSSZ");
        goto out;
    }
    if ((rc = parse_url(url, &host, &target, err)) < 0)
        goto out;
    for (n_in = 0; headers && headers[n_in]; n_in++) {
        if (n_in + 3 >= ACT_SIGV4_MAX_HEADERS) {
            rc = act_err_set(err, ACT_EINVAL, "more than %d headers", ACT_SIGV4_MAX_HEADERS - 3);
            goto out;
        }
        for (size_t k = 0; k < sizeof(owned) / sizeof(owned[0]); k++)
            if (header_is(headers[n_in], owned[k])) {
                rc = act_err_set(err, ACT_EINVAL, "header %zu: %s is set by the signer", n_in,
                                 owned[k]);
                goto out;
            }
    }
    lines[n_lines++] = act_xasprintf("X-Amz-Date: %s", amz_date);
    if (token)
        lines[n_lines++] = act_xasprintf("X-Amz-Security-Token: %s", token);
    host_line = act_xasprintf("Host: %s", host);
    all = act_xcalloc(n_in + 4, sizeof(*all));
    for (size_t i = 0; i < n_in; i++)
        all[n_all++] = headers[i];
    all[n_all++] = host_line;
    for (size_t i = 0; i < n_lines; i++)
        all[n_all++] = lines[i];
    creq = act_sigv4_canonical_request(method, target, all, body, body_len, &signed_headers, err);
    if (!creq) {
        rc = ACT_EINVAL;
        goto out;
    }
    sts = act_sigv4_string_to_sign(amz_date, region, service, creq);
    memcpy(date8, amz_date, 8);
    date8[8] = '\0';
    if (!sts ||
        act_sigv4_signature(creds->secret_access_key, date8, region, service, sts, sig) < 0) {
        rc = act_err_set(err, ACT_EINVAL, "cannot sign");
        goto out;
    }
    lines[n_lines++] = act_xasprintf("Authorization: " ACT_SIGV4_ALGORITHM
                                     " Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
                                     "Signature=%s",
                                     creds->access_key_id, date8, region, service,
                                     signed_headers, sig);
    *out = act_xcalloc(n_lines + 1, sizeof(**out));
    memcpy(*out, lines, n_lines * sizeof(*lines));
    n_lines = 0;
    rc = ACT_OK;
out:
    for (size_t i = 0; i < n_lines; i++)
        act_free(lines[i]);
    act_free(all);
    act_free(host);
    act_free(host_line);
    act_free(target);
    act_free(creq);
    act_free(sts);
    act_free(signed_headers);
    return rc;
}

void act_sigv4_free(char **lines)
{
    if (!lines)
        return;
    for (char **p = lines; *p; p++)
        act_free(*p);
    act_free(lines);
}
