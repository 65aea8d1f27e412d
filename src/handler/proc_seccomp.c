/*
 * Compiling the seccomp profiles of proc_seccomp.h.
 *
 * libseccomp builds the filter (with the architecture check and, on x86_64,
 * the refusal of x32 system call numbers), then seccomp_export_bpf() writes
 * the classic BPF program to a memfd, which we read back into one heap array.
 * The child of act_proc_run() only hands that array to prctl(): no
 * libseccomp call, no allocation after fork.
 *
 * Invariants: a struct act_seccomp never changes after act_seccomp_build()
 * returns, so any number of threads may fork children with it at once.  The
 * default action is ALLOW: these profiles remove dangerous doors from an
 * ordinary process, they are not a whitelist (the command kinds run
 * arbitrary interpreters, whose syscall set we cannot enumerate).
 */
#include "handler/proc_seccomp.h"
#include "base/alloc.h"

#include <errno.h>
#include <linux/filter.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG_MAX_BYTES (1u << 20) /* far above any filter built here */

struct act_seccomp {
    struct sock_fprog prog; /* prog.filter is owned */
};

/* Denied with EPERM by "default" (and so by "no_network").  Names the
 * native architecture lacks (iopl on arm64) are skipped. */
static const char *const denied[] = {
    /* reading or writing other processes */
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    /* file systems and mounts */
    "mount", "umount", "umount2", "pivot_root", "chroot", "mount_setattr", "move_mount",
    "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "quotactl", "quotactl_fd",
    "open_by_handle_at", "name_to_handle_at", "swapon", "swapoff",
    /* the machine */
    "reboot", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "iopl", "ioperm", "acct", "settimeofday", "clock_settime", "sethostname", "setdomainname",
    "syslog", "vhangup", "uselib", "nfsservctl", "lookup_dcookie", "_sysctl",
    /* kernel attack surface a handler does not need */
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    /* namespaces */
    "unshare", "setns",
    NULL,
};

/* clone() flags that create namespaces (CLONE_NEWTIME shares its bit with
 * the exit signal in clone(), so only unshare, denied above, can ask it). */
static const unsigned long clone_ns_flags[] = {
    CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
    CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
};

static const int denied_families[] = {AF_INET, AF_INET6, AF_PACKET};

int act_seccomp_parse(const char *name, enum act_seccomp_profile *out)
{
    static const struct {
        const char *name;
        enum act_seccomp_profile p;
    } names[] = {{"none", ACT_SECCOMP_NONE},
                 {"default", ACT_SECCOMP_DEFAULT},
                 {"no_network", ACT_SECCOMP_NO_NETWORK}};

    for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(names[i].name, name) == 0) {
            *out = names[i].p;
            return ACT_OK;
        }
    }
    return ACT_EINVAL;
}

const char *act_seccomp_name(enum act_seccomp_profile p)
{
    switch (p) {
    case ACT_SECCOMP_NONE:
        return "none";
    case ACT_SECCOMP_DEFAULT:
        return "default";
    case ACT_SECCOMP_NO_NETWORK:
        return "no_network";
    }
    return "?";
}

static int rules_default(scmp_filter_ctx ctx)
{
    int rc;

    for (const char *const *name = denied; *name; name++) {
        int nr = seccomp_syscall_resolve_name(*name);

        if (nr == __NR_SCMP_ERROR)
            continue; /* unknown to this libseccomp */
        if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0)) < 0 && rc != -EDOM)
            return rc; /* EDOM: not a syscall of the native arch */
    }
    /* glibc (2.34+) tries clone3 first and falls back to clone on ENOSYS;
     * clone3 takes its flags behind a pointer, which a filter cannot read. */
    if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) < 0)
        return rc;
    for (size_t i = 0; i < sizeof(clone_ns_flags) / sizeof(clone_ns_flags[0]); i++) {
        /* The flags are clone()'s first argument on every arch we build
         * for except s390, where they come second. */
#if defined(__s390__) || defined(__s390x__)
        struct scmp_arg_cmp cmp = SCMP_A1(SCMP_CMP_MASKED_EQ, clone_ns_flags[i], clone_ns_flags[i]);
#else
        struct scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_MASKED_EQ, clone_ns_flags[i], clone_ns_flags[i]);
#endif
        if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1, cmp)) < 0)
            return rc;
    }
    return 0;
}

static int rules_no_network(scmp_filter_ctx ctx)
{
    int rc;

    for (size_t i = 0; i < sizeof(denied_families) / sizeof(denied_families[0]); i++) {
        /* The kernel reads the domain as an int: compare the low 32 bits
         * only, or garbage in the upper half would slip past the rule. */
        struct scmp_arg_cmp cmp = {.arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffu,
                                   .datum_b = (scmp_datum_t)denied_families[i]};

        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1, cmp);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Export the compiled filter through a memfd into a heap copy. */
static int export_prog(scmp_filter_ctx ctx, struct act_seccomp *f, struct act_err *err)
{
    int fd = memfd_create("actiond-seccomp", MFD_CLOEXEC);
    struct stat stt;
    char *buf = NULL;
    size_t got = 0;
    int rc = ACT_OK;

    if (fd < 0)
        return act_err_set(err, ACT_EIO, "seccomp: memfd_create: %s", strerrordesc_np(errno));
    if ((rc = seccomp_export_bpf(ctx, fd)) < 0) {
        rc = act_err_set(err, ACT_EIO, "seccomp: cannot export the filter: %s",
                         strerrordesc_np(-rc));
        goto out;
    }
    if (fstat(fd, &stt) < 0 || stt.st_size <= 0 || (size_t)stt.st_size > PROG_MAX_BYTES ||
        stt.st_size % (off_t)sizeof(struct sock_filter) != 0) {
        rc = act_err_set(err, ACT_EIO, "seccomp: exported filter has an unexpected size");
        goto out;
    }
    buf = act_xmalloc((size_t)stt.st_size);
    while (got < (size_t)stt.st_size) {
        ssize_t n = pread(fd, buf + got, (size_t)stt.st_size - got, (off_t)got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = act_err_set(err, ACT_EIO, "seccomp: cannot read the exported filter");
            goto out;
        }
        got += (size_t)n;
    }
    f->prog.len = (unsigned short)(got / sizeof(struct sock_filter));
    f->prog.filter = (struct sock_filter *)(void *)buf;
    buf = NULL;
out:
    act_free(buf);
    close(fd);
    return rc < 0 ? rc : ACT_OK;
}

int act_seccomp_build(enum act_seccomp_profile p, struct act_seccomp **out, struct act_err *err)
{
    struct act_seccomp *f = NULL;
    scmp_filter_ctx ctx;
    int rc;

    *out = NULL;
    if (p == ACT_SECCOMP_NONE)
        return ACT_OK;
    if (!(ctx = seccomp_init(SCMP_ACT_ALLOW)))
        return act_err_set(err, ACT_EIO, "seccomp: cannot initialise libseccomp");
    /* A foreign ABI kills the process rather than the thread alone. */
    if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0 ||
        (rc = rules_default(ctx)) < 0 ||
        (p == ACT_SECCOMP_NO_NETWORK && (rc = rules_no_network(ctx)) < 0)) {
        seccomp_release(ctx);
        return act_err_set(err, ACT_EIO, "seccomp: cannot add a rule: %s", strerrordesc_np(-rc));
    }
    f = act_xcalloc(1, sizeof(*f));
    rc = export_prog(ctx, f, err);
    seccomp_release(ctx);
    if (rc < 0) {
        act_free(f);
        return rc;
    }
    *out = f;
    return ACT_OK;
}

const struct sock_fprog *act_seccomp_prog(const struct act_seccomp *f)
{
    return f ? &f->prog : NULL;
}

unsigned act_seccomp_len(const struct act_seccomp *f)
{
    return f ? f->prog.len : 0;
}

void act_seccomp_free(struct act_seccomp *f)
{
    if (!f)
        return;
    act_free(f->prog.filter);
    act_free(f);
}
