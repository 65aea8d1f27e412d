/*
 * A small open-addressing hash map for the match index: sub_id -> record and
 * (parent node, segment) -> child node.
 *
 * Invariants: cap is 0 or a power of two; the load stays at or below 3/4;
 * a slot is empty iff its hash is 0 (real hashes are forced non-zero);
 * entries of one probe run are contiguous, which backward-shift deletion
 * preserves, so there are no tombstones and lookups never degrade after many
 * removals.  Keys are borrowed from the values, so the map never copies or
 * frees key bytes.  Lookups only read, so they may run concurrently.
 */
#include "base/alloc.h"
#include "match/match_internal.h"

#include <string.h>

uint64_t act_mmap_hash_bytes(const char *key, size_t len)
{
    /* FNV-1a over 64 bits, then a final avalanche: keys are short segments. */
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t act_mmap_mix(uint64_t key_hash, uintptr_t tag)
{
    uint64_t h = key_hash ^ ((uint64_t)tag * 0x9e3779b97f4a7c15ull);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return h ? h : 1;
}

void act_mmap_init(struct act_mmap *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->n = 0;
}

void act_mmap_release(struct act_mmap *m)
{
    act_free(m->slots);
    act_mmap_init(m);
}

static bool slot_is(const struct act_mslot *s, uint64_t hash, uintptr_t tag, const char *key,
                    size_t klen)
{
    return s->hash == hash && s->tag == tag && s->klen == klen && memcmp(s->key, key, klen) == 0;
}

void *act_mmap_get(const struct act_mmap *m, uint64_t hash, uintptr_t tag, const char *key,
                   size_t klen)
{
    if (!m->cap)
        return NULL;
    for (size_t i = hash & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        const struct act_mslot *s = &m->slots[i];
        if (!s->hash)
            return NULL;
        if (slot_is(s, hash, tag, key, klen))
            return s->val;
    }
}

static void place(struct act_mslot *slots, size_t cap, const struct act_mslot *e)
{
    size_t i = e->hash & (cap - 1);
    while (slots[i].hash)
        i = (i + 1) & (cap - 1);
    slots[i] = *e;
}

static void grow(struct act_mmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    struct act_mslot *slots = act_xcalloc(cap, sizeof(*slots));

    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].hash)
            place(slots, cap, &m->slots[i]);
    act_free(m->slots);
    m->slots = slots;
    m->cap = cap;
}

void act_mmap_put(struct act_mmap *m, uint64_t hash, uintptr_t tag, const char *key, size_t klen,
                  void *val)
{
    struct act_mslot e = {.hash = hash, .tag = tag, .key = key, .klen = klen, .val = val};

    if ((m->n + 1) * 4 > m->cap * 3)
        grow(m);
    place(m->slots, m->cap, &e);
    m->n++;
}

void *act_mmap_del(struct act_mmap *m, uint64_t hash, uintptr_t tag, const char *key, size_t klen)
{
    size_t mask = m->cap - 1, i, j;
    void *val;

    if (!m->cap)
        return NULL;
    for (i = hash & mask;; i = (i + 1) & mask) {
        if (!m->slots[i].hash)
            return NULL;
        if (slot_is(&m->slots[i], hash, tag, key, klen))
            break;
    }
    val = m->slots[i].val;
    /* Backward-shift: pull later members of the run into the hole when their
     * home slot lies at or before it (cyclically), so every run stays unbroken. */
    for (j = (i + 1) & mask; m->slots[j].hash; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        bool movable = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    memset(&m->slots[i], 0, sizeof(m->slots[i]));
    m->n--;
    return val;
}
