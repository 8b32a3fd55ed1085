/*  =========================================================================
    sigcache - the mempool's signature cache, seen by block verification

    See sigcache.h.
    =========================================================================
*/

#include "sigcache.h"

#include <assert.h>
#include <string.h>

void
cc_sigcache_init (cc_sigcache_t *self, cc_mempool_t *mempool, cc_block_t *block)
{
    assert (self && mempool);
    self->mempool = mempool;
    self->block = block;
    self->cursor = 0;
    self->misses = 0;
}

//  The block's tx whose hash is at tx_hash (a pointer into it), or NULL.
static cc_tx_t *
s_block_tx (cc_sigcache_t *self, const uint8_t *tx_hash)
{
    size_t count = cc_block_tx_count (self->block);
    if (self->cursor < count) {
        cc_tx_t *tx = cc_block_tx (self->block, self->cursor);
        if (cc_tx_hash (tx) == tx_hash) {
            self->cursor++;
            return tx;
        }
    }
    for (size_t index = 0; index < count; index++) {
        cc_tx_t *tx = cc_block_tx (self->block, index);
        if (cc_tx_hash (tx) == tx_hash) {
            self->cursor = index + 1;
            return tx;
        }
    }
    return NULL;
}

bool
cc_sigcache_checked (void *argument, const uint8_t *tx_hash, const uint8_t *signature)
{
    cc_sigcache_t *self = (cc_sigcache_t *) argument;
    cc_tx_t *tx = self->block ? s_block_tx (self, tx_hash) : NULL;
    bool known;
    if (tx && cc_tx_envelope (tx)->signature.data == signature)
        known = cc_mempool_signature_matches (self->mempool, tx);
    else {
        cc_tx_t *pooled = cc_mempool_get (self->mempool, tx_hash);
        known = pooled
            && memcmp (cc_tx_envelope (pooled)->signature.data, signature, CC_SIGNATURE_SIZE)
                   == 0;
    }
    if (!known)
        self->misses++;
    return known;
}

void
cc_sigcache_remember_block (cc_mempool_t *mempool, cc_block_t *block)
{
    assert (mempool && block);
    size_t count = cc_block_tx_count (block);
    for (size_t index = 0; index < count; index++)
        cc_mempool_signature_remember (mempool, cc_block_tx (block, index));
}
