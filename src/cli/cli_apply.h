/*
 * actionctl apply, the part shared by its two files: cli_apply_load.c reads
 * and checks the definition files, cli_apply.c sends them.
 *
 * A plan is the list of entries of every file, in order (the files of a
 * directory by name, entries in file order).  Loading finishes before any
 * request is sent, so a local mistake (bad JSON, an unset ${VAR}, an
 * unknown member, the same action name twice) changes nothing on the
 * server.  Main thread only, like all of actionctl.
 */
#ifndef ACT_CLI_APPLY_H
#define ACT_CLI_APPLY_H

#include <jansson.h>
#include <stddef.h>

/* Caps on what one run loads (the files are local, but a runaway
 * directory should fail clearly rather than send thousands of requests). */
#define CLI_APPLY_MAX_FILES 1000
#define CLI_APPLY_MAX_ENTRIES 1000 /* actions per file */
#define CLI_APPLY_MAX_SUBS 100     /* subscriptions per action */

struct cli_apply_entry {
    char *file;     /* the path it came from; owned */
    json_t *action; /* the POST /v1/actions body; owned reference */
    json_t *subs;   /* array of subscription bodies without action_id; owned */
};

struct cli_apply_plan {
    struct cli_apply_entry *v;
    size_t n, cap;
};

/* Load every path (a file, or a directory whose *.json files are taken in
 * name order, not recursively) into `plan`.  Prints the first problem as
 * "actionctl: FILE: ..." and returns CLI_EXIT_API; 0 on success.  `plan`
 * must be zeroed first and is released with cli_apply_plan_free either way. */
int cli_apply_load(const char *const *paths, size_t n_paths, struct cli_apply_plan *plan);

void cli_apply_plan_free(struct cli_apply_plan *plan);

/* Expand ${NAME} and ${NAME:-default} from the environment in every string
 * value of `doc` (not in keys), in place; "$${" stands for a literal "${".
 * NAME is [A-Za-z_][A-Za-z0-9_]*; an unset NAME without a default is an
 * error, and ":-" also replaces an empty value, as in the shell.  On error
 * returns -1 with a sentence in why[]. */
int cli_apply_expand(json_t *doc, char *why, size_t why_len);

#endif
