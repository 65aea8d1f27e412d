/* String-keyed open-addressing hash map; see map.h. */
#include "base/map.h"

#include "base/alloc.h"

#include <string.h>

static char tomb_mark;
#define TOMB (&tomb_mark)

size_t act_hash_str(const char *s)
{
    size_t h = (size_t)14695981039346656037ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= (size_t)1099511628211ull;
    }
    return h;
}

void act_map_init(struct act_map *m)
{
    memset(m, 0, sizeof(*m));
}

void act_map_release(struct act_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != TOMB)
            act_free(m->slots[i].key);
    act_free(m->slots);
    memset(m, 0, sizeof(*m));
}

static struct act_map_slot *find(const struct act_map *m, const char *key)
{
    size_t mask, i;
    if (!m->cap)
        return NULL;
    mask = m->cap - 1;
    for (i = act_hash_str(key) & mask;; i = (i + 1) & mask) {
        struct act_map_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->key != TOMB && strcmp(s->key, key) == 0)
            return s;
    }
}

void *act_map_get(const struct act_map *m, const char *key)
{
    struct act_map_slot *s = find(m, key);
    return s ? s->val : NULL;
}

static void grow(struct act_map *m)
{
    struct act_map_slot *old = m->slots;
    size_t old_cap = m->cap;

    m->cap = old_cap ? old_cap * 2 : 16;
    if (m->n * 4 < old_cap) /* mostly tombstones: rehash at the same size */
        m->cap = old_cap;
    m->slots = act_xcalloc(m->cap, sizeof(*m->slots));
    m->n = 0;
    m->n_tomb = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key && old[i].key != TOMB) {
            size_t j = act_hash_str(old[i].key) & (m->cap - 1);
            while (m->slots[j].key)
                j = (j + 1) & (m->cap - 1);
            m->slots[j] = old[i];
            m->n++;
        }
    }
    act_free(old);
}

void *act_map_put(struct act_map *m, const char *key, void *val)
{
    struct act_map_slot *s = find(m, key);
    size_t i, mask;
    void *prev;

    if (s) {
        prev = s->val;
        s->val = val;
        return prev;
    }
    if ((m->n + m->n_tomb + 1) * 4 > m->cap * 3)
        grow(m);
    mask = m->cap - 1;
    for (i = act_hash_str(key) & mask; m->slots[i].key && m->slots[i].key != TOMB;
         i = (i + 1) & mask)
        ;
    if (m->slots[i].key == TOMB)
        m->n_tomb--;
    m->slots[i].key = act_xstrdup(key);
    m->slots[i].val = val;
    m->n++;
    return NULL;
}

void *act_map_del(struct act_map *m, const char *key)
{
    struct act_map_slot *s = find(m, key);
    void *prev;
    if (!s)
        return NULL;
    prev = s->val;
    act_free(s->key);
    s->key = TOMB;
    s->val = NULL;
    m->n--;
    m->n_tomb++;
    return prev;
}

int act_map_next(const struct act_map *m, size_t *i, const char **key, void **val)
{
    for (; *i < m->cap; (*i)++) {
        struct act_map_slot *s = &m->slots[*i];
        if (s->key && s->key != TOMB) {
            *key = s->key;
            *val = s->val;
            (*i)++;
            return 1;
        }
    }
    return 0;
}
