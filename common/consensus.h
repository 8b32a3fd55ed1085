/*  =========================================================================
    consensus - Tendermint consensus for one validator, as a pure state machine

    This is Algorithm 1 of Buchman, Kwon, Milosevic, "The latest gossip on BFT
    consensus" (arXiv:1807.04938): rounds of propose / prevote / precommit with
    locking (lockedValue, lockedRound), the possible-decision value (validValue,
    validRound) that a proposer re-proposes with its valid round, the f+1 round
    skip, and timeouts that grow with the round: timeoutX(r) = X + r * delta.

    The machine owns no socket, clock or thread: the caller feeds it inputs
    (received messages, fired timeouts, validity answers, start of a height)
    and drains its outputs in order with cc_consensus_next:

      PERSIST    the new last-signed record; the caller writes it durably
                 BEFORE publishing any BROADCAST that follows it
      BROADCAST  a serialized Certchain__ConsensusMessage to publish (topic cns)
      SCHEDULE   call cc_consensus_timeout (kind, height, round) after
                 duration_ms
      VALIDATE   is this block valid at this height? answer with
                 cc_consensus_validity (hash, valid), once, whenever ready
      DECIDE     the height is decided: block bytes and its commit (a
                 serialized Certchain__Commit of a quorum of precommits)
      EVIDENCE   a validator signed two different votes for one height,
                 round and type: a serialized Certchain__Evidence

    After DECIDE the machine waits in step DECIDED; the caller commits the
    block and calls cc_consensus_start_height for the next height (also how
    a node that fell behind resumes after fetching blocks from the relay).

    The proposer's value comes from a build callback (cc_consensus_set_builder)
    called synchronously when the machine must propose a fresh value. A value
    is opaque bytes with a 32-byte id: by default the bytes are a serialized
    Certchain__Block and the id is the block hash H(header); set another id
    function with cc_consensus_set_value_id. A received proposal whose block
    does not have the id it claims is refused as MALFORMED.

    DESIGN
    Safety across restarts: the machine signs (height, round, step) triples in
    strictly increasing order, step PROPOSE < PREVOTE < PRECOMMIT. Before each
    new signature it emits PERSIST with that triple, the value id it signs and
    its lock; given the persisted record back at cc_consensus_new, it refuses
    (CC_E_DOUBLE_SIGN, no message) to sign anything lower, or the same triple
    with another value, and it resumes a height at the recorded round with the
    recorded lock. Signing the identical value again is allowed (Ed25519 is
    deterministic: the same bytes come out).

    Gossip: the paper assumes that what one correct process receives, every
    correct process receives. Pub/sub may drop, and an equivocator may tell
    each peer something else, so cc_consensus_rebroadcast re-emits this
    node's votes of the current height (every round: the prevotes of an old
    round are what lets others accept a re-proposal), its proposal of the
    current round, and relays the others' messages that the liveness proof
    needs every correct node to have: those that moved it into its round
    (one precommit per member of the previous round after a precommit
    timeout, one message per member of this round after a skip), the 2f+1
    prevotes that justify its validValue (line 28), and once decided, the
    decision's proposal and precommits (line 49). A node that sees a later
    height catches up from the relay's committed blocks.

    Bounds on what outside input can make it hold, per height: per member,
    round and type, the first vote and at most CC_CONSENSUS_VOTES_PER_MEMBER
    - 1 different ones (an equivocator's, each for nil or a value carried by
    a proposal; they are evidence, and they count for their values as every
    message of the paper's log does), at most
    CC_CONSENSUS_PROPOSALS_PER_ROUND proposals per round and only from that
    round's proposer, rounds up to the current one plus
    CC_CONSENSUS_ROUND_WINDOW (a message beyond is not stored, but its round
    is remembered, one number per member, so f+1 members beyond the window
    still move the machine forward: the f+1 skip rule needs no stored
    message), and for heights h+1 and h+2 at most CC_CONSENSUS_FUTURE_PER_SIGNER
    messages per member of V(h) and CC_CONSENSUS_FUTURE_BYTES bytes, replayed
    when the caller starts that height. Past rounds of the current height are
    kept until the height ends (rounds only advance with honest timeouts).

    Ownership: the machine borrows the key pair (it must outlive it), copies
    the validator set, and hands each output to the caller, who destroys it.
    =========================================================================
*/

#ifndef CC_CONSENSUS_H_INCLUDED
#define CC_CONSENSUS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "error.h"
#include "valset.h"

//  Rounds beyond the current one that are stored.
#define CC_CONSENSUS_ROUND_WINDOW 16
//  Distinct proposals kept per round (an equivocating proposer's second
//  value may be the one that gathers the votes).
#define CC_CONSENSUS_PROPOSALS_PER_ROUND 2
//  Votes kept per member, round and type: the first, and distinct later
//  ones of an equivocator (they count for their values, as in the paper).
#define CC_CONSENSUS_VOTES_PER_MEMBER 4
//  Messages buffered per signer for the next two heights.
#define CC_CONSENSUS_FUTURE_PER_SIGNER 32
//  Bytes buffered for the next two heights, all signers together.
#define CC_CONSENSUS_FUTURE_BYTES (64 * 1024 * 1024)

typedef struct _cc_consensus_t cc_consensus_t;

//  Where a height stands. PROPOSE, PREVOTE and PRECOMMIT are the paper's
//  steps and also name what a signature was for (a proposal, a prevote, a
//  precommit) in the last-signed record.
typedef enum {
    CC_CONSENSUS_STEP_NONE = 0,         //  no height started yet
    CC_CONSENSUS_STEP_PROPOSE = 1,
    CC_CONSENSUS_STEP_PREVOTE = 2,
    CC_CONSENSUS_STEP_PRECOMMIT = 3,
    CC_CONSENSUS_STEP_DECIDED = 4       //  decided; waiting for the next height
} cc_consensus_step_t;

typedef enum {
    CC_CONSENSUS_TIMEOUT_PROPOSE = 1,
    CC_CONSENSUS_TIMEOUT_PREVOTE = 2,
    CC_CONSENSUS_TIMEOUT_PRECOMMIT = 3
} cc_consensus_timeout_kind_t;

//  Timeout of a kind in round r is base + r * delta_ms milliseconds.
typedef struct {
    uint32_t propose_ms;        //  wait for the proposal
    uint32_t prevote_ms;        //  wait after any 2f+1 prevotes
    uint32_t precommit_ms;      //  wait after any 2f+1 precommits
    uint32_t delta_ms;          //  added per round to each
} cc_consensus_timeouts_t;

//  The last thing this validator signed, and its lock at that moment.
typedef struct {
    uint64_t height;                    //  0 when nothing was ever signed
    uint32_t round;                     //  round of the signature
    cc_consensus_step_t step;           //  PROPOSE, PREVOTE or PRECOMMIT
    bool has_hash;                      //  false for a nil vote
    uint8_t hash [CC_HASH_SIZE];        //  value id signed, when has_hash
    int32_t locked_round;               //  -1 when not locked
    uint8_t locked_hash [CC_HASH_SIZE]; //  locked value id, when locked
} cc_consensus_signed_t;

typedef enum {
    CC_CONSENSUS_PERSIST = 1,
    CC_CONSENSUS_BROADCAST,
    CC_CONSENSUS_SCHEDULE,
    CC_CONSENSUS_VALIDATE,
    CC_CONSENSUS_DECIDE,
    CC_CONSENSUS_EVIDENCE
} cc_consensus_output_kind_t;

//  One output. A plain record the caller reads directly (fields unused by a
//  kind are zero); data and commit are owned by the output.
typedef struct {
    cc_consensus_output_kind_t kind;    //  what the caller must do
    uint64_t height;                    //  SCHEDULE, VALIDATE, DECIDE, PERSIST
    uint32_t round;                     //  SCHEDULE, VALIDATE, DECIDE, PERSIST
    cc_consensus_timeout_kind_t timeout;    //  SCHEDULE: which timeout
    uint32_t duration_ms;               //  SCHEDULE: after how long
    uint8_t hash [CC_HASH_SIZE];        //  VALIDATE, DECIDE: the value id
    uint8_t *data;                      //  BROADCAST: ConsensusMessage bytes;
                                        //  VALIDATE, DECIDE: block bytes;
                                        //  EVIDENCE: Evidence bytes
    size_t size;                        //  bytes in data
    uint8_t *commit;                    //  DECIDE: serialized Commit
    size_t commit_size;                 //  bytes in commit
    cc_consensus_signed_t last_signed;  //  PERSIST: the record to write
} cc_consensus_output_t;

//  A snapshot of the machine, for status pages, metrics and tests.
typedef struct {
    uint64_t height;                    //  current height (0 before the first)
    uint32_t round;                     //  current round
    cc_consensus_step_t step;           //  current step
    int32_t locked_round;               //  -1 when not locked
    uint8_t locked_hash [CC_HASH_SIZE]; //  when locked_round >= 0
    int32_t valid_round;                //  -1 when no valid value
    uint8_t valid_hash [CC_HASH_SIZE];  //  when valid_round >= 0
    bool is_member;                     //  signs at this height
    uint64_t highest_height_seen;       //  highest height in a signed message
                                        //  from a member (> height: behind)
    size_t buffered;                    //  messages held for later heights
    uint64_t refused_signs;             //  double-sign refusals, ever
    uint64_t evidence;                  //  EVIDENCE outputs, ever
    uint64_t decided;                   //  heights decided, ever
} cc_consensus_status_t;

//  Builds the value to propose at (height, round): sets *bytes_p to a
//  malloc'd buffer the machine takes over, *size_p, and the value id into
//  hash_out (32 bytes). Returns 0, or a negative code to propose nothing.
typedef int (cc_consensus_build_fn) (void *arg, uint64_t height, uint32_t round,
                                     uint8_t **bytes_p, size_t *size_p, uint8_t *hash_out);

//  Computes the id of value bytes into id_out (32 bytes): 0 or a negative
//  code for bytes that are not a value.
typedef int (cc_consensus_value_id_fn) (void *arg, const uint8_t *bytes, size_t size,
                                        uint8_t *id_out);

//  Verifies a signature, exactly as cc_verify does (a caller may answer
//  from a cache of signatures it already verified, e.g. in a worker).
typedef bool (cc_consensus_verify_fn) (void *arg, const uint8_t *pubkey, cc_domain_t domain,
                                       const char *chain_id, const uint8_t *data, size_t size,
                                       const uint8_t *signature);

//  --- Life cycle ----------------------------------------------------------------

//  Creates a machine for chain_id. key is borrowed (NULL: an observer that
//  follows and decides but never signs). timeouts are copied. last_signed
//  is the record the caller last persisted from a PERSIST output, or NULL
//  for a validator that never signed. Caller owns the result; NULL on bad
//  arguments or no memory.
cc_consensus_t *
    cc_consensus_new (const char *chain_id, cc_keypair_t *key,
                      const cc_consensus_timeouts_t *timeouts,
                      const cc_consensus_signed_t *last_signed);

//  Destroys a machine and any outputs not drained; nulls the pointer; safe
//  on NULL.
void
    cc_consensus_destroy (cc_consensus_t **self_p);

//  Sets the proposer's value builder (see cc_consensus_build_fn). Without
//  one this validator proposes nothing fresh (it may still re-propose its
//  valid value).
void
    cc_consensus_set_builder (cc_consensus_t *self, cc_consensus_build_fn *fn, void *arg);

//  Sets the value id function (default: H(header) of a Certchain__Block).
void
    cc_consensus_set_value_id (cc_consensus_t *self, cc_consensus_value_id_fn *fn, void *arg);

//  Sets the signature verifier (default: cc_verify).
void
    cc_consensus_set_verifier (cc_consensus_t *self, cc_consensus_verify_fn *fn, void *arg);

//  Sets the largest value accepted in a proposal (default and ceiling
//  CC_MAX_MESSAGE_SIZE minus room for the envelope).
void
    cc_consensus_set_max_value_size (cc_consensus_t *self, size_t max_size);

//  --- Inputs --------------------------------------------------------------------
//
//  Each input returns 0; or a refusal code; or CC_E_DOUBLE_SIGN when the
//  input was taken but the machine then refused to sign what the algorithm
//  asked of it because the persisted last-signed record conflicts (it sends
//  nothing for that step and goes on). Refusals never change the machine.

//  Starts height (after the caller committed height - 1) with V(height),
//  which is copied: StartRound(0), or the round of the last-signed record
//  if it is for this height. Replays messages buffered for this height.
//  INVALID_ARG for height 0, a height not above the current one, or an
//  empty set.
int
    cc_consensus_start_height (cc_consensus_t *self, uint64_t height,
                               const cc_valset_t *valset);

//  Takes a serialized Certchain__ConsensusMessage. Refuses with OVERSIZE,
//  MALFORMED (unparsable, wrong field sizes, signer not the named
//  validator, bad vote type or valid round, a block without the claimed
//  id), NOT_MEMBER (signer not in V(current height)), BAD_SIGNATURE,
//  NOT_SCHEDULED (proposal from a member who is not proposer(h, r)),
//  STALE (a past height), WRONG_HEIGHT (more than two heights ahead),
//  BUSY (no height started, or the buffer for later heights is full).
//  A duplicate, a message for the next two heights (buffered), a
//  proposal beyond the per-round limit and a round beyond the window are
//  taken (0) without being stored.
int
    cc_consensus_receive (cc_consensus_t *self, const uint8_t *data, size_t size);

//  A timeout fired. Ignored (0) unless it is for the current height and
//  round (and step, for propose and prevote), as in the paper.
//  INVALID_ARG for an unknown kind.
int
    cc_consensus_timeout (cc_consensus_t *self, cc_consensus_timeout_kind_t kind,
                          uint64_t height, uint32_t round);

//  The answer to a VALIDATE of the current height. The first answer for a
//  value counts. NOT_FOUND for a value this height has not seen.
int
    cc_consensus_validity (cc_consensus_t *self, const uint8_t *block_hash, bool valid);

//  Emits BROADCAST outputs of this validator's votes of the current height
//  and of its proposal of the current round, exactly as first signed, and
//  relays the others' messages listed under Gossip above. Call it when a
//  timeout fires and periodically.
void
    cc_consensus_rebroadcast (cc_consensus_t *self);

//  --- Outputs -------------------------------------------------------------------

//  The next output in order, or NULL when none. Caller owns it.
cc_consensus_output_t *
    cc_consensus_next (cc_consensus_t *self);

//  Destroys an output; nulls the pointer; safe on NULL.
void
    cc_consensus_output_destroy (cc_consensus_output_t **output_p);

//  --- Accessors -----------------------------------------------------------------

//  Current height, 0 before the first start.
uint64_t
    cc_consensus_height (cc_consensus_t *self);

//  Current round.
uint32_t
    cc_consensus_round (cc_consensus_t *self);

//  Current step.
cc_consensus_step_t
    cc_consensus_step (cc_consensus_t *self);

//  Round of the lock, -1 when not locked.
int32_t
    cc_consensus_locked_round (cc_consensus_t *self);

//  The last-signed record as of now (what the last PERSIST carried).
const cc_consensus_signed_t *
    cc_consensus_last_signed (cc_consensus_t *self);

//  Fills status with a snapshot.
void
    cc_consensus_status (cc_consensus_t *self, cc_consensus_status_t *status);

//  Name of a step ("propose", ...), of an output kind ("broadcast", ...).
const char *
    cc_consensus_step_name (cc_consensus_step_t step);
const char *
    cc_consensus_output_name (cc_consensus_output_kind_t kind);

#endif
