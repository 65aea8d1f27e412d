/*
 * Standard Webhooks signatures (https://www.standardwebhooks.com).
 *
 * A message is signed over the text `${webhook_id}.${webhook_timestamp}.${body}`
 * with HMAC-SHA256 keyed by the secret's bytes; the secret is written
 * `whsec_` + base64(key bytes).  The signature travels in the header
 * `webhook-signature: v1,<base64 mac>`, several space-separated entries during
 * a key rotation, next to `webhook-id` (a message id, the same for every
 * delivery of one message) and `webhook-timestamp` (unix seconds).
 *
 * Used by the `plugin` kind (signing requests to remote plugins), by the
 * plugin registry (new secrets) and by tests (verification).  Also home of
 * the strict base64 helpers shared with secret_box.c.
 */
#ifndef ACT_HANDLER_WEBHOOK_SIGN_H
#define ACT_HANDLER_WEBHOOK_SIGN_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACT_WHSEC_PREFIX "whsec_"
#define ACT_WEBHOOK_KEY_MIN 16      /* bytes of key accepted */
#define ACT_WEBHOOK_KEY_MAX 64
#define ACT_WEBHOOK_KEY_NEW 32      /* bytes of key in a generated secret */
#define ACT_WEBHOOK_TOLERANCE_S 300 /* the spec's default clock skew window */
#define ACT_WEBHOOK_MAX_SECRETS 8   /* signatures in one header */

/* A decoded signing key. */
struct act_webhook_key {
    unsigned char bytes[ACT_WEBHOOK_KEY_MAX];
    size_t len;
};

/* A new secret, "whsec_" + base64 of ACT_WEBHOOK_KEY_NEW random bytes from
 * the OS.  Returns a heap string the caller frees with act_free.
 * thread: any */
char *act_webhook_secret_new(void);

/* Decode a secret ("whsec_<base64>", or the bare base64 as the reference
 * libraries also accept) into *key.  ACT_EINVAL when it is not strict
 * padded base64 or the key is not ACT_WEBHOOK_KEY_MIN..ACT_WEBHOOK_KEY_MAX
 * bytes; the message never contains the secret.  thread: any */
int act_webhook_key_parse(const char *secret, struct act_webhook_key *key, struct act_err *err);

/* Sign one message with each of the n_keys keys (1..ACT_WEBHOOK_MAX_SECRETS)
 * and return the header value, "v1,<sig>" entries separated by one space, in
 * *out (heap, caller frees with act_free).  `body` may hold any bytes.
 * ACT_EINVAL when n_keys is out of range or msg_id is empty.  thread: any */
int act_webhook_sign_keys(const char *msg_id, int64_t timestamp, const void *body, size_t len,
                          const struct act_webhook_key *keys, size_t n_keys, char **out,
                          struct act_err *err);

/* Like act_webhook_sign_keys with the secrets in text form (each parsed with
 * act_webhook_key_parse; a bad one is ACT_EINVAL naming its index).
 * thread: any */
int act_webhook_sign(const char *msg_id, int64_t timestamp, const void *body, size_t len,
                     const char *const *secrets, size_t n_secrets, char **out,
                     struct act_err *err);

/* Verify a received message: `timestamp` is the webhook-timestamp header
 * text (decimal unix seconds), which must lie within tolerance_s of now_s
 * (either direction); `signature` is the webhook-signature header value, of
 * which any "v1," entry matching (constant-time compare) suffices; entries
 * of other versions are ignored.  ACT_OK, or ACT_EINVAL with "bad timestamp",
 * "timestamp too old", "timestamp too new" or "no matching signature".
 * thread: any */
int act_webhook_verify(const char *secret, const char *msg_id, const char *timestamp,
                       const void *body, size_t len, const char *signature, int64_t now_s,
                       int64_t tolerance_s, struct act_err *err);

/* Standard base64 (RFC 4648 section 4, with padding, no line breaks) of n
 * bytes; a heap string the caller frees with act_free.  thread: any */
char *act_b64_encode(const void *data, size_t n);

/* Decode strict standard base64 (length a multiple of 4, padding only at
 * the end, no whitespace) into out (capacity cap).  Returns the number of
 * bytes, or -1 when the text is not strict base64 or does not fit.
 * thread: any */
long act_b64_decode(const char *text, size_t len, unsigned char *out, size_t cap);

#endif
