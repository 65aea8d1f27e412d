/*
 * A string-keyed hash map of borrowed pointers (open addressing, linear
 * probing, tombstones, power-of-two capacity).  Keys are copied.  Not
 * thread-safe: callers lock.
 */
#ifndef ACT_BASE_MAP_H
#define ACT_BASE_MAP_H

#include <stddef.h>

struct act_map_slot {
    char *key;   /* NULL: empty; ACT_MAP_TOMB: deleted */
    void *val;
};

struct act_map {
    struct act_map_slot *slots;
    size_t cap, n, n_tomb;
};

void act_map_init(struct act_map *m);
/* Frees the keys and slots, not the values. */
void act_map_release(struct act_map *m);
void *act_map_get(const struct act_map *m, const char *key);
/* Insert or replace; returns the previous value or NULL. */
void *act_map_put(struct act_map *m, const char *key, void *val);
/* Remove; returns the removed value or NULL. */
void *act_map_del(struct act_map *m, const char *key);

/* Iterate: `for (size_t i = 0; act_map_next(m, &i, &k, &v);)`. */
int act_map_next(const struct act_map *m, size_t *i, const char **key, void **val);

/* FNV-1a, exposed for other tables.  thread: any */
size_t act_hash_str(const char *s);

#endif
