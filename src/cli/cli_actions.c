/*
 * actionctl actions: list, create, get (API.md "Actions").
 *
 * `create` sends the file's JSON document unchanged; the server validates
 * it and its problem+json answer names the field at fault.
 */
#include "base/alloc.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const struct cli_col action_cols[] = {
    {"ID", "id"},          {"NAME", "name"},       {"TYPE", "action_type"},
    {"HANDLER", "handler.kind"}, {"ENABLED", "enabled"},
};

static int show_list(const json_t *reply)
{
    cli_print_table(json_object_get(reply, "items"), action_cols,
                    sizeof(action_cols) / sizeof(action_cols[0]));
    cli_print_next(reply);
    return CLI_EXIT_OK;
}

static int show_created(const json_t *reply)
{
    char *id = cli_value_text(json_object_get(reply, "id"));
    char *name = cli_value_text(json_object_get(reply, "name"));

    printf("created action %s (%s)\n", id, name);
    act_free(name);
    act_free(id);
    return CLI_EXIT_OK;
}

static int show_object(const json_t *reply)
{
    cli_print_object(reply);
    return CLI_EXIT_OK;
}

static int actions_list(struct cli *c, int argc, char **argv)
{
    const char *limit = NULL, *cursor = NULL;
    const struct cli_opt opts[] = {{"--limit", &limit, NULL}, {"--cursor", &cursor, NULL}, {0}};
    const char *pairs[] = {"limit", NULL, "cursor", NULL};
    char *path;
    int rc;

    if ((rc = cli_parse(c, "actions list", argc, argv, opts, NULL, 0, 0)) != 0)
        return rc;
    if (limit && !cli_is_count(limit))
        return cli_usage_error("actions list: --limit must be a positive number, got '%s'", limit);
    pairs[1] = limit;
    pairs[3] = cursor;
    path = cli_with_query("/v1/actions", pairs, 2);
    rc = cli_run(c, "GET", path, NULL, show_list);
    act_free(path);
    return rc;
}

static int actions_create(struct cli *c, int argc, char **argv)
{
    const char *file = NULL;
    json_t *body;
    int rc;

    if ((rc = cli_parse(c, "actions create", argc, argv, NULL, &file, 1, 1)) != 0)
        return rc;
    if (!(body = cli_load_json_file(file)))
        return CLI_EXIT_API;
    rc = cli_run(c, "POST", "/v1/actions", body, show_created);
    json_decref(body);
    return rc;
}

static int actions_get(struct cli *c, int argc, char **argv)
{
    const char *id = NULL;
    char *esc, *path;
    int rc;

    if ((rc = cli_parse(c, "actions get", argc, argv, NULL, &id, 1, 1)) != 0)
        return rc;
    esc = cli_escape(id);
    path = act_xasprintf("/v1/actions/%s", esc);
    rc = cli_run(c, "GET", path, NULL, show_object);
    act_free(path);
    act_free(esc);
    return rc;
}

int cli_cmd_actions(struct cli *c, int argc, char **argv)
{
    const char *verb = argv[0];

    if (strcmp(verb, "list") == 0)
        return actions_list(c, argc - 1, argv + 1);
    if (strcmp(verb, "create") == 0)
        return actions_create(c, argc - 1, argv + 1);
    if (strcmp(verb, "get") == 0)
        return actions_get(c, argc - 1, argv + 1);
    return cli_usage_error("actions: unknown verb '%s'", verb);
}
