/*
 * actionctl apply [--prune] PATH...: make the daemon hold the actions and
 * subscriptions of definition files (docs/cli.md, docs/examples.md).
 *
 * The files are loaded and checked first (cli_apply_load.c); then, entry
 * by entry, in order:
 *  1. the action is looked up by its exact name (GET /v1/actions?q=NAME,
 *     every page; q matches substrings, so the name is compared here);
 *  2. missing: POST /v1/actions.  Present: PUT /v1/actions/{id} with the
 *     file's body, a full replacement (a member the file leaves out returns
 *     to its default).  "unchanged" when the stored document is the same
 *     before and after except updated_at and health.  Secrets read back as
 *     "***", so a changed secret alone shows as "unchanged" although the
 *     new value was written;
 *  3. its subscriptions are listed; each one of the file that has no equal
 *     there is created (POST /v1/subscriptions).  Equal: every member the
 *     file gives has the same value, and conditions/priority/enabled that
 *     it leaves out hold their defaults.  Each stored subscription matches
 *     at most one of the file's, so the file's list is reproduced exactly,
 *     duplicates included.  With --prune, stored subscriptions of the
 *     action that matched none are deleted; without it they are kept.
 * Running it twice therefore changes nothing the second time.  One line per
 * action on stdout (with --json, one JSON array at the end).  The first
 * failure stops the run: cli_call prints the server's problem, then one
 * line names the file and the action; what came before stays applied.
 * There is no --dry-run: the API has no validate-only request.
 *
 * Main thread only.
 */
#include "base/alloc.h"
#include "cli/cli.h"
#include "cli/cli_apply.h"

#include <stdio.h>
#include <string.h>

#define MAX_PATHS 64
#define PAGE "1000"
#define MAX_PAGES 1000 /* a server that keeps answering a cursor cannot loop us forever */
#define MAX_Q 256      /* the API's limit for ?q= */

struct counts {
    size_t created, unchanged, removed;
};

/* Every item of a v1 list at `base` (a path with a query, no cursor)
 * appended to `items`. */
static int list_all(const struct cli *c, const char *base, json_t *items)
{
    char *cursor = NULL;
    int rc = 0;

    for (int page = 0; page < MAX_PAGES; page++) {
        char *esc = cursor ? cli_escape(cursor) : NULL;
        char *url = act_xasprintf("%s%s%s", base, esc ? "&cursor=" : "", esc ? esc : "");
        struct cli_reply r;
        const json_t *next;

        rc = cli_call(c, "GET", url, NULL, &r);
        act_free(url);
        act_free(esc);
        act_free(cursor);
        cursor = NULL;
        if (rc == 0 && !json_is_array(json_object_get(r.json, "items")))
            rc = cli_fail(CLI_EXIT_API, "GET %s: the reply has no items list", base);
        if (rc == 0) {
            json_array_extend(items, json_object_get(r.json, "items"));
            next = json_object_get(r.json, "next_cursor");
            if (json_is_string(next) && *json_string_value(next))
                cursor = act_xstrdup(json_string_value(next));
        }
        cli_reply_release(&r);
        if (rc != 0 || !cursor)
            return rc;
    }
    act_free(cursor);
    return cli_fail(CLI_EXIT_API, "GET %s: more than %d pages", base, MAX_PAGES);
}

/* The stored action named `name` (*found = NULL when there is none). */
static int find_action(const struct cli *c, const char *name, json_t **found)
{
    const char *pairs[] = {"limit", PAGE, "q", strlen(name) <= MAX_Q ? name : NULL};
    char *base = cli_with_query("/v1/actions", pairs, 2);
    json_t *items = json_array(), *a;
    size_t i;
    int rc = list_all(c, base, items);

    *found = NULL;
    json_array_foreach(items, i, a) {
        const json_t *n = json_object_get(a, "name");
        if (rc == 0 && json_is_string(n) && strcmp(json_string_value(n), name) == 0) {
            *found = json_incref(a);
            break;
        }
    }
    json_decref(items);
    act_free(base);
    return rc;
}

/* The stored document without the members every write changes. */
static json_t *comparable(const json_t *doc)
{
    json_t *copy = json_deep_copy(doc);

    json_object_del(copy, "updated_at");
    json_object_del(copy, "health");
    return copy;
}

static int put_action(const struct cli *c, const json_t *before, const json_t *body,
                      json_t **after, bool *changed)
{
    const json_t *id = json_object_get(before, "id");
    char *esc = cli_escape(json_is_string(id) ? json_string_value(id) : "");
    char *path = act_xasprintf("/v1/actions/%s", esc);
    struct cli_reply r;
    int rc = cli_call(c, "PUT", path, body, &r);

    if (rc == 0 && json_is_object(r.json)) {
        json_t *x = comparable(before), *y = comparable(r.json);
        *changed = !json_equal(x, y);
        *after = json_incref(r.json);
        json_decref(x);
        json_decref(y);
    } else if (rc == 0) {
        rc = cli_fail(CLI_EXIT_API, "PUT %s: the reply is not a JSON object", path);
    }
    cli_reply_release(&r);
    act_free(path);
    act_free(esc);
    return rc;
}

static int post(const struct cli *c, const char *path, const json_t *body, json_t **doc)
{
    struct cli_reply r;
    int rc = cli_call(c, "POST", path, body, &r);

    if (rc == 0 && !json_is_string(json_object_get(r.json, "id")))
        rc = cli_fail(CLI_EXIT_API, "POST %s: the reply has no id", path);
    if (rc == 0 && doc)
        *doc = json_incref(r.json);
    cli_reply_release(&r);
    return rc;
}

/* Does stored subscription `have` equal the file's `want`? */
static bool sub_equal(const json_t *want, const json_t *have)
{
    static const struct {
        const char *key, *dflt;
    } defaults[] = {{"conditions", "null"}, {"priority", "0"}, {"enabled", "true"}};
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)want, key, v) {
        const json_t *h = json_object_get(have, key);
        if (!h || !json_equal(v, h))
            return false;
    }
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        const json_t *h = json_object_get(have, defaults[i].key);
        json_t *d;
        bool same;

        if (json_object_get(want, defaults[i].key) || !h)
            continue;
        d = json_loads(defaults[i].dflt, JSON_DECODE_ANY, NULL);
        same = json_equal(d, h);
        json_decref(d);
        if (!same)
            return false;
    }
    return true;
}

static int delete_sub(const struct cli *c, const json_t *sub)
{
    const json_t *id = json_object_get(sub, "id");
    char *esc = cli_escape(json_is_string(id) ? json_string_value(id) : "");
    char *path = act_xasprintf("/v1/subscriptions/%s", esc);
    struct cli_reply r;
    int rc = cli_call(c, "DELETE", path, NULL, &r);

    cli_reply_release(&r);
    act_free(path);
    act_free(esc);
    return rc;
}

static int apply_subs(const struct cli *c, const char *action_id, const json_t *subs, bool prune,
                      struct counts *n)
{
    const char *pairs[] = {"limit", PAGE, "action_id", action_id};
    char *base = cli_with_query("/v1/subscriptions", pairs, 2);
    json_t *have = json_array(), *want, *h;
    bool *used = NULL;
    size_t i, k;
    int rc = list_all(c, base, have);

    act_free(base);
    if (rc != 0)
        goto out;
    used = act_xcalloc(json_array_size(have) + 1, sizeof(*used));
    json_array_foreach(subs, i, want) {
        bool found = false;
        json_t *body;

        json_array_foreach(have, k, h) {
            if (!used[k] && sub_equal(want, h)) {
                used[k] = found = true;
                break;
            }
        }
        if (found) {
            n->unchanged++;
            continue;
        }
        body = json_deep_copy(want);
        json_object_set_new(body, "action_id", json_string(action_id));
        rc = post(c, "/v1/subscriptions", body, NULL);
        json_decref(body);
        if (rc != 0)
            goto out;
        n->created++;
    }
    json_array_foreach(have, k, h) {
        if (!prune || used[k])
            continue;
        if ((rc = delete_sub(c, h)) != 0)
            goto out;
        n->removed++;
    }
out:
    act_free(used);
    json_decref(have);
    return rc;
}

static void report(const struct cli *c, const struct cli_apply_entry *e, const json_t *doc,
                   const char *what, const struct counts *n, bool prune, json_t *summary)
{
    const char *name = json_string_value(json_object_get(e->action, "name"));
    const json_t *kind = cli_json_path(doc, "handler.kind");

    if (c->json) {
        json_array_append_new(
            summary, json_pack("{s:s, s:s, s:O?, s:s, s:{s:I, s:I, s:I}}", "file", e->file, "name",
                               name, "id", json_object_get(doc, "id"), "result", what,
                               "subscriptions", "created", (json_int_t)n->created, "unchanged",
                               (json_int_t)n->unchanged, "removed", (json_int_t)n->removed));
        return;
    }
    printf("%-9s %s (%s) from %s; subscriptions: %zu created, %zu unchanged", what, name,
           json_is_string(kind) ? json_string_value(kind) : "?", e->file, n->created,
           n->unchanged);
    if (prune)
        printf(", %zu removed", n->removed);
    putchar('\n');
}

static int apply_entry(const struct cli *c, const struct cli_apply_entry *e, bool prune,
                       json_t *summary)
{
    const char *name = json_string_value(json_object_get(e->action, "name"));
    json_t *before = NULL, *doc = NULL;
    struct counts n = {0};
    const char *what = "created";
    bool changed = true;
    int rc = find_action(c, name, &before);

    if (rc == 0 && before) {
        rc = put_action(c, before, e->action, &doc, &changed);
        what = changed ? "updated" : "unchanged";
    } else if (rc == 0) {
        rc = post(c, "/v1/actions", e->action, &doc);
    }
    if (rc == 0)
        rc = apply_subs(c, json_string_value(json_object_get(doc, "id")), e->subs, prune, &n);
    if (rc == 0)
        report(c, e, doc, what, &n, prune, summary);
    else
        cli_fail(rc, "apply stopped at %s (action %s); the entries before it were applied",
                 e->file, name);
    json_decref(before);
    json_decref(doc);
    return rc;
}

int cli_cmd_apply(struct cli *c, int argc, char **argv)
{
    bool prune = false;
    const struct cli_opt opts[] = {{"--prune", NULL, &prune}, {0}};
    const char *paths[MAX_PATHS] = {0};
    struct cli_apply_plan plan = {0};
    json_t *summary = json_array();
    int n_paths = 0, rc;

    if ((rc = cli_parse(c, "apply", argc, argv, opts, paths, 1, MAX_PATHS)) != 0)
        goto out;
    while (n_paths < MAX_PATHS && paths[n_paths])
        n_paths++;
    if ((rc = cli_apply_load(paths, (size_t)n_paths, &plan)) != 0)
        goto out;
    for (size_t i = 0; i < plan.n && rc == 0; i++)
        rc = apply_entry(c, &plan.v[i], prune, summary);
    if (rc == 0 && c->json) {
        json_dumpf(summary, stdout, JSON_INDENT(2));
        putchar('\n');
    }
out:
    cli_apply_plan_free(&plan);
    json_decref(summary);
    return rc;
}
