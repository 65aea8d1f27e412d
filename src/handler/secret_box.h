/*
 * Encryption of small secrets at rest (plugin signing secrets, API keys).
 *
 * One process key, 32 random bytes in `<data_dir>/secret.key` (mode 0600,
 * created on first use), seals a secret with AES-256-GCM into the text
 * `v1:` + base64(nonce[12] | ciphertext | tag[16]); opening checks the tag,
 * so a modified or truncated value, or one sealed under another key, is
 * refused.  Stored plugin rows and action configs hold only sealed values;
 * the plaintext exists in memory while a handler state uses it.
 */
#ifndef ACT_HANDLER_SECRET_BOX_H
#define ACT_HANDLER_SECRET_BOX_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>

#define ACT_SECRET_SEALED_PREFIX "v1:"
#define ACT_SECRET_KEY_FILE "secret.key"
#define ACT_SECRET_MAX 4096 /* plaintext bytes accepted by seal */

/* Load the process key from `<data_dir>/secret.key`, creating the file with
 * 32 random bytes (0600, atomically: written to a temporary file and linked
 * into place, so concurrent starters agree on one key) when it does not
 * exist.  The directory must exist.  Errors: ACT_EIO naming the file and the
 * reason; ACT_EINVAL when the file is not exactly 32 bytes or is readable by
 * group or others.  May be called again (tests) to switch keys.
 * thread: init */
int act_secret_box_init(const char *data_dir, struct act_err *err);

/* True once act_secret_box_init succeeded.  thread: any */
bool act_secret_box_ready(void);

/* Forget the key (wiped from memory).  thread: init */
void act_secret_box_release(void);

/* Seal a NUL-terminated secret (at most ACT_SECRET_MAX bytes) into *out, a
 * heap string "v1:..." the caller frees with act_free.  A fresh random nonce
 * is used every time, so sealing twice gives different texts.  Errors:
 * ACT_ESTATE before init, ACT_ETOOBIG, ACT_EIO (OpenSSL).  thread: any */
int act_secret_box_seal(const char *plaintext, char **out, struct act_err *err);

/* Open a sealed text into *out (heap, NUL-terminated; free it with
 * act_secret_free).  Errors: ACT_ESTATE before init; ACT_EINVAL when the
 * text is not a sealed value, was modified, or was sealed under another key
 * ("sealed secret does not open with this data directory's key").
 * thread: any */
int act_secret_box_open(const char *sealed, char **out, struct act_err *err);

/* True when s has the sealed form's prefix ("v1:").  thread: any */
bool act_secret_is_sealed(const char *s);

/* Wipe and free a plaintext secret (NULL is fine).  thread: any */
void act_secret_free(char *s);

/* A display form of a plaintext secret: its first 6 characters, "…", then
 * its last 4 ("whsec_…abcd"); a secret shorter than 16 characters shows only
 * "…".  Heap string, caller frees with act_free.  thread: any */
char *act_secret_mask(const char *s);

#endif
