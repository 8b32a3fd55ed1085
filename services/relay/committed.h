/*  =========================================================================
    committed - the relay's memory of recently committed transactions

    A bounded map from tx hash to the height of the block that committed
    it, filled by the relay as it stores each block. It answers "was this
    transaction committed, and where?" for a submitted tx without a read
    of the chain's tx index. It keeps the last `capacity` hashes inserted
    and forgets the oldest first, so it only ever says "committed at H"
    (exact) or "not among the recent ones" (then the relay decides by the
    signer's nonce and, rarely, by the index: see relay.c).

    Ownership: the map owns copies of the hashes it holds. Not
    thread-safe: one loop owns it.
    =========================================================================
*/

#ifndef CC_RELAY_COMMITTED_H_INCLUDED
#define CC_RELAY_COMMITTED_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _cc_committed_t cc_committed_t;

//  Largest capacity accepted (the index holds 32-bit slot numbers).
#define CC_COMMITTED_MAX_CAPACITY (64u * 1024 * 1024)

//  An empty map holding at most capacity hashes (0 < capacity <=
//  CC_COMMITTED_MAX_CAPACITY). Memory is reserved up front: about 48 bytes
//  a hash, touched only as it fills. Caller owns it; NULL when out of
//  memory.
cc_committed_t *
    cc_committed_new (size_t capacity);

//  Destroys the map; nulls the pointer; safe on NULL.
void
    cc_committed_destroy (cc_committed_t **self_p);

//  Remembers that the tx with hash (32 bytes) was committed at height,
//  forgetting the oldest hash when full. A hash already held keeps its
//  first height (a tx is committed once).
void
    cc_committed_insert (cc_committed_t *self, const uint8_t *hash, uint64_t height);

//  True if hash is held; *height_p (may be NULL) gets its height.
bool
    cc_committed_find (cc_committed_t *self, const uint8_t *hash, uint64_t *height_p);

//  Number of hashes held.
size_t
    cc_committed_size (cc_committed_t *self);

#endif
