/*
 * Seccomp profiles for the processes the command family runs (kinds
 * command, javascript, python): a filter is compiled with libseccomp in the
 * parent when an action is opened, exported as classic BPF into memory, and
 * installed by the forked child after PR_SET_NO_NEW_PRIVS with one prctl(),
 * which is async-signal-safe (libseccomp itself allocates, so it must never
 * run between fork and exec).
 *
 * Profiles (docs/handlers/command.md#seccomp):
 *   "none"        no filter;
 *   "default"     the syscalls a handler has no business with fail with EPERM
 *                 (ptrace, mount, module loading, bpf, namespaces, keyrings,
 *                 io_uring, ...), clone3 fails with ENOSYS so libc falls back
 *                 to clone(), whose namespace flags are refused;
 *   "no_network"  "default" plus socket() for AF_INET, AF_INET6 and AF_PACKET.
 * Every profile that filters also kills a process that makes a system call
 * through a foreign ABI (i386 or x32 on x86_64): libseccomp's arch check.
 */
#ifndef ACT_HANDLER_PROC_SECCOMP_H
#define ACT_HANDLER_PROC_SECCOMP_H

#include "base/err.h"

struct sock_fprog;

enum act_seccomp_profile {
    ACT_SECCOMP_NONE = 0,
    ACT_SECCOMP_DEFAULT,
    ACT_SECCOMP_NO_NETWORK,
};

/* A compiled filter: immutable once built, shared by every attempt of one
 * action state. */
struct act_seccomp;

/* The profile named `name` ("none", "default", "no_network") into *out.
 * ACT_EINVAL for any other name.  thread: any */
int act_seccomp_parse(const char *name, enum act_seccomp_profile *out);

/* The name of a profile (static string).  thread: any */
const char *act_seccomp_name(enum act_seccomp_profile p);

/* Compile profile `p` for the native architecture.  *out is NULL for
 * ACT_SECCOMP_NONE.  ACT_EIO when libseccomp fails (err says where).
 * thread: any */
int act_seccomp_build(enum act_seccomp_profile p, struct act_seccomp **out, struct act_err *err);

/* The BPF program for prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog);
 * NULL for a NULL filter.  Borrowed from `f`.  thread: any */
const struct sock_fprog *act_seccomp_prog(const struct act_seccomp *f);

/* Number of BPF instructions (0 for NULL).  thread: any */
unsigned act_seccomp_len(const struct act_seccomp *f);

/* Free a filter (NULL is fine).  thread: any */
void act_seccomp_free(struct act_seccomp *f);

#endif
