/*  =========================================================================
    seen - a bounded set of recently seen 32-byte hashes, each with a value

    See seen.h. DESIGN: entries (hash, value) live in one ring of
    `capacity` slots in insertion order, so the oldest is always the slot
    written next. An open-addressing index (linear probing, at least twice
    as many buckets as slots, so probes stay short) maps a hash to its slot
    number + 1 (0 = empty bucket). Evicting the oldest deletes its bucket
    with backward-shift deletion, which keeps every probe chain unbroken
    without tombstones. Nothing is allocated after cc_seen_new. Buckets are
    chosen by a keyed hash (cc_short_hash) under a random key: the hashes
    held are chosen, in effect, by whoever writes the bodies or payloads,
    and with a known bucket function a client could grind inputs whose
    hashes all land in one run of buckets and make every lookup walk it.
    =========================================================================
*/

#include "seen.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

//  One remembered hash.
typedef struct {
    uint8_t hash [CC_HASH_SIZE];    //  the hash
    uint64_t value;                 //  what it maps to (0 for a plain set member)
} s_entry_t;

struct _cc_seen_t {
    s_entry_t *ring;                //  capacity slots, insertion order
    size_t capacity;                //  number of slots
    size_t count;                   //  slots in use (grows to capacity, then stays)
    size_t next;                    //  slot the next insert writes (the oldest when full)
    uint32_t *index;                //  buckets: slot number + 1, or 0 when empty
    size_t mask;                    //  number of buckets - 1 (a power of two)
    uint8_t key [CC_SHORT_HASH_KEY_SIZE];      //  SipHash key of the buckets
};

//  --- Index ------------------------------------------------------------------

static size_t
s_bucket (cc_seen_t *self, const uint8_t *hash)
{
    return (size_t) cc_short_hash (self->key, hash, CC_HASH_SIZE) & self->mask;
}

//  The bucket holding hash, or the empty bucket where it would go.
static size_t
s_probe (cc_seen_t *self, const uint8_t *hash, bool *found)
{
    size_t bucket = s_bucket (self, hash);
    while (self->index [bucket]) {
        if (memcmp (self->ring [self->index [bucket] - 1].hash, hash, CC_HASH_SIZE) == 0) {
            *found = true;
            return bucket;
        }
        bucket = (bucket + 1) & self->mask;
    }
    *found = false;
    return bucket;
}

//  Empties bucket and moves back the entries after it that would
//  otherwise become unreachable (backward-shift deletion).
static void
s_delete (cc_seen_t *self, size_t bucket)
{
    self->index [bucket] = 0;
    size_t hole = bucket, next = bucket;
    while (true) {
        next = (next + 1) & self->mask;
        if (!self->index [next])
            break;
        size_t home = s_bucket (self, self->ring [self->index [next] - 1].hash);
        //  The entry at next stays if its home lies cyclically in (hole, next].
        bool stays = hole <= next ? (hole < home && home <= next)
                                  : (hole < home || home <= next);
        if (stays)
            continue;
        self->index [hole] = self->index [next];
        self->index [next] = 0;
        hole = next;
    }
}

//  --- The set ------------------------------------------------------------------------

cc_seen_t *
cc_seen_new (size_t capacity)
{
    assert (capacity > 0 && capacity <= CC_SEEN_MAX_CAPACITY);
    cc_seen_t *self = (cc_seen_t *) calloc (1, sizeof (cc_seen_t));
    if (!self)
        return NULL;
    size_t buckets = 2;
    while (buckets < 2 * capacity)
        buckets *= 2;
    self->capacity = capacity;
    self->mask = buckets - 1;
    //  Large blocks come from fresh zeroed pages: untouched ones cost no
    //  memory, so an idle relay stays small.
    self->ring = (s_entry_t *) malloc (capacity * sizeof (s_entry_t));
    self->index = (uint32_t *) calloc (buckets, sizeof (uint32_t));
    if (!self->ring || !self->index) {
        cc_seen_destroy (&self);
        return NULL;
    }
    randombytes_buf (self->key, sizeof (self->key));
    return self;
}

void
cc_seen_destroy (cc_seen_t **self_p)
{
    if (self_p && *self_p) {
        cc_seen_t *self = *self_p;
        free (self->ring);
        free (self->index);
        free (self);
        *self_p = NULL;
    }
}

bool
cc_seen_put (cc_seen_t *self, const uint8_t *hash, uint64_t value)
{
    bool found = false;
    s_probe (self, hash, &found);
    if (found)
        return false;
    s_entry_t *slot = &self->ring [self->next];
    if (self->count == self->capacity) {
        bool held = false;
        size_t bucket = s_probe (self, slot->hash, &held);
        assert (held);
        s_delete (self, bucket);
    }
    else
        self->count++;
    memcpy (slot->hash, hash, CC_HASH_SIZE);
    slot->value = value;
    //  Probe again: the deletion may have moved the free bucket.
    size_t bucket = s_probe (self, hash, &found);
    self->index [bucket] = (uint32_t) (self->next + 1);
    self->next = (self->next + 1) % self->capacity;
    return true;
}

bool
cc_seen_insert (cc_seen_t *self, const uint8_t *hash)
{
    return cc_seen_put (self, hash, 0);
}

bool
cc_seen_get (cc_seen_t *self, const uint8_t *hash, uint64_t *value_p)
{
    bool found = false;
    size_t bucket = s_probe (self, hash, &found);
    if (found && value_p)
        *value_p = self->ring [self->index [bucket] - 1].value;
    return found;
}

bool
cc_seen_set (cc_seen_t *self, const uint8_t *hash, uint64_t value)
{
    bool found = false;
    size_t bucket = s_probe (self, hash, &found);
    if (found)
        self->ring [self->index [bucket] - 1].value = value;
    return found;
}

bool
cc_seen_contains (cc_seen_t *self, const uint8_t *hash)
{
    return cc_seen_get (self, hash, NULL);
}

size_t
cc_seen_size (cc_seen_t *self)
{
    return self->count;
}
