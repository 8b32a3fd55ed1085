/*  =========================================================================
    keymap - an open-addressing map from 32-byte keys to items

    See keymap.h. Slots form a power-of-two array probed linearly from the
    key's home slot (hash & mask); an empty slot has no item. The map
    doubles when it would pass half full, so runs stay short. Deletion
    shifts the following run back instead of leaving tombstones: a slot
    at next moves into the hole unless its home lies cyclically in
    (hole, next], so every key stays reachable from its home without gaps.
    =========================================================================
*/

#include "keymap.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

//  Fewest slots: a map never shrinks below this.
#define S_MIN_SLOTS 16

typedef struct {
    uint64_t hash;              //  the key's hash
    const uint8_t *key;         //  the key's bytes (the caller's)
    void *item;                 //  NULL: the slot is empty
} s_slot_t;

struct _cc_keymap_t {
    s_slot_t *slots;            //  capacity slots
    size_t capacity;            //  a power of two
    size_t count;               //  keys held
};

cc_keymap_t *
cc_keymap_new (size_t expected)
{
    cc_keymap_t *self = (cc_keymap_t *) calloc (1, sizeof (cc_keymap_t));
    if (!self)
        return NULL;
    self->capacity = S_MIN_SLOTS;
    while (self->capacity < 2 * expected && self->capacity < SIZE_MAX / 4)
        self->capacity *= 2;
    self->slots = (s_slot_t *) calloc (self->capacity, sizeof (s_slot_t));
    if (!self->slots) {
        free (self);
        return NULL;
    }
    return self;
}

void
cc_keymap_destroy (cc_keymap_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->slots);
        free (*self_p);
        *self_p = NULL;
    }
}

//  The slot holding key, or the empty slot where it would go.
static size_t
s_find (cc_keymap_t *self, uint64_t hash, const uint8_t *key, bool *found)
{
    size_t mask = self->capacity - 1;
    size_t index = (size_t) hash & mask;
    while (self->slots [index].item) {
        const s_slot_t *slot = &self->slots [index];
        if (slot->hash == hash && memcmp (slot->key, key, CC_KEYMAP_KEY_SIZE) == 0) {
            *found = true;
            return index;
        }
        index = (index + 1) & mask;
    }
    *found = false;
    return index;
}

//  Doubles the slots, placing every key again. 0 or NOMEM (unchanged).
static int
s_grow (cc_keymap_t *self)
{
    if (self->capacity > SIZE_MAX / 2 / sizeof (s_slot_t))
        return CC_E_NOMEM;
    size_t capacity = self->capacity * 2;
    s_slot_t *slots = (s_slot_t *) calloc (capacity, sizeof (s_slot_t));
    if (!slots)
        return CC_E_NOMEM;
    size_t mask = capacity - 1;
    for (size_t old = 0; old < self->capacity; old++) {
        const s_slot_t *slot = &self->slots [old];
        if (!slot->item)
            continue;
        size_t index = (size_t) slot->hash & mask;
        while (slots [index].item)
            index = (index + 1) & mask;
        slots [index] = *slot;
    }
    free (self->slots);
    self->slots = slots;
    self->capacity = capacity;
    return 0;
}

int
cc_keymap_insert (cc_keymap_t *self, uint64_t hash, const uint8_t *key, void *item)
{
    assert (self && key && item);
    bool found = false;
    size_t index = s_find (self, hash, key, &found);
    if (found)
        return CC_E_DUPLICATE;
    if (2 * (self->count + 1) > self->capacity) {
        if (s_grow (self) != 0)
            return CC_E_NOMEM;
        index = s_find (self, hash, key, &found);
    }
    self->slots [index] = (s_slot_t) {hash, key, item};
    self->count++;
    return 0;
}

void *
cc_keymap_lookup (cc_keymap_t *self, uint64_t hash, const uint8_t *key)
{
    assert (self && key);
    bool found = false;
    size_t index = s_find (self, hash, key, &found);
    return found ? self->slots [index].item : NULL;
}

void *
cc_keymap_delete (cc_keymap_t *self, uint64_t hash, const uint8_t *key)
{
    assert (self && key);
    bool found = false;
    size_t hole = s_find (self, hash, key, &found);
    if (!found)
        return NULL;
    void *item = self->slots [hole].item;
    size_t mask = self->capacity - 1;
    size_t next = (hole + 1) & mask;
    while (self->slots [next].item) {
        size_t home = (size_t) self->slots [next].hash & mask;
        //  The slot may fill the hole unless its home lies in (hole, next].
        bool home_after_hole = hole <= next ? (home > hole && home <= next)
                                            : (home > hole || home <= next);
        if (!home_after_hole) {
            self->slots [hole] = self->slots [next];
            hole = next;
        }
        next = (next + 1) & mask;
    }
    self->slots [hole] = (s_slot_t) {0, NULL, NULL};
    self->count--;
    return item;
}

size_t
cc_keymap_size (cc_keymap_t *self)
{
    assert (self);
    return self->count;
}

void *
cc_keymap_next (cc_keymap_t *self, size_t *cursor)
{
    assert (self && cursor);
    while (*cursor < self->capacity) {
        void *item = self->slots [(*cursor)++].item;
        if (item)
            return item;
    }
    return NULL;
}
