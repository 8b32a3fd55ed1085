/*  =========================================================================
    block - a block of the chain: decoding, building, commits and the
    verdict every syncing node applies

    A block travels as Block{header, proposer_signature, txs, last_commit,
    commit} (proto/chain.proto). The header is carried as bytes and the
    block hash is H(header bytes), so every node hashes exactly what the
    proposer signed (domain "block"). The header commits to the rest:
      tx_root          = Merkle root (cc_merkle_root) of the tx hashes
                         (H(tx body)) in block order;
      valset_hash      = cc_valset_hash (V(height));
      last_commit_hash = H(packed last_commit) for height > 1, and 32 zero
                         bytes at height 1, which has no last commit;
      app_hash         = the state's app hash after the block's txs.
    The block's own commit is attached after consensus decided, outside the
    hash: different nodes may hold different, equally valid commits.

    cc_block_verify is the patent's rule in one function: every process that
    stores a block (verifier, validator, relay when it verifies) calls it,
    and its verdict code says why a block was discarded. The checks run in
    a fixed order, cheapest and most telling first, so a rogue producer is
    named UNAUTHORIZED_PROPOSER before anything else is computed.

    DESIGN: a transaction's hash covers its body, not its signature, so the
    tx root does not pin the signature bytes. Every signature in a block is
    therefore verified (or found in a cache that keys on hash AND signature,
    see cc_block_verify_opts_t), otherwise two nodes could disagree about a
    block whose signature bytes were swapped in transit.

    Ownership: a cc_block_t owns its decoded Block, its decoded header and
    one cc_tx_t per transaction; accessors return pointers owned by the
    block. A block is not thread-safe, except that cc_block_verify uses
    worker threads internally.
    =========================================================================
*/

#ifndef CC_BLOCK_H_INCLUDED
#define CC_BLOCK_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "state.h"
#include "tx.h"
#include "valset.h"

typedef struct _cc_block_t cc_block_t;

//  Largest serialized block (with its commit) accepted anywhere.
#define CC_BLOCK_MAX_SIZE (32 * 1024 * 1024)
//  Largest serialized header (a chain id of 64 and seven 32-byte fields
//  need about 330 bytes).
#define CC_BLOCK_HEADER_MAX_SIZE 1024
//  Most precommits a commit may carry, and the largest vote body.
#define CC_COMMIT_MAX_PRECOMMITS 4096
#define CC_VOTE_MAX_SIZE 512

//  --- Decoding and accessors ------------------------------------------------

//  Decodes a serialized Block (with or without its commit) and checks its
//  shape, not its validity: size (OVERSIZE over CC_BLOCK_MAX_SIZE, a header
//  over CC_BLOCK_HEADER_MAX_SIZE, a tx over CC_TX_MAX_SIZE, more than
//  CC_COMMIT_MAX_PRECOMMITS precommits, more than one protobuf field per 32
//  bytes: padding that would make protobuf-c allocate far more memory than
//  the input), protobuf syntax (MALFORMED), field
//  sizes: 32-byte hashes and proposer, 64-byte signature, tx_count equal to
//  the number of txs, commits with 32-byte block hashes (BAD_FIELD).
//  NULL with the code and a message in reason. Caller owns the result.
cc_block_t *
    cc_block_decode (const uint8_t *data, size_t size, cc_reason_t *reason);

//  A block's height and hash (hash: 32 bytes) read from its bytes without
//  decoding its transactions: what a node that may already hold the block
//  needs first. 0, MALFORMED (not the wire format, or no header) or
//  OVERSIZE (a header over CC_BLOCK_HEADER_MAX_SIZE); bytes peeked well
//  may still fail cc_block_decode, so only a block known by its hash may
//  be left undecoded.
int
    cc_block_peek (const uint8_t *data, size_t size, uint64_t *height_p, uint8_t *hash);

//  Destroys a block and its transactions; nulls the pointer; safe on NULL.
void
    cc_block_destroy (cc_block_t **self_p);

//  H(header bytes), 32 bytes owned by the block.
const uint8_t *
    cc_block_hash (cc_block_t *self);

//  The decoded header, owned by the block.
const Certchain__BlockHeader *
    cc_block_header (cc_block_t *self);

//  Header fields; hashes and the proposer are 32 bytes owned by the block.
const char *
    cc_block_chain_id (cc_block_t *self);
uint64_t
    cc_block_height (cc_block_t *self);
uint32_t
    cc_block_round (cc_block_t *self);
uint64_t
    cc_block_time (cc_block_t *self);
const uint8_t *
    cc_block_proposer (cc_block_t *self);
const uint8_t *
    cc_block_parent_hash (cc_block_t *self);
const uint8_t *
    cc_block_app_hash (cc_block_t *self);

//  Number of transactions, and the one at index (owned by the block;
//  opened once cc_block_verify or cc_block_build went past it).
size_t
    cc_block_tx_count (cc_block_t *self);
cc_tx_t *
    cc_block_tx (cc_block_t *self, size_t index);

//  The block's own commit and its last commit (for height - 1), or NULL.
//  Owned by the block.
const Certchain__Commit *
    cc_block_commit (cc_block_t *self);
const Certchain__Commit *
    cc_block_last_commit (cc_block_t *self);

//  Size of the serialized block without its commit.
size_t
    cc_block_size (cc_block_t *self);

//  Bytes the transactions take in the serialized block (each envelope with
//  its field tag and length): what ConsensusParams.max_block_bytes bounds.
//  The header and last commit are left out on purpose, so a large validator
//  set can never make every block too large.
size_t
    cc_block_tx_bytes (cc_block_t *self);

//  Serializes the block, with its commit or without (as proposed), into a
//  fresh buffer (caller frees). 0 or error.
int
    cc_block_encode (cc_block_t *self, bool with_commit, uint8_t **data_p, size_t *size_p);

//  Attaches a copy of commit as the block's commit (replacing any), or
//  removes it when commit is NULL. 0, NOMEM, or BAD_FIELD for a commit whose
//  block hash is not 32 bytes. Does not verify it (cc_commit_verify does).
int
    cc_block_set_commit (cc_block_t *self, const Certchain__Commit *commit);

//  --- Votes and commits -------------------------------------------------------

//  Signs Vote{type, height, round, block_hash (NULL = nil), validator = the
//  key's public key} for chain_id (domain vote) into out; release with
//  cc_signed_clear. 0 or error.
int
    cc_vote_sign (cc_keypair_t *key, const char *chain_id, Certchain__VoteType type,
                  uint64_t height, uint32_t round, const uint8_t *block_hash,
                  Certchain__Signed *out);

//  A new commit for (height, round, block_hash) with no precommits yet.
//  Caller owns it (cc_commit_destroy).
Certchain__Commit *
    cc_commit_new (uint64_t height, uint32_t round, const uint8_t *block_hash);

//  Appends a copy of a signed precommit to commit. 0 or NOMEM.
int
    cc_commit_add (Certchain__Commit *commit, const Certchain__Signed *precommit);

//  Destroys a commit made by cc_commit_new (or unpacked by protobuf-c);
//  nulls the pointer; safe on NULL.
void
    cc_commit_destroy (Certchain__Commit **commit_p);

//  Checks that commit is a quorum commit of valset for (height, block_hash)
//  on chain_id. Each precommit is a Signed{Vote}; in order of the checks:
//    the signer is a member of valset (COMMIT_NON_MEMBER);
//    the envelope's sizes and signature hold, domain vote (COMMIT_BAD_SIG);
//    the vote is a PRECOMMIT for the commit's height, round and block hash
//    (COMMIT_MISMATCH), and names the envelope's signer (COMMIT_BAD_SIG).
//  The commit itself must be for height and block_hash (COMMIT_MISMATCH; a
//  missing commit is COMMIT_BELOW_QUORUM). A signer that appears twice is
//  counted once; fewer than cc_valset_quorum distinct signers is
//  COMMIT_BELOW_QUORUM. signers (may be NULL) receives the distinct
//  signers, 32 bytes each, at most cc_valset_size (valset) of them, and
//  signer_count (may be NULL) their number. 0 or the code.
int
    cc_commit_verify (const Certchain__Commit *commit, const char *chain_id, uint64_t height,
                      const uint8_t *block_hash, const cc_valset_t *valset, uint8_t *signers,
                      size_t *signer_count, cc_reason_t *reason);

//  H(packed commit) into hash; 32 zero bytes for NULL (no last commit).
void
    cc_commit_hash (const Certchain__Commit *commit, uint8_t *hash);

//  --- Building (the proposer packs) --------------------------------------------

//  Called by cc_block_build for each candidate that failed to apply (or to
//  open), with the rule's code, so the caller drops it from its mempool.
typedef void (cc_block_reject_fn) (void *argument, cc_tx_t *tx, size_t index, int code,
                                   const cc_reason_t *reason);

typedef struct {
    cc_state_t *state;                  //  committed state the block extends
    cc_keypair_t *proposer;             //  key that signs the header
    uint64_t height;                    //  cc_state_height (state) + 1
    uint32_t round;                     //  consensus round of the proposal
    uint64_t time_ms;                   //  block time, >= the parent's
    const uint8_t *parent_hash;         //  hash of block height - 1 (genesis hash at 1)
    const Certchain__Commit *last_commit;   //  commit of height - 1, NULL at height 1
    cc_tx_t **candidates;               //  candidates in mempool order (borrowed)
    size_t count;                       //  number of candidates
    size_t max_txs;                     //  at most this many txs, 0 = genesis limit
    size_t max_bytes;                   //  cc_block_tx_bytes at most this, 0 = genesis limit
    cc_block_reject_fn *on_reject;      //  told of each failing candidate, may be NULL
    void *reject_argument;              //  passed to on_reject
} cc_block_build_args_t;

//  Packs a block: executes the candidates in order in a fresh cc_exec_t
//  (after cc_exec_set_last_commit_signers from the last commit), skipping
//  and reporting each that fails, and stops before the first that would
//  pass max_txs or max_bytes (the genesis limits apply when tighter). Then
//  fills and signs the header. The block has no commit yet. The builder
//  does not check that the proposer may propose (cc_block_verify does).
//  NULL with reason on error: WRONG_HEIGHT, BAD_LAST_COMMIT (a last commit
//  missing, present at height 1, or not a quorum of V(height - 1) for
//  parent_hash), NOMEM. Caller owns the block and, when exec_p is not
//  NULL, the finished exec (ready for cc_exec_write, no re-execution).
cc_block_t *
    cc_block_build (const cc_block_build_args_t *args, cc_exec_t **exec_p,
                    cc_reason_t *reason);

//  --- Verification (the patent's rule) -----------------------------------------

//  The tip a block must extend.
typedef struct {
    const uint8_t *hash;                //  hash of the parent block (genesis hash at 1)
    uint64_t time_ms;                   //  its time (genesis time at 1)
} cc_block_parent_t;

//  True if this process already verified the signature of the tx with this
//  hash and this 64-byte signature (a mempool cache). The cache must key on
//  both: the hash does not cover the signature. Called from the calling
//  thread only.
typedef bool (cc_signature_checked_fn) (void *argument, const uint8_t *tx_hash,
                                        const uint8_t *signature);

typedef struct {
    bool require_commit;                //  check the block's own commit (syncing)
    bool trust_signatures;              //  with require_commit: the quorum commit vouches
                                        //  for the txs' signatures, none is checked
                                        //  (the relay, a CA's chain view)
    size_t threads;                     //  signature workers, 0 or 1 = inline
    cc_signature_checked_fn *signature_checked;     //  cache lookup, may be NULL
    void *signature_argument;           //  passed to signature_checked
} cc_block_verify_opts_t;

//  Verifies block as the next block of state on top of parent, in this
//  order: WRONG_CHAIN, WRONG_HEIGHT (height != state height + 1),
//  WRONG_PARENT, UNAUTHORIZED_PROPOSER (not in V(h)), NOT_SCHEDULED (not
//  cc_valset_proposer (V(h), h, round)), BAD_PROPOSER_SIG,
//  WRONG_VALSET_HASH, BAD_TIME (before the parent's), BLOCK_LIMITS (tx
//  count over genesis max_block_txs, cc_block_tx_bytes over
//  max_block_bytes), the commit when opts->require_commit (the COMMIT_*
//  codes of cc_commit_verify against V(h)), BAD_LAST_COMMIT (hash, or not a
//  quorum commit of V(h-1) for the parent; at height 1 there must be none),
//  TX_ROOT_MISMATCH, BAD_TX (a tx that does not open or apply: the message
//  names its index and its own code), WRONG_APP_HASH. opts may be NULL
//  (no commit required, inline). Returns 0 or the verdict, with a specific
//  message in reason; the state is never changed. On success, when exec_p
//  is not NULL, *exec_p is the finished exec, owned by the caller, ready
//  for cc_exec_write.
int
    cc_block_verify (cc_block_t *block, cc_state_t *state, const cc_block_parent_t *parent,
                     const cc_block_verify_opts_t *opts, cc_exec_t **exec_p,
                     cc_reason_t *reason);

#endif
