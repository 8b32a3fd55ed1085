/*  =========================================================================
    seen - a bounded set of recently seen 32-byte hashes, each with a value

    The relay deduplicates what flows through it (gossip messages by
    H(topic || payload), submitted transactions by their hash and
    signature) and remembers recently committed transactions (tx hash ->
    height) without remembering everything forever: the set keeps the last
    `capacity` hashes inserted and forgets the oldest first. A duplicate
    older than that passes again, which is harmless: every node downstream
    deduplicates too, and committed transactions are refused by nonce or
    by the chain's own index.

    Ownership: the set owns copies of the hashes it holds. Not thread-safe:
    one loop owns it.
    =========================================================================
*/

#ifndef CC_RELAY_SEEN_H_INCLUDED
#define CC_RELAY_SEEN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _cc_seen_t cc_seen_t;

//  Largest capacity accepted (the index holds 32-bit slot numbers).
#define CC_SEEN_MAX_CAPACITY (64u * 1024 * 1024)

//  An empty set holding at most capacity hashes (0 < capacity <=
//  CC_SEEN_MAX_CAPACITY). Memory is reserved up front: about 48 bytes a
//  hash, touched only as it fills. Caller owns it; NULL when out of memory.
cc_seen_t *
    cc_seen_new (size_t capacity);

//  Destroys the set; nulls the pointer; safe on NULL.
void
    cc_seen_destroy (cc_seen_t **self_p);

//  Inserts hash (32 bytes) with value, forgetting the oldest hash when
//  full. True if it was new; false if it was already there (it keeps its
//  first value and the set is unchanged).
bool
    cc_seen_put (cc_seen_t *self, const uint8_t *hash, uint64_t value);

//  True if hash is held; *value_p (may be NULL) gets its value.
bool
    cc_seen_get (cc_seen_t *self, const uint8_t *hash, uint64_t *value_p);

//  Gives a held hash a new value (its place in the order stays). False if
//  hash is not held.
bool
    cc_seen_set (cc_seen_t *self, const uint8_t *hash, uint64_t value);

//  The same as a plain set: cc_seen_put with value 0, cc_seen_get without
//  the value.
bool
    cc_seen_insert (cc_seen_t *self, const uint8_t *hash);
bool
    cc_seen_contains (cc_seen_t *self, const uint8_t *hash);

//  Number of hashes held.
size_t
    cc_seen_size (cc_seen_t *self);

#endif
