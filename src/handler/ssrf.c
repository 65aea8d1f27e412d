/*
 * The egress guard (ssrf.h): an address classifier, the process-wide allow
 * list, and the libcurl open-socket callback that applies both.
 *
 * Why at socket time: a check of the URL's host text misses names that
 * resolve to internal addresses (and DNS rebinding between a check and the
 * connect), and the many spellings of an IPv4 literal (2130706433,
 * 0177.0.0.1, 0x7f.1).  CURLOPT_OPENSOCKETFUNCTION is called with the
 * resolved sockaddr libcurl is about to connect to, once per address it
 * tries, including the ones happy eyeballs races; refusing means returning
 * CURL_SOCKET_BAD, so no socket exists and no byte is sent.  A reused
 * connection was checked when it was opened.
 *
 * Classification is first-match over fixed tables, most specific first
 * (the metadata host 169.254.169.254 before link-local 169.254/16).  IPv6
 * outside global unicast 2000::/3 is refused as reserved; inside it the
 * table lists the special-purpose blocks.  Forms that carry an IPv4
 * address (IPv4-mapped, NAT64 well-known prefix, 6to4) are judged by that
 * address, since the packets end up there.
 *
 * Invariants: the allow list is replaced whole under `allow_lock` and read
 * under it; classification uses constant tables only, so it is safe from
 * any thread.
 */
#include "handler/ssrf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- classification ---- */

struct v4_rule {
    uint32_t net;
    int bits;
    const char *rule;
};

/* First match wins: specific entries before the blocks that contain them. */
static const struct v4_rule v4_rules[] = {
    {0xA9FEA9FE, 32, "cloud-metadata"}, /* 169.254.169.254: AWS, GCP, Azure, ... */
    {0xA83F8110, 32, "cloud-metadata"}, /* 168.63.129.16: Azure wire server */
    {0x00000000, 32, "unspecified"},
    {0xFFFFFFFF, 32, "broadcast"},
    {0x00000000, 8, "this-network"},
    {0x0A000000, 8, "private"},
    {0x64400000, 10, "cgnat"},          /* 100.64.0.0/10 (also Alibaba's metadata) */
    {0x7F000000, 8, "loopback"},
    {0xA9FE0000, 16, "link-local"},
    {0xAC100000, 12, "private"},
    {0xC0000000, 24, "reserved"},       /* 192.0.0.0/24 IETF protocol assignments */
    {0xC0000200, 24, "documentation"},  /* 192.0.2.0/24 TEST-NET-1 */
    {0xC0586300, 24, "reserved"},       /* 192.88.99.0/24 6to4 relay anycast */
    {0xC0A80000, 16, "private"},
    {0xC6120000, 15, "benchmarking"},   /* 198.18.0.0/15 */
    {0xC6336400, 24, "documentation"},  /* 198.51.100.0/24 TEST-NET-2 */
    {0xCB007100, 24, "documentation"},  /* 203.0.113.0/24 TEST-NET-3 */
    {0xE0000000, 4, "multicast"},
    {0xF0000000, 4, "reserved"},        /* 240.0.0.0/4 */
};

static const char *classify_v4(uint32_t a)
{
    for (size_t i = 0; i < sizeof(v4_rules) / sizeof(v4_rules[0]); i++) {
        uint32_t mask = v4_rules[i].bits ? 0xFFFFFFFFu << (32 - v4_rules[i].bits) : 0;

        if ((a & mask) == v4_rules[i].net)
            return v4_rules[i].rule;
    }
    return NULL;
}

enum v6_kind { V6_RULE, V6_MAPPED, V6_NAT64, V6_6TO4 };

struct v6_rule {
    unsigned char net[16];
    int bits;
    enum v6_kind kind;
    const char *rule;
};

static const struct v6_rule v6_rules[] = {
    {{0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54}, 128, V6_RULE, "cloud-metadata"},
    {{0}, 128, V6_RULE, "unspecified"},
    {{[15] = 1}, 128, V6_RULE, "loopback"},
    {{[10] = 0xff, [11] = 0xff}, 96, V6_MAPPED, NULL},
    {{0x00, 0x64, 0xff, 0x9b}, 96, V6_NAT64, NULL},
    {{0x20, 0x02}, 16, V6_6TO4, NULL},
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, V6_RULE, "reserved"}, /* local-use NAT64 */
    {{0x20, 0x01, 0x00, 0x00}, 32, V6_RULE, "teredo"},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, V6_RULE, "documentation"},
    {{0x3f, 0xff}, 20, V6_RULE, "documentation"},                    /* 3fff::/20 */
    {{0x20, 0x01, 0x00, 0x02, 0x00, 0x00}, 48, V6_RULE, "benchmarking"},
    {{0x20, 0x01}, 23, V6_RULE, "reserved"},                         /* IETF assignments */
    {{0xfc}, 7, V6_RULE, "private"},
    {{0xfe, 0x80}, 10, V6_RULE, "link-local"},
    {{0xff}, 8, V6_RULE, "multicast"},
};

static bool prefix_match(const unsigned char *a, const unsigned char *net, int bits)
{
    int full = bits / 8, rest = bits % 8;

    if (memcmp(a, net, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((a[full] ^ net[full]) & (0xFF << (8 - rest))) == 0;
}

static uint32_t v4_at(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The IPv4 address embedded in a v6 form, when the rule is one. */
static bool embedded_v4(const unsigned char *a, enum v6_kind kind, uint32_t *v4)
{
    if (kind == V6_MAPPED || kind == V6_NAT64)
        *v4 = v4_at(a + 12);
    else if (kind == V6_6TO4)
        *v4 = v4_at(a + 2);
    else
        return false;
    return true;
}

static const char *classify_v6(const unsigned char *a, const char **via, uint32_t *v4,
                               bool *has_v4)
{
    static const char *const via_names[] = {NULL, "ipv4-mapped", "nat64", "6to4"};

    *has_v4 = false;
    for (size_t i = 0; i < sizeof(v6_rules) / sizeof(v6_rules[0]); i++) {
        const struct v6_rule *r = &v6_rules[i];

        if (!prefix_match(a, r->net, r->bits))
            continue;
        if (r->kind == V6_RULE)
            return r->rule;
        embedded_v4(a, r->kind, v4);
        *has_v4 = true;
        *via = via_names[r->kind];
        return classify_v4(*v4);
    }
    if ((a[0] & 0xE0) != 0x20)
        return "reserved"; /* outside global unicast 2000::/3 */
    return NULL;
}

const char *act_ssrf_classify(const struct sockaddr *sa, const char **via)
{
    const char *dummy_via = NULL;
    uint32_t v4;
    bool has_v4;

    if (!via)
        via = &dummy_via;
    *via = NULL;
    if (sa->sa_family == AF_INET)
        return classify_v4(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
    if (sa->sa_family == AF_INET6) {
        const char *rule =
            classify_v6(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, via, &v4, &has_v4);

        if (!rule)
            *via = NULL;
        return rule;
    }
    return "reserved";
}

/* ---- the allow list ---- */

struct cidr {
    int family;
    unsigned char net[16];
    int bits;
};

static pthread_rwlock_t allow_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct cidr allow[ACT_SSRF_ALLOW_MAX]; /* guarded by: allow_lock */
static size_t n_allow;                        /* guarded by: allow_lock */

/* Parse one "addr[/bits]" entry (NUL-terminated, trimmed). */
static bool parse_cidr(const char *s, struct cidr *c)
{
    char addr[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    int max;

    if (alen == 0 || alen >= sizeof(addr))
        return false;
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    memset(c, 0, sizeof(*c));
    if (inet_pton(AF_INET, addr, c->net) == 1)
        c->family = AF_INET, max = 32;
    else if (inet_pton(AF_INET6, addr, c->net) == 1)
        c->family = AF_INET6, max = 128;
    else
        return false;
    c->bits = max;
    if (slash) {
        char *end = NULL;
        long b;

        if (!isdigit((unsigned char)slash[1]))
            return false;
        b = strtol(slash + 1, &end, 10);
        if (*end || b < 0 || b > max)
            return false;
        c->bits = (int)b;
    }
    /* Host bits set under the mask ("10.1.2.3/8") are a likely typo: refuse. */
    for (int i = c->bits; i < max; i++)
        if (c->net[i / 8] & (0x80 >> (i % 8)))
            return false;
    return true;
}

int act_ssrf_set_allow(const char *list, struct act_err *err)
{
    struct cidr tmp[ACT_SSRF_ALLOW_MAX];
    size_t n = 0;
    const char *p = list ? list : "";

    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char entry[80];

        while (len && isspace((unsigned char)*p))
            p++, len--;
        while (len && isspace((unsigned char)p[len - 1]))
            len--;
        if (len) {
            if (len >= sizeof(entry))
                return act_err_set(err, ACT_EINVAL, "egress.allow: entry '%.60s...' is too long",
                                   p);
            memcpy(entry, p, len);
            entry[len] = '\0';
            if (n == ACT_SSRF_ALLOW_MAX)
                return act_err_set(err, ACT_EINVAL, "egress.allow: more than %d entries",
                                   ACT_SSRF_ALLOW_MAX);
            if (!parse_cidr(entry, &tmp[n]))
                return act_err_set(err, ACT_EINVAL,
                                   "egress.allow: '%s' is not a CIDR (address/bits, host bits "
                                   "zero)",
                                   entry);
            n++;
        }
        p = end ? end + 1 : p + strlen(p);
    }
    pthread_rwlock_wrlock(&allow_lock);
    memcpy(allow, tmp, n * sizeof(tmp[0]));
    n_allow = n;
    pthread_rwlock_unlock(&allow_lock);
    return ACT_OK;
}

static bool allowed(int family, const unsigned char *a)
{
    bool yes = false;

    pthread_rwlock_rdlock(&allow_lock);
    for (size_t i = 0; i < n_allow && !yes; i++)
        yes = allow[i].family == family && prefix_match(a, allow[i].net, allow[i].bits);
    pthread_rwlock_unlock(&allow_lock);
    return yes;
}

int act_ssrf_check(const struct sockaddr *sa, char *msg, size_t cap)
{
    char text[INET6_ADDRSTRLEN] = "?";
    const char *via = NULL, *rule = act_ssrf_classify(sa, &via);
    const unsigned char *a;
    int family = sa->sa_family;

    if (!rule)
        return ACT_OK;
    if (family == AF_INET || family == AF_INET6) {
        a = family == AF_INET ? (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr
                              : ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        if (allowed(family, a))
            return ACT_OK;
        if (via) { /* an embedded IPv4 address admitted as such */
            unsigned char v4[4];
            uint32_t e;
            bool has;

            classify_v6(a, &via, &e, &has);
            v4[0] = (unsigned char)(e >> 24), v4[1] = (unsigned char)(e >> 16);
            v4[2] = (unsigned char)(e >> 8), v4[3] = (unsigned char)e;
            if (has && allowed(AF_INET, v4))
                return ACT_OK;
        }
        inet_ntop(family, a, text, sizeof(text));
    }
    if (msg && cap)
        snprintf(msg, cap, "refused %s: %s%s%s (egress.allow does not admit it)", text, rule,
                 via ? " via " : "", via ? via : "");
    return ACT_EPLUGIN;
}

/* ---- the libcurl hook ---- */

static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct act_ssrf_guard *g = clientp;
    char msg[sizeof(g->refused)];
    int fd;

    if (purpose != CURLSOCKTYPE_IPCXN || (a->family != AF_INET && a->family != AF_INET6)) {
        g->n_refused++;
        snprintf(g->refused, sizeof(g->refused), "refused a socket of family %d", a->family);
        return CURL_SOCKET_BAD;
    }
    if (act_ssrf_check(&a->addr, msg, sizeof(msg)) < 0) {
        g->n_refused++;
        memcpy(g->refused, msg, sizeof(msg));
        return CURL_SOCKET_BAD;
    }
    fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    return fd < 0 ? CURL_SOCKET_BAD : fd;
}

void act_ssrf_guard_install(CURL *easy, struct act_ssrf_guard *g)
{
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, g);
}
