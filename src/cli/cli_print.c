/*
 * actionctl output: tables, "key: value" summaries, raw bodies and the
 * problem+json error line.
 *
 * Summaries are for people and may change; scripts use --json, which
 * prints the body exactly as the server sent it.  Table cells longer than
 * MAX_CELL characters are cut with "..." so a long name or error does not
 * wrap every row; ids (36 characters) always fit.
 */
#include "base/alloc.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#define MAX_CELL 60

void cli_print_raw(const struct cli_reply *r)
{
    fwrite(r->body, 1, r->len, stdout);
    if (r->len > 0 && r->body[r->len - 1] != '\n')
        fputc('\n', stdout);
}

const json_t *cli_json_path(const json_t *obj, const char *path)
{
    const char *dot;

    while (obj && (dot = strchr(path, '.')) != NULL) {
        char *head = act_xstrndup(path, (size_t)(dot - path));
        obj = json_is_object(obj) ? json_object_get(obj, head) : NULL;
        act_free(head);
        path = dot + 1;
    }
    return json_is_object(obj) ? json_object_get(obj, path) : NULL;
}

char *cli_value_text(const json_t *v)
{
    size_t n;
    char *buf;

    if (!v || json_is_null(v))
        return act_xstrdup("-");
    if (json_is_string(v))
        return act_xstrndup(json_string_value(v), json_string_length(v));
    n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    buf = act_xmalloc(n + 1);
    n = json_dumpb(v, buf, n, JSON_COMPACT | JSON_ENCODE_ANY);
    buf[n] = '\0';
    return buf;
}

static const char *str_member(const json_t *obj, const char *name)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, name) : NULL;

    return json_is_string(v) ? json_string_value(v) : NULL;
}

void cli_print_problem(long status, const json_t *problem, const char *body)
{
    const char *title = str_member(problem, "title"), *detail = str_member(problem, "detail");
    const char *field = str_member(problem, "field");
    const json_t *errors = json_is_object(problem) ? json_object_get(problem, "errors") : NULL;
    const json_t *e;
    size_t i;

    if (!title && !detail) {
        size_t n = body ? strcspn(body, "\r\n") : 0;
        fprintf(stderr, "actionctl: HTTP %ld%s%.*s\n", status, n ? ": " : "",
                (int)(n > 200 ? 200 : n), body ? body : "");
        return;
    }
    fprintf(stderr, "actionctl: %s", title ? title : "error");
    if (detail)
        fprintf(stderr, ": %s", detail);
    if (field && *field)
        fprintf(stderr, " (field: %s)", field);
    fputc('\n', stderr);
    json_array_foreach(errors, i, e) {
        const char *f = str_member(e, "field"), *d = str_member(e, "detail");
        fprintf(stderr, "  %s: %s\n", f ? f : "-", d ? d : "-");
    }
}

/* The cell text of item[path] on one line, cut to MAX_CELL characters. */
static char *cell_text(const json_t *item, const char *path)
{
    char *t = cli_value_text(cli_json_path(item, path));

    for (char *p = t; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    if (strlen(t) > MAX_CELL)
        memcpy(t + MAX_CELL - 3, "...", 4);
    return t;
}

void cli_print_table(const json_t *items, const struct cli_col *cols, size_t n_cols)
{
    size_t n_items = json_array_size(items), *width = act_xcalloc(n_cols, sizeof(*width));
    char **cells = act_xcalloc(n_items * n_cols + 1, sizeof(*cells));

    for (size_t c = 0; c < n_cols; c++)
        width[c] = strlen(cols[c].header);
    for (size_t r = 0; r < n_items; r++) {
        for (size_t c = 0; c < n_cols; c++) {
            char *t = cell_text(json_array_get(items, r), cols[c].path);
            if (strlen(t) > width[c])
                width[c] = strlen(t);
            cells[r * n_cols + c] = t;
        }
    }
    for (size_t c = 0; c < n_cols; c++)
        printf("%-*s%s", c + 1 < n_cols ? (int)width[c] : 0, cols[c].header,
               c + 1 < n_cols ? "  " : "\n");
    for (size_t r = 0; r < n_items; r++)
        for (size_t c = 0; c < n_cols; c++)
            printf("%-*s%s", c + 1 < n_cols ? (int)width[c] : 0, cells[r * n_cols + c],
                   c + 1 < n_cols ? "  " : "\n");
    if (n_items == 0)
        printf("(none)\n");
    for (size_t i = 0; i < n_items * n_cols; i++)
        act_free(cells[i]);
    act_free(cells);
    act_free(width);
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20)
            return true;
    return false;
}

static char *quoted(const json_t *v)
{
    size_t n = json_dumpb(v, NULL, 0, JSON_ENCODE_ANY);
    char *buf = act_xmalloc(n + 1);

    n = json_dumpb(v, buf, n, JSON_ENCODE_ANY);
    buf[n] = '\0';
    return buf;
}

void cli_print_object(const json_t *obj)
{
    const char *key;
    const json_t *v;
    int width = 0;

    json_object_foreach((json_t *)obj, key, v) {
        if ((int)strlen(key) > width)
            width = (int)strlen(key);
    }
    json_object_foreach((json_t *)obj, key, v) {
        char *t = cli_value_text(v);
        if (json_is_string(v) && has_control(t)) {
            /* Keep one line per key: show such strings JSON-quoted. */
            act_free(t);
            t = quoted(v);
        }
        printf("%s:%*s %s\n", key, width - (int)strlen(key), "", t);
        act_free(t);
    }
}

void cli_print_next(const json_t *list)
{
    const char *next = str_member(list, "next_cursor");

    if (next && *next)
        printf("next page: --cursor %s\n", next);
}
