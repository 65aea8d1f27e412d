/*
 * actionctl: the command-line client of the actiond REST API.  It talks HTTP
 * only (libcurl easy interface, jansson) and links nothing of the engine.
 *
 * Shape: `actionctl [--url URL] [--json] RESOURCE VERB [ARGS]`.  Each
 * resource has one file (cli_actions.c, ...) with one entry point that
 * dispatches on the verb.  Every entry point returns the process exit
 * status (enum cli_exit): commands print their own output and errors.
 *
 * Everything here runs on the main thread; there is no other.
 */
#ifndef ACT_CLI_CLI_H
#define ACT_CLI_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CLI_VERSION "0.1.0"
#define CLI_DEFAULT_URL "http://127.0.0.1:8080"

enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_API = 1,   /* the server answered with an error, or local input was bad */
    CLI_EXIT_CONN = 2,  /* no answer: connection refused, DNS, timeout */
    CLI_EXIT_USAGE = 64 /* EX_USAGE: bad command line */
};

/* Global options. */
struct cli {
    char *url; /* base URL without a trailing slash; owned */
    bool json; /* print the server's JSON instead of a summary */
};

/* ---- cli_main.c: option parsing and usage ---- */

/* A command option: `--name VALUE` (val != NULL) or `--name` (flag != NULL). */
struct cli_opt {
    const char *name; /* "--data" */
    const char **val;
    bool *flag;
};

/* Parse the arguments after the verb of command `cmd` ("actions get").
 * Options in `opts` (terminated by a zero entry; may be NULL) and the global
 * --url/--json may appear anywhere, as `--name VALUE` or `--name=VALUE`;
 * `--` ends options; a lone `-` is a positional.  Positionals go into
 * pos[0..max_pos).  Returns 0, or CLI_EXIT_USAGE after printing the problem
 * and the usage text. */
int cli_parse(struct cli *c, const char *cmd, int argc, char **argv, const struct cli_opt *opts,
              const char **pos, int min_pos, int max_pos);

/* True when s is a decimal number >= 1 (for --limit). */
bool cli_is_count(const char *s);

/* Print "actionctl: <message>" and the usage text to stderr; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "actionctl: <message>" to stderr; returns `code`. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- cli_http.c: the one request helper ---- */

struct cli_reply {
    long status; /* HTTP status */
    char *body;  /* NUL-terminated, owned */
    size_t len;
    json_t *json; /* parsed body, or NULL when empty or not JSON; owned */
};

/* Send `method` to c->url + `path` (already escaped, may hold a query)
 * with `body` (serialized as application/json; NULL: no body).  On a 2xx
 * answer fills *reply and returns 0.  On an HTTP error prints the
 * problem+json (or the status) to stderr and returns CLI_EXIT_API; on a
 * transport failure prints the reason and returns CLI_EXIT_CONN.  *reply is
 * always safe to pass to cli_reply_release. */
int cli_call(const struct cli *c, const char *method, const char *path, const json_t *body,
             struct cli_reply *reply);

/* Prints the summary of a successful reply; returns the exit status. */
typedef int cli_show_fn(const json_t *reply);

/* cli_call, then print: the raw body with --json, else show(reply->json)
 * (the raw body when it is not JSON).  Returns the exit status. */
int cli_run(const struct cli *c, const char *method, const char *path, const json_t *body,
            cli_show_fn *show);

/* Free what a reply owns; the struct itself is caller-owned. */
void cli_reply_release(struct cli_reply *r);

/* Percent-encode `s` for a path segment or query value.  Caller frees with
 * act_free. */
char *cli_escape(const char *s);

/* `path` followed by "?k=v&..." for each of the n_pairs (name, value) pairs
 * whose value is not NULL, values escaped.  Caller frees with act_free. */
char *cli_with_query(const char *path, const char *const *pairs, size_t n_pairs);

/* Read a JSON document from FILE, or stdin when `file` is "-".  Prints the
 * reason and returns NULL on failure. */
json_t *cli_load_json_file(const char *file);

/* ---- cli_print.c: output ---- */

struct cli_col {
    const char *header;
    const char *path; /* dotted path into each item: "handler.kind" */
};

/* Print the reply body as received (used for --json). */
void cli_print_raw(const struct cli_reply *r);

/* Print the body of an HTTP error to stderr as
 * "actionctl: <title>: <detail> (field: <field>)". */
void cli_print_problem(long status, const json_t *problem, const char *body);

/* Print the array `items` as a table with a header line. */
void cli_print_table(const json_t *items, const struct cli_col *cols, size_t n_cols);

/* Print an object as aligned "key: value" lines; nested values as compact
 * JSON. */
void cli_print_object(const json_t *obj);

/* After a list: "next page: --cursor X" when next_cursor is set. */
void cli_print_next(const json_t *list);

/* The member at a dotted path, or NULL. */
const json_t *cli_json_path(const json_t *obj, const char *path);

/* A value as display text: strings bare, null as "-", others as compact
 * JSON.  Caller frees with act_free. */
char *cli_value_text(const json_t *v);

/* ---- one entry point per resource; argv[0] is the verb ---- */
int cli_cmd_actions(struct cli *c, int argc, char **argv);
int cli_cmd_apply(struct cli *c, int argc, char **argv); /* cli_apply.c; no verb */
int cli_cmd_events(struct cli *c, int argc, char **argv);
int cli_cmd_executions(struct cli *c, int argc, char **argv);
int cli_cmd_subscriptions(struct cli *c, int argc, char **argv);
int cli_cmd_version(struct cli *c, int argc, char **argv);

#endif
