/*  =========================================================================
    sync - catching up a chain from the relay, and taking blocks off "blk"

    A process that stores the chain (verifier, validator, CA) is either at
    the network's tip or behind it. cc_sync_t brings it up: once told the
    height the network has reached (cc_sync_target, from a GetStatus reply
    or from a block seen on "blk"), it asks the relay for GetBlocks{from,
    max_count = batch} through the service's own DEALER (cc_rpc_client_t,
    borrowed) and queues the reply's blocks. The opener's workers (common/
    opener.h) decode them and open their transactions (the signature checks)
    ahead; cc_sync_work, called by the service when cc_sync_fd is readable,
    takes the oldest ready block and gives it to the chain: cc_chain_verify
    (the patent's rule, with the block's own quorum commit required) then
    cc_chain_commit with the finished exec, so nothing is executed twice.
    Each block's outcome goes to the service's on_block callback: verdict 0
    = committed, else the block was discarded with that verdict, and the
    queue is emptied (nothing past a discarded block can extend the chain).
    A request that gets no reply within timeout_ms is asked again by
    cc_sync_tick.

    Blocks also arrive one by one on the "blk" topic (cc_sync_offer): the
    next block is verified and committed at once; a block at or below the tip
    is a repeat (same hash: 0, quietly) or a conflict (another hash: CONFLICT,
    discarded and reported); a block further ahead means this process missed
    some, so it is kept aside in a small bounded set and a fetch starts; once
    the gap is filled the kept blocks are applied in order.

    The service owns the DEALER and polls its socket; it hands every reply to
    cc_sync_on_reply first, which returns false for replies that are not
    sync's (matched by request id), so those stay the service's own.

    DESIGN: no lock-step on the way. One request is in flight, asked as soon
    as the previous reply is queued, from the height after the last block
    queued; only when queue_bytes of blocks wait does sync stop
    asking, so memory stays bounded while the relay, the workers' signature
    checks and the caller's execution and commits all run at once. One
    block per cc_sync_work call keeps the service's event loop answering
    queries between blocks. A reply to a request that timed out (and was
    asked again) still queues what extends the queue.

    Ownership: the sync borrows the chain and the client, which must outlive
    it; blocks handed to on_block are borrowed for the call only.
    =========================================================================
*/

#ifndef CC_SYNC_H_INCLUDED
#define CC_SYNC_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "chain.h"
#include "rpc.h"

typedef struct _cc_sync_t cc_sync_t;

//  Every now_ms below is the caller's clock in milliseconds (monotonic or
//  wall clock, the same one on every call): sync only compares them.

//  Defaults for the fields of cc_sync_opts_t left at 0.
#define CC_SYNC_DEFAULT_BATCH 20
#define CC_SYNC_DEFAULT_TIMEOUT_MS 3000
#define CC_SYNC_DEFAULT_THREADS 2
//  Most blocks kept aside from "blk" while a gap is being filled.
#define CC_SYNC_MAX_PENDING 256
//  No request ahead once this many bytes of fetched blocks wait in the
//  queue: enough work to hide a round trip to the relay, while the decoded
//  blocks (a few times their bytes) stay well inside a service's memory.
#define CC_SYNC_QUEUE_BYTES (8 * 1024 * 1024)

typedef struct {
    uint32_t batch;              //  blocks per GetBlocks request (default 20)
    uint32_t timeout_ms;         //  re-ask after this long without a reply (default 3000)
    size_t queue_bytes;          //  no request ahead past this many bytes queued
                                 //  (default CC_SYNC_QUEUE_BYTES)
    size_t threads;              //  workers opening fetched blocks, and threads of
                                 //  cc_block_verify for blocks from "blk" (default 2)
    bool trust_signatures;       //  a quorum commit vouches for the signatures of a
                                 //  block's txs: none is checked (a CA's view)
    cc_signature_checked_fn *signature_checked;  //  optional cache (see block.h), for
                                 //  blocks from "blk": fetched blocks are opened
                                 //  ahead by the workers, which cannot ask it
    void *signature_argument;    //  passed to signature_checked
} cc_sync_opts_t;

//  Told for each block sync processed: verdict 0 = committed, else discarded
//  with reason (a block verdict, CONFLICT, or STORE when this process could
//  not write it). Repeats of committed blocks are not told. The block is
//  borrowed for the call.
typedef void (cc_sync_block_fn) (void *argument, cc_block_t *block, int verdict,
                                 const cc_reason_t *reason);

//  --- Life cycle --------------------------------------------------------------

//  A sync for chain, asking relay (both borrowed). opts may be NULL (all
//  defaults); fields left 0 take the defaults. on_block may be NULL.
//  Caller owns the result; NULL on NOMEM.
cc_sync_t *
    cc_sync_new (cc_chain_t *chain, cc_rpc_client_t *relay, const cc_sync_opts_t *opts,
                 cc_sync_block_fn *on_block, void *argument);

//  Destroys the sync and the blocks it kept aside; nulls the pointer; safe
//  on NULL.
void
    cc_sync_destroy (cc_sync_t **self_p);

//  --- Catching up ---------------------------------------------------------------

//  The network has at least height: if the chain is behind and no request
//  is in flight, asks for the next batch.
void
    cc_sync_target (cc_sync_t *self, uint64_t height, uint64_t now_ms);

//  Hands a reply from the DEALER to sync. True if it answers sync's request
//  in flight (or an earlier one sync gave up on): consumed, its blocks
//  queued (copied) for cc_sync_work, the next batch asked at once when
//  still behind and the queue is under queue_bytes. False: not
//  sync's, the caller keeps it. Never frees the reply.
bool
    cc_sync_on_reply (cc_sync_t *self, Certchain__Reply *reply, uint64_t now_ms);

//  A descriptor that becomes readable when a queued block is ready for
//  cc_sync_work (poll it for input, e.g. with zloop_poller).
int
    cc_sync_fd (cc_sync_t *self);

//  Verifies and commits the oldest queued block if the workers have opened
//  it (on_block told); never waits. A discard (or a block that does not
//  decode) empties the queue and backs off. One block per call: when the
//  next is ready too, the descriptor is readable again. True if a block
//  was taken.
bool
    cc_sync_work (cc_sync_t *self, uint64_t now_ms);

//  Asks again when the request in flight had no reply for timeout_ms (or
//  when behind with nothing in flight, e.g. after a failed send).
void
    cc_sync_tick (cc_sync_t *self, uint64_t now_ms);

//  True while the chain's tip is below the target.
bool
    cc_sync_behind (cc_sync_t *self);

//  The highest height the network is known to have.
uint64_t
    cc_sync_target_height (cc_sync_t *self);

//  --- Blocks from the "blk" topic -----------------------------------------------

//  Offers a serialized block (with its commit) seen on "blk":
//    tip + 1: verified and committed (on_block told); 0 or the verdict;
//    <= tip:  0 quietly if it is the stored block; else discarded (on_block
//             told) with the first check that fails for a past height
//             (WRONG_CHAIN, UNAUTHORIZED_PROPOSER, NOT_SCHEDULED, the
//             COMMIT_* codes), or CONFLICT when it passes them all (a
//             second quorum-committed block: the reason names both hashes);
//    > tip + 1: kept aside (at most CC_SYNC_MAX_PENDING, the farthest
//             dropped first) and a fetch started; 0. The
//             target is NOT raised (the block is unverified). Kept blocks
//             are applied once the gap is filled; one the relay turns out
//             not to hold (an empty GetBlocks answer asked after it came)
//             is discarded as WRONG_HEIGHT (on_block told).
//  A block that does not decode returns its code (MALFORMED, OVERSIZE,
//  BAD_FIELD) with reason and is NOT reported to on_block (there is no
//  block to hand over): the caller counts it from the return value.
int
    cc_sync_offer (cc_sync_t *self, const uint8_t *data, size_t size, uint64_t now_ms,
                   cc_reason_t *reason);

#endif
