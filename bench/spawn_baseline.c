/*
 * spawn_baseline: the ceiling for bench/command.sh, what this machine does
 * without actiond: THREADS threads, each in a loop for SECONDS, fork() +
 * execv() of PROG with a pipe on stdin (a ~200-byte JSON document written,
 * then closed, as the command kind sends) and one on stdout (read to EOF),
 * then waitpid().  Prints "<spawns> <seconds> <spawns per second>".
 *
 *   spawn_baseline SECONDS THREADS PROG [ARG...]
 *
 * It does the least a handler runner must do (no poll loop, rlimits, setsid,
 * seccomp or status pipe), so actiond's command executions/s divided by this
 * figure is the cost of everything else: HTTP ingest, SQLite, scheduling,
 * the runner's hygiene.  Built by CMake (the bench glob) as `spawn_baseline`.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char doc[] =
    "{\"execution_id\":\"0190b3c2-7a8e-7f00-8000-000000000000\",\"attempt\":1,"
    "\"action\":\"bench\",\"event\":{\"type\":\"bench.e\",\"data\":{\"i\":1,\"user\":\"u-00001\","
    "\"amount\":7}},\"input\":{},\"config\":{}}\n";

static char **prog_argv;
static double stop_at;
static atomic_long spawns;
static atomic_long failures;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int spawn_once(void)
{
    int in[2], out[2], status = 0;
    char buf[4096];
    pid_t pid;
    ssize_t n;

    if (pipe2(in, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    pid = fork();
    if (pid == 0) {
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
            _exit(126);
        execv(prog_argv[0], prog_argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    if (pid > 0 && write(in[1], doc, sizeof(doc) - 1) < 0 && errno != EPIPE)
        status = -1;
    close(in[1]);
    while ((n = read(out[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
        ;
    close(out[0]);
    if (pid < 0)
        return -1;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void *worker(void *arg)
{
    (void)arg;
    while (now() < stop_at) {
        if (spawn_once() == 0)
            atomic_fetch_add(&spawns, 1);
        else
            atomic_fetch_add(&failures, 1);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t tids[256];
    double secs, t0, took;
    int threads;

    if (argc < 4) {
        fprintf(stderr, "usage: %s SECONDS THREADS PROG [ARG...]\n", argv[0]);
        return 2;
    }
    secs = strtod(argv[1], NULL);
    threads = (int)strtol(argv[2], NULL, 10);
    if (secs <= 0 || threads < 1 || threads > 256 || argv[3][0] != '/') {
        fprintf(stderr, "spawn_baseline: SECONDS > 0, THREADS 1..256, PROG an absolute path\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    prog_argv = argv + 3;
    t0 = now();
    stop_at = t0 + secs;
    for (int i = 0; i < threads; i++)
        pthread_create(&tids[i], NULL, worker, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(tids[i], NULL);
    took = now() - t0;
    if (atomic_load(&failures))
        fprintf(stderr, "spawn_baseline: %ld runs failed\n", atomic_load(&failures));
    printf("%ld %.3f %.0f\n", atomic_load(&spawns), took, (double)atomic_load(&spawns) / took);
    return atomic_load(&spawns) > 0 ? 0 : 1;
}
