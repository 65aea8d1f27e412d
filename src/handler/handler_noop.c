/*
 * Kind `noop`: does nothing and succeeds with a null output.  Useful to test
 * subscriptions, flow control and retries without side effects.  The spec is
 * exactly {"kind": "noop"}; any other member is rejected so that a typo in a
 * kind name cannot silently turn a real handler into a no-op.
 */
#include "handler/handler_internal.h"

static int noop_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    (void)config;
    return act_handler_check_members(handler, NULL, err);
}

static int noop_open(const json_t *handler, const json_t *config, void **state,
                     struct act_err *err)
{
    (void)handler;
    (void)config;
    (void)err;
    *state = NULL;
    return ACT_OK;
}

static int noop_execute(void *state, const struct act_handler_call *call,
                        struct act_handler_result *res)
{
    (void)state;
    (void)call;
    res->output = NULL;
    return ACT_OK;
}

static void noop_close(void *state)
{
    (void)state;
}

const struct act_handler_ops act_handler_noop_ops = {
    .kind = "noop",
    .capabilities = "[\"sync\",\"in_process\"]",
    .schema = "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
              "\"type\":\"object\",\"required\":[\"kind\"],\"additionalProperties\":false,"
              "\"properties\":{\"kind\":{\"const\":\"noop\"}}}",
    .validate = noop_validate,
    .open = noop_open,
    .execute = noop_execute,
    .close = noop_close,
};
