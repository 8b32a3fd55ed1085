/*  =========================================================================
    mempool - transactions waiting to be packed into a block

    A validator receives transactions from clients (the relay's `tx` topic)
    and keeps them here until a proposer packs them. Admission is where a
    transaction's signature is verified, once for this process: the mempool
    remembers which transaction hashes it has verified, so a proposal
    carrying transactions already seen needs no second verification.

    Admission refuses, with the transaction's own code: a bad signature,
    another chain, a malformed body (cc_tx_open); a hash already pooled or
    committed recently (DUPLICATE, decided before any signature check); a
    nonce at or below the signer's committed nonce (NONCE_REPLAY); a nonce
    more than max_gap beyond it (NONCE_GAP); a second transaction for a
    (signer, nonce) already pooled (DUPLICATE: the first one stays); and,
    when the pool is full and no cheaper transaction may be evicted,
    MEMPOOL_FULL.

    Eviction: when the count or byte cap would be exceeded, the newcomer may
    evict pooled transactions, cheapest first, but only one that is the
    LAST nonce of its signer's queue (so eviction never opens a gap in
    anyone's queue), and only one whose fee is strictly lower than the
    newcomer's. Among equal fees the most recent arrival goes first. A
    newcomer never evicts a transaction of its own signer that comes before
    it. If room cannot be made, nothing is evicted.

    Packing order (cc_mempool_reap): signers take turns, one transaction
    each per turn (round robin), in the order their queue was created in
    this pool (first arrival; a signer whose queue empties and refills goes
    to the back). Each signer contributes only the contiguous run of nonces
    starting at its committed nonce + 1, ascending; a gap ends its run, and
    so does a transaction that no longer fits max_bytes. Fairness across
    signers matters more here than strict key order; the result is
    deterministic for a given history of calls.

    DESIGN and complexity (n pooled txs, S signers with pooled txs, k txs of
    one signer, at most max_gap + 1):
    - by hash: a cc_keymap (one open-addressing array) keyed by the binary
      32-byte hash, hashed with SipHash under a random per-pool key (no
      hash flooding): O(1).
    - per signer: a cc_keymap of signers, each with an array of its txs sorted
      by nonce: binary search O(log k); insertion O(1) when nonces arrive in
      order, else a memmove of at most k pointers.
    - eviction: a binary min-heap of signers keyed by the fee of their LAST
      tx: O(log S) per change of a queue's tail, O(log S) per victim.
    - signature cache and recently committed hashes: fixed-size rings
      indexed by cc_keymap, O(1), oldest forgotten first.
    So cc_mempool_add is O(log n) apart from the one signature check;
    cc_mempool_reap is O(S log k + returned) plus one nonce lookup per
    signer; cc_mempool_update is O(count (log k + log S)) plus one nonce
    lookup per committed tx.

    The signature cache is keyed by the tx hash, i.e. H(body bytes), which
    does not cover the signature. cc_mempool_signature_checked answers
    "was some valid signature of this body verified here"; a block verifier
    that must reject a block whose tx carries a corrupted signature should
    prefer cc_mempool_signature_matches, which also compares the signature
    bytes.

    Ownership: the pool owns the transactions it admits; pointers returned
    by cc_mempool_get and cc_mempool_reap are borrowed and valid until the
    next call that changes the pool (add, remove, update, destroy).
    Not thread-safe: one event loop owns a pool.
    =========================================================================
*/

#ifndef CC_MEMPOOL_H_INCLUDED
#define CC_MEMPOOL_H_INCLUDED

#include "tx.h"

typedef struct _cc_mempool_t cc_mempool_t;

//  Returns the committed nonce of signer (32 bytes): the nonce of its last
//  committed transaction, 0 for an account that never sent one.
typedef uint64_t (cc_mempool_nonce_fn) (void *argument, const uint8_t *signer);

//  Default farthest a nonce may run ahead of the committed nonce.
#define CC_MEMPOOL_MAX_GAP 1000
//  Size of cc_mempool_stats_t.refused_by_code (indexed by -code).
#define CC_MEMPOOL_CODE_SLOTS 128

//  Counters since the pool was created.
typedef struct {
    uint64_t admitted;              //  transactions accepted by cc_mempool_add
    uint64_t refused;               //  refusals, all codes together
    uint64_t refused_by_code [CC_MEMPOOL_CODE_SLOTS];   //  refusals by -code
    uint64_t evicted;               //  pooled txs evicted for a better-paying one
    uint64_t removed;               //  txs taken out by cc_mempool_remove
    uint64_t committed;             //  pooled txs removed as committed
    uint64_t stale;                 //  pooled txs removed as nonce now used
    uint64_t verifications;         //  signature verifications done by add
    uint64_t signature_hits;        //  adds that skipped verification (cache)
} cc_mempool_stats_t;

//  --- Lifecycle -----------------------------------------------------------------

//  Creates an empty pool for chain_id holding at most max_txs transactions
//  and max_bytes bytes of envelopes. nonce_fn(argument, signer) gives
//  committed nonces; NULL means 0 for everyone. The signature cache holds
//  2 * max_txs hashes and the recently committed set max_txs (each at least
//  256; about 150 bytes a hash). Caller owns the pool; NULL when a cap is 0
//  or on out of memory.
cc_mempool_t *
    cc_mempool_new (const char *chain_id, size_t max_txs, size_t max_bytes,
                    cc_mempool_nonce_fn *nonce_fn, void *argument);

//  Destroys the pool and every transaction in it; nulls the pointer; safe
//  on NULL.
void
    cc_mempool_destroy (cc_mempool_t **self_p);

//  Sets how far beyond the committed nonce a nonce may be (default
//  CC_MEMPOOL_MAX_GAP). Already pooled transactions are kept.
void
    cc_mempool_set_max_gap (cc_mempool_t *self, uint64_t max_gap);

//  --- Admission and removal -----------------------------------------------------

//  Admits *tx_p. On success (0) the pool owns the transaction and *tx_p is
//  NULL; on refusal the caller keeps it and the code (with a message in
//  reason, which may be NULL) is returned. An unopened tx is opened here
//  with a signature check, unless this pool already verified the very same
//  signature for this hash; a tx the caller already opened (e.g. made by
//  cc_tx_new) is trusted as opened. Codes: DUPLICATE, BAD_SIGNATURE,
//  WRONG_CHAIN, MALFORMED, BAD_FIELD, NO_PAYLOAD (and other cc_tx_open
//  codes), NONCE_REPLAY, NONCE_GAP, MEMPOOL_FULL, NOMEM.
int
    cc_mempool_add (cc_mempool_t *self, cc_tx_t **tx_p, cc_reason_t *reason);

//  Removes and destroys the pooled tx of hash (e.g. one that failed to
//  apply while packing). Later nonces of its signer stay, waiting for the
//  gap to be filled. 0 or NOT_FOUND.
int
    cc_mempool_remove (cc_mempool_t *self, const uint8_t *tx_hash);

//  After a block commits, once nonce_fn already answers with the new state:
//  committed (count borrowed txs, opened or not) are removed by hash, their
//  hashes remembered as recently committed (and as signature-checked), and
//  every pooled tx of their signers whose nonce is now <= the committed
//  nonce is removed as stale.
void
    cc_mempool_update (cc_mempool_t *self, cc_tx_t **committed, size_t count);

//  --- Packing -------------------------------------------------------------------

//  Fills out (room for max_txs pointers) with up to max_txs pooled txs
//  totalling at most max_bytes envelope bytes, in packing order (see
//  above), and returns how many. Pointers are borrowed. The pool is not
//  changed: call cc_mempool_update once the block commits.
size_t
    cc_mempool_reap (cc_mempool_t *self, size_t max_txs, size_t max_bytes, cc_tx_t **out);

//  --- Queries -------------------------------------------------------------------

//  Number of pooled transactions.
size_t
    cc_mempool_size (cc_mempool_t *self);

//  Sum of the envelope sizes of the pooled transactions.
size_t
    cc_mempool_bytes (cc_mempool_t *self);

//  True if a tx of this hash (32 bytes) is pooled.
bool
    cc_mempool_contains (cc_mempool_t *self, const uint8_t *tx_hash);

//  The pooled tx of this hash (borrowed), or NULL.
cc_tx_t *
    cc_mempool_get (cc_mempool_t *self, const uint8_t *tx_hash);

//  True if this process already verified a signature for this tx hash:
//  pooled, or verified or committed recently (bounded cache).
bool
    cc_mempool_signature_checked (cc_mempool_t *self, const uint8_t *tx_hash);

//  Stricter: true if the signature bytes of tx are the very ones verified
//  for its hash (pooled, verified or committed recently). Use this to skip
//  the check of a proposal's tx: a corrupted signature never matches.
bool
    cc_mempool_signature_matches (cc_mempool_t *self, cc_tx_t *tx);

//  Records that the caller verified tx's signature (e.g. a block verifier
//  checking a proposal's transactions), so later copies need no check.
void
    cc_mempool_signature_remember (cc_mempool_t *self, cc_tx_t *tx);

//  Copies the counters into stats.
void
    cc_mempool_stats (cc_mempool_t *self, cc_mempool_stats_t *stats);

#endif
