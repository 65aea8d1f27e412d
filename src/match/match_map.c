/*
 * A small open-addressing hash map for the match index: sub_id -> record and
 * (parent node, segment) -> child node.
 *
 * Invariants: cap is 0 or a power of two; the load stays at or below 3/4;
 * a slot is empty iff its hash is 0 (real hashes are forced non-zero);
 * entries of one probe run are contiguous, which backward-shift deletion
 * preserves, so there are no tombstones and lookups never degrade after many
 * removals.  The map stores no keys: a slot is (hash, value) and callers
 * compare their key on the value (the node's parent and label, the sub's
 * id), which keeps slots at 16 bytes.  Lookups only read, so they may run
 * concurrently.
 */
#include "base/alloc.h"
#include "match/match_internal.h"

#include <string.h>


uint64_t act_mmap_hash_bytes(const char *key, size_t len)
{
    /* Eight bytes per step with a multiply-xorshift mix; act_mmap_mix adds
     * the final avalanche.  Keys are short (segments, ids). */
    uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w;

    for (; len >= 8; key += 8, len -= 8) {
        memcpy(&w, key, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, key, len);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
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

void *act_mmap_next(const struct act_mmap *m, uint64_t hash, size_t *cursor)
{
    size_t mask = m->cap - 1;

    if (!m->cap)
        return NULL;
    /* *cursor counts the slots already probed from the home slot */
    for (size_t i = (hash + *cursor) & mask; m->slots[i].hash; i = (i + 1) & mask) {
        ++*cursor;
        if (m->slots[i].hash == hash)
            return m->slots[i].val;
    }
    return NULL;
}

static void place(struct act_mslot *slots, size_t cap, uint64_t hash, void *val)
{
    size_t i = hash & (cap - 1);

    while (slots[i].hash)
        i = (i + 1) & (cap - 1);
    slots[i].hash = hash;
    slots[i].val = val;
}

static void grow(struct act_mmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    struct act_mslot *slots = act_xcalloc(cap, sizeof(*slots));

    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].hash)
            place(slots, cap, m->slots[i].hash, m->slots[i].val);
    act_free(m->slots);
    m->slots = slots;
    m->cap = cap;
}

void act_mmap_put(struct act_mmap *m, uint64_t hash, void *val)
{
    if ((m->n + 1) * 4 > m->cap * 3)
        grow(m);
    place(m->slots, m->cap, hash, val);
    m->n++;
}

bool act_mmap_del(struct act_mmap *m, uint64_t hash, const void *val)
{
    size_t mask = m->cap - 1, i, j;

    if (!m->cap)
        return false;
    for (i = hash & mask;; i = (i + 1) & mask) {
        if (!m->slots[i].hash)
            return false;
        if (m->slots[i].hash == hash && m->slots[i].val == val)
            break;
    }
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
    m->slots[i].hash = 0;
    m->slots[i].val = NULL;
    m->n--;
    return true;
}
