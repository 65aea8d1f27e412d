/*
 * actionctl entry point: global options, the command table and the shared
 * option parser.
 *
 * Global options (--url, --json) are accepted before the resource and, via
 * cli_parse(), anywhere after the verb, so `actionctl actions list --json`
 * works as well as `actionctl --json actions list`.  The base URL comes from
 * --url, else $ACTIOND_URL, else http://127.0.0.1:8080.
 *
 * Exit status (enum cli_exit): 0 success, 1 the server answered with an
 * error (or local input was unusable), 2 the server could not be reached,
 * 64 a bad command line (with the usage text on stderr).
 */
#include "base/alloc.h"
#include "cli/cli.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: actionctl [--url URL] [--json] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  actions list [--limit N] [--cursor C]\n"
    "  actions create FILE|-          create an action from a JSON file (- reads stdin)\n"
    "  actions get ID\n"
    "  apply [--prune] PATH...        create or update the actions and subscriptions of JSON\n"
    "                                 files (a directory: its *.json); idempotent\n"
    "  events send TYPE [--data JSON] [--source S] [--id ID] [--subject S]\n"
    "  events send --file FILE|-      send a JSON body: one event or {\"events\": [...]}\n"
    "  executions list [--action-id ID] [--status S] [--event-id ID] [--limit N] [--cursor C]\n"
    "  executions get ID\n"
    "  subscriptions create FILE|-    create a subscription from a JSON file\n"
    "  version [--client]             client version and the server's API version\n"
    "  help                           print this help\n"
    "\n"
    "options:\n"
    "  --url URL   actiond base URL (default $ACTIOND_URL, else " CLI_DEFAULT_URL ")\n"
    "  --json      print the server's JSON as received instead of a summary\n"
    "\n"
    "exit status: 0 ok, 1 error from the server or bad input, 2 server unreachable,\n"
    "64 bad command line\n";

static void vfail(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static void vfail(const char *fmt, va_list ap)
{
    fputs("actionctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_fail(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(fmt, ap);
    va_end(ap);
    return code;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(usage_text, stderr);
    return CLI_EXIT_USAGE;
}

bool cli_is_count(const char *s)
{
    size_t n = strspn(s, "0123456789");

    return n > 0 && n < 10 && s[n] == '\0' && strtol(s, NULL, 10) > 0;
}

static int set_url(struct cli *c, const char *url)
{
    size_t n = strlen(url);

    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return cli_usage_error("the URL must start with http:// or https://: '%s'", url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    act_free(c->url);
    c->url = act_xstrndup(url, n);
    return 0;
}

/* Match "--name" or "--name=..." against option `name`. */
static bool opt_is(const char *arg, size_t len, const char *name)
{
    return strlen(name) == len && memcmp(arg, name, len) == 0;
}

/* One option at argv[*i]; advances *i past a separate value. */
static int parse_one(struct cli *c, int argc, char **argv, int *i, const struct cli_opt *opts)
{
    const char *a = argv[*i], *eq = strchr(a, '='), *val;
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    const struct cli_opt *o = NULL;

    if (opt_is(a, len, "--json")) {
        if (eq)
            return cli_usage_error("option '--json' takes no value");
        c->json = true;
        return 0;
    }
    for (; opts && opts->name && !o; opts++)
        if (opt_is(a, len, opts->name))
            o = opts;
    if (!o && !opt_is(a, len, "--url"))
        return cli_usage_error("unknown option '%.*s'", (int)len, a);
    if (o && o->flag) {
        if (eq)
            return cli_usage_error("option '%.*s' takes no value", (int)len, a);
        *o->flag = true;
        return 0;
    }
    if (eq)
        val = eq + 1;
    else if (*i + 1 < argc)
        val = argv[++*i];
    else
        return cli_usage_error("option '%s' needs a value", a);
    if (!o)
        return set_url(c, val);
    *o->val = val;
    return 0;
}

int cli_parse(struct cli *c, const char *cmd, int argc, char **argv, const struct cli_opt *opts,
              const char **pos, int min_pos, int max_pos)
{
    bool only_pos = false;
    int n_pos = 0, rc;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];

        if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
            if (n_pos >= max_pos)
                return cli_usage_error("%s: unexpected argument '%s'", cmd, a);
            pos[n_pos++] = a;
        } else if (strcmp(a, "--") == 0) {
            only_pos = true;
        } else if ((rc = parse_one(c, argc, argv, &i, opts)) != 0) {
            return rc;
        }
    }
    if (n_pos < min_pos)
        return cli_usage_error("%s: missing argument", cmd);
    return 0;
}

int cli_cmd_version(struct cli *c, int argc, char **argv)
{
    bool client_only = false;
    const struct cli_opt opts[] = {{"--client", NULL, &client_only}, {0}};
    struct cli_reply r;
    const json_t *v;
    int rc;

    if ((rc = cli_parse(c, "version", argc, argv, opts, NULL, 0, 0)) != 0)
        return rc;
    printf("actionctl %s\n", CLI_VERSION);
    if (client_only)
        return CLI_EXIT_OK;
    if ((rc = cli_call(c, "GET", "/openapi.json", NULL, &r)) == 0) {
        v = cli_json_path(r.json, "info.version");
        printf("server %s: API version %s\n", c->url,
               json_is_string(v) ? json_string_value(v) : "unknown");
    }
    cli_reply_release(&r);
    return rc;
}

static int cmd_help(struct cli *c, int argc, char **argv)
{
    (void)c, (void)argc, (void)argv;
    fputs(usage_text, stdout);
    return CLI_EXIT_OK;
}

static const struct {
    const char *name;
    int (*run)(struct cli *c, int argc, char **argv);
    bool has_verb;
} commands[] = {
    {"actions", cli_cmd_actions, true},
    {"apply", cli_cmd_apply, false},
    {"events", cli_cmd_events, true},
    {"executions", cli_cmd_executions, true},
    {"subscriptions", cli_cmd_subscriptions, true},
    {"version", cli_cmd_version, false},
    {"help", cmd_help, false},
};

/* Global options before the command; returns the index of the command,
 * or -exit_status. */
static int parse_globals(struct cli *c, int argc, char **argv)
{
    int i = 1, rc;

    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return -cmd_help(c, 0, NULL);
        if (strcmp(argv[i], "--version") == 0) {
            printf("actionctl %s\n", CLI_VERSION);
            return -CLI_EXIT_OK;
        }
        if ((rc = parse_one(c, argc, argv, &i, NULL)) != 0)
            return -rc;
    }
    if (i >= argc)
        return -cli_usage_error("missing command");
    return i;
}

static int dispatch(struct cli *c, int argc, char **argv)
{
    int i = parse_globals(c, argc, argv);

    if (i <= 0)
        return -i;
    for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
        if (strcmp(argv[i], commands[k].name) != 0)
            continue;
        if (commands[k].has_verb && i + 1 >= argc)
            return cli_usage_error("%s: missing verb", argv[i]);
        /* argv[0] is the verb for resources, the first argument otherwise. */
        return commands[k].run(c, argc - i - 1, argv + i + 1);
    }
    return cli_usage_error("unknown command '%s'", argv[i]);
}

int main(int argc, char **argv)
{
    struct cli c = {0};
    const char *env = getenv("ACTIOND_URL");
    int rc;

    if (set_url(&c, env && *env ? env : CLI_DEFAULT_URL) != 0)
        return CLI_EXIT_USAGE;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return cli_fail(CLI_EXIT_CONN, "cannot initialize libcurl");
    rc = dispatch(&c, argc, argv);
    curl_global_cleanup();
    act_free(c.url);
    return rc;
}
