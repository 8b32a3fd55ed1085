/*  =========================================================================
    state - accounts, validators and the rules that change them

    The state after block h is a set of (key, value) records in the store's
    "state" column family: accounts (balance, nonce) and validator records
    (certificate, status, profile). cc_state_t is the committed state of one
    process; cc_exec_t holds the pending writes of one block being executed
    on top of it (a proposer packing, a validator checking a proposal, a
    verifier re-executing), so nothing touches the committed state until the
    block is committed.

    The rules of DESIGN.md section 3, each with its own error code:
      - every tx: opened (signature, chain id, fields: see tx.h); nonce is
        exactly the signer's last nonce + 1 (NONCE_REPLAY below, NONCE_GAP
        above); balance covers amount + fee (INSUFFICIENT_BALANCE); no sum
        overflows (AMOUNT_OVERFLOW); the fee goes to the block's proposer.
      - Transfer: amount > 0 (ZERO_AMOUNT).
      - Certify: signer is a genesis CA (NOT_CA); node not banned (BANNED);
        valid_until beyond this height (CERT_EXPIRED); a renewal must extend
        the validity (ALREADY_ACTIVE otherwise); a new member needs room
        (VALSET_FULL).
      - Revoke: signer is a genesis CA (NOT_CA); node known (UNKNOWN_NODE)
        and active (NOT_ACTIVE).
      - Evidence: two votes, both signed (domain vote, this chain) by the
        same validator for the same height, round and type, with different
        block hashes (INVALID_EVIDENCE otherwise); the offender is a known
        certified node (UNKNOWN_NODE), not already banned (ALREADY_PUNISHED),
        and not the tx signer (SELF_EVIDENCE). Effect: status BANNED.
      - Resign: signer is an active validator (NOT_ACTIVE).
    A transaction that fails changes nothing.

    Every change made in block h takes effect for V(h+1). Expiry needs no
    write: a certificate is active at height h only while h < valid_until.
    Jailing: at the end of block h, an active validator that signed none of
    the canonical commits (block h's last commit onwards) of the last K =
    jail_after heights is set JAILED (K = 0 disables jailing).

    The app hash after block h is H(app_hash(h-1) || H(W)), where W is the
    list of (key, value) pairs block h wrote, sorted by key, each encoded as
    4-byte big-endian key length || key || 4-byte big-endian value length ||
    value. app_hash(0), the genesis state, uses 32 zero bytes as app_hash(-1).

    Ownership: the state borrows the store and the genesis (both must
    outlive it). An exec borrows the state and must be destroyed or
    committed before another exec of the same state is committed.
    =========================================================================
*/

#ifndef CC_STATE_H_INCLUDED
#define CC_STATE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "genesis.h"
#include "store.h"
#include "tx.h"
#include "valset.h"

typedef struct _cc_state_t cc_state_t;
typedef struct _cc_exec_t cc_exec_t;

//  Column family the state lives in; open the store with it.
#define CC_STATE_FAMILY "state"

//  --- Committed state ------------------------------------------------------------

//  Opens the state held in store; an empty store gets the genesis state
//  (height 0) written and committed. Refuses (CONFIG) a store made from
//  another genesis. Caller owns the result.
cc_state_t *
    cc_state_new (cc_store_t *store, cc_genesis_t *genesis, cc_reason_t *reason);

//  Destroys the in-memory state (not the store); nulls the pointer.
void
    cc_state_destroy (cc_state_t **self_p);

//  Height of the last committed block (0 = genesis only).
uint64_t
    cc_state_height (cc_state_t *self);

//  App hash after that height, 32 bytes owned by the state.
const uint8_t *
    cc_state_app_hash (cc_state_t *self);

//  The genesis this state started from (borrowed).
cc_genesis_t *
    cc_state_genesis (cc_state_t *self);

//  An account's committed balance and nonce; an unknown account reads as
//  zero balance and nonce 0 (returns NOT_FOUND, outputs set to 0).
int
    cc_state_account (cc_state_t *self, const uint8_t *address, uint64_t *balance,
                      uint64_t *nonce);

//  A validator's committed record (caller frees with
//  certchain__validator_record__free_unpacked), or NOT_FOUND.
int
    cc_state_validator (cc_state_t *self, const uint8_t *pubkey,
                        Certchain__ValidatorRecord **record_p);

//  V(height) for any height from 1 to cc_state_height + 1. Caller owns it.
//  NULL for a height outside that range.
cc_valset_t *
    cc_state_valset (cc_state_t *self, uint64_t height);

//  Every validator record ever written (active or not), sorted by key;
//  caller frees the array and each record. 0 or error.
int
    cc_state_validators (cc_state_t *self, Certchain__ValidatorRecord ***records_p,
                         size_t *count_p);

//  --- Executing a block ------------------------------------------------------------

//  Starts executing block `height` (= cc_state_height + 1) proposed by
//  proposer. Caller owns the result.
cc_exec_t *
    cc_exec_new (cc_state_t *state, uint64_t height, const uint8_t *proposer);

//  Destroys pending changes without committing; nulls the pointer.
void
    cc_exec_destroy (cc_exec_t **self_p);

//  Records who signed the canonical commit for height - 1 (block height's
//  last commit), count public keys of 32 bytes, for jailing.
void
    cc_exec_set_last_commit_signers (cc_exec_t *self, const uint8_t *signers, size_t count);

//  Applies one opened transaction with every rule above. 0, or the rule's
//  error code with a specific message; on error nothing changes.
int
    cc_exec_apply (cc_exec_t *self, cc_tx_t *tx, cc_reason_t *reason);

//  Ends the block (jailing) and computes its app hash into app_hash.
//  No more cc_exec_apply after this. 0 or error.
int
    cc_exec_finish (cc_exec_t *self, uint8_t *app_hash);

//  Number of transactions applied so far.
size_t
    cc_exec_tx_count (cc_exec_t *self);

//  A balance and nonce as seen by this execution (pending writes first).
int
    cc_exec_account (cc_exec_t *self, const uint8_t *address, uint64_t *balance,
                     uint64_t *nonce);

//  Adds the finished block's writes (state records and the state's own
//  height and app hash) to batch. 0 or error.
int
    cc_exec_write (cc_exec_t *self, cc_batch_t *batch);

//  After the batch holding cc_exec_write's writes was committed to the
//  store: makes the block the committed state and destroys the exec.
void
    cc_state_commit (cc_state_t *self, cc_exec_t **exec_p);

#endif
