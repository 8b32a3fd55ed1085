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
      - every tx: opened (signature, chain id, fields: see tx.h; a tx not
        yet opened is opened here with its signature checked); its chain id
        is this chain's (WRONG_CHAIN, even for a tx opened earlier for
        another chain); nonce is exactly the signer's last nonce + 1
        (NONCE_REPLAY below, NONCE_GAP above); balance covers amount + fee
        (INSUFFICIENT_BALANCE); no sum overflows (AMOUNT_OVERFLOW: amount +
        fee, the recipient's and the proposer's new balances); the fee goes
        to the block's proposer's account. Checked in that order, the
        payload's rules coming before the money.
      - Transfer: amount > 0 (ZERO_AMOUNT).
      - Certify: signer is a genesis CA (NOT_CA); node not a genesis CA
        (ALREADY_ACTIVE for a producing one, BAD_FIELD otherwise); node not
        banned (BANNED); valid_until > h + 1, so the node is in V(h + 1) at
        least (CERT_EXPIRED); a node active at h is renewed: valid_until
        must grow (ALREADY_ACTIVE otherwise), since_height is kept; any
        other node becomes ACTIVE from h + 1 (since_height = h + 1); a node
        not already in V(h + 1) needs room: V(h + 1), producing CAs
        included, must hold fewer than max_validators (VALSET_FULL; 0 = no
        limit).
      - Revoke: signer is a genesis CA (NOT_CA); node known (UNKNOWN_NODE)
        and active at h (NOT_ACTIVE). Effect: status REVOKED.
      - Evidence: two votes, both signed (domain vote, this chain) by the
        same validator for the same height, round and type, with different
        block hashes (INVALID_EVIDENCE otherwise); the offender is a known
        certified node (UNKNOWN_NODE), not already banned (ALREADY_PUNISHED),
        and not the tx signer (SELF_EVIDENCE). Effect: status BANNED (from
        any status), reason naming the height and round. Genesis CAs have
        no record: UNKNOWN_NODE.
      - Resign: signer is a validator active at h (NOT_ACTIVE). Effect:
        status RESIGNED.
    Here h is the block's height, and a record is "active at x" when its
    status is ACTIVE and x < valid_until.
    A transaction that fails changes nothing.

    Every change made in block h takes effect for V(h+1): V(x) = producing
    genesis CAs + records active at x. Expiry needs no write: a certificate
    is active at height x only while x < valid_until.
    Jailing (K = jail_after; 0 disables it): block h carries the canonical
    commit of h - 1, whose signers get last_signed_height = h - 1. Then
    every record active at h that was in the set for each of the heights
    h-K .. h-1 and signed none of their commits is set JAILED (reason
    "absent from the last K commits", status_height = h), that is when
        max(last_signed_height + 1, since_height) + K <= h.
    A validator in the set from height 1 that never signs is jailed by
    block K + 1, not earlier. Genesis CAs are never jailed.

    The app hash after block h is H(app_hash(h-1) || H(W)), where W is the
    list of (key, value) pairs block h wrote, sorted by key, each encoded as
    4-byte big-endian key length || key || 4-byte big-endian value length ||
    value. app_hash(0), the genesis state, uses 32 zero bytes as app_hash(-1).
    Keys (values are packed protobufs unless noted):
      "a" + address (32)      Account; every account the block touched
      "v" + pubkey (32)       ValidatorRecord; every record it changed
      "s" + height (8, BE)    V(height) as its sorted keys concatenated,
                              written by block height-1 only when
                              V(height) != V(height-1) (genesis writes V(1))
    Meta keys "m..." (height, app hash, genesis hash) are stored too but
    are not part of W. W holds final values, not the transaction list: two
    commuting transactions in either order give the same app hash (the
    header's tx root covers the order).

    Ownership: the state borrows the store and the genesis (both must
    outlive it). An exec borrows the state and must be destroyed or
    committed before another exec of the same state is committed. A state
    and its execs are used by one thread at a time (reads fill the state's
    account cache).
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
//  (height 0) written and committed (genesis validators: ACTIVE from
//  height 1, valid_until UINT64_MAX). Refuses (CONFIG) a store made from
//  another genesis or opened without CC_STATE_FAMILY. The genesis is not
//  validated here (cc_genesis_load does). Caller owns the result.
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
//  cc_state_account_peek answers the same without keeping what it read in
//  the account cache: for addresses an outsider chooses.
int
    cc_state_account_peek (cc_state_t *self, const uint8_t *address, uint64_t *balance,
                           uint64_t *nonce);
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
//  proposer (32 bytes, copied). Caller owns the result; NULL for another
//  height.
cc_exec_t *
    cc_exec_new (cc_state_t *state, uint64_t height, const uint8_t *proposer);

//  Destroys pending changes without committing; nulls the pointer.
void
    cc_exec_destroy (cc_exec_t **self_p);

//  Records who signed the canonical commit for height - 1 (block height's
//  last commit), count public keys of 32 bytes, for jailing.
void
    cc_exec_set_last_commit_signers (cc_exec_t *self, const uint8_t *signers, size_t count);

//  Applies one transaction with every rule above (opening it first if
//  needed). 0, or the rule's error code with a specific message; on error
//  nothing changes. INVALID_ARG after cc_exec_finish.
int
    cc_exec_apply (cc_exec_t *self, cc_tx_t *tx, cc_reason_t *reason);

//  Ends the block (last-commit signers, jailing, V(height + 1)) and
//  computes its app hash into app_hash (may be NULL). No more
//  cc_exec_apply after this. 0, INVALID_ARG if already finished, NOMEM.
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
//  height and app hash) to batch. 0, or INVALID_ARG before finish.
int
    cc_exec_write (cc_exec_t *self, cc_batch_t *batch);

//  After the batch holding cc_exec_write's writes was committed to the
//  store: makes the block the committed state and destroys the exec.
void
    cc_state_commit (cc_state_t *self, cc_exec_t **exec_p);

#endif
