/*
 * The egress guard of the `webhook` kind: which addresses an outgoing HTTP
 * request may connect to.
 *
 * The check runs on the address actually connected to, after DNS, from
 * libcurl's CURLOPT_OPENSOCKETFUNCTION (act_ssrf_guard_install): a refused
 * address gets no socket, so not one byte reaches it, and a name that
 * resolves to an internal address is caught like a literal one.  Refused by
 * default: loopback, private (RFC 1918, fc00::/7), link-local, CGNAT,
 * multicast, reserved, unspecified, broadcast, 0.0.0.0/8, documentation and
 * benchmarking ranges, cloud metadata addresses, IPv6 outside 2000::/3, and
 * Teredo; the IPv4-mapped, NAT64 (64:ff9b::/96) and 6to4 (2002::/16) forms
 * are judged by the IPv4 address they embed.  The process-wide allow list
 * (config egress.allow, CIDRs) admits addresses that would be refused.
 * docs/internals/webhook.md has the full table.
 */
#ifndef ACT_HANDLER_SSRF_H
#define ACT_HANDLER_SSRF_H

#include "base/err.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define ACT_SSRF_ALLOW_MAX 64 /* CIDRs in egress.allow */

/* What a refused connection attempt leaves behind for the error message. */
struct act_ssrf_guard {
    int n_refused;     /* addresses refused during this transfer */
    char refused[200]; /* the last refusal: "refused 127.0.0.1: loopback (...)" */
};

/* Classify an address: NULL when it is an ordinary public unicast address,
 * otherwise the name of the rule that refuses it ("loopback", "private",
 * "link-local", "cgnat", "multicast", "reserved", "unspecified",
 * "broadcast", "this-network", "documentation", "benchmarking",
 * "cloud-metadata", "teredo").  For the forms that embed an IPv4 address
 * (::ffff:0:0/96, 64:ff9b::/96, 2002::/16) the rule is that of the embedded
 * address and *via (when via is not NULL) is set to "ipv4-mapped", "nat64"
 * or "6to4"; otherwise *via is set to NULL.  The allow list is not
 * consulted.  `sa` is AF_INET or AF_INET6 (other families: "reserved").
 * thread: any */
const char *act_ssrf_classify(const struct sockaddr *sa, const char **via);

/* Replace the process-wide allow list with `list`, comma-separated CIDRs
 * ("127.0.0.0/8, ::1/128"; a bare address means /32 or /128; blanks around
 * entries are ignored; NULL or "" empties it).  ACT_EINVAL, naming the bad
 * entry, when an entry does not parse or there are more than
 * ACT_SSRF_ALLOW_MAX; the old list is then kept.  Takes effect for the next
 * connection.  thread: any */
int act_ssrf_set_allow(const char *list, struct act_err *err);

/* Decide one address: ACT_OK when it is public or the allow list admits it
 * (an embedded IPv4 form is also admitted when its IPv4 address is); else
 * ACT_EPLUGIN with msg (capacity cap) set to "refused <addr>: <rule>
 * (egress.allow does not admit it)".  thread: any */
int act_ssrf_check(const struct sockaddr *sa, char *msg, size_t cap);

/* Point the easy handle's CURLOPT_OPENSOCKETFUNCTION at the guard: every
 * address libcurl is about to connect to goes through act_ssrf_check, and a
 * refused one gets no socket (the transfer then fails with
 * CURLE_COULDNT_CONNECT, and *g tells why).  `g` must outlive the transfer;
 * zero it first.  thread: any (the handle's) */
void act_ssrf_guard_install(CURL *easy, struct act_ssrf_guard *g);

#endif
