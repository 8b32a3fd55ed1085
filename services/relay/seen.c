/*  =========================================================================
    seen - a bounded set of recently seen 32-byte hashes

    DESIGN: the hashes live in one ring of `capacity` slots, written in
    insertion order; a zhashx indexes them by content with keys that point
    into the ring (no copy, no per-key allocation of our own). Inserting
    into a full set first removes the oldest slot's key from the index,
    then reuses that slot. Memory stays fixed at about capacity * (32 bytes
    + one index entry) however long the relay runs.
    =========================================================================
*/

#include "seen.h"

#include <assert.h>
#include <czmq.h>
#include <string.h>

#include "crypto.h"

struct _cc_seen_t {
    uint8_t *ring;          //  capacity slots of CC_HASH_SIZE bytes, insertion order
    size_t capacity;        //  number of slots
    size_t count;           //  slots in use (grows to capacity, then stays)
    size_t next;            //  slot the next insert writes (the oldest when full)
    zhashx_t *index;        //  hash -> its slot; keys point into ring
};

//  --- Index callbacks: keys are 32-byte hashes owned by the ring ---------------

static void *
s_key_borrow (const void *key)
{
    return (void *) key;
}

static void
s_key_forget (void **key_p)
{
    *key_p = NULL;
}

static int
s_key_compare (const void *a, const void *b)
{
    return memcmp (a, b, CC_HASH_SIZE);
}

static size_t
s_key_hash (const void *key)
{
    //  The keys are cryptographic hashes already: any 8 bytes spread well.
    size_t value;
    memcpy (&value, key, sizeof (value));
    return value;
}

//  --- The set --------------------------------------------------------------------

cc_seen_t *
cc_seen_new (size_t capacity)
{
    assert (capacity > 0);
    cc_seen_t *self = (cc_seen_t *) calloc (1, sizeof (cc_seen_t));
    if (!self)
        return NULL;
    self->capacity = capacity;
    self->ring = (uint8_t *) malloc (capacity * CC_HASH_SIZE);
    self->index = zhashx_new ();
    if (!self->ring || !self->index) {
        cc_seen_destroy (&self);
        return NULL;
    }
    zhashx_set_key_duplicator (self->index, s_key_borrow);
    zhashx_set_key_destructor (self->index, s_key_forget);
    zhashx_set_key_comparator (self->index, s_key_compare);
    zhashx_set_key_hasher (self->index, s_key_hash);
    return self;
}

void
cc_seen_destroy (cc_seen_t **self_p)
{
    if (self_p && *self_p) {
        cc_seen_t *self = *self_p;
        zhashx_destroy (&self->index);
        free (self->ring);
        free (self);
        *self_p = NULL;
    }
}

bool
cc_seen_contains (cc_seen_t *self, const uint8_t *hash)
{
    return zhashx_lookup (self->index, hash) != NULL;
}

bool
cc_seen_insert (cc_seen_t *self, const uint8_t *hash)
{
    if (cc_seen_contains (self, hash))
        return false;
    uint8_t *slot = self->ring + self->next * CC_HASH_SIZE;
    if (self->count == self->capacity)
        zhashx_delete (self->index, slot);
    else
        self->count++;
    memcpy (slot, hash, CC_HASH_SIZE);
    //  The item is the slot itself: any non-NULL value marks presence.
    zhashx_insert (self->index, slot, slot);
    self->next = (self->next + 1) % self->capacity;
    return true;
}

size_t
cc_seen_size (cc_seen_t *self)
{
    return self->count;
}
