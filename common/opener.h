/*  =========================================================================
    opener - blocks decoded and their transactions opened on worker
    threads, ahead of the thread that applies them

    A syncing node fetches blocks in batches; what costs is opening every
    transaction (its signature check), which needs nothing but the block's
    own bytes and the chain id. The opener takes serialized blocks in chain
    order, and a fixed pool of worker threads decodes each one and opens
    its transactions in chunks, the oldest block first (so both workers
    finish the block wanted next before starting the one after). The
    caller's thread meanwhile executes and commits earlier blocks: their
    state work and the next blocks' signatures overlap, and no thread is
    started per block.

    Opening only fills each transaction's remembered result (cc_tx_open):
    the block's verdict is still given by cc_block_verify on the caller's
    thread, which finds those results and reports a bad transaction in
    block order, as it would have found it. A block that does not decode
    comes out as NULL with the decoder's reason.

    Ownership: the opener copies the bytes it is given; a block taken out
    with cc_opener_pop belongs to the caller. Every function is called from
    one thread (the owner's); the workers are internal.

    The signal descriptor (an eventfd) becomes readable whenever a block is
    ready, so an event loop can apply blocks as they come without waiting.
    =========================================================================
*/

#ifndef CC_OPENER_H_INCLUDED
#define CC_OPENER_H_INCLUDED

#include "block.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _cc_opener_t cc_opener_t;

//  Transactions a worker opens in one go.
#define CC_OPENER_CHUNK 64
//  Blocks are decoded ahead only while fewer transactions than this wait
//  decoded (the oldest block is always decoded): a decoded transaction
//  takes a few times its bytes, so queued bytes alone would not bound
//  memory, and this is plenty to keep the workers busy.
#define CC_OPENER_AHEAD_TXS 20000

//  An opener for chain_id (copied) with threads workers (0 = none: blocks
//  are decoded and opened by cc_opener_pop on the caller's thread);
//  check_signatures false opens transactions without their signature
//  check (for a caller that trusts a block's quorum commit for them).
//  Caller owns the result; NULL on NOMEM or when no thread could start.
cc_opener_t *
    cc_opener_new (const char *chain_id, size_t threads, bool check_signatures);

//  Stops the workers (after the chunk each is on), drops what is queued;
//  nulls the pointer; safe on NULL.
void
    cc_opener_destroy (cc_opener_t **self_p);

//  Queues a copy of a serialized block, behind the ones queued. 0 or NOMEM.
int
    cc_opener_push (cc_opener_t *self, const uint8_t *data, size_t size);

//  True if the oldest queued block is decoded and opened (or failed to
//  decode): cc_opener_pop will not wait.
bool
    cc_opener_ready (cc_opener_t *self);

//  Takes the oldest queued block out, helping the workers until it is
//  ready. Returns it (caller owns it), or NULL with reason set when it did
//  not decode or nothing is queued (INVALID_ARG).
cc_block_t *
    cc_opener_pop (cc_opener_t *self, cc_reason_t *reason);

//  Takes the oldest queued block out if it is ready, without waiting: the
//  block (caller owns it), or NULL with reason set when it did not decode;
//  NULL with reason cleared (code 0) when none is ready. *next_ready (may
//  be NULL) says whether the block after it is ready too.
cc_block_t *
    cc_opener_take (cc_opener_t *self, cc_reason_t *reason, bool *next_ready);

//  Drops every queued block (waits for the chunks in progress).
void
    cc_opener_clear (cc_opener_t *self);

//  Blocks queued, the bytes they came as, and the transactions of those
//  decoded already.
size_t
    cc_opener_count (cc_opener_t *self);
size_t
    cc_opener_bytes (cc_opener_t *self);
size_t
    cc_opener_decoded (cc_opener_t *self);

//  A descriptor readable once a block became ready since the last
//  cc_opener_acknowledge; -1 without workers.
int
    cc_opener_fd (cc_opener_t *self);

//  Clears the descriptor's readiness (call before looking at the queue, so
//  a block that gets ready meanwhile signals again).
void
    cc_opener_acknowledge (cc_opener_t *self);

//  Makes the descriptor readable again (e.g. to come back for a second
//  ready block on the next turn of an event loop).
void
    cc_opener_rearm (cc_opener_t *self);

#endif
