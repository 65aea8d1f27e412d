/*
 * Kind `command`: run a program (no shell) for every attempt, JSON in on
 * stdin, JSON out on stdout.
 *
 *   {"kind": "command", "argv": ["prog", "arg", ...], "env"?: {"K": "V"},
 *    "cwd"?: "dir", "max_output_bytes"?: N, "timeout_ms"?: N,
 *    "seccomp"?: "default" | "no_network" | "none"}
 *
 * This file owns the argv member; everything the command family shares
 * (the other members, the state, the meaning of an outcome) is in
 * handler_command_run.c, and the process itself in handler_command_proc.c.
 * The state is immutable after open, so execute() runs from many workers at
 * once without locks; each attempt has its own pipes and child.
 */
#include "base/alloc.h"
#include "handler/handler_command.h"

#include <stdio.h>
#include <string.h>

#define ARGV_MAX 256
#define ARG_LEN_MAX 4096

/* ---- validation ---- */

static int validate_argv(const json_t *argv, struct act_err *err)
{
    const json_t *a;
    size_t i;
    int rc;

    if (!argv)
        return act_err_field(err, ACT_EUNPROC, "handler.argv", "argv is required");
    if (!json_is_array(argv))
        return act_err_field(err, ACT_EUNPROC, "handler.argv", "argv must be an array of strings");
    if (json_array_size(argv) == 0)
        return act_err_field(err, ACT_EUNPROC, "handler.argv", "argv must not be empty");
    if (json_array_size(argv) > ARGV_MAX)
        return act_err_field(err, ACT_EUNPROC, "handler.argv", "argv has more than %d entries",
                             ARGV_MAX);
    json_array_foreach(argv, i, a) {
        char field[48], what[32];

        snprintf(field, sizeof(field), "handler.argv[%zu]", i);
        snprintf(what, sizeof(what), "argv[%zu]", i);
        if ((rc = act_cmd_check_text(a, field, what, ARG_LEN_MAX, err)) < 0)
            return rc;
        if (i == 0 && json_string_length(a) == 0)
            return act_err_field(err, ACT_EUNPROC, field, "argv[0] must not be empty");
    }
    return ACT_OK;
}

static int cmd_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    static const char *const members[] = {"argv",       "env",     "cwd", "max_output_bytes",
                                          "timeout_ms", "seccomp", NULL};
    int rc;

    (void)config; /* any object: it is handed to the command on stdin */
    if ((rc = act_handler_check_members(handler, members, err)) < 0)
        return rc;
    if ((rc = validate_argv(json_object_get(handler, "argv"), err)) < 0)
        return rc;
    return act_cmd_validate_common(handler, ACT_CMD_SECCOMP, err);
}

/* ---- state ---- */

static void cmd_close(void *state)
{
    struct act_cmd *c = state;

    if (!c)
        return;
    act_cmd_release(c);
    act_free(c);
}

static int cmd_open(const json_t *handler, const json_t *config, void **state,
                    struct act_err *err)
{
    const json_t *argv = json_object_get(handler, "argv");
    struct act_cmd *c;
    int rc;

    *state = NULL;
    if ((rc = cmd_validate(handler, config, err)) < 0)
        return rc;
    c = act_xcalloc(1, sizeof(*c));
    if ((rc = act_cmd_open_common(handler, ACT_CMD_SECCOMP, NULL, c, err)) < 0) {
        act_free(c);
        return rc;
    }
    c->argv = act_xcalloc(json_array_size(argv) + 1, sizeof(*c->argv));
    for (size_t i = 0; i < json_array_size(argv); i++)
        c->argv[i] = act_xstrdup(json_string_value(json_array_get(argv, i)));
    c->exec_paths = act_cmd_exec_paths(c->argv[0], c->envp);
    *state = c;
    return ACT_OK;
}

/* ---- one attempt ---- */

static int cmd_execute(void *state, const struct act_handler_call *call,
                       struct act_handler_result *res)
{
    size_t len;
    char *doc = act_cmd_stdin_doc(call, &len);
    int rc = act_cmd_run(state, call, NULL, doc, len, res);

    act_free(doc);
    return rc;
}

const struct act_handler_ops act_handler_command_ops = {
    .kind = "command",
    .capabilities = "[\"sync\",\"timeout\",\"isolated\",\"json_stdio\",\"retry_after\",\"seccomp\"]",
    .schema =
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
        "\"type\":\"object\",\"required\":[\"kind\",\"argv\"],\"additionalProperties\":false,"
        "\"properties\":{"
        "\"kind\":{\"const\":\"command\"},"
        "\"argv\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":256,"
        "\"prefixItems\":[{\"type\":\"string\",\"minLength\":1}],"
        "\"items\":{\"type\":\"string\",\"maxLength\":4096},"
        "\"description\":\"program and arguments, run without a shell; stdin gets "
        "{execution_id, attempt, action, event, input, config}, stdout is the JSON output\"},"
        "\"env\":{\"type\":\"object\",\"maxProperties\":256,"
        "\"propertyNames\":{\"pattern\":\"^[A-Za-z_][A-Za-z0-9_]*$\"},"
        "\"additionalProperties\":{\"type\":\"string\"},"
        "\"description\":\"added to PATH, HOME, LANG and TZ of the daemon\"},"
        "\"cwd\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096},"
        "\"max_output_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":67108864,"
        "\"default\":1048576},"
        "\"timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":86400000,"
        "\"description\":\"lowers the action's timeout_ms for this handler\"},"
        "\"seccomp\":{\"enum\":[\"default\",\"no_network\",\"none\"],\"default\":\"default\","
        "\"description\":\"system call filter installed before exec (docs/handlers/command.md)\"}"
        "}}",
    .validate = cmd_validate,
    .open = cmd_open,
    .execute = cmd_execute,
    .close = cmd_close,
};
