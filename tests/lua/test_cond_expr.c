/*
 * Conditions in expression form through act_lua_cond_eval: results and
 * reasons, lazy proxy vs eager tables, and four threads evaluating at once,
 * each in its own reused lua_State.
 */
#include "lua/lua.h"
#include "tap.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define N_THREADS 4
#define N_EVALS 5000

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v)
        diag("bad test JSON %s: %s", text, je.text);
    return v;
}

static void check(const json_t *ev, const char *expr, bool want, const char *why_want)
{
    char why[256] = "";
    bool got = act_lua_cond_eval(expr, ev, 0, why, sizeof(why));

    is_int(got, want, "%s -> %d", expr, want);
    if (!want)
        is_str(why, why_want, "reason of %s", expr);
    is_int(act_lua_cond_eval(expr, ev, ACT_LUA_EAGER_TABLES, NULL, 0), want,
           "eager tables agree on %s", expr);
}

static void test_results(void)
{
    json_t *ev = J("{\"type\": \"orders.paid\", \"data\": {\"tier\": \"premium\", \"amount\": 150,"
                   " \"items\": [{\"sku\": \"A\", \"qty\": 2}, {\"sku\": \"B\", \"qty\": 1}],"
                   " \"tags\": [\"eu\", \"vip\"], \"n\": null}}");
    char long_expr[200];

    check(ev, "event.data.tier == 'premium' and event.data.amount >= 100", true, "");
    check(ev, "event.data.tier == 'basic'", false, "expression `event.data.tier == 'basic'`: false");
    check(ev, "event.data.items[1].qty + event.data.items[2].qty == 3", true, "");
    check(ev, "#event.data.items == 2 and event.data.items[3] == nil", true, "");
    check(ev, "event.data.n == nil and event.data.absent == nil", true, "");
    check(ev, "event.type:match('^orders%.') ~= nil", true, "");
    check(ev, "event.data.amount", false, "expression `event.data.amount`: got number, not a boolean");
    check(ev, "event.data", false, "expression `event.data`: got a JSON value, not a boolean");
    check(ev, "nil", false, "expression `nil`: got nil, not a boolean");
    check(ev, "event.data.missing.x", false,
          "expression `event.data.missing.x`: error: expr:1: attempt to index a nil value (field "
          "'missing')");
    check(ev, "error('custom reason', 0)", false, "expression `error('custom reason', 0)`: error: "
                                                  "custom reason");
    /* (eager tables drop the null member: 4 keys there, 5 through the proxy) */
    check(ev, "(function() local t = {} for k in pairs(event.data) do t[#t + 1] = k end "
              "return #t >= 4 end)()",
          true, "");
    check(ev, "string.rep('x', 1 << 30) ~= ''", false,
          "expression `string.rep('x', 1 << 30) ~= ''`: error: lua: memory limit of 4194304 bytes "
          "exceeded");
    check(ev, "event.data.tier ==", false,
          "expression `event.data.tier ==`: error: lua: expr:1: unexpected symbol near ')'");
    check(NULL, "event == nil", true, "");

    memset(long_expr, 'x', sizeof(long_expr) - 1);
    long_expr[0] = '#';
    long_expr[1] = '\'';
    long_expr[sizeof(long_expr) - 3] = '\'';
    long_expr[sizeof(long_expr) - 2] = ' ';
    long_expr[sizeof(long_expr) - 1] = '\0';
    {
        char why[256] = "";
        act_lua_cond_eval(long_expr, ev, 0, why, sizeof(why));
        ok(strstr(why, "...`: got number, not a boolean") != NULL, "long expressions shortened: %s",
           why);
    }
    json_decref(ev);
}

struct worker {
    int id;
    int wrong;
    unsigned states;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct act_lua_stats st;
    char text[160];

    for (int i = 0; i < N_EVALS; i++) {
        int amount = (i * 7 + w->id) % 300;
        json_t *ev;
        bool want = amount >= 100 && w->id % 2 == 0;

        snprintf(text, sizeof(text),
                 "{\"type\": \"t\", \"data\": {\"amount\": %d, \"tier\": \"%s\", \"t\": %d}}",
                 amount, w->id % 2 == 0 ? "premium" : "basic", w->id);
        ev = json_loads(text, 0, NULL);
        if (act_lua_cond_eval("event.data.tier == 'premium' and event.data.amount >= 100", ev, 0,
                              NULL, 0) != want)
            w->wrong++;
        if (!act_lua_cond_eval("event.data.t == math.tointeger(event.data.t)", ev, 0, NULL, 0))
            w->wrong++;
        json_decref(ev);
    }
    act_lua_thread_stats(&st);
    w->states = st.states_created;
    return NULL; /* the thread's state is closed by the key destructor */
}

static void test_threads(void)
{
    pthread_t th[N_THREADS];
    struct worker w[N_THREADS];

    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (struct worker){.id = i};
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        is_int(w[i].wrong, 0, "thread %d: every evaluation right", i);
        is_int(w[i].states, 1, "thread %d: one state for %d evaluations", i, 2 * N_EVALS);
    }
}

int main(void)
{
    test_results();
    test_threads();
    act_lua_thread_release();
    return done_testing();
}
