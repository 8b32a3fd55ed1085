/*  =========================================================================
    checker - the validator's pool of signature-check workers

    Every transaction a validator hears from the relay ("txb" batches, or
    a single "tx" from gossip) must have its Ed25519 signature verified
    once before it enters the mempool. At
    tens of microseconds a check, doing that on the event loop would stall
    consensus under load, so the loop hands transactions to this pool: it
    fills a batch (up to CC_CHECKER_BATCH txs), passes the batch by pointer
    to the least busy of N worker actors (czmq zactor, one thread each),
    and the worker runs cc_tx_open (signature, chain id, fields) on each tx
    and sends the batch back. The pool reads the workers' pipes on the
    caller's zloop and hands every tx, with its result, to the done
    callback, on the loop thread: there the validator admits opened txs to
    the mempool, which trusts a pre-opened tx and does not verify it again.

    DESIGN
    - Batches amortise the inproc hand-off (one message per batch, not per
      tx); a partial batch leaves as soon as the caller flushes (at the end
      of each burst read from the socket), so a lone tx is not delayed.
    - Each worker has at most CC_CHECKER_IN_FLIGHT batches outstanding;
      further full batches wait in a queue here. The whole backlog (filling
      batch, queue, in flight) is bounded by max_pending transactions:
      beyond it cc_checker_submit refuses with BUSY and the caller drops
      and counts the tx (the zguide's "drop and count" for slow consumers;
      the client may resubmit).
    - Results may come back in another order than submitted (two workers):
      the mempool accepts a signer's nonces in any order within its gap.
    - A batch in flight is touched only by its worker; the pool touches it
      again only after the worker handed it back, or after every worker
      thread has ended (destroy).
    - A tx may be verified by a proposal (cc_block_verify) while it waits
      here; the mempool then remembers its hash and signature. Just before
      a batch leaves for a worker, the pool asks the known function (if
      set) about each tx and hands those it knows straight to done,
      unopened and with code 0, instead of verifying them a second time.
      Such a tx is NOT opened: the callee must admit it through
      cc_mempool_add, which opens it without a check only when the very
      same hash AND signature are in its cache, and checks it otherwise.

    Ownership: the pool owns the transactions submitted to it until it
    hands each one to the done callback, which then owns it. It borrows the
    zloop, which must outlive it. Not thread-safe: one loop owns it.
    =========================================================================
*/

#ifndef CC_VALIDATOR_CHECKER_H_INCLUDED
#define CC_VALIDATOR_CHECKER_H_INCLUDED

#include <czmq.h>

#include "tx.h"

//  Transactions per batch handed to a worker.
#define CC_CHECKER_BATCH 64
//  Batches one worker may hold at a time.
#define CC_CHECKER_IN_FLIGHT 2

typedef struct _cc_checker_t cc_checker_t;

//  Told, on the loop thread, of each checked tx: code 0 = opened (signature
//  good), else the cc_tx_open refusal. The callee owns *tx_p and must take
//  it (setting *tx_p to NULL) or leave it to be destroyed by the pool.
typedef void (cc_checker_done_fn) (void *argument, cc_tx_t **tx_p, int code);

//  True if the tx (borrowed, unopened) needs no worker: its hash and
//  signature are already known to the caller (verified, pooled or
//  committed). Called on the loop thread.
typedef bool (cc_checker_known_fn) (void *argument, cc_tx_t *tx);

//  A pool of threads workers (at least 1) checking txs for chain_id,
//  reporting through done on loop. At most max_pending txs are held at
//  once. Caller owns it; NULL on bad arguments or when a worker cannot
//  start.
cc_checker_t *
    cc_checker_new (zloop_t *loop, const char *chain_id, size_t threads, size_t max_pending,
                    cc_checker_done_fn *done, void *argument);

//  Sets the known function (NULL: none), called with the pool's argument
//  before each batch is handed to a worker. done then receives a known tx
//  unopened with code 0 (see DESIGN).
void
    cc_checker_set_known (cc_checker_t *self, cc_checker_known_fn *known);

//  Stops the workers, destroys every tx still held (none is reported);
//  nulls the pointer; safe on NULL.
void
    cc_checker_destroy (cc_checker_t **self_p);

//  Takes *tx_p (a decoded, unopened tx) for checking and nulls it; 0. BUSY
//  when max_pending txs are already held: the caller keeps the tx.
int
    cc_checker_submit (cc_checker_t *self, cc_tx_t **tx_p);

//  Sends the partly filled batch, if any, to a worker (or the queue).
void
    cc_checker_flush (cc_checker_t *self);

//  Transactions held: filling, queued and in flight.
size_t
    cc_checker_pending (cc_checker_t *self);

//  Transactions checked so far (signatures verified by the workers), and
//  how many of them failed; transactions skipped as known.
uint64_t
    cc_checker_checked (cc_checker_t *self);
uint64_t
    cc_checker_skipped (cc_checker_t *self);
uint64_t
    cc_checker_failed (cc_checker_t *self);

#endif
