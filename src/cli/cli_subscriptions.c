/*
 * actionctl subscriptions: create (API.md "Subscriptions").
 */
#include "base/alloc.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static int show_created(const json_t *reply)
{
    char *id = cli_value_text(json_object_get(reply, "id"));
    char *action = cli_value_text(json_object_get(reply, "action_id"));
    char *patterns = cli_value_text(json_object_get(reply, "event_patterns"));

    printf("created subscription %s (action %s, patterns %s)\n", id, action, patterns);
    act_free(patterns);
    act_free(action);
    act_free(id);
    return CLI_EXIT_OK;
}

static int subscriptions_create(struct cli *c, int argc, char **argv)
{
    const char *file = NULL;
    json_t *body;
    int rc;

    if ((rc = cli_parse(c, "subscriptions create", argc, argv, NULL, &file, 1, 1)) != 0)
        return rc;
    if (!(body = cli_load_json_file(file)))
        return CLI_EXIT_API;
    rc = cli_run(c, "POST", "/v1/subscriptions", body, show_created);
    json_decref(body);
    return rc;
}

int cli_cmd_subscriptions(struct cli *c, int argc, char **argv)
{
    if (strcmp(argv[0], "create") == 0)
        return subscriptions_create(c, argc - 1, argv + 1);
    return cli_usage_error("subscriptions: unknown verb '%s'", argv[0]);
}
