/*
 * Standard Webhooks signing and verification (webhook_sign.h).
 *
 * The MAC is HMAC-SHA256 through OpenSSL's EVP_MAC API, fed the three parts
 * of the signed content (`id`, `.`, `timestamp`, `.`, `body`) without
 * concatenating them, so a large body is never copied.  The EVP_MAC
 * algorithm object is fetched once (pthread_once) and shared read-only by
 * all threads; every signature gets its own EVP_MAC_CTX.
 *
 * Invariants: nothing here keeps state besides that fetched object; keys are
 * wiped (OPENSSL_cleanse) from the stack copies made while parsing; error
 * messages never contain a secret or a signature.
 */
#include "handler/webhook_sign.h"

#include "base/alloc.h"
#include "base/time.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAC_LEN 32

static pthread_once_t mac_once = PTHREAD_ONCE_INIT;
static EVP_MAC *hmac_alg;

static void fetch_mac(void)
{
    hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* ---- base64 ---- */

char *act_b64_encode(const void *data, size_t n)
{
    size_t cap = 4 * ((n + 2) / 3) + 1;
    char *out = act_xmalloc(cap);

    if (n > (size_t)INT32_MAX)
        ACT_BUG("base64 input of %zu bytes", n);
    EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    return out;
}

static bool b64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

long act_b64_decode(const char *text, size_t len, unsigned char *out, size_t cap)
{
    size_t pad = 0, n;
    unsigned char *tmp;
    int got;

    if (len == 0)
        return 0;
    if (len % 4 != 0 || len > (size_t)INT32_MAX)
        return -1;
    if (text[len - 1] == '=')
        pad = text[len - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < len - pad; i++)
        if (!b64_char((unsigned char)text[i]))
            return -1;
    n = len / 4 * 3 - pad;
    if (n > cap)
        return -1;
    /* EVP_DecodeBlock writes whole groups (padding decodes to zero bytes),
     * so decode into a scratch buffer and copy the real bytes. */
    tmp = act_xmalloc(len / 4 * 3 + 1);
    got = EVP_DecodeBlock(tmp, (const unsigned char *)text, (int)len);
    if (got < 0 || (size_t)got != len / 4 * 3) {
        OPENSSL_cleanse(tmp, len / 4 * 3);
        act_free(tmp);
        return -1;
    }
    memcpy(out, tmp, n);
    OPENSSL_cleanse(tmp, len / 4 * 3);
    act_free(tmp);
    return (long)n;
}

/* ---- keys ---- */

char *act_webhook_secret_new(void)
{
    unsigned char key[ACT_WEBHOOK_KEY_NEW];
    char *b64, *out;

    act_random_bytes(key, sizeof(key));
    b64 = act_b64_encode(key, sizeof(key));
    out = act_xasprintf("%s%s", ACT_WHSEC_PREFIX, b64);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(b64, strlen(b64));
    act_free(b64);
    return out;
}

int act_webhook_key_parse(const char *secret, struct act_webhook_key *key, struct act_err *err)
{
    const char *b64 = secret;
    long n;

    memset(key, 0, sizeof(*key));
    if (!secret)
        return act_err_set(err, ACT_EINVAL, "webhook secret is missing");
    if (strncmp(b64, ACT_WHSEC_PREFIX, strlen(ACT_WHSEC_PREFIX)) == 0)
        b64 += strlen(ACT_WHSEC_PREFIX);
    n = act_b64_decode(b64, strlen(b64), key->bytes, sizeof(key->bytes));
    if (n < 0)
        return act_err_set(err, ACT_EINVAL,
                           "webhook secret is not whsec_ followed by base64 of at most %d bytes",
                           ACT_WEBHOOK_KEY_MAX);
    if (n < ACT_WEBHOOK_KEY_MIN) {
        OPENSSL_cleanse(key, sizeof(*key));
        return act_err_set(err, ACT_EINVAL, "webhook secret key has %ld bytes, fewer than %d", n,
                           ACT_WEBHOOK_KEY_MIN);
    }
    key->len = (size_t)n;
    return ACT_OK;
}

/* ---- MAC ---- */

/* Each thread keeps one HMAC context and the key it was last keyed with:
 * signing again with the same key (every delivery of one action) re-inits
 * with a NULL key, which reuses the prepared inner and outer pads instead
 * of hashing the key again (~half the signing cost).  The cached key is
 * wiped when replaced and when the thread ends. */
struct mac_cache {
    EVP_MAC_CTX *ctx;
    struct act_webhook_key key;
};

static pthread_key_t cache_key;

static void cache_free(void *p)
{
    struct mac_cache *c = p;

    EVP_MAC_CTX_free(c->ctx);
    OPENSSL_cleanse(&c->key, sizeof(c->key));
    act_free(c);
}

static void cache_key_init(void)
{
    if (pthread_key_create(&cache_key, cache_free) != 0)
        ACT_BUG("pthread_key_create failed");
}

static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

/* The calling thread's context, keyed with `key`; NULL on failure. */
static EVP_MAC_CTX *keyed_ctx(const struct act_webhook_key *key)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    struct mac_cache *c;

    pthread_once(&cache_once, cache_key_init);
    if (!(c = pthread_getspecific(cache_key))) {
        c = act_xcalloc(1, sizeof(*c));
        if (!(c->ctx = EVP_MAC_CTX_new(hmac_alg))) {
            act_free(c);
            return NULL;
        }
        pthread_setspecific(cache_key, c);
    }
    if (c->key.len == key->len && CRYPTO_memcmp(c->key.bytes, key->bytes, key->len) == 0)
        return EVP_MAC_init(c->ctx, NULL, 0, NULL) ? c->ctx : NULL;
    OPENSSL_cleanse(&c->key, sizeof(c->key));
    if (!EVP_MAC_init(c->ctx, key->bytes, key->len, params))
        return NULL;
    c->key = *key;
    return c->ctx;
}

/* HMAC-SHA256 of "<id>.<ts>.<body>" into mac[MAC_LEN]. */
static int compute_mac(const struct act_webhook_key *key, const char *msg_id, const char *ts,
                       const void *body, size_t len, unsigned char mac[MAC_LEN])
{
    EVP_MAC_CTX *ctx;
    size_t out_len = 0;
    int ok;

    pthread_once(&mac_once, fetch_mac);
    if (!hmac_alg)
        return ACT_EIO;
    if (!(ctx = keyed_ctx(key)))
        return ACT_EIO;
    ok = EVP_MAC_update(ctx, (const unsigned char *)msg_id, strlen(msg_id)) &&
         EVP_MAC_update(ctx, (const unsigned char *)".", 1) &&
         EVP_MAC_update(ctx, (const unsigned char *)ts, strlen(ts)) &&
         EVP_MAC_update(ctx, (const unsigned char *)".", 1) &&
         (len == 0 || EVP_MAC_update(ctx, body, len)) &&
         EVP_MAC_final(ctx, mac, &out_len, MAC_LEN) && out_len == MAC_LEN;
    return ok ? ACT_OK : ACT_EIO;
}

int act_webhook_sign_keys(const char *msg_id, int64_t timestamp, const void *body, size_t len,
                          const struct act_webhook_key *keys, size_t n_keys, char **out,
                          struct act_err *err)
{
    unsigned char mac[MAC_LEN];
    char ts[24];
    char *hdr, *p;
    int rc;

    *out = NULL;
    if (n_keys == 0 || n_keys > ACT_WEBHOOK_MAX_SECRETS)
        return act_err_set(err, ACT_EINVAL, "between 1 and %d webhook secrets are needed, got %zu",
                           ACT_WEBHOOK_MAX_SECRETS, n_keys);
    if (!msg_id || !msg_id[0])
        return act_err_set(err, ACT_EINVAL, "webhook message id is empty");
    snprintf(ts, sizeof(ts), "%lld", (long long)timestamp);
    /* Each entry: "v1," + 44 base64 chars, separated by one space. */
    hdr = p = act_xmalloc(n_keys * 48 + 1);
    for (size_t i = 0; i < n_keys; i++) {
        char *b64;

        if ((rc = compute_mac(&keys[i], msg_id, ts, body, len, mac)) < 0) {
            act_free(hdr);
            return act_err_set(err, rc, "HMAC-SHA256 failed in OpenSSL");
        }
        b64 = act_b64_encode(mac, MAC_LEN);
        p += snprintf(p, 49, "%sv1,%s", i ? " " : "", b64);
        act_free(b64);
    }
    *out = hdr;
    return ACT_OK;
}

int act_webhook_sign(const char *msg_id, int64_t timestamp, const void *body, size_t len,
                     const char *const *secrets, size_t n_secrets, char **out,
                     struct act_err *err)
{
    struct act_webhook_key keys[ACT_WEBHOOK_MAX_SECRETS];
    int rc = ACT_OK;

    *out = NULL;
    if (n_secrets == 0 || n_secrets > ACT_WEBHOOK_MAX_SECRETS)
        return act_err_set(err, ACT_EINVAL, "between 1 and %d webhook secrets are needed, got %zu",
                           ACT_WEBHOOK_MAX_SECRETS, n_secrets);
    for (size_t i = 0; i < n_secrets && rc == ACT_OK; i++)
        if ((rc = act_webhook_key_parse(secrets[i], &keys[i], err)) < 0 && err)
            snprintf(err->msg, sizeof(err->msg), "webhook secret %zu: %s", i,
                     "not whsec_ + base64 of a 16..64 byte key");
    if (rc == ACT_OK)
        rc = act_webhook_sign_keys(msg_id, timestamp, body, len, keys, n_secrets, out, err);
    OPENSSL_cleanse(keys, sizeof(keys));
    return rc;
}

/* ---- verification ---- */

static int check_timestamp(const char *timestamp, int64_t now_s, int64_t tolerance_s,
                           struct act_err *err)
{
    char *end = NULL;
    long long ts;

    if (!timestamp || !timestamp[0] || timestamp[0] == '-' || timestamp[0] == '+' ||
        timestamp[0] == ' ')
        return act_err_set(err, ACT_EINVAL, "bad timestamp");
    ts = strtoll(timestamp, &end, 10);
    if (*end || end - timestamp > 18)
        return act_err_set(err, ACT_EINVAL, "bad timestamp");
    if (ts < now_s - tolerance_s)
        return act_err_set(err, ACT_EINVAL, "timestamp too old");
    if (ts > now_s + tolerance_s)
        return act_err_set(err, ACT_EINVAL, "timestamp too new");
    return ACT_OK;
}

/* True when one "v1,<b64>" entry of the space-separated header equals mac. */
static bool header_matches(const char *signature, const unsigned char mac[MAC_LEN])
{
    const char *p = signature;

    while (p && *p) {
        const char *end;
        size_t n;

        while (*p == ' ')
            p++;
        end = strchr(p, ' ');
        n = end ? (size_t)(end - p) : strlen(p);
        if (n > 3 && strncmp(p, "v1,", 3) == 0) {
            unsigned char got[MAC_LEN + 3];

            if (act_b64_decode(p + 3, n - 3, got, sizeof(got)) == MAC_LEN &&
                CRYPTO_memcmp(got, mac, MAC_LEN) == 0)
                return true;
        }
        p = end;
    }
    return false;
}

int act_webhook_verify(const char *secret, const char *msg_id, const char *timestamp,
                       const void *body, size_t len, const char *signature, int64_t now_s,
                       int64_t tolerance_s, struct act_err *err)
{
    struct act_webhook_key key;
    unsigned char mac[MAC_LEN];
    int rc;

    if ((rc = check_timestamp(timestamp, now_s, tolerance_s, err)) < 0)
        return rc;
    if (!msg_id || !msg_id[0] || !signature)
        return act_err_set(err, ACT_EINVAL, "missing webhook-id or webhook-signature");
    if ((rc = act_webhook_key_parse(secret, &key, err)) < 0)
        return rc;
    rc = compute_mac(&key, msg_id, timestamp, body, len, mac);
    OPENSSL_cleanse(&key, sizeof(key));
    if (rc < 0)
        return act_err_set(err, rc, "HMAC-SHA256 failed in OpenSSL");
    if (!header_matches(signature, mac))
        return act_err_set(err, ACT_EINVAL, "no matching signature");
    return ACT_OK;
}
