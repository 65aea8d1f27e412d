/*
 * Kinds `javascript` (Node.js) and `python`: presets of the command family
 * that run a function of a handler module with the JSON contract.
 *
 *   {"kind": "javascript", "module": "handlers/pay.mjs", "function"?: "handler",
 *    "runtime"?: "/abs/node", "timeout_ms"?, "env"?, "cwd"?, "max_output_bytes"?,
 *    "seccomp"?}
 *   {"kind": "python", "module": "handlers/pay.py", ...the same members}
 *
 * Every attempt runs the interpreter on a small runner program embedded
 * below as a C string (`node --input-type=module -e <runner> -- MODULE FN`,
 * `python3 -I -B -c <runner> MODULE FN`), so nothing has to be found on disk
 * at run time but the interpreter and the module.  The runner reads the
 * request {input, event, config, execution} from stdin, imports the module,
 * calls (and awaits) FN(input, {event, config, execution}) and writes the
 * JSON of the return value to stdout; anything the module prints goes to
 * stderr.  An exception exits 70 (64 when it carries `permanent: true`, 75
 * with a retry_after_ms document when it carries `retry_after_ms`) after a
 * line "actiond-handler-error: <one-line summary>" on stderr, which becomes
 * the attempt's error (struct act_cmd.error_mark).
 *
 * Validation resolves the module (relative to handler.cwd, else the
 * daemon's working directory) and the interpreter (handler.runtime, else
 * node/nodejs or python3 on the child's PATH), so a missing file is a 422 at
 * action creation; open() resolves both again and keeps absolute paths.
 * The state is a struct act_cmd, immutable after open.
 */
#include "base/alloc.h"
#include "handler/handler_command.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUNCTION_MAX 128
#define MARK "actiond-handler-error: "

/* The runners.  Kept short: they travel as one argv string per attempt. */

static const char node_runner[] =
    "import { pathToFileURL } from 'node:url';\n"
    "const MARK = 'actiond-handler-error: ';\n"
    "const [, modPath, fnName] = process.argv;\n"
    "const out = process.stdout.write.bind(process.stdout);\n"
    "process.stdout.write = process.stderr.write.bind(process.stderr);\n"
    "const line = (s) => String(s).replace(/\\s+/g, ' ').trim();\n"
    "function summary(e, where) {\n"
    "  if (e instanceof Error) {\n"
    "    const at = String(e.stack || '').split('\\n').find((l) => /^\\s+at /.test(l));\n"
    "    return line(`${e.name}: ${e.message}`) + (at && where ? ` (${at.trim()})` : '');\n"
    "  }\n"
    "  let s;\n"
    "  try { s = JSON.stringify(e); } catch { s = undefined; }\n"
    "  return 'thrown: ' + line(typeof e === 'string' ? e : s ?? String(e));\n"
    "}\n"
    "function fail(e, what = '') {\n"
    "  let code = 70;\n"
    "  if (e && e.permanent === true) code = 64;\n"
    "  else if (e && Number.isSafeInteger(e.retry_after_ms) && e.retry_after_ms >= 0) {\n"
    "    out(JSON.stringify({ retry_after_ms: e.retry_after_ms }) + '\\n');\n"
    "    code = 75;\n"
    "  }\n"
    "  const stack = e instanceof Error && e.stack\n"
    "    ? String(e.stack).split('\\n').slice(0, 8).join('\\n') : '';\n"
    "  const head = stack ? stack + '\\n' : '';\n"
    "  process.stderr.write(head + MARK + what + summary(e, !what) + '\\n');\n"
    "  process.exit(code);\n"
    "}\n"
    "const chunks = [];\n"
    "for await (const c of process.stdin) chunks.push(c);\n"
    "let req, mod;\n"
    "try {\n"
    "  req = JSON.parse(Buffer.concat(chunks).toString('utf8'));\n"
    "  mod = await import(pathToFileURL(modPath).href);\n"
    "} catch (e) { fail(e); }\n"
    "let fn = mod[fnName];\n"
    "const dflt = mod.default;\n"
    "if (typeof fn !== 'function' && dflt != null && typeof dflt[fnName] === 'function')\n"
    "  fn = dflt[fnName].bind(dflt);\n"
    "if (typeof fn !== 'function') {\n"
    "  process.stderr.write(`${MARK}module ${modPath} exports no function '${fnName}'\\n`);\n"
    "  process.exit(64);\n"
    "}\n"
    "let r, text;\n"
    "try {\n"
    "  const ctx = { event: req.event, config: req.config, execution: req.execution };\n"
    "  r = await fn(req.input, ctx);\n"
    "} catch (e) { fail(e); }\n"
    "try {\n"
    "  text = r === undefined ? undefined : JSON.stringify(r);\n"
    "} catch (e) { fail(e, 'handler returned a value that is not JSON: '); }\n"
    "out((text ?? '') + '\\n', () => process.exit(0));\n";

static const char python_runner[] =
    "import importlib.util, json, os, sys  # the rest only when needed: startup time counts\n"
    "MARK = 'actiond-handler-error: '\n"
    "path, name = sys.argv[1], sys.argv[2]\n"
    "out = os.fdopen(os.dup(1), 'w', encoding='utf-8')\n"
    "os.dup2(2, 1)\n"
    "sys.stdout = sys.stderr\n"
    "\n"
    "\n"
    "def summary(e, where):\n"
    "    import traceback\n"
    "    s = ' '.join(f'{type(e).__name__}: {e}'.split())\n"
    "    tb = traceback.extract_tb(e.__traceback__)\n"
    "    tb = [f for f in tb if not f.filename.startswith('<')]\n"
    "    if where and tb and not isinstance(e, SyntaxError):\n"
    "        s += f' (at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno} in {tb[-1].name})'\n"
    "    return s\n"
    "\n"
    "\n"
    "def fail(e, what=''):\n"
    "    code, ra = 70, getattr(e, 'retry_after_ms', None)\n"
    "    if getattr(e, 'permanent', False) is True:\n"
    "        code = 64\n"
    "    elif type(ra) is int and ra >= 0:\n"
    "        out.write(json.dumps({'retry_after_ms': ra}) + '\\n')\n"
    "        code = 75\n"
    "    out.flush()\n"
    "    import traceback\n"
    "    tb = traceback.format_exception(type(e), e, e.__traceback__)\n"
    "    sys.stderr.write(''.join(tb)[-4000:])\n"
    "    sys.stderr.write('\\n' + MARK + what + summary(e, not what) + '\\n')\n"
    "    sys.stderr.flush()\n"
    "    os._exit(code)\n"
    "\n"
    "\n"
    "try:\n"
    "    req = json.loads(sys.stdin.buffer.read())\n"
    "    sys.path.insert(0, os.path.dirname(path))\n"
    "    spec = importlib.util.spec_from_file_location('actiond_handler', path)\n"
    "    mod = importlib.util.module_from_spec(spec)\n"
    "    sys.modules['actiond_handler'] = mod\n"
    "    spec.loader.exec_module(mod)\n"
    "except Exception as e:\n"
    "    fail(e)\n"
    "fn = getattr(mod, name, None)\n"
    "if not callable(fn):\n"
    "    sys.stderr.write(f'{MARK}module {path} has no function {name!r}\\n')\n"
    "    sys.stderr.flush()\n"
    "    os._exit(64)\n"
    "try:\n"
    "    r = fn(req['input'], {'event': req['event'], 'config': req['config'],\n"
    "                          'execution': req['execution']})\n"
    "    if hasattr(r, '__await__'):\n"
    "        import asyncio\n"
    "\n"
    "        async def wait(a):\n"
    "            return await a\n"
    "        r = asyncio.run(wait(r))\n"
    "except Exception as e:\n"
    "    fail(e)\n"
    "try:\n"
    "    text = '' if r is None else json.dumps(r, allow_nan=False)\n"
    "except Exception as e:\n"
    "    fail(e, 'handler returned a value that is not JSON: ')\n"
    "out.write(text + '\\n')\n"
    "out.flush()\n"
    "sys.stderr.flush()\n"
    "os._exit(0)\n";

struct runtime {
    const char *kind;
    const char *const *interps; /* looked up on the child's PATH, in order */
    const char *const *exts;    /* accepted module file name endings */
    const char *exts_text;      /* the same, for messages */
    bool dollar;                /* '$' allowed in function names */
};

static const char *const js_interps[] = {"node", "nodejs", NULL};
static const char *const js_exts[] = {".mjs", ".js", ".cjs", NULL};
static const char *const py_interps[] = {"python3", NULL};
static const char *const py_exts[] = {".py", NULL};

static const struct runtime rt_js = {"javascript", js_interps, js_exts, ".mjs, .js or .cjs", true};
static const struct runtime rt_py = {"python", py_interps, py_exts, ".py", false};

char **act_runtime_argv(const char *kind, const char *interp, const char *module,
                        const char *function)
{
    char **v = act_xcalloc(8, sizeof(*v));
    size_t n = 0;

    if (strcmp(kind, rt_js.kind) == 0) {
        v[n++] = act_xstrdup(interp);
        v[n++] = act_xstrdup("--input-type=module");
        v[n++] = act_xstrdup("-e");
        v[n++] = act_xstrdup(node_runner);
        v[n++] = act_xstrdup("--");
    } else if (strcmp(kind, rt_py.kind) == 0) {
        v[n++] = act_xstrdup(interp);
        v[n++] = act_xstrdup("-I"); /* no PYTHON* variables, user site or cwd on sys.path */
        v[n++] = act_xstrdup("-B"); /* no __pycache__ written next to the module */
        v[n++] = act_xstrdup("-c");
        v[n++] = act_xstrdup(python_runner);
    } else {
        act_free(v);
        return NULL;
    }
    v[n++] = act_xstrdup(module);
    v[n++] = act_xstrdup(function);
    return v;
}

/* ---- validation ---- */

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a > b && strcmp(s + a - b, suffix) == 0;
}

/* The module's absolute, symlink-free path into buf (PATH_MAX bytes). */
static int resolve_module(const struct runtime *rt, const json_t *handler, char *buf,
                          struct act_err *err)
{
    const json_t *m = json_object_get(handler, "module");
    const json_t *cwd = json_object_get(handler, "cwd");
    const char *name;
    bool ext_ok = false;
    struct stat st;
    char *joined;
    int rc;

    if (!m)
        return act_err_field(err, ACT_EUNPROC, "handler.module", "module is required");
    if ((rc = act_cmd_check_text(m, "handler.module", "module", ACT_CMD_PATH_MAX, err)) < 0)
        return rc;
    name = json_string_value(m);
    for (const char *const *e = rt->exts; *e; e++)
        ext_ok = ext_ok || ends_with(name, *e);
    if (!ext_ok)
        return act_err_field(err, ACT_EUNPROC, "handler.module",
                             "module '%.200s' must be a file ending in %s", name, rt->exts_text);
    /* Relative to handler.cwd when set (where the process runs), else to
     * the daemon's working directory. */
    if (name[0] != '/' && json_is_string(cwd))
        joined = act_xasprintf("%s/%s", json_string_value(cwd), name);
    else
        joined = act_xstrdup(name);
    if (!realpath(joined, buf)) {
        int e = errno;

        act_free(joined);
        return act_err_field(err, ACT_EUNPROC, "handler.module", "module '%.200s' not found: %s",
                             name, strerrordesc_np(e));
    }
    act_free(joined);
    if (stat(buf, &st) < 0 || !S_ISREG(st.st_mode))
        return act_err_field(err, ACT_EUNPROC, "handler.module",
                             "module '%.200s' is not a regular file", name);
    if (access(buf, R_OK) < 0)
        return act_err_field(err, ACT_EUNPROC, "handler.module",
                             "module '%.200s' is not readable: %s", name, strerrordesc_np(errno));
    return ACT_OK;
}

static int check_function(const struct runtime *rt, const json_t *f, struct act_err *err)
{
    const char *s;

    if (!f)
        return ACT_OK;
    if (!json_is_string(f) || json_string_length(f) == 0 ||
        json_string_length(f) > FUNCTION_MAX)
        return act_err_field(err, ACT_EUNPROC, "handler.function",
                             "function must be a name of 1..%d characters", FUNCTION_MAX);
    s = json_string_value(f);
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = c == '_' || (rt->dollar && c == '$') || isalpha(c) || (i > 0 && isdigit(c));

        if (!ok || c > 0x7f)
            return act_err_field(err, ACT_EUNPROC, "handler.function",
                                 "function '%.128s' is not an identifier", s);
    }
    return ACT_OK;
}

/* The interpreter's absolute path (new string) into *out. */
static int find_interp(const struct runtime *rt, const json_t *handler, char **out,
                       struct act_err *err)
{
    const json_t *r = json_object_get(handler, "runtime");
    const json_t *env_path = json_object_get(json_object_get(handler, "env"), "PATH");
    const char *path = getenv("PATH");
    char *envp[2] = {NULL, NULL};
    struct stat st;
    int rc;

    *out = NULL;
    if (r) {
        if ((rc = act_cmd_check_text(r, "handler.runtime", "runtime", ACT_CMD_PATH_MAX, err)) < 0)
            return rc;
        if (json_string_value(r)[0] != '/')
            return act_err_field(err, ACT_EUNPROC, "handler.runtime",
                                 "runtime must be an absolute path");
        if (stat(json_string_value(r), &st) < 0 || !S_ISREG(st.st_mode) ||
            access(json_string_value(r), X_OK) < 0)
            return act_err_field(err, ACT_EUNPROC, "handler.runtime",
                                 "runtime '%.200s' is not an executable file",
                                 json_string_value(r));
        *out = act_xstrdup(json_string_value(r));
        return ACT_OK;
    }
    /* The same PATH the child will get (handler.env.PATH, else the
     * daemon's, else the default of act_cmd_exec_paths). */
    if (json_is_string(env_path))
        path = json_string_value(env_path);
    if (path)
        envp[0] = act_xasprintf("PATH=%s", path);
    for (const char *const *name = rt->interps; *name && !*out; name++)
        *out = act_cmd_which(*name, envp);
    act_free(envp[0]);
    if (!*out)
        return act_err_field(err, ACT_EUNPROC, "handler.runtime",
                             "no %s interpreter found on PATH (%s); set handler.runtime",
                             rt->interps[0], path ? path : "default");
    return ACT_OK;
}

/* Everything validate() checks; fills the module's resolved path into
 * `module` (PATH_MAX bytes) and the interpreter's into *interp. */
static int rt_check(const struct runtime *rt, const json_t *handler, char *module, char **interp,
                    struct act_err *err)
{
    static const char *const members[] = {"module",  "function",   "runtime",
                                          "env",     "cwd",        "max_output_bytes",
                                          "seccomp", "timeout_ms", NULL};
    int rc;

    *interp = NULL;
    if ((rc = act_handler_check_members(handler, members, err)) < 0 ||
        (rc = act_cmd_validate_common(handler, ACT_CMD_SECCOMP, err)) < 0 ||
        (rc = resolve_module(rt, handler, module, err)) < 0 ||
        (rc = check_function(rt, json_object_get(handler, "function"), err)) < 0)
        return rc;
    return find_interp(rt, handler, interp, err);
}

static int rt_validate(const struct runtime *rt, const json_t *handler, struct act_err *err)
{
    char module[PATH_MAX], *interp;
    int rc = rt_check(rt, handler, module, &interp, err);

    act_free(interp);
    return rc;
}

/* ---- state ---- */

static void rt_close(void *state)
{
    struct act_cmd *c = state;

    if (!c)
        return;
    act_cmd_release(c);
    act_free(c);
}

static int rt_open(const struct runtime *rt, const json_t *handler, void **state,
                   struct act_err *err)
{
    const json_t *f = json_object_get(handler, "function");
    char module[PATH_MAX], *interp = NULL;
    struct act_cmd *c;
    int rc;

    *state = NULL;
    if ((rc = rt_check(rt, handler, module, &interp, err)) < 0)
        return rc;
    c = act_xcalloc(1, sizeof(*c));
    if ((rc = act_cmd_open_common(handler, ACT_CMD_SECCOMP, NULL, c, err)) < 0) {
        act_free(interp);
        act_free(c);
        return rc;
    }
    c->argv = act_runtime_argv(rt->kind, interp, module, f ? json_string_value(f) : "handler");
    c->exec_paths = act_xcalloc(2, sizeof(*c->exec_paths));
    c->exec_paths[0] = interp;
    c->error_mark = MARK;
    *state = c;
    return ACT_OK;
}

/* ---- one attempt ---- */

static void add_str(struct act_buf *b, const char *s)
{
    json_t *j = s ? json_string(s) : NULL; /* NULL also for invalid UTF-8 */

    act_buf_json(b, j);
    json_decref(j);
}

/* {"input", "event", "config", "execution": {"id", "root_id", "attempt",
 * "action"}} and a newline. */
static char *request_doc(const struct act_handler_call *call, size_t *len)
{
    struct act_buf b = {0};
    char num[48];

    act_buf_add(&b, "{\"input\":", 9);
    act_buf_json(&b, call->input);
    act_buf_add(&b, ",\"event\":", 9);
    act_buf_json(&b, call->event);
    act_buf_add(&b, ",\"config\":", 10);
    if (call->config)
        act_buf_json(&b, call->config);
    else
        act_buf_add(&b, "{}", 2);
    act_buf_add(&b, ",\"execution\":{\"id\":", 19);
    add_str(&b, call->execution_id);
    act_buf_add(&b, ",\"root_id\":", 11);
    add_str(&b, call->root_id ? call->root_id : call->execution_id);
    snprintf(num, sizeof(num), ",\"attempt\":%d,\"action\":", call->attempt);
    act_buf_add(&b, num, strlen(num));
    add_str(&b, call->action_name);
    act_buf_add(&b, "}}\n", 3);
    *len = b.len;
    return b.p;
}

static int rt_execute(void *state, const struct act_handler_call *call,
                      struct act_handler_result *res)
{
    size_t len;
    char *doc = request_doc(call, &len);
    int rc = act_cmd_run(state, call, NULL, doc, len, res);

    act_free(doc);
    return rc;
}

/* ---- the two ops tables ---- */

static int js_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    (void)config;
    return rt_validate(&rt_js, handler, err);
}

static int js_open(const json_t *handler, const json_t *config, void **state,
                   struct act_err *err)
{
    (void)config;
    return rt_open(&rt_js, handler, state, err);
}

static int py_validate(const json_t *handler, const json_t *config, struct act_err *err)
{
    (void)config;
    return rt_validate(&rt_py, handler, err);
}

static int py_open(const json_t *handler, const json_t *config, void **state,
                   struct act_err *err)
{
    (void)config;
    return rt_open(&rt_py, handler, state, err);
}

#define RT_CAPS "[\"sync\",\"timeout\",\"isolated\",\"json_stdio\",\"retry_after\",\"seccomp\"]"
#define RT_SCHEMA(KIND, EXT, FN_PATTERN, INTERP)                                                  \
    "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","                              \
    "\"type\":\"object\",\"required\":[\"kind\",\"module\"],\"additionalProperties\":false,"      \
    "\"properties\":{"                                                                            \
    "\"kind\":{\"const\":\"" KIND "\"},"                                                          \
    "\"module\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096,"                         \
    "\"description\":\"handler module (" EXT "), absolute or relative to cwd (else the "          \
    "daemon's working directory); must exist when the action is created\"},"                      \
    "\"function\":{\"type\":\"string\",\"pattern\":\"" FN_PATTERN "\",\"maxLength\":128,"        \
    "\"default\":\"handler\",\"description\":\"called as function(input, {event, config, "        \
    "execution}); its (awaited) return value is the output\"},"                                   \
    "\"runtime\":{\"type\":\"string\",\"description\":\"absolute path of the interpreter "        \
    "(default: " INTERP " on PATH)\"},"                                                           \
    "\"env\":{\"type\":\"object\",\"maxProperties\":256,"                                         \
    "\"propertyNames\":{\"pattern\":\"^[A-Za-z_][A-Za-z0-9_]*$\"},"                               \
    "\"additionalProperties\":{\"type\":\"string\"}},"                                            \
    "\"cwd\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096},"                           \
    "\"max_output_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":67108864,"              \
    "\"default\":1048576},"                                                                       \
    "\"timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":86400000},"                   \
    "\"seccomp\":{\"enum\":[\"default\",\"no_network\",\"none\"],\"default\":\"default\"}}}"

const struct act_handler_ops act_handler_javascript_ops = {
    .kind = "javascript",
    .capabilities = RT_CAPS,
    .schema = RT_SCHEMA("javascript", ".mjs, .js or .cjs", "^[A-Za-z_$][A-Za-z0-9_$]*$",
                        "node or nodejs"),
    .validate = js_validate,
    .open = js_open,
    .execute = rt_execute,
    .close = rt_close,
};

const struct act_handler_ops act_handler_python_ops = {
    .kind = "python",
    .capabilities = RT_CAPS,
    .schema = RT_SCHEMA("python", ".py", "^[A-Za-z_][A-Za-z0-9_]*$", "python3"),
    .validate = py_validate,
    .open = py_open,
    .execute = rt_execute,
    .close = rt_close,
};
