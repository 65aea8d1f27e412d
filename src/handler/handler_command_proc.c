/*
 * The subprocess runner behind kind `command`: fork, set up the child,
 * exec, pump stdin/stdout/stderr through poll() under a deadline, then kill
 * the child's whole process group and reap it.
 *
 * Invariants and why:
 * - Every fd we create is O_CLOEXEC from birth (pipe2), so a concurrent
 *   fork+exec in another worker thread never leaks our pipes into its child,
 *   and the child closes every fd above 2 before exec as well (close_range,
 *   or a loop when the kernel lacks it).
 * - Between fork() and exec() the child of a multithreaded process may only
 *   make async-signal-safe calls: everything it needs (argv, envp, candidate
 *   paths for argv[0], rlimit values, the seccomp BPF program) is computed by
 *   the parent before fork,
 *   and the child only makes raw system calls.  All signals are blocked
 *   across fork() so no parent handler runs in the child; the child resets
 *   every disposition to default and unblocks all signals just before exec.
 * - The child is started with vfork(): it borrows the parent's memory and
 *   the calling worker waits until the exec (or _exit), so no page tables
 *   are copied — fork() from the daemon cost most of a spawn.  That is safe
 *   because the child only makes system calls, writes nothing the parent
 *   reads but errno (read only when vfork itself failed), never returns
 *   from child_main, and runs with every signal blocked until its own
 *   handlers are reset to default; its signal table, fd table, cwd,
 *   rlimits and seccomp filter are its own (no CLONE_SIGHAND/FILES/FS).
 * - The child calls setsid(), so it leads a new process group and every
 *   descendant can be killed with one kill(-pgid, SIGKILL).  The parent waits
 *   for the exec report (a CLOEXEC status pipe: EOF means exec succeeded, a
 *   struct child_report means it failed) before any kill(-pgid), so the group
 *   always exists when we signal it.
 * - The child is detected as exited with waitid(WNOWAIT), leaving it a zombie:
 *   its pid, and so its group id, cannot be reused until we reap it after the
 *   final kill(-pgid, SIGKILL).  That kill also ends background processes the
 *   command left behind: a command's lifetime ends with its main process.
 * - stdin is written in non-blocking chunks between reads, so a child that
 *   never reads stdin cannot deadlock us; EPIPE just stops the writing, and
 *   the SIGPIPE it raises is blocked in this thread and consumed.
 */
#include "base/alloc.h"
#include "base/time.h"
#include "handler/handler_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536                   /* bytes per read or write */
#define CHILD_NOFILE 256
#define CHILD_FSIZE (64u << 20)       /* 64 MiB */
#define CLOSE_LOOP_MAX 65536          /* fallback fd loop bound without close_range */
#define POLL_SLICE_MS 20              /* exit polling without a pidfd */
#define DRAIN_ROUNDS 64               /* reads per pipe after the child exited */

enum { RL_CORE, RL_NOFILE, RL_FSIZE, RL_CPU, N_RL };
enum { STEP_SETUP, STEP_CHDIR, STEP_EXEC, STEP_SECCOMP };
static const char *const step_names[] = {"setup", "chdir", "exec", "seccomp"};

/* What a child that could not exec writes to the status pipe. */
struct child_report {
    int step;
    int err;
};

/* Everything the child reads; filled by the parent before fork. */
struct child_plan {
    const struct act_proc_spec *spec;
    int fd_in, fd_out, fd_err, fd_status; /* the child's pipe ends */
    int rl_which[N_RL];
    struct rlimit rl[N_RL];
    int max_fd;
};

/* The parent's side while the child runs. */
struct proc {
    pid_t pid;
    int pidfd;                  /* -1 when pidfd_open is unavailable */
    int fd_in, fd_out, fd_err;  /* parent ends; -1 once closed */
    size_t in_off;
    bool exited;                /* a zombie now, not yet reaped */
    bool epipe;                 /* a stdin write raised SIGPIPE */
    char *out;
    size_t out_len, out_cap;
    char *err;
    size_t err_len;
};

/* ---- child side: async-signal-safe calls only ---- */

ACT_NORETURN static void child_fail(int fd, int step)
{
    struct child_report r = {step, errno};
    ssize_t n;

    do
        n = write(fd, &r, sizeof(r));
    while (n < 0 && errno == EINTR);
    _exit(127);
}

static void close_from(int lowfd, int max_fd)
{
    if (close_range((unsigned)lowfd, ~0U, 0) == 0)
        return;
    for (int fd = lowfd; fd < max_fd; fd++)
        close(fd);
}

/* Put the pipes on 0, 1, 2 and the status pipe on 3 (close-on-exec).  Each
 * end is first copied above 9 so no dup2() can clobber another end that
 * happens to sit on 0..3 (possible when the daemon closed its stdio). */
static void child_fds(const struct child_plan *pl)
{
    int in = fcntl(pl->fd_in, F_DUPFD_CLOEXEC, 10);
    int out = fcntl(pl->fd_out, F_DUPFD_CLOEXEC, 10);
    int err = fcntl(pl->fd_err, F_DUPFD_CLOEXEC, 10);
    int st = fcntl(pl->fd_status, F_DUPFD_CLOEXEC, 10);

    if (st < 0)
        child_fail(pl->fd_status, STEP_SETUP);
    if (in < 0 || out < 0 || err < 0)
        child_fail(st, STEP_SETUP);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 || dup3(st, 3, O_CLOEXEC) < 0)
        child_fail(st, STEP_SETUP);
    close_from(4, pl->max_fd);
}

ACT_NORETURN static void child_main(const struct child_plan *pl)
{
    const struct act_proc_spec *sp = pl->spec;
    struct sigaction dfl;
    sigset_t none;
    bool eacces = false;

    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        sigaction(s, &dfl, NULL); /* SIGKILL, SIGSTOP, libc-internal: EINVAL, fine */
    if (setsid() < 0)
        child_fail(pl->fd_status, STEP_SETUP);
    child_fds(pl);
    for (int i = 0; i < N_RL; i++) {
        struct rlimit soft = {pl->rl[i].rlim_cur, RLIM_INFINITY};

        if (setrlimit(pl->rl_which[i], &pl->rl[i]) == 0)
            continue;
        /* Some supervisors (valgrind, seccomp policies) refuse to move a hard
         * limit: the soft limit alone still bounds the command. */
        if (getrlimit(pl->rl_which[i], &soft) < 0)
            child_fail(3, STEP_SETUP);
        soft.rlim_cur = pl->rl[i].rlim_cur;
        if (setrlimit(pl->rl_which[i], &soft) < 0)
            child_fail(3, STEP_SETUP);
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        child_fail(3, STEP_SETUP);
    /* The filter was compiled by the parent (proc_seccomp.c); installing
     * it is one system call.  What follows (sigprocmask, chdir, execve) is
     * allowed by every profile. */
    if (sp->seccomp && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, sp->seccomp, 0, 0) < 0)
        child_fail(3, STEP_SECCOMP);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (sp->cwd && chdir(sp->cwd) < 0)
        child_fail(3, STEP_CHDIR);
    /* execvp's search, minus its allocations: keep going past missing files,
     * remember EACCES, stop at any other error. */
    for (size_t i = 0; sp->exec_paths[i]; i++) {
        execve(sp->exec_paths[i], sp->argv, sp->envp);
        if (errno == EACCES)
            eacces = true;
        else if (errno != ENOENT && errno != ENOTDIR)
            child_fail(3, STEP_EXEC);
    }
    errno = eacces ? EACCES : ENOENT;
    child_fail(3, STEP_EXEC);
}

/* ---- parent side ---- */

static void plan_init(struct child_plan *pl, const struct act_proc_spec *sp, int pipes[4][2])
{
    const rlim_t want[N_RL] = {0, CHILD_NOFILE, CHILD_FSIZE,
                               (rlim_t)((sp->timeout_ms + 999) / 1000 + 1)};
    const int which[N_RL] = {RLIMIT_CORE, RLIMIT_NOFILE, RLIMIT_FSIZE, RLIMIT_CPU};
    struct rlimit cur;

    memset(pl, 0, sizeof(*pl));
    pl->spec = sp;
    pl->fd_in = pipes[0][0];
    pl->fd_out = pipes[1][1];
    pl->fd_err = pipes[2][1];
    pl->fd_status = pipes[3][1];
    for (int i = 0; i < N_RL; i++) {
        rlim_t v = want[i];

        /* Only ever lower a limit: an unprivileged child cannot raise its
         * hard limit, and setrlimit would fail. */
        if (getrlimit(which[i], &cur) == 0 && cur.rlim_max != RLIM_INFINITY && v > cur.rlim_max)
            v = cur.rlim_max;
        pl->rl_which[i] = which[i];
        pl->rl[i].rlim_cur = pl->rl[i].rlim_max = v;
    }
    pl->max_fd = CLOSE_LOOP_MAX;
    if (getrlimit(RLIMIT_NOFILE, &cur) == 0 && cur.rlim_cur < CLOSE_LOOP_MAX)
        pl->max_fd = (int)cur.rlim_cur;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Milliseconds to wait for `left_us` microseconds, rounded up, >= 0. */
static int ms_until(int64_t left_us)
{
    if (left_us <= 0)
        return 0;
    if (left_us > (int64_t)1 << 40)
        return 1 << 30;
    return (int)((left_us + 999) / 1000);
}

static bool child_exited(pid_t pid)
{
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
        return errno == ECHILD; /* reaped elsewhere: do not wait for it */
    return si.si_pid == pid;
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0); /* pidfds are always close-on-exec */
#else
    (void)pid;
    return -1;
#endif
}

static void feed_stdin(struct proc *p, const struct act_proc_spec *sp)
{
    size_t left = sp->stdin_len - p->in_off;
    ssize_t n = write(p->fd_in, sp->stdin_data + p->in_off, left < CHUNK ? left : CHUNK);

    if (n > 0)
        p->in_off += (size_t)n;
    else if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    else if (n < 0 && errno == EPIPE)
        p->epipe = true;
    if (n <= 0 || p->in_off == sp->stdin_len)
        close_fd(&p->fd_in); /* done, or the child stopped reading: EOF for it */
}

/* Read once from stdout.  Returns true when the cap is exceeded. */
static bool read_stdout(struct proc *p, size_t max)
{
    ssize_t n;

    if (p->out_cap - p->out_len < 2 && p->out_cap < max + 2) {
        size_t cap = p->out_cap * 2 > p->out_len + CHUNK ? p->out_cap * 2 : p->out_len + CHUNK;

        p->out_cap = cap < max + 2 ? cap : max + 2; /* room to see one byte too many */
        p->out = act_xrealloc(p->out, p->out_cap);
    }
    n = read(p->fd_out, p->out + p->out_len, p->out_cap - p->out_len - 1);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return false;
    if (n <= 0) {
        close_fd(&p->fd_out);
        return false;
    }
    p->out_len += (size_t)n;
    return p->out_len > max;
}

/* Read once from stderr, keeping only the last `keep` bytes.  Returns true
 * when bytes arrived. */
static bool read_stderr(struct proc *p, size_t keep)
{
    char buf[16384];
    ssize_t r = read(p->fd_err, buf, sizeof(buf));
    size_t n;

    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return false;
    if (r <= 0) {
        close_fd(&p->fd_err);
        return false;
    }
    n = (size_t)r;
    if (n >= keep) {
        memcpy(p->err, buf + n - keep, keep);
        p->err_len = keep;
        return true;
    }
    if (p->err_len + n > keep) {
        size_t drop = p->err_len + n - keep;

        memmove(p->err, p->err + drop, p->err_len - drop);
        p->err_len -= drop;
    }
    memcpy(p->err + p->err_len, buf, n);
    p->err_len += n;
    return true;
}

/* The child has exited: take what is already in the pipes, a bounded amount
 * (a surviving grandchild may keep writing), then stop listening. */
static enum act_proc_end drain(struct proc *p, const struct act_proc_spec *sp)
{
    for (int i = 0; i < DRAIN_ROUNDS && p->fd_out >= 0; i++) {
        size_t before = p->out_len;

        if (read_stdout(p, sp->max_stdout))
            return ACT_PROC_OVERFLOW;
        if (p->out_len == before)
            break; /* EAGAIN or EOF */
    }
    for (int i = 0; i < DRAIN_ROUNDS && p->fd_err >= 0; i++)
        if (!read_stderr(p, sp->stderr_keep))
            break;
    return ACT_PROC_EXITED;
}

/* Pump the pipes until the child exits (EXITED), the deadline passes
 * (TIMEOUT) or stdout overflows (OVERFLOW). */
static enum act_proc_end pump(struct proc *p, const struct act_proc_spec *sp, int64_t deadline)
{
    for (;;) {
        struct pollfd fds[4];
        int nfds = 0, ms;
        int64_t left = deadline - act_time_mono_us();

        if (p->exited)
            return drain(p, sp);
        if (left <= 0)
            return ACT_PROC_TIMEOUT;
        if (p->fd_in >= 0)
            fds[nfds++] = (struct pollfd){.fd = p->fd_in, .events = POLLOUT};
        if (p->fd_out >= 0)
            fds[nfds++] = (struct pollfd){.fd = p->fd_out, .events = POLLIN};
        if (p->fd_err >= 0)
            fds[nfds++] = (struct pollfd){.fd = p->fd_err, .events = POLLIN};
        if (p->pidfd >= 0)
            fds[nfds++] = (struct pollfd){.fd = p->pidfd, .events = POLLIN};
        ms = ms_until(left);
        if (p->pidfd < 0 && ms > POLL_SLICE_MS)
            ms = POLL_SLICE_MS;
        if (poll(fds, (nfds_t)nfds, ms) < 0 && errno != EINTR)
            return ACT_PROC_TIMEOUT; /* cannot wait any more: give up like a timeout */
        for (int i = 0; i < nfds; i++) {
            if (!fds[i].revents)
                continue;
            if (fds[i].fd == p->fd_in)
                feed_stdin(p, sp);
            else if (fds[i].fd == p->fd_out && read_stdout(p, sp->max_stdout))
                return ACT_PROC_OVERFLOW;
            else if (fds[i].fd == p->fd_err)
                read_stderr(p, sp->stderr_keep);
        }
        p->exited = child_exited(p->pid);
    }
}

/* Wait for the exec report.  Returns true when the program is running. */
static bool await_exec(struct proc *p, int fd, int64_t deadline, struct act_proc_outcome *oc)
{
    struct child_report r;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    ssize_t n;

    for (;;) {
        int rc = poll(&pfd, 1, ms_until(deadline - act_time_mono_us()));

        if (rc < 0 && errno == EINTR)
            continue;
        if (rc == 0) {
            kill(p->pid, SIGKILL); /* may not lead its group yet */
            oc->end = ACT_PROC_TIMEOUT;
            return false;
        }
        break;
    }
    do
        n = read(fd, &r, sizeof(r));
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(r))
        return true; /* EOF: closed by a successful exec */
    oc->end = ACT_PROC_SPAWN_FAILED;
    oc->status = r.err;
    oc->step = r.step >= 0 && r.step <= STEP_SECCOMP ? step_names[r.step] : "setup";
    return false;
}

/* Kill the group, reap the child and record how it ended. */
static int finish(struct proc *p, struct act_proc_outcome *oc, bool decided, struct act_err *err)
{
    int status = 0;
    pid_t r;

    kill(-p->pid, SIGKILL);
    do
        r = waitpid(p->pid, &status, 0);
    while (r < 0 && errno == EINTR);
    if (decided)
        return ACT_OK;
    if (r != p->pid)
        return act_err_set(err, ACT_EIO, "lost the exit status of pid %d (is SIGCHLD ignored?)",
                           (int)p->pid);
    if (WIFSIGNALED(status)) {
        oc->end = ACT_PROC_SIGNALED;
        oc->status = WTERMSIG(status);
    } else {
        oc->end = ACT_PROC_EXITED;
        oc->status = WEXITSTATUS(status);
    }
    return ACT_OK;
}

/* Block SIGPIPE in this thread; returns whether one was already pending. */
static bool sigpipe_block(sigset_t *old)
{
    sigset_t set, pend;

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, old);
    sigpending(&pend);
    return sigismember(&pend, SIGPIPE) == 1;
}

static void sigpipe_restore(const sigset_t *old, bool was_pending, bool raised)
{
    if (raised && !was_pending) {
        struct timespec zero = {0, 0};
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

static pid_t spawn(const struct child_plan *pl, int *saved_errno)
{
    sigset_t all, old;
    pid_t pid;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid = vfork();
    if (pid == 0)
        child_main(pl);
    *saved_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return pid;
}

static int run_child(struct proc *p, const struct act_proc_spec *sp, int status_fd,
                     int64_t deadline, struct act_proc_outcome *oc, struct act_err *err)
{
    enum act_proc_end end;
    sigset_t old;
    bool was_pending;

    if (!await_exec(p, status_fd, deadline, oc))
        return finish(p, oc, true, err);
    p->pidfd = open_pidfd(p->pid);
    if (sp->stdin_len == 0)
        close_fd(&p->fd_in);
    was_pending = sigpipe_block(&old);
    end = pump(p, sp, deadline);
    sigpipe_restore(&old, was_pending, p->epipe);
    oc->end = end;
    return finish(p, oc, end != ACT_PROC_EXITED, err);
}

int act_proc_run(const struct act_proc_spec *sp, struct act_proc_outcome *oc,
                 struct act_err *err)
{
    int pipes[4][2] = {{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}};
    struct proc p = {.pid = -1, .pidfd = -1, .fd_in = -1, .fd_out = -1, .fd_err = -1};
    int64_t deadline = act_time_mono_us() + sp->timeout_ms * 1000;
    struct child_plan pl;
    int rc = ACT_OK, e = 0;

    memset(oc, 0, sizeof(*oc));
    for (int i = 0; i < 4; i++) {
        if (pipe2(pipes[i], O_CLOEXEC) < 0) {
            rc = act_err_set(err, ACT_EIO, "cannot create a pipe: %s", strerrordesc_np(errno));
            goto out;
        }
    }
    plan_init(&pl, sp, pipes);
    p.pid = spawn(&pl, &e);
    close_fd(&pipes[0][0]); /* the child's ends */
    close_fd(&pipes[1][1]);
    close_fd(&pipes[2][1]);
    close_fd(&pipes[3][1]);
    if (p.pid < 0) {
        rc = act_err_set(err, ACT_EIO, "cannot fork: %s", strerrordesc_np(e));
        goto out;
    }
    p.fd_in = pipes[0][1], pipes[0][1] = -1;
    p.fd_out = pipes[1][0], pipes[1][0] = -1;
    p.fd_err = pipes[2][0], pipes[2][0] = -1;
    set_nonblock(p.fd_in);
    set_nonblock(p.fd_out);
    set_nonblock(p.fd_err);
    p.err = act_xmalloc(sp->stderr_keep + 1);
    rc = run_child(&p, sp, pipes[3][0], deadline, oc, err);
out:
    for (int i = 0; i < 4; i++) {
        close_fd(&pipes[i][0]);
        close_fd(&pipes[i][1]);
    }
    close_fd(&p.fd_in);
    close_fd(&p.fd_out);
    close_fd(&p.fd_err);
    close_fd(&p.pidfd);
    if (rc < 0) {
        act_free(p.out);
        act_free(p.err);
        return rc;
    }
    oc->out = p.out ? p.out : act_xmalloc(1);
    oc->out_len = p.out_len;
    oc->out[oc->out_len] = '\0';
    oc->err_tail = p.err;
    oc->err_len = p.err_len;
    oc->err_tail[oc->err_len] = '\0';
    return ACT_OK;
}

void act_proc_outcome_release(struct act_proc_outcome *oc)
{
    if (!oc)
        return;
    act_free(oc->out);
    act_free(oc->err_tail);
    oc->out = oc->err_tail = NULL;
    oc->out_len = oc->err_len = 0;
}
