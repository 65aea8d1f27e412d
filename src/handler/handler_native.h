/*
 * Kind `native`: the host side of the plugin ABI in include/actiond/plugin.h.
 * The kind itself is reached through handler.h (act_handler_find("native"));
 * this header adds the process-wide knobs and the version check, which the
 * daemon wiring and the tests call directly.
 */
#ifndef ACT_HANDLER_HANDLER_NATIVE_H
#define ACT_HANDLER_HANDLER_NATIVE_H

#include "base/err.h"

#include <stdint.h>

/* Decide whether a plugin built for ABI major.minor can be loaded by this
 * host: the major must equal ACT_PLUGIN_ABI_MAJOR and the minor must not be
 * higher than ACT_PLUGIN_ABI_MINOR.  On refusal returns ACT_EUNPROC with a
 * message naming both versions ("plugin ABI 2.0 is incompatible with host ABI
 * 1.0 ..."); ACT_OK otherwise.  thread: any */
int act_native_check_abi(uint32_t major, uint32_t minor, struct act_err *err);

/* Set the plugins directory (config `plugins.dir`).  When non-empty, a
 * relative handler.path is resolved against it, and every plugin path,
 * after resolving symlinks, must lie inside it.  When empty (the default),
 * relative paths resolve against the working directory and any path is
 * allowed.  `dir` is copied; over-long values are refused with ACT_EINVAL.
 * thread: init (before any action is validated or opened) */
int act_native_set_plugins_dir(const char *dir, struct act_err *err);

/* dlclose every loaded plugin that no open action uses, and forget it.
 * Plugins stay loaded for the life of the process otherwise; call this at
 * shutdown, after every native state was closed.  thread: init */
void act_native_unload_all(void);

#endif
