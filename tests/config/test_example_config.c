/* examples/actiond.yaml stays loadable: every key in it is known and valid,
 * and it states the defaults it claims to. */
#include "config/config.h"
#include "tap.h"

#include <string.h>

int main(void)
{
    struct act_config cfg;
    struct act_err err = {0};
    char *argv[] = {"actiond", "--config", "examples/actiond.yaml", NULL};
    char *envp[] = {NULL};

    is_int(act_config_load(&cfg, 3, argv, envp, &err), 0, "examples/actiond.yaml loads: %s",
           err.msg);
    is_str(cfg.listen_host, "127.0.0.1", "listen host");
    is_int(cfg.listen_port, 8080, "listen port");
    ok(cfg.sync_full, "store.synchronous full");
    is_int((long long)cfg.max_body_bytes, 1048576, "http.max_body_bytes");
    return done_testing();
}
