/*
 * Secret redaction for anything shown to clients or written to logs: an
 * action's config, a handler spec, an execution's input.
 *
 * A key is secret when it contains, ignoring case, one of the words below.
 * '-' and '_' count as the same character, so "x-api-key", "API_KEY" and
 * "private-key" are caught as well as "apiKey" and "Authorization".  Being
 * a substring test it over-redacts ("tokenizer") rather than leak.
 *
 * Invariants: act_redact never modifies its input; the copy shares no
 * containers with it, and every value under a secret key, whatever its
 * type (object, array, null), becomes the string "***".
 */
#include "base/alloc.h"
#include "model/model.h"

#include <ctype.h>
#include <string.h>

static const char *const secret_words[] = {
    "secret", "password", "token", "api_key", "apikey", "authorization", "private_key",
    "credentials",
    "function_key", /* serverless_azure's x-functions-key */
    "webhook_url",  /* slack: the incoming-webhook URL carries its token */
    NULL,
};

static int fold(unsigned char c)
{
    return c == '-' ? '_' : tolower(c);
}

/* Does `hay` contain `word` (lowercase, '_' for '-') under fold()? */
static bool contains_folded(const char *hay, const char *word)
{
    size_t wn = strlen(word);

    for (; *hay; hay++) {
        size_t i = 0;
        while (i < wn && hay[i] && fold((unsigned char)hay[i]) == (unsigned char)word[i])
            i++;
        if (i == wn)
            return true;
    }
    return false;
}

bool act_key_is_secret(const char *key)
{
    if (!key)
        return false;
    for (const char *const *w = secret_words; *w; w++)
        if (contains_folded(key, *w))
            return true;
    return false;
}

/* A URL's userinfo password (scheme://user:PASSWORD@host...) as "***";
 * NULL when the string carries none. */
static json_t *mask_url_password(const char *s)
{
    const char *scheme = strstr(s, "://"), *at, *colon, *end;
    char *masked;
    json_t *out;

    if (!scheme)
        return NULL;
    end = scheme + 3 + strcspn(scheme + 3, "/?#");
    at = NULL;
    for (const char *p = scheme + 3; p < end; p++)
        if (*p == '@')
            at = p; /* the last '@' before the path ends the userinfo */
    if (!at)
        return NULL;
    colon = memchr(scheme + 3, ':', (size_t)(at - (scheme + 3)));
    if (!colon)
        return NULL;
    masked = act_xasprintf("%.*s***%s", (int)(colon + 1 - s), s, at);
    out = json_string(masked);
    act_free(masked);
    return out;
}

json_t *act_redact(const json_t *v)
{
    const char *key;
    size_t key_len, i;
    json_t *out, *m;

    if (json_is_object(v)) {
        out = json_object();
        json_object_keylen_foreach ((json_t *)v, key, key_len, m) {
            /* A key with a NUL byte hides its tail from the test: redact. */
            bool secret = strlen(key) != key_len || act_key_is_secret(key);
            json_object_setn_new(out, key, key_len, secret ? json_string("***") : act_redact(m));
        }
        return out;
    }
    if (json_is_array(v)) {
        out = json_array();
        for (i = 0; i < json_array_size(v); i++)
            json_array_append_new(out, act_redact(json_array_get(v, i)));
        return out;
    }
    if (json_is_string(v)) {
        json_t *masked = mask_url_password(json_string_value(v));
        if (masked)
            return masked;
    }
    return v ? json_copy((json_t *)v) : NULL;
}
