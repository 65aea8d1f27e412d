/*
 * Kind `docker`: every attempt runs a container with the command family's
 * JSON contract (stdin: the command kind's document; stdout: the output),
 * through the docker CLI and the subprocess runner:
 *
 *   {"kind": "docker", "image": "ghcr.io/acme/pay:1.4", "args"?: [...],
 *    "memory_mb"?: 256, "cpus"?: 1, "pids_limit"?: 64, "network"?: "none"|"bridge",
 *    "user"?: "65534:65534", "env"?: {...}, "timeout_ms"?, "max_output_bytes"?,
 *    "runtime"?: "/usr/bin/docker"}
 *
 * becomes (act_docker_argv)
 *
 *   docker run --rm -i --name actiond-<execution>-<attempt>-<random>
 *     --network none --memory 256m --memory-swap 256m --cpus 1 --pids-limit 64
 *     --read-only --tmpfs /tmp:rw,noexec,nosuid,size=64m --cap-drop ALL
 *     --security-opt no-new-privileges --user 65534:65534 [--env NAME ...]
 *     IMAGE [args...]
 *
 * Invariants and why:
 * - Nothing from the spec can become a docker option: the image must be a
 *   valid reference (never starting with '-'), and args only follow it.
 * - Env values reach the container as "--env NAME" with the value in the
 *   CLI's own environment, so they never show in the process list; names the
 *   CLI itself reads (PATH, HOME, DOCKER_*, LD_*, proxies, Go runtime knobs)
 *   are refused for that reason.
 * - Killing the CLI (timeout, output cap) does not stop the container, so
 *   every attempt names its container and such an attempt ends with
 *   `docker rm -f NAME`.
 * - Docker applies its own seccomp profile to the container; the CLI process
 *   runs without ours (no "seccomp" member).
 * The state is a struct act_cmd (immutable after open) plus the spec, kept
 * for building each attempt's argv.
 */
#include "base/alloc.h"
#include "handler/handler_command.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define IMAGE_MAX 255
#define ARGS_MAX 256
#define ARG_LEN_MAX 4096
#define USER_PART_MAX 64
#define MEMORY_MB_DEFAULT 256
#define MEMORY_MB_MIN 6 /* docker's own minimum */
#define MEMORY_MB_MAX (1024 * 1024)
#define CPUS_MAX 256.0
#define PIDS_DEFAULT 64
#define PIDS_MAX 65536
#define USER_DEFAULT "65534:65534" /* nobody:nogroup */
#define TMPFS "/tmp:rw,noexec,nosuid,size=64m"
#define CLEANUP_TIMEOUT_MS 15000

struct docker_state {
    struct act_cmd cmd; /* argv unused: built per attempt */
    json_t *spec;       /* the handler spec (a deep copy) */
    char *docker;       /* the CLI's absolute path */
};

/* The CLI's own variables, passed from the daemon. */
static const char *const cli_env[] = {"DOCKER_HOST",      "DOCKER_CONFIG",     "DOCKER_CONTEXT",
                                      "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "XDG_RUNTIME_DIR",
                                      NULL};

/* ---- image references ---- */

static bool lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* */
static bool path_component_ok(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t run = 0;

        while (i < len && lower_alnum(s[i]))
            i++, run++;
        if (run == 0)
            return false;
        if (i == len)
            return true;
        if (s[i] == '.')
            i++;
        else if (s[i] == '_')
            i += (i + 1 < len && s[i + 1] == '_') ? 2 : 1;
        else if (s[i] == '-')
            while (i < len && s[i] == '-')
                i++;
        else
            return false;
        if (i == len)
            return false; /* a separator must be followed by alnum */
    }
    return false;
}

/* A registry host: labels of [A-Za-z0-9-] (not starting or ending with
 * '-') separated by dots, then an optional :port. */
static bool domain_ok(const char *s, size_t len)
{
    const char *colon = memchr(s, ':', len);
    size_t host = colon ? (size_t)(colon - s) : len;

    if (host == 0)
        return false;
    for (size_t i = 0, label = 0; i <= host; i++) {
        if (i == host || s[i] == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!(isalnum((unsigned char)s[i]) || (s[i] == '-' && label > 0)))
            return false;
        label++;
    }
    if (colon) {
        size_t digits = len - host - 1;

        if (digits == 0 || digits > 5)
            return false;
        for (size_t i = host + 1; i < len; i++)
            if (!isdigit((unsigned char)s[i]))
                return false;
    }
    return true;
}

/* A tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
static bool tag_ok(const char *s, size_t len)
{
    if (len == 0 || len > 128 || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
            return false;
    return true;
}

/* A digest: algorithm ([a-z0-9]+ with [+._-] separators) ':' 32+ hex. */
static bool digest_ok(const char *s)
{
    const char *colon = strchr(s, ':');
    size_t hex;

    if (!colon || colon == s || !lower_alnum(s[0]))
        return false;
    for (const char *c = s; c < colon; c++)
        if (!(lower_alnum(*c) || *c == '+' || *c == '.' || *c == '_' || *c == '-'))
            return false;
    hex = strlen(colon + 1);
    if (hex < 32)
        return false;
    for (const char *c = colon + 1; *c; c++)
        if (!isxdigit((unsigned char)*c))
            return false;
    return true;
}

bool act_docker_image_ok(const char *image)
{
    size_t len = strlen(image), name_len;
    const char *at = strchr(image, '@'), *slash, *colon;
    const char *seg;

    if (len == 0 || len > IMAGE_MAX || !isalnum((unsigned char)image[0]))
        return false;
    if (at && !digest_ok(at + 1))
        return false;
    name_len = at ? (size_t)(at - image) : len;
    /* a tag is after the last ':' that follows the last '/' */
    slash = memrchr(image, '/', name_len);
    colon = memrchr(slash ? slash : image, ':', name_len - (size_t)((slash ? slash : image) - image));
    if (colon) {
        if (!tag_ok(colon + 1, name_len - (size_t)(colon + 1 - image)))
            return false;
        name_len = (size_t)(colon - image);
    }
    if (name_len == 0)
        return false;
    seg = image;
    /* The first component is a registry when more follow and it looks like
     * a host (a dot, a port, or "localhost"), as docker decides. */
    slash = memchr(image, '/', name_len);
    if (slash) {
        size_t first = (size_t)(slash - image);

        if (memchr(image, '.', first) || memchr(image, ':', first) ||
            (first == 9 && memcmp(image, "localhost", 9) == 0)) {
            if (!domain_ok(image, first))
                return false;
            seg = slash + 1;
        }
    }
    while (seg < image + name_len) {
        const char *end = memchr(seg, '/', (size_t)(image + name_len - seg));
        size_t n = end ? (size_t)(end - seg) : (size_t)(image + name_len - seg);

        if (!path_component_ok(seg, n))
            return false;
        if (!end)
            return true;
        seg = end + 1;
    }
    return false; /* empty name or a trailing '/' */
}

/* ---- validation ---- */

static bool user_part_ok(const char *s, size_t len)
{
    if (len == 0 || len > USER_PART_MAX || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
            return false;
    return true;
}

static bool user_ok(const char *u)
{
    const char *colon = strchr(u, ':');

    if (!colon)
        return user_part_ok(u, strlen(u));
    return user_part_ok(u, (size_t)(colon - u)) && user_part_ok(colon + 1, strlen(colon + 1));
}

static bool env_name_reserved(const char *k)
{
    static const char *const exact[] = {"PATH",    "HOME",        "XDG_RUNTIME_DIR",
                                        "GODEBUG", "GOTRACEBACK", "GOMAXPROCS",
                                        "GOGC",    "GOMEMLIMIT",  NULL};
    size_t len = strlen(k);

    for (size_t i = 0; exact[i]; i++)
        if (strcmp(exact[i], k) == 0)
            return true;
    return strncmp(k, "DOCKER_", 7) == 0 || strncmp(k, "LD_", 3) == 0 ||
           (len >= 6 && strcasecmp(k + len - 6, "_PROXY") == 0);
}

static int validate_image_args(const json_t *handler, struct act_err *err)
{
    const json_t *image = json_object_get(handler, "image");
    const json_t *args = json_object_get(handler, "args"), *a;
    size_t i;
    int rc;

    if (!image)
        return act_err_field(err, ACT_EUNPROC, "handler.image", "image is required");
    if ((rc = act_cmd_check_text(image, "handler.image", "image", IMAGE_MAX, err)) < 0)
        return rc;
    if (!act_docker_image_ok(json_string_value(image)))
        return act_err_field(err, ACT_EUNPROC, "handler.image",
                             "image '%.100s' is not a valid image reference "
                             "([registry/]name[:tag][@digest], lowercase name)",
                             json_string_value(image));
    if (!args)
        return ACT_OK;
    if (!json_is_array(args) || json_array_size(args) > ARGS_MAX)
        return act_err_field(err, ACT_EUNPROC, "handler.args",
                             "args must be an array of at most %d strings", ARGS_MAX);
    json_array_foreach(args, i, a) {
        char field[48], what[32];

        snprintf(field, sizeof(field), "handler.args[%zu]", i);
        snprintf(what, sizeof(what), "args[%zu]", i);
        if ((rc = act_cmd_check_text(a, field, what, ARG_LEN_MAX, err)) < 0)
            return rc;
    }
    return ACT_OK;
}

static int validate_limits(const json_t *handler, struct act_err *err)
{
    const json_t *mem = json_object_get(handler, "memory_mb");
    const json_t *cpus = json_object_get(handler, "cpus");
    const json_t *pids = json_object_get(handler, "pids_limit");
    const json_t *net = json_object_get(handler, "network");
    const json_t *user = json_object_get(handler, "user");

    if (mem && (!json_is_integer(mem) || json_integer_value(mem) < MEMORY_MB_MIN ||
                json_integer_value(mem) > MEMORY_MB_MAX))
        return act_err_field(err, ACT_EUNPROC, "handler.memory_mb",
                             "memory_mb must be an integer in %d..%d", MEMORY_MB_MIN,
                             MEMORY_MB_MAX);
    if (cpus && (!json_is_number(cpus) || json_number_value(cpus) < 0.01 ||
                 json_number_value(cpus) > CPUS_MAX))
        return act_err_field(err, ACT_EUNPROC, "handler.cpus",
                             "cpus must be a number in 0.01..%g", CPUS_MAX);
    if (pids && (!json_is_integer(pids) || json_integer_value(pids) < 1 ||
                 json_integer_value(pids) > PIDS_MAX))
        return act_err_field(err, ACT_EUNPROC, "handler.pids_limit",
                             "pids_limit must be an integer in 1..%d", PIDS_MAX);
    if (net && (!json_is_string(net) || (strcmp(json_string_value(net), "none") != 0 &&
                                         strcmp(json_string_value(net), "bridge") != 0)))
        return act_err_field(err, ACT_EUNPROC, "handler.network",
                             "network must be \"none\" or \"bridge\"");
    if (user && (!json_is_string(user) || !user_ok(json_string_value(user))))
        return act_err_field(err, ACT_EUNPROC, "handler.user",
                             "user must be NAME or UID, optionally :GROUP or :GID "
                             "([A-Za-z0-9_][A-Za-z0-9_.-]*, at most %d each)",
                             USER_PART_MAX);
    return ACT_OK;
}

static int find_cli(const json_t *handler, char **out, struct act_err *err)
{
    const json_t *r = json_object_get(handler, "runtime");
    char *envp[2] = {NULL, NULL};
    const char *path = getenv("PATH");
    int rc;

    *out = NULL;
    if (r) {
        if ((rc = act_cmd_check_text(r, "handler.runtime", "runtime", ACT_CMD_PATH_MAX, err)) < 0)
            return rc;
        if (json_string_value(r)[0] != '/')
            return act_err_field(err, ACT_EUNPROC, "handler.runtime",
                                 "runtime must be an absolute path");
        *out = act_cmd_which(json_string_value(r), NULL);
        if (!*out)
            return act_err_field(err, ACT_EUNPROC, "handler.runtime",
                                 "runtime '%.200s' is not an executable file",
                                 json_string_value(r));
        return ACT_OK;
    }
    if (path)
        envp[0] = act_xasprintf("PATH=%s", path);
    *out = act_cmd_which("docker", envp);
    act_free(envp[0]);
    if (!*out)
        return act_err_field(err, ACT_EUNPROC, "handler.runtime",
                             "no docker CLI found on PATH; set handler.runtime");
    return ACT_OK;
}

static int docker_check(const json_t *handler, char **cli, struct act_err *err)
{
    static const char *const members[] = {
        "image", "args", "memory_mb", "cpus", "pids_limit", "network", "user", "env",
        "timeout_ms", "max_output_bytes", "runtime", NULL};
    const char *k;
    json_t *v;
    int rc;

    *cli = NULL;
    if ((rc = act_handler_check_members(handler, members, err)) < 0 ||
        (rc = validate_image_args(handler, err)) < 0 || (rc = validate_limits(handler, err)) < 0 ||
        (rc = act_cmd_validate_common(handler, 0, err)) < 0)
        return rc;
    json_object_foreach(json_object_get(handler, "env"), k, v) {
        char field[96];

        snprintf(field, sizeof(field), "handler.env.%.64s", k);
        if (env_name_reserved(k))
            return act_err_field(err, ACT_EUNPROC, field,
                                 "env name '%.64s' is reserved: the docker CLI reads it itself", k);
    }
    return find_cli(handler, cli, err);
}

static int docker_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    char *cli;
    int rc;

    (void)config;
    rc = docker_check(handler, &cli, err);
    act_free(cli);
    return rc;
}

/* ---- argv ---- */

static void push(char ***v, size_t *n, size_t *cap, char *s)
{
    if (*n + 2 > *cap) {
        *cap = *cap ? *cap * 2 : 48;
        *v = act_xrealloc(*v, *cap * sizeof(**v));
    }
    (*v)[(*n)++] = s;
    (*v)[*n] = NULL;
}

char **act_docker_argv(const json_t *handler, const char *docker, const char *name)
{
    static const char *const fixed[] = {"--read-only", "--tmpfs", TMPFS, "--cap-drop", "ALL",
                                        "--security-opt", "no-new-privileges", NULL};
    const json_t *mem = json_object_get(handler, "memory_mb");
    const json_t *cpus = json_object_get(handler, "cpus");
    const json_t *pids = json_object_get(handler, "pids_limit");
    const json_t *net = json_object_get(handler, "network");
    const json_t *user = json_object_get(handler, "user");
    long long mb = mem ? json_integer_value(mem) : MEMORY_MB_DEFAULT;
    const char *k;
    json_t *a;
    size_t n = 0, cap = 0, i;
    char **v = NULL;

    push(&v, &n, &cap, act_xstrdup(docker));
    push(&v, &n, &cap, act_xstrdup("run"));
    push(&v, &n, &cap, act_xstrdup("--rm"));
    push(&v, &n, &cap, act_xstrdup("-i"));
    push(&v, &n, &cap, act_xstrdup("--name"));
    push(&v, &n, &cap, act_xstrdup(name));
    push(&v, &n, &cap, act_xstrdup("--network"));
    push(&v, &n, &cap, act_xstrdup(net ? json_string_value(net) : "none"));
    push(&v, &n, &cap, act_xstrdup("--memory"));
    push(&v, &n, &cap, act_xasprintf("%lldm", mb));
    push(&v, &n, &cap, act_xstrdup("--memory-swap")); /* = memory: no swap on top */
    push(&v, &n, &cap, act_xasprintf("%lldm", mb));
    push(&v, &n, &cap, act_xstrdup("--cpus"));
    push(&v, &n, &cap, act_xasprintf("%g", cpus ? json_number_value(cpus) : 1.0));
    push(&v, &n, &cap, act_xstrdup("--pids-limit"));
    push(&v, &n, &cap, act_xasprintf("%lld", pids ? json_integer_value(pids) : PIDS_DEFAULT));
    for (i = 0; fixed[i]; i++)
        push(&v, &n, &cap, act_xstrdup(fixed[i]));
    push(&v, &n, &cap, act_xstrdup("--user"));
    push(&v, &n, &cap, act_xstrdup(user ? json_string_value(user) : USER_DEFAULT));
    json_object_foreach(json_object_get(handler, "env"), k, a) {
        push(&v, &n, &cap, act_xstrdup("--env"));
        push(&v, &n, &cap, act_xstrdup(k));
    }
    push(&v, &n, &cap, act_xstrdup(json_string_value(json_object_get(handler, "image"))));
    json_array_foreach(json_object_get(handler, "args"), i, a)
        push(&v, &n, &cap, act_xstrdup(json_string_value(a)));
    return v;
}

/* ---- state and attempts ---- */

static void docker_close(void *state)
{
    struct docker_state *st = state;

    if (!st)
        return;
    act_cmd_release(&st->cmd);
    json_decref(st->spec);
    act_free(st->docker);
    act_free(st);
}

static int docker_open(const json_t *handler, const json_t *config, void **state,
                       struct act_err *err)
{
    struct docker_state *st;
    char *cli;
    int rc;

    (void)config;
    *state = NULL;
    if ((rc = docker_check(handler, &cli, err)) < 0) {
        act_free(cli);
        return rc;
    }
    st = act_xcalloc(1, sizeof(*st));
    if ((rc = act_cmd_open_common(handler, 0, cli_env, &st->cmd, err)) < 0) {
        act_free(cli);
        act_free(st);
        return rc;
    }
    st->docker = cli;
    st->spec = json_deep_copy(handler);
    st->cmd.exec_paths = act_xcalloc(2, sizeof(*st->cmd.exec_paths));
    st->cmd.exec_paths[0] = act_xstrdup(cli);
    *state = st;
    return ACT_OK;
}

/* actiond-<execution id, sanitized, at most 40>-<attempt>-<8 random hex>:
 * unique per attempt, valid as a container name. */
static void container_name(const struct act_handler_call *call, char *buf, size_t cap)
{
    const char *id = call->execution_id ? call->execution_id : "manual";
    unsigned char rnd[4] = {0};
    char clean[41];
    size_t n = 0;

    for (size_t i = 0; id[i] && n < sizeof(clean) - 1; i++)
        clean[n++] = isalnum((unsigned char)id[i]) || id[i] == '-' ? id[i] : '_';
    clean[n] = '\0';
    if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
        memset(rnd, 0, sizeof(rnd)); /* still unique by execution and attempt */
    snprintf(buf, cap, "actiond-%s-%d-%02x%02x%02x%02x", clean, call->attempt, rnd[0], rnd[1],
             rnd[2], rnd[3]);
}

/* The CLI was killed but the container may live on: remove it. */
static void remove_container(const struct docker_state *st, const char *name)
{
    char *argv[] = {st->docker, (char *)"rm", (char *)"-f", (char *)name, NULL};
    struct act_proc_spec sp = {
        .argv = argv,
        .envp = st->cmd.envp,
        .exec_paths = st->cmd.exec_paths,
        .timeout_ms = CLEANUP_TIMEOUT_MS,
        .max_stdout = 4096,
        .stderr_keep = 4096,
    };
    struct act_proc_outcome oc;

    if (act_proc_run(&sp, &oc, NULL) == ACT_OK)
        act_proc_outcome_release(&oc);
}

static int docker_execute(void *state, const struct act_handler_call *call,
                          struct act_handler_result *res)
{
    struct docker_state *st = state;
    char name[96];
    char **argv;
    size_t len;
    char *doc;
    int rc;

    container_name(call, name, sizeof(name));
    argv = act_docker_argv(st->spec, st->docker, name);
    doc = act_cmd_stdin_doc(call, &len);
    rc = act_cmd_run(&st->cmd, call, argv, doc, len, res);
    if (rc == ACT_ETIMEDOUT || rc == ACT_ETOOBIG)
        remove_container(st, name);
    act_free(doc);
    act_cmd_strv_free(argv);
    return rc;
}

const struct act_handler_ops act_handler_docker_ops = {
    .kind = "docker",
    .capabilities = "[\"sync\",\"timeout\",\"isolated\",\"json_stdio\",\"retry_after\","
                    "\"container\"]",
    .schema =
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
        "\"type\":\"object\",\"required\":[\"kind\",\"image\"],\"additionalProperties\":false,"
        "\"properties\":{"
        "\"kind\":{\"const\":\"docker\"},"
        "\"image\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":255,"
        "\"description\":\"image reference [registry/]name[:tag][@digest]; stdin gets "
        "{execution_id, attempt, action, event, input, config}, stdout is the JSON output\"},"
        "\"args\":{\"type\":\"array\",\"maxItems\":256,"
        "\"items\":{\"type\":\"string\",\"maxLength\":4096},"
        "\"description\":\"the container's command (after the image)\"},"
        "\"memory_mb\":{\"type\":\"integer\",\"minimum\":6,\"maximum\":1048576,\"default\":256},"
        "\"cpus\":{\"type\":\"number\",\"minimum\":0.01,\"maximum\":256,\"default\":1},"
        "\"pids_limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65536,\"default\":64},"
        "\"network\":{\"enum\":[\"none\",\"bridge\"],\"default\":\"none\"},"
        "\"user\":{\"type\":\"string\",\"default\":\"65534:65534\"},"
        "\"env\":{\"type\":\"object\",\"maxProperties\":256,"
        "\"propertyNames\":{\"pattern\":\"^[A-Za-z_][A-Za-z0-9_]*$\"},"
        "\"additionalProperties\":{\"type\":\"string\"},"
        "\"description\":\"passed as --env NAME (values never on the command line); names the "
        "docker CLI reads itself are refused\"},"
        "\"timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":86400000},"
        "\"max_output_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":67108864,"
        "\"default\":1048576},"
        "\"runtime\":{\"type\":\"string\",\"description\":\"absolute path of the docker CLI "
        "(default: docker on PATH)\"}}}",
    .validate = docker_validate,
    .open = docker_open,
    .execute = docker_execute,
    .close = docker_close,
};
