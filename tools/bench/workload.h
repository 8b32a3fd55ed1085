/*  =========================================================================
    workload - the bench's accounts and its pre-signed transfers

    Signing is the client's cost, not the chain's: every transfer a run
    submits is built, signed and packed into its SubmitTxBatch request
    before the clock starts, on worker threads. A run then only sends bytes
    that are ready.

    Accounts are fresh key pairs, funded in the genesis of a network the
    bench starts (or by a faucet on an attached one). Transfers are
    interleaved across a range of accounts: transfer i is sent by account
    first + (i mod span) with the next nonce of that account, so any prefix
    of the stream is gap-free for every signer, and every batch spreads
    over many signers (the mempool packs signers round robin).

    Requests are packed with ids 1, 2, ... in batch order: each run uses
    its own DEALER, so those ids are unique on it.

    Ownership: accounts own their key pairs; a transfer set owns its packed
    requests and hashes, and borrows nothing after it is built (the
    accounts' nonces are advanced by the set at build time).
    =========================================================================
*/

#ifndef CC_BENCH_WORKLOAD_H_INCLUDED
#define CC_BENCH_WORKLOAD_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "error.h"

typedef struct _cc_bench_accounts_t cc_bench_accounts_t;
typedef struct _cc_bench_txset_t cc_bench_txset_t;

//  --- Accounts -----------------------------------------------------------------------

//  count fresh random accounts, each at nonce 0. Caller owns them; NULL
//  when out of memory.
cc_bench_accounts_t *
    cc_bench_accounts_new (size_t count);

//  Destroys the accounts (wiping their keys); nulls the pointer; safe on
//  NULL.
void
    cc_bench_accounts_destroy (cc_bench_accounts_t **self_p);

//  Number of accounts.
size_t
    cc_bench_accounts_size (cc_bench_accounts_t *self);

//  The public keys, 32 bytes each, contiguous, owned by the accounts.
const uint8_t *
    cc_bench_accounts_publics (cc_bench_accounts_t *self);

//  The key pair of account index (borrowed).
cc_keypair_t *
    cc_bench_accounts_key (cc_bench_accounts_t *self, size_t index);

//  Last nonce used by account index (0: none yet).
uint64_t
    cc_bench_accounts_nonce (cc_bench_accounts_t *self, size_t index);

//  --- Transfer sets ---------------------------------------------------------------------

//  count transfers of amount 1 from accounts [first, first + span),
//  interleaved (see above), each to the next account of the range, for
//  chain_id; packed in requests of at most batch transfers; signed on
//  threads threads (0: one per CPU). Advances the accounts' nonces. NULL
//  with reason (INVALID_ARG, NOMEM, INTERNAL).
cc_bench_txset_t *
    cc_bench_txset_new (cc_bench_accounts_t *accounts, size_t first, size_t span,
                        const char *chain_id, size_t count, size_t batch, size_t threads,
                        cc_reason_t *reason);

//  The transfers that fund accounts on a network the bench did not start:
//  one transfer of amount from payer (whose last nonce is payer_nonce) to
//  each account, in requests of at most batch. NULL with reason.
cc_bench_txset_t *
    cc_bench_txset_new_funding (cc_bench_accounts_t *accounts, cc_keypair_t *payer,
                                uint64_t payer_nonce, uint64_t amount, const char *chain_id,
                                size_t batch, cc_reason_t *reason);

//  Destroys a transfer set; nulls the pointer; safe on NULL.
void
    cc_bench_txset_destroy (cc_bench_txset_t **self_p);

//  Number of transfers, and of requests.
size_t
    cc_bench_txset_size (cc_bench_txset_t *self);
size_t
    cc_bench_txset_batches (cc_bench_txset_t *self);

//  Request number batch: its first transfer, its transfer count, and its
//  packed Request (id batch + 1; borrowed) with its size.
size_t
    cc_bench_txset_batch_first (cc_bench_txset_t *self, size_t batch);
size_t
    cc_bench_txset_batch_count (cc_bench_txset_t *self, size_t batch);
const uint8_t *
    cc_bench_txset_request (cc_bench_txset_t *self, size_t batch, size_t *size_p);

//  Hash (32 bytes, borrowed) of transfer index.
const uint8_t *
    cc_bench_txset_hash (cc_bench_txset_t *self, size_t index);

//  The index of the transfer with this hash: 0 and *index_p, or NOT_FOUND.
int
    cc_bench_txset_find (cc_bench_txset_t *self, const uint8_t *hash, size_t *index_p);

//  Wall-clock seconds signing and packing took.
double
    cc_bench_txset_sign_seconds (cc_bench_txset_t *self);

#endif
