/*
 * actionctl events: send (API.md "Events").
 *
 * `events send TYPE [--data JSON] [--source S] [--id ID] [--subject S]`
 * builds a plain JSON event; `events send --file FILE|-` sends a prepared
 * body (one event, or {"events": [...]} for a batch) unchanged.  A batch
 * in which any member was rejected exits 1 after printing every result.
 */
#include "base/alloc.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const struct cli_col exec_cols[] = {
    {"EXECUTION", "id"},
    {"ACTION", "action_id"},
    {"SUBSCRIPTION", "subscription_id"},
};

static void show_one(const json_t *r)
{
    const json_t *execs = json_object_get(r, "executions");
    char *id = cli_value_text(json_object_get(r, "event_id"));
    size_t n = json_array_size(execs);

    printf("event %s %s, %zu execution%s\n", id,
           json_is_true(json_object_get(r, "duplicate")) ? "is a duplicate (nothing created)"
                                                         : "accepted",
           n, n == 1 ? "" : "s");
    if (n > 0)
        cli_print_table(execs, exec_cols, sizeof(exec_cols) / sizeof(exec_cols[0]));
    act_free(id);
}

/* One rejected batch member: the entry itself or its "error" member is a
 * problem object. */
static void show_member_error(size_t i, const json_t *r)
{
    const json_t *p = json_is_object(json_object_get(r, "error")) ? json_object_get(r, "error") : r;
    const char *title = json_string_value(json_object_get(p, "title"));
    const char *detail = json_string_value(json_object_get(p, "detail"));
    const char *field = json_string_value(json_object_get(p, "field"));

    printf("[%zu] rejected: %s", i, title ? title : "error");
    if (detail)
        printf(": %s", detail);
    if (field && *field)
        printf(" (field: %s)", field);
    putchar('\n');
}

static int show_batch(const json_t *results)
{
    size_t i, failed = 0;
    const json_t *r;

    json_array_foreach(results, i, r) {
        if (json_object_get(r, "event_id")) {
            printf("[%zu] ", i);
            show_one(r);
        } else {
            show_member_error(i, r);
            failed++;
        }
    }
    if (failed == 0)
        return CLI_EXIT_OK;
    return cli_fail(CLI_EXIT_API, "%zu of %zu events rejected", failed,
                    json_array_size(results));
}

static int show_reply(const json_t *reply)
{
    const json_t *results = json_object_get(reply, "results");

    if (json_is_array(results))
        return show_batch(results);
    show_one(reply);
    return CLI_EXIT_OK;
}

struct send_args {
    const char *type, *data, *source, *id, *subject, *file;
};

/* The request body from the arguments; NULL after printing a usage error
 * or an input error (*rc says which). */
static json_t *build_body(const struct send_args *a, int *rc)
{
    json_error_t je;
    json_t *ev, *data;

    if (a->file) {
        if (a->type || a->data || a->source || a->id || a->subject) {
            *rc = cli_usage_error("events send: --file excludes TYPE, --data, --source, --id "
                                  "and --subject");
            return NULL;
        }
        *rc = CLI_EXIT_API;
        return cli_load_json_file(a->file);
    }
    if (!a->type) {
        *rc = cli_usage_error("events send: missing TYPE (or --file FILE)");
        return NULL;
    }
    ev = json_object();
    json_object_set_new(ev, "type", json_string(a->type));
    if (a->data) {
        if (!(data = json_loads(a->data, JSON_DECODE_ANY, &je))) {
            json_decref(ev);
            *rc = cli_usage_error("events send: --data is not valid JSON: %s", je.text);
            return NULL;
        }
        json_object_set_new(ev, "data", data);
    }
    if (a->source)
        json_object_set_new(ev, "source", json_string(a->source));
    if (a->id)
        json_object_set_new(ev, "id", json_string(a->id));
    if (a->subject)
        json_object_set_new(ev, "subject", json_string(a->subject));
    return ev;
}

static int events_send(struct cli *c, int argc, char **argv)
{
    struct send_args a = {0};
    const struct cli_opt opts[] = {
        {"--data", &a.data, NULL}, {"--source", &a.source, NULL},   {"--id", &a.id, NULL},
        {"--file", &a.file, NULL}, {"--subject", &a.subject, NULL}, {0},
    };
    json_t *body;
    int rc;

    if ((rc = cli_parse(c, "events send", argc, argv, opts, &a.type, 0, 1)) != 0)
        return rc;
    if (!(body = build_body(&a, &rc)))
        return rc;
    rc = cli_run(c, "POST", "/v1/events", body, show_reply);
    json_decref(body);
    return rc;
}

int cli_cmd_events(struct cli *c, int argc, char **argv)
{
    if (strcmp(argv[0], "send") == 0)
        return events_send(c, argc - 1, argv + 1);
    return cli_usage_error("events: unknown verb '%s'", argv[0]);
}
