/*
 * handler: the AWS Signature Version 4 signer (aws_sigv4.h).
 *
 * Part 1 runs AWS's published SigV4 test suite (tests/data/sigv4/, see the
 * README there for where each text comes from).  For each vector the
 * request (.req) goes through every step and each step's output is compared
 * with the published text: canonical request (.creq), string to sign (.sts),
 * signature (from the published .sts, against .authz), and the whole
 * act_sigv4_sign() against the published Authorization header.  Two vectors
 * of the published suite are not self-consistent (their .sts is not the hash
 * of their .creq); for those only the steps that the published texts agree
 * on are asserted -- listed in `inconsistent[]` with the reason.
 *
 * Part 2 are checks of our own: the session token is signed, header order
 * does not matter, bad URLs and headers are refused, the Host header is
 * derived as libcurl sends it, limits hold; and a cross-check: requests
 * signed here are accepted by the independent Python verifier that the
 * imitation AWS endpoints use (tests/integration/sigv4_verify.py), and
 * refused with another body (skipped only when python3 is missing).
 */
#include "base/alloc.h"
#include "base/err.h"
#include "handler/aws_sigv4.h"
#include "tap.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define AKID "AKIDEXAMPLE"
#define DATE "20150830T123600Z"

static const char *const vectors[] = {
    "get-header-key-duplicate", "get-header-value-order", "get-header-value-trim",
    "get-unreserved", "get-utf8", "get-vanilla", "get-vanilla-empty-query-key",
    "get-vanilla-query", "get-vanilla-query-order-key", "get-vanilla-query-order-key-case",
    "get-vanilla-query-order-value", "get-vanilla-query-unreserved", "get-vanilla-utf8-query",
    "post-header-key-case", "post-header-key-sort", "post-header-value-case", "post-vanilla",
    "post-vanilla-empty-query-value", "post-vanilla-query", "post-x-www-form-urlencoded",
    "post-x-www-form-urlencoded-parameters", "get-relative", "get-relative-relative",
    "get-slash", "get-slash-dot-slash", "get-slash-pointless-dot", "get-slashes",
    "post-sts-header-after", "post-sts-header-before", "iam-post-2011", NULL,
};

/* Published .sts not derived from the published .creq (see the README):
 * - post-x-www-form-urlencoded: .creq signs content-length; .sts/.authz (and
 *   .sreq) were made without it.  act_sigv4_sign() is checked on the request
 *   without Content-Length, which is the .sreq.
 * - post-x-www-form-urlencoded-parameters: .sts/.authz belong to a request
 *   with "charset=utf8" and no content-length; .creq to the .req. */
static const char *const inconsistent[] = {
    "post-x-www-form-urlencoded", "post-x-www-form-urlencoded-parameters", NULL};

static bool in_list(const char *const *list, const char *name)
{
    for (; *list; list++)
        if (strcmp(*list, name) == 0)
            return true;
    return false;
}

/* ---- reading the suite ---- */

static char *slurp(const char *name, const char *ext)
{
    const char *dir = getenv("ACT_SOURCE_DIR");
    char path[1024];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "%s/tests/data/sigv4/%s/%s.%s", dir ? dir : ".", name, name,
             ext);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = act_xmalloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    buf[n] = '\0';
    fclose(f);
    return buf;
}

struct req {
    char *text;       /* owns every string below */
    const char *method, *target, *body;
    const char *headers[32];
    size_t n_headers;
};

/* "METHOD target HTTP/1.1\nName:value\n...[\n\nbody]" */
static bool parse_req(char *text, struct req *r)
{
    char *nl, *sp, *line, *end;

    memset(r, 0, sizeof(*r));
    r->text = text;
    r->body = "";
    nl = strchr(text, '\n');
    if (!nl)
        return false;
    *nl = '\0';
    sp = strchr(text, ' ');
    end = strrchr(text, ' ');
    if (!sp || sp == end)
        return false;
    *sp = '\0';
    *end = '\0';
    r->method = text;
    r->target = sp + 1;
    line = nl + 1;
    while (*line) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (r->n_headers < 31)
            r->headers[r->n_headers++] = line;
        if (!nl)
            break;
        if (nl[1] == '\n') {
            r->body = nl + 2;
            break;
        }
        line = nl + 1;
    }
    return true;
}

static const char *header_value(const struct req *r, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < r->n_headers; i++)
        if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':') {
            const char *v = r->headers[i] + n + 1;
            while (*v == ' ')
                v++;
            return v;
        }
    return NULL;
}

/* From "... Credential=AKID/20150830/us-east-1/service/aws4_request, ..." */
static bool authz_scope(const char *authz, char *date, char *region, char *service)
{
    const char *c = strstr(authz, "Credential=");

    return c && sscanf(c, "Credential=%*[^/]/%8[0-9]/%63[^/]/%63[^/]/aws4_request", date, region,
                       service) == 3;
}

static void run_vector(const char *name)
{
    char *req_text = slurp(name, "req"), *creq = slurp(name, "creq"), *sts = slurp(name, "sts");
    char *authz = slurp(name, "authz");
    char date8[16] = "", region[64] = "", service[64] = "", sig[65];
    const char *amz_date, *pub_sig;
    char *mine_creq = NULL, *mine_sts = NULL;
    struct act_err err = {0};
    struct req r;
    bool consistent = !in_list(inconsistent, name);

    subtest(name);
    if (!req_text || !authz || !parse_req(req_text, &r) || !authz_scope(authz, date8, region,
                                                                         service)) {
        ok(0, "%s: the published files are present and parse", name);
        goto out;
    }
    amz_date = header_value(&r, "X-Amz-Date");
    pub_sig = strstr(authz, "Signature=");
    ok(amz_date && pub_sig, "request has X-Amz-Date, authz has a signature");
    if (!amz_date || !pub_sig)
        goto out;
    pub_sig += strlen("Signature=");

    /* step 1 */
    mine_creq = act_sigv4_canonical_request(r.method, r.target, r.headers, r.body, strlen(r.body),
                                            NULL, &err);
    ok(mine_creq != NULL, "canonical request built (%s)", err.msg);
    if (creq)
        is_str(mine_creq, creq, "canonical request = published .creq");
    /* step 2 */
    if (mine_creq && consistent) {
        mine_sts = act_sigv4_string_to_sign(amz_date, region, service, mine_creq);
        if (sts)
            is_str(mine_sts, sts, "string to sign = published .sts");
        is_int(act_sigv4_signature(SECRET, date8, region, service, mine_sts, sig), ACT_OK,
               "signature computed");
        is_str(sig, pub_sig, "request -> creq -> sts -> signature = published .authz");
    }
    /* step 3, on the published string to sign */
    if (sts) {
        is_int(act_sigv4_signature(SECRET, date8, region, service, sts, sig), ACT_OK, "signed");
        is_str(sig, pub_sig, "signature of published .sts = published .authz");
    }

    /* the whole signer */
    if (strcmp(name, "post-x-www-form-urlencoded-parameters") == 0)
        goto out; /* no published authz for this request, see inconsistent[] */
    {
        const char *hdrs[32];
        size_t n = 0;
        const char *token = NULL;
        struct act_sigv4_creds creds = {AKID, SECRET, NULL};
        char url[1024], *want_auth;
        char **lines = NULL;
        int rc;

        for (size_t i = 0; i < r.n_headers; i++) {
            const char *h = r.headers[i];
            if (strncasecmp(h, "host:", 5) == 0 || strncasecmp(h, "x-amz-date:", 11) == 0)
                continue;
            if (strncasecmp(h, "x-amz-security-token:", 21) == 0) {
                token = h + 21;
                continue;
            }
            if (strcmp(name, "post-x-www-form-urlencoded") == 0 &&
                strncasecmp(h, "content-length:", 15) == 0)
                continue; /* the published .sreq has none */
            hdrs[n++] = h;
        }
        hdrs[n] = NULL;
        creds.session_token = token;
        snprintf(url, sizeof(url), "https://%s%s", header_value(&r, "Host"), r.target);
        rc = act_sigv4_sign(r.method, url, hdrs, r.body, strlen(r.body), region, service, &creds,
                            amz_date, &lines, &err);
        if (strcmp(name, "get-utf8") == 0 || strcmp(name, "get-vanilla-utf8-query") == 0) {
            is_int(rc, ACT_EINVAL, "sign() refuses a URL that is not percent-encoded");
            ok(lines == NULL, "and returns no lines");
            if (strcmp(name, "get-utf8") == 0)
                goto out;
            /* the same request as it goes on the wire: the query encoded */
            rc = act_sigv4_sign(r.method, "https://example.amazonaws.com/?%E1%88%B4=bar", hdrs,
                                "", 0, region, service, &creds, amz_date, &lines, &err);
        }
        is_int(rc, ACT_OK, "sign() succeeds (%s)", err.msg);
        if (rc < 0)
            goto out;
        want_auth = act_xasprintf("Authorization: %s", authz);
        {
            char want_date[40];
            snprintf(want_date, sizeof(want_date), "X-Amz-Date: %s", amz_date);
            is_str(lines[0], want_date, "first line is X-Amz-Date");
        }
        if (token) {
            ok(lines[1] && strncmp(lines[1], "X-Amz-Security-Token: ", 22) == 0 &&
                   strcmp(lines[1] + 22, token) == 0,
               "then X-Amz-Security-Token");
            is_str(lines[2], want_auth, "sign() Authorization = published .authz");
            ok(lines[3] == NULL, "three lines");
        } else {
            is_str(lines[1], want_auth, "sign() Authorization = published .authz");
            ok(lines[2] == NULL, "two lines");
        }
        act_free(want_auth);
        act_sigv4_free(lines);
    }
out:
    act_free(mine_creq);
    act_free(mine_sts);
    act_free(req_text);
    act_free(creq);
    act_free(sts);
    act_free(authz);
}

/* ---- our own checks ---- */

static char *auth_of(const char *method, const char *url, const char *const *headers,
                     const char *body, const char *token)
{
    struct act_sigv4_creds creds = {AKID, SECRET, token};
    struct act_err err = {0};
    char **lines = NULL;
    char *auth = NULL;

    if (act_sigv4_sign(method, url, headers, body, strlen(body), "us-east-1", "lambda", &creds,
                       DATE, &lines, &err) < 0) {
        diag("sign failed: %s", err.msg);
        return NULL;
    }
    for (char **p = lines; *p; p++)
        if (strncmp(*p, "Authorization: ", 15) == 0)
            auth = act_xstrdup(*p + 15);
    act_sigv4_free(lines);
    return auth;
}

static void test_session_token(void)
{
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    struct act_sigv4_creds creds = {AKID, SECRET, "tok/en+="};
    struct act_err err = {0};
    char **lines = NULL;
    char *with, *without, *other;

    subtest("the session token is signed");
    is_int(act_sigv4_sign("POST", "https://lambda.us-east-1.amazonaws.com/x", hdrs, "{}", 2,
                          "us-east-1", "lambda", &creds, DATE, &lines, &err),
           ACT_OK, "sign with a token");
    is_str(lines[1], "X-Amz-Security-Token: tok/en+=", "the token header is returned");
    ok(strstr(lines[2], "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,") !=
           NULL,
       "x-amz-security-token is among the signed headers");
    act_sigv4_free(lines);
    with = auth_of("POST", "https://lambda.us-east-1.amazonaws.com/x", hdrs, "{}", "tok/en+=");
    other = auth_of("POST", "https://lambda.us-east-1.amazonaws.com/x", hdrs, "{}", "tok/en+-");
    without = auth_of("POST", "https://lambda.us-east-1.amazonaws.com/x", hdrs, "{}", NULL);
    ok(with && other && without && strcmp(with, other) != 0,
       "a different token gives a different signature");
    ok(with && without && strcmp(with, without) != 0, "no token gives a different signature");
    ok(without && strstr(without, "SignedHeaders=content-type;host;x-amz-date,") != NULL,
       "without a token it is not signed");
    act_free(with);
    act_free(other);
    act_free(without);
    without = auth_of("POST", "https://lambda.us-east-1.amazonaws.com/x", hdrs, "{}", "");
    ok(without && strstr(without, "x-amz-security-token") == NULL, "an empty token is no token");
    act_free(without);
}

static void test_header_order(void)
{
    const char *a[] = {"Content-Type: application/json", "X-Amz-Invocation-Type: Event",
                       "X-Amz-Client-Context: e30=", NULL};
    const char *b[] = {"X-Amz-Client-Context: e30=", "Content-Type: application/json",
                       "X-Amz-Invocation-Type: Event", NULL};
    const char *c[] = {"x-amz-invocation-type:   Event  ", "CONTENT-TYPE:application/json",
                       "X-AMZ-CLIENT-CONTEXT: e30=", NULL};
    const char *d[] = {"Content-Type: application/json", "X-Amz-Invocation-Type: RequestResponse",
                       "X-Amz-Client-Context: e30=", NULL};
    const char *url = "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/f/invocations";
    char *sa = auth_of("POST", url, a, "{\"k\":1}", NULL);
    char *sb = auth_of("POST", url, b, "{\"k\":1}", NULL);
    char *sc = auth_of("POST", url, c, "{\"k\":1}", NULL);
    char *sd = auth_of("POST", url, d, "{\"k\":1}", NULL);
    char *se = auth_of("POST", url, a, "{\"k\":2}", NULL);

    subtest("header order and spelling do not change the signature");
    ok(sa && sb && strcmp(sa, sb) == 0, "reordered headers: same Authorization");
    ok(sa && sc && strcmp(sa, sc) == 0, "name case and blanks: same Authorization");
    ok(sa && strstr(sa, "SignedHeaders=content-type;host;x-amz-client-context;x-amz-date;"
                        "x-amz-invocation-type,") != NULL,
       "signed headers sorted and lower-cased");
    ok(sa && sd && strcmp(sa, sd) != 0, "a changed header value changes it");
    ok(sa && se && strcmp(sa, se) != 0, "a changed body changes it");
    act_free(sa);
    act_free(sb);
    act_free(sc);
    act_free(sd);
    act_free(se);
}

static void test_bad_input(void)
{
    static const char *const bad_urls[] = {
        "",
        "lambda.amazonaws.com/x",
        "ftp://example.com/",
        "https://",
        "https:///path",
        "https://user:pw@example.com/",
        "https://example.com:0/",
        "https://example.com:65536/",
        "https://example.com:12a/",
        "https://example.com:/",
        "https://exa mple.com/",
        "https://example.com/a b",
        "https://example.com/\xe1\x88\xb4",
        "https://example.com/\r\nX-Injected: 1",
        "https://[::1/",
        "https://[]/",
        "https://ex%41mple.com/",
        NULL,
    };
    struct act_sigv4_creds creds = {AKID, SECRET, NULL};
    struct act_err err = {0};
    char **lines = (char **)1;

    subtest("bad input is refused");
    for (size_t i = 0; bad_urls[i]; i++) {
        memset(&err, 0, sizeof(err));
        is_int(act_sigv4_sign("GET", bad_urls[i], NULL, "", 0, "us-east-1", "s", &creds, DATE,
                              &lines, &err),
               ACT_EINVAL, "url %zu refused", i);
        ok(lines == NULL && err.msg[0] && strstr(err.msg, "url") != NULL,
           "no lines, message names the url: %s", err.msg);
    }
    is_int(act_sigv4_sign("GET", NULL, NULL, "", 0, "us-east-1", "s", &creds, DATE, &lines, &err),
           ACT_EINVAL, "NULL url refused");
    {
        char *long_url = act_xmalloc(ACT_SIGV4_MAX_URL + 64);
        memset(long_url, 'a', ACT_SIGV4_MAX_URL + 63);
        memcpy(long_url, "https://h/", 10);
        long_url[ACT_SIGV4_MAX_URL + 63] = '\0';
        is_int(act_sigv4_sign("GET", long_url, NULL, "", 0, "us-east-1", "s", &creds, DATE, &lines,
                              &err),
               ACT_EINVAL, "an over-long url is refused");
        act_free(long_url);
    }

    static const char *const owned[] = {"Host: evil", "authorization: x", "X-Amz-Date: 1",
                                        "x-amz-security-token: t"};
    for (size_t i = 0; i < 4; i++) {
        const char *hdrs[] = {"Content-Type: a/b", owned[i], NULL};
        is_int(act_sigv4_sign("GET", "https://h/", hdrs, "", 0, "us-east-1", "s", &creds, DATE,
                              &lines, &err),
               ACT_EINVAL, "caller may not set '%s'", owned[i]);
        ok(strstr(err.msg, "set by the signer") != NULL, "message: %s", err.msg);
    }
    {
        const char *crlf[] = {"X-A: 1\r\nX-B: 2", NULL};
        const char *noname[] = {": v", NULL};
        const char *nocolon[] = {"X-A 1", NULL};
        const char *spacename[] = {"X A: 1", NULL};
        is_int(act_sigv4_sign("GET", "https://h/", crlf, "", 0, "us-east-1", "s", &creds, DATE,
                              &lines, &err),
               ACT_EINVAL, "CR/LF in a header value refused");
        is_int(act_sigv4_sign("GET", "https://h/", noname, "", 0, "us-east-1", "s", &creds, DATE,
                              &lines, &err),
               ACT_EINVAL, "empty header name refused");
        is_int(act_sigv4_sign("GET", "https://h/", nocolon, "", 0, "us-east-1", "s", &creds, DATE,
                              &lines, &err),
               ACT_EINVAL, "header without ':' refused");
        is_int(act_sigv4_sign("GET", "https://h/", spacename, "", 0, "us-east-1", "s", &creds,
                              DATE, &lines, &err),
               ACT_EINVAL, "space in a header name refused");
    }
    {
        const char *many[ACT_SIGV4_MAX_HEADERS + 2];
        for (size_t i = 0; i < ACT_SIGV4_MAX_HEADERS + 1; i++)
            many[i] = "X-A: 1";
        many[ACT_SIGV4_MAX_HEADERS + 1] = NULL;
        is_int(act_sigv4_sign("GET", "https://h/", many, "", 0, "us-east-1", "s", &creds, DATE,
                              &lines, &err),
               ACT_EINVAL, "too many headers refused");
    }
    {
        struct act_sigv4_creds no_key = {"", SECRET, NULL}, no_secret = {AKID, "", NULL};
        struct act_sigv4_creds bad_key = {"AK ID", SECRET, NULL};
        struct act_sigv4_creds bad_tok = {AKID, SECRET, "a\nb"};
        is_int(act_sigv4_sign("GET", "https://h/", NULL, "", 0, "us-east-1", "s", &no_key, DATE,
                              &lines, &err),
               ACT_EINVAL, "empty access key refused");
        is_int(act_sigv4_sign("GET", "https://h/", NULL, "", 0, "us-east-1", "s", &no_secret,
                              DATE, &lines, &err),
               ACT_EINVAL, "empty secret refused");
        ok(strstr(err.msg, SECRET) == NULL, "message does not show the secret");
        is_int(act_sigv4_sign("GET", "https://h/", NULL, "", 0, "us-east-1", "s", &bad_key, DATE,
                              &lines, &err),
               ACT_EINVAL, "access key with a space refused");
        is_int(act_sigv4_sign("GET", "https://h/", NULL, "", 0, "us-east-1", "s", &bad_tok, DATE,
                              &lines, &err),
               ACT_EINVAL, "token with a newline refused");
        is_int(act_sigv4_sign("GET", "https://h/", NULL, "", 0, "us-east-1/x", "s", &creds, DATE,
                              &lines, &err),
               ACT_EINVAL, "region with '/' refused");
        is_int(act_sigv4_sign("GET", "https://h/", NULL, "", 0, "us-east-1", "", &creds, DATE,
                              &lines, &err),
               ACT_EINVAL, "empty service refused");
        is_int(act_sigv4_sign("GET", "https://h/", NULL, "", 0, "us-east-1", "s", &creds,
                              "2015-08-30T12:36:00Z", &lines, &err),
               ACT_EINVAL, "malformed amz_date refused");
        is_int(act_sigv4_sign("G T", "https://h/", NULL, "", 0, "us-east-1", "s", &creds, DATE,
                              &lines, &err),
               ACT_EINVAL, "method with a space refused");
    }
    ok(act_sigv4_string_to_sign("20150830", "r", "s", "x") == NULL,
       "string_to_sign refuses a short date");
}

/* The Host line sign() derives, seen through the canonical request it signs:
 * sign(url) must equal the steps run on the explicit "Host: ..." line. */
static void check_host(const char *url, const char *target, const char *host_line)
{
    const char *hdrs[] = {host_line, "X-Amz-Date: " DATE, NULL};
    struct act_err err = {0};
    char *creq = act_sigv4_canonical_request("GET", target, hdrs, "", 0, NULL, &err);
    char *sts = act_sigv4_string_to_sign(DATE, "us-east-1", "lambda", creq);
    char sig[65], *want, *got;

    act_sigv4_signature(SECRET, "20150830", "us-east-1", "lambda", sts, sig);
    want = act_xasprintf("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/lambda/"
                         "aws4_request, SignedHeaders=host;x-amz-date, Signature=%s",
                         sig);
    got = auth_of("GET", url, NULL, "", NULL);
    is_str(got, want, "%s signs '%s' and target %s", url, host_line, target);
    act_free(creq);
    act_free(sts);
    act_free(want);
    act_free(got);
}

static void test_host_and_target(void)
{
    subtest("Host header and request target derived from the URL");
    check_host("https://example.com/", "/", "Host: example.com");
    check_host("https://example.com:443/", "/", "Host: example.com");
    check_host("http://example.com:80", "/", "Host: example.com");
    check_host("HTTPS://example.com:80/a?b=1", "/a?b=1", "Host: example.com:80");
    check_host("http://127.0.0.1:8080/x?y#frag", "/x?y", "Host: 127.0.0.1:8080");
    check_host("http://[::1]:9000/p", "/p", "Host: [::1]:9000");
    check_host("https://example.com?q=1", "/?q=1", "Host: example.com");
}

static void check_creq(const char *target, const char *want_uri, const char *want_query,
                       const char *what)
{
    const char *hdrs[] = {"Host: h", NULL};
    struct act_err err = {0};
    char *creq = act_sigv4_canonical_request("GET", target, hdrs, "", 0, NULL, &err);
    char *want = act_xasprintf("GET\n%s\n%s\nhost:h\n\nhost\n"
                               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                               want_uri, want_query);

    is_str(creq, want, "%s", what);
    act_free(creq);
    act_free(want);
}

static void test_canonical_rules(void)
{
    subtest("canonicalisation rules beyond the suite (from AWS's written rules)");
    check_creq("/2015-03-31/functions/my%3Afn/invocations",
               "/2015-03-31/functions/my%253Afn/invocations", "",
               "an encoded path is encoded again (non-S3 services)");
    check_creq("/a:b@c", "/a%3Ab%40c", "", "reserved path characters are encoded");
    check_creq("/a%2Fb", "/a%252Fb", "", "an encoded '/' in a segment stays in the segment");
    check_creq("/?p=a/b", "/", "p=a%2Fb", "'/' in a query value is encoded");
    check_creq("/?a=%20b&a=%41", "/", "a=%20b&a=A",
               "query escapes are decoded, then re-encoded (unreserved stays plain)");
    check_creq("/?b&a=1&&c=", "/", "a=1&b=&c=", "a name without '=' gets one; empty pieces go");
    check_creq("/?x=1+2&y=%zz", "/", "x=1%2B2&y=%25zz", "'+' and a stray '%' are literal");
    check_creq("/?a=1&A=2", "/", "A=2&a=1", "sort is by bytes (upper case first)");
    check_creq("/a/b/..", "/a/", "", "a trailing '..' keeps the trailing slash (RFC 3986)");
    check_creq("/a/./b/../../..", "/", "", "'..' never climbs above the root");
    check_creq("/a/b/", "/a/b/", "", "a trailing slash stays");
    {
        const char *hdrs[] = {"Host: h", "X-E:", "X-T:\ta \t b\t", NULL};
        struct act_err err = {0};
        char *sh = NULL;
        char *creq = act_sigv4_canonical_request("GET", "/", hdrs, "", 0, &sh, &err);
        ok(creq && strstr(creq, "\nx-e:\nx-t:a b\n") != NULL,
           "empty value kept; tabs count as blanks");
        is_str(sh, "host;x-e;x-t", "signed headers list returned");
        act_free(creq);
        act_free(sh);
    }
    {
        struct act_err err = {0};
        size_t n = ACT_SIGV4_MAX_QUERY_PARAMS + 1;
        char *q = act_xmalloc(n * 4 + 8), *p = q;
        const char *hdrs[] = {"Host: h", NULL};
        char *creq;
        *p++ = '/';
        *p++ = '?';
        for (size_t i = 0; i < n; i++) {
            memcpy(p, "a=1&", 4);
            p += 4;
        }
        *p = '\0';
        creq = act_sigv4_canonical_request("GET", q, hdrs, "", 0, NULL, &err);
        ok(creq == NULL && err.code == ACT_EINVAL, "more than %d query parameters refused",
           ACT_SIGV4_MAX_QUERY_PARAMS);
        act_free(creq);
        act_free(q);
    }
}

static void test_now(void)
{
    struct act_sigv4_creds creds = {AKID, SECRET, NULL};
    struct act_err err = {0};
    char **lines = NULL, want[32];
    time_t before = time(NULL), after;
    struct tm tm;
    bool ok_date = false;

    subtest("amz_date NULL means now (UTC)");
    is_int(act_sigv4_sign("GET", "https://h/", NULL, "", 0, "us-east-1", "s", &creds, NULL, &lines,
                          &err),
           ACT_OK, "sign with the current time");
    after = time(NULL);
    for (time_t t = before; t <= after; t++) {
        gmtime_r(&t, &tm);
        strftime(want, sizeof(want), "X-Amz-Date: %Y%m%dT%H%M%SZ", &tm);
        if (lines && strcmp(lines[0], want) == 0)
            ok_date = true;
    }
    ok(ok_date, "X-Amz-Date is the current UTC time: %s", lines ? lines[0] : "(none)");
    if (lines) {
        char scope[64];
        snprintf(scope, sizeof(scope), "Credential=" AKID "/%.8s/us-east-1/s/aws4_request",
                 lines[0] + 12);
        ok(strstr(lines[1], scope) != NULL, "the credential scope carries the same date");
    }
    act_sigv4_free(lines);
    act_sigv4_free(NULL);
}

/* Cross-check with the independent Python verifier the imitation AWS
 * endpoints use (tests/integration/sigv4_verify.py): what act_sigv4_sign()
 * signs, it accepts, and a changed body it refuses. */
struct xcase {
    const char *url, *host, *target, *body, *token;
    const char *headers[4];
};

static int run_verifier(const struct xcase *c, char **lines, const char *body, char *why,
                        size_t why_len)
{
    const char *dir = getenv("ACT_SOURCE_DIR");
    char path[] = "/tmp/act_sigv4_XXXXXX", cmd[1400];
    json_t *hdrs = json_object(), *req;
    FILE *p;
    int fd, status;

    json_object_set_new(hdrs, "host", json_string(c->host));
    for (size_t i = 0; c->headers[i]; i++) {
        char name[64];
        const char *colon = strchr(c->headers[i], ':');
        snprintf(name, sizeof(name), "%.*s", (int)(colon - c->headers[i]), c->headers[i]);
        for (char *q = name; *q; q++)
            if (*q >= 'A' && *q <= 'Z')
                *q = (char)(*q - 'A' + 'a');
        json_object_set_new(hdrs, name, json_string(colon + 1));
    }
    for (char **l = lines; *l; l++) {
        char name[64];
        const char *colon = strchr(*l, ':');
        snprintf(name, sizeof(name), "%.*s", (int)(colon - *l), *l);
        for (char *q = name; *q; q++)
            if (*q >= 'A' && *q <= 'Z')
                *q = (char)(*q - 'A' + 'a');
        json_object_set_new(hdrs, name, json_string(colon + 2));
    }
    req = json_pack("{s:s,s:s,s:o,s:s,s:{s:s}}", "method", "POST", "target", c->target,
                    "headers", hdrs, "body", body, "secrets", AKID, SECRET);
    fd = mkstemp(path);
    if (fd < 0 || json_dumpfd(req, fd, JSON_COMPACT) < 0) {
        json_decref(req);
        return -1;
    }
    close(fd);
    json_decref(req);
    snprintf(cmd, sizeof(cmd), "python3 %s/tests/integration/sigv4_verify.py < %s",
             dir ? dir : ".", path);
    p = popen(cmd, "r");
    why[0] = '\0';
    if (!p || !fgets(why, (int)why_len, p))
        snprintf(why, why_len, "no output");
    why[strcspn(why, "\n")] = '\0';
    status = p ? pclose(p) : -1;
    unlink(path);
    return status;
}

static void test_python_cross_check(void)
{
    static const struct xcase cases[] = {
        {"http://127.0.0.1:9000/2015-03-31/functions/my-fn/invocations", "127.0.0.1:9000",
         "/2015-03-31/functions/my-fn/invocations", "{\"a\": 1}", NULL,
         {"Content-Type: application/json", "X-Amz-Invocation-Type: RequestResponse", NULL}},
        {"http://127.0.0.1:9000/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3A"
         "function%3Af/invocations?Qualifier=%24LATEST",
         "127.0.0.1:9000",
         "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af/"
         "invocations?Qualifier=%24LATEST",
         "", "FQoGZXIvYXdzE//token+/=", {"X-Amz-Invocation-Type: Event", NULL}},
        {"https://lambda.us-east-1.amazonaws.com:443/x/../y//z/?b=2&a=%7e&a=1",
         "lambda.us-east-1.amazonaws.com", "/x/../y//z/?b=2&a=%7e&a=1", "caf\xc3\xa9", NULL,
         {"X-Amz-Client-Context:   e30=  ", "Content-Type: text/plain", NULL}},
    };
    struct act_err err = {0};
    char why[256];

    subtest("the Python verifier accepts what the signer signs");
    if (system("python3 -c pass >/dev/null 2>&1") != 0) {
        skip("python3 not found", "cross-check");
        return;
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct xcase *c = &cases[i];
        struct act_sigv4_creds creds = {AKID, SECRET, c->token};
        char **lines = NULL;
        int rc = act_sigv4_sign("POST", c->url, c->headers, c->body, strlen(c->body),
                                "us-east-1", "lambda", &creds, NULL, &lines, &err);
        if (!ok(rc == ACT_OK, "case %zu signed (%s)", i, err.msg))
            continue;
        is_int(run_verifier(c, lines, c->body, why, sizeof(why)), 0, "case %zu verified: %s",
               i, why);
        ok(run_verifier(c, lines, "tampered", why, sizeof(why)) != 0 &&
               strstr(why, "does not match") != NULL,
           "case %zu with another body refused: %s", i, why);
        act_sigv4_free(lines);
    }
}

int main(void)
{
    for (size_t i = 0; vectors[i]; i++)
        run_vector(vectors[i]);
    test_session_token();
    test_header_order();
    test_bad_input();
    test_host_and_target();
    test_canonical_rules();
    test_now();
    test_python_cross_check();
    return done_testing();
}
