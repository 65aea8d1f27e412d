/*
 * actionctl executions: list, get (API.md "Executions").
 */
#include "base/alloc.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const struct cli_col exec_cols[] = {
    {"ID", "id"},           {"ACTION", "action_id"},  {"STATUS", "status"},
    {"ATTEMPT", "attempt"}, {"QUEUED", "queued_at"}, {"MS", "duration_ms"},
};

static int show_list(const json_t *reply)
{
    cli_print_table(json_object_get(reply, "items"), exec_cols,
                    sizeof(exec_cols) / sizeof(exec_cols[0]));
    cli_print_next(reply);
    return CLI_EXIT_OK;
}

static int show_object(const json_t *reply)
{
    cli_print_object(reply);
    return CLI_EXIT_OK;
}

static int executions_list(struct cli *c, int argc, char **argv)
{
    const char *action_id = NULL, *status = NULL, *event_id = NULL, *limit = NULL, *cursor = NULL;
    const struct cli_opt opts[] = {
        {"--action-id", &action_id, NULL}, {"--status", &status, NULL},
        {"--event-id", &event_id, NULL},   {"--limit", &limit, NULL},
        {"--cursor", &cursor, NULL},       {0},
    };
    char *path;
    int rc;

    if ((rc = cli_parse(c, "executions list", argc, argv, opts, NULL, 0, 0)) != 0)
        return rc;
    if (limit && !cli_is_count(limit))
        return cli_usage_error("executions list: --limit must be a positive number, got '%s'",
                               limit);
    const char *pairs[] = {"action_id", action_id, "status", status, "event_id", event_id,
                           "limit",     limit,     "cursor", cursor};
    path = cli_with_query("/v1/executions", pairs, 5);
    rc = cli_run(c, "GET", path, NULL, show_list);
    act_free(path);
    return rc;
}

static int executions_get(struct cli *c, int argc, char **argv)
{
    const char *id = NULL;
    char *esc, *path;
    int rc;

    if ((rc = cli_parse(c, "executions get", argc, argv, NULL, &id, 1, 1)) != 0)
        return rc;
    esc = cli_escape(id);
    path = act_xasprintf("/v1/executions/%s", esc);
    rc = cli_run(c, "GET", path, NULL, show_object);
    act_free(path);
    act_free(esc);
    return rc;
}

int cli_cmd_executions(struct cli *c, int argc, char **argv)
{
    if (strcmp(argv[0], "list") == 0)
        return executions_list(c, argc - 1, argv + 1);
    if (strcmp(argv[0], "get") == 0)
        return executions_get(c, argc - 1, argv + 1);
    return cli_usage_error("executions: unknown verb '%s'", argv[0]);
}
