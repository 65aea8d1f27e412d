/*
 * Kind `echo`: succeeds with a deep copy of the attempt's input, so the
 * output never shares nodes with the caller's input (jansson values are not
 * safe to share mutably between threads).  The spec is exactly
 * {"kind": "echo"}.
 */
#include "handler/handler_internal.h"

static int echo_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    (void)config;
    return act_handler_check_members(handler, NULL, err);
}

static int echo_open(const json_t *handler, const json_t *config, void **state,
                     struct act_err *err)
{
    (void)handler;
    (void)config;
    (void)err;
    *state = NULL;
    return ACT_OK;
}

static int echo_execute(void *state, const struct act_handler_call *call,
                        struct act_handler_result *res)
{
    (void)state;
    res->output = call->input ? json_deep_copy(call->input) : NULL;
    if (call->input && !res->output)
        return act_handler_fail(res, ACT_ENOMEM, "out of memory copying the input");
    return ACT_OK;
}

static void echo_close(void *state)
{
    (void)state;
}

const struct act_handler_ops act_handler_echo_ops = {
    .kind = "echo",
    .capabilities = "[\"sync\",\"in_process\"]",
    .schema = "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
              "\"type\":\"object\",\"required\":[\"kind\"],\"additionalProperties\":false,"
              "\"properties\":{\"kind\":{\"const\":\"echo\"}}}",
    .validate = echo_validate,
    .open = echo_open,
    .execute = echo_execute,
    .close = echo_close,
};
