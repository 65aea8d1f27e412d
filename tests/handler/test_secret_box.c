/*
 * handler: the secret box (secret_box.h).  Every case runs in a fresh
 * temporary data directory; the sealed layout is checked by decrypting a
 * value independently with OpenSSL and a key file the test wrote itself.
 */
#include "base/alloc.h"
#include "base/err.h"
#include "handler/secret_box.h"
#include "handler/webhook_sign.h"
#include "tap.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *temp_dir(void)
{
    char *d = act_xstrdup("/tmp/act-box-XXXXXX");

    if (!mkdtemp(d))
        diag("mkdtemp failed");
    return d;
}

static void remove_dir(char *dir)
{
    char *key = act_xasprintf("%s/%s", dir, ACT_SECRET_KEY_FILE);

    unlink(key);
    rmdir(dir);
    act_free(key);
    act_free(dir);
}

static void write_file(const char *dir, const void *data, size_t n, mode_t mode)
{
    char *path = act_xasprintf("%s/%s", dir, ACT_SECRET_KEY_FILE);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    if (fd < 0 || write(fd, data, n) != (ssize_t)n)
        diag("cannot write %s", path);
    if (fd >= 0)
        close(fd);
    chmod(path, mode);
    act_free(path);
}

static void test_not_ready(void)
{
    struct act_err err = {0};
    char *out = NULL;

    subtest("before init");
    act_secret_box_release();
    ok(!act_secret_box_ready(), "not ready");
    is_int(act_secret_box_seal("x", &out, &err), ACT_ESTATE, "seal refuses");
    is_int(act_secret_box_open("v1:AAAA", &out, &err), ACT_ESTATE, "open refuses");
    ok(out == NULL, "nothing returned");
}

static void test_roundtrip(void)
{
    char *dir = temp_dir(), *path = act_xasprintf("%s/%s", dir, ACT_SECRET_KEY_FILE);
    struct act_err err = {0};
    char *a = NULL, *b = NULL, *plain = NULL, *empty = NULL;
    struct stat st;

    subtest("create the key, seal and open");
    is_int(act_secret_box_init(dir, &err), ACT_OK, "init in a fresh dir: %s", err.msg);
    ok(act_secret_box_ready(), "ready");
    ok(stat(path, &st) == 0, "the key file exists");
    is_int(st.st_size, 32, "32 bytes");
    is_int(st.st_mode & 0777, 0600, "mode 0600");
    is_int(act_secret_box_seal("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &a, &err), ACT_OK, "seal");
    ok(a && strncmp(a, "v1:", 3) == 0, "sealed text starts with v1:");
    ok(act_secret_is_sealed(a), "is_sealed says so");
    ok(!act_secret_is_sealed("whsec_x") && !act_secret_is_sealed(NULL), "plain text is not");
    ok(a && !strstr(a, "MfKQ9r8G"), "the plaintext does not show");
    is_int(act_secret_box_seal("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &b, &err), ACT_OK,
           "seal again");
    ok(a && b && strcmp(a, b) != 0, "a fresh nonce each time");
    is_int(act_secret_box_open(a, &plain, &err), ACT_OK, "open");
    is_str(plain, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "round trip");
    act_secret_free(plain);
    is_int(act_secret_box_seal("", &empty, &err), ACT_OK, "seal an empty string");
    is_int(act_secret_box_open(empty, &plain, &err), ACT_OK, "open it");
    is_str(plain, "", "empty round trip");
    act_secret_free(plain);

    /* Init again from the same directory: the same key is read back. */
    act_secret_box_release();
    is_int(act_secret_box_init(dir, &err), ACT_OK, "init reads the existing key");
    is_int(act_secret_box_open(b, &plain, &err), ACT_OK, "a value sealed before opens");
    act_secret_free(plain);
    act_free(a);
    act_free(b);
    act_free(empty);
    act_free(path);
    remove_dir(dir);
}

static void test_tamper(void)
{
    char *dir = temp_dir(), *other = temp_dir();
    struct act_err err = {0};
    char *sealed = NULL, *plain = NULL, *bad;
    size_t len;

    subtest("tamper detection");
    is_int(act_secret_box_init(dir, &err), ACT_OK, "init");
    is_int(act_secret_box_seal("api-key-0123456789", &sealed, &err), ACT_OK, "seal");
    len = strlen(sealed);
    bad = act_xstrdup(sealed);
    bad[len / 2] = bad[len / 2] == 'A' ? 'B' : 'A';
    is_int(act_secret_box_open(bad, &plain, &err), ACT_EINVAL, "a changed character is refused");
    is_str(err.msg, "sealed secret does not open with this data directory's key", "message");
    ok(plain == NULL, "no plaintext");
    act_free(bad);
    bad = act_xstrndup(sealed, len - 4);
    is_int(act_secret_box_open(bad, &plain, &err), ACT_EINVAL, "a truncated value is refused");
    act_free(bad);
    is_int(act_secret_box_open("v1:QUJD", &plain, &err), ACT_EINVAL, "too short is refused");
    is_str(err.msg, "sealed secret is malformed", "message");
    is_int(act_secret_box_open("v2:QUJD", &plain, &err), ACT_EINVAL, "unknown prefix is refused");
    is_int(act_secret_box_open("v1:not base64!", &plain, &err), ACT_EINVAL, "bad base64");
    is_int(act_secret_box_init(other, &err), ACT_OK, "switch to another data dir");
    is_int(act_secret_box_open(sealed, &plain, &err), ACT_EINVAL,
           "a value sealed under another key is refused");
    act_free(sealed);
    remove_dir(dir);
    remove_dir(other);
}

static void test_key_file_checks(void)
{
    char *dir = temp_dir();
    unsigned char key[32];
    struct act_err err = {0};

    subtest("key file checks");
    memset(key, 1, sizeof(key));
    write_file(dir, key, sizeof(key), 0644);
    is_int(act_secret_box_init(dir, &err), ACT_EINVAL, "a group-readable key is refused");
    ok(strstr(err.msg, "chmod 600") != NULL, "message says what to do: %s", err.msg);
    write_file(dir, key, 16, 0600);
    is_int(act_secret_box_init(dir, &err), ACT_EINVAL, "a 16-byte key file is refused");
    ok(strstr(err.msg, "expected 32") != NULL, "message: %s", err.msg);
    is_int(act_secret_box_init("/nonexistent/dir/x", &err), ACT_EIO, "a missing dir is an error");
    ok(strstr(err.msg, "/nonexistent/dir/x/secret.key") != NULL, "naming the file: %s", err.msg);
    remove_dir(dir);
}

/* Decrypt a sealed value independently: nonce | ct | tag, AAD constant. */
static void test_layout(void)
{
    char *dir = temp_dir();
    unsigned char key[32], raw[256], pt[256];
    struct act_err err = {0};
    char *sealed = NULL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    long n;
    int len = 0, fin = 0, ok_tag;
    const char *aad = "actiond-secret-v1";

    subtest("sealed layout, decrypted independently");
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (unsigned char)(200 - i);
    write_file(dir, key, sizeof(key), 0600);
    is_int(act_secret_box_init(dir, &err), ACT_OK, "init with a known key");
    is_int(act_secret_box_seal("hello secret", &sealed, &err), ACT_OK, "seal");
    n = act_b64_decode(sealed + 3, strlen(sealed + 3), raw, sizeof(raw));
    is_int(n, 12 + 12 + 16, "nonce + 12 bytes + tag");
    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL);
    EVP_DecryptInit_ex(ctx, NULL, NULL, key, raw);
    EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)strlen(aad));
    EVP_DecryptUpdate(ctx, pt, &len, raw + 12, (int)n - 28);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, raw + n - 16);
    ok_tag = EVP_DecryptFinal_ex(ctx, pt + len, &fin);
    EVP_CIPHER_CTX_free(ctx);
    ok(ok_tag == 1, "the tag checks with AAD actiond-secret-v1");
    is_mem(pt, "hello secret", 12, "the plaintext");
    act_free(sealed);
    remove_dir(dir);
}

static void *seal_open_loop(void *arg)
{
    int *failures = arg;

    for (int i = 0; i < 200; i++) {
        char text[32], *s = NULL, *p = NULL;

        snprintf(text, sizeof(text), "secret-%d-%p", i, (void *)&i);
        if (act_secret_box_seal(text, &s, NULL) < 0 || act_secret_box_open(s, &p, NULL) < 0 ||
            strcmp(p, text) != 0)
            (*failures)++;
        act_free(s);
        act_secret_free(p);
    }
    return NULL;
}

static void test_threads(void)
{
    char *dir = temp_dir();
    pthread_t t[4];
    int failures[4] = {0};

    subtest("seal and open from several threads");
    is_int(act_secret_box_init(dir, NULL), ACT_OK, "init");
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, seal_open_loop, &failures[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    is_int(failures[0] + failures[1] + failures[2] + failures[3], 0, "800 round trips, no failure");
    remove_dir(dir);
}

static void test_limits_and_mask(void)
{
    char *big = act_xmalloc(ACT_SECRET_MAX + 2), *out = NULL, *m;

    subtest("limits and mask");
    memset(big, 'x', ACT_SECRET_MAX + 1);
    big[ACT_SECRET_MAX + 1] = '\0';
    is_int(act_secret_box_seal(big, &out, NULL), ACT_ETOOBIG, "over the size limit");
    act_free(big);
    m = act_secret_mask("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    is_str(m, "whsec_\xe2\x80\xa6LaSw", "whsec_…LaSw");
    act_free(m);
    m = act_secret_mask("short-secret");
    is_str(m, "\xe2\x80\xa6", "a short secret shows nothing");
    act_free(m);
    m = act_secret_mask(NULL);
    is_str(m, "\xe2\x80\xa6", "NULL shows nothing");
    act_free(m);
    m = act_secret_mask("\xc3\xa9\xc3\xa9\xc3\xa9xxxxxxxxxx\xc3\xa9\xc3\xa9");
    is_str(m, "\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x80\xa6\xc3\xa9\xc3\xa9", "UTF-8 is never cut");
    act_free(m);
}

int main(void)
{
    test_not_ready();
    test_roundtrip();
    test_tamper();
    test_key_file_checks();
    test_layout();
    test_threads();
    test_limits_and_mask();
    act_secret_box_release();
    return done_testing();
}
