/*
 * AWS Signature Version 4 request signing (header form, AWS4-HMAC-SHA256).
 *
 * act_sigv4_sign() is what a handler calls: it takes the request as it will
 * be sent (method, full URL, the extra header lines, the body) and returns
 * the header lines to add (X-Amz-Date, X-Amz-Security-Token when the
 * credentials carry a session token, Authorization).  The steps are exposed
 * for tests, in the order AWS documents them:
 *
 *   canonical request  = method \n canonical URI \n canonical query \n
 *                        canonical headers \n signed headers \n hex(sha256(body))
 *   string to sign     = "AWS4-HMAC-SHA256" \n amz_date \n scope \n
 *                        hex(sha256(canonical request))
 *   signing key        = HMAC chain "AWS4"+secret -> date -> region -> service
 *                        -> "aws4_request"
 *   signature          = hex(HMAC(signing key, string to sign))
 *
 * Canonicalisation follows the rules for services other than S3 (see
 * docs/internals/sigv4.md): the path is normalised (dot segments and empty
 * segments removed) and each segment URI-encoded once more (so a path that
 * is already percent-encoded on the wire is encoded twice, as AWS expects);
 * query parameters are decoded, re-encoded per RFC 3986 and sorted.
 *
 * Invariants: nothing here keeps state; key material (the "AWS4"+secret
 * buffer and every intermediate HMAC key) is wiped with OPENSSL_cleanse;
 * error messages never contain a secret.  thread: any, for every function.
 */
#ifndef ACT_HANDLER_AWS_SIGV4_H
#define ACT_HANDLER_AWS_SIGV4_H

#include "base/err.h"

#include <stddef.h>

#define ACT_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define ACT_SIGV4_MAX_HEADERS 64        /* header lines in one request */
#define ACT_SIGV4_MAX_QUERY_PARAMS 256  /* parameters in one query string */
#define ACT_SIGV4_MAX_URL 8192          /* bytes of URL */

struct act_sigv4_creds {
    const char *access_key_id, *secret_access_key, *session_token; /* token may be NULL */
};

/* Sign one request.  `url` is the full URL (scheme://host[:port]/path[?query]); `headers` are the
 * NULL-terminated "Name: value" lines that will be sent and must be signed (e.g. Content-Type,
 * X-Amz-Invocation-Type); Host comes from the URL (host, plus ":port" when the port is not the
 * scheme's default, which is what libcurl sends).  amz_date is "YYYYMMDDTHHMMSSZ" (NULL: now, UTC).
 * On success *out is a NULL-terminated heap array of header lines to ADD to the request
 * ("X-Amz-Date: ...", "X-Amz-Security-Token: ..." when a token, "Authorization: AWS4-HMAC-SHA256
 * Credential=.../<date>/<region>/<service>/aws4_request, SignedHeaders=..., Signature=...");
 * free it with act_sigv4_free().  ACT_EINVAL with err for a URL it cannot parse, a header line
 * without ':' or with a control character, a header that the signer sets itself (Host,
 * X-Amz-Date, X-Amz-Security-Token, Authorization), a malformed amz_date, or empty
 * credentials/region/service.  thread: any */
int act_sigv4_sign(const char *method, const char *url, const char *const *headers,
                   const void *body, size_t body_len, const char *region, const char *service,
                   const struct act_sigv4_creds *creds, const char *amz_date, char ***out,
                   struct act_err *err);
void act_sigv4_free(char **lines);

/* Step 1: the canonical request of a request whose request-target (the part of the request line
 * after the method: "/path?query", as in the test suite's .req files) is `target` and whose
 * complete header list is `headers` (NULL-terminated "Name: value" lines; every one is signed,
 * Host included).  Returns a heap string (act_free) and, when signed_headers is not NULL, the
 * signed-headers list ("host;x-amz-date") in *signed_headers (heap).  NULL with err (ACT_EINVAL)
 * on a bad target or header line.  thread: any */
char *act_sigv4_canonical_request(const char *method, const char *target,
                                  const char *const *headers, const void *body, size_t body_len,
                                  char **signed_headers, struct act_err *err);

/* Step 2: the string to sign for a canonical request.  amz_date must be "YYYYMMDDTHHMMSSZ"
 * (its first 8 characters are the scope's date).  Returns a heap string, or NULL when
 * amz_date is malformed.  thread: any */
char *act_sigv4_string_to_sign(const char *amz_date, const char *region, const char *service,
                               const char *canonical_request);

/* Step 3: the hex signature (64 characters + NUL into sig_hex) of a string to sign, with the
 * signing key derived from the secret for date (YYYYMMDD), region and service.  ACT_OK, or
 * ACT_EINVAL on empty inputs.  thread: any */
int act_sigv4_signature(const char *secret_access_key, const char *date, const char *region,
                        const char *service, const char *string_to_sign, char sig_hex[65]);

/* Lower-case hex SHA-256 of len bytes (data may be NULL when len is 0).  thread: any */
void act_sigv4_sha256_hex(const void *data, size_t len, char out[65]);

#endif
