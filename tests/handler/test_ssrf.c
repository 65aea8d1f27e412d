/*
 * handler: the egress guard (ssrf.h).  The classifier row by row, the allow
 * list, and the libcurl hook against a listening loopback socket: numeric
 * IPv4 spellings in URLs (decimal, octal, hex, short forms), a bracketed
 * IPv4-mapped literal and a DNS name mapped to 127.0.0.1 (CURLOPT_RESOLVE)
 * are all refused before a byte is sent, and admitted once egress.allow
 * covers them.  "Nothing sent" is checked on the listening socket: a
 * refused attempt leaves no connection in its backlog.
 */
#include "base/alloc.h"
#include "base/err.h"
#include "handler/ssrf.h"
#include "tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Parse an address literal into a sockaddr. */
static bool to_sa(const char *text, struct sockaddr_storage *ss)
{
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        return true;
    }
    return false;
}

static void test_classify(void)
{
    static const struct {
        const char *addr, *rule, *via;
    } rows[] = {
        {"127.0.0.1", "loopback", NULL},
        {"127.255.255.254", "loopback", NULL},
        {"::1", "loopback", NULL},
        {"::ffff:127.0.0.1", "loopback", "ipv4-mapped"},
        {"::ffff:10.0.0.1", "private", "ipv4-mapped"},
        {"::ffff:169.254.169.254", "cloud-metadata", "ipv4-mapped"},
        {"64:ff9b::7f00:1", "loopback", "nat64"},
        {"64:ff9b::a00:1", "private", "nat64"},
        {"2002:7f00:1::", "loopback", "6to4"},
        {"2002:c0a8:101::1", "private", "6to4"},
        {"169.254.169.254", "cloud-metadata", NULL},
        {"168.63.129.16", "cloud-metadata", NULL},
        {"fd00:ec2::254", "cloud-metadata", NULL},
        {"169.254.1.1", "link-local", NULL},
        {"fe80::1", "link-local", NULL},
        {"10.0.0.1", "private", NULL},
        {"172.16.0.1", "private", NULL},
        {"172.31.255.255", "private", NULL},
        {"192.168.1.1", "private", NULL},
        {"fc00::1", "private", NULL},
        {"fd12:3456:789a::1", "private", NULL},
        {"100.64.0.1", "cgnat", NULL},
        {"100.127.255.254", "cgnat", NULL},
        {"224.0.0.1", "multicast", NULL},
        {"239.255.255.250", "multicast", NULL},
        {"ff02::1", "multicast", NULL},
        {"0.0.0.0", "unspecified", NULL},
        {"::", "unspecified", NULL},
        {"0.1.2.3", "this-network", NULL},
        {"255.255.255.255", "broadcast", NULL},
        {"240.0.0.1", "reserved", NULL},
        {"192.0.0.8", "reserved", NULL},
        {"192.88.99.1", "reserved", NULL},
        {"fec0::1", "reserved", NULL},
        {"100::1", "reserved", NULL},
        {"::7f00:1", "reserved", NULL},         /* IPv4-compatible, deprecated */
        {"64:ff9b:1::1", "reserved", NULL},     /* local-use NAT64 */
        {"2001:10::1", "reserved", NULL},
        {"4000::1", "reserved", NULL},          /* outside 2000::/3 */
        {"2001::1", "teredo", NULL},
        {"2001:0:4136:e378:8000:63bf:3fff:fdd2", "teredo", NULL},
        {"192.0.2.1", "documentation", NULL},
        {"198.51.100.7", "documentation", NULL},
        {"203.0.113.9", "documentation", NULL},
        {"2001:db8::1", "documentation", NULL},
        {"3fff::1", "documentation", NULL},
        {"198.18.0.1", "benchmarking", NULL},
        {"198.19.255.255", "benchmarking", NULL},
        {"2001:2::1", "benchmarking", NULL},
        /* public: admitted */
        {"8.8.8.8", NULL, NULL},
        {"1.1.1.1", NULL, NULL},
        {"93.184.216.34", NULL, NULL},
        {"172.32.0.1", NULL, NULL},
        {"100.128.0.1", NULL, NULL},
        {"169.255.0.1", NULL, NULL},
        {"198.20.0.1", NULL, NULL},
        {"223.255.255.255", NULL, NULL},
        {"2606:4700:4700::1111", NULL, NULL},
        {"2a00:1450:4001:82a::200e", NULL, NULL},
        {"::ffff:8.8.8.8", NULL, NULL},
        {"64:ff9b::808:808", NULL, NULL},
        {"2002:808:808::1", NULL, NULL},
    };

    subtest("classifier, row by row");
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct sockaddr_storage ss;
        const char *via = "unset", *rule;

        if (!to_sa(rows[i].addr, &ss)) {
            ok(0, "%s parses", rows[i].addr);
            continue;
        }
        rule = act_ssrf_classify((struct sockaddr *)&ss, &via);
        if (rows[i].rule) {
            is_str(rule, rows[i].rule, "%s is %s", rows[i].addr, rows[i].rule);
            is_str(via ? via : "(none)", rows[i].via ? rows[i].via : "(none)",
                   "%s: via %s", rows[i].addr, rows[i].via ? rows[i].via : "(none)");
        } else {
            ok(rule == NULL, "%s is public (got %s)", rows[i].addr, rule ? rule : "NULL");
        }
    }
}

static void check_msg(const char *addr, const char *want)
{
    struct sockaddr_storage ss;
    char msg[200] = "";
    int rc;

    to_sa(addr, &ss);
    rc = act_ssrf_check((struct sockaddr *)&ss, msg, sizeof(msg));
    if (want) {
        is_int(rc, ACT_EPLUGIN, "%s refused", addr);
        is_str(msg, want, "%s: message names the address and the rule", addr);
    } else {
        is_int(rc, ACT_OK, "%s admitted", addr);
    }
}

static void test_allow(void)
{
    struct act_err err = {0};

    subtest("allow list");
    is_int(act_ssrf_set_allow("", &err), ACT_OK, "empty list");
    check_msg("127.0.0.1", "refused 127.0.0.1: loopback (egress.allow does not admit it)");
    check_msg("::ffff:127.0.0.1",
              "refused ::ffff:127.0.0.1: loopback via ipv4-mapped (egress.allow does not admit "
              "it)");
    check_msg("169.254.169.254",
              "refused 169.254.169.254: cloud-metadata (egress.allow does not admit it)");
    check_msg("8.8.8.8", NULL);

    is_int(act_ssrf_set_allow(" 127.0.0.0/8 , fd00:ec2::254 ,10.1.0.0/16", &err), ACT_OK,
           "a list with blanks");
    check_msg("127.0.0.1", NULL);
    check_msg("127.9.9.9", NULL);
    check_msg("::ffff:127.0.0.1", NULL);  /* admitted through its embedded IPv4 */
    check_msg("64:ff9b::7f00:1", NULL);
    check_msg("fd00:ec2::254", NULL);
    check_msg("10.1.2.3", NULL);
    check_msg("10.2.0.1", "refused 10.2.0.1: private (egress.allow does not admit it)");
    check_msg("::1", "refused ::1: loopback (egress.allow does not admit it)");
    check_msg("169.254.169.254",
              "refused 169.254.169.254: cloud-metadata (egress.allow does not admit it)");

    is_int(act_ssrf_set_allow("10.1.2.3/8", &err), ACT_EINVAL, "host bits under the mask");
    ok(strstr(err.msg, "'10.1.2.3/8'") != NULL, "the bad entry is named: %s", err.msg);
    is_int(act_ssrf_set_allow("127.0.0.0/33", &err), ACT_EINVAL, "prefix too long");
    is_int(act_ssrf_set_allow("localhost", &err), ACT_EINVAL, "a name is not a CIDR");
    is_int(act_ssrf_set_allow("127.0.0.0/", &err), ACT_EINVAL, "missing prefix length");
    check_msg("127.0.0.1", NULL); /* a failed set keeps the old list */
    is_int(act_ssrf_set_allow("169.254.169.254/32", &err), ACT_OK, "metadata explicitly allowed");
    check_msg("169.254.169.254", NULL);
    check_msg("127.0.0.1", "refused 127.0.0.1: loopback (egress.allow does not admit it)");
    is_int(act_ssrf_set_allow(NULL, &err), ACT_OK, "NULL empties the list");
    check_msg("169.254.169.254",
              "refused 169.254.169.254: cloud-metadata (egress.allow does not admit it)");
}

/* ---- the libcurl hook against a listening socket ---- */

static int listen_fd, listen_port;

static int open_listener(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
        return -1;
    listen_port = ntohs(a.sin_port);
    return fd;
}

/* Accept and close every connection waiting in the backlog; their number. */
static int drain_backlog(void)
{
    struct pollfd p = {.fd = listen_fd, .events = POLLIN};
    int n = 0;

    while (poll(&p, 1, 0) > 0) {
        int c = accept(listen_fd, NULL, NULL);

        if (c < 0)
            break;
        close(c);
        n++;
    }
    return n;
}

/* One GET through the guard; the listener never answers, so an admitted
 * connection ends in a short timeout. */
static CURLcode fetch(const char *url, const char *resolve, struct act_ssrf_guard *g)
{
    struct curl_slist *rs = resolve ? curl_slist_append(NULL, resolve) : NULL;
    CURL *h = curl_easy_init();
    CURLcode cc;

    memset(g, 0, sizeof(*g));
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 300L);
    if (rs)
        curl_easy_setopt(h, CURLOPT_RESOLVE, rs);
    act_ssrf_guard_install(h, g);
    cc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    curl_slist_free_all(rs);
    return cc;
}

static void test_hook(void)
{
    static const char *const hosts[] = {"127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.1",
                                        "0x7f000001", "127.1", "017700000001"};
    struct act_ssrf_guard g;
    struct act_err err = {0};
    char url[128], resolve[128];
    CURLcode cc;

    subtest("the libcurl open-socket hook");
    act_ssrf_set_allow("", &err);
    drain_backlog();
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        snprintf(url, sizeof(url), "http://%s:%d/x", hosts[i], listen_port);
        cc = fetch(url, NULL, &g);
        is_int(cc, CURLE_COULDNT_CONNECT, "%s: the transfer fails to connect", hosts[i]);
        is_str(g.refused, "refused 127.0.0.1: loopback (egress.allow does not admit it)",
               "%s: normalised by curl and refused as 127.0.0.1", hosts[i]);
        is_int(drain_backlog(), 0, "%s: no connection reached the listener", hosts[i]);
    }

    snprintf(url, sizeof(url), "http://[::ffff:127.0.0.1]:%d/x", listen_port);
    cc = fetch(url, NULL, &g);
    is_int(cc, CURLE_COULDNT_CONNECT, "[::ffff:127.0.0.1]: fails to connect");
    is_str(g.refused,
           "refused ::ffff:127.0.0.1: loopback via ipv4-mapped (egress.allow does not admit it)",
           "[::ffff:127.0.0.1]: refused by its embedded IPv4 address");
    is_int(drain_backlog(), 0, "[::ffff:127.0.0.1]: nothing reached the listener");

    snprintf(url, sizeof(url), "http://hooks.example.com:%d/x", listen_port);
    snprintf(resolve, sizeof(resolve), "hooks.example.com:%d:127.0.0.1", listen_port);
    cc = fetch(url, resolve, &g);
    is_int(cc, CURLE_COULDNT_CONNECT, "a DNS name resolving to 127.0.0.1 fails to connect");
    is_str(g.refused, "refused 127.0.0.1: loopback (egress.allow does not admit it)",
           "the resolved address is what gets refused");
    is_int(drain_backlog(), 0, "the name: nothing reached the listener");

    snprintf(resolve, sizeof(resolve), "hooks.example.com:%d:10.0.0.7", listen_port);
    cc = fetch(url, resolve, &g);
    is_str(g.refused, "refused 10.0.0.7: private (egress.allow does not admit it)",
           "a name resolving to a private address is refused");

    /* Positive control: the same targets once the allow list admits them. */
    act_ssrf_set_allow("127.0.0.0/8", &err);
    snprintf(url, sizeof(url), "http://2130706433:%d/x", listen_port);
    cc = fetch(url, NULL, &g);
    is_int(g.n_refused, 0, "allowed: nothing refused");
    is_int(cc, CURLE_OPERATION_TIMEDOUT, "allowed: connected, then timed out waiting");
    is_int(drain_backlog(), 1, "allowed: the connection reached the listener");
    snprintf(url, sizeof(url), "http://hooks.example.com:%d/x", listen_port);
    snprintf(resolve, sizeof(resolve), "hooks.example.com:%d:127.0.0.1", listen_port);
    cc = fetch(url, resolve, &g);
    is_int(cc, CURLE_OPERATION_TIMEDOUT, "allowed name: connected");
    is_int(drain_backlog(), 1, "allowed name: the connection reached the listener");
    act_ssrf_set_allow("", &err);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    test_classify();
    test_allow();
    listen_fd = open_listener();
    if (listen_fd < 0) {
        skip("cannot listen on 127.0.0.1", "the libcurl hook");
    } else {
        test_hook();
        close(listen_fd);
    }
    curl_global_cleanup();
    return done_testing();
}
