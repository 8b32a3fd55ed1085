/*  =========================================================================
    seen - a bounded set of recently seen 32-byte hashes

    The relay deduplicates what flows through it (gossip messages by
    H(topic || payload), submitted transactions by their hash and
    signature) without remembering everything forever: the set keeps the
    last `capacity` hashes inserted and forgets the oldest first. A
    duplicate older than that passes again, which is harmless: every node
    downstream deduplicates too, and committed transactions are refused by
    the chain's own index.

    Ownership: the set owns copies of the hashes it holds.
    =========================================================================
*/

#ifndef CC_RELAY_SEEN_H_INCLUDED
#define CC_RELAY_SEEN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _cc_seen_t cc_seen_t;

//  An empty set holding at most capacity hashes (capacity > 0). Caller
//  owns it; NULL when out of memory.
cc_seen_t *
    cc_seen_new (size_t capacity);

//  Destroys the set; nulls the pointer; safe on NULL.
void
    cc_seen_destroy (cc_seen_t **self_p);

//  True if hash (32 bytes) is in the set.
bool
    cc_seen_contains (cc_seen_t *self, const uint8_t *hash);

//  Inserts hash, forgetting the oldest hash when full. True if it was new,
//  false if it was already there (the set is then unchanged).
bool
    cc_seen_insert (cc_seen_t *self, const uint8_t *hash);

//  Number of hashes held.
size_t
    cc_seen_size (cc_seen_t *self);

#endif
