/*  =========================================================================
    sigcache - the mempool's signature cache, seen by block verification

    cc_block_verify can skip the signature check of a transaction this
    process already verified, through a cc_signature_checked_fn that is
    given the tx hash and the 64 signature bytes it carries. The mempool
    answers that question with cc_mempool_signature_matches, which keys on
    the hash AND the signature (the hash covers only the body, so a
    corrupted signature must never match) but takes the transaction itself.
    This adapter maps the callback's arguments back to that transaction.

    DESIGN: cc_block_verify calls the function in block order, handing
    pointers into the block's own transactions, so with the block named in
    the cache the tx is found at the cursor (pointer equality, O(1)), or by
    a scan if the order ever changes. Without a block (common/sync verifies
    blocks it fetched itself), only a pooled transaction whose signature
    bytes are equal counts: still keyed on both.

    Ownership: plain struct, borrowed mempool and block; one thread.
    =========================================================================
*/

#ifndef CC_VALIDATOR_SIGCACHE_H_INCLUDED
#define CC_VALIDATOR_SIGCACHE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "mempool.h"

typedef struct {
    cc_mempool_t *mempool;      //  the cache (borrowed)
    cc_block_t *block;          //  block being verified, or NULL (borrowed)
    size_t cursor;              //  index of the tx expected next
    uint64_t misses;            //  answers "not verified": checks left to do
} cc_sigcache_t;

//  A cache over mempool for block (may be NULL).
void
    cc_sigcache_init (cc_sigcache_t *self, cc_mempool_t *mempool, cc_block_t *block);

//  cc_signature_checked_fn: argument is a cc_sigcache_t.
bool
    cc_sigcache_checked (void *argument, const uint8_t *tx_hash, const uint8_t *signature);

//  After cc_block_verify accepted block: every tx in it carries a verified
//  signature, so each (hash, signature) is remembered in mempool's cache
//  and a later copy of the tx (from the gossip, or still waiting in the
//  checker) is admitted without a second verification.
void
    cc_sigcache_remember_block (cc_mempool_t *mempool, cc_block_t *block);

#endif
