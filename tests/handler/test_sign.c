/*
 * handler: Standard Webhooks signatures (webhook_sign.h) and the strict
 * base64 helpers.  The fixed vector is the one the Standard Webhooks / Svix
 * documentation publishes; random cases are cross-checked against the
 * openssl command line (`openssl dgst -sha256 -mac HMAC`) when it exists.
 */
#include "base/alloc.h"
#include "base/err.h"
#include "base/time.h"
#include "handler/webhook_sign.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_TS 1614265330
#define VEC_BODY "{\"test\": 2432232314}"
#define VEC_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static void test_vector(void)
{
    const char *secrets[] = {VEC_SECRET};
    const char *bare[] = {VEC_SECRET + 6};
    struct act_err err = {0};
    char *sig = NULL;

    subtest("the published vector");
    is_int(act_webhook_sign(VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), secrets, 1, &sig, &err),
           ACT_OK, "sign succeeds");
    is_str(sig, VEC_SIG, "signature matches the published one");
    act_free(sig);
    is_int(act_webhook_sign(VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), bare, 1, &sig, &err),
           ACT_OK, "a secret without whsec_ is accepted");
    is_str(sig, VEC_SIG, "and gives the same signature");
    act_free(sig);
    is_int(act_webhook_verify(VEC_SECRET, VEC_ID, "1614265330", VEC_BODY, strlen(VEC_BODY),
                              VEC_SIG, VEC_TS + 10, ACT_WEBHOOK_TOLERANCE_S, &err),
           ACT_OK, "verify accepts it");
}

static void test_verify_failures(void)
{
    struct act_err err = {0};
    const char *body = VEC_BODY;
    size_t len = strlen(body);

    subtest("verify failures");
    is_int(act_webhook_verify(VEC_SECRET, VEC_ID, "1614265330", "{\"test\": 2432232315}", len,
                              VEC_SIG, VEC_TS, 300, &err),
           ACT_EINVAL, "a changed body is refused");
    is_str(err.msg, "no matching signature", "message");
    is_int(act_webhook_verify(VEC_SECRET, "msg_other", "1614265330", body, len, VEC_SIG, VEC_TS,
                              300, &err),
           ACT_EINVAL, "a changed id is refused");
    is_int(act_webhook_verify("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", VEC_ID, "1614265330", body,
                              len, VEC_SIG, VEC_TS, 300, &err),
           ACT_EINVAL, "another secret is refused");
    is_int(act_webhook_verify(VEC_SECRET, VEC_ID, "1614265330", body, len, VEC_SIG, VEC_TS + 301,
                              300, &err),
           ACT_EINVAL, "an old timestamp is refused");
    is_str(err.msg, "timestamp too old", "message");
    is_int(act_webhook_verify(VEC_SECRET, VEC_ID, "1614265330", body, len, VEC_SIG, VEC_TS - 301,
                              300, &err),
           ACT_EINVAL, "a future timestamp is refused");
    is_str(err.msg, "timestamp too new", "message");
    is_int(act_webhook_verify(VEC_SECRET, VEC_ID, "1614265330x", body, len, VEC_SIG, VEC_TS, 300,
                              &err),
           ACT_EINVAL, "a non-numeric timestamp is refused");
    is_str(err.msg, "bad timestamp", "message");
    is_int(act_webhook_verify(VEC_SECRET, VEC_ID, "1614265330", body, len,
                              "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", VEC_TS, 300,
                              &err),
           ACT_EINVAL, "only v1 entries count");
    is_int(act_webhook_verify(VEC_SECRET, VEC_ID, "1614265330", body, len,
                              "v2,abc v1,AAAA " VEC_SIG, VEC_TS, 300, &err),
           ACT_OK, "any matching v1 entry among several suffices");
    is_int(act_webhook_verify(VEC_SECRET, VEC_ID, "1614265330", body, len, "v1,!!!!", VEC_TS, 300,
                              &err),
           ACT_EINVAL, "a non-base64 signature is refused");
}

static void test_rotation_and_new(void)
{
    char *a = act_webhook_secret_new(), *b = act_webhook_secret_new();
    const char *secrets[] = {a, b};
    struct act_webhook_key key;
    struct act_err err = {0};
    char *sig = NULL, *space;

    subtest("new secrets and rotation");
    ok(strncmp(a, "whsec_", 6) == 0, "a new secret starts with whsec_");
    is_int(strlen(a), 6 + 44, "and holds base64 of 32 bytes");
    is_int(act_webhook_key_parse(a, &key, &err), ACT_OK, "it parses");
    is_int(key.len, ACT_WEBHOOK_KEY_NEW, "into a 32-byte key");
    ok(strcmp(a, b) != 0, "two new secrets differ");
    is_int(act_webhook_sign("msg_1", 1700000000, "", 0, secrets, 2, &sig, &err), ACT_OK,
           "signing with two secrets (empty body)");
    space = sig ? strchr(sig, ' ') : NULL;
    ok(space && strncmp(sig, "v1,", 3) == 0 && strncmp(space + 1, "v1,", 3) == 0,
       "two space-separated v1 entries: %s", sig ? sig : "(null)");
    is_int(act_webhook_verify(a, "msg_1", "1700000000", "", 0, sig, 1700000000, 300, &err), ACT_OK,
           "the old secret verifies");
    is_int(act_webhook_verify(b, "msg_1", "1700000000", "", 0, sig, 1700000000, 300, &err), ACT_OK,
           "the new secret verifies");
    act_free(sig);
    act_free(a);
    act_free(b);
}

static void test_bad_secrets(void)
{
    const char *bad[] = {"whsec_!!!!", "whsec_QUJDREVGR0g=", "whsec_QUJDRA", ""};
    const char *why[] = {"not base64", "8 bytes is too short", "unpadded", "empty"};
    char long_secret[200] = "whsec_";
    unsigned char raw[65];
    struct act_webhook_key key;
    struct act_err err = {0};
    char *b64, *sig = NULL;
    const char *one[1];

    subtest("bad secrets");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_int(act_webhook_key_parse(bad[i], &key, &err), ACT_EINVAL, "refused: %s", why[i]);
    memset(raw, 7, sizeof(raw));
    b64 = act_b64_encode(raw, sizeof(raw));
    snprintf(long_secret + 6, sizeof(long_secret) - 6, "%s", b64);
    act_free(b64);
    is_int(act_webhook_key_parse(long_secret, &key, &err), ACT_EINVAL, "a 65-byte key is refused");
    ok(strstr(err.msg, "whsec_") && !strstr(err.msg, long_secret + 6),
       "the message explains without quoting the secret: %s", err.msg);
    one[0] = "whsec_!!!!";
    is_int(act_webhook_sign("m", 1, "x", 1, one, 1, &sig, &err), ACT_EINVAL, "sign refuses it");
    ok(sig == NULL, "no header on failure");
    is_int(act_webhook_sign("m", 1, "x", 1, one, 0, &sig, &err), ACT_EINVAL, "zero secrets");
    one[0] = VEC_SECRET;
    is_int(act_webhook_sign("", 1, "x", 1, one, 1, &sig, &err), ACT_EINVAL, "an empty id");
}

static void test_base64(void)
{
    unsigned char in[40], out[40];
    bool all = true;

    subtest("base64");
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (unsigned char)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof(in); n++) {
        char *t = act_b64_encode(in, n);
        long got = act_b64_decode(t, strlen(t), out, sizeof(out));

        all = all && got == (long)n && memcmp(in, out, n) == 0 && strlen(t) == (n + 2) / 3 * 4;
        act_free(t);
    }
    ok(all, "encode/decode round trip for 0..40 bytes");
    is_int(act_b64_decode("QUJD", 4, out, sizeof(out)), 3, "QUJD is 3 bytes");
    is_mem(out, "ABC", 3, "decoded bytes");
    is_int(act_b64_decode("QUI=", 4, out, sizeof(out)), 2, "one pad");
    is_int(act_b64_decode("QQ==", 4, out, sizeof(out)), 1, "two pads");
    is_int(act_b64_decode("QQ", 2, out, sizeof(out)), -1, "missing padding is refused");
    is_int(act_b64_decode("Q===", 4, out, sizeof(out)), -1, "three pads are refused");
    is_int(act_b64_decode("QQ=A", 4, out, sizeof(out)), -1, "padding inside is refused");
    is_int(act_b64_decode("QU D", 4, out, sizeof(out)), -1, "whitespace is refused");
    is_int(act_b64_decode("QUJDREVG", 8, out, 5), -1, "output over the capacity is refused");
}

/* Sign random content and compare with the openssl command line. */
static void test_openssl_cross_check(void)
{
    char dir[] = "/tmp/act-sign-XXXXXX", path[64], cmd[512], line[128];
    unsigned char key[32], body[300];
    char hexkey[65], *b64, *secret, *sig = NULL;
    struct act_err err = {0};
    const char *secrets[1];
    FILE *f, *p;

    subtest("cross-check with openssl dgst");
    if (system("openssl version >/dev/null 2>&1") != 0) {
        skip("no openssl command", "cross-check");
        return;
    }
    act_random_bytes(key, sizeof(key));
    act_random_bytes(body, sizeof(body));
    for (size_t i = 0; i < sizeof(key); i++)
        snprintf(hexkey + 2 * i, 3, "%02x", key[i]);
    b64 = act_b64_encode(key, sizeof(key));
    secret = act_xasprintf("whsec_%s", b64);
    secrets[0] = secret;
    ok(mkdtemp(dir) != NULL, "temp dir");
    snprintf(path, sizeof(path), "%s/content", dir);
    f = fopen(path, "wb");
    fprintf(f, "msg_2a.1700000123.");
    fwrite(body, 1, sizeof(body), f);
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             "openssl dgst -sha256 -mac HMAC -macopt hexkey:%s -binary < %s | base64", hexkey,
             path);
    p = popen(cmd, "r");
    ok(p && fgets(line, sizeof(line), p), "openssl answered");
    if (p)
        pclose(p);
    line[strcspn(line, "\n")] = '\0';
    is_int(act_webhook_sign("msg_2a", 1700000123, body, sizeof(body), secrets, 1, &sig, &err),
           ACT_OK, "sign binary content");
    ok(sig && strncmp(sig, "v1,", 3) == 0 && strcmp(sig + 3, line) == 0,
       "same MAC as openssl: %s vs v1,%s", sig ? sig : "(null)", line);
    unlink(path);
    rmdir(dir);
    act_free(sig);
    act_free(secret);
    act_free(b64);
}

int main(void)
{
    test_vector();
    test_verify_failures();
    test_rotation_and_new();
    test_bad_secrets();
    test_base64();
    test_openssl_cross_check();
    return done_testing();
}
