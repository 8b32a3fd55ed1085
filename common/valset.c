/*  =========================================================================
    valset - a validator set V(h): who may propose and vote at one height

    Members live in one sorted array; lookups are binary searches, since the
    set is read on every consensus message and every block verification.
    =========================================================================
*/

#include "valset.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t pubkey [CC_PUBKEY_SIZE];    //  member's public key
    bool is_ca;                         //  a producing genesis CA
} s_member_t;

struct _cc_valset_t {
    s_member_t *members;    //  sorted by pubkey
    size_t size;            //  members in use
    size_t capacity;        //  members allocated
};

cc_valset_t *
cc_valset_new (void)
{
    return (cc_valset_t *) calloc (1, sizeof (cc_valset_t));
}

cc_valset_t *
cc_valset_dup (const cc_valset_t *self)
{
    cc_valset_t *copy = cc_valset_new ();
    if (!copy || self->size == 0)
        return copy;
    copy->members = (s_member_t *) malloc (self->size * sizeof (s_member_t));
    if (!copy->members) {
        free (copy);
        return NULL;
    }
    memcpy (copy->members, self->members, self->size * sizeof (s_member_t));
    copy->size = copy->capacity = self->size;
    return copy;
}

void
cc_valset_destroy (cc_valset_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->members);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Position of pubkey if present (*found), else where it would go.
static size_t
s_search (const cc_valset_t *self, const uint8_t *pubkey, bool *found)
{
    size_t low = 0, high = self->size;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = memcmp (self->members [middle].pubkey, pubkey, CC_PUBKEY_SIZE);
        if (order == 0) {
            *found = true;
            return middle;
        }
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    *found = false;
    return low;
}

int
cc_valset_add (cc_valset_t *self, const uint8_t *pubkey, bool is_ca)
{
    bool found;
    size_t position = s_search (self, pubkey, &found);
    if (found)
        return CC_E_EXISTS;
    if (self->size == self->capacity) {
        size_t capacity = self->capacity ? 2 * self->capacity : 8;
        s_member_t *members = (s_member_t *) realloc (self->members,
                                                      capacity * sizeof (s_member_t));
        if (!members)
            return CC_E_NOMEM;
        self->members = members;
        self->capacity = capacity;
    }
    memmove (self->members + position + 1, self->members + position,
             (self->size - position) * sizeof (s_member_t));
    memcpy (self->members [position].pubkey, pubkey, CC_PUBKEY_SIZE);
    self->members [position].is_ca = is_ca;
    self->size++;
    return 0;
}

size_t
cc_valset_size (const cc_valset_t *self)
{
    return self->size;
}

const uint8_t *
cc_valset_member (const cc_valset_t *self, size_t index)
{
    return index < self->size ? self->members [index].pubkey : NULL;
}

bool
cc_valset_member_is_ca (const cc_valset_t *self, size_t index)
{
    return index < self->size && self->members [index].is_ca;
}

int
cc_valset_index (const cc_valset_t *self, const uint8_t *pubkey)
{
    bool found;
    size_t position = s_search (self, pubkey, &found);
    return found ? (int) position : -1;
}

bool
cc_valset_contains (const cc_valset_t *self, const uint8_t *pubkey)
{
    return cc_valset_index (self, pubkey) >= 0;
}

size_t
cc_valset_quorum (const cc_valset_t *self)
{
    return self->size ? 2 * self->size / 3 + 1 : 0;
}

size_t
cc_valset_weak_quorum (const cc_valset_t *self)
{
    return self->size ? self->size - cc_valset_quorum (self) + 1 : 0;
}

const uint8_t *
cc_valset_proposer (const cc_valset_t *self, uint64_t height, uint32_t round)
{
    if (self->size == 0)
        return NULL;
    //  (h + r) mod n without overflow for any h and r.
    uint64_t index = (height % self->size + round % self->size) % self->size;
    return self->members [index].pubkey;
}

void
cc_valset_hash (const cc_valset_t *self, uint8_t *hash)
{
    size_t size = 4 + self->size * CC_PUBKEY_SIZE;
    uint8_t *buffer = (uint8_t *) malloc (size);
    if (!buffer) {
        memset (hash, 0xff, CC_HASH_SIZE);
        return;
    }
    buffer [0] = (uint8_t) (self->size >> 24);
    buffer [1] = (uint8_t) (self->size >> 16);
    buffer [2] = (uint8_t) (self->size >> 8);
    buffer [3] = (uint8_t) self->size;
    for (size_t index = 0; index < self->size; index++)
        memcpy (buffer + 4 + index * CC_PUBKEY_SIZE, self->members [index].pubkey,
                CC_PUBKEY_SIZE);
    cc_hash (buffer, size, hash);
    free (buffer);
}

bool
cc_valset_equal (const cc_valset_t *a, const cc_valset_t *b)
{
    if (a->size != b->size)
        return false;
    for (size_t index = 0; index < a->size; index++)
        if (memcmp (a->members [index].pubkey, b->members [index].pubkey, CC_PUBKEY_SIZE) != 0)
            return false;
    return true;
}
