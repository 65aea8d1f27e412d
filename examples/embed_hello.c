/*
 * embed_hello: the smallest complete use of the embedding API.
 *
 * Opens an engine on a fresh temporary data directory, registers an `echo`
 * action (its output is its input) and a subscription on `users.created`,
 * emits one event, waits for the execution it triggered, prints the
 * execution's output, then closes the engine and removes the directory.
 * Exit status 0 on success, 1 with a message on stderr otherwise.
 *
 * Build it outside the tree (docs/embedding.md):
 *   cc -std=c17 -I include examples/embed_hello.c build/libactiond.a \
 *      $(pkg-config --libs libmicrohttpd jansson libpcre2-8 sqlite3 libfyaml libcrypto) \
 *      -lpthread -ldl -lm -o embed_hello
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, dirfd, unlinkat */

#include <actiond/actiond.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Print a failed step and its message; returns 1 (the exit status). */
static int fail(const char *step, int rc, const char *msg)
{
    fprintf(stderr, "embed_hello: %s: %s (%s)\n", step, msg, actiond_strerror(rc));
    return 1;
}

/* Remove the files the engine left in `dir` (it creates no subdirectories),
 * then the directory itself. */
static void remove_dir(const char *dir)
{
    struct dirent *de;
    DIR *d = opendir(dir);

    if (d) {
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            unlinkat(dirfd(d), de->d_name, 0);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Register the action and its subscription. */
static int setup(struct act_engine *e, char *err, size_t errlen)
{
    char *action = NULL, *action_id = NULL, sub[256];
    int rc;

    rc = actiond_action_create(e, "{\"name\": \"hello\", \"handler\": {\"kind\": \"echo\"}}",
                               &action, err, errlen);
    if (rc < 0)
        return fail("create action", rc, err);
    rc = actiond_json_get_str(action, "id", &action_id, err, errlen);
    actiond_string_free(action);
    if (rc < 0)
        return fail("read action id", rc, err);
    snprintf(sub, sizeof(sub), "{\"action_id\": \"%s\", \"event_patterns\": [\"users.created\"]}",
             action_id);
    actiond_string_free(action_id);
    if ((rc = actiond_subscription_create(e, sub, NULL, err, errlen)) < 0)
        return fail("create subscription", rc, err);
    return 0;
}

/* Emit the event, wait for its execution and print the output. */
static int run(struct act_engine *e, char *err, size_t errlen)
{
    char *reply = NULL, *exec_id = NULL, *execution = NULL, *status = NULL, *output = NULL;
    int rc, status_code = 1;

    rc = actiond_emit(e, "{\"type\": \"users.created\", \"data\": {\"user\": \"ada\"}}", &reply,
                      err, errlen);
    if (rc < 0)
        return fail("emit", rc, err);
    if ((rc = actiond_json_get_str(reply, "executions[0].id", &exec_id, err, errlen)) < 0) {
        fail("read execution id", rc, err);
        goto out;
    }
    if ((rc = actiond_execution_wait(e, exec_id, 10000, &execution, err, errlen)) < 0) {
        fail("wait", rc, err);
        goto out;
    }
    if ((rc = actiond_json_get_str(execution, "status", &status, err, errlen)) < 0 ||
        (rc = actiond_json_get(execution, "output", &output, err, errlen)) < 0) {
        fail("read execution", rc, err);
        goto out;
    }
    printf("execution %s %s\n", exec_id, status);
    printf("output: %s\n", output);
    status_code = strcmp(status, "succeeded") == 0 ? 0 : 1;
out:
    actiond_string_free(output);
    actiond_string_free(status);
    actiond_string_free(execution);
    actiond_string_free(exec_id);
    actiond_string_free(reply);
    return status_code;
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[4096], err[256];
    struct actiond_options opt;
    struct act_engine *e = NULL;
    int rc, status;

    snprintf(dir, sizeof(dir), "%s/embed_hello.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("embed_hello: mkdtemp");
        return 1;
    }
    printf("actiond %s, data directory %s\n", actiond_version(), dir);
    actiond_log_setup(2, ACTIOND_LOG_WARN); /* keep the engine's info lines out of the way */
    actiond_options_init(&opt);
    opt.data_dir = dir;
    opt.sync_full = 0; /* a throwaway directory needs no fsync per commit */
    if ((rc = actiond_open(&opt, &e, err, sizeof(err))) < 0) {
        status = fail("open", rc, err);
        goto out;
    }
    status = setup(e, err, sizeof(err));
    if (status == 0)
        status = run(e, err, sizeof(err));
    actiond_close(e);
out:
    remove_dir(dir);
    return status;
}
