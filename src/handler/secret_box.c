/*
 * The secret box (secret_box.h): AES-256-GCM with one process key.
 *
 * Sealed layout, before base64: nonce (12 random bytes) | ciphertext (as
 * long as the plaintext) | GCM tag (16 bytes).  The additional data is the
 * constant "actiond-secret-v1", so a value produced for another purpose with
 * the same key does not open here, and the "v1:" prefix names the layout for
 * a future change of algorithm.
 *
 * The key file is created atomically: 32 bytes go to a private temporary
 * file, which is fsync'ed and then link(2)ed to `secret.key`; link fails if
 * the name exists, so two processes starting together both end up reading
 * the one key that won.  The key lives in a static array written only by
 * init/release (thread: init) and read by seal/open from any thread.
 */
#include "handler/secret_box.h"

#include "base/alloc.h"
#include "base/time.h"
#include "handler/webhook_sign.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define AAD "actiond-secret-v1"

static unsigned char box_key[KEY_LEN];
static bool box_ready;

bool act_secret_box_ready(void)
{
    return box_ready;
}

void act_secret_box_release(void)
{
    OPENSSL_cleanse(box_key, sizeof(box_key));
    box_ready = false;
}

/* ---- the key file ---- */

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Create `path` with fresh random bytes unless it exists.  ACT_OK when the
 * file exists afterwards, whoever created it. */
static int create_key_file(const char *dir, const char *path, struct act_err *err)
{
    unsigned char key[KEY_LEN];
    char *tmp = act_xasprintf("%s.tmp.%ld.%016llx", path, (long)getpid(),
                              (unsigned long long)act_rand64());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    int rc = ACT_OK, dfd;

    if (fd < 0) {
        rc = act_err_set(err, ACT_EIO, "cannot create '%s': %s", tmp, strerror(errno));
        act_free(tmp);
        return rc;
    }
    act_random_bytes(key, sizeof(key));
    if (write_all(fd, key, sizeof(key)) < 0 || fsync(fd) < 0)
        rc = act_err_set(err, ACT_EIO, "cannot write '%s': %s", tmp, strerror(errno));
    OPENSSL_cleanse(key, sizeof(key));
    close(fd);
    if (rc == ACT_OK && link(tmp, path) < 0 && errno != EEXIST)
        rc = act_err_set(err, ACT_EIO, "cannot create '%s': %s", path, strerror(errno));
    unlink(tmp);
    act_free(tmp);
    if (rc == ACT_OK && (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        (void)fsync(dfd); /* make the new name durable; best effort */
        close(dfd);
    }
    return rc;
}

static int read_key_file(int fd, const char *path, unsigned char key[KEY_LEN],
                         struct act_err *err)
{
    struct stat st;
    size_t got = 0;

    if (fstat(fd, &st) < 0)
        return act_err_set(err, ACT_EIO, "cannot stat '%s': %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return act_err_set(err, ACT_EINVAL, "'%s' is not a regular file", path);
    if (st.st_mode & 077)
        return act_err_set(err, ACT_EINVAL,
                           "'%s' is readable by group or others (mode %03o); chmod 600 it", path,
                           (unsigned)(st.st_mode & 0777));
    if (st.st_size != KEY_LEN)
        return act_err_set(err, ACT_EINVAL, "'%s' has %lld bytes, expected %d", path,
                           (long long)st.st_size, KEY_LEN);
    while (got < KEY_LEN) {
        ssize_t r = read(fd, key + got, KEY_LEN - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return act_err_set(err, ACT_EIO, "cannot read '%s': %s", path,
                               r < 0 ? strerror(errno) : "short file");
        got += (size_t)r;
    }
    return ACT_OK;
}

int act_secret_box_init(const char *data_dir, struct act_err *err)
{
    char *path = act_xasprintf("%s/%s", data_dir, ACT_SECRET_KEY_FILE);
    unsigned char key[KEY_LEN];
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        if ((rc = create_key_file(data_dir, path, err)) < 0)
            goto out;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd < 0) {
        rc = act_err_set(err, ACT_EIO, "cannot open '%s': %s", path, strerror(errno));
        goto out;
    }
    rc = read_key_file(fd, path, key, err);
    close(fd);
    if (rc == ACT_OK) {
        memcpy(box_key, key, KEY_LEN);
        box_ready = true;
    }
    OPENSSL_cleanse(key, sizeof(key));
out:
    act_free(path);
    return rc;
}

/* ---- seal and open ---- */

/* One AES-256-GCM pass; enc selects the direction.  For decryption `tag` is
 * the expected tag, for encryption it receives the tag.  Returns 1 on
 * success, 0 on any failure (including a tag mismatch). */
static int gcm(int enc, const unsigned char *nonce, const unsigned char *in, size_t len,
               unsigned char *out, unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, ok;

    if (!ctx)
        return 0;
    ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) &&
         EVP_CipherInit_ex(ctx, NULL, NULL, box_key, nonce, enc) &&
         EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)AAD, (int)strlen(AAD)) &&
         (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len));
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag);
    if (ok)
        ok = EVP_CipherFinal_ex(ctx, out + (len ? n : 0), &n);
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag);
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

int act_secret_box_seal(const char *plaintext, char **out, struct act_err *err)
{
    size_t len = strlen(plaintext);
    unsigned char *raw;
    char *b64;

    *out = NULL;
    if (!box_ready)
        return act_err_set(err, ACT_ESTATE, "secret box is not initialised");
    if (len > ACT_SECRET_MAX)
        return act_err_set(err, ACT_ETOOBIG, "secret is longer than %d bytes", ACT_SECRET_MAX);
    raw = act_xmalloc(NONCE_LEN + len + TAG_LEN);
    act_random_bytes(raw, NONCE_LEN);
    if (!gcm(1, raw, (const unsigned char *)plaintext, len, raw + NONCE_LEN,
             raw + NONCE_LEN + len)) {
        act_free(raw);
        return act_err_set(err, ACT_EIO, "AES-256-GCM encryption failed in OpenSSL");
    }
    b64 = act_b64_encode(raw, NONCE_LEN + len + TAG_LEN);
    *out = act_xasprintf("%s%s", ACT_SECRET_SEALED_PREFIX, b64);
    act_free(b64);
    act_free(raw);
    return ACT_OK;
}

int act_secret_box_open(const char *sealed, char **out, struct act_err *err)
{
    size_t plen = strlen(ACT_SECRET_SEALED_PREFIX), tlen;
    size_t cap = NONCE_LEN + ACT_SECRET_MAX + TAG_LEN;
    unsigned char *raw = NULL;
    char *plain = NULL;
    long n;
    int rc = ACT_OK;

    *out = NULL;
    if (!box_ready)
        return act_err_set(err, ACT_ESTATE, "secret box is not initialised");
    if (!act_secret_is_sealed(sealed))
        return act_err_set(err, ACT_EINVAL, "value is not a sealed secret (no \"%s\" prefix)",
                           ACT_SECRET_SEALED_PREFIX);
    tlen = strlen(sealed + plen);
    raw = act_xmalloc(cap);
    n = tlen > (cap + 2) / 3 * 4 ? -1 : act_b64_decode(sealed + plen, tlen, raw, cap);
    if (n < NONCE_LEN + TAG_LEN) {
        rc = act_err_set(err, ACT_EINVAL, "sealed secret is malformed");
        goto out;
    }
    plain = act_xmalloc((size_t)n - NONCE_LEN - TAG_LEN + 1);
    if (!gcm(0, raw, raw + NONCE_LEN, (size_t)n - NONCE_LEN - TAG_LEN, (unsigned char *)plain,
             raw + n - TAG_LEN)) {
        rc = act_err_set(err, ACT_EINVAL,
                         "sealed secret does not open with this data directory's key");
        goto out;
    }
    plain[n - NONCE_LEN - TAG_LEN] = '\0';
    if (strlen(plain) != (size_t)n - NONCE_LEN - TAG_LEN) {
        rc = act_err_set(err, ACT_EINVAL, "sealed secret contains a NUL byte");
        goto out;
    }
    *out = plain;
    plain = NULL;
out:
    if (plain)
        OPENSSL_cleanse(plain, (size_t)n - NONCE_LEN - TAG_LEN);
    act_free(plain);
    OPENSSL_cleanse(raw, cap);
    act_free(raw);
    return rc;
}

bool act_secret_is_sealed(const char *s)
{
    return s && strncmp(s, ACT_SECRET_SEALED_PREFIX, strlen(ACT_SECRET_SEALED_PREFIX)) == 0;
}

void act_secret_free(char *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, strlen(s));
    act_free(s);
}

char *act_secret_mask(const char *s)
{
    static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */
    size_t len = s ? strlen(s) : 0, head = 6, tail;

    if (len < 16)
        return act_xstrdup(ellipsis);
    /* Never cut a UTF-8 character: shrink the head, move the tail start. */
    while (head > 0 && ((unsigned char)s[head] & 0xC0) == 0x80)
        head--;
    tail = len - 4;
    while (tail < len && ((unsigned char)s[tail] & 0xC0) == 0x80)
        tail++;
    return act_xasprintf("%.*s%s%s", (int)head, s, ellipsis, s + tail);
}
