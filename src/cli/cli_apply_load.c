/*
 * actionctl apply: reading the definition files into a plan (cli_apply.h).
 *
 * Accepted shapes, the first being the one of the files in examples/actions:
 *
 *   {"action": {...POST /v1/actions body...}, "subscriptions": [{...}, ...]}
 *   {"action": {...}, "subscribe": {...}}          one subscription (bootstrap form)
 *   {"actions": [ <either of the above>, ... ]}    several (examples/bootstrap/actions.json)
 *
 * "comment" may appear at the top and in entries and is ignored (and not
 * expanded); any other
 * unknown member is refused, so a misspelt "subscription" never silently
 * loads an action that nothing triggers.  Subscriptions must not carry
 * action_id (apply fills it in).  Files are parsed with duplicate keys
 * refused, then ${VAR} references are expanded (cli_apply_expand), then the
 * shape is checked.  Every message starts with the file's path and, in a
 * list, the entry's index: "examples/x.json: actions[2]: ...".
 */
#include "base/alloc.h"
#include "cli/cli.h"
#include "cli/cli_apply.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- ${VAR} expansion ---- */

struct sbuf {
    char *p;
    size_t len, cap;
};

static void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap)
            b->cap = b->cap ? b->cap * 2 : 64;
        b->p = act_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* One "${...}" at p (p[0..1] == "${"); appends its value, returns the
 * length consumed or 0 after writing why[]. */
static size_t expand_ref(const char *p, struct sbuf *b, char *why, size_t why_len)
{
    const char *name = p + 2, *q, *def = NULL, *end, *val;
    size_t nl = 0, dl = 0;
    char *var;

    if (isalpha((unsigned char)name[0]) || name[0] == '_')
        while (isalnum((unsigned char)name[nl]) || name[nl] == '_')
            nl++;
    q = name + nl;
    if (nl > 0 && q[0] == ':' && q[1] == '-') {
        def = q + 2;
        if (!(end = strchr(def, '}'))) {
            snprintf(why, why_len, "'${%.*s:-' has no closing '}'", (int)nl, name);
            return 0;
        }
        dl = (size_t)(end - def);
        q = end;
    }
    if (nl == 0 || *q != '}') {
        snprintf(why, why_len,
                 "bad variable reference '%.20s': write ${NAME} or ${NAME:-default} "
                 "(NAME of letters, digits and _), or $${ for a literal ${",
                 p);
        return 0;
    }
    var = act_xstrndup(name, nl);
    val = getenv(var);
    if (val && *val)
        sbuf_add(b, val, strlen(val));
    else if (def)
        sbuf_add(b, def, dl);
    else if (!val) {
        snprintf(why, why_len, "${%s} is not set (set it, or give a default: ${%s:-value})", var,
                 var);
        act_free(var);
        return 0;
    }
    act_free(var);
    return (size_t)(q + 1 - p);
}

/* The expansion of s, or NULL (why[] filled) on error.  act_free it. */
static char *expand_text(const char *s, char *why, size_t why_len)
{
    struct sbuf b = {0};
    const char *p = s;

    sbuf_add(&b, "", 0);
    while (*p) {
        const char *d = strchr(p, '$');
        size_t used;

        if (!d) {
            sbuf_add(&b, p, strlen(p));
            break;
        }
        sbuf_add(&b, p, (size_t)(d - p));
        if (d[1] == '$' && d[2] == '{') {
            sbuf_add(&b, "${", 2);
            p = d + 3;
        } else if (d[1] == '{') {
            if (!(used = expand_ref(d, &b, why, why_len))) {
                act_free(b.p);
                return NULL;
            }
            p = d + used;
        } else {
            sbuf_add(&b, "$", 1);
            p = d + 1;
        }
    }
    return b.p;
}

int cli_apply_expand(json_t *doc, char *why, size_t why_len)
{
    const char *key;
    json_t *v;
    size_t i;

    if (json_is_string(doc)) {
        const char *s = json_string_value(doc);
        char *out;
        int rc = 0;

        if (!strchr(s, '$'))
            return 0;
        if (!(out = expand_text(s, why, why_len)))
            return -1;
        if (strcmp(out, s) != 0 && json_string_set(doc, out) < 0) {
            snprintf(why, why_len, "the value of '%.40s' is not valid UTF-8", s);
            rc = -1;
        }
        act_free(out);
        return rc;
    }
    if (json_is_object(doc)) {
        json_object_foreach(doc, key, v)
            if (cli_apply_expand(v, why, why_len) < 0)
                return -1;
    } else if (json_is_array(doc)) {
        json_array_foreach(doc, i, v)
            if (cli_apply_expand(v, why, why_len) < 0)
                return -1;
    }
    return 0;
}

/* ---- shape checks ---- */

static int bad(const char *file, const char *where, const char *what)
{
    return cli_fail(CLI_EXIT_API, "%s: %s%s%s", file, where, *where ? ": " : "", what);
}

static bool only_keys(const json_t *obj, const char *const *allowed, const char **unknown)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)obj, key, v) {
        const char *const *a = allowed;
        (void)v;
        while (*a && strcmp(*a, key) != 0)
            a++;
        if (!*a) {
            *unknown = key;
            return false;
        }
    }
    return true;
}

static void plan_push(struct cli_apply_plan *pl, const char *file, json_t *action, json_t *subs)
{
    if (pl->n == pl->cap) {
        pl->cap = pl->cap ? pl->cap * 2 : 16;
        pl->v = act_xrealloc(pl->v, pl->cap * sizeof(*pl->v));
    }
    pl->v[pl->n].file = act_xstrdup(file);
    pl->v[pl->n].action = json_incref(action);
    pl->v[pl->n].subs = subs;
    pl->n++;
}

/* One entry object; `where` is "" or "actions[i]". */
static int add_entry(struct cli_apply_plan *pl, const char *file, const char *where, json_t *e)
{
    static const char *const keys[] = {"action", "subscriptions", "subscribe", "comment", NULL};
    json_t *action, *list, *one, *subs, *s;
    const char *unknown = NULL;
    char msg[256];
    size_t i;

    if (!json_is_object(e))
        return bad(file, where,
                   "an entry must be an object {\"action\": ..., \"subscriptions\": [...]}");
    if (!only_keys(e, keys, &unknown)) {
        snprintf(msg, sizeof(msg),
                 "unknown member '%.60s' (expected action, subscriptions, subscribe, comment)",
                 unknown);
        return bad(file, where, msg);
    }
    action = json_object_get(e, "action");
    if (!json_is_object(action))
        return bad(file, where, "'action' must be an object (the body of POST /v1/actions)");
    if (!json_is_string(json_object_get(action, "name")) ||
        !*json_string_value(json_object_get(action, "name")))
        return bad(file, where,
                   "action.name must be a non-empty string (apply finds actions by name)");
    list = json_object_get(e, "subscriptions");
    one = json_object_get(e, "subscribe");
    if (list && one)
        return bad(file, where, "give 'subscriptions' (a list) or 'subscribe' (one), not both");
    if (list && !json_is_array(list))
        return bad(file, where, "'subscriptions' must be an array of objects");
    if (list && json_array_size(list) > CLI_APPLY_MAX_SUBS) {
        snprintf(msg, sizeof(msg), "more than %d subscriptions for one action", CLI_APPLY_MAX_SUBS);
        return bad(file, where, msg);
    }
    subs = json_array();
    if (one)
        json_array_append(subs, one);
    else if (list)
        json_array_extend(subs, list);
    json_array_foreach(subs, i, s) {
        if (!json_is_object(s) || json_object_get(s, "action_id")) {
            snprintf(msg, sizeof(msg),
                     "subscription %zu must be an object without action_id (apply sets it)", i);
            json_decref(subs);
            return bad(file, where, msg);
        }
    }
    for (i = 0; i < pl->n; i++) {
        if (json_equal(json_object_get(pl->v[i].action, "name"), json_object_get(action, "name"))) {
            snprintf(msg, sizeof(msg), "action '%.80s' is also defined in %.120s",
                     json_string_value(json_object_get(action, "name")), pl->v[i].file);
            json_decref(subs);
            return bad(file, where, msg);
        }
    }
    plan_push(pl, file, action, subs);
    return 0;
}

/* Comments are documentation: never expanded (they may mention ${VAR}). */
static void drop_comments(json_t *doc)
{
    json_t *e;
    size_t i;

    json_object_del(doc, "comment");
    json_array_foreach(json_object_get(doc, "actions"), i, e)
        if (json_is_object(e))
            json_object_del(e, "comment");
}

static int load_file(struct cli_apply_plan *pl, const char *file)
{
    static const char *const top_keys[] = {"actions", "comment", NULL};
    const char *unknown = NULL;
    json_error_t je;
    json_t *doc, *list, *e;
    char why[512], where[32];
    int rc = 0;
    size_t i;

    if (!(doc = json_load_file(file, JSON_REJECT_DUPLICATES, &je))) {
        if (je.line > 0)
            return cli_fail(CLI_EXIT_API, "%s: invalid JSON at line %d, column %d: %s", file,
                            je.line, je.column, je.text);
        return cli_fail(CLI_EXIT_API, "%s: %s", file, je.text);
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        return bad(file, "", "the document must be an object");
    }
    drop_comments(doc);
    list = json_object_get(doc, "actions");
    if (cli_apply_expand(doc, why, sizeof(why)) < 0) {
        rc = bad(file, "", why);
    } else if (!list) {
        rc = add_entry(pl, file, "", doc);
    } else if (!only_keys(doc, top_keys, &unknown)) {
        snprintf(why, sizeof(why), "unknown member '%.60s' next to 'actions'", unknown);
        rc = bad(file, "", why);
    } else if (!json_is_array(list) || json_array_size(list) == 0 ||
               json_array_size(list) > CLI_APPLY_MAX_ENTRIES) {
        snprintf(why, sizeof(why), "'actions' must be an array of 1 to %d entries",
                 CLI_APPLY_MAX_ENTRIES);
        rc = bad(file, "", why);
    } else {
        json_array_foreach(list, i, e) {
            snprintf(where, sizeof(where), "actions[%zu]", i);
            if ((rc = add_entry(pl, file, where, e)) != 0)
                break;
        }
    }
    json_decref(doc);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_json_name(const char *n)
{
    size_t len = strlen(n);

    return n[0] != '.' && len > 5 && strcmp(n + len - 5, ".json") == 0;
}

/* The *.json regular files directly in `dir`, sorted; NULL-terminated. */
static int list_dir(const char *dir, char ***out, size_t *n_out)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    size_t dir_len = strlen(dir);
    struct stat st;

    while (dir_len > 1 && dir[dir_len - 1] == '/')
        dir_len--; /* "examples/actions/" lists as examples/actions/x.json */
    if (!d)
        return cli_fail(CLI_EXIT_API, "%s: %s", dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        char *path;

        if (!is_json_name(de->d_name))
            continue;
        path = act_xasprintf("%.*s/%s", (int)dir_len, dir, de->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || n >= CLI_APPLY_MAX_FILES) {
            bool too_many = n >= CLI_APPLY_MAX_FILES;
            act_free(path);
            if (!too_many)
                continue;
            closedir(d);
            for (size_t i = 0; i < n; i++)
                act_free(names[i]);
            act_free(names);
            return cli_fail(CLI_EXIT_API, "%s: more than %d *.json files", dir,
                            CLI_APPLY_MAX_FILES);
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            names = act_xrealloc(names, cap * sizeof(*names));
        }
        names[n++] = path;
    }
    closedir(d);
    if (n == 0) {
        act_free(names);
        return cli_fail(CLI_EXIT_API, "%s: no *.json files in this directory", dir);
    }
    qsort(names, n, sizeof(*names), by_name);
    *out = names;
    *n_out = n;
    return 0;
}

int cli_apply_load(const char *const *paths, size_t n_paths, struct cli_apply_plan *plan)
{
    struct stat st;
    int rc = 0;

    for (size_t i = 0; i < n_paths && rc == 0; i++) {
        char **files = NULL;
        size_t n = 0;

        if (stat(paths[i], &st) != 0)
            return cli_fail(CLI_EXIT_API, "%s: %s", paths[i], strerror(errno));
        if (!S_ISDIR(st.st_mode)) {
            rc = load_file(plan, paths[i]);
            continue;
        }
        if ((rc = list_dir(paths[i], &files, &n)) != 0)
            return rc;
        for (size_t k = 0; k < n; k++) {
            if (rc == 0)
                rc = load_file(plan, files[k]);
            act_free(files[k]);
        }
        act_free(files);
    }
    return rc;
}

void cli_apply_plan_free(struct cli_apply_plan *plan)
{
    for (size_t i = 0; i < plan->n; i++) {
        act_free(plan->v[i].file);
        json_decref(plan->v[i].action);
        json_decref(plan->v[i].subs);
    }
    act_free(plan->v);
    memset(plan, 0, sizeof(*plan));
}
